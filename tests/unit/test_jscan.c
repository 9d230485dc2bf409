/* test_jscan.c - the pull JSON scanner: tables of valid and invalid documents (after the
 * JSONTestSuite categories), depth limits, token walks, skipping, string and integer helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/err.h"
#include "core/jscan.h"

/* Scans the whole document; returns 0 when it is valid, else HR_EINVAL. */
static int scan_all(const char *p, size_t n, unsigned max_depth, struct hr_jscan *s)
{
	struct hr_jscan_tok t;
	int k;
	hr_jscan_init(s, p, n, max_depth);
	while ((k = hr_jscan_next(s, &t)) > 0)
		;
	return k;
}

struct valid_case {
	const char *name;
	const char *doc;
	size_t len; /* 0: strlen(doc) */
	bool valid;
	const char *what; /* invalid: a substring of the error text, or NULL */
};

#define V(name, doc)                                                                               \
	{                                                                                          \
		name, doc, 0, true, NULL                                                           \
	}
#define X(name, doc, what)                                                                         \
	{                                                                                          \
		name, doc, 0, false, what                                                          \
	}
#define XN(name, doc, what)                                                                        \
	{                                                                                          \
		name, doc, sizeof(doc) - 1, false, what                                            \
	}
#define VN(name, doc)                                                                              \
	{                                                                                          \
		name, doc, sizeof(doc) - 1, true, NULL                                             \
	}

