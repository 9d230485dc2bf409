/* sqlite.c - the SQLite storage backend (hr_store_sqlite): <data_dir>/hearth.db in WAL mode,
 * migrations applied at open, one cached insert statement for usage records, and WAL
 * checkpoints on a thread of their own so that no commit waits for their fsyncs. */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/conf.h"
#include "core/err.h"
#include "core/log.h"
#include "storage/migrations.h"
#include "storage/store.h"

/* How long a statement waits for another connection's lock before failing (ms). */
#define SQ_BUSY_TIMEOUT_MS 5000
/* The oldest schema whose tables this binary's read queries understand; a readonly open
 * (which cannot migrate) accepts any version from here to hr_migrations_latest(). */
#define SQ_MIN_READ_VERSION 1
/* WAL frames (pages) after which the checkpointer copies them into the database file:
 * SQLite's own wal_autocheckpoint default, so the WAL stays about 4 MiB. */
#define SQ_CKPT_FRAMES 1000
/* A checkpoint pass leaves behind the frames committed while it ran. Unlocked passes repeat
 * while more than this many are left, so the last pass, which holds off the writer, has
 * little to copy and sync. */
#define SQ_CKPT_TAIL 64
/* Most unlocked passes per checkpoint before the locked one. */
#define SQ_CKPT_PASSES 4

/* Invariant: every use of db and ins happens with lock held, so the ops are thread-safe
 * (the connection is opened with SQLITE_OPEN_NOMUTEX; this mutex is the only guard). */
struct sq_store {
	struct hr_store base; /* first, so a struct hr_store * is a struct sq_store * */
	pthread_mutex_t lock;
	sqlite3 *db;
	sqlite3_stmt *ins; /* cached usage insert; NULL when readonly */
	/* cached BEGIN IMMEDIATE and COMMIT of the usage insert: sqlite3_exec() would parse
	 * and compile them at every transaction (about half the writer's instructions per
	 * lone record); NULL when readonly */
	sqlite3_stmt *begin, *commit;
	sqlite3_stmt *used; /* cached: a key's last_used_ms, from its usage records */
	bool readonly;
	int version;
	char path[PATH_MAX];
	/* The checkpointer (read-write opens only): its own connection ck_db, used by its
	 * thread only. ck_wanted, ck_stop, ck_due and ck_last are guarded by ck_mu. */
	sqlite3 *ck_db;
	pthread_t ck_thread;
	bool ck_started;
	pthread_mutex_t ck_mu;
	pthread_cond_t ck_cond; /* signalled: a checkpoint is due, or stop */
	bool ck_wanted, ck_stop;
	int ck_due;  /* WAL size (frames) at which the next checkpoint is due */
	int ck_last; /* WAL size after the last commit: a smaller one means the WAL restarted */
};

static const char usage_insert_sql[] =
    "INSERT INTO usage_records (request_id, ts_ms, key_id, model_asked, model_used, provider,"
    " endpoint, stream, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens,"
    " tokens_estimated, cost_usd, latency_ms, ttfb_ms, status, error_code, finish_reason,"
    " task, route, attempts, policy, user_id, team_id, origin, parent_id, locality,"
    " reference_model, reference_cost_usd)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
    " ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30)";

/* A key's last use, to the minute: rows are rewritten at most once a minute per key. */
static const char key_used_sql[] = "UPDATE api_keys SET last_used_ms = ?1 WHERE id = ?2"
                                   " AND (last_used_ms IS NULL OR last_used_ms < ?1 - 60000)";


static void errf(struct hr_buf *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void errf(struct hr_buf *err, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (err) {
		size_t n = strlen(msg), room = err->max - err->len;
		hr_buf_add(err, msg, n < room ? n : room); /* a small err keeps what fits */
	} else
		HR_LOG_ERROR(STORE, "%s", msg);
}

/* Creates dir and its missing parents with mode 0700 (mkdir -p). Returns 0 or HR_EIO. */
static int make_dir(const char *dir, struct hr_buf *err)
{
	char path[PATH_MAX], eb[128];
	struct stat st;
	size_t n = strlen(dir);
	int e = 0;

	if (n >= sizeof path) {
		e = ENAMETOOLONG;
		goto fail;
	}
	memcpy(path, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		char c = path[i];
		path[i] = '\0';
		if (stat(path, &st) != 0 && mkdir(path, 0700) != 0 && errno != EEXIST) {
			e = errno;
			goto fail;
		}
		path[i] = c;
	}
	if (stat(dir, &st) != 0) {
		e = errno;
		goto fail;
	}
	if (!S_ISDIR(st.st_mode)) {
		e = ENOTDIR;
		goto fail;
	}
	return 0;
fail:
	errf(err,
	     "cannot create data directory '%s': %s; set storage.data_dir to a writable "
	     "directory",
	     dir, strerror_r(e, eb, sizeof eb));
	return HR_EIO;
}

/* Runs one or more statements that return no rows. Returns the SQLite code. */
static int sq_exec(struct sq_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL);
}

static void sq_rollback(struct sq_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sq_exec(s, "ROLLBACK");
}

/* Reads the applied schema version into *out (0 when none). Returns the SQLite code. */
static int read_version(struct sq_store *s, int *out)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

static int refuse_newer(struct sq_store *s, int v, struct hr_buf *err)
{
	errf(err, "database schema %d is newer than this hearth (%d); upgrade hearth", v,
	     hr_migrations_latest());
	HR_LOG_DEBUG(STORE, "refused '%s' at schema %d", s->path, v);
	return HR_EIO;
}

/* Applies one migration in its own transaction. Returns 0 or HR_EIO. */
static int apply_one(struct sq_store *s, const struct hr_migration *m, int *version,
                     struct hr_buf *err)
{
	char when[32];
	struct tm tm;
	sqlite3_stmt *st = NULL;
	time_t now = time(NULL);
	int cur = 0;

