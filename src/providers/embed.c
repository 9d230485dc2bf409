/* embed.c - parses and validates an OpenAI embeddings request (outside input), and renders
 * the canonical answer as OpenAI's embedding list. */
#include "providers/embed.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

static int fail(struct hr_arena *a, const char **msg, const char **param, int rc, const char *p,
                const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static int fail(struct hr_arena *a, const char **msg, const char **param, int rc, const char *p,
                const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*msg = hr_codec_msgv(a, rc, fmt, ap);
	va_end(ap);
	*param = p;
	return rc;
}

static const char *const known[] = {"model", "input", "encoding_format", "dimensions", "user"};

int hr_embed_parse(struct hr_arena *a, const char *body, size_t len, size_t max_inputs,
                   size_t max_json_depth, struct hr_embed_req *out, const char **msg,
                   const char **param)
{
	memset(out, 0, sizeof *out);
	out->dimensions = -1;
	*msg = NULL, *param = NULL;
	json_t *root;
	int lrc = hr_codec_load_request(a, body, len, max_json_depth,
	                                "{\"model\": ..., \"input\": \"...\"}", &root, msg);
	if (lrc < 0)
		return lrc;
	json_t *model = json_object_get(root, "model");
	if (!json_is_string(model) || !json_string_length(model))
		return fail(
		    a, msg, param, HR_EINVAL, "model",
		    "model is required: send \"model\": \"<name>\" (GET /v1/models lists the "
		    "names)");
	out->model = json_string_value(model);
	json_t *in = json_object_get(root, "input");
	size_t n = json_is_array(in) ? json_array_size(in) : 1;
	if (!in || (!json_is_string(in) && !json_is_array(in)) || n == 0)
		return fail(a, msg, param, HR_EINVAL, "input",
		            "input is required: send a string or an array of strings");
	if (n > max_inputs)
		return fail(a, msg, param, HR_ETOOMANY, "input",
		            "input has %zu items, more than the limit of %zu (limits.max_messages)",
		            n, max_inputs);
	out->inputs = hr_arena_calloc(a, n * sizeof *out->inputs);
	if (!out->inputs)
		return HR_ENOMEM;
	if (json_is_string(in)) {
		out->inputs[0] = hr_codec_str(in);
		out->n_inputs = 1;
	} else {
		size_t i;
		json_t *v;
		json_array_foreach(in, i, v)
		{
			if (json_is_string(v)) {
				out->inputs[out->n_inputs++] = hr_codec_str(v);
			} else if (json_is_integer(v) || json_is_array(v)) {
				/* token ids: forwarded only to an openai provider */
				out->tokens_input = true;
				if (json_is_array(v)) {
					size_t j;
					json_t *t;
					json_array_foreach(v, j, t) if (
					    !json_is_integer(
					        t)) return fail(a, msg, param, HR_EINVAL, "input",
					                        "input must be a string, an array "
					                        "of strings, or token ids");
					out->input_bytes += 4 * json_array_size(v);
				} else {
					out->input_bytes += 4;
				}
			} else {
				return fail(
				    a, msg, param, HR_EINVAL, "input",
				    "input must be a string, an array of strings, or token ids");
			}
		}
	}
	for (size_t i = 0; i < out->n_inputs; i++)
		out->input_bytes += out->inputs[i].len;
	json_t *ef = json_object_get(root, "encoding_format");
	if (ef && !json_is_null(ef)) {
		const char *f = json_string_value(ef);
		if (!f || (strcmp(f, "float") != 0 && strcmp(f, "base64") != 0))
			return fail(a, msg, param, HR_EINVAL, "encoding_format",
			            "encoding_format must be \"float\" or \"base64\"");
		out->base64 = strcmp(f, "base64") == 0;
	}
	json_t *dim = json_object_get(root, "dimensions");
	if (dim && !json_is_null(dim)) {
		if (!json_is_integer(dim) || json_integer_value(dim) < 1 ||
		    json_integer_value(dim) > 65536)
			return fail(a, msg, param, HR_EINVAL, "dimensions",
			            "dimensions must be a positive integer");
		out->dimensions = (long)json_integer_value(dim);
	}
	json_t *user = json_object_get(root, "user");
	if (user && !json_is_null(user) && !json_is_string(user))
		return fail(a, msg, param, HR_EINVAL, "user", "user must be a string");
	out->user = hr_codec_str(user);
	if (hr_codec_collect_extra(a, root, known, sizeof known / sizeof known[0], &out->extra) < 0)
		return HR_ENOMEM;
	out->body = root;
	return 0;
}

/* A vector as base64 of little-endian float32s, as OpenAI sends with encoding_format base64. */
static json_t *to_base64(const json_t *vec)
{
	size_t n = json_array_size(vec);
	unsigned char *bin = n ? calloc(n, 4) : NULL;
	if (n && !bin)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		float f = (float)json_number_value(json_array_get(vec, i));
		uint32_t u;
		memcpy(&u, &f, 4);
		for (int b = 0; b < 4; b++)
			bin[4 * i + (size_t)b] = (unsigned char)(u >> (8 * b));
	}
	size_t cap = sodium_base64_encoded_len(4 * n, sodium_base64_VARIANT_ORIGINAL);
	char *s = malloc(cap);
	json_t *j = NULL;
	if (s) {
		sodium_bin2base64(s, cap, bin ? bin : (const unsigned char *)"", 4 * n,
		                  sodium_base64_VARIANT_ORIGINAL);
		j = json_string(s);
	}
	free(s);
	free(bin);
	return j;
}

int hr_embed_render(const struct hr_embed_resp *res, const char *model, bool base64,
                    struct hr_buf *out)
{
	json_t *data = json_array();
	int rc = data ? 0 : HR_ENOMEM;
	for (size_t i = 0; i < res->n && !rc; i++) {
		json_t *emb = base64 ? to_base64(res->vectors[i]) : json_incref(res->vectors[i]);
		json_t *o = emb ? json_pack("{ss sI so}", "object", "embedding", "index",
		                            (json_int_t)i, "embedding", emb)
		                : NULL;
		rc = o && json_array_append_new(data, o) == 0 ? 0 : HR_ENOMEM;
	}
	json_t *doc = NULL;
	if (!rc) {
		doc =
		    json_pack("{ss sO ss s{sI sI}}", "object", "list", "data", data, "model", model,
		              "usage", "prompt_tokens", (json_int_t)res->usage.prompt_tokens,
		              "total_tokens", (json_int_t)res->usage.prompt_tokens);
		rc = doc ? hr_codec_dump(doc, out) : HR_ENOMEM;
	}
	json_decref(doc);
	json_decref(data);
	return rc;
}
