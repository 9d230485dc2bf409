/* explain.c - POST /api/v1/route/explain: the plan a chat request would get, without calling
 * any model. The body is the chat request itself (OpenAI's shape; Anthropic's with
 * ?format=anthropic), with the same headers that steer routing (X-Hearth-Task,
 * X-Hearth-Sensitive); the planning is the chat endpoints' own (plan.c), so what this says
 * is what they would do at this moment — health and load included.
 *
 * A request that no model could take is still explained (200, with "error" and the skips):
 * the point is to see why. A body that does not parse, or names no model or task, gets the
 * chat endpoints' error. */
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/plan.h"
#include "api/req.h"
#include "core/conf.h"
#include "core/err.h"
#include "router/router.h"

static const char *via_name(enum hr_route_via v)
{
	switch (v) {
	case HR_VIA_MODEL: return "model";
	case HR_VIA_TASK: return "task";
	case HR_VIA_HEADER: return "header";
	case HR_VIA_RULE: return "rule";
	case HR_VIA_AUTO: return "auto";
	}
	return "?";
}

static json_t *features_json(const struct hr_features *f)
{
	return json_pack(
	    "{s:I, s:o, s:b, s:b, s:b, s:b, s:b, s:s?}", "est_tokens", (json_int_t)f->est_tokens,
	    "max_tokens", f->max_tokens >= 0 ? json_integer(f->max_tokens) : json_null(),
	    "has_images", f->has_images, "needs_tools", f->needs_tools, "json_mode", f->json_mode,
	    "contains_code", f->contains_code, "sensitive", f->sensitive, "language", f->language);
}

static json_t *candidate_json(struct hr_req *rq, const struct hr_conf_model *m)
{
	struct hr_live live;
	struct hr_model_live lv;
	hr_api_live(rq, &live);
	live.get(live.ctx, m, &lv);
	const struct hr_conf_provider *p = m->provider;
	return json_pack("{s:s, s:s?, s:s?, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:f}", "model",
	                 m->name, "provider", p ? p->id : NULL, "kind", p ? p->kind : NULL,
	                 "locality", p && p->locality == HR_CLOUD ? "cloud" : "local", "breaker",
	                 hr_breaker_state(rq->api->breakers, m->name, hr_now_us() / 1000),
	                 "inflight", lv.inflight, "queued", lv.queued, "max_concurrency",
	                 m->max_concurrency, "max_queue", m->max_queue, "input_price_per_mtok",
	                 m->input_price_per_mtok, "output_price_per_mtok",
	                 m->output_price_per_mtok);
}

void hr_api_route_explain(struct hr_req *rq)
{
	const char *q = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(rq->ev));
	if (q && strcmp(q, "format=anthropic") == 0)
		rq->dialect = HR_DIALECT_ANTHROPIC;
	else if (q && *q && strcmp(q, "format=openai") != 0) {
		hr_req_error(rq, HR_EINVAL,
		             "unknown query; use ?format=anthropic for a Messages API body, or "
		             "nothing for a chat-completions one",
		             NULL);
		return;
	}
	struct hr_chat_req creq;
	struct hr_features f;
	struct hr_plan plan;
	struct hr_plan_fail pf;
	struct hr_policy_result pol;
	int rc = hr_api_plan_chat(rq, &creq, &f, &plan, &pol, &pf);
	if (pf.stage != HR_PLAN_OK && pf.stage != HR_PLAN_ROUTE) {
		hr_req_error(rq, rc, pf.msg, pf.param);
		return;
	}
	json_t *cands = json_array(), *skips = json_array();
	for (size_t i = 0; i < plan.n && cands; i++)
		json_array_append_new(cands, candidate_json(rq, plan.cands[i]));
	for (size_t i = 0; i < plan.n_skipped && skips; i++)
		json_array_append_new(skips,
		                      json_pack("{s:s, s:s}", "model", plan.skipped[i].m->name,
		                                "reason", plan.skipped[i].why));
	struct hr_buf route = HR_BUF_INIT(2048);
	int er = hr_route_explain(&plan, plan.n ? 0 : -1, 1536, &route);
	json_t *j = json_pack(
	    "{s:s, s:s, s:o, s:s, s:b, s:o, s:o, s:o, s:s?}", "task", plan.task ? plan.task : "",
	    "via", via_name(plan.via), "rule",
	    plan.via == HR_VIA_RULE ? json_integer((json_int_t)plan.rule) : json_null(), "strategy",
	    hr_route_strategy_name(plan.strategy), "local_only", plan.local_only, "features",
	    features_json(&f), "candidates", cands ? cands : json_null(), "skipped",
	    skips ? skips : json_null(), "route", er == 0 && route.ptr ? route.ptr : NULL);
	hr_buf_release(&route);
	if (j && pf.policy)
		json_object_set_new(j, "policy", json_string(pf.policy));
	if (j && rc < 0)
		json_object_set_new(j, "error",
		                    json_pack("{s:s, s:s, s:i}", "code", hr_err_code(rc), "message",
		                              pf.msg ? pf.msg : hr_err_msg(rc), "status",
		                              hr_err_status(rc)));
	hr_req_json(rq, 200, j);
}
