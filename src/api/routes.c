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
#include "governance/ident.h"
#include "http/server.h"
#include "storage/store.h"
#include "telemetry/trace.h"

/* AUTH_API: model endpoints (an anonymous loopback client is a member when no static key is
 * configured); AUTH_ADMIN: a key is always needed; AUTH_METRICS: telemetry.metrics_auth. */
enum { AUTH_NONE, AUTH_API, AUTH_ADMIN, AUTH_METRICS };

struct hr_route {
	int methods; /* EVHTTP_REQ_* mask */
	const char *path;
	int auth;
	bool usage; /* the request gets a usage record (and calls a model) */
	void (*handler)(struct hr_req *rq);
	enum hr_dialect dialect; /* the shape of its errors */
	bool has_id;             /* "<path>/<id>" only, the id in rq->path_id */
};

static const struct hr_route routes[] = {
    {EVHTTP_REQ_POST, "/v1/chat/completions", AUTH_API, true, hr_api_chat, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_POST, "/v1/messages", AUTH_API, true, hr_api_messages, HR_DIALECT_ANTHROPIC, false},
    {EVHTTP_REQ_POST, "/v1/embeddings", AUTH_API, true, hr_api_embeddings, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/v1/models", AUTH_API, false, hr_api_models,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_POST, "/v1/feedback", AUTH_API, false, hr_api_feedback, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_GET, "/api/v1/usage", AUTH_ADMIN, false, hr_api_usage, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_GET, "/api/v1/usage/savings", AUTH_ADMIN, false, hr_api_usage_savings,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_POST, "/api/v1/route/explain", AUTH_API, false, hr_api_route_explain,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/api/v1/users", AUTH_ADMIN, false, hr_api_users,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE, "/api/v1/users", AUTH_ADMIN, false,
     hr_api_users, HR_DIALECT_OPENAI, true},
    {EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/api/v1/teams", AUTH_ADMIN, false, hr_api_teams,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE, "/api/v1/teams", AUTH_ADMIN, false,
     hr_api_teams, HR_DIALECT_OPENAI, true},
    {EVHTTP_REQ_GET | EVHTTP_REQ_POST, "/api/v1/keys", AUTH_ADMIN, false, hr_api_keys,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_PATCH | EVHTTP_REQ_DELETE, "/api/v1/keys", AUTH_ADMIN, false,
     hr_api_keys, HR_DIALECT_OPENAI, true},
    {EVHTTP_REQ_POST, "/api/v1/auth/login", AUTH_NONE, false, hr_api_login, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_POST, "/api/v1/auth/logout", AUTH_ADMIN, false, hr_api_logout, HR_DIALECT_OPENAI,
     false},
    {EVHTTP_REQ_GET, "/api/v1/auth/me", AUTH_ADMIN, false, hr_api_me, HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/metrics", AUTH_METRICS, false, hr_api_metrics,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/healthz", AUTH_NONE, false, hr_api_healthz,
     HR_DIALECT_OPENAI, false},
    {EVHTTP_REQ_GET | EVHTTP_REQ_HEAD, "/readyz", AUTH_NONE, false, hr_api_readyz,
     HR_DIALECT_OPENAI, false},
};

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

/* The presented key: "Authorization: Bearer <key>", or x-api-key (Anthropic's SDKs). Returns
 * the key, "" for an Authorization header of another form, NULL for none. */
static const char *presented_key(struct hr_req *rq)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(rq->ev);
	const char *h = evhttp_find_header(in, "Authorization");
	if (!h)
		return evhttp_find_header(in, "x-api-key");
	if (strncasecmp(h, "Bearer ", 7) != 0)
		return "";
	h += 7;
	while (*h == ' ')
		h++;
	return h;
}

struct found_key {
	struct hr_req *rq;
	int64_t expires_ms, revoked_ms;
	const char *role;
	bool disabled; /* the key's user */
};

