/* test_ollama.c - the Ollama codec against samples from Ollama's API docs (docs/api.md):
 * request encoding, refusals, answers, NDJSON streams, errors, embeddings and model lists;
 * and the llamacpp codec (the embedded engine speaks Ollama's format in process). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/chat.h"
#include "providers/provider.h"

static const struct hr_provider_ops *const ops = &hr_provider_ollama;

static struct hr_conf_provider prov = {
    .id = "local",
    .kind = "ollama",
    .base_url = "http://127.0.0.1:11434",
};
static struct hr_conf_provider prov_key = {
    .id = "proxied",
    .kind = "ollama",
    .base_url = "https://ollama.example.com",
    .api_key = "sk-proxy-1",
};
static struct hr_conf_model model = {.name = "llama", .upstream = "llama3.2", .provider = &prov};

#define S(lit) HR_STR(lit)

static void req_init(struct hr_chat_req *rq, struct hr_msg *msgs, size_t n)
{
	memset(rq, 0, sizeof *rq);
	rq->model = "llama";
	rq->msgs = msgs;
	rq->n_msgs = n;
	rq->parallel_tool_calls = -1;
	rq->top_k = -1;
	rq->max_tokens = -1;
}

/* Encodes rq; returns the code, and the body parsed in *body (NULL on failure). */
static int encode(struct hr_arena *a, const struct hr_conf_model *m, const struct hr_chat_req *rq,
                  struct hr_http_out *out, json_t **body, const char **msg, const char **param)
{
	memset(out, 0, sizeof *out);
	hr_buf_init(&out->body, 1 << 20);
	*msg = *param = NULL;
	int rc = ops->encode_chat(a, m, rq, out, msg, param);
	*body = rc == 0 ? json_loadb(out->body.ptr, out->body.len, 0, NULL) : NULL;
	if (rc == 0)
		assert_non_null(*body);
	hr_buf_release(&out->body);
	return rc;
}

static void assert_json(json_t *got, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL);
	assert_non_null(want);
	if (!json_equal(got, want)) {
		char *g = json_dumps(got, JSON_COMPACT | JSON_SORT_KEYS);
		char *w = json_dumps(want, JSON_COMPACT | JSON_SORT_KEYS);
		print_error("got  %s\nwant %s\n", g, w);
		free(g);
		free(w);
		fail();
	}
	json_decref(want);
}

/* ---- encode ---- */

static void test_encode_plain(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part p = {.type = HR_PART_TEXT, .text = S("why is the sky blue?")};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = &p, .n_parts = 1}};
	struct hr_chat_req rq;
	req_init(&rq, msgs, 1);
	struct hr_http_out out;
	json_t *body;
	const char *msg, *param;
	assert_int_equal(encode(a, &model, &rq, &out, &body, &msg, &param), 0);
	assert_string_equal(out.url, "http://127.0.0.1:11434/api/chat");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_null(out.headers[1]);
	/* docs: "Chat request (No streaming)"; stream is always sent */
	assert_json(body, "{\"model\": \"llama3.2\", \"messages\": [{\"role\": \"user\", "
	                  "\"content\": \"why is the sky blue?\"}], \"stream\": false}");
	json_decref(body);
	hr_arena_destroy(a);
}

static void test_encode_stream_key_and_name(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {.name = "llama3.2", .provider = &prov_key}; /* upstream NULL */
	struct hr_part p = {.type = HR_PART_TEXT, .text = S("Hello!")};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = &p, .n_parts = 1}};
	struct hr_chat_req rq;
	req_init(&rq, msgs, 1);
	rq.stream = true;
	rq.has_seed = true;
	rq.seed = 101;
	rq.has_temperature = true;
	rq.temperature = 0;
	struct hr_http_out out;
	json_t *body;
	const char *msg, *param;
	assert_int_equal(encode(a, &m, &rq, &out, &body, &msg, &param), 0);
	assert_string_equal(out.url, "https://ollama.example.com/api/chat");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_string_equal(out.headers[1], "Authorization: Bearer sk-proxy-1");
	assert_string_equal(out.headers[2], "Accept: application/x-ndjson");
	assert_null(out.headers[3]);
	/* docs: "Chat request (Reproducible outputs)" */
	assert_json(body, "{\"model\": \"llama3.2\", \"messages\": [{\"role\": \"user\", "
	                  "\"content\": \"Hello!\"}], \"options\": {\"seed\": 101, "
	                  "\"temperature\": 0.0}, \"stream\": true}");
	json_decref(body);
	hr_arena_destroy(a);
}

static const char weather_params[] =
    "{\"type\": \"object\", \"properties\": {\"location\": {\"type\": \"string\", "
    "\"description\": \"The location to get the weather for, e.g. San Francisco, CA\"}, "
    "\"format\": {\"type\": \"string\", \"description\": \"The format to return the weather "
    "in, e.g. 'celsius' or 'fahrenheit'\", \"enum\": [\"celsius\", \"fahrenheit\"]}}, "
    "\"required\": [\"location\", \"format\"]}";

static const char image_b64[] = "iVBORw0KGgoAAAANSUhEUgAAAG0AAABmCAYAAADBPx+VAAAACXBIWXMAAAsT";

