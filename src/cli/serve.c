/* serve.c - `hearth serve`: load the config (or detect providers), open the storage, start
 * the usage writer and the server, and reload on SIGHUP. */
#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "api/limits.h"
#include "api/shadow.h"
#include "router/router.h"
#include "cli/cli.h"
#include "learn/learn.h"
#include "telemetry/alerts.h"
#include "telemetry/metrics.h"
#include "telemetry/trace.h"
#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "governance/ident.h"
#include "engine/llama.h"
#include "http/server.h"
#include "storage/store.h"
#include "storage/usage.h"

static const char *conf_flag; /* the --config given, kept for reloads */

/* GET url with a short timeout; returns the parsed JSON or NULL. */
static json_t *probe(const char *url)
{
	CURL *e = curl_easy_init();
	struct hr_buf b = HR_BUF_INIT(4u * 1024 * 1024);
	json_t *j = NULL;
	long status = 0;
	if (!e)
		return NULL;
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 800L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 300L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hr_cli_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	if (curl_easy_perform(e) == CURLE_OK &&
	    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200)
		j = json_loadb(b.ptr ? b.ptr : "", b.len, 0, NULL);
	curl_easy_cleanup(e);
	hr_buf_release(&b);
	return j;
}

static void add_local(struct hr_conf *c, const char *id, const char *base, json_t *list,
                      const char *field)
{
	struct hr_conf_provider p = {
	    .id = id,
	    .kind = "openai",
	    .base_url = base,
	    .locality = HR_LOCAL,
	    .connect_timeout_ms = 2000,
	    .first_byte_timeout_ms = 300000,
	    .idle_timeout_ms = 120000,
	    .total_timeout_ms = 1800000,
	    .detected = true,
	};
	if (hr_conf_add_provider(c, &p) < 0)
		return;
	size_t i;
	json_t *m;
	int n = 0;
	json_array_foreach(list, i, m)
	{
		const char *name = json_string_value(json_object_get(m, field));
		if (name && hr_conf_add_model(c, name, id, name, 0, 0, 0) == 0)
			n++;
	}
	fprintf(stderr, "hearth: found %s at %s with %d model%s\n", id, base, n, n == 1 ? "" : "s");
}

/* The first *.gguf of dir (by name) into out; false when there is none. */
static bool first_gguf(const char *dir, char *out, size_t cap)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	char best[256] = "";
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t n = strlen(de->d_name);
		if (n > 5 && n < sizeof best && strcmp(de->d_name + n - 5, ".gguf") == 0 &&
		    (!best[0] || strcmp(de->d_name, best) < 0))
			snprintf(best, sizeof best, "%s", de->d_name);
	}
	closedir(d);
	if (best[0])
		snprintf(out, cap, "%s/%s", dir, best);
	return best[0] != '\0';
}

void hr_cli_local_model(struct hr_conf *c, bool scan_dir)
{
	char found[4096];
	const char *path = getenv("HEARTH_LOCAL_MODEL");
	const char *why = "HEARTH_LOCAL_MODEL";
	if (!path || !*path) {
		path = scan_dir && first_gguf("models", found, sizeof found) ? found : NULL;
		why = "./models/";
	}
	if (!path || hr_conf_provider_find(c, "local"))
		return;
	struct hr_conf_provider p = {
	    .id = "local",
	    .kind = "llamacpp",
	    .path = path,
	    .locality = HR_LOCAL,
	    .detected = true,
	};
	if (hr_conf_add_provider(c, &p) == 0 &&
	    hr_conf_add_model(c, "local", "local", "local", 0, 0, 0) == 0)
		fprintf(stderr, "hearth: serving %s (from %s) in process as the model 'local'\n",
		        path, why);
}

