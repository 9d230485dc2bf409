/* plan.h - the planning every chat request goes through, shared by both chat endpoints and
 * POST /api/v1/route/explain: parse the body in the request's format, compute its features,
 * make the router's plan. What each caller then does with the plan is its own business. */
#ifndef HR_API_PLAN_H
#define HR_API_PLAN_H

#include "governance/policy.h"
#include "providers/chat.h"
#include "router/router.h"

struct hr_req;

/* Where planning stopped, and the error the chat endpoints answer with there. */
enum hr_plan_stage {
	HR_PLAN_OK,
	HR_PLAN_PARSE, /* the body is not a valid request in its format, or the data policy
	                * blocks it (4xx) */
	HR_PLAN_MODEL, /* no such model or task (404, the message lists the models) */
	HR_PLAN_CAPS,  /* a plain model is configured without what the request needs (400) */
	HR_PLAN_ROUTE, /* every candidate was skipped (503): plan->skipped says why */
};

struct hr_plan_fail {
	enum hr_plan_stage stage;
	int err;            /* HR_E* code; 0 when planned */
	const char *msg;    /* static or in rq's arena; NULL: the table's message */
	const char *param;  /* the field at fault, or NULL */
	const char *policy; /* what the data policy found ("card:1,email:2"), or NULL */
};

/* Parses rq's body in rq->dialect, computes its features (sensitive: the X-Hearth-Sensitive
 * header) and plans it (X-Hearth-Task, the live state of rq->api's breakers and gates). Fills
 * rq->usage's model_asked, stream and task when the request has a record. Answers nothing.
 * Returns 0 with plan->n >= 1; or fail->err (negative) with fail saying where and why; the
 * caller answers hr_req_error(rq, fail->err, fail->msg, fail->param) to give the chat
 * endpoints' error. creq, f and plan are filled as far as planning got (plan is usable from
 * HR_PLAN_CAPS on); pol holds the data policy's result (its placeholder map, for the calls)
 * from HR_PLAN_MODEL on. Memory: everything lives in rq's arena. */
int hr_api_plan_chat(struct hr_req *rq, struct hr_chat_req *creq, struct hr_features *f,
                     struct hr_plan *plan, struct hr_policy_result *pol, struct hr_plan_fail *fail);

/* The caller's model allow-list (rq->ident.allowed_models): NULL when model is allowed, else
 * the 403 message (in rq's arena) naming the model and what to do. */
const char *hr_api_model_denied(struct hr_req *rq, const char *model);

/* The live-state snapshot of rq->api (circuit breakers, concurrency gates) that plans read
 * (chat.c). */
void hr_api_live(struct hr_req *rq, struct hr_live *out);

/* How the task was chosen, as the route explanation and the metrics name it: "model",
 * "task", "header", "rule", "auto". Static. */
const char *hr_api_via_name(enum hr_route_via via);

#endif
