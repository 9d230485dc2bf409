/* openai_canon.c - the OpenAI codec's translation half: a chat-completions body built from the
 * canonical request (clients of other dialects), and full decoders of answers, stream chunks,
 * embeddings and model lists into canonical results (jansson trees in the arena). */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/openai_int.h"
#include "providers/provider.h"

#define KIND "openai"

/* Most tool calls one streamed answer may start (a provider inventing new ids forever). */
#define OPENAI_MAX_STREAM_CALLS 1024

/* ---- encode ---- */

struct enc {
	struct hr_arena *a;
	const char **msg, **param;
};

/* Records a refusal: *param = param (arena-owned or static), *msg = the printf'd sentence.
 * Returns rc. */
static int refuse(struct enc *e, int rc, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int refuse(struct enc *e, int rc, const char *param, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	const char *m = hr_arena_strdup(e->a, tmp);
	*e->msg = m ? m : hr_err_msg(rc);
	*e->param = param;
	return rc;
}

/* jansson's setters take the value even when they fail (and fail on a NULL value, which is
 * what its constructors return on OOM), so a chain of them needs one check at its end. */
static void put(json_t *o, const char *k, json_t *v, bool *oom)
{
	if (json_object_set_new(o, k, v) < 0)
		*oom = true;
}

static void push(json_t *arr, json_t *v, bool *oom)
{
	if (json_array_append_new(arr, v) < 0)
		*oom = true;
}

static json_t *jstr(struct hr_str s)
{
	return hr_codec_jstr(s);
}

/* {"type": "image_url", "image_url": {"url", "detail"?}}: an http(s) URL as given, base64
 * data as a data: URL. */
static int enc_image(struct enc *e, const struct hr_part *p, size_t i, size_t j, json_t **out)
{
	json_t *url;
	if (p->url.len) {
		url = jstr(p->url);
	} else if (p->data.len && p->media_type.len) {
		static const char pre[] = "data:", mid[] = ";base64,";
		size_t n = sizeof pre - 1 + p->media_type.len + sizeof mid - 1 + p->data.len;
		char *s = hr_arena_alloc(e->a, n);
		if (!s)
			return HR_ENOMEM;
		char *q = s;
		memcpy(q, pre, sizeof pre - 1), q += sizeof pre - 1;
		memcpy(q, p->media_type.ptr, p->media_type.len), q += p->media_type.len;
		memcpy(q, mid, sizeof mid - 1), q += sizeof mid - 1;
		memcpy(q, p->data.ptr, p->data.len);
		url = json_stringn(s, n);
	} else {
		return refuse(
		    e, HR_EINVAL, hr_arena_printf(e->a, "messages[%zu].content[%zu]", i, j),
		    "messages[%zu].content[%zu] is an image with neither a URL nor base64 "
		    "data and its media type: send one of them",
		    i, j);
	}
	bool oom = false;
	json_t *img = json_object(), *part = json_object();
	put(img, "url", url, &oom);
	if (p->detail.len)
		put(img, "detail", jstr(p->detail), &oom);
	put(part, "type", json_string("image_url"), &oom);
	put(part, "image_url", img, &oom);
	if (oom) {
		json_decref(part);
		return HR_ENOMEM;
	}
	*out = part;
	return 0;
}

static json_t *text_part(struct hr_str text)
{
	bool oom = false;
	json_t *part = json_object();
	put(part, "type", json_string("text"), &oom);
	put(part, "text", jstr(text), &oom);
	if (oom) {
		json_decref(part);
		return NULL;
	}
	return part;
}

/* The "content" of message i from its TEXT (and, when images, IMAGE) parts: a string when
 * it is one text part (what every OpenAI-compatible server reads), "" when there are none,
 * else an array of parts. Tool parts are the caller's. */
static int enc_content(struct enc *e, const struct hr_msg *m, size_t i, bool images, json_t **out)
{
	size_t n = 0, last = 0;
	for (size_t j = 0; j < m->n_parts; j++) {
		enum hr_part_type t = m->parts[j].type;
		if (t == HR_PART_IMAGE && !images)
			return refuse(
			    e, HR_EUNSUPPORTED,
			    hr_arena_printf(e->a, "messages[%zu].content[%zu]", i, j),
			    "messages[%zu].content[%zu]: a provider of kind openai takes "
			    "images only in user messages; move the image to a user message",
			    i, j);
		if (t == HR_PART_TEXT || t == HR_PART_IMAGE)
			n++, last = j;
	}
	if (n == 0) {
		*out = json_string("");
		return *out ? 0 : HR_ENOMEM;
	}
	if (n == 1 && m->parts[last].type == HR_PART_TEXT) {
		*out = jstr(m->parts[last].text);
		return *out ? 0 : HR_ENOMEM;
	}
	json_t *arr = json_array();
	if (!arr)
		return HR_ENOMEM;
	bool oom = false;
	for (size_t j = 0; j < m->n_parts && !oom; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type == HR_PART_TEXT) {
			push(arr, text_part(p->text), &oom);
		} else if (p->type == HR_PART_IMAGE) {
			json_t *img = NULL;
			int rc = enc_image(e, p, i, j, &img);
			if (rc < 0) {
				json_decref(arr);
				return rc;
			}
			push(arr, img, &oom);
		}
	}
	if (oom) {
		json_decref(arr);
		return HR_ENOMEM;
	}
	*out = arr;
	return 0;
}

/* A part of a type that role cannot carry (a parser's mistake, not the client's). */
static int misplaced(struct enc *e, size_t i, size_t j, const char *what, const char *role)
{
	return refuse(e, HR_EINVAL, hr_arena_printf(e->a, "messages[%zu].content[%zu]", i, j),
	              "messages[%zu].content[%zu] is a %s, which a %s message cannot carry", i, j,
	              what, role);
}

