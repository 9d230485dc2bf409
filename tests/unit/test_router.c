/* test_router.c - the router as pure functions (src/router/): plan() over hand-built configs
 * (strategies, constraints, task resolution), the X-Hearth-Route text, the circuit breaker
 * with a fake clock, the request features, and which errors are retried. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/nametab.h"
#include "router/router.h"

/* ---- fixture: two providers, seven models, tasks and rules added per test ---- */

#define MAXT 8

struct fake_live {
	const char *name;
	struct hr_model_live lv;
};

static struct {
	struct hr_conf_provider local, cloud;
	struct hr_conf_model models[64];
	struct hr_conf_task tasks[MAXT];
	const char *cands[MAXT][HR_MAX_TASK_CANDIDATES];
	double weights[MAXT][HR_MAX_TASK_CANDIDATES];
	struct hr_conf_rule rules[MAXT];
	char names[64][16];
	struct hr_conf c;
	struct fake_live live[16];
	size_t n_live;
	struct hr_arena *a;
	struct hr_plan p;
	const char *msg;
	struct hr_features f;
	char promoted_task[32], promoted[32]; /* the live state's promotion, if [0] */
} fx;

static void model(const char *name, bool cloud, double in, double out, long ctx, bool tools,
                  bool vision, bool json, bool emb)
{
	struct hr_conf_model *m = &fx.models[fx.c.n_models++];
	*m = (struct hr_conf_model){.name = name,
	                            .upstream = name,
	                            .provider = cloud ? &fx.cloud : &fx.local,
	                            .input_price_per_mtok = in,
	                            .output_price_per_mtok = out,
	                            .context_window = ctx,
	                            .tools = tools,
	                            .vision = vision,
	                            .json_mode = json,
	                            .embeddings = emb};
}

static int setup(void **state)
{
	(void)state;
	hr_log_setup(HR_LOG_LVL_ERROR, HR_LOG_TEXT); /* the breaker logs its state changes */
	memset(&fx, 0, sizeof fx);
	fx.local =
	    (struct hr_conf_provider){.id = "ollama", .kind = "ollama", .locality = HR_LOCAL};
	fx.cloud =
	    (struct hr_conf_provider){.id = "openai", .kind = "openai", .locality = HR_CLOUD};
	fx.c.models = fx.models;
	fx.c.tasks = fx.tasks;
	fx.c.rules = fx.rules;
	/*    name           cloud  in    out   ctx     tools  vision json   emb */
	model("llama3", false, 0, 0, 8192, true, false, true, false);
	model("qwen", false, 0, 0, 32768, true, true, true, false);
	model("tiny", false, 0, 0, 2048, false, false, false, false);
	model("gpt-4o", true, 2.5, 10, 128000, true, true, true, false);
	model("gpt-4o-mini", true, 0.15, 0.6, 128000, true, true, true, false);
	model("claude", true, 3, 15, 200000, true, true, false, false);
	model("embed", false, 0, 0, 8192, false, false, false, true);
	fx.f.max_tokens = -1;
	fx.f.p_strong = -1;
	fx.a = hr_arena_create(0);
	return fx.a ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	hr_arena_destroy(fx.a);
	return 0;
}

/* Adds a task of the NULL-terminated candidates. */
static struct hr_conf_task *task(const char *name, enum hr_strategy s, bool local_only, ...)
{
	size_t i = fx.c.n_tasks++;
	struct hr_conf_task *t = &fx.tasks[i];
	*t = (struct hr_conf_task){.name = name,
	                           .candidates = fx.cands[i],
	                           .strategy = s,
	                           .local_only = local_only,
	                           .max_retries = 1,
	                           .fallback = true};
	va_list ap;
	va_start(ap, local_only);
	for (const char *c; (c = va_arg(ap, const char *));)
		fx.cands[i][t->n_candidates++] = c;
	va_end(ap);
	return t;
}

/* Adds a rule picking task, with every condition unset. */
static struct hr_conf_rule *rule(const char *t)
{
	struct hr_conf_rule *r = &fx.rules[fx.c.n_rules++];
	*r = (struct hr_conf_rule){.task = t,
	                           .has_images = -1,
	                           .needs_tools = -1,
	                           .json_mode = -1,
	                           .contains_code = -1,
	                           .sensitive = -1,
	                           .min_tokens = -1,
	                           .max_tokens = -1};
	return r;
}

static void set_live(const char *name, bool open, int inflight, int maxc)
{
	fx.live[fx.n_live++] = (struct fake_live){
	    name, {.breaker_open = open, .inflight = inflight, .max_concurrency = maxc}};
}

static void get_live(void *ctx, const struct hr_conf_model *m, struct hr_model_live *out)
{
	(void)ctx;
	for (size_t i = 0; i < fx.n_live; i++)
		if (strcmp(fx.live[i].name, m->name) == 0)
			*out = fx.live[i].lv;
}

static const char *get_promoted(void *ctx, const char *task, char *buf, size_t cap)
{
	(void)ctx;
	if (strcmp(task, fx.promoted_task) != 0)
		return NULL;
	snprintf(buf, cap, "%s", fx.promoted);
	return buf;
}

static int plan_h(const char *model_asked, const char *header)
{
	struct hr_route_in in = {model_asked, header, &fx.f};
	struct hr_live live = {.get = get_live, .promoted = fx.promoted[0] ? get_promoted : NULL};
	fx.msg = NULL;
	return hr_route_plan(fx.a, &fx.c, &in, &live, &fx.p, &fx.msg);
}

static int plan(const char *model_asked)
{
	return plan_h(model_asked, NULL);
}

/* "a,b,c": the candidates in order. */
static const char *cands(void)
{
	static char s[1024];
	size_t n = 0;
	s[0] = '\0';
	for (size_t i = 0; i < fx.p.n; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "%s%s", i ? "," : "",
		                      fx.p.cands[i]->name);
	return s;
}

/* "a:why,b:why": the skips in order. */
static const char *skips(void)
{
	static char s[2048];
	size_t n = 0;
	s[0] = '\0';
	for (size_t i = 0; i < fx.p.n_skipped; i++)
		n += (size_t)snprintf(s + n, sizeof s - n, "%s%s:%s", i ? "," : "",
		                      fx.p.skipped[i].m->name, fx.p.skipped[i].why);
	return s;
}

static const char *explain(long chosen, size_t max)
{
	static char s[2048];
	struct hr_buf b = HR_BUF_INIT(4096);
	assert_int_equal(hr_route_explain(&fx.p, chosen, max, &b), 0);
	assert_true(b.len <= max);
	snprintf(s, sizeof s, "%s", b.ptr ? b.ptr : "");
	hr_buf_release(&b);
	return s;
}

/* Fails naming the table case when got (NULL: none) is not want (NULL: none). */
static void check_str(const char *name, const char *got, const char *want)
{
	if (!got != !want || (got && strcmp(got, want) != 0))
		fail_msg("case '%s': got '%s', want '%s'", name, got ? got : "(null)",
		         want ? want : "(null)");
}

/* ---- strategies ---- */

