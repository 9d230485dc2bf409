/* redact.c - the placeholder map and the restorer of the redact action (redact.h). The map
 * is a hash table of values (for "same value, same placeholder") plus an array per class
 * (a placeholder names its class and number, so finding it is two indexings). */
#include <string.h>

#include "core/arena.h"
#include "core/err.h"
#include "governance/detect.h"
#include "governance/redact.h"

static uint64_t hash_of(const char *p, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)p[i]) * 1099511628211ULL;
	return h;
}

static int grow_slots(struct hr_arena *a, struct hr_redact_map *m)
{
	size_t ns = m->n_slots ? m->n_slots * 2 : 64;
	struct hr_redact_entry **s = hr_arena_calloc(a, ns * sizeof *s);
	if (!s)
		return HR_ENOMEM;
	for (size_t i = 0; i < m->n_slots; i++) {
		struct hr_redact_entry *e = m->slots[i];
		if (!e)
			continue;
		size_t j = (size_t)hash_of(e->value.ptr, e->value.len) & (ns - 1);
		while (s[j])
			j = (j + 1) & (ns - 1);
		s[j] = e;
	}
	m->slots = s;
	m->n_slots = ns;
	return 0;
}

/* "EMAIL" for HR_PII_EMAIL: the label in upper case, written into dst (cap bytes). */
static size_t class_name(int cls, char *dst, size_t cap)
{
	const char *l = hr_pii_label(cls);
	size_t n = 0;
	for (; l[n] && n + 1 < cap; n++)
		dst[n] = (char)(l[n] >= 'a' && l[n] <= 'z' ? l[n] - 'a' + 'A' : l[n]);
	dst[n] = '\0';
	return n;
}

const struct hr_redact_entry *hr_redact_map_add(struct hr_arena *a, struct hr_redact_map *m,
                                                int cls, const char *p, size_t n)
{
	if (!n || cls < 0 || cls >= HR_PII__COUNT)
		return NULL;
	if ((m->n + 1) * 2 > m->n_slots && grow_slots(a, m) < 0)
		return NULL;
	size_t j = (size_t)hash_of(p, n) & (m->n_slots - 1);
	for (; m->slots[j]; j = (j + 1) & (m->n_slots - 1))
		if (m->slots[j]->value.len == n && memcmp(m->slots[j]->value.ptr, p, n) == 0)
			return m->slots[j];
	if (m->count[cls] == UINT32_MAX)
		return NULL;
	if (m->count[cls] == m->cap_cls[cls]) {
		size_t nc = m->cap_cls[cls] ? m->cap_cls[cls] * 2 : 16;
		struct hr_redact_entry **v = hr_arena_alloc(a, nc * sizeof *v);
		if (!v)
			return NULL;
		if (m->count[cls])
			memcpy(v, m->by_cls[cls], m->count[cls] * sizeof *v);
		m->by_cls[cls] = v;
		m->cap_cls[cls] = nc;
	}
	struct hr_redact_entry *e = hr_arena_calloc(a, sizeof *e);
	char name[32];
	class_name(cls, name, sizeof name);
	char *ph = e ? hr_arena_printf(a, "[%s_%u]", name, m->count[cls] + 1) : NULL;
	char *v = ph ? hr_arena_strndup(a, p, n) : NULL;
	if (!v)
		return NULL;
	e->value = (struct hr_str){v, n};
	e->placeholder = hr_str_from(ph);
	e->cls = (uint16_t)cls;
	e->num = ++m->count[cls];
	m->by_cls[cls][e->num - 1] = e;
	m->slots[j] = e;
	m->n++;
	return e;
}

const struct hr_redact_entry *hr_redact_map_find(const struct hr_redact_map *m, const char *p,
                                                 size_t n)
{
	if (n < 5 || p[0] != '[' || p[n - 1] != ']')
		return NULL;
	size_t us = n - 1; /* the last '_' */
	while (us > 1 && p[us - 1] != '_')
		us--;
	if (us <= 2 || us == n - 1)
		return NULL;
	uint64_t num = 0;
	for (size_t i = us; i < n - 1; i++) {
		if (p[i] < '0' || p[i] > '9' || num > UINT32_MAX / 10)
			return NULL;
		num = num * 10 + (uint64_t)(p[i] - '0');
	}
	struct hr_str cname = {p + 1, us - 2};
	for (int k = 0; k < HR_PII__COUNT; k++) {
		char name[32];
		size_t len = class_name(k, name, sizeof name);
		if (len != cname.len || memcmp(name, cname.ptr, len) != 0)
			continue;
		if (num == 0 || num > m->count[k])
			return NULL;
		return m->by_cls[k][num - 1];
	}
	return NULL;
}

void hr_redact_stream_init(struct hr_redact_stream *s, const struct hr_redact_map *m, bool json)
{
	memset(s, 0, sizeof *s);
	s->m = m;
	s->json = json;
}

/* A byte that may follow "[" in a placeholder: upper-case letters, digits, '_'. */
static bool ph_byte(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

static int put_entry(struct hr_redact_stream *s, const struct hr_redact_entry *e,
                     struct hr_buf *out)
{
	return s->json ? hr_buf_add_json_escaped(out, e->value.ptr, e->value.len)
	               : hr_buf_add(out, e->value.ptr, e->value.len);
}

int hr_redact_stream_feed(struct hr_redact_stream *s, const char *p, size_t n, struct hr_buf *out)
{
	int rc = 0;
	size_t i = 0;
	while (i < n && rc == 0) {
		if (!s->n_hold) {
			const char *lb = memchr(p + i, '[', n - i);
			size_t run = lb ? (size_t)(lb - (p + i)) : n - i;
			if (run && (rc = hr_buf_add(out, p + i, run)) < 0)
				return rc;
			i += run;
			if (lb) {
				s->hold[s->n_hold++] = '[';
				i++;
			}
			continue;
		}
		char c = p[i];
		if (c == ']') {
			s->hold[s->n_hold++] = ']'; /* room: n_hold < MAX while holding */
			const struct hr_redact_entry *e =
			    s->m ? hr_redact_map_find(s->m, s->hold, s->n_hold) : NULL;
			rc = e ? put_entry(s, e, out) : hr_buf_add(out, s->hold, s->n_hold);
			s->n_hold = 0;
			i++;
		} else if (ph_byte(c) && s->n_hold + 1 < HR_REDACT_MAX_PLACEHOLDER) {
			s->hold[s->n_hold++] = c;
			i++;
		} else { /* not a placeholder: out as it came; c is looked at again */
			rc = hr_buf_add(out, s->hold, s->n_hold);
			s->n_hold = 0;
		}
	}
	return rc;
}

int hr_redact_stream_flush(struct hr_redact_stream *s, struct hr_buf *out)
{
	int rc = s->n_hold ? hr_buf_add(out, s->hold, s->n_hold) : 0;
	s->n_hold = 0;
	return rc;
}

int hr_redact_restore(const struct hr_redact_map *m, bool json, const char *p, size_t n,
                      struct hr_buf *out)
{
	struct hr_redact_stream s;
	hr_redact_stream_init(&s, m, json);
	int rc = hr_redact_stream_feed(&s, p, n, out);
	return rc < 0 ? rc : hr_redact_stream_flush(&s, out);
}
