/* anthropic.c - codec for the Anthropic Messages API (POST {base}/messages): encodes the
 * canonical request (or forwards an Anthropic client's own body), decodes answers, SSE stream
 * events, error bodies and the model list (GET {base}/models). */
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "providers/provider.h"

#define AN_KIND    "anthropic"
#define AN_VERSION "2023-06-01"
/* Longest provider message passed on to clients, and longest stop_reason kept. */
#define AN_MAX_MSG    500
#define AN_MAX_FINISH 64

/* ---- encode ---- */

struct enc {
	struct hr_arena *a;
	const struct hr_chat_req *rq;
	const char **msg, **param;
	bool oom; /* a json_* allocation failed somewhere in the tree being built */
};

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

#define PATH(e, ...) hr_arena_printf((e)->a, __VA_ARGS__)

/* json_object_set_new / json_array_append_new that remember a failure (they take v anyway,
 * and accept a NULL o or v, so a chain of them needs one check at the end). */
static void set(struct enc *e, json_t *o, const char *k, json_t *v)
{
	if (json_object_set_new(o, k, v) < 0)
		e->oom = true;
}

static void push(struct enc *e, json_t *arr, json_t *v)
{
	if (json_array_append_new(arr, v) < 0)
		e->oom = true;
}

static json_t *text_block(struct enc *e, struct hr_str text)
{
	json_t *b = json_object();
	set(e, b, "type", json_string("text"));
	set(e, b, "text", hr_codec_jstr(text));
	return b;
}

static bool is_http_url(struct hr_str u)
{
	return hr_str_starts(u, "https://") || hr_str_starts(u, "http://");
}

/* Appends block to the last message of msgs when it has the same role, else to a new one:
 * Anthropic wants user and assistant turns to alternate, and tool results are user turns. */
static void add_block(struct enc *e, json_t *msgs, const char *role, json_t *block)
{
	size_t n = json_array_size(msgs);
	json_t *last = n ? json_array_get(msgs, n - 1) : NULL;
	const char *last_role = json_string_value(json_object_get(last, "role"));
	if (last_role && strcmp(last_role, role) == 0) {
		push(e, json_object_get(last, "content"), block);
		return;
	}
	json_t *m = json_object(), *content = json_array();
	if (json_array_append_new(content, block) < 0)
		e->oom = true;
	set(e, m, "role", json_string(role));
	set(e, m, "content", content);
	push(e, msgs, m);
}

/* The Anthropic block for part j of message i; *block NULL: nothing to send (empty text). */
static int enc_part(struct enc *e, size_t i, size_t j, const struct hr_msg *m,
                    const struct hr_part *p, json_t **block)
{
	*block = NULL;
	bool ok = false;
	switch (p->type) {
	case HR_PART_TEXT: ok = m->role != HR_ROLE_TOOL; break;
	case HR_PART_IMAGE: ok = m->role == HR_ROLE_USER; break;
	case HR_PART_TOOL_CALL: ok = m->role == HR_ROLE_ASSISTANT; break;
	case HR_PART_TOOL_RESULT: ok = m->role == HR_ROLE_TOOL; break;
	}
	if (!ok)
		return refuse(e, HR_EUNSUPPORTED, PATH(e, "messages[%zu].content[%zu]", i, j),
		              "messages[%zu].content[%zu] cannot be sent to a provider of kind "
		              "anthropic: images go in user messages only, tool calls in assistant "
		              "messages, tool results in tool messages; move or remove it",
		              i, j);

	json_t *b = NULL;
	switch (p->type) {
	case HR_PART_TEXT:
		/* Anthropic rejects empty text blocks; an empty text says nothing */
		if (p->text.len)
			b = text_block(e, p->text);
		break;
	case HR_PART_IMAGE: {
		/* p->detail (OpenAI's "low"/"high"/"auto") is a rendering hint with no Anthropic
		 * counterpart and does not change what the image is: it is dropped. */
		json_t *src = json_object();
		if (p->data.len) {
			if (!p->media_type.len) {
				json_decref(src);
				return refuse(
				    e, HR_EINVAL, PATH(e, "messages[%zu].content[%zu]", i, j),
				    "messages[%zu].content[%zu] is image data without a media "
				    "type: send a data URL such as data:image/png;base64,...",
				    i, j);
			}
			set(e, src, "type", json_string("base64"));
			set(e, src, "media_type", hr_codec_jstr(p->media_type));
			set(e, src, "data", hr_codec_jstr(p->data));
		} else if (is_http_url(p->url)) {
			set(e, src, "type", json_string("url"));
			set(e, src, "url", hr_codec_jstr(p->url));
		} else {
			json_decref(src);
			return refuse(
			    e, HR_EUNSUPPORTED, PATH(e, "messages[%zu].content[%zu]", i, j),
			    "messages[%zu].content[%zu]: a provider of kind anthropic takes "
			    "images as an http(s) URL or as base64 data; send one of those",
			    i, j);
		}
		b = json_object();
		set(e, b, "type", json_string("image"));
		set(e, b, "source", src);
		break;
	}
	case HR_PART_TOOL_CALL: {
		json_t *input;
		if (p->arguments.len == 0) {
			input = json_object();
		} else {
			input = json_loadb(p->arguments.ptr, p->arguments.len, 0, NULL);
			if (!json_is_object(input)) {
				json_decref(input);
				return refuse(
				    e, HR_EINVAL, PATH(e, "messages[%zu]", i),
				    "messages[%zu] has a tool call whose arguments are not a "
				    "JSON object; a provider of kind anthropic takes tool input "
				    "as an object: send the arguments as JSON object text",
				    i);
			}
		}
		b = json_object();
		set(e, b, "type", json_string("tool_use"));
		set(e, b, "id", hr_codec_jstr(p->id));
		set(e, b, "name", hr_codec_jstr(p->name));
		set(e, b, "input", input);
		break;
	}
	case HR_PART_TOOL_RESULT:
		b = json_object();
		set(e, b, "type", json_string("tool_result"));
		set(e, b, "tool_use_id", hr_codec_jstr(p->id));
		if (p->text.len) /* content is optional; an empty text block would be rejected */
			set(e, b, "content", hr_codec_jstr(p->text));
		if (p->is_error)
			set(e, b, "is_error", json_true());
		break;
	}
	if (!b && p->type != HR_PART_TEXT)
		e->oom = true;
	*block = b;
	return 0;
}

