/* admin.c - the identity admin API: /api/v1/users, /api/v1/teams, /api/v1/keys and their
 * "/<id>": list (cursor pages), create, read, change, and delete (a key: revoke; a user:
 * disable). Every object is checked against the caller (rq->ident): what a caller may not
 * see answers 404 as if it did not exist; what it sees but may not change answers 403.
 * Every change is an audit event written in the change's own transaction. Also the web
 * sign-in: /api/v1/auth/login (a session cookie and its CSRF token), logout and me. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/err.h"
#include "core/log.h"
#include "governance/ident.h"
#include "storage/store.h"

#define ADMIN_PAGE_DEFAULT 50
#define ADMIN_PAGE_MAX     200
#define ADMIN_MAX_LIST     256  /* names in an allow-list */
#define ADMIN_MAX_META     4096 /* bytes of a key's metadata, as compact JSON */
#define ADMIN_MAX_NAME     200  /* bytes of a name or an email */
#define ADMIN_MIN_PASSWORD 12   /* characters */

/* ---- answering ---- */

static bool can_read_all(const struct hr_req *rq)
{
	return rq->ident.role == HR_UROLE_ADMIN || rq->ident.role == HR_UROLE_AUDITOR;
}

static void denied(struct hr_req *rq, const char *what)
{
	hr_req_error(rq, HR_EDENIED,
	             hr_arena_printf(rq->arena, "role %s may not %s; ask an admin",
	                             hr_urole_name(rq->ident.role), what),
	             NULL);
}

static void not_found(struct hr_req *rq, const char *kind)
{
	hr_req_error(rq, HR_ENOTFOUND,
	             hr_arena_printf(rq->arena, "no %s '%s' (or not visible to this key)", kind,
	                             rq->path_id),
	             NULL);
}

/* A store error as the answer. */
static void store_error(struct hr_req *rq, int rc, const char *conflict_msg)
{
	hr_req_error(rq, rc, rc == HR_ECONFLICT ? conflict_msg : NULL, NULL);
}

static json_t *time_or_null(int64_t ms)
{
	char t[32];
	if (!ms)
		return json_null();
	hr_ident_rfc3339(ms, t);
	return json_string(t);
}

static json_t *json_text_or_null(const char *s)
{
	json_t *j = s ? json_loads(s, 0, NULL) : NULL;
	return j ? j : json_null();
}

static json_t *obj_json(enum hr_obj_kind kind, const void *obj)
{
	if (kind == HR_OBJ_TEAM) {
		const struct hr_team *t = obj;
		return json_pack("{s:s, s:s, s:s?, s:o}", "id", t->id, "object", "team", "name",
		                 t->name, "created_at", time_or_null(t->created_ms));
	}
	if (kind == HR_OBJ_USER) {
		const struct hr_user *u = obj;
		return json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:b, s:b}", "id", u->id,
		                 "object", "user", "name", u->name, "email", u->email, "role",
		                 u->role, "team_id", u->team_id, "created_at",
		                 time_or_null(u->created_ms), "disabled", u->disabled,
		                 "has_password", u->password_hash != NULL);
	}
	const struct hr_apikey *k = obj;
	char prefix[32];
	snprintf(prefix, sizeof prefix, "hk_%s", k->prefix ? k->prefix : "");
	return json_pack(
	    "{s:s, s:s, s:s?, s:s, s:s?, s:s?, s:s?, s:o, s:o, s:o, s:o, s:o, s:o, "
	    "s:o}",
	    "id", k->id, "object", "api_key", "name", k->name, "prefix", prefix, "user_id",
	    k->user_id, "team_id", k->team_id, "role", k->role, "expires_at",
	    time_or_null(k->expires_ms), "allowed_models", json_text_or_null(k->allowed_models),
	    "allowed_tasks", json_text_or_null(k->allowed_tasks), "metadata",
	    json_text_or_null(k->metadata), "created_at", time_or_null(k->created_ms), "revoked_at",
	    time_or_null(k->revoked_ms), "last_used_at", time_or_null(k->last_used_ms));
}

/* ---- reading ---- */

/* One object copied into the request's arena. */
struct one {
	struct hr_arena *a;
	bool found;
	union {
		struct hr_team t;
		struct hr_user u;
		struct hr_apikey k;
	};
};

#define DUP(f) (x->f = x->f ? hr_arena_strdup(o->a, x->f) : NULL)

static int one_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct one *o = arg;
	o->found = true;
	if (kind == HR_OBJ_TEAM) {
		struct hr_team *x = &o->t;
		*x = *(const struct hr_team *)obj;
		DUP(id), DUP(name);
	} else if (kind == HR_OBJ_USER) {
		struct hr_user *x = &o->u;
		*x = *(const struct hr_user *)obj;
		DUP(id), DUP(name), DUP(email), DUP(role), DUP(team_id), DUP(password_hash);
	} else {
		struct hr_apikey *x = &o->k;
		*x = *(const struct hr_apikey *)obj;
		DUP(id), DUP(name), DUP(prefix), DUP(hash), DUP(user_id), DUP(team_id), DUP(role);
		DUP(allowed_models), DUP(allowed_tasks), DUP(metadata);
	}
	return 0;
}

