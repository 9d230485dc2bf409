/* test_detect.c - the data-policy detectors as a pure function: a table of texts, each with
 * the one span (class and text) it must yield, or none (hard negatives: Luhn-invalid cards,
 * IBANs with a wrong check, never-issued SSNs, versions, dates that are not phones, ...);
 * then operator keywords and patterns, the caps that make hr_detect fail closed, the checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/err.h"
#include "governance/detect.h"

#define NONE (-1)

struct tcase {
	const char *text;
	int cls;          /* the class that must be found, or NONE: no span of class `not` */
	const char *want; /* the span's exact text (NULL: any span of cls) */
	int not ;         /* with NONE: the class that must not appear */
};

static const struct tcase cases[] = {
    /* email */
    {"write to jane.doe+news@example.co.uk today", HR_PII_EMAIL, "jane.doe+news@example.co.uk", 0},
    {"You said your email is EwanDawson@dayrep.com. Is that correct?", HR_PII_EMAIL,
     "EwanDawson@dayrep.com", 0},
    {"ping me @jane on chat, or see a@b", NONE, NULL, HR_PII_EMAIL},
    /* phone */
    {"They're not answering at 780-999-2181", HR_PII_PHONE, "780-999-2181", 0},
    {"Desk: +41 (0)96 471 07 95", HR_PII_PHONE, "+41 (0)96 471 07 95", 0},
    {"Fax: 345-899-3560x4587", HR_PII_PHONE, "345-899-3560x4587", 0},
    {"Can someone call me on 01.84.17.61.18?", HR_PII_PHONE, "01.84.17.61.18", 0},
    {"Phone:\n467 3395", HR_PII_PHONE, "467 3395", 0},
    {"We sold 4671234 units in 2019", NONE, NULL, HR_PII_PHONE},
    {"upgrade from 10.0.19041 to 1.2.3.4.5 please", NONE, NULL, HR_PII_PHONE},
    {"the years 1977 2001 2015 were good", NONE, NULL, HR_PII_PHONE},
    {"my driver's license number is 2270-66-1551", NONE, NULL, HR_PII_PHONE},
    {"pi is 3.14159265", NONE, NULL, HR_PII_PHONE},
    /* card */
    {"What is the limit for card 4454794511390933?", HR_PII_CARD, "4454794511390933", 0},
    {"card 4111 1111 1111 1111 expired", HR_PII_CARD, "4111 1111 1111 1111", 0},
    {"amex 3782-822463-10005 ok", HR_PII_CARD, "3782-822463-10005", 0},
    {"card 4111 1111 1111 1112 (Luhn fails)", NONE, NULL, HR_PII_CARD},
    {"order 1234567812345670 passes Luhn but no issuer starts with 1", NONE, NULL, HR_PII_CARD},
    /* IBAN */
    {"My IBAN is GB82 WEST 1234 5698 7654 32.", HR_PII_IBAN, "GB82 WEST 1234 5698 7654 32", 0},
    {"my iban is gb42nawi04454264788619", HR_PII_IBAN, "gb42nawi04454264788619", 0},
    {"DE89370400440532013000 is the account", HR_PII_IBAN, "DE89370400440532013000", 0},
    {"My IBAN is GB83 WEST 1234 5698 7654 32.", NONE, NULL, HR_PII_IBAN}, /* check digits */
    {"DE8937040044053201300 is short", NONE, NULL, HR_PII_IBAN},          /* length */
    /* SSN */
    {"Here's my SSN: 460-89-9847", HR_PII_SSN, "460-89-9847", 0},
    {"social security 123456789 on file", HR_PII_SSN, "123456789", 0},
    {"SSN 999-12-3456", NONE, NULL, HR_PII_SSN},
    {"SSN 666-12-3456", NONE, NULL, HR_PII_SSN},
    {"SSN 000-12-3456 or 123-00-4567 or 123-45-0000", NONE, NULL, HR_PII_SSN},
    {"ticket 123456789 is open", NONE, NULL, HR_PII_SSN},
    /* EU national ids */
    {"DNI 12345678Z por favor", HR_PII_NATIONAL_ID, "12345678Z", 0},
    {"DNI 12345678A por favor", NONE, NULL, HR_PII_NATIONAL_ID},
    {"NI number AB 12 34 56 C", HR_PII_NATIONAL_ID, "AB 12 34 56 C", 0},
    /* IP */
    {"keep getting address 41.173.96.26 blocked", HR_PII_IP, "41.173.96.26", 0},
    {"server at 2001:db8:85a3::8a2e:370:7334 is down", HR_PII_IP, "2001:db8:85a3::8a2e:370:7334",
     0},
    {"version 1.2.3.4.5 and 256.1.1.1", NONE, NULL, HR_PII_IP},
    {"meet at 12:30:45 and use std::vector", NONE, NULL, HR_PII_IP},
    /* street address */
    {"Send it to 1668 Glyn St please", HR_PII_STREET_ADDRESS, "1668 Glyn St", 0},
    {"The bus station is on Villacher Strasse 89", HR_PII_STREET_ADDRESS, "Villacher Strasse 89",
     0},
    {"billing: 221B Baker Street, Apt. 5\nLondon\nNW1 6XE", HR_PII_STREET_ADDRESS,
     "221B Baker Street, Apt. 5\nLondon\nNW1 6XE", 0},
    {"We moved 3 boxes to the garage", NONE, NULL, HR_PII_STREET_ADDRESS},
    /* dates */
    {"She was born on 2/8/1935. Her maid", HR_PII_DATE_OF_BIRTH, "2/8/1935", 0},
    {"When: 2000-04-16 11:34:35\n", HR_PII_DATE, "2000-04-16 11:34:35", 0},
    {"The orchestra was founded in 1977.", NONE, NULL, HR_PII_DATE},
    /* secrets */
    {"use sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv0123 now", HR_PII_SECRET,
     "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUv0123", 0},
    {"aws AKIAIOSFODNN7EXAMPLE key", HR_PII_SECRET, "AKIAIOSFODNN7EXAMPLE", 0},
    {"token ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", HR_PII_SECRET,
     "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789", 0},
    {"-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----", HR_PII_SECRET,
     "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----", 0},
    {"x 9fQ2mZ7LpX4vR8tK1wN6yB3cH5jD0sAe y", HR_PII_SECRET, "9fQ2mZ7LpX4vR8tK1wN6yB3cH5jD0sAe", 0},
    {"the function name_of_a_very_long_identifier_in_code is fine", NONE, NULL, HR_PII_SECRET},
    {"sk-short is not a key", NONE, NULL, HR_PII_SECRET},
    /* person */
    {"Hello, this is Dr. Kyle Kuefer. Who are you?", HR_PII_PERSON, "Kyle Kuefer", 0},
    {"My name is Rubija", HR_PII_PERSON, "Rubija", 0},
    {"follow up with Patricia Desrosiers in a month", HR_PII_PERSON, "Patricia Desrosiers", 0},
    {"May I ask a question about the invoice?", NONE, NULL, HR_PII_PERSON},
};

