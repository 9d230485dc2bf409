/* chat.c - parses and validates an OpenAI chat-completions request body (outside input).
 * Known fields are checked as OpenAI checks them; unknown fields pass through untouched. */
#include "providers/chat.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

struct ctx {
	struct hr_arena *a;
	const struct hr_chat_limits *lim;
	const char **msg, **param;
};

/* Records the error: param is a printf'd path (or NULL), the message a printf'd sentence.
 * Falls back to the table's message when the arena is full. Returns rc. */
static int fail(struct ctx *c, int rc, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct ctx *c, int rc, const char *param, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*c->msg = hr_codec_msgv(c->a, rc, fmt, ap);
	va_end(ap);
	*c->param = param;
	return rc;
}

/* Paths like "messages[3].content[1].type"; NULL on OOM (fail() then reports no param). */
#define PATH(c, ...) hr_arena_printf((c)->a, __VA_ARGS__)

static const char *const roles[] = {"system", "developer", "user", "assistant", "tool", "function"};

static bool is_one_of(const char *s, const char *const *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, set[i]) == 0)
			return true;
	return false;
}

#define ARRAY_LEN(x) (sizeof(x) / sizeof((x)[0]))

/* Optional field that, when present and not null, must be present as the given kind. */
static json_t *opt(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_null(v) ? NULL : v;
}

static size_t serialized_size(const json_t *j)
{
	return json_dumpb(j, NULL, 0, JSON_COMPACT);
}

static int check_content(struct ctx *c, const json_t *m, size_t i, const char *role, size_t *bytes)
{
	json_t *content = json_object_get(m, "content");
	if (!content) {
		if (strcmp(role, "assistant") == 0)
			return 0;
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].content", i),
		            "messages[%zu].content is required for role '%s': send a string or an "
		            "array of content parts",
		            i, role);
	}
	if (json_is_null(content))
		return 0;
	if (json_is_string(content)) {
		*bytes += json_string_length(content);
		return 0;
	}
	if (!json_is_array(content))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].content", i),
		            "messages[%zu].content must be a string, an array of content parts "
		            "or null",
		            i);
	size_t j;
	json_t *part;
	json_array_foreach(content, j, part)
	{
		if (!json_is_object(part))
			return fail(c, HR_EINVAL, PATH(c, "messages[%zu].content[%zu]", i, j),
			            "messages[%zu].content[%zu] must be an object such as "
			            "{\"type\": \"text\", \"text\": \"...\"}",
			            i, j);
		json_t *type = json_object_get(part, "type");
		if (!json_is_string(type))
			return fail(c, HR_EINVAL, PATH(c, "messages[%zu].content[%zu].type", i, j),
			            "messages[%zu].content[%zu].type is required: send a string "
			            "such as \"text\" or \"image_url\"",
			            i, j);
		json_t *text = json_object_get(part, "text");
		if (strcmp(json_string_value(type), "text") == 0 && json_is_string(text))
			*bytes += json_string_length(text);
	}
	return 0;
}

static int check_message(struct ctx *c, const json_t *m, size_t i, size_t *bytes)
{
	if (!json_is_object(m))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu]", i),
		            "messages[%zu] must be an object such as {\"role\": \"user\", "
		            "\"content\": \"...\"}",
		            i);
	json_t *role = json_object_get(m, "role");
	if (!json_is_string(role))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].role", i),
		            "messages[%zu].role is required: send one of system, developer, user, "
		            "assistant, tool",
		            i);
	const char *r = json_string_value(role);
	if (!is_one_of(r, roles, ARRAY_LEN(roles)))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].role", i),
		            "messages[%zu].role is not a known role: send one of system, "
		            "developer, user, assistant, tool",
		            i);
	int rc = check_content(c, m, i, r, bytes);
	if (rc < 0)
		return rc;

	json_t *name = opt(m, "name");
	if (name && !json_is_string(name))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].name", i),
		            "messages[%zu].name must be a string", i);
	if (strcmp(r, "tool") == 0 && !json_is_string(json_object_get(m, "tool_call_id")))
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].tool_call_id", i),
		            "messages[%zu].tool_call_id is required for role 'tool': send the id "
		            "of the assistant's tool call this message answers",
		            i);
	if (strcmp(r, "function") == 0 && !name)
		return fail(c, HR_EINVAL, PATH(c, "messages[%zu].name", i),
		            "messages[%zu].name is required for role 'function': send the "
		            "function's name (or use role 'tool' with tool_call_id)",
		            i);
	if (strcmp(r, "assistant") == 0) {
		json_t *calls = opt(m, "tool_calls");
		if (calls && !json_is_array(calls))
			return fail(c, HR_EINVAL, PATH(c, "messages[%zu].tool_calls", i),
			            "messages[%zu].tool_calls must be an array of tool calls", i);
		size_t j;
		json_t *call;
		json_array_foreach(calls, j, call)
		{
			json_t *args =
			    json_object_get(json_object_get(call, "function"), "arguments");
			if (json_is_string(args))
				*bytes += json_string_length(args);
		}
		json_t *args = json_object_get(json_object_get(m, "function_call"), "arguments");
		if (json_is_string(args))
			*bytes += json_string_length(args);
	}
	return 0;
}

