/* conf.c - the configuration loader: YAML (libyaml events) -> a small node tree -> struct
 * hr_conf, driven by one schema table; ${VAR} interpolation, env overrides, secret refs. */
#include "core/conf.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include <yaml.h>

#include "core/arena.h"
#include "core/err.h"
#include "core/limits.h"
#include "core/secrets.h"

/* ---- the schema ------------------------------------------------------------------------ */

enum conf_type {
	T_STR,         /* non-empty text */
	T_URL,         /* http:// or https:// URL; trailing slashes stripped */
	T_KIND,        /* a known provider kind (provider_kind_known) */
	T_INT,         /* whole number in [min, max] */
	T_SIZE,        /* bytes in [min, max]; k/m/g suffixes (KiB/MiB/GiB) allowed */
	T_MS,          /* milliseconds in [min, max] */
	T_BOOL,        /* true|false|yes|no|on|off */
	T_ENUM,        /* one of choices; stored as its index (an enum) */
	T_PRICE,       /* dollars, a finite number >= 0 */
	T_SECRET,      /* env:NAME, file:/path or secret:NAME; the value at off, the ref at off2 */
	T_SECRET_LIST, /* a YAML list of secret references (server.api_keys) */
	T_PROVIDER,    /* id of a provider defined under providers: */
	T_MODEL_LIST,  /* a YAML list of chat model names from models: (tasks.<name>.candidates) */
	T_WEIGHTS,     /* a YAML list of positive numbers (tasks.<name>.weights) */
	T_RATIO,       /* a number in [0, 1] */
	T_TASK,        /* name of a task under tasks:, or "auto" */
	T_MODEL,       /* name of a chat model under models: */
	T_LANG,        /* ISO 639-1 code: two lowercase letters */
	T_SET,         /* names from choices, a YAML list or comma-separated; stored as bits */
	T_STR_LIST,    /* a YAML list of non-empty strings of at most min bytes, max items */
	T_RATIOS,      /* a YAML list of numbers in [0, 1], ascending (budgets[].alert_at) */
};

/* The C type of the member a row writes, found by _Generic so a row cannot lie about it. */
enum conf_ctype { C_INT, C_LONG, C_SIZE, C_DOUBLE, C_STR, C_BOOL, C_OTHER };
#define CTYPE_(e)                                                                                  \
	_Generic((e), int: C_INT, long: C_LONG, size_t: C_SIZE, double: C_DOUBLE,             \
		 const char *: C_STR, bool: C_BOOL, default: C_OTHER)

enum conf_scope { S_ROOT, S_PROVIDER, S_MODEL, S_TASK, S_RULE, S_BUDGET, S_RATE };

#define F_REQUIRED 1u /* must be present */
#define F_NODEF    2u /* def is only shown (required, optional or computed); never parsed */

struct conf_row {
	const char *key; /* dotted key; scoped rows have the literal "<id>" / "<name>" / "[]" */
	enum conf_type type;
	const char *def; /* default as text, parsed like a value from the file */
	enum conf_scope scope;
	size_t off, off2; /* in struct hr_conf or hr_conf_{provider,model,task,rule} */
	enum conf_ctype ctype;
	long long min, max;
	unsigned flags;
	const char *const *choices; /* T_ENUM: names, index = value; NULL-terminated */
	const char *doc;
};

static const char *const level_choices[] = {"error", "warn", "info", "debug", NULL};
static const char *const format_choices[] = {"text", "json", NULL};
static const char *const metrics_auth_choices[] = {"key", "loopback", "none", NULL};
_Static_assert(HR_METRICS_AUTH_KEY == 0 && HR_METRICS_AUTH_NONE == 2, "metrics_auth_choices order");
static const char *const locality_choices[] = {"local", "cloud", NULL};
static const char *const strategy_choices[] = {"ordered", "cheapest", "balanced",
                                               "cascade", "learned",  NULL};
static const char *const tier_choices[] = {"none", "small", "medium", "large", "frontier",
                                           NULL};
_Static_assert(HR_TIER_NONE == 0 && HR_TIER_FRONTIER == 4, "tier_choices order");
_Static_assert(sizeof(enum hr_tier) == sizeof(int), "enums are stored as int");
static const char *const action_choices[] = {"allow", "redact", "local_only", "block", NULL};
_Static_assert(HR_POLICY_ALLOW == 0 && HR_POLICY_REDACT == 1 && HR_POLICY_LOCAL_ONLY == 2 &&
                   HR_POLICY_BLOCK == 3,
               "action_choices order");
_Static_assert(sizeof(enum hr_policy_action) == sizeof(int), "enums are stored as int");
static const char *const check_choices[] = {"empty", "refused", "truncated", "json", "judged",
                                            NULL};
_Static_assert(HR_CHECK_EMPTY == 1 << 0 && HR_CHECK_REFUSED == 1 << 1 &&
                   HR_CHECK_TRUNCATED == 1 << 2 && HR_CHECK_JSON == 1 << 3 &&
                   HR_CHECK_JUDGED == 1 << 4,
               "check_choices order");
_Static_assert(sizeof(enum hr_log_level) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum hr_log_format) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum hr_locality) == sizeof(int), "enums are stored as int");
_Static_assert(sizeof(enum hr_strategy) == sizeof(int), "enums are stored as int");
_Static_assert(HR_STRAT_ORDERED == 0 && HR_STRAT_CHEAPEST == 1 && HR_STRAT_BALANCED == 2 &&
                   HR_STRAT_CASCADE == 3 && HR_STRAT_LEARNED == 4,
               "strategy_choices order");
_Static_assert(HR_LOCAL == 0 && HR_CLOUD == 1, "locality_choices order");
static const char *const scope_choices[] = {"global", "key", "user", "team", "task", NULL};
_Static_assert(HR_SCOPE_GLOBAL == 0 && HR_SCOPE_KEY == 1 && HR_SCOPE_USER == 2 &&
                   HR_SCOPE_TEAM == 3 && HR_SCOPE_TASK == 4,
               "scope_choices order");
_Static_assert(sizeof(enum hr_limit_scope) == sizeof(int), "enums are stored as int");
static const char *const period_choices[] = {"day", "month", NULL};
_Static_assert(HR_PERIOD_DAY == 0 && HR_PERIOD_MONTH == 1, "period_choices order");
_Static_assert(sizeof(enum hr_period) == sizeof(int), "enums are stored as int");
_Static_assert(HR_LOG_LVL_ERROR == 0 && HR_LOG_LVL_DEBUG == 3, "level_choices order");
_Static_assert(HR_LOG_TEXT == 0 && HR_LOG_JSON == 1, "format_choices order");

#define MS_MAX    86400000LL  /* one day */
#define SIZE_MAX_ (1LL << 40) /* 1 TiB: more is a typo */
#define ROW_(k, t, d, sc, S, m, lo, hi, fl, ch, doc)                                               \
	{                                                                                          \
		k, t, d, sc, offsetof(S, m), 0, CTYPE_(((S *)0)->m), lo, hi, fl, ch, doc           \
	}
#define R_ROOT(k, t, d, m, lo, hi, ch, doc)                                                        \
	ROW_(k, t, d, S_ROOT, struct hr_conf, m, lo, hi, 0, ch, doc)
#define R_PROV(k, t, d, m, lo, hi, fl, ch, doc)                                                    \
	ROW_(k, t, d, S_PROVIDER, struct hr_conf_provider, m, lo, hi, fl, ch, doc)
#define R_MODEL(k, t, d, m, lo, hi, fl, doc)                                                       \
	ROW_(k, t, d, S_MODEL, struct hr_conf_model, m, lo, hi, fl, NULL, doc)
#define R_TASK(k, t, d, m, lo, hi, fl, ch, doc)                                                    \
	ROW_(k, t, d, S_TASK, struct hr_conf_task, m, lo, hi, fl, ch, doc)
#define R_RULE(k, t, d, m, lo, hi, fl, doc)                                                        \
	ROW_(k, t, d, S_RULE, struct hr_conf_rule, m, lo, hi, fl, NULL, doc)
#define R_BUDGET(k, t, d, m, lo, hi, fl, ch, doc)                                                  \
	ROW_(k, t, d, S_BUDGET, struct hr_conf_budget, m, lo, hi, fl, ch, doc)
#define R_RATE(k, t, d, m, lo, hi, fl, ch, doc)                                                    \
	ROW_(k, t, d, S_RATE, struct hr_conf_rate_limit, m, lo, hi, fl, ch, doc)
#define PER_MINUTE_MAX 1000000000LL
#define TOKENS_MAX 1000000000LL /* estimated prompt tokens a rule may name */
_Static_assert(HR_MAX_TASK_CANDIDATES == 32, "the doc of tasks.<name>.candidates says 32");

/* THE schema: every key hearth reads, its default and its documentation. Defaults that
 * limits.h also names are cross-checked by tests/unit/test_conf.c. */
