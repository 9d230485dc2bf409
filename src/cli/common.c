/* common.c - what the commands share: config discovery and loading, usage errors, and how
 * client commands reach a running server. */
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/conf.h"
#include "storage/store.h"

const char *hr_cli_config_path(const char *flag)
{
	if (flag)
		return flag;
	const char *env = getenv("HEARTH_CONFIG");
	if (env && *env)
		return env;
	if (access("hearth.yaml", F_OK) == 0)
		return "hearth.yaml";
	return NULL;
}

int hr_cli_load_conf(const char *flag, struct hr_conf **out)
{
	return hr_cli_load_conf_ex(flag, 0, out);
}

int hr_cli_load_conf_ex(const char *flag, unsigned flags, struct hr_conf **out)
{
	struct hr_buf err = HR_BUF_INIT(64 * 1024);
	const char *path = hr_cli_config_path(flag);
	int rc = hr_conf_load_ex(path, flags, out, &err);
	if (rc < 0) {
		fprintf(stderr, "hearth: the configuration is not valid:\n%s%s",
		        err.ptr ? err.ptr : "",
		        err.len && err.ptr[err.len - 1] == '\n' ? "" : "\n");
		fprintf(stderr, "hint: every setting is documented in docs/config.md\n");
		hr_buf_release(&err);
		return HR_EXIT_FAIL;
	}
	hr_buf_release(&err);
	return HR_EXIT_OK;
}

int hr_cli_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "hearth %s: %s\nhint: run `hearth %s --help`\n", cmd, msg, cmd);
	return HR_EXIT_USAGE;
}

struct curl_slist *hr_cli_client_headers(void)
{
	return hr_cli_client_headers_key(NULL);
}

struct curl_slist *hr_cli_client_headers_key(const char *key)
{
	struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
	if (!key)
		key = getenv("HEARTH_API_KEY");
	if (h && key && *key) {
		char line[1024];
		snprintf(line, sizeof line, "Authorization: Bearer %s", key);
		struct curl_slist *more = curl_slist_append(h, line);
		if (more)
			h = more;
	}
	return h;
}

int hr_cli_server_url(const char *url, const char *config, char *out, size_t cap)
{
	if (url) {
		snprintf(out, cap, "%s", url);
		return HR_EXIT_OK;
	}
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(config, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	snprintf(out, cap, "http://%s:%d", c->server.host, c->server.port);
	hr_conf_release(c);
	return HR_EXIT_OK;
}

size_t hr_cli_collect(char *p, size_t size, size_t n, void *buf)
{
	return hr_buf_add(buf, p, size * n) < 0 ? 0 : size * n;
}

int hr_cli_open_store(const char *cmd, const char *config, struct hr_store **out)
{
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf(config, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	struct hr_buf err = HR_BUF_INIT(4096);
	int rc = hr_store_open(out, c->storage.data_dir, true, &err);
	hr_conf_release(c);
	if (rc < 0)
		fprintf(stderr, "hearth %s: %s\n", cmd,
		        err.ptr ? err.ptr : "cannot open the storage");
	hr_buf_release(&err);
	return rc < 0 ? HR_EXIT_FAIL : HR_EXIT_OK;
}

int hr_cli_http(const char *method, const char *url, const char *body, const char *key,
                struct hr_buf *out, long *status, const char **why)
{
	struct curl_slist *h = hr_cli_client_headers_key(key);
	CURL *e = curl_easy_init();
	CURLcode r = CURLE_FAILED_INIT;
	*status = 0;
	if (e && h) {
		curl_easy_setopt(e, CURLOPT_URL, url);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
		if (body)
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hr_cli_collect);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
		curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
		r = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
	}
	*why = curl_easy_strerror(r);
	if (e)
		curl_easy_cleanup(e);
	curl_slist_free_all(h);
	return r == CURLE_OK ? 0 : -1;
}
