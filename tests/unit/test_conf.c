/* test_conf.c - unit tests of the configuration loader (src/core/conf.c): defaults, every
 * class of error with its exact file:line: key, env overrides, interpolation, secrets. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/limits.h"

extern char **environ;

/* Removes every HEARTH_* variable so the host's environment cannot change the results. */
static void clear_hearth_env(void)
{
	for (;;) {
		char name[256] = "";
		for (char **e = environ; *e; e++) {
			if (strncmp(*e, "HEARTH_", 7) == 0) {
				size_t n = strcspn(*e, "=");
				if (n < sizeof name) {
					memcpy(name, *e, n);
					name[n] = '\0';
				}
				break;
			}
		}
		if (!name[0])
			return;
		unsetenv(name);
	}
}

static int setup(void **state)
{
	(void)state;
	clear_hearth_env();
	setenv("HR_T_A", "alpha", 1);
	setenv("HR_T_PORT", "9100", 1);
	setenv("HR_T_KEY", "sk-from-env", 1);
	setenv("HR_T_EMPTY", "", 1);
	unsetenv("HR_T_UNSET");
	return 0;
}

/* Loads yaml as "t.yaml". */
static int load(const char *yaml, struct hr_conf **c, struct hr_buf *err)
{
	hr_buf_reset(err);
	return hr_conf_load_mem("t.yaml", yaml, strlen(yaml), c, err);
}

static struct hr_conf *load_ok(const char *yaml)
{
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c = NULL;
	int rc = load(yaml, &c, &err);
	if (rc != 0)
		fail_msg("unexpected errors for:\n%s\n%s", yaml, err.ptr ? err.ptr : "(none)");
	hr_buf_release(&err);
	assert_non_null(c);
	return c;
}

/* True when some line of text starts with prefix. */
static bool has_line(const char *text, const char *prefix)
{
	size_t n = strlen(prefix);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (strncmp(p, prefix, n) == 0)
			return true;
	return false;
}

