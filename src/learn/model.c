/* model.c - the learned router's model: one logistic output per model (P(score >= bar)) or
 * one "gain" output (P(the strong model is needed)), trained with seeded Adagrad + L2; and
 * its versioned, self-describing JSON file, validated in full when loaded.
 *
 * Determinism: rows are visited in a Fisher-Yates order drawn from splitmix64(seed) each
 * epoch; every sum runs in a fixed order; nothing depends on time, threads or addresses. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/err.h"
#include "core/limits.h"
#include "learn/learn.h"

#define FORMAT_NAME "hearth-router-model"

void hr_learn_hparams_default(struct hr_learn_hparams *h)
{
	h->seed = 1;
	h->epochs = 4;
	h->lr = 0.05;
	h->l2 = 1e-5;
	h->bar = 0.5;
	h->target = HR_LEARN_T_GAIN;
}

static const char *const target_names[] = {"gain", "beats", "weak-fails"};

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static double sigmoid(double z)
{
	if (z >= 0)
		return 1.0 / (1.0 + exp(-z));
	double e = exp(z);
	return e / (1.0 + e);
}

static struct hr_learn_model *model_new(void)
{
	struct hr_arena *a = hr_arena_create(0);
	if (!a)
		return NULL;
	struct hr_learn_model *m = hr_arena_calloc(a, sizeof *m);
	if (!m) {
		hr_arena_destroy(a);
		return NULL;
	}
	m->a = a;
	m->version = HR_LEARN_FORMAT_VERSION;
	return m;
}

void hr_learn_model_free(struct hr_learn_model *m)
{
	if (m)
		hr_arena_destroy(m->a);
}

#define MAX_ALIASES 8

/* An output's models in the data: the model, or the weak and strong candidates. */
struct resolved {
	long model;
	long weak[MAX_ALIASES], strong[MAX_ALIASES];
	size_t n_weak, n_strong;
};

/* The label of output o for row r: 0..1, or -1 when the row lacks the models. */
static double label(const struct hr_learn_row *r, const struct resolved *rv,
                    const struct hr_learn_output *o, const struct hr_learn_hparams *hp)
{
	if (o->kind == HR_LEARN_OUT_MODEL) {
		const struct hr_learn_outcome *x = &r->out[rv->model];
		return x->present ? (x->score >= hp->bar ? 1.0 : 0.0) : -1.0;
	}
	long wi = hr_learn_row_pick(r, rv->weak, rv->n_weak);
	long si = hr_learn_row_pick(r, rv->strong, rv->n_strong);
	if (wi < 0 || si < 0)
		return -1.0;
	const struct hr_learn_outcome *w = &r->out[wi], *s = &r->out[si];
	switch (hp->target) {
	case HR_LEARN_T_BEATS: return s->score > w->score ? 1.0 : 0.0;
	case HR_LEARN_T_WEAK_FAILS: return w->score < hp->bar ? 1.0 : 0.0;
	default: return (1.0 + s->score - w->score) / 2.0;
	}
}

static int copy_outputs(struct hr_learn_model *m, const struct hr_learn_output *outs, size_t n)
{
	m->outs = hr_arena_calloc(m->a, n * sizeof *m->outs);
	if (!m->outs)
		return HR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		m->outs[i] = outs[i];
		m->outs[i].model = outs[i].model ? hr_arena_strdup(m->a, outs[i].model) : NULL;
		m->outs[i].weak = outs[i].weak ? hr_arena_strdup(m->a, outs[i].weak) : NULL;
		m->outs[i].strong = outs[i].strong ? hr_arena_strdup(m->a, outs[i].strong) : NULL;
		if ((outs[i].model && !m->outs[i].model) || (outs[i].weak && !m->outs[i].weak) ||
		    (outs[i].strong && !m->outs[i].strong))
			return HR_ENOMEM;
	}
	m->n_outs = n;
	return 0;
}

