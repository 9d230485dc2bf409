/* llama.c - the embedded llama.cpp engine (llama.h): the library loaded at run time, one
 * engine thread per model decoding its active sequences in one batch, calls handed over
 * under the engine's mutex and answered on the caller's event loop. */
#include "engine/llama.h"

#include <dirent.h>
#include <errno.h>
#include <dlfcn.h>
#include <event2/event.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "engine/text.h"

#define HR_LLAMA_OUT_MAX  (64u * 1024 * 1024) /* an answer not yet taken by its loop */
#define HR_LLAMA_TEXT_MAX (16u * 1024 * 1024) /* the text of one answer */
#define HR_LLAMA_PROMPT_MAX (64u * 1024 * 1024)
#define HR_LLAMA_MAX_STOP 16
#define HR_LLAMA_MAX_INPUTS 2048

/* ---- calls: what the worker side and the engine thread share ---- */

enum phase { PH_PENDING, PH_PROMPT, PH_GEN };

struct hr_llama_call {
	struct engine *e; /* NULL: answered at once (no such engine) */
	int refs;         /* the caller's and the engine's; under g_mu or e->mu */

	/* the request, fixed at start */
	bool embed, stream;
	char *model;            /* the name the answer carries */
	struct hr_buf prompt;   /* chat: the assembled prompt */
	bool parse_special;     /* the prompt came from a chat template */
	char **inputs;          /* embed: the texts */
	size_t n_inputs;
	double temp, top_p;
	int top_k;
	uint32_t seed;
	long max_tokens; /* 0: until the context is full */
	struct hr_str stops[HR_LLAMA_MAX_STOP];
	size_t n_stops;
	char *stop_mem;

	/* the engine thread's */
	enum phase phase;
	int slot;
	int *toks, n_toks, i_tok;
	int pos, batch_idx, last;
	void *smpl; /* struct llama_sampler * */
	long n_gen;
	struct hr_buf text;
	size_t sent; /* stream: text[0..sent) went out */
	size_t safe; /* text[0..safe) can no longer become a stop string */

	/* shared, under e->mu (or g_mu for e == NULL) */
	struct hr_buf out;
	long status;
	bool done, canceled;
	struct event *ev;

	/* the caller's loop */
	struct hr_llama_sink sink;
	bool hdr_given;
	struct hr_llama_call *next;
};

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* the engine list, the library */

bool hr_llama_url(const char *url)
{
	return url && strncmp(url, HR_LLAMA_SCHEME, strlen(HR_LLAMA_SCHEME)) == 0;
}

static void call_free(struct hr_llama_call *c)
{
	hr_buf_release(&c->prompt);
	hr_buf_release(&c->text);
	hr_buf_release(&c->out);
	for (size_t i = 0; i < c->n_inputs; i++)
		free(c->inputs[i]);
	free(c->inputs);
	free(c->toks);
	free(c->stop_mem);
	free(c->model);
	free(c);
}

static pthread_mutex_t *call_mu(struct hr_llama_call *c);

static void call_unref(struct hr_llama_call *c)
{
	pthread_mutex_t *mu = call_mu(c);
	pthread_mutex_lock(mu);
	int left = --c->refs;
	pthread_mutex_unlock(mu);
	if (left == 0)
		call_free(c);
}

/* The caller's side is done with c (answered or cancelled): the engine drops it. */
static void call_detach(struct hr_llama_call *c)
{
	pthread_mutex_t *mu = call_mu(c);
	pthread_mutex_lock(mu);
	c->canceled = true;
	struct event *ev = c->ev;
	c->ev = NULL;
	pthread_mutex_unlock(mu);
	if (ev)
		event_free(ev);
}

/* On the caller's loop: hand what the engine produced to the sink. */
static void on_ready(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hr_llama_call *c = arg;
	pthread_mutex_t *mu = call_mu(c);
	pthread_mutex_lock(mu);
	struct hr_buf out = c->out;
	hr_buf_init(&c->out, HR_LLAMA_OUT_MAX);
	long status = c->status;
	bool done = c->done;
	pthread_mutex_unlock(mu);
	int rc = 0;
	if (!c->hdr_given && (status || done)) {
		c->hdr_given = true;
		rc = c->sink.on_headers(c->sink.arg, status ? status : 500);
	}
	if (!rc && out.len)
		rc = c->sink.on_data(c->sink.arg, out.ptr, out.len);
	hr_buf_release(&out);
	if (rc || done) {
		call_detach(c);
		c->sink.on_done(c->sink.arg, rc);
		call_unref(c);
	}
}

/* Appends bytes of the answer (any thread, lock held): the caller's loop is woken. */
static void post_locked(struct hr_llama_call *c, long status, const char *p, size_t n, bool done)
{
	if (c->canceled || c->done)
		return;
	if (!c->status)
		c->status = status;
	if (n && hr_buf_add(&c->out, p, n) < 0)
		done = true; /* the loop is far behind: end the answer there (the stream is cut) */
	c->done = done;
	if (c->ev)
		event_active(c->ev, EV_READ, 0);
}

/* An answer of one JSON object {"error": msg} with status. */
static void post_error_locked(struct hr_llama_call *c, long status, const char *msg)
{
	json_t *j = json_pack("{s:s}", "error", msg);
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (c->hdr_given || c->status) { /* a stream under way: an error line ends it */
		size_t n = s ? strlen(s) : 0;
		if (s)
			s[n] = '\n'; /* json_dumps leaves room for the NUL only: replace it */
		post_locked(c, status, s ? s : "{\"error\":\"engine failure\"}\n",
		            s ? n + 1 : 30, true);
	} else {
		post_locked(c, status, s ? s : "{\"error\":\"engine failure\"}",
		            s ? strlen(s) : 27, true);
	}
	free(s);
}

/* ---- the library ---- */

#ifdef HR_HAVE_LLAMA_H
#include <llama.h>

