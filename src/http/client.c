/* client.c - libcurl multi handle driven by a libevent loop (the socket/timer callback
 * pattern), with our own first-byte and idle-gap timers on top of curl's connect/total. */
#include "http/client.h"

#include <curl/curl.h>
#include <event2/event.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/err.h"
#include "core/log.h"
#include "engine/llama.h"

/* Finished calls' easy handles kept for the next calls: curl_easy_init() and
 * curl_easy_cleanup() cost more than curl_easy_reset() (buffers, default options). A busy
 * worker needs about as many as it has calls in flight at once; more are cleaned up. */
#define HR_CLIENT_SPARE 32

struct hr_client {
	struct event_base *base;
	CURLM *multi;
	struct event *timer;
	int running;
	int active;
	struct hr_call *calls;        /* every call in flight, for hr_client_free() */
	CURL *spare[HR_CLIENT_SPARE]; /* reset easy handles, owned */
	int n_spare;
};

/* Returns an easy handle with default options: a spare one, or a new one (NULL on OOM). */
static CURL *easy_get(struct hr_client *c)
{
	return c->n_spare > 0 ? c->spare[--c->n_spare] : curl_easy_init();
}

/* Takes e back (removed from the multi handle): reset and kept, or cleaned up. */
static void easy_put(struct hr_client *c, CURL *e)
{
	if (c->n_spare < HR_CLIENT_SPARE) {
		curl_easy_reset(e); /* every option back to its default; pooled connections stay */
		c->spare[c->n_spare++] = e;
	} else {
		curl_easy_cleanup(e);
	}
}

struct hr_sock {
	struct event *ev;
	struct hr_client *c;
	short kind; /* the events ev waits for now */
};

struct hr_call {
	struct hr_client *c;
	struct hr_llama_call *local; /* an in-process call (llamacpp://): no curl handle */
	CURL *easy;
	struct curl_slist *hdrs;
	struct hr_call_opts o;
	struct event *fb_timer;   /* first byte: armed at start, cleared at headers */
	struct event *idle_timer; /* re-armed at each piece of the body */
	struct timeval idle_tv;
	int rc;
	long status;
	bool headers_done, canceled, in_cb, paused;
	char retry_after[64];
	struct hr_call *prev, *next;
	char errbuf[CURL_ERROR_SIZE];
};

static void check_multi_info(struct hr_client *c);

static void call_free(struct hr_call *call)
{
	struct hr_client *c = call->c;
	if (call->prev)
		call->prev->next = call->next;
	else
		c->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	if (call->local) {
		if (call->canceled && !call->in_cb)
			hr_llama_call_cancel(call->local);
		if (call->fb_timer)
			event_free(call->fb_timer);
		c->active--;
		free(call);
		return;
	}
	curl_multi_remove_handle(c->multi, call->easy);
	easy_put(c, call->easy);
	curl_slist_free_all(call->hdrs);
	event_free(call->fb_timer);
	event_free(call->idle_timer);
	c->active--;
	free(call);
}

/* Ends the call: reports rc unless cancelled, then frees it. Never from inside a curl
 * callback. */
static void call_finish(struct hr_call *call, int rc)
{
	hr_call_done_cb done = call->o.on_done;
	void *arg = call->o.arg;
	bool canceled = call->canceled;
	call_free(call);
	if (!canceled)
		done(arg, rc);
}

static void on_call_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hr_call *call = arg;
	HR_RLOG_WARN(call->o.rid, HTTP, "upstream '%s' timed out %s", call->o.url,
	             call->headers_done ? "between two chunks" : "before its first byte");
	call_finish(call, HR_ETIMEOUT);
}

