/* fuzz_jscan.c - libFuzzer target: differential test of the jscan JSON scanner and of the
 * OpenAI decoders built on it, against jansson and the jansson decoders they replaced.
 *
 * For any input: (a) jscan accepts it exactly when json_loadb(JSON_DECODE_ANY |
 * JSON_ALLOW_NUL) does, and every token agrees with jansson's tree (strings decoded byte for
 * byte, integers, reals, literals, keys); (b) decode_chat and decode_stream_event give the
 * same fields as the reference decoders below (the pre-jscan code, kept only here).
 * Known, intended differences are not compared: jansson refuses numbers it cannot represent
 * (integers beyond int64, reals beyond double), NUL in object keys, and nesting past its
 * depth limit (which counts scalars too); jscan accepts those as RFC 8259 allows. And
 * jansson drops a NUL byte that directly follows a number or a literal ("[1\0]" loads as
 * [1]: its lexer takes the NUL for the end of its read buffer); jscan rejects it. */
#include <assert.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/jscan.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond)) {                                                                     \
			fprintf(stderr, "fuzz_jscan: check failed at line %d: %s\n", __LINE__,     \
			        #cond);                                                            \
			abort();                                                                   \
		}                                                                                  \
	} while (0)

/* ---- the reference: openai.c's decoders before jscan (jansson), verbatim but for the
 * parse flags (JSON_ALLOW_NUL, the intended difference) and the error code out-param ---- */

#define REF_MAX_MSG    500
#define REF_MAX_FINISH 64

static const char *ref_dup_trunc(struct hr_arena *a, const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return hr_arena_strndup(a, s, n);
}

static int64_t ref_count(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	json_int_t x = json_is_integer(v) ? json_integer_value(v) : 0;
	return x > 0 ? (int64_t)x : 0;
}

static void ref_read_usage(const json_t *u, struct hr_usage_counts *c)
{
	memset(c, 0, sizeof *c);
	if (!json_is_object(u))
		return;
	c->present = json_is_integer(json_object_get(u, "prompt_tokens")) &&
	             json_is_integer(json_object_get(u, "completion_tokens"));
	c->prompt_tokens = ref_count(u, "prompt_tokens");
	c->completion_tokens = ref_count(u, "completion_tokens");
	c->cached_tokens = ref_count(json_object_get(u, "prompt_tokens_details"), "cached_tokens");
	c->reasoning_tokens =
	    ref_count(json_object_get(u, "completion_tokens_details"), "reasoning_tokens");
}

static size_t ref_str_len(const json_t *s)
{
	return json_is_string(s) ? json_string_length(s) : 0;
}

static size_t ref_text_bytes(const json_t *msg)
{
	size_t n = 0, i;
	json_t *content = json_object_get(msg, "content"), *v;
	n += ref_str_len(content);
	json_array_foreach(content, i, v) n += ref_str_len(json_object_get(v, "text"));
	n += ref_str_len(json_object_get(msg, "refusal"));
	json_array_foreach(json_object_get(msg, "tool_calls"), i, v)
	{
		n += ref_str_len(json_object_get(json_object_get(v, "function"), "arguments"));
	}
	n += ref_str_len(json_object_get(json_object_get(msg, "function_call"), "arguments"));
	return n;
}

static const char *ref_finish_reason(struct hr_arena *a, const json_t *choices)
{
	json_t *fr = json_object_get(json_array_get(choices, 0), "finish_reason");
	if (!json_is_string(fr))
		return NULL;
	return ref_dup_trunc(a, json_string_value(fr), json_string_length(fr), REF_MAX_FINISH);
}

