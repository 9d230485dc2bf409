/* ident.c - `hearth keys|users|teams <verb>`: the identity admin API of a running hearth
 * (/api/v1/keys, /api/v1/users, /api/v1/teams) from the command line. The key comes from
 * --key or HEARTH_API_KEY; listings walk every page and print a table or, with --json, one
 * JSON array. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"

#define CLI_MAX_ANSWER (16u * 1024 * 1024)
#define CLI_MAX_ITEMS  100000 /* a listing stops there */

/* What one collection is like. */
struct noun {
	const char *cmd;  /* "keys" */
	const char *path; /* "/api/v1/keys" */
	const char *one;  /* "key" */
	const char *verbs;
	const char *help;
};

static const struct noun nouns[] = {
    {"keys", "/api/v1/keys", "key", "create|list|get|update|revoke",
     "usage: hearth keys create [--user ID | --team ID] [--role ROLE] [--name NAME]\n"
     "                          [--expires RFC3339] [--models a,b] [--tasks a,b]\n"
     "       hearth keys list | get ID | revoke ID\n"
     "       hearth keys update ID [--name NAME] [--role ROLE] [--expires RFC3339|none]\n"
     "                             [--models a,b|all] [--tasks a,b|all]\n\n"
     "Virtual API keys (hk_...). `create` prints the secret once: store it then, hearth\n"
     "keeps only its keyed hash. A key belongs to a user (by default the caller's) or a\n"
     "team, has a role (admin, developer, member, auditor), an optional expiry and optional\n"
     "model and task allow-lists. `revoke` takes effect at once.\n"},
    {"users", "/api/v1/users", "user", "create|list|get|update|disable",
     "usage: hearth users create --name NAME [--email E] [--role ROLE] [--team ID]\n"
     "                           [--password-stdin]\n"
     "       hearth users list | get ID | disable ID\n"
     "       hearth users update ID [--name NAME] [--email E] [--role ROLE] [--team ID]\n"
     "                              [--enable | --disable] [--password-stdin]\n\n"
     "Users, their roles and teams. `disable` keeps the user (its usage and audit trail)\n"
     "and stops its keys; `update --enable` restores them. --password-stdin (create,\n"
     "update) reads the user's web sign-in password from the first line of standard input.\n"},
    {"teams", "/api/v1/teams", "team", "create|list|get|update|delete",
     "usage: hearth teams create --name NAME\n"
     "       hearth teams list | get ID | delete ID\n"
     "       hearth teams update ID --name NAME\n\n"
     "Teams: users and keys belong to them. `delete` refuses a team that still has users\n"
     "or keys.\n"},
};

static const char common_help[] =
    "\nCommon options:\n"
    "      --json          print the server's JSON (a listing: one array of every page)\n"
    "      --key KEY       the API key (default: $HEARTH_API_KEY)\n"
    "      --url URL       the server (default: http://<server.host>:<server.port>)\n"
    "  -c, --config FILE   read server.host/port from this config\n"
    "  -h, --help          this help\n\n"
    "Exit status: 0 ok; 1 the server refused or could not be reached; 2 usage error.\n";

struct opts {
	const char *url, *cfg, *key, *name, *email, *role, *team, *user, *expires, *models, *tasks;
	int as_json, enable, disable, password_stdin;
	char password[1024]; /* --password-stdin */
};

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "-";
}

/* "a,b" as a JSON array; "all" or "none" as null (no limit). */
static json_t *name_list(const char *s)
{
	if (strcmp(s, "all") == 0)
		return json_null();
	json_t *a = json_array();
	const char *p = s;
	while (a && *p) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		if (n)
			json_array_append_new(a, json_stringn(p, n));
		p += n + (c ? 1 : 0);
	}
	return a;
}

/* The hint after a failure with this HTTP status. */
static const char *hint(const struct noun *nn, long status)
{
	switch (status) {
	case 401:
		return "export HEARTH_API_KEY=hk_... (an admin's key: the first `hearth serve` "
		       "printed "
		       "one) or pass --key";
	case 403: return "this needs a key with another role; ask an admin";
	case 404:
		return nn == &nouns[0]   ? "`hearth keys list` shows the keys this key can see"
		       : nn == &nouns[1] ? "`hearth users list` shows the users this key can see"
		                         : "`hearth teams list` shows the teams this key can see";
	case 409: return "see the message; nothing was changed";
	default: return "see the message above; `hearth <noun> --help` lists the options";
	}
}

