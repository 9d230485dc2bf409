/* test_gemini.c - the Gemini codec against samples shaped like the API reference
 * (ai.google.dev/api): request encoding, answers (text, thinking, function calls, blocked
 * prompts), a recorded SSE stream fed event by event, errors, embeddings and model lists. */
#include <setjmp.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/chat.h"
#include "providers/provider.h"

static const struct hr_provider_ops *const G = &hr_provider_gemini;

static struct hr_conf_provider prov = {
    .id = "google",
    .kind = "gemini",
    .base_url = "https://generativelanguage.googleapis.com/v1beta",
    .api_key = "AIza-test",
};
static struct hr_conf_provider prov_nokey = {
    .id = "proxy",
    .kind = "gemini",
    .base_url = "http://127.0.0.1:9000/v1beta",
};
static struct hr_conf_model model = {
    .name = "flash", .upstream = "gemini-2.0-flash", .provider = &prov};

#define S(lit) HR_STR(lit)

/* A request with defaults as the parsers leave them. */
static struct hr_chat_req req(struct hr_msg *msgs, size_t n)
{
	struct hr_chat_req rq = {0};
	rq.msgs = msgs;
	rq.n_msgs = n;
	rq.parallel_tool_calls = -1;
	rq.top_k = -1;
	rq.max_tokens = -1;
	return rq;
}

/* Encodes rq; asserts success and that the body equals want (JSON). */
static void encode_ok(const struct hr_conf_model *m, const struct hr_chat_req *rq,
                      const char *want_url, const char *want)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg = NULL, *param = NULL;
	int rc = G->encode_chat(a, m, rq, &out, &msg, &param);
	if (rc)
		fail_msg("encode: %s (%s)", msg, param ? param : "-");
	assert_string_equal(out.url, want_url);
	json_t *got = json_loadb(out.body.ptr, out.body.len, 0, NULL);
	json_t *exp = json_loads(want, 0, NULL);
	assert_non_null(got);
	assert_non_null(exp);
	if (!json_equal(got, exp))
		fail_msg("body:\n%s\nwant:\n%s", out.body.ptr, want);
	json_decref(got);
	json_decref(exp);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

/* Encodes rq; asserts it fails with code naming param, and that msg contains needle. */
static void encode_fails(const struct hr_chat_req *rq, int code, const char *want_param,
                         const char *needle)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg = NULL, *param = NULL;
	int rc = G->encode_chat(a, &model, rq, &out, &msg, &param);
	if (rc != code)
		fail_msg("want %s, got %s (%s)", hr_err_name(code), hr_err_name(rc),
		         msg ? msg : "-");
	assert_non_null(msg);
	if (want_param)
		assert_string_equal(param, want_param);
	if (needle && !strstr(msg, needle))
		fail_msg("message '%s' lacks '%s'", msg, needle);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

/* ---- encode ---- */

static void test_encode_text(void **state)
{
	(void)state;
	struct hr_part sys[] = {{.type = HR_PART_TEXT, .text = S("You are a cat.")}};
	struct hr_part u1[] = {{.type = HR_PART_TEXT, .text = S("Hello")}};
	struct hr_part m1[] = {{.type = HR_PART_TEXT, .text = S("Meow.")}};
	struct hr_part u2[] = {{.type = HR_PART_TEXT, .text = S("What are you?")}};
	struct hr_msg msgs[] = {
	    {.role = HR_ROLE_SYSTEM, .parts = sys, .n_parts = 1},
	    {.role = HR_ROLE_USER, .parts = u1, .n_parts = 1},
	    {.role = HR_ROLE_ASSISTANT, .parts = m1, .n_parts = 1},
	    {.role = HR_ROLE_USER, .parts = u2, .n_parts = 1},
	};
	struct hr_chat_req rq = req(msgs, 4);
	rq.has_temperature = true;
	rq.temperature = 0.5;
	rq.has_top_p = true;
	rq.top_p = 0.25;
	rq.top_k = 40;
	rq.max_tokens = 800;
	rq.stop[0] = S("Title");
	rq.n_stop = 1;
	rq.has_seed = true;
	rq.seed = 42;
	rq.has_presence_penalty = true;
	rq.presence_penalty = 0.5;
	rq.has_frequency_penalty = true;
	rq.frequency_penalty = -0.5;
	rq.user = S("user-1234"); /* dropped: Gemini has no place for it */
	encode_ok(&model, &rq,
	          "https://generativelanguage.googleapis.com/v1beta/models/"
	          "gemini-2.0-flash:generateContent",
	          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]},"
	          "{\"role\":\"model\",\"parts\":[{\"text\":\"Meow.\"}]},"
	          "{\"role\":\"user\",\"parts\":[{\"text\":\"What are you?\"}]}],"
	          "\"systemInstruction\":{\"parts\":[{\"text\":\"You are a cat.\"}]},"
	          "\"generationConfig\":{\"temperature\":0.5,\"topP\":0.25,\"topK\":40,"
	          "\"maxOutputTokens\":800,\"stopSequences\":[\"Title\"],\"seed\":42,"
	          "\"presencePenalty\":0.5,\"frequencyPenalty\":-0.5}}");

	/* only what is set; streaming URL; headers with and without a key */
	struct hr_chat_req min = req(msgs + 1, 1);
	min.stream = true;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(G->encode_chat(a, &model, &min, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://generativelanguage.googleapis.com/v1beta/models/"
	                             "gemini-2.0-flash:streamGenerateContent?alt=sse");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_string_equal(out.headers[1], "x-goog-api-key: AIza-test");
	assert_string_equal(out.headers[2], "Accept: text/event-stream");
	assert_null(out.headers[3]);
	assert_string_equal(
	    out.body.ptr, "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Hello\"}]}]}");
	hr_buf_release(&out.body);

	struct hr_conf_model local = {.name = "models/gemma-3", .provider = &prov_nokey};
	min.stream = false;
	struct hr_http_out out2 = {0};
	hr_buf_init(&out2.body, 1 << 20);
	assert_int_equal(G->encode_chat(a, &local, &min, &out2, &msg, &param), 0);
	assert_string_equal(out2.url,
	                    "http://127.0.0.1:9000/v1beta/models/gemma-3:generateContent");
	assert_string_equal(out2.headers[0], "Content-Type: application/json");
	assert_null(out2.headers[1]);
	hr_buf_release(&out2.body);
	hr_arena_destroy(a);
}

/* The function-calling round trip of the guide: declarations, the model's calls, their
 * results (merged into one user turn), images as inlineData, JSON schema output. */