static void test_encode_full_conversation(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	json_t *params = json_loads(weather_params, 0, NULL);
	struct hr_tool tools[] = {
	    {.name = S("get_current_weather"),
	     .description = S("Get the current weather for a location"),
	     .parameters = params},
	    {.name = S("no_args")},
	};
	struct hr_part sys = {.type = HR_PART_TEXT, .text = S("You are terse.")};
	struct hr_part user[] = {
	    {.type = HR_PART_TEXT, .text = S("what is in this image?")},
	    {.type = HR_PART_IMAGE,
	     .media_type = S("image/png"),
	     .data = {image_b64, sizeof image_b64 - 1}},
	    {.type = HR_PART_TEXT, .text = S("and the weather in Paris?")},
	};
	struct hr_part asst[] = {
	    {.type = HR_PART_TEXT, .text = S("Let me check.")},
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_abc"),
	     .name = S("get_current_weather"),
	     .arguments = S("{\"format\": \"celsius\",\n \"location\": \"Paris, FR\"}")},
	    {.type = HR_PART_TOOL_CALL,
	     .id = S("call_def"),
	     .name = S("no_args"),
	     .arguments = S("")},
	};
	struct hr_part results[] = {
	    {.type = HR_PART_TOOL_RESULT, .id = S("call_abc"), .text = S("22 degrees, sunny")},
	    {.type = HR_PART_TOOL_RESULT,
	     .id = S("call_def"),
	     .name = S("no_args"),
	     .text = S("timeout"),
	     .is_error = true},
	};
	struct hr_part sys2 = {.type = HR_PART_TEXT, .text = S("Answer in French.")};
	struct hr_msg msgs[] = {
	    {.role = HR_ROLE_SYSTEM, .parts = &sys, .n_parts = 1},
	    {.role = HR_ROLE_USER, .parts = user, .n_parts = 3},
	    {.role = HR_ROLE_ASSISTANT, .parts = asst, .n_parts = 3},
	    {.role = HR_ROLE_TOOL, .parts = results, .n_parts = 2},
	    {.role = HR_ROLE_SYSTEM, .parts = &sys2, .n_parts = 1},
	};
	struct hr_chat_req rq;
	req_init(&rq, msgs, 5);
	rq.tools = tools;
	rq.n_tools = 2;
	rq.tool_choice = HR_TC_AUTO;
	rq.parallel_tool_calls = 1;
	rq.has_temperature = rq.has_top_p = rq.has_seed = true;
	rq.has_presence_penalty = rq.has_frequency_penalty = true;
	rq.temperature = 0.8;
	rq.top_p = 0.9;
	rq.top_k = 20;
	rq.max_tokens = 100;
	rq.seed = 42;
	rq.presence_penalty = 1.5;
	rq.frequency_penalty = 1.0;
	rq.stop[0] = S("\n");
	rq.stop[1] = S("user:");
	rq.n_stop = 2;
	rq.user = S("end-user-7"); /* dropped: Ollama has no place for it */
	rq.format = HR_FMT_JSON_SCHEMA;
	rq.schema_name = S("weather");
	rq.schema = json_loads("{\"type\": \"object\", \"properties\": {\"age\": {\"type\": "
	                       "\"integer\"}, \"available\": {\"type\": \"boolean\"}}, "
	                       "\"required\": [\"age\", \"available\"]}",
	                       0, NULL);
	struct hr_http_out out;
	json_t *body;
	const char *msg, *param;
	assert_int_equal(encode(a, &model, &rq, &out, &body, &msg, &param), 0);
	char want[4096];
	snprintf(
	    want, sizeof want,
	    "{\"model\": \"llama3.2\", \"messages\": ["
	    "{\"role\": \"system\", \"content\": \"You are terse.\"},"
	    "{\"role\": \"user\", \"content\": \"what is in this image?\\n\\nand the weather in "
	    "Paris?\", \"images\": [\"%s\"]},"
	    "{\"role\": \"assistant\", \"content\": \"Let me check.\", \"tool_calls\": ["
	    "{\"function\": {\"name\": \"get_current_weather\", \"arguments\": {\"format\": "
	    "\"celsius\", \"location\": \"Paris, FR\"}}},"
	    "{\"function\": {\"name\": \"no_args\", \"arguments\": {}}}]},"
	    "{\"role\": \"tool\", \"content\": \"22 degrees, sunny\", \"tool_name\": "
	    "\"get_current_weather\"},"
	    "{\"role\": \"tool\", \"content\": \"Error: timeout\", \"tool_name\": \"no_args\"},"
	    "{\"role\": \"system\", \"content\": \"Answer in French.\"}],"
	    "\"tools\": [{\"type\": \"function\", \"function\": {\"name\": "
	    "\"get_current_weather\", \"description\": \"Get the current weather for a "
	    "location\", \"parameters\": %s}},"
	    "{\"type\": \"function\", \"function\": {\"name\": \"no_args\", \"parameters\": "
	    "{\"type\": \"object\", \"properties\": {}}}}],"
	    "\"format\": {\"type\": \"object\", \"properties\": {\"age\": {\"type\": "
	    "\"integer\"}, \"available\": {\"type\": \"boolean\"}}, \"required\": [\"age\", "
	    "\"available\"]},"
	    "\"options\": {\"temperature\": 0.8, \"top_p\": 0.9, \"top_k\": 20, \"num_predict\": "
	    "100, \"stop\": [\"\\n\", \"user:\"], \"seed\": 42, \"presence_penalty\": 1.5, "
	    "\"frequency_penalty\": 1.0},"
	    "\"stream\": false}",
	    image_b64, weather_params);
	assert_json(body, want);
	/* the borrowed trees are untouched */
	assert_int_equal(json_object_size(params), 3);
	assert_null(json_object_get(rq.schema, "name"));
	json_decref(body);
	json_decref(params);
	json_decref(rq.schema);
	hr_arena_destroy(a);
}

static void test_encode_json_mode_and_tool_choice_none(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_tool tools[] = {{.name = S("get_current_weather")}};
	struct hr_part p = {.type = HR_PART_TEXT,
	                    .text = S("What color is the sky at different times of the day? "
	                              "Respond using JSON")};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = &p, .n_parts = 1}};
	struct hr_chat_req rq;
	req_init(&rq, msgs, 1);
	rq.format = HR_FMT_JSON_OBJECT;
	rq.tools = tools;
	rq.n_tools = 1;
	rq.tool_choice = HR_TC_NONE;
	rq.parallel_tool_calls = 0; /* kept: no tools are sent */
	struct hr_http_out out;
	json_t *body;
	const char *msg, *param;
	assert_int_equal(encode(a, &model, &rq, &out, &body, &msg, &param), 0);
	assert_json(body, "{\"model\": \"llama3.2\", \"messages\": [{\"role\": \"user\", "
	                  "\"content\": \"What color is the sky at different times of the day? "
	                  "Respond using JSON\"}], \"format\": \"json\", \"stream\": false}");
	json_decref(body);

	rq.format = HR_FMT_TEXT; /* text is the default: nothing to send */
	assert_int_equal(encode(a, &model, &rq, &out, &body, &msg, &param), 0);
	assert_null(json_object_get(body, "format"));
	json_decref(body);
	hr_arena_destroy(a);
}

static void test_encode_body_cap(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part p = {.type = HR_PART_TEXT, .text = S("a long enough prompt for the cap")};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = &p, .n_parts = 1}};
	struct hr_chat_req rq;
	req_init(&rq, msgs, 1);
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 32);
	const char *msg = NULL, *param = NULL;
	assert_int_equal(ops->encode_chat(a, &model, &rq, &out, &msg, &param), HR_ETOOBIG);
	assert_non_null(msg);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

/* ---- refusals ---- */

enum tweak {
	TW_REQUIRED,
	TW_NAMED,
	TW_PARALLEL_OFF,
	TW_EXTRA,
	TW_IMAGE_URL,
	TW_IMAGE_DETAIL,
	TW_MSG_NAME,
	TW_BAD_ARGS,
	TW_ARRAY_ARGS,
	TW_CALL_IN_USER,
	TW_TEXT_IN_TOOL,
};

