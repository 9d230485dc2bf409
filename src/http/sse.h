/* sse.h - incremental Server-Sent Events decoder (WHATWG "event stream" rules): feed it
 * bytes as they arrive, in any split; it calls back once per complete event. Lines are
 * capped, so a provider cannot make it grow without bound. Pure: no I/O. */
#ifndef HR_SSE_H
#define HR_SSE_H

#include <stddef.h>

#include "core/buf.h"

/* Called per dispatched event. event: the "event:" field or "message"; data: the "data:"
 * lines joined with '\n' (no trailing newline). Both borrowed for the call only.
 * Return 0 to go on, or a negative HR_E* code to stop (hr_sse_feed returns it). */
typedef int (*hr_sse_cb)(void *arg, const char *event, size_t event_len, const char *data,
                         size_t data_len);

struct hr_sse {
	struct hr_buf line;  /* the incomplete current line */
	struct hr_buf data;  /* data lines of the event being built */
	struct hr_buf event; /* event type of the event being built */
	int state;           /* internal: CR seen, BOM skipped */
	hr_sse_cb cb;
	void *arg;
};

/* max_line: longest line (and longest event data) accepted. */
void hr_sse_init(struct hr_sse *s, size_t max_line, hr_sse_cb cb, void *arg);
/* Returns 0, HR_ETOOBIG (a line or event over the cap), HR_ENOMEM or the callback's code. */
int hr_sse_feed(struct hr_sse *s, const char *p, size_t n);
/* At end of input: true when bytes of an unfinished event remain (a cut stream). */
int hr_sse_pending(const struct hr_sse *s);
void hr_sse_release(struct hr_sse *s);

#endif
