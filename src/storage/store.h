/* store.h - the storage vtable. SQLite is the embedded default; PostgreSQL comes later, so
 * SQL stays portable. Migrations are numbered, compiled in and applied at open. Usage
 * records are written by one writer thread with group commit (usage.h). */
#ifndef HR_STORE_H
#define HR_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* One request's record. Owned by whoever allocated it (hr_usage_new / hr_usage_free). */
struct hr_usage {
	char request_id[40];
	int64_t ts_ms;     /* start, Unix ms */
	char *key_id;      /* API key id ("key_…", "operator") or NULL (anonymous loopback) */
	char *user_id;     /* the key's user, or NULL */
	char *team_id;     /* the key's (or its user's) team, or NULL */
	char *model_asked; /* what the client asked for, or NULL if none parsed */
	char *model_used;  /* the configured model that answered, or NULL */
	char *provider;    /* provider id, or NULL */
	char *endpoint;    /* "/v1/chat/completions" */
	bool stream;
	int64_t prompt_tokens, completion_tokens;
	int64_t cached_tokens, reasoning_tokens;
	bool tokens_estimated; /* true when the provider gave no usage */
	double cost_usd;
	int64_t latency_ms;  /* start to last byte */
	int64_t ttfb_ms;     /* start to first byte to the client; -1 if none */
	int status;          /* HTTP status the client saw */
	char *error_code;    /* OpenAI-style code (hr_err_code) or NULL when ok */
	char *finish_reason; /* NULL if none */
	char *task;          /* the routing task, or NULL (a plain model) */
	char *route;         /* the X-Hearth-Route explanation, or NULL */
	int attempts;        /* provider calls made (retries and fallbacks included) */
	char *policy;        /* the data policy's findings ("card:2,email:1"), never values */
	char *origin;        /* NULL: a client's request; "shadow" or "judge": hearth's own */
	char *parent_id;     /* origin set: the client request it evaluates */
	char *locality;      /* "local" or "cloud": the provider of model_used; NULL none */
	char *reference_model;     /* what savings are measured against (hr_conf_reference) */
	double reference_cost_usd; /* the same tokens at reference_model's prices */
};

/* Strings are copied. Returns: owned, free with hr_usage_free(); NULL on OOM. */
struct hr_usage *hr_usage_new(const char *request_id);
int hr_usage_set(char **field, const char *s); /* copies s (NULL clears); 0 or HR_ENOMEM */
void hr_usage_free(struct hr_usage *u);


/* One event of the audit log: append-only, hash-chained (docs/storage.md). Strings are
 * borrowed by the ops; NULL is stored as the empty string. */
struct hr_audit_event {
	int64_t seq;   /* 1, 2, ...: given by the store */
	int64_t ts_ms; /* Unix ms */
	const char *actor, *action, *object, *detail;
	char prev_hash[65], hash[65]; /* SHA-256, lowercase hex: given by the store */
};
typedef int (*hr_audit_cb)(void *arg, const struct hr_audit_event *ev);

/* What hearth audit verify found: ok, or the first event that breaks the chain. */
struct hr_audit_verdict {
	int64_t events;  /* events checked */
	int64_t bad_seq; /* 0 when the chain holds; else the first seq that does not */
	const char *why; /* static: "edited", "missing or reordered", ... */
};

/* Learning online (docs/router.md): a kept prompt and the scores its answers got. */
struct hr_learn_score {
	const char *model;
	const char *source; /* "judge" or "feedback" */
	double score;       /* 0..1 */
};
#define HR_LEARN_MAX_SCORES 16 /* per sample: more are ignored */
struct hr_learn_sample {
	const char *request_id, *task, *model; /* model: the one that answered the client */
	const char *prompt;                    /* the last user message */
	int64_t ts_ms;
	struct hr_learn_score scores[HR_LEARN_MAX_SCORES];
	size_t n_scores;
};
typedef int (*hr_learn_sample_cb)(void *arg, const struct hr_learn_sample *s);
/* A task whose challenger auto_promote moved first. */
struct hr_promotion {
	const char *task, *model, *detail;
	int64_t ts_ms;
};
typedef int (*hr_promotion_cb)(void *arg, const struct hr_promotion *p);

