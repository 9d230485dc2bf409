/* test_store.c - the SQLite store: data directory, migrations, schema guard, usage insert
 * and summary figures, readonly opens beside a writer, and clear errors on disk faults. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/migrations.h"
#include "storage/report.h"
#include "storage/store.h"

#define DAY1 1795564800000LL /* 2026-11-25T00:00:00Z */
#define HOUR 3600000LL

struct fix {
	char dir[128];  /* the temp dir, removed at teardown */
	char data[256]; /* dir/data: the store's data_dir */
	char db[384];   /* dir/data/hearth.db */
	struct hr_buf err;
};

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	chmod(p, 0700);
	return remove(p);
}

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "/tmp/hearth-test-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->data, sizeof f->data, "%s/data", f->dir);
	snprintf(f->db, sizeof f->db, "%s/hearth.db", f->data);
	hr_buf_init(&f->err, 4096);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;
	nftw(f->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	hr_buf_release(&f->err);
	free(f);
	return 0;
}

static struct hr_store *open_ok(struct fix *f, bool readonly)
{
	struct hr_store *s = NULL;
	hr_buf_reset(&f->err);
	int rc = hr_store_open(&s, f->data, readonly, &f->err);
	if (rc != 0)
		fail_msg("open failed: %s: %s", hr_err_name(rc), hr_buf_str(&f->err).ptr);
	assert_non_null(s);
	return s;
}

/* Opens expecting HR_EIO; returns the error text (in f->err). */
static const char *open_fails(struct fix *f, const char *data_dir, bool readonly)
{
	struct hr_store *s = (struct hr_store *)&s; /* must be reset to NULL */
	hr_buf_reset(&f->err);
	assert_int_equal(hr_store_open(&s, data_dir, readonly, &f->err), HR_EIO);
	assert_null(s);
	return hr_buf_str(&f->err).ptr;
}

/* Runs sql on its own connection and returns the first column of the first row. */
static int64_t sql_int(const char *db, const char *sql)
{
	sqlite3 *c;
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(c);
	return v;
}

static void sql_exec(const char *db, const char *sql)
{
	sqlite3 *c;
	assert_int_equal(sqlite3_open_v2(db, &c, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
	                 SQLITE_OK);
	assert_int_equal(sqlite3_exec(c, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(c);
}

static struct hr_usage *rec(const char *id, int64_t ts, const char *used, const char *asked,
                            int64_t pt, int64_t ct, double cost, int status, bool est)
{
	struct hr_usage *u = hr_usage_new(id);
	assert_non_null(u);
	u->ts_ms = ts;
	assert_int_equal(hr_usage_set(&u->model_used, used), 0);
	assert_int_equal(hr_usage_set(&u->model_asked, asked), 0);
	assert_int_equal(hr_usage_set(&u->endpoint, "/v1/chat/completions"), 0);
	u->prompt_tokens = pt;
	u->completion_tokens = ct;
	u->cost_usd = cost;
	u->status = status;
	u->tokens_estimated = est;
	return u;
}

static void test_migration_table_is_contiguous(void **state)
{
	(void)state;
	assert_true(hr_migrations_count >= 1);
	for (size_t i = 0; i < hr_migrations_count; i++) {
		assert_int_equal(hr_migrations[i].version, (int)i + 1);
		assert_non_null(hr_migrations[i].name);
		assert_non_null(hr_migrations[i].sql);
	}
	assert_int_equal(hr_migrations_latest(), (int)hr_migrations_count);
}

static void test_open_creates_dir_and_schema(void **state)
{
	struct fix *f = *state;
	struct stat st;
	/* A missing parent too: data_dir is created like mkdir -p. */
	snprintf(f->data, sizeof f->data, "%s/a/b", f->dir);
	snprintf(f->db, sizeof f->db, "%s/hearth.db", f->data);

	struct hr_store *s = open_ok(f, false);
	assert_int_equal(stat(f->data, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(stat(f->db, &st), 0);
	assert_int_equal(s->ops->schema_version(s), hr_migrations_latest());
	assert_string_equal(s->ops->name, "sqlite");

	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM schema_migrations"),
	                 hr_migrations_latest());
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM schema_migrations"
	                                " WHERE applied_at LIKE '____-__-__T__:__:__Z'"),
	                 hr_migrations_latest());
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'index'"
	                                " AND tbl_name = 'usage_records' AND sql LIKE '%(ts_ms)%'"),
	                 1);

	/* The columns, exactly: name, declared type, NOT NULL, primary key. */
	static const struct {
		const char *name, *type;
		int notnull, pk;
	} cols[] = {
	    {"request_id", "TEXT", 0, 1},
	    {"ts_ms", "INTEGER", 1, 0},
	    {"key_id", "TEXT", 0, 0},
	    {"model_asked", "TEXT", 0, 0},
	    {"model_used", "TEXT", 0, 0},
	    {"provider", "TEXT", 0, 0},
	    {"endpoint", "TEXT", 0, 0},
	    {"stream", "INTEGER", 1, 0},
	    {"prompt_tokens", "INTEGER", 1, 0},
	    {"completion_tokens", "INTEGER", 1, 0},
	    {"cached_tokens", "INTEGER", 1, 0},
	    {"reasoning_tokens", "INTEGER", 1, 0},
	    {"tokens_estimated", "INTEGER", 1, 0},
	    {"cost_usd", "REAL", 1, 0},
	    {"latency_ms", "INTEGER", 1, 0},
	    {"ttfb_ms", "INTEGER", 1, 0},
	    {"status", "INTEGER", 1, 0},
	    {"error_code", "TEXT", 0, 0},
	    {"finish_reason", "TEXT", 0, 0},
	    {"task", "TEXT", 0, 0},
	    {"route", "TEXT", 0, 0},
	    {"attempts", "INTEGER", 1, 0},
	    {"policy", "TEXT", 0, 0},
	    {"user_id", "TEXT", 0, 0},
	    {"team_id", "TEXT", 0, 0},
	    {"origin", "TEXT", 0, 0},
	    {"parent_id", "TEXT", 0, 0},
	    {"locality", "TEXT", 0, 0},
	    {"reference_model", "TEXT", 0, 0},
	    {"reference_cost_usd", "REAL", 1, 0},
	};
	sqlite3 *c;
	sqlite3_stmt *q;
	assert_int_equal(sqlite3_open_v2(f->db, &c, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(c, "PRAGMA table_info(usage_records)", -1, &q, NULL),
	                 SQLITE_OK);
	size_t n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		assert_true(n < sizeof cols / sizeof cols[0]);
		assert_string_equal((const char *)sqlite3_column_text(q, 1), cols[n].name);
		assert_string_equal((const char *)sqlite3_column_text(q, 2), cols[n].type);
		assert_int_equal(sqlite3_column_int(q, 3), cols[n].notnull);
		assert_int_equal(sqlite3_column_int(q, 5), cols[n].pk);
		n++;
	}
	assert_int_equal(n, sizeof cols / sizeof cols[0]);
	sqlite3_finalize(q);
	assert_int_equal(sqlite3_prepare_v2(c, "PRAGMA journal_mode", -1, &q, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(q), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(q, 0), "wal");
	sqlite3_finalize(q);
	sqlite3_close(c);
	s->ops->close(s);
}

static void test_reopen_is_idempotent(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_usage *r = rec("keep-me", DAY1, "m", "m", 1, 2, 0.5, 200, false);
	assert_int_equal(s->ops->usage_insert(s, &r, 1), 0);
	hr_usage_free(r);
	s->ops->close(s);
	/* Mark the applied row so a re-applied migration would show. */
	sql_exec(f->db, "UPDATE schema_migrations SET applied_at = 'first'");

	for (int i = 0; i < 3; i++) {
		s = open_ok(f, false);
		assert_int_equal(s->ops->schema_version(s), hr_migrations_latest());
		s->ops->close(s);
	}
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM schema_migrations"),
	                 hr_migrations_latest());
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM schema_migrations"
	                                " WHERE applied_at = 'first'"),
	                 hr_migrations_latest());
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM usage_records"
	                                " WHERE request_id = 'keep-me'"),
	                 1);
}