static int check_messages(struct ctx *c, const json_t *root, struct hr_chat_req *out)
{
	json_t *msgs = json_object_get(root, "messages");
	if (!msgs)
		return fail(c, HR_EINVAL, "messages",
		            "messages is required: send \"messages\": [{\"role\": \"user\", "
		            "\"content\": \"...\"}]");
	if (!json_is_array(msgs))
		return fail(c, HR_EINVAL, "messages",
		            "messages must be an array of message objects such as {\"role\": "
		            "\"user\", \"content\": \"...\"}");
	size_t n = json_array_size(msgs);
	if (n == 0)
		return fail(c, HR_EINVAL, "messages",
		            "messages must not be empty: send at least one message");
	if (n > c->lim->max_messages)
		return fail(c, HR_ETOOMANY, "messages",
		            "messages has %zu items, more than the limit of %zu "
		            "(limits.max_messages): shorten the conversation",
		            n, c->lim->max_messages);
	for (size_t i = 0; i < n; i++) {
		int rc = check_message(c, json_array_get(msgs, i), i, &out->prompt_bytes);
		if (rc < 0)
			return rc;
	}
	out->n_messages = n;
	return 0;
}

static int check_tools(struct ctx *c, const json_t *root, struct hr_chat_req *out)
{
	json_t *tools = opt(root, "tools");
	if (!tools)
		return 0;
	if (!json_is_array(tools))
		return fail(c, HR_EINVAL, "tools",
		            "tools must be an array of {\"type\": \"function\", \"function\": "
		            "{\"name\": ...}} objects");
	size_t n = json_array_size(tools);
	if (n > c->lim->max_tools)
		return fail(c, HR_ETOOMANY, "tools",
		            "tools has %zu items, more than the limit of %zu (limits.max_tools): "
		            "send fewer tools",
		            n, c->lim->max_tools);
	size_t i;
	json_t *t;
	json_array_foreach(tools, i, t)
	{
		if (!json_is_object(t))
			return fail(c, HR_EINVAL, PATH(c, "tools[%zu]", i),
			            "tools[%zu] must be an object such as {\"type\": \"function\", "
			            "\"function\": {\"name\": ...}}",
			            i);
		json_t *type = json_object_get(t, "type");
		const char *ty = json_string_value(type);
		/* "custom" tools (free-form input) are OpenAI's too; check their name alike */
		if (!ty || (strcmp(ty, "function") != 0 && strcmp(ty, "custom") != 0))
			return fail(c, HR_EINVAL, PATH(c, "tools[%zu].type", i),
			            "tools[%zu].type must be \"function\"", i);
		json_t *fn = json_object_get(t, ty);
		if (!json_is_object(fn))
			return fail(c, HR_EINVAL, PATH(c, "tools[%zu].%s", i, ty),
			            "tools[%zu].%s is required: send an object with \"name\"", i,
			            ty);
		json_t *name = json_object_get(fn, "name");
		if (!json_is_string(name) || json_string_length(name) == 0)
			return fail(c, HR_EINVAL, PATH(c, "tools[%zu].%s.name", i, ty),
			            "tools[%zu].%s.name is required: send a non-empty string", i,
			            ty);
		json_t *params = opt(fn, "parameters");
		if (params && !json_is_object(params))
			return fail(c, HR_EINVAL, PATH(c, "tools[%zu].%s.parameters", i, ty),
			            "tools[%zu].%s.parameters must be a JSON Schema object", i, ty);
		out->prompt_bytes += serialized_size(t);
	}
	return 0;
}

