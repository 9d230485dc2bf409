/* machine.h - what every C benchmark prints first: the CPU model and the online cores, so a
 * figure always comes with the machine it was measured on. Header-only (bench programs are
 * single files). */
#ifndef HR_BENCH_MACHINE_H
#define HR_BENCH_MACHINE_H

#include <stdio.h>
#include <string.h>
#include <unistd.h>

static void bench_machine(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[256], model[200] = "unknown";
	while (f && fgets(line, sizeof line, f))
		if (strncmp(line, "model name", 10) == 0) {
			const char *p = strchr(line, ':');
			if (p) {
				snprintf(model, sizeof model, "%s", p + 2);
				model[strcspn(model, "\n")] = 0;
			}
			break;
		}
	if (f)
		fclose(f);
	printf("machine: %s, %ld cores\n", model, sysconf(_SC_NPROCESSORS_ONLN));
}

#endif
