/* alerts.c - the alert queue and its thread: audit event, then the webhook POST (libcurl,
 * signed with HMAC-SHA256 when a secret is set) with retries and backoff. */
#include "telemetry/alerts.h"

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "telemetry/post.h"

#define QUEUE_MAX   256 /* alerts waiting; more are dropped */
#define TRIES       4   /* webhook tries per alert */
#define BACKOFF0_MS 500 /* doubled after each failed try */

enum kind { K_DOWN, K_UP, K_BUDGET };

struct item {
	struct item *next;
	enum kind kind;
	char subject[HR_NAME_MAX + 1]; /* model or budget name */
	double pct, threshold;
	int64_t ts_ms;
};

struct hr_alerts {
	pthread_t thread;
	pthread_mutex_t mu; /* guards the queue, stop and stats */
	pthread_cond_t cond;
	struct item *head, **tail;
	int queued;
	bool stop;
	hr_alert_audit_fn audit;
	void *audit_arg;
	struct hr_alerts_stats stats;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void raise_alert(struct hr_alerts *a, enum kind k, const char *subject, double pct,
                        double threshold)
{
	struct item *it = calloc(1, sizeof *it);
	pthread_mutex_lock(&a->mu);
	a->stats.raised++;
	if (!it || a->stop || a->queued >= QUEUE_MAX) {
		a->stats.dropped++;
		pthread_mutex_unlock(&a->mu);
		free(it);
		return;
	}
	it->kind = k;
	snprintf(it->subject, sizeof it->subject, "%s", subject);
	it->pct = pct, it->threshold = threshold;
	it->ts_ms = now_ms();
	*a->tail = it;
	a->tail = &it->next;
	a->queued++;
	pthread_cond_signal(&a->cond);
	pthread_mutex_unlock(&a->mu);
}

void hr_alert_breaker(struct hr_alerts *a, const char *model, const char *from, const char *to)
{
	if (!a)
		return;
	if (strcmp(from, "closed") == 0 && strcmp(to, "open") == 0)
		raise_alert(a, K_DOWN, model, 0, 0);
	else if (strcmp(from, "half-open") == 0 && strcmp(to, "closed") == 0)
		raise_alert(a, K_UP, model, 0, 0);
}

/* ---- budget thresholds ---- */

void hr_alert_budget(struct hr_alerts *a, const char *name, double pct, double threshold)
{
	if (a && name && strnlen(name, HR_NAME_MAX + 1) <= HR_NAME_MAX)
		raise_alert(a, K_BUDGET, name, pct, threshold);
}

/* ---- the thread ---- */

static const char *kind_name(enum kind k)
{
	return k == K_DOWN ? "provider_down" : k == K_UP ? "provider_up" : "budget_threshold";
}

/* The JSON payload (owned, free()), or NULL. */
static char *payload(const struct item *it, const struct hr_conf *c)
{
	char ts[40];
	struct tm tm;
	time_t s = (time_t)(it->ts_ms / 1000);
	gmtime_r(&s, &tm);
	size_t n = strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof ts - n, ".%03dZ", (int)(it->ts_ms % 1000));
	json_t *j = json_pack("{s:s, s:s, s:s}", "type", kind_name(it->kind), "service",
	                      c && c->telemetry.service_name ? c->telemetry.service_name : "hearth",
	                      "ts", ts);
	if (!j)
		return NULL;
	if (it->kind == K_BUDGET) {
		json_object_set_new(j, "budget", json_string(it->subject));
		json_object_set_new(j, "threshold_pct", json_real(it->threshold));
		json_object_set_new(j, "used_pct", json_real(it->pct));
	} else {
		const struct hr_conf_model *m =
		    c ? hr_conf_model_find(c, it->subject, strlen(it->subject)) : NULL;
		json_object_set_new(j, "model", json_string(it->subject));
		json_object_set_new(j, "provider", m ? json_string(m->provider->id) : json_null());
		json_object_set_new(
		    j, "message",
		    json_string(it->kind == K_DOWN
		                    ? "the model's circuit breaker opened: its calls "
		                      "are failing and are sent elsewhere"
		                    : "the model's circuit breaker closed again: its "
		                      "calls succeed"));
	}
	char *out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

/* One POST of body, signed when a secret is set; returns true on a 2xx answer. */
static bool post(const struct hr_conf *c, const char *body)
{
	char line[128] = "";
	if (c->alerts.webhook_secret) {
		unsigned char mac[crypto_auth_hmacsha256_BYTES];
		crypto_auth_hmacsha256_state st;
		crypto_auth_hmacsha256_init(&st, (const unsigned char *)c->alerts.webhook_secret,
		                            strlen(c->alerts.webhook_secret));
		crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, strlen(body));
		crypto_auth_hmacsha256_final(&st, mac);
		char hex[2 * sizeof mac + 1];
		sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
		snprintf(line, sizeof line, "X-Hearth-Signature: sha256=%s", hex);
		sodium_memzero(&st, sizeof st);
	}
	return hr_telemetry_post(c->alerts.webhook_url, line[0] ? line : NULL, body, strlen(body),
	                         c->alerts.webhook_timeout_ms, "alert webhook");
}

