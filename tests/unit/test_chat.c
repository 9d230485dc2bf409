/* test_chat.c - hr_chat_parse against tables of real OpenAI request bodies (accepted) and
 * of broken ones (rejected with the code, the param and the message a client would see). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "providers/chat.h"

static const struct hr_chat_limits deflim = {HR_DEF_MAX_MESSAGES, HR_DEF_MAX_TOOLS,
                                             HR_DEF_MAX_JSON_DEPTH};

/* ---- accepted ---- */

struct ok_case {
	const char *name;
	const char *body;
	const char *model;
	bool stream, include_usage;
	long max_tokens;
	size_t n_messages;
	size_t prompt_bytes_min, prompt_bytes_max;
};

static const struct ok_case ok_cases[] = {
    {"minimal",
     "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\",\"content\":"
     "\"Say this is a test!\"}]}",
     "gpt-4o-mini", false, false, -1, 1, 19, 19},
    {"system + user, sampling params",
     "{\n  \"model\": \"gpt-4o\",\n  \"messages\": [\n    {\"role\": \"system\", \"content\": "
     "\"You are a helpful assistant.\"},\n    {\"role\": \"user\", \"content\": \"Hello!\"}\n"
     "  ],\n  \"temperature\": 0.7,\n  \"top_p\": 1,\n  \"max_tokens\": 256,\n  \"seed\": 42,\n"
     "  \"stop\": [\"\\n\\n\", \"END\"],\n  \"user\": \"user-1234\",\n  \"n\": 1\n}",
     "gpt-4o", false, false, 256, 2, 34, 34},
    {"streaming with usage",
     "{\"model\":\"gpt-4o\",\"stream\":true,\"stream_options\":{\"include_usage\":true},"
     "\"messages\":[{\"role\":\"developer\",\"content\":\"You are terse.\"},{\"role\":\"user\","
     "\"content\":\"Hello!\"}]}",
     "gpt-4o", true, true, -1, 2, 20, 20},
    {"tools, tool_choice, a tool round trip",
     "{\"model\":\"gpt-4.1\",\"messages\":[{\"role\":\"user\",\"content\":\"What's the weather "
     "like in Boston today?\"},{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
     "\"call_abc123\",\"type\":\"function\",\"function\":{\"name\":\"get_current_weather\","
     "\"arguments\":\"{\\\"location\\\":\\\"Boston, MA\\\"}\"}}]},{\"role\":\"tool\","
     "\"tool_call_id\":\"call_abc123\",\"content\":\"{\\\"temperature\\\":22}\"}],\"tools\":"
     "[{\"type\":\"function\",\"function\":{\"name\":\"get_current_weather\",\"description\":"
     "\"Get the current weather in a given location\",\"parameters\":{\"type\":\"object\","
     "\"properties\":{\"location\":{\"type\":\"string\",\"description\":\"The city and state, "
     "e.g. San Francisco, CA\"},\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\","
     "\"fahrenheit\"]}},\"required\":[\"location\"]}}}],\"tool_choice\":\"auto\","
     "\"parallel_tool_calls\":false,\"max_completion_tokens\":1000}",
     "gpt-4.1", false, false, 1000, 3, 300, 500},
    {"tool_choice object, strict schema",
     "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"tools\":[{"
     "\"type\":\"function\",\"function\":{\"name\":\"lookup\",\"strict\":true,\"parameters\":{"
     "\"type\":\"object\",\"properties\":{},\"additionalProperties\":false}}}],\"tool_choice\":{"
     "\"type\":\"function\",\"function\":{\"name\":\"lookup\"}}}",
     "gpt-4o", false, false, -1, 1, 100, 200},
    {"vision parts",
     "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
     "\"text\":\"What's in this image?\"},{\"type\":\"image_url\",\"image_url\":{\"url\":"
     "\"https://upload.wikimedia.org/wikipedia/commons/thumb/d/dd/Gfp-wisconsin-madison-the-"
     "nature-boardwalk.jpg/2560px-Gfp-wisconsin-madison-the-nature-boardwalk.jpg\",\"detail\":"
     "\"low\"}}]}],\"max_tokens\":300}",
     "gpt-4o", false, false, 300, 1, 21, 21},
    {"json_schema response_format",
     "{\"model\":\"gpt-4o-2024-08-06\",\"messages\":[{\"role\":\"system\",\"content\":\"Extract "
     "the event information.\"},{\"role\":\"user\",\"content\":\"Alice and Bob are going to a "
     "science fair on Friday.\"}],\"response_format\":{\"type\":\"json_schema\",\"json_schema\":"
     "{\"name\":\"calendar_event\",\"strict\":true,\"schema\":{\"type\":\"object\",\"properties\":"
     "{\"name\":{\"type\":\"string\"},\"date\":{\"type\":\"string\"},\"participants\":{\"type\":"
     "\"array\",\"items\":{\"type\":\"string\"}}},\"required\":[\"name\",\"date\",\"participants\"]"
     ","
     "\"additionalProperties\":false}}}}",
     "gpt-4o-2024-08-06", false, false, -1, 2, 82, 82},
    {"json_object, nulls for optionals, unknown fields kept",
     "{\"model\":\"o3-mini\",\"messages\":[{\"role\":\"user\",\"content\":\"JSON please\"}],"
     "\"response_format\":{\"type\":\"json_object\"},\"reasoning_effort\":\"low\",\"store\":true,"
     "\"metadata\":{\"k\":\"v\"},\"temperature\":null,\"stop\":null,\"tools\":null,\"stream\":null,"
     "\"prediction\":{\"type\":\"content\",\"content\":\"x\"},\"modalities\":[\"text\"]}",
     "o3-mini", false, false, -1, 1, 11, 11},
    {"legacy function role, unicode",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"\\u00e9t\\u00e9 "
     "\xe2\x98\x80\"},"
     "{\"role\":\"assistant\",\"function_call\":{\"name\":\"f\",\"arguments\":\"{}\"}},"
     "{\"role\":\"function\",\"name\":\"f\",\"content\":\"ok\"}],\"stop\":\"x\"}",
     "m", false, false, -1, 3, 13, 13},
    {"custom tool",
     "{\"model\":\"gpt-5\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
     "\"tools\":[{\"type\":\"custom\",\"custom\":{\"name\":\"code_exec\"}}]}",
     "gpt-5", false, false, -1, 1, 40, 80},
};

