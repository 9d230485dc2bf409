/* usage.c - GET /api/v1/usage and GET /api/v1/usage/savings: the usage report
 * (storage/report.h) over HTTP, for finance and the UI (docs/monitoring.md).
 *
 * A report reads every record of its range, so it runs on a thread of its own with its own
 * read-only connection (the usage writer and this worker's other requests never wait for
 * it), at most HR_REPORTS_MAX at once; the answer is handed back to the worker's loop. */
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "api/usage.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/server.h"
#include "learn/learn.h"
#include "storage/report.h"
#include "storage/store.h"

#define HR_REPORTS_MAX     2                     /* report threads at once */
#define REPORT_ARENA_BYTES ((size_t)1 << 30)     /* one report's memory */
#define REPORT_JSON_MAX    ((size_t)256 << 20)   /* its answer */
#define DEFAULT_SINCE_MS   (30LL * 86400 * 1000) /* without ?since: the last 30 days */

static atomic_int running;

struct report_job {
	struct hr_req *rq; /* NULL once the client left (worker thread only) */
	struct hr_worker *w;
	char *data_dir;
	struct hr_usage_query q;
	char *scope_user, *scope_key;
	bool savings;
	struct hr_conf *conf; /* a reference: the tasks' pairs for the savings' quality */
	/* the result */
	int rc;
	char *json;
};

/* ---- parameters ---- */

