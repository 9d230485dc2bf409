/* detect.h - the data-policy detectors: find personal data, secrets and operator-listed terms
 * in a text and report them as typed byte spans. Pure, linear-time and allocation-free.
 *
 * Invariants: the caller owns every buffer. hr_detect() reads text[0, len) (not NUL-terminated
 * text) and writes at most out->cap spans into out->v; it never allocates, never reads past
 * len, and is safe on any bytes (invalid UTF-8 included). The spans it returns are sorted by
 * start and never overlap. When it cannot finish (input over opts->max_input, more spans than
 * out->cap, an invalid option) it returns a negative code and out->n is 0: a caller must treat
 * that as "could not check" and fail closed, never as "clean". */
#ifndef HR_GOVERNANCE_DETECT_H
#define HR_GOVERNANCE_DETECT_H

#include <stddef.h>
#include <stdint.h>

#include "core/pii.h"
#include "core/str.h"

#define HR_PII_BIT(c) (1u << (c))
#define HR_PII_ALL    ((1u << HR_PII__COUNT) - 1)

/* Caps (not configurable: structural bounds of one call; the policy layer splits longer
 * text into pieces of at most max_input bytes, with an overlap, itself). */
#define HR_DETECT_DEF_MAX_INPUT (256u * 1024) /* default bytes per call */
#define HR_DETECT_MAX_KEYWORDS  1024          /* entries in opts->keywords */
#define HR_DETECT_MAX_KEYWORD   128           /* bytes in one keyword */
#define HR_DETECT_MAX_PATTERNS  64            /* entries in opts->patterns */
#define HR_DETECT_MAX_PATTERN   64            /* bytes in one pattern */

/* An operator pattern: a fixed sequence of character classes, matched as a whole word.
 *   #  an ASCII digit          @  an ASCII letter        ?  a digit or letter
 *   \x the byte x itself       any other byte matches itself (letters case-insensitively)
 * e.g. "PRJ-####" finds "PRJ-0042", "\#@@-###" finds "#AB-123". No repetition, so a match is
 * at most HR_DETECT_MAX_PATTERN bytes and the scan stays linear. */
struct hr_detect_pattern {
	struct hr_str pat;
};

/* What to look for. Zero-initialised means: every built-in class, default input cap, no
 * keywords or patterns. A config loader fills it; the arrays are borrowed for the call. */
struct hr_detect_opts {
	uint32_t classes;              /* HR_PII_BIT() set; 0 = HR_PII_ALL */
	size_t max_input;              /* bytes; 0 = HR_DETECT_DEF_MAX_INPUT */
	const struct hr_str *keywords; /* case-insensitive whole words or phrases (ASCII) */
	size_t n_keywords;
	const struct hr_detect_pattern *patterns;
	size_t n_patterns;
};

struct hr_span {
	uint32_t start, end; /* byte offsets, start < end <= len */
	uint16_t cls;        /* enum hr_pii_class */
	uint16_t rule;       /* for KEYWORD and PATTERN: the index into opts' array; else 0 */
};

/* Caller-provided storage: v has room for cap spans. */
struct hr_spans {
	struct hr_span *v;
	size_t n, cap;
};

/* Finds the spans of text. Returns 0; HR_ETOOBIG (len > max_input); HR_ETOOMANY (more than
 * out->cap spans: the text could not be fully classified); HR_EINVAL (bad opts or NULL out).
 * On any error out->n is 0. Thread-safe: no state outside the arguments. */
int hr_detect(const char *text, size_t len, const struct hr_detect_opts *opts,
              struct hr_spans *out);

/* "email", "phone", ...; "unknown" outside the enum. Static strings. */
const char *hr_pii_label(int cls);
/* The class named label (as hr_pii_label gives it), or -1. */
int hr_pii_from_label(struct hr_str label);

/* Checks used by the detectors, exposed for tests: the digits of s (other bytes skipped). */
int hr_detect_luhn_ok(const char *s, size_t n);
/* IBAN s (spaces allowed, any case): known country, its length, and mod-97 == 1. */
int hr_detect_iban_ok(const char *s, size_t n);

#endif
