/* jscan.c - the zero-allocation pull JSON scanner: a table-driven string loop, an explicit
 * state machine instead of recursion, and a bit stack for nesting (see jscan.h). */
#include <stdint.h>
#include <string.h>

#include "core/err.h"
#include "core/jscan.h"

enum {
	ST_VALUE,        /* a value must come */
	ST_VALUE_OR_END, /* after '[': a value or ']' */
	ST_KEY_OR_END,   /* after '{': a key or '}' */
	ST_KEY,          /* after ',' in an object: a key */
	ST_AFTER,        /* after a value: ',' or the container's end, or the end of input */
	ST_DONE,         /* the top-level value is complete */
};

/* Bytes that stand for themselves inside a string: printable ASCII but '"' and '\\'. The
 * rest need a closer look: the quote, escapes, control characters, UTF-8 sequences. */
static const uint8_t str_plain[256] = {
    [0x20 ... 0x21] = 1,
    [0x23 ... 0x5b] = 1,
    [0x5d ... 0x7f] = 1,
};

static inline bool is_ws(unsigned char c)
{
	return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The offset of the first byte at or after i that is not whitespace. */
static inline size_t skip_ws(const char *p, size_t n, size_t i)
{
	while (i < n && is_ws((unsigned char)p[i]))
		i++;
	return i;
}

static inline bool is_digit(unsigned char c)
{
	return (unsigned)(c - '0') < 10;
}

static int fail(struct hr_jscan *s, size_t off, const char *what)
{
	s->err = HR_EINVAL;
	s->err_off = off;
	s->err_what = what;
	return HR_EINVAL;
}

void hr_jscan_init(struct hr_jscan *s, const char *p, size_t n, unsigned max_depth)
{
	s->p = p ? p : "";
	s->n = p ? n : 0;
	s->pos = 0;
	s->depth = 0;
	s->max_depth =
	    max_depth == 0 || max_depth > HR_JSCAN_MAX_DEPTH ? HR_JSCAN_MAX_DEPTH : max_depth;
	s->state = ST_VALUE;
	s->err = 0;
	s->err_off = 0;
	s->err_what = NULL;
	/* the stack needs no clearing: each push writes its bit */
}

static inline bool in_object(const struct hr_jscan *s)
{
	unsigned d = s->depth - 1;
	return (s->stack[d >> 6] >> (d & 63)) & 1;
}

/* Length of the valid UTF-8 sequence (RFC 3629) at p[0..n) that starts with a byte >= 0x80,
 * or 0 when it is not one: stray continuation bytes, overlongs, surrogates, > U+10FFFF. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
	unsigned c = p[0];
	unsigned lo = 0x80, hi = 0xBF;
	if (c < 0xC2)
		return 0;
	if (c < 0xE0)
		return n >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
	if (c < 0xF0) {
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
		return n >= 3 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 ? 3 : 0;
	}
	if (c < 0xF5) {
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
		return n >= 4 && p[1] >= lo && p[1] <= hi && (p[2] & 0xC0) == 0x80 &&
		               (p[3] & 0xC0) == 0x80
		           ? 4
		           : 0;
	}
	return 0;
}

/* The four hex digits at p[i..i+4), or -1. */
static long hex4(const unsigned char *p, size_t n, size_t i)
{
	if (i > n || n - i < 4)
		return -1;
	long v = 0;
	for (size_t k = i; k < i + 4; k++) {
		unsigned c = p[k], d;
		if (is_digit((unsigned char)c))
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (c | 0x20) - 'a' + 10;
		else
			return -1;
		v = v * 16 + (long)d;
	}
	return v;
}

static inline size_t utf8_width(unsigned long cp)
{
	return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
}

/* Scans the string whose opening quote is at p[i]; fills t (but its kind) and returns the
 * offset after the closing quote, or 0 after fail(). */
static size_t lex_string(struct hr_jscan *s, size_t i, struct hr_jscan_tok *t)
{
	const unsigned char *p = (const unsigned char *)s->p;
	size_t n = s->n, open = i, saved = 0; /* bytes that escapes shrink by when decoded */
	unsigned flags = 0;
	i++;
	for (;;) {
		/* eight bytes at a time while none is a quote, a backslash, a control character
		 * or part of a UTF-8 sequence (the usual exact "has a zero/less byte" tricks) */
		while (n - i >= 8) {
			const uint64_t ones = 0x0101010101010101u, high = 0x8080808080808080u;
			uint64_t x, q, b;
			memcpy(&x, p + i, 8);
			q = x ^ (ones * '"');
			b = x ^ (ones * '\\');
			if ((((x - ones * 0x20) & ~x) | ((q - ones) & ~q) | ((b - ones) & ~b) | x) &
			    high)
				break;
			i += 8;
		}
		while (i < n && str_plain[p[i]])
			i++;
		if (i >= n)
			return fail(s, open, "unterminated string"), 0;
		unsigned c = p[i];
		if (c == '"')
			break;
		if (c == '\\') {
			flags |= HR_JSCAN_F_ESCAPED;
			if (i + 1 >= n)
				return fail(s, open, "unterminated string"), 0;
			switch (p[i + 1]) {
			case '"':
			case '\\':
			case '/':
			case 'b':
			case 'f':
			case 'n':
			case 'r':
			case 't':
				i += 2;
				saved += 1;
				continue;
			case 'u': break;
			default: return fail(s, i, "invalid escape in a string"), 0;
			}
			long u = hex4(p, n, i + 2);
			if (u < 0)
				return fail(s, i, "invalid \\u escape in a string"), 0;
			if (u >= 0xD800 && u <= 0xDBFF) {
				if (i + 7 >= n || p[i + 6] != '\\' || p[i + 7] != 'u')
					return fail(s, i, "lone surrogate in a \\u escape"), 0;
				long lo = hex4(p, n, i + 8);
				if (lo < 0)
					return fail(s, i + 6, "invalid \\u escape in a string"), 0;
				if (lo < 0xDC00 || lo > 0xDFFF)
					return fail(s, i, "lone surrogate in a \\u escape"), 0;
				i += 12;
				saved += 12 - 4;
			} else if (u >= 0xDC00 && u <= 0xDFFF) {
				return fail(s, i, "lone surrogate in a \\u escape"), 0;
			} else {
				i += 6;
				saved += 6 - utf8_width((unsigned long)u);
			}
			continue;
		}
		if (c < 0x20)
			return fail(s, i, "control character in a string (escape it)"), 0;
		size_t k = utf8_seq(p + i, n - i);
		if (!k)
			return fail(s, i, "invalid UTF-8 in a string"), 0;
		i += k;
	}
	t->flags = flags;
	t->raw = (struct hr_str){s->p + open + 1, i - open - 1};
	t->len = t->raw.len - saved;
	t->off = open;
	return i + 1;
}

/* Scans the number at p[i]; fills t and returns the offset after it, or 0 after fail(). */
static size_t lex_number(struct hr_jscan *s, size_t i, struct hr_jscan_tok *t)
{
	const unsigned char *p = (const unsigned char *)s->p;
	size_t n = s->n, start = i;
	unsigned flags = HR_JSCAN_F_INT;
	if (p[i] == '-')
		i++;
	if (i >= n || !is_digit(p[i]))
		return fail(s, start, "invalid number"), 0;
	if (p[i] == '0') {
		if (++i < n && is_digit(p[i]))
			return fail(s, start, "leading zero in a number"), 0;
	} else {
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && p[i] == '.') {
		flags = 0;
		if (++i >= n || !is_digit(p[i]))
			return fail(s, start, "invalid number: a digit must follow '.'"), 0;
		while (i < n && is_digit(p[i]))
			i++;
	}
	if (i < n && (p[i] | 0x20) == 'e') {
		flags = 0;
		if (++i < n && (p[i] == '+' || p[i] == '-'))
			i++;
		if (i >= n || !is_digit(p[i]))
			return fail(s, start, "invalid number: a digit must follow the exponent"),
			       0;
		while (i < n && is_digit(p[i]))
			i++;
	}
	t->kind = HR_JSCAN_NUMBER;
	t->flags = flags;
	t->raw = (struct hr_str){s->p + start, i - start};
	t->len = 0;
	t->off = start;
	return i;
}

static int emit(struct hr_jscan *s, struct hr_jscan_tok *t, enum hr_jscan_kind kind, size_t i,
                size_t len)
{
	t->kind = kind;
	t->flags = 0;
	t->raw = (struct hr_str){s->p + i, len};
	t->len = 0;
	t->off = i;
	s->pos = i + len;
	return (int)kind;
}

static int open_container(struct hr_jscan *s, struct hr_jscan_tok *t, size_t i, bool obj)
{
	if (s->depth >= s->max_depth)
		return fail(s, i, "nesting deeper than the limit");
	unsigned d = s->depth++;
	uint64_t bit = (uint64_t)1 << (d & 63);
	if (obj)
		s->stack[d >> 6] |= bit;
	else
		s->stack[d >> 6] &= ~bit;
	s->state = obj ? ST_KEY_OR_END : ST_VALUE_OR_END;
	return emit(s, t, obj ? HR_JSCAN_OBJ_BEGIN : HR_JSCAN_ARR_BEGIN, i, 1);
}

static int close_container(struct hr_jscan *s, struct hr_jscan_tok *t, size_t i)
{
	bool obj = in_object(s);
	s->depth--;
	s->state = ST_AFTER;
	return emit(s, t, obj ? HR_JSCAN_OBJ_END : HR_JSCAN_ARR_END, i, 1);
}

static int lex_literal(struct hr_jscan *s, struct hr_jscan_tok *t, size_t i, const char *word,
                       size_t len, enum hr_jscan_kind kind)
{
	if (s->n - i < len || memcmp(s->p + i, word, len) != 0)
		return fail(s, i, "invalid literal (true, false or null expected)");
	s->state = ST_AFTER;
	return emit(s, t, kind, i, len);
}

static int lex_value(struct hr_jscan *s, struct hr_jscan_tok *t, size_t i)
{
	if (i >= s->n)
		return fail(s, i, s->depth ? "unexpected end of input" : "no JSON value");
	size_t j;
	switch (s->p[i]) {
	case '{': return open_container(s, t, i, true);
	case '[': return open_container(s, t, i, false);
	case '"':
		if (!(j = lex_string(s, i, t)))
			return s->err;
		t->kind = HR_JSCAN_STRING;
		s->pos = j;
		s->state = ST_AFTER;
		return HR_JSCAN_STRING;
	case '-':
	case '0' ... '9':
		if (!(j = lex_number(s, i, t)))
			return s->err;
		s->pos = j;
		s->state = ST_AFTER;
		return HR_JSCAN_NUMBER;
	case 't': return lex_literal(s, t, i, "true", 4, HR_JSCAN_TRUE);
	case 'f': return lex_literal(s, t, i, "false", 5, HR_JSCAN_FALSE);
	case 'n': return lex_literal(s, t, i, "null", 4, HR_JSCAN_NULL);
	case ']':
	case '}':
	case ',': return fail(s, i, "a value was expected (trailing comma?)");
	default: return fail(s, i, "invalid character where a value was expected");
	}
}

int hr_jscan_next(struct hr_jscan *s, struct hr_jscan_tok *t)
{
	if (s->err)
		return s->err;
	const char *p = s->p;
	size_t n = s->n, i = s->pos, j;
	for (;;) {
		i = skip_ws(p, n, i);
		switch (s->state) {
		case ST_DONE: return emit(s, t, HR_JSCAN_END, i, 0);
		case ST_AFTER:
			if (s->depth == 0) {
				if (i < n)
					return fail(s, i, "unexpected data after the JSON value");
				s->state = ST_DONE;
				return emit(s, t, HR_JSCAN_END, i, 0);
			}
			if (in_object(s)) {
				if (i < n && p[i] == ',') {
					s->state = ST_KEY;
					i++;
					continue;
				}
				if (i < n && p[i] == '}')
					return close_container(s, t, i);
				return fail(s, i,
				            i < n ? "expected ',' or '}' after an object member"
				                  : "unterminated object");
			}
			if (i < n && p[i] == ',') {
				s->state = ST_VALUE;
				i++;
				continue;
			}
			if (i < n && p[i] == ']')
				return close_container(s, t, i);
			return fail(s, i,
			            i < n ? "expected ',' or ']' after an array element"
			                  : "unterminated array");
		case ST_KEY_OR_END:
			if (i < n && p[i] == '}')
				return close_container(s, t, i);
			/* fall through */
		case ST_KEY:
			if (i >= n)
				return fail(s, i, "unterminated object");
			if (p[i] != '"')
				return fail(s, i, "expected a string as an object key");
			if (!(j = lex_string(s, i, t)))
				return s->err;
			t->kind = HR_JSCAN_KEY;
			j = skip_ws(p, n, j);
			if (j >= n || p[j] != ':')
				return fail(s, j, "expected ':' after an object key");
			s->pos = j + 1;
			s->state = ST_VALUE;
			return HR_JSCAN_KEY;
		case ST_VALUE_OR_END:
			if (i < n && p[i] == ']')
				return close_container(s, t, i);
			/* fall through */
		default: return lex_value(s, t, i);
		}
	}
}

int hr_jscan_skip(struct hr_jscan *s, const struct hr_jscan_tok *t)
{
	struct hr_jscan_tok tmp;
	int k;
	if (s->err)
		return s->err;
	switch (t->kind) {
	case HR_JSCAN_KEY:
		if ((k = hr_jscan_next(s, &tmp)) < 0)
			return k;
		return hr_jscan_skip(s, &tmp); /* recurses once: tmp starts a value */
	case HR_JSCAN_OBJ_BEGIN:
	case HR_JSCAN_ARR_BEGIN: break;
	case HR_JSCAN_STRING:
	case HR_JSCAN_NUMBER:
	case HR_JSCAN_TRUE:
	case HR_JSCAN_FALSE:
	case HR_JSCAN_NULL: return 0;
	default: return HR_EINVAL; /* misuse: no value starts here; the scanner is unharmed */
	}
	unsigned target = s->depth - 1;
	while (s->depth > target)
		if ((k = hr_jscan_next(s, &tmp)) < 0)
			return k;
	return 0;
}

size_t hr_jscan_error(const struct hr_jscan *s, const char **what)
{
	if (what)
		*what = s->err ? s->err_what : "no error";
	return s->err ? s->err_off : 0;
}

void hr_jscan_where(const struct hr_jscan *s, size_t off, unsigned long *line, unsigned long *col)
{
	if (off > s->n)
		off = s->n;
	unsigned long l = 1;
	size_t bol = 0;
	for (size_t i = 0; i < off; i++)
		if (s->p[i] == '\n')
			l++, bol = i + 1;
	*line = l;
	*col = (unsigned long)(off - bol) + 1;
}

/* Decodes the escape at r[*i] (a validated '\\'), advances *i past it and returns the
 * number of UTF-8 bytes written to out. */
static size_t unescape(const char *r, size_t *i, char out[4])
{
	const unsigned char *p = (const unsigned char *)r;
	size_t k = *i;
	char c = r[k + 1];
	*i = k + 2;
	switch (c) {
	case 'b': out[0] = '\b'; return 1;
	case 'f': out[0] = '\f'; return 1;
	case 'n': out[0] = '\n'; return 1;
	case 'r': out[0] = '\r'; return 1;
	case 't': out[0] = '\t'; return 1;
	case 'u': break;
	default: out[0] = c; return 1; /* '"', '\\', '/' */
	}
	unsigned long cp = (unsigned long)hex4(p, k + 6, k + 2);
	*i = k + 6;
	if (cp >= 0xD800 && cp <= 0xDBFF) { /* validated: a low surrogate follows */
		unsigned long lo = (unsigned long)hex4(p, k + 12, k + 8);
		cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
		*i = k + 12;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool is_text(const struct hr_jscan_tok *t)
{
	return t->kind == HR_JSCAN_KEY || t->kind == HR_JSCAN_STRING;
}

bool hr_jscan_str_eq(const struct hr_jscan_tok *t, const char *c)
{
	return hr_jscan_str_eqn(t, c, strlen(c));
}

bool hr_jscan_str_eqn_escaped_(const struct hr_jscan_tok *t, const char *c, size_t clen)
{
	const char *r = t->raw.ptr;
	size_t i = 0, o = 0;
	while (i < t->raw.len) {
		if (r[i] != '\\') {
			if (o >= clen || r[i++] != c[o++])
				return false;
			continue;
		}
		char u[4];
		size_t w = unescape(r, &i, u);
		if (w > clen - o || memcmp(u, c + o, w) != 0)
			return false;
		o += w;
	}
	return true;
}

size_t hr_jscan_str_copy(const struct hr_jscan_tok *t, char *dst, size_t cap)
{
	if (!is_text(t))
		return 0;
	const char *r = t->raw.ptr;
	size_t i = 0, o = 0, n = t->raw.len;
	while (i < n && o < cap) {
		const char *bs = memchr(r + i, '\\', n - i);
		size_t run = (bs ? (size_t)(bs - r) : n) - i;
		if (run > cap - o)
			run = cap - o;
		memcpy(dst + o, r + i, run);
		i += run, o += run;
		if (i >= n || o >= cap || r[i] != '\\')
			continue;
		char u[4];
		size_t w = unescape(r, &i, u);
		if (w > cap - o)
			w = cap - o;
		memcpy(dst + o, u, w);
		o += w;
	}
	return t->len;
}

int hr_jscan_int64(const struct hr_jscan_tok *t, int64_t *out)
{
	if (t->kind != HR_JSCAN_NUMBER || !(t->flags & HR_JSCAN_F_INT))
		return HR_EINVAL;
	const char *r = t->raw.ptr;
	size_t k = 0, n = t->raw.len;
	bool neg = n && r[0] == '-';
	uint64_t v = 0, lim = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
	for (k = neg; k < n; k++) {
		unsigned d = (unsigned)(r[k] - '0');
		if (v > (lim - d) / 10)
			return HR_ETOOBIG;
		v = v * 10 + d;
	}
	if (!neg)
		*out = (int64_t)v;
	else
		*out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	return 0;
}
