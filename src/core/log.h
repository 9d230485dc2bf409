/* log.h - level-checked subsystem logging to stderr, as text or JSON lines.
 * Messages are lowercase, no final stop, subjects in single quotes. Never log a secret or
 * a prompt body. A line is written with one write(2), so threads do not interleave. */
#ifndef HR_LOG_H
#define HR_LOG_H

#include <stddef.h>

enum hr_log_level { HR_LOG_LVL_ERROR, HR_LOG_LVL_WARN, HR_LOG_LVL_INFO, HR_LOG_LVL_DEBUG };
enum hr_log_format { HR_LOG_TEXT, HR_LOG_JSON };

extern int hr_log_level_cur;

/* Not thread-safe against concurrent logging; call at start-up or on reload. */
void hr_log_setup(enum hr_log_level level, enum hr_log_format format);
/* Parses "error|warn|info|debug" / "text|json". Returns 0 or HR_EINVAL. */
int hr_log_level_parse(const char *s, enum hr_log_level *out);
int hr_log_format_parse(const char *s, enum hr_log_format *out);

/* rid: the request id, or NULL outside a request. */
void hr_log_write(int level, const char *subsys, const char *rid, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes one prepared line (n bytes, ending in '\n') as it is, with one write(2), when
 * level passes the current level. For lines formatted elsewhere (the request log). */
void hr_log_line(int level, const char *line, size_t n);

#define HR_LOG_AT_(lvl, sub, rid, ...)                                                             \
	do {                                                                                       \
		if ((lvl) <= hr_log_level_cur)                                                     \
			hr_log_write((lvl), #sub, (rid), __VA_ARGS__);                             \
	} while (0)

#define HR_LOG_ERROR(sub, ...) HR_LOG_AT_(HR_LOG_LVL_ERROR, sub, NULL, __VA_ARGS__)
#define HR_LOG_WARN(sub, ...)  HR_LOG_AT_(HR_LOG_LVL_WARN, sub, NULL, __VA_ARGS__)
#define HR_LOG_INFO(sub, ...)  HR_LOG_AT_(HR_LOG_LVL_INFO, sub, NULL, __VA_ARGS__)
#define HR_LOG_DEBUG(sub, ...) HR_LOG_AT_(HR_LOG_LVL_DEBUG, sub, NULL, __VA_ARGS__)
/* The same, for lines about one request: rid is its request id. */
#define HR_RLOG_ERROR(rid, sub, ...) HR_LOG_AT_(HR_LOG_LVL_ERROR, sub, rid, __VA_ARGS__)
#define HR_RLOG_WARN(rid, sub, ...)  HR_LOG_AT_(HR_LOG_LVL_WARN, sub, rid, __VA_ARGS__)
#define HR_RLOG_INFO(rid, sub, ...)  HR_LOG_AT_(HR_LOG_LVL_INFO, sub, rid, __VA_ARGS__)
#define HR_RLOG_DEBUG(rid, sub, ...) HR_LOG_AT_(HR_LOG_LVL_DEBUG, sub, rid, __VA_ARGS__)

#endif