static void test_newer_schema_is_refused(void **state)
{
	struct fix *f = *state;
	char sql[128], want[128];
	struct hr_store *s = open_ok(f, false);
	s->ops->close(s);
	int newer = hr_migrations_latest() + 1;
	snprintf(sql, sizeof sql,
	         "INSERT INTO schema_migrations (version, applied_at) VALUES (%d, 'x')", newer);
	sql_exec(f->db, sql);
	snprintf(want, sizeof want,
	         "database schema %d is newer than this hearth (%d); upgrade hearth", newer,
	         hr_migrations_latest());
	assert_string_equal(open_fails(f, f->data, false), want);
	assert_string_equal(open_fails(f, f->data, true), want);
	/* Refusing did not touch the database. */
	assert_int_equal(sql_int(f->db, "SELECT MAX(version) FROM schema_migrations"), newer);
}

/* The report by day and model (storage/report.h) over what the store holds. */
struct rows {
	struct hr_arena *a;
	struct hr_usage_report r;
};

static void summarize(struct hr_store *s, int64_t since, struct rows *rs)
{
	struct hr_usage_query q = {.since_ms = since, .dims = 1u << HR_DIM_MODEL,
	                           .interval = HR_INTERVAL_DAY};
	rs->a = hr_arena_create(0);
	assert_non_null(rs->a);
	assert_int_equal(hr_report_run(s, rs->a, &q, &rs->r), 0);
}

static void check_row(struct rows *rs, size_t i, const char *day, const char *model, int64_t req,
                      int64_t errs, int64_t pt, int64_t ct, double cost, bool est)
{
	char d[16];
	assert_true(i < rs->r.n_cells);
	const struct hr_usage_cell *c = &rs->r.cells[i];
	time_t t = (time_t)(c->period_ms / 1000);
	struct tm tm;
	assert_non_null(gmtime_r(&t, &tm));
	strftime(d, sizeof d, "%Y-%m-%d", &tm);
	assert_string_equal(d, day);
	assert_string_equal(c->dim[HR_DIM_MODEL], model);
	assert_int_equal(c->agg.requests, req);
	assert_int_equal(c->agg.errors, errs);
	assert_int_equal(c->agg.prompt_tokens, pt);
	assert_int_equal(c->agg.completion_tokens, ct);
	assert_true(c->agg.cost_usd == cost); /* binary fractions: exact */
	assert_int_equal(c->agg.estimated, est);
}

static int count_stop(void *arg, const struct hr_usage_fact *f)
{
	(void)f;
	return ++*(int *)arg == 2 ? 7 : 0;
}

