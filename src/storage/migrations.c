/* migrations.c - the schema, as numbered migrations applied in order at open.
 * SQL stays portable between SQLite and PostgreSQL: TEXT, INTEGER, REAL only. */
#include "storage/migrations.h"

/* Append only. Never edit a released entry: databases in the field already applied it;
 * change the schema with a new entry instead. */
const struct hr_migration hr_migrations[] = {
    {1, "usage records",
     "CREATE TABLE usage_records ("
     " request_id TEXT PRIMARY KEY,"
     " ts_ms INTEGER NOT NULL,"
     " key_id TEXT,"
     " model_asked TEXT,"
     " model_used TEXT,"
     " provider TEXT,"
     " endpoint TEXT,"
     " stream INTEGER NOT NULL,"
     " prompt_tokens INTEGER NOT NULL,"
     " completion_tokens INTEGER NOT NULL,"
     " cached_tokens INTEGER NOT NULL,"
     " reasoning_tokens INTEGER NOT NULL,"
     " tokens_estimated INTEGER NOT NULL,"
     " cost_usd REAL NOT NULL,"
     " latency_ms INTEGER NOT NULL,"
     " ttfb_ms INTEGER NOT NULL,"
     " status INTEGER NOT NULL,"
     " error_code TEXT,"
     " finish_reason TEXT"
     ");"
     "CREATE INDEX usage_records_ts_ms ON usage_records (ts_ms);"},
    {2, "routing: task, route and attempts of each request",
     "ALTER TABLE usage_records ADD COLUMN task TEXT;"
     "ALTER TABLE usage_records ADD COLUMN route TEXT;"
     "ALTER TABLE usage_records ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;"},
    {3, "data policy: what the detectors found in each request (classes and counts)",
     "ALTER TABLE usage_records ADD COLUMN policy TEXT;"},
    {4, "the audit log: append-only, each event's hash covers the previous hash",
     "CREATE TABLE audit_events ("
     " seq INTEGER PRIMARY KEY,"
     " ts_ms INTEGER NOT NULL,"
     " actor TEXT NOT NULL,"
     " action TEXT NOT NULL,"
     " object TEXT NOT NULL,"
     " detail TEXT NOT NULL,"
     " prev_hash TEXT NOT NULL,"
     " hash TEXT NOT NULL"
     ");"},
    {5, "learning online: kept prompts, judge and feedback scores, promotions; shadow calls",
     "CREATE TABLE learn_samples ("
     " request_id TEXT PRIMARY KEY,"
     " ts_ms INTEGER NOT NULL,"
     " task TEXT NOT NULL,"
     " model TEXT NOT NULL,"
     " prompt TEXT NOT NULL"
     ");"
     "CREATE INDEX learn_samples_task ON learn_samples (task, ts_ms);"
     "CREATE TABLE learn_scores ("
     " request_id TEXT NOT NULL,"
     " task TEXT NOT NULL,"
     " model TEXT NOT NULL,"
     " source TEXT NOT NULL,"
     " score REAL NOT NULL,"
     " ts_ms INTEGER NOT NULL,"
     " detail TEXT,"
     " PRIMARY KEY (request_id, model, source)"
     ");"
     "CREATE INDEX learn_scores_task ON learn_scores (task, model);"
     "CREATE TABLE task_promotions ("
     " task TEXT PRIMARY KEY,"
     " model TEXT NOT NULL,"
     " ts_ms INTEGER NOT NULL,"
     " detail TEXT NOT NULL"
     ");"
     "ALTER TABLE usage_records ADD COLUMN origin TEXT;"
     "ALTER TABLE usage_records ADD COLUMN parent_id TEXT;"},
    {6, "savings: where the answer came from and what the reference model would have cost",
     "ALTER TABLE usage_records ADD COLUMN locality TEXT;"
     "ALTER TABLE usage_records ADD COLUMN reference_model TEXT;"
     "ALTER TABLE usage_records ADD COLUMN reference_cost_usd REAL NOT NULL DEFAULT 0;"},
};

const size_t hr_migrations_count = sizeof hr_migrations / sizeof hr_migrations[0];

int hr_migrations_latest(void)
{
	return hr_migrations[hr_migrations_count - 1].version;
}
