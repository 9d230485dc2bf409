/* test_anthropic.c - the Anthropic Messages codec against the samples of Anthropic's API
 * documentation: request encoding (and pass-through), answers, recorded streams fed through
 * the SSE decoder event by event, error bodies, refusals and malformed provider bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "http/sse.h"
#include "providers/chat.h"
#include "providers/provider.h"

static const struct hr_provider_ops *const ops = &hr_provider_anthropic;

static struct hr_conf_provider prov = {
    .id = "claude",
    .kind = "anthropic",
    .base_url = "https://api.anthropic.com/v1",
    .api_key = "sk-ant-test",
};
static struct hr_conf_provider prov_nokey = {
    .id = "proxy",
    .kind = "anthropic",
    .base_url = "http://127.0.0.1:9000/v1",
};
static const struct hr_conf_model model = {
    .name = "claude", .upstream = "claude-opus-4-6", .provider = &prov};
static const struct hr_conf_model model_nokey = {.name = "claude-haiku-4-5",
                                                 .provider = &prov_nokey};

/* JSON written with single quotes for readability; the text may not contain a quote. */
static json_t *jq(const char *s)
{
	char *t = strdup(s);
	for (char *p = t; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *j = json_loads(t, 0, &e);
	if (!j)
		fail_msg("bad test JSON: %s: %s", e.text, t);
	free(t);
	return j;
}

static void assert_json(const char *got, size_t len, const char *want_q)
{
	json_t *g = json_loadb(got, len, 0, NULL), *w = jq(want_q);
	if (!json_equal(g, w)) {
		char *ws = json_dumps(w, JSON_COMPACT);
		print_error("got:  %.*s\nwant: %s\n", (int)len, got, ws);
		free(ws);
		fail();
	}
	json_decref(g);
	json_decref(w);
}

static struct hr_chat_req req(void)
{
	struct hr_chat_req rq;
	memset(&rq, 0, sizeof rq);
	rq.dialect = HR_DIALECT_OPENAI;
	rq.model = "claude";
	rq.top_k = -1;
	rq.max_tokens = -1;
	rq.parallel_tool_calls = -1;
	return rq;
}

#define TEXT(s) ((struct hr_part){.type = HR_PART_TEXT, .text = HR_STR(s)})
#define MSG(r, p)                                                                                  \
	((struct hr_msg){.role = (r), .parts = (p), .n_parts = sizeof(p) / sizeof((p)[0])})

/* Encodes rq; on success out->body holds the body text (in the arena, not to release). */
static int encode(struct hr_arena *a, const struct hr_conf_model *m, const struct hr_chat_req *rq,
                  struct hr_http_out *out, const char **msg, const char **param)
{
	memset(out, 0, sizeof *out);
	hr_buf_init(&out->body, 1 << 20);
	*msg = *param = NULL;
	int rc = ops->encode_chat(a, m, rq, out, msg, param);
	/* the body text moves to the arena: out may be a loop's local */
	char *copy = rc == 0 ? hr_arena_strndup(a, out->body.ptr, out->body.len) : NULL;
	size_t len = out->body.len;
	hr_buf_release(&out->body);
	if (rc == 0) {
		assert_non_null(copy);
		out->body.ptr = copy;
		out->body.len = len;
	}
	return rc;
}

/* ---- encode ---- */

/* The streaming tool-use request of Anthropic's "Streaming Messages" page. */
static void test_encode_docs_tool_request(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	json_t *params = jq("{'type':'object','properties':{'location':{'type':'string',"
	                    "'description':'The city and state, e.g. San Francisco, CA'}},"
	                    "'required':['location']}");
	struct hr_tool tools[] = {
	    {.name = HR_STR("get_weather"),
	     .description = HR_STR("Get the current weather in a given location"),
	     .parameters = params}};
	struct hr_part u[] = {TEXT("What is the weather like in San Francisco?")};
	struct hr_msg msgs[] = {MSG(HR_ROLE_USER, u)};
	struct hr_chat_req rq = req();
	rq.msgs = msgs;
	rq.n_msgs = 1;
	rq.tools = tools;
	rq.n_tools = 1;
	rq.tool_choice = HR_TC_REQUIRED;
	rq.max_tokens = 1024;
	rq.stream = true;

	struct hr_http_out out;
	const char *msg, *param;
	assert_int_equal(encode(a, &model, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "https://api.anthropic.com/v1/messages");
	assert_string_equal(out.headers[0], "content-type: application/json");
	assert_string_equal(out.headers[1], "anthropic-version: 2023-06-01");
	assert_string_equal(out.headers[2], "x-api-key: sk-ant-test");
	assert_string_equal(out.headers[3], "accept: text/event-stream");
	assert_null(out.headers[4]);
	assert_json(out.body.ptr, out.body.len,
	            "{'model':'claude-opus-4-6','max_tokens':1024,'tools':[{'name':'get_weather',"
	            "'description':'Get the current weather in a given location','input_schema':"
	            "{'type':'object','properties':{'location':{'type':'string','description':"
	            "'The city and state, e.g. San Francisco, CA'}},'required':['location']}}],"
	            "'tool_choice':{'type':'any'},'messages':[{'role':'user','content':[{'type':"
	            "'text','text':'What is the weather like in San Francisco?'}]}],"
	            "'stream':true}");
	/* the model comes first, the borrowed schema is untouched */
	assert_true(
	    strncmp(out.body.ptr, "{\"model\":\"claude-opus-4-6\",\"max_tokens\":1024,", 45) == 0);
	assert_int_equal(params->refcount, 1);
	json_decref(params);
	hr_arena_destroy(a);
}

/* A whole tool round trip from an OpenAI client: system messages joined, tool results as
 * user turns merged with the next user message, an empty assistant text left out. */
static void test_encode_round_trip(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part sys1[] = {TEXT("You are terse.")};
	struct hr_part sys2[] = {TEXT("Answer in French.")};
	struct hr_part u1[] = {
	    TEXT("Weather here?"),
	    {.type = HR_PART_IMAGE,
	     .url = HR_STR("https://example.com/sky.jpg"),
	     .detail = HR_STR("low")},
	    {.type = HR_PART_IMAGE,
	     .media_type = HR_STR("image/png"),
	     .data = HR_STR("iVBORw0KGgo=")},
	};
	struct hr_part as1[] = {
	    TEXT(""),
	    {.type = HR_PART_TOOL_CALL,
	     .id = HR_STR("toolu_01A09q90qw90lq917835lq9"),
	     .name = HR_STR("get_weather"),
	     .arguments = HR_STR("{\"location\": \"San Francisco, CA\", \"unit\": \"celsius\"}")},
	    {.type = HR_PART_TOOL_CALL, .id = HR_STR("toolu_2"), .name = HR_STR("get_time")},
	};
	struct hr_part t1[] = {{.type = HR_PART_TOOL_RESULT,
	                        .id = HR_STR("toolu_01A09q90qw90lq917835lq9"),
	                        .text = HR_STR("15 degrees")}};
	struct hr_part t2[] = {
	    {.type = HR_PART_TOOL_RESULT,
	     .id = HR_STR("toolu_2"),
	     .is_error = true,
	     .text = HR_STR("clock unavailable")},
	    {.type = HR_PART_TOOL_RESULT, .id = HR_STR("toolu_3")}}; /* empty: no content */
	struct hr_part u2[] = {TEXT("Thanks")};
	struct hr_part as2[] = {TEXT("")};
	struct hr_part u3[] = {TEXT("And tomorrow?")};
	struct hr_msg msgs[] = {
	    MSG(HR_ROLE_SYSTEM, sys1), MSG(HR_ROLE_USER, u1),       MSG(HR_ROLE_ASSISTANT, as1),
	    MSG(HR_ROLE_TOOL, t1),     MSG(HR_ROLE_TOOL, t2),       MSG(HR_ROLE_USER, u2),
	    MSG(HR_ROLE_SYSTEM, sys2), MSG(HR_ROLE_ASSISTANT, as2), MSG(HR_ROLE_USER, u3),
	};
	struct hr_tool tools[] = {{.name = HR_STR("get_weather")},
	                          {.name = HR_STR("get_time"), .strict = true}};
	struct hr_chat_req rq = req();
	rq.msgs = msgs;
	rq.n_msgs = sizeof msgs / sizeof msgs[0];
	rq.tools = tools;
	rq.n_tools = 2;
	rq.tool_choice = HR_TC_NAMED;
	rq.tool_choice_name = HR_STR("get_weather");
	rq.parallel_tool_calls = 0;
	rq.has_temperature = true;
	rq.temperature = 0.5;
	rq.has_top_p = true;
	rq.top_p = 0.25;
	rq.top_k = 40;
	rq.stop[0] = HR_STR("\n\nHuman:");
	rq.stop[1] = HR_STR("END");
	rq.n_stop = 2;
	rq.user = HR_STR("user-42");
	rq.format = HR_FMT_TEXT; /* plain text is what Anthropic gives anyway */

	struct hr_http_out out;
	const char *msg, *param;
	assert_int_equal(encode(a, &model_nokey, &rq, &out, &msg, &param), 0);
	assert_string_equal(out.url, "http://127.0.0.1:9000/v1/messages");
	assert_string_equal(out.headers[0], "content-type: application/json");
	assert_string_equal(out.headers[1], "anthropic-version: 2023-06-01");
	assert_null(out.headers[2]); /* no key, no stream */
	assert_json(
	    out.body.ptr, out.body.len,
	    "{'model':'claude-haiku-4-5','max_tokens':4096,"
	    "'system':[{'type':'text','text':'You are terse.'},{'type':'text','text':"
	    "'Answer in French.'}],"
	    "'messages':["
	    "{'role':'user','content':[{'type':'text','text':'Weather here?'},"
	    "{'type':'image','source':{'type':'url','url':'https://example.com/sky.jpg'}},"
	    "{'type':'image','source':{'type':'base64','media_type':'image/png','data':"
	    "'iVBORw0KGgo='}}]},"
	    "{'role':'assistant','content':[{'type':'tool_use','id':"
	    "'toolu_01A09q90qw90lq917835lq9','name':'get_weather','input':{'location':"
	    "'San Francisco, CA','unit':'celsius'}},{'type':'tool_use','id':'toolu_2','name':"
	    "'get_time','input':{}}]},"
	    "{'role':'user','content':[{'type':'tool_result','tool_use_id':"
	    "'toolu_01A09q90qw90lq917835lq9','content':'15 degrees'},{'type':'tool_result',"
	    "'tool_use_id':'toolu_2','content':'clock unavailable','is_error':true},"
	    "{'type':'tool_result','tool_use_id':'toolu_3'},"
	    "{'type':'text','text':'Thanks'},{'type':'text','text':'And tomorrow?'}]}],"
	    "'tools':[{'name':'get_weather','input_schema':{'type':'object','properties':{}}},"
	    "{'name':'get_time','input_schema':{'type':'object','properties':{}},'strict':true}],"
	    "'tool_choice':{'type':'tool','name':'get_weather','disable_parallel_tool_use':true},"
	    "'stop_sequences':['\\n\\nHuman:','END'],'temperature':0.5,'top_p':0.25,'top_k':40,"
	    "'metadata':{'user_id':'user-42'}}");
	hr_arena_destroy(a);
}

static void test_encode_single_system_and_choices(void **state)
{
	(void)state;
	static const struct {
		enum hr_tool_choice tc;
		int parallel;
		const char *want; /* tool_choice, or NULL for none sent */
	} cases[] = {
	    {HR_TC_UNSET, -1, NULL},
	    {HR_TC_UNSET, 1, NULL},
	    {HR_TC_UNSET, 0, "{'type':'auto','disable_parallel_tool_use':true}"},
	    {HR_TC_AUTO, -1, "{'type':'auto'}"},
	    {HR_TC_NONE, 0, "{'type':'none'}"},
	    {HR_TC_REQUIRED, 0, "{'type':'any','disable_parallel_tool_use':true}"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_part s[] = {TEXT("Be brief.")};
		struct hr_part u[] = {TEXT("Hello, world")};
		struct hr_msg msgs[] = {MSG(HR_ROLE_SYSTEM, s), MSG(HR_ROLE_USER, u)};
		struct hr_tool tools[] = {{.name = HR_STR("t")}};
		struct hr_chat_req rq = req();
		rq.msgs = msgs;
		rq.n_msgs = 2;
		rq.tools = tools;
		rq.n_tools = 1;
		rq.tool_choice = cases[i].tc;
		rq.parallel_tool_calls = cases[i].parallel;
		struct hr_http_out out;
		const char *msg, *param;
		assert_int_equal(encode(a, &model, &rq, &out, &msg, &param), 0);
		json_t *body = json_loadb(out.body.ptr, out.body.len, 0, NULL);
		assert_string_equal(json_string_value(json_object_get(body, "system")),
		                    "Be brief.");
		json_t *tc = json_object_get(body, "tool_choice");
		if (!cases[i].want) {
			assert_null(tc);
		} else {
			json_t *w = jq(cases[i].want);
			assert_true(json_equal(tc, w));
			json_decref(w);
		}
		json_decref(body);
		hr_arena_destroy(a);
	}
}

/* An Anthropic client's body goes on as sent, with model and stream replaced. */
static void test_encode_pass_through(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const char *in =
	    "{\"model\":\"claude\",\"max_tokens\":20000,\"stream\":false,\"thinking\":{\"type\":"
	    "\"enabled\",\"budget_tokens\":16000},\"system\":[{\"type\":\"text\",\"text\":\"Long "
	    "prompt\",\"cache_control\":{\"type\":\"ephemeral\"}}],\"messages\":[{\"role\":"
	    "\"user\","
	    "\"content\":\"What is the greatest common divisor of 1071 and 462?\"}],\"metadata\":{"
	    "\"user_id\":\"u1\"},\"x_future\":1}";
	json_t *body = json_loads(in, 0, NULL);
	struct hr_chat_req rq = req();
	rq.dialect = HR_DIALECT_ANTHROPIC;
	rq.body = body;
	rq.extra = jq("{'thinking':{},'x_future':1}"); /* kept, not refused */
	rq.stream = true;
	rq.has_temperature = true;
	rq.temperature = 1.0;
	for (int round = 0; round < 2; round++) {
		struct hr_http_out out;
		const char *msg, *param;
		assert_int_equal(encode(a, &model, &rq, &out, &msg, &param), 0);
		assert_string_equal(out.headers[3], "accept: text/event-stream");
		assert_string_equal(
		    out.body.ptr,
		    "{\"model\":\"claude-opus-4-6\",\"max_tokens\":20000,\"stream\":true,"
		    "\"thinking\":"
		    "{\"type\":\"enabled\",\"budget_tokens\":16000},\"system\":[{\"type\":\"text\","
		    "\"text\":\"Long prompt\",\"cache_control\":{\"type\":\"ephemeral\"}}],"
		    "\"messages\":[{\"role\":\"user\",\"content\":\"What is the greatest common "
		    "divisor of 1071 and "
		    "462?\"}],\"metadata\":{\"user_id\":\"u1\"},\"x_future\":1}");
	}
	char *after = json_dumps(body, JSON_COMPACT);
	assert_string_equal(after, in);
	free(after);
	json_decref(rq.extra);
	json_decref(body);
	hr_arena_destroy(a);
}

/* Every field Anthropic cannot take is an error naming it. */
static void test_encode_refusals(void **state)
{
	(void)state;
	enum {
		SEED,
		PRESENCE,
		FREQUENCY,
		JSON_OBJECT,
		JSON_SCHEMA,
		TEMPERATURE,
		EXTRA,
		NAME,
		SYSTEM_IMAGE,
		ASSISTANT_IMAGE,
		BAD_ARGS,
		FTP_IMAGE,
		NO_MEDIA_TYPE,
		CHOICE_NO_TOOLS,
		ONLY_SYSTEM,
	};
	static const struct {
		int what, rc;
		const char *param, *says;
	} cases[] = {
	    {SEED, HR_EUNSUPPORTED, "seed", "seed"},
	    {PRESENCE, HR_EUNSUPPORTED, "presence_penalty", "presence_penalty"},
	    {FREQUENCY, HR_EUNSUPPORTED, "frequency_penalty", "frequency_penalty"},
	    {JSON_OBJECT, HR_EUNSUPPORTED, "response_format", "response_format"},
	    {JSON_SCHEMA, HR_EUNSUPPORTED, "response_format", "response_format"},
	    {TEMPERATURE, HR_EUNSUPPORTED, "temperature", "0 to 1"},
	    {EXTRA, HR_EUNSUPPORTED, "logprobs", "logprobs"},
	    {NAME, HR_EUNSUPPORTED, "messages[1].name", "messages[1].name"},
	    {SYSTEM_IMAGE, HR_EUNSUPPORTED, "messages[0].content[1]", "messages[0].content[1]"},
	    {ASSISTANT_IMAGE, HR_EUNSUPPORTED, "messages[2].content[0]", "messages[2].content[0]"},
	    {BAD_ARGS, HR_EINVAL, "messages[2]", "messages[2]"},
	    {FTP_IMAGE, HR_EUNSUPPORTED, "messages[1].content[1]", "base64"},
	    {NO_MEDIA_TYPE, HR_EINVAL, "messages[1].content[1]", "media type"},
	    {CHOICE_NO_TOOLS, HR_EINVAL, "tool_choice", "tools"},
	    {ONLY_SYSTEM, HR_EINVAL, "messages", "user message"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_part s[] = {TEXT("sys"), {.type = HR_PART_TEXT}};
		struct hr_part u[] = {TEXT("hi"), {.type = HR_PART_TEXT, .text = HR_STR("more")}};
		struct hr_part as[] = {{.type = HR_PART_TOOL_CALL,
		                        .id = HR_STR("toolu_1"),
		                        .name = HR_STR("f"),
		                        .arguments = HR_STR("{}")}};
		struct hr_msg msgs[] = {MSG(HR_ROLE_SYSTEM, s), MSG(HR_ROLE_USER, u),
		                        MSG(HR_ROLE_ASSISTANT, as)};
		struct hr_tool tools[] = {{.name = HR_STR("f")}};
		struct hr_chat_req rq = req();
		rq.msgs = msgs;
		rq.n_msgs = 3;
		rq.tools = tools;
		rq.n_tools = 1;
		json_t *extra = NULL;
		switch (cases[i].what) {
		case SEED: rq.has_seed = true; break;
		case PRESENCE: rq.has_presence_penalty = true; break;
		case FREQUENCY: rq.has_frequency_penalty = true; break;
		case JSON_OBJECT: rq.format = HR_FMT_JSON_OBJECT; break;
		case JSON_SCHEMA: rq.format = HR_FMT_JSON_SCHEMA; break;
		case TEMPERATURE:
			rq.has_temperature = true;
			rq.temperature = 1.5;
			break;
		case EXTRA: rq.extra = extra = jq("{'logprobs':true}"); break;
		case NAME: msgs[1].name = HR_STR("alice"); break;
		case SYSTEM_IMAGE:
			s[1] = (struct hr_part){.type = HR_PART_IMAGE,
			                        .url = HR_STR("https://x/y.png")};
			break;
		case ASSISTANT_IMAGE:
			as[0] = (struct hr_part){.type = HR_PART_IMAGE,
			                         .url = HR_STR("https://x/y.png")};
			break;
		case BAD_ARGS: as[0].arguments = HR_STR("[1, 2]"); break;
		case FTP_IMAGE:
			u[1] =
			    (struct hr_part){.type = HR_PART_IMAGE, .url = HR_STR("ftp://x/y.png")};
			break;
		case NO_MEDIA_TYPE:
			u[1] = (struct hr_part){.type = HR_PART_IMAGE, .data = HR_STR("AAAA")};
			break;
		case CHOICE_NO_TOOLS:
			rq.n_tools = 0;
			rq.tool_choice = HR_TC_REQUIRED;
			break;
		case ONLY_SYSTEM: rq.n_msgs = 1; break;
		}
		struct hr_http_out out;
		const char *msg, *param;
		int rc = encode(a, &model, &rq, &out, &msg, &param);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s, want %s (%s)", i, hr_err_name(rc),
			         hr_err_name(cases[i].rc), msg ? msg : "");
		assert_non_null(param);
		assert_string_equal(param, cases[i].param);
		assert_non_null(msg);
		if (!strstr(msg, cases[i].says) ||
		    (rc == HR_EUNSUPPORTED && !strstr(msg, "anthropic")))
			fail_msg("case %zu: message '%s' does not say '%s' and the kind", i, msg,
			         cases[i].says);
		json_decref(extra);
		hr_arena_destroy(a);
	}
}

static void test_encode_body_cap(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part u[] = {TEXT("a long enough prompt to pass the cap")};
	struct hr_msg msgs[] = {MSG(HR_ROLE_USER, u)};
	struct hr_chat_req rq = req();
	rq.msgs = msgs;
	rq.n_msgs = 1;
	struct hr_http_out out = {0};
	hr_buf_init(&out.body, 32);
	const char *msg, *param;
	assert_int_equal(ops->encode_chat(a, &model, &rq, &out, &msg, &param), HR_ETOOBIG);
	assert_non_null(msg);
	hr_buf_release(&out.body);
	hr_arena_destroy(a);
}

/* ---- decode_chat ---- */

static int decode(struct hr_arena *a, const char *body, struct hr_chat_resp *res, const char **msg)
{
	return ops->decode_chat(a, body, strlen(body), res, msg);
}

static void test_decode_docs_text(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp res;
	const char *msg;
	/* the Messages API reference's example answer */
	assert_int_equal(decode(a,
	                        "{\"content\":[{\"text\":\"Hi! My name is Claude.\",\"type\":"
	                        "\"text\"}],\"id\":\"msg_013Zva2CMHLNnXjNJJKqJ2EF\",\"model\":"
	                        "\"claude-3-7-sonnet-20250219\",\"role\":\"assistant\","
	                        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,\"type\":"
	                        "\"message\",\"usage\":{\"input_tokens\":2095,\"output_tokens\":"
	                        "503}}",
	                        &res, &msg),
	                 0);
	assert_true(hr_str_eq_cstr(res.id, "msg_013Zva2CMHLNnXjNJJKqJ2EF"));
	assert_true(hr_str_eq_cstr(res.model, "claude-3-7-sonnet-20250219"));
	assert_int_equal(res.n_parts, 1);
	assert_int_equal(res.parts[0].type, HR_PART_TEXT);
	assert_true(hr_str_eq_cstr(res.parts[0].text, "Hi! My name is Claude."));
	assert_int_equal(res.finish, HR_FIN_STOP);
	assert_string_equal(res.finish_reason, "end_turn");
	assert_int_equal(res.stop_sequence.len, 0);
	assert_true(res.usage.present);
	assert_int_equal(res.usage.prompt_tokens, 2095);
	assert_int_equal(res.usage.completion_tokens, 503);
	assert_int_equal(res.usage.cached_tokens, 0);
	assert_int_equal(res.completion_bytes, 22);
	hr_arena_destroy(a);
}

static void test_decode_docs_tool_use(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp res;
	const char *msg;
	/* the tool-use guide's answer, with prompt-caching usage and a thinking block */
	assert_int_equal(
	    decode(a,
	           "{\"id\":\"msg_01Aq9w938a90dw8q\",\"model\":\"claude-opus-4-6\",\"stop_reason\":"
	           "\"tool_use\",\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\","
	           "\"thinking\":\"The user wants SF.\",\"signature\":\"EqQBCgIYAh\"},{\"type\":"
	           "\"text\",\"text\":\"I'll check the current weather.\"},{\"type\":\"tool_use\","
	           "\"id\":\"toolu_01A09q90qw90lq917835lq9\",\"name\":\"get_weather\",\"input\":{"
	           "\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}}],\"usage\":{"
	           "\"input_tokens\":21,\"cache_creation_input_tokens\":188086,"
	           "\"cache_read_input_tokens\":1000,\"output_tokens\":393}}",
	           &res, &msg),
	    0);
	assert_int_equal(res.n_parts, 2);
	assert_int_equal(res.parts[0].type, HR_PART_TEXT);
	assert_true(hr_str_eq_cstr(res.parts[0].text, "I'll check the current weather."));
	assert_int_equal(res.parts[1].type, HR_PART_TOOL_CALL);
	assert_true(hr_str_eq_cstr(res.parts[1].id, "toolu_01A09q90qw90lq917835lq9"));
	assert_true(hr_str_eq_cstr(res.parts[1].name, "get_weather"));
	assert_true(hr_str_eq_cstr(res.parts[1].arguments,
	                           "{\"location\":\"San Francisco, CA\",\"unit\":\"celsius\"}"));
	assert_int_equal(res.finish, HR_FIN_TOOL_CALLS);
	assert_string_equal(res.finish_reason, "tool_use");
	assert_int_equal(res.usage.prompt_tokens, 21 + 188086 + 1000);
	assert_int_equal(res.usage.cached_tokens, 1000);
	assert_int_equal(res.usage.cache_creation_tokens, 188086);
	assert_int_equal(res.usage.completion_tokens, 393);
	hr_arena_destroy(a);
}

static void test_decode_finishes(void **state)
{
	(void)state;
	static const struct {
		const char *reason, *seq, *content;
		enum hr_finish want;
	} cases[] = {
	    {"\"max_tokens\"", "null", "[{\"type\":\"text\",\"text\":\"Once upon\"}]",
	     HR_FIN_LENGTH},
	    {"\"stop_sequence\"", "\"END\"", "[{\"type\":\"text\",\"text\":\"x\"}]", HR_FIN_STOP},
	    {"\"refusal\"", "null", "[]", HR_FIN_CONTENT_FILTER},
	    {"\"pause_turn\"", "null", "[{\"type\":\"server_tool_use\",\"id\":\"srvtoolu_1\"}]",
	     HR_FIN_STOP},
	    {"\"end_turn\"", "null",
	     "[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{}}]",
	     HR_FIN_TOOL_CALLS},
	    {"\"model_context_window_exceeded\"", "null", "[]", HR_FIN_LENGTH},
	    {"\"some_new_reason\"", "null", "[]", HR_FIN_STOP},
	    {"null", "null", "[]", HR_FIN_NONE},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		char *body =
		    hr_arena_printf(a,
		                    "{\"type\":\"message\",\"content\":%s,\"stop_reason\":%s,"
		                    "\"stop_sequence\":%s}",
		                    cases[i].content, cases[i].reason, cases[i].seq);
		struct hr_chat_resp res;
		const char *msg;
		assert_int_equal(decode(a, body, &res, &msg), 0);
		assert_int_equal(res.finish, cases[i].want);
		if (cases[i].want == HR_FIN_NONE)
			assert_null(res.finish_reason);
		else
			assert_true(strstr(cases[i].reason, res.finish_reason) != NULL);
		if (cases[i].seq[0] == '"')
			assert_true(hr_str_eq_cstr(res.stop_sequence, "END"));
		assert_false(res.usage.present);
		hr_arena_destroy(a);
	}
}

static void test_decode_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *body;
		int rc;
	} cases[] = {
	    {"", HR_EUPSTREAM_BAD},
	    {"{\"content\":[{\"type\":\"text\",\"text\":\"Hi", HR_EUPSTREAM_BAD},
	    {"[1,2]", HR_EUPSTREAM_BAD},
	    {"{\"id\":\"msg_1\"}", HR_EUPSTREAM_BAD},
	    {"{\"content\":\"Hi\"}", HR_EUPSTREAM_BAD},
	    {"{\"content\":[{\"type\":\"text\",\"text\":7}]}", HR_EUPSTREAM_BAD},
	    {"{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\",\"name\":\"f\",\"input\":\"{}\"}]}",
	     HR_EUPSTREAM_BAD},
	    {"{\"content\":[{\"type\":\"tool_use\",\"name\":\"f\",\"input\":{}}]}",
	     HR_EUPSTREAM_BAD},
	    {"{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":"
	     "\"Overloaded\"}}",
	     HR_EOVERLOADED},
	    {"{\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}", HR_EUPSTREAM},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_resp res;
		const char *msg = NULL;
		int rc = decode(a, cases[i].body, &res, &msg);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s (%s)", i, hr_err_name(rc), msg ? msg : "");
		assert_non_null(msg);
		hr_arena_destroy(a);
	}
	/* usage counts of the wrong type are absent, negative ones 0, huge ones saturate */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_resp res;
	const char *msg;
	assert_int_equal(
	    decode(a,
	           "{\"content\":[],\"usage\":{\"input_tokens\":\"5\",\"output_tokens\":"
	           "-3,\"cache_read_input_tokens\":9223372036854775807,"
	           "\"cache_creation_input_tokens\":10}}",
	           &res, &msg),
	    0);
	assert_true(res.usage.present);
	assert_int_equal(res.usage.prompt_tokens, INT64_MAX);
	assert_int_equal(res.usage.completion_tokens, 0);
	hr_arena_destroy(a);
}

/* ---- streams ---- */

struct feed {
	struct hr_arena *a;
	struct hr_stream_dec st;
	struct hr_buf log; /* the canonical events, one line each */
	int rc;
	bool named; /* pass the SSE event names (else NULL, as for a proxy that drops them) */
};

static void log_ev(struct hr_buf *b, const struct hr_sev *e)
{
	switch (e->type) {
	case HR_SEV_START:
		hr_buf_addf(b, "START %.*s %.*s\n", (int)e->id.len, e->id.ptr, (int)e->name.len,
		            e->name.ptr);
		break;
	case HR_SEV_TEXT: hr_buf_addf(b, "TEXT %.*s\n", (int)e->text.len, e->text.ptr); break;
	case HR_SEV_TOOL_START:
		hr_buf_addf(b, "TOOL_START %zu %.*s %.*s\n", e->index, (int)e->id.len, e->id.ptr,
		            (int)e->name.len, e->name.ptr);
		break;
	case HR_SEV_TOOL_ARGS:
		hr_buf_addf(b, "TOOL_ARGS %zu %.*s\n", e->index, (int)e->text.len, e->text.ptr);
		break;
	case HR_SEV_FINISH:
		hr_buf_addf(b, "FINISH %s %s %.*s\n", hr_finish_name(e->finish), e->finish_reason,
		            (int)e->stop_sequence.len, e->stop_sequence.ptr);
		break;
	case HR_SEV_USAGE:
		hr_buf_addf(b, "USAGE %lld %lld %lld %lld\n", (long long)e->usage.prompt_tokens,
		            (long long)e->usage.completion_tokens,
		            (long long)e->usage.cached_tokens,
		            (long long)e->usage.cache_creation_tokens);
		assert_true(e->usage.present);
		break;
	case HR_SEV_DONE: hr_buf_addf(b, "DONE\n"); break;
	case HR_SEV_ERROR:
		hr_buf_addf(b, "ERROR %s %.*s\n", hr_err_name(e->err), (int)e->text.len,
		            e->text.ptr);
		break;
	}
}

static int on_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t len)
{
	struct feed *f = arg;
	const char *name = f->named ? hr_arena_strndup(f->a, ev, ev_len) : NULL;
	struct hr_sev_list out = {0};
	const char *msg = NULL;
	int rc = ops->decode_stream(f->a, &f->st, name, data, len, &out, &msg);
	if (rc) {
		assert_non_null(msg);
		hr_buf_addf(&f->log, "BAD %s\n", msg);
		f->rc = rc;
		return 0;
	}
	for (size_t i = 0; i < out.n; i++)
		log_ev(&f->log, &out.v[i]);
	return 0;
}