/* Every function hearth calls, resolved from the library into one table. */
#define HR_LLAMA_FNS(X)                                                                            \
	X(llama_backend_init)                                                                      \
	X(llama_log_set)                                                                           \
	X(llama_model_default_params)                                                              \
	X(llama_context_default_params)                                                            \
	X(llama_sampler_chain_default_params)                                                      \
	X(llama_model_load_from_file)                                                              \
	X(llama_model_free)                                                                        \
	X(llama_init_from_model)                                                                   \
	X(llama_free)                                                                              \
	X(llama_model_get_vocab)                                                                   \
	X(llama_model_chat_template)                                                               \
	X(llama_model_n_ctx_train)                                                                 \
	X(llama_model_n_embd)                                                                      \
	X(llama_model_n_layer)                                                                     \
	X(llama_model_n_head)                                                                      \
	X(llama_model_n_head_kv)                                                                   \
	X(llama_model_has_encoder)                                                                 \
	X(llama_n_ctx_seq)                                                                         \
	X(llama_n_batch)                                                                           \
	X(llama_pooling_type)                                                                      \
	X(llama_get_memory)                                                                        \
	X(llama_memory_seq_rm)                                                                     \
	X(llama_chat_apply_template)                                                               \
	X(llama_tokenize)                                                                          \
	X(llama_token_to_piece)                                                                    \
	X(llama_vocab_is_eog)                                                                      \
	X(llama_batch_init)                                                                        \
	X(llama_batch_free)                                                                        \
	X(llama_decode)                                                                            \
	X(llama_get_embeddings_seq)                                                                \
	X(llama_sampler_chain_init)                                                                \
	X(llama_sampler_chain_add)                                                                 \
	X(llama_sampler_init_greedy)                                                               \
	X(llama_sampler_init_dist)                                                                 \
	X(llama_sampler_init_top_k)                                                                \
	X(llama_sampler_init_top_p)                                                                \
	X(llama_sampler_init_temp)                                                                 \
	X(llama_sampler_sample)                                                                    \
	X(llama_sampler_free)

static struct {
	void *h;
#define HR_LLAMA_FN_(n) __typeof__(n) *n;
	HR_LLAMA_FNS(HR_LLAMA_FN_)
#undef HR_LLAMA_FN_
	__typeof__(ggml_backend_load_all_from_path) *load_backends; /* optional */
	__typeof__(ggml_version) *ggml_version;                      /* optional */
} L;

/* The default parameters, called with room to spare: a library of another version whose
 * structs are larger writes into the padding, not past the caller's stack, and the checks
 * of lib_load_locked() then refuse it. (Structs this large are returned through a hidden
 * pointer the caller provides on x86-64 and aarch64 alike, so the cast changes only the
 * room given.) */
struct padded_cparams {
	struct llama_context_params p;
	char room[4096];
};
struct padded_mparams {
	struct llama_model_params p;
	char room[4096];
};

static struct llama_context_params ctx_defaults(void)
{
	struct padded_cparams (*f)(void) = (struct padded_cparams (*)(void))(void (*)(void))
	    L.llama_context_default_params;
	return f().p;
}

static struct llama_model_params model_defaults(void)
{
	struct padded_mparams (*f)(void) = (struct padded_mparams (*)(void))(void (*)(void))
	    L.llama_model_default_params;
	return f().p;
}
#define HR_HAVE_ENGINE 1
#else
#define HR_HAVE_ENGINE 0
#endif

static bool lib_tried;
static char lib_err[2048];
static char lib_path[1024];

#if HR_HAVE_ENGINE
/* The last warning or error llama.cpp logged, for the message of a failed load. */
static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static char log_last[512];

static void on_llama_log(enum ggml_log_level level, const char *text, void *user)
{
	(void)user;
	if (level != GGML_LOG_LEVEL_ERROR && level != GGML_LOG_LEVEL_WARN)
		return;
	pthread_mutex_lock(&log_mu);
	snprintf(log_last, sizeof log_last, "%s", text);
	size_t n = strlen(log_last);
	while (n && (log_last[n - 1] == '\n' || log_last[n - 1] == ' '))
		log_last[--n] = '\0';
	pthread_mutex_unlock(&log_mu);
	HR_LOG_DEBUG(ENGINE, "llama.cpp: %s", log_last);
}