/* Fills "system" (all system messages' text, in order) and "messages" of body. */
static int enc_messages(struct enc *e, json_t *body)
{
	const struct hr_chat_req *rq = e->rq;
	json_t *sys = json_array(), *msgs = json_array();
	int rc = 0;
	for (size_t i = 0; i < rq->n_msgs && rc == 0; i++) {
		const struct hr_msg *m = &rq->msgs[i];
		if (m->name.len) {
			rc = refuse(
			    e, HR_EUNSUPPORTED, PATH(e, "messages[%zu].name", i),
			    "messages[%zu].name (a participant name) cannot be sent to a "
			    "provider of kind anthropic: remove it, or say who speaks in the "
			    "message's text",
			    i);
			break;
		}
		for (size_t j = 0; j < m->n_parts; j++) {
			const struct hr_part *p = &m->parts[j];
			if (m->role == HR_ROLE_SYSTEM) {
				if (p->type != HR_PART_TEXT) {
					rc = refuse(
					    e, HR_EUNSUPPORTED,
					    PATH(e, "messages[%zu].content[%zu]", i, j),
					    "messages[%zu].content[%zu]: system messages hold only "
					    "text for a provider of kind anthropic; move it to a "
					    "user message",
					    i, j);
					break;
				}
				if (p->text.len)
					push(e, sys, text_block(e, p->text));
				continue;
			}
			json_t *b;
			if ((rc = enc_part(e, i, j, m, p, &b)) < 0)
				break;
			if (b)
				add_block(e, msgs,
				          m->role == HR_ROLE_ASSISTANT ? "assistant" : "user", b);
		}
	}
	if (rc == 0 && !e->oom && json_array_size(msgs) == 0)
		rc = refuse(e, HR_EINVAL, "messages",
		            "messages has no user or assistant content to send to a provider of "
		            "kind anthropic: add a user message");
	if (rc < 0) {
		json_decref(sys);
		json_decref(msgs);
		return rc;
	}
	if (json_array_size(sys) == 1)
		set(e, body, "system",
		    json_incref(json_object_get(json_array_get(sys, 0), "text")));
	else if (json_array_size(sys) > 1)
		set(e, body, "system", json_incref(sys));
	json_decref(sys);
	set(e, body, "messages", msgs);
	return 0;
}

static void enc_tools(struct enc *e, json_t *body)
{
	const struct hr_chat_req *rq = e->rq;
	if (rq->n_tools == 0)
		return;
	json_t *tools = json_array();
	for (size_t i = 0; i < rq->n_tools; i++) {
		const struct hr_tool *t = &rq->tools[i];
		json_t *o = json_object();
		set(e, o, "name", hr_codec_jstr(t->name));
		if (t->description.len)
			set(e, o, "description", hr_codec_jstr(t->description));
		/* parameters is borrowed: the body holds a reference, never changes it */
		if (json_is_object(t->parameters)) {
			set(e, o, "input_schema", json_incref(t->parameters));
		} else {
			json_t *s = json_object();
			set(e, s, "type", json_string("object"));
			set(e, s, "properties", json_object());
			set(e, o, "input_schema", s);
		}
		/* Anthropic's strict tool use: the input follows input_schema exactly */
		if (t->strict)
			set(e, o, "strict", json_true());
		push(e, tools, o);
	}
	set(e, body, "tools", tools);
}

