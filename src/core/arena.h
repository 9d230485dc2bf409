/* arena.h - per-request region allocator with cleanups.
 * Everything a request allocates lives here and dies at once in hr_arena_destroy(). */
#ifndef HR_ARENA_H
#define HR_ARENA_H

#include <stddef.h>

struct hr_arena;

/* Creates an arena whose total allocations may not exceed cap bytes (0: no cap).
 * Returns: owned by the caller, free with hr_arena_destroy(); NULL on OOM. */
struct hr_arena *hr_arena_create(size_t cap);

/* Returns: memory aligned for any type, owned by the arena; NULL when out of memory or
 * when the arena's cap would be exceeded. Never aborts. */
void *hr_arena_alloc(struct hr_arena *a, size_t n);
void *hr_arena_calloc(struct hr_arena *a, size_t n);

/* Copies n bytes of p and appends a NUL. Returns: owned by the arena; NULL on OOM. */
char *hr_arena_strndup(struct hr_arena *a, const char *p, size_t n);
char *hr_arena_strdup(struct hr_arena *a, const char *s);
/* printf into the arena. Returns: owned by the arena; NULL on OOM. */
char *hr_arena_printf(struct hr_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Registers fn(arg) to run when the arena is destroyed; cleanups run last-in first-out.
 * Returns 0, or HR_ENOMEM (and fn is NOT called: the caller still owns arg). */
int hr_arena_defer(struct hr_arena *a, void (*fn)(void *), void *arg);

/* Bytes handed out so far (for metrics and tests). */
size_t hr_arena_used(const struct hr_arena *a);

/* Runs the cleanups, then frees every block. NULL is a no-op. */
void hr_arena_destroy(struct hr_arena *a);

#endif
