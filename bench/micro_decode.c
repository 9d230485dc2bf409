/* micro_decode.c - micro-benchmark of the OpenAI codec's decoders: time per decode_chat of
 * real chat.completion bodies and per decode_stream_event of a text chunk, beside a baseline
 * measured in the same run: jansson's json_loadb + json_decref of the same bytes (the work the
 * decoders did before jscan). Build (after `make`):
 *   cc -std=gnu17 -Isrc -include core/compat.h -O2 -g -o build/micro_decode \
 *      bench/micro_decode.c build/libhearth.a $(pkg-config --libs jansson libevent \
 *      libevent_pthreads libcurl sqlite3 yaml-0.1 libsodium) -pthread -lm
 * Run it plain, or under `valgrind --tool=callgrind` with HR_BENCH_ITERS=10000 (and
 * HR_BENCH_CASE=compact, pretty or chunk) for instructions per decode. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "core/arena.h"
#include "providers/provider.h"

/* The canned answer of bench/nginx.conf (compact, 650 bytes). */
static const char compact_body[] =
    "{\"id\":\"chatcmpl-9xBench0Canned1Completion2\",\"object\":\"chat.completion\",\"created\":"
    "1732636800,\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"message\":{"
    "\"role\":\"assistant\",\"content\":\"Hello! How can I help you today? If you have a "
    "question about your code, paste it here and I will take a look.\",\"refusal\":null},"
    "\"logprobs\":null,\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":19,"
    "\"completion_tokens\":27,\"total_tokens\":46,\"prompt_tokens_details\":{\"cached_tokens\":"
    "0,\"audio_tokens\":0},\"completion_tokens_details\":{\"reasoning_tokens\":0,"
    "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,\"rejected_prediction_tokens\":0}},"
    "\"system_fingerprint\":\"fp_0ba0d124f1\"}";

/* OpenAI's documented example answer, pretty-printed as the API sends it (~870 bytes). */
static const char pretty_body[] =
    "{\n  \"id\": \"chatcmpl-B9MBs8CjcvOU2jLn4n570S5qMJKcT\",\n  \"object\": \"chat.completion\","
    "\n  \"created\": 1741569952,\n  \"model\": \"gpt-4.1-2025-04-14\",\n  \"choices\": [\n    {"
    "\n      \"index\": 0,\n      \"message\": {\n        \"role\": \"assistant\",\n        "
    "\"content\": \"Hello! How can I assist you today? If you have a question about your "
    "code, paste it here.\",\n        \"refusal\": null,\n        "
    "\"annotations\": []\n      },\n      \"logprobs\": null,\n      \"finish_reason\": "
    "\"stop\"\n    }\n  ],\n  \"usage\": {\n    \"prompt_tokens\": 2006,\n    "
    "\"completion_tokens\": 10,\n    \"total_tokens\": 2016,\n    \"prompt_tokens_details\": {"
    "\n      \"cached_tokens\": 1920,\n      \"audio_tokens\": 0\n    },\n    "
    "\"completion_tokens_details\": {\n      \"reasoning_tokens\": 0,\n      \"audio_tokens\": "
    "0,\n      \"accepted_prediction_tokens\": 0,\n      \"rejected_prediction_tokens\": 0\n"
    "    }\n  },\n  \"service_tier\": \"default\",\n  \"system_fingerprint\": \"fp_0ba0d124f1\"\n"
    "}\n";

/* A text chunk as OpenAI streams it (stream_options.include_usage on). */
static const char chunk[] =
    "{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\","
    "\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"service_tier\":\"default\","
    "\"system_fingerprint\":\"fp_f9f4fb6dbf\",\"choices\":[{\"index\":0,\"delta\":{\"content\":"
    "\" How can\"},\"logprobs\":null,\"finish_reason\":null}],\"usage\":null}";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ns per json_loadb + json_decref of body: the baseline. */
static double baseline(const char *body, size_t len, long iters)
{
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		json_t *j = json_loadb(body, len, 0, NULL);
		if (!j) {
			fprintf(stderr, "baseline: not JSON\n");
			exit(1);
		}
		json_decref(j);
	}
	return (now() - t0) / (double)iters * 1e9;
}

static void run_chat(const char *name, const char *body, size_t len, long iters)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_chat_result res;
	const char *msg;
	size_t sink = 0;
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		if (hr_openai_decode_summary(a, body, len, &res, &msg) != 0) {
			fprintf(stderr, "decode_chat failed: %s\n", msg);
			exit(1);
		}
		sink += res.completion_bytes;
	}
	double ns = (now() - t0) / (double)iters * 1e9, base = baseline(body, len, iters);
	printf("decode_chat %-8s %4zu bytes: %7.0f ns/decode, json_loadb %7.0f ns: ratio %.2f"
	       " (text bytes %zu, finish %s)\n",
	       name, len, ns, base, ns / base, sink / (size_t)iters, res.finish_reason);
	hr_arena_destroy(a);
}

static void run_chunk(long iters)
{
	struct hr_arena *a = hr_arena_create(0);
	struct hr_stream_ev ev;
	const char *msg;
	size_t sink = 0;
	double t0 = now();
	for (long i = 0; i < iters; i++) {
		if (hr_openai_decode_stream_summary(a, chunk, sizeof chunk - 1, &ev, &msg)) {
			fprintf(stderr, "decode_stream_event failed: %s\n", msg);
			exit(1);
		}
		sink += ev.delta_bytes;
	}
	double ns = (now() - t0) / (double)iters * 1e9,
	       base = baseline(chunk, sizeof chunk - 1, iters);
	printf("decode_stream_event  %4zu bytes: %7.0f ns/decode, json_loadb %7.0f ns: ratio %.2f"
	       " (delta bytes %zu)\n",
	       sizeof chunk - 1, ns, base, ns / base, sink / (size_t)iters);
	hr_arena_destroy(a);
}

int main(void)
{
	const char *e = getenv("HR_BENCH_ITERS");
	long iters = e ? atol(e) : 100000;
	if (iters <= 0)
		iters = 100000;
	char line[256], model[256] = "unknown CPU\n";
	FILE *f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof line, f)) {
		char *colon = strchr(line, ':');
		if (strncmp(line, "model name", 10) == 0 && colon) {
			snprintf(model, sizeof model, "%s", colon + 2);
			break;
		}
	}
	if (f)
		fclose(f);
	printf("machine: %s", model);
	printf("iterations: %ld per case (HR_BENCH_ITERS)\n", iters);
	const char *only = getenv("HR_BENCH_CASE"); /* compact, pretty or chunk; unset: all */
	if (!only || !strcmp(only, "compact"))
		run_chat("compact", compact_body, sizeof compact_body - 1, iters);
	if (!only || !strcmp(only, "pretty"))
		run_chat("pretty", pretty_body, sizeof pretty_body - 1, iters);
	if (!only || !strcmp(only, "chunk"))
		run_chunk(iters);
	return 0;
}
