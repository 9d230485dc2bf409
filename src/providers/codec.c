/* codec.c - helpers every provider codec and dialect shares: JSON in and out of the arena,
 * slices of JSON strings, the refusal of fields a target cannot represent, and the small
 * canonical-model utilities declared in chat.h. */
#include <stdio.h>
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "providers/provider.h"

static void decref_cb(void *j)
{
	json_decref(j);
}

struct dump_ctx {
	struct hr_buf *b;
	int rc;
};

static int dump_cb(const char *p, size_t n, void *arg)
{
	struct dump_ctx *d = arg;
	d->rc = hr_buf_add(d->b, p, n);
	return d->rc < 0 ? -1 : 0;
}

int hr_codec_dump(const json_t *j, struct hr_buf *out)
{
	struct dump_ctx d = {out, 0};
	if (json_dump_callback(j, dump_cb, &d, JSON_COMPACT) < 0)
		return d.rc < 0 ? d.rc : HR_ENOMEM;
	return 0;
}

json_t *hr_codec_load(struct hr_arena *a, const char *body, size_t len, const char *what,
                      const char **msg)
{
	json_error_t e;
	json_t *j = json_loadb(body ? body : "", len, 0, &e);
	if (!j) {
		/* jansson quotes input bytes in its messages: keep only printable ASCII */
		for (char *q = e.text; *q; q++)
			if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
				*q = '?';
		const char *m = hr_arena_printf(a, "%s is not JSON: %s (line %d, column %d)", what,
		                                e.text, e.line, e.column);
		*msg = m ? m : hr_err_msg(HR_EUPSTREAM_BAD);
		return NULL;
	}
	if (hr_arena_defer(a, decref_cb, j) < 0) {
		json_decref(j);
		*msg = hr_err_msg(HR_ENOMEM);
		return NULL;
	}
	return j;
}

struct hr_str hr_codec_str(const json_t *j)
{
	if (!json_is_string(j))
		return (struct hr_str){"", 0};
	return (struct hr_str){json_string_value(j), json_string_length(j)};
}

json_t *hr_codec_jstr(struct hr_str s)
{
	return json_stringn(s.len ? s.ptr : "", s.len);
}

const char *hr_codec_trunc(struct hr_arena *a, const char *s, size_t n, size_t max)
{
	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return hr_arena_strndup(a, s, n);
}

static int refuse_field(struct hr_arena *a, const char *field, const char *kind, const char **msg,
                        const char **param)
{
	const char *m = hr_arena_printf(a,
	                                "'%s' cannot be sent to a provider of kind %s: remove it, "
	                                "or ask for a model served by a provider that speaks your "
	                                "API's format",
	                                field, kind);
	*msg = m ? m : hr_err_msg(HR_EUNSUPPORTED);
	*param = field;
	return HR_EUNSUPPORTED;
}

int hr_codec_refuse_fields(struct hr_arena *a, const json_t *extra, const char *kind,
                           const char **msg, const char **param)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)extra, k, v)
	{
		(void)v;
		const char *f = hr_arena_strdup(a, k);
		return refuse_field(a, f ? f : "extra", kind, msg, param);
	}
	return 0;
}

int hr_codec_refuse_extra(struct hr_arena *a, const struct hr_chat_req *rq, const char *kind,
                          const char **msg, const char **param)
{
	if (rq->unmapped)
		return refuse_field(a, rq->unmapped, kind, msg, param);
	if (hr_codec_extra_goes(rq, kind))
		return 0;
	return hr_codec_refuse_fields(a, rq->extra, kind, msg, param);
}

bool hr_codec_extra_goes(const struct hr_chat_req *rq, const char *kind)
{
	return rq->extra_in_canon &&
	       strcmp(kind, rq->dialect == HR_DIALECT_ANTHROPIC ? "anthropic" : "openai") == 0;
}

struct hr_str hr_chat_tool_name(const struct hr_chat_req *rq, struct hr_str id)
{
	for (size_t i = rq->n_msgs; i-- > 0;) {
		const struct hr_msg *m = &rq->msgs[i];
		if (m->role != HR_ROLE_ASSISTANT)
			continue;
		for (size_t j = 0; j < m->n_parts; j++)
			if (m->parts[j].type == HR_PART_TOOL_CALL && hr_str_eq(m->parts[j].id, id))
				return m->parts[j].name;
	}
	return (struct hr_str){"", 0};
}

