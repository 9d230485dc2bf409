/* gemini.c - codec for Google's Gemini API (generativelanguage.googleapis.com/v1beta):
 * encodes canonical chat and embeddings requests, decodes answers, SSE chunks and errors.
 *
 * Wire summary (https://ai.google.dev/api/generate-content):
 *   POST {base}/models/{id}:generateContent            one GenerateContentResponse
 *   POST {base}/models/{id}:streamGenerateContent?alt=sse  SSE, each data one response,
 *        no end marker (EOF after the chunk with finishReason ends the answer)
 *   POST {base}/models/{id}:embedContent / :batchEmbedContents
 *   GET  {base}/models
 * Errors are {"error": {"code": 400, "message": "...", "status": "INVALID_ARGUMENT"}}. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

#define GEMINI_KIND       "gemini"
#define GEMINI_MAX_MSG    500 /* longest provider message passed on to clients */
#define GEMINI_MAX_FINISH 64  /* longest finishReason kept */
#define GEMINI_MAX_STOP   5   /* GenerationConfig.stopSequences takes up to 5 */

/* Gemini 3 models answer 400 when a functionCall part of an earlier turn comes back without
 * the thoughtSignature the model attached to it. The canonical model keeps no provider
 * state, so replayed calls carry the validator-skipping signature that Google documents
 * for history the model did not produce itself (other providers, rebuilt transcripts).
 * Models without thought signatures ignore it. */
#define GEMINI_FOREIGN_SIGNATURE "skip_thought_signature_validator"

/* ---- small helpers ---- */

static const char *dup_trunc(struct hr_arena *a, const char *s, size_t n)
{
	const char *r = hr_codec_trunc(a, s, n, GEMINI_MAX_MSG);
	return r ? r : hr_err_msg(HR_ENOMEM);
}

/* *msg = an arena sentence; returns code. Falls back to the table's message on OOM. */
static int fail(struct hr_arena *a, int code, const char **msg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct hr_arena *a, int code, const char **msg, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	const char *m = hr_arena_strdup(a, buf);
	*msg = m ? m : hr_err_msg(code);
	return code;
}

/* A request field Gemini cannot represent: HR_EUNSUPPORTED naming param. */
static int unsupported(struct hr_arena *a, const char **msg, const char **param, const char *field,
                       const char *what_to_do)
{
	*param = field ? hr_arena_strdup(a, field) : NULL;
	return fail(a, HR_EUNSUPPORTED, msg, "'%s' cannot be sent to a provider of kind gemini: %s",
	            field ? field : "?", what_to_do);
}

/* json_object_set_new that reports failure (the value is consumed either way). */
static int set_new(json_t *o, const char *k, json_t *v)
{
	if (!v)
		return HR_ENOMEM;
	return json_object_set_new(o, k, v) < 0 ? HR_ENOMEM : 0;
}

static int append_new(json_t *arr, json_t *v)
{
	if (!v)
		return HR_ENOMEM;
	return json_array_append_new(arr, v) < 0 ? HR_ENOMEM : 0;
}

/* The count under key when it is a non-negative integer, else 0; *seen says whether it was
 * an integer. */
static int64_t count_of(const json_t *o, const char *key, bool *seen)
{
	json_t *v = json_object_get(o, key);
	if (!json_is_integer(v))
		return 0;
	*seen = true;
	json_int_t x = json_integer_value(v);
	return x > 0 ? (int64_t)x : 0;
}

/* ---- encode: chat ---- */

struct enc {
	struct hr_arena *a;
	const struct hr_chat_req *rq;
	const char **msg, **param;
	json_t *contents; /* the contents array */
	json_t *cur;      /* the parts array of the last content (for merging), or NULL */
	bool cur_model;   /* the last content's role is "model" */
	json_t *sys;      /* systemInstruction parts, or NULL */
};

static const char *part_param(struct hr_arena *a, size_t i, size_t j, const char *sub)
{
	return hr_arena_printf(a, "messages[%zu].content[%zu]%s", i, j, sub);
}

/* {"text": ...} */
static json_t *text_part(struct hr_str s)
{
	json_t *p = json_object();
	if (p && set_new(p, "text", hr_codec_jstr(s)) < 0) {
		json_decref(p);
		return NULL;
	}
	return p;
}

static int enc_image(struct enc *e, size_t i, size_t j, const struct hr_part *p, json_t *parts)
{
	struct hr_arena *a = e->a;
	if (p->data.len == 0) {
		return unsupported(
		    a, e->msg, e->param, part_param(a, i, j, ""),
		    "Gemini does not fetch image URLs; send the image as base64 data "
		    "(a data: URL) instead");
	}
	if (p->detail.len && !hr_str_eq_cstr(p->detail, "auto")) {
		return unsupported(
		    a, e->msg, e->param, part_param(a, i, j, ".detail"),
		    "Gemini has no per-image detail level; remove \"detail\" or send "
		    "\"auto\"");
	}
	if (p->media_type.len == 0) {
		*e->param = part_param(a, i, j, "");
		return fail(a, HR_EINVAL, e->msg,
		            "messages[%zu].content[%zu]: the image data has no media type; send a "
		            "data URL such as data:image/png;base64,...",
		            i, j);
	}
	json_t *inl = json_object(), *part = json_object();
	int rc = HR_ENOMEM;
	if (!inl || !part || set_new(inl, "mimeType", hr_codec_jstr(p->media_type)) < 0 ||
	    set_new(inl, "data", hr_codec_jstr(p->data)) < 0)
		goto out;
	rc = set_new(part, "inlineData", inl);
	inl = NULL;
	if (rc == 0) {
		rc = append_new(parts, part);
		part = NULL;
	}
out:
	json_decref(inl);
	json_decref(part);
	return rc;
}