struct refusal_case {
	enum tweak tweak;
	int rc;
	const char *param;
	const char *in_msg; /* a word the message must contain */
};

static const struct refusal_case refusals[] = {
    {TW_REQUIRED, HR_EUNSUPPORTED, "tool_choice", "ollama"},
    {TW_NAMED, HR_EUNSUPPORTED, "tool_choice", "ollama"},
    {TW_PARALLEL_OFF, HR_EUNSUPPORTED, "parallel_tool_calls", "ollama"},
    {TW_EXTRA, HR_EUNSUPPORTED, "logprobs", "ollama"},
    {TW_IMAGE_URL, HR_EUNSUPPORTED, "messages[1].content[1]", "base64"},
    {TW_IMAGE_DETAIL, HR_EUNSUPPORTED, "messages[1].content[1].detail", "ollama"},
    {TW_MSG_NAME, HR_EUNSUPPORTED, "messages[1].name", "ollama"},
    {TW_BAD_ARGS, HR_EINVAL, "messages[2]", "get_current_weather"},
    {TW_ARRAY_ARGS, HR_EINVAL, "messages[2]", "not a JSON object"},
    {TW_CALL_IN_USER, HR_EINVAL, "messages[1].content[1]", "assistant"},
    {TW_TEXT_IN_TOOL, HR_EINVAL, "messages[3].content[0]", "tool result"},
};

static void test_refusals(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof refusals / sizeof refusals[0]; i++) {
		const struct refusal_case *c = &refusals[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_tool tools[] = {{.name = S("get_current_weather")}};
		struct hr_part sys = {.type = HR_PART_TEXT, .text = S("Be brief.")};
		struct hr_part user[] = {
		    {.type = HR_PART_TEXT, .text = S("what is in this image?")},
		    {.type = HR_PART_IMAGE,
		     .media_type = S("image/png"),
		     .data = S("iVBORw0KGgo=")},
		};
		struct hr_part asst = {.type = HR_PART_TOOL_CALL,
		                       .id = S("call_1"),
		                       .name = S("get_current_weather"),
		                       .arguments = S("{\"location\": \"Paris\"}")};
		struct hr_part res = {
		    .type = HR_PART_TOOL_RESULT, .id = S("call_1"), .text = S("sunny")};
		struct hr_msg msgs[] = {
		    {.role = HR_ROLE_SYSTEM, .parts = &sys, .n_parts = 1},
		    {.role = HR_ROLE_USER, .parts = user, .n_parts = 2},
		    {.role = HR_ROLE_ASSISTANT, .parts = &asst, .n_parts = 1},
		    {.role = HR_ROLE_TOOL, .parts = &res, .n_parts = 1},
		};
		struct hr_chat_req rq;
		req_init(&rq, msgs, 4);
		rq.tools = tools;
		rq.n_tools = 1;
		switch (c->tweak) {
		case TW_REQUIRED: rq.tool_choice = HR_TC_REQUIRED; break;
		case TW_NAMED:
			rq.tool_choice = HR_TC_NAMED;
			rq.tool_choice_name = S("get_current_weather");
			break;
		case TW_PARALLEL_OFF: rq.parallel_tool_calls = 0; break;
		case TW_EXTRA: rq.extra = json_pack("{s:b}", "logprobs", 1); break;
		case TW_IMAGE_URL:
			user[1].data = S("");
			user[1].media_type = S("");
			user[1].url = S("https://example.com/pig.png");
			break;
		case TW_IMAGE_DETAIL: user[1].detail = S("high"); break;
		case TW_MSG_NAME: msgs[1].name = S("alice"); break;
		case TW_BAD_ARGS: asst.arguments = S("{\"location\": "); break;
		case TW_ARRAY_ARGS: asst.arguments = S("[1, 2]"); break;
		case TW_CALL_IN_USER: user[1] = asst; break;
		case TW_TEXT_IN_TOOL: res = sys; break;
		}
		struct hr_http_out out;
		json_t *body;
		const char *msg, *param;
		int rc = encode(a, &model, &rq, &out, &body, &msg, &param);
		if (rc != c->rc)
			fail_msg("case %zu: rc %s, want %s (%s)", i, hr_err_name(rc),
			         hr_err_name(c->rc), msg ? msg : "");
		assert_non_null(param);
		assert_string_equal(param, c->param);
		assert_non_null(msg);
		if (!strstr(msg, c->in_msg))
			fail_msg("case %zu: message '%s' lacks '%s'", i, msg, c->in_msg);
		json_decref(rq.extra);
		hr_arena_destroy(a);
	}
}

/* ---- decode_chat ---- */

struct answer_case {
	const char *name;
	const char *body;
	const char *model;
	const char *text; /* NULL: no text part */
	const char *tool_name, *tool_args;
	enum hr_finish finish;
	const char *finish_reason;
	bool present;
	int64_t prompt, completion;
};

