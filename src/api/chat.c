/* chat.c - POST /v1/chat/completions: parse, find the model, call its provider through the
 * codec, and answer (whole or streamed), recording usage, cost and the outcome. */
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>
#include <strings.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/limits.h"
#include "api/plan.h"
#include "api/req.h"
#include "api/shadow.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "governance/detect.h"
#include "governance/policy.h"
#include "governance/redact.h"
#include "http/client.h"
#include "http/server.h"
#include "http/sse.h"
#include "learn/learn.h"
#include "providers/dialect.h"
#include "providers/provider.h"
#include "router/router.h"
#include "storage/store.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"

#define HR_ERROR_BODY_MAX (64u * 1024) /* what we keep of a provider's error answer */

struct chat {
	struct hr_req *rq;
	const struct hr_conf_model *m;
	const struct hr_provider_ops *ops;
	struct hr_chat_req creq;
	/* The provider speaks the client's format: its bytes are forwarded unchanged (and
	 * decoded only for the record). Otherwise answers are decoded into canonical events
	 * and rendered in the client's format. */
	bool passthrough;
	struct hr_http_out out;
	struct hr_call *call;
	long status;
	char retry_after[64];
	struct hr_buf body; /* a whole answer, or a provider's error */
	struct hr_sse sse;
	struct hr_buf line; /* NDJSON: the incomplete line */
	struct hr_stream_dec dec;
	struct hr_sev_list evs;
	struct hr_render rnd;
	const char *answer_id; /* the id a translated answer carries */
	bool got_done;         /* the provider's end-of-stream marker */
	bool finished;         /* the provider gave a finish reason */
	int stream_err;        /* the provider sent an error event: its HR_E* code */
	const char *stream_err_msg;
	struct hr_usage_counts usage;
	const char *finish_reason;
	size_t completion_bytes;

	/* routing: the plan, the candidate being tried, and what failed before it */
	struct hr_features feat;
	struct hr_plan plan;
	size_t cand;            /* index into plan.cands */
	int tries;              /* calls made to the current candidate */
	int attempts;           /* calls made in all */
	struct hr_buf failed;   /* "model:code,..." of attempts that failed */
	struct event *retry_ev; /* a pending retry of the current candidate */
	int last_err;           /* why the last candidate could not start */
	const char *last_msg, *last_param;
	double spent; /* cost of answers the cascade's checks turned down */

	/* the data policy's redaction: when the current attempt sends placeholders, the
	 * answer is decoded (never passed through) and restored; one restorer for the text,
	 * one per tool call's arguments (arena array by index) */
	struct hr_policy_result pol;
	bool redacting;
	uint32_t redacted[HR_PII__COUNT]; /* placeholders sent, over all attempts */
	struct hr_redact_stream rtext;
	struct hr_redact_stream *rtools;
	size_t n_rtools;

	/* the concurrency gate of the candidate being tried */
	/* learning online: this answer is shadowed (hr_learn_sampled), so its text is kept */
	bool shadow;
	struct hr_buf text;
	/* the cascade's judged check: the answer waiting for the judge, and its answer */
	struct hr_chat_resp jres;
	double jcost;
	struct hr_buf jbuf;
	bool jbuf_ready;
	long jstatus;

	const char *slot;             /* the model whose slot this request holds, or NULL */
	const char *queued_on;        /* the model in whose queue it waits, or NULL */
	struct hr_gate_waiter waiter; /* its place in that queue */
	struct event *wait_ev;        /* wakes it: a slot handed over, or the queue timeout */

	struct hr_req_limits lim; /* rate limits and budget reservations (api/limits.h) */
};

static int start_attempt(struct chat *ch);
static bool start_from(struct chat *ch);
static void release_slot(struct chat *ch);
static void unqueue(struct chat *ch);
static int exhausted(struct chat *ch, int err, const char **msg);

static int chat_line(struct chat *ch, const char *p, size_t n);

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

/* A shadowed answer's text, for the judge (what does not fit is left out). */
static void keep_text(struct chat *ch, const struct hr_str *t)
{
	if (ch->shadow && t->len)
		(void)hr_buf_add(&ch->text, t->ptr, t->len);
}

/* The answer reached the client whole: what learning online takes from it. */
static void answered(struct chat *ch)
{
	struct hr_learn_answer a = {.t = ch->plan.t,
	                            .model = ch->m ? ch->m->name : NULL,
	                            .creq = &ch->creq,
	                            .text = ch->text.ptr,
	                            .text_len = ch->text.len,
	                            .shadow = ch->shadow};
	if (a.t && (a.shadow || a.t->keep_prompts))
		hr_learn_answered(ch->rq, &a);
}