/* The library file in dir: libllama.so, or a versioned libllama.v*.so. */
static bool find_in_dir(const char *dir, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		const char *n = de->d_name;
		size_t l = strlen(n);
		if (strcmp(n, "libllama.so") == 0 ||
		    (strncmp(n, "libllama.v", 10) == 0 && l > 13 && strcmp(n + l - 3, ".so") == 0)) {
			snprintf(out, cap, "%s/%s", dir, n);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* The library's default context parameters as llama.h (of the build) declares them: a
 * library of another version lays the struct out differently, and fails this. */
static bool layout_ok(void)
{
	struct llama_context_params cp = ctx_defaults();
	struct llama_model_params mp = model_defaults();
	return cp.n_batch == 2048 && cp.n_ubatch == 512 && cp.n_seq_max == 1 &&
	       cp.offload_kqv && !cp.embeddings && cp.samplers == NULL && cp.ctx_other == NULL &&
	       mp.devices == NULL && !mp.vocab_only && mp.kv_overrides == NULL;
}

static void lib_load_locked(void)
{
	const char *env = getenv("HEARTH_LLAMA_LIB");
	lib_path[0] = '\0';
	if (env && *env) {
		struct stat st;
		if (stat(env, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (!find_in_dir(env, lib_path, sizeof lib_path)) {
				snprintf(lib_err, sizeof lib_err,
				         "HEARTH_LLAMA_LIB is the folder '%s', which holds no "
				         "libllama.so",
				         env);
				return;
			}
		} else {
			snprintf(lib_path, sizeof lib_path, "%s", env);
		}
	}
#ifdef HR_LLAMA_DIR
	if (!lib_path[0] && !find_in_dir(HR_LLAMA_DIR, lib_path, sizeof lib_path)) {
		snprintf(lib_err, sizeof lib_err,
		         "the llama.cpp library is missing: no libllama.so in '%s' (run `make "
		         "llama`, or set HEARTH_LLAMA_LIB to a libllama.so)",
		         HR_LLAMA_DIR);
		return;
	}
#endif
	if (!lib_path[0]) {
		snprintf(lib_err, sizeof lib_err,
		         "the llama.cpp library is missing: set HEARTH_LLAMA_LIB to a libllama.so");
		return;
	}
	dlerror();
	L.h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);
	if (!L.h) {
		const char *e = dlerror();
		snprintf(lib_err, sizeof lib_err, "cannot load the llama.cpp library '%s': %s",
		         lib_path, e ? e : "unknown error");
		return;
	}
#define HR_LLAMA_SYM_(n)                                                                           \
	if (!(*(void **)&L.n = dlsym(L.h, #n))) {                                                  \
		snprintf(lib_err, sizeof lib_err,                                                  \
		         "the llama.cpp library '%s' is not the version hearth was built for: "  \
		         "it has no %s (rebuild hearth against its llama.h, or run `make llama`)", \
		         lib_path, #n);                                                            \
		dlclose(L.h);                                                                      \
		L.h = NULL;                                                                        \
		return;                                                                            \
	}
	HR_LLAMA_FNS(HR_LLAMA_SYM_)
#undef HR_LLAMA_SYM_
	*(void **)&L.load_backends = dlsym(L.h, "ggml_backend_load_all_from_path");
	*(void **)&L.ggml_version = dlsym(L.h, "ggml_version");
#ifdef HR_LLAMA_GGML_VERSION /* the headers of `make llama` know their ggml version */
	const char *v = L.ggml_version ? L.ggml_version() : NULL;
	if (!v || strcmp(v, HR_LLAMA_GGML_VERSION) != 0) {
		snprintf(lib_err, sizeof lib_err,
		         "the llama.cpp library '%s' is not the version hearth was built for: its "
		         "ggml is %s, hearth's llama.h is of ggml %s (rebuild hearth against its "
		         "llama.h, or run `make llama`)",
		         lib_path, v ? v : "of an unknown version", HR_LLAMA_GGML_VERSION);
		dlclose(L.h);
		L.h = NULL;
		return;
	}
#endif
	if (!layout_ok()) {
		snprintf(lib_err, sizeof lib_err,
		         "the llama.cpp library '%s' is not the version hearth was built for: its "
		         "default parameters do not match the llama.h hearth was compiled with "
		         "(rebuild hearth against its llama.h, or run `make llama`)",
		         lib_path);
		dlclose(L.h);
		L.h = NULL;
		return;
	}
	L.llama_log_set(on_llama_log, NULL);
	if (L.load_backends) { /* the CPU backend variants beside the library */
		char dir[1024];
		snprintf(dir, sizeof dir, "%s", lib_path);
		char *slash = strrchr(dir, '/');
		if (slash) {
			*slash = '\0';
			L.load_backends(dir);
		} else {
			L.load_backends(".");
		}
	}
	L.llama_backend_init();
	lib_err[0] = '\0';
}
#endif

const char *hr_llama_lib_error(void)
{
	pthread_mutex_lock(&g_mu);
	if (!lib_tried) {
		lib_tried = true;
#if HR_HAVE_ENGINE
		lib_load_locked();
#else
		snprintf(lib_err, sizeof lib_err,
		         "hearth was built without llama.cpp's headers: run `make llama` (or "
		         "install llama.cpp where pkg-config finds 'llama') and rebuild");
#endif
	}
	const char *e = lib_err[0] ? lib_err : NULL;
	pthread_mutex_unlock(&g_mu);
	return e;
}

/* ---- engines ---- */

struct engine {
	struct engine *next;
	char *id, *path;
	int context, threads, parallel, gpu_layers;
	bool embeddings;
	char *chat_template; /* from the config, or NULL */
	char error[2560]; /* why it does not serve; empty when it does */

	void *model, *ctx; /* struct llama_model *, struct llama_context * */
	const void *vocab;
	char *tmpl; /* the chat template, or NULL */
	int n_ctx_seq, n_batch;

	pthread_t th;
	bool th_started;
	struct hr_llama_call **act, **fresh; /* [parallel]: the engine thread's scratch */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct hr_llama_call *head, *tail; /* waiting for a sequence */
	struct hr_llama_call **slots;      /* [parallel]: the active ones */
};

static struct engine *engines;

static pthread_mutex_t *call_mu(struct hr_llama_call *c)
{
	return c->e ? &c->e->mu : &g_mu;
}

static struct engine *engine_find(const char *id, size_t n)
{
	for (struct engine *e = engines; e; e = e->next)
		if (strlen(e->id) == n && memcmp(e->id, id, n) == 0)
			return e;
	return NULL;
}

#if HR_HAVE_ENGINE
static int default_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n >= 2 ? (int)(n / 2) : 1;
}

/* Checks the file before llama.cpp reads it: exists, readable, a GGUF header. */
static int precheck(const char *path, char *msg, size_t cap)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(msg, cap, "cannot open the model file '%s': %s", path, strerror(errno));
		return -1;
	}
	uint8_t hdr[HR_GGUF_HEADER];
	size_t n = fread(hdr, 1, sizeof hdr, f);
	struct stat st;
	uint64_t size = fstat(fileno(f), &st) == 0 ? (uint64_t)st.st_size : 0;
	fclose(f);
	const char *why = NULL;
	if (hr_gguf_check(hdr, n, size, &why) < 0) {
		snprintf(msg, cap, "the model file '%s' cannot be loaded: %s", path, why);
		return -1;
	}
	return 0;
}

/* MemAvailable of /proc/meminfo in bytes; 0 when unknown. */
static uint64_t mem_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	unsigned long long kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return (uint64_t)kb * 1024;
}

/* The KV cache of n_ctx tokens in f16 (llama.cpp's default): a context that cannot fit in
 * the memory available is refused before llama.cpp tries (and the kernel kills hearth). */
static int kv_fits(struct engine *e, const struct llama_model *model, uint64_t n_ctx, char *msg,
                   size_t cap)
{
	uint64_t layers = (uint64_t)L.llama_model_n_layer(model);
	int32_t heads = L.llama_model_n_head(model);
	uint64_t head = heads > 0 ? (uint64_t)(L.llama_model_n_embd(model) / heads) : 0;
	uint64_t kv = n_ctx * layers * 2 * head * (uint64_t)L.llama_model_n_head_kv(model) * 2;
	uint64_t avail = mem_available();
	if (!avail || kv < avail / 10 * 9)
		return 0;
	snprintf(msg, cap,
	         "out of memory for the context of '%s': %d requests x %llu tokens need about "
	         "%llu MiB of KV cache, and %llu MiB are available (lower providers.%s.context or "
	         "parallel)",
	         e->path, e->parallel, (unsigned long long)(n_ctx / (uint64_t)e->parallel),
	         (unsigned long long)(kv >> 20), (unsigned long long)(avail >> 20), e->id);
	return -1;
}

/* Loads the model and its context (the main thread, or doctor). Returns 0 or -1 with msg. */
static int engine_open(struct engine *e, char *msg, size_t cap)
{
	const char *le = hr_llama_lib_error();
	if (le) {
		snprintf(msg, cap, "%s", le);
		return -1;
	}
	if (precheck(e->path, msg, cap) < 0)
		return -1;
	pthread_mutex_lock(&log_mu);
	log_last[0] = '\0';
	pthread_mutex_unlock(&log_mu);
	struct llama_model_params mp = model_defaults();
	mp.n_gpu_layers = e->gpu_layers;
	struct llama_model *model = L.llama_model_load_from_file(e->path, mp);
	if (!model) {
		pthread_mutex_lock(&log_mu);
		snprintf(msg, cap, "llama.cpp could not load the model file '%s': %s", e->path,
		         log_last[0] ? log_last : "no reason given (is it a GGUF model file?)");
		pthread_mutex_unlock(&log_mu);
		return -1;
	}
	int n_ctx = e->context;
	if (n_ctx <= 0) {
		n_ctx = L.llama_model_n_ctx_train(model);
		if (n_ctx <= 0 || n_ctx > 4096)
			n_ctx = 4096;
	}
	if (kv_fits(e, model, (uint64_t)n_ctx * (uint64_t)e->parallel, msg, cap) < 0) {
		L.llama_model_free(model);
		return -1;
	}
	int threads = e->threads > 0 ? e->threads : default_threads();
	struct llama_context_params cp = ctx_defaults();
	cp.n_seq_max = (uint32_t)e->parallel;
	cp.n_ctx = (uint32_t)n_ctx * (uint32_t)e->parallel;
	cp.n_batch = cp.n_ctx < 2048 ? cp.n_ctx : 2048;
	cp.n_ubatch = cp.n_batch < 512 ? cp.n_batch : 512;
	cp.n_threads = threads;
	cp.n_threads_batch = threads;
	cp.kv_unified = false; /* each sequence its own part of the cache */
	cp.no_perf = true;
	if (e->embeddings) {
		cp.embeddings = true;
		cp.n_ubatch = cp.n_batch; /* a whole input in one step, as pooling needs */
	}
	struct llama_context *ctx = L.llama_init_from_model(model, cp);
	if (ctx && e->embeddings && L.llama_pooling_type(ctx) == LLAMA_POOLING_TYPE_NONE) {
		L.llama_free(ctx); /* a generative model: average its token embeddings */
		cp.pooling_type = LLAMA_POOLING_TYPE_MEAN;
		ctx = L.llama_init_from_model(model, cp);
	}
	if (!ctx) {
		pthread_mutex_lock(&log_mu);
		snprintf(msg, cap,
		         "llama.cpp could not create a context of %d x %d tokens for '%s' (out of "
		         "memory? lower context or parallel): %s",
		         e->parallel, n_ctx, e->path, log_last[0] ? log_last : "no reason given");
		pthread_mutex_unlock(&log_mu);
		L.llama_model_free(model);
		return -1;
	}
	/* the configured template, else the GGUF's; a configured one llama.cpp cannot apply
	 * is refused here rather than at the first request */
	const char *t = e->chat_template ? e->chat_template : L.llama_model_chat_template(model, NULL);
	struct llama_chat_message probe = {"user", "hi"};
	char out[256];
	if (e->chat_template && L.llama_chat_apply_template(t, &probe, 1, true, out, sizeof out) < 0) {
		snprintf(msg, cap,
		         "providers.%s.chat_template is not a chat template llama.cpp knows; name "
		         "one of its own (chatml, llama3, mistral-v7, phi4, gemma, ...)",
		         e->id);
		L.llama_free(ctx);
		L.llama_model_free(model);
		return -1;
	}
	if (t && !e->chat_template &&
	    L.llama_chat_apply_template(t, &probe, 1, true, out, sizeof out) < 0) {
		HR_LOG_WARN(ENGINE,
		            "the chat template of '%s' is not one llama.cpp recognizes: its prompts "
		            "are plain completion (set providers.%s.chat_template)",
		            e->path, e->id);
		t = NULL; /* what /v1/models says is what happens */
	}
	e->model = model;
	e->ctx = ctx;
	e->vocab = L.llama_model_get_vocab(model);
	e->tmpl = t ? strdup(t) : NULL;
	e->n_ctx_seq = (int)L.llama_n_ctx_seq(ctx);
	e->n_batch = (int)L.llama_n_batch(ctx);
	return 0;
}
#endif

/* ---- the engine thread ---- */

#if HR_HAVE_ENGINE
static void json_line(struct hr_buf *b, json_t *j)
{
	if (j) {
		char *s = json_dumps(j, JSON_COMPACT);
		if (s)
			(void)hr_buf_addstr(b, s);
		free(s);
		json_decref(j);
	}
}

/* Sends text[sent..upto) as a stream line (engine thread, lock held). */
static void emit_locked(struct hr_llama_call *c, size_t upto)
{
	if (upto <= c->sent)
		return;
	hr_utf8_sanitize(c->text.ptr + c->sent, upto - c->sent);
	struct hr_buf b = HR_BUF_INIT(HR_LLAMA_TEXT_MAX * 2);
	json_line(&b, json_pack("{s:s,s:{s:s,s:s%},s:b}", "model", c->model, "message", "role",
	                        "assistant", "content", c->text.ptr + c->sent, upto - c->sent,
	                        "done", 0));
	(void)hr_buf_addch(&b, '\n');
	c->sent = upto;
	post_locked(c, 200, b.ptr, b.len, false);
	hr_buf_release(&b);
}

/* The answer is complete: the rest of the text and the final line, or the whole answer. */
static void finish_locked(struct hr_llama_call *c, const char *reason)
{
	if (c->stream)
		emit_locked(c, c->text.len);
	else
		hr_utf8_sanitize(c->text.ptr ? c->text.ptr : (char *)"", c->text.len);
	const char *txt = c->stream ? "" : c->text.ptr ? c->text.ptr : "";
	size_t n = c->stream ? 0 : c->text.len;
	struct hr_buf b = HR_BUF_INIT(HR_LLAMA_TEXT_MAX * 2);
	json_line(&b, json_pack("{s:s,s:{s:s,s:s%},s:b,s:s,s:i,s:I}", "model", c->model,
	                        "message", "role", "assistant", "content", txt, n, "done", 1,
	                        "done_reason", reason, "prompt_eval_count", c->n_toks,
	                        "eval_count", (json_int_t)c->n_gen));
	if (c->stream)
		(void)hr_buf_addch(&b, '\n');
	post_locked(c, 200, b.ptr, b.len, true);
	hr_buf_release(&b);
}

/* Frees c's sequence and drops the engine's reference (engine thread, lock not held). */
static void retire(struct engine *e, struct hr_llama_call *c)
{
	if (c->phase != PH_PENDING) {
		L.llama_memory_seq_rm(L.llama_get_memory(e->ctx), c->slot, -1, -1);
		pthread_mutex_lock(&e->mu);
		e->slots[c->slot] = NULL;
		pthread_mutex_unlock(&e->mu);
	}
	if (c->smpl)
		L.llama_sampler_free(c->smpl);
	c->smpl = NULL;
	call_unref(c);
}

static int tokenize(struct engine *e, const char *text, size_t len, bool special, int **out)
{
	int cap = (int)(len / 2) + 16;
	for (int tries = 0; tries < 2; tries++) {
		int *t = malloc((size_t)cap * sizeof *t);
		if (!t)
			return HR_ENOMEM;
		int n = L.llama_tokenize(e->vocab, text, (int32_t)len, t, cap, true, special);
		if (n >= 0) {
			*out = t;
			return n;
		}
		free(t);
		cap = -n;
	}
	return HR_EINTERNAL;
}

static void *sampler_new(const struct hr_llama_call *c)
{
	struct llama_sampler *ch = L.llama_sampler_chain_init(L.llama_sampler_chain_default_params());
	if (!ch)
		return NULL;
	if (c->temp <= 0) {
		L.llama_sampler_chain_add(ch, L.llama_sampler_init_greedy());
		return ch;
	}
	if (c->top_k > 0)
		L.llama_sampler_chain_add(ch, L.llama_sampler_init_top_k(c->top_k));
	if (c->top_p < 1)
		L.llama_sampler_chain_add(ch, L.llama_sampler_init_top_p((float)c->top_p, 1));
	L.llama_sampler_chain_add(ch, L.llama_sampler_init_temp((float)c->temp));
	L.llama_sampler_chain_add(ch, L.llama_sampler_init_dist(c->seed));
	return ch;
}

/* A newly admitted chat call: its tokens and sampler; false when it was answered. */
static bool admit_chat(struct engine *e, struct hr_llama_call *c)
{
	int n = tokenize(e, c->prompt.ptr ? c->prompt.ptr : "", c->prompt.len, c->parse_special,
	                 &c->toks);
	char msg[256];
	if (n < 0) {
		pthread_mutex_lock(&e->mu);
		post_error_locked(c, 500, "the prompt could not be tokenized");
		pthread_mutex_unlock(&e->mu);
		return false;
	}
	c->n_toks = n;
	if (n == 0 || n >= e->n_ctx_seq) {
		snprintf(msg, sizeof msg,
		         n == 0 ? "the prompt is empty"
		                : "the prompt is %d tokens; the model's context holds %d per request "
		                  "(providers.%s.context)",
		         n, e->n_ctx_seq, e->id);
		pthread_mutex_lock(&e->mu);
		post_error_locked(c, 400, msg);
		pthread_mutex_unlock(&e->mu);
		return false;
	}
	if (!(c->smpl = sampler_new(c))) {
		pthread_mutex_lock(&e->mu);
		post_error_locked(c, 500, "out of memory");
		pthread_mutex_unlock(&e->mu);
		return false;
	}
	hr_buf_init(&c->text, HR_LLAMA_TEXT_MAX);
	c->phase = PH_PROMPT;
	return true;
}

/* Embeddings: each input decoded alone in the call's sequence, pooled, L2-normalized. */
static void run_embed(struct engine *e, struct hr_llama_call *c, struct llama_batch *batch)
{
	int dim = L.llama_model_n_embd(e->model);
	json_t *vecs = json_array();
	long total = 0;
	const char *err = NULL;
	char msg[256];
	for (size_t i = 0; vecs && i < c->n_inputs && !err; i++) {
		int *t = NULL;
		int n = tokenize(e, c->inputs[i], strlen(c->inputs[i]), false, &t);
		if (n <= 0 || n > e->n_batch || n >= e->n_ctx_seq) {
			snprintf(msg, sizeof msg,
			         n <= 0 ? "input %zu is empty"
			                : "input %zu is longer than the model's context "
			                  "(providers.%s.context)",
			         i, e->id);
			err = msg;
			free(t);
			break;
		}
		batch->n_tokens = n;
		for (int k = 0; k < n; k++) {
			batch->token[k] = t[k];
			batch->pos[k] = k;
			batch->n_seq_id[k] = 1;
			batch->seq_id[k][0] = c->slot;
			batch->logits[k] = 1;
		}
		free(t);
		total += n;
		if (L.llama_decode(e->ctx, *batch) != 0) {
			err = "llama.cpp could not compute the embedding";
			break;
		}
		const float *v = L.llama_get_embeddings_seq(e->ctx, c->slot);
		L.llama_memory_seq_rm(L.llama_get_memory(e->ctx), c->slot, -1, -1);
		if (!v) {
			err = "the model gives no pooled embedding";
			break;
		}
		double norm = 0;
		for (int k = 0; k < dim; k++)
			norm += (double)v[k] * v[k];
		norm = norm > 0 ? sqrt(norm) : 1;
		json_t *a = json_array();
		for (int k = 0; a && k < dim; k++)
			json_array_append_new(a, json_real((double)v[k] / norm));
		json_array_append_new(vecs, a);
	}
	batch->n_tokens = 0;
	pthread_mutex_lock(&e->mu);
	if (err || !vecs) {
		post_error_locked(c, err ? 400 : 500, err ? err : "out of memory");
	} else {
		struct hr_buf b = HR_BUF_INIT(HR_LLAMA_OUT_MAX);
		json_line(&b, json_pack("{s:s,s:o,s:I}", "model", c->model, "embeddings",
		                        json_incref(vecs), "prompt_eval_count", (json_int_t)total));
		post_locked(c, b.len ? 200 : 500, b.ptr, b.len, true);
		hr_buf_release(&b);
	}
	pthread_mutex_unlock(&e->mu);
	json_decref(vecs);
}

/* After the token tok of c: append it, apply the limits; true when c is finished. */
static bool take_token(struct engine *e, struct hr_llama_call *c, int tok)
{
	const char *reason = NULL;
	if (L.llama_vocab_is_eog(e->vocab, tok)) {
		reason = "stop";
	} else {
		char piece[256];
		int n = L.llama_token_to_piece(e->vocab, tok, piece, sizeof piece, 0, false);
		c->n_gen++;
		c->last = tok;
		if (n > 0 && hr_buf_add(&c->text, piece, (size_t)n) < 0)
			reason = "length";
		/* a stop string starts at or after safe: only the new text is scanned */
		long at = hr_stop_find(c->text.ptr ? c->text.ptr : "", c->text.len, c->safe,
		                       c->stops, c->n_stops);
		if (at < 0)
			c->safe = hr_stop_safe_len(c->text.ptr ? c->text.ptr : "", c->text.len,
			                           c->stops, c->n_stops);
		if (at >= 0) {
			c->text.len = (size_t)at;
			c->text.ptr[at] = '\0';
			reason = "stop";
		} else if (!reason && ((c->max_tokens > 0 && c->n_gen >= c->max_tokens) ||
		                       c->pos + 1 >= e->n_ctx_seq)) {
			reason = "length";
		}
	}
	pthread_mutex_lock(&e->mu);
	if (reason)
		finish_locked(c, reason);
	else if (c->stream)
		emit_locked(c, c->safe);
	pthread_mutex_unlock(&e->mu);
	return reason != NULL;
}

static void fail_all(struct engine *e, struct hr_llama_call **act, int n, const char *msg)
{
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&e->mu);
		post_error_locked(act[i], 500, msg);
		pthread_mutex_unlock(&e->mu);
		retire(e, act[i]);
	}
}

