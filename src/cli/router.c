/* router.c - `hearth router train` and `hearth router eval`: trains the learned router on
 * outcome data, and measures a router (or a cross-validation by held-out task) with APGR,
 * CPT, operating points, AIQ and the oracle. docs/router.md explains every figure. */
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/learn.h"
#include "storage/store.h"
#include "core/err.h"
#include "learn/learn.h"

#define MAX_FILES   64
#define MAX_ALIASES 8
#define RL_BINS     10 /* RouteLLM's num_results */
#define N_SWEEP     41 /* thresholds 0, 0.025, ..., 1 for many models */

struct opts {
	const char *data[MAX_FILES];
	size_t n_data;
	const char *extra[MAX_FILES];
	size_t n_extra;
	const char *out, *router, *weak, *strong, *holdout, *only;
	bool json, cv;
	bool from_usage;    /* train: rows from storage (learning online), not files */
	const char *config; /* --config: whose data directory --from-usage reads */
	unsigned folds;
	struct hr_learn_fconf fc;
	struct hr_learn_hparams hp;
	bool set_seed, set_bar, set_epochs, set_lr, set_l2, set_target, set_fc;
};

static void help_router(void)
{
	printf("usage: hearth router <train|eval|status|export> [options]\n\n"
	       "The learned router: it predicts from a prompt's text how likely each model is to\n"
	       "answer it well, or how likely a small model falls short of a strong one.\n\n"
	       "  train   learn a router model from outcome data (JSON Lines)\n"
	       "  eval    measure a router on outcome data: APGR, CPT, operating points, AIQ\n"
	       "  status  what shadow evaluation and feedback measured per task, promotions\n"
	       "  export  the outcome rows learning online gathered in storage\n\n"
	       "`hearth router <command> --help` gives the options;\n"
	       "docs/router.md the data format, the model, the metrics and the figures.\n");
}

static void help_train(void)
{
	printf(
	    "usage: hearth router train --data FILE [--data FILE ...] --out MODEL [options]\n"
	    "       hearth router train --from-usage [--task T] --out MODEL [options]\n\n"
	    "Learns a router model from outcome data: JSON Lines, one prompt per line,\n"
	    "{\"id\", \"prompt\", \"task\"?, \"outcomes\": {\"<model>\": {\"score\": 0..1,\n"
	    "\"cost\"?, \"latency_ms\"?}}}. With --weak and --strong the model has one output,\n"
	    "P(the strong model is needed); without, one output per model, P(score >= bar).\n"
	    "The same data and seed give the same file, byte for byte.\n\n"
	    "  -d, --data FILE      outcome data (repeat, or list files after the options)\n"
	    "  -o, --out MODEL      the model file to write (JSON)\n"
	    "      --weak NAMES     the weak model; NAMES may list aliases: a,b (first present)\n"
	    "      --strong NAMES   the strong model, likewise\n"
	    "      --target T       with --weak/--strong: gain (default: (1 + strong - weak)/2),\n"
	    "                       beats (strong > weak) or weak-fails (weak < bar)\n"
	    "      --bar X          a score >= X is a good answer (default 0.5)\n"
	    "      --seed N         shuffling seed (default 1)\n"
	    "      --epochs N       passes over the data (default 4)\n"
	    "      --lr X           Adagrad step (default 0.05)\n"
	    "      --l2 X           L2 regularisation (default 1e-05)\n"
	    "      --hash-bits N    hashed feature space of 2^N slots, 8..22 (default 14)\n"
	    "      --chars MIN-MAX  character n-grams (default 3-5; 0-0: none)\n"
	    "      --words N        word n-grams up to N, 1 or 2 (default 2)\n"
	    "      --max-bytes N    bytes of a prompt that feed the n-grams (default 1024)\n"
	    "      --dense-weight X scale of the dense structure signals (default 1)\n"
	    "      --holdout TASKS  leave the rows of these tasks (a,b) out of training\n"
	    "      --from-usage     train on what learning online gathered in storage (the\n"
	    "                       rows of `hearth router export`) instead of --data files\n"
	    "      --task TASKS     with --from-usage: only this task's rows\n"
	    "      --config FILE    with --from-usage: the config whose storage to read\n"
	    "  -h, --help           this help\n\n"
	    "Exit status: 0 written; 1 the data or the file failed (the message says where);\n"
	    "2 usage error.\n");
}

static void help_eval(void)
{
	printf(
	    "usage: hearth router eval [--router MODEL] --data FILE [options]\n\n"
	    "Measures a router on outcome data. For two models (--weak/--strong, the model's own\n"
	    "pair, or the data's only two): APGR, CPT(50%%), CPT(80%%) and the random router's\n"
	    "APGR. For models with costs: operating points (the cheapest model whose predicted\n"
	    "P(good) >= threshold), RouterBench's AIQ against the best single-model mix, the cost\n"
	    "at >= 95%% of the best single model's quality as a share of its cost, and the\n"
	    "oracle. Without --router, the shipped default model is used.\n\n"
	    "  -r, --router MODEL   the model file (default: $HEARTH_ROUTER_MODEL, else the\n"
	    "                       shipped share/router/default.json)\n"
	    "  -d, --data FILE      outcome data to measure on (repeatable)\n"
	    "      --weak NAMES     the weak model (aliases a,b: the first present per row)\n"
	    "      --strong NAMES   the strong model\n"
	    "      --cv task        cross-validate: k folds that each hold out whole tasks;\n"
	    "                       train on the rest (with the router's settings, or the\n"
	    "                       defaults and the options below), score the held-out rows,\n"
	    "                       and compute every figure over all out-of-fold scores\n"
	    "      --folds K        folds for --cv (default 5; at most the number of tasks)\n"
	    "      --train-extra FILE  with --cv: more data that is always trained on (pooling)\n"
	    "      --task TASKS     measure only the rows of these tasks (a,b)\n"
	    "      --json           print one JSON object (n, apgr, random_apgr, cpt50, cpt80,\n"
	    "                       aiq, cost_share_at_95, oracle_quality, operating_points, ...)\n"
	    "  training options for --cv: --bar --seed --epochs --lr --l2 --target --hash-bits\n"
	    "  --chars --words --max-bytes --dense-weight (see `hearth router train --help`)\n"
	    "  -h, --help           this help\n\n"
	    "Exit status: 0 measured; 1 the data or the model failed; 2 usage error.\n");
}

/* ---- options ---- */

enum {
	O_WEAK = 256,
	O_STRONG,
	O_TARGET,
	O_BAR,
	O_SEED,
	O_EPOCHS,
	O_LR,
	O_L2,
	O_BITS,
	O_CHARS,
	O_WORDS,
	O_MAXB,
	O_DW,
	O_HOLD,
	O_CV,
	O_FOLDS,
	O_EXTRA,
	O_TASK,
	O_JSON,
	O_FROM_USAGE,
	O_CONFIG
};

