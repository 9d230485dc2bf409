/* test_report.c - the usage report's aggregation against hand-computed tables: grouping,
 * periods, sums, savings, exact nearest-rank percentiles, scope and the cell cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/err.h"
#include "storage/report.h"

#define DAY  86400000LL
#define T0   1795478400000LL /* 2026-11-24T00:00:00Z */

static struct hr_usage_fact fact(int64_t ts, const char *model, const char *loc,
                                 const char *task, int status, double cost, double ref,
                                 int64_t lat, int64_t ttfb)
{
	struct hr_usage_fact f = {.ts_ms = ts, .status = status, .cost_usd = cost,
	                          .reference_cost_usd = ref, .latency_ms = lat, .ttfb_ms = ttfb,
	                          .prompt_tokens = 10, .completion_tokens = 5};
	f.dim[HR_DIM_MODEL] = model;
	f.dim[HR_DIM_LOCALITY] = loc;
	f.dim[HR_DIM_TASK] = task;
	f.dim[HR_DIM_STATUS] = status == 200 ? "200" : "502";
	return f;
}

static void report_groups_and_percentiles(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_usage_query q = {.since_ms = T0, .until_ms = T0 + 3 * DAY,
	                           .dims = 1u << HR_DIM_TASK, .interval = HR_INTERVAL_DAY};
	struct hr_report_acc *acc = hr_report_acc_new(a, &q);
	assert_non_null(acc);
	/* day 1: task s, 10 requests, latencies 10..100, local, cost 0, reference 0.5 each */
	for (int i = 1; i <= 10; i++) {
		struct hr_usage_fact f = fact(T0 + i, "llama", "local", "s", 200, 0, 0.5, i * 10,
		                              i == 10 ? -1 : i);
		assert_int_equal(hr_report_acc_add(acc, &f), 0);
	}
	/* day 1: task t (cloud), one error; day 2: task s (cloud); outside the range: ignored */
	struct hr_usage_fact more[] = {
	    fact(T0 + 100, "gpt", "cloud", "t", 502, 0.25, 0.25, 7, -1),
	    fact(T0 + DAY + 5, "gpt", "cloud", "s", 200, 1, 1, 30, 3),
	    fact(T0 - 1, "gpt", "cloud", "s", 200, 99, 99, 1, 1),
	    fact(T0 + 3 * DAY, "gpt", "cloud", "s", 200, 99, 99, 1, 1),
	    fact(T0 + 200, "gpt", "cloud", NULL, 200, 0.5, 0.5, 9, 9), /* a plain model */
	};
	for (size_t i = 0; i < sizeof more / sizeof more[0]; i++)
		assert_int_equal(hr_report_acc_add(acc, &more[i]), 0);
	struct hr_usage_report r;
	assert_int_equal(hr_report_acc_finish(acc, &r), 0);
	assert_int_equal(r.n_cells, 4);
	/* sorted by day, then task ("-" < "s" < "t") */
	assert_true(r.cells[0].period_ms == T0 && strcmp(r.cells[0].dim[HR_DIM_TASK], "-") == 0);
	const struct hr_usage_agg *s1 = &r.cells[1].agg;
	assert_string_equal(r.cells[1].dim[HR_DIM_TASK], "s");
	assert_null(r.cells[1].dim[HR_DIM_MODEL]);
	assert_int_equal(s1->requests, 10);
	assert_int_equal(s1->local_requests, 10);
	assert_int_equal(s1->errors, 0);
	assert_int_equal(s1->prompt_tokens, 100);
	assert_true(s1->cost_usd == 0 && s1->reference_cost_usd == 5);
	/* nearest rank of 10..100: p50 = 5th = 50, p90 = 9th = 90, p99 = 10th = 100 */
	assert_true(s1->latency_ms[0] == 50 && s1->latency_ms[1] == 90 && s1->latency_ms[2] == 100);
	/* ttfb of 9 values 1..9: 5th, 9th (ceil 8.1), 9th */
	assert_true(s1->ttfb_ms[0] == 5 && s1->ttfb_ms[1] == 9 && s1->ttfb_ms[2] == 9);
	assert_string_equal(r.cells[2].dim[HR_DIM_TASK], "t");
	assert_int_equal(r.cells[2].agg.errors, 1);
	assert_true(r.cells[2].agg.ttfb_ms[0] == -1);
	assert_true(r.cells[3].period_ms == T0 + DAY);
	assert_int_equal(r.totals.requests, 13);
	assert_true(r.totals.cost_usd == 1.75 && r.totals.reference_cost_usd == 6.75);
	hr_arena_destroy(a);
}

static void report_scope_and_cap(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_usage_query q = {.dims = 1u << HR_DIM_MODEL, .scope_user = "usr_a",
	                           .scope_key = "key_x"};
	struct hr_report_acc *acc = hr_report_acc_new(a, &q);
	struct hr_usage_fact f = fact(T0, "m", "local", "s", 200, 1, 1, 1, 1);
	f.dim[HR_DIM_USER] = "usr_a";
	assert_int_equal(hr_report_acc_add(acc, &f), 0);
	f.dim[HR_DIM_USER] = "usr_b"; /* another user, another key: not counted */
	f.dim[HR_DIM_KEY] = "key_y";
	assert_int_equal(hr_report_acc_add(acc, &f), 0);
	f.dim[HR_DIM_USER] = NULL; /* the key in scope (a team's): counted */
	f.dim[HR_DIM_KEY] = "key_x";
	assert_int_equal(hr_report_acc_add(acc, &f), 0);
	struct hr_usage_report r;
	assert_int_equal(hr_report_acc_finish(acc, &r), 0);
	assert_int_equal(r.totals.requests, 2);

	struct hr_usage_query all = {.dims = 1u << HR_DIM_KEY};
	acc = hr_report_acc_new(a, &all);
	char key[32];
	int rc = 0;
	for (int i = 0; i <= HR_REPORT_MAX_CELLS && rc == 0; i++) {
		snprintf(key, sizeof key, "k%d", i);
		f.dim[HR_DIM_KEY] = key;
		rc = hr_report_acc_add(acc, &f);
	}
	assert_int_equal(rc, HR_ETOOMANY);
	hr_arena_destroy(a);
}

static void report_periods_and_names(void **state)
{
	(void)state;
	/* 2026-11-27T13:45:10Z */
	int64_t ts = 1795787110000LL;
	assert_true(hr_report_period(HR_INTERVAL_HOUR, ts) == 1795784400000LL);
	assert_true(hr_report_period(HR_INTERVAL_DAY, ts) == 1795737600000LL);
	assert_true(hr_report_period(HR_INTERVAL_MONTH, ts) == 1793491200000LL); /* Nov 1 */
	assert_true(hr_report_period(HR_INTERVAL_NONE, ts) == 0);
	assert_int_equal(hr_usage_dim_parse("team", 4), HR_DIM_TEAM);
	assert_int_equal(hr_usage_dim_parse("teams", 5), -1);
	assert_int_equal(hr_usage_interval_parse("month"), HR_INTERVAL_MONTH);
	assert_int_equal(hr_usage_interval_parse("week"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(report_groups_and_percentiles),
	    cmocka_unit_test(report_scope_and_cap),
	    cmocka_unit_test(report_periods_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
