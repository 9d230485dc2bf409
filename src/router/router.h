/* router.h - picks the model for each request: which task it is, which candidates may serve
 * it, in what order, and why the others were skipped. plan() is pure: no I/O and no clock of
 * its own; the live state (health, load) comes in as a snapshot, so tables of cases test it.
 *
 * Ownership: a plan borrows the config snapshot it was made from (models, task names) and
 * static reason strings; it lives in the request's arena or on the caller's stack. */
#ifndef HR_ROUTER_H
#define HR_ROUTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/conf.h"
#include "providers/chat.h"

/* What plan() knows of a request, computed once (hr_features_of). */
struct hr_features {
	int64_t est_tokens; /* estimated prompt tokens */
	long max_tokens;    /* the answer's cap the client asked for; -1 none */
	bool has_images, needs_tools, json_mode, contains_code;
	bool sensitive;       /* data-policy class: only local providers may see it */
	const char *language; /* ISO 639-1 guess ("en", "de", ...), or NULL */
	double p_strong;      /* the learned router's P(a strong model is needed); -1 unknown */
	/* a router model with an output per model (tasks.<name>.router_model): P(a good
	 * answer) of the models named, n_good of them (0: none) */
	const char *const *good_models;
	const double *good_p;
	size_t n_good;
};

/* Features of a canonical chat request. sensitive comes from the policy layer (a detector;
 * until the governance issue, the X-Hearth-Sensitive header or a test double). */
void hr_features_of(const struct hr_chat_req *rq, bool sensitive, struct hr_features *f);

/* Live state of one model (deployment), as the caller sees it now. */
struct hr_model_live {
	bool breaker_open;   /* failing: skip it (a half-open probe is allowed: open = false) */
	int inflight;        /* calls in flight now */
	int queued;          /* requests waiting for a slot */
	int max_concurrency; /* 0: unlimited */
	int max_queue;       /* most that may wait */
};

/* The live-state snapshot plan() reads: a callback so the caller owns the storage. */
struct hr_live {
	void *ctx;
	void (*get)(void *ctx, const struct hr_conf_model *m, struct hr_model_live *out);
	/* The model auto_promote moved first for task (copied into buf), or NULL; the member
	 * may be NULL (no promotions). */
	const char *(*promoted)(void *ctx, const char *task, char *buf, size_t cap);
};

/* How the task was chosen, for the explanation. */
enum hr_route_via {
	HR_VIA_MODEL,  /* a plain model name: a task of one candidate */
	HR_VIA_TASK,   /* model "task:<name>" */
	HR_VIA_HEADER, /* X-Hearth-Task */
	HR_VIA_RULE,   /* rules[i] matched */
	HR_VIA_AUTO,   /* model "auto" */
};

/* Which task (resolution order): model "task:<name>"; else the X-Hearth-Task header; else
 * the first rule that matches (rule.model unset matches any asked model); else "auto" (a
 * task named auto if configured, otherwise the built-in: strategy cheapest over every chat
 * model); else a configured model of that name (a task of one candidate, strategy ordered,
 * no fallback); else a task of that name. */
struct hr_route_in {
	const char *model;       /* as the client asked: a name, "task:<name>" or "auto" */
	const char *task_header; /* X-Hearth-Task, or NULL */
	const struct hr_features *f;
};

struct hr_skip {
	const struct hr_conf_model *m;
	const char *why; /* static: "cloud model for a local-only task", "no vision", ... */
};

struct hr_plan {
	const char *task; /* task name (for a plain model: the model's name) */
	enum hr_route_via via;
	size_t rule; /* HR_VIA_RULE: its index */
	enum hr_strategy strategy;
	double p_strong;              /* learned: the prediction the order followed; -1 none */
	bool per_model;               /* learned: ordered by P(good) per model (f->good_p) */
	bool strong_first;            /* learned: a dearer candidate goes before a cheaper one */
	bool local_only;              /* the task's, or forced by a sensitive request */
	const struct hr_conf_model *promoted; /* auto_promote put it first; NULL none */
	const struct hr_conf_task *t; /* NULL for a plain model and the built-in auto */
	const struct hr_conf_model *cands[HR_MAX_TASK_CANDIDATES]; /* first tried first */
	size_t n;
	struct hr_skip skipped[HR_MAX_TASK_CANDIDATES];
	size_t n_skipped;
};

/* Plans a request. Returns 0 with out->n >= 1; or HR_ENOMODEL (no such model or task:
 * *msg names it), HR_EUNAVAIL (every candidate was skipped: out->skipped says why; a
 * sensitive request whose local candidates are all down ends here, never at a cloud one).
 * *msg is static or printed into a: what is wrong and what to do. */
int hr_route_plan(struct hr_arena *a, const struct hr_conf *c, const struct hr_route_in *in,
                  const struct hr_live *live, struct hr_plan *out, const char **msg);

/* The X-Hearth-Route header value for a plan and the candidate that answered (index into
 * cands; -1 none): "task=summarize; via=rule:2; strategy=ordered; model=llama3;
 * skipped=gpt-4o:cloud model for a local-only task,qwen:breaker open". Printable ASCII,
 * capped at max bytes (the list is cut with "..."). Returns 0 or HR_ENOMEM. */
