/* secrets.c - the encrypted secret store (secrets.h): key loading, the file, sealing. */
#include "core/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER    "hearth-secrets 1"
#define MAX_FILE  ((size_t)HR_SECRET_MAX_COUNT * (HR_SECRET_MAX_VALUE * 4 / 3 + 256))
#define NONCE_LEN crypto_secretbox_NONCEBYTES

static int why_f(char *why, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int why_f(char *why, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (why && cap)
		vsnprintf(why, cap, fmt, ap);
	va_end(ap);
	return -1;
}

bool hr_secret_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > HR_SECRET_MAX_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

/* 32 bytes from hex or base64 text; 0 or -1. */
static int decode_key(const char *s, size_t n, unsigned char key[HR_SECRET_KEY_BYTES])
{
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		n--;
	while (n && (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r'))
		s++, n--;
	size_t got = 0;
	const char *end = NULL;
	if (n == 2 * HR_SECRET_KEY_BYTES &&
	    sodium_hex2bin(key, HR_SECRET_KEY_BYTES, s, n, NULL, &got, &end) == 0 &&
	    got == HR_SECRET_KEY_BYTES && end == s + n)
		return 0;
	static const int variants[] = {
	    sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING,
	    sodium_base64_VARIANT_URLSAFE, sodium_base64_VARIANT_URLSAFE_NO_PADDING};
	for (size_t i = 0; i < sizeof variants / sizeof *variants; i++)
		if (sodium_base642bin(key, HR_SECRET_KEY_BYTES, s, n, NULL, &got, &end,
		                      variants[i]) == 0 &&
		    got == HR_SECRET_KEY_BYTES && end == s + n)
			return 0;
	sodium_memzero(key, HR_SECRET_KEY_BYTES);
	return -1;
}

#define KEY_FORMS "32 bytes as 64 hex digits or base64 (e.g. the output of `hearth secrets keygen`)"

int hr_secrets_master_key(const char *key_file, unsigned char key[HR_SECRET_KEY_BYTES],
                          const char **source, char *why, size_t why_len)
{
	const char *env = getenv("HEARTH_MASTER_KEY");
	if (env && *env) {
		*source = "HEARTH_MASTER_KEY";
		if (decode_key(env, strlen(env), key) < 0)
			return why_f(why, why_len,
			             "HEARTH_MASTER_KEY is not a key: it must hold " KEY_FORMS);
		return 0;
	}
	if (!key_file)
		return 1;
	*source = key_file;
	int fd = open(key_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return why_f(why, why_len,
		             "cannot open master key file '%s': %s; check "
		             "server.master_key_file",
		             key_file, strerror(errno));
	struct stat st;
	char buf[256];
	ssize_t r = -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return why_f(why, why_len, "master key file '%s' is not a regular file", key_file);
	}
	if (st.st_uid != geteuid() || (st.st_mode & 077)) {
		close(fd);
		return why_f(
		    why, why_len,
		    "master key file '%s' must be owned by this user (uid %u) and readable "
		    "by it alone; run: chmod 600 '%s' (and chown it)",
		    key_file, (unsigned)geteuid(), key_file);
	}
	do
		r = read(fd, buf, sizeof buf);
	while (r < 0 && errno == EINTR);
	close(fd);
	int rc = r >= 0 && (size_t)r < sizeof buf ? decode_key(buf, (size_t)r, key) : -1;
	sodium_memzero(buf, sizeof buf);
	if (rc < 0)
		return why_f(why, why_len,
		             "master key file '%s' does not hold a key: it must hold " KEY_FORMS,
		             key_file);
	return 0;
}

void hr_secrets_free(struct hr_secrets *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i].box);
	free(s->v);
	free(s->path);
	memset(s, 0, sizeof *s);
}

const struct hr_secret_entry *hr_secrets_find(const struct hr_secrets *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0)
			return &s->v[i];
	return NULL;
}

static struct hr_secret_entry *add_entry(struct hr_secrets *s)
{
	if (s->n >= HR_SECRET_MAX_COUNT)
		return NULL;
	struct hr_secret_entry *v = realloc(s->v, (s->n + 1) * sizeof *v);
	if (!v)
		return NULL;
	s->v = v;
	memset(&v[s->n], 0, sizeof v[s->n]);
	return &v[s->n++];
}