static void test_insert_and_summary(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_usage *r[] = {
	    rec("r1", DAY1 + 10 * HOUR, "gpt-4o", "fast", 10, 20, 0.25, 200, false),
	    rec("r2", DAY1 + 11 * HOUR, "gpt-4o", "fast", 5, 7, 0.5, 502, true),
	    rec("r3", DAY1 + 12 * HOUR, NULL, "nope", 0, 0, 0, 404, false),
	    rec("r4", DAY1 + 13 * HOUR, NULL, NULL, 0, 0, 0, 400, false),
	    rec("r5", DAY1 + 24 * HOUR, "gpt-4o", "gpt-4o", 1, 2, 0.125, 200, false),
	    rec("r6", DAY1 + 24 * HOUR - 1, "claude", "claude", 3, 4, 1.0, 399, false),
	};
	size_t n = sizeof r / sizeof r[0];
	assert_int_equal(s->ops->usage_insert(s, r, 4), 0);
	assert_int_equal(s->ops->usage_insert(s, r + 4, n - 4), 0);
	assert_int_equal(s->ops->usage_insert(s, r, 0), 0);

	struct rows rs;
	summarize(s, 0, &rs);
	assert_int_equal(rs.r.n_cells, 5);
	check_row(&rs, 0, "2026-11-25", "-", 1, 1, 0, 0, 0, false);
	check_row(&rs, 1, "2026-11-25", "claude", 1, 0, 3, 4, 1.0, false);
	check_row(&rs, 2, "2026-11-25", "gpt-4o", 2, 1, 15, 27, 0.75, true);
	check_row(&rs, 3, "2026-11-25", "nope", 1, 1, 0, 0, 0, false);
	check_row(&rs, 4, "2026-11-26", "gpt-4o", 1, 0, 1, 2, 0.125, false);

	hr_arena_destroy(rs.a);

	/* since_ms is inclusive and cuts by record time, not by day. */
	summarize(s, DAY1 + 12 * HOUR, &rs);
	assert_int_equal(rs.r.n_cells, 4);
	check_row(&rs, 0, "2026-11-25", "-", 1, 1, 0, 0, 0, false);
	check_row(&rs, 2, "2026-11-25", "nope", 1, 1, 0, 0, 0, false);
	hr_arena_destroy(rs.a);

	/* A callback's non-zero code stops the walk and is returned. */
	int seen = 0;
	assert_int_equal(s->ops->usage_scan(s, 0, 0, count_stop, &seen), 7);
	assert_int_equal(seen, 2);

	for (size_t i = 0; i < n; i++)
		hr_usage_free(r[i]);
	s->ops->close(s);
}

static void test_insert_binds_every_field(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_usage *u = hr_usage_new("req-full");
	u->ts_ms = DAY1 + 1;
	hr_usage_set(&u->key_id, "key-1");
	hr_usage_set(&u->user_id, "usr_1");
	hr_usage_set(&u->team_id, "team_1");
	hr_usage_set(&u->model_asked, "fast");
	hr_usage_set(&u->model_used, "gpt-4o-mini");
	hr_usage_set(&u->provider, "openai");
	hr_usage_set(&u->endpoint, "/v1/chat/completions");
	u->stream = true;
	u->prompt_tokens = 11;
	u->completion_tokens = 22;
	u->cached_tokens = 3;
	u->reasoning_tokens = 4;
	u->tokens_estimated = true;
	u->cost_usd = 0.0625;
	u->latency_ms = 1234;
	u->ttfb_ms = 56;
	u->status = 502;
	hr_usage_set(&u->error_code, "upstream_error");
	hr_usage_set(&u->finish_reason, "length");
	hr_usage_set(&u->origin, "shadow");
	hr_usage_set(&u->parent_id, "req-parent");
	hr_usage_set(&u->locality, "cloud");
	hr_usage_set(&u->reference_model, "gpt-4o");
	u->reference_cost_usd = 0.25;
	struct hr_usage *bare = hr_usage_new("req-bare"); /* NULL strings, ttfb -1 */
	bare->ts_ms = DAY1 + 2;
	struct hr_usage *batch[] = {u, bare};
	assert_int_equal(s->ops->usage_insert(s, batch, 2), 0);

	assert_int_equal(sql_int(f->db,
	                         "SELECT COUNT(*) FROM usage_records WHERE"
	                         " request_id = 'req-full' AND ts_ms = 1795564800001"
	                         " AND key_id = 'key-1' AND model_asked = 'fast'"
	                         " AND user_id = 'usr_1' AND team_id = 'team_1'"
	                         " AND model_used = 'gpt-4o-mini' AND provider = 'openai'"
	                         " AND endpoint = '/v1/chat/completions' AND stream = 1"
	                         " AND prompt_tokens = 11 AND completion_tokens = 22"
	                         " AND cached_tokens = 3 AND reasoning_tokens = 4"
	                         " AND tokens_estimated = 1 AND cost_usd = 0.0625"
	                         " AND latency_ms = 1234 AND ttfb_ms = 56 AND status = 502"
	                         " AND error_code = 'upstream_error' AND finish_reason = 'length'"
	                         " AND origin = 'shadow' AND parent_id = 'req-parent'"
	                         " AND locality = 'cloud' AND reference_model = 'gpt-4o'"
	                         " AND reference_cost_usd = 0.25"),
	                 1);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM usage_records WHERE"
	                                " request_id = 'req-bare' AND key_id IS NULL"
	                                " AND model_asked IS NULL AND model_used IS NULL"
	                                " AND provider IS NULL AND endpoint IS NULL AND stream = 0"
	                                " AND tokens_estimated = 0 AND ttfb_ms = -1 AND status = 0"
	                                " AND error_code IS NULL AND finish_reason IS NULL"),
	                 1);

	/* A batch is one transaction: a duplicate id fails it whole, nothing is kept. */
	struct hr_usage *fresh = hr_usage_new("req-fresh");
	struct hr_usage *bad[] = {fresh, u};
	assert_int_equal(s->ops->usage_insert(s, bad, 2), HR_EIO);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM usage_records"), 2);
	/* ...and the store still works after the failed batch. */
	assert_int_equal(s->ops->usage_insert(s, &fresh, 1), 0);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM usage_records"), 3);

	hr_usage_free(u);
	hr_usage_free(bare);
	hr_usage_free(fresh);
	s->ops->close(s);
}

