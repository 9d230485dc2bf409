/* llama_direct.c - the baseline of `make bench-llama`: the same generation hearth's embedded
 * engine runs (greedy continuation of one prompt in S parallel sequences, one llama_decode
 * batch per step, the same context and threads), driven directly through the llama.cpp
 * library with no server. Prints one JSON line: tokens, seconds, tokens/s, time to the first
 * token.
 * Usage: llama_direct MODEL.gguf STREAMS MAX_TOKENS THREADS CONTEXT [PROMPT] */
#include <ggml-backend.h>
#include <llama.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "machine.h"

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void quiet(enum ggml_log_level level, const char *text, void *user)
{
	(void)level, (void)text, (void)user;
}

int main(int argc, char **argv)
{
	if (argc < 6) {
		fprintf(stderr, "usage: %s MODEL STREAMS MAX_TOKENS THREADS CONTEXT [PROMPT]\n",
		        argv[0]);
		return 2;
	}
	const char *path = argv[1], *prompt = argc > 6 ? argv[6] : "Once upon a time";
	int streams = atoi(argv[2]), max_tokens = atoi(argv[3]), threads = atoi(argv[4]);
	int context = atoi(argv[5]);
	if (streams < 1 || streams > 64 || max_tokens < 1 || threads < 1 || context < 16)
		return 2;
	llama_log_set(quiet, NULL);
	const char *dir = getenv("LLAMA_LIB_DIR");
	ggml_backend_load_all_from_path(dir ? dir : ".");
	llama_backend_init();
	struct llama_model *model = llama_model_load_from_file(path, llama_model_default_params());
	if (!model) {
		fprintf(stderr, "cannot load %s\n", path);
		return 1;
	}
	struct llama_context_params cp = llama_context_default_params();
	cp.n_seq_max = (uint32_t)streams;
	cp.n_ctx = (uint32_t)(context * streams);
	cp.n_batch = cp.n_ctx < 2048 ? cp.n_ctx : 2048;
	cp.n_ubatch = cp.n_batch < 512 ? cp.n_batch : 512;
	cp.n_threads = cp.n_threads_batch = threads;
	cp.kv_unified = false;
	cp.no_perf = true;
	struct llama_context *ctx = llama_init_from_model(model, cp);
	const struct llama_vocab *vocab = llama_model_get_vocab(model);
	int toks[256];
	int n_prompt = llama_tokenize(vocab, prompt, (int)strlen(prompt), toks, 256, true, false);
	if (!ctx || n_prompt <= 0)
		return 1;
	struct llama_batch batch = llama_batch_init((int)cp.n_batch, 0, 1);
	int *last = calloc((size_t)streams, sizeof *last), *gen = calloc((size_t)streams, sizeof *gen);
	int *pos = calloc((size_t)streams, sizeof *pos), *done = calloc((size_t)streams, sizeof *done);
	int *idx = calloc((size_t)streams, sizeof *idx);
	struct llama_sampler *smpl = llama_sampler_init_greedy();
	double t0 = now(), first = 0;
	long total = 0;
	/* the prompts of every stream in the first batch, as the engine does for a burst */
	batch.n_tokens = 0;
	for (int s = 0; s < streams; s++)
		for (int i = 0; i < n_prompt; i++) {
			int k = batch.n_tokens++;
			batch.token[k] = toks[i];
			batch.pos[k] = pos[s]++;
			batch.n_seq_id[k] = 1;
			batch.seq_id[k][0] = s;
			batch.logits[k] = i == n_prompt - 1;
			if (batch.logits[k])
				idx[s] = k;
		}
	int active = streams;
	while (active > 0) {
		if (llama_decode(ctx, batch) != 0)
			return 1;
		for (int s = 0; s < streams; s++) {
			if (done[s])
				continue;
			int t = llama_sampler_sample(smpl, ctx, idx[s]);
			if (llama_vocab_is_eog(vocab, t)) {
				done[s] = 1, active--;
				continue;
			}
			char piece[256];
			(void)llama_token_to_piece(vocab, t, piece, sizeof piece, 0, false);
			if (!first)
				first = now();
			last[s] = t;
			total++;
			if (++gen[s] >= max_tokens || pos[s] + 1 >= context)
				done[s] = 1, active--;
		}
		batch.n_tokens = 0;
		for (int s = 0; s < streams; s++) {
			if (done[s])
				continue;
			int k = batch.n_tokens++;
			batch.token[k] = last[s];
			batch.pos[k] = pos[s]++;
			batch.n_seq_id[k] = 1;
			batch.seq_id[k][0] = s;
			batch.logits[k] = 1;
			idx[s] = k;
		}
	}
	double secs = now() - t0;
	printf("{\"streams\": %d, \"tokens\": %ld, \"seconds\": %.6f, \"tokens_per_s\": %.1f, "
	       "\"first_token_ms\": %.3f}\n",
	       streams, total, secs, (double)total / secs, (first - t0) * 1000);
	llama_sampler_free(smpl);
	llama_batch_free(batch);
	free(last), free(gen), free(pos), free(done), free(idx);
	llama_free(ctx);
	llama_model_free(model);
	(void)bench_machine;
	return 0;
}
