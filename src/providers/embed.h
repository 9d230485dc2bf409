/* embed.h - the canonical embeddings request and response (POST /v1/embeddings).
 * Ownership as in chat.h: slices and json_t pointers are borrowed from trees that live in the
 * request's arena. */
#ifndef HR_EMBED_H
#define HR_EMBED_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/str.h"
#include "providers/chat.h"

struct hr_embed_req {
	const char *model;     /* as asked; borrowed */
	struct hr_str *inputs; /* the texts, in order (arena array) */
	size_t n_inputs;
	bool tokens_input; /* the client sent token ids: only an openai provider takes them */
	long dimensions;   /* -1: the model's own */
	bool base64;       /* encoding_format "base64" (hearth encodes the floats itself) */
	struct hr_str user;
	json_t *extra;      /* fields hearth does not model; see hr_chat_req.extra */
	json_t *body;       /* the client's whole body, for an openai provider */
	size_t input_bytes; /* for token estimates */
};

struct hr_embed_resp {
	json_t **vectors; /* one JSON array of numbers per input, in input order (arena array
	                   * of pointers borrowed from the decoded answer's tree) */
	size_t n;
	struct hr_str model; /* the model the provider named; or empty */
	struct hr_usage_counts usage;
};

/* Parses and validates an OpenAI embeddings request body (outside input). Returns 0, or an
 * HR_E* code with *msg and *param as hr_chat_parse(). max_inputs caps the input list. */
int hr_embed_parse(struct hr_arena *a, const char *body, size_t len, size_t max_inputs,
                   size_t max_json_depth, struct hr_embed_req *out, const char **msg,
                   const char **param);

/* Renders res as OpenAI's embedding list ({"object": "list", "data": [...], "model",
 * "usage"}), each vector as numbers or, with base64, as base64 of little-endian float32s.
 * Returns 0, HR_ETOOBIG or HR_ENOMEM. */
int hr_embed_render(const struct hr_embed_resp *res, const char *model, bool base64,
                    struct hr_buf *out);

#endif