int hr_learn_train(const struct hr_learn_data *d, const bool *use, const struct hr_learn_fconf *fc,
                   const struct hr_learn_hparams *hp, const struct hr_learn_output *outs,
                   size_t n_outs, struct hr_learn_model **out, struct hr_buf *err)
{
	*out = NULL;
	if (n_outs == 0 || n_outs > HR_LEARN_MAX_MODELS + 1) {
		hr_buf_addf(err, "train: between 1 and %d outputs\n", HR_LEARN_MAX_MODELS + 1);
		return HR_EINVAL;
	}
	struct hr_learn_model *m = model_new();
	if (!m)
		return HR_ENOMEM;
	int rc = HR_ENOMEM;
	m->fc = *fc;
	m->hp = *hp;
	m->dim = ((size_t)1 << fc->hash_bits) + HR_LEARN_DENSE;
	memcpy(m->data_sha256, d->sha256, sizeof m->data_sha256);
	if (copy_outputs(m, outs, n_outs) < 0)
		goto fail;
	struct resolved *rv = hr_arena_calloc(m->a, n_outs * sizeof *rv);
	if (!rv)
		goto fail;
	for (size_t o = 0; o < n_outs; o++) {
		struct hr_learn_output *x = &m->outs[o];
		if (x->kind == HR_LEARN_OUT_MODEL) {
			rv[o].model = x->model ? hr_learn_data_model(d, x->model) : -1;
			if (rv[o].model < 0) {
				hr_buf_addf(err, "train: no model '%s' in the data\n",
				            x->model ? x->model : "");
				rc = HR_EINVAL;
				goto fail;
			}
		} else {
			rv[o].n_weak =
			    x->weak ? hr_learn_names_resolve(d, x->weak, rv[o].weak, MAX_ALIASES)
			            : 0;
			rv[o].n_strong =
			    x->strong
			        ? hr_learn_names_resolve(d, x->strong, rv[o].strong, MAX_ALIASES)
			        : 0;
			if (!rv[o].n_weak || !rv[o].n_strong) {
				hr_buf_addf(
				    err,
				    "train: the data has no model named %s '%s'; the data's "
				    "models are listed by `hearth router eval --data FILE`\n",
				    !rv[o].n_weak ? "by --weak" : "by --strong",
				    !rv[o].n_weak ? (x->weak ? x->weak : "")
				                  : (x->strong ? x->strong : ""));
				rc = HR_EINVAL;
				goto fail;
			}
		}
	}
	/* rows and per-model training means */
	size_t *idx = hr_arena_alloc(m->a, (d->n_rows ? d->n_rows : 1) * sizeof *idx);
	if (!idx)
		goto fail;
	size_t n = 0;
	for (size_t i = 0; i < d->n_rows; i++)
		if (!use || use[i])
			idx[n++] = i;
	if (n == 0) {
		hr_buf_addf(err, "train: no rows to train on\n");
		rc = HR_EINVAL;
		goto fail;
	}
	m->n_train = n;
	for (size_t o = 0; o < n_outs; o++) {
		struct hr_learn_output *x = &m->outs[o];
		x->mean_cost = -1;
		x->mean_score = 0;
		if (x->kind != HR_LEARN_OUT_MODEL)
			continue;
		double sc = 0, cc = 0;
		size_t ns = 0, nc = 0;
		for (size_t i = 0; i < n; i++) {
			const struct hr_learn_outcome *y = &d->rows[idx[i]].out[rv[o].model];
			if (!y->present)
				continue;
			sc += y->score, ns++;
			if (y->has_cost)
				cc += y->cost, nc++;
		}
		x->mean_score = ns ? sc / (double)ns : 0;
		x->mean_cost = nc ? cc / (double)nc : -1;
	}

	m->w = hr_arena_calloc(m->a, n_outs * m->dim * sizeof *m->w);
	float *g2 = hr_arena_calloc(m->a, n_outs * m->dim * sizeof *g2);
	struct hr_arena *fa = hr_arena_create(0);
	struct hr_learn_fx *fx = fa ? hr_learn_fx_new(fa, fc) : NULL;
	if (!m->w || !g2 || !fx) {
		hr_arena_destroy(fa);
		goto fail;
	}
	uint64_t rng = hp->seed;
	const float lr = (float)hp->lr, l2 = (float)hp->l2;
	for (unsigned ep = 0; ep < hp->epochs; ep++) {
		for (size_t i = n; i > 1; i--) {
			size_t j = (size_t)(splitmix(&rng) % i);
			size_t t = idx[i - 1];
			idx[i - 1] = idx[j];
			idx[j] = t;
		}
		for (size_t i = 0; i < n; i++) {
			const struct hr_learn_row *r = &d->rows[idx[i]];
			struct hr_learn_fvec fv;
			bool have = false;
			for (size_t o = 0; o < n_outs; o++) {
				double y = label(r, &rv[o], &m->outs[o], hp);
				if (y < 0)
					continue;
				if (!have) {
					hr_learn_features(fx, r->prompt, r->prompt_len, &fv);
					have = true;
				}
				float *w = m->w + o * m->dim, *g = g2 + o * m->dim;
				double z = 0;
				for (size_t k = 0; k < fv.n; k++)
					z += (double)w[fv.idx[k]] * fv.val[k];
				float e = (float)(sigmoid(z) - y);
				for (size_t k = 0; k < fv.n; k++) {
					uint32_t q = fv.idx[k];
					float gr = e * fv.val[k] + l2 * w[q];
					g[q] += gr * gr;
					w[q] -= lr * gr / (sqrtf(g[q]) + 1e-6f);
				}
			}
		}
	}
	hr_arena_destroy(fa);
	*out = m;
	return 0;
fail:
	hr_learn_model_free(m);
	return rc;
}