/* One line "<name> <created> <updated> <base64>" into a new entry; 0 or -1. */
static int parse_line(struct hr_secrets *s, char *line)
{
	char *f[4];
	char *p = line;
	for (int i = 0; i < 4; i++) {
		f[i] = p;
		p = strchr(p, i < 3 ? ' ' : '\0');
		if (!p)
			return -1;
		if (i < 3)
			*p++ = '\0';
	}
	if (!hr_secret_name_ok(f[0], strlen(f[0])) || hr_secrets_find(s, f[0]))
		return -1;
	char *end;
	errno = 0;
	long long cr = strtoll(f[1], &end, 10);
	if (errno || *end || end == f[1])
		return -1;
	long long up = strtoll(f[2], &end, 10);
	if (errno || *end || end == f[2])
		return -1;
	size_t b64 = strlen(f[3]), cap = b64 / 4 * 3 + 3, got = 0;
	unsigned char *box = malloc(cap ? cap : 1);
	if (!box)
		return -1;
	if (sodium_base642bin(box, cap, f[3], b64, NULL, &got, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    got < NONCE_LEN + crypto_secretbox_MACBYTES + 2) {
		free(box);
		return -1;
	}
	struct hr_secret_entry *e = add_entry(s);
	if (!e) {
		free(box);
		return -1;
	}
	snprintf(e->name, sizeof e->name, "%s", f[0]);
	e->created_ms = cr, e->updated_ms = up;
	e->box = box, e->box_len = got;
	return 0;
}

int hr_secrets_load(const char *data_dir, struct hr_secrets *s, char *why, size_t why_len)
{
	memset(s, 0, sizeof *s);
	size_t pl = strlen(data_dir) + sizeof "/" HR_SECRETS_FILE;
	if (!(s->path = malloc(pl)))
		return why_f(why, why_len, "out of memory");
	snprintf(s->path, pl, "%s/%s", data_dir, HR_SECRETS_FILE);
	FILE *f = fopen(s->path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		why_f(why, why_len, "cannot read '%s': %s", s->path, strerror(errno));
		hr_secrets_free(s);
		return -1;
	}
	char *line = malloc(HR_SECRET_MAX_VALUE * 2);
	int rc = line ? 0 : why_f(why, why_len, "out of memory");
	size_t no = 0;
	while (rc == 0 && fgets(line, HR_SECRET_MAX_VALUE * 2, f)) {
		size_t n = strlen(line);
		no++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		else if (!feof(f))
			rc = why_f(why, why_len, "'%s' line %zu is too long", s->path, no);
		if (rc == 0 && no == 1 && strcmp(line, HEADER) != 0)
			rc = why_f(why, why_len,
			           "'%s' is not a hearth secret store (no '" HEADER "' line)",
			           s->path);
		else if (rc == 0 && no > 1 && n && parse_line(s, line) < 0)
			rc = why_f(why, why_len,
			           "'%s' line %zu is damaged; remove that line, or the "
			           "file, and store its secret again",
			           s->path, no);
	}
	if (rc == 0 && ferror(f))
		rc = why_f(why, why_len, "cannot read '%s': %s", s->path, strerror(errno));
	fclose(f);
	free(line);
	if (rc < 0)
		hr_secrets_free(s);
	return rc;
}

void hr_secret_wipe_free(char *value, size_t len)
{
	if (!value)
		return;
	sodium_memzero(value, len);
	free(value);
}

int hr_secrets_open(const struct hr_secret_entry *e, const unsigned char key[HR_SECRET_KEY_BYTES],
                    char **value, size_t *len)
{
	size_t mlen = e->box_len - NONCE_LEN - crypto_secretbox_MACBYTES;
	unsigned char *m = malloc(mlen + 1);
	if (!m)
		return -2;
	if (crypto_secretbox_open_easy(m, e->box + NONCE_LEN, e->box_len - NONCE_LEN, e->box,
	                               key) != 0) {
		free(m);
		return -1;
	}
	size_t nl = strlen(e->name);
	if (mlen <= nl || memcmp(m, e->name, nl) != 0 || m[nl] != '\0') {
		hr_secret_wipe_free((char *)m, mlen);
		return -1; /* sealed under another name: a moved line */
	}
	*len = mlen - nl - 1;
	memmove(m, m + nl + 1, *len);
	sodium_memzero(m + *len, mlen - *len);
	m[*len] = '\0';
	*value = (char *)m;
	return 0;
}

int hr_secrets_put(struct hr_secrets *s, const char *name, const char *value, size_t len,
                   const unsigned char key[HR_SECRET_KEY_BYTES], int64_t now_ms, char *why,
                   size_t why_len)
{
	size_t nl = strlen(name);
	if (!hr_secret_name_ok(name, nl))
		return why_f(why, why_len,
		             "'%.80s' is not a secret name: use 1 to %d letters, "
		             "digits, _ . or -",
		             name, HR_SECRET_MAX_NAME);
	if (len == 0 || len > HR_SECRET_MAX_VALUE || memchr(value, '\0', len))
		return why_f(why, why_len,
		             "the value must be 1 to %d bytes without NUL (it was %zu)",
		             HR_SECRET_MAX_VALUE, len);
	size_t mlen = nl + 1 + len;
	unsigned char *m = malloc(mlen);
	unsigned char *box = malloc(NONCE_LEN + crypto_secretbox_MACBYTES + mlen);
	if (!m || !box) {
		free(m), free(box);
		return why_f(why, why_len, "out of memory");
	}
	memcpy(m, name, nl + 1);
	memcpy(m + nl + 1, value, len);
	randombytes_buf(box, NONCE_LEN);
	crypto_secretbox_easy(box + NONCE_LEN, m, mlen, box, key);
	hr_secret_wipe_free((char *)m, mlen);
	struct hr_secret_entry *e = (struct hr_secret_entry *)hr_secrets_find(s, name);
	if (!e) {
		if (!(e = add_entry(s))) {
			free(box);
			return why_f(why, why_len, "cannot add a secret: at most %d are stored",
			             HR_SECRET_MAX_COUNT);
		}
		snprintf(e->name, sizeof e->name, "%s", name);
		e->created_ms = now_ms;
	}
	free(e->box);
	e->box = box;
	e->box_len = NONCE_LEN + crypto_secretbox_MACBYTES + mlen;
	e->updated_ms = now_ms;
	return 0;
}

int hr_secrets_delete(struct hr_secrets *s, const char *name)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0) {
			free(s->v[i].box);
			memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
			s->n--;
			return 0;
		}
	return -1;
}

