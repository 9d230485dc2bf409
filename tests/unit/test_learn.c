/* test_learn.c - the learned router's core (src/learn/): the outcome reader's validation,
 * deterministic features and training, the model file's round trip and its rejection of
 * corrupt files, and the metrics against hand-computed tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "learn/learn.h"

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-9)

/* ---- outcome data ---- */

static const char good[] =
    "{\"id\":\"a\",\"prompt\":\"What is 2+2?\",\"task\":\"math\",\"outcomes\":{\"small\":"
    "{\"score\":0,\"cost\":0.1},\"big\":{\"score\":1,\"cost\":1}}}\n"
    "\n"
    "{\"id\":\"b\",\"prompt\":\"Say hello\",\"outcomes\":{\"big\":{\"score\":1,"
    "\"latency_ms\":20},\"other\":{\"score\":0.5}}}\n";

static void data_reads(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_learn_data d;
	assert_int_equal(hr_learn_data_parse(a, "t.jsonl", good, sizeof good - 1, &d, &err), 0);
	assert_int_equal(d.n_rows, 2);
	assert_int_equal(d.n_models, 3); /* the union, in order of appearance */
	assert_string_equal(d.models[0], "small");
	assert_string_equal(d.models[2], "other");
	assert_string_equal(d.rows[0].task, "math");
	assert_null(d.rows[1].task);
	assert_false(d.rows[1].out[0].present);
	assert_true(d.rows[1].out[1].has_latency);
	assert_int_equal(d.rows[1].line, 3);
	long idx[4];
	assert_int_equal(hr_learn_names_resolve(&d, "nope,big,small", idx, 4), 2);
	assert_int_equal(idx[0], 1);
	assert_int_equal(hr_learn_row_pick(&d.rows[1], (long[]){0, 1}, 2), 1);
	hr_buf_release(&err);
	hr_arena_destroy(a);
}

