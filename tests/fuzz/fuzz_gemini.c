/* fuzz_gemini.c - libFuzzer target: the Gemini codec's decoders on any provider answer:
 * decode_chat, decode_stream (the input split at newlines into SSE data, one event each),
 * map_error (status from the first byte), decode_embed and decode_models. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_sevs(const struct hr_sev_list *l, const struct hr_stream_dec *st)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hr_sev *e = &l->v[i];
		switch (e->type) {
		case HR_SEV_TOOL_START:
			assert(e->index < st->n_tools && e->id.len > 0 && e->name.len > 0);
			break;
		case HR_SEV_TOOL_ARGS: assert(e->index < st->n_tools && e->text.len >= 2); break;
		case HR_SEV_FINISH:
			assert(e->finish != HR_FIN_NONE && e->finish_reason &&
			       strlen(e->finish_reason) <= 64);
			break;
		case HR_SEV_USAGE:
			assert(e->usage.present && e->usage.prompt_tokens >= 0 &&
			       e->usage.completion_tokens >= e->usage.reasoning_tokens);
			break;
		case HR_SEV_ERROR: assert(e->err < 0 && e->text.len <= 500); break;
		case HR_SEV_DONE: assert(0 && "gemini streams have no end marker"); break;
		default: break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	const struct hr_provider_ops *g = &hr_provider_gemini;
	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return 0;
	const char *msg = NULL;

	struct hr_chat_resp res;
	int rc = g->decode_chat(a, body, size, &res, &msg);
	assert(rc == 0 ||
	       ((rc == HR_EUPSTREAM_BAD || rc == HR_EINVAL || rc == HR_EUPSTREAM) && msg));
	if (rc == 0) {
		assert(res.usage.prompt_tokens >= 0 && res.usage.completion_tokens >= 0);
		assert(!res.finish_reason || strlen(res.finish_reason) <= 64);
		for (size_t i = 0; i < res.n_parts; i++)
			assert(res.parts[i].type == HR_PART_TEXT ||
			       (res.parts[i].type == HR_PART_TOOL_CALL && res.parts[i].id.len));
	}

	struct hr_stream_dec st = {0};
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		struct hr_sev_list l = {0};
		rc = g->decode_stream(a, &st, NULL, body + start, i - start, &l, &msg);
		assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
		if (rc == 0)
			check_sevs(&l, &st);
		start = i + 1;
	}

	long status = size ? 300 + (long)data[0] * 2 : 500; /* 300..810 */
	rc = g->map_error(a, status, body, size, &msg);
	assert(rc < 0);
	assert(!msg || strlen(msg) <= 500);

	struct hr_embed_resp er;
	rc = g->decode_embed(a, body, size, &er, &msg);
	assert(rc == 0 ? er.n > 0 : (rc == HR_EUPSTREAM_BAD && msg));
	for (size_t i = 0; rc == 0 && i < er.n; i++)
		assert(json_is_array(er.vectors[i]));

	struct hr_str *ids;
	size_t n;
	rc = g->decode_models(a, body, size, &ids, &n, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	for (size_t i = 0; rc == 0 && i < n; i++)
		assert(ids[i].len > 0);

	hr_arena_destroy(a);
	return 0;
}
