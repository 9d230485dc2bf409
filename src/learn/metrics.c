/* metrics.c - how good a router is, as pure functions over arrays: the quality-vs-share-of-
 * strong-calls curve (exact, and RouteLLM's 10-quantile version), APGR, CPT, RouterBench's
 * non-decreasing convex hull and AIQ, and the many-model decision rule. docs/router.md gives
 * the definitions and where they come from. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "learn/learn.h"

struct sortkey {
	double s;
	size_t i;
};

static int by_score_desc(const void *x, const void *y)
{
	const struct sortkey *a = x, *b = y;
	if (a->s != b->s)
		return a->s > b->s ? -1 : 1;
	return a->i < b->i ? -1 : a->i > b->i;
}

size_t hr_learn_curve_exact(const double *score, const double *weak, const double *strong, size_t n,
                            struct hr_learn_pt *out, struct hr_arena *a)
{
	if (n == 0)
		return 0;
	struct sortkey *k = hr_arena_alloc(a, n * sizeof *k);
	if (!k)
		return 0;
	double q = 0;
	for (size_t i = 0; i < n; i++) {
		k[i] = (struct sortkey){score[i], i};
		q += weak[i];
	}
	qsort(k, n, sizeof *k, by_score_desc);
	/* sums in a fixed order: the block's gains, then divided once */
	double sum = q;
	size_t m = 0, taken = 0;
	out[m++] = (struct hr_learn_pt){0.0, sum / (double)n};
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && k[j].s == k[i].s) {
			sum += strong[k[j].i] - weak[k[j].i];
			j++;
		}
		taken += j - i;
		out[m++] = (struct hr_learn_pt){(double)taken / (double)n, sum / (double)n};
		i = j;
	}
	return m;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static int by_x(const void *x, const void *y)
{
	const struct hr_learn_pt *a = x, *b = y;
	if (a->x != b->x)
		return a->x < b->x ? -1 : 1;
	return a->q < b->q ? -1 : a->q > b->q;
}

size_t hr_learn_curve_routellm(const double *score, const double *weak, const double *strong,
                               size_t n, unsigned bins, struct hr_learn_pt *out, struct hr_arena *a)
{
	if (n == 0 || bins == 0)
		return 0;
	double *sorted = hr_arena_alloc(a, n * sizeof *sorted);
	if (!sorted)
		return 0;
	memcpy(sorted, score, n * sizeof *sorted);
	qsort(sorted, n, sizeof *sorted, cmp_double);
	for (unsigned b = 0; b <= bins; b++) {
		/* numpy's default (linear) quantile, as pandas.qcut uses */
		double pos = (double)(n - 1) * (double)b / (double)bins;
		size_t lo = (size_t)floor(pos);
		size_t hi = lo + 1 < n ? lo + 1 : lo;
		double t = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
		double sum = 0;
		size_t cnt = 0;
		for (size_t i = 0; i < n; i++) {
			bool s = b < bins ? score[i] >= t : score[i] > t;
			sum += s ? strong[i] : weak[i];
			cnt += s;
		}
		out[b] = (struct hr_learn_pt){(double)cnt / (double)n, sum / (double)n};
	}
	qsort(out, bins + 1, sizeof *out, by_x);
	return bins + 1;
}

double hr_learn_apgr(const struct hr_learn_pt *c, size_t n, double weak_q, double strong_q)
{
	if (n < 2 || strong_q == weak_q)
		return NAN;
	double area = 0;
	for (size_t i = 1; i < n; i++)
		area += (c[i].x - c[i - 1].x) * (c[i].q + c[i - 1].q) / 2.0;
	double span = c[n - 1].x - c[0].x;
	if (span <= 0)
		return NAN;
	return (area - weak_q * span) / (strong_q * span - weak_q * span);
}

double hr_learn_cpt(const struct hr_learn_pt *c, size_t n, double weak_q, double strong_q, double p)
{
	if (n == 0)
		return NAN;
	double target = weak_q + p * (strong_q - weak_q);
	if (c[0].q >= target)
		return 100.0 * c[0].x;
	for (size_t i = 1; i < n; i++)
		if (c[i].q >= target) {
			double dq = c[i].q - c[i - 1].q;
			double f = dq > 0 ? (target - c[i - 1].q) / dq : 1.0;
			return 100.0 * (c[i - 1].x + f * (c[i].x - c[i - 1].x));
		}
	return NAN;
}

