/* plan.c - the router's plan (hr_route_plan): which task a request is, which of its
 * candidates may serve it, in what order, and why the others were skipped; and the
 * X-Hearth-Route explanation of a plan (hr_route_explain). Pure: no I/O, no clock.
 *
 * Constraints, checked per candidate in this order (the first that fails is the reason):
 * embedding model, locality (a local-only task, or a sensitive request, never reaches a cloud
 * provider, fallbacks included), tools, vision, JSON mode, context window, breaker. The load
 * constraint comes last and is soft: a candidate at its concurrency limit whose queue is
 * full too is skipped ("busy") only when some other candidate remains (burst); when every
 * remaining candidate is busy they are all kept, in strategy order, for the call layer's
 * gate to decide a moment later (a slot may have freed by then).
 *
 * The built-in auto (model "auto" with no task named auto) considers every non-embedding
 * model, cheapest first; it keeps the HR_MAX_TASK_CANDIDATES cheapest capable ones, and its
 * skip list keeps the first HR_MAX_TASK_CANDIDATES skips. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "router/router.h"

#define MSG_MAX 4096

/* One candidate while planning: the model, its place in the list and its live state. */
struct cand {
	const struct hr_conf_model *m;
	size_t idx;    /* position in the task's list (or in models: for the built-in auto) */
	double weight; /* balanced */
	int inflight;
	double good; /* learned: predicted P(a good answer) */
	bool meets;  /* learned: good > the task's target */
};

struct plan_ctx {
	const struct hr_features *f;
	const struct hr_live *live;
	struct hr_plan *out;
	bool task_local_only;
	enum hr_strategy order; /* how candidates sort: the strategy, or learned's choice */
	bool desc;
	/* learned with a prediction: P(strong needed), the quality to beat, and the priciest
	 * candidate's price (an untiered model that dear counts as frontier, others as medium) */
	double p_strong, target, top_price;
	struct cand ok[HR_MAX_TASK_CANDIDATES], full[HR_MAX_TASK_CANDIDATES];
	size_t n_ok, n_full;
	size_t skip_idx[HR_MAX_TASK_CANDIDATES]; /* out->skipped[i]'s place in the list */
};

static const struct hr_features no_features = {.max_tokens = -1, .p_strong = -1};

/* The task named name[0..len), scanned in c->tasks (the loader's own lookup may not exist
 * yet in every build). Returns: borrowed from c; NULL if absent. */
static const struct hr_conf_task *task_find(const struct hr_conf *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n_tasks; i++) {
		const char *n = c->tasks[i].name;
		if (n && strnlen(n, len + 1) == len && memcmp(n, name, len) == 0)
			return &c->tasks[i];
	}
	return NULL;
}

static double price(const struct hr_conf_model *m)
{
	return m->input_price_per_mtok + m->output_price_per_mtok;
}

/* The reason m cannot take the request, or NULL. Load is judged by the caller. */
static const char *hard_reason(const struct plan_ctx *x, const struct hr_conf_model *m,
                               const struct hr_model_live *lv)
{
	const struct hr_features *f = x->f;
	if (m->embeddings)
		return "embedding model";
	bool cloud = m->provider && m->provider->locality == HR_CLOUD;
	if (cloud && x->task_local_only)
		return "cloud model for a local-only task";
	if (cloud && f->sensitive)
		return "sensitive request, cloud model";
	if (f->needs_tools && !m->tools)
		return "no tools";
	if (f->has_images && !m->vision)
		return "no vision";
	if (f->json_mode && !m->json_mode)
		return "no JSON mode";
	if (m->context_window > 0 &&
	    f->est_tokens + (f->max_tokens > 0 ? f->max_tokens : 0) > m->context_window)
		return "context window too small";
	if (lv->breaker_open)
		return "breaker open";
	return NULL;
}

