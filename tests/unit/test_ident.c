/* test_ident.c - identities' pure parts: roles and what each may hand out, key secrets and
 * their keyed hashes, object ids, allow-lists, the pepper file, and the first start. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/err.h"
#include "core/log.h"
#include "governance/ident.h"
#include "storage/store.h"

static void test_roles(void **state)
{
	(void)state;
	static const char *const names[] = {"member", "developer", "auditor", "admin"};
	for (int r = 0; r < 4; r++) {
		assert_string_equal(hr_urole_name((enum hr_urole)r), names[r]);
		assert_int_equal(hr_urole_parse(names[r]), r);
	}
	assert_int_equal(hr_urole_parse("root"), -1);
	assert_int_equal(hr_urole_parse("Admin"), -1);
	assert_int_equal(hr_urole_parse(NULL), -1);
	/* holder x given: admin gives all; developer gives developer and member; others their own
	 */
	static const bool covers[4][4] = {
	    /* member */ {true, false, false, false},
	    /* developer */ {true, true, false, false},
	    /* auditor */ {false, false, true, false},
	    /* admin */ {true, true, true, true},
	};
	for (int h = 0; h < 4; h++)
		for (int r = 0; r < 4; r++)
			assert_int_equal(hr_urole_covers((enum hr_urole)h, (enum hr_urole)r),
			                 covers[h][r]);
}

static void test_key_secrets_and_hashes(void **state)
{
	(void)state;
	char a[HR_KEY_SECRET_CAP], b[HR_KEY_SECRET_CAP], pa[HR_KEY_PREFIX_LEN + 1],
	    pb[HR_KEY_PREFIX_LEN + 1];
	hr_ident_key_new(a, pa);
	hr_ident_key_new(b, pb);
	assert_int_equal(strlen(a), 43);
	assert_memory_equal(a, "hk_", 3);
	for (size_t i = 3; i < 43; i++)
		assert_non_null(
		    strchr("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", a[i]));
	assert_string_not_equal(a, b);
	assert_int_equal(strlen(pa), HR_KEY_PREFIX_LEN);
	assert_memory_equal(pa, a + 3, HR_KEY_PREFIX_LEN);

	unsigned char p1[HR_PEPPER_BYTES] = {1}, p2[HR_PEPPER_BYTES] = {2};
	char h1[HR_KEY_HASH_HEX], h1b[HR_KEY_HASH_HEX], h2[HR_KEY_HASH_HEX], hx[HR_KEY_HASH_HEX];
	hr_ident_key_hash(p1, a, strlen(a), h1);
	hr_ident_key_hash(p1, a, strlen(a), h1b);
	hr_ident_key_hash(p2, a, strlen(a), h2);
	hr_ident_key_hash(p1, b, strlen(b), hx);
	assert_int_equal(strlen(h1), 64);
	assert_string_equal(h1, h1b);    /* deterministic */
	assert_string_not_equal(h1, h2); /* keyed: another pepper, another hash */
	assert_string_not_equal(h1, hx); /* another key, another hash */
	assert_null(strstr(h1, pa));     /* nothing of the secret shows */
}

static void test_ids(void **state)
{
	(void)state;
	char a[HR_ID_CAP], b[HR_ID_CAP];
	hr_id_new("usr_", a, sizeof a);
	hr_id_new("usr_", b, sizeof b);
	assert_int_equal(strlen(a), 4 + 24);
	assert_memory_equal(a, "usr_", 4);
	assert_string_not_equal(a, b);
	assert_true(strcmp(a, b) < 0 || memcmp(a, b, 4 + 9) == 0); /* time first: sorted */
	char small[8];
	hr_id_new("key_", small, sizeof small); /* truncated, terminated */
	assert_int_equal(strlen(small), 7);
}

static void test_allow_lists(void **state)
{
	(void)state;
	assert_true(hr_ident_allows(NULL, "anything"));
	assert_true(hr_ident_allows("[\"a\",\"b\"]", "b"));
	assert_false(hr_ident_allows("[\"a\",\"b\"]", "c"));
	assert_false(hr_ident_allows("[\"a\"]", "A"));
	assert_false(hr_ident_allows("[]", "a"));
	assert_false(hr_ident_allows("not json", "a")); /* fails closed */
	assert_false(hr_ident_allows("{\"a\": 1}", "a"));
	assert_false(hr_ident_allows("[\"a\"]", NULL));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(p);
}

