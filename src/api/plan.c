/* plan.c - parse → features → plan, the first half of every chat request, shared by
 * POST /v1/chat/completions, /v1/messages (chat.c) and /api/v1/route/explain (explain.c), so
 * an explanation is the plan the chat endpoints would make, errors included. */
#include <event2/http.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>

#include "api/api.h"
#include "api/plan.h"
#include "api/shadow.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "governance/detect.h"
#include "governance/ident.h"
#include "governance/policy.h"
#include "learn/learn.h"
#include "storage/usage.h"
#include "telemetry/trace.h"

static bool sensitive_header(struct hr_req *rq)
{
	/* The data-policy hook: the governance issue's detectors will set this class. Until
	 * then a client may mark its own request sensitive (it can only narrow the routing). */
	const char *v =
	    evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "X-Hearth-Sensitive");
	return v && (strcmp(v, "1") == 0 || strcasecmp(v, "true") == 0);
}

/* "model 'x' not found; available: a, b" in rq's arena (NULL when out of memory). */
static const char *models_msg(struct hr_req *rq, const char *asked)
{
	const struct hr_conf *c = rq->conf;
	struct hr_buf b = HR_BUF_INIT(4096);
	hr_buf_addf(&b, "model '%s' not found; available: ", asked);
	for (size_t i = 0; i < c->n_models; i++)
		if (hr_buf_addf(&b, "%s%s", i ? ", " : "", c->models[i].name) < 0)
			break;
	if (c->n_models == 0)
		hr_buf_addstr(&b, "none (configure models in hearth.yaml; see docs/config.md)");
	const char *msg = b.ptr ? hr_arena_strndup(rq->arena, b.ptr, b.len) : NULL;
	hr_buf_release(&b);
	return msg;
}

/* What model m is configured not to take (models.<name>.tools, vision, json_mode,
 * embeddings): HR_EUNSUPPORTED with fail's msg and param, or 0. */
static int check_capabilities(struct hr_req *rq, const struct hr_conf_model *m,
                              const struct hr_chat_req *cr, struct hr_plan_fail *fail)
{
	const char *what = NULL, *param = NULL;
	if (m->embeddings) {
		what = "is an embedding model: send it to POST /v1/embeddings";
		param = "model";
	} else if (!m->tools && cr->n_tools) {
		what = "cannot call tools (models.<name>.tools is false): remove \"tools\" or "
		       "choose another model";
		param = "tools";
	} else if (!m->json_mode &&
	           (cr->format == HR_FMT_JSON_OBJECT || cr->format == HR_FMT_JSON_SCHEMA)) {
		what = "has no JSON mode (models.<name>.json_mode is false): remove "
		       "\"response_format\" or choose another model";
		param = "response_format";
	} else if (!m->vision) {
		for (size_t i = 0; i < cr->n_msgs && !what; i++)
			for (size_t j = 0; j < cr->msgs[i].n_parts; j++)
				if (cr->msgs[i].parts[j].type == HR_PART_IMAGE) {
					what =
					    "does not read images (models.<name>.vision is false): "
					    "remove the image or choose another model";
					param = "messages";
					break;
				}
	}
	if (!what)
		return 0;
	fail->msg = hr_arena_printf(rq->arena, "model '%s' %s", m->name, what);
	fail->param = param;
	return HR_EUNSUPPORTED;
}

static void live_get(void *ctx, const struct hr_conf_model *m, struct hr_model_live *out)
{
	const struct hr_api *api = ctx;
	memset(out, 0, sizeof *out);
	out->breaker_open =
	    api->breakers &&
	    strcmp(hr_breaker_state(api->breakers, m->name, hr_now_us() / 1000), "open") == 0;
	hr_gate_load(api->gates, m->name, &out->inflight, &out->queued);
	out->max_concurrency = m->max_concurrency;
	out->max_queue = m->max_queue;
}

static const char *live_promoted(void *ctx, const char *task, char *buf, size_t cap)
{
	const struct hr_api *api = ctx;
	return hr_learn_promoted(api->learn, task, buf, cap) ? buf : NULL;
}

void hr_api_live(struct hr_req *rq, struct hr_live *out)
{
	out->ctx = rq->api;
	out->get = live_get;
	out->promoted = live_promoted;
}

/* The learned router's prediction for the request's last user message (the turn being
 * answered, as RouteLLM routes), with the task's own router model when it has one, else
 * router.model: P(a strong model is needed) into f->p_strong, or, from a model with an
 * output per model, P(a good answer) per model into f->good_*. Returns 0, or -1 when there
 * is no text or no model. */
