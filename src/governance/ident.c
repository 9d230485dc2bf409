/* ident.c - roles, key secrets and their keyed hashes, the pepper file, object ids, allow-list
 * checks and the first start's admin key (ident.h). */
#include "governance/ident.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "storage/store.h"

static const char *const role_names[] = {"member", "developer", "auditor", "admin"};

const char *hr_urole_name(enum hr_urole r)
{
	return (unsigned)r < sizeof role_names / sizeof role_names[0] ? role_names[r] : "?";
}

int hr_urole_parse(const char *s)
{
	for (size_t i = 0; s && i < sizeof role_names / sizeof role_names[0]; i++)
		if (strcmp(s, role_names[i]) == 0)
			return (int)i;
	return -1;
}

bool hr_urole_covers(enum hr_urole holder, enum hr_urole r)
{
	return holder == HR_UROLE_ADMIN || holder == r ||
	       (holder == HR_UROLE_DEVELOPER && r == HR_UROLE_MEMBER);
}

const char *hr_ident_actor(const struct hr_ident *id)
{
	return !id           ? "anonymous"
	       : id->key_id  ? id->key_id
	       : id->user_id ? id->user_id
	                     : "anonymous";
}

bool hr_ident_allows(const char *list, const char *name)
{
	if (!list)
		return true;
	json_t *j = json_loads(list, 0, NULL);
	bool ok = false;
	size_t i;
	json_t *v;
	json_array_foreach(j, i, v)
	{
		const char *s = json_string_value(v);
		if (s && name && strcmp(s, name) == 0) {
			ok = true;
			break;
		}
	}
	json_decref(j);
	return ok;
}

int64_t hr_ident_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void hr_ident_rfc3339(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, 32, "?");
}

/* ---- ids and secrets ---- */

#define ID_TIME_CHARS 9
#define ID_RAND_CHARS 15
#define ID_POOL       (ID_RAND_CHARS * 64)

/* The first ID_TIME_CHARS characters are the time in ms, so ids sort by time and new rows
 * land at the right-hand end of their index; the rest come from the CSPRNG, drawn in blocks
 * into a per-thread pool (one getrandom per ID_POOL / 15 ids). */
