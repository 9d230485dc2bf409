/* online.c - the arithmetic of learning online: paired judge scores of a task's challenger
 * and reference (read from storage by hr_learn_task_pairs, the rest pure), their confidence
 * intervals, auto_promote's verdict, and the judge's answer. src/api/shadow.c, the usage
 * report's savings and `hearth router status` use it. */
#include <math.h>
#include <string.h>

#include <jansson.h>

#include "core/err.h"
#include "learn/learn.h"
#include "storage/store.h"

#define Z95         1.959963984540054 /* two-sided 95% of the normal distribution */
#define JUDGE_TRIES 32                /* objects tried in a judge's answer */

bool hr_learn_sample_pair(const struct hr_learn_sample *s, const char *challenger,
                          const char *reference, double *c, double *r)
{
	*c = *r = -1;
	for (size_t i = 0; i < s->n_scores; i++)
		if (strcmp(s->scores[i].source, "judge") == 0) {
			if (strcmp(s->scores[i].model, challenger) == 0)
				*c = s->scores[i].score;
			else if (strcmp(s->scores[i].model, reference) == 0)
				*r = s->scores[i].score;
		}
	return *c >= 0 && *r >= 0;
}

struct pair_scan {
	const char *challenger, *reference;
	struct hr_learn_pairs *pairs;
};

static int add_pair(void *arg, const struct hr_learn_sample *s)
{
	struct pair_scan *ps = arg;
	double c, r;
	if (hr_learn_sample_pair(s, ps->challenger, ps->reference, &c, &r))
		hr_learn_pairs_add(ps->pairs, c, r);
	return 0;
}

int hr_learn_task_pairs(struct hr_store *st, const char *task, const char *challenger,
                        const char *reference, struct hr_learn_pairs *out)
{
	struct pair_scan ps = {challenger, reference, out};
	memset(out, 0, sizeof *out);
	return st->ops->learn_scan(st, task, add_pair, &ps);
}

static void welford(double x, size_t n, double *mean, double *m2)
{
	double d = x - *mean;
	*mean += d / (double)n;
	*m2 += d * (x - *mean);
}

void hr_learn_pairs_add(struct hr_learn_pairs *p, double challenger, double reference)
{
	p->n++;
	welford(challenger, p->n, &p->mean_c, &p->m2_c);
	welford(reference, p->n, &p->mean_r, &p->m2_r);
	welford(challenger - reference, p->n, &p->mean_d, &p->m2_d);
}

/* Half-width of the 95% interval of a mean. */
static double half_width(double m2, size_t n)
{
	if (n < 2)
		return 0;
	double var = m2 / (double)(n - 1);
	return Z95 * sqrt(var > 0 ? var : 0) / sqrt((double)n);
}

void hr_learn_pairs_stats(const struct hr_learn_pairs *p, struct hr_learn_pair_stats *out)
{
	memset(out, 0, sizeof *out);
	out->n = p->n;
	if (p->n == 0)
		return;
	out->challenger = p->mean_c;
	out->reference = p->mean_r;
	out->diff = p->mean_d;
	out->challenger_ci = half_width(p->m2_c, p->n);
	out->reference_ci = half_width(p->m2_r, p->n);
	double h = half_width(p->m2_d, p->n);
	out->diff_lo = p->mean_d - h;
	out->diff_hi = p->mean_d + h;
}

enum hr_learn_verdict hr_learn_promote_verdict(const struct hr_learn_pair_stats *s,
                                               size_t min_samples, double margin)
{
	if (s->n < min_samples || s->n < 2)
		return HR_LEARN_UNDECIDED;
	if (s->diff_lo >= -margin)
		return HR_LEARN_PROMOTE;
	if (s->diff_hi < -margin)
		return HR_LEARN_DEMOTE;
	return HR_LEARN_UNDECIDED;
}

const char *hr_learn_verdict_name(enum hr_learn_verdict v)
{
	switch (v) {
	case HR_LEARN_PROMOTE: return "no worse";
	case HR_LEARN_DEMOTE: return "worse";
	case HR_LEARN_UNDECIDED: break;
	}
	return "undecided";
}

static int score_of(json_t *o, const char *k, double *out)
{
	json_t *v = json_object_get(o, k);
	if (!json_is_number(v))
		return HR_EINVAL;
	double s = json_number_value(v);
	if (!(s >= 1 && s <= 10))
		return HR_EINVAL;
	*out = (s - 1) / 9;
	return 0;
}

/* The first of the first JUDGE_TRIES objects in text with every key of keys[0..nk) a score
 * in 1..10, into out (mapped to 0..1). */
static int judge_scores(const char *text, size_t n, const char *const *keys, double *out,
                        size_t nk)
{
	/* a judge may wrap its object in prose or a code fence: try each '{' in turn (the first
	 * JUDGE_TRIES: a text of braces costs no more than that many parses), and let jansson
	 * stop at the end of the first complete value */
	int tries = 0;
	for (size_t i = 0; i < n && tries < JUDGE_TRIES; i++) {
		if (text[i] != '{')
			continue;
		tries++;
		json_t *o = json_loadb(text + i, n - i, JSON_DISABLE_EOF_CHECK, NULL);
		int rc = o && json_is_object(o) ? 0 : HR_EINVAL;
		for (size_t k = 0; k < nk && rc == 0; k++)
			rc = score_of(o, keys[k], &out[k]);
		json_decref(o);
		if (rc == 0)
			return 0;
	}
	return HR_EINVAL;
}

int hr_learn_judge_parse(const char *text, size_t n, double *a, double *b)
{
	static const char *const keys[] = {"a", "b"};
	double s[2];
	if (judge_scores(text, n, keys, s, 2) < 0)
		return HR_EINVAL;
	*a = s[0];
	*b = s[1];
	return 0;
}

int hr_learn_judge_parse_one(const char *text, size_t n, double *score)
{
	static const char *const keys[] = {"score"};
	return judge_scores(text, n, keys, score, 1);
}
