/* usage.c - `hearth usage`: requests, tokens and cost by day and model, read from the
 * storage (read-only, so it works while the server runs). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "storage/store.h"

struct acc {
	bool json;
	json_t *rows;
	int64_t req, err, pt, ct;
	double cost;
	bool any_est;
};

static int on_row(void *arg, const struct hr_usage_row *r)
{
	struct acc *a = arg;
	a->req += r->requests;
	a->err += r->errors;
	a->pt += r->prompt_tokens;
	a->ct += r->completion_tokens;
	a->cost += r->cost_usd;
	a->any_est |= r->estimated;
	if (a->json) {
		json_array_append_new(
		    a->rows,
		    json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:f, s:b}", "day", r->day, "model",
		              r->model, "requests", (json_int_t)r->requests, "errors",
		              (json_int_t)r->errors, "prompt_tokens", (json_int_t)r->prompt_tokens,
		              "completion_tokens", (json_int_t)r->completion_tokens, "cost_usd",
		              r->cost_usd, "estimated", r->estimated));
		return 0;
	}
	printf("%-10s  %-28s %9lld %7lld %12lld %12lld %12.6f%s\n", r->day, r->model,
	       (long long)r->requests, (long long)r->errors, (long long)r->prompt_tokens,
	       (long long)r->completion_tokens, r->cost_usd, r->estimated ? " *" : "");
	return 0;
}

/* "7d", "24h", "30m" or "YYYY-MM-DD" -> Unix ms. Returns 0 or -1. */
static int parse_since(const char *s, int64_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	int64_t now = (int64_t)time(NULL);
	if (end != s && v >= 0 && end[0] && !end[1]) {
		int64_t unit = end[0] == 'd'   ? 86400
		               : end[0] == 'h' ? 3600
		               : end[0] == 'm' ? 60
		                               : 0;
		if (!unit)
			return -1;
		*out = (now - v * unit) * 1000;
		return 0;
	}
	struct tm tm = {0};
	end = strptime(s, "%Y-%m-%d", &tm);
	if (!end || *end)
		return -1;
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

static void print_help(void)
{
	printf("usage: hearth usage [--config FILE] [--since 7d|24h|YYYY-MM-DD] [--json]\n\n"
	       "Requests, errors, tokens and cost by day (UTC) and model.\n"
	       "Rows marked * contain token counts that hearth estimated because the provider\n"
	       "reported none.\n");
}

int hr_cmd_usage(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"since", required_argument, NULL, 's'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	int64_t since = 0;
	struct acc a = {0};
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 's':
			if (parse_since(optarg, &since) < 0)
				return hr_cli_usage_error("usage", "--since takes 7d, 24h, 30m or "
				                                   "YYYY-MM-DD");
			break;
		case 'j': a.json = true; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("usage", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("usage", "unexpected argument");
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	char db[4096];
	snprintf(db, sizeof db, "%s/hearth.db", c->storage.data_dir);
	if (access(db, F_OK) != 0) {
		if (a.json)
			printf("{\"data\": []}\n");
		else
			printf("no usage recorded yet (no database at %s)\n", db);
		hr_conf_release(c);
		return HR_EXIT_OK;
	}
	struct hr_store *s = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	if (hr_store_open(&s, c->storage.data_dir, true, &err) < 0) {
		fprintf(stderr, "hearth usage: %s\n",
		        err.ptr ? err.ptr : "cannot open the storage");
		hr_buf_release(&err);
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}
	hr_buf_release(&err);
	hr_conf_release(c);
	if (a.json)
		a.rows = json_array();
	else
		printf("%-10s  %-28s %9s %7s %12s %12s %12s\n", "DAY", "MODEL", "REQUESTS",
		       "ERRORS", "PROMPT_TOK", "OUTPUT_TOK", "COST_USD");
	int rc = s->ops->usage_summary(s, since, on_row, &a);
	s->ops->close(s);
	if (rc < 0) {
		fprintf(stderr, "hearth usage: cannot read the usage records\n");
		json_decref(a.rows);
		return HR_EXIT_FAIL;
	}
	if (a.json) {
		json_t *j = json_pack("{s:o}", "data", a.rows);
		char *out = json_dumps(j, JSON_INDENT(2));
		puts(out);
		free(out);
		json_decref(j);
	} else {
		printf("%-10s  %-28s %9lld %7lld %12lld %12lld %12.6f\n", "TOTAL", "",
		       (long long)a.req, (long long)a.err, (long long)a.pt, (long long)a.ct,
		       a.cost);
		if (a.any_est)
			printf("* some token counts are estimates: the provider reported none\n");
	}
	return HR_EXIT_OK;
}
