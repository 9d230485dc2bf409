/* registry.c - the one static table of provider codecs, looked up by the config's "kind".
 * Adding a wire format: one .c file with its ops, one row here, its name in kinds. */
#include <string.h>

#include "core/arena.h"
#include "core/err.h"

#include "providers/provider.h"

static const struct hr_provider_ops *const kinds[] = {
    &hr_provider_openai,
    &hr_provider_anthropic,
    &hr_provider_gemini,
    &hr_provider_ollama,
    &hr_provider_llamacpp,
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
	return "openai, anthropic, gemini, ollama, llamacpp";
}

int hr_provider_list_headers(struct hr_arena *a, const struct hr_conf_provider *p,
                             const char *headers[8])
{
	size_t n = 0;
	const char *k = p->kind ? p->kind : "";
	if (strcmp(k, "anthropic") == 0)
		headers[n++] = "anthropic-version: 2023-06-01";
	if (p->api_key && p->api_key[0]) {
		const char *h = strcmp(k, "anthropic") == 0
		                    ? hr_arena_printf(a, "x-api-key: %s", p->api_key)
		                : strcmp(k, "gemini") == 0
		                    ? hr_arena_printf(a, "x-goog-api-key: %s", p->api_key)
		                    : hr_arena_printf(a, "Authorization: Bearer %s", p->api_key);
		if (!h)
			return HR_ENOMEM;
		headers[n++] = h;
	}
	headers[n] = NULL;
	return 0;
}