static void test_encode_tools(void **state)
{
	(void)state;
	json_t *params = json_loads(
	    "{\"type\":\"object\",\"properties\":{\"location\":{\"type\":\"string\"},"
	    "\"unit\":{\"type\":[\"string\",\"null\"],\"enum\":[\"celsius\",\"fahrenheit\",null]}},"
	    "\"required\":[\"location\"],\"additionalProperties\":false}",
	    0, NULL);
	struct hr_tool tools[] = {
	    {.name = S("get_current_weather"),
	     .description = S("Get the current weather in a given location"),
	     .parameters = params},
	    {.name = S("get_time")},
	};
	struct hr_part u1[] = {
	    {.type = HR_PART_TEXT, .text = S("Weather in Boston and Paris? And this image:")},
	    {.type = HR_PART_IMAGE,
	     .media_type = S("image/png"),
	     .data = S("iVBORw0KGgo="),
	     .detail = S("auto")},
	};
	struct hr_part m1[] = {
	    {.type = HR_PART_TEXT, .text = S("")},
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_a"),
	     .name = S("get_current_weather"),
	     .arguments = S("{\"location\": \"Boston, MA\"}")},
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_b"),
	     .name = S("get_current_weather"),
	     .arguments = S("{\"location\":\"Paris\",\"unit\":\"celsius\"}")},
	};
	struct hr_part t1[] = {{.type = HR_PART_TOOL_RESULT,
	                        .id = S("call_a"),
	                        .text = S("{\"temperature\": 22, \"unit\": \"celsius\"}")}};
	struct hr_part t2[] = {
	    {.type = HR_PART_TOOL_RESULT, .id = S("call_b"), .text = S("sunny, 18 C")}};
	struct hr_part t3[] = {{.type = HR_PART_TOOL_RESULT,
	                        .id = S("call_c"),
	                        .name = S("get_time"),
	                        .text = S("clock unavailable"),
	                        .is_error = true}};
	struct hr_part u2[] = {{.type = HR_PART_TEXT, .text = S("Thanks")}};
	struct hr_msg msgs[] = {
	    {.role = HR_ROLE_USER, .parts = u1, .n_parts = 2},
	    {.role = HR_ROLE_ASSISTANT, .parts = m1, .n_parts = 3},
	    {.role = HR_ROLE_TOOL, .parts = t1, .n_parts = 1},
	    {.role = HR_ROLE_TOOL, .parts = t2, .n_parts = 1},
	    {.role = HR_ROLE_TOOL, .parts = t3, .n_parts = 1},
	    {.role = HR_ROLE_USER, .parts = u2, .n_parts = 1},
	};
	struct hr_chat_req rq = req(msgs, 6);
	rq.tools = tools;
	rq.n_tools = 2;
	rq.tool_choice = HR_TC_NAMED;
	rq.tool_choice_name = S("get_current_weather");
	rq.parallel_tool_calls = 1;
	encode_ok(
	    &model, &rq,
	    "https://generativelanguage.googleapis.com/v1beta/models/"
	    "gemini-2.0-flash:generateContent",
	    "{\"contents\":["
	    "{\"role\":\"user\",\"parts\":[{\"text\":\"Weather in Boston and Paris? And this "
	    "image:\"},{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":"
	    "\"iVBORw0KGgo=\"}}]},"
	    "{\"role\":\"model\",\"parts\":["
	    "{\"functionCall\":{\"id\":\"call_a\",\"name\":\"get_current_weather\","
	    "\"args\":{\"location\":\"Boston, MA\"}},"
	    "\"thoughtSignature\":\"skip_thought_signature_validator\"},"
	    "{\"functionCall\":{\"id\":\"call_b\",\"name\":\"get_current_weather\","
	    "\"args\":{\"location\":\"Paris\",\"unit\":\"celsius\"}}}]},"
	    "{\"role\":\"user\",\"parts\":["
	    "{\"functionResponse\":{\"id\":\"call_a\",\"name\":\"get_current_weather\","
	    "\"response\":{\"temperature\":22,\"unit\":\"celsius\"}}},"
	    "{\"functionResponse\":{\"id\":\"call_b\",\"name\":\"get_current_weather\","
	    "\"response\":{\"result\":\"sunny, 18 C\"}}},"
	    "{\"functionResponse\":{\"id\":\"call_c\",\"name\":\"get_time\","
	    "\"response\":{\"error\":\"clock unavailable\"}}},"
	    "{\"text\":\"Thanks\"}]}],"
	    "\"tools\":[{\"functionDeclarations\":["
	    "{\"name\":\"get_current_weather\",\"description\":\"Get the current weather in a "
	    "given location\",\"parametersJsonSchema\":{\"type\":\"object\",\"properties\":{"
	    "\"location\":{\"type\":\"string\"},\"unit\":{\"type\":[\"string\",\"null\"],"
	    "\"enum\":[\"celsius\",\"fahrenheit\",null]}},\"required\":[\"location\"],"
	    "\"additionalProperties\":false}},"
	    "{\"name\":\"get_time\"}]}],"
	    "\"toolConfig\":{\"functionCallingConfig\":{\"mode\":\"ANY\","
	    "\"allowedFunctionNames\":[\"get_current_weather\"]}}}");

	/* tool_choice modes; strict tools under auto are validated */
	struct hr_msg one[] = {{.role = HR_ROLE_USER, .parts = u2, .n_parts = 1}};
	static const struct {
		enum hr_tool_choice tc;
		bool strict;
		const char *config; /* NULL: no toolConfig */
	} modes[] = {
	    {HR_TC_UNSET, false, NULL},
	    {HR_TC_AUTO, false, "{\"functionCallingConfig\":{\"mode\":\"AUTO\"}}"},
	    {HR_TC_NONE, false, "{\"functionCallingConfig\":{\"mode\":\"NONE\"}}"},
	    {HR_TC_REQUIRED, false, "{\"functionCallingConfig\":{\"mode\":\"ANY\"}}"},
	    {HR_TC_UNSET, true, "{\"functionCallingConfig\":{\"mode\":\"VALIDATED\"}}"},
	    {HR_TC_AUTO, true, "{\"functionCallingConfig\":{\"mode\":\"VALIDATED\"}}"},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		struct hr_tool t = {.name = S("get_time"), .strict = modes[i].strict};
		struct hr_chat_req r = req(one, 1);
		r.tools = &t;
		r.n_tools = 1;
		r.tool_choice = modes[i].tc;
		char want[512];
		snprintf(want, sizeof want,
		         "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"Thanks\"}]}],"
		         "\"tools\":[{\"functionDeclarations\":[{\"name\":\"get_time\"}]}]%s%s}",
		         modes[i].config ? ",\"toolConfig\":" : "",
		         modes[i].config ? modes[i].config : "");
		encode_ok(&model, &r,
		          "https://generativelanguage.googleapis.com/v1beta/models/"
		          "gemini-2.0-flash:generateContent",
		          want);
	}
	json_decref(params);
}