/* One role "tool" message per result. OpenAI has no error flag for a result: a failed
 * tool's is_error is carried by its text alone (tools write what went wrong there). */
static int enc_tool_results(struct enc *e, const struct hr_msg *m, size_t i, json_t *msgs)
{
	bool oom = false;
	for (size_t j = 0; j < m->n_parts && !oom; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type != HR_PART_TOOL_RESULT)
			continue;
		if (!p->id.len)
			return refuse(
			    e, HR_EINVAL, hr_arena_printf(e->a, "messages[%zu].content[%zu]", i, j),
			    "messages[%zu].content[%zu] is a tool result without the id of "
			    "the call it answers: send the call's id",
			    i, j);
		json_t *o = json_object();
		put(o, "role", json_string("tool"), &oom);
		put(o, "tool_call_id", jstr(p->id), &oom);
		put(o, "content", jstr(p->text), &oom);
		push(msgs, o, &oom);
	}
	return oom ? HR_ENOMEM : 0;
}

static int enc_assistant(struct enc *e, const struct hr_msg *m, size_t i, json_t *o)
{
	size_t texts = 0, calls = 0;
	for (size_t j = 0; j < m->n_parts; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type == HR_PART_TOOL_RESULT)
			return misplaced(e, i, j, "tool result", "assistant");
		if (p->type == HR_PART_TEXT)
			texts++;
		if (p->type == HR_PART_TOOL_CALL) {
			calls++;
			if (!p->id.len || !p->name.len)
				return refuse(
				    e, HR_EINVAL,
				    hr_arena_printf(e->a, "messages[%zu].content[%zu]", i, j),
				    "messages[%zu].content[%zu] is a tool call without an id or a "
				    "function name: send both",
				    i, j);
		}
	}
	bool oom = false;
	if (texts || !calls) {
		json_t *content = NULL;
		int rc = enc_content(e, m, i, false, &content);
		if (rc < 0)
			return rc;
		put(o, "content", content, &oom);
	} else {
		put(o, "content", json_null(), &oom); /* only tool calls */
	}
	if (!calls)
		return oom ? HR_ENOMEM : 0;
	json_t *arr = json_array();
	put(o, "tool_calls", arr, &oom);
	if (oom)
		return HR_ENOMEM;
	for (size_t j = 0; j < m->n_parts && !oom; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type != HR_PART_TOOL_CALL)
			continue;
		json_t *fn = json_object(), *call = json_object();
		put(fn, "name", jstr(p->name), &oom);
		/* a string of JSON, as OpenAI sends and takes it */
		put(fn, "arguments", p->arguments.len ? jstr(p->arguments) : json_string("{}"),
		    &oom);
		put(call, "id", jstr(p->id), &oom);
		put(call, "type", json_string("function"), &oom);
		put(call, "function", fn, &oom);
		push(arr, call, &oom);
	}
	return oom ? HR_ENOMEM : 0;
}

static int enc_messages(struct enc *e, const struct hr_chat_req *rq, json_t *msgs)
{
	static const char *const roles[] = {"system", "user", "assistant", "tool"};
	for (size_t i = 0; i < rq->n_msgs; i++) {
		const struct hr_msg *m = &rq->msgs[i];
		int rc = 0;
		bool oom = false;
		if (m->role == HR_ROLE_TOOL || m->role == HR_ROLE_USER) {
			/* results first: they answer the assistant message just before */
			if ((rc = enc_tool_results(e, m, i, msgs)) < 0)
				return rc;
		}
		size_t rest = 0;
		for (size_t j = 0; j < m->n_parts; j++) {
			const struct hr_part *p = &m->parts[j];
			if (p->type == HR_PART_TOOL_RESULT && m->role != HR_ROLE_TOOL &&
			    m->role != HR_ROLE_USER)
				return misplaced(e, i, j, "tool result", roles[m->role]);
			if (p->type == HR_PART_TOOL_CALL && m->role != HR_ROLE_ASSISTANT)
				return misplaced(e, i, j, "tool call", roles[m->role]);
			if (m->role == HR_ROLE_TOOL && p->type != HR_PART_TOOL_RESULT)
				return misplaced(e, i, j, "text or image", "tool");
			rest += p->type != HR_PART_TOOL_RESULT;
		}
		if (m->role == HR_ROLE_TOOL || (m->role == HR_ROLE_USER && !rest && m->n_parts))
			continue; /* nothing but results */

		json_t *o = json_object();
		put(o, "role", json_string(roles[m->role]), &oom);
		if (m->name.len)
			put(o, "name", jstr(m->name), &oom);
		if (m->role == HR_ROLE_ASSISTANT) {
			rc = enc_assistant(e, m, i, o);
		} else {
			json_t *content = NULL;
			rc = enc_content(e, m, i, m->role == HR_ROLE_USER, &content);
			if (rc == 0)
				put(o, "content", content, &oom);
		}
		if (rc < 0) {
			json_decref(o);
			return rc;
		}
		push(msgs, o, &oom);
		if (oom)
			return HR_ENOMEM;
	}
	return 0;
}

static json_t *enc_tools(const struct hr_chat_req *rq, bool *oom)
{
	json_t *arr = json_array();
	for (size_t i = 0; i < rq->n_tools; i++) {
		const struct hr_tool *t = &rq->tools[i];
		json_t *fn = json_object(), *tool = json_object();
		put(fn, "name", jstr(t->name), oom);
		if (t->description.len)
			put(fn, "description", jstr(t->description), oom);
		if (t->parameters) /* borrowed: the body holds a reference until it is dumped */
			put(fn, "parameters", json_incref(t->parameters), oom);
		if (t->strict)
			put(fn, "strict", json_true(), oom);
		put(tool, "type", json_string("function"), oom);
		put(tool, "function", fn, oom);
		push(arr, tool, oom);
	}
	return arr;
}

