/* llama.h - the embedded llama.cpp engine: providers of kind llamacpp run their GGUF model
 * in this process. llama.cpp is loaded at run time (dlopen): HEARTH_LLAMA_LIB, else the
 * folder `make llama` fills, else pkg-config's; without it hearth starts and says why the
 * engine is unavailable.
 *
 * Each loaded model has one engine thread running a batched decode loop over its active
 * sequences (one per request, up to providers.<id>.parallel); requests are handed over
 * under a mutex and the answer goes back to the requesting worker's event loop, through an
 * event of that loop activated from the engine thread. A call speaks the Ollama wire format
 * (POST /api/chat, /api/embed bodies; NDJSON or one JSON answer), so the provider codec and
 * the whole call path are those of any HTTP provider (http/client.c routes URLs of the form
 * llamacpp://<provider id>/<path> here).
 *
 * Thread safety: hr_llama_load/hr_llama_shutdown from the main thread only; the rest from
 * any thread. Engines live until hr_llama_shutdown(). */
#ifndef HR_ENGINE_LLAMA_H
#define HR_ENGINE_LLAMA_H

#include <stdbool.h>
#include <stddef.h>

struct event_base;
struct hr_conf;
struct hr_conf_provider;

#define HR_LLAMA_SCHEME "llamacpp://"
/* The status of an answer when the provider's model is not loaded (the file, the library):
 * the codec maps it to HR_ELOCAL_MODEL. */
#define HR_LLAMA_UNLOADED 424

/* Loads the model of every llamacpp provider of c that is not loaded yet (an engine is
 * keyed by provider id and path). A model that cannot be loaded is logged with the file and
 * the cause and answers its calls with that (503), so routing moves on. */
void hr_llama_load(const struct hr_conf *c);
/* Stops every engine thread (their calls end with 503) and frees the models. */
void hr_llama_shutdown(void);

/* Why the llama.cpp library cannot be used (a static or process-lived sentence naming the
 * file and the cause), or NULL when it is loaded. Loads it on first use. */
const char *hr_llama_lib_error(void);

/* What /v1/models and `hearth doctor` say about a provider's model. Strings are owned by
 * the engine (live until shutdown). */
struct hr_llama_info {
	bool ready;          /* loaded and serving */
	const char *error;   /* why not, when !ready */
	const char *path;    /* the GGUF file */
	bool chat_template;  /* the GGUF has one (else: plain completion) */
	bool embeddings;     /* the context serves /api/embed */
	int n_ctx;           /* context per sequence, tokens */
	int parallel;        /* sequences decoded together */
	const char *library; /* the llama.cpp library file */
};
/* Returns 0 with *out, or -1 when no engine has that provider id. */
int hr_llama_info(const char *provider_id, struct hr_llama_info *out);

/* Loads p's model once, outside the server (hearth doctor): 0 when it loads, else -1 with
 * the cause in msg. */
int hr_llama_try(const struct hr_conf_provider *p, char *msg, size_t cap);

/* ---- calls: the in-process transport of http/client.c ---- */

struct hr_llama_call;

/* The same conventions as http/client.h's callbacks: headers once (the status), then the
 * body in pieces, then done exactly once unless cancelled. A non-zero return of on_headers
 * or on_data ends the call: on_done then gets that code. */
struct hr_llama_sink {
	int (*on_headers)(void *arg, long status);
	int (*on_data)(void *arg, const char *p, size_t n);
	void (*on_done)(void *arg, int rc);
	void *arg;
};

/* Whether url is one of ours (llamacpp://...). */
bool hr_llama_url(const char *url);

/* Starts a call on base's loop: url llamacpp://<provider id>/api/chat or /api/embed, body
 * the Ollama JSON request (copied). Returns 0 (the sink is called later, on base's thread)
 * or HR_ENOMEM/HR_EINTERNAL (never calls back). */
int hr_llama_call_start(struct event_base *base, const char *url, const char *body,
                        size_t len, const struct hr_llama_sink *sink,
                        struct hr_llama_call **out);
/* Ends the call at once, from base's thread, outside the sink's callbacks: its sequence is
 * freed by the engine at its next step; the sink is not called again. */
void hr_llama_call_cancel(struct hr_llama_call *call);

#endif
