/* detect_bench.c - times hr_detect() on a 1 KB chat prompt that holds a few pieces of personal
 * data, against a baseline measured in the same run: one strlen + memchr pass over the text.
 * Prints the machine (CPU model, cores), ns per call and the ratio. Not a test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "governance/detect.h"

#include "machine.h"

static const char prompt_seed[] =
    "Hi, I'm writing about my order. My name is Sarah Connor and I moved last month, so please "
    "update the shipping address to 1668 Glyn Street, Apt. 4, Springfield, IL 62704. You can "
    "reach me at +1-984-182-0190 or sarah.connor@example.com. The card ending in the number "
    "4111 1111 1111 1111 was charged twice on 2024-03-12; could you refund one of them? Also, "
    "the invoice mentions a reference I do not recognise. Here is the full text of the email "
    "I got from your team yesterday, in case it helps: 'Dear customer, thank you for your "
    "purchase. Your parcel will be dispatched within two business days and you will receive a "
    "tracking link once it leaves our warehouse. If anything is wrong with your order, reply "
    "to this message and a member of our support staff will get back to you.' I would also "
    "like to know whether you can send the replacement to my office instead, since nobody is "
    "home during the day. Thanks a lot for your help, and sorry for the long message. ";

static double now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(void)
{
	char text[1024 + 1];
	size_t n = 0, k = strlen(prompt_seed);
	while (n < 1024) {
		size_t c = 1024 - n < k ? 1024 - n : k;
		memcpy(text + n, prompt_seed, c);
		n += c;
	}
	text[n] = 0;
	static struct hr_span v[1024];
	struct hr_spans out = {v, 0, 1024};
	volatile size_t sink = 0;
	const int iters = 20000;
	int rc = 0;
	bench_machine();
	for (int round = 0; round < 3; round++) {
		double t0 = now_ns();
		for (int i = 0; i < iters; i++) {
			const char *p = text;
			size_t len = strlen(p);
			size_t lines = 0;
			for (const char *q = p; (q = memchr(q, '@', (size_t)(p + len - q))); q++)
				lines++;
			sink += len + lines;
		}
		double t1 = now_ns();
		for (int i = 0; i < iters; i++) {
			out.n = 0;
			rc |= hr_detect(text, n, NULL, &out);
			sink += out.n;
		}
		double t2 = now_ns();
		double base = (t1 - t0) / iters, det = (t2 - t1) / iters;
		printf("round %d: 1 KB prompt, %zu spans: hr_detect %.1f us/call; baseline strlen+memchr "
		       "%.3f us/call; ratio %.0fx\n",
		       round + 1, out.n, det / 1000, base / 1000, det / base);
	}
	return rc != 0;
}