static void data_rejects(void **state)
{
	(void)state;
	static const struct {
		const char *in, *msg;
	} cases[] = {
	    {"{\"id\":\"a\",\"prompt\":\"p\",\"outcomes\":{\"m\":{\"score\":1.5}}}",
	     "t:1: outcomes.\"m\".score must be a number in [0, 1]"},
	    {"{\"id\":\"a\",\"prompt\":\"p\",\"outcomes\":{}}", "t:1: \"outcomes\" must be"},
	    {"{\"id\":\"a\",\"prompt\":\"\",\"outcomes\":{\"m\":{\"score\":1}}}",
	     "t:1: \"prompt\" must be"},
	    {"{\"id\":\"a\",\"prompt\":\"p\",\"extra\":1,\"outcomes\":{\"m\":{\"score\":1}}}",
	     "t:1: unknown key \"extra\""},
	    {"{\"id\":\"a\",\"prompt\":\"p\",\"outcomes\":{\"m\":{\"score\":1,\"cost\":-1}}}",
	     "t:1: outcomes.\"m\".cost must be"},
	    {"{\"id\":\"a\",\"prompt\":\"p\",\"outcomes\":{\"m\":{\"score\":1}}}\n{\"id\":\"a\","
	     "\"prompt\":\"q\",\"outcomes\":{\"m\":{\"score\":0}}}",
	     "t:2: duplicate id \"a\" (first at t:1)"},
	    {"\n\n[1,2]", "t:3: a line must be one JSON object"},
	    {"{\"id\":\"a\",", "t:1: not valid JSON"},
	    {"", "no rows"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_buf err = HR_BUF_INIT(4096);
		struct hr_learn_data d;
		int rc = hr_learn_data_parse(a, "t", cases[i].in, strlen(cases[i].in), &d, &err);
		if (rc == 0 || !err.ptr || !strstr(err.ptr, cases[i].msg))
			fail_msg("case %zu: rc %d, message '%s'", i, rc, err.ptr ? err.ptr : "");
		hr_buf_release(&err);
		hr_arena_destroy(a);
	}
}

/* One line over HR_LEARN_MAX_LINE_BYTES is refused with its file:line; a valid line of
 * exactly the cap is read. */
static void data_line_cap(void **state)
{
	(void)state;
	const char *head = "{\"id\":\"a\",\"outcomes\":{\"m\":{\"score\":1}},\"prompt\":\"";
	size_t cap = HR_LEARN_MAX_LINE_BYTES, hl = strlen(head);
	char *in = malloc(2 * cap + 8);
	assert_non_null(in);
	/* line 1 of exactly cap bytes, then line 2 of cap + 1 */
	for (int line = 0; line < 2; line++) {
		char *p = in + (line ? cap + 1 : 0);
		size_t len = cap + (size_t)line;
		memcpy(p, head, hl);
		memset(p + hl, 'x', len - hl - 2);
		memcpy(p + len - 2, "\"}", 2);
		if (line == 1)
			p[7] = 'b'; /* id "b": not a duplicate */
		p[len] = '\n';
	}
	for (int k = 0; k < 2; k++) {
		struct hr_arena *a = hr_arena_create(0);
		struct hr_buf err = HR_BUF_INIT(4096);
		struct hr_learn_data d;
		size_t n = k == 0 ? cap + 1 : 2 * cap + 3;
		int rc = hr_learn_data_parse(a, "t", in, n, &d, &err);
		if (k == 0) {
			assert_int_equal(rc, 0);
			assert_int_equal(d.n_rows, 1);
		} else {
			assert_int_equal(rc, HR_ETOOBIG);
			assert_non_null(err.ptr);
			assert_non_null(strstr(err.ptr, "t:2: line longer than 1048576 bytes"));
		}
		hr_buf_release(&err);
		hr_arena_destroy(a);
	}
	free(in);
}

/* ---- features ---- */

static void features_deterministic(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_learn_fconf c;
	hr_learn_fconf_default(&c);
	struct hr_learn_fx *f1 = hr_learn_fx_new(a, &c), *f2 = hr_learn_fx_new(a, &c);
	const char *p = "Solve for x: $x^2 + 3x = 10$.\nA) 2\nB) -5\nC) 3\nD) 7\nWhich is it?";
	struct hr_learn_fvec v1, v2;
	hr_learn_features(f1, "warm up the scratch", 19, &v1);
	hr_learn_features(f1, p, strlen(p), &v1);
	hr_learn_features(f2, p, strlen(p), &v2);
	assert_int_equal(v1.n, v2.n);
	assert_memory_equal(v1.idx, v2.idx, v1.n * sizeof *v1.idx);
	assert_memory_equal(v1.val, v2.val, v1.n * sizeof *v1.val);
	/* hashed part L2-normalised, dense block at the end with the bias and the signals */
	double ss = 0;
	uint32_t base = 1u << c.hash_bits;
	float mc = -1, latex = -1, bias = -1;
	for (size_t i = 0; i < v1.n; i++) {
		assert_true(v1.idx[i] < base + HR_LEARN_DENSE);
		if (v1.idx[i] < base)
			ss += (double)v1.val[i] * v1.val[i];
		else if (strcmp(hr_learn_dense_names[v1.idx[i] - base], "multi_choice") == 0)
			mc = v1.val[i];
		else if (strcmp(hr_learn_dense_names[v1.idx[i] - base], "latex") == 0)
			latex = v1.val[i];
		else if (v1.idx[i] == base)
			bias = v1.val[i];
	}
	assert_true(fabs(ss - 1.0) < 1e-5);
	assert_true(mc == 1.0f);
	assert_true(latex > 0);
	assert_true(bias == 1.0f);
	/* case and spacing do not change the n-grams */
	hr_learn_features(f1, "Hello   World", 13, &v1);
	size_t n1 = v1.n;
	uint32_t first = v1.idx[0];
	hr_learn_features(f2, "hello world", 11, &v2);
	assert_int_equal(n1, v2.n);
	assert_int_equal(first, v2.idx[0]);
	hr_arena_destroy(a);
}

/* ---- training and the model file ---- */

static const char train_data[] =
    "{\"id\":\"1\",\"prompt\":\"prove the theorem about primes\",\"task\":\"m\",\"outcomes\":"
    "{\"w\":{\"score\":0},\"s\":{\"score\":1}}}\n"
    "{\"id\":\"2\",\"prompt\":\"say hi to my friend\",\"task\":\"c\",\"outcomes\":"
    "{\"w\":{\"score\":1},\"s\":{\"score\":1}}}\n"
    "{\"id\":\"3\",\"prompt\":\"integrate x^2 dx and prove it\",\"task\":\"m\",\"outcomes\":"
    "{\"w\":{\"score\":0},\"s\":{\"score\":1}}}\n"
    "{\"id\":\"4\",\"prompt\":\"write a short hello to a friend\",\"task\":\"c\",\"outcomes\":"
    "{\"w\":{\"score\":1},\"s\":{\"score\":0}}}\n";

static struct hr_learn_model *train(struct hr_learn_data *d, uint64_t seed, bool gain)
{
	struct hr_learn_fconf c;
	hr_learn_fconf_default(&c);
	c.hash_bits = 10;
	struct hr_learn_hparams h;
	hr_learn_hparams_default(&h);
	h.seed = seed;
	h.epochs = 20;
	h.lr = 0.3;
	struct hr_learn_output o[2] = {{.kind = HR_LEARN_OUT_MODEL, .model = "w"},
	                               {.kind = HR_LEARN_OUT_MODEL, .model = "s"}};
	struct hr_learn_output g = {.kind = HR_LEARN_OUT_GAIN, .weak = "x,w", .strong = "s"};
	struct hr_learn_model *m = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	assert_int_equal(hr_learn_train(d, NULL, &c, &h, gain ? &g : o, gain ? 1 : 2, &m, &err), 0);
	hr_buf_release(&err);
	return m;
}

static void dump(const struct hr_learn_model *m, struct hr_buf *b)
{
	hr_buf_init(b, 64u << 20);
	assert_int_equal(hr_learn_model_dump(m, b), 0);
}

static void training_deterministic(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_learn_data d;
	assert_int_equal(hr_learn_data_parse(a, "t", train_data, sizeof train_data - 1, &d, &err),
	                 0);
	struct hr_learn_model *m1 = train(&d, 7, false), *m2 = train(&d, 7, false);
	struct hr_learn_model *m3 = train(&d, 8, false);
	struct hr_buf b1, b2, b3;
	dump(m1, &b1);
	dump(m2, &b2);
	dump(m3, &b3);
	assert_int_equal(b1.len, b2.len);
	assert_memory_equal(b1.ptr, b2.ptr, b1.len); /* same seed: the same bytes */
	assert_true(b1.len != b3.len || memcmp(b1.ptr, b3.ptr, b1.len) != 0);
	/* it learned the table: maths prompts are hard for w */
	struct hr_learn_fx *fx = hr_learn_fx_new(a, &m1->fc);
	double p[2], q[2];
	hr_learn_predict(m1, fx, "prove the theorem about primes", 30, p);
	hr_learn_predict(m1, fx, "say hi to my friend", 19, q);
	assert_true(p[0] < 0.5 && q[0] > 0.5);
	/* the gain output, with an alias list whose first name is absent */
	struct hr_learn_model *g = train(&d, 7, true);
	hr_learn_predict(g, fx, "integrate x^2 dx and prove it", 29, p);
	hr_learn_predict(g, fx, "write a short hello to a friend", 31, q);
	assert_true(p[0] > q[0]);
	assert_int_equal(hr_learn_model_gain(g), 0);
	hr_learn_model_free(g);
	hr_buf_release(&b1);
	hr_buf_release(&b2);
	hr_buf_release(&b3);
	hr_learn_model_free(m1);
	hr_learn_model_free(m2);
	hr_learn_model_free(m3);
	hr_buf_release(&err);
	hr_arena_destroy(a);
}

static void model_round_trip(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_learn_data d;
	assert_int_equal(hr_learn_data_parse(a, "t", train_data, sizeof train_data - 1, &d, &err),
	                 0);
	struct hr_learn_model *m = train(&d, 3, false), *l = NULL;
	struct hr_buf b, b2;
	dump(m, &b);
	assert_int_equal(hr_learn_model_parse("m.json", b.ptr, b.len, &l, &err), 0);
	dump(l, &b2);
	assert_int_equal(b.len, b2.len);
	assert_memory_equal(b.ptr, b2.ptr, b.len);
	assert_memory_equal(m->w, l->w, m->n_outs * m->dim * sizeof *m->w);
	assert_memory_equal(m->data_sha256, d.sha256, 32);
	assert_memory_equal(l->data_sha256, d.sha256, 32);
	assert_int_equal(l->hp.seed, 3);
	assert_string_equal(l->outs[1].model, "s");
	hr_learn_model_free(l);
	l = NULL;
	hr_buf_release(&b2);

	/* corrupt files: each a clear error, never a crash */
	static const struct {
		const char *from, *to, *msg;
	} edits[] = {
	    {"\"version\": 1", "\"version\": 2", "version 2"},
	    {"\"hash_bits\": 10", "\"hash_bits\": 40", "hash_bits"},
	    {"\"format\": \"hearth-router-model\"", "\"format\": \"x\"", "format"},
	    {"\"kind\": \"model\"", "\"kind\": \"mode\"", "kind"},
	    {"\"dim\": 1044", "\"dim\": 1045", "dim"},
	    {"\"data_sha256\": \"", "\"data_sha256\": \"zz", "data_sha256"},
	};
	for (size_t i = 0; i < sizeof edits / sizeof *edits; i++) {
		const char *at = strstr(b.ptr, edits[i].from);
		if (!at)
			fail_msg("edit %zu: '%s' not in the dump", i, edits[i].from);
		struct hr_buf c = HR_BUF_INIT(64u << 20);
		hr_buf_add(&c, b.ptr, (size_t)(at - b.ptr));
		hr_buf_addstr(&c, edits[i].to);
		hr_buf_addstr(&c, at + strlen(edits[i].from));
		hr_buf_reset(&err);
		assert_int_equal(hr_learn_model_parse("m.json", c.ptr, c.len, &l, &err), HR_EINVAL);
		assert_null(l);
		if (!strstr(err.ptr, edits[i].msg) || !strstr(err.ptr, "m.json"))
			fail_msg("edit %zu: message '%s'", i, err.ptr);
		hr_buf_release(&c);
	}
	/* truncated anywhere */
	for (size_t cut = 0; cut < b.len; cut += b.len / 23 + 1) {
		hr_buf_reset(&err);
		if (hr_learn_model_parse("m.json", b.ptr, cut, &l, &err) != HR_EINVAL)
			fail_msg("cut at %zu of %zu loads", cut, b.len);
	}
	/* a weight string one character short */
	char *w = strstr(b.ptr, "\"data\": [");
	assert_non_null(w);
	char *q = strchr(strchr(w + 9, '"') + 1, '"'); /* the first string's closing quote */
	memmove(q - 1, q, strlen(q) + 1);
	hr_buf_reset(&err);
	assert_int_equal(hr_learn_model_parse("m.json", b.ptr, strlen(b.ptr), &l, &err), HR_EINVAL);
	assert_non_null(strstr(err.ptr, "weights"));
	hr_buf_release(&b);
	hr_learn_model_free(m);
	hr_buf_release(&err);
	hr_arena_destroy(a);
}

/* ---- metrics, by hand ----
 * weak {0,0,1,0}: 0.25; strong {1,0,1,1}: 0.75; gains {1,0,0,1}. */

static const double W[4] = {0, 0, 1, 0}, S[4] = {1, 0, 1, 1};

static void metrics_random_oracle(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_learn_pt c[5];
	/* random router = every score tied: the straight line, APGR 0.5 exactly */
	const double same[4] = {0.3, 0.3, 0.3, 0.3};
	size_t n = hr_learn_curve_exact(same, W, S, 4, c, a);
	assert_int_equal(n, 2);
	NEAR(c[0].x, 0), NEAR(c[0].q, 0.25), NEAR(c[1].x, 1), NEAR(c[1].q, 0.75);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.5);
	NEAR(hr_learn_cpt(c, n, 0.25, 0.75, 0.5), 50.0);
	NEAR(hr_learn_cpt(c, n, 0.25, 0.75, 0.8), 80.0);
	/* oracle: scores = gains; points (0,.25) (.5,.75) (1,.75); area .625 -> APGR .75 */
	const double gain[4] = {1, 0, 0, 1};
	n = hr_learn_curve_exact(gain, W, S, 4, c, a);
	assert_int_equal(n, 3);
	NEAR(c[1].x, 0.5), NEAR(c[1].q, 0.75), NEAR(c[2].q, 0.75);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.75);
	NEAR(hr_learn_cpt(c, n, 0.25, 0.75, 0.5), 25.0);
	NEAR(hr_learn_cpt(c, n, 0.25, 0.75, 0.8), 40.0);
	/* the worst router: the gains last; area .375 -> .25 */
	const double anti[4] = {-1, 0, 0, -1};
	n = hr_learn_curve_exact(anti, W, S, 4, c, a);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.25);
	NEAR(hr_learn_cpt(c, n, 0.25, 0.75, 0.5), 75.0);
	/* RouteLLM's quantile thresholds, 2 bins: 0.1, 0.25, 0.4 -> x 1, .5, 0 */
	const double sc[4] = {0.1, 0.2, 0.3, 0.4};
	n = hr_learn_curve_routellm(sc, W, S, 4, 2, c, a);
	assert_int_equal(n, 3);
	NEAR(c[0].x, 0), NEAR(c[0].q, 0.25);
	NEAR(c[1].x, 0.5), NEAR(c[1].q, 0.5);
	NEAR(c[2].x, 1), NEAR(c[2].q, 0.75);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.5);
	/* equal weak and strong: undefined, not a number */
	assert_true(isnan(hr_learn_apgr(c, n, 0.5, 0.5)));
	hr_arena_destroy(a);
}