void hr_learn_predict_fv(const struct hr_learn_model *m, const struct hr_learn_fvec *fv,
                         double *probs)
{
	for (size_t o = 0; o < m->n_outs; o++) {
		const float *w = m->w + o * m->dim;
		double z = 0;
		for (size_t k = 0; k < fv->n; k++)
			z += (double)w[fv->idx[k]] * fv->val[k];
		probs[o] = sigmoid(z);
	}
}

void hr_learn_predict(const struct hr_learn_model *m, struct hr_learn_fx *fx, const char *p,
                      size_t n, double *probs)
{
	struct hr_learn_fvec fv;
	hr_learn_features(fx, p, n, &fv);
	hr_learn_predict_fv(m, &fv, probs);
}

long hr_learn_model_output(const struct hr_learn_model *m, const char *name)
{
	for (size_t o = 0; o < m->n_outs; o++)
		if (m->outs[o].kind == HR_LEARN_OUT_MODEL && strcmp(m->outs[o].model, name) == 0)
			return (long)o;
	return -1;
}

long hr_learn_model_gain(const struct hr_learn_model *m)
{
	for (size_t o = 0; o < m->n_outs; o++)
		if (m->outs[o].kind == HR_LEARN_OUT_GAIN)
			return (long)o;
	return -1;
}

/* ---- the file ---- */

static json_t *real(double v)
{
	return json_real(v);
}