/* Fills the usage record from what we know; returns the cost. */
static double settle_usage(struct chat *ch)
{
	struct hr_usage *u = ch->rq->usage;
	struct hr_usage_counts uc = ch->usage;
	if (!uc.present) {
		uc.prompt_tokens = hr_tokens_estimate(ch->creq.prompt_bytes);
		uc.completion_tokens = hr_tokens_estimate(ch->completion_bytes);
		ch->usage = uc; /* what a translated answer reports; still flagged estimated */
		ch->usage.present = false;
	}
	double cost = ch->spent; /* no model yet: the request left while queued */
	if (ch->m)
		cost += (double)uc.prompt_tokens * ch->m->input_price_per_mtok / 1e6 +
		        (double)uc.completion_tokens * ch->m->output_price_per_mtok / 1e6;
	if (u) {
		u->prompt_tokens = uc.prompt_tokens;
		u->completion_tokens = uc.completion_tokens;
		u->cached_tokens = uc.cached_tokens;
		u->reasoning_tokens = uc.reasoning_tokens;
		u->tokens_estimated = !uc.present;
		u->cost_usd = cost;
		ch->lim.cost = cost, ch->lim.tokens = (long)(uc.prompt_tokens + uc.completion_tokens);
		if (ch->finish_reason)
			hr_usage_set(&u->finish_reason, ch->finish_reason);
		/* savings: the same tokens at the reference's prices (docs/monitoring.md) */
		const struct hr_conf_model *ref = hr_conf_reference(ch->rq->conf, ch->plan.t);
		if (ref && ch->m && !ch->rq->origin) { /* hearth's own calls save nothing */
			hr_usage_set(&u->reference_model, ref->name);
			u->reference_cost_usd =
			    (double)uc.prompt_tokens * ref->input_price_per_mtok / 1e6 +
			    (double)uc.completion_tokens * ref->output_price_per_mtok / 1e6;
		}
		if (ch->m && ch->m->provider)
			hr_usage_set(&u->locality,
			             ch->m->provider->locality == HR_CLOUD ? "cloud" : "local");
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
	if (hr_render_stream_error(rq->dialect, err, msg, &b) < 0) {
		hr_buf_reset(&b);
		(void)hr_render_stream_error(rq->dialect, err, hr_err_msg(err), &b);
	}
	hr_req_respond(rq, hr_render_error_status(rq->dialect, err), NULL, &b);
}

static void fail(struct chat *ch, int err, const char *msg)
{
	if (ch->rq->started) {
		stream_fail(ch, err, msg);
	} else {
		settle_usage(ch);
		hr_req_error(ch->rq, err, msg, NULL);
	}
}

/* The first check of the cascade's (tasks.<name>.checks) that a whole answer fails, as a
 * short word for the route ("empty", ...); NULL when it passes. */
static const char *check_answer(const struct chat *ch, const struct hr_chat_resp *res)
{
	int checks = ch->plan.t ? ch->plan.t->checks : 0;
	bool any_text = false, tool = false;
	for (size_t i = 0; i < res->n_parts; i++) {
		const struct hr_part *pt = &res->parts[i];
		tool |= pt->type == HR_PART_TOOL_CALL;
		for (size_t j = 0; pt->type == HR_PART_TEXT && j < pt->text.len && !any_text; j++)
			any_text = !strchr(" \t\r\n", pt->text.ptr[j]);
	}
	if ((checks & HR_CHECK_REFUSED) &&
	    (res->refusal.len || res->finish == HR_FIN_CONTENT_FILTER))
		return "refused";
	if ((checks & HR_CHECK_EMPTY) && !any_text && !tool)
		return "empty";
	if ((checks & HR_CHECK_TRUNCATED) && res->finish == HR_FIN_LENGTH)
		return "truncated";
	if ((checks & HR_CHECK_JSON) && !tool &&
	    (ch->creq.format == HR_FMT_JSON_OBJECT || ch->creq.format == HR_FMT_JSON_SCHEMA)) {
		struct hr_buf t = HR_BUF_INIT(ch->rq->conf->limits.max_response_bytes);
		bool ok = true;
		for (size_t i = 0; i < res->n_parts && ok; i++)
			if (res->parts[i].type == HR_PART_TEXT)
				ok = hr_buf_add(&t, res->parts[i].text.ptr,
				                res->parts[i].text.len) == 0;
		json_t *j =
		    ok ? json_loadb(t.ptr ? t.ptr : "", t.len, JSON_DECODE_ANY, NULL) : NULL;
		hr_buf_release(&t);
		if (!j)
			return "invalid_json";
		json_decref(j);
	}
	return NULL;
}

/* ---- the data policy's redaction: placeholders back to the values ---- */

/* text restored into the arena (json: tool-call arguments). */
static int restore_str(struct chat *ch, struct hr_str *t, bool json)
{
	if (!t->len)
		return 0;
	struct hr_buf b = HR_BUF_INIT(ch->rq->conf->limits.max_response_bytes);
	int rc = hr_redact_restore(&ch->pol.map, json, t->ptr, t->len, &b);
	const char *p = rc == 0 ? hr_arena_strndup(ch->rq->arena, b.ptr ? b.ptr : "", b.len) : NULL;
	if (rc == 0 && !p)
		rc = HR_ENOMEM;
	if (rc == 0)
		*t = (struct hr_str){p, b.len};
	hr_buf_release(&b);
	return rc;
}

static int restore_resp(struct chat *ch, struct hr_chat_resp *res)
{
	int rc = restore_str(ch, &res->refusal, false);
	for (size_t i = 0; i < res->n_parts && rc == 0; i++) {
		struct hr_part *pt = &res->parts[i];
		rc = pt->type == HR_PART_TOOL_CALL ? restore_str(ch, &pt->arguments, true)
		                                   : restore_str(ch, &pt->text, false);
	}
	return rc;
}

/* The restorer of tool call index (made on first use), or NULL when out of memory. */
static struct hr_redact_stream *tool_restorer(struct chat *ch, size_t index)
{
	if (index >= ch->n_rtools) {
		if (index >= 65536)
			return NULL;
		size_t n = index + 1 > ch->n_rtools * 2 ? index + 1 : ch->n_rtools * 2;
		struct hr_redact_stream *v = hr_arena_alloc(ch->rq->arena, n * sizeof *v);
		if (!v)
			return NULL;
		if (ch->n_rtools)
			memcpy(v, ch->rtools, ch->n_rtools * sizeof *v);
		for (size_t i = ch->n_rtools; i < n; i++)
			hr_redact_stream_init(&v[i], &ch->pol.map, true);
		ch->rtools = v, ch->n_rtools = n;
	}
	return &ch->rtools[index];
}

/* Appends an event of type t (index) with the restored bytes of b, if any. */
static int push_restored(struct chat *ch, struct hr_sev_list *l, enum hr_sev_type t, size_t index,
                         struct hr_buf *b)
{
	if (!b->len)
		return 0;
	struct hr_sev *e = hr_sev_push(ch->rq->arena, l, t);
	const char *p = e ? hr_arena_strndup(ch->rq->arena, b->ptr, b->len) : NULL;
	if (!p)
		return HR_ENOMEM;
	e->index = index;
	e->text = (struct hr_str){p, b->len};
	hr_buf_reset(b);
	return 0;
}

/* What the restorers hold back, out as events: all of them but keep (the stream the next
 * piece continues: -2 none, -1 the text, else a tool call's index). */
static int flush_restorers(struct chat *ch, struct hr_sev_list *l, long keep, struct hr_buf *b)
{
	int rc = 0;
	if (keep != -1 && (rc = hr_redact_stream_flush(&ch->rtext, b)) == 0)
		rc = push_restored(ch, l, HR_SEV_TEXT, 0, b);
	for (size_t i = 0; i < ch->n_rtools && rc == 0; i++)
		if ((long)i != keep && ch->rtools[i].n_hold &&
		    (rc = hr_redact_stream_flush(&ch->rtools[i], b)) == 0)
			rc = push_restored(ch, l, HR_SEV_TOOL_ARGS, i, b);
	return rc;
}

/* Rewrites ch->evs with the placeholders of text and tool-call arguments restored; a
 * placeholder split across events is held back until it is whole (or is not one). end:
 * the stream is over, out with everything held. */
static int restore_events(struct chat *ch, bool end)
{
	struct hr_sev_list out = {0};
	struct hr_buf b = HR_BUF_INIT(ch->rq->conf->limits.max_response_bytes);
	int rc = 0;
	for (size_t i = 0; i < ch->evs.n && rc == 0; i++) {
		const struct hr_sev *ev = &ch->evs.v[i];
		if (ev->type == HR_SEV_TEXT) {
			if ((rc = flush_restorers(ch, &out, -1, &b)) == 0 &&
			    (rc = hr_redact_stream_feed(&ch->rtext, ev->text.ptr, ev->text.len,
			                                &b)) == 0)
				rc = push_restored(ch, &out, HR_SEV_TEXT, 0, &b);
		} else if (ev->type == HR_SEV_TOOL_ARGS) {
			struct hr_redact_stream *r = tool_restorer(ch, ev->index);
			if (!r)
				rc = HR_ENOMEM;
			else if ((rc = flush_restorers(ch, &out, (long)ev->index, &b)) == 0 &&
			         (rc = hr_redact_stream_feed(r, ev->text.ptr, ev->text.len, &b)) ==
			             0)
				rc = push_restored(ch, &out, HR_SEV_TOOL_ARGS, ev->index, &b);
		} else {
			if (ev->type != HR_SEV_USAGE && ev->type != HR_SEV_START)
				rc = flush_restorers(ch, &out, -2, &b);
			struct hr_sev *e =
			    rc == 0 ? hr_sev_push(ch->rq->arena, &out, ev->type) : NULL;
			if (e)
				*e = *ev;
			else if (rc == 0)
				rc = HR_ENOMEM;
		}
	}
	if (rc == 0 && end)
		rc = flush_restorers(ch, &out, -2, &b);
	hr_buf_release(&b);
	if (rc == 0)
		ch->evs = out;
	return rc;
}

static bool escalate(struct chat *ch, const char *why);
static void deliver(struct chat *ch, struct hr_chat_resp *res, double cost);

/* ---- the cascade's judged check: the task's judge scores a whole answer ---- */

/* The judge's instructions for one answer (docs/routing.md quotes them). */
static const char judge_one_system[] =
    "You are an impartial judge of an answer to a user's request. Rate how well it serves "
    "the request: correct, helpful, complete and clear. Reply with only a JSON object: "
    "{\"score\": <1-10>}.";

static int judge_headers(void *arg, long status, const char *retry_after)
{
	(void)retry_after;
	((struct chat *)arg)->jstatus = status;
	return 0;
}

static int judge_data(void *arg, const char *p, size_t n)
{
	return hr_buf_add(&((struct chat *)arg)->jbuf, p, n) < 0 ? HR_ETOOBIG : 0;
}

/* The judge answered (or not): escalate a low score, else deliver. A judge that cannot
 * score lets the answer through (the verifier's outage is not the answer's fault). */
static void judge_done(void *arg, int rc)
{
	struct chat *ch = arg;
	struct hr_req *rq = ch->rq;
	double score = -1;
	ch->call = NULL;
	json_t *root = rc == 0 && ch->jstatus == 200
	                   ? json_loadb(ch->jbuf.ptr ? ch->jbuf.ptr : "", ch->jbuf.len, 0, NULL)
	                   : NULL;
	json_t *msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0),
	                              "message");
	const char *text = json_string_value(json_object_get(msg, "content"));
	if (!text || hr_learn_judge_parse_one(text, strlen(text), &score) < 0) {
		HR_RLOG_WARN(rq->id, ROUTE,
		             "cascade: the judge '%s' gave no score (%s%ld); the answer stands",
		             ch->plan.t->judge, rc < 0 ? "error " : "HTTP ",
		             rc < 0 ? (long)rc : ch->jstatus);
	} else {
		HR_RLOG_INFO(rq->id, ROUTE, "cascade: the judge scored '%s' %.2f (target %.2f)",
		             ch->m->name, score, ch->plan.t->quality_target);
	}
	json_decref(root);
	if (score >= 0 && score < ch->plan.t->quality_target && escalate(ch, "judged_low"))
		return;
	deliver(ch, &ch->jres, ch->jcost);
}