static size_t count_lines(const char *text)
{
	size_t n = 0;
	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

static void expect_error(const char *yaml, const char *line)
{
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c = (struct hr_conf *)&err; /* must be reset to NULL */
	int rc = load(yaml, &c, &err);
	if (rc != HR_ECONF || !err.ptr || !has_line(err.ptr, line))
		fail_msg("for:\n%s\nwanted a line starting with:\n%s\ngot rc %s:\n%s", yaml, line,
		         hr_err_name(rc), err.ptr ? err.ptr : "(none)");
	assert_null(c);
	hr_buf_release(&err);
}

static void test_defaults(void **state)
{
	(void)state;
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_conf *c = NULL;

	assert_int_equal(hr_conf_load(NULL, &c, &err), 0);
	assert_int_equal(err.len, 0);
	assert_null(c->path);
	assert_string_equal(c->server.host, "127.0.0.1");
	assert_int_equal(c->server.port, 8420);
	assert_int_equal(c->server.workers, 0);
	assert_int_equal(c->server.n_api_keys, 0);
	assert_int_equal(c->server.max_body_bytes, HR_DEF_MAX_BODY_BYTES);
	assert_int_equal(c->server.max_header_bytes, HR_DEF_MAX_HEADER_BYTES);
	assert_int_equal(c->server.client_timeout_ms, 30000);
	assert_int_equal(c->server.shutdown_timeout_ms, 10000);
	assert_int_equal(c->log.level, HR_LOG_LVL_INFO);
	assert_int_equal(c->log.format, HR_LOG_TEXT);
	assert_string_equal(c->storage.data_dir, "./hearth-data");
	assert_int_equal(c->storage.commit_interval_ms, 0);
	assert_int_equal(c->limits.max_messages, HR_DEF_MAX_MESSAGES);
	assert_int_equal(c->limits.max_tools, HR_DEF_MAX_TOOLS);
	assert_int_equal(c->limits.max_json_depth, HR_DEF_MAX_JSON_DEPTH);
	assert_int_equal(c->limits.max_stream_line_bytes, HR_DEF_MAX_STREAM_LINE_BYTES);
	assert_int_equal(c->limits.max_response_bytes, HR_DEF_MAX_RESPONSE_BYTES);
	assert_int_equal(c->limits.request_memory_bytes, HR_DEF_REQUEST_MEMORY_BYTES);
	assert_int_equal(c->n_providers, 0);
	assert_int_equal(c->n_models, 0);
	assert_int_equal(atomic_load(&c->refs), 1);
	hr_conf_release(c);

	/* an empty file and an empty mapping are the defaults too */
	const char *empty[] = {"", "# nothing\n", "{}\n", "server:\n", "~\n", "---\n...\n"};
	for (size_t i = 0; i < sizeof empty / sizeof empty[0]; i++) {
		c = load_ok(empty[i]);
		assert_int_equal(c->server.port, 8420);
		assert_string_equal(c->path, "t.yaml");
		hr_conf_release(c);
	}
	hr_buf_release(&err);
}

/* Seven lines: two providers (p cloud, l local), chat models a and b, embedding model e. */
#define TR_BASE                                                                                    \
	"providers:\n  p: {kind: openai, base_url: 'http://x'}\n"                                  \
	"  l: {kind: openai, base_url: 'http://127.0.0.1:1/v1'}\n"                                 \
	"models:\n  a: {provider: p}\n  b: {provider: l}\n"                                        \
	"  e: {provider: p, embeddings: true}\n"
/* TR_BASE and a task s (lines 8-10) with candidates [a, b]: rules start at line 11. */
#define TR_TASK TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n"

static const struct {
	const char *yaml;
	const char *line; /* the start of one line of err */
} error_cases[] = {
    /* ranges and types */
    {"server:\n  port: 70000\n", "t.yaml:2: server.port: 70000 is out of range; use 1 to 65535"},
    {"server:\n  port: 0\n", "t.yaml:2: server.port: 0 is out of range; use 1 to 65535"},
    {"server:\n  port: 99999999999999999999\n", "t.yaml:2: server.port: 99999999999999999999 "
                                                "is out of range"},
    {"server:\n  port: abc\n", "t.yaml:2: server.port: 'abc' is not a whole number; write"},
    {"server:\n  port: 80.5\n", "t.yaml:2: server.port: '80.5' is not a whole number"},
    {"server:\n  port: \" 80\"\n", "t.yaml:2: server.port: ' 80' is not a whole number"},
    {"server:\n  workers: 17\n", "t.yaml:2: server.workers: 17 is out of range; use 0 to 16"},
    {"server:\n  max_body_bytes: 0\n", "t.yaml:2: server.max_body_bytes: 0 is out of range"},
    {"server:\n  max_body_bytes: 8 MB\n", "t.yaml:2: server.max_body_bytes: '8 MB' is not a "
                                          "size; write bytes"},
    {"server:\n  max_body_bytes: 1.5M\n", "t.yaml:2: server.max_body_bytes: '1.5M' is not a "
                                          "size"},
    {"server:\n  client_timeout_ms: -5\n", "t.yaml:2: server.client_timeout_ms: -5 is out of "
                                           "range; use 1 to"},
    {"server:\n  client_timeout_ms: 30s\n", "t.yaml:2: server.client_timeout_ms: '30s' is "
                                            "not a whole number; write milliseconds"},
    {"storage:\n  commit_interval_ms: -1\n", "t.yaml:2: storage.commit_interval_ms: -1 is out "
                                             "of range"},
    {"limits:\n  max_json_depth: 5000\n", "t.yaml:2: limits.max_json_depth: 5000 is out of "
                                          "range; use 1 to 2048"},
    {"log:\n  level: loud\n", "t.yaml:2: log.level: 'loud' is not allowed; use one of: "
                              "error, warn, info, debug"},
    {"log:\n  format: xml\n", "t.yaml:2: log.format: 'xml' is not allowed; use one of: text, "
                              "json"},
    {"storage:\n  data_dir: \"\"\n", "t.yaml:2: storage.data_dir: is empty; write a value"},
    {"server:\n  host:\n", "t.yaml:2: server.host: has no value; write a value or delete"},
    {"server:\n  host: [a, b]\n", "t.yaml:2: server.host: expected a single value, got a list"},
    {"server:\n  host: {a: b}\n", "t.yaml:2: server.host: expected a single value, got a "
                                  "mapping"},
    {"server:\n  host: \"a\\0b\"\n", "t.yaml:2: server.host: contains a NUL byte"},
    /* structure */
    {"server:\n  prot: 1\n", "t.yaml:2: server.prot: unknown key; did you mean 'server.port'?"},
    {"server:\n  zzzzzz: 1\n", "t.yaml:2: server.zzzzzz: unknown key; `hearth config keys`"},
    {"log:\n  port: 1\n", "t.yaml:2: log.port: unknown key"},
    {"sever:\n  port: 1\n", "t.yaml:1: sever: unknown section; did you mean 'server'?"},
    {"x: 1\n", "t.yaml:1: x: unknown section; use server, log"},
    {"server:\n  port: 1\n  port: 2\n", "t.yaml:3: server.port: set twice; keep one"},
    {"server: {}\nserver: {}\n", "t.yaml:2: server: section appears twice"},
    {"server: [1]\n", "t.yaml:1: server: expected a mapping, got a list"},
    {"hello\n", "t.yaml:1: (top): expected a mapping, got a single value"},
    {"- a\n- b\n", "t.yaml:1: (top): expected a mapping, got a list"},
    {"? [a]\n: 1\n", "t.yaml:1: (top): a key is a list; keys must be plain names"},
    /* YAML itself */
    {"server:\n  port: 1\n bad: [\n", "t.yaml:3: yaml: "},
    {"server:\n\tport: 1\n", "t.yaml:2: yaml: "},
    {"a: &x 1\nb: *x\n", "t.yaml:2: yaml: aliases (*name) are not supported"},
    {"---\nserver: {}\n---\nlog: {}\n", "t.yaml:3: yaml: a second YAML document"},
    {"server:\n  port: 8420\n\"\\xff\": 1\n", "t.yaml:3: \\xc3\\xbf: unknown section"},
    /* providers */
    {"providers:\n  p:\n    base_url: http://x\n", "t.yaml:2: providers.p.kind: missing "
                                                   "required key; add 'kind:'"},
    {"providers:\n  p:\n    kind: openai\n", "t.yaml:2: providers.p.base_url: missing "
                                             "required key; add 'base_url:'"},
    {"providers:\n  p:\n    kind: vertex\n    base_url: http://x\n",
     "t.yaml:3: providers.p.kind: unknown provider kind 'vertex'; use one of: openai, "
     "anthropic, gemini, ollama"},
    {"providers:\n  p:\n    kind: openai\n    base_url: ftp://x\n",
     "t.yaml:4: providers.p.base_url: 'ftp://x' must start with http:// or https://"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://\n",
     "t.yaml:4: providers.p.base_url: 'http://' has no host"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x/v1?a=b\n",
     "t.yaml:4: providers.p.base_url: 'http://x/v1?a=b' must not have a query"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    base_ur: http://y\n",
     "t.yaml:5: providers.p.base_ur: unknown key; did you mean 'base_url'?"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    locality: moon\n",
     "t.yaml:5: providers.p.locality: 'moon' is not allowed; use one of: local, cloud"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    idle_timeout_ms: 0\n",
     "t.yaml:5: providers.p.idle_timeout_ms: 0 is out of range"},
    {"providers:\n  \"a b\":\n    kind: openai\n", "t.yaml:2: providers.a b: not a valid "
                                                   "provider id"},
    {"providers:\n  \"a\\nb\": {}\n", "t.yaml:2: providers.a\\x0ab: not a valid provider id"},
    {"providers:\n  p: http://x\n", "t.yaml:2: providers.p: expected a mapping, got a single "
                                    "value"},
    {"providers:\n  p: {kind: openai, base_url: http://x}\n  p: {kind: openai, base_url: "
     "http://y}\n",
     "t.yaml:3: providers.p: defined twice; keep one"},
    {"providers: [a]\n", "t.yaml:1: providers: expected a mapping, got a list"},
    /* models */
    {"models:\n  m:\n    provider: nope\n", "t.yaml:3: models.m.provider: unknown provider "
                                            "'nope'"},
    {"models:\n  m: {}\n", "t.yaml:2: models.m.provider: missing required key; add "
                           "'provider:'"},
    {"models:\n  m:\n    provider: p\n    input_price_per_mtok: -1\n"
     "providers:\n  p:\n    kind: openai\n    base_url: http://x\n",
     "t.yaml:4: models.m.input_price_per_mtok: '-1' is not a price"},
    {"models:\n  m:\n    provider: p\n    output_price_per_mtok: nan\n"
     "providers:\n  p:\n    kind: openai\n    base_url: http://x\n",
     "t.yaml:4: models.m.output_price_per_mtok: 'nan' is not a price"},
    {"models:\n  m:\n    provider: p\n    context_window: lots\n"
     "providers:\n  p:\n    kind: openai\n    base_url: http://x\n",
     "t.yaml:4: models.m.context_window: 'lots' is not a whole number"},
    {"models:\n  m:\n    provider: p\n    upstrem: x\n"
     "providers:\n  p:\n    kind: openai\n    base_url: http://x\n",
     "t.yaml:4: models.m.upstrem: unknown key; did you mean 'upstream'?"},
    {"models:\n  \"\":\n    provider: p\n", "t.yaml:2: models.: not a valid model name"},
    /* secrets */
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: sk-123\n",
     "t.yaml:5: providers.p.api_key: a literal key is not allowed here; write the key in an "
     "environment variable and reference it as env:NAME"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: ${HR_T_KEY}\n",
     "t.yaml:5: providers.p.api_key: a literal key is not allowed here"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: secret:a/b\n",
     "t.yaml:5: providers.p.api_key: 'a/b' is not a secret name"},
    {"storage:\n  data_dir: /nonexistent-hr-t\nproviders:\n  p:\n    kind: openai\n    "
     "base_url: http://x\n    api_key: secret:K\n",
     "t.yaml:7: providers.p.api_key: no secret 'K' in /nonexistent-hr-t/secrets; store it with "
     "`hearth secrets set K`"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: env:HR_T_UNSET\n",
     "t.yaml:5: providers.p.api_key: environment variable 'HR_T_UNSET' is not set"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: env:HR_T_EMPTY\n",
     "t.yaml:5: providers.p.api_key: environment variable 'HR_T_EMPTY' is empty"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: env:1X\n",
     "t.yaml:5: providers.p.api_key: '1X' is not a valid variable name"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: "
     "file:/nonexistent/key\n",
     "t.yaml:5: providers.p.api_key: cannot read secret file '/nonexistent/key': No such file"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: file:/tmp\n",
     "t.yaml:5: providers.p.api_key: cannot read secret file '/tmp': not a regular file"},
    {"providers:\n  p:\n    kind: openai\n    base_url: http://x\n    api_key: \"\"\n",
     "t.yaml:5: providers.p.api_key: a literal key is not allowed"},
    {"server:\n  api_keys: env:HR_T_KEY\n", "t.yaml:2: server.api_keys: expected a list, got "
                                            "a single value"},
    {"server:\n  api_keys:\n    - env:HR_T_KEY\n    - hunter2\n",
     "t.yaml:4: server.api_keys[1]: a literal key is not allowed"},
    {"server:\n  api_keys:\n    - env:HR_T_KEY\n    - [x]\n",
     "t.yaml:4: server.api_keys[1]: expected a secret reference, got a list"},
    /* interpolation */
    {"server:\n  host: ${HR_T_UNSET}\n", "t.yaml:2: server.host: environment variable "
                                         "'HR_T_UNSET' is not set"},
    {"server:\n  host: a${1X}\n", "t.yaml:2: server.host: '${1X}' is not a valid reference"},
    {"server:\n  host: a${HR_T_A\n", "t.yaml:2: server.host: '${HR_T_A' is not a valid "
                                     "reference"},
    {"server:\n  host: ${}\n", "t.yaml:2: server.host: '${}' is not a valid reference"},
    {"server:\n  port: ${HR_T_A}\n", "t.yaml:2: server.port: 'alpha' is not a whole number"},
    {"server:\n  host: ${HR_T_EMPTY}\n", "t.yaml:2: server.host: is empty"},
    /* tasks */
    {TR_BASE "tasks:\n  s:\n    candidates: [a, x]\n",
     "t.yaml:10: tasks.s.candidates: unknown model 'x'; models are: a, b\n"},
    {TR_BASE "tasks:\n  s:\n    candidates:\n      - a\n      - zz\n",
     "t.yaml:12: tasks.s.candidates: unknown model 'zz'; models are: a, b\n"},
    {"tasks:\n  s:\n    candidates: [a]\n",
     "t.yaml:3: tasks.s.candidates: unknown model 'a'; no chat models are defined: add it "
     "under models:\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b, a]\n",
     "t.yaml:10: tasks.s.candidates: 'a' is listed twice; list each model once\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: []\n",
     "t.yaml:10: tasks.s.candidates: 0 candidates; list 1 to 32 model names from models:\n"},
    {TR_BASE "tasks:\n  s:\n    candidates:\n",
     "t.yaml:10: tasks.s.candidates: expected a list, got nothing; write [model-a, model-b]"},
    {TR_BASE "tasks:\n  s:\n    candidates: a\n",
     "t.yaml:10: tasks.s.candidates: expected a list, got a single value; write [model-a, "
     "model-b] with names from models:\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, {b: 1}]\n",
     "t.yaml:10: tasks.s.candidates: expected a model name, got a mapping; write names from "
     "models:\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, e]\n",
     "t.yaml:10: tasks.s.candidates: 'e' is an embedding model (models.e.embeddings is true); "
     "a task serves chat requests: name chat models only\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, \"${HR_T_UNSET}\"]\n",
     "t.yaml:10: tasks.s.candidates: environment variable 'HR_T_UNSET' is not set"},
    {TR_BASE "tasks:\n  s:\n    strategy: cheapest\n",
     "t.yaml:9: tasks.s.candidates: missing required key; add 'candidates:' (chat model names "
     "from models:, in order, each once; 1 to 32)\n"},
    {TR_BASE "tasks:\n  s: {}\n", "t.yaml:9: tasks.s.candidates: missing required key"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    strategy: fastest\n",
     "t.yaml:11: tasks.s.strategy: 'fastest' is not allowed; use one of: ordered, cheapest, "
     "balanced, cascade, learned\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    checks: [empty, tone]\n",
     "t.yaml:11: tasks.s.checks: 'tone' is not allowed; use some of: empty, refused, "
     "truncated, json, judged (a list, [] for none)\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    checks: [[empty]]\n",
     "t.yaml:11: tasks.s.checks: expected a name, got a list"},
    {"providers:\n  p: {kind: openai, base_url: 'http://x'}\n"
     "models:\n  c: {provider: p, max_concurrency: -1}\n",
     "t.yaml:4: models.c.max_concurrency: "},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    weights: [3, 1]\n",
     "t.yaml:11: tasks.s.weights: only strategy balanced uses weights; add 'strategy: "
     "balanced' or remove the weights\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: cascade\n    weights: [1, "
             "1]\n",
     "t.yaml:12: tasks.s.weights: only strategy balanced uses weights"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balanced\n    weights: [3]\n",
     "t.yaml:12: tasks.s.weights: 1 weights for 2 candidates; write one per candidate, in the "
     "same order\n"},
    {TR_BASE "tasks:\n  s:\n    weights: [3, 1, 1]\n    strategy: balanced\n    candidates: "
             "[a, b]\n",
     "t.yaml:10: tasks.s.weights: 3 weights for 2 candidates"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balanced\n    weights: [3, "
             "0]\n",
     "t.yaml:12: tasks.s.weights: '0' is not a positive number; write e.g. 3 or 0.5\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balanced\n    weights:\n"
             "      - 1\n      - -2\n",
     "t.yaml:14: tasks.s.weights: '-2' is not a positive number"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balanced\n    weights: [1, "
             "heavy]\n",
     "t.yaml:12: tasks.s.weights: 'heavy' is not a positive number"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balanced\n    weights: [1, "
             "inf]\n",
     "t.yaml:12: tasks.s.weights: 'inf' is not a positive number"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    strategy: balanced\n    weights: 2\n",
     "t.yaml:12: tasks.s.weights: expected a list, got a single value; write one positive "
     "number per candidate, e.g. [3, 1]\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    strategy: balanced\n    weights: []\n",
     "t.yaml:12: tasks.s.weights: 0 weights; write one positive number per candidate\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    quality_target: 1.5\n",
     "t.yaml:11: tasks.s.quality_target: '1.5' is not a number from 0 to 1; write e.g. 0.8\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    quality_target: -0.1\n",
     "t.yaml:11: tasks.s.quality_target: '-0.1' is not a number from 0 to 1"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    quality_target: high\n",
     "t.yaml:11: tasks.s.quality_target: 'high' is not a number from 0 to 1"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    quality_target: nan\n",
     "t.yaml:11: tasks.s.quality_target: 'nan' is not a number from 0 to 1"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    max_retries: 6\n",
     "t.yaml:11: tasks.s.max_retries: 6 is out of range; use 0 to 5\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    timeout_ms: -1\n",
     "t.yaml:11: tasks.s.timeout_ms: -1 is out of range; use 0 to 86400000\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    local_only: maybe\n",
     "t.yaml:11: tasks.s.local_only: 'maybe' is not a boolean; write true or false\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    fallback: [true]\n",
     "t.yaml:11: tasks.s.fallback: expected a single value, got a list"},
    {TR_BASE "tasks:\n  s:\n    candidate: [a]\n",
     "t.yaml:10: tasks.s.candidate: unknown key; did you mean 'candidates'?\n"},
    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    candidates: [b]\n",
     "t.yaml:11: tasks.s.candidates: set twice; keep one\n"},
    {TR_BASE "tasks:\n  \"a b\":\n    candidates: [a]\n",
     "t.yaml:9: tasks.a b: not a valid task name; use 1 to 128 of A-Z a-z 0-9 . _ : -\n"},
    {TR_BASE "tasks:\n  s: {candidates: [a]}\n  s: {candidates: [b]}\n",
     "t.yaml:10: tasks.s: defined twice; keep one\n"},
    {TR_BASE "tasks:\n  s: [a, b]\n",
     "t.yaml:9: tasks.s: expected a mapping, got a list; write 'candidates: [model-a, "
     "model-b]' under the name\n"},
    {TR_BASE "tasks: [a]\n", "t.yaml:8: tasks: expected a mapping, got a list; write one entry "
                             "per task name\n"},
    {"taks: {}\n", "t.yaml:1: taks: unknown section; did you mean 'tasks'?\n"},
    {"x: 1\n", "t.yaml:1: x: unknown section; use server, log, storage, limits, policy, router, "
               "providers, models, tasks, rules, telemetry, alerts, budgets or rate_limits\n"},
    /* budgets and rate limits */
    {"budgets:\n  scope: team\n",
     "t.yaml:2: budgets: expected a list, got a mapping; write one '- scope: ...' item each\n"},
    {"budgets:\n  - scope: team\n    limit_usd: 5\n",
     "t.yaml:2: budgets[0].id: missing required key; add 'id:' (the team the budget counts)\n"},
    {"budgets:\n  - scope: global\n    id: x\n    limit_usd: 5\n",
     "t.yaml:2: budgets[0].id: a global budget counts every request; remove the id\n"},
    {"budgets:\n  - scope: global\n    limit_usd: 0\n",
     "t.yaml:3: budgets[0].limit_usd: a budget of $0 admits nothing; write a positive amount\n"},
    {"budgets:\n  - scope: global\n", "t.yaml:2: budgets[0].limit_usd: missing required key"},
    {"budgets:\n  - scope: global\n    limit_usd: 5\n    period: week\n",
     "t.yaml:4: budgets[0].period: 'week' is not allowed; use one of: day, month\n"},
    {"budgets:\n  - scope: global\n    limit_usd: 5\n    alert_at: [0.9, 0.8]\n",
     "t.yaml:4: budgets[0].alert_at: 0.8 is not above 0.9; list the shares in ascending order\n"},
    {"budgets:\n  - scope: global\n    limit_usd: 5\n    alert_at: [1.5]\n",
     "t.yaml:4: budgets[0].alert_at: '1.5' is not a number from 0 to 1; write e.g. 0.8\n"},
    {"rate_limits:\n  - scope: task\n    id: a\n",
     "t.yaml:2: rate_limits[0].scope: rate limits count a key, user or team; write one of those\n"},
    {"rate_limits:\n  - scope: key\n    id: key_a\n    requests_per_minut: 3\n",
     "t.yaml:4: rate_limits[0].requests_per_minut: unknown key; did you mean "
     "'requests_per_minute'?\n"},
    /* rules */
    {TR_TASK "rules:\n  task: s\n",
     "t.yaml:12: rules: expected a list, got a mapping; write one '- task: <name>' item per "
     "rule\n"},
    {TR_TASK "rules:\n  - s\n",
     "t.yaml:12: rules[0]: expected a mapping, got a single value; write '- task: <name>' and "
     "its conditions, one rule per '-'\n"},
    {TR_TASK "rules:\n  - model: auto\n    has_images: true\n",
     "t.yaml:12: rules[0].task: missing required key; add 'task:' (the task the rule picks: a "
     "name under tasks:, or auto)\n"},
    {TR_TASK "rules:\n  - task: s\n  - task: nope\n",
     "t.yaml:13: rules[1].task: unknown task 'nope'; tasks are: s (or write auto)\n"},
    {TR_BASE "rules:\n  - task: s\n",
     "t.yaml:9: rules[0].task: unknown task 's'; define it under tasks: or write auto\n"},
    {TR_TASK "rules:\n  - task: a\n", "t.yaml:12: rules[0].task: unknown task 'a'; tasks are: s"},
    {TR_TASK "rules:\n  - task: [s]\n",
     "t.yaml:12: rules[0].task: expected a single value, got a list; write 'task: value'\n"},
    {TR_TASK "rules:\n  - task: s\n    modle: auto\n",
     "t.yaml:13: rules[0].modle: unknown key; did you mean 'model'?\n"},
    {TR_TASK "rules:\n  - task: s\n    weather: sunny\n",
     "t.yaml:13: rules[0].weather: unknown key; `hearth config keys` lists the keys\n"},
    {TR_TASK "rules:\n  - task: s\n    task: auto\n",
     "t.yaml:13: rules[0].task: set twice; keep one\n"},
    {TR_TASK "rules:\n  - task: s\n    model: \"\"\n",
     "t.yaml:13: rules[0].model: is empty; write a value or delete the line to get the default "
     "(any)\n"},
    {TR_TASK "rules:\n  - task: s\n    contains_code: maybe\n",
     "t.yaml:13: rules[0].contains_code: 'maybe' is not a boolean; write true or false\n"},
    {TR_TASK "rules:\n  - task: s\n    sensitive: 1\n",
     "t.yaml:13: rules[0].sensitive: '1' is not a boolean"},
    {TR_TASK "rules:\n  - task: s\n    min_tokens: 9000\n    max_tokens: 8000\n",
     "t.yaml:13: rules[0].min_tokens: 9000 is more than max_tokens (8000); lower min_tokens or "
     "raise max_tokens\n"},
    {TR_TASK "rules:\n  - {task: s, max_tokens: 10, min_tokens: 11}\n",
     "t.yaml:12: rules[0].min_tokens: 11 is more than max_tokens (10)"},
    {TR_TASK "rules:\n  - task: s\n    min_tokens: -1\n",
     "t.yaml:13: rules[0].min_tokens: -1 is out of range; use 0 to 1000000000\n"},
    {TR_TASK "rules:\n  - task: s\n    max_tokens: 8k\n",
     "t.yaml:13: rules[0].max_tokens: '8k' is not a whole number; write digits, e.g. 42\n"},
    {TR_TASK "rules:\n  - task: s\n    language: DE\n",
     "t.yaml:13: rules[0].language: 'DE' is not a language code; write two lowercase letters "
     "(ISO 639-1), e.g. en or de\n"},
    {TR_TASK "rules:\n  - task: s\n    language: deu\n",
     "t.yaml:13: rules[0].language: 'deu' is not a language code"},
    {TR_TASK "rules:\n  - task: s\n    language: d1\n",
     "t.yaml:13: rules[0].language: 'd1' is not a language code"},
};

static void test_errors(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof error_cases / sizeof error_cases[0]; i++)
		expect_error(error_cases[i].yaml, error_cases[i].line);
}

