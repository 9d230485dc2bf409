/* metrics.c - the fixed metrics registry: label values interned per dimension (lock only
 * on a new value), series in open-addressed tables of atomics keyed by their label indices,
 * and the Prometheus text writer. */
#include "telemetry/metrics.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/limits.h"

/* ---- label dimensions ---- */

enum dim { D_MODEL, D_PROVIDER, D_TASK, D_STATUS, D_ORIGIN, D_DIRECTION, D_STRATEGY, D_VIA, D__N };

#define DIM_SLOTS 512 /* hash slots, > 2 * HR_METRICS_MAX_VALUES */
_Static_assert(HR_METRICS_MAX_VALUES < 256, "a value index fits a byte of a series key");

struct dimtab {
	pthread_mutex_t mu;         /* guards inserts */
	atomic_int n;               /* values[0..n) are set; 0 is "other" */
	atomic_int slot[DIM_SLOTS]; /* 0 empty, else value index + 1 */
	char values[HR_METRICS_MAX_VALUES][HR_NAME_MAX + 1];
};

static struct dimtab dims[D__N];

static uint32_t hash_str(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

/* The index of value s in dimension d, adding it when new; 0 ("other") when s is too long
 * or the dimension is full. */
static unsigned intern(enum dim d, const char *s)
{
	struct dimtab *t = &dims[d];
	size_t len = strnlen(s, HR_NAME_MAX + 1);
	if (len == 0 || len > HR_NAME_MAX)
		return 0;
	uint32_t h = hash_str(s) & (DIM_SLOTS - 1);
	for (uint32_t i = h;; i = (i + 1) & (DIM_SLOTS - 1)) {
		int v = atomic_load_explicit(&t->slot[i], memory_order_acquire);
		if (v == 0)
			break;
		if (strcmp(t->values[v - 1], s) == 0)
			return (unsigned)(v - 1);
	}
	/* new: insert under the lock (another thread may have just done it) */
	unsigned idx = 0;
	pthread_mutex_lock(&t->mu);
	for (uint32_t i = h;; i = (i + 1) & (DIM_SLOTS - 1)) {
		int v = atomic_load_explicit(&t->slot[i], memory_order_relaxed);
		if (v && strcmp(t->values[v - 1], s) == 0) {
			idx = (unsigned)(v - 1);
			break;
		}
		if (v == 0) {
			int n = atomic_load_explicit(&t->n, memory_order_relaxed);
			if (n < HR_METRICS_MAX_VALUES) {
				memcpy(t->values[n], s, len + 1);
				atomic_store_explicit(&t->n, n + 1, memory_order_release);
				atomic_store_explicit(&t->slot[i], n + 1, memory_order_release);
				idx = (unsigned)n;
			}
			break;
		}
	}
	pthread_mutex_unlock(&t->mu);
	return idx;
}

/* ---- families and series ---- */

enum ftype { F_COUNTER, F_COUNTER_F, F_HISTOGRAM };

#define MAX_LABELS 5

struct family {
	const char *name, *help;
	enum ftype type;
	int nl;
	enum dim dim[MAX_LABELS];
	const char *lname[MAX_LABELS];
	const double *bounds; /* histograms: upper bounds, ascending; +Inf implied */
	int nb;
	size_t cap;             /* series slots, a power of two */
	size_t stride;          /* values per series */
	_Atomic uint64_t *keys; /* 0 empty; else 1 << 63 | label indices, a byte each */
	_Atomic uint64_t *vals; /* cap * stride: counts, or a double's bits */
};

static const double dur_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                    1,     2.5,  5,     10,   30,  60,   120};
#define NB (int)(sizeof dur_bounds / sizeof dur_bounds[0])

enum {
	M_REQUESTS,
	M_DURATION,
	M_TTFB,
	M_TOKENS,
	M_COST,
	M_ROUTE,
	M_RETRIES,
	M_FALLBACKS,
	M_ESCALATIONS,
	M__N
};

