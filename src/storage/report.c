/* report.c - the usage report (report.h): records grouped into cells (a group of dimension
 * values in a period), each with its sums and the latencies that give exact percentiles. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "storage/report.h"

const char *const hr_usage_dim_names[HR_DIM__COUNT] = {
    [HR_DIM_MODEL] = "model", [HR_DIM_PROVIDER] = "provider", [HR_DIM_LOCALITY] = "locality",
    [HR_DIM_TASK] = "task",   [HR_DIM_KEY] = "key",           [HR_DIM_USER] = "user",
    [HR_DIM_TEAM] = "team",   [HR_DIM_STATUS] = "status",     [HR_DIM_ORIGIN] = "origin",
};

int hr_usage_dim_parse(const char *s, size_t n)
{
	for (int d = 0; d < HR_DIM__COUNT; d++)
		if (strlen(hr_usage_dim_names[d]) == n && memcmp(hr_usage_dim_names[d], s, n) == 0)
			return d;
	return -1;
}

int hr_usage_interval_parse(const char *s)
{
	static const char *const names[] = {"none", "hour", "day", "month"};
	for (int i = 0; i < 4; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return -1;
}

int64_t hr_report_period(enum hr_usage_interval iv, int64_t ts_ms)
{
	int64_t s = ts_ms >= 0 ? ts_ms / 1000 : 0;
	switch (iv) {
	case HR_INTERVAL_HOUR: return s / 3600 * 3600000;
	case HR_INTERVAL_DAY: return s / 86400 * 86400000;
	case HR_INTERVAL_MONTH: {
		time_t t = (time_t)s;
		struct tm tm;
		if (!gmtime_r(&t, &tm))
			return 0;
		tm.tm_mday = 1;
		tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
		return (int64_t)timegm(&tm) * 1000;
	}
	case HR_INTERVAL_NONE: break;
	}
	return 0;
}

/* Latencies of a cell: a growable array in the arena (old blocks are left behind). */
struct lat {
	int32_t *v;
	size_t n, cap;
};

struct cell {
	struct hr_usage_cell out;
	uint64_t hash;
	struct lat lat, ttfb;
};

struct hr_report_acc {
	struct hr_arena *a;
	struct hr_usage_query q;
	struct cell **slots; /* open addressing; NULL free */
	size_t n_slots, n;
	struct cell total;
};

struct hr_report_acc *hr_report_acc_new(struct hr_arena *a, const struct hr_usage_query *q)
{
	struct hr_report_acc *acc = hr_arena_calloc(a, sizeof *acc);
	if (!acc)
		return NULL;
	acc->a = a;
	acc->q = *q;
	acc->n_slots = 64;
	acc->slots = hr_arena_calloc(a, acc->n_slots * sizeof *acc->slots);
	return acc->slots ? acc : NULL;
}

static uint64_t fnv(uint64_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (h ^ 0x1f) * 1099511628211ull; /* a separator: ("ab","c") != ("a","bc") */
}

static const char *dim_value(const struct hr_usage_fact *f, int d)
{
	if (d == HR_DIM_ORIGIN)
		return f->dim[d] ? f->dim[d] : "client";
	return f->dim[d] && *f->dim[d] ? f->dim[d] : "-";
}

static bool same(const struct cell *c, const struct hr_usage_fact *f, int64_t period,
                 unsigned dims)
{
	if (c->out.period_ms != period)
		return false;
	for (int d = 0; d < HR_DIM__COUNT; d++)
		if ((dims & (1u << d)) && strcmp(c->out.dim[d], dim_value(f, d)) != 0)
			return false;
	return true;
}

static int grow(struct hr_report_acc *acc)
{
	size_t n = acc->n_slots * 2;
	struct cell **s = hr_arena_calloc(acc->a, n * sizeof *s);
	if (!s)
		return HR_ENOMEM;
	for (size_t i = 0; i < acc->n_slots; i++) {
		struct cell *c = acc->slots[i];
		if (!c)
			continue;
		size_t j = (size_t)c->hash & (n - 1);
		while (s[j])
			j = (j + 1) & (n - 1);
		s[j] = c;
	}
	acc->slots = s;
	acc->n_slots = n;
	return 0;
}

static int lat_add(struct hr_arena *a, struct lat *l, int64_t v)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 16;
		int32_t *nv = hr_arena_alloc(a, cap * sizeof *nv);
		if (!nv)
			return HR_ENOMEM;
		if (l->n)
			memcpy(nv, l->v, l->n * sizeof *nv);
		l->v = nv;
		l->cap = cap;
	}
	l->v[l->n++] = v > INT32_MAX ? INT32_MAX : (int32_t)v;
	return 0;
}

static int cell_add(struct hr_arena *a, struct cell *c, const struct hr_usage_fact *f)
{
	struct hr_usage_agg *g = &c->out.agg;
	g->requests++;
	g->errors += f->status >= 400;
	g->local_requests += f->dim[HR_DIM_LOCALITY] && strcmp(f->dim[HR_DIM_LOCALITY], "local") == 0;
	g->prompt_tokens += f->prompt_tokens;
	g->completion_tokens += f->completion_tokens;
	g->cost_usd += f->cost_usd;
	g->reference_cost_usd += f->reference_cost_usd;
	g->estimated |= f->estimated;
	int rc = lat_add(a, &c->lat, f->latency_ms);
	if (rc == 0 && f->ttfb_ms >= 0)
		rc = lat_add(a, &c->ttfb, f->ttfb_ms);
	return rc;
}