static void test_ordered(void **state)
{
	(void)state;
	const struct hr_conf_task *t =
	    task("t", HR_STRAT_ORDERED, false, "gpt-4o", "llama3", "qwen", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,llama3,qwen");
	assert_int_equal(fx.p.n_skipped, 0);
	assert_ptr_equal(fx.p.t, t);
	assert_string_equal(fx.p.task, "t");
	assert_int_equal(fx.p.via, HR_VIA_TASK);
	assert_int_equal(fx.p.strategy, HR_STRAT_ORDERED);
	assert_false(fx.p.local_only);
	assert_null(fx.msg);
}

static void test_cheapest(void **state)
{
	(void)state;
	task("t", HR_STRAT_CHEAPEST, false, "claude", "gpt-4o", "gpt-4o-mini", "qwen", "llama3",
	     NULL);
	assert_int_equal(plan("task:t"), 0);
	/* qwen and llama3 both cost 0: the listed order stays */
	assert_string_equal(cands(), "qwen,llama3,gpt-4o-mini,gpt-4o,claude");
	assert_int_equal(fx.p.strategy, HR_STRAT_CHEAPEST);
}

static void test_cheapest_ties_keep_listed_order(void **state)
{
	(void)state;
	fx.models[3].input_price_per_mtok = 0.15; /* gpt-4o costs what gpt-4o-mini costs */
	fx.models[3].output_price_per_mtok = 0.6;
	task("t", HR_STRAT_CHEAPEST, false, "gpt-4o", "claude", "gpt-4o-mini", "llama3", "tiny",
	     NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,tiny,gpt-4o,gpt-4o-mini,claude");
	fx.c.n_tasks = 0;
	task("t", HR_STRAT_CHEAPEST, false, "gpt-4o-mini", "tiny", "gpt-4o", "llama3", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "tiny,llama3,gpt-4o-mini,gpt-4o");
}

static void test_cheapest_skips_incapable(void **state)
{
	(void)state;
	task("t", HR_STRAT_CHEAPEST, false, "gpt-4o", "tiny", "gpt-4o-mini", NULL);
	fx.f.needs_tools = true;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o-mini,gpt-4o");
	assert_string_equal(skips(), "tiny:no tools");
}

static void test_balanced_inflight_and_weights(void **state)
{
	(void)state;
	struct hr_conf_task *t =
	    task("t", HR_STRAT_BALANCED, false, "llama3", "qwen", "tiny", NULL);
	t->weights = fx.weights[0];
	fx.weights[0][0] = 1;
	fx.weights[0][1] = 2;
	fx.weights[0][2] = 1;
	set_live("llama3", false, 4, 0); /* 4 per weight */
	set_live("qwen", false, 4, 0);   /* 2 per weight */
	set_live("tiny", false, 3, 0);   /* 3 per weight */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "qwen,tiny,llama3");
	assert_int_equal(fx.p.strategy, HR_STRAT_BALANCED);

	/* a heavier weight takes more load before it yields */
	fx.n_live = 0;
	fx.weights[0][1] = 4;
	set_live("llama3", false, 1, 0); /* 1 */
	set_live("qwen", false, 3, 0);   /* 0.75 */
	set_live("tiny", false, 0, 0);   /* 0 */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "tiny,qwen,llama3");
}

static void test_balanced_ties_and_default_weights(void **state)
{
	(void)state;
	task("t", HR_STRAT_BALANCED, false, "tiny", "llama3", "qwen", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "tiny,llama3,qwen"); /* all idle: as listed */
	set_live("tiny", false, 2, 0);
	set_live("llama3", false, 1, 0);
	set_live("qwen", false, 1, 0);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen,tiny"); /* weights NULL: all 1 */
}

static void test_cascade_local_first(void **state)
{
	(void)state;
	task("t", HR_STRAT_CASCADE, false, "gpt-4o", "llama3", "claude", "qwen", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen,gpt-4o,claude");
	assert_string_equal(explain(0, 512), "task=t; via=task; strategy=cascade; model=llama3");
}

static void test_learned(void **state)
{
	(void)state;
	struct hr_conf_task *t =
	    task("t", HR_STRAT_LEARNED, false, "gpt-4o", "llama3", "gpt-4o-mini", NULL);
	t->threshold = 0.5;
	/* no prediction (no model loaded): as listed, and the explanation says why */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,llama3,gpt-4o-mini");
	assert_string_equal(explain(1, 512),
	                    "task=t; via=task; strategy=learned:no_model:ordered; model=llama3");
	/* a strong model unlikely to be needed: the cheapest first */
	fx.f.p_strong = 0.2;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,gpt-4o-mini,gpt-4o");
	assert_true(fx.p.p_strong == 0.2 && !fx.p.strong_first);
	assert_string_equal(
	    explain(0, 512),
	    "task=t; via=task; strategy=learned:p_strong=0.20:cheap_first; model=llama3");
	/* likely needed (at the threshold counts): the priciest first */
	fx.f.p_strong = 0.5;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,gpt-4o-mini,llama3");
	assert_true(fx.p.strong_first);
	/* the task's threshold decides */
	t->threshold = 0.9;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,gpt-4o-mini,gpt-4o");
	/* constraints still hold: sensitive keeps only the local one, whatever the prediction */
	fx.f.p_strong = 0.99;
	fx.f.sensitive = true;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3");
}

/* Tiers place the operator's models on the shipped model's scale: P(good) = (1 - p)^e. */
static void test_learned_tiers(void **state)
{
	(void)state;
	struct hr_conf_task *t =
	    task("t", HR_STRAT_LEARNED, false, "gpt-4o", "llama3", "gpt-4o-mini", NULL);
	for (size_t i = 0; i < fx.c.n_models; i++) {
		if (strcmp(fx.models[i].name, "llama3") == 0)
			fx.models[i].tier = HR_TIER_SMALL;
		if (strcmp(fx.models[i].name, "gpt-4o-mini") == 0)
			fx.models[i].tier = HR_TIER_MEDIUM;
		if (strcmp(fx.models[i].name, "gpt-4o") == 0)
			fx.models[i].tier = HR_TIER_FRONTIER;
	}
	t->quality_target = 0.6;
	fx.f.p_strong = 0.1; /* small 0.81, medium 0.9: every one is good enough */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,gpt-4o-mini,gpt-4o");
	assert_false(fx.p.strong_first);
	fx.f.p_strong = 0.3; /* small 0.49 falls short, medium 0.7 does not */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o-mini,gpt-4o,llama3");
	assert_true(fx.p.strong_first);
	fx.f.p_strong = 0.5; /* medium 0.5 is not above 0.6: the frontier one, then the likeliest */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,gpt-4o-mini,llama3");
	/* without quality_target the threshold stands in: target = 1 - threshold */
	t->quality_target = 0;
	t->threshold = 0.4; /* target 0.6 again */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,gpt-4o-mini,llama3");
	assert_true(fabs(hr_route_p_good(0.5, HR_TIER_LARGE) - sqrt(0.5)) < 1e-12);
	assert_true(hr_route_p_good(0.9, HR_TIER_FRONTIER) == 1);
	assert_true(fabs(hr_route_p_good(0.5, HR_TIER_SMALL) - 0.25) < 1e-12);
}

static void test_promoted_goes_first(void **state)
{
	(void)state;
	struct hr_conf_task *t = task("t", HR_STRAT_ORDERED, false, "gpt-4o", "llama3", NULL);
	snprintf(fx.promoted_task, sizeof fx.promoted_task, "t");
	snprintf(fx.promoted, sizeof fx.promoted, "llama3");
	/* promotions count only while the task allows them */
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o,llama3");
	t->auto_promote = true;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,gpt-4o");
	assert_string_equal(explain(0, 512),
	                    "task=t; via=task; strategy=ordered:promoted=llama3; model=llama3");
	/* a promoted model the plan cannot use is not forced in */
	set_live("llama3", true, 0, 0);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o");
	assert_null(fx.p.promoted);
	/* another task's promotion does not apply */
	task("u", HR_STRAT_ORDERED, false, "gpt-4o", "qwen", NULL)->auto_promote = true;
	assert_int_equal(plan("task:u"), 0);
	assert_string_equal(cands(), "gpt-4o,qwen");
}

/* ---- constraints ---- */

struct cons_case {
	const char *name;
	bool tools, images, json, sensitive;
	int64_t est;
	long max_tokens;
	const char *want_cands, *want_skips;
};

static void test_constraints_table(void **state)
{
	(void)state;
	static const struct cons_case cases[] = {
	    {"none", 0, 0, 0, 0, 10, -1, "tiny,llama3,qwen,gpt-4o,claude", ""},
	    {"tools", 1, 0, 0, 0, 10, -1, "llama3,qwen,gpt-4o,claude", "tiny:no tools"},
	    {"vision", 0, 1, 0, 0, 10, -1, "qwen,gpt-4o,claude", "tiny:no vision,llama3:no vision"},
	    {"json", 0, 0, 1, 0, 10, -1, "llama3,qwen,gpt-4o",
	     "tiny:no JSON mode,claude:no JSON mode"},
	    {"tools first", 1, 1, 1, 0, 10, -1, "qwen,gpt-4o",
	     "tiny:no tools,llama3:no vision,claude:no JSON mode"},
	    {"sensitive", 0, 0, 0, 1, 10, -1, "tiny,llama3,qwen",
	     "gpt-4o:sensitive request, cloud model,claude:sensitive request, cloud model"},
	    {"locality before capability", 0, 0, 1, 1, 10, -1, "llama3,qwen",
	     "tiny:no JSON mode,gpt-4o:sensitive request, cloud model,"
	     "claude:sensitive request, cloud model"}, /* claude has no JSON mode either */
	    {"ctx: prompt alone", 0, 0, 0, 0, 2049, -1, "llama3,qwen,gpt-4o,claude",
	     "tiny:context window too small"},
	    {"ctx: prompt fits exactly", 0, 0, 0, 0, 2048, -1, "tiny,llama3,qwen,gpt-4o,claude",
	     ""},
	    {"ctx: prompt + max_tokens", 0, 0, 0, 0, 2000, 49, "llama3,qwen,gpt-4o,claude",
	     "tiny:context window too small"},
	    {"ctx: max_tokens 0 counts 0", 0, 0, 0, 0, 2048, 0, "tiny,llama3,qwen,gpt-4o,claude",
	     ""},
	    {"ctx: big", 0, 0, 0, 0, 30000, 4000, "gpt-4o,claude",
	     "tiny:context window too small,llama3:context window too small,"
	     "qwen:context window too small"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct cons_case *k = &cases[i];
		fx.c.n_tasks = 0;
		task("t", HR_STRAT_ORDERED, false, "tiny", "llama3", "qwen", "gpt-4o", "claude",
		     NULL);
		fx.f = (struct hr_features){.needs_tools = k->tools,
		                            .has_images = k->images,
		                            .json_mode = k->json,
		                            .sensitive = k->sensitive,
		                            .est_tokens = k->est,
		                            .max_tokens = k->max_tokens};
		assert_int_equal(plan("task:t"), 0);
		check_str(k->name, cands(), k->want_cands);
		check_str(k->name, skips(), k->want_skips);
		assert_int_equal(fx.p.local_only, k->sensitive);
	}
}

static void test_embedding_model_in_a_task(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, false, "embed", "llama3", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3");
	assert_string_equal(skips(), "embed:embedding model");
	assert_int_equal(plan("embed"), HR_EUNAVAIL);
	assert_string_equal(fx.msg, "no model can take this request: embed (embedding model)");
}

static void test_local_only_task(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, true, "gpt-4o", "llama3", "claude", "qwen", NULL);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen");
	assert_string_equal(skips(), "gpt-4o:cloud model for a local-only task,"
	                             "claude:cloud model for a local-only task");
	assert_true(fx.p.local_only);
	/* both a local-only task and a sensitive request: the task's reason */
	fx.f.sensitive = true;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(skips(), "gpt-4o:cloud model for a local-only task,"
	                             "claude:cloud model for a local-only task");
}

static void test_local_only_never_cloud_when_locals_down(void **state)
{
	(void)state;
	task("t", HR_STRAT_CHEAPEST, true, "gpt-4o", "llama3", "qwen", NULL);
	set_live("llama3", true, 0, 0);
	set_live("qwen", true, 0, 0);
	assert_int_equal(plan("task:t"), HR_EUNAVAIL);
	assert_int_equal(fx.p.n, 0);
	assert_string_equal(fx.msg, "no model can take this request: gpt-4o (cloud model for a "
	                            "local-only task), llama3 (breaker open), qwen (breaker open)");
	assert_string_equal(explain(-1, 512),
	                    "task=t; via=task; strategy=cheapest; skipped=gpt-4o:cloud model for "
	                    "a local-only task,llama3:breaker open,qwen:breaker open");
}

static void test_sensitive_never_cloud_when_locals_down(void **state)
{
	(void)state;
	/* the built-in auto: every chat model, cloud ones included */
	fx.f.sensitive = true;
	set_live("llama3", true, 0, 0);
	set_live("qwen", true, 0, 0);
	set_live("tiny", true, 0, 0);
	assert_int_equal(plan("auto"), HR_EUNAVAIL);
	assert_int_equal(fx.p.n, 0);
	assert_string_equal(fx.msg,
	                    "no model can take this request: llama3 (breaker open), qwen (breaker "
	                    "open), tiny (breaker open), gpt-4o (sensitive request, cloud model), "
	                    "gpt-4o-mini (sensitive request, cloud model), claude (sensitive "
	                    "request, cloud model)");
	/* a plain cloud model: a task of one candidate, the same constraint */
	fx.n_live = 0;
	assert_int_equal(plan("gpt-4o"), HR_EUNAVAIL);
	assert_string_equal(
	    fx.msg, "no model can take this request: gpt-4o (sensitive request, cloud model)");
	assert_int_equal(fx.p.via, HR_VIA_MODEL);
	assert_true(fx.p.local_only);
	/* a task that is not local-only */
	task("t", HR_STRAT_CASCADE, false, "gpt-4o", "qwen", NULL);
	set_live("qwen", true, 0, 0);
	assert_int_equal(plan("task:t"), HR_EUNAVAIL);
	assert_int_equal(fx.p.n, 0);
}

static void test_breaker_open_skips(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, false, "llama3", "gpt-4o", NULL);
	set_live("llama3", true, 0, 0);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "gpt-4o");
	assert_string_equal(skips(), "llama3:breaker open");
	assert_int_equal(plan("llama3"), HR_EUNAVAIL);
	assert_string_equal(fx.msg, "no model can take this request: llama3 (breaker open)");
}