void hr_cli_detect(struct hr_conf *c)
{
	hr_cli_local_model(c, true);
	const char *key = getenv("OPENAI_API_KEY");
	if (key && *key) {
		struct hr_conf_provider p = {
		    .id = "openai",
		    .kind = "openai",
		    .base_url = "https://api.openai.com/v1",
		    .api_key = key,
		    .api_key_ref = "env:OPENAI_API_KEY",
		    .locality = HR_CLOUD,
		    .connect_timeout_ms = 5000,
		    .first_byte_timeout_ms = 120000,
		    .idle_timeout_ms = 60000,
		    .total_timeout_ms = 600000,
		    .detected = true,
		};
		/* list prices in dollars per million tokens, as published in 2026 */
		static const struct {
			const char *name;
			double in, out;
			long ctx;
		} cat[] = {
		    {"gpt-4o-mini", 0.15, 0.60, 128000},
		    {"gpt-4o", 2.50, 10.00, 128000},
		    {"gpt-4.1-mini", 0.40, 1.60, 1047576},
		    {"gpt-4.1", 2.00, 8.00, 1047576},
		};
		if (hr_conf_add_provider(c, &p) == 0) {
			for (size_t i = 0; i < sizeof cat / sizeof cat[0]; i++)
				hr_conf_add_model(c, cat[i].name, "openai", cat[i].name, cat[i].in,
				                  cat[i].out, cat[i].ctx);
			fprintf(stderr,
			        "hearth: found OPENAI_API_KEY: provider 'openai' with %zu "
			        "models\n",
			        sizeof cat / sizeof cat[0]);
		}
	}
	json_t *j = probe("http://127.0.0.1:11434/api/tags");
	if (j) {
		add_local(c, "ollama", "http://127.0.0.1:11434/v1", json_object_get(j, "models"),
		          "name");
		json_decref(j);
	}
	j = probe("http://127.0.0.1:8080/v1/models");
	if (j) {
		add_local(c, "llamacpp", "http://127.0.0.1:8080/v1", json_object_get(j, "data"),
		          "id");
		json_decref(j);
	}
	if (c->n_models == 0)
		fprintf(stderr,
		        "hearth: no provider found (no hearth.yaml, no OPENAI_API_KEY, no "
		        "Ollama on :11434, no llama.cpp server on :8080)\n"
		        "hint: write hearth.yaml (see docs/config.md) or export OPENAI_API_KEY\n");
}

static int load(struct hr_conf **out)
{
	int rc = hr_cli_load_conf(conf_flag, out);
	if (rc != HR_EXIT_OK)
		return rc;
	if (!(*out)->path)
		hr_cli_detect(*out);
	else /* a config without providers gets the GGUF of ./models too */
		hr_cli_local_model(*out, (*out)->n_providers == 0);
	return HR_EXIT_OK;
}

/* A change of configuration goes into the audit log (what was asked and what happened). */
static void audit_reload(struct hr_server *srv, const char *path, const char *outcome)
{
	struct hr_api *api = hr_server_user(srv);
	struct hr_audit_event ev = {.ts_ms = (int64_t)time(NULL) * 1000,
	                            .actor = "signal",
	                            .action = "config.reload",
	                            .object = path ? path : "(defaults)",
	                            .detail = outcome};
	if (api && api->store && api->store->ops->audit_append(api->store, &ev) < 0)
		HR_LOG_ERROR(MAIN, "the reload could not be written to the audit log");
}

static void on_reload(struct hr_server *srv)
{
	struct hr_conf *c = NULL;
	if (load(&c) != HR_EXIT_OK) {
		HR_LOG_ERROR(MAIN, "reload refused: the new configuration is not valid (details "
		                   "above); the old one keeps serving");
		audit_reload(srv, hr_cli_config_path(conf_flag), "refused: not valid");
		return;
	}
	audit_reload(srv, c->path, "applied");
	struct hr_conf *old = hr_conf_current();
	if (strcmp(old->server.host, c->server.host) != 0 || old->server.port != c->server.port ||
	    strcmp(old->storage.data_dir, c->storage.data_dir) != 0)
		HR_LOG_WARN(MAIN, "server.host, server.port and storage.data_dir change only at "
		                  "restart");
	hr_conf_release(old);
	hr_log_setup(c->log.level, c->log.format);
	hr_learn_live_load_models(((struct hr_api *)hr_server_user(srv))->learn, c);
	HR_LOG_INFO(MAIN, "configuration reloaded: %zu providers, %zu models", c->n_providers,
	            c->n_models);
	hr_llama_load(c); /* providers of kind llamacpp added by the reload */
	hr_conf_publish(c);
	hr_server_apply_limits(srv);
}

