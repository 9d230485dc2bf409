/* registry.c - the one static table of provider codecs, looked up by the config's "kind".
 * Adding a wire format: one .c file with its ops, one row here, its name in kinds. */
#include <string.h>

#include "providers/provider.h"

static const struct hr_provider_ops *const kinds[] = {
    &hr_provider_openai,
};

const struct hr_provider_ops *hr_provider_find(const char *kind)
{
	if (!kind)
		return NULL;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strcmp(kinds[i]->kind, kind) == 0)
			return kinds[i];
	return NULL;
}

const char *hr_provider_kinds(void)
{
	/* keep in step with kinds[] (test_openai checks every listed kind is found) */
	return "openai";
}
