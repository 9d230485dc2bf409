/* test_openai.c - the OpenAI codec against real wire samples: request encoding, answers,
 * stream chunk sequences (text, tool calls, usage-only final chunk) and error bodies. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "providers/chat.h"
#include "providers/provider.h"

static const struct hr_chat_limits deflim = {HR_DEF_MAX_MESSAGES, HR_DEF_MAX_TOOLS,
                                             HR_DEF_MAX_JSON_DEPTH};

static struct hr_conf_provider prov = {
    .id = "openai",
    .kind = "openai",
    .base_url = "https://api.openai.com/v1",
    .api_key = "sk-test-123",
};
static struct hr_conf_provider prov_nokey = {
    .id = "local",
    .kind = "openai",
    .base_url = "http://127.0.0.1:11434/v1",
};

static void parse(struct hr_arena *a, const char *body, struct hr_chat_req *rq)
{
	const char *msg, *param;
	int rc = hr_chat_parse(a, body, strlen(body), &deflim, rq, &msg, &param);
	if (rc)
		fail_msg("parse: %s", msg);
}

/* ---- encode ---- */

static void test_encode_plain(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {.name = "fast", .upstream = "gpt-4o-mini", .provider = &prov};
	struct hr_chat_req rq;
	parse(a,
	      "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	      "\"temperature\":0.2,\"x_custom\":{\"k\":[1,2]}}",
	      &rq);
	char *before = json_dumps(rq.body, JSON_COMPACT);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(hr_provider_openai.encode_chat(a, &m, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://api.openai.com/v1/chat/completions");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_string_equal(out.headers[1], "Authorization: Bearer sk-test-123");
	assert_null(out.headers[2]);
	/* jansson writes reals with 17 digits (0.2 -> 0.20000000000000001): the same double */
	json_t *sent = json_loadb(out.body.ptr, out.body.len, 0, NULL);
	json_t *want = json_loads("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
	                          "\"content\":\"hi\"}],\"temperature\":0.2,\"x_custom\":{\"k\":"
	                          "[1,2]}}",
	                          0, NULL);
	assert_true(json_equal(sent, want));
	json_decref(sent);
	json_decref(want);
	assert_true(strncmp(out.body.ptr, "{\"model\":\"gpt-4o-mini\",", 23) == 0);
	/* the client's body is untouched, so a fallback can encode it again */
	char *after = json_dumps(rq.body, JSON_COMPACT);
	assert_string_equal(before, after);
	free(before);
	free(after);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

static void test_encode_stream_merges_options(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {
	    .name = "llama3.2", .upstream = "llama3.2:3b", .provider = &prov_nokey};
	struct hr_chat_req rq;
	const char *in = "{\"model\":\"llama3.2\",\"stream\":true,\"stream_options\":{"
	                 "\"include_usage\":false,\"future_opt\":1},\"messages\":[{\"role\":"
	                 "\"user\",\"content\":\"hi\"}]}";
	parse(a, in, &rq);
	for (int round = 0; round < 2; round++) { /* encoding twice gives the same bytes */
		struct hr_http_out out = {0};
		hr_buf_init(&out.body, 1 << 20);
		const char *msg, *param;
		assert_int_equal(hr_provider_openai.encode_chat(a, &m, &rq, &out, &msg, &param), 0);
		assert_string_equal(out.url, "http://127.0.0.1:11434/v1/chat/completions");
		assert_string_equal(out.headers[0], "Content-Type: application/json");
		assert_string_equal(out.headers[1], "Accept: text/event-stream");
		assert_null(out.headers[2]);
		assert_string_equal(
		    out.body.ptr, "{\"model\":\"llama3.2:3b\",\"stream\":true,\"stream_options\":{"
		                  "\"include_usage\":true,\"future_opt\":1},\"messages\":[{"
		                  "\"role\":\"user\",\"content\":\"hi\"}]}");
		hr_buf_release(&out.body);
	}
	char *after = json_dumps(rq.body, JSON_COMPACT);
	assert_string_equal(after, in);
	free(after);
	hr_arena_destroy(a);
}

static void test_encode_stream_adds_options(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {.name = "gpt-4o", .upstream = "gpt-4o", .provider = &prov};
	struct hr_chat_req rq;
	parse(a,
	      "{\"model\":\"gpt-4o\",\"stream\":true,\"messages\":[{\"role\":\"user\","
	      "\"content\":\"hi\"}]}",
	      &rq);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(hr_provider_openai.encode_chat(a, &m, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.headers[2], "Accept: text/event-stream");
	assert_non_null(strstr(out.body.ptr, "\"stream_options\":{\"include_usage\":true}"));
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

static void test_encode_body_cap(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {.name = "gpt-4o", .upstream = "gpt-4o", .provider = &prov};
	struct hr_chat_req rq;
	parse(a,
	      "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"a long "
	      "enough prompt\"}]}",
	      &rq);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 32);
	const char *msg = NULL, *param = NULL;
	assert_int_equal(hr_provider_openai.encode_chat(a, &m, &rq, &out, &msg, &param),
	                 HR_ETOOBIG);
	assert_non_null(msg);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

/* ---- decode_chat ---- */

struct answer_case {
	const char *name;
	const char *body;
	int rc;
	bool present;
	int64_t prompt, completion, cached, reasoning;
	const char *finish;
	size_t bytes;
};

static const struct answer_case answers[] = {
    {"gpt-4o with details",
     "{\n  \"id\": \"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\n  \"object\": \"chat.completion\","
     "\n  \"created\": 1741569952,\n  \"model\": \"gpt-4.1-2025-04-14\",\n  \"choices\": [\n    {"
     "\n      \"index\": 0,\n      \"message\": {\n        \"role\": \"assistant\",\n        "
     "\"content\": \"Hello! How can I assist you today?\",\n        \"refusal\": null,\n        "
     "\"annotations\": []\n      },\n      \"logprobs\": null,\n      \"finish_reason\": "
     "\"stop\"\n    }\n  ],\n  \"usage\": {\n    \"prompt_tokens\": 2006,\n    "
     "\"completion_tokens\": 10,\n    \"total_tokens\": 2016,\n    \"prompt_tokens_details\": {"
     "\n      \"cached_tokens\": 1920,\n      \"audio_tokens\": 0\n    },\n    "
     "\"completion_tokens_details\": {\n      \"reasoning_tokens\": 0,\n      \"audio_tokens\": "
     "0,\n      \"accepted_prediction_tokens\": 0,\n      \"rejected_prediction_tokens\": 0\n"
     "    }\n  },\n  \"service_tier\": \"default\"\n}\n",
     0, true, 2006, 10, 1920, 0, "stop", 34},
    {"o3-mini with reasoning tokens",
     "{\"id\":\"chatcmpl-AyPNinnUqUDYo9SAdA52NobMflmj2\",\"object\":\"chat.completion\","
     "\"created\":1738960610,\"model\":\"o3-mini-2025-01-31\",\"choices\":[{\"index\":0,"
     "\"message\":{\"role\":\"assistant\",\"content\":\"4\",\"refusal\":null},\"finish_reason\":"
     "\"stop\"}],\"usage\":{\"prompt_tokens\":13,\"completion_tokens\":139,\"total_tokens\":152,"
     "\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
     "\"completion_tokens_details\":{\"reasoning_tokens\":128,\"audio_tokens\":0,"
     "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},\"service_tier\":"
     "\"default\",\"system_fingerprint\":\"fp_ef58bd3122\"}",
     0, true, 13, 139, 0, 128, "stop", 1},
    {"tool calls",
     "{\"id\":\"chatcmpl-abc123\",\"object\":\"chat.completion\",\"created\":1699896916,\"model\":"
     "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":"
     "null,\"tool_calls\":[{\"id\":\"call_abc123\",\"type\":\"function\",\"function\":{\"name\":"
     "\"get_current_weather\",\"arguments\":\"{\\n\\\"location\\\": \\\"Boston, MA\\\"\\n}\"}}]},"
     "\"logprobs\":null,\"finish_reason\":\"tool_calls\"}],\"usage\":{\"prompt_tokens\":82,"
     "\"completion_tokens\":17,\"total_tokens\":99,\"completion_tokens_details\":{"
     "\"reasoning_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":"
     "0}}}",
     0, true, 82, 17, 0, 0, "tool_calls", 28},
    {"ollama, no details",
     "{\"id\":\"chatcmpl-650\",\"object\":\"chat.completion\",\"created\":1737467440,\"model\":"
     "\"llama3.2\",\"system_fingerprint\":\"fp_ollama\",\"choices\":[{\"index\":0,\"message\":"
     "{\"role\":\"assistant\",\"content\":\"Hi there\"},\"finish_reason\":\"length\"}],"
     "\"usage\":{\"prompt_tokens\":26,\"completion_tokens\":2,\"total_tokens\":28}}",
     0, true, 26, 2, 0, 0, "length", 8},
    {"no usage", "{\"choices\":[{\"message\":{\"content\":\"ok\"},\"finish_reason\":null}]}", 0,
     false, 0, 0, 0, 0, NULL, 2},
    {"usage with null counts",
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":null,\"completion_tokens\":3}}", 0, false, 0, 3,
     0, 0, NULL, 0},
    {"no choices", "{\"id\":\"x\",\"object\":\"chat.completion\"}", .rc = HR_EUPSTREAM_BAD},
    {"choices not array", "{\"choices\":{}}", .rc = HR_EUPSTREAM_BAD},
    {"not json", "<html><body>502 Bad Gateway</body></html>", .rc = HR_EUPSTREAM_BAD},
    {"array", "[]", .rc = HR_EUPSTREAM_BAD},
    {"empty", "", .rc = HR_EUPSTREAM_BAD},
};

static void test_decode_chat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		const struct answer_case *c = &answers[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_result res;
		const char *msg = NULL;
		int rc = hr_openai_decode_summary(a, c->body, strlen(c->body), &res, &msg);
		if (rc != c->rc)
			fail_msg("case '%s': %s (%s)", c->name, hr_err_name(rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			hr_arena_destroy(a);
			continue;
		}
		if (res.usage.present != c->present || res.usage.prompt_tokens != c->prompt ||
		    res.usage.completion_tokens != c->completion ||
		    res.usage.cached_tokens != c->cached ||
		    res.usage.reasoning_tokens != c->reasoning)
			fail_msg("case '%s': usage %d %lld %lld %lld %lld", c->name,
			         res.usage.present, (long long)res.usage.prompt_tokens,
			         (long long)res.usage.completion_tokens,
			         (long long)res.usage.cached_tokens,
			         (long long)res.usage.reasoning_tokens);
		if (c->finish)
			assert_string_equal(res.finish_reason, c->finish);
		else
			assert_null(res.finish_reason);
		if (res.completion_bytes != c->bytes)
			fail_msg("case '%s': completion_bytes %zu, want %zu", c->name,
			         res.completion_bytes, c->bytes);
		hr_arena_destroy(a);
	}
}

/* What the jscan decoders settle on purpose: escaped keys, the last of duplicate keys,
 * content parts, strict validity, and RFC 8259 JSON that jansson refused (\u0000, numbers
 * beyond int64 or double in fields hearth does not read). */
#define X8 "xxxxxxxx"
static const struct answer_case answers_scan[] = {
    {"escaped keys",
     "{\"ch\\u006fices\":[{\"m\\u0065ssage\":{\"content\":\"H\\u00e9\"},\"fin\\u0069sh_reason\":"
     "\"st\\u006fp\"}],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":3}}",
     0, true, 7, 3, 0, 0, "stop", 3},
    {"duplicate keys: the last wins",
     "{\"choices\":{},\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":2},\"choices\":[{"
     "\"message\":{\"content\":\"aa\",\"content\":\"bbb\"},\"finish_reason\":\"stop\","
     "\"finish_reason\":\"length\"}],\"usage\":{\"prompt_tokens\":5,\"completion_tokens\":6,"
     "\"prompt_tokens\":9}}",
     0, true, 9, 6, 0, 0, "length", 3},
    {"the last choices is not an array", "{\"choices\":[],\"choices\":null}",
     .rc = HR_EUPSTREAM_BAD},
    {"content parts, refusal, tool and function arguments",
     "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"ab\"},{\"type\":"
     "\"image_url\",\"image_url\":{\"url\":\"x\"}},\"str\",{\"text\":null},{\"text\":\"cde\","
     "\"text\":\"f\"}],\"refusal\":\"sorry\",\"tool_calls\":[{\"function\":{\"name\":\"f\","
     "\"arguments\":\"{}\"}},{\"id\":\"x\"},7,{\"function\":{\"arguments\":\"[1]\"},"
     "\"function\":{\"arguments\":\"zz\"}}],\"function_call\":{\"name\":\"g\",\"arguments\":"
     "\"{\\\"a\\\":1}\"}},\"finish_reason\":\"tool_calls\"},{\"message\":{\"content\":"
     "\"second\"},\"finish_reason\":\"stop\"}]}",
     0, false, 0, 0, 0, 0, "tool_calls", 3 + 5 + 4 + 7 + 6},
    {"escaped NUL",
     "{\"choices\":[{\"message\":{\"content\":\"a\\u0000b\"},\"finish_reason\":"
     "\"st\\u0000op\"}]}",
     0, false, 0, 0, 0, 0, "st", 3},
    {"numbers beyond int64 and double elsewhere",
     "{\"choices\":[],\"seed\":123456789012345678901234567890,\"x\":1e400}", 0, false, 0, 0, 0, 0,
     NULL, 0},
    {"a token count beyond int64",
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775808,\"completion_tokens\":1}}",
     .rc = HR_EUPSTREAM_BAD},
    {"reals and negatives are not counts",
     "{\"choices\":[],\"usage\":{\"prompt_tokens\":-5,\"completion_tokens\":2.0,"
     "\"prompt_tokens_details\":{\"cached_tokens\":1e2},\"completion_tokens_details\":{"
     "\"reasoning_tokens\":-0}}}",
     0, false, 0, 0, 0, 0, NULL, 0},
    {"finish_reason cut at 64 bytes, not inside a character",
     "{\"choices\":[{\"finish_reason\":\"" X8 X8 X8 X8 X8 X8 X8 "xxxxxxx\\u00e9\\u00e9\"}]}", 0,
     false, 0, 0, 0, 0, X8 X8 X8 X8 X8 X8 X8 "xxxxxxx", 0},
    {"trailing data", "{\"choices\":[]} x", .rc = HR_EUPSTREAM_BAD},
    {"trailing comma", "{\"choices\":[],}", .rc = HR_EUPSTREAM_BAD},
    {"lone surrogate", "{\"choices\":[],\"id\":\"\\ud800\"}", .rc = HR_EUPSTREAM_BAD},
    {"invalid UTF-8", "{\"choices\":[],\"id\":\"\xff\"}", .rc = HR_EUPSTREAM_BAD},
    {"leading zero", "{\"choices\":[],\"created\":01}", .rc = HR_EUPSTREAM_BAD},
    {"top-level string", "\"choices\"", .rc = HR_EUPSTREAM_BAD},
};

static void test_decode_chat_scan(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof answers_scan / sizeof answers_scan[0]; i++) {
		const struct answer_case *c = &answers_scan[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_result res;
		const char *msg = NULL;
		int rc = hr_openai_decode_summary(a, c->body, strlen(c->body), &res, &msg);
		if (rc != c->rc)
			fail_msg("case '%s': %s (%s)", c->name, hr_err_name(rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			hr_arena_destroy(a);
			continue;
		}
		if (res.usage.present != c->present || res.usage.prompt_tokens != c->prompt ||
		    res.usage.completion_tokens != c->completion ||
		    res.usage.cached_tokens != c->cached ||
		    res.usage.reasoning_tokens != c->reasoning)
			fail_msg("case '%s': usage %d %lld %lld %lld %lld", c->name,
			         res.usage.present, (long long)res.usage.prompt_tokens,
			         (long long)res.usage.completion_tokens,
			         (long long)res.usage.cached_tokens,
			         (long long)res.usage.reasoning_tokens);
		if (c->finish)
			assert_string_equal(res.finish_reason, c->finish);
		else
			assert_null(res.finish_reason);
		if (res.completion_bytes != c->bytes)
			fail_msg("case '%s': completion_bytes %zu, want %zu", c->name,
			         res.completion_bytes, c->bytes);
		hr_arena_destroy(a);
	}
}

/* The messages say what is wrong and where, as jansson's did. */
static void test_decode_messages(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		bool stream;
		const char *want;
	} cases[] = {
	    {"<html><body>502 Bad Gateway</body></html>", false,
	     "the provider's answer is not JSON: invalid character where a value was expected "
	     "(line 1, column 1)"},
	    {"{\n  \"choices\": [\n    {\"message\": {\"content\": \"a\tb\"}}\n  ]\n}", false,
	     "the provider's answer is not JSON: control character in a string (escape it) (line "
	     "3, "
	     "column 31)"},
	    {"{\"choices\":[]", false,
	     "the provider's answer is not JSON: unterminated object (line "
	     "1, column 14)"},
	    {"", false, "the provider's answer is not JSON: no JSON value (line 1, column 1)"},
	    {"[]", false, "the provider's answer is not a JSON object"},
	    {"{}", false, "the provider's answer has no choices"},
	    {"{\"choices\":[],\"usage\":{\"prompt_tokens\":99999999999999999999}}", false,
	     "the provider's answer has a token count too large for a 64-bit integer"},
	    {"data: {}", true,
	     "a stream event from the provider is not JSON: invalid character where a value was "
	     "expected (line 1, column 1)"},
	    {"[1]", true, "a stream event from the provider is not a JSON object"},
	    {"{\"choices\":7}", true,
	     "a stream chunk from the provider has choices that are not an array"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		const char *msg = NULL;
		int rc;
		if (cases[i].stream) {
			struct hr_stream_ev ev;
			rc = hr_openai_decode_stream_summary(a, cases[i].body,
			                                     strlen(cases[i].body), &ev, &msg);
		} else {
			struct hr_chat_result res;
			rc = hr_openai_decode_summary(a, cases[i].body, strlen(cases[i].body), &res,
			                              &msg);
		}
		assert_int_equal(rc, HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		if (strcmp(msg, cases[i].want) != 0)
			fail_msg("case %zu: '%s', want '%s'", i, msg, cases[i].want);
		hr_arena_destroy(a);
	}
}

/* ---- decode_stream_event ---- */

struct ev_case {
	const char *data;
	int rc;
	enum hr_stream_ev_type type;
	bool usage_only, present;
	int64_t prompt, completion, cached, reasoning;
	const char *finish;
	size_t delta_bytes;
	const char *error;
};

#define HDR                                                                                        \
	"{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","     \
	"\"system_fingerprint\":\"fp_f9f4fb6dbf\","

/* One text stream with stream_options.include_usage, as OpenAI sends it. */
static const struct ev_case text_stream[] = {
    {.data = HDR "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\","
                 "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}"},
    {HDR "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,"
         "\"finish_reason\":null}],\"usage\":null}",
     .delta_bytes = 5},
    {HDR "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"! How can I help?\"},"
         "\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}",
     .delta_bytes = 17},
    {HDR "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":\"stop\"}],"
         "\"usage\":null}",
     .finish = "stop"},
    {HDR "\"choices\":[],\"usage\":{\"prompt_tokens\":19,\"completion_tokens\":10,"
         "\"total_tokens\":29,\"prompt_tokens_details\":{\"cached_tokens\":0,\"audio_tokens\":0},"
         "\"completion_tokens_details\":{\"reasoning_tokens\":0,\"audio_tokens\":0,"
         "\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}}}",
     .usage_only = true, .present = true, .prompt = 19, .completion = 10},
    {"[DONE]", .type = HR_FWD_DONE},
};

#define THDR                                                                                       \
	"{\"id\":\"chatcmpl-AzBoGrEDcBrFJQGXEWyUYXWJ7hbGh\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1739203316,\"model\":\"gpt-4o-mini-2024-07-18\",\"system_fingerprint\":"      \
	"\"fp_72ed7ab54c\","
#define TARGS(s)                                                                                   \
	THDR "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":{"    \
	     "\"arguments\":\"" s "\"}}]},\"logprobs\":null,\"finish_reason\":null}]}"

/* A tool call streamed in pieces: arguments are {"location":"Paris, France"}. */
static const struct ev_case tool_stream[] = {
    {.data = THDR "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":null,"
                  "\"tool_calls\":[{\"index\":0,\"id\":\"call_DdmO9pD3xa9XTPNJ32zg2hcA\",\"type\":"
                  "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"\"}}],"
                  "\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}]}"},
    {TARGS("{\\\""), .delta_bytes = 2},
    {TARGS("location"), .delta_bytes = 8},
    {TARGS("\\\":\\\""), .delta_bytes = 3},
    {TARGS("Paris"), .delta_bytes = 5},
    {TARGS(","), .delta_bytes = 1},
    {TARGS(" France"), .delta_bytes = 7},
    {TARGS("\\\"}"), .delta_bytes = 2},
    {THDR "\"choices\":[{\"index\":0,\"delta\":{},\"logprobs\":null,\"finish_reason\":"
          "\"tool_calls\"}]}",
     .finish = "tool_calls"},
    {"[DONE]", .type = HR_FWD_DONE},
};

/* Other providers and the odd cases. */
static const struct ev_case misc_events[] = {
    /* vLLM ends with usage and "choices" left out */
    {"{\"id\":\"cmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
     "\"usage\":{\"prompt_tokens\":5,\"total_tokens\":12,\"completion_tokens\":7}}",
     .usage_only = true, .present = true, .prompt = 5, .completion = 7},
    /* usage on the last content chunk (some providers) */
    {"{\"choices\":[{\"index\":0,\"delta\":{\"content\":\"!\"},\"finish_reason\":\"length\"}],"
     "\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4,\"completion_tokens_details\":{"
     "\"reasoning_tokens\":2}}}",
     .present = true, .prompt = 3, .completion = 4, .reasoning = 2, .finish = "length",
     .delta_bytes = 1},
    {"[DONE]\n", .type = HR_FWD_DONE},
    {" [DONE]", .type = HR_FWD_DONE},
    {"{\"error\":{\"message\":\"The server had an error while processing your request. Sorry "
     "about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}",
     .type = HR_FWD_ERROR,
     .error = "The server had an error while processing your request. Sorry about that!"},
    {"{\"error\":\"model 'llama9' not found\"}", .type = HR_FWD_ERROR,
     .error = "model 'llama9' not found"},
    {"{\"error\":{\"code\":500}}", .type = HR_FWD_ERROR,
     .error = "the provider reported an error in the stream"},
    {"{\"error\":null,\"choices\":[]}", .usage_only = true},
    {.data = "{}"},
    {"not json", .rc = HR_EUPSTREAM_BAD},
    {"", .rc = HR_EUPSTREAM_BAD},
    {"[1]", .rc = HR_EUPSTREAM_BAD},
    {"{\"choices\":\"x\"}", .rc = HR_EUPSTREAM_BAD},
    {"{\"choices\":[{\"delta\":{\"content\":[{\"type\":\"text\",\"text\":\"abc\"}]}}]}",
     .delta_bytes = 3},
};

static void check_events(const char *name, const struct ev_case *cases, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct ev_case *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_stream_ev ev;
		const char *msg = NULL;
		int rc = hr_openai_decode_stream_summary(a, c->data, strlen(c->data), &ev, &msg);
		if (rc != c->rc)
			fail_msg("%s[%zu]: %s (%s)", name, i, hr_err_name(rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			hr_arena_destroy(a);
			continue;
		}
		if (ev.type != c->type || ev.usage_only != c->usage_only ||
		    ev.usage.present != c->present || ev.usage.prompt_tokens != c->prompt ||
		    ev.usage.completion_tokens != c->completion ||
		    ev.usage.cached_tokens != c->cached ||
		    ev.usage.reasoning_tokens != c->reasoning || ev.delta_bytes != c->delta_bytes)
			fail_msg("%s[%zu]: type %d usage_only %d present %d %lld/%lld delta %zu",
			         name, i, ev.type, ev.usage_only, ev.usage.present,
			         (long long)ev.usage.prompt_tokens,
			         (long long)ev.usage.completion_tokens, ev.delta_bytes);
		if (c->finish)
			assert_string_equal(ev.finish_reason, c->finish);
		else
			assert_null(ev.finish_reason);
		if (c->error)
			assert_string_equal(ev.error_msg, c->error);
		else
			assert_null(ev.error_msg);
		hr_arena_destroy(a);
	}
}

static void test_stream_text(void **state)
{
	(void)state;
	check_events("text", text_stream, sizeof text_stream / sizeof text_stream[0]);
}

static void test_stream_tool_calls(void **state)
{
	(void)state;
	check_events("tools", tool_stream, sizeof tool_stream / sizeof tool_stream[0]);
	size_t total = 0;
	for (size_t i = 0; i < sizeof tool_stream / sizeof tool_stream[0]; i++)
		total += tool_stream[i].delta_bytes;
	assert_int_equal(total, strlen("{\"location\":\"Paris, France\"}"));
}

static void test_stream_misc(void **state)
{
	(void)state;
	check_events("misc", misc_events, sizeof misc_events / sizeof misc_events[0]);
}

/* ---- map_error ---- */

struct err_case {
	long status;
	const char *body;
	int rc;
	const char *msg; /* NULL: none */
};

static const struct err_case errors[] = {
    {401,
     "{\n    \"error\": {\n        \"message\": \"Incorrect API key provided: sk-proj-****abcd. "
     "You can find your API key at https://platform.openai.com/account/api-keys.\",\n        "
     "\"type\": \"invalid_request_error\",\n        \"param\": null,\n        \"code\": "
     "\"invalid_api_key\"\n    }\n}\n",
     HR_EUPSTREAM_AUTH,
     "Incorrect API key provided: sk-proj-****abcd. You can find your API key at "
     "https://platform.openai.com/account/api-keys."},
    {404,
     "{\"error\":{\"message\":\"The model `gpt-5-turbo` does not exist or you do not have access "
     "to it.\",\"type\":\"invalid_request_error\",\"param\":null,\"code\":\"model_not_found\"}}",
     HR_EUPSTREAM_NOTFOUND,
     "The model `gpt-5-turbo` does not exist or you do not have access to it."},
    {400,
     "{\"error\":{\"message\":\"This model's maximum context length is 128000 tokens. However, "
     "your messages resulted in 130567 tokens. Please reduce the length of the messages.\","
     "\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":"
     "\"context_length_exceeded\"}}",
     HR_EINVAL,
     "This model's maximum context length is 128000 tokens. However, your messages resulted in "
     "130567 tokens. Please reduce the length of the messages."},
    {429,
     "{\"error\":{\"message\":\"Rate limit reached for gpt-4o in organization org-abc on tokens "
     "per min (TPM): Limit 30000, Used 28000, Requested 4000. Please try again in 4s.\","
     "\"type\":\"tokens\",\"param\":null,\"code\":\"rate_limit_exceeded\"}}",
     HR_ERATELIMIT,
     "Rate limit reached for gpt-4o in organization org-abc on tokens per min (TPM): Limit "
     "30000, Used 28000, Requested 4000. Please try again in 4s."},
    {429,
     "{\"error\":{\"message\":\"You exceeded your current quota, please check your plan and "
     "billing details.\",\"type\":\"insufficient_quota\",\"param\":null,\"code\":"
     "\"insufficient_quota\"}}",
     HR_ERATELIMIT, "You exceeded your current quota, please check your plan and billing details."},
    {500,
     "{\"error\":{\"message\":\"The server had an error while processing your request. Sorry "
     "about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}",
     HR_EUPSTREAM, "The server had an error while processing your request. Sorry about that!"},
    {503,
     "{\"error\":{\"message\":\"The engine is currently overloaded, please try again later\","
     "\"type\":\"server_error\",\"param\":null,\"code\":null}}",
     HR_EOVERLOADED, "The engine is currently overloaded, please try again later"},
    {404, "{\"error\":\"model \\\"llama9\\\" not found, try pulling it first\"}",
     HR_EUPSTREAM_NOTFOUND, "model \"llama9\" not found, try pulling it first"},
    {400,
     "{\"object\":\"error\",\"message\":\"This model's maximum context length is 4096 tokens.\","
     "\"type\":\"BadRequestError\",\"param\":null,\"code\":400}",
     HR_EINVAL, "This model's maximum context length is 4096 tokens."},
    {403, "{\"error\":{\"message\":\"Project does not have access to model\"}}", HR_EUPSTREAM_AUTH,
     "Project does not have access to model"},
    {409, "{}", HR_EUPSTREAM, NULL},
    {422, "{\"detail\":[{\"loc\":[\"body\"],\"msg\":\"field required\"}]}", HR_EINVAL, NULL},
    {413, "<html>413 Request Entity Too Large</html>", HR_ETOOBIG, NULL},
    {408, "", HR_ETIMEOUT, NULL},
    {504, "<html><body><h1>504 Gateway Time-out</h1></body></html>", HR_ETIMEOUT, NULL},
    {502, "Bad Gateway", HR_EUPSTREAM, NULL},
    {529, "{\"error\":{\"message\":\"Overloaded\"}}", HR_EOVERLOADED, "Overloaded"},
    {507, "", HR_EUPSTREAM, NULL},
    {418, "{\"error\":{\"message\":\"\"}}", HR_EUPSTREAM, NULL},
    {302, "", HR_EUPSTREAM, NULL},
    {400, "{\"error\":{\"message\":42}}", HR_EINVAL, NULL},
};

static void test_map_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		const struct err_case *c = &errors[i];
		struct hr_arena *a = hr_arena_create(0);
		const char *msg = "unset";
		int rc = hr_provider_openai.map_error(a, c->status, c->body, strlen(c->body), &msg);
		if (rc != c->rc)
			fail_msg("case %zu (%ld): %s, want %s", i, c->status, hr_err_name(rc),
			         hr_err_name(c->rc));
		if (c->msg)
			assert_string_equal(msg, c->msg);
		else if (msg)
			fail_msg("case %zu: message '%s', want none", i, msg);
		hr_arena_destroy(a);
	}
}

static void test_map_error_truncates(void **state)
{
	(void)state;
	/* 300 two-byte characters: truncation at 500 bytes must not split one */
	char body[1024];
	size_t n = 0;
	n += (size_t)snprintf(body, sizeof body, "{\"error\":{\"message\":\"");
	for (int i = 0; i < 300; i++) {
		body[n++] = (char)0xc3;
		body[n++] = (char)0xa9;
	}
	n += (size_t)snprintf(body + n, sizeof body - n, "\"}}");
	struct hr_arena *a = hr_arena_create(0);
	const char *msg;
	assert_int_equal(hr_provider_openai.map_error(a, 500, body, n, &msg), HR_EUPSTREAM);
	assert_int_equal(strlen(msg), 500);
	assert_int_equal((unsigned char)msg[498], 0xc3);
	/* one more leading byte shifts the cut onto a character's second byte */
	size_t start = strlen("{\"error\":{\"message\":\"");
	memmove(body + start + 1, body + start, n - start);
	body[start] = 'x';
	n++;
	assert_int_equal(hr_provider_openai.map_error(a, 500, body, n, &msg), HR_EUPSTREAM);
	assert_int_equal(strlen(msg), 499);
	hr_arena_destroy(a);
}

/* ---- registry ---- */

static void test_registry(void **state)
{
	(void)state;
	assert_ptr_equal(hr_provider_find("openai"), &hr_provider_openai);
	assert_null(hr_provider_find("vertex"));
	assert_null(hr_provider_find(""));
	assert_null(hr_provider_find(NULL));
	/* every kind named in messages can be found */
	char kinds[256];
	snprintf(kinds, sizeof kinds, "%s", hr_provider_kinds());
	char *save = NULL;
	for (char *k = strtok_r(kinds, ", ", &save); k; k = strtok_r(NULL, ", ", &save))
		assert_non_null(hr_provider_find(k));
	assert_string_equal(hr_provider_openai.models_path, "/models");
}

/* ==== the canonical codec: clients of other dialects ==== */

static struct hr_conf_model m_canon = {
    .name = "fast", .upstream = "gpt-4o-mini", .provider = &prov};

/* A canonical request as the Anthropic dialect gives it: nothing set. */
static void canon_init(struct hr_chat_req *rq, struct hr_msg *msgs, size_t n)
{
	memset(rq, 0, sizeof *rq);
	rq->dialect = HR_DIALECT_ANTHROPIC;
	rq->model = "fast";
	rq->msgs = msgs;
	rq->n_msgs = n;
	rq->parallel_tool_calls = -1;
	rq->top_k = -1;
	rq->max_tokens = -1;
}

#define S(lit) HR_STR(lit)
#define TEXT(t)                                                                                    \
	{                                                                                          \
		.type = HR_PART_TEXT, .text = S(t)                                                 \
	}

static void assert_json(const struct hr_buf *b, const char *want)
{
	json_error_t e;
	json_t *got = json_loadb(b->ptr, b->len, 0, &e), *w = json_loads(want, 0, &e);
	if (!w)
		fail_msg("bad expected JSON: %s", e.text);
	if (!json_equal(got, w)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *x = json_dumps(w, JSON_COMPACT | JSON_SORT_KEYS);
		fail_msg("sent\n%s\nwant\n%s", g, x);
	}
	json_decref(got);
	json_decref(w);
}

static int encode(struct hr_arena *a, const struct hr_conf_model *m, const struct hr_chat_req *rq,
                  struct hr_http_out *out, const char **msg, const char **param)
{
	memset(out, 0, sizeof *out);
	hr_buf_init(&out->body, 1 << 20);
	return hr_provider_openai.encode_chat(a, m, rq, out, msg, param);
}

/* A whole tool-use conversation from an Anthropic client, with every setting. */
static void test_canon_encode_full(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part sys[] = {TEXT("You are terse.")};
	struct hr_part u1[] = {TEXT("Weather in Paris and Bogota?")};
	struct hr_part as1[] = {
	    TEXT("Checking both."),
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_1"),
	     .name = S("get_weather"),
	     .arguments = S("{\"location\":\"Paris, France\"}")},
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_2"),
	     .name = S("get_weather"),
	     .arguments = S("")},
	};
	struct hr_part res[] = {
	    {.type = HR_PART_TOOL_RESULT, .id = S("call_1"), .text = S("18C sunny")},
	    {.type = HR_PART_TOOL_RESULT,
	     .id = S("call_2"),
	     .text = S("timeout"),
	     .is_error = true},
	};
	struct hr_part as2[] = {
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_3"),
	     .name = S("get_weather"),
	     .arguments = S("{\"location\":\"Bogota\"}")},
	};
	struct hr_part u2[] = {
	    /* Anthropic user turns carry results beside text: results go first */
	    {.type = HR_PART_TOOL_RESULT, .id = S("call_3"), .text = S("12C rain")},
	    TEXT("And this picture?"),
	    {.type = HR_PART_IMAGE, .media_type = S("image/png"), .data = S("iVBORw0KGgo=")},
	    {.type = HR_PART_IMAGE, .url = S("https://example.com/a.jpg"), .detail = S("low")},
	};
	struct hr_msg msgs[] = {
	    {HR_ROLE_SYSTEM, sys, 1, {0}},    {HR_ROLE_USER, u1, 1, S("ann")},
	    {HR_ROLE_ASSISTANT, as1, 3, {0}}, {HR_ROLE_TOOL, res, 2, {0}},
	    {HR_ROLE_ASSISTANT, as2, 1, {0}}, {HR_ROLE_USER, u2, 4, {0}},
	};
	json_t *params = json_loads("{\"type\":\"object\",\"properties\":{\"location\":{\"type\":"
	                            "\"string\"}},\"required\":[\"location\"]}",
	                            0, NULL);
	json_t *schema = json_loads("{\"type\":\"object\"}", 0, NULL);
	struct hr_tool tools[] = {
	    {S("get_weather"), S("Current weather"), params, true},
	    {S("now"), {"", 0}, NULL, false},
	};
	struct hr_chat_req rq;
	canon_init(&rq, msgs, 6);
	rq.stream = true;
	rq.tools = tools;
	rq.n_tools = 2;
	rq.tool_choice = HR_TC_NAMED;
	rq.tool_choice_name = S("get_weather");
	rq.parallel_tool_calls = 0;
	rq.format = HR_FMT_JSON_SCHEMA;
	rq.schema = schema;
	rq.schema_strict = true;
	rq.has_temperature = rq.has_top_p = rq.has_seed = true;
	rq.has_presence_penalty = rq.has_frequency_penalty = true;
	rq.temperature = 0.5;
	rq.top_p = 0.25;
	rq.seed = 42;
	rq.presence_penalty = 1;
	rq.frequency_penalty = -1;
	rq.max_tokens = 1024;
	rq.stop[0] = S("END");
	rq.n_stop = 1;
	rq.user = S("user-7");

	struct hr_http_out out;
	const char *msg = NULL, *param = NULL;
	int rc = encode(a, &m_canon, &rq, &out, &msg, &param);
	if (rc)
		fail_msg("%s: %s", hr_err_name(rc), msg);
	assert_string_equal(out.url, "https://api.openai.com/v1/chat/completions");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_string_equal(out.headers[1], "Authorization: Bearer sk-test-123");
	assert_string_equal(out.headers[2], "Accept: text/event-stream");
	assert_null(out.headers[3]);
	assert_json(
	    &out.body,
	    "{\"model\":\"gpt-4o-mini\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"You are terse.\"},"
	    "{\"role\":\"user\",\"name\":\"ann\",\"content\":\"Weather in Paris and Bogota?\"},"
	    "{\"role\":\"assistant\",\"content\":\"Checking both.\",\"tool_calls\":["
	    "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	    "\"arguments\":\"{\\\"location\\\":\\\"Paris, France\\\"}\"}},"
	    "{\"id\":\"call_2\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	    "\"arguments\":\"{}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":\"18C sunny\"},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_2\",\"content\":\"timeout\"},"
	    "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_3\",\"type\":"
	    "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
	    "\"{\\\"location\\\":\\\"Bogota\\\"}\"}}]},"
	    "{\"role\":\"tool\",\"tool_call_id\":\"call_3\",\"content\":\"12C rain\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"And this picture?\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/"
	    "png;base64,iVBORw0KGgo=\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"https://example.com/a.jpg\","
	    "\"detail\":\"low\"}}]}],"
	    "\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	    "\"description\":\"Current "
	    "weather\",\"parameters\":{\"type\":\"object\",\"properties\":"
	    "{\"location\":{\"type\":\"string\"}},\"required\":[\"location\"]},\"strict\":true}},"
	    "{\"type\":\"function\",\"function\":{\"name\":\"now\"}}],"
	    "\"tool_choice\":{\"type\":\"function\",\"function\":{\"name\":\"get_weather\"}},"
	    "\"parallel_tool_calls\":false,"
	    "\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"response\","
	    "\"schema\":{\"type\":\"object\"},\"strict\":true}},"
	    "\"temperature\":0.5,\"top_p\":0.25,\"max_tokens\":1024,\"stop\":[\"END\"],\"seed\":42,"
	    "\"presence_penalty\":1.0,\"frequency_penalty\":-1.0,\"user\":\"user-7\","
	    "\"stream\":true,\"stream_options\":{\"include_usage\":true}}");
	/* the borrowed schemas are the caller's still */
	assert_int_equal(params->refcount, 1);
	assert_int_equal(schema->refcount, 1);
	hr_buf_release(&out.body);
	json_decref(params);
	json_decref(schema);
	hr_arena_destroy(a);
}

