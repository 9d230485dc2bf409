/* test_redact.c - the redact action's pieces as pure functions: the placeholder map (same
 * value, same placeholder; numbers per class; lookups), the whole-text restorer (text and
 * JSON escaping, invented and malformed placeholders), the streaming restorer fed the same
 * answer cut at every position (and byte by byte), and hr_policy_redact over a request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/conf.h"
#include "core/err.h"
#include "governance/policy.h"
#include "governance/redact.h"

static void test_map(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_redact_map m = {0};
	const struct hr_redact_entry *e1 = hr_redact_map_add(a, &m, HR_PII_EMAIL, "a@b.io", 6);
	const struct hr_redact_entry *p1 = hr_redact_map_add(a, &m, HR_PII_PERSON, "Ann Lee", 7);
	const struct hr_redact_entry *e2 = hr_redact_map_add(a, &m, HR_PII_EMAIL, "c@d.io", 6);
	const struct hr_redact_entry *again = hr_redact_map_add(a, &m, HR_PII_EMAIL, "a@b.io", 6);
	const struct hr_redact_entry *sa =
	    hr_redact_map_add(a, &m, HR_PII_STREET_ADDRESS, "1 Main St", 9);
	assert_non_null(e1);
	assert_ptr_equal(e1, again);
	assert_int_equal(m.n, 4);
	assert_true(hr_str_eq_cstr(e1->placeholder, "[EMAIL_1]"));
	assert_true(hr_str_eq_cstr(e2->placeholder, "[EMAIL_2]"));
	assert_true(hr_str_eq_cstr(p1->placeholder, "[PERSON_1]"));
	assert_true(hr_str_eq_cstr(sa->placeholder, "[STREET_ADDRESS_1]"));
	assert_ptr_equal(hr_redact_map_find(&m, "[EMAIL_2]", 9), e2);
	assert_ptr_equal(hr_redact_map_find(&m, "[STREET_ADDRESS_1]", 18), sa);
	static const char *const misses[] = {
	    "[EMAIL_3]", "[EMAIL_0]", "[EMAIL_]",    "[EMAIL1]", "[email_1]",
	    "[PHONE_1]", "[_1]",      "[EMAIL_01x]", "EMAIL_1",  "[EMAIL_99999999999]"};
	for (size_t i = 0; i < sizeof misses / sizeof *misses; i++)
		assert_null(hr_redact_map_find(&m, misses[i], strlen(misses[i])));
	assert_null(hr_redact_map_add(a, &m, HR_PII_EMAIL, "", 0));
	/* many values: the table grows and keeps them all */
	char v[32];
	for (int i = 0; i < 5000; i++) {
		int n = snprintf(v, sizeof v, "u%d@x.io", i);
		assert_non_null(hr_redact_map_add(a, &m, HR_PII_EMAIL, v, (size_t)n));
	}
	assert_int_equal(m.count[HR_PII_EMAIL], 5002);
	const struct hr_redact_entry *last = hr_redact_map_find(&m, "[EMAIL_5002]", 12);
	assert_non_null(last);
	assert_true(hr_str_eq_cstr(last->value, "u4999@x.io"));
	hr_arena_destroy(a);
}

static struct hr_redact_map sample(struct hr_arena *a)
{
	struct hr_redact_map m = {0};
	hr_redact_map_add(a, &m, HR_PII_EMAIL, "jane@x.org", 10);
	hr_redact_map_add(a, &m, HR_PII_PERSON, "Ann \"Bo\" Lee", 12);
	return m;
}

static const char *restore(struct hr_redact_map *m, bool json, const char *in, struct hr_buf *b)
{
	hr_buf_reset(b);
	assert_int_equal(hr_redact_restore(m, json, in, strlen(in), b), 0);
	return b->ptr ? b->ptr : "";
}

static void test_restore(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_redact_map m = sample(a);
	struct hr_buf b = HR_BUF_INIT(1 << 20);
	assert_string_equal(restore(&m, false, "to [EMAIL_1], [PERSON_1]!", &b),
	                    "to jane@x.org, Ann \"Bo\" Lee!");
	assert_string_equal(restore(&m, true, "{\"to\":\"[PERSON_1] <[EMAIL_1]>\"}", &b),
	                    "{\"to\":\"Ann \\\"Bo\\\" Lee <jane@x.org>\"}");
	/* invented, malformed or unfinished: as they came */
	static const char *const same[] = {
	    "[EMAIL_2]",  "[[EMAIL_1",
	    "[EMAIL_1 ]", "[",
	    "]",          "[a]",
	    "[]",         "x [EMAIL",
	    "[EMAIL_1[",  "[XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX_1]"};
	for (size_t i = 0; i < sizeof same / sizeof *same; i++)
		assert_string_equal(restore(&m, false, same[i], &b), same[i]);
	assert_string_equal(restore(&m, false, "[[EMAIL_1]]", &b), "[jane@x.org]");
	assert_string_equal(restore(&m, false, "[EMAIL_1[EMAIL_1]", &b), "[EMAIL_1jane@x.org");
	hr_buf_release(&b);
	hr_arena_destroy(a);
}