/* An assistant's tool call: {"functionCall": {"id"?, "name", "args"}}; the first call of a
 * message also carries the thought signature (see GEMINI_FOREIGN_SIGNATURE). */
static int enc_tool_call(struct enc *e, size_t i, size_t j, const struct hr_part *p, bool first,
                         json_t *parts)
{
	struct hr_arena *a = e->a;
	json_t *args;
	if (p->arguments.len == 0) {
		args = json_object();
	} else {
		args = json_loadb(p->arguments.ptr, p->arguments.len, 0, NULL);
		if (!json_is_object(args)) {
			json_decref(args);
			*e->param = part_param(a, i, j, "");
			return fail(
			    a, HR_EINVAL, e->msg,
			    "messages[%zu]: the arguments of tool call '%.*s' are not a JSON "
			    "object; Gemini takes arguments as an object",
			    i, (int)(p->name.len > 64 ? 64 : p->name.len),
			    p->name.len ? p->name.ptr : "");
		}
	}
	json_t *fc = json_object(), *part = json_object();
	int rc = HR_ENOMEM;
	if (!args || !fc || !part)
		goto out;
	if (p->id.len && (rc = set_new(fc, "id", hr_codec_jstr(p->id))) < 0)
		goto out;
	if ((rc = set_new(fc, "name", hr_codec_jstr(p->name))) < 0)
		goto out;
	rc = set_new(fc, "args", args);
	args = NULL;
	if (rc < 0)
		goto out;
	rc = set_new(part, "functionCall", fc);
	fc = NULL;
	if (rc == 0 && first)
		rc = set_new(part, "thoughtSignature", json_string(GEMINI_FOREIGN_SIGNATURE));
	if (rc == 0) {
		rc = append_new(parts, part);
		part = NULL;
	}
out:
	json_decref(args);
	json_decref(fc);
	json_decref(part);
	return rc;
}

/* A tool's result: {"functionResponse": {"id"?, "name", "response": {...}}}. The response
 * is the result text parsed when it is a JSON object, else {"result": text}; a failed tool
 * answers {"error": ...}, the key Gemini's FunctionResponse documents for error details. */
static int enc_tool_result(struct enc *e, size_t i, size_t j, const struct hr_part *p,
                           json_t *parts)
{
	struct hr_arena *a = e->a;
	struct hr_str name = p->name.len ? p->name : hr_chat_tool_name(e->rq, p->id);
	if (name.len == 0) {
		*e->param = part_param(a, i, j, "");
		return fail(a, HR_EINVAL, e->msg,
		            "messages[%zu]: the tool result answers call id '%.*s', which no "
		            "assistant message made; Gemini needs the function's name: send the "
		            "assistant message with that tool call first",
		            i, (int)(p->id.len > 64 ? 64 : p->id.len), p->id.len ? p->id.ptr : "");
	}
	json_t *val = p->text.len ? json_loadb(p->text.ptr, p->text.len, 0, NULL) : NULL;
	if (val && !json_is_object(val)) {
		json_decref(val);
		val = NULL;
	}
	json_t *resp = NULL;
	if (p->is_error) {
		resp = json_object();
		if (resp && set_new(resp, "error", val ? val : hr_codec_jstr(p->text)) < 0) {
			json_decref(resp);
			resp = NULL;
		}
	} else if (val) {
		resp = val;
	} else {
		resp = json_object();
		if (resp && set_new(resp, "result", hr_codec_jstr(p->text)) < 0) {
			json_decref(resp);
			resp = NULL;
		}
	}
	if (!resp)
		return HR_ENOMEM;
	json_t *fr = json_object(), *part = json_object();
	int rc = HR_ENOMEM;
	if (!fr || !part)
		goto out;
	if (p->id.len && (rc = set_new(fr, "id", hr_codec_jstr(p->id))) < 0)
		goto out;
	if ((rc = set_new(fr, "name", hr_codec_jstr(name))) < 0)
		goto out;
	rc = set_new(fr, "response", resp);
	resp = NULL;
	if (rc < 0)
		goto out;
	rc = set_new(part, "functionResponse", fr);
	fr = NULL;
	if (rc == 0) {
		rc = append_new(parts, part);
		part = NULL;
	}
out:
	json_decref(resp);
	json_decref(fr);
	json_decref(part);
	return rc;
}

/* System messages: their text joins systemInstruction, wherever they stand. */
static int enc_system(struct enc *e, size_t i, const struct hr_msg *m)
{
	struct hr_arena *a = e->a;
	for (size_t j = 0; j < m->n_parts; j++) {
		const struct hr_part *p = &m->parts[j];
		if (p->type != HR_PART_TEXT)
			return unsupported(a, e->msg, e->param, part_param(a, i, j, ""),
			                   "Gemini's system instruction takes text only; move this "
			                   "part to a user message");
		if (p->text.len == 0)
			continue;
		if (!e->sys && !(e->sys = json_array()))
			return HR_ENOMEM;
		int rc = append_new(e->sys, text_part(p->text));
		if (rc < 0)
			return rc;
	}
	return 0;
}

