/* ollama.c - codec for Ollama's native API (POST /api/chat, /api/embed, GET /api/tags):
 * encodes the canonical request, decodes answers, NDJSON stream lines, errors and model lists. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

#define KIND "ollama"

/* Longest provider message passed on to clients, and longest done_reason kept. */
#define OLLAMA_MAX_MSG    500
#define OLLAMA_MAX_FINISH 64

/* ---- small helpers ---- */

/* Sets key to v (stolen, even on failure). Returns 0 or -1 (out of memory). */
static int jset(json_t *o, const char *key, json_t *v)
{
	return v && json_object_set_new(o, key, v) == 0 ? 0 : -1;
}

static int jpush(json_t *arr, json_t *v)
{
	return v && json_array_append_new(arr, v) == 0 ? 0 : -1;
}

/* Records an HR_EUNSUPPORTED refusal: param is the client's field, why says what to do. */
static int refuse(struct hr_arena *a, const char **msg, const char **param, const char *field,
                  const char *why)
{
	const char *m = hr_arena_printf(a, "'%s' cannot be sent to a provider of kind " KIND ": %s",
	                                field, why);
	*msg = m ? m : hr_err_msg(HR_EUNSUPPORTED);
	*param = field;
	return HR_EUNSUPPORTED;
}

/* The JSON text of j, compact, in the arena. Returns NULL on OOM. */
static struct hr_str dump_arena(struct hr_arena *a, const json_t *j, bool *ok)
{
	size_t n = json_dumpb(j, NULL, 0, JSON_COMPACT | JSON_ENCODE_ANY);
	char *p = n ? hr_arena_alloc(a, n + 1) : NULL;
	*ok = p && json_dumpb(j, p, n, JSON_COMPACT | JSON_ENCODE_ANY) == n;
	if (!*ok)
		return (struct hr_str){"", 0};
	p[n] = '\0';
	return (struct hr_str){p, n};
}

/* A json string as an arena C string cut at max bytes; NULL for a non-string or on OOM. */
static const char *str_trunc(struct hr_arena *a, const json_t *j, size_t max)
{
	if (!json_is_string(j))
		return NULL;
	return hr_codec_trunc(a, json_string_value(j), json_string_length(j), max);
}

/* "call_<n>": Ollama gives tool calls no ids; unique within one answer. */
static struct hr_str call_id(struct hr_arena *a, size_t n)
{
	const char *s = hr_arena_printf(a, "call_%zu", n);
	return s ? hr_str_from(s) : (struct hr_str){"", 0};
}

/* ---- encode ---- */

/* Whether s is empty or only JSON whitespace. */
static bool blank(struct hr_str s)
{
	for (size_t i = 0; i < s.len; i++)
		if (s.ptr[i] != ' ' && s.ptr[i] != '\t' && s.ptr[i] != '\n' && s.ptr[i] != '\r')
			return false;
	return true;
}

/* {"function": {"name", "arguments": {...}}} for an assistant's tool call. */
static int encode_tool_call(struct hr_arena *a, const struct hr_part *p, size_t mi, json_t *calls,
                            const char **msg, const char **param)
{
	json_t *args;
	if (blank(p->arguments)) { /* some clients send "" for a call without arguments */
		args = json_object();
	} else {
		args = json_loadb(p->arguments.ptr, p->arguments.len, 0, NULL);
		if (!json_is_object(args)) {
			json_decref(args);
			const char *m = hr_arena_printf(
			    a,
			    "the arguments of tool call '%.*s' in messages[%zu] are not a JSON "
			    "object: send the arguments as a JSON object in text",
			    (int)(p->name.len > 200 ? 200 : p->name.len),
			    p->name.len ? p->name.ptr : "", mi);
			*msg = m ? m : hr_err_msg(HR_EINVAL);
			*param = hr_arena_printf(a, "messages[%zu]", mi);
			return HR_EINVAL;
		}
	}
	json_t *fn = json_object(), *call = json_object();
	if (!call || jset(call, "function", fn) < 0 ||
	    jset(fn, "name", hr_codec_jstr(p->name)) < 0 || jset(fn, "arguments", args) < 0 ||
	    jpush(calls, call) < 0) {
		json_decref(call);
		return HR_ENOMEM;
	}
	return 0;
}