/* One request; on success *out holds the parsed answer. Prints failures. HR_EXIT_*. */
static int ask(const struct noun *nn, const struct opts *o, const char *method, const char *url,
               json_t *body, json_t **out)
{
	char *b = body ? json_dumps(body, JSON_COMPACT) : NULL;
	struct hr_buf ans = HR_BUF_INIT(CLI_MAX_ANSWER);
	long status = 0;
	const char *why = NULL;
	int rc = hr_cli_http(method, url, b, o->key, &ans, &status, &why);
	if (b) /* it may hold a password */
		sodium_memzero(b, strlen(b));
	free(b);
	*out = NULL;
	if (rc < 0) {
		fprintf(stderr,
		        "hearth %s: cannot reach hearth at %s: %s\nhint: start it with `hearth "
		        "serve`, or pass --url\n",
		        nn->cmd, url, why);
		hr_buf_release(&ans);
		return HR_EXIT_FAIL;
	}
	json_t *j = json_loadb(ans.ptr ? ans.ptr : "", ans.len, 0, NULL);
	hr_buf_release(&ans);
	if (status < 200 || status > 299) {
		const char *m =
		    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		fprintf(stderr, "hearth %s: HTTP %ld: %s\nhint: %s\n", nn->cmd, status,
		        m ? m : "(no message)", hint(nn, status));
		json_decref(j);
		return HR_EXIT_FAIL;
	}
	if (!j) {
		fprintf(stderr, "hearth %s: the server's answer is not JSON\n", nn->cmd);
		return HR_EXIT_FAIL;
	}
	*out = j;
	return HR_EXIT_OK;
}

static void print_row(const struct noun *nn, json_t *x)
{
	if (nn == &nouns[0]) {
		const char *owner = json_is_string(json_object_get(x, "user_id"))
		                        ? str(x, "user_id")
		                        : str(x, "team_id");
		const char *state =
		    json_is_string(json_object_get(x, "revoked_at")) ? "revoked" : "active";
		printf("%-28s %-12s %-9s %-30s %-20s %-8s %s\n", str(x, "id"), str(x, "prefix"),
		       str(x, "role"), owner, str(x, "expires_at"), state, str(x, "name"));
	} else if (nn == &nouns[1]) {
		printf("%-28s %-20s %-28s %-9s %-30s %s\n", str(x, "id"), str(x, "name"),
		       str(x, "email"), str(x, "role"), str(x, "team_id"),
		       json_is_true(json_object_get(x, "disabled")) ? "disabled" : "active");
	} else {
		printf("%-30s %-30s %s\n", str(x, "id"), str(x, "name"), str(x, "created_at"));
	}
}

static void print_header(const struct noun *nn)
{
	if (nn == &nouns[0])
		printf("%-28s %-12s %-9s %-30s %-20s %-8s %s\n", "ID", "PREFIX", "ROLE", "OWNER",
		       "EXPIRES", "STATUS", "NAME");
	else if (nn == &nouns[1])
		printf("%-28s %-20s %-28s %-9s %-30s %s\n", "ID", "NAME", "EMAIL", "ROLE", "TEAM",
		       "STATUS");
	else
		printf("%-30s %-30s %s\n", "ID", "NAME", "CREATED");
}

/* Every page, in order. */
static int list(const struct noun *nn, const struct opts *o, const char *base)
{
	json_t *all = json_array();
	char url[2048], *after = NULL;
	int rc = HR_EXIT_OK;
	while (all && rc == HR_EXIT_OK && json_array_size(all) < CLI_MAX_ITEMS) {
		json_t *page = NULL;
		snprintf(url, sizeof url, "%s%s?limit=200%s%s", base, nn->path,
		         after ? "&after=" : "", after ? after : "");
		free(after);
		after = NULL;
		if ((rc = ask(nn, o, "GET", url, NULL, &page)) != HR_EXIT_OK)
			break;
		json_array_extend(all, json_object_get(page, "data"));
		const char *next = json_string_value(json_object_get(page, "next"));
		after = next ? strdup(next) : NULL;
		json_decref(page);
		if (!after)
			break;
	}
	free(after);
	if (rc == HR_EXIT_OK && all) {
		if (o->as_json) {
			char *s = json_dumps(all, JSON_INDENT(2));
			if (s)
				puts(s);
			free(s);
		} else {
			size_t i;
			json_t *x;
			print_header(nn);
			json_array_foreach(all, i, x) print_row(nn, x);
		}
	}
	json_decref(all);
	return all ? rc : HR_EXIT_FAIL;
}

