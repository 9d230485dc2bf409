/* buf.c - capped growable buffer; see buf.h for the contract. */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

void hr_buf_init(struct hr_buf *b, size_t max)
{
	b->ptr = NULL;
	b->len = b->cap = 0;
	b->max = max;
}

static int grow(struct hr_buf *b, size_t n)
{
	if (n > b->max || b->len > b->max - n)
		return HR_ETOOBIG;
	size_t need = b->len + n + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;
	char *p = realloc(b->ptr, cap);
	if (!p)
		return HR_ENOMEM;
	b->ptr = p;
	b->cap = cap;
	return 0;
}

int hr_buf_add(struct hr_buf *b, const void *p, size_t n)
{
	int rc = grow(b, n);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->ptr + b->len, p, n);
	b->len += n;
	b->ptr[b->len] = '\0';
	return 0;
}

int hr_buf_addstr(struct hr_buf *b, const char *s)
{
	return hr_buf_add(b, s, strlen(s));
}

int hr_buf_addch(struct hr_buf *b, char c)
{
	return hr_buf_add(b, &c, 1);
}

int hr_buf_addf(struct hr_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HR_EINTERNAL;
	int rc = grow(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->ptr + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

int hr_buf_add_json_escaped(struct hr_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0, len0 = b->len;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		const char *esc = NULL;
		char u[6];
		switch (c) {
		case '"': esc = "\\\""; break;
		case '\\': esc = "\\\\"; break;
		case '\n': esc = "\\n"; break;
		case '\r': esc = "\\r"; break;
		case '\t': esc = "\\t"; break;
		case '\b': esc = "\\b"; break;
		case '\f': esc = "\\f"; break;
		default:
			if (c < 0x20) {
				u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0';
				u[4] = hex[c >> 4], u[5] = hex[c & 15];
			}
		}
		if (!esc && c >= 0x20)
			continue;
		rc = hr_buf_add(b, s + run, i - run);
		if (rc == 0)
			rc = esc ? hr_buf_addstr(b, esc) : hr_buf_add(b, u, 6);
		if (rc < 0)
			goto undo;
		run = i + 1;
	}
	if ((rc = hr_buf_add(b, s + run, n - run)) == 0)
		return 0;
undo:
	b->len = len0; /* b unchanged, as buf.h promises */
	if (b->ptr)
		b->ptr[len0] = '\0';
	return rc;
}

void hr_buf_consume(struct hr_buf *b, size_t n)
{
	if (n >= b->len) {
		hr_buf_reset(b);
		return;
	}
	memmove(b->ptr, b->ptr + n, b->len - n);
	b->len -= n;
	b->ptr[b->len] = '\0';
}

void hr_buf_reset(struct hr_buf *b)
{
	b->len = 0;
	if (b->ptr)
		b->ptr[0] = '\0';
}

void hr_buf_release(struct hr_buf *b)
{
	free(b->ptr);
	b->ptr = NULL;
	b->len = b->cap = 0;
}

void hr_buf_release_cb(void *b)
{
	hr_buf_release(b);
}