/* Appends one Ollama message per tool result of canonical message mi. */
static int encode_tool_results(struct hr_arena *a, const struct hr_chat_req *rq, size_t mi,
                               json_t *out, const char **msg, const char **param)
{
	const struct hr_msg *m = &rq->msgs[mi];
	for (size_t j = 0; j < m->n_parts; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type != HR_PART_TOOL_RESULT) {
			const char *f = hr_arena_printf(a, "messages[%zu].content[%zu]", mi, j);
			const char *t = hr_arena_printf(
			    a, "%s is not a tool result: a tool message carries only tool results",
			    f ? f : "a part");
			*msg = t ? t : hr_err_msg(HR_EINVAL);
			*param = f;
			return HR_EINVAL;
		}
		/* Ollama answers tools by name: the name of the call this result answers */
		struct hr_str name = p->name.len ? p->name : hr_chat_tool_name(rq, p->id);
		json_t *content;
		if (p->is_error) {
			/* Ollama has no error flag on tool results: the model reads it in the text
			 */
			const char *t = hr_arena_printf(a, "Error: %.*s", (int)p->text.len,
			                                p->text.len ? p->text.ptr : "");
			if (!t)
				return HR_ENOMEM;
			content = json_string(t);
		} else {
			content = hr_codec_jstr(p->text);
		}
		json_t *o = json_object();
		if (!o || jset(o, "role", json_string("tool")) < 0 ||
		    jset(o, "content", content) < 0 ||
		    (name.len && jset(o, "tool_name", hr_codec_jstr(name)) < 0) ||
		    jpush(out, o) < 0) {
			json_decref(o);
			return HR_ENOMEM;
		}
	}
	return 0;
}

static const char *role_name(enum hr_role r)
{
	switch (r) {
	case HR_ROLE_SYSTEM: return "system";
	case HR_ROLE_USER: return "user";
	case HR_ROLE_ASSISTANT: return "assistant";
	case HR_ROLE_TOOL: return "tool";
	}
	return "user";
}

/* Appends canonical message mi as one Ollama message: text, images, tool calls. */
static int encode_message(struct hr_arena *a, const struct hr_chat_req *rq, size_t mi, json_t *out,
                          const char **msg, const char **param)
{
	const struct hr_msg *m = &rq->msgs[mi];
	if (m->role == HR_ROLE_TOOL)
		return encode_tool_results(a, rq, mi, out, msg, param);
	if (m->name.len) {
		const char *f = hr_arena_printf(a, "messages[%zu].name", mi);
		return refuse(a, msg, param, f ? f : "name",
		              "Ollama messages have no participant name; remove it or put it in "
		              "the message's text");
	}

	struct hr_buf text = HR_BUF_INIT(SIZE_MAX);
	json_t *o = json_object(), *images = json_array(), *calls = json_array();
	int rc = HR_ENOMEM;
	size_t n_text = 0;
	if (!o || !images || !calls)
		goto out;
	for (size_t j = 0; j < m->n_parts; j++) {
		const struct hr_part *p = &m->parts[j];
		switch (p->type) {
		case HR_PART_TEXT:
			/* Ollama's content is one string: several text parts are joined with a
			 * blank line between them */
			if ((n_text++ && (rc = hr_buf_add(&text, "\n\n", 2)) < 0) ||
			    (rc = hr_buf_add(&text, p->text.ptr, p->text.len)) < 0)
				goto out;
			break;
		case HR_PART_IMAGE: {
			const char *f = hr_arena_printf(a, "messages[%zu].content[%zu]", mi, j);
			if (!p->data.len) {
				rc = refuse(a, msg, param, f ? f : "image",
				            "Ollama takes images only as base64 data, not by URL; "
				            "send the image as base64 data (a data: URL) instead");
				goto out;
			}
			if (p->detail.len && !hr_str_eq_cstr(p->detail, "auto")) {
				const char *fd = hr_arena_printf(a, "%s.detail", f ? f : "image");
				rc = refuse(a, msg, param, fd ? fd : "detail",
				            "Ollama has no image detail setting; remove detail or "
				            "send \"auto\"");
				goto out;
			}
			/* Ollama sniffs the image format: media_type is not sent */
			if (jpush(images, hr_codec_jstr(p->data)) < 0) {
				rc = HR_ENOMEM;
				goto out;
			}
			break;
		}
		case HR_PART_TOOL_CALL:
			if (m->role != HR_ROLE_ASSISTANT)
				goto misplaced;
			if ((rc = encode_tool_call(a, p, mi, calls, msg, param)) < 0)
				goto out;
			break;
		case HR_PART_TOOL_RESULT:
		misplaced : {
			const char *f = hr_arena_printf(a, "messages[%zu].content[%zu]", mi, j);
			const char *t = hr_arena_printf(
			    a,
			    "%s: tool calls belong in assistant messages and tool results in "
			    "tool messages",
			    f ? f : "a part");
			*msg = t ? t : hr_err_msg(HR_EINVAL);
			*param = f;
			rc = HR_EINVAL;
			goto out;
		}
		}
	}
	rc = HR_ENOMEM;
	if (jset(o, "role", json_string(role_name(m->role))) < 0 ||
	    jset(o, "content", json_stringn(text.ptr ? text.ptr : "", text.len)) < 0)
		goto out;
	if (json_array_size(images) && jset(o, "images", json_incref(images)) < 0)
		goto out;
	if (json_array_size(calls) && jset(o, "tool_calls", json_incref(calls)) < 0)
		goto out;
	if (jpush(out, json_incref(o)) < 0)
		goto out;
	rc = 0;
out:
	hr_buf_release(&text);
	json_decref(o);
	json_decref(images);
	json_decref(calls);
	return rc;
}