static bool parse_num(const char *s, double lo, double hi, double *v)
{
	char *e;
	double d = strtod(s, &e);
	if (e == s || *e || !isfinite(d) || d < lo || d > hi)
		return false;
	*v = d;
	return true;
}

static int parse_opts(const char *cmd, int argc, char **argv, struct opts *o, bool train)
{
	static const struct option lo[] = {{"data", required_argument, NULL, 'd'},
	                                   {"out", required_argument, NULL, 'o'},
	                                   {"router", required_argument, NULL, 'r'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {"weak", required_argument, NULL, O_WEAK},
	                                   {"strong", required_argument, NULL, O_STRONG},
	                                   {"target", required_argument, NULL, O_TARGET},
	                                   {"bar", required_argument, NULL, O_BAR},
	                                   {"seed", required_argument, NULL, O_SEED},
	                                   {"epochs", required_argument, NULL, O_EPOCHS},
	                                   {"lr", required_argument, NULL, O_LR},
	                                   {"l2", required_argument, NULL, O_L2},
	                                   {"hash-bits", required_argument, NULL, O_BITS},
	                                   {"chars", required_argument, NULL, O_CHARS},
	                                   {"words", required_argument, NULL, O_WORDS},
	                                   {"max-bytes", required_argument, NULL, O_MAXB},
	                                   {"dense-weight", required_argument, NULL, O_DW},
	                                   {"holdout", required_argument, NULL, O_HOLD},
	                                   {"cv", required_argument, NULL, O_CV},
	                                   {"folds", required_argument, NULL, O_FOLDS},
	                                   {"train-extra", required_argument, NULL, O_EXTRA},
	                                   {"task", required_argument, NULL, O_TASK},
	                                   {"json", no_argument, NULL, O_JSON},
	                                   {"from-usage", no_argument, NULL, O_FROM_USAGE},
	                                   {"config", required_argument, NULL, O_CONFIG},
	                                   {NULL, 0, NULL, 0}};
	memset(o, 0, sizeof *o);
	hr_learn_fconf_default(&o->fc);
	hr_learn_hparams_default(&o->hp);
	o->folds = 5;
	opterr = 0;
	optind = 1;
	int c;
	double v;
	while ((c = getopt_long(argc, argv, "d:o:r:h", lo, NULL)) != -1) {
		switch (c) {
		case 'd':
			if (o->n_data >= MAX_FILES)
				return hr_cli_usage_error(cmd, "at most 64 data files");
			o->data[o->n_data++] = optarg;
			break;
		case 'o': o->out = optarg; break;
		case 'r': o->router = optarg; break;
		case 'h':
			if (train)
				help_train();
			else
				help_eval();
			return -1;
		case O_WEAK: o->weak = optarg; break;
		case O_STRONG: o->strong = optarg; break;
		case O_TARGET:
			if (strcmp(optarg, "gain") == 0)
				o->hp.target = HR_LEARN_T_GAIN;
			else if (strcmp(optarg, "beats") == 0)
				o->hp.target = HR_LEARN_T_BEATS;
			else if (strcmp(optarg, "weak-fails") == 0)
				o->hp.target = HR_LEARN_T_WEAK_FAILS;
			else
				return hr_cli_usage_error(cmd,
				                          "--target is gain, beats or weak-fails");
			o->set_target = true;
			break;
		case O_BAR:
			if (!parse_num(optarg, 0, 1, &o->hp.bar))
				return hr_cli_usage_error(cmd, "--bar is a number in [0, 1]");
			o->set_bar = true;
			break;
		case O_SEED:
			if (!parse_num(optarg, 0, 9007199254740991.0, &v) || v != floor(v))
				return hr_cli_usage_error(cmd, "--seed is an integer >= 0");
			o->hp.seed = (uint64_t)v;
			o->set_seed = true;
			break;
		case O_EPOCHS:
			if (!parse_num(optarg, 1, 1000, &v) || v != floor(v))
				return hr_cli_usage_error(cmd, "--epochs is an integer 1..1000");
			o->hp.epochs = (unsigned)v;
			o->set_epochs = true;
			break;
		case O_LR:
			if (!parse_num(optarg, 1e-9, 100, &o->hp.lr))
				return hr_cli_usage_error(cmd, "--lr is a number in (0, 100]");
			o->set_lr = true;
			break;
		case O_L2:
			if (!parse_num(optarg, 0, 100, &o->hp.l2))
				return hr_cli_usage_error(cmd, "--l2 is a number in [0, 100]");
			o->set_l2 = true;
			break;
		case O_BITS:
			if (!parse_num(optarg, 8, 22, &v) || v != floor(v))
				return hr_cli_usage_error(cmd, "--hash-bits is an integer 8..22");
			o->fc.hash_bits = (unsigned)v;
			o->set_fc = true;
			break;
		case O_CHARS: {
			unsigned a, b;
			char tail;
			if (sscanf(optarg, "%u-%u%c", &a, &b, &tail) != 2 ||
			    !((a == 0 && b == 0) || (a >= 1 && a <= b && b <= 5)))
				return hr_cli_usage_error(cmd,
				                          "--chars is MIN-MAX, 1 <= MIN <= MAX "
				                          "<= 5, or 0-0 for none");
			o->fc.char_min = a;
			o->fc.char_max = b;
			o->set_fc = true;
			break;
		}
		case O_WORDS:
			if (!parse_num(optarg, 1, 2, &v) || v != floor(v))
				return hr_cli_usage_error(cmd, "--words is 1 or 2");
			o->fc.word_ngrams = (unsigned)v;
			o->set_fc = true;
			break;
		case O_MAXB:
			if (!parse_num(optarg, 16, 1 << 20, &v) || v != floor(v))
				return hr_cli_usage_error(cmd,
				                          "--max-bytes is an integer 16..1048576");
			o->fc.max_bytes = (unsigned)v;
			o->set_fc = true;
			break;
		case O_DW:
			if (!parse_num(optarg, 0, 1000, &v))
				return hr_cli_usage_error(
				    cmd, "--dense-weight is a number in [0, 1000]");
			o->fc.dense_weight = (float)v;
			o->set_fc = true;
			break;
		case O_HOLD: o->holdout = optarg; break;
		case O_CV:
			if (strcmp(optarg, "task") != 0)
				return hr_cli_usage_error(cmd, "--cv takes `task` (hold out whole "
				                               "tasks)");
			o->cv = true;
			break;
		case O_FOLDS:
			if (!parse_num(optarg, 2, 1000, &v) || v != floor(v))
				return hr_cli_usage_error(cmd, "--folds is an integer 2..1000");
			o->folds = (unsigned)v;
			break;
		case O_EXTRA:
			if (o->n_extra >= MAX_FILES)
				return hr_cli_usage_error(cmd, "at most 64 --train-extra files");
			o->extra[o->n_extra++] = optarg;
			break;
		case O_TASK: o->only = optarg; break;
		case O_JSON: o->json = true; break;
		case O_FROM_USAGE:
			if (!train)
				return hr_cli_usage_error(cmd, "--from-usage is an option of train");
			o->from_usage = true;
			break;
		case O_CONFIG: o->config = optarg; break;
		default: return hr_cli_usage_error(cmd, "unknown option or missing value");
		}
	}
	for (; optind < argc; optind++) {
		if (o->n_data >= MAX_FILES)
			return hr_cli_usage_error(cmd, "at most 64 data files");
		o->data[o->n_data++] = argv[optind];
	}
	if (o->n_data == 0 && !o->from_usage)
		return hr_cli_usage_error(cmd, "give the outcome data with --data FILE (or, to "
		                               "train, --from-usage)");
	if (o->n_data && o->from_usage)
		return hr_cli_usage_error(cmd, "give --data or --from-usage, not both");
	if (!o->weak != !o->strong)
		return hr_cli_usage_error(cmd, "give --weak and --strong together");
	if (train && !o->out)
		return hr_cli_usage_error(cmd, "give the model file to write with --out MODEL");
	if (!train && o->n_extra && !o->cv)
		return hr_cli_usage_error(cmd, "--train-extra needs --cv task");
	return 0;
}

/* Whether task t is in the comma-separated list. */
static bool in_list(const char *list, const char *t)
{
	if (!t)
		return false;
	size_t n = strlen(t);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (len == n && memcmp(p, t, n) == 0)
			return true;
		p = c ? c + 1 : NULL;
	}
	return false;
}