static void test_table(void **state)
{
	(void)state;
	struct hr_span v[64];
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const struct tcase *c = &cases[i];
		struct hr_spans out = {v, 0, 64};
		int rc = hr_detect(c->text, strlen(c->text), NULL, &out);
		assert_int_equal(rc, 0);
		bool found = false;
		for (size_t k = 0; k < out.n; k++) {
			int cls = c->cls == NONE ? c->not : c->cls;
			if (v[k].cls != cls)
				continue;
			if (c->cls == NONE || !c->want ||
			    (strlen(c->want) == v[k].end - v[k].start &&
			     memcmp(c->want, c->text + v[k].start, strlen(c->want)) == 0))
				found = true;
		}
		if (found != (c->cls != NONE)) {
			fprintf(stderr, "case %zu: '%s': %s\n", i, c->text,
			        c->cls != NONE ? "span not found" : "unexpected span");
			for (size_t k = 0; k < out.n; k++)
				fprintf(stderr, "  %s [%.*s]\n", hr_pii_label(v[k].cls),
				        (int)(v[k].end - v[k].start), c->text + v[k].start);
			fail();
		}
	}
}

static void test_keywords_patterns(void **state)
{
	(void)state;
	const struct hr_str kws[] = {HR_STR("project falcon"), HR_STR("Nimbus")};
	const struct hr_detect_pattern pats[] = {{HR_STR("PRJ-####")}};
	struct hr_detect_opts o = {
	    HR_PII_BIT(HR_PII_KEYWORD) | HR_PII_BIT(HR_PII_PATTERN), 0, kws, 2, pats, 1};
	const char *t = "About PROJECT FALCON and nimbusx: see prj-0042, not PRJ-00421 or Nimbus.";
	struct hr_span v[8];
	struct hr_spans out = {v, 0, 8};
	assert_int_equal(hr_detect(t, strlen(t), &o, &out), 0);
	assert_int_equal(out.n, 3);
	assert_int_equal(v[0].cls, HR_PII_KEYWORD);
	assert_int_equal(v[0].rule, 0);
	assert_int_equal(v[0].start, 6);
	assert_int_equal(v[0].end, 20);
	assert_int_equal(v[1].cls, HR_PII_PATTERN);
	assert_memory_equal(t + v[1].start, "prj-0042", 8);
	assert_int_equal(v[2].cls, HR_PII_KEYWORD);
	assert_int_equal(v[2].rule, 1);
}

