/* shadow.c - learning online: kept prompts, shadow evaluation with a judge, promotions.
 * See shadow.h for the shape of it and docs/router.md for what an operator sees. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/req.h"
#include "api/shadow.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/log.h"
#include "http/client.h"
#include "http/server.h"
#include "learn/learn.h"
#include "storage/store.h"

#define SHADOW_MAX_INFLIGHT 8                /* jobs at once, per process */
#define SHADOW_ARENA        (16u * 1024 * 1024) /* one job's memory */
#define SHADOW_ANSWER_MAX   (1u * 1024 * 1024)  /* what is read of an internal answer */
#define PROMOTIONS_MAX      1024                /* tasks with a promotion kept in memory */
#define DAY_MS              86400000LL

/* The judge's instructions (docs/router.md quotes them). */
static const char judge_system[] =
    "You are an impartial judge of answers to a user's request. Rate how well each answer "
    "serves the request: correct, helpful, complete and clear. Reply with only a JSON "
    "object: {\"a\": <1-10 for answer A>, \"b\": <1-10 for answer B>}.";

struct promo {
	char task[HR_NAME_MAX + 1], model[HR_NAME_MAX + 1];
};

struct spend {
	char task[HR_NAME_MAX + 1];
	int64_t day; /* UTC day number the sum is for */
	double usd;
};

struct job;

struct loaded {
	char *path;
	struct hr_learn_model *m;
};

struct hr_learn_live {
	struct hr_store *store;
	pthread_mutex_t mu; /* guards everything below */
	char url[160];      /* "http://127.0.0.1:8420", empty until the server listens */
	char token[65];     /* X-Hearth-Internal of hearth's own calls: 32 random bytes, hex */
	struct promo promos[PROMOTIONS_MAX];
	size_t n_promos;
	struct spend *spends; /* per task, today's shadow spend */
	size_t n_spends, cap_spends;
	struct job *jobs; /* running, for the free at exit */
	struct loaded *models; /* task router models, newest last; all kept until the end */
	size_t n_models, cap_models;
	atomic_int inflight;
};

enum stage { ST_OTHER, ST_JUDGE };