static int read_data(const char *cmd, struct hr_arena *a, const struct opts *o,
                     struct hr_learn_data *d)
{
	const char *files[2 * MAX_FILES];
	size_t n = 0;
	for (size_t i = 0; i < o->n_data; i++)
		files[n++] = o->data[i];
	for (size_t i = 0; i < o->n_extra; i++)
		files[n++] = o->extra[i];
	struct hr_buf err = HR_BUF_INIT(64 * 1024);
	int rc = hr_learn_data_read(a, files, n, d, &err);
	if (rc < 0) {
		fprintf(stderr, "hearth %s: %s", cmd,
		        err.ptr ? err.ptr : (rc == HR_ENOMEM ? "out of memory\n" : "failed\n"));
		if (rc == HR_EINVAL)
			fprintf(stderr,
			        "hint: the format is in docs/router.md (`make routing-data` "
			        "converts the public sets)\n");
	}
	hr_buf_release(&err);
	return rc;
}

/* train --from-usage: the rows learning online gathered (hearth router export's). */
static int usage_data(struct hr_arena *a, const struct opts *o, struct hr_learn_data *d)
{
	struct hr_store *st = NULL;
	if (hr_cli_open_store("router train", o->config, &st) != HR_EXIT_OK)
		return HR_EIO;
	struct hr_buf rows = HR_BUF_INIT(HR_LEARN_EXPORT_MAX), err = HR_BUF_INIT(64 * 1024);
	size_t n = 0;
	int rc = hr_cli_learn_export(st, o->only, &rows, &n);
	st->ops->close(st);
	if (rc == 0 && n == 0) {
		fprintf(stderr, "hearth router train: no scored rows in storage%s%s; turn on shadow "
		                "evaluation (tasks.<name>.shadow_sample) or send POST /v1/feedback\n",
		        o->only ? " for task " : "", o->only ? o->only : "");
		rc = HR_EINVAL;
	} else if (rc == 0) {
		rc = hr_learn_data_parse(a, "storage", rows.ptr, rows.len, d, &err);
		if (rc < 0)
			fprintf(stderr, "hearth router train: %s", err.ptr ? err.ptr : "out of memory\n");
	} else {
		fprintf(stderr, "hearth router train: cannot read storage: %s\n", hr_err_msg(rc));
	}
	hr_buf_release(&rows);
	hr_buf_release(&err);
	return rc;
}

static void hex8(const unsigned char *sha, char out[17])
{
	sodium_bin2hex(out, 17, sha, 8);
}

/* ---- train ---- */

static int cmd_train(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts("router train", argc, argv, &o, true);
	if (rc)
		return rc < 0 ? HR_EXIT_OK : rc;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_learn_data d;
	if (!a || (o.from_usage ? usage_data(a, &o, &d) : read_data("router train", a, &o, &d)) < 0) {
		hr_arena_destroy(a);
		return HR_EXIT_FAIL;
	}
	bool *use = hr_arena_alloc(a, d.n_rows * sizeof *use);
	struct hr_learn_output *outs = hr_arena_calloc(a, (d.n_models + 1) * sizeof *outs);
	if (!use || !outs) {
		hr_arena_destroy(a);
		return HR_EXIT_FAIL;
	}
	size_t used = 0;
	for (size_t i = 0; i < d.n_rows; i++)
		used += (use[i] = !(o.holdout && in_list(o.holdout, d.rows[i].task)));
	size_t n_outs = 0;
	if (o.weak) {
		outs[n_outs++] = (struct hr_learn_output){
		    .kind = HR_LEARN_OUT_GAIN, .weak = o.weak, .strong = o.strong};
	} else {
		for (size_t k = 0; k < d.n_models; k++)
			outs[n_outs++] = (struct hr_learn_output){.kind = HR_LEARN_OUT_MODEL,
			                                          .model = d.models[k]};
	}
	struct hr_buf err = HR_BUF_INIT(64 * 1024);
	struct hr_learn_model *m = NULL;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = hr_learn_train(&d, use, &o.fc, &o.hp, outs, n_outs, &m, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc == 0)
		rc = hr_learn_model_save(m, o.out, &err);
	if (rc < 0) {
		fprintf(stderr, "hearth router train: %s", err.ptr ? err.ptr : "out of memory\n");
	} else {
		char h[17];
		hex8(d.sha256, h);
		fprintf(stderr,
		        "hearth router train: %zu rows (%zu held out), %zu output%s, 2^%u "
		        "features, data sha256 %s..., %.1f s -> %s\n",
		        used, d.n_rows - used, n_outs, n_outs == 1 ? "" : "s", o.fc.hash_bits, h,
		        (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9,
		        o.out);
	}
	hr_buf_release(&err);
	hr_learn_model_free(m);
	hr_arena_destroy(a);
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}

/* ---- eval ---- */

/* The shipped model: $HEARTH_ROUTER_MODEL, else share/router/default.json beside the
 * binary's directory (the source tree: build/hearth), else the installed copy. */
static const char *default_model(char *buf, size_t cap)
{
	const char *env = getenv("HEARTH_ROUTER_MODEL");
	if (env && *env)
		return env;
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			snprintf(buf, cap, "%s/../share/router/default.json", exe);
			if (access(buf, R_OK) == 0)
				return buf;
			snprintf(buf, cap, "%s/../share/hearth/router/default.json", exe);
			if (access(buf, R_OK) == 0)
				return buf;
		}
	}
	return "/usr/share/hearth/router/default.json";
}

