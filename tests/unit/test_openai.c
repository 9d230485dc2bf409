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
     HR_EUPSTREAM_NOTFOUND, "The model `gpt-5-turbo` does not exist or you do not have access to it."},
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
     HR_EUPSTREAM_NOTFOUND,
     "model \"llama9\" not found, try pulling it first"},
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
	assert_null(hr_provider_find("anthropic"));
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