int hr_secrets_save(const struct hr_secrets *s, char *why, size_t why_len)
{
	char tmp[PATH_MAX], dir[PATH_MAX];
	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", s->path) >= sizeof tmp)
		return why_f(why, why_len, "path too long");
	snprintf(dir, sizeof dir, "%s", s->path);
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		if (mkdir(dir, 0700) < 0 && errno != EEXIST)
			return why_f(why, why_len, "cannot create '%s': %s", dir, strerror(errno));
	}
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return why_f(why, why_len, "cannot write '%s': %s", tmp, strerror(errno));
	FILE *f = fdopen(fd, "w");
	if (!f) {
		close(fd);
		unlink(tmp);
		return why_f(why, why_len, "out of memory");
	}
	bool ok = fchmod(fd, 0600) == 0 && fprintf(f, HEADER "\n") > 0;
	for (size_t i = 0; i < s->n && ok; i++) {
		const struct hr_secret_entry *e = &s->v[i];
		size_t b64 = sodium_base64_ENCODED_LEN(e->box_len, sodium_base64_VARIANT_ORIGINAL);
		char *t = malloc(b64);
		ok = t && fprintf(f, "%s %lld %lld %s\n", e->name, (long long)e->created_ms,
		                  (long long)e->updated_ms,
		                  sodium_bin2base64(t, b64, e->box, e->box_len,
		                                    sodium_base64_VARIANT_ORIGINAL)) > 0;
		free(t);
	}
	ok = ok && fflush(f) == 0 && fsync(fd) == 0;
	int e = errno;
	if (fclose(f) != 0)
		ok = false;
	if (!ok || rename(tmp, s->path) < 0) {
		e = ok ? errno : e;
		unlink(tmp);
		return why_f(why, why_len, "cannot write '%s': %s", s->path, strerror(e));
	}
	return 0;
}