static int encode_tools(const struct hr_chat_req *rq, json_t *body)
{
	json_t *tools = json_array();
	if (jset(body, "tools", tools) < 0)
		return HR_ENOMEM;
	for (size_t i = 0; i < rq->n_tools; i++) {
		const struct hr_tool *t = &rq->tools[i];
		/* strict (OpenAI's guarantee that arguments match the schema) has no Ollama
		 * field: the model is still given the schema, and hearth accepts the request */
		json_t *o = json_object(), *fn = json_object();
		json_t *params = t->parameters
		                     ? json_incref(t->parameters)
		                     : json_pack("{s:s,s:{}}", "type", "object", "properties");
		if (!o || jset(o, "type", json_string("function")) < 0 ||
		    jset(o, "function", fn) < 0 || jset(fn, "name", hr_codec_jstr(t->name)) < 0 ||
		    (t->description.len &&
		     jset(fn, "description", hr_codec_jstr(t->description)) < 0) ||
		    jset(fn, "parameters", params) < 0 || jpush(tools, o) < 0) {
			json_decref(o);
			return HR_ENOMEM;
		}
	}
	return 0;
}

static int encode_options(const struct hr_chat_req *rq, json_t *body)
{
	json_t *opt = json_object();
	if (!opt)
		return HR_ENOMEM;
	int bad = 0;
	if (rq->has_temperature)
		bad |= jset(opt, "temperature", json_real(rq->temperature));
	if (rq->has_top_p)
		bad |= jset(opt, "top_p", json_real(rq->top_p));
	if (rq->top_k >= 0)
		bad |= jset(opt, "top_k", json_integer(rq->top_k));
	if (rq->max_tokens > 0)
		bad |= jset(opt, "num_predict", json_integer(rq->max_tokens));
	if (rq->n_stop) {
		json_t *stop = json_array();
		bad |= jset(opt, "stop", stop);
		for (size_t i = 0; !bad && i < rq->n_stop && i < HR_CHAT_MAX_STOP; i++)
			bad |= jpush(stop, hr_codec_jstr(rq->stop[i]));
	}
	if (rq->has_seed)
		bad |= jset(opt, "seed", json_integer(rq->seed));
	if (rq->has_presence_penalty)
		bad |= jset(opt, "presence_penalty", json_real(rq->presence_penalty));
	if (rq->has_frequency_penalty)
		bad |= jset(opt, "frequency_penalty", json_real(rq->frequency_penalty));
	if (bad) {
		json_decref(opt);
		return HR_ENOMEM;
	}
	if (json_object_size(opt) == 0) {
		json_decref(opt);
		return 0;
	}
	return jset(body, "options", opt) < 0 ? HR_ENOMEM : 0;
}

