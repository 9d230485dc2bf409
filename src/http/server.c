/* server.c - worker threads with one libevent loop and one evhttp each, sharing one listening
 * socket; cross-thread tasks; signals, reload and bounded graceful shutdown. */
#include "http/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "http/client.h"

#define HR_MAX_WORKERS 16

struct hr_task {
	struct hr_task *next;
	void (*fn)(void *);
	void *arg;
};

struct hr_server {
	struct hr_server_opts o;
	int fd;
	int port;
	int n;
	struct hr_worker w[HR_MAX_WORKERS];
	struct event_base *main_base;
	struct event *sig_term, *sig_int, *sig_hup, *stop_ev;
	atomic_bool stopping;
	int started;
};

/* The worker's wake-up: an eventfd of its own rather than event_active() from the posting
 * thread, which writes libevent's notification fd while holding the base's lock, so the
 * woken loop blocks on that lock at once (a futex wait and wake more per post). */
static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)what;
	struct hr_worker *w = arg;
	uint64_t n;
	/* Drain the counter before taking the list: a post that lands after the swap below
	 * finds the list empty and writes again, so no task waits for a later wake-up. */
	if (fd >= 0 && read(fd, &n, sizeof n) < 0 && errno != EAGAIN)
		HR_LOG_WARN(HTTP, "worker %d: cannot read its wake-up fd: %s", w->id,
		            strerror(errno));
	pthread_mutex_lock(&w->mu);
	struct hr_task *t = w->tasks;
	w->tasks = NULL;
	w->tasks_tail = &w->tasks;
	pthread_mutex_unlock(&w->mu);
	while (t) {
		struct hr_task *next = t->next;
		t->fn(t->arg);
		free(t);
		t = next;
	}
}

int hr_worker_post(struct hr_worker *w, void (*fn)(void *), void *arg)
{
	struct hr_task *t = malloc(sizeof *t);
	if (!t)
		return HR_ENOMEM;
	t->next = NULL;
	t->fn = fn;
	t->arg = arg;
	pthread_mutex_lock(&w->mu);
	bool first = !w->tasks; /* otherwise a wake-up is already on its way */
	*w->tasks_tail = t;
	w->tasks_tail = &t->next;
	pthread_mutex_unlock(&w->mu);
	if (first) {
		uint64_t one = 1;
		/* EAGAIN: the counter is at its maximum, the loop is woken anyway */
		if (write(w->wake_fd, &one, sizeof one) < 0 && errno != EAGAIN)
			HR_LOG_ERROR(HTTP, "worker %d: cannot wake it: %s", w->id, strerror(errno));
	}
	return 0;
}

/* A worker's loop. With the changelist, libevent folds the epoll changes made while one
 * callback runs into one epoll_ctl per socket at the next epoll_wait: answering a request
 * disables reading, watches the peer (hr_req_watch_peer), then drops the watch and enables
 * reading and writing again - several EPOLL_CTL_DEL/ADD/MOD on one fd that mostly cancel
 * out. Its known hazard, a socket dup()ed and closed while watched, does not arise: neither
 * evhttp, libcurl nor hearth dup sockets. */
static struct event_base *worker_base_new(void)
{
	struct event_config *cfg = event_config_new();
	if (!cfg)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *b = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return b;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct hr_worker *w = arg;
	w->srv->o.handler(req, w);
}

static void apply_limits(void *arg)
{
	struct hr_worker *w = arg;
	struct hr_conf *c = hr_conf_current();
	evhttp_set_max_body_size(w->http, (ev_ssize_t)c->server.max_body_bytes);
	evhttp_set_max_headers_size(w->http, (ev_ssize_t)c->server.max_header_bytes);
	struct timeval tv = {c->server.client_timeout_ms / 1000,
	                     (c->server.client_timeout_ms % 1000) * 1000};
	evhttp_set_timeout_tv(w->http, &tv);
	hr_conf_release(c);
}

void hr_server_apply_limits(struct hr_server *s)
{
	for (int i = 0; i < s->n; i++)
		hr_worker_post(&s->w[i], apply_limits, &s->w[i]);
}

