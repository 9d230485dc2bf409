/* fuzz_anthropic_request.c - libFuzzer target: hr_chat_parse_anthropic on any bytes, with the
 * default limits; on what it accepts, an answer and a stream built from the request's own text
 * and tool calls are rendered for both dialects (every rendered body must be JSON again). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "providers/chat.h"
#include "providers/dialect.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void assert_json_object(const char *p, size_t n)
{
	json_t *j = json_loadb(p, n, 0, NULL);
	assert(json_is_object(j));
	json_decref(j);
}

/* Every "data: " line of rendered SSE is a JSON object; "event: " lines name its type. */
static void check_sse(const struct hr_buf *b)
{
	const char *p = b->ptr ? b->ptr : "", *end = p + b->len;
	const char *event = NULL;
	size_t event_len = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		assert(nl);
		if (nl == p) {
			event = NULL;
		} else if (strncmp(p, "event: ", 7) == 0) {
			event = p + 7;
			event_len = (size_t)(nl - event);
		} else {
			assert(strncmp(p, "data: ", 6) == 0);
			json_t *j = json_loadb(p + 6, (size_t)(nl - p - 6), 0, NULL);
			assert(json_is_object(j));
			if (event) {
				const char *ty = json_string_value(json_object_get(j, "type"));
				assert(ty && strlen(ty) == event_len &&
				       memcmp(ty, event, event_len) == 0);
			}
			json_decref(j);
		}
		p = nl + 1;
	}
}

/* Length of the longest prefix of s no longer than max that ends on a UTF-8 boundary. */
static size_t utf8_cut(struct hr_str s, size_t max)
{
	if (max >= s.len)
		return s.len;
	while (max > 0 && ((unsigned char)s.ptr[max] & 0xC0) == 0x80)
		max--;
	return max;
}

static void render_stream(struct hr_arena *a, enum hr_dialect d, const struct hr_chat_req *rq,
                          const struct hr_part *parts, size_t n)
{
	struct hr_render r;
	hr_render_init(&r, d, "id-fuzz", rq->model, 1700000000, rq->stream);
	struct hr_buf out = HR_BUF_INIT(HR_DEF_MAX_BODY_BYTES * 4);
	struct hr_sev ev = {.type = HR_SEV_START, .id = HR_STR("up"), .name = HR_STR("up-model")};
	int rc = hr_render_event(a, &r, &ev, &out);
	size_t tool = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const struct hr_part *p = &parts[i];
		if (p->type == HR_PART_TEXT) {
			/* in pieces of up to 7 bytes, cut on character boundaries */
			struct hr_str rest = p->text;
			while (rest.len && rc == 0) {
				size_t k = utf8_cut(rest, 7);
				if (!k)
					k = rest.len;
				ev = (struct hr_sev){.type = HR_SEV_TEXT, .text = {rest.ptr, k}};
				rc = hr_render_event(a, &r, &ev, &out);
				rest.ptr += k, rest.len -= k;
			}
		} else {
			ev = (struct hr_sev){
			    .type = HR_SEV_TOOL_START, .index = tool, .id = p->id, .name = p->name};
			if ((rc = hr_render_event(a, &r, &ev, &out)) == 0) {
				size_t k = utf8_cut(p->arguments, p->arguments.len / 2);
				struct hr_str halves[2] = {
				    {p->arguments.ptr, k},
				    {p->arguments.ptr + k, p->arguments.len - k}};
				for (int h = 0; h < 2 && rc == 0; h++) {
					ev = (struct hr_sev){.type = HR_SEV_TOOL_ARGS,
					                     .index = tool,
					                     .text = halves[h]};
					rc = hr_render_event(a, &r, &ev, &out);
				}
			}
			tool++;
		}
	}
	struct hr_sev tail[] = {
	    {.type = HR_SEV_USAGE,
	     .usage = {.prompt_tokens = (int64_t)rq->prompt_bytes, .present = true}},
	    {.type = HR_SEV_FINISH,
	     .finish = tool ? HR_FIN_TOOL_CALLS : HR_FIN_STOP,
	     .stop_sequence = rq->n_stop ? rq->stop[0] : (struct hr_str){"", 0}},
	    {.type = HR_SEV_USAGE, .usage = {.completion_tokens = 3, .present = true}},
	};
	for (size_t i = 0; i < sizeof tail / sizeof tail[0] && rc == 0; i++)
		rc = hr_render_event(a, &r, &tail[i], &out);
	if (rc == 0)
		rc = hr_render_end(a, &r, &out);
	assert(rc == 0);
	check_sse(&out);
	hr_buf_release(&out);
}