static const struct valid_case docs[] = {
    /* structure */
    V("empty object", "{}"),
    V("empty array", "[]"),
    V("nested", "[[[]],{\"a\":{\"b\":[]}}]"),
    V("whitespace around", " \t\r\n{ \"a\" : [ 1 , 2 ] }\n\r\t "),
    V("top-level string", "\"x\""),
    V("top-level number", "  -12.5e+3 "),
    V("top-level true", "true"),
    V("top-level false", "false"),
    V("top-level null", "null"),
    V("duplicate keys", "{\"a\":1,\"a\":2}"),
    V("empty key", "{\"\":0}"),
    X("empty input", "", "no JSON value"),
    X("only whitespace", " \n ", "no JSON value"),
    X("trailing comma in array", "[1,]", "trailing comma"),
    X("trailing comma in object", "{\"a\":1,}", "key"),
    X("leading comma", "[,1]", "trailing comma"),
    X("lone comma in object", "{,}", "key"),
    X("double comma", "[1,,2]", NULL),
    X("missing comma", "[1 2]", "expected ','"),
    X("missing comma between members", "{\"a\":1 \"b\":2}", "expected ','"),
    X("key without value", "{\"a\"}", "':'"),
    X("key without colon", "{\"a\" 1}", "':'"),
    X("unquoted key", "{a:1}", "key"),
    X("single quotes", "{'a':1}", "key"),
    X("number key", "{1:1}", "key"),
    X("unterminated array", "[1", "unterminated array"),
    X("unterminated object", "{\"a\":1", "unterminated object"),
    X("value missing at end", "{\"a\":", "end of input"),
    X("mismatched close", "[}", NULL),
    X("mismatched close 2", "{]", NULL),
    X("close only", "]", NULL),
    X("two values", "[1][2]", "after the JSON value"),
    X("garbage after", "{} x", "after the JSON value"),
    XN("NUL after", "[1]\0", "after the JSON value"),
    X("BOM", "\xEF\xBB\xBF{}", "invalid character"),
    X("non-ASCII outside strings", "[\xC3\xA9]", "invalid character"),
    X("comment", "[1] // c", "after the JSON value"),
    X("html", "<html></html>", "invalid character"),
    /* literals */
    X("truncated true", "[tru]", "literal"),
    X("capital True", "True", "invalid character"),
    X("nul", "nul", "literal"),
    X("truex", "[truex]", "expected ','"),
    X("NaN", "[NaN]", "invalid character"),
    X("Infinity", "[Infinity]", "invalid character"),
    X("-Infinity", "[-Infinity]", "invalid number"),
    /* numbers */
    V("zero", "[0]"),
    V("minus zero", "[-0]"),
    V("minus zero real", "[-0.0e+1]"),
    V("exponent", "[1E-2, 1e2, 1e+2, 0e0, 0.5E5]"),
    V("huge integer", "[123456789012345678901234567890123456789]"),
    V("huge real", "[1e400, -1e400, 1e-400]"),
    X("leading zero", "[01]", "leading zero"),
    X("leading zeros", "[00]", "leading zero"),
    X("minus leading zero", "[-01]", "leading zero"),
    X("dot without fraction", "[1.]", "'.'"),
    X("dot first", "[.1]", "invalid character"),
    X("plus sign", "[+1]", "invalid character"),
    X("bare exponent", "[1e]", "exponent"),
    X("exponent sign only", "[1e+]", "exponent"),
    X("bare minus", "[-]", "invalid number"),
    X("hex", "[0x1]", "expected ','"),
    X("minus space", "[- 1]", "invalid number"),
    X("fraction then dot", "[1.2.3]", "expected ','"),
    /* strings */
    V("escapes", "[\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"]"),
    V("u escape", "[\"\\u00e9\\u20AC\\uFFFF\"]"),
    V("surrogate pair", "[\"\\uD834\\uDD1E\"]"),
    V("last code point", "[\"\\uDBFF\\uDFFF\"]"),
    V("escaped NUL", "[\"a\\u0000b\"]"),
    V("escaped key", "{\"fin\\u0069sh_reason\":\"stop\"}"),
    V("UTF-8 2, 3 and 4 bytes", "[\"\xC3\xA9\xE2\x82\xAC\xF0\x9D\x84\x9E\"]"),
    V("U+10FFFF", "[\"\xF4\x8F\xBF\xBF\"]"),
    V("U+2028 raw", "[\"\xE2\x80\xA8\"]"),
    V("DEL raw", "[\"\x7F\"]"),
    X("lone high surrogate", "[\"\\uD800\"]", "lone surrogate"),
    X("lone low surrogate", "[\"\\uDC00\"]", "lone surrogate"),
    X("high then BMP", "[\"\\uD800\\u0041\"]", "lone surrogate"),
    X("high then high", "[\"\\uD800\\uD800\"]", "lone surrogate"),
    X("high then text", "[\"\\uD800abcdef\"]", "lone surrogate"),
    X("high then bad escape", "[\"\\uD800\\uZZZZ\"]", "\\u escape"),
    X("high at end", "[\"\\uD800", "lone surrogate"),
    X("unknown escape", "[\"\\x41\"]", "invalid escape"),
    X("escaped apostrophe", "[\"\\'\"]", "invalid escape"),
    X("short u escape", "[\"\\u12\"]", "\\u escape"),
    X("bad hex", "[\"\\u12G4\"]", "\\u escape"),
    X("raw tab", "[\"a\tb\"]", "control character"),
    X("raw newline", "[\"a\nb\"]", "control character"),
    XN("raw NUL", "[\"a\0b\"]", "control character"),
    X("raw 0x1F", "[\"\x1F\"]", "control character"),
    X("unterminated", "[\"abc", "unterminated string"),
    X("backslash at end", "[\"abc\\", "unterminated string"),
    X("overlong NUL", "[\"\xC0\x80\"]", "UTF-8"),
    X("overlong slash", "[\"\xC1\xAF\"]", "UTF-8"),
    X("overlong 3 bytes", "[\"\xE0\x80\xAF\"]", "UTF-8"),
    X("overlong 4 bytes", "[\"\xF0\x80\x80\xAF\"]", "UTF-8"),
    X("encoded surrogate", "[\"\xED\xA0\x80\"]", "UTF-8"),
    X("past U+10FFFF", "[\"\xF4\x90\x80\x80\"]", "UTF-8"),
    X("F5", "[\"\xF5\x80\x80\x80\"]", "UTF-8"),
    X("FF", "[\"\xFF\"]", "UTF-8"),
    X("stray continuation", "[\"\x80\"]", "UTF-8"),
    X("truncated sequence", "[\"\xE2\x82\"]", "UTF-8"),
    X("truncated at end", "[\"\xE2\x82", "UTF-8"),
    X("Latin-1 byte", "[\"caf\xE9\"]", "UTF-8"),
    X("invalid UTF-8 in key", "{\"\xC3\":1}", "UTF-8"),
};

