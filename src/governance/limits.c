/* limits.c - the budget ledger (spent + reserved per budget and period) and the rate limiters
 * (fixed one-minute UTC windows), behind one mutex; see limits.h. */
#include "governance/limits.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"

#define MINUTE_MS 60000LL
#define EPSILON   1e-9 /* dollars: sums of doubles may differ in their last bits */

struct budget {
	struct hr_conf_budget c; /* c.id points into id */
	char id[128];
	char name[192];
	int64_t period_start, period_end;
	double spent, reserved;
	bool seeded;
	size_t alerted; /* thresholds of c.alert_at already fired this period */
};

struct rate {
	struct hr_conf_rate_limit c;
	char id[128];
	int64_t window; /* the minute counted (now_ms / 60000) */
	long requests, tokens;
};

struct hr_limits {
	pthread_mutex_t mu;
	struct budget *b;
	size_t n_b;
	struct rate *r;
	size_t n_r;
	hr_limits_threshold_cb on_threshold;
	void *cb_arg;
	hr_limits_sum_fn sum;
	void *sum_arg;
};

static const char *const scope_names[] = {"global", "key", "user", "team", "task"};

int64_t hr_limits_period_start(enum hr_period p, int64_t now_ms, bool next)
{
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	if (p == HR_PERIOD_MONTH)
		tm.tm_mday = 1;
	if (next) {
		if (p == HR_PERIOD_MONTH)
			tm.tm_mon++;
		else
			tm.tm_mday++;
	}
	return (int64_t)timegm(&tm) * 1000;
}