static int enc_message(struct enc *e, size_t i)
{
	struct hr_arena *a = e->a;
	const struct hr_msg *m = &e->rq->msgs[i];
	if (m->name.len) {
		const char *f = hr_arena_printf(a, "messages[%zu].name", i);
		return unsupported(a, e->msg, e->param, f,
		                   "Gemini has no participant names; remove \"name\" or put the "
		                   "name in the message's text");
	}
	if (m->role == HR_ROLE_SYSTEM)
		return enc_system(e, i, m);

	bool model = m->role == HR_ROLE_ASSISTANT;
	json_t *parts = json_array();
	if (!parts)
		return HR_ENOMEM;
	int rc = 0;
	bool first_call = true;
	for (size_t j = 0; j < m->n_parts && rc == 0; j++) {
		const struct hr_part *p = &m->parts[j];
		switch (p->type) {
		case HR_PART_TEXT:
			/* Gemini refuses empty text parts; an empty string carries nothing */
			if (p->text.len)
				rc = append_new(parts, text_part(p->text));
			break;
		case HR_PART_IMAGE: rc = enc_image(e, i, j, p, parts); break;
		case HR_PART_TOOL_CALL:
			if (!model) {
				*e->param = part_param(a, i, j, "");
				rc = fail(a, HR_EINVAL, e->msg,
				          "messages[%zu]: only assistant messages carry tool calls",
				          i);
				break;
			}
			rc = enc_tool_call(e, i, j, p, first_call, parts);
			first_call = false;
			break;
		case HR_PART_TOOL_RESULT:
			if (model) {
				*e->param = part_param(a, i, j, "");
				rc = fail(a, HR_EINVAL, e->msg,
				          "messages[%zu]: an assistant message cannot carry a tool "
				          "result",
				          i);
				break;
			}
			rc = enc_tool_result(e, i, j, p, parts);
			break;
		default:
			*e->param = part_param(a, i, j, "");
			rc = fail(a, HR_EINVAL, e->msg, "messages[%zu]: unknown content part", i);
		}
	}
	if (rc < 0 || json_array_size(parts) == 0) {
		json_decref(parts);
		return rc;
	}
	/* Gemini wants user and model turns to alternate: consecutive messages of one side
	 * (several tool results, a tool result then the user's text) become one content */
	if (e->cur && e->cur_model == model) {
		rc = json_array_extend(e->cur, parts) < 0 ? HR_ENOMEM : 0;
		json_decref(parts);
		return rc;
	}
	json_t *c = json_object();
	if (!c || set_new(c, "role", json_string(model ? "model" : "user")) < 0 ||
	    json_object_set(c, "parts", parts) < 0 || json_array_append_new(e->contents, c) < 0) {
		json_decref(c);
		json_decref(parts);
		return HR_ENOMEM;
	}
	e->cur = parts; /* borrowed: the content holds it */
	json_decref(parts);
	e->cur_model = model;
	return 0;
}

static int enc_tools(struct enc *e, json_t *body)
{
	struct hr_arena *a = e->a;
	const struct hr_chat_req *rq = e->rq;
	if (rq->n_tools == 0) {
		if (rq->tool_choice == HR_TC_REQUIRED || rq->tool_choice == HR_TC_NAMED) {
			*e->param = "tool_choice";
			return fail(
			    a, HR_EINVAL, e->msg,
			    "tool_choice asks for a tool call but the request has no tools; "
			    "send \"tools\" or remove \"tool_choice\"");
		}
		return 0; /* "auto" or "none" without tools: nothing to configure */
	}
	bool strict = false;
	json_t *decls = json_array();
	if (!decls)
		return HR_ENOMEM;
	for (size_t i = 0; i < rq->n_tools; i++) {
		const struct hr_tool *t = &rq->tools[i];
		json_t *d = json_object();
		if (!d || set_new(d, "name", hr_codec_jstr(t->name)) < 0 ||
		    (t->description.len &&
		     set_new(d, "description", hr_codec_jstr(t->description)) < 0) ||
		    /* full JSON Schema, as the client wrote it (parameters takes only an
		     * OpenAPI subset) */
		    (t->parameters &&
		     json_object_set(d, "parametersJsonSchema", t->parameters) < 0) ||
		    json_array_append_new(decls, d) < 0) {
			json_decref(d);
			json_decref(decls);
			return HR_ENOMEM;
		}
		strict |= t->strict;
	}
	json_t *tool = json_object(), *tools = json_array();
	int rc = tool ? set_new(tool, "functionDeclarations", decls) : HR_ENOMEM;
	if (!tool)
		json_decref(decls);
	if (rc == 0 && !tools)
		rc = HR_ENOMEM;
	if (rc == 0) {
		rc = append_new(tools, tool);
		tool = NULL;
	}
	if (rc == 0) {
		rc = set_new(body, "tools", tools);
		tools = NULL;
	}
	json_decref(tool);
	json_decref(tools);
	if (rc < 0)
		return rc;

	/* ANY always constrains calls to the declared schemas; strict tools under "auto" ask
	 * for VALIDATED, which lets the model answer in text but validates its calls */
	const char *mode = NULL;
	switch (rq->tool_choice) {
	case HR_TC_UNSET: mode = strict ? "VALIDATED" : NULL; break;
	case HR_TC_AUTO: mode = strict ? "VALIDATED" : "AUTO"; break;
	case HR_TC_NONE: mode = "NONE"; break;
	case HR_TC_REQUIRED:
	case HR_TC_NAMED: mode = "ANY"; break;
	}
	if (!mode)
		return 0;
	json_t *fcc = json_object(), *tc = json_object();
	if (!fcc || !tc || set_new(fcc, "mode", json_string(mode)) < 0)
		goto oom;
	if (rq->tool_choice == HR_TC_NAMED) {
		json_t *names = json_array();
		if (!names || append_new(names, hr_codec_jstr(rq->tool_choice_name)) < 0 ||
		    set_new(fcc, "allowedFunctionNames", names) < 0) {
			json_decref(names);
			goto oom;
		}
	}
	rc = set_new(tc, "functionCallingConfig", fcc);
	fcc = NULL;
	if (rc < 0)
		goto oom;
	return set_new(body, "toolConfig", tc);
oom:
	json_decref(fcc);
	json_decref(tc);
	return HR_ENOMEM;
}

