/* sse.c - incremental Server-Sent Events decoder following the WHATWG event-stream rules.
 * Bytes may arrive in any split: a CR ending one feed and an LF starting the next are one. */
#include "http/sse.h"

#include <stdbool.h>
#include <string.h>

#include "core/err.h"

/* s->state bits */
#define SSE_CR        0x1 /* the last byte fed was a CR: an LF next is part of that line end */
#define SSE_BOM_DONE  0x2 /* past the optional UTF-8 BOM at the very start */
#define SSE_BOM_SHIFT 2   /* bits 2-3: how many BOM bytes were matched so far */
#define SSE_BOM_MASK  (0x3 << SSE_BOM_SHIFT)

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

void hr_sse_init(struct hr_sse *s, size_t max_line, hr_sse_cb cb, void *arg)
{
	hr_buf_init(&s->line, max_line);
	hr_buf_init(&s->data, max_line);
	hr_buf_init(&s->event, max_line);
	s->state = 0;
	s->cb = cb;
	s->arg = arg;
}

void hr_sse_release(struct hr_sse *s)
{
	hr_buf_release(&s->line);
	hr_buf_release(&s->data);
	hr_buf_release(&s->event);
}

int hr_sse_pending(const struct hr_sse *s)
{
	return s->line.len > 0 || s->data.len > 0 || (s->state & SSE_BOM_MASK) != 0;
}

static bool field_is(const char *f, size_t n, const char *name)
{
	size_t k = strlen(name);
	return n == k && memcmp(f, name, k) == 0;
}

static int dispatch(struct hr_sse *s)
{
	if (s->data.len == 0) {
		hr_buf_reset(&s->event);
		return 0;
	}
	/* the last data line's '\n' is not part of the data */
	size_t dlen = s->data.len - 1;
	struct hr_str ev = s->event.len ? hr_buf_str(&s->event) : HR_STR("message");
	int rc = s->cb ? s->cb(s->arg, ev.ptr, ev.len, s->data.ptr, dlen) : 0;
	hr_buf_reset(&s->data);
	hr_buf_reset(&s->event);
	return rc;
}

/* One complete line, without its line end. */
static int process_line(struct hr_sse *s, const char *p, size_t n)
{
	if (n == 0)
		return dispatch(s);
	if (p[0] == ':')
		return 0; /* comment, e.g. ": keep-alive" or ": OPENROUTER PROCESSING" */

	const char *colon = memchr(p, ':', n);
	const char *field = p, *value = "";
	size_t flen = n, vlen = 0;
	if (colon) {
		flen = (size_t)(colon - p);
		value = colon + 1;
		vlen = n - flen - 1;
		if (vlen && value[0] == ' ')
			value++, vlen--;
	}

	if (field_is(field, flen, "data")) {
		int rc = hr_buf_add(&s->data, value, vlen);
		if (rc == 0)
			rc = hr_buf_addch(&s->data, '\n');
		return rc;
	}
	if (field_is(field, flen, "event")) {
		hr_buf_reset(&s->event);
		return hr_buf_add(&s->event, value, vlen);
	}
	/* "id", "retry" and unknown fields are ignored */
	return 0;
}

/* Consumes the leading BOM bytes if any; returns how many input bytes were eaten. */
static int skip_bom(struct hr_sse *s, const char *p, size_t n, size_t *eaten)
{
	size_t i = 0;
	while (!(s->state & SSE_BOM_DONE) && i < n) {
		int got = (s->state & SSE_BOM_MASK) >> SSE_BOM_SHIFT;
		if ((unsigned char)p[i] == bom[got]) {
			i++;
			got++;
			s->state &= ~SSE_BOM_MASK;
			if (got == 3)
				s->state |= SSE_BOM_DONE;
			else
				s->state |= got << SSE_BOM_SHIFT;
			continue;
		}
		/* not a BOM after all: the matched bytes belong to the first line */
		s->state &= ~SSE_BOM_MASK;
		s->state |= SSE_BOM_DONE;
		if (got) {
			int rc = hr_buf_add(&s->line, bom, (size_t)got);
			if (rc < 0)
				return rc;
		}
	}
	*eaten = i;
	return 0;
}

int hr_sse_feed(struct hr_sse *s, const char *p, size_t n)
{
	int rc;
	while (n > 0) {
		if (s->state & SSE_CR) {
			s->state &= ~SSE_CR;
			if (*p == '\n') {
				p++, n--;
				continue;
			}
		}
		if (!(s->state & SSE_BOM_DONE)) {
			size_t eaten;
			if ((rc = skip_bom(s, p, n, &eaten)) < 0)
				return rc;
			p += eaten, n -= eaten;
			if (n == 0)
				break;
		}

		size_t k = 0;
		while (k < n && p[k] != '\n' && p[k] != '\r')
			k++;
		if (k == n) /* no line end yet: keep the partial line */
			return hr_buf_add(&s->line, p, n);

		if (s->line.len == 0) {
			/* the whole line is in this feed: no copy */
			if (k > s->line.max)
				return HR_ETOOBIG;
			rc = process_line(s, p, k);
		} else {
			if ((rc = hr_buf_add(&s->line, p, k)) < 0)
				return rc;
			rc = process_line(s, s->line.ptr, s->line.len);
			hr_buf_reset(&s->line);
		}
		if (p[k] == '\r')
			s->state |= SSE_CR;
		p += k + 1, n -= k + 1;
		if (rc < 0)
			return rc;
	}
	return 0;
}