static json_t *enc_tool_choice(const struct hr_chat_req *rq, bool *oom)
{
	switch (rq->tool_choice) {
	case HR_TC_AUTO: return json_string("auto");
	case HR_TC_NONE: return json_string("none");
	case HR_TC_REQUIRED: return json_string("required");
	case HR_TC_NAMED: {
		json_t *fn = json_object(), *tc = json_object();
		put(fn, "name", jstr(rq->tool_choice_name), oom);
		put(tc, "type", json_string("function"), oom);
		put(tc, "function", fn, oom);
		return tc;
	}
	case HR_TC_UNSET: break;
	}
	return NULL;
}

static json_t *enc_format(const struct hr_chat_req *rq, bool *oom)
{
	json_t *rf = json_object();
	switch (rq->format) {
	case HR_FMT_TEXT: put(rf, "type", json_string("text"), oom); break;
	case HR_FMT_JSON_OBJECT: put(rf, "type", json_string("json_object"), oom); break;
	case HR_FMT_JSON_SCHEMA: {
		json_t *js = json_object();
		/* name is required by OpenAI; clients of other dialects have none to give */
		put(js, "name",
		    rq->schema_name.len ? jstr(rq->schema_name) : json_string("response"), oom);
		if (rq->schema)
			put(js, "schema", json_incref(rq->schema), oom);
		if (rq->schema_strict)
			put(js, "strict", json_true(), oom);
		put(rf, "type", json_string("json_schema"), oom);
		put(rf, "json_schema", js, oom);
		break;
	}
	case HR_FMT_UNSET: break;
	}
	return rf;
}

int hr_openai_canon_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                                const struct hr_chat_req *rq, struct hr_http_out *out,
                                const char **msg, const char **param)
{
	struct enc e = {a, msg, param};
	*msg = NULL;
	*param = NULL;
	int rc = hr_codec_refuse_extra(a, rq, KIND, msg, param);
	if (rc < 0)
		return rc;
	/* -1 is unset; 0 (where a format has it) turns top-k sampling off: nothing to say */
	if (rq->top_k > 0)
		return refuse(&e, HR_EUNSUPPORTED, "top_k",
		              "'top_k' cannot be sent to a provider of kind openai: OpenAI's chat "
		              "completions have no top-k sampling; remove it (temperature and "
		              "top_p are supported)");
	if (rq->n_tools == 0 &&
	    (rq->tool_choice == HR_TC_REQUIRED || rq->tool_choice == HR_TC_NAMED))
		return refuse(&e, HR_EINVAL, "tool_choice",
		              "tool_choice asks for a tool call but the request has no tools: send "
		              "the tools, or remove tool_choice");
	if ((rc = hr_openai_head(a, m, "/chat/completions", rq->stream, out, msg)) < 0)
		return rc;

	bool oom = false;
	json_t *body = json_object();
	if (!body)
		goto nomem;
	put(body, "model", json_string(m->upstream ? m->upstream : m->name), &oom);
	json_t *msgs = json_array();
	put(body, "messages", msgs, &oom);
	if (oom)
		goto nomem;
	if ((rc = enc_messages(&e, rq, msgs)) < 0)
		goto fail;
	if (rq->n_tools) {
		put(body, "tools", enc_tools(rq, &oom), &oom);
		if (rq->tool_choice != HR_TC_UNSET)
			put(body, "tool_choice", enc_tool_choice(rq, &oom), &oom);
		if (rq->parallel_tool_calls >= 0)
			put(body, "parallel_tool_calls", json_boolean(rq->parallel_tool_calls),
			    &oom);
	}
	/* Without tools, tool_choice "auto" or "none" and parallel_tool_calls mean nothing
	 * (and OpenAI refuses them): they are left out, not lost. */
	if (rq->format != HR_FMT_UNSET)
		put(body, "response_format", enc_format(rq, &oom), &oom);
	if (rq->has_temperature)
		put(body, "temperature", json_real(rq->temperature), &oom);
	if (rq->has_top_p)
		put(body, "top_p", json_real(rq->top_p), &oom);
	/* "max_tokens", not OpenAI's newer "max_completion_tokens": every OpenAI-compatible
	 * server (vLLM, llama.cpp, Ollama, Groq...) reads it, and OpenAI still does for its
	 * chat models (its o-series reasoning models ask for the newer name). */
	if (rq->max_tokens > 0)
		put(body, "max_tokens", json_integer(rq->max_tokens), &oom);
	if (rq->n_stop) {
		json_t *stop = json_array();
		for (size_t i = 0; i < rq->n_stop && i < HR_CHAT_MAX_STOP; i++)
			push(stop, jstr(rq->stop[i]), &oom);
		put(body, "stop", stop, &oom);
	}
	if (rq->has_seed)
		put(body, "seed", json_integer(rq->seed), &oom);
	if (rq->has_presence_penalty)
		put(body, "presence_penalty", json_real(rq->presence_penalty), &oom);
	if (rq->has_frequency_penalty)
		put(body, "frequency_penalty", json_real(rq->frequency_penalty), &oom);
	if (rq->user.len)
		put(body, "user", jstr(rq->user), &oom);
	if (rq->stream) {
		json_t *so = json_object();
		put(so, "include_usage", json_true(), &oom);
		put(body, "stream", json_true(), &oom);
		put(body, "stream_options", so, &oom);
	}
	if (json_is_object(rq->extra) && hr_codec_extra_goes(rq, KIND) &&
	    json_object_update_missing(body, rq->extra) < 0)
		oom = true;
	if (oom)
		goto nomem;
	if ((rc = hr_codec_dump(body, &out->body)) < 0) {
		*msg = rc == HR_ETOOBIG ? "the request is too large to send to the provider"
		                        : hr_err_msg(rc);
		goto fail;
	}
	json_decref(body);
	return 0;
nomem:
	rc = HR_ENOMEM;
	*msg = hr_err_msg(HR_ENOMEM);
fail:
	json_decref(body);
	return rc;
}