static void on_drain_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hr_worker *w = arg;
	if (w->inflight == 0 && w->sending == 0)
		event_base_loopexit(w->base, NULL);
}

static void begin_drain(void *arg)
{
	struct hr_worker *w = arg;
	if (w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
	struct timeval tv = {0, 20 * 1000};
	event_add(w->drain_timer, &tv);
	on_drain_tick(-1, 0, w);
}

static void *worker_main(void *arg)
{
	struct hr_worker *w = arg;
	sigset_t set;
	sigfillset(&set);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* signals go to the main thread */
	event_base_dispatch(w->base);
	return NULL;
}

static int listen_on(const char *host, int port, int *out_fd, int *out_port)
{
	struct addrinfo hints = {0}, *res = NULL;
	char ports[16];
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(ports, sizeof ports, "%d", port);
	int rc = getaddrinfo(host, ports, &hints, &res);
	if (rc != 0) {
		HR_LOG_ERROR(HTTP, "cannot resolve listen address '%s': %s", host,
		             gai_strerror(rc));
		return HR_EIO;
	}
	int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) < 0 || listen(fd, 1024) < 0) {
		int e = errno;
		HR_LOG_ERROR(HTTP, "cannot listen on '%s:%d': %s; %s", host, port, strerror(e),
		             e == EADDRINUSE ? "another process uses the port: stop it or set "
		                               "server.port (HEARTH_SERVER_PORT)"
		                             : "check server.host and server.port");
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return HR_EIO;
	}
	freeaddrinfo(res);
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	getsockname(fd, (struct sockaddr *)&ss, &sl);
	*out_port = ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
	                                           : ((struct sockaddr_in *)&ss)->sin_port);
	*out_fd = fd;
	return 0;
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct hr_server *s = arg;
	if (sig == SIGHUP) {
		HR_LOG_INFO(MAIN, "reloading the configuration (SIGHUP)");
		if (s->o.on_reload)
			s->o.on_reload(s);
		return;
	}
	HR_LOG_INFO(MAIN, "stopping: finishing requests in flight (%s)",
	            sig == SIGINT ? "SIGINT" : "SIGTERM");
	event_base_loopexit(s->main_base, NULL);
}

static void on_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd, (void)what;
	struct hr_server *s = arg;
	event_base_loopexit(s->main_base, NULL);
}

int hr_server_start(const struct hr_server_opts *o, struct hr_server **out)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, (void (*)(void))evthread_use_pthreads);
	signal(SIGPIPE, SIG_IGN);

	struct hr_server *s = calloc(1, sizeof *s);
	if (!s)
		return HR_ENOMEM;
	s->o = *o;
	s->fd = -1;
	s->n = o->workers > 0 ? o->workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (s->n < 1)
		s->n = 1;
	if (s->n > HR_MAX_WORKERS)
		s->n = HR_MAX_WORKERS;
	for (int i = 0; i < s->n; i++)
		s->w[i].wake_fd = -1; /* hr_server_free() closes only what was opened */
	int rc = listen_on(o->host, o->port, &s->fd, &s->port);
	if (rc < 0) {
		free(s);
		return rc;
	}
	s->main_base = event_base_new();
	if (!s->main_base)
		goto nomem;
	s->sig_term = evsignal_new(s->main_base, SIGTERM, on_signal, s);
	s->sig_int = evsignal_new(s->main_base, SIGINT, on_signal, s);
	s->sig_hup = evsignal_new(s->main_base, SIGHUP, on_signal, s);
	s->stop_ev = event_new(s->main_base, -1, 0, on_stop, s);
	if (!s->sig_term || !s->sig_int || !s->sig_hup || !s->stop_ev)
		goto nomem;
	evsignal_add(s->sig_term, NULL);
	evsignal_add(s->sig_int, NULL);
	evsignal_add(s->sig_hup, NULL);

	for (int i = 0; i < s->n; i++) {
		struct hr_worker *w = &s->w[i];
		w->id = i;
		w->srv = s;
		pthread_mutex_init(&w->mu, NULL);
		w->tasks_tail = &w->tasks;
		w->base = worker_base_new();
		if (!w->base)
			goto nomem;
		w->http = evhttp_new(w->base);
		w->client = hr_client_new(w->base);
		w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
		w->wake = w->wake_fd < 0
		              ? NULL
		              : event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake, w);
		w->drain_timer = event_new(w->base, -1, EV_PERSIST, on_drain_tick, w);
		if (!w->http || !w->client || !w->wake || !w->drain_timer ||
		    event_add(w->wake, NULL) < 0)
			goto nomem;
		evhttp_set_allowed_methods(
		    w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT |
		                 EVHTTP_REQ_DELETE | EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
		evhttp_set_gencb(w->http, on_request, w);
		apply_limits(w);
		w->bound = evhttp_accept_socket_with_handle(w->http, s->fd);
		if (!w->bound)
			goto nomem;
	}
	for (int i = 0; i < s->n; i++) {
		if (pthread_create(&s->w[i].thread, NULL, worker_main, &s->w[i]) != 0) {
			HR_LOG_ERROR(MAIN, "cannot start worker thread %d", i);
			s->stopping = true;
			for (int j = 0; j < i; j++) {
				event_base_loopbreak(s->w[j].base);
				pthread_join(s->w[j].thread, NULL);
			}
			hr_server_free(s);
			return HR_EINTERNAL;
		}
		s->started++;
	}
	*out = s;
	return 0;
