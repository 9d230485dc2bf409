/* chat.h - the canonical chat model that every inbound dialect and every provider codec maps
 * to and from: a request (messages of typed parts, tools, tool choice, response format,
 * sampling), a response, and stream events. Pure data: no I/O, no clock.
 *
 * Ownership: everything hangs off the request's arena. Strings are hr_str slices borrowed
 * from the parsed client body or the decoded provider answer (both live as long as the
 * arena); json_t pointers (tool parameters, schemas) are borrowed likewise and must not be
 * modified: encoders that need a changed copy make one.
 *
 * Translation rule: a field a target cannot represent is an explicit error naming the field
 * and the provider kind (HR_EUNSUPPORTED with *param), never silently dropped. */
#ifndef HR_CHAT_H
#define HR_CHAT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/str.h"

struct hr_arena;

/* The API a client spoke to hearth. */
enum hr_dialect {
	HR_DIALECT_OPENAI,    /* POST /v1/chat/completions */
	HR_DIALECT_ANTHROPIC, /* POST /v1/messages */
};

enum hr_role {
	HR_ROLE_SYSTEM, /* system and developer instructions */
	HR_ROLE_USER,
	HR_ROLE_ASSISTANT,
	HR_ROLE_TOOL, /* results of tool calls: parts are HR_PART_TOOL_RESULT */
};

enum hr_part_type {
	HR_PART_TEXT,
	HR_PART_IMAGE,
	HR_PART_TOOL_CALL,   /* in assistant messages and responses */
	HR_PART_TOOL_RESULT, /* in tool messages */
};

struct hr_part {
	enum hr_part_type type;
	struct hr_str text;       /* TEXT: the text; TOOL_RESULT: the result as text */
	struct hr_str url;        /* IMAGE: an http(s) URL; empty when data is set */
	struct hr_str media_type; /* IMAGE with data: "image/png", "image/jpeg", ... */
	struct hr_str data;       /* IMAGE: base64 bytes, not decoded; or empty */
	struct hr_str detail;     /* IMAGE: OpenAI's "low" / "high" / "auto"; or empty */
	struct hr_str id;         /* TOOL_CALL: the call's id; TOOL_RESULT: the call it answers */
	struct hr_str name;       /* TOOL_CALL: the function; TOOL_RESULT: the function if known */
	struct hr_str arguments;  /* TOOL_CALL: the arguments, a JSON object as text */
	bool is_error;            /* TOOL_RESULT: the tool failed */
};

struct hr_msg {
	enum hr_role role;
	struct hr_part *parts; /* arena array */
	size_t n_parts;
	struct hr_str name; /* OpenAI's optional participant name; or empty */
};

struct hr_tool {
	struct hr_str name, description;
	json_t *parameters; /* a JSON Schema object, borrowed; NULL: no parameters */
	bool strict;        /* OpenAI structured outputs for the arguments */
};

enum hr_tool_choice {
	HR_TC_UNSET, /* the provider's default (auto when tools are given) */
	HR_TC_AUTO,
	HR_TC_NONE,
	HR_TC_REQUIRED, /* some tool must be called (Anthropic "any", Gemini ANY) */
	HR_TC_NAMED,    /* tool_choice_name must be called */
};

enum hr_format {
	HR_FMT_UNSET,
	HR_FMT_TEXT,
	HR_FMT_JSON_OBJECT, /* any JSON object */
	HR_FMT_JSON_SCHEMA, /* schema_name + schema (+ schema_strict) */
};

#define HR_CHAT_MAX_STOP 16 /* stop sequences kept; more is a 400 */

struct hr_chat_limits {
	size_t max_messages, max_tools, max_json_depth;
};

struct hr_chat_req {
	enum hr_dialect dialect;
	const char *model; /* as asked; borrowed from body */
	bool stream;
	bool include_usage; /* OpenAI clients: stream_options.include_usage */

