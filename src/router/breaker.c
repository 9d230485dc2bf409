/* breaker.c - one circuit breaker per model (deployment), by name, in a table that survives
 * config reloads; thread-safe (one mutex: each call is a few loads and stores).
 *
 * States: closed (calls go) -> open after failures_to_open consecutive failures, or when at
 * least rate_min_calls calls in the last rate_window_ms failed at rate_to_open or more (a
 * provider failing every other call never fails five in a row) (calls are refused for the
 * cool-down) -> half-open once the cool-down is over: one call, the probe,
 * may go (hr_breaker_allow() returns true once). Its outcome decides: a success closes the
 * breaker and resets the cool-down; a failure reopens it with the cool-down doubled, capped
 * at max_cooldown_ms. A probe whose outcome never comes (a call lost without a report) does
 * not wedge it: after another cool-down in half-open, a new probe may go. A success that
 * arrives while the breaker is open comes from a call begun before it opened: it is ignored,
 * or under load the slow calls still in flight would close the breaker as soon as it opened
 * (it flapped hundreds of times in 30 s of a provider failing every other call). In
 * half-open, a success closes it.
 *
 * Memory: a table of names (core/nametab.h) of up to HR_MAX_MODELS names; names beyond that
 * are never tracked and always closed. A name is only added by a failure: successes and
 * allow() of unknown names need no entry. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/nametab.h"
#include "router/router.h"

#define DEF_FAILURES_TO_OPEN 5
#define DEF_COOLDOWN_MS      5000
#define DEF_MAX_COOLDOWN_MS  60000
#define DEF_RATE_TO_OPEN     0.5
#define DEF_RATE_MIN_CALLS   20
#define DEF_RATE_WINDOW_MS   10000
#define N_BUCKETS            10 /* the window, in slices: old slices drop out whole */

enum bstate { B_CLOSED, B_OPEN, B_HALF_OPEN };

static const char *const state_name[] = {"closed", "open", "half-open"};

struct breaker {
	enum bstate state;
	int failures;        /* consecutive, while closed */
	int64_t since_ms;    /* open: when it opened; half-open: when the probe went */
	int64_t cooldown_ms; /* the current open period */
	/* outcomes while closed, in N_BUCKETS slices of the window; counted from the model's
	 * first failure (entries are made by failures) */
	int64_t slice; /* the slice number (now / slice length) of the newest bucket */
	int calls[N_BUCKETS], fails[N_BUCKETS];
};

struct hr_breakers {
	pthread_mutex_t mu;
	struct hr_breaker_conf conf;
	struct hr_nametab tab; /* name -> struct breaker */
	hr_breaker_change_fn on_change; /* set before any call; may be NULL */
	void *on_change_arg;
};

void hr_breakers_on_change(struct hr_breakers *b, hr_breaker_change_fn fn, void *arg)
{
	b->on_change = fn;
	b->on_change_arg = arg;
}

struct hr_breakers *hr_breakers_new(const struct hr_breaker_conf *bc)
{
	struct hr_breakers *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	if (bc)
		b->conf = *bc;
	if (b->conf.failures_to_open <= 0)
		b->conf.failures_to_open = DEF_FAILURES_TO_OPEN;
	if (b->conf.cooldown_ms <= 0)
		b->conf.cooldown_ms = DEF_COOLDOWN_MS;
	if (b->conf.max_cooldown_ms <= 0)
		b->conf.max_cooldown_ms = DEF_MAX_COOLDOWN_MS;
	if (b->conf.max_cooldown_ms < b->conf.cooldown_ms)
		b->conf.max_cooldown_ms = b->conf.cooldown_ms;
	if (!(b->conf.rate_to_open > 0))
		b->conf.rate_to_open = DEF_RATE_TO_OPEN;
	if (b->conf.rate_min_calls <= 0)
		b->conf.rate_min_calls = DEF_RATE_MIN_CALLS;
	if (b->conf.rate_window_ms < N_BUCKETS)
		b->conf.rate_window_ms = DEF_RATE_WINDOW_MS;
	if (pthread_mutex_init(&b->mu, NULL) != 0) {
		free(b);
		return NULL;
	}
	hr_nametab_init(&b->tab, sizeof(struct breaker), HR_MAX_MODELS);
	return b;
}