static int set_request(struct hr_arena *a, const struct hr_conf_provider *p, const char *path,
                       bool ndjson, struct hr_http_out *out)
{
	out->url = hr_arena_printf(a, "%s%s", p->base_url, path);
	if (!out->url)
		return HR_ENOMEM;
	size_t h = 0;
	out->headers[h++] = "Content-Type: application/json";
	/* Ollama has no auth of its own; a key is for an Ollama behind a proxy */
	if (p->api_key && p->api_key[0]) {
		if (!(out->headers[h++] =
		          hr_arena_printf(a, "Authorization: Bearer %s", p->api_key)))
			return HR_ENOMEM;
	}
	if (ndjson)
		out->headers[h++] = "Accept: application/x-ndjson";
	out->headers[h] = NULL;
	return 0;
}

/* Serializes body into out->body; the messages for the caller's failures. */
static int finish_body(json_t *body, struct hr_http_out *out, const char **msg)
{
	int rc = hr_codec_dump(body, &out->body);
	if (rc == HR_ETOOBIG)
		*msg = "the request is too large to send to the provider";
	else if (rc < 0)
		*msg = hr_err_msg(rc);
	return rc;
}

static int ollama_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                              const struct hr_chat_req *rq, struct hr_http_out *out,
                              const char **msg, const char **param)
{
	*msg = NULL;
	*param = NULL;
	const struct hr_conf_provider *p = m ? m->provider : NULL;
	if (!p || !p->base_url) {
		*msg = "model has no provider";
		return HR_EINTERNAL;
	}
	/* Ollama's own knobs pass through from any client: "keep_alive" (how long the model
	 * stays loaded) and "options" (num_ctx, mirostat, ...); everything else not in the
	 * canonical model is refused as for any provider. */
	json_t *keep_alive = json_object_get(rq->extra, "keep_alive");
	json_t *client_opts = json_object_get(rq->extra, "options");
	if (client_opts && !json_is_object(client_opts))
		return refuse(a, msg, param, "options",
		              "options must be an object of Ollama model options such as "
		              "{\"num_ctx\": 8192}");
	struct hr_chat_req rest = *rq;
	json_t *others = NULL;
	if (keep_alive || client_opts) {
		others = json_copy(rq->extra);
		if (!others)
			return HR_ENOMEM;
		json_object_del(others, "keep_alive");
		json_object_del(others, "options");
		rest.extra = others;
	}
	int rc = hr_codec_refuse_extra(a, &rest, KIND, msg, param);
	json_decref(others);
	if (rc < 0)
		return rc;
	if (rq->tool_choice == HR_TC_REQUIRED || rq->tool_choice == HR_TC_NAMED)
		return refuse(a, msg, param, "tool_choice",
		              "Ollama cannot force a tool call; send \"auto\" or \"none\", or "
		              "leave tool_choice out");
	/* parallel_tool_calls false is kept trivially when no tools are sent */
	bool send_tools = rq->n_tools && rq->tool_choice != HR_TC_NONE;
	if (rq->parallel_tool_calls == 0 && send_tools)
		return refuse(a, msg, param, "parallel_tool_calls",
		              "Ollama cannot limit a turn to one tool call; leave "
		              "parallel_tool_calls out");
	/* rq->user (an abuse-tracking id) is dropped: Ollama has no field for it. */

	json_t *body = json_object(), *msgs = json_array();
	const char *upstream = m->upstream ? m->upstream : m->name;
	rc = HR_ENOMEM;
	if (!body || jset(body, "model", json_string(upstream ? upstream : "")) < 0 ||
	    jset(body, "messages", msgs) < 0)
		goto out;
	for (size_t i = 0; i < rq->n_msgs; i++)
		if ((rc = encode_message(a, rq, i, msgs, msg, param)) < 0)
			goto out;
	rc = HR_ENOMEM;
	/* tool_choice "none": the model is not told about the tools at all */
	if (send_tools && (rc = encode_tools(rq, body)) < 0)
		goto out;
	rc = HR_ENOMEM;
	if (rq->format == HR_FMT_JSON_OBJECT && jset(body, "format", json_string("json")) < 0)
		goto out;
	/* Ollama constrains the output to the schema itself; the schema's name has no field */
	if (rq->format == HR_FMT_JSON_SCHEMA) {
		if (!json_is_object(rq->schema)) {
			rc = HR_EINVAL;
			*msg = "response_format.json_schema.schema must be a JSON Schema object";
			*param = "response_format";
			goto out;
		}
		if (jset(body, "format", json_incref(rq->schema)) < 0)
			goto out;
	}
	if ((rc = encode_options(rq, body)) < 0)
		goto out;
	rc = HR_ENOMEM;
	if (client_opts) { /* hearth's mapped fields (temperature, stop, ...) win */
		json_t *o = json_object_get(body, "options");
		if (!o && (jset(body, "options", json_object()) < 0 ||
		           !(o = json_object_get(body, "options"))))
			goto out;
		const char *k;
		json_t *v;
		json_object_foreach(client_opts, k, v)
		{
			if (!json_object_get(o, k) && json_object_set(o, k, v) < 0)
				goto out;
		}
	}
	if (keep_alive && json_object_set(body, "keep_alive", keep_alive) < 0)
		goto out;
	/* always sent: Ollama streams unless told otherwise */
	if (jset(body, "stream", json_boolean(rq->stream)) < 0)
		goto out;
	if ((rc = set_request(a, p, "/api/chat", rq->stream, out)) < 0)
		goto out;
	rc = finish_body(body, out, msg);
out:
	json_decref(body);
	if (rc == HR_ENOMEM && !*msg)
		*msg = hr_err_msg(HR_ENOMEM);
	return rc;
}