/* Records a skip, keeping the list in listed order; drops it when the list is full. */
static void add_skip(struct plan_ctx *x, const struct hr_conf_model *m, size_t idx, const char *why)
{
	struct hr_plan *p = x->out;
	if (p->n_skipped == HR_MAX_TASK_CANDIDATES)
		return;
	size_t i = p->n_skipped;
	while (i > 0 && x->skip_idx[i - 1] > idx) {
		p->skipped[i] = p->skipped[i - 1];
		x->skip_idx[i] = x->skip_idx[i - 1];
		i--;
	}
	p->skipped[i] = (struct hr_skip){m, why};
	x->skip_idx[i] = idx;
	p->n_skipped++;
}

/* Whether a should come before b under strategy s (strict: equal keys keep listed order).
 * desc: the price order reversed (learned, strong model first). */
static bool before(enum hr_strategy s, bool desc, const struct cand *a, const struct cand *b)
{
	switch (s) {
	case HR_STRAT_CHEAPEST: return desc ? price(a->m) > price(b->m) : price(a->m) < price(b->m);
	case HR_STRAT_BALANCED:
		/* a.inflight / a.weight < b.inflight / b.weight, without dividing */
		return (double)a->inflight * b->weight < (double)b->inflight * a->weight;
	case HR_STRAT_CASCADE: {
		bool la = !a->m->provider || a->m->provider->locality == HR_LOCAL;
		bool lb = !b->m->provider || b->m->provider->locality == HR_LOCAL;
		return la && !lb;
	}
	case HR_STRAT_LEARNED:
		/* those good enough first, cheapest first; then the likeliest, the dearer first */
		if (a->meets != b->meets)
			return a->meets;
		if (a->meets)
			return price(a->m) < price(b->m);
		return a->good > b->good || (a->good == b->good && price(a->m) > price(b->m));
	case HR_STRAT_ORDERED: return false;
	}
	return false;
}

/* The exponent e of P(good) = (1 - p_strong)^e per tier: a medium model is the shipped
 * model's weak one (good when no strong model is needed), a frontier one its strong one
 * (docs/router.md, "Tiers"). */
static double tier_exponent(const struct plan_ctx *x, const struct hr_conf_model *m)
{
	switch (m->tier) {
	case HR_TIER_SMALL: return 2;
	case HR_TIER_MEDIUM: return 1;
	case HR_TIER_LARGE: return 0.5;
	case HR_TIER_FRONTIER: return 0;
	case HR_TIER_NONE: break;
	}
	return price(m) >= x->top_price ? 0 : 1;
}

double hr_route_p_good(double p_strong, enum hr_tier tier)
{
	struct plan_ctx x = {.top_price = 1};
	struct hr_conf_model m = {.tier = tier, .input_price_per_mtok = 0};
	double e = tier_exponent(&x, &m);
	return e == 0 ? 1 : pow(1 - p_strong, e);
}

/* Inserts c into v (n entries, sorted by strategy s, then listed order) after every entry
 * that does not sort after it, so the sort is stable. When v is full the last entry falls
 * off, or c itself does (only the built-in auto, which may see more models than that). */
static void insert_sorted(enum hr_strategy s, bool desc, struct cand *v, size_t *n,
                          const struct cand *c)
{
	size_t i = *n;
	while (i > 0 && before(s, desc, c, &v[i - 1]))
		i--;
	if (i == HR_MAX_TASK_CANDIDATES)
		return;
	size_t moved = (*n < HR_MAX_TASK_CANDIDATES ? *n : HR_MAX_TASK_CANDIDATES - 1) - i;
	memmove(&v[i + 1], &v[i], moved * sizeof *v);
	v[i] = *c;
	if (*n < HR_MAX_TASK_CANDIDATES)
		(*n)++;
}

