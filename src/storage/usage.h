/* usage.h - the usage writer: one thread, group commit. Requests submit a record and get a
 * callback once it is durable (committed), so a response's last byte can wait for its
 * record. Many records share one transaction: the writer takes everything queued, commits
 * once, then calls each record's callback. */
#ifndef HR_USAGE_H
#define HR_USAGE_H

#include <stdint.h>

#include "storage/store.h"

struct hr_usage_writer;

/* Called on the writer thread after the record's transaction: rc is 0 or HR_EIO. Must be
 * quick and thread-safe (typically: hand the result back to the request's event loop). */
typedef void (*hr_usage_done_cb)(void *arg, int rc);

/* Starts the writer thread on an open store (borrowed; must outlive the writer).
 * Returns 0 or HR_ENOMEM/HR_EINTERNAL. */
int hr_usage_writer_start(struct hr_usage_writer **out, struct hr_store *s,
                          long commit_interval_ms);
/* Queues rec (ownership passes to the writer, which frees it after the callback); rec must
 * come from hr_usage_new(). done may be NULL. Fails now (returning HR_EUNAVAIL and never calling
 * back, rec not taken) only when the writer is stopping; otherwise calls back exactly once. */
int hr_usage_submit(struct hr_usage_writer *w, struct hr_usage *rec, hr_usage_done_cb done,
                    void *arg);
/* Commits what is queued, stops the thread, frees the writer. NULL is a no-op. */
void hr_usage_writer_stop(struct hr_usage_writer *w);

/* Counters since the writer started, for metrics and tests. */
struct hr_usage_writer_stats {
	uint64_t records;      /* records handed to the store (committed or failed) */
	uint64_t transactions; /* batches written, one transaction each */
	uint64_t failed;       /* records whose callback got an error */
	uint64_t queued;       /* records waiting now */
};
/* Copies the counters into *out. Thread-safe. */
void hr_usage_writer_stats(struct hr_usage_writer *w, struct hr_usage_writer_stats *out);

#endif