static const struct answer_case answers[] = {
    {"no streaming",
     "{\n  \"model\": \"llama3.2\",\n  \"created_at\": \"2023-12-12T14:13:43.416799Z\",\n  "
     "\"message\": {\n    \"role\": \"assistant\",\n    \"content\": \"Hello! How are you "
     "today?\"\n  },\n  \"done\": true,\n  \"total_duration\": 5191566416,\n  "
     "\"load_duration\": 2154458,\n  \"prompt_eval_count\": 26,\n  \"prompt_eval_duration\": "
     "383809000,\n  \"eval_count\": 298,\n  \"eval_duration\": 4799921000\n}",
     "llama3.2", "Hello! How are you today?", NULL, NULL, HR_FIN_STOP, NULL, true, 26, 298},
    {"structured outputs",
     "{\n  \"model\": \"llama3.1\",\n  \"created_at\": \"2024-12-06T00:46:58.265747Z\",\n  "
     "\"message\": { \"role\": \"assistant\", \"content\": \"{\\\"age\\\": 22, "
     "\\\"available\\\": false}\" },\n  \"done_reason\": \"stop\",\n  \"done\": true,\n  "
     "\"total_duration\": 2254970291,\n  \"load_duration\": 574751416,\n  "
     "\"prompt_eval_count\": 34,\n  \"prompt_eval_duration\": 1502000000,\n  \"eval_count\": "
     "12,\n  \"eval_duration\": 175000000\n}",
     "llama3.1", "{\"age\": 22, \"available\": false}", NULL, NULL, HR_FIN_STOP, "stop", true, 34,
     12},
    {"tools",
     "{\n  \"model\": \"llama3.2\",\n  \"created_at\": \"2024-07-22T20:33:28.123648Z\",\n  "
     "\"message\": {\n    \"role\": \"assistant\",\n    \"content\": \"\",\n    "
     "\"tool_calls\": [\n      {\n        \"function\": {\n          \"name\": "
     "\"get_current_weather\",\n          \"arguments\": {\n            \"format\": "
     "\"celsius\",\n            \"location\": \"Paris, FR\"\n          }\n        }\n      "
     "}\n    ]\n  },\n  \"done_reason\": \"stop\",\n  \"done\": true,\n  \"total_duration\": "
     "885095291,\n  \"load_duration\": 3753500,\n  \"prompt_eval_count\": 122,\n  "
     "\"prompt_eval_duration\": 328493000,\n  \"eval_count\": 33,\n  \"eval_duration\": "
     "552222000\n}",
     "llama3.2", NULL, "get_current_weather", "{\"format\":\"celsius\",\"location\":\"Paris, FR\"}",
     HR_FIN_TOOL_CALLS, "stop", true, 122, 33},
    {"load: no counts",
     "{\n  \"model\": \"llama3.2\",\n  \"created_at\":\"2024-09-12T21:17:29.110811Z\",\n  "
     "\"message\": {\n    \"role\": \"assistant\",\n    \"content\": \"\"\n  },\n  "
     "\"done_reason\": \"load\",\n  \"done\": true\n}",
     "llama3.2", NULL, NULL, NULL, HR_FIN_STOP, "load", false, 0, 0},
    {"length, thinking skipped",
     "{\"model\":\"qwen3:1.7b\",\"created_at\":\"2025-06-01T10:00:00Z\",\"message\":{\"role\":"
     "\"assistant\",\"content\":\"The sky is\",\"thinking\":\"The user asks about the "
     "sky.\"},\"done_reason\":\"length\",\"done\":true,\"prompt_eval_count\":14,"
     "\"eval_count\":40}",
     "qwen3:1.7b", "The sky is", NULL, NULL, HR_FIN_LENGTH, "length", true, 14, 40},
};

static void test_decode_chat(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
		const struct answer_case *c = &answers[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_resp res;
		const char *msg;
		int rc = ops->decode_chat(a, c->body, strlen(c->body), &res, &msg);
		if (rc)
			fail_msg("%s: %s", c->name, msg);
		assert_true(hr_str_eq_cstr(res.model, c->model));
		size_t k = 0;
		if (c->text) {
			assert_true(k < res.n_parts);
			assert_int_equal(res.parts[k].type, HR_PART_TEXT);
			assert_true(hr_str_eq_cstr(res.parts[k].text, c->text));
			k++;
		}
		if (c->tool_name) {
			assert_true(k < res.n_parts);
			assert_int_equal(res.parts[k].type, HR_PART_TOOL_CALL);
			assert_true(hr_str_eq_cstr(res.parts[k].id, "call_0"));
			assert_true(hr_str_eq_cstr(res.parts[k].name, c->tool_name));
			assert_true(hr_str_eq_cstr(res.parts[k].arguments, c->tool_args));
			k++;
		}
		assert_int_equal(res.n_parts, k);
		assert_int_equal(res.finish, c->finish);
		if (c->finish_reason)
			assert_string_equal(res.finish_reason, c->finish_reason);
		else
			assert_null(res.finish_reason);
		assert_int_equal(res.usage.present, c->present);
		assert_int_equal(res.usage.prompt_tokens, c->prompt);
		assert_int_equal(res.usage.completion_tokens, c->completion);
		assert_int_equal(res.id.len, 0);
		hr_arena_destroy(a);
	}
}

static void test_decode_chat_two_calls(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const char *body =
	    "{\"model\":\"qwen3\",\"message\":{\"role\":\"assistant\",\"content\":\"\","
	    "\"tool_calls\":[{\"function\":{\"index\":0,\"name\":\"get_temperature\","
	    "\"arguments\":{\"city\":\"New York\"}}},{\"function\":{\"index\":1,\"name\":"
	    "\"get_conditions\",\"arguments\":{\"city\":\"New York\"}}}]},\"done\":true,"
	    "\"done_reason\":\"stop\"}";
	struct hr_chat_resp res;
	const char *msg;
	assert_int_equal(ops->decode_chat(a, body, strlen(body), &res, &msg), 0);
	assert_int_equal(res.n_parts, 2);
	assert_true(hr_str_eq_cstr(res.parts[0].id, "call_0"));
	assert_true(hr_str_eq_cstr(res.parts[1].id, "call_1"));
	assert_true(hr_str_eq_cstr(res.parts[1].name, "get_conditions"));
	assert_true(hr_str_eq_cstr(res.parts[1].arguments, "{\"city\":\"New York\"}"));
	assert_int_equal(res.finish, HR_FIN_TOOL_CALLS);
	assert_false(res.usage.present);
	hr_arena_destroy(a);
}

struct bad_case {
	const char *body;
	int rc;
};

static const struct bad_case bad_answers[] = {
    {"", HR_EUPSTREAM_BAD},
    {"{\"model\": \"llama3.2\", \"message\": {\"role\": \"assistant\", \"content\": \"Hel",
     HR_EUPSTREAM_BAD},
    {"[1, 2]", HR_EUPSTREAM_BAD},
    {"\"done\"", HR_EUPSTREAM_BAD},
    {"{\"model\": \"llama3.2\", \"done\": true}", HR_EUPSTREAM_BAD},
    {"{\"message\": \"hi\", \"done\": true}", HR_EUPSTREAM_BAD},
    {"{\"message\": {\"content\": 42}, \"done\": true}", HR_EUPSTREAM_BAD},
    {"{\"message\": {\"content\": \"\", \"tool_calls\": {}}}", HR_EUPSTREAM_BAD},
    {"{\"message\": {\"content\": \"\", \"tool_calls\": [{\"function\": {\"arguments\": "
     "{}}}]}}",
     HR_EUPSTREAM_BAD},
    {"{\"message\": {\"content\": \"\", \"tool_calls\": [{\"function\": {\"name\": \"f\", "
     "\"arguments\": \"{}\"}}]}}",
     HR_EUPSTREAM_BAD},
    {"{\"message\": {\"content\": \"\", \"tool_calls\": [7]}}", HR_EUPSTREAM_BAD},
    {"{\"error\": \"model \\\"x\\\" not found, try pulling it first\"}", HR_EUPSTREAM},
};

