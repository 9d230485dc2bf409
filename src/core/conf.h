/* conf.h - the configuration: one YAML file loaded into an immutable, reference-counted
 * snapshot. A reload builds a new snapshot and swaps it in; requests that hold the old one
 * finish with it. Every key is listed once in the schema table in conf.c, with its default
 * and its documentation; docs/config.md must name every key (a test checks). */
#ifndef HR_CONF_H
#define HR_CONF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/pii.h"

struct hr_arena;

enum hr_locality { HR_LOCAL, HR_CLOUD };

struct hr_conf_provider {
	const char *id;          /* the key under providers: */
	const char *kind;        /* "openai", "anthropic", "gemini", "ollama", "llamacpp" */
	const char *base_url;    /* without trailing slash, e.g. https://api.openai.com/v1 */
	const char *api_key;     /* the resolved secret, or NULL; never log it */
	const char *api_key_ref; /* as written ("env:OPENAI_API_KEY"), for display; or NULL */
	enum hr_locality locality;
	long connect_timeout_ms;    /* TCP+TLS connect */
	long first_byte_timeout_ms; /* request sent -> response headers */
	long idle_timeout_ms;       /* longest gap between two chunks of a stream */
	long total_timeout_ms;      /* whole call */
	bool detected;              /* added by detection, not from the file */
	/* kind llamacpp, the embedded engine (engine/llama.h): the GGUF file and how it runs */
	const char *path;
	int context;    /* tokens per sequence; 0 = the model's training context, at most 4096 */
	int threads;    /* decode threads; 0 = half the CPUs, at least 1 */
	int parallel;   /* sequences decoded together (requests served at once) */
	int gpu_layers; /* layers offloaded to a GPU, passed to llama.cpp */
	bool embeddings; /* the context computes embeddings (/v1/embeddings), not chat */
	const char *chat_template; /* a llama.cpp template name or text; NULL = the GGUF's */
};

/* How strong a model is (models.<name>.tier): places it on the shipped router model's scale
 * of prompt difficulty (docs/router.md). */
enum hr_tier { HR_TIER_NONE, HR_TIER_SMALL, HR_TIER_MEDIUM, HR_TIER_LARGE, HR_TIER_FRONTIER };

struct hr_conf_model {
	const char *name;     /* what clients ask for */
	const char *upstream; /* the provider's model id (defaults to name) */
	const struct hr_conf_provider *provider;
	double input_price_per_mtok;  /* dollars per million input tokens */
	double output_price_per_mtok; /* dollars per million output tokens */
	long context_window;          /* tokens; 0 = unknown */
	long max_output_tokens;       /* default answer length where one is required; 0 = 4096 */
	/* capabilities, as configured (default: all but embeddings) */
	bool tools, vision, json_mode, embeddings;
	/* load: calls in flight at once (0 = no limit), waiters beyond that, their longest wait */
	int max_concurrency, max_queue;
	long queue_timeout_ms;
	enum hr_tier tier; /* HR_TIER_NONE: unset (price stands in) */
};

/* What the data policy does with a request that contains a class (policy.<class>), in
 * order of strictness. */
enum hr_policy_action {
	HR_POLICY_ALLOW,      /* goes anywhere the routing allows */
	HR_POLICY_REDACT,     /* typed placeholders before the call, restored in the answer */
	HR_POLICY_LOCAL_ONLY, /* only local models: the request is treated as sensitive */
	HR_POLICY_BLOCK,      /* refused with a 400 that names the classes (never the values) */
};

/* Who may read GET /metrics (telemetry.metrics_auth). */
enum hr_metrics_auth {
	HR_METRICS_AUTH_KEY,      /* as the /v1 endpoints: an API key (loopback without keys) */
	HR_METRICS_AUTH_LOOPBACK, /* loopback clients without a key; others need one */
	HR_METRICS_AUTH_NONE,     /* anyone who reaches the port */
};