static void consider(struct plan_ctx *x, const struct hr_conf_model *m, size_t idx, double weight)
{
	struct hr_model_live lv = {0};
	if (x->live && x->live->get)
		x->live->get(x->live->ctx, m, &lv);
	const char *why = hard_reason(x, m, &lv);
	if (why) {
		add_skip(x, m, idx, why);
		return;
	}
	struct cand c = {m, idx, weight > 0 ? weight : 1.0, lv.inflight > 0 ? lv.inflight : 0, 0,
	                 false};
	if (x->order == HR_STRAT_LEARNED && x->f->n_good) {
		c.good = 0; /* a model the router model does not know goes last */
		for (size_t i = 0; i < x->f->n_good; i++)
			if (strcmp(x->f->good_models[i], m->name) == 0)
				c.good = x->f->good_p[i];
		c.meets = c.good > x->target;
	} else if (x->order == HR_STRAT_LEARNED) {
		double e = tier_exponent(x, m);
		c.good = e == 0 ? 1 : pow(1 - x->p_strong, e);
		c.meets = c.good > x->target;
	}
	if (lv.max_concurrency > 0 && lv.inflight >= lv.max_concurrency &&
	    lv.queued >= lv.max_queue)
		insert_sorted(x->order, x->desc, x->full, &x->n_full, &c);
	else
		insert_sorted(x->order, x->desc, x->ok, &x->n_ok, &c);
}

/* ---- which task ---- */

struct which {
	const char *task; /* name for the plan */
	enum hr_route_via via;
	size_t rule;
	const struct hr_conf_task *t;
	const struct hr_conf_model *model; /* a plain model */
	bool builtin_auto;
};

static bool rule_flag(int want, bool have)
{
	return want < 0 || (want != 0) == have;
}

static bool rule_matches(const struct hr_conf_rule *r, const char *asked,
                         const struct hr_features *f)
{
	if (r->model && (!asked || strcmp(r->model, asked) != 0))
		return false;
	if (!rule_flag(r->has_images, f->has_images) ||
	    !rule_flag(r->needs_tools, f->needs_tools) || !rule_flag(r->json_mode, f->json_mode) ||
	    !rule_flag(r->contains_code, f->contains_code) ||
	    !rule_flag(r->sensitive, f->sensitive))
		return false;
	if (r->min_tokens >= 0 && f->est_tokens < r->min_tokens)
		return false;
	if (r->max_tokens >= 0 && f->est_tokens > r->max_tokens)
		return false;
	if (r->language && (!f->language || strcasecmp(r->language, f->language) != 0))
		return false;
	return true;
}

/* A task by name, "auto" meaning the configured task auto or else the built-in one. */
static bool named_task(const struct hr_conf *c, const char *name, size_t len, struct which *w)
{
	w->t = task_find(c, name, len);
	if (w->t) {
		w->task = w->t->name;
		return true;
	}
	if (len == 4 && memcmp(name, "auto", 4) == 0) {
		w->task = "auto";
		w->builtin_auto = true;
		return true;
	}
	return false;
}

static const char *or_static(const char *m, const char *fallback)
{
	return m ? m : fallback;
}

/* A message printed into a; the static fallback when a is NULL or full. */
#define AMSG(fallback, ...) (a ? or_static(hr_arena_printf(a, __VA_ARGS__), fallback) : fallback)

