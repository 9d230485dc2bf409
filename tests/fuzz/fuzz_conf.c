/* fuzz_conf.c - libFuzzer target for the configuration loader: any bytes as a hearth.yaml.
 * Must never crash, leak or hang; errors are expected and discarded. */
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c = NULL;

	int rc = hr_conf_load_mem("fuzz.yaml", (const char *)data, size, &c, &err);
	if (rc == 0) {
		/* exercise the lookups on what was loaded */
		for (size_t i = 0; i < c->n_models; i++)
			if (hr_conf_model_find(c, c->models[i].name, strlen(c->models[i].name)) !=
			    &c->models[i])
				__builtin_trap();
		hr_conf_release(c);
	} else if (c != NULL || (rc != HR_ECONF && rc != HR_ENOMEM)) {
		__builtin_trap();
	}
	hr_buf_release(&err);
	return 0;
}
