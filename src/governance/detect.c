/* detect.c - hr_detect(): runs the detectors over a text, adds operator keywords and patterns,
 * and resolves overlapping candidates into sorted, disjoint spans.
 *
 * Overlaps: a verified candidate (checksum, fixed syntax or operator-listed: card, IBAN, SSN,
 * national id, email, IP, secret, keyword, pattern) beats an unverified one (phone, address,
 * date, person); between two of the same kind the longer wins, then the earlier class. */
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "governance/detect_int.h"

static const char *const labels[] = {
#define HR_PII_LABEL_(name, label) label,
    HR_PII_CLASS_MAP(HR_PII_LABEL_)
#undef HR_PII_LABEL_
};

const char *hr_pii_label(int cls)
{
	return cls >= 0 && cls < HR_PII__COUNT ? labels[cls] : "unknown";
}

int hr_pii_from_label(struct hr_str label)
{
	for (int i = 0; i < HR_PII__COUNT; i++)
		if (hr_str_eq_cstr(label, labels[i]))
			return i;
	return -1;
}

void hr_dctx_add(struct hr_dctx *c, size_t start, size_t end, int cls, unsigned rule)
{
	if (c->err || start >= end || end > c->n || !hr_dc_on(c, cls))
		return;
	if (c->nv == c->cap) {
		c->err = HR_ETOOMANY;
		return;
	}
	c->v[c->nv++] =
	    (struct hr_span){(uint32_t)start, (uint32_t)end, (uint16_t)cls, (uint16_t)rule};
}

bool hr_d_upper_at(const unsigned char *t, size_t n, size_t i)
{
	if (i >= n)
		return false;
	unsigned b = t[i];
	if (b < 0x80)
		return d_upper(b);
	if (i + 1 >= n)
		return false;
	unsigned b2 = t[i + 1];
	unsigned cp = ((b & 0x1f) << 6) | (b2 & 0x3f);
	if ((b & 0xe0) != 0xc0 || (b2 & 0xc0) != 0x80)
		return false;
	if (cp >= 0xc0 && cp <= 0xde)
		return cp != 0xd7;
	if (cp >= 0x100 && cp <= 0x17f) /* Latin Extended-A: capitals are mostly even */
		return (cp & 1) == 0 || cp == 0x139 || cp == 0x13b || cp == 0x13d || cp == 0x13f ||
		       cp == 0x141 || cp == 0x143 || cp == 0x145 || cp == 0x147 || cp == 0x179 ||
		       cp == 0x17b || cp == 0x17d;
	if (cp >= 0x386 && cp <= 0x3ab) /* Greek capitals */
		return true;
	if (cp >= 0x400 && cp <= 0x42f) /* Cyrillic capitals */
		return true;
	return false;
}

bool hr_d_ieq(const unsigned char *t, size_t n, size_t i, const char *lit)
{
	for (; *lit; lit++, i++)
		if (i >= n || d_lc(t[i]) != (unsigned char)*lit)
			return false;
	return true;
}

bool hr_d_cue(const unsigned char *t, size_t from, size_t to, const char *const *cues)
{
	for (size_t i = from; i < to; i++) {
		unsigned ch = d_lc(t[i]);
		for (const char *const *c = cues; *c; c++)
			if ((unsigned char)(*c)[0] == ch && hr_d_ieq(t, to, i, *c))
				return true;
	}
	return false;
}

size_t hr_d_cue_upto(const unsigned char *t, size_t n, struct hr_cue_track *tr, size_t to)
{
	if (to > n)
		to = n;
	for (; tr->pos < to; tr->pos++) {
		unsigned ch = d_lc(t[tr->pos]);
		if (tr->pos > 0 && d_alpha(t[tr->pos - 1]))
			continue; /* cues start at a word */
		for (const char *const *c = tr->cues; *c; c++)
			if ((unsigned char)(*c)[0] == ch && hr_d_ieq(t, n, tr->pos, *c)) {
				size_t e = tr->pos + strlen(*c);
				if (tr->pend == SIZE_MAX || e > tr->pend)
					tr->pend = e;
			}
	}
	if (tr->pend != SIZE_MAX && tr->pend <= to)
		tr->last = tr->pend;
	return tr->last;
}

/* ---- checks exposed for tests ---- */

int hr_detect_luhn_ok(const char *s, size_t n)
{
	int sum = 0, k = 0;
	for (size_t i = n; i-- > 0;) {
		if (!d_digit((unsigned char)s[i]))
			continue;
		int d = s[i] - '0';
		if (k++ & 1) {
			d *= 2;
			if (d > 9)
				d -= 9;
		}
		sum += d;
	}
	return k > 0 && sum % 10 == 0;
}

/* ---- operator keywords: case-insensitive whole words (or phrases) ---- */

static void keywords(struct hr_dctx *c)
{
	const struct hr_detect_opts *o = c->o;
	for (size_t i = 0; i < c->n && !c->err; i++) {
		if (i > 0 && d_wordb(c->t[i - 1]))
			continue; /* not a word start */
		for (size_t k = 0; k < o->n_keywords; k++) {
			struct hr_str kw = o->keywords[k];
			size_t e = i + kw.len;
			if (e > c->n || d_lc(c->t[i]) != d_lc((unsigned char)kw.ptr[0]))
				continue;
			size_t j = 0;
			while (j < kw.len && d_lc(c->t[i + j]) == d_lc((unsigned char)kw.ptr[j]))
				j++;
			if (j == kw.len && (e == c->n || !d_wordb(c->t[e]))) {
				hr_dctx_add(c, i, e, HR_PII_KEYWORD, (unsigned)k);
				break;
			}
		}
	}
}

