/* chat.c - POST /v1/chat/completions: parse, find the model, call its provider through the
 * codec, and answer (whole or streamed), recording usage, cost and the outcome. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <stdlib.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/client.h"
#include "http/server.h"
#include "http/sse.h"
#include "providers/provider.h"
#include "storage/store.h"

#define HR_ERROR_BODY_MAX (64u * 1024) /* what we keep of a provider's error answer */

struct chat {
	struct hr_req *rq;
	const struct hr_conf_model *m;
	const struct hr_provider_ops *ops;
	struct hr_chat_req creq;
	struct hr_http_out out;
	struct hr_call *call;
	long status;
	char retry_after[64];
	struct hr_buf body; /* a whole answer, or a provider's error */
	struct hr_sse sse;
	bool got_done;
	int stream_err; /* the provider sent an error event */
	struct hr_usage_counts usage;
	const char *finish_reason;
	size_t completion_bytes;
};

static void release_cb(void *p)
{
	hr_buf_release(p);
}

static void sse_release_cb(void *p)
{
	hr_sse_release(p);
}

static bool is_2xx(long s)
{
	return s >= 200 && s < 300;
}

/* Fills the usage record from what we know; returns the cost. */
static double settle_usage(struct chat *ch)
{
	struct hr_usage *u = ch->rq->usage;
	struct hr_usage_counts uc = ch->usage;
	if (!uc.present) {
		uc.prompt_tokens = hr_tokens_estimate(ch->creq.prompt_bytes);
		uc.completion_tokens = hr_tokens_estimate(ch->completion_bytes);
	}
	double cost = (double)uc.prompt_tokens * ch->m->input_price_per_mtok / 1e6 +
	              (double)uc.completion_tokens * ch->m->output_price_per_mtok / 1e6;
	if (u) {
		u->prompt_tokens = uc.prompt_tokens;
		u->completion_tokens = uc.completion_tokens;
		u->cached_tokens = uc.cached_tokens;
		u->reasoning_tokens = uc.reasoning_tokens;
		u->tokens_estimated = !uc.present;
		u->cost_usd = cost;
		if (ch->finish_reason)
			hr_usage_set(&u->finish_reason, ch->finish_reason);
	}
	return cost;
}

static void cost_header(struct chat *ch, double cost)
{
	char v[32];
	snprintf(v, sizeof v, "%.8f", cost);
	hr_req_header(ch->rq, "X-Hearth-Cost", v);
	if (!ch->usage.present)
		hr_req_header(ch->rq, "X-Hearth-Usage", "estimated");
}

/* Ends a streamed reply with an error event the client's SDK will raise. */
static void stream_fail(struct chat *ch, int err, const char *msg)
{
	struct hr_req *rq = ch->rq;
	struct hr_buf b = HR_BUF_INIT(8192);
	if (!msg)
		msg = hr_err_msg(err);
	settle_usage(ch);
	if (rq->usage && !rq->usage->error_code)
		hr_usage_set(&rq->usage->error_code, hr_err_code(err));
	HR_RLOG_WARN(rq->id, HTTP, "stream ended with %s: %s", hr_err_code(err), msg);
	hr_buf_addstr(&b, "data: {\"error\":{\"message\":\"");
	hr_buf_add_json_escaped(&b, msg, strlen(msg));
	hr_buf_addf(&b, "\",\"type\":\"%s\",\"code\":\"%s\",\"param\":null}}\n\n", hr_err_type(err),
	            hr_err_code(err));
	hr_req_respond(rq, hr_err_status(err), NULL, &b);
}