static void test_error_ids_truncated(void **state)
{
	(void)state;
	char yaml[512], want[128];
	char id[201];
	memset(id, 'a', 200);
	id[200] = '\0';
	snprintf(yaml, sizeof yaml, "providers:\n  %s:\n    kind: openai\n", id);
	snprintf(want, sizeof want, "t.yaml:2: providers.%.60s...: not a valid provider id", id);
	expect_error(yaml, want);
	/* 128 characters is still an id */
	id[128] = '\0';
	snprintf(yaml, sizeof yaml, "providers:\n  %s:\n    kind: openai\n    base_url: http://x\n",
	         id);
	struct hr_conf *c = load_ok(yaml);
	assert_non_null(hr_conf_provider_find(c, id));
	hr_conf_release(c);
}

/* All the problems are reported, one per line, not just the first. */
static void test_collects_all(void **state)
{
	(void)state;
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c;
	const char *yaml = "server:\n  port: 0\n  prot: 1\nlog:\n  level: x\nmodels:\n  m:\n"
	                   "    provider: q\n";
	assert_int_equal(load(yaml, &c, &err), HR_ECONF);
	assert_int_equal(count_lines(err.ptr), 4);
	assert_true(has_line(err.ptr, "t.yaml:2: server.port:"));
	assert_true(has_line(err.ptr, "t.yaml:3: server.prot:"));
	assert_true(has_line(err.ptr, "t.yaml:5: log.level:"));
	assert_true(has_line(err.ptr, "t.yaml:8: models.m.provider:"));

	/* a flood of errors stops at a readable number */
	struct hr_buf big = HR_BUF_INIT(1 << 22);
	assert_int_equal(hr_buf_addstr(&big, "server:\n"), 0);
	for (int i = 0; i < 500; i++)
		assert_int_equal(hr_buf_addf(&big, "  k%d: 1\n", i), 0);
	assert_int_equal(load(big.ptr, &c, &err), HR_ECONF);
	assert_int_equal(count_lines(err.ptr), 101);
	assert_true(has_line(err.ptr, "t.yaml: stopped after 100 errors"));

	/* err may be NULL */
	assert_int_equal(hr_conf_load_mem("t", "server: 1\n", 10, &c, NULL), HR_ECONF);
	hr_buf_release(&big);
	hr_buf_release(&err);
}

