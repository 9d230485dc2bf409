/* metrics.c - GET /metrics: the telemetry registry (telemetry/metrics.h) and the live gauges
 * of the layers above it (circuit breakers, concurrency gates, the usage writer), in the
 * Prometheus text exposition format 0.0.4. */
#include <event2/http.h>
#include <string.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "router/router.h"
#include "storage/usage.h"
#include "telemetry/alerts.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"

#define METRICS_MAX_BYTES (16u << 20)

/* One gauge per configured model (bounded by the config), from fn. */
static int per_model(struct hr_buf *out, const struct hr_conf *c, const char *name,
                     const char *help, double (*fn)(struct hr_req *, const char *),
                     struct hr_req *rq)
{
	static const char *const ln[] = {"model"};
	int rc = hr_prom_family(out, name, "gauge", help);
	for (size_t i = 0; i < c->n_models && rc == 0; i++) {
		const char *lv[] = {c->models[i].name};
		rc = hr_prom_sample(out, name, ln, lv, 1, fn(rq, c->models[i].name));
	}
	return rc;
}

static double breaker_state(struct hr_req *rq, const char *model)
{
	if (!rq->api->breakers)
		return 0;
	const char *s = hr_breaker_state(rq->api->breakers, model, hr_now_us() / 1000);
	return strcmp(s, "open") == 0 ? 2 : strcmp(s, "half-open") == 0 ? 1 : 0;
}

static double inflight(struct hr_req *rq, const char *model)
{
	int n = 0, q = 0;
	hr_gate_load(rq->api->gates, model, &n, &q);
	return n;
}

static double queued(struct hr_req *rq, const char *model)
{
	int n = 0, q = 0;
	hr_gate_load(rq->api->gates, model, &n, &q);
	return q;
}

void hr_api_metrics(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	struct hr_buf b = HR_BUF_INIT(METRICS_MAX_BYTES);
	int rc = hr_metrics_write(&b);
	if (rc == 0)
		rc = per_model(&b, c, "hearth_breaker_state",
		               "Circuit breaker of each configured model: 0 closed, 1 half-open, 2 "
		               "open.",
		               breaker_state, rq);
	if (rc == 0 && rq->api->gates)
		rc = per_model(&b, c, "hearth_inflight",
		               "Provider calls in flight to each configured model.", inflight, rq);
	if (rc == 0 && rq->api->gates)
		rc = per_model(&b, c, "hearth_queue_depth",
		               "Calls waiting for a slot of each configured model "
		               "(models.<name>.max_concurrency).",
		               queued, rq);
	if (rc == 0 && rq->api->writer) {
		struct hr_usage_writer_stats st;
		hr_usage_writer_stats(rq->api->writer, &st);
		if ((rc = hr_prom_family(&b, "hearth_usage_records_queued", "gauge",
		                         "Usage records waiting for the writer's next commit.")) ==
		    0)
			rc = hr_prom_sample(&b, "hearth_usage_records_queued", NULL, NULL, 0,
			                    (double)st.queued);
	}
	if (rc == 0) {
		struct hr_trace_stats ts;
		hr_trace_stats(&ts);
		static const char *const ln[] = {"outcome"};
		const char *ok[] = {"exported"}, *dr[] = {"dropped"}, *fl[] = {"failed"};
		if ((rc = hr_prom_family(&b, "hearth_traces_total", "counter",
		                         "Finished traces by outcome: exported to the collector, "
		                         "dropped (queue full), failed (the collector did not take "
		                         "them).")) == 0 &&
		    (rc = hr_prom_sample(&b, "hearth_traces_total", ln, ok, 1,
		                         (double)ts.exported)) == 0 &&
		    (rc = hr_prom_sample(&b, "hearth_traces_total", ln, dr, 1,
		                         (double)ts.dropped)) == 0)
			rc =
			    hr_prom_sample(&b, "hearth_traces_total", ln, fl, 1, (double)ts.failed);
	}
	if (rc == 0 && rq->api->alerts) {
		struct hr_alerts_stats as;
		hr_alerts_stats(rq->api->alerts, &as);
		static const char *const ln[] = {"outcome"};
		static const char *const outcome[] = {"raised", "delivered", "failed", "dropped"};
		const double v[] = {(double)as.raised, (double)as.delivered, (double)as.failed,
		                    (double)as.dropped};
		rc = hr_prom_family(&b, "hearth_alerts_total", "counter",
		                    "Alerts raised, and their webhook deliveries: delivered, failed "
		                    "after retries, dropped (queue full).");
		for (size_t i = 0; i < 4 && rc == 0; i++)
			rc = hr_prom_sample(&b, "hearth_alerts_total", ln, &outcome[i], 1, v[i]);
	}
	/* budgets (a later change) add hearth_budget_remaining_usd{budget} here */
	if (rc < 0) {
		hr_buf_release(&b);
		hr_req_error(rq, rc == HR_ETOOBIG ? HR_EINTERNAL : rc, NULL, NULL);
		return;
	}
	hr_req_respond(rq, 200, "text/plain; version=0.0.4; charset=utf-8", &b);
}
