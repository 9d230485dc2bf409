/* openai.c - codec for OpenAI-compatible chat completions (OpenAI, vLLM, Ollama, llama.cpp):
 * encodes the client's request for a provider, decodes answers, stream chunks and errors. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

/* Longest provider message passed on to clients, and longest finish_reason kept. */
#define OPENAI_MAX_MSG    500
#define OPENAI_MAX_FINISH 64

/* Copies at most max bytes of s into the arena without splitting a UTF-8 sequence. */
static const char *dup_trunc(struct hr_arena *a, const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return hr_arena_strndup(a, s, n);
}

/* ---- encode ---- */

struct dump_ctx {
	struct hr_buf *b;
	int rc;
};

static int dump_cb(const char *p, size_t n, void *arg)
{
	struct dump_ctx *d = arg;
	d->rc = hr_buf_add(d->b, p, n);
	return d->rc < 0 ? -1 : 0;
}

static int openai_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                              const struct hr_chat_req *rq, struct hr_http_out *out,
                              const char **msg)
{
	*msg = NULL;
	const struct hr_conf_provider *p = m->provider;
	if (!p || !p->base_url || !json_is_object(rq->body)) {
		*msg = "model has no provider or the request has no body";
		return HR_EINTERNAL;
	}
	out->url = hr_arena_printf(a, "%s/chat/completions", p->base_url);
	if (!out->url)
		return HR_ENOMEM;
	size_t h = 0;
	out->headers[h++] = "Content-Type: application/json";
	if (p->api_key && p->api_key[0]) {
		if (!(out->headers[h++] =
		          hr_arena_printf(a, "Authorization: Bearer %s", p->api_key)))
			return HR_ENOMEM;
	}
	if (rq->stream)
		out->headers[h++] = "Accept: text/event-stream";
	out->headers[h] = NULL;

	/* A shallow copy: rq->body and its children stay as the client sent them (a fallback
	 * encodes the same request again); only the replaced members are new. */
	int rc = HR_ENOMEM;
	json_t *body = json_copy(rq->body);
	const char *upstream = m->upstream ? m->upstream : m->name;
	if (!body || json_object_set_new(body, "model", json_string(upstream)) < 0)
		goto out;
	if (rq->stream) {
		json_t *client_so = json_object_get(rq->body, "stream_options");
		json_t *so = json_is_object(client_so) ? json_copy(client_so) : json_object();
		if (!so || json_object_set_new(so, "include_usage", json_true()) < 0) {
			json_decref(so);
			goto out;
		}
		if (json_object_set_new(body, "stream_options", so) < 0) /* takes so anyway */
			goto out;
	}
	struct dump_ctx d = {&out->body, 0};
	if (json_dump_callback(body, dump_cb, &d, JSON_COMPACT) < 0) {
		rc = d.rc < 0 ? d.rc : HR_EINTERNAL;
		if (rc == HR_ETOOBIG)
			*msg = "the request is too large to send to the provider";
		goto out;
	}
	rc = 0;
out:
	json_decref(body);
	if (rc == HR_ENOMEM && !*msg)
		*msg = hr_err_msg(HR_ENOMEM);
	if (rc == HR_EINTERNAL && !*msg)
		*msg = "could not encode the request";
	return rc;
}

/* ---- decode ---- */

static int64_t count(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
	return x > 0 ? (int64_t)x : 0;
}