void hr_breakers_free(struct hr_breakers *b)
{
	if (!b)
		return;
	hr_nametab_free(&b->tab);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static struct breaker *find(struct hr_breakers *b, const char *name)
{
	return hr_nametab_find(&b->tab, name);
}

/* The entry of name, added closed when absent; NULL past the cap or on OOM (the model is
 * then treated as always closed). */
static struct breaker *find_or_add(struct hr_breakers *b, const char *name)
{
	struct breaker *e = find(b, name);
	if (e || !(e = hr_nametab_add(&b->tab, name)))
		return e;
	e->state = B_CLOSED;
	e->cooldown_ms = b->conf.cooldown_ms;
	return e;
}

/* Counts an outcome in the window; true when the error rate now opens the breaker. */
static bool count(const struct hr_breakers *b, struct breaker *e, bool ok, int64_t now_ms)
{
	int64_t slice = now_ms / (b->conf.rate_window_ms / N_BUCKETS);
	int64_t gap = slice - e->slice;
	if (gap < 0) /* a clock from another thread, a little behind: count it as now */
		gap = 0;
	for (int64_t i = 1; i <= gap && i <= N_BUCKETS; i++) {
		size_t k = (size_t)((e->slice + i) % N_BUCKETS);
		e->calls[k] = e->fails[k] = 0;
	}
	if (gap > 0)
		e->slice = slice;
	size_t k = (size_t)(e->slice % N_BUCKETS);
	e->calls[k]++;
	e->fails[k] += !ok;
	int calls = 0, fails = 0;
	for (size_t i = 0; i < N_BUCKETS; i++)
		calls += e->calls[i], fails += e->fails[i];
	return !ok && calls >= b->conf.rate_min_calls &&
	       (double)fails >= b->conf.rate_to_open * (double)calls;
}

static void clear_window(struct breaker *e)
{
	memset(e->calls, 0, sizeof e->calls);
	memset(e->fails, 0, sizeof e->fails);
}

/* The one place a breaker changes state. */
static void set_state(struct hr_breakers *b, struct breaker *e, enum bstate to, int64_t now_ms)
{
	const char *name = hr_nametab_name(&b->tab, e);
	if (e->state == to)
		return;
	if (to == B_OPEN)
		HR_LOG_WARN(ROUTE, "breaker '%s' %s -> open for %lld ms", name,
		            state_name[e->state], (long long)e->cooldown_ms);
	else
		HR_LOG_INFO(ROUTE, "breaker '%s' %s -> %s", name, state_name[e->state],
		            state_name[to]);
	if (b->on_change)
		b->on_change(b->on_change_arg, name, state_name[e->state], state_name[to]);
	e->state = to;
	e->since_ms = now_ms;
}

bool hr_breaker_allow(struct hr_breakers *b, const char *model, int64_t now_ms)
{
	if (!b)
		return true;
	pthread_mutex_lock(&b->mu);
	bool ok = true;
	struct breaker *e = find(b, model);
	if (e && e->state != B_CLOSED) {
		/* open: the cool-down is over, this call is the probe; half-open: a probe is out,
		 * unless it has been out for a whole cool-down (lost) */
		ok = now_ms - e->since_ms >= e->cooldown_ms;
		if (ok) {
			set_state(b, e, B_HALF_OPEN, now_ms);
			e->since_ms = now_ms;
		}
	}
	pthread_mutex_unlock(&b->mu);
	return ok;
}

void hr_breaker_report(struct hr_breakers *b, const char *model, bool ok, int64_t now_ms)
{
	if (!b)
		return;
	pthread_mutex_lock(&b->mu);
	struct breaker *e = ok ? find(b, model) : find_or_add(b, model);
	if (e && ok && e->state != B_OPEN) {
		if (e->state == B_CLOSED)
			(void)count(b, e, true, now_ms);
		else
			clear_window(e); /* it recovered: judge it afresh */
		e->failures = 0;
		e->cooldown_ms = b->conf.cooldown_ms;
		set_state(b, e, B_CLOSED, now_ms);
	} else if (e && !ok) {
		switch (e->state) {
		case B_CLOSED: {
			bool rate = count(b, e, false, now_ms);
			if (++e->failures >= b->conf.failures_to_open || rate) {
				if (rate)
					HR_LOG_WARN(
					    ROUTE,
					    "breaker '%s': error rate over %.0f%% in %lld ms",
					    hr_nametab_name(&b->tab, e), b->conf.rate_to_open * 100,
					    (long long)b->conf.rate_window_ms);
				e->cooldown_ms = b->conf.cooldown_ms;
				clear_window(e);
				set_state(b, e, B_OPEN, now_ms);
			}
			break;
		}
		case B_HALF_OPEN:
			e->cooldown_ms = e->cooldown_ms > b->conf.max_cooldown_ms / 2
			                     ? b->conf.max_cooldown_ms
			                     : e->cooldown_ms * 2;
			set_state(b, e, B_OPEN, now_ms);
			break;
		case B_OPEN: /* a call begun before it opened: already counted as down */ break;
		}
	}
	pthread_mutex_unlock(&b->mu);
}

const char *hr_breaker_state(struct hr_breakers *b, const char *model, int64_t now_ms)
{
	if (!b)
		return state_name[B_CLOSED];
	pthread_mutex_lock(&b->mu);
	enum bstate s = B_CLOSED;
	struct breaker *e = find(b, model);
	if (e) {
		s = e->state;
		/* open with its cool-down over: the next call is a probe */
		if (s == B_OPEN && now_ms - e->since_ms >= e->cooldown_ms)
			s = B_HALF_OPEN;
	}
	pthread_mutex_unlock(&b->mu);
	return state_name[s];
}

bool hr_route_retryable(int err)
{
	if (err > 0) /* an HTTP status from the provider */
		return err == 408 || err == 429 || (err >= 500 && err <= 599);
	switch (err) {
	case HR_ECONNECT:
	case HR_ETIMEOUT:
	case HR_ERATELIMIT:
	case HR_EUPSTREAM:
	case HR_EOVERLOADED:
	case HR_ESTREAM_CUT: /* only before the first byte reached the client: the caller's part */
		return true;
	default:
		/* HR_EUPSTREAM_BAD (an answer that does not decode) is not retried: the same
		 * request to the same provider most likely gets the same answer. Neither are the
		 * client's own errors, the provider's 4xx (auth, not found, too large) nor
		 * hearth's. */
		return false;
	}
}

bool hr_route_next_ok(int err)
{
	if (err > 0)
		return err == 401 || err == 403 || err == 404;
	return err == HR_EUPSTREAM_AUTH || err == HR_EUPSTREAM_NOTFOUND || err == HR_ELOCAL_MODEL;
}