static void test_concurrency_limit(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, false, "llama3", "tiny", "qwen", NULL);
	fx.f.needs_tools = true;
	set_live("llama3", false, 2, 2);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "qwen");
	/* the skips stay in listed order */
	assert_string_equal(skips(), "llama3:busy,tiny:no tools");

	/* every remaining one at its limit: all kept, in order, for a queue to take */
	set_live("qwen", false, 5, 1);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen");
	assert_string_equal(skips(), "tiny:no tools");

	/* at its limit with room in its queue: it takes the request (it will wait) */
	fx.n_live = 0;
	fx.live[fx.n_live++] = (struct fake_live){
	    "llama3", {.inflight = 2, .max_concurrency = 2, .queued = 3, .max_queue = 4}};
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen");
	/* its queue full too: burst to the next */
	fx.live[0].lv.queued = 4;
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "qwen");
	assert_string_equal(skips(), "llama3:busy,tiny:no tools");
	set_live("qwen", false, 5, 1);

	/* a plain model at its limit is kept */
	assert_int_equal(plan("llama3"), 0);
	assert_string_equal(cands(), "llama3");
	/* under the limit, or unlimited: not a skip */
	fx.n_live = 0;
	set_live("llama3", false, 1, 2);
	set_live("qwen", false, 100, 0);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "llama3,qwen");
}

static void test_concurrency_limit_balanced_order(void **state)
{
	(void)state;
	task("t", HR_STRAT_BALANCED, false, "llama3", "qwen", NULL);
	set_live("llama3", false, 4, 4);
	set_live("qwen", false, 2, 2);
	assert_int_equal(plan("task:t"), 0);
	assert_string_equal(cands(), "qwen,llama3");
}

/* ---- which task ---- */

static void test_rules_first_match_wins(void **state)
{
	(void)state;
	task("code", HR_STRAT_ORDERED, false, "qwen", NULL);
	task("see", HR_STRAT_ORDERED, false, "gpt-4o", NULL);
	task("chat", HR_STRAT_ORDERED, false, "llama3", NULL);
	rule("code")->contains_code = 1;
	rule("see")->has_images = 1;
	rule("chat");

	fx.f.contains_code = true;
	assert_int_equal(plan("auto"), 0);
	assert_int_equal(fx.p.via, HR_VIA_RULE);
	assert_int_equal(fx.p.rule, 0);
	assert_string_equal(fx.p.task, "code");
	fx.f.has_images = true; /* both match: the first wins */
	assert_int_equal(plan("auto"), 0);
	assert_string_equal(fx.p.task, "code");
	fx.f.contains_code = false;
	assert_int_equal(plan("auto"), 0);
	assert_string_equal(fx.p.task, "see");
	assert_int_equal(fx.p.rule, 1);
	fx.f.has_images = false;
	assert_int_equal(plan("auto"), 0);
	assert_string_equal(fx.p.task, "chat");
	assert_int_equal(fx.p.rule, 2);
	assert_string_equal(explain(0, 512),
	                    "task=chat; via=rule:2; strategy=ordered; model=llama3");
	/* rule.model unset matches a plain model name too */
	assert_int_equal(plan("gpt-4o"), 0);
	assert_string_equal(fx.p.task, "chat");
}

