/* anthropic_in.c - parses and validates an Anthropic Messages request (POST /v1/messages,
 * outside input) into the canonical request. Checks follow the Messages API: model,
 * max_tokens and messages are required, roles alternate between user and assistant, content
 * is a string or blocks. Fields the canonical model does not hold (thinking, cache_control is
 * the exception: a caching hint, dropped when translated) go to extra / unmapped, so that only
 * an anthropic provider, which receives the client's body unchanged, sees them. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/chat.h"
#include "providers/provider.h"

struct ctx {
	struct hr_arena *a;
	const struct hr_chat_limits *lim;
	struct hr_chat_req *out;
	const char **msg, **param;
};

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

#define PATH(c, ...) hr_arena_printf((c)->a, __VA_ARGS__)

static struct hr_str jstr(const json_t *j)
{
	if (!json_is_string(j))
		return (struct hr_str){"", 0};
	return (struct hr_str){json_string_value(j), json_string_length(j)};
}

static json_t *opt(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	return json_is_null(v) ? NULL : v;
}

static void unmapped(struct ctx *c, const char *path)
{
	if (!c->out->unmapped)
		c->out->unmapped = path ? path : "messages";
}

/* A growable message list (a user turn with tool results becomes several messages). */
struct msgs {
	struct hr_msg *v;
	size_t n, cap;
};

static struct hr_msg *msg_push(struct ctx *c, struct msgs *l, enum hr_role role, size_t nparts)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct hr_msg *v = hr_arena_alloc(c->a, cap * sizeof *v);
		if (!v)
			return NULL;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v, l->cap = cap;
	}
	struct hr_msg *m = &l->v[l->n];
	memset(m, 0, sizeof *m);
	m->role = role;
	m->parts = hr_arena_calloc(c->a, (nparts ? nparts : 1) * sizeof *m->parts);
	if (!m->parts)
		return NULL;
	l->n++;
	return m;
}

static int text_block(struct ctx *c, const json_t *b, const char *path, struct hr_str *out)
{
	json_t *t = json_object_get(b, "text");
	if (!json_is_string(t))
		return fail(c, HR_EINVAL, PATH(c, "%s.text", path),
		            "%s.text is required: send {\"type\": \"text\", \"text\": \"...\"}",
		            path);
	*out = jstr(t);
	c->out->prompt_bytes += out->len;
	return 0;
}

static int image_block(struct ctx *c, const json_t *b, const char *path, struct hr_part *p)
{
	json_t *src = json_object_get(b, "source");
	const char *ty = json_string_value(json_object_get(src, "type"));
	p->type = HR_PART_IMAGE;
	if (ty && strcmp(ty, "base64") == 0) {
		p->media_type = jstr(json_object_get(src, "media_type"));
		p->data = jstr(json_object_get(src, "data"));
		if (p->media_type.len && p->data.len)
			return 0;
	} else if (ty && strcmp(ty, "url") == 0) {
		p->url = jstr(json_object_get(src, "url"));
		if (p->url.len)
			return 0;
	}
	return fail(c, HR_EINVAL, PATH(c, "%s.source", path),
	            "%s.source must be {\"type\": \"base64\", \"media_type\": \"image/png\", "
	            "\"data\": \"...\"} or {\"type\": \"url\", \"url\": \"https://...\"}",
	            path);
}

