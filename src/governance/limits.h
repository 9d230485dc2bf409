/* limits.h - budgets and rate limits (budgets:, rate_limits: in the config): the ledger that
 * admits a request or says which limit refuses it and when that limit resets.
 * Invariants: one mutex guards every counter, so a check and its reservation are one step
 * across worker threads (budgets are exact under concurrency: spent + reserved never exceeds
 * a limit by what reservations admit); no I/O and no clock of its own (callers pass now_ms),
 * so the arithmetic is unit-tested directly. A budget whose spent amount could not be
 * read from the usage table at seed admits nothing (fail closed). */
#ifndef HR_GOV_LIMITS_H
#define HR_GOV_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/conf.h"

struct hr_limits;

/* Who a request is, as budgets and rate limits see it. Strings borrowed; NULL: none. */
struct hr_limits_who {
	const char *key_id, *user_id, *team_id, *task;
};

#define HR_LIMITS_MAX_HELD 16 /* budgets and rate limits one request can match */

/* What one request holds: its reservation in each budget it matched, and its tokens in
 * each rate limit. Zeroed by the caller; filled by hr_limits_reserve/admit; given back by
 * hr_limits_settle (exactly once: settle empties it). */
struct hr_limits_hold {
	size_t n_b;
	struct {
		size_t idx;
		double amount;
	} b[HR_LIMITS_MAX_HELD];
	size_t n_r;
	struct {
		size_t idx;
		int64_t window;
		long tokens;
	} r[HR_LIMITS_MAX_HELD];
};

/* Why a request is refused (or, for hr_limits_admit, the tightest rate limit that admitted
 * it: limit, remaining and reset_ms for the X-RateLimit-* headers). */
struct hr_limits_why {
	char name[192]; /* "team team_x monthly", "key key_a requests per minute" */
	bool budget;    /* a budget (else a rate limit) */
	double spent, limit_usd;
	long limit, remaining; /* rate limits: of the counted kind */
	const char *kind;      /* "requests" or "tokens" */
	int64_t reset_ms;      /* Unix ms when the limit starts again */
};

/* A threshold crossing (budgets[].alert_at): called once per threshold and period, after
 * the ledger's lock is released, on the thread that settled. name as in hr_limits_why. */
typedef void (*hr_limits_threshold_cb)(void *arg, const char *name, double share, double spent,
                                       double limit_usd);

/* The spent amount of a budget since since_ms (the period's start): the usage table's sum of
 * cost_usd for the scope (id NULL: global). Returns 0 or a negative HR_E* code. */
typedef int (*hr_limits_sum_fn)(void *arg, enum hr_limit_scope scope, const char *id,
                                int64_t since_ms, double *out);

/* A ledger for c's budgets and rate limits (copied: c may go). Returns 0 and *out (owned:
 * hr_limits_free), or HR_ENOMEM. *out is NULL when c has neither (nothing to check). */
int hr_limits_new(const struct hr_conf *c, struct hr_limits **out);
void hr_limits_free(struct hr_limits *l);
/* Sets the threshold callback (before serving). */
void hr_limits_on_threshold(struct hr_limits *l, hr_limits_threshold_cb cb, void *arg);
/* Seeds every budget's spent amount for the period containing now_ms. A budget whose sum
 * fails stays unseeded and refuses every request until a later period start re-seeds
 * (sum is kept for that). Returns 0, or the first error (the ledger is usable anyway). */
int hr_limits_seed(struct hr_limits *l, int64_t now_ms, hr_limits_sum_fn sum, void *arg);

/* Reserves amount in every budget who matches, replacing what hold already reserves there
 * (a fallback's attempt re-reserves its own worst case). All or nothing. Returns 0, or
 * HR_EBUDGET with *why naming the first budget it does not fit (hold unchanged). */
int hr_limits_reserve(struct hr_limits *l, const struct hr_limits_who *who, double amount,
                      int64_t now_ms, struct hr_limits_hold *hold, struct hr_limits_why *why);
/* Counts one request of tokens tokens in every rate limit who matches, all or nothing.
 * Returns 0 with *why the tightest requests-per-minute limit matched (why->name[0] == 0:
 * none), or HR_ELIMITED with *why naming the limit that refuses. */
int hr_limits_admit(struct hr_limits *l, const struct hr_limits_who *who, long tokens,
                    int64_t now_ms, struct hr_limits_hold *hold, struct hr_limits_why *why);
/* The request ended having cost cost_usd and used tokens tokens: its reservations become
 * that spent amount, its rate-limit tokens that count (in the same minute). Empties hold.
 * Fires the threshold callback for thresholds crossed. */
void hr_limits_settle(struct hr_limits *l, struct hr_limits_hold *hold, double cost_usd,
                      long tokens, int64_t now_ms);
/* True when a budget who matches has reached its downgrade_at share (spent + reserved),
 * leaving out what hold itself reserves. */
bool hr_limits_downgrade(struct hr_limits *l, const struct hr_limits_who *who,
                         const struct hr_limits_hold *hold, int64_t now_ms);

/* The start of the period containing now_ms and of the next one (UTC), Unix ms. */
int64_t hr_limits_period_start(enum hr_period p, int64_t now_ms, bool next);

#endif
