/* test_dialect.c - the canonical chat model from both inbound dialects (hr_chat_parse,
 * hr_chat_parse_anthropic), the renderers back to each client's wire format, and embeddings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "providers/chat.h"
#include "providers/dialect.h"
#include "providers/embed.h"

static const struct hr_chat_limits deflim = {HR_DEF_MAX_MESSAGES, HR_DEF_MAX_TOOLS,
                                             HR_DEF_MAX_JSON_DEPTH};

#define N_(x) (sizeof(x) / sizeof((x)[0]))

/* Request bodies are written with single quotes for legibility; J() makes them JSON. */
static const char *J(struct hr_arena *a, const char *s)
{
	char *d = hr_arena_strdup(a, s);
	assert_non_null(d);
	for (char *p = d; *p; p++)
		if (*p == '\'')
			*p = '"';
	return d;
}

static void assert_str(struct hr_str s, const char *want)
{
	if (!hr_str_eq_cstr(s, want))
		fail_msg("got '%.*s', want '%s'", (int)s.len, s.ptr ? s.ptr : "", want);
}

static void parse_oa(struct hr_arena *a, const char *body, struct hr_chat_req *rq)
{
	const char *msg, *param;
	const char *b = J(a, body);
	int rc = hr_chat_parse(a, b, strlen(b), &deflim, rq, &msg, &param);
	if (rc != 0)
		fail_msg("%s (%s): %s", hr_err_name(rc), param ? param : "-", msg);
}

static void parse_an(struct hr_arena *a, const char *body, struct hr_chat_req *rq)
{
	const char *msg, *param;
	const char *b = J(a, body);
	int rc = hr_chat_parse_anthropic(a, b, strlen(b), &deflim, rq, &msg, &param);
	if (rc != 0)
		fail_msg("%s (%s): %s", hr_err_name(rc), param ? param : "-", msg);
}

static void decref_cb(void *j)
{
	json_decref(j);
}

/* Parses text as JSON owned by the arena; fails the test when it is not JSON. */
static json_t *load(struct hr_arena *a, const char *p, size_t n)
{
	json_error_t e;
	json_t *j = json_loadb(p, n, 0, &e);
	if (!j)
		fail_msg("not JSON (%s): %.*s", e.text, (int)n, p);
	assert_int_equal(hr_arena_defer(a, decref_cb, j), 0);
	return j;
}

static const char *jget_s(const json_t *o, const char *path)
{
	const json_t *j = json_object_get(o, path);
	return json_string_value(j);
}

/* ---- hr_chat_parse: OpenAI -> canonical ---- */

#define OA_HEAD "{'model':'gpt-4o','messages':["

static void test_oa_messages(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'system','content':'Be brief.'},"
	                 "{'role':'developer','content':'Use metric units.'},"
	                 "{'role':'user','name':'ann','content':[{'type':'text','text':'What is "
	                 "this?'},{'type':'image_url','image_url':{'url':'data:image/"
	                 "png;base64,iVBORw0KGgo='}},{'type':'image_url','image_url':{'url':"
	                 "'https://example.com/cat.jpg','detail':'low'}}]},"
	                 "{'role':'assistant','content':null,'tool_calls':[{'id':'call_1','type':"
	                 "'function','function':{'name':'get_weather','arguments':'{\\'city\\':"
	                 "\\'Oslo\\'}'}},{'id':'call_2','type':'function','function':{'name':"
	                 "'get_time','arguments':'{}'}}]},"
	                 "{'role':'tool','tool_call_id':'call_1','content':'12C'},"
	                 "{'role':'tool','tool_call_id':'call_2','content':[{'type':'text','text':"
	                 "'10:00'},{'type':'text','text':'CET'}]}]}",
	         &rq);
	assert_int_equal(rq.dialect, HR_DIALECT_OPENAI);
	assert_int_equal(rq.n_msgs, 6);
	assert_int_equal(rq.n_messages, 6);

	assert_int_equal(rq.msgs[0].role, HR_ROLE_SYSTEM);
	assert_int_equal(rq.msgs[0].n_parts, 1);
	assert_str(rq.msgs[0].parts[0].text, "Be brief.");
	assert_int_equal(rq.msgs[1].role, HR_ROLE_SYSTEM);
	assert_str(rq.msgs[1].parts[0].text, "Use metric units.");

	const struct hr_msg *u = &rq.msgs[2];
	assert_int_equal(u->role, HR_ROLE_USER);
	assert_str(u->name, "ann");
	assert_int_equal(u->n_parts, 3);
	assert_int_equal(u->parts[0].type, HR_PART_TEXT);
	assert_str(u->parts[0].text, "What is this?");
	assert_int_equal(u->parts[1].type, HR_PART_IMAGE);
	assert_str(u->parts[1].media_type, "image/png");
	assert_str(u->parts[1].data, "iVBORw0KGgo=");
	assert_int_equal(u->parts[1].url.len, 0);
	assert_int_equal(u->parts[1].detail.len, 0);
	assert_int_equal(u->parts[2].type, HR_PART_IMAGE);
	assert_str(u->parts[2].url, "https://example.com/cat.jpg");
	assert_str(u->parts[2].detail, "low");
	assert_int_equal(u->parts[2].data.len, 0);

	const struct hr_msg *as = &rq.msgs[3];
	assert_int_equal(as->role, HR_ROLE_ASSISTANT);
	assert_int_equal(as->n_parts, 2);
	assert_int_equal(as->parts[0].type, HR_PART_TOOL_CALL);
	assert_str(as->parts[0].id, "call_1");
	assert_str(as->parts[0].name, "get_weather");
	assert_str(as->parts[0].arguments, "{\"city\":\"Oslo\"}");
	assert_int_equal(as->parts[1].type, HR_PART_TOOL_CALL);
	assert_str(as->parts[1].id, "call_2");
	assert_str(as->parts[1].name, "get_time");
	assert_str(as->parts[1].arguments, "{}");

	for (size_t i = 4; i < 6; i++) {
		assert_int_equal(rq.msgs[i].role, HR_ROLE_TOOL);
		assert_int_equal(rq.msgs[i].n_parts, 1);
		assert_int_equal(rq.msgs[i].parts[0].type, HR_PART_TOOL_RESULT);
	}
	assert_str(rq.msgs[4].parts[0].id, "call_1");
	assert_str(rq.msgs[4].parts[0].text, "12C");
	assert_str(rq.msgs[5].parts[0].id, "call_2");
	assert_str(rq.msgs[5].parts[0].text, "10:00\nCET");
	assert_int_equal(rq.msgs[5].parts[0].is_error, false);

	assert_true(hr_str_eq_cstr(hr_chat_tool_name(&rq, HR_STR("call_2")), "get_time"));
	assert_int_equal(hr_chat_tool_name(&rq, HR_STR("call_9")).len, 0);
	assert_null(rq.unmapped);
	assert_null(rq.extra);
	hr_arena_destroy(a);
}

static void test_oa_assistant_text_and_calls(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	/* text first, then the calls; arguments absent -> "{}" */
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'hi'},{'role':'assistant','content':'Let me "
	                 "check.','tool_calls':[{'id':'c','type':'function','function':{'name':'f'"
	                 "}}]}]}",
	         &rq);
	const struct hr_msg *as = &rq.msgs[1];
	assert_int_equal(as->n_parts, 2);
	assert_int_equal(as->parts[0].type, HR_PART_TEXT);
	assert_str(as->parts[0].text, "Let me check.");
	assert_int_equal(as->parts[1].type, HR_PART_TOOL_CALL);
	assert_str(as->parts[1].arguments, "{}");
	hr_arena_destroy(a);
}

struct tc_case {
	const char *tool_choice; /* JSON text, single-quoted; NULL: absent */
	const char *ptc;         /* parallel_tool_calls; NULL: absent */
	enum hr_tool_choice want;
	const char *name;
	int want_ptc;
};

static void test_oa_tools_and_choice(void **state)
{
	(void)state;
	static const struct tc_case cases[] = {
	    {NULL, NULL, HR_TC_UNSET, "", -1},
	    {"'auto'", "true", HR_TC_AUTO, "", 1},
	    {"'none'", "false", HR_TC_NONE, "", 0},
	    {"'required'", NULL, HR_TC_REQUIRED, "", -1},
	    {"{'type':'function','function':{'name':'lookup'}}", NULL, HR_TC_NAMED, "lookup", -1},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		const struct tc_case *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		char body[1024];
		snprintf(body, sizeof body,
		         OA_HEAD "{'role':'user','content':'x'}],'tools':[{'type':'function',"
		                 "'function':{'name':'lookup','description':'Find a record.',"
		                 "'strict':true,'parameters':{'type':'object','properties':{'q':{"
		                 "'type':'string'}}}}},{'type':'function','function':{'name':'"
		                 "noargs'}}]%s%s%s%s}",
		         c->tool_choice ? ",'tool_choice':" : "",
		         c->tool_choice ? c->tool_choice : "",
		         c->ptc ? ",'parallel_tool_calls':" : "", c->ptc ? c->ptc : "");
		struct hr_chat_req rq;
		parse_oa(a, body, &rq);
		assert_int_equal(rq.n_tools, 2);
		assert_str(rq.tools[0].name, "lookup");
		assert_str(rq.tools[0].description, "Find a record.");
		assert_true(rq.tools[0].strict);
		/* the schema is the client's own object, borrowed from the body */
		json_t *fn0 = json_object_get(json_array_get(json_object_get(rq.body, "tools"), 0),
		                              "function");
		assert_ptr_equal(rq.tools[0].parameters, json_object_get(fn0, "parameters"));
		assert_str(rq.tools[1].name, "noargs");
		assert_int_equal(rq.tools[1].description.len, 0);
		assert_null(rq.tools[1].parameters);
		assert_false(rq.tools[1].strict);
		if (rq.tool_choice != c->want)
			fail_msg("case %zu: tool_choice %d, want %d", i, rq.tool_choice, c->want);
		assert_str(rq.tool_choice_name, c->name);
		assert_int_equal(rq.parallel_tool_calls, c->want_ptc);
		assert_null(rq.unmapped);
		hr_arena_destroy(a);
	}
}

static void test_oa_response_format(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a, OA_HEAD "{'role':'user','content':'x'}]}", &rq);
	assert_int_equal(rq.format, HR_FMT_UNSET);
	parse_oa(a, OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'text'}}",
	         &rq);
	assert_int_equal(rq.format, HR_FMT_TEXT);
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_object'}}",
	         &rq);
	assert_int_equal(rq.format, HR_FMT_JSON_OBJECT);
	assert_null(rq.schema);
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_schema',"
	                 "'json_schema':{'name':'event','strict':true,'schema':{'type':'object',"
	                 "'properties':{'when':{'type':'string'}}}}}}",
	         &rq);
	assert_int_equal(rq.format, HR_FMT_JSON_SCHEMA);
	assert_str(rq.schema_name, "event");
	assert_true(rq.schema_strict);
	assert_true(json_is_object(rq.schema));
	assert_string_equal(jget_s(rq.schema, "type"), "object");
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_schema',"
	                 "'json_schema':{'name':'e','schema':{}}}}",
	         &rq);
	assert_false(rq.schema_strict);
	hr_arena_destroy(a);
}