nomem:
	hr_server_free(s);
	return HR_ENOMEM;
}

int hr_server_run(struct hr_server *s)
{
	event_base_dispatch(s->main_base);
	s->stopping = true;

	struct hr_conf *c = hr_conf_current();
	long budget_ms = c->server.shutdown_timeout_ms;
	hr_conf_release(c);

	for (int i = 0; i < s->started; i++)
		hr_worker_post(&s->w[i], begin_drain, &s->w[i]);
	struct timespec deadline;
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += budget_ms / 1000;
	deadline.tv_nsec += (budget_ms % 1000) * 1000000L;
	if (deadline.tv_nsec >= 1000000000L) {
		deadline.tv_sec++;
		deadline.tv_nsec -= 1000000000L;
	}
	int rc = 0;
	for (int i = 0; i < s->started; i++) {
		if (pthread_timedjoin_np(s->w[i].thread, NULL, &deadline) == 0)
			continue;
		rc = HR_ETIMEOUT;
		event_base_loopbreak(s->w[i].base);
		pthread_join(s->w[i].thread, NULL);
	}
	s->started = 0;
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	return rc;
}

void hr_server_stop(struct hr_server *s)
{
	event_active(s->stop_ev, EV_READ, 1);
}

void hr_server_free(struct hr_server *s)
{
	if (!s)
		return;
	bool dirty = false;
	for (int i = 0; i < s->n; i++)
		dirty |= s->w[i].inflight > 0;
	for (int i = 0; i < s->n && !dirty; i++) {
		struct hr_worker *w = &s->w[i];
		if (w->wake) {
			on_wake(-1, 0, w); /* run what was posted last */
			event_free(w->wake);
		}
		if (w->wake_fd >= 0)
			close(w->wake_fd);
		/* connections before the client: their close callbacks may still use it */
		if (w->http)
			evhttp_free(w->http);
		hr_client_free(w->client);
		if (w->drain_timer)
			event_free(w->drain_timer);
		if (w->base)
			event_base_free(w->base);
		pthread_mutex_destroy(&w->mu);
	}
	if (dirty)
		HR_LOG_WARN(MAIN,
		            "requests were still running at the shutdown deadline; "
		            "they were dropped (raise server.shutdown_timeout_ms to wait longer)");
	if (s->fd >= 0)
		close(s->fd);
	if (s->sig_term)
		event_free(s->sig_term);
	if (s->sig_int)
		event_free(s->sig_int);
	if (s->sig_hup)
		event_free(s->sig_hup);
	if (s->stop_ev)
		event_free(s->stop_ev);
	if (s->main_base)
		event_base_free(s->main_base);
	free(s);
}

bool hr_server_stopping(const struct hr_server *s)
{
	return s->stopping;
}

void *hr_server_user(const struct hr_server *s)
{
	return s->o.user;
}

int hr_server_port(const struct hr_server *s)
{
	return s->port;
}