static int resolve(struct hr_arena *a, const struct hr_conf *c, const struct hr_route_in *in,
                   const struct hr_features *f, struct which *w, const char **msg)
{
	const char *asked = in->model ? in->model : "";
	memset(w, 0, sizeof *w);
	if (strncmp(asked, "task:", 5) == 0) {
		w->via = HR_VIA_TASK;
		if (named_task(c, asked + 5, strlen(asked + 5), w))
			return 0;
		*msg = AMSG("no such task", "no task '%s'; see tasks: in the config", asked + 5);
		return HR_ENOMODEL;
	}
	if (in->task_header && in->task_header[0]) {
		w->via = HR_VIA_HEADER;
		if (named_task(c, in->task_header, strlen(in->task_header), w))
			return 0;
		*msg =
		    AMSG("no such task (X-Hearth-Task)",
		         "no task '%s' (X-Hearth-Task); see tasks: in the config", in->task_header);
		return HR_ENOMODEL;
	}
	for (size_t i = 0; i < c->n_rules; i++) {
		const struct hr_conf_rule *r = &c->rules[i];
		if (!r->task || !rule_matches(r, in->model, f))
			continue;
		w->via = HR_VIA_RULE;
		w->rule = i;
		if (named_task(c, r->task, strlen(r->task), w))
			return 0;
		*msg = AMSG(
		    "a rule picks a task that does not exist",
		    "rules[%zu] picks task '%s', which does not exist; fix rules: in the config", i,
		    r->task);
		return HR_ENOMODEL;
	}
	if (strcmp(asked, "auto") == 0) {
		w->via = HR_VIA_AUTO;
		named_task(c, "auto", 4, w);
		return 0;
	}
	w->model = asked[0] ? hr_conf_model_find(c, asked, strlen(asked)) : NULL;
	if (w->model) {
		w->via = HR_VIA_MODEL;
		w->task = w->model->name;
		return 0;
	}
	if (asked[0] && (w->t = task_find(c, asked, strlen(asked)))) {
		w->via = HR_VIA_TASK;
		w->task = w->t->name;
		return 0;
	}
	if (!asked[0])
		*msg =
		    "no model given; send \"model\": a configured model, 'auto' or 'task:<name>'";
	else
		*msg = AMSG("model not found",
		            "model '%s' not found; ask for a configured model, 'auto' or "
		            "'task:<name>' (GET /v1/models lists the models)",
		            asked);
	return HR_ENOMODEL;
}

/* "no model can take this request: a (why), b (why)" into a; static text when a is NULL. */
static const char *unavail_msg(struct hr_arena *a, const struct hr_plan *p, bool builtin)
{
	static const char head[] = "no model can take this request";
	if (!a)
		return head;
	struct hr_buf b = HR_BUF_INIT(MSG_MAX);
	int rc = hr_buf_addstr(&b, head);
	if (p->n_skipped == 0 && rc == 0)
		rc = !builtin ? hr_buf_addf(&b,
		                            ": task '%s' has no candidates; list models under "
		                            "tasks.%s.candidates",
		                            p->task, p->task)
		              : hr_buf_addstr(
		                    &b, ": no chat models are configured; add one under models:");
	for (size_t i = 0; i < p->n_skipped && rc == 0; i++)
		rc = hr_buf_addf(&b, "%s%s (%s)", i ? ", " : ": ", p->skipped[i].m->name,
		                 p->skipped[i].why);
	const char *m = b.ptr ? hr_arena_strndup(a, b.ptr, b.len) : NULL;
	hr_buf_release(&b);
	return m ? m : head;
}