static void test_oa_sampling(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'temperature':0.25,'top_p':0.5,'seed':"
	                 "-7,'presence_penalty':-1.5,'frequency_penalty':2,'stop':'END','user':"
	                 "'u-42','max_completion_tokens':99,'max_tokens':5}",
	         &rq);
	assert_true(rq.has_temperature && rq.has_top_p && rq.has_seed);
	assert_true(rq.has_presence_penalty && rq.has_frequency_penalty);
	assert_true(rq.temperature == 0.25);
	assert_true(rq.top_p == 0.5);
	assert_int_equal(rq.seed, -7);
	assert_true(rq.presence_penalty == -1.5);
	assert_true(rq.frequency_penalty == 2.0);
	assert_int_equal(rq.n_stop, 1);
	assert_str(rq.stop[0], "END");
	assert_str(rq.user, "u-42");
	assert_int_equal(rq.max_tokens, 99); /* max_completion_tokens wins */
	assert_int_equal(rq.top_k, -1);

	parse_oa(a, OA_HEAD "{'role':'user','content':'x'}],'stop':['a','\\n\\n','c','d']}", &rq);
	assert_false(rq.has_temperature || rq.has_top_p || rq.has_seed);
	assert_false(rq.has_presence_penalty || rq.has_frequency_penalty);
	assert_int_equal(rq.n_stop, 4);
	assert_str(rq.stop[0], "a");
	assert_str(rq.stop[1], "\n\n");
	assert_str(rq.stop[3], "d");
	assert_int_equal(rq.user.len, 0);
	assert_int_equal(rq.max_tokens, -1);
	hr_arena_destroy(a);
}

static void test_oa_extra(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'logprobs':true,'top_logprobs':3,"
	                 "'metadata':{'k':'v'},'temperature':1,'stream':false,'n':1,'user':'u',"
	                 "'tools':null,'seed':3,'stop':null,'max_tokens':7}",
	         &rq);
	assert_non_null(rq.extra);
	assert_int_equal(json_object_size(rq.extra), 3);
	assert_true(json_is_true(json_object_get(rq.extra, "logprobs")));
	assert_int_equal(json_integer_value(json_object_get(rq.extra, "top_logprobs")), 3);
	assert_string_equal(jget_s(json_object_get(rq.extra, "metadata"), "k"), "v");
	assert_null(rq.unmapped);
	hr_arena_destroy(a);
}

struct unmapped_case {
	const char *name, *body, *unmapped;
};

static void test_oa_unmapped(void **state)
{
	(void)state;
	static const struct unmapped_case cases[] = {
	    {"audio part",
	     OA_HEAD "{'role':'user','content':[{'type':'text','text':'hear'},{'type':"
	             "'input_audio','input_audio':{'data':'AAAA','format':'wav'}}]}]}",
	     "messages[0].content[1]"},
	    {"file part",
	     OA_HEAD "{'role':'system','content':'s'},{'role':'user','content':[{'type':'file',"
	             "'file':{'file_id':'f'}}]}]}",
	     "messages[1].content[0]"},
	    {"legacy function message",
	     OA_HEAD "{'role':'user','content':'x'},{'role':'function','name':'f','content':"
	             "'ok'}]}",
	     "messages[1].role"},
	    {"function_call",
	     OA_HEAD "{'role':'user','content':'x'},{'role':'assistant','content':null,"
	             "'function_call':{'name':'f','arguments':'{}'}}]}",
	     "messages[1].function_call"},
	    {"custom tool",
	     OA_HEAD "{'role':'user','content':'x'}],'tools':[{'type':'custom','custom':{'name':"
	             "'sh'}}]}",
	     "tools[0].type"},
	    {"first one wins",
	     OA_HEAD "{'role':'user','content':[{'type':'input_audio','input_audio':{}}]},{'role':"
	             "'function','name':'f','content':'ok'}]}",
	     "messages[0].content[0]"},
	    {"refusal part from a user",
	     OA_HEAD "{'role':'user','content':[{'type':'refusal',"
	             "'refusal':'no'}]}]}",
	     "messages[0].content[0]"},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_req rq;
		parse_oa(a, cases[i].body, &rq);
		if (!rq.unmapped || strcmp(rq.unmapped, cases[i].unmapped) != 0)
			fail_msg("case '%s': unmapped '%s', want '%s'", cases[i].name,
			         rq.unmapped ? rq.unmapped : "(null)", cases[i].unmapped);
		assert_null(rq.extra);
		hr_arena_destroy(a);
	}
	/* an assistant's refusal part is text */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'},{'role':'assistant','content':[{'type':"
	                 "'refusal','refusal':'I cannot.'}]}]}",
	         &rq);
	assert_null(rq.unmapped);
	assert_int_equal(rq.msgs[1].parts[0].type, HR_PART_TEXT);
	assert_str(rq.msgs[1].parts[0].text, "I cannot.");
	hr_arena_destroy(a);
}

struct bad_case {
	const char *name, *body;
	int rc;
	const char *param, *msg; /* param NULL: none; msg: a substring */
};

static void run_bad(const struct bad_case *cases, size_t n,
                    int (*parse)(struct hr_arena *, const char *, size_t,
                                 const struct hr_chat_limits *, struct hr_chat_req *, const char **,
                                 const char **))
{
	for (size_t i = 0; i < n; i++) {
		const struct bad_case *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_req rq;
		const char *msg = NULL, *param = NULL;
		const char *b = J(a, c->body);
		int rc = parse(a, b, strlen(b), &deflim, &rq, &msg, &param);
		if (rc != c->rc)
			fail_msg("case '%s': got %s (%s), want %s", c->name, hr_err_name(rc),
			         msg ? msg : "-", hr_err_name(c->rc));
		if (c->param ? !param || strcmp(param, c->param) != 0 : param != NULL)
			fail_msg("case '%s': param '%s', want '%s'", c->name,
			         param ? param : "(null)", c->param ? c->param : "(null)");
		if (!msg || !strstr(msg, c->msg))
			fail_msg("case '%s': message '%s' lacks '%s'", c->name, msg ? msg : "-",
			         c->msg);
		hr_arena_destroy(a);
	}
}

static void test_oa_rejects(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"ftp image",
	     OA_HEAD "{'role':'user','content':[{'type':'image_url','image_url':{'url':'ftp://"
	             "x/y.png'}}]}]}",
	     HR_EINVAL, "messages[0].content[0].image_url.url", "http(s) URL"},
	    {"data URL without base64",
	     OA_HEAD
	     "{'role':'user','content':'a'},{'role':'user','content':[{'type':'text',"
	     "'text':'b'},{'type':'image_url','image_url':{'url':'data:image/png,abc'}}]}]}",
	     HR_EINVAL, "messages[1].content[1].image_url.url", "data:<type>;base64,<data>"},
	    {"data URL without media type",
	     OA_HEAD "{'role':'user','content':[{'type':'image_url','image_url':{'url':'data:;"
	             "base64,AAAA'}}]}]}",
	     HR_EINVAL, "messages[0].content[0].image_url.url", "must be an http(s)"},
	    {"image without url",
	     OA_HEAD "{'role':'user','content':[{'type':'image_url','image_url':{'detail':'low'}}"
	             "]}]}",
	     HR_EINVAL, "messages[0].content[0].image_url.url", "is required"},
	    {"tool call without name",
	     OA_HEAD "{'role':'user','content':'x'},{'role':'assistant','tool_calls':[{'id':'c',"
	             "'type':'function','function':{'arguments':'{}'}}]}]}",
	     HR_EINVAL, "messages[1].tool_calls[0]", "must be {"},
	    {"named tool_choice without a name",
	     OA_HEAD "{'role':'user','content':'x'}],'tools':[{'type':'function','function':{"
	             "'name':'f'}}],'tool_choice':{'type':'function','function':{}}}",
	     HR_EINVAL, "tool_choice.function.name", "is required"},
	    {"json_schema schema not an object",
	     OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_schema',"
	             "'json_schema':{'name':'e','schema':'object'}}}",
	     HR_EINVAL, "response_format.json_schema.schema", "JSON Schema object"},
	    {"json_schema without json_schema",
	     OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_schema'}}",
	     HR_EINVAL, "response_format.json_schema", "is required"},
	    {"parallel_tool_calls string",
	     OA_HEAD "{'role':'user','content':'x'}],'parallel_tool_calls':'yes'}", HR_EINVAL,
	     "parallel_tool_calls", "true or false"},
	    {"presence_penalty too high",
	     OA_HEAD "{'role':'user','content':'x'}],'presence_penalty':2.5}", HR_EINVAL,
	     "presence_penalty", "from -2 to 2"},
	    {"frequency_penalty string",
	     OA_HEAD "{'role':'user','content':'x'}],'frequency_penalty':'lots'}", HR_EINVAL,
	     "frequency_penalty", "number"},
	};
	run_bad(cases, N_(cases), hr_chat_parse);
}

/* ---- hr_chat_parse_anthropic: Anthropic Messages -> canonical ---- */

#define AN_HEAD "{'model':'claude-sonnet-4-5','max_tokens':1024,"
#define AN_USER "'messages':[{'role':'user','content':'Hello'}]"