static void test_encode_formats(void **state)
{
	(void)state;
	struct hr_part u[] = {{.type = HR_PART_TEXT, .text = S("List a few cookie recipes.")}};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = u, .n_parts = 1}};
	json_t *schema = json_loads("{\"type\":\"array\",\"items\":{\"type\":\"object\","
	                            "\"properties\":{\"recipeName\":{\"type\":\"string\"}}}}",
	                            0, NULL);
	struct hr_chat_req rq = req(msgs, 1);
	rq.format = HR_FMT_JSON_SCHEMA;
	rq.schema_name = S("recipes");
	rq.schema = schema;
	rq.schema_strict = true;
	encode_ok(&model, &rq,
	          "https://generativelanguage.googleapis.com/v1beta/models/"
	          "gemini-2.0-flash:generateContent",
	          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"List a few cookie "
	          "recipes.\"}]}],\"generationConfig\":{\"responseMimeType\":\"application/json\","
	          "\"responseJsonSchema\":{\"type\":\"array\",\"items\":{\"type\":\"object\","
	          "\"properties\":{\"recipeName\":{\"type\":\"string\"}}}}}}");
	rq.format = HR_FMT_JSON_OBJECT;
	encode_ok(
	    &model, &rq,
	    "https://generativelanguage.googleapis.com/v1beta/models/"
	    "gemini-2.0-flash:generateContent",
	    "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"List a few cookie "
	    "recipes.\"}]}],\"generationConfig\":{\"responseMimeType\":\"application/json\"}}");
	rq.format = HR_FMT_TEXT;
	encode_ok(&model, &rq,
	          "https://generativelanguage.googleapis.com/v1beta/models/"
	          "gemini-2.0-flash:generateContent",
	          "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"List a few cookie "
	          "recipes.\"}]}],\"generationConfig\":{\"responseMimeType\":\"text/plain\"}}");
	json_decref(schema);
}

/* Every field Gemini cannot take is refused by name; malformed history is a 400. */
static void test_encode_refusals(void **state)
{
	(void)state;
	struct hr_part text[] = {{.type = HR_PART_TEXT, .text = S("hi")}};
	struct hr_part url_img[] = {
	    {.type = HR_PART_TEXT, .text = S("look")},
	    {.type = HR_PART_IMAGE, .url = S("https://example.com/cat.png")}};
	struct hr_part hi_img[] = {{.type = HR_PART_IMAGE,
	                            .media_type = S("image/jpeg"),
	                            .data = S("/9j/4AAQ"),
	                            .detail = S("high")}};
	struct hr_part bare_img[] = {{.type = HR_PART_IMAGE, .data = S("/9j/4AAQ")}};
	struct hr_part sys_img[] = {
	    {.type = HR_PART_IMAGE, .media_type = S("image/png"), .data = S("iVBO")}};
	struct hr_part bad_args[] = {
	    {.type = HR_PART_TOOL_CALL, .id = S("c1"), .name = S("f"), .arguments = S("[1,2]")}};
	struct hr_part trunc_args[] = {
	    {.type = HR_PART_TOOL_CALL, .id = S("c1"), .name = S("f"), .arguments = S("{\"a\":")}};
	struct hr_part orphan[] = {{.type = HR_PART_TOOL_RESULT, .id = S("nope"), .text = S("42")}};
	struct hr_part user_call[] = {
	    {.type = HR_PART_TOOL_CALL, .id = S("c1"), .name = S("f"), .arguments = S("{}")}};

	struct hr_msg m_url[] = {{.role = HR_ROLE_USER, .parts = text, .n_parts = 1},
	                         {.role = HR_ROLE_USER, .parts = url_img, .n_parts = 2}};
	struct hr_chat_req rq = req(m_url, 2);
	encode_fails(&rq, HR_EUNSUPPORTED, "messages[1].content[1]", "base64");

	struct hr_msg m_hi[] = {{.role = HR_ROLE_USER, .parts = hi_img, .n_parts = 1}};
	rq = req(m_hi, 1);
	encode_fails(&rq, HR_EUNSUPPORTED, "messages[0].content[0].detail", "gemini");
	struct hr_msg m_bare[] = {{.role = HR_ROLE_USER, .parts = bare_img, .n_parts = 1}};
	rq = req(m_bare, 1);
	encode_fails(&rq, HR_EINVAL, "messages[0].content[0]", "media type");
	struct hr_msg m_sys[] = {{.role = HR_ROLE_SYSTEM, .parts = sys_img, .n_parts = 1},
	                         {.role = HR_ROLE_USER, .parts = text, .n_parts = 1}};
	rq = req(m_sys, 2);
	encode_fails(&rq, HR_EUNSUPPORTED, "messages[0].content[0]", "system instruction");

	struct hr_msg m_name[] = {
	    {.role = HR_ROLE_USER, .parts = text, .n_parts = 1, .name = S("alice")}};
	rq = req(m_name, 1);
	encode_fails(&rq, HR_EUNSUPPORTED, "messages[0].name", "gemini");

	struct hr_msg m_args[] = {{.role = HR_ROLE_USER, .parts = text, .n_parts = 1},
	                          {.role = HR_ROLE_ASSISTANT, .parts = bad_args, .n_parts = 1}};
	rq = req(m_args, 2);
	encode_fails(&rq, HR_EINVAL, "messages[1].content[0]", "messages[1]");
	m_args[1].parts = trunc_args;
	encode_fails(&rq, HR_EINVAL, "messages[1].content[0]", "not a JSON object");

	struct hr_msg m_orphan[] = {{.role = HR_ROLE_USER, .parts = text, .n_parts = 1},
	                            {.role = HR_ROLE_TOOL, .parts = orphan, .n_parts = 1}};
	rq = req(m_orphan, 2);
	encode_fails(&rq, HR_EINVAL, "messages[1].content[0]", "'nope'");

	struct hr_msg m_ucall[] = {{.role = HR_ROLE_USER, .parts = user_call, .n_parts = 1}};
	rq = req(m_ucall, 1);
	encode_fails(&rq, HR_EINVAL, "messages[0].content[0]", "assistant");

	struct hr_msg m_ok[] = {{.role = HR_ROLE_USER, .parts = text, .n_parts = 1}};
	rq = req(m_ok, 1);
	rq.parallel_tool_calls = 0;
	encode_fails(&rq, HR_EUNSUPPORTED, "parallel_tool_calls", "gemini");

	rq = req(m_ok, 1);
	rq.has_seed = true;
	rq.seed = 1LL << 40;
	encode_fails(&rq, HR_EUNSUPPORTED, "seed", "32-bit");

	rq = req(m_ok, 1);
	for (size_t i = 0; i < 6; i++)
		rq.stop[i] = S("x");
	rq.n_stop = 6;
	encode_fails(&rq, HR_EUNSUPPORTED, "stop", "at most 5");

	rq = req(m_ok, 1);
	rq.tool_choice = HR_TC_REQUIRED;
	encode_fails(&rq, HR_EINVAL, "tool_choice", "no tools");

	rq = req(m_ok, 1);
	json_t *extra = json_pack("{s:b}", "logprobs", 1);
	rq.extra = extra;
	encode_fails(&rq, HR_EUNSUPPORTED, "logprobs", "gemini");
	json_decref(extra);

	struct hr_msg m_sysonly[] = {{.role = HR_ROLE_SYSTEM, .parts = text, .n_parts = 1}};
	rq = req(m_sysonly, 1);
	encode_fails(&rq, HR_EINVAL, "messages", "user message");
}