/* ---- decode ---- */

static const char what_answer[] = "the provider's answer";
static const char what_event[] = "a stream event from the provider";

static int bad(const char **msg, const char *m)
{
	*msg = m;
	return HR_EUPSTREAM_BAD;
}

static int nomem(const char **msg)
{
	*msg = hr_err_msg(HR_ENOMEM);
	return HR_ENOMEM;
}

/* A token count: the integer when it is one and > 0, else 0. */
static int64_t count_of(const json_t *j)
{
	json_int_t v = json_is_integer(j) ? json_integer_value(j) : 0;
	return v > 0 ? (int64_t)v : 0;
}

/* usage: present when both counts are integers (as the jscan summary reads it). */
static void usage_of(const json_t *u, struct hr_usage_counts *c)
{
	memset(c, 0, sizeof *c);
	if (!json_is_object(u))
		return;
	json_t *p = json_object_get(u, "prompt_tokens"),
	       *k = json_object_get(u, "completion_tokens");
	c->prompt_tokens = count_of(p);
	c->completion_tokens = count_of(k);
	c->cached_tokens =
	    count_of(json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
	c->reasoning_tokens = count_of(
	    json_object_get(json_object_get(u, "completion_tokens_details"), "reasoning_tokens"));
	c->present = json_is_integer(p) && json_is_integer(k);
}

/* OpenAI's words, and those of servers that follow it; the word itself is kept beside. */
static enum hr_finish finish_of(struct hr_str w)
{
	if (hr_str_eq_cstr(w, "length") || hr_str_eq_cstr(w, "model_length") /* Mistral */)
		return HR_FIN_LENGTH;
	if (hr_str_eq_cstr(w, "tool_calls") || hr_str_eq_cstr(w, "function_call"))
		return HR_FIN_TOOL_CALLS;
	if (hr_str_eq_cstr(w, "content_filter"))
		return HR_FIN_CONTENT_FILTER;
	return HR_FIN_STOP; /* "stop", "eos", and words hearth does not know: the answer ended */
}

/* Compact JSON text of j in the arena (arguments a server sent as an object). */
static struct hr_str dump_arena(struct hr_arena *a, const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
	struct hr_str r = {NULL, 0};
	if (s) {
		r.ptr = hr_arena_strdup(a, s);
		r.len = r.ptr ? strlen(s) : 0;
		free(s);
	}
	return r;
}

/* Arguments as text: a string as given; an object a server sent whole, as compact JSON;
 * absent or null: "{}". ptr NULL on OOM. */
static struct hr_str args_of(struct hr_arena *a, const json_t *j)
{
	if (json_is_string(j))
		return hr_codec_str(j);
	if (!j || json_is_null(j))
		return HR_STR("{}");
	return dump_arena(a, j);
}

static int decode_message(struct hr_arena *a, const json_t *message, struct hr_chat_resp *res,
                          const char **msg)
{
	json_t *content = json_object_get(message, "content");
	json_t *calls = json_object_get(message, "tool_calls");
	json_t *fcall = json_object_get(message, "function_call");
	size_t cap = (json_is_string(content) ? 1 : json_array_size(content)) +
	             json_array_size(calls) + (json_is_object(fcall) ? 1 : 0);
	res->parts = cap ? hr_arena_calloc(a, cap * sizeof *res->parts) : NULL;
	if (cap && !res->parts)
		return nomem(msg);

	size_t n = 0, bytes = 0;
	if (json_is_string(content) && json_string_length(content)) {
		res->parts[n].type = HR_PART_TEXT;
		res->parts[n++].text = hr_codec_str(content);
	} else if (json_is_array(content)) { /* content parts, as some servers answer */
		size_t i;
		json_t *p;
		json_array_foreach(content, i, p)
		{
			json_t *text = json_object_get(p, "text");
			if (json_is_string(text) && json_string_length(text)) {
				res->parts[n].type = HR_PART_TEXT;
				res->parts[n++].text = hr_codec_str(text);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		bytes += res->parts[i].text.len;
	res->refusal = hr_codec_str(json_object_get(message, "refusal"));
	bytes += res->refusal.len;

	size_t i;
	json_t *c;
	json_array_foreach(calls, i, c)
	{
		json_t *fn = json_object_get(c, "function");
		struct hr_str name = hr_codec_str(json_object_get(fn, "name"));
		if (!name.len)
			return bad(msg,
			           "the provider's answer has a tool call without a function name");
		struct hr_part *p = &res->parts[n++];
		p->type = HR_PART_TOOL_CALL;
		p->name = name;
		p->id = hr_codec_str(json_object_get(c, "id"));
		p->arguments = args_of(a, json_object_get(fn, "arguments"));
		if (!p->id.len) /* unique within the answer */
			p->id = hr_str_from(hr_arena_printf(a, "call_%zu", i));
		if (!p->id.ptr || !p->arguments.ptr)
			return nomem(msg);
		bytes += p->arguments.len;
	}
	if (json_is_object(fcall)) { /* the legacy single function call */
		struct hr_str name = hr_codec_str(json_object_get(fcall, "name"));
		if (!name.len)
			return bad(msg, "the provider's answer has a function call without a name");
		struct hr_part *p = &res->parts[n++];
		p->type = HR_PART_TOOL_CALL;
		p->name = name;
		p->arguments = args_of(a, json_object_get(fcall, "arguments"));
		p->id = hr_str_from(hr_arena_printf(a, "call_%zu", json_array_size(calls)));
		if (!p->id.ptr || !p->arguments.ptr)
			return nomem(msg);
		bytes += p->arguments.len;
	}
	res->n_parts = n;
	res->completion_bytes = bytes;
	return 0;
}

int hr_openai_decode_chat(struct hr_arena *a, const char *body, size_t len,
                          struct hr_chat_resp *res, const char **msg)
{
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what_answer, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root))
		return bad(msg, "the provider's answer is not a JSON object");
	json_t *err = json_object_get(root, "error");
	if (err && !json_is_null(err)) { /* some servers answer 200 with an error body */
		*msg = hr_openai_error_text(a, root);
		if (!*msg)
			*msg = "the provider answered with an error";
		return HR_EUPSTREAM;
	}
	json_t *choices = json_object_get(root, "choices");
	if (!json_is_array(choices))
		return bad(msg, "the provider's answer has no choices");
	res->id = hr_codec_str(json_object_get(root, "id"));
	res->model = hr_codec_str(json_object_get(root, "model"));
	usage_of(json_object_get(root, "usage"), &res->usage);

	json_t *c0 = json_array_get(choices, 0); /* hearth asks for one choice */
	if (!c0)
		return 0;
	if (!json_is_object(c0))
		return bad(msg, "the provider's answer has a choice that is not an object");
	json_t *message = json_object_get(c0, "message");
	if (message && !json_is_null(message) && !json_is_object(message))
		return bad(msg, "the provider's answer has a message that is not an object");
	int rc = decode_message(a, message, res, msg);
	if (rc < 0) {
		memset(res, 0, sizeof *res);
		return rc;
	}
	json_t *fr = json_object_get(c0, "finish_reason");
	if (json_is_string(fr)) {
		struct hr_str w = hr_codec_str(fr);
		res->finish = finish_of(w);
		res->finish_reason = hr_codec_trunc(a, w.ptr, w.len, OPENAI_MAX_FINISH);
		for (size_t i = 0; i < res->n_parts && res->finish == HR_FIN_STOP; i++)
			if (res->parts[i].type == HR_PART_TOOL_CALL)
				res->finish =
				    HR_FIN_TOOL_CALLS; /* "stop" with calls (Ollama, vLLM) */
	}
	return 0;
}

/* ---- streams ----
 * One chunk is parsed, turned into events whose strings are copied into the arena, and
 * freed: a long stream holds its text, not a tree per chunk. */

#define NO_INDEX INT64_MIN
#define LEGACY   (INT64_MIN + 1) /* the legacy delta.function_call */

/* A tool call the provider began. OpenAI numbers calls by "index" and gives the id and
 * name once; some servers send index 0 for every call with distinct ids (a new id is a new
 * call), repeat the id on every piece, or leave the index out. */
struct scall {
	int64_t pidx;     /* the provider's index, NO_INDEX or LEGACY */
	struct hr_str id; /* the provider's id (arena copy); or empty */
	bool started;     /* TOOL_START given: ours is its index */
	size_t ours;
	struct hr_str pending; /* arguments that came before the name (arena) */
};

struct sdec {
	bool started; /* START given */
	struct scall *calls;
	size_t n, cap;
	size_t last; /* the call the latest piece went to */
};

static struct hr_str dup_str(struct hr_arena *a, struct hr_str s)
{
	char *p = hr_arena_strndup(a, s.len ? s.ptr : "", s.len);
	return (struct hr_str){p, p ? s.len : 0};
}

/* Appends a TEXT or TOOL_ARGS event with a copy of s (nothing when s is empty). */
static int emit_piece(struct hr_arena *a, struct hr_sev_list *out, enum hr_sev_type t, size_t index,
                      struct hr_str s, const char **msg)
{
	if (!s.len)
		return 0;
	struct hr_sev *ev = hr_sev_push(a, out, t);
	if (!ev || !(ev->text = dup_str(a, s)).ptr)
		return nomem(msg);
	ev->index = index;
	return 0;
}

static struct scall *find_call(struct sdec *sd, int64_t pidx, struct hr_str id)
{
	for (size_t i = sd->n; i-- > 0;) { /* the latest first */
		struct scall *c = &sd->calls[i];
		if (id.len ? hr_str_eq(c->id, id) : c->pidx == pidx)
			return c;
	}
	return NULL;
}

static int start_call(struct hr_arena *a, struct hr_stream_dec *st, struct scall *c,
                      struct hr_str name, struct hr_sev_list *out, const char **msg)
{
	c->started = true;
	c->ours = st->n_tools++;
	if (!c->id.len) /* unique within the answer */
		c->id = hr_str_from(hr_arena_printf(a, "call_%zu", c->ours));
	struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_TOOL_START);
	if (!c->id.ptr || !ev || !(ev->name = dup_str(a, name)).ptr)
		return nomem(msg);
	ev->index = c->ours;
	ev->id = c->id;
	int rc = emit_piece(a, out, HR_SEV_TOOL_ARGS, c->ours, c->pending, msg);
	c->pending = (struct hr_str){NULL, 0};
	return rc;
}

/* One element of delta.tool_calls (or the legacy delta.function_call, pidx LEGACY). */
static int stream_call(struct hr_arena *a, struct hr_stream_dec *st, struct sdec *sd, int64_t pidx,
                       struct hr_str id, const json_t *fn, struct hr_sev_list *out,
                       const char **msg)
{
	struct scall *c = NULL;
	if (id.len && !(c = find_call(sd, 0, id))) {
		/* a new id: a new call, unless the call at this index has not got its id yet */
		struct scall *prev = pidx == NO_INDEX ? NULL : find_call(sd, pidx, HR_STR_NULL);
		if (prev && !prev->id.len && !prev->started && !(prev->id = dup_str(a, id)).ptr)
			return nomem(msg);
		if (prev && hr_str_eq(prev->id, id))
			c = prev;
	} else if (!id.len) {
		c = pidx == NO_INDEX ? (sd->n ? &sd->calls[sd->last] : NULL)
		                     : find_call(sd, pidx, HR_STR_NULL);
	}
	if (!c) {
		if (sd->n == OPENAI_MAX_STREAM_CALLS)
			return bad(msg, "the provider's stream starts more tool calls than hearth "
			                "takes in one answer");
		if (sd->n == sd->cap) {
			size_t cap = sd->cap ? 2 * sd->cap : 4;
			struct scall *v = hr_arena_alloc(a, cap * sizeof *v);
			if (!v)
				return nomem(msg);
			if (sd->n)
				memcpy(v, sd->calls, sd->n * sizeof *v);
			sd->calls = v;
			sd->cap = cap;
		}
		c = &sd->calls[sd->n++];
		memset(c, 0, sizeof *c);
		c->pidx = pidx;
		if (id.len && !(c->id = dup_str(a, id)).ptr)
			return nomem(msg);
	}
	sd->last = (size_t)(c - sd->calls);

	struct hr_str name = hr_codec_str(json_object_get(fn, "name"));
	int rc;
	if (!c->started && name.len && (rc = start_call(a, st, c, name, out, msg)) < 0)
		return rc;
	json_t *args = json_object_get(fn, "arguments");
	struct hr_str piece = json_is_string(args)          ? hr_codec_str(args)
	                      : args && !json_is_null(args) ? dump_arena(a, args)
	                                                    : HR_STR("");
	if (!piece.ptr)
		return nomem(msg);
	if (c->started)
		return emit_piece(a, out, HR_SEV_TOOL_ARGS, c->ours, piece, msg);
	if (piece.len) { /* held until the name comes */
		char *p = hr_arena_alloc(a, c->pending.len + piece.len + 1);
		if (!p)
			return nomem(msg);
		if (c->pending.len)
			memcpy(p, c->pending.ptr, c->pending.len);
		memcpy(p + c->pending.len, piece.ptr, piece.len);
		p[c->pending.len + piece.len] = '\0';
		c->pending = (struct hr_str){p, c->pending.len + piece.len};
	}
	return 0;
}

static int stream_delta(struct hr_arena *a, struct hr_stream_dec *st, struct sdec *sd,
                        const json_t *delta, struct hr_sev_list *out, const char **msg)
{
	int rc;
	json_t *content = json_object_get(delta, "content");
	if (json_is_string(content)) {
		if ((rc = emit_piece(a, out, HR_SEV_TEXT, 0, hr_codec_str(content), msg)) < 0)
			return rc;
	} else if (json_is_array(content)) {
		size_t i;
		json_t *p;
		json_array_foreach(content, i, p)
		{
			struct hr_str t = hr_codec_str(json_object_get(p, "text"));
			if ((rc = emit_piece(a, out, HR_SEV_TEXT, 0, t, msg)) < 0)
				return rc;
		}
	}
	/* A streamed refusal is the answer's text: canonical streams have no refusal event. */
	struct hr_str refusal = hr_codec_str(json_object_get(delta, "refusal"));
	if ((rc = emit_piece(a, out, HR_SEV_TEXT, 0, refusal, msg)) < 0)
		return rc;

	size_t i;
	json_t *tc;
	json_array_foreach(json_object_get(delta, "tool_calls"), i, tc)
	{
		if (!json_is_object(tc))
			continue;
		json_t *idx = json_object_get(tc, "index");
		int64_t pidx = json_is_integer(idx) ? (int64_t)json_integer_value(idx) : NO_INDEX;
		if (pidx == LEGACY)
			pidx = NO_INDEX;
		rc = stream_call(a, st, sd, pidx, hr_codec_str(json_object_get(tc, "id")),
		                 json_object_get(tc, "function"), out, msg);
		if (rc < 0)
			return rc;
	}
	json_t *fcall = json_object_get(delta, "function_call");
	if (json_is_object(fcall) &&
	    (rc = stream_call(a, st, sd, LEGACY, HR_STR_NULL, fcall, out, msg)) < 0)
		return rc;
	return 0;
}

/* An error inside the stream: {"error": {...}} or {"error": "text"}. */
static int stream_error(struct hr_arena *a, const json_t *root, struct hr_sev_list *out,
                        const char **msg)
{
	json_t *err = json_object_get(root, "error");
	struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_ERROR);
	if (!ev)
		return nomem(msg);
	ev->err = HR_EUPSTREAM;
	const char *words[] = {json_string_value(json_object_get(err, "type")),
	                       json_string_value(json_object_get(err, "code"))};
	for (size_t i = 0; i < 2; i++)
		if (words[i] && (strstr(words[i], "rate_limit") || strstr(words[i], "quota")))
			ev->err = HR_ERATELIMIT;
	if (json_integer_value(json_object_get(err, "code")) == 429)
		ev->err = HR_ERATELIMIT;
	const char *text = hr_openai_error_text(a, root);
	ev->text = hr_str_from(text ? text : "the provider reported an error in the stream");
	return 0;
}