/* The task oracle: scores = each task's mean gain. W/S gains are 1 0 0 1. Tasks x x y y:
 * both means .5, all tied, the random router (APGR .5); tasks x y y x: means 1 and 0, the
 * oracle itself (.75). A NULL task is a group of its own. */
static void metrics_task_oracle(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const double gain[4] = {1, 0, 0, 1};
	double m[4];
	struct hr_learn_pt c[5];
	const char *t1[4] = {"x", "x", "y", "y"};
	assert_int_equal(hr_learn_group_mean(gain, t1, 4, m, a), 0);
	NEAR(m[0], 0.5), NEAR(m[3], 0.5);
	size_t n = hr_learn_curve_exact(m, W, S, 4, c, a);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.5);
	const char *t2[4] = {"x", "y", "y", "x"};
	hr_learn_group_mean(gain, t2, 4, m, a);
	NEAR(m[0], 1), NEAR(m[1], 0), NEAR(m[2], 0), NEAR(m[3], 1);
	n = hr_learn_curve_exact(m, W, S, 4, c, a);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.75);
	/* three groups, one of them NULL: x = {0}, NULL = {1, 3}, y = {2} */
	const char *t3[4] = {"x", NULL, "y", NULL};
	hr_learn_group_mean(gain, t3, 4, m, a);
	NEAR(m[0], 1), NEAR(m[1], 0.5), NEAR(m[2], 0), NEAR(m[3], 0.5);
	/* points (0,.25) (.25,.5) (.75,.75) (1,.75): area .09375+.3125+.1875 = .59375
	 * -> APGR (.59375 - .25) / .5 = .6875 */
	n = hr_learn_curve_exact(m, W, S, 4, c, a);
	assert_int_equal(n, 4);
	NEAR(hr_learn_apgr(c, n, 0.25, 0.75), 0.6875);
	hr_arena_destroy(a);
}

