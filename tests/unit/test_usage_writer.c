/* test_usage_writer.c - the usage writer thread: exactly-once callbacks from many submitting
 * threads, group commit, drain on stop, HR_EUNAVAIL once stopping, HR_EIO for a failed batch. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/store.h"
#include "storage/usage.h"

#define THREADS    8
#define PER_THREAD 500
#define TOTAL      (THREADS * PER_THREAD)
#define FOREVER_MS 600000L /* a commit interval no test waits out: only stop ends it */

struct fix {
	char dir[128];
	struct hr_store *s;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	struct hr_buf err = HR_BUF_INIT(4096);
	snprintf(f->dir, sizeof f->dir, "/tmp/hearth-test-writer-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	assert_int_equal(hr_store_open(&f->s, f->dir, false, &err), 0);
	hr_buf_release(&err);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	if (f->s)
		f->s->ops->close(f->s);
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static int add_request(void *arg, const struct hr_usage_fact *f)
{
	(void)f;
	++*(int64_t *)arg;
	return 0;
}

static int64_t rows_in(struct hr_store *s)
{
	int64_t n = 0;
	assert_int_equal(s->ops->usage_scan(s, 0, 0, add_request, &n), 0);
	return n;
}

static struct hr_usage *rec(const char *id)
{
	struct hr_usage *u = hr_usage_new(id);
	assert_non_null(u);
	assert_int_equal(hr_usage_set(&u->model_used, "m"), 0);
	u->status = 200;
	u->prompt_tokens = 1;
	return u;
}

/* One slot per record: how often its callback ran and with what. */
static atomic_int calls[TOTAL];
static atomic_int bad_rc;
static atomic_int done_total;

static void count_done(void *arg, int rc)
{
	atomic_fetch_add(&calls[(intptr_t)arg], 1);
	if (rc != 0)
		atomic_fetch_add(&bad_rc, 1);
	atomic_fetch_add(&done_total, 1);
}

static void reset_counts(void)
{
	for (int i = 0; i < TOTAL; i++)
		atomic_store(&calls[i], 0);
	atomic_store(&bad_rc, 0);
	atomic_store(&done_total, 0);
}

struct submitter {
	struct hr_usage_writer *w;
	int first;
};

static void *submit_many(void *arg)
{
	struct submitter *sb = arg;
	char id[40];
	for (int i = 0; i < PER_THREAD; i++) {
		intptr_t slot = sb->first + i;
		snprintf(id, sizeof id, "rec-%ld", (long)slot);
		if (hr_usage_submit(sb->w, rec(id), count_done, (void *)slot) != 0)
			abort();
	}
	return NULL;
}

static void test_many_threads_exactly_once(void **state)
{
	struct fix *f = *state;
	struct hr_usage_writer *w;
	pthread_t th[THREADS];
	struct submitter sb[THREADS];
	struct hr_usage_writer_stats st;

	reset_counts();
	assert_int_equal(hr_usage_writer_start(&w, f->s, 2), 0);
	for (int t = 0; t < THREADS; t++) {
		sb[t] = (struct submitter){w, t * PER_THREAD};
		assert_int_equal(pthread_create(&th[t], NULL, submit_many, &sb[t]), 0);
	}
	for (int t = 0; t < THREADS; t++)
		pthread_join(th[t], NULL);

	/* Every record is called back without stop's help (bounded wait: 60 s). */
	for (int i = 0; i < 6000 && atomic_load(&done_total) < TOTAL; i++)
		usleep(10000);
	assert_int_equal(atomic_load(&done_total), TOTAL);
	hr_usage_writer_stats(w, &st);
	assert_int_equal(st.records, TOTAL);
	assert_int_equal(st.failed, 0);
	assert_int_equal(st.queued, 0);
	assert_true(st.transactions >= TOTAL / 512);
	assert_true(st.transactions < TOTAL); /* group commit shared transactions */
	print_message("      %d records in %llu transactions\n", TOTAL,
	              (unsigned long long)st.transactions);
	hr_usage_writer_stop(w);

	/* After stop: no callback ran twice, none failed, every row is there. */
	for (int i = 0; i < TOTAL; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	assert_int_equal(atomic_load(&bad_rc), 0);
	assert_int_equal(rows_in(f->s), TOTAL);
}

static void test_stop_commits_queued(void **state)
{
	struct fix *f = *state;
	struct hr_usage_writer *w;
	struct hr_usage_writer_stats st;
	char id[40];

	reset_counts();
	assert_int_equal(hr_usage_writer_start(&w, f->s, FOREVER_MS), 0);
	for (intptr_t i = 0; i < 100; i++) {
		snprintf(id, sizeof id, "q-%ld", (long)i);
		assert_int_equal(hr_usage_submit(w, rec(id), count_done, (void *)i), 0);
	}
	/* The writer holds the batch open for company: nothing is written yet. */
	hr_usage_writer_stats(w, &st);
	assert_int_equal(st.queued, 100);
	assert_int_equal(st.records, 0);
	assert_int_equal(rows_in(f->s), 0);

	hr_usage_writer_stop(w); /* wakes the writer, which commits before it exits */
	assert_int_equal(atomic_load(&done_total), 100);
	for (int i = 0; i < 100; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	assert_int_equal(atomic_load(&bad_rc), 0);
	assert_int_equal(rows_in(f->s), 100);
}

/* A callback, run during stop's drain, that tries to queue one more record. */
struct resubmit {
	struct hr_usage_writer *w;
	struct hr_usage *extra;
	int first_rc, submit_rc, extra_calls;
};

static void extra_done(void *arg, int rc)
{
	(void)rc;
	((struct resubmit *)arg)->extra_calls++;
}

static void resubmit_done(void *arg, int rc)
{
	struct resubmit *r = arg;
	r->first_rc = rc;
	r->submit_rc = hr_usage_submit(r->w, r->extra, extra_done, r);
}

static void test_submit_after_stop_unavailable(void **state)
{
	struct fix *f = *state;
	struct resubmit r = {.first_rc = -1, .submit_rc = -1};

	assert_int_equal(hr_usage_writer_start(&r.w, f->s, FOREVER_MS), 0);
	r.extra = rec("extra");
	assert_int_equal(hr_usage_submit(r.w, rec("first"), resubmit_done, &r), 0);
	hr_usage_writer_stop(r.w);

	assert_int_equal(r.first_rc, 0);
	assert_int_equal(r.submit_rc, HR_EUNAVAIL);
	assert_int_equal(r.extra_calls, 0); /* failed now, so never called back */
	hr_usage_free(r.extra);             /* still ours: the writer did not take it */
	assert_int_equal(rows_in(f->s), 1);
}

static void test_failed_batch_reports_eio(void **state)
{
	struct fix *f = *state;
	struct hr_usage_writer *w;

	reset_counts();
	assert_int_equal(hr_usage_writer_start(&w, f->s, FOREVER_MS), 0);
	/* Same request id twice in one batch: the batch's transaction fails as a whole. */
	assert_int_equal(hr_usage_submit(w, rec("ok"), count_done, (void *)0), 0);
	assert_int_equal(hr_usage_submit(w, rec("dup"), count_done, (void *)1), 0);
	assert_int_equal(hr_usage_submit(w, rec("dup"), count_done, (void *)2), 0);
	hr_usage_writer_stop(w);

	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&calls[i]), 1);
	assert_int_equal(atomic_load(&bad_rc), 3);
	assert_int_equal(rows_in(f->s), 0);
}

static int eio_seen;
static void expect_eio(void *arg, int rc)
{
	(void)arg;
	if (rc == HR_EIO)
		eio_seen++;
}

static void test_failed_batch_counted(void **state)
{
	struct fix *f = *state;
	struct hr_usage_writer *w;
	struct hr_usage_writer_stats st;
	struct hr_usage *u = rec("taken");

	assert_int_equal(f->s->ops->usage_insert(f->s, &u, 1), 0);
	hr_usage_free(u);
	eio_seen = 0;
	assert_int_equal(hr_usage_writer_start(&w, f->s, 0), 0);
	assert_int_equal(hr_usage_submit(w, rec("taken"), expect_eio, NULL), 0);
	for (int i = 0; i < 6000; i++) {
		hr_usage_writer_stats(w, &st);
		if (st.records == 1)
			break;
		usleep(10000);
	}
	assert_int_equal(st.records, 1);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.transactions, 1);
	hr_usage_writer_stop(w);
	assert_int_equal(eio_seen, 1);
}

static void test_null_callback_and_idle_stop(void **state)
{
	struct fix *f = *state;
	struct hr_usage_writer *w;

	assert_int_equal(hr_usage_writer_start(&w, f->s, 0), 0);
	hr_usage_writer_stop(w); /* nothing queued: returns at once */

	assert_int_equal(hr_usage_writer_start(&w, f->s, 0), 0);
	assert_int_equal(hr_usage_submit(w, rec("no-callback"), NULL, NULL), 0);
	hr_usage_writer_stop(w);
	assert_int_equal(rows_in(f->s), 1);
	hr_usage_writer_stop(NULL);
}

int main(void)
{
	hr_log_setup(HR_LOG_LVL_ERROR, HR_LOG_TEXT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_many_threads_exactly_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_commits_queued, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_submit_after_stop_unavailable, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_batch_reports_eio, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failed_batch_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_null_callback_and_idle_stop, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