int hr_api_parse_time(const char *s, int64_t now_ms, int64_t *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (end != s && v >= 0 && end[0] && !end[1]) {
		int64_t unit = end[0] == 'd' ? 86400000LL : end[0] == 'h' ? 3600000LL
		                                        : end[0] == 'm' ? 60000LL
		                                                        : 0;
		if (!unit)
			return HR_EINVAL;
		*out = now_ms - (int64_t)v * unit;
		return 0;
	}
	struct tm tm = {0};
	end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (!end || *end) {
		memset(&tm, 0, sizeof tm);
		end = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!end || *end)
		return HR_EINVAL;
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

int hr_api_parse_group_by(const char *s, unsigned *dims, const char **msg)
{
	*dims = 0;
	for (const char *p = s; p && *p;) {
		const char *c = strchr(p, ',');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		int d = hr_usage_dim_parse(p, n);
		if (d < 0) {
			*msg = "group_by takes a comma-separated list of: model, provider, locality, "
			       "task, key, user, team, status, origin";
			return HR_EINVAL;
		}
		*dims |= 1u << d;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

/* The query string into j's query. Returns 0, or an error with *msg and *param. */
static int parse_params(struct hr_req *rq, struct report_job *j, const char **msg,
                        const char **param)
{
	struct evkeyvalq qs = {0};
	const char *uq = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->ev));
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	int rc = 0;
	j->q.since_ms = now - DEFAULT_SINCE_MS;
	if (uq && evhttp_parse_query_str(uq, &qs) < 0) {
		*msg = "the query string does not parse";
		return HR_EINVAL;
	}
	for (struct evkeyval *kv = qs.tqh_first; kv && rc == 0; kv = kv->next.tqe_next) {
		*param = hr_arena_strndup(rq->arena, kv->key, strlen(kv->key));
		if (strcmp(kv->key, "since") == 0 || strcmp(kv->key, "until") == 0) {
			int64_t *t = kv->key[0] == 's' ? &j->q.since_ms : &j->q.until_ms;
			if ((rc = hr_api_parse_time(kv->value, now, t)) < 0)
				*msg = "a time is 7d, 24h, 30m (ago), 2026-11-01 or 2026-11-01T12:00:00Z "
				       "(UTC)";
		} else if (strcmp(kv->key, "group_by") == 0 && !j->savings) {
			rc = hr_api_parse_group_by(kv->value, &j->q.dims, msg);
		} else if (strcmp(kv->key, "interval") == 0 && !j->savings) {
			int iv = hr_usage_interval_parse(kv->value);
			if (iv < 0) {
				*msg = "interval is hour, day or month";
				rc = HR_EINVAL;
			} else {
				j->q.interval = (enum hr_usage_interval)iv;
			}
		} else {
			*msg = j->savings ? "unknown parameter; savings take since and until"
			                  : "unknown parameter; usage takes since, until, group_by and "
			                    "interval";
			rc = HR_EINVAL;
		}
	}
	evhttp_clear_headers(&qs);
	if (rc == 0 && j->q.until_ms && j->q.until_ms <= j->q.since_ms) {
		*param = "until";
		*msg = "until must come after since";
		rc = HR_EINVAL;
	}
	if (rc == 0)
		*param = NULL;
	return rc;
}

/* ---- the answer ---- */

static json_t *time_json(int64_t ms)
{
	char s[32];
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(s, sizeof s, "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(s);
}

static json_t *pcts(const double v[3])
{
	if (v[0] < 0)
		return json_null();
	return json_pack("{s:f, s:f, s:f}", "p50", v[0], "p90", v[1], "p99", v[2]);
}

static json_t *agg_json(const struct hr_usage_agg *g)
{
	double n = g->requests ? (double)g->requests : 1;
	return json_pack("{s:I, s:I, s:f, s:I, s:f, s:I, s:I, s:f, s:f, s:f, s:o, s:o, s:b}",
	                 "requests", (json_int_t)g->requests, "errors", (json_int_t)g->errors,
	                 "error_rate", (double)g->errors / n, "local_requests",
	                 (json_int_t)g->local_requests, "local_share", (double)g->local_requests / n,
	                 "prompt_tokens", (json_int_t)g->prompt_tokens, "completion_tokens",
	                 (json_int_t)g->completion_tokens, "cost_usd", g->cost_usd,
	                 "reference_cost_usd", g->reference_cost_usd, "saved_usd",
	                 g->reference_cost_usd - g->cost_usd, "latency_ms", pcts(g->latency_ms),
	                 "ttfb_ms", pcts(g->ttfb_ms), "estimated", g->estimated);
}

json_t *hr_api_usage_json(const struct hr_usage_query *q, const struct hr_usage_report *r)
{
	json_t *data = json_array(), *dims = json_array();
	for (int d = 0; d < HR_DIM__COUNT; d++)
		if (q->dims & (1u << d))
			json_array_append_new(dims, json_string(hr_usage_dim_names[d]));
	for (size_t i = 0; i < r->n_cells && data; i++) {
		const struct hr_usage_cell *c = &r->cells[i];
		json_t *o = agg_json(&c->agg);
		if (!o)
			continue;
		for (int d = 0; d < HR_DIM__COUNT; d++)
			if (c->dim[d])
				json_object_set_new(o, hr_usage_dim_names[d], json_string(c->dim[d]));
		if (q->interval != HR_INTERVAL_NONE)
			json_object_set_new(o, "period", time_json(c->period_ms));
		json_array_append_new(data, o);
	}
	static const char *const iv[] = {"none", "hour", "day", "month"};
	return json_pack("{s:s, s:o, s:o, s:o, s:s, s:o, s:o}", "object", "usage.report", "since",
	                 time_json(q->since_ms), "until",
	                 q->until_ms ? time_json(q->until_ms) : json_null(), "group_by", dims,
	                 "interval", iv[q->interval], "data", data, "totals", agg_json(&r->totals));
}

/* Shadow evaluation's estimate for a task, or null when it has none. */
static json_t *quality_json(struct hr_store *st, const struct hr_conf_task *t)
{
	if (!t || !t->challenger || !t->reference)
		return json_null();
	struct hr_learn_pairs pairs;
	if (hr_learn_task_pairs(st, t->name, t->challenger, t->reference, &pairs) < 0 ||
	    pairs.n == 0)
		return json_null();
	struct hr_learn_pair_stats s;
	hr_learn_pairs_stats(&pairs, &s);
	return json_pack("{s:s, s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "challenger",
	                 t->challenger, "reference", t->reference, "n", (json_int_t)s.n,
	                 "challenger_mean", s.challenger, "challenger_ci95", s.challenger_ci,
	                 "reference_mean", s.reference, "reference_ci95", s.reference_ci, "diff",
	                 s.diff, "diff_lo", s.diff_lo, "diff_hi", s.diff_hi);
}

json_t *hr_api_savings_json(const struct hr_usage_query *q, const struct hr_conf *conf,
                            struct hr_store *st, const struct hr_usage_report *r)
{
	json_t *tasks = json_array();
	for (size_t i = 0; i < r->n_cells && tasks; i++) {
		const struct hr_usage_cell *c = &r->cells[i];
		const char *name = c->dim[HR_DIM_TASK];
		const struct hr_conf_task *t =
		    strcmp(name, "-") ? hr_conf_task_find(conf, name, strlen(name)) : NULL;
		json_t *o = agg_json(&c->agg);
		if (o) {
			json_object_set_new(o, "task", json_string(name));
			json_object_set_new(o, "quality", quality_json(st, t));
			json_array_append_new(tasks, o);
		}
	}
	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "object", "usage.savings", "since",
	                 time_json(q->since_ms), "until",
	                 q->until_ms ? time_json(q->until_ms) : json_null(), "tasks", tasks,
	                 "totals", agg_json(&r->totals));
}

/* ---- the thread and the hand-back ---- */

static void job_free(struct report_job *j)
{
	free(j->data_dir);
	free(j->scope_user);
	free(j->scope_key);
	free(j->json);
	hr_conf_release(j->conf);
	free(j);
}

static void deliver(void *arg)
{
	struct report_job *j = arg;
	struct hr_req *rq = j->rq;
	atomic_fetch_sub(&running, 1);
	if (rq) {
		rq->on_client_gone = NULL;
		struct hr_buf b = HR_BUF_INIT(REPORT_JSON_MAX);
		if (j->rc == 0 && hr_buf_addstr(&b, j->json) == 0) {
			hr_req_respond(rq, 200, NULL, &b);
		} else {
			hr_buf_release(&b);
			hr_req_error(rq, j->rc < 0 ? j->rc : HR_ENOMEM,
			             j->rc == HR_ETOOMANY ? "more than 100000 groups x periods: "
			                                    "narrow the range, the grouping or the "
			                                    "interval"
			                                  : NULL,
			             NULL);
		}
	}
	job_free(j);
}

static void *report_main(void *arg)
{
	struct report_job *j = arg;
	struct hr_store *st = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_arena *a = hr_arena_create(REPORT_ARENA_BYTES);
	struct hr_usage_report r;
	j->rc = a ? hr_store_open(&st, j->data_dir, true, &err) : HR_ENOMEM;
	if (j->rc == 0)
		j->rc = hr_report_run(st, a, &j->q, &r);
	if (j->rc == 0) {
		json_t *o = j->savings ? hr_api_savings_json(&j->q, j->conf, st, &r)
		                       : hr_api_usage_json(&j->q, &r);
		j->json = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
		j->rc = j->json ? 0 : HR_ENOMEM;
		json_decref(o);
	}
	if (j->rc < 0)
		HR_LOG_WARN(HTTP, "a usage report failed: %s%s%s", hr_err_msg(j->rc),
		            err.ptr ? ": " : "", err.ptr ? err.ptr : "");
	if (st)
		st->ops->close(st);
	hr_arena_destroy(a);
	hr_buf_release(&err);
	if (hr_worker_post(j->w, deliver, j) < 0) /* the loop is gone: nothing to answer */
		job_free(j);
	return NULL;
}

static void on_gone(struct hr_req *rq)
{
	struct report_job *j = rq->state;
	j->rq = NULL; /* deliver() frees the job when the thread is done */
	hr_req_respond(rq, 499, NULL, NULL);
}

static void start(struct hr_req *rq, bool savings)
{
	const char *msg = NULL, *param = NULL;
	struct report_job *j = calloc(1, sizeof *j);
	if (!j) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	j->savings = savings;
	if (savings)
		j->q.dims = 1u << HR_DIM_TASK;
	int rc = parse_params(rq, j, &msg, &param);
	if (rc < 0) {
		job_free(j);
		hr_req_error(rq, rc, msg, param);
		return;
	}
	if (hr_api_usage_scope(rq, &j->scope_user, &j->scope_key) < 0) {
		job_free(j);
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	j->q.scope_user = j->scope_user;
	j->q.scope_key = j->scope_key;
	j->rq = rq;
	j->w = rq->w;
	j->conf = hr_conf_current();
	j->data_dir = strdup(rq->conf->storage.data_dir);
	if (!j->data_dir || !j->conf) {
		job_free(j);
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	if (atomic_fetch_add(&running, 1) >= HR_REPORTS_MAX) {
		atomic_fetch_sub(&running, 1);
		job_free(j);
		hr_req_header(rq, "Retry-After", "1");
		hr_req_error(rq, HR_EUNAVAIL, "other usage reports are running; retry in a moment",
		             NULL);
		return;
	}
	pthread_t t;
	pthread_attr_t at;
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&t, &at, report_main, j);
	pthread_attr_destroy(&at);
	if (rc != 0) {
		atomic_fetch_sub(&running, 1);
		job_free(j);
		hr_req_error(rq, HR_EINTERNAL, "cannot start the report", NULL);
		return;
	}
	rq->state = j;
	rq->on_client_gone = on_gone;
	hr_req_watch_peer(rq);
}

void hr_api_usage(struct hr_req *rq)
{
	start(rq, false);
}

void hr_api_usage_savings(struct hr_req *rq)
{
	start(rq, true);
}
