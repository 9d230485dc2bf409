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
#include "providers/chat.h"

struct hr_policy_result {
	enum hr_policy_action action;  /* the strictest action of the classes found */
	uint32_t count[HR_PII__COUNT]; /* findings per class (values are never kept) */
	bool checked;                  /* the detectors ran (some class has an action) */
	int err;                       /* the detectors could not finish: HR_E*; else 0 */
	/* "card:2,email:1" (classes with an action other than allow), or "error:<code>";
	 * NULL when nothing was found. For the record, the log and the error message. */
	const char *summary;
};

/* Runs the policy of c over rq. Never fails open: an error of the detectors sets err and
 * action = c->policy.on_error. Returns 0, or HR_ENOMEM (the arena is full: the caller
 * refuses the request). When every class is allowed the detectors do not run. */
int hr_policy_check(struct hr_arena *a, const struct hr_conf *c, const struct hr_chat_req *rq,
                    struct hr_policy_result *out);

#endif