/* one family per few lines reads better than one field per line */
/* clang-format off */
static struct family fams[M__N] = {
    [M_REQUESTS] = {"hearth_requests_total",
                    "Requests answered, by model, provider, task, HTTP status and origin.",
                    F_COUNTER, 5, {D_MODEL, D_PROVIDER, D_TASK, D_STATUS, D_ORIGIN},
                    {"model", "provider", "task", "status", "origin"}, NULL, 0, 8192, 1,
                    NULL, NULL},
    [M_DURATION] = {"hearth_request_duration_seconds",
                    "Time from a request's first byte in to its last byte out.", F_HISTOGRAM,
                    1, {D_MODEL}, {"model"}, dur_bounds, NB, 512, NB + 2, NULL, NULL},
    [M_TTFB] = {"hearth_time_to_first_byte_seconds",
                "Time from a request's arrival to the first byte of its answer.", F_HISTOGRAM,
                1, {D_MODEL}, {"model"}, dur_bounds, NB, 512, NB + 2, NULL, NULL},
    [M_TOKENS] = {"hearth_tokens_total", "Tokens, by model and direction (input or output).",
                  F_COUNTER, 2, {D_MODEL, D_DIRECTION}, {"model", "direction"}, NULL, 0, 1024,
                  1, NULL, NULL},
    [M_COST] = {"hearth_cost_usd_total", "Cost in US dollars, by model and task.", F_COUNTER_F,
                2, {D_MODEL, D_TASK}, {"model", "task"}, NULL, 0, 4096, 1, NULL, NULL},
    [M_ROUTE] = {"hearth_route_decisions_total",
                 "Routing plans made, by strategy and how the task was chosen (via).",
                 F_COUNTER, 2, {D_STRATEGY, D_VIA}, {"strategy", "via"}, NULL, 0, 64, 1, NULL,
                 NULL},
    [M_RETRIES] = {"hearth_retries_total", "Calls to the same model again after a failure.",
                   F_COUNTER, 1, {D_MODEL}, {"model"}, NULL, 0, 512, 1, NULL, NULL},
    [M_FALLBACKS] = {"hearth_fallbacks_total",
                     "Requests moved on to the next candidate after this model failed.",
                     F_COUNTER, 1, {D_MODEL}, {"model"}, NULL, 0, 512, 1, NULL, NULL},
    [M_ESCALATIONS] = {"hearth_escalations_total",
                       "Cascade answers of this model turned down and escalated.", F_COUNTER,
                       1, {D_MODEL}, {"model"}, NULL, 0, 512, 1, NULL, NULL},
};
/* clang-format on */

static _Atomic uint64_t series_dropped, records_failed;
static double start_time_s;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool ready;