/* The least: only what is set is sent; no key, no auth header; an OpenAI-dialect request
 * without a body (built by hearth itself) takes the same path. */
static void test_canon_encode_minimal(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {.name = "llama3.2", .provider = &prov_nokey};
	struct hr_part u[] = {TEXT("hi")};
	struct hr_msg msgs[] = {{HR_ROLE_USER, u, 1, {0}}};
	for (int dialect = 0; dialect < 2; dialect++) {
		struct hr_chat_req rq;
		canon_init(&rq, msgs, 1);
		rq.dialect = dialect ? HR_DIALECT_OPENAI : HR_DIALECT_ANTHROPIC;
		rq.tool_choice = HR_TC_AUTO; /* without tools: meaningless, left out */
		rq.parallel_tool_calls = 1;
		rq.format = HR_FMT_JSON_OBJECT;
		rq.top_k = 0;
		struct hr_http_out out;
		const char *msg, *param;
		assert_int_equal(encode(a, &m, &rq, &out, &msg, &param), 0);
		assert_string_equal(out.url, "http://127.0.0.1:11434/v1/chat/completions");
		assert_string_equal(out.headers[0], "Content-Type: application/json");
		assert_null(out.headers[1]);
		assert_string_equal(out.body.ptr,
		                    "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\","
		                    "\"content\":\"hi\"}],\"response_format\":{\"type\":"
		                    "\"json_object\"}}");
		hr_buf_release(&out.body);
	}
	hr_arena_destroy(a);
}