static int check_tool_choice(struct ctx *c, const json_t *root)
{
	static const char *const modes[] = {"none", "auto", "required"};
	json_t *tc = opt(root, "tool_choice");
	if (!tc)
		return 0;
	if (json_is_string(tc) && is_one_of(json_string_value(tc), modes, ARRAY_LEN(modes)))
		return 0;
	if (json_is_object(tc) && json_is_string(json_object_get(tc, "type")))
		return 0;
	return fail(c, HR_EINVAL, "tool_choice",
	            "tool_choice must be \"none\", \"auto\", \"required\" or an object such as "
	            "{\"type\": \"function\", \"function\": {\"name\": ...}}");
}

static int check_response_format(struct ctx *c, const json_t *root)
{
	static const char *const types[] = {"text", "json_object", "json_schema"};
	json_t *rf = opt(root, "response_format");
	if (!rf)
		return 0;
	if (!json_is_object(rf))
		return fail(c, HR_EINVAL, "response_format",
		            "response_format must be an object such as {\"type\": "
		            "\"json_object\"}");
	const char *ty = json_string_value(json_object_get(rf, "type"));
	if (!ty || !is_one_of(ty, types, ARRAY_LEN(types)))
		return fail(c, HR_EINVAL, "response_format.type",
		            "response_format.type must be one of text, json_object, json_schema");
	if (strcmp(ty, "json_schema") == 0 && !json_is_object(json_object_get(rf, "json_schema")))
		return fail(c, HR_EINVAL, "response_format.json_schema",
		            "response_format.json_schema is required with type json_schema: send "
		            "{\"name\": ..., \"schema\": {...}}");
	return 0;
}

static int check_number(struct ctx *c, const json_t *root, const char *key, double lo, double hi)
{
	json_t *v = opt(root, key);
	if (!v)
		return 0;
	double d = json_number_value(v);
	if (!json_is_number(v) || d < lo || d > hi)
		return fail(c, HR_EINVAL, key, "%s must be a number from %g to %g", key, lo, hi);
	return 0;
}

static int check_positive(struct ctx *c, const json_t *root, const char *key, long *out)
{
	json_t *v = opt(root, key);
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < 1)
		return fail(c, HR_EINVAL, key, "%s must be a positive integer", key);
	json_int_t x = json_integer_value(v);
	*out = x > LONG_MAX ? LONG_MAX : (long)x;
	return 0;
}

static int check_stop(struct ctx *c, const json_t *root)
{
	json_t *stop = opt(root, "stop");
	if (!stop || json_is_string(stop))
		return 0;
	if (json_is_array(stop) && json_array_size(stop) <= 4) {
		size_t i;
		json_t *s;
		json_array_foreach(stop, i, s)
		{
			if (!json_is_string(s))
				goto bad;
		}
		return 0;
	}
bad:
	return fail(c, HR_EINVAL, "stop", "stop must be a string or an array of at most 4 strings");
}

static int check_stream(struct ctx *c, const json_t *root, struct hr_chat_req *out)
{
	json_t *stream = opt(root, "stream");
	if (stream && !json_is_boolean(stream))
		return fail(c, HR_EINVAL, "stream", "stream must be true or false");
	out->stream = json_is_true(stream);

	json_t *so = opt(root, "stream_options");
	if (!so)
		return 0;
	if (!out->stream)
		return fail(c, HR_EINVAL, "stream_options",
		            "stream_options is only allowed when \"stream\": true; remove it or "
		            "set stream");
	if (!json_is_object(so))
		return fail(c, HR_EINVAL, "stream_options",
		            "stream_options must be an object such as {\"include_usage\": true}");
	json_t *iu = opt(so, "include_usage");
	if (iu && !json_is_boolean(iu))
		return fail(c, HR_EINVAL, "stream_options.include_usage",
		            "stream_options.include_usage must be true or false");
	out->include_usage = json_is_true(iu);
	return 0;
}