static void test_accepts_real_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof ok_cases / sizeof ok_cases[0]; i++) {
		const struct ok_case *c = &ok_cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_req rq;
		const char *msg, *param;
		int rc = hr_chat_parse(a, c->body, strlen(c->body), &deflim, &rq, &msg, &param);
		if (rc != 0)
			fail_msg("case '%s': %s (%s): %s", c->name, hr_err_name(rc),
			         param ? param : "-", msg);
		assert_string_equal(rq.model, c->model);
		assert_int_equal(rq.stream, c->stream);
		assert_int_equal(rq.include_usage, c->include_usage);
		assert_int_equal(rq.max_tokens, c->max_tokens);
		assert_int_equal(rq.n_messages, c->n_messages);
		if (rq.prompt_bytes < c->prompt_bytes_min || rq.prompt_bytes > c->prompt_bytes_max)
			fail_msg("case '%s': prompt_bytes %zu not in %zu..%zu", c->name,
			         rq.prompt_bytes, c->prompt_bytes_min, c->prompt_bytes_max);
		assert_true(json_is_object(rq.body));
		hr_arena_destroy(a);
	}
}

static void test_unknown_fields_pass_through(void **state)
{
	(void)state;
	const char *body = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],"
	                   "\"logit_bias\":{\"50256\":-100},\"new_field_2030\":[1,{\"a\":2}]}";
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg, *param;
	assert_int_equal(hr_chat_parse(a, body, strlen(body), &deflim, &rq, &msg, &param), 0);
	char *out = json_dumps(rq.body, JSON_COMPACT);
	assert_string_equal(out, body);
	free(out);
	hr_arena_destroy(a);
}

/* ---- rejected ---- */

struct bad_case {
	const char *name;
	const char *body;
	int rc;
	const char *param; /* NULL: none expected */
	const char *msg;   /* a substring of the message */
};

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]"