/* The provider's answer is complete or failed: answer the client. */
static void finish(struct chat *ch, int rc)
{
	struct hr_req *rq = ch->rq;
	ch->call = NULL;
	if (rq->client_gone || rc == HR_ECANCELED) {
		settle_usage(ch);
		hr_req_respond(rq, 499, NULL, NULL);
		return;
	}
	if (rc == 0 && !is_2xx(ch->status)) {
		const char *msg = NULL;
		int err = ch->ops->map_error(rq->arena, ch->status,
		                             ch->body.ptr ? ch->body.ptr : "", ch->body.len, &msg);
		HR_RLOG_WARN(rq->id, HTTP, "provider '%s' answered %ld", ch->m->provider->id,
		             ch->status);
		if (ch->retry_after[0])
			hr_req_header(rq, "Retry-After", ch->retry_after);
		if (!msg || err != HR_EINVAL)
			msg = hr_arena_printf(rq->arena, "%s (provider '%s', HTTP %ld)%s%s",
			                      hr_err_msg(err), ch->m->provider->id, ch->status,
			                      msg ? ": " : "", msg ? msg : "");
		if (rq->started)
			stream_fail(ch, err, msg);
		else
			hr_req_error(rq, err, msg, NULL);
		return;
	}
	if (rc < 0) {
		const char *msg = hr_arena_printf(rq->arena, "%s (provider '%s')", hr_err_msg(rc),
		                                  ch->m->provider->id);
		if (rq->started) {
			stream_fail(ch, rc, msg);
		} else {
			settle_usage(ch);
			hr_req_error(rq, rc, msg, NULL);
		}
		return;
	}
	if (!ch->creq.stream) {
		struct hr_chat_result res = {0};
		const char *msg = NULL;
		int err = hr_openai_decode_summary(rq->arena, ch->body.ptr ? ch->body.ptr : "",
		                                   ch->body.len, &res, &msg);
		if (err < 0) {
			hr_req_error(rq, err,
			             hr_arena_printf(rq->arena, "%s (provider '%s'): %s",
			                             hr_err_msg(err), ch->m->provider->id,
			                             msg ? msg : "?"),
			             NULL);
			return;
		}
		ch->usage = res.usage;
		ch->finish_reason = res.finish_reason;
		ch->completion_bytes = res.completion_bytes;
		cost_header(ch, settle_usage(ch));
		hr_req_respond(rq, 200, "application/json", &ch->body);
		return;
	}
	/* a stream: complete only with [DONE] or a finish_reason, else it was cut */
	if (ch->stream_err) {
		settle_usage(ch);
		if (rq->usage && !rq->usage->error_code)
			hr_usage_set(&rq->usage->error_code, hr_err_code(HR_EUPSTREAM));
		hr_req_respond(rq, hr_err_status(HR_EUPSTREAM), NULL, NULL);
		return;
	}
	if (!ch->got_done && !ch->finish_reason) {
		if (!rq->started) {
			settle_usage(ch);
			hr_req_error(rq, HR_ESTREAM_CUT, NULL, NULL);
		} else {
			stream_fail(ch, HR_ESTREAM_CUT, NULL);
		}
		return;
	}
	if (!rq->started)
		hr_req_header(rq, "X-Hearth-Cost", "pending");
	if (hr_req_stream_start(rq, "text/event-stream") < 0) {
		settle_usage(ch);
		hr_req_respond(rq, 499, NULL, NULL);
		return;
	}
	double cost = settle_usage(ch);
	struct hr_buf tail = HR_BUF_INIT(256);
	hr_buf_addf(&tail, ": x-hearth-cost=%.8f\n%s\ndata: [DONE]\n\n", cost,
	            ch->usage.present ? "" : ": x-hearth-usage=estimated\n");
	hr_req_respond(rq, 200, NULL, &tail);
}

static void on_done(void *arg, int rc)
{
	finish(arg, rc);
}

static int on_headers(void *arg, long status, const char *retry_after)
{
	struct chat *ch = arg;
	ch->status = status;
	if (retry_after)
		snprintf(ch->retry_after, sizeof ch->retry_after, "%s", retry_after);
	if (!is_2xx(status))
		hr_buf_init(&ch->body, HR_ERROR_BODY_MAX);
	return 0;
}

static int forward_chunk(struct chat *ch, const char *data, size_t len)
{
	struct hr_req *rq = ch->rq;
	if (!rq->started) /* the cost is known only at the end: see the closing comment */
		hr_req_header(rq, "X-Hearth-Cost", "pending");
	int rc = hr_req_stream_start(rq, "text/event-stream");
	if (rc < 0)
		return rc;
	struct hr_buf b = HR_BUF_INIT(len + 16);
	if ((rc = hr_buf_addstr(&b, "data: ")) < 0 || (rc = hr_buf_add(&b, data, len)) < 0 ||
	    (rc = hr_buf_addstr(&b, "\n\n")) < 0) {
		hr_buf_release(&b);
		return rc;
	}
	rc = hr_req_stream_send(rq, b.ptr, b.len);
	hr_buf_release(&b);
	if (rc == 1 && ch->call) { /* a slow client: stop reading until it catches up */
		hr_call_pause(ch->call, true);
		rc = 0;
	}
	return rc;
}

static int on_event(void *arg, const char *event, size_t event_len, const char *data,
                    size_t data_len)
{
	(void)event, (void)event_len;
	struct chat *ch = arg;
	struct hr_stream_ev ev = {0};
	const char *msg = NULL;
	int rc = hr_openai_decode_stream_summary(ch->rq->arena, data, data_len, &ev, &msg);
	if (rc < 0) {
		HR_RLOG_WARN(ch->rq->id, HTTP, "provider '%s' sent an undecodable event: %s",
		             ch->m->provider->id, msg ? msg : "?");
		return HR_EUPSTREAM_BAD;
	}
	switch (ev.type) {
	case HR_FWD_DONE: ch->got_done = true; return 0;
	case HR_FWD_ERROR:
		ch->stream_err = 1;
		HR_RLOG_WARN(ch->rq->id, HTTP, "provider '%s' reported an error in its stream",
		             ch->m->provider->id);
		return forward_chunk(ch, data, data_len);
	case HR_FWD_CHUNK: break;
	}
	if (ev.usage.present)
		ch->usage = ev.usage;
	if (ev.finish_reason)
		ch->finish_reason = ev.finish_reason;
	ch->completion_bytes += ev.delta_bytes;
	if (ev.usage_only && !ch->creq.include_usage)
		return 0; /* hearth asked for it; the client did not */
	return forward_chunk(ch, data, data_len);
}