/* ---- decode_chat ---- */

struct chat_case {
	const char *name, *body;
	int rc;
	const char *text;      /* the concatenated TEXT parts */
	size_t n_calls;        /* TOOL_CALL parts */
	const char *call0;     /* "id name args" of the first call */
	enum hr_finish finish; /* and the word */
	const char *reason;
	int64_t prompt, completion, reasoning, cached;
	bool usage;
	const char *id, *model;
	const char *msg; /* a piece of *msg when rc != 0 */
};

static const struct chat_case chat_cases[] = {
    {"text with thinking (a gemini-2.5-flash answer)",
     "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"I apologize for that!\"}],"
     "\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
     "\"usageMetadata\": {\"promptTokenCount\": 12,\"candidatesTokenCount\": 87,"
     "\"totalTokenCount\": 255,\"promptTokensDetails\": [{\"modality\": \"TEXT\","
     "\"tokenCount\": 12}],\"thoughtsTokenCount\": 156},"
     "\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": \"4-4GafrNGoq52roPk_XSuAY\"}",
     0, "I apologize for that!", 0, NULL, HR_FIN_STOP, "STOP", 12, 243, 156, 0, true,
     "4-4GafrNGoq52roPk_XSuAY", "gemini-2.5-flash", NULL},
    {"thought summaries are skipped, cached tokens kept",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"**Weighing it**\",\"thought\":true},"
     "{\"text\":\"The answer \"},{\"text\":\"is 4.\"}],\"role\":\"model\"},"
     "\"finishReason\":\"STOP\"}],\"usageMetadata\":{\"promptTokenCount\":2100,"
     "\"cachedContentTokenCount\":2048,\"candidatesTokenCount\":5,\"thoughtsTokenCount\":30,"
     "\"totalTokenCount\":2135},\"modelVersion\":\"gemini-2.5-pro\"}",
     0, "The answer is 4.", 0, NULL, HR_FIN_STOP, "STOP", 2100, 35, 30, 2048, true, "",
     "gemini-2.5-pro", NULL},
    {"a function call (function calling guide)",
     "{\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": "
     "\"set_light_values\",\"args\": {\"brightness\": 25,\"color_temp\": \"warm\"}}}],"
     "\"role\": \"model\"},\"finishReason\": \"STOP\",\"index\": 0}],"
     "\"usageMetadata\": {\"promptTokenCount\": 75,\"candidatesTokenCount\": 10,"
     "\"totalTokenCount\": 85},\"modelVersion\": \"gemini-2.0-flash\"}",
     0, "", 1, "call_0 set_light_values {\"brightness\":25,\"color_temp\":\"warm\"}",
     HR_FIN_TOOL_CALLS, "STOP", 75, 10, 0, 0, true, "", "gemini-2.0-flash", NULL},
    {"parallel calls with API ids and a thought signature",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Checking both.\"},"
     "{\"functionCall\":{\"id\":\"fc-1\",\"name\":\"power_disco_ball\",\"args\":{\"power\":true}},"
     "\"thoughtSignature\":\"CiQBcsjafA==\"},"
     "{\"functionCall\":{\"id\":\"fc-2\",\"name\":\"dim_lights\",\"args\":{\"brightness\":0.5}}},"
     "{\"functionCall\":{\"name\":\"start_music\"}}],\"role\":\"model\"},"
     "\"finishReason\":\"STOP\"}]}",
     0, "Checking both.", 3, "fc-1 power_disco_ball {\"power\":true}", HR_FIN_TOOL_CALLS, "STOP", 0,
     0, 0, 0, false, "", "", NULL},
    {"max tokens",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Once upon\"}],"
     "\"role\":\"model\"},\"finishReason\":\"MAX_TOKENS\"}],"
     "\"usageMetadata\":{\"promptTokenCount\":4,\"candidatesTokenCount\":2,"
     "\"totalTokenCount\":6}}",
     0, "Once upon", 0, NULL, HR_FIN_LENGTH, "MAX_TOKENS", 4, 2, 0, 0, true, "", "", NULL},
    {"a candidate stopped for safety has no content",
     "{\"candidates\":[{\"finishReason\":\"SAFETY\",\"index\":0,\"safetyRatings\":[{"
     "\"category\":\"HARM_CATEGORY_DANGEROUS_CONTENT\",\"probability\":\"HIGH\"}]}],"
     "\"usageMetadata\":{\"promptTokenCount\":9,\"totalTokenCount\":9}}",
     0, "", 0, NULL, HR_FIN_CONTENT_FILTER, "SAFETY", 9, 0, 0, 0, true, "", "", NULL},
    {"recitation",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"It was\"}]},"
     "\"finishReason\":\"RECITATION\"}]}",
     0, "It was", 0, NULL, HR_FIN_CONTENT_FILTER, "RECITATION", 0, 0, 0, 0, false, "", "", NULL},
    {"other reasons keep their word",
     "{\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":\"MALFORMED_FUNCTION_CALL\"}]}",
     0, "", 0, NULL, HR_FIN_STOP, "MALFORMED_FUNCTION_CALL", 0, 0, 0, 0, false, "", "", NULL},
    {"a blocked prompt is the client's error",
     "{\"promptFeedback\": {\"blockReason\": \"SAFETY\",\"safetyRatings\": [{\"category\": "
     "\"HARM_CATEGORY_SEXUALLY_EXPLICIT\",\"probability\": \"NEGLIGIBLE\"}]},"
     "\"usageMetadata\": {\"promptTokenCount\": 8,\"totalTokenCount\": 8},"
     "\"modelVersion\": \"gemini-2.0-flash\"}",
     HR_EINVAL, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL,
     "the provider blocked the prompt: SAFETY"},
    {"no candidates", "{\"usageMetadata\":{\"promptTokenCount\":3}}", HR_EUPSTREAM_BAD, NULL, 0,
     NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "no candidates"},
    {"truncated", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Hel", HR_EUPSTREAM_BAD,
     NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "not JSON"},
    {"not an object", "[1,2]", HR_EUPSTREAM_BAD, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL,
     NULL, "not a JSON object"},
    {"candidates of the wrong type", "{\"candidates\":{\"text\":\"hi\"}}", HR_EUPSTREAM_BAD, NULL,
     0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "no candidates"},
    {"parts of the wrong type", "{\"candidates\":[{\"content\":{\"parts\":\"hi\"}}]}",
     HR_EUPSTREAM_BAD, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "parts"},
    {"text of the wrong type", "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":7}]}}]}",
     HR_EUPSTREAM_BAD, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "string"},
    {"call args of the wrong type",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"f\","
     "\"args\":\"{}\"}}]}}]}",
     HR_EUPSTREAM_BAD, NULL, 0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "functionCall"},
    {"finishReason of the wrong type",
     "{\"candidates\":[{\"content\":{\"parts\":[]},\"finishReason\":1}]}", HR_EUPSTREAM_BAD, NULL,
     0, NULL, 0, NULL, 0, 0, 0, 0, false, NULL, NULL, "finishReason"},
    {"counts of the wrong type are absent",
     "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"ok\"}]},\"finishReason\":\"STOP\"}],"
     "\"usageMetadata\":{\"promptTokenCount\":\"5\",\"candidatesTokenCount\":-3}}",
     0, "ok", 0, NULL, HR_FIN_STOP, "STOP", 0, 0, 0, 0, true, "", "", NULL},
};

