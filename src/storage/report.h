/* report.h - the usage report: usage records aggregated over a time range, grouped by any of
 * model, provider, locality, task, key, user, team, status and origin, optionally as a time
 * series (hour, day, month, UTC): requests, errors, tokens, cost, what the reference model
 * would have cost (savings), requests served locally, and exact latency and time-to-first-
 * byte percentiles. One implementation for GET /api/v1/usage and `hearth usage`.
 *
 * Ownership: a report and everything in it live in the arena given to hr_report_run. */
#ifndef HR_REPORT_H
#define HR_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "storage/store.h"

struct hr_store;

enum hr_usage_interval { HR_INTERVAL_NONE, HR_INTERVAL_HOUR, HR_INTERVAL_DAY, HR_INTERVAL_MONTH };

/* "model" ... "origin" (the API's and the CLI's names). */
extern const char *const hr_usage_dim_names[HR_DIM__COUNT];
/* The dimension named s[0..n), or -1. */
int hr_usage_dim_parse(const char *s, size_t n);
/* "hour", "day", "month" (or "none"): the interval, or -1. */
int hr_usage_interval_parse(const char *s);

/* What to report. Scope: when scope_user or scope_key is set, only the records of that user
 * or that key are counted — the caller's own (role scoping). */
struct hr_usage_query {
	int64_t since_ms, until_ms; /* [since, until); until 0: no end */
	unsigned dims;              /* bits (1u << enum hr_usage_dim) to group by */
	enum hr_usage_interval interval;
	const char *scope_user, *scope_key;
};

/* Aggregates of a set of records. Percentiles are exact (nearest rank) over the records'
 * latencies; -1 when there is none (ttfb: over records that sent a byte). */
struct hr_usage_agg {
	int64_t requests, errors, local_requests, prompt_tokens, completion_tokens;
	double cost_usd, reference_cost_usd;
	double latency_ms[3], ttfb_ms[3]; /* p50, p90, p99 */
	bool estimated;
};

struct hr_usage_cell {
	const char *dim[HR_DIM__COUNT]; /* the group's values; NULL for dims not grouped */
	int64_t period_ms;              /* the period's start (UTC); 0 without an interval */
	struct hr_usage_agg agg;
};

struct hr_usage_report {
	struct hr_usage_cell *cells; /* by period, then group values */
	size_t n_cells;
	struct hr_usage_agg totals;
};

#define HR_REPORT_MAX_CELLS 100000

/* Aggregation without storage (tests, and hr_report_run). */
struct hr_report_acc;
struct hr_report_acc *hr_report_acc_new(struct hr_arena *a, const struct hr_usage_query *q);
/* Adds one fact (in scope or not: the accumulator checks). Returns 0, HR_ENOMEM or
 * HR_ETOOMANY (more than HR_REPORT_MAX_CELLS groups x periods: narrow the query). */
int hr_report_acc_add(struct hr_report_acc *acc, const struct hr_usage_fact *f);
/* The report (sorted; percentiles computed). Returns 0 or HR_ENOMEM. */
int hr_report_acc_finish(struct hr_report_acc *acc, struct hr_usage_report *out);

/* Reads the records of q's range from st and aggregates them. Returns 0, HR_EIO,
 * HR_ENOMEM or HR_ETOOMANY. */
int hr_report_run(struct hr_store *st, struct hr_arena *a, const struct hr_usage_query *q,
                  struct hr_usage_report *out);

/* The start of the period of ts_ms (UTC). */
int64_t hr_report_period(enum hr_usage_interval iv, int64_t ts_ms);

#endif
