/* req.c - request context helpers: headers, JSON errors, streamed replies, and the answer
 * path that commits the usage record before the last byte leaves. */
#include "api/req.h"
#include "api/limits.h"

#include <errno.h>
#include <jansson.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <sys/socket.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "api/api.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/limits.h"
#include "core/err.h"
#include "core/log.h"
#include "http/server.h"
#include "providers/dialect.h"
#include "storage/usage.h"
#include "telemetry/metrics.h"
#include "telemetry/reqlog.h"
#include "telemetry/trace.h"

int64_t hr_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void hr_req_header(struct hr_req *rq, const char *name, const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(rq->ev), name, value);
}

/* Adds the Date header from a per-thread copy formatted once a second: left to itself,
 * evhttp formats it afresh for every answer (gmtime and a printf, about 1% of a proxied
 * request's instructions). Same form as libevent's (RFC 7231 IMF-fixdate, English names). */
static void add_date(struct hr_req *rq)
{
	static const char day[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
	static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	static _Thread_local time_t at = -1;
	static _Thread_local char date[32];
	time_t now = time(NULL);
	if (now != at) {
		struct tm tm;
		if (!gmtime_r(&now, &tm))
			return; /* evhttp then adds its own */
		snprintf(date, sizeof date, "%s, %02d %s %d %02d:%02d:%02d GMT", day[tm.tm_wday],
		         tm.tm_mday, mon[tm.tm_mon], 1900 + tm.tm_year, tm.tm_hour, tm.tm_min,
		         tm.tm_sec);
		at = now;
	}
	hr_req_header(rq, "Date", date);
}

static void client_gone(struct hr_req *rq)
{
	if (rq->client_gone)
		return;
	rq->client_gone = true;
	HR_RLOG_INFO(rq->id, HTTP, "client closed the connection");
	if (!rq->finishing && rq->on_client_gone)
		rq->on_client_gone(rq);
}

static void on_peer_readable(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct hr_req *rq = arg;
	char c;
	ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	event_del(rq->peer_watch);
	if (n > 0)
		return; /* a pipelined request: libevent reads it after this answer */
	client_gone(rq);
}

static void on_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	struct hr_req *rq = arg;
	if (rq->peer_watch) { /* the socket is about to close: stop watching it now */
		event_free(rq->peer_watch);
		rq->peer_watch = NULL;
	}
	client_gone(rq);
}

void hr_req_track_close(struct hr_req *rq)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(rq->ev);
	if (evcon)
		evhttp_connection_set_closecb(evcon, on_close, rq);
}

void hr_req_watch_peer(struct hr_req *rq)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(rq->ev);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	evutil_socket_t fd = bev ? bufferevent_getfd(bev) : -1;
	if (fd < 0 || rq->peer_watch)
		return;
	rq->peer_watch = event_new(rq->w->base, fd, EV_READ | EV_PERSIST, on_peer_readable, rq);
	if (rq->peer_watch)
		event_add(rq->peer_watch, NULL);
}

bool hr_req_connected(const struct hr_req *rq)
{
	return !rq->client_gone && evhttp_request_get_connection(rq->ev) != NULL;
}

static void free_cb(const void *data, size_t len, void *arg)
{
	(void)len, (void)arg;
	free((void *)data);
}

/* Follows an answer's last bytes to the socket, so that a draining worker waits for them:
 * libevent reports either completion or the connection's end, never both. */
struct hr_tail {
	struct hr_worker *w;
};

static void on_tail_done(struct evhttp_request *ev, void *arg)
{
	struct hr_tail *t = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (evcon)
		evhttp_connection_set_closecb(evcon, NULL, NULL);
	t->w->sending--;
	free(t);
}

static void on_tail_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	struct hr_tail *t = arg;
	t->w->sending--;
	free(t);
}

