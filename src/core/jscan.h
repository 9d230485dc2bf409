/* jscan.h - zero-allocation, pull-style JSON scanner over borrowed bytes {ptr, len}: strict
 * RFC 8259 validation while the caller walks objects and arrays token by token.
 *
 * Invariants:
 * - The scanner never allocates and never recurses; nesting is tracked in a bit stack inside
 *   struct hr_jscan, so depth is bounded by max_depth (at most HR_JSCAN_MAX_DEPTH).
 * - Everything it hands out borrows the input buffer: a token's slices stay valid as long as
 *   the input does, also after the scanner has moved on or been discarded.
 * - Validation is strict: structure; strings (escapes, \u surrogate pairs, UTF-8 as RFC 3629:
 *   no overlongs, no encoded surrogates, nothing past U+10FFFF, no control characters);
 *   numbers as the RFC grammar (no leading zeros, no '+', no bare '.'); true, false, null;
 *   one top-level value of any type, with only whitespace (space, tab, CR, LF) around it.
 *   "\u0000" is valid (RFC 8259). Numbers of any magnitude are valid grammar; only
 *   hr_jscan_int64() cares about range.
 * - Duplicate object keys are accepted and reported as they come: a caller that wants the
 *   usual "last one wins" simply lets a later key overwrite what an earlier one set.
 * - Errors are sticky: after the first error every call returns it again. The whole input
 *   is valid JSON exactly when hr_jscan_next() eventually returns HR_JSCAN_END. */
#ifndef HR_JSCAN_H
#define HR_JSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/str.h"

/* Hard cap on max_depth (open objects and arrays at once): the size of the bit stack. */
#define HR_JSCAN_MAX_DEPTH 4096

enum hr_jscan_kind {
	HR_JSCAN_END = 0, /* the document is complete and valid (only after one whole value) */
	HR_JSCAN_OBJ_BEGIN,
	HR_JSCAN_OBJ_END,
	HR_JSCAN_ARR_BEGIN,
	HR_JSCAN_ARR_END,
	HR_JSCAN_KEY, /* an object member's name; its ':' is already consumed */
	HR_JSCAN_STRING,
	HR_JSCAN_NUMBER,
	HR_JSCAN_TRUE,
	HR_JSCAN_FALSE,
	HR_JSCAN_NULL,
};

/* Token flags. */
#define HR_JSCAN_F_ESCAPED 1u /* KEY/STRING: raw has at least one backslash escape */
#define HR_JSCAN_F_INT     2u /* NUMBER: no fraction and no exponent */

struct hr_jscan_tok {
	enum hr_jscan_kind kind;
	unsigned flags;    /* HR_JSCAN_F_* */
	struct hr_str raw; /* borrowed from the input. KEY/STRING: the bytes between the quotes,
	                    * escapes not decoded; NUMBER: the number's text; others: the
	                    * punctuation or literal itself; END: empty */
	size_t len;        /* KEY/STRING: length in bytes of the decoded (UTF-8) text */
	size_t off;        /* offset of the token's first byte in the input (the quote for
	                    * KEY/STRING) */
};

struct hr_jscan {
	const char *p; /* borrowed input */
	size_t n, pos;
	unsigned depth, max_depth;
	unsigned state;                          /* private: what the grammar expects next */
	int err;                                 /* 0, or the sticky error */
	size_t err_off;                          /* where the error was found */
	const char *err_what;                    /* static text: what is wrong there */
	uint64_t stack[HR_JSCAN_MAX_DEPTH / 64]; /* bit i set: level i+1 is an object */
};

/* Starts scanning p[0..n) (need not end in NUL; borrowed until the last token is used).
 * max_depth: most objects and arrays open at once; 0 or more than HR_JSCAN_MAX_DEPTH means
 * HR_JSCAN_MAX_DEPTH. Cannot fail. */
void hr_jscan_init(struct hr_jscan *s, const char *p, size_t n, unsigned max_depth);