static void *engine_main(void *arg)
{
	struct engine *e = arg;
	struct llama_batch batch = L.llama_batch_init(e->n_batch, 0, 1);
	struct hr_llama_call **act = e->act, **fresh = e->fresh;
	for (;;) {
		/* take the new calls into free sequences; drop the cancelled ones */
		int n_act = 0, n_fresh = 0;
		struct hr_llama_call *dead = NULL;
		pthread_mutex_lock(&e->mu);
		for (;;) {
			bool any = e->head != NULL;
			for (int i = 0; i < e->parallel && !any; i++)
				any = e->slots[i] != NULL;
			if (any || e->stop)
				break;
			pthread_cond_wait(&e->cv, &e->mu);
		}
		bool stop = e->stop;
		for (int i = 0; i < e->parallel && e->head; i++) {
			if (e->slots[i])
				continue;
			struct hr_llama_call *c = e->head;
			e->head = c->next;
			if (!e->head)
				e->tail = NULL;
			c->next = NULL;
			if (c->canceled) {
				c->next = dead, dead = c;
				i--;
				continue;
			}
			c->slot = i;
			e->slots[i] = c;
			fresh[n_fresh++] = c;
		}
		for (int i = 0; i < e->parallel; i++)
			if (e->slots[i])
				act[n_act++] = e->slots[i];
		if (stop) {
			while (e->head) {
				struct hr_llama_call *c = e->head;
				e->head = c->next;
				c->next = dead, dead = c;
			}
			for (int i = 0; i < n_act; i++)
				post_error_locked(act[i], 503, "hearth is shutting down");
		}
		pthread_mutex_unlock(&e->mu);
		while (dead) {
			struct hr_llama_call *c = dead;
			dead = c->next;
			if (stop) {
				pthread_mutex_lock(&e->mu);
				post_error_locked(c, 503, "hearth is shutting down");
				pthread_mutex_unlock(&e->mu);
			}
			call_unref(c);
		}
		if (stop) {
			for (int i = 0; i < n_act; i++)
				retire(e, act[i]);
			break;
		}
		for (int i = 0; i < n_fresh; i++) {
			struct hr_llama_call *c = fresh[i];
			c->phase = PH_PROMPT; /* its sequence is held: retire() frees it */
			bool ok = c->embed ? (run_embed(e, c, &batch), false) : admit_chat(e, c);
			if (!ok)
				retire(e, c);
		}

		/* one step: a token of each generating sequence, then prompt chunks */
		batch.n_tokens = 0;
		int n_in = 0;
		for (int i = 0; i < e->parallel; i++) {
			pthread_mutex_lock(&e->mu);
			struct hr_llama_call *c = e->slots[i];
			bool gone = c && c->canceled;
			pthread_mutex_unlock(&e->mu);
			if (!c)
				continue;
			if (gone) { /* the client left: its sequence is freed now */
				retire(e, c);
				continue;
			}
			c->batch_idx = -1;
			act[n_in++] = c;
			if (c->phase == PH_GEN && batch.n_tokens < e->n_batch) {
				int k = batch.n_tokens++;
				batch.token[k] = c->last;
				batch.pos[k] = c->pos++;
				batch.n_seq_id[k] = 1;
				batch.seq_id[k][0] = c->slot;
				batch.logits[k] = 1;
				c->batch_idx = k;
			}
		}
		for (int i = 0; i < n_in; i++) {
			struct hr_llama_call *c = act[i];
			while (c->phase == PH_PROMPT && batch.n_tokens < e->n_batch) {
				int k = batch.n_tokens++;
				batch.token[k] = c->toks[c->i_tok];
				batch.pos[k] = c->pos++;
				batch.n_seq_id[k] = 1;
				batch.seq_id[k][0] = c->slot;
				batch.logits[k] = ++c->i_tok == c->n_toks;
				if (batch.logits[k]) {
					c->batch_idx = k;
					c->phase = PH_GEN;
				}
			}
		}
		if (batch.n_tokens == 0)
			continue;
		int rc = L.llama_decode(e->ctx, batch);
		if (rc != 0) {
			HR_LOG_ERROR(ENGINE, "engine '%s': llama_decode failed (%d)", e->id, rc);
			fail_all(e, act, n_in,
			         rc == 1 ? "the model's context is full; retry later"
			                 : "llama.cpp failed to decode");
			continue;
		}
		for (int i = 0; i < n_in; i++) {
			struct hr_llama_call *c = act[i];
			if (c->batch_idx < 0)
				continue;
			int tok = L.llama_sampler_sample(c->smpl, e->ctx, c->batch_idx);
			if (take_token(e, c, tok))
				retire(e, c);
		}
	}
	L.llama_batch_free(batch);
	return NULL;
}
#endif

