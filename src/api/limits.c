/* limits.c - the LIMITS phase of a chat request (api/limits.h): admission by the rate
 * limits, a budget reservation per attempt, the settle at the request's end, the 429s. */
#include "api/limits.h"
#include "telemetry/alerts.h"

#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "governance/ident.h"
#include "providers/chat.h"
#include "router/router.h"
#include "storage/store.h"

static int spent_sum(void *arg, enum hr_limit_scope scope, const char *id, int64_t since_ms,
                     double *out)
{
	struct hr_store *s = arg;
	return s->ops->usage_spent(s, (int)scope, id, since_ms, out);
}

/* A budget crossed a threshold: an audit event and a log line. The webhook of alerts
 * (telemetry) connects here. */
static void on_threshold(void *arg, const char *name, double share, double spent,
                         double limit_usd)
{
	struct hr_api *api = arg;
	HR_LOG_WARN(POLICY, "budget '%s' crossed %.0f%%: $%.2f of $%.2f", name, share * 100, spent,
	            limit_usd);
	if (api->alerts) { /* the alert thread audits it and posts the webhook */
		hr_alert_budget(api->alerts, name, 100 * spent / limit_usd, share * 100);
		return;
	}
	char detail[160];
	snprintf(detail, sizeof detail, "threshold %.0f%%: $%.2f of $%.2f spent", share * 100,
	         spent, limit_usd);
	struct hr_audit_event ev = {.ts_ms = hr_ident_now_ms(),
	                            .actor = "hearth",
	                            .action = "alert.budget_threshold",
	                            .object = name,
	                            .detail = detail};
	if (api->store->ops->audit_append(api->store, &ev) < 0)
		HR_LOG_ERROR(POLICY, "budget '%s': the threshold event could not be audited", name);
}

int hr_api_limits_start(struct hr_api *api, const struct hr_conf *c)
{
	int rc = hr_limits_new(c, &api->limits);
	if (rc < 0 || !api->limits)
		return rc;
	hr_limits_on_threshold(api->limits, on_threshold, api);
	if (hr_limits_seed(api->limits, hr_ident_now_ms(), spent_sum, api->store) < 0)
		HR_LOG_ERROR(POLICY, "a budget's spent amount could not be read from the usage "
		                     "table: it refuses every request until it can be");
	return 0;
}

void hr_api_limits_stop(struct hr_api *api)
{
	hr_limits_free(api->limits);
	api->limits = NULL;
}

static void settle_cb(void *arg)
{
	struct hr_req_limits *lr = arg; /* a no-op once settled: the hold is empty */
	hr_limits_settle(lr->l, &lr->hold, lr->cost, lr->tokens, hr_ident_now_ms());
}

void hr_api_limits_settle(struct hr_req *rq)
{
	struct hr_req_limits *lr = rq->limits;
	rq->limits = NULL;
	if (lr)
		settle_cb(lr);
}

long hr_api_limits_max_tokens(const struct hr_chat_req *creq, const struct hr_conf_model *m)
{
	if (creq->max_tokens > 0)
		return creq->max_tokens;
	if (m && m->max_output_tokens > 0)
		return m->max_output_tokens;
	return HR_DEFAULT_MAX_TOKENS;
}

static long secs_until(int64_t reset_ms)
{
	int64_t d = reset_ms - hr_ident_now_ms();
	return d <= 0 ? 1 : (long)((d + 999) / 1000);
}

static void rate_headers(struct hr_req *rq, const struct hr_limits_why *why)
{
	char v[32];
	snprintf(v, sizeof v, "%ld", why->limit);
	hr_req_header(rq, "X-RateLimit-Limit", v);
	snprintf(v, sizeof v, "%ld", why->remaining);
	hr_req_header(rq, "X-RateLimit-Remaining", v);
	snprintf(v, sizeof v, "%ld", secs_until(why->reset_ms));
	hr_req_header(rq, "X-RateLimit-Reset", v);
}