static const struct bad_case bad_cases[] = {
    {"empty body", "", HR_EBADJSON, NULL, "not valid JSON"},
    {"truncated", "{\"model\":\"m\",", HR_EBADJSON, NULL, "line 1"},
    {"trailing garbage", "{\"model\":\"m\"} x", HR_EBADJSON, NULL, "not valid JSON"},
    {"duplicate key", "{\"model\":\"a\",\"model\":\"b\"," MSGS "}", HR_EBADJSON, NULL, "duplicate"},
    {"invalid utf-8", "{\"model\":\"\xff\xfe\"," MSGS "}", HR_EBADJSON, NULL, "column"},
    {"nul escape", "{\"model\":\"a\\u0000b\"," MSGS "}", HR_EBADJSON, NULL, "NUL"},
    {"array body", "[1,2]", HR_EINVAL, NULL, "JSON object"},
    {"missing model", "{" MSGS "}", HR_EINVAL, "model", "model is required"},
    {"empty model", "{\"model\":\"\"," MSGS "}", HR_EINVAL, "model", "model is required"},
    {"numeric model", "{\"model\":4," MSGS "}", HR_EINVAL, "model", "model is required"},
    {"missing messages", "{\"model\":\"m\"}", HR_EINVAL, "messages", "messages is required"},
    {"messages not array", "{\"model\":\"m\",\"messages\":\"hi\"}", HR_EINVAL, "messages",
     "must be an array"},
    {"empty messages", "{\"model\":\"m\",\"messages\":[]}", HR_EINVAL, "messages", "at least one"},
    {"message not object", "{\"model\":\"m\",\"messages\":[\"hi\"]}", HR_EINVAL, "messages[0]",
     "messages[0] must be an object"},
    {"bad role",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":\"bot\","
     "\"content\":\"b\"}]}",
     HR_EINVAL, "messages[1].role", "send one of system, developer, user, assistant, tool"},
    {"missing role", "{\"model\":\"m\",\"messages\":[{\"content\":\"b\"}]}", HR_EINVAL,
     "messages[0].role", "messages[0].role is required"},
    {"user without content", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\"}]}", HR_EINVAL,
     "messages[0].content", "is required for role 'user'"},
    {"numeric content", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":5}]}",
     HR_EINVAL, "messages[0].content", "must be a string, an array"},
    {"part without type",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\","
     "\"text\":\"a\"},{\"text\":\"b\"}]}]}",
     HR_EINVAL, "messages[0].content[1].type", "type is required"},
    {"part not object", "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":[\"b\"]}]}",
     HR_EINVAL, "messages[0].content[0]", "must be an object"},
    {"tool without tool_call_id",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"tool\",\"content\":\"22C\"}]}", HR_EINVAL,
     "messages[0].tool_call_id", "tool_call_id is required"},
    {"tool_calls not array",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"assistant\",\"tool_calls\":{}}]}", HR_EINVAL,
     "messages[0].tool_calls", "must be an array"},
    {"stream not bool", "{\"model\":\"m\"," MSGS ",\"stream\":\"yes\"}", HR_EINVAL, "stream",
     "true or false"},
    {"stream_options without stream",
     "{\"model\":\"m\"," MSGS ",\"stream_options\":{\"include_usage\":true}}", HR_EINVAL,
     "stream_options", "only allowed when \"stream\": true"},
    {"include_usage not bool",
     "{\"model\":\"m\"," MSGS ",\"stream\":true,\"stream_options\":{\"include_usage\":1}}",
     HR_EINVAL, "stream_options.include_usage", "true or false"},
    {"n=2", "{\"model\":\"m\"," MSGS ",\"n\":2}", HR_EUNSUPPORTED, "n",
     "hearth supports n=1 only; send one request per completion"},
    {"max_tokens zero", "{\"model\":\"m\"," MSGS ",\"max_tokens\":0}", HR_EINVAL, "max_tokens",
     "positive integer"},
    {"max_completion_tokens real", "{\"model\":\"m\"," MSGS ",\"max_completion_tokens\":1.5}",
     HR_EINVAL, "max_completion_tokens", "positive integer"},
    {"temperature too high", "{\"model\":\"m\"," MSGS ",\"temperature\":2.5}", HR_EINVAL,
     "temperature", "from 0 to 2"},
    {"temperature string", "{\"model\":\"m\"," MSGS ",\"temperature\":\"hot\"}", HR_EINVAL,
     "temperature", "number"},
    {"top_p negative", "{\"model\":\"m\"," MSGS ",\"top_p\":-0.1}", HR_EINVAL, "top_p",
     "from 0 to 1"},
    {"five stops", "{\"model\":\"m\"," MSGS ",\"stop\":[\"a\",\"b\",\"c\",\"d\",\"e\"]}", HR_EINVAL,
     "stop", "at most 4"},
    {"stop number", "{\"model\":\"m\"," MSGS ",\"stop\":[\"a\",1]}", HR_EINVAL, "stop",
     "at most 4 strings"},
    {"seed real", "{\"model\":\"m\"," MSGS ",\"seed\":1.5}", HR_EINVAL, "seed", "integer"},
    {"user number", "{\"model\":\"m\"," MSGS ",\"user\":7}", HR_EINVAL, "user", "string"},
    {"tools object", "{\"model\":\"m\"," MSGS ",\"tools\":{}}", HR_EINVAL, "tools",
     "must be an array"},
    {"tool bad type", "{\"model\":\"m\"," MSGS ",\"tools\":[{\"type\":\"retrieval\"}]}", HR_EINVAL,
     "tools[0].type", "must be \"function\""},
    {"tool no function", "{\"model\":\"m\"," MSGS ",\"tools\":[{\"type\":\"function\"}]}",
     HR_EINVAL, "tools[0].function", "is required"},
    {"tool no name",
     "{\"model\":\"m\"," MSGS ",\"tools\":[{\"type\":\"function\",\"function\":{}}]}", HR_EINVAL,
     "tools[0].function.name", "non-empty string"},
    {"tool parameters array",
     "{\"model\":\"m\"," MSGS ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
     "\"parameters\":[]}}]}",
     HR_EINVAL, "tools[0].function.parameters", "JSON Schema object"},
    {"tool_choice bad string", "{\"model\":\"m\"," MSGS ",\"tool_choice\":\"always\"}", HR_EINVAL,
     "tool_choice", "\"none\", \"auto\", \"required\""},
    {"response_format string", "{\"model\":\"m\"," MSGS ",\"response_format\":\"json\"}", HR_EINVAL,
     "response_format", "must be an object"},
    {"response_format bad type",
     "{\"model\":\"m\"," MSGS ",\"response_format\":{\"type\":\"yaml\"}}", HR_EINVAL,
     "response_format.type", "text, json_object, json_schema"},
    {"json_schema without schema",
     "{\"model\":\"m\"," MSGS ",\"response_format\":{\"type\":\"json_schema\"}}", HR_EINVAL,
     "response_format.json_schema", "is required"},
};

static void check_bad(const struct bad_case *c, const struct hr_chat_limits *lim)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg = NULL, *param = NULL;
	int rc = hr_chat_parse(a, c->body, strlen(c->body), lim, &rq, &msg, &param);
	if (rc != c->rc)
		fail_msg("case '%s': got %s (%s), want %s", c->name, hr_err_name(rc),
		         msg ? msg : "-", hr_err_name(c->rc));
	if ((c->param == NULL) != (param == NULL) || (param && strcmp(param, c->param) != 0))
		fail_msg("case '%s': param '%s', want '%s'", c->name, param ? param : "(null)",
		         c->param ? c->param : "(null)");
	if (!msg || !strstr(msg, c->msg))
		fail_msg("case '%s': message '%s' lacks '%s'", c->name, msg ? msg : "(null)",
		         c->msg);
	hr_arena_destroy(a);
}

