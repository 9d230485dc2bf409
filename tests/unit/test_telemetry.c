/* test_telemetry.c - the metrics registry and its Prometheus text output (escaping,
 * histograms, bounded label values) and the request log line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "telemetry/alerts.h"
#include "telemetry/metrics.h"
#include "telemetry/reqlog.h"

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);
	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

static void test_sample_escaping(void **state)
{
	struct hr_buf b = HR_BUF_INIT(4096);
	const char *ln[] = {"a", "b"}, *lv[] = {"x\"y\\z\nw", "plain"};
	assert_int_equal(hr_prom_family(&b, "m_total", "counter", "help with \\ and\nnewline"), 0);
	assert_int_equal(hr_prom_sample(&b, "m_total", ln, lv, 2, 3), 0);
	assert_int_equal(hr_prom_sample(&b, "m_total", NULL, NULL, 0, 0.25), 0);
	assert_int_equal(hr_prom_sample(&b, "m_total", NULL, NULL, 0, 1.0 / 0.0), 0);
	assert_string_equal(b.ptr, "# HELP m_total help with \\\\ and\\nnewline\n"
	                           "# TYPE m_total counter\n"
	                           "m_total{a=\"x\\\"y\\\\z\\nw\",b=\"plain\"} 3\n"
	                           "m_total 0.25\n"
	                           "m_total +Inf\n");
	hr_buf_release(&b);
	/* the cap is reported, never overrun */
	struct hr_buf small = HR_BUF_INIT(10);
	assert_int_equal(hr_prom_sample(&small, "a_long_metric_name", NULL, NULL, 0, 1), HR_ETOOBIG);
	hr_buf_release(&small);
}

static struct hr_conf *conf(void)
{
	static const char y[] = "providers:\n  p: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
	                        "models:\n  m1: {provider: p}\n"
	                        "tasks:\n  t1: {candidates: [m1]}\n";
	struct hr_conf *c = NULL;
	assert_int_equal(hr_conf_load_mem("t.yaml", y, sizeof y - 1, &c, NULL), 0);
	return c;
}

static void test_bounded_labels(void **state)
{
	struct hr_conf *c = conf();
	assert_string_equal(hr_metrics_bound_model(c, "m1"), "m1");
	assert_string_equal(hr_metrics_bound_model(c, "gpt-anything"), "other");
	assert_string_equal(hr_metrics_bound_model(c, NULL), "none");
	assert_string_equal(hr_metrics_bound_provider(c, "p"), "p");
	assert_string_equal(hr_metrics_bound_provider(c, "q"), "other");
	assert_string_equal(hr_metrics_bound_task(c, "t1"), "t1");
	assert_string_equal(hr_metrics_bound_task(c, "auto"), "auto");
	assert_string_equal(hr_metrics_bound_task(c, "zzz"), "other");
	hr_conf_release(c);
}

static void test_request_series_and_histogram(void **state)
{
	hr_metrics_reset();
	struct hr_metrics_req r = {.model = "m1", .provider = "p", .task = "none", .status = 200,
	                           .input_tokens = 10, .output_tokens = 5, .cost_usd = 0.5,
	                           .latency_s = 0.02, .ttfb_s = 0.004};
	hr_metrics_request(&r);
	r.latency_s = 3;
	r.status = 502;
	r.origin = "judge";
	hr_metrics_request(&r);
	r.status = 777; /* not a status: a class */
	r.origin = "whatever a header said";
	r.model = "we\"ird";
	hr_metrics_request(&r);
	hr_metrics_retry("m1");
	hr_metrics_fallback("m1");
	hr_metrics_route("ordered", "model");
	struct hr_buf b = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_metrics_write(&b), 0);
	const char *t = b.ptr;
	assert_true(has_line(t, "# TYPE hearth_requests_total counter"));
	assert_true(has_line(t, "hearth_requests_total{model=\"m1\",provider=\"p\",task=\"none\","
	                        "status=\"200\",origin=\"client\"} 1"));
	assert_true(has_line(t, "hearth_requests_total{model=\"m1\",provider=\"p\",task=\"none\","
	                        "status=\"502\",origin=\"judge\"} 1"));
	assert_true(has_line(t, "hearth_requests_total{model=\"we\\\"ird\",provider=\"p\","
	                        "task=\"none\",status=\"other\",origin=\"client\"} 1"));
	/* cumulative buckets: 0.02 falls in le=0.025, 3 in le=5 */
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"0.01\"} 0"));
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"0.025\"} 1"));
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"2.5\"} 1"));
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"5\"} 2"));
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"+Inf\"} 2"));
	assert_true(has_line(t, "hearth_request_duration_seconds_sum{model=\"m1\"} 3.02"));
	assert_true(has_line(t, "hearth_request_duration_seconds_count{model=\"m1\"} 2"));
	assert_true(has_line(t, "hearth_tokens_total{model=\"m1\",direction=\"input\"} 20"));
	assert_true(has_line(t, "hearth_cost_usd_total{model=\"m1\",task=\"none\"} 1"));
	assert_true(has_line(t, "hearth_retries_total{model=\"m1\"} 1"));
	assert_true(has_line(t, "hearth_fallbacks_total{model=\"m1\"} 1"));
	assert_true(has_line(t, "hearth_route_decisions_total{strategy=\"ordered\",via=\"model\"} 1"));
	assert_null(strstr(t, "whatever"));
	hr_buf_release(&b);
}