/* Feeds a recorded stream through the SSE decoder; returns the event log (arena). */
static const char *run_stream(struct hr_arena *a, const char *sse, bool named, bool *finished)
{
	struct feed f = {.a = a, .named = named};
	hr_buf_init(&f.log, 1 << 20);
	struct hr_sse dec;
	hr_sse_init(&dec, HR_DEF_MAX_STREAM_LINE_BYTES, on_event, &f);
	assert_int_equal(hr_sse_feed(&dec, sse, strlen(sse)), 0);
	assert_false(hr_sse_pending(&dec));
	hr_sse_release(&dec);
	if (finished)
		*finished = f.st.finished;
	const char *log = hr_arena_strndup(a, f.log.ptr ? f.log.ptr : "", f.log.len);
	hr_buf_release(&f.log);
	return log;
}

/* "Streaming request with tool use", the full HTTP stream of the Streaming Messages page. */
static const char docs_tool_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_014p7gG3wDgGV9EUtLvnow3U\","
    "\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-opus-4-6\",\"stop_sequence\""
    ":null,\"usage\":{\"input_tokens\":472,\"output_tokens\":2},\"content\":[],\"stop_reason\":"
    "null}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Okay\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\",\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" let\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"'s\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" check\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" the\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" weather\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" for\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" San\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" Francisco\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\",\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\" CA\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\":\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_01T1x1fJ34qAmk2tNTrN7Up6\",\"name\":\"get_weather\","
    "\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"location\\\":\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\" \\\"San\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\" Francisc\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"o,\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\" CA\\\"\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\",\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\" \\\"unit\\\": \\\"fah\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"renheit\\\"}\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":89}}\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

