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

/* The budget named name passed threshold percent (it is at pct percent now): one
 * "budget_threshold" alert (audit event, webhook). The budget ledger (governance/limits.h)
 * calls it once per configured threshold (budgets[].alert_at) per period. a NULL: no-op. */
void hr_alert_budget(struct hr_alerts *a, const char *name, double pct, double threshold);

/* Counters since start, for tests and metrics. */
struct hr_alerts_stats {
	uint64_t raised, delivered, failed, dropped; /* webhook: delivered/failed after retries */
};
void hr_alerts_stats(struct hr_alerts *a, struct hr_alerts_stats *out);

#endif