static void init_once(void)
{
	for (int d = 0; d < D__N; d++) {
		pthread_mutex_init(&dims[d].mu, NULL);
		(void)intern((enum dim)d, "other");
	}
	for (int i = 0; i < M__N; i++) {
		struct family *f = &fams[i];
		f->keys = calloc(f->cap, sizeof *f->keys);
		f->vals = calloc(f->cap * f->stride, sizeof *f->vals);
		if (!f->keys || !f->vals) { /* a family without memory records nothing */
			free((void *)f->keys), free((void *)f->vals);
			f->keys = NULL, f->vals = NULL, f->cap = 0;
		}
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	start_time_s = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	ready = true;
}

void hr_metrics_init(void)
{
	pthread_once(&once, init_once);
}

void hr_metrics_reset(void)
{
	hr_metrics_init();
	for (int d = 0; d < D__N; d++) {
		atomic_store(&dims[d].n, 0);
		for (int i = 0; i < DIM_SLOTS; i++)
			atomic_store(&dims[d].slot[i], 0);
		(void)intern((enum dim)d, "other");
	}
	for (int i = 0; i < M__N; i++) {
		struct family *f = &fams[i];
		for (size_t j = 0; j < f->cap; j++)
			atomic_store(&f->keys[j], 0);
		for (size_t j = 0; j < f->cap * f->stride; j++)
			atomic_store(&f->vals[j], 0);
	}
	atomic_store(&series_dropped, 0);
	atomic_store(&records_failed, 0);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

/* The values of the series with these label values, made on first use; NULL when the
 * family's table is full (counted) or the registry is not set up. */
static _Atomic uint64_t *series(struct family *f, const char *const *lv)
{
	if (!ready || !f->cap)
		return NULL;
	uint64_t key = 1ULL << 63;
	for (int i = 0; i < f->nl; i++)
		key |= (uint64_t)intern(f->dim[i], lv[i] ? lv[i] : "none") << (8 * i);
	size_t mask = f->cap - 1, start = (size_t)mix(key) & mask;
	for (size_t n = 0, i = start; n < f->cap; n++, i = (i + 1) & mask) {
		uint64_t k = atomic_load_explicit(&f->keys[i], memory_order_acquire);
		if (k == key)
			return &f->vals[i * f->stride];
		if (k == 0) {
			uint64_t zero = 0;
			if (atomic_compare_exchange_strong_explicit(&f->keys[i], &zero, key,
			                                            memory_order_acq_rel,
			                                            memory_order_acquire) ||
			    zero == key)
				return &f->vals[i * f->stride];
		}
	}
	atomic_fetch_add_explicit(&series_dropped, 1, memory_order_relaxed);
	return NULL;
}

static void add_u(_Atomic uint64_t *v, uint64_t n)
{
	atomic_fetch_add_explicit(v, n, memory_order_relaxed);
}

static double bits_to_d(uint64_t b)
{
	double d;
	memcpy(&d, &b, sizeof d);
	return d;
}

static void add_f(_Atomic uint64_t *v, double x)
{
	uint64_t old = atomic_load_explicit(v, memory_order_relaxed), nw;
	do {
		double d = bits_to_d(old) + x;
		memcpy(&nw, &d, sizeof nw);
	} while (!atomic_compare_exchange_weak_explicit(v, &old, nw, memory_order_relaxed,
	                                                memory_order_relaxed));
}

static void observe(struct family *f, const char *const *lv, double x)
{
	_Atomic uint64_t *v = series(f, lv);
	if (!v)
		return;
	int b = 0;
	while (b < f->nb && x > f->bounds[b])
		b++;
	add_u(&v[b], 1);         /* v[0..nb]: per bucket, the last +Inf */
	add_f(&v[f->nb + 1], x); /* the sum */
}

static void count1(int fam, const char *model)
{
	const char *lv[1] = {model};
	_Atomic uint64_t *v = series(&fams[fam], lv);
	if (v)
		add_u(v, 1);
}

/* ---- bounded label values ---- */

const char *hr_metrics_bound_model(const struct hr_conf *c, const char *name)
{
	if (!name || !*name)
		return "none";
	const struct hr_conf_model *m = c ? hr_conf_model_find(c, name, strlen(name)) : NULL;
	return m ? m->name : "other";
}

const char *hr_metrics_bound_provider(const struct hr_conf *c, const char *id)
{
	if (!id || !*id)
		return "none";
	const struct hr_conf_provider *p = c ? hr_conf_provider_find(c, id) : NULL;
	return p ? p->id : "other";
}

const char *hr_metrics_bound_task(const struct hr_conf *c, const char *name)
{
	if (!name || !*name)
		return "none";
	if (strcmp(name, "auto") == 0)
		return "auto";
	const struct hr_conf_task *t = c ? hr_conf_task_find(c, name, strlen(name)) : NULL;
	return t ? t->name : "other";
}

static const char *status_label(int status, char buf[8])
{
	static const int known[] = {200, 201, 204, 400, 401, 403, 404, 405, 408, 409,
	                            413, 422, 429, 499, 500, 501, 502, 503, 504, 529};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (status == known[i]) {
			snprintf(buf, 8, "%d", status);
			return buf;
		}
	if (status >= 100 && status < 600) {
		snprintf(buf, 8, "%dxx", status / 100);
		return buf;
	}
	return "other";
}

static const char *origin_label(const char *o)
{
	if (o && strcmp(o, "shadow") == 0)
		return "shadow";
	if (o && strcmp(o, "judge") == 0)
		return "judge";
	return "client";
}

/* ---- recording ---- */

void hr_metrics_request(const struct hr_metrics_req *r)
{
	char sb[8];
	const char *lv[5] = {r->model, r->provider, r->task, status_label(r->status, sb),
	                     origin_label(r->origin)};
	_Atomic uint64_t *v = series(&fams[M_REQUESTS], lv);
	if (v)
		add_u(v, 1);
	observe(&fams[M_DURATION], lv, r->latency_s < 0 ? 0 : r->latency_s);
	if (r->ttfb_s >= 0)
		observe(&fams[M_TTFB], lv, r->ttfb_s);
	if (r->input_tokens > 0 || r->output_tokens > 0) {
		const char *in[2] = {r->model, "input"}, *out[2] = {r->model, "output"};
		if ((v = series(&fams[M_TOKENS], in)))
			add_u(v, (uint64_t)(r->input_tokens > 0 ? r->input_tokens : 0));
		if ((v = series(&fams[M_TOKENS], out)))
			add_u(v, (uint64_t)(r->output_tokens > 0 ? r->output_tokens : 0));
	}
	if (r->cost_usd > 0) {
		const char *ct[2] = {r->model, r->task};
		if ((v = series(&fams[M_COST], ct)))
			add_f(v, r->cost_usd);
	}
}

void hr_metrics_route(const char *strategy, const char *via)
{
	const char *lv[2] = {strategy, via};
	_Atomic uint64_t *v = series(&fams[M_ROUTE], lv);
	if (v)
		add_u(v, 1);
}

void hr_metrics_retry(const char *model)
{
	count1(M_RETRIES, model);
}

void hr_metrics_fallback(const char *model)
{
	count1(M_FALLBACKS, model);
}

void hr_metrics_escalation(const char *model)
{
	count1(M_ESCALATIONS, model);
}

void hr_metrics_record_failed(void)
{
	add_u(&records_failed, 1);
}

/* ---- the exposition format ---- */

static int add_escaped(struct hr_buf *out, const char *s, bool quote)
{
	int rc = 0;
	for (; *s && rc == 0; s++) {
		if (*s == '\\')
			rc = hr_buf_add(out, "\\\\", 2);
		else if (*s == '\n')
			rc = hr_buf_add(out, "\\n", 2);
		else if (quote && *s == '"')
			rc = hr_buf_add(out, "\\\"", 2);
		else
			rc = hr_buf_addch(out, *s);
	}
	return rc;
}

int hr_prom_family(struct hr_buf *out, const char *name, const char *type, const char *help)
{
	int rc;
	if ((rc = hr_buf_addf(out, "# HELP %s ", name)) < 0 ||
	    (rc = add_escaped(out, help, false)) < 0)
		return rc;
	return hr_buf_addf(out, "\n# TYPE %s %s\n", name, type);
}

static int add_number(struct hr_buf *out, double v)
{
	if (isnan(v))
		return hr_buf_addstr(out, "NaN");
	if (isinf(v))
		return hr_buf_addstr(out, v > 0 ? "+Inf" : "-Inf");
	if (v == floor(v) && fabs(v) < 1e15)
		return hr_buf_addf(out, "%.0f", v);
	return hr_buf_addf(out, "%.17g", v);
}

int hr_prom_sample(struct hr_buf *out, const char *name, const char *const *lnames,
                   const char *const *lvals, size_t n, double v)
{
	int rc;
	if ((rc = hr_buf_addstr(out, name)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if ((rc = hr_buf_addf(out, "%s%s=\"", i ? "," : "{", lnames[i])) < 0 ||
		    (rc = add_escaped(out, lvals[i], true)) < 0 ||
		    (rc = hr_buf_addch(out, '"')) < 0)
			return rc;
	}
	if ((rc = hr_buf_addstr(out, n ? "} " : " ")) < 0 || (rc = add_number(out, v)) < 0)
		return rc;
	return hr_buf_addch(out, '\n');
}

static int write_family(struct hr_buf *out, const struct family *f)
{
	static const char *const tname[] = {"counter", "counter", "histogram"};
	int rc;
	if ((rc = hr_prom_family(out, f->name, tname[f->type], f->help)) < 0)
		return rc;
	char name[128];
	const char *ln[MAX_LABELS + 1], *lv[MAX_LABELS + 1];
	for (int i = 0; i < f->nl; i++)
		ln[i] = f->lname[i];
	for (size_t s = 0; s < f->cap; s++) {
		uint64_t k = atomic_load_explicit(&f->keys[s], memory_order_acquire);
		if (!k)
			continue;
		for (int i = 0; i < f->nl; i++)
			lv[i] = dims[f->dim[i]].values[(k >> (8 * i)) & 0xff];
		_Atomic uint64_t *v = &f->vals[s * f->stride];
		if (f->type == F_COUNTER) {
			rc = hr_prom_sample(out, f->name, ln, lv, (size_t)f->nl,
			                    (double)atomic_load_explicit(v, memory_order_relaxed));
		} else if (f->type == F_COUNTER_F) {
			rc = hr_prom_sample(
			    out, f->name, ln, lv, (size_t)f->nl,
			    bits_to_d(atomic_load_explicit(v, memory_order_relaxed)));
		} else {
			/* read the buckets once: the count is their sum, so _count and the +Inf
			 * bucket agree even while requests are recorded */
			uint64_t cum = 0;
			char le[32];
			ln[f->nl] = "le";
			snprintf(name, sizeof name, "%s_bucket", f->name);
			for (int b = 0; b <= f->nb && rc == 0; b++) {
				cum += atomic_load_explicit(&v[b], memory_order_relaxed);
				if (b < f->nb)
					snprintf(le, sizeof le, "%g", f->bounds[b]);
				else
					snprintf(le, sizeof le, "+Inf");
				lv[f->nl] = le;
				rc = hr_prom_sample(out, name, ln, lv, (size_t)f->nl + 1,
				                    (double)cum);
			}
			double sum =
			    bits_to_d(atomic_load_explicit(&v[f->nb + 1], memory_order_relaxed));
			snprintf(name, sizeof name, "%s_sum", f->name);
			if (rc == 0)
				rc = hr_prom_sample(out, name, ln, lv, (size_t)f->nl, sum);
			snprintf(name, sizeof name, "%s_count", f->name);
			if (rc == 0)
				rc = hr_prom_sample(out, name, ln, lv, (size_t)f->nl, (double)cum);
		}
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* Process metrics from /proc (Linux); a figure that cannot be read is left out. */
static int write_process(struct hr_buf *out)
{
	int rc = 0;
	long tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	FILE *f = fopen("/proc/self/stat", "r");
	if (f) {
		char line[1024];
		size_t n = fread(line, 1, sizeof line - 1, f);
		fclose(f);
		line[n] = '\0';
		/* fields after the command name (in parentheses, which may hold spaces) */
		char *p = strrchr(line, ')');
		unsigned long ut = 0, st = 0;
		if (p && tick > 0 &&
		    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut,
		           &st) == 2) {
			if ((rc = hr_prom_family(
			         out, "process_cpu_seconds_total", "counter",
			         "Total user and system CPU time spent in seconds.")) < 0 ||
			    (rc = hr_prom_sample(out, "process_cpu_seconds_total", NULL, NULL, 0,
			                         (double)(ut + st) / (double)tick)) < 0)
				return rc;
		}
	}
	f = fopen("/proc/self/statm", "r");
	if (f) {
		unsigned long size = 0, rss = 0;
		int got = fscanf(f, "%lu %lu", &size, &rss);
		fclose(f);
		if (got == 2 && page > 0) {
			if ((rc = hr_prom_family(out, "process_virtual_memory_bytes", "gauge",
			                         "Virtual memory size in bytes.")) < 0 ||
			    (rc = hr_prom_sample(out, "process_virtual_memory_bytes", NULL, NULL, 0,
			                         (double)size * (double)page)) < 0 ||
			    (rc = hr_prom_family(out, "process_resident_memory_bytes", "gauge",
			                         "Resident memory size in bytes.")) < 0 ||
			    (rc = hr_prom_sample(out, "process_resident_memory_bytes", NULL, NULL,
			                         0, (double)rss * (double)page)) < 0)
				return rc;
		}
	}
	DIR *d = opendir("/proc/self/fd");
	if (d) {
		long n = 0;
		while (readdir(d))
			n++;
		closedir(d);
		n -= 3; /* ".", ".." and the directory's own descriptor */
		if ((rc = hr_prom_family(out, "process_open_fds", "gauge",
		                         "Number of open file descriptors.")) < 0 ||
		    (rc = hr_prom_sample(out, "process_open_fds", NULL, NULL, 0,
		                         (double)(n < 0 ? 0 : n))) < 0)
			return rc;
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
		if ((rc = hr_prom_family(out, "process_max_fds", "gauge",
		                         "Maximum number of open file descriptors.")) < 0 ||
		    (rc = hr_prom_sample(out, "process_max_fds", NULL, NULL, 0,
		                         (double)rl.rlim_cur)) < 0)
			return rc;
	}
	if ((rc = hr_prom_family(out, "process_start_time_seconds", "gauge",
	                         "Start time of the process since unix epoch in seconds.")) < 0)
		return rc;
	return hr_prom_sample(out, "process_start_time_seconds", NULL, NULL, 0,
	                      floor(start_time_s));
}

int hr_metrics_write(struct hr_buf *out)
{
	int rc;
	hr_metrics_init();
	for (int i = 0; i < M__N; i++)
		if ((rc = write_family(out, &fams[i])) < 0)
			return rc;
	if ((rc = hr_prom_family(out, "hearth_usage_records_failed_total", "counter",
	                         "Usage records the store could not commit.")) < 0 ||
	    (rc = hr_prom_sample(out, "hearth_usage_records_failed_total", NULL, NULL, 0,
	                         (double)atomic_load(&records_failed))) < 0 ||
	    (rc = hr_prom_family(out, "hearth_metrics_series_dropped_total", "counter",
	                         "Samples not recorded because their metric's series table was "
	                         "full.")) < 0 ||
	    (rc = hr_prom_sample(out, "hearth_metrics_series_dropped_total", NULL, NULL, 0,
	                         (double)atomic_load(&series_dropped))) < 0)
		return rc;
	return write_process(out);
}