/* What usage reports group by (storage/report.h). */
enum hr_usage_dim {
	HR_DIM_MODEL,    /* model_used, else model_asked, else "-" */
	HR_DIM_PROVIDER, /* "-" when none answered */
	HR_DIM_LOCALITY, /* local | cloud | "-" */
	HR_DIM_TASK,     /* "-" for a plain model name */
	HR_DIM_KEY,
	HR_DIM_USER,
	HR_DIM_TEAM,
	HR_DIM_STATUS, /* the HTTP status, as text */
	HR_DIM_ORIGIN, /* client | shadow | judge */
	HR_DIM__COUNT
};

/* One record as the report reads it (strings borrowed for the call; NULL: none). */
struct hr_usage_fact {
	int64_t ts_ms;
	const char *dim[HR_DIM__COUNT];
	int status;
	int64_t prompt_tokens, completion_tokens;
	double cost_usd, reference_cost_usd;
	int64_t latency_ms, ttfb_ms; /* ttfb -1: none */
	bool estimated;
};

typedef int (*hr_usage_fact_cb)(void *arg, const struct hr_usage_fact *f);

/* Identities (migration 5). Times are Unix ms, 0 meaning none. Strings may be NULL; they
 * are borrowed by the ops for the call, and given to callbacks only for the callback's
 * duration (the store is locked then: a callback must not call back into the store). */
struct hr_team {
	const char *id; /* "team_…" */
	const char *name;
	int64_t created_ms;
};
struct hr_user {
	const char *id; /* "usr_…" */
	const char *name, *email, *role, *team_id;
	const char *password_hash; /* crypto_pwhash_str's string, or NULL */
	int64_t created_ms;
	bool disabled;
};
struct hr_apikey {
	const char *id;                /* "key_…" */
	const char *name;              /* a label, or NULL */
	const char *prefix;            /* the first characters after "hk_", for display */
	const char *hash;              /* keyed BLAKE2b of the whole secret, lowercase hex */
	const char *user_id, *team_id; /* the owner: a user (team_id its team) or a team */
	const char *role;
	const char *allowed_models, *allowed_tasks; /* JSON arrays, or NULL: everything */
	const char *metadata;                       /* a JSON object, or NULL */
	int64_t created_ms, expires_ms, revoked_ms, last_used_ms;
};
/* A web sign-in: its id is the keyed hash of the cookie's token (the token is not stored). */
struct hr_session {
	const char *id; /* hex */
	const char *user_id;
	int64_t created_ms, expires_ms;
};
enum hr_obj_kind { HR_OBJ_TEAM, HR_OBJ_USER, HR_OBJ_KEY, HR_OBJ_SESSION };
/* obj is a struct hr_team, hr_user, hr_apikey or hr_session as kind says. */
typedef int (*hr_obj_cb)(void *arg, enum hr_obj_kind kind, const void *obj);

/* Which objects a listing shows: ids after `after` in id order, at most limit. only_id: that
 * object alone. Keys only: when own_user is set, the keys of that user and the keys owned
 * by the team own_team (NULL: none) - what a non-admin caller may see. */
struct hr_obj_filter {
	const char *after;
	int limit;
	const char *only_id;
	const char *own_user, *own_team;
	const char *email; /* users only: the user with this email */
};

struct hr_store;

