/* server.h - the HTTP/1.1 server: one libevent loop per worker thread, all accepting on one
 * listening socket, each with its own outbound client (client.h). The main thread owns the
 * signals: SIGHUP reloads, SIGTERM/SIGINT drain in-flight requests and stop. */
#ifndef HR_SERVER_H
#define HR_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

struct event_base;
struct evhttp;
struct evhttp_request;
struct evhttp_bound_socket;
struct event;
struct hr_client;
struct hr_conf;
struct hr_server;

struct hr_task; /* a closure posted to a worker from another thread */

/* Fields are read by the API layer on the worker's own thread; written only by server.c. */
struct hr_worker {
	int id;
	struct hr_server *srv;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct hr_client *client; /* outbound calls from this loop */
	pthread_t thread;
	int inflight;       /* requests accepted and not yet answered (worker thread only) */
	int sending;        /* answered, last bytes not yet written to the socket */
	struct event *wake; /* reads wake_fd: tasks were posted */
	int wake_fd;        /* an eventfd; -1 until created */
	struct event *drain_timer;
	pthread_mutex_t mu; /* guards tasks */
	struct hr_task *tasks, **tasks_tail;
};

/* Handles one request on worker w's thread; it must answer it, now or later. */
typedef void (*hr_request_handler)(struct evhttp_request *req, struct hr_worker *w);
/* Called on the main thread at SIGHUP. */
typedef void (*hr_reload_handler)(struct hr_server *srv);

struct hr_server_opts {
	const char *host;
	int port;
	int workers;
	hr_request_handler handler;
	hr_reload_handler on_reload;
	void *user; /* the API layer's shared state (store, usage writer) */
};

/* Binds the listener and starts the worker threads with the current config snapshot's
 * HTTP limits. Returns 0 or HR_EIO (address in use etc., with the cause logged) / HR_ENOMEM.
 * *out is owned by the caller: hr_server_free() after hr_server_run() returns. */
int hr_server_start(const struct hr_server_opts *o, struct hr_server **out);
/* Runs the main thread's signal loop until SIGTERM/SIGINT (or hr_server_stop()), then drains
 * the workers for at most shutdown_timeout_ms and joins them. Returns 0, or HR_ETIMEOUT
 * when requests were still running at the deadline. */
int hr_server_run(struct hr_server *s);
/* Asks the server to stop, as SIGTERM does (thread-safe). */
void hr_server_stop(struct hr_server *s);
void hr_server_free(struct hr_server *s);

bool hr_server_stopping(const struct hr_server *s);
void *hr_server_user(const struct hr_server *s);
/* The port actually bound (useful with port 0). */
int hr_server_port(const struct hr_server *s);
/* Re-applies the HTTP limits of the current config snapshot on every worker. */
void hr_server_apply_limits(struct hr_server *s);

/* Runs fn(arg) on w's loop thread, soon. Thread-safe. Returns 0 or HR_ENOMEM (then fn is
 * not called). */
int hr_worker_post(struct hr_worker *w, void (*fn)(void *), void *arg);

#endif