/* ---- loading ---- */

static struct engine *engine_new(const struct hr_conf_provider *p)
{
	struct engine *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	e->id = strdup(p->id);
	e->path = strdup(p->path ? p->path : "");
	e->context = p->context;
	e->threads = p->threads;
	e->parallel = p->parallel > 0 ? p->parallel : 1;
	e->gpu_layers = p->gpu_layers;
	e->embeddings = p->embeddings;
	e->chat_template = p->chat_template ? strdup(p->chat_template) : NULL;
	e->slots = calloc((size_t)e->parallel, sizeof *e->slots);
	e->act = calloc((size_t)e->parallel, sizeof *e->act);
	e->fresh = calloc((size_t)e->parallel, sizeof *e->fresh);
	if (!e->id || !e->path || !e->slots || !e->act || !e->fresh) {
		free(e->id), free(e->path), free(e->slots), free(e->act), free(e->fresh), free(e);
		return NULL;
	}
	pthread_mutex_init(&e->mu, NULL);
	pthread_cond_init(&e->cv, NULL);
	return e;
}

void hr_llama_load(const struct hr_conf *c)
{
	for (size_t i = 0; i < c->n_providers; i++) {
		const struct hr_conf_provider *p = &c->providers[i];
		if (!p->kind || strcmp(p->kind, "llamacpp") != 0)
			continue;
		pthread_mutex_lock(&g_mu);
		struct engine *old = engine_find(p->id, strlen(p->id));
		pthread_mutex_unlock(&g_mu);
		if (old && strcmp(old->path, p->path ? p->path : "") == 0)
			continue;
		if (old) {
			HR_LOG_WARN(ENGINE,
			            "provider '%s' now names another model file; restart hearth to "
			            "load it",
			            p->id);
			continue;
		}
		struct engine *e = engine_new(p);
		if (!e) {
			HR_LOG_ERROR(ENGINE, "out of memory loading provider '%s'", p->id);
			continue;
		}
#if HR_HAVE_ENGINE
		if (engine_open(e, e->error, sizeof e->error) == 0) {
			if (pthread_create(&e->th, NULL, engine_main, e) == 0) {
				e->th_started = true;
				HR_LOG_INFO(ENGINE,
				            "provider '%s' serves '%s' in process (%d x %d tokens, %s)",
				            p->id, e->path, e->parallel, e->n_ctx_seq,
				            e->embeddings  ? "embeddings"
				            : e->tmpl      ? "chat template"
				                           : "no chat template: plain completion");
			} else {
				snprintf(e->error, sizeof e->error, "cannot start the engine thread");
			}
		}
#else
		snprintf(e->error, sizeof e->error, "%s", hr_llama_lib_error());
#endif
		if (e->error[0])
			HR_LOG_ERROR(ENGINE, "provider '%s' is unavailable: %s", p->id, e->error);
		pthread_mutex_lock(&g_mu);
		e->next = engines;
		engines = e;
		pthread_mutex_unlock(&g_mu);
	}
}