static void test_an_rejects(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"invalid JSON", "{'model':", HR_EBADJSON, NULL, "not valid JSON"},
	    {"array body", "[]", HR_EINVAL, NULL, "JSON object"},
	    {"missing model", "{'max_tokens':10," AN_USER "}", HR_EINVAL, "model",
	     "Field required"},
	    {"empty model", "{'model':'','max_tokens':10," AN_USER "}", HR_EINVAL, "model",
	     "Field required"},
	    {"missing max_tokens", "{'model':'c'," AN_USER "}", HR_EINVAL, "max_tokens",
	     "Field required"},
	    {"max_tokens zero", "{'model':'c','max_tokens':0," AN_USER "}", HR_EINVAL, "max_tokens",
	     "positive integer"},
	    {"max_tokens string", "{'model':'c','max_tokens':'9'," AN_USER "}", HR_EINVAL,
	     "max_tokens", "positive integer"},
	    {"missing messages", "{'model':'c','max_tokens':10}", HR_EINVAL, "messages",
	     "Field required"},
	    {"empty messages", AN_HEAD "'messages':[]}", HR_EINVAL, "messages", "non-empty"},
	    {"system role in messages",
	     AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':'system','content':'b'}]}",
	     HR_EINVAL, "messages.1.role", "top-level \"system\""},
	    {"message not object", AN_HEAD "'messages':['hi']}", HR_EINVAL, "messages.0",
	     "must be an object"},
	    {"content missing", AN_HEAD "'messages':[{'role':'user'}]}", HR_EINVAL,
	     "messages.0.content", "is required"},
	    {"block without type", AN_HEAD "'messages':[{'role':'user','content':[{'text':'a'}]}]}",
	     HR_EINVAL, "messages.0.content.0", "content block"},
	    {"text block without text",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'text'}]}]}", HR_EINVAL,
	     "messages.0.content.0.text", "is required"},
	    {"tool_result from the assistant",
	     AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':'assistant','content':[{"
	             "'type':'tool_result','tool_use_id':'t','content':'x'}]}]}",
	     HR_EINVAL, "messages.1.content.0", "belong in a user message"},
	    {"tool_result without id",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'tool_result','content':'x'}]}"
	             "]}",
	     HR_EINVAL, "messages.0.content.0.tool_use_id", "is required"},
	    {"tool_result content number",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'tool_result','tool_use_id':"
	             "'t','content':5}]}]}",
	     HR_EINVAL, "messages.0.content.0.content", "string or an array"},
	    {"tool_use without input",
	     AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':'assistant','content':[{"
	             "'type':'tool_use','id':'t','name':'f'}]}]}",
	     HR_EINVAL, "messages.1.content.0", "\"input\" object"},
	    {"image without data",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'image','source':{'type':"
	             "'base64','media_type':'image/png'}}]}]}",
	     HR_EINVAL, "messages.0.content.0.source", "base64"},
	    {"image with file source",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'image','source':{'type':"
	             "'file','file_id':'f'}}]}]}",
	     HR_EINVAL, "messages.0.content.0.source", "url"},
	    {"system number", AN_HEAD AN_USER ",'system':5}", HR_EINVAL, "system",
	     "string or an array"},
	    {"system image block",
	     AN_HEAD AN_USER ",'system':[{'type':'text','text':'a'},{'type':'image'}]}", HR_EINVAL,
	     "system.1", "text block"},
	    {"temperature above 1", AN_HEAD AN_USER ",'temperature':1.5}", HR_EINVAL, "temperature",
	     "from 0 to 1"},
	    {"top_p string", AN_HEAD AN_USER ",'top_p':'x'}", HR_EINVAL, "top_p", "from 0 to 1"},
	    {"top_k negative", AN_HEAD AN_USER ",'top_k':-1}", HR_EINVAL, "top_k", "non-negative"},
	    {"stop_sequences string", AN_HEAD AN_USER ",'stop_sequences':'x'}", HR_EINVAL,
	     "stop_sequences", "array"},
	    {"stop_sequences number", AN_HEAD AN_USER ",'stop_sequences':['a',1]}", HR_EINVAL,
	     "stop_sequences", "array of strings"},
	    {"stream string", AN_HEAD AN_USER ",'stream':'yes'}", HR_EINVAL, "stream",
	     "true or false"},
	    {"metadata list", AN_HEAD AN_USER ",'metadata':[]}", HR_EINVAL, "metadata", "object"},
	    {"tools object", AN_HEAD AN_USER ",'tools':{}}", HR_EINVAL, "tools", "array"},
	    {"tool without input_schema", AN_HEAD AN_USER ",'tools':[{'name':'f'}]}", HR_EINVAL,
	     "tools.0", "input_schema"},
	    {"tool_choice string", AN_HEAD AN_USER ",'tool_choice':'auto'}", HR_EINVAL,
	     "tool_choice", "auto"},
	    {"tool_choice bad type", AN_HEAD AN_USER ",'tool_choice':{'type':'required'}}",
	     HR_EINVAL, "tool_choice.type", "auto, any, tool or none"},
	    {"tool_choice tool without name", AN_HEAD AN_USER ",'tool_choice':{'type':'tool'}}",
	     HR_EINVAL, "tool_choice.name", "is required"},
	};
	run_bad(cases, N_(cases), hr_chat_parse_anthropic);
}

static void test_an_system_and_basics(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a,
	         AN_HEAD "'system':'You are terse.','messages':[{'role':'user','content':'Hi'},"
	                 "{'role':'assistant','content':'Hello.'},{'role':'user','content':'Bye'}"
	                 "],'stream':true}",
	         &rq);
	assert_int_equal(rq.dialect, HR_DIALECT_ANTHROPIC);
	assert_string_equal(rq.model, "claude-sonnet-4-5");
	assert_int_equal(rq.max_tokens, 1024);
	assert_true(rq.stream);
	assert_int_equal(rq.n_messages, 3);
	assert_int_equal(rq.n_msgs, 4);
	assert_int_equal(rq.msgs[0].role, HR_ROLE_SYSTEM);
	assert_str(rq.msgs[0].parts[0].text, "You are terse.");
	assert_int_equal(rq.msgs[1].role, HR_ROLE_USER);
	assert_str(rq.msgs[1].parts[0].text, "Hi");
	assert_int_equal(rq.msgs[2].role, HR_ROLE_ASSISTANT);
	assert_str(rq.msgs[2].parts[0].text, "Hello.");
	assert_int_equal(rq.msgs[3].role, HR_ROLE_USER);
	assert_int_equal(rq.top_k, -1);
	assert_int_equal(rq.parallel_tool_calls, -1);
	assert_int_equal(rq.tool_choice, HR_TC_UNSET);
	assert_false(rq.has_temperature);
	assert_null(rq.extra);
	assert_null(rq.unmapped);
	assert_true(json_is_object(rq.body));

	/* system as text blocks (cache_control is a hint and dropped) */
	parse_an(a,
	         AN_HEAD "'system':[{'type':'text','text':'Rule one.'},{'type':'text','text':"
	                 "'Rule two.','cache_control':{'type':'ephemeral'}}]," AN_USER "}",
	         &rq);
	assert_int_equal(rq.n_msgs, 2);
	assert_int_equal(rq.msgs[0].role, HR_ROLE_SYSTEM);
	assert_int_equal(rq.msgs[0].n_parts, 2);
	assert_str(rq.msgs[0].parts[0].text, "Rule one.");
	assert_str(rq.msgs[0].parts[1].text, "Rule two.");
	assert_false(rq.stream);
	assert_null(rq.unmapped);
	hr_arena_destroy(a);
}

static void test_an_tool_round_trip(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a,
	         AN_HEAD
	         "'messages':[{'role':'user','content':'Weather in Oslo and Rome?'},"
	         "{'role':'assistant','content':[{'type':'text','text':'Checking.'},{'type':"
	         "'tool_use','id':'toolu_1','name':'get_weather','input':{'city':'Oslo','days':"
	         "[1, 2],'unit':null}},{'type':'tool_use','id':'toolu_2','name':'get_weather',"
	         "'input':{}}]},"
	         "{'role':'user','content':[{'type':'tool_result','tool_use_id':'toolu_1',"
	         "'content':'12C'},{'type':'tool_result','tool_use_id':'toolu_2','is_error':"
	         "true,'content':[{'type':'text','text':'timeout'},{'type':'text','text':"
	         "'retry later'}]},{'type':'text','text':'Summarize.'}]}]}",
	         &rq);
	assert_int_equal(rq.n_messages, 3);
	assert_int_equal(rq.n_msgs, 5);

	const struct hr_msg *as = &rq.msgs[1];
	assert_int_equal(as->role, HR_ROLE_ASSISTANT);
	assert_int_equal(as->n_parts, 3);
	assert_int_equal(as->parts[0].type, HR_PART_TEXT);
	assert_str(as->parts[0].text, "Checking.");
	assert_int_equal(as->parts[1].type, HR_PART_TOOL_CALL);
	assert_str(as->parts[1].id, "toolu_1");
	assert_str(as->parts[1].name, "get_weather");
	assert_str(as->parts[1].arguments, "{\"city\":\"Oslo\",\"days\":[1,2],\"unit\":null}");
	assert_str(as->parts[2].arguments, "{}");

	assert_int_equal(rq.msgs[2].role, HR_ROLE_TOOL);
	assert_int_equal(rq.msgs[2].parts[0].type, HR_PART_TOOL_RESULT);
	assert_str(rq.msgs[2].parts[0].id, "toolu_1");
	assert_str(rq.msgs[2].parts[0].text, "12C");
	assert_false(rq.msgs[2].parts[0].is_error);
	assert_int_equal(rq.msgs[3].role, HR_ROLE_TOOL);
	assert_str(rq.msgs[3].parts[0].id, "toolu_2");
	assert_str(rq.msgs[3].parts[0].text, "timeout\nretry later");
	assert_true(rq.msgs[3].parts[0].is_error);
	assert_int_equal(rq.msgs[4].role, HR_ROLE_USER);
	assert_int_equal(rq.msgs[4].n_parts, 1);
	assert_str(rq.msgs[4].parts[0].text, "Summarize.");

	/* tools answered by name */
	assert_true(hr_str_eq_cstr(hr_chat_tool_name(&rq, HR_STR("toolu_2")), "get_weather"));
	assert_null(rq.unmapped);
	hr_arena_destroy(a);
}

static void test_an_many_results_grow_the_list(void **state)
{
	(void)state;
	/* 40 tool results in one turn: the message list grows past its first allocation */
	struct hr_arena *a = hr_arena_create(0);
	char body[8192];
	size_t n =
	    (size_t)snprintf(body, sizeof body, AN_HEAD "'messages':[{'role':'user','content':[");
	for (int i = 0; i < 40; i++)
		n +=
		    (size_t)snprintf(body + n, sizeof body - n,
		                     "%s{'type':'tool_result','tool_use_id':'t%d','content':'r%d'}",
		                     i ? "," : "", i, i);
	snprintf(body + n, sizeof body - n, ",{'type':'text','text':'end'}]}]}");
	struct hr_chat_req rq;
	parse_an(a, body, &rq);
	assert_int_equal(rq.n_msgs, 41);
	for (int i = 0; i < 40; i++) {
		char id[16];
		snprintf(id, sizeof id, "t%d", i);
		assert_int_equal(rq.msgs[i].role, HR_ROLE_TOOL);
		assert_str(rq.msgs[i].parts[0].id, id);
	}
	assert_int_equal(rq.msgs[40].role, HR_ROLE_USER);
	assert_str(rq.msgs[40].parts[0].text, "end");
	hr_arena_destroy(a);
}

static void test_an_images(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a,
	         AN_HEAD "'messages':[{'role':'user','content':[{'type':'image','source':{'type':"
	                 "'base64','media_type':'image/jpeg','data':'/9j/4AAQ'}},{'type':'image',"
	                 "'source':{'type':'url','url':'https://example.com/a.png'}},{'type':"
	                 "'text','text':'Compare.'}]}]}",
	         &rq);
	assert_int_equal(rq.n_msgs, 1);
	const struct hr_msg *u = &rq.msgs[0];
	assert_int_equal(u->n_parts, 3);
	assert_int_equal(u->parts[0].type, HR_PART_IMAGE);
	assert_str(u->parts[0].media_type, "image/jpeg");
	assert_str(u->parts[0].data, "/9j/4AAQ");
	assert_int_equal(u->parts[0].url.len, 0);
	assert_int_equal(u->parts[1].type, HR_PART_IMAGE);
	assert_str(u->parts[1].url, "https://example.com/a.png");
	assert_int_equal(u->parts[1].data.len, 0);
	assert_int_equal(u->parts[2].type, HR_PART_TEXT);
	hr_arena_destroy(a);
}