/* Asks the task's judge about res. Returns true when the call is under way. */
static bool judge_start(struct chat *ch, const struct hr_chat_resp *res, double cost)
{
	struct hr_req *rq = ch->rq;
	const struct hr_str *prompt = hr_learn_prompt_of(&ch->creq);
	struct hr_buf ans = HR_BUF_INIT(HR_SHADOW_TEXT_MAX);
	for (size_t i = 0; i < res->n_parts; i++)
		if (res->parts[i].type == HR_PART_TEXT)
			(void)hr_buf_add(&ans, res->parts[i].text.ptr, res->parts[i].text.len);
	json_t *root = NULL;
	char *body = NULL;
	if (prompt && ans.len) { /* a tool call is not judged */
		char *user = hr_arena_printf(rq->arena, "[Request]\n%.*s\n\n[Answer]\n%.*s",
		                             (int)prompt->len, prompt->ptr, (int)ans.len, ans.ptr);
		root = user ? json_pack("{s:s, s:i, s:[{s:s, s:s}, {s:s, s:s}]}", "model",
		                        ch->plan.t->judge, "temperature", 0, "messages", "role",
		                        "system", "content", judge_one_system, "role", "user",
		                        "content", user)
		            : NULL;
		body = root ? json_dumps(root, JSON_COMPACT) : NULL;
	}
	hr_buf_release(&ans);
	json_decref(root);
	char *b = body ? hr_arena_strndup(rq->arena, body, strlen(body)) : NULL;
	free(body);
	if (!b)
		return false;
	ch->jres = *res;
	ch->jcost = cost;
	if (!ch->jbuf_ready) { /* once: a cascade may judge more than one answer */
		hr_buf_init(&ch->jbuf, HR_SHADOW_TEXT_MAX * 4);
		if (hr_arena_defer(rq->arena, release_cb, &ch->jbuf) < 0)
			return false;
		ch->jbuf_ready = true;
	}
	hr_buf_reset(&ch->jbuf);
	ch->jstatus = 0;
	struct hr_call_opts o = {.url = "/v1/chat/completions",
	                         .body = b,
	                         .body_len = strlen(b),
	                         .rid = rq->id,
	                         .on_headers = judge_headers,
	                         .on_data = judge_data,
	                         .on_done = judge_done,
	                         .arg = ch};
	if (hr_learn_internal_call(rq, "judge", &o, &ch->call) < 0) {
		HR_RLOG_WARN(rq->id, ROUTE, "cascade: the judge could not be asked; the answer stands");
		return false;
	}
	return true;
}

/* A whole (non-streamed) answer. */
static void answer(struct chat *ch)
{
	struct hr_req *rq = ch->rq;
	struct hr_chat_resp res = {0};
	const char *msg = NULL;
	const char *body = ch->body.ptr ? ch->body.ptr : "";
	/* a cascade with a candidate left reads the whole answer to check it */
	bool check = ch->plan.strategy == HR_STRAT_CASCADE && ch->cand + 1 < ch->plan.n &&
	             ch->plan.t && ch->plan.t->checks;
	int err = ch->ops == &hr_provider_openai && ch->passthrough && !check && !ch->shadow
	              ? hr_openai_decode_summary(rq->arena, body, ch->body.len, &res, &msg)
	              : ch->ops->decode_chat(rq->arena, body, ch->body.len, &res, &msg);
	if (err < 0) {
		fail(ch, err,
		     hr_arena_printf(rq->arena, "%s (provider '%s'): %s", hr_err_msg(err),
		                     ch->m->provider->id, msg ? msg : "?"));
		return;
	}
	if (ch->redacting && (err = restore_resp(ch, &res)) < 0) {
		fail(ch, err, "the answer could not be restored from its placeholders");
		return;
	}
	ch->usage = res.usage;
	ch->finish_reason = res.finish_reason ? res.finish_reason : hr_finish_name(res.finish);
	ch->completion_bytes = res.completion_bytes;
	if (!ch->completion_bytes)
		for (size_t i = 0; i < res.n_parts; i++)
			ch->completion_bytes += res.parts[i].text.len + res.parts[i].arguments.len;
	double cost = settle_usage(ch);
	const char *failed = check ? check_answer(ch, &res) : NULL;
	if (failed && escalate(ch, failed))
		return;
	if (!failed && check && (ch->plan.t->checks & HR_CHECK_JUDGED) && judge_start(ch, &res, cost))
		return; /* judge_done() goes on */
	deliver(ch, &res, cost);
}

/* A whole answer that passed its checks, to the client. */
static void deliver(struct chat *ch, struct hr_chat_resp *res, double cost)
{
	struct hr_req *rq = ch->rq;
	for (size_t i = 0; i < res->n_parts; i++)
		if (res->parts[i].type == HR_PART_TEXT)
			keep_text(ch, &res->parts[i].text);
	answered(ch);
	if (ch->passthrough) {
		cost_header(ch, cost);
		hr_req_respond(rq, 200, "application/json", &ch->body);
		return;
	}
	res->usage = ch->usage;
	struct hr_buf b = HR_BUF_INIT(ch->rq->conf->limits.max_response_bytes);
	int err = hr_render_resp(rq->arena, rq->dialect, res, ch->answer_id, ch->m->name,
	                         (int64_t)time(NULL), &b);
	if (err < 0) {
		hr_buf_release(&b);
		fail(ch, err,
		     err == HR_EUPSTREAM_BAD
		         ? "the provider's tool call arguments are not a JSON object"
		         : NULL);
		return;
	}
	cost_header(ch, cost);
	hr_req_respond(rq, 200, "application/json", &b);
}