/* The text of a tool_result's content: a string, or text blocks joined by newlines. */
static int result_text(struct ctx *c, const json_t *content, const char *path, struct hr_str *out)
{
	*out = (struct hr_str){"", 0};
	if (!content || json_is_null(content) || json_is_string(content)) {
		*out = jstr(content);
		return 0;
	}
	if (!json_is_array(content))
		return fail(c, HR_EINVAL, PATH(c, "%s.content", path),
		            "%s.content must be a string or an array of text blocks", path);
	size_t i, total = 0;
	json_t *b;
	json_array_foreach(content, i, b)
	{
		const char *ty = json_string_value(json_object_get(b, "type"));
		if (!ty || strcmp(ty, "text") != 0) {
			unmapped(c, PATH(c, "%s.content[%zu]", path, i));
			continue;
		}
		total += jstr(json_object_get(b, "text")).len + 1;
	}
	char *buf = hr_arena_alloc(c->a, total + 1);
	if (!buf)
		return HR_ENOMEM;
	size_t at = 0;
	json_array_foreach(content, i, b)
	{
		struct hr_str t = jstr(json_object_get(b, "text"));
		if (!t.len)
			continue;
		if (at)
			buf[at++] = '\n';
		memcpy(buf + at, t.ptr, t.len);
		at += t.len;
	}
	*out = (struct hr_str){buf, at};
	return 0;
}

static int map_message(struct ctx *c, const json_t *jm, size_t i, struct msgs *l)
{
	if (!json_is_object(jm))
		return fail(c, HR_EINVAL, PATH(c, "messages.%zu", i),
		            "messages.%zu must be an object such as {\"role\": \"user\", "
		            "\"content\": \"...\"}",
		            i);
	const char *r = json_string_value(json_object_get(jm, "role"));
	bool user = r && strcmp(r, "user") == 0, asst = r && strcmp(r, "assistant") == 0;
	if (!user && !asst)
		return fail(c, HR_EINVAL, PATH(c, "messages.%zu.role", i),
		            "messages.%zu.role must be \"user\" or \"assistant\" (system "
		            "instructions go in the top-level \"system\" field)",
		            i);
	json_t *content = json_object_get(jm, "content");
	if (json_is_string(content)) {
		struct hr_msg *m = msg_push(c, l, user ? HR_ROLE_USER : HR_ROLE_ASSISTANT, 1);
		if (!m)
			return HR_ENOMEM;
		m->parts[0].type = HR_PART_TEXT;
		m->parts[0].text = jstr(content);
		m->n_parts = 1;
		c->out->prompt_bytes += m->parts[0].text.len;
		return 0;
	}
	if (!json_is_array(content))
		return fail(
		    c, HR_EINVAL, PATH(c, "messages.%zu.content", i),
		    "messages.%zu.content is required: send a string or an array of content "
		    "blocks",
		    i);
	size_t n = json_array_size(content), j;
	if (n == 0 && user) /* Anthropic allows only a final assistant turn to be empty */
		return fail(c, HR_EINVAL, PATH(c, "messages.%zu.content", i),
		            "messages.%zu.content must not be empty: send at least one content "
		            "block",
		            i);
	/* Tool results come first in a user turn; each becomes a canonical tool message, and
	 * the turn's other blocks a user message after them. */
	struct hr_msg *m = NULL;
	json_t *b;
	json_array_foreach(content, j, b)
	{
		const char *path = PATH(c, "messages.%zu.content.%zu", i, j);
		if (!path)
			return HR_ENOMEM;
		const char *ty = json_string_value(json_object_get(b, "type"));
		if (!json_is_object(b) || !ty)
			return fail(
			    c, HR_EINVAL, path,
			    "%s must be a content block such as {\"type\": \"text\", \"text\": "
			    "\"...\"}",
			    path);
		if (strcmp(ty, "tool_result") == 0) {
			if (!user)
				return fail(c, HR_EINVAL, path,
				            "%s: tool_result blocks belong in a user message",
				            path);
			struct hr_msg *t = msg_push(c, l, HR_ROLE_TOOL, 1);
			if (!t)
				return HR_ENOMEM;
			struct hr_part *p = &t->parts[0];
			t->n_parts = 1;
			p->type = HR_PART_TOOL_RESULT;
			p->id = jstr(json_object_get(b, "tool_use_id"));
			if (!p->id.len)
				return fail(
				    c, HR_EINVAL, PATH(c, "%s.tool_use_id", path),
				    "%s.tool_use_id is required: the id of the tool_use block "
				    "this answers",
				    path);
			p->is_error = json_is_true(json_object_get(b, "is_error"));
			int rc = result_text(c, json_object_get(b, "content"), path, &p->text);
			if (rc < 0)
				return rc;
			c->out->prompt_bytes += p->text.len;
			m = NULL; /* blocks after a result start a new message */
			continue;
		}
		if (!m && !(m = msg_push(c, l, user ? HR_ROLE_USER : HR_ROLE_ASSISTANT, n)))
			return HR_ENOMEM;
		struct hr_part *p = &m->parts[m->n_parts];
		int rc = 0;
		if (strcmp(ty, "text") == 0) {
			p->type = HR_PART_TEXT;
			rc = text_block(c, b, path, &p->text);
		} else if (strcmp(ty, "image") == 0) {
			rc = image_block(c, b, path, p);
		} else if (strcmp(ty, "tool_use") == 0 && asst) {
			p->type = HR_PART_TOOL_CALL;
			p->id = jstr(json_object_get(b, "id"));
			p->name = jstr(json_object_get(b, "name"));
			json_t *input = json_object_get(b, "input");
			if (!p->id.len || !p->name.len || !json_is_object(input))
				return fail(c, HR_EINVAL, path,
				            "%s: a tool_use block needs \"id\", \"name\" and an "
				            "\"input\" object",
				            path);
			char *args = json_dumps(input, JSON_COMPACT);
			if (!args)
				return HR_ENOMEM;
			p->arguments = (struct hr_str){hr_arena_strdup(c->a, args), strlen(args)};
			free(args);
			if (!p->arguments.ptr)
				return HR_ENOMEM;
			c->out->prompt_bytes += p->arguments.len;
		} else {
			/* document, thinking, server tool blocks...: only Anthropic takes them */
			unmapped(c, path);
			continue;
		}
		if (rc < 0)
			return rc;
		m->n_parts++;
	}
	return 0;
}

