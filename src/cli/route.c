/* route.c - `hearth route explain`: asks a running hearth how it would route a prompt
 * (POST /api/v1/route/explain) and prints the plan, without calling any model; `hearth route
 * why <request-id>`: how a past request was routed, from its usage record. */
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
#include "storage/store.h"

#define PROMPT_MAX (16u * 1024 * 1024)

static void print_help(void)
{
	printf("usage: hearth route explain [options] \"prompt\" | -\n\n"
	       "Shows how a running hearth would route a chat request with this prompt, right\n"
	       "now (health and load included), without calling any model: the task and how it\n"
	       "was chosen, the strategy, the candidates in the order they would be tried, the\n"
	       "models left out and why, and the X-Hearth-Route line the answer would carry.\n\n"
	       "  -t, --task NAME     ask for the task NAME (model \"task:NAME\")\n"
	       "  -m, --model NAME    ask for this model name (default: \"auto\")\n"
	       "      --sensitive     mark the request sensitive (X-Hearth-Sensitive: 1)\n"
	       "      --json          print the server's JSON answer as it is\n"
	       "      --url URL       the server (default: http://<server.host>:<server.port>)\n"
	       "  -c, --config FILE   read server.host/port from this config\n"
	       "  -h, --help          this help\n\n"
	       "The prompt is one argument, or - to read it from standard input.\n"
	       "HEARTH_API_KEY, when set, is sent as the bearer key.\n\n"
	       "Exit status: 0 a model would take the request; 1 none would (the reasons are\n"
	       "printed), or the server could not be asked; 2 usage error.\n");
}

static int read_stdin(struct hr_buf *b)
{
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
		if (hr_buf_add(b, chunk, n) < 0)
			return -1;
	return ferror(stdin) ? -1 : 0;
}