/* ---- operator patterns ---- */

static size_t pattern_at(const unsigned char *t, size_t n, size_t i, struct hr_str p)
{
	size_t j = 0;
	while (j < p.len) {
		if (i >= n)
			return 0;
		unsigned pc = (unsigned char)p.ptr[j++], ch = t[i++];
		if (pc == '\\' && j < p.len) {
			if (ch != (unsigned char)p.ptr[j++])
				return 0;
		} else if (pc == '#') {
			if (!d_digit(ch))
				return 0;
		} else if (pc == '@') {
			if (!d_alpha(ch))
				return 0;
		} else if (pc == '?') {
			if (!d_alnum(ch))
				return 0;
		} else if (d_lc(pc) != d_lc(ch)) {
			return 0;
		}
	}
	return i;
}

static void patterns(struct hr_dctx *c)
{
	const struct hr_detect_opts *o = c->o;
	for (size_t i = 0; i < c->n && !c->err; i++) {
		if (i > 0 && d_wordb(c->t[i - 1]) && d_wordb(c->t[i]))
			continue;
		for (size_t k = 0; k < o->n_patterns; k++) {
			size_t e = pattern_at(c->t, c->n, i, o->patterns[k].pat);
			if (e > i && (e == c->n || !(d_wordb(c->t[e]) && d_wordb(c->t[e - 1])))) {
				hr_dctx_add(c, i, e, HR_PII_PATTERN, (unsigned)k);
				i = e - 1;
				break;
			}
		}
	}
}

/* ---- overlap resolution ---- */

static bool verified(int cls)
{
	switch (cls) {
	case HR_PII_CARD:
	case HR_PII_IBAN:
	case HR_PII_SSN:
	case HR_PII_NATIONAL_ID:
	case HR_PII_EMAIL:
	case HR_PII_IP:
	case HR_PII_SECRET:
	case HR_PII_KEYWORD:
	case HR_PII_PATTERN: return true;
	default: return false;
	}
}

/* Whether a beats b. */
static bool beats(const struct hr_span *a, const struct hr_span *b)
{
	bool va = verified(a->cls), vb = verified(b->cls);
	if (va != vb)
		return va;
	uint32_t la = a->end - a->start, lb = b->end - b->start;
	if (la != lb)
		return la > lb;
	return a->cls < b->cls;
}

static int by_start(const void *x, const void *y)
{
	const struct hr_span *a = x, *b = y;
	if (a->start != b->start)
		return a->start < b->start ? -1 : 1;
	if (a->end != b->end)
		return a->end > b->end ? -1 : 1;
	return (int)a->cls - (int)b->cls;
}

static size_t resolve(struct hr_span *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, by_start);
	size_t k = 0;
	for (size_t i = 1; i < n; i++) {
		if (v[i].start >= v[k].end)
			v[++k] = v[i];
		else if (beats(&v[i], &v[k]))
			v[k] = v[i];
	}
	/* A replacement may now overlap its predecessor: sweep once more (stable). */
	size_t m = 0;
	for (size_t i = 1; i <= k; i++) {
		if (v[i].start >= v[m].end)
			v[++m] = v[i];
		else if (beats(&v[i], &v[m]))
			v[m] = v[i];
	}
	return m + 1;
}

int hr_detect(const char *text, size_t len, const struct hr_detect_opts *opts, struct hr_spans *out)
{
	static const struct hr_detect_opts none;
	if (!out || (out->cap > 0 && !out->v) || (len > 0 && !text))
		return HR_EINVAL;
	out->n = 0;
	const struct hr_detect_opts *o = opts ? opts : &none;
	size_t max_input = o->max_input ? o->max_input : HR_DETECT_DEF_MAX_INPUT;
	if (len > max_input || len > UINT32_MAX)
		return HR_ETOOBIG;
	if (o->n_keywords > HR_DETECT_MAX_KEYWORDS || o->n_patterns > HR_DETECT_MAX_PATTERNS ||
	    (o->n_keywords && !o->keywords) || (o->n_patterns && !o->patterns))
		return HR_EINVAL;
	for (size_t k = 0; k < o->n_keywords; k++)
		if (!o->keywords[k].ptr || o->keywords[k].len == 0 ||
		    o->keywords[k].len > HR_DETECT_MAX_KEYWORD)
			return HR_EINVAL;
	for (size_t k = 0; k < o->n_patterns; k++)
		if (!o->patterns[k].pat.ptr || o->patterns[k].pat.len == 0 ||
		    o->patterns[k].pat.len > HR_DETECT_MAX_PATTERN)
			return HR_EINVAL;

	struct hr_dctx c = {(const unsigned char *)text,
	                    len,
	                    o->classes ? o->classes : HR_PII_ALL,
	                    o,
	                    out->v,
	                    0,
	                    out->cap,
	                    0};
	c.classes &= HR_PII_ALL;
	hr_detect_text(&c);
	hr_detect_ids(&c);
	hr_detect_numbers(&c);
	if (hr_dc_on(&c, HR_PII_PERSON))
		hr_detect_person(&c);
	if (o->n_keywords)
		keywords(&c);
	if (o->n_patterns)
		patterns(&c);
	if (c.err)
		return c.err;
	out->n = resolve(c.v, c.nv);
	return 0;
}