static void test_decode_chat_malformed(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof bad_answers / sizeof bad_answers[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_resp res;
		const char *msg = NULL;
		const char *b = bad_answers[i].body;
		int rc = ops->decode_chat(a, b, strlen(b), &res, &msg);
		if (rc != bad_answers[i].rc)
			fail_msg("case %zu: rc %s", i, hr_err_name(rc));
		assert_non_null(msg);
		assert_int_equal(res.n_parts, 0);
		hr_arena_destroy(a);
	}
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp res;
	const char *msg = NULL;
	const char *b = "{\"error\": \"model \\\"x\\\" not found, try pulling it first\"}";
	assert_int_equal(ops->decode_chat(a, b, strlen(b), &res, &msg), HR_EUPSTREAM);
	assert_string_equal(msg, "model \"x\" not found, try pulling it first");
	assert_int_equal(ops->decode_chat(a, NULL, 0, &res, &msg), HR_EUPSTREAM_BAD);
	hr_arena_destroy(a);
}

/* ---- decode_stream ---- */

struct want_ev {
	enum hr_sev_type type;
	const char *s; /* TEXT/TOOL_ARGS/ERROR text; START model; TOOL_START name */
	size_t index;
	enum hr_finish finish;
	int64_t prompt, completion;
};

/* Feeds the lines, then checks every event. */
static void run_stream(const char *const *lines, size_t n_lines, const struct want_ev *want,
                       size_t n_want)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_dec st = {0};
	struct hr_sev_list all = {0};
	for (size_t i = 0; i < n_lines; i++) {
		struct hr_sev_list out = {0};
		const char *msg = NULL;
		int rc = ops->decode_stream(a, &st, NULL, lines[i], strlen(lines[i]), &out, &msg);
		if (rc)
			fail_msg("line %zu: %s", i, msg);
		for (size_t k = 0; k < out.n; k++)
			*hr_sev_push(a, &all, out.v[k].type) = out.v[k];
	}
	if (all.n != n_want)
		fail_msg("%zu events, want %zu", all.n, n_want);
	for (size_t k = 0; k < n_want; k++) {
		const struct hr_sev *e = &all.v[k];
		const struct want_ev *w = &want[k];
		if (e->type != w->type)
			fail_msg("event %zu: type %d, want %d", k, e->type, w->type);
		switch (e->type) {
		case HR_SEV_START: assert_true(hr_str_eq_cstr(e->name, w->s)); break;
		case HR_SEV_TEXT: assert_true(hr_str_eq_cstr(e->text, w->s)); break;
		case HR_SEV_TOOL_START: {
			char id[32];
			snprintf(id, sizeof id, "call_%zu", w->index);
			assert_int_equal(e->index, w->index);
			assert_true(hr_str_eq_cstr(e->id, id));
			assert_true(hr_str_eq_cstr(e->name, w->s));
			break;
		}
		case HR_SEV_TOOL_ARGS:
			assert_int_equal(e->index, w->index);
			assert_true(hr_str_eq_cstr(e->text, w->s));
			break;
		case HR_SEV_FINISH:
			assert_int_equal(e->finish, w->finish);
			if (w->s)
				assert_string_equal(e->finish_reason, w->s);
			else
				assert_null(e->finish_reason);
			assert_true(st.finished);
			break;
		case HR_SEV_USAGE:
			assert_true(e->usage.present);
			assert_int_equal(e->usage.prompt_tokens, w->prompt);
			assert_int_equal(e->usage.completion_tokens, w->completion);
			break;
		case HR_SEV_ERROR:
			assert_int_equal(e->err, HR_EUPSTREAM);
			assert_true(hr_str_eq_cstr(e->text, w->s));
			break;
		case HR_SEV_DONE: break;
		}
	}
	hr_arena_destroy(a);
}

static void test_stream_text(void **state)
{
	(void)state;
	/* docs: "Chat Request (Streaming)", one token a line, then the final line */
	static const char *const lines[] = {
	    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.385406455-07:00\","
	    "\"message\":{\"role\":\"assistant\",\"content\":\"The\",\"images\":null},\"done\":"
	    "false}",
	    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.412378Z\",\"message\":"
	    "{\"role\":\"assistant\",\"content\":\" sky\"},\"done\":false}\r",
	    "",
	    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.439213Z\",\"message\":"
	    "{\"role\":\"assistant\",\"content\":\"\"},\"done\":false}",
	    "{\"model\":\"llama3.2\",\"created_at\":\"2023-08-04T08:52:19.466211Z\",\"message\":"
	    "{\"role\":\"assistant\",\"content\":\" is blue.\"},\"done\":false}",
	    "{\n  \"model\": \"llama3.2\",\n  \"created_at\": \"2023-08-04T19:22:45.499127Z\",\n  "
	    "\"done\": true,\n  \"total_duration\": 4883583458,\n  \"load_duration\": 1334875,\n  "
	    "\"prompt_eval_count\": 26,\n  \"prompt_eval_duration\": 342546000,\n  "
	    "\"eval_count\": 282,\n  \"eval_duration\": 4535599000\n}",
	};
	static const struct want_ev want[] = {
	    {HR_SEV_START, "llama3.2", 0, 0, 0, 0},
	    {HR_SEV_TEXT, "The", 0, 0, 0, 0},
	    {HR_SEV_TEXT, " sky", 0, 0, 0, 0},
	    {HR_SEV_TEXT, " is blue.", 0, 0, 0, 0},
	    {HR_SEV_FINISH, NULL, 0, HR_FIN_STOP, 0, 0},
	    {HR_SEV_USAGE, NULL, 0, 0, 26, 282},
	    {HR_SEV_DONE, NULL, 0, 0, 0, 0},
	};
	run_stream(lines, sizeof lines / sizeof lines[0], want, sizeof want / sizeof want[0]);
}

