/* test_limits.c - the budget ledger and the rate limiters (governance/limits.c): reserve and
 * settle arithmetic, all-or-nothing, periods, thresholds once, seeding, threads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <pthread.h>
#include <string.h>
#include <cmocka.h>

#include "core/conf.h"
#include "core/err.h"
#include "governance/limits.h"

/* 2026-11-27T04:00:00Z */
#define NOW 1795752000000LL

static struct hr_limits *ledger(const char *yaml)
{
	struct hr_conf *c = NULL;
	struct hr_limits *l = NULL;
	assert_int_equal(hr_conf_load_mem("t.yaml", yaml, strlen(yaml), &c, NULL), 0);
	assert_int_equal(hr_limits_new(c, &l), 0);
	hr_conf_release(c); /* the ledger keeps copies */
	assert_non_null(l);
	return l;
}

static const struct hr_limits_who team_x = {"key_a", "usr_a", "team_x", "summarize"};
static const struct hr_limits_who team_y = {"key_b", "usr_b", "team_y", NULL};

static void test_period_start(void **state)
{
	(void)state;
	assert_int_equal(hr_limits_period_start(HR_PERIOD_DAY, NOW + 123, false), 1795737600000LL);
	assert_int_equal(hr_limits_period_start(HR_PERIOD_DAY, NOW, true), 1795824000000LL);
	/* 2026-11-01 and 2026-12-01 */
	assert_int_equal(hr_limits_period_start(HR_PERIOD_MONTH, NOW, false), 1793491200000LL);
	assert_int_equal(hr_limits_period_start(HR_PERIOD_MONTH, NOW, true), 1796083200000LL);
}

static void test_reserve_settle(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("budgets:\n  - scope: team\n    id: team_x\n"
	                             "    limit_usd: 1\n");
	struct hr_limits_hold h[4] = {{0}};
	struct hr_limits_why why;
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.4, NOW, &h[0], &why), 0);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.4, NOW, &h[1], &why), 0);
	/* 0.8 reserved: 0.4 more does not fit */
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.4, NOW, &h[2], &why), HR_EBUDGET);
	assert_string_equal(why.name, "team team_x monthly");
	assert_int_equal(why.reset_ms, 1796083200000LL);
	assert_int_equal(h[2].n_b, 0);
	/* another team is not counted */
	assert_int_equal(hr_limits_reserve(l, &team_y, 0.9, NOW, &h[3], &why), 0);
	assert_int_equal(h[3].n_b, 0);
	/* the first cost 0.1: 0.5 is free again */
	hr_limits_settle(l, &h[0], 0.1, 0, NOW);
	assert_int_equal(h[0].n_b, 0);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.5, NOW, &h[2], &why), 0);
	/* re-reserving replaces the hold's amount: 0.1 + 0.5 + 0.2 fits, 0.1 + 0.5 + 0.5 not */
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.2, NOW, &h[1], &why), 0);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.41, NOW, &h[1], &why), HR_EBUDGET);
	assert_true(why.spent > 0.0999 && why.spent < 0.1001);
	hr_limits_settle(l, &h[1], 0.2, 0, NOW);
	hr_limits_settle(l, &h[2], 0.5, 0, NOW);
	/* 0.8 spent, nothing reserved */
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.21, NOW, &h[0], &why), HR_EBUDGET);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.2, NOW, &h[0], &why), 0);
	hr_limits_settle(l, &h[0], 0, 0, NOW); /* failed before any token */
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.2, NOW, &h[0], &why), 0);
	hr_limits_free(l);
}

static void test_all_or_nothing(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("budgets:\n  - scope: team\n    id: team_x\n"
	                             "    limit_usd: 1\n"
	                             "  - scope: task\n    id: summarize\n    period: day\n"
	                             "    limit_usd: 0.5\n");
	struct hr_limits_hold h = {0}, h2 = {0};
	struct hr_limits_why why;
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.6, NOW, &h, &why), HR_EBUDGET);
	assert_string_equal(why.name, "task summarize daily");
	assert_int_equal(why.reset_ms, 1795824000000LL);
	/* nothing of the refused reservation stayed in the team's budget */
	struct hr_limits_who no_task = team_x;
	no_task.task = NULL;
	assert_int_equal(hr_limits_reserve(l, &no_task, 1.0, NOW, &h2, &why), 0);
	assert_int_equal(h2.n_b, 1);
	hr_limits_free(l);
}