const char *hr_finish_name(enum hr_finish f)
{
	switch (f) {
	case HR_FIN_STOP: return "stop";
	case HR_FIN_LENGTH: return "length";
	case HR_FIN_TOOL_CALLS: return "tool_calls";
	case HR_FIN_CONTENT_FILTER: return "content_filter";
	case HR_FIN_NONE: break;
	}
	return NULL;
}

struct hr_sev *hr_sev_push(struct hr_arena *a, struct hr_sev_list *l, enum hr_sev_type t)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 8;
		struct hr_sev *v = hr_arena_alloc(a, cap * sizeof *v);
		if (!v)
			return NULL;
		if (l->n)
			memcpy(v, l->v, l->n * sizeof *v);
		l->v = v;
		l->cap = cap;
	}
	struct hr_sev *e = &l->v[l->n++];
	memset(e, 0, sizeof *e);
	e->type = t;
	return e;
}

static bool depth_ok(const json_t *j, size_t depth, size_t max)
{
	if (!json_is_object(j) && !json_is_array(j))
		return true;
	if (depth > max)
		return false;
	size_t i;
	const char *k;
	json_t *v;
	if (json_is_array(j)) {
		json_array_foreach(j, i, v) if (!depth_ok(v, depth + 1, max)) return false;
		return true;
	}
	json_object_foreach((json_t *)j, k, v) if (!depth_ok(v, depth + 1, max)) return false;
	return true;
}

bool hr_json_depth_ok(const json_t *j, size_t max)
{
	return depth_ok(j, 1, max);
}

const char *hr_codec_msgv(struct hr_arena *a, int rc, const char *fmt, va_list ap)
{
	char tmp[512];
	vsnprintf(tmp, sizeof tmp, fmt, ap);
	for (char *q = tmp; *q; q++)
		if ((unsigned char)*q < 0x20 || (unsigned char)*q > 0x7e)
			*q = '?';
	const char *m = hr_arena_strdup(a, tmp);
	return m ? m : hr_err_msg(rc);
}

int hr_codec_collect_extra(struct hr_arena *a, json_t *root, const char *const *known, size_t n,
                           json_t **extra)
{
	const char *k;
	json_t *v;
	json_object_foreach(root, k, v)
	{
		bool is_known = false;
		for (size_t i = 0; i < n && !is_known; i++)
			is_known = strcmp(k, known[i]) == 0;
		if (is_known)
			continue;
		if (!*extra) {
			*extra = json_object();
			if (!*extra || hr_arena_defer(a, decref_cb, *extra) < 0) {
				json_decref(*extra);
				*extra = NULL;
				return HR_ENOMEM;
			}
		}
		if (json_object_set(*extra, k, v) < 0)
			return HR_ENOMEM;
	}
	return 0;
}

static const char *msgf(struct hr_arena *a, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static const char *msgf(struct hr_arena *a, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	const char *m = hr_codec_msgv(a, rc, fmt, ap);
	va_end(ap);
	return m;
}

int hr_codec_load_request(struct hr_arena *a, const char *body, size_t len, size_t max_depth,
                          const char *example, json_t **root, const char **msg)
{
	json_error_t e;
	*root = NULL;
	json_t *j = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &e);
	if (!j) {
		if (json_error_code(&e) == json_error_stack_overflow) {
			*msg = msgf(
			    a, HR_EINVAL,
			    "the request's JSON is nested too deeply (limits.max_json_depth is "
			    "%zu)",
			    max_depth);
			return HR_EINVAL;
		}
		*msg =
		    msgf(a, HR_EBADJSON, "request body is not valid JSON: %s (line %d, column %d)",
		         e.text, e.line, e.column);
		return HR_EBADJSON;
	}
	if (hr_arena_defer(a, decref_cb, j) < 0) {
		json_decref(j);
		*msg = hr_err_msg(HR_ENOMEM);
		return HR_ENOMEM;
	}
	if (!json_is_object(j)) {
		*msg = msgf(a, HR_EINVAL, "the request body must be a JSON object such as %s",
		            example);
		return HR_EINVAL;
	}
	if (!hr_json_depth_ok(j, max_depth)) {
		*msg = msgf(a, HR_EINVAL,
		            "the request's JSON is nested more than %zu levels deep "
		            "(limits.max_json_depth): flatten it",
		            max_depth);
		return HR_EINVAL;
	}
	*root = j;
	return 0;
}