static int check_fields(struct ctx *c, const json_t *root, struct hr_chat_req *out)
{
	json_t *model = json_object_get(root, "model");
	if (!json_is_string(model) || json_string_length(model) == 0)
		return fail(c, HR_EINVAL, "model",
		            "model is required: send \"model\": \"<name>\" (GET /v1/models lists "
		            "the names)");
	out->model = json_string_value(model);

	int rc;
	if ((rc = check_messages(c, root, out)) < 0 || (rc = check_stream(c, root, out)) < 0)
		return rc;

	json_t *n = opt(root, "n");
	if (n && !json_is_integer(n))
		return fail(c, HR_EINVAL, "n", "n must be an integer; hearth supports n=1 only");
	if (n && json_integer_value(n) != 1)
		return fail(c, HR_EUNSUPPORTED, "n",
		            "hearth supports n=1 only; send one request per completion");

	long mt = -1, mct = -1;
	if ((rc = check_positive(c, root, "max_tokens", &mt)) < 0 ||
	    (rc = check_positive(c, root, "max_completion_tokens", &mct)) < 0)
		return rc;
	out->max_tokens = mct > 0 ? mct : mt;

	if ((rc = check_number(c, root, "temperature", 0, 2)) < 0 ||
	    (rc = check_number(c, root, "top_p", 0, 1)) < 0 || (rc = check_stop(c, root)) < 0)
		return rc;

	json_t *seed = opt(root, "seed");
	if (seed && !json_is_integer(seed))
		return fail(c, HR_EINVAL, "seed", "seed must be an integer");
	json_t *user = opt(root, "user");
	if (user && !json_is_string(user))
		return fail(c, HR_EINVAL, "user", "user must be a string");

	if ((rc = check_tools(c, root, out)) < 0 || (rc = check_tool_choice(c, root)) < 0 ||
	    (rc = check_response_format(c, root)) < 0)
		return rc;
	return 0;
}

static int map_canonical(struct ctx *c, json_t *root, struct hr_chat_req *out);

int hr_chat_parse(struct hr_arena *a, const char *body, size_t len,
                  const struct hr_chat_limits *lim, struct hr_chat_req *out, const char **msg,
                  const char **param)
{
	struct ctx c = {a, lim, msg, param};
	memset(out, 0, sizeof *out);
	out->max_tokens = -1;
	*msg = NULL;
	*param = NULL;

	json_t *root;
	int lrc = hr_codec_load_request(a, body, len, lim->max_json_depth,
	                                "{\"model\": ..., \"messages\": [...]}", &root, msg);
	if (lrc < 0)
		return lrc;
	int rc = check_fields(&c, root, out);
	if (rc < 0)
		return rc;
	if ((rc = map_canonical(&c, root, out)) < 0)
		return rc == HR_ENOMEM ? fail(&c, rc, NULL, "%s", hr_err_msg(rc)) : rc;
	out->body = root;
	out->raw = (struct hr_str){body, len};
	return 0;
}

/* ---- the canonical request from a validated OpenAI body ----
 * check_fields() has validated types; this pass only maps. What the canonical model cannot
 * hold goes to out->extra (top-level fields) or out->unmapped (the first nested one), so
 * that a provider of another format refuses the request instead of losing it. */

static const char *const known_fields[] = {
    "model",
    "messages",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "temperature",
    "top_p",
    "max_tokens",
    "max_completion_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "user",
    "n",
};

static void unmapped(struct ctx *c, struct hr_chat_req *out, const char *path)
{
	(void)c;
	if (!out->unmapped)
		out->unmapped = path ? path : "messages";
}

static struct hr_str jstr(const json_t *j)
{
	if (!json_is_string(j))
		return (struct hr_str){"", 0};
	return (struct hr_str){json_string_value(j), json_string_length(j)};
}