/* Feeds in cut at every position (two pieces), then byte by byte: the output is the
 * whole-text restoration each time. */
static void test_stream_every_cut(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_redact_map m = sample(a);
	static const char *const answers[] = {
	    "Dear [PERSON_1], we wrote to [EMAIL_1] about [EMAIL_1].",
	    "[EMAIL_1][PERSON_1][EMAIL_9][EMAIL_1",
	    "no placeholders [ at all ] [A_B_C] [EMAIL_",
	    "{\"a\":\"[PERSON_1]\",\"b\":[1,2]}",
	};
	struct hr_buf want = HR_BUF_INIT(1 << 20), got = HR_BUF_INIT(1 << 20);
	for (size_t t = 0; t < sizeof answers / sizeof *answers; t++) {
		const char *in = answers[t];
		size_t n = strlen(in);
		for (int json = 0; json < 2; json++) {
			hr_buf_reset(&want);
			assert_int_equal(hr_redact_restore(&m, json, in, n, &want), 0);
			for (size_t cut = 0; cut <= n; cut++) {
				struct hr_redact_stream s;
				hr_redact_stream_init(&s, &m, json);
				hr_buf_reset(&got);
				assert_int_equal(hr_redact_stream_feed(&s, in, cut, &got), 0);
				assert_true(s.n_hold < HR_REDACT_MAX_PLACEHOLDER);
				assert_int_equal(hr_redact_stream_feed(&s, in + cut, n - cut, &got),
				                 0);
				assert_int_equal(hr_redact_stream_flush(&s, &got), 0);
				if (got.len != want.len || memcmp(got.ptr, want.ptr, got.len) != 0)
					fail_msg("'%s' cut at %zu: '%s', want '%s'", in, cut,
					         got.ptr ? got.ptr : "", want.ptr);
			}
			struct hr_redact_stream s;
			hr_redact_stream_init(&s, &m, json);
			hr_buf_reset(&got);
			for (size_t i = 0; i < n; i++)
				assert_int_equal(hr_redact_stream_feed(&s, in + i, 1, &got), 0);
			assert_int_equal(hr_redact_stream_flush(&s, &got), 0);
			assert_int_equal(got.len, want.len);
			assert_memory_equal(got.ptr, want.ptr, got.len);
		}
	}
	/* text before a held-back prefix goes out at once; the prefix waits */
	struct hr_redact_stream s;
	hr_redact_stream_init(&s, &m, false);
	hr_buf_reset(&got);
	assert_int_equal(hr_redact_stream_feed(&s, "hello [EMA", 10, &got), 0);
	assert_string_equal(got.ptr, "hello ");
	assert_int_equal(hr_redact_stream_feed(&s, "IL_1] and [x", 12, &got), 0);
	assert_string_equal(got.ptr, "hello jane@x.org and [x");
	/* a full output buffer is an error, never a silent cut */
	struct hr_buf tiny = HR_BUF_INIT(4);
	assert_int_equal(hr_redact_restore(&m, false, "[EMAIL_1]", 9, &tiny), HR_ETOOBIG);
	hr_buf_release(&tiny);
	hr_buf_release(&want);
	hr_buf_release(&got);
	hr_arena_destroy(a);
}

#define TEXT(s)                                                                                    \
	{                                                                                          \
		.type = HR_PART_TEXT, .text = HR_STR(s)                                            \
	}

/* The policy over a request: a copy with placeholders for the cloud, the request itself for
 * a local model, counts per class, the client's body dropped from the copy. */
