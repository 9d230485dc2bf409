/* provider.h - the codec of one provider wire format: turn a canonical request into an HTTP
 * request, and HTTP responses or stream events back into canonical results. Codecs do no
 * I/O, so unit tests and fuzzers drive them directly. One static table (registry.c) lists
 * the kinds.
 *
 * Every function takes the request's arena: what it returns (strings, arrays, json_t trees
 * it decoded) lives there. Messages (*msg) are static or arena-owned, plain sentences that
 * say what is wrong and, where a client can fix it, what to do. */
#ifndef HR_PROVIDER_H
#define HR_PROVIDER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/conf.h"
#include "providers/chat.h"
#include "providers/embed.h"

struct hr_arena;

/* The HTTP request a codec asks the transport to send. Strings are arena-owned. */
struct hr_http_out {
	const char *url;
	const char *headers[8]; /* "Name: value" lines, NULL-terminated */
	struct hr_buf body;     /* owned by the caller: hr_buf_release() */
};

/* How a provider frames a streamed answer. */
enum hr_framing {
	HR_FRAME_SSE,    /* text/event-stream: the transport passes each event's name and data */
	HR_FRAME_NDJSON, /* one JSON object per line: the transport passes each line as data */
};

/* Per-stream decoder state: zeroed before the first event; a codec keeps what it needs
 * across events (open content blocks, tool-call numbering) in priv (arena-owned). */
struct hr_stream_dec {
	void *priv;
	size_t n_tools; /* tool calls started so far */
	bool finished;  /* a FINISH event was given */
};

struct hr_provider_ops {
	const char *kind; /* "openai", "anthropic", "gemini", "ollama", "llamacpp" */
	enum hr_framing framing;

	/* Build the chat call to model m (m->provider is its provider; m->upstream the model
	 * id there). rq->stream says whether to ask for a stream (and, where the format has
	 * it, for usage in the stream). Returns 0, or HR_EUNSUPPORTED / HR_EINVAL with *msg
	 * and *param (the client's field that this provider cannot represent, e.g.
	 * "logprobs" or "messages[2].content[0]"), or HR_ENOMEM / HR_ETOOBIG / HR_EINTERNAL. */
	int (*encode_chat)(struct hr_arena *a, const struct hr_conf_model *m,
	                   const struct hr_chat_req *rq, struct hr_http_out *out, const char **msg,
	                   const char **param);

	/* Decode a complete 2xx non-streaming answer. Returns 0, or HR_EUPSTREAM_BAD with
	 * *msg, or another HR_E* code when the 2xx answer carries a refusal the client must
	 * see as an error (a Gemini prompt blocked for safety: HR_EINVAL). */
	int (*decode_chat)(struct hr_arena *a, const char *body, size_t len,
	                   struct hr_chat_resp *res, const char **msg);

	/* Decode one stream event into canonical events appended to out. event is the SSE
	 * event name (NULL when absent, and always NULL for NDJSON); data[0..len) is the
	 * event's data or the NDJSON line (no NUL terminator). Returns 0, or HR_EUPSTREAM_BAD
	 * with *msg. A provider's in-stream error is not a failure of the decoder: it is an
	 * HR_SEV_ERROR event. */
	int (*decode_stream)(struct hr_arena *a, struct hr_stream_dec *st, const char *event,
	                     const char *data, size_t len, struct hr_sev_list *out,
	                     const char **msg);

	/* Map a non-2xx answer to an HR_E* code; *msg is the provider's own message when its
	 * body has one (arena-owned), else NULL. */
	int (*map_error)(struct hr_arena *a, long status, const char *body, size_t len,
	                 const char **msg);

	/* Embeddings; NULL when the format has none. Same conventions as the chat calls. */
	int (*encode_embed)(struct hr_arena *a, const struct hr_conf_model *m,
	                    const struct hr_embed_req *rq, struct hr_http_out *out,
	                    const char **msg, const char **param);
	int (*decode_embed)(struct hr_arena *a, const char *body, size_t len,
	                    struct hr_embed_resp *res, const char **msg);

	/* Model listing, for `hearth doctor`, detection and import: the path under the
	 * provider's base_url, and a decoder of its answer into model ids (arena array). */
	const char *models_path;
	int (*decode_models)(struct hr_arena *a, const char *body, size_t len, struct hr_str **ids,
	                     size_t *n, const char **msg);
};