static void test_usage_get(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_usage *u = hr_usage_new("req-routed");
	u->ts_ms = DAY1 + 5;
	hr_usage_set(&u->model_asked, "task:summarize");
	hr_usage_set(&u->model_used, "llama3");
	hr_usage_set(&u->endpoint, "/v1/chat/completions");
	hr_usage_set(&u->task, "summarize");
	hr_usage_set(&u->route, "task=summarize; via=task; strategy=cascade; model=llama3");
	hr_usage_set(&u->policy, "email:1");
	u->attempts = 3;
	u->stream = true;
	u->completion_tokens = 22;
	u->ttfb_ms = 56;
	u->status = 200;
	assert_int_equal(s->ops->usage_insert(s, &u, 1), 0);

	struct hr_usage *got = NULL;
	assert_int_equal(s->ops->usage_get(s, "req-routed", &got), 0);
	assert_string_equal(got->request_id, "req-routed");
	assert_int_equal(got->ts_ms, DAY1 + 5);
	assert_string_equal(got->model_asked, "task:summarize");
	assert_string_equal(got->model_used, "llama3");
	assert_string_equal(got->task, "summarize");
	assert_string_equal(got->route, u->route);
	assert_string_equal(got->policy, "email:1");
	assert_int_equal(got->attempts, 3);
	assert_int_equal(got->completion_tokens, 22);
	assert_int_equal(got->ttfb_ms, 56);
	assert_int_equal(got->status, 200);
	assert_true(got->stream);
	assert_null(got->provider);
	assert_null(got->error_code);
	hr_usage_free(got);

	got = NULL;
	assert_int_equal(s->ops->usage_get(s, "req-none", &got), HR_ENOTFOUND);
	assert_null(got);
	hr_usage_free(u);
	s->ops->close(s);
}

/* Appends n events "e1".."en" and checks the chain holds. */
static void audit_fill(struct hr_store *s, int n)
{
	char detail[16];
	for (int i = 1; i <= n; i++) {
		snprintf(detail, sizeof detail, "e%d", i);
		struct hr_audit_event ev = {.ts_ms = DAY1 + i,
		                            .actor = "admin",
		                            .action = "config.reload",
		                            .object = "hearth.yaml",
		                            .detail = detail};
		assert_int_equal(s->ops->audit_append(s, &ev), 0);
		assert_int_equal(ev.seq, i);
	}
	struct hr_audit_verdict v;
	assert_int_equal(hr_audit_verify(s, &v), 0);
	assert_int_equal(v.events, n);
	assert_int_equal(v.bad_seq, 0);
}

static int64_t verify_bad(struct hr_store *s, const char **why)
{
	struct hr_audit_verdict v;
	assert_int_equal(hr_audit_verify(s, &v), 0);
	*why = v.why;
	return v.bad_seq;
}

static void test_audit_chain_detects_tampering(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	const char *why = NULL;
	audit_fill(s, 4);
	/* edited */
	sql_exec(f->db, "UPDATE audit_events SET detail = 'e2 (quietly)' WHERE seq = 2");
	assert_int_equal(verify_bad(s, &why), 2);
	assert_string_equal(why, "the event was edited");
	sql_exec(f->db, "UPDATE audit_events SET detail = 'e2' WHERE seq = 2");
	assert_int_equal(verify_bad(s, &why), 0);
	/* any field counts: the time */
	sql_exec(f->db, "UPDATE audit_events SET ts_ms = ts_ms + 1 WHERE seq = 3");
	assert_int_equal(verify_bad(s, &why), 3);
	sql_exec(f->db, "UPDATE audit_events SET ts_ms = ts_ms - 1 WHERE seq = 3");
	/* reordered: two events swap places */
	sql_exec(f->db, "UPDATE audit_events SET seq = -2 WHERE seq = 2;"
	                "UPDATE audit_events SET seq = 2 WHERE seq = 3;"
	                "UPDATE audit_events SET seq = 3 WHERE seq = -2");
	assert_int_equal(verify_bad(s, &why), 2);
	sql_exec(f->db, "UPDATE audit_events SET seq = -2 WHERE seq = 2;"
	                "UPDATE audit_events SET seq = 2 WHERE seq = 3;"
	                "UPDATE audit_events SET seq = 3 WHERE seq = -2");
	assert_int_equal(verify_bad(s, &why), 0);
	/* removed */
	sql_exec(f->db, "DELETE FROM audit_events WHERE seq = 2");
	assert_int_equal(verify_bad(s, &why), 3);
	assert_string_equal(why, "an event before it is missing, or the events were reordered");
	/* renumbered after a removal: the links still do not match */
	sql_exec(f->db, "UPDATE audit_events SET seq = seq - 1 WHERE seq > 2");
	assert_int_equal(verify_bad(s, &why), 2);
	s->ops->close(s);
}

static void test_policy_decisions_are_audited(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_usage *a = hr_usage_new("req-a"), *b = hr_usage_new("req-b");
	hr_usage_set(&a->policy, "card:1");
	a->status = 400;
	struct hr_usage *batch[] = {a, b};
	assert_int_equal(s->ops->usage_insert(s, batch, 2), 0);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM audit_events WHERE"
	                                " action = 'policy.decision' AND object = 'req-a'"
	                                " AND detail = 'card:1 -> HTTP 400'"),
	                 1);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM audit_events"), 1);
	struct hr_audit_verdict v;
	assert_int_equal(hr_audit_verify(s, &v), 0);
	assert_int_equal(v.bad_seq, 0);
	hr_usage_free(a);
	hr_usage_free(b);
	s->ops->close(s);
}