struct hr_store_ops {
	const char *name; /* "sqlite" */
	/* Opens (creating if needed) and migrates. Returns 0 or HR_EIO with err explained. */
	int (*open)(struct hr_store **out, const char *data_dir, bool readonly, struct hr_buf *err);
	void (*close)(struct hr_store *s);
	/* Inserts n records in one transaction. Returns 0 or HR_EIO. */
	int (*usage_insert)(struct hr_store *s, struct hr_usage *const *recs, size_t n);
	/* The record of one request into *out (owned by the caller: hr_usage_free). Returns 0,
	 * HR_ENOTFOUND when there is none, or HR_EIO. */
	int (*usage_get)(struct hr_store *s, const char *request_id, struct hr_usage **out);
	/* Appends ev to the audit log (seq, prev_hash and hash are filled in). 0 or HR_EIO. */
	int (*audit_append)(struct hr_store *s, struct hr_audit_event *ev);
	/* Every event in seq order to cb (the store locked: cb must not call back). */
	int (*audit_scan)(struct hr_store *s, hr_audit_cb cb, void *arg);
	/* Keeps a prompt for learning (the first one of a request wins). 0 or HR_EIO. */
	int (*learn_sample_put)(struct hr_store *s, const struct hr_learn_sample *smp);
	/* Sets the score of (request, model, source), replacing an earlier one; detail (the
	 * judge's name, a feedback comment) may be NULL. 0 or HR_EIO. */
	int (*learn_score_put)(struct hr_store *s, const char *request_id, const char *task,
	                       const struct hr_learn_score *sc, const char *detail, int64_t ts_ms);
	/* Every kept prompt of task (NULL: all) that has scores, oldest first, with its scores
	 * (the store locked: cb must not call back). 0, HR_EIO or cb's non-zero code. */
	int (*learn_scan)(struct hr_store *s, const char *task, hr_learn_sample_cb cb, void *arg);
	/* Sets (model) or clears (model NULL) the task's promotion. 0 or HR_EIO. */
	int (*promotion_set)(struct hr_store *s, const struct hr_promotion *p);
	int (*promotion_scan)(struct hr_store *s, hr_promotion_cb cb, void *arg);
	/* Every record with since_ms <= ts_ms < until_ms (until 0: no end), oldest first (the
	 * store locked: cb must not call back). 0, HR_EIO or cb's non-zero code. */
	int (*usage_scan)(struct hr_store *s, int64_t since_ms, int64_t until_ms, hr_usage_fact_cb cb,
	                  void *arg);
	/* Dollars spent since since_ms by hearth's own calls (origin set) for task. */
	int (*usage_spent_internal)(struct hr_store *s, const char *task, int64_t since_ms,
	                            double *out);
	/* Dollars spent since since_ms by client requests (origin not set) of one budget's
	 * scope: scope is an enum hr_limit_scope (core/conf.h), id the key, user, team id or
	 * task it counts (ignored for global). Budgets seed from it. 0 or HR_EIO. */
	int (*usage_spent)(struct hr_store *s, int scope, const char *id, int64_t since_ms,
	                   double *out);
	/* Inserts obj (update false) or replaces the row with obj's id (true), and appends ev
	 * (when not NULL) in the same transaction. Returns 0, HR_ENOTFOUND (update of a
	 * missing row), HR_ECONFLICT (a unique or reference constraint: duplicate email,
	 * unknown team) or HR_EIO. */
	int (*obj_put)(struct hr_store *s, enum hr_obj_kind kind, const void *obj, bool update,
	               struct hr_audit_event *ev);
	/* Deletes the row id with ev in the same transaction. 0, HR_ENOTFOUND, HR_ECONFLICT
	 * (still referenced: a team with users or keys), HR_EIO. */
	int (*obj_delete)(struct hr_store *s, enum hr_obj_kind kind, const char *id,
	                  struct hr_audit_event *ev);
	/* The rows f selects, in id order, to cb. Returns 0, HR_EIO or cb's non-zero code. */
	int (*obj_list)(struct hr_store *s, enum hr_obj_kind kind, const struct hr_obj_filter *f,
	                hr_obj_cb cb, void *arg);
	/* The key whose hash is hash_hex to cb (HR_OBJ_KEY). 0, HR_ENOTFOUND or HR_EIO. */
	int (*key_by_hash)(struct hr_store *s, const char *hash_hex, hr_obj_cb cb, void *arg);
	/* Schema version after migrations. */
	int (*schema_version)(struct hr_store *s);
};

extern const struct hr_store_ops hr_store_sqlite;

/* The hash of an event after prev_hex (64 hex; 64 zeros before the first), into out. */
void hr_audit_hash(const struct hr_audit_event *ev, const char *prev_hex, char out[65]);
/* Walks the whole chain. Returns 0 with v filled (v->bad_seq 0: intact), or HR_EIO. The last
 * events removed together leave a shorter, intact chain: compare v->events with an exported
 * copy to see that. */
int hr_audit_verify(struct hr_store *s, struct hr_audit_verdict *v);

/* Opens the store for data_dir with the default backend. */
int hr_store_open(struct hr_store **out, const char *data_dir, bool readonly, struct hr_buf *err);
/* Every store begins with this header so the generic helpers can find its ops. */
struct hr_store {
	const struct hr_store_ops *ops;
};

#endif
