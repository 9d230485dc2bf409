/* store.c - backend-independent storage helpers: hr_store_open() and the usage record's
 * constructor, setter and destructor. */
#include "storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/err.h"
#include "storage/usage_int.h"

int hr_store_open(struct hr_store **out, const char *data_dir, bool readonly, struct hr_buf *err)
{
	return hr_store_sqlite.open(out, data_dir, readonly, err);
}

/* Defaults: ts_ms is now, ttfb_ms is -1 (no byte sent yet), every other field 0 or NULL.
 * A request_id longer than 39 bytes is truncated; NULL gives "". */
struct hr_usage *hr_usage_new(const char *request_id)
{
	struct hr_usage_entry *e = calloc(1, sizeof *e);
	if (!e)
		return NULL;
	struct hr_usage *u = &e->u;
	if (request_id) {
		size_t n = strnlen(request_id, sizeof u->request_id - 1);
		memcpy(u->request_id, request_id, n);
		u->request_id[n] = '\0';
	}
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	u->ts_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	u->ttfb_ms = -1;
	return u;
}

int hr_usage_set(char **field, const char *s)
{
	char *p = NULL;
	if (s && !(p = strdup(s)))
		return HR_ENOMEM;
	free(*field);
	*field = p;
	return 0;
}

void hr_usage_free(struct hr_usage *u)
{
	if (!u)
		return;
	free(u->key_id);
	free(u->model_asked);
	free(u->model_used);
	free(u->provider);
	free(u->endpoint);
	free(u->error_code);
	free(u->finish_reason);
	free(u->task);
	free(u->route);
	free(u->policy);
	free((struct hr_usage_entry *)u);
}