static void metrics_hull_aiq(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const struct hr_learn_cq p[] = {{1, 0.5}, {2, 0.8}, {3, 0.85},
	                                {4, 0.7}, {2, 0.6}, {1.5, 0.5}};
	struct hr_learn_cq h[6];
	size_t n = hr_learn_hull(p, 6, h, a);
	assert_int_equal(n, 3);
	NEAR(h[0].cost, 1), NEAR(h[1].cost, 2), NEAR(h[2].cost, 3), NEAR(h[2].q, 0.85);
	/* (1.3/2 + 1.65/2 + 0.85) / 4 */
	NEAR(hr_learn_aiq(p, 6, 4, a), 2.325 / 4);
	/* one model alone: flat from its cost */
	const struct hr_learn_cq one[] = {{2, 0.5}};
	NEAR(hr_learn_aiq(one, 1, 4, a), 0.25);
	/* the decision: cheapest above the threshold, else the most likely */
	const double pr[3] = {0.9, 0.6, 0.3}, cost[3] = {3, 1, 2};
	assert_int_equal(hr_learn_pick(pr, cost, 3, 0.5), 1);
	assert_int_equal(hr_learn_pick(pr, cost, 3, 0.2), 1);
	assert_int_equal(hr_learn_pick(pr, cost, 3, 0.95), 0);
	assert_int_equal(hr_learn_pick(pr, cost, 3, 0.7), 0);
	hr_arena_destroy(a);
}