/* "data:image/png;base64,AAAA" -> media type and data; false when url is not such a URL. */
static bool data_url(struct hr_str url, struct hr_str *mt, struct hr_str *data)
{
	if (!hr_str_starts(url, "data:"))
		return false;
	const char *p = url.ptr + 5, *end = url.ptr + url.len;
	const char *comma = memchr(p, ',', (size_t)(end - p));
	if (!comma)
		return false;
	static const char b64[] = ";base64";
	size_t hl = (size_t)(comma - p);
	if (hl < sizeof b64 - 1 || memcmp(comma - (sizeof b64 - 1), b64, sizeof b64 - 1) != 0)
		return false;
	*mt = (struct hr_str){p, hl - (sizeof b64 - 1)};
	*data = (struct hr_str){comma + 1, (size_t)(end - comma - 1)};
	return mt->len > 0;
}

static int map_parts(struct ctx *c, struct hr_chat_req *out, const json_t *content, size_t i,
                     struct hr_msg *m)
{
	if (json_is_string(content)) {
		m->parts = hr_arena_calloc(c->a, sizeof *m->parts);
		if (!m->parts)
			return HR_ENOMEM;
		m->parts[0].type = HR_PART_TEXT;
		m->parts[0].text = jstr(content);
		m->n_parts = 1;
		return 0;
	}
	if (!json_is_array(content))
		return 0; /* null or absent */
	size_t n = json_array_size(content), j;
	m->parts = hr_arena_calloc(c->a, (n ? n : 1) * sizeof *m->parts);
	if (!m->parts)
		return HR_ENOMEM;
	json_t *part;
	json_array_foreach(content, j, part)
	{
		const char *ty = json_string_value(json_object_get(part, "type"));
		struct hr_part *p = &m->parts[m->n_parts];
		if (strcmp(ty, "text") == 0 && json_is_string(json_object_get(part, "text"))) {
			p->type = HR_PART_TEXT;
			p->text = jstr(json_object_get(part, "text"));
			m->n_parts++;
		} else if (strcmp(ty, "image_url") == 0) {
			json_t *iu = json_object_get(part, "image_url");
			json_t *url = json_is_string(iu) ? iu : json_object_get(iu, "url");
			if (!json_is_string(url))
				return fail(
				    c, HR_EINVAL,
				    PATH(c, "messages[%zu].content[%zu].image_url.url", i, j),
				    "messages[%zu].content[%zu].image_url.url is required: send "
				    "an https URL or a data: URL with base64 data",
				    i, j);
			p->type = HR_PART_IMAGE;
			struct hr_str u = jstr(url);
			if (!data_url(u, &p->media_type, &p->data)) {
				if (!hr_str_starts(u, "http://") && !hr_str_starts(u, "https://"))
					return fail(c, HR_EINVAL,
					            PATH(c,
					                 "messages[%zu].content[%zu].image_url.url",
					                 i, j),
					            "messages[%zu].content[%zu].image_url.url must "
					            "be an http(s) "
					            "URL or a data:<type>;base64,<data> URL",
					            i, j);
				p->url = u;
			}
			p->detail = jstr(json_object_get(iu, "detail"));
			m->n_parts++;
		} else if (strcmp(ty, "refusal") == 0 && m->role == HR_ROLE_ASSISTANT) {
			p->type = HR_PART_TEXT;
			p->text = jstr(json_object_get(part, "refusal"));
			m->n_parts++;
		} else {
			unmapped(c, out, PATH(c, "messages[%zu].content[%zu]", i, j));
		}
	}
	return 0;
}

/* The text of a tool message's content (a string, or text parts joined); other parts are
 * unmapped. */
static struct hr_str tool_text(struct ctx *c, struct hr_chat_req *out, const json_t *content,
                               size_t i)
{
	if (json_is_string(content))
		return jstr(content);
	struct hr_str r = {"", 0};
	size_t j, total = 0;
	json_t *part;
	json_array_foreach(content, j, part)
	{
		if (strcmp(json_string_value(json_object_get(part, "type")), "text") != 0)
			unmapped(c, out, PATH(c, "messages[%zu].content[%zu]", i, j));
		total += jstr(json_object_get(part, "text")).len + 1;
	}
	char *buf = total ? hr_arena_alloc(c->a, total) : NULL;
	if (!buf)
		return r;
	size_t at = 0;
	json_array_foreach(content, j, part)
	{
		struct hr_str t = jstr(json_object_get(part, "text"));
		if (at && t.len)
			buf[at++] = '\n';
		memcpy(buf + at, t.ptr, t.len);
		at += t.len;
	}
	return (struct hr_str){buf, at};
}