void hr_llama_shutdown(void)
{
	pthread_mutex_lock(&g_mu);
	struct engine *list = engines; /* kept listed: a call may still point at its engine */
	pthread_mutex_unlock(&g_mu);
	for (struct engine *e = list; e; e = e->next) {
		if (e->th_started) {
			pthread_mutex_lock(&e->mu);
			e->stop = true;
			pthread_cond_signal(&e->cv);
			pthread_mutex_unlock(&e->mu);
			pthread_join(e->th, NULL);
			e->th_started = false;
			snprintf(e->error, sizeof e->error, "hearth is shutting down");
		}
#if HR_HAVE_ENGINE
		if (e->ctx)
			L.llama_free(e->ctx);
		if (e->model)
			L.llama_model_free(e->model);
		e->ctx = e->model = NULL;
#endif
		free(e->tmpl);
		e->tmpl = NULL;
	}
}

int hr_llama_info(const char *provider_id, struct hr_llama_info *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&g_mu);
	struct engine *e = engine_find(provider_id, strlen(provider_id));
	pthread_mutex_unlock(&g_mu);
	if (!e)
		return -1;
	out->ready = e->error[0] == '\0';
	out->error = e->error[0] ? e->error : NULL;
	out->path = e->path;
	out->chat_template = e->tmpl != NULL;
	out->embeddings = e->embeddings;
	out->n_ctx = e->n_ctx_seq;
	out->parallel = e->parallel;
	out->library = lib_path[0] ? lib_path : NULL;
	return 0;
}