static void test_values(void **state)
{
	(void)state;
	struct hr_conf *c =
	    load_ok("server:\n  host: 0.0.0.0\n  port: 9000\n  workers: 16\n"
	            "  max_body_bytes: 1MiB\n  max_header_bytes: 64k\n"
	            "  client_timeout_ms: 1\n  shutdown_timeout_ms: 86400000\n"
	            "log:\n  level: debug\n  format: json\n"
	            "storage:\n  data_dir: /var/lib/hearth\n  commit_interval_ms: 5\n"
	            "limits:\n  max_messages: 10\n  max_tools: 1\n"
	            "  max_json_depth: 2048\n  max_stream_line_bytes: 1g\n"
	            "  max_response_bytes: \"12kb\"\n  request_memory_bytes: 100\n");
	assert_string_equal(c->server.host, "0.0.0.0");
	assert_int_equal(c->server.port, 9000);
	assert_int_equal(c->server.workers, 16);
	assert_int_equal(c->server.max_body_bytes, 1 << 20);
	assert_int_equal(c->server.max_header_bytes, 64 << 10);
	assert_int_equal(c->server.client_timeout_ms, 1);
	assert_int_equal(c->server.shutdown_timeout_ms, 86400000);
	assert_int_equal(c->log.level, HR_LOG_LVL_DEBUG);
	assert_int_equal(c->log.format, HR_LOG_JSON);
	assert_string_equal(c->storage.data_dir, "/var/lib/hearth");
	assert_int_equal(c->storage.commit_interval_ms, 5);
	assert_int_equal(c->limits.max_messages, 10);
	assert_int_equal(c->limits.max_tools, 1);
	assert_int_equal(c->limits.max_json_depth, 2048);
	assert_int_equal(c->limits.max_stream_line_bytes, 1u << 30);
	assert_int_equal(c->limits.max_response_bytes, 12 << 10);
	assert_int_equal(c->limits.request_memory_bytes, 100);
	hr_conf_release(c);
}

static void test_env_override(void **state)
{
	(void)state;
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c;

	setenv("HEARTH_SERVER_PORT", "9000", 1);
	setenv("HEARTH_LOG_LEVEL", "debug", 1);
	setenv("HEARTH_STORAGE_DATA_DIR", "/tmp/hd", 1);
	setenv("HEARTH_LIMITS_MAX_MESSAGES", "10", 1);
	setenv("HEARTH_SERVER_MAX_BODY_BYTES", "2MiB", 1);
	setenv("HEARTH_SERVER_HOST", "", 1); /* empty: ignored */
	c = load_ok("server:\n  port: 8000\n  host: ::1\nlog:\n  level: warn\n");
	assert_int_equal(c->server.port, 9000); /* the environment wins over the file */
	assert_string_equal(c->server.host, "::1");
	assert_int_equal(c->log.level, HR_LOG_LVL_DEBUG);
	assert_string_equal(c->storage.data_dir, "/tmp/hd");
	assert_int_equal(c->limits.max_messages, 10);
	assert_int_equal(c->server.max_body_bytes, 2u << 20);
	hr_conf_release(c);

	/* and over the built-in defaults */
	assert_int_equal(hr_conf_load(NULL, &c, &err), 0);
	assert_int_equal(c->server.port, 9000);
	hr_conf_release(c);

	/* a bad override names the variable; env values are not interpolated */
	setenv("HEARTH_SERVER_PORT", "abc", 1);
	setenv("HEARTH_LOG_FORMAT", "${HR_T_A}", 1);
	assert_int_equal(hr_conf_load(NULL, &c, &err), HR_ECONF);
	assert_null(c);
	assert_true(has_line(err.ptr, "env HEARTH_SERVER_PORT: server.port: 'abc' is not a whole "
	                              "number"));
	assert_true(has_line(err.ptr, "env HEARTH_LOG_FORMAT: log.format: '${HR_T_A}' is not "
	                              "allowed"));
	assert_int_equal(count_lines(err.ptr), 2);
	clear_hearth_env();
	hr_buf_release(&err);
}

static const struct {
	const char *value, *want;
} interp_cases[] = {
    {"${HR_T_A}", "alpha"}, {"x${HR_T_A}y", "xalphay"}, {"${HR_T_A}${HR_T_A}", "alphaalpha"},
    {"a$$b", "a$b"},        {"$$${HR_T_A}", "$alpha"},  {"$${HR_T_A}", "${HR_T_A}"},
    {"$5", "$5"},           {"cost$", "cost$"},         {"\"$HR_T_A\"", "$HR_T_A"},
};

static void test_interpolation(void **state)
{
	(void)state;
	char yaml[256];
	for (size_t i = 0; i < sizeof interp_cases / sizeof interp_cases[0]; i++) {
		snprintf(yaml, sizeof yaml, "storage:\n  data_dir: %s\n", interp_cases[i].value);
		struct hr_conf *c = load_ok(yaml);
		assert_string_equal(c->storage.data_dir, interp_cases[i].want);
		hr_conf_release(c);
	}
	/* interpolation happens before conversion */
	struct hr_conf *c = load_ok("server:\n  port: ${HR_T_PORT}\n");
	assert_int_equal(c->server.port, 9100);
	hr_conf_release(c);
}

static char *write_tmp(const char *text)
{
	static char path[64];
	snprintf(path, sizeof path, "/tmp/hr_test_conf_XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	return path;
}

static void test_secrets(void **state)
{
	(void)state;
	char yaml[512];
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c;

	c = load_ok("providers:\n  p:\n    kind: openai\n    base_url: http://x\n"
	            "    api_key: env:HR_T_KEY\n  q:\n    kind: openai\n    base_url: http://y\n");
	assert_string_equal(c->providers[0].api_key, "sk-from-env");
	assert_string_equal(c->providers[0].api_key_ref, "env:HR_T_KEY");
	assert_null(c->providers[1].api_key);
	assert_null(c->providers[1].api_key_ref);
	hr_conf_release(c);

	const char *files[][2] = {{"sk-file\n", "sk-file"},
	                          {"sk-file\r\n", "sk-file"},
	                          {"sk-file", "sk-file"},
	                          {"sk file x\n\n", "sk file x"}};
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char *path = write_tmp(files[i][0]);
		snprintf(yaml, sizeof yaml,
		         "providers:\n  p:\n    kind: openai\n"
		         "    base_url: http://x\n    api_key: file:%s\n",
		         path);
		c = load_ok(yaml);
		assert_string_equal(c->providers[0].api_key, files[i][1]);
		hr_conf_release(c);
		unlink(path);
	}

	char *path = write_tmp("\n");
	snprintf(yaml, sizeof yaml, "server:\n  api_keys:\n  - file:%s\n", path);
	assert_int_equal(load(yaml, &c, &err), HR_ECONF);
	assert_true(has_line(err.ptr, "t.yaml:3: server.api_keys[0]: cannot read secret file"));
	assert_non_null(strstr(err.ptr, "is empty"));
	unlink(path);

	/* server.api_keys plus HEARTH_API_KEY */
	path = write_tmp("client-key-2\n");
	snprintf(yaml, sizeof yaml, "server:\n  api_keys:\n  - env:HR_T_KEY\n  - file:%s\n", path);
	setenv("HEARTH_API_KEY", "from-hearth-env", 1);
	c = load_ok(yaml);
	assert_int_equal(c->server.n_api_keys, 3);
	assert_string_equal(c->server.api_keys[0], "sk-from-env");
	assert_string_equal(c->server.api_keys[1], "client-key-2");
	assert_string_equal(c->server.api_keys[2], "from-hearth-env");
	hr_conf_release(c);
	assert_int_equal(hr_conf_load(NULL, &c, &err), 0);
	assert_int_equal(c->server.n_api_keys, 1);
	assert_string_equal(c->server.api_keys[0], "from-hearth-env");
	hr_conf_release(c);
	unsetenv("HEARTH_API_KEY");
	unlink(path);

	/* the literal is never echoed into the message */
	assert_int_equal(load("server:\n  api_keys: [sk-SECRET]\n", &c, &err), HR_ECONF);
	assert_null(strstr(err.ptr, "SECRET"));
	hr_buf_release(&err);
}