struct evalctx {
	struct hr_arena *a;
	struct opts *o;
	struct hr_learn_data *d;
	bool *is_eval;  /* rows of --data (not --train-extra), within --task */
	bool *is_extra; /* rows of --train-extra */
	const char *weak, *strong;
	long wi[MAX_ALIASES], si[MAX_ALIASES];
	size_t n_wi, n_si;
	bool two;   /* two-model figures */
	size_t *mm; /* many-model: data indices of the models routed among */
	size_t n_mm;
	double *gain;  /* [n_rows] P(strong needed) */
	double *probs; /* [n_rows][n_mm] */
	double *mcost; /* [n_mm] mean cost per prompt (training rows) */
};

/* Gain score from a model: its gain output, or P(strong good)(1 - P(weak good)). */
static bool gain_source(const struct hr_learn_model *m, const struct evalctx *e, long *g, long *pw,
                        long *ps)
{
	*g = hr_learn_model_gain(m);
	*pw = *ps = -1;
	if (*g >= 0)
		return true;
	for (size_t i = 0; i < e->n_wi && *pw < 0; i++)
		*pw = hr_learn_model_output(m, e->d->models[e->wi[i]]);
	for (size_t i = 0; i < e->n_si && *ps < 0; i++)
		*ps = hr_learn_model_output(m, e->d->models[e->si[i]]);
	return *pw >= 0 && *ps >= 0;
}

/* Scores rows (mask) with model m (for gain) and mmod (for many models). */
static int score_rows(struct evalctx *e, const struct hr_learn_model *m,
                      const struct hr_learn_model *mmod, const bool *mask)
{
	struct hr_arena *fa = hr_arena_create(0);
	if (!fa)
		return HR_ENOMEM;
	long g = -1, pw = -1, ps = -1;
	if (e->two && m && !gain_source(m, e, &g, &pw, &ps)) {
		hr_arena_destroy(fa);
		return HR_EINVAL;
	}
	long *mo = NULL;
	if (e->n_mm && mmod) {
		mo = hr_arena_alloc(fa, e->n_mm * sizeof *mo);
		if (!mo) {
			hr_arena_destroy(fa);
			return HR_ENOMEM;
		}
		for (size_t k = 0; k < e->n_mm; k++)
			mo[k] = hr_learn_model_output(mmod, e->d->models[e->mm[k]]);
	}
	struct hr_learn_fx *fx1 = m ? hr_learn_fx_new(fa, &m->fc) : NULL;
	struct hr_learn_fx *fx2 = mmod ? hr_learn_fx_new(fa, &mmod->fc) : NULL;
	double *p1 = hr_arena_alloc(fa, (m ? m->n_outs : 1) * sizeof *p1);
	double *p2 = hr_arena_alloc(fa, (mmod ? mmod->n_outs : 1) * sizeof *p2);
	if ((m && !fx1) || (mmod && !fx2) || !p1 || !p2) {
		hr_arena_destroy(fa);
		return HR_ENOMEM;
	}
	for (size_t i = 0; i < e->d->n_rows; i++) {
		if (!mask[i])
			continue;
		const struct hr_learn_row *r = &e->d->rows[i];
		if (e->two && m) {
			hr_learn_predict(m, fx1, r->prompt, r->prompt_len, p1);
			e->gain[i] = g >= 0 ? p1[g] : p1[ps] * (1.0 - p1[pw]);
		}
		if (e->n_mm && mmod) {
			hr_learn_predict(mmod, fx2, r->prompt, r->prompt_len, p2);
			for (size_t k = 0; k < e->n_mm; k++)
				e->probs[i * e->n_mm + k] = p2[mo[k]];
		}
	}
	hr_arena_destroy(fa);
	return 0;
}

static int cmp_double(const void *x, const void *y)
{
	double a = *(const double *)x, b = *(const double *)y;
	return a < b ? -1 : a > b;
}

static int cmp_str(const void *x, const void *y)
{
	return strcmp(*(const char *const *)x, *(const char *const *)y);
}

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* Cross-validation by held-out task: fills e->gain / e->probs for every eval row. */
static int run_cv(struct evalctx *e, const struct hr_learn_fconf *fc,
                  const struct hr_learn_hparams *hp, unsigned *folds_out, size_t *tasks_out)
{
	struct hr_learn_data *d = e->d;
	const char **tasks = hr_arena_alloc(e->a, d->n_rows * sizeof *tasks);
	if (!tasks)
		return HR_ENOMEM;
	size_t nt = 0;
	for (size_t i = 0; i < d->n_rows; i++) {
		if (!e->is_eval[i])
			continue;
		if (!d->rows[i].task) {
			fprintf(stderr,
			        "hearth router eval: %s:%zu: --cv task needs a \"task\" on every "
			        "row\n",
			        d->rows[i].file, d->rows[i].line);
			return HR_EINVAL;
		}
		tasks[nt++] = d->rows[i].task;
	}
	qsort(tasks, nt, sizeof *tasks, cmp_str);
	size_t u = 0;
	for (size_t i = 0; i < nt; i++)
		if (u == 0 || strcmp(tasks[u - 1], tasks[i]) != 0)
			tasks[u++] = tasks[i];
	if (u < 2) {
		fprintf(stderr, "hearth router eval: --cv task needs at least two tasks in the "
		                "data\n");
		return HR_EINVAL;
	}
	/* tasks shuffled with the seed, dealt to the folds in turn */
	uint64_t rng = hp->seed ^ 0x5eedf01d5ull;
	for (size_t i = u; i > 1; i--) {
		size_t j = (size_t)(splitmix(&rng) % i);
		const char *t = tasks[i - 1];
		tasks[i - 1] = tasks[j];
		tasks[j] = t;
	}
	unsigned k = e->o->folds < u ? e->o->folds : (unsigned)u;
	*folds_out = k;
	*tasks_out = u;
	int *fold_of = hr_arena_alloc(e->a, d->n_rows * sizeof *fold_of);
	bool *use = hr_arena_alloc(e->a, d->n_rows * sizeof *use);
	bool *mask = hr_arena_alloc(e->a, d->n_rows * sizeof *mask);
	if (!fold_of || !use || !mask)
		return HR_ENOMEM;
	for (size_t i = 0; i < d->n_rows; i++) {
		fold_of[i] = -1;
		if (!e->is_eval[i])
			continue;
		for (size_t t = 0; t < u; t++)
			if (strcmp(tasks[t], d->rows[i].task) == 0) {
				fold_of[i] = (int)(t % k);
				break;
			}
	}
	struct hr_learn_output gout = {
	    .kind = HR_LEARN_OUT_GAIN, .weak = e->weak, .strong = e->strong};
	struct hr_learn_output *mouts = hr_arena_calloc(e->a, (e->n_mm + 1) * sizeof *mouts);
	if (!mouts)
		return HR_ENOMEM;
	for (size_t j = 0; j < e->n_mm; j++)
		mouts[j] = (struct hr_learn_output){.kind = HR_LEARN_OUT_MODEL,
		                                    .model = d->models[e->mm[j]]};
	for (unsigned f = 0; f < k; f++) {
		/* train on the other folds' rows and on every --train-extra row; rows of
		 * --data left out by --task are not used at all */
		for (size_t i = 0; i < d->n_rows; i++) {
			use[i] = (e->is_eval[i] && fold_of[i] != (int)f) || e->is_extra[i];
			mask[i] = e->is_eval[i] && fold_of[i] == (int)f;
		}
		struct hr_buf err = HR_BUF_INIT(64 * 1024);
		struct hr_learn_model *gm = NULL, *mm = NULL;
		int rc = 0;
		if (e->two)
			rc = hr_learn_train(d, use, fc, hp, &gout, 1, &gm, &err);
		if (rc == 0 && e->n_mm)
			rc = hr_learn_train(d, use, fc, hp, mouts, e->n_mm, &mm, &err);
		if (rc == 0)
			rc = score_rows(e, gm, mm, mask);
		if (rc < 0)
			fprintf(stderr, "hearth router eval: fold %u: %s", f + 1,
			        err.ptr ? err.ptr : "out of memory\n");
		hr_buf_release(&err);
		hr_learn_model_free(gm);
		hr_learn_model_free(mm);
		if (rc < 0)
			return rc;
		if (!e->o->json)
			fprintf(stderr, "hearth router eval: fold %u/%u done\n", f + 1, k);
	}
	return 0;
}

