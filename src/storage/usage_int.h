/* usage_int.h - private to src/storage: the allocation behind every struct hr_usage.
 * hr_usage_new() allocates this entry so that hr_usage_submit() can queue without allocating. */
#ifndef HR_USAGE_INT_H
#define HR_USAGE_INT_H

#include "storage/usage.h"

/* Invariant: u is the first member, so a struct hr_usage * from hr_usage_new() is also a
 * struct hr_usage_entry *. Records not made by hr_usage_new() must never be submitted. */
struct hr_usage_entry {
	struct hr_usage u;
	hr_usage_done_cb done; /* set by hr_usage_submit; may be NULL */
	void *arg;
	struct hr_usage_entry *next; /* writer queue link, guarded by the writer's mutex */
};

#endif
