/* models.c - GET /v1/models (the configured models, OpenAI's list shape), /healthz (the
 * process answers) and /readyz (ready to take traffic; 503 while shutting down). */
#include <event2/http.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "api/handlers.h"
#include "api/req.h"
#include "core/conf.h"
#include "core/err.h"
#include "governance/ident.h"
#include "engine/llama.h"
#include "http/server.h"

static json_t *capabilities(const struct hr_conf_model *m)
{
	json_t *a = json_array();
	if (m->embeddings)
		json_array_append_new(a, json_string("embeddings"));
	else
		json_array_append_new(a, json_string("chat"));
	if (!m->embeddings && m->tools)
		json_array_append_new(a, json_string("tools"));
	if (!m->embeddings && m->vision)
		json_array_append_new(a, json_string("vision"));
	if (!m->embeddings && m->json_mode)
		json_array_append_new(a, json_string("json_mode"));
	return a;
}

/* A model run in process (kind llamacpp): whether its engine serves, and how it builds the
 * prompt (the GGUF's chat template, or plain completion of the conversation). */
static json_t *engine_info(const struct hr_conf_model *m, json_int_t *ctx)
{
	struct hr_llama_info in;
	if (hr_llama_info(m->provider->id, &in) < 0)
		return json_pack("{s:s, s:s}", "status", "unavailable", "error",
		                 "not loaded; restart hearth to load a provider added by a reload");
	if (!in.ready)
		return json_pack("{s:s, s:s, s:s}", "status", "unavailable", "error", in.error,
		                 "path", in.path);
	if (!*ctx)
		*ctx = in.n_ctx;
	return json_pack("{s:s, s:s, s:s, s:i, s:i}", "status", "ready", "path", in.path,
	                 "prompt",
	                 in.embeddings      ? "embeddings"
	                 : in.chat_template ? "chat_template"
	                                    : "plain_completion",
	                 "context", in.n_ctx, "parallel", in.parallel);
}

/* Anthropic's SDKs list models with the same path; they send anthropic-version. A key with
 * allowed_models sees those models only. */
static void anthropic_list(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	json_t *data = json_array();
	const char *first = NULL, *last = NULL;
	for (size_t i = 0; i < c->n_models && data; i++) {
		const struct hr_conf_model *m = &c->models[i];
		if (!hr_ident_allows(rq->ident.allowed_models, m->name))
			continue;
		json_array_append_new(data, json_pack("{s:s, s:s, s:s, s:s}", "type", "model", "id",
		                                      m->name, "display_name", m->name,
		                                      "created_at", "1970-01-01T00:00:00Z"));
		first = first ? first : m->name;
		last = m->name;
	}
	hr_req_json(rq, 200,
	            json_pack("{s:o, s:b, s:s?, s:s?}", "data", data, "has_more", 0, "first_id",
	                      first, "last_id", last));
}

void hr_api_models(struct hr_req *rq)
{
	const struct hr_conf *c = rq->conf;
	if (evhttp_find_header(evhttp_request_get_input_headers(rq->ev), "anthropic-version")) {
		anthropic_list(rq);
		return;
	}
	json_t *data = json_array();
	for (size_t i = 0; i < c->n_models && data; i++) {
		const struct hr_conf_model *m = &c->models[i];
		if (!hr_ident_allows(rq->ident.allowed_models, m->name))
			continue; /* a key sees the models it may use */
		json_int_t ctx = m->context_window;
		json_t *engine = strcmp(m->provider->kind, "llamacpp") == 0 ? engine_info(m, &ctx)
		                                                             : NULL;
		json_array_append_new(
		    data,
		    json_pack("{s:s, s:s, s:i, s:s, s:{s:s, s:s, s:s, s:s, s:o, s:f, s:f, s:I, s:o*}}",
		              "id", m->name, "object", "model", "created", 0, "owned_by",
		              m->provider->id, "hearth", "provider", m->provider->id, "kind",
		              m->provider->kind, "upstream", m->upstream ? m->upstream : m->name,
		              "locality", m->provider->locality == HR_LOCAL ? "local" : "cloud",
		              "capabilities", capabilities(m), "input_price_per_mtok",
		              m->input_price_per_mtok, "output_price_per_mtok",
		              m->output_price_per_mtok, "context_window", ctx, "engine", engine));
	}
	hr_req_json(rq, 200, json_pack("{s:s, s:o}", "object", "list", "data", data));
}

void hr_api_healthz(struct hr_req *rq)
{
	hr_req_json(rq, 200, json_pack("{s:s}", "status", "ok"));
}

void hr_api_readyz(struct hr_req *rq)
{
	if (hr_server_stopping(rq->w->srv)) {
		hr_req_json(rq, 503, json_pack("{s:s}", "status", "stopping"));
		return;
	}
	hr_req_json(rq, 200, json_pack("{s:s}", "status", "ready"));
}