static const char docs_tool_events[] = "START msg_014p7gG3wDgGV9EUtLvnow3U claude-opus-4-6\n"
                                       "USAGE 472 2 0 0\n"
                                       "TEXT Okay\n"
                                       "TEXT ,\n"
                                       "TEXT  let\n"
                                       "TEXT 's\n"
                                       "TEXT  check\n"
                                       "TEXT  the\n"
                                       "TEXT  weather\n"
                                       "TEXT  for\n"
                                       "TEXT  San\n"
                                       "TEXT  Francisco\n"
                                       "TEXT ,\n"
                                       "TEXT  CA\n"
                                       "TEXT :\n"
                                       "TOOL_START 0 toolu_01T1x1fJ34qAmk2tNTrN7Up6 get_weather\n"
                                       "TOOL_ARGS 0 {\"location\":\n"
                                       "TOOL_ARGS 0  \"San\n"
                                       "TOOL_ARGS 0  Francisc\n"
                                       "TOOL_ARGS 0 o,\n"
                                       "TOOL_ARGS 0  CA\"\n"
                                       "TOOL_ARGS 0 ,\n"
                                       "TOOL_ARGS 0  \"unit\": \"fah\n"
                                       "TOOL_ARGS 0 renheit\"}\n"
                                       "FINISH tool_calls tool_use \n"
                                       "USAGE 472 89 0 0\n"
                                       "DONE\n";