static int enc_generation(struct enc *e, json_t *body)
{
	struct hr_arena *a = e->a;
	const struct hr_chat_req *rq = e->rq;
	if (rq->n_stop > GEMINI_MAX_STOP)
		return unsupported(a, e->msg, e->param, "stop",
		                   "Gemini takes at most 5 stop sequences; send 5 or fewer");
	if (rq->has_seed && (rq->seed < INT32_MIN || rq->seed > INT32_MAX))
		return unsupported(a, e->msg, e->param, "seed",
		                   "Gemini's seed is a 32-bit integer; send a seed between "
		                   "-2147483648 and 2147483647");
	json_t *g = json_object();
	if (!g)
		return HR_ENOMEM;
	int rc = 0;
	if (rq->has_temperature)
		rc = set_new(g, "temperature", json_real(rq->temperature));
	if (rc == 0 && rq->has_top_p)
		rc = set_new(g, "topP", json_real(rq->top_p));
	if (rc == 0 && rq->top_k >= 0)
		rc = set_new(g, "topK", json_integer(rq->top_k));
	if (rc == 0 && rq->max_tokens > 0)
		rc = set_new(g, "maxOutputTokens", json_integer(rq->max_tokens));
	if (rc == 0 && rq->n_stop) {
		json_t *stop = json_array();
		for (size_t i = 0; stop && i < rq->n_stop; i++)
			if (append_new(stop, hr_codec_jstr(rq->stop[i])) < 0) {
				json_decref(stop);
				stop = NULL;
			}
		rc = set_new(g, "stopSequences", stop);
	}
	if (rc == 0 && rq->has_seed)
		rc = set_new(g, "seed", json_integer(rq->seed));
	if (rc == 0 && rq->has_presence_penalty)
		rc = set_new(g, "presencePenalty", json_real(rq->presence_penalty));
	if (rc == 0 && rq->has_frequency_penalty)
		rc = set_new(g, "frequencyPenalty", json_real(rq->frequency_penalty));
	if (rc == 0) {
		switch (rq->format) {
		case HR_FMT_UNSET: break;
		case HR_FMT_TEXT:
			rc = set_new(g, "responseMimeType", json_string("text/plain"));
			break;
		case HR_FMT_JSON_OBJECT:
			rc = set_new(g, "responseMimeType", json_string("application/json"));
			break;
		case HR_FMT_JSON_SCHEMA:
			/* responseJsonSchema takes JSON Schema as written (responseSchema only an
			 * OpenAPI subset) and Gemini always holds the answer to it, so strict is
			 * met either way. The schema's name has no place in Gemini's request: it
			 * labels the schema for the client and does not change the answer. */
			rc = set_new(g, "responseMimeType", json_string("application/json"));
			if (rc == 0 && rq->schema &&
			    json_object_set(g, "responseJsonSchema", rq->schema) < 0)
				rc = HR_ENOMEM;
			break;
		}
	}
	if (rc == 0 && json_object_size(g))
		return set_new(body, "generationConfig", g);
	json_decref(g);
	return rc;
}

/* The model's resource path under base_url: "models/<id>", or the id itself when it is
 * already a resource name ("models/...", "tunedModels/..."). */
static const char *model_path(struct hr_arena *a, const struct hr_conf_model *m)
{
	const char *id = m->upstream ? m->upstream : m->name;
	if (!id)
		id = "";
	if (strncmp(id, "models/", 7) == 0 || strncmp(id, "tunedModels/", 12) == 0)
		return hr_arena_strdup(a, id);
	return hr_arena_printf(a, "models/%s", id);
}

static int enc_headers(struct hr_arena *a, const struct hr_conf_provider *p, bool stream,
                       struct hr_http_out *out)
{
	size_t h = 0;
	out->headers[h++] = "Content-Type: application/json";
	if (p->api_key && p->api_key[0]) {
		if (!(out->headers[h++] = hr_arena_printf(a, "x-goog-api-key: %s", p->api_key)))
			return HR_ENOMEM;
	}
	if (stream)
		out->headers[h++] = "Accept: text/event-stream";
	out->headers[h] = NULL;
	return 0;
}

static int dump_body(struct hr_arena *a, json_t *body, struct hr_http_out *out, const char **msg)
{
	int rc = hr_codec_dump(body, &out->body);
	if (rc == HR_ETOOBIG)
		return fail(a, rc, msg, "the request is too large to send to the provider");
	return rc;
}

static int gemini_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
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
	int rc = hr_codec_refuse_extra(a, rq, GEMINI_KIND, msg, param);
	if (rc < 0)
		return rc;
	if (rq->parallel_tool_calls == 0)
		return unsupported(a, msg, param, "parallel_tool_calls",
		                   "Gemini cannot be told to call one tool at a time; remove "
		                   "\"parallel_tool_calls\"");
	/* rq->user (an end-user id for abuse tracking) is dropped: Gemini's request has no
	 * place for it, and it does not change the answer */

	struct enc e = {.a = a, .rq = rq, .msg = msg, .param = param};
	json_t *body = json_object();
	e.contents = json_array();
	if (!body || !e.contents) {
		rc = HR_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < rq->n_msgs && rc == 0; i++)
		rc = enc_message(&e, i);
	if (rc < 0)
		goto out;
	if (json_array_size(e.contents) == 0) {
		*param = "messages";
		rc = fail(a, HR_EINVAL, msg,
		          "the request has no user or assistant content; Gemini needs at least "
		          "one user message");
		goto out;
	}
	rc = set_new(body, "contents", e.contents);
	e.contents = NULL;
	if (rc == 0 && e.sys) {
		json_t *si = json_object();
		if (!si) {
			rc = HR_ENOMEM;
		} else {
			rc = set_new(si, "parts", e.sys); /* consumes e.sys */
			e.sys = NULL;
			if (rc == 0)
				rc = set_new(body, "systemInstruction", si);
			else
				json_decref(si);
		}
	}
	if (rc == 0)
		rc = enc_tools(&e, body);
	if (rc == 0)
		rc = enc_generation(&e, body);
	if (rc < 0)
		goto out;

	const char *path = model_path(a, m);
	out->url =
	    path ? hr_arena_printf(a, "%s/%s:%s", p->base_url, path,
	                           rq->stream ? "streamGenerateContent?alt=sse" : "generateContent")
	         : NULL;
	if (!out->url) {
		rc = HR_ENOMEM;
		goto out;
	}
	if ((rc = enc_headers(a, p, rq->stream, out)) == 0)
		rc = dump_body(a, body, out, msg);
