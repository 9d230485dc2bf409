/* usage.c - the usage writer thread: a mutex+condvar FIFO of records, drained in batches
 * of up to HR_USAGE_BATCH_MAX, each batch one store transaction (group commit). */
#include "storage/usage.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>

#include "core/err.h"
#include "core/log.h"
#include "storage/usage_int.h"

/* Most records in one transaction: bounds the time one commit holds the write lock. */
#define HR_USAGE_BATCH_MAX 512

/* Invariant: head, tail, queued, stopping and stats are read and written with lock held;
 * batch is used by the writer thread only. */
struct hr_usage_writer {
	struct hr_store *store; /* borrowed */
	long interval_ms;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* signalled: first record queued, a full batch queued, stop */
	struct hr_usage_entry *head, *tail;
	size_t queued;
	bool stopping;
	struct hr_usage_writer_stats stats;
	struct hr_usage *batch[HR_USAGE_BATCH_MAX];
};

/* With lock held: waits up to interval_ms more for records to join the batch, unless a full
 * batch is already queued or the writer is stopping. */
static void wait_for_group(struct hr_usage_writer *w)
{
	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += w->interval_ms / 1000;
	dl.tv_nsec += (w->interval_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	while (!w->stopping && w->queued < HR_USAGE_BATCH_MAX)
		if (pthread_cond_timedwait(&w->cond, &w->lock, &dl) == ETIMEDOUT)
			break;
}

/* Writes w->batch[0..n) and calls its callbacks; runs without the lock. */
static void write_batch(struct hr_usage_writer *w, size_t n)
{
	int rc = w->store->ops->usage_insert(w->store, w->batch, n);
	if (rc < 0)
		HR_LOG_ERROR(STORE, "lost %zu usage records: %s", n, hr_err_msg(rc));

	pthread_mutex_lock(&w->lock);
	w->stats.records += n;
	w->stats.transactions++;
	if (rc < 0)
		w->stats.failed += n;
	pthread_mutex_unlock(&w->lock);

	for (size_t i = 0; i < n; i++) {
		struct hr_usage_entry *e = (struct hr_usage_entry *)w->batch[i];
		if (e->done)
			e->done(e->arg, rc);
		hr_usage_free(&e->u);
	}
}

static void *writer_main(void *arg)
{
	struct hr_usage_writer *w = arg;
	bool idle = true; /* the writer starts idle: the first batch waits for company too */

	pthread_mutex_lock(&w->lock);
	for (;;) {
		while (!w->head && !w->stopping)
			pthread_cond_wait(&w->cond, &w->lock);
		if (!w->head)
			break; /* stopping, and everything is written */
		/* Group commit: records that queued while a transaction ran go at once; the
		 * first record after a quiet spell waits for company. */
		if (idle && w->interval_ms > 0)
			wait_for_group(w);

		size_t n = 0;
		while (n < HR_USAGE_BATCH_MAX && w->head) {
			w->batch[n++] = &w->head->u;
			w->head = w->head->next;
		}
		if (!w->head)
			w->tail = NULL;
		w->queued -= n;
		pthread_mutex_unlock(&w->lock);

		write_batch(w, n);

		pthread_mutex_lock(&w->lock);
		idle = !w->head;
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int hr_usage_writer_start(struct hr_usage_writer **out, struct hr_store *s, long commit_interval_ms)
{
	struct hr_usage_writer *w;
	pthread_condattr_t ca;
	sigset_t all, old;

	*out = NULL;
	if (!(w = calloc(1, sizeof *w)))
		return HR_ENOMEM;
	w->store = s;
	w->interval_ms = commit_interval_ms > 0 ? commit_interval_ms : 0;
	pthread_mutex_init(&w->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&w->cond, &ca);
	pthread_condattr_destroy(&ca);

	/* The writer takes no signals: they stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&w->thread, NULL, writer_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		HR_LOG_ERROR(STORE, "cannot start the usage writer thread: error %d", rc);
		pthread_cond_destroy(&w->cond);
		pthread_mutex_destroy(&w->lock);
		free(w);
		return HR_EINTERNAL;
	}
	*out = w;
	return 0;
}

int hr_usage_submit(struct hr_usage_writer *w, struct hr_usage *rec, hr_usage_done_cb done,
                    void *arg)
{
	struct hr_usage_entry *e = (struct hr_usage_entry *)rec;

	pthread_mutex_lock(&w->lock);
	if (w->stopping) {
		pthread_mutex_unlock(&w->lock);
		return HR_EUNAVAIL;
	}
	e->done = done;
	e->arg = arg;
	e->next = NULL;
	if (w->tail)
		w->tail->next = e;
	else
		w->head = e;
	w->tail = e;
	w->queued++;
	/* Wake the writer when it waits for work or a full batch waits for it. The signal
	 * goes after the unlock: a writer woken while we still held the lock would block on
	 * it at once (a futex wait and wake more, and a context switch, per record). */
	bool wake = w->queued == 1 || w->queued >= HR_USAGE_BATCH_MAX;
	pthread_mutex_unlock(&w->lock);
	if (wake)
		pthread_cond_signal(&w->cond);
	return 0;
}

void hr_usage_writer_stop(struct hr_usage_writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->cond);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->cond);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

void hr_usage_writer_stats(struct hr_usage_writer *w, struct hr_usage_writer_stats *out)
{
	pthread_mutex_lock(&w->lock);
	*out = w->stats;
	out->queued = w->queued;
	pthread_mutex_unlock(&w->lock);
}