/* Sends what hr_req_respond prepared, then destroys the request. */
static void send_and_destroy(struct hr_req *rq)
{
	struct evhttp_request *ev = rq->ev;
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	if (rq->peer_watch)
		event_free(rq->peer_watch);
	if (evcon) {
		struct hr_tail *t = malloc(sizeof *t);
		if (t) {
			t->w = rq->w;
			rq->w->sending++;
			evhttp_request_set_on_complete_cb(ev, on_tail_done, t);
		}
		evhttp_connection_set_closecb(evcon, t ? on_tail_close : NULL, t);
	}
	/* with the client gone, libevent has detached ev: these calls only free it */
	if (rq->started) {
		if (rq->body && evcon && evbuffer_get_length(rq->body))
			evhttp_send_reply_chunk(ev, rq->body);
		evhttp_send_reply_end(ev);
	} else {
		evhttp_send_reply(ev, rq->status, NULL, rq->body);
	}
	if (rq->body)
		evbuffer_free(rq->body);
	hr_trace_finish(rq->trace);
	rq->trace = NULL;
	rq->w->inflight--;
	hr_conf_release(rq->conf);
	hr_arena_destroy(rq->arena);
}

static void on_committed_loop(void *arg)
{
	struct hr_req *rq = arg;
	hr_trace_span_end(rq->trace, rq->rec_span, NULL);
	send_and_destroy(rq);
}

/* The trace learns the outcome: the last attempt's tokens and finish reason (GenAI
 * conventions), the root's status; the record's span starts. */
static void trace_outcome(struct hr_req *rq, const struct hr_usage *u, int status)
{
	struct hr_trace *t = rq->trace;
	if (!t)
		return;
	int a = hr_trace_attempt(t);
	const char *model = u ? (u->model_used ? u->model_used : u->model_asked) : NULL;
	model = hr_metrics_bound_model(rq->conf, model);
	if (a >= 0 && u) {
		const struct hr_conf_model *m =
		    u->model_used ? hr_conf_model_find(rq->conf, u->model_used, strlen(u->model_used))
		                  : NULL;
		if (m)
			hr_trace_str(t, a, "gen_ai.response.model", m->upstream);
		hr_trace_int(t, a, "gen_ai.usage.input_tokens", u->prompt_tokens);
		hr_trace_int(t, a, "gen_ai.usage.output_tokens", u->completion_tokens);
		hr_trace_strs(t, a, "gen_ai.response.finish_reasons", u->finish_reason);
	}
	hr_trace_attempt_end(t, u && !u->error_code ? 200 : 0, u ? u->error_code : NULL);
	hr_trace_int(t, 0, "http.response.status_code", status);
	hr_trace_str(t, 0, "hearth.model", model);
	if (u) {
		hr_trace_str(t, 0, "gen_ai.request.model", hr_metrics_bound_model(rq->conf, u->model_asked));
		hr_trace_str(t, 0, "hearth.task", u->task);
		hr_trace_str(t, 0, "hearth.route", u->route);
		hr_trace_int(t, 0, "gen_ai.usage.input_tokens", u->prompt_tokens);
		hr_trace_int(t, 0, "gen_ai.usage.output_tokens", u->completion_tokens);
		hr_trace_dbl(t, 0, "hearth.cost_usd", u->cost_usd);
	}
	if (status >= 500) /* the root ends with the request, after the record */
		hr_trace_span_fail(t, 0, u && u->error_code ? u->error_code : "server error");
	rq->rec_span = u ? hr_trace_span(t, "record", HR_SPAN_INTERNAL) : -1;
}

/* Writer thread: hop back to the request's loop. */
static void on_committed(void *arg, int rc)
{
	struct hr_req *rq = arg;
	if (rc < 0) {
		hr_metrics_record_failed();
		HR_RLOG_ERROR(rq->id, STORE, "usage record not stored: %s", hr_err_name(rc));
	}
	if (hr_worker_post(rq->w, on_committed_loop, rq) < 0)
		HR_RLOG_ERROR(rq->id, HTTP, "out of memory; request abandoned");
}

/* Answers cap: the largest JSON answer built in memory (a listing, an explanation). */
#define HR_REQ_JSON_MAX (64u * 1024 * 1024)

