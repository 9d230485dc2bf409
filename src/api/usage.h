/* usage.h - the usage report's parameters and JSON (usage.c), shared by GET /api/v1/usage
 * and `hearth usage`, so both speak the same words and print the same objects. */
#ifndef HR_API_USAGE_H
#define HR_API_USAGE_H

#include <jansson.h>
#include <stdint.h>

#include "storage/report.h"

struct hr_conf;
struct hr_store;

/* "7d", "24h", "30m" (before now_ms), "2026-11-01" or "2026-11-01T12:00:00Z" (UTC) -> Unix
 * ms. Returns 0 or HR_EINVAL. */
int hr_api_parse_time(const char *s, int64_t now_ms, int64_t *out);
/* "task,model" -> dimension bits. Returns 0, or HR_EINVAL with *msg. */
int hr_api_parse_group_by(const char *s, unsigned *dims, const char **msg);
/* The report as GET /api/v1/usage answers it. Returns: a new reference; NULL on OOM. */
json_t *hr_api_usage_json(const struct hr_usage_query *q, const struct hr_usage_report *r);
/* The per-task savings of r (grouped by task) with shadow evaluation's quality estimate per
 * task (read from st), as GET /api/v1/usage/savings answers it. */
json_t *hr_api_savings_json(const struct hr_usage_query *q, const struct hr_conf *conf,
                            struct hr_store *st, const struct hr_usage_report *r);

#endif
