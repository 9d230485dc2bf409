/* llamacpp.c - the codec of providers of kind llamacpp: models run in process by the
 * embedded llama.cpp engine (engine/llama.h). The engine speaks Ollama's wire format over an
 * in-process transport (llamacpp://<provider id>), so this codec is Ollama's, less what the
 * engine cannot do (tools, JSON mode, images, penalties), which it refuses by name. */
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "engine/llama.h"

#include "providers/provider.h"

static int refuse(struct hr_arena *a, const struct hr_conf_model *m, const char **msg,
                  const char **param, const char *field, const char *what)
{
	*param = field;
	*msg = hr_arena_printf(a,
	                       "model '%s' runs in hearth's embedded llama.cpp engine, which does "
	                       "not support %s; leave %s out or ask another model",
	                       m->name, what, field);
	if (!*msg)
		*msg = hr_err_msg(HR_EUNSUPPORTED);
	return HR_EUNSUPPORTED;
}

static int llamacpp_encode_chat(struct hr_arena *a, const struct hr_conf_model *m,
                                const struct hr_chat_req *rq, struct hr_http_out *out,
                                const char **msg, const char **param)
{
	*msg = NULL;
	*param = NULL;
	if (rq->n_tools && rq->tool_choice != HR_TC_NONE)
		return refuse(a, m, msg, param, "tools", "tool calls");
	if (rq->format == HR_FMT_JSON_OBJECT || rq->format == HR_FMT_JSON_SCHEMA)
		return refuse(a, m, msg, param, "response_format", "JSON mode");
	if (rq->has_presence_penalty)
		return refuse(a, m, msg, param, "presence_penalty", "penalties");
	if (rq->has_frequency_penalty)
		return refuse(a, m, msg, param, "frequency_penalty", "penalties");
	for (size_t i = 0; i < rq->n_msgs; i++)
		for (size_t j = 0; j < rq->msgs[i].n_parts; j++)
			if (rq->msgs[i].parts[j].type == HR_PART_IMAGE) {
				const char *f = hr_arena_printf(a, "messages[%zu].content", i);
				return refuse(a, m, msg, param, f ? f : "messages", "images");
			}
	return hr_provider_ollama.encode_chat(a, m, rq, out, msg, param);
}

static int llamacpp_encode_embed(struct hr_arena *a, const struct hr_conf_model *m,
                                 const struct hr_embed_req *rq, struct hr_http_out *out,
                                 const char **msg, const char **param)
{
	return hr_provider_ollama.encode_embed(a, m, rq, out, msg, param);
}

/* Decoding is Ollama's (a const table cannot take another table's members). */
static int llamacpp_decode_chat(struct hr_arena *a, const char *body, size_t len,
                                struct hr_chat_resp *res, const char **msg)
{
	return hr_provider_ollama.decode_chat(a, body, len, res, msg);
}

static int llamacpp_decode_stream(struct hr_arena *a, struct hr_stream_dec *st,
                                  const char *event, const char *data, size_t len,
                                  struct hr_sev_list *out, const char **msg)
{
	return hr_provider_ollama.decode_stream(a, st, event, data, len, out, msg);
}

/* The engine answers 424 when the model is not loaded (engine/llama.h); the rest as Ollama. */
static int llamacpp_map_error(struct hr_arena *a, long status, const char *body, size_t len,
                              const char **msg)
{
	int err = hr_provider_ollama.map_error(a, status, body, len, msg);
	return status == HR_LLAMA_UNLOADED ? HR_ELOCAL_MODEL : err;
}

static int llamacpp_decode_embed(struct hr_arena *a, const char *body, size_t len,
                                 struct hr_embed_resp *res, const char **msg)
{
	return hr_provider_ollama.decode_embed(a, body, len, res, msg);
}

const struct hr_provider_ops hr_provider_llamacpp = {
    .kind = "llamacpp",
    .framing = HR_FRAME_NDJSON,
    .encode_chat = llamacpp_encode_chat,
    .decode_chat = llamacpp_decode_chat,
    .decode_stream = llamacpp_decode_stream,
    .map_error = llamacpp_map_error,
    .encode_embed = llamacpp_encode_embed,
    .decode_embed = llamacpp_decode_embed,
    .models_path = NULL, /* hearth doctor loads the model instead (cli/doctor.c) */
    .decode_models = NULL,
};