static int found_key_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct found_key *f = arg;
	struct hr_arena *a = f->rq->arena;
	struct hr_ident *id = &f->rq->ident;
	if (kind == HR_OBJ_USER) {
		const struct hr_user *u = obj;
		f->disabled = u->disabled;
		int ur = hr_urole_parse(u->role);
		/* a key never does more than its user may do now */
		if (ur < 0 || !hr_urole_covers((enum hr_urole)ur, id->role))
			id->role = ur < 0 ? HR_UROLE_MEMBER : (enum hr_urole)ur;
		return 0;
	}
	const struct hr_apikey *k = obj;
	int r = hr_urole_parse(k->role);
	id->kind = HR_IDENT_KEY;
	id->role = r < 0 ? HR_UROLE_MEMBER : (enum hr_urole)r;
	id->key_id = hr_arena_strdup(a, k->id);
	id->user_id = k->user_id ? hr_arena_strdup(a, k->user_id) : NULL;
	id->team_id = k->team_id ? hr_arena_strdup(a, k->team_id) : NULL;
	id->allowed_models = k->allowed_models ? hr_arena_strdup(a, k->allowed_models) : NULL;
	id->allowed_tasks = k->allowed_tasks ? hr_arena_strdup(a, k->allowed_tasks) : NULL;
	f->expires_ms = id->expires_ms = k->expires_ms;
	f->revoked_ms = k->revoked_ms;
	return id->key_id && (!k->user_id || id->user_id) && (!k->team_id || id->team_id) &&
	               (!k->allowed_models || id->allowed_models) &&
	               (!k->allowed_tasks || id->allowed_tasks)
	           ? 0
	           : HR_ENOMEM;
}

/* A virtual key of the store: a direct lookup of its keyed hash (an index probe on a value
 * an attacker cannot compute without the pepper), then its user. Returns 0 with rq->ident
 * set, or HR_EAUTH/HR_EIO/HR_ENOMEM with *msg. */
static int store_key(struct hr_req *rq, const char *key, const char **msg)
{
	char hash[HR_KEY_HASH_HEX];
	struct found_key f = {.rq = rq};
	hr_ident_key_hash(rq->api->pepper, key, strlen(key), hash);
	int rc = rq->api->store->ops->key_by_hash(rq->api->store, hash, found_key_cb, &f);
	if (rc == HR_ENOTFOUND)
		return HR_EAUTH;
	if (rc == 0 && rq->ident.user_id) {
		struct hr_obj_filter uf = {.only_id = rq->ident.user_id, .limit = 1};
		rc = rq->api->store->ops->obj_list(rq->api->store, HR_OBJ_USER, &uf, found_key_cb,
		                                   &f);
	}
	if (rc < 0) {
		memset(&rq->ident, 0, sizeof rq->ident);
		return rc;
	}
	char when[32];
	int64_t now = hr_ident_now_ms();
	if (f.revoked_ms) {
		*msg = hr_arena_printf(rq->arena,
		                       "API key '%s' was revoked; ask an admin for a new one "
		                       "(hearth keys create)",
		                       rq->ident.key_id);
		rc = HR_EAUTH;
	} else if (f.expires_ms && f.expires_ms <= now) {
		hr_ident_rfc3339(f.expires_ms, when);
		*msg = hr_arena_printf(rq->arena,
		                       "API key '%s' expired at %s; ask an admin for a new one "
		                       "(hearth keys create)",
		                       rq->ident.key_id, when);
		rc = HR_EAUTH;
	} else if (f.disabled) {
		*msg = hr_arena_printf(rq->arena, "the user '%s' of API key '%s' is disabled",
		                       rq->ident.user_id, rq->ident.key_id);
		rc = HR_EAUTH;
	}
	if (rc < 0)
		memset(&rq->ident, 0, sizeof rq->ident);
	return rc;
}

/* The session token of the Cookie header (hearth_session=…), or NULL. Returns: in rq's arena. */
static const char *session_cookie(struct hr_req *rq)
{
	const char *c = evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "Cookie");
	static const char name[] = "hearth_session=";
	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		size_t n = strcspn(c, ";");
		if (n > sizeof name - 1 && strncmp(c, name, sizeof name - 1) == 0)
			return hr_arena_strndup(rq->arena, c + sizeof name - 1,
			                        n - (sizeof name - 1));
		c += n;
	}
	return NULL;
}

struct found_session {
	struct hr_req *rq;
	int64_t expires_ms;
	bool disabled, found;
	const char *user_id, *team_id;
	int role;
};

static int found_session_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct found_session *f = arg;
	if (kind == HR_OBJ_SESSION) {
		const struct hr_session *x = obj;
		f->found = true;
		f->expires_ms = x->expires_ms;
		f->user_id = hr_arena_strdup(f->rq->arena, x->user_id);
	} else {
		const struct hr_user *u = obj;
		f->disabled = u->disabled;
		f->role = hr_urole_parse(u->role);
		f->team_id = u->team_id ? hr_arena_strdup(f->rq->arena, u->team_id) : NULL;
	}
	return 0;
}