/* Paired scores: means, intervals and the verdict against hand-computed values. */
static void online_pairs_and_verdict(void **state)
{
	(void)state;
	struct hr_learn_pairs p = {0};
	struct hr_learn_pair_stats st;
	hr_learn_pairs_stats(&p, &st);
	assert_int_equal(st.n, 0);
	assert_int_equal(hr_learn_promote_verdict(&st, 1, 0.05), HR_LEARN_UNDECIDED);
	/* challenger 1, 0, 1, 0; reference 1, 1, 1, 1: differences 0, -1, 0, -1 */
	for (int i = 0; i < 4; i++)
		hr_learn_pairs_add(&p, i % 2 ? 0 : 1, 1);
	hr_learn_pairs_stats(&p, &st);
	assert_int_equal(st.n, 4);
	assert_true(fabs(st.challenger - 0.5) < 1e-12 && fabs(st.reference - 1) < 1e-12);
	assert_true(fabs(st.diff + 0.5) < 1e-12);
	/* sample sd of the differences: sqrt(1/3); half-width 1.96 * sqrt(1/3) / 2 */
	double h = 1.959963984540054 * sqrt(1.0 / 3) / 2;
	assert_true(fabs(st.diff_lo - (-0.5 - h)) < 1e-12 && fabs(st.diff_hi - (-0.5 + h)) < 1e-12);
	assert_true(fabs(st.challenger_ci - h) < 1e-12 && st.reference_ci == 0);
	/* -0.5 + 0.566 = 0.066 >= -0.05: neither proven worse nor no worse */
	assert_int_equal(hr_learn_promote_verdict(&st, 4, 0.05), HR_LEARN_UNDECIDED);
	assert_int_equal(hr_learn_promote_verdict(&st, 5, 0.6), HR_LEARN_UNDECIDED); /* too few */
	assert_int_equal(hr_learn_promote_verdict(&st, 4, 1.1), HR_LEARN_PROMOTE);
	/* many equal pairs: no worse; many worse ones: worse */
	struct hr_learn_pairs eq = {0}, worse = {0};
	for (int i = 0; i < 50; i++) {
		hr_learn_pairs_add(&eq, 0.8 + (i % 2) * 0.1, 0.8 + (i % 2) * 0.1);
		hr_learn_pairs_add(&worse, 0.2 + (i % 3) * 0.1, 0.9);
	}
	hr_learn_pairs_stats(&eq, &st);
	assert_int_equal(hr_learn_promote_verdict(&st, 50, 0.05), HR_LEARN_PROMOTE);
	hr_learn_pairs_stats(&worse, &st);
	assert_int_equal(hr_learn_promote_verdict(&st, 50, 0.05), HR_LEARN_DEMOTE);
	assert_string_equal(hr_learn_verdict_name(HR_LEARN_DEMOTE), "worse");
}

