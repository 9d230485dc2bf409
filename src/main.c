/* main.c - entry point: `hearth <command> [options]`; dispatch only. */
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *what;
} commands[] = {
    {"serve", hr_cmd_serve, "run the gateway (default 127.0.0.1:8420)"},
    {"chat", hr_cmd_chat, "ask a running hearth a question; streams the answer"},
    {"usage", hr_cmd_usage, "requests, tokens and cost by day and model"},
    {"models", hr_cmd_models, "the configured models; `hearth models import <provider>`"},
    {"route", hr_cmd_route, "how a prompt would be routed, or was: `route explain`, `route why`"},
    {"router", hr_cmd_router, "the learned router: `hearth router train|eval`"},
    {"keys", hr_cmd_keys, "API keys: `hearth keys create|list|get|update|revoke`"},
    {"users", hr_cmd_users, "users: `hearth users create|list|get|update|disable`"},
    {"teams", hr_cmd_teams, "teams: `hearth teams create|list|get|update|delete`"},
    {"audit", hr_cmd_audit, "the audit log: `hearth audit verify`, `hearth audit export`"},
    {"secrets", hr_cmd_secrets, "the encrypted secret store: `hearth secrets set|list|delete`"},
    {"doctor", hr_cmd_doctor, "check the config, the storage and every provider"},
    {"reload", hr_cmd_reload, "make a running hearth reload its config (SIGHUP)"},
    {"config", hr_cmd_config, "config helpers: `hearth config keys`, `hearth config check`"},
};

static void usage(FILE *f)
{
	fprintf(f, "usage: hearth <command> [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].what);
	fprintf(f, "\n`hearth <command> --help` for a command's options; --version prints the "
	           "version.\nDocs: README.md and docs/ (docs/config.md for every setting).\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return HR_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("hearth %s\n", HR_VERSION);
		return HR_EXIT_OK;
	}
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
		usage(stdout);
		return HR_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
		if (strcmp(cmd, commands[i].name) != 0)
			continue;
		if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
			fprintf(stderr, "hearth: cannot initialise libsodium or libcurl\n");
			return HR_EXIT_FAIL;
		}
		int rc = commands[i].fn(argc - 1, argv + 1);
		curl_global_cleanup();
		return rc;
	}
	fprintf(stderr, "hearth: unknown command '%s'\nhint: run `hearth --help` for the list\n",
	        cmd);
	return HR_EXIT_USAGE;
}
