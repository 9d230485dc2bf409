/* data.c - the outcome data reader: JSON Lines of per-prompt model outcomes, validated
 * strictly (every error names file:line), capped (line length, rows, models), with the
 * union of model names and the SHA-256 of the input bytes. */
#include <errno.h>
#include <stdarg.h>
#include <jansson.h>
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "core/limits.h"
#include "learn/learn.h"

/* A row's outcomes before the model union is known: (model index, outcome) pairs. */
struct pend {
	size_t *model;
	struct hr_learn_outcome *o;
	size_t n;
};

struct reader {
	struct hr_arena *a;
	struct hr_buf *err;
	const char **models;
	size_t n_models;
	struct hr_learn_row *rows;
	struct pend *pend;
	size_t n_rows, cap_rows;
	crypto_hash_sha256_state sha;
};

static int fail(struct reader *r, const char *file, size_t line, int rc, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int fail(struct reader *r, const char *file, size_t line, int rc, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (line)
		hr_buf_addf(r->err, "%s:%zu: %s\n", file, line, msg);
	else
		hr_buf_addf(r->err, "%s: %s\n", file, msg);
	return rc;
}

static long model_index(struct reader *r, const char *name)
{
	for (size_t i = 0; i < r->n_models; i++)
		if (strcmp(r->models[i], name) == 0)
			return (long)i;
	return -1;
}

static int grow_rows(struct reader *r)
{
	if (r->n_rows < r->cap_rows)
		return 0;
	size_t cap = r->cap_rows ? r->cap_rows * 2 : 1024;
	struct hr_learn_row *rows = hr_arena_alloc(r->a, cap * sizeof *rows);
	struct pend *pend = hr_arena_alloc(r->a, cap * sizeof *pend);
	if (!rows || !pend)
		return HR_ENOMEM;
	if (r->n_rows) {
		memcpy(rows, r->rows, r->n_rows * sizeof *rows);
		memcpy(pend, r->pend, r->n_rows * sizeof *pend);
	}
	r->rows = rows;
	r->pend = pend;
	r->cap_rows = cap;
	return 0;
}

static bool number(json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	*out = json_number_value(v);
	return isfinite(*out);
}

static int parse_outcome(struct reader *r, const char *file, size_t line, const char *model,
                         json_t *v, struct hr_learn_outcome *o)
{
	memset(o, 0, sizeof *o);
	if (!json_is_object(v))
		return fail(r, file, line, HR_EINVAL,
		            "outcomes.\"%.100s\" must be an object like {\"score\": 1.0}", model);
	const char *k;
	json_t *x;
	json_object_foreach(v, k, x)
	{
		if (strcmp(k, "score") == 0) {
			if (!number(x, &o->score) || o->score < 0 || o->score > 1)
				return fail(r, file, line, HR_EINVAL,
				            "outcomes.\"%.100s\".score must be a number in [0, 1]",
				            model);
			o->present = true;
		} else if (strcmp(k, "cost") == 0) {
			if (!number(x, &o->cost) || o->cost < 0)
				return fail(
				    r, file, line, HR_EINVAL,
				    "outcomes.\"%.100s\".cost must be a number >= 0 (dollars)",
				    model);
			o->has_cost = true;
		} else if (strcmp(k, "latency_ms") == 0) {
			if (!number(x, &o->latency_ms) || o->latency_ms < 0)
				return fail(r, file, line, HR_EINVAL,
				            "outcomes.\"%.100s\".latency_ms must be a number >= 0",
				            model);
			o->has_latency = true;
		} else {
			return fail(r, file, line, HR_EINVAL,
			            "outcomes.\"%.100s\": unknown key \"%.100s\" (score, cost, "
			            "latency_ms)",
			            model, k);
		}
	}
	if (!o->present)
		return fail(r, file, line, HR_EINVAL, "outcomes.\"%.100s\" has no score", model);
	return 0;
}

static const char *dup_str(struct reader *r, json_t *s)
{
	return hr_arena_strndup(r->a, json_string_value(s), json_string_length(s));
}

static int parse_line(struct reader *r, const char *file, size_t line, const char *p, size_t n)
{
	json_error_t je;
	json_t *j = json_loadb(p, n, JSON_REJECT_DUPLICATES, &je);
	if (!j)
		return fail(r, file, line, HR_EINVAL, "not valid JSON: %s (column %d)", je.text,
		            je.column);
	int rc = HR_EINVAL;
	if (!json_is_object(j)) {
		rc = fail(r, file, line, HR_EINVAL, "a line must be one JSON object");
		goto out;
	}
	json_t *id = NULL, *prompt = NULL, *task = NULL, *outs = NULL, *v;
	const char *k;
	json_object_foreach(j, k, v)
	{
		if (strcmp(k, "id") == 0)
			id = v;
		else if (strcmp(k, "prompt") == 0)
			prompt = v;
		else if (strcmp(k, "task") == 0)
			task = v;
		else if (strcmp(k, "outcomes") == 0)
			outs = v;
		else {
			rc = fail(r, file, line, HR_EINVAL,
			          "unknown key \"%.100s\" (id, prompt, task, outcomes)", k);
			goto out;
		}
	}
	if (!json_is_string(id) || json_string_length(id) == 0 ||
	    memchr(json_string_value(id), '\0', json_string_length(id))) {
		rc = fail(r, file, line, HR_EINVAL, "\"id\" must be a non-empty string");
		goto out;
	}
	if (!json_is_string(prompt) || json_string_length(prompt) == 0) {
		rc = fail(r, file, line, HR_EINVAL, "\"prompt\" must be a non-empty string");
		goto out;
	}
	if (task && !json_is_null(task) &&
	    (!json_is_string(task) || json_string_length(task) == 0 ||
	     memchr(json_string_value(task), '\0', json_string_length(task)))) {
		rc = fail(r, file, line, HR_EINVAL,
		          "\"task\" must be a non-empty string when given");
		goto out;
	}
	if (!json_is_object(outs) || json_object_size(outs) == 0) {
		rc = fail(r, file, line, HR_EINVAL,
		          "\"outcomes\" must be an object with at least one model");
		goto out;
	}
	if ((rc = grow_rows(r)) < 0)
		goto out;
	struct hr_learn_row *row = &r->rows[r->n_rows];
	struct pend *pd = &r->pend[r->n_rows];
	memset(row, 0, sizeof *row);
	row->file = file;
	row->line = line;
	row->id = dup_str(r, id);
	row->prompt = dup_str(r, prompt);
	row->prompt_len = json_string_length(prompt);
	row->task = json_is_string(task) ? dup_str(r, task) : NULL;
	size_t no = json_object_size(outs);
	pd->model = hr_arena_alloc(r->a, no * sizeof *pd->model);
	pd->o = hr_arena_alloc(r->a, no * sizeof *pd->o);
	pd->n = 0;
	if (!row->id || !row->prompt || (json_is_string(task) && !row->task) || !pd->model ||
	    !pd->o) {
		rc = HR_ENOMEM;
		goto out;
	}
	json_object_foreach(outs, k, v)
	{
		if (*k == '\0') {
			rc =
			    fail(r, file, line, HR_EINVAL, "a model name in \"outcomes\" is empty");
			goto out;
		}
		if ((rc = parse_outcome(r, file, line, k, v, &pd->o[pd->n])) < 0)
			goto out;
		long mi = model_index(r, k);
		if (mi < 0) {
			if (r->n_models >= HR_LEARN_MAX_MODELS) {
				rc = fail(r, file, line, HR_ETOOMANY,
				          "more than %d distinct models in the data",
				          HR_LEARN_MAX_MODELS);
				goto out;
			}
			const char *name = hr_arena_strdup(r->a, k);
			if (!name) {
				rc = HR_ENOMEM;
				goto out;
			}
			r->models[r->n_models] = name;
			mi = (long)r->n_models++;
		}
		pd->model[pd->n++] = (size_t)mi;
	}
	r->n_rows++;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

static int parse_bytes(struct reader *r, const char *file, const char *p, size_t n)
{
	size_t line = 0;
	const char *end = p + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		line++;
		size_t len = (size_t)(le - p);
		if (len > HR_LEARN_MAX_LINE_BYTES)
			return fail(r, file, line, HR_ETOOBIG, "line longer than %u bytes",
			            HR_LEARN_MAX_LINE_BYTES);
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > 0) {
			if (r->n_rows >= HR_LEARN_MAX_ROWS)
				return fail(r, file, line, HR_ETOOMANY, "more than %d rows",
				            HR_LEARN_MAX_ROWS);
			int rc = parse_line(r, file, line, p, len);
			if (rc < 0)
				return rc;
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int cmp_row_id(const void *x, const void *y)
{
	const struct hr_learn_row *a = *(const struct hr_learn_row *const *)x;
	const struct hr_learn_row *b = *(const struct hr_learn_row *const *)y;
	int c = strcmp(a->id, b->id);
	if (c)
		return c;
	return a < b ? -1 : a > b;
}

static int finish(struct reader *r, struct hr_learn_data *d)
{
	if (r->n_rows == 0)
		return fail(r, "outcome data", 0, HR_EINVAL, "no rows: give at least one line");
	/* unique ids */
	struct hr_learn_row **by = hr_arena_alloc(r->a, r->n_rows * sizeof *by);
	if (!by)
		return HR_ENOMEM;
	for (size_t i = 0; i < r->n_rows; i++)
		by[i] = &r->rows[i];
	qsort(by, r->n_rows, sizeof *by, cmp_row_id);
	for (size_t i = 1; i < r->n_rows; i++)
		if (strcmp(by[i - 1]->id, by[i]->id) == 0)
			return fail(r, by[i]->file, by[i]->line, HR_EINVAL,
			            "duplicate id \"%.100s\" (first at %s:%zu)", by[i]->id,
			            by[i - 1]->file, by[i - 1]->line);
	/* dense outcomes */
	for (size_t i = 0; i < r->n_rows; i++) {
		struct hr_learn_outcome *o = hr_arena_calloc(r->a, r->n_models * sizeof *o);
		if (!o)
			return HR_ENOMEM;
		for (size_t k = 0; k < r->pend[i].n; k++)
			o[r->pend[i].model[k]] = r->pend[i].o[k];
		r->rows[i].out = o;
	}
	d->models = r->models;
	d->n_models = r->n_models;
	d->rows = r->rows;
	d->n_rows = r->n_rows;
	crypto_hash_sha256_final(&r->sha, d->sha256);
	return 0;
}

static int reader_init(struct reader *r, struct hr_arena *a, struct hr_buf *err)
{
	memset(r, 0, sizeof *r);
	r->a = a;
	r->err = err;
	r->models = hr_arena_alloc(a, HR_LEARN_MAX_MODELS * sizeof *r->models);
	crypto_hash_sha256_init(&r->sha);
	return r->models ? 0 : HR_ENOMEM;
}

int hr_learn_data_parse(struct hr_arena *a, const char *name, const char *p, size_t n,
                        struct hr_learn_data *d, struct hr_buf *err)
{
	struct reader r;
	memset(d, 0, sizeof *d);
	int rc = reader_init(&r, a, err);
	if (rc < 0)
		return rc;
	crypto_hash_sha256_update(&r.sha, (const unsigned char *)p, n);
	if ((rc = parse_bytes(&r, name, p, n)) < 0)
		return rc;
	return finish(&r, d);
}

/* Reads a whole file into b (capped). */
static int slurp(const char *path, struct hr_buf *b, size_t max, struct hr_buf *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		hr_buf_addf(err, "%s: cannot open: %s\n", path, strerror(errno));
		return HR_EIO;
	}
	char chunk[65536];
	size_t k;
	int rc = 0;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		if ((rc = hr_buf_add(b, chunk, k)) < 0) {
			if (rc == HR_ETOOBIG)
				hr_buf_addf(err, "%s: larger than %zu bytes\n", path, max);
			fclose(f);
			return rc;
		}
	if (ferror(f)) {
		hr_buf_addf(err, "%s: read error\n", path);
		rc = HR_EIO;
	}
	fclose(f);
	return rc;
}

int hr_learn_data_read(struct hr_arena *a, const char *const *files, size_t n_files,
                       struct hr_learn_data *d, struct hr_buf *err)
{
	struct reader r;
	memset(d, 0, sizeof *d);
	int rc = reader_init(&r, a, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < n_files; i++) {
		struct hr_buf b = HR_BUF_INIT(HR_LEARN_MAX_FILE_BYTES);
		const char *name = hr_arena_strdup(a, files[i]);
		if (!name)
			return HR_ENOMEM;
		if ((rc = slurp(files[i], &b, HR_LEARN_MAX_FILE_BYTES, err)) == 0) {
			crypto_hash_sha256_update(
			    &r.sha, (const unsigned char *)(b.ptr ? b.ptr : ""), b.len);
			rc = parse_bytes(&r, name, b.ptr ? b.ptr : "", b.len);
		}
		hr_buf_release(&b);
		if (rc < 0)
			return rc;
	}
	return finish(&r, d);
}

long hr_learn_data_model(const struct hr_learn_data *d, const char *name)
{
	for (size_t i = 0; i < d->n_models; i++)
		if (strcmp(d->models[i], name) == 0)
			return (long)i;
	return -1;
}

long hr_learn_data_model_of(const struct hr_learn_data *d, const char *names)
{
	const char *p = names;
	while (p && *p) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		for (size_t i = 0; i < d->n_models; i++)
			if (strlen(d->models[i]) == len && memcmp(d->models[i], p, len) == 0)
				return (long)i;
		p = c ? c + 1 : NULL;
	}
	return -1;
}

size_t hr_learn_names_resolve(const struct hr_learn_data *d, const char *names, long *idx,
                              size_t max)
{
	size_t k = 0;
	const char *p = names;
	while (p && *p && k < max) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		for (size_t i = 0; i < d->n_models; i++)
			if (strlen(d->models[i]) == len && memcmp(d->models[i], p, len) == 0)
				idx[k++] = (long)i;
		p = c ? c + 1 : NULL;
	}
	return k;
}

long hr_learn_row_pick(const struct hr_learn_row *r, const long *idx, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (r->out[idx[i]].present)
			return idx[i];
	return -1;
}