static void test_rollover(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("budgets:\n  - scope: global\n    period: day\n"
	                             "    limit_usd: 1\n");
	struct hr_limits_hold h = {0};
	struct hr_limits_why why;
	assert_int_equal(hr_limits_reserve(l, &team_y, 1.0, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 1.0, 0, NOW);
	assert_int_equal(hr_limits_reserve(l, &team_y, 0.01, NOW, &h, &why), HR_EBUDGET);
	assert_string_equal(why.name, "global daily");
	/* the next day starts at $0 */
	int64_t tomorrow = hr_limits_period_start(HR_PERIOD_DAY, NOW, true);
	assert_int_equal(hr_limits_reserve(l, &team_y, 0.01, tomorrow - 1, &h, &why), HR_EBUDGET);
	assert_int_equal(hr_limits_reserve(l, &team_y, 1.0, tomorrow, &h, &why), 0);
	hr_limits_free(l);
}

struct fired {
	int n;
	double share[8];
	char name[192];
};

static void on_threshold(void *arg, const char *name, double share, double spent, double limit)
{
	struct fired *f = arg;
	(void)spent, (void)limit;
	f->share[f->n++] = share;
	snprintf(f->name, sizeof f->name, "%s", name);
}

static void test_thresholds_once(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("budgets:\n  - scope: user\n    id: usr_a\n"
	                             "    period: day\n    limit_usd: 10\n"
	                             "    alert_at: [0.5, 0.8, 1.0]\n");
	struct fired f = {0};
	hr_limits_on_threshold(l, on_threshold, &f);
	struct hr_limits_hold h = {0};
	struct hr_limits_why why;
	assert_int_equal(hr_limits_reserve(l, &team_x, 4, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 4, 0, NOW);
	assert_int_equal(f.n, 0);
	assert_int_equal(hr_limits_reserve(l, &team_x, 5, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 5, 0, NOW); /* 9: crosses 0.5 and 0.8 at once */
	assert_int_equal(f.n, 2);
	assert_true(f.share[0] == 0.5 && f.share[1] == 0.8);
	assert_string_equal(f.name, "user usr_a daily");
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.5, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 0.5, 0, NOW); /* 9.5: nothing new */
	assert_int_equal(f.n, 2);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.5, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 0.5, 0, NOW); /* 10: the last one */
	assert_int_equal(f.n, 3);
	/* the next day fires again */
	int64_t tomorrow = hr_limits_period_start(HR_PERIOD_DAY, NOW, true);
	assert_int_equal(hr_limits_reserve(l, &team_x, 6, tomorrow, &h, &why), 0);
	hr_limits_settle(l, &h, 6, 0, tomorrow);
	assert_int_equal(f.n, 4);
	hr_limits_free(l);
}

static int sum_ok(void *arg, enum hr_limit_scope scope, const char *id, int64_t since,
                  double *out)
{
	(void)arg;
	assert_int_equal(scope, HR_SCOPE_TEAM);
	assert_string_equal(id, "team_x");
	assert_int_equal(since, 1793491200000LL);
	*out = 0.75;
	return 0;
}

static int sum_fail(void *arg, enum hr_limit_scope scope, const char *id, int64_t since,
                    double *out)
{
	(void)scope, (void)id, (void)since, (void)out;
	return *(int *)arg;
}

static void test_seed(void **state)
{
	(void)state;
	const char *yaml = "budgets:\n  - scope: team\n    id: team_x\n    limit_usd: 1\n"
	                   "    downgrade_at: 0.7\n";
	struct hr_limits *l = ledger(yaml);
	struct fired f = {0};
	hr_limits_on_threshold(l, on_threshold, &f);
	struct hr_limits_hold h = {0};
	struct hr_limits_why why;
	assert_int_equal(hr_limits_seed(l, NOW, sum_ok, NULL), 0);
	assert_true(hr_limits_downgrade(l, &team_x, NULL, NOW));
	assert_false(hr_limits_downgrade(l, &team_y, NULL, NOW));
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.26, NOW, &h, &why), HR_EBUDGET);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.05, NOW, &h, &why), 0);
	hr_limits_settle(l, &h, 0.05, 0, NOW);
	assert_int_equal(f.n, 1); /* 0.8 crossed; nothing for what was spent before the seed */
	hr_limits_free(l);

	/* a sum that fails: the budget admits nothing until a sum works (fail closed) */
	l = ledger(yaml);
	int rc = HR_EIO;
	assert_int_equal(hr_limits_seed(l, NOW, sum_fail, &rc), HR_EIO);
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.01, NOW, &h, &why), HR_EBUDGET);
	assert_int_equal(hr_limits_reserve(l, &team_y, 0.01, NOW, &h, &why), 0);
	rc = 0;
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.01, NOW, &h, &why), 0);
	hr_limits_free(l);
}

