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
#include "telemetry/trace.h"

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
	assert_int_equal(hr_prom_sample(&small, "a_long_metric_name", NULL, NULL, 0, 1),
	                 HR_ETOOBIG);
	hr_buf_release(&small);
}

static struct hr_conf *conf(void)
{
	static const char y[] =
	    "providers:\n  p: {kind: openai, base_url: 'http://127.0.0.1:9/v1'}\n"
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
	struct hr_metrics_req r = {.model = "m1",
	                           .provider = "p",
	                           .task = "none",
	                           .status = 200,
	                           .input_tokens = 10,
	                           .output_tokens = 5,
	                           .cost_usd = 0.5,
	                           .latency_s = 0.02,
	                           .ttfb_s = 0.004};
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
	assert_true(
	    has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"0.01\"} 0"));
	assert_true(
	    has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"0.025\"} 1"));
	assert_true(
	    has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"2.5\"} 1"));
	assert_true(has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"5\"} 2"));
	assert_true(
	    has_line(t, "hearth_request_duration_seconds_bucket{model=\"m1\",le=\"+Inf\"} 2"));
	assert_true(has_line(t, "hearth_request_duration_seconds_sum{model=\"m1\"} 3.02"));
	assert_true(has_line(t, "hearth_request_duration_seconds_count{model=\"m1\"} 2"));
	assert_true(has_line(t, "hearth_tokens_total{model=\"m1\",direction=\"input\"} 20"));
	assert_true(has_line(t, "hearth_cost_usd_total{model=\"m1\",task=\"none\"} 1"));
	assert_true(has_line(t, "hearth_retries_total{model=\"m1\"} 1"));
	assert_true(has_line(t, "hearth_fallbacks_total{model=\"m1\"} 1"));
	assert_true(
	    has_line(t, "hearth_route_decisions_total{strategy=\"ordered\",via=\"model\"} 1"));
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
	struct hr_reqlog l = {.ts_ms = 1764201600123,
	                      .request_id = "req_1",
	                      .method = "POST",
	                      .path = "/v1/chat/\"x\"",
	                      .status = 200,
	                      .model = "m1",
	                      .provider = "p",
	                      .route = "task=m1; via=model",
	                      .latency_ms = 12,
	                      .ttfb_ms = -1,
	                      .input_tokens = 3,
	                      .output_tokens = 4,
	                      .cost_usd = 0.00001,
	                      .attempts = 2,
	                      .stream = 1};
	struct hr_buf b = HR_BUF_INIT(8192);
	assert_int_equal(hr_reqlog_format(&l, &b), 0);
	assert_true(b.len > 0 && b.ptr[b.len - 1] == '\n');
	assert_null(memchr(b.ptr, '\n', b.len - 1)); /* one line */
	json_error_t err;
	json_t *j = json_loadb(b.ptr, b.len, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "ts")),
	                    "2025-11-27T00:00:00.123Z");
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

static void test_traceparent(void **state)
{
	uint8_t t[16], p[8];
	bool sampled = false;
	const char *ok = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
	assert_int_equal(hr_traceparent_parse(ok, strlen(ok), t, p, &sampled), 0);
	assert_true(sampled);
	assert_int_equal(t[0], 0x4b);
	assert_int_equal(p[7], 0xb7);
	static const char *const bad[] = {
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    /* short */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x", /* 00 has no tail */
	    "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   /* version ff */
	    "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   /* zero trace id */
	    "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   /* zero parent */
	    "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   /* uppercase */
	    "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(hr_traceparent_parse(bad[i], strlen(bad[i]), t, p, &sampled),
		                 HR_EINVAL);
	const char *later = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-more";
	assert_int_equal(hr_traceparent_parse(later, strlen(later), t, p, &sampled), 0);
	assert_false(sampled);
}