static void test_decode_chat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof chat_cases / sizeof chat_cases[0]; i++) {
		const struct chat_case *c = &chat_cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_resp res;
		const char *msg = NULL;
		int rc = G->decode_chat(a, c->body, strlen(c->body), &res, &msg);
		if (rc != c->rc)
			fail_msg("%s: rc %s, want %s (%s)", c->name, hr_err_name(rc),
			         hr_err_name(c->rc), msg ? msg : "-");
		if (rc) {
			assert_non_null(msg);
			if (!strstr(msg, c->msg))
				fail_msg("%s: message '%s' lacks '%s'", c->name, msg, c->msg);
			hr_arena_destroy(a);
			continue;
		}
		char text[256] = "";
		size_t tl = 0, calls = 0;
		for (size_t j = 0; j < res.n_parts; j++) {
			const struct hr_part *p = &res.parts[j];
			if (p->type == HR_PART_TEXT) {
				assert_true(tl + p->text.len < sizeof text);
				memcpy(text + tl, p->text.ptr, p->text.len);
				text[tl += p->text.len] = 0;
			} else {
				assert_int_equal(p->type, HR_PART_TOOL_CALL);
				if (calls++ == 0 && c->call0) {
					char got[256];
					snprintf(got, sizeof got, "%.*s %.*s %.*s", (int)p->id.len,
					         p->id.ptr, (int)p->name.len, p->name.ptr,
					         (int)p->arguments.len, p->arguments.ptr);
					assert_string_equal(got, c->call0);
				}
			}
		}
		if (strcmp(text, c->text) != 0)
			fail_msg("%s: text '%s', want '%s'", c->name, text, c->text);
		assert_int_equal(calls, c->n_calls);
		assert_int_equal(res.finish, c->finish);
		assert_string_equal(res.finish_reason, c->reason);
		assert_int_equal(res.usage.present, c->usage);
		assert_int_equal(res.usage.prompt_tokens, c->prompt);
		assert_int_equal(res.usage.completion_tokens, c->completion);
		assert_int_equal(res.usage.reasoning_tokens, c->reasoning);
		assert_int_equal(res.usage.cached_tokens, c->cached);
		assert_true(hr_str_eq_cstr(res.id, c->id));
		assert_true(hr_str_eq_cstr(res.model, c->model));
		hr_arena_destroy(a);
	}
}

/* Parallel calls without ids get call_0, call_1, ... unique within the answer. */
static void test_decode_chat_ids(void **state)
{
	(void)state;
	const char *body =
	    "{\"candidates\":[{\"content\":{\"parts\":[{\"functionCall\":{\"name\":\"a\",\"args\":{"
	    "}}},"
	    "{\"functionCall\":{\"name\":\"b\",\"args\":{\"x\":[1,2,{\"y\":null}]}}}]},"
	    "\"finishReason\":\"STOP\"}]}";
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp res;
	const char *msg;
	assert_int_equal(G->decode_chat(a, body, strlen(body), &res, &msg), 0);
	assert_int_equal(res.n_parts, 2);
	assert_true(hr_str_eq_cstr(res.parts[0].id, "call_0"));
	assert_true(hr_str_eq_cstr(res.parts[0].arguments, "{}"));
	assert_true(hr_str_eq_cstr(res.parts[1].id, "call_1"));
	assert_true(hr_str_eq_cstr(res.parts[1].name, "b"));
	assert_true(hr_str_eq_cstr(res.parts[1].arguments, "{\"x\":[1,2,{\"y\":null}]}"));
	hr_arena_destroy(a);
}

/* ---- decode_stream ---- */

/* Feeds events (SSE data) in order; returns the canonical events, one line each. */
static void run_stream(const char *const *events, size_t n, char *out, size_t cap, bool *finished,
                       size_t *n_tools)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_dec st = {0};
	size_t used = 0;
	out[0] = 0;
	for (size_t i = 0; i < n; i++) {
		struct hr_sev_list l = {0};
		const char *msg = NULL;
		int rc = G->decode_stream(a, &st, NULL, events[i], strlen(events[i]), &l, &msg);
		if (rc) {
			used += (size_t)snprintf(out + used, cap - used, "BAD %s\n", msg);
			continue;
		}
		for (size_t k = 0; k < l.n; k++) {
			const struct hr_sev *e = &l.v[k];
			int w = 0;
			switch (e->type) {
			case HR_SEV_START:
				w = snprintf(out + used, cap - used, "START %.*s %.*s\n",
				             (int)e->id.len, e->id.ptr, (int)e->name.len,
				             e->name.ptr);
				break;
			case HR_SEV_TEXT:
				w = snprintf(out + used, cap - used, "TEXT %.*s\n",
				             (int)e->text.len, e->text.ptr);
				break;
			case HR_SEV_TOOL_START:
				w = snprintf(out + used, cap - used, "TOOL_START %zu %.*s %.*s\n",
				             e->index, (int)e->id.len, e->id.ptr, (int)e->name.len,
				             e->name.ptr);
				break;
			case HR_SEV_TOOL_ARGS:
				w = snprintf(out + used, cap - used, "TOOL_ARGS %zu %.*s\n",
				             e->index, (int)e->text.len, e->text.ptr);
				break;
			case HR_SEV_FINISH:
				w = snprintf(out + used, cap - used, "FINISH %s %s\n",
				             hr_finish_name(e->finish), e->finish_reason);
				break;
			case HR_SEV_USAGE:
				w = snprintf(out + used, cap - used,
				             "USAGE %" PRId64 " %" PRId64 " %" PRId64 "\n",
				             e->usage.prompt_tokens, e->usage.completion_tokens,
				             e->usage.reasoning_tokens);
				break;
			case HR_SEV_DONE: w = snprintf(out + used, cap - used, "DONE\n"); break;
			case HR_SEV_ERROR:
				w = snprintf(out + used, cap - used, "ERROR %s %.*s\n",
				             hr_err_name(e->err), (int)e->text.len, e->text.ptr);
				break;
			}
			used += (size_t)w;
			assert_true(used < cap);
		}
	}
	*finished = st.finished;
	*n_tools = st.n_tools;
	hr_arena_destroy(a);
}