/* Waits ms unless the alerts stop first; returns true when stopping. Lock held. */
static bool wait_locked(struct hr_alerts *a, long ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L)
		ts.tv_sec++, ts.tv_nsec -= 1000000000L;
	while (!a->stop && pthread_cond_timedwait(&a->cond, &a->mu, &ts) == 0)
		;
	return a->stop;
}

static void deliver(struct hr_alerts *a, struct item *it)
{
	struct hr_conf *c = hr_conf_current();
	char *body = payload(it, c);
	const char *action = it->kind == K_DOWN ? "alert.provider_down"
	                     : it->kind == K_UP ? "alert.provider_up"
	                                        : "alert.budget_threshold";
	if (it->kind == K_DOWN)
		HR_LOG_WARN(MAIN, "alert: model '%s' is down (its circuit breaker opened)",
		            it->subject);
	else if (it->kind == K_UP)
		HR_LOG_INFO(MAIN, "alert: model '%s' is up again", it->subject);
	else
		HR_LOG_WARN(MAIN, "alert: budget '%s' passed %.0f%%", it->subject, it->threshold);
	if (a->audit && body && a->audit(a->audit_arg, action, it->subject, body) < 0)
		HR_LOG_ERROR(MAIN, "alert '%s' on '%s': audit event not stored", action,
		             it->subject);
	bool sent = false, tried = false;
	long wait = BACKOFF0_MS;
	for (int t = 0; body && c && c->alerts.webhook_url && t < TRIES && !sent; t++) {
		if (t > 0) {
			pthread_mutex_lock(&a->mu);
			bool stopping = wait_locked(a, wait);
			pthread_mutex_unlock(&a->mu);
			wait *= 2;
			if (stopping && tried)
				break; /* stopping: one try is all a queued alert gets */
		}
		tried = true;
		sent = post(c, body);
	}
	pthread_mutex_lock(&a->mu);
	if (sent)
		a->stats.delivered++;
	else if (tried)
		a->stats.failed++;
	pthread_mutex_unlock(&a->mu);
	if (tried && !sent)
		HR_LOG_ERROR(MAIN, "alert '%s' on '%s': the webhook could not be reached", action,
		             it->subject);
	free(body);
	hr_conf_release(c);
}

static void *run(void *arg)
{
	struct hr_alerts *a = arg;
	pthread_mutex_lock(&a->mu);
	for (;;) {
		while (!a->head && !a->stop)
			pthread_cond_wait(&a->cond, &a->mu);
		struct item *it = a->head;
		if (!it)
			break; /* stopping with nothing queued */
		a->head = it->next;
		if (!a->head)
			a->tail = &a->head;
		a->queued--;
		pthread_mutex_unlock(&a->mu);
		deliver(a, it);
		free(it);
		pthread_mutex_lock(&a->mu);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int hr_alerts_start(struct hr_alerts **out, hr_alert_audit_fn audit, void *audit_arg)
{
	*out = NULL;
	struct hr_alerts *a = calloc(1, sizeof *a);
	if (!a)
		return HR_ENOMEM;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cond, NULL);
	a->tail = &a->head;
	a->audit = audit, a->audit_arg = audit_arg;
	if (pthread_create(&a->thread, NULL, run, a) != 0) {
		pthread_mutex_destroy(&a->mu);
		pthread_cond_destroy(&a->cond);
		free(a);
		return HR_EINTERNAL;
	}
	*out = a;
	return 0;
}

void hr_alerts_stop(struct hr_alerts *a)
{
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_broadcast(&a->cond);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->thread, NULL);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cond);
	free(a);
}

void hr_alerts_stats(struct hr_alerts *a, struct hr_alerts_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!a)
		return;
	pthread_mutex_lock(&a->mu);
	*out = a->stats;
	pthread_mutex_unlock(&a->mu);
}