int hr_route_plan(struct hr_arena *a, const struct hr_conf *c, const struct hr_route_in *in,
                  const struct hr_live *live, struct hr_plan *out, const char **msg)
{
	const char *ignored;
	if (!msg)
		msg = &ignored;
	*msg = NULL;
	memset(out, 0, sizeof *out);
	const struct hr_features *f = in->f ? in->f : &no_features;

	struct which w;
	int rc = resolve(a, c, in, f, &w, msg);
	if (rc < 0)
		return rc;

	out->task = w.task;
	out->via = w.via;
	out->rule = w.rule;
	out->t = w.t;
	out->strategy = w.t ? w.t->strategy : w.builtin_auto ? HR_STRAT_CHEAPEST : HR_STRAT_ORDERED;
	out->local_only = (w.t && w.t->local_only) || f->sensitive;

	struct plan_ctx ctx = {.f = f, .live = live, .out = out};
	struct plan_ctx *x = &ctx;
	x->task_local_only = w.t && w.t->local_only;
	x->order = out->strategy;
	out->p_strong = -1;
	if (out->strategy == HR_STRAT_LEARNED) {
		/* the learned router's prediction orders by price: the cheapest first while a
		 * strong model is unlikely to be needed, the priciest first when it is; without a
		 * prediction (no model loaded) the candidates stay as listed */
		x->order = HR_STRAT_ORDERED;
		if ((f->p_strong >= 0 || f->n_good) && w.t) {
			out->p_strong = f->n_good ? -1 : f->p_strong;
			out->per_model = f->n_good > 0;
			x->order = HR_STRAT_LEARNED;
			x->p_strong = f->p_strong;
			x->target = w.t->quality_target > 0 ? w.t->quality_target : 1 - w.t->threshold;
			for (size_t i = 0; i < w.t->n_candidates && i < HR_MAX_TASK_CANDIDATES; i++) {
				const char *name = w.t->candidates[i];
				const struct hr_conf_model *m =
				    name ? hr_conf_model_find(c, name, strlen(name)) : NULL;
				if (m && price(m) > x->top_price)
					x->top_price = price(m);
			}
		}
	}

	if (w.model) {
		consider(x, w.model, 0, 1.0);
	} else if (w.t) {
		size_t n = w.t->n_candidates < HR_MAX_TASK_CANDIDATES ? w.t->n_candidates
		                                                      : HR_MAX_TASK_CANDIDATES;
		for (size_t i = 0; i < n; i++) {
			const char *name = w.t->candidates[i];
			/* the loader checks that each exists; one that does not is ignored */
			const struct hr_conf_model *m =
			    name ? hr_conf_model_find(c, name, strlen(name)) : NULL;
			if (m)
				consider(x, m, i, w.t->weights ? w.t->weights[i] : 1.0);
		}
	} else {
		for (size_t i = 0; i < c->n_models; i++)
			if (!c->models[i].embeddings)
				consider(x, &c->models[i], i, 1.0);
	}

	/* a challenger that shadow evaluation proved goes first (auto_promote) */
	char pbuf[HR_NAME_MAX + 1];
	const char *pm = w.t && w.t->auto_promote && live && live->promoted
	                     ? live->promoted(live->ctx, w.t->name, pbuf, sizeof pbuf)
	                     : NULL;
	for (size_t i = 0; pm && i < x->n_ok; i++)
		if (strcmp(x->ok[i].m->name, pm) == 0) {
			struct cand first = x->ok[i];
			memmove(&x->ok[1], &x->ok[0], i * sizeof x->ok[0]);
			x->ok[0] = first;
			out->promoted = first.m;
			break;
		}

	if (x->n_ok > 0) {
		for (size_t i = 0; i < x->n_full; i++)
			add_skip(x, x->full[i].m, x->full[i].idx, "busy");
		for (size_t i = 0; i < x->n_ok; i++)
			out->cands[i] = x->ok[i].m;
		out->n = x->n_ok;
		for (size_t i = 1; i < x->n_ok && x->order == HR_STRAT_LEARNED; i++)
			out->strong_first |= price(x->ok[i].m) < price(x->ok[0].m);
	} else {
		for (size_t i = 0; i < x->n_full; i++)
			out->cands[i] = x->full[i].m;
		out->n = x->n_full;
	}
	if (out->n == 0) {
		*msg = unavail_msg(a, out, w.builtin_auto);
		return HR_EUNAVAIL;
	}
	return 0;
}

/* ---- the explanation ---- */

const char *hr_route_strategy_name(enum hr_strategy s)
{
	switch (s) {
	case HR_STRAT_ORDERED: return "ordered";
	case HR_STRAT_CHEAPEST: return "cheapest";
	case HR_STRAT_BALANCED: return "balanced";
	case HR_STRAT_CASCADE: return "cascade";
	case HR_STRAT_LEARNED: return "learned";
	}
	return "ordered";
}

/* Appends s with every byte outside [A-Za-z0-9._:/-] replaced by '?'. */
static int add_safe(struct hr_buf *b, const char *s)
{
	int rc = 0;
	for (const char *p = s ? s : ""; *p && rc == 0; p++) {
		char ch = *p;
		bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		          (ch >= '0' && ch <= '9') || ch == '.' || ch == '_' || ch == ':' ||
		          ch == '/' || ch == '-';
		rc = hr_buf_addch(b, ok ? ch : '?');
	}
	return rc;
}