/* ---- routing: attempts, retries and fallbacks ---- */

static int64_t now_ms(void)
{
	return hr_now_us() / 1000;
}

static void breaker_report(struct chat *ch, bool ok)
{
	if (ch->rq->api->breakers && ch->m)
		hr_breaker_report(ch->rq->api->breakers, ch->m->name, ok, now_ms());
}

static void note_failure(struct chat *ch, const char *model, const char *what)
{
	(void)hr_buf_addf(&ch->failed, "%s%s:%s", ch->failed.len ? "," : "", model, what);
}

/* The X-Hearth-Route header and the record's route, for the candidate being tried. */
static void set_route(struct chat *ch)
{
	struct hr_req *rq = ch->rq;
	struct hr_buf b = HR_BUF_INIT(2048);
	long chosen = ch->cand == (size_t)-1 ? -1 : (long)ch->cand;
	if (hr_route_explain(&ch->plan, chosen, 1536, &b) == 0) {
		if (ch->failed.len)
			(void)hr_buf_addf(&b, "; failed=%.400s", ch->failed.ptr);
		evhttp_remove_header(evhttp_request_get_output_headers(rq->ev), "X-Hearth-Route");
		hr_req_header(rq, "X-Hearth-Route", b.ptr ? b.ptr : "");
		if (rq->usage)
			hr_usage_set(&rq->usage->route, b.ptr);
	}
	hr_buf_release(&b);
}

/* Jittered exponential backoff before calling the same candidate again, honouring the
 * provider's Retry-After (seconds) when it asks for a short wait; -1 when it asks for a
 * longer one than hearth waits (then the next candidate is better). */
static int64_t backoff_ms(struct chat *ch)
{
	int shift = ch->tries - 1 < 0 ? 0 : ch->tries - 1 > 5 ? 5 : ch->tries - 1;
	int64_t base = 100LL << shift;
	uint32_t r;
	randombytes_buf(&r, sizeof r);
	int64_t wait = base / 2 + (int64_t)(r % (uint32_t)(base / 2 + 1));
	if (ch->retry_after[0]) {
		char *end;
		long secs = strtol(ch->retry_after, &end, 10);
		if (end != ch->retry_after && *end == '\0' && secs >= 0) {
			if (secs * 1000 > HR_RETRY_MAX_WAIT_MS)
				return -1;
			if (secs * 1000 > wait)
				wait = secs * 1000;
		}
	}
	return wait > HR_RETRY_MAX_WAIT_MS ? HR_RETRY_MAX_WAIT_MS : wait;
}

static void event_free_cb(void *ev)
{
	event_free(ev);
}

/* No candidate (left) could start: the client learns why from the last one. */
static void start_failed(struct chat *ch)
{
	const char *msg = ch->last_msg;
	int err = exhausted(ch, ch->last_err, &msg);
	if (err == HR_EOVERLOADED)
		hr_req_header(ch->rq, "Retry-After", "1");
	if (err == HR_EBUDGET)
		hr_api_limits_refused(ch->rq, &ch->lim);
	hr_req_error(ch->rq, err, msg, ch->last_param);
}

static void on_retry(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct chat *ch = arg;
	if (!start_from(ch))
		start_failed(ch);
}

/* The cascade turned the answer down: the next candidate is asked (the answer's cost is
 * kept: it was paid for). Returns false when no candidate could start; the caller then
 * answers with what it has. */
static bool escalate(struct chat *ch, const char *why)
{
	struct hr_req *rq = ch->rq;
	const struct hr_conf_model *m = ch->m;
	const struct hr_provider_ops *ops = ch->ops;
	bool pt = ch->passthrough, red = ch->redacting;
	size_t cand = ch->cand;
	double spent = ch->spent;
	ch->spent = rq->usage ? rq->usage->cost_usd : spent;
	note_failure(ch, m->name, why);
	hr_trace_attempt_end(rq->trace, ch->status, why);
	ch->cand++;
	ch->tries = 0;
	if (start_from(ch)) {
		hr_metrics_escalation(m->name);
		HR_RLOG_INFO(rq->id, ROUTE, "cascade: model '%s' answered %s; asking '%s'", m->name,
		             why, ch->m->name);
		return true;
	}
	ch->m = m, ch->ops = ops, ch->passthrough = pt, ch->cand = cand, ch->spent = spent;
	ch->redacting = red;
	set_route(ch);
	return false;
}

/* After a failure that reached no client byte: retry the candidate, or go on to the next.
 * Returns true when another call is under way (or scheduled), false when the caller must
 * answer with this failure. */
static bool try_again(struct chat *ch, int err, const char *msg)
{
	struct hr_req *rq = ch->rq;
	const struct hr_conf_task *t = ch->plan.t;
	breaker_report(ch, false);
	note_failure(ch, ch->m->name, hr_err_code(err));
	hr_trace_attempt_end(rq->trace, ch->status, hr_err_code(err));
	ch->last_err = err, ch->last_msg = msg, ch->last_param = NULL;
	bool retryable = hr_route_retryable(err);
	if ((!retryable && !hr_route_next_ok(err)) || rq->client_gone)
		return false;
	/* a plain model is a task of one candidate without retries; the built-in auto falls
	 * back like a task with the defaults */
	int max_retries = t ? t->max_retries : ch->plan.via == HR_VIA_AUTO ? 1 : 0;
	bool fallback = t ? t->fallback : ch->plan.via == HR_VIA_AUTO;
	int64_t wait = retryable && max_retries >= ch->tries ? backoff_ms(ch) : -1;
	if (wait >= 0) {
		if (!ch->retry_ev) {
			ch->retry_ev = evtimer_new(rq->w->base, on_retry, ch);
			if (!ch->retry_ev ||
			    hr_arena_defer(rq->arena, event_free_cb, ch->retry_ev) < 0) {
				if (ch->retry_ev)
					event_free(ch->retry_ev);
				ch->retry_ev = NULL;
				return false;
			}
		}
		struct timeval tv = {(time_t)(wait / 1000), (suseconds_t)(wait % 1000) * 1000};
		hr_metrics_retry(ch->m->name);
		HR_RLOG_INFO(rq->id, ROUTE, "retrying model '%s' in %lld ms after %s", ch->m->name,
		             (long long)wait, hr_err_code(err));
		return evtimer_add(ch->retry_ev, &tv) == 0;
	}
	if (!fallback || ch->cand + 1 >= ch->plan.n)
		return false;
	const struct hr_conf_model *m = ch->m;
	const struct hr_provider_ops *ops = ch->ops;
	bool pt = ch->passthrough, red = ch->redacting;
	size_t cand = ch->cand;
	ch->cand++;
	ch->tries = 0;
	if (start_from(ch)) {
		hr_metrics_fallback(m->name);
		HR_RLOG_INFO(rq->id, ROUTE, "fell back from model '%s' to '%s' after %s", m->name,
		             ch->m->name, hr_err_code(err));
		return true;
	}
	ch->m = m, ch->ops = ops, ch->passthrough = pt, ch->cand = cand;
	ch->redacting = red;
	ch->last_err = err, ch->last_msg = msg, ch->last_param = NULL;
	return false;
}