static void test_stream_text(void **state)
{
	(void)state;
	/* curl .../gemini-2.0-flash:streamGenerateContent?alt=sse (streaming quickstart) */
	static const char *const ev[] = {
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Paris\"}],\"role\": "
	    "\"model\"}}],\"usageMetadata\": {\"promptTokenCount\": 11,\"totalTokenCount\": 11,"
	    "\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 11}]},"
	    "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"8aYWaLP3NaCBm9IPk-2kuQ4\"}",
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" is the capital.\\n\"}],"
	    "\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": "
	    "{\"promptTokenCount\": 11,\"candidatesTokenCount\": 6,\"totalTokenCount\": 17,"
	    "\"promptTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 11}],"
	    "\"candidatesTokensDetails\": [{\"modality\": \"TEXT\",\"tokenCount\": 6}]},"
	    "\"modelVersion\": \"gemini-2.0-flash\",\"responseId\": \"8aYWaLP3NaCBm9IPk-2kuQ4\"}",
	};
	char out[2048];
	bool fin;
	size_t nt;
	run_stream(ev, 2, out, sizeof out, &fin, &nt);
	assert_string_equal(out, "START 8aYWaLP3NaCBm9IPk-2kuQ4 gemini-2.0-flash\n"
	                         "TEXT Paris\n"
	                         "USAGE 11 0 0\n"
	                         "TEXT  is the capital.\n\n"
	                         "FINISH stop STOP\n"
	                         "USAGE 11 6 0\n");
	assert_true(fin);
	assert_int_equal(nt, 0);

	/* a thinking model: thought parts skipped, thinking counted; chunks without counts
	 * (Vertex sends trafficType only) give no USAGE; the closing chunk's empty text rides
	 * with a thoughtSignature */
	static const char *const ev2[] = {
	    "{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": "
	    "\"Thinking about greetings\",\"thought\": true}]}}],\"usageMetadata\": "
	    "{\"trafficType\": \"ON_DEMAND\"},\"modelVersion\": \"gemini-3.1-flash-lite-preview\","
	    "\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	    "{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": "
	    "\"Hello!\"}]}}],\"usageMetadata\": {\"trafficType\": \"ON_DEMAND\"},\"modelVersion\": "
	    "\"gemini-3.1-flash-lite-preview\",\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	    "{\"candidates\": [{\"content\": {\"role\": \"model\",\"parts\": [{\"text\": \"\","
	    "\"thoughtSignature\": \"AY89a18iOcFus5wr5bW5xN6zZ4aUiCyhgmg6HE2YjtYD\"}]},"
	    "\"finishReason\": \"STOP\"}],\"usageMetadata\": {\"promptTokenCount\": 1,"
	    "\"candidatesTokenCount\": 9,\"thoughtsTokenCount\": 20,\"totalTokenCount\": 30,"
	    "\"trafficType\": \"ON_DEMAND\"},\"modelVersion\": \"gemini-3.1-flash-lite-preview\","
	    "\"responseId\": \"tTCwacuEBMvnitYP06qsgQY\"}",
	    "",
	    "  \r\n",
	};
	run_stream(ev2, 5, out, sizeof out, &fin, &nt);
	assert_string_equal(out, "START tTCwacuEBMvnitYP06qsgQY gemini-3.1-flash-lite-preview\n"
	                         "TEXT Hello!\n"
	                         "FINISH stop STOP\n"
	                         "USAGE 1 29 20\n");
	assert_true(fin);
}

static void test_stream_tools(void **state)
{
	(void)state;
	static const char *const ev[] = {
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Let me check.\"}],\"role\": "
	    "\"model\"},\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 70,"
	    "\"totalTokenCount\": 70},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": "
	    "\"r1\"}",
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"name\": "
	    "\"get_current_weather\",\"args\": {\"location\": \"Boston, "
	    "MA\"}},\"thoughtSignature\": "
	    "\"CiQB\"},{\"functionCall\": {\"name\": \"get_current_weather\",\"args\": "
	    "{\"location\": \"Paris\"}}}],\"role\": \"model\"},\"finishReason\": \"STOP\","
	    "\"index\": 0}],\"usageMetadata\": {\"promptTokenCount\": 70,\"candidatesTokenCount\": "
	    "24,\"totalTokenCount\": 94},\"modelVersion\": \"gemini-2.5-flash\",\"responseId\": "
	    "\"r1\"}",
	};
	char out[2048];
	bool fin;
	size_t nt;
	run_stream(ev, 2, out, sizeof out, &fin, &nt);
	assert_string_equal(out, "START r1 gemini-2.5-flash\n"
	                         "TEXT Let me check.\n"
	                         "USAGE 70 0 0\n"
	                         "TOOL_START 0 call_0 get_current_weather\n"
	                         "TOOL_ARGS 0 {\"location\":\"Boston, MA\"}\n"
	                         "TOOL_START 1 call_1 get_current_weather\n"
	                         "TOOL_ARGS 1 {\"location\":\"Paris\"}\n"
	                         "FINISH tool_calls STOP\n"
	                         "USAGE 70 24 0\n");
	assert_true(fin);
	assert_int_equal(nt, 2);
}

static void test_stream_errors(void **state)
{
	(void)state;
	static const char *const ev[] = {
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Partial\"}],\"role\": "
	    "\"model\"}}],\"modelVersion\": \"gemini-2.0-flash\"}",
	    "{\"error\": {\"code\": 503,\"message\": \"The model is overloaded. Please try again "
	    "later.\",\"status\": \"UNAVAILABLE\"}}",
	    "{\"error\": {\"message\": \"quota\",\"status\": \"RESOURCE_EXHAUSTED\"}}",
	    "{\"error\": {\"status\": \"INTERNAL\"}}",
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"cut",
	    "[1]",
	    "{\"candidates\": 5}",
	    "{\"candidates\": [{\"content\": {\"parts\": [{\"functionCall\": {\"args\": {}}}]}}]}",
	    "{\"futureField\": {\"x\": 1}}",
	};
	char out[4096];
	bool fin;
	size_t nt;
	run_stream(ev, sizeof ev / sizeof ev[0], out, sizeof out, &fin, &nt);
	const char *want = "START  gemini-2.0-flash\n"
	                   "TEXT Partial\n"
	                   "ERROR EOVERLOADED The model is overloaded. Please try again later.\n"
	                   "ERROR ERATELIMIT quota\n"
	                   "ERROR EUPSTREAM the provider reported an error in the stream\n"
	                   "BAD a stream event from the provider is not JSON: ";
	if (strncmp(out, want, strlen(want)) != 0)
		fail_msg("got:\n%s", out);
	assert_non_null(strstr(out, "BAD a stream event from the provider is not a JSON object\n"
	                            "BAD the provider's candidates are not an array\n"
	                            "BAD a functionCall"));
	assert_false(fin);

	/* a prompt blocked at the start of a stream */
	static const char *const blocked[] = {
	    "{\"promptFeedback\": {\"blockReason\": \"PROHIBITED_CONTENT\"},\"usageMetadata\": "
	    "{\"promptTokenCount\": 7,\"totalTokenCount\": 7},\"modelVersion\": "
	    "\"gemini-2.0-flash\"}",
	};
	run_stream(blocked, 1, out, sizeof out, &fin, &nt);
	assert_string_equal(out,
	                    "ERROR EINVAL the provider blocked the prompt: PROHIBITED_CONTENT\n");
	assert_false(fin);
}

/* ---- errors ---- */

static void test_map_error(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *body;
		int code;
		const char *msg; /* NULL: none */
	} cases[] = {
	    {400,
	     "{\n  \"error\": {\n    \"code\": 400,\n    \"message\": \"API key not valid. Please "
	     "pass a valid API key.\",\n    \"status\": \"INVALID_ARGUMENT\",\n    \"details\": [\n"
	     "      {\n        \"@type\": \"type.googleapis.com/google.rpc.ErrorInfo\",\n"
	     "        \"reason\": \"API_KEY_INVALID\",\n        \"domain\": \"googleapis.com\",\n"
	     "        \"metadata\": {\"service\": \"generativelanguage.googleapis.com\"}\n      }\n"
	     "    ]\n  }\n}\n",
	     HR_EUPSTREAM_AUTH, "API key not valid. Please pass a valid API key."},
	    {400,
	     "{\"error\": {\"code\": 400,\"message\": \"Invalid JSON payload received. Unknown "
	     "name "
	     "\\\"foo\\\": Cannot find field.\",\"status\": \"INVALID_ARGUMENT\"}}",
	     HR_EINVAL, "Invalid JSON payload received. Unknown name \"foo\": Cannot find field."},
	    {403,
	     "{\"error\":{\"code\":403,\"message\":\"Method doesn't allow unregistered callers.\","
	     "\"status\":\"PERMISSION_DENIED\"}}",
	     HR_EUPSTREAM_AUTH, "Method doesn't allow unregistered callers."},
	    {401, "", HR_EUPSTREAM_AUTH, NULL},
	    {404,
	     "{\"error\": {\"code\": 404,\"message\": \"models/gemini-9 is not found for API "
	     "version "
	     "v1beta, or is not supported for generateContent.\",\"status\": \"NOT_FOUND\"}}",
	     HR_EUPSTREAM_NOTFOUND,
	     "models/gemini-9 is not found for API version v1beta, or is not supported for "
	     "generateContent."},
	    {408, "timeout", HR_ETIMEOUT, NULL},
	    {413,
	     "{\"error\":{\"code\":413,\"message\":\"Request payload size exceeds the limit\"}}",
	     HR_ETOOBIG, "Request payload size exceeds the limit"},
	    {422, "{}", HR_EINVAL, NULL},
	    {429,
	     "{\"error\": {\"code\": 429,\"message\": \"Resource has been exhausted (e.g. check "
	     "quota).\",\"status\": \"RESOURCE_EXHAUSTED\"}}",
	     HR_ERATELIMIT, "Resource has been exhausted (e.g. check quota)."},
	    {500,
	     "{\"error\": {\"code\": 500,\"message\": \"An internal error has occurred.\","
	     "\"status\": \"INTERNAL\"}}",
	     HR_EUPSTREAM, "An internal error has occurred."},
	    {503,
	     "[{\"error\": {\"code\": 503,\"message\": \"The model is overloaded. Please try again "
	     "later.\",\"status\": \"UNAVAILABLE\"}}]",
	     HR_EOVERLOADED, "The model is overloaded. Please try again later."},
	    {529, "<html>overloaded</html>", HR_EOVERLOADED, NULL},
	    {504,
	     "{\"error\":{\"code\":504,\"message\":\"Deadline expired before operation could "
	     "complete.\",\"status\":\"DEADLINE_EXCEEDED\"}}",
	     HR_ETIMEOUT, "Deadline expired before operation could complete."},
	    {502, "{\"error\":\"bad gateway\"}", HR_EUPSTREAM, NULL},
	    {500, "{\"error\":{\"message\":7,\"details\":\"x\"}}", HR_EUPSTREAM, NULL},
	    {400, "{\"error\":{\"message\":\"m\",\"details\":[1,{\"reason\":null}]}}", HR_EINVAL,
	     "m"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		const char *msg = "unset";
		int rc =
		    G->map_error(a, cases[i].status, cases[i].body, strlen(cases[i].body), &msg);
		if (rc != cases[i].code)
			fail_msg("case %zu: %s, want %s", i, hr_err_name(rc),
			         hr_err_name(cases[i].code));
		if (cases[i].msg)
			assert_string_equal(msg, cases[i].msg);
		else
			assert_null(msg);
		hr_arena_destroy(a);
	}
	/* a long message is cut at 500 bytes without splitting a UTF-8 sequence */
	char body[2048] = "{\"error\":{\"message\":\"";
	size_t n = strlen(body);
	for (int i = 0; i < 400; i++) {
		memcpy(body + n, "\xc3\xa9", 2); /* é */
		n += 2;
	}
	memcpy(body + n, "\"}}", 4);
	struct hr_arena *a = hr_arena_create(0);
	const char *msg;
	assert_int_equal(G->map_error(a, 400, body, strlen(body), &msg), HR_EINVAL);
	assert_int_equal(strlen(msg), 500);
	assert_int_equal(G->map_error(a, 400, NULL, 0, &msg), HR_EINVAL);
	assert_null(msg);
	hr_arena_destroy(a);
}

/* ---- embeddings ---- */

static void test_embed(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model em = {
	    .name = "embed", .upstream = "gemini-embedding-001", .provider = &prov};
	struct hr_str one[] = {S("What is the meaning of life?")};
	struct hr_embed_req rq = {.inputs = one, .n_inputs = 1, .dimensions = -1};
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(G->encode_embed(a, &em, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://generativelanguage.googleapis.com/v1beta/models/"
	                             "gemini-embedding-001:embedContent");
	assert_string_equal(out.headers[1], "x-goog-api-key: AIza-test");
	assert_null(out.headers[2]);
	assert_string_equal(out.body.ptr, "{\"content\":{\"parts\":[{\"text\":\"What is the "
	                                  "meaning of life?\"}]}}");
	hr_buf_release(&out.body);

	struct hr_str many[] = {S("What is the meaning of life?"), S("How much wood?")};
	rq = (struct hr_embed_req){
	    .inputs = many, .n_inputs = 2, .dimensions = 768, .base64 = true, .user = S("u1")};
	struct hr_http_out out2 = {0};
	hr_buf_init(&out2.body, 1 << 20);
	assert_int_equal(G->encode_embed(a, &em, &rq, &out2, &msg, &param), 0);
	assert_string_equal(out2.url, "https://generativelanguage.googleapis.com/v1beta/models/"
	                              "gemini-embedding-001:batchEmbedContents");
	assert_string_equal(
	    out2.body.ptr,
	    "{\"requests\":[{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{"
	    "\"text\":\"What is the meaning of life?\"}]},\"outputDimensionality\":768},"
	    "{\"model\":\"models/gemini-embedding-001\",\"content\":{\"parts\":[{\"text\":\"How "
	    "much wood?\"}]},\"outputDimensionality\":768}]}");
	hr_buf_release(&out2.body);

	/* refusals */
	struct hr_http_out out3 = {0};
	hr_buf_init(&out3.body, 1 << 20);
	rq = (struct hr_embed_req){.inputs = one, .n_inputs = 1, .tokens_input = true};
	assert_int_equal(G->encode_embed(a, &em, &rq, &out3, &msg, &param), HR_EUNSUPPORTED);
	assert_string_equal(param, "input");
	assert_non_null(strstr(msg, "gemini"));
	json_t *extra = json_pack("{s:s}", "input_type", "query");
	rq = (struct hr_embed_req){.inputs = one, .n_inputs = 1, .extra = extra};
	assert_int_equal(G->encode_embed(a, &em, &rq, &out3, &msg, &param), HR_EUNSUPPORTED);
	assert_string_equal(param, "input_type");
	json_decref(extra);
	rq = (struct hr_embed_req){.inputs = one, .n_inputs = 0};
	assert_int_equal(G->encode_embed(a, &em, &rq, &out3, &msg, &param), HR_EINVAL);
	hr_buf_release(&out3.body);

	/* answers */
	struct hr_embed_resp res;
	const char *b1 = "{\n  \"embedding\": {\n    \"values\": [\n      0.013168523,\n"
	                 "      -0.008711934,\n      -0.046782676\n    ]\n  }\n}\n";
	assert_int_equal(G->decode_embed(a, b1, strlen(b1), &res, &msg), 0);
	assert_int_equal(res.n, 1);
	assert_int_equal(json_array_size(res.vectors[0]), 3);
	assert_false(res.usage.present);
	const char *b2 = "{\"embeddings\": [{\"values\": [0.1, -0.2]},{\"values\": [0.3, 1]}]}";
	assert_int_equal(G->decode_embed(a, b2, strlen(b2), &res, &msg), 0);
	assert_int_equal(res.n, 2);
	assert_true(json_real_value(json_array_get(res.vectors[1], 0)) == 0.3);
	static const char *const bad[] = {
	    "{\"embedding\": {\"values\": [0.1, \"x\"]}}",
	    "{\"embeddings\": []}",
	    "{\"embeddings\": [{\"values\": [1]}, {}]}",
	    "{\"embedding\": [0.1]}",
	    "{}",
	    "[]",
	    "{\"embedding\": {\"values\": [0.1,",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		assert_int_equal(G->decode_embed(a, bad[i], strlen(bad[i]), &res, &msg),
		                 HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		assert_int_equal(res.n, 0);
	}
	hr_arena_destroy(a);
}

/* ---- models ---- */

static void test_models(void **state)
{
	(void)state;
	assert_string_equal(G->models_path, "/models");
	assert_string_equal(G->kind, "gemini");
	assert_int_equal(G->framing, HR_FRAME_SSE);
	struct hr_arena *a = hr_arena_create(0);
	const char *body =
	    "{\n  \"models\": [\n    {\n      \"name\": \"models/gemini-2.0-flash\",\n"
	    "      \"version\": \"2.0\",\n      \"displayName\": \"Gemini 2.0 Flash\",\n"
	    "      \"inputTokenLimit\": 1048576,\n      \"outputTokenLimit\": 8192,\n"
	    "      \"supportedGenerationMethods\": [\"generateContent\", \"countTokens\"]\n    },\n"
	    "    {\n      \"name\": \"models/gemini-embedding-001\",\n"
	    "      \"supportedGenerationMethods\": [\"embedContent\"]\n    },\n"
	    "    {\"displayName\": \"no name\"}, 7\n  ],\n"
	    "  \"nextPageToken\": \"Ch5tb2RlbHMvZ2VtaW5pLTEuNS1mbGFzaC0wMDI=\"\n}\n";
	struct hr_str *ids;
	size_t n;
	const char *msg;
	assert_int_equal(G->decode_models(a, body, strlen(body), &ids, &n, &msg), 0);
	assert_int_equal(n, 2);
	assert_true(hr_str_eq_cstr(ids[0], "gemini-2.0-flash"));
	assert_true(hr_str_eq_cstr(ids[1], "gemini-embedding-001"));
	assert_int_equal(G->decode_models(a, "{}", 2, &ids, &n, &msg), 0);
	assert_int_equal(n, 0);
	assert_int_equal(G->decode_models(a, "{\"models\":{}}", 13, &ids, &n, &msg),
	                 HR_EUPSTREAM_BAD);
	assert_int_equal(G->decode_models(a, "{\"models\":[", 11, &ids, &n, &msg),
	                 HR_EUPSTREAM_BAD);
	assert_non_null(msg);
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_text),    cmocka_unit_test(test_encode_tools),
	    cmocka_unit_test(test_encode_formats), cmocka_unit_test(test_encode_refusals),
	    cmocka_unit_test(test_decode_chat),    cmocka_unit_test(test_decode_chat_ids),
	    cmocka_unit_test(test_stream_text),    cmocka_unit_test(test_stream_tools),
	    cmocka_unit_test(test_stream_errors),  cmocka_unit_test(test_map_error),
	    cmocka_unit_test(test_embed),          cmocka_unit_test(test_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