static bool in_scope(const struct hr_usage_query *q, const struct hr_usage_fact *f)
{
	if (!q->scope_user && !q->scope_key)
		return true;
	const char *u = f->dim[HR_DIM_USER], *k = f->dim[HR_DIM_KEY];
	return (q->scope_user && u && strcmp(u, q->scope_user) == 0) ||
	       (q->scope_key && k && strcmp(k, q->scope_key) == 0);
}

int hr_report_acc_add(struct hr_report_acc *acc, const struct hr_usage_fact *f)
{
	const struct hr_usage_query *q = &acc->q;
	if (f->ts_ms < q->since_ms || (q->until_ms > 0 && f->ts_ms >= q->until_ms) ||
	    !in_scope(q, f))
		return 0;
	int rc = cell_add(acc->a, &acc->total, f);
	if (rc < 0)
		return rc;
	int64_t period = hr_report_period(q->interval, f->ts_ms);
	uint64_t h = 1469598103934665603ull ^ (uint64_t)period;
	for (int d = 0; d < HR_DIM__COUNT; d++)
		if (q->dims & (1u << d))
			h = fnv(h, dim_value(f, d));
	size_t i = (size_t)h & (acc->n_slots - 1);
	while (acc->slots[i] && !(acc->slots[i]->hash == h && same(acc->slots[i], f, period, q->dims)))
		i = (i + 1) & (acc->n_slots - 1);
	struct cell *c = acc->slots[i];
	if (!c) {
		if (acc->n == HR_REPORT_MAX_CELLS)
			return HR_ETOOMANY;
		if (!(c = hr_arena_calloc(acc->a, sizeof *c)))
			return HR_ENOMEM;
		c->hash = h;
		c->out.period_ms = period;
		for (int d = 0; d < HR_DIM__COUNT; d++)
			if (q->dims & (1u << d)) {
				const char *v = dim_value(f, d);
				if (!(c->out.dim[d] = hr_arena_strndup(acc->a, v, strlen(v))))
					return HR_ENOMEM;
			}
		acc->slots[i] = c;
		if (++acc->n * 2 > acc->n_slots && grow(acc) < 0)
			return HR_ENOMEM;
	}
	return cell_add(acc->a, c, f);
}

static int cmp_i32(const void *x, const void *y)
{
	int32_t a = *(const int32_t *)x, b = *(const int32_t *)y;
	return (a > b) - (a < b);
}

/* Nearest rank: the value at ceil(p * n) of the sorted values. */
static void percentiles(struct lat *l, double out[3])
{
	static const double ps[3] = {0.50, 0.90, 0.99};
	if (l->n == 0) {
		out[0] = out[1] = out[2] = -1;
		return;
	}
	qsort(l->v, l->n, sizeof *l->v, cmp_i32);
	for (int i = 0; i < 3; i++) {
		size_t rank = (size_t)(ps[i] * (double)l->n + 0.999999999);
		out[i] = l->v[(rank ? rank : 1) - 1];
	}
}

static int dim_cmp(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_cell(const void *x, const void *y)
{
	const struct hr_usage_cell *a = x, *b = y;
	if (a->period_ms != b->period_ms)
		return a->period_ms < b->period_ms ? -1 : 1;
	for (int d = 0; d < HR_DIM__COUNT; d++) {
		int c = dim_cmp(a->dim[d], b->dim[d]);
		if (c)
			return c;
	}
	return 0;
}

int hr_report_acc_finish(struct hr_report_acc *acc, struct hr_usage_report *out)
{
	memset(out, 0, sizeof *out);
	out->cells = hr_arena_alloc(acc->a, (acc->n ? acc->n : 1) * sizeof *out->cells);
	if (!out->cells)
		return HR_ENOMEM;
	for (size_t i = 0; i < acc->n_slots; i++) {
		struct cell *c = acc->slots[i];
		if (!c)
			continue;
		percentiles(&c->lat, c->out.agg.latency_ms);
		percentiles(&c->ttfb, c->out.agg.ttfb_ms);
		out->cells[out->n_cells++] = c->out;
	}
	qsort(out->cells, out->n_cells, sizeof *out->cells, cmp_cell);
	percentiles(&acc->total.lat, acc->total.out.agg.latency_ms);
	percentiles(&acc->total.ttfb, acc->total.out.agg.ttfb_ms);
	out->totals = acc->total.out.agg;
	return 0;
}

static int scan_cb(void *arg, const struct hr_usage_fact *f)
{
	return hr_report_acc_add(arg, f);
}

int hr_report_run(struct hr_store *st, struct hr_arena *a, const struct hr_usage_query *q,
                  struct hr_usage_report *out)
{
	struct hr_report_acc *acc = hr_report_acc_new(a, q);
	if (!acc)
		return HR_ENOMEM;
	int rc = st->ops->usage_scan(st, q->since_ms, q->until_ms, scan_cb, acc);
	return rc < 0 ? rc : hr_report_acc_finish(acc, out);
}