/* What the caller may see of kind: the filter's scope (admin and auditor: everything). */
static void scope(const struct hr_req *rq, enum hr_obj_kind kind, struct hr_obj_filter *f)
{
	const struct hr_ident *id = &rq->ident;
	if (can_read_all(rq))
		return;
	if (kind == HR_OBJ_USER)
		f->only_id = id->user_id ? id->user_id : "-";
	else if (kind == HR_OBJ_TEAM)
		f->only_id = id->team_id ? id->team_id : "-";
	else {
		f->own_user = id->user_id ? id->user_id : "-";
		f->own_team = id->role == HR_UROLE_DEVELOPER ? id->team_id : NULL;
	}
}

/* The object id of kind if the caller may see it. Returns 0 (o->found says), or HR_EIO. */
static int fetch(struct hr_req *rq, enum hr_obj_kind kind, const char *id, bool scoped,
                 struct one *o)
{
	struct hr_obj_filter f = {.limit = 1};
	memset(o, 0, sizeof *o);
	o->a = rq->arena;
	if (scoped)
		scope(rq, kind, &f);
	if (f.only_id && strcmp(f.only_id, id) != 0)
		return 0;
	f.only_id = id;
	return rq->api->store->ops->obj_list(rq->api->store, kind, &f, one_cb, o);
}

struct page {
	json_t *data;
	enum hr_obj_kind kind;
	int n, limit;
	char last[HR_ID_CAP];
};

static int page_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct page *p = arg;
	if (p->n++ >= p->limit)
		return 0; /* the one past the page: there is a next page */
	const char *id = kind == HR_OBJ_TEAM   ? ((const struct hr_team *)obj)->id
	                 : kind == HR_OBJ_USER ? ((const struct hr_user *)obj)->id
	                                       : ((const struct hr_apikey *)obj)->id;
	snprintf(p->last, sizeof p->last, "%s", id);
	return json_array_append_new(p->data, obj_json(kind, obj)) == 0 ? 0 : HR_ENOMEM;
}

static void list(struct hr_req *rq, enum hr_obj_kind kind)
{
	struct evkeyvalq q;
	const char *query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->ev));
	struct hr_obj_filter f = {0};
	struct page p = {.kind = kind, .limit = ADMIN_PAGE_DEFAULT};
	memset(&q, 0, sizeof q);
	TAILQ_INIT(&q);
	if (query && evhttp_parse_query_str(query, &q) != 0) {
		hr_req_error(rq, HR_EINVAL, "the query string does not parse", NULL);
		return;
	}
	const char *lim = evhttp_find_header(&q, "limit");
	const char *after = evhttp_find_header(&q, "after");
	if (lim) {
		char *end;
		long v = strtol(lim, &end, 10);
		if (*end || v < 1 || v > ADMIN_PAGE_MAX) {
			evhttp_clear_headers(&q);
			hr_req_error(
			    rq, HR_EINVAL,
			    hr_arena_printf(rq->arena, "limit must be 1 to %d", ADMIN_PAGE_MAX),
			    "limit");
			return;
		}
		p.limit = (int)v;
	}
	f.after = after ? hr_arena_strdup(rq->arena, after) : NULL;
	evhttp_clear_headers(&q);
	f.limit = p.limit + 1;
	scope(rq, kind, &f);
	if (!(p.data = json_array())) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	int rc = rq->api->store->ops->obj_list(rq->api->store, kind, &f, page_cb, &p);
	if (rc < 0) {
		json_decref(p.data);
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	hr_req_json(rq, 200,
	            json_pack("{s:o, s:o}", "data", p.data, "next",
	                      p.n > p.limit ? json_string(p.last) : json_null()));
}

/* ---- writing ---- */

static void decref_cb(void *j)
{
	json_decref(j);
}

/* The request body as a JSON object (freed with the arena), or NULL after answering. */
static json_t *body_object(struct hr_req *rq)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	json_error_t je;
	json_t *j = json_loadb(p ? p : "", len, JSON_REJECT_DUPLICATES, &je);
	if (!json_is_object(j)) {
		json_decref(j);
		hr_req_error(rq, HR_EBADJSON, "the body must be a JSON object", NULL);
		return NULL;
	}
	if (hr_arena_defer(rq->arena, decref_cb, j) < 0) {
		json_decref(j);
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return NULL;
	}
	return j;
}

/* The body as an object whose keys are all among fields (NULL-terminated), or NULL after
 * answering 400 naming the unknown field and the ones an `what` has. */
