/* arena.c - region allocator: a chain of blocks, bump allocation, LIFO cleanups.
 * Large requests get a block of their own so small ones keep packing. */
#include "core/arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"

#define HR_ARENA_BLOCK 8192
#define HR_ARENA_ALIGN 16

struct hr_block {
	struct hr_block *next;
	size_t size, used;
	_Alignas(HR_ARENA_ALIGN) unsigned char data[];
};

struct hr_cleanup {
	struct hr_cleanup *next;
	void (*fn)(void *);
	void *arg;
};

struct hr_arena {
	struct hr_block *head;
	struct hr_cleanup *cleanups;
	size_t cap, total;
};

struct hr_arena *hr_arena_create(size_t cap)
{
	struct hr_arena *a = calloc(1, sizeof *a);
	if (a)
		a->cap = cap;
	return a;
}

static struct hr_block *block_new(size_t size)
{
	struct hr_block *b = malloc(sizeof *b + size);
	if (!b)
		return NULL;
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

void *hr_arena_alloc(struct hr_arena *a, size_t n)
{
	if (n == 0)
		n = 1;
	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + HR_ARENA_ALIGN - 1) & ~(size_t)(HR_ARENA_ALIGN - 1);
	if (a->cap && (a->total + n > a->cap))
		return NULL;

	struct hr_block *b = a->head;
	if (b && b->size - b->used >= n) {
		void *p = b->data + b->used;
		b->used += n;
		a->total += n;
		return p;
	}
	if (n > HR_ARENA_BLOCK / 4) {
		/* big: own block, linked behind the current head so the head keeps its room */
		struct hr_block *big = block_new(n);
		if (!big)
			return NULL;
		big->used = n;
		if (b) {
			big->next = b->next;
			b->next = big;
		} else {
			a->head = big;
		}
		a->total += n;
		return big->data;
	}
	struct hr_block *nb = block_new(HR_ARENA_BLOCK);
	if (!nb)
		return NULL;
	nb->next = b;
	a->head = nb;
	nb->used = n;
	a->total += n;
	return nb->data;
}

void *hr_arena_calloc(struct hr_arena *a, size_t n)
{
	void *p = hr_arena_alloc(a, n);
	if (p)
		memset(p, 0, n);
	return p;
}

char *hr_arena_strndup(struct hr_arena *a, const char *p, size_t n)
{
	if (n == SIZE_MAX)
		return NULL;
	char *s = hr_arena_alloc(a, n + 1);
	if (!s)
		return NULL;
	if (n)
		memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

char *hr_arena_strdup(struct hr_arena *a, const char *s)
{
	return hr_arena_strndup(a, s, strlen(s));
}

char *hr_arena_printf(struct hr_arena *a, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	char *s = hr_arena_alloc(a, (size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

int hr_arena_defer(struct hr_arena *a, void (*fn)(void *), void *arg)
{
	/* cleanups are outside the cap: refusing one would leak what it guards */
	struct hr_cleanup *c = malloc(sizeof *c);
	if (!c)
		return HR_ENOMEM;
	c->fn = fn;
	c->arg = arg;
	c->next = a->cleanups;
	a->cleanups = c;
	return 0;
}

size_t hr_arena_used(const struct hr_arena *a)
{
	return a->total;
}

void hr_arena_destroy(struct hr_arena *a)
{
	if (!a)
		return;
	while (a->cleanups) {
		struct hr_cleanup *c = a->cleanups;
		a->cleanups = c->next;
		c->fn(c->arg);
		free(c);
	}
	while (a->head) {
		struct hr_block *b = a->head;
		a->head = b->next;
		free(b);
	}
	free(a);
}