static void test_rule_model_filter(void **state)
{
	(void)state;
	task("cheap", HR_STRAT_CHEAPEST, false, "gpt-4o", "gpt-4o-mini", NULL);
	rule("cheap")->model = "auto";
	assert_int_equal(plan("auto"), 0);
	assert_int_equal(fx.p.via, HR_VIA_RULE);
	assert_string_equal(cands(), "gpt-4o-mini,gpt-4o");
	assert_int_equal(plan("gpt-4o"), 0); /* not asked for auto: the plain model */
	assert_int_equal(fx.p.via, HR_VIA_MODEL);
	assert_string_equal(cands(), "gpt-4o");
}

struct cond_case {
	const char *name;
	void (*set)(struct hr_conf_rule *r);
	struct hr_features f;
	bool match;
};

static void c_tools(struct hr_conf_rule *r)
{
	r->needs_tools = 1;
}
static void c_no_tools(struct hr_conf_rule *r)
{
	r->needs_tools = 0;
}
static void c_json(struct hr_conf_rule *r)
{
	r->json_mode = 1;
}
static void c_sensitive(struct hr_conf_rule *r)
{
	r->sensitive = 1;
}
static void c_min(struct hr_conf_rule *r)
{
	r->min_tokens = 100;
}
static void c_max(struct hr_conf_rule *r)
{
	r->max_tokens = 100;
}
static void c_lang(struct hr_conf_rule *r)
{
	r->language = "de";
}
static void c_code_and_lang(struct hr_conf_rule *r)
{
	r->contains_code = 1;
	r->language = "en";
}

static void test_rule_conditions_table(void **state)
{
	(void)state;
	static const struct cond_case cases[] = {
	    {"tools yes", c_tools, {.needs_tools = true}, true},
	    {"tools yes, asked none", c_tools, {0}, false},
	    {"tools no", c_no_tools, {0}, true},
	    {"tools no, asked some", c_no_tools, {.needs_tools = true}, false},
	    {"json", c_json, {.json_mode = true}, true},
	    {"json, not asked", c_json, {0}, false},
	    {"sensitive", c_sensitive, {.sensitive = true}, true},
	    {"sensitive, not", c_sensitive, {0}, false},
	    {"min tokens: at", c_min, {.est_tokens = 100}, true},
	    {"min tokens: under", c_min, {.est_tokens = 99}, false},
	    {"max tokens: at", c_max, {.est_tokens = 100}, true},
	    {"max tokens: over", c_max, {.est_tokens = 101}, false},
	    {"language", c_lang, {.language = "de"}, true},
	    {"language other", c_lang, {.language = "fr"}, false},
	    {"language unknown", c_lang, {0}, false},
	    {"all set must hold", c_code_and_lang, {.contains_code = true, .language = "en"}, true},
	    {"all set: one fails",
	     c_code_and_lang,
	     {.contains_code = true, .language = "de"},
	     false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		fx.c.n_tasks = fx.c.n_rules = 0;
		task("r", HR_STRAT_ORDERED, false, "qwen", NULL);
		cases[i].set(rule("r"));
		fx.f = cases[i].f;
		assert_int_equal(plan("llama3"), 0);
		check_str(cases[i].name, fx.p.task, cases[i].match ? "r" : "llama3");
		assert_int_equal(fx.p.via, cases[i].match ? HR_VIA_RULE : HR_VIA_MODEL);
	}
}

static void test_rule_to_builtin_auto_and_missing_task(void **state)
{
	(void)state;
	rule("auto")->json_mode = 1;
	fx.f.json_mode = true;
	assert_int_equal(plan("llama3"), 0);
	assert_int_equal(fx.p.via, HR_VIA_RULE);
	assert_null(fx.p.t);
	assert_int_equal(fx.p.strategy, HR_STRAT_CHEAPEST);
	assert_string_equal(cands(), "llama3,qwen,gpt-4o-mini,gpt-4o");

	fx.c.n_rules = 0;
	rule("ghost");
	assert_int_equal(plan("llama3"), HR_ENOMODEL);
	assert_string_equal(fx.msg,
	                    "rules[0] picks task 'ghost', which does not exist; fix rules: in the "
	                    "config");
}

static void test_task_prefix_header_and_precedence(void **state)
{
	(void)state;
	task("a", HR_STRAT_ORDERED, false, "llama3", NULL);
	task("b", HR_STRAT_ORDERED, false, "qwen", NULL);
	rule("a");
	assert_int_equal(plan_h("auto", "b"), 0); /* the header before the rules */
	assert_int_equal(fx.p.via, HR_VIA_HEADER);
	assert_string_equal(fx.p.task, "b");
	assert_string_equal(explain(0, 512), "task=b; via=header; strategy=ordered; model=qwen");
	assert_int_equal(plan_h("task:a", "b"), 0); /* task: before the header */
	assert_int_equal(fx.p.via, HR_VIA_TASK);
	assert_string_equal(fx.p.task, "a");
	assert_int_equal(plan_h("auto", ""), 0); /* an empty header is none */
	assert_int_equal(fx.p.via, HR_VIA_RULE);
	/* a bare task name, when no model has it */
	fx.c.n_rules = 0;
	assert_int_equal(plan("b"), 0);
	assert_int_equal(fx.p.via, HR_VIA_TASK);
	assert_string_equal(cands(), "qwen");
}

static void test_model_name_before_task_name(void **state)
{
	(void)state;
	task("qwen", HR_STRAT_ORDERED, false, "gpt-4o", NULL);
	assert_int_equal(plan("qwen"), 0);
	assert_int_equal(fx.p.via, HR_VIA_MODEL);
	assert_string_equal(cands(), "qwen");
	assert_int_equal(plan("task:qwen"), 0);
	assert_string_equal(cands(), "gpt-4o");
}

static void test_auto_configured(void **state)
{
	(void)state;
	const struct hr_conf_task *t =
	    task("auto", HR_STRAT_ORDERED, false, "gpt-4o", "llama3", NULL);
	assert_int_equal(plan("auto"), 0);
	assert_int_equal(fx.p.via, HR_VIA_AUTO);
	assert_ptr_equal(fx.p.t, t);
	assert_string_equal(cands(), "gpt-4o,llama3");
	assert_int_equal(plan_h("gpt-4o", "auto"), 0);
	assert_ptr_equal(fx.p.t, t);
	assert_int_equal(fx.p.via, HR_VIA_HEADER);
}

static void test_auto_builtin(void **state)
{
	(void)state;
	assert_int_equal(plan("auto"), 0);
	assert_int_equal(fx.p.via, HR_VIA_AUTO);
	assert_null(fx.p.t);
	assert_string_equal(fx.p.task, "auto");
	assert_int_equal(fx.p.strategy, HR_STRAT_CHEAPEST);
	assert_false(fx.p.local_only);
	/* every chat model, cheapest first; the embedding model is no candidate at all */
	assert_string_equal(cands(), "llama3,qwen,tiny,gpt-4o-mini,gpt-4o,claude");
	assert_int_equal(fx.p.n_skipped, 0);
	assert_string_equal(explain(0, 512),
	                    "task=auto; via=auto; strategy=cheapest; model=llama3");
	assert_int_equal(plan("task:auto"), 0);
	assert_int_equal(fx.p.via, HR_VIA_TASK);
	assert_null(fx.p.t);
	assert_int_equal(fx.p.n, 6);
}

static void test_auto_builtin_keeps_the_cheapest(void **state)
{
	(void)state;
	fx.c.n_models = 0;
	for (int i = 0; i < 40; i++) {
		snprintf(fx.names[i], sizeof fx.names[i], "m%02d", i);
		model(fx.names[i], true, 40 - i, 0, 0, true, true, true, false);
	}
	fx.models[5].tools = false;
	fx.f.needs_tools = true;
	assert_int_equal(plan("auto"), 0);
	assert_int_equal(fx.p.n, HR_MAX_TASK_CANDIDATES);
	assert_string_equal(fx.p.cands[0]->name, "m39");
	assert_string_equal(fx.p.cands[31]->name, "m08");
	assert_string_equal(skips(), "m05:no tools");
}

static void test_auto_builtin_nothing_configured(void **state)
{
	(void)state;
	fx.c.n_models = 0;
	model("embed", false, 0, 0, 0, false, false, false, true);
	assert_int_equal(plan("auto"), HR_EUNAVAIL);
	assert_string_equal(fx.msg, "no model can take this request: no chat models are "
	                            "configured; add one under models:");
	task("empty", HR_STRAT_ORDERED, false, NULL);
	assert_int_equal(plan("task:empty"), HR_EUNAVAIL);
	assert_string_equal(fx.msg, "no model can take this request: task 'empty' has no "
	                            "candidates; list models under tasks.empty.candidates");
}

static void test_plain_model(void **state)
{
	(void)state;
	assert_int_equal(plan("gpt-4o"), 0);
	assert_int_equal(fx.p.via, HR_VIA_MODEL);
	assert_string_equal(fx.p.task, "gpt-4o");
	assert_null(fx.p.t);
	assert_int_equal(fx.p.strategy, HR_STRAT_ORDERED);
	assert_string_equal(cands(), "gpt-4o");
	assert_string_equal(explain(0, 512),
	                    "task=gpt-4o; via=model; strategy=ordered; model=gpt-4o");
	fx.f.has_images = true;
	assert_int_equal(plan("llama3"), HR_EUNAVAIL);
	assert_string_equal(fx.msg, "no model can take this request: llama3 (no vision)");
}

static void test_unknown_model_and_task(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, false, "llama3", NULL);
	assert_int_equal(plan("nope"), HR_ENOMODEL);
	assert_string_equal(fx.msg, "model 'nope' not found; ask for a configured model, 'auto' or "
	                            "'task:<name>' (GET /v1/models lists the models)");
	assert_int_equal(plan("task:nope"), HR_ENOMODEL);
	assert_string_equal(fx.msg, "no task 'nope'; see tasks: in the config");
	assert_int_equal(plan_h("llama3", "nope"), HR_ENOMODEL);
	assert_string_equal(fx.msg, "no task 'nope' (X-Hearth-Task); see tasks: in the config");
	assert_int_equal(plan(""), HR_ENOMODEL);
	assert_non_null(strstr(fx.msg, "no model given"));
	assert_int_equal(plan(NULL), HR_ENOMODEL);
	/* no arena: static messages */
	struct hr_route_in in = {"nope", NULL, &fx.f};
	const char *msg = NULL;
	assert_int_equal(hr_route_plan(NULL, &fx.c, &in, NULL, &fx.p, &msg), HR_ENOMODEL);
	assert_string_equal(msg, "model not found");
}