static const char *attr_str(json_t *span, const char *key, const char *type)
{
	size_t i;
	json_t *kv;
	json_array_foreach(
	    json_object_get(span, "attributes"), i,
	    kv) if (strcmp(json_string_value(json_object_get(kv, "key")), key) ==
	            0) return json_string_value(json_object_get(json_object_get(kv, "value"),
	                                                        type));
	return NULL;
}

static void test_span_json(void **state)
{
	static const char y[] = "telemetry: {otlp_endpoint: 'http://127.0.0.1:9'}\n";
	struct hr_conf *c = NULL;
	assert_int_equal(hr_conf_load_mem("t.yaml", y, sizeof y - 1, &c, NULL), 0);
	assert_null(hr_trace_begin(c, NULL, "x")); /* no exporter: no trace */
	assert_int_equal(hr_trace_exporter_start(), 0);
	struct hr_trace *t =
	    hr_trace_begin(c, "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "POST /x");
	assert_non_null(t);
	assert_false(hr_trace_prompts(t));
	int p = hr_trace_span(t, "policy", HR_SPAN_INTERNAL);
	hr_trace_span_end(t, p, NULL);
	hr_trace_attempt_start(t, "openai", "gpt-x", "m1", "p");
	hr_trace_attempt_end(t, 503, "upstream_error");
	hr_trace_attempt_start(t, "openai", "gpt-y", "m2", "p");
	hr_trace_int(t, hr_trace_attempt(t), "gen_ai.usage.input_tokens", 12);
	hr_trace_strs(t, hr_trace_attempt(t), "gen_ai.response.finish_reasons", "stop");
	hr_trace_str(t, 0, "quote", "a\"b");
	json_t *spans = hr_trace_spans_json(t);
	assert_int_equal(json_array_size(spans), 4);
	json_t *root = json_array_get(spans, 0), *a1 = json_array_get(spans, 2),
	       *a2 = json_array_get(spans, 3);
	const char *rid = json_string_value(json_object_get(root, "spanId"));
	assert_string_equal(json_string_value(json_object_get(root, "traceId")),
	                    "4bf92f3577b34da6a3ce929d0e0e4736");
	assert_string_equal(json_string_value(json_object_get(root, "parentSpanId")),
	                    "00f067aa0ba902b7");
	assert_int_equal(strlen(rid), 16);
	assert_string_equal(json_string_value(json_object_get(a1, "parentSpanId")), rid);
	assert_string_equal(json_string_value(json_object_get(a1, "name")), "chat gpt-x");
	assert_int_equal(json_integer_value(json_object_get(a1, "kind")), 3);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(a1, "status"), "code")),
	                 2);
	assert_string_equal(attr_str(a1, "http.response.status_code", "intValue"), "503");
	assert_string_equal(attr_str(a2, "gen_ai.request.model", "stringValue"), "gpt-y");
	assert_string_equal(attr_str(a2, "gen_ai.usage.input_tokens", "intValue"), "12");
	assert_string_equal(attr_str(root, "quote", "stringValue"), "a\"b");

	struct hr_buf b = HR_BUF_INIT(1 << 20);
	assert_int_equal(hr_trace_otlp_json(spans, "svc", &b), 0);
	json_t *req = json_loadb(b.ptr, b.len, 0, NULL);
	assert_non_null(req);
	json_t *rs = json_array_get(json_object_get(req, "resourceSpans"), 0);
	json_t *kv =
	    json_array_get(json_object_get(json_object_get(rs, "resource"), "attributes"), 0);
	assert_string_equal(json_string_value(json_object_get(kv, "key")), "service.name");
	json_t *ss = json_array_get(json_object_get(rs, "scopeSpans"), 0);
	assert_int_equal(json_array_size(json_object_get(ss, "spans")), 4);
	json_decref(req);
	hr_buf_release(&b);
	json_decref(spans);
	hr_trace_finish(t);
	hr_trace_exporter_stop();
	hr_conf_release(c);
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
	    cmocka_unit_test(test_traceparent),
	    cmocka_unit_test(test_span_json),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