static void print_help(void)
{
	printf(
	    "usage: hearth serve [--config FILE] [--host ADDR] [--port N]\n\n"
	    "Runs the gateway. The config comes from --config, $HEARTH_CONFIG or ./hearth.yaml;\n"
	    "without one, hearth uses built-in defaults plus the providers it finds\n"
	    "(OPENAI_API_KEY, Ollama on 127.0.0.1:11434, llama.cpp server on 127.0.0.1:8080).\n\n"
	    "  -c, --config FILE  the YAML config (docs/config.md)\n"
	    "      --host ADDR    listen address (default 127.0.0.1; beyond loopback, clients\n"
	    "                     need a key: `hearth keys create`, or server.api_keys)\n"
	    "      --port N       listen port (default 8420)\n"
	    "  -h, --help         this help\n\n"
	    "The first start prints an admin API key once (or takes $HEARTH_ADMIN_KEY).\n\n"
	    "Signals: SIGHUP reloads the config (or `hearth reload`); SIGTERM finishes the\n"
	    "requests in flight, then stops.\n");
}

/* Alerts are audit events (telemetry/alerts.h): actor "hearth", the payload as detail. */
static int audit_alert(void *arg, const char *action, const char *object, const char *detail)
{
	struct hr_store *s = arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	struct hr_audit_event ev = {.ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000,
	                            .actor = "hearth",
	                            .action = action,
	                            .object = object,
	                            .detail = detail};
	return s->ops->audit_append(s, &ev);
}

static void breaker_changed(void *arg, const char *model, const char *from, const char *to)
{
	hr_alert_breaker(arg, model, from, to);
}

/* The learned router's model (router.model). A missing or broken file is not fatal: tasks
 * with strategy learned keep their listed order, and the log says so once. */
static struct hr_learn_model *load_router_model(const struct hr_conf *c)
{
	bool wanted = false;
	for (size_t i = 0; i < c->n_tasks; i++)
		wanted |= c->tasks[i].strategy == HR_STRAT_LEARNED;
	if (!wanted || !c->router.model)
		return NULL;
	struct hr_learn_model *m = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	if (hr_learn_model_load(c->router.model, &m, &err) < 0 || hr_learn_model_gain(m) < 0) {
		HR_LOG_WARN(
		    MAIN,
		    "the learned router's model '%s' cannot be used (%s): tasks with strategy "
		    "learned keep their candidates' listed order; build it with `make "
		    "router-model` or set router.model",
		    c->router.model, err.ptr ? err.ptr : "it has no strong-model output");
		hr_learn_model_free(m);
		m = NULL;
	} else {
		HR_LOG_INFO(MAIN, "learned router: model '%s' (%zu rows trained on)",
		            c->router.model, m->n_train);
	}
	hr_buf_release(&err);
	return m;
}

/* What serve set up for the API, in reverse order (NULL members are skipped). */
static void api_release(struct hr_api *api)
{
	hr_usage_writer_stop(api->writer); /* the last records settle first */
	hr_api_limits_stop(api);
	api->store->ops->close(api->store);
	hr_breakers_free(api->breakers);
	hr_gates_free(api->gates);
	hr_learn_live_free(api->learn);
}

