/* fuzz_judge.c - libFuzzer target for the reading of a judge model's answer in shadow
 * evaluation (hr_learn_judge_parse): any bytes as the judge's text. Must never crash, leak or
 * hang; scores it accepts are in [0, 1]. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "core/err.h"
#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	double a = -1, b = -1;
	if (hr_learn_judge_parse((const char *)data, size, &a, &b) == 0 &&
	    !(a >= 0 && a <= 1 && b >= 0 && b <= 1))
		abort();
	return 0;
}