static void online_judge_parse(void **state)
{
	(void)state;
	double a = -1, b = -1;
	static const char ok[] = "Here you go:\n```json\n{\"a\": 10, \"b\": 1}\n``` done";
	assert_int_equal(hr_learn_judge_parse(ok, strlen(ok), &a, &b), 0);
	assert_true(a == 1.0 && b == 0.0);
	static const char later[] = "{not json} then {\"a\": 5.5, \"b\": 4}";
	assert_int_equal(hr_learn_judge_parse(later, strlen(later), &a, &b), 0);
	assert_true(fabs(a - 0.5) < 1e-12 && fabs(b - 1.0 / 3) < 1e-12);
	static const char *const bad[] = {"", "no scores", "{\"a\": 0, \"b\": 5}",
	                                  "{\"a\": 11, \"b\": 5}", "{\"a\": \"9\", \"b\": 5}",
	                                  "{\"a\": 9}", "{\"a\": 9, \"b\": 5"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		if (hr_learn_judge_parse(bad[i], strlen(bad[i]), &a, &b) != HR_EINVAL)
			fail_msg("'%s' should not parse", bad[i]);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(data_reads),
	    cmocka_unit_test(data_rejects),
	    cmocka_unit_test(data_line_cap),
	    cmocka_unit_test(features_deterministic),
	    cmocka_unit_test(training_deterministic),
	    cmocka_unit_test(model_round_trip),
	    cmocka_unit_test(metrics_random_oracle),
	    cmocka_unit_test(metrics_hull_aiq),
	    cmocka_unit_test(metrics_task_oracle),
	    cmocka_unit_test(online_pairs_and_verdict),
	    cmocka_unit_test(online_judge_parse),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
