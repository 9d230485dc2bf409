/* client.h - the outbound HTTP client: one libcurl multi handle per event loop, driven by
 * that loop (curl_multi_socket_action), so connections to each provider are pooled and
 * reused. A call streams its response to callbacks as bytes arrive. A URL llamacpp://<id>/...
 * is served in process by the embedded engine (engine/llama.h) behind the same callbacks:
 * no connection, no pause (its answer is buffered, capped); only total_timeout_ms applies. */
#ifndef HR_CLIENT_H
#define HR_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hr_client;
struct hr_call;

/* Called once when the response headers are complete. retry_after: the Retry-After header
 * value or NULL (borrowed for the call). Return 0 to go on, or a negative HR_E* code to
 * abort the call (then on_done gets that code). */
typedef int (*hr_call_headers_cb)(void *arg, long status, const char *retry_after);
/* Called per received body piece (borrowed for the call). Same return convention. */
typedef int (*hr_call_data_cb)(void *arg, const char *p, size_t n);
/* Called exactly once, later, unless the call was cancelled: rc is 0 when the transfer
 * completed, else HR_ECONNECT, HR_ETIMEOUT, HR_ESTREAM_CUT (connection lost after the
 * headers), or the code a callback returned. The call is freed after on_done returns. */
typedef void (*hr_call_done_cb)(void *arg, int rc);

struct hr_call_opts {
	const char *url;
	const char *const *headers; /* "Name: value", NULL-terminated; copied */
	const char *body;           /* borrowed until on_done or cancel */
	size_t body_len;
	long connect_timeout_ms, first_byte_timeout_ms, idle_timeout_ms, total_timeout_ms;
	const char *rid; /* request id, for log lines; borrowed */
	hr_call_headers_cb on_headers;
	hr_call_data_cb on_data;
	hr_call_done_cb on_done;
	void *arg;
};

/* Returns: owned, free with hr_client_free(); NULL on failure. */
struct hr_client *hr_client_new(struct event_base *base);
/* Cancels every call still running (their on_done is not called) and frees the client. */
void hr_client_free(struct hr_client *c);
/* Number of calls in flight. */
int hr_client_active(const struct hr_client *c);

/* Starts a POST (or a GET when body is NULL). Fails now (returns HR_ENOMEM or
 * HR_EINTERNAL, never calls back) or calls on_done exactly once later. *out, if not NULL,
 * receives the call for hr_call_cancel(). */
int hr_call_start(struct hr_client *c, const struct hr_call_opts *o, struct hr_call **out);
/* Stops the call and frees it; its callbacks are not called again. Safe to call from
 * inside the call's own on_headers/on_data callbacks. */
void hr_call_cancel(struct hr_call *call);
/* Pauses or resumes receiving (back-pressure from a slow client). */
void hr_call_pause(struct hr_call *call, bool pause);

#endif
