/* alerts.h - alerts: a provider went down or came back (its circuit breaker opened or closed
 * again) and a budget crossed a threshold. Each alert is an audit event and, when
 * alerts.webhook_url is set, one JSON POST to that webhook. Raising an alert never blocks:
 * it is queued (bounded; dropped and counted when full) and one background thread appends the
 * audit event and posts the webhook, retrying with backoff (docs/monitoring.md#alerts). */
#ifndef HR_ALERTS_H
#define HR_ALERTS_H

#include <stdbool.h>
#include <stdint.h>

struct hr_alerts;

/* Appends an audit event (action "alert.provider_down", object the model, detail the JSON
 * payload). Called on the alert thread; must be thread-safe. Returns 0 or a negative code. */
typedef int (*hr_alert_audit_fn)(void *arg, const char *action, const char *object,
                                 const char *detail);

/* Starts the alert thread. audit may be NULL (no audit events). The webhook URL, its secret
 * and the service name are read from the current config snapshot for each alert, so a reload
 * changes them. Returns 0 and *out (owned: hr_alerts_stop()), or HR_ENOMEM/HR_EINTERNAL. */
int hr_alerts_start(struct hr_alerts **out, hr_alert_audit_fn audit, void *audit_arg);
/* Delivers what is queued (each webhook tried once more at most), stops the thread and frees
 * a. NULL is a no-op. */
void hr_alerts_stop(struct hr_alerts *a);

/* A model's circuit breaker changed state ("closed", "open", "half-open"): closed -> open
 * raises provider_down, half-open -> closed raises provider_up; other changes raise nothing
 * (a failed probe reopening the breaker is the same outage). Thread-safe, never blocks: it
 * may be called with the breaker table's lock held. a NULL is a no-op. */
void hr_alert_breaker(struct hr_alerts *a, const char *model, const char *from, const char *to);

/* Budget thresholds, in percent of the budget, in ascending order. */
#define HR_ALERT_BUDGET_THRESHOLDS                                                                 \
	{                                                                                          \
		80, 100                                                                            \
	}
#define HR_ALERT_MAX_BUDGETS 1024 /* budgets tracked; more are not alerted on */

/* The budget named name is now at pct percent used (budgets call this on each change).
 * Raises "budget_threshold" once for each threshold crossed upwards since the last call; a
 * lower pct (a new period, a raised budget) re-arms the thresholds above it. Thread-safe.
 * Returns the number of alerts raised. a NULL: the same bookkeeping, nothing sent. */
int hr_alert_budget(struct hr_alerts *a, const char *name, double pct);

/* Counters since start, for tests and metrics. */
struct hr_alerts_stats {
	uint64_t raised, delivered, failed, dropped; /* webhook: delivered/failed after retries */
};
void hr_alerts_stats(struct hr_alerts *a, struct hr_alerts_stats *out);

/* The thresholds crossed going from last to pct (bit i: threshold i), pure: the logic of
 * hr_alert_budget(). */
unsigned hr_alert_budget_crossed(double last, double pct);

#endif