struct an_tc_case {
	const char *tool_choice;
	enum hr_tool_choice want;
	const char *name;
	int ptc;
};

static void test_an_tools_and_choice(void **state)
{
	(void)state;
	static const struct an_tc_case cases[] = {
	    {NULL, HR_TC_UNSET, "", -1},
	    {"{'type':'auto'}", HR_TC_AUTO, "", -1},
	    {"{'type':'auto','disable_parallel_tool_use':true}", HR_TC_AUTO, "", 0},
	    {"{'type':'any','disable_parallel_tool_use':false}", HR_TC_REQUIRED, "", 1},
	    {"{'type':'tool','name':'search','disable_parallel_tool_use':true}", HR_TC_NAMED,
	     "search", 0},
	    {"{'type':'none'}", HR_TC_NONE, "", -1},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		const struct an_tc_case *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		char body[1024];
		snprintf(
		    body, sizeof body,
		    AN_HEAD AN_USER ",'tools':[{'name':'search','description':'Search the web.',"
		                    "'input_schema':{'type':'object','properties':{'q':{'type':"
		                    "'string'}},'required':['q']}},{'type':'custom','name':'calc',"
		                    "'input_schema':{'type':'object'},'cache_control':{'type':"
		                    "'ephemeral'}}]%s%s}",
		    c->tool_choice ? ",'tool_choice':" : "", c->tool_choice ? c->tool_choice : "");
		struct hr_chat_req rq;
		parse_an(a, body, &rq);
		assert_int_equal(rq.n_tools, 2);
		assert_str(rq.tools[0].name, "search");
		assert_str(rq.tools[0].description, "Search the web.");
		assert_ptr_equal(
		    rq.tools[0].parameters,
		    json_object_get(json_array_get(json_object_get(rq.body, "tools"), 0),
		                    "input_schema"));
		assert_false(rq.tools[0].strict);
		assert_str(rq.tools[1].name, "calc");
		if (rq.tool_choice != c->want)
			fail_msg("case %zu: tool_choice %d, want %d", i, rq.tool_choice, c->want);
		assert_str(rq.tool_choice_name, c->name);
		assert_int_equal(rq.parallel_tool_calls, c->ptc);
		assert_null(rq.unmapped);
		hr_arena_destroy(a);
	}
}

static void test_an_sampling_and_extra(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a,
	         AN_HEAD AN_USER
	         ",'temperature':1,'top_p':0.9,'top_k':40,'stop_sequences':["
	         "'\\n\\nHuman:','END'],'metadata':{'user_id':'user-7'},'thinking':{"
	         "'type':'enabled','budget_tokens':2048},'service_tier':'auto'}",
	         &rq);
	assert_true(rq.has_temperature && rq.temperature == 1.0);
	assert_true(rq.has_top_p && rq.top_p == 0.9);
	assert_int_equal(rq.top_k, 40);
	assert_int_equal(rq.n_stop, 2);
	assert_str(rq.stop[0], "\n\nHuman:");
	assert_str(rq.stop[1], "END");
	assert_str(rq.user, "user-7");
	assert_non_null(rq.extra);
	assert_int_equal(json_object_size(rq.extra), 2);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(rq.extra, "thinking"),
	                                                    "budget_tokens")),
	                 2048);
	assert_string_equal(jget_s(rq.extra, "service_tier"), "auto");
	assert_null(rq.unmapped);

	parse_an(a, AN_HEAD AN_USER ",'top_k':0,'temperature':0,'stop_sequences':[]}", &rq);
	assert_int_equal(rq.top_k, 0);
	assert_true(rq.has_temperature && rq.temperature == 0.0);
	assert_int_equal(rq.n_stop, 0);
	assert_null(rq.extra);
	hr_arena_destroy(a);
}

static void test_an_unmapped(void **state)
{
	(void)state;
	static const struct unmapped_case cases[] = {
	    {"document block",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'text','text':'Read this.'},"
	             "{'type':'document','source':{'type':'base64','media_type':'application/pdf',"
	             "'data':'JVBERi0='}}]}]}",
	     "messages.0.content.1"},
	    {"thinking block",
	     AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':'assistant','content':[{"
	             "'type':'thinking','thinking':'hmm','signature':'s'},{'type':'text','text':"
	             "'b'}]}]}",
	     "messages.1.content.0"},
	    {"image inside a tool_result",
	     AN_HEAD "'messages':[{'role':'user','content':[{'type':'tool_result','tool_use_id':"
	             "'t','content':[{'type':'image','source':{'type':'url','url':'https://x/y'}}"
	             "]}]}]}",
	     "messages.0.content.0.content[0]"},
	    {"server tool",
	     AN_HEAD AN_USER ",'tools':[{'type':'web_search_20250305','name':"
	                     "'web_search','max_uses':5}]}",
	     "tools.0"},
	    {"metadata other than user_id", AN_HEAD AN_USER ",'metadata':{'trace':'x'}}",
	     "metadata"},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_req rq;
		parse_an(a, cases[i].body, &rq);
		if (!rq.unmapped || strcmp(rq.unmapped, cases[i].unmapped) != 0)
			fail_msg("case '%s': unmapped '%s', want '%s'", cases[i].name,
			         rq.unmapped ? rq.unmapped : "(null)", cases[i].unmapped);
		hr_arena_destroy(a);
	}
	/* the text next to a document is still there */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a, cases[0].body, &rq);
	assert_int_equal(rq.msgs[0].n_parts, 1);
	assert_str(rq.msgs[0].parts[0].text, "Read this.");
	hr_arena_destroy(a);
}

static void test_an_limits(void **state)
{
	(void)state;
	const struct hr_chat_limits lim = {2, 1, 8};
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	const char *msg, *param;
	const char *b = J(a, AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':"
	                             "'assistant','content':'b'},{'role':'user','content':'c'}]}");
	assert_int_equal(hr_chat_parse_anthropic(a, b, strlen(b), &lim, &rq, &msg, &param),
	                 HR_ETOOMANY);
	assert_string_equal(param, "messages");
	assert_non_null(strstr(msg, "limits.max_messages"));

	b = J(a, AN_HEAD AN_USER ",'tools':[{'name':'a','input_schema':{}},{'name':'b',"
	                         "'input_schema':{}}]}");
	assert_int_equal(hr_chat_parse_anthropic(a, b, strlen(b), &lim, &rq, &msg, &param),
	                 HR_ETOOMANY);
	assert_string_equal(param, "tools");
	assert_non_null(strstr(msg, "limits.max_tools"));

	/* at the limits it passes */
	b = J(a, AN_HEAD "'messages':[{'role':'user','content':'a'},{'role':'assistant','content'"
	                 ":'b'}],'tools':[{'name':'a','input_schema':{}}]}");
	assert_int_equal(hr_chat_parse_anthropic(a, b, strlen(b), &lim, &rq, &msg, &param), 0);
	assert_int_equal(rq.n_messages, 2);

	/* depth 9 > 8 */
	b = J(a, AN_HEAD AN_USER ",'x':[[[[[[[[1]]]]]]]]}");
	assert_int_equal(hr_chat_parse_anthropic(a, b, strlen(b), &lim, &rq, &msg, &param),
	                 HR_EINVAL);
	assert_null(param);
	assert_non_null(strstr(msg, "max_json_depth"));

	/* deeper than jansson's own parser limit: still a 400 about depth */
	size_t depth = 5000, n = 0;
	char *deep = hr_arena_alloc(a, 2 * depth);
	for (size_t i = 0; i < depth; i++)
		deep[n++] = '[';
	for (size_t i = 0; i < depth; i++)
		deep[n++] = ']';
	assert_int_equal(hr_chat_parse_anthropic(a, deep, n, &deflim, &rq, &msg, &param),
	                 HR_EINVAL);
	assert_non_null(strstr(msg, "max_json_depth"));

	/* raw bytes in jansson's message never reach the client */
	const char *bad = "{\"model\": \xc3\xa9t\xc3\xa9}";
	assert_int_equal(hr_chat_parse_anthropic(a, bad, strlen(bad), &deflim, &rq, &msg, &param),
	                 HR_EBADJSON);
	for (const char *p = msg; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
	hr_arena_destroy(a);
}

/* ---- renderers: complete answers ---- */

static json_t *render_resp(struct hr_arena *a, enum hr_dialect d, const struct hr_chat_resp *res)
{
	struct hr_buf out = HR_BUF_INIT(1 << 20);
	int rc = hr_render_resp(a, d, res, "resp-1", "my-model", 1700000000, &out);
	if (rc != 0) {
		hr_buf_release(&out);
		fail_msg("hr_render_resp: %s", hr_err_name(rc));
	}
	json_t *j = load(a, out.ptr, out.len);
	hr_buf_release(&out);
	return j;
}

static void test_resp_openai(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part text[] = {{.type = HR_PART_TEXT, .text = HR_STR("Hello, ")},
	                         {.type = HR_PART_TEXT, .text = HR_STR("\"world\"")}};
	struct hr_chat_resp res = {.parts = text,
	                           .n_parts = 2,
	                           .finish = HR_FIN_STOP,
	                           .usage = {.prompt_tokens = 10,
	                                     .completion_tokens = 5,
	                                     .cached_tokens = 4,
	                                     .reasoning_tokens = 2,
	                                     .present = true}};
	json_t *j = render_resp(a, HR_DIALECT_OPENAI, &res);
	assert_string_equal(jget_s(j, "id"), "resp-1");
	assert_string_equal(jget_s(j, "object"), "chat.completion");
	assert_int_equal(json_integer_value(json_object_get(j, "created")), 1700000000);
	assert_string_equal(jget_s(j, "model"), "my-model");
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0);
	assert_int_equal(json_array_size(json_object_get(j, "choices")), 1);
	assert_int_equal(json_integer_value(json_object_get(ch, "index")), 0);
	assert_string_equal(jget_s(ch, "finish_reason"), "stop");
	json_t *m = json_object_get(ch, "message");
	assert_string_equal(jget_s(m, "role"), "assistant");
	assert_string_equal(jget_s(m, "content"), "Hello, \"world\"");
	assert_true(json_is_null(json_object_get(m, "refusal")));
	assert_null(json_object_get(m, "tool_calls"));
	json_t *u = json_object_get(j, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), 10);
	assert_int_equal(json_integer_value(json_object_get(u, "completion_tokens")), 5);
	assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 15);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(u, "prompt_tokens_details"), "cached_tokens")),
	                 4);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_object_get(u, "completion_tokens_details"), "reasoning_tokens")),
	                 2);

	/* tool calls only: content null, the calls in order */
	struct hr_part calls[] = {{.type = HR_PART_TOOL_CALL,
	                           .id = HR_STR("call_a"),
	                           .name = HR_STR("get_weather"),
	                           .arguments = HR_STR("{\"city\":\"Oslo\"}")},
	                          {.type = HR_PART_TOOL_CALL,
	                           .id = HR_STR("call_b"),
	                           .name = HR_STR("get_time"),
	                           .arguments = HR_STR("{}")}};
	struct hr_chat_resp tr = {.parts = calls, .n_parts = 2, .finish = HR_FIN_TOOL_CALLS};
	j = render_resp(a, HR_DIALECT_OPENAI, &tr);
	ch = json_array_get(json_object_get(j, "choices"), 0);
	assert_string_equal(jget_s(ch, "finish_reason"), "tool_calls");
	m = json_object_get(ch, "message");
	assert_true(json_is_null(json_object_get(m, "content")));
	json_t *tc = json_object_get(m, "tool_calls");
	assert_int_equal(json_array_size(tc), 2);
	assert_string_equal(jget_s(json_array_get(tc, 0), "id"), "call_a");
	assert_string_equal(jget_s(json_array_get(tc, 0), "type"), "function");
	json_t *fn = json_object_get(json_array_get(tc, 0), "function");
	assert_string_equal(jget_s(fn, "name"), "get_weather");
	assert_string_equal(jget_s(fn, "arguments"), "{\"city\":\"Oslo\"}");
	assert_string_equal(jget_s(json_object_get(json_array_get(tc, 1), "function"), "name"),
	                    "get_time");
	u = json_object_get(j, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 0);

	/* finish names; NONE reads as stop */
	static const struct {
		enum hr_finish f;
		const char *want;
	} fin[] = {{HR_FIN_NONE, "stop"},
	           {HR_FIN_STOP, "stop"},
	           {HR_FIN_LENGTH, "length"},
	           {HR_FIN_TOOL_CALLS, "tool_calls"},
	           {HR_FIN_CONTENT_FILTER, "content_filter"}};
	for (size_t i = 0; i < N_(fin); i++) {
		struct hr_chat_resp r = {.finish = fin[i].f, .refusal = HR_STR("No.")};
		j = render_resp(a, HR_DIALECT_OPENAI, &r);
		ch = json_array_get(json_object_get(j, "choices"), 0);
		assert_string_equal(jget_s(ch, "finish_reason"), fin[i].want);
		m = json_object_get(ch, "message");
		assert_true(json_is_null(json_object_get(m, "content")));
		assert_string_equal(jget_s(m, "refusal"), "No.");
	}
	assert_null(hr_finish_name(HR_FIN_NONE));
	hr_arena_destroy(a);
}

