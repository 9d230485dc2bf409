/* policy.h - the data policy applied to a chat request before routing: the detectors run
 * over everything the request would send a model (messages, tool results and calls, the
 * system prompt) and the config's action per class decides — allow, local models only, or
 * block. Fails closed: when the detectors cannot finish, policy.on_error applies.
 *
 * Ownership: the result is plain data; its summary lives in the arena passed in. */
#ifndef HR_POLICY_H
#define HR_POLICY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/pii.h"
#include "governance/redact.h"
#include "providers/chat.h"

/* A finding of a class that some destination redacts: where it is in the request. */
struct hr_policy_span {
	uint32_t msg, part; /* indexes into rq->msgs and its parts */
	uint8_t field;      /* 0: the part's text; 1: its tool-call arguments (JSON text) */
	uint16_t cls;       /* enum hr_pii_class */
	uint32_t start, end;
	const struct hr_redact_entry *e; /* its placeholder */
};

struct hr_policy_result {
	enum hr_policy_action action;  /* the strictest action of the classes found */
	uint32_t count[HR_PII__COUNT]; /* findings per class (values are never kept) */
	bool checked;                  /* the detectors ran (some class has an action) */
	int err;                       /* the detectors could not finish: HR_E*; else 0 */
	/* "card:2,email:1" (classes with an action other than allow), or "error:<code>";
	 * NULL when nothing was found. For the record, the log and the error message. */
	const char *summary;
	/* redaction: the findings of classes some destination redacts, merged and sorted by
	 * place, and their placeholders (arena; never logged or stored) */
	struct hr_policy_span *spans;
	size_t n_spans, cap_spans;
	struct hr_redact_map map;
};

/* Runs the policy of c over rq. Never fails open: an error of the detectors sets err and
 * action = c->policy.on_error. Returns 0, or HR_ENOMEM (the arena is full: the caller
 * refuses the request). When every class is allowed the detectors do not run. */
int hr_policy_check(struct hr_arena *a, const struct hr_conf *c, const struct hr_chat_req *rq,
                    struct hr_policy_result *out);

/* The request as a model of locality loc may see it: rq itself when no class found is
 * redacted for loc, else a copy in a whose text has each finding of those classes replaced
 * by its placeholder (the client's body and bytes are dropped from the copy, so codecs
 * encode it from the canonical fields). counted[] gets the replacements per class.
 * Returns 0 with *out, or HR_ENOMEM: the caller refuses the request, never sends it
 * unredacted. */
int hr_policy_redact(struct hr_arena *a, const struct hr_conf *c,
                     const struct hr_policy_result *pol, const struct hr_chat_req *rq,
                     enum hr_locality loc, const struct hr_chat_req **out,
                     uint32_t counted[HR_PII__COUNT]);

#endif
