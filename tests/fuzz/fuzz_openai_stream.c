/* fuzz_openai_stream.c - libFuzzer target: the OpenAI codec's full decoders on any provider
 * bytes: the input split at newlines is one stream (decode_stream, event by event, with its
 * state), and the whole input is an answer, an embeddings answer, a model list and an error
 * body (map_error with a status from the first byte). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_events(const struct hr_stream_dec *st, const struct hr_sev_list *l,
                         size_t *starts)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct hr_sev *e = &l->v[i];
		switch (e->type) {
		case HR_SEV_TOOL_START:
			/* calls are numbered 0, 1, ... in the order they start */
			assert(e->index == (*starts)++);
			assert(e->id.len > 0 && e->name.len > 0);
			break;
		case HR_SEV_TOOL_ARGS:
			assert(e->index < st->n_tools);
			assert(e->text.len > 0 && e->text.ptr);
			break;
		case HR_SEV_TEXT: assert(e->text.len > 0 && e->text.ptr); break;
		case HR_SEV_FINISH:
			assert(st->finished && e->finish != HR_FIN_NONE);
			assert(e->finish_reason && strlen(e->finish_reason) <= 64);
			break;
		case HR_SEV_USAGE:
			assert(e->usage.present && e->usage.prompt_tokens >= 0 &&
			       e->usage.completion_tokens >= 0);
			break;
		case HR_SEV_ERROR: assert(e->err < 0 && e->text.ptr && e->text.len <= 500); break;
		case HR_SEV_START:
		case HR_SEV_DONE: break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct hr_arena *a = hr_arena_create(64u << 20);
	if (!a)
		return 0;
	const struct hr_provider_ops *ops = &hr_provider_openai;
	const char *msg = NULL;
	int rc;

	/* one stream: each line is an event's data; a line starting with '!' is an
	 * "event: error" */
	struct hr_stream_dec st = {0};
	size_t starts = 0;
	for (size_t off = 0; off < size;) {
		const char *nl = memchr(body + off, '\n', size - off);
		size_t end = nl ? (size_t)(nl - body) : size;
		const char *ev = NULL, *line = body + off;
		size_t n = end - off;
		if (n && line[0] == '!')
			ev = "error", line++, n--;
		struct hr_sev_list l = {0};
		msg = NULL;
		rc = ops->decode_stream(a, &st, ev, line, n, &l, &msg);
		assert(rc == 0 || ((rc == HR_EUPSTREAM_BAD || rc == HR_ENOMEM) && msg));
		if (rc)
			break; /* the transport ends a stream the decoder refused */
		check_events(&st, &l, &starts);
		assert(starts == st.n_tools);
		off = end + 1;
	}

	struct hr_chat_resp res;
	rc = ops->decode_chat(a, body, size, &res, &msg);
	assert(rc == 0 ||
	       ((rc == HR_EUPSTREAM_BAD || rc == HR_EUPSTREAM || rc == HR_ENOMEM) && msg));
	if (rc == 0) {
		assert(res.usage.prompt_tokens >= 0 && res.usage.completion_tokens >= 0);
		assert(!res.finish_reason || strlen(res.finish_reason) <= 64);
		for (size_t i = 0; i < res.n_parts; i++)
			assert(res.parts[i].type == HR_PART_TEXT ||
			       (res.parts[i].type == HR_PART_TOOL_CALL && res.parts[i].id.len &&
			        res.parts[i].name.len && res.parts[i].arguments.ptr));
	}

	struct hr_embed_resp er;
	rc = ops->decode_embed(a, body, size, &er, &msg);
	assert(rc == 0 ||
	       ((rc == HR_EUPSTREAM_BAD || rc == HR_EUPSTREAM || rc == HR_ENOMEM) && msg));
	for (size_t i = 0; rc == 0 && i < er.n; i++)
		assert(json_is_array(er.vectors[i]));

	struct hr_str *ids;
	size_t n;
	rc = ops->decode_models(a, body, size, &ids, &n, &msg);
	assert(rc == 0 || ((rc == HR_EUPSTREAM_BAD || rc == HR_ENOMEM) && msg));
	for (size_t i = 0; rc == 0 && i < n; i++)
		assert(ids[i].len > 0);

	long status = size ? 300 + (long)data[0] * 2 : 500; /* 300..810 */
	msg = NULL;
	rc = ops->map_error(a, status, body, size, &msg);
	assert(rc < 0);
	assert(!msg || strlen(msg) <= 500);

	hr_arena_destroy(a);
	return 0;
}