static const struct {
	const char *url, *stored;
	const char *locality_line; /* NULL: none */
	enum hr_locality want;
} locality_cases[] = {
    {"http://127.0.0.1:11434/v1", "http://127.0.0.1:11434/v1", NULL, HR_LOCAL},
    {"http://localhost:8080/", "http://localhost:8080", NULL, HR_LOCAL},
    {"http://LOCALHOST", "http://LOCALHOST", NULL, HR_LOCAL},
    {"http://[::1]:8000/v1", "http://[::1]:8000/v1", NULL, HR_LOCAL},
    {"http://127.1.2.3/v1", "http://127.1.2.3/v1", NULL, HR_LOCAL},
    {"http://user:pw@localhost/v1", "http://user:pw@localhost/v1", NULL, HR_LOCAL},
    {"https://api.openai.com/v1///", "https://api.openai.com/v1", NULL, HR_CLOUD},
    {"http://192.168.1.5:11434/v1", "http://192.168.1.5:11434/v1", NULL, HR_CLOUD},
    {"http://localhost.evil.com/v1", "http://localhost.evil.com/v1", NULL, HR_CLOUD},
    {"http://127.0.0.1.nip.io/v1", "http://127.0.0.1.nip.io/v1", NULL, HR_CLOUD},
    {"http://[fe80::1]/v1", "http://[fe80::1]/v1", NULL, HR_CLOUD},
    {"http://localhost:8080", "http://localhost:8080", "    locality: cloud\n", HR_CLOUD},
    {"http://10.0.0.2:8080", "http://10.0.0.2:8080", "    locality: local\n", HR_LOCAL},
};

static void test_locality(void **state)
{
	(void)state;
	char yaml[512];
	for (size_t i = 0; i < sizeof locality_cases / sizeof locality_cases[0]; i++) {
		snprintf(yaml, sizeof yaml,
		         "providers:\n  p:\n    kind: openai\n"
		         "    base_url: \"%s\"\n%s",
		         locality_cases[i].url,
		         locality_cases[i].locality_line ? locality_cases[i].locality_line : "");
		struct hr_conf *c = load_ok(yaml);
		const struct hr_conf_provider *p = hr_conf_provider_find(c, "p");
		assert_non_null(p);
		assert_string_equal(p->base_url, locality_cases[i].stored);
		if (p->locality != locality_cases[i].want)
			fail_msg("%s: locality %d, want %d", locality_cases[i].url, p->locality,
			         locality_cases[i].want);
		hr_conf_release(c);
	}
}

static void test_providers_models(void **state)
{
	(void)state;
	/* models may come before providers */
	struct hr_conf *c =
	    load_ok("models:\n"
	            "  gpt-4o:\n    provider: openai\n    input_price_per_mtok: 2.5\n"
	            "    output_price_per_mtok: 10\n    context_window: 128000\n"
	            "  llama3.1:8b:\n    provider: local\n    upstream: llama3.1:8b-instruct-q4\n"
	            "providers:\n"
	            "  openai:\n    kind: openai\n    base_url: https://api.openai.com/v1\n"
	            "    connect_timeout_ms: 1000\n    first_byte_timeout_ms: 2000\n"
	            "    idle_timeout_ms: 3000\n    total_timeout_ms: 4000\n"
	            "  local: {kind: openai, base_url: 'http://127.0.0.1:11434/v1'}\n");
	assert_int_equal(c->n_providers, 2);
	assert_int_equal(c->n_models, 2);
	const struct hr_conf_provider *o = hr_conf_provider_find(c, "openai");
	const struct hr_conf_provider *l = hr_conf_provider_find(c, "local");
	assert_non_null(o);
	assert_non_null(l);
	assert_null(hr_conf_provider_find(c, "nope"));
	assert_string_equal(o->kind, "openai");
	assert_int_equal(o->connect_timeout_ms, 1000);
	assert_int_equal(o->first_byte_timeout_ms, 2000);
	assert_int_equal(o->idle_timeout_ms, 3000);
	assert_int_equal(o->total_timeout_ms, 4000);
	assert_false(o->detected);
	assert_int_equal(l->connect_timeout_ms, 5000);
	assert_int_equal(l->first_byte_timeout_ms, 120000);
	assert_int_equal(l->idle_timeout_ms, 60000);
	assert_int_equal(l->total_timeout_ms, 600000);
	assert_int_equal(l->locality, HR_LOCAL);

	/* the lookup takes a slice, not a C string */
	const char *ask = "gpt-4o\"}";
	const struct hr_conf_model *m = hr_conf_model_find(c, ask, 6);
	assert_non_null(m);
	assert_ptr_equal(m->provider, o);
	assert_string_equal(m->upstream, "gpt-4o");
	assert_true(m->input_price_per_mtok == 2.5);
	assert_true(m->output_price_per_mtok == 10.0);
	assert_int_equal(m->context_window, 128000);
	assert_null(hr_conf_model_find(c, ask, 5));
	assert_null(hr_conf_model_find(c, "gpt-4o\0xyz", 10)); /* a NUL inside is no match */
	assert_null(hr_conf_model_find(c, "gpt", 3));
	m = hr_conf_model_find(c, "llama3.1:8b", 11);
	assert_non_null(m);
	assert_ptr_equal(m->provider, l);
	assert_string_equal(m->upstream, "llama3.1:8b-instruct-q4");
	assert_int_equal(m->context_window, 0);
	assert_true(m->input_price_per_mtok == 0.0);
	hr_conf_release(c);
}

/* The example of docs/config.md's "tasks" and "rules" sections, every field checked; tasks
 * come before the models they name, and rules before the tasks. */