static size_t on_header(char *p, size_t size, size_t n, void *arg)
{
	struct hr_call *call = arg;
	size_t len = size * n;
	if (call->canceled || call->rc)
		return 0;
	if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
		size_t i = 12, j = len;
		while (i < j && (p[i] == ' ' || p[i] == '\t'))
			i++;
		while (j > i && (p[j - 1] == '\r' || p[j - 1] == '\n' || p[j - 1] == ' '))
			j--;
		size_t k =
		    j - i < sizeof call->retry_after - 1 ? j - i : sizeof call->retry_after - 1;
		memcpy(call->retry_after, p + i, k);
		call->retry_after[k] = '\0';
		return len;
	}
	if (!(len <= 2 && (p[0] == '\r' || p[0] == '\n')))
		return len;
	long status = 0;
	curl_easy_getinfo(call->easy, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200) /* 100 Continue and friends: the real headers follow */
		return len;
	call->status = status;
	call->headers_done = true;
	event_del(call->fb_timer);
	if (call->o.idle_timeout_ms > 0)
		evtimer_add(call->idle_timer, &call->idle_tv);
	call->in_cb = true;
	int rc = call->o.on_headers(call->o.arg, status,
	                            call->retry_after[0] ? call->retry_after : NULL);
	call->in_cb = false;
	if (rc < 0 || call->canceled) {
		call->rc = rc < 0 ? rc : HR_ECANCELED;
		return 0;
	}
	return len;
}

static size_t on_write(char *p, size_t size, size_t n, void *arg)
{
	struct hr_call *call = arg;
	size_t len = size * n;
	if (call->canceled || call->rc)
		return 0;
	if (call->o.idle_timeout_ms > 0 && !call->paused)
		evtimer_add(call->idle_timer, &call->idle_tv);
	call->in_cb = true;
	int rc = call->o.on_data(call->o.arg, p, len);
	call->in_cb = false;
	if (rc < 0 || call->canceled) {
		call->rc = rc < 0 ? rc : HR_ECANCELED;
		return 0;
	}
	return len;
}

static int map_curl(struct hr_call *call, CURLcode cc)
{
	if (call->rc)
		return call->rc;
	switch (cc) {
	case CURLE_OK: return 0;
	case CURLE_OPERATION_TIMEDOUT: return HR_ETIMEOUT;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_CONNECT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION: return HR_ECONNECT;
	default: return call->headers_done ? HR_ESTREAM_CUT : HR_ECONNECT;
	}
}

static void check_multi_info(struct hr_client *c)
{
	CURLMsg *m;
	int left;
	while ((m = curl_multi_info_read(c->multi, &left))) {
		if (m->msg != CURLMSG_DONE)
			continue;
		struct hr_call *call;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&call);
		CURLcode cc = m->data.result;
		int rc = map_curl(call, cc);
		if (rc && !call->canceled)
			HR_RLOG_DEBUG(call->o.rid, HTTP, "upstream '%s': %s (%s)", call->o.url,
			              hr_err_name(rc),
			              call->errbuf[0] ? call->errbuf : curl_easy_strerror(cc));
		call_finish(call, rc);
	}
}

static void on_socket_event(evutil_socket_t fd, short kind, void *arg)
{
	struct hr_client *c = arg;
	int action =
	    ((kind & EV_READ) ? CURL_CSELECT_IN : 0) | ((kind & EV_WRITE) ? CURL_CSELECT_OUT : 0);
	curl_multi_socket_action(c->multi, fd, action, &c->running);
	check_multi_info(c);
}

static void on_multi_timer(evutil_socket_t fd, short kind, void *arg)
{
	(void)fd, (void)kind;
	struct hr_client *c = arg;
	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &c->running);
	check_multi_info(c);
}