void hr_id_new(const char *prefix, char *out, size_t cap)
{
	static const char al[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	static _Thread_local unsigned char pool[ID_POOL];
	static _Thread_local size_t used = ID_POOL;
	char id[ID_TIME_CHARS + ID_RAND_CHARS + 1];

	if (used + ID_RAND_CHARS > ID_POOL) {
		randombytes_buf(pool, sizeof pool);
		used = 0;
	}
	uint64_t ms = (uint64_t)hr_ident_now_ms();
	for (int i = ID_TIME_CHARS - 1; i >= 0; i--, ms /= 36)
		id[i] = al[ms % 36];
	for (size_t i = 0; i < ID_RAND_CHARS; i++)
		id[ID_TIME_CHARS + i] = al[pool[used + i] % 36];
	sodium_memzero(pool + used, ID_RAND_CHARS); /* each byte is used once */
	used += ID_RAND_CHARS;
	id[sizeof id - 1] = '\0';
	snprintf(out, cap, "%s%s", prefix, id);
}

#define KEY_CHARS 40

void hr_ident_key_new(char secret[HR_KEY_SECRET_CAP], char prefix[HR_KEY_PREFIX_LEN + 1])
{
	static const char al[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	unsigned char r[64];
	size_t n = 0;
	memcpy(secret, "hk_", 3);
	while (n < KEY_CHARS) {
		randombytes_buf(r, sizeof r);
		for (size_t i = 0; i < sizeof r && n < KEY_CHARS; i++)
			if (r[i] < 248) /* 4 * 62: no modulo bias */
				secret[3 + n++] = al[r[i] % 62];
	}
	secret[3 + KEY_CHARS] = '\0';
	sodium_memzero(r, sizeof r);
	memcpy(prefix, secret + 3, HR_KEY_PREFIX_LEN);
	prefix[HR_KEY_PREFIX_LEN] = '\0';
}

void hr_ident_key_hash(const unsigned char pepper[HR_PEPPER_BYTES], const char *secret, size_t n,
                       char out[HR_KEY_HASH_HEX])
{
	unsigned char h[32];
	crypto_generichash(h, sizeof h, (const unsigned char *)secret, n, pepper, HR_PEPPER_BYTES);
	sodium_bin2hex(out, HR_KEY_HASH_HEX, h, sizeof h);
}

void hr_ident_session_new(char token[HR_KEY_SECRET_CAP])
{
	char prefix[HR_KEY_PREFIX_LEN + 1];
	hr_ident_key_new(token, prefix);
	token[1] = 's'; /* "hs_": not an API key */
}

void hr_ident_session_ids(const unsigned char pepper[HR_PEPPER_BYTES], const char *token,
                          char id[HR_KEY_HASH_HEX], char csrf[HR_KEY_HASH_HEX])
{
	char in[HR_KEY_SECRET_CAP + 8];
	hr_ident_key_hash(pepper, token, strlen(token), id);
	int n = snprintf(in, sizeof in, "csrf:%s", token);
	hr_ident_key_hash(pepper, in, n > 0 && (size_t)n < sizeof in ? (size_t)n : 0, csrf);
	sodium_memzero(in, sizeof in);
}

/* ---- the pepper ---- */

static int pepper_fail(struct hr_buf *err, const char *path, const char *what, int e)
{
	char eb[128];
	hr_buf_addf(err, "the key pepper '%s' %s%s%s; %s", path, what, e ? ": " : "",
	            e ? strerror_r(e, eb, sizeof eb) : "",
	            "it must be a 32-byte file of mode 0600 owned by hearth's user (or set "
	            "HEARTH_MASTER_KEY)");
	return HR_EIO;
}

int hr_ident_pepper_load(const char *data_dir, unsigned char out[HR_PEPPER_BYTES],
                         struct hr_buf *err)
{
	const char *master = getenv("HEARTH_MASTER_KEY");
	if (master && *master) {
		unsigned char k[32];
		static const char label[] = "hearth api key pepper v1";
		crypto_generichash(k, sizeof k, (const unsigned char *)master, strlen(master), NULL,
		                   0);
		crypto_generichash(out, HR_PEPPER_BYTES, (const unsigned char *)label,
		                   sizeof label - 1, k, sizeof k);
		sodium_memzero(k, sizeof k);
		return 0;
	}
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s/pepper", data_dir) >= sizeof path)
		return pepper_fail(err, data_dir, "path is too long", 0);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0) { /* the first start */
		randombytes_buf(out, HR_PEPPER_BYTES);
		ssize_t w = write(fd, out, HR_PEPPER_BYTES);
		int e = errno;
		if (w != HR_PEPPER_BYTES || fsync(fd) != 0) {
			close(fd);
			unlink(path);
			return pepper_fail(err, path, "cannot be written", w < 0 ? e : EIO);
		}
		close(fd);
		HR_LOG_INFO(MAIN, "created the key pepper '%s'", path);
		return 0;
	}
	if (errno != EEXIST)
		return pepper_fail(err, path, "cannot be created", errno);
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return pepper_fail(err, path, "cannot be read", errno);
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) != 0)
		rc = pepper_fail(err, path, "cannot be read", errno);
	else if (!S_ISREG(st.st_mode) || st.st_size != HR_PEPPER_BYTES)
		rc = pepper_fail(err, path, "is not 32 bytes", 0);
	else if (st.st_mode & 077)
		rc = pepper_fail(err, path, "is readable by others (chmod 600 it)", 0);
	else if (read(fd, out, HR_PEPPER_BYTES) != HR_PEPPER_BYTES)
		rc = pepper_fail(err, path, "cannot be read", errno);
	close(fd);
	return rc;
}