	/* IMMEDIATE takes the write lock now, so two processes opening the same database
	 * at once apply each migration once: the second sees the first's row and skips. */
	int rc = sq_exec(s, "BEGIN IMMEDIATE");
	if (rc == SQLITE_OK)
		rc = read_version(s, &cur);
	if (rc != SQLITE_OK)
		goto fail;
	if (cur > hr_migrations_latest()) {
		sq_rollback(s);
		return refuse_newer(s, cur, err);
	}
	if (cur >= m->version) {
		*version = cur;
		return sq_exec(s, "COMMIT") == SQLITE_OK ? 0 : (sq_rollback(s), HR_EIO);
	}
	if ((rc = sq_exec(s, m->sql)) != SQLITE_OK)
		goto fail;
	gmtime_r(&now, &tm);
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
	rc = sqlite3_prepare_v2(
	    s->db, "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)", -1, &st,
	    NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int(st, 1, m->version);
		sqlite3_bind_text(st, 2, when, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		sqlite3_finalize(st);
	}
	if (rc != SQLITE_OK || (rc = sq_exec(s, "COMMIT")) != SQLITE_OK)
		goto fail;
	*version = m->version;
	HR_LOG_INFO(STORE, "applied migration %d '%s' to '%s'", m->version, m->name, s->path);
	return 0;
fail:
	errf(err, "migration %d '%s' failed on '%s': %s", m->version, m->name, s->path,
	     sqlite3_errmsg(s->db));
	sq_rollback(s);
	return HR_EIO;
}

static int migrate(struct sq_store *s, struct hr_buf *err)
{
	int v = 0;
	if (sq_exec(s, HR_MIGRATIONS_TABLE_SQL) != SQLITE_OK || read_version(s, &v) != SQLITE_OK) {
		errf(err, "cannot read the schema version of '%s': %s", s->path,
		     sqlite3_errmsg(s->db));
		return HR_EIO;
	}
	if (v > hr_migrations_latest())
		return refuse_newer(s, v, err);
	for (size_t i = 0; i < hr_migrations_count; i++) {
		if (hr_migrations[i].version <= v)
			continue;
		int rc = apply_one(s, &hr_migrations[i], &v, err);
		if (rc < 0)
			return rc;
	}
	s->version = v;
	return 0;
}

/* Readonly opens cannot migrate: they accept the schemas their queries understand. */
static int check_schema(struct sq_store *s, struct hr_buf *err)
{
	sqlite3_stmt *st;
	int v = 0, have = 0;
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT COUNT(*) FROM sqlite_master"
	                            " WHERE type = 'table' AND name = 'schema_migrations'",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		have = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && have)
		rc = read_version(s, &v);
	if (rc != SQLITE_OK) {
		errf(err, "cannot read the schema version of '%s': %s", s->path,
		     sqlite3_errmsg(s->db));
		return HR_EIO;
	}
	if (v > hr_migrations_latest())
		return refuse_newer(s, v, err);
	if (v < SQ_MIN_READ_VERSION) {
		errf(err,
		     "database '%s' has no hearth schema; start 'hearth serve' once to create "
		     "it",
		     s->path);
		return HR_EIO;
	}
	s->version = v;
	return 0;
}

/* Connection settings. WAL lets readers (the `hearth usage` CLI) run while the server
 * writes. synchronous=NORMAL is safe with WAL: a commit cannot corrupt the database and
 * survives a crash of hearth itself; only an OS crash or power loss may lose the last
 * commits before the next WAL sync. That trade buys one fsync per checkpoint instead of
 * one per transaction. */
static int configure(struct sq_store *s, struct hr_buf *err)
{
	sqlite3_extended_result_codes(s->db, 1);
	sqlite3_busy_timeout(s->db, SQ_BUSY_TIMEOUT_MS);
	if (sq_exec(s, "PRAGMA foreign_keys = ON") != SQLITE_OK)
		goto fail;
	if (s->readonly)
		return 0;

	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL) != SQLITE_OK)
		goto fail;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *mode = (const char *)sqlite3_column_text(st, 0);
		if (!mode || strcmp(mode, "wal") != 0)
			HR_LOG_WARN(STORE,
			            "'%s' is in journal mode '%s', not 'wal'; readers will "
			            "block the writer",
			            s->path, mode ? mode : "?");
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		goto fail;
	if (sq_exec(s, "PRAGMA synchronous = NORMAL") != SQLITE_OK)
		goto fail;
	return 0;
fail:
	errf(err, "cannot configure database '%s': %s", s->path, sqlite3_errmsg(s->db));
	return HR_EIO;
}

/* Writer's connection, after each commit (with s->lock held): replaces SQLite's automatic
 * checkpoint, which would run here, on the writer thread, and make the records of this
 * commit (and every record queued behind it) wait for two fsyncs - milliseconds, the
 * latency tail of a quiet server. Instead the checkpointer thread is woken. */
static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int frames)
{
	(void)db, (void)name;
	struct sq_store *s = arg;
	pthread_mutex_lock(&s->ck_mu);
	if (frames < s->ck_last) /* the WAL restarted from its beginning */
		s->ck_due = SQ_CKPT_FRAMES;
	s->ck_last = frames;
	if (frames >= s->ck_due && !s->ck_wanted) {
		s->ck_wanted = true;
		pthread_cond_signal(&s->ck_cond);
	}
	pthread_mutex_unlock(&s->ck_mu);
	return SQLITE_OK;
}

/* One PASSIVE checkpoint on the checkpointer's connection: copies what it can, waits for no
 * one. Returns the frames it copied (the WAL's beginning up to there is in the database
 * file), or -1 when it could not run (busy, error). */
static int ckpt_pass(struct sq_store *s)
{
	int log = 0, done = 0;
	int rc = sqlite3_wal_checkpoint_v2(s->ck_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc != SQLITE_OK) {
		if (rc != SQLITE_BUSY)
			HR_LOG_WARN(STORE, "checkpoint of '%s' failed: %s", s->path,
			            sqlite3_errmsg(s->ck_db));
		return -1;
	}
	return done;
}

/* Frames committed to the WAL and not yet copied by a pass that copied `done`. */
static int ckpt_left(struct sq_store *s, int done)
{
	pthread_mutex_lock(&s->ck_mu);
	int left = s->ck_last - done; /* negative: the WAL has restarted since */
	pthread_mutex_unlock(&s->ck_mu);
	return left;
}

/* The checkpointer thread. SQLite can restart the WAL from its beginning (so that it stops
 * growing) only when a checkpoint has copied every frame and no commit came after it. The
 * big passes run beside the writer; the last one holds s->lock, so the writer waits, but
 * only for the few frames committed during the previous pass. */
static void *ckpt_main(void *arg)
{
	struct sq_store *s = arg;
	pthread_mutex_lock(&s->ck_mu);
	for (;;) {
		while (!s->ck_wanted && !s->ck_stop)
			pthread_cond_wait(&s->ck_cond, &s->ck_mu);
		if (s->ck_stop)
			break;
		pthread_mutex_unlock(&s->ck_mu);

		int done = -1, left = 0, passes = 0;
		while (passes < SQ_CKPT_PASSES) {
			passes++;
			if ((done = ckpt_pass(s)) < 0 ||
			    (left = ckpt_left(s, done)) <= SQ_CKPT_TAIL)
				break;
		}
		if (done >= 0 && left > 0) {
			pthread_mutex_lock(&s->lock);
			done = ckpt_pass(s);
			pthread_mutex_unlock(&s->lock);
			passes++;
		}
		HR_LOG_DEBUG(STORE, "checkpoint of '%s': %d passes, %d frames left before the last",
		             s->path, passes, left);

		pthread_mutex_lock(&s->ck_mu);
		s->ck_wanted = false;
		/* When the WAL could not restart (a reader such as `hearth usage` holds an old
		 * snapshot, or a pass failed), wait for another SQ_CKPT_FRAMES before trying
		 * again rather than checkpointing after every commit. */
		if (s->ck_last >= s->ck_due)
			s->ck_due = s->ck_last + SQ_CKPT_FRAMES;
	}
	pthread_mutex_unlock(&s->ck_mu);
	return NULL;
}