static int sock_cb(CURL *e, curl_socket_t s, int what, void *userp, void *socketp)
{
	(void)e;
	struct hr_client *c = userp;
	struct hr_sock *sk = socketp;
	if (what == CURL_POLL_REMOVE) {
		if (sk) {
			event_free(sk->ev);
			free(sk);
			curl_multi_assign(c->multi, s, NULL);
		}
		return 0;
	}
	short kind = (short)(((what & CURL_POLL_IN) ? EV_READ : 0) |
	                     ((what & CURL_POLL_OUT) ? EV_WRITE : 0) | EV_PERSIST);
	if (!sk) {
		sk = calloc(1, sizeof *sk);
		if (!sk)
			return -1;
		sk->c = c;
		sk->ev = event_new(c->base, s, kind, on_socket_event, c);
		if (!sk->ev) {
			free(sk);
			return -1;
		}
		curl_multi_assign(c->multi, s, sk);
	} else if (sk->kind == kind) {
		return 0; /* unchanged: spare the epoll_ctl calls */
	} else {
		event_del(sk->ev);
		event_assign(sk->ev, c->base, s, kind, on_socket_event, c);
	}
	sk->kind = kind;
	event_add(sk->ev, NULL);
	return 0;
}

static int timer_cb(CURLM *m, long timeout_ms, void *userp)
{
	(void)m;
	struct hr_client *c = userp;
	if (timeout_ms < 0) {
		evtimer_del(c->timer);
	} else if (timeout_ms == 0) {
		/* "act now" (a call was just added): activate the timer event instead of arming
		 * it, so the loop runs it in this pass rather than after one more zero-timeout
		 * epoll_wait. curl forbids acting from inside this callback, hence the event. */
		evtimer_del(c->timer);
		event_active(c->timer, EV_TIMEOUT, 0);
	} else {
		struct timeval tv = {timeout_ms / 1000, (timeout_ms % 1000) * 1000};
		evtimer_add(c->timer, &tv);
	}
	return 0;
}

struct hr_client *hr_client_new(struct event_base *base)
{
	struct hr_client *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->base = base;
	c->multi = curl_multi_init();
	c->timer = evtimer_new(base, on_multi_timer, c);
	if (!c->multi || !c->timer) {
		hr_client_free(c);
		return NULL;
	}
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	/* keep-alive pool: enough idle connections for a busy worker's providers */
	curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, 256L);
	return c;
}

void hr_client_free(struct hr_client *c)
{
	if (!c)
		return;
	while (c->calls) {
		c->calls->canceled = true;
		call_free(c->calls);
	}
	while (c->n_spare > 0)
		curl_easy_cleanup(c->spare[--c->n_spare]);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	if (c->timer)
		event_free(c->timer);
	free(c);
}

int hr_client_active(const struct hr_client *c)
{
	return c->active;
}

static void ms_to_tv(long ms, struct timeval *tv)
{
	tv->tv_sec = ms / 1000;
	tv->tv_usec = (ms % 1000) * 1000;
}

/* ---- in-process calls: the embedded engine (engine/llama.h) behind the same callbacks ---- */

static int local_headers(void *arg, long status)
{
	struct hr_call *call = arg;
	call->in_cb = true;
	int rc = call->o.on_headers ? call->o.on_headers(call->o.arg, status, NULL) : 0;
	call->in_cb = false;
	return call->canceled ? HR_ECANCELED : rc;
}

static int local_data(void *arg, const char *p, size_t n)
{
	struct hr_call *call = arg;
	call->in_cb = true;
	int rc = call->o.on_data(call->o.arg, p, n);
	call->in_cb = false;
	return call->canceled ? HR_ECANCELED : rc;
}

static void local_done(void *arg, int rc)
{
	struct hr_call *call = arg;
	call->in_cb = true; /* the engine has let go of its call: nothing to cancel */
	call_finish(call, rc);
}

/* The whole-call timeout of an in-process call (the model may be slow; the others are about
 * connections and gaps, which it has not). */
static void on_local_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hr_call *call = arg;
	HR_RLOG_WARN(call->o.rid, HTTP, "the in-process model '%s' did not finish in time",
	             call->o.url);
	hr_llama_call_cancel(call->local);
	call->in_cb = true; /* cancelled above: call_free must not cancel it again */
	call_finish(call, HR_ETIMEOUT);
}