static int count_fact(void *arg, const struct hr_usage_fact *f)
{
	(void)f;
	++*(int64_t *)arg;
	return 0;
}

static int64_t total_requests(struct hr_store *s)
{
	int64_t n = 0;
	assert_int_equal(s->ops->usage_scan(s, 0, 0, count_fact, &n), 0);
	return n;
}

static void test_readonly_beside_writer(void **state)
{
	struct fix *f = *state;
	struct hr_store *rw = open_ok(f, false);
	struct hr_usage *a = rec("a", DAY1, "m", "m", 1, 1, 0, 200, false);
	struct hr_usage *b = rec("b", DAY1, "m", "m", 1, 1, 0, 200, false);
	assert_int_equal(rw->ops->usage_insert(rw, &a, 1), 0);

	struct hr_store *ro = open_ok(f, true);
	assert_int_equal(ro->ops->schema_version(ro), hr_migrations_latest());
	assert_int_equal(total_requests(ro), 1);
	assert_int_equal(rw->ops->usage_insert(rw, &b, 1), 0); /* the writer is not blocked */
	assert_int_equal(total_requests(ro), 2);
	struct hr_usage *c = rec("c", DAY1, "m", "m", 1, 1, 0, 200, false);
	assert_int_equal(ro->ops->usage_insert(ro, &c, 1), HR_EIO); /* readonly means it */
	assert_int_equal(total_requests(rw), 2);

	ro->ops->close(ro);
	rw->ops->close(rw);
	/* And with no writer running (the WAL files are gone after the last close). */
	ro = open_ok(f, true);
	assert_int_equal(total_requests(ro), 2);
	ro->ops->close(ro);
	hr_usage_free(a);
	hr_usage_free(b);
	hr_usage_free(c);
}

/* Enough commits for several checkpoints (each commit adds a few WAL frames; the checkpointer
 * runs every 1000): every record stays readable beside the writer, and the store closes
 * cleanly with its checkpointer (the WAL file is gone after the last close). */
static void test_checkpoints_beside_writer(void **state)
{
	struct fix *f = *state;
	struct hr_store *rw = open_ok(f, false);
	struct hr_store *ro = open_ok(f, true);
	char id[32], wal[512];
	for (int i = 0; i < 3000; i++) {
		snprintf(id, sizeof id, "ck%d", i);
		struct hr_usage *u = rec(id, DAY1 + i, "m", "m", 1, 1, 0, 200, false);
		assert_int_equal(rw->ops->usage_insert(rw, &u, 1), 0);
		hr_usage_free(u);
		if (i % 1000 == 999)
			assert_int_equal(total_requests(ro), i + 1);
	}
	ro->ops->close(ro);
	rw->ops->close(rw);
	snprintf(wal, sizeof wal, "%s-wal", f->db);
	assert_int_equal(access(wal, F_OK), -1);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM usage_records"), 3000);
}

static void test_readonly_needs_a_database(void **state)
{
	struct fix *f = *state;
	struct stat st;
	const char *e = open_fails(f, f->data, true);
	assert_non_null(strstr(e, "no database at '"));
	assert_non_null(strstr(e, f->db));
	assert_int_not_equal(stat(f->data, &st), 0); /* readonly created nothing */

	/* A SQLite file that hearth never migrated. */
	assert_int_equal(mkdir(f->data, 0700), 0);
	sql_exec(f->db, "CREATE TABLE other (x INTEGER)");
	e = open_fails(f, f->data, true);
	assert_non_null(strstr(e, "has no hearth schema"));
}

static void test_data_dir_fault(void **state)
{
	struct fix *f = *state;
	char file[256], sub[384], want[1024];
	snprintf(file, sizeof file, "%s/plain-file", f->dir);
	FILE *fp = fopen(file, "w");
	assert_non_null(fp);
	fclose(fp);

	/* Works as root too: no permission bit lets a directory live under a regular file. */
	snprintf(sub, sizeof sub, "%s/sub", file);
	snprintf(want, sizeof want,
	         "cannot create data directory '%s': Not a directory; set storage.data_dir to a "
	         "writable directory",
	         sub);
	assert_string_equal(open_fails(f, sub, false), want);
	snprintf(want, sizeof want,
	         "cannot create data directory '%s': Not a directory; set storage.data_dir to a "
	         "writable directory",
	         file);
	assert_string_equal(open_fails(f, file, false), want);
	assert_non_null(strstr(open_fails(f, "", false), "storage.data_dir is empty"));

	/* An existing but unwritable directory: only meaningful when not root. */
	if (geteuid() != 0) {
		assert_int_equal(mkdir(f->data, 0500), 0);
		const char *e = open_fails(f, f->data, false);
		assert_non_null(strstr(e, "cannot open database '"));
		assert_non_null(strstr(e, "check that storage.data_dir is writable"));
	}
}