static void copy_id(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

int hr_limits_new(const struct hr_conf *c, struct hr_limits **out)
{
	*out = NULL;
	if (!c->n_budgets && !c->n_rate_limits)
		return 0;
	struct hr_limits *l = calloc(1, sizeof *l);
	if (!l)
		return HR_ENOMEM;
	l->b = calloc(c->n_budgets ? c->n_budgets : 1, sizeof *l->b);
	l->r = calloc(c->n_rate_limits ? c->n_rate_limits : 1, sizeof *l->r);
	if (!l->b || !l->r) {
		free(l->b), free(l->r), free(l);
		return HR_ENOMEM;
	}
	pthread_mutex_init(&l->mu, NULL);
	for (size_t i = 0; i < c->n_budgets; i++) {
		struct budget *b = &l->b[l->n_b++];
		b->c = c->budgets[i];
		copy_id(b->id, sizeof b->id, b->c.id);
		b->c.id = b->c.id ? b->id : NULL;
		const char *per = b->c.period == HR_PERIOD_DAY ? "daily" : "monthly";
		if (b->c.id)
			snprintf(b->name, sizeof b->name, "%s %.100s %s", scope_names[b->c.scope], b->id,
			         per);
		else
			snprintf(b->name, sizeof b->name, "global %s", per);
	}
	for (size_t i = 0; i < c->n_rate_limits; i++) {
		struct rate *r = &l->r[l->n_r++];
		r->c = c->rate_limits[i];
		copy_id(r->id, sizeof r->id, r->c.id);
		r->c.id = r->id;
		r->window = -1;
	}
	*out = l;
	return 0;
}

void hr_limits_free(struct hr_limits *l)
{
	if (!l)
		return;
	pthread_mutex_destroy(&l->mu);
	free(l->b);
	free(l->r);
	free(l);
}

void hr_limits_on_threshold(struct hr_limits *l, hr_limits_threshold_cb cb, void *arg)
{
	l->on_threshold = cb;
	l->cb_arg = arg;
}

/* Moves b to the period containing now_ms (lock held). A new period starts at $0 spent
 * (the usage of the new period so far is what settles into it); reservations in flight stay
 * and settle into it. Each period is seeded from the usage table (the sum function). */
static void roll(struct hr_limits *l, struct budget *b, int64_t now_ms)
{
	if (b->period_end && now_ms < b->period_end && now_ms >= b->period_start && b->seeded)
		return; /* an unseeded budget asks the usage table again */
	b->period_start = hr_limits_period_start(b->c.period, now_ms, false);
	b->period_end = hr_limits_period_start(b->c.period, now_ms, true);
	b->spent = 0;
	b->alerted = 0;
	b->seeded = true;
	if (l->sum) {
		double s = 0;
		b->seeded = l->sum(l->sum_arg, b->c.scope, b->c.id, b->period_start, &s) == 0;
		b->spent = b->seeded ? s : 0;
		/* thresholds already behind us were announced before the restart */
		while (b->alerted < b->c.n_alert_at &&
		       b->spent + EPSILON >= b->c.alert_at[b->alerted] * b->c.limit_usd)
			b->alerted++;
	}
}

int hr_limits_seed(struct hr_limits *l, int64_t now_ms, hr_limits_sum_fn sum, void *arg)
{
	int rc = 0;
	pthread_mutex_lock(&l->mu);
	l->sum = sum, l->sum_arg = arg;
	for (size_t i = 0; i < l->n_b; i++) {
		l->b[i].period_end = 0;
		roll(l, &l->b[i], now_ms);
		if (!l->b[i].seeded && rc == 0)
			rc = HR_EIO;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static bool matches(enum hr_limit_scope scope, const char *id, const struct hr_limits_who *w)
{
	const char *v = NULL;
	switch (scope) {
	case HR_SCOPE_GLOBAL: return true;
	case HR_SCOPE_KEY: v = w->key_id; break;
	case HR_SCOPE_USER: v = w->user_id; break;
	case HR_SCOPE_TEAM: v = w->team_id; break;
	case HR_SCOPE_TASK: v = w->task; break;
	}
	return v && id && strcmp(v, id) == 0;
}

static double held_in(const struct hr_limits_hold *h, size_t idx)
{
	for (size_t i = 0; h && i < h->n_b; i++)
		if (h->b[i].idx == idx)
			return h->b[i].amount;
	return 0;
}

static void budget_why(const struct budget *b, struct hr_limits_why *why)
{
	memset(why, 0, sizeof *why);
	snprintf(why->name, sizeof why->name, "%s", b->name);
	why->budget = true;
	why->spent = b->spent;
	why->limit_usd = b->c.limit_usd;
	why->reset_ms = b->period_end;
}

int hr_limits_reserve(struct hr_limits *l, const struct hr_limits_who *who, double amount,
                      int64_t now_ms, struct hr_limits_hold *hold, struct hr_limits_why *why)
{
	int rc = 0;
	size_t n = 0;
	size_t idx[HR_LIMITS_MAX_HELD];
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_b && rc == 0; i++) {
		struct budget *b = &l->b[i];
		if (!matches(b->c.scope, b->c.id, who))
			continue;
		roll(l, b, now_ms);
		double held = held_in(hold, i);
		if (!b->seeded || n == HR_LIMITS_MAX_HELD ||
		    b->spent + b->reserved - held + amount > b->c.limit_usd + EPSILON) {
			budget_why(b, why);
			rc = HR_EBUDGET;
			break;
		}
		idx[n++] = i;
	}
	for (size_t k = 0; k < n && rc == 0; k++) {
		struct budget *b = &l->b[idx[k]];
		size_t j = 0;
		while (j < hold->n_b && hold->b[j].idx != idx[k])
			j++;
		if (j == hold->n_b) {
			hold->n_b++;
			hold->b[j].idx = idx[k];
			hold->b[j].amount = 0;
		}
		b->reserved += amount - hold->b[j].amount;
		hold->b[j].amount = amount;
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

static void rate_why(const struct rate *r, bool tokens, long used, struct hr_limits_why *why)
{
	memset(why, 0, sizeof *why);
	why->kind = tokens ? "tokens" : "requests";
	snprintf(why->name, sizeof why->name, "%s %.100s %s per minute", scope_names[r->c.scope],
	         r->id, why->kind);
	why->limit = tokens ? r->c.tokens_per_minute : r->c.requests_per_minute;
	why->remaining = why->limit > used ? why->limit - used : 0;
	why->reset_ms = (r->window + 1) * MINUTE_MS;
}

int hr_limits_admit(struct hr_limits *l, const struct hr_limits_who *who, long tokens,
                    int64_t now_ms, struct hr_limits_hold *hold, struct hr_limits_why *why)
{
	int rc = 0;
	size_t n = 0;
	size_t idx[HR_LIMITS_MAX_HELD];
	int64_t window = now_ms / MINUTE_MS;
	memset(why, 0, sizeof *why);
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_r; i++) {
		struct rate *r = &l->r[i];
		if (!matches(r->c.scope, r->c.id, who))
			continue;
		if (r->window != window) {
			r->window = window;
			r->requests = r->tokens = 0;
		}
		if (n == HR_LIMITS_MAX_HELD ||
		    (r->c.requests_per_minute && r->requests + 1 > r->c.requests_per_minute)) {
			rate_why(r, false, r->requests, why);
			rc = HR_ELIMITED;
			break;
		}
		if (r->c.tokens_per_minute && r->tokens + tokens > r->c.tokens_per_minute) {
			rate_why(r, true, r->tokens, why);
			rc = HR_ELIMITED;
			break;
		}
		idx[n++] = i;
	}
	long best = -1;
	for (size_t k = 0; k < n && rc == 0; k++) {
		struct rate *r = &l->r[idx[k]];
		r->requests++;
		r->tokens += tokens;
		hold->r[hold->n_r].idx = idx[k];
		hold->r[hold->n_r].window = window;
		hold->r[hold->n_r].tokens = tokens;
		hold->n_r++;
		long left = r->c.requests_per_minute - r->requests;
		if (r->c.requests_per_minute && (best < 0 || left < best)) {
			best = left;
			rate_why(r, false, r->requests, why);
		}
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void hr_limits_settle(struct hr_limits *l, struct hr_limits_hold *hold, double cost_usd,
                      long tokens, int64_t now_ms)
{
	struct {
		size_t idx;
		double share, spent;
	} fired[HR_LIMITS_MAX_HELD * HR_MAX_ALERTS];
	size_t n_fired = 0;
	if (!l || (!hold->n_b && !hold->n_r))
		return;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < hold->n_b; i++) {
		struct budget *b = &l->b[hold->b[i].idx];
		b->reserved -= hold->b[i].amount;
		if (b->reserved < EPSILON)
			b->reserved = 0;
		roll(l, b, now_ms);
		b->spent += cost_usd;
		while (b->alerted < b->c.n_alert_at &&
		       b->spent + EPSILON >= b->c.alert_at[b->alerted] * b->c.limit_usd) {
			fired[n_fired].idx = hold->b[i].idx;
			fired[n_fired].share = b->c.alert_at[b->alerted];
			fired[n_fired].spent = b->spent;
			n_fired++;
			b->alerted++;
		}
	}
	for (size_t i = 0; i < hold->n_r; i++) {
		struct rate *r = &l->r[hold->r[i].idx];
		if (r->window != hold->r[i].window)
			continue; /* a later minute: it counts from 0 */
		r->tokens += tokens - hold->r[i].tokens;
		if (r->tokens < 0)
			r->tokens = 0;
	}
	hold->n_b = hold->n_r = 0;
	hr_limits_threshold_cb cb = l->on_threshold;
	void *arg = l->cb_arg;
	pthread_mutex_unlock(&l->mu);
	for (size_t i = 0; cb && i < n_fired; i++) {
		const struct budget *b = &l->b[fired[i].idx]; /* name and limit never change */
		cb(arg, b->name, fired[i].share, fired[i].spent, b->c.limit_usd);
	}
}

bool hr_limits_downgrade(struct hr_limits *l, const struct hr_limits_who *who,
                         const struct hr_limits_hold *hold, int64_t now_ms)
{
	bool down = false;
	if (!l)
		return false;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_b && !down; i++) {
		struct budget *b = &l->b[i];
		if (b->c.downgrade_at <= 0 || !matches(b->c.scope, b->c.id, who))
			continue;
		roll(l, b, now_ms);
		down = b->spent + b->reserved - held_in(hold, i) + EPSILON >=
		       b->c.downgrade_at * b->c.limit_usd;
	}
	pthread_mutex_unlock(&l->mu);
	return down;
}
