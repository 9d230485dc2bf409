/* openai.c - codec for OpenAI-compatible chat completions (OpenAI, Azure, vLLM, llama.cpp,
 * LM Studio, Groq, Ollama's /v1...): the pass-through of an OpenAI client's body, the jscan
 * summaries of what it answers, and errors. The translation for clients of other dialects
 * (and the full decoders) is in openai_canon.c. */
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/jscan.h"
#include "providers/openai_int.h"
#include "providers/provider.h"

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

int hr_openai_head(struct hr_arena *a, const struct hr_conf_model *m, const char *path, bool stream,
                   struct hr_http_out *out, const char **msg)
{
	const struct hr_conf_provider *p = m->provider;
	if (!p || !p->base_url) {
		*msg = "model has no provider";
		return HR_EINTERNAL;
	}
	out->url = hr_arena_printf(a, "%s%s", p->base_url, path);
	if (!out->url)
		goto nomem;
	size_t h = 0;
	out->headers[h++] = "Content-Type: application/json";
	if (p->api_key && p->api_key[0]) {
		if (!(out->headers[h++] =
		          hr_arena_printf(a, "Authorization: Bearer %s", p->api_key)))
			goto nomem;
	}
	if (stream)
		out->headers[h++] = "Accept: text/event-stream";
	out->headers[h] = NULL;
	return 0;
nomem:
	*msg = hr_err_msg(HR_ENOMEM);
	return HR_ENOMEM;
}

static int splice_model(const struct hr_chat_req *rq, const char *upstream, struct hr_buf *out);

/* An OpenAI client's body goes as it came, with only the model replaced (and usage asked
 * for in streams), so nothing is lost; a client of another dialect gets a translation. */