/* A dimension holds a bounded number of values: the rest count as "other". */
static void test_dimension_cap(void **state)
{
	hr_metrics_reset();
	char name[32];
	for (int i = 0; i < HR_METRICS_MAX_VALUES + 20; i++) {
		snprintf(name, sizeof name, "m%d", i);
		hr_metrics_retry(name);
	}
	struct hr_buf b = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_metrics_write(&b), 0);
	/* "other" is value 0 of every dimension: 250 - 1 names fit, 21 become other */
	assert_true(has_line(b.ptr, "hearth_retries_total{model=\"other\"} 21"));
	assert_true(has_line(b.ptr, "hearth_retries_total{model=\"m248\"} 1"));
	assert_null(strstr(b.ptr, "model=\"m249\""));
	hr_buf_release(&b);
}

static void test_reqlog_line(void **state)
{
	struct hr_reqlog l = {.ts_ms = 1764201600123, .request_id = "req_1", .method = "POST",
	                      .path = "/v1/chat/\"x\"", .status = 200, .model = "m1",
	                      .provider = "p", .route = "task=m1; via=model", .latency_ms = 12,
	                      .ttfb_ms = -1, .input_tokens = 3, .output_tokens = 4,
	                      .cost_usd = 0.00001, .attempts = 2, .stream = 1};
	struct hr_buf b = HR_BUF_INIT(8192);
	assert_int_equal(hr_reqlog_format(&l, &b), 0);
	assert_true(b.len > 0 && b.ptr[b.len - 1] == '\n');
	assert_null(memchr(b.ptr, '\n', b.len - 1)); /* one line */
	json_error_t err;
	json_t *j = json_loadb(b.ptr, b.len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "ts")), "2025-11-27T00:00:00.123Z");
	assert_string_equal(json_string_value(json_object_get(j, "sub")), "REQUEST");
	assert_string_equal(json_string_value(json_object_get(j, "path")), "/v1/chat/\"x\"");
	assert_string_equal(json_string_value(json_object_get(j, "origin")), "client");
	assert_true(json_is_null(json_object_get(j, "ttfb_ms")));
	assert_true(json_is_null(json_object_get(j, "task")));
	assert_true(json_is_true(json_object_get(j, "stream")));
	assert_int_equal(json_integer_value(json_object_get(j, "attempts")), 2);
	json_decref(j);
	hr_buf_release(&b);
}

static void test_budget_crossed(void **state)
{
	assert_int_equal(hr_alert_budget_crossed(0, 79.9), 0);
	assert_int_equal(hr_alert_budget_crossed(0, 80), 1);
	assert_int_equal(hr_alert_budget_crossed(79, 150), 3);
	assert_int_equal(hr_alert_budget_crossed(80, 99), 0);
	assert_int_equal(hr_alert_budget_crossed(85, 100), 2);
	assert_int_equal(hr_alert_budget_crossed(100, 120), 0);
	assert_int_equal(hr_alert_budget_crossed(120, 10), 0);
}

/* Each threshold fires once per crossing; a drop (a new period) re-arms those above it. */
static void test_budget_once_per_crossing(void **state)
{
	assert_int_equal(hr_alert_budget(NULL, "team-a", 50), 0);
	assert_int_equal(hr_alert_budget(NULL, "team-a", 81), 1);
	assert_int_equal(hr_alert_budget(NULL, "team-a", 82), 0);
	assert_int_equal(hr_alert_budget(NULL, "team-b", 95), 1); /* budgets apart */
	assert_int_equal(hr_alert_budget(NULL, "team-a", 100), 1);
	assert_int_equal(hr_alert_budget(NULL, "team-a", 130), 0);
	assert_int_equal(hr_alert_budget(NULL, "team-a", 5), 0);   /* a new month */
	assert_int_equal(hr_alert_budget(NULL, "team-a", 101), 2); /* both again */
	assert_int_equal(hr_alert_budget(NULL, "team-a", 0.0 / 0.0), 0);
	assert_int_equal(hr_alert_budget(NULL, "team-a", 101), 0);
}

int main(void)
{
	hr_metrics_init();
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sample_escaping),
	    cmocka_unit_test(test_bounded_labels),
	    cmocka_unit_test(test_request_series_and_histogram),
	    cmocka_unit_test(test_dimension_cap),
	    cmocka_unit_test(test_reqlog_line),
	    cmocka_unit_test(test_budget_crossed),
	    cmocka_unit_test(test_budget_once_per_crossing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
