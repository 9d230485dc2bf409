/* routes.c - the one table of (method, path, handler), the request context's birth, and
 * the checks every request passes first: the route, then the caller (auth). */
#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "api/shadow.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/server.h"
#include "storage/store.h"
#include "telemetry/trace.h"

enum { AUTH_NONE, AUTH_API, AUTH_METRICS /* telemetry.metrics_auth */ };

struct hr_route {
	int methods; /* EVHTTP_REQ_* mask */
	const char *path;
	int auth;
	bool usage; /* the request gets a usage record */
	void (*handler)(struct hr_req *rq);
	enum hr_dialect dialect; /* the shape of its errors */
};

static const struct hr_route routes[] = {
    {EVHTTP_REQ_POST, "/v1/chat/completions", AUTH_API, true, hr_api_chat, HR_DIALECT_OPENAI},
    {EVHTTP_REQ_POST, "/v1/messages", AUTH_API, true, hr_api_messages, HR_DIALECT_ANTHROPIC},
    {EVHTTP_REQ_POST, "/v1/embeddings", AUTH_API, true, hr_api_embeddings, HR_DIALECT_OPENAI},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/v1/models", AUTH_API, false, hr_api_models,
     HR_DIALECT_OPENAI},
    {EVHTTP_REQ_POST, "/v1/feedback", AUTH_API, false, hr_api_feedback, HR_DIALECT_OPENAI},
    {EVHTTP_REQ_POST, "/api/v1/route/explain", AUTH_API, false, hr_api_route_explain,
     HR_DIALECT_OPENAI},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/metrics", AUTH_METRICS, false, hr_api_metrics,
     HR_DIALECT_OPENAI},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/healthz", AUTH_NONE, false, hr_api_healthz,
     HR_DIALECT_OPENAI},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/readyz", AUTH_NONE, false, hr_api_readyz,
     HR_DIALECT_OPENAI},
};

/* Request ids: "req_" and 24 base-36 characters. The first 9 are the time in ms, so ids
 * sort by time and each new usage record lands at the right-hand end of the request_id
 * index (random ids dirtied a random index page per record: more WAL frames per commit and
 * cache misses once the index outgrows SQLite's page cache). The other 15 come from the
 * CSPRNG (about 77 bits): unique and unguessable. The random bytes are drawn in blocks
 * into a per-thread pool, one getrandom per HR_ID_POOL / 15 ids instead of one per id. */
#define HR_ID_TIME_CHARS 9
#define HR_ID_RAND_CHARS 15
#define HR_ID_POOL       (HR_ID_RAND_CHARS * 64)

