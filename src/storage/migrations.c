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
    {5, "identities: teams, users, API keys and web sessions (keyed hashes only); who made each"
     " request",
     "CREATE TABLE teams ("
     " id TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " created_ms INTEGER NOT NULL"
     ");"
     "CREATE TABLE users ("
     " id TEXT PRIMARY KEY,"
     " name TEXT NOT NULL,"
     " email TEXT UNIQUE,"
     " role TEXT NOT NULL,"
     " team_id TEXT REFERENCES teams (id),"
     " password_hash TEXT,"
     " created_ms INTEGER NOT NULL,"
     " disabled INTEGER NOT NULL DEFAULT 0"
     ");"
     "CREATE TABLE api_keys ("
     " id TEXT PRIMARY KEY,"
     " name TEXT,"
     " prefix TEXT NOT NULL,"
     " hash TEXT NOT NULL UNIQUE,"
     " user_id TEXT REFERENCES users (id),"
     " team_id TEXT REFERENCES teams (id),"
     " role TEXT NOT NULL,"
     " expires_ms INTEGER,"
     " allowed_models TEXT,"
     " allowed_tasks TEXT,"
     " metadata TEXT,"
     " created_ms INTEGER NOT NULL,"
     " revoked_ms INTEGER,"
     " last_used_ms INTEGER"
     ");"
     "CREATE INDEX api_keys_user_id ON api_keys (user_id);"
     "CREATE INDEX api_keys_team_id ON api_keys (team_id);"
     "CREATE INDEX users_team_id ON users (team_id);"
     "CREATE TABLE sessions ("
     " id TEXT PRIMARY KEY,"
     " user_id TEXT NOT NULL REFERENCES users (id),"
     " created_ms INTEGER NOT NULL,"
     " expires_ms INTEGER NOT NULL"
     ");"
     "ALTER TABLE usage_records ADD COLUMN user_id TEXT;"
     "ALTER TABLE usage_records ADD COLUMN team_id TEXT;"},
    {6, "learning online: kept prompts, judge and feedback scores, promotions; shadow calls",
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
    {7, "savings: where the answer came from and what the reference model would have cost",
     "ALTER TABLE usage_records ADD COLUMN locality TEXT;"
     "ALTER TABLE usage_records ADD COLUMN reference_model TEXT;"
     "ALTER TABLE usage_records ADD COLUMN reference_cost_usd REAL NOT NULL DEFAULT 0;"},
};

const size_t hr_migrations_count = sizeof hr_migrations / sizeof hr_migrations[0];

int hr_migrations_latest(void)
{
	return hr_migrations[hr_migrations_count - 1].version;
}