static json_t *to_json(const struct hr_learn_model *m)
{
	char hex[65];
	sodium_bin2hex(hex, sizeof hex, m->data_sha256, sizeof m->data_sha256);
	json_t *dense = json_array();
	for (unsigned i = 0; i < HR_LEARN_DENSE; i++)
		json_array_append_new(dense, json_string(hr_learn_dense_names[i]));
	json_t *outs = json_array();
	for (size_t o = 0; o < m->n_outs; o++) {
		const struct hr_learn_output *x = &m->outs[o];
		if (x->kind == HR_LEARN_OUT_MODEL)
			json_array_append_new(
			    outs,
			    json_pack("{s:s, s:s, s:o, s:o}", "kind", "model", "model", x->model,
			              "mean_score", real(x->mean_score), "mean_cost",
			              x->mean_cost < 0 ? json_null() : real(x->mean_cost)));
		else
			json_array_append_new(outs,
			                      json_pack("{s:s, s:s, s:s}", "kind", "gain", "weak",
			                                x->weak, "strong", x->strong));
	}
	/* weights: base64 of little-endian float32, one string per output */
	json_t *wd = json_array();
	size_t nb = m->dim * 4;
	unsigned char *bytes = malloc(nb);
	size_t b64 = sodium_base64_ENCODED_LEN(nb, sodium_base64_VARIANT_ORIGINAL);
	char *enc = malloc(b64);
	if (!bytes || !enc || !wd || !outs || !dense) {
		free(bytes);
		free(enc);
		json_decref(wd);
		json_decref(outs);
		json_decref(dense);
		return NULL;
	}
	for (size_t o = 0; o < m->n_outs; o++) {
		const float *w = m->w + o * m->dim;
		for (size_t k = 0; k < m->dim; k++) {
			uint32_t u;
			memcpy(&u, &w[k], 4);
			bytes[4 * k] = (unsigned char)u;
			bytes[4 * k + 1] = (unsigned char)(u >> 8);
			bytes[4 * k + 2] = (unsigned char)(u >> 16);
			bytes[4 * k + 3] = (unsigned char)(u >> 24);
		}
		sodium_bin2base64(enc, b64, bytes, nb, sodium_base64_VARIANT_ORIGINAL);
		json_array_append_new(wd, json_string(enc));
	}
	free(bytes);
	free(enc);
	return json_pack(
	    "{s:s, s:i, s:{s:i, s:i, s:[i,i], s:i, s:o, s:o, s:s}, s:{s:s, s:I, s:I, s:i, s:o, "
	    "s:o, s:o, s:s, s:s}, s:o, s:{s:s, s:I, s:o}}",
	    "format", FORMAT_NAME, "version", m->version, "features", "hash_bits",
	    (int)m->fc.hash_bits, "word_ngrams", (int)m->fc.word_ngrams, "char_ngrams",
	    (int)m->fc.char_min, (int)m->fc.char_max, "max_bytes", (int)m->fc.max_bytes,
	    "dense_weight", real(m->fc.dense_weight), "dense", dense, "hashing",
	    "fnv1a64 words, splitmix64 finaliser, signed, log1p counts, l2-normalised", "training",
	    "data_sha256", hex, "rows", (json_int_t)m->n_train, "seed", (json_int_t)m->hp.seed,
	    "epochs", (int)m->hp.epochs, "lr", real(m->hp.lr), "l2", real(m->hp.l2), "bar",
	    real(m->hp.bar), "target", target_names[m->hp.target], "optimizer",
	    "adagrad, logistic loss", "outputs", outs, "weights", "encoding",
	    "base64 float32 little-endian, [output][dim]", "dim", (json_int_t)m->dim, "data", wd);
}

int hr_learn_model_dump(const struct hr_learn_model *m, struct hr_buf *out)
{
	json_t *j = to_json(m);
	if (!j)
		return HR_ENOMEM;
	char *s = json_dumps(j, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_REAL_PRECISION(17));
	json_decref(j);
	if (!s)
		return HR_ENOMEM;
	int rc = hr_buf_addstr(out, s);
	if (rc == 0)
		rc = hr_buf_addch(out, '\n');
	free(s);
	return rc;
}

int hr_learn_model_save(const struct hr_learn_model *m, const char *path, struct hr_buf *err)
{
	struct hr_buf b = HR_BUF_INIT(HR_LEARN_MAX_MODEL_BYTES);
	int rc = hr_learn_model_dump(m, &b);
	if (rc < 0) {
		hr_buf_addf(err, "%s: the model is too large or memory ran out\n", path);
		hr_buf_release(&b);
		return rc;
	}
	char tmp[4096];
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "wb");
	if (!f || fwrite(b.ptr, 1, b.len, f) != b.len || fclose(f) != 0) {
		hr_buf_addf(err, "%s: cannot write: %s\n", tmp, strerror(errno));
		if (f)
			unlink(tmp);
		hr_buf_release(&b);
		return HR_EIO;
	}
	hr_buf_release(&b);
	if (rename(tmp, path) != 0) {
		hr_buf_addf(err, "%s: cannot rename into place: %s\n", path, strerror(errno));
		unlink(tmp);
		return HR_EIO;
	}
	return 0;
}