/* An OpenAI client's extra fields go with its body; no refusal. */
static void test_passthrough_keeps_extra(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse(a,
	      "{\"model\":\"fast\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],"
	      "\"logprobs\":true,\"top_k\":5}",
	      &rq);
	json_t *extra = json_pack("{s:b}", "logprobs", 1);
	rq.extra = extra;
	rq.top_k = 5;
	struct hr_http_out out;
	const char *msg, *param;
	assert_int_equal(encode(a, &m_canon, &rq, &out, &msg, &param), 0);
	assert_json(&out.body, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
	                       "\"content\":\"hi\"}],\"logprobs\":true,\"top_k\":5}");
	hr_buf_release(&out.body);
	json_decref(extra);
	hr_arena_destroy(a);
}

struct refusal_case {
	const char *name;
	int what; /* which change to the base request */
	int rc;
	const char *param;
	const char *in_msg; /* a word the message must hold */
};

static const struct refusal_case refusals[] = {
    {"top_k", 1, HR_EUNSUPPORTED, "top_k", "openai"},
    {"extra field", 2, HR_EUNSUPPORTED, "metadata", "openai"},
    {"image in an assistant message", 3, HR_EUNSUPPORTED, "messages[1].content[0]", "openai"},
    {"image in a system message", 4, HR_EUNSUPPORTED, "messages[0].content[0]", "user message"},
    {"image with neither url nor data", 5, HR_EINVAL, "messages[2].content[0]", "base64"},
    {"tool_choice required without tools", 6, HR_EINVAL, "tool_choice", "tools"},
    {"tool call without an id", 7, HR_EINVAL, "messages[1].content[0]", "id"},
    {"tool result in an assistant message", 8, HR_EINVAL, "messages[1].content[0]", "assistant"},
    {"tool result without an id", 9, HR_EINVAL, "messages[2].content[0]", "id"},
};