static const struct conf_row rows[] = {
    R_ROOT("server.host", T_STR, "127.0.0.1", server.host, 0, 0, NULL,
           "address to listen on (IPv4, IPv6 or a host name)"),
    R_ROOT("server.port", T_INT, "8420", server.port, 1, 65535, NULL,
           "TCP port to listen on, 1..65535"),
    R_ROOT("server.workers", T_INT, "0", server.workers, 0, 16, NULL,
           "event-loop threads; 0 = one per CPU core, at most 16"),
    {"server.api_keys", T_SECRET_LIST, "[]", S_ROOT, offsetof(struct hr_conf, server.api_keys),
     offsetof(struct hr_conf, server.n_api_keys), C_OTHER, 0, HR_MAX_API_KEYS, F_NODEF, NULL,
     "API keys clients must present, as a list of secret references (env:NAME, file:/path, "
     "secret:NAME); "
     "the HEARTH_API_KEY environment variable adds one"},
    R_ROOT("server.max_body_bytes", T_SIZE, "8MiB", server.max_body_bytes, 1, SIZE_MAX_, NULL,
           "largest request body accepted; larger gets 413"),
    R_ROOT("server.max_header_bytes", T_SIZE, "32KiB", server.max_header_bytes, 1, SIZE_MAX_, NULL,
           "largest request header block accepted"),
    R_ROOT("server.client_timeout_ms", T_MS, "30000", server.client_timeout_ms, 1, MS_MAX, NULL,
           "idle read/write timeout of a client connection, in milliseconds"),
    R_ROOT("server.shutdown_timeout_ms", T_MS, "10000", server.shutdown_timeout_ms, 1, MS_MAX, NULL,
           "how long SIGTERM waits for in-flight requests, in milliseconds"),
    {"server.master_key_file", T_STR, "(none)", S_ROOT,
     offsetof(struct hr_conf, server.master_key_file), 0, C_STR, 0, 0, F_NODEF, NULL,
     "file holding the master key of the secret store (secret:NAME references): 32 bytes in "
     "hex or base64, mode 0600, owned by the user hearth runs as; HEARTH_MASTER_KEY wins"},
    {"log.level", T_ENUM, "info", S_ROOT, offsetof(struct hr_conf, log.level), 0, C_OTHER, 0, 0, 0,
     level_choices, "log verbosity: error, warn, info or debug"},
    {"log.format", T_ENUM, "text", S_ROOT, offsetof(struct hr_conf, log.format), 0, C_OTHER, 0, 0,
     0, format_choices, "log line format: text or json (one JSON object per line)"},
    R_ROOT("log.requests", T_BOOL, "true", log.requests, 0, 0, NULL,
           "one JSON line per answered request at info level (request id, route, model, "
           "status, latency, tokens, cost; never prompts or keys), in either log.format"),
    {"telemetry.metrics_auth", T_ENUM, "key", S_ROOT, offsetof(struct hr_conf, telemetry.metrics_auth),
     0, C_INT, 0, 0, 0, metrics_auth_choices,
     "who may GET /metrics: key (an API key, as for /v1; loopback clients when no keys are "
     "set), loopback (loopback clients without a key, others with one) or none (anyone)"},
    {"telemetry.otlp_endpoint", T_URL, "(none)", S_ROOT,
     offsetof(struct hr_conf, telemetry.otlp_endpoint), 0, C_STR, 0, 0, F_NODEF, NULL,
     "OpenTelemetry collector's OTLP/HTTP base URL, e.g. http://127.0.0.1:4318 (spans go to "
     "<url>/v1/traces as JSON); unset: no traces"},
    R_ROOT("telemetry.service_name", T_STR, "hearth", telemetry.service_name, 0, 0, NULL,
           "service.name of the spans and of alert payloads"),
    R_ROOT("telemetry.trace_prompts", T_BOOL, "false", telemetry.trace_prompts, 0, 0, NULL,
           "put the prompt's last user message (cut at 4 KiB) on the request's span as "
           "gen_ai.prompt; off: never any prompt text"),
    R_ROOT("telemetry.trace_sample", T_RATIO, "1", telemetry.trace_sample, 0, 0, NULL,
           "share of requests traced, 0..1, when the client sent no traceparent (a sampled "
           "traceparent is always followed)"),
    {"alerts.webhook_url", T_URL, "(none)", S_ROOT, offsetof(struct hr_conf, alerts.webhook_url),
     0, C_STR, 0, 0, F_NODEF, NULL,
     "URL each alert (provider down/up, budget threshold) is POSTed to as JSON; unset: alerts "
     "are audit events only"},
    {"alerts.webhook_secret", T_SECRET, "(none)", S_ROOT,
     offsetof(struct hr_conf, alerts.webhook_secret), offsetof(struct hr_conf, alerts.webhook_secret_ref),
     C_STR, 0, 0, F_NODEF, NULL,
     "secret reference (env:NAME, file:/path or secret:NAME): signs each webhook body, "
     "header X-Hearth-Signature: sha256=<hex HMAC-SHA256>"},
    R_ROOT("alerts.webhook_timeout_ms", T_MS, "5000", alerts.webhook_timeout_ms, 1, MS_MAX, NULL,
           "longest wait for the webhook's answer, per try, in milliseconds"),
    R_ROOT("storage.data_dir", T_STR, "./hearth-data", storage.data_dir, 0, 0, NULL,
           "directory of the usage database and other state"),
    R_ROOT("storage.commit_interval_ms", T_MS, "0", storage.commit_interval_ms, 0, MS_MAX, NULL,
           "extra wait, in milliseconds, for more usage records before a commit when the "
           "writer was idle; 0 commits at once (records arriving during a commit share the "
           "next one)"),
#define POLICY_ROW_(name, label)                                                                   \
	R_ROOT("policy." label, T_ENUM, "allow", policy.action[HR_PII_##name], 0, 0,               \
	       action_choices,                                                                     \
	       "a request containing " label ": allow, redact (placeholders to cloud models), "   \
	       "local_only (local models only) or block; or per destination {cloud: X, local: "    \
	       "Y} with X, Y allow, redact or block"),
    HR_PII_CLASS_MAP(POLICY_ROW_)
#undef POLICY_ROW_
        R_ROOT("policy.on_error", T_ENUM, "block", policy.on_error, 0, 0, action_choices,
               "when the detectors cannot finish (too long, too many findings): block or "
               "local_only; the policy fails closed (block when a class redacts for local "
               "models)"),
    {"policy.keywords", T_STR_LIST, "[]", S_ROOT, offsetof(struct hr_conf, policy.keywords),
     offsetof(struct hr_conf, policy.n_keywords), C_OTHER, 128, 1024, F_NODEF, NULL,
     "words or phrases (project code names ...) found case-insensitively as class keyword"},
    {"policy.patterns", T_STR_LIST, "[]", S_ROOT, offsetof(struct hr_conf, policy.patterns),
     offsetof(struct hr_conf, policy.n_patterns), C_OTHER, 64, 64, F_NODEF, NULL,
     "patterns found as class pattern: # a digit, @ a letter, ? either, e.g. PRJ-####"},
    R_ROOT("router.model", T_STR, "share/router/default.json", router.model, 0, 0, NULL,
           "the learned router's model file (hearth router train); relative paths from the "
           "working directory"),
    ROW_("router.reference_model", T_STR, "(the priciest chat model)", S_ROOT, struct hr_conf,
         router.reference_model, 0, 0, F_NODEF, NULL,
         "the model whose prices savings are measured against, for requests whose task "
         "names no cloud reference (tasks.<name>.reference)"),
    R_ROOT("limits.max_messages", T_INT, "4096", limits.max_messages, 1, 1000000, NULL,
           "most messages in one chat request"),
    R_ROOT("limits.max_tools", T_INT, "512", limits.max_tools, 1, 100000, NULL,
           "most tools in one chat request"),
    R_ROOT("limits.max_json_depth", T_INT, "64", limits.max_json_depth, 1, 2048, NULL,
           "deepest nesting of a request's JSON, 1..2048"),
    R_ROOT("limits.max_stream_line_bytes", T_SIZE, "4MiB", limits.max_stream_line_bytes, 1,
           SIZE_MAX_, NULL, "longest line of a provider's event stream"),
    R_ROOT("limits.max_response_bytes", T_SIZE, "64MiB", limits.max_response_bytes, 1, SIZE_MAX_,
           NULL, "largest non-streaming provider answer"),
    R_ROOT("limits.request_memory_bytes", T_SIZE, "256MiB", limits.request_memory_bytes, 1,
           SIZE_MAX_, NULL, "memory cap of one request"),

    R_PROV("providers.<id>.kind", T_KIND, "(required)", kind, 0, 0, F_REQUIRED | F_NODEF, NULL,
           "wire format the provider speaks: openai, anthropic, gemini or ollama; or "
           "llamacpp, a GGUF model run in hearth's own process (docs/local-models.md)"),
    R_PROV("providers.<id>.base_url", T_URL, "(required)", base_url, 0, 0, F_NODEF, NULL,
           "http:// or https:// URL the API paths are appended to, e.g. "
           "https://api.openai.com/v1 (kind llamacpp: none)"),
    R_PROV("providers.<id>.path", T_STR, "(required for llamacpp)", path, 0, 0, F_NODEF, NULL,
           "kind llamacpp: the GGUF model file; relative paths from the working directory"),
    R_PROV("providers.<id>.context", T_INT, "0", context, 0, 1048576, 0, NULL,
           "kind llamacpp: context per request, in tokens; 0 = the model's training context, "
           "at most 4096"),
    R_PROV("providers.<id>.threads", T_INT, "0", threads, 0, 1024, 0, NULL,
           "kind llamacpp: CPU threads of the decode; 0 = half the CPUs, at least 1"),
    R_PROV("providers.<id>.parallel", T_INT, "4", parallel, 1, 256, 0, NULL,
           "kind llamacpp: requests decoded together (sequences of one batch); the "
           "default max_concurrency of its models"),
    R_PROV("providers.<id>.gpu_layers", T_INT, "0", gpu_layers, -1, 100000, 0, NULL,
           "kind llamacpp: layers offloaded to a GPU (-1 = all), passed to llama.cpp; the "
           "prebuilt library of make llama is CPU-only"),
    R_PROV("providers.<id>.chat_template", T_STR, "(the GGUF's)", chat_template, 0, 0, F_NODEF,
           NULL,
           "kind llamacpp: the chat template, by the name of one of llama.cpp's (chatml, "
           "llama3, mistral-v7, phi4, gemma, ...) or as a template text it recognizes"),
    R_PROV("providers.<id>.embeddings", T_BOOL, "false", embeddings, 0, 0, 0, NULL,
           "kind llamacpp: load the model for /v1/embeddings (an embedding GGUF) instead of "
           "chat"),
    {"providers.<id>.api_key", T_SECRET, "(none)", S_PROVIDER,
     offsetof(struct hr_conf_provider, api_key), offsetof(struct hr_conf_provider, api_key_ref),
     C_STR, 0, 0, F_NODEF, NULL,
     "secret reference (env:NAME, file:/path or secret:NAME) of the key sent to the "
     "provider"},
    {"providers.<id>.locality", T_ENUM, "(auto)", S_PROVIDER,
     offsetof(struct hr_conf_provider, locality), 0, C_OTHER, 0, 0, F_NODEF, locality_choices,
     "local or cloud; default local when base_url's host is loopback "
     "(127.0.0.1, localhost, ::1), else cloud"},
    R_PROV("providers.<id>.connect_timeout_ms", T_MS, "5000", connect_timeout_ms, 1, MS_MAX, 0,
           NULL, "TCP and TLS connect timeout, in milliseconds"),
    R_PROV("providers.<id>.first_byte_timeout_ms", T_MS, "120000", first_byte_timeout_ms, 1, MS_MAX,
           0, NULL, "request sent to response headers, in milliseconds"),
    R_PROV("providers.<id>.idle_timeout_ms", T_MS, "60000", idle_timeout_ms, 1, MS_MAX, 0, NULL,
           "longest gap between two chunks of a stream, in milliseconds"),
    R_PROV("providers.<id>.total_timeout_ms", T_MS, "600000", total_timeout_ms, 1, MS_MAX, 0, NULL,
           "whole call, in milliseconds"),

    R_MODEL("models.<name>.provider", T_PROVIDER, "(required)", provider, 0, 0,
            F_REQUIRED | F_NODEF, "id of the provider (under providers:) that serves the model"),
    R_MODEL("models.<name>.upstream", T_STR, "(the name)", upstream, 0, 0, F_NODEF,
            "the provider's id for the model; default: the model's name"),
    R_MODEL("models.<name>.input_price_per_mtok", T_PRICE, "0", input_price_per_mtok, 0, 0, 0,
            "dollars per million input tokens, for usage costs"),
    R_MODEL("models.<name>.output_price_per_mtok", T_PRICE, "0", output_price_per_mtok, 0, 0, 0,
            "dollars per million output tokens, for usage costs"),
    R_MODEL("models.<name>.context_window", T_INT, "0", context_window, 0, 100000000, 0,
            "context length in tokens; 0 = unknown"),
    R_MODEL("models.<name>.max_output_tokens", T_INT, "0", max_output_tokens, 0, 100000000, 0,
            "answer length asked of providers that require one (anthropic) when the client "
            "gives none; 0 = 4096"),
    R_MODEL("models.<name>.max_concurrency", T_INT, "0", max_concurrency, 0, 100000, 0,
            "most calls in flight to this model at once, across all workers; 0 = no limit"),
    R_MODEL("models.<name>.max_queue", T_INT, "0", max_queue, 0, 100000, 0,
            "requests that may wait for a slot when max_concurrency is reached; when the "
            "queue is full the task's next candidate takes the request"),
    R_MODEL("models.<name>.queue_timeout_ms", T_MS, "30000", queue_timeout_ms, 1, MS_MAX, 0,
            "longest wait in the queue, in milliseconds; then the next candidate"),
    {"models.<name>.tier", T_ENUM, "(by price)", S_MODEL, offsetof(struct hr_conf_model, tier),
     0, C_OTHER, 0, 0, F_NODEF, tier_choices,
     "how strong the model is, for the learned router's shipped model: small, medium, "
     "large or frontier; unset, price ranks the candidates"},
    R_MODEL("models.<name>.tools", T_BOOL, "true", tools, 0, 0, 0,
            "the model can call tools; false refuses requests with tools"),
    R_MODEL("models.<name>.vision", T_BOOL, "true", vision, 0, 0, 0,
            "the model reads images; false refuses requests with images"),
    R_MODEL("models.<name>.json_mode", T_BOOL, "true", json_mode, 0, 0, 0,
            "the model honours response_format (JSON mode, JSON schema); false refuses them"),
    R_MODEL("models.<name>.embeddings", T_BOOL, "false", embeddings, 0, 0, 0,
            "an embedding model: served on /v1/embeddings, refused on chat endpoints"),

    {"tasks.<name>.candidates", T_MODEL_LIST, "(required)", S_TASK,
     offsetof(struct hr_conf_task, candidates), offsetof(struct hr_conf_task, n_candidates),
     C_OTHER, 1, HR_MAX_TASK_CANDIDATES, F_REQUIRED | F_NODEF, NULL,
     "chat model names from models:, in order, each once; 1 to 32"},
    R_TASK("tasks.<name>.strategy", T_ENUM, "ordered", strategy, 0, 0, 0, strategy_choices,
           "how candidates are ordered: ordered, cheapest, balanced, cascade or learned"),
    R_TASK("tasks.<name>.weights", T_WEIGHTS, "(all 1)", weights, 0, 0, F_NODEF, NULL,
           "strategy balanced only: one positive number per candidate"),
    R_TASK("tasks.<name>.quality_target", T_RATIO, "0", quality_target, 0, 0, 0, NULL,
           "answer quality to reach, 0 to 1 (cascade and learned use it)"),
    R_TASK("tasks.<name>.checks", T_SET, "empty,refused,truncated,json", checks, 0, 0, 0,
           check_choices,
           "strategy cascade: the checks a whole answer must pass, else the next candidate "
           "is asked: empty, refused, truncated, json (valid JSON when JSON was asked for), "
           "judged (the task's judge scores it at least quality_target)"),
    R_TASK("tasks.<name>.threshold", T_RATIO, "0.5", threshold, 0, 0, 0, NULL,
           "strategy learned: the predicted P(a strong model is needed) from which the "
           "priciest candidate goes first; below it, the cheapest"),
    R_TASK("tasks.<name>.reference", T_MODEL, "(the priciest candidate)", reference, 0, 0,
           F_NODEF, NULL,
           "the model whose answers set the bar: shadow evaluation compares the challenger "
           "with it"),
    R_TASK("tasks.<name>.challenger", T_MODEL, "(the cheapest other candidate)", challenger, 0,
           0, F_NODEF, NULL,
           "the model shadow evaluation puts to the test against the reference (usually the "
           "local one); auto_promote moves it first"),
    R_TASK("tasks.<name>.judge", T_MODEL, "(none)", judge, 0, 0, F_NODEF, NULL,
           "the model that scores the two answers of a shadow evaluation; required when "
           "shadow_sample is above 0"),
    R_TASK("tasks.<name>.shadow_sample", T_RATIO, "0", shadow_sample, 0, 0, 0, NULL,
           "share of the task's answered requests also sent to the other model of the "
           "reference/challenger pair and judged, off the client's path; 0 = off"),
    R_TASK("tasks.<name>.shadow_budget_usd", T_PRICE, "1", shadow_budget_usd, 0, 0, 0, NULL,
           "most dollars per UTC day that shadow and judge calls of the task may cost"),
    R_TASK("tasks.<name>.keep_prompts", T_BOOL, "false", keep_prompts, 0, 0, 0, NULL,
           "store the last user message of every answered request (not only the shadowed "
           "ones), so that POST /v1/feedback scores can train the router"),
    R_TASK("tasks.<name>.auto_promote", T_BOOL, "false", auto_promote, 0, 0, 0, NULL,
           "move the challenger first once shadow evaluation proves it no worse than the "
           "reference by more than promote_margin (and back when it proves worse); audited"),
    R_TASK("tasks.<name>.promote_min_samples", T_INT, "50", promote_min_samples, 2, 1000000, 0,
           NULL, "judged pairs needed before auto_promote may decide"),
    R_TASK("tasks.<name>.promote_margin", T_RATIO, "0.05", promote_margin, 0, 0, 0, NULL,
           "how much lower (0 to 1) the challenger's mean score may be than the reference's, "
           "at 95% confidence, for it to be promoted"),
    R_TASK("tasks.<name>.router_model", T_STR, "(router.model)", router_model, 0, 0, F_NODEF,
           NULL,
           "strategy learned: this task's own router model (hearth router train "
           "--from-usage), instead of router.model"),
    R_TASK("tasks.<name>.local_only", T_BOOL, "false", local_only, 0, 0, 0, NULL,
           "never send the task to a cloud provider, fallbacks included"),
    R_TASK("tasks.<name>.timeout_ms", T_MS, "0", timeout_ms, 0, MS_MAX, 0, NULL,
           "whole-call timeout of one attempt, in milliseconds; 0 = the provider's own"),
    R_TASK("tasks.<name>.max_retries", T_INT, "1", max_retries, 0, 5, 0, NULL,
           "retries of one candidate on a retryable error before any byte is sent, 0..5"),
    R_TASK("tasks.<name>.fallback", T_BOOL, "true", fallback, 0, 0, 0, NULL,
           "after a failure, go on to the next candidate"),

    R_RULE("rules[].task", T_TASK, "(required)", task, 0, 0, F_REQUIRED | F_NODEF,
           "the task the rule picks: a name under tasks:, or auto"),
    R_RULE("rules[].model", T_STR, "(any)", model, 0, 0, F_NODEF,
           "matches when the client asked for this model name, e.g. auto"),
    R_RULE("rules[].has_images", T_BOOL, "(any)", has_images, 0, 0, F_NODEF,
           "matches requests with (true) or without (false) images"),
    R_RULE("rules[].needs_tools", T_BOOL, "(any)", needs_tools, 0, 0, F_NODEF,
           "matches requests with (true) or without (false) tools"),
    R_RULE("rules[].json_mode", T_BOOL, "(any)", json_mode, 0, 0, F_NODEF,
           "matches requests that ask (true) or do not ask (false) for JSON output"),
    R_RULE("rules[].contains_code", T_BOOL, "(any)", contains_code, 0, 0, F_NODEF,
           "matches prompts that contain (true) or do not contain (false) code"),
    R_RULE("rules[].sensitive", T_BOOL, "(any)", sensitive, 0, 0, F_NODEF,
           "matches requests the data policy marks sensitive (true) or not (false)"),
    R_RULE("rules[].min_tokens", T_INT, "(none)", min_tokens, 0, TOKENS_MAX, F_NODEF,
           "matches when the estimated prompt tokens are at least this"),
    R_RULE("rules[].max_tokens", T_INT, "(none)", max_tokens, 0, TOKENS_MAX, F_NODEF,
           "matches when the estimated prompt tokens are at most this"),
    R_RULE("rules[].language", T_LANG, "(any)", language, 0, 0, F_NODEF,
           "matches prompts in this language: an ISO 639-1 code such as en or de"),

    R_BUDGET("budgets[].scope", T_ENUM, "(required)", scope, 0, 0, F_REQUIRED | F_NODEF,
             scope_choices,
             "what the budget counts: global (every client request), key, user, team or "
             "task"),
    R_BUDGET("budgets[].id", T_STR, "(required but for global)", id, 0, 0, F_NODEF, NULL,
             "the key id (key_…), user id (usr_…), team id (team_…) or task name counted"),
    R_BUDGET("budgets[].period", T_ENUM, "month", period, 0, 0, 0, period_choices,
             "day or month, in UTC; the spent amount starts again at 0 at each start"),
    R_BUDGET("budgets[].limit_usd", T_PRICE, "(required)", limit_usd, 0, 0,
             F_REQUIRED | F_NODEF, NULL,
             "dollars that may be spent in one period; a request whose worst-case cost "
             "does not fit gets 429"),
    R_BUDGET("budgets[].downgrade_at", T_RATIO, "0", downgrade_at, 0, 0, 0, NULL,
             "share of limit_usd from which a request skips its candidates dearer than the "
             "cheapest allowed one (route reason budget); 0 = never"),
    {"budgets[].alert_at", T_RATIOS, "[0.8, 1.0]", S_BUDGET,
     offsetof(struct hr_conf_budget, alert_at), offsetof(struct hr_conf_budget, n_alert_at),
     C_OTHER, 0, HR_MAX_ALERTS, F_NODEF, NULL,
     "shares of limit_usd whose crossing is an audit event budget.threshold (once per "
     "period each), at most 8; [] = none"},
    R_RATE("rate_limits[].scope", T_ENUM, "(required)", scope, 0, 0, F_REQUIRED | F_NODEF,
           scope_choices, "what the limit counts: key, user or team"),
    R_RATE("rate_limits[].id", T_STR, "(required)", id, 0, 0, F_REQUIRED | F_NODEF, NULL,
           "the key id (key_…), user id (usr_…) or team id (team_…) counted"),
    R_RATE("rate_limits[].requests_per_minute", T_INT, "0", requests_per_minute, 0,
           PER_MINUTE_MAX, 0, NULL,
           "requests admitted per UTC minute (a fixed window); 0 = no limit"),
    R_RATE("rate_limits[].tokens_per_minute", T_INT, "0", tokens_per_minute, 0,
           PER_MINUTE_MAX, 0, NULL,
           "tokens per UTC minute: the prompt estimate plus max_tokens at admission, "
           "corrected to the real count at the end; 0 = no limit"),
};
#define N_ROWS (sizeof rows / sizeof rows[0])

static const char *const sections[] = {"server",    "log",    "storage",  "limits",
                                       "policy",    "router", "providers", "models",
                                       "tasks",     "rules",  "telemetry", "alerts",
                                       "budgets",   "rate_limits"};
#define N_SECTIONS (sizeof sections / sizeof sections[0])

/* The one place that knows the provider kinds, until the registry (hr_provider_find) is
 * linked into every build that loads a config. */
static const char *const provider_kinds[] = {"openai", "anthropic", "gemini", "ollama",
                                              "llamacpp", NULL};

static const char *provider_kind_known(const char *s)
{
	for (size_t i = 0; provider_kinds[i]; i++)
		if (strcmp(s, provider_kinds[i]) == 0)
			return provider_kinds[i];
	return NULL;
}

/* The last component of a row's key ("port" of "server.port"). */
static const char *row_name(const struct conf_row *r)
{
	return strrchr(r->key, '.') + 1;
}

/* Is r a row of scope sc (and, for root rows, of section sect) named name[0..n)? */
static bool row_is(const struct conf_row *r, enum conf_scope sc, const char *sect, const char *name,
                   size_t n)
{
	if (r->scope != sc)
		return false;
	if (sc == S_ROOT) {
		size_t sl = strlen(sect);
		if (strncmp(r->key, sect, sl) != 0 || r->key[sl] != '.')
			return false;
	}
	const char *rn = row_name(r);
	return strlen(rn) == n && memcmp(rn, name, n) == 0;
}

static const struct conf_row *row_find(enum conf_scope sc, const char *sect, const char *name,
                                       size_t n)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (row_is(&rows[i], sc, sect, name, n))
			return &rows[i];
	return NULL;
}