static int enc_tool_choice(struct enc *e, json_t *body)
{
	const struct hr_chat_req *rq = e->rq;
	const char *type = NULL;
	switch (rq->tool_choice) {
	case HR_TC_UNSET: type = rq->parallel_tool_calls == 0 ? "auto" : NULL; break;
	case HR_TC_AUTO: type = "auto"; break;
	case HR_TC_NONE: type = "none"; break;
	case HR_TC_REQUIRED: type = "any"; break;
	case HR_TC_NAMED: type = "tool"; break;
	}
	if (!type)
		return 0;
	if (rq->n_tools == 0) {
		/* Anthropic takes tool_choice only beside tools; without tools, auto and none
		 * already hold (no tool can be called) */
		if (rq->tool_choice == HR_TC_REQUIRED || rq->tool_choice == HR_TC_NAMED)
			return refuse(
			    e, HR_EINVAL, "tool_choice",
			    "tool_choice asks for a tool call but the request has no tools: "
			    "send tools, or remove tool_choice");
		return 0;
	}
	json_t *tc = json_object();
	set(e, tc, "type", json_string(type));
	if (rq->tool_choice == HR_TC_NAMED)
		set(e, tc, "name", hr_codec_jstr(rq->tool_choice_name));
	if (rq->parallel_tool_calls == 0 && rq->tool_choice != HR_TC_NONE)
		set(e, tc, "disable_parallel_tool_use", json_true());
	set(e, body, "tool_choice", tc);
	return 0;
}

/* The canonical fields Anthropic has no place for. */
static int enc_refusals(struct enc *e)
{
	const struct hr_chat_req *rq = e->rq;
	if (rq->has_seed)
		return refuse(e, HR_EUNSUPPORTED, "seed",
		              "seed cannot be sent to a provider of kind anthropic (it has no "
		              "seeded sampling): remove it");
	if (rq->has_presence_penalty)
		return refuse(e, HR_EUNSUPPORTED, "presence_penalty",
		              "presence_penalty cannot be sent to a provider of kind anthropic: "
		              "remove it");
	if (rq->has_frequency_penalty)
		return refuse(e, HR_EUNSUPPORTED, "frequency_penalty",
		              "frequency_penalty cannot be sent to a provider of kind anthropic: "
		              "remove it");
	if (rq->format == HR_FMT_JSON_OBJECT || rq->format == HR_FMT_JSON_SCHEMA)
		return refuse(e, HR_EUNSUPPORTED, "response_format",
		              "response_format json_object or json_schema cannot be sent to a "
		              "provider of kind anthropic: remove it and ask for JSON in the "
		              "prompt, or use a tool whose input_schema is your schema");
	if (rq->has_temperature && rq->temperature > 1.0)
		return refuse(e, HR_EUNSUPPORTED, "temperature",
		              "temperature %g is out of range for a provider of kind anthropic, "
		              "which takes 0 to 1: send a temperature from 0 to 1",
		              rq->temperature);
	return hr_codec_refuse_extra(e->a, rq, AN_KIND, e->msg, e->param);
}

/* The Messages body from the canonical request (a client of another dialect). */
static int enc_canonical(struct enc *e, const struct hr_conf_model *m, const char *model,
                         json_t *body)
{
	const struct hr_chat_req *rq = e->rq;
	int rc;
	if ((rc = enc_refusals(e)) < 0)
		return rc;
	set(e, body, "model", json_string(model));
	set(e, body, "max_tokens",
	    json_integer(rq->max_tokens > 0         ? rq->max_tokens
	                 : m->max_output_tokens > 0 ? m->max_output_tokens
	                                            : HR_DEFAULT_MAX_TOKENS));
	if ((rc = enc_messages(e, body)) < 0)
		return rc;
	enc_tools(e, body);
	if ((rc = enc_tool_choice(e, body)) < 0)
		return rc;
	if (rq->n_stop) {
		json_t *stop = json_array();
		for (size_t i = 0; i < rq->n_stop && i < HR_CHAT_MAX_STOP; i++)
			push(e, stop, hr_codec_jstr(rq->stop[i]));
		set(e, body, "stop_sequences", stop);
	}
	if (rq->has_temperature)
		set(e, body, "temperature", json_real(rq->temperature));
	if (rq->has_top_p)
		set(e, body, "top_p", json_real(rq->top_p));
	if (rq->top_k >= 0)
		set(e, body, "top_k", json_integer(rq->top_k));
	if (rq->user.len) {
		json_t *md = json_object();
		set(e, md, "user_id", hr_codec_jstr(rq->user));
		set(e, body, "metadata", md);
	}
	if (rq->stream)
		set(e, body, "stream", json_true());
	if (json_is_object(rq->extra) && hr_codec_extra_goes(rq, AN_KIND) &&
	    json_object_update_missing(body, rq->extra) < 0)
		e->oom = true;
	return 0;
}