static void test_resp_anthropic(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_part parts[] = {
	    {.type = HR_PART_TEXT, .text = HR_STR("Let me look.")},
	    {.type = HR_PART_TEXT, .text = HR_STR("")}, /* empty text: no block */
	    {.type = HR_PART_TOOL_CALL,
	     .id = HR_STR("toolu_1"),
	     .name = HR_STR("search"),
	     .arguments = HR_STR("{\"q\":\"hearth\",\"n\":3}")},
	    {.type = HR_PART_TOOL_CALL, .id = HR_STR("toolu_2"), .name = HR_STR("now")},
	};
	struct hr_chat_resp res = {.parts = parts,
	                           .n_parts = 4,
	                           .finish = HR_FIN_TOOL_CALLS,
	                           .usage = {.prompt_tokens = 100,
	                                     .completion_tokens = 20,
	                                     .cached_tokens = 30,
	                                     .cache_creation_tokens = 50,
	                                     .present = true}};
	json_t *j = render_resp(a, HR_DIALECT_ANTHROPIC, &res);
	assert_string_equal(jget_s(j, "id"), "resp-1");
	assert_string_equal(jget_s(j, "type"), "message");
	assert_string_equal(jget_s(j, "role"), "assistant");
	assert_string_equal(jget_s(j, "model"), "my-model");
	assert_string_equal(jget_s(j, "stop_reason"), "tool_use");
	assert_true(json_is_null(json_object_get(j, "stop_sequence")));
	json_t *c = json_object_get(j, "content");
	assert_int_equal(json_array_size(c), 3);
	assert_string_equal(jget_s(json_array_get(c, 0), "type"), "text");
	assert_string_equal(jget_s(json_array_get(c, 0), "text"), "Let me look.");
	json_t *tu = json_array_get(c, 1);
	assert_string_equal(jget_s(tu, "type"), "tool_use");
	assert_string_equal(jget_s(tu, "id"), "toolu_1");
	assert_string_equal(jget_s(tu, "name"), "search");
	json_t *in = json_object_get(tu, "input");
	assert_true(json_is_object(in));
	assert_string_equal(jget_s(in, "q"), "hearth");
	assert_int_equal(json_integer_value(json_object_get(in, "n")), 3);
	/* no arguments: an empty input object */
	in = json_object_get(json_array_get(c, 2), "input");
	assert_true(json_is_object(in) && json_object_size(in) == 0);
	json_t *u = json_object_get(j, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "input_tokens")), 20);
	assert_int_equal(json_integer_value(json_object_get(u, "cache_read_input_tokens")), 30);
	assert_int_equal(json_integer_value(json_object_get(u, "cache_creation_input_tokens")), 50);
	assert_int_equal(json_integer_value(json_object_get(u, "output_tokens")), 20);

	/* stop reasons */
	static const struct {
		enum hr_finish f;
		const char *seq, *want;
	} stops[] = {{HR_FIN_NONE, "", "end_turn"},         {HR_FIN_STOP, "", "end_turn"},
	             {HR_FIN_STOP, "###", "stop_sequence"}, {HR_FIN_LENGTH, "", "max_tokens"},
	             {HR_FIN_TOOL_CALLS, "", "tool_use"},   {HR_FIN_CONTENT_FILTER, "", "refusal"}};
	for (size_t i = 0; i < N_(stops); i++) {
		struct hr_part t = {.type = HR_PART_TEXT, .text = HR_STR("x")};
		struct hr_chat_resp r = {.parts = &t,
		                         .n_parts = 1,
		                         .finish = stops[i].f,
		                         .stop_sequence = hr_str_from(stops[i].seq)};
		j = render_resp(a, HR_DIALECT_ANTHROPIC, &r);
		assert_string_equal(jget_s(j, "stop_reason"), stops[i].want);
		if (stops[i].seq[0])
			assert_string_equal(jget_s(j, "stop_sequence"), stops[i].seq);
		else
			assert_true(json_is_null(json_object_get(j, "stop_sequence")));
	}

	/* more cached than prompt (a provider's miscount): never a negative count */
	struct hr_chat_resp odd = {.usage = {.prompt_tokens = 5, .cached_tokens = 9}};
	j = render_resp(a, HR_DIALECT_ANTHROPIC, &odd);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(j, "usage"), "input_tokens")), 0);
	assert_int_equal(json_array_size(json_object_get(j, "content")), 0);

	/* arguments that are not a JSON object cannot become an input object */
	static const char *const bad_args[] = {"[1,2]", "{\"a\":", "\"text\"", "null"};
	for (size_t i = 0; i < N_(bad_args); i++) {
		struct hr_part p = {.type = HR_PART_TOOL_CALL,
		                    .id = HR_STR("t"),
		                    .name = HR_STR("f"),
		                    .arguments = hr_str_from(bad_args[i])};
		struct hr_chat_resp r = {.parts = &p, .n_parts = 1, .finish = HR_FIN_TOOL_CALLS};
		struct hr_buf out = HR_BUF_INIT(1 << 20);
		assert_int_equal(hr_render_resp(a, HR_DIALECT_ANTHROPIC, &r, "id", "m", 0, &out),
		                 HR_EUPSTREAM_BAD);
		hr_buf_release(&out);
	}
	hr_arena_destroy(a);
}

/* ---- renderers: streams ---- */

struct sse_ev {
	char event[64]; /* "" when the event has no event: line */
	json_t *data;
};

/* Splits rendered SSE text into events; every data line must be one JSON object. */
static size_t sse_split(struct hr_arena *a, const struct hr_buf *b, struct sse_ev *ev, size_t max)
{
	size_t n = 0;
	const char *p = b->ptr ? b->ptr : "", *end = p + b->len;
	while (p < end) {
		const char *stop = strstr(p, "\n\n");
		if (!stop)
			fail_msg("unterminated SSE event: %s", p);
		assert_true(n < max);
		struct sse_ev *e = &ev[n++];
		memset(e, 0, sizeof *e);
		const char *line = p;
		while (line < stop) {
			const char *nl = memchr(line, '\n', (size_t)(stop - line));
			const char *le = nl ? nl : stop;
			if (strncmp(line, "event: ", 7) == 0) {
				assert_true((size_t)(le - line - 7) < sizeof e->event);
				memcpy(e->event, line + 7, (size_t)(le - line - 7));
			} else if (strncmp(line, "data: ", 6) == 0) {
				assert_null(e->data);
				e->data = load(a, line + 6, (size_t)(le - line - 6));
				assert_true(json_is_object(e->data));
			} else {
				fail_msg("unexpected SSE line: %.*s", (int)(le - line), line);
			}
			line = le + 1;
		}
		assert_non_null(e->data);
		p = stop + 2;
	}
	return n;
}

static void feed(struct hr_arena *a, struct hr_render *r, struct hr_buf *out,
                 const struct hr_sev *evs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		int rc = hr_render_event(a, r, &evs[i], out);
		if (rc != 0)
			fail_msg("event %zu: %s", i, hr_err_name(rc));
	}
}

static const struct hr_sev text_then_tools[] = {
    {.type = HR_SEV_START, .id = HR_STR("up-1"), .name = HR_STR("up-model")},
    {.type = HR_SEV_TEXT, .text = HR_STR("Hel")},
    {.type = HR_SEV_TEXT, .text = HR_STR("")},
    {.type = HR_SEV_TEXT, .text = HR_STR("lo \u00e9")},
    {.type = HR_SEV_TOOL_START, .index = 0, .id = HR_STR("call_1"), .name = HR_STR("search")},
    {.type = HR_SEV_TOOL_ARGS, .index = 0, .text = HR_STR("{\"q\":")},
    {.type = HR_SEV_TOOL_ARGS, .index = 0, .text = HR_STR("\"x\"}")},
    {.type = HR_SEV_TOOL_START, .index = 1, .id = HR_STR("call_2"), .name = HR_STR("now")},
    {.type = HR_SEV_USAGE, .usage = {.prompt_tokens = 12, .present = true}},
    {.type = HR_SEV_FINISH, .finish = HR_FIN_TOOL_CALLS},
    {.type = HR_SEV_USAGE,
     .usage = {.prompt_tokens = 12, .completion_tokens = 7, .cached_tokens = 2, .present = true}},
};

