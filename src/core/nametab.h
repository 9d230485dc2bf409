/* nametab.h - a table of names, each with a fixed-size value: open addressing, grown by
 * doubling, names capped. Not thread-safe: the owner locks around it. Used for state kept
 * per model across config reloads (circuit breakers, concurrency gates), where a model is
 * known by its name.
 *
 * Ownership: the table owns copies of the names and the values' storage. A value's address
 * is stable only until the next hr_nametab_add() (the table may grow and move it). */
#ifndef HR_NAMETAB_H
#define HR_NAMETAB_H

#include <stddef.h>

struct hr_nametab {
	size_t value_size; /* set by hr_nametab_init */
	size_t cap;        /* most names it takes; later ones are refused */
	size_t n_slots, n_used;
	unsigned char *slots; /* n_slots entries of (char *name, value): NULL name = free */
};

void hr_nametab_init(struct hr_nametab *t, size_t value_size, size_t cap);
void hr_nametab_free(struct hr_nametab *t);
/* The value of name, or NULL when absent. */
void *hr_nametab_find(struct hr_nametab *t, const char *name);
/* The value of name, added zeroed when absent; NULL past the cap or on OOM. */
void *hr_nametab_add(struct hr_nametab *t, const char *name);
/* The name of an entry returned by find/add (the table's copy). */
const char *hr_nametab_name(const struct hr_nametab *t, const void *value);

#endif