out:
	json_decref(e.contents);
	json_decref(e.sys);
	json_decref(body);
	if (rc == HR_ENOMEM && !*msg)
		*msg = hr_err_msg(HR_ENOMEM);
	return rc;
}

/* ---- decode: answers and stream chunks ---- */

static enum hr_finish finish_of(const char *r)
{
	static const char *const filtered[] = {
	    "SAFETY",
	    "RECITATION",
	    "BLOCKLIST",
	    "PROHIBITED_CONTENT",
	    "SPII",
	    "IMAGE_SAFETY",
	    "IMAGE_PROHIBITED_CONTENT",
	    "IMAGE_RECITATION",
	};
	if (strcmp(r, "MAX_TOKENS") == 0)
		return HR_FIN_LENGTH;
	for (size_t i = 0; i < sizeof filtered / sizeof filtered[0]; i++)
		if (strcmp(r, filtered[i]) == 0)
			return HR_FIN_CONTENT_FILTER;
	/* STOP, and the others (OTHER, LANGUAGE, MALFORMED_FUNCTION_CALL, ...), whose word
	 * finish_reason keeps */
	return HR_FIN_STOP;
}

/* The usage of a response's usageMetadata (candidatesTokenCount excludes thinking). */
static struct hr_usage_counts usage_of(const json_t *um)
{
	struct hr_usage_counts u = {0};
	if (!json_is_object(um))
		return u;
	bool seen = false, unused = false;
	u.prompt_tokens = count_of(um, "promptTokenCount", &seen);
	int64_t cand = count_of(um, "candidatesTokenCount", &seen);
	u.reasoning_tokens = count_of(um, "thoughtsTokenCount", &unused);
	u.cached_tokens = count_of(um, "cachedContentTokenCount", &unused);
	u.completion_tokens =
	    cand > INT64_MAX - u.reasoning_tokens ? INT64_MAX : cand + u.reasoning_tokens;
	u.present = seen;
	return u;
}

/* The message of a prompt blocked before any candidate: NULL when not blocked. */
static const char *blocked_prompt(struct hr_arena *a, const json_t *root)
{
	json_t *c = json_object_get(root, "candidates");
	if (json_is_array(c) && json_array_size(c) > 0)
		return NULL;
	json_t *r = json_object_get(json_object_get(root, "promptFeedback"), "blockReason");
	if (!json_is_string(r))
		return NULL;
	const char *m = hr_arena_printf(
	    a, "the provider blocked the prompt: %.*s",
	    (int)(json_string_length(r) > 64 ? 64 : json_string_length(r)), json_string_value(r));
	return m ? m : "the provider blocked the prompt";
}

/* Compact JSON text of a functionCall's args (absent: "{}"), in the arena. */
static int args_text(struct hr_arena *a, const json_t *args, struct hr_str *out)
{
	if (!args || json_is_null(args)) {
		*out = HR_STR("{}");
		return 0;
	}
	char *s = json_dumps(args, JSON_COMPACT);
	if (!s)
		return HR_ENOMEM;
	size_t n = strlen(s);
	char *c = hr_arena_strndup(a, s, n);
	free(s);
	if (!c)
		return HR_ENOMEM;
	*out = (struct hr_str){c, n};
	return 0;
}

/* One part of a candidate's content, decoded. kind 0: nothing to report. */
struct dpart {
	enum { DP_NONE, DP_TEXT, DP_CALL } kind;
	struct hr_str text, id, name, args;
};

static int decode_part(struct hr_arena *a, const json_t *p, size_t call_index, struct dpart *d,
                       const char **msg)
{
	memset(d, 0, sizeof *d);
	if (!json_is_object(p)) {
		*msg = "a content part of the provider's answer is not an object";
		return HR_EUPSTREAM_BAD;
	}
	if (json_is_true(json_object_get(p, "thought")))
		return 0; /* a thought summary: reasoning, not the answer */
	json_t *t = json_object_get(p, "text"), *fc = json_object_get(p, "functionCall");
	if (t) {
		if (!json_is_string(t)) {
			*msg = "a text part of the provider's answer is not a string";
			return HR_EUPSTREAM_BAD;
		}
		d->text = hr_codec_str(t);
		d->kind = d->text.len ? DP_TEXT : DP_NONE; /* "" rides with a thoughtSignature */
		return 0;
	}
	if (!fc)
		return 0; /* inlineData, executableCode, ...: not part of the canonical answer */
	json_t *name = json_object_get(fc, "name"), *args = json_object_get(fc, "args");
	json_t *id = json_object_get(fc, "id");
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    (args && !json_is_object(args) && !json_is_null(args)) ||
	    (id && !json_is_string(id) && !json_is_null(id))) {
		*msg = "a functionCall in the provider's answer has no name or arguments that are "
		       "not an object";
		return HR_EUPSTREAM_BAD;
	}
	d->kind = DP_CALL;
	d->name = hr_codec_str(name);
	d->id = hr_codec_str(id);
	if (d->id.len == 0) {
		const char *g = hr_arena_printf(a, "call_%zu", call_index);
		if (!g)
			return HR_ENOMEM;
		d->id = hr_str_from(g);
	}
	return args_text(a, args, &d->args);
}

/* The parts array of candidates[0] (NULL when it has none) and its finishReason (NULL).
 * HR_EUPSTREAM_BAD for shapes of the wrong type. */