	struct hr_msg *msgs; /* system messages first or anywhere, as the client sent them */
	size_t n_msgs;
	struct hr_tool *tools;
	size_t n_tools;
	enum hr_tool_choice tool_choice;
	struct hr_str tool_choice_name; /* HR_TC_NAMED */
	int parallel_tool_calls;        /* -1 unset, 0 no, 1 yes */

	enum hr_format format;
	struct hr_str schema_name;
	json_t *schema; /* borrowed JSON Schema object for HR_FMT_JSON_SCHEMA */
	bool schema_strict;

	bool has_temperature, has_top_p, has_seed;
	bool has_presence_penalty, has_frequency_penalty;
	double temperature, top_p, presence_penalty, frequency_penalty;
	int64_t seed;
	long top_k;      /* -1: unset (Anthropic, Gemini and Ollama have it; OpenAI has not) */
	long max_tokens; /* max_completion_tokens / max_tokens; -1: unset */
	struct hr_str stop[HR_CHAT_MAX_STOP];
	size_t n_stop;
	struct hr_str user; /* end-user id for abuse tracking; or empty */

	/* Top-level fields of the client's body that the canonical model does not hold, as
	 * a JSON object (borrowed; NULL when none). A codec of the client's own wire format
	 * passes them on; any other codec refuses the request naming the first one. */
	json_t *extra;
	/* The request is a copy whose body and raw are dropped (the data policy's redaction):
	 * the codec of the client's own format puts extra into the body it encodes from the
	 * canonical fields instead of refusing it (unmapped is still refused). */
	bool extra_in_canon;
	/* The first nested part of the body the canonical model does not hold (an audio
	 * content part, a legacy "function" message...), as a field path; NULL when none.
	 * Refused like extra. */
	const char *unmapped;
	/* The client's whole body (borrowed): a provider that speaks the client's dialect
	 * forwards it with only the model replaced, so nothing is lost in translation. */
	json_t *body;
	/* The client's bytes (borrowed; they live as long as the request): a provider of the
	 * client's own format gets them with only the model's value spliced, when nothing else
	 * must change. */
	struct hr_str raw;

	size_t n_messages;   /* messages as the client counted them (for limits and logs) */
	size_t prompt_bytes; /* bytes of text in messages and tools, for token estimates */
};

/* Parses and validates an OpenAI chat-completions request body (outside input) into the
 * canonical request. Returns 0, or HR_EBADJSON / HR_EINVAL / HR_EUNSUPPORTED /
 * HR_ETOOMANY / HR_ENOMEM with *msg (static or arena-owned: what is wrong and what to send
 * instead) and *param (the offending field, e.g. "messages[3].role", or NULL). body needs no
 * NUL terminator. */
int hr_chat_parse(struct hr_arena *a, const char *body, size_t len,
                  const struct hr_chat_limits *lim, struct hr_chat_req *out, const char **msg,
                  const char **param);

/* The same for an Anthropic Messages request (POST /v1/messages). */
int hr_chat_parse_anthropic(struct hr_arena *a, const char *body, size_t len,
                            const struct hr_chat_limits *lim, struct hr_chat_req *out,
                            const char **msg, const char **param);

/* The name of the function whose call has id, searched in the assistant messages of rq;
 * an empty slice when no call has that id. For formats that answer tools by name. */
struct hr_str hr_chat_tool_name(const struct hr_chat_req *rq, struct hr_str id);

/* ---- results ---- */

struct hr_usage_counts {
	int64_t prompt_tokens, completion_tokens;
	int64_t cached_tokens;         /* prompt tokens read from a cache; 0 when not given */
	int64_t cache_creation_tokens; /* prompt tokens written to a cache (Anthropic) */
	int64_t reasoning_tokens;      /* completion tokens spent thinking; 0 when not given */
	bool present;                  /* the provider reported usage */
};

enum hr_finish {
	HR_FIN_NONE, /* not (yet) known */
	HR_FIN_STOP, /* natural end or a stop sequence */
	HR_FIN_LENGTH,
	HR_FIN_TOOL_CALLS,
	HR_FIN_CONTENT_FILTER,
};