/* The body of create/update from the options given. */
static json_t *body_of(const struct noun *nn, const struct opts *o)
{
	json_t *b = json_object();
	if (!b)
		return NULL;
	if (o->name)
		json_object_set_new(b, "name", json_string(o->name));
	if (o->role)
		json_object_set_new(b, "role", json_string(o->role));
	if (nn == &nouns[0]) {
		if (o->user)
			json_object_set_new(b, "user_id", json_string(o->user));
		if (o->team)
			json_object_set_new(b, "team_id", json_string(o->team));
		if (o->expires)
			json_object_set_new(b, "expires_at",
			                    strcmp(o->expires, "none") == 0
			                        ? json_null()
			                        : json_string(o->expires));
		if (o->models)
			json_object_set_new(b, "allowed_models", name_list(o->models));
		if (o->tasks)
			json_object_set_new(b, "allowed_tasks", name_list(o->tasks));
	} else if (nn == &nouns[1]) {
		if (o->email)
			json_object_set_new(b, "email", json_string(o->email));
		if (o->team)
			json_object_set_new(b, "team_id", json_string(o->team));
		if (o->enable || o->disable)
			json_object_set_new(b, "disabled", json_boolean(o->disable));
		if (o->password_stdin)
			json_object_set_new(b, "password", json_string(o->password));
	}
	return b;
}

static int one(const struct noun *nn, const struct opts *o, const char *verb, const char *url,
               json_t *body)
{
	const char *method = strcmp(verb, "create") == 0   ? "POST"
	                     : strcmp(verb, "update") == 0 ? "PATCH"
	                     : strcmp(verb, "get") == 0    ? "GET"
	                                                   : "DELETE";
	json_t *j = NULL;
	int rc = ask(nn, o, method, url, body, &j);
	if (rc != HR_EXIT_OK)
		return rc;
	if (o->as_json) {
		char *s = json_dumps(j, JSON_INDENT(2));
		if (s)
			puts(s);
		free(s);
	} else if (strcmp(verb, "create") == 0 && json_is_string(json_object_get(j, "key"))) {
		printf("created %s %s (role %s, owner %s)\n\n    %s\n\nthe key is shown only this "
		       "once: store it now\n",
		       nn->one, str(j, "id"), str(j, "role"),
		       json_is_string(json_object_get(j, "user_id")) ? str(j, "user_id")
		                                                     : str(j, "team_id"),
		       str(j, "key"));
	} else if (strcmp(verb, "get") == 0) {
		print_header(nn);
		print_row(nn, j);
	} else {
		const char *done = strcmp(verb, "create") == 0    ? "created"
		                   : strcmp(verb, "update") == 0  ? "updated"
		                   : strcmp(verb, "revoke") == 0  ? "revoked"
		                   : strcmp(verb, "disable") == 0 ? "disabled"
		                                                  : "deleted";
		printf("%s %s %s\n", done, nn->one, str(j, "id"));
	}
	json_decref(j);
	return HR_EXIT_OK;
}