/* ---- the loader's state and its error lines ------------------------------------------- */

#define MAX_ERRORS      100
#define MAX_DEPTH       64
#define MAX_NODES       500000
#define MAX_SECRET_FILE (64u * 1024)
#define SHOW_MAX        60

struct ld {
	struct hr_conf *c;
	struct hr_arena *tmp; /* the node tree; destroyed when loading ends */
	struct hr_buf *err;   /* borrowed from the caller; may be NULL */
	const char *file;     /* name used in messages */
	size_t n_errs;
	bool oom;
	struct hr_buf val; /* the value being converted, after interpolation */
	size_t n_nodes;
	struct pending *pending; /* secret:NAME references, resolved once the file is read */
	unsigned flags;          /* HR_CONF_* */
};

/* A secret:NAME reference: its value is known only once storage.data_dir and the master
 * key are (after the whole file and the environment); until then the config holds marker. */
struct pending {
	struct pending *next;
	const char *marker; /* the placeholder value, replaced where it was stored */
	const char *name;
	const char *key; /* the config key, for messages */
	int line;
	const char *env;
};

/* Where a value came from: a line of the file, an environment variable or the schema. */
struct origin {
	int line;
	const char *env; /* "HEARTH_SERVER_PORT", or NULL for the file */
};

static void conf_err(struct ld *ld, const struct origin *o, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void conf_err(struct ld *ld, const struct origin *o, const char *key, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (++ld->n_errs > MAX_ERRORS + 1 || !ld->err)
		return;
	if (ld->n_errs == MAX_ERRORS + 1) {
		hr_buf_addf(ld->err, "%s: stopped after %d errors\n", ld->file, MAX_ERRORS);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (o->env)
		hr_buf_addf(ld->err, "env %s: %s: %s\n", o->env, key, msg);
	else
		hr_buf_addf(ld->err, "%s:%d: %s: %s\n", ld->file, o->line, key, msg);
}

static void conf_oom(struct ld *ld)
{
	if (!ld->oom && ld->err)
		hr_buf_addf(ld->err, "%s: out of memory while loading the configuration\n",
		            ld->file);
	ld->oom = true;
}

/* Writes s[0..n) into dst for a message: at most SHOW_MAX bytes, anything but printable
 * ASCII as \xNN, so one error stays one line. Returns dst. */
static const char *show(char *dst, size_t cap, const char *s, size_t n)
{
	size_t j = 0;
	for (size_t i = 0; i < n && j + 8 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (i == SHOW_MAX) {
			memcpy(dst + j, "...", 3);
			j += 3;
			break;
		}
		if (ch >= 0x20 && ch < 0x7f && ch != '\'')
			dst[j++] = (char)ch;
		else
			j += (size_t)snprintf(dst + j, cap - j, "\\x%02x", ch);
	}
	dst[j] = '\0';
	return dst;
}
#define SHOW_CAP (SHOW_MAX * 4 + 8)

#define LIST_CAP 400 /* a list of names in a message; longer ones end in "..." */

/* Appends name to the ", "-separated list dst[0..*len) (cap bytes, NUL-terminated). Returns
 * false, and ends the list with "...", when it does not fit. */
static bool list_add(char *dst, size_t cap, size_t *len, const char *name)
{
	size_t n = strlen(name), sep = *len ? 2 : 0;
	if (*len + sep + n + sizeof ", ..." > cap) {
		snprintf(dst + *len, cap - *len, "%s...", sep ? ", " : "");
		return false;
	}
	snprintf(dst + *len, cap - *len, "%s%s", sep ? ", " : "", name);
	*len += sep + n;
	return true;
}

/* The names of c's tasks, for a message. Returns dst. */
static const char *task_names(const struct hr_conf *c, char *dst, size_t cap)
{
	size_t len = 0;
	dst[0] = '\0';
	for (size_t i = 0; i < c->n_tasks && list_add(dst, cap, &len, c->tasks[i].name); i++)
		;
	return dst;
}

/* The names of c's chat (not embedding) models, for a message; "" when there are none.
 * Returns dst. */
static const char *chat_model_names(const struct hr_conf *c, char *dst, size_t cap)
{
	size_t len = 0;
	dst[0] = '\0';
	for (size_t i = 0; i < c->n_models; i++)
		if (!c->models[i].embeddings && !list_add(dst, cap, &len, c->models[i].name))
			break;
	return dst;
}

/* ---- the node tree ---------------------------------------------------------------------- */

enum node_kind { N_SCALAR, N_MAP, N_SEQ };

struct node {
	enum node_kind kind;
	int line;           /* 1-based */
	bool plain;         /* a scalar written without quotes */
	const char *val;    /* scalar: NUL-terminated copy, may hold NULs */
	size_t len;         /* scalar: bytes in val */
	struct node *first; /* children: a map holds key, value, key, value... */
	struct node *last;
	struct node *next; /* next sibling */
};

static bool node_null(const struct node *v)
{
	if (!v)
		return true;
	if (v->kind != N_SCALAR || !v->plain)
		return false;
	return v->len == 0 || strcmp(v->val, "~") == 0 || strcmp(v->val, "null") == 0 ||
	       strcmp(v->val, "Null") == 0 || strcmp(v->val, "NULL") == 0;
}

static const char *node_what(const struct node *v)
{
	return v->kind == N_MAP ? "a mapping" : v->kind == N_SEQ ? "a list" : "a single value";
}

static struct node *node_new(struct ld *ld, enum node_kind kind, const yaml_event_t *ev)
{
	struct node *nd = hr_arena_calloc(ld->tmp, sizeof *nd);
	if (!nd)
		return NULL;
	nd->kind = kind;
	nd->line = ev->start_mark.line < INT_MAX ? (int)ev->start_mark.line + 1 : INT_MAX;
	if (kind == N_SCALAR) {
		nd->len = ev->data.scalar.length;
		nd->val = hr_arena_strndup(ld->tmp, (const char *)ev->data.scalar.value, nd->len);
		nd->plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
		if (!nd->val)
			return NULL;
	}
	return nd;
}

/* Parses the YAML text into *root (NULL for an empty document). Returns 0, HR_ECONF (the
 * problem reported) or HR_ENOMEM. */
static int parse_yaml(struct ld *ld, const char *text, size_t len, struct node **root)
{
	yaml_parser_t p;
	yaml_event_t ev;
	struct node *stack[MAX_DEPTH];
	int depth = 0, docs = 0, rc = 0;
	bool done = false;

	*root = NULL;
	if (!yaml_parser_initialize(&p))
		return HR_ENOMEM;
	yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		if (!yaml_parser_parse(&p, &ev)) {
			if (p.error == YAML_MEMORY_ERROR) {
				rc = HR_ENOMEM;
				break;
			}
			struct origin o = {(int)(p.problem_mark.line % INT_MAX) + 1, NULL};
			char where[160] = "";
			if (p.context)
				snprintf(where, sizeof where, " (%s at line %zu)", p.context,
				         p.context_mark.line + 1);
			conf_err(ld, &o, "yaml",
			         "%s%s; fix the YAML syntax: indent with spaces, "
			         "write 'key: value', quote values that start with a special "
			         "character",
			         p.problem ? p.problem : "syntax error", where);
			rc = HR_ECONF;
			break;
		}
		struct origin o = {(int)(ev.start_mark.line % INT_MAX) + 1, NULL};
		struct node *nd = NULL;
		bool made = false;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT: done = true; break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				conf_err(ld, &o, "yaml",
				         "a second YAML document; keep one document "
				         "(remove the '---' separator)");
				rc = HR_ECONF;
			}
			break;
		case YAML_ALIAS_EVENT:
			conf_err(ld, &o, "yaml",
			         "aliases (*name) are not supported; write the "
			         "value out");
			rc = HR_ECONF;
			break;
		case YAML_SCALAR_EVENT: nd = node_new(ld, N_SCALAR, &ev), made = true; break;
		case YAML_SEQUENCE_START_EVENT: nd = node_new(ld, N_SEQ, &ev), made = true; break;
		case YAML_MAPPING_START_EVENT: nd = node_new(ld, N_MAP, &ev), made = true; break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default: break;
		}
		yaml_event_delete(&ev);
		if (!made || rc)
			continue;
		if (!nd) {
			rc = HR_ENOMEM;
		} else if (++ld->n_nodes > MAX_NODES) {
			conf_err(ld, &o, "yaml",
			         "more than %d values; split the file or remove "
			         "repetition",
			         MAX_NODES);
			rc = HR_ECONF;
		} else {
			if (depth == 0)
				*root = nd;
			else if (stack[depth - 1]->last)
				stack[depth - 1]->last->next = nd, stack[depth - 1]->last = nd;
			else
				stack[depth - 1]->first = stack[depth - 1]->last = nd;
			if (nd->kind != N_SCALAR) {
				if (depth == MAX_DEPTH) {
					conf_err(ld, &o, "yaml",
					         "nested more than %d levels deep; "
					         "flatten the file",
					         MAX_DEPTH);
					rc = HR_ECONF;
				} else {
					stack[depth++] = nd;
				}
			}
		}
	}
	yaml_parser_delete(&p);
	return rc;
}

/* ---- converting one value ------------------------------------------------------------- */

static bool env_name_ok(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return false;
	return true;
}

/* Expands ${VAR} and $$ of s[0..n) into ld->val. Returns false (reported) on a bad or unset
 * reference. */
static bool interpolate(struct ld *ld, const struct origin *o, const char *key, const char *s,
                        size_t n)
{
	char shown[SHOW_CAP];
	int rc = 0;

	hr_buf_reset(&ld->val);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (s[i] != '$' || i + 1 == n || (s[i + 1] != '$' && s[i + 1] != '{')) {
			rc = hr_buf_addch(&ld->val, s[i]);
			continue;
		}
		if (s[i + 1] == '$') {
			rc = hr_buf_addch(&ld->val, '$');
			i++;
			continue;
		}
		const char *name = s + i + 2;
		const char *end = memchr(name, '}', n - (i + 2));
		if (!end || !env_name_ok(name, (size_t)(end - name))) {
			conf_err(ld, o, key,
			         "'%s' is not a valid reference; write ${NAME} "
			         "(letters, digits, _) or $$ for a literal $",
			         show(shown, sizeof shown, s + i,
			              end ? (size_t)(end - s) - i + 1 : n - i));
			return false;
		}
		char var[256];
		size_t vn = (size_t)(end - name);
		if (vn >= sizeof var) {
			conf_err(ld, o, key, "variable name too long; use at most %zu characters",
			         sizeof var - 1);
			return false;
		}
		memcpy(var, name, vn);
		var[vn] = '\0';
		const char *v = getenv(var);
		if (!v) {
			conf_err(ld, o, key,
			         "environment variable '%s' is not set; export it or "
			         "write $$ for a literal $",
			         var);
			return false;
		}
		rc = hr_buf_addstr(&ld->val, v);
		i = (size_t)(end - s);
	}
	if (rc == HR_ETOOBIG) {
		conf_err(ld, o, key, "value longer than %u bytes after interpolation; shorten it",
		         HR_MAX_CONF_BYTES);
		return false;
	}
	if (rc < 0) {
		conf_oom(ld);
		return false;
	}
	if (!ld->val.ptr && hr_buf_add(&ld->val, "", 0) < 0) {
		conf_oom(ld);
		return false;
	}
	return true;
}

/* Parses a whole number, with a binary k/m/g suffix when sizes is set. */
static bool parse_num(const char *s, bool sizes, long long *out)
{
	static const char *const suf[] = {"k", "kb", "kib", "m", "mb", "mib", "g", "gb", "gib"};
	char *end;

	if (!(isdigit((unsigned char)s[0]) || (s[0] == '-' && isdigit((unsigned char)s[1]))))
		return false;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno == ERANGE)
		v = s[0] == '-' ? LLONG_MIN : LLONG_MAX;
	if (*end == '\0') {
		*out = v;
		return true;
	}
	if (!sizes)
		return false;
	for (size_t i = 0; i < sizeof suf / sizeof suf[0]; i++) {
		if (strcasecmp(end, suf[i]) != 0)
			continue;
		int shift = 10 * (int)(i / 3 + 1);
		if (v > (LLONG_MAX >> shift) || v < (LLONG_MIN >> shift))
			v = v < 0 ? LLONG_MIN : LLONG_MAX;
		else
			v *= 1LL << shift;
		*out = v;
		return true;
	}
	return false;
}