/* ---- the first start ---- */

static int count_cb(void *arg, enum hr_obj_kind kind, const void *obj)
{
	(void)kind, (void)obj;
	(*(int *)arg)++;
	return 0;
}

int hr_ident_bootstrap(struct hr_store *s, const unsigned char pepper[HR_PEPPER_BYTES],
                       const char *admin_key, FILE *announce, struct hr_buf *err)
{
	int n = 0;
	struct hr_obj_filter f = {.limit = 1};
	int rc = s->ops->obj_list(s, HR_OBJ_KEY, &f, count_cb, &n);
	if (rc < 0)
		return rc;
	if (n > 0) {
		if (admin_key && *admin_key)
			HR_LOG_INFO(MAIN,
			            "HEARTH_ADMIN_KEY ignored: the storage already has API keys");
		return 0;
	}

	char secret[HR_KEY_SECRET_CAP], prefix[HR_KEY_PREFIX_LEN + 1], hash[HR_KEY_HASH_HEX];
	bool given = admin_key && *admin_key;
	if (given) {
		size_t len = strlen(admin_key);
		if (strncmp(admin_key, "hk_", 3) != 0 || len < 32 || len >= sizeof secret) {
			hr_buf_addstr(err,
			              "HEARTH_ADMIN_KEY must start with 'hk_' and hold 32 to 63 "
			              "characters; unset it to have hearth generate one");
			return HR_EINVAL;
		}
		memcpy(secret, admin_key, len + 1);
		memcpy(prefix, secret + 3, HR_KEY_PREFIX_LEN);
		prefix[HR_KEY_PREFIX_LEN] = '\0';
	} else {
		hr_ident_key_new(secret, prefix);
	}
	hr_ident_key_hash(pepper, secret, strlen(secret), hash);

	char uid[HR_ID_CAP], kid[HR_ID_CAP];
	int64_t now = hr_ident_now_ms();
	hr_id_new("usr_", uid, sizeof uid);
	hr_id_new("key_", kid, sizeof kid);
	struct hr_user u = {.id = uid, .name = "admin", .role = "admin", .created_ms = now};
	struct hr_apikey k = {.id = kid,
	                      .name = "bootstrap",
	                      .prefix = prefix,
	                      .hash = hash,
	                      .user_id = uid,
	                      .role = "admin",
	                      .created_ms = now};
	struct hr_audit_event eu = {.ts_ms = now,
	                            .actor = "bootstrap",
	                            .action = "user.create",
	                            .object = uid,
	                            .detail = "name admin, role admin (first start)"};
	struct hr_audit_event ek = {.ts_ms = now,
	                            .actor = "bootstrap",
	                            .action = "key.create",
	                            .object = kid,
	                            .detail = given ? "role admin, from HEARTH_ADMIN_KEY"
	                                            : "role admin, generated"};
	rc = s->ops->obj_put(s, HR_OBJ_USER, &u, false, &eu);
	if (rc == 0)
		rc = s->ops->obj_put(s, HR_OBJ_KEY, &k, false, &ek);
	if (rc < 0) {
		sodium_memzero(secret, sizeof secret);
		hr_buf_addstr(err, "cannot create the first admin key in the storage");
		return HR_EIO;
	}
	HR_LOG_INFO(MAIN, "first start: created the admin user '%s' and key '%s' (%s)", uid, kid,
	            given ? "from HEARTH_ADMIN_KEY" : "generated");
	if (!given && announce) {
		fprintf(announce,
		        "hearth: first start: the admin API key (shown only this once; store it "
		        "now):\n\n    %s\n\nhint: export HEARTH_API_KEY=<that key> for the "
		        "`hearth keys` and `hearth users` commands\n",
		        secret);
		fflush(announce);
	}
	sodium_memzero(secret, sizeof secret);
	return 0;
}