int hr_llama_try(const struct hr_conf_provider *p, char *msg, size_t cap)
{
#if HR_HAVE_ENGINE
	struct engine *e = engine_new(p);
	if (!e) {
		snprintf(msg, cap, "out of memory");
		return -1;
	}
	int rc = engine_open(e, msg, cap);
	if (rc == 0)
		snprintf(msg, cap, "%s: %d x %d tokens, %s; library %s", e->path, e->parallel,
		         e->n_ctx_seq,
		         e->embeddings ? "embeddings"
		         : e->tmpl     ? "chat template"
		                       : "no chat template (plain completion)",
		         lib_path);
	if (e->ctx)
		L.llama_free(e->ctx);
	if (e->model)
		L.llama_model_free(e->model);
	free(e->tmpl), free(e->id), free(e->path), free(e->slots), free(e->act), free(e->fresh);
	free(e->chat_template);
	pthread_mutex_destroy(&e->mu);
	pthread_cond_destroy(&e->cv);
	free(e);
	return rc;
#else
	(void)p;
	snprintf(msg, cap, "%s", hr_llama_lib_error());
	return -1;
#endif
}

/* ---- starting a call (the caller's thread) ---- */

/* The chat prompt of the Ollama body's messages: the model's template, else plain. */
static int build_prompt(struct engine *e, json_t *msgs, struct hr_llama_call *c,
                        const char **err)
{
	size_t n = json_array_size(msgs);
	if (!json_is_array(msgs) || n == 0) {
		*err = "messages must be a non-empty list";
		return HR_EINVAL;
	}
	struct hr_prompt_msg *pm = calloc(n, sizeof *pm);
	if (!pm)
		return HR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(msgs, i);
		if (json_array_size(json_object_get(m, "images"))) {
			free(pm);
			*err = "this model reads text only";
			return HR_EINVAL;
		}
		pm[i].role = hr_str_from(json_string_value(json_object_get(m, "role")));
		json_t *ct = json_object_get(m, "content");
		pm[i].content = (struct hr_str){json_string_value(ct), json_string_length(ct)};
	}
	int rc = 0;
#if HR_HAVE_ENGINE
	if (e && e->tmpl) {
		struct llama_chat_message *cm = calloc(n, sizeof *cm);
		if (!cm) {
			free(pm);
			return HR_ENOMEM;
		}
		for (size_t i = 0; i < n; i++) {
			json_t *m = json_array_get(msgs, i);
			cm[i].role = pm[i].role.ptr ? pm[i].role.ptr : "user";
			cm[i].content = json_string_value(json_object_get(m, "content"));
			if (!cm[i].content)
				cm[i].content = "";
		}
		int32_t need = 0;
		size_t cap = 4096;
		for (int tries = 0; tries < 2; tries++) {
			hr_buf_reset(&c->prompt);
			if ((rc = hr_buf_add(&c->prompt, "", 0)) < 0 || cap > c->prompt.max)
				break;
			char *tmp = malloc(cap);
			if (!tmp) {
				rc = HR_ENOMEM;
				break;
			}
			need = L.llama_chat_apply_template(e->tmpl, cm, n, true, tmp, (int32_t)cap);
			if (need >= 0 && (size_t)need <= cap)
				rc = hr_buf_add(&c->prompt, tmp, (size_t)need);
			free(tmp);
			if (need < 0 || (size_t)need <= cap)
				break;
			cap = (size_t)need;
		}
		free(cm);
		if (need >= 0 && rc == 0) {
			c->parse_special = true;
			free(pm);
			return 0;
		}
		if (rc < 0) {
			free(pm);
			return rc;
		}
		/* a template llama.cpp does not know: plain completion, as without one */
		hr_buf_reset(&c->prompt);
	}
#else
	(void)e;
