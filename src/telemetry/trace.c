/* trace.c - spans of a request, their OTLP/JSON form, and the exporter thread that POSTs
 * batches of finished traces to <telemetry.otlp_endpoint>/v1/traces. */
#include "telemetry/trace.h"

#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "telemetry/post.h"

#define QUEUE_MAX       2048 /* finished traces waiting for export */
#define BATCH_MAX       256  /* traces per POST */
#define FLUSH_MS        1000 /* the longest a finished trace waits */
#define POST_TIMEOUT_MS 5000
#define BODY_MAX        (64u << 20)

struct span {
	uint8_t id[8];
	char name[128];
	enum hr_span_kind kind;
	int64_t start_ns, end_ns; /* Unix ns; end 0 while open */
	const char *error;        /* copied into msg */
	char msg[256];
	bool failed;
	json_t *attrs; /* OTLP KeyValue array */
};

struct hr_trace {
	uint8_t trace_id[16];
	uint8_t parent[8]; /* the remote parent of the root; zero: none */
	bool prompts;
	int n, attempt;
	struct span spans[HR_TRACE_MAX_SPANS];
};

/* ---- traceparent ---- */

static int hexval(char c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* n lowercase hex digits into n/2 bytes; false on anything else */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i += 2) {
		int h = hexval(s[i]), l = hexval(s[i + 1]);
		if (h < 0 || l < 0)
			return false;
		out[i / 2] = (uint8_t)(h << 4 | l);
	}
	return true;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

int hr_traceparent_parse(const char *s, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                         bool *sampled)
{
	uint8_t ver, flags;
	/* version "-" trace-id "-" parent-id "-" flags: 2+1+32+1+16+1+2 = 55 */
	if (!s || n < 55 || s[2] != '-' || s[35] != '-' || s[52] != '-')
		return HR_EINVAL;
	if (!unhex(s, 2, &ver) || ver == 0xff || !unhex(s + 3, 32, trace_id) ||
	    !unhex(s + 36, 16, parent_id) || !unhex(s + 53, 2, &flags))
		return HR_EINVAL;
	if (ver == 0 && n != 55) /* version 00 has nothing after the flags */
		return HR_EINVAL;
	if (n > 55 && s[55] != '-') /* later versions may append "-..." */
		return HR_EINVAL;
	if (all_zero(trace_id, 16) || all_zero(parent_id, 8))
		return HR_EINVAL;
	*sampled = flags & 1;
	return 0;
}

/* ---- spans ---- */

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER; /* guards everything below */
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_t thread;
static bool running, stopping;
static atomic_bool accepting;    /* running and not stopping: read without the lock */
static json_t *queue[QUEUE_MAX]; /* span arrays, oldest first */
static size_t queued;
static struct hr_trace_stats stats;

static int new_span(struct hr_trace *t, const char *name, enum hr_span_kind kind)
{
	if (t->n >= HR_TRACE_MAX_SPANS)
		return -1;
	struct span *s = &t->spans[t->n];
	memset(s, 0, sizeof *s);
	randombytes_buf(s->id, sizeof s->id);
	snprintf(s->name, sizeof s->name, "%s", name);
	s->kind = kind;
	s->start_ns = now_ns();
	s->attrs = json_array();
	return t->n++;
}

struct hr_trace *hr_trace_begin(const struct hr_conf *c, const char *traceparent, const char *name)
{
	if (!c || !c->telemetry.otlp_endpoint ||
	    !atomic_load_explicit(&accepting, memory_order_relaxed))
		return NULL;
	uint8_t tid[16], pid[8];
	bool sampled = false, remote = false;
	if (traceparent &&
	    hr_traceparent_parse(traceparent, strnlen(traceparent, 256), tid, pid, &sampled) == 0) {
		remote = true;
		if (!sampled)
			return NULL;
	} else if (c->telemetry.trace_sample < 1) {
		uint32_t r = randombytes_uniform(1000000);
		if ((double)r >= c->telemetry.trace_sample * 1e6)
			return NULL;
	}
	struct hr_trace *t = calloc(1, sizeof *t);
	if (!t)
		return NULL;
	if (remote) {
		memcpy(t->trace_id, tid, sizeof tid);
		memcpy(t->parent, pid, sizeof pid);
	} else {
		randombytes_buf(t->trace_id, sizeof t->trace_id);
	}
	t->prompts = c->telemetry.trace_prompts;
	t->attempt = -1;
	if (new_span(t, name, HR_SPAN_SERVER) < 0) {
		free(t);
		return NULL;
	}
	return t;
}

bool hr_trace_prompts(const struct hr_trace *t)
{
	return t && t->prompts;
}

int hr_trace_span(struct hr_trace *t, const char *name, enum hr_span_kind kind)
{
	return t ? new_span(t, name, kind) : -1;
}