static const char *str(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static void print_plan(json_t *j)
{
	json_t *rule = json_object_get(j, "rule");
	printf("task       %s (via %s", str(j, "task"), str(j, "via"));
	if (json_is_integer(rule))
		printf(" %lld", (long long)json_integer_value(rule));
	printf(")\nstrategy   %s%s\n", str(j, "strategy"),
	       json_is_true(json_object_get(j, "local_only")) ? ", local only" : "");
	json_t *f = json_object_get(j, "features");
	printf("request    ~%lld tokens%s%s%s%s%s%s%s\n",
	       (long long)json_integer_value(json_object_get(f, "est_tokens")),
	       json_is_true(json_object_get(f, "contains_code")) ? ", code" : "",
	       json_is_true(json_object_get(f, "has_images")) ? ", images" : "",
	       json_is_true(json_object_get(f, "needs_tools")) ? ", tools" : "",
	       json_is_true(json_object_get(f, "json_mode")) ? ", JSON" : "",
	       json_is_true(json_object_get(f, "sensitive")) ? ", sensitive" : "",
	       *str(f, "language") ? ", language " : "", str(f, "language"));
	json_t *cands = json_object_get(j, "candidates");
	size_t i;
	json_t *c;
	if (json_array_size(cands)) {
		printf("\n  #  %-24s %-14s %-6s %-9s %-9s %s\n", "candidate", "provider", "where",
		       "breaker", "load", "$/Mtok in/out");
		json_array_foreach(cands, i, c)
		{
			char load[32];
			long long maxc = json_integer_value(json_object_get(c, "max_concurrency"));
			if (maxc > 0)
				snprintf(
				    load, sizeof load, "%lld/%lld",
				    (long long)json_integer_value(json_object_get(c, "inflight")),
				    maxc);
			else
				snprintf(
				    load, sizeof load, "%lld",
				    (long long)json_integer_value(json_object_get(c, "inflight")));
			printf("  %zu  %-24s %-14s %-6s %-9s %-9s %g/%g\n", i + 1, str(c, "model"),
			       str(c, "provider"), str(c, "locality"), str(c, "breaker"), load,
			       json_real_value(json_object_get(c, "input_price_per_mtok")),
			       json_real_value(json_object_get(c, "output_price_per_mtok")));
		}
	}
	json_t *skips = json_object_get(j, "skipped");
	if (json_array_size(skips)) {
		printf("\n  left out\n");
		json_array_foreach(skips, i, c)
		    printf("     %-24s %s\n", str(c, "model"), str(c, "reason"));
	}
	json_t *err = json_object_get(j, "error");
	if (err)
		printf("\nno model would take it: HTTP %lld %s: %s\n",
		       (long long)json_integer_value(json_object_get(err, "status")),
		       str(err, "code"), str(err, "message"));
	printf("\nX-Hearth-Route: %s\n", str(j, "route"));
}

static int explain(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"task", required_argument, NULL, 't'}, {"model", required_argument, NULL, 'm'},
	    {"sensitive", no_argument, NULL, 's'},  {"json", no_argument, NULL, 'j'},
	    {"url", required_argument, NULL, 'u'},  {"config", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},       {NULL, 0, NULL, 0}};
	const char *task = NULL, *model = NULL, *url = NULL, *cfg = NULL;
	int sensitive = 0, as_json = 0, o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "t:m:c:h", opts, NULL)) != -1) {
		switch (o) {
		case 't': task = optarg; break;
		case 'm': model = optarg; break;
		case 's': sensitive = 1; break;
		case 'j': as_json = 1; break;
		case 'u': url = optarg; break;
		case 'c': cfg = optarg; break;
		case 'h': print_help(); return HR_EXIT_OK;
		default:
			return hr_cli_usage_error("route explain",
			                          "unknown option or missing value");
		}
	}
	if (task && model)
		return hr_cli_usage_error("route explain", "give --task or --model, not both");
	if (optind != argc - 1)
		return hr_cli_usage_error("route explain",
		                          "give the prompt as one argument, in quotes (or -)");
	struct hr_buf prompt = HR_BUF_INIT(PROMPT_MAX);
	const char *text = argv[optind];
	if (strcmp(text, "-") == 0) {
		if (read_stdin(&prompt) < 0 || hr_buf_addch(&prompt, '\0') < 0) {
			fprintf(stderr,
			        "hearth route explain: cannot read the prompt from standard "
			        "input (at most 16 MiB)\n");
			hr_buf_release(&prompt);
			return HR_EXIT_FAIL;
		}
		text = prompt.ptr;
	}
	char base[1024], u[1100];
	if (hr_cli_server_url(url, cfg, base, sizeof base) != HR_EXIT_OK) {
		hr_buf_release(&prompt);
		return HR_EXIT_FAIL;
	}
	snprintf(u, sizeof u, "%s/api/v1/route/explain", base);

	char *asked = NULL;
	if (task && asprintf(&asked, "task:%s", task) < 0)
		asked = NULL;
	json_t *req = json_pack("{s:s, s:[{s:s, s:s}]}", "model",
	                        asked   ? asked
	                        : model ? model
	                                : "auto",
	                        "messages", "role", "user", "content", text);
	char *body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	free(asked);
	hr_buf_release(&prompt);
	if (!body) {
		fprintf(stderr,
		        "hearth route explain: out of memory (or the prompt is not UTF-8)\n");
		return HR_EXIT_FAIL;
	}

	struct curl_slist *h = hr_cli_client_headers();
	if (sensitive && h)
		h = curl_slist_append(h, "X-Hearth-Sensitive: 1");
	struct hr_buf out = HR_BUF_INIT(64u * 1024 * 1024);
	CURL *e = curl_easy_init();
	long status = 0;
	CURLcode r = CURLE_FAILED_INIT;
	if (e && h) {
		curl_easy_setopt(e, CURLOPT_URL, u);
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, hr_cli_collect);
		curl_easy_setopt(e, CURLOPT_WRITEDATA, &out);
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 30000L);
		r = curl_easy_perform(e);
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &status);
	}
	int rc = HR_EXIT_FAIL;
	json_t *j = r == CURLE_OK ? json_loadb(out.ptr ? out.ptr : "", out.len, 0, NULL) : NULL;
	if (r != CURLE_OK) {
		fprintf(stderr,
		        "hearth route explain: cannot reach hearth at %s: %s\nhint: start it with "
		        "`hearth serve` (or `make run`)\n",
		        base, curl_easy_strerror(r));
	} else if (status != 200) {
		const char *m =
		    json_string_value(json_object_get(json_object_get(j, "error"), "message"));
		fprintf(stderr, "hearth route explain: HTTP %ld: %s\n", status,
		        m ? m : "(no message)");
	} else if (!j) {
		fprintf(stderr, "hearth route explain: the server's answer is not JSON\n");
	} else {
		if (as_json)
			fwrite(out.ptr, 1, out.len, stdout);
		else
			print_plan(j);
		rc = json_object_get(j, "error") ? HR_EXIT_FAIL : HR_EXIT_OK;
	}
	json_decref(j);
	if (e)
		curl_easy_cleanup(e);
	curl_slist_free_all(h);
	hr_buf_release(&out);
	free(body);
	return rc;
}