static void test_policy_redact(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf *c = NULL;
	static const char y[] =
	    "policy:\n  email: redact\n  card: {cloud: redact, local: redact}\n";
	assert_int_equal(hr_conf_load_mem("t.yaml", y, sizeof y - 1, &c, NULL), 0);
	struct hr_part u[] = {TEXT("mail a.b@example.org or c.d@example.org, card 4111 1111 1111 "
	                           "1111, again a.b@example.org")};
	struct hr_part call = {.type = HR_PART_TOOL_CALL,
	                       .id = HR_STR("c1"),
	                       .name = HR_STR("f"),
	                       .arguments = HR_STR("{\"to\":\"c.d@example.org\"}")};
	struct hr_msg msgs[] = {{HR_ROLE_USER, u, 1, {0}}, {HR_ROLE_ASSISTANT, &call, 1, {0}}};
	struct hr_chat_req rq = {.msgs = msgs, .n_msgs = 2, .top_k = -1, .max_tokens = -1};
	rq.raw = HR_STR("{}");
	struct hr_policy_result pol;
	assert_int_equal(hr_policy_check(a, c, &rq, &pol), 0);
	assert_int_equal(pol.action, HR_POLICY_REDACT);
	assert_string_equal(pol.summary, "email:4,card:1");

	const struct hr_chat_req *out;
	uint32_t n[HR_PII__COUNT] = {0};
	assert_int_equal(hr_policy_redact(a, c, &pol, &rq, HR_CLOUD, &out, n), 0);
	assert_ptr_not_equal(out, &rq);
	assert_null(out->raw.ptr);
	assert_true(hr_str_eq_cstr(out->msgs[0].parts[0].text,
	                           "mail [EMAIL_1] or [EMAIL_2], card [CARD_1], again [EMAIL_1]"));
	assert_true(hr_str_eq_cstr(out->msgs[1].parts[0].arguments, "{\"to\":\"[EMAIL_2]\"}"));
	assert_int_equal(n[HR_PII_EMAIL], 4);
	assert_int_equal(n[HR_PII_CARD], 1);
	/* the original is untouched */
	assert_true(hr_str_starts(rq.msgs[0].parts[0].text, "mail a.b@"));

	memset(n, 0, sizeof n);
	assert_int_equal(hr_policy_redact(a, c, &pol, &rq, HR_LOCAL, &out, n), 0);
	assert_true(hr_str_eq_cstr(out->msgs[0].parts[0].text,
	                           "mail a.b@example.org or c.d@example.org, card [CARD_1], "
	                           "again a.b@example.org"));
	assert_int_equal(n[HR_PII_EMAIL], 0);
	hr_conf_release(c);

	/* only email, and local allows it: a local model gets the request itself */
	static const char y2[] = "policy:\n  email: redact\n";
	assert_int_equal(hr_conf_load_mem("t.yaml", y2, sizeof y2 - 1, &c, NULL), 0);
	assert_int_equal(hr_policy_check(a, c, &rq, &pol), 0);
	assert_int_equal(hr_policy_redact(a, c, &pol, &rq, HR_LOCAL, &out, n), 0);
	assert_ptr_equal(out, &rq);
	hr_conf_release(c);
	hr_arena_destroy(a);
}

/* Text longer than a detector window (64 KiB, windows overlapping by 512 bytes): every value
 * is replaced once, none is left or cut at a window's edge, and restoring gives the text
 * back byte for byte. */
static void test_policy_redact_long(void **state)
{
	(void)state;
	struct hr_arena *a = hr_arena_create(0);
	struct hr_conf *c = NULL;
	static const char y[] = "policy:\n  email: redact\n";
	assert_int_equal(hr_conf_load_mem("t.yaml", y, sizeof y - 1, &c, NULL), 0);
	size_t cap = 200 * 1024, n = 0;
	char *t = hr_arena_alloc(a, cap);
	for (int i = 0; n + 64 < cap; i++)
		n += (size_t)snprintf(t + n, cap - n, "text %d user%d@example.org ", i, i % 700);
	struct hr_part u[] = {{.type = HR_PART_TEXT, .text = {t, n}}};
	struct hr_msg msgs[] = {{HR_ROLE_USER, u, 1, {0}}};
	struct hr_chat_req rq = {.msgs = msgs, .n_msgs = 1};
	struct hr_policy_result pol;
	assert_int_equal(hr_policy_check(a, c, &rq, &pol), 0);
	const struct hr_chat_req *out;
	uint32_t cnt[HR_PII__COUNT] = {0};
	assert_int_equal(hr_policy_redact(a, c, &pol, &rq, HR_CLOUD, &out, cnt), 0);
	struct hr_str r = out->msgs[0].parts[0].text;
	assert_null(memmem(r.ptr, r.len, "@example.org", 12));
	assert_int_equal(pol.map.count[HR_PII_EMAIL], 700);
	struct hr_buf b = HR_BUF_INIT(1 << 22);
	assert_int_equal(hr_redact_restore(&pol.map, false, r.ptr, r.len, &b), 0);
	assert_int_equal(b.len, n);
	assert_memory_equal(b.ptr, t, n);
	hr_buf_release(&b);
	hr_conf_release(c);
	hr_arena_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_map),
	    cmocka_unit_test(test_restore),
	    cmocka_unit_test(test_stream_every_cut),
	    cmocka_unit_test(test_policy_redact),
	    cmocka_unit_test(test_policy_redact_long),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
