/* learn.h - the learned router's core: outcome data (JSON Lines), prompt features, a
 * multi-output logistic model trained with seeded Adagrad, its versioned file, and the
 * routing metrics (APGR, CPT, AIQ, operating points). docs/router.md describes all of it.
 *
 * Ownership: a data set, a model and every array they hand out live in the arena given to
 * the function that made them (or in the model's own arena for hr_learn_model_*); nothing is
 * freed one by one. Features are computed into a caller-owned scratch (struct hr_learn_fx)
 * made once per thread; extraction allocates nothing. Every function is deterministic: the
 * same bytes and the same seed give the same numbers, bit for bit, on one build. */
#ifndef HR_LEARN_H
#define HR_LEARN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"

/* ---- outcome data ----
 * One JSON object per line: {"id", "prompt", "task"?, "outcomes": {"<model>": {"score":
 * 0..1, "cost"?: dollars >= 0, "latency_ms"?: >= 0}}}. Unknown keys, a missing or empty id
 * or prompt, a score outside [0, 1], a duplicate id: each is an error naming file:line. */

struct hr_learn_outcome {
	bool present;
	bool has_cost, has_latency;
	double score, cost, latency_ms;
};

struct hr_learn_row {
	const char *id, *prompt, *task; /* task: NULL when absent */
	size_t prompt_len;
	struct hr_learn_outcome *out; /* [n_models], indexed like hr_learn_data.models */
	const char *file;             /* where it came from (for messages) */
	size_t line;
};

struct hr_learn_data {
	const char **models; /* the union of model names, in order of first appearance */
	size_t n_models;
	struct hr_learn_row *rows;
	size_t n_rows;
	unsigned char sha256[32]; /* of every input file's bytes, in the order given */
};

/* Reads the files (in order) into d. Returns 0; or HR_EINVAL / HR_ETOOBIG / HR_ETOOMANY /
 * HR_EIO with one line "file:line: what is wrong" (or "file: ...") appended to err.
 * Everything lives in a. */
int hr_learn_data_read(struct hr_arena *a, const char *const *files, size_t n_files,
                       struct hr_learn_data *d, struct hr_buf *err);
/* The same over bytes in memory (name: used in messages). Used by the fuzz target. */
int hr_learn_data_parse(struct hr_arena *a, const char *name, const char *p, size_t n,
                        struct hr_learn_data *d, struct hr_buf *err);
/* Index of model name in d, or -1. */
long hr_learn_data_model(const struct hr_learn_data *d, const char *name);
/* The first name of the comma-separated list names that d has (a model may be called
 * differently in different sets). Returns its index, or -1. */
long hr_learn_data_model_of(const struct hr_learn_data *d, const char *names);

/* The indices in d of the comma-separated names, in the list's order (those d lacks are
 * left out), at most max. Returns how many. */
size_t hr_learn_names_resolve(const struct hr_learn_data *d, const char *names, long *idx,
                              size_t max);
/* The first of idx[0..n) whose outcome row r has, or -1. */
long hr_learn_row_pick(const struct hr_learn_row *r, const long *idx, size_t n);

/* ---- features ---- */

#define HR_LEARN_DENSE 20 /* dense signals after the hashed space (index 0 is the bias) */

struct hr_learn_fconf {
	unsigned hash_bits;   /* hashed space of 2^hash_bits slots (10..22) */
	unsigned word_ngrams; /* 1: unigrams; 2: and bigrams */
	unsigned char_min;    /* character n-grams of lowercased text, char_min..char_max */
	unsigned char_max;    /* 0: none; at most 5 */
	unsigned max_bytes;   /* only the first max_bytes of the prompt feed the n-grams */
	float dense_weight;   /* scale of the dense block against the hashed one */
};

/* hash_bits 14, words 1-2, chars 3-5, the first 1024 bytes, dense weight 1. */
void hr_learn_fconf_default(struct hr_learn_fconf *c);

/* A sparse feature vector: idx < (1 << hash_bits) + HR_LEARN_DENSE, distinct, in the order
 * first seen (deterministic). */
struct hr_learn_fvec {
	uint32_t *idx;
	float *val;
	size_t n;
};

/* Scratch for extraction: made once (hr_learn_fx_new), reused for every prompt. */
struct hr_learn_fx;
/* Returns: owned by a; NULL on OOM. */
struct hr_learn_fx *hr_learn_fx_new(struct hr_arena *a, const struct hr_learn_fconf *c);
/* Features of one prompt. out's arrays belong to fx and are overwritten by the next call.
 * The hashed part is signed, log-scaled (sign * log1p(count)) and L2-normalised; the dense
 * part is appended (docs/router.md lists the signals). */
void hr_learn_features(struct hr_learn_fx *fx, const char *p, size_t n, struct hr_learn_fvec *out);
/* The dense signals alone (names for docs and tests). */
extern const char *const hr_learn_dense_names[HR_LEARN_DENSE];

