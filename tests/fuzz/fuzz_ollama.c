/* fuzz_ollama.c - libFuzzer target: the Ollama codec's decoders on any provider answer
 * (decode_chat, decode_embed, decode_models, map_error with a status from the first byte, and
 * decode_stream fed the input's lines one by one, as the NDJSON transport would). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_chat(struct hr_arena *a, const char *body, size_t size)
{
	struct hr_chat_resp res;
	const char *msg = NULL;
	int rc = hr_provider_ollama.decode_chat(a, body, size, &res, &msg);
	assert(rc == 0 || ((rc == HR_EUPSTREAM_BAD || rc == HR_EUPSTREAM) && msg));
	if (rc != 0) {
		assert(res.n_parts == 0);
		return;
	}
	assert(res.finish == HR_FIN_STOP || res.finish == HR_FIN_LENGTH ||
	       res.finish == HR_FIN_TOOL_CALLS);
	assert(!res.finish_reason || strlen(res.finish_reason) <= 64);
	assert(res.usage.prompt_tokens >= 0 && res.usage.completion_tokens >= 0);
	size_t bytes = 0;
	for (size_t i = 0; i < res.n_parts; i++) {
		const struct hr_part *p = &res.parts[i];
		if (p->type == HR_PART_TOOL_CALL) {
			assert(p->id.len > 0 && p->name.len > 0 && p->arguments.len >= 2);
			assert(p->arguments.ptr[0] == '{');
			bytes += p->arguments.len;
		} else {
			assert(p->type == HR_PART_TEXT && p->text.len > 0);
			bytes += p->text.len;
		}
	}
	assert(bytes == res.completion_bytes);
}

static void check_stream(struct hr_arena *a, const char *body, size_t size)
{
	struct hr_stream_dec st = {0};
	size_t started = 0, prev_tools = 0;
	const char *p = body, *end = body + size;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct hr_sev_list out = {0};
		const char *msg = NULL;
		int rc = hr_provider_ollama.decode_stream(a, &st, NULL, p, len, &out, &msg);
		assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
		assert(rc == 0 || out.n == 0);
		for (size_t i = 0; i < out.n; i++) {
			const struct hr_sev *e = &out.v[i];
			switch (e->type) {
			case HR_SEV_START: started++; break;
			case HR_SEV_TOOL_START:
				assert(e->index == prev_tools && e->id.len && e->name.len);
				prev_tools++;
				break;
			case HR_SEV_TOOL_ARGS:
				assert(e->index + 1 == prev_tools && e->text.len >= 2);
				break;
			case HR_SEV_FINISH:
				assert(st.finished);
				assert(!e->finish_reason || strlen(e->finish_reason) <= 64);
				break;
			case HR_SEV_USAGE: assert(e->usage.present); break;
			case HR_SEV_ERROR:
				assert(e->err == HR_EUPSTREAM && e->text.len && e->text.len <= 500);
				break;
			case HR_SEV_TEXT: assert(e->text.len > 0); break;
			case HR_SEV_DONE: break;
			}
		}
		assert(st.n_tools == prev_tools);
		assert(started <= 1);
		if (!nl)
			break;
		p = nl + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return 0;
	check_chat(a, body, size);
	check_stream(a, body, size);

	const char *msg = NULL;
	struct hr_embed_resp er;
	int rc = hr_provider_ollama.decode_embed(a, body, size, &er, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	for (size_t i = 0; rc == 0 && i < er.n; i++)
		assert(json_is_array(er.vectors[i]));

	struct hr_str *ids;
	size_t n;
	rc = hr_provider_ollama.decode_models(a, body, size, &ids, &n, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg));
	for (size_t i = 0; rc == 0 && i < n; i++)
		assert(ids[i].len > 0);

	long status = size ? 300 + (long)data[0] * 2 : 500; /* 300..810 */
	msg = NULL;
	rc = hr_provider_ollama.map_error(a, status, body, size, &msg);
	assert(rc < 0);
	assert(!msg || strlen(msg) <= 500);

	hr_arena_destroy(a);
	return 0;
}
