/* text.c - the pure text work of the embedded engine: GGUF header check, the plain prompt
 * of a model without a chat template, stop strings and UTF-8 boundaries (text.h). */
#include "engine/text.h"

#include <string.h>

#include "core/err.h"

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

int hr_gguf_check(const uint8_t *p, size_t n, uint64_t file_size, const char **why)
{
	*why = NULL;
	if (file_size == 0) {
		*why = "the file is empty";
		return HR_EINVAL;
	}
	if (n < 4 || memcmp(p, "GGUF", 4) != 0) {
		*why = "not a GGUF file (it does not start with the bytes GGUF)";
		return HR_EINVAL;
	}
	if (n < HR_GGUF_HEADER || file_size < HR_GGUF_HEADER) {
		*why = "the file is truncated (shorter than a GGUF header)";
		return HR_EINVAL;
	}
	uint32_t version = le32(p + 4);
	if (version < 2 || version > 3) {
		*why = version == 1 ? "GGUF version 1, which llama.cpp no longer reads; convert "
		                      "the model again"
		                    : "an unknown GGUF version (llama.cpp reads versions 2 and 3)";
		return HR_EINVAL;
	}
	/* each tensor needs at least a name, dims and an offset; each key/value a key and type */
	uint64_t tensors = le64(p + 8), kvs = le64(p + 16);
	if (tensors > file_size / 16 || kvs > file_size / 12) {
		*why = "the file is truncated or corrupt (its header counts more entries than the "
		       "file can hold)";
		return HR_EINVAL;
	}
	return 0;
}

int hr_prompt_plain(const struct hr_prompt_msg *msgs, size_t n, struct hr_buf *out)
{
	bool first = true;
	for (size_t i = 0; i < n; i++) {
		if (!msgs[i].content.len)
			continue;
		int rc = first ? 0 : hr_buf_addch(out, '\n');
		if (!rc)
			rc = hr_buf_add(out, msgs[i].content.ptr, msgs[i].content.len);
		if (rc < 0)
			return rc;
		first = false;
	}
	return 0;
}

long hr_stop_find(const char *t, size_t n, size_t from, const struct hr_str *stops,
                  size_t n_stops)
{
	long best = -1;
	for (size_t s = 0; s < n_stops; s++) {
		size_t k = stops[s].len;
		if (!k || k > n)
			continue;
		for (size_t i = from; i + k <= n; i++) {
			if (best >= 0 && (long)i >= best)
				break;
			if (t[i] == stops[s].ptr[0] && memcmp(t + i, stops[s].ptr, k) == 0) {
				best = (long)i;
				break;
			}
		}
	}
	return best;
}

size_t hr_utf8_complete(const char *t, size_t n)
{
	/* look back at most 3 bytes for the lead byte of the last sequence */
	for (size_t back = 1; back <= 4 && back <= n; back++) {
		unsigned char c = (unsigned char)t[n - back];
		if ((c & 0xC0) == 0x80)
			continue; /* a continuation byte */
		size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
		                         : (c & 0xF8) == 0xF0   ? 4
		                                                : 1;
		return need > back ? n - back : n;
	}
	return n;
}

size_t hr_stop_safe_len(const char *t, size_t n, const struct hr_str *stops, size_t n_stops)
{
	size_t hold = 0;
	for (size_t s = 0; s < n_stops; s++) {
		size_t k = stops[s].len;
		/* the longest proper prefix of the stop string that t ends with */
		for (size_t l = k > 0 ? k - 1 : 0; l > hold; l--)
			if (l <= n && memcmp(t + n - l, stops[s].ptr, l) == 0) {
				hold = l;
				break;
			}
	}
	return hr_utf8_complete(t, n - hold);
}

void hr_utf8_sanitize(char *t, size_t n)
{
	size_t i = 0;
	while (i < n) {
		unsigned char c = (unsigned char)t[i];
		size_t need = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2
		                         : (c & 0xF0) == 0xE0                ? 3
		                         : (c & 0xF8) == 0xF0 && c <= 0xF4   ? 4
		                                                             : 0;
		bool ok = need > 0 && i + need <= n;
		for (size_t j = 1; ok && j < need; j++)
			ok = ((unsigned char)t[i + j] & 0xC0) == 0x80;
		if (ok && need == 3) { /* no overlong forms, no surrogates */
			unsigned char d = (unsigned char)t[i + 1];
			ok = !(c == 0xE0 && d < 0xA0) && !(c == 0xED && d >= 0xA0);
		} else if (ok && need == 4) {
			unsigned char d = (unsigned char)t[i + 1];
			ok = !(c == 0xF0 && d < 0x90) && !(c == 0xF4 && d >= 0x90);
		}
		if (!ok) {
			t[i++] = '?';
			continue;
		}
		i += need;
	}
}