static void store_num(void *dst, enum conf_ctype ct, long long v)
{
	switch (ct) {
	case C_INT: *(int *)dst = (int)v; break;
	case C_LONG: *(long *)dst = (long)v; break;
	case C_SIZE: *(size_t *)dst = (size_t)v; break;
	default: break;
	}
}

/* Host of an http(s) URL: after "scheme://" and any "user@", up to '/', ':' (not inside
 * brackets) or the end. */
static struct hr_str url_host(const char *url)
{
	const char *h = strstr(url, "://");
	h = h ? h + 3 : url;
	const char *end = h + strcspn(h, "/?#");
	const char *at = memchr(h, '@', (size_t)(end - h));
	if (at)
		h = at + 1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));
		return rb ? (struct hr_str){h + 1, (size_t)(rb - h - 1)} : (struct hr_str){h, 0};
	}
	const char *colon = memchr(h, ':', (size_t)(end - h));
	return (struct hr_str){h, (size_t)((colon ? colon : end) - h)};
}

static bool host_is_loopback(struct hr_str h)
{
	if (h.len == 9 && strncasecmp(h.ptr, "localhost", 9) == 0)
		return true;
	if (h.len == 10 && strncasecmp(h.ptr, "localhost.", 10) == 0)
		return true;
	if (hr_str_eq_cstr(h, "::1") || hr_str_eq_cstr(h, "0:0:0:0:0:0:0:1"))
		return true;
	return hr_str_starts(h, "127.") && strspn(h.ptr, "0123456789.") >= h.len;
}

/* Returns NULL when url is acceptable, else what is wrong with it. */
static const char *url_problem(const char *url)
{
	if (strncasecmp(url, "http://", 7) != 0 && strncasecmp(url, "https://", 8) != 0)
		return "must start with http:// or https://";
	for (const char *p = url; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f)
			return "must not contain spaces or control characters";
	if (strpbrk(url, "?#"))
		return "must not have a query (?) or fragment (#)";
	if (url_host(url).len == 0)
		return "has no host";
	return NULL;
}

/* Reads a secret file: a regular file of at most MAX_SECRET_FILE bytes, trailing newlines
 * stripped. Returns the value in c's arena, or NULL with *why set. */
static char *secret_file(struct ld *ld, const char *path, const char **why, char *ebuf,
                         size_t ebuf_len)
{
	char buf[MAX_SECRET_FILE + 1];
	struct stat st;
	size_t n = 0;

	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0) {
		*why = strerror_r(errno, ebuf, ebuf_len);
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		*why = "not a regular file";
		return NULL;
	}
	for (;;) {
		ssize_t r = read(fd, buf + n, sizeof buf - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			*why = strerror_r(errno, ebuf, ebuf_len);
			close(fd);
			return NULL;
		}
		if (r == 0 || (n += (size_t)r) == sizeof buf)
			break;
	}
	close(fd);
	if (n == sizeof buf) {
		*why = "larger than 64 KiB";
		return NULL;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	if (n == 0 || memchr(buf, '\0', n)) {
		*why = n ? "contains a NUL byte" : "is empty";
		return NULL;
	}
	char *v = hr_arena_strndup(ld->c->arena, buf, n);
	explicit_bzero(buf, n);
	if (!v)
		conf_oom(ld), *why = "out of memory";
	return v;
}

static void zero_secret(void *p)
{
	explicit_bzero(p, strlen(p));
}

/* Resolves a secret reference s ("env:NAME" / "file:/path"). Returns the secret, owned by
 * c's arena and wiped when it is destroyed, or NULL (reported). */
static const char *secret_resolve(struct ld *ld, const struct origin *o, const char *key,
                                  const char *s)
{
	char shown[SHOW_CAP];
	char *v = NULL;

	if ((ld->flags & HR_CONF_NO_SECRETS) &&
	    (strncmp(s, "env:", 4) == 0 || strncmp(s, "file:", 5) == 0 ||
	     strncmp(s, "secret:", 7) == 0))
		return "(not resolved)"; /* a command that needs no secret */
	if (strncmp(s, "env:", 4) == 0) {
		const char *name = s + 4;
		if (!env_name_ok(name, strlen(name))) {
			conf_err(ld, o, key,
			         "'%s' is not a valid variable name; write env:NAME "
			         "(letters, digits, _)",
			         show(shown, sizeof shown, name, strlen(name)));
			return NULL;
		}
		const char *e = getenv(name);
		if (!e || !*e) {
			conf_err(ld, o, key,
			         "environment variable '%s' is %s; export it with the "
			         "key, or change the reference",
			         name, e ? "empty" : "not set");
			return NULL;
		}
		v = hr_arena_strdup(ld->c->arena, e);
		if (!v) {
			conf_oom(ld);
			return NULL;
		}
	} else if (strncmp(s, "secret:", 7) == 0) {
		const char *name = s + 7;
		if (!hr_secret_name_ok(name, strlen(name))) {
			conf_err(ld, o, key,
			         "'%s' is not a secret name; write secret:NAME (letters, digits, "
			         "_ . -, as `hearth secrets list` shows them)",
			         show(shown, sizeof shown, name, strlen(name)));
			return NULL;
		}
		struct pending *p = hr_arena_calloc(ld->tmp ? ld->tmp : ld->c->arena, sizeof *p);
		char *marker = hr_arena_printf(ld->c->arena, "(secret %s)", name);
		if (!p || !marker || !(p->name = hr_arena_strdup(ld->c->arena, name)) ||
		    !(p->key = hr_arena_strdup(ld->c->arena, key))) {
			conf_oom(ld);
			return NULL;
		}
		p->marker = marker, p->line = o->line, p->env = o->env;
		p->next = ld->pending;
		ld->pending = p;
		return marker; /* not a secret: nothing to wipe */
	} else if (strncmp(s, "file:", 5) == 0) {
		const char *why = NULL;
		char ebuf[128];
		if (s[5] == '\0') {
			conf_err(ld, o, key, "the file reference has no path; write file:/path");
			return NULL;
		}
		v = secret_file(ld, s + 5, &why, ebuf, sizeof ebuf);
		if (!v) {
			if (!ld->oom)
				conf_err(ld, o, key,
				         "cannot read secret file '%s': %s; check the "
				         "path and its permissions",
				         show(shown, sizeof shown, s + 5, strlen(s + 5)), why);
			return NULL;
		}
	} else {
		/* never echo the value: it is probably a key */
		conf_err(ld, o, key,
		         "a literal key is not allowed here; write the key in an "
		         "environment variable and reference it as env:NAME (or file:/path, or "
		         "store it with `hearth secrets set NAME` and write secret:NAME)");
		return NULL;
	}
	if (hr_arena_defer(ld->c->arena, zero_secret, v) < 0) {
		zero_secret(v);
		conf_oom(ld);
		return NULL;
	}
	return v;
}

/* A row's default in parentheses, for a message: three arguments for "%s%s%s" (defaults
 * that are words, like "(any)", have theirs already). */
#define DEF_SHOWN(r) (r)->def[0] == '(' ? "" : "(", (r)->def, (r)->def[0] == '(' ? "" : ")"

/* The bit of name in r->choices, or -1 (the error said). */
static int set_bit(struct ld *ld, const struct conf_row *r, const char *name, size_t n,
                   const struct origin *o, const char *key)
{
	char list[128], shown[SHOW_CAP];
	size_t ln = 0;
	for (int i = 0; r->choices[i]; i++) {
		if (strlen(r->choices[i]) == n && memcmp(name, r->choices[i], n) == 0)
			return 1 << i;
		ln += (size_t)snprintf(list + ln, sizeof list - ln, "%s%s", i ? ", " : "",
		                       r->choices[i]);
	}
	conf_err(ld, o, key, "'%s' is not allowed; use some of: %s (a list, [] for none)",
	         show(shown, sizeof shown, name, n), list);
	return -1;
}

/* Converts s (NUL-terminated, n bytes) for row r and stores it into base. Returns false
 * when the value was rejected (reported at o under key). */
/* The chat model named s[0..n) (models:, not an embedding model), or NULL with the error
 * reported against key. */
static const struct hr_conf_model *chat_model_ref(struct ld *ld, const struct origin *o,
                                                  const char *key, const char *s, size_t n)
{
	char shown[SHOW_CAP], list[LIST_CAP];
	const struct hr_conf_model *m = hr_conf_model_find(ld->c, s, n);
	if (!m && chat_model_names(ld->c, list, sizeof list)[0])
		conf_err(ld, o, key, "unknown model '%s'; models are: %s",
		         show(shown, sizeof shown, s, n), list);
	else if (!m)
		conf_err(ld, o, key,
		         "unknown model '%s'; no chat models are defined: add it under models:",
		         show(shown, sizeof shown, s, n));
	else if (m->embeddings)
		conf_err(ld, o, key,
		         "'%s' is an embedding model (models.%s.embeddings is true); a task "
		         "serves chat requests: name chat models only",
		         m->name, m->name);
	else
		return m;
	return NULL;
}

static bool set_scalar(struct ld *ld, const struct conf_row *r, void *base, const char *s, size_t n,
                       const struct origin *o, const char *key)
{
	char shown[SHOW_CAP];
	unsigned char *dst = (unsigned char *)base + r->off;
	long long num;
	char *copy;

	if (memchr(s, '\0', n)) {
		conf_err(ld, o, key, "contains a NUL byte; remove it");
		return false;
	}
	if (n == 0 && r->type != T_SECRET) {
		conf_err(ld, o, key,
		         "is empty; write a value or delete the line to get the "
		         "default %s%s%s",
		         DEF_SHOWN(r));
		return false;
	}
	switch (r->type) {
	case T_STR:
	case T_URL:
		if (r->type == T_URL) {
			const char *why = url_problem(s);
			if (why) {
				conf_err(ld, o, key,
				         "'%s' %s; write e.g. https://api.openai.com/v1 "
				         "or http://127.0.0.1:11434/v1",
				         show(shown, sizeof shown, s, n), why);
				return false;
			}
			while (n > 0 && s[n - 1] == '/')
				n--;
		}
		if (!(copy = hr_arena_strndup(ld->c->arena, s, n))) {
			conf_oom(ld);
			return false;
		}
		*(const char **)dst = copy;
		return true;
	case T_KIND: {
		const char *k = provider_kind_known(s);
		if (!k) {
			char known[256];
			size_t kn = 0;
			for (size_t i = 0; provider_kinds[i] && kn < sizeof known; i++)
				kn += (size_t)snprintf(known + kn, sizeof known - kn, "%s%s",
				                       i ? ", " : "", provider_kinds[i]);
			conf_err(ld, o, key, "unknown provider kind '%s'; use one of: %s",
			         show(shown, sizeof shown, s, n), known);
			return false;
		}
		*(const char **)dst = k;
		return true;
	}
	case T_INT:
	case T_SIZE:
	case T_MS:
		if (!parse_num(s, r->type == T_SIZE, &num)) {
			conf_err(ld, o, key, "'%s' is not %s; write %s",
			         show(shown, sizeof shown, s, n),
			         r->type == T_SIZE ? "a size" : "a whole number",
			         r->type == T_SIZE ? "bytes, e.g. 8388608 or 8MiB"
			         : r->type == T_MS ? "milliseconds as digits, e.g. 30000"
			                           : "digits, e.g. 42");
			return false;
		}
		if (num < r->min || num > r->max) {
			conf_err(ld, o, key, "%s is out of range; use %lld to %lld",
			         show(shown, sizeof shown, s, n), r->min, r->max);
			return false;
		}
		store_num(dst, r->ctype, num);
		return true;
	case T_BOOL: {
		static const char *const yes[] = {"true", "yes", "on"}, *const no[] = {"false",
		                                                                       "no", "off"};
		for (size_t i = 0; i < 3; i++) {
			if (strcasecmp(s, yes[i]) == 0 || strcasecmp(s, no[i]) == 0) {
				bool b = strcasecmp(s, yes[i]) == 0;
				if (r->ctype == C_INT) /* a rule's condition: -1 unset, 0, 1 */
					*(int *)dst = b;
				else
					*(bool *)dst = b;
				return true;
			}
		}
		conf_err(ld, o, key, "'%s' is not a boolean; write true or false",
		         show(shown, sizeof shown, s, n));
		return false;
	}
	case T_ENUM: {
		char list[128];
		size_t ln = 0;
		for (int i = 0; r->choices[i]; i++) {
			if (strcmp(s, r->choices[i]) == 0) {
				*(int *)dst = i;
				return true;
			}
			ln += (size_t)snprintf(list + ln, sizeof list - ln, "%s%s", i ? ", " : "",
			                       r->choices[i]);
		}
		conf_err(ld, o, key, "'%s' is not allowed; use one of: %s",
		         show(shown, sizeof shown, s, n), list);
		return false;
	}
	case T_SET: { /* comma-separated names (the default, an override) */
		int bits = 0;
		for (size_t i = 0; i < n;) {
			while (i < n && (s[i] == ',' || s[i] == ' '))
				i++;
			size_t j = i;
			while (j < n && s[j] != ',' && s[j] != ' ')
				j++;
			if (j == i)
				break;
			int b = set_bit(ld, r, s + i, j - i, o, key);
			if (b < 0)
				return false;
			bits |= b;
			i = j;
		}
		*(int *)dst = bits;
		return true;
	}
	case T_PRICE: {
		char *end;
		double d = strtod(s, &end);
		if (*end != '\0' || end == s || isspace((unsigned char)s[0]) || !isfinite(d) ||
		    d < 0 || d > 1e9) {
			conf_err(ld, o, key,
			         "'%s' is not a price; write dollars per million "
			         "tokens as a number >= 0, e.g. 2.5",
			         show(shown, sizeof shown, s, n));
			return false;
		}
		*(double *)dst = d;
		return true;
	}
	case T_RATIO: {
		char *end;
		double d = strtod(s, &end);
		if (*end != '\0' || end == s || isspace((unsigned char)s[0]) ||
		    !(d >= 0 && d <= 1)) {
			conf_err(ld, o, key, "'%s' is not a number from 0 to 1; write e.g. 0.8",
			         show(shown, sizeof shown, s, n));
			return false;
		}
		*(double *)dst = d;
		return true;
	}
	case T_LANG:
		if (n != 2 || !islower((unsigned char)s[0]) || !islower((unsigned char)s[1])) {
			conf_err(ld, o, key,
			         "'%s' is not a language code; write two lowercase letters "
			         "(ISO 639-1), e.g. en or de",
			         show(shown, sizeof shown, s, n));
			return false;
		}
		if (!(copy = hr_arena_strndup(ld->c->arena, s, n))) {
			conf_oom(ld);
			return false;
		}
		*(const char **)dst = copy;
		return true;
	case T_MODEL: {
		const struct hr_conf_model *m = chat_model_ref(ld, o, key, s, n);
		if (m)
			*(const char **)dst = m->name;
		return m != NULL;
	}
	case T_TASK: {
		const struct hr_conf_task *t = hr_conf_task_find(ld->c, s, n);
		if (t) {
			*(const char **)dst = t->name;
			return true;
		}
		if (strcmp(s, "auto") == 0) {
			if (!(copy = hr_arena_strndup(ld->c->arena, s, n))) {
				conf_oom(ld);
				return false;
			}
			*(const char **)dst = copy;
			return true;
		}
		char list[LIST_CAP];
		conf_err(ld, o, key, "unknown task '%s'; %s%s%s", show(shown, sizeof shown, s, n),
		         ld->c->n_tasks ? "tasks are: " : "define it under tasks:",
		         ld->c->n_tasks ? task_names(ld->c, list, sizeof list) : "",
		         ld->c->n_tasks ? " (or write auto)" : " or write auto");
		return false;
	}
	case T_SECRET: {
		const char *v = secret_resolve(ld, o, key, s);
		if (!v)
			return false;
		if (!(copy = hr_arena_strndup(ld->c->arena, s, n))) {
			conf_oom(ld);
			return false;
		}
		*(const char **)dst = v;
		*(const char **)((unsigned char *)base + r->off2) = copy;
		return true;
	}
	case T_PROVIDER: {
		const struct hr_conf_provider *p = hr_conf_provider_find(ld->c, s);
		if (!p) {
			conf_err(ld, o, key,
			         "unknown provider '%s'; define it under providers: "
			         "or fix the name",
			         show(shown, sizeof shown, s, n));
			return false;
		}
		*(const struct hr_conf_provider **)dst = p;
		return true;
	}
	case T_SECRET_LIST:
	case T_STR_LIST:
	case T_MODEL_LIST:
	case T_WEIGHTS: break;
	case T_RATIOS: break;
	}
	conf_err(ld, o, key, "internal error: the schema row cannot take a single value");
	return false;
}

