/* usage.c - `hearth usage`: the usage report (storage/report.h) from the storage, read-only
 * (so it works while the server runs): a table, --json (the same object as GET
 * /api/v1/usage) or --csv; --savings for cost, reference cost and savings per task with
 * shadow evaluation's quality estimates (GET /api/v1/usage/savings). */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/usage.h"
#include "cli/cli.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "storage/report.h"
#include "storage/store.h"

enum format { F_TABLE, F_JSON, F_CSV };

static void print_help(void)
{
	printf("usage: hearth usage [--by DIMS] [--interval hour|day|month] [--since T]\n"
	       "                    [--until T] [--savings] [--json | --csv] [--config FILE]\n\n"
	       "What the AI cost: requests, errors, tokens, cost, what the reference model would\n"
	       "have cost and the savings, requests served locally, and latency percentiles,\n"
	       "grouped as asked (default: by day and model, the last 30 days).\n\n"
	       "  --by DIMS        group by a comma-separated list of: model, provider, locality,\n"
	       "                   task, key, user, team, status, origin (default model)\n"
	       "  --interval I     a time series by hour, day or month (UTC; default day; none)\n"
	       "  --since T        7d, 24h, 30m (ago), 2026-11-01 or 2026-11-01T12:00:00Z\n"
	       "  --until T        the end of the range (exclusive), same forms\n"
	       "  --savings        per task: cost, reference cost, saved, share served locally,\n"
	       "                   and shadow evaluation's quality estimate where there is one\n"
	       "  --json           the same JSON object as GET /api/v1/usage[/savings]\n"
	       "  --csv            one line per group, with a header\n"
	       "  -c, --config F   the config whose data directory to read\n"
	       "  -h, --help       this help\n\n"
	       "Rows marked * contain token counts hearth estimated (the provider reported none).\n"
	       "docs/monitoring.md explains every column.\n");
}

static const char *dim_or(const struct hr_usage_cell *c, int d)
{
	return c->dim[d] ? c->dim[d] : "";
}

static void period_text(int64_t ms, enum hr_usage_interval iv, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	const char *fmt = iv == HR_INTERVAL_HOUR ? "%Y-%m-%dT%H:00Z"
	                  : iv == HR_INTERVAL_MONTH ? "%Y-%m"
	                                            : "%Y-%m-%d";
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, fmt, &tm))
		snprintf(out, cap, "?");
}

