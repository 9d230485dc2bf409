/* post.h - private to src/telemetry: one blocking JSON POST with libcurl, for the background
 * threads (alert webhook, trace export); never call it on a worker's event loop. */
#ifndef HR_TELEMETRY_POST_H
#define HR_TELEMETRY_POST_H

#include <stdbool.h>
#include <stddef.h>

/* POSTs body[0..len) as application/json to url (http or https only) with the extra header
 * line extra (NULL: none), waiting at most timeout_ms. what names the caller in the warning
 * logged on failure. Returns true on a 2xx answer. */
bool hr_telemetry_post(const char *url, const char *extra, const char *body, size_t len,
                       long timeout_ms, const char *what);

#endif