/* Every candidate the policy allowed failed, and the policy keeps this request local (a
 * local-only task, a sensitive request): the client learns that (503), not only the last
 * local failure. */
static int exhausted(struct chat *ch, int err, const char **msg)
{
	if (ch->rq->started || !ch->plan.local_only ||
	    !(hr_route_retryable(err) || hr_route_next_ok(err)))
		return err;
	const char *m =
	    hr_arena_printf(ch->rq->arena,
	                    "no local model could answer (%s); cloud models are "
	                    "excluded for this %s",
	                    ch->failed.ptr ? ch->failed.ptr : hr_err_code(err),
	                    ch->feat.sensitive ? "sensitive request" : "local-only task");
	if (m)
		*msg = m;
	return HR_EUNAVAIL;
}

/* The provider's answer is complete or failed: answer the client. */
static void finish(struct chat *ch, int rc)
{
	struct hr_req *rq = ch->rq;
	ch->call = NULL;
	release_slot(ch);
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
		if (!msg || err != HR_EINVAL)
			msg = hr_arena_printf(rq->arena, "%s (provider '%s', HTTP %ld)%s%s",
			                      hr_err_msg(err), ch->m->provider->id, ch->status,
			                      msg ? ": " : "", msg ? msg : "");
		if (!rq->started && try_again(ch, err, msg))
			return;
		err = exhausted(ch, err, &msg);
		if (ch->retry_after[0])
			hr_req_header(rq, "Retry-After", ch->retry_after);
		if (rq->started)
			stream_fail(ch, err, msg);
		else /* nothing was produced: no tokens to record */
			hr_req_error(rq, err, msg, NULL);
		return;
	}
	if (ch->creq.stream && ch->line.len > 0 && rc == 0) { /* a last line without newline */
		struct hr_buf l = ch->line;
		ch->line = (struct hr_buf)HR_BUF_INIT(0);
		rc = chat_line(ch, l.ptr, l.len);
		hr_buf_release(&l);
	}
	if (ch->stream_err && !ch->passthrough) {
		const char *msg =
		    hr_arena_printf(rq->arena, "%s (provider '%s')%s%s", hr_err_msg(ch->stream_err),
		                    ch->m->provider->id, ch->stream_err_msg ? ": " : "",
		                    ch->stream_err_msg ? ch->stream_err_msg : "");
		if (!rq->started && try_again(ch, ch->stream_err, msg))
			return;
		int err = exhausted(ch, ch->stream_err, &msg); /* may replace msg */
		fail(ch, err, msg);
		return;
	}
	if (rc < 0) {
		const char *msg = hr_arena_printf(rq->arena, "%s (provider '%s')", hr_err_msg(rc),
		                                  ch->m->provider->id);
		if (!rq->started && try_again(ch, rc, msg))
			return;
		int err = exhausted(ch, rc, &msg); /* may replace msg */
		fail(ch, err, msg);
		return;
	}
	if (!ch->creq.stream) {
		breaker_report(ch, true);
		answer(ch);
		return;
	}
	/* a stream: complete only with the end marker or a finish reason, else it was cut */
	if (ch->stream_err) { /* passed through already: end the reply there */
		settle_usage(ch);
		if (rq->usage && !rq->usage->error_code)
			hr_usage_set(&rq->usage->error_code, hr_err_code(ch->stream_err));
		hr_req_respond(rq, hr_err_status(ch->stream_err), NULL, NULL);
		return;
	}
	if (!ch->got_done && !ch->finished) {
		if (!rq->started && try_again(ch, HR_ESTREAM_CUT, NULL))
			return;
		if (rq->started)
			breaker_report(ch, false);
		fail(ch, HR_ESTREAM_CUT, NULL);
		return;
	}
	breaker_report(ch, true);
	if (!rq->started)
		hr_req_header(rq, "X-Hearth-Cost", "pending");
	if (hr_req_stream_start(rq, "text/event-stream") < 0) {
		settle_usage(ch);
		hr_req_respond(rq, 499, NULL, NULL);
		return;
	}
	double cost = settle_usage(ch);
	struct hr_buf tail = HR_BUF_INIT(1024 * 1024);
	if (!ch->passthrough) {
		int rc2 = 0;
		if (ch->redacting) { /* what the restorers still hold: the stream is over */
			ch->evs.n = 0;
			rc2 = restore_events(ch, true);
			for (size_t i = 0; i < ch->evs.n && rc2 == 0; i++)
				rc2 = hr_render_event(rq->arena, &ch->rnd, &ch->evs.v[i], &tail);
		}
		ch->rnd.usage = ch->usage;
		if (rc2 < 0 || hr_render_end(rq->arena, &ch->rnd, &tail) < 0) {
			hr_buf_release(&tail);
			stream_fail(ch, HR_ENOMEM, NULL);
			return;
		}
	}
	answered(ch);
	hr_buf_addf(&tail, ": x-hearth-cost=%.8f\n%s\n", cost,
	            ch->usage.present ? "" : ": x-hearth-usage=estimated\n");
	if (rq->dialect == HR_DIALECT_OPENAI)
		hr_buf_addstr(&tail, "data: [DONE]\n\n");
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

/* Sends bytes of the streamed reply; a congested client pauses the provider. */
static int send_stream(struct chat *ch, const char *p, size_t n)
{
	struct hr_req *rq = ch->rq;
	if (!rq->started) /* the cost is known only at the end: see the closing comment */
		hr_req_header(rq, "X-Hearth-Cost", "pending");
	int rc = hr_req_stream_start(rq, "text/event-stream");
	if (rc < 0)
		return rc;
	rc = hr_req_stream_send(rq, p, n);
	if (rc == 1 && ch->call) { /* a slow client: stop reading until it catches up */
		hr_call_pause(ch->call, true);
		rc = 0;
	}
	return rc;
}

static int forward_chunk(struct chat *ch, const char *event, size_t event_len, const char *data,
                         size_t len)
{
	struct hr_buf b = HR_BUF_INIT(len + event_len + 32);
	int rc = 0;
	if (event)
		rc = hr_buf_addstr(&b, "event: ");
	if (!rc && event)
		rc = hr_buf_add(&b, event, event_len);
	if (!rc && event)
		rc = hr_buf_addch(&b, '\n');
	if (!rc)
		rc = hr_buf_addstr(&b, "data: ");
	if (!rc)
		rc = hr_buf_add(&b, data, len);
	if (!rc)
		rc = hr_buf_addstr(&b, "\n\n");
	if (!rc)
		rc = send_stream(ch, b.ptr, b.len);
	hr_buf_release(&b);
	return rc;
}

/* The OpenAI pass-through: forward each chunk, read only what the record needs. */
static int openai_event(struct chat *ch, const char *data, size_t data_len)
{
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
		ch->stream_err = HR_EUPSTREAM;
		HR_RLOG_WARN(ch->rq->id, HTTP, "provider '%s' reported an error in its stream",
		             ch->m->provider->id);
		return forward_chunk(ch, NULL, 0, data, data_len);
	case HR_FWD_CHUNK: break;
	}
	if (ev.usage.present)
		ch->usage = ev.usage;
	if (ev.finish_reason) {
		ch->finish_reason = ev.finish_reason;
		ch->finished = true;
	}
	ch->completion_bytes += ev.delta_bytes;
	if (ch->shadow && ev.delta_bytes) { /* the summary has no text: decode it for the judge */
		ch->evs.n = 0;
		if (ch->ops->decode_stream(ch->rq->arena, &ch->dec, NULL, data, data_len, &ch->evs,
		                           &msg) == 0)
			for (size_t i = 0; i < ch->evs.n; i++)
				if (ch->evs.v[i].type == HR_SEV_TEXT)
					keep_text(ch, &ch->evs.v[i].text);
	}
	if (ev.usage_only && !ch->creq.include_usage)
		return 0; /* hearth asked for it; the client did not */
	return forward_chunk(ch, NULL, 0, data, data_len);
}