static int first_candidate(const json_t *root, json_t **parts, const char **finish,
                           const char **msg)
{
	*parts = NULL;
	*finish = NULL;
	json_t *cands = json_object_get(root, "candidates");
	if (!cands || json_is_null(cands))
		return 0;
	if (!json_is_array(cands)) {
		*msg = "the provider's candidates are not an array";
		return HR_EUPSTREAM_BAD;
	}
	json_t *c = json_array_get(cands, 0);
	if (!c)
		return 0;
	if (!json_is_object(c)) {
		*msg = "a candidate in the provider's answer is not an object";
		return HR_EUPSTREAM_BAD;
	}
	json_t *fr = json_object_get(c, "finishReason");
	if (fr && !json_is_string(fr) && !json_is_null(fr)) {
		*msg = "the provider's finishReason is not a string";
		return HR_EUPSTREAM_BAD;
	}
	*finish = json_string_value(fr);
	json_t *content = json_object_get(c, "content");
	if (!content || json_is_null(content))
		return 0;
	json_t *p = json_object_get(content, "parts");
	if (!json_is_object(content) || (p && !json_is_array(p) && !json_is_null(p))) {
		*msg =
		    "the content of the provider's candidate is not an object with a parts array";
		return HR_EUPSTREAM_BAD;
	}
	*parts = json_is_array(p) ? p : NULL;
	return 0;
}

/* *out = a copy of string s cut at max bytes; empty when s is not a string (or on OOM). */
static void str_dup(struct hr_arena *a, const json_t *s, size_t max, struct hr_str *out)
{
	*out = (struct hr_str){"", 0};
	if (json_is_string(s)) {
		const char *c = hr_codec_trunc(a, json_string_value(s), json_string_length(s), max);
		if (c)
			*out = hr_str_from(c);
	}
}

static int gemini_decode_chat(struct hr_arena *a, const char *body, size_t len,
                              struct hr_chat_resp *res, const char **msg)
{
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, "the provider's answer", msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	if (!json_is_object(root)) {
		*msg = "the provider's answer is not a JSON object";
		return HR_EUPSTREAM_BAD;
	}
	json_t *err = json_object_get(root, "error");
	if (json_is_object(err)) {
		json_t *m = json_object_get(err, "message");
		*msg = json_is_string(m) ? dup_trunc(a, json_string_value(m), json_string_length(m))
		                         : "the provider answered with an error";
		return HR_EUPSTREAM;
	}
	const char *blocked = blocked_prompt(a, root);
	if (blocked) {
		*msg = blocked;
		return HR_EINVAL;
	}
	json_t *cands = json_object_get(root, "candidates");
	if (!json_is_array(cands) || json_array_size(cands) == 0) {
		*msg = "the provider's answer has no candidates";
		return HR_EUPSTREAM_BAD;
	}
	json_t *parts;
	const char *finish;
	int rc = first_candidate(root, &parts, &finish, msg);
	if (rc < 0)
		return rc;

	size_t n = json_array_size(parts), calls = 0;
	if (n) {
		res->parts = hr_arena_calloc(a, n * sizeof *res->parts);
		if (!res->parts)
			goto oom;
	}
	for (size_t i = 0; i < n; i++) {
		struct dpart d;
		if ((rc = decode_part(a, json_array_get(parts, i), calls, &d, msg)) < 0) {
			if (rc == HR_ENOMEM)
				goto oom;
			memset(res, 0, sizeof *res);
			return rc;
		}
		struct hr_part *out = &res->parts[res->n_parts];
		if (d.kind == DP_TEXT) {
			out->type = HR_PART_TEXT;
			out->text = d.text;
			res->completion_bytes += d.text.len;
			res->n_parts++;
		} else if (d.kind == DP_CALL) {
			out->type = HR_PART_TOOL_CALL;
			out->id = d.id;
			out->name = d.name;
			out->arguments = d.args;
			res->completion_bytes += d.args.len;
			res->n_parts++;
			calls++;
		}
	}
	if (finish) {
		res->finish_reason = hr_codec_trunc(a, finish, strlen(finish), GEMINI_MAX_FINISH);
		res->finish = finish_of(finish);
		if (res->finish == HR_FIN_STOP && calls && strcmp(finish, "STOP") == 0)
			res->finish = HR_FIN_TOOL_CALLS;
	}
	res->usage = usage_of(json_object_get(root, "usageMetadata"));
	str_dup(a, json_object_get(root, "responseId"), 256, &res->id);
	str_dup(a, json_object_get(root, "modelVersion"), 256, &res->model);
	return 0;
oom:
	memset(res, 0, sizeof *res);
	*msg = hr_err_msg(HR_ENOMEM);
	return HR_ENOMEM;
}

/* ---- errors ---- */

static int err_of_status(long status)
{
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

/* Gemini answers a wrong API key with 400 INVALID_ARGUMENT; its details say
 * "reason": "API_KEY_INVALID" (google.rpc.ErrorInfo). */
static bool key_invalid(const json_t *err)
{
	size_t i;
	json_t *d;
	json_array_foreach(json_object_get(err, "details"), i, d)
	{
		json_t *r = json_object_get(d, "reason");
		if (json_is_string(r) && (strcmp(json_string_value(r), "API_KEY_INVALID") == 0 ||
		                          strcmp(json_string_value(r), "API_KEY_EXPIRED") == 0))
			return true;
	}
	return false;
}

/* The error object of a body: {"error": {...}}, or [{"error": {...}}] (the non-SSE stream
 * endpoint answers arrays). NULL when none. */
static json_t *error_object(json_t *root)
{
	if (json_is_array(root))
		root = json_array_get(root, 0);
	json_t *e = json_object_get(root, "error");
	return json_is_object(e) ? e : NULL;
}

static int gemini_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                            const char **msg)
{
	*msg = NULL;
	int code = err_of_status(status);
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	json_t *err = error_object(root);
	if (err) {
		json_t *m = json_object_get(err, "message");
		if (json_is_string(m) && json_string_length(m))
			*msg = hr_codec_trunc(a, json_string_value(m), json_string_length(m),
			                      GEMINI_MAX_MSG);
		if (status == 400 && key_invalid(err))
			code = HR_EUPSTREAM_AUTH;
	}
	json_decref(root);
	return code;
}

