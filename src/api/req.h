/* req.h - one API request: its arena, its config snapshot, its id, its usage record and the
 * one way to answer it. Lives on its worker's thread from the first byte to the last.
 * Invariant: every request is answered exactly once, through hr_req_respond() or
 * hr_req_stream_end(), and then destroyed by them (after its usage record is committed). */
#ifndef HR_REQ_H
#define HR_REQ_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "governance/ident.h"
#include "providers/chat.h"

struct evhttp_request;
struct evbuffer;
struct event;
struct hr_arena;
struct hr_conf;
struct hr_worker;
struct hr_api;
struct hr_usage;
struct hr_req_limits;

struct hr_req {
	struct hr_arena *arena;
	struct evhttp_request *ev; /* the libevent request */
	struct hr_worker *w;
	struct hr_api *api;
	struct hr_conf *conf;    /* a reference, released at the end */
	char id[32];             /* "req_…" */
	enum hr_dialect dialect; /* the API format of the endpoint: errors are shaped by it */
	struct hr_ident ident;   /* the caller, set by the AUTH phase (routes.c) */
	const char *path_id;     /* "/api/v1/keys/<id>": the id (arena), else NULL */
	int64_t t0_us;           /* monotonic start */
	int64_t ttfb_us;         /* monotonic time of the first byte sent; 0 if none */
	bool started;            /* a streamed reply has begun */
	bool finishing;          /* the answer is decided; waiting for the usage commit */
	bool client_gone;
	struct hr_usage *usage; /* NULL for endpoints without records */
	/* the LIMITS phase's reservations (api/limits.h), settled when the answer is decided;
	 * NULL when none */
	struct hr_req_limits *limits;
	/* hearth's own calls (shadow evaluation, X-Hearth-Internal): "shadow" or "judge", the
	 * client request they evaluate and its task; all NULL for a client's request */
	const char *origin, *parent_id, *parent_task;
	/* Set by a handler with work in flight: called once if the client goes away before
	 * the answer is decided; it must end the request (usually hr_req_respond). */
	void (*on_client_gone)(struct hr_req *rq);
	void *state;              /* the handler's */
	struct event *peer_watch; /* hr_req_watch_peer() */
	bool congested;           /* the client has more than HR_STREAM_HIGH_WATER bytes unsent */
	/* Set by a streaming handler: called once the client has taken every byte after
	 * hr_req_stream_send() reported congestion. */
	void (*on_drained)(struct hr_req *rq);
	/* its trace (telemetry/trace.h), or NULL when not traced; rec_span: the usage record's */
	struct hr_trace *trace;
	int rec_span;
	/* what hr_req_respond sends once the record is committed */
	int status;
	struct evbuffer *body;
};

/* Monotonic microseconds. */
int64_t hr_now_us(void);

/* Adds a response header (copied). */
void hr_req_header(struct hr_req *rq, const char *name, const char *value);
/* Answers with status and body (ownership of body's memory passes to the request; body may
 * be NULL). ctype NULL means application/json. For a streamed reply, body is the tail
 * (sent as the last chunk). The usage record, if any, gets status, latency and ttfb and is
 * committed first. The request is destroyed afterwards: do not touch rq again. */
void hr_req_respond(struct hr_req *rq, int status, const char *ctype, struct hr_buf *body);
/* Answers 'status' with j as compact JSON and a newline (j is consumed, even on failure; NULL
 * or a failed encoding answers 500 out_of_memory). */
struct json_t;
void hr_req_json(struct hr_req *rq, int status, struct json_t *j);
/* Answers with an error in the shape of rq->dialect (OpenAI: {"error": {"message", "type",
 * "code", "param"}}; Anthropic: {"type": "error", "error": {"type", "message"}}).
 * msg NULL uses the table's message. Records error_code in the usage record. */
void hr_req_error(struct hr_req *rq, int err, const char *msg, const char *param);
/* Starts a streamed reply (status 200, ctype) if not started. Returns 0 or HR_ECANCELED
 * when the client is gone. */
int hr_req_stream_start(struct hr_req *rq, const char *ctype);
/* Sends one chunk of a streamed reply. Returns 0, 1 when the client is congested (stop
 * producing until rq->on_drained is called), or HR_ECANCELED (client gone). */
int hr_req_stream_send(struct hr_req *rq, const char *p, size_t n);
/* Notices the client's connection closing (libevent's close callback); set at birth. */
void hr_req_track_close(struct hr_req *rq);
/* Watches the client's socket while the answer is prepared, so that a client that hangs up
 * is noticed at once (libevent itself reads nothing until the reply is written): then
 * rq->client_gone is set and rq->on_client_gone runs. Best effort: returns nothing. */
void hr_req_watch_peer(struct hr_req *rq);
/* True while the client is still connected (as far as libevent knows). */
bool hr_req_connected(const struct hr_req *rq);

#endif