static void merge_usage(struct hr_usage_counts *to, const struct hr_usage_counts *u)
{
#define MAX_(f) (to->f = u->f > to->f ? u->f : to->f)
	MAX_(prompt_tokens);
	MAX_(completion_tokens);
	MAX_(cached_tokens);
	MAX_(cache_creation_tokens);
	MAX_(reasoning_tokens);
#undef MAX_
	to->present = true;
}

/* Any other stream: decode into canonical events; forward the bytes (same format) or render
 * the events in the client's format. event is NUL-terminated or NULL. */
static int canonical_event(struct chat *ch, const char *event, size_t event_len, const char *data,
                           size_t len)
{
	struct hr_req *rq = ch->rq;
	const char *msg = NULL;
	ch->evs.n = 0;
	int rc = ch->ops->decode_stream(rq->arena, &ch->dec, event, data, len, &ch->evs, &msg);
	if (rc < 0) {
		HR_RLOG_WARN(rq->id, HTTP, "provider '%s' sent an undecodable event: %s",
		             ch->m->provider->id, msg ? msg : "?");
		return HR_EUPSTREAM_BAD;
	}
	if (ch->redacting && (rc = restore_events(ch, false)) < 0)
		return rc;
	struct hr_buf b = HR_BUF_INIT(len + 65536 + ch->evs.n * 512);
	for (size_t i = 0; i < ch->evs.n && rc == 0; i++) {
		const struct hr_sev *ev = &ch->evs.v[i];
		switch (ev->type) {
		case HR_SEV_USAGE: merge_usage(&ch->usage, &ev->usage); break;
		case HR_SEV_TEXT:
			keep_text(ch, &ev->text);
			ch->completion_bytes += ev->text.len;
			break;
		case HR_SEV_TOOL_ARGS: ch->completion_bytes += ev->text.len; break;
		case HR_SEV_FINISH:
			ch->finished = true;
			ch->finish_reason =
			    ev->finish_reason ? ev->finish_reason : hr_finish_name(ev->finish);
			break;
		case HR_SEV_DONE: ch->got_done = true; break;
		case HR_SEV_ERROR:
			ch->stream_err = ev->err ? ev->err : HR_EUPSTREAM;
			ch->stream_err_msg =
			    ev->text.len ? hr_arena_strndup(rq->arena, ev->text.ptr, ev->text.len)
			                 : NULL;
			HR_RLOG_WARN(rq->id, HTTP, "provider '%s' reported an error in its stream",
			             ch->m->provider->id);
			break;
		default: break;
		}
		if (!ch->passthrough && !ch->stream_err)
			rc = hr_render_event(rq->arena, &ch->rnd, ev, &b);
	}
	if (rc == HR_EUPSTREAM_BAD) {
		hr_buf_release(&b);
		ch->stream_err = HR_EUPSTREAM_BAD;
		ch->stream_err_msg = "the provider interleaved tool calls, which this API's stream "
		                     "cannot express";
		return HR_EUPSTREAM_BAD;
	}
	if (rc == 0 && ch->passthrough)
		rc = forward_chunk(ch, event, event ? event_len : 0, data, len);
	else if (rc == 0 && b.len)
		rc = send_stream(ch, b.ptr, b.len);
	hr_buf_release(&b);
	if (rc == 0 && ch->stream_err && !ch->passthrough)
		return HR_EUPSTREAM; /* stop reading: finish() reports the provider's error */
	return rc;
}

static int on_event(void *arg, const char *event, size_t event_len, const char *data,
                    size_t data_len)
{
	struct chat *ch = arg;
	if (ch->ops == &hr_provider_openai && ch->passthrough)
		return openai_event(ch, data, data_len);
	/* "message" is the SSE default name: the provider sent none */
	bool named = event_len && !(event_len == 7 && memcmp(event, "message", 7) == 0);
	const char *ev = named ? hr_arena_strndup(ch->rq->arena, event, event_len) : NULL;
	if (named && !ev)
		return HR_ENOMEM;
	return canonical_event(ch, ev, event_len, data, data_len);
}

static int chat_line(struct chat *ch, const char *p, size_t n)
{
	while (n && (p[n - 1] == '\r' || p[n - 1] == ' '))
		n--;
	if (!n)
		return 0;
	return canonical_event(ch, NULL, 0, p, n);
}

/* NDJSON: split into lines (capped like SSE lines). */
static int feed_lines(struct chat *ch, const char *p, size_t n)
{
	while (n) {
		const char *nl = memchr(p, '\n', n);
		size_t k = nl ? (size_t)(nl - p) : n;
		int rc;
		if (!nl) {
			rc = hr_buf_add(&ch->line, p, k);
			return rc == HR_ETOOBIG ? HR_EUPSTREAM_TOOBIG : rc;
		}
		if (ch->line.len) {
			if ((rc = hr_buf_add(&ch->line, p, k)) < 0)
				return rc == HR_ETOOBIG ? HR_EUPSTREAM_TOOBIG : rc;
			rc = chat_line(ch, ch->line.ptr, ch->line.len);
			hr_buf_reset(&ch->line);
		} else {
			rc = chat_line(ch, p, k);
		}
		if (rc < 0)
			return rc;
		p += k + 1;
		n -= k + 1;
	}
	return 0;
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
	if (ch->ops->framing == HR_FRAME_NDJSON)
		return feed_lines(ch, p, n);
	int rc = hr_sse_feed(&ch->sse, p, n);
	if (rc == HR_ETOOBIG)
		return HR_EUPSTREAM_TOOBIG;
	return rc;
}