static int anthropic_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                                 const struct hr_chat_req *rq, struct hr_http_out *out,
                                 const char **msg, const char **param)
{
	*param = NULL;
	*msg = NULL;
	const struct hr_conf_provider *p = m->provider;
	if (!p || !p->base_url) {
		*msg = "model has no provider";
		return HR_EINTERNAL;
	}
	out->url = hr_arena_printf(a, "%s/messages", p->base_url);
	if (!out->url) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	size_t h = 0;
	out->headers[h++] = "content-type: application/json";
	out->headers[h++] = "anthropic-version: " AN_VERSION;
	if (p->api_key && p->api_key[0]) {
		if (!(out->headers[h++] = hr_arena_printf(a, "x-api-key: %s", p->api_key))) {
			*msg = hr_err_msg(HR_ENOMEM);
			return HR_ENOMEM;
		}
	}
	if (rq->stream)
		out->headers[h++] = "accept: text/event-stream";
	out->headers[h] = NULL;

	struct enc e = {a, rq, msg, param, false};
	const char *upstream = m->upstream ? m->upstream : m->name;
	json_t *body;
	int rc = 0;
	if (rq->dialect == HR_DIALECT_ANTHROPIC && json_is_object(rq->body)) {
		/* An Anthropic client: its body goes on with only model and stream replaced, so
		 * fields hearth does not model (cache_control, thinking, ...) survive. A shallow
		 * copy: rq->body stays as sent, for a fallback to encode again. */
		body = json_copy(rq->body);
		if (!body)
			e.oom = true;
		set(&e, body, "model", json_string(upstream));
		set(&e, body, "stream", json_boolean(rq->stream));
	} else {
		body = json_object();
		if (!body)
			e.oom = true;
		else
			rc = enc_canonical(&e, m, upstream, body);
	}
	if (rc == 0 && e.oom)
		rc = HR_ENOMEM;
	if (rc == 0 && (rc = hr_codec_dump(body, &out->body)) == HR_ETOOBIG)
		*msg = "the request is too large to send to the provider";
	json_decref(body);
	if (rc == HR_ENOMEM) {
		*msg = hr_err_msg(HR_ENOMEM);
		*param = NULL;
	}
	return rc;
}

/* ---- decode ---- */

/* Token counts as Anthropic gives them; each field replaced when an event carries it. */
struct an_usage {
	int64_t input, output, cache_read, cache_creation;
	bool seen; /* some count was given */
};

static bool read_count(const json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j))
		return false;
	json_int_t x = json_integer_value(j);
	*v = x > 0 ? (int64_t)x : 0;
	return true;
}

static void usage_read(const json_t *u, struct an_usage *r)
{
	if (!json_is_object(u))
		return;
	bool any = read_count(u, "input_tokens", &r->input);
	any |= read_count(u, "output_tokens", &r->output);
	any |= read_count(u, "cache_read_input_tokens", &r->cache_read);
	any |= read_count(u, "cache_creation_input_tokens", &r->cache_creation);
	r->seen |= any;
}

static int64_t sat_add(int64_t x, int64_t y)
{
	return x > INT64_MAX - y ? INT64_MAX : x + y;
}

/* Canonical usage: OpenAI's prompt_tokens counts cached tokens, Anthropic's input_tokens
 * does not (cache reads and writes are reported apart). */
static struct hr_usage_counts usage_counts(const struct an_usage *r)
{
	struct hr_usage_counts c = {0};
	c.prompt_tokens = sat_add(sat_add(r->input, r->cache_read), r->cache_creation);
	c.completion_tokens = r->output;
	c.cached_tokens = r->cache_read;
	c.cache_creation_tokens = r->cache_creation;
	c.present = r->seen;
	return c;
}

