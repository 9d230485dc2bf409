/* codec.c - helpers every provider codec and dialect shares: JSON in and out of the arena,
 * slices of JSON strings, the refusal of fields a target cannot represent, and the small
 * canonical-model utilities declared in chat.h. */
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

int hr_codec_refuse_extra(struct hr_arena *a, const struct hr_chat_req *rq, const char *kind,
                          const char **msg, const char **param)
{
	if (rq->unmapped) {
		const char *m = hr_arena_printf(a,
		                                "'%s' cannot be sent to a provider of kind %s: "
		                                "remove it, or ask for a model served by a provider "
		                                "that speaks your API's format",
		                                rq->unmapped, kind);
		*msg = m ? m : hr_err_msg(HR_EUNSUPPORTED);
		*param = rq->unmapped;
		return HR_EUNSUPPORTED;
	}
	const char *k;
	json_t *v;
	json_object_foreach(rq->extra, k, v)
	{
		(void)v;
		const char *m =
		    hr_arena_printf(a,
		                    "'%s' cannot be sent to a provider of kind %s: "
		                    "remove it, or ask for a model served by a provider "
		                    "that speaks your API's format",
		                    k, kind);
		*msg = m ? m : hr_err_msg(HR_EUNSUPPORTED);
		*param = hr_arena_strdup(a, k);
		return HR_EUNSUPPORTED;
	}
	return 0;
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
