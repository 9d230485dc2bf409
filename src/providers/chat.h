/* chat.h - the canonical chat request, response summary and stream event that the API
 * layer and every provider codec share. For now the request keeps the client's JSON body
 * (validated) and the codecs re-encode it; issue 3 deepens messages into typed parts.
 * Pure code: no I/O, no clock. */
#ifndef HR_CHAT_H
#define HR_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct hr_arena;

struct hr_chat_limits {
	size_t max_messages, max_tools, max_json_depth;
};

struct hr_chat_req {
	const char *model;   /* as asked; borrowed from body */
	bool stream;         /* "stream": true */
	bool include_usage;  /* the client asked for stream_options.include_usage */
	long max_tokens;     /* max_completion_tokens or max_tokens; -1 when absent */
	size_t n_messages;
	size_t prompt_bytes; /* bytes of text in the messages and tools, for token estimates */
	json_t *body;        /* the whole request object; its lifetime is the arena's */
};

/* Parses and validates an OpenAI chat-completions request body (outside input).
 * Returns 0, or HR_EBADJSON / HR_EINVAL / HR_EUNSUPPORTED / HR_ETOOMANY / HR_ENOMEM with
 * *msg (static or arena-owned: what is wrong and what to send instead) and *param (the
 * offending field, e.g. "messages[3].role", or NULL). body needs no NUL terminator. */
int hr_chat_parse(struct hr_arena *a, const char *body, size_t len,
		  const struct hr_chat_limits *lim, struct hr_chat_req *out, const char **msg,
		  const char **param);

struct hr_usage_counts {
	int64_t prompt_tokens, completion_tokens;
	int64_t cached_tokens, reasoning_tokens; /* 0 when not given */
	bool present;                            /* the provider reported usage */
};

/* What a non-streaming answer contained, for the usage record. */
struct hr_chat_result {
	struct hr_usage_counts usage;
	const char *finish_reason; /* arena-owned, or NULL */
	size_t completion_bytes;   /* text bytes in the answer, for estimates */
};

enum hr_stream_ev_type {
	HR_SEV_CHUNK, /* a chat.completion.chunk to forward */
	HR_SEV_DONE,  /* "data: [DONE]" */
	HR_SEV_ERROR, /* the provider reported an error inside the stream */
};

struct hr_stream_ev {
	enum hr_stream_ev_type type;
	bool usage_only;           /* a chunk with "choices": [] carrying only usage */
	struct hr_usage_counts usage;
	const char *finish_reason; /* arena-owned or NULL; set on the final chunk */
	size_t delta_bytes;        /* text bytes in this chunk's deltas */
	const char *error_msg;     /* HR_SEV_ERROR: the provider's message, arena-owned */
};

/* Rough token count for text of n bytes when a provider gives none (about 4 bytes each). */
static inline int64_t hr_tokens_estimate(size_t n)
{
	return (int64_t)((n + 3) / 4);
}

#endif