static int map_system(struct ctx *c, const json_t *sys, struct msgs *l)
{
	if (!sys)
		return 0;
	struct hr_msg *m;
	if (json_is_string(sys)) {
		if (!(m = msg_push(c, l, HR_ROLE_SYSTEM, 1)))
			return HR_ENOMEM;
		m->parts[0].type = HR_PART_TEXT;
		m->parts[0].text = jstr(sys);
		m->n_parts = 1;
		c->out->prompt_bytes += m->parts[0].text.len;
		return 0;
	}
	if (!json_is_array(sys))
		return fail(c, HR_EINVAL, "system",
		            "system must be a string or an array of text blocks");
	if (!(m = msg_push(c, l, HR_ROLE_SYSTEM, json_array_size(sys))))
		return HR_ENOMEM;
	size_t i;
	json_t *b;
	json_array_foreach(sys, i, b)
	{
		const char *ty = json_string_value(json_object_get(b, "type"));
		const char *path = PATH(c, "system.%zu", i);
		if (!ty || strcmp(ty, "text") != 0)
			return fail(c, HR_EINVAL, path, "%s must be a text block",
			            path ? path : "system");
		m->parts[m->n_parts].type = HR_PART_TEXT;
		int rc = text_block(c, b, path, &m->parts[m->n_parts].text);
		if (rc < 0)
			return rc;
		m->n_parts++;
	}
	return 0;
}