/* Returns: the static ops for kind; NULL if no such kind. */
const struct hr_provider_ops *hr_provider_find(const char *kind);
/* The kinds, for messages: "openai, anthropic, gemini, ollama". */
const char *hr_provider_kinds(void);

extern const struct hr_provider_ops hr_provider_openai;
extern const struct hr_provider_ops hr_provider_anthropic;
extern const struct hr_provider_ops hr_provider_gemini;
extern const struct hr_provider_ops hr_provider_ollama;
extern const struct hr_provider_ops hr_provider_llamacpp; /* the embedded engine */

/* The headers of a plain GET to a provider (its model listing): the credential in the form
 * its kind expects (Authorization: Bearer, x-api-key + anthropic-version, x-goog-api-key).
 * headers has room for 8 and ends with NULL. Returns 0 or HR_ENOMEM. */
int hr_provider_list_headers(struct hr_arena *a, const struct hr_conf_provider *p,
                             const char *headers[8]);

/* ---- shared helpers for codecs (codec.c) ---- */

/* Appends the canonical request's "extra" check: HR_EUNSUPPORTED naming the first field of
 * rq->extra, for a codec that is not of the client's dialect. Returns 0 when none. */
int hr_codec_refuse_extra(struct hr_arena *a, const struct hr_chat_req *rq, const char *kind,
                          const char **msg, const char **param);
/* Whether rq->extra goes into the body a codec of kind encodes (rq->extra_in_canon and kind
 * is the client's own format): the codec then adds its members the body lacks. */
bool hr_codec_extra_goes(const struct hr_chat_req *rq, const char *kind);

/* ---- helpers of the request parsers (codec.c) ---- */

/* Parses a client's request body (outside input): a JSON object, duplicate keys refused,
 * nested at most max_depth levels. Returns 0 with *root (owned by the arena), or
 * HR_EBADJSON / HR_EINVAL / HR_ENOMEM with *msg (arena-owned; example completes "the request
 * body must be a JSON object such as ..."). */
int hr_codec_load_request(struct hr_arena *a, const char *body, size_t len, size_t max_depth,
                          const char *example, json_t **root, const char **msg);

/* Whether j nests at most max levels (objects and arrays; a scalar is level 0, the root
 * object level 1). Recursion stops as soon as it passes max. */
bool hr_json_depth_ok(const json_t *j, size_t max);

/* printf into the arena, with every byte outside printable ASCII replaced by '?' (jansson
 * quotes input bytes in its messages; ours never carry raw input). Falls back to the error
 * table's message for rc when the arena is full. */
const char *hr_codec_msgv(struct hr_arena *a, int rc, const char *fmt, va_list ap);

/* The members of root whose names are not among known[0..n), as a new object (arena-owned)
 * in *extra; *extra stays NULL when there are none. Returns 0 or HR_ENOMEM. */
int hr_codec_collect_extra(struct hr_arena *a, json_t *root, const char *const *known, size_t n,
                           json_t **extra);

/* The same for any request's extra fields (embeddings): HR_EUNSUPPORTED naming the first
 * member of extra (may be NULL), or 0. */
int hr_codec_refuse_fields(struct hr_arena *a, const json_t *extra, const char *kind,
                           const char **msg, const char **param);

/* Serializes j compactly into out (capped buffer). Returns 0, HR_ETOOBIG or HR_ENOMEM. */
int hr_codec_dump(const json_t *j, struct hr_buf *out);

/* Parses a provider body (outside input) into a tree owned by the arena. Returns NULL and
 * *msg ("<what> is not JSON: ...") when it is not JSON. */
json_t *hr_codec_load(struct hr_arena *a, const char *body, size_t len, const char *what,
                      const char **msg);

/* A json string as a slice (borrowed from j); empty for a non-string. */
struct hr_str hr_codec_str(const json_t *j);

/* json_stringn of a slice; NULL on OOM. */
json_t *hr_codec_jstr(struct hr_str s);

/* Copies at most max bytes of s into the arena without splitting a UTF-8 sequence. */
const char *hr_codec_trunc(struct hr_arena *a, const char *s, size_t n, size_t max);

/* The OpenAI pass-through path: summaries of an OpenAI answer and stream event without
 * building a tree (jscan), for forwarding the provider's bytes unchanged. */
int hr_openai_decode_summary(struct hr_arena *a, const char *body, size_t len,
                             struct hr_chat_resp *res, const char **msg);
int hr_openai_decode_stream_summary(struct hr_arena *a, const char *data, size_t len,
                                    struct hr_stream_ev *ev, const char **msg);

#endif
