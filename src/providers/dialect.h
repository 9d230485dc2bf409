/* dialect.h - the client side of a wire format: renders canonical answers, stream events and
 * errors the way an OpenAI or an Anthropic client expects them. Pure: no I/O, no clock (the
 * caller passes the creation time). Output is appended to capped buffers owned by the caller;
 * every function returns 0, HR_ETOOBIG or HR_ENOMEM. */
#ifndef HR_DIALECT_H
#define HR_DIALECT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"
#include "providers/chat.h"

struct hr_arena;

/* The state of one translated stream. */
struct hr_render {
	enum hr_dialect dialect;
	const char *id;     /* the answer's id as the client sees it (borrowed) */
	const char *model;  /* the model name shown to the client (borrowed) */
	int64_t created;    /* unix seconds */
	bool include_usage; /* OpenAI: the client asked for the usage chunk */
	bool started;       /* the opening event is written */
	bool ended;         /* the closing events are written */
	/* Anthropic: the content block open now (-1: none), its kind and its tool index */
	long open_block;
	int open_kind; /* 0 none, 1 text, 2 tool_use */
	size_t open_tool, next_block;
	size_t n_tools;
	enum hr_finish finish;
	struct hr_str stop_sequence;
	struct hr_usage_counts usage; /* merged from USAGE events */
};

void hr_render_init(struct hr_render *r, enum hr_dialect d, const char *id, const char *model,
                    int64_t created, bool include_usage);

/* Appends what the client must see for ev (zero or more SSE events) to out. START, DONE and
 * ERROR are handled by the caller (hr_render_end, hr_render_stream_error). */
int hr_render_event(struct hr_arena *a, struct hr_render *r, const struct hr_sev *ev,
                    struct hr_buf *out);

/* Closes a complete stream: OpenAI: the usage chunk when asked for; Anthropic: closes the
 * open block, then message_delta (stop reason, usage) and message_stop. The caller adds its
 * own trailer (the cost comment, OpenAI's [DONE]). */
int hr_render_end(struct hr_arena *a, struct hr_render *r, struct hr_buf *out);

/* A complete answer: an OpenAI chat.completion or an Anthropic message. */
int hr_render_resp(struct hr_arena *a, enum hr_dialect d, const struct hr_chat_resp *res,
                   const char *id, const char *model, int64_t created, struct hr_buf *out);

/* An error body in the dialect's shape (OpenAI {"error": {message, type, code, param}};
 * Anthropic {"type": "error", "error": {type, message}}), and its HTTP status. */
int hr_render_error(enum hr_dialect d, int err, const char *msg, const char *param,
                    struct hr_buf *out);
int hr_render_error_status(enum hr_dialect d, int err);

/* An error inside a started stream, as an SSE event the client's SDK raises. */
int hr_render_stream_error(enum hr_dialect d, int err, const char *msg, struct hr_buf *out);

#endif