static json_t *num(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static double mean_of(const double *v, size_t n)
{
	double s = 0;
	for (size_t i = 0; i < n; i++)
		s += v[i];
	return n ? s / (double)n : NAN;
}

/* Two-model figures into j (and printed unless --json). */
static int two_model(struct evalctx *e, json_t *j)
{
	struct hr_learn_data *d = e->d;
	size_t n = 0;
	double *s = hr_arena_alloc(e->a, d->n_rows * sizeof *s);
	double *w = hr_arena_alloc(e->a, d->n_rows * sizeof *w);
	double *st = hr_arena_alloc(e->a, d->n_rows * sizeof *st);
	double *cw = hr_arena_alloc(e->a, d->n_rows * sizeof *cw);
	double *cs = hr_arena_alloc(e->a, d->n_rows * sizeof *cs);
	double *zero = hr_arena_calloc(e->a, d->n_rows * sizeof *zero);
	double *gap = hr_arena_alloc(e->a, d->n_rows * sizeof *gap);
	double *tmean = hr_arena_alloc(e->a, d->n_rows * sizeof *tmean);
	const char **task = hr_arena_alloc(e->a, d->n_rows * sizeof *task);
	struct hr_learn_pt *c = hr_arena_alloc(e->a, (d->n_rows + 1) * sizeof *c);
	struct hr_learn_pt rl[RL_BINS + 1];
	if (!s || !w || !st || !cw || !cs || !zero || !gap || !tmean || !task || !c)
		return HR_ENOMEM;
	bool costs = true;
	for (size_t i = 0; i < d->n_rows; i++) {
		if (!e->is_eval[i])
			continue;
		const struct hr_learn_row *r = &d->rows[i];
		long a = hr_learn_row_pick(r, e->wi, e->n_wi),
		     b = hr_learn_row_pick(r, e->si, e->n_si);
		if (a < 0 || b < 0)
			continue;
		s[n] = e->gain[i];
		w[n] = r->out[a].score;
		st[n] = r->out[b].score;
		gap[n] = st[n] - w[n];
		task[n] = r->task;
		costs = costs && r->out[a].has_cost && r->out[b].has_cost;
		cw[n] = r->out[a].cost;
		cs[n] = r->out[b].cost;
		n++;
	}
	if (n == 0) {
		fprintf(stderr, "hearth router eval: no row has both the weak and the strong "
		                "model\n");
		return HR_EINVAL;
	}
	double wq = mean_of(w, n), sq = mean_of(st, n);
	size_t nc = hr_learn_curve_exact(s, w, st, n, c, e->a);
	double apgr_exact = hr_learn_apgr(c, nc, wq, sq);
	double cpt50x = hr_learn_cpt(c, nc, wq, sq, 0.5), cpt80x = hr_learn_cpt(c, nc, wq, sq, 0.8);
	size_t nr = hr_learn_curve_routellm(s, w, st, n, RL_BINS, rl, e->a);
	double apgr = hr_learn_apgr(rl, nr, wq, sq);
	double cpt50 = hr_learn_cpt(rl, nr, wq, sq, 0.5), cpt80 = hr_learn_cpt(rl, nr, wq, sq, 0.8);
	nc = hr_learn_curve_exact(zero, w, st, n, c, e->a);
	double rnd = hr_learn_apgr(c, nc, wq, sq);
	nc = hr_learn_curve_exact(gap, w, st, n, c, e->a);
	double orc = hr_learn_apgr(c, nc, wq, sq);
	double orc50 = hr_learn_cpt(c, nc, wq, sq, 0.5), orc80 = hr_learn_cpt(c, nc, wq, sq, 0.8);
	/* the task oracle: each prompt scored by its task's mean gain on these rows */
	if (hr_learn_group_mean(gap, task, n, tmean, e->a) < 0)
		return HR_ENOMEM;
	nc = hr_learn_curve_exact(tmean, w, st, n, c, e->a);
	double torc = hr_learn_apgr(c, nc, wq, sq);
	double oq = 0;
	for (size_t i = 0; i < n; i++)
		oq += w[i] > st[i] ? w[i] : st[i];
	oq /= (double)n;

	/* RouteLLM's 11 thresholds as the operating points (with cost where the data has it) */
	double *sorted = hr_arena_alloc(e->a, n * sizeof *sorted);
	json_t *ops = json_array();
	if (!sorted || !ops)
		return HR_ENOMEM;
	memcpy(sorted, s, n * sizeof *s);
	qsort(sorted, n, sizeof *sorted, cmp_double);
	struct hr_learn_cq cq[RL_BINS + 1], single[2];
	double mcw = mean_of(cw, n), mcs = mean_of(cs, n);
	double best_q = sq >= wq ? sq : wq, best_c = sq >= wq ? mcs : mcw;
	double at95 = NAN;
	if (!e->o->json)
		printf("\n  operating points (RouteLLM's thresholds: deciles of the scores)\n"
		       "  %-10s %8s %9s %12s\n",
		       "threshold", "strong%", "quality", costs ? "cost/prompt" : "");
	for (unsigned b = 0; b <= RL_BINS; b++) {
		double pos = (double)(n - 1) * (double)b / RL_BINS;
		size_t lo = (size_t)floor(pos), hi = lo + 1 < n ? lo + 1 : lo;
		double t = sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - (double)lo);
		double q = 0, cost = 0;
		size_t ns = 0;
		for (size_t i = 0; i < n; i++) {
			bool strong = b < RL_BINS ? s[i] >= t : s[i] > t;
			q += strong ? st[i] : w[i];
			cost += strong ? cs[i] : cw[i];
			ns += strong;
		}
		q /= (double)n;
		cost /= (double)n;
		cq[b] = (struct hr_learn_cq){cost, q};
		if (costs && q >= 0.95 * best_q && (!isfinite(at95) || cost < at95))
			at95 = cost;
		json_array_append_new(ops, json_pack("{s:o, s:o, s:o, s:o}", "threshold", num(t),
		                                     "strong_share", num((double)ns / (double)n),
		                                     "quality", num(q), "cost",
		                                     costs ? num(cost) : json_null()));
		if (!e->o->json)
			printf("  %-10.4f %7.1f%% %9.4f %12s\n", t, 100.0 * (double)ns / (double)n,
			       q, costs ? hr_arena_printf(e->a, "$%.6f", cost) : "");
	}
	double aiq = NAN, aiq_single = NAN;
	if (costs) {
		single[0] = (struct hr_learn_cq){mcw, wq};
		single[1] = (struct hr_learn_cq){mcs, sq};
		double cmax = mcw > mcs ? mcw : mcs;
		for (unsigned b = 0; b <= RL_BINS; b++)
			if (cq[b].cost > cmax)
				cmax = cq[b].cost;
		aiq = hr_learn_aiq(cq, RL_BINS + 1, cmax, e->a);
		aiq_single = hr_learn_aiq(single, 2, cmax, e->a);
	}
	json_object_set_new(j, "n", json_integer((json_int_t)n));
	json_object_set_new(j, "weak",
	                    json_pack("{s:s, s:o, s:o}", "model", d->models[e->wi[0]], "quality",
	                              num(wq), "cost", costs ? num(mcw) : json_null()));
	json_object_set_new(j, "strong",
	                    json_pack("{s:s, s:o, s:o}", "model", d->models[e->si[0]], "quality",
	                              num(sq), "cost", costs ? num(mcs) : json_null()));
	json_object_set_new(j, "apgr", num(apgr));
	json_object_set_new(j, "apgr_exact", num(apgr_exact));
	json_object_set_new(j, "random_apgr", num(rnd));
	json_object_set_new(j, "oracle_apgr", num(orc));
	json_object_set_new(j, "task_oracle_apgr", num(torc));
	json_object_set_new(j, "cpt50", num(cpt50));
	json_object_set_new(j, "cpt80", num(cpt80));
	json_object_set_new(j, "cpt50_exact", num(cpt50x));
	json_object_set_new(j, "cpt80_exact", num(cpt80x));
	json_object_set_new(j, "oracle_cpt50", num(orc50));
	json_object_set_new(j, "oracle_cpt80", num(orc80));
	json_object_set_new(j, "oracle_quality", num(oq));
	json_object_set_new(j, "operating_points", ops);
	if (!json_object_get(j, "aiq")) {
		json_object_set_new(j, "aiq", num(aiq));
		json_object_set_new(j, "aiq_best_single_mix", num(aiq_single));
		json_object_set_new(j, "cost_share_at_95",
		                    isfinite(at95) && best_c > 0 ? num(at95 / best_c)
		                                                 : json_null());
	}
	if (!e->o->json) {
		printf("\n  two models: weak %.4f, strong %.4f, oracle %.4f (n = %zu)\n", wq, sq,
		       oq, n);
		printf("  APGR       %.4f   (exact curve %.4f; random %.4f; oracle %.4f)\n", apgr,
		       apgr_exact, rnd, orc);
		printf("  CPT(50%%)   %.1f%% of calls to the strong model   (exact %.1f%%; random "
		       "50.0%%; oracle %.1f%%)\n",
		       cpt50, cpt50x, orc50);
		printf("  CPT(80%%)   %.1f%%   (exact %.1f%%; random 80.0%%; oracle %.1f%%)\n",
		       cpt80, cpt80x, orc80);
		printf(
		    "  task oracle %.4f   (APGR with each prompt scored by its task's mean gain)\n",
		    torc);
		if (costs)
			printf("  AIQ        %.4f   (weak/strong mix %.4f)\n", aiq, aiq_single);
	}
	return 0;
}

