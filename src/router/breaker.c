/* breaker.c - one circuit breaker per model (deployment), by name, in a table that survives
 * config reloads; thread-safe (one mutex: each call is a few loads and stores).
 *
 * States: closed (calls go) -> open after failures_to_open consecutive failures (calls are
 * refused for the cool-down) -> half-open once the cool-down is over: one call, the probe,
 * may go (hr_breaker_allow() returns true once). Its outcome decides: a success closes the
 * breaker and resets the cool-down; a failure reopens it with the cool-down doubled, capped
 * at max_cooldown_ms. A probe whose outcome never comes (a call lost without a report) does
 * not wedge it: after another cool-down in half-open, a new probe may go. Any success, even
 * from a call begun before the breaker opened, closes it: the model answers.
 *
 * Memory: an open-addressing hash table of names (copied), grown by doubling up to
 * HR_MAX_MODELS names; names beyond that are never tracked and always closed. A name is
 * only added by a failure: successes and allow() of unknown names need no entry. */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "router/router.h"

#define DEF_FAILURES_TO_OPEN 5
#define DEF_COOLDOWN_MS      5000
#define DEF_MAX_COOLDOWN_MS  60000
#define FIRST_SLOTS          16

enum bstate { B_CLOSED, B_OPEN, B_HALF_OPEN };

static const char *const state_name[] = {"closed", "open", "half-open"};

struct breaker {
	char *name; /* owned; NULL: free slot */
	enum bstate state;
	int failures;        /* consecutive, while closed */
	int64_t since_ms;    /* open: when it opened; half-open: when the probe went */
	int64_t cooldown_ms; /* the current open period */
};

struct hr_breakers {
	pthread_mutex_t mu;
	struct hr_breaker_conf conf;
	struct breaker *slots;
	size_t n_slots, n_used; /* n_slots: a power of two */
};

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
	if (pthread_mutex_init(&b->mu, NULL) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

void hr_breakers_free(struct hr_breakers *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->n_slots; i++)
		free(b->slots[i].name);
	free(b->slots);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot of name, or the free slot where it would go (slots must exist). */
static struct breaker *probe(struct breaker *slots, size_t n_slots, const char *name)
{
	size_t i = (size_t)hash(name) & (n_slots - 1);
	while (slots[i].name && strcmp(slots[i].name, name) != 0)
		i = (i + 1) & (n_slots - 1);
	return &slots[i];
}

static struct breaker *find(struct hr_breakers *b, const char *name)
{
	if (!b->slots || !name)
		return NULL;
	struct breaker *e = probe(b->slots, b->n_slots, name);
	return e->name ? e : NULL;
}

/* Doubles the table (load kept at or under one half). Returns false on OOM. */
static bool grow(struct hr_breakers *b)
{
	size_t n = b->n_slots ? b->n_slots * 2 : FIRST_SLOTS;
	struct breaker *s = calloc(n, sizeof *s);
	if (!s)
		return false;
	for (size_t i = 0; i < b->n_slots; i++)
		if (b->slots[i].name)
			*probe(s, n, b->slots[i].name) = b->slots[i];
	free(b->slots);
	b->slots = s;
	b->n_slots = n;
	return true;
}

/* The entry of name, added closed when absent; NULL past the cap or on OOM (the model is
 * then treated as always closed). */
static struct breaker *find_or_add(struct hr_breakers *b, const char *name)
{
	struct breaker *e = find(b, name);
	if (e || !name || b->n_used >= HR_MAX_MODELS)
		return e;
	if ((b->n_used + 1) * 2 > b->n_slots && !grow(b))
		return NULL;
	e = probe(b->slots, b->n_slots, name);
	if (!(e->name = strdup(name)))
		return NULL;
	e->state = B_CLOSED;
	e->failures = 0;
	e->since_ms = 0;
	e->cooldown_ms = b->conf.cooldown_ms;
	b->n_used++;
	return e;
}

/* The one place a breaker changes state. */
static void set_state(struct breaker *e, enum bstate to, int64_t now_ms)
{
	if (e->state == to)
		return;
	if (to == B_OPEN)
		HR_LOG_WARN(ROUTE, "breaker '%s' %s -> open for %lld ms", e->name,
		            state_name[e->state], (long long)e->cooldown_ms);
	else
		HR_LOG_INFO(ROUTE, "breaker '%s' %s -> %s", e->name, state_name[e->state],
		            state_name[to]);
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
			set_state(e, B_HALF_OPEN, now_ms);
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
	if (e && ok) {
		e->failures = 0;
		e->cooldown_ms = b->conf.cooldown_ms;
		set_state(e, B_CLOSED, now_ms);
	} else if (e) {
		switch (e->state) {
		case B_CLOSED:
			if (++e->failures >= b->conf.failures_to_open) {
				e->cooldown_ms = b->conf.cooldown_ms;
				set_state(e, B_OPEN, now_ms);
			}
			break;
		case B_HALF_OPEN:
			e->cooldown_ms = e->cooldown_ms > b->conf.max_cooldown_ms / 2
			                     ? b->conf.max_cooldown_ms
			                     : e->cooldown_ms * 2;
			set_state(e, B_OPEN, now_ms);
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
