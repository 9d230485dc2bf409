/* ident.h - who is calling: roles, the caller's identity, API key secrets (generated, hashed
 * with a server pepper, never stored in clear), object ids, and the first start's admin key.
 * Invariant: a key's secret exists only in the caller's memory and in the answer that shows
 * it once; the store holds its keyed hash and a display prefix. */
#ifndef HR_IDENT_H
#define HR_IDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/buf.h"

struct hr_store;
struct hr_arena;

/* Roles, in no total order: admin does everything; auditor reads everything and calls no
 * model; developer calls models and manages its own and its team's keys; member calls
 * models and reads its own profile and keys. */
enum hr_urole { HR_UROLE_MEMBER, HR_UROLE_DEVELOPER, HR_UROLE_AUDITOR, HR_UROLE_ADMIN };

/* "member", ... Returns: static. */
const char *hr_urole_name(enum hr_urole r);
/* Returns the role named s, or -1. */
int hr_urole_parse(const char *s);
/* True when holder may hand out role r (a key of that role, a user of that role): admin
 * any; anyone its own role; developer also member. */
bool hr_urole_covers(enum hr_urole holder, enum hr_urole r);

enum hr_ident_kind {
	HR_IDENT_ANON,     /* a loopback client without a key (no static keys configured) */
	HR_IDENT_OPERATOR, /* a static key of server.api_keys / HEARTH_API_KEY */
	HR_IDENT_KEY,      /* a virtual key of the store */
	HR_IDENT_SESSION,  /* a web sign-in: the session cookie (state changes need CSRF) */
};

/* The caller of one request. Strings live in the request's arena (or are static). */
struct hr_ident {
	enum hr_ident_kind kind;
	enum hr_urole role;
	const char *key_id;  /* "key_…", "operator", or NULL (anonymous) */
	const char *user_id; /* or NULL */
	const char *team_id; /* the key's team (a user's key: the user's team), or NULL */
	/* allow-lists as JSON arrays; NULL: no limit */
	const char *allowed_models, *allowed_tasks;
	const char *session_id; /* HR_IDENT_SESSION: the session's row id */
	int64_t expires_ms;     /* the key's expiry, 0 none */
};

/* The audit log's actor for id: its key id, else its user id (a web session), else
 * "anonymous". Returns: borrowed. */
const char *hr_ident_actor(const struct hr_ident *id);
/* True when the JSON array list (NULL: no limit) names name. An unparsable list allows
 * nothing (fail closed). */
bool hr_ident_allows(const char *list, const char *name);

#define HR_PEPPER_BYTES   32
#define HR_KEY_HASH_HEX   65 /* 64 hex + NUL */
#define HR_KEY_SECRET_CAP 64 /* "hk_" + 40 characters + NUL fits */
#define HR_KEY_PREFIX_LEN 8  /* characters after "hk_" kept for display */
#define HR_ID_CAP         40

/* The pepper keying every key hash: derived from $HEARTH_MASTER_KEY when set, else the
 * 32 random bytes of <data_dir>/pepper (mode 0600, created on the first start). Returns 0,
 * or HR_EIO with err saying why and what to do. */
int hr_ident_pepper_load(const char *data_dir, unsigned char out[HR_PEPPER_BYTES],
                         struct hr_buf *err);
/* The keyed BLAKE2b-256 of a secret, lowercase hex, into out. */
void hr_ident_key_hash(const unsigned char pepper[HR_PEPPER_BYTES], const char *secret, size_t n,
                       char out[HR_KEY_HASH_HEX]);
/* A new secret "hk_" + 40 base-62 characters (about 238 bits) into secret, and its display
 * prefix (HR_KEY_PREFIX_LEN characters) into prefix. */
void hr_ident_key_new(char secret[HR_KEY_SECRET_CAP], char prefix[HR_KEY_PREFIX_LEN + 1]);
/* An object id: prefix ("usr_", "key_", "req_"…), 9 base-36 characters of the time in ms
 * (ids sort by creation) and 15 from the CSPRNG (about 77 bits), into out. */
void hr_id_new(const char *prefix, char *out, size_t cap);
/* A web session's token ("hs_" + 40 base-62 characters) into token; its row id (the keyed
 * hash) and its CSRF token (another keyed hash) are hr_ident_session_ids(). */
void hr_ident_session_new(char token[HR_KEY_SECRET_CAP]);
void hr_ident_session_ids(const unsigned char pepper[HR_PEPPER_BYTES], const char *token,
                          char id[HR_KEY_HASH_HEX], char csrf[HR_KEY_HASH_HEX]);
/* Unix time in ms. */
int64_t hr_ident_now_ms(void);
/* ms as RFC 3339 UTC ("2026-11-27T03:20:00Z") into out. */
void hr_ident_rfc3339(int64_t ms, char out[32]);

/* The first start: when the store holds no API key, creates the user "admin" (role admin)
 * and its key - admin_key when given (it must start with "hk_" and hold at least 32
 * characters), else a new one printed once to announce. Both are audited (actor
 * "bootstrap"). Returns 0 (also when keys exist), HR_EINVAL (a bad admin_key: err says
 * why) or HR_EIO. */
int hr_ident_bootstrap(struct hr_store *s, const unsigned char pepper[HR_PEPPER_BYTES],
                       const char *admin_key, FILE *announce, struct hr_buf *err);

#endif