/* A list of strings: server.api_keys (T_SECRET_LIST: each a secret reference, resolved) or
 * policy.keywords/patterns (T_STR_LIST: each non-empty, at most r->min bytes). At most
 * r->max items. */
static bool set_list(struct ld *ld, const struct conf_row *r, void *base, const struct node *v,
                     const char *key)
{
	bool secrets = r->type == T_SECRET_LIST;
	struct origin o = {v->line, NULL};
	const char ***arr = (const char ***)((unsigned char *)base + r->off);
	size_t *n_arr = (size_t *)((unsigned char *)base + r->off2);
	size_t n = 0, idx = 0;
	bool ok = true;

	if (node_null(v))
		return true;
	if (v->kind != N_SEQ) {
		conf_err(ld, &o, key, "expected a list, got %s; %s", node_what(v),
		         secrets ? "write '- env:NAME' items, one per line"
		                 : "write [a, b] or '- a' items");
		return false;
	}
	for (const struct node *it = v->first; it; it = it->next)
		n++;
	if (n > (size_t)r->max) {
		if (secrets)
			conf_err(ld, &o, key, "more than %lld keys; use fewer", r->max);
		else
			conf_err(ld, &o, key, "%zu items; at most %lld", n, r->max);
		return false;
	}
	const char **a = hr_arena_calloc(ld->c->arena, (n ? n : 1) * sizeof *a);
	if (!a) {
		conf_oom(ld);
		return false;
	}
	n = 0;
	for (const struct node *it = v->first; it; it = it->next, idx++) {
		char ikey[SHOW_CAP * 2 + 48];
		struct origin io = {it->line, NULL};
		snprintf(ikey, sizeof ikey, "%s[%zu]", key, idx);
		bool empty = node_null(it) || (!secrets && it->len == 0);
		if (it->kind != N_SCALAR || empty) {
			conf_err(ld, &io, ikey, "expected %s, got %s%s",
			         secrets ? "a secret reference" : "a non-empty string",
			         empty ? "nothing" : node_what(it),
			         secrets ? "; write env:NAME or file:/path" : "");
			ok = false;
			continue;
		}
		if (!interpolate(ld, &io, ikey, it->val, it->len)) {
			ok = false;
			continue;
		}
		const char *sv;
		if (secrets) {
			sv = secret_resolve(ld, &io, ikey, ld->val.ptr);
		} else if (ld->val.len > (size_t)r->min) {
			conf_err(ld, &io, ikey, "%zu bytes; at most %lld", ld->val.len, r->min);
			sv = NULL;
		} else if (!(sv = hr_arena_strndup(ld->c->arena, ld->val.ptr, ld->val.len))) {
			conf_oom(ld);
			return false;
		}
		if (!sv) {
			ok = false;
			continue;
		}
		a[n++] = sv;
	}
	*arr = a;
	*n_arr = n;
	return ok;
}

/* tasks.<name>.candidates: chat model names from models:, each once. Errors name the list's
 * key (not an index) at the line of the item. */
static bool set_model_list(struct ld *ld, const struct conf_row *r, void *base,
                           const struct node *v, const char *key)
{
	struct origin o = {v->line, NULL};
	const char ***arr = (const char ***)((unsigned char *)base + r->off);
	size_t *n_arr = (size_t *)((unsigned char *)base + r->off2);
	size_t n = 0;
	bool ok = true;

	if (v->kind != N_SEQ) {
		conf_err(ld, &o, key,
		         "expected a list, got %s; write [model-a, model-b] with names "
		         "from models:",
		         node_null(v) ? "nothing" : node_what(v));
		return false;
	}
	for (const struct node *it = v->first; it; it = it->next)
		n++;
	if (n < (size_t)r->min || n > (size_t)r->max) {
		conf_err(ld, &o, key,
		         "%zu candidates; list %lld to %lld model names from models:", n, r->min,
		         r->max);
		return false;
	}
	const char **a = hr_arena_calloc(ld->c->arena, n * sizeof *a);
	if (!a) {
		conf_oom(ld);
		return false;
	}
	n = 0;
	for (const struct node *it = v->first; it; it = it->next) {
		struct origin io = {it->line, NULL};
		if (it->kind != N_SCALAR || node_null(it)) {
			conf_err(ld, &io, key,
			         "expected a model name, got %s; write names from models:",
			         node_null(it) ? "nothing" : node_what(it));
			ok = false;
			continue;
		}
		if (!interpolate(ld, &io, key, it->val, it->len)) {
			ok = false;
			continue;
		}
		const struct hr_conf_model *m = chat_model_ref(ld, &io, key, ld->val.ptr, ld->val.len);
		size_t j = 0;
		while (m && j < n && strcmp(a[j], m->name) != 0)
			j++;
		if (m && j < n)
			conf_err(ld, &io, key, "'%s' is listed twice; list each model once",
			         m->name);
		else if (m) {
			a[n++] = m->name;
			continue;
		}
		ok = false;
	}
	*arr = a;
	*n_arr = n;
	return ok;
}

/* budgets[].alert_at: numbers in [0, 1], ascending, at most r->max of them. */
static bool set_ratios(struct ld *ld, const struct conf_row *r, void *base, const struct node *v,
                       const char *key)
{
	struct origin o = {v->line, NULL};
	double *arr = (double *)((unsigned char *)base + r->off);
	size_t *n_arr = (size_t *)((unsigned char *)base + r->off2);
	static const struct conf_row one = {"ratio", T_RATIO, "", S_ROOT, 0, 0, C_DOUBLE, 0, 0, 0,
	                                    NULL, ""};
	size_t n = 0;
	double d;

	if (v->kind != N_SEQ) {
		conf_err(ld, &o, key, "expected a list, got %s; write e.g. [0.8, 1.0]",
		         node_null(v) ? "nothing" : node_what(v));
		return false;
	}
	for (const struct node *it = v->first; it; it = it->next, n++) {
		struct origin io = {it->line, NULL};
		if ((long long)n >= r->max) {
			conf_err(ld, &io, key, "more than %lld shares; keep at most %lld", r->max,
			         r->max);
			return false;
		}
		if (it->kind != N_SCALAR || node_null(it)) {
			conf_err(ld, &io, key, "expected a number from 0 to 1, got %s; write e.g. 0.8",
			         node_null(it) ? "nothing" : node_what(it));
			return false;
		}
		if (!interpolate(ld, &io, key, it->val, it->len) ||
		    !set_scalar(ld, &one, &d, ld->val.ptr, ld->val.len, &io, key))
			return false;
		if (n > 0 && d <= arr[n - 1]) {
			conf_err(ld, &io, key, "%g is not above %g; list the shares in ascending order",
			         d, arr[n - 1]);
			return false;
		}
		arr[n] = d;
	}
	*n_arr = n;
	return true;
}

/* tasks.<name>.weights: positive numbers; stored only when all of them are. Whether there
 * is one per candidate is load_tasks' check. */
static bool set_weights(struct ld *ld, const struct conf_row *r, void *base, const struct node *v,
                        const char *key)
{
	struct origin o = {v->line, NULL};
	char shown[SHOW_CAP];
	size_t n = 0;
	bool ok = true;

	if (v->kind != N_SEQ) {
		conf_err(ld, &o, key,
		         "expected a list, got %s; write one positive number per candidate, "
		         "e.g. [3, 1]",
		         node_null(v) ? "nothing" : node_what(v));
		return false;
	}
	for (const struct node *it = v->first; it; it = it->next)
		n++;
	if (n == 0 || n > HR_MAX_TASK_CANDIDATES) {
		conf_err(ld, &o, key, "%zu weights; write one positive number per candidate", n);
		return false;
	}
	double *w = hr_arena_alloc(ld->c->arena, n * sizeof *w);
	if (!w) {
		conf_oom(ld);
		return false;
	}
	n = 0;
	for (const struct node *it = v->first; it; it = it->next) {
		struct origin io = {it->line, NULL};
		if (it->kind != N_SCALAR || node_null(it)) {
			conf_err(ld, &io, key, "expected a number, got %s; write e.g. 3 or 0.5",
			         node_null(it) ? "nothing" : node_what(it));
			ok = false;
			continue;
		}
		if (!interpolate(ld, &io, key, it->val, it->len)) {
			ok = false;
			continue;
		}
		const char *sv = ld->val.ptr;
		char *end;
		double d = strtod(sv, &end);
		if (*end != '\0' || end == sv || isspace((unsigned char)sv[0]) || !isfinite(d) ||
		    !(d > 0)) {
			conf_err(ld, &io, key, "'%s' is not a positive number; write e.g. 3 or 0.5",
			         show(shown, sizeof shown, sv, ld->val.len));
			ok = false;
			continue;
		}
		w[n++] = d;
	}
	if (ok)
		*(double **)((unsigned char *)base + r->off) = w;
	return ok;
}

/* A set written as a YAML list: [empty, truncated], or [] for none. */
static bool set_set(struct ld *ld, const struct conf_row *r, void *base, const struct node *v,
                    const char *key)
{
	int bits = 0;
	bool ok = true;
	for (const struct node *it = v->first; it; it = it->next) {
		struct origin io = {it->line, NULL};
		if (it->kind != N_SCALAR || node_null(it)) {
			conf_err(ld, &io, key, "expected a name, got %s",
			         node_null(it) ? "nothing" : node_what(it));
			ok = false;
			continue;
		}
		int b = set_bit(ld, r, it->val, it->len, &io, key);
		if (b < 0)
			ok = false;
		else
			bits |= b;
	}
	if (ok)
		*(int *)((unsigned char *)base + r->off) = bits;
	return ok;
}

/* A value from the file: interpolated, then converted. */
/* The class of a policy.<class> row, or -1 for any other row. */
static int policy_class(const struct conf_row *r)
{
	size_t base = offsetof(struct hr_conf, policy.action);
	if (r->scope != S_ROOT || r->choices != action_choices || r->off < base ||
	    r->off >= base + sizeof(((struct hr_conf *)0)->policy.action))
		return -1;
	return (int)((r->off - base) / sizeof(enum hr_policy_action));
}

/* policy.<class>: {cloud: X, local: Y}: X, Y allow, redact or block; local never stricter
 * than cloud (a request cloud models may see and local ones may not cannot be routed). */
static bool set_policy_map(struct ld *ld, const struct conf_row *r, const struct node *v,
                           const char *key)
{
	static const char *const dests[] = {"local", "cloud"}; /* enum hr_locality order */
	int cls = policy_class(r);
	enum hr_policy_action d[2] = {HR_POLICY_ALLOW, HR_POLICY_ALLOW};
	bool seen[2] = {false, false}, ok = true;
	char shown[SHOW_CAP], sub[SHOW_CAP * 4 + 16];
	for (const struct node *k = v->first; k && k->next; k = k->next->next) {
		const struct node *val = k->next;
		struct origin o = {k->line, NULL};
		int which = -1;
		for (int i = 0; i < 2; i++)
			if (k->kind == N_SCALAR && k->len == strlen(dests[i]) &&
			    memcmp(k->val, dests[i], k->len) == 0)
				which = i;
		show(shown, sizeof shown, k->kind == N_SCALAR ? k->val : "?",
		     k->kind == N_SCALAR ? k->len : 1);
		snprintf(sub, sizeof sub, "%s.%s", key, shown);
		if (which < 0) {
			conf_err(ld, &o, sub, "unknown destination; use cloud and local");
			ok = false;
			continue;
		}
		if (seen[which]) {
			conf_err(ld, &o, sub, "set twice; keep one");
			ok = false;
			continue;
		}
		seen[which] = true;
		int a = -1;
		if (val->kind == N_SCALAR)
			for (int i = 0; action_choices[i]; i++)
				if (i != HR_POLICY_LOCAL_ONLY && val->len == strlen(action_choices[i]) &&
				    memcmp(val->val, action_choices[i], val->len) == 0)
					a = i;
		if (a < 0) {
			conf_err(ld, &(struct origin){val->line, NULL}, sub,
			         "'%s' is not allowed; use allow, redact or block",
			         val->kind == N_SCALAR ? show(shown, sizeof shown, val->val, val->len)
			                               : node_what(val));
			ok = false;
			continue;
		}
		d[which] = (enum hr_policy_action)a;
	}
	if (!ok)
		return false;
	if (d[HR_LOCAL] > d[HR_CLOUD]) {
		conf_err(ld, &(struct origin){v->line, NULL}, key,
		         "local is stricter than cloud, which no route can honour; make local at "
		         "most as strict as cloud (allow < redact < block)");
		return false;
	}
	struct hr_conf *c = ld->c;
	c->policy.dest[HR_LOCAL][cls] = d[HR_LOCAL];
	c->policy.dest[HR_CLOUD][cls] = d[HR_CLOUD];
	c->policy.dest_set |= 1u << cls;
	/* what routing needs: refused everywhere, kept local, or let through */
	c->policy.action[cls] = d[HR_LOCAL] == HR_POLICY_BLOCK   ? HR_POLICY_BLOCK
	                        : d[HR_CLOUD] == HR_POLICY_BLOCK ? HR_POLICY_LOCAL_ONLY
	                        : d[HR_CLOUD] == HR_POLICY_REDACT || d[HR_LOCAL] == HR_POLICY_REDACT
	                            ? HR_POLICY_REDACT
	                            : HR_POLICY_ALLOW;
	return true;
}

/* The per-destination actions of the classes set in the scalar form. */
static void policy_dests(struct hr_conf *c)
{
	for (int k = 0; k < HR_PII__COUNT; k++) {
		if (c->policy.dest_set & (1u << k))
			continue;
		enum hr_policy_action a = c->policy.action[k];
		c->policy.dest[HR_CLOUD][k] = a == HR_POLICY_LOCAL_ONLY ? HR_POLICY_BLOCK : a;
		c->policy.dest[HR_LOCAL][k] = a == HR_POLICY_BLOCK ? HR_POLICY_BLOCK : HR_POLICY_ALLOW;
	}
}

static bool set_node(struct ld *ld, const struct conf_row *r, void *base, const struct node *v,
                     const char *key)
{
	struct origin o = {v->line, NULL};

	if (r->type == T_SECRET_LIST || r->type == T_STR_LIST)
		return set_list(ld, r, base, v, key);
	if (r->type == T_MODEL_LIST)
		return set_model_list(ld, r, base, v, key);
	if (r->type == T_WEIGHTS)
		return set_weights(ld, r, base, v, key);
	if (r->type == T_RATIOS)
		return set_ratios(ld, r, base, v, key);
	if (r->type == T_SET && v->kind == N_SEQ)
		return set_set(ld, r, base, v, key);
	if (policy_class(r) >= 0 && v->kind == N_MAP)
		return set_policy_map(ld, r, v, key);
	if (v->kind != N_SCALAR) {
		conf_err(ld, &o, key, "expected a single value, got %s; write '%s: value'",
		         node_what(v), row_name(r));
		return false;
	}
	if (node_null(v)) {
		conf_err(ld, &o, key,
		         "has no value; write a value or delete the line to get the "
		         "default %s%s%s",
		         DEF_SHOWN(r));
		return false;
	}
	if (!interpolate(ld, &o, key, v->val, v->len))
		return false;
	return set_scalar(ld, r, base, ld->val.ptr, ld->val.len, &o, key);
}