static int map_tools(struct ctx *c, const json_t *root)
{
	struct hr_chat_req *out = c->out;
	json_t *tools = opt(root, "tools");
	if (tools && !json_is_array(tools))
		return fail(
		    c, HR_EINVAL, "tools",
		    "tools must be an array of {\"name\", \"description\", \"input_schema\"}");
	size_t n = json_array_size(tools), i;
	if (n > c->lim->max_tools)
		return fail(c, HR_ETOOMANY, "tools",
		            "tools has %zu items, more than the limit of %zu (limits.max_tools)", n,
		            c->lim->max_tools);
	if (n && !(out->tools = hr_arena_calloc(c->a, n * sizeof *out->tools)))
		return HR_ENOMEM;
	json_t *t;
	json_array_foreach(tools, i, t)
	{
		const char *path = PATH(c, "tools.%zu", i);
		const char *ty = json_string_value(json_object_get(t, "type"));
		if (ty && strcmp(ty, "custom") != 0) { /* server tools: web_search_..., bash_... */
			unmapped(c, path);
			continue;
		}
		struct hr_tool *tl = &out->tools[out->n_tools];
		tl->name = jstr(json_object_get(t, "name"));
		tl->description = jstr(json_object_get(t, "description"));
		tl->parameters = json_object_get(t, "input_schema");
		if (!json_is_object(t) || !tl->name.len || !json_is_object(tl->parameters))
			return fail(
			    c, HR_EINVAL, path,
			    "%s needs \"name\" and an \"input_schema\" object (a JSON Schema)",
			    path ? path : "tools");
		char *dump = json_dumps(t, JSON_COMPACT);
		out->prompt_bytes += dump ? strlen(dump) : 0;
		free(dump);
		out->n_tools++;
	}
	json_t *tc = opt(root, "tool_choice");
	if (!tc)
		return 0;
	const char *ty = json_string_value(json_object_get(tc, "type"));
	if (!ty)
		return fail(
		    c, HR_EINVAL, "tool_choice",
		    "tool_choice must be {\"type\": \"auto\" | \"any\" | \"tool\" | \"none\"}");
	if (strcmp(ty, "auto") == 0)
		out->tool_choice = HR_TC_AUTO;
	else if (strcmp(ty, "any") == 0)
		out->tool_choice = HR_TC_REQUIRED;
	else if (strcmp(ty, "none") == 0)
		out->tool_choice = HR_TC_NONE;
	else if (strcmp(ty, "tool") == 0) {
		out->tool_choice = HR_TC_NAMED;
		out->tool_choice_name = jstr(json_object_get(tc, "name"));
		if (!out->tool_choice_name.len)
			return fail(c, HR_EINVAL, "tool_choice.name",
			            "tool_choice.name is required with type \"tool\"");
	} else
		return fail(c, HR_EINVAL, "tool_choice.type",
		            "tool_choice.type must be auto, any, tool or none");
	json_t *dp = json_object_get(tc, "disable_parallel_tool_use");
	if (json_is_boolean(dp))
		out->parallel_tool_calls = !json_is_true(dp);
	return 0;
}

static const char *const known_fields[] = {
    "model",       "messages", "system", "max_tokens", "stop_sequences", "stream",
    "temperature", "top_p",    "top_k",  "tools",      "tool_choice",    "metadata",
};

static int number(struct ctx *c, const json_t *root, const char *key, double lo, double hi,
                  bool *has, double *v)
{
	json_t *j = opt(root, key);
	if (!j)
		return 0;
	if (!json_is_number(j) || json_number_value(j) < lo || json_number_value(j) > hi)
		return fail(c, HR_EINVAL, key, "%s must be a number from %g to %g", key, lo, hi);
	*has = true;
	*v = json_number_value(j);
	return 0;
}

