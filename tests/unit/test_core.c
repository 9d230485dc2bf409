/* test_core.c - unit tests of src/core arena.c, buf.c and err.c: the arena's cap and cleanup
 * order, the buffer's hard cap and JSON escaping, the error table's lookups. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/err.h"

/* ---- arena ---- */

static void test_arena_alloc(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	assert_non_null(a);
	assert_int_equal(hr_arena_used(a), 0);

	/* every size, small and large, comes back aligned and writable */
	static const size_t sizes[] = {0, 1, 7, 16, 100, 2047, 2049, 8192, 100000};
	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		unsigned char *p = hr_arena_alloc(a, sizes[i]);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % 16, 0);
		memset(p, 0xab, sizes[i]);
	}
	unsigned char *z = hr_arena_calloc(a, 300);
	assert_non_null(z);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(z[i], 0);

	/* two allocations never overlap */
	char *x = hr_arena_alloc(a, 10), *y = hr_arena_alloc(a, 10);
	assert_true(x + 10 <= y || y + 10 <= x);
	assert_true(hr_arena_used(a) >= 100000 + 8192 + 2049);
	hr_arena_destroy(a);
	hr_arena_destroy(NULL);
}

static void test_arena_strings(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	const char src[] = {'a', 'b', '\0', 'c'};
	char *s = hr_arena_strndup(a, src, 4);
	assert_memory_equal(s, src, 4);
	assert_int_equal(s[4], '\0');
	s = hr_arena_strndup(a, "hello world", 5);
	assert_string_equal(s, "hello");
	assert_string_equal(hr_arena_strdup(a, ""), "");
	assert_string_equal(hr_arena_printf(a, "%s-%d-%03d", "x", 42, 7), "x-42-007");
	char big[5000];
	memset(big, 'q', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	assert_string_equal(hr_arena_printf(a, "%s", big), big);
	hr_arena_destroy(a);
}

static void test_arena_cap(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(1000);
	assert_non_null(hr_arena_alloc(a, 500));
	size_t used = hr_arena_used(a);
	/* over the cap: NULL, never an abort, and nothing is counted */
	assert_null(hr_arena_alloc(a, 600));
	assert_int_equal(hr_arena_used(a), used);
	static const char k[1000];
	assert_null(hr_arena_strndup(a, k, sizeof k));
	assert_null(hr_arena_printf(a, "%0900d", 1));
	/* what still fits is still handed out */
	assert_non_null(hr_arena_alloc(a, 400));
	assert_true(hr_arena_used(a) <= 1000);
	assert_null(hr_arena_alloc(a, SIZE_MAX));
	hr_arena_destroy(a);

	a = hr_arena_create(0);
	assert_null(hr_arena_alloc(a, SIZE_MAX)); /* absurd sizes fail, uncapped or not */
	assert_null(hr_arena_alloc(a, SIZE_MAX / 2 + 1));
	hr_arena_destroy(a);
}

static char order[16];
static size_t n_order;

static void record(void *arg)
{
	order[n_order++] = *(const char *)arg;
}

static void test_arena_defer_lifo(void **state)
{
	(void)state;
	static const char tags[] = "abcd";
	struct hr_arena *a = hr_arena_create(64);
	n_order = 0;
	for (int i = 0; i < 4; i++)
		assert_int_equal(hr_arena_defer(a, record, (void *)&tags[i]), 0);
	assert_int_equal(n_order, 0); /* nothing runs before destroy */
	hr_arena_destroy(a);
	assert_int_equal(n_order, 4);
	assert_memory_equal(order, "dcba", 4); /* last in, first out */

	/* cleanups are registered even when the arena's cap is used up */
	a = hr_arena_create(16);
	assert_non_null(hr_arena_alloc(a, 16));
	assert_null(hr_arena_alloc(a, 1));
	n_order = 0;
	assert_int_equal(hr_arena_defer(a, record, (void *)&tags[0]), 0);
	hr_arena_destroy(a);
	assert_int_equal(n_order, 1);
}

static void free_buf_cb(void *b)
{
	hr_buf_release(b);
}

static void test_arena_defer_buf(void **state)
{
	(void)state;
	/* the documented pattern: a buffer dies with the arena (valgrind checks the free) */
	struct hr_arena *a = hr_arena_create(0);
	struct hr_buf *b = hr_arena_alloc(a, sizeof *b);
	hr_buf_init(b, 1 << 20);
	assert_int_equal(hr_buf_addstr(b, "owned by the arena"), 0);
	assert_int_equal(hr_arena_defer(a, free_buf_cb, b), 0);
	struct hr_buf *b2 = hr_arena_alloc(a, sizeof *b2);
	hr_buf_init(b2, 64);
	assert_int_equal(hr_buf_addstr(b2, "x"), 0);
	assert_int_equal(hr_arena_defer(a, hr_buf_release_cb, b2), 0);
	hr_arena_destroy(a);
}

/* ---- buf ---- */

static void test_buf_basics(void **state)
{
	(void)state;
	struct hr_buf b = HR_BUF_INIT(1 << 20);
	assert_null(b.ptr);
	struct hr_str s = hr_buf_str(&b);
	assert_string_equal(s.ptr, "");
	assert_int_equal(s.len, 0);

	assert_int_equal(hr_buf_addstr(&b, "hello"), 0);
	assert_int_equal(hr_buf_addch(&b, ' '), 0);
	assert_int_equal(hr_buf_addf(&b, "%s %d", "world", 42), 0);
	assert_string_equal(b.ptr, "hello world 42");
	assert_int_equal(b.len, 14);
	assert_int_equal(hr_buf_add(&b, "\0z", 2), 0); /* NULs are bytes like any other */
	assert_int_equal(b.len, 16);
	assert_int_equal(b.ptr[16], '\0');

	hr_buf_consume(&b, 6);
	assert_memory_equal(b.ptr, "world 42\0z", 10);
	assert_int_equal(b.len, 10);
	hr_buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	assert_string_equal(b.ptr, "");

	assert_int_equal(hr_buf_addstr(&b, "again"), 0);
	hr_buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_non_null(b.ptr); /* the memory is kept */
	assert_string_equal(b.ptr, "");

	/* growth well past the first allocation keeps every byte */
	for (int i = 0; i < 10000; i++)
		assert_int_equal(hr_buf_addch(&b, (char)('a' + i % 26)), 0);
	assert_int_equal(b.len, 10000);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(b.ptr[i], 'a' + i % 26);
	assert_int_equal(b.ptr[10000], '\0');
	hr_buf_release(&b);
	assert_null(b.ptr);
	assert_int_equal(b.len, 0);
}

static void test_buf_cap(void **state)
{
	(void)state;
	struct hr_buf b;
	hr_buf_init(&b, 8);
	assert_int_equal(hr_buf_addstr(&b, "12345"), 0);
	/* each append that would pass max fails with HR_ETOOBIG and leaves b unchanged */
	assert_int_equal(hr_buf_addstr(&b, "6789"), HR_ETOOBIG);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(b.len, 5);
	assert_int_equal(hr_buf_addf(&b, "%d", 1234), HR_ETOOBIG);
	assert_string_equal(b.ptr, "12345");
	assert_int_equal(hr_buf_add(&b, "x", SIZE_MAX), HR_ETOOBIG);
	/* exactly max fits */
	assert_int_equal(hr_buf_addstr(&b, "678"), 0);
	assert_int_equal(b.len, 8);
	assert_int_equal(hr_buf_addch(&b, '9'), HR_ETOOBIG);
	assert_string_equal(b.ptr, "12345678");
	hr_buf_release(&b);

	/* max 0: nothing fits, but an empty append is fine */
	hr_buf_init(&b, 0);
	assert_int_equal(hr_buf_addch(&b, 'x'), HR_ETOOBIG);
	assert_int_equal(hr_buf_add(&b, "", 0), 0);
	hr_buf_release(&b);
}

static const struct {
	const char *in;
	size_t len;
	const char *out;
} json_cases[] = {
    {"plain", 5, "plain"},
    {"", 0, ""},
    {"say \"hi\"", 8, "say \\\"hi\\\""},
    {"back\\slash", 10, "back\\\\slash"},
    {"a\nb\rc\td", 7, "a\\nb\\rc\\td"},
    {"\b\f", 2, "\\b\\f"},
    {"\x01\x1f", 2, "\\u0001\\u001f"},
    {"nul\0x", 5, "nul\\u0000x"},
    {"caf\xc3\xa9 \xe2\x82\xac", 9, "caf\xc3\xa9 \xe2\x82\xac"}, /* UTF-8 passes through */
    {"/ and \x7f", 7, "/ and \x7f"},
    {"\"", 1, "\\\""},
};

static void test_buf_json_escape(void **state)
{
	(void)state;
	struct hr_buf b = HR_BUF_INIT(1024);
	for (size_t i = 0; i < sizeof json_cases / sizeof json_cases[0]; i++) {
		hr_buf_reset(&b);
		assert_int_equal(hr_buf_addch(&b, '['), 0);
		assert_int_equal(hr_buf_add_json_escaped(&b, json_cases[i].in, json_cases[i].len),
		                 0);
		assert_int_equal(hr_buf_addch(&b, ']'), 0);
		char want[128];
		snprintf(want, sizeof want, "[%s]", json_cases[i].out);
		assert_string_equal(b.ptr, want);
	}
	hr_buf_release(&b);
}

/* buf.h promises "b unchanged" on HR_ETOOBIG for every append, the escaper included. */
static void test_buf_json_escape_cap(void **state)
{
	(void)state;
	struct hr_buf b = HR_BUF_INIT(8);
	assert_int_equal(hr_buf_addstr(&b, "12345"), 0);
	assert_int_equal(hr_buf_add_json_escaped(&b, "abcd", 4), HR_ETOOBIG);
	assert_int_equal(hr_buf_add_json_escaped(&b, "\n\n", 2), HR_ETOOBIG);
	assert_int_equal(b.len, 5);
	assert_string_equal(b.ptr, "12345");
	hr_buf_release(&b);
}

/* ---- err ---- */

static void test_err_table(void **state)
{
	(void)state;
	assert_int_equal(HR_OK, 0);
	assert_true(HR_ENOMEM < 0 && HR_EUNAVAIL < 0);
	assert_string_equal(hr_err_name(HR_OK), "OK");
	assert_string_equal(hr_err_name(HR_ECONF), "ECONF");
	assert_string_equal(hr_err_name(HR_ETOOBIG), "ETOOBIG");
	assert_int_equal(hr_err_status(HR_ETOOBIG), 413);
	assert_string_equal(hr_err_code(HR_ETOOBIG), "request_too_large");
	assert_int_equal(hr_err_status(HR_EAUTH), 401);
	assert_string_equal(hr_err_type(HR_EAUTH), "authentication_error");
	assert_int_equal(hr_err_status(HR_ERATELIMIT), 429);
	assert_string_equal(hr_err_type(HR_ERATELIMIT), "rate_limit_error");
	assert_int_equal(hr_err_status(HR_ENOMODEL), 404);
	assert_string_equal(hr_err_code(HR_ENOMODEL), "model_not_found");
	assert_int_equal(hr_err_status(HR_ETIMEOUT), 504);
	assert_int_equal(hr_err_status(HR_EUNAVAIL), 503);
	assert_string_equal(hr_err_msg(HR_ECONF), "configuration error");

	/* every code has a distinct name and a sane status */
	for (int e = HR_ERR_BASE_ + 1; e < HR_ERR_END_; e++) {
		assert_true(hr_err_status(e) >= 400 && hr_err_status(e) < 600);
		assert_true(strlen(hr_err_msg(e)) > 0);
		assert_int_equal(hr_err_name(e)[0], 'E');
		for (int f = e + 1; f < HR_ERR_END_; f++)
			assert_string_not_equal(hr_err_name(e), hr_err_name(f));
	}

	/* unknown codes map to EINTERNAL, they never index out of the table */
	static const int unknown[] = {-1, -12, HR_ERR_BASE_, HR_ERR_END_, 5, -5000};
	for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
		assert_int_equal(hr_err_status(unknown[i]), 500);
		assert_string_equal(hr_err_name(unknown[i]), "EINTERNAL");
		assert_string_equal(hr_err_code(unknown[i]), "internal_error");
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_arena_alloc),
	    cmocka_unit_test(test_arena_strings),
	    cmocka_unit_test(test_arena_cap),
	    cmocka_unit_test(test_arena_defer_lifo),
	    cmocka_unit_test(test_arena_defer_buf),
	    cmocka_unit_test(test_buf_basics),
	    cmocka_unit_test(test_buf_cap),
	    cmocka_unit_test(test_buf_json_escape),
	    cmocka_unit_test(test_buf_json_escape_cap),
	    cmocka_unit_test(test_err_table),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
