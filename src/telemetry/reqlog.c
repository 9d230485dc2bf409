/* reqlog.c - formats the request log line (reqlog.h). */
#include "telemetry/reqlog.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/buf.h"

static int add_str(struct hr_buf *out, const char *key, const char *v)
{
	int rc;
	if ((rc = hr_buf_addf(out, ",\"%s\":", key)) < 0)
		return rc;
	if (!v)
		return hr_buf_addstr(out, "null");
	if ((rc = hr_buf_addch(out, '"')) < 0 ||
	    (rc = hr_buf_add_json_escaped(out, v, strnlen(v, 2048))) < 0)
		return rc;
	return hr_buf_addch(out, '"');
}

int hr_reqlog_format(const struct hr_reqlog *r, struct hr_buf *out)
{
	char ts[40];
	struct tm tm;
	time_t s = (time_t)(r->ts_ms / 1000);
	if (!gmtime_r(&s, &tm))
		memset(&tm, 0, sizeof tm);
	size_t tn = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tn, sizeof ts - tn, ".%03dZ", (int)(r->ts_ms % 1000));
	int rc;
	if ((rc = hr_buf_addf(out, "{\"ts\":\"%s\",\"level\":\"info\",\"sub\":\"REQUEST\"", ts)) <
	        0 ||
	    (rc = add_str(out, "request_id", r->request_id)) < 0 ||
	    (rc = add_str(out, "method", r->method)) < 0 ||
	    (rc = add_str(out, "path", r->path)) < 0 ||
	    (rc = hr_buf_addf(out, ",\"status\":%d", r->status)) < 0 ||
	    (rc = add_str(out, "model", r->model)) < 0 ||
	    (rc = add_str(out, "provider", r->provider)) < 0 ||
	    (rc = add_str(out, "task", r->task)) < 0 ||
	    (rc = add_str(out, "route", r->route)) < 0 ||
	    (rc = add_str(out, "origin", r->origin ? r->origin : "client")) < 0 ||
	    (rc = hr_buf_addf(out, ",\"stream\":%s,\"attempts\":%d,\"latency_ms\":%lld",
	                      r->stream < 0 ? "null"
	                      : r->stream   ? "true"
	                                    : "false",
	                      r->attempts, (long long)r->latency_ms)) < 0)
		return rc;
	if (r->ttfb_ms >= 0)
		rc = hr_buf_addf(out, ",\"ttfb_ms\":%lld", (long long)r->ttfb_ms);
	else
		rc = hr_buf_addstr(out, ",\"ttfb_ms\":null");
	if (rc < 0 ||
	    (rc = hr_buf_addf(
	         out, ",\"input_tokens\":%lld,\"output_tokens\":%lld,\"cost_usd\":%.8f",
	         (long long)r->input_tokens, (long long)r->output_tokens, r->cost_usd)) < 0 ||
	    (rc = add_str(out, "error", r->error)) < 0 ||
	    (rc = add_str(out, "finish_reason", r->finish_reason)) < 0)
		return rc;
	return hr_buf_addstr(out, "}\n");
}