static int learned_p(struct hr_req *rq, const struct hr_chat_req *creq, const char *task,
                     struct hr_features *f)
{
	const struct hr_conf_task *t = task ? hr_conf_task_find(rq->conf, task, strlen(task)) : NULL;
	const struct hr_learn_model *m =
	    t && t->router_model ? hr_learn_live_model(rq->api->learn, t->router_model) : NULL;
	if (!m)
		m = rq->api->router_model;
	const struct hr_str *text = hr_learn_prompt_of(creq);
	long gain = m ? hr_learn_model_gain(m) : -1;
	struct hr_learn_fx *fx = m && text ? hr_learn_fx_new(rq->arena, &m->fc) : NULL;
	double *probs = fx ? hr_arena_alloc(rq->arena, m->n_outs * sizeof *probs) : NULL;
	const char **names = probs ? hr_arena_alloc(rq->arena, m->n_outs * sizeof *names) : NULL;
	if (!names)
		return -1;
	hr_learn_predict(m, fx, text->ptr, text->len, probs);
	if (gain >= 0) {
		f->p_strong = probs[gain];
		return 0;
	}
	for (size_t i = 0; i < m->n_outs; i++)
		names[i] = m->outs[i].model;
	f->good_models = names;
	f->good_p = probs;
	f->n_good = m->n_outs;
	return 0;
}

const char *hr_api_model_denied(struct hr_req *rq, const char *model)
{
	const struct hr_ident *id = &rq->ident;
	if (hr_ident_allows(id->allowed_models, model))
		return NULL;
	return hr_arena_printf(rq->arena,
	                       "API key '%s' may not use model '%s' (its allowed_models: %s); "
	                       "ask an admin to add it to the key",
	                       id->key_id ? id->key_id : "-", model, id->allowed_models);
}

/* The key's allow-lists over a plan: a plain model or a task the key may not use is refused
 * (403); a task's candidates outside allowed_models are skipped, and none left is refused.
 * Returns 0 or HR_EDENIED with fail->msg. */
static int check_allowed(struct hr_req *rq, const struct hr_chat_req *creq, struct hr_plan *plan,
                         struct hr_plan_fail *fail)
{
	const struct hr_ident *id = &rq->ident;
	if (!id->allowed_models && !id->allowed_tasks)
		return 0;
	if (plan->via == HR_VIA_MODEL) {
		fail->msg = hr_api_model_denied(rq, creq->model);
		fail->param = "model";
		return fail->msg ? HR_EDENIED : 0;
	}
	if (!hr_ident_allows(id->allowed_tasks, plan->task)) {
		fail->msg =
		    hr_arena_printf(rq->arena,
		                    "API key '%s' may not use task '%s' (its allowed_tasks: "
		                    "%s); ask an admin to add it to the key",
		                    id->key_id, plan->task ? plan->task : "?", id->allowed_tasks);
		fail->param = "model";
		return HR_EDENIED;
	}
	if (plan->n == 0)
		return 0; /* nothing to filter: the plan's own error stands */
	size_t kept = 0;
	for (size_t i = 0; i < plan->n; i++) {
		if (hr_ident_allows(id->allowed_models, plan->cands[i]->name))
			plan->cands[kept++] = plan->cands[i];
		else if (plan->n_skipped < HR_MAX_TASK_CANDIDATES)
			plan->skipped[plan->n_skipped++] =
			    (struct hr_skip){plan->cands[i], "not in the API key's allowed_models"};
	}
	plan->n = kept;
	if (kept || !id->allowed_models)
		return 0;
	fail->msg = hr_arena_printf(rq->arena,
	                            "API key '%s' may use none of the models of task '%s' (its "
	                            "allowed_models: %s); ask an admin to add one to the key",
	                            id->key_id, plan->task ? plan->task : "?", id->allowed_models);
	fail->param = "model";
	return HR_EDENIED;
}

static int failed(struct hr_plan_fail *fail, enum hr_plan_stage stage, int err)
{
	fail->stage = stage;
	fail->err = err;
	return err;
}

int hr_api_plan_chat(struct hr_req *rq, struct hr_chat_req *creq, struct hr_features *f,
                     struct hr_plan *plan, struct hr_policy_result *polr,
                     struct hr_plan_fail *fail)
{
	const struct hr_conf *c = rq->conf;
	memset(fail, 0, sizeof *fail);
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	struct hr_chat_limits lim = {c->limits.max_messages, c->limits.max_tools,
	                             c->limits.max_json_depth};
	int rc = rq->dialect == HR_DIALECT_ANTHROPIC
	             ? hr_chat_parse_anthropic(rq->arena, body ? body : "", len, &lim, creq,
	                                       &fail->msg, &fail->param)
	             : hr_chat_parse(rq->arena, body ? body : "", len, &lim, creq, &fail->msg,
	                             &fail->param);
	if (rc < 0)
		return failed(fail, HR_PLAN_PARSE, rc);
	if (rq->usage) {
		hr_usage_set(&rq->usage->model_asked, creq->model);
		rq->usage->stream = creq->stream;
	}