static void test_stream_docs_tool_use(void **state)
{
	(void)state;
	for (int named = 1; named >= 0; named--) { /* the event names, or the data's type */
		struct hr_arena *a = hr_arena_create(0);
		bool finished;
		const char *log = run_stream(a, docs_tool_stream, named, &finished);
		assert_string_equal(log, docs_tool_events);
		assert_true(finished);
		hr_arena_destroy(a);
	}
}

/* The basic and the extended-thinking streams of the same page, a stop sequence, prompt
 * caching counts, and in-stream errors. */
static void test_stream_docs_misc(void **state)
{
	(void)state;
	static const struct {
		const char *sse, *want;
	} cases[] = {
	    {"event: message_start\n"
	     "data: {\"type\": \"message_start\", \"message\": {\"id\": "
	     "\"msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY\", \"type\": \"message\", \"role\": "
	     "\"assistant\", \"content\": [], \"model\": \"claude-opus-4-6\", \"stop_reason\": "
	     "null, "
	     "\"stop_sequence\": null, \"usage\": {\"input_tokens\": 25, \"output_tokens\": "
	     "1}}}\n\n"
	     "event: content_block_start\n"
	     "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": "
	     "{\"type\": "
	     "\"text\", \"text\": \"\"}}\n\n"
	     "event: ping\n"
	     "data: {\"type\": \"ping\"}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
	     "\"text_delta\", \"text\": \"Hello\"}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
	     "\"text_delta\", \"text\": \"!\"}}\n\n"
	     "event: content_block_stop\n"
	     "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n"
	     "event: message_delta\n"
	     "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", "
	     "\"stop_sequence\":null}, \"usage\": {\"output_tokens\": 15}}\n\n"
	     "event: message_stop\n"
	     "data: {\"type\": \"message_stop\"}\n\n",
	     "START msg_1nZdL29xx5MUA1yADyHTEsnR8uuvGzszyY claude-opus-4-6\n"
	     "USAGE 25 1 0 0\nTEXT Hello\nTEXT !\nFINISH stop end_turn \nUSAGE 25 15 0 0\nDONE\n"},
	    {"event: message_start\n"
	     "data: {\"type\": \"message_start\", \"message\": {\"id\": \"msg_01...\", \"type\": "
	     "\"message\", \"role\": \"assistant\", \"content\": [], \"model\": "
	     "\"claude-opus-4-6\", "
	     "\"stop_reason\": null, \"stop_sequence\": null}}\n\n"
	     "event: content_block_start\n"
	     "data: {\"type\": \"content_block_start\", \"index\": 0, \"content_block\": "
	     "{\"type\": "
	     "\"thinking\", \"thinking\": \"\"}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
	     "\"thinking_delta\", \"thinking\": \"I need to find the GCD of 1071 and 462 using the "
	     "Euclidean algorithm.\\n\\n1071 = 2 \\u00d7 462 + 147\"}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\": \"content_block_delta\", \"index\": 0, \"delta\": {\"type\": "
	     "\"signature_delta\", \"signature\": "
	     "\"EqQBCgIYAhIM1gbcDa9GJwZA2b3hGgxBdjrkzLoky3dl1pkiMOYds"
	     "...\"}}\n\n"
	     "event: content_block_stop\n"
	     "data: {\"type\": \"content_block_stop\", \"index\": 0}\n\n"
	     "event: content_block_start\n"
	     "data: {\"type\": \"content_block_start\", \"index\": 1, \"content_block\": "
	     "{\"type\": "
	     "\"text\", \"text\": \"\"}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\": \"content_block_delta\", \"index\": 1, \"delta\": {\"type\": "
	     "\"text_delta\", \"text\": \"The greatest common divisor of 1071 and 462 is "
	     "**21**.\"}}\n\n"
	     "event: content_block_stop\n"
	     "data: {\"type\": \"content_block_stop\", \"index\": 1}\n\n"
	     "event: message_delta\n"
	     "data: {\"type\": \"message_delta\", \"delta\": {\"stop_reason\": \"end_turn\", "
	     "\"stop_sequence\": null}}\n\n"
	     "event: message_stop\n"
	     "data: {\"type\": \"message_stop\"}\n\n",
	     "START msg_01... claude-opus-4-6\n"
	     "TEXT The greatest common divisor of 1071 and 462 is **21**.\n"
	     "FINISH stop end_turn \nDONE\n"},
	    /* a stop sequence, caching counts given again at the end, a server tool's input
	     * (not a client tool call), an initial text, an event type from the future */
	    {"event: message_start\n"
	     "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_2\",\"model\":\"m\","
	     "\"usage\":{\"input_tokens\":10,\"cache_creation_input_tokens\":0,"
	     "\"cache_read_input_tokens\":4100,\"output_tokens\":1}}}\n\n"
	     "event: content_block_start\n"
	     "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	     "\"server_tool_use\",\"id\":\"srvtoolu_014hJH82Qum7Td6UV8gDXThB\",\"name\":"
	     "\"web_search\",\"input\":{}}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
	     "\"input_json_delta\",\"partial_json\":\"{\\\"query\"}}\n\n"
	     "event: content_block_start\n"
	     "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
	     "\"text\",\"text\":\"Hi\"}}\n\n"
	     "event: content_block_delta\n"
	     "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
	     "\"citations_delta\",\"citation\":{}}}\n\n"
	     "event: future_event\n"
	     "data: {\"type\":\"future_event\",\"x\":1}\n\n"
	     "event: message_delta\n"
	     "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"stop_sequence\","
	     "\"stop_sequence\":\"END\"},\"usage\":{\"input_tokens\":10,"
	     "\"cache_creation_input_tokens\":0,\"cache_read_input_tokens\":4100,"
	     "\"output_tokens\":9}}\n\n",
	     "START msg_2 m\nUSAGE 4110 1 4100 0\nTEXT Hi\nFINISH stop stop_sequence END\n"
	     "USAGE 4110 9 4100 0\n"},
	    {"event: error\n"
	     "data: {\"type\": \"error\", \"error\": {\"type\": \"overloaded_error\", \"message\": "
	     "\"Overloaded\"}}\n\n",
	     "ERROR EOVERLOADED Overloaded\n"},
	    {"event: error\n"
	     "data: {\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\",\"message\":"
	     "\"Number of request tokens has exceeded your per-minute rate limit\"}}\n\n",
	     "ERROR ERATELIMIT Number of request tokens has exceeded your per-minute rate limit\n"},
	    {"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\"}}\n\n",
	     "ERROR EUPSTREAM the provider reported an error in the stream\n"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		for (int named = 1; named >= 0; named--) {
			struct hr_arena *a = hr_arena_create(0);
			const char *log = run_stream(a, cases[i].sse, named, NULL);
			if (strcmp(log, cases[i].want) != 0)
				fail_msg("case %zu (named %d):\n%s\nwant:\n%s", i, named, log,
				         cases[i].want);
			hr_arena_destroy(a);
		}
	}
}

static void test_stream_malformed(void **state)
{
	(void)state;
	static const struct {
		const char *event, *data;
		int rc; /* 0: ignored */
	} cases[] = {
	    {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"ty",
	     HR_EUPSTREAM_BAD},
	    {NULL, "", HR_EUPSTREAM_BAD},
	    {NULL, "[\"message_stop\"]", HR_EUPSTREAM_BAD},
	    {NULL, "{\"index\":0}", HR_EUPSTREAM_BAD},
	    {NULL, "{\"type\":7}", HR_EUPSTREAM_BAD},
	    {"message_start", "{\"type\":\"message_start\",\"message\":\"msg_1\"}",
	     HR_EUPSTREAM_BAD},
	    {"content_block_start", "{\"type\":\"content_block_start\",\"content_block\":{}}",
	     HR_EUPSTREAM_BAD},
	    {"content_block_start",
	     "{\"type\":\"content_block_start\",\"index\":-1,\"content_block\":{}}",
	     HR_EUPSTREAM_BAD},
	    {"content_block_start",
	     "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":"
	     "\"tool_use\",\"id\":5,\"name\":\"f\"}}",
	     HR_EUPSTREAM_BAD},
	    {"content_block_delta", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":[]}",
	     HR_EUPSTREAM_BAD},
	    {"content_block_delta",
	     "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\"}}",
	     HR_EUPSTREAM_BAD},
	    {"message_delta", "{\"type\":\"message_delta\",\"usage\":{\"output_tokens\":3}}",
	     HR_EUPSTREAM_BAD},
	    /* ignored: a delta of a block never started, pings and stops with any data */
	    {"content_block_delta",
	     "{\"type\":\"content_block_delta\",\"index\":3,\"delta\":{\"type\":"
	     "\"input_json_delta\",\"partial_json\":\"{}\"}}",
	     0},
	    {"ping", "not json", 0},
	    {"content_block_stop", "", 0},
	    {"message", "{\"type\":\"ping\"}", 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_stream_dec st = {0};
		struct hr_sev_list out = {0};
		const char *msg = NULL;
		int rc = ops->decode_stream(a, &st, cases[i].event, cases[i].data,
		                            strlen(cases[i].data), &out, &msg);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %s (%s)", i, hr_err_name(rc), msg ? msg : "");
		if (rc)
			assert_non_null(msg);
		else
			assert_int_equal(out.n, 0);
		hr_arena_destroy(a);
	}
	/* the same tool block started twice */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_dec st = {0};
	struct hr_sev_list out = {0};
	const char *msg;
	const char *start = "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":{"
	                    "\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"f\",\"input\":{"
	                    "\"a\":[1]}}}";
	assert_int_equal(ops->decode_stream(a, &st, NULL, start, strlen(start), &out, &msg), 0);
	assert_int_equal(out.n, 2); /* a whole input given at the start is the arguments */
	assert_int_equal(out.v[1].type, HR_SEV_TOOL_ARGS);
	assert_true(hr_str_eq_cstr(out.v[1].text, "{\"a\":[1]}"));
	assert_int_equal(ops->decode_stream(a, &st, NULL, start, strlen(start), &out, &msg),
	                 HR_EUPSTREAM_BAD);
	hr_arena_destroy(a);
}

/* ---- errors, models ---- */

static void test_map_error(void **state)
{
	(void)state;
	static const struct {
		long status;
		const char *type;
		int want;
	} cases[] = {
	    {400, "invalid_request_error", HR_EINVAL},
	    {422, "invalid_request_error", HR_EINVAL},
	    {401, "authentication_error", HR_EUPSTREAM_AUTH},
	    {403, "permission_error", HR_EUPSTREAM_AUTH},
	    {404, "not_found_error", HR_EUPSTREAM_NOTFOUND},
	    {408, "timeout_error", HR_ETIMEOUT},
	    {504, "timeout_error", HR_ETIMEOUT},
	    {413, "request_too_large", HR_ETOOBIG},
	    {429, "rate_limit_error", HR_ERATELIMIT},
	    {503, "api_error", HR_EOVERLOADED},
	    {529, "overloaded_error", HR_EOVERLOADED},
	    {500, "api_error", HR_EUPSTREAM},
	    {500, "overloaded_error", HR_EOVERLOADED},
	    {402, "billing_error", HR_EUPSTREAM},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		char *body = hr_arena_printf(a,
		                             "{\"type\":\"error\",\"error\":{\"type\":\"%s\","
		                             "\"message\":\"something about %ld\"},\"request_id\":"
		                             "\"req_018EeWyXxfu5pfWkrYcMdjWG\"}",
		                             cases[i].type, cases[i].status);
		const char *msg;
		int rc = ops->map_error(a, cases[i].status, body, strlen(body), &msg);
		if (rc != cases[i].want)
			fail_msg("status %ld: %s", cases[i].status, hr_err_name(rc));
		char want[64];
		snprintf(want, sizeof want, "something about %ld", cases[i].status);
		assert_string_equal(msg, want);
		hr_arena_destroy(a);
	}
	/* bodies that are not Anthropic's: no message, never a crash */
	static const char *const junk[] = {"",
	                                   "<html>502 Bad Gateway</html>",
	                                   "{\"error\":\"x\"}",
	                                   "{\"error\":{\"message\":5}}",
	                                   "[]",
	                                   "{\"type\":\"error\",\"error\":{\"message\":\"\"}}"};
	for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
		struct hr_arena *a = hr_arena_create(0);
		const char *msg = "x";
		assert_int_equal(ops->map_error(a, 502, junk[i], strlen(junk[i]), &msg),
		                 HR_EUPSTREAM);
		assert_null(msg);
		assert_int_equal(ops->map_error(a, 429, NULL, 0, &msg), HR_ERATELIMIT);
		hr_arena_destroy(a);
	}
	/* a long message is cut at 500 bytes, not inside a UTF-8 sequence */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf b = HR_BUF_INIT(1 << 16);
	hr_buf_addstr(&b, "{\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"x");
	for (int i = 0; i < 400; i++)
		hr_buf_addstr(&b, "\xc3\xa9");
	hr_buf_addstr(&b, "\"}}");
	const char *msg;
	assert_int_equal(ops->map_error(a, 500, b.ptr, b.len, &msg), HR_EUPSTREAM);
	assert_int_equal(strlen(msg), 499);
	hr_buf_release(&b);
	hr_arena_destroy(a);
}

static void test_models(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const char *body =
	    "{\"data\":[{\"created_at\":\"2025-02-19T00:00:00Z\",\"display_name\":\"Claude 3.7 "
	    "Sonnet\",\"id\":\"claude-3-7-sonnet-20250219\",\"type\":\"model\"},{\"type\":"
	    "\"model\",\"id\":\"claude-opus-4-6\",\"display_name\":\"Claude Opus 4.6\"},{\"type\":"
	    "\"model\"}],\"first_id\":\"claude-3-7-sonnet-20250219\",\"has_more\":false,"
	    "\"last_id\":\"claude-opus-4-6\"}";
	struct hr_str *ids;
	size_t n;
	const char *msg;
	assert_string_equal(ops->models_path, "/models");
	assert_int_equal(ops->decode_models(a, body, strlen(body), &ids, &n, &msg), 0);
	assert_int_equal(n, 2);
	assert_true(hr_str_eq_cstr(ids[0], "claude-3-7-sonnet-20250219"));
	assert_true(hr_str_eq_cstr(ids[1], "claude-opus-4-6"));
	static const char *const bad[] = {"{\"data\":{}}", "{\"data\":[", "[]", "{}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg = NULL;
		assert_int_equal(ops->decode_models(a, bad[i], strlen(bad[i]), &ids, &n, &msg),
		                 HR_EUPSTREAM_BAD);
		assert_non_null(msg);
		assert_int_equal(n, 0);
	}
	assert_string_equal(ops->kind, "anthropic");
	assert_int_equal(ops->framing, HR_FRAME_SSE);
	assert_null(ops->encode_embed);
	assert_null(ops->decode_embed);
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode_docs_tool_request),
	    cmocka_unit_test(test_encode_round_trip),
	    cmocka_unit_test(test_encode_single_system_and_choices),
	    cmocka_unit_test(test_encode_pass_through),
	    cmocka_unit_test(test_encode_refusals),
	    cmocka_unit_test(test_encode_body_cap),
	    cmocka_unit_test(test_decode_docs_text),
	    cmocka_unit_test(test_decode_docs_tool_use),
	    cmocka_unit_test(test_decode_finishes),
	    cmocka_unit_test(test_decode_malformed),
	    cmocka_unit_test(test_stream_docs_tool_use),
	    cmocka_unit_test(test_stream_docs_misc),
	    cmocka_unit_test(test_stream_malformed),
	    cmocka_unit_test(test_map_error),
	    cmocka_unit_test(test_models),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