static struct span *span_at(struct hr_trace *t, int i)
{
	return t && i >= 0 && i < t->n ? &t->spans[i] : NULL;
}

void hr_trace_span_end(struct hr_trace *t, int i, const char *error)
{
	struct span *s = span_at(t, i);
	if (!s || s->end_ns)
		return;
	if (error)
		hr_trace_span_fail(t, i, error);
	s->end_ns = now_ns();
}

void hr_trace_span_fail(struct hr_trace *t, int i, const char *msg)
{
	struct span *s = span_at(t, i);
	if (!s || s->end_ns)
		return;
	s->failed = true;
	snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "error");
}

static void add_attr(struct span *s, const char *key, json_t *value)
{
	if (!s || !s->attrs || !value) {
		json_decref(value);
		return;
	}
	json_array_append_new(s->attrs, json_pack("{s:s, s:o}", "key", key, "value", value));
}

void hr_trace_strn(struct hr_trace *t, int i, const char *key, const char *v, size_t n)
{
	struct span *s = span_at(t, i);
	if (!s || !v)
		return;
	if (n > HR_TRACE_TEXT_MAX) { /* cut at a character's start: JSON wants whole UTF-8 */
		n = HR_TRACE_TEXT_MAX;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	add_attr(s, key, json_pack("{s:s%}", "stringValue", v, n));
}

void hr_trace_str(struct hr_trace *t, int i, const char *key, const char *v)
{
	if (v)
		hr_trace_strn(t, i, key, v, strnlen(v, HR_TRACE_TEXT_MAX + 1));
}

void hr_trace_int(struct hr_trace *t, int i, const char *key, int64_t v)
{
	char num[24];
	snprintf(num, sizeof num, "%lld", (long long)v); /* OTLP/JSON: int64 as a string */
	struct span *s = span_at(t, i);
	if (s)
		add_attr(s, key, json_pack("{s:s}", "intValue", num));
}

void hr_trace_dbl(struct hr_trace *t, int i, const char *key, double v)
{
	struct span *s = span_at(t, i);
	if (s)
		add_attr(s, key, json_pack("{s:f}", "doubleValue", v));
}

void hr_trace_strs(struct hr_trace *t, int i, const char *key, const char *v)
{
	struct span *s = span_at(t, i);
	if (s && v)
		add_attr(s, key,
		         json_pack("{s:{s:[{s:s%}]}}", "arrayValue", "values", "stringValue", v,
		                   strnlen(v, HR_TRACE_TEXT_MAX)));
}

void hr_trace_attempt_start(struct hr_trace *t, const char *system, const char *request_model,
                            const char *model, const char *provider)
{
	if (!t)
		return;
	if (t->attempt >= 0)
		hr_trace_attempt_end(t, 0, "abandoned");
	char name[160];
	snprintf(name, sizeof name, "chat %s", request_model);
	int i = new_span(t, name, HR_SPAN_CLIENT);
	t->attempt = i;
	hr_trace_str(t, i, "gen_ai.operation.name", "chat");
	hr_trace_str(t, i, "gen_ai.system", system);
	hr_trace_str(t, i, "gen_ai.request.model", request_model);
	hr_trace_str(t, i, "hearth.model", model);
	hr_trace_str(t, i, "hearth.provider", provider);
}

int hr_trace_attempt(const struct hr_trace *t)
{
	return t ? t->attempt : -1;
}

void hr_trace_attempt_end(struct hr_trace *t, long http_status, const char *error)
{
	if (!t || t->attempt < 0)
		return;
	if (http_status > 0)
		hr_trace_int(t, t->attempt, "http.response.status_code", http_status);
	if (error)
		hr_trace_str(t, t->attempt, "error.type", error);
	hr_trace_span_end(t, t->attempt, error);
	t->attempt = -1;
}

/* ---- OTLP/JSON ---- */

static void hex(char *out, const uint8_t *p, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, p, n);
}

json_t *hr_trace_spans_json(const struct hr_trace *t)
{
	json_t *arr = json_array();
	if (!arr || !t)
		return arr;
	char tid[33], sid[17], pid[17], st[24], en[24];
	hex(tid, t->trace_id, 16);
	for (int i = 0; i < t->n; i++) {
		const struct span *s = &t->spans[i];
		hex(sid, s->id, 8);
		if (i == 0)
			hex(pid, t->parent, 8);
		else
			hex(pid, t->spans[0].id, 8);
		snprintf(st, sizeof st, "%lld", (long long)s->start_ns);
		snprintf(en, sizeof en, "%lld", (long long)(s->end_ns ? s->end_ns : s->start_ns));
		json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:o}", "traceId", tid,
		                      "spanId", sid, "name", s->name, "kind", (int)s->kind,
		                      "startTimeUnixNano", st, "endTimeUnixNano", en, "attributes",
		                      s->attrs ? json_incref(s->attrs) : json_array());
		if (!o)
			continue;
		if (i > 0 || !all_zero(t->parent, 8))
			json_object_set_new(o, "parentSpanId", json_string(pid));
		json_object_set_new(o, "status",
		                    s->failed
		                        ? json_pack("{s:i, s:s}", "code", 2, "message", s->msg)
		                        : json_pack("{s:i}", "code", 1));
		json_array_append_new(arr, o);
	}
	return arr;
}