/* Applies the defaults of every row of scope sc to base. */
static void apply_defaults(struct ld *ld, enum conf_scope sc, void *base)
{
	struct origin o = {0, "(built-in default)"};
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct conf_row *r = &rows[i];
		if (r->scope != sc || (r->flags & F_NODEF))
			continue;
		set_scalar(ld, r, base, r->def, strlen(r->def), &o, r->key);
	}
}

/* ---- "did you mean" --------------------------------------------------------------------- */

static size_t edit_distance(const char *a, size_t an, const char *b, size_t bn)
{
	size_t d[SHOW_MAX + 1];
	if (an > SHOW_MAX || bn > SHOW_MAX)
		return SIZE_MAX;
	for (size_t j = 0; j <= bn; j++)
		d[j] = j;
	for (size_t i = 1; i <= an; i++) {
		size_t diag = d[0];
		d[0] = i;
		for (size_t j = 1; j <= bn; j++) {
			size_t up = d[j];
			size_t best = diag + (tolower((unsigned char)a[i - 1]) !=
			                      tolower((unsigned char)b[j - 1]));
			if (up + 1 < best)
				best = up + 1;
			if (d[j - 1] + 1 < best)
				best = d[j - 1] + 1;
			d[j] = best;
			diag = up;
		}
	}
	return d[bn];
}

/* The closest of names[0..n) to s within 2 edits (fewer for short words), or NULL. */
static const char *closest(const char *s, size_t sn, const char *const *names, size_t n)
{
	const char *best = NULL;
	size_t bd = sn <= 3 ? 1 : 2;
	bd++;
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(s, sn, names[i], strlen(names[i]));
		if (d < bd)
			bd = d, best = names[i];
	}
	return best;
}

static void unknown_key(struct ld *ld, const struct origin *o, const char *key, enum conf_scope sc,
                        const char *sect, const struct node *k)
{
	const char *names[N_ROWS];
	const char *full[N_ROWS];
	size_t n = 0;
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct conf_row *r = &rows[i];
		if (r->scope != sc ||
		    (sc == S_ROOT && !row_is(r, sc, sect, row_name(r), strlen(row_name(r)))))
			continue;
		full[n] = r->key;
		names[n++] = row_name(r);
	}
	const char *best = closest(k->val, k->len, names, n);
	if (!best) {
		conf_err(ld, o, key, "unknown key; `hearth config keys` lists the keys");
		return;
	}
	const char *bestfull = NULL;
	for (size_t i = 0; i < n; i++)
		if (names[i] == best)
			bestfull = full[i];
	if (sc == S_ROOT)
		conf_err(ld, o, key, "unknown key; did you mean '%s'?", bestfull);
	else
		conf_err(ld, o, key, "unknown key; did you mean '%s'?", best);
}

/* ---- sections --------------------------------------------------------------------------- */

static bool id_ok(const char *s, size_t n)
{
	if (n == 0 || n > 128)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || strchr("._:-", s[i])) || s[i] == '\0')
			return false;
	return true;
}

/* seen[] of load_pairs(): whether a row was written, and whether its value was taken. */
enum { SEEN_NO, SEEN_OK, SEEN_BAD };

/* Loads the key: value pairs of map into base, rows of scope sc; prefix is the key path
 * ("server", "providers.openai"). seen[] marks the rows written (SEEN_OK or SEEN_BAD). */
static void load_pairs(struct ld *ld, const struct node *map, enum conf_scope sc, const char *sect,
                       const char *prefix, void *base, unsigned char *seen)
{
	char shown[SHOW_CAP], key[SHOW_CAP * 2 + 16];
	for (const struct node *k = map->first; k && k->next; k = k->next->next) {
		const struct node *v = k->next;
		struct origin o = {k->line, NULL};
		if (k->kind != N_SCALAR) {
			conf_err(ld, &o, prefix, "a key is %s; keys must be plain names",
			         node_what(k));
			continue;
		}
		snprintf(key, sizeof key, "%s.%s", prefix,
		         show(shown, sizeof shown, k->val, k->len));
		const struct conf_row *r = row_find(sc, sect, k->val, k->len);
		if (!r) {
			unknown_key(ld, &o, key, sc, sect, k);
		} else if (seen[r - rows]) {
			conf_err(ld, &o, key, "set twice; keep one");
		} else {
			seen[r - rows] = set_node(ld, r, base, v, key) ? SEEN_OK : SEEN_BAD;
		}
	}
}

static bool expect_map(struct ld *ld, const struct node *v, const char *key, const char *hint)
{
	if (v->kind == N_MAP)
		return true;
	struct origin o = {v->line, NULL};
	conf_err(ld, &o, key, "expected a mapping, got %s; %s", node_what(v), hint);
	return false;
}

static struct hr_conf_provider *provider_slot(struct hr_conf *c)
{
	/* fixed capacity: models point into this array */
	if (!c->providers &&
	    !(c->providers = hr_arena_calloc(c->arena, HR_MAX_PROVIDERS * sizeof *c->providers)))
		return NULL;
	struct hr_conf_provider *p = &c->providers[c->n_providers];
	memset(p, 0, sizeof *p);
	return p;
}

static size_t model_cap(size_t n)
{
	size_t cap = 16;
	while (cap < n)
		cap *= 2;
	return cap;
}

static struct hr_conf_model *model_slot(struct hr_conf *c)
{
	/* grows by doubling inside the arena; nothing points into it before publishing */
	size_t n = c->n_models;
	if (n == 0 || (n >= 16 && (n & (n - 1)) == 0)) {
		struct hr_conf_model *m = hr_arena_alloc(c->arena, model_cap(n + 1) * sizeof *m);
		if (!m)
			return NULL;
		if (n)
			memcpy(m, c->models, n * sizeof *m);
		c->models = m;
	}
	struct hr_conf_model *m = &c->models[n];
	memset(m, 0, sizeof *m);
	return m;
}

static void missing_required(struct ld *ld, enum conf_scope sc, const unsigned char *seen,
                             const struct origin *o, const char *prefix)
{
	char key[SHOW_CAP * 2 + 32];
	for (size_t i = 0; i < N_ROWS; i++) {
		if (rows[i].scope != sc || !(rows[i].flags & F_REQUIRED) || seen[i])
			continue;
		snprintf(key, sizeof key, "%s.%s", prefix, row_name(&rows[i]));
		conf_err(ld, o, key, "missing required key; add '%s:' (%s)", row_name(&rows[i]),
		         rows[i].doc);
	}
}

static size_t row_index(const char *key)
{
	for (size_t i = 0; i < N_ROWS; i++)
		if (strcmp(rows[i].key, key) == 0)
			return i;
	return 0;
}

/* A key required of this provider's kind (row key) is missing: said as missing_required()
 * says it. */
static void missing_key(struct ld *ld, const struct origin *o, const char *prefix,
                        const char *row_key)
{
	const struct conf_row *r = &rows[row_index(row_key)];
	char key[SHOW_CAP * 2 + 32];
	snprintf(key, sizeof key, "%s.%s", prefix, row_name(r));
	conf_err(ld, o, key, "missing required key; add '%s:' (%s)", row_name(r), r->doc);
}

/* A provider of kind llamacpp runs in this process: a model file, no URL; its calls go to
 * the embedded engine (llamacpp://<id>, engine/llama.h). Always local. */
static void in_process(struct ld *ld, const struct origin *o, const char *prefix,
                       struct hr_conf_provider *p, const unsigned char *seen)
{
	if (seen[row_index("providers.<id>.base_url")])
		conf_err(ld, o, prefix,
		         "kind llamacpp runs the model in hearth's process; remove 'base_url:' and "
		         "give the model file as 'path:'");
	if (!p->path && !seen[row_index("providers.<id>.path")])
		missing_key(ld, o, prefix, "providers.<id>.path");
	if (!(p->base_url = hr_arena_printf(ld->c->arena, "llamacpp://%s", p->id)))
		conf_oom(ld);
	p->locality = HR_LOCAL;
}

static void load_providers(struct ld *ld, const struct node *map)
{
	struct hr_conf *c = ld->c;
	char shown[SHOW_CAP], prefix[SHOW_CAP + 16];
	size_t loc = row_index("providers.<id>.locality");

	for (const struct node *k = map->first; k && k->next; k = k->next->next) {
		const struct node *v = k->next;
		struct origin o = {k->line, NULL};
		if (k->kind != N_SCALAR || !id_ok(k->val, k->len)) {
			snprintf(prefix, sizeof prefix, "providers.%s",
			         k->kind == N_SCALAR ? show(shown, sizeof shown, k->val, k->len)
			                             : "?");
			conf_err(ld, &o, prefix,
			         "not a valid provider id; use 1 to 128 of "
			         "A-Z a-z 0-9 . _ : -");
			continue;
		}
		snprintf(prefix, sizeof prefix, "providers.%s", k->val);
		if (hr_conf_provider_find(c, k->val)) {
			conf_err(ld, &o, prefix, "defined twice; keep one");
			continue;
		}
		if (c->n_providers == HR_MAX_PROVIDERS) {
			conf_err(ld, &o, prefix, "more than %d providers; remove some",
			         HR_MAX_PROVIDERS);
			return;
		}
		struct hr_conf_provider *p = provider_slot(c);
		if (!p || !(p->id = hr_arena_strndup(c->arena, k->val, k->len))) {
			conf_oom(ld);
			return;
		}
		apply_defaults(ld, S_PROVIDER, p);
		c->n_providers++; /* even when broken: models naming it then get no extra error */
		if (!expect_map(ld, v, prefix, "write 'kind:' and 'base_url:' under the id"))
			continue;
		unsigned char seen[N_ROWS] = {SEEN_NO};
		load_pairs(ld, v, S_PROVIDER, "providers", prefix, p, seen);
		missing_required(ld, S_PROVIDER, seen, &o, prefix);
		if (p->kind && strcmp(p->kind, "llamacpp") == 0) {
			in_process(ld, &o, prefix, p, seen);
			continue;
		}
		if (!p->base_url && !seen[row_index("providers.<id>.base_url")])
			missing_key(ld, &o, prefix, "providers.<id>.base_url");
		if (!seen[loc] && p->base_url)
			p->locality = host_is_loopback(url_host(p->base_url)) ? HR_LOCAL : HR_CLOUD;
	}
}

static void model_in_process(struct hr_conf_model *m, bool set_concurrency, bool set_queue,
                             bool set_embeddings);

static void load_models(struct ld *ld, const struct node *map)
{
	struct hr_conf *c = ld->c;
	char shown[SHOW_CAP], prefix[SHOW_CAP + 16];
	size_t up = row_index("models.<name>.upstream");

	for (const struct node *k = map->first; k && k->next; k = k->next->next) {
		const struct node *v = k->next;
		struct origin o = {k->line, NULL};
		if (k->kind != N_SCALAR || !id_ok(k->val, k->len)) {
			snprintf(prefix, sizeof prefix, "models.%s",
			         k->kind == N_SCALAR ? show(shown, sizeof shown, k->val, k->len)
			                             : "?");
			conf_err(ld, &o, prefix,
			         "not a valid model name; use 1 to 128 of "
			         "A-Z a-z 0-9 . _ : -");
			continue;
		}
		snprintf(prefix, sizeof prefix, "models.%s", k->val);
		if (hr_conf_model_find(c, k->val, k->len)) {
			conf_err(ld, &o, prefix, "defined twice; keep one");
			continue;
		}
		if (c->n_models == HR_MAX_MODELS) {
			conf_err(ld, &o, prefix, "more than %d models; remove some", HR_MAX_MODELS);
			return;
		}
		struct hr_conf_model *m = model_slot(c);
		if (!m || !(m->name = hr_arena_strndup(c->arena, k->val, k->len))) {
			conf_oom(ld);
			return;
		}
		apply_defaults(ld, S_MODEL, m);
		c->n_models++;
		if (!expect_map(ld, v, prefix, "write 'provider:' under the name"))
			continue;
		unsigned char seen[N_ROWS] = {SEEN_NO};
		load_pairs(ld, v, S_MODEL, "models", prefix, m, seen);
		missing_required(ld, S_MODEL, seen, &o, prefix);
		if (!seen[up])
			m->upstream = m->name;
		if (m->provider && m->provider->kind && strcmp(m->provider->kind, "llamacpp") == 0)
			model_in_process(m, seen[row_index("models.<name>.max_concurrency")],
			                 seen[row_index("models.<name>.max_queue")],
			                 seen[row_index("models.<name>.embeddings")]);
	}
}

/* The key node of name in map (the first, when it is written twice), or NULL. */
static const struct node *map_key(const struct node *map, const char *name)
{
	size_t n = strlen(name);
	for (const struct node *k = map->first; k && k->next; k = k->next->next)
		if (k->kind == N_SCALAR && k->len == n && memcmp(k->val, name, n) == 0)
			return k;
	return NULL;
}

/* Items in a list node; 0 for anything else. */
static size_t seq_len(const struct node *v)
{
	size_t n = 0;
	if (v && v->kind == N_SEQ)
		for (const struct node *it = v->first; it; it = it->next)
			n++;
	return n;
}

static double model_price(const struct hr_conf *c, const char *name)
{
	const struct hr_conf_model *m = hr_conf_model_find(c, name, strlen(name));
	return m ? m->input_price_per_mtok + m->output_price_per_mtok : 0;
}

/* Shadow evaluation's pair: reference defaults to the priciest candidate (the first of
 * equals), challenger to the cheapest other one; a judge is needed to shadow. */
static void learn_check(struct ld *ld, const struct node *map, struct hr_conf_task *t,
                        const char *prefix)
{
	char key[SHOW_CAP + 32];
	const struct hr_conf *c = ld->c;
	if (!t->reference)
		for (size_t i = 0; i < t->n_candidates; i++)
			if (!t->reference ||
			    model_price(c, t->candidates[i]) > model_price(c, t->reference))
				t->reference = t->candidates[i];
	if (!t->challenger)
		for (size_t i = 0; i < t->n_candidates; i++)
			if (t->reference && strcmp(t->candidates[i], t->reference) != 0 &&
			    (!t->challenger ||
			     model_price(c, t->candidates[i]) < model_price(c, t->challenger)))
				t->challenger = t->candidates[i];
	const struct node *k = map_key(map, "challenger");
	struct origin o = {k ? k->line : 0, NULL};
	if (t->challenger && t->reference && strcmp(t->challenger, t->reference) == 0) {
		snprintf(key, sizeof key, "%s.challenger", prefix);
		conf_err(ld, &o, key,
		         "'%s' is also the reference; name two different models to compare",
		         t->challenger);
	}
	if ((t->checks & HR_CHECK_JUDGED) && (!t->judge || t->quality_target <= 0)) {
		k = map_key(map, "checks");
		o.line = k ? k->line : 0;
		snprintf(key, sizeof key, "%s.checks", prefix);
		conf_err(ld, &o, key,
		         !t->judge ? "the check judged needs a judge: add 'judge: <model>'"
		                   : "the check judged escalates answers scored below "
		                     "quality_target: set it, e.g. 'quality_target: 0.6'");
	}
	if (t->shadow_sample > 0 && (!t->judge || !t->challenger)) {
		k = map_key(map, "shadow_sample");
		o.line = k ? k->line : 0;
		snprintf(key, sizeof key, "%s.shadow_sample", prefix);
		conf_err(ld, &o, key,
		         !t->judge ? "shadow evaluation needs a judge: add 'judge: <model>'"
		                   : "shadow evaluation needs two models: add a second candidate "
		                     "or 'challenger: <model>'");
	}
}