static void read_usage(const json_t *u, struct hr_usage_counts *c)
{
	memset(c, 0, sizeof *c);
	if (!json_is_object(u))
		return;
	c->present = json_is_integer(json_object_get(u, "prompt_tokens")) &&
	             json_is_integer(json_object_get(u, "completion_tokens"));
	c->prompt_tokens = count(u, "prompt_tokens");
	c->completion_tokens = count(u, "completion_tokens");
	c->cached_tokens = count(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
	c->reasoning_tokens =
	    count(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
}

static size_t str_len(const json_t *s)
{
	return json_is_string(s) ? json_string_length(s) : 0;
}

/* Text bytes of a message or delta: content (string or text parts), refusal, and the
 * arguments of tool calls and of the legacy function_call. */
static size_t text_bytes(const json_t *msg)
{
	size_t n = 0, i;
	json_t *content = json_object_get(msg, "content"), *v;
	n += str_len(content);
	json_array_foreach(content, i, v) n += str_len(json_object_get(v, "text"));
	n += str_len(json_object_get(msg, "refusal"));
	json_array_foreach(json_object_get(msg, "tool_calls"), i, v)
	{
		n += str_len(json_object_get(json_object_get(v, "function"), "arguments"));
	}
	n += str_len(json_object_get(json_object_get(msg, "function_call"), "arguments"));
	return n;
}

static const char *finish_reason(struct hr_arena *a, const json_t *choices)
{
	json_t *fr = json_object_get(json_array_get(choices, 0), "finish_reason");
	if (!json_is_string(fr))
		return NULL;
	return dup_trunc(a, json_string_value(fr), json_string_length(fr), OPENAI_MAX_FINISH);
}

static const char *not_json(struct hr_arena *a, const char *what, const json_error_t *e)
{
	const char *m =
	    hr_arena_printf(a, "%s is not JSON (line %d, column %d)", what, e->line, e->column);
	return m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
}

static int openai_decode_chat(struct hr_arena *a, const char *body, size_t len,
                              struct hr_chat_result *res, const char **msg)
{
	memset(res, 0, sizeof *res);
	*msg = NULL;
	json_error_t e;
	json_t *root = json_loadb(body, len, 0, &e);
	if (!root) {
		*msg = not_json(a, "the provider's answer", &e);
		return HR_EUPSTREAM_BAD;
	}
	int rc = 0;
	json_t *choices = json_object_get(root, "choices"), *c;
	if (!json_is_array(choices)) {
		*msg = "the provider's answer has no choices";
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	read_usage(json_object_get(root, "usage"), &res->usage);
	res->finish_reason = finish_reason(a, choices);
	size_t i;
	json_array_foreach(choices, i, c) res->completion_bytes +=
	    text_bytes(json_object_get(c, "message"));
out:
	json_decref(root);
	return rc;
}

/* The provider's own words from an error object: {"error": {"message": ...}},
 * {"error": "text"} (Ollama) or {"message": ...} (vLLM). NULL when none. */
static const char *error_message(struct hr_arena *a, const json_t *root)
{
	json_t *err = json_object_get(root, "error"), *m = NULL;
	if (json_is_string(err))
		m = err;
	else if (json_is_object(err))
		m = json_object_get(err, "message");
	else
		m = json_object_get(root, "message");
	if (!json_is_string(m) || json_string_length(m) == 0)
		return NULL;
	return dup_trunc(a, json_string_value(m), json_string_length(m), OPENAI_MAX_MSG);
}

static int openai_decode_stream_event(struct hr_arena *a, const char *data, size_t len,
                                      struct hr_stream_ev *ev, const char **msg)
{
	memset(ev, 0, sizeof *ev);
	*msg = NULL;
	struct hr_str d = {data, len};
	while (d.len && (d.ptr[0] == ' ' || d.ptr[0] == '\t'))
		d.ptr++, d.len--;
	while (d.len && (d.ptr[d.len - 1] == ' ' || d.ptr[d.len - 1] == '\t' ||
	                 d.ptr[d.len - 1] == '\n' || d.ptr[d.len - 1] == '\r'))
		d.len--;
	if (hr_str_eq_cstr(d, "[DONE]")) {
		ev->type = HR_SEV_DONE;
		return 0;
	}

	json_error_t e;
	json_t *root = json_loadb(data, len, 0, &e);
	if (!root) {
		*msg = not_json(a, "a stream event from the provider", &e);
		return HR_EUPSTREAM_BAD;
	}
	int rc = 0;
	if (!json_is_object(root)) {
		*msg = "a stream event from the provider is not a JSON object";
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	json_t *err = json_object_get(root, "error");
	if (err && !json_is_null(err)) {
		ev->type = HR_SEV_ERROR;
		ev->error_msg = error_message(a, root);
		if (!ev->error_msg)
			ev->error_msg = "the provider reported an error in the stream";
		goto out;
	}

	ev->type = HR_SEV_CHUNK;
	json_t *choices = json_object_get(root, "choices"), *c;
	json_t *usage = json_object_get(root, "usage");
	if (choices && !json_is_array(choices) && !json_is_null(choices)) {
		*msg = "a stream chunk from the provider has choices that are not an array";
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	read_usage(usage, &ev->usage);
	/* OpenAI sends "choices": [] with the usage; vLLM may send null or leave it out */
	ev->usage_only = json_is_array(choices) ? json_array_size(choices) == 0 : ev->usage.present;
	ev->finish_reason = finish_reason(a, choices);
	size_t i;
	json_array_foreach(choices, i, c) ev->delta_bytes +=
	    text_bytes(json_object_get(c, "delta"));
out:
	json_decref(root);
	return rc;
}

static int openai_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                            const char **msg)
{
	*msg = NULL;
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	if (root) {
		*msg = error_message(a, root);
		json_decref(root);
	}
	switch (status) {
	case 400:
	case 404:
	case 409:
	case 422: return HR_EINVAL;
	case 401:
	case 403: return HR_EUPSTREAM_AUTH;
	case 413: return HR_ETOOBIG;
	case 429: return HR_ERATELIMIT;
	case 408:
	case 504: return HR_ETIMEOUT;
	default: return HR_EUPSTREAM;
	}
}

const struct hr_provider_ops hr_provider_openai = {
    .kind = "openai",
    .encode_chat = openai_encode_chat,
    .decode_chat = openai_decode_chat,
    .decode_stream_event = openai_decode_stream_event,
    .map_error = openai_map_error,
    .models_path = "/models",
};