static void test_canon_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal_case *c = &refusals[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_part sys[] = {TEXT("be brief")};
		struct hr_part as[] = {TEXT("ok")};
		struct hr_part u[] = {TEXT("hi")};
		struct hr_part img = {.type = HR_PART_IMAGE, .url = S("https://x/y.png")};
		struct hr_msg msgs[] = {{HR_ROLE_SYSTEM, sys, 1, {0}},
		                        {HR_ROLE_ASSISTANT, as, 1, {0}},
		                        {HR_ROLE_USER, u, 1, {0}}};
		struct hr_chat_req rq;
		canon_init(&rq, msgs, 3);
		json_t *extra = NULL;
		switch (c->what) {
		case 1: rq.top_k = 40; break;
		case 2: rq.extra = extra = json_pack("{s:{}}", "metadata"); break;
		case 3: as[0] = img; break;
		case 4: sys[0] = img; break;
		case 5: u[0] = (struct hr_part){.type = HR_PART_IMAGE, .data = S("AAAA")}; break;
		case 6: rq.tool_choice = HR_TC_REQUIRED; break;
		case 7: as[0] = (struct hr_part){.type = HR_PART_TOOL_CALL, .name = S("f")}; break;
		case 8: as[0] = (struct hr_part){.type = HR_PART_TOOL_RESULT, .id = S("c")}; break;
		case 9:
			msgs[2].role = HR_ROLE_TOOL;
			u[0] = (struct hr_part){.type = HR_PART_TOOL_RESULT, .text = S("r")};
			break;
		}
		struct hr_http_out out;
		const char *msg = NULL, *param = NULL;
		int rc = encode(a, &m_canon, &rq, &out, &msg, &param);
		if (rc != c->rc || !param || strcmp(param, c->param) != 0 || !msg ||
		    !strstr(msg, c->in_msg))
			fail_msg("%s: %s param %s msg %s", c->name, hr_err_name(rc),
			         param ? param : "-", msg ? msg : "-");
		hr_buf_release(&out.body);
		json_decref(extra);
		hr_arena_destroy(a);
	}
}

