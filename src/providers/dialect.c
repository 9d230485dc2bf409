/* dialect.c - renders canonical answers, stream events and errors for OpenAI and Anthropic
 * clients (see dialect.h). JSON is built with jansson: this is the translation path, where
 * correctness of every escape matters more than the last microsecond; the same-format path
 * forwards the provider's bytes and never comes here. */
#include "providers/dialect.h"

#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

void hr_render_init(struct hr_render *r, enum hr_dialect d, const char *id, const char *model,
                    int64_t created, bool include_usage)
{
	memset(r, 0, sizeof *r);
	r->dialect = d;
	r->id = id;
	r->model = model;
	r->created = created;
	r->include_usage = include_usage;
	r->open_block = -1;
}

/* Appends "[event: name\n]data: <obj>\n\n" and releases obj (which may be NULL: ENOMEM). */
static int emit(struct hr_buf *out, const char *event, json_t *obj)
{
	if (!obj)
		return HR_ENOMEM;
	int rc = 0;
	if (event)
		rc = hr_buf_addf(out, "event: %s\n", event);
	if (!rc)
		rc = hr_buf_addstr(out, "data: ");
	if (!rc)
		rc = hr_codec_dump(obj, out);
	if (!rc)
		rc = hr_buf_addstr(out, "\n\n");
	json_decref(obj);
	return rc;
}

static json_t *jstr(struct hr_str s)
{
	return hr_codec_jstr(s);
}

static json_t *openai_usage(const struct hr_usage_counts *u)
{
	return json_pack("{sI sI sI s{sI} s{sI}}", "prompt_tokens", (json_int_t)u->prompt_tokens,
	                 "completion_tokens", (json_int_t)u->completion_tokens, "total_tokens",
	                 (json_int_t)(u->prompt_tokens + u->completion_tokens),
	                 "prompt_tokens_details", "cached_tokens", (json_int_t)u->cached_tokens,
	                 "completion_tokens_details", "reasoning_tokens",
	                 (json_int_t)u->reasoning_tokens);
}

static json_t *anthropic_usage(const struct hr_usage_counts *u)
{
	int64_t in = u->prompt_tokens - u->cached_tokens - u->cache_creation_tokens;
	return json_pack("{sI sI sI sI}", "input_tokens", (json_int_t)(in > 0 ? in : 0),
	                 "cache_creation_input_tokens", (json_int_t)u->cache_creation_tokens,
	                 "cache_read_input_tokens", (json_int_t)u->cached_tokens, "output_tokens",
	                 (json_int_t)u->completion_tokens);
}

static const char *anthropic_stop(enum hr_finish f, struct hr_str stop_seq)
{
	switch (f) {
	case HR_FIN_LENGTH: return "max_tokens";
	case HR_FIN_TOOL_CALLS: return "tool_use";
	case HR_FIN_CONTENT_FILTER: return "refusal";
	case HR_FIN_STOP: return stop_seq.len ? "stop_sequence" : "end_turn";
	case HR_FIN_NONE: break;
	}
	return "end_turn";
}

static const char *openai_finish(enum hr_finish f)
{
	const char *s = hr_finish_name(f);
	return s ? s : "stop";
}

static void merge_usage(struct hr_usage_counts *to, const struct hr_usage_counts *u)
{
	if (!u->present)
		return;
#define MAX_(f) (to->f = u->f > to->f ? u->f : to->f)
	MAX_(prompt_tokens);
	MAX_(completion_tokens);
	MAX_(cached_tokens);
	MAX_(cache_creation_tokens);
	MAX_(reasoning_tokens);
#undef MAX_
	to->present = true;
}

/* ---- OpenAI chunks ---- */

static json_t *chunk(const struct hr_render *r, json_t *delta, const char *finish)
{
	if (!delta)
		return NULL;
	return json_pack("{ss ss sI ss s[{si so sn ss?}]}", "id", r->id, "object",
	                 "chat.completion.chunk", "created", (json_int_t)r->created, "model",
	                 r->model, "choices", "index", 0, "delta", delta, "logprobs",
	                 "finish_reason", finish);
}

