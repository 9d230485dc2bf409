/* nametab.c - names to fixed-size values: FNV-1a, linear probing, load kept at or under one
 * half. An entry is the name pointer followed by the value, padded for alignment. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/nametab.h"

#define FIRST_SLOTS 16
#define ALIGN       sizeof(max_align_t)

static size_t value_off(void)
{
	return (sizeof(char *) + ALIGN - 1) / ALIGN * ALIGN;
}

static size_t entry_size(const struct hr_nametab *t)
{
	return value_off() + (t->value_size + ALIGN - 1) / ALIGN * ALIGN;
}

static char **name_at(unsigned char *slots, size_t es, size_t i)
{
	return (char **)(void *)(slots + i * es);
}

void hr_nametab_init(struct hr_nametab *t, size_t value_size, size_t cap)
{
	memset(t, 0, sizeof *t);
	t->value_size = value_size;
	t->cap = cap;
}

void hr_nametab_free(struct hr_nametab *t)
{
	size_t es = entry_size(t);
	for (size_t i = 0; i < t->n_slots; i++)
		free(*name_at(t->slots, es, i));
	free(t->slots);
	t->slots = NULL;
	t->n_slots = t->n_used = 0;
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

/* The slot index of name, or of the free slot where it would go (slots must exist). */
static size_t probe(unsigned char *slots, size_t n_slots, size_t es, const char *name)
{
	size_t i = (size_t)hash(name) & (n_slots - 1);
	char *n;
	while ((n = *name_at(slots, es, i)) && strcmp(n, name) != 0)
		i = (i + 1) & (n_slots - 1);
	return i;
}

void *hr_nametab_find(struct hr_nametab *t, const char *name)
{
	if (!t->slots || !name)
		return NULL;
	size_t es = entry_size(t);
	size_t i = probe(t->slots, t->n_slots, es, name);
	return *name_at(t->slots, es, i) ? t->slots + i * es + value_off() : NULL;
}

static int grow(struct hr_nametab *t)
{
	size_t es = entry_size(t);
	size_t n = t->n_slots ? t->n_slots * 2 : FIRST_SLOTS;
	unsigned char *s = calloc(n, es);
	if (!s)
		return -1;
	for (size_t i = 0; i < t->n_slots; i++) {
		char *name = *name_at(t->slots, es, i);
		if (name)
			memcpy(s + probe(s, n, es, name) * es, t->slots + i * es, es);
	}
	free(t->slots);
	t->slots = s;
	t->n_slots = n;
	return 0;
}

void *hr_nametab_add(struct hr_nametab *t, const char *name)
{
	void *v = hr_nametab_find(t, name);
	if (v || !name || t->n_used >= t->cap)
		return v;
	if ((t->n_used + 1) * 2 > t->n_slots && grow(t) < 0)
		return NULL;
	size_t es = entry_size(t);
	size_t i = probe(t->slots, t->n_slots, es, name);
	char *copy = strdup(name);
	if (!copy)
		return NULL;
	*name_at(t->slots, es, i) = copy;
	t->n_used++;
	v = t->slots + i * es + value_off();
	memset(v, 0, t->value_size);
	return v;
}

const char *hr_nametab_name(const struct hr_nametab *t, const void *value)
{
	(void)t;
	return *(char *const *)(const void *)((const unsigned char *)value - value_off());
}