int hr_route_explain(const struct hr_plan *p, long chosen, size_t max, struct hr_buf *out);
/* The learned strategy's P(a good answer) from a model of tier t when the shipped router
 * model predicts P(a strong model is needed) = p_strong: (1 - p_strong)^e, e = 2 small,
 * 1 medium, 0.5 large, 0 frontier (HR_TIER_NONE: as frontier). */
double hr_route_p_good(double p_strong, enum hr_tier t);
/* "ordered", "cheapest", "balanced", "cascade", "learned". Static. */
const char *hr_route_strategy_name(enum hr_strategy s);

/* ---- circuit breaker, one per model (deployment); thread-safe ---- */

struct hr_breakers; /* opaque */

struct hr_breaker_conf {
	int failures_to_open; /* consecutive failures that open it; default 5 */
	int64_t cooldown_ms;  /* first open period; doubles on each failed probe, capped */
	int64_t max_cooldown_ms;
	double rate_to_open;    /* or this share of failed calls ... default 0.5 */
	int rate_min_calls;     /* ... among at least this many ... default 20 */
	int64_t rate_window_ms; /* ... in this window; default 10 s */
};

/* A table of breakers for the models of one config (by model name). Survives reloads:
 * hr_breakers_get() looks a model up by name. All functions are thread-safe. */
struct hr_breakers *hr_breakers_new(const struct hr_breaker_conf *bc);
void hr_breakers_free(struct hr_breakers *b);
/* Whether a call to model may go now (closed, or open but due for one half-open probe,
 * which this call then takes). now_ms: a monotonic clock in milliseconds. */
bool hr_breaker_allow(struct hr_breakers *b, const char *model, int64_t now_ms);
/* The outcome of a call: ok resets it; a failure counts (and, in half-open, reopens it with
 * a doubled cool-down). */
void hr_breaker_report(struct hr_breakers *b, const char *model, bool ok, int64_t now_ms);
/* Called on every state change ("closed", "open", "half-open"), with the table's lock held:
 * it must be quick and must not call back into the table (alerts queue an event). Set it
 * before the table is shared. */
typedef void (*hr_breaker_change_fn)(void *arg, const char *model, const char *from,
                                     const char *to);
void hr_breakers_on_change(struct hr_breakers *b, hr_breaker_change_fn fn, void *arg);
/* For display (hearth route explain, /metrics): "closed", "open", "half-open". */
const char *hr_breaker_state(struct hr_breakers *b, const char *model, int64_t now_ms);

/* ---- concurrency gates, one per model (deployment); thread-safe ----
 *
 * Every call to a model passes its gate: hr_gate_enter() takes a slot (counted in flight) or
 * queues the caller, hr_gate_leave() frees the slot and hands it to the first in the queue.
 * A model without a limit still counts its calls in flight (the balanced strategy reads
 * them). Limits come with each enter, so a reload changes them for the calls that follow. */

struct hr_gates; /* opaque */

/* A caller waiting in a queue. The gate owns the links while it is queued; ready(arg) is
 * called once, from whatever thread frees the slot and with the gate's lock held, when the
 * slot is handed over: it must only wake the waiter's own loop (event_active()). */
struct hr_gate_waiter {
	struct hr_gate_waiter *next, *prev;
	void (*ready)(void *arg);
	void *arg;
	int state; /* private to the gate */
};

enum hr_gate_rc {
	HR_GATE_GO,     /* a slot is taken: call, then hr_gate_leave() */
	HR_GATE_QUEUED, /* queued: ready() comes with the slot, or hr_gate_cancel() */
	HR_GATE_FULL,   /* at the limit with a full queue: try the next candidate */
};

struct hr_gates *hr_gates_new(void);
void hr_gates_free(struct hr_gates *g); /* no caller may be queued any more */
/* limit: most calls in flight (0: unlimited); max_queue: most waiters (0: none). w is only
 * used for HR_GATE_QUEUED and must stay valid until ready() or hr_gate_cancel(). Without a
 * gate table (g NULL) every call goes. */
enum hr_gate_rc hr_gate_enter(struct hr_gates *g, const char *model, int limit, int max_queue,
                              struct hr_gate_waiter *w);
/* Takes w out of its queue: true when it was still waiting (it has no slot); false when the
 * slot was already handed over (ready() ran or runs): the caller owns the slot and leaves. */
bool hr_gate_cancel(struct hr_gates *g, const char *model, struct hr_gate_waiter *w);
void hr_gate_leave(struct hr_gates *g, const char *model);
/* The load now, for plans and display. */
void hr_gate_load(struct hr_gates *g, const char *model, int *inflight, int *queued);

/* Whether an error (HR_E* code, or an HTTP status from the provider) may be retried or
 * handed to the next candidate: connection, timeout, 429, 5xx, 529 yes; 4xx no. */
bool hr_route_retryable(int err);

/* Whether an error that is not worth retrying on the same model still lets the next
 * candidate try: the provider refused hearth's credentials (401/403) or does not know the
 * model (404), or a model run in process could not be loaded — a fault of that deployment,
 * not of the request. */
bool hr_route_next_ok(int err);

#endif