/* ---- loading: every field checked ---- */

static int bad(struct hr_buf *err, const char *name, const char *what)
{
	hr_buf_addf(err, "%s: not a valid router model: %s\n", name, what);
	return HR_EINVAL;
}

static bool get_int(json_t *o, const char *k, long lo, long hi, long *v)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_integer(x))
		return false;
	json_int_t i = json_integer_value(x);
	if (i < lo || i > hi)
		return false;
	*v = (long)i;
	return true;
}

static bool get_num(json_t *o, const char *k, double lo, double hi, double *v)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_number(x))
		return false;
	double d = json_number_value(x);
	if (!isfinite(d) || d < lo || d > hi)
		return false;
	*v = d;
	return true;
}

static const char *get_str(struct hr_arena *a, json_t *o, const char *k)
{
	json_t *x = json_object_get(o, k);
	if (!json_is_string(x) || json_string_length(x) == 0 || json_string_length(x) > 4096 ||
	    memchr(json_string_value(x), '\0', json_string_length(x)))
		return NULL;
	return hr_arena_strdup(a, json_string_value(x));
}

static int from_json(json_t *j, const char *name, struct hr_learn_model *m, struct hr_buf *err)
{
	long v;
	double x;
	const char *s = json_string_value(json_object_get(j, "format"));
	if (!s || strcmp(s, FORMAT_NAME) != 0)
		return bad(err, name, "\"format\" is not \"" FORMAT_NAME "\"");
	if (!get_int(j, "version", 1, 1000, &v))
		return bad(err, name, "\"version\" is missing");
	if (v != HR_LEARN_FORMAT_VERSION) {
		hr_buf_addf(err,
		            "%s: model file version %ld, this hearth reads version %d; rebuild "
		            "it with `hearth router train`\n",
		            name, v, HR_LEARN_FORMAT_VERSION);
		return HR_EINVAL;
	}
	m->version = (int)v;
	json_t *f = json_object_get(j, "features");
	if (!json_is_object(f))
		return bad(err, name, "\"features\" is missing");
	if (!get_int(f, "hash_bits", 8, 22, &v))
		return bad(err, name, "features.hash_bits must be 8..22");
	m->fc.hash_bits = (unsigned)v;
	if (!get_int(f, "word_ngrams", 1, 2, &v))
		return bad(err, name, "features.word_ngrams must be 1 or 2");
	m->fc.word_ngrams = (unsigned)v;
	json_t *cr = json_object_get(f, "char_ngrams");
	if (!json_is_array(cr) || json_array_size(cr) != 2 ||
	    !json_is_integer(json_array_get(cr, 0)) || !json_is_integer(json_array_get(cr, 1)))
		return bad(err, name, "features.char_ngrams must be [min, max]");
	json_int_t cmin = json_integer_value(json_array_get(cr, 0));
	json_int_t cmax = json_integer_value(json_array_get(cr, 1));
	if (!((cmin == 0 && cmax == 0) || (cmin >= 1 && cmin <= cmax && cmax <= 5)))
		return bad(err, name,
		           "features.char_ngrams must be [0, 0] or 1 <= min <= max <= 5");
	m->fc.char_min = (unsigned)cmin;
	m->fc.char_max = (unsigned)cmax;
	if (!get_int(f, "max_bytes", 16, 1 << 20, &v))
		return bad(err, name, "features.max_bytes must be 16..1048576");
	m->fc.max_bytes = (unsigned)v;
	if (!get_num(f, "dense_weight", 0, 1000, &x))
		return bad(err, name, "features.dense_weight must be a number in [0, 1000]");
	m->fc.dense_weight = (float)x;
	json_t *dn = json_object_get(f, "dense");
	if (!json_is_array(dn) || json_array_size(dn) != HR_LEARN_DENSE)
		return bad(err, name, "features.dense does not list this hearth's dense signals");
	for (unsigned i = 0; i < HR_LEARN_DENSE; i++) {
		const char *dname = json_string_value(json_array_get(dn, i));
		if (!dname || strcmp(dname, hr_learn_dense_names[i]) != 0)
			return bad(err, name,
			           "features.dense differs from this hearth's dense signals");
	}

	json_t *t = json_object_get(j, "training");
	if (!json_is_object(t))
		return bad(err, name, "\"training\" is missing");
	s = json_string_value(json_object_get(t, "data_sha256"));
	size_t bl = 0;
	if (!s || strlen(s) != 64 ||
	    sodium_hex2bin(m->data_sha256, 32, s, 64, NULL, &bl, NULL) != 0 || bl != 32)
		return bad(err, name, "training.data_sha256 must be 64 hex digits");
	json_t *seed = json_object_get(t, "seed");
	if (!json_is_integer(seed) || json_integer_value(seed) < 0)
		return bad(err, name, "training.seed must be an integer >= 0");
	m->hp.seed = (uint64_t)json_integer_value(seed);
	json_t *rows = json_object_get(t, "rows");
	if (!json_is_integer(rows) || json_integer_value(rows) < 0)
		return bad(err, name, "training.rows must be an integer >= 0");
	m->n_train = (size_t)json_integer_value(rows);
	if (!get_int(t, "epochs", 0, 10000, &v))
		return bad(err, name, "training.epochs must be 0..10000");
	m->hp.epochs = (unsigned)v;
	if (!get_num(t, "lr", 0, 1e6, &m->hp.lr) || !get_num(t, "l2", 0, 1e6, &m->hp.l2) ||
	    !get_num(t, "bar", 0, 1, &m->hp.bar))
		return bad(err, name, "training.lr, l2 and bar must be numbers (bar in [0, 1])");
	s = json_string_value(json_object_get(t, "target"));
	bool found = false;
	for (int i = 0; s && i < 3; i++)
		if (strcmp(s, target_names[i]) == 0)
			m->hp.target = (enum hr_learn_target)i, found = true;
	if (!found)
		return bad(err, name, "training.target must be gain, beats or weak-fails");

	json_t *outs = json_object_get(j, "outputs");
	size_t no = json_array_size(outs);
	if (!json_is_array(outs) || no == 0 || no > HR_LEARN_MAX_MODELS + 1)
		return bad(err, name, "\"outputs\" must list 1..65 outputs");
	m->outs = hr_arena_calloc(m->a, no * sizeof *m->outs);
	if (!m->outs)
		return HR_ENOMEM;
	m->n_outs = no;
	for (size_t o = 0; o < no; o++) {
		json_t *jo = json_array_get(outs, o);
		struct hr_learn_output *q = &m->outs[o];
		const char *kind = json_string_value(json_object_get(jo, "kind"));
		if (kind && strcmp(kind, "model") == 0) {
			q->kind = HR_LEARN_OUT_MODEL;
			q->model = get_str(m->a, jo, "model");
			if (!q->model)
				return bad(err, name, "an output of kind model has no model name");
			if (!get_num(jo, "mean_score", 0, 1, &q->mean_score))
				return bad(err, name, "an output's mean_score must be in [0, 1]");
			json_t *mc = json_object_get(jo, "mean_cost");
			if (json_is_null(mc))
				q->mean_cost = -1;
			else if (!get_num(jo, "mean_cost", 0, 1e9, &q->mean_cost))
				return bad(err, name, "an output's mean_cost must be null or >= 0");
		} else if (kind && strcmp(kind, "gain") == 0) {
			q->kind = HR_LEARN_OUT_GAIN;
			q->weak = get_str(m->a, jo, "weak");
			q->strong = get_str(m->a, jo, "strong");
			q->mean_cost = -1;
			if (!q->weak || !q->strong)
				return bad(err, name,
				           "an output of kind gain needs weak and strong");
		} else {
			return bad(err, name, "an output's kind must be model or gain");
		}
	}

	json_t *w = json_object_get(j, "weights");
	m->dim = ((size_t)1 << m->fc.hash_bits) + HR_LEARN_DENSE;
	if (!get_int(w, "dim", 0, 1L << 23, &v) || (size_t)v != m->dim)
		return bad(err, name, "weights.dim does not match features.hash_bits");
	json_t *wd = json_object_get(w, "data");
	if (!json_is_array(wd) || json_array_size(wd) != no)
		return bad(err, name, "weights.data must hold one string per output");
	m->w = hr_arena_alloc(m->a, no * m->dim * sizeof *m->w);
	unsigned char *bytes = hr_arena_alloc(m->a, m->dim * 4);
	if (!m->w || !bytes)
		return HR_ENOMEM;
	for (size_t o = 0; o < no; o++) {
		json_t *e = json_array_get(wd, o);
		size_t got = 0;
		if (!json_is_string(e) ||
		    sodium_base642bin(bytes, m->dim * 4, json_string_value(e),
		                      json_string_length(e), NULL, &got, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    got != m->dim * 4)
			return bad(err, name,
			           "weights.data: an output's weights are not base64 of "
			           "dim float32 values (truncated or corrupt)");
		float *ow = m->w + o * m->dim;
		for (size_t k = 0; k < m->dim; k++) {
			uint32_t u = (uint32_t)bytes[4 * k] | (uint32_t)bytes[4 * k + 1] << 8 |
			             (uint32_t)bytes[4 * k + 2] << 16 |
			             (uint32_t)bytes[4 * k + 3] << 24;
			memcpy(&ow[k], &u, 4);
			if (!isfinite(ow[k]) || fabsf(ow[k]) > 1e6f)
				return bad(err, name,
				           "weights.data holds a weight that is not finite");
		}
	}
	return 0;
}

int hr_learn_model_parse(const char *name, const char *p, size_t n, struct hr_learn_model **out,
                         struct hr_buf *err)
{
	*out = NULL;
	if (n > HR_LEARN_MAX_MODEL_BYTES) {
		hr_buf_addf(err, "%s: larger than %u bytes\n", name, HR_LEARN_MAX_MODEL_BYTES);
		return HR_ETOOBIG;
	}
	json_error_t je;
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
	if (!j) {
		hr_buf_addf(err, "%s:%d: not a valid router model: not JSON (%s)%s\n", name,
		            je.line, je.text,
		            json_error_code(&je) == json_error_premature_end_of_input
		                ? "; the file is truncated"
		                : "");
		return HR_EINVAL;
	}
	struct hr_learn_model *m = model_new();
	if (!m) {
		json_decref(j);
		return HR_ENOMEM;
	}
	int rc = json_is_object(j) ? from_json(j, name, m, err)
	                           : bad(err, name, "the file is not a JSON object");
	json_decref(j);
	if (rc < 0) {
		hr_learn_model_free(m);
		return rc;
	}
	*out = m;
	return 0;
}

int hr_learn_model_load(const char *path, struct hr_learn_model **out, struct hr_buf *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		hr_buf_addf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return HR_EIO;
	}
	struct hr_buf b = HR_BUF_INIT(HR_LEARN_MAX_MODEL_BYTES);
	char chunk[65536];
	size_t k;
	int rc = 0;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		if ((rc = hr_buf_add(&b, chunk, k)) < 0)
			break;
	fclose(f);
	if (rc == HR_ETOOBIG)
		hr_buf_addf(err, "%s: larger than %u bytes\n", path, HR_LEARN_MAX_MODEL_BYTES);
	if (rc == 0)
		rc = hr_learn_model_parse(path, b.ptr ? b.ptr : "", b.len, out, err);
	hr_buf_release(&b);
	return rc;
}