static int stream_chunk(struct hr_arena *a, struct hr_stream_dec *st, struct sdec *sd,
                        const char *event, const json_t *root, struct hr_sev_list *out,
                        const char **msg)
{
	if (!json_is_object(root))
		return bad(msg, "a stream event from the provider is not a JSON object");
	json_t *err = json_object_get(root, "error");
	if ((err && !json_is_null(err)) || (event && strcmp(event, "error") == 0))
		return stream_error(a, root, out, msg);
	json_t *choices = json_object_get(root, "choices");
	if (choices && !json_is_null(choices) && !json_is_array(choices))
		return bad(msg,
		           "a stream chunk from the provider has choices that are not an array");

	if (!sd->started) {
		struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_START);
		if (!ev || !(ev->id = dup_str(a, hr_codec_str(json_object_get(root, "id")))).ptr ||
		    !(ev->name = dup_str(a, hr_codec_str(json_object_get(root, "model")))).ptr)
			return nomem(msg);
		sd->started = true;
	}
	int rc;
	json_t *c0 = json_array_get(choices, 0); /* hearth asks for one choice */
	if (json_is_object(c0)) {
		if ((rc = stream_delta(a, st, sd, json_object_get(c0, "delta"), out, msg)) < 0)
			return rc;
		json_t *fr = json_object_get(c0, "finish_reason");
		if (json_is_string(fr)) {
			for (size_t i = 0; i < sd->n; i++)
				if (!sd->calls[i].started)
					return bad(msg,
					           "the provider's stream has a tool call without "
					           "a function name");
			struct hr_str w = hr_codec_str(fr);
			struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_FINISH);
			if (!ev || !(ev->finish_reason =
			                 hr_codec_trunc(a, w.ptr, w.len, OPENAI_MAX_FINISH)))
				return nomem(msg);
			ev->finish = finish_of(w);
			if (ev->finish == HR_FIN_STOP && st->n_tools)
				ev->finish =
				    HR_FIN_TOOL_CALLS; /* "stop" with calls (Ollama, vLLM) */
			st->finished = true;
		}
	}
	struct hr_usage_counts u;
	usage_of(json_object_get(root, "usage"), &u);
	if (u.present) {
		struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_USAGE);
		if (!ev)
			return nomem(msg);
		ev->usage = u;
	}
	return 0;
}

