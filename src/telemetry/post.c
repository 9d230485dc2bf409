/* post.c - the one JSON POST of the telemetry threads (post.h). */
#include "telemetry/post.h"

#include <curl/curl.h>

#include "core/log.h"

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p, (void)arg;
	return size * n;
}

bool hr_telemetry_post(const char *url, const char *extra, const char *body, size_t len,
                       long timeout_ms, const char *what)
{
	CURL *h = curl_easy_init();
	if (!h)
		return false;
	struct curl_slist *hd = curl_slist_append(NULL, "Content-Type: application/json");
	if (extra && hd) {
		struct curl_slist *n = curl_slist_append(hd, extra);
		if (n)
			hd = n;
	}
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
	curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_USERAGENT, "hearth/" HR_VERSION);
	long status = 0;
	CURLcode rc = curl_easy_perform(h);
	if (rc == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hd);
	curl_easy_cleanup(h);
	if (rc != CURLE_OK)
		HR_LOG_WARN(MAIN, "%s: %s", what, curl_easy_strerror(rc));
	else if (status < 200 || status > 299)
		HR_LOG_WARN(MAIN, "%s: answered %ld", what, status);
	return rc == CURLE_OK && status >= 200 && status <= 299;
}
