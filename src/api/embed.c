/* embed.c - POST /v1/embeddings: parse (OpenAI's format), find the model, call its provider
 * through the codec, answer with OpenAI's embedding list, record usage and cost. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>
#include <string.h>

#include "api/handlers.h"
#include "api/limits.h"
#include "api/plan.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/client.h"
#include "http/server.h"
#include "providers/provider.h"
#include "storage/usage.h"

#define EMBED_ERROR_BODY_MAX (64u * 1024)

struct embed {
	struct hr_req *rq;
	const struct hr_conf_model *m;
	const struct hr_provider_ops *ops;
	struct hr_embed_req ereq;
	struct hr_http_out out;
	struct hr_call *call;
	long status;
	char retry_after[64];
	struct hr_buf body;
	struct hr_req_limits lim; /* rate limits and the budget reservation (api/limits.h) */
};

static void release_cb(void *p)
{
	hr_buf_release(p);
}

static double settle(struct embed *e, const struct hr_usage_counts *uc)
{
	struct hr_usage *u = e->rq->usage;
	int64_t in =
	    uc && uc->present ? uc->prompt_tokens : hr_tokens_estimate(e->ereq.input_bytes);
	double cost = (double)in * e->m->input_price_per_mtok / 1e6;
	if (u) {
		u->prompt_tokens = in;
		u->completion_tokens = 0;
		u->tokens_estimated = !(uc && uc->present);
		u->cost_usd = cost;
		e->lim.cost = cost, e->lim.tokens = (long)in;
		u->reference_cost_usd = cost; /* no savings are claimed for embeddings */
		hr_usage_set(&u->reference_model, e->m->name);
		if (e->m->provider)
			hr_usage_set(&u->locality,
			             e->m->provider->locality == HR_CLOUD ? "cloud" : "local");
	}
	return cost;
}

static void on_done(void *arg, int rc)
{
	struct embed *e = arg;
	struct hr_req *rq = e->rq;
	e->call = NULL;
	if (rq->client_gone || rc == HR_ECANCELED) {
		settle(e, NULL);
		hr_req_respond(rq, 499, NULL, NULL);
		return;
	}
	const char *msg = NULL;
	if (rc == 0 && !(e->status >= 200 && e->status < 300)) {
		int err = e->ops->map_error(rq->arena, e->status, e->body.ptr ? e->body.ptr : "",
		                            e->body.len, &msg);
		if (e->retry_after[0])
			hr_req_header(rq, "Retry-After", e->retry_after);
		if (!msg || err != HR_EINVAL)
			msg = hr_arena_printf(rq->arena, "%s (provider '%s', HTTP %ld)%s%s",
			                      hr_err_msg(err), e->m->provider->id, e->status,
			                      msg ? ": " : "", msg ? msg : "");
		settle(e, NULL);
		hr_req_error(rq, err, msg, NULL);
		return;
	}
	if (rc < 0) {
		settle(e, NULL);
		hr_req_error(rq, rc,
		             hr_arena_printf(rq->arena, "%s (provider '%s')", hr_err_msg(rc),
		                             e->m->provider->id),
		             NULL);
		return;
	}
	struct hr_embed_resp res = {0};
	int err = e->ops->decode_embed(rq->arena, e->body.ptr ? e->body.ptr : "", e->body.len, &res,
	                               &msg);
	if (err == 0 && res.n != e->ereq.n_inputs && !e->ereq.tokens_input) {
		err = HR_EUPSTREAM_BAD;
		msg = hr_arena_printf(rq->arena, "the provider returned %zu vectors for %zu inputs",
		                      res.n, e->ereq.n_inputs);
	}
	if (err < 0) {
		settle(e, NULL);
		hr_req_error(rq, err,
		             hr_arena_printf(rq->arena, "%s (provider '%s'): %s", hr_err_msg(err),
		                             e->m->provider->id, msg ? msg : "?"),
		             NULL);
		return;
	}
	double cost = settle(e, &res.usage);
	res.usage.prompt_tokens = rq->usage ? rq->usage->prompt_tokens : res.usage.prompt_tokens;
	struct hr_buf b = HR_BUF_INIT(rq->conf->limits.max_response_bytes);
	if ((err = hr_embed_render(&res, e->m->name, e->ereq.base64, &b)) < 0) {
		hr_buf_release(&b);
		hr_req_error(rq, err == HR_ETOOBIG ? HR_EUPSTREAM_TOOBIG : err, NULL, NULL);
		return;
	}
	char v[32];
	snprintf(v, sizeof v, "%.8f", cost);
	hr_req_header(rq, "X-Hearth-Cost", v);
	if (!res.usage.present)
		hr_req_header(rq, "X-Hearth-Usage", "estimated");
	hr_req_respond(rq, 200, "application/json", &b);
}

