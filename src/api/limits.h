/* limits.h - the LIMITS phase of a chat request: rate limits at admission, a budget
 * reservation per attempt (the worst case of the model called), settled when the request
 * ends; the 429 answers and their headers. The ledger itself is governance/limits.h. */
#ifndef HR_API_LIMITS_H
#define HR_API_LIMITS_H

#include <stdbool.h>

#include "governance/limits.h"

struct hr_api;
struct hr_conf;
struct hr_conf_model;
struct hr_chat_req;
struct hr_plan;
struct hr_req;

/* One request's part in the ledger (in its handler's state, zeroed). */
struct hr_req_limits {
	struct hr_limits *l; /* rq->api->limits; NULL: nothing to check */
	struct hr_limits_who who;
	struct hr_limits_hold hold;
	double cost;         /* what the request cost so far (its record's cost_usd) */
	long tokens;         /* and its tokens */
	long retry_after_s;  /* of the last budget refusal */
};

/* At start-up: the ledger of c's budgets and rate limits into api->limits (NULL when c has
 * none), seeded from the usage table; a threshold crossing becomes the audit event
 * budget.threshold. A sum that fails is logged and its budget refuses (fail closed).
 * Returns 0 or HR_ENOMEM. */
int hr_api_limits_start(struct hr_api *api, const struct hr_conf *c);
void hr_api_limits_stop(struct hr_api *api);

/* Admission (after the plan): rate limits, counting tokens (a chat request's prompt
 * estimate plus its hr_api_limits_max_tokens). Sets rq->limits: the settle at the answer.
 * Returns 0 (X-RateLimit-* headers set when a limit applies) or a negative code after
 * answering the request (429 naming the limit, Retry-After, X-RateLimit-*): stop. */
int hr_api_limits_admit(struct hr_req *rq, struct hr_req_limits *lr, long tokens);
/* The answer's worst-case length: creq's max_tokens, else m's max_output_tokens, else
 * HR_DEFAULT_MAX_TOKENS. */
long hr_api_limits_max_tokens(const struct hr_chat_req *creq, const struct hr_conf_model *m);
/* Settles rq->limits with what the request cost (lr->cost, lr->tokens) and clears it;
 * hr_req_respond() calls it as the answer is decided, an arena cleanup otherwise. */
void hr_api_limits_settle(struct hr_req *rq);
/* Reserves, before an attempt at m, already (what earlier attempts cost: a cascade's
 * turned-down answers) plus m's worst case: prompt_tokens at its input price, out_tokens at
 * its output price. Returns 0, or HR_EBUDGET with *msg (arena) naming the budget, its spent
 * amount and its reset (hr_api_limits_refused then sets Retry-After). */
int hr_api_limits_reserve(struct hr_req *rq, struct hr_req_limits *lr,
                          const struct hr_conf_model *m, long prompt_tokens, long out_tokens,
                          double already, const char **msg);
/* True when a budget of the request has reached its downgrade_at share. */
bool hr_api_limits_downgrade(struct hr_req_limits *lr);
/* Skips, for a downgrade, the candidates of plan dearer than its cheapest (reason
 * "budget"). */
void hr_api_limits_downgrade_plan(struct hr_plan *plan);
/* The Retry-After header of a budget refusal (before answering with HR_EBUDGET). */
void hr_api_limits_refused(struct hr_req *rq, const struct hr_req_limits *lr);

#endif