static void test_validity(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
		const struct valid_case *c = &docs[i];
		struct hr_jscan s;
		size_t n = c->len ? c->len : strlen(c->doc);
		int rc = scan_all(c->doc, n, 64, &s);
		const char *what;
		size_t off = hr_jscan_error(&s, &what);
		if ((rc == 0) != c->valid)
			fail_msg("case '%s': %s (%s at %zu)", c->name, rc ? "rejected" : "accepted",
			         what, off);
		if (rc) {
			assert_int_equal(rc, HR_EINVAL);
			assert_true(off <= n);
			if (c->what && !strstr(what, c->what))
				fail_msg("case '%s': error '%s', want '%s'", c->name, what,
				         c->what);
		}
	}
}

/* The input need not end in NUL: only n bytes are read. */
static void test_not_nul_terminated(void **state)
{
	(void)state;
	struct hr_jscan s;
	const char buf[] = {'[', '1', ']', 'x'};
	assert_int_equal(scan_all(buf, 3, 0, &s), 0);
	assert_int_equal(scan_all(buf, 4, 0, &s), HR_EINVAL);
	const char str[] = {'"', 'a', 'b'}; /* the string's end lies beyond n */
	assert_int_equal(scan_all(str, sizeof str, 0, &s), HR_EINVAL);
	assert_int_equal(scan_all(NULL, 0, 0, &s), HR_EINVAL);
	const char num[] = {'1', '2', '3', '4'};
	assert_int_equal(scan_all(num, 2, 0, &s), 0);
}

/* n arrays (or objects with key "k") nested, innermost empty. */
static char *nest(size_t n, bool obj)
{
	char *b = malloc(n * 6 + 1), *p = b;
	for (size_t i = 0; i < n; i++) {
		if (obj) {
			memcpy(p, "{\"k\":", 5);
			p += 5;
		} else {
			*p++ = '[';
		}
	}
	if (obj && n) { /* the innermost is {} */
		p -= 5;
		*p++ = '{';
	}
	for (size_t i = 0; i < n; i++)
		*p++ = obj ? '}' : ']';
	*p = '\0';
	return b;
}