static void test_tasks_rules(void **state)
{
	(void)state;
	struct hr_conf *c =
	    load_ok("rules:                                 # ordered; first match wins\n"
	            "  - task: code-review\n"
	            "    model: auto\n"
	            "    contains_code: true\n"
	            "    min_tokens: 1000\n"
	            "    max_tokens: 8000\n"
	            "    language: de\n"
	            "  - {task: private, sensitive: true}\n"
	            "  - task: auto\n"
	            "    has_images: false\n"
	            "    needs_tools: no\n"
	            "    json_mode: yes\n"
	            "    min_tokens: 0\n"
	            "    max_tokens: 0\n"
	            "tasks:\n"
	            "  summarize:\n"
	            "    candidates: [llama3, gpt-4o-mini]\n"
	            "    strategy: ordered\n"
	            "    quality_target: 0.8\n"
	            "    local_only: false\n"
	            "    timeout_ms: 30000\n"
	            "    max_retries: 1\n"
	            "    fallback: true\n"
	            "  code-review:\n"
	            "    candidates:\n"
	            "      - gpt-4o\n"
	            "      - gpt-4o-mini\n"
	            "      - llama3\n"
	            "    strategy: balanced\n"
	            "    weights: [3, 1, 0.5]\n"
	            "    quality_target: 1\n"
	            "    local_only: true\n"
	            "    timeout_ms: 0\n"
	            "    max_retries: 5\n"
	            "    fallback: false\n"
	            "  private: {candidates: [llama3], strategy: cascade, max_retries: 0,\n"
	            "            checks: [truncated, json]}\n"
	            "  cheap: {candidates: [gpt-4o-mini, gpt-4o], strategy: cheapest, checks: []}\n"
	            "  smart: {candidates: [gpt-4o], strategy: learned, quality_target: 0}\n"
	            "  gpt-4o: {candidates: [gpt-4o]}\n" /* a task may share a model's name */
	            "models:\n"
	            "  gpt-4o: {provider: openai}\n"
	            "  gpt-4o-mini: {provider: openai}\n"
	            "  llama3: {provider: local, max_concurrency: 4, max_queue: 8,\n"
	            "           queue_timeout_ms: 1500}\n"
	            "  embed: {provider: local, embeddings: true}\n"
	            "providers:\n"
	            "  openai: {kind: openai, base_url: 'https://api.openai.com/v1'}\n"
	            "  local: {kind: openai, base_url: 'http://127.0.0.1:11434/v1'}\n");
	assert_int_equal(c->n_tasks, 6);
	assert_int_equal(c->n_rules, 3);

	const struct hr_conf_task *t = &c->tasks[0];
	assert_ptr_equal(hr_conf_task_find(c, "summarize", 9), t);
	assert_string_equal(t->name, "summarize");
	assert_int_equal(t->n_candidates, 2);
	assert_string_equal(t->candidates[0], "llama3");
	assert_string_equal(t->candidates[1], "gpt-4o-mini");
	assert_ptr_equal(t->candidates[0], hr_conf_model_find(c, "llama3", 6)->name);
	assert_null(t->weights);
	assert_int_equal(t->strategy, HR_STRAT_ORDERED);
	assert_true(t->quality_target == 0.8);
	assert_false(t->local_only);
	assert_int_equal(t->timeout_ms, 30000);
	assert_int_equal(t->max_retries, 1);
	assert_true(t->fallback);

	t = hr_conf_task_find(c, "code-review", 11);
	assert_ptr_equal(t, &c->tasks[1]);
	assert_int_equal(t->n_candidates, 3);
	assert_string_equal(t->candidates[0], "gpt-4o");
	assert_string_equal(t->candidates[1], "gpt-4o-mini");
	assert_string_equal(t->candidates[2], "llama3");
	assert_int_equal(t->strategy, HR_STRAT_BALANCED);
	assert_non_null(t->weights);
	assert_true(t->weights[0] == 3 && t->weights[1] == 1 && t->weights[2] == 0.5);
	assert_true(t->quality_target == 1.0);
	assert_true(t->local_only);
	assert_int_equal(t->timeout_ms, 0);
	assert_int_equal(t->max_retries, 5);
	assert_false(t->fallback);

	t = hr_conf_task_find(c, "private", 7);
	assert_int_equal(t->strategy, HR_STRAT_CASCADE);
	assert_int_equal(t->checks, HR_CHECK_TRUNCATED | HR_CHECK_JSON);
	assert_int_equal(hr_conf_task_find(c, "cheap", 5)->checks, 0);
	const struct hr_conf_model *m = hr_conf_model_find(c, "llama3", 6);
	assert_int_equal(m->max_concurrency, 4);
	assert_int_equal(m->max_queue, 8);
	assert_int_equal(m->queue_timeout_ms, 1500);
	m = hr_conf_model_find(c, "gpt-4o", 6);
	assert_int_equal(m->max_concurrency, 0);
	assert_int_equal(m->max_queue, 0);
	assert_int_equal(m->queue_timeout_ms, 30000);
	assert_int_equal(t->max_retries, 0);
	assert_null(t->weights);
	assert_int_equal(hr_conf_task_find(c, "cheap", 5)->strategy, HR_STRAT_CHEAPEST);
	assert_int_equal(hr_conf_task_find(c, "smart", 5)->strategy, HR_STRAT_LEARNED);
	t = hr_conf_task_find(c, "gpt-4o", 6);
	assert_ptr_equal(t, &c->tasks[5]);
	assert_non_null(hr_conf_model_find(c, "gpt-4o", 6));

	/* the lookup takes a slice */
	assert_ptr_equal(hr_conf_task_find(c, "cheap\"}", 5), &c->tasks[3]);
	assert_null(hr_conf_task_find(c, "chea", 4));
	assert_null(hr_conf_task_find(c, "cheap\0x", 7));
	assert_null(hr_conf_task_find(c, "auto", 4));
	assert_null(hr_conf_task_find(c, "", 0));

	const struct hr_conf_rule *r = &c->rules[0];
	assert_string_equal(r->task, "code-review");
	assert_ptr_equal(r->task, c->tasks[1].name);
	assert_string_equal(r->model, "auto");
	assert_int_equal(r->has_images, -1);
	assert_int_equal(r->needs_tools, -1);
	assert_int_equal(r->json_mode, -1);
	assert_int_equal(r->contains_code, 1);
	assert_int_equal(r->sensitive, -1);
	assert_int_equal(r->min_tokens, 1000);
	assert_int_equal(r->max_tokens, 8000);
	assert_string_equal(r->language, "de");

	r = &c->rules[1];
	assert_string_equal(r->task, "private");
	assert_null(r->model);
	assert_int_equal(r->sensitive, 1);
	assert_int_equal(r->contains_code, -1);
	assert_null(r->language);

	r = &c->rules[2];
	assert_string_equal(r->task, "auto"); /* the built-in: no task of that name */
	assert_null(r->model);
	assert_int_equal(r->has_images, 0);
	assert_int_equal(r->needs_tools, 0);
	assert_int_equal(r->json_mode, 1);
	assert_int_equal(r->contains_code, -1);
	assert_int_equal(r->sensitive, -1);
	assert_int_equal(r->min_tokens, 0);
	assert_int_equal(r->max_tokens, 0);
	assert_null(r->language);
	hr_conf_release(c);

	/* a task named auto replaces the built-in one; rules naming auto point at it */
	c = load_ok(TR_BASE "tasks:\n  auto: {candidates: [b, a]}\n"
	                    "rules:\n  - task: auto\n    language: en\n");
	assert_int_equal(c->n_tasks, 1);
	assert_ptr_equal(c->rules[0].task, hr_conf_task_find(c, "auto", 4)->name);
	assert_string_equal(c->rules[0].language, "en");
	hr_conf_release(c);

	/* candidate names are interpolated like every value */
	c = load_ok("providers:\n  p: {kind: openai, base_url: 'http://x'}\n"
	            "models:\n  alpha: {provider: p}\n"
	            "tasks:\n  s: {candidates: ['${HR_T_A}']}\n");
	assert_string_equal(c->tasks[0].candidates[0], "alpha");
	hr_conf_release(c);
}

/* What a task and a rule hold when only the required key is written. */
static void test_tasks_rules_defaults(void **state)
{
	(void)state;
	struct hr_conf *c = load_ok(TR_BASE "tasks:\n  s:\n    candidates: [b]\n"
	                                    "  w: {candidates: [a, b], strategy: balanced}\n"
	                                    "rules:\n  - task: s\n");
	assert_int_equal(c->n_tasks, 2);
	const struct hr_conf_task *t = hr_conf_task_find(c, "s", 1);
	assert_non_null(t);
	assert_int_equal(t->n_candidates, 1);
	assert_string_equal(t->candidates[0], "b");
	assert_null(t->weights);
	assert_int_equal(t->strategy, HR_STRAT_ORDERED);
	assert_true(t->quality_target == 0.0);
	assert_false(t->local_only);
	assert_int_equal(t->timeout_ms, 0);
	assert_int_equal(t->max_retries, 1);
	assert_true(t->fallback);
	assert_int_equal(t->checks,
	                 HR_CHECK_EMPTY | HR_CHECK_REFUSED | HR_CHECK_TRUNCATED | HR_CHECK_JSON);

	/* balanced without weights: all 1 */
	t = hr_conf_task_find(c, "w", 1);
	assert_int_equal(t->strategy, HR_STRAT_BALANCED);
	assert_non_null(t->weights);
	assert_true(t->weights[0] == 1.0 && t->weights[1] == 1.0);

	assert_int_equal(c->n_rules, 1);
	const struct hr_conf_rule *r = &c->rules[0];
	assert_string_equal(r->task, "s");
	assert_null(r->model);
	assert_int_equal(r->has_images, -1);
	assert_int_equal(r->needs_tools, -1);
	assert_int_equal(r->json_mode, -1);
	assert_int_equal(r->contains_code, -1);
	assert_int_equal(r->sensitive, -1);
	assert_int_equal(r->min_tokens, -1);
	assert_int_equal(r->max_tokens, -1);
	assert_null(r->language);
	hr_conf_release(c);

	/* no tasks:, an empty tasks: and rules: */
	const char *none[] = {"", "tasks:\nrules:\n", "tasks: {}\nrules: []\n"};
	for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
		c = load_ok(none[i]);
		assert_int_equal(c->n_tasks, 0);
		assert_int_equal(c->n_rules, 0);
		assert_null(hr_conf_task_find(c, "s", 1));
		hr_conf_release(c);
	}
}

/* One problem is one line: a bad strategy does not also blame the weights, a broken task does
 * not make the rules that name it unknown, a bad candidate does not upset the weight count. */
static void test_tasks_rules_one_line_each(void **state)
{
	(void)state;
	static const struct {
		const char *yaml;
		const char *line;
	} cases[] = {
	    {TR_BASE "tasks:\n  s:\n    candidates: [a, b]\n    strategy: balancd\n"
	             "    weights: [1, 2]\n",
	     "t.yaml:11: tasks.s.strategy: 'balancd' is not allowed"},
	    {TR_BASE "tasks:\n  s:\n    candidates: [a, x]\n    strategy: balanced\n"
	             "    weights: [1, 2]\n",
	     "t.yaml:10: tasks.s.candidates: unknown model 'x'"},
	    {TR_BASE "tasks:\n  s:\n    candidates: [x]\nrules:\n  - task: s\n",
	     "t.yaml:10: tasks.s.candidates: unknown model 'x'"},
	    {TR_BASE "tasks:\n  s: [a]\nrules:\n  - task: s\n", "t.yaml:9: tasks.s: expected a "
	                                                        "mapping"},
	    {TR_BASE "tasks:\n  s:\n    candidates: [a]\n    strategy: balanced\n"
	             "    weights: [1, 0]\n",
	     "t.yaml:12: tasks.s.weights: '0' is not a positive number"},
	    {TR_TASK "rules:\n  - task: s\n    min_tokens: x\n    max_tokens: 5\n",
	     "t.yaml:13: rules[0].min_tokens: 'x' is not a whole number"},
	};
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		assert_int_equal(load(cases[i].yaml, &c, &err), HR_ECONF);
		if (count_lines(err.ptr) != 1 || !has_line(err.ptr, cases[i].line))
			fail_msg("for:\n%s\nwanted one line:\n%s\ngot:\n%s", cases[i].yaml,
			         cases[i].line, err.ptr);
	}
	hr_buf_release(&err);
}

