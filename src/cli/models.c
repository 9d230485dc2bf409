/* models.c - `hearth models`: the configured models with their provider, locality,
 * capabilities and prices; `hearth models import PROVIDER`: a provider's own model listing
 * (Ollama's /api/tags, an OpenAI-compatible /models, ...) printed as a `models:` block ready
 * to paste into hearth.yaml. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "providers/provider.h"

static void usage_text(void)
{
	printf("usage: hearth models [--config FILE] [--json]\n"
	       "       hearth models import PROVIDER [--config FILE]\n\n"
	       "Lists the configured models: provider, kind, locality, capabilities and prices.\n"
	       "`import` asks the provider (a key under providers:) for its own model list and\n"
	       "prints a models: block for hearth.yaml (prices 0: fill them in).\n");
}

static const char *caps(const struct hr_conf_model *m, char *b, size_t n)
{
	if (m->embeddings) {
		snprintf(b, n, "embeddings");
		return b;
	}
	snprintf(b, n, "chat%s%s%s", m->tools ? ",tools" : "", m->vision ? ",vision" : "",
	         m->json_mode ? ",json" : "");
	return b;
}

static int list(const struct hr_conf *c, bool json)
{
	if (json) {
		json_t *a = json_array();
		for (size_t i = 0; i < c->n_models; i++) {
			const struct hr_conf_model *m = &c->models[i];
			char cb[64];
			json_array_append_new(
			    a, json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:f, s:f, s:I}", "name",
			                 m->name, "provider", m->provider->id, "kind",
			                 m->provider->kind, "upstream",
			                 m->upstream ? m->upstream : m->name, "locality",
			                 m->provider->locality == HR_LOCAL ? "local" : "cloud",
			                 "capabilities", caps(m, cb, sizeof cb),
			                 "input_price_per_mtok", m->input_price_per_mtok,
			                 "output_price_per_mtok", m->output_price_per_mtok,
			                 "context_window", (json_int_t)m->context_window));
		}
		json_dumpf(a, stdout, JSON_INDENT(2));
		printf("\n");
		json_decref(a);
		return HR_EXIT_OK;
	}
	if (c->n_models == 0) {
		printf("no models configured\nhint: add models to hearth.yaml (docs/config.md), or "
		       "`hearth models import <provider>`\n");
		return HR_EXIT_OK;
	}
	printf("%-24s %-14s %-10s %-6s %-26s %10s %10s\n", "MODEL", "PROVIDER", "KIND", "WHERE",
	       "CAPABILITIES", "IN $/MTOK", "OUT $/MTOK");
	for (size_t i = 0; i < c->n_models; i++) {
		const struct hr_conf_model *m = &c->models[i];
		char cb[64];
		printf("%-24s %-14s %-10s %-6s %-26s %10.4f %10.4f\n", m->name, m->provider->id,
		       m->provider->kind, m->provider->locality == HR_LOCAL ? "local" : "cloud",
		       caps(m, cb, sizeof cb), m->input_price_per_mtok, m->output_price_per_mtok);
	}
	return HR_EXIT_OK;
}

/* YAML needs quotes for names such as "llama3.2:latest" (the colon). */
static void yaml_key(const char *s)
{
	printf("  \"");
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			putchar('\\');
		putchar(*s);
	}
	printf("\":");
}

static int import(const struct hr_conf *c, const char *id)
{
	const struct hr_conf_provider *p = hr_conf_provider_find(c, id);
	if (!p) {
		fprintf(stderr,
		        "hearth models import: no provider '%s' in the config\nhint: the "
		        "providers are the keys under providers: (see `hearth doctor`)\n",
		        id);
		return HR_EXIT_FAIL;
	}
	const struct hr_provider_ops *ops = hr_provider_find(p->kind);
	if (!ops || !ops->models_path || !ops->decode_models) {
		fprintf(stderr,
		        "hearth models import: providers of kind %s have no model listing\n",
		        p->kind);
		return HR_EXIT_FAIL;
	}
	char url[2048];
	snprintf(url, sizeof url, "%s%s", p->base_url, ops->models_path);
	const char *headers[8];
	struct hr_arena *a = hr_arena_create(64u * 1024 * 1024);
	struct hr_buf body = HR_BUF_INIT(32u * 1024 * 1024);
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	int rc = HR_EXIT_FAIL;
	if (!a || !e || hr_provider_list_headers(a, p, headers) < 0)
		goto out;
	for (size_t i = 0; headers[i]; i++)
		h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hr_cli_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->connect_timeout_ms + 30000L);
	CURLcode r = curl_easy_perform(e);
	long status = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	if (r != CURLE_OK || status < 200 || status > 299) {
		fprintf(stderr,
		        "hearth models import: %s: %s\nhint: `hearth doctor` checks the "
		        "provider\n",
		        url, r != CURLE_OK ? curl_easy_strerror(r) : "not a 2xx answer");
		goto out;
	}
	struct hr_str *ids = NULL;
	size_t n = 0;
	const char *msg = NULL;
	if (ops->decode_models(a, body.ptr ? body.ptr : "", body.len, &ids, &n, &msg) < 0) {
		fprintf(stderr, "hearth models import: %s: %s\n", url, msg ? msg : "bad listing");
		goto out;
	}
	printf("# %zu models listed by provider '%s' (%s); paste under models: in hearth.yaml\n", n,
	       p->id, url);
	printf("models:\n");
	for (size_t i = 0; i < n; i++) {
		char *name = hr_arena_strndup(a, ids[i].ptr, ids[i].len);
		if (!name)
			goto out;
		yaml_key(name);
		printf(" {provider: %s, input_price_per_mtok: 0, output_price_per_mtok: 0}\n",
		       p->id);
	}
	rc = HR_EXIT_OK;
out:
	curl_slist_free_all(h);
	if (e)
		curl_easy_cleanup(e);
	hr_buf_release(&body);
	hr_arena_destroy(a);
	return rc;
}

int hr_cmd_models(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	bool json = false;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'j': json = true; break;
		case 'h': usage_text(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("models", "unknown option or missing value");
		}
	}
	const char *verb = optind < argc ? argv[optind++] : NULL;
	const char *arg = optind < argc ? argv[optind++] : NULL;
	if (optind < argc || (verb && strcmp(verb, "import") != 0) || (verb && !arg))
		return hr_cli_usage_error("models", verb && !arg && strcmp(verb, "import") == 0
		                                        ? "import needs a provider id"
		                                        : "unexpected argument");
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	if (!c->path)
		hr_cli_detect(c);
	int rc = verb ? import(c, arg) : list(c, json);
	hr_conf_release(c);
	return rc;
}