static void test_usage_new_and_set(void **state)
{
	(void)state;
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	struct hr_usage *u = hr_usage_new("0123456789012345678901234567890123456789-too-long");
	assert_non_null(u);
	assert_string_equal(u->request_id, "012345678901234567890123456789012345678");
	assert_true(llabs(u->ts_ms - ((int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000)) < 5000);
	assert_int_equal(u->ttfb_ms, -1);
	assert_null(u->model_used);

	char src[] = "gpt";
	assert_int_equal(hr_usage_set(&u->model_used, src), 0);
	src[0] = 'x'; /* copied, not borrowed */
	assert_string_equal(u->model_used, "gpt");
	assert_int_equal(hr_usage_set(&u->model_used, "other"), 0);
	assert_string_equal(u->model_used, "other");
	assert_int_equal(hr_usage_set(&u->model_used, NULL), 0);
	assert_null(u->model_used);
	hr_usage_free(u);
	hr_usage_free(NULL);

	u = hr_usage_new(NULL);
	assert_string_equal(u->request_id, "");
	hr_usage_free(u);
}

struct scan_out {
	char lines[8][256];
	size_t n;
};

static int scan_cb(void *arg, const struct hr_learn_sample *smp)
{
	struct scan_out *o = arg;
	char *l = o->lines[o->n++];
	int k = snprintf(l, 256, "%s %s %s '%s':", smp->request_id, smp->task, smp->model,
	                 smp->prompt);
	for (size_t i = 0; i < smp->n_scores; i++)
		k += snprintf(l + k, 256 - (size_t)k, " %s/%s=%.2f", smp->scores[i].model,
		              smp->scores[i].source, smp->scores[i].score);
	return 0;
}

static int promo_cb(void *arg, const struct hr_promotion *p)
{
	snprintf(arg, 256, "%s->%s (%s)", p->task, p->model, p->detail);
	return 0;
}

/* Learning online: kept prompts, scores (a later one replaces), the grouped scan, promotions
 * and what hearth's own calls spent. */
static void test_learning_rows(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_learn_sample a = {.request_id = "r1", .task = "t", .model = "big",
	                            .prompt = "first 'prompt'", .ts_ms = DAY1};
	struct hr_learn_sample b = {.request_id = "r2", .task = "t", .model = "small",
	                            .prompt = "second", .ts_ms = DAY1 + 5};
	struct hr_learn_sample c = {.request_id = "r3", .task = "u", .model = "big",
	                            .prompt = "other task", .ts_ms = DAY1 + 1};
	assert_int_equal(s->ops->learn_sample_put(s, &b), 0);
	assert_int_equal(s->ops->learn_sample_put(s, &a), 0);
	assert_int_equal(s->ops->learn_sample_put(s, &c), 0);
	a.prompt = "ignored: the first one kept wins";
	assert_int_equal(s->ops->learn_sample_put(s, &a), 0);
	struct hr_learn_score j1 = {"big", "judge", 0.9}, j2 = {"small", "judge", 0.3},
	                      fb = {"small", "feedback", 1}, j3 = {"big", "judge", 0.5};
	assert_int_equal(s->ops->learn_score_put(s, "r1", "t", &j1, "judge-m", DAY1), 0);
	assert_int_equal(s->ops->learn_score_put(s, "r1", "t", &j2, "judge-m", DAY1), 0);
	assert_int_equal(s->ops->learn_score_put(s, "r2", "t", &fb, "good", DAY1), 0);
	assert_int_equal(s->ops->learn_score_put(s, "r2", "t", &j3, NULL, DAY1), 0);
	j3.score = 0.7; /* replaces */
	assert_int_equal(s->ops->learn_score_put(s, "r2", "t", &j3, NULL, DAY1), 0);
	struct scan_out o = {0};
	assert_int_equal(s->ops->learn_scan(s, "t", scan_cb, &o), 0);
	assert_int_equal(o.n, 2); /* r3 has no scores; it is another task anyway */
	assert_string_equal(o.lines[0], "r1 t big 'first 'prompt'': big/judge=0.90 small/judge=0.30");
	assert_string_equal(o.lines[1], "r2 t small 'second': big/judge=0.70 small/feedback=1.00");
	memset(&o, 0, sizeof o);
	assert_int_equal(s->ops->learn_scan(s, NULL, scan_cb, &o), 0);
	assert_int_equal(o.n, 2);

	char got[256] = "";
	struct hr_promotion p = {.task = "t", .model = "small", .ts_ms = DAY1, .detail = "why"};
	assert_int_equal(s->ops->promotion_set(s, &p), 0);
	assert_int_equal(s->ops->promotion_scan(s, promo_cb, got), 0);
	assert_string_equal(got, "t->small (why)");
	p.model = NULL;
	got[0] = '\0';
	assert_int_equal(s->ops->promotion_set(s, &p), 0);
	assert_int_equal(s->ops->promotion_scan(s, promo_cb, got), 0);
	assert_string_equal(got, "");

	struct hr_usage *u1 = rec("s1", DAY1 + 10, "small", "small", 1, 1, 0.25, 200, false);
	struct hr_usage *u2 = rec("s2", DAY1 + 20, "judge", "judge", 1, 1, 0.5, 200, false);
	struct hr_usage *u3 = rec("c1", DAY1 + 30, "big", "big", 1, 1, 4, 200, false);
	struct hr_usage *u4 = rec("s0", DAY1 - 10, "judge", "judge", 1, 1, 8, 200, false);
	hr_usage_set(&u1->origin, "shadow");
	hr_usage_set(&u2->origin, "judge");
	hr_usage_set(&u4->origin, "judge");
	struct hr_usage *batch[] = {u1, u2, u3, u4};
	for (size_t i = 0; i < 4; i++)
		hr_usage_set(&batch[i]->task, "t");
	hr_usage_set(&u3->team_id, "team_x");
	hr_usage_set(&u3->key_id, "key_a");
	assert_int_equal(s->ops->usage_insert(s, batch, 4), 0);
	double spent = -1;
	assert_int_equal(s->ops->usage_spent_internal(s, "t", DAY1, &spent), 0);
	assert_true(spent == 0.75); /* not the client's call, not yesterday's */
	assert_int_equal(s->ops->usage_spent_internal(s, "u", DAY1, &spent), 0);
	assert_true(spent == 0);
	/* budgets: client requests only (origin NULL), by scope (enum hr_limit_scope) */
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_GLOBAL, NULL, DAY1 - 100, &spent), 0);
	assert_true(spent == 4);
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_TEAM, "team_x", DAY1, &spent), 0);
	assert_true(spent == 4);
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_TEAM, "team_y", DAY1, &spent), 0);
	assert_true(spent == 0);
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_KEY, "key_a", DAY1, &spent), 0);
	assert_true(spent == 4);
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_USER, "usr_a", DAY1, &spent), 0);
	assert_true(spent == 0);
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_TASK, "t", DAY1 + 31, &spent), 0);
	assert_true(spent == 0); /* since a later time */
	assert_int_equal(s->ops->usage_spent(s, HR_SCOPE_TASK, "t", DAY1, &spent), 0);
	assert_true(spent == 4);
	for (size_t i = 0; i < 4; i++)
		hr_usage_free(batch[i]);
	s->ops->close(s);
}

