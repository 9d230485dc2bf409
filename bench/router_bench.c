/* router_bench.c - times the learned router's decision on a prompt of about 1,000 tokens
 * (features + the model's outputs + the threshold), against a baseline measured in the same
 * run: lowercasing and splitting the same prompt into words. Prints the machine (CPU model,
 * cores), microseconds per prompt and the ratio. Not a test: timings are never asserted.
 * usage: router_bench [MODEL] (default share/router/default.json) */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "learn/learn.h"

#include "machine.h"

static const char seed_text[] =
    "I am working on a data pipeline in Python and I need help. The function below reads a CSV "
    "file of orders, groups them by customer and computes the total per month, but it is slow "
    "on large files and sometimes returns wrong totals when a month has no orders.\n"
    "```python\ndef monthly_totals(path):\n    rows = read_rows(path)\n    out = {}\n"
    "    for r in rows:\n        key = (r['customer'], r['date'][:7])\n"
    "        out[key] = out.get(key, 0) + float(r['amount'])\n    return out\n```\n"
    "Could you explain why the totals might be wrong, suggest a faster approach (maybe with "
    "pandas or by streaming the file), and show how to fill in the missing months with zero? "
    "Also, what is the complexity of your solution, and how would you test it? ";

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The baseline: lowercase the prompt and count its words (what any text feature must do). */
static size_t baseline(const char *p, size_t n, char *low)
{
	size_t words = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		char c = p[i];
		low[i] = (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
		int w = (low[i] >= 'a' && low[i] <= 'z') || (low[i] >= '0' && low[i] <= '9');
		words += w && !in;
		in = w;
	}
	return words;
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	const char *path = argc > 1 ? argv[1] : "share/router/default.json";
	struct hr_buf err = HR_BUF_INIT(4096);
	struct hr_learn_model *m = NULL;
	if (hr_learn_model_load(path, &m, &err) < 0) {
		fprintf(stderr, "router_bench: %shint: `make router-model` builds the default\n",
		        err.ptr ? err.ptr : "");
		return 1;
	}
	/* ~1,000 tokens: about 4,000 bytes of English prose and code */
	enum { N = 4000 };
	static char text[N + 1], low[N + 1];
	size_t k = strlen(seed_text);
	for (size_t n = 0; n < N;) {
		size_t c = N - n < k ? N - n : k;
		memcpy(text + n, seed_text, c);
		n += c;
	}
	struct hr_arena *a = hr_arena_create(0);
	struct hr_learn_fx *fx = hr_learn_fx_new(a, &m->fc);
	double *p = hr_arena_alloc(a, m->n_outs * sizeof *p);
	if (!fx || !p)
		return 1;
	bench_machine();
	printf("model: %s (2^%u hashed features, chars %u-%u, words 1-%u, first %u bytes; %zu "
	       "output%s)\nprompt: %d bytes (~%d tokens)\n",
	       path, m->fc.hash_bits, m->fc.char_min, m->fc.char_max, m->fc.word_ngrams,
	       m->fc.max_bytes, m->n_outs, m->n_outs == 1 ? "" : "s", N, N / 4);
	const int iters = 20000;
	volatile size_t sink = 0;
	int strong = 0;
	for (int r = 0; r < 3; r++) {
		double t0 = now_s();
		for (int i = 0; i < iters; i++) {
			text[i % 64] ^= 0; /* keep the loop honest */
			sink += baseline(text, N, low);
		}
		double t1 = now_s();
		for (int i = 0; i < iters; i++) {
			hr_learn_predict(m, fx, text, N, p);
			strong += p[0] >= 0.5;
		}
		double t2 = now_s();
		double base = (t1 - t0) / iters * 1e6, dec = (t2 - t1) / iters * 1e6;
		printf("run %d: decision %.2f us/prompt, baseline (lowercase + word split) %.2f "
		       "us/prompt, ratio %.1fx\n",
		       r + 1, dec, base, dec / base);
	}
	(void)sink;
	(void)strong;
	hr_arena_destroy(a);
	hr_learn_model_free(m);
	hr_buf_release(&err);
	return 0;
}