void hr_req_json(struct hr_req *rq, int status, json_t *j)
{
	struct hr_buf b = HR_BUF_INIT(HR_REQ_JSON_MAX);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!s || hr_buf_addstr(&b, s) < 0 || hr_buf_addch(&b, '\n') < 0) {
		free(s);
		hr_buf_release(&b);
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	free(s);
	hr_req_respond(rq, status, "application/json", &b);
}

static const char *method_name(struct evhttp_request *ev)
{
	switch (evhttp_request_get_command(ev)) {
	case EVHTTP_REQ_GET: return "GET";
	case EVHTTP_REQ_POST: return "POST";
	case EVHTTP_REQ_HEAD: return "HEAD";
	case EVHTTP_REQ_PUT: return "PUT";
	case EVHTTP_REQ_DELETE: return "DELETE";
	case EVHTTP_REQ_PATCH: return "PATCH";
	case EVHTTP_REQ_OPTIONS: return "OPTIONS";
	default: return "other";
	}
}

/* The request is answered: its metrics and its request log line (u NULL: an endpoint
 * without usage records, which counts in no request metric). Probes answered 200 (health,
 * readiness, scrapes) are not logged, or they would drown the log. */
static void observe(struct hr_req *rq, const struct hr_usage *u, int status, int64_t now)
{
	const struct hr_conf *c = rq->conf;
	const char *model = u ? (u->model_used ? u->model_used : u->model_asked) : NULL;
	if (u) {
		struct hr_metrics_req m = {
		    .model = hr_metrics_bound_model(c, model),
		    .provider = hr_metrics_bound_provider(c, u->provider),
		    .task = hr_metrics_bound_task(c, u->task),
		    .origin = u->origin,
		    .status = u->status,
		    .input_tokens = u->prompt_tokens,
		    .output_tokens = u->completion_tokens,
		    .cost_usd = u->cost_usd,
		    .latency_s = (double)(now - rq->t0_us) / 1e6,
		    .ttfb_s = u->ttfb_ms >= 0 ? (double)(rq->ttfb_us - rq->t0_us) / 1e6 : -1,
		};
		hr_metrics_request(&m);
	}
	if (!c->log.requests || HR_LOG_LVL_INFO > hr_log_level_cur)
		return;
	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(rq->ev));
	if (!u && status == 200 && evhttp_request_get_command(rq->ev) != EVHTTP_REQ_POST)
		return;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct hr_reqlog l = {
	    .ts_ms = u ? u->ts_ms : (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	    .request_id = rq->id,
	    .method = method_name(rq->ev),
	    .path = path ? path : "/",
	    .status = u ? u->status : status,
	    .model = model ? hr_metrics_bound_model(c, model) : NULL,
	    .provider = u ? u->provider : NULL,
	    .task = u ? u->task : NULL,
	    .route = u ? u->route : NULL,
	    .origin = rq->origin,
	    .error = u ? u->error_code : NULL,
	    .finish_reason = u ? u->finish_reason : NULL,
	    .latency_ms = (now - rq->t0_us) / 1000,
	    .ttfb_ms = u ? u->ttfb_ms : rq->ttfb_us ? (rq->ttfb_us - rq->t0_us) / 1000 : -1,
	    .input_tokens = u ? u->prompt_tokens : 0,
	    .output_tokens = u ? u->completion_tokens : 0,
	    .cost_usd = u ? u->cost_usd : 0,
	    .attempts = u ? u->attempts : 0,
	    .stream = u ? u->stream : -1,
	};
	struct hr_buf b = HR_BUF_INIT(8192);
	if (hr_reqlog_format(&l, &b) == 0)
		hr_log_line(HR_LOG_LVL_INFO, b.ptr, b.len);
	hr_buf_release(&b);
}

