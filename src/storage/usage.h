/* usage.h - the usage writer: one thread, group commit. Requests submit a record and get a
 * callback once it is durable (committed), so a response's last byte can wait for its
 * record. Many records share one transaction: the writer takes everything queued, commits
 * once, then calls each record's callback. */
#ifndef HR_USAGE_H
#define HR_USAGE_H

#include "storage/store.h"

struct hr_usage_writer;

/* Called on the writer thread after the record's transaction: rc is 0 or HR_EIO. Must be
 * quick and thread-safe (typically: hand the result back to the request's event loop). */
typedef void (*hr_usage_done_cb)(void *arg, int rc);

/* Starts the writer thread on an open store (borrowed; must outlive the writer).
 * Returns 0 or HR_ENOMEM/HR_EINTERNAL. */
int hr_usage_writer_start(struct hr_usage_writer **out, struct hr_store *s,
			  long commit_interval_ms);
/* Queues rec (ownership passes to the writer, which frees it after the callback).
 * done may be NULL. Fails now (returning HR_EUNAVAIL and never calling back, rec not taken)
 * only when the writer is stopping; otherwise calls back exactly once. */
int hr_usage_submit(struct hr_usage_writer *w, struct hr_usage *rec, hr_usage_done_cb done,
		    void *arg);
/* Commits what is queued, stops the thread, frees the writer. */
void hr_usage_writer_stop(struct hr_usage_writer *w);

#endif
