/* err.h - the one error table: code, HTTP status, OpenAI error type, OpenAI error code,
 * default message. Functions return 0 (HR_OK) or a negative HR_E* code from this table. */
#ifndef HR_ERR_H
#define HR_ERR_H

/* XX(name, HTTP status, Anthropic error "type", OpenAI "type", OpenAI "code", default message)
 * The Anthropic dialect answers with the same status except HR_EOVERLOADED (529). */
#define HR_ERR_MAP(XX)                                                                             \
	XX(NOMEM, 500, "api_error", "server_error", "out_of_memory",                               \
	   "the server ran out of memory")                                                         \
	XX(INTERNAL, 500, "api_error", "server_error", "internal_error", "internal error")         \
	XX(IO, 500, "api_error", "server_error", "storage_error", "storage error")                 \
	XX(CONF, 500, "api_error", "server_error", "config_error", "configuration error")          \
	XX(BADJSON, 400, "invalid_request_error", "invalid_request_error", "invalid_json",         \
	   "request body is not valid JSON")                                                       \
	XX(INVAL, 400, "invalid_request_error", "invalid_request_error", "invalid_request",        \
	   "invalid request")                                                                      \
	XX(UNSUPPORTED, 400, "invalid_request_error", "invalid_request_error",                     \
	   "unsupported_parameter", "parameter not supported")                                     \
	XX(TOOMANY, 400, "invalid_request_error", "invalid_request_error", "too_many_items",       \
	   "request has more items than allowed")                                                  \
	XX(TOOBIG, 413, "request_too_large", "invalid_request_error", "request_too_large",         \
	   "request exceeds the size limit")                                                       \
	XX(AUTH, 401, "authentication_error", "authentication_error", "invalid_api_key",           \
	   "missing or invalid API key; send 'Authorization: Bearer <key>'")                       \
	XX(FORBIDDEN, 403, "permission_error", "permission_error", "forbidden", "not allowed")     \
	XX(NOTFOUND, 404, "not_found_error", "invalid_request_error", "not_found",                 \
	   "no such endpoint")                                                                     \
	XX(NOMODEL, 404, "not_found_error", "invalid_request_error", "model_not_found",            \
	   "model not found")                                                                      \
	XX(METHOD, 405, "invalid_request_error", "invalid_request_error", "method_not_allowed",    \
	   "method not allowed")                                                                   \
	XX(CANCELED, 499, "api_error", "api_error", "client_closed",                               \
	   "the client closed the connection")                                                     \
	XX(RATELIMIT, 429, "rate_limit_error", "rate_limit_error", "rate_limit_exceeded",          \
	   "the provider is rate limiting requests; retry later")                                  \
	XX(UPSTREAM, 502, "api_error", "api_error", "upstream_error",                              \
	   "the provider returned an error")                                                       \
	XX(UPSTREAM_AUTH, 502, "api_error", "api_error", "upstream_auth_failed",                   \
	   "the provider rejected hearth's credentials; check the provider's api_key")             \
	XX(UPSTREAM_BAD, 502, "api_error", "api_error", "upstream_bad_response",                   \
	   "the provider's answer could not be decoded")                                           \
	XX(UPSTREAM_TOOBIG, 502, "api_error", "api_error", "upstream_response_too_large",          \
	   "the provider's answer exceeds limits.max_response_bytes")                              \
	XX(CONNECT, 502, "api_error", "api_error", "upstream_unreachable",                         \
	   "could not connect to the provider")                                                    \
	XX(STREAM_CUT, 502, "api_error", "api_error", "upstream_stream_broken",                    \
	   "the provider's stream ended before the answer was complete")                           \
	XX(TIMEOUT, 504, "api_error", "api_error", "upstream_timeout",                             \
	   "the provider did not answer in time")                                                  \
	XX(UPSTREAM_NOTFOUND, 502, "api_error", "api_error", "upstream_model_not_found",           \
	   "the provider does not know this model; check the model's upstream name")               \
	XX(OVERLOADED, 503, "overloaded_error", "server_error", "upstream_overloaded",             \
	   "the provider is overloaded; retry later")                                              \
	XX(UNAVAIL, 503, "api_error", "api_error", "unavailable",                                  \
	   "the server is not ready or is shutting down")                                          \
	XX(POLICY, 400, "invalid_request_error", "invalid_request_error", "data_policy_blocked",   \
	   "the request contains data the data policy does not let through")                     \
	XX(CONFLICT, 409, "invalid_request_error", "invalid_request_error", "conflict",            \
	   "the change conflicts with existing objects")                                           \
	XX(DENIED, 403, "permission_error", "permission_error", "permission_denied",               \
	   "this API key may not do that")                                                         \
	XX(LOCAL_MODEL, 503, "api_error", "api_error", "local_model_unavailable",                  \
	   "the model run in process cannot serve (its file or the llama.cpp library)")           \
	XX(BUDGET, 429, "rate_limit_error", "insufficient_quota", "budget_exceeded",               \
	   "a budget is spent; retry after it resets")                                             \
	XX(LIMITED, 429, "rate_limit_error", "rate_limit_error", "rate_limit_reached",             \
	   "a rate limit is reached; retry after it resets")

enum hr_err {
	HR_OK = 0,
	HR_ERR_BASE_ = -1000, /* keeps codes clear of -errno values */
#define HR_ERR_ENUM_(name, status, atype, type, code, msg) HR_E##name,
	HR_ERR_MAP(HR_ERR_ENUM_)
#undef HR_ERR_ENUM_
	    HR_ERR_END_
};

/* All return static strings; an unknown code maps to HR_EINTERNAL's entries. */
int hr_err_status(int err);
const char *hr_err_type(int err);
const char *hr_err_anthropic_type(int err);
const char *hr_err_code(int err);
const char *hr_err_msg(int err);
const char *hr_err_name(int err); /* "EINVAL" style, for logs and tests */

#endif
