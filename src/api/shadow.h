/* shadow.h - learning online (docs/router.md): what every worker shares about it (task
 * promotions, what shadow calls spent today, the token of hearth's own calls), keeping the
 * prompts that learning needs, shadow evaluation of answered requests, and feedback.
 *
 * Shadow evaluation: for a sample of a task's answered requests (tasks.<name>.
 * shadow_sample), hearth asks the other model of the task's reference/challenger pair
 * for its answer too, after the client has its own, then asks the judge model to score both;
 * the scores land in storage (learn_scores) beside the kept prompt (learn_samples). Both calls
 * go through hearth's own API on loopback, so routing, the data policy, breakers and usage
 * records apply to them as to any request (their records carry origin "shadow"/"judge").
 *
 * Threads: hr_learn_live is shared (a mutex inside); a shadow job lives on the worker loop
 * of the request that started it. */
#ifndef HR_SHADOW_H
#define HR_SHADOW_H

#include <stdbool.h>
#include <stddef.h>

#include "core/conf.h"
#include "providers/chat.h"

#define HR_SHADOW_TEXT_MAX (32u * 1024) /* what the judge sees of each answer */

struct hr_req;
struct hr_store;
struct hr_learn_live;
struct hr_learn_model;

/* Returns: owned (hr_learn_live_free), or NULL when out of memory. Reads the promotions
 * from st (borrowed; must outlive it). */
struct hr_learn_live *hr_learn_live_new(struct hr_store *st);
/* After the server stopped: frees the jobs that were still running. NULL is a no-op. */
void hr_learn_live_free(struct hr_learn_live *l);
/* The server's own address, once it listens: shadow calls are sent there. */
void hr_learn_live_listen(struct hr_learn_live *l, const char *host, int port);
/* The model auto_promote moved first for task, copied into out; false when none. */
bool hr_learn_promoted(struct hr_learn_live *l, const char *task, char *out, size_t cap);
/* Is token the one hearth's own calls carry (X-Hearth-Internal)? Constant time. */
bool hr_learn_internal_ok(struct hr_learn_live *l, const char *token);

/* Loads the router model file of every task with tasks.<name>.router_model (again on each
 * call, so that a retrained file takes effect at a reload); a file that cannot be used is
 * logged, and its task falls back to router.model. Call from one thread (serve, reload). */
void hr_learn_live_load_models(struct hr_learn_live *l, const struct hr_conf *c);
/* The newest model loaded from path, or NULL. Borrowed: lives until hr_learn_live_free. */
const struct hr_learn_model *hr_learn_live_model(struct hr_learn_live *l, const char *path);

/* Decided when a request of task t is planned: shadow this one? (a coin of
 * t->shadow_sample; never for hearth's own calls). */
bool hr_learn_sampled(const struct hr_req *rq, const struct hr_conf_task *t);

/* What a successfully answered request leaves for learning. Borrowed for the call. */
struct hr_learn_answer {
	const struct hr_conf_task *t; /* the request's task (NULL: nothing to do) */
	const char *model;            /* the model that answered */
	const struct hr_chat_req *creq;
	const char *text; /* the answer's text (shadowed requests only), or NULL */
	size_t text_len;
	bool shadow; /* hr_learn_sampled said yes */
};
/* Keeps the prompt (keep_prompts, or shadowed) and starts the shadow evaluation. Never
 * fails the request: problems are logged. */
void hr_learn_answered(struct hr_req *rq, const struct hr_learn_answer *a);

/* Starts one of hearth's own calls for rq (the cascade's judged check) on rq's worker: o's
 * url is the API path (e.g. "/v1/chat/completions"); its body and callbacks are the
 * caller's, the headers (X-Hearth-Internal, origin, parent rq->id and its task) and timeouts
 * are set here. Returns what hr_call_start does, or HR_EUNAVAIL before the server listens. */
struct hr_call_opts;
struct hr_call;
int hr_learn_internal_call(struct hr_req *rq, const char *origin, struct hr_call_opts *o,
                           struct hr_call **out);

/* The last user message's text of a chat request (what the learned router reads), or NULL
 * when there is none. */
const struct hr_str *hr_learn_prompt_of(const struct hr_chat_req *creq);

#endif