static void test_no_live_no_features(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, false, "llama3", "gpt-4o", NULL);
	struct hr_route_in in = {"task:t", NULL, NULL};
	const char *msg = NULL;
	assert_int_equal(hr_route_plan(fx.a, &fx.c, &in, NULL, &fx.p, &msg), 0);
	assert_string_equal(cands(), "llama3,gpt-4o");
	in.model = "nope"; /* msg may be NULL */
	assert_int_equal(hr_route_plan(fx.a, &fx.c, &in, NULL, &fx.p, NULL), HR_ENOMODEL);
}

/* ---- the explanation ---- */

static void test_explain_format(void **state)
{
	(void)state;
	task("summarize", HR_STRAT_ORDERED, true, "gpt-4o", "qwen", "llama3", NULL);
	task("x", HR_STRAT_ORDERED, false, "llama3", NULL);
	rule("x")->json_mode = 1; /* rules 0 and 1 do not match */
	rule("x")->json_mode = 1;
	rule("summarize");
	set_live("qwen", true, 0, 0);
	assert_int_equal(plan("auto"), 0);
	assert_string_equal(explain(0, 512),
	                    "task=summarize; via=rule:2; strategy=ordered; model=llama3; "
	                    "skipped=gpt-4o:cloud model for a local-only task,qwen:breaker open");
	/* no candidate answered */
	assert_string_equal(explain(-1, 512),
	                    "task=summarize; via=rule:2; strategy=ordered; "
	                    "skipped=gpt-4o:cloud model for a local-only task,qwen:breaker open");
	char none[512];
	snprintf(none, sizeof none, "%s", explain(-1, 512));
	assert_string_equal(explain(7, 512), none); /* out of range: none */
	/* appends to what the buffer holds */
	struct hr_buf b = HR_BUF_INIT(4096);
	assert_int_equal(hr_buf_addstr(&b, "X: "), 0);
	assert_int_equal(hr_route_explain(&fx.p, 0, 30, &b), 0);
	assert_string_equal(b.ptr, "X: task=summarize; via=rule:2;...");
	hr_buf_release(&b);
}

static void test_explain_cut(void **state)
{
	(void)state;
	task("t", HR_STRAT_ORDERED, true, "gpt-4o", "claude", "llama3", NULL);
	assert_int_equal(plan("task:t"), 0);
	const char *full = "task=t; via=task; strategy=ordered; model=llama3; "
	                   "skipped=gpt-4o:cloud model for a local-only task,"
	                   "claude:cloud model for a local-only task";
	assert_string_equal(explain(0, strlen(full)), full);
	/* the list is cut after the last whole item that fits */
	assert_string_equal(explain(0, strlen(full) - 1),
	                    "task=t; via=task; strategy=ordered; model=llama3; "
	                    "skipped=gpt-4o:cloud model for a local-only task,...");
	assert_string_equal(explain(0, 70), "task=t; via=task; strategy=ordered; model=llama3; "
	                                    "skipped=...");
	/* even the fixed part does not fit */
	assert_string_equal(explain(0, 10), "task=t;...");
	assert_string_equal(explain(0, 2), "ta");
}

static void test_explain_escapes(void **state)
{
	(void)state;
	fx.models[0].name = "meta/llama3:8b-q4_K.M";
	fx.models[1].name = "bad name\r\n\x01\xc3\xa9";
	task("tâche; x=y", HR_STRAT_ORDERED, false, "meta/llama3:8b-q4_K.M",
	     "bad name\r\n\x01\xc3\xa9", NULL);
	fx.f.has_images = true;
	assert_int_equal(plan("task:tâche; x=y"), 0);
	const char *s = explain(0, 512);
	assert_string_equal(s, "task=t??che??x?y; via=task; strategy=ordered; "
	                       "model=bad?name?????; skipped=meta/llama3:8b-q4_K.M:no vision");
	for (const char *p = s; *p; p++)
		assert_true(*p >= 0x20 && *p < 0x7f);
}

/* ---- the circuit breaker ---- */

static void test_breaker_opens_after_n(void **state)
{
	(void)state;
	struct hr_breakers *b = hr_breakers_new(NULL); /* defaults: 5, 5 s, 60 s */
	assert_non_null(b);
	int64_t t = 1000;
	assert_string_equal(hr_breaker_state(b, "m", t), "closed");
	for (int i = 0; i < 4; i++) {
		hr_breaker_report(b, "m", false, t);
		assert_true(hr_breaker_allow(b, "m", t));
	}
	hr_breaker_report(b, "m", true, t); /* a success resets the count */
	for (int i = 0; i < 4; i++)
		hr_breaker_report(b, "m", false, t);
	assert_string_equal(hr_breaker_state(b, "m", t), "closed");
	hr_breaker_report(b, "m", false, t);
	assert_string_equal(hr_breaker_state(b, "m", t), "open");
	assert_false(hr_breaker_allow(b, "m", t));
	assert_false(hr_breaker_allow(b, "m", t + 4999));
	assert_true(hr_breaker_allow(b, "other", t)); /* per model */
	assert_string_equal(hr_breaker_state(b, "m", t + 5000), "half-open");
	hr_breakers_free(b);
}

