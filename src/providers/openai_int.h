/* openai_int.h - what the two halves of the OpenAI codec share: openai.c (the pass-through of
 * an OpenAI client's body, the jscan summaries, errors) and openai_canon.c (translation). */
#ifndef HR_OPENAI_INT_H
#define HR_OPENAI_INT_H

#include <stdbool.h>

#include "providers/provider.h"

/* Longest provider message passed on to clients, and longest finish_reason kept. */
#define OPENAI_MAX_MSG    500
#define OPENAI_MAX_FINISH 64

/* Sets out->url to the provider's base_url + path and out->headers: JSON, the bearer key
 * when the provider has one (local servers have none), and SSE when stream. Returns 0, or
 * HR_EINTERNAL / HR_ENOMEM with *msg. */
int hr_openai_head(struct hr_arena *a, const struct hr_conf_model *m, const char *path, bool stream,
                   struct hr_http_out *out, const char **msg);

/* The provider's own words from an error body: {"error": {"message": ...}}, {"error":
 * "text"} (Ollama) or {"message": ...} (vLLM). Returns: arena-owned, cut at
 * OPENAI_MAX_MSG bytes; NULL when there are none. */
const char *hr_openai_error_text(struct hr_arena *a, const json_t *root);

/* The canonical half (openai_canon.c), with the conventions of struct hr_provider_ops. */
int hr_openai_canon_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                                const struct hr_chat_req *rq, struct hr_http_out *out,
                                const char **msg, const char **param);
int hr_openai_decode_chat(struct hr_arena *a, const char *body, size_t len,
                          struct hr_chat_resp *res, const char **msg);
int hr_openai_decode_stream(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
                            const char *data, size_t len, struct hr_sev_list *out,
                            const char **msg);
int hr_openai_encode_embed(struct hr_arena *a, const struct hr_conf_model *m,
                           const struct hr_embed_req *rq, struct hr_http_out *out, const char **msg,
                           const char **param);
int hr_openai_decode_embed(struct hr_arena *a, const char *body, size_t len,
                           struct hr_embed_resp *res, const char **msg);
int hr_openai_decode_models(struct hr_arena *a, const char *body, size_t len, struct hr_str **ids,
                            size_t *n, const char **msg);

#endif