static int map_message(struct ctx *c, struct hr_chat_req *out, const json_t *jm, size_t i,
                       struct hr_msg *m)
{
	const char *r = json_string_value(json_object_get(jm, "role"));
	json_t *content = json_object_get(jm, "content");
	m->name = jstr(json_object_get(jm, "name"));
	if (strcmp(r, "system") == 0 || strcmp(r, "developer") == 0) {
		m->role = HR_ROLE_SYSTEM;
	} else if (strcmp(r, "user") == 0) {
		m->role = HR_ROLE_USER;
	} else if (strcmp(r, "assistant") == 0) {
		m->role = HR_ROLE_ASSISTANT;
	} else if (strcmp(r, "tool") == 0) {
		m->role = HR_ROLE_TOOL;
		m->parts = hr_arena_calloc(c->a, sizeof *m->parts);
		if (!m->parts)
			return HR_ENOMEM;
		m->parts[0].type = HR_PART_TOOL_RESULT;
		m->parts[0].id = jstr(json_object_get(jm, "tool_call_id"));
		m->parts[0].text = tool_text(c, out, content, i);
		m->n_parts = 1;
		return 0;
	} else { /* "function": the legacy form of tool results */
		m->role = HR_ROLE_TOOL;
		unmapped(c, out, PATH(c, "messages[%zu].role", i));
		return 0;
	}
	int rc = map_parts(c, out, content, i, m);
	if (rc < 0 || m->role != HR_ROLE_ASSISTANT)
		return rc;
	if (opt(jm, "function_call"))
		unmapped(c, out, PATH(c, "messages[%zu].function_call", i));
	json_t *calls = opt(jm, "tool_calls");
	size_t n = json_array_size(calls);
	if (!n)
		return 0;
	struct hr_part *parts = hr_arena_calloc(c->a, (m->n_parts + n) * sizeof *parts);
	if (!parts)
		return HR_ENOMEM;
	if (m->n_parts)
		memcpy(parts, m->parts, m->n_parts * sizeof *parts);
	m->parts = parts;
	size_t j;
	json_t *call;
	json_array_foreach(calls, j, call)
	{
		json_t *fn = json_object_get(call, "function");
		json_t *name = json_object_get(fn, "name"),
		       *args = json_object_get(fn, "arguments");
		if (!json_is_object(call) || !json_is_string(name))
			return fail(c, HR_EINVAL, PATH(c, "messages[%zu].tool_calls[%zu]", i, j),
			            "messages[%zu].tool_calls[%zu] must be {\"id\": ..., \"type\": "
			            "\"function\", \"function\": {\"name\": ..., \"arguments\": "
			            "\"{...}\"}}",
			            i, j);
		struct hr_part *p = &m->parts[m->n_parts++];
		p->type = HR_PART_TOOL_CALL;
		p->id = jstr(json_object_get(call, "id"));
		p->name = jstr(name);
		p->arguments = json_is_string(args) ? jstr(args) : (struct hr_str){"{}", 2};
	}
	return 0;
}

static int map_tools(struct ctx *c, struct hr_chat_req *out, const json_t *root)
{
	json_t *tools = opt(root, "tools");
	size_t n = json_array_size(tools), i;
	if (!n)
		return 0;
	out->tools = hr_arena_calloc(c->a, n * sizeof *out->tools);
	if (!out->tools)
		return HR_ENOMEM;
	json_t *t;
	json_array_foreach(tools, i, t)
	{
		const char *ty = json_string_value(json_object_get(t, "type"));
		if (strcmp(ty, "function") != 0) {
			unmapped(c, out, PATH(c, "tools[%zu].type", i));
			continue;
		}
		json_t *fn = json_object_get(t, "function");
		struct hr_tool *tl = &out->tools[out->n_tools++];
		tl->name = jstr(json_object_get(fn, "name"));
		tl->description = jstr(json_object_get(fn, "description"));
		tl->parameters = opt(fn, "parameters");
		tl->strict = json_is_true(json_object_get(fn, "strict"));
	}
	json_t *tc = opt(root, "tool_choice");
	if (json_is_string(tc)) {
		const char *v = json_string_value(tc);
		out->tool_choice = strcmp(v, "none") == 0       ? HR_TC_NONE
		                   : strcmp(v, "required") == 0 ? HR_TC_REQUIRED
		                                                : HR_TC_AUTO;
	} else if (json_is_object(tc)) {
		if (strcmp(json_string_value(json_object_get(tc, "type")), "function") != 0) {
			/* allowed_tools, custom...: only an openai provider takes them */
			unmapped(c, out, "tool_choice");
			return 0;
		}
		struct hr_str name = jstr(json_object_get(json_object_get(tc, "function"), "name"));
		if (!name.len)
			return fail(c, HR_EINVAL, "tool_choice.function.name",
			            "tool_choice.function.name is required: send {\"type\": "
			            "\"function\", \"function\": {\"name\": \"<tool>\"}}");
		out->tool_choice = HR_TC_NAMED;
		out->tool_choice_name = name;
	}
	return 0;
}