static enum hr_finish finish_of(struct hr_str r)
{
	if (hr_str_eq_cstr(r, "max_tokens") || hr_str_eq_cstr(r, "model_context_window_exceeded"))
		return HR_FIN_LENGTH;
	if (hr_str_eq_cstr(r, "tool_use"))
		return HR_FIN_TOOL_CALLS;
	if (hr_str_eq_cstr(r, "refusal"))
		return HR_FIN_CONTENT_FILTER;
	/* end_turn, stop_sequence, pause_turn (a server tool's turn paused: the answer so
	 * far is complete), and reasons added later */
	return HR_FIN_STOP;
}

/* The HR_E* code of an Anthropic error type, for errors inside a 200 answer or stream. */
static int error_code_of(struct hr_str type)
{
	if (hr_str_eq_cstr(type, "overloaded_error"))
		return HR_EOVERLOADED;
	if (hr_str_eq_cstr(type, "rate_limit_error"))
		return HR_ERATELIMIT;
	return HR_EUPSTREAM;
}

/* The provider's message from {"type": "error", "error": {"type", "message"}}; NULL when
 * none. */
static const char *error_message(struct hr_arena *a, const json_t *root)
{
	struct hr_str m = hr_codec_str(json_object_get(json_object_get(root, "error"), "message"));
	if (!m.len)
		return NULL;
	return hr_codec_trunc(a, m.ptr, m.len, AN_MAX_MSG);
}

static const char *bad(struct hr_arena *a, const char *fmt, const char *what)
{
	const char *m = hr_arena_printf(a, fmt, what);
	return m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
}

static int anthropic_decode_chat(struct hr_arena *a, const char *body, size_t len,
                                 struct hr_chat_resp *res, const char **msg)
{
	static const char what[] = "the provider's answer";
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root)) {
		*msg = bad(a, "%s is not a JSON object", what);
		return HR_EUPSTREAM_BAD;
	}
	struct hr_str type = hr_codec_str(json_object_get(root, "type"));
	if (hr_str_eq_cstr(type, "error")) {
		*msg = error_message(a, root);
		if (!*msg)
			*msg = "the provider answered with an error";
		return error_code_of(
		    hr_codec_str(json_object_get(json_object_get(root, "error"), "type")));
	}
	json_t *content = json_object_get(root, "content");
	if (!json_is_array(content)) {
		*msg = bad(a, "%s has no content array", what);
		return HR_EUPSTREAM_BAD;
	}
	size_t n = json_array_size(content), np = 0, bytes = 0;
	struct hr_part *parts = n ? hr_arena_calloc(a, n * sizeof *parts) : NULL;
	if (n && !parts) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	bool calls = false;
	for (size_t i = 0; i < n; i++) {
		json_t *b = json_array_get(content, i);
		struct hr_str bt = hr_codec_str(json_object_get(b, "type"));
		if (hr_str_eq_cstr(bt, "text")) {
			json_t *t = json_object_get(b, "text");
			if (!json_is_string(t)) {
				*msg = bad(a, "%s has a text block without text", what);
				return HR_EUPSTREAM_BAD;
			}
			parts[np].type = HR_PART_TEXT;
			parts[np].text = hr_codec_str(t);
			bytes += parts[np++].text.len;
		} else if (hr_str_eq_cstr(bt, "tool_use")) {
			json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
			json_t *input = json_object_get(b, "input");
			if (!json_is_string(id) || !json_is_string(name) ||
			    (input && !json_is_object(input))) {
				*msg = bad(a,
				           "%s has a tool_use block without a string id and name "
				           "and an object input",
				           what);
				return HR_EUPSTREAM_BAD;
			}
			char *args = input ? json_dumps(input, JSON_COMPACT) : NULL;
			const char *copy = hr_arena_strdup(a, args ? args : "{}");
			free(args);
			if (!copy || (input && !args)) {
				*msg = hr_err_msg(HR_ENOMEM);
				return HR_ENOMEM;
			}
			parts[np].type = HR_PART_TOOL_CALL;
			parts[np].id = hr_codec_str(id);
			parts[np].name = hr_codec_str(name);
			parts[np].arguments = hr_str_from(copy);
			bytes += parts[np++].arguments.len;
			calls = true;
		}
		/* thinking and redacted_thinking blocks are the model's own notes, and server
		 * tool blocks (web search, ...) were handled by the provider: neither is part of
		 * the answer a client of another dialect can take */
	}
	res->parts = parts;
	res->n_parts = np;
	res->completion_bytes = bytes;
	res->id = hr_codec_str(json_object_get(root, "id"));
	res->model = hr_codec_str(json_object_get(root, "model"));
	res->stop_sequence = hr_codec_str(json_object_get(root, "stop_sequence"));
	struct hr_str reason = hr_codec_str(json_object_get(root, "stop_reason"));
	if (reason.len) {
		res->finish = finish_of(reason);
		if (res->finish == HR_FIN_STOP && calls)
			res->finish = HR_FIN_TOOL_CALLS;
		res->finish_reason = hr_codec_trunc(a, reason.ptr, reason.len, AN_MAX_FINISH);
	}
	struct an_usage u = {0};
	usage_read(json_object_get(root, "usage"), &u);
	res->usage = usage_counts(&u);
	return 0;
}

