/* buf.h - owned, growable byte buffer with a hard cap (curl dynbuf, git strbuf).
 * Invariant: when ptr is non-NULL, ptr[len] == '\0', so the bytes may be used as a C string
 * (they may also contain NULs). Every append checks the cap and reports, never aborts. */
#ifndef HR_BUF_H
#define HR_BUF_H

#include <stddef.h>

#include "core/str.h"

struct hr_buf {
	char *ptr;  /* owned; NULL until the first append */
	size_t len; /* bytes used, excluding the trailing NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* hard cap on len */
};

#define HR_BUF_INIT(max_)                                                                          \
	{                                                                                          \
		NULL, 0, 0, (max_)                                                                 \
	}

void hr_buf_init(struct hr_buf *b, size_t max);
/* Each returns 0, HR_ETOOBIG (len would pass max; b unchanged) or HR_ENOMEM. */
int hr_buf_add(struct hr_buf *b, const void *p, size_t n);
int hr_buf_addstr(struct hr_buf *b, const char *s);
int hr_buf_addch(struct hr_buf *b, char c);
int hr_buf_addf(struct hr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends s as the body of a JSON string literal (no quotes), escaping as RFC 8259 asks. */
int hr_buf_add_json_escaped(struct hr_buf *b, const char *s, size_t n);
/* Drops the first n bytes (n <= len). */
void hr_buf_consume(struct hr_buf *b, size_t n);
static inline struct hr_str hr_buf_str(const struct hr_buf *b)
{
	return (struct hr_str){b->ptr ? b->ptr : "", b->len};
}
/* Forgets the bytes, keeps the memory. */
void hr_buf_reset(struct hr_buf *b);
/* Frees the memory; b may be reused after hr_buf_init(). */
void hr_buf_release(struct hr_buf *b);
/* Cleanup for hr_arena_defer(): releases the hr_buf pointed to. */
void hr_buf_release_cb(void *b);

#endif