static int map_canonical(struct ctx *c, json_t *root, struct hr_chat_req *out)
{
	out->dialect = HR_DIALECT_OPENAI;
	out->top_k = -1;
	out->parallel_tool_calls = -1;
	json_t *msgs = json_object_get(root, "messages");
	size_t n = json_array_size(msgs);
	out->msgs = hr_arena_calloc(c->a, n * sizeof *out->msgs);
	if (!out->msgs)
		return HR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = map_message(c, out, json_array_get(msgs, i), i, &out->msgs[i]);
		if (rc < 0)
			return rc;
	}
	out->n_msgs = n;
	int rc = map_tools(c, out, root);
	if (rc < 0)
		return rc;

	json_t *ptc = opt(root, "parallel_tool_calls");
	if (ptc && !json_is_boolean(ptc))
		return fail(c, HR_EINVAL, "parallel_tool_calls",
		            "parallel_tool_calls must be true or false");
	if (ptc)
		out->parallel_tool_calls = json_is_true(ptc);

	json_t *rf = opt(root, "response_format");
	if (rf) {
		const char *ty = json_string_value(json_object_get(rf, "type"));
		if (strcmp(ty, "text") == 0) {
			out->format = HR_FMT_TEXT;
		} else if (strcmp(ty, "json_object") == 0) {
			out->format = HR_FMT_JSON_OBJECT;
		} else {
			json_t *js = json_object_get(rf, "json_schema");
			out->format = HR_FMT_JSON_SCHEMA;
			out->schema_name = jstr(json_object_get(js, "name"));
			out->schema = json_object_get(js, "schema");
			out->schema_strict = json_is_true(json_object_get(js, "strict"));
			if (!opt(js, "schema")) /* optional in OpenAI's API: any JSON object */
				out->format = HR_FMT_JSON_OBJECT, out->schema = NULL;
			else if (!json_is_object(out->schema))
				return fail(
				    c, HR_EINVAL, "response_format.json_schema.schema",
				    "response_format.json_schema.schema is required: send a JSON "
				    "Schema object");
		}
	}
	json_t *v;
	if ((v = opt(root, "temperature")))
		out->has_temperature = true, out->temperature = json_number_value(v);
	if ((v = opt(root, "top_p")))
		out->has_top_p = true, out->top_p = json_number_value(v);
	if ((v = opt(root, "seed")))
		out->has_seed = true, out->seed = json_integer_value(v);
	if ((rc = check_number(c, root, "presence_penalty", -2, 2)) < 0 ||
	    (rc = check_number(c, root, "frequency_penalty", -2, 2)) < 0)
		return rc;
	if ((v = opt(root, "presence_penalty")))
		out->has_presence_penalty = true, out->presence_penalty = json_number_value(v);
	if ((v = opt(root, "frequency_penalty")))
		out->has_frequency_penalty = true, out->frequency_penalty = json_number_value(v);
	out->user = jstr(opt(root, "user"));
	json_t *stop = opt(root, "stop");
	if (json_is_string(stop)) {
		out->stop[out->n_stop++] = jstr(stop);
	} else if (json_is_array(stop)) {
		size_t i;
		json_array_foreach(stop, i, v) out->stop[out->n_stop++] = jstr(v);
	}

	return hr_codec_collect_extra(c->a, root, known_fields, ARRAY_LEN(known_fields),
	                              &out->extra);
}