static json_t *body_with(struct hr_req *rq, const char *what, const char *const *fields)
{
	json_t *body = body_object(rq);
	const char *k;
	json_t *v;
	json_object_foreach(body, k, v)
	{
		size_t i = 0;
		while (fields[i] && strcmp(fields[i], k) != 0)
			i++;
		if (fields[i])
			continue;
		struct hr_buf names = HR_BUF_INIT(1024);
		for (i = 0; fields[i]; i++)
			(void)hr_buf_addf(&names, "%s%s", i ? ", " : "", fields[i]);
		hr_req_error(rq, HR_EINVAL,
		             hr_arena_printf(rq->arena, "unknown field '%s'; %s has: %s", k, what,
		                             names.ptr ? names.ptr : "?"),
		             hr_arena_strdup(rq->arena, k));
		hr_buf_release(&names);
		return NULL;
	}
	return body;
}

/* A string field: absent (returns 0, *out untouched), null (*out NULL when nullable), or a
 * string of 1..ADMIN_MAX_NAME bytes. Returns 0 or HR_EINVAL (answered). */
static int str_field(struct hr_req *rq, json_t *body, const char *name, bool nullable,
                     const char **out)
{
	json_t *v = json_object_get(body, name);
	if (!v)
		return 0;
	if (json_is_null(v) && nullable) {
		*out = NULL;
		return 0;
	}
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > ADMIN_MAX_NAME) {
		hr_req_error(rq, HR_EINVAL,
		             hr_arena_printf(rq->arena, "%s must be a string of 1 to %d bytes%s",
		                             name, ADMIN_MAX_NAME, nullable ? " (or null)" : ""),
		             name);
		return HR_EINVAL;
	}
	*out = hr_arena_strdup(rq->arena, s);
	return 0;
}

static int role_field(struct hr_req *rq, json_t *body, const char **out)
{
	const char *r = NULL;
	if (str_field(rq, body, "role", false, &r) < 0)
		return HR_EINVAL;
	if (r && hr_urole_parse(r) < 0) {
		hr_req_error(rq, HR_EINVAL,
		             hr_arena_printf(rq->arena,
		                             "unknown role '%s'; the roles are admin, developer, "
		                             "member, auditor",
		                             r),
		             "role");
		return HR_EINVAL;
	}
	if (r)
		*out = r;
	return 0;
}

/* An RFC 3339 UTC time ("2027-01-31T00:00:00Z") or null (0). */
static int time_field(struct hr_req *rq, json_t *body, const char *name, int64_t *out)
{
	json_t *v = json_object_get(body, name);
	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = 0;
		return 0;
	}
	const char *s = json_string_value(v);
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end || strcmp(end, "Z") != 0) {
		hr_req_error(rq, HR_EINVAL,
		             hr_arena_printf(rq->arena,
		                             "%s must be an RFC 3339 UTC time such as "
		                             "\"2027-01-31T00:00:00Z\", or null",
		                             name),
		             name);
		return HR_EINVAL;
	}
	*out = (int64_t)timegm(&tm) * 1000;
	return 0;
}

/* An allow-list: null (no limit) or an array of up to ADMIN_MAX_LIST names, kept as compact
 * JSON text in the arena. */
static int list_field(struct hr_req *rq, json_t *body, const char *name, const char **out)
{
	json_t *v = json_object_get(body, name);
	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	bool ok = json_is_array(v) && json_array_size(v) <= ADMIN_MAX_LIST;
	size_t i;
	json_t *x;
	json_array_foreach(v, i, x) ok = ok && json_is_string(x) && json_string_length(x) &&
	                                 json_string_length(x) <= ADMIN_MAX_NAME;
	char *s = ok ? json_dumps(v, JSON_COMPACT) : NULL;
	if (!s) {
		hr_req_error(rq, ok ? HR_ENOMEM : HR_EINVAL,
		             ok ? NULL
		                : hr_arena_printf(rq->arena,
		                                  "%s must be an array of model or task names, or "
		                                  "null for no limit",
		                                  name),
		             name);
		return HR_EINVAL;
	}
	*out = hr_arena_strdup(rq->arena, s);
	free(s);
	return 0;
}

static int meta_field(struct hr_req *rq, json_t *body, const char **out)
{
	json_t *v = json_object_get(body, "metadata");
	if (!v)
		return 0;
	if (json_is_null(v)) {
		*out = NULL;
		return 0;
	}
	char *s = json_is_object(v) ? json_dumps(v, JSON_COMPACT) : NULL;
	if (!s || strlen(s) > ADMIN_MAX_META) {
		free(s);
		hr_req_error(rq, HR_EINVAL,
		             hr_arena_printf(rq->arena,
		                             "metadata must be a JSON object of at most %d bytes",
		                             ADMIN_MAX_META),
		             "metadata");
		return HR_EINVAL;
	}
	*out = hr_arena_strdup(rq->arena, s);
	free(s);
	return 0;
}