static void check_oa_chunk(const json_t *d, const char *finish)
{
	assert_string_equal(jget_s(d, "id"), "chatcmpl-x");
	assert_string_equal(jget_s(d, "object"), "chat.completion.chunk");
	assert_int_equal(json_integer_value(json_object_get(d, "created")), 1700000001);
	assert_string_equal(jget_s(d, "model"), "alias");
	json_t *ch = json_array_get(json_object_get(d, "choices"), 0);
	assert_int_equal(json_integer_value(json_object_get(ch, "index")), 0);
	if (finish)
		assert_string_equal(jget_s(ch, "finish_reason"), finish);
	else
		assert_true(json_is_null(json_object_get(ch, "finish_reason")));
}

static json_t *oa_delta(const struct sse_ev *e)
{
	return json_object_get(json_array_get(json_object_get(e->data, "choices"), 0), "delta");
}

static void test_stream_openai(void **state)
{
	(void)state;
	for (int with_usage = 0; with_usage < 2; with_usage++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_render r;
		hr_render_init(&r, HR_DIALECT_OPENAI, "chatcmpl-x", "alias", 1700000001,
		               with_usage);
		struct hr_buf out = HR_BUF_INIT(1 << 20);
		feed(a, &r, &out, text_then_tools, N_(text_then_tools));
		assert_int_equal(hr_render_end(a, &r, &out), 0);
		/* after the end, nothing more is written */
		struct hr_sev late = {.type = HR_SEV_TEXT, .text = HR_STR("late")};
		assert_int_equal(hr_render_event(a, &r, &late, &out), 0);
		assert_int_equal(hr_render_end(a, &r, &out), 0);
		struct sse_ev ev[32];
		size_t n = sse_split(a, &out, ev, N_(ev));
		hr_buf_release(&out);
		assert_int_equal(n, 8 + (size_t)with_usage);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(ev[i].event, "");

		for (size_t i = 0; i < 7; i++)
			check_oa_chunk(ev[i].data, NULL);
		json_t *d = oa_delta(&ev[0]);
		assert_string_equal(jget_s(d, "role"), "assistant");
		assert_string_equal(jget_s(d, "content"), "");
		assert_string_equal(jget_s(oa_delta(&ev[1]), "content"), "Hel");
		assert_string_equal(jget_s(oa_delta(&ev[2]), "content"), "lo \u00e9");

		json_t *tc = json_array_get(json_object_get(oa_delta(&ev[3]), "tool_calls"), 0);
		assert_int_equal(json_integer_value(json_object_get(tc, "index")), 0);
		assert_string_equal(jget_s(tc, "id"), "call_1");
		assert_string_equal(jget_s(tc, "type"), "function");
		assert_string_equal(jget_s(json_object_get(tc, "function"), "name"), "search");
		assert_string_equal(jget_s(json_object_get(tc, "function"), "arguments"), "");

		tc = json_array_get(json_object_get(oa_delta(&ev[4]), "tool_calls"), 0);
		assert_int_equal(json_integer_value(json_object_get(tc, "index")), 0);
		assert_null(json_object_get(tc, "id"));
		assert_string_equal(jget_s(json_object_get(tc, "function"), "arguments"),
		                    "{\"q\":");
		tc = json_array_get(json_object_get(oa_delta(&ev[5]), "tool_calls"), 0);
		assert_string_equal(jget_s(json_object_get(tc, "function"), "arguments"), "\"x\"}");
		tc = json_array_get(json_object_get(oa_delta(&ev[6]), "tool_calls"), 0);
		assert_int_equal(json_integer_value(json_object_get(tc, "index")), 1);
		assert_string_equal(jget_s(tc, "id"), "call_2");

		check_oa_chunk(ev[7].data, "tool_calls");
		assert_int_equal(json_object_size(oa_delta(&ev[7])), 0);

		if (with_usage) {
			json_t *uc = ev[8].data;
			assert_string_equal(jget_s(uc, "id"), "chatcmpl-x");
			assert_int_equal(json_array_size(json_object_get(uc, "choices")), 0);
			json_t *u = json_object_get(uc, "usage");
			assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")),
			                 12);
			assert_int_equal(
			    json_integer_value(json_object_get(u, "completion_tokens")), 7);
			assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")),
			                 19);
			assert_int_equal(
			    json_integer_value(json_object_get(
			        json_object_get(u, "prompt_tokens_details"), "cached_tokens")),
			    2);
		}
		hr_arena_destroy(a);
	}
}

static void test_stream_openai_empty(void **state)
{
	(void)state;
	/* a provider that ends at once: the client still gets the role chunk */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_render r;
	hr_render_init(&r, HR_DIALECT_OPENAI, "chatcmpl-x", "alias", 1700000001, false);
	struct hr_buf out = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_render_end(a, &r, &out), 0);
	struct sse_ev ev[4];
	size_t n = sse_split(a, &out, ev, N_(ev));
	hr_buf_release(&out);
	assert_int_equal(n, 1);
	assert_string_equal(jget_s(oa_delta(&ev[0]), "role"), "assistant");
	hr_arena_destroy(a);
}

static void test_stream_anthropic(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_render r;
	hr_render_init(&r, HR_DIALECT_ANTHROPIC, "msg_x", "alias", 1700000001, false);
	struct hr_buf out = HR_BUF_INIT(1 << 20);
	feed(a, &r, &out, text_then_tools, N_(text_then_tools));
	assert_int_equal(hr_render_end(a, &r, &out), 0);
	struct sse_ev ev[32];
	size_t n = sse_split(a, &out, ev, N_(ev));
	hr_buf_release(&out);

	static const char *const want[] = {
	    "message_start",       "content_block_start", "content_block_delta",
	    "content_block_delta", "content_block_stop",  "content_block_start",
	    "content_block_delta", "content_block_delta", "content_block_stop",
	    "content_block_start", "content_block_stop",  "message_delta",
	    "message_stop",
	};
	assert_int_equal(n, N_(want));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(ev[i].event, want[i]);
		assert_string_equal(jget_s(ev[i].data, "type"), want[i]);
	}
	json_t *m = json_object_get(ev[0].data, "message");
	assert_string_equal(jget_s(m, "id"), "msg_x");
	assert_string_equal(jget_s(m, "type"), "message");
	assert_string_equal(jget_s(m, "role"), "assistant");
	assert_string_equal(jget_s(m, "model"), "alias");
	assert_int_equal(json_array_size(json_object_get(m, "content")), 0);
	assert_true(json_is_null(json_object_get(m, "stop_reason")));
	/* START opened the message before any usage arrived: counts come in message_delta */
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(m, "usage"), "input_tokens")), 0);

	/* text block 0 */
	assert_int_equal(json_integer_value(json_object_get(ev[1].data, "index")), 0);
	json_t *cb = json_object_get(ev[1].data, "content_block");
	assert_string_equal(jget_s(cb, "type"), "text");
	assert_string_equal(jget_s(cb, "text"), "");
	json_t *d = json_object_get(ev[2].data, "delta");
	assert_string_equal(jget_s(d, "type"), "text_delta");
	assert_string_equal(jget_s(d, "text"), "Hel");
	assert_string_equal(jget_s(json_object_get(ev[3].data, "delta"), "text"), "lo \u00e9");
	assert_int_equal(json_integer_value(json_object_get(ev[4].data, "index")), 0);

	/* tool_use block 1 */
	assert_int_equal(json_integer_value(json_object_get(ev[5].data, "index")), 1);
	cb = json_object_get(ev[5].data, "content_block");
	assert_string_equal(jget_s(cb, "type"), "tool_use");
	assert_string_equal(jget_s(cb, "id"), "call_1");
	assert_string_equal(jget_s(cb, "name"), "search");
	assert_true(json_is_object(json_object_get(cb, "input")));
	assert_int_equal(json_object_size(json_object_get(cb, "input")), 0);
	for (size_t i = 6; i < 8; i++) {
		assert_int_equal(json_integer_value(json_object_get(ev[i].data, "index")), 1);
		assert_string_equal(jget_s(json_object_get(ev[i].data, "delta"), "type"),
		                    "input_json_delta");
	}
	assert_string_equal(jget_s(json_object_get(ev[6].data, "delta"), "partial_json"),
	                    "{\"q\":");
	assert_string_equal(jget_s(json_object_get(ev[7].data, "delta"), "partial_json"), "\"x\"}");
	assert_int_equal(json_integer_value(json_object_get(ev[8].data, "index")), 1);

	/* tool_use block 2, closed by the end */
	assert_int_equal(json_integer_value(json_object_get(ev[9].data, "index")), 2);
	assert_string_equal(jget_s(json_object_get(ev[9].data, "content_block"), "id"), "call_2");
	assert_int_equal(json_integer_value(json_object_get(ev[10].data, "index")), 2);

	d = json_object_get(ev[11].data, "delta");
	assert_string_equal(jget_s(d, "stop_reason"), "tool_use");
	assert_true(json_is_null(json_object_get(d, "stop_sequence")));
	json_t *u = json_object_get(ev[11].data, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "output_tokens")), 7);
	assert_int_equal(json_integer_value(json_object_get(u, "input_tokens")), 10);
	assert_int_equal(json_integer_value(json_object_get(u, "cache_read_input_tokens")), 2);
	hr_arena_destroy(a);
}

static void test_stream_anthropic_stop_sequence(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_render r;
	hr_render_init(&r, HR_DIALECT_ANTHROPIC, "msg_y", "alias", 0, false);
	struct hr_buf out = HR_BUF_INIT(1 << 20);
	const struct hr_sev evs[] = {
	    {.type = HR_SEV_USAGE, .usage = {.prompt_tokens = 9, .present = true}},
	    {.type = HR_SEV_TEXT, .text = HR_STR("a")},
	    {.type = HR_SEV_FINISH, .finish = HR_FIN_STOP, .stop_sequence = HR_STR("END")},
	    {.type = HR_SEV_DONE},
	};
	feed(a, &r, &out, evs, N_(evs));
	assert_int_equal(hr_render_end(a, &r, &out), 0);
	struct sse_ev ev[16];
	size_t n = sse_split(a, &out, ev, N_(ev));
	hr_buf_release(&out);
	assert_int_equal(n, 6);
	json_t *m = json_object_get(ev[0].data, "message");
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(m, "usage"), "input_tokens")), 9);
	assert_int_equal(
	    json_integer_value(json_object_get(json_object_get(m, "usage"), "output_tokens")), 0);
	assert_string_equal(ev[3].event, "content_block_stop");
	json_t *d = json_object_get(ev[4].data, "delta");
	assert_string_equal(jget_s(d, "stop_reason"), "stop_sequence");
	assert_string_equal(jget_s(d, "stop_sequence"), "END");
	assert_string_equal(ev[5].event, "message_stop");

	/* a stream with no content still opens and closes the message */
	hr_render_init(&r, HR_DIALECT_ANTHROPIC, "msg_z", "alias", 0, false);
	struct hr_buf out2 = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_render_end(a, &r, &out2), 0);
	n = sse_split(a, &out2, ev, N_(ev));
	hr_buf_release(&out2);
	assert_int_equal(n, 3);
	assert_string_equal(ev[0].event, "message_start");
	assert_string_equal(ev[1].event, "message_delta");
	assert_string_equal(jget_s(json_object_get(ev[1].data, "delta"), "stop_reason"),
	                    "end_turn");
	assert_string_equal(ev[2].event, "message_stop");
	hr_arena_destroy(a);
}