static int openai_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                              const struct hr_chat_req *rq, struct hr_http_out *out,
                              const char **msg, const char **param)
{
	*param = NULL;
	*msg = NULL;
	if (rq->dialect != HR_DIALECT_OPENAI || !rq->body)
		return hr_openai_canon_encode_chat(a, m, rq, out, msg, param);
	if (!json_is_object(rq->body)) {
		*msg = "the request's body is not a JSON object";
		return HR_EINTERNAL;
	}
	int hrc = hr_openai_head(a, m, "/chat/completions", rq->stream, out, msg);
	if (hrc < 0)
		return hrc;

	const char *upstream = m->upstream ? m->upstream : m->name;
	int rc = splice_model(rq, upstream, &out->body);
	if (rc != 0) {
		if (rc == HR_ETOOBIG)
			*msg = "the request is too large to send to the provider";
		return rc < 0 ? rc : 0;
	}

	/* A shallow copy: rq->body and its children stay as the client sent them (a fallback
	 * encodes the same request again); only the replaced members are new. */
	rc = HR_ENOMEM;
	json_t *body = json_copy(rq->body);
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

/* ---- decode ----
 * The decoders read a provider's bytes with the jscan pull scanner: they validate the whole
 * body as JSON and pick out the few fields hearth records, without building a tree (hearth
 * forwards the bytes unchanged). Semantics are those of looking the fields up in the parsed
 * object: a duplicated key counts by its last occurrence, and a field of the wrong type
 * counts as absent. */

/* jansson's depth limit, which these decoders had before jscan. */
#define OPENAI_MAX_DEPTH 2048

/* The common case costs no re-encoding: the client's bytes, already validated by
 * hr_chat_parse (which refuses duplicate keys), with only the top-level "model" value
 * replaced. Streams need stream_options.include_usage, so they qualify only when the client
 * asked for it. Returns 1 when out holds the body, 0 when the caller must re-encode, or
 * HR_ETOOBIG / HR_ENOMEM. */
static int splice_model(const struct hr_chat_req *rq, const char *upstream, struct hr_buf *out)
{
	if (!rq->raw.ptr || (rq->stream && !rq->include_usage))
		return 0;
	struct hr_jscan s;
	struct hr_jscan_tok t;
	hr_jscan_init(&s, rq->raw.ptr, rq->raw.len, OPENAI_MAX_DEPTH);
	if (hr_jscan_next(&s, &t) != HR_JSCAN_OBJ_BEGIN)
		return 0;
	for (;;) {
		if (hr_jscan_next(&s, &t) != HR_JSCAN_KEY)
			return 0;
		bool is_model = HR_JSCAN_EQ(&t, "model");
		int k = hr_jscan_next(&s, &t);
		if (k < 0)
			return 0;
		if (is_model && k == HR_JSCAN_STRING) {
			const char *vb = t.raw.ptr - 1, *ve = t.raw.ptr + t.raw.len + 1;
			const char *end = rq->raw.ptr + rq->raw.len;
			int rc = hr_buf_add(out, rq->raw.ptr, (size_t)(vb - rq->raw.ptr));
			if (!rc)
				rc = hr_buf_addch(out, '"');
			if (!rc)
				rc = hr_buf_add_json_escaped(out, upstream, strlen(upstream));
			if (!rc)
				rc = hr_buf_addch(out, '"');
			if (!rc)
				rc = hr_buf_add(out, ve, (size_t)(end - ve));
			if (rc < 0) {
				hr_buf_reset(out);
				return rc;
			}
			return 1;
		}
		if (hr_jscan_skip(&s, &t) < 0)
			return 0;
	}
}

struct dec {
	struct hr_jscan s;
	struct hr_jscan_tok t; /* the token just read */
};

/* Reads the token that starts a value (after a KEY, or an array's next element). */
static int dec_value(struct dec *d)
{
	int k = hr_jscan_next(&d->s, &d->t);
	return k < 0 ? k : 0;
}

/* Inside an object: 1 with d->t the next member's KEY, 0 at the object's end, or < 0. */
static int dec_member(struct dec *d)
{
	int k = hr_jscan_next(&d->s, &d->t);
	return k == HR_JSCAN_KEY ? 1 : k < 0 ? k : 0;
}

/* Inside an array: 1 with d->t starting the next element, 0 at the array's end, or < 0. */
static int dec_element(struct dec *d)
{
	int k = hr_jscan_next(&d->s, &d->t);
	return k == HR_JSCAN_ARR_END ? 0 : k < 0 ? k : 1;
}

static int dec_skip(struct dec *d)
{
	return hr_jscan_skip(&d->s, &d->t);
}

/* d->t starts a value: *n = the decoded length of the string member key of that value when
 * it is an object (last occurrence), else 0. Consumes the value. */
static int dec_member_str_len(struct dec *d, const char *key, size_t *n)
{
	int k, rc;
	*n = 0;
	if (d->t.kind != HR_JSCAN_OBJ_BEGIN)
		return dec_skip(d);
	while ((k = dec_member(d)) > 0) {
		bool hit = hr_jscan_str_eq(&d->t, key);
		if ((rc = dec_value(d)) < 0)
			return rc;
		if (hit)
			*n = hr_jscan_str_len(&d->t);
		if ((rc = dec_skip(d)) < 0)
			return rc;
	}
	return k;
}

/* d->t starts a value: a token count. *v = the integer when it is one and > 0, else 0;
 * *is_int says whether it was an integer. HR_ETOOBIG for an integer beyond int64_t. */
static int dec_count(struct dec *d, int64_t *v, bool *is_int)
{
	int64_t x;
	int rc = hr_jscan_int64(&d->t, &x);
	if (rc == HR_ETOOBIG)
		return rc;
	*is_int = rc == 0;
	*v = rc == 0 && x > 0 ? x : 0;
	return dec_skip(d);
}

/* d->t starts a value: *v = the count under key when the value is an object, else 0. */
static int dec_member_count(struct dec *d, const char *key, int64_t *v)
{
	int k, rc;
	bool is_int;
	*v = 0;
	if (d->t.kind != HR_JSCAN_OBJ_BEGIN)
		return dec_skip(d);
	while ((k = dec_member(d)) > 0) {
		bool hit = hr_jscan_str_eq(&d->t, key);
		if ((rc = dec_value(d)) < 0)
			return rc;
		if ((rc = hit ? dec_count(d, v, &is_int) : dec_skip(d)) < 0)
			return rc;
	}
	return k;
}

/* d->t starts the value of "usage". */
static int dec_usage(struct dec *d, struct hr_usage_counts *c)
{
	int k, rc;
	bool p_int = false, c_int = false;
	memset(c, 0, sizeof *c);
	if (d->t.kind != HR_JSCAN_OBJ_BEGIN)
		return dec_skip(d);
	while ((k = dec_member(d)) > 0) {
		struct hr_jscan_tok key = d->t;
		if ((rc = dec_value(d)) < 0)
			return rc;
		if (HR_JSCAN_EQ(&key, "prompt_tokens"))
			rc = dec_count(d, &c->prompt_tokens, &p_int);
		else if (HR_JSCAN_EQ(&key, "completion_tokens"))
			rc = dec_count(d, &c->completion_tokens, &c_int);
		else if (HR_JSCAN_EQ(&key, "prompt_tokens_details"))
			rc = dec_member_count(d, "cached_tokens", &c->cached_tokens);
		else if (HR_JSCAN_EQ(&key, "completion_tokens_details"))
			rc = dec_member_count(d, "reasoning_tokens", &c->reasoning_tokens);
		else
			rc = dec_skip(d);
		if (rc < 0)
			return rc;
	}
	c->present = p_int && c_int;
	return k;
}

/* d->t starts the value of a message or a delta: *n = its text bytes: content (a string, or
 * the "text" of its parts), refusal, tool_calls[].function.arguments and the legacy
 * function_call.arguments. */
static int dec_text_bytes(struct dec *d, size_t *n)
{
	int k, rc;
	size_t content = 0, refusal = 0, tools = 0, fcall = 0;
	*n = 0;
	if (d->t.kind != HR_JSCAN_OBJ_BEGIN)
		return dec_skip(d);
	while ((k = dec_member(d)) > 0) {
		struct hr_jscan_tok key = d->t;
		if ((rc = dec_value(d)) < 0)
			return rc;
		if (HR_JSCAN_EQ(&key, "content")) {
			content = hr_jscan_str_len(&d->t);
			if (d->t.kind == HR_JSCAN_ARR_BEGIN) {
				size_t part;
				while ((rc = dec_element(d)) > 0) {
					if ((rc = dec_member_str_len(d, "text", &part)) < 0)
						return rc;
					content += part;
				}
			} else {
				rc = dec_skip(d);
			}
		} else if (HR_JSCAN_EQ(&key, "refusal")) {
			refusal = hr_jscan_str_len(&d->t);
			rc = dec_skip(d);
		} else if (HR_JSCAN_EQ(&key, "tool_calls")) {
			tools = 0;
			if (d->t.kind == HR_JSCAN_ARR_BEGIN) {
				while ((rc = dec_element(d)) > 0) {
					size_t args = 0;
					if (d->t.kind != HR_JSCAN_OBJ_BEGIN) {
						if ((rc = dec_skip(d)) < 0)
							return rc;
						continue;
					}
					while ((rc = dec_member(d)) > 0) {
						bool fn = HR_JSCAN_EQ(&d->t, "function");
						if ((rc = dec_value(d)) < 0)
							return rc;
						rc = fn ? dec_member_str_len(d, "arguments", &args)
						        : dec_skip(d);
						if (rc < 0)
							return rc;
					}
					if (rc < 0)
						return rc;
					tools += args;
				}
			} else {
				rc = dec_skip(d);
			}
		} else if (HR_JSCAN_EQ(&key, "function_call")) {
			rc = dec_member_str_len(d, "arguments", &fcall);
		} else {
			rc = dec_skip(d);
		}
		if (rc < 0)
			return rc;
	}
	*n = content + refusal + tools + fcall;
	return k;
}

struct dec_choices {
	size_t n;                   /* elements */
	size_t bytes;               /* text bytes of every choice's message (or delta) */
	bool has_finish;            /* choices[0].finish_reason is a string */
	struct hr_jscan_tok finish; /* that string; borrows the body */
};

/* d->t is the ARR_BEGIN of "choices"; what names the text member: "message" or "delta". */
static int dec_choices(struct dec *d, const char *what, struct dec_choices *c)
{
	int k, rc;
	memset(c, 0, sizeof *c);
	while ((k = dec_element(d)) > 0) {
		size_t bytes = 0, i = c->n++;
		if (d->t.kind != HR_JSCAN_OBJ_BEGIN) {
			if ((rc = dec_skip(d)) < 0)
				return rc;
			continue;
		}
		while ((k = dec_member(d)) > 0) {
			struct hr_jscan_tok key = d->t;
			if ((rc = dec_value(d)) < 0)
				return rc;
			if (hr_jscan_str_eq(&key, what)) {
				rc = dec_text_bytes(d, &bytes);
			} else if (i == 0 && HR_JSCAN_EQ(&key, "finish_reason")) {
				c->has_finish = d->t.kind == HR_JSCAN_STRING;
				c->finish = d->t;
				rc = dec_skip(d);
			} else {
				rc = dec_skip(d);
			}
			if (rc < 0)
				return rc;
		}
		if (k < 0)
			return k;
		c->bytes += bytes;
	}
	return k;
}

/* Decodes a string token into the arena, cut at max bytes without splitting a UTF-8
 * sequence, like dup_trunc(). Returns: arena-owned; NULL on OOM. */
static const char *dup_tok(struct hr_arena *a, const struct hr_jscan_tok *t, size_t max)
{
	char buf[OPENAI_MAX_MSG + 1];
	if (max >= sizeof buf)
		max = sizeof buf - 1;
	size_t n = hr_jscan_str_copy(t, buf, max + 1);
	return dup_trunc(a, buf, n > max + 1 ? max + 1 : n, max);
}

/* The message for a body that is not JSON, or that jscan rejected: what and where. */
static const char *dec_bad(struct hr_arena *a, const char *what, const struct dec *d, int rc)
{
	const char *m;
	if (rc == HR_ETOOBIG) {
		m = hr_arena_printf(a, "%s has a token count too large for a 64-bit integer", what);
	} else {
		const char *why;
		unsigned long line, col;
		hr_jscan_where(&d->s, hr_jscan_error(&d->s, &why), &line, &col);
		m = hr_arena_printf(a, "%s is not JSON: %s (line %lu, column %lu)", what, why, line,
		                    col);
	}
	return m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
}

/* Reads the first token; when the body is not an object, validates it (for the message) and
 * returns HR_EUPSTREAM_BAD with *msg. Returns 0 at the object's first member. */
static int dec_open(struct hr_arena *a, struct dec *d, const char *what, const char **msg)
{
	int rc = dec_value(d);
	if (rc == 0 && d->t.kind == HR_JSCAN_OBJ_BEGIN)
		return 0;
	if (rc == 0 && (rc = dec_skip(d)) == 0 && (rc = hr_jscan_next(&d->s, &d->t)) == 0) {
		*msg = hr_arena_printf(a, "%s is not a JSON object", what);
		if (!*msg)
			*msg = hr_err_msg(HR_EUPSTREAM_BAD);
		return HR_EUPSTREAM_BAD;
	}
	*msg = dec_bad(a, what, d, rc);
	return HR_EUPSTREAM_BAD;
}

int hr_openai_decode_summary(struct hr_arena *a, const char *body, size_t len,
                             struct hr_chat_resp *res, const char **msg)
{
	static const char what[] = "the provider's answer";
	memset(res, 0, sizeof *res);
	*msg = NULL;
	struct dec d;
	struct dec_choices ch = {0};
	bool have_choices = false;
	int k, rc;
	hr_jscan_init(&d.s, body, len, OPENAI_MAX_DEPTH);
	if ((rc = dec_open(a, &d, what, msg)) < 0)
		return rc;
	while ((k = dec_member(&d)) > 0) {
		struct hr_jscan_tok key = d.t;
		if ((rc = dec_value(&d)) < 0)
			goto bad;
		if (HR_JSCAN_EQ(&key, "choices")) {
			have_choices = d.t.kind == HR_JSCAN_ARR_BEGIN;
			rc = have_choices ? dec_choices(&d, "message", &ch) : dec_skip(&d);
		} else if (HR_JSCAN_EQ(&key, "usage")) {
			rc = dec_usage(&d, &res->usage);
		} else {
			rc = dec_skip(&d);
		}
		if (rc < 0)
			goto bad;
	}
	if ((rc = k) < 0 || (rc = hr_jscan_next(&d.s, &d.t)) < 0)
		goto bad;
	if (!have_choices) {
		memset(res, 0, sizeof *res);
		*msg = "the provider's answer has no choices";
		return HR_EUPSTREAM_BAD;
	}
	res->finish_reason = ch.has_finish ? dup_tok(a, &ch.finish, OPENAI_MAX_FINISH) : NULL;
	res->completion_bytes = ch.bytes;
	return 0;
bad:
	memset(res, 0, sizeof *res);
	*msg = dec_bad(a, what, &d, rc);
	return HR_EUPSTREAM_BAD;
}

int hr_openai_decode_stream_summary(struct hr_arena *a, const char *data, size_t len,
                                    struct hr_stream_ev *ev, const char **msg)
{
	static const char what[] = "a stream event from the provider";
	memset(ev, 0, sizeof *ev);
	*msg = NULL;
	struct hr_str d0 = {data, len};
	while (d0.len && (d0.ptr[0] == ' ' || d0.ptr[0] == '\t'))
		d0.ptr++, d0.len--;
	while (d0.len && (d0.ptr[d0.len - 1] == ' ' || d0.ptr[d0.len - 1] == '\t' ||
	                  d0.ptr[d0.len - 1] == '\n' || d0.ptr[d0.len - 1] == '\r'))
		d0.len--;
	if (hr_str_eq_cstr(d0, "[DONE]")) {
		ev->type = HR_FWD_DONE;
		return 0;
	}

	/* What the members said; each later occurrence of a key replaces the earlier one. */
	enum {
		ABSENT,
		IS_NULL,
		IS_STRING,
		IS_OBJECT,
		IS_ARRAY,
		IS_OTHER
	} err = ABSENT,
	  choices = ABSENT;
	struct hr_jscan_tok err_msg = {0}, root_msg = {0}; /* kind END: none */
	struct dec_choices ch = {0};
	struct hr_usage_counts usage = {0};
	struct dec d;
	int k, rc;
	hr_jscan_init(&d.s, data, len, OPENAI_MAX_DEPTH);
	if ((rc = dec_open(a, &d, what, msg)) < 0)
		return rc;
	while ((k = dec_member(&d)) > 0) {
		struct hr_jscan_tok key = d.t;
		if ((rc = dec_value(&d)) < 0)
			goto bad;
		enum hr_jscan_kind vk = d.t.kind;
		if (HR_JSCAN_EQ(&key, "error")) {
			err = vk == HR_JSCAN_NULL        ? IS_NULL
			      : vk == HR_JSCAN_STRING    ? IS_STRING
			      : vk == HR_JSCAN_OBJ_BEGIN ? IS_OBJECT
			                                 : IS_OTHER;
			err_msg = d.t;
			if (err == IS_OBJECT) {
				err_msg.kind = HR_JSCAN_END;
				while ((k = dec_member(&d)) > 0) {
					bool hit = HR_JSCAN_EQ(&d.t, "message");
					if ((rc = dec_value(&d)) < 0)
						goto bad;
					if (hit)
						err_msg = d.t;
					if ((rc = dec_skip(&d)) < 0)
						goto bad;
				}
				rc = k;
			} else {
				rc = dec_skip(&d);
			}
		} else if (HR_JSCAN_EQ(&key, "message")) {
			root_msg = d.t;
			rc = dec_skip(&d);
		} else if (HR_JSCAN_EQ(&key, "choices")) {
			choices = vk == HR_JSCAN_ARR_BEGIN ? IS_ARRAY
			          : vk == HR_JSCAN_NULL    ? IS_NULL
			                                   : IS_OTHER;
			rc = choices == IS_ARRAY ? dec_choices(&d, "delta", &ch) : dec_skip(&d);
		} else if (HR_JSCAN_EQ(&key, "usage")) {
			rc = dec_usage(&d, &usage);
		} else {
			rc = dec_skip(&d);
		}
		if (rc < 0)
			goto bad;
	}
	if ((rc = k) < 0 || (rc = hr_jscan_next(&d.s, &d.t)) < 0)
		goto bad;

	if (err != ABSENT && err != IS_NULL) {
		/* the provider's words: {"error": "text"} (Ollama), {"error": {"message": ...}},
		 * or {"message": ...} beside an error of another type */
		const struct hr_jscan_tok *m = err == IS_OTHER ? &root_msg : &err_msg;
		ev->type = HR_FWD_ERROR;
		if (m->kind == HR_JSCAN_STRING && m->len > 0)
			ev->error_msg = dup_tok(a, m, OPENAI_MAX_MSG);
		if (!ev->error_msg)
			ev->error_msg = "the provider reported an error in the stream";
		return 0;
	}
	ev->type = HR_FWD_CHUNK;
	if (choices == IS_OTHER) {
		memset(ev, 0, sizeof *ev);
		*msg = "a stream chunk from the provider has choices that are not an array";
		return HR_EUPSTREAM_BAD;
	}
	ev->usage = usage;
	/* OpenAI sends "choices": [] with the usage; vLLM may send null or leave it out */
	ev->usage_only = choices == IS_ARRAY ? ch.n == 0 : usage.present;
	ev->finish_reason = ch.has_finish ? dup_tok(a, &ch.finish, OPENAI_MAX_FINISH) : NULL;
	ev->delta_bytes = ch.bytes;
	return 0;
bad:
	memset(ev, 0, sizeof *ev);
	*msg = dec_bad(a, what, &d, rc);
	return HR_EUPSTREAM_BAD;
}

/* ---- errors ---- */

const char *hr_openai_error_text(struct hr_arena *a, const json_t *root)
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

static int openai_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                            const char **msg)
{
	*msg = NULL;
	json_t *root = body && len ? json_loadb(body, len, 0, NULL) : NULL;
	if (root) {
		*msg = hr_openai_error_text(a, root);
		json_decref(root);
	}
	switch (status) {
	case 400:
	case 422: return HR_EINVAL;
	case 401:
	case 403: return HR_EUPSTREAM_AUTH;
	case 404: return HR_EUPSTREAM_NOTFOUND; /* OpenAI's model_not_found, Ollama's unpulled */
	case 408:
	case 504: return HR_ETIMEOUT;
	case 413: return HR_ETOOBIG;
	case 429: return HR_ERATELIMIT; /* rate limits and insufficient_quota alike */
	case 503:
	case 529: return HR_EOVERLOADED;
	default: return HR_EUPSTREAM;
	}
}

const struct hr_provider_ops hr_provider_openai = {
    .kind = "openai",
    .framing = HR_FRAME_SSE,
    .encode_chat = openai_encode_chat,
    .decode_chat = hr_openai_decode_chat,
    .decode_stream = hr_openai_decode_stream,
    .map_error = openai_map_error,
    .encode_embed = hr_openai_encode_embed,
    .decode_embed = hr_openai_decode_embed,
    .models_path = "/models",
    .decode_models = hr_openai_decode_models,
};