/* The HR_E* code of an in-stream error object: its HTTP code when given, else its
 * google.rpc status. */
static int stream_err_code(const json_t *err)
{
	static const struct {
		const char *status;
		int err;
	} by_status[] = {
	    {"INVALID_ARGUMENT", HR_EINVAL},
	    {"FAILED_PRECONDITION", HR_EINVAL},
	    {"OUT_OF_RANGE", HR_EINVAL},
	    {"UNAUTHENTICATED", HR_EUPSTREAM_AUTH},
	    {"PERMISSION_DENIED", HR_EUPSTREAM_AUTH},
	    {"NOT_FOUND", HR_EUPSTREAM_NOTFOUND},
	    {"RESOURCE_EXHAUSTED", HR_ERATELIMIT},
	    {"UNAVAILABLE", HR_EOVERLOADED},
	    {"DEADLINE_EXCEEDED", HR_ETIMEOUT},
	};
	json_t *c = json_object_get(err, "code");
	if (json_is_integer(c) && json_integer_value(c) >= 400 && json_integer_value(c) < 600)
		return err_of_status((long)json_integer_value(c));
	const char *s = json_string_value(json_object_get(err, "status"));
	for (size_t i = 0; s && i < sizeof by_status / sizeof by_status[0]; i++)
		if (strcmp(s, by_status[i].status) == 0)
			return by_status[i].err;
	return HR_EUPSTREAM;
}

/* ---- decode: stream ---- */

struct gem_stream {
	bool started; /* START was given */
};

static int push_err(struct hr_arena *a, struct hr_sev_list *out, int err, const char *text)
{
	struct hr_sev *ev = hr_sev_push(a, out, HR_SEV_ERROR);
	if (!ev)
		return HR_ENOMEM;
	ev->err = err;
	ev->text = hr_str_from(text);
	return 0;
}