/* How a task orders its candidates (src/router/plan.c). */
enum hr_strategy {
	HR_STRAT_ORDERED,  /* as listed: the first allowed and healthy, the rest fallbacks */
	HR_STRAT_CHEAPEST, /* by price (input + output per Mtok), capable ones only */
	HR_STRAT_BALANCED, /* deployments of one model: least outstanding requests per weight */
	HR_STRAT_CASCADE,  /* as listed, local first; escalate when an answer fails a check */
	HR_STRAT_LEARNED,  /* by the learned router's prediction (docs/router.md) */
};

/* The answer checks of strategy cascade (tasks.<name>.checks), as bits. */
enum hr_check {
	HR_CHECK_EMPTY = 1 << 0,     /* no text and no tool call */
	HR_CHECK_REFUSED = 1 << 1,   /* the model refused (its refusal field or stop reason) */
	HR_CHECK_TRUNCATED = 1 << 2, /* stopped by the length limit */
	HR_CHECK_JSON = 1 << 3,      /* JSON was asked for and the text is not valid JSON */
	HR_CHECK_JUDGED = 1 << 4,    /* the task's judge scores the answer below quality_target */
};

#define HR_MAX_TASK_CANDIDATES 32
#define HR_MAX_TASKS           1024
#define HR_MAX_RULES           1024

/* A named kind of work and its routing policy (tasks.<name> in the file). */
struct hr_conf_task {
	const char *name;
	const char **candidates; /* model names, in order (each exists in models:) */
	size_t n_candidates;
	double *weights; /* balanced: one per candidate (default 1); else NULL */
	enum hr_strategy strategy;
	double quality_target; /* 0..1; cascade and learned use it; default 0 */
	int checks;            /* cascade: enum hr_check bits; default all */
	double threshold;      /* learned: P(strong needed) from which the priciest goes first */
	const char *router_model; /* learned: the task's own model file, or NULL */
	/* shadow evaluation and learning online (src/api/shadow.c, docs/router.md) */
	const char *reference;     /* the bar; default the priciest candidate */
	const char *challenger;    /* put to the test; default the cheapest other candidate */
	const char *judge;         /* scores both answers; NULL: no shadow evaluation */
	double shadow_sample;      /* share of answered requests shadowed, 0..1 */
	double shadow_budget_usd;  /* per UTC day, shadow + judge calls */
	bool keep_prompts;         /* store every answered prompt (for feedback training) */
	bool auto_promote;         /* challenger first once proven no worse */
	int promote_min_samples;   /* judged pairs before deciding */
	double promote_margin;     /* tolerated mean-score deficit at 95% confidence */
	bool local_only;       /* never a cloud provider, on any path, fallbacks included */
	long timeout_ms;       /* per attempt, whole call; 0 = the provider's own */
	int max_retries;       /* per candidate on a retryable error, before any byte; default 1 */
	bool fallback;         /* after a failure, go on to the next candidate; default true */
};

/* One routing rule (rules: in the file, in order; the first that matches picks the task).
 * Conditions left unset (-1 / NULL) match anything; all set ones must hold. */
struct hr_conf_rule {
	const char *task;  /* the task it picks (exists in tasks:, or "auto") */
	const char *model; /* the model the client asked for, e.g. "auto"; NULL any */
	int has_images;    /* -1 any, 0 no, 1 yes */
	int needs_tools;
	int json_mode;
	int contains_code;
	int sensitive;        /* the data-policy class (governance issue fills the detector) */
	long min_tokens;      /* estimated prompt tokens >= this; -1 none */
	long max_tokens;      /* estimated prompt tokens <= this; -1 none */
	const char *language; /* ISO 639-1 code, e.g. "en"; NULL any */
};

/* A budget in dollars over a UTC period (budgets: in the file; governance/limits.c). */
enum hr_limit_scope {
	HR_SCOPE_GLOBAL, /* every client request */
	HR_SCOPE_KEY,    /* the caller's API key ("key_…", or "operator") */
	HR_SCOPE_USER,   /* the key's user */
	HR_SCOPE_TEAM,   /* the key's (or its user's) team */
	HR_SCOPE_TASK,   /* the routing task */
};
enum hr_period { HR_PERIOD_DAY, HR_PERIOD_MONTH };

#define HR_MAX_BUDGETS     256
#define HR_MAX_RATE_LIMITS 256
#define HR_MAX_ALERTS      8