int hr_api_limits_admit(struct hr_req *rq, struct hr_req_limits *lr, long tokens)
{
	lr->l = rq->origin ? NULL : rq->api->limits; /* hearth's own calls have their budget */
	if (!lr->l)
		return 0;
	const struct hr_usage *u = rq->usage;
	lr->who = (struct hr_limits_who){.key_id = rq->ident.key_id,
	                                 .user_id = rq->ident.user_id,
	                                 .team_id = rq->ident.team_id,
	                                 .task = u ? u->task : NULL};
	if (hr_arena_defer(rq->arena, settle_cb, lr) < 0) {
		hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		return HR_ENOMEM;
	}
	rq->limits = lr;
	struct hr_limits_why why;
	int rc = hr_limits_admit(lr->l, &lr->who, tokens, hr_ident_now_ms(), &lr->hold, &why);
	if (why.name[0])
		rate_headers(rq, &why);
	if (rc == 0) {
		lr->tokens = 0; /* until the answer counts its own */
		return 0;
	}
	char ra[24];
	snprintf(ra, sizeof ra, "%ld", secs_until(why.reset_ms));
	hr_req_header(rq, "Retry-After", ra);
	char reset[32];
	hr_ident_rfc3339(why.reset_ms, reset);
	const char *msg = hr_arena_printf(
	    rq->arena, "rate limit '%s' is reached: %ld of %ld %s used%s; resets %s", why.name,
	    why.limit - why.remaining, why.limit, why.kind,
	    strcmp(why.kind, "tokens") == 0 ? " (this request counts its prompt and max_tokens)"
	                                    : "",
	    reset);
	HR_RLOG_INFO(rq->id, POLICY, "refused by rate limit '%s'", why.name);
	hr_req_error(rq, HR_ELIMITED, msg, NULL);
	return HR_ELIMITED;
}

int hr_api_limits_reserve(struct hr_req *rq, struct hr_req_limits *lr,
                          const struct hr_conf_model *m, long prompt_tokens, long out_tokens,
                          double already, const char **msg)
{
	if (!lr->l)
		return 0;
	double worst = already + (double)prompt_tokens * m->input_price_per_mtok / 1e6 +
	               (double)out_tokens * m->output_price_per_mtok / 1e6;
	struct hr_limits_why why;
	int rc = hr_limits_reserve(lr->l, &lr->who, worst, hr_ident_now_ms(), &lr->hold, &why);
	if (rc == 0)
		return 0;
	char reset[32];
	hr_ident_rfc3339(why.reset_ms, reset);
	lr->retry_after_s = secs_until(why.reset_ms);
	int dp = why.limit_usd >= 1 ? 2 : 6; /* cents, or what a small budget needs */
	*msg = hr_arena_printf(rq->arena,
	                       "budget '%s' is spent: $%.*f of $%.*f (this request may cost up "
	                       "to $%.6f with model '%s'); resets %s",
	                       why.name, dp, why.spent, dp, why.limit_usd, worst, m->name, reset);
	HR_RLOG_INFO(rq->id, POLICY, "budget '%s' refuses model '%s'", why.name, m->name);
	return rc;
}

bool hr_api_limits_downgrade(struct hr_req_limits *lr)
{
	return lr->l && hr_limits_downgrade(lr->l, &lr->who, &lr->hold, hr_ident_now_ms());
}

static double price(const struct hr_conf_model *m)
{
	return m->input_price_per_mtok + m->output_price_per_mtok;
}

void hr_api_limits_downgrade_plan(struct hr_plan *plan)
{
	if (plan->n < 2)
		return;
	double cheapest = price(plan->cands[0]);
	for (size_t i = 1; i < plan->n; i++)
		if (price(plan->cands[i]) < cheapest)
			cheapest = price(plan->cands[i]);
	size_t k = 0;
	for (size_t i = 0; i < plan->n; i++) {
		if (price(plan->cands[i]) <= cheapest) {
			plan->cands[k++] = plan->cands[i];
		} else if (plan->n_skipped < HR_MAX_TASK_CANDIDATES) {
			plan->skipped[plan->n_skipped].m = plan->cands[i];
			plan->skipped[plan->n_skipped].why = "budget";
			plan->n_skipped++;
		}
	}
	plan->n = k;
}

void hr_api_limits_refused(struct hr_req *rq, const struct hr_req_limits *lr)
{
	char v[24];
	snprintf(v, sizeof v, "%ld", lr->retry_after_s > 0 ? lr->retry_after_s : 1);
	hr_req_header(rq, "Retry-After", v);
}