/* ---- decode ---- */

static const char *bad_shape(struct hr_arena *a, const char *what, const char *why)
{
	const char *m = hr_arena_printf(a, "%s %s", what, why);
	return m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
}

/* A token count: the integer when it is one and >= 0. */
static bool get_count(const json_t *o, const char *key, int64_t *v)
{
	json_t *j = json_object_get(o, key);
	if (!json_is_integer(j) || json_integer_value(j) < 0)
		return false;
	*v = json_integer_value(j);
	return true;
}

static void get_usage(const json_t *root, struct hr_usage_counts *u)
{
	memset(u, 0, sizeof *u);
	bool p = get_count(root, "prompt_eval_count", &u->prompt_tokens);
	bool c = get_count(root, "eval_count", &u->completion_tokens);
	u->present = p || c;
}

/* done_reason -> enum hr_finish: "stop" (or none given) is the natural end; "length" the
 * num_predict limit; others ("load", "unload") end an answer without more text. */
static enum hr_finish finish_of(const json_t *reason, bool tool_calls)
{
	if (json_is_string(reason) && strcmp(json_string_value(reason), "length") == 0)
		return HR_FIN_LENGTH;
	return tool_calls ? HR_FIN_TOOL_CALLS : HR_FIN_STOP;
}

/* Decodes message.tool_calls[i] into name and compact arguments text. Returns 0, HR_ENOMEM,
 * or HR_EUPSTREAM_BAD with *msg. */
static int decode_call(struct hr_arena *a, const json_t *call, const char *what,
                       struct hr_str *name, struct hr_str *args, const char **msg)
{
	json_t *fn = json_object_get(call, "function");
	json_t *nm = json_object_get(fn, "name");
	if (!json_is_string(nm) || json_string_length(nm) == 0) {
		*msg = bad_shape(a, what, "has a tool call without a function name");
		return HR_EUPSTREAM_BAD;
	}
	*name = hr_codec_str(nm);
	json_t *ar = json_object_get(fn, "arguments");
	if (!ar || json_is_null(ar)) {
		*args = HR_STR("{}");
		return 0;
	}
	if (!json_is_object(ar)) {
		*msg = bad_shape(a, what, "has tool call arguments that are not an object");
		return HR_EUPSTREAM_BAD;
	}
	bool ok;
	*args = dump_arena(a, ar, &ok);
	if (!ok) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	return 0;
}