static void test_rejects_bad_requests(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++)
		check_bad(&bad_cases[i], &deflim);
}

static const struct bad_case limit_cases[] = {
    {"too many messages",
     "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"1\"},{\"role\":\"user\","
     "\"content\":\"2\"},{\"role\":\"user\",\"content\":\"3\"}]}",
     HR_ETOOMANY, "messages", "limits.max_messages"},
    {"too many tools",
     "{\"model\":\"m\"," MSGS ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"a\"}},"
     "{\"type\":\"function\",\"function\":{\"name\":\"b\"}},{\"type\":\"function\",\"function\":"
     "{\"name\":\"c\"}}]}",
     HR_ETOOMANY, "tools", "limits.max_tools"},
    {"too deep", "{\"model\":\"m\"," MSGS ",\"x\":{\"a\":[[{\"b\":[]}]]}}", HR_EINVAL, NULL,
     "limits.max_json_depth"},
};

static void test_limits(void **state)
{
	(void)state;
	const struct hr_chat_limits lim = {2, 2, 5};
	for (size_t i = 0; i < sizeof limit_cases / sizeof limit_cases[0]; i++)
		check_bad(&limit_cases[i], &lim);

	/* exactly at each limit is fine: depth 5 is {x:{a:[[{}]]}} */
	const char *at = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"1\"},"
	                 "{\"role\":\"user\",\"content\":\"2\"}],\"x\":{\"a\":[[{}]]}}";
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg, *param;
	assert_int_equal(hr_chat_parse(a, at, strlen(at), &lim, &rq, &msg, &param), 0);
	hr_arena_destroy(a);
}

static void test_depth_beyond_parser_limit(void **state)
{
	(void)state;
	/* deeper than jansson's own parser limit: still a 400 about depth, not a crash */
	size_t depth = 5000, n = 0;
	char *body = malloc(2 * depth + 64);
	assert_non_null(body);
	for (size_t i = 0; i < depth; i++)
		body[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		body[n++] = ']';
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg, *param;
	assert_int_equal(hr_chat_parse(a, body, n, &deflim, &rq, &msg, &param), HR_EINVAL);
	assert_non_null(strstr(msg, "max_json_depth"));
	hr_arena_destroy(a);
	free(body);
}

static void test_error_message_is_ascii(void **state)
{
	(void)state;
	/* jansson quotes the bad token; raw bytes must not leak into the JSON error we send */
	const char *body = "{\"model\": \xc3\xa9t\xc3\xa9}";
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg, *param;
	assert_int_equal(hr_chat_parse(a, body, strlen(body), &deflim, &rq, &msg, &param),
	                 HR_EBADJSON);
	for (const char *p = msg; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts_real_requests),
	    cmocka_unit_test(test_unknown_fields_pass_through),
	    cmocka_unit_test(test_rejects_bad_requests),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_depth_beyond_parser_limit),
	    cmocka_unit_test(test_error_message_is_ascii),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
