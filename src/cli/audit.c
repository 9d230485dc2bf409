/* audit.c - `hearth audit verify`: walks the audit log's hash chain and says whether any
 * event was edited, removed or reordered; `hearth audit export`: the events as JSON Lines.
 * Both read the storage read-only, so they work while the server runs. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/err.h"
#include "storage/store.h"

static void print_help(void)
{
	printf(
	    "usage: hearth audit verify [--config FILE] [--json]\n"
	    "       hearth audit export [--config FILE]\n\n"
	    "The audit log: every configuration reload and every data-policy decision, each\n"
	    "event's hash covering the one before it (docs/storage.md).\n\n"
	    "  verify   checks the whole chain; exit status 1 names the first event that was\n"
	    "           edited, or before which events were removed or reordered\n"
	    "  export   writes the events as JSON Lines to standard output\n\n"
	    "Exit status: 0 ok; 1 the chain is broken or the storage cannot be read; 2 usage.\n");
}

static int emit(void *arg, const struct hr_audit_event *ev)
{
	(void)arg;
	json_t *j = json_pack(
	    "{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "seq", (json_int_t)ev->seq, "ts_ms",
	    (json_int_t)ev->ts_ms, "actor", ev->actor ? ev->actor : "", "action",
	    ev->action ? ev->action : "", "object", ev->object ? ev->object : "", "detail",
	    ev->detail ? ev->detail : "", "prev_hash", ev->prev_hash, "hash", ev->hash);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s)
		return HR_ENOMEM;
	puts(s);
	free(s);
	return 0;
}

int hr_cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		print_help();
		return HR_EXIT_OK;
	}
	if (argc < 2 || (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "export") != 0))
		return hr_cli_usage_error("audit", "the subcommands are `verify` and `export`");
	bool verify = strcmp(argv[1], "verify") == 0;
	const char *cfg = NULL;
	int as_json = 0, o;
	opterr = 0;
	optind = 2;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'j': as_json = 1; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("audit", "unknown option or missing value");
		}
	}
	if (optind != argc)
		return hr_cli_usage_error("audit", "unexpected argument");
	struct hr_store *s = NULL;
	if (hr_cli_open_store("audit", cfg, &s) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	int rc;
	if (!verify) {
		rc = s->ops->audit_scan(s, emit, NULL);
		s->ops->close(s);
		if (rc < 0)
			fprintf(stderr, "hearth audit: cannot read the audit log: %s\n",
			        hr_err_msg(rc));
		return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
	}
	struct hr_audit_verdict v;
	rc = hr_audit_verify(s, &v);
	s->ops->close(s);
	if (rc < 0) {
		fprintf(stderr, "hearth audit: cannot read the audit log: %s\n", hr_err_msg(rc));
		return HR_EXIT_FAIL;
	}
	if (as_json)
		printf("{\"ok\": %s, \"events\": %lld, \"bad_seq\": %lld, \"why\": \"%s\"}\n",
		       v.bad_seq ? "false" : "true", (long long)v.events, (long long)v.bad_seq,
		       v.why ? v.why : "");
	else if (v.bad_seq)
		printf("BROKEN at event %lld: %s\n", (long long)v.bad_seq, v.why);
	else
		printf("ok: %lld events, the chain holds\n", (long long)v.events);
	return v.bad_seq ? HR_EXIT_FAIL : HR_EXIT_OK;
}