/* Opens the checkpointer's connection and starts its thread. Returns 0 or HR_EIO. */
static int ckpt_start(struct sq_store *s, struct hr_buf *err)
{
	sigset_t all, old;
	if (sqlite3_open_v2(s->path, &s->ck_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_busy_timeout(s->ck_db, SQ_BUSY_TIMEOUT_MS) != SQLITE_OK ||
	    sqlite3_exec(s->ck_db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) != SQLITE_OK) {
		errf(err, "cannot open the checkpointer's connection to '%s': %s", s->path,
		     s->ck_db ? sqlite3_errmsg(s->ck_db) : "out of memory");
		return HR_EIO;
	}
	/* The thread takes no signals: they stay with the event loop's thread. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&s->ck_thread, NULL, ckpt_main, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		errf(err, "cannot start the checkpointer thread: error %d", rc);
		return HR_EIO;
	}
	s->ck_started = true;
	/* From here on the writer's commits wake the checkpointer (and SQLite no longer
	 * checkpoints by itself: a WAL hook replaces wal_autocheckpoint). */
	sqlite3_wal_hook(s->db, on_wal_commit, s);
	return 0;
}

static void ckpt_stop(struct sq_store *s)
{
	if (s->ck_started) {
		pthread_mutex_lock(&s->ck_mu);
		s->ck_stop = true;
		pthread_cond_signal(&s->ck_cond);
		pthread_mutex_unlock(&s->ck_mu);
		pthread_join(s->ck_thread, NULL);
		s->ck_started = false;
	}
	if (s->ck_db && sqlite3_close(s->ck_db) != SQLITE_OK)
		HR_LOG_ERROR(STORE, "cannot close the checkpointer's connection to '%s': %s",
		             s->path, sqlite3_errmsg(s->ck_db));
	s->ck_db = NULL;
}

static void sq_close(struct hr_store *base)
{
	struct sq_store *s = (struct sq_store *)base;
	if (!s)
		return;
	ckpt_stop(s); /* before the writer's connection: its last close checkpoints the WAL */
	if (s->db)
		sqlite3_wal_hook(s->db, NULL, NULL);
	sqlite3_finalize(s->ins);
	sqlite3_finalize(s->begin);
	sqlite3_finalize(s->commit);
	sqlite3_finalize(s->used);
	if (s->db && sqlite3_close(s->db) != SQLITE_OK)
		HR_LOG_ERROR(STORE, "cannot close '%s': %s", s->path, sqlite3_errmsg(s->db));
	pthread_cond_destroy(&s->ck_cond);
	pthread_mutex_destroy(&s->ck_mu);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static int sq_open(struct hr_store **out, const char *data_dir, bool readonly, struct hr_buf *err)
{
	struct sq_store *s = NULL;
	struct stat st;
	char eb[128];
	int rc;

	*out = NULL;
	if (!data_dir || !*data_dir) {
		errf(err, "storage.data_dir is empty; set it to a writable directory");
		return HR_EIO;
	}
	if (!sqlite3_threadsafe()) {
		errf(err, "this SQLite library was built without thread support");
		return HR_EIO;
	}
	if (!readonly && (rc = make_dir(data_dir, err)) < 0)
		return rc;
	if (!(s = calloc(1, sizeof *s))) {
		errf(err, "out of memory opening the database");
		return HR_ENOMEM;
	}
	s->base.ops = &hr_store_sqlite;
	s->readonly = readonly;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->ck_mu, NULL);
	pthread_cond_init(&s->ck_cond, NULL);
	s->ck_due = SQ_CKPT_FRAMES;
	if ((size_t)snprintf(s->path, sizeof s->path, "%s/hearth.db", data_dir) >= sizeof s->path) {
		errf(err, "storage.data_dir '%s' is too long", data_dir);
		goto fail;
	}
	/* SQLITE_OPEN_READONLY would report a missing file as "unable to open": say why. */
	if (readonly && stat(s->path, &st) != 0) {
		errf(err,
		     "no database at '%s' (%s); start 'hearth serve' once to create it, or "
		     "check storage.data_dir",
		     s->path, strerror_r(errno, eb, sizeof eb));
		goto fail;
	}
	int flags = (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
	            SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(s->path, &s->db, flags, NULL) != SQLITE_OK) {
		errf(err,
		     "cannot open database '%s': %s; check that storage.data_dir is "
		     "writable",
		     s->path, s->db ? sqlite3_errmsg(s->db) : "out of memory");
		goto fail;
	}
	if (configure(s, err) < 0)
		goto fail;
	if ((readonly ? check_schema(s, err) : migrate(s, err)) < 0)
		goto fail;
	if (!readonly &&
	    (sqlite3_prepare_v3(s->db, usage_insert_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->ins,
	                        NULL) != SQLITE_OK ||
	     sqlite3_prepare_v3(s->db, "BEGIN IMMEDIATE", -1, SQLITE_PREPARE_PERSISTENT, &s->begin,
	                        NULL) != SQLITE_OK ||
	     sqlite3_prepare_v3(s->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &s->commit, NULL) !=
	         SQLITE_OK ||
	     sqlite3_prepare_v3(s->db, key_used_sql, -1, SQLITE_PREPARE_PERSISTENT, &s->used,
	                        NULL) != SQLITE_OK)) {
		errf(err, "cannot prepare the usage insert on '%s': %s", s->path,
		     sqlite3_errmsg(s->db));
		goto fail;
	}
	if (!readonly && ckpt_start(s, err) < 0)
		goto fail;
	HR_LOG_DEBUG(STORE, "opened '%s' at schema %d%s", s->path, s->version,
	             readonly ? " (readonly)" : "");
	*out = &s->base;
	return 0;
fail:
	sq_close(&s->base);
	return HR_EIO;
}

static void bind_text(sqlite3_stmt *st, int i, const char *v)
{
	if (v)
		sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* Binds every column of u. The strings are SQLITE_STATIC: u outlives the step. */
static void bind_usage(sqlite3_stmt *st, const struct hr_usage *u)
{
	sqlite3_bind_text(st, 1, u->request_id, (int)strnlen(u->request_id, sizeof u->request_id),
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, u->ts_ms);
	bind_text(st, 3, u->key_id);
	bind_text(st, 4, u->model_asked);
	bind_text(st, 5, u->model_used);
	bind_text(st, 6, u->provider);
	bind_text(st, 7, u->endpoint);
	sqlite3_bind_int(st, 8, u->stream ? 1 : 0);
	sqlite3_bind_int64(st, 9, u->prompt_tokens);
	sqlite3_bind_int64(st, 10, u->completion_tokens);
	sqlite3_bind_int64(st, 11, u->cached_tokens);
	sqlite3_bind_int64(st, 12, u->reasoning_tokens);
	sqlite3_bind_int(st, 13, u->tokens_estimated ? 1 : 0);
	sqlite3_bind_double(st, 14, u->cost_usd);
	sqlite3_bind_int64(st, 15, u->latency_ms);
	sqlite3_bind_int64(st, 16, u->ttfb_ms);
	sqlite3_bind_int(st, 17, u->status);
	bind_text(st, 18, u->error_code);
	bind_text(st, 19, u->finish_reason);
	bind_text(st, 20, u->task);
	bind_text(st, 21, u->route);
	sqlite3_bind_int(st, 22, u->attempts);
	bind_text(st, 23, u->policy);
	bind_text(st, 24, u->user_id);
	bind_text(st, 25, u->team_id);
	bind_text(st, 26, u->origin);
	bind_text(st, 27, u->parent_id);
	bind_text(st, 28, u->locality);
	bind_text(st, 29, u->reference_model);
	sqlite3_bind_double(st, 30, u->reference_cost_usd);
}

/* Runs a cached statement that returns no rows and resets it. Returns the SQLite code. */
static int step_once(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int audit_append_locked(struct sq_store *s, struct hr_audit_event *ev);

static int sq_usage_insert(struct hr_store *base, struct hr_usage *const *recs, size_t n)
{
	struct sq_store *s = (struct sq_store *)base;
	const char *what = "begin";
	int rc;

	if (n == 0)
		return 0;
	if (!s->ins) {
		HR_LOG_ERROR(STORE, "cannot insert usage into '%s': opened readonly", s->path);
		return HR_EIO;
	}
	pthread_mutex_lock(&s->lock);
	rc = step_once(s->begin);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		what = recs[i]->request_id;
		sqlite3_reset(s->ins);
		sqlite3_clear_bindings(s->ins);
		bind_usage(s->ins, recs[i]);
		rc = sqlite3_step(s->ins);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
		if (rc == SQLITE_OK && recs[i]->key_id &&
		    strncmp(recs[i]->key_id, "key_", 4) == 0) {
			sqlite3_bind_int64(s->used, 1, recs[i]->ts_ms);
			sqlite3_bind_text(s->used, 2, recs[i]->key_id, -1, SQLITE_STATIC);
			rc = step_once(s->used);
		}
		if (rc == SQLITE_OK && recs[i]->policy) { /* a data-policy decision is audited */
			char detail[512];
			snprintf(detail, sizeof detail, "%s -> HTTP %d", recs[i]->policy,
			         recs[i]->status);
			struct hr_audit_event ev = {.ts_ms = recs[i]->ts_ms,
			                            .actor =
			                                recs[i]->key_id ? recs[i]->key_id : "-",
			                            .action = "policy.decision",
			                            .object = recs[i]->request_id,
			                            .detail = detail};
			rc = audit_append_locked(s, &ev);
		}
	}
	sqlite3_reset(s->ins); /* no statement stays active when the transaction ends */
	if (rc == SQLITE_OK && (rc = step_once(s->commit)) != SQLITE_OK)
		what = "commit";
	if (rc != SQLITE_OK) {
		HR_LOG_ERROR(STORE, "cannot write %zu usage records to '%s' (at '%.*s'): %s", n,
		             s->path, (int)strnlen(what, sizeof recs[0]->request_id), what,
		             sqlite3_errmsg(s->db));
		sq_rollback(s);
	}
	sqlite3_clear_bindings(s->ins); /* the bound strings die with the records */
	sqlite3_clear_bindings(s->used);
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_OK ? 0 : HR_EIO;
}

static const char usage_get_sql[] =
    "SELECT ts_ms, key_id, model_asked, model_used, provider, endpoint, stream, prompt_tokens,"
    " completion_tokens, cached_tokens, reasoning_tokens, tokens_estimated, cost_usd,"
    " latency_ms, ttfb_ms, status, error_code, finish_reason, task, route, attempts, policy,"
    " user_id, team_id, origin, parent_id, locality, reference_model, reference_cost_usd"
    " FROM usage_records WHERE request_id = ?1";

static int col_text(sqlite3_stmt *st, int i, char **field)
{
	return hr_usage_set(field, (const char *)sqlite3_column_text(st, i));
}

static int sq_usage_get(struct hr_store *base, const char *request_id, struct hr_usage **out)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	struct hr_usage *u = NULL;
	int ret = HR_EIO;
	*out = NULL;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db, usage_get_sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		ret = HR_ENOTFOUND;
	} else if (rc == SQLITE_ROW && (u = hr_usage_new(request_id))) {
		u->ts_ms = sqlite3_column_int64(st, 0);
		u->stream = sqlite3_column_int(st, 6) != 0;
		u->prompt_tokens = sqlite3_column_int64(st, 7);
		u->completion_tokens = sqlite3_column_int64(st, 8);
		u->cached_tokens = sqlite3_column_int64(st, 9);
		u->reasoning_tokens = sqlite3_column_int64(st, 10);
		u->tokens_estimated = sqlite3_column_int(st, 11) != 0;
		u->cost_usd = sqlite3_column_double(st, 12);
		u->latency_ms = sqlite3_column_int64(st, 13);
		u->ttfb_ms = sqlite3_column_int64(st, 14);
		u->status = sqlite3_column_int(st, 15);
		u->attempts = sqlite3_column_int(st, 20);
		u->reference_cost_usd = sqlite3_column_double(st, 28);
		ret = col_text(st, 1, &u->key_id) | col_text(st, 2, &u->model_asked) |
		              col_text(st, 3, &u->model_used) | col_text(st, 4, &u->provider) |
		              col_text(st, 5, &u->endpoint) | col_text(st, 16, &u->error_code) |
		              col_text(st, 17, &u->finish_reason) | col_text(st, 18, &u->task) |
		              col_text(st, 19, &u->route) | col_text(st, 21, &u->policy) |
		              col_text(st, 22, &u->user_id) | col_text(st, 23, &u->team_id) |
		              col_text(st, 24, &u->origin) | col_text(st, 25, &u->parent_id) |
		              col_text(st, 26, &u->locality) | col_text(st, 27, &u->reference_model)
		          ? HR_ENOMEM
		          : 0;
	} else if (rc == SQLITE_ROW) {
		ret = HR_ENOMEM;
	}
	if (ret == HR_EIO)
		HR_LOG_ERROR(STORE, "cannot read a usage record in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	if (ret == 0)
		*out = u;
	else
		hr_usage_free(u);
	return ret;
}

/* ---- the audit log ---- */

/* Appends ev in the open transaction (lock held): seq and prev_hash from the last event. */
static int audit_append_locked(struct sq_store *s, struct hr_audit_event *ev)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1", -1, &st, NULL);
	ev->seq = 1;
	memset(ev->prev_hash, '0', 64);
	ev->prev_hash[64] = '\0';
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *h = (const char *)sqlite3_column_text(st, 1);
		ev->seq = sqlite3_column_int64(st, 0) + 1;
		snprintf(ev->prev_hash, sizeof ev->prev_hash, "%s", h ? h : "");
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	hr_audit_hash(ev, ev->prev_hash, ev->hash);
	rc = sqlite3_prepare_v2(
	    s->db,
	    "INSERT INTO audit_events (seq, ts_ms, actor, action, object, detail,"
	    " prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	    -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, ev->seq);
		sqlite3_bind_int64(st, 2, ev->ts_ms);
		sqlite3_bind_text(st, 3, ev->actor ? ev->actor : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, ev->action ? ev->action : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 5, ev->object ? ev->object : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, ev->detail ? ev->detail : "", -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, ev->prev_hash, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, ev->hash, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int sq_audit_append(struct hr_store *base, struct hr_audit_event *ev)
{
	struct sq_store *s = (struct sq_store *)base;
	if (s->readonly || !s->begin)
		return HR_EIO;
	pthread_mutex_lock(&s->lock);
	int rc = step_once(s->begin);
	if (rc == SQLITE_OK)
		rc = audit_append_locked(s, ev);
	if (rc == SQLITE_OK)
		rc = step_once(s->commit);
	if (rc != SQLITE_OK) {
		HR_LOG_ERROR(STORE, "cannot append an audit event to '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		sq_rollback(s);
	}
	pthread_mutex_unlock(&s->lock);
	return rc == SQLITE_OK ? 0 : HR_EIO;
}

static int sq_audit_scan(struct hr_store *base, hr_audit_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db,
	                            "SELECT seq, ts_ms, actor, action, object, detail, prev_hash,"
	                            " hash FROM audit_events ORDER BY seq",
	                            -1, &st, NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hr_audit_event ev = {
		    .seq = sqlite3_column_int64(st, 0),
		    .ts_ms = sqlite3_column_int64(st, 1),
		    .actor = (const char *)sqlite3_column_text(st, 2),
		    .action = (const char *)sqlite3_column_text(st, 3),
		    .object = (const char *)sqlite3_column_text(st, 4),
		    .detail = (const char *)sqlite3_column_text(st, 5),
		};
		const char *ph = (const char *)sqlite3_column_text(st, 6);
		const char *h = (const char *)sqlite3_column_text(st, 7);
		snprintf(ev.prev_hash, sizeof ev.prev_hash, "%s", ph ? ph : "");
		snprintf(ev.hash, sizeof ev.hash, "%s", h ? h : "");
		if ((ret = cb(arg, &ev)) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		HR_LOG_ERROR(STORE, "cannot read the audit log in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret < 0 ? ret : 0;
}

/* ---- learning online (docs/router.md) ---- */

/* Prepares sql under the lock (held by the caller); HR_EIO when readonly or it fails. */
static int learn_prepare(struct sq_store *s, const char *sql, sqlite3_stmt **st, bool write)
{
	if (write && s->readonly)
		return HR_EIO;
	return sqlite3_prepare_v2(s->db, sql, -1, st, NULL) == SQLITE_OK ? 0 : HR_EIO;
}

/* Steps a prepared write, finalizes it, logs a failure as what. Lock held. */
static int learn_write(struct sq_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = st ? sqlite3_step(st) : SQLITE_ERROR;
	if (rc != SQLITE_DONE)
		HR_LOG_ERROR(STORE, "cannot write %s to '%s': %s", what, s->path,
		             s->readonly ? "opened readonly" : sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : HR_EIO;
}

static int sq_learn_sample_put(struct hr_store *base, const struct hr_learn_sample *smp)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	if (learn_prepare(s,
	                  "INSERT INTO learn_samples (request_id, ts_ms, task, model, prompt)"
	                  " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (request_id) DO NOTHING",
	                  &st, true) == 0) {
		bind_text(st, 1, smp->request_id);
		sqlite3_bind_int64(st, 2, smp->ts_ms);
		bind_text(st, 3, smp->task);
		bind_text(st, 4, smp->model);
		bind_text(st, 5, smp->prompt);
	}
	int ret = learn_write(s, st, "a learning sample");
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sq_learn_score_put(struct hr_store *base, const char *request_id, const char *task,
                              const struct hr_learn_score *sc, const char *detail, int64_t ts_ms)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	if (learn_prepare(s,
	                  "INSERT INTO learn_scores (request_id, task, model, source, score, ts_ms,"
	                  " detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"
	                  " ON CONFLICT (request_id, model, source) DO UPDATE SET"
	                  " score = excluded.score, ts_ms = excluded.ts_ms,"
	                  " detail = excluded.detail",
	                  &st, true) == 0) {
		bind_text(st, 1, request_id);
		bind_text(st, 2, task);
		bind_text(st, 3, sc->model);
		bind_text(st, 4, sc->source);
		sqlite3_bind_double(st, 5, sc->score);
		sqlite3_bind_int64(st, 6, ts_ms);
		bind_text(st, 7, detail);
	}
	int ret = learn_write(s, st, "a learning score");
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* One row per (sample, score), grouped into samples in C. */
static int sq_learn_scan(struct hr_store *base, const char *task, hr_learn_sample_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	struct hr_buf id = HR_BUF_INIT(64), tk = HR_BUF_INIT(4096), md = HR_BUF_INIT(4096),
	              pr = HR_BUF_INIT(SIZE_MAX / 2);
	struct hr_buf names = HR_BUF_INIT(HR_LEARN_MAX_SCORES * 4096);
	struct hr_learn_sample cur = {0};
	size_t name_off[HR_LEARN_MAX_SCORES];
	const char *src[HR_LEARN_MAX_SCORES];
	int ret = 0, rc;
	bool have = false;

	pthread_mutex_lock(&s->lock);
	rc = sqlite3_prepare_v2(s->db,
	                        "SELECT s.request_id, s.ts_ms, s.task, s.model, s.prompt, c.model,"
	                        " c.source, c.score FROM learn_samples s JOIN learn_scores c"
	                        " ON c.request_id = s.request_id"
	                        " WHERE ?1 IS NULL OR s.task = ?1"
	                        " ORDER BY s.ts_ms, s.request_id, c.model, c.source",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK)
		bind_text(st, 1, task);
	for (;;) {
		rc = rc == SQLITE_OK ? sqlite3_step(st) : rc;
		const char *rid = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
		bool next = rc != SQLITE_ROW || !have || !rid || strcmp(rid, id.ptr) != 0;
		if (next && have) { /* the sample before is complete */
			cur.request_id = id.ptr;
			cur.task = tk.ptr;
			cur.model = md.ptr;
			cur.prompt = pr.ptr;
			for (size_t i = 0; i < cur.n_scores; i++) {
				cur.scores[i].model = names.ptr + name_off[i];
				cur.scores[i].source = src[i];
			}
			if ((ret = cb(arg, &cur)) != 0)
				break;
			have = false;
		}
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		if (!have) {
			const char *t = (const char *)sqlite3_column_text(st, 2);
			const char *m = (const char *)sqlite3_column_text(st, 3);
			const char *p = (const char *)sqlite3_column_text(st, 4);
			hr_buf_reset(&id);
			hr_buf_reset(&tk);
			hr_buf_reset(&md);
			hr_buf_reset(&pr);
			hr_buf_reset(&names);
			memset(&cur, 0, sizeof cur);
			cur.ts_ms = sqlite3_column_int64(st, 1);
			if (hr_buf_addstr(&id, rid ? rid : "") < 0 || hr_buf_addstr(&tk, t ? t : "") < 0 ||
			    hr_buf_addstr(&md, m ? m : "") < 0 ||
			    hr_buf_add(&pr, p ? p : "", p ? (size_t)sqlite3_column_bytes(st, 4) : 0) < 0 ||
			    hr_buf_add(&pr, "", 1) < 0) {
				ret = HR_ENOMEM;
				break;
			}
			pr.len--; /* the NUL stays after the text */
			have = true;
		}
		const char *cm = (const char *)sqlite3_column_text(st, 5);
		const char *cs = (const char *)sqlite3_column_text(st, 6);
		if (cur.n_scores < HR_LEARN_MAX_SCORES && cm && cs) {
			size_t i = cur.n_scores++;
			name_off[i] = names.len;
			src[i] = strcmp(cs, "feedback") == 0 ? "feedback" : "judge";
			cur.scores[i].score = sqlite3_column_double(st, 7);
			if (hr_buf_add(&names, cm, strlen(cm) + 1) < 0) {
				ret = HR_ENOMEM;
				break;
			}
		}
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		HR_LOG_ERROR(STORE, "cannot read learning samples in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	hr_buf_release(&id);
	hr_buf_release(&tk);
	hr_buf_release(&md);
	hr_buf_release(&pr);
	hr_buf_release(&names);
	return ret;
}

static int sq_promotion_set(struct hr_store *base, const struct hr_promotion *p)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	pthread_mutex_lock(&s->lock);
	if (learn_prepare(s,
	                  p->model ? "INSERT INTO task_promotions (task, model, ts_ms, detail)"
	                             " VALUES (?1, ?2, ?3, ?4) ON CONFLICT (task) DO UPDATE SET"
	                             " model = excluded.model, ts_ms = excluded.ts_ms,"
	                             " detail = excluded.detail"
	                           : "DELETE FROM task_promotions WHERE task = ?1",
	                  &st, true) == 0) {
		bind_text(st, 1, p->task);
		if (p->model) {
			bind_text(st, 2, p->model);
			sqlite3_bind_int64(st, 3, p->ts_ms);
			bind_text(st, 4, p->detail ? p->detail : "");
		}
	}
	int ret = learn_write(s, st, "a task promotion");
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sq_promotion_scan(struct hr_store *base, hr_promotion_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	int ret = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(
	    s->db, "SELECT task, model, ts_ms, detail FROM task_promotions ORDER BY task", -1, &st,
	    NULL);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hr_promotion p = {.task = (const char *)sqlite3_column_text(st, 0),
		                         .model = (const char *)sqlite3_column_text(st, 1),
		                         .ts_ms = sqlite3_column_int64(st, 2),
		                         .detail = (const char *)sqlite3_column_text(st, 3)};
		if (p.task && p.model && (ret = cb(arg, &p)) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		HR_LOG_ERROR(STORE, "cannot read task promotions in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The report's columns. */
static const char usage_scan_sql[] =
    "SELECT ts_ms, COALESCE(model_used, model_asked), provider, locality, task, key_id,"
    " user_id, team_id, status, origin, prompt_tokens, completion_tokens, cost_usd,"
    " reference_cost_usd, latency_ms, ttfb_ms, tokens_estimated FROM usage_records"
    " WHERE ts_ms >= ?1 AND ts_ms < ?2 ORDER BY ts_ms";

static int sq_usage_scan(struct hr_store *base, int64_t since_ms, int64_t until_ms,
                         hr_usage_fact_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	sqlite3_stmt *st = NULL;
	int ret = 0;
	char status[16];
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db, usage_scan_sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, since_ms);
		sqlite3_bind_int64(st, 2, until_ms > 0 ? until_ms : INT64_MAX);
	}
	static const int cols[HR_DIM__COUNT] = {
	    [HR_DIM_MODEL] = 1, [HR_DIM_PROVIDER] = 2, [HR_DIM_LOCALITY] = 3, [HR_DIM_TASK] = 4,
	    [HR_DIM_KEY] = 5,   [HR_DIM_USER] = 6,     [HR_DIM_TEAM] = 7,     [HR_DIM_STATUS] = -1,
	    [HR_DIM_ORIGIN] = 9};
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct hr_usage_fact f = {.ts_ms = sqlite3_column_int64(st, 0)};
		for (int d = 0; d < HR_DIM__COUNT; d++)
			if (cols[d] >= 0)
				f.dim[d] = (const char *)sqlite3_column_text(st, cols[d]);
		f.status = sqlite3_column_int(st, 8);
		snprintf(status, sizeof status, "%d", f.status);
		f.dim[HR_DIM_STATUS] = status;
		f.prompt_tokens = sqlite3_column_int64(st, 10);
		f.completion_tokens = sqlite3_column_int64(st, 11);
		f.cost_usd = sqlite3_column_double(st, 12);
		f.reference_cost_usd = sqlite3_column_double(st, 13);
		f.latency_ms = sqlite3_column_int64(st, 14);
		f.ttfb_ms = sqlite3_column_int64(st, 15);
		f.estimated = sqlite3_column_int(st, 16) != 0;
		if ((ret = cb(arg, &f)) != 0)
			break;
		rc = SQLITE_OK;
	}
	if (ret == 0 && rc != SQLITE_DONE) {
		HR_LOG_ERROR(STORE, "cannot read usage records in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* ---- identities: teams, users, API keys ---- */

static const char *const obj_table[] = {"teams", "users", "api_keys", "sessions"};
static const char *const obj_cols[] = {
    "id, name, created_ms",
    "id, name, email, role, team_id, password_hash, created_ms, disabled",
    "id, name, prefix, hash, user_id, team_id, role, expires_ms, allowed_models,"
    " allowed_tasks, metadata, created_ms, revoked_ms, last_used_ms",
    "id, user_id, created_ms, expires_ms",
};

static void bind_ms(sqlite3_stmt *st, int i, int64_t ms)
{
	if (ms)
		sqlite3_bind_int64(st, i, ms);
	else
		sqlite3_bind_null(st, i);
}

/* Binds obj's columns in obj_cols order from ?1. */
static void bind_obj(sqlite3_stmt *st, enum hr_obj_kind kind, const void *obj)
{
	if (kind == HR_OBJ_TEAM) {
		const struct hr_team *t = obj;
		bind_text(st, 1, t->id);
		bind_text(st, 2, t->name);
		sqlite3_bind_int64(st, 3, t->created_ms);
	} else if (kind == HR_OBJ_USER) {
		const struct hr_user *u = obj;
		bind_text(st, 1, u->id);
		bind_text(st, 2, u->name);
		bind_text(st, 3, u->email);
		bind_text(st, 4, u->role);
		bind_text(st, 5, u->team_id);
		bind_text(st, 6, u->password_hash);
		sqlite3_bind_int64(st, 7, u->created_ms);
		sqlite3_bind_int(st, 8, u->disabled ? 1 : 0);
	} else if (kind == HR_OBJ_SESSION) {
		const struct hr_session *x = obj;
		bind_text(st, 1, x->id);
		bind_text(st, 2, x->user_id);
		sqlite3_bind_int64(st, 3, x->created_ms);
		sqlite3_bind_int64(st, 4, x->expires_ms);
	} else {
		const struct hr_apikey *k = obj;
		bind_text(st, 1, k->id);
		bind_text(st, 2, k->name);
		bind_text(st, 3, k->prefix);
		bind_text(st, 4, k->hash);
		bind_text(st, 5, k->user_id);
		bind_text(st, 6, k->team_id);
		bind_text(st, 7, k->role);
		bind_ms(st, 8, k->expires_ms);
		bind_text(st, 9, k->allowed_models);
		bind_text(st, 10, k->allowed_tasks);
		bind_text(st, 11, k->metadata);
		sqlite3_bind_int64(st, 12, k->created_ms);
		bind_ms(st, 13, k->revoked_ms);
		bind_ms(st, 14, k->last_used_ms);
	}
}

#define COL_S(i) ((const char *)sqlite3_column_text(st, (i)))

/* Reads the current row (obj_cols order) and hands it to cb. */
static int row_obj(sqlite3_stmt *st, enum hr_obj_kind kind, hr_obj_cb cb, void *arg)
{
	if (kind == HR_OBJ_TEAM) {
		struct hr_team t = {COL_S(0), COL_S(1), sqlite3_column_int64(st, 2)};
		return cb(arg, kind, &t);
	}
	if (kind == HR_OBJ_USER) {
		struct hr_user u = {COL_S(0),
		                    COL_S(1),
		                    COL_S(2),
		                    COL_S(3),
		                    COL_S(4),
		                    COL_S(5),
		                    sqlite3_column_int64(st, 6),
		                    sqlite3_column_int(st, 7) != 0};
		return cb(arg, kind, &u);
	}
	if (kind == HR_OBJ_SESSION) {
		struct hr_session x = {COL_S(0), COL_S(1), sqlite3_column_int64(st, 2),
		                       sqlite3_column_int64(st, 3)};
		return cb(arg, kind, &x);
	}
	struct hr_apikey k = {
	    .id = COL_S(0),
	    .name = COL_S(1),
	    .prefix = COL_S(2),
	    .hash = COL_S(3),
	    .user_id = COL_S(4),
	    .team_id = COL_S(5),
	    .role = COL_S(6),
	    .expires_ms = sqlite3_column_int64(st, 7),
	    .allowed_models = COL_S(8),
	    .allowed_tasks = COL_S(9),
	    .metadata = COL_S(10),
	    .created_ms = sqlite3_column_int64(st, 11),
	    .revoked_ms = sqlite3_column_int64(st, 12),
	    .last_used_ms = sqlite3_column_int64(st, 13),
	};
	return cb(arg, kind, &k);
}

/* A write's SQLite code as an HR_E* code. */
static int write_err(struct sq_store *s, int rc, const char *what)
{
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return HR_ECONFLICT;
	HR_LOG_ERROR(STORE, "cannot %s in '%s': %s", what, s->path, sqlite3_errmsg(s->db));
	return HR_EIO;
}

/* Runs sql (binding obj or id) and ev in one transaction. Returns 0 or an HR_E* code. */
static int obj_write(struct sq_store *s, const char *sql, enum hr_obj_kind kind, const void *obj,
                     const char *id, struct hr_audit_event *ev, const char *what)
{
	sqlite3_stmt *st = NULL;
	int ret = 0;
	if (s->readonly || !s->begin)
		return HR_EIO;
	pthread_mutex_lock(&s->lock);
	int rc = step_once(s->begin);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		if (obj)
			bind_obj(st, kind, obj);
		else
			bind_text(st, 1, id);
		rc = sqlite3_step(st);
		rc = rc == SQLITE_DONE ? SQLITE_OK : rc;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK && sqlite3_changes(s->db) == 0)
		ret = HR_ENOTFOUND;
	if (rc == SQLITE_OK && ret == 0 && ev)
		rc = audit_append_locked(s, ev);
	if (rc == SQLITE_OK && ret == 0)
		rc = step_once(s->commit);
	if (rc != SQLITE_OK)
		ret = write_err(s, rc, what);
	if (ret < 0)
		sq_rollback(s);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The one number of a SUM(cost_usd) query binding ?1 = text, ?2 = since_ms, into *out. */
static int sum_cost(struct sq_store *s, const char *sql, const char *text, int64_t since_ms,
                    double *out)
{
	sqlite3_stmt *st = NULL;
	int ret = HR_EIO;
	*out = 0;
	pthread_mutex_lock(&s->lock);
	int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK) {
		bind_text(st, 1, text);
		sqlite3_bind_int64(st, 2, since_ms);
		if (sqlite3_step(st) == SQLITE_ROW) {
			*out = sqlite3_column_double(st, 0);
			ret = 0;
		}
	}
	if (ret)
		HR_LOG_ERROR(STORE, "cannot sum usage in '%s': %s", s->path, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sq_usage_spent_internal(struct hr_store *base, const char *task, int64_t since_ms,
                                   double *out)
{
	return sum_cost((struct sq_store *)base,
	                "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	                " WHERE origin IS NOT NULL AND task = ?1 AND ts_ms >= ?2",
	                task, since_ms, out);
}

static int sq_usage_spent(struct hr_store *base, int scope, const char *id, int64_t since_ms,
                          double *out)
{
	/* by enum hr_limit_scope: the column compared with ?1 (global compares nothing) */
	static const char *const sql[] = {
	    "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	    " WHERE origin IS NULL AND ts_ms >= ?2 AND ?1 IS NULL",
	    "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	    " WHERE origin IS NULL AND ts_ms >= ?2 AND key_id = ?1",
	    "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	    " WHERE origin IS NULL AND ts_ms >= ?2 AND user_id = ?1",
	    "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	    " WHERE origin IS NULL AND ts_ms >= ?2 AND team_id = ?1",
	    "SELECT COALESCE(SUM(cost_usd), 0) FROM usage_records"
	    " WHERE origin IS NULL AND ts_ms >= ?2 AND task = ?1",
	};
	_Static_assert(HR_SCOPE_GLOBAL == 0 && HR_SCOPE_TASK == 4, "sql[] order");
	*out = 0;
	if (scope < 0 || scope > HR_SCOPE_TASK)
		return HR_EINVAL;
	return sum_cost((struct sq_store *)base, sql[scope],
	                scope == HR_SCOPE_GLOBAL ? NULL : id, since_ms, out);
}

static int sq_obj_put(struct hr_store *base, enum hr_obj_kind kind, const void *obj, bool update,
                      struct hr_audit_event *ev)
{
	static const char *const sql[2][4] = {
	    {"INSERT INTO teams (id, name, created_ms) VALUES (?1, ?2, ?3)",
	     "INSERT INTO users (id, name, email, role, team_id, password_hash, created_ms,"
	     " disabled) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
	     "INSERT INTO api_keys (id, name, prefix, hash, user_id, team_id, role, expires_ms,"
	     " allowed_models, allowed_tasks, metadata, created_ms, revoked_ms, last_used_ms)"
	     " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
	     "INSERT INTO sessions (id, user_id, created_ms, expires_ms) VALUES (?1, ?2, ?3, ?4)"},
	    {"UPDATE teams SET name = ?2, created_ms = ?3 WHERE id = ?1",
	     "UPDATE users SET name = ?2, email = ?3, role = ?4, team_id = ?5,"
	     " password_hash = ?6, created_ms = ?7, disabled = ?8 WHERE id = ?1",
	     "UPDATE api_keys SET name = ?2, prefix = ?3, hash = ?4, user_id = ?5, team_id = ?6,"
	     " role = ?7, expires_ms = ?8, allowed_models = ?9, allowed_tasks = ?10,"
	     " metadata = ?11, created_ms = ?12, revoked_ms = ?13, last_used_ms = ?14"
	     " WHERE id = ?1",
	     "UPDATE sessions SET user_id = ?2, created_ms = ?3, expires_ms = ?4 WHERE id = ?1"},
	};
	return obj_write((struct sq_store *)base, sql[update][kind], kind, obj, NULL, ev,
	                 update ? "update an identity" : "insert an identity");
}

static int sq_obj_delete(struct hr_store *base, enum hr_obj_kind kind, const char *id,
                         struct hr_audit_event *ev)
{
	static const char *const sql[4] = {
	    "DELETE FROM teams WHERE id = ?1", "DELETE FROM users WHERE id = ?1",
	    "DELETE FROM api_keys WHERE id = ?1", "DELETE FROM sessions WHERE id = ?1"};
	return obj_write((struct sq_store *)base, sql[kind], kind, NULL, id, ev,
	                 "delete an identity");
}

/* Steps a prepared read to the end, each row to cb (lock held by the caller). Returns 0,
 * HR_ENOTFOUND when want_one and no row came, HR_EIO, or cb's code. */
static int read_rows(struct sq_store *s, sqlite3_stmt *st, enum hr_obj_kind kind, bool want_one,
                     hr_obj_cb cb, void *arg)
{
	int rc, ret = 0, n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n++;
		if ((ret = row_obj(st, kind, cb, arg)) != 0)
			return ret;
	}
	if (rc != SQLITE_DONE) {
		HR_LOG_ERROR(STORE, "cannot read %s in '%s': %s", obj_table[kind], s->path,
		             sqlite3_errmsg(s->db));
		return HR_EIO;
	}
	return want_one && n == 0 ? HR_ENOTFOUND : 0;
}

static int sq_obj_list(struct hr_store *base, enum hr_obj_kind kind, const struct hr_obj_filter *f,
                       hr_obj_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	char sql[512];
	sqlite3_stmt *st = NULL;
	int ret;
	snprintf(sql, sizeof sql,
	         "SELECT %s FROM %s WHERE id > ?1 AND (?2 IS NULL OR id = ?2)%s"
	         " ORDER BY id LIMIT ?3",
	         obj_cols[kind], obj_table[kind],
	         kind == HR_OBJ_KEY    ? " AND (?4 IS NULL OR user_id = ?4 OR"
	                                 " (user_id IS NULL AND team_id = ?5))"
	         : kind == HR_OBJ_USER ? " AND (?4 IS NULL OR email = ?4)"
	                               : "");
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		HR_LOG_ERROR(STORE, "cannot list %s in '%s': %s", obj_table[kind], s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	} else {
		sqlite3_bind_text(st, 1, f->after ? f->after : "", -1, SQLITE_STATIC);
		bind_text(st, 2, f->only_id);
		sqlite3_bind_int(st, 3, f->limit > 0 ? f->limit : 1);
		if (kind == HR_OBJ_KEY) {
			bind_text(st, 4, f->own_user);
			bind_text(st, 5, f->own_team);
		} else if (kind == HR_OBJ_USER) {
			bind_text(st, 4, f->email);
		}
		ret = read_rows(s, st, kind, false, cb, arg);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sq_key_by_hash(struct hr_store *base, const char *hash_hex, hr_obj_cb cb, void *arg)
{
	struct sq_store *s = (struct sq_store *)base;
	char sql[512];
	sqlite3_stmt *st = NULL;
	int ret;
	snprintf(sql, sizeof sql, "SELECT %s FROM api_keys WHERE hash = ?1", obj_cols[HR_OBJ_KEY]);
	pthread_mutex_lock(&s->lock);
	if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
		HR_LOG_ERROR(STORE, "cannot look up a key in '%s': %s", s->path,
		             sqlite3_errmsg(s->db));
		ret = HR_EIO;
	} else {
		sqlite3_bind_text(st, 1, hash_hex, -1, SQLITE_STATIC);
		ret = read_rows(s, st, HR_OBJ_KEY, true, cb, arg);
	}
	sqlite3_finalize(st);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int sq_schema_version(struct hr_store *base)
{
	return ((struct sq_store *)base)->version;
}

const struct hr_store_ops hr_store_sqlite = {
    .name = "sqlite",
    .open = sq_open,
    .close = sq_close,
    .usage_insert = sq_usage_insert,
    .usage_get = sq_usage_get,
    .audit_append = sq_audit_append,
    .audit_scan = sq_audit_scan,
    .learn_sample_put = sq_learn_sample_put,
    .learn_score_put = sq_learn_score_put,
    .learn_scan = sq_learn_scan,
    .promotion_set = sq_promotion_set,
    .promotion_scan = sq_promotion_scan,
    .usage_spent_internal = sq_usage_spent_internal,
    .usage_spent = sq_usage_spent,
    .usage_scan = sq_usage_scan,
    .obj_put = sq_obj_put,
    .obj_delete = sq_obj_delete,
    .obj_list = sq_obj_list,
    .key_by_hash = sq_key_by_hash,
    .schema_version = sq_schema_version,
};
