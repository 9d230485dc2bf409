/* redact.h - the placeholder map of the data policy's redact action: each value found in a
 * request is replaced by a typed placeholder ("[EMAIL_1]", "[PERSON_2]") before a call, and
 * the placeholders in the answer are put back, whole or streamed (a placeholder may be split
 * across stream deltas). Pure: no I/O, no clock, no logging.
 *
 * Invariants: the same value gets the same placeholder within one map; placeholders are
 * numbered per class from 1 in the order values are added. A placeholder that is not in the
 * map (one the model invented) is left as it is. The map's values are personal data: they
 * live in the arena passed in (the request's) and nothing here logs or copies them
 * elsewhere. */
#ifndef HR_GOVERNANCE_REDACT_H
#define HR_GOVERNANCE_REDACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/pii.h"
#include "core/str.h"

struct hr_arena;

/* Longest placeholder: "[" + the longest class name + "_" + 10 digits + "]", rounded up. A
 * held-back prefix of a streamed placeholder never exceeds it. */
#define HR_REDACT_MAX_PLACEHOLDER 40

struct hr_redact_entry {
	struct hr_str value;       /* the original text (arena) */
	struct hr_str placeholder; /* "[EMAIL_1]" (arena) */
	uint16_t cls;              /* enum hr_pii_class */
	uint32_t num;              /* its number within the class, from 1 */
};

/* Zero-initialised is an empty map. Everything it allocates lives in the arena given to
 * hr_redact_map_add(). */
struct hr_redact_map {
	struct hr_redact_entry **slots;                 /* open addressing by value; NULL: free */
	size_t n_slots;                                 /* a power of two, or 0 */
	size_t n;                                       /* entries */
	struct hr_redact_entry **by_cls[HR_PII__COUNT]; /* [cls][num - 1] */
	size_t cap_cls[HR_PII__COUNT];
	uint32_t count[HR_PII__COUNT]; /* entries per class (the last number given) */
};

/* The entry of value p[0..n) (cls is used when it is new). Returns: owned by the map (in
 * a); NULL when the arena is full or n is 0. */
const struct hr_redact_entry *hr_redact_map_add(struct hr_arena *a, struct hr_redact_map *m,
                                                int cls, const char *p, size_t n);

/* The entry whose placeholder is p[0..n) ("[EMAIL_1]", brackets included); NULL if none. */
const struct hr_redact_entry *hr_redact_map_find(const struct hr_redact_map *m, const char *p,
                                                 size_t n);

/* The restorer of one stream of answer text (the text of an answer, or one tool call's
 * arguments). json: the text is JSON (tool-call arguments) and originals are put in with
 * JSON string escaping. It holds back at most HR_REDACT_MAX_PLACEHOLDER bytes: a '[' and
 * what follows while it may still become a placeholder. */
struct hr_redact_stream {
	const struct hr_redact_map *m; /* borrowed */
	bool json;
	char hold[HR_REDACT_MAX_PLACEHOLDER];
	size_t n_hold;
};

void hr_redact_stream_init(struct hr_redact_stream *s, const struct hr_redact_map *m, bool json);
/* Appends to out the restored text of p[0..n) that can be decided now. Returns 0, or
 * HR_ETOOBIG / HR_ENOMEM (out's). Safe on any bytes. */
int hr_redact_stream_feed(struct hr_redact_stream *s, const char *p, size_t n, struct hr_buf *out);
/* The end of the stream: appends what was held back, as it was. Returns 0 or out's error. */
int hr_redact_stream_flush(struct hr_redact_stream *s, struct hr_buf *out);

/* A whole text at once: feed + flush. */
int hr_redact_restore(const struct hr_redact_map *m, bool json, const char *p, size_t n,
                      struct hr_buf *out);

#endif