static void print_why_help(void)
{
	printf("usage: hearth route why [--config FILE] [--json] REQUEST_ID\n\n"
	       "How a past request was routed, from its usage record (the X-Request-Id of the\n"
	       "answer): the task, the route (strategy, model, candidates skipped and failed),\n"
	       "the provider calls made, what the data policy found, and the outcome. Reads the\n"
	       "storage read-only, so it works while the server runs.\n\n"
	       "Exit status: 0 found; 1 no such request (or no storage); 2 usage error.\n");
}

static int why(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	int as_json = 0, o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'j': as_json = 1; break;
		case 'h': print_why_help(); return HR_EXIT_OK;
		default: return hr_cli_usage_error("route why", "unknown option or missing value");
		}
	}
	if (optind != argc - 1)
		return hr_cli_usage_error("route why", "give one request id (X-Request-Id)");
	const char *id = argv[optind];
	struct hr_store *s = NULL;
	if (hr_cli_open_store("route why", cfg, &s) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	int rc;
	struct hr_usage *u = NULL;
	rc = s->ops->usage_get(s, id, &u);
	s->ops->close(s);
	if (rc == HR_ENOTFOUND) {
		fprintf(
		    stderr,
		    "hearth route why: no request '%s' in the usage records\nhint: the id is the "
		    "answer's X-Request-Id header (req_...)\n",
		    id);
		return HR_EXIT_FAIL;
	}
	if (rc < 0) {
		fprintf(stderr, "hearth route why: cannot read the usage records: %s\n",
		        hr_err_msg(rc));
		return HR_EXIT_FAIL;
	}
	if (as_json) {
		json_t *j = json_pack(
		    "{s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:s?, s:i, s:i, s:s?, "
		    "s:f, s:I, s:I, s:I}",
		    "request_id", u->request_id, "ts_ms", (json_int_t)u->ts_ms, "model_asked",
		    u->model_asked, "model_used", u->model_used, "provider", u->provider, "task",
		    u->task, "route", u->route, "policy", u->policy, "attempts", u->attempts,
		    "status", u->status, "error_code", u->error_code, "cost_usd", u->cost_usd,
		    "prompt_tokens", (json_int_t)u->prompt_tokens, "completion_tokens",
		    (json_int_t)u->completion_tokens, "latency_ms", (json_int_t)u->latency_ms);
		char *out = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (out)
			puts(out);
		free(out);
		json_decref(j);
	} else {
		printf("request    %s (%s)\n", u->request_id, u->endpoint ? u->endpoint : "-");
		printf("asked      %s\n", u->model_asked ? u->model_asked : "-");
		printf("task       %s\n", u->task ? u->task : "- (a plain model)");
		printf("route      %s\n", u->route ? u->route : "-");
		printf("answered   %s%s%s%s\n", u->model_used ? u->model_used : "none",
		       u->provider ? " (provider " : "", u->provider ? u->provider : "",
		       u->provider ? ")" : "");
		printf("calls      %d\n", u->attempts);
		if (u->policy)
			printf("policy     %s\n", u->policy);
		printf("outcome    HTTP %d%s%s, %lld+%lld tokens%s, $%.6f, %lld ms\n", u->status,
		       u->error_code ? " " : "", u->error_code ? u->error_code : "",
		       (long long)u->prompt_tokens, (long long)u->completion_tokens,
		       u->tokens_estimated ? " (estimated)" : "", u->cost_usd,
		       (long long)u->latency_ms);
	}
	hr_usage_free(u);
	return HR_EXIT_OK;
}

int hr_cmd_route(int argc, char **argv)
{
	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		printf("usage: hearth route explain [options] \"prompt\"   how a prompt would be "
		       "routed now\n"
		       "       hearth route why [options] REQUEST_ID      how a past request was "
		       "routed\n\n"
		       "`hearth route <subcommand> --help` for the options.\n");
		return HR_EXIT_OK;
	}
	if (argc >= 2 && strcmp(argv[1], "explain") == 0)
		return explain(argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "why") == 0)
		return why(argc - 1, argv + 1);
	return hr_cli_usage_error("route", "the subcommands are `explain` and `why`");
}