struct hr_conf_budget {
	enum hr_limit_scope scope;
	const char *id; /* the key, user, team id or task name; NULL for global */
	enum hr_period period;
	double limit_usd;
	double downgrade_at; /* share of limit_usd from which dearer candidates are skipped; 0 never */
	double alert_at[HR_MAX_ALERTS]; /* shares of limit_usd that fire an alert, ascending */
	size_t n_alert_at;
};

/* A rate limit per minute (rate_limits: in the file). 0 = no limit of that kind. */
struct hr_conf_rate_limit {
	enum hr_limit_scope scope; /* key, user or team */
	const char *id;
	long requests_per_minute;
	long tokens_per_minute;
};

struct hr_conf {
	atomic_int refs;
	struct hr_arena *arena; /* owns every string and array below */
	const char *path;       /* the file loaded, or NULL for built-in defaults */

	struct {
		const char *host;      /* listen address, default 127.0.0.1 */
		int port;              /* default 8420 */
		int workers;           /* event-loop threads; 0 = one per core, at most 16 */
		const char **api_keys; /* resolved secrets; never log them */
		size_t n_api_keys;
		size_t max_body_bytes;
		size_t max_header_bytes;
		long client_timeout_ms;   /* idle read/write timeout of a client connection */
		long shutdown_timeout_ms; /* how long SIGTERM waits for in-flight requests */
		const char *master_key_file; /* the key of secret:NAME refs; NULL: none */
	} server;
	struct {
		enum hr_log_level level;
		enum hr_log_format format;
		bool requests; /* one JSON line per request (telemetry/reqlog.h) */
	} log;
	struct {
		int metrics_auth; /* enum hr_metrics_auth: who may GET /metrics */
		const char *otlp_endpoint; /* OTLP/HTTP base URL (…/v1/traces appended); NULL: off */
		const char *service_name;  /* service.name of the spans and alerts */
		bool trace_prompts;        /* spans carry the prompt and answer text */
		double trace_sample;       /* share of requests traced (without a sampled parent) */
	} telemetry;
	struct {
		const char *webhook_url;        /* NULL: alerts are audit events only */
		const char *webhook_secret;     /* resolved; signs the body; never log it */
		const char *webhook_secret_ref; /* as written, for display */
		long webhook_timeout_ms;
	} alerts;
	struct {
		const char *data_dir;    /* default ./hearth-data */
		long commit_interval_ms; /* group-commit window of the usage writer */
	} storage;
	struct {
		size_t max_messages, max_tools, max_json_depth;
		size_t max_stream_line_bytes, max_response_bytes, request_memory_bytes;
	} limits;

	/* the data policy (governance/policy.c): what a request containing each class may do */
	struct {
		enum hr_policy_action action[HR_PII__COUNT]; /* policy.<class>; default allow */
		/* The same per destination, indexed by enum hr_locality: allow, redact or block
		 * only, local never stricter than cloud. The scalar forms: allow = both allow,
		 * redact = cloud redact + local allow, local_only = cloud block + local allow,
		 * block = both block; the mapping form ({cloud: redact, local: allow}) sets both
		 * and action[] is derived from it (the strictest that routing needs). */
		enum hr_policy_action dest[2][HR_PII__COUNT];
		unsigned dest_set; /* classes written in the mapping form (bits by class) */
		enum hr_policy_action on_error; /* a detector could not finish; default block */
		const char **keywords;          /* policy.keywords: class keyword */
		size_t n_keywords;
		const char **patterns; /* policy.patterns: class pattern */
		size_t n_patterns;
	} policy;

	struct {
		const char *model; /* the learned router's model file; default the shipped one */
		/* savings are measured against it where a task names no cloud reference; NULL:
		 * the priciest chat model (hr_conf_reference) */
		const char *reference_model;
	} router;

	struct hr_conf_provider *providers;
	size_t n_providers;
	struct hr_conf_model *models;
	size_t n_models;
	struct hr_conf_task *tasks;
	size_t n_tasks;
	struct hr_conf_rule *rules;
	size_t n_rules;
	struct hr_conf_budget *budgets;
	size_t n_budgets;
	struct hr_conf_rate_limit *rate_limits;
	size_t n_rate_limits;
};