static void test_breaker_opens_on_error_rate(void **state)
{
	(void)state;
	/* never two failures in a row, but half of the calls fail */
	struct hr_breaker_conf bc = {
	    .rate_to_open = 0.5, .rate_min_calls = 10, .rate_window_ms = 1000};
	struct hr_breakers *b = hr_breakers_new(&bc);
	int64_t t = 5000;
	for (int i = 0; i < 4; i++) {
		hr_breaker_report(b, "m", false, t);
		hr_breaker_report(b, "m", true, t);
	}
	hr_breaker_report(b, "m", false, t); /* 9 calls: too few to judge */
	assert_string_equal(hr_breaker_state(b, "m", t), "closed");
	hr_breaker_report(b, "m", true, t);
	hr_breaker_report(b, "m", false, t); /* 11 calls, 6 failed */
	assert_string_equal(hr_breaker_state(b, "m", t), "open");
	hr_breakers_free(b);

	/* the same failures spread beyond the window never open it */
	b = hr_breakers_new(&bc);
	for (int i = 0; i < 40; i++) {
		t += 150; /* 10 calls per 1.5 s: at most ~7 in a window */
		hr_breaker_report(b, "m", i % 2 == 0, t);
	}
	assert_string_equal(hr_breaker_state(b, "m", t), "closed");
	/* a low error rate never opens it (past the window of the calls above) */
	t += 2000;
	for (int i = 0; i < 100; i++)
		hr_breaker_report(b, "m", i % 4 != 0, t);
	assert_string_equal(hr_breaker_state(b, "m", t), "closed");
	hr_breakers_free(b);
}

static void test_breaker_half_open_single_probe(void **state)
{
	(void)state;
	struct hr_breaker_conf bc = {
	    .failures_to_open = 2, .cooldown_ms = 100, .max_cooldown_ms = 1000};
	struct hr_breakers *b = hr_breakers_new(&bc);
	hr_breaker_report(b, "m", false, 0);
	hr_breaker_report(b, "m", false, 0);
	assert_false(hr_breaker_allow(b, "m", 99));
	assert_true(hr_breaker_allow(b, "m", 100)); /* the probe */
	assert_string_equal(hr_breaker_state(b, "m", 100), "half-open");
	assert_false(hr_breaker_allow(b, "m", 100)); /* only one at a time */
	assert_false(hr_breaker_allow(b, "m", 150));
	/* the probe succeeds: closed, every call goes */
	hr_breaker_report(b, "m", true, 160);
	assert_string_equal(hr_breaker_state(b, "m", 160), "closed");
	assert_true(hr_breaker_allow(b, "m", 160));
	assert_true(hr_breaker_allow(b, "m", 160));
	hr_breakers_free(b);
}

static void test_breaker_reopens_doubled_and_capped(void **state)
{
	(void)state;
	struct hr_breaker_conf bc = {
	    .failures_to_open = 1, .cooldown_ms = 100, .max_cooldown_ms = 350};
	struct hr_breakers *b = hr_breakers_new(&bc);
	int64_t t = 0;
	hr_breaker_report(b, "m", false, t); /* open for 100 */
	static const int64_t periods[] = {100, 200, 350, 350};
	for (size_t i = 0; i < sizeof periods / sizeof *periods; i++) {
		assert_false(hr_breaker_allow(b, "m", t + periods[i] - 1));
		assert_true(hr_breaker_allow(b, "m", t + periods[i]));
		t += periods[i];
		hr_breaker_report(b, "m", false, t); /* the probe fails: doubled, capped */
		assert_string_equal(hr_breaker_state(b, "m", t), "open");
	}
	/* a success closes it and resets the cool-down */
	assert_true(hr_breaker_allow(b, "m", t + 350));
	t += 350;
	hr_breaker_report(b, "m", true, t);
	hr_breaker_report(b, "m", false, t);
	assert_false(hr_breaker_allow(b, "m", t + 99));
	assert_true(hr_breaker_allow(b, "m", t + 100));
	hr_breakers_free(b);
}

static void test_breaker_lost_probe_and_late_reports(void **state)
{
	(void)state;
	struct hr_breaker_conf bc = {
	    .failures_to_open = 1, .cooldown_ms = 100, .max_cooldown_ms = 1000};
	struct hr_breakers *b = hr_breakers_new(&bc);
	hr_breaker_report(b, "m", false, 0);
	hr_breaker_report(b, "m", false, 50); /* a late failure while open: no longer */
	/* a late success (a call begun before it opened) does not close it either */
	hr_breaker_report(b, "m", true, 60);
	assert_string_equal(hr_breaker_state(b, "m", 60), "open");
	assert_false(hr_breaker_allow(b, "m", 99));
	assert_true(hr_breaker_allow(b, "m", 100));
	/* the probe is never reported: after another cool-down a new probe may go */
	assert_false(hr_breaker_allow(b, "m", 199));
	assert_true(hr_breaker_allow(b, "m", 200));
	assert_false(hr_breaker_allow(b, "m", 200));
	hr_breakers_free(b);
}

static void test_breaker_cap_and_defaults(void **state)
{
	(void)state;
	struct hr_breaker_conf bad = {
	    .failures_to_open = 0, .cooldown_ms = -1, .max_cooldown_ms = 0};
	struct hr_breakers *b = hr_breakers_new(&bad);
	char name[32];
	for (int i = 0; i < HR_MAX_MODELS + 10; i++) {
		snprintf(name, sizeof name, "model-%d", i);
		for (int k = 0; k < 5; k++)
			hr_breaker_report(b, name, false, 0);
	}
	assert_string_equal(hr_breaker_state(b, "model-0", 0), "open");
	assert_string_equal(hr_breaker_state(b, "model-4095", 4999), "open");
	assert_string_equal(hr_breaker_state(b, "model-4095", 5000), "half-open");
	/* past the cap: never tracked, always closed */
	assert_string_equal(hr_breaker_state(b, "model-4096", 0), "closed");
	assert_true(hr_breaker_allow(b, "model-4100", 0));
	/* NULLs are harmless */
	assert_true(hr_breaker_allow(NULL, "m", 0));
	hr_breaker_report(NULL, "m", false, 0);
	assert_string_equal(hr_breaker_state(NULL, "m", 0), "closed");
	hr_breakers_free(b);
	hr_breakers_free(NULL);
}

struct hammer {
	struct hr_breakers *b;
	int id;
};

static void *hammer_run(void *arg)
{
	struct hammer *h = arg;
	char name[16];
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof name, "m%d", (i + h->id) % 50);
		if (hr_breaker_allow(h->b, name, i))
			hr_breaker_report(h->b, name, (i % 3) == 0, i);
		hr_breaker_report(h->b, "shared", false, i);
	}
	return NULL;
}

static void test_breaker_threads(void **state)
{
	(void)state;
	struct hr_breakers *b = hr_breakers_new(NULL);
	struct hammer h[4];
	pthread_t th[4];
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){b, i};
		assert_int_equal(pthread_create(&th[i], NULL, hammer_run, &h[i]), 0);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	assert_string_equal(hr_breaker_state(b, "shared", 2000), "open");
	hr_breakers_free(b);
}

/* ---- features ---- */

static struct hr_part tpart(const char *s)
{
	return (struct hr_part){.type = HR_PART_TEXT, .text = hr_str_from(s)};
}

static void features_of_text(enum hr_role role, const char *text, struct hr_features *f)
{
	struct hr_part p = tpart(text);
	struct hr_msg m = {.role = role, .parts = &p, .n_parts = 1};
	struct hr_chat_req rq = {
	    .msgs = &m, .n_msgs = 1, .max_tokens = -1, .prompt_bytes = strlen(text)};
	hr_features_of(&rq, false, f);
}