/* The provider's words from {"error": "text"} or {"error": {"message": ...}}; NULL if none. */
static const char *error_text(struct hr_arena *a, const json_t *root)
{
	json_t *e = json_object_get(root, "error");
	if (json_is_object(e))
		e = json_object_get(e, "message");
	if (!json_is_string(e) || json_string_length(e) == 0)
		return NULL;
	return str_trunc(a, e, OLLAMA_MAX_MSG);
}

static int ollama_decode_chat(struct hr_arena *a, const char *body, size_t len,
                              struct hr_chat_resp *res, const char **msg)
{
	static const char what[] = "the provider's answer";
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root)) {
		*msg = bad_shape(a, what, "is not a JSON object");
		return HR_EUPSTREAM_BAD;
	}
	if (json_object_get(root, "error") && !json_is_null(json_object_get(root, "error"))) {
		*msg = error_text(a, root);
		if (!*msg)
			*msg = "the provider reported an error";
		return HR_EUPSTREAM;
	}
	json_t *m = json_object_get(root, "message");
	if (!json_is_object(m)) {
		*msg = bad_shape(a, what, "has no message object");
		return HR_EUPSTREAM_BAD;
	}
	json_t *content = json_object_get(m, "content");
	if (content && !json_is_null(content) && !json_is_string(content)) {
		*msg = bad_shape(a, what, "has a message content that is not a string");
		return HR_EUPSTREAM_BAD;
	}
	json_t *calls = json_object_get(m, "tool_calls");
	if (calls && !json_is_null(calls) && !json_is_array(calls)) {
		*msg = bad_shape(a, what, "has tool_calls that are not an array");
		return HR_EUPSTREAM_BAD;
	}
	/* message.thinking (a reasoning model's thoughts) is not part of the answer */

	size_t n_calls = json_array_size(calls);
	size_t cap = 1 + n_calls, n = 0;
	struct hr_part *parts = hr_arena_calloc(a, cap * sizeof *parts);
	if (!parts) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	if (json_string_length(content)) {
		parts[n].type = HR_PART_TEXT;
		parts[n].text = hr_codec_str(content);
		res->completion_bytes += parts[n].text.len;
		n++;
	}
	for (size_t i = 0; i < n_calls; i++) {
		struct hr_part *p = &parts[n];
		int rc =
		    decode_call(a, json_array_get(calls, i), what, &p->name, &p->arguments, msg);
		if (rc < 0) {
			memset(res, 0, sizeof *res);
			return rc;
		}
		p->type = HR_PART_TOOL_CALL;
		p->id = call_id(a, i);
		res->completion_bytes += p->arguments.len;
		n++;
	}
	res->parts = parts;
	res->n_parts = n;
	res->model = hr_codec_str(json_object_get(root, "model"));
	json_t *reason = json_object_get(root, "done_reason");
	res->finish = finish_of(reason, n_calls > 0);
	res->finish_reason = str_trunc(a, reason, OLLAMA_MAX_FINISH);
	get_usage(root, &res->usage);
	return 0;
}

struct ollama_stream {
	bool started; /* START was given */
};