static void test_stream_tools(void **state)
{
	(void)state;
	/* streamed tool calls arrive whole in a line with done false */
	static const char *const lines[] = {
	    "{\"model\":\"qwen3\",\"created_at\":\"2025-05-28T17:15:29.021Z\",\"message\":{"
	    "\"role\":"
	    "\"assistant\",\"content\":\"\",\"thinking\":\"The user wants the weather.\"},"
	    "\"done\":false}",
	    "{\"model\":\"qwen3\",\"created_at\":\"2025-05-28T17:15:30.318Z\",\"message\":{"
	    "\"role\":"
	    "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":"
	    "\"get_temperature\",\"arguments\":{\"city\":\"New York\"}}},{\"function\":{\"index\":"
	    "1,\"name\":\"get_conditions\",\"arguments\":{\"city\":\"New "
	    "York\"}}}]},\"done\":false}",
	    "{\"model\":\"qwen3\",\"created_at\":\"2025-05-28T17:15:30.500Z\",\"message\":{"
	    "\"role\":"
	    "\"assistant\",\"content\":\"\",\"tool_calls\":[{\"function\":{\"name\":\"get_time\"}}]"
	    "}"
	    ",\"done\":false}",
	    "{\"model\":\"qwen3\",\"created_at\":\"2025-05-28T17:15:30.6Z\",\"message\":{\"role\":"
	    "\"assistant\",\"content\":\"\"},\"done\":true,\"done_reason\":\"stop\","
	    "\"total_duration\":1553316500,\"prompt_eval_count\":180,\"eval_count\":57}",
	};
	static const struct want_ev want[] = {
	    {HR_SEV_START, "qwen3", 0, 0, 0, 0},
	    {HR_SEV_TOOL_START, "get_temperature", 0, 0, 0, 0},
	    {HR_SEV_TOOL_ARGS, "{\"city\":\"New York\"}", 0, 0, 0, 0},
	    {HR_SEV_TOOL_START, "get_conditions", 1, 0, 0, 0},
	    {HR_SEV_TOOL_ARGS, "{\"city\":\"New York\"}", 1, 0, 0, 0},
	    {HR_SEV_TOOL_START, "get_time", 2, 0, 0, 0},
	    {HR_SEV_TOOL_ARGS, "{}", 2, 0, 0, 0},
	    {HR_SEV_FINISH, "stop", 0, HR_FIN_TOOL_CALLS, 0, 0},
	    {HR_SEV_USAGE, NULL, 0, 0, 180, 57},
	    {HR_SEV_DONE, NULL, 0, 0, 0, 0},
	};
	run_stream(lines, sizeof lines / sizeof lines[0], want, sizeof want / sizeof want[0]);
}

static void test_stream_length_and_error(void **state)
{
	(void)state;
	static const char *const lines[] = {
	    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Once\"},"
	    "\"done\":false}",
	    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\" upon\"},"
	    "\"done\":true,\"done_reason\":\"length\",\"eval_count\":2}",
	};
	static const struct want_ev want[] = {
	    {HR_SEV_START, "llama3.2", 0, 0, 0, 0},
	    {HR_SEV_TEXT, "Once", 0, 0, 0, 0},
	    {HR_SEV_TEXT, " upon", 0, 0, 0, 0},
	    {HR_SEV_FINISH, "length", 0, HR_FIN_LENGTH, 0, 0},
	    {HR_SEV_USAGE, NULL, 0, 0, 0, 2},
	    {HR_SEV_DONE, NULL, 0, 0, 0, 0},
	};
	run_stream(lines, 2, want, sizeof want / sizeof want[0]);

	static const char *const err_lines[] = {
	    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Hi\"},"
	    "\"done\":false}",
	    "{\"error\":\"an error was encountered while running the model: unexpected EOF\"}",
	};
	static const struct want_ev err_want[] = {
	    {HR_SEV_START, "llama3.2", 0, 0, 0, 0},
	    {HR_SEV_TEXT, "Hi", 0, 0, 0, 0},
	    {HR_SEV_ERROR, "an error was encountered while running the model: unexpected EOF", 0, 0,
	     0, 0},
	};
	run_stream(err_lines, 2, err_want, sizeof err_want / sizeof err_want[0]);
}

static void test_stream_error_truncated(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	char line[1200];
	int n = snprintf(line, sizeof line, "{\"error\":\"");
	for (int i = 0; i < 300; i++)
		n += snprintf(line + n, sizeof line - (size_t)n, "\xc3\xa9"); /* 600 bytes of é */
	snprintf(line + n, sizeof line - (size_t)n, "\"}");
	struct hr_stream_dec st = {0};
	struct hr_sev_list out = {0};
	const char *msg;
	assert_int_equal(ops->decode_stream(a, &st, NULL, line, strlen(line), &out, &msg), 0);
	assert_int_equal(out.n, 1);
	assert_int_equal(out.v[0].type, HR_SEV_ERROR);
	assert_int_equal(out.v[0].text.len, 500); /* cut on a character boundary */
	hr_arena_destroy(a);
}

static void test_stream_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "{\"model\":\"llama3.2\",\"message\":{\"role\":\"assistant\",\"content\":\"Th",
	    "[]",
	    "42",
	    "{\"message\":[],\"done\":false}",
	    "{\"message\":{\"content\":7},\"done\":false}",
	    "{\"message\":{\"content\":\"x\",\"tool_calls\":\"f\"},\"done\":false}",
	    "{\"message\":{\"content\":\"\",\"tool_calls\":[{\"function\":{}}]},\"done\":false}",
	    "{\"message\":{\"content\":\"\"},\"done\":\"yes\"}",
	    "data: {\"done\":true}",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_stream_dec st = {0};
		struct hr_sev_list out = {0};
		const char *msg = NULL;
		int rc = ops->decode_stream(a, &st, NULL, bad[i], strlen(bad[i]), &out, &msg);
		if (rc != HR_EUPSTREAM_BAD)
			fail_msg("case %zu: rc %s", i, hr_err_name(rc));
		assert_non_null(msg);
		assert_int_equal(out.n, 0); /* a bad line gives no events */
		assert_int_equal(st.n_tools, 0);
		hr_arena_destroy(a);
	}
	/* blank lines and unknown fields are no events and no error */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_dec st = {0};
	struct hr_sev_list out = {0};
	const char *msg = NULL;
	assert_int_equal(ops->decode_stream(a, &st, NULL, " \r\n", 3, &out, &msg), 0);
	assert_int_equal(out.n, 0);
	assert_int_equal(ops->decode_stream(a, &st, NULL, NULL, 0, &out, &msg), 0);
	assert_int_equal(out.n, 0);
	hr_arena_destroy(a);
}

/* ---- map_error ---- */

struct err_case {
	long status;
	const char *body;
	int rc;
	const char *msg;
};