static int on_headers(void *arg, long status, const char *retry_after)
{
	struct embed *e = arg;
	e->status = status;
	if (retry_after)
		snprintf(e->retry_after, sizeof e->retry_after, "%s", retry_after);
	if (!(status >= 200 && status < 300))
		hr_buf_init(&e->body, EMBED_ERROR_BODY_MAX);
	return 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
	struct embed *e = arg;
	if (e->rq->client_gone)
		return HR_ECANCELED;
	int rc = hr_buf_add(&e->body, p, n);
	if (!(e->status >= 200 && e->status < 300))
		return 0; /* keep the first part of an error */
	return rc == HR_ETOOBIG ? HR_EUPSTREAM_TOOBIG : rc;
}

static void on_client_gone(struct hr_req *rq)
{
	struct embed *e = rq->state;
	if (e->call) {
		hr_call_cancel(e->call);
		e->call = NULL;
	}
	on_done(e, HR_ECANCELED);
}

void hr_api_embeddings(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	struct embed *e = hr_arena_calloc(rq->arena, sizeof *e);
	if (!e) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	e->rq = rq;
	rq->state = e;
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	const char *msg = NULL, *param = NULL;
	int rc = hr_embed_parse(rq->arena, body ? body : "", len, c->limits.max_messages,
	                        c->limits.max_json_depth, &e->ereq, &msg, &param);
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
		return;
	}
	hr_usage_set(&rq->usage->model_asked, e->ereq.model);
	e->m = hr_conf_model_find(c, e->ereq.model, strlen(e->ereq.model));
	if (!e->m) {
		hr_req_error(rq, HR_ENOMODEL,
		             hr_arena_printf(rq->arena,
		                             "model '%s' not found; GET /v1/models lists the names",
		                             e->ereq.model),
		             "model");
		return;
	}
	const char *denied = hr_api_model_denied(rq, e->m->name);
	if (denied) {
		hr_req_error(rq, HR_EDENIED, denied, "model");
		return;
	}
	e->ops = hr_provider_find(e->m->provider->kind);
	if (!e->ops || !e->ops->encode_embed) {
		hr_req_error(rq, HR_EUNSUPPORTED,
		             hr_arena_printf(rq->arena,
		                             "model '%s' is served by a provider of kind %s, which "
		                             "has no embeddings; choose an embedding model",
		                             e->m->name, e->m->provider->kind),
		             "model");
		return;
	}
	hr_usage_set(&rq->usage->model_used, e->m->name);
	hr_usage_set(&rq->usage->provider, e->m->provider->id);
	hr_req_header(rq, "X-Hearth-Model", e->m->name);
	/* LIMITS: the inputs' estimate counts as tokens and as the worst case */
	long est = (long)hr_tokens_estimate(e->ereq.input_bytes);
	if (hr_api_limits_admit(rq, &e->lim, est) < 0)
		return;
	if (hr_api_limits_reserve(rq, &e->lim, e->m, est, 0, 0, &msg) < 0) {
		hr_api_limits_refused(rq, &e->lim);
		hr_req_error(rq, HR_EBUDGET, msg, NULL);
		return;
	}
	hr_buf_init(&e->out.body, c->server.max_body_bytes * 2 + 65536);
	hr_buf_init(&e->body, c->limits.max_response_bytes);
	if (hr_arena_defer(rq->arena, release_cb, &e->out.body) < 0 ||
	    hr_arena_defer(rq->arena, release_cb, &e->body) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	rc = e->ops->encode_embed(rq->arena, e->m, &e->ereq, &e->out, &msg, &param);
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
		return;
	}
	const struct hr_conf_provider *p = e->m->provider;
	struct hr_call_opts o = {
	    .url = e->out.url,
	    .headers = e->out.headers,
	    .body = e->out.body.ptr,
	    .body_len = e->out.body.len,
	    .connect_timeout_ms = p->connect_timeout_ms,
	    .first_byte_timeout_ms = p->first_byte_timeout_ms,
	    .idle_timeout_ms = p->idle_timeout_ms,
	    .total_timeout_ms = p->total_timeout_ms,
	    .rid = rq->id,
	    .on_headers = on_headers,
	    .on_data = on_data,
	    .on_done = on_done,
	    .arg = e,
	};
	rc = hr_call_start(rq->w->client, &o, &e->call);
	if (rc < 0) {
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	rq->on_client_gone = on_client_gone;
	hr_req_watch_peer(rq);
}