void hr_req_respond(struct hr_req *rq, int status, const char *ctype, struct hr_buf *body)
{
	rq->finishing = true;
	rq->on_client_gone = NULL;
	if (rq->limits) /* before any byte: the next request sees what this one cost */
		hr_api_limits_settle(rq);
	rq->status = status;
	if (body && body->len) {
		rq->body = evbuffer_new();
		if (rq->body &&
		    evbuffer_add_reference(rq->body, body->ptr, body->len, free_cb, NULL) == 0)
			body->ptr = NULL;
		hr_buf_release(body);
	} else if (body) {
		hr_buf_release(body);
	}
	if (!rq->started) {
		hr_req_header(rq, "Content-Type", ctype ? ctype : "application/json");
		add_date(rq);
	}
	int64_t now = hr_now_us();
	if (!rq->ttfb_us)
		rq->ttfb_us = now;
	struct hr_usage *u = rq->usage;
	if (!u) {
		observe(rq, NULL, status, now);
		send_and_destroy(rq);
		return;
	}
	rq->usage = NULL;
	/* the status the client saw: a stream that fails after its start is still a 200,
	 * and its error_code says what went wrong */
	u->status = rq->client_gone ? 499 : rq->started ? 200 : status;
	u->latency_ms = (now - rq->t0_us) / 1000;
	u->ttfb_ms = rq->started || !rq->client_gone ? (rq->ttfb_us - rq->t0_us) / 1000 : -1;
	if (rq->client_gone && !u->error_code)
		hr_usage_set(&u->error_code, hr_err_code(HR_ECANCELED));
	observe(rq, u, status, now);
	trace_outcome(rq, u, u->status);
	if (hr_usage_submit(rq->api->writer, u, on_committed, rq) < 0) {
		hr_metrics_record_failed();
		HR_RLOG_ERROR(rq->id, STORE, "usage writer is stopping; record lost");
		hr_usage_free(u);
		send_and_destroy(rq);
	}
}

void hr_req_error(struct hr_req *rq, int err, const char *msg, const char *param)
{
	struct hr_buf b = HR_BUF_INIT(64 * 1024);
	if (!msg)
		msg = hr_err_msg(err);
	if (hr_render_error(rq->dialect, err, msg, param, &b) < 0) { /* send the table's own */
		hr_buf_reset(&b);
		(void)hr_render_error(rq->dialect, err, hr_err_msg(err), NULL, &b);
	}
	if (rq->usage && !rq->usage->error_code)
		hr_usage_set(&rq->usage->error_code, hr_err_code(err));
	if (err == HR_ENOMODEL || err == HR_EAUTH || err == HR_EBADJSON || err == HR_EINVAL)
		HR_RLOG_INFO(rq->id, HTTP, "%d %s", hr_err_status(err), hr_err_code(err));
	else
		HR_RLOG_WARN(rq->id, HTTP, "%d %s: %s", hr_err_status(err), hr_err_code(err), msg);
	hr_req_respond(rq, hr_render_error_status(rq->dialect, err), "application/json", &b);
}

int hr_req_stream_start(struct hr_req *rq, const char *ctype)
{
	if (rq->started)
		return hr_req_connected(rq) ? 0 : HR_ECANCELED;
	if (!hr_req_connected(rq))
		return HR_ECANCELED;
	hr_req_header(rq, "Content-Type", ctype);
	hr_req_header(rq, "Cache-Control", "no-cache");
	add_date(rq);
	evhttp_send_reply_start(rq->ev, 200, "OK");
	rq->started = true;
	rq->ttfb_us = hr_now_us();
	return 0;
}

/* libevent: the connection's output buffer is empty again */
static void on_written(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	struct hr_req *rq = arg;
	if (!rq->congested)
		return;
	rq->congested = false;
	if (rq->on_drained && !rq->finishing)
		rq->on_drained(rq);
}

int hr_req_stream_send(struct hr_req *rq, const char *p, size_t n)
{
	if (!hr_req_connected(rq))
		return HR_ECANCELED;
	if (n == 0) /* an empty chunk would end the chunked body */
		return 0;
	struct evbuffer *b = evbuffer_new();
	if (!b)
		return HR_ENOMEM;
	evbuffer_add(b, p, n);
	evhttp_send_reply_chunk_with_cb(rq->ev, b, on_written, rq);
	evbuffer_free(b);
	struct evhttp_connection *evcon = evhttp_request_get_connection(rq->ev);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(evcon) : NULL;
	if (bev && evbuffer_get_length(bufferevent_get_output(bev)) > HR_STREAM_HIGH_WATER)
		rq->congested = true;
	return rq->congested ? 1 : 0;
}
