/* secrets.h - provider credentials stored encrypted at rest: the file <data_dir>/secrets,
 * one line per secret, each value sealed with libsodium's crypto_secretbox (XSalsa20-Poly1305)
 * under a 32-byte master key from HEARTH_MASTER_KEY or a key file of mode 0600. The config
 * references a stored secret as secret:NAME; `hearth secrets set|list|delete` manage them.
 *
 * File format (text, mode 0600, replaced atomically by rename):
 *   hearth-secrets 1
 *   <name> <created_ms> <updated_ms> <base64(nonce[24] || secretbox(name NUL value))>
 * The name is sealed with the value, so a line moved to another name does not open.
 *
 * Ownership: clear values are returned in buffers the caller wipes (hr_secret_wipe_free);
 * the master key lives in caller storage that the caller wipes (sodium_memzero). Nothing here
 * logs. Not thread-safe: used at config load and by the CLI. */
#ifndef HR_SECRETS_H
#define HR_SECRETS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HR_SECRET_KEY_BYTES 32
#define HR_SECRET_MAX_NAME  64          /* bytes of a name: letters, digits, _ . - */
#define HR_SECRET_MAX_VALUE (64 * 1024) /* bytes of a value */
#define HR_SECRET_MAX_COUNT 1024        /* secrets in one store */
#define HR_SECRETS_FILE     "secrets"   /* in storage.data_dir */

struct hr_secret_entry {
	char name[HR_SECRET_MAX_NAME + 1];
	int64_t created_ms, updated_ms;
	unsigned char *box; /* nonce || ciphertext, owned (malloc) */
	size_t box_len;
};

struct hr_secrets {
	char *path; /* <data_dir>/secrets, owned */
	struct hr_secret_entry *v;
	size_t n;
};

/* A name is 1..HR_SECRET_MAX_NAME bytes of [A-Za-z0-9_.-]. */
bool hr_secret_name_ok(const char *s, size_t n);

/* The master key: HEARTH_MASTER_KEY when set (non-empty), else the file key_file (NULL:
 * none), which must be a regular file owned by the running user with no group or other
 * permission bits. Either holds 32 bytes as 64 hex digits or base64 (standard or URL-safe,
 * padding optional); surrounding whitespace is ignored. Returns 0 with key and *source
 * ("HEARTH_MASTER_KEY" or key_file); 1 when neither is set; or -1 with why (a sentence saying
 * what is wrong and what to do). */
int hr_secrets_master_key(const char *key_file, unsigned char key[HR_SECRET_KEY_BYTES],
                          const char **source, char *why, size_t why_len);

/* Reads <data_dir>/secrets into s (an absent file is an empty store). Returns 0, or -1 with
 * why (unreadable, malformed line N) and s empty. Free with hr_secrets_free(). */
int hr_secrets_load(const char *data_dir, struct hr_secrets *s, char *why, size_t why_len);
void hr_secrets_free(struct hr_secrets *s);

/* The entry named name, or NULL. */
const struct hr_secret_entry *hr_secrets_find(const struct hr_secrets *s, const char *name);

/* Opens entry e with key. Returns 0 with *value (NUL-terminated, *len bytes; free with
 * hr_secret_wipe_free), or -1 when the key does not open it (a wrong key or a damaged entry),
 * or -2 when out of memory. */
int hr_secrets_open(const struct hr_secret_entry *e, const unsigned char key[HR_SECRET_KEY_BYTES],
                    char **value, size_t *len);

/* Seals value under name (new, or replacing the old value and keeping its creation time).
 * Returns 0, or -1 with why (bad name, empty or too long value, too many secrets, OOM). */
int hr_secrets_put(struct hr_secrets *s, const char *name, const char *value, size_t len,
                   const unsigned char key[HR_SECRET_KEY_BYTES], int64_t now_ms, char *why,
                   size_t why_len);
/* Removes name. Returns 0, or -1 when there is no such secret. */
int hr_secrets_delete(struct hr_secrets *s, const char *name);

/* Writes s to its path (a temporary file of mode 0600, fsync, rename; the directory is made
 * when missing). Returns 0, or -1 with why. */
int hr_secrets_save(const struct hr_secrets *s, char *why, size_t why_len);

/* Wipes and frees a value from hr_secrets_open (NULL is a no-op). */
void hr_secret_wipe_free(char *value, size_t len);

#endif