static void on_client_gone(struct hr_req *rq)
{
	struct chat *ch = rq->state;
	if (ch->retry_ev)
		evtimer_del(ch->retry_ev);
	unqueue(ch);
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

/* ---- the concurrency gate ---- */

/* Called by whichever thread frees a slot, with the gate's lock held: wake our loop. */
static void slot_ready(void *arg)
{
	struct chat *ch = arg;
	event_active(ch->wait_ev, EV_READ, 0);
}

static void release_slot(struct chat *ch)
{
	if (ch->slot) {
		hr_gate_leave(ch->rq->api->gates, ch->slot);
		ch->slot = NULL;
	}
}

/* Leaves the queue (a slot handed over meanwhile is given back). */
static void unqueue(struct chat *ch)
{
	if (!ch->queued_on)
		return;
	if (!hr_gate_cancel(ch->rq->api->gates, ch->queued_on, &ch->waiter))
		hr_gate_leave(ch->rq->api->gates, ch->queued_on);
	ch->queued_on = NULL;
	if (ch->wait_ev)
		event_del(ch->wait_ev);
}

/* The request's end, whatever it was: nothing of it stays in a gate. */
static void gate_cleanup(void *arg)
{
	struct chat *ch = arg;
	unqueue(ch);
	release_slot(ch);
	if (ch->wait_ev)
		event_free(ch->wait_ev);
}

static void on_wait(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	struct chat *ch = arg;
	struct hr_req *rq = ch->rq;
	const char *model = ch->queued_on;
	if (!model) /* a wake-up that lost the race with the timeout: already handled */
		return;
	ch->queued_on = NULL;
	if (!(what & EV_TIMEOUT) || !hr_gate_cancel(rq->api->gates, model, &ch->waiter)) {
		event_del(ch->wait_ev);
		ch->slot = model; /* handed over: the call may go */
	} else {
		const struct hr_conf_model *m = ch->plan.cands[ch->cand];
		note_failure(ch, model, "queue timeout");
		ch->last_err = HR_EOVERLOADED, ch->last_param = NULL;
		ch->last_msg = hr_arena_printf(rq->arena,
		                               "model '%s' is busy: no slot within %ld ms "
		                               "(models.%s.max_concurrency); retry later",
		                               model, m->queue_timeout_ms, model);
		if (ch->cand + 1 >= ch->plan.n) {
			start_failed(ch);
			return;
		}
		ch->cand++;
		ch->tries = 0;
	}
	if (!start_from(ch))
		start_failed(ch);
}

/* Takes a slot of m (0), or a place in its queue (1), or finds it busy (-1, ch->last_*). */
static int enter_gate(struct chat *ch, const struct hr_conf_model *m)
{
	struct hr_req *rq = ch->rq;
	if (m->max_concurrency > 0 && m->max_queue > 0 && !ch->wait_ev) {
		/* before entering: a slot may be handed over as soon as we are queued */
		ch->wait_ev = event_new(rq->w->base, -1, 0, on_wait, ch);
		if (!ch->wait_ev) {
			ch->last_err = HR_ENOMEM, ch->last_msg = NULL, ch->last_param = NULL;
			return -1;
		}
		ch->waiter.ready = slot_ready;
		ch->waiter.arg = ch;
	}
	switch (hr_gate_enter(rq->api->gates, m->name, m->max_concurrency,
	                      ch->wait_ev ? m->max_queue : 0, &ch->waiter)) {
	case HR_GATE_GO: ch->slot = m->name; return 0;
	case HR_GATE_QUEUED: {
		ch->queued_on = m->name;
		struct timeval tv = {(time_t)(m->queue_timeout_ms / 1000),
		                     (suseconds_t)(m->queue_timeout_ms % 1000) * 1000};
		event_add(ch->wait_ev, &tv);
		HR_RLOG_DEBUG(rq->id, ROUTE, "model '%s' is at its limit: queued", m->name);
		return 1;
	}
	case HR_GATE_FULL: break;
	}
	ch->last_err = HR_EOVERLOADED, ch->last_param = NULL;
	ch->last_msg = hr_arena_printf(rq->arena,
	                               "model '%s' is busy: %d calls in flight and its queue "
	                               "is full (models.%s.max_concurrency, max_queue); retry "
	                               "later",
	                               m->name, m->max_concurrency, m->name);
	note_failure(ch, m->name, "busy");
	return -1;
}

/* The record and the log say what was redacted: "<findings>; redacted email:2,person:1"
 * (classes and counts over every attempt that sent placeholders; never a value). */
static void note_redacted(struct chat *ch, const uint32_t counted[HR_PII__COUNT])
{
	struct hr_req *rq = ch->rq;
	struct hr_buf b = HR_BUF_INIT(2048);
	for (int k = 0; k < HR_PII__COUNT; k++)
		ch->redacted[k] = counted[k] > ch->redacted[k] ? counted[k] : ch->redacted[k];
	(void)hr_buf_addf(&b, "%s; redacted ", ch->pol.summary ? ch->pol.summary : "");
	size_t at = b.len;
	for (int k = 0; k < HR_PII__COUNT; k++)
		if (ch->redacted[k])
			(void)hr_buf_addf(&b, "%s%s:%u", b.len > at ? "," : "", hr_pii_label(k),
			                  ch->redacted[k]);
	if (b.ptr && rq->usage)
		hr_usage_set(&rq->usage->policy, b.ptr);
	HR_RLOG_INFO(rq->id, POLICY, "data policy: %s (model '%s')", b.ptr ? b.ptr : "?",
	             ch->m->name);
	hr_buf_release(&b);
}

/* Sets up the call to plan.cands[ch->cand]. Returns 0 when the call runs; 1 when the request
 * waits in the model's queue (on_wait goes on); or -1 when this candidate cannot take the
 * request (its breaker's probe is taken, it is busy, its format cannot represent a field,
 * the call cannot start): ch->last_* say why, and the caller tries the next candidate or
 * answers with that. */
static int start_attempt(struct chat *ch)
{
	struct hr_req *rq = ch->rq;
	const struct hr_conf *c = rq->conf;
	const struct hr_conf_model *m = ch->plan.cands[ch->cand];
	const struct hr_provider_ops *ops = hr_provider_find(m->provider->kind);
	hr_buf_reset(&ch->text); /* a cascade's turned-down answer is not the one judged */
	if (!ops) {
		ch->last_err = HR_ECONF,
		ch->last_msg = "the model's provider kind is not supported";
		note_failure(ch, m->name, "unknown kind");
		return -1;
	}
	if (!ch->slot && ch->tries == 0 && rq->api->breakers &&
	    !hr_breaker_allow(rq->api->breakers, m->name, now_ms())) {
		ch->last_err = HR_EUNAVAIL;
		ch->last_msg =
		    hr_arena_printf(rq->arena,
		                    "model '%s' is failing (its circuit breaker is open); "
		                    "retry later",
		                    m->name);
		note_failure(ch, m->name, "breaker open");
		return -1;
	}
	/* the data policy: placeholders for this destination, or the request as it came */
	const struct hr_chat_req *send = &ch->creq;
	uint32_t counted[HR_PII__COUNT] = {0};
	if (hr_policy_redact(rq->arena, c, &ch->pol, &ch->creq, m->provider->locality, &send,
	                     counted) < 0) {
		ch->last_err = HR_ENOMEM, ch->last_param = NULL;
		ch->last_msg = "the request could not be redacted for this model and is not sent";
		note_failure(ch, m->name, "redaction");
		return -1;
	}
	bool redacting = send != &ch->creq;
	bool passthrough =
	    !redacting &&
	    ((rq->dialect == HR_DIALECT_OPENAI && ops == &hr_provider_openai) ||
	     (rq->dialect == HR_DIALECT_ANTHROPIC && strcmp(ops->kind, "anthropic") == 0));
	if (!(passthrough && ops == &hr_provider_openai) &&
	    (!ops->decode_chat || !ops->decode_stream)) {
		ch->last_err = HR_EUNSUPPORTED;
		ch->last_msg =
		    hr_arena_printf(rq->arena,
		                    "model '%s' is served by a provider of kind %s, which "
		                    "this endpoint cannot reach yet",
		                    m->name, ops->kind);
		ch->last_param = "model";
		note_failure(ch, m->name, "unreachable kind");
		return -1;
	}
	if (hr_api_limits_reserve(rq, &ch->lim, m, (long)hr_tokens_estimate(ch->creq.prompt_bytes),
	                          hr_api_limits_max_tokens(&ch->creq, m), ch->spent,
	                          &ch->last_msg) < 0) {
		ch->last_err = HR_EBUDGET, ch->last_param = NULL;
		note_failure(ch, m->name, "budget");
		return -1;
	}
	if (!ch->slot) {
		int g = enter_gate(ch, m);
		if (g != 0)
			return g;
	}
	ch->m = m, ch->ops = ops, ch->passthrough = passthrough;
	ch->redacting = redacting;
	hr_redact_stream_init(&ch->rtext, &ch->pol.map, false);
	for (size_t i = 0; i < ch->n_rtools; i++)
		hr_redact_stream_init(&ch->rtools[i], &ch->pol.map, true);

	/* a fresh attempt: nothing of an earlier one may leak into this one */
	ch->status = 0;
	ch->retry_after[0] = '\0';
	hr_buf_release(&ch->body);
	hr_buf_init(&ch->body, c->limits.max_response_bytes);
	hr_buf_reset(&ch->line);
	hr_buf_reset(&ch->out.body);
	memset(&ch->dec, 0, sizeof ch->dec);
	ch->evs.n = 0;
	ch->got_done = ch->finished = false;
	ch->stream_err = 0, ch->stream_err_msg = NULL;
	memset(&ch->usage, 0, sizeof ch->usage);
	ch->finish_reason = NULL;
	ch->completion_bytes = 0;
	hr_render_init(&ch->rnd, rq->dialect, ch->answer_id, m->name, (int64_t)time(NULL),
	               ch->creq.include_usage);
	if (ch->creq.stream) {
		hr_sse_release(&ch->sse);
		hr_sse_init(&ch->sse, c->limits.max_stream_line_bytes, on_event, ch);
	}

	const char *msg = NULL, *param = NULL;
	int rc = ops->encode_chat(rq->arena, m, send, &ch->out, &msg, &param);
	if (rc < 0 && redacting && send->unmapped) /* the client's bytes cannot go: say why */
		msg = hr_arena_printf(rq->arena,
		                      "the data policy redacts this request for model '%s' "
		                      "(policy.<class>: redact), but '%s' is a part hearth cannot "
		                      "redact; remove it, or use a local model",
		                      m->name, send->unmapped);
	if (rc < 0) {
		ch->last_err = rc, ch->last_msg = msg, ch->last_param = param;
		note_failure(ch, m->name, param ? param : hr_err_code(rc));
		release_slot(ch);
		return -1;
	}
	if (redacting)
		note_redacted(ch, counted);
	hr_usage_set(&rq->usage->model_used, m->name);
	hr_usage_set(&rq->usage->provider, m->provider->id);
	evhttp_remove_header(evhttp_request_get_output_headers(rq->ev), "X-Hearth-Model");
	hr_req_header(rq, "X-Hearth-Model", m->name);
	set_route(ch);

	const struct hr_conf_provider *p = m->provider;
	long total = p->total_timeout_ms;
	if (ch->plan.t && ch->plan.t->timeout_ms > 0)
		total = ch->plan.t->timeout_ms;
	struct hr_call_opts o = {
	    .url = ch->out.url,
	    .headers = ch->out.headers,
	    .body = ch->out.body.ptr,
	    .body_len = ch->out.body.len,
	    .connect_timeout_ms = p->connect_timeout_ms,
	    .first_byte_timeout_ms = p->first_byte_timeout_ms,
	    .idle_timeout_ms = p->idle_timeout_ms,
	    .total_timeout_ms = total,
	    .rid = rq->id,
	    .on_headers = on_headers,
	    .on_data = on_data,
	    .on_done = on_done,
	    .arg = ch,
	};
	rc = hr_call_start(rq->w->client, &o, &ch->call);
	if (rc < 0) {
		ch->last_err = rc, ch->last_msg = NULL, ch->last_param = NULL;
		note_failure(ch, m->name, hr_err_code(rc));
		release_slot(ch);
		return -1;
	}
	hr_trace_attempt_start(rq->trace, ops->kind, m->upstream, m->name, p->id);
	ch->tries++;
	ch->attempts++;
	if (rq->usage)
		rq->usage->attempts = ch->attempts;
	HR_RLOG_DEBUG(rq->id, ROUTE, "model '%s' via provider '%s'%s (attempt %d)", m->name, p->id,
	              passthrough ? "" : " (translated)", ch->attempts);
	return 0;
}

/* Starts the current candidate or, when it cannot take the request, the next ones. */
static bool start_from(struct chat *ch)
{
	for (;;) {
		if (start_attempt(ch) >= 0)
			return true;
		if (ch->cand + 1 >= ch->plan.n)
			return false;
		ch->cand++;
		ch->tries = 0;
	}
}

/* The pipeline of both chat endpoints: parse in the client's format, plan the route, call
 * the first candidate (later ones on failure, before any byte reached the client). */
static void chat_begin(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	struct chat *ch = hr_arena_calloc(rq->arena, sizeof *ch);
	if (!ch) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	ch->rq = rq;
	rq->state = ch;
	struct hr_plan_fail pf;
	int rc = hr_api_plan_chat(rq, &ch->creq, &ch->feat, &ch->plan, &ch->pol, &pf);
	if (pf.stage != HR_PLAN_OK && pf.stage != HR_PLAN_ROUTE) {
		hr_req_error(rq, rc, pf.msg, pf.param);
		return;
	}
	/* a plan, or why there is none: the explanation says either */
	hr_buf_init(&ch->failed, 4096);
	if (hr_arena_defer(rq->arena, release_cb, &ch->failed) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	ch->cand = (size_t)-1; /* none chosen yet */
	set_route(ch);
	ch->cand = 0;
	if (rc < 0) {
		hr_req_error(rq, rc, pf.msg, NULL);
		return;
	}
	hr_metrics_route(hr_route_strategy_name(ch->plan.strategy), hr_api_via_name(ch->plan.via));
	if (rq->origin && rq->usage && hr_usage_set(&rq->usage->task, rq->parent_task) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	/* LIMITS: rate limits now, a budget's reservation at each attempt */
	if (hr_api_limits_admit(rq, &ch->lim,
	                        (long)hr_tokens_estimate(ch->creq.prompt_bytes) +
	                            hr_api_limits_max_tokens(&ch->creq, ch->plan.cands[0])) < 0)
		return;
	if (hr_api_limits_downgrade(&ch->lim))
		hr_api_limits_downgrade_plan(&ch->plan);
	ch->shadow = hr_learn_sampled(rq, ch->plan.t);
	hr_buf_init(&ch->text, HR_SHADOW_TEXT_MAX);
	if (hr_arena_defer(rq->arena, release_cb, &ch->text) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return;
	}
	ch->answer_id = hr_arena_printf(rq->arena, "%s%s",
	                                rq->dialect == HR_DIALECT_ANTHROPIC ? "msg_" : "chatcmpl-",
	                                rq->id + 4 /* past "req_" */);
	hr_buf_init(&ch->out.body, c->server.max_body_bytes * 2 + 65536);
	hr_buf_init(&ch->body, c->limits.max_response_bytes);
	hr_buf_init(&ch->line, c->limits.max_stream_line_bytes);
	if (!ch->answer_id || hr_arena_defer(rq->arena, release_cb, &ch->out.body) < 0 ||
	    hr_arena_defer(rq->arena, release_cb, &ch->body) < 0 ||
	    hr_arena_defer(rq->arena, release_cb, &ch->line) < 0 ||
	    hr_arena_defer(rq->arena, gate_cleanup, ch) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
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
	rq->on_client_gone = on_client_gone;
	rq->on_drained = on_drained;
	if (!start_from(ch)) {
		start_failed(ch);
		return;
	}
	hr_req_watch_peer(rq);
}

void hr_api_chat(struct hr_req *rq)
{
	chat_begin(rq);
}

void hr_api_messages(struct hr_req *rq)
{
	chat_begin(rq);
}