int hr_openai_decode_stream(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
                            const char *data, size_t len, struct hr_sev_list *out, const char **msg)
{
	*msg = NULL;
	struct hr_str d = {data ? data : "", data ? len : 0};
	while (d.len &&
	       (d.ptr[0] == ' ' || d.ptr[0] == '\t' || d.ptr[0] == '\r' || d.ptr[0] == '\n'))
		d.ptr++, d.len--;
	while (d.len && (d.ptr[d.len - 1] == ' ' || d.ptr[d.len - 1] == '\t' ||
	                 d.ptr[d.len - 1] == '\n' || d.ptr[d.len - 1] == '\r'))
		d.len--;
	if (hr_str_eq_cstr(d, "[DONE]"))
		return hr_sev_push(a, out, HR_SEV_DONE) ? 0 : nomem(msg);
	struct sdec *sd = st->priv;
	if (!sd && !(sd = st->priv = hr_arena_calloc(a, sizeof *sd)))
		return nomem(msg);

	json_t *root = json_loadb(d.ptr, d.len, 0, NULL);
	if (!root) {
		if (event && strcmp(event, "error") == 0) { /* "event: error" with plain text */
			struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_ERROR);
			if (!ev || !(ev->text = hr_str_from(
			                 hr_codec_trunc(a, d.ptr, d.len, OPENAI_MAX_MSG)))
			                .ptr)
				return nomem(msg);
			ev->err = HR_EUPSTREAM;
			return 0;
		}
		hr_codec_load(a, d.ptr, d.len, what_event, msg); /* fails again, with the why */
		if (!*msg)
			*msg = hr_err_msg(HR_EUPSTREAM_BAD);
		return HR_EUPSTREAM_BAD;
	}
	int rc = stream_chunk(a, st, sd, event, root, out, msg);
	json_decref(root);
	return rc;
}