/* *jerr: jansson's error code when it could not parse, else -1. */
static int ref_decode_chat(struct hr_arena *a, const char *body, size_t len,
                           struct hr_chat_result *res, int *jerr)
{
	memset(res, 0, sizeof *res);
	*jerr = -1;
	json_error_t e;
	json_t *root = json_loadb(body, len, JSON_ALLOW_NUL, &e);
	if (!root) {
		*jerr = json_error_code(&e);
		return HR_EUPSTREAM_BAD;
	}
	int rc = 0;
	json_t *choices = json_object_get(root, "choices"), *c;
	if (!json_is_array(choices)) {
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	ref_read_usage(json_object_get(root, "usage"), &res->usage);
	res->finish_reason = ref_finish_reason(a, choices);
	size_t i;
	json_array_foreach(choices, i, c) res->completion_bytes +=
	    ref_text_bytes(json_object_get(c, "message"));
out:
	json_decref(root);
	return rc;
}

static const char *ref_error_message(struct hr_arena *a, const json_t *root)
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
	return ref_dup_trunc(a, json_string_value(m), json_string_length(m), REF_MAX_MSG);
}

static int ref_decode_stream_event(struct hr_arena *a, const char *data, size_t len,
                                   struct hr_stream_ev *ev, int *jerr)
{
	memset(ev, 0, sizeof *ev);
	*jerr = -1;
	struct hr_str d = {data, len};
	while (d.len && (d.ptr[0] == ' ' || d.ptr[0] == '\t'))
		d.ptr++, d.len--;
	while (d.len && (d.ptr[d.len - 1] == ' ' || d.ptr[d.len - 1] == '\t' ||
	                 d.ptr[d.len - 1] == '\n' || d.ptr[d.len - 1] == '\r'))
		d.len--;
	if (hr_str_eq_cstr(d, "[DONE]")) {
		ev->type = HR_FWD_DONE;
		return 0;
	}
	json_error_t e;
	json_t *root = json_loadb(data, len, JSON_ALLOW_NUL, &e);
	if (!root) {
		*jerr = json_error_code(&e);
		return HR_EUPSTREAM_BAD;
	}
	int rc = 0;
	if (!json_is_object(root)) {
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	json_t *err = json_object_get(root, "error");
	if (err && !json_is_null(err)) {
		ev->type = HR_FWD_ERROR;
		ev->error_msg = ref_error_message(a, root);
		if (!ev->error_msg)
			ev->error_msg = "the provider reported an error in the stream";
		goto out;
	}
	ev->type = HR_FWD_CHUNK;
	json_t *choices = json_object_get(root, "choices"), *c;
	json_t *usage = json_object_get(root, "usage");
	if (choices && !json_is_array(choices) && !json_is_null(choices)) {
		rc = HR_EUPSTREAM_BAD;
		goto out;
	}
	ref_read_usage(usage, &ev->usage);
	ev->usage_only = json_is_array(choices) ? json_array_size(choices) == 0 : ev->usage.present;
	ev->finish_reason = ref_finish_reason(a, choices);
	size_t i;
	json_array_foreach(choices, i, c) ev->delta_bytes +=
	    ref_text_bytes(json_object_get(c, "delta"));
out:
	json_decref(root);
	return rc;
}

/* ---- (a) jscan against jansson ---- */

/* jansson errors that are intended differences: compare nothing for such inputs. */
static bool known_difference(int jerr)
{
	return jerr == json_error_numeric_overflow || jerr == json_error_null_byte_in_key ||
	       jerr == json_error_stack_overflow;
}

static bool same_text(const struct hr_jscan_tok *t, const char *p, size_t n)
{
	if (hr_jscan_str_len(t) != n)
		return false;
	char *buf = malloc(n + 1);
	CHECK(buf);
	size_t got = hr_jscan_str_copy(t, buf, n);
	bool same = got == n && (n == 0 || memcmp(buf, p, n) == 0);
	/* str_eq agrees with the copy (it cannot see past a NUL in the C string) */
	buf[n] = '\0';
	if (same && !memchr(p, '\0', n))
		CHECK(hr_jscan_str_eq(t, buf));
	free(buf);
	return same;
}

/* Compares the value that starts with *t (just read) against j and consumes all of it, also
 * on a mismatch. Returns whether they agree. Keys that occur more than once are looked up
 * as jansson keeps them (the last one), so an object with duplicates only has to agree
 * where it can. */
static bool cmp_value(struct hr_jscan *s, const struct hr_jscan_tok *t, const json_t *j)
{
	struct hr_jscan_tok u;
	int k;
	switch (t->kind) {
	case HR_JSCAN_OBJ_BEGIN: {
		if (!json_is_object(j)) {
			CHECK(hr_jscan_skip(s, t) == 0);
			return false;
		}
		bool ok = true;
		size_t keys = 0;
		while ((k = hr_jscan_next(s, &u)) == HR_JSCAN_KEY) {
			keys++;
			char *key = malloc(u.len + 1);
			CHECK(key);
			hr_jscan_str_copy(&u, key, u.len);
			json_t *v = json_object_getn(j, key, u.len);
			free(key);
			CHECK(hr_jscan_next(s, &u) > 0);
			if (!v) { /* only possible beside a duplicate in a parent */
				CHECK(hr_jscan_skip(s, &u) == 0);
				ok = false;
			} else if (!cmp_value(s, &u, v)) {
				ok = false;
			}
		}
		CHECK(k == HR_JSCAN_OBJ_END);
		if (keys < json_object_size(j))
			return false;
		return ok || keys > json_object_size(j); /* duplicates: earlier ones differ */
	}
	case HR_JSCAN_ARR_BEGIN: {
		if (!json_is_array(j)) {
			CHECK(hr_jscan_skip(s, t) == 0);
			return false;
		}
		bool ok = true;
		size_t i = 0;
		while ((k = hr_jscan_next(s, &u)) > 0 && k != HR_JSCAN_ARR_END) {
			json_t *v = json_array_get(j, i++);
			if (!v) {
				CHECK(hr_jscan_skip(s, &u) == 0);
				ok = false;
			} else if (!cmp_value(s, &u, v)) {
				ok = false;
			}
		}
		CHECK(k == HR_JSCAN_ARR_END);
		return ok && i == json_array_size(j);
	}
	case HR_JSCAN_STRING:
		return json_is_string(j) &&
		       same_text(t, json_string_value(j), json_string_length(j));
	case HR_JSCAN_NUMBER: {
		int64_t v;
		int rc = hr_jscan_int64(t, &v);
		if (t->flags & HR_JSCAN_F_INT) {
			CHECK(rc == 0 || rc == HR_ETOOBIG);
			return rc == 0 && json_is_integer(j) && json_integer_value(j) == v;
		}
		CHECK(rc == HR_EINVAL);
		if (!json_is_real(j))
			return false;
		char *num = malloc(t->raw.len + 1);
		CHECK(num);
		memcpy(num, t->raw.ptr, t->raw.len);
		num[t->raw.len] = '\0';
		double d = strtod(num, NULL);
		free(num);
		return d == json_real_value(j);
	}
	case HR_JSCAN_TRUE: return json_is_true(j);
	case HR_JSCAN_FALSE: return json_is_false(j);
	case HR_JSCAN_NULL: return json_is_null(j);
	default: return false;
	}
}

static void check_scanner(const char *p, size_t n)
{
	struct hr_jscan s;
	struct hr_jscan_tok t;
	int k;
	hr_jscan_init(&s, p, n, 0);
	while ((k = hr_jscan_next(&s, &t)) > 0) {
		/* slices borrow the input */
		CHECK(t.raw.len == 0 || (t.raw.ptr >= p && t.raw.ptr + t.raw.len <= p + n));
		CHECK(t.off <= n);
	}
	CHECK(k == 0 || k == HR_EINVAL);
	const char *what;
	size_t off = hr_jscan_error(&s, &what);
	CHECK(off <= n && what);
	bool depth_err = k && strstr(what, "nesting");

	json_error_t e;
	json_t *root = json_loadb(p, n, JSON_DECODE_ANY | JSON_ALLOW_NUL, &e);
	int jerr = root ? -1 : json_error_code(&e);
	if (!root && known_difference(jerr))
		return;
	if (depth_err) {
		json_decref(root);
		return;
	}
	if ((k == 0) != (root != NULL)) {
		fprintf(stderr, "fuzz_jscan: jscan %s (%s at %zu), jansson %s (%s)\n",
		        k ? "rejects" : "accepts", k ? what : "-", off,
		        root ? "accepts" : "rejects", root ? "-" : e.text);
		abort();
	}
	if (!root)
		return;
	/* the same tree, token by token */
	hr_jscan_init(&s, p, n, 0);
	CHECK(hr_jscan_next(&s, &t) > 0);
	if (!cmp_value(&s, &t, root)) {
		fprintf(stderr, "fuzz_jscan: jscan's tokens differ from jansson's tree\n");
		abort();
	}
	CHECK(hr_jscan_next(&s, &t) == HR_JSCAN_END);
	json_decref(root);
}

/* ---- (b) the decoders against the reference ---- */

static bool same_cstr(const char *a, const char *b)
{
	return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static bool same_usage(const struct hr_usage_counts *a, const struct hr_usage_counts *b)
{
	return a->present == b->present && a->prompt_tokens == b->prompt_tokens &&
	       a->completion_tokens == b->completion_tokens &&
	       a->cached_tokens == b->cached_tokens && a->reasoning_tokens == b->reasoning_tokens;
}

static void check_decoders(const char *p, size_t n)
{
	struct hr_arena *a = hr_arena_create(0);
	CHECK(a);
	const char *msg = NULL;
	int jerr;

	struct hr_chat_result res, ref;
	int rc = hr_openai_decode_summary(a, p, n, &res, &msg);
	CHECK(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	int ref_rc = ref_decode_chat(a, p, n, &ref, &jerr);
	if (!known_difference(jerr)) {
		if (rc != ref_rc) {
			fprintf(stderr, "fuzz_jscan: decode_chat %s (%s), reference %s\n",
			        hr_err_name(rc), msg ? msg : "-", hr_err_name(ref_rc));
			abort();
		}
		if (rc == 0) {
			CHECK(same_usage(&res.usage, &ref.usage));
			CHECK(same_cstr(res.finish_reason, ref.finish_reason));
			CHECK(res.completion_bytes == ref.completion_bytes);
		}
	}

	struct hr_stream_ev ev, rev;
	msg = NULL;
	rc = hr_openai_decode_stream_summary(a, p, n, &ev, &msg);
	CHECK(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	CHECK(rc != 0 || ev.type != HR_FWD_ERROR || ev.error_msg);
	ref_rc = ref_decode_stream_event(a, p, n, &rev, &jerr);
	if (!known_difference(jerr)) {
		if (rc != ref_rc) {
			fprintf(stderr, "fuzz_jscan: decode_stream_event %s (%s), reference %s\n",
			        hr_err_name(rc), msg ? msg : "-", hr_err_name(ref_rc));
			abort();
		}
		if (rc == 0) {
			CHECK(ev.type == rev.type);
			CHECK(ev.usage_only == rev.usage_only);
			CHECK(same_usage(&ev.usage, &rev.usage));
			CHECK(same_cstr(ev.finish_reason, rev.finish_reason));
			CHECK(ev.delta_bytes == rev.delta_bytes);
			CHECK(same_cstr(ev.error_msg, rev.error_msg));
		}
	}
	hr_arena_destroy(a);
}

/* jansson's NUL quirk: a NUL byte right after a number's or literal's last character. */
static bool nul_quirk(const char *p, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (p[i] == '\0' &&
		    ((p[i - 1] >= '0' && p[i - 1] <= '9') || (p[i - 1] >= 'a' && p[i - 1] <= 'z')))
			return true;
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data;
	if (nul_quirk(p, size)) { /* still run everything, for ASan and UBSan */
		struct hr_jscan s;
		struct hr_jscan_tok t;
		hr_jscan_init(&s, p, size, 0);
		while (hr_jscan_next(&s, &t) > 0)
			;
		struct hr_arena *a = hr_arena_create(0);
		const char *msg;
		struct hr_chat_result res;
		struct hr_stream_ev ev;
		hr_openai_decode_summary(a, p, size, &res, &msg);
		hr_openai_decode_stream_summary(a, p, size, &ev, &msg);
		hr_arena_destroy(a);
		return 0;
	}
	check_scanner(p, size);
	check_decoders(p, size);
	return 0;
}