static void test_fails_closed(void **state)
{
	(void)state;
	const char *t = "a@b.cc c@d.ee f@g.hh";
	struct hr_span v[2];
	struct hr_spans out = {v, 7, 2};
	assert_int_equal(hr_detect(t, strlen(t), NULL, &out), HR_ETOOMANY);
	assert_int_equal(out.n, 0);
	struct hr_detect_opts o = {0, 4, NULL, 0, NULL, 0};
	out = (struct hr_spans){v, 0, 2};
	assert_int_equal(hr_detect(t, strlen(t), &o, &out), HR_ETOOBIG);
	assert_int_equal(out.n, 0);
	assert_int_equal(hr_detect(t, strlen(t), NULL, NULL), HR_EINVAL);
	const struct hr_str empty[] = {HR_STR("")};
	struct hr_detect_opts bad = {0, 0, empty, 1, NULL, 0};
	assert_int_equal(hr_detect(t, strlen(t), &bad, &out), HR_EINVAL);
	/* only the classes asked for */
	struct hr_detect_opts only = {HR_PII_BIT(HR_PII_PHONE), 0, NULL, 0, NULL, 0};
	out = (struct hr_spans){v, 0, 2};
	assert_int_equal(hr_detect(t, strlen(t), &only, &out), 0);
	assert_int_equal(out.n, 0);
}

static void test_checks(void **state)
{
	(void)state;
	assert_true(hr_detect_luhn_ok("4111 1111 1111 1111", 19));
	assert_false(hr_detect_luhn_ok("4111 1111 1111 1112", 19));
	assert_true(hr_detect_iban_ok("GB82WEST12345698765432", 22));
	assert_false(hr_detect_iban_ok("GB82WEST12345698765433", 22));
	assert_false(hr_detect_iban_ok("XX82WEST12345698765432", 22));
	assert_string_equal(hr_pii_label(HR_PII_STREET_ADDRESS), "street_address");
	assert_int_equal(hr_pii_from_label(HR_STR("iban")), HR_PII_IBAN);
	assert_int_equal(hr_pii_from_label(HR_STR("nope")), -1);
}

static void test_spans_sorted_disjoint(void **state)
{
	(void)state;
	const char *t = "Dr. Jane Doe (jane@doe.org, +44 20 7946 0958) lives at 10 Downing Street, "
	                "card 4111-1111-1111-1111, IBAN DE89 3704 0044 0532 0130 00, ip 10.1.2.3";
	struct hr_span v[32];
	struct hr_spans out = {v, 0, 32};
	assert_int_equal(hr_detect(t, strlen(t), NULL, &out), 0);
	assert_true(out.n >= 7);
	for (size_t k = 1; k < out.n; k++)
		assert_true(v[k - 1].end <= v[k].start);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	    cmocka_unit_test(test_keywords_patterns),
	    cmocka_unit_test(test_fails_closed),
	    cmocka_unit_test(test_checks),
	    cmocka_unit_test(test_spans_sorted_disjoint),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