/* ---- embeddings ---- */

int hr_openai_encode_embed(struct hr_arena *a, const struct hr_conf_model *m,
                           const struct hr_embed_req *rq, struct hr_http_out *out, const char **msg,
                           const char **param)
{
	*msg = NULL;
	*param = NULL;
	struct enc e = {a, msg, param};
	const char *upstream = m->upstream ? m->upstream : m->name;
	int rc;
	bool oom = false;
	json_t *body;
	if (json_is_object(rq->body)) {
		/* an OpenAI client's body as it came (token-id inputs, encoding_format and all),
		 * with only the model replaced; a shallow copy leaves rq->body untouched */
		body = json_copy(rq->body);
		put(body, "model", json_string(upstream), &oom);
	} else {
		int frc = hr_codec_refuse_fields(a, rq->extra, "openai", msg, param);
		if (frc < 0)
			return frc;
		if (rq->tokens_input)
			return refuse(&e, HR_EUNSUPPORTED, "input",
			              "'input' holds token ids, which hearth forwards only in an "
			              "OpenAI client's own body: send the texts instead");
		body = json_object();
		json_t *in = json_array();
		put(body, "model", json_string(upstream), &oom);
		put(body, "input", in, &oom);
		for (size_t i = 0; i < rq->n_inputs && !oom; i++)
			push(in, jstr(rq->inputs[i]), &oom);
		if (rq->dimensions > 0)
			put(body, "dimensions", json_integer(rq->dimensions), &oom);
		/* floats: hearth encodes base64 for the client itself */
		put(body, "encoding_format", json_string("float"), &oom);
		if (rq->user.len)
			put(body, "user", jstr(rq->user), &oom);
	}
	if (oom || !body) {
		json_decref(body);
		return nomem(msg);
	}
	if ((rc = hr_openai_head(a, m, "/embeddings", false, out, msg)) == 0 &&
	    (rc = hr_codec_dump(body, &out->body)) < 0)
		*msg = rc == HR_ETOOBIG ? "the request is too large to send to the provider"
		                        : hr_err_msg(rc);
	json_decref(body);
	return rc;
}

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