#endif
	rc = hr_prompt_plain(pm, n, &c->prompt);
	free(pm);
	return rc;
}

static int parse_options(json_t *opt, struct hr_llama_call *c, const char **err)
{
	c->temp = 0.8, c->top_p = 0.95, c->top_k = 40; /* llama.cpp's own defaults */
	c->seed = 0xFFFFFFFFu;                         /* a random seed per call */
	json_t *v;
	if ((v = json_object_get(opt, "temperature")) && json_is_number(v))
		c->temp = json_number_value(v);
	if ((v = json_object_get(opt, "top_p")) && json_is_number(v))
		c->top_p = json_number_value(v);
	if ((v = json_object_get(opt, "top_k")) && json_is_integer(v))
		c->top_k = (int)json_integer_value(v);
	if ((v = json_object_get(opt, "seed")) && json_is_integer(v))
		c->seed = (uint32_t)json_integer_value(v);
	if ((v = json_object_get(opt, "num_predict")) && json_is_integer(v))
		c->max_tokens = (long)json_integer_value(v);
	json_t *stop = json_object_get(opt, "stop");
	size_t n = json_array_size(stop), total = 0;
	if (n > HR_LLAMA_MAX_STOP) {
		*err = "at most 16 stop strings";
		return HR_EINVAL;
	}
	for (size_t i = 0; i < n; i++)
		total += json_string_length(json_array_get(stop, i)) + 1;
	if (n && !(c->stop_mem = malloc(total)))
		return HR_ENOMEM;
	char *p = c->stop_mem;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_array_get(stop, i);
		size_t l = json_string_length(s);
		if (l)
			memcpy(p, json_string_value(s), l);
		c->stops[c->n_stops++] = (struct hr_str){p, l};
		p += l + 1;
	}
	return 0;
}

static int parse_embed(json_t *body, struct hr_llama_call *c, const char **err)
{
	json_t *in = json_object_get(body, "input");
	size_t n = json_is_string(in) ? 1 : json_array_size(in);
	if (n == 0 || n > HR_LLAMA_MAX_INPUTS) {
		*err = "input must be a string or a list of 1 to 2048 strings";
		return HR_EINVAL;
	}
	if (!(c->inputs = calloc(n, sizeof *c->inputs)))
		return HR_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		json_t *s = json_is_string(in) ? in : json_array_get(in, i);
		if (!json_is_string(s)) {
			*err = "input must be a string or a list of strings";
			return HR_EINVAL;
		}
		if (!(c->inputs[c->n_inputs++] = strdup(json_string_value(s))))
			return HR_ENOMEM;
	}
	return 0;
}

/* Reads the Ollama body into c. Returns 0, or an HTTP status with *err. */
static long parse_request(struct engine *e, const char *path, const char *body, size_t len,
                          struct hr_llama_call *c, const char **err)
{
	json_error_t je;
	json_t *root = json_loadb(body ? body : "", len, 0, &je);
	int rc = 0;
	*err = NULL;
	if (!json_is_object(root)) {
		json_decref(root);
		*err = "the request is not a JSON object";
		return 400;
	}
	const char *model = json_string_value(json_object_get(root, "model"));
	c->model = strdup(model ? model : "local");
	if (!c->model)
		rc = HR_ENOMEM;
	else if (strcmp(path, "/api/embed") == 0) {
		c->embed = true;
		if (!e->embeddings) {
			*err = "this model is loaded for chat; set providers.<id>.embeddings: true "
			       "to serve embeddings";
			rc = HR_EINVAL;
		} else {
			rc = parse_embed(root, c, err);
		}
	} else if (strcmp(path, "/api/chat") == 0) {
		if (e->embeddings) {
			*err = "this model is loaded for embeddings (providers.<id>.embeddings)";
			rc = HR_EINVAL;
		} else {
			c->stream = json_is_true(json_object_get(root, "stream"));
			rc = parse_options(json_object_get(root, "options"), c, err);
			if (rc == 0)
				rc = build_prompt(e, json_object_get(root, "messages"), c, err);
		}
	} else {
		*err = "no such path";
		json_decref(root);
		return 404;
	}
	json_decref(root);
	if (rc == HR_ENOMEM) {
		*err = "out of memory";
		return 500;
	}
	if (rc == HR_ETOOBIG) {
		*err = "the prompt is too large";
		return 413;
	}
	return rc < 0 ? 400 : 0;
}

int hr_llama_call_start(struct event_base *base, const char *url, const char *body,
                        size_t len, const struct hr_llama_sink *sink,
                        struct hr_llama_call **out)
{
	struct hr_llama_call *c = calloc(1, sizeof *c);
	if (!c)
		return HR_ENOMEM;
	c->sink = *sink;
	c->refs = 2;
	hr_buf_init(&c->out, HR_LLAMA_OUT_MAX);
	hr_buf_init(&c->prompt, HR_LLAMA_PROMPT_MAX);
	c->ev = event_new(base, -1, 0, on_ready, c);
	if (!c->ev) {
		free(c);
		return HR_ENOMEM;
	}
	const char *id = url + strlen(HR_LLAMA_SCHEME);
	const char *path = strchr(id, '/');
	pthread_mutex_lock(&g_mu);
	struct engine *e = path ? engine_find(id, (size_t)(path - id)) : NULL;
	pthread_mutex_unlock(&g_mu);
	const char *err = NULL;
	long status = 0;
	if (!e) {
		err = "no model of this provider is loaded (restart hearth after adding a "
		      "llamacpp provider)";
		status = HR_LLAMA_UNLOADED;
	} else if (e->error[0]) {
		err = e->error;
		status = HR_LLAMA_UNLOADED;
	} else {
		status = parse_request(e, path, body, len, c, &err);
	}
	*out = c;
	if (status) { /* answered at once, on the caller's loop like any answer */
		c->e = NULL;
		c->refs = 1;
		pthread_mutex_lock(&g_mu);
		post_error_locked(c, status, err ? err : "bad request");
		pthread_mutex_unlock(&g_mu);
		return 0;
	}
	c->e = e;
	pthread_mutex_lock(&e->mu);
	if (e->tail)
		e->tail->next = c;
	else
		e->head = c;
	e->tail = c;
	pthread_cond_signal(&e->cv);
	pthread_mutex_unlock(&e->mu);
	return 0;
}

void hr_llama_call_cancel(struct hr_llama_call *c)
{
	call_detach(c);
	if (c->e) { /* wake the engine: a waiting call is dropped, an active one freed */
		pthread_mutex_lock(&c->e->mu);
		pthread_cond_signal(&c->e->cv);
		pthread_mutex_unlock(&c->e->mu);
	}
	call_unref(c);
}