/* ---- identities ---- */

/* Collects what a listing gives: ids joined by ',' and the last object's fields. */
struct seen {
	char ids[512];
	char last_role[32], last_hash[80], last_models[80], last_team[40];
	int64_t last_revoked, last_expires;
	int n;
};

static int seen_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct seen *x = arg;
	const char *id = kind == HR_OBJ_TEAM      ? ((const struct hr_team *)obj)->id
	                 : kind == HR_OBJ_USER    ? ((const struct hr_user *)obj)->id
	                 : kind == HR_OBJ_SESSION ? ((const struct hr_session *)obj)->id
	                                          : ((const struct hr_apikey *)obj)->id;
	size_t n = strlen(x->ids);
	snprintf(x->ids + n, sizeof x->ids - n, "%s%s", n ? "," : "", id);
	x->n++;
	if (kind == HR_OBJ_KEY) {
		const struct hr_apikey *k = obj;
		snprintf(x->last_role, sizeof x->last_role, "%s", k->role);
		snprintf(x->last_hash, sizeof x->last_hash, "%s", k->hash);
		snprintf(x->last_models, sizeof x->last_models, "%s",
		         k->allowed_models ? k->allowed_models : "(null)");
		snprintf(x->last_team, sizeof x->last_team, "%s",
		         k->team_id ? k->team_id : "(null)");
		x->last_revoked = k->revoked_ms;
		x->last_expires = k->expires_ms;
	} else if (kind == HR_OBJ_USER) {
		snprintf(x->last_role, sizeof x->last_role, "%s",
		         ((const struct hr_user *)obj)->role);
	}
	return 0;
}

static struct seen list(struct hr_store *s, enum hr_obj_kind kind, struct hr_obj_filter flt)
{
	struct seen x = {0};
	if (!flt.limit)
		flt.limit = 100;
	assert_int_equal(s->ops->obj_list(s, kind, &flt, seen_cb, &x), 0);
	return x;
}