/* Reads the next token into *t. Returns its kind (> 0), HR_JSCAN_END (0, again on every
 * later call) once the top-level value is complete and only whitespace follows it, or
 * HR_EINVAL when the input is not valid JSON or nests deeper than max_depth (see
 * hr_jscan_error()); *t is then unspecified. */
int hr_jscan_next(struct hr_jscan *s, struct hr_jscan_tok *t);

/* Skips the rest of the value that begins with token *t (the token just returned): for
 * OBJ_BEGIN/ARR_BEGIN it validates and consumes up to the matching end; for a scalar it
 * does nothing; for a KEY it skips the member's value. Returns 0 or HR_EINVAL (as
 * hr_jscan_next(); also for a *t that starts no value, such as OBJ_END). */
int hr_jscan_skip(struct hr_jscan *s, const struct hr_jscan_tok *t);

/* Depth (open objects and arrays) after the last token: 1 right after the top-level
 * OBJ_BEGIN, 0 again after its OBJ_END. */
static inline unsigned hr_jscan_depth(const struct hr_jscan *s)
{
	return s->depth;
}

/* After an error: returns its byte offset in the input and sets *what (static text, e.g.
 * "invalid escape in a string") when what is non-NULL. Returns 0 and "no error" before. */
size_t hr_jscan_error(const struct hr_jscan *s, const char **what);

/* 1-based line and column (in bytes) of offset off in the input, for messages. */
void hr_jscan_where(const struct hr_jscan *s, size_t off, unsigned long *line, unsigned long *col);

/* Whether the decoded text of a KEY/STRING token equals the C string c byte for byte
 * ("fin\u0069sh_reason" equals "finish_reason"; a decoded NUL never matches, since c
 * cannot hold one). False for other kinds. c is only read. */
bool hr_jscan_str_eq(const struct hr_jscan_tok *t, const char *c);

/* The same against c[0..n) (need not end in NUL, may hold NULs), inline for the common case
 * of a token without escapes. HR_JSCAN_EQ(t, "literal") passes the literal's length. */
bool hr_jscan_str_eqn_escaped_(const struct hr_jscan_tok *t, const char *c, size_t n);
static inline bool hr_jscan_str_eqn(const struct hr_jscan_tok *t, const char *c, size_t n)
{
	if (t->len != n || (t->kind != HR_JSCAN_KEY && t->kind != HR_JSCAN_STRING))
		return false;
	if (!(t->flags & HR_JSCAN_F_ESCAPED))
		return n == 0 || memcmp(t->raw.ptr, c, n) == 0;
	return hr_jscan_str_eqn_escaped_(t, c, n);
}
#define HR_JSCAN_EQ(t, lit) hr_jscan_str_eqn((t), "" lit, sizeof(lit) - 1)

/* Decoded length in bytes of a KEY/STRING token (t->len); 0 for other kinds. */
static inline size_t hr_jscan_str_len(const struct hr_jscan_tok *t)
{
	return t->kind == HR_JSCAN_KEY || t->kind == HR_JSCAN_STRING ? t->len : 0;
}

/* Decodes a KEY/STRING token's text into dst: at most cap bytes, no NUL added, a multi-byte
 * character that does not fit whole is cut where cap ends (the caller trims as it likes).
 * Returns the full decoded length (t->len, may exceed cap), like snprintf; 0 for other
 * kinds. The decoded text may contain NUL bytes (from "\u0000"). */
size_t hr_jscan_str_copy(const struct hr_jscan_tok *t, char *dst, size_t cap);

/* Parses a NUMBER token as an integer. Returns 0 and *out; HR_EINVAL (not a NUMBER, or it
 * has a fraction or an exponent: "1.0" and "1e2" are not integers, as in jansson) or
 * HR_ETOOBIG (outside int64_t); *out is unchanged on error. "-0" is 0. */
int hr_jscan_int64(const struct hr_jscan_tok *t, int64_t *out);

#endif
