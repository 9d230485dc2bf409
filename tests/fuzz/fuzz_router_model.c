/* fuzz_router_model.c - libFuzzer target for the learned router's model loader: any bytes as
 * a model file. Must never crash, leak or hang; a model it accepts predicts finite
 * probabilities. */
#include <math.h>
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "learn/learn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	if (!init && sodium_init() >= 0)
		init = 1;
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_learn_model *m = NULL;
	int rc = hr_learn_model_parse("fuzz.json", (const char *)data, size, &m, &err);
	if (rc == 0) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_learn_fx *fx = hr_learn_fx_new(a, &m->fc);
		double *p = hr_arena_alloc(a, m->n_outs * sizeof *p);
		if (fx && p) {
			hr_learn_predict(m, fx, "What is 2 + 2?\nA) 3\nB) 4", 24, p);
			for (size_t o = 0; o < m->n_outs; o++)
				if (!(p[o] >= 0 && p[o] <= 1))
					__builtin_trap();
		}
		hr_arena_destroy(a);
		hr_learn_model_free(m);
	} else if (m != NULL || (rc != HR_EINVAL && rc != HR_ETOOBIG && rc != HR_ENOMEM)) {
		__builtin_trap();
	}
	hr_buf_release(&err);
	return 0;
}