static void test_depth(void **state)
{
	(void)state;
	static const struct {
		unsigned max, n;
		bool obj, valid;
	} cases[] = {
	    {1, 1, false, true},
	    {1, 2, false, false},
	    {4, 4, false, true},
	    {4, 5, false, false},
	    {4, 4, true, true},
	    {4, 5, true, false},
	    {64, 64, true, true},
	    {64, 65, false, false},
	    {0, HR_JSCAN_MAX_DEPTH, false, true}, /* 0: the hard cap */
	    {0, HR_JSCAN_MAX_DEPTH + 1, false, false},
	    {HR_JSCAN_MAX_DEPTH + 7, HR_JSCAN_MAX_DEPTH + 1, true, false},
	    {2048, 2048, true, true},
	    {2048, 2049, true, false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *doc = nest(cases[i].n, cases[i].obj);
		struct hr_jscan s;
		int rc = scan_all(doc, strlen(doc), cases[i].max, &s);
		if ((rc == 0) != cases[i].valid)
			fail_msg("case %zu: max %u, %u deep: rc %d", i, cases[i].max, cases[i].n,
			         rc);
		if (rc) {
			const char *what;
			size_t off = hr_jscan_error(&s, &what);
			assert_non_null(strstr(what, "nesting"));
			/* the offending bracket is the first one past the limit */
			unsigned max = cases[i].max && cases[i].max <= HR_JSCAN_MAX_DEPTH
			                   ? cases[i].max
			                   : HR_JSCAN_MAX_DEPTH;
			assert_int_equal(off, cases[i].obj ? (size_t)max * 5 : max);
		}
		free(doc);
	}
	/* mixed: depth goes down and up again, never past the limit */
	struct hr_jscan s;
	const char *wave = "[[[1]],[[2]],{\"a\":[[3]]},[[[]]]]"; /* 4 deep, twice */
	assert_int_equal(scan_all(wave, strlen(wave), 4, &s), 0);
	assert_int_equal(scan_all(wave, strlen(wave), 3, &s), HR_EINVAL);
}

struct want_tok {
	enum hr_jscan_kind kind;
	const char *raw;
	unsigned depth;
};

static void test_tokens(void **state)
{
	(void)state;
	const char *doc = " {\"a\\n\": [1, -2.5e3, \"x\\u00e9\"], \"b\" : {\"c\":true,\"d\":false},"
	                  " \"e\":null,\"f\":{},\"g\":[]} ";
	static const struct want_tok want[] = {
	    {HR_JSCAN_OBJ_BEGIN, "{", 1},   {HR_JSCAN_KEY, "a\\n", 1},
	    {HR_JSCAN_ARR_BEGIN, "[", 2},   {HR_JSCAN_NUMBER, "1", 2},
	    {HR_JSCAN_NUMBER, "-2.5e3", 2}, {HR_JSCAN_STRING, "x\\u00e9", 2},
	    {HR_JSCAN_ARR_END, "]", 1},     {HR_JSCAN_KEY, "b", 1},
	    {HR_JSCAN_OBJ_BEGIN, "{", 2},   {HR_JSCAN_KEY, "c", 2},
	    {HR_JSCAN_TRUE, "true", 2},     {HR_JSCAN_KEY, "d", 2},
	    {HR_JSCAN_FALSE, "false", 2},   {HR_JSCAN_OBJ_END, "}", 1},
	    {HR_JSCAN_KEY, "e", 1},         {HR_JSCAN_NULL, "null", 1},
	    {HR_JSCAN_KEY, "f", 1},         {HR_JSCAN_OBJ_BEGIN, "{", 2},
	    {HR_JSCAN_OBJ_END, "}", 1},     {HR_JSCAN_KEY, "g", 1},
	    {HR_JSCAN_ARR_BEGIN, "[", 2},   {HR_JSCAN_ARR_END, "]", 1},
	    {HR_JSCAN_OBJ_END, "}", 0},     {HR_JSCAN_END, "", 0},
	};
	struct hr_jscan s;
	struct hr_jscan_tok t;
	hr_jscan_init(&s, doc, strlen(doc), 8);
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		int k = hr_jscan_next(&s, &t);
		if (k != (int)want[i].kind || t.kind != want[i].kind ||
		    t.raw.len != strlen(want[i].raw) ||
		    memcmp(t.raw.ptr, want[i].raw, t.raw.len) != 0 ||
		    hr_jscan_depth(&s) != want[i].depth)
			fail_msg("token %zu: kind %d '%.*s' depth %u, want %d '%s' %u", i, k,
			         (int)t.raw.len, t.raw.ptr, hr_jscan_depth(&s), want[i].kind,
			         want[i].raw, want[i].depth);
		/* slices borrow the input */
		assert_true(t.raw.ptr >= doc && t.raw.ptr + t.raw.len <= doc + strlen(doc));
	}
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_END); /* again and again */
	hr_jscan_init(&s, doc, strlen(doc), 8);
	hr_jscan_next(&s, &t);
	hr_jscan_next(&s, &t);
	assert_int_equal(t.off, strlen(" {"));
	assert_int_equal(t.flags, HR_JSCAN_F_ESCAPED);
	assert_int_equal(t.len, 2);
	hr_jscan_next(&s, &t);
	hr_jscan_next(&s, &t);
	assert_int_equal(t.flags, HR_JSCAN_F_INT);
	hr_jscan_next(&s, &t);
	assert_int_equal(t.flags, 0); /* -2.5e3 */
}

static void test_skip(void **state)
{
	(void)state;
	const char *doc =
	    "{\"a\":{\"b\":[1,{\"c\":[2,[3]]}],\"x\":\"y\"},\"d\":3,\"e\":[],\"f\":7}";
	struct hr_jscan s;
	struct hr_jscan_tok t;
	hr_jscan_init(&s, doc, strlen(doc), 0);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_OBJ_BEGIN);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_KEY);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_OBJ_BEGIN);
	assert_int_equal(hr_jscan_skip(&s, &t), 0); /* the value of "a" */
	assert_int_equal(hr_jscan_depth(&s), 1);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_KEY);
	assert_true(hr_jscan_str_eq(&t, "d"));
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_NUMBER);
	assert_int_equal(hr_jscan_skip(&s, &t), 0); /* a scalar: nothing to do */
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_KEY);
	assert_int_equal(hr_jscan_skip(&s, &t), 0); /* a key: skips its value [] */
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_KEY);
	assert_true(hr_jscan_str_eq(&t, "f"));
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_NUMBER);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_OBJ_END);
	assert_int_equal(hr_jscan_skip(&s, &t), HR_EINVAL); /* no value starts at '}' */
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_END);

	/* skipping validates what it passes */
	const char *bad = "{\"a\":[1,{\"b\":01}],\"c\":1}";
	hr_jscan_init(&s, bad, strlen(bad), 0);
	hr_jscan_next(&s, &t);
	hr_jscan_next(&s, &t);
	hr_jscan_next(&s, &t);
	assert_int_equal(hr_jscan_skip(&s, &t), HR_EINVAL);
	const char *what;
	assert_int_equal(hr_jscan_error(&s, &what), strlen("{\"a\":[1,{\"b\":"));
	assert_non_null(strstr(what, "leading zero"));
	/* and the error sticks */
	assert_int_equal(hr_jscan_next(&s, &t), HR_EINVAL);
	assert_int_equal(hr_jscan_skip(&s, &t), HR_EINVAL);
}