static int run(const struct noun *nn, int argc, char **argv)
{
	static const struct option lopts[] = {{"url", required_argument, NULL, 'u'},
	                                      {"config", required_argument, NULL, 'c'},
	                                      {"key", required_argument, NULL, 'k'},
	                                      {"json", no_argument, NULL, 'j'},
	                                      {"name", required_argument, NULL, 'n'},
	                                      {"email", required_argument, NULL, 'e'},
	                                      {"role", required_argument, NULL, 'r'},
	                                      {"team", required_argument, NULL, 't'},
	                                      {"user", required_argument, NULL, 'U'},
	                                      {"expires", required_argument, NULL, 'x'},
	                                      {"models", required_argument, NULL, 'm'},
	                                      {"tasks", required_argument, NULL, 'T'},
	                                      {"enable", no_argument, NULL, 'E'},
	                                      {"disable", no_argument, NULL, 'D'},
	                                      {"password-stdin", no_argument, NULL, 'P'},
	                                      {"help", no_argument, NULL, 'h'},
	                                      {NULL, 0, NULL, 0}};
	char usage[128];
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("%s%s", nn->help, common_help);
		return HR_EXIT_OK;
	}
	snprintf(usage, sizeof usage, "the subcommands are %s", nn->verbs);
	const char *verb = argc >= 2 ? argv[1] : "";
	char pat[64];
	snprintf(pat, sizeof pat, "|%s|", nn->verbs);
	char want[40];
	snprintf(want, sizeof want, "|%s|", verb);
	if (!*verb || *verb == '-' || !strstr(pat, want))
		return hr_cli_usage_error(nn->cmd, usage);

	struct opts o = {0};
	int c;
	opterr = 0;
	optind = 2;
	while ((c = getopt_long(argc, argv, "c:h", lopts, NULL)) != -1) {
		switch (c) {
		case 'u': o.url = optarg; break;
		case 'c': o.cfg = optarg; break;
		case 'k': o.key = optarg; break;
		case 'j': o.as_json = 1; break;
		case 'n': o.name = optarg; break;
		case 'e': o.email = optarg; break;
		case 'r': o.role = optarg; break;
		case 't': o.team = optarg; break;
		case 'U': o.user = optarg; break;
		case 'x': o.expires = optarg; break;
		case 'm': o.models = optarg; break;
		case 'T': o.tasks = optarg; break;
		case 'E': o.enable = 1; break;
		case 'D': o.disable = 1; break;
		case 'P': o.password_stdin = 1; break;
		case 'h': printf("%s%s", nn->help, common_help); return HR_EXIT_OK;
		default: return hr_cli_usage_error(nn->cmd, "unknown option or missing value");
		}
	}
	bool needs_id = strcmp(verb, "create") != 0 && strcmp(verb, "list") != 0;
	if (argc - optind != (needs_id ? 1 : 0))
		return hr_cli_usage_error(nn->cmd, needs_id ? "give the id, as one argument"
		                                            : "unexpected argument");
	const char *id = needs_id ? argv[optind] : NULL;
	if (id && (strchr(id, '/') || strchr(id, '?') || strlen(id) > 64))
		return hr_cli_usage_error(nn->cmd, "that is not an id");
	if (o.enable && o.disable)
		return hr_cli_usage_error(nn->cmd, "give --enable or --disable, not both");
	if (strcmp(verb, "create") == 0 && nn != &nouns[0] && !o.name)
		return hr_cli_usage_error(nn->cmd, "create needs --name");
	if (nn == &nouns[0] && o.user && o.team)
		return hr_cli_usage_error(nn->cmd, "give --user or --team, not both");

	if (o.password_stdin) {
		if (nn != &nouns[1] || (strcmp(verb, "create") != 0 && strcmp(verb, "update") != 0))
			return hr_cli_usage_error(nn->cmd,
			                          "--password-stdin is for users create|update");
		if (!fgets(o.password, sizeof o.password, stdin) || !*o.password) {
			fprintf(stderr,
			        "hearth users: no password on standard input\nhint: echo the "
			        "password into the command, or leave --password-stdin out\n");
			return HR_EXIT_FAIL;
		}
		o.password[strcspn(o.password, "\r\n")] = '\0';
	}
	char base[1024], url[2048];
	if (hr_cli_server_url(o.url, o.cfg, base, sizeof base) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	if (strcmp(verb, "list") == 0)
		return list(nn, &o, base);
	snprintf(url, sizeof url, "%s%s%s%s", base, nn->path, id ? "/" : "", id ? id : "");
	bool with_body = strcmp(verb, "create") == 0 || strcmp(verb, "update") == 0;
	json_t *body = NULL;
	if (with_body && !(body = body_of(nn, &o))) {
		fprintf(stderr, "hearth %s: out of memory\n", nn->cmd);
		return HR_EXIT_FAIL;
	}
	if (strcmp(verb, "update") == 0 && json_object_size(body) == 0) {
		json_decref(body);
		return hr_cli_usage_error(nn->cmd, "update needs at least one option to change");
	}
	/* `users disable ID` and `keys revoke ID` are the API's DELETE */
	int rc = one(nn, &o, verb, url, body);
	json_decref(body);
	sodium_memzero(o.password, sizeof o.password);
	return rc;
}

int hr_cmd_keys(int argc, char **argv)
{
	return run(&nouns[0], argc, argv);
}

int hr_cmd_users(int argc, char **argv)
{
	return run(&nouns[1], argc, argv);
}

int hr_cmd_teams(int argc, char **argv)
{
	return run(&nouns[2], argc, argv);
}
