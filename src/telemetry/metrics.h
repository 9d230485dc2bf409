/* metrics.h - the Prometheus metrics: one process-wide, fixed registry of counters and
 * histograms, updated lock-free (relaxed atomics) on the hot path, written out in the text
 * exposition format 0.0.4 for GET /metrics (docs/monitoring.md lists every metric).
 *
 * Invariants: label values come only from bounded sets. Model, provider and task names are
 * passed through hr_metrics_bound_*() first (a name the config does not know becomes
 * "other"); every dimension holds at most HR_METRICS_MAX_VALUES values (more become "other"),
 * status is a code from a fixed list or its class ("2xx"), origin is client/shadow/judge.
 * A series that finds its family's table full is dropped and counted
 * (hearth_metrics_series_dropped_total). Nothing here takes a lock per request: a lock is
 * taken only the first time a label value is seen. */
#ifndef HR_METRICS_H
#define HR_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hr_buf;
struct hr_conf;

#define HR_METRICS_MAX_VALUES 250 /* values per label dimension, "other" included */

/* Sets up the registry and records the process start time. Idempotent; thread-safe after
 * the first call returns (call it at start-up, before any worker runs). */
void hr_metrics_init(void);
/* Forgets every series and label value (unit tests only; no other thread may be using it). */
void hr_metrics_reset(void);

/* Bounded label values. Each returns a static string or one borrowed from c: the name when
 * c configures it, "other" when it does not, "none" when name is NULL or empty. Tasks also
 * accept "auto". */
const char *hr_metrics_bound_model(const struct hr_conf *c, const char *name);
const char *hr_metrics_bound_provider(const struct hr_conf *c, const char *id);
const char *hr_metrics_bound_task(const struct hr_conf *c, const char *name);

/* One finished request, from its usage record. Strings are borrowed for the call and must
 * already be bounded (hr_metrics_bound_*); origin NULL means "client". */
struct hr_metrics_req {
	const char *model, *provider, *task, *origin;
	int status; /* HTTP status the client saw */
	int64_t input_tokens, output_tokens;
	double cost_usd;
	double latency_s; /* start to last byte */
	double ttfb_s;    /* start to first byte; < 0 when none was sent */
};
void hr_metrics_request(const struct hr_metrics_req *r);

/* Routing events (chat.c): a plan was made (strategy and via are static names from the
 * router: "ordered".., "model"/"task"/"header"/"rule"/"auto"); the same model was called
 * again; the request moved on to the next candidate after a failure (model: the one that
 * failed); the cascade turned an answer down (model: the one turned down). Models bounded. */
void hr_metrics_route(const char *strategy, const char *via);
void hr_metrics_retry(const char *model);
void hr_metrics_fallback(const char *model);
void hr_metrics_escalation(const char *model);
/* The usage writer lost a record (storage failed). */
void hr_metrics_record_failed(void);

/* Appends every registry family and the process metrics (process_cpu_seconds_total,
 * process_resident_memory_bytes, process_open_fds, process_max_fds,
 * process_start_time_seconds) to out. Live gauges that belong to higher layers (breaker
 * state, in flight, queue depth) are written by the caller with the hr_prom_* helpers.
 * Returns 0 or the hr_buf error (HR_ETOOBIG, HR_ENOMEM). */
int hr_metrics_write(struct hr_buf *out);

/* ---- the exposition format (Prometheus text 0.0.4) ---- */

/* "# HELP name help\n# TYPE name type\n"; help is escaped (\\ and \n). */
int hr_prom_family(struct hr_buf *out, const char *name, const char *type, const char *help);
/* name{l0="v0",...} value\n: values escaped (\\, \", \n); n may be 0 (no braces). Numbers
 * print as integers when whole, else with 17 significant digits; NaN/Inf as Prometheus
 * spells them. */
int hr_prom_sample(struct hr_buf *out, const char *name, const char *const *lnames,
                   const char *const *lvals, size_t n, double v);

/* Budgets (a later change) will add hearth_budget_remaining_usd{budget} and
 * hearth_budget_used_ratio{budget} here, from the budget table: nothing is exposed until then. */

#endif
