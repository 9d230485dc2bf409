/* test_sse.c - the SSE decoder against a table of streams (real provider streams and the
 * WHATWG corner cases), each fed whole, byte by byte and in every two-piece split. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/buf.h"
#include "core/err.h"
#include "http/sse.h"

/* Events are logged as "<event>|<data>" followed by '#'. */
struct sink {
	struct hr_buf log;
	int stop_after; /* > 0: return HR_ECANCELED at that event */
	int n;
};

static int on_event(void *arg, const char *ev, size_t ev_len, const char *data, size_t len)
{
	struct sink *s = arg;
	s->n++;
	assert_int_equal(hr_buf_add(&s->log, ev, ev_len), 0);
	assert_int_equal(hr_buf_addch(&s->log, '|'), 0);
	assert_int_equal(hr_buf_add(&s->log, data, len), 0);
	assert_int_equal(hr_buf_addch(&s->log, '#'), 0);
	if (s->stop_after && s->n == s->stop_after)
		return HR_ECANCELED;
	return 0;
}

struct run {
	int rc;
	int pending;
	char log[4096];
};

/* Feeds in pieces of at most step bytes, except that the first piece is first bytes long. */
static void feed(const char *in, size_t len, size_t first, size_t step, size_t max_line,
                 struct run *r)
{
	struct sink s = {HR_BUF_INIT(1 << 20), 0, 0};
	struct hr_sse sse;
	hr_sse_init(&sse, max_line, on_event, &s);
	r->rc = 0;
	size_t off = 0;
	bool firsts = true;
	while ((firsts || off < len) && r->rc == 0) {
		size_t n = firsts ? first : step;
		firsts = false;
		if (n > len - off)
			n = len - off;
		r->rc = hr_sse_feed(&sse, in + off, n);
		off += n;
	}
	r->pending = hr_sse_pending(&sse);
	struct hr_str l = hr_buf_str(&s.log);
	assert_true(l.len < sizeof r->log);
	memcpy(r->log, l.ptr, l.len);
	r->log[l.len] = '\0';
	hr_sse_release(&sse);
	hr_buf_release(&s.log);
}

struct sse_case {
	const char *name;
	const char *in;
	const char *want;
	int pending;
};

#define CHUNK1                                                                                     \
	"{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"system_fingerprint\":"           \
	"\"fp_eb9dce56a8\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\","           \
	"\"content\":\"\",\"refusal\":null},\"logprobs\":null,\"finish_reason\":null}],"           \
	"\"usage\":null}"
#define CHUNK2                                                                                     \
	"{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,"        \
	"\"delta\":{\"content\":\"Hello\"},\"logprobs\":null,\"finish_reason\":null}],"            \
	"\"usage\":null}"
#define USAGE                                                                                      \
	"{\"id\":\"chatcmpl-B9MHDbslfkBeAs8l4bebGdFOJ6PeG\",\"object\":\"chat.completion.chunk\"," \
	"\"created\":1741570283,\"model\":\"gpt-4o-2024-08-06\",\"choices\":[],\"usage\":"         \
	"{\"prompt_tokens\":19,\"completion_tokens\":10,\"total_tokens\":29}}"