struct job {
	struct job *prev, *next; /* in l->jobs */
	struct hr_learn_live *l;
	struct hr_arena *a; /* owns the job and every string below */
	struct hr_client *client;
	struct hr_call *call;
	enum stage stage;
	char rid[32];
	const char *task, *served, *other, *judge, *path;
	bool anthropic; /* the client's dialect: the other model is asked in it */
	const char *prompt, *served_text, *other_text;
	double price_in[2], price_out[2]; /* per Mtok: [ST_OTHER] the other, [ST_JUDGE] judge */
	bool swap;                        /* the judge sees the served answer as B */
	struct hr_buf body, resp;
	long status;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int load_promo(void *arg, const struct hr_promotion *p)
{
	struct hr_learn_live *l = arg;
	if (l->n_promos < PROMOTIONS_MAX && strlen(p->task) <= HR_NAME_MAX &&
	    strlen(p->model) <= HR_NAME_MAX) {
		struct promo *d = &l->promos[l->n_promos++];
		snprintf(d->task, sizeof d->task, "%s", p->task);
		snprintf(d->model, sizeof d->model, "%s", p->model);
	}
	return 0;
}

struct hr_learn_live *hr_learn_live_new(struct hr_store *st)
{
	struct hr_learn_live *l = calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->store = st;
	pthread_mutex_init(&l->mu, NULL);
	unsigned char raw[32];
	randombytes_buf(raw, sizeof raw);
	sodium_bin2hex(l->token, sizeof l->token, raw, sizeof raw);
	sodium_memzero(raw, sizeof raw);
	if (st && st->ops->promotion_scan(st, load_promo, l) < 0)
		HR_LOG_WARN(ROUTE, "task promotions could not be read; tasks keep their order");
	return l;
}

static void job_free(struct job *j)
{
	hr_buf_release(&j->body);
	hr_buf_release(&j->resp);
	hr_arena_destroy(j->a);
}

void hr_learn_live_free(struct hr_learn_live *l)
{
	if (!l)
		return;
	for (struct job *j = l->jobs, *next; j; j = next) {
		next = j->next;
		job_free(j); /* its call died with its worker's client */
	}
	sodium_memzero(l->token, sizeof l->token);
	for (size_t i = 0; i < l->n_models; i++) {
		free(l->models[i].path);
		hr_learn_model_free(l->models[i].m);
	}
	free(l->models);
	free(l->spends);
	pthread_mutex_destroy(&l->mu);
	free(l);
}

void hr_learn_live_listen(struct hr_learn_live *l, const char *host, int port)
{
	/* a wildcard address is reached on loopback */
	bool any = !host || !*host || strcmp(host, "0.0.0.0") == 0 || strcmp(host, "::") == 0;
	bool v6 = !any && strchr(host, ':');
	pthread_mutex_lock(&l->mu);
	snprintf(l->url, sizeof l->url, "http://%s%s%s:%d", v6 ? "[" : "",
	         any ? "127.0.0.1" : host, v6 ? "]" : "", port);
	pthread_mutex_unlock(&l->mu);
}

bool hr_learn_promoted(struct hr_learn_live *l, const char *task, char *out, size_t cap)
{
	bool found = false;
	if (!l || !task)
		return false;
	pthread_mutex_lock(&l->mu);
	for (size_t i = 0; i < l->n_promos && !found; i++)
		if (strcmp(l->promos[i].task, task) == 0) {
			snprintf(out, cap, "%s", l->promos[i].model);
			found = true;
		}
	pthread_mutex_unlock(&l->mu);
	return found;
}

/* Whether m can order t's candidates: a strong-model output, or an output per model for at
 * least one candidate. */
static bool model_fits(const struct hr_learn_model *m, const struct hr_conf_task *t)
{
	if (hr_learn_model_gain(m) >= 0)
		return true;
	for (size_t i = 0; i < m->n_outs; i++)
		for (size_t k = 0; k < t->n_candidates; k++)
			if (m->outs[i].kind == HR_LEARN_OUT_MODEL &&
			    strcmp(m->outs[i].model, t->candidates[k]) == 0)
				return true;
	return false;
}

void hr_learn_live_load_models(struct hr_learn_live *l, const struct hr_conf *c)
{
	for (size_t i = 0; i < c->n_tasks; i++) {
		const struct hr_conf_task *t = &c->tasks[i];
		if (!t->router_model || t->strategy != HR_STRAT_LEARNED)
			continue;
		struct hr_learn_model *m = NULL;
		struct hr_buf err = HR_BUF_INIT(4096);
		int rc = hr_learn_model_load(t->router_model, &m, &err);
		if (rc == 0 && !model_fits(m, t))
			rc = HR_EINVAL;
		char *path = rc == 0 ? strdup(t->router_model) : NULL;
		pthread_mutex_lock(&l->mu);
		if (path && l->n_models == l->cap_models) {
			size_t cap = l->cap_models ? 2 * l->cap_models : 8;
			struct loaded *v = realloc(l->models, cap * sizeof *v);
			if (v) {
				l->models = v;
				l->cap_models = cap;
			}
		}
		bool kept = path && l->n_models < l->cap_models;
		if (kept)
			l->models[l->n_models++] = (struct loaded){path, m};
		pthread_mutex_unlock(&l->mu);
		if (kept) {
			HR_LOG_INFO(ROUTE, "task '%s': router model '%s' (%zu rows trained on)",
			            t->name, t->router_model, m->n_train);
		} else {
			HR_LOG_WARN(ROUTE,
			            "task '%s': the router model '%s' cannot be used (%s); the task "
			            "uses router.model",
			            t->name, t->router_model,
			            err.ptr ? err.ptr
			            : rc == HR_EINVAL
			                ? "it predicts none of the task's candidates"
			                : "out of memory");
			free(path);
			hr_learn_model_free(m);
		}
		hr_buf_release(&err);
	}
}

const struct hr_learn_model *hr_learn_live_model(struct hr_learn_live *l, const char *path)
{
	const struct hr_learn_model *m = NULL;
	if (!l || !path)
		return NULL;
	pthread_mutex_lock(&l->mu);
	for (size_t i = l->n_models; i-- > 0 && !m;)
		if (strcmp(l->models[i].path, path) == 0)
			m = l->models[i].m;
	pthread_mutex_unlock(&l->mu);
	return m;
}

bool hr_learn_internal_ok(struct hr_learn_live *l, const char *token)
{
	unsigned char a[crypto_generichash_BYTES], b[crypto_generichash_BYTES];
	if (!l || !token)
		return false;
	crypto_generichash(a, sizeof a, (const unsigned char *)token, strlen(token), NULL, 0);
	crypto_generichash(b, sizeof b, (const unsigned char *)l->token, strlen(l->token), NULL, 0);
	return sodium_memcmp(a, b, sizeof a) == 0;
}

bool hr_learn_sampled(const struct hr_req *rq, const struct hr_conf_task *t)
{
	if (!t || t->shadow_sample <= 0 || rq->origin || !rq->api->learn)
		return false;
	if (t->shadow_sample >= 1)
		return true;
	return (double)randombytes_uniform(1000000) < t->shadow_sample * 1e6;
}

const struct hr_str *hr_learn_prompt_of(const struct hr_chat_req *creq)
{
	for (size_t i = creq->n_msgs; i-- > 0;)
		if (creq->msgs[i].role == HR_ROLE_USER)
			for (size_t j = 0; j < creq->msgs[i].n_parts; j++)
				if (creq->msgs[i].parts[j].type == HR_PART_TEXT &&
				    creq->msgs[i].parts[j].text.len)
					return &creq->msgs[i].parts[j].text;
	return NULL;
}

/* ---- today's shadow spend, per task ---- */

/* Adds usd to task's sum of today (seeded from the store on the day's first use) and
 * returns the new sum; usd 0 only reads. Lock held by the caller. */
static double spend_locked(struct hr_learn_live *l, const char *task, double usd)
{
	int64_t now = now_ms(), day = now / DAY_MS;
	struct spend *sp = NULL;
	for (size_t i = 0; i < l->n_spends && !sp; i++)
		if (strcmp(l->spends[i].task, task) == 0)
			sp = &l->spends[i];
	if (!sp && strlen(task) <= HR_NAME_MAX) {
		if (l->n_spends == l->cap_spends) {
			size_t cap = l->cap_spends ? l->cap_spends * 2 : 16;
			struct spend *v = realloc(l->spends, cap * sizeof *v);
			if (!v)
				return INFINITY; /* fail closed: no shadow call */
			l->spends = v;
			l->cap_spends = cap;
		}
		sp = &l->spends[l->n_spends++];
		snprintf(sp->task, sizeof sp->task, "%s", task);
		sp->day = -1;
	}
	if (!sp)
		return INFINITY;
	if (sp->day != day) {
		double v = 0;
		if (l->store->ops->usage_spent_internal(l->store, task, day * DAY_MS, &v) < 0)
			return INFINITY;
		sp->day = day;
		sp->usd = v;
	}
	sp->usd += usd;
	return sp->usd;
}

static void spend_add(struct hr_learn_live *l, const char *task, double usd)
{
	pthread_mutex_lock(&l->mu);
	(void)spend_locked(l, task, usd);
	pthread_mutex_unlock(&l->mu);
}

/* ---- promotions ---- */

static void promo_set_locked(struct hr_learn_live *l, const char *task, const char *model)
{
	size_t i = 0;
	while (i < l->n_promos && strcmp(l->promos[i].task, task) != 0)
		i++;
	if (!model) {
		if (i < l->n_promos)
			l->promos[i] = l->promos[--l->n_promos];
		return;
	}
	if (i == l->n_promos) {
		if (l->n_promos == PROMOTIONS_MAX)
			return;
		l->n_promos++;
	}
	snprintf(l->promos[i].task, sizeof l->promos[i].task, "%s", task);
	snprintf(l->promos[i].model, sizeof l->promos[i].model, "%s", model);
}

/* Re-reads the task's judged pairs and applies auto_promote's verdict when it changes the
 * task's state: a promotion row and an audit event, both or neither. */
static void check_promotion(struct hr_learn_live *l, const struct hr_conf_task *t)
{
	if (!t->auto_promote || !t->challenger || !t->reference)
		return;
	struct hr_learn_pairs pairs;
	if (hr_learn_task_pairs(l->store, t->name, t->challenger, t->reference, &pairs) < 0)
		return;
	struct hr_learn_pair_stats st;
	hr_learn_pairs_stats(&pairs, &st);
	enum hr_learn_verdict v =
	    hr_learn_promote_verdict(&st, (size_t)t->promote_min_samples, t->promote_margin);
	char cur[HR_NAME_MAX + 1];
	bool promoted = hr_learn_promoted(l, t->name, cur, sizeof cur) &&
	                strcmp(cur, t->challenger) == 0;
	if ((v == HR_LEARN_PROMOTE) == promoted || v == HR_LEARN_UNDECIDED)
		return;
	char detail[512];
	snprintf(detail, sizeof detail,
	         "%s vs %s over %zu judged pairs: mean %.3f vs %.3f, difference %.3f "
	         "[%.3f, %.3f] (95%%), margin %.3f: %s",
	         t->challenger, t->reference, st.n, st.challenger, st.reference, st.diff, st.diff_lo,
	         st.diff_hi, t->promote_margin, hr_learn_verdict_name(v));
	struct hr_promotion p = {.task = t->name,
	                         .model = v == HR_LEARN_PROMOTE ? t->challenger : NULL,
	                         .ts_ms = now_ms(),
	                         .detail = detail};
	struct hr_audit_event ev = {.ts_ms = p.ts_ms,
	                            .actor = "router",
	                            .action = v == HR_LEARN_PROMOTE ? "task.promote" : "task.demote",
	                            .object = t->name,
	                            .detail = detail};
	if (l->store->ops->promotion_set(l->store, &p) < 0 ||
	    l->store->ops->audit_append(l->store, &ev) < 0) {
		HR_LOG_ERROR(ROUTE, "task '%s': the promotion could not be stored; nothing changes",
		             t->name);
		return;
	}
	pthread_mutex_lock(&l->mu);
	promo_set_locked(l, t->name, p.model);
	pthread_mutex_unlock(&l->mu);
	HR_LOG_INFO(ROUTE, "task '%s': %s %s (%s)", t->name,
	            v == HR_LEARN_PROMOTE ? "promoted" : "demoted", t->challenger, detail);
}

/* ---- the job ---- */

static void job_end(struct job *j)
{
	struct hr_learn_live *l = j->l;
	pthread_mutex_lock(&l->mu);
	if (j->prev)
		j->prev->next = j->next;
	else
		l->jobs = j->next;
	if (j->next)
		j->next->prev = j->prev;
	pthread_mutex_unlock(&l->mu);
	atomic_fetch_sub(&l->inflight, 1);
	job_free(j);
}

static int on_headers(void *arg, long status, const char *retry_after)
{
	(void)retry_after;
	((struct job *)arg)->status = status;
	return 0;
}

static int on_data(void *arg, const char *p, size_t n)
{
	struct job *j = arg;
	return hr_buf_add(&j->resp, p, n) < 0 ? HR_ETOOBIG : 0;
}

static void on_done(void *arg, int rc);

/* Starts one of hearth's own calls (o->url is the path; headers and timeouts are set here;
 * the rest of o is the caller's). */
static int internal_call(struct hr_learn_live *l, struct hr_client *client, struct hr_arena *a,
                         const char *origin, const char *parent, const char *task,
                         struct hr_call_opts *o, struct hr_call **out)
{
	char url[256];
	pthread_mutex_lock(&l->mu);
	bool listening = l->url[0] != '\0';
	snprintf(url, sizeof url, "%s%s", l->url, o->url);
	pthread_mutex_unlock(&l->mu);
	const char *h[6] = {
	    "Content-Type: application/json",
	    hr_arena_printf(a, "X-Hearth-Internal: %s", l->token),
	    hr_arena_printf(a, "X-Hearth-Origin: %s", origin),
	    hr_arena_printf(a, "X-Hearth-Parent: %s", parent),
	    hr_arena_printf(a, "X-Hearth-Parent-Task: %s", task ? task : ""),
	    NULL,
	};
	if (!listening)
		return HR_EUNAVAIL;
	if (!h[1] || !h[2] || !h[3] || !h[4])
		return HR_ENOMEM;
	o->url = url;
	o->headers = h; /* copied by hr_call_start */
	o->connect_timeout_ms = 5000;
	o->total_timeout_ms = 600000;
	return hr_call_start(client, o, out);
}

int hr_learn_internal_call(struct hr_req *rq, const char *origin, struct hr_call_opts *o,
                           struct hr_call **out)
{
	const char *task = rq->usage && rq->usage->task ? rq->usage->task : NULL;
	if (!rq->api->learn)
		return HR_EUNAVAIL;
	return internal_call(rq->api->learn, rq->w->client, rq->arena, origin, rq->id, task, o, out);
}

static int start_call(struct job *j, const char *path, const char *origin)
{
	hr_buf_reset(&j->resp);
	j->status = 0;
	struct hr_call_opts o = {
	    .url = path,
	    .body = j->body.ptr,
	    .body_len = j->body.len,
	    .rid = j->rid,
	    .on_headers = on_headers,
	    .on_data = on_data,
	    .on_done = on_done,
	    .arg = j,
	};
	return internal_call(j->l, j->client, j->a, origin, j->rid, j->task, &o, &j->call);
}

/* The text and token counts of an answer of our own API, in the dialect asked. */
static const char *answer_text(struct job *j, bool anthropic, double *cost, int k)
{
	json_t *root = json_loadb(j->resp.ptr ? j->resp.ptr : "", j->resp.len, 0, NULL);
	struct hr_buf t = HR_BUF_INIT(HR_SHADOW_TEXT_MAX);
	const char *out = NULL;
	if (!root)
		return NULL;
	json_t *usage = json_object_get(root, "usage");
	double in = json_number_value(json_object_get(usage, anthropic ? "input_tokens"
	                                                               : "prompt_tokens"));
	double outt = json_number_value(
	    json_object_get(usage, anthropic ? "output_tokens" : "completion_tokens"));
	*cost = in * j->price_in[k] / 1e6 + outt * j->price_out[k] / 1e6;
	if (anthropic) {
		json_t *blk;
		size_t i;
		json_array_foreach(json_object_get(root, "content"), i, blk)
		{
			const char *s = json_string_value(json_object_get(blk, "text"));
			if (s && hr_buf_addstr(&t, s) < 0)
				break; /* the judge sees the first HR_SHADOW_TEXT_MAX bytes */
		}
	} else {
		json_t *msg = json_object_get(json_array_get(json_object_get(root, "choices"), 0),
		                              "message");
		const char *s = json_string_value(json_object_get(msg, "content"));
		if (s)
			(void)hr_buf_add(&t, s, strnlen(s, HR_SHADOW_TEXT_MAX));
	}
	if (t.len)
		out = hr_arena_strndup(j->a, t.ptr, t.len);
	hr_buf_release(&t);
	json_decref(root);
	return out;
}

static int judge_body(struct job *j)
{
	const char *first = j->swap ? j->other_text : j->served_text;
	const char *second = j->swap ? j->served_text : j->other_text;
	json_t *root = json_object();
	json_t *msgs = json_array();
	json_t *sys = json_object(), *user = json_object();
	char *content = NULL;
	int rc = HR_ENOMEM;
	struct hr_buf u = HR_BUF_INIT(3 * HR_SHADOW_TEXT_MAX + 1024);
	if (hr_buf_addf(&u, "[Request]\n%s\n\n[Answer A]\n%s\n\n[Answer B]\n%s", j->prompt, first,
	                second) == 0 &&
	    root && msgs && sys && user) {
		json_object_set_new(sys, "role", json_string("system"));
		json_object_set_new(sys, "content", json_string(judge_system));
		json_object_set_new(user, "role", json_string("user"));
		json_object_set_new(user, "content", json_stringn(u.ptr, u.len));
		json_array_append(msgs, sys);
		json_array_append(msgs, user);
		json_object_set_new(root, "model", json_string(j->judge));
		json_object_set_new(root, "temperature", json_integer(0));
		json_object_set(root, "messages", msgs);
		content = json_dumps(root, JSON_COMPACT);
	}
	hr_buf_reset(&j->body);
	if (content && hr_buf_addstr(&j->body, content) == 0)
		rc = 0;
	free(content);
	hr_buf_release(&u);
	json_decref(sys);
	json_decref(user);
	json_decref(msgs);
	json_decref(root);
	return rc;
}

static void store_scores(struct job *j, double served, double other)
{
	struct hr_learn_live *l = j->l;
	int64_t ts = now_ms();
	struct hr_learn_score a = {.model = j->served, .source = "judge", .score = served};
	struct hr_learn_score b = {.model = j->other, .source = "judge", .score = other};
	if (l->store->ops->learn_score_put(l->store, j->rid, j->task, &a, j->judge, ts) < 0 ||
	    l->store->ops->learn_score_put(l->store, j->rid, j->task, &b, j->judge, ts) < 0)
		return;
	HR_RLOG_INFO(j->rid, ROUTE, "shadow evaluation of task '%s': %s %.2f, %s %.2f (judge %s)",
	             j->task, j->served, served, j->other, other, j->judge);
	struct hr_conf *c = hr_conf_current();
	const struct hr_conf_task *t = c ? hr_conf_task_find(c, j->task, strlen(j->task)) : NULL;
	if (t)
		check_promotion(l, t);
	hr_conf_release(c);
}

static void on_done(void *arg, int rc)
{
	struct job *j = arg;
	const char *who = j->stage == ST_OTHER ? j->other : j->judge;
	j->call = NULL;
	if (rc < 0 || j->status != 200) {
		HR_RLOG_WARN(j->rid, ROUTE,
		             "shadow evaluation of task '%s' stopped: %s '%s' answered %s%ld",
		             j->task, j->stage == ST_OTHER ? "model" : "judge", who,
		             rc < 0 ? "nothing, " : "HTTP ", rc < 0 ? (long)rc : j->status);
		job_end(j);
		return;
	}
	double cost = 0;
	if (j->stage == ST_OTHER) {
		j->other_text = answer_text(j, j->anthropic, &cost, ST_OTHER);
		spend_add(j->l, j->task, cost);
		if (!j->other_text) {
			HR_RLOG_WARN(j->rid, ROUTE,
			             "shadow evaluation of task '%s' stopped: '%s' gave no text",
			             j->task, who);
			job_end(j);
			return;
		}
		j->stage = ST_JUDGE;
		if (judge_body(j) < 0 || start_call(j, "/v1/chat/completions", "judge") < 0) {
			HR_RLOG_WARN(j->rid, ROUTE, "shadow evaluation of task '%s': no judge call",
			             j->task);
			job_end(j);
		}
		return;
	}
	const char *verdict = answer_text(j, false, &cost, ST_JUDGE);
	spend_add(j->l, j->task, cost);
	double a, b;
	if (!verdict || hr_learn_judge_parse(verdict, strlen(verdict), &a, &b) < 0) {
		HR_RLOG_WARN(j->rid, ROUTE,
		             "shadow evaluation of task '%s': the judge '%s' gave no scores "
		             "(want {\"a\": 1-10, \"b\": 1-10})",
		             j->task, j->judge);
		job_end(j);
		return;
	}
	store_scores(j, j->swap ? b : a, j->swap ? a : b);
	job_end(j);
}

/* The client's request, for the other model: same messages and options, not streamed. */
static int other_body(struct job *j, struct hr_req *rq)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *p = (const char *)evbuffer_pullup(in, -1);
	json_t *root = p ? json_loadb(p, len, 0, NULL) : NULL;
	char *s = NULL;
	int rc = HR_EINVAL;
	if (json_is_object(root)) {
		json_object_set_new(root, "model", json_string(j->other));
		json_object_del(root, "stream");
		json_object_del(root, "stream_options");
		s = json_dumps(root, JSON_COMPACT);
		rc = s && hr_buf_addstr(&j->body, s) == 0 ? 0 : HR_ENOMEM;
	}
	free(s);
	json_decref(root);
	return rc;
}

