/* reqlog.h - the request log line: one JSON object per answered request (log.requests),
 * written beside the human log lines. It holds what the usage record says about the request
 * and never prompt text, answers or keys: there is no field that could carry them. */
#ifndef HR_REQLOG_H
#define HR_REQLOG_H

#include <stdint.h>

struct hr_buf;

/* Strings are borrowed for the call; NULL ones are written as null. */
struct hr_reqlog {
	int64_t ts_ms; /* start, Unix ms */
	const char *request_id;
	const char *method, *path; /* path without the query string */
	int status;
	const char *model, *provider, *task, *route, *origin, *error, *finish_reason;
	int64_t latency_ms, ttfb_ms; /* ttfb < 0: none (null) */
	int64_t input_tokens, output_tokens;
	double cost_usd;
	int attempts;
	int stream; /* 1 streamed, 0 not, -1 unknown (null) */
};

/* Appends the line (one JSON object and '\n') to out. Keys always appear in the same
 * order: ts, level, sub ("REQUEST"), request_id, method, path, status, model, provider, task,
 * route, origin, stream, attempts, latency_ms, ttfb_ms, input_tokens, output_tokens,
 * cost_usd, error, finish_reason. Returns 0 or the hr_buf error. */
int hr_reqlog_format(const struct hr_reqlog *r, struct hr_buf *out);

#endif