	/* the data policy, before anything is routed: it may refuse, or keep the request local */
	memset(polr, 0, sizeof *polr);
	struct hr_policy_result pol;
	int ps = hr_trace_span(rq->trace, "policy", HR_SPAN_INTERNAL);
	if (hr_policy_check(rq->arena, c, creq, &pol) < 0) {
		hr_trace_span_end(rq->trace, ps, "out of memory");
		return failed(fail, HR_PLAN_PARSE, HR_ENOMEM);
	}
	hr_trace_str(rq->trace, ps, "hearth.policy.findings", pol.summary);
	hr_trace_span_end(rq->trace, ps, pol.action == HR_POLICY_BLOCK ? "blocked" : NULL);
	if (hr_trace_prompts(rq->trace)) { /* telemetry.trace_prompts: the operator asked */
		const struct hr_str *pt = hr_learn_prompt_of(creq);
		if (pt)
			hr_trace_strn(rq->trace, 0, "gen_ai.prompt", pt->ptr, pt->len);
	}
	if (pol.summary) {
		if (rq->usage)
			hr_usage_set(&rq->usage->policy, pol.summary);
		HR_RLOG_INFO(rq->id, POLICY, "data policy: %s -> %s", pol.summary,
		             pol.action == HR_POLICY_BLOCK        ? "block"
		             : pol.action == HR_POLICY_LOCAL_ONLY ? "local only"
		             : pol.action == HR_POLICY_REDACT     ? "redact"
		                                                  : "allow");
	}
	fail->policy = pol.summary;
	*polr = pol;
	if (pol.action == HR_POLICY_BLOCK) {
		struct hr_buf b = HR_BUF_INIT(1024);
		for (int k = 0; k < HR_PII__COUNT; k++)
			if (pol.count[k] && c->policy.action[k] == HR_POLICY_BLOCK)
				(void)hr_buf_addf(&b, "%s%s (%u)", b.len ? ", " : "",
				                  hr_pii_label(k), pol.count[k]);
		fail->msg = pol.err
		                ? hr_arena_printf(rq->arena,
		                                  "the data policy could not check this request "
		                                  "(%s) and fails closed (policy.on_error: "
		                                  "block); shorten it",
		                                  hr_err_msg(pol.err))
		                : hr_arena_printf(rq->arena,
		                                  "the request contains %s, which the data "
		                                  "policy blocks (policy.<class>: block); "
		                                  "remove it or ask the operator",
		                                  b.ptr ? b.ptr : "?");
		hr_buf_release(&b);
		fail->param = "messages";
		return failed(fail, HR_PLAN_PARSE, HR_EPOLICY);
	}
	hr_features_of(creq, sensitive_header(rq) || pol.action == HR_POLICY_LOCAL_ONLY, f);
	struct hr_route_in rin = {
	    .model = creq->model,
	    .task_header =
	        evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "X-Hearth-Task"),
	    .f = f,
	};
	struct hr_live live;
	hr_api_live(rq, &live);
	int rs = hr_trace_span(rq->trace, "route", HR_SPAN_INTERNAL);
	rc = hr_route_plan(rq->arena, c, &rin, &live, plan, &fail->msg);
	if (rc == 0 && plan->strategy == HR_STRAT_LEARNED && learned_p(rq, creq, plan->task, f) == 0)
		rc = hr_route_plan(rq->arena, c, &rin, &live, plan, &fail->msg);
	if (rc == 0) {
		hr_trace_str(rq->trace, rs, "hearth.task", plan->task);
		hr_trace_str(rq->trace, rs, "hearth.strategy", hr_route_strategy_name(plan->strategy));
		hr_trace_str(rq->trace, rs, "hearth.via", hr_api_via_name(plan->via));
		hr_trace_int(rq->trace, rs, "hearth.candidates", (int64_t)plan->n);
	}
	hr_trace_span_end(rq->trace, rs, rc < 0 ? hr_err_code(rc) : NULL);
	if (rc == HR_ENOMODEL) {
		fail->msg = models_msg(rq, creq->model);
		fail->param = "model";
		return failed(fail, HR_PLAN_MODEL, rc);
	}
	if (rc == 0 || rc == HR_EUNAVAIL) {
		int ar = check_allowed(rq, creq, plan, fail);
		if (ar < 0)
			return failed(fail, HR_PLAN_MODEL, ar);
	}
	/* a plain model: a 400 that names the field beats "no model can take this request" */
	const struct hr_conf_model *plain =
	    plan->via == HR_VIA_MODEL ? hr_conf_model_find(c, creq->model, strlen(creq->model))
	                              : NULL;
	if (plain) {
		int cr = check_capabilities(rq, plain, creq, fail);
		if (cr < 0)
			return failed(fail, HR_PLAN_CAPS, cr);
	}
	if (rc < 0)
		return failed(fail, HR_PLAN_ROUTE, rc);
	fail->msg = NULL;
	if (rq->usage && plan->via != HR_VIA_MODEL)
		hr_usage_set(&rq->usage->task, plan->task);
	return 0;
}

const char *hr_api_via_name(enum hr_route_via via)
{
	switch (via) {
	case HR_VIA_MODEL: return "model";
	case HR_VIA_TASK: return "task";
	case HR_VIA_HEADER: return "header";
	case HR_VIA_RULE: return "rule";
	case HR_VIA_AUTO: return "auto";
	}
	return "other";
}