static int ollama_decode_stream(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
                                const char *data, size_t len, struct hr_sev_list *out,
                                const char **msg)
{
	static const char what[] = "a stream line from the provider";
	(void)event; /* NDJSON: always NULL */
	*msg = NULL;
	while (len && (data[0] == ' ' || data[0] == '\t' || data[0] == '\r' || data[0] == '\n'))
		data++, len--;
	while (len && (data[len - 1] == ' ' || data[len - 1] == '\t' || data[len - 1] == '\r' ||
	               data[len - 1] == '\n'))
		len--;
	if (len == 0)
		return 0;
	json_t *root = hr_codec_load(a, data, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root)) {
		*msg = bad_shape(a, what, "is not a JSON object");
		return HR_EUPSTREAM_BAD;
	}
	struct hr_sev *e;
	json_t *err = json_object_get(root, "error");
	if (err && !json_is_null(err)) {
		if (!(e = hr_sev_push(a, out, HR_SEV_ERROR)))
			goto oom;
		e->err = HR_EUPSTREAM;
		const char *t = error_text(a, root);
		e->text = hr_str_from(t ? t : "the provider reported an error in the stream");
		return 0;
	}
	json_t *m = json_object_get(root, "message");
	json_t *content = json_object_get(m, "content");
	json_t *calls = json_object_get(m, "tool_calls");
	json_t *done = json_object_get(root, "done");
	if ((m && !json_is_null(m) && !json_is_object(m)) ||
	    (content && !json_is_null(content) && !json_is_string(content)) ||
	    (calls && !json_is_null(calls) && !json_is_array(calls)) ||
	    (done && !json_is_boolean(done))) {
		*msg = bad_shape(a, what, "has a field of the wrong type");
		return HR_EUPSTREAM_BAD;
	}

	/* every tool call is checked before any event is given: a bad line gives none */
	size_t n_calls = json_array_size(calls);
	struct hr_str *names = NULL, *args = NULL;
	if (n_calls) {
		names = hr_arena_alloc(a, n_calls * sizeof *names);
		args = hr_arena_alloc(a, n_calls * sizeof *args);
		if (!names || !args)
			goto oom;
	}
	for (size_t i = 0; i < n_calls; i++) {
		int rc = decode_call(a, json_array_get(calls, i), what, &names[i], &args[i], msg);
		if (rc < 0)
			return rc == HR_ENOMEM ? HR_EUPSTREAM_BAD : rc;
	}

	struct ollama_stream *s = st->priv;
	if (!s && !(s = st->priv = hr_arena_calloc(a, sizeof *s)))
		goto oom;
	if (!s->started) {
		s->started = true;
		if (!(e = hr_sev_push(a, out, HR_SEV_START)))
			goto oom;
		e->name = hr_codec_str(json_object_get(root, "model"));
	}
	if (json_string_length(content)) {
		if (!(e = hr_sev_push(a, out, HR_SEV_TEXT)))
			goto oom;
		e->text = hr_codec_str(content);
	}
	for (size_t i = 0; i < n_calls; i++) {
		size_t idx = st->n_tools++;
		if (!(e = hr_sev_push(a, out, HR_SEV_TOOL_START)))
			goto oom;
		e->index = idx;
		e->id = call_id(a, idx);
		e->name = names[i];
		if (!(e = hr_sev_push(a, out, HR_SEV_TOOL_ARGS)))
			goto oom;
		e->index = idx;
		e->text = args[i];
	}
	if (json_is_true(done)) {
		json_t *reason = json_object_get(root, "done_reason");
		if (!(e = hr_sev_push(a, out, HR_SEV_FINISH)))
			goto oom;
		e->finish = finish_of(reason, st->n_tools > 0);
		e->finish_reason = str_trunc(a, reason, OLLAMA_MAX_FINISH);
		st->finished = true;
		struct hr_usage_counts u;
		get_usage(root, &u);
		if (u.present) {
			if (!(e = hr_sev_push(a, out, HR_SEV_USAGE)))
				goto oom;
			e->usage = u;
		}
		if (!(e = hr_sev_push(a, out, HR_SEV_DONE)))
			goto oom;
	}
	return 0;
oom:
	/* the arena is full: the decoder cannot go on with this stream */
	*msg = "the request's memory is exhausted while decoding the provider's stream";
	return HR_EUPSTREAM_BAD;
}

/* ---- errors ---- */

static int ollama_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                            const char **msg)
{
	*msg = NULL;
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	if (json_is_object(root))
		*msg = error_text(a, root);
	json_decref(root);
	switch (status) {
	case 400:
	case 422: return HR_EINVAL;
	case 401:
	case 403: return HR_EUPSTREAM_AUTH;
	case 404: return HR_EUPSTREAM_NOTFOUND;
	case 408:
	case 504: return HR_ETIMEOUT;
	case 413: return HR_ETOOBIG;
	case 429: return HR_ERATELIMIT;
	case 503:
	case 529: return HR_EOVERLOADED;
	default: return HR_EUPSTREAM;
	}
}

/* ---- embeddings ---- */