static const struct err_case errors[] = {
    {404, "{\"error\":\"model \\\"x\\\" not found, try pulling it first\"}", HR_EUPSTREAM_NOTFOUND,
     "model \"x\" not found, try pulling it first"},
    {400, "{\"error\":\"invalid character 'o' in literal null (expecting 'u')\"}", HR_EINVAL,
     "invalid character 'o' in literal null (expecting 'u')"},
    {422, "{\"error\":\"bad\"}", HR_EINVAL, "bad"},
    {401, "{\"error\":\"unauthorized\"}", HR_EUPSTREAM_AUTH, "unauthorized"},
    {403, "<html>Forbidden</html>", HR_EUPSTREAM_AUTH, NULL},
    {408, "", HR_ETIMEOUT, NULL},
    {504, "{\"error\":{\"message\":\"gateway timeout\"}}", HR_ETIMEOUT, "gateway timeout"},
    {413, "{}", HR_ETOOBIG, NULL},
    {429, "{\"error\":\"server busy, please try again.  maximum pending requests exceeded\"}",
     HR_ERATELIMIT, "server busy, please try again.  maximum pending requests exceeded"},
    {503, "{\"error\":\"server overloaded\"}", HR_EOVERLOADED, "server overloaded"},
    {529, "{\"error\":42}", HR_EOVERLOADED, NULL},
    {500, "{\"error\":\"llama runner process has terminated: exit status 2\"}", HR_EUPSTREAM,
     "llama runner process has terminated: exit status 2"},
    {502, "[\"error\"]", HR_EUPSTREAM, NULL},
    {409, "{\"error\":\"", HR_EUPSTREAM, NULL},
};

static void test_map_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof errors / sizeof errors[0]; i++) {
		const struct err_case *c = &errors[i];
		struct hr_arena *a = hr_arena_create(0);
		const char *msg = "unset";
		int rc = ops->map_error(a, c->status, c->body, strlen(c->body), &msg);
		if (rc != c->rc)
			fail_msg("status %ld: %s", c->status, hr_err_name(rc));
		if (c->msg)
			assert_string_equal(msg, c->msg);
		else
			assert_null(msg);
		hr_arena_destroy(a);
	}
	struct hr_arena *a = hr_arena_create(0);
	const char *msg;
	assert_int_equal(ops->map_error(a, 500, NULL, 0, &msg), HR_EUPSTREAM);
	assert_null(msg);
	hr_arena_destroy(a);
}

/* ---- embeddings ---- */

static void embed_init(struct hr_embed_req *rq, struct hr_str *in, size_t n)
{
	memset(rq, 0, sizeof *rq);
	rq->model = "minilm";
	rq->inputs = in;
	rq->n_inputs = n;
	rq->dimensions = -1;
}