int hr_cmd_serve(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"host", required_argument, NULL, 'H'},
	                                     {"port", required_argument, NULL, 'p'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *host = NULL, *port = NULL;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conf_flag = optarg; break;
		case 'H': host = optarg; break;
		case 'p': port = optarg; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("serve", "unknown option or missing value");
		}
	}
	if (optind < argc)
		return hr_cli_usage_error("serve", "unexpected argument");

	struct hr_conf *c = NULL;
	int rc = load(&c);
	if (rc != HR_EXIT_OK)
		return rc;
	if (host)
		c->server.host = hr_arena_strdup(c->arena, host);
	if (port) {
		char *end;
		long v = strtol(port, &end, 10);
		if (*end || v < 0 || v > 65535) {
			hr_conf_release(c);
			return hr_cli_usage_error("serve", "--port takes a number 0..65535");
		}
		c->server.port = (int)v;
	}
	hr_log_setup(c->log.level, c->log.format);
	hr_llama_load(c); /* the models of kind llamacpp: a failure is logged, not fatal */

	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_api api = {0};
	if (hr_store_open(&api.store, c->storage.data_dir, false, &err) < 0) {
		fprintf(stderr, "hearth: cannot open the storage: %s\n", err.ptr ? err.ptr : "?");
		hr_buf_release(&err);
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}
	/* the key pepper, then the first admin key when the store has none (printed once) */
	rc = hr_ident_pepper_load(c->storage.data_dir, api.pepper, &err);
	if (rc == 0)
		rc = hr_ident_bootstrap(api.store, api.pepper, getenv("HEARTH_ADMIN_KEY"), stderr,
		                        &err);
	if (rc < 0) {
		fprintf(stderr, "hearth: %s\n", err.ptr ? err.ptr : "cannot set up the API keys");
		hr_buf_release(&err);
		api.store->ops->close(api.store);
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}
	hr_buf_release(&err);
	struct hr_breaker_conf bc = {0}; /* the defaults */
	hr_metrics_init();
	api.breakers = hr_breakers_new(&bc);
	api.gates = hr_gates_new();
	struct hr_learn_model *router_model = load_router_model(c);
	api.router_model = router_model;
	api.learn = hr_learn_live_new(api.store);
	if (api.learn)
		hr_learn_live_load_models(api.learn, c);
	/* budgets seed from the usage table */
	if (!api.breakers || !api.gates || !api.learn || hr_api_limits_start(&api, c) < 0) {
		fprintf(stderr, "hearth: out of memory\n");
		api_release(&api);
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}
	if (hr_usage_writer_start(&api.writer, api.store, c->storage.commit_interval_ms) < 0) {
		fprintf(stderr, "hearth: cannot start the usage writer\n");
		api_release(&api);
		hr_conf_release(c);
		return HR_EXIT_FAIL;
	}

	if (hr_trace_exporter_start() < 0)
		HR_LOG_ERROR(MAIN, "cannot start the trace exporter: no traces");
	struct hr_alerts *alerts = NULL;
	if (hr_alerts_start(&alerts, audit_alert, api.store) < 0)
		HR_LOG_ERROR(MAIN, "cannot start the alert thread: alerts are off");
	else
		hr_breakers_on_change(api.breakers, breaker_changed, alerts);
	api.alerts = alerts;

	struct hr_server_opts so = {
	    .host = c->server.host,
	    .port = c->server.port,
	    .workers = c->server.workers,
	    .handler = hr_api_handle,
	    .on_reload = on_reload,
	    .user = &api,
	};
	char *data_dir = strdup(c->storage.data_dir);
	hr_conf_publish(c); /* from here the snapshot is shared; read it via hr_conf_current() */
	struct hr_server *srv = NULL;
	rc = hr_server_start(&so, &srv);
	if (rc < 0) {
		hr_alerts_stop(alerts);
		hr_trace_exporter_stop();
				api_release(&api);
		hr_conf_publish(NULL);
		free(data_dir);
		return HR_EXIT_FAIL;
	}
	char pidfile[4096];
	snprintf(pidfile, sizeof pidfile, "%s/hearth.pid", data_dir);
	FILE *pf = fopen(pidfile, "w");
	if (pf) {
		fprintf(pf, "%ld\n", (long)getpid());
		fclose(pf);
	}
	c = hr_conf_current();
	hr_learn_live_listen(api.learn, c->server.host, hr_server_port(srv));
	bool loopback = strcmp(c->server.host, "127.0.0.1") == 0 ||
	                strcmp(c->server.host, "::1") == 0 ||
	                strcmp(c->server.host, "localhost") == 0;
	fprintf(stderr,
	        "hearth %s listening on http://%s%s%s:%d (%s); data in %s; %zu models from %s\n",
	        HR_VERSION, strchr(c->server.host, ':') ? "[" : "", c->server.host,
	        strchr(c->server.host, ':') ? "]" : "", hr_server_port(srv),
	        c->server.n_api_keys ? "API key required" : "API key required beyond loopback",
	        data_dir, c->n_models, c->path ? c->path : "detection");
	if (!loopback && c->server.n_api_keys == 0)
		HR_LOG_WARN(MAIN,
		            "listening on '%s' without a static API key: clients beyond loopback "
		            "need a virtual key (hearth keys create), loopback ones need none",
		            c->server.host);
	hr_conf_release(c);

	rc = hr_server_run(srv);
	hr_server_free(srv);
	hr_llama_shutdown();
	hr_alerts_stop(alerts);
	hr_trace_exporter_stop();
		api_release(&api);
	hr_learn_model_free(router_model);
	sodium_memzero(api.pepper, sizeof api.pepper);
	unlink(pidfile);
	free(data_dir);
	hr_conf_publish(NULL);
	HR_LOG_INFO(MAIN, "stopped");
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}
