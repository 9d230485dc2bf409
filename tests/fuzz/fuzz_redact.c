/* fuzz_redact.c - libFuzzer target: the redact action's restorer on any model output. The
 * first byte picks text or JSON mode and a cut position; the rest is fed in two pieces and
 * byte by byte, and each must give exactly what the whole-text restoration gives, holding
 * back less than HR_REDACT_MAX_PLACEHOLDER bytes at any time. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "governance/redact.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hr_arena *arena;
static struct hr_redact_map map;

static void setup(void)
{
	if (arena)
		return;
	arena = hr_arena_create(0);
	hr_redact_map_add(arena, &map, HR_PII_EMAIL, "jane@x.org", 10);
	hr_redact_map_add(arena, &map, HR_PII_EMAIL, "j\"o\\n@x.org", 11);
	hr_redact_map_add(arena, &map, HR_PII_PERSON, "Ann Lee", 7);
	hr_redact_map_add(arena, &map, HR_PII_STREET_ADDRESS, "1 Main St\n", 10);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();
	if (size < 1)
		return 0;
	bool json = data[0] & 1;
	const char *in = (const char *)data + 1;
	size_t n = size - 1, cut = n ? (size_t)(data[0] >> 1) % (n + 1) : 0;

	struct hr_buf whole = HR_BUF_INIT(1 << 24), got = HR_BUF_INIT(1 << 24);
	assert(hr_redact_restore(&map, json, in, n, &whole) == 0);

	struct hr_redact_stream s;
	hr_redact_stream_init(&s, &map, json);
	assert(hr_redact_stream_feed(&s, in, cut, &got) == 0);
	assert(s.n_hold < HR_REDACT_MAX_PLACEHOLDER);
	assert(hr_redact_stream_feed(&s, in + cut, n - cut, &got) == 0);
	assert(hr_redact_stream_flush(&s, &got) == 0 && s.n_hold == 0);
	assert(got.len == whole.len && (!got.len || memcmp(got.ptr, whole.ptr, got.len) == 0));

	hr_buf_reset(&got);
	hr_redact_stream_init(&s, &map, json);
	for (size_t i = 0; i < n; i++) {
		assert(hr_redact_stream_feed(&s, in + i, 1, &got) == 0);
		assert(s.n_hold < HR_REDACT_MAX_PLACEHOLDER);
	}
	assert(hr_redact_stream_flush(&s, &got) == 0);
	assert(got.len == whole.len && (!got.len || memcmp(got.ptr, whole.ptr, got.len) == 0));
	hr_buf_release(&whole);
	hr_buf_release(&got);
	return 0;
}