static int by_cost(const void *x, const void *y)
{
	const struct hr_learn_cq *a = x, *b = y;
	if (a->cost != b->cost)
		return a->cost < b->cost ? -1 : 1;
	return a->q > b->q ? -1 : a->q < b->q; /* best quality first at one cost */
}

size_t hr_learn_hull(const struct hr_learn_cq *pts, size_t n, struct hr_learn_cq *out,
                     struct hr_arena *a)
{
	if (n == 0)
		return 0;
	struct hr_learn_cq *s = hr_arena_alloc(a, n * sizeof *s);
	if (!s)
		return 0;
	memcpy(s, pts, n * sizeof *s);
	qsort(s, n, sizeof *s, by_cost);
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (k > 0 && s[i].cost == out[k - 1].cost)
			continue; /* a worse point at the same cost */
		/* the upper hull: drop the last point while it is on or below the chord */
		while (k >= 2) {
			const struct hr_learn_cq *o = &out[k - 2], *b = &out[k - 1];
			double cross = (b->cost - o->cost) * (s[i].q - o->q) -
			               (b->q - o->q) * (s[i].cost - o->cost);
			if (cross >= 0)
				k--;
			else
				break;
		}
		out[k++] = s[i];
	}
	/* non-decreasing: stop at the best quality */
	size_t best = 0;
	for (size_t i = 1; i < k; i++)
		if (out[i].q > out[best].q)
			best = i;
	return best + 1;
}

double hr_learn_aiq(const struct hr_learn_cq *pts, size_t n, double c_max, struct hr_arena *a)
{
	struct hr_learn_cq *h = hr_arena_alloc(a, (n ? n : 1) * sizeof *h);
	if (!h)
		return NAN;
	size_t k = hr_learn_hull(pts, n, h, a);
	if (k == 0)
		return NAN;
	if (c_max < h[k - 1].cost)
		c_max = h[k - 1].cost;
	if (!(c_max > 0))
		return NAN;
	double area = 0;
	for (size_t i = 1; i < k; i++)
		area += (h[i].cost - h[i - 1].cost) * (h[i].q + h[i - 1].q) / 2.0;
	area += (c_max - h[k - 1].cost) * h[k - 1].q;
	return area / c_max;
}

struct groupkey {
	const char *g;
	size_t i;
};

static int by_group(const void *x, const void *y)
{
	const struct groupkey *a = x, *b = y;
	int c = (a->g == NULL) - (b->g == NULL);
	if (c == 0 && a->g)
		c = strcmp(a->g, b->g);
	if (c != 0)
		return c;
	return a->i < b->i ? -1 : a->i > b->i;
}

static int same_group(const char *x, const char *y)
{
	return x == y || (x && y && strcmp(x, y) == 0);
}

int hr_learn_group_mean(const double *v, const char *const *group, size_t n, double *out,
                        struct hr_arena *a)
{
	if (n == 0)
		return 0;
	struct groupkey *k = hr_arena_alloc(a, n * sizeof *k);
	if (!k)
		return HR_ENOMEM;
	for (size_t i = 0; i < n; i++)
		k[i] = (struct groupkey){group[i], i};
	qsort(k, n, sizeof *k, by_group);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		double sum = 0;
		while (j < n && same_group(k[i].g, k[j].g))
			sum += v[k[j++].i];
		for (size_t m = i; m < j; m++)
			out[k[m].i] = sum / (double)(j - i);
		i = j;
	}
	return 0;
}

size_t hr_learn_pick(const double *p, const double *cost, size_t n_models, double threshold)
{
	size_t pick = n_models, best = 0;
	for (size_t i = 0; i < n_models; i++) {
		if (p[i] > p[best])
			best = i;
		if (p[i] >= threshold && (pick == n_models || cost[i] < cost[pick]))
			pick = i;
	}
	return pick < n_models ? pick : best;
}