static int local_start(struct hr_client *c, const struct hr_call_opts *o, struct hr_call **out)
{
	struct hr_call *call = calloc(1, sizeof *call);
	if (!call)
		return HR_ENOMEM;
	call->c = c;
	call->o = *o;
	if (o->total_timeout_ms > 0 &&
	    !(call->fb_timer = evtimer_new(c->base, on_local_timeout, call))) {
		free(call);
		return HR_ENOMEM;
	}
	struct hr_llama_sink sink = {local_headers, local_data, local_done, call};
	int rc = hr_llama_call_start(c->base, o->url, o->body, o->body_len, &sink, &call->local);
	if (rc < 0) {
		if (call->fb_timer)
			event_free(call->fb_timer);
		free(call);
		return rc;
	}
	if (call->fb_timer) {
		struct timeval tv;
		ms_to_tv(o->total_timeout_ms, &tv);
		evtimer_add(call->fb_timer, &tv);
	}
	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->active++;
	if (out)
		*out = call;
	return 0;
}

int hr_call_start(struct hr_client *c, const struct hr_call_opts *o, struct hr_call **out)
{
	if (hr_llama_url(o->url))
		return local_start(c, o, out);
	struct hr_call *call = calloc(1, sizeof *call);
	if (!call)
		return HR_ENOMEM;
	call->c = c;
	call->o = *o;
	call->easy = easy_get(c);
	call->fb_timer = evtimer_new(c->base, on_call_timeout, call);
	call->idle_timer = evtimer_new(c->base, on_call_timeout, call);
	if (!call->easy || !call->fb_timer || !call->idle_timer)
		goto fail;
	for (const char *const *h = o->headers; h && *h; h++) {
		struct curl_slist *n = curl_slist_append(call->hdrs, *h);
		if (!n)
			goto fail;
		call->hdrs = n;
	}
	/* no "Expect: 100-continue" round trip on larger bodies */
	struct curl_slist *n = curl_slist_append(call->hdrs, "Expect:");
	if (!n)
		goto fail;
	call->hdrs = n;

	CURL *e = call->easy;
	curl_easy_setopt(e, CURLOPT_URL, o->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, call);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, call->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, call->hdrs);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, call);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, call);
	curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	if (o->body) {
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, o->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len);
	}
	if (o->connect_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, o->connect_timeout_ms);
	if (o->total_timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, o->total_timeout_ms);
	ms_to_tv(o->idle_timeout_ms, &call->idle_tv);

	call->next = c->calls;
	if (c->calls)
		c->calls->prev = call;
	c->calls = call;
	c->active++;
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		call->canceled = true;
		call_free(call);
		return HR_EINTERNAL;
	}
	if (o->first_byte_timeout_ms > 0) {
		struct timeval tv;
		ms_to_tv(o->first_byte_timeout_ms, &tv);
		evtimer_add(call->fb_timer, &tv);
	}
	if (out)
		*out = call;
	return 0;
fail:
	if (call->easy)
		easy_put(c, call->easy);
	curl_slist_free_all(call->hdrs);
	if (call->fb_timer)
		event_free(call->fb_timer);
	if (call->idle_timer)
		event_free(call->idle_timer);
	free(call);
	return HR_ENOMEM;
}

void hr_call_cancel(struct hr_call *call)
{
	call->canceled = true;
	if (call->in_cb)
		return; /* the callback's return aborts the transfer; check_multi_info frees */
	call_free(call);
}

void hr_call_pause(struct hr_call *call, bool pause)
{
	/* an in-process answer is produced at the model's pace and buffered (capped) */
	if (call->paused == pause || call->canceled || call->local)
		return;
	call->paused = pause;
	/* a paused call is waiting for our client, not for the provider */
	if (pause)
		event_del(call->idle_timer);
	else if (call->o.idle_timeout_ms > 0 && call->headers_done)
		evtimer_add(call->idle_timer, &call->idle_tv);
	curl_easy_pause(call->easy, pause ? CURLPAUSE_RECV : CURLPAUSE_CONT);
}