/* A web session (the cookie of POST /api/v1/auth/login): its row, then its user. Requests
 * that change something must carry its CSRF token in X-CSRF-Token. Returns 0 with rq->ident
 * set, or an error with *msg. */
static int session_auth(struct hr_req *rq, const char *token, const char **msg)
{
	struct hr_store *st = rq->api->store;
	char id[HR_KEY_HASH_HEX], csrf[HR_KEY_HASH_HEX];
	struct found_session f = {.rq = rq, .role = -1};
	hr_ident_session_ids(rq->api->pepper, token, id, csrf);
	struct hr_obj_filter sf = {.only_id = id, .limit = 1};
	int rc = st->ops->obj_list(st, HR_OBJ_SESSION, &sf, found_session_cb, &f);
	if (rc == 0 && f.found && f.user_id) {
		struct hr_obj_filter uf = {.only_id = f.user_id, .limit = 1};
		rc = st->ops->obj_list(st, HR_OBJ_USER, &uf, found_session_cb, &f);
	}
	if (rc < 0)
		return rc;
	if (f.found && f.expires_ms <= hr_ident_now_ms())
		st->ops->obj_delete(st, HR_OBJ_SESSION, id, NULL);
	if (!f.found || f.expires_ms <= hr_ident_now_ms() || f.disabled || f.role < 0) {
		*msg = "the session expired or was signed out; sign in again (POST "
		       "/api/v1/auth/login)";
		return HR_EAUTH;
	}
	int method = (int)evhttp_request_get_command(rq->ev);
	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		const char *h =
		    evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "X-CSRF-Token");
		if (!h || strlen(h) != HR_KEY_HASH_HEX - 1 ||
		    sodium_memcmp(h, csrf, HR_KEY_HASH_HEX - 1) != 0) {
			*msg = "a signed-in request that changes something needs the X-CSRF-Token "
			       "header (the csrf_token of POST /api/v1/auth/login)";
			return HR_EDENIED;
		}
	}
	rq->ident.kind = HR_IDENT_SESSION;
	rq->ident.role = (enum hr_urole)f.role;
	rq->ident.user_id = f.user_id;
	rq->ident.team_id = f.team_id;
	rq->ident.session_id = hr_arena_strdup(rq->arena, id);
	return 0;
}

/* The AUTH phase: who calls (rq->ident). A static key (server.api_keys, HEARTH_API_KEY) is
 * the operator, role admin; "hk_…" a virtual key of the store. Without a static key
 * configured, a loopback client of the model endpoints may call without a key (anonymous,
 * role member; a key that is not "hk_…" is then ignored, as SDKs always send one). Without
 * a key, a session cookie of a web sign-in identifies its user. The admin API always needs
 * a key or a session. Returns 0 or an error with *msg (NULL: the table's). */
static int check_auth(struct hr_req *rq, int auth, const char **msg)
{
	const struct hr_conf *c = rq->conf;
	const char *key = presented_key(rq);
	*msg = NULL;
	if (key && *key && c->server.n_api_keys && key_ok(c, key, strlen(key))) {
		rq->ident.kind = HR_IDENT_OPERATOR;
		rq->ident.role = HR_UROLE_ADMIN;
		rq->ident.key_id = "operator";
		return 0;
	}
	if (key && strncmp(key, "hk_", 3) == 0 && rq->api && rq->api->store)
		return store_key(rq, key, msg);
	const char *session = key && *key ? NULL : session_cookie(rq);
	if (session && rq->api && rq->api->store)
		return session_auth(rq, session, msg);
	if (c->server.n_api_keys)
		return HR_EAUTH;
	if (auth == AUTH_ADMIN) {
		*msg = "the admin API needs an API key or a web sign-in: send 'Authorization: "
		       "Bearer hk_…' (the first start printed an admin key, or set "
		       "HEARTH_ADMIN_KEY)";
		return HR_EAUTH;
	}
	if (!is_loopback(rq->ev)) {
		*msg = "without an API key hearth only accepts loopback clients; send a key "
		       "(hearth keys create), or set HEARTH_API_KEY or server.api_keys";
		return HR_EFORBIDDEN;
	}
	rq->ident.kind = HR_IDENT_ANON;
	rq->ident.role = HR_UROLE_MEMBER;
	return 0;
}

