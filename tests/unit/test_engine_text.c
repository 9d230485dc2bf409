/* test_engine_text.c - the embedded engine's pure text work (engine/text.h): the GGUF header
 * check, the plain prompt of a model without a chat template, stop strings held back while
 * they may still match, and UTF-8 boundaries of streamed pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "engine/text.h"

static void header(uint8_t *h, const char *magic, uint32_t version, uint64_t tensors,
                   uint64_t kvs)
{
	memcpy(h, magic, 4);
	for (int i = 0; i < 4; i++)
		h[4 + i] = (uint8_t)(version >> (8 * i));
	for (int i = 0; i < 8; i++) {
		h[8 + i] = (uint8_t)(tensors >> (8 * i));
		h[16 + i] = (uint8_t)(kvs >> (8 * i));
	}
}

static void test_gguf_check(void **state)
{
	(void)state;
	uint8_t h[HR_GGUF_HEADER];
	const char *why;
	header(h, "GGUF", 3, 48, 20);
	assert_int_equal(hr_gguf_check(h, sizeof h, 1185344, &why), 0);
	header(h, "GGUF", 2, 48, 20);
	assert_int_equal(hr_gguf_check(h, sizeof h, 1185344, &why), 0);
	static const struct {
		const char *magic;
		uint32_t version;
		uint64_t tensors, size;
		size_t n;
		const char *why;
	} bad[] = {
	    {"GGUF", 3, 48, 0, 0, "the file is empty"},
	    {"<htm", 3, 48, 1000, HR_GGUF_HEADER, "not a GGUF file"},
	    {"GGUF", 3, 48, 1000, 3, "not a GGUF file"},
	    {"GGUF", 3, 48, 20, 20, "truncated"},
	    {"GGUF", 1, 48, 1000, HR_GGUF_HEADER, "version 1"},
	    {"GGUF", 4, 48, 1000, HR_GGUF_HEADER, "unknown GGUF version"},
	    {"GGUF", 3, UINT64_MAX, 1000, HR_GGUF_HEADER, "truncated or corrupt"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		header(h, bad[i].magic, bad[i].version, bad[i].tensors, 20);
		why = NULL;
		assert_int_equal(hr_gguf_check(h, bad[i].n, bad[i].size, &why), HR_EINVAL);
		assert_non_null(strstr(why, bad[i].why));
	}
}

static void test_plain_prompt(void **state)
{
	(void)state;
	struct hr_prompt_msg one[] = {{HR_STR("user"), HR_STR("Once upon a time")}};
	struct hr_buf b = HR_BUF_INIT(1024);
	assert_int_equal(hr_prompt_plain(one, 1, &b), 0);
	assert_string_equal(b.ptr, "Once upon a time"); /* continued as written */
	hr_buf_reset(&b);
	struct hr_prompt_msg conv[] = {{HR_STR("system"), HR_STR("Tell stories.")},
	                               {HR_STR("user"), HR_STR("")},
	                               {HR_STR("user"), HR_STR("A cat")},
	                               {HR_STR("assistant"), HR_STR("sat")}};
	assert_int_equal(hr_prompt_plain(conv, 4, &b), 0);
	assert_string_equal(b.ptr, "Tell stories.\nA cat\nsat");
	struct hr_buf small = HR_BUF_INIT(5);
	assert_int_equal(hr_prompt_plain(one, 1, &small), HR_ETOOBIG);
	hr_buf_release(&b);
	hr_buf_release(&small);
}

static void test_stops(void **state)
{
	(void)state;
	struct hr_str stops[] = {HR_STR(" named"), HR_STR("END"), HR_STR("")};
	const char *t = ", there was a little girl named Lily";
	assert_int_equal(hr_stop_find(t, strlen(t), 0, stops, 3), 25);
	assert_int_equal(hr_stop_find(t, strlen(t), 26, stops, 3), -1);
	assert_int_equal(hr_stop_find("xENDx named", 11, 0, stops, 3), 1); /* the first one */
	/* text that may become a stop string is held back */
	assert_int_equal(hr_stop_safe_len("a girl na", 9, stops, 3), 6);
	assert_int_equal(hr_stop_safe_len("a girl EN", 9, stops, 3), 7);
	assert_int_equal(hr_stop_safe_len("a girl", 6, stops, 3), 6);
	assert_int_equal(hr_stop_safe_len("x", 1, NULL, 0), 1);
}

static void test_utf8(void **state)
{
	(void)state;
	const char *e = "caf\xc3\xa9";                         /* café */
	assert_int_equal(hr_utf8_complete(e, 5), 5);
	assert_int_equal(hr_utf8_complete(e, 4), 3);           /* half of the é: held */
	assert_int_equal(hr_utf8_complete("\xf0\x9f\x98", 3), 0); /* 3 of 4 bytes */
	assert_int_equal(hr_utf8_complete("\xf0\x9f\x98\x80", 4), 4);
	assert_int_equal(hr_utf8_complete("ab", 2), 2);
	char bad[] = "a\xff\xc3-b\xed\xa0\x80\xc3\xa9";
	hr_utf8_sanitize(bad, strlen(bad));
	assert_string_equal(bad, "a?" "?-b?" "?" "?\xc3\xa9");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_gguf_check),
	    cmocka_unit_test(test_plain_prompt),
	    cmocka_unit_test(test_stops),
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
