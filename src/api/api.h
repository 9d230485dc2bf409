/* api.h - the HTTP API: one route table (routes.c) and one request context (req.h) that
 * every handler uses to answer, with its usage record committed before the last byte. */
#ifndef HR_API_H
#define HR_API_H

struct evhttp_request;
struct hr_worker;
struct hr_store;
struct hr_usage_writer;
struct hr_breakers;
struct hr_gates;
struct hr_learn_model;
struct hr_learn_live;
struct hr_alerts;
struct hr_limits;

/* Shared by every worker; set up by `hearth serve` before the server starts. */
struct hr_api {
	struct hr_store *store;
	struct hr_usage_writer *writer;
	struct hr_breakers *breakers; /* one circuit breaker per model, across reloads */
	struct hr_gates *gates;       /* one concurrency gate per model, across reloads */
	/* the learned router's model (router.model, loaded at start), or NULL: learned tasks
	 * then keep their listed order */
	const struct hr_learn_model *router_model;
	/* learning online: promotions, shadow jobs, the internal token (api/shadow.h) */
	struct hr_learn_live *learn;
	/* budgets and rate limits (api/limits.h), or NULL when none are configured */
	struct hr_limits *limits;
	/* keys every API key hash (governance/ident.h); read-only once serving */
	unsigned char pepper[32];
	struct hr_alerts *alerts; /* the alert thread (telemetry/alerts.h), or NULL */
};

/* The server's request handler (hr_request_handler). */
void hr_api_handle(struct evhttp_request *req, struct hr_worker *w);

#endif