int hr_api_usage_scope(struct hr_req *rq, char **user, char **key)
{
	/* admins and auditors read everything; anyone else their own records: their user's,
	 * or, for a key that belongs to a team and no user, that key's */
	const struct hr_ident *id = &rq->ident;
	*user = *key = NULL;
	if (id->role == HR_UROLE_ADMIN || id->role == HR_UROLE_AUDITOR)
		return 0;
	const char *v = id->user_id ? id->user_id : id->key_id ? id->key_id : "-";
	char *copy = strdup(v);
	if (!copy)
		return HR_ENOMEM;
	if (id->user_id)
		*user = copy;
	else
		*key = copy;
	return 0;
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
	hr_id_new("req_", rq->id, sizeof rq->id);
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
		const char *id = NULL;
		if (strncmp(path, routes[i].path, n) != 0)
			continue;
		if (routes[i].has_id) { /* "<path>/<id>": one segment shorter than HR_ID_CAP */
			if (path[n] != '/' || !path[n + 1] || strchr(path + n + 1, '/') ||
			    strlen(path + n + 1) >= HR_ID_CAP)
				continue;
			id = path + n + 1;
		} else if (path[n] && strcmp(path + n, "/") != 0) {
			continue; /* tolerate one trailing slash, as OpenAI does */
		}
		path_found = true;
		allowed |= routes[i].methods;
		if (routes[i].methods & method) {
			r = &routes[i];
			rq->path_id = id ? hr_arena_strdup(a, id) : NULL;
			rq->dialect = r->dialect;
			break;
		}
	}
	if (!r) {
		if (path_found) {
			static const struct {
				int m;
				const char *name;
			} ms[] = {{EVHTTP_REQ_GET, "GET"},
			          {EVHTTP_REQ_HEAD, "HEAD"},
			          {EVHTTP_REQ_POST, "POST"},
			          {EVHTTP_REQ_PATCH, "PATCH"},
			          {EVHTTP_REQ_DELETE, "DELETE"}};
			char allow[64] = "";
			for (size_t k = 0; k < sizeof ms / sizeof ms[0]; k++)
				if (allowed & ms[k].m)
					snprintf(allow + strlen(allow),
					         sizeof allow - strlen(allow), "%s%s",
					         allow[0] ? ", " : "", ms[k].name);
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
		rq->ident.kind = HR_IDENT_OPERATOR; /* hearth itself: no user, no team */
		rq->ident.role = HR_UROLE_ADMIN;
		rq->ident.key_id = "router";
		rq->parent_id = p ? hr_arena_strndup(a, p, strnlen(p, 64)) : NULL;
		rq->parent_task = t ? hr_arena_strndup(a, t, strnlen(t, HR_NAME_MAX)) : NULL;
		if (rq->usage && (hr_usage_set(&rq->usage->origin, rq->origin) < 0 ||
		                  hr_usage_set(&rq->usage->parent_id, rq->parent_id) < 0 ||
		                  hr_usage_set(&rq->usage->key_id, "router") < 0)) {
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
	} else if (r->auth != AUTH_NONE &&
	           !(r->auth == AUTH_METRICS &&
	             (conf->telemetry.metrics_auth == HR_METRICS_AUTH_NONE ||
	              (conf->telemetry.metrics_auth == HR_METRICS_AUTH_LOOPBACK && is_loopback(ev))))) {
		const char *msg = NULL;
		int rc = check_auth(rq, r->auth == AUTH_METRICS ? AUTH_API : r->auth, &msg);
		if (rc < 0) {
			hr_req_error(rq, rc, msg, NULL);
			return;
		}
		if (rq->usage && (hr_usage_set(&rq->usage->key_id, rq->ident.key_id) < 0 ||
		                  hr_usage_set(&rq->usage->user_id, rq->ident.user_id) < 0 ||
		                  hr_usage_set(&rq->usage->team_id, rq->ident.team_id) < 0)) {
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
		if (r->usage && rq->ident.role == HR_UROLE_AUDITOR) {
			hr_req_error(rq, HR_EDENIED,
			             "role auditor is read-only and calls no model; use a key of "
			             "role member or developer",
			             NULL);
			return;
		}
	}
	r->handler(rq);
}