/* Decodes base64 (standard or URL alphabet, padding optional) into out (at least
 * 3 * (n / 4 + 1) bytes). Returns the bytes written, or -1 when s is not base64. */
static long b64_decode(const char *s, size_t n, unsigned char *out)
{
	while (n && s[n - 1] == '=')
		n--;
	if (n % 4 == 1)
		return -1;
	uint32_t acc = 0;
	size_t bits = 0, w = 0;
	for (size_t i = 0; i < n; i++) {
		int v = b64_value((unsigned char)s[i]);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[w++] = (unsigned char)(acc >> bits);
		}
	}
	return (long)w;
}

/* A base64 embedding (little-endian float32s) as a JSON array of numbers; NULL and *why
 * when it is not one. */
static json_t *b64_floats(struct hr_arena *a, struct hr_str s, const char **why)
{
	unsigned char *raw = hr_arena_alloc(a, 3 * (s.len / 4 + 1));
	if (!raw) {
		*why = hr_err_msg(HR_ENOMEM);
		return NULL;
	}
	long n = b64_decode(s.ptr, s.len, raw);
	if (n < 0 || n % 4) {
		*why = "the provider's embedding is a string that is not base64 float32 data";
		return NULL;
	}
	json_t *arr = json_array();
	for (long i = 0; arr && i < n; i += 4) {
		uint32_t u = (uint32_t)raw[i] | (uint32_t)raw[i + 1] << 8 |
		             (uint32_t)raw[i + 2] << 16 | (uint32_t)raw[i + 3] << 24;
		float f;
		memcpy(&f, &u, sizeof f);
		json_t *x = json_real((double)f); /* NULL for NaN and infinities */
		if (!x || json_array_append_new(arr, x) < 0) {
			*why =
			    x ? hr_err_msg(HR_ENOMEM)
			      : "the provider's embedding has a value that is not a finite number";
			json_decref(arr);
			return NULL;
		}
	}
	if (!arr)
		*why = hr_err_msg(HR_ENOMEM);
	return arr;
}

int hr_openai_decode_embed(struct hr_arena *a, const char *body, size_t len,
                           struct hr_embed_resp *res, const char **msg)
{
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what_answer, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root))
		return bad(msg, "the provider's answer is not a JSON object");
	json_t *err = json_object_get(root, "error");
	if (err && !json_is_null(err)) {
		*msg = hr_openai_error_text(a, root);
		if (!*msg)
			*msg = "the provider answered with an error";
		return HR_EUPSTREAM;
	}
	json_t *data = json_object_get(root, "data");
	if (!json_is_array(data))
		return bad(msg, "the provider's answer has no data");
	size_t n = json_array_size(data);
	json_t **v = n ? hr_arena_calloc(a, n * sizeof *v) : NULL;
	if (n && !v)
		return nomem(msg);
	size_t i;
	json_t *el;
	json_array_foreach(data, i, el)
	{
		json_t *emb = json_object_get(el, "embedding"), *idx = json_object_get(el, "index");
		json_int_t k = json_is_integer(idx) ? json_integer_value(idx) : (json_int_t)i;
		if ((idx && !json_is_integer(idx)) || k < 0 || (size_t)k >= n || v[k])
			return bad(msg, "the provider's embeddings have indexes that are not "
			                "0, 1, ... once each");
		if (json_is_string(emb)) {
			const char *why = NULL;
			json_t *arr = b64_floats(a, hr_codec_str(emb), &why);
			if (!arr)
				return bad(msg, why);
			/* the tree owns the decoded array, in the place of the string */
			if (json_object_set_new(el, "embedding", arr) < 0)
				return nomem(msg);
			emb = arr;
		} else if (json_is_array(emb)) {
			size_t j;
			json_t *x;
			json_array_foreach(emb, j, x)
			{
				if (!json_is_number(x))
					return bad(msg,
					           "the provider's embedding has a value that is "
					           "not a number");
			}
		} else {
			return bad(msg, "the provider's answer has an embedding that is neither an "
			                "array of numbers nor base64");
		}
		v[k] = emb;
	}
	res->vectors = v;
	res->n = n;
	res->model = hr_codec_str(json_object_get(root, "model"));
	json_t *u = json_object_get(root, "usage"), *p = json_object_get(u, "prompt_tokens");
	res->usage.prompt_tokens = count_of(p);
	res->usage.present = json_is_integer(p);
	return 0;
}

/* ---- models ---- */

int hr_openai_decode_models(struct hr_arena *a, const char *body, size_t len, struct hr_str **ids,
                            size_t *n, const char **msg)
{
	*ids = NULL;
	*n = 0;
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what_answer, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *data = json_object_get(root, "data");
	if (!json_is_array(data))
		return bad(msg, "the provider's model list has no data array");
	size_t cap = json_array_size(data), k = 0;
	struct hr_str *v = cap ? hr_arena_calloc(a, cap * sizeof *v) : NULL;
	if (cap && !v)
		return nomem(msg);
	size_t i;
	json_t *el;
	json_array_foreach(data, i, el)
	{
		struct hr_str id = hr_codec_str(json_object_get(el, "id"));
		if (id.len) /* entries without an id are not models hearth can name */
			v[k++] = id;
	}
	*ids = v;
	*n = k;
	return 0;
}