static void test_identities_put_list_scope_delete(void **state)
{
	struct fix *f = *state;
	struct hr_store *s = open_ok(f, false);
	struct hr_team ta = {"team_a", "Alpha", DAY1}, tb = {"team_b", "Beta", DAY1};
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_TEAM, &ta, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_TEAM, &tb, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_TEAM, &ta, false, NULL), HR_ECONFLICT);

	struct hr_user ua = {"usr_a", "Ann", "ann@example.com", "developer", "team_a", NULL,
	                     DAY1,    false};
	struct hr_user ub = {"usr_b", "Bob", "bob@example.com", "member", "team_b", NULL,
	                     DAY1,    false};
	struct hr_user dup = {"usr_c", "Cat", "ann@example.com", "member", NULL, NULL, DAY1, false};
	struct hr_user ghost = {"usr_d", "Dan", NULL, "member", "team_nope", NULL, DAY1, false};
	struct hr_audit_event ev = {.ts_ms = DAY1,
	                            .actor = "key_admin",
	                            .action = "user.create",
	                            .object = "usr_a",
	                            .detail = "role developer"};
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_USER, &ua, false, &ev), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_USER, &ub, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_USER, &dup, false, NULL), HR_ECONFLICT);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_USER, &ghost, false, NULL), HR_ECONFLICT);
	/* the audit event went in with the change, and only with a change that happened */
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM audit_events WHERE"
	                                " actor = 'key_admin' AND action = 'user.create'"),
	                 1);
	struct hr_audit_event ev2 = {.ts_ms = DAY1,
	                             .actor = "key_admin",
	                             .action = "user.create",
	                             .object = "usr_c",
	                             .detail = "x"};
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_USER, &dup, false, &ev2), HR_ECONFLICT);
	assert_int_equal(sql_int(f->db, "SELECT COUNT(*) FROM audit_events"), 1);

	struct hr_apikey ka = {.id = "key_1",
	                       .prefix = "abcd1234",
	                       .hash = "h1",
	                       .user_id = "usr_a",
	                       .team_id = "team_a",
	                       .role = "developer",
	                       .allowed_models = "[\"echo\"]",
	                       .created_ms = DAY1,
	                       .expires_ms = DAY1 + HOUR};
	struct hr_apikey kt = {.id = "key_2",
	                       .prefix = "efgh5678",
	                       .hash = "h2",
	                       .team_id = "team_a",
	                       .role = "member",
	                       .created_ms = DAY1};
	struct hr_apikey kb = {.id = "key_3",
	                       .prefix = "ijkl9012",
	                       .hash = "h3",
	                       .user_id = "usr_b",
	                       .team_id = "team_b",
	                       .role = "member",
	                       .created_ms = DAY1};
	struct hr_apikey ksame = kb;
	ksame.id = "key_4"; /* the same hash twice is refused */
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &ka, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &kt, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &kb, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &ksame, false, NULL), HR_ECONFLICT);

	/* everything, then pages of two */
	assert_string_equal(list(s, HR_OBJ_KEY, (struct hr_obj_filter){0}).ids,
	                    "key_1,key_2,key_3");
	assert_string_equal(list(s, HR_OBJ_KEY, (struct hr_obj_filter){.limit = 2}).ids,
	                    "key_1,key_2");
	assert_string_equal(list(s, HR_OBJ_KEY, (struct hr_obj_filter){.after = "key_2"}).ids,
	                    "key_3");
	/* a developer of team a: own keys and team a's keys; a member of b: own keys */
	assert_string_equal(
	    list(s, HR_OBJ_KEY, (struct hr_obj_filter){.own_user = "usr_a", .own_team = "team_a"})
	        .ids,
	    "key_1,key_2");
	assert_string_equal(list(s, HR_OBJ_KEY, (struct hr_obj_filter){.own_user = "usr_b"}).ids,
	                    "key_3");
	struct seen one = list(
	    s, HR_OBJ_KEY,
	    (struct hr_obj_filter){.only_id = "key_3", .own_user = "usr_a", .own_team = "team_a"});
	assert_int_equal(one.n, 0); /* another team's key by id: nothing */
	one = list(s, HR_OBJ_KEY, (struct hr_obj_filter){.only_id = "key_1"});
	assert_int_equal(one.n, 1);
	assert_string_equal(one.last_models, "[\"echo\"]");
	assert_int_equal(one.last_expires, DAY1 + HOUR);
	assert_int_equal(one.last_revoked, 0);

	/* lookup by hash; an update (revoke) is seen at once */
	struct seen byh = {0};
	assert_int_equal(s->ops->key_by_hash(s, "h1", seen_cb, &byh), 0);
	assert_string_equal(byh.ids, "key_1");
	assert_string_equal(byh.last_role, "developer");
	assert_int_equal(s->ops->key_by_hash(s, "nope", seen_cb, &byh), HR_ENOTFOUND);
	ka.revoked_ms = DAY1 + 5;
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &ka, true, NULL), 0);
	byh = (struct seen){0};
	assert_int_equal(s->ops->key_by_hash(s, "h1", seen_cb, &byh), 0);
	assert_int_equal(byh.last_revoked, DAY1 + 5);
	struct hr_apikey missing = ka;
	missing.id = "key_9";
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_KEY, &missing, true, NULL), HR_ENOTFOUND);

	/* a user by email; sessions belong to a user */
	assert_string_equal(
	    list(s, HR_OBJ_USER, (struct hr_obj_filter){.email = "bob@example.com"}).ids, "usr_b");
	assert_int_equal(list(s, HR_OBJ_USER, (struct hr_obj_filter){.email = "x@y.z"}).n, 0);
	struct hr_session sess = {"sess_hash", "usr_a", DAY1, DAY1 + HOUR};
	struct hr_session orphan = {"sess_2", "usr_nope", DAY1, DAY1 + HOUR};
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_SESSION, &sess, false, NULL), 0);
	assert_int_equal(s->ops->obj_put(s, HR_OBJ_SESSION, &orphan, false, NULL), HR_ECONFLICT);
	assert_int_equal(
	    list(s, HR_OBJ_SESSION, (struct hr_obj_filter){.only_id = "sess_hash"}).n, 1);
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_SESSION, "sess_hash", NULL), 0);
	assert_int_equal(
	    list(s, HR_OBJ_SESSION, (struct hr_obj_filter){.only_id = "sess_hash"}).n, 0);

	/* users and teams: scoped by id, deletes refused while referenced */
	assert_string_equal(list(s, HR_OBJ_USER, (struct hr_obj_filter){0}).ids, "usr_a,usr_b");
	assert_string_equal(list(s, HR_OBJ_USER, (struct hr_obj_filter){.only_id = "usr_b"}).ids,
	                    "usr_b");
	assert_string_equal(list(s, HR_OBJ_TEAM, (struct hr_obj_filter){0}).ids, "team_a,team_b");
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_TEAM, "team_b", NULL), HR_ECONFLICT);
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_KEY, "key_3", NULL), 0);
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_USER, "usr_b", NULL), 0);
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_TEAM, "team_b", NULL), 0);
	assert_int_equal(s->ops->obj_delete(s, HR_OBJ_TEAM, "team_b", NULL), HR_ENOTFOUND);
	assert_string_equal(list(s, HR_OBJ_TEAM, (struct hr_obj_filter){0}).ids, "team_a");

	struct hr_audit_verdict v;
	assert_int_equal(hr_audit_verify(s, &v), 0);
	assert_int_equal(v.bad_seq, 0);
	s->ops->close(s);
}

int main(void)
{
	hr_log_setup(HR_LOG_LVL_ERROR, HR_LOG_TEXT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_migration_table_is_contiguous),
	    cmocka_unit_test_setup_teardown(test_open_creates_dir_and_schema, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_is_idempotent, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_newer_schema_is_refused, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_and_summary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_usage_get, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_audit_chain_detects_tampering, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_policy_decisions_are_audited, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_insert_binds_every_field, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly_beside_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_checkpoints_beside_writer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_readonly_needs_a_database, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_data_dir_fault, setup, teardown),
	    cmocka_unit_test(test_usage_new_and_set),
	    cmocka_unit_test_setup_teardown(test_learning_rows, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_identities_put_list_scope_delete, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
