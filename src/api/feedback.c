/* feedback.c - POST /v1/feedback: a user's or an application's score of one answered
 * request, {"request_id": "req_…", "score": 0..1, "comment": "…"}. It lands beside the
 * request's kept prompt (learn_scores, source "feedback"), where `hearth router train
 * --from-usage` and `hearth router status` read it; a later score of the same request
 * replaces the earlier one. */
#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/api.h"
#include "api/handlers.h"
#include "api/req.h"
#include "core/arena.h"
#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "governance/ident.h"
#include "storage/store.h"

#define FEEDBACK_COMMENT_MAX 4096 /* bytes of a comment */
#define REQUEST_ID_MAX       39   /* struct hr_usage.request_id holds 40 with the NUL */

/* Validates the body into its three fields (borrowed from root). Returns 0 or an error
 * with msg and param set. */
static int parse(json_t *root, const char **rid, double *score, const char **comment,
                 const char **msg, const char **param)
{
	const char *k;
	json_t *v;
	*rid = NULL;
	*score = NAN;
	*comment = NULL;
	if (!json_is_object(root)) {
		*msg = "the body must be a JSON object: {\"request_id\": \"req_…\", \"score\": 0..1}";
		return HR_EINVAL;
	}
	json_object_foreach(root, k, v)
	{
		*param = k;
		if (strcmp(k, "request_id") == 0) {
			*rid = json_string_value(v);
			if (!*rid || !**rid || strlen(*rid) > REQUEST_ID_MAX) {
				*msg = "request_id must be the X-Request-Id of an answered request";
				return HR_EINVAL;
			}
		} else if (strcmp(k, "score") == 0) {
			*score = json_is_number(v) ? json_number_value(v) : NAN;
			if (!(*score >= 0 && *score <= 1)) {
				*msg = "score must be a number from 0 (bad) to 1 (good)";
				return HR_EINVAL;
			}
		} else if (strcmp(k, "comment") == 0) {
			*comment = json_is_null(v) ? NULL : json_string_value(v);
			if (!json_is_null(v) &&
			    (!*comment || strlen(*comment) > FEEDBACK_COMMENT_MAX)) {
				*msg = "comment must be a string of at most 4096 bytes";
				return HR_EINVAL;
			}
		} else {
			*msg = "unknown field; feedback takes request_id, score and comment";
			return HR_EINVAL;
		}
	}
	*param = !*rid ? "request_id" : "score";
	if (!*rid || isnan(*score)) {
		*msg = !*rid ? "request_id is required" : "score is required (0 to 1)";
		return HR_EINVAL;
	}
	*param = NULL;
	return 0;
}

/* Whether the caller may score request u: an admin any; anyone else its own (the same
 * user, or the same key; an anonymous loopback caller the requests made without a key). */
static bool may_score(const struct hr_ident *id, const struct hr_usage *u)
{
	if (id->role == HR_UROLE_ADMIN)
		return true;
	if (id->user_id)
		return u->user_id && strcmp(u->user_id, id->user_id) == 0;
	if (id->key_id)
		return u->key_id && strcmp(u->key_id, id->key_id) == 0;
	return !u->key_id;
}

void hr_api_feedback(struct hr_req *rq)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(rq->ev);
	size_t len = evbuffer_get_length(in);
	const char *body = (const char *)evbuffer_pullup(in, -1);
	json_error_t jerr;
	json_t *root = json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, &jerr);
	const char *rid, *comment, *msg = NULL, *param = NULL;
	double score;
	if (!root) {
		hr_req_error(rq, HR_EBADJSON,
		             hr_arena_printf(rq->arena, "the body is not valid JSON: %s", jerr.text),
		             NULL);
		return;
	}
	int rc = parse(root, &rid, &score, &comment, &msg, &param);
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
		json_decref(root);
		return;
	}
	struct hr_store *st = rq->api->store;
	struct hr_usage *u = NULL;
	rc = st->ops->usage_get(st, rid, &u);
	if (rc == 0 && !may_score(&rq->ident, u))
		rc = HR_ENOTFOUND; /* another caller's request: as if there were none */
	if (rc == 0 && (u->origin || !u->model_used)) {
		msg = u->origin ? "that request is one of hearth's own shadow calls"
		                : "that request got no answer to score";
		rc = HR_EINVAL;
		param = "request_id";
	} else if (rc == HR_ENOTFOUND) {
		msg = hr_arena_printf(rq->arena,
		                      "no request '%s'; send the X-Request-Id of an answered request",
		                      rid);
		param = "request_id";
	}
	if (rc == 0) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		struct hr_learn_score sc = {.model = u->model_used, .source = "feedback", .score = score};
		rc = st->ops->learn_score_put(st, rid, u->task ? u->task : "", &sc, comment,
		                              (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
	}
	if (rc < 0) {
		hr_req_error(rq, rc, msg, param);
	} else {
		json_t *out = json_pack("{s:s, s:s, s:s, s:s?, s:f}", "object", "feedback",
		                        "request_id", rid, "model", u->model_used, "task", u->task,
		                        "score", score);
		char *s = out ? json_dumps(out, JSON_COMPACT) : NULL;
		struct hr_buf b = HR_BUF_INIT(65536);
		if (s && hr_buf_addstr(&b, s) == 0) {
			HR_RLOG_INFO(rq->id, ROUTE, "feedback %.2f on %s (%s)", score, rid,
			             u->model_used);
			hr_req_respond(rq, 200, NULL, &b);
		} else {
			hr_buf_release(&b);
			hr_req_error(rq, HR_ENOMEM, NULL, NULL);
		}
		free(s);
		json_decref(out);
	}
	hr_usage_free(u);
	json_decref(root);
}
