/* fuzz_traceparent.c - libFuzzer target: the W3C traceparent parser (a header any client
 * sends). An accepted header must round-trip: its ids, printed back in hex with its flags,
 * give the same header (for version 00), and no id is all zeros. */
#include <assert.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/err.h"
#include "telemetry/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t tid[16], pid[8];
	bool sampled = false;
	int rc = hr_traceparent_parse((const char *)data, size, tid, pid, &sampled);
	assert(rc == 0 || rc == HR_EINVAL);
	if (rc < 0)
		return 0;
	assert(size >= 55);
	uint8_t zero[16] = {0};
	assert(memcmp(tid, zero, 16) != 0 && memcmp(pid, zero, 8) != 0);
	char back[56];
	int n = snprintf(back, sizeof back, "%.2s-", (const char *)data);
	for (int i = 0; i < 16; i++)
		n += snprintf(back + n, sizeof back - (size_t)n, "%02x", tid[i]);
	back[n++] = '-';
	for (int i = 0; i < 8; i++)
		n += snprintf(back + n, sizeof back - (size_t)n, "%02x", pid[i]);
	snprintf(back + n, sizeof back - (size_t)n, "-%.2s", (const char *)data + 53);
	assert(memcmp(back, data, 55) == 0);
	assert(sampled == (((data[54] >= 'a' ? data[54] - 'a' + 10 : data[54] - '0') & 1) != 0));
	return 0;
}