/* ---- stream ---- */

/* Per-stream state: the content-block index of each tool call (by tool index), and the
 * counts so far. */
struct an_stream {
	int64_t *block;
	size_t cap;
	struct an_usage usage;
};

/* Loads one event's data; the tree is the caller's to json_decref (events are many, and
 * what they give is copied into the arena, so their trees do not pile up there). */
static json_t *load_event(struct hr_arena *a, const char *data, size_t len, const char **msg)
{
	json_error_t e;
	json_t *j = json_loadb(data ? data : "", len, 0, &e);
	if (!j) {
		for (char *q = e.text; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				*q = '?';
		const char *m = hr_arena_printf(a,
		                                "a stream event from the provider is not JSON: %s "
		                                "(line %d, column %d)",
		                                e.text, e.line, e.column);
		*msg = m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
		return NULL;
	}
	if (!json_is_object(j)) {
		json_decref(j);
		*msg = "a stream event from the provider is not a JSON object";
		return NULL;
	}
	return j;
}

/* A copy of a JSON string in the arena; *ok false on OOM. */
static struct hr_str dup_str(struct hr_arena *a, const json_t *j, bool *ok)
{
	struct hr_str s = hr_codec_str(j);
	if (!s.len)
		return s;
	char *p = hr_arena_strndup(a, s.ptr, s.len);
	if (!p)
		*ok = false;
	return (struct hr_str){p ? p : "", p ? s.len : 0};
}

/* The "index" of a content-block event: >= 0, or -1 when missing or not an integer. */
static int64_t block_index(const json_t *ev)
{
	json_t *j = json_object_get(ev, "index");
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return -1;
	return (int64_t)json_integer_value(j);
}

/* The tool index of content block idx; -1 when that block is not a tool call. */
static long tool_of(const struct an_stream *s, size_t n_tools, int64_t idx)
{
	for (size_t i = n_tools; i-- > 0;) /* the newest block is the one streaming */
		if (s->block[i] == idx)
			return (long)i;
	return -1;
}

static int add_tool(struct hr_arena *a, struct an_stream *s, size_t n_tools, int64_t idx)
{
	if (n_tools == s->cap) {
		size_t cap = s->cap ? 2 * s->cap : 8;
		int64_t *v = hr_arena_alloc(a, cap * sizeof *v);
		if (!v)
			return HR_ENOMEM;
		if (n_tools)
			memcpy(v, s->block, n_tools * sizeof *v);
		s->block = v;
		s->cap = cap;
	}
	s->block[n_tools] = idx;
	return 0;
}

static int push_usage(struct hr_arena *a, struct an_stream *s, struct hr_sev_list *out)
{
	struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_USAGE);
	if (!ev)
		return HR_ENOMEM;
	ev->usage = usage_counts(&s->usage);
	return 0;
}