/* ---- model ---- */

#define HR_LEARN_FORMAT_VERSION 1

/* What an output predicts. */
enum hr_learn_okind {
	HR_LEARN_OUT_MODEL, /* P(score of model >= bar) */
	HR_LEARN_OUT_GAIN,  /* P(the strong model is needed): target per hr_learn_target */
};

/* The two-model target (the "hardness" of a prompt). */
enum hr_learn_target {
	HR_LEARN_T_GAIN,      /* soft label (1 + strong - weak) / 2: how much strong beats weak */
	HR_LEARN_T_BEATS,     /* 1 when strong > weak, else 0 */
	HR_LEARN_T_WEAK_FAILS /* 1 when weak < bar */
};

struct hr_learn_hparams {
	uint64_t seed;
	unsigned epochs;
	double lr;  /* Adagrad step */
	double l2;  /* L2 per example on the weights touched */
	double bar; /* a score >= bar is a good answer */
	enum hr_learn_target target;
};

void hr_learn_hparams_default(struct hr_learn_hparams *h);

struct hr_learn_output {
	enum hr_learn_okind kind;
	const char *model;  /* MODEL: its name */
	const char *weak;   /* GAIN: comma-separated names of the weak model (first present) */
	const char *strong; /* GAIN: the same for the strong model */
	double mean_cost;   /* MODEL: mean cost per prompt in the training data; -1 unknown */
	double mean_score;  /* MODEL: mean score in the training data */
};

struct hr_learn_model {
	struct hr_arena *a; /* owns everything below */
	int version;
	struct hr_learn_fconf fc;
	struct hr_learn_hparams hp;
	struct hr_learn_output *outs;
	size_t n_outs;
	size_t dim; /* (1 << hash_bits) + HR_LEARN_DENSE */
	float *w;   /* [n_outs][dim] */
	unsigned char data_sha256[32];
	size_t n_train; /* rows trained on */
};

/* Trains on rows[i] for the i with use[i] true (use NULL: all). outs: the outputs wanted
 * (copied). Returns 0 with *out (its own arena; free with hr_learn_model_free), HR_EINVAL
 * with a message in err (no row has the outputs' models), or HR_ENOMEM. */
int hr_learn_train(const struct hr_learn_data *d, const bool *use, const struct hr_learn_fconf *fc,
                   const struct hr_learn_hparams *hp, const struct hr_learn_output *outs,
                   size_t n_outs, struct hr_learn_model **out, struct hr_buf *err);
void hr_learn_model_free(struct hr_learn_model *m);

/* The outputs for one prompt: probs[n_outs]. fx: made with the model's fc. */
void hr_learn_predict(const struct hr_learn_model *m, struct hr_learn_fx *fx, const char *p,
                      size_t n, double *probs);
/* The same from features already computed. */
void hr_learn_predict_fv(const struct hr_learn_model *m, const struct hr_learn_fvec *fv,
                         double *probs);

/* The model file: one JSON object (docs/router.md); weights are base64 of little-endian
 * float32, so a save/load round trip is exact. Returns 0, HR_ENOMEM, HR_EIO. */
int hr_learn_model_save(const struct hr_learn_model *m, const char *path, struct hr_buf *err);
int hr_learn_model_dump(const struct hr_learn_model *m, struct hr_buf *out);
/* Loads and validates everything (version, config ranges, sizes, finite weights). Returns
 * 0 with *out, or HR_EINVAL / HR_EIO / HR_ETOOBIG with "path: what is wrong" in err. */
int hr_learn_model_load(const char *path, struct hr_learn_model **out, struct hr_buf *err);
int hr_learn_model_parse(const char *name, const char *p, size_t n, struct hr_learn_model **out,
                         struct hr_buf *err);
/* Index of the output for model name (MODEL kind), or of the GAIN output; -1 absent. */
long hr_learn_model_output(const struct hr_learn_model *m, const char *name);
long hr_learn_model_gain(const struct hr_learn_model *m);

/* ---- metrics: pure functions over arrays ---- */

/* A point of the quality-vs-share-of-strong-calls curve. */
struct hr_learn_pt {
	double x; /* share of calls to the strong model, 0..1 */
	double q; /* mean quality */
};

/* The exact curve of a router that calls the strong model for the prompts with the highest
 * scores: one point per distinct score (tied prompts move together; the straight line
 * between points is the expectation of breaking ties at random). Points out[0..n_pts), from
 * x = 0 to x = 1; out needs n + 1 slots. Returns the number of points. */
size_t hr_learn_curve_exact(const double *score, const double *weak, const double *strong, size_t n,
                            struct hr_learn_pt *out, struct hr_arena *a);
/* RouteLLM's curve (routellm/evals/benchmarks.py): thresholds at the bins + 1 quantile edges
 * of the scores (linear interpolation), strong when score >= threshold (> for the last);
 * points sorted by x. out needs bins + 1 slots. Returns the number of points. */
