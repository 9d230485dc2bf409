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
void hr_api_metrics(struct hr_req *rq);       /* GET /metrics (metrics.c) */

#endif