/* ---- canonical decode_chat ---- */

struct canon_answer {
	const char *name;
	const char *body;
	int rc;
	const char *parts; /* "text:...|call:id:name:args|..." */
	enum hr_finish finish;
	const char *reason;
	const char *refusal;
	int64_t prompt, completion, cached, reasoning;
	bool present;
	size_t bytes;
};

#define PARALLEL_ANSWER                                                                            \
	"{\"id\":\"chatcmpl-9nQ2\",\"object\":\"chat.completion\",\"created\":1721596428,"         \
	"\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"role\":"         \
	"\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"call_12345xyz\",\"type\":"       \
	"\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":"   \
	"\\\"Paris, France\\\"}\"}},{\"id\":\"call_67890abc\",\"type\":\"function\",\"function\":" \
	"{\"name\":\"get_weather\",\"arguments\":\"{\\\"location\\\":\\\"Bogot\\u00e1, "           \
	"Colombia\\\"}\"}},{\"id\":\"call_99999def\",\"type\":\"function\",\"function\":{"         \
	"\"name\":\"send_email\",\"arguments\":\"{\\\"to\\\":\\\"bob@email.com\\\",\\\"body\\\":"  \
	"\\\"Hi bob\\\"}\"}}],\"refusal\":null},\"logprobs\":null,\"finish_reason\":"              \
	"\"tool_calls\"}],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":71,"              \
	"\"total_tokens\":191}}"

