/* log.c - formats one log line into a stack buffer and writes it with one write(2). */
#include "core/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"

int hr_log_level_cur = HR_LOG_LVL_INFO;
static enum hr_log_format log_format = HR_LOG_TEXT;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

void hr_log_setup(enum hr_log_level level, enum hr_log_format format)
{
	hr_log_level_cur = level;
	log_format = format;
}

int hr_log_level_parse(const char *s, enum hr_log_level *out)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum hr_log_level)i;
			return 0;
		}
	return HR_EINVAL;
}

int hr_log_format_parse(const char *s, enum hr_log_format *out)
{
	if (strcmp(s, "text") == 0)
		*out = HR_LOG_TEXT;
	else if (strcmp(s, "json") == 0)
		*out = HR_LOG_JSON;
	else
		return HR_EINVAL;
	return 0;
}

/* Appends src to dst[*n..cap) JSON-escaped; truncates silently at cap. */
static void add_json(char *dst, size_t cap, size_t *n, const char *src)
{
	for (; *src && *n + 7 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (c == '"' || c == '\\') {
			dst[(*n)++] = '\\';
			dst[(*n)++] = (char)c;
		} else if (c < 0x20) {
			*n += (size_t)snprintf(dst + *n, cap - *n, "\\u%04x", c);
		} else {
			dst[(*n)++] = (char)c;
		}
	}
}

void hr_log_write(int level, const char *subsys, const char *rid, const char *fmt, ...)
{
	char msg[2048], line[4096], ts[40];
	struct timeval tv;
	struct tm tm;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);

	gettimeofday(&tv, NULL);
	gmtime_r(&tv.tv_sec, &tm);
	size_t tn = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + tn, sizeof ts - tn, ".%03ldZ", (long)(tv.tv_usec / 1000));

	const char *lv = level_names[level < 0 ? 0 : level > 3 ? 3 : level];
	size_t n;
	if (log_format == HR_LOG_JSON) {
		n = (size_t)snprintf(line, sizeof line,
		                     "{\"ts\":\"%s\",\"level\":\"%s\",\"sub\":\"%s\"", ts, lv,
		                     subsys);
		if (rid)
			n += (size_t)snprintf(line + n, sizeof line - n, ",\"request_id\":\"%s\"",
			                      rid);
		n += (size_t)snprintf(line + n, sizeof line - n, ",\"msg\":\"");
		add_json(line, sizeof line - 4, &n, msg);
		n += (size_t)snprintf(line + n, sizeof line - n, "\"}\n");
	} else {
		n = (size_t)snprintf(line, sizeof line, "%s %-5s %-6s %s%s%s\n", ts, lv, subsys,
		                     rid ? rid : "", rid ? " " : "", msg);
	}
	if (n >= sizeof line) {
		n = sizeof line - 1;
		line[n - 1] = '\n';
	}
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}

void hr_log_line(int level, const char *line, size_t n)
{
	if (level > hr_log_level_cur)
		return;
	ssize_t w = write(STDERR_FILENO, line, n);
	(void)w;
}
