/* chat.c - `hearth chat "question"`: asks a running hearth over its OpenAI API and streams
 * the answer to the terminal as it arrives. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "http/sse.h"

struct chat_cli {
	struct hr_sse sse;
	struct hr_buf raw; /* a non-stream or error body */
	long status;
	int printed;
	int failed;
	CURL *e;
};

static int on_event(void *arg, const char *ev, size_t evn, const char *data, size_t n)
{
	(void)ev, (void)evn;
	struct chat_cli *cc = arg;
	if (n == 6 && memcmp(data, "[DONE]", 6) == 0)
		return 0;
	json_t *j = json_loadb(data, n, 0, NULL);
	if (!j)
		return 0;
	json_t *err = json_object_get(j, "error");
	if (err) {
		fprintf(stderr, "%shearth chat: the answer broke off: %s\n",
		        cc->printed ? "\n" : "",
		        json_string_value(json_object_get(err, "message")));
		cc->failed = 1;
	}
	json_t *choice = json_array_get(json_object_get(j, "choices"), 0);
	const char *s =
	    json_string_value(json_object_get(json_object_get(choice, "delta"), "content"));
	if (s && *s) {
		fputs(s, stdout);
		fflush(stdout);
		cc->printed = 1;
	}
	json_decref(j);
	return 0;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct chat_cli *cc = arg;
	size_t len = size * n;
	if (!cc->status)
		curl_easy_getinfo(cc->e, CURLINFO_RESPONSE_CODE, &cc->status);
	if (cc->status != 200)
		return hr_buf_add(&cc->raw, p, len) < 0 ? 0 : len;
	return hr_sse_feed(&cc->sse, p, len) < 0 ? 0 : len;
}

static void print_help(void)
{
	printf("usage: hearth chat [--model NAME] [--url URL] [--system TEXT] \"question\"\n\n"
	       "Asks a running hearth and streams the answer to standard output.\n\n"
	       "  -m, --model NAME   the model (default: the first one the server lists)\n"
	       "      --url URL      the server (default: http://<server.host>:<server.port>)\n"
	       "  -s, --system TEXT  a system message\n"
	       "  -c, --config FILE  read server.host/port from this config\n"
	       "  -h, --help         this help\n\n"
	       "HEARTH_API_KEY, when set, is sent as the bearer key.\n");
}

/* The first model the server lists, or NULL. Returns: malloc'd. */
static char *first_model(const char *url)
{
	char u[2048];
	struct hr_buf b = HR_BUF_INIT(8u * 1024 * 1024);
	snprintf(u, sizeof u, "%s/v1/models", url);
	CURL *e = curl_easy_init();
	struct curl_slist *h = hr_cli_client_headers();
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hr_cli_collect);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L);
	char *name = NULL;
	if (curl_easy_perform(e) == CURLE_OK) {
		json_t *j = json_loadb(b.ptr ? b.ptr : "", b.len, 0, NULL);
		const char *s = json_string_value(
		    json_object_get(json_array_get(json_object_get(j, "data"), 0), "id"));
		if (s)
			name = strdup(s);
		json_decref(j);
	}
	curl_easy_cleanup(e);
	curl_slist_free_all(h);
	hr_buf_release(&b);
	return name;
}

int hr_cmd_chat(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"model", required_argument, NULL, 'm'},  {"url", required_argument, NULL, 'u'},
	    {"system", required_argument, NULL, 's'}, {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0}};
	const char *model = NULL, *url = NULL, *system = NULL, *cfg = NULL;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "m:s:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'm': model = optarg; break;
		case 'u': url = optarg; break;
		case 's': system = optarg; break;
		case 'c': cfg = optarg; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("chat", "unknown option or missing value");
		}
	}
	if (optind != argc - 1)
		return hr_cli_usage_error("chat", "give the question as one argument, in quotes");
	const char *question = argv[optind];

	char urlbuf[1024];
	if (hr_cli_server_url(url, cfg, urlbuf, sizeof urlbuf) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	url = urlbuf;
	char *model_owned = NULL;
	if (!model) {
		model = model_owned = first_model(url);
		if (!model) {
			fprintf(stderr,
			        "hearth chat: no model to ask at %s\nhint: is `hearth serve` "
			        "running, with models configured? or pass --model\n",
			        url);
			return HR_EXIT_FAIL;
		}
	}

	json_t *msgs = json_array();
	if (system)
		json_array_append_new(msgs,
		                      json_pack("{s:s, s:s}", "role", "system", "content", system));
	json_array_append_new(msgs, json_pack("{s:s, s:s}", "role", "user", "content", question));
	json_t *req = json_pack("{s:s, s:o, s:b}", "model", model, "messages", msgs, "stream", 1);
	char *body = json_dumps(req, JSON_COMPACT);
	json_decref(req);

	struct chat_cli cc = {0};
	hr_sse_init(&cc.sse, 4u * 1024 * 1024, on_event, &cc);
	hr_buf_init(&cc.raw, 1024 * 1024);
	char u[2048];
	snprintf(u, sizeof u, "%s/v1/chat/completions", url);
	struct curl_slist *h = hr_cli_client_headers();
	cc.e = curl_easy_init();
	curl_easy_setopt(cc.e, CURLOPT_URL, u);
	curl_easy_setopt(cc.e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(cc.e, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(cc.e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(cc.e, CURLOPT_WRITEDATA, &cc);
	CURLcode r = curl_easy_perform(cc.e);
	int rc = HR_EXIT_OK;
	if (r != CURLE_OK && !cc.status) {
		fprintf(stderr,
		        "hearth chat: cannot reach hearth at %s: %s\nhint: start it with "
		        "`hearth serve` (or `make run`)\n",
		        url, curl_easy_strerror(r));
		rc = HR_EXIT_FAIL;
	} else if (cc.status != 200) {
		json_t *j = json_loadb(cc.raw.ptr ? cc.raw.ptr : "", cc.raw.len, 0, NULL);
		const char *m =
		    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		fprintf(stderr, "hearth chat: HTTP %ld: %s\n", cc.status, m ? m : "(no message)");
		json_decref(j);
		rc = HR_EXIT_FAIL;
	} else {
		if (cc.printed)
			putchar('\n');
		if (cc.failed || r != CURLE_OK)
			rc = HR_EXIT_FAIL;
	}
	curl_easy_cleanup(cc.e);
	curl_slist_free_all(h);
	free(body);
	free(model_owned);
	hr_sse_release(&cc.sse);
	hr_buf_release(&cc.raw);
	return rc;
}
