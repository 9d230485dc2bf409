/* misc.c - `hearth reload` (SIGHUP to the running server, found by its pid file) and
 * `hearth config keys|check`. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "cli/cli.h"
#include "core/conf.h"

int hr_cmd_reload(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'h':
			printf(
			    "usage: hearth reload [--config FILE]\n\nAsks the running hearth "
			    "(found by <storage.data_dir>/hearth.pid) to reload its config;\nthe "
			    "same as sending it SIGHUP. An invalid new config is refused and the "
			    "old one\nkeeps serving (the server's log says why).\n");
			return HR_EXIT_OK;
		default: return hr_cli_usage_error("reload", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("reload", "unexpected argument");
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK) {
		fprintf(stderr, "hearth reload: not sent: fix the config first\n");
		return HR_EXIT_FAIL;
	}
	char path[4096];
	snprintf(path, sizeof path, "%s/hearth.pid", c->storage.data_dir);
	hr_conf_release(c);
	FILE *f = fopen(path, "r");
	long pid = 0;
	if (!f || fscanf(f, "%ld", &pid) != 1 || pid <= 1) {
		if (f)
			fclose(f);
		fprintf(stderr,
		        "hearth reload: no running hearth found (%s)\nhint: is `hearth "
		        "serve` running with the same storage.data_dir?\n",
		        path);
		return HR_EXIT_FAIL;
	}
	fclose(f);
	if (kill((pid_t)pid, SIGHUP) < 0) {
		fprintf(stderr, "hearth reload: cannot signal pid %ld: %s\n", pid, strerror(errno));
		return HR_EXIT_FAIL;
	}
	printf("reload sent to hearth (pid %ld)\n", pid);
	return HR_EXIT_OK;
}

int hr_cmd_config(int argc, char **argv)
{
	const char *usage = "usage: hearth config keys            every setting: key, default, "
	                    "meaning\n       hearth config check [--config FILE]  validate a "
	                    "config\n";
	if (argc < 2) {
		fputs(usage, stderr);
		return HR_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		fputs(usage, stdout);
		return HR_EXIT_OK;
	}
	if (strcmp(argv[1], "keys") == 0) {
		hr_conf_dump_keys(stdout);
		return HR_EXIT_OK;
	}
	if (strcmp(argv[1], "check") == 0) {
		const char *cfg = NULL;
		if (argc == 4 && (strcmp(argv[2], "--config") == 0 || strcmp(argv[2], "-c") == 0))
			cfg = argv[3];
		else if (argc != 2)
			return hr_cli_usage_error("config", "check takes only --config FILE");
		struct hr_conf *c = NULL;
		if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK)
			return HR_EXIT_FAIL;
		printf("ok: %s (%zu providers, %zu models)\n",
		       c->path ? c->path : "built-in defaults", c->n_providers, c->n_models);
		hr_conf_release(c);
		return HR_EXIT_OK;
	}
	return hr_cli_usage_error("config", "unknown subcommand (keys, check)");
}
