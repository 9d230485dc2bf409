/* fuzz_openai_response.c - libFuzzer target: the OpenAI codec's decoders on any provider
 * answer (decode_chat, decode_stream_event, map_error with a status from the first byte). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return 0;
	const char *msg = NULL;

	struct hr_chat_result res;
	int rc = hr_openai_decode_summary(a, body, size, &res, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	if (rc == 0) {
		assert(res.usage.prompt_tokens >= 0 && res.usage.completion_tokens >= 0);
		assert(!res.finish_reason || strlen(res.finish_reason) <= 64);
	}

	struct hr_stream_ev ev;
	rc = hr_openai_decode_stream_summary(a, body, size, &ev, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	assert(rc != 0 || ev.type != HR_FWD_ERROR || ev.error_msg);

	long status = size ? 300 + (long)data[0] * 2 : 500; /* 300..810 */
	rc = hr_provider_openai.map_error(a, status, body, size, &msg);
	assert(rc < 0);
	assert(!msg || strlen(msg) <= 500);

	hr_arena_destroy(a);
	return 0;
}
