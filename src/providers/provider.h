/* provider.h - the codec of one wire format: turn a canonical request into an HTTP request,
 * and HTTP responses or stream events back into canonical results. Codecs do no I/O, so unit
 * tests and fuzzers drive them directly. One static table (registry.c) lists the kinds. */
#ifndef HR_PROVIDER_H
#define HR_PROVIDER_H

#include <stddef.h>

#include "core/buf.h"
#include "core/conf.h"
#include "providers/chat.h"

struct hr_arena;

/* The HTTP request a codec asks the transport to send. Strings are arena-owned. */
struct hr_http_out {
	const char *url;
	const char *headers[8]; /* "Name: value" lines, NULL-terminated */
	struct hr_buf body;     /* owned by the caller: hr_buf_release() */
};

struct hr_provider_ops {
	const char *kind; /* "openai" */
	/* Build the chat call for model m. Returns 0 or an HR_E* code with *msg. */
	int (*encode_chat)(struct hr_arena *a, const struct hr_conf_model *m,
			   const struct hr_chat_req *rq, struct hr_http_out *out, const char **msg);
	/* Decode a complete 2xx non-streaming body. Returns 0 or HR_EUPSTREAM_BAD with *msg. */
	int (*decode_chat)(struct hr_arena *a, const char *body, size_t len,
			   struct hr_chat_result *res, const char **msg);
	/* Decode one stream event's data payload (SSE "data:" field, without the prefix).
	 * Returns 0 or HR_EUPSTREAM_BAD with *msg. */
	int (*decode_stream_event)(struct hr_arena *a, const char *data, size_t len,
				   struct hr_stream_ev *ev, const char **msg);
	/* Map a non-2xx answer to an HR_E* code; *msg is the provider's own message when its
	 * body has one (arena-owned), else NULL. */
	int (*map_error)(struct hr_arena *a, long status, const char *body, size_t len,
			 const char **msg);
	/* Path of the listing endpoint used by `hearth doctor` and detection ("/models"). */
	const char *models_path;
};

/* Returns: the static ops for kind; NULL if no such kind. */
const struct hr_provider_ops *hr_provider_find(const char *kind);
/* The kinds, for messages: "openai". */
const char *hr_provider_kinds(void);

extern const struct hr_provider_ops hr_provider_openai;

#endif