static int gemini_decode_stream(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
                                const char *data, size_t len, struct hr_sev_list *out,
                                const char **msg)
{
	(void)event; /* Gemini's events have data only */
	*msg = NULL;
	size_t b = 0;
	while (b < len && (data[b] == ' ' || data[b] == '\t' || data[b] == '\r' || data[b] == '\n'))
		b++;
	if (b == len)
		return 0; /* keep-alive or empty event */
	json_t *root = hr_codec_load(a, data, len, "a stream event from the provider", msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *err = error_object(root);
	if (err) {
		json_t *m = json_object_get(err, "message");
		const char *text = json_is_string(m) && json_string_length(m)
		                       ? dup_trunc(a, json_string_value(m), json_string_length(m))
		                       : "the provider reported an error in the stream";
		return push_err(a, out, stream_err_code(err), text) < 0 ? HR_ENOMEM : 0;
	}
	if (!json_is_object(root)) {
		*msg = "a stream event from the provider is not a JSON object";
		return HR_EUPSTREAM_BAD;
	}
	const char *blocked = blocked_prompt(a, root);
	if (blocked)
		return push_err(a, out, HR_EINVAL, blocked) < 0 ? HR_ENOMEM : 0;

	json_t *parts;
	const char *finish;
	int rc = first_candidate(root, &parts, &finish, msg);
	if (rc < 0)
		return rc;

	struct gem_stream *s = st->priv;
	if (!s && !(s = st->priv = hr_arena_calloc(a, sizeof *s)))
		return HR_ENOMEM;
	struct hr_sev *ev;
	if (!s->started) {
		s->started = true;
		if (!(ev = hr_sev_push(a, out, HR_SEV_START)))
			return HR_ENOMEM;
		str_dup(a, json_object_get(root, "responseId"), 256, &ev->id);
		str_dup(a, json_object_get(root, "modelVersion"), 256, &ev->name);
	}
	size_t i;
	json_t *p;
	json_array_foreach(parts, i, p)
	{
		struct dpart d;
		if ((rc = decode_part(a, p, st->n_tools, &d, msg)) < 0) {
			if (rc == HR_ENOMEM)
				*msg = hr_err_msg(HR_ENOMEM);
			return rc;
		}
		if (d.kind == DP_TEXT) {
			if (!(ev = hr_sev_push(a, out, HR_SEV_TEXT)))
				return HR_ENOMEM;
			ev->text = d.text;
		} else if (d.kind == DP_CALL) {
			size_t idx = st->n_tools++;
			if (!(ev = hr_sev_push(a, out, HR_SEV_TOOL_START)))
				return HR_ENOMEM;
			ev->index = idx;
			ev->id = d.id;
			ev->name = d.name;
			if (!(ev = hr_sev_push(a, out, HR_SEV_TOOL_ARGS)))
				return HR_ENOMEM;
			ev->index = idx;
			ev->text = d.args;
		}
	}
	if (finish && !st->finished) {
		if (!(ev = hr_sev_push(a, out, HR_SEV_FINISH)))
			return HR_ENOMEM;
		ev->finish_reason = hr_codec_trunc(a, finish, strlen(finish), GEMINI_MAX_FINISH);
		ev->finish = finish_of(finish);
		if (ev->finish == HR_FIN_STOP && st->n_tools && strcmp(finish, "STOP") == 0)
			ev->finish = HR_FIN_TOOL_CALLS;
		st->finished = true;
	}
	struct hr_usage_counts u = usage_of(json_object_get(root, "usageMetadata"));
	if (u.present) {
		if (!(ev = hr_sev_push(a, out, HR_SEV_USAGE)))
			return HR_ENOMEM;
		ev->usage = u;
	}
	return 0;
}

/* ---- embeddings ---- */

static json_t *embed_content(struct hr_str text)
{
	json_t *c = json_object(), *parts = json_array();
	if (!c || !parts || append_new(parts, text_part(text)) < 0 ||
	    set_new(c, "parts", parts) < 0) {
		json_decref(c);
		return NULL;
	}
	return c;
}

static int gemini_encode_embed(struct hr_arena *a, const struct hr_conf_model *m,
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
	int frc = hr_codec_refuse_fields(a, rq->extra, "gemini", msg, param);
	if (frc < 0)
		return frc;
	if (rq->tokens_input)
		return unsupported(a, msg, param, "input",
		                   "Gemini embeds text only; send the input as strings instead of "
		                   "token ids");
	if (rq->n_inputs == 0) {
		*param = "input";
		return fail(a, HR_EINVAL, msg, "input is empty; send at least one string");
	}
	/* rq->user is dropped as in encode_chat; rq->base64 is hearth's own encoding of the
	 * floats Gemini returns */
	const char *path = model_path(a, m);
	if (!path)
		return HR_ENOMEM;
	bool one = rq->n_inputs == 1;
	json_t *body = NULL, *reqs = NULL;
	int rc = HR_ENOMEM;
	if (one) {
		body = json_object();
		if (!body || set_new(body, "content", embed_content(rq->inputs[0])) < 0 ||
		    (rq->dimensions > 0 &&
		     set_new(body, "outputDimensionality", json_integer(rq->dimensions)) < 0))
			goto out;
	} else {
		body = json_object();
		reqs = json_array();
		if (!body || !reqs)
			goto out;
		for (size_t i = 0; i < rq->n_inputs; i++) {
			json_t *r = json_object();
			if (!r || set_new(r, "model", json_string(path)) < 0 ||
			    set_new(r, "content", embed_content(rq->inputs[i])) < 0 ||
			    (rq->dimensions > 0 && set_new(r, "outputDimensionality",
			                                   json_integer(rq->dimensions)) < 0) ||
			    json_array_append_new(reqs, r) < 0) {
				json_decref(r);
				goto out;
			}
		}
		rc = set_new(body, "requests", reqs);
		reqs = NULL;
		if (rc < 0)
			goto out;
	}
	out->url = hr_arena_printf(a, "%s/%s:%s", p->base_url, path,
	                           one ? "embedContent" : "batchEmbedContents");
	if (!out->url) {
		rc = HR_ENOMEM;
		goto out;
	}
	if ((rc = enc_headers(a, p, false, out)) == 0)
		rc = dump_body(a, body, out, msg);
out:
	json_decref(reqs);
	json_decref(body);
	if (rc == HR_ENOMEM && !*msg)
		*msg = hr_err_msg(HR_ENOMEM);
	return rc;
}

/* values must be an array of numbers. */
static bool is_vector(const json_t *values)
{
	size_t i;
	json_t *x;
	if (!json_is_array(values))
		return false;
	json_array_foreach(values, i, x) if (!json_is_number(x)) return false;
	return true;
}

static int gemini_decode_embed(struct hr_arena *a, const char *body, size_t len,
                               struct hr_embed_resp *res, const char **msg)
{
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, "the provider's answer", msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *one = json_object_get(root, "embedding");
	json_t *many = json_object_get(root, "embeddings");
	size_t n = one ? 1 : json_array_size(many);
	if (!json_is_object(root) || (one ? !json_is_object(one) : !json_is_array(many)) ||
	    n == 0) {
		*msg = "the provider's answer has no embedding or embeddings";
		return HR_EUPSTREAM_BAD;
	}
	res->vectors = hr_arena_alloc(a, n * sizeof *res->vectors);
	if (!res->vectors) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		json_t *e = one ? one : json_array_get(many, i);
		json_t *values = json_object_get(e, "values");
		if (!is_vector(values)) {
			memset(res, 0, sizeof *res);
			*msg = "an embedding in the provider's answer has no array of numbers "
			       "\"values\"";
			return HR_EUPSTREAM_BAD;
		}
		res->vectors[i] = values;
	}
	res->n = n;
	res->usage.present = false; /* Gemini's embedding answers report no usage */
	return 0;
}

/* ---- models ---- */

static int gemini_decode_models(struct hr_arena *a, const char *body, size_t len,
                                struct hr_str **ids, size_t *n, const char **msg)
{
	*ids = NULL;
	*n = 0;
	*msg = NULL;
	json_t *root = hr_codec_load(a, body, len, "the provider's model list", msg);
	if (!root)
		return HR_EUPSTREAM_BAD;
	json_t *models = json_object_get(root, "models");
	if (!models && json_is_object(root))
		return 0; /* a key without access to any model gets {} */
	if (!json_is_array(models)) {
		*msg = "the provider's model list has no \"models\" array";
		return HR_EUPSTREAM_BAD;
	}
	size_t cap = json_array_size(models), i;
	if (cap == 0)
		return 0;
	struct hr_str *v = hr_arena_alloc(a, cap * sizeof *v);
	if (!v) {
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	json_t *mo;
	json_array_foreach(models, i, mo)
	{
		struct hr_str name = hr_codec_str(json_object_get(mo, "name"));
		if (hr_str_starts(name, "models/")) {
			name.ptr += 7;
			name.len -= 7;
		}
		if (name.len)
			v[(*n)++] = name;
	}
	*ids = v;
	return 0;
}

const struct hr_provider_ops hr_provider_gemini = {
    .kind = GEMINI_KIND,
    .framing = HR_FRAME_SSE,
    .encode_chat = gemini_encode_chat,
    .decode_chat = gemini_decode_chat,
    .decode_stream = gemini_decode_stream,
    .map_error = gemini_map_error,
    .encode_embed = gemini_encode_embed,
    .decode_embed = gemini_decode_embed,
    .models_path = "/models",
    .decode_models = gemini_decode_models,
};
