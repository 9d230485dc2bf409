/* policy.c - the data policy over a chat request (policy.h). Every piece of text a model
 * would see is scanned: message text, tool results, tool-call arguments. A text longer than
 * one detector call takes is scanned in windows that overlap by WINDOW_OVERLAP bytes, so a
 * finding across a window edge is still seen whole in one of them. */
#include <string.h>

#include "core/buf.h"
#include "core/err.h"
#include "governance/detect.h"
#include "governance/policy.h"

#define WINDOW         (64u * 1024)
#define WINDOW_OVERLAP 512u
#define MAX_SPANS      4096 /* per window: more is not a prompt, and fails closed */

_Static_assert(WINDOW <= HR_DETECT_DEF_MAX_INPUT, "a window is one detector call");

struct scan {
	const struct hr_conf *c;
	struct hr_detect_opts opts;
	struct hr_spans spans;
	struct hr_policy_result *out;
};

static int scan_text(struct scan *s, const char *p, size_t n)
{
	for (size_t off = 0;;) {
		size_t len = n - off > WINDOW ? WINDOW : n - off;
		s->spans.n = 0;
		int rc = hr_detect(p + off, len, &s->opts, &s->spans);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < s->spans.n; i++) {
			const struct hr_span *sp = &s->spans.v[i];
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
			if (pt->text.len)
				rc = scan_text(s, pt->text.ptr, pt->text.len);
			if (rc == 0 && pt->arguments.len)
				rc = scan_text(s, pt->arguments.ptr, pt->arguments.len);
		}
	return rc;
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

	struct scan s = {.c = c, .out = out};
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
	if (rc < 0) { /* could not check: fail closed */
		memset(out->count, 0, sizeof out->count);
		out->err = rc;
		out->action = c->policy.on_error;
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