/* Writes obj with its audit event, then answers it (status) or the error. */
static void put_and_reply(struct hr_req *rq, enum hr_obj_kind kind, const void *obj, bool update,
                          const char *action, const char *object, const char *detail, int status,
                          json_t *extra, const char *conflict_msg)
{
	struct hr_audit_event ev = {.ts_ms = hr_ident_now_ms(),
	                            .actor = hr_ident_actor(&rq->ident),
	                            .action = action,
	                            .object = object,
	                            .detail = detail};
	int rc = rq->api->store->ops->obj_put(rq->api->store, kind, obj, update, &ev);
	if (rc < 0) {
		json_decref(extra);
		store_error(rq, rc, conflict_msg);
		return;
	}
	HR_RLOG_INFO(rq->id, POLICY, "%s '%s' by '%s'", action, object, ev.actor);
	json_t *j = obj_json(kind, obj);
	if (j && extra)
		json_object_update(j, extra);
	json_decref(extra);
	hr_req_json(rq, status, j);
}

/* A team id given in a body exists. Returns 0, or HR_EINVAL answered. */
static int team_exists(struct hr_req *rq, const char *team_id)
{
	struct one o;
	if (!team_id)
		return 0;
	if (fetch(rq, HR_OBJ_TEAM, team_id, false, &o) == 0 && o.found)
		return 0;
	hr_req_error(
	    rq, HR_EINVAL,
	    hr_arena_printf(rq->arena, "no team '%s'; list them with GET /api/v1/teams", team_id),
	    "team_id");
	return HR_EINVAL;
}

/* ---- teams ---- */

static void team_write(struct hr_req *rq, struct one *cur)
{
	static const char *const fields[] = {"name", NULL};
	json_t *body = body_with(rq, "a team", fields);
	if (!body)
		return;
	struct hr_team t = cur ? cur->t : (struct hr_team){0};
	if (str_field(rq, body, "name", false, &t.name) < 0)
		return;
	if (!t.name) {
		hr_req_error(rq, HR_EINVAL, "name is required", "name");
		return;
	}
	char id[HR_ID_CAP];
	if (!cur) {
		hr_id_new("team_", id, sizeof id);
		t.id = id;
		t.created_ms = hr_ident_now_ms();
	}
	put_and_reply(rq, HR_OBJ_TEAM, &t, cur != NULL, cur ? "team.update" : "team.create", t.id,
	              hr_arena_printf(rq->arena, "name '%s'", t.name), cur ? 200 : 201, NULL,
	              "a team of that id exists");
}

static void team_remove(struct hr_req *rq, struct one *o)
{
	struct hr_audit_event ev = {.ts_ms = hr_ident_now_ms(),
	                            .actor = hr_ident_actor(&rq->ident),
	                            .action = "team.delete",
	                            .object = o->t.id,
	                            .detail = hr_arena_printf(rq->arena, "name '%s'", o->t.name)};
	int rc = rq->api->store->ops->obj_delete(rq->api->store, HR_OBJ_TEAM, o->t.id, &ev);
	if (rc < 0) {
		store_error(rq, rc, "the team still has users or keys; move or remove them first");
		return;
	}
	hr_req_json(rq, 200,
	            json_pack("{s:s, s:s, s:b}", "id", o->t.id, "object", "team", "deleted", 1));
}

/* ---- users ---- */

/* A user other than an admin changing its own profile (users_may): its name, and its
 * password given the current one (a first password is an admin's to set, so that a key
 * cannot turn itself into a sign-in). Returns 0, or an error answered. */
static int self_change(struct hr_req *rq, struct one *cur, json_t *body)
{
	const char *k, *current = NULL;
	json_t *v;
	json_object_foreach(body, k, v)
	{
		if (strcmp(k, "name") != 0 && strcmp(k, "password") != 0 &&
		    strcmp(k, "current_password") != 0) {
			hr_req_error(
			    rq, HR_EDENIED,
			    "you may change your name and your password only; ask an admin "
			    "for the rest",
			    hr_arena_strdup(rq->arena, k));
			return HR_EDENIED;
		}
	}
	if (!json_object_get(body, "password"))
		return 0;
	if (!cur->u.password_hash) {
		hr_req_error(rq, HR_EDENIED, "a first password is set by an admin", "password");
		return HR_EDENIED;
	}
	if (str_field(rq, body, "current_password", false, &current) < 0)
		return HR_EINVAL;
	if (!current ||
	    crypto_pwhash_str_verify(cur->u.password_hash, current, strlen(current)) != 0) {
		hr_req_error(rq, HR_EDENIED, "current_password is missing or wrong",
		             "current_password");
		return HR_EDENIED;
	}
	return 0;
}