static void test_features_basic(void **state)
{
	(void)state;
	struct hr_part parts[2] = {tpart("what is this?"), {.type = HR_PART_IMAGE}};
	struct hr_msg msgs[2] = {{.role = HR_ROLE_SYSTEM, .parts = parts, .n_parts = 1},
	                         {.role = HR_ROLE_USER, .parts = parts, .n_parts = 2}};
	struct hr_tool tool = {.name = HR_STR("f")};
	struct hr_chat_req rq = {.msgs = msgs,
	                         .n_msgs = 2,
	                         .tools = &tool,
	                         .n_tools = 1,
	                         .format = HR_FMT_JSON_SCHEMA,
	                         .max_tokens = 300,
	                         .prompt_bytes = 401};
	struct hr_features f;
	hr_features_of(&rq, true, &f);
	assert_int_equal(f.est_tokens, 101);
	assert_int_equal(f.max_tokens, 300);
	assert_true(f.has_images);
	assert_true(f.needs_tools);
	assert_true(f.json_mode);
	assert_true(f.sensitive);
	assert_false(f.contains_code);

	rq.tool_choice = HR_TC_NONE;
	rq.format = HR_FMT_JSON_OBJECT;
	rq.max_tokens = -1;
	msgs[1].n_parts = 1;
	hr_features_of(&rq, false, &f);
	assert_false(f.has_images);
	assert_false(f.needs_tools);
	assert_true(f.json_mode);
	assert_false(f.sensitive);
	assert_int_equal(f.max_tokens, -1);
	rq.format = HR_FMT_TEXT;
	rq.tool_choice = HR_TC_REQUIRED;
	hr_features_of(&rq, false, &f);
	assert_false(f.json_mode);
	assert_true(f.needs_tools);
	rq.n_tools = 0;
	hr_features_of(&rq, false, &f);
	assert_false(f.needs_tools);
	struct hr_chat_req empty = {.max_tokens = -1};
	hr_features_of(&empty, false, &f);
	assert_int_equal(f.est_tokens, 0);
	assert_null(f.language);
}

struct text_case {
	const char *text;
	bool code;
};

static void test_features_code(void **state)
{
	(void)state;
	static const struct text_case cases[] = {
	    {"Fix this:\n```\nx = 1\n```", true},
	    {"inline ```py print(1)``` fence", true},
	    {"#include <stdio.h>\nint main(void) {\n\treturn 0;\n}\n", true},
	    {"def f(x):\n    return x\nimport os\nimport sys\n", true},
	    {"function f() {\n  let x = 1;\n  return x;\n}", true},
	    {"  a = 1;   \n  b = 2;\r\n  c = 3;\n", true},
	    {"package main\nimport \"fmt\"\nfunc main() {}\n", true},
	    {"What is the capital of France?", false},
	    {"Dear team;\nthanks for the update.\nBest regards", false},
	    {"Rules:\n- be brief;\n- be kind;\nthat's all.", false},
	    {"Import duties rose in 2023. The function of the liver is detox.", false},
	    {"I like {curly} braces and ; semicolons; in the middle of lines", false},
	    {"", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct hr_features f;
		features_of_text(HR_ROLE_USER, cases[i].text, &f);
		if (f.contains_code != cases[i].code)
			fail_msg("case '%s': contains_code %d", cases[i].text, f.contains_code);
	}
	/* system text counts; assistant text does not; lines add up across messages */
	struct hr_features f;
	features_of_text(HR_ROLE_SYSTEM, "```json\n{}\n```", &f);
	assert_true(f.contains_code);
	features_of_text(HR_ROLE_ASSISTANT, "```json\n{}\n```", &f);
	assert_false(f.contains_code);
	struct hr_part p[3] = {tpart("x = 1;"), tpart("y = 2;"), tpart("z = 3;")};
	struct hr_msg m[3] = {{.role = HR_ROLE_USER, .parts = &p[0], .n_parts = 1},
	                      {.role = HR_ROLE_SYSTEM, .parts = &p[1], .n_parts = 1},
	                      {.role = HR_ROLE_USER, .parts = &p[2], .n_parts = 1}};
	struct hr_chat_req rq = {.msgs = m, .n_msgs = 3, .max_tokens = -1};
	hr_features_of(&rq, false, &f);
	assert_true(f.contains_code);
	rq.n_msgs = 2;
	hr_features_of(&rq, false, &f);
	assert_false(f.contains_code);
}

struct lang_case {
	const char *text;
	const char *lang; /* NULL: no guess */
};

static void test_features_language(void **state)
{
	(void)state;
	static const struct lang_case cases[] = {
	    {"Can you please summarize the following article for me?", "en"},
	    {"What is the capital of France?", "en"},
	    {"Kannst du mir bitte erklären, wie das funktioniert?", "de"},
	    {"Ich habe eine Frage zu der Rechnung und den Kosten.", "de"},
	    {"Pouvez-vous m'expliquer pourquoi le ciel est bleu ?", "fr"},
	    {"Je voudrais savoir comment faire une tarte aux pommes avec des enfants.", "fr"},
	    {"¿Puedes explicarme por qué el cielo es azul?", "es"},
	    {"Hola, ¿cómo estás? Yo estoy muy bien, gracias.", "es"},
	    {"Puoi spiegarmi perché il cielo è blu?", "it"},
	    {"Ciao, questo è un problema che ho con il computer.", "it"},
	    {"Kun je uitleggen waarom de lucht blauw is?", "nl"},
	    {"Ik heb een vraag over mijn rekening, maar ook over de prijs.", "nl"},
	    {"Você pode explicar por que o céu é azul?", "pt"},
	    {"Muito obrigado, isso é tudo que eu preciso.", "pt"},
	    {"PLEASE TELL ME WHAT THE TIME IS", "en"},
	    {"ÜBER DAS UND DIE BITTE", "de"},
	    {"Hello", NULL},
	    {"thanks!", NULL},
	    {"x = 1; y = 2;", NULL},
	    {"Tack så mycket för hjälpen", NULL},
	    {"the der", NULL},            /* one hit each: unsure */
	    {"the and der die", NULL},    /* a tie */
	    {"the and of der die", NULL}, /* 3 vs 2: not twice the runner-up */
	    {"the and der", "en"},        /* 2 vs 1: twice */
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		struct hr_features f;
		features_of_text(HR_ROLE_USER, cases[i].text, &f);
		check_str(cases[i].text, f.language, cases[i].lang);
	}
	/* the last user message decides; the system prompt and the answers do not */
	struct hr_part p[4] = {tpart("Bitte antworte immer auf Deutsch, wenn das geht, und sei "
	                             "nicht zu lang."),
	                       tpart("What is the best way to learn how to cook?"),
	                       tpart("Ich kann dir das gerne erklären, aber nicht heute."),
	                       {.type = HR_PART_IMAGE}};
	struct hr_msg m[4] = {{.role = HR_ROLE_SYSTEM, .parts = &p[0], .n_parts = 1},
	                      {.role = HR_ROLE_USER, .parts = &p[1], .n_parts = 1},
	                      {.role = HR_ROLE_ASSISTANT, .parts = &p[2], .n_parts = 1},
	                      {.role = HR_ROLE_USER, .parts = &p[3], .n_parts = 1}};
	struct hr_chat_req rq = {.msgs = m, .n_msgs = 4, .max_tokens = -1};
	struct hr_features f;
	hr_features_of(&rq, false, &f);
	assert_non_null(f.language);
	assert_string_equal(f.language, "en"); /* the image-only message is skipped */
}

static void test_features_language_long_text(void **state)
{
	(void)state;
	/* only the first few KiB are read: a long German text with an English tail is German */
	size_t n = 200 * 1000;
	char *s = malloc(n + 1);
	assert_non_null(s);
	const char *de = "Ich habe das nicht verstanden und bitte um eine Antwort. ";
	size_t k = strlen(de), at = 0;
	while (at + k < n - 2000) {
		memcpy(s + at, de, k);
		at += k;
	}
	while (at < n) {
		const char *en = "the and of you what ";
		size_t e = strlen(en);
		if (at + e > n)
			break;
		memcpy(s + at, en, e);
		at += e;
	}
	s[at] = '\0';
	struct hr_features f;
	features_of_text(HR_ROLE_USER, s, &f);
	assert_string_equal(f.language, "de");
	/* a very long word is not a word */
	memset(s, 'x', 1000);
	memcpy(s + 1000, " the and of", 12);
	features_of_text(HR_ROLE_USER, s, &f);
	assert_string_equal(f.language, "en");
	free(s);
}

/* ---- retryable ---- */

/* ---- gates ---- */

struct wake {
	int n;
};

static void wake_cb(void *arg)
{
	((struct wake *)arg)->n++;
}

static void test_gate(void **state)
{
	(void)state;
	struct hr_gates *g = hr_gates_new();
	assert_non_null(g);
	struct wake wa = {0}, wb = {0};
	struct hr_gate_waiter a = {.ready = wake_cb, .arg = &wa},
	                      b = {.ready = wake_cb, .arg = &wb};
	int inflight, queued;

	/* no limit: every call goes, and is counted */
	assert_int_equal(hr_gate_enter(g, "free", 0, 0, NULL), HR_GATE_GO);
	assert_int_equal(hr_gate_enter(g, "free", 0, 0, NULL), HR_GATE_GO);
	hr_gate_load(g, "free", &inflight, &queued);
	assert_int_equal(inflight, 2);
	hr_gate_leave(g, "free");
	hr_gate_leave(g, "free");
	hr_gate_load(g, "free", &inflight, &queued);
	assert_int_equal(inflight, 0);

	/* limit 1, queue 1: go, queued, full */
	assert_int_equal(hr_gate_enter(g, "m", 1, 1, &a), HR_GATE_GO);
	assert_int_equal(hr_gate_enter(g, "m", 1, 1, &a), HR_GATE_QUEUED);
	assert_int_equal(hr_gate_enter(g, "m", 1, 1, &b), HR_GATE_FULL);
	hr_gate_load(g, "m", &inflight, &queued);
	assert_int_equal(inflight, 1);
	assert_int_equal(queued, 1);
	/* the slot goes to the waiter: still one in flight, nobody queued */
	hr_gate_leave(g, "m");
	assert_int_equal(wa.n, 1);
	hr_gate_load(g, "m", &inflight, &queued);
	assert_int_equal(inflight, 1);
	assert_int_equal(queued, 0);
	/* cancelling after the hand-over says so: the caller owns the slot */
	assert_false(hr_gate_cancel(g, "m", &a));
	/* a newcomer cannot overtake a queued one */
	assert_int_equal(hr_gate_enter(g, "m", 1, 1, &b), HR_GATE_QUEUED);
	assert_true(hr_gate_cancel(g, "m", &b)); /* gave up waiting: no slot */
	assert_int_equal(wb.n, 0);
	hr_gate_leave(g, "m");
	hr_gate_load(g, "m", &inflight, &queued);
	assert_int_equal(inflight, 0);
	assert_int_equal(queued, 0);

	/* a limit lowered by a reload: leaving slots are not handed on above it */
	assert_int_equal(hr_gate_enter(g, "r", 3, 2, &a), HR_GATE_GO);
	assert_int_equal(hr_gate_enter(g, "r", 3, 2, &a), HR_GATE_GO);
	assert_int_equal(hr_gate_enter(g, "r", 3, 2, &a), HR_GATE_GO);
	wa.n = 0;
	assert_int_equal(hr_gate_enter(g, "r", 1, 2, &a), HR_GATE_QUEUED);
	hr_gate_leave(g, "r"); /* 3 -> 2, still over 1 */
	hr_gate_leave(g, "r"); /* 2 -> 1 */
	assert_int_equal(wa.n, 0);
	hr_gate_leave(g, "r"); /* now at the limit: handed over */
	assert_int_equal(wa.n, 1);
	hr_gate_leave(g, "r");
	hr_gate_load(g, "r", &inflight, &queued);
	assert_int_equal(inflight, 0);

	/* without a table everything goes */
	assert_int_equal(hr_gate_enter(NULL, "m", 1, 0, NULL), HR_GATE_GO);
	hr_gates_free(g);
}

static void test_nametab(void **state)
{
	(void)state;
	struct hr_nametab t;
	hr_nametab_init(&t, sizeof(long), 100);
	char name[32];
	for (long i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "model-%ld", i);
		long *v = hr_nametab_add(&t, name);
		assert_non_null(v);
		assert_int_equal(*v, 0);
		*v = i * 7;
	}
	assert_null(hr_nametab_add(&t, "one-too-many"));
	for (long i = 0; i < 100; i++) {
		snprintf(name, sizeof name, "model-%ld", i);
		long *v = hr_nametab_find(&t, name);
		assert_non_null(v);
		assert_int_equal(*v, i * 7);
		assert_string_equal(hr_nametab_name(&t, v), name);
	}
	assert_null(hr_nametab_find(&t, "model-100"));
	hr_nametab_free(&t);
}

