/* learn.c - `hearth router status` and `hearth router export`: what learning online has
 * gathered in storage (kept prompts, judge and feedback scores, promotions), read-only. The
 * export is the outcome format of docs/router.md, so `hearth router train --from-usage`
 * (router.c) trains on the same rows. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/learn.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "learn/learn.h"
#include "storage/store.h"

/* ---- export ---- */

struct export_ctx {
	struct hr_buf *out;
	size_t rows;
	int err;
};

/* One outcome row: per model, a user's feedback beats the judge's score. */
static int export_row(void *arg, const struct hr_learn_sample *s)
{
	struct export_ctx *x = arg;
	json_t *outcomes = json_object();
	for (size_t pass = 0; pass < 2 && outcomes; pass++)
		for (size_t i = 0; i < s->n_scores; i++) {
			bool fb = strcmp(s->scores[i].source, "feedback") == 0;
			if (fb != (pass == 1))
				continue; /* judges first, then feedback over them */
			json_object_set_new(outcomes, s->scores[i].model,
			                    json_pack("{s:f}", "score", s->scores[i].score));
		}
	json_t *row = outcomes ? json_pack("{s:s, s:s, s:s, s:o}", "id", s->request_id, "prompt",
	                                   s->prompt, "task", s->task, "outcomes", outcomes)
	                       : NULL;
	char *line = row ? json_dumps(row, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
	if (!line || hr_buf_addstr(x->out, line) < 0 || hr_buf_addch(x->out, '\n') < 0)
		x->err = line ? HR_ETOOBIG : HR_ENOMEM;
	else
		x->rows++;
	free(line);
	json_decref(row);
	return x->err;
}

int hr_cli_learn_export(struct hr_store *st, const char *task, struct hr_buf *out, size_t *rows)
{
	struct export_ctx x = {.out = out};
	int rc = st->ops->learn_scan(st, task, export_row, &x);
	*rows = x.rows;
	return rc < 0 ? rc : x.err;
}

static void help_export(void)
{
	printf("usage: hearth router export [--task T] [--out FILE] [--config FILE]\n\n"
	       "Writes what learning online gathered (kept prompts with their judge and\n"
	       "feedback scores) as outcome data, JSON Lines (docs/router.md); a user's\n"
	       "feedback replaces the judge's score of the same model.\n\n"
	       "  -t, --task T       only this task's rows\n"
	       "  -o, --out FILE     write there (default: standard output)\n"
	       "  -c, --config FILE  the config whose data directory to read\n"
	       "  -h, --help         this help\n");
}

int hr_cmd_router_export(int argc, char **argv)
{
	static const struct option lo[] = {{"task", required_argument, NULL, 't'},
	                                   {"out", required_argument, NULL, 'o'},
	                                   {"config", required_argument, NULL, 'c'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	const char *task = NULL, *out = NULL, *config = NULL;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:o:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': task = optarg; break;
		case 'o': out = optarg; break;
		case 'c': config = optarg; break;
		case 'h': help_export(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("router export", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("router export", "unexpected argument");
	struct hr_store *st = NULL;
	if (hr_cli_open_store("router export", config, &st) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	struct hr_buf b = HR_BUF_INIT(HR_LEARN_EXPORT_MAX);
	size_t rows = 0;
	int rc = hr_cli_learn_export(st, task, &b, &rows);
	st->ops->close(st);
	FILE *f = rc == 0 ? (out ? fopen(out, "w") : stdout) : NULL;
	if (rc == 0 && (!f || (b.len && fwrite(b.ptr, 1, b.len, f) != b.len) ||
	                (out && fclose(f) != 0))) {
		fprintf(stderr, "hearth router export: cannot write '%s'\n", out ? out : "stdout");
		rc = HR_EIO;
	}
	if (rc < 0 && rc != HR_EIO)
		fprintf(stderr, "hearth router export: %s\n", hr_err_msg(rc));
	if (rc == 0)
		fprintf(stderr, "hearth router export: %zu rows%s%s\n", rows, out ? " -> " : "",
		        out ? out : "");
	hr_buf_release(&b);
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}

/* ---- status ---- */

struct model_score {
	char model[HR_NAME_MAX + 1];
	size_t n;
	double sum;
};

struct status_ctx {
	const struct hr_conf_task *t;
	struct hr_learn_pairs pairs;
	struct model_score fb[32];
	size_t n_fb;
	size_t samples;
};

static int status_row(void *arg, const struct hr_learn_sample *s)
{
	struct status_ctx *x = arg;
	double c, r;
	x->samples++;
	for (size_t i = 0; i < s->n_scores; i++) {
		const struct hr_learn_score *sc = &s->scores[i];
		if (strcmp(sc->source, "judge") == 0)
			continue;
		size_t k = 0;
		while (k < x->n_fb && strcmp(x->fb[k].model, sc->model) != 0)
			k++;
		if (k == x->n_fb && x->n_fb < sizeof x->fb / sizeof x->fb[0])
			snprintf(x->fb[x->n_fb++].model, sizeof x->fb[0].model, "%s", sc->model);
		if (k < x->n_fb) {
			x->fb[k].n++;
			x->fb[k].sum += sc->score;
		}
	}
	if (x->t->challenger && x->t->reference &&
	    hr_learn_sample_pair(s, x->t->challenger, x->t->reference, &c, &r))
		hr_learn_pairs_add(&x->pairs, c, r);
	return 0;
}

struct promo_find {
	const char *task;
	char model[HR_NAME_MAX + 1];
	char detail[512];
	int64_t ts_ms;
};

static int promo_row(void *arg, const struct hr_promotion *p)
{
	struct promo_find *f = arg;
	if (strcmp(p->task, f->task) == 0) {
		snprintf(f->model, sizeof f->model, "%s", p->model);
		snprintf(f->detail, sizeof f->detail, "%s", p->detail);
		f->ts_ms = p->ts_ms;
	}
	return 0;
}

static json_t *task_status(struct hr_store *st, const struct hr_conf_task *t, int *rc)
{
	struct status_ctx x = {.t = t};
	struct promo_find pf = {.task = t->name};
	struct hr_learn_pair_stats ps;
	double spent = 0;
	time_t now = time(NULL);
	*rc = st->ops->learn_scan(st, t->name, status_row, &x);
	if (*rc == 0)
		*rc = st->ops->promotion_scan(st, promo_row, &pf);
	if (*rc == 0)
		*rc = st->ops->usage_spent_internal(st, t->name, (int64_t)(now / 86400) * 86400000,
		                                    &spent);
	if (*rc < 0)
		return NULL;
	hr_learn_pairs_stats(&x.pairs, &ps);
	enum hr_learn_verdict v =
	    hr_learn_promote_verdict(&ps, (size_t)t->promote_min_samples, t->promote_margin);
	json_t *fb = json_array();
	for (size_t i = 0; i < x.n_fb && fb; i++)
		json_array_append_new(fb, json_pack("{s:s, s:I, s:f}", "model", x.fb[i].model, "n",
		                                    (json_int_t)x.fb[i].n, "mean",
		                                    x.fb[i].sum / (double)x.fb[i].n));
	return json_pack(
	    "{s:s, s:s?, s:s?, s:s?, s:f, s:f, s:f, s:b, s:s?, s:I, s:{s:I, s:f, s:f, s:f, s:f, s:f, "
	    "s:f, s:f}, s:s, s:o}",
	    "task", t->name, "challenger", t->challenger, "reference", t->reference, "judge",
	    t->judge, "shadow_sample", t->shadow_sample, "shadow_budget_usd", t->shadow_budget_usd,
	    "shadow_spent_today_usd", spent, "auto_promote", t->auto_promote, "promoted",
	    pf.model[0] ? pf.model : NULL, "samples", (json_int_t)x.samples, "judged", "n",
	    (json_int_t)ps.n, "challenger_mean", ps.challenger, "challenger_ci95", ps.challenger_ci,
	    "reference_mean", ps.reference, "reference_ci95", ps.reference_ci, "diff", ps.diff,
	    "diff_lo", ps.diff_lo, "diff_hi", ps.diff_hi, "verdict",
	    ps.n < (size_t)t->promote_min_samples ? "too few samples" : hr_learn_verdict_name(v),
	    "feedback", fb);
}

static void print_task(const json_t *j)
{
	const json_t *jd = json_object_get(j, "judged");
	printf("task %s: challenger %s vs reference %s (judge %s)\n",
	       json_string_value(json_object_get(j, "task")),
	       json_string_value(json_object_get(j, "challenger"))
	           ? json_string_value(json_object_get(j, "challenger"))
	           : "-",
	       json_string_value(json_object_get(j, "reference"))
	           ? json_string_value(json_object_get(j, "reference"))
	           : "-",
	       json_string_value(json_object_get(j, "judge"))
	           ? json_string_value(json_object_get(j, "judge"))
	           : "none");
	long long n = (long long)json_integer_value(json_object_get(jd, "n"));
	if (n > 0)
		printf("  judged pairs %lld: challenger %.3f ± %.3f, reference %.3f ± %.3f, "
		       "difference %+.3f [%+.3f, %+.3f] (95%%): %s\n",
		       n, json_real_value(json_object_get(jd, "challenger_mean")),
		       json_real_value(json_object_get(jd, "challenger_ci95")),
		       json_real_value(json_object_get(jd, "reference_mean")),
		       json_real_value(json_object_get(jd, "reference_ci95")),
		       json_real_value(json_object_get(jd, "diff")),
		       json_real_value(json_object_get(jd, "diff_lo")),
		       json_real_value(json_object_get(jd, "diff_hi")),
		       json_string_value(json_object_get(j, "verdict")));
	else
		printf("  judged pairs 0 (shadow_sample %.2f)\n",
		       json_real_value(json_object_get(j, "shadow_sample")));
	size_t i;
	json_t *f;
	json_array_foreach(json_object_get(j, "feedback"), i, f)
	    printf("  feedback on %s: %lld, mean %.3f\n",
	           json_string_value(json_object_get(f, "model")),
	           (long long)json_integer_value(json_object_get(f, "n")),
	           json_real_value(json_object_get(f, "mean")));
	const char *pm = json_string_value(json_object_get(j, "promoted"));
	printf("  kept prompts %lld; shadow spend today $%.4f of $%.2f; auto_promote %s%s%s\n",
	       (long long)json_integer_value(json_object_get(j, "samples")),
	       json_real_value(json_object_get(j, "shadow_spent_today_usd")),
	       json_real_value(json_object_get(j, "shadow_budget_usd")),
	       json_is_true(json_object_get(j, "auto_promote")) ? "on" : "off",
	       pm ? ", promoted: " : "", pm ? pm : "");
}

static void help_status(void)
{
	printf("usage: hearth router status [--task T] [--json] [--config FILE]\n\n"
	       "Per task with a challenger: the judged pairs of shadow evaluation (mean scores\n"
	       "with 95%% confidence intervals, the difference and auto_promote's verdict),\n"
	       "feedback per model, kept prompts, today's shadow spend and the promotion.\n\n"
	       "  -t, --task T       only this task\n"
	       "      --json         one JSON object: {\"tasks\": [...]}\n"
	       "  -c, --config FILE  the config (tasks, and the data directory to read)\n"
	       "  -h, --help         this help\n");
}

int hr_cmd_router_status(int argc, char **argv)
{
	static const struct option lo[] = {{"task", required_argument, NULL, 't'},
	                                   {"json", no_argument, NULL, 'j'},
	                                   {"config", required_argument, NULL, 'c'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {NULL, 0, NULL, 0}};
	const char *task = NULL, *config = NULL;
	bool json = false;
	int c;
	opterr = 0;
	optind = 1;
	while ((c = getopt_long(argc, argv, "t:c:h", lo, NULL)) != -1) {
		switch (c) {
		case 't': task = optarg; break;
		case 'j': json = true; break;
		case 'c': config = optarg; break;
		case 'h': help_status(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("router status", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("router status", "unexpected argument");
	struct hr_conf *conf = NULL;
	if (hr_cli_load_conf(config, &conf) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	if (task && !hr_conf_task_find(conf, task, strlen(task))) {
		fprintf(stderr, "hearth router status: no task '%s' in the config\n", task);
		hr_conf_release(conf);
		return HR_EXIT_FAIL;
	}
	struct hr_store *st = NULL;
	if (hr_cli_open_store("router status", config, &st) != HR_EXIT_OK) {
		hr_conf_release(conf);
		return HR_EXIT_FAIL;
	}
	json_t *tasks = json_array();
	int rc = tasks ? 0 : HR_ENOMEM;
	for (size_t i = 0; i < conf->n_tasks && rc == 0; i++) {
		const struct hr_conf_task *t = &conf->tasks[i];
		if ((task && strcmp(t->name, task) != 0) || (!task && !t->challenger))
			continue;
		json_t *j = task_status(st, t, &rc);
		if (j && !json)
			print_task(j);
		if (j)
			json_array_append_new(tasks, j);
		else if (rc == 0)
			rc = HR_ENOMEM;
	}
	if (rc == 0 && json) {
		json_t *root = json_pack("{s:O}", "tasks", tasks);
		char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
		if (s)
			printf("%s\n", s);
		else
			rc = HR_ENOMEM;
		free(s);
		json_decref(root);
	} else if (rc == 0 && json_array_size(tasks) == 0) {
		printf("no task has a challenger (two candidates, or tasks.<name>.challenger); "
		       "see docs/router.md#learning-online\n");
	}
	if (rc < 0)
		fprintf(stderr, "hearth router status: %s\n", hr_err_msg(rc));
	json_decref(tasks);
	st->ops->close(st);
	hr_conf_release(conf);
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}