static void user_write(struct hr_req *rq, struct one *cur)
{
	static const char *const fields[] = {
	    "name", "email", "role", "team_id", "password", "current_password", "disabled", NULL};
	json_t *body = body_with(rq, "a user", fields);
	if (!body || (rq->ident.role != HR_UROLE_ADMIN && self_change(rq, cur, body) < 0))
		return;
	struct hr_user u = cur ? cur->u : (struct hr_user){.role = "member"};
	const char *password = NULL;
	if (str_field(rq, body, "name", false, &u.name) < 0 ||
	    str_field(rq, body, "email", true, &u.email) < 0 || role_field(rq, body, &u.role) < 0 ||
	    str_field(rq, body, "team_id", true, &u.team_id) < 0 ||
	    str_field(rq, body, "password", false, &password) < 0 || team_exists(rq, u.team_id) < 0)
		return;
	json_t *dis = json_object_get(body, "disabled");
	if (dis && !json_is_boolean(dis)) {
		hr_req_error(rq, HR_EINVAL, "disabled must be true or false", "disabled");
		return;
	}
	if (dis)
		u.disabled = json_is_true(dis);
	if (!u.name) {
		hr_req_error(rq, HR_EINVAL, "name is required", "name");
		return;
	}
	if (u.email && !strchr(u.email, '@')) {
		hr_req_error(rq, HR_EINVAL, "email must be an address", "email");
		return;
	}
	if (cur && u.disabled && rq->ident.user_id && strcmp(u.id, rq->ident.user_id) == 0) {
		hr_req_error(rq, HR_ECONFLICT, "you cannot disable your own user", "disabled");
		return;
	}
	if (password) {
		if (strlen(password) < ADMIN_MIN_PASSWORD) {
			hr_req_error(rq, HR_EINVAL,
			             hr_arena_printf(rq->arena,
			                             "password must hold at least %d characters",
			                             ADMIN_MIN_PASSWORD),
			             "password");
			return;
		}
		char *h = hr_arena_alloc(rq->arena, crypto_pwhash_STRBYTES);
		if (!h || crypto_pwhash_str(h, password, strlen(password),
		                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
		                            crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
		u.password_hash = h;
	}
	char id[HR_ID_CAP];
	if (!cur) {
		hr_id_new("usr_", id, sizeof id);
		u.id = id;
		u.created_ms = hr_ident_now_ms();
	}
	const char *detail =
	    hr_arena_printf(rq->arena, "name '%s', role %s, team %s%s%s", u.name, u.role,
	                    u.team_id ? u.team_id : "-", u.disabled ? ", disabled" : "",
	                    password ? ", password set" : "");
	put_and_reply(rq, HR_OBJ_USER, &u, cur != NULL, cur ? "user.update" : "user.create", u.id,
	              detail, cur ? 200 : 201, NULL, "a user with that email exists");
}

/* DELETE disables: the user stays for the audit trail and its usage; its keys stop. */
static void user_remove(struct hr_req *rq, struct one *o)
{
	if (rq->ident.user_id && strcmp(o->u.id, rq->ident.user_id) == 0) {
		hr_req_error(rq, HR_ECONFLICT, "you cannot disable your own user", NULL);
		return;
	}
	o->u.disabled = true;
	put_and_reply(rq, HR_OBJ_USER, &o->u, true, "user.disable", o->u.id, "disabled", 200, NULL,
	              "conflict");
}

/* ---- keys ---- */

/* Whether list (a JSON array, NULL: no limit) stays within the caller's own limit mine. */
static bool within(const char *mine, const char *list)
{
	if (!mine)
		return true;
	json_t *j = list ? json_loads(list, 0, NULL) : NULL;
	bool ok = json_is_array(j);
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v) ok = ok && hr_ident_allows(mine, json_string_value(v));
	json_decref(j);
	return ok;
}

/* A caller other than an admin makes or changes keys no wider than its own key: within its
 * allow-lists, expiring no later. Returns 0, or HR_EDENIED answered. */
static int no_wider(struct hr_req *rq, const struct hr_apikey *k)
{
	const struct hr_ident *me = &rq->ident;
	const char *what = NULL, *param = NULL;
	if (me->role == HR_UROLE_ADMIN)
		return 0;
	if (!within(me->allowed_models, k->allowed_models))
		what = "use only models of its own allowed_models", param = "allowed_models";
	else if (!within(me->allowed_tasks, k->allowed_tasks))
		what = "use only tasks of its own allowed_tasks", param = "allowed_tasks";
	else if (me->expires_ms && (!k->expires_ms || k->expires_ms > me->expires_ms))
		what = "expire no later than itself", param = "expires_at";
	if (!what)
		return 0;
	hr_req_error(rq, HR_EDENIED,
	             hr_arena_printf(rq->arena,
	                             "a key made or changed with API key '%s' must %s; ask an "
	                             "admin for a wider key",
	                             me->key_id ? me->key_id : "-", what),
	             param);
	return HR_EDENIED;
}

static void key_write(struct hr_req *rq, struct one *cur)
{
	static const char *const fields[] = {"name",          "user_id",    "team_id",
	                                     "role",          "expires_at", "allowed_models",
	                                     "allowed_tasks", "metadata",   NULL};
	const struct hr_ident *me = &rq->ident;
	json_t *body = body_with(rq, "a key", fields);
	if (!body)
		return;
	struct hr_apikey k = cur ? cur->k : (struct hr_apikey){0};
	const char *user_id = NULL, *team_id = NULL, *role = NULL;
	if (str_field(rq, body, "name", true, &k.name) < 0 || role_field(rq, body, &role) < 0 ||
	    time_field(rq, body, "expires_at", &k.expires_ms) < 0 ||
	    list_field(rq, body, "allowed_models", &k.allowed_models) < 0 ||
	    list_field(rq, body, "allowed_tasks", &k.allowed_tasks) < 0 ||
	    meta_field(rq, body, &k.metadata) < 0 ||
	    str_field(rq, body, "user_id", false, &user_id) < 0 ||
	    str_field(rq, body, "team_id", false, &team_id) < 0)
		return;
	if (cur && (user_id || team_id)) {
		hr_req_error(rq, HR_EINVAL, "a key's owner cannot change; create a new key",
		             user_id ? "user_id" : "team_id");
		return;
	}
	/* the owner: a user (the key's team is the user's), or a team; by default the caller */
	enum hr_urole owner_role = HR_UROLE_MEMBER;
	if (!cur) {
		if (user_id && team_id) {
			hr_req_error(rq, HR_EINVAL,
			             "give user_id or team_id, not both: a key belongs to a "
			             "user or to a team",
			             "team_id");
			return;
		}
		if (!user_id && !team_id) {
			if (!me->user_id) {
				hr_req_error(rq, HR_EINVAL,
				             "this caller has no user: give user_id or team_id",
				             "user_id");
				return;
			}
			user_id = me->user_id;
		}
		struct one owner;
		int rc = fetch(rq, user_id ? HR_OBJ_USER : HR_OBJ_TEAM, user_id ? user_id : team_id,
		               false, &owner);
		if (rc < 0) {
			hr_req_error(rq, rc, NULL, NULL);
			return;
		}
		bool mine = me->role == HR_UROLE_ADMIN ||
		            (user_id && me->user_id && strcmp(user_id, me->user_id) == 0) ||
		            (team_id && me->team_id && strcmp(team_id, me->team_id) == 0);
		if (!owner.found || !mine) {
			hr_req_error(rq, HR_EINVAL,
			             hr_arena_printf(rq->arena,
			                             "no %s '%s' for this key to "
			                             "belong to",
			                             user_id ? "user" : "team",
			                             user_id ? user_id : team_id),
			             user_id ? "user_id" : "team_id");
			return;
		}
		if (user_id && owner.u.disabled) {
			hr_req_error(rq, HR_EINVAL, "that user is disabled", "user_id");
			return;
		}
		k.user_id = user_id ? owner.u.id : NULL;
		k.team_id = user_id ? owner.u.team_id : owner.t.id;
		int r = user_id ? hr_urole_parse(owner.u.role) : HR_UROLE_DEVELOPER;
		owner_role = r < 0 ? HR_UROLE_MEMBER : (enum hr_urole)r;
		/* default: a user's key its user's role, as far as the caller may give it; a
		 * team's key member (developer when asked) */
		enum hr_urole def = user_id ? owner_role : HR_UROLE_MEMBER;
		k.role = hr_urole_name(hr_urole_covers(me->role, def) ? def : me->role);
	} else if (cur->k.user_id) {
		struct one owner;
		if (fetch(rq, HR_OBJ_USER, cur->k.user_id, false, &owner) == 0 && owner.found) {
			int r = hr_urole_parse(owner.u.role);
			owner_role = r < 0 ? HR_UROLE_MEMBER : (enum hr_urole)r;
		}
	} else {
		owner_role = HR_UROLE_DEVELOPER;
	}
	if (role) {
		enum hr_urole want = (enum hr_urole)hr_urole_parse(role);
		if (!hr_urole_covers(me->role, want)) {
			hr_req_error(rq, HR_EDENIED,
			             hr_arena_printf(rq->arena,
			                             "role %s may not give a key role %s",
			                             hr_urole_name(me->role), role),
			             "role");
			return;
		}
		if (!hr_urole_covers(owner_role, want)) {
			hr_req_error(
			    rq, HR_EINVAL,
			    hr_arena_printf(rq->arena,
			                    "the key's owner has role %s and cannot hold a key of "
			                    "role %s (a team's keys: developer or member)",
			                    hr_urole_name(owner_role), role),
			    "role");
			return;
		}
		k.role = hr_arena_strdup(rq->arena, role);
	}
	if (no_wider(rq, &k) < 0)
		return;
	const char *detail = hr_arena_printf(
	    rq->arena, "role %s, owner %s%s%s%s", k.role, k.user_id ? k.user_id : k.team_id,
	    k.expires_ms ? ", expires" : "", k.allowed_models ? ", model allow-list" : "",
	    k.allowed_tasks ? ", task allow-list" : "");
	if (cur) {
		put_and_reply(rq, HR_OBJ_KEY, &k, true, "key.update", k.id, detail, 200, NULL,
		              "conflict");
		return;
	}
	char id[HR_ID_CAP], secret[HR_KEY_SECRET_CAP], prefix[HR_KEY_PREFIX_LEN + 1];
	char hash[HR_KEY_HASH_HEX];
	hr_id_new("key_", id, sizeof id);
	hr_ident_key_new(secret, prefix);
	hr_ident_key_hash(rq->api->pepper, secret, strlen(secret), hash);
	k.id = id;
	k.prefix = prefix;
	k.hash = hash;
	k.created_ms = hr_ident_now_ms();
	/* the secret leaves once, in this answer; the store keeps its keyed hash */
	json_t *extra = json_pack("{s:s}", "key", secret);
	sodium_memzero(secret, sizeof secret);
	put_and_reply(rq, HR_OBJ_KEY, &k, false, "key.create", k.id, detail, 201, extra,
	              "a key with that id exists; retry");
}

/* DELETE revokes: the key stays (its usage and audit trail name it) and stops at once. */
static void key_remove(struct hr_req *rq, struct one *o)
{
	if (!o->k.revoked_ms)
		o->k.revoked_ms = hr_ident_now_ms();
	put_and_reply(
	    rq, HR_OBJ_KEY, &o->k, true, "key.revoke", o->k.id,
	    hr_arena_printf(rq->arena, "owner %s", o->k.user_id ? o->k.user_id : o->k.team_id), 200,
	    NULL, "conflict");
}

/* ---- the collections ---- */

static bool admin_only(const struct hr_req *rq, int method)
{
	(void)method;
	return rq->ident.role == HR_UROLE_ADMIN;
}

/* Users: admins; and anyone changing its own profile (self_change says what it may). */
static bool users_may(const struct hr_req *rq, int method)
{
	return rq->ident.role == HR_UROLE_ADMIN ||
	       (method == EVHTTP_REQ_PATCH && rq->path_id && rq->ident.user_id &&
	        strcmp(rq->path_id, rq->ident.user_id) == 0);
}

/* Keys: admins and developers create; what a caller sees it may change, except an auditor;
 * a member only revokes. */
static bool key_may(const struct hr_req *rq, int method)
{
	enum hr_urole r = rq->ident.role;
	if (method == EVHTTP_REQ_POST)
		return r == HR_UROLE_ADMIN || r == HR_UROLE_DEVELOPER;
	return r != HR_UROLE_AUDITOR && (r != HR_UROLE_MEMBER || method == EVHTTP_REQ_DELETE);
}

struct collection {
	enum hr_obj_kind kind;
	const char *one, *many, *remove_verb;              /* "key", "keys", "revoke" */
	bool (*may)(const struct hr_req *rq, int method);  /* POST, PATCH, DELETE */
	void (*write)(struct hr_req *rq, struct one *cur); /* cur NULL: create */
	void (*remove)(struct hr_req *rq, struct one *cur);
};

static const struct collection teams = {HR_OBJ_TEAM, "team",     "teams",    "delete",
                                        admin_only,  team_write, team_remove};
static const struct collection users = {HR_OBJ_USER, "user",     "users",    "disable",
                                        users_may,   user_write, user_remove};
static const struct collection keys = {HR_OBJ_KEY, "key",     "keys",    "revoke",
                                       key_may,    key_write, key_remove};

/* GET lists, POST creates; on "/<id>": GET reads, PATCH changes, DELETE removes. What the
 * caller may not see is 404 before anything else; what it sees but may not change, 403. */
static void serve(struct hr_req *rq, const struct collection *c)
{
	int method = (int)evhttp_request_get_command(rq->ev);
	const char *verb = method == EVHTTP_REQ_POST    ? "create"
	                   : method == EVHTTP_REQ_PATCH ? "change"
	                                                : c->remove_verb;
	struct one o;
	if (!rq->path_id) {
		if (method != EVHTTP_REQ_POST)
			list(rq, c->kind);
		else if (c->may(rq, method))
			c->write(rq, NULL);
		else
			denied(rq, hr_arena_printf(rq->arena, "%s %s", verb, c->many));
		return;
	}
	int rc = fetch(rq, c->kind, rq->path_id, true, &o);
	if (rc < 0)
		hr_req_error(rq, rc, NULL, NULL);
	else if (!o.found)
		not_found(rq, c->one);
	else if (method == EVHTTP_REQ_GET)
		hr_req_json(rq, 200, obj_json(c->kind, &o.t)); /* the union: any kind */
	else if (!c->may(rq, method))
		denied(rq, hr_arena_printf(rq->arena, "%s %s", verb, c->many));
	else if (method == EVHTTP_REQ_PATCH)
		c->write(rq, &o);
	else
		c->remove(rq, &o);
}

void hr_api_teams(struct hr_req *rq)
{
	serve(rq, &teams);
}

void hr_api_users(struct hr_req *rq)
{
	serve(rq, &users);
}

void hr_api_keys(struct hr_req *rq)
{
	serve(rq, &keys);
}

/* ---- web sign-in ---- */

#define SESSION_MS (12 * 3600 * 1000LL) /* a session lasts 12 hours */

/* A password hash that matches nothing, verified when the email is unknown so that a wrong
 * email costs as long as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy(void)
{
	unsigned char pw[16];
	randombytes_buf(pw, sizeof pw);
	if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';
}

/* "hearth_session=…; HttpOnly; SameSite=Strict; Path=/", Secure behind a TLS proxy. */
static void set_cookie(struct hr_req *rq, const char *token, int64_t max_age_s)
{
	const char *proto =
	    evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "X-Forwarded-Proto");
	bool tls = proto && strcmp(proto, "https") == 0;
	hr_req_header(rq, "Set-Cookie",
	              hr_arena_printf(rq->arena,
	                              "hearth_session=%s; Max-Age=%lld; Path=/; HttpOnly; "
	                              "SameSite=Strict%s",
	                              token, (long long)max_age_s, tls ? "; Secure" : ""));
	hr_req_header(rq, "Cache-Control", "no-store");
}