static const struct canon_answer canon_answers[] = {
    {"text with cached and reasoning counts", answers[0].body, 0,
     "text:Hello! How can I assist you today?", HR_FIN_STOP, "stop", "", 2006, 10, 1920, 0, true,
     34},
    {"o3-mini", answers[1].body, 0, "text:4", HR_FIN_STOP, "stop", "", 13, 139, 0, 128, true, 1},
    {"a tool call", answers[2].body, 0,
     "call:call_abc123:get_current_weather:{\n\"location\": \"Boston, MA\"\n}", HR_FIN_TOOL_CALLS,
     "tool_calls", "", 82, 17, 0, 0, true, 28},
    {"parallel tool calls", PARALLEL_ANSWER, 0,
     "call:call_12345xyz:get_weather:{\"location\":\"Paris, France\"}|"
     "call:call_67890abc:get_weather:{\"location\":\"Bogot\xc3\xa1, Colombia\"}|"
     "call:call_99999def:send_email:{\"to\":\"bob@email.com\",\"body\":\"Hi bob\"}",
     HR_FIN_TOOL_CALLS, "tool_calls", "", 120, 71, 0, 0, true, 28 + 32 + 38},
    {"length", answers[3].body, 0, "text:Hi there", HR_FIN_LENGTH, "length", "", 26, 2, 0, 0, true,
     8},
    {"refusal",
     "{\"id\":\"chatcmpl-r\",\"model\":\"gpt-4o\",\"choices\":[{\"index\":0,\"message\":{"
     "\"role\":\"assistant\",\"content\":null,\"refusal\":\"I'm sorry, I can't help with "
     "that.\"},\"finish_reason\":\"stop\"}]}",
     0, "", HR_FIN_STOP, "stop", "I'm sorry, I can't help with that.", 0, 0, 0, 0, false, 34},
    {"content filter",
     "{\"choices\":[{\"message\":{\"content\":\"\"},\"finish_reason\":\"content_filter\"}]}", 0, "",
     HR_FIN_CONTENT_FILTER, "content_filter", "", 0, 0, 0, 0, false, 0},
    {"legacy function_call",
     "{\"choices\":[{\"message\":{\"role\":\"assistant\",\"content\":null,\"function_call\":{"
     "\"name\":\"get_current_weather\",\"arguments\":\"{\\\"location\\\":\\\"Boston\\\"}\"}},"
     "\"finish_reason\":\"function_call\"}]}",
     0, "call:call_0:get_current_weather:{\"location\":\"Boston\"}", HR_FIN_TOOL_CALLS,
     "function_call", "", 0, 0, 0, 0, false, 21},
    {"ollama: stop with calls, arguments as an object, no id",
     "{\"id\":\"chatcmpl-1\",\"model\":\"qwen3\",\"choices\":[{\"index\":0,\"message\":{"
     "\"role\":\"assistant\",\"content\":\"Let me check.\",\"tool_calls\":[{\"type\":"
     "\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":{\"city\":"
     "\"Tokyo\"}}}]},\"finish_reason\":\"stop\"}]}",
     0, "text:Let me check.|call:call_0:get_weather:{\"city\":\"Tokyo\"}", HR_FIN_TOOL_CALLS,
     "stop", "", 0, 0, 0, 0, false, 13 + 16},
    {"no finish yet, content parts, empty choices later ignored",
     "{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"a\"},{\"type\":"
     "\"text\",\"text\":\"b\"}]},\"finish_reason\":null}]}",
     0, "text:a|text:b", HR_FIN_NONE, NULL, "", 0, 0, 0, 0, false, 2},
    {"empty choices", "{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":0}}", 0,
     "", HR_FIN_NONE, NULL, "", 3, 0, 0, 0, true, 0},
    {"error in a 200",
     "{\"error\":{\"message\":\"The server had an error processing your request.\",\"type\":"
     "\"server_error\"}}",
     .rc = HR_EUPSTREAM, .parts = "The server had an error processing your request."},
    {"truncated", "{\"choices\":[{\"message\":{\"content\":\"Hel", .rc = HR_EUPSTREAM_BAD},
    {"not json", "<html>502</html>", .rc = HR_EUPSTREAM_BAD},
    {"array", "[]", .rc = HR_EUPSTREAM_BAD},
    {"choices an object", "{\"choices\":{}}", .rc = HR_EUPSTREAM_BAD},
    {"choice a string", "{\"choices\":[\"x\"]}", .rc = HR_EUPSTREAM_BAD},
    {"message a number", "{\"choices\":[{\"message\":5}]}", .rc = HR_EUPSTREAM_BAD},
    {"tool call without a name",
     "{\"choices\":[{\"message\":{\"tool_calls\":[{\"id\":\"c\",\"function\":{\"name\":7}}]}}]}",
     .rc = HR_EUPSTREAM_BAD},
};

static void parts_str(const struct hr_chat_resp *r, char *buf, size_t n)
{
	size_t w = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < r->n_parts && w < n; i++) {
		const struct hr_part *p = &r->parts[i];
		if (p->type == HR_PART_TEXT)
			w += (size_t)snprintf(buf + w, n - w, "%stext:%.*s", i ? "|" : "",
			                      (int)p->text.len, p->text.ptr);
		else
			w += (size_t)snprintf(buf + w, n - w, "%scall:%.*s:%.*s:%.*s", i ? "|" : "",
			                      (int)p->id.len, p->id.ptr, (int)p->name.len,
			                      p->name.ptr, (int)p->arguments.len, p->arguments.ptr);
	}
}

static void test_canon_decode_chat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof canon_answers / sizeof canon_answers[0]; i++) {
		const struct canon_answer *c = &canon_answers[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_resp r;
		const char *msg = NULL;
		int rc = hr_provider_openai.decode_chat(a, c->body, strlen(c->body), &r, &msg);
		if (rc != c->rc)
			fail_msg("%s: %s (%s)", c->name, hr_err_name(rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			if (c->parts)
				assert_string_equal(msg, c->parts);
			hr_arena_destroy(a);
			continue;
		}
		char got[1024];
		parts_str(&r, got, sizeof got);
		if (strcmp(got, c->parts) != 0)
			fail_msg("%s: parts '%s', want '%s'", c->name, got, c->parts);
		if (r.finish != c->finish ||
		    (c->reason ? !r.finish_reason || strcmp(r.finish_reason, c->reason)
		               : r.finish_reason != NULL))
			fail_msg("%s: finish %d %s", c->name, r.finish,
			         r.finish_reason ? r.finish_reason : "-");
		if (!hr_str_eq_cstr(r.refusal, c->refusal))
			fail_msg("%s: refusal '%.*s'", c->name, (int)r.refusal.len, r.refusal.ptr);
		if (r.usage.present != c->present || r.usage.prompt_tokens != c->prompt ||
		    r.usage.completion_tokens != c->completion ||
		    r.usage.cached_tokens != c->cached || r.usage.reasoning_tokens != c->reasoning)
			fail_msg("%s: usage %d %lld %lld", c->name, r.usage.present,
			         (long long)r.usage.prompt_tokens,
			         (long long)r.usage.completion_tokens);
		if (r.completion_bytes != c->bytes)
			fail_msg("%s: completion_bytes %zu, want %zu", c->name, r.completion_bytes,
			         c->bytes);
		hr_arena_destroy(a);
	}
	/* id and model */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp r;
	const char *msg;
	assert_int_equal(
	    hr_provider_openai.decode_chat(a, PARALLEL_ANSWER, strlen(PARALLEL_ANSWER), &r, &msg),
	    0);
	assert_true(hr_str_eq_cstr(r.id, "chatcmpl-9nQ2"));
	assert_true(hr_str_eq_cstr(r.model, "gpt-4o-2024-08-06"));
	hr_arena_destroy(a);
}

/* ---- canonical decode_stream ----
 * A stream fed event by event gives a trace of canonical events: "start:id:model",
 * "text:t", "tool:i:id:name", "args:i:t", "finish:word:reason", "usage:p/c/cached/reasoning",
 * "done", "error:CODE:text", joined with " | ". */

static int run_stream(const char *const *events, size_t n, const char *ev_name, char *buf,
                      size_t cap, const char **err_msg)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_dec st = {0};
	size_t w = 0;
	int rc = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct hr_sev_list l = {0};
		const char *msg = NULL;
		rc = hr_provider_openai.decode_stream(a, &st, ev_name, events[i], strlen(events[i]),
		                                      &l, &msg);
		if (rc) {
			snprintf(buf, cap, "%s", msg ? msg : "(no message)");
			*err_msg = buf;
			break;
		}
		for (size_t j = 0; j < l.n && w < cap; j++) {
			const struct hr_sev *e = &l.v[j];
			const char *sep = w ? " | " : "";
			switch (e->type) {
			case HR_SEV_START:
				w += (size_t)snprintf(buf + w, cap - w, "%sstart:%.*s:%.*s", sep,
				                      (int)e->id.len, e->id.ptr, (int)e->name.len,
				                      e->name.ptr);
				break;
			case HR_SEV_TEXT:
				w += (size_t)snprintf(buf + w, cap - w, "%stext:%.*s", sep,
				                      (int)e->text.len, e->text.ptr);
				break;
			case HR_SEV_TOOL_START:
				w += (size_t)snprintf(buf + w, cap - w, "%stool:%zu:%.*s:%.*s", sep,
				                      e->index, (int)e->id.len, e->id.ptr,
				                      (int)e->name.len, e->name.ptr);
				break;
			case HR_SEV_TOOL_ARGS:
				w += (size_t)snprintf(buf + w, cap - w, "%sargs:%zu:%.*s", sep,
				                      e->index, (int)e->text.len, e->text.ptr);
				break;
			case HR_SEV_FINISH:
				w += (size_t)snprintf(buf + w, cap - w, "%sfinish:%s:%s", sep,
				                      hr_finish_name(e->finish), e->finish_reason);
				assert_true(st.finished);
				break;
			case HR_SEV_USAGE:
				w += (size_t)snprintf(buf + w, cap - w,
				                      "%susage:%lld/%lld/%lld/%lld", sep,
				                      (long long)e->usage.prompt_tokens,
				                      (long long)e->usage.completion_tokens,
				                      (long long)e->usage.cached_tokens,
				                      (long long)e->usage.reasoning_tokens);
				assert_true(e->usage.present);
				break;
			case HR_SEV_DONE:
				w += (size_t)snprintf(buf + w, cap - w, "%sdone", sep);
				break;
			case HR_SEV_ERROR:
				w += (size_t)snprintf(buf + w, cap - w, "%serror:%s:%.*s", sep,
				                      hr_err_name(e->err), (int)e->text.len,
				                      e->text.ptr);
				break;
			}
		}
	}
	hr_arena_destroy(a);
	return rc;
}

