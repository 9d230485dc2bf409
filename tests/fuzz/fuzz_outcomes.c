/* fuzz_outcomes.c - libFuzzer target for the learned router's outcome data reader: any bytes
 * as a JSON Lines file. Must never crash, leak or hang; a row it accepts is well-formed. */
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
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_learn_data d;
	int rc = hr_learn_data_parse(a, "fuzz.jsonl", (const char *)data, size, &d, &err);
	if (rc == 0) {
		if (d.n_rows == 0 || d.n_models == 0)
			__builtin_trap();
		for (size_t i = 0; i < d.n_rows; i++) {
			const struct hr_learn_row *r = &d.rows[i];
			if (!r->id || !*r->id || !r->prompt || r->prompt_len == 0)
				__builtin_trap();
			size_t present = 0;
			for (size_t k = 0; k < d.n_models; k++)
				if (r->out[k].present) {
					present++;
					if (!(r->out[k].score >= 0 && r->out[k].score <= 1))
						__builtin_trap();
				}
			if (present == 0)
				__builtin_trap();
		}
	} else if (rc != HR_EINVAL && rc != HR_ETOOBIG && rc != HR_ETOOMANY && rc != HR_ENOMEM) {
		__builtin_trap();
	} else if (!err.ptr && rc != HR_ENOMEM) {
		__builtin_trap(); /* every refusal says why */
	}
	hr_buf_release(&err);
	hr_arena_destroy(a);
	return 0;
}