size_t hr_learn_curve_routellm(const double *score, const double *weak, const double *strong,
                               size_t n, unsigned bins, struct hr_learn_pt *out,
                               struct hr_arena *a);
/* APGR: (trapezoid area under the curve - weak's) / (strong's - weak's), both over the
 * curve's x range (RouteLLM's apgr_metric). NAN when strong == weak or fewer than 2 points. */
double hr_learn_apgr(const struct hr_learn_pt *c, size_t n, double weak_q, double strong_q);
/* CPT(p): percent of strong calls to recover share p of the gap: the first x on the
 * piecewise-linear curve where q reaches weak + p (strong - weak), times 100. NAN when
 * never. */
double hr_learn_cpt(const struct hr_learn_pt *c, size_t n, double weak_q, double strong_q,
                    double p);

/* The per-group mean of v: out[i] = the mean of v[j] over every j with the same group as i
 * (groups compared as strings; NULL is a group of its own). Scored with the gains
 * (strong - weak) it is the *task oracle*: the best router that knows only each prompt's
 * task, the ceiling of what telling tasks apart can give. out has n slots. Returns 0 or
 * HR_ENOMEM. */
int hr_learn_group_mean(const double *v, const char *const *group, size_t n, double *out,
                        struct hr_arena *a);

/* A (cost, quality) point; AIQ is RouterBench's: the area under the non-decreasing upper
 * convex hull of the points, extended flat to c_max, divided by c_max (the cost range
 * [0, c_max] shared by the routers compared). */
struct hr_learn_cq {
	double cost, q;
};
/* The hull (sorted by cost) into out (n slots). Returns its size. */
size_t hr_learn_hull(const struct hr_learn_cq *pts, size_t n, struct hr_learn_cq *out,
                     struct hr_arena *a);
double hr_learn_aiq(const struct hr_learn_cq *pts, size_t n, double c_max, struct hr_arena *a);

/* The many-model decision: the cheapest model (by cost[]) whose predicted P(good) >=
 * threshold; when none, the one with the highest P. Returns its index. */
size_t hr_learn_pick(const double *p, const double *cost, size_t n_models, double threshold);

/* ---- learning online (src/learn/online.c) ----
 * Paired scores of one task's shadow evaluations: the challenger's and the reference's score
 * of the same prompt, from the same judge. Accumulated with Welford's method (stable). */
struct hr_learn_pairs {
	size_t n;
	double mean_c, mean_r, mean_d; /* challenger, reference, difference c - r */
	double m2_c, m2_r, m2_d;       /* sums of squared deviations */
};
void hr_learn_pairs_add(struct hr_learn_pairs *p, double challenger, double reference);

/* The judged pairs of task (challenger against reference) in storage st, into *out (zeroed
 * first): one pair per kept prompt whose judge scored both. Returns 0 or the store's error. */
struct hr_store;
struct hr_learn_sample;
int hr_learn_task_pairs(struct hr_store *st, const char *task, const char *challenger,
                        const char *reference, struct hr_learn_pairs *out);
/* The judge's scores of challenger and reference in one sample; false unless both. */
bool hr_learn_sample_pair(const struct hr_learn_sample *s, const char *challenger,
                          const char *reference, double *c, double *r);

/* Means with 95% confidence intervals (normal approximation, z = 1.96; half-widths 0 with
 * fewer than 2 pairs). */
struct hr_learn_pair_stats {
	size_t n;
	double challenger, challenger_ci, reference, reference_ci;
	double diff, diff_lo, diff_hi; /* mean of challenger - reference, and its interval */
};
void hr_learn_pairs_stats(const struct hr_learn_pairs *p, struct hr_learn_pair_stats *out);

/* auto_promote's test of non-inferiority: with at least min_samples pairs, PROMOTE when the
 * interval's low end is >= -margin (no worse by more than margin), DEMOTE when its high end
 * is < -margin (worse by more than margin), else UNDECIDED. */
enum hr_learn_verdict { HR_LEARN_UNDECIDED, HR_LEARN_PROMOTE, HR_LEARN_DEMOTE };
enum hr_learn_verdict hr_learn_promote_verdict(const struct hr_learn_pair_stats *s,
                                               size_t min_samples, double margin);
const char *hr_learn_verdict_name(enum hr_learn_verdict v);

/* The judge's answer: the first JSON object (of the first 32 '{') in text with numbers "a"
 * and "b" in 1..10,
 * mapped to 0..1 as (s - 1) / 9 (MT-Bench's scale, as tools/routing-data maps it).
 * Returns 0, or HR_EINVAL when there is none. */
int hr_learn_judge_parse(const char *text, size_t n, double *a, double *b);
/* The same for one answer: {"score": 1..10} (the cascade's judged check). */
int hr_learn_judge_parse_one(const char *text, size_t n, double *score);

#endif
