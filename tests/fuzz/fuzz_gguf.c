/* fuzz_gguf.c - libFuzzer target: the embedded engine's check of a model file's header
 * (outside input: any file named by the config), and its stop-string and UTF-8 scans of
 * model output, on any bytes. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "engine/text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *why = NULL;
	uint64_t file_size = size >= 8 ? (uint64_t)data[0] << 20 | size : size;
	int rc = hr_gguf_check(data, size, file_size, &why);
	assert(rc == 0 ? why == NULL : rc == HR_EINVAL && why && *why);

	/* the first byte splits the input into a stop string and the text */
	size_t k = size ? data[0] % 16 : 0;
	if (k + 1 > size)
		return 0;
	struct hr_str stop = {(const char *)data + 1, k};
	const char *t = (const char *)data + 1 + k;
	size_t n = size - 1 - k;
	long at = hr_stop_find(t, n, 0, &stop, 1);
	assert(at < 0 || ((size_t)at + k <= n && memcmp(t + at, stop.ptr, k) == 0));
	size_t safe = hr_stop_safe_len(t, n, &stop, 1);
	assert(safe <= n);
	assert(hr_utf8_complete(t, n) <= n);
	char *copy = malloc(n + 1);
	if (!copy)
		return 0;
	memcpy(copy, t, n);
	hr_utf8_sanitize(copy, n);
	for (size_t i = 0; i < n; i++)
		assert(copy[i] == t[i] || copy[i] == '?');
	free(copy);
	return 0;
}
