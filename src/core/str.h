/* str.h - borrowed text slices {ptr, len}; never assumed to end in NUL. */
#ifndef HR_STR_H
#define HR_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct hr_str {
	const char *ptr;
	size_t len;
};

#define HR_STR(lit) ((struct hr_str){(lit), sizeof(lit) - 1})
#define HR_STR_NULL ((struct hr_str){NULL, 0})

static inline struct hr_str hr_str_from(const char *s)
{
	return (struct hr_str){s, s ? strlen(s) : 0};
}

static inline bool hr_str_eq(struct hr_str a, struct hr_str b)
{
	return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool hr_str_eq_cstr(struct hr_str a, const char *s)
{
	return hr_str_eq(a, hr_str_from(s));
}

static inline bool hr_str_starts(struct hr_str a, const char *prefix)
{
	size_t n = strlen(prefix);
	return a.len >= n && memcmp(a.ptr, prefix, n) == 0;
}

#endif