/* Loads path (NULL: built-in defaults only), applies HEARTH_<SECTION>_<KEY> environment
 * overrides, interpolates ${VAR}, resolves env:/file: secret references and validates.
 * Returns 0 and *out (refs = 1, owned by the caller: hr_conf_release()), or HR_ECONF with
 * err holding one line per problem: "<file>:<line>: <key>: <what is wrong; what to do>"
 * ("env HEARTH_X: <key>: ..." for an override), or HR_ENOMEM; *out is NULL on failure.
 * Lines are appended to err (which may be NULL). */
int hr_conf_load(const char *path, struct hr_conf **out, struct hr_buf *err);

/* hr_conf_load() with flags: HR_CONF_NO_SECRETS leaves secret references (env:, file:,
 * secret:) unresolved, their values a placeholder — for commands that need the config's
 * other settings but no secret, such as `hearth secrets set` before the secret exists. */
#define HR_CONF_NO_SECRETS 1u
int hr_conf_load_ex(const char *path, unsigned flags, struct hr_conf **out, struct hr_buf *err);

/* The same as hr_conf_load(), from len bytes of text (need not end in NUL; borrowed for the
 * call). name is used in messages and as c->path; NULL: "<config>" in messages, path NULL.
 * err may be NULL. Returns 0, HR_ECONF or HR_ENOMEM, as hr_conf_load(). */
int hr_conf_load_mem(const char *name, const char *text, size_t len, struct hr_conf **out,
                     struct hr_buf *err);

/* Adds a provider or a model to a snapshot that is not yet published (detection at
 * start-up). Strings are copied into c's arena; a provider's timeouts left 0 get the schema
 * defaults, its base_url loses trailing slashes; upstream NULL means the model's name.
 * Provider pointers stay valid (the array has HR_MAX_PROVIDERS slots); the models array may
 * move, so look models up again after adding. Returns 0, HR_ENOMEM, HR_ETOOMANY or
 * HR_EINVAL (bad or duplicate id/name, unknown kind or provider, bad URL or price). */
int hr_conf_add_provider(struct hr_conf *c, const struct hr_conf_provider *p);
int hr_conf_add_model(struct hr_conf *c, const char *name, const char *provider_id,
                      const char *upstream, double in_price, double out_price, long ctx);

/* Returns: borrowed from c; NULL if absent. name[0..len) need not end in NUL. */
const struct hr_conf_model *hr_conf_model_find(const struct hr_conf *c, const char *name,
                                               size_t len);
const struct hr_conf_provider *hr_conf_provider_find(const struct hr_conf *c, const char *id);
const struct hr_conf_task *hr_conf_task_find(const struct hr_conf *c, const char *name, size_t len);

/* Reference counting; hr_conf_release() frees the snapshot when the last ref goes. */
struct hr_conf *hr_conf_ref(struct hr_conf *c);
void hr_conf_release(struct hr_conf *c);

/* The model whose prices a request's savings are measured against (docs/monitoring.md):
 * the task's reference when it is a cloud model, else router.reference_model, else the
 * priciest chat model. t may be NULL (a plain model). Returns: borrowed from c; NULL when c
 * has no chat model. */
const struct hr_conf_model *hr_conf_reference(const struct hr_conf *c,
                                              const struct hr_conf_task *t);

/* The published snapshot (thread-safe). hr_conf_current() returns a new reference, or NULL
 * before the first publish. hr_conf_publish() takes over the caller's reference to c and
 * releases the old one; publishing NULL drops the published snapshot (at exit). */
struct hr_conf *hr_conf_current(void);
void hr_conf_publish(struct hr_conf *c);

/* Every key of the schema, one per line: "<dotted.key>\t<default>\t<doc>"
 * (providers.<id>.x, models.<name>.x and tasks.<name>.x appear with the literal
 * "<id>"/"<name>", the keys of each item of rules: as rules[].x). */
void hr_conf_dump_keys(FILE *f);

#endif