/* Many-model figures (models with costs) into j. */
static int many_models(struct evalctx *e, json_t *j)
{
	struct hr_learn_data *d = e->d;
	size_t K = e->n_mm, n = 0;
	double *q = hr_arena_calloc(e->a, N_SWEEP * sizeof *q);
	double *cost = hr_arena_calloc(e->a, N_SWEEP * sizeof *cost);
	size_t *calls = hr_arena_calloc(e->a, N_SWEEP * K * sizeof *calls);
	double *ms = hr_arena_calloc(e->a, K * sizeof *ms);
	double *mc = hr_arena_calloc(e->a, K * sizeof *mc);
	struct hr_learn_cq *pts = hr_arena_alloc(e->a, (N_SWEEP + K) * sizeof *pts);
	if (!q || !cost || !calls || !ms || !mc || !pts)
		return HR_ENOMEM;
	double oq = 0, oc = 0;
	for (size_t i = 0; i < d->n_rows; i++) {
		if (!e->is_eval[i])
			continue;
		const struct hr_learn_row *r = &d->rows[i];
		bool all = true;
		for (size_t k = 0; k < K; k++)
			all = all && r->out[e->mm[k]].present && r->out[e->mm[k]].has_cost;
		if (!all)
			continue;
		n++;
		size_t best = 0;
		for (size_t k = 0; k < K; k++) {
			const struct hr_learn_outcome *x = &r->out[e->mm[k]];
			ms[k] += x->score;
			mc[k] += x->cost;
			const struct hr_learn_outcome *b = &r->out[e->mm[best]];
			if (x->score > b->score || (x->score == b->score && x->cost < b->cost))
				best = k;
		}
		oq += r->out[e->mm[best]].score;
		oc += r->out[e->mm[best]].cost;
		for (unsigned t = 0; t < N_SWEEP; t++) {
			size_t k =
			    hr_learn_pick(&e->probs[i * K], e->mcost, K, (double)t / (N_SWEEP - 1));
			q[t] += r->out[e->mm[k]].score;
			cost[t] += r->out[e->mm[k]].cost;
			calls[t * K + k]++;
		}
	}
	if (n == 0) {
		fprintf(stderr, "hearth router eval: no row has every model with a cost\n");
		return HR_EINVAL;
	}
	size_t bi = 0;
	for (size_t k = 0; k < K; k++) {
		ms[k] /= (double)n;
		mc[k] /= (double)n;
		if (ms[k] > ms[bi] || (ms[k] == ms[bi] && mc[k] < mc[bi]))
			bi = k;
	}
	oq /= (double)n;
	oc /= (double)n;
	double cmax = 0, at95 = NAN, at95q = NAN;
	json_t *ops = json_array();
	if (!ops)
		return HR_ENOMEM;
	if (!e->o->json)
		printf(
		    "\n  operating points (the cheapest model whose P(score >= bar) >= threshold)\n"
		    "  %-10s %9s %12s  %s\n",
		    "threshold", "quality", "cost/prompt", "most calls");
	for (unsigned t = 0; t < N_SWEEP; t++) {
		q[t] /= (double)n;
		cost[t] /= (double)n;
		pts[t] = (struct hr_learn_cq){cost[t], q[t]};
		if (cost[t] > cmax)
			cmax = cost[t];
		if (q[t] >= 0.95 * ms[bi] && (!isfinite(at95) || cost[t] < at95))
			at95 = cost[t], at95q = q[t];
		json_t *share = json_object();
		size_t top = 0;
		for (size_t k = 0; k < K; k++) {
			if (calls[t * K + k])
				json_object_set_new(
				    share, d->models[e->mm[k]],
				    json_real((double)calls[t * K + k] / (double)n));
			if (calls[t * K + k] > calls[t * K + top])
				top = k;
		}
		json_array_append_new(ops,
		                      json_pack("{s:o, s:o, s:o, s:o}", "threshold",
		                                num((double)t / (N_SWEEP - 1)), "quality",
		                                num(q[t]), "cost", num(cost[t]), "calls", share));
		if (!e->o->json && t % 4 == 0)
			printf("  %-10.3f %9.4f    $%.6f  %s %.0f%%\n", (double)t / (N_SWEEP - 1),
			       q[t], cost[t], d->models[e->mm[top]],
			       100.0 * (double)calls[t * K + top] / (double)n);
	}
	for (size_t k = 0; k < K; k++) {
		pts[N_SWEEP + k] = (struct hr_learn_cq){mc[k], ms[k]};
		if (mc[k] > cmax)
			cmax = mc[k];
	}
	double aiq = hr_learn_aiq(pts, N_SWEEP, cmax, e->a);
	double aiq_single = hr_learn_aiq(pts + N_SWEEP, K, cmax, e->a);
	json_t *singles = json_array();
	for (size_t k = 0; k < K; k++)
		json_array_append_new(singles,
		                      json_pack("{s:s, s:o, s:o}", "model", d->models[e->mm[k]],
		                                "quality", num(ms[k]), "cost", num(mc[k])));
	json_object_set_new(j, "models", singles);
	json_object_set_new(j, "n_many", json_integer((json_int_t)n));
	json_object_set_new(j, "aiq", num(aiq));
	json_object_set_new(j, "aiq_best_single_mix", num(aiq_single));
	json_object_set_new(j, "best_model",
	                    json_pack("{s:s, s:o, s:o}", "model", d->models[e->mm[bi]], "quality",
	                              num(ms[bi]), "cost", num(mc[bi])));
	json_object_set_new(j, "cost_share_at_95",
	                    isfinite(at95) && mc[bi] > 0 ? num(at95 / mc[bi]) : json_null());
	json_object_set_new(j, "oracle_quality", num(oq));
	json_object_set_new(j, "oracle_cost", num(oc));
	json_object_set_new(j, "operating_points", ops);
	if (!e->o->json) {
		printf("\n  %zu models with costs (n = %zu)\n", K, n);
		printf("  best single model  %-34s quality %.4f at $%.6f\n", d->models[e->mm[bi]],
		       ms[bi], mc[bi]);
		printf("  oracle             %-34s quality %.4f at $%.6f\n", "", oq, oc);
		printf("  AIQ                %.4f   (best single-model mix %.4f)\n", aiq,
		       aiq_single);
		if (isfinite(at95))
			printf("  at >= 95%% of %s's quality: %.1f%% of its cost (quality %.4f at "
			       "$%.6f)\n",
			       d->models[e->mm[bi]], 100.0 * at95 / mc[bi], at95q, at95);
		else
			printf("  no operating point reaches 95%% of %s's quality\n",
			       d->models[e->mm[bi]]);
	}
	return 0;
}