static void new_id(char *out, size_t cap)
{
	static const char al[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static _Thread_local unsigned char pool[HR_ID_POOL];
	static _Thread_local size_t used = HR_ID_POOL;
	char id[4 + HR_ID_TIME_CHARS + HR_ID_RAND_CHARS + 1] = "req_";
	struct timespec ts;

	if (used + HR_ID_RAND_CHARS > HR_ID_POOL) {
		randombytes_buf(pool, sizeof pool);
		used = 0;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
	for (int i = HR_ID_TIME_CHARS - 1; i >= 0; i--, ms /= 36)
		id[4 + i] = al[ms % 36];
	for (size_t i = 0; i < HR_ID_RAND_CHARS; i++)
		id[4 + HR_ID_TIME_CHARS + i] = al[pool[used + i] % 36];
	sodium_memzero(pool + used, HR_ID_RAND_CHARS); /* each byte is used once */
	used += HR_ID_RAND_CHARS;
	id[sizeof id - 1] = '\0';
	snprintf(out, cap, "%s", id);
}

static bool is_loopback(struct evhttp_request *ev)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(ev);
	char *addr = NULL;
	ev_uint16_t port = 0;
	if (!evcon)
		return false;
	evhttp_connection_get_peer(evcon, &addr, &port);
	if (!addr)
		return false;
	return strncmp(addr, "127.", 4) == 0 || strcmp(addr, "::1") == 0 ||
	       strncmp(addr, "::ffff:127.", 11) == 0;
}

/* Constant-time comparison of the presented key with each configured key: both sides are
 * hashed first so lengths do not leak either. */
static bool key_ok(const struct hr_conf *c, const char *key, size_t len)
{
	unsigned char h[crypto_generichash_BYTES], k[crypto_generichash_BYTES];
	bool ok = false;
	crypto_generichash(h, sizeof h, (const unsigned char *)key, len, NULL, 0);
	for (size_t i = 0; i < c->server.n_api_keys; i++) {
		const char *want = c->server.api_keys[i];
		crypto_generichash(k, sizeof k, (const unsigned char *)want, strlen(want), NULL, 0);
		ok |= sodium_memcmp(h, k, sizeof h) == 0;
	}
	return ok;
}

static int check_auth(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	if (c->server.n_api_keys == 0)
		return is_loopback(rq->ev) ? 0 : HR_EFORBIDDEN;
	struct evkeyvalq *in = evhttp_request_get_input_headers(rq->ev);
	const char *h = evhttp_find_header(in, "Authorization");
	if (!h) { /* Anthropic's SDKs send the key as x-api-key */
		const char *x = evhttp_find_header(in, "x-api-key");
		return x && key_ok(c, x, strlen(x)) ? 0 : HR_EAUTH;
	}
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return HR_EAUTH;
	h += 7;
	while (*h == ' ')
		h++;
	return key_ok(c, h, strlen(h)) ? 0 : HR_EAUTH;
}

void hr_api_handle(struct evhttp_request *ev, struct hr_worker *w)
{
	struct hr_conf *conf = hr_conf_current();
	struct hr_arena *a = hr_arena_create(conf->limits.request_memory_bytes);
	struct hr_req *rq = a ? hr_arena_calloc(a, sizeof *rq) : NULL;
	if (!rq) {
		hr_arena_destroy(a);
		hr_conf_release(conf);
		evhttp_send_error(ev, 503, "out of memory");
		return;
	}
	rq->arena = a;
	rq->ev = ev;
	rq->w = w;
	rq->api = hr_server_user(w->srv);
	rq->conf = conf;
	rq->t0_us = hr_now_us();
	new_id(rq->id, sizeof rq->id);
	w->inflight++;
	hr_req_track_close(rq);
	hr_req_header(rq, "X-Request-Id", rq->id);

	const char *path = evhttp_uri_get_path(evhttp_request_get_evhttp_uri(ev));
	if (!path)
		path = "/";
	int method = (int)evhttp_request_get_command(ev);
	HR_RLOG_DEBUG(rq->id, HTTP, "%s '%s'",
	              method == EVHTTP_REQ_GET    ? "GET"
	              : method == EVHTTP_REQ_POST ? "POST"
	                                          : "other",
	              path);

	const struct hr_route *r = NULL;
	bool path_found = false;
	int allowed = 0;
	for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
		size_t n = strlen(routes[i].path);
		/* tolerate one trailing slash, as OpenAI does */
		if (strncmp(path, routes[i].path, n) != 0 ||
		    (path[n] && strcmp(path + n, "/") != 0))
			continue;
		path_found = true;
		allowed |= routes[i].methods;
		if (routes[i].methods & method) {
			r = &routes[i];
			rq->dialect = r->dialect;
			break;
		}
	}
	if (!r) {
		if (path_found) {
			char allow[64];
			snprintf(allow, sizeof allow, "%s%s%s",
			         (allowed & EVHTTP_REQ_GET) ? "GET, HEAD" : "",
			         (allowed & EVHTTP_REQ_GET) && (allowed & EVHTTP_REQ_POST) ? ", "
			                                                                   : "",
			         (allowed & EVHTTP_REQ_POST) ? "POST" : "");
			hr_req_header(rq, "Allow", allow);
		}
		hr_req_error(rq, path_found ? HR_EMETHOD : HR_ENOTFOUND,
		             hr_arena_printf(a,
		                             path_found ? "method not allowed on '%s'"
		                                        : "no such endpoint '%s'; see docs/api.md",
		                             path),
		             NULL);
		return;
	}
	if (r->usage) {
		rq->usage = hr_usage_new(rq->id);
		if (!rq->usage) {
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
		rq->usage->ts_ms = (int64_t)time(NULL) * 1000;
		struct timespec ts;
		if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
			rq->usage->ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
		hr_usage_set(&rq->usage->endpoint, r->path);
		rq->usage->ttfb_ms = -1;
		rq->rec_span = -1;
		if (conf->telemetry.otlp_endpoint) { /* tracing on: nothing is spent otherwise */
			rq->trace = hr_trace_begin(
			    conf,
			    evhttp_find_header(evhttp_request_get_input_headers(ev), "traceparent"),
			    hr_arena_printf(a, "POST %s", r->path));
			hr_trace_str(rq->trace, 0, "http.request.method", "POST");
			hr_trace_str(rq->trace, 0, "http.route", r->path);
			hr_trace_str(rq->trace, 0, "hearth.request_id", rq->id);
		}
	}
	struct evkeyvalq *hdrs = evhttp_request_get_input_headers(ev);
	const char *internal = evhttp_find_header(hdrs, "X-Hearth-Internal");
	if (internal) { /* hearth's own call (shadow evaluation), from this process */
		if (!is_loopback(ev) || !hr_learn_internal_ok(rq->api->learn, internal)) {
			hr_req_error(rq, HR_EAUTH,
			             "X-Hearth-Internal is for hearth's own calls; remove the header",
			             NULL);
			return;
		}
		const char *o = evhttp_find_header(hdrs, "X-Hearth-Origin");
		const char *p = evhttp_find_header(hdrs, "X-Hearth-Parent");
		const char *t = evhttp_find_header(hdrs, "X-Hearth-Parent-Task");
		rq->origin = o && strcmp(o, "judge") == 0 ? "judge" : "shadow";
		rq->parent_id = p ? hr_arena_strndup(a, p, strnlen(p, 64)) : NULL;
		rq->parent_task = t ? hr_arena_strndup(a, t, strnlen(t, HR_NAME_MAX)) : NULL;
		if (rq->usage && (hr_usage_set(&rq->usage->origin, rq->origin) < 0 ||
		                  hr_usage_set(&rq->usage->parent_id, rq->parent_id) < 0)) {
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
	} else if (r->auth == AUTH_API ||
	           (r->auth == AUTH_METRICS &&
	            !(conf->telemetry.metrics_auth == HR_METRICS_AUTH_NONE ||
	              (conf->telemetry.metrics_auth == HR_METRICS_AUTH_LOOPBACK && is_loopback(ev))))) {
		int rc = check_auth(rq);
		if (rc == HR_EFORBIDDEN) {
			hr_req_error(rq, rc,
			             "without an API key hearth only accepts loopback clients; set "
			             "HEARTH_API_KEY or server.api_keys to accept others",
			             NULL);
			return;
		}
		if (rc < 0) {
			hr_req_error(rq, rc, NULL, NULL);
			return;
		}
	}
	r->handler(rq);
}