/* HR_MAX_TASK_CANDIDATES, HR_MAX_TASKS and HR_MAX_RULES. */
static void test_tasks_rules_limits(void **state)
{
	(void)state;
	struct hr_buf y = HR_BUF_INIT(1 << 22);
	struct hr_conf *c;

	/* 32 candidates load, 33 do not */
	assert_int_equal(hr_buf_addstr(&y, "providers:\n  p: {kind: openai, base_url: "
	                                   "'http://x'}\nmodels:\n"),
	                 0);
	for (int i = 0; i <= HR_MAX_TASK_CANDIDATES; i++)
		assert_int_equal(hr_buf_addf(&y, "  m%d: {provider: p}\n", i), 0);
	size_t base = y.len;
	assert_int_equal(hr_buf_addstr(&y, "tasks:\n  s:\n    candidates:\n"), 0);
	for (int i = 0; i < HR_MAX_TASK_CANDIDATES; i++)
		assert_int_equal(hr_buf_addf(&y, "      - m%d\n", i), 0);
	c = load_ok(y.ptr);
	assert_int_equal(c->tasks[0].n_candidates, HR_MAX_TASK_CANDIDATES);
	assert_string_equal(c->tasks[0].candidates[31], "m31");
	hr_conf_release(c);
	assert_int_equal(hr_buf_addf(&y, "      - m%d\n", HR_MAX_TASK_CANDIDATES), 0);
	expect_error(y.ptr, "t.yaml:40: tasks.s.candidates: 33 candidates; list 1 to 32 model "
	                    "names from models:\n");

	/* HR_MAX_TASKS tasks load; one more is reported at its line */
	y.len = base;
	assert_int_equal(hr_buf_addstr(&y, "tasks:\n"), 0);
	for (int i = 0; i < HR_MAX_TASKS; i++)
		assert_int_equal(hr_buf_addf(&y, "  t%d: {candidates: [m0]}\n", i), 0);
	assert_int_equal(hr_buf_addstr(&y, "rules:\n"), 0);
	for (int i = 0; i < HR_MAX_RULES; i++)
		assert_int_equal(hr_buf_addf(&y, "  - {task: t%d}\n", i), 0);
	c = load_ok(y.ptr);
	assert_int_equal(c->n_tasks, HR_MAX_TASKS);
	assert_int_equal(c->n_rules, HR_MAX_RULES);
	assert_string_equal(c->rules[HR_MAX_RULES - 1].task, "t1023");
	assert_ptr_equal(hr_conf_task_find(c, "t1023", 5), &c->tasks[HR_MAX_TASKS - 1]);
	hr_conf_release(c);
	/* one rule too many: line 36 (models end) + 1 + 1024 tasks + 1 + 1025 */
	assert_int_equal(hr_buf_addstr(&y, "  - {task: auto}\n"), 0);
	expect_error(y.ptr, "t.yaml:2087: rules: more than 1024 rules; remove some\n");
	y.len = base;
	assert_int_equal(hr_buf_addstr(&y, "tasks:\n"), 0);
	for (int i = 0; i <= HR_MAX_TASKS; i++)
		assert_int_equal(hr_buf_addf(&y, "  t%d: {candidates: [m0]}\n", i), 0);
	expect_error(y.ptr, "t.yaml:1062: tasks.t1024: more than 1024 tasks; remove some\n");
	hr_buf_release(&y);
}

static void test_add(void **state)
{
	(void)state;
	char id[32];
	struct hr_conf *c = load_ok("providers:\n  p: {kind: openai, base_url: 'http://x'}\n"
	                            "models:\n  m: {provider: p}\n");
	const struct hr_conf_model *m = hr_conf_model_find(c, "m", 1);

	struct hr_conf_provider np = {.id = "ollama",
	                              .kind = "openai",
	                              .base_url = "http://127.0.0.1:11434/v1/",
	                              .locality = HR_LOCAL,
	                              .detected = true,
	                              .idle_timeout_ms = 7};
	assert_int_equal(hr_conf_add_provider(c, &np), 0);
	const struct hr_conf_provider *p = hr_conf_provider_find(c, "ollama");
	assert_non_null(p);
	assert_ptr_not_equal(p->id, np.id); /* copied */
	assert_string_equal(p->base_url, "http://127.0.0.1:11434/v1");
	assert_true(p->detected);
	assert_int_equal(p->idle_timeout_ms, 7);
	assert_int_equal(p->connect_timeout_ms, 5000);             /* 0: the schema default */
	assert_int_equal(hr_conf_add_provider(c, &np), HR_EINVAL); /* duplicate */
	np.id = "bad id";
	assert_int_equal(hr_conf_add_provider(c, &np), HR_EINVAL);
	np.id = "k", np.kind = "nope";
	assert_int_equal(hr_conf_add_provider(c, &np), HR_EINVAL);
	np.kind = "openai", np.base_url = "ftp://x";
	assert_int_equal(hr_conf_add_provider(c, &np), HR_EINVAL);
	np.base_url = "http://x";
	for (size_t i = c->n_providers; i < HR_MAX_PROVIDERS; i++) {
		snprintf(id, sizeof id, "p%zu", i);
		np.id = id;
		assert_int_equal(hr_conf_add_provider(c, &np), 0);
	}
	np.id = "one-too-many";
	assert_int_equal(hr_conf_add_provider(c, &np), HR_ETOOMANY);
	/* models still point at their provider */
	assert_ptr_equal(m->provider, hr_conf_provider_find(c, "p"));
	assert_string_equal(m->provider->id, "p");

	assert_int_equal(hr_conf_add_model(c, "llama3", "ollama", NULL, 0, 0, 8192), 0);
	assert_int_equal(hr_conf_add_model(c, "llama3", "ollama", NULL, 0, 0, 0), HR_EINVAL);
	assert_int_equal(hr_conf_add_model(c, "x", "missing", NULL, 0, 0, 0), HR_EINVAL);
	assert_int_equal(hr_conf_add_model(c, "x", "ollama", NULL, -1, 0, 0), HR_EINVAL);
	assert_int_equal(hr_conf_add_model(c, "x y", "ollama", NULL, 0, 0, 0), HR_EINVAL);
	const struct hr_conf_model *lm = hr_conf_model_find(c, "llama3", 6);
	assert_non_null(lm);
	assert_string_equal(lm->upstream, "llama3");
	assert_string_equal(lm->provider->id, "ollama");
	assert_int_equal(lm->context_window, 8192);
	for (size_t i = c->n_models; i < HR_MAX_MODELS; i++) {
		snprintf(id, sizeof id, "m%zu", i);
		assert_int_equal(hr_conf_add_model(c, id, "p", "up", 1, 2, 3), 0);
	}
	assert_int_equal(hr_conf_add_model(c, "last", "p", NULL, 0, 0, 0), HR_ETOOMANY);
	assert_int_equal(c->n_models, HR_MAX_MODELS);
	m = hr_conf_model_find(c, "m", 1); /* the array moved: look it up again */
	assert_non_null(m);
	assert_string_equal(m->provider->id, "p");
	snprintf(id, sizeof id, "m%d", HR_MAX_MODELS - 1);
	assert_non_null(hr_conf_model_find(c, id, strlen(id)));
	hr_conf_release(c);
}

static void *reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < 20000; i++) {
		struct hr_conf *c = hr_conf_current();
		if (c) {
			if (c->server.port < 1)
				abort();
			hr_conf_release(c);
		}
	}
	return NULL;
}

static void test_refs_publish(void **state)
{
	(void)state;
	struct hr_conf *c = load_ok("");
	assert_ptr_equal(hr_conf_ref(c), c);
	assert_int_equal(atomic_load(&c->refs), 2);
	hr_conf_release(c);
	assert_int_equal(atomic_load(&c->refs), 1);
	hr_conf_release(NULL);
	assert_null(hr_conf_ref(NULL));

	assert_null(hr_conf_current());
	hr_conf_publish(c); /* takes our reference */
	struct hr_conf *cur = hr_conf_current();
	assert_ptr_equal(cur, c);
	assert_int_equal(atomic_load(&c->refs), 2);

	/* swap under readers; the old one lives until its last reader lets go */
	pthread_t t[4];
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, reader, NULL), 0);
	for (int i = 0; i < 200; i++)
		hr_conf_publish(load_ok(""));
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(atomic_load(&cur->refs), 1);
	assert_int_equal(cur->server.port, 8420);
	hr_conf_release(cur);
	hr_conf_publish(NULL);
	assert_null(hr_conf_current());
}

