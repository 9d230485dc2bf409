/* migrations.h - the numbered schema migrations compiled into the binary, backend-neutral.
 * Invariant: hr_migrations[i].version == i + 1; a migration, once released, never changes. */
#ifndef HR_MIGRATIONS_H
#define HR_MIGRATIONS_H

#include <stddef.h>

struct hr_migration {
	int version;      /* 1, 2, 3... in order, no gaps */
	const char *name; /* short description, for logs and errors */
	const char *sql;  /* one or more portable statements separated by ';' */
};

/* The table, in version order. Returns: static storage. */
extern const struct hr_migration hr_migrations[];
extern const size_t hr_migrations_count;

/* The schema version this binary knows (the last migration's version). */
int hr_migrations_latest(void);

/* The bookkeeping table every backend creates before applying migrations. */
#define HR_MIGRATIONS_TABLE_SQL                                                                    \
	"CREATE TABLE IF NOT EXISTS schema_migrations ("                                           \
	"version INTEGER PRIMARY KEY, applied_at TEXT NOT NULL)"

#endif