static int cmd_eval(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts("router eval", argc, argv, &o, false);
	if (rc)
		return rc < 0 ? HR_EXIT_OK : rc;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_learn_data d;
	if (!a || read_data("router eval", a, &o, &d) < 0) {
		hr_arena_destroy(a);
		return HR_EXIT_FAIL;
	}
	struct hr_buf err = HR_BUF_INIT(64 * 1024);
	struct hr_learn_model *m = NULL;
	char path[PATH_MAX + 64];
	const char *mpath = o.router;
	if (!mpath && !o.cv)
		mpath = default_model(path, sizeof path);
	if (mpath && hr_learn_model_load(mpath, &m, &err) < 0) {
		fprintf(stderr, "hearth router eval: %s", err.ptr ? err.ptr : "out of memory\n");
		if (!o.router)
			fprintf(stderr, "hint: give a model with --router MODEL, or rebuild the "
			                "default with `make router-model`\n");
		hr_buf_release(&err);
		hr_arena_destroy(a);
		return HR_EXIT_FAIL;
	}
	struct evalctx e = {.a = a, .o = &o, .d = &d};
	e.is_eval = hr_arena_alloc(a, d.n_rows * sizeof *e.is_eval);
	e.is_extra = hr_arena_alloc(a, d.n_rows * sizeof *e.is_extra);
	e.gain = hr_arena_calloc(a, d.n_rows * sizeof *e.gain);
	e.mm = hr_arena_alloc(a, (d.n_models ? d.n_models : 1) * sizeof *e.mm);
	e.mcost = hr_arena_alloc(a, (d.n_models ? d.n_models : 1) * sizeof *e.mcost);
	rc = HR_EXIT_FAIL;
	if (!e.is_eval || !e.is_extra || !e.gain || !e.mm || !e.mcost)
		goto out;
	size_t n_eval = 0;
	for (size_t i = 0; i < d.n_rows; i++) {
		e.is_extra[i] = false;
		for (size_t x = 0; x < o.n_extra; x++)
			if (strcmp(d.rows[i].file, o.extra[x]) == 0)
				e.is_extra[i] = true;
		e.is_eval[i] = !e.is_extra[i] && (!o.only || in_list(o.only, d.rows[i].task));
		n_eval += e.is_eval[i];
	}
	if (n_eval == 0) {
		fprintf(stderr, "hearth router eval: no rows to measure (check --task)\n");
		goto out;
	}
	/* the two models: flags, else the model's pair, else the data's only two */
	long g = m ? hr_learn_model_gain(m) : -1;
	e.weak = o.weak ? o.weak : g >= 0 ? m->outs[g].weak : NULL;
	e.strong = o.strong ? o.strong : g >= 0 ? m->outs[g].strong : NULL;
	if (!e.weak && d.n_models == 2) {
		double s0 = 0, s1 = 0;
		for (size_t i = 0; i < d.n_rows; i++)
			if (e.is_eval[i])
				s0 += d.rows[i].out[0].score, s1 += d.rows[i].out[1].score;
		e.weak = d.models[s0 <= s1 ? 0 : 1];
		e.strong = d.models[s0 <= s1 ? 1 : 0];
	}
	if (e.weak) {
		e.n_wi = hr_learn_names_resolve(&d, e.weak, e.wi, MAX_ALIASES);
		e.n_si = hr_learn_names_resolve(&d, e.strong, e.si, MAX_ALIASES);
		if (!e.n_wi || !e.n_si) {
			fprintf(stderr, "hearth router eval: the data has no model named '%s'\n",
			        !e.n_wi ? e.weak : e.strong);
			fprintf(stderr, "hint: the data's models:");
			for (size_t k = 0; k < d.n_models; k++)
				fprintf(stderr, " '%s'", d.models[k]);
			fprintf(stderr, "\n");
			goto out;
		}
		e.two = true;
	}
	/* many models: those with costs that the router knows (all of them for --cv) */
	for (size_t k = 0; k < d.n_models; k++) {
		double c = 0;
		size_t nc = 0;
		for (size_t i = 0; i < d.n_rows; i++)
			if (e.is_eval[i] && d.rows[i].out[k].has_cost)
				c += d.rows[i].out[k].cost, nc++;
		long out_k = m ? hr_learn_model_output(m, d.models[k]) : -1;
		if (!nc || (!o.cv && out_k < 0))
			continue;
		e.mcost[e.n_mm] = !o.cv && m->outs[out_k].mean_cost >= 0 ? m->outs[out_k].mean_cost
		                                                         : c / (double)nc;
		e.mm[e.n_mm++] = k;
	}
	if (e.n_mm < 3)
		e.n_mm = 0; /* two models: the curve's operating points say it all */
	if (!e.two && !e.n_mm) {
		fprintf(stderr,
		        "hearth router eval: nothing to measure: name the two models with --weak "
		        "and --strong, or give data with three or more models with costs that "
		        "the router has outputs for\n");
		goto out;
	}
	e.probs = hr_arena_calloc(a, d.n_rows * (e.n_mm ? e.n_mm : 1) * sizeof *e.probs);
	if (!e.probs)
		goto out;
	unsigned folds = 0;
	size_t ntasks = 0;
	struct hr_learn_fconf fc = m ? m->fc : o.fc;
	struct hr_learn_hparams hp = m ? m->hp : o.hp;
	if (o.set_fc)
		fc = o.fc;
	if (o.set_seed)
		hp.seed = o.hp.seed;
	if (o.set_bar)
		hp.bar = o.hp.bar;
	if (o.set_epochs)
		hp.epochs = o.hp.epochs;
	if (o.set_lr)
		hp.lr = o.hp.lr;
	if (o.set_l2)
		hp.l2 = o.hp.l2;
	if (o.set_target)
		hp.target = o.hp.target;
	if (o.cv) {
		if (run_cv(&e, &fc, &hp, &folds, &ntasks) < 0)
			goto out;
	} else {
		if (e.two) {
			long gg, pw, ps;
			if (!gain_source(m, &e, &gg, &pw, &ps)) {
				fprintf(stderr,
				        "hearth router eval: the model has no output for '%s' and "
				        "'%s' and no weak/strong pair\nhint: train one with --weak "
				        "and --strong, or use --cv task\n",
				        e.weak, e.strong);
				goto out;
			}
		}
		if (score_rows(&e, e.two ? m : NULL, e.n_mm ? m : NULL, e.is_eval) < 0)
			goto out;
	}
	json_t *j = json_object();
	char h[17];
	hex8(d.sha256, h);
	if (!o.json) {
		printf("data       %zu rows to measure, %zu models (sha256 %s...)\n", n_eval,
		       d.n_models, h);
		if (o.cv)
			printf("router     cross-validated: %u folds holding out whole tasks (%zu "
			       "tasks), %s\n",
			       folds, ntasks,
			       o.router ? "settings of --router" : "default settings");
		else
			printf("router     %s\n", mpath);
	}
	json_object_set_new(j, "n", json_integer((json_int_t)n_eval));
	json_object_set_new(j, "data_sha256_prefix", json_string(h));
	if (o.cv)
		json_object_set_new(j, "cv",
		                    json_pack("{s:s, s:i, s:I}", "by", "task", "folds", (int)folds,
		                              "tasks", (json_int_t)ntasks));
	if (e.n_mm && many_models(&e, j) < 0) {
		json_decref(j);
		goto out;
	}
	if (e.two && two_model(&e, j) < 0) {
		json_decref(j);
		goto out;
	}
	if (o.json) {
		char *txt = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
		if (txt)
			printf("%s\n", txt);
		free(txt);
	}
	json_decref(j);
	rc = HR_EXIT_OK;
out:
	hr_buf_release(&err);
	hr_learn_model_free(m);
	hr_arena_destroy(a);
	return rc;
}

int hr_cmd_router(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		help_router();
		return argc < 2 ? HR_EXIT_USAGE : HR_EXIT_OK;
	}
	if (strcmp(argv[1], "train") == 0)
		return cmd_train(argc - 1, argv + 1);
	if (strcmp(argv[1], "eval") == 0)
		return cmd_eval(argc - 1, argv + 1);
	if (strcmp(argv[1], "status") == 0)
		return hr_cmd_router_status(argc - 1, argv + 1);
	if (strcmp(argv[1], "export") == 0)
		return hr_cmd_router_export(argc - 1, argv + 1);
	return hr_cli_usage_error("router", "the subcommands are train, eval, status and export");
}