static void render_all(struct hr_arena *a, const struct hr_chat_req *rq)
{
	/* the answer: the request's text and tool calls, in order */
	size_t n = 0;
	for (size_t i = 0; i < rq->n_msgs; i++)
		n += rq->msgs[i].n_parts;
	struct hr_part *parts = hr_arena_calloc(a, (n ? n : 1) * sizeof *parts);
	if (!parts)
		return;
	size_t k = 0;
	for (size_t i = 0; i < rq->n_msgs; i++) {
		const struct hr_msg *m = &rq->msgs[i];
		for (size_t j = 0; j < m->n_parts; j++) {
			const struct hr_part *p = &m->parts[j];
			if (p->type == HR_PART_TEXT || p->type == HR_PART_TOOL_CALL)
				parts[k++] = *p;
			if (p->type == HR_PART_TOOL_CALL) { /* compact JSON of an input object */
				json_t *j2 =
				    json_loadb(p->arguments.ptr, p->arguments.len, 0, NULL);
				assert(json_is_object(j2));
				json_decref(j2);
			}
			if (p->type == HR_PART_TOOL_RESULT)
				assert(m->role == HR_ROLE_TOOL && p->id.len > 0);
		}
	}
	struct hr_chat_resp res = {.parts = parts,
	                           .n_parts = k,
	                           .finish = HR_FIN_STOP,
	                           .stop_sequence =
	                               rq->n_stop ? rq->stop[0] : (struct hr_str){"", 0},
	                           .usage = {.prompt_tokens = (int64_t)rq->prompt_bytes,
	                                     .completion_tokens = (int64_t)k,
	                                     .present = true}};
	for (int d = HR_DIALECT_OPENAI; d <= HR_DIALECT_ANTHROPIC; d++) {
		struct hr_buf out = HR_BUF_INIT(HR_DEF_MAX_BODY_BYTES * 4);
		int rc = hr_render_resp(a, (enum hr_dialect)d, &res, "id-fuzz", rq->model,
		                        1700000000, &out);
		assert(rc == 0);
		assert_json_object(out.ptr, out.len);
		hr_buf_release(&out);
		render_stream(a, (enum hr_dialect)d, rq, parts, k);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hr_chat_limits lim = {HR_DEF_MAX_MESSAGES, HR_DEF_MAX_TOOLS,
	                                          HR_DEF_MAX_JSON_DEPTH};
	struct hr_arena *a = hr_arena_create(HR_DEF_REQUEST_MEMORY_BYTES);
	if (!a)
		return 0;
	struct hr_chat_req rq;
	const char *msg = NULL, *param = NULL;
	int rc = hr_chat_parse_anthropic(a, (const char *)data, size, &lim, &rq, &msg, &param);
	if (rc != 0) {
		assert(rc < 0 && msg && msg[0]);
		for (const char *p = msg; *p; p++) /* our messages never carry raw input bytes */
			assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
		/* the error as each dialect's client sees it */
		for (int d = HR_DIALECT_OPENAI; d <= HR_DIALECT_ANTHROPIC; d++) {
			struct hr_buf out = HR_BUF_INIT(1 << 16);
			assert(hr_render_error((enum hr_dialect)d, rc, msg, param, &out) == 0);
			assert_json_object(out.ptr, out.len);
			hr_buf_release(&out);
		}
	} else {
		assert(rq.dialect == HR_DIALECT_ANTHROPIC);
		assert(rq.model && rq.model[0] && rq.max_tokens > 0 && rq.n_messages > 0);
		assert(json_is_object(rq.body));
		assert(rq.n_stop <= HR_CHAT_MAX_STOP);
		assert(rq.n_tools <= HR_DEF_MAX_TOOLS);
		assert(rq.tool_choice != HR_TC_NAMED || rq.tool_choice_name.len > 0);
		render_all(a, &rq);
	}
	hr_arena_destroy(a);
	return 0;
}