static int on_data(void *arg, const char *p, size_t n)
{
	struct chat *ch = arg;
	if (ch->rq->client_gone)
		return HR_ECANCELED;
	if (!is_2xx(ch->status)) {
		(void)hr_buf_add(&ch->body, p, n); /* keep the first part of an error */
		return 0;
	}
	if (!ch->creq.stream) {
		int rc = hr_buf_add(&ch->body, p, n);
		return rc == HR_ETOOBIG ? HR_EUPSTREAM_TOOBIG : rc;
	}
	int rc = hr_sse_feed(&ch->sse, p, n);
	if (rc == HR_ETOOBIG)
		return HR_EUPSTREAM_TOOBIG;
	return rc;
}

static void on_client_gone(struct hr_req *rq)
{
	struct chat *ch = rq->state;
	if (ch->call) {
		hr_call_cancel(ch->call);
		ch->call = NULL;
	}
	finish(ch, HR_ECANCELED);
}

static void on_drained(struct hr_req *rq)
{
	struct chat *ch = rq->state;
	if (ch->call)
		hr_call_pause(ch->call, false);
}

static void list_models(struct hr_req *rq, const char *asked)
{
	const struct hr_conf *c = rq->conf;
	struct hr_buf b = HR_BUF_INIT(4096);
	hr_buf_addf(&b, "model '%s' not found; available: ", asked);
	for (size_t i = 0; i < c->n_models; i++)
		if (hr_buf_addf(&b, "%s%s", i ? ", " : "", c->models[i].name) < 0)
			break;
	if (c->n_models == 0)
		hr_buf_addstr(&b, "none (configure models in hearth.yaml; see docs/config.md)");
	const char *msg = hr_arena_strndup(rq->arena, b.ptr, b.len);
	hr_buf_release(&b);
	hr_req_error(rq, HR_ENOMODEL, msg, "model");
}

void hr_api_chat(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	struct chat *ch = hr_arena_calloc(rq->arena, sizeof *ch);
	if (!ch) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	ch->rq = rq;
	rq->state = ch;
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	struct hr_chat_limits lim = {c->limits.max_messages, c->limits.max_tools,
	                             c->limits.max_json_depth};
	const char *msg = NULL, *param = NULL;
	int rc = hr_chat_parse(rq->arena, body ? body : "", len, &lim, &ch->creq, &msg, &param);
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
		return;
	}
	hr_usage_set(&rq->usage->model_asked, ch->creq.model);
	rq->usage->stream = ch->creq.stream;

	ch->m = hr_conf_model_find(c, ch->creq.model, strlen(ch->creq.model));
	if (!ch->m) {
		list_models(rq, ch->creq.model);
		return;
	}
	ch->ops = hr_provider_find(ch->m->provider->kind);
	if (!ch->ops) {
		hr_req_error(rq, HR_ECONF, "the model's provider kind is not supported", NULL);
		return;
	}
	hr_usage_set(&rq->usage->model_used, ch->m->name);
	hr_usage_set(&rq->usage->provider, ch->m->provider->id);
	hr_req_header(rq, "X-Hearth-Model", ch->m->name);

	hr_buf_init(&ch->out.body, c->server.max_body_bytes * 2 + 65536);
	hr_buf_init(&ch->body, c->limits.max_response_bytes);
	if (hr_arena_defer(rq->arena, release_cb, &ch->out.body) < 0 ||
	    hr_arena_defer(rq->arena, release_cb, &ch->body) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	rc = ch->ops->encode_chat(rq->arena, ch->m, &ch->creq, &ch->out, &msg, &param);
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
		return;
	}
	if (ch->creq.stream) {
		hr_sse_init(&ch->sse, c->limits.max_stream_line_bytes, on_event, ch);
		if (hr_arena_defer(rq->arena, sse_release_cb, &ch->sse) < 0) {
			hr_sse_release(&ch->sse);
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
			return;
		}
	}
	const struct hr_conf_provider *p = ch->m->provider;
	struct hr_call_opts o = {
	    .url = ch->out.url,
	    .headers = ch->out.headers,
	    .body = ch->out.body.ptr,
	    .body_len = ch->out.body.len,
	    .connect_timeout_ms = p->connect_timeout_ms,
	    .first_byte_timeout_ms = p->first_byte_timeout_ms,
	    .idle_timeout_ms = p->idle_timeout_ms,
	    .total_timeout_ms = p->total_timeout_ms,
	    .rid = rq->id,
	    .on_headers = on_headers,
	    .on_data = on_data,
	    .on_done = on_done,
	    .arg = ch,
	};
	rc = hr_call_start(rq->w->client, &o, &ch->call);
	if (rc < 0) {
		hr_req_error(rq, rc, NULL, NULL);
		return;
	}
	rq->on_client_gone = on_client_gone;
	rq->on_drained = on_drained;
	hr_req_watch_peer(rq);
	HR_RLOG_DEBUG(rq->id, ROUTE, "model '%s' via provider '%s'", ch->m->name, p->id);
}
