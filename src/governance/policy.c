/* policy.c - the data policy over a chat request (policy.h). Every piece of text a model
 * would see is scanned: message text, tool results, tool-call arguments. A text longer than
 * one detector call takes is scanned in windows that overlap by WINDOW_OVERLAP bytes, so a
 * finding across a window edge is still seen whole in one of them. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "governance/detect.h"
#include "governance/policy.h"

#define WINDOW         (64u * 1024)
#define WINDOW_OVERLAP 512u
#define MAX_SPANS      4096 /* per window: more is not a prompt, and fails closed */

_Static_assert(WINDOW <= HR_DETECT_DEF_MAX_INPUT, "a window is one detector call");

struct scan {
	struct hr_arena *a;
	const struct hr_conf *c;
	struct hr_detect_opts opts;
	struct hr_spans spans;
	struct hr_policy_result *out;
	uint32_t redact;    /* classes some destination redacts */
	uint32_t msg, part; /* where the text being scanned is */
	uint8_t field;
};

/* Keeps a finding to redact (absolute offsets in the text being scanned). */
static int keep_span(struct scan *s, size_t start, size_t end, uint16_t cls)
{
	struct hr_policy_result *o = s->out;
	if (o->n_spans == o->cap_spans) {
		size_t nc = o->cap_spans ? o->cap_spans * 2 : 64;
		struct hr_policy_span *v = hr_arena_alloc(s->a, nc * sizeof *v);
		if (!v)
			return HR_ENOMEM;
		if (o->n_spans)
			memcpy(v, o->spans, o->n_spans * sizeof *v);
		o->spans = v;
		o->cap_spans = nc;
	}
	o->spans[o->n_spans++] = (struct hr_policy_span){
	    s->msg, s->part, s->field, cls, (uint32_t)start, (uint32_t)end, NULL};
	return 0;
}

static int scan_text(struct scan *s, const char *p, size_t n)
{
	if (n > UINT32_MAX)
		return HR_ETOOBIG;
	for (size_t off = 0;;) {
		size_t len = n - off > WINDOW ? WINDOW : n - off;
		s->spans.n = 0;
		int rc = hr_detect(p + off, len, &s->opts, &s->spans);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < s->spans.n; i++) {
			const struct hr_span *sp = &s->spans.v[i];
			/* every finding of a redacted class is kept: windows overlap, so the
			 * same one may come twice (merged later) */
			if (sp->cls < HR_PII__COUNT && (s->redact & HR_PII_BIT(sp->cls))) {
				int rc2 = keep_span(s, off + sp->start, off + sp->end, sp->cls);
				if (rc2 < 0)
					return rc2;
			}
			/* a span wholly inside the overlap is counted by the next window */
			if (off + len < n && sp->start >= len - WINDOW_OVERLAP)
				continue;
			if (sp->cls < HR_PII__COUNT)
				s->out->count[sp->cls]++;
		}
		if (off + len >= n)
			return 0;
		off += len - WINDOW_OVERLAP;
	}
}

static int scan_req(struct scan *s, const struct hr_chat_req *rq)
{
	int rc = 0;
	for (size_t i = 0; i < rq->n_msgs && rc == 0; i++)
		for (size_t j = 0; j < rq->msgs[i].n_parts && rc == 0; j++) {
			const struct hr_part *pt = &rq->msgs[i].parts[j];
			s->msg = (uint32_t)i, s->part = (uint32_t)j;
			s->field = 0;
			if (pt->text.len)
				rc = scan_text(s, pt->text.ptr, pt->text.len);
			s->field = 1;
			if (rc == 0 && pt->arguments.len)
				rc = scan_text(s, pt->arguments.ptr, pt->arguments.len);
		}
	return rc;
}

static int span_cmp(const void *x, const void *y)
{
	const struct hr_policy_span *a = x, *b = y;
	if (a->msg != b->msg)
		return a->msg < b->msg ? -1 : 1;
	if (a->part != b->part)
		return a->part < b->part ? -1 : 1;
	if (a->field != b->field)
		return a->field < b->field ? -1 : 1;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	return a->end < b->end ? 1 : a->end > b->end ? -1 : 0; /* the longer first */
}

static struct hr_str span_field(const struct hr_chat_req *rq, const struct hr_policy_span *sp)
{
	const struct hr_part *pt = &rq->msgs[sp->msg].parts[sp->part];
	return sp->field ? pt->arguments : pt->text;
}

/* The value a finding stands for: its bytes; in tool-call arguments (JSON text) with the
 * JSON escapes decoded, so it is restored into text and JSON alike. */