static void test_pepper_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/hearth-test-ident-XXXXXX", path[128];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/pepper", dir);
	unsetenv("HEARTH_MASTER_KEY");
	unsigned char a[HR_PEPPER_BYTES], b[HR_PEPPER_BYTES], zero[HR_PEPPER_BYTES] = {0};
	struct hr_buf err = HR_BUF_INIT(4096);
	assert_int_equal(hr_ident_pepper_load(dir, a, &err), 0);
	assert_memory_not_equal(a, zero, sizeof a);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, HR_PEPPER_BYTES);
	assert_int_equal(hr_ident_pepper_load(dir, b, &err), 0); /* the same, read back */
	assert_memory_equal(a, b, sizeof a);

	chmod(path, 0644); /* readable by others: refused, saying what to do */
	assert_int_equal(hr_ident_pepper_load(dir, b, &err), HR_EIO);
	assert_non_null(strstr(hr_buf_str(&err).ptr, "chmod 600"));
	hr_buf_reset(&err);
	chmod(path, 0600);
	assert_int_equal(truncate(path, 5), 0);
	assert_int_equal(hr_ident_pepper_load(dir, b, &err), HR_EIO);
	assert_non_null(strstr(hr_buf_str(&err).ptr, "32 bytes"));
	hr_buf_reset(&err);

	setenv("HEARTH_MASTER_KEY", "a master key of some length", 1);
	assert_int_equal(hr_ident_pepper_load(dir, a, &err), 0); /* the file is not read */
	assert_int_equal(hr_ident_pepper_load("/nonexistent", b, &err), 0);
	assert_memory_equal(a, b, sizeof a);
	setenv("HEARTH_MASTER_KEY", "another master key", 1);
	assert_int_equal(hr_ident_pepper_load(dir, b, &err), 0);
	assert_memory_not_equal(a, b, sizeof a);
	unsetenv("HEARTH_MASTER_KEY");
	hr_buf_release(&err);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

struct keys_seen {
	int n;
	char hash[HR_KEY_HASH_HEX], role[16], actor[32];
};

static int key_seen(void *arg, enum hr_obj_kind kind, const void *obj)
{
	struct keys_seen *x = arg;
	(void)kind;
	const struct hr_apikey *k = obj;
	x->n++;
	snprintf(x->hash, sizeof x->hash, "%s", k->hash);
	snprintf(x->role, sizeof x->role, "%s", k->role);
	return 0;
}

static int actor_seen(void *arg, const struct hr_audit_event *ev)
{
	struct keys_seen *x = arg;
	snprintf(x->actor, sizeof x->actor, "%s", ev->actor);
	x->n++;
	return 0;
}

static void test_bootstrap(void **state)
{
	(void)state;
	char dir[] = "/tmp/hearth-test-boot-XXXXXX";
	assert_non_null(mkdtemp(dir));
	struct hr_store *s = NULL;
	struct hr_buf err = HR_BUF_INIT(4096);
	assert_int_equal(hr_store_open(&s, dir, false, &err), 0);
	unsigned char pepper[HR_PEPPER_BYTES] = {7};

	assert_int_equal(hr_ident_bootstrap(s, pepper, "hk_short", NULL, &err), HR_EINVAL);
	assert_non_null(strstr(hr_buf_str(&err).ptr, "HEARTH_ADMIN_KEY"));
	hr_buf_reset(&err);
	assert_int_equal(
	    hr_ident_bootstrap(s, pepper, "sk-not-a-hearth-key-0123456789abcdef", NULL, &err),
	    HR_EINVAL);
	hr_buf_reset(&err);

	const char *given = "hk_givenAdminKey0123456789abcdefghij";
	assert_int_equal(hr_ident_bootstrap(s, pepper, given, NULL, &err), 0);
	struct keys_seen x = {0};
	char want[HR_KEY_HASH_HEX];
	hr_ident_key_hash(pepper, given, strlen(given), want);
	assert_int_equal(s->ops->key_by_hash(s, want, key_seen, &x), 0);
	assert_int_equal(x.n, 1);
	assert_string_equal(x.role, "admin");
	/* keys exist: a second start creates nothing, whatever it is given */
	assert_int_equal(hr_ident_bootstrap(s, pepper, NULL, NULL, &err), 0);
	struct hr_obj_filter all = {.limit = 100};
	x.n = 0;
	assert_int_equal(s->ops->obj_list(s, HR_OBJ_KEY, &all, key_seen, &x), 0);
	assert_int_equal(x.n, 1);
	struct keys_seen ev = {0};
	assert_int_equal(s->ops->audit_scan(s, actor_seen, &ev), 0);
	assert_int_equal(ev.n, 2); /* the user and the key */
	assert_string_equal(ev.actor, "bootstrap");
	s->ops->close(s);
	hr_buf_release(&err);
	nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
	hr_log_setup(HR_LOG_LVL_ERROR, HR_LOG_TEXT);
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roles),       cmocka_unit_test(test_key_secrets_and_hashes),
	    cmocka_unit_test(test_ids),         cmocka_unit_test(test_allow_lists),
	    cmocka_unit_test(test_pepper_file), cmocka_unit_test(test_bootstrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