/* The events of one provider event; returns 0, HR_EUPSTREAM_BAD (with *msg) or HR_ENOMEM. */
static int stream_event(struct hr_arena *a, struct hr_stream_dec *st, struct an_stream *s,
                        struct hr_str type, const json_t *j, struct hr_sev_list *out,
                        const char **msg)
{
	struct hr_sev *ev;
	bool ok = true;
	if (hr_str_eq_cstr(type, "message_start")) {
		json_t *m = json_object_get(j, "message");
		if (!json_is_object(m)) {
			*msg = "a message_start event from the provider has no message object";
			return HR_EUPSTREAM_BAD;
		}
		if (!(ev = hr_sev_push(a, out, HR_SEV_START)))
			return HR_ENOMEM;
		ev->id = dup_str(a, json_object_get(m, "id"), &ok);
		ev->name = dup_str(a, json_object_get(m, "model"), &ok);
		if (!ok)
			return HR_ENOMEM;
		json_t *u = json_object_get(m, "usage");
		bool seen = s->usage.seen;
		s->usage.seen = false;
		usage_read(u, &s->usage);
		if (s->usage.seen && push_usage(a, s, out) < 0)
			return HR_ENOMEM;
		s->usage.seen |= seen;
		return 0;
	}
	if (hr_str_eq_cstr(type, "content_block_start")) {
		int64_t idx = block_index(j);
		json_t *b = json_object_get(j, "content_block");
		if (idx < 0 || !json_is_object(b)) {
			*msg = "a content_block_start event from the provider has no index or no "
			       "content_block object";
			return HR_EUPSTREAM_BAD;
		}
		struct hr_str bt = hr_codec_str(json_object_get(b, "type"));
		if (hr_str_eq_cstr(bt, "text")) {
			struct hr_str t = dup_str(a, json_object_get(b, "text"), &ok);
			if (!ok)
				return HR_ENOMEM;
			if (t.len) {
				if (!(ev = hr_sev_push(a, out, HR_SEV_TEXT)))
					return HR_ENOMEM;
				ev->text = t;
			}
		} else if (hr_str_eq_cstr(bt, "tool_use")) {
			json_t *id = json_object_get(b, "id"), *name = json_object_get(b, "name");
			json_t *input = json_object_get(b, "input");
			if (!json_is_string(id) || !json_is_string(name) ||
			    (input && !json_is_object(input))) {
				*msg = "a tool_use block from the provider has no string id and "
				       "name or "
				       "an input that is not an object";
				return HR_EUPSTREAM_BAD;
			}
			if (tool_of(s, st->n_tools, idx) >= 0) {
				*msg = "the provider started a content block twice";
				return HR_EUPSTREAM_BAD;
			}
			if (add_tool(a, s, st->n_tools, idx) < 0 ||
			    !(ev = hr_sev_push(a, out, HR_SEV_TOOL_START)))
				return HR_ENOMEM;
			size_t ti = st->n_tools++;
			ev->index = ti;
			ev->id = dup_str(a, id, &ok);
			ev->name = dup_str(a, name, &ok);
			if (!ok)
				return HR_ENOMEM;
			/* the input is given whole here as {} and then in input_json_delta pieces;
			 * a non-empty one would be the whole input */
			if (json_object_size(input) > 0) {
				char *args = json_dumps(input, JSON_COMPACT);
				const char *copy = args ? hr_arena_strdup(a, args) : NULL;
				free(args);
				if (!copy || !(ev = hr_sev_push(a, out, HR_SEV_TOOL_ARGS)))
					return HR_ENOMEM;
				ev->index = ti;
				ev->text = hr_str_from(copy);
			}
		}
		/* thinking, redacted_thinking and server tool blocks: not for the client */
		return 0;
	}
	if (hr_str_eq_cstr(type, "content_block_delta")) {
		int64_t idx = block_index(j);
		json_t *d = json_object_get(j, "delta");
		if (idx < 0 || !json_is_object(d)) {
			*msg = "a content_block_delta event from the provider has no index or no "
			       "delta object";
			return HR_EUPSTREAM_BAD;
		}
		struct hr_str dt = hr_codec_str(json_object_get(d, "type"));
		bool text = hr_str_eq_cstr(dt, "text_delta");
		if (!text && !hr_str_eq_cstr(dt, "input_json_delta"))
			return 0; /* thinking_delta, signature_delta, citations_delta, ... */
		json_t *piece = json_object_get(d, text ? "text" : "partial_json");
		if (!json_is_string(piece)) {
			*msg = text ? "a text_delta from the provider has no text"
			            : "an input_json_delta from the provider has no partial_json";
			return HR_EUPSTREAM_BAD;
		}
		long ti = text ? 0 : tool_of(s, st->n_tools, idx);
		if (json_string_length(piece) == 0 || ti < 0)
			return 0; /* nothing to say, or the input of a server tool */
		if (!(ev = hr_sev_push(a, out, text ? HR_SEV_TEXT : HR_SEV_TOOL_ARGS)))
			return HR_ENOMEM;
		ev->index = text ? 0 : (size_t)ti;
		ev->text = dup_str(a, piece, &ok);
		return ok ? 0 : HR_ENOMEM;
	}
	if (hr_str_eq_cstr(type, "message_delta")) {
		json_t *d = json_object_get(j, "delta");
		if (!json_is_object(d)) {
			*msg = "a message_delta event from the provider has no delta object";
			return HR_EUPSTREAM_BAD;
		}
		struct hr_str reason = hr_codec_str(json_object_get(d, "stop_reason"));
		if (reason.len) {
			if (!(ev = hr_sev_push(a, out, HR_SEV_FINISH)))
				return HR_ENOMEM;
			ev->finish = finish_of(reason);
			if (ev->finish == HR_FIN_STOP && st->n_tools > 0)
				ev->finish = HR_FIN_TOOL_CALLS;
			ev->finish_reason =
			    hr_codec_trunc(a, reason.ptr, reason.len, AN_MAX_FINISH);
			ev->stop_sequence = dup_str(a, json_object_get(d, "stop_sequence"), &ok);
			if (!ok || !ev->finish_reason)
				return HR_ENOMEM;
			st->finished = true;
		}
		json_t *u = json_object_get(j, "usage");
		bool seen = s->usage.seen;
		s->usage.seen = false;
		usage_read(u, &s->usage);
		if (s->usage.seen && push_usage(a, s, out) < 0)
			return HR_ENOMEM;
		s->usage.seen |= seen;
		return 0;
	}
	if (hr_str_eq_cstr(type, "message_stop"))
		return hr_sev_push(a, out, HR_SEV_DONE) ? 0 : HR_ENOMEM;
	if (hr_str_eq_cstr(type, "error")) {
		if (!(ev = hr_sev_push(a, out, HR_SEV_ERROR)))
			return HR_ENOMEM;
		json_t *err = json_object_get(j, "error");
		ev->err = error_code_of(hr_codec_str(json_object_get(err, "type")));
		const char *m = error_message(a, j);
		ev->text = hr_str_from(m ? m : "the provider reported an error in the stream");
		return 0;
	}
	return 0; /* ping, content_block_stop, and event types added later */
}