static void test_error_position(void **state)
{
	(void)state;
	const char *doc = "{\n  \"a\": 1,\n  \"b\": tru\n}";
	struct hr_jscan s;
	assert_int_equal(scan_all(doc, strlen(doc), 0, &s), HR_EINVAL);
	const char *what;
	size_t off = hr_jscan_error(&s, &what);
	unsigned long line, col;
	hr_jscan_where(&s, off, &line, &col);
	assert_int_equal(line, 3);
	assert_int_equal(col, 8);
	assert_non_null(strstr(what, "literal"));
	hr_jscan_init(&s, doc, strlen(doc), 0);
	assert_int_equal(hr_jscan_error(&s, &what), 0);
	assert_string_equal(what, "no error");
}

struct str_case {
	const char *json; /* one string (or key, when it ends in ':'), with its quotes */
	const char *decoded;
	size_t len; /* decoded length */
};

static const struct str_case strs[] = {
    {"\"plain\"", "plain", 5},
    {"\"\"", "", 0},
    {"\"fin\\u0069sh_reason\"", "finish_reason", 13},
    {"{\"fin\\u0069sh_reason\":", "finish_reason", 13},
    {"\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\/\b\f\n\r\t", 8},
    {"\"\\u00e9\"", "\xC3\xA9", 2},
    {"\"\\u20AC\"", "\xE2\x82\xAC", 3},
    {"\"\\uD834\\uDD1E\"", "\xF0\x9D\x84\x9E", 4},
    {"\"\\uDBFF\\uDFFF\"", "\xF4\x8F\xBF\xBF", 4},
    {"\"\xF0\x9D\x84\x9E and \\ud834\\udd1e\"", "\xF0\x9D\x84\x9E and \xF0\x9D\x84\x9E", 13},
    {"\"a\\u0000b\"", "a\0b", 3},
    {"\"\\u0041\\u00410\"", "AA0", 3},
};

/* Reads the first KEY or STRING token of json. */
static void first_text(struct hr_jscan *s, const char *json, struct hr_jscan_tok *t)
{
	hr_jscan_init(s, json, strlen(json), 0);
	do
		assert_true(hr_jscan_next(s, t) > 0);
	while (t->kind != HR_JSCAN_KEY && t->kind != HR_JSCAN_STRING);
}

static void test_strings(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
		const struct str_case *c = &strs[i];
		struct hr_jscan s;
		struct hr_jscan_tok t;
		first_text(&s, c->json, &t);
		assert_int_equal(hr_jscan_str_len(&t), c->len);
		char buf[64];
		assert_int_equal(hr_jscan_str_copy(&t, buf, sizeof buf), c->len);
		if (memcmp(buf, c->decoded, c->len) != 0)
			fail_msg("case %zu: decoded '%.*s', want '%s'", i, (int)c->len, buf,
			         c->decoded);
		/* every shorter cap gives the same prefix and the same full length */
		for (size_t cap = 0; cap <= c->len; cap++) {
			char small[64];
			memset(small, '#', sizeof small);
			assert_int_equal(hr_jscan_str_copy(&t, small, cap), c->len);
			assert_memory_equal(small, c->decoded, cap);
			assert_int_equal(small[cap], '#'); /* nothing past cap */
		}
		bool has_nul = memchr(c->decoded, '\0', c->len) != NULL;
		assert_true(hr_jscan_str_eq(&t, c->decoded) == !has_nul);
	}
}