/* "stop", "length", "tool_calls", "content_filter"; NULL for HR_FIN_NONE. */
const char *hr_finish_name(enum hr_finish f);

/* A complete (non-streaming) answer. */
struct hr_chat_resp {
	struct hr_str id;      /* the provider's id; or empty */
	struct hr_str model;   /* the model that answered, as the provider named it */
	struct hr_part *parts; /* TEXT and TOOL_CALL parts, in order */
	size_t n_parts;
	struct hr_str refusal; /* OpenAI's refusal text; or empty */
	enum hr_finish finish;
	struct hr_str stop_sequence; /* the stop sequence that ended it, when the provider says */
	struct hr_usage_counts usage;
	const char *finish_reason; /* the provider's own word, arena-owned, for the record */
	size_t completion_bytes;   /* text bytes in the answer, for estimates */
};

/* The historical name: the summary of an answer the pass-through path records. */
#define hr_chat_result hr_chat_resp

/* ---- streams ----
 * A provider's stream decodes into canonical events; one provider event may give several
 * (an OpenAI chunk with text, a finish reason and usage gives three). Tool calls are
 * numbered by index (0, 1, ...) in the order they start; their arguments arrive as pieces
 * of JSON text that concatenate to the arguments object. */
enum hr_sev_type {
	HR_SEV_START,      /* id and model of the answer, when the provider says (optional) */
	HR_SEV_TEXT,       /* text: a piece of the answer */
	HR_SEV_TOOL_START, /* index, id, name: a tool call begins */
	HR_SEV_TOOL_ARGS,  /* index, text: a piece of its arguments */
	HR_SEV_FINISH,     /* finish (+ stop_sequence): the answer is complete */
	HR_SEV_USAGE,      /* usage: counts so far; later events replace fields they carry */
	HR_SEV_DONE,       /* the provider ended the stream normally */
	HR_SEV_ERROR,      /* the provider reported an error inside the stream: err, text */
};

struct hr_sev {
	enum hr_sev_type type;
	size_t index;       /* TOOL_START, TOOL_ARGS */
	struct hr_str text; /* TEXT, TOOL_ARGS; ERROR: the provider's message */
	struct hr_str id;   /* START, TOOL_START */
	struct hr_str name; /* START: model; TOOL_START: function name */
	enum hr_finish finish;
	struct hr_str stop_sequence;
	const char *finish_reason; /* FINISH: the provider's own word (arena-owned) */
	struct hr_usage_counts usage;
	int err; /* ERROR: an HR_E* code (HR_EUPSTREAM, HR_EUNAVAIL, ...) */
};

/* A growable arena array of events, emptied by the caller between provider events. */
struct hr_sev_list {
	struct hr_sev *v;
	size_t n, cap;
};

/* Appends a zeroed event of type t; returns it, or NULL when the arena is full. */
struct hr_sev *hr_sev_push(struct hr_arena *a, struct hr_sev_list *l, enum hr_sev_type t);

/* The pass-through path's summary of one OpenAI stream event (the chunk is forwarded as
 * the provider sent it). */
enum hr_stream_ev_type {
	HR_FWD_CHUNK, /* a chat.completion.chunk to forward */
	HR_FWD_DONE,  /* "data: [DONE]" */
	HR_FWD_ERROR, /* the provider reported an error inside the stream */
};

struct hr_stream_ev {
	enum hr_stream_ev_type type;
	bool usage_only; /* a chunk with "choices": [] carrying only usage */
	struct hr_usage_counts usage;
	const char *finish_reason; /* arena-owned or NULL; set on the final chunk */
	size_t delta_bytes;        /* text bytes in this chunk's deltas */
	const char *error_msg;     /* HR_FWD_ERROR: the provider's message, arena-owned */
};

/* Rough token count for text of n bytes when a provider gives none (about 4 bytes each). */
static inline int64_t hr_tokens_estimate(size_t n)
{
	return (int64_t)((n + 3) / 4);
}

#endif
