/* fuzz_detect.c - libFuzzer target: the data-policy detectors on any bytes, with and without
 * operator keywords and patterns, and with a small span cap; checks the output invariants
 * (sorted, disjoint, in bounds, known classes) and that an error leaves no spans. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "governance/detect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct hr_spans *out, size_t size, int rc)
{
	if (rc) {
		assert(rc == HR_ETOOMANY || rc == HR_ETOOBIG);
		assert(out->n == 0);
		return;
	}
	assert(out->n <= out->cap);
	for (size_t i = 0; i < out->n; i++) {
		const struct hr_span *s = &out->v[i];
		assert(s->start < s->end && s->end <= size && s->cls < HR_PII__COUNT);
		if (i > 0)
			assert(out->v[i - 1].end <= s->start);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hr_span v[4096];
	const char *t = (const char *)data;
	struct hr_spans out = {v, 0, sizeof v / sizeof *v};
	check(&out, size, hr_detect(t, size, NULL, &out));

	static const struct hr_str kws[] = {HR_STR("project falcon"), HR_STR("x"), HR_STR("ab")};
	static const struct hr_detect_pattern pats[] = {
	    {HR_STR("PRJ-####")}, {HR_STR("\\#@?")}, {HR_STR("\\")}};
	struct hr_detect_opts o = {0, 0, kws, 3, pats, 3};
	out = (struct hr_spans){v, 0, 3};
	check(&out, size, hr_detect(t, size, &o, &out));
	o.max_input = 64;
	out = (struct hr_spans){v, 0, sizeof v / sizeof *v};
	check(&out, size, hr_detect(t, size, &o, &out));
	return 0;
}