static int map_request(struct ctx *c, json_t *root)
{
	struct hr_chat_req *out = c->out;
	json_t *model = json_object_get(root, "model");
	if (!json_is_string(model) || json_string_length(model) == 0)
		return fail(c, HR_EINVAL, "model",
		            "model: Field required (send \"model\": \"<name>\"; GET /v1/models "
		            "lists the names)");
	out->model = json_string_value(model);
	json_t *mt = json_object_get(root, "max_tokens");
	if (!json_is_integer(mt) || json_integer_value(mt) < 1)
		return fail(c, HR_EINVAL, "max_tokens",
		            "max_tokens: Field required (a positive integer: the most tokens the "
		            "answer may have)");
	out->max_tokens =
	    json_integer_value(mt) > 0x7fffffff ? 0x7fffffff : (long)json_integer_value(mt);
	json_t *stream = opt(root, "stream");
	if (stream && !json_is_boolean(stream))
		return fail(c, HR_EINVAL, "stream", "stream must be true or false");
	out->stream = json_is_true(stream);

	json_t *msgs = json_object_get(root, "messages");
	if (!json_is_array(msgs) || json_array_size(msgs) == 0)
		return fail(c, HR_EINVAL, "messages",
		            "messages: Field required (a non-empty array of {\"role\": \"user\", "
		            "\"content\": \"...\"})");
	size_t n = json_array_size(msgs);
	if (n > c->lim->max_messages)
		return fail(c, HR_ETOOMANY, "messages",
		            "messages has %zu items, more than the limit of %zu "
		            "(limits.max_messages): shorten the conversation",
		            n, c->lim->max_messages);
	struct msgs l = {0};
	int rc = map_system(c, opt(root, "system"), &l);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n; i++)
		if ((rc = map_message(c, json_array_get(msgs, i), i, &l)) < 0)
			return rc;
	out->msgs = l.v, out->n_msgs = l.n, out->n_messages = n;

	if ((rc = map_tools(c, root)) < 0)
		return rc;
	if ((rc = number(c, root, "temperature", 0, 1, &out->has_temperature, &out->temperature)) <
	        0 ||
	    (rc = number(c, root, "top_p", 0, 1, &out->has_top_p, &out->top_p)) < 0)
		return rc;
	json_t *tk = opt(root, "top_k");
	if (tk && (!json_is_integer(tk) || json_integer_value(tk) < 0))
		return fail(c, HR_EINVAL, "top_k", "top_k must be a non-negative integer");
	if (tk)
		out->top_k =
		    json_integer_value(tk) > 0x7fffffff ? 0x7fffffff : (long)json_integer_value(tk);
	json_t *stop = opt(root, "stop_sequences");
	if (stop) {
		if (!json_is_array(stop) || json_array_size(stop) > HR_CHAT_MAX_STOP)
			return fail(c, HR_EINVAL, "stop_sequences",
			            "stop_sequences must be an array of at most %d strings",
			            HR_CHAT_MAX_STOP);
		size_t i;
		json_t *s;
		json_array_foreach(stop, i, s)
		{
			if (!json_is_string(s))
				return fail(c, HR_EINVAL, "stop_sequences",
				            "stop_sequences must be an array of strings");
			out->stop[out->n_stop++] = jstr(s);
		}
	}
	json_t *md = opt(root, "metadata");
	if (md && !json_is_object(md))
		return fail(c, HR_EINVAL, "metadata", "metadata must be an object");
	const char *k;
	json_t *v;
	json_object_foreach(md, k, v)
	{
		if (strcmp(k, "user_id") == 0 && json_is_string(v))
			out->user = jstr(v);
		else if (!json_is_null(v))
			unmapped(c, "metadata");
	}
	return hr_codec_collect_extra(c->a, root, known_fields,
	                              sizeof known_fields / sizeof known_fields[0], &out->extra);
}

int hr_chat_parse_anthropic(struct hr_arena *a, const char *body, size_t len,
                            const struct hr_chat_limits *lim, struct hr_chat_req *out,
                            const char **msg, const char **param)
{
	struct ctx c = {a, lim, out, msg, param};
	memset(out, 0, sizeof *out);
	out->dialect = HR_DIALECT_ANTHROPIC;
	out->max_tokens = -1;
	out->top_k = -1;
	out->parallel_tool_calls = -1;
	*msg = NULL;
	*param = NULL;
	json_t *root;
	int lrc = hr_codec_load_request(
	    a, body, len, lim->max_json_depth,
	    "{\"model\": ..., \"max_tokens\": 1024, \"messages\": [...]}", &root, msg);
	if (lrc < 0)
		return lrc;
	int rc = map_request(&c, root);
	if (rc == HR_ENOMEM)
		return fail(&c, rc, NULL, "%s", hr_err_msg(rc));
	if (rc < 0)
		return rc;
	out->body = root;
	return 0;
}