static const struct sse_case cases[] = {
    {"openai stream", "data: " CHUNK1 "\n\ndata: " CHUNK2 "\n\ndata: " USAGE "\n\ndata: [DONE]\n\n",
     "message|" CHUNK1 "#message|" CHUNK2 "#message|" USAGE "#message|[DONE]#", 0},
    {"crlf line ends", "data: a\r\n\r\ndata: b\r\n\r\n", "message|a#message|b#", 0},
    {"crlf inside one event", "data: a\r\ndata: b\r\n\r\n", "message|a\nb#", 0},
    {"cr line ends", "data: a\r\rdata: b\r\r", "message|a#message|b#", 0},
    {"mixed line ends", "data: a\r\n\rdata: b\n\r\n", "message|a#message|b#", 0},
    {"multi-line data", "data: a\ndata: b\ndata:\n\n", "message|a\nb\n#", 0},
    {"no space after colon", "data:x\n\ndata:  y\n\n", "message|x#message| y#", 0},
    {"field without colon", "data\n\n", "message|#", 0},
    {"event type, reset after dispatch", "event: error\ndata: e\n\ndata: m\n\n",
     "error|e#message|m#", 0},
    {"event without data is dropped", "event: ping\n\ndata: m\n\n", "message|m#", 0},
    {"anthropic style",
     "event: message_start\ndata: {\"type\":\"message_start\"}\n\n"
     "event: ping\ndata: {\"type\": \"ping\"}\n\n",
     "message_start|{\"type\":\"message_start\"}#ping|{\"type\": \"ping\"}#", 0},
    {"comments and keep-alives", ": OPENROUTER PROCESSING\n\n:\n\ndata: x\n: mid\n\n", "message|x#",
     0},
    {"id and retry ignored", "id: 7\nretry: 1000\ndata: x\nfoo: bar\n\n", "message|x#", 0},
    {"bom skipped",
     "\xEF\xBB\xBF"
     "data: x\n\n",
     "message|x#", 0},
    {"second bom is not skipped",
     "\xEF\xBB\xBF\xEF\xBB\xBF"
     "data: x\n\ndata: y\n\n",
     "message|y#", 0},
    {"partial bom is data",
     "\xEF\xBB"
     "data: x\n\ndata: y\n\n",
     "message|y#", 0},
    {"colon in value", "data: {\"a\":\"b:c\"}\n\n", "message|{\"a\":\"b:c\"}#", 0},
    {"cut: data without blank line", "data: x\n\ndata: y\n", "message|x#", 1},
    {"cut: partial line", "data: x\n\ndata: {\"id", "message|x#", 1},
    {"ends with cr", "data: x\r\r", "message|x#", 0},
    {"empty input", "", "", 0},
    {"only blank lines", "\n\n\r\n\r", "", 0},
};

static void test_table_all_splits(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		const struct sse_case *c = &cases[i];
		size_t len = strlen(c->in);
		struct run whole, bytes, split;
		feed(c->in, len, len, len, 1 << 16, &whole);
		if (whole.rc != 0 || strcmp(whole.log, c->want) != 0 || whole.pending != c->pending)
			fail_msg("case '%s': rc %d pending %d log '%s', want '%s' pending %d",
			         c->name, whole.rc, whole.pending, whole.log, c->want, c->pending);
		feed(c->in, len, 1, 1, 1 << 16, &bytes);
		if (bytes.rc != 0 || strcmp(bytes.log, c->want) != 0 || bytes.pending != c->pending)
			fail_msg("case '%s' byte by byte: log '%s'", c->name, bytes.log);
		for (size_t cut = 0; cut <= len; cut++) {
			feed(c->in, len, cut, len, 1 << 16, &split);
			if (split.rc != 0 || strcmp(split.log, c->want) != 0 ||
			    split.pending != c->pending)
				fail_msg("case '%s' split at %zu: log '%s'", c->name, cut,
				         split.log);
		}
	}
}

static void test_line_cap(void **state)
{
	(void)state;
	struct run r;
	const char *in = "data: 0123456789\n\n";
	/* "data: 0123456789" is 16 bytes */
	feed(in, strlen(in), strlen(in), 0, 16, &r);
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.log, "message|0123456789#");
	feed(in, strlen(in), strlen(in), 0, 15, &r);
	assert_int_equal(r.rc, HR_ETOOBIG);
	feed(in, strlen(in), 1, 1, 15, &r); /* the same when the line arrives in pieces */
	assert_int_equal(r.rc, HR_ETOOBIG);
	/* a line with no end yet grows past the cap */
	feed("data: 0123456789abcdef", 22, 22, 0, 15, &r);
	assert_int_equal(r.rc, HR_ETOOBIG);
}

static void test_data_cap(void **state)
{
	(void)state;
	struct run r;
	/* each line fits in 12 bytes, but together the data passes the cap */
	const char *in = "data: 12345\ndata: 12345\ndata: 12345\n\n";
	feed(in, strlen(in), strlen(in), 0, 12, &r);
	assert_int_equal(r.rc, HR_ETOOBIG);
	assert_string_equal(r.log, "");
}

static void test_callback_stops(void **state)
{
	(void)state;
	struct sink s = {HR_BUF_INIT(4096), 1, 0};
	struct hr_sse sse;
	hr_sse_init(&sse, 1024, on_event, &s);
	const char *in = "data: a\n\ndata: b\n\n";
	assert_int_equal(hr_sse_feed(&sse, in, strlen(in)), HR_ECANCELED);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.log.ptr, "message|a#");
	hr_sse_release(&sse);
	hr_buf_release(&s.log);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table_all_splits),
	    cmocka_unit_test(test_line_cap),
	    cmocka_unit_test(test_data_cap),
	    cmocka_unit_test(test_callback_stops),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
