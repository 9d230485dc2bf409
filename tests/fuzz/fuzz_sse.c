/* fuzz_sse.c - libFuzzer target: the SSE decoder fed in three pieces cut where the first two
 * bytes say, each event decoded as an OpenAI chunk; the result must match feeding it whole. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/sse.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	struct hr_arena *a;
	size_t max_line;
	size_t n;
	uint64_t hash; /* FNV-1a over every event's type and data */
};

static void mix(struct sink *s, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		s->hash = (s->hash ^ (unsigned char)p[i]) * 1099511628211u;
	s->hash = (s->hash ^ 0xff) * 1099511628211u;
}

static int on_event(void *arg, const char *ev, size_t ev_len, const char *d, size_t len)
{
	struct sink *s = arg;
	assert(ev_len > 0 && len < s->max_line);
	assert(d[len] == '\0' || d[len] == '\n');
	s->n++;
	mix(s, ev, ev_len);
	mix(s, d, len);
	struct hr_stream_ev sev;
	const char *msg = NULL;
	int rc = hr_openai_decode_stream_summary(s->a, d, len, &sev, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	return 0;
}

static int run(const char *p, size_t n, size_t cut1, size_t cut2, size_t max_line, struct sink *s,
               int *pending)
{
	struct hr_sse sse;
	hr_sse_init(&sse, max_line, on_event, s);
	int rc = hr_sse_feed(&sse, p, cut1);
	if (rc == 0)
		rc = hr_sse_feed(&sse, p + cut1, cut2 - cut1);
	if (rc == 0)
		rc = hr_sse_feed(&sse, p + cut2, n - cut2);
	*pending = hr_sse_pending(&sse);
	hr_sse_release(&sse);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	const char *p = (const char *)data + 2;
	size_t n = size - 2;
	size_t cut1 = data[0] % (n + 1);
	size_t cut2 = cut1 + data[1] % (n - cut1 + 1);
	size_t max_line = (data[1] & 0x80) ? 48 : 1 << 20; /* small caps reach HR_ETOOBIG */

	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return 0;
	struct sink split = {a, max_line, 0, 14695981039346656037u};
	struct sink whole = {a, max_line, 0, 14695981039346656037u};
	int pend_split, pend_whole;
	int rc_split = run(p, n, cut1, cut2, max_line, &split, &pend_split);
	int rc_whole = run(p, n, n, n, max_line, &whole, &pend_whole);
	assert(rc_split == 0 || rc_split == HR_ETOOBIG);
	/* the split never changes what is decoded */
	assert(rc_split == rc_whole);
	assert(split.n == whole.n && split.hash == whole.hash);
	assert(rc_split != 0 || pend_split == pend_whole);
	hr_arena_destroy(a);
	return 0;
}
