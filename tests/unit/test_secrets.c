/* test_secrets.c - the encrypted secret store as functions: names, master keys in hex and
 * base64 (and what is not a key), seal and open, a wrong key, a line moved to another name,
 * save and load round trip, delete, and a key file with loose permissions refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "core/secrets.h"

static const char HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

static void test_names_and_keys(void **state)
{
	(void)state;
	assert_true(hr_secret_name_ok("openai.prod-1_x", 15));
	assert_false(hr_secret_name_ok("", 0));
	assert_false(hr_secret_name_ok("a b", 3));
	assert_false(hr_secret_name_ok("a/b", 3));
	char long_name[HR_SECRET_MAX_NAME + 2];
	memset(long_name, 'a', sizeof long_name);
	assert_false(hr_secret_name_ok(long_name, HR_SECRET_MAX_NAME + 1));

	unsigned char k[HR_SECRET_KEY_BYTES], want[HR_SECRET_KEY_BYTES];
	for (int i = 0; i < HR_SECRET_KEY_BYTES; i++)
		want[i] = (unsigned char)i;
	const char *src = NULL;
	char why[256];
	static const char *const good[] = {
	    HEX, "  000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"};
	for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
		setenv("HEARTH_MASTER_KEY", good[i], 1);
		assert_int_equal(hr_secrets_master_key(NULL, k, &src, why, sizeof why), 0);
		assert_memory_equal(k, want, sizeof k);
		assert_string_equal(src, "HEARTH_MASTER_KEY");
	}
	static const char *const bad[] = {
	    "abc", "0001", "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
	    "AAECAwQFBgcICQoL"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		setenv("HEARTH_MASTER_KEY", bad[i], 1);
		assert_int_equal(hr_secrets_master_key(NULL, k, &src, why, sizeof why), -1);
		assert_non_null(strstr(why, "not a key"));
	}
	unsetenv("HEARTH_MASTER_KEY");
	assert_int_equal(hr_secrets_master_key(NULL, k, &src, why, sizeof why), 1);

	/* a key file: 0600 and ours, or refused */
	char path[] = "/tmp/hr-test-keyXXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, HEX, sizeof HEX - 1), (ssize_t)(sizeof HEX - 1));
	close(fd);
	chmod(path, 0640);
	assert_int_equal(hr_secrets_master_key(path, k, &src, why, sizeof why), -1);
	assert_non_null(strstr(why, "chmod 600"));
	chmod(path, 0600);
	assert_int_equal(hr_secrets_master_key(path, k, &src, why, sizeof why), 0);
	assert_memory_equal(k, want, sizeof k);
	assert_string_equal(src, path);
	unlink(path);
	assert_int_equal(hr_secrets_master_key(path, k, &src, why, sizeof why), -1);
}

static void test_store(void **state)
{
	(void)state;
	char dir[] = "/tmp/hr-test-secretsXXXXXX";
	assert_non_null(mkdtemp(dir));
	unsigned char key[HR_SECRET_KEY_BYTES], other[HR_SECRET_KEY_BYTES];
	randombytes_buf(key, sizeof key);
	randombytes_buf(other, sizeof other);
	struct hr_secrets s;
	char why[256];
	assert_int_equal(hr_secrets_load(dir, &s, why, sizeof why), 0); /* no file: empty */
	assert_int_equal(s.n, 0);
	assert_int_equal(hr_secrets_put(&s, "a", "sk-one", 6, key, 1000, why, sizeof why), 0);
	assert_int_equal(hr_secrets_put(&s, "b", "sk-two", 6, key, 2000, why, sizeof why), 0);
	assert_int_equal(hr_secrets_put(&s, "a", "sk-uno", 6, key, 3000, why, sizeof why), 0);
	assert_int_equal(hr_secrets_put(&s, "c", "", 0, key, 1, why, sizeof why), -1);
	assert_int_equal(hr_secrets_put(&s, "c d", "x", 1, key, 1, why, sizeof why), -1);
	assert_int_equal(hr_secrets_save(&s, why, sizeof why), 0);
	hr_secrets_free(&s);

	assert_int_equal(hr_secrets_load(dir, &s, why, sizeof why), 0);
	assert_int_equal(s.n, 2);
	const struct hr_secret_entry *a = hr_secrets_find(&s, "a");
	assert_non_null(a);
	assert_true(a->created_ms == 1000 && a->updated_ms == 3000);
	char *v = NULL;
	size_t n = 0;
	assert_int_equal(hr_secrets_open(a, key, &v, &n), 0);
	assert_int_equal(n, 6);
	assert_string_equal(v, "sk-uno");
	hr_secret_wipe_free(v, n);
	assert_int_equal(hr_secrets_open(a, other, &v, &n), -1);
	/* a sealed value moved under another name does not open */
	struct hr_secret_entry moved = *a;
	snprintf(moved.name, sizeof moved.name, "b");
	assert_int_equal(hr_secrets_open(&moved, key, &v, &n), -1);
	assert_int_equal(hr_secrets_delete(&s, "a"), 0);
	assert_int_equal(hr_secrets_delete(&s, "a"), -1);
	assert_int_equal(hr_secrets_save(&s, why, sizeof why), 0);
	hr_secrets_free(&s);

	/* the file: mode 0600, no clear value; a damaged line is an error naming it */
	char path[256];
	snprintf(path, sizeof path, "%s/%s", dir, HR_SECRETS_FILE);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t got = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[got] = '\0';
	assert_null(strstr(buf, "sk-two"));
	assert_non_null(strstr(buf, "hearth-secrets 1\nb 2000 2000 "));
	f = fopen(path, "a");
	fputs("x 1 2 !!!\n", f);
	fclose(f);
	assert_int_equal(hr_secrets_load(dir, &s, why, sizeof why), -1);
	assert_non_null(strstr(why, "line 3 is damaged"));
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_and_keys),
	    cmocka_unit_test(test_store),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