static int map_span(struct hr_arena *a, struct hr_redact_map *m, const struct hr_chat_req *rq,
                    struct hr_policy_span *sp)
{
	int cls = sp->cls;
	struct hr_str f = span_field(rq, sp);
	const char *p = f.ptr + sp->start;
	size_t n = sp->end - sp->start;
	if (sp->field && memchr(p, '\\', n)) {
		struct hr_buf q = HR_BUF_INIT(n + 2);
		json_t *j = NULL;
		if (hr_buf_addch(&q, '"') == 0 && hr_buf_add(&q, p, n) == 0 &&
		    hr_buf_addch(&q, '"') == 0)
			j = json_loadb(q.ptr, q.len, JSON_DECODE_ANY, NULL);
		hr_buf_release(&q);
		if (json_is_string(j))
			sp->e = hr_redact_map_add(a, m, cls, json_string_value(j),
			                          json_string_length(j));
		else
			sp->e = hr_redact_map_add(a, m, cls, p, n);
		json_decref(j);
	} else {
		sp->e = hr_redact_map_add(a, m, cls, p, n);
	}
	return sp->e ? 0 : HR_ENOMEM;
}

/* Sorts the kept findings, merges overlapping ones (windows overlap; one finding may be
 * seen cut in one window and whole in the next) and gives each its placeholder. */
