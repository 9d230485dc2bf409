/* fuzz_anthropic.c - libFuzzer target: the Anthropic codec's decoders on any provider bytes:
 * decode_chat, decode_models, map_error (status from the first byte), the whole input as one
 * stream event, and the input as an SSE stream whose events go to decode_stream in order. */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "http/sse.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	struct hr_arena *a;
	struct hr_stream_dec st;
};

static void check_events(const struct hr_stream_dec *st, const struct hr_sev_list *out)
{
	for (size_t i = 0; i < out->n; i++) {
		const struct hr_sev *e = &out->v[i];
		switch (e->type) {
		case HR_SEV_TOOL_START:
		case HR_SEV_TOOL_ARGS: assert(e->index < st->n_tools); break;
		case HR_SEV_FINISH:
			assert(e->finish != HR_FIN_NONE && e->finish_reason);
			assert(strlen(e->finish_reason) <= 64);
			break;
		case HR_SEV_USAGE:
			assert(e->usage.present && e->usage.prompt_tokens >= 0);
			assert(e->usage.prompt_tokens >= e->usage.cached_tokens);
			assert(e->usage.completion_tokens >= 0);
			break;
		case HR_SEV_ERROR: assert(e->err < 0 && e->text.len <= 500 && e->text.ptr); break;
		default: break;
		}
		assert(e->text.len == 0 || e->text.ptr);
	}
}

static int decode_one(struct run *r, const char *event, const char *d, size_t len)
{
	struct hr_sev_list out = {0};
	const char *msg = NULL;
	size_t tools = r->st.n_tools;
	int rc = hr_provider_anthropic.decode_stream(r->a, &r->st, event, d, len, &out, &msg);
	assert(rc == 0 || ((rc == HR_EUPSTREAM_BAD || rc == HR_ENOMEM) && msg));
	assert(r->st.n_tools >= tools);
	if (rc == 0)
		check_events(&r->st, &out);
	return 0;
}

static int on_event(void *arg, const char *ev, size_t ev_len, const char *d, size_t len)
{
	struct run *r = arg;
	const char *name = hr_arena_strndup(r->a, ev, ev_len);
	return decode_one(r, name, d, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *)data;
	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return 0;
	const char *msg = NULL;

	struct hr_chat_resp res;
	int rc = hr_provider_anthropic.decode_chat(a, body, size, &res, &msg);
	assert(rc == 0 || msg);
	if (rc == 0) {
		assert(res.usage.prompt_tokens >= 0 && res.usage.completion_tokens >= 0);
		assert(!res.finish_reason || strlen(res.finish_reason) <= 64);
		for (size_t i = 0; i < res.n_parts; i++)
			assert(res.parts[i].type == HR_PART_TEXT ||
			       res.parts[i].type == HR_PART_TOOL_CALL);
	}

	struct hr_str *ids;
	size_t n;
	rc = hr_provider_anthropic.decode_models(a, body, size, &ids, &n, &msg);
	assert(rc == 0 || (rc == HR_EUPSTREAM_BAD && msg && n == 0));

	long status = size ? 300 + (long)data[0] * 2 : 500; /* 300..810 */
	rc = hr_provider_anthropic.map_error(a, status, body, size, &msg);
	assert(rc < 0);
	assert(!msg || strlen(msg) <= 500);

	struct run whole = {.a = a};
	decode_one(&whole, NULL, body, size);

	struct run r = {.a = a};
	struct hr_sse sse;
	hr_sse_init(&sse, 1 << 20, on_event, &r);
	hr_sse_feed(&sse, body, size);
	hr_sse_release(&sse);

	hr_arena_destroy(a);
	return 0;
}