int hr_trace_otlp_json(const json_t *spans, const char *service_name, struct hr_buf *out)
{
	json_t *req =
	    json_pack("{s:[{s:{s:[{s:s, s:{s:s}}, {s:s, s:{s:s}}]}, s:[{s:{s:s, s:s}, s:O}]}]}",
	              "resourceSpans", "resource", "attributes", "key", "service.name", "value",
	              "stringValue", service_name ? service_name : "hearth", "key",
	              "service.version", "value", "stringValue", HR_VERSION, "scopeSpans", "scope",
	              "name", "hearth", "version", HR_VERSION, "spans", spans);
	if (!req)
		return HR_ENOMEM;
	char *s = json_dumps(req, JSON_COMPACT);
	json_decref(req);
	if (!s)
		return HR_ENOMEM;
	int rc = hr_buf_addstr(out, s);
	free(s);
	return rc;
}

/* ---- the exporter ---- */

void hr_trace_finish(struct hr_trace *t)
{
	if (!t)
		return;
	for (int i = t->n - 1; i >= 0; i--)
		hr_trace_span_end(t, i, NULL);
	json_t *spans = hr_trace_spans_json(t);
	for (int i = 0; i < t->n; i++)
		json_decref(t->spans[i].attrs);
	free(t);
	if (!spans)
		return;
	pthread_mutex_lock(&mu);
	if (!running || stopping || queued == QUEUE_MAX) {
		stats.dropped++;
		pthread_mutex_unlock(&mu);
		json_decref(spans);
		return;
	}
	queue[queued++] = spans;
	if (queued >= BATCH_MAX)
		pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
}

static bool post(const char *endpoint, const char *body, size_t len)
{
	char url[2048];
	snprintf(url, sizeof url, "%s/v1/traces", endpoint);
	return hr_telemetry_post(url, NULL, body, len, POST_TIMEOUT_MS, "trace export");
}

/* Takes up to BATCH_MAX traces off the queue and POSTs them. Lock held; released around
 * the POST. */
static void export_locked(void)
{
	size_t n = queued < BATCH_MAX ? queued : BATCH_MAX;
	json_t *all = json_array();
	for (size_t i = 0; i < n; i++) {
		if (all)
			json_array_extend(all, queue[i]);
		json_decref(queue[i]);
	}
	memmove(queue, queue + n, (queued - n) * sizeof queue[0]);
	queued -= n;
	pthread_mutex_unlock(&mu);
	struct hr_conf *c = hr_conf_current();
	bool ok = false;
	if (all && c && c->telemetry.otlp_endpoint) {
		struct hr_buf b = HR_BUF_INIT(BODY_MAX);
		if (hr_trace_otlp_json(all, c->telemetry.service_name, &b) == 0)
			ok = post(c->telemetry.otlp_endpoint, b.ptr, b.len);
		hr_buf_release(&b);
	}
	hr_conf_release(c);
	json_decref(all);
	pthread_mutex_lock(&mu);
	if (ok)
		stats.exported += n;
	else
		stats.failed += n;
}

static void *run(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!stopping) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (long)FLUSH_MS % 1000 * 1000000L;
		ts.tv_sec += FLUSH_MS / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!stopping && queued < BATCH_MAX &&
		       pthread_cond_timedwait(&cond, &mu, &ts) == 0)
			;
		while (queued)
			export_locked();
	}
	while (queued)
		export_locked();
	pthread_mutex_unlock(&mu);
	return NULL;
}

int hr_trace_exporter_start(void)
{
	pthread_mutex_lock(&mu);
	int rc = 0;
	if (!running) {
		stopping = false;
		if (pthread_create(&thread, NULL, run, NULL) == 0) {
			running = true;
			atomic_store(&accepting, true);
		} else
			rc = HR_EINTERNAL;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

void hr_trace_exporter_stop(void)
{
	pthread_mutex_lock(&mu);
	if (!running) {
		pthread_mutex_unlock(&mu);
		return;
	}
	stopping = true;
	atomic_store(&accepting, false);
	pthread_cond_signal(&cond);
	pthread_mutex_unlock(&mu);
	pthread_join(thread, NULL);
	pthread_mutex_lock(&mu);
	running = false;
	pthread_mutex_unlock(&mu);
}

void hr_trace_stats(struct hr_trace_stats *out)
{
	pthread_mutex_lock(&mu);
	*out = stats;
	pthread_mutex_unlock(&mu);
}