static int ollama_encode_embed(struct hr_arena *a, const struct hr_conf_model *m,
                               const struct hr_embed_req *rq, struct hr_http_out *out,
                               const char **msg, const char **param)
{
	*msg = NULL;
	*param = NULL;
	const struct hr_conf_provider *p = m ? m->provider : NULL;
	if (!p || !p->base_url) {
		*msg = "model has no provider";
		return HR_EINTERNAL;
	}
	int frc = hr_codec_refuse_fields(a, rq->extra, KIND, msg, param);
	if (frc < 0)
		return frc;
	if (rq->tokens_input)
		return refuse(a, msg, param, "input",
		              "Ollama embeds text only, not token ids; send the input as text");
	/* rq->user is dropped: Ollama has no field for it. rq->base64 needs nothing: hearth
	 * encodes the floats itself. truncate is left at Ollama's default (true). */
	json_t *body = json_object(), *input = json_array();
	const char *upstream = m->upstream ? m->upstream : m->name;
	int rc = HR_ENOMEM;
	if (!body || jset(body, "model", json_string(upstream ? upstream : "")) < 0 ||
	    jset(body, "input", input) < 0)
		goto out;
	for (size_t i = 0; i < rq->n_inputs; i++)
		if (jpush(input, hr_codec_jstr(rq->inputs[i])) < 0)
			goto out;
	if (rq->dimensions > 0 && jset(body, "dimensions", json_integer(rq->dimensions)) < 0)
		goto out;
	if ((rc = set_request(a, p, "/api/embed", false, out)) < 0)
		goto out;
	rc = finish_body(body, out, msg);
out:
	json_decref(body);
	if (rc == HR_ENOMEM && !*msg)
		*msg = hr_err_msg(HR_ENOMEM);
	return rc;
}

static int ollama_decode_embed(struct hr_arena *a, const char *body, size_t len,
                               struct hr_embed_resp *res, const char **msg)
{
	static const char what[] = "the provider's embeddings answer";
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *embs = json_object_get(root, "embeddings");
	if (!json_is_array(embs)) {
		*msg = bad_shape(a, what, "has no embeddings array");
		return HR_EUPSTREAM_BAD;
	}
	size_t n = json_array_size(embs);
	json_t **vec = hr_arena_alloc(a, (n ? n : 1) * sizeof *vec);
	if (!vec) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_array_get(embs, i), *x;
		size_t j;
		if (!json_is_array(e)) {
			*msg = bad_shape(a, what, "has an embedding that is not an array");
			return HR_EUPSTREAM_BAD;
		}
		json_array_foreach(e, j, x)
		{
			if (!json_is_number(x)) {
				*msg = bad_shape(a, what, "has an embedding with a non-number");
				return HR_EUPSTREAM_BAD;
			}
		}
		vec[i] = e;
	}
	res->vectors = vec;
	res->n = n;
	res->model = hr_codec_str(json_object_get(root, "model"));
	res->usage.present = get_count(root, "prompt_eval_count", &res->usage.prompt_tokens);
	return 0;
}

/* ---- models ---- */

static int ollama_decode_models(struct hr_arena *a, const char *body, size_t len,
                                struct hr_str **ids, size_t *n, const char **msg)
{
	static const char what[] = "the provider's model list";
	*ids = NULL;
	*n = 0;
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, what, msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *models = json_object_get(root, "models");
	if (!json_is_array(models)) {
		*msg = bad_shape(a, what, "has no models array");
		return HR_EUPSTREAM_BAD;
	}
	size_t cap = json_array_size(models), k = 0, i;
	struct hr_str *v = hr_arena_alloc(a, (cap ? cap : 1) * sizeof *v);
	if (!v) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	json_t *mo;
	json_array_foreach(models, i, mo)
	{
		/* "name" ("llama3.2:latest"); newer servers also give "model", the same id */
		json_t *nm = json_object_get(mo, "name");
		if (!json_is_string(nm) || json_string_length(nm) == 0)
			nm = json_object_get(mo, "model");
		if (json_is_string(nm) && json_string_length(nm) > 0)
			v[k++] = hr_codec_str(nm);
	}
	*ids = v;
	*n = k;
	return 0;
}

const struct hr_provider_ops hr_provider_ollama = {
    .kind = KIND,
    .framing = HR_FRAME_NDJSON,
    .encode_chat = ollama_encode_chat,
    .decode_chat = ollama_decode_chat,
    .decode_stream = ollama_decode_stream,
    .map_error = ollama_map_error,
    .encode_embed = ollama_encode_embed,
    .decode_embed = ollama_decode_embed,
    .models_path = "/api/tags",
    .decode_models = ollama_decode_models,
};
