/* handlers.h - the API's endpoint handlers, listed in routes.c. Each answers its request
 * exactly once (req.h). */
#ifndef HR_HANDLERS_H
#define HR_HANDLERS_H

struct hr_req;

void hr_api_chat(struct hr_req *rq);          /* POST /v1/chat/completions (chat.c) */
void hr_api_messages(struct hr_req *rq);      /* POST /v1/messages (chat.c) */
void hr_api_embeddings(struct hr_req *rq);    /* POST /v1/embeddings (embed.c) */
void hr_api_models(struct hr_req *rq);        /* GET /v1/models (models.c) */
void hr_api_healthz(struct hr_req *rq);       /* GET /healthz (models.c) */
void hr_api_readyz(struct hr_req *rq);        /* GET /readyz (models.c) */
void hr_api_route_explain(struct hr_req *rq); /* POST /api/v1/route/explain (explain.c) */
void hr_api_feedback(struct hr_req *rq);      /* POST /v1/feedback (feedback.c) */
void hr_api_usage(struct hr_req *rq);         /* GET /api/v1/usage (usage.c) */
void hr_api_usage_savings(struct hr_req *rq); /* GET /api/v1/usage/savings (usage.c) */
/* Whose usage the caller may read (routes.c): both NULL for every record (admin, auditor);
 * else *user (the caller's user) or *key (a team key's own id), malloc'd. Returns 0 or
 * HR_ENOMEM. */
int hr_api_usage_scope(struct hr_req *rq, char **user, char **key);
/* /api/v1/users, /api/v1/teams, /api/v1/keys and "/<id>" (admin.c) */
void hr_api_users(struct hr_req *rq);
void hr_api_teams(struct hr_req *rq);
void hr_api_keys(struct hr_req *rq);
/* /api/v1/auth/login, logout, me: the web sign-in (admin.c) */
void hr_api_login(struct hr_req *rq);
void hr_api_logout(struct hr_req *rq);
void hr_api_me(struct hr_req *rq);
void hr_api_metrics(struct hr_req *rq);       /* GET /metrics (metrics.c) */

#endif