static int openai_event(struct hr_render *r, const struct hr_sev *ev, struct hr_buf *out)
{
	int rc = 0;
	if (!r->started) {
		r->started = true;
		rc = emit(out, NULL,
		          chunk(r, json_pack("{ss ss}", "role", "assistant", "content", ""), NULL));
		if (rc < 0)
			return rc;
	}
	switch (ev->type) {
	case HR_SEV_TEXT:
		if (!ev->text.len)
			return 0;
		return emit(out, NULL,
		            chunk(r, json_pack("{so}", "content", jstr(ev->text)), NULL));
	case HR_SEV_TOOL_START:
		return emit(
		    out, NULL,
		    chunk(r,
		          json_pack("{s[{sI so ss s{so ss}}]}", "tool_calls", "index",
		                    (json_int_t)ev->index, "id", jstr(ev->id), "type", "function",
		                    "function", "name", jstr(ev->name), "arguments", ""),
		          NULL));
	case HR_SEV_TOOL_ARGS:
		if (!ev->text.len)
			return 0;
		return emit(
		    out, NULL,
		    chunk(r,
		          json_pack("{s[{sI s{so}}]}", "tool_calls", "index", (json_int_t)ev->index,
		                    "function", "arguments", jstr(ev->text)),
		          NULL));
	case HR_SEV_FINISH:
		r->finish = ev->finish;
		r->stop_sequence = ev->stop_sequence;
		return emit(out, NULL, chunk(r, json_object(), openai_finish(ev->finish)));
	default: return 0;
	}
}

/* ---- Anthropic events ---- */

static int block_stop(struct hr_render *r, struct hr_buf *out)
{
	if (r->open_block < 0)
		return 0;
	long i = r->open_block;
	r->open_block = -1;
	r->open_kind = 0;
	return emit(out, "content_block_stop",
	            json_pack("{ss sI}", "type", "content_block_stop", "index", (json_int_t)i));
}

static int block_start(struct hr_render *r, struct hr_buf *out, int kind, json_t *block)
{
	int rc = block_stop(r, out);
	if (rc < 0) {
		json_decref(block);
		return rc;
	}
	r->open_block = (long)r->next_block++;
	r->open_kind = kind;
	return emit(out, "content_block_start",
	            json_pack("{ss sI so}", "type", "content_block_start", "index",
	                      (json_int_t)r->open_block, "content_block", block));
}

static int delta(struct hr_render *r, struct hr_buf *out, json_t *d)
{
	return emit(out, "content_block_delta",
	            json_pack("{ss sI so}", "type", "content_block_delta", "index",
	                      (json_int_t)r->open_block, "delta", d));
}

static int anthropic_start(struct hr_render *r, struct hr_buf *out)
{
	r->started = true;
	struct hr_usage_counts u = r->usage;
	u.completion_tokens = 0;
	return emit(out, "message_start",
	            json_pack("{ss s{ss ss ss ss s[] sn sn so}}", "type", "message_start",
	                      "message", "id", r->id, "type", "message", "role", "assistant",
	                      "model", r->model, "content", "stop_reason", "stop_sequence", "usage",
	                      anthropic_usage(&u)));
}

static int anthropic_event(struct hr_render *r, const struct hr_sev *ev, struct hr_buf *out)
{
	int rc;
	if (ev->type == HR_SEV_USAGE) {
		merge_usage(&r->usage, &ev->usage);
		return 0;
	}
	if (!r->started && (rc = anthropic_start(r, out)) < 0)
		return rc;
	switch (ev->type) {
	case HR_SEV_TEXT:
		if (!ev->text.len)
			return 0;
		if (r->open_kind != 1 &&
		    (rc = block_start(r, out, 1,
		                      json_pack("{ss ss}", "type", "text", "text", ""))) < 0)
			return rc;
		return delta(r, out,
		             json_pack("{ss so}", "type", "text_delta", "text", jstr(ev->text)));
	case HR_SEV_TOOL_START:
		rc = block_start(r, out, 2,
		                 json_pack("{ss so so s{}}", "type", "tool_use", "id", jstr(ev->id),
		                           "name", jstr(ev->name), "input"));
		r->open_tool = ev->index;
		return rc;
	case HR_SEV_TOOL_ARGS:
		if (!ev->text.len)
			return 0;
		if (r->open_kind != 2 || r->open_tool != ev->index)
			return HR_EUPSTREAM_BAD; /* interleaved calls: Anthropic streams one at a
			                            time */
		return delta(r, out,
		             json_pack("{ss so}", "type", "input_json_delta", "partial_json",
		                       jstr(ev->text)));
	case HR_SEV_FINISH:
		r->finish = ev->finish;
		r->stop_sequence = ev->stop_sequence;
		return 0;
	default: return 0;
	}
}

