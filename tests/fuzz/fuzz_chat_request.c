/* fuzz_chat_request.c - libFuzzer target: hr_chat_parse on any bytes, with the default limits,
 * then the OpenAI encoder on what it accepts (the encoded body must be a JSON object again). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "core/arena.h"
#include "core/limits.h"
#include "providers/chat.h"
#include "providers/provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct hr_chat_limits lim = {HR_DEF_MAX_MESSAGES, HR_DEF_MAX_TOOLS,
	                                          HR_DEF_MAX_JSON_DEPTH};
	static struct hr_conf_provider prov = {
	    .id = "p", .kind = "openai", .base_url = "http://127.0.0.1:9/v1", .api_key = "sk-fuzz"};
	static struct hr_conf_model model = {
	    .name = "m", .upstream = "up-model", .provider = &prov};

	struct hr_arena *a = hr_arena_create(HR_DEF_REQUEST_MEMORY_BYTES);
	if (!a)
		return 0;
	struct hr_chat_req rq;
	const char *msg = NULL, *param = NULL;
	int rc = hr_chat_parse(a, (const char *)data, size, &lim, &rq, &msg, &param);
	if (rc != 0) {
		assert(rc < 0 && msg && msg[0]);
		for (const char *p = msg; *p; p++) /* our messages never carry raw input bytes */
			assert((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
	} else {
		assert(rq.model && rq.model[0] && rq.n_messages > 0 && json_is_object(rq.body));
		struct hr_http_out out = {0};
		hr_buf_init(&out.body, HR_DEF_MAX_BODY_BYTES * 2);
		rc = hr_provider_openai.encode_chat(a, &model, &rq, &out, &msg, &param);
		if (rc == 0) {
			json_t *j = json_loadb(out.body.ptr, out.body.len, 0, NULL);
			assert(json_is_object(j));
			assert(strcmp(json_string_value(json_object_get(j, "model")), "up-model") ==
			       0);
			assert(!rq.stream ||
			       json_is_true(json_object_get(json_object_get(j, "stream_options"),
			                                    "include_usage")));
			json_decref(j);
		}
		hr_buf_release(&out.body);
	}
	hr_arena_destroy(a);
	return 0;
}