static void keep_prompt(struct hr_req *rq, const struct hr_conf_task *t, const char *model,
                        const struct hr_str *prompt)
{
	struct hr_store *st = rq->api->store;
	char *p = hr_arena_strndup(rq->arena, prompt->ptr, prompt->len);
	struct hr_learn_sample smp = {.request_id = rq->id,
	                              .task = t->name,
	                              .model = model,
	                              .prompt = p,
	                              .ts_ms = rq->usage ? rq->usage->ts_ms : now_ms()};
	if (p && st->ops->learn_sample_put(st, &smp) < 0)
		HR_RLOG_WARN(rq->id, ROUTE, "the prompt of task '%s' could not be kept for learning",
		             t->name);
}

void hr_learn_answered(struct hr_req *rq, const struct hr_learn_answer *a)
{
	struct hr_learn_live *l = rq->api->learn;
	const struct hr_conf_task *t = a->t;
	if (!l || !t || rq->origin || !a->model)
		return;
	const struct hr_str *prompt = hr_learn_prompt_of(a->creq);
	if (!prompt)
		return;
	if (t->keep_prompts || a->shadow)
		keep_prompt(rq, t, a->model, prompt);
	if (!a->shadow)
		return;
	/* the other of the pair: the reference unless the reference answered */
	const char *other = t->reference && strcmp(a->model, t->reference) != 0 ? t->reference
	                                                                         : t->challenger;
	if (!other || !t->judge || !a->text || a->text_len == 0) {
		HR_RLOG_DEBUG(rq->id, ROUTE, "no shadow evaluation: %s",
		              !a->text_len ? "the answer has no text" : "no pair or judge");
		return;
	}
	pthread_mutex_lock(&l->mu);
	bool listening = l->url[0] != '\0';
	double spent = listening ? spend_locked(l, t->name, 0) : 0;
	pthread_mutex_unlock(&l->mu);
	if (!listening || spent >= t->shadow_budget_usd) {
		HR_RLOG_INFO(rq->id, ROUTE,
		             "no shadow evaluation of task '%s': %s", t->name,
		             listening ? "today's shadow_budget_usd is spent" : "not listening yet");
		return;
	}
	if (atomic_fetch_add(&l->inflight, 1) >= SHADOW_MAX_INFLIGHT) {
		atomic_fetch_sub(&l->inflight, 1);
		HR_RLOG_INFO(rq->id, ROUTE, "no shadow evaluation of task '%s': %d already running",
		             t->name, SHADOW_MAX_INFLIGHT);
		return;
	}
	struct hr_arena *ja = hr_arena_create(SHADOW_ARENA);
	struct job *j = ja ? hr_arena_calloc(ja, sizeof *j) : NULL;
	const struct hr_conf_model *om = hr_conf_model_find(rq->conf, other, strlen(other));
	const struct hr_conf_model *jm = hr_conf_model_find(rq->conf, t->judge, strlen(t->judge));
	if (!j) {
		hr_arena_destroy(ja);
		atomic_fetch_sub(&l->inflight, 1);
		return;
	}
	j->a = ja;
	j->l = l;
	j->client = rq->w->client;
	j->body = (struct hr_buf)HR_BUF_INIT(rq->conf->server.max_body_bytes);
	j->resp = (struct hr_buf)HR_BUF_INIT(SHADOW_ANSWER_MAX);
	snprintf(j->rid, sizeof j->rid, "%s", rq->id);
	j->task = hr_arena_strndup(ja, t->name, strlen(t->name));
	j->served = hr_arena_strndup(ja, a->model, strlen(a->model));
	j->other = hr_arena_strndup(ja, other, strlen(other));
	j->judge = hr_arena_strndup(ja, t->judge, strlen(t->judge));
	j->prompt = hr_arena_strndup(ja, prompt->ptr, prompt->len);
	j->served_text = hr_arena_strndup(ja, a->text, a->text_len);
	j->anthropic = rq->dialect == HR_DIALECT_ANTHROPIC;
	j->path = j->anthropic ? "/v1/messages" : "/v1/chat/completions";
	j->price_in[ST_OTHER] = om ? om->input_price_per_mtok : 0;
	j->price_out[ST_OTHER] = om ? om->output_price_per_mtok : 0;
	j->price_in[ST_JUDGE] = jm ? jm->input_price_per_mtok : 0;
	j->price_out[ST_JUDGE] = jm ? jm->output_price_per_mtok : 0;
	j->swap = (randombytes_random() & 1) != 0; /* the judge's side bias averages out */
	pthread_mutex_lock(&l->mu);
	j->next = l->jobs;
	if (l->jobs)
		l->jobs->prev = j;
	l->jobs = j;
	pthread_mutex_unlock(&l->mu);
	if (!j->task || !j->served || !j->other || !j->judge || !j->prompt || !j->served_text ||
	    other_body(j, rq) < 0 || start_call(j, j->path, "shadow") < 0) {
		HR_RLOG_WARN(rq->id, ROUTE, "shadow evaluation of task '%s' could not start",
		             t->name);
		job_end(j);
		return;
	}
	HR_RLOG_DEBUG(rq->id, ROUTE, "shadow evaluation of task '%s': asking '%s'", t->name,
	              other);
}