static void test_encode_embed(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf_model m = {
	    .name = "minilm", .upstream = "all-minilm", .provider = &prov_key};
	struct hr_str in[] = {S("Why is the sky blue?"), S("Why is the grass green?")};
	struct hr_embed_req rq;
	embed_init(&rq, in, 2);
	rq.user = S("u-1");
	rq.base64 = true;
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 1 << 20);
	const char *msg, *param;
	assert_int_equal(ops->encode_embed(a, &m, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://ollama.example.com/api/embed");
	assert_string_equal(out.headers[0], "Content-Type: application/json");
	assert_string_equal(out.headers[1], "Authorization: Bearer sk-proxy-1");
	assert_null(out.headers[2]);
	json_t *body = json_loadb(out.body.ptr, out.body.len, 0, NULL);
	/* docs: "Request (Multiple input)" */
	assert_json(body, "{\"model\": \"all-minilm\", \"input\": [\"Why is the sky blue?\", "
	                  "\"Why is the grass green?\"]}");
	json_decref(body);
	hr_buf_release(&out.body);

	rq.dimensions = 256;
	rq.n_inputs = 1;
	hr_buf_init(&out.body, 1 << 20);
	assert_int_equal(ops->encode_embed(a, &model, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "http://127.0.0.1:11434/api/embed");
	body = json_loadb(out.body.ptr, out.body.len, 0, NULL);
	assert_json(body, "{\"model\": \"llama3.2\", \"input\": [\"Why is the sky blue?\"], "
	                  "\"dimensions\": 256}");
	json_decref(body);
	hr_buf_release(&out.body);

	/* refusals: token ids and unknown fields */
	rq.tokens_input = true;
	hr_buf_init(&out.body, 1 << 20);
	assert_int_equal(ops->encode_embed(a, &m, &rq, &out, &msg, &param), HR_EUNSUPPORTED);
	assert_string_equal(param, "input");
	assert_non_null(strstr(msg, "ollama"));
	rq.tokens_input = false;
	rq.extra = json_pack("{s:s}", "encoding_type", "query");
	assert_int_equal(ops->encode_embed(a, &m, &rq, &out, &msg, &param), HR_EUNSUPPORTED);
	assert_string_equal(param, "encoding_type");
	assert_non_null(strstr(msg, "ollama"));
	json_decref(rq.extra);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

static void test_decode_embed(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const char *body =
	    "{\n  \"model\": \"all-minilm\",\n  \"embeddings\": [[\n    0.010071029, "
	    "-0.0017594862, "
	    "0.05007221, 0.04692972, 0.054916814,\n    0.008599704, 0.105441414, -0.025878139, "
	    "0.12958129, 0.031952348\n  ],[\n    -0.0098027075, 0.06042469, 0.025257962, "
	    "-0.006364387, 0.07272725,\n    0.017194884, 0.09032035, -0.051705178, 0.09951512, "
	    "0.09072481\n  ]],\n  \"total_duration\": 14143917,\n  \"load_duration\": 1019500,\n  "
	    "\"prompt_eval_count\": 8\n}";
	struct hr_embed_resp res;
	const char *msg;
	assert_int_equal(ops->decode_embed(a, body, strlen(body), &res, &msg), 0);
	assert_int_equal(res.n, 2);
	assert_int_equal(json_array_size(res.vectors[0]), 10);
	assert_true(json_real_value(json_array_get(res.vectors[1], 0)) < -0.0098);
	assert_true(hr_str_eq_cstr(res.model, "all-minilm"));
	assert_true(res.usage.present);
	assert_int_equal(res.usage.prompt_tokens, 8);

	const char *no_count = "{\"model\":\"all-minilm\",\"embeddings\":[[1,2,3]]}";
	assert_int_equal(ops->decode_embed(a, no_count, strlen(no_count), &res, &msg), 0);
	assert_int_equal(res.n, 1);
	assert_false(res.usage.present);

	static const char *const bad[] = {
	    "{\"model\":\"all-minilm\",\"embeddings\":[[0.1,",
	    "{\"model\":\"all-minilm\"}",
	    "{\"embeddings\":{}}",
	    "{\"embeddings\":[0.1,0.2]}",
	    "{\"embeddings\":[[0.1,\"x\"]]}",
	    "[]",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg = NULL;
		assert_int_equal(ops->decode_embed(a, bad[i], strlen(bad[i]), &res, &msg),
		                 HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		assert_int_equal(res.n, 0);
	}
	hr_arena_destroy(a);
}

/* ---- models ---- */

static void test_decode_models(void **state)
{
	(void)state;
	assert_string_equal(ops->models_path, "/api/tags");
	assert_int_equal(ops->framing, HR_FRAME_NDJSON);
	assert_string_equal(ops->kind, "ollama");
	struct hr_arena *a = hr_arena_create(0);
	const char *body =
	    "{\n  \"models\": [\n    {\n      \"name\": \"codellama:13b\",\n      \"modified_at\": "
	    "\"2023-11-04T14:56:49.277302595-07:00\",\n      \"size\": 7365960935,\n      "
	    "\"digest\": \"9f438cb9cd581fc025612d27f7c1a6669ff83a8bb0ed86c94fcf4c5440555697\",\n  "
	    "    \"details\": {\n        \"format\": \"gguf\",\n        \"family\": \"llama\",\n   "
	    "     \"families\": null,\n        \"parameter_size\": \"13B\",\n        "
	    "\"quantization_level\": \"Q4_0\"\n      }\n    },\n    {\n      \"name\": "
	    "\"llama3:latest\",\n      \"modified_at\": \"2023-12-07T09:32:18.757212583-08:00\",\n "
	    "     \"size\": 3825819519\n    },\n    {\"model\": \"llama3.2:latest\"},\n    "
	    "{\"name\": 7},\n    \"junk\"\n  ]\n}";
	struct hr_str *ids;
	size_t n;
	const char *msg;
	assert_int_equal(ops->decode_models(a, body, strlen(body), &ids, &n, &msg), 0);
	assert_int_equal(n, 3);
	assert_true(hr_str_eq_cstr(ids[0], "codellama:13b"));
	assert_true(hr_str_eq_cstr(ids[1], "llama3:latest"));
	assert_true(hr_str_eq_cstr(ids[2], "llama3.2:latest"));

	const char *empty = "{\"models\":[]}";
	assert_int_equal(ops->decode_models(a, empty, strlen(empty), &ids, &n, &msg), 0);
	assert_int_equal(n, 0);

	static const char *const bad[] = {"{\"models\":[{\"name\":", "{}", "{\"models\":{}}", ""};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg = NULL;
		assert_int_equal(ops->decode_models(a, bad[i], strlen(bad[i]), &ids, &n, &msg),
		                 HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		assert_int_equal(n, 0);
	}
	hr_arena_destroy(a);
}

/* ---- llamacpp: Ollama's body to llamacpp://<id>, less what the engine cannot do ---- */

static void test_llamacpp(void **state)
{
	(void)state;
	static struct hr_conf_provider lp = {
	    .id = "tiny", .kind = "llamacpp", .base_url = "llamacpp://tiny", .path = "m.gguf"};
	static struct hr_conf_model lm = {.name = "tiny", .upstream = "tiny", .provider = &lp};
	const struct hr_provider_ops *lc = hr_provider_find("llamacpp");
	assert_ptr_equal(lc, &hr_provider_llamacpp);
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part p = {.type = HR_PART_TEXT, .text = S("Once upon a time")};
	struct hr_part img = {.type = HR_PART_IMAGE, .media_type = S("image/png"), .data = S("AA==")};
	struct hr_msg msgs[] = {{.role = HR_ROLE_USER, .parts = &p, .n_parts = 1},
	                        {.role = HR_ROLE_USER, .parts = &img, .n_parts = 1}};
	struct hr_tool tools[] = {{.name = S("f")}};
	struct hr_chat_req rq;
	struct hr_http_out out = {0};
	const char *msg, *param;
	req_init(&rq, msgs, 1);
	rq.stream = true;
	rq.has_temperature = true, rq.temperature = 0;
	rq.max_tokens = 40;
	hr_buf_init(&out.body, 1 << 20);
	assert_int_equal(lc->encode_chat(a, &lm, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "llamacpp://tiny/api/chat");
	json_t *body = json_loadb(out.body.ptr, out.body.len, 0, NULL);
	assert_json(body, "{\"model\": \"tiny\", \"messages\": [{\"role\": \"user\", "
	                  "\"content\": \"Once upon a time\"}], \"stream\": true, "
	                  "\"options\": {\"temperature\": 0.0, \"num_predict\": 40}}");
	json_decref(body);
	static const struct {
		int tweak;
		const char *param;
	} refused[] = {{0, "tools"}, {1, "response_format"}, {2, "presence_penalty"},
	               {3, "messages[1].content"}};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		req_init(&rq, msgs, 1);
		switch (refused[i].tweak) {
		case 0: rq.tools = tools, rq.n_tools = 1; break;
		case 1: rq.format = HR_FMT_JSON_OBJECT; break;
		case 2: rq.has_presence_penalty = true; break;
		case 3: rq.n_msgs = 2; break;
		}
		hr_buf_reset(&out.body);
		assert_int_equal(lc->encode_chat(a, &lm, &rq, &out, &msg, &param), HR_EUNSUPPORTED);
		assert_string_equal(param, refused[i].param);
		assert_non_null(strstr(msg, "embedded llama.cpp engine"));
	}
	/* the engine's "model not loaded" status is its own error; the rest are Ollama's */
	const char *err = "{\"error\":\"the model file 'm.gguf' cannot be loaded: the file is empty\"}";
	assert_int_equal(lc->map_error(a, 424, err, strlen(err), &msg), HR_ELOCAL_MODEL);
	assert_non_null(strstr(msg, "the file is empty"));
	assert_int_equal(lc->map_error(a, 400, err, strlen(err), &msg), HR_EINVAL);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_plain),
	    cmocka_unit_test(test_encode_stream_key_and_name),
	    cmocka_unit_test(test_encode_full_conversation),
	    cmocka_unit_test(test_encode_json_mode_and_tool_choice_none),
	    cmocka_unit_test(test_encode_body_cap),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_decode_chat),
	    cmocka_unit_test(test_decode_chat_two_calls),
	    cmocka_unit_test(test_decode_chat_malformed),
	    cmocka_unit_test(test_stream_text),
	    cmocka_unit_test(test_stream_tools),
	    cmocka_unit_test(test_stream_length_and_error),
	    cmocka_unit_test(test_stream_error_truncated),
	    cmocka_unit_test(test_stream_malformed),
	    cmocka_unit_test(test_map_error),
	    cmocka_unit_test(test_encode_embed),
	    cmocka_unit_test(test_decode_embed),
	    cmocka_unit_test(test_decode_models),
	    cmocka_unit_test(test_llamacpp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