static void test_downgrade(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("budgets:\n  - scope: key\n    id: key_a\n"
	                             "    limit_usd: 1\n    downgrade_at: 0.5\n");
	struct hr_limits_hold h = {0}, h2 = {0};
	struct hr_limits_why why;
	assert_false(hr_limits_downgrade(l, &team_x, NULL, NOW));
	assert_int_equal(hr_limits_reserve(l, &team_x, 0.5, NOW, &h, &why), 0);
	assert_true(hr_limits_downgrade(l, &team_x, &h2, NOW)); /* reserved counts */
	assert_false(hr_limits_downgrade(l, &team_x, &h, NOW)); /* but not one's own */
	hr_limits_settle(l, &h, 0.1, 0, NOW);
	assert_false(hr_limits_downgrade(l, &team_x, NULL, NOW));
	hr_limits_free(l);
}

static void test_rate(void **state)
{
	(void)state;
	struct hr_limits *l = ledger("rate_limits:\n  - scope: key\n    id: key_a\n"
	                             "    requests_per_minute: 2\n"
	                             "  - scope: team\n    id: team_x\n"
	                             "    tokens_per_minute: 100\n");
	struct hr_limits_hold h[4] = {{0}};
	struct hr_limits_why why;
	int64_t t = (NOW / 60000) * 60000 + 5000;
	assert_int_equal(hr_limits_admit(l, &team_x, 30, t, &h[0], &why), 0);
	assert_string_equal(why.name, "key key_a requests per minute");
	assert_int_equal(why.limit, 2);
	assert_int_equal(why.remaining, 1);
	assert_int_equal(why.reset_ms, (NOW / 60000) * 60000 + 60000);
	/* 30 + 80 tokens do not fit: refused, and the request is not counted */
	assert_int_equal(hr_limits_admit(l, &team_x, 80, t, &h[1], &why), HR_ELIMITED);
	assert_string_equal(why.name, "team team_x tokens per minute");
	assert_int_equal(why.remaining, 70);
	assert_int_equal(h[1].n_r, 0);
	/* the first used 10 tokens, not 30: 80 fits now */
	hr_limits_settle(l, &h[0], 0, 10, t);
	assert_int_equal(hr_limits_admit(l, &team_x, 80, t, &h[1], &why), 0);
	assert_int_equal(why.remaining, 0);
	assert_int_equal(hr_limits_admit(l, &team_x, 1, t, &h[2], &why), HR_ELIMITED);
	assert_string_equal(why.name, "key key_a requests per minute");
	/* another key of another team has no limit */
	assert_int_equal(hr_limits_admit(l, &team_y, 1000, t, &h[3], &why), 0);
	assert_string_equal(why.name, "");
	/* the next minute starts again */
	assert_int_equal(hr_limits_admit(l, &team_x, 1, t + 60000, &h[2], &why), 0);
	/* a settle from the old minute does not touch the new one */
	hr_limits_settle(l, &h[1], 0, 0, t + 60000);
	assert_int_equal(hr_limits_admit(l, &team_x, 99, t + 60000, &h[3], &why), 0);
	hr_limits_free(l);
}

/* Threads race for a budget that covers exactly 100 reservations and a rate limit of 50. */
struct race {
	struct hr_limits *l;
	int budget_ok, rate_ok;
};
static pthread_mutex_t race_mu = PTHREAD_MUTEX_INITIALIZER;

static void *racer(void *arg)
{
	struct race *r = arg;
	for (int i = 0; i < 50; i++) {
		struct hr_limits_hold h = {0};
		struct hr_limits_why why;
		int b = hr_limits_reserve(r->l, &team_x, 0.01, NOW, &h, &why) == 0;
		int a = hr_limits_admit(r->l, &team_x, 1, NOW, &h, &why) == 0;
		pthread_mutex_lock(&race_mu);
		r->budget_ok += b;
		r->rate_ok += a;
		pthread_mutex_unlock(&race_mu);
	}
	return NULL;
}

static void test_threads(void **state)
{
	(void)state;
	struct race r = {ledger("budgets:\n  - scope: global\n    limit_usd: 1\n"
	                        "rate_limits:\n  - scope: user\n    id: usr_a\n"
	                        "    requests_per_minute: 50\n"),
	                 0, 0};
	pthread_t th[8];
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&th[i], NULL, racer, &r), 0);
	for (int i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(r.budget_ok, 100);
	assert_int_equal(r.rate_ok, 50);
	hr_limits_free(r.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_period_start),    cmocka_unit_test(test_reserve_settle),
	    cmocka_unit_test(test_all_or_nothing),  cmocka_unit_test(test_rollover),
	    cmocka_unit_test(test_thresholds_once), cmocka_unit_test(test_seed),
	    cmocka_unit_test(test_downgrade),       cmocka_unit_test(test_rate),
	    cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