int hr_render_event(struct hr_arena *a, struct hr_render *r, const struct hr_sev *ev,
                    struct hr_buf *out)
{
	(void)a;
	if (r->ended)
		return 0;
	if (r->dialect == HR_DIALECT_ANTHROPIC)
		return anthropic_event(r, ev, out);
	if (ev->type == HR_SEV_USAGE) {
		merge_usage(&r->usage, &ev->usage);
		return 0;
	}
	return openai_event(r, ev, out);
}

int hr_render_end(struct hr_arena *a, struct hr_render *r, struct hr_buf *out)
{
	(void)a;
	if (r->ended)
		return 0;
	int rc = 0;
	if (r->dialect == HR_DIALECT_OPENAI) {
		if (!r->started) {
			struct hr_sev none = {.type = HR_SEV_DONE};
			if ((rc = openai_event(r, &none, out)) < 0)
				return rc;
		}
		if (r->include_usage)
			rc = emit(out, NULL,
			          json_pack("{ss ss sI ss s[] so}", "id", r->id, "object",
			                    "chat.completion.chunk", "created",
			                    (json_int_t)r->created, "model", r->model, "choices",
			                    "usage", openai_usage(&r->usage)));
		r->ended = true;
		return rc;
	}
	if (!r->started && (rc = anthropic_start(r, out)) < 0)
		return rc;
	if ((rc = block_stop(r, out)) < 0)
		return rc;
	json_t *stop_seq = r->stop_sequence.len ? jstr(r->stop_sequence) : json_null();
	rc = emit(out, "message_delta",
	          json_pack("{ss s{ss so} so}", "type", "message_delta", "delta", "stop_reason",
	                    anthropic_stop(r->finish, r->stop_sequence), "stop_sequence", stop_seq,
	                    "usage", anthropic_usage(&r->usage)));
	if (!rc)
		rc = emit(out, "message_stop", json_pack("{ss}", "type", "message_stop"));
	r->ended = true;
	return rc;
}

/* ---- complete answers ---- */

static int openai_resp(const struct hr_chat_resp *res, const char *id, const char *model,
                       int64_t created, struct hr_buf *out)
{
	struct hr_buf text = HR_BUF_INIT(out->max);
	json_t *calls = json_array();
	int rc = calls ? 0 : HR_ENOMEM;
	bool has_text = false;
	for (size_t i = 0; i < res->n_parts && !rc; i++) {
		const struct hr_part *p = &res->parts[i];
		if (p->type == HR_PART_TEXT) {
			has_text = true;
			rc = hr_buf_add(&text, p->text.ptr, p->text.len);
		} else if (p->type == HR_PART_TOOL_CALL) {
			rc = json_array_append_new(
			         calls, json_pack("{so ss s{so so}}", "id", jstr(p->id), "type",
			                          "function", "function", "name", jstr(p->name),
			                          "arguments", jstr(p->arguments)))
			         ? HR_ENOMEM
			         : 0;
		}
	}
	json_t *msg = NULL, *doc = NULL;
	if (!rc) {
		msg = json_pack("{ss so so}", "role", "assistant", "content",
		                has_text ? json_stringn(text.ptr ? text.ptr : "", text.len)
		                         : json_null(),
		                "refusal", res->refusal.len ? jstr(res->refusal) : json_null());
		if (msg && json_array_size(calls))
			json_object_set(msg, "tool_calls", calls);
		doc = json_pack("{ss ss sI ss s[{si so sn ss}] so}", "id", id, "object",
		                "chat.completion", "created", (json_int_t)created, "model", model,
		                "choices", "index", 0, "message", msg, "logprobs", "finish_reason",
		                openai_finish(res->finish), "usage", openai_usage(&res->usage));
		rc = doc ? hr_codec_dump(doc, out) : HR_ENOMEM;
	}
	json_decref(doc);
	json_decref(calls);
	hr_buf_release(&text);
	return rc;
}

