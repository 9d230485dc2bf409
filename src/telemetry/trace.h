/* trace.h - OpenTelemetry traces: the spans of one request (the request itself, the data
 * policy, the route, each provider attempt, the usage record) with the GenAI semantic
 * conventions, exported as OTLP/HTTP JSON to telemetry.otlp_endpoint by one background
 * thread (docs/monitoring.md#traces).
 *
 * Invariants: a trace belongs to its request's thread until hr_trace_finish(), which hands it
 * to the exporter; every function takes a NULL trace (tracing off, not sampled) and then does
 * nothing, so call sites need no test. Spans never hold prompt text unless
 * telemetry.trace_prompts is set. The exporter's queue is bounded: a full queue drops the
 * trace (counted), and no request ever waits for the collector. */
#ifndef HR_TRACE_H
#define HR_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hr_conf;
struct hr_trace;
struct hr_buf;

#define HR_TRACE_MAX_SPANS 32   /* per trace; more are not recorded */
#define HR_TRACE_TEXT_MAX  4096 /* bytes of a string attribute (prompts are cut there) */

enum hr_span_kind { HR_SPAN_INTERNAL = 1, HR_SPAN_SERVER = 2, HR_SPAN_CLIENT = 3 };

/* Parses a W3C traceparent header ("00-<32 hex>-<16 hex>-<2 hex>"; a later version may add
 * "-..." after the flags). s[0..n) need not end in NUL. Returns 0 with the ids and the
 * sampled flag, or HR_EINVAL (malformed, version ff, an all-zero id). Pure. */
int hr_traceparent_parse(const char *s, size_t n, uint8_t trace_id[16], uint8_t parent_id[8],
                         bool *sampled);

/* Starts the exporter thread (idempotent). It reads the endpoint and service name from the
 * current config snapshot at each export, so a reload applies. Returns 0 or HR_EINTERNAL. */
int hr_trace_exporter_start(void);
/* Exports what is queued (one try), then stops the thread. */
void hr_trace_exporter_stop(void);

/* A new trace with its root span (kind server) named name, or NULL when tracing is off
 * (no telemetry.otlp_endpoint, no exporter) or the request is not sampled: an incoming
 * traceparent (NULL if none) decides by its sampled flag and gives the trace id and the
 * parent; otherwise telemetry.trace_sample. Returns: owned until hr_trace_finish(). */
struct hr_trace *hr_trace_begin(const struct hr_conf *c, const char *traceparent, const char *name);
/* Whether prompt text may go on the spans (telemetry.trace_prompts when t was begun). */
bool hr_trace_prompts(const struct hr_trace *t);

/* A child span of the root; returns its index, or -1 (t NULL, too many spans). */
int hr_trace_span(struct hr_trace *t, const char *name, enum hr_span_kind kind);
/* Ends span i (0 is the root); error non-NULL marks it failed with that message. Ending an
 * ended span does nothing. */
void hr_trace_span_end(struct hr_trace *t, int i, const char *error);
/* Marks span i failed (with message msg) without ending it. */
void hr_trace_span_fail(struct hr_trace *t, int i, const char *msg);
/* Attributes of span i (copied; a string is cut at HR_TRACE_TEXT_MAX bytes; NULL v is
 * skipped). _strs sets a one-element string array (gen_ai.response.finish_reasons). */
void hr_trace_str(struct hr_trace *t, int i, const char *key, const char *v);
void hr_trace_strn(struct hr_trace *t, int i, const char *key, const char *v, size_t n);
void hr_trace_int(struct hr_trace *t, int i, const char *key, int64_t v);
void hr_trace_dbl(struct hr_trace *t, int i, const char *key, double v);
void hr_trace_strs(struct hr_trace *t, int i, const char *key, const char *v);

/* A provider attempt: a client span "chat <request_model>" with gen_ai.system (the
 * provider kind), gen_ai.operation.name, gen_ai.request.model (the upstream id),
 * hearth.model and hearth.provider. An attempt still open is ended first (as failed). */
void hr_trace_attempt_start(struct hr_trace *t, const char *system, const char *request_model,
                            const char *model, const char *provider);
/* The open attempt's index, or -1. */
int hr_trace_attempt(const struct hr_trace *t);
/* Ends the open attempt: the provider's HTTP status (0: none) and, when it failed or was
 * turned down, why (an error code). */
void hr_trace_attempt_end(struct hr_trace *t, long http_status, const char *error);

/* Ends every open span and hands the trace to the exporter (or frees it). t is gone after. */
void hr_trace_finish(struct hr_trace *t);

/* The OTLP/JSON ExportTraceServiceRequest of spans (a JSON array of span objects, as
 * hr_trace_finish() queues them) into out. Returns 0 or the hr_buf error / HR_ENOMEM. For
 * tests and the exporter. */
struct json_t;
int hr_trace_otlp_json(const struct json_t *spans, const char *service_name, struct hr_buf *out);
/* Serialises t's spans as the exporter gets them (a new JSON array, owned), for tests. */
struct json_t *hr_trace_spans_json(const struct hr_trace *t);

/* Exporter counters (for /metrics and tests). */
struct hr_trace_stats {
	uint64_t exported, dropped, failed; /* traces */
};
void hr_trace_stats(struct hr_trace_stats *out);

#endif