static void test_stream_anthropic_interleaved(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_render r;
	hr_render_init(&r, HR_DIALECT_ANTHROPIC, "msg_x", "alias", 0, false);
	struct hr_buf out = HR_BUF_INIT(1 << 20);
	const struct hr_sev evs[] = {
	    {.type = HR_SEV_TOOL_START, .index = 0, .id = HR_STR("a"), .name = HR_STR("f")},
	    {.type = HR_SEV_TOOL_START, .index = 1, .id = HR_STR("b"), .name = HR_STR("g")},
	};
	feed(a, &r, &out, evs, N_(evs));
	struct hr_sev back = {.type = HR_SEV_TOOL_ARGS, .index = 0, .text = HR_STR("{}")};
	assert_int_equal(hr_render_event(a, &r, &back, &out), HR_EUPSTREAM_BAD);
	/* arguments with no tool block open at all */
	hr_render_init(&r, HR_DIALECT_ANTHROPIC, "msg_x", "alias", 0, false);
	struct hr_sev t = {.type = HR_SEV_TEXT, .text = HR_STR("x")};
	assert_int_equal(hr_render_event(a, &r, &t, &out), 0);
	assert_int_equal(hr_render_event(a, &r, &back, &out), HR_EUPSTREAM_BAD);
	hr_buf_release(&out);
	hr_arena_destroy(a);
}

/* ---- renderers: errors ---- */

static void test_render_errors(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf out = HR_BUF_INIT(1 << 16);
	assert_int_equal(
	    hr_render_error(HR_DIALECT_OPENAI, HR_EINVAL, "messages is required", "messages", &out),
	    0);
	assert_int_equal(out.ptr[out.len - 1], '\n');
	json_t *j = load(a, out.ptr, out.len);
	json_t *e = json_object_get(j, "error");
	assert_int_equal(json_object_size(j), 1);
	assert_string_equal(jget_s(e, "message"), "messages is required");
	assert_string_equal(jget_s(e, "type"), "invalid_request_error");
	assert_string_equal(jget_s(e, "code"), "invalid_request");
	assert_string_equal(jget_s(e, "param"), "messages");

	hr_buf_reset(&out);
	assert_int_equal(hr_render_error(HR_DIALECT_OPENAI, HR_ERATELIMIT, NULL, NULL, &out), 0);
	e = json_object_get(load(a, out.ptr, out.len), "error");
	assert_string_equal(jget_s(e, "message"), hr_err_msg(HR_ERATELIMIT));
	assert_string_equal(jget_s(e, "type"), "rate_limit_error");
	assert_true(json_is_null(json_object_get(e, "param")));

	hr_buf_reset(&out);
	assert_int_equal(hr_render_error(HR_DIALECT_ANTHROPIC, HR_EOVERLOADED, "busy", "x", &out),
	                 0);
	j = load(a, out.ptr, out.len);
	assert_string_equal(jget_s(j, "type"), "error");
	e = json_object_get(j, "error");
	assert_string_equal(jget_s(e, "type"), "overloaded_error");
	assert_string_equal(jget_s(e, "message"), "busy");
	assert_null(json_object_get(e, "param"));

	static const struct {
		int err, oa, an;
		const char *an_type;
	} st[] = {
	    {HR_EOVERLOADED, 503, 529, "overloaded_error"},
	    {HR_EINVAL, 400, 400, "invalid_request_error"},
	    {HR_EAUTH, 401, 401, "authentication_error"},
	    {HR_ENOMODEL, 404, 404, "not_found_error"},
	    {HR_ERATELIMIT, 429, 429, "rate_limit_error"},
	    {HR_ETOOBIG, 413, 413, "request_too_large"},
	    {HR_EUPSTREAM, 502, 502, "api_error"},
	    {HR_ETIMEOUT, 504, 504, "api_error"},
	};
	for (size_t i = 0; i < N_(st); i++) {
		assert_int_equal(hr_render_error_status(HR_DIALECT_OPENAI, st[i].err), st[i].oa);
		assert_int_equal(hr_render_error_status(HR_DIALECT_ANTHROPIC, st[i].err), st[i].an);
		hr_buf_reset(&out);
		assert_int_equal(hr_render_error(HR_DIALECT_ANTHROPIC, st[i].err, NULL, NULL, &out),
		                 0);
		e = json_object_get(load(a, out.ptr, out.len), "error");
		assert_string_equal(jget_s(e, "type"), st[i].an_type);
	}

	/* inside a started stream */
	hr_buf_reset(&out);
	assert_int_equal(
	    hr_render_stream_error(HR_DIALECT_OPENAI, HR_ESTREAM_CUT, "cut \"short\"", &out), 0);
	struct sse_ev ev[4];
	assert_int_equal(sse_split(a, &out, ev, N_(ev)), 1);
	assert_string_equal(ev[0].event, "");
	e = json_object_get(ev[0].data, "error");
	assert_string_equal(jget_s(e, "message"), "cut \"short\"");
	assert_string_equal(jget_s(e, "code"), "upstream_stream_broken");
	assert_string_equal(jget_s(e, "type"), "api_error");

	hr_buf_reset(&out);
	assert_int_equal(hr_render_stream_error(HR_DIALECT_ANTHROPIC, HR_EOVERLOADED, NULL, &out),
	                 0);
	assert_int_equal(sse_split(a, &out, ev, N_(ev)), 1);
	assert_string_equal(ev[0].event, "error");
	assert_string_equal(jget_s(ev[0].data, "type"), "error");
	e = json_object_get(ev[0].data, "error");
	assert_string_equal(jget_s(e, "type"), "overloaded_error");
	assert_string_equal(jget_s(e, "message"), hr_err_msg(HR_EOVERLOADED));

	/* the cap is honoured, never overrun */
	struct hr_buf tiny = HR_BUF_INIT(8);
	assert_int_equal(hr_render_error(HR_DIALECT_OPENAI, HR_EINVAL, "x", NULL, &tiny),
	                 HR_ETOOBIG);
	assert_true(tiny.len <= 8);
	hr_buf_release(&tiny);
	hr_buf_release(&out);
	hr_arena_destroy(a);
}

/* ---- embeddings ---- */

struct embed_ok {
	const char *name, *body;
	size_t n_inputs;
	const char *first;
	bool tokens, base64;
	long dimensions;
	const char *user;
	size_t n_extra;
};

static void test_embed_parse(void **state)
{
	(void)state;
	static const struct embed_ok cases[] = {
	    {"string", "{'model':'e','input':'hello'}", 1, "hello", false, false, -1, "", 0},
	    {"array", "{'model':'e','input':['a','bc','def']}", 3, "a", false, false, -1, "", 0},
	    {"tokens", "{'model':'e','input':[1,2,3]}", 0, NULL, true, false, -1, "", 0},
	    {"token arrays", "{'model':'e','input':[[1,2],[3]]}", 0, NULL, true, false, -1, "", 0},
	    {"base64 + dimensions + user",
	     "{'model':'e','input':'x','encoding_format':'base64','dimensions':256,'user':'u1'}", 1,
	     "x", false, true, 256, "u1", 0},
	    {"float, nulls",
	     "{'model':'e','input':'x','encoding_format':'float','dimensions':null,'user':null}", 1,
	     "x", false, false, -1, "", 0},
	    {"extra", "{'model':'e','input':'x','input_type':'query','truncate':'END'}", 1, "x",
	     false, false, -1, "", 2},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		const struct embed_ok *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_embed_req rq;
		const char *msg, *param;
		const char *b = J(a, c->body);
		int rc = hr_embed_parse(a, b, strlen(b), 16, 64, &rq, &msg, &param);
		if (rc != 0)
			fail_msg("case '%s': %s (%s)", c->name, hr_err_name(rc), msg);
		assert_string_equal(rq.model, "e");
		assert_int_equal(rq.n_inputs, c->n_inputs);
		if (c->first)
			assert_str(rq.inputs[0], c->first);
		assert_int_equal(rq.tokens_input, c->tokens);
		assert_int_equal(rq.base64, c->base64);
		assert_int_equal(rq.dimensions, c->dimensions);
		assert_str(rq.user, c->user);
		assert_int_equal(json_object_size(rq.extra), c->n_extra);
		assert_true(rq.input_bytes > 0);
		assert_true(json_is_object(rq.body));
		hr_arena_destroy(a);
	}
	/* the array keeps its order and counts its bytes */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_embed_req rq;
	const char *msg, *param;
	const char *b = J(a, "{'model':'e','input':['a','bc','def']}");
	assert_int_equal(hr_embed_parse(a, b, strlen(b), 16, 64, &rq, &msg, &param), 0);
	assert_str(rq.inputs[1], "bc");
	assert_str(rq.inputs[2], "def");
	assert_int_equal(rq.input_bytes, 6);
	assert_null(rq.extra);
	hr_arena_destroy(a);
}