void hr_api_login(struct hr_req *rq)
{
	static const char *const fields[] = {"email", "password", NULL};
	json_t *body = body_with(rq, "a sign-in", fields);
	const char *email = NULL, *password = NULL;
	if (!body || str_field(rq, body, "email", false, &email) < 0 ||
	    str_field(rq, body, "password", false, &password) < 0)
		return;
	if (!email || !password) {
		hr_req_error(rq, HR_EINVAL, "give email and password",
		             email ? "password" : "email");
		return;
	}
	struct one o = {.a = rq->arena};
	struct hr_obj_filter f = {.email = email, .limit = 1};
	struct hr_store *st = rq->api->store;
	int rc = st->ops->obj_list(st, HR_OBJ_USER, &f, one_cb, &o);
	if (rc < 0) {
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	pthread_once(&dummy_once, make_dummy);
	bool usable = o.found && o.u.password_hash && !o.u.disabled;
	bool ok = crypto_pwhash_str_verify(usable ? o.u.password_hash : dummy_hash, password,
	                                   strlen(password)) == 0 &&
	          usable;
	if (!ok) {
		HR_RLOG_INFO(rq->id, POLICY, "sign-in refused");
		hr_req_error(rq, HR_EAUTH, "wrong email or password (or the user is disabled)",
		             NULL);
		return;
	}
	char token[HR_KEY_SECRET_CAP], id[HR_KEY_HASH_HEX], csrf[HR_KEY_HASH_HEX];
	hr_ident_session_new(token);
	hr_ident_session_ids(rq->api->pepper, token, id, csrf);
	int64_t now = hr_ident_now_ms();
	struct hr_session s = {id, o.u.id, now, now + SESSION_MS};
	if ((rc = st->ops->obj_put(st, HR_OBJ_SESSION, &s, false, NULL)) < 0) {
		sodium_memzero(token, sizeof token);
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	HR_RLOG_INFO(rq->id, POLICY, "user '%s' signed in", o.u.id);
	set_cookie(rq, token, SESSION_MS / 1000);
	sodium_memzero(token, sizeof token);
	hr_req_json(rq, 200,
	            json_pack("{s:o, s:s, s:o}", "user", obj_json(HR_OBJ_USER, &o.u), "csrf_token",
	                      csrf, "expires_at", time_or_null(s.expires_ms)));
}

void hr_api_logout(struct hr_req *rq)
{
	if (rq->ident.kind != HR_IDENT_SESSION) {
		hr_req_error(rq, HR_EINVAL, "this request is not signed in with a session cookie",
		             NULL);
		return;
	}
	int rc = rq->api->store->ops->obj_delete(rq->api->store, HR_OBJ_SESSION,
	                                         rq->ident.session_id, NULL);
	if (rc < 0 && rc != HR_ENOTFOUND) {
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	set_cookie(rq, "", 0);
	hr_req_json(rq, 200, json_pack("{s:b}", "signed_out", 1));
}

void hr_api_me(struct hr_req *rq)
{
	const struct hr_ident *id = &rq->ident;
	struct one o = {0};
	if (id->user_id && fetch(rq, HR_OBJ_USER, id->user_id, false, &o) < 0) {
		hr_req_error(rq, HR_EIO, NULL, NULL);
		return;
	}
	static const char *const via[] = {"anonymous", "operator", "key", "session"};
	hr_req_json(rq, 200,
	            json_pack("{s:s, s:s, s:s?, s:s?, s:s?, s:o}", "via", via[id->kind], "role",
	                      hr_urole_name(id->role), "key_id", id->key_id, "user_id", id->user_id,
	                      "team_id", id->team_id, "user",
	                      o.found ? obj_json(HR_OBJ_USER, &o.u) : json_null()));
}