static void check_stream(const char *name, const char *const *events, size_t n, const char *ev_name,
                         int want_rc, const char *want)
{
	char buf[4096];
	const char *err = NULL;
	int rc = run_stream(events, n, ev_name, buf, sizeof buf, &err);
	if (rc != want_rc)
		fail_msg("%s: %s (%s)", name, hr_err_name(rc), err ? err : buf);
	if (strcmp(buf, want) != 0)
		fail_msg("%s:\n got  %s\n want %s", name, buf, want);
}

#define NEV(x) (sizeof(x) / sizeof((x)[0]))

static void test_canon_stream_docs(void **state)
{
	(void)state;
	/* the recorded streams of the summary tests, through the full decoder */
	const char *text[NEV(text_stream)], *tools[NEV(tool_stream)];
	for (size_t i = 0; i < NEV(text_stream); i++)
		text[i] = text_stream[i].data;
	for (size_t i = 0; i < NEV(tool_stream); i++)
		tools[i] = tool_stream[i].data;
	check_stream(
	    "text", text, NEV(text), NULL, 0,
	    "start:chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG:gpt-4o-2024-08-06 | text:Hello | "
	    "text:! How can I help? | finish:stop:stop | usage:19/10/0/0 | done");
	check_stream("tool call", tools, NEV(tools), NULL, 0,
	             "start:chatcmpl-AzBoGrEDcBrFJQGXEWyUYXWJ7hbGh:gpt-4o-mini-2024-07-18 | "
	             "tool:0:call_DdmO9pD3xa9XTPNJ32zg2hcA:get_weather | args:0:{\" | "
	             "args:0:location | args:0:\":\" | args:0:Paris | args:0:, | args:0: France | "
	             "args:0:\"} | finish:tool_calls:tool_calls | done");
}

#define PC(tc) "{\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{" tc "}}]}"

static void test_canon_stream_tools(void **state)
{
	(void)state;
	/* OpenAI's parallel calls: indexes 0 and 1, ids once, nulls in between */
	static const char *const parallel[] = {
	    PC("\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"index\":0,\"id\":"
	       "\"call_a\",\"type\":\"function\",\"function\":{\"name\":\"get_weather\","
	       "\"arguments\":\"\"}}]"),
	    PC("\"tool_calls\":[{\"index\":0,\"id\":null,\"function\":{\"arguments\":\"{\\\"loc\","
	       "\"name\":null},\"type\":null}]"),
	    PC("\"tool_calls\":[{\"index\":0,\"function\":{\"arguments\":\"\\\":\\\"Paris\\\"}\"}}"
	       "]"),
	    PC("\"tool_calls\":[{\"index\":1,\"id\":\"call_b\",\"type\":\"function\",\"function\":{"
	       "\"name\":\"get_weather\",\"arguments\":\"\"}}]"),
	    PC("\"tool_calls\":[{\"index\":1,\"function\":{\"arguments\":\"{\\\"loc\\\":"
	       "\\\"Rome\\\"}"
	       "\"}}]"),
	    "{\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_"
	    "reason\":"
	    "\"tool_calls\"}]}",
	    "{\"id\":\"c\",\"model\":\"m\",\"choices\":[],\"usage\":{\"prompt_tokens\":80,"
	    "\"completion_tokens\":40,\"prompt_tokens_details\":{\"cached_tokens\":64},"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":8}}}",
	    "[DONE]",
	};
	check_stream(
	    "parallel", parallel, NEV(parallel), NULL, 0,
	    "start:c:m | tool:0:call_a:get_weather | args:0:{\"loc | args:0:\":\"Paris\"} | "
	    "tool:1:call_b:get_weather | args:1:{\"loc\":\"Rome\"} | "
	    "finish:tool_calls:tool_calls | usage:80/40/64/8 | done");

	/* Ollama: index 0 for every call, distinct ids, whole arguments, "stop" */
	static const char *const ollama[] = {
	    PC("\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_x1\","
	       "\"index\":"
	       "0,\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"arguments\":"
	       "\"{\\\"city\\\":\\\"Paris\\\"}\"}}]"),
	    PC("\"role\":\"assistant\",\"content\":\"\",\"tool_calls\":[{\"id\":\"call_x2\","
	       "\"index\":"
	       "0,\"type\":\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":{\"tz\":"
	       "\"CET\"}}}]"),
	    "{\"id\":\"c\",\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
	    "\"assistant\","
	    "\"content\":\"\"},\"finish_reason\":\"stop\"}]}",
	};
	check_stream("same index, new ids", ollama, NEV(ollama), NULL, 0,
	             "start:c:m | tool:0:call_x1:get_weather | args:0:{\"city\":\"Paris\"} | "
	             "tool:1:call_x2:get_time | args:1:{\"tz\":\"CET\"} | finish:tool_calls:stop");

	/* the id repeated on every piece; a name after the first arguments; no index */
	static const char *const odd[] = {
	    PC("\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"arguments\":\"{\\\"a\"}}"
	       "]"),
	    PC("\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"name\":\"f\","
	       "\"arguments\":\"\\\":1}\"}}]"),
	    PC("\"tool_calls\":[{\"id\":\"t2\",\"function\":{\"name\":\"g\"}}]"),
	    PC("\"tool_calls\":[{\"function\":{\"arguments\":\"{}\"}}]"),
	    "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
	};
	check_stream("odd servers", odd, NEV(odd), NULL, 0,
	             "start:c:m | tool:0:t1:f | args:0:{\"a | args:0:\":1} | tool:1:t2:g | "
	             "args:1:{} | finish:tool_calls:tool_calls");

	/* the legacy function_call, without ids */
	static const char *const legacy[] = {
	    PC("\"role\":\"assistant\",\"content\":null,\"function_call\":{\"name\":\"lookup\","
	       "\"arguments\":\"\"}"),
	    PC("\"function_call\":{\"arguments\":\"{\\\"q\\\":1}\"}"),
	    "{\"choices\":[{\"delta\":{},\"finish_reason\":\"function_call\"}]}",
	};
	check_stream("function_call", legacy, NEV(legacy), NULL, 0,
	             "start:c:m | tool:0:call_0:lookup | args:0:{\"q\":1} | "
	             "finish:tool_calls:function_call");

	/* a call that never gets a name is a broken answer */
	static const char *const nameless[] = {
	    PC("\"tool_calls\":[{\"index\":0,\"id\":\"t1\",\"function\":{\"arguments\":\"{}\"}}]"),
	    "{\"choices\":[{\"delta\":{},\"finish_reason\":\"tool_calls\"}]}",
	};
	check_stream("nameless", nameless, NEV(nameless), NULL, HR_EUPSTREAM_BAD,
	             "the provider's stream has a tool call without a function name");
}

static void test_canon_stream_misc(void **state)
{
	(void)state;
	static const char *const text[] = {
	    " {\"id\":\"x\",\"choices\":[{\"delta\":{\"content\":[{\"type\":\"text\",\"text\":"
	    "\"ab\"}],\"refusal\":\"no\"}}]}\n",
	    /* usage on the last content chunk, "choices" left out (vLLM) */
	    "{\"choices\":[{\"delta\":{\"content\":\"!\"},\"finish_reason\":\"length\"}],\"usage\":"
	    "{"
	    "\"prompt_tokens\":3,\"completion_tokens\":4}}",
	    "{\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":5}}",
	    "{\"usage\":{\"prompt_tokens\":null,\"completion_tokens\":5},\"choices\":null}",
	    "{\"x\":1}",
	    "[DONE]\r\n",
	};
	check_stream("text", text, NEV(text), NULL, 0,
	             "start:x: | text:ab | text:no | text:! | finish:length:length | usage:3/4/0/0 "
	             "| usage:3/5/0/0 | done");

	static const struct {
		const char *data, *event, *want;
		int rc;
	} one[] = {
	    {"{\"error\":{\"message\":\"The server had an error while processing your request. "
	     "Sorry about that!\",\"type\":\"server_error\",\"param\":null,\"code\":null}}",
	     NULL,
	     "error:EUPSTREAM:The server had an error while processing your request. Sorry "
	     "about that!",
	     0},
	    {"{\"error\":{\"message\":\"Rate limit reached for gpt-4o\",\"type\":\"tokens\","
	     "\"code\":\"rate_limit_exceeded\"}}",
	     NULL, "error:ERATELIMIT:Rate limit reached for gpt-4o", 0},
	    {"{\"error\":{\"object\":\"error\",\"message\":\"slow down\",\"code\":429}}", NULL,
	     "error:ERATELIMIT:slow down", 0},
	    {"{\"error\":\"model 'llama9' not found\"}", NULL,
	     "error:EUPSTREAM:model 'llama9' not found", 0},
	    {"{\"error\":{\"code\":500}}", NULL,
	     "error:EUPSTREAM:the provider reported an error in the stream", 0},
	    {"upstream went away", "error", "error:EUPSTREAM:upstream went away", 0},
	    {"{\"message\":\"bad things\"}", "error", "error:EUPSTREAM:bad things", 0},
	    {"data: {}", NULL,
	     "a stream event from the provider is not JSON: '[' or '{' expected near 'data' (line "
	     "1, column 4)",
	     HR_EUPSTREAM_BAD},
	    {"{\"choices\":[{\"delta\":{\"content\":\"a\"", NULL, NULL, HR_EUPSTREAM_BAD},
	    {"", NULL, NULL, HR_EUPSTREAM_BAD},
	    {"[1]", NULL, "a stream event from the provider is not a JSON object",
	     HR_EUPSTREAM_BAD},
	    {"{\"choices\":7}", NULL,
	     "a stream chunk from the provider has choices that are not an array",
	     HR_EUPSTREAM_BAD},
	    {"{\"choices\":[7,{\"delta\":9}],\"usage\":[]}", NULL, "start::", 0},
	};
	for (size_t i = 0; i < NEV(one); i++) {
		char buf[1024];
		const char *err = NULL;
		int rc = run_stream(&one[i].data, 1, one[i].event, buf, sizeof buf, &err);
		if (rc != one[i].rc)
			fail_msg("case %zu: %s (%s)", i, hr_err_name(rc), buf);
		if (one[i].want && strcmp(buf, one[i].want) != 0)
			fail_msg("case %zu:\n got  %s\n want %s", i, buf, one[i].want);
	}
}