static void test_files(void **state)
{
	(void)state;
	struct hr_buf err = HR_BUF_INIT(1 << 16);
	struct hr_conf *c;

	char *path = write_tmp("# hearth\nserver:\n  port: 1234\n\n  bogus: 1\n");
	char saved[64];
	snprintf(saved, sizeof saved, "%s", path);
	assert_int_equal(hr_conf_load(saved, &c, &err), HR_ECONF);
	char want[128];
	snprintf(want, sizeof want, "%s:5: server.bogus: unknown key", saved);
	assert_true(has_line(err.ptr, want));
	unlink(saved);

	path = write_tmp("server:\n  port: 1234\n");
	snprintf(saved, sizeof saved, "%s", path);
	hr_buf_reset(&err);
	assert_int_equal(hr_conf_load(saved, &c, &err), 0);
	assert_string_equal(c->path, saved);
	assert_int_equal(c->server.port, 1234);
	hr_conf_release(c);
	unlink(saved);

	hr_buf_reset(&err);
	assert_int_equal(hr_conf_load("/nonexistent/hearth.yaml", &c, &err), HR_ECONF);
	assert_null(c);
	assert_true(has_line(err.ptr, "/nonexistent/hearth.yaml: cannot open the configuration "
	                              "file: No such file or directory"));

	/* the size cap: a file one byte over HR_MAX_CONF_BYTES */
	size_t n = HR_MAX_CONF_BYTES + 1;
	char *big = malloc(n);
	assert_non_null(big);
	memset(big, '#', n);
	hr_buf_reset(&err);
	assert_int_equal(hr_conf_load_mem("big.yaml", big, n, &c, &err), HR_ECONF);
	assert_true(has_line(err.ptr, "big.yaml:1: (file): larger than 4194304 bytes"));
	FILE *f = fopen("/tmp/hr_test_conf_big.yaml", "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(big, 1, n, f), n);
	fclose(f);
	hr_buf_reset(&err);
	assert_int_equal(hr_conf_load("/tmp/hr_test_conf_big.yaml", &c, &err), HR_ECONF);
	assert_true(has_line(err.ptr, "/tmp/hr_test_conf_big.yaml:1: (file): larger than"));
	unlink("/tmp/hr_test_conf_big.yaml");
	free(big);

	/* text need not end in NUL */
	const char text[] = "server:\n  port: 77XYZ";
	assert_int_equal(hr_conf_load_mem(NULL, text, strlen(text) - 3, &c, &err), 0);
	assert_int_equal(c->server.port, 77);
	assert_null(c->path);
	hr_conf_release(c);
	hr_buf_release(&err);
}

/* Every key a user can write, as `hearth config keys` prints it. */
static const char *const all_keys[] = {
    "server.host",
    "server.port",
    "server.workers",
    "server.api_keys",
    "server.max_body_bytes",
    "server.max_header_bytes",
    "server.client_timeout_ms",
    "server.shutdown_timeout_ms",
    "server.master_key_file",
    "log.level",
    "log.format",
    "log.requests",
    "telemetry.metrics_auth",
    "telemetry.otlp_endpoint",
    "telemetry.service_name",
    "telemetry.trace_prompts",
    "telemetry.trace_sample",
    "alerts.webhook_url",
    "alerts.webhook_secret",
    "alerts.webhook_timeout_ms",
    "storage.data_dir",
    "storage.commit_interval_ms",
    "policy.email",
    "policy.phone",
    "policy.card",
    "policy.iban",
    "policy.ssn",
    "policy.national_id",
    "policy.ip",
    "policy.street_address",
    "policy.date_of_birth",
    "policy.date",
    "policy.secret",
    "policy.person",
    "policy.keyword",
    "policy.pattern",
    "policy.on_error",
    "router.model",
    "router.reference_model",
    "policy.keywords",
    "policy.patterns",
    "limits.max_messages",
    "limits.max_tools",
    "limits.max_json_depth",
    "limits.max_stream_line_bytes",
    "limits.max_response_bytes",
    "limits.request_memory_bytes",
    "providers.<id>.kind",
    "providers.<id>.base_url",
    "providers.<id>.path",
    "providers.<id>.context",
    "providers.<id>.threads",
    "providers.<id>.parallel",
    "providers.<id>.gpu_layers",
    "providers.<id>.chat_template",
    "providers.<id>.embeddings",
    "providers.<id>.api_key",
    "providers.<id>.locality",
    "providers.<id>.connect_timeout_ms",
    "providers.<id>.first_byte_timeout_ms",
    "providers.<id>.idle_timeout_ms",
    "providers.<id>.total_timeout_ms",
    "models.<name>.provider",
    "models.<name>.upstream",
    "models.<name>.input_price_per_mtok",
    "models.<name>.output_price_per_mtok",
    "models.<name>.context_window",
    "models.<name>.max_output_tokens",
    "models.<name>.max_concurrency",
    "models.<name>.max_queue",
    "models.<name>.queue_timeout_ms",
    "models.<name>.tier",
    "models.<name>.tools",
    "models.<name>.vision",
    "models.<name>.json_mode",
    "models.<name>.embeddings",
    "tasks.<name>.candidates",
    "tasks.<name>.strategy",
    "tasks.<name>.weights",
    "tasks.<name>.quality_target",
    "tasks.<name>.checks",
    "tasks.<name>.threshold",
    "tasks.<name>.reference",
    "tasks.<name>.challenger",
    "tasks.<name>.judge",
    "tasks.<name>.shadow_sample",
    "tasks.<name>.shadow_budget_usd",
    "tasks.<name>.keep_prompts",
    "tasks.<name>.auto_promote",
    "tasks.<name>.promote_min_samples",
    "tasks.<name>.promote_margin",
    "tasks.<name>.router_model",
    "tasks.<name>.local_only",
    "tasks.<name>.timeout_ms",
    "tasks.<name>.max_retries",
    "tasks.<name>.fallback",
    "rules[].task",
    "rules[].model",
    "rules[].has_images",
    "rules[].needs_tools",
    "rules[].json_mode",
    "rules[].contains_code",
    "rules[].sensitive",
    "rules[].min_tokens",
    "rules[].max_tokens",
    "rules[].language",
    "budgets[].scope",
    "budgets[].id",
    "budgets[].period",
    "budgets[].limit_usd",
    "budgets[].downgrade_at",
    "budgets[].alert_at",
    "rate_limits[].scope",
    "rate_limits[].id",
    "rate_limits[].requests_per_minute",
    "rate_limits[].tokens_per_minute",
};

/* docs/config.md's budgets example, every field checked; and the defaults. */
static void test_budgets(void **state)
{
	(void)state;
	static const char text[] = "budgets:\n"
	                           "  - scope: team\n"
	                           "    id: team_x\n"
	                           "    period: month\n"
	                           "    limit_usd: 100\n"
	                           "    downgrade_at: 0.9\n"
	                           "    alert_at: [0.5, 0.8, 1.0]\n"
	                           "  - scope: global\n"
	                           "    period: day\n"
	                           "    limit_usd: 5\n"
	                           "rate_limits:\n"
	                           "  - scope: key\n"
	                           "    id: key_a\n"
	                           "    requests_per_minute: 60\n";
	struct hr_conf *c = NULL;
	assert_int_equal(hr_conf_load_mem("t.yaml", text, sizeof text - 1, &c, NULL), 0);
	assert_int_equal(c->n_budgets, 2);
	assert_int_equal(c->budgets[0].scope, HR_SCOPE_TEAM);
	assert_string_equal(c->budgets[0].id, "team_x");
	assert_int_equal(c->budgets[0].period, HR_PERIOD_MONTH);
	assert_true(c->budgets[0].limit_usd == 100);
	assert_true(c->budgets[0].downgrade_at == 0.9);
	assert_int_equal(c->budgets[0].n_alert_at, 3);
	assert_true(c->budgets[0].alert_at[0] == 0.5 && c->budgets[0].alert_at[2] == 1.0);
	assert_int_equal(c->budgets[1].scope, HR_SCOPE_GLOBAL);
	assert_null(c->budgets[1].id);
	assert_int_equal(c->budgets[1].period, HR_PERIOD_DAY);
	assert_true(c->budgets[1].downgrade_at == 0);
	assert_int_equal(c->budgets[1].n_alert_at, 2); /* the default [0.8, 1.0] */
	assert_true(c->budgets[1].alert_at[0] == 0.8 && c->budgets[1].alert_at[1] == 1.0);
	assert_int_equal(c->n_rate_limits, 1);
	assert_int_equal(c->rate_limits[0].scope, HR_SCOPE_KEY);
	assert_string_equal(c->rate_limits[0].id, "key_a");
	assert_int_equal(c->rate_limits[0].requests_per_minute, 60);
	assert_int_equal(c->rate_limits[0].tokens_per_minute, 0);
	hr_conf_release(c);
}

static void test_dump_keys(void **state)
{
	(void)state;
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	assert_non_null(f);
	hr_conf_dump_keys(f);
	fclose(f);
	size_t n = sizeof all_keys / sizeof all_keys[0];
	assert_int_equal(count_lines(out), n);
	for (const char *line = out; *line; line = strchr(line, '\n') + 1) {
		const char *t1 = strchr(line, '\t');
		assert_non_null(t1);
		const char *t2 = strchr(t1 + 1, '\t');
		assert_non_null(t2);
		assert_true(t2 < strchr(line, '\n'));
		assert_null(memchr(t2 + 1, '\t', (size_t)(strchr(line, '\n') - t2 - 1)));
		assert_true(strchr(line, '\n') - t2 > 10); /* a real doc line */
	}
	char want[128];
	for (size_t i = 0; i < n; i++) {
		snprintf(want, sizeof want, "%s\t", all_keys[i]);
		if (!has_line(out, want))
			fail_msg("'%s' missing from hr_conf_dump_keys()", all_keys[i]);
	}
	assert_true(has_line(out, "server.port\t8420\t"));
	assert_true(has_line(out, "limits.max_json_depth\t64\t"));
	assert_true(has_line(out, "tasks.<name>.strategy\tordered\t"));
	assert_true(has_line(out, "tasks.<name>.max_retries\t1\t"));
	assert_true(has_line(out, "rules[].min_tokens\t(none)\t"));

	/* docs/config.md names every key (when the test runs from the source tree) */
	FILE *doc = fopen("docs/config.md", "r");
	if (doc) {
		char page[65536];
		size_t got = fread(page, 1, sizeof page - 1, doc);
		page[got] = '\0';
		fclose(doc);
		for (size_t i = 0; i < n; i++) {
			snprintf(want, sizeof want, "`%s`", all_keys[i]);
			if (!strstr(page, want))
				fail_msg("docs/config.md does not name %s", want);
		}
	}
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_defaults, setup),
	    cmocka_unit_test_setup(test_errors, setup),
	    cmocka_unit_test_setup(test_error_ids_truncated, setup),
	    cmocka_unit_test_setup(test_collects_all, setup),
	    cmocka_unit_test_setup(test_values, setup),
	    cmocka_unit_test_setup(test_env_override, setup),
	    cmocka_unit_test_setup(test_interpolation, setup),
	    cmocka_unit_test_setup(test_secrets, setup),
	    cmocka_unit_test_setup(test_locality, setup),
	    cmocka_unit_test_setup(test_providers_models, setup),
	    cmocka_unit_test_setup(test_tasks_rules, setup),
	    cmocka_unit_test_setup(test_tasks_rules_defaults, setup),
	    cmocka_unit_test_setup(test_tasks_rules_one_line_each, setup),
	    cmocka_unit_test_setup(test_tasks_rules_limits, setup),
	    cmocka_unit_test_setup(test_add, setup),
	    cmocka_unit_test_setup(test_refs_publish, setup),
	    cmocka_unit_test_setup(test_files, setup),
	    cmocka_unit_test_setup(test_budgets, setup),
	    cmocka_unit_test_setup(test_dump_keys, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