static int anthropic_decode_stream(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
                                   const char *data, size_t len, struct hr_sev_list *out,
                                   const char **msg)
{
	*msg = NULL;
	/* the SSE event name says the type; "message" is the SSE default (no name given) */
	struct hr_str name = hr_str_from(event);
	bool named = name.len && !hr_str_eq_cstr(name, "message");
	if (named && (hr_str_eq_cstr(name, "ping") || hr_str_eq_cstr(name, "content_block_stop")))
		return 0;
	if (!st->priv && !(st->priv = hr_arena_calloc(a, sizeof(struct an_stream)))) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	json_t *j = load_event(a, data, len, msg);
	if (!j)
		return HR_EUPSTREAM_BAD;
	struct hr_str type = named ? name : hr_codec_str(json_object_get(j, "type"));
	int rc = 0;
	if (!type.len) {
		*msg = "a stream event from the provider has no type";
		rc = HR_EUPSTREAM_BAD;
	} else {
		rc = stream_event(a, st, st->priv, type, j, out, msg);
	}
	json_decref(j);
	if (rc == HR_ENOMEM)
		*msg = hr_err_msg(HR_ENOMEM);
	return rc;
}

/* ---- errors and models ---- */

static int anthropic_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                               const char **msg)
{
	*msg = NULL;
	struct hr_str type = {"", 0};
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	if (json_is_object(root)) {
		*msg = error_message(a, root);
		type = hr_codec_str(json_object_get(json_object_get(root, "error"), "type"));
	}
	int rc;
	switch (status) {
	case 400:
	case 422: rc = HR_EINVAL; break;
	case 401:
	case 403: rc = HR_EUPSTREAM_AUTH; break;
	case 404: rc = HR_EUPSTREAM_NOTFOUND; break;
	case 408:
	case 504: rc = HR_ETIMEOUT; break;
	case 413: rc = HR_ETOOBIG; break;
	case 429: rc = HR_ERATELIMIT; break;
	case 503:
	case 529: rc = HR_EOVERLOADED; break;
	default: rc = error_code_of(type); break; /* 500 api_error, or a type that says more */
	}
	json_decref(root);
	return rc;
}

static int anthropic_decode_models(struct hr_arena *a, const char *body, size_t len,
                                   struct hr_str **ids, size_t *n, const char **msg)
{
	static const char what[] = "the provider's model list";
	*ids = NULL;
	*n = 0;
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *data = json_object_get(root, "data");
	if (!json_is_array(data)) {
		*msg = bad(a, "%s has no data array", what);
		return HR_EUPSTREAM_BAD;
	}
	size_t cap = json_array_size(data), k = 0;
	struct hr_str *v = cap ? hr_arena_alloc(a, cap * sizeof *v) : NULL;
	if (cap && !v) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	for (size_t i = 0; i < cap; i++) {
		struct hr_str id = hr_codec_str(json_object_get(json_array_get(data, i), "id"));
		if (id.len)
			v[k++] = id;
	}
	*ids = v;
	*n = k;
	return 0;
}

const struct hr_provider_ops hr_provider_anthropic = {
    .kind = AN_KIND,
    .framing = HR_FRAME_SSE,
    .encode_chat = anthropic_encode_chat,
    .decode_chat = anthropic_decode_chat,
    .decode_stream = anthropic_decode_stream,
    .map_error = anthropic_map_error,
    .encode_embed = NULL, /* the Messages API has no embeddings */
    .decode_embed = NULL,
    .models_path = "/models",
    .decode_models = anthropic_decode_models,
};