/* The checks of one task that involve two keys (map is its mapping); balanced gets its
 * default weights. */
static void task_check(struct ld *ld, const struct node *map, struct hr_conf_task *t,
                       const unsigned char *seen, const char *prefix)
{
	size_t i_strat = row_index("tasks.<name>.strategy");
	size_t i_weights = row_index("tasks.<name>.weights");
	char key[SHOW_CAP + 32];

	if (seen[i_weights] == SEEN_OK) {
		const struct node *wk = map_key(map, "weights"), *ck = map_key(map, "candidates");
		struct origin o = {wk->line, NULL};
		size_t nw = seq_len(wk->next);
		snprintf(key, sizeof key, "%s.weights", prefix);
		if (seen[i_strat] != SEEN_BAD && t->strategy != HR_STRAT_BALANCED)
			conf_err(ld, &o, key,
			         "only strategy balanced uses weights; add 'strategy: balanced' "
			         "or remove the weights");
		else if (t->strategy == HR_STRAT_BALANCED && ck && ck->next->kind == N_SEQ &&
		         nw != seq_len(ck->next))
			conf_err(ld, &o, key,
			         "%zu weights for %zu candidates; write one per candidate, in "
			         "the same order",
			         nw, seq_len(ck->next));
	} else if (t->strategy == HR_STRAT_BALANCED && t->n_candidates) {
		double *w = hr_arena_alloc(ld->c->arena, t->n_candidates * sizeof *w);
		if (!w) {
			conf_oom(ld);
			return;
		}
		for (size_t i = 0; i < t->n_candidates; i++)
			w[i] = 1;
		t->weights = w;
	}
	learn_check(ld, map, t, prefix);
}

static void load_tasks(struct ld *ld, const struct node *map)
{
	struct hr_conf *c = ld->c;
	char shown[SHOW_CAP], prefix[SHOW_CAP + 16];
	size_t n = 0;

	for (const struct node *k = map->first; k && k->next; k = k->next->next)
		n++;
	if (n > HR_MAX_TASKS)
		n = HR_MAX_TASKS;
	/* fixed capacity: nothing adds tasks later */
	if (!(c->tasks = hr_arena_calloc(c->arena, (n ? n : 1) * sizeof *c->tasks))) {
		conf_oom(ld);
		return;
	}
	for (const struct node *k = map->first; k && k->next; k = k->next->next) {
		const struct node *v = k->next;
		struct origin o = {k->line, NULL};
		if (k->kind != N_SCALAR || !id_ok(k->val, k->len)) {
			snprintf(prefix, sizeof prefix, "tasks.%s",
			         k->kind == N_SCALAR ? show(shown, sizeof shown, k->val, k->len)
			                             : "?");
			conf_err(ld, &o, prefix,
			         "not a valid task name; use 1 to 128 of "
			         "A-Z a-z 0-9 . _ : -");
			continue;
		}
		snprintf(prefix, sizeof prefix, "tasks.%s", k->val);
		if (hr_conf_task_find(c, k->val, k->len)) {
			conf_err(ld, &o, prefix, "defined twice; keep one");
			continue;
		}
		if (c->n_tasks == HR_MAX_TASKS) {
			conf_err(ld, &o, prefix, "more than %d tasks; remove some", HR_MAX_TASKS);
			return;
		}
		struct hr_conf_task *t = &c->tasks[c->n_tasks];
		if (!(t->name = hr_arena_strndup(c->arena, k->val, k->len))) {
			conf_oom(ld);
			return;
		}
		apply_defaults(ld, S_TASK, t);
		c->n_tasks++; /* even when broken: rules naming it then get no extra error */
		if (!expect_map(ld, v, prefix,
		                "write 'candidates: [model-a, model-b]' under the name"))
			continue;
		unsigned char seen[N_ROWS] = {SEEN_NO};
		load_pairs(ld, v, S_TASK, "tasks", prefix, t, seen);
		missing_required(ld, S_TASK, seen, &o, prefix);
		task_check(ld, v, t, seen, prefix);
		if (ld->oom)
			return;
	}
}

static void load_rules(struct ld *ld, const struct node *seq)
{
	struct hr_conf *c = ld->c;
	char prefix[48], key[64];
	size_t n = seq_len(seq);

	if (n > HR_MAX_RULES) {
		const struct node *it = seq->first;
		for (size_t i = 0; i < HR_MAX_RULES; i++)
			it = it->next;
		conf_err(ld, &(struct origin){it->line, NULL}, "rules",
		         "more than %d rules; remove some", HR_MAX_RULES);
		return;
	}
	if (!(c->rules = hr_arena_calloc(c->arena, (n ? n : 1) * sizeof *c->rules))) {
		conf_oom(ld);
		return;
	}
	for (const struct node *it = seq->first; it; it = it->next) {
		struct origin o = {it->line, NULL};
		struct hr_conf_rule *r = &c->rules[c->n_rules];
		snprintf(prefix, sizeof prefix, "rules[%zu]", c->n_rules);
		c->n_rules++;
		r->has_images = r->needs_tools = r->json_mode = r->contains_code = -1;
		r->sensitive = -1;
		r->min_tokens = r->max_tokens = -1;
		if (!expect_map(ld, it, prefix,
		                "write '- task: <name>' and its conditions, one rule per '-'"))
			continue;
		unsigned char seen[N_ROWS] = {SEEN_NO};
		load_pairs(ld, it, S_RULE, "rules", prefix, r, seen);
		missing_required(ld, S_RULE, seen, &o, prefix);
		if (r->min_tokens >= 0 && r->max_tokens >= 0 && r->min_tokens > r->max_tokens) {
			o.line = map_key(it, "min_tokens")->line;
			snprintf(key, sizeof key, "%s.min_tokens", prefix);
			conf_err(ld, &o, key,
			         "%ld is more than max_tokens (%ld); lower min_tokens or raise "
			         "max_tokens",
			         r->min_tokens, r->max_tokens);
		}
		if (ld->oom)
			return;
	}
}

/* budgets: and rate_limits:, lists of mappings (governance/limits.c uses them). */
static void load_limits(struct ld *ld, const struct node *seq, bool budgets)
{
	struct hr_conf *c = ld->c;
	const char *sect = budgets ? "budgets" : "rate_limits";
	enum conf_scope sc = budgets ? S_BUDGET : S_RATE;
	size_t max = budgets ? HR_MAX_BUDGETS : HR_MAX_RATE_LIMITS;
	char prefix[48], key[64];
	size_t n = seq_len(seq);

	if (n > max) {
		conf_err(ld, &(struct origin){seq->line, NULL}, sect, "more than %zu items; remove some",
		         max);
		return;
	}
	void *arr = budgets ? (void *)hr_arena_calloc(c->arena, (n ? n : 1) *
	                                                            sizeof(struct hr_conf_budget))
	                    : (void *)hr_arena_calloc(c->arena,
	                                              (n ? n : 1) * sizeof(struct hr_conf_rate_limit));
	if (!arr) {
		conf_oom(ld);
		return;
	}
	size_t i = 0;
	for (const struct node *it = seq->first; it; it = it->next, i++) {
		struct origin o = {it->line, NULL};
		struct hr_conf_budget *b = budgets ? (struct hr_conf_budget *)arr + i : NULL;
		struct hr_conf_rate_limit *rl = budgets ? NULL : (struct hr_conf_rate_limit *)arr + i;
		void *base = budgets ? (void *)b : (void *)rl;
		snprintf(prefix, sizeof prefix, "%s[%zu]", sect, i);
		if (!expect_map(ld, it, prefix,
		                budgets ? "write '- scope: team' and its id, period and limit_usd, "
		                          "one budget per '-'"
		                        : "write '- scope: key' and its id and limits, one per '-'"))
			continue;
		apply_defaults(ld, sc, base);
		if (b) { /* the documented default of alert_at */
			b->alert_at[0] = 0.8, b->alert_at[1] = 1.0;
			b->n_alert_at = 2;
		}
		unsigned char seen[N_ROWS] = {SEEN_NO};
		load_pairs(ld, it, sc, sect, prefix, base, seen);
		missing_required(ld, sc, seen, &o, prefix);
		enum hr_limit_scope scope = b ? b->scope : rl->scope;
		const char *id = b ? b->id : rl->id;
		if (seen[row_index(budgets ? "budgets[].scope" : "rate_limits[].scope")] != SEEN_OK)
			continue;
		snprintf(key, sizeof key, "%s.id", prefix);
		if (b && scope == HR_SCOPE_GLOBAL && id)
			conf_err(ld, &o, key, "a global budget counts every request; remove the id");
		else if (b && scope != HR_SCOPE_GLOBAL && !id &&
		         seen[row_index("budgets[].id")] == SEEN_NO)
			conf_err(ld, &o, key,
			         "missing required key; add 'id:' (the %s the budget counts)",
			         scope_choices[scope]);
		if (rl && (scope == HR_SCOPE_GLOBAL || scope == HR_SCOPE_TASK)) {
			snprintf(key, sizeof key, "%s.scope", prefix);
			conf_err(ld, &(struct origin){map_key(it, "scope")->line, NULL}, key,
			         "rate limits count a key, user or team; write one of those");
		}
		if (b && seen[row_index("budgets[].limit_usd")] == SEEN_OK && !(b->limit_usd > 0)) {
			snprintf(key, sizeof key, "%s.limit_usd", prefix);
			conf_err(ld, &(struct origin){map_key(it, "limit_usd")->line, NULL}, key,
			         "a budget of $0 admits nothing; write a positive amount");
		}
		if (ld->oom)
			return;
	}
	if (budgets) {
		c->budgets = arr;
		c->n_budgets = i;
	} else {
		c->rate_limits = arr;
		c->n_rate_limits = i;
	}
}

static void load_tree(struct ld *ld, const struct node *root)
{
	char shown[SHOW_CAP];
	const struct node *models = NULL;
	const struct node *tasks = NULL, *rules = NULL;
	bool seen_sect[N_SECTIONS] = {false};
	unsigned char seen[N_ROWS] = {SEEN_NO};

	if (node_null(root))
		return;
	if (!expect_map(ld, root, "(top)", "write sections such as 'server:' at the left margin"))
		return;
	for (const struct node *k = root->first; k && k->next; k = k->next->next) {
		const struct node *v = k->next;
		struct origin o = {k->line, NULL};
		size_t s;
		if (k->kind != N_SCALAR) {
			conf_err(ld, &o, "(top)", "a key is %s; keys must be plain names",
			         node_what(k));
			continue;
		}
		for (s = 0; s < N_SECTIONS; s++)
			if (strlen(sections[s]) == k->len &&
			    memcmp(sections[s], k->val, k->len) == 0)
				break;
		show(shown, sizeof shown, k->val, k->len);
		if (s == N_SECTIONS) {
			const char *best = closest(k->val, k->len, sections, N_SECTIONS);
			if (best)
				conf_err(ld, &o, shown, "unknown section; did you mean '%s'?",
				         best);
			else
				conf_err(ld, &o, shown,
				         "unknown section; use server, log, storage, "
				         "limits, policy, router, providers, models, tasks, "
				         "rules, telemetry, alerts, budgets or rate_limits");
			continue;
		}
		if (seen_sect[s]) {
			conf_err(ld, &o, shown, "section appears twice; merge the two");
			continue;
		}
		seen_sect[s] = true;
		if (node_null(v))
			continue;
		if (strcmp(sections[s], "models") == 0) {
			if (expect_map(ld, v, shown, "write one entry per model name"))
				models = v; /* after the providers, whatever the order */
		} else if (strcmp(sections[s], "tasks") == 0) {
			if (expect_map(ld, v, shown, "write one entry per task name"))
				tasks = v; /* after the models */
		} else if (strcmp(sections[s], "rules") == 0) {
			if (v->kind == N_SEQ)
				rules = v; /* after the tasks */
			else
				conf_err(ld, &(struct origin){v->line, NULL}, shown,
				         "expected a list, got %s; write one '- task: <name>' item "
				         "per rule",
				         node_what(v));
		} else if (strcmp(sections[s], "budgets") == 0 ||
		           strcmp(sections[s], "rate_limits") == 0) {
			if (v->kind == N_SEQ)
				load_limits(ld, v, sections[s][0] == 'b');
			else
				conf_err(ld, &(struct origin){v->line, NULL}, shown,
				         "expected a list, got %s; write one '- scope: ...' item each",
				         node_what(v));
		} else if (strcmp(sections[s], "providers") == 0) {
			if (expect_map(ld, v, shown, "write one entry per provider id"))
				load_providers(ld, v);
		} else if (expect_map(ld, v, shown, "write 'key: value' lines indented under it")) {
			load_pairs(ld, v, S_ROOT, sections[s], sections[s], ld->c, seen);
		}
		if (ld->oom)
			return;
	}
	if (models)
		load_models(ld, models);
	if (tasks && !ld->oom)
		load_tasks(ld, tasks);
	if (rules && !ld->oom)
		load_rules(ld, rules);
}

/* HEARTH_<SECTION>_<KEY> for every single-valued key of the fixed sections, then
 * HEARTH_API_KEY. Empty variables are ignored. */
static void apply_env(struct ld *ld)
{
	struct hr_conf *c = ld->c;
	for (size_t i = 0; i < N_ROWS; i++) {
		const struct conf_row *r = &rows[i];
		char name[128];
		size_t n;
		if (r->scope != S_ROOT || r->type == T_SECRET_LIST)
			continue;
		n = (size_t)snprintf(name, sizeof name, "HEARTH_%s", r->key);
		for (size_t j = 7; j < n && j < sizeof name; j++)
			name[j] =
			    r->key[j - 7] == '.' ? '_' : (char)toupper((unsigned char)name[j]);
		const char *v = getenv(name);
		if (!v || !*v)
			continue;
		struct origin o = {0, name};
		hr_buf_reset(&ld->val);
		if (hr_buf_addstr(&ld->val, v) < 0) {
			conf_err(ld, &o, r->key, "value too long; shorten it");
			continue;
		}
		if (set_scalar(ld, r, c, ld->val.ptr, ld->val.len, &o, r->key) &&
		    policy_class(r) >= 0) /* the scalar form replaces a mapping of the file */
			c->policy.dest_set &= ~(1u << policy_class(r));
	}
	const char *k = getenv("HEARTH_API_KEY");
	if (k && *k) {
		if (c->server.n_api_keys >= HR_MAX_API_KEYS) {
			struct origin o = {0, "HEARTH_API_KEY"};
			conf_err(ld, &o, "server.api_keys", "more than %d keys; use fewer",
			         HR_MAX_API_KEYS);
			return;
		}
		size_t n = c->server.n_api_keys;
		const char **a = hr_arena_alloc(c->arena, (n + 1) * sizeof *a);
		char *v = hr_arena_strdup(c->arena, k);
		if (!a || !v || hr_arena_defer(c->arena, zero_secret, v) < 0) {
			conf_oom(ld);
			return;
		}
		if (n)
			memcpy(a, c->server.api_keys, n * sizeof *a);
		a[n] = v;
		c->server.api_keys = a;
		c->server.n_api_keys = n + 1;
	}
}