/* A CSV field: quoted when it holds a comma, a quote or a line break. */
static void csv_field(const char *s)
{
	if (!strpbrk(s, ",\"\r\n")) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static void print_rows(const struct hr_usage_query *q, const struct hr_usage_report *r,
                       enum format f)
{
	char per[32];
	bool csv = f == F_CSV;
	/* header */
	if (q->interval != HR_INTERVAL_NONE)
		printf(csv ? "period," : "%-16s ", "PERIOD");
	for (int d = 0; d < HR_DIM__COUNT; d++)
		if (q->dims & (1u << d)) {
			if (csv)
				printf("%s,", hr_usage_dim_names[d]);
			else
				printf("%-22s ", hr_usage_dim_names[d]);
		}
	printf(csv ? "requests,errors,local_requests,prompt_tokens,completion_tokens,cost_usd,"
	             "reference_cost_usd,saved_usd,latency_p50_ms,latency_p99_ms,estimated\n"
	           : "%8s %6s %6s %11s %11s %12s %12s %7s %7s\n",
	       "REQUESTS", "ERRORS", "LOCAL", "PROMPT_TOK", "OUTPUT_TOK", "COST_USD", "SAVED_USD",
	       "P50_MS", "P99_MS");
	for (size_t i = 0; i <= r->n_cells; i++) {
		bool total = i == r->n_cells;
		const struct hr_usage_cell *c = total ? NULL : &r->cells[i];
		const struct hr_usage_agg *g = total ? &r->totals : &c->agg;
		if (total && csv)
			break;
		if (q->interval != HR_INTERVAL_NONE) {
			if (total)
				snprintf(per, sizeof per, "TOTAL");
			else
				period_text(c->period_ms, q->interval, per, sizeof per);
			if (csv)
				printf("%s,", per);
			else
				printf("%-16s ", per);
		}
		bool labelled = q->interval != HR_INTERVAL_NONE; /* the period says TOTAL */
		for (int d = 0; d < HR_DIM__COUNT; d++)
			if (q->dims & (1u << d)) {
				const char *v = !total ? dim_or(c, d) : labelled ? "" : "TOTAL";
				labelled = true;
				if (csv) {
					csv_field(v);
					putchar(',');
				} else {
					printf("%-22.22s ", v);
				}
			}
		if (csv)
			printf("%lld,%lld,%lld,%lld,%lld,%.8f,%.8f,%.8f,%.0f,%.0f,%s\n",
			       (long long)g->requests, (long long)g->errors,
			       (long long)g->local_requests, (long long)g->prompt_tokens,
			       (long long)g->completion_tokens, g->cost_usd, g->reference_cost_usd,
			       g->reference_cost_usd - g->cost_usd, g->latency_ms[0], g->latency_ms[2],
			       g->estimated ? "true" : "false");
		else
			printf("%8lld %6lld %6lld %11lld %11lld %12.6f %12.6f %7.0f %7.0f%s\n",
			       (long long)g->requests, (long long)g->errors,
			       (long long)g->local_requests, (long long)g->prompt_tokens,
			       (long long)g->completion_tokens, g->cost_usd,
			       g->reference_cost_usd - g->cost_usd, g->latency_ms[0], g->latency_ms[2],
			       g->estimated ? " *" : "");
	}
}

static void print_savings(const json_t *j)
{
	printf("%-24s %8s %7s %12s %12s %12s  %s\n", "TASK", "REQUESTS", "LOCAL", "COST_USD",
	       "REF_COST_USD", "SAVED_USD", "QUALITY (challenger vs reference, judged pairs)");
	size_t i;
	json_t *t;
	json_t *tasks = json_object_get(j, "tasks");
	json_array_foreach(tasks, i, t)
	{
		json_t *ql = json_object_get(t, "quality");
		char qs[160] = "-";
		if (json_is_object(ql))
			snprintf(qs, sizeof qs, "%s %.2f vs %s %.2f, diff %+.2f [%+.2f, %+.2f], n %lld",
			         json_string_value(json_object_get(ql, "challenger")),
			         json_real_value(json_object_get(ql, "challenger_mean")),
			         json_string_value(json_object_get(ql, "reference")),
			         json_real_value(json_object_get(ql, "reference_mean")),
			         json_real_value(json_object_get(ql, "diff")),
			         json_real_value(json_object_get(ql, "diff_lo")),
			         json_real_value(json_object_get(ql, "diff_hi")),
			         (long long)json_integer_value(json_object_get(ql, "n")));
		printf("%-24.24s %8lld %6.0f%% %12.6f %12.6f %12.6f  %s\n",
		       json_string_value(json_object_get(t, "task")),
		       (long long)json_integer_value(json_object_get(t, "requests")),
		       100 * json_real_value(json_object_get(t, "local_share")),
		       json_real_value(json_object_get(t, "cost_usd")),
		       json_real_value(json_object_get(t, "reference_cost_usd")),
		       json_real_value(json_object_get(t, "saved_usd")), qs);
	}
	json_t *tot = json_object_get(j, "totals");
	printf("%-24s %8lld %6.0f%% %12.6f %12.6f %12.6f\n", "TOTAL",
	       (long long)json_integer_value(json_object_get(tot, "requests")),
	       100 * json_real_value(json_object_get(tot, "local_share")),
	       json_real_value(json_object_get(tot, "cost_usd")),
	       json_real_value(json_object_get(tot, "reference_cost_usd")),
	       json_real_value(json_object_get(tot, "saved_usd")));
}

int hr_cmd_usage(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"since", required_argument, NULL, 's'},
	                                     {"until", required_argument, NULL, 'u'},
	                                     {"by", required_argument, NULL, 'b'},
	                                     {"interval", required_argument, NULL, 'i'},
	                                     {"savings", no_argument, NULL, 'S'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"csv", no_argument, NULL, 'v'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL, *msg = NULL;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	struct hr_usage_query q = {.since_ms = now - 30LL * 86400000,
	                           .dims = 1u << HR_DIM_MODEL,
	                           .interval = HR_INTERVAL_DAY};
	enum format f = F_TABLE;
	bool savings = false, by = false, iv = false;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 's':
		case 'u':
			if (hr_api_parse_time(optarg, now, o == 's' ? &q.since_ms : &q.until_ms) < 0)
				return hr_cli_usage_error("usage", "--since and --until take 7d, 24h, "
				                                   "30m, YYYY-MM-DD or "
				                                   "YYYY-MM-DDTHH:MM:SSZ");
			break;
		case 'b':
			if (hr_api_parse_group_by(optarg, &q.dims, &msg) < 0)
				return hr_cli_usage_error("usage", msg);
			by = true;
			break;
		case 'i': {
			int v = hr_usage_interval_parse(optarg);
			if (v < 0)
				return hr_cli_usage_error("usage", "--interval is hour, day, month or "
				                                   "none");
			q.interval = (enum hr_usage_interval)v;
			iv = true;
			break;
		}
		case 'S': savings = true; break;
		case 'j': f = F_JSON; break;
		case 'v': f = F_CSV; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("usage", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("usage", "unexpected argument");
	if (savings && (by || iv || f == F_CSV))
		return hr_cli_usage_error("usage", "--savings is per task: no --by, --interval or "
		                                   "--csv");
	if (q.until_ms && q.until_ms <= q.since_ms)
		return hr_cli_usage_error("usage", "--until must come after --since");
	if (by && !iv)
		q.interval = HR_INTERVAL_NONE; /* --by alone: one line per group */
	if (savings) {
		q.dims = 1u << HR_DIM_TASK;
		q.interval = HR_INTERVAL_NONE;
	}
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	char db[4096];
	snprintf(db, sizeof db, "%s/hearth.db", c->storage.data_dir);
	if (access(db, F_OK) != 0) {
		printf(f == F_JSON ? "{\"data\": []}\n" : "no usage recorded yet (no database at %s)\n",
		       db);
		hr_conf_release(c);
		return HR_EXIT_OK;
	}
	struct hr_store *s = NULL;
	if (hr_cli_open_store("usage", cfg, &s) != HR_EXIT_OK) {
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}
	struct hr_arena *a = hr_arena_create(0);
	struct hr_usage_report r;
	int rc = a ? hr_report_run(s, a, &q, &r) : HR_ENOMEM;
	json_t *j = NULL;
	if (rc == 0 && (savings || f == F_JSON)) {
		j = savings ? hr_api_savings_json(&q, c, s, &r) : hr_api_usage_json(&q, &r);
		rc = j ? 0 : HR_ENOMEM;
	}
	if (rc < 0) {
		fprintf(stderr, "hearth usage: %s\n",
		        rc == HR_ETOOMANY ? "more than 100000 groups x periods; narrow --since, "
		                            "--by or --interval"
		                          : hr_err_msg(rc));
	} else if (f == F_JSON) {
		char *out = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		if (out)
			puts(out);
		free(out);
	} else if (savings) {
		print_savings(j);
	} else {
		print_rows(&q, &r, f);
		if (f == F_TABLE && r.totals.estimated)
			printf("* some token counts are estimates: the provider reported none\n");
	}
	json_decref(j);
	hr_arena_destroy(a);
	s->ops->close(s);
	hr_conf_release(c);
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}