int hr_route_explain(const struct hr_plan *p, long chosen, size_t max, struct hr_buf *out)
{
	/* Built in a scratch buffer, then copied cut to max bytes. With no model answered
	 * (chosen -1 or out of range) "; model=" is left out, with no skips "; skipped=". An
	 * error appending to out (HR_ETOOBIG: out's own cap) is passed on. */
	struct hr_buf b = HR_BUF_INIT((size_t)1 << 20);
	size_t cuts[HR_MAX_TASK_CANDIDATES + 1]; /* where the skip list may be cut */
	size_t n_cuts = 0;
	int rc = hr_buf_addstr(&b, "task=");
	if (rc == 0)
		rc = add_safe(&b, p->task);
	if (rc == 0) {
		switch (p->via) {
		case HR_VIA_MODEL: rc = hr_buf_addstr(&b, "; via=model"); break;
		case HR_VIA_TASK: rc = hr_buf_addstr(&b, "; via=task"); break;
		case HR_VIA_HEADER: rc = hr_buf_addstr(&b, "; via=header"); break;
		case HR_VIA_RULE: rc = hr_buf_addf(&b, "; via=rule:%zu", p->rule); break;
		case HR_VIA_AUTO: rc = hr_buf_addstr(&b, "; via=auto"); break;
		}
	}
	if (rc == 0)
		rc = hr_buf_addf(&b, "; strategy=%s", hr_route_strategy_name(p->strategy));
	if (rc == 0 && p->strategy == HR_STRAT_LEARNED && p->per_model)
		rc = hr_buf_addf(&b, ":per_model:%s", p->strong_first ? "strong_first" : "cheap_first");
	else if (rc == 0 && p->strategy == HR_STRAT_LEARNED)
		rc = p->p_strong >= 0
		         ? hr_buf_addf(&b, ":p_strong=%.2f:%s", p->p_strong,
		                       p->strong_first ? "strong_first" : "cheap_first")
		         : hr_buf_addstr(&b, ":no_model:ordered");
	if (rc == 0 && p->promoted) {
		rc = hr_buf_addstr(&b, ":promoted=");
		if (rc == 0)
			rc = add_safe(&b, p->promoted->name);
	}
	if (rc == 0 && chosen >= 0 && (size_t)chosen < p->n && p->cands[chosen]) {
		rc = hr_buf_addstr(&b, "; model=");
		if (rc == 0)
			rc = add_safe(&b, p->cands[chosen]->name);
	}
	if (rc == 0 && p->n_skipped > 0) {
		rc = hr_buf_addstr(&b, "; skipped=");
		cuts[n_cuts++] = b.len;
		for (size_t i = 0; i < p->n_skipped && rc == 0; i++) {
			if (i)
				rc = hr_buf_addch(&b, ',');
			if (rc == 0)
				rc = add_safe(&b, p->skipped[i].m ? p->skipped[i].m->name : "?");
			if (rc == 0)
				rc = hr_buf_addch(&b, ':');
			/* reasons are static phrases of this file (letters and spaces) */
			if (rc == 0)
				rc = hr_buf_addstr(&b, p->skipped[i].why ? p->skipped[i].why : "");
			if (i + 1 < p->n_skipped)
				cuts[n_cuts++] = b.len + 1; /* after the ',' to come */
		}
	}
	if (rc < 0) {
		hr_buf_release(&b);
		return rc == HR_ETOOBIG ? HR_ENOMEM : rc;
	}
	if (b.len <= max) {
		rc = hr_buf_add(out, b.ptr, b.len);
	} else {
		/* cut the skip list after the last whole item that fits with "..." */
		size_t keep = max >= 3 ? max - 3 : max; /* no room for "...": cut raw */
		size_t at = 0;
		for (size_t i = 0; i < n_cuts; i++)
			if (cuts[i] <= keep)
				at = cuts[i];
		if (at == 0)
			at = keep; /* even the fixed part does not fit: cut it raw */
		rc = hr_buf_add(out, b.ptr, at);
		if (rc == 0 && max >= 3)
			rc = hr_buf_addstr(out, "...");
	}
	hr_buf_release(&b);
	return rc;
}
