/* store.c - backend-independent storage helpers: hr_store_open(), the usage record's
 * constructor, setter and destructor, and the audit chain's hash and verification. */
#include "storage/store.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "storage/usage_int.h"

int hr_store_open(struct hr_store **out, const char *data_dir, bool readonly, struct hr_buf *err)
{
	return hr_store_sqlite.open(out, data_dir, readonly, err);
}

/* Defaults: ts_ms is now, ttfb_ms is -1 (no byte sent yet), every other field 0 or NULL.
 * A request_id longer than 39 bytes is truncated; NULL gives "". */
struct hr_usage *hr_usage_new(const char *request_id)
{
	struct hr_usage_entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	struct hr_usage *u = &e->u;
	if (request_id) {
		size_t n = strnlen(request_id, sizeof u->request_id - 1);
		memcpy(u->request_id, request_id, n);
		u->request_id[n] = '\0';
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	u->ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	u->ttfb_ms = -1;
	return u;
}

int hr_usage_set(char **field, const char *s)
{
	char *p = NULL;
	if (s && !(p = strdup(s)))
		return HR_ENOMEM;
	free(*field);
	*field = p;
	return 0;
}

void hr_usage_free(struct hr_usage *u)
{
	if (!u)
		return;
	free(u->key_id);
	free(u->user_id);
	free(u->team_id);
	free(u->model_asked);
	free(u->model_used);
	free(u->provider);
	free(u->endpoint);
	free(u->error_code);
	free(u->finish_reason);
	free(u->task);
	free(u->route);
	free(u->policy);
	free(u->origin);
	free(u->parent_id);
	free(u->locality);
	free(u->reference_model);
	free((struct hr_usage_entry *)u);
}

/* ---- the audit chain ----
 * hash = SHA-256 over: prev_hash (64 hex), then seq, ts_ms and each string as decimal
 * length ':' bytes, each field ended by '\n'. Lengths make the encoding unambiguous, so no
 * two different events hash the same input. */
static void hash_field(crypto_hash_sha256_state *st, const char *s)
{
	char len[32];
	size_t n = s ? strlen(s) : 0;
	int k = snprintf(len, sizeof len, "%zu:", n);
	crypto_hash_sha256_update(st, (const unsigned char *)len, (unsigned long long)k);
	if (n)
		crypto_hash_sha256_update(st, (const unsigned char *)s, n);
	crypto_hash_sha256_update(st, (const unsigned char *)"\n", 1);
}

void hr_audit_hash(const struct hr_audit_event *ev, const char *prev_hex, char out[65])
{
	crypto_hash_sha256_state st;
	unsigned char h[crypto_hash_sha256_BYTES];
	char num[64];
	crypto_hash_sha256_init(&st);
	hash_field(&st, prev_hex);
	snprintf(num, sizeof num, "%lld", (long long)ev->seq);
	hash_field(&st, num);
	snprintf(num, sizeof num, "%lld", (long long)ev->ts_ms);
	hash_field(&st, num);
	hash_field(&st, ev->actor);
	hash_field(&st, ev->action);
	hash_field(&st, ev->object);
	hash_field(&st, ev->detail);
	crypto_hash_sha256_final(&st, h);
	sodium_bin2hex(out, 65, h, sizeof h);
}

struct verify {
	struct hr_audit_verdict *v;
	char prev[65];
};

static int verify_one(void *arg, const struct hr_audit_event *ev)
{
	struct verify *x = arg;
	char want[65];
	x->v->events++;
	if (ev->seq != x->v->events || strcmp(ev->prev_hash, x->prev) != 0) {
		x->v->bad_seq = ev->seq;
		x->v->why = "an event before it is missing, or the events were reordered";
		return 1;
	}
	hr_audit_hash(ev, x->prev, want);
	if (strcmp(want, ev->hash) != 0) {
		x->v->bad_seq = ev->seq;
		x->v->why = "the event was edited";
		return 1;
	}
	memcpy(x->prev, ev->hash, sizeof x->prev);
	return 0;
}

int hr_audit_verify(struct hr_store *s, struct hr_audit_verdict *v)
{
	struct verify x = {.v = v};
	memset(v, 0, sizeof *v);
	memset(x.prev, '0', 64); /* the first event's prev_hash: 64 zeros */
	x.prev[64] = '\0';
	int rc = s->ops->audit_scan(s, verify_one, &x);
	return rc < 0 ? rc : 0;
}