static void test_str_eq(void **state)
{
	(void)state;
	static const struct {
		const char *json, *c;
		bool eq;
	} cases[] = {
	    {"\"finish_reason\"", "finish_reason", true},
	    {"\"fin\\u0069sh_reason\"", "finish_reason", true},
	    {"\"\\u0066inish_reason\"", "finish_reason", true},
	    {"\"finish_reaso\\u006E\"", "finish_reason", true},
	    {"\"fin\\u0069sh_reason\"", "finish_reasom", false},
	    {"\"fin\\u0069sh_reason\"", "finish_reaso", false},
	    {"\"fin\\u0069sh_reason\"", "finish_reasons", false},
	    {"\"finish\\u005freason\"", "finish_reason", true},
	    {"\"a\\u0000\"", "a", false},
	    {"\"\\u00e9\"", "\xC3\xA9", true},
	    {"\"\\u00e9\"", "e", false},
	    {"\"\\/\"", "/", true},
	    {"\"\"", "", true},
	    {"\"x\"", "", false},
	    {"{\"usage\":", "usage", true},
	    {"{\"Usage\":", "usage", false},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_jscan s;
		struct hr_jscan_tok t;
		first_text(&s, cases[i].json, &t);
		if (hr_jscan_str_eq(&t, cases[i].c) != cases[i].eq)
			fail_msg("case %zu: %s vs '%s'", i, cases[i].json, cases[i].c);
	}
	/* with a length: NULs can match too */
	{
		struct hr_jscan s;
		struct hr_jscan_tok t;
		first_text(&s, "\"a\\u0000b\"", &t);
		assert_true(hr_jscan_str_eqn(&t, "a\0b", 3));
		assert_false(hr_jscan_str_eqn(&t, "a\0c", 3));
		assert_false(HR_JSCAN_EQ(&t, "a"));
		first_text(&s, "{\"usage\":1}", &t);
		assert_true(HR_JSCAN_EQ(&t, "usage"));
	}
	/* not a string: never equal, length 0, nothing copied */
	struct hr_jscan s;
	struct hr_jscan_tok t;
	hr_jscan_init(&s, "12", 2, 0);
	assert_int_equal(hr_jscan_next(&s, &t), HR_JSCAN_NUMBER);
	assert_false(hr_jscan_str_eq(&t, "12"));
	assert_int_equal(hr_jscan_str_len(&t), 0);
	char buf[4];
	assert_int_equal(hr_jscan_str_copy(&t, buf, sizeof buf), 0);
}

static void test_int64(void **state)
{
	(void)state;
	static const struct {
		const char *json;
		int rc;
		int64_t v;
	} cases[] = {
	    {"0", 0, 0},
	    {"-0", 0, 0},
	    {"7", 0, 7},
	    {"2006", 0, 2006},
	    {"-42", 0, -42},
	    {"9223372036854775807", 0, INT64_MAX},
	    {"-9223372036854775808", 0, INT64_MIN},
	    {"9223372036854775808", HR_ETOOBIG, 0},
	    {"-9223372036854775809", HR_ETOOBIG, 0},
	    {"18446744073709551616", HR_ETOOBIG, 0},
	    {"123456789012345678901234567890", HR_ETOOBIG, 0},
	    {"1.0", HR_EINVAL, 0},
	    {"1e2", HR_EINVAL, 0},
	    {"-0.0", HR_EINVAL, 0},
	    {"\"12\"", HR_EINVAL, 0},
	    {"true", HR_EINVAL, 0},
	    {"null", HR_EINVAL, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct hr_jscan s;
		struct hr_jscan_tok t;
		hr_jscan_init(&s, cases[i].json, strlen(cases[i].json), 0);
		assert_true(hr_jscan_next(&s, &t) > 0);
		int64_t v = 12345;
		int rc = hr_jscan_int64(&t, &v);
		if (rc != cases[i].rc || v != (rc ? 12345 : cases[i].v))
			fail_msg("case %s: rc %d v %lld", cases[i].json, rc, (long long)v);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_validity), cmocka_unit_test(test_not_nul_terminated),
	    cmocka_unit_test(test_depth),    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_skip),     cmocka_unit_test(test_error_position),
	    cmocka_unit_test(test_strings),  cmocka_unit_test(test_str_eq),
	    cmocka_unit_test(test_int64),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