/* Replaces each secret:NAME marker with the value from the store, where it was stored:
 * providers' api_key and server.api_keys. */
static void resolve_pending(struct ld *ld)
{
	if (!ld->pending)
		return;
	struct hr_conf *c = ld->c;
	struct hr_secrets st;
	unsigned char key[HR_SECRET_KEY_BYTES];
	const char *src = NULL;
	char why[512];
	int krc = -2;
	bool loaded = hr_secrets_load(c->storage.data_dir, &st, why, sizeof why) == 0;
	if (!loaded)
		conf_err(ld, &(struct origin){ld->pending->line, ld->pending->env},
		         ld->pending->key, "cannot read the secret store: %s", why);
	else
		krc = hr_secrets_master_key(c->server.master_key_file, key, &src, why, sizeof why);
	for (struct pending *p = ld->pending; p && loaded; p = p->next) {
		struct origin o = {p->line, p->env};
		const struct hr_secret_entry *e = hr_secrets_find(&st, p->name);
		char *v = NULL;
		size_t n = 0;
		int orc;
		if (!e) {
			conf_err(ld, &o, p->key,
			         "no secret '%s' in %s; store it with `hearth secrets set %s` (the "
			         "value on stdin), or fix the name",
			         p->name, st.path, p->name);
			continue;
		}
		if (krc == 1) {
			conf_err(ld, &o, p->key,
			         "secret '%s' needs the master key it was stored with: set "
			         "HEARTH_MASTER_KEY or server.master_key_file",
			         p->name);
			continue;
		}
		if (krc < 0) {
			conf_err(ld, &o, p->key, "secret '%s': %s", p->name, why);
			continue;
		}
		if ((orc = hr_secrets_open(e, key, &v, &n)) < 0) {
			if (orc == -2)
				conf_oom(ld);
			else
				conf_err(ld, &o, p->key,
				         "secret '%s' does not open with the master key from %s: it "
				         "was stored with another key (or the store is damaged); set "
				         "the key it was stored with, or store it again with `hearth "
				         "secrets set %s`",
				         p->name, src, p->name);
			continue;
		}
		char *val = hr_arena_strndup(c->arena, v, n);
		hr_secret_wipe_free(v, n);
		if (!val || hr_arena_defer(c->arena, zero_secret, val) < 0) {
			if (val)
				zero_secret(val);
			conf_oom(ld);
			break;
		}
		for (size_t i = 0; i < c->n_providers; i++)
			if (c->providers[i].api_key == p->marker)
				c->providers[i].api_key = val;
		for (size_t i = 0; i < c->server.n_api_keys; i++)
			if (c->server.api_keys[i] == p->marker)
				c->server.api_keys[i] = val;
	}
	sodium_memzero(key, sizeof key);
	if (loaded)
		hr_secrets_free(&st);
	ld->pending = NULL;
}

/* ---- the public functions -------------------------------------------------------------- */

const struct hr_conf_model *hr_conf_reference(const struct hr_conf *c,
                                              const struct hr_conf_task *t)
{
	const struct hr_conf_model *m =
	    t && t->reference ? hr_conf_model_find(c, t->reference, strlen(t->reference)) : NULL;
	if (m && m->provider && m->provider->locality == HR_CLOUD)
		return m;
	const char *ref = c->router.reference_model;
	if (ref && (m = hr_conf_model_find(c, ref, strlen(ref))))
		return m;
	const struct hr_conf_model *best = NULL;
	for (size_t i = 0; i < c->n_models; i++) {
		const struct hr_conf_model *x = &c->models[i];
		if (!x->embeddings &&
		    (!best || x->input_price_per_mtok + x->output_price_per_mtok >
		                  best->input_price_per_mtok + best->output_price_per_mtok))
			best = x;
	}
	return best;
}

static int conf_new(struct hr_conf **out)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf *c = a ? hr_arena_calloc(a, sizeof *c) : NULL;
	if (!c) {
		hr_arena_destroy(a);
		return HR_ENOMEM;
	}
	c->arena = a;
	atomic_init(&c->refs, 1);
	*out = c;
	return 0;
}

/* Loads text (NULL: none) into a new snapshot. */
static int conf_build(const char *name, const char *text, size_t len, unsigned flags,
                      struct hr_conf **out, struct hr_buf *err)
{
	struct ld ld = {.err = err, .file = name ? name : "<config>", .flags = flags};
	struct node *root = NULL;
	int rc;

	*out = NULL;
	hr_buf_init(&ld.val, HR_MAX_CONF_BYTES);
	if ((rc = conf_new(&ld.c)) < 0)
		return rc;
	if (name && !(ld.c->path = hr_arena_strdup(ld.c->arena, name)))
		goto oom;
	apply_defaults(&ld, S_ROOT, ld.c);
	if (text) {
		if (len > HR_MAX_CONF_BYTES) {
			struct origin o = {1, NULL};
			conf_err(&ld, &o, "(file)", "larger than %u bytes; shorten it",
			         HR_MAX_CONF_BYTES);
		} else if (!(ld.tmp = hr_arena_create(0))) {
			goto oom;
		} else if ((rc = parse_yaml(&ld, text, len, &root)) == HR_ENOMEM) {
			goto oom;
		} else if (rc == 0) {
			load_tree(&ld, root);
		}
	}
	if (!ld.oom)
		apply_env(&ld);
	if (!ld.oom)
		resolve_pending(&ld);
	if (ld.oom)
		goto oom;
	if (ld.c->policy.on_error == HR_POLICY_ALLOW ||
	    ld.c->policy.on_error == HR_POLICY_REDACT) /* from the file or the environment */
		conf_err(&ld, &(struct origin){0, NULL}, "policy.on_error",
		         "%s would let a request the detectors could not check pass: the policy "
		         "fails closed; use block or local_only",
		         action_choices[ld.c->policy.on_error]);
	policy_dests(ld.c);
	const char *ref = ld.c->router.reference_model;
	const struct hr_conf_model *rm = ref ? hr_conf_model_find(ld.c, ref, strlen(ref)) : NULL;
	if (ref && (!rm || rm->embeddings))
		conf_err(&ld, &(struct origin){0, NULL}, "router.reference_model",
		         "'%s' is not a chat model under models:; name one (or leave it unset "
		         "for the priciest)",
		         ref);
	hr_arena_destroy(ld.tmp);
	hr_buf_release(&ld.val);
	if (ld.n_errs) {
		hr_conf_release(ld.c);
		return HR_ECONF;
	}
	*out = ld.c;
	return 0;
oom:
	conf_oom(&ld);
	hr_arena_destroy(ld.tmp);
	hr_buf_release(&ld.val);
	hr_conf_release(ld.c);
	return HR_ENOMEM;
}

int hr_conf_load_mem(const char *name, const char *text, size_t len, struct hr_conf **out,
                     struct hr_buf *err)
{
	return conf_build(name, text ? text : "", text ? len : 0, 0, out, err);
}

int hr_conf_load(const char *path, struct hr_conf **out, struct hr_buf *err)
{
	return hr_conf_load_ex(path, 0, out, err);
}

int hr_conf_load_ex(const char *path, unsigned flags, struct hr_conf **out, struct hr_buf *err)
{
	char ebuf[128];
	struct hr_buf text = HR_BUF_INIT(HR_MAX_CONF_BYTES);
	char chunk[65536];
	int rc = 0;

	*out = NULL;
	if (!path)
		return conf_build(NULL, NULL, 0, flags, out, err);
	FILE *f = fopen(path, "rb");
	if (!f) {
		if (err)
			hr_buf_addf(err,
			            "%s: cannot open the configuration file: %s; check the "
			            "path\n",
			            path, strerror_r(errno, ebuf, sizeof ebuf));
		return HR_ECONF;
	}
	for (;;) {
		size_t n = fread(chunk, 1, sizeof chunk, f);
		if (n && (rc = hr_buf_add(&text, chunk, n)) < 0)
			break;
		if (n < sizeof chunk)
			break;
	}
	if (rc == 0 && ferror(f))
		rc = HR_EIO;
	fclose(f);
	if (rc < 0) {
		if (err && rc == HR_ETOOBIG)
			hr_buf_addf(err, "%s:1: (file): larger than %u bytes; shorten it\n", path,
			            HR_MAX_CONF_BYTES);
		else if (err)
			hr_buf_addf(err, "%s: cannot read the configuration file; check the path\n",
			            path);
		hr_buf_release(&text);
		return rc == HR_ENOMEM ? HR_ENOMEM : HR_ECONF;
	}
	rc = conf_build(path, text.ptr ? text.ptr : "", text.len, flags, out, err);
	hr_buf_release(&text);
	return rc;
}

static void model_in_process(struct hr_conf_model *m, bool set_concurrency, bool set_queue,
                             bool set_embeddings)
{
	/* the engine decodes `parallel` requests together: more would wait inside it */
	if (!set_concurrency)
		m->max_concurrency = m->provider->parallel > 0 ? m->provider->parallel : 1;
	if (!set_queue)
		m->max_queue = 4 * m->max_concurrency;
	if (!set_embeddings)
		m->embeddings = m->provider->embeddings;
	m->tools = m->vision = m->json_mode = false;
	if (!m->context_window && m->provider->context > 0)
		m->context_window = m->provider->context;
}

int hr_conf_add_provider(struct hr_conf *c, const struct hr_conf_provider *p)
{
	bool local = p->kind && strcmp(p->kind, "llamacpp") == 0;
	if (!p->id || !id_ok(p->id, strlen(p->id)) || !p->kind || !provider_kind_known(p->kind) ||
	    (local ? !p->path : !p->base_url || url_problem(p->base_url)) ||
	    hr_conf_provider_find(c, p->id))
		return HR_EINVAL;
	if (c->n_providers >= HR_MAX_PROVIDERS)
		return HR_ETOOMANY;
	struct ld ld = {.c = c, .file = "<detection>"};
	struct hr_conf_provider *np = provider_slot(c);
	if (!np)
		return HR_ENOMEM;
	apply_defaults(&ld, S_PROVIDER, np);
	np->id = hr_arena_strdup(c->arena, p->id);
	np->kind = provider_kind_known(p->kind);
	if (local) {
		np->base_url = hr_arena_printf(c->arena, "llamacpp://%s", p->id);
		np->path = hr_arena_strdup(c->arena, p->path);
		if (!np->path)
			return HR_ENOMEM;
		np->context = p->context;
		np->threads = p->threads;
		if (p->parallel > 0)
			np->parallel = p->parallel;
		np->gpu_layers = p->gpu_layers;
		np->embeddings = p->embeddings;
		if (p->chat_template &&
		    !(np->chat_template = hr_arena_strdup(c->arena, p->chat_template)))
			return HR_ENOMEM;
	} else {
		size_t n = strlen(p->base_url);
		while (n > 0 && p->base_url[n - 1] == '/')
			n--;
		np->base_url = hr_arena_strndup(c->arena, p->base_url, n);
	}
	np->api_key = p->api_key ? hr_arena_strdup(c->arena, p->api_key) : NULL;
	np->api_key_ref = p->api_key_ref ? hr_arena_strdup(c->arena, p->api_key_ref) : NULL;
	if (ld.oom || !np->id || !np->base_url || (p->api_key && !np->api_key) ||
	    (p->api_key_ref && !np->api_key_ref) ||
	    (np->api_key && hr_arena_defer(c->arena, zero_secret, (void *)np->api_key) < 0))
		return HR_ENOMEM;
	np->locality = p->locality;
	if (p->connect_timeout_ms > 0)
		np->connect_timeout_ms = p->connect_timeout_ms;
	if (p->first_byte_timeout_ms > 0)
		np->first_byte_timeout_ms = p->first_byte_timeout_ms;
	if (p->idle_timeout_ms > 0)
		np->idle_timeout_ms = p->idle_timeout_ms;
	if (p->total_timeout_ms > 0)
		np->total_timeout_ms = p->total_timeout_ms;
	np->detected = p->detected;
	c->n_providers++;
	return 0;
}

int hr_conf_add_model(struct hr_conf *c, const char *name, const char *provider_id,
                      const char *upstream, double in_price, double out_price, long ctx)
{
	if (!name || !id_ok(name, strlen(name)) || !provider_id ||
	    hr_conf_model_find(c, name, strlen(name)) || (upstream && !*upstream) ||
	    !(in_price >= 0) || !(out_price >= 0) || ctx < 0)
		return HR_EINVAL;
	const struct hr_conf_provider *p = hr_conf_provider_find(c, provider_id);
	if (!p)
		return HR_EINVAL;
	if (c->n_models >= HR_MAX_MODELS)
		return HR_ETOOMANY;
	struct hr_conf_model *m = model_slot(c);
	if (!m)
		return HR_ENOMEM;
	m->name = hr_arena_strdup(c->arena, name);
	m->upstream = upstream ? hr_arena_strdup(c->arena, upstream) : m->name;
	if (!m->name || !m->upstream)
		return HR_ENOMEM;
	m->provider = p;
	m->input_price_per_mtok = in_price;
	m->output_price_per_mtok = out_price;
	m->context_window = ctx;
	m->tools = m->vision = m->json_mode = true; /* the schema's defaults */
	if (p->kind && strcmp(p->kind, "llamacpp") == 0)
		model_in_process(m, false, false, false);
	c->n_models++;
	return 0;
}

const struct hr_conf_model *hr_conf_model_find(const struct hr_conf *c, const char *name,
                                               size_t len)
{
	for (size_t i = 0; i < c->n_models; i++) {
		const char *n = c->models[i].name;
		if (strnlen(n, len + 1) == len && memcmp(n, name, len) == 0)
			return &c->models[i];
	}
	return NULL;
}

const struct hr_conf_task *hr_conf_task_find(const struct hr_conf *c, const char *name, size_t len)
{
	for (size_t i = 0; i < c->n_tasks; i++) {
		const char *n = c->tasks[i].name;
		if (strnlen(n, len + 1) == len && memcmp(n, name, len) == 0)
			return &c->tasks[i];
	}
	return NULL;
}

const struct hr_conf_provider *hr_conf_provider_find(const struct hr_conf *c, const char *id)
{
	for (size_t i = 0; i < c->n_providers; i++)
		if (strcmp(c->providers[i].id, id) == 0)
			return &c->providers[i];
	return NULL;
}

struct hr_conf *hr_conf_ref(struct hr_conf *c)
{
	if (c)
		atomic_fetch_add_explicit(&c->refs, 1, memory_order_relaxed);
	return c;
}

void hr_conf_release(struct hr_conf *c)
{
	if (c && atomic_fetch_sub_explicit(&c->refs, 1, memory_order_acq_rel) == 1)
		hr_arena_destroy(c->arena); /* c lives in its own arena */
}

static pthread_mutex_t published_lock = PTHREAD_MUTEX_INITIALIZER;
static struct hr_conf *published; /* guarded by published_lock */

struct hr_conf *hr_conf_current(void)
{
	pthread_mutex_lock(&published_lock);
	struct hr_conf *c = hr_conf_ref(published);
	pthread_mutex_unlock(&published_lock);
	return c;
}

void hr_conf_publish(struct hr_conf *c)
{
	pthread_mutex_lock(&published_lock);
	struct hr_conf *old = published;
	published = c;
	pthread_mutex_unlock(&published_lock);
	hr_conf_release(old);
}

void hr_conf_dump_keys(FILE *f)
{
	for (size_t i = 0; i < N_ROWS; i++)
		fprintf(f, "%s\t%s\t%s\n", rows[i].key, rows[i].def, rows[i].doc);
}