static int build_map(struct hr_arena *a, const struct hr_chat_req *rq, struct hr_policy_result *out)
{
	if (!out->n_spans)
		return 0;
	qsort(out->spans, out->n_spans, sizeof *out->spans, span_cmp);
	size_t w = 0;
	for (size_t i = 0; i < out->n_spans; i++) {
		struct hr_policy_span *sp = &out->spans[i];
		struct hr_policy_span *last = w ? &out->spans[w - 1] : NULL;
		if (last && last->msg == sp->msg && last->part == sp->part &&
		    last->field == sp->field && sp->start < last->end) {
			if (sp->end > last->end)
				last->end = sp->end;
			continue;
		}
		out->spans[w++] = *sp;
	}
	out->n_spans = w;
	for (size_t i = 0; i < w; i++) {
		int rc = map_span(a, &out->map, rq, &out->spans[i]);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int hr_policy_check(struct hr_arena *a, const struct hr_conf *c, const struct hr_chat_req *rq,
                    struct hr_policy_result *out)
{
	memset(out, 0, sizeof *out);
	out->action = HR_POLICY_ALLOW;
	uint32_t classes = 0;
	for (int k = 0; k < HR_PII__COUNT; k++)
		if (c->policy.action[k] != HR_POLICY_ALLOW)
			classes |= HR_PII_BIT(k);
	if (!c->policy.n_keywords)
		classes &= ~HR_PII_BIT(HR_PII_KEYWORD);
	if (!c->policy.n_patterns)
		classes &= ~HR_PII_BIT(HR_PII_PATTERN);
	if (!classes)
		return 0;
	out->checked = true;

	struct scan s = {.a = a, .c = c, .out = out};
	for (int k = 0; k < HR_PII__COUNT; k++)
		if (c->policy.dest[HR_CLOUD][k] == HR_POLICY_REDACT ||
		    c->policy.dest[HR_LOCAL][k] == HR_POLICY_REDACT)
			s.redact |= HR_PII_BIT(k);
	s.opts.classes = classes;
	s.opts.max_input = WINDOW;
	struct hr_str *kw =
	    c->policy.n_keywords ? hr_arena_alloc(a, c->policy.n_keywords * sizeof *kw) : NULL;
	struct hr_detect_pattern *pat =
	    c->policy.n_patterns ? hr_arena_alloc(a, c->policy.n_patterns * sizeof *pat) : NULL;
	s.spans.v = hr_arena_alloc(a, MAX_SPANS * sizeof *s.spans.v);
	s.spans.cap = MAX_SPANS;
	if (!s.spans.v || (c->policy.n_keywords && !kw) || (c->policy.n_patterns && !pat))
		return HR_ENOMEM;
	for (size_t i = 0; i < c->policy.n_keywords; i++)
		kw[i] = (struct hr_str){c->policy.keywords[i], strlen(c->policy.keywords[i])};
	for (size_t i = 0; i < c->policy.n_patterns; i++)
		pat[i].pat = (struct hr_str){c->policy.patterns[i], strlen(c->policy.patterns[i])};
	s.opts.keywords = kw, s.opts.n_keywords = c->policy.n_keywords;
	s.opts.patterns = pat, s.opts.n_patterns = c->policy.n_patterns;

	int rc = scan_req(&s, rq);
	if (rc == 0)
		rc = build_map(a, rq, out);
	if (rc == HR_ENOMEM)
		return rc;
	if (rc < 0) { /* could not check: fail closed */
		memset(out->count, 0, sizeof out->count);
		out->n_spans = 0;
		out->err = rc;
		out->action = c->policy.on_error;
		/* local models may not see a class unredacted: nowhere left to go */
		for (int k = 0; k < HR_PII__COUNT; k++)
			if (c->policy.dest[HR_LOCAL][k] == HR_POLICY_REDACT)
				out->action = HR_POLICY_BLOCK;
		out->summary = hr_arena_printf(a, "error:%s", hr_err_code(rc));
		return out->summary ? 0 : HR_ENOMEM;
	}
	struct hr_buf b = HR_BUF_INIT(1024);
	for (int k = 0; k < HR_PII__COUNT; k++) {
		if (!out->count[k] || c->policy.action[k] == HR_POLICY_ALLOW)
			continue;
		if (c->policy.action[k] > out->action)
			out->action = c->policy.action[k];
		(void)hr_buf_addf(&b, "%s%s:%u", b.len ? "," : "", hr_pii_label(k), out->count[k]);
	}
	if (b.len && !(out->summary = hr_arena_strndup(a, b.ptr, b.len))) {
		hr_buf_release(&b);
		return HR_ENOMEM;
	}
	hr_buf_release(&b);
	return 0;
}

int hr_policy_redact(struct hr_arena *a, const struct hr_conf *c,
                     const struct hr_policy_result *pol, const struct hr_chat_req *rq,
                     enum hr_locality loc, const struct hr_chat_req **out,
                     uint32_t counted[HR_PII__COUNT])
{
	*out = rq;
	size_t first = pol->n_spans;
	for (size_t i = 0; i < pol->n_spans && first == pol->n_spans; i++)
		if (c->policy.dest[loc][pol->spans[i].cls] == HR_POLICY_REDACT)
			first = i;
	if (first == pol->n_spans)
		return 0;
	struct hr_chat_req *r = hr_arena_alloc(a, sizeof *r);
	struct hr_msg *msgs = r ? hr_arena_alloc(a, rq->n_msgs * sizeof *msgs) : NULL;
	if (!msgs)
		return HR_ENOMEM;
	*r = *rq;
	memcpy(msgs, rq->msgs, rq->n_msgs * sizeof *msgs);
	r->msgs = msgs;
	r->body = NULL; /* the client's own body and bytes carry the values */
	r->raw = HR_STR_NULL;
	for (size_t i = first; i < pol->n_spans;) {
		/* the findings of one field: rebuild it with placeholders */
		const struct hr_policy_span *sp = &pol->spans[i];
		size_t j = i;
		while (j < pol->n_spans && pol->spans[j].msg == sp->msg &&
		       pol->spans[j].part == sp->part && pol->spans[j].field == sp->field)
			j++;
		struct hr_msg *m = &msgs[sp->msg];
		if (m->parts == rq->msgs[sp->msg].parts) {
			struct hr_part *parts = hr_arena_alloc(a, m->n_parts * sizeof *parts);
			if (!parts)
				return HR_ENOMEM;
			memcpy(parts, m->parts, m->n_parts * sizeof *parts);
			m->parts = parts;
		}
		struct hr_part *pt = &m->parts[sp->part];
		struct hr_str f = sp->field ? pt->arguments : pt->text;
		size_t extra = 0;
		for (size_t k = i; k < j; k++)
			extra += pol->spans[k].e->placeholder.len;
		char *t = hr_arena_alloc(a, f.len + extra + 1);
		if (!t)
			return HR_ENOMEM;
		size_t at = 0, w = 0;
		for (size_t k = i; k < j; k++) {
			const struct hr_policy_span *q = &pol->spans[k];
			if (c->policy.dest[loc][q->cls] != HR_POLICY_REDACT)
				continue;
			memcpy(t + w, f.ptr + at, q->start - at);
			w += q->start - at;
			memcpy(t + w, q->e->placeholder.ptr, q->e->placeholder.len);
			w += q->e->placeholder.len;
			at = q->end;
			counted[q->cls]++;
		}
		memcpy(t + w, f.ptr + at, f.len - at);
		w += f.len - at;
		t[w] = '\0';
		if (sp->field)
			pt->arguments = (struct hr_str){t, w};
		else
			pt->text = (struct hr_str){t, w};
		i = j;
	}
	*out = r;
	return 0;
}
