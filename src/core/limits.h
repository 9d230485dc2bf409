/* limits.h - every size or count that input can drive, with its config key and default.
 * The config loader (conf.c) reads the keys; docs/config.md documents them. */
#ifndef HR_LIMITS_H
#define HR_LIMITS_H

/* server.max_body_bytes: largest request body accepted (413 beyond) */
#define HR_DEF_MAX_BODY_BYTES (8u * 1024 * 1024)
/* server.max_header_bytes: largest request header block accepted */
#define HR_DEF_MAX_HEADER_BYTES (32u * 1024)
/* limits.max_messages: most messages in one chat request */
#define HR_DEF_MAX_MESSAGES 4096
/* limits.max_tools: most tools in one chat request */
#define HR_DEF_MAX_TOOLS 512
/* limits.max_json_depth: deepest nesting of a request's JSON */
#define HR_DEF_MAX_JSON_DEPTH 64
/* limits.max_stream_line_bytes: longest line of a provider's event stream */
#define HR_DEF_MAX_STREAM_LINE_BYTES (4u * 1024 * 1024)
/* limits.max_response_bytes: largest non-streaming provider answer */
#define HR_DEF_MAX_RESPONSE_BYTES (64u * 1024 * 1024)
/* limits.request_memory_bytes: cap on one request's arena */
#define HR_DEF_REQUEST_MEMORY_BYTES (256u * 1024 * 1024)

/* Unsent bytes to one streaming client above which hearth stops reading from the provider
 * until the client has caught up (back-pressure; not configurable). */
#define HR_STREAM_HIGH_WATER (256u * 1024)

/* max_tokens sent to providers whose format requires one (Anthropic) when the client gave
 * none (not configurable). */
#define HR_DEFAULT_MAX_TOKENS 4096

/* Not configurable: structural caps of the config itself. */
/* Longest wait before retrying the same candidate (a longer Retry-After: the next one). */
#define HR_RETRY_MAX_WAIT_MS 5000

#define HR_NAME_MAX 128 /* bytes of a provider, model or task name (conf.c checks it) */
#define HR_MAX_PROVIDERS  256
#define HR_MAX_MODELS     4096
#define HR_MAX_API_KEYS   1024
#define HR_MAX_CONF_BYTES (4u * 1024 * 1024)

/* The learned router's inputs (not configurable; outside data, so capped):
 * an outcome file, one of its lines, its rows, the models of one set, and a model file. */
#define HR_LEARN_MAX_FILE_BYTES  (1024u * 1024 * 1024)
#define HR_LEARN_MAX_LINE_BYTES  (1024u * 1024)
#define HR_LEARN_MAX_ROWS        2000000
#define HR_LEARN_MAX_MODELS      64
#define HR_LEARN_MAX_MODEL_BYTES (256u * 1024 * 1024)

#endif
