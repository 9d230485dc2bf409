/* doctor.c - `hearth doctor`: is the config valid, the storage writable, every provider
 * reachable? One line per check, a hint under each failure; exit 1 if any failed. */
#include <curl/curl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/secrets.h"
#include "engine/llama.h"
#include "providers/provider.h"
#include "storage/store.h"

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

/* A model run in process: loads it once, as `hearth serve` would. Returns 1 when it loads. */
static int check_in_process(const struct hr_conf_provider *p)
{
	char msg[2048];
	int ok = hr_llama_try(p, msg, sizeof msg) == 0;
	printf("%-5s provider  '%s' (in process) %s\n", ok ? "ok" : "FAIL", p->id, msg);
	if (!ok)
		printf("      hint: check providers.%s.path; docs/local-models.md\n", p->id);
	return ok;
}

/* Returns 1 when p answers its listing endpoint with 2xx. */
static int check_provider(const struct hr_conf_provider *p)
{
	if (strcmp(p->kind, "llamacpp") == 0)
		return check_in_process(p);
	const struct hr_provider_ops *ops = hr_provider_find(p->kind);
	char url[2048];
	snprintf(url, sizeof url, "%s%s", p->base_url,
	         ops && ops->models_path ? ops->models_path : "");
	CURL *e = curl_easy_init();
	struct curl_slist *h = NULL;
	struct hr_arena *a = hr_arena_create(64 * 1024);
	const char *headers[8] = {NULL};
	if (a && hr_provider_list_headers(a, p, headers) == 0)
		for (size_t i = 0; headers[i]; i++)
			h = curl_slist_append(h, headers[i]);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, p->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, p->connect_timeout_ms + 5000L);
	CURLcode r = curl_easy_perform(e);
	long status = 0;
	double secs = 0;
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME, &secs);
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	hr_arena_destroy(a);
	int ok = r == CURLE_OK && status >= 200 && status < 300;
	printf("%-5s provider  '%s' %s", ok ? "ok" : "FAIL", p->id, p->base_url);
	if (r != CURLE_OK) {
		printf(": %s\n      hint: is it running? check providers.%s.base_url\n",
		       curl_easy_strerror(r), p->id);
	} else if (status == 401 || status == 403) {
		printf(": HTTP %ld, the key was refused\n      hint: check providers.%s.api_key "
		       "(%s)\n",
		       status, p->id, p->api_key_ref ? p->api_key_ref : "none set");
	} else if (!ok) {
		printf(": HTTP %ld from %s\n      hint: check providers.%s.base_url (it usually "
		       "ends in /v1)\n",
		       status, url, p->id);
	} else {
		printf(" (HTTP %ld, %.0f ms)\n", status, secs * 1000);
	}
	return ok;
}

/* The secret store: every stored secret opens with the master key. Returns 1 when ok. */
static int check_secrets(const struct hr_conf *c)
{
	struct hr_secrets st;
	char why[512];
	if (hr_secrets_load(c->storage.data_dir, &st, why, sizeof why) < 0) {
		printf("FAIL  secrets   %s\n", why);
		return 0;
	}
	if (!st.n) {
		hr_secrets_free(&st);
		return 1; /* nothing stored: nothing to say */
	}
	unsigned char key[HR_SECRET_KEY_BYTES];
	const char *src = NULL;
	int krc = hr_secrets_master_key(c->server.master_key_file, key, &src, why, sizeof why);
	size_t bad = 0;
	const char *first = NULL;
	for (size_t i = 0; i < st.n && krc == 0; i++) {
		char *v = NULL;
		size_t n = 0;
		if (hr_secrets_open(&st.v[i], key, &v, &n) < 0 && !bad++)
			first = st.v[i].name;
		hr_secret_wipe_free(v, n);
	}
	sodium_memzero(key, sizeof key);
	int ok = krc == 0 && !bad;
	if (krc == 1)
		printf("FAIL  secrets   %zu stored in %s, and no master key\n      hint: set "
		       "HEARTH_MASTER_KEY or server.master_key_file to the key they were stored "
		       "with\n",
		       st.n, st.path);
	else if (krc < 0)
		printf("FAIL  secrets   %s\n", why);
	else if (bad)
		printf(
		    "FAIL  secrets   %zu of %zu in %s do not open with the master key from %s "
		    "(first: '%s')\n      hint: set the key they were stored with, or store them "
		    "again with `hearth secrets set NAME`\n",
		    bad, st.n, st.path, src, first);
	else
		printf("ok    secrets   %zu in %s (master key from %s)\n", st.n, st.path, src);
	hr_secrets_free(&st);
	return ok;
}

int hr_cmd_doctor(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'h':
			printf("usage: hearth doctor [--config FILE]\n\nChecks that the config is "
			       "valid, the storage writable and every provider reachable.\nExit "
			       "status 0 when all pass, 1 otherwise.\n");
			return HR_EXIT_OK;
		default: return hr_cli_usage_error("doctor", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("doctor", "unexpected argument");
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(cfg, &c) != HR_EXIT_OK) {
		printf("FAIL  config    not valid (details above)\n");
		return HR_EXIT_FAIL;
	}
	if (!c->path)
		hr_cli_detect(c);
	int fails = 0;
	printf("ok    config    %s (%zu providers, %zu models)\n",
	       c->path ? c->path : "built-in defaults + detection", c->n_providers, c->n_models);
	struct hr_store *s = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	if (hr_store_open(&s, c->storage.data_dir, false, &err) < 0) {
		printf("FAIL  storage   %s\n", err.ptr ? err.ptr : c->storage.data_dir);
		fails++;
	} else {
		printf("ok    storage   %s/hearth.db (schema %d)\n", c->storage.data_dir,
		       s->ops->schema_version(s));
		s->ops->close(s);
	}
	hr_buf_release(&err);
	fails += !check_secrets(c);
	for (size_t i = 0; i < c->n_providers; i++)
		fails += !check_provider(&c->providers[i]);
	if (c->n_models == 0) {
		printf("FAIL  models    none configured\n      hint: add models to hearth.yaml "
		       "(docs/config.md)\n");
		fails++;
	}
	hr_conf_release(c);
	return fails ? HR_EXIT_FAIL : HR_EXIT_OK;
}