/* ---- embeddings ---- */

static void test_embed_encode(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {
	    .name = "embed", .upstream = "text-embedding-3-small", .provider = &prov};
	struct hr_str inputs[] = {S("The food was delicious"), S("and the waiter...")};
	struct hr_embed_req rq = {.model = "embed",
	                          .inputs = inputs,
	                          .n_inputs = 2,
	                          .dimensions = 256,
	                          .base64 = true,
	                          .user = S("u1")};
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(hr_provider_openai.encode_embed(a, &m, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://api.openai.com/v1/embeddings");
	assert_string_equal(out.headers[1], "Authorization: Bearer sk-test-123");
	assert_null(out.headers[2]);
	assert_json(&out.body, "{\"model\":\"text-embedding-3-small\",\"input\":[\"The food was "
	                       "delicious\",\"and the waiter...\"],\"dimensions\":256,"
	                       "\"encoding_format\":\"float\",\"user\":\"u1\"}");
	hr_buf_release(&out.body);

	/* an OpenAI client's body: token ids and all, only the model replaced */
	json_t *body = json_loads("{\"model\":\"embed\",\"input\":[[1212,318]],\"encoding_format\":"
	                          "\"base64\",\"x\":1}",
	                          0, NULL);
	struct hr_embed_req rq2 = {
	    .model = "embed", .tokens_input = true, .dimensions = -1, .body = body};
	hr_buf_init(&out.body, 1 << 20);
	assert_int_equal(hr_provider_openai.encode_embed(a, &m, &rq2, &out, &msg, &param), 0);
	assert_json(&out.body, "{\"model\":\"text-embedding-3-small\",\"input\":[[1212,318]],"
	                       "\"encoding_format\":\"base64\",\"x\":1}");
	assert_string_equal(json_string_value(json_object_get(body, "model")), "embed");
	hr_buf_release(&out.body);

	/* without a body: extra fields and token ids cannot go */
	rq2.body = NULL;
	hr_buf_init(&out.body, 1 << 20);
	assert_int_equal(hr_provider_openai.encode_embed(a, &m, &rq2, &out, &msg, &param),
	                 HR_EUNSUPPORTED);
	assert_string_equal(param, "input");
	rq.extra = body;
	assert_int_equal(hr_provider_openai.encode_embed(a, &m, &rq, &out, &msg, &param),
	                 HR_EUNSUPPORTED);
	assert_true(strcmp(param, "model") == 0 || strcmp(param, "input") == 0 ||
	            strcmp(param, "encoding_format") == 0 || strcmp(param, "x") == 0);
	hr_buf_release(&out.body);
	json_decref(body);
	hr_arena_destroy(a);
}

static void test_embed_decode(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int rc;
		const char *want; /* the vectors, compact, as one array */
		int64_t prompt;
	} cases[] = {
	    {"{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"object\": \"embedding\",\n "
	     "     "
	     "\"embedding\": [\n        0.0023064255,\n        -0.009327292,\n        "
	     "-0.0028842222\n      ],\n      \"index\": 0\n    }\n  ],\n  \"model\": "
	     "\"text-embedding-ada-002\",\n  \"usage\": {\n    \"prompt_tokens\": 8,\n    "
	     "\"total_tokens\": 8\n  }\n}\n",
	     0, "[[0.0023064255,-0.009327292,-0.0028842222]]", 8},
	    {"{\"data\":[{\"index\":1,\"embedding\":[2]},{\"index\":0,\"embedding\":[1]}],"
	     "\"usage\":{\"prompt_tokens\":4}}",
	     0, "[[1],[2]]", 4},
	    {"{\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":\"AACAPwAAIMAAAAA+\"}]"
	     ","
	     "\"model\":\"text-embedding-3-small\"}",
	     0, "[[1.0,-2.5,0.125]]", 0},
	    {"{\"data\":[{\"embedding\":[1]},{\"embedding\":[2]}]}", 0, "[[1],[2]]", 0},
	    {"{\"data\":[]}", 0, "[]", 0},
	    {"{\"data\":[{\"index\":0,\"embedding\":[1]},{\"index\":0,\"embedding\":[2]}]}",
	     .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[{\"index\":5,\"embedding\":[1]}]}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[{\"index\":\"0\",\"embedding\":[1]}]}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[{\"embedding\":\"AADAfw==\"}]}", .rc = HR_EUPSTREAM_BAD}, /* NaN */
	    {"{\"data\":[{\"embedding\":\"AAA\"}]}", .rc = HR_EUPSTREAM_BAD},      /* 2 bytes */
	    {"{\"data\":[{\"embedding\":\"*AAA\"}]}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[{\"embedding\":[\"x\"]}]}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[{\"embedding\":null}]}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":{}}", .rc = HR_EUPSTREAM_BAD},
	    {"{\"data\":[", .rc = HR_EUPSTREAM_BAD},
	    {"{\"error\":{\"message\":\"too many inputs\"}}", .rc = HR_EUPSTREAM},
	};
	for (size_t i = 0; i < NEV(cases); i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_embed_resp r;
		const char *msg = NULL;
		int rc = hr_provider_openai.decode_embed(a, cases[i].body, strlen(cases[i].body),
		                                         &r, &msg);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s (%s)", i, hr_err_name(rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			hr_arena_destroy(a);
			continue;
		}
		json_t *all = json_array();
		for (size_t j = 0; j < r.n; j++)
			json_array_append(all, r.vectors[j]);
		json_t *want = json_loads(cases[i].want, 0, NULL);
		if (!json_equal(all, want)) {
			char *g = json_dumps(all, JSON_COMPACT);
			fail_msg("case %zu: %s", i, g);
		}
		assert_int_equal(r.usage.prompt_tokens, cases[i].prompt);
		assert_int_equal(r.usage.present, cases[i].prompt > 0);
		json_decref(all);
		json_decref(want);
		hr_arena_destroy(a);
	}
}

static void test_models(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	static const char body[] =
	    "{\n  \"object\": \"list\",\n  \"data\": [\n    {\n      \"id\": \"model-id-0\",\n     "
	    " "
	    "\"object\": \"model\",\n      \"created\": 1686935002,\n      \"owned_by\": "
	    "\"organization-owner\"\n    },\n    {\n      \"id\": \"model-id-1\",\n      "
	    "\"object\": "
	    "\"model\",\n      \"created\": 1686935002,\n      \"owned_by\": "
	    "\"organization-owner\"\n    },\n    {\"object\": \"model\"},\n    {\n      \"id\": "
	    "\"model-id-2\",\n      \"object\": \"model\",\n      \"created\": 1686935002,\n      "
	    "\"owned_by\": \"openai\"\n    }\n  ]\n}\n";
	struct hr_str *ids;
	size_t n;
	const char *msg;
	assert_int_equal(hr_provider_openai.decode_models(a, body, strlen(body), &ids, &n, &msg),
	                 0);
	assert_int_equal(n, 3);
	assert_true(hr_str_eq_cstr(ids[0], "model-id-0"));
	assert_true(hr_str_eq_cstr(ids[2], "model-id-2"));
	static const char *const badies[] = {"{\"models\":[]}", "[]", "{\"data\":", "{\"data\":7}"};
	for (size_t i = 0; i < NEV(badies); i++) {
		msg = NULL;
		assert_int_equal(hr_provider_openai.decode_models(a, badies[i], strlen(badies[i]),
		                                                  &ids, &n, &msg),
		                 HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		assert_int_equal(n, 0);
	}
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_plain),
	    cmocka_unit_test(test_encode_stream_merges_options),
	    cmocka_unit_test(test_encode_stream_adds_options),
	    cmocka_unit_test(test_encode_body_cap),
	    cmocka_unit_test(test_decode_chat),
	    cmocka_unit_test(test_decode_chat_scan),
	    cmocka_unit_test(test_decode_messages),
	    cmocka_unit_test(test_stream_text),
	    cmocka_unit_test(test_stream_tool_calls),
	    cmocka_unit_test(test_stream_misc),
	    cmocka_unit_test(test_map_error),
	    cmocka_unit_test(test_map_error_truncates),
	    cmocka_unit_test(test_registry),
	    cmocka_unit_test(test_canon_encode_full),
	    cmocka_unit_test(test_canon_encode_minimal),
	    cmocka_unit_test(test_passthrough_keeps_extra),
	    cmocka_unit_test(test_canon_refusals),
	    cmocka_unit_test(test_canon_decode_chat),
	    cmocka_unit_test(test_canon_stream_docs),
	    cmocka_unit_test(test_canon_stream_tools),
	    cmocka_unit_test(test_canon_stream_misc),
	    cmocka_unit_test(test_embed_encode),
	    cmocka_unit_test(test_embed_decode),
	    cmocka_unit_test(test_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