static void test_retryable(void **state)
{
	(void)state;
	static const int yes[] = {HR_ECONNECT,
	                          HR_ETIMEOUT,
	                          HR_ERATELIMIT,
	                          HR_EUPSTREAM,
	                          HR_EOVERLOADED,
	                          HR_ESTREAM_CUT,
	                          429,
	                          500,
	                          502,
	                          503,
	                          504,
	                          529,
	                          408};
	static const int no[] = {0,
	                         HR_EUPSTREAM_BAD,
	                         HR_EUPSTREAM_AUTH,
	                         HR_EUPSTREAM_NOTFOUND,
	                         HR_EUPSTREAM_TOOBIG,
	                         HR_EINVAL,
	                         HR_EBADJSON,
	                         HR_EUNSUPPORTED,
	                         HR_ENOMEM,
	                         HR_ECANCELED,
	                         HR_EUNAVAIL,
	                         HR_ENOMODEL,
	                         HR_EAUTH,
	                         HR_ETOOBIG,
	                         400,
	                         401,
	                         403,
	                         404,
	                         413,
	                         422,
	                         200,
	                         600};
	static const int next[] = {HR_EUPSTREAM_AUTH, HR_EUPSTREAM_NOTFOUND, 401, 403, 404};
	for (size_t i = 0; i < sizeof next / sizeof *next; i++)
		if (!hr_route_next_ok(next[i]) || hr_route_retryable(next[i]))
			fail_msg("%d should go to the next candidate without a retry", next[i]);
	assert_false(hr_route_next_ok(HR_EUPSTREAM_BAD));
	assert_false(hr_route_next_ok(400));
	assert_false(hr_route_next_ok(HR_EINVAL));
	for (size_t i = 0; i < sizeof yes / sizeof *yes; i++) {
		if (!hr_route_retryable(yes[i]))
			fail_msg("%d (%s) should be retryable", yes[i], hr_err_name(yes[i]));
	}
	for (size_t i = 0; i < sizeof no / sizeof *no; i++) {
		if (hr_route_retryable(no[i]))
			fail_msg("%d (%s) should not be retryable", no[i], hr_err_name(no[i]));
	}
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_ordered),
	    T(test_cheapest),
	    T(test_cheapest_ties_keep_listed_order),
	    T(test_cheapest_skips_incapable),
	    T(test_balanced_inflight_and_weights),
	    T(test_balanced_ties_and_default_weights),
	    T(test_cascade_local_first),
	    T(test_learned),
	    T(test_learned_tiers),
	    T(test_promoted_goes_first),
	    T(test_constraints_table),
	    T(test_embedding_model_in_a_task),
	    T(test_local_only_task),
	    T(test_local_only_never_cloud_when_locals_down),
	    T(test_sensitive_never_cloud_when_locals_down),
	    T(test_breaker_open_skips),
	    T(test_concurrency_limit),
	    T(test_concurrency_limit_balanced_order),
	    T(test_rules_first_match_wins),
	    T(test_rule_model_filter),
	    T(test_rule_conditions_table),
	    T(test_rule_to_builtin_auto_and_missing_task),
	    T(test_task_prefix_header_and_precedence),
	    T(test_model_name_before_task_name),
	    T(test_auto_configured),
	    T(test_auto_builtin),
	    T(test_auto_builtin_keeps_the_cheapest),
	    T(test_auto_builtin_nothing_configured),
	    T(test_plain_model),
	    T(test_unknown_model_and_task),
	    T(test_no_live_no_features),
	    T(test_explain_format),
	    T(test_explain_cut),
	    T(test_explain_escapes),
	    T(test_breaker_opens_after_n),
	    T(test_breaker_half_open_single_probe),
	    T(test_breaker_reopens_doubled_and_capped),
	    T(test_breaker_lost_probe_and_late_reports),
	    T(test_breaker_cap_and_defaults),
	    T(test_breaker_threads),
	    T(test_features_basic),
	    T(test_features_code),
	    T(test_features_language),
	    T(test_features_language_long_text),
	    T(test_retryable),
	    T(test_gate),
	    T(test_breaker_opens_on_error_rate),
	    T(test_nametab),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