static void test_embed_rejects(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
	    {"invalid JSON", "{'model'", HR_EBADJSON, NULL, "not valid JSON"},
	    {"not an object", "'x'", HR_EBADJSON, NULL, "not valid JSON"},
	    {"array body", "[1]", HR_EINVAL, NULL, "JSON object"},
	    {"missing model", "{'input':'x'}", HR_EINVAL, "model", "model is required"},
	    {"missing input", "{'model':'e'}", HR_EINVAL, "input", "input is required"},
	    {"empty array", "{'model':'e','input':[]}", HR_EINVAL, "input", "input is required"},
	    {"null input", "{'model':'e','input':null}", HR_EINVAL, "input", "input is required"},
	    {"number input", "{'model':'e','input':5}", HR_EINVAL, "input", "input is required"},
	    {"object in array", "{'model':'e','input':['a',{}]}", HR_EINVAL, "input", "token ids"},
	    {"float token", "{'model':'e','input':[[1,2.5]]}", HR_EINVAL, "input", "token ids"},
	    {"too many", "{'model':'e','input':['1','2','3','4','5']}", HR_ETOOMANY, "input",
	     "limit of 4"},
	    {"bad encoding", "{'model':'e','input':'x','encoding_format':'int8'}", HR_EINVAL,
	     "encoding_format", "\"float\" or \"base64\""},
	    {"dimensions zero", "{'model':'e','input':'x','dimensions':0}", HR_EINVAL, "dimensions",
	     "positive integer"},
	    {"dimensions string", "{'model':'e','input':'x','dimensions':'8'}", HR_EINVAL,
	     "dimensions", "positive integer"},
	    {"user number", "{'model':'e','input':'x','user':1}", HR_EINVAL, "user", "string"},
	};
	for (size_t i = 0; i < N_(cases); i++) {
		const struct bad_case *c = &cases[i];
		struct hr_arena *a = hr_arena_create(0);
		struct hr_embed_req rq;
		const char *msg = NULL, *param = NULL;
		const char *b = J(a, c->body);
		int rc = hr_embed_parse(a, b, strlen(b), 4, 64, &rq, &msg, &param);
		if (rc != c->rc)
			fail_msg("case '%s': got %s (%s), want %s", c->name, hr_err_name(rc),
			         msg ? msg : "-", hr_err_name(c->rc));
		if (c->param ? !param || strcmp(param, c->param) != 0 : param != NULL)
			fail_msg("case '%s': param '%s', want '%s'", c->name,
			         param ? param : "(null)", c->param ? c->param : "(null)");
		if (!msg || !strstr(msg, c->msg))
			fail_msg("case '%s': message '%s' lacks '%s'", c->name, msg ? msg : "-",
			         c->msg);
		hr_arena_destroy(a);
	}
}

static void test_embed_render(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	static const char answer_text[] = "[[0.5,-1.25,3.0e-3],[1e10,0,-0.0]]";
	json_t *answer = load(a, answer_text, strlen(answer_text));
	json_t *vecs[2] = {json_array_get(answer, 0), json_array_get(answer, 1)};
	struct hr_embed_resp res = {
	    .vectors = vecs, .n = 2, .usage = {.prompt_tokens = 8, .present = true}};

	struct hr_buf out = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_embed_render(&res, "emb-alias", false, &out), 0);
	json_t *j = load(a, out.ptr, out.len);
	hr_buf_release(&out);
	assert_string_equal(jget_s(j, "object"), "list");
	assert_string_equal(jget_s(j, "model"), "emb-alias");
	json_t *u = json_object_get(j, "usage");
	assert_int_equal(json_integer_value(json_object_get(u, "prompt_tokens")), 8);
	assert_int_equal(json_integer_value(json_object_get(u, "total_tokens")), 8);
	json_t *data = json_object_get(j, "data");
	assert_int_equal(json_array_size(data), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *d = json_array_get(data, i);
		assert_string_equal(jget_s(d, "object"), "embedding");
		assert_int_equal(json_integer_value(json_object_get(d, "index")), (json_int_t)i);
		json_t *e = json_object_get(d, "embedding");
		assert_int_equal(json_array_size(e), 3);
		for (size_t k = 0; k < 3; k++)
			assert_true(json_number_value(json_array_get(e, k)) ==
			            json_number_value(json_array_get(vecs[i], k)));
	}

	hr_buf_init(&out, 1 << 20);
	assert_int_equal(hr_embed_render(&res, "emb-alias", true, &out), 0);
	j = load(a, out.ptr, out.len);
	hr_buf_release(&out);
	data = json_object_get(j, "data");
	for (size_t i = 0; i < 2; i++) {
		const char *b64 = jget_s(json_array_get(data, i), "embedding");
		assert_non_null(b64);
		unsigned char bin[64];
		size_t n = 0;
		assert_int_equal(sodium_base642bin(bin, sizeof bin, b64, strlen(b64), NULL, &n,
		                                   NULL, sodium_base64_VARIANT_ORIGINAL),
		                 0);
		assert_int_equal(n, 12);
		for (size_t k = 0; k < 3; k++) {
			uint32_t w = (uint32_t)bin[4 * k] | (uint32_t)bin[4 * k + 1] << 8 |
			             (uint32_t)bin[4 * k + 2] << 16 |
			             (uint32_t)bin[4 * k + 3] << 24;
			float f;
			memcpy(&f, &w, 4);
			float want = (float)json_number_value(json_array_get(vecs[i], k));
			assert_memory_equal(&f, &want, 4); /* bit for bit, -0.0 included */
		}
	}
	/* 0.5f is 00 00 00 3f little-endian */
	const char *first = jget_s(json_array_get(data, 0), "embedding");
	assert_memory_equal(first, "AAAAP", 5);

	/* an empty vector is an empty string */
	json_t *empty = json_array();
	assert_int_equal(hr_arena_defer(a, decref_cb, empty), 0);
	struct hr_embed_resp er = {.vectors = &empty, .n = 1};
	hr_buf_init(&out, 1 << 20);
	assert_int_equal(hr_embed_render(&er, "m", true, &out), 0);
	j = load(a, out.ptr, out.len);
	hr_buf_release(&out);
	assert_string_equal(jget_s(json_array_get(json_object_get(j, "data"), 0), "embedding"), "");
	hr_arena_destroy(a);
}

/* ---- regressions: bugs found in review, each fixed with its test ---- */
static void test_regress_oa_tool_choice_other_object_types(void **state)
{
	(void)state;
	/* OpenAI accepts {"type": "allowed_tools", ...} and {"type": "custom", ...}; hearth
	 * answers 400 "tool_choice.function.name is required" even on the pass-through path. */
	static const char *const bodies[] = {
	    OA_HEAD "{'role':'user','content':'x'}],'tools':[{'type':'function','function':{"
	            "'name':'f'}}],'tool_choice':{'type':'allowed_tools','mode':'auto','tools':[{"
	            "'type':'function','function':{'name':'f'}}]}}",
	    OA_HEAD "{'role':'user','content':'x'}],'tools':[{'type':'custom','custom':{'name':"
	            "'sh'}}],'tool_choice':{'type':'custom','custom':{'name':'sh'}}}",
	};
	for (size_t i = 0; i < N_(bodies); i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_chat_req rq;
		parse_oa(a, bodies[i], &rq);
		assert_non_null(rq.unmapped);
		hr_arena_destroy(a);
	}
}

static void test_regress_oa_tool_message_drops_non_text_parts(void **state)
{
	(void)state;
	/* the image part vanishes without a trace: neither a part nor unmapped */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'tool','tool_call_id':'c','content':[{'type':'image_url',"
	                 "'image_url':{'url':'https://x/y.png'}},{'type':'text','text':'t'}]}]}",
	         &rq);
	assert_string_equal(rq.unmapped ? rq.unmapped : "(null)", "messages[0].content[0]");
	hr_arena_destroy(a);
}

static void test_regress_oa_json_schema_without_schema(void **state)
{
	(void)state;
	/* json_schema.schema is optional in OpenAI's API; hearth answers 400 */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_oa(a,
	         OA_HEAD "{'role':'user','content':'x'}],'response_format':{'type':'json_schema',"
	                 "'json_schema':{'name':'n'}}}",
	         &rq);
	hr_arena_destroy(a);
}

static void test_regress_an_empty_content_vanishes(void **state)
{
	(void)state;
	/* a message with "content": [] parses into no canonical message at all (n_msgs 0
	 * while n_messages is 1); Anthropic answers 400 for it */
	static const struct bad_case cases[] = {
	    {"empty content", AN_HEAD "'messages':[{'role':'user','content':[]}]}", HR_EINVAL,
	     "messages.0.content", "empty"},
	};
	run_bad(cases, N_(cases), hr_chat_parse_anthropic);
}

static void test_regress_an_tool_result_content_null(void **state)
{
	(void)state;
	/* null means absent everywhere else (opt()); here it is a 400 */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_req rq;
	parse_an(a,
	         AN_HEAD "'messages':[{'role':'user','content':[{'type':'tool_result',"
	                 "'tool_use_id':'t','content':null}]}]}",
	         &rq);
	assert_int_equal(rq.msgs[0].parts[0].text.len, 0);
	hr_arena_destroy(a);
}

static void test_regress_embed_ignores_max_json_depth(void **state)
{
	(void)state;
	/* hr_embed_parse takes max_json_depth and ignores it: a body nested 100 deep in an
	 * unknown field is accepted and forwarded, where the chat parsers answer 400 */
	struct hr_arena *a = hr_arena_create(0);
	char body[512];
	size_t n = (size_t)snprintf(body, sizeof body, "{\"model\":\"e\",\"input\":\"x\",\"z\":");
	for (int i = 0; i < 100; i++)
		body[n++] = '[';
	for (int i = 0; i < 100; i++)
		body[n++] = ']';
	body[n++] = '}';
	struct hr_embed_req rq;
	const char *msg, *param;
	assert_int_equal(hr_embed_parse(a, body, n, 16, 64, &rq, &msg, &param), HR_EINVAL);
	assert_non_null(strstr(msg, "max_json_depth"));
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_oa_messages),
	    cmocka_unit_test(test_oa_assistant_text_and_calls),
	    cmocka_unit_test(test_oa_tools_and_choice),
	    cmocka_unit_test(test_oa_response_format),
	    cmocka_unit_test(test_oa_sampling),
	    cmocka_unit_test(test_oa_extra),
	    cmocka_unit_test(test_oa_unmapped),
	    cmocka_unit_test(test_oa_rejects),
	    cmocka_unit_test(test_an_rejects),
	    cmocka_unit_test(test_an_system_and_basics),
	    cmocka_unit_test(test_an_tool_round_trip),
	    cmocka_unit_test(test_an_many_results_grow_the_list),
	    cmocka_unit_test(test_an_images),
	    cmocka_unit_test(test_an_tools_and_choice),
	    cmocka_unit_test(test_an_sampling_and_extra),
	    cmocka_unit_test(test_an_unmapped),
	    cmocka_unit_test(test_an_limits),
	    cmocka_unit_test(test_resp_openai),
	    cmocka_unit_test(test_resp_anthropic),
	    cmocka_unit_test(test_stream_openai),
	    cmocka_unit_test(test_stream_openai_empty),
	    cmocka_unit_test(test_stream_anthropic),
	    cmocka_unit_test(test_stream_anthropic_stop_sequence),
	    cmocka_unit_test(test_stream_anthropic_interleaved),
	    cmocka_unit_test(test_render_errors),
	    cmocka_unit_test(test_embed_parse),
	    cmocka_unit_test(test_embed_rejects),
	    cmocka_unit_test(test_embed_render),
	    cmocka_unit_test(test_regress_oa_tool_choice_other_object_types),
	    cmocka_unit_test(test_regress_oa_tool_message_drops_non_text_parts),
	    cmocka_unit_test(test_regress_oa_json_schema_without_schema),
	    cmocka_unit_test(test_regress_an_empty_content_vanishes),
	    cmocka_unit_test(test_regress_an_tool_result_content_null),
	    cmocka_unit_test(test_regress_embed_ignores_max_json_depth),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