static int anthropic_resp(const struct hr_chat_resp *res, const char *id, const char *model,
                          struct hr_buf *out)
{
	json_t *content = json_array();
	int rc = content ? 0 : HR_ENOMEM;
	for (size_t i = 0; i < res->n_parts && !rc; i++) {
		const struct hr_part *p = &res->parts[i];
		json_t *b = NULL;
		if (p->type == HR_PART_TEXT) {
			if (!p->text.len)
				continue;
			b = json_pack("{ss so}", "type", "text", "text", jstr(p->text));
		} else if (p->type == HR_PART_TOOL_CALL) {
			json_t *input = p->arguments.len ? json_loadb(p->arguments.ptr,
			                                              p->arguments.len, 0, NULL)
			                                 : json_object();
			if (!json_is_object(input)) {
				json_decref(input);
				rc =
				    HR_EUPSTREAM_BAD; /* the caller says: arguments not an object */
				break;
			}
			b = json_pack("{ss so so so}", "type", "tool_use", "id", jstr(p->id),
			              "name", jstr(p->name), "input", input);
		} else {
			continue;
		}
		rc = json_array_append_new(content, b) ? HR_ENOMEM : 0;
	}
	if (!rc && res->refusal.len)
		rc = json_array_append_new(
		         content, json_pack("{ss so}", "type", "text", "text", jstr(res->refusal)))
		         ? HR_ENOMEM
		         : 0;
	json_t *doc = NULL;
	if (!rc) {
		doc = json_pack("{ss ss ss ss sO ss so so}", "id", id, "type", "message", "role",
		                "assistant", "model", model, "content", content, "stop_reason",
		                anthropic_stop(res->finish, res->stop_sequence), "stop_sequence",
		                res->stop_sequence.len ? jstr(res->stop_sequence) : json_null(),
		                "usage", anthropic_usage(&res->usage));
		rc = doc ? hr_codec_dump(doc, out) : HR_ENOMEM;
	}
	json_decref(doc);
	json_decref(content);
	return rc;
}

int hr_render_resp(struct hr_arena *a, enum hr_dialect d, const struct hr_chat_resp *res,
                   const char *id, const char *model, int64_t created, struct hr_buf *out)
{
	(void)a;
	if (d == HR_DIALECT_ANTHROPIC)
		return anthropic_resp(res, id, model, out);
	return openai_resp(res, id, model, created, out);
}

/* ---- errors ---- */

int hr_render_error_status(enum hr_dialect d, int err)
{
	if (d == HR_DIALECT_ANTHROPIC && err == HR_EOVERLOADED)
		return 529;
	return hr_err_status(err);
}

static json_t *error_obj(enum hr_dialect d, int err, const char *msg, const char *param)
{
	if (!msg)
		msg = hr_err_msg(err);
	if (d == HR_DIALECT_ANTHROPIC)
		return json_pack("{ss s{ss ss}}", "type", "error", "error", "type",
		                 hr_err_anthropic_type(err), "message", msg);
	return json_pack("{s{ss ss ss ss?}}", "error", "message", msg, "type", hr_err_type(err),
	                 "code", hr_err_code(err), "param", param);
}

int hr_render_error(enum hr_dialect d, int err, const char *msg, const char *param,
                    struct hr_buf *out)
{
	json_t *j = error_obj(d, err, msg, param);
	if (!j)
		return HR_ENOMEM;
	int rc = hr_codec_dump(j, out);
	json_decref(j);
	if (!rc)
		rc = hr_buf_addch(out, '\n');
	return rc;
}

int hr_render_stream_error(enum hr_dialect d, int err, const char *msg, struct hr_buf *out)
{
	return emit(out, d == HR_DIALECT_ANTHROPIC ? "error" : NULL, error_obj(d, err, msg, NULL));
}
