/* common.c - what the commands share: config discovery and loading, usage errors. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/buf.h"
#include "core/conf.h"

const char *hr_cli_config_path(const char *flag)
{
	if (flag)
		return flag;
	const char *env = getenv("HEARTH_CONFIG");
	if (env && *env)
		return env;
	if (access("hearth.yaml", F_OK) == 0)
		return "hearth.yaml";
	return NULL;
}

int hr_cli_load_conf(const char *flag, struct hr_conf **out)
{
	struct hr_buf err = HR_BUF_INIT(64 * 1024);
	const char *path = hr_cli_config_path(flag);
	int rc = hr_conf_load(path, out, &err);
	if (rc < 0) {
		fprintf(stderr, "hearth: the configuration is not valid:\n%s%s",
		        err.ptr ? err.ptr : "",
		        err.len && err.ptr[err.len - 1] == '\n' ? "" : "\n");
		fprintf(stderr, "hint: every setting is documented in docs/config.md\n");
		hr_buf_release(&err);
		return HR_EXIT_FAIL;
	}
	hr_buf_release(&err);
	return HR_EXIT_OK;
}

int hr_cli_usage_error(const char *cmd, const char *msg)
{
	fprintf(stderr, "hearth %s: %s\nhint: run `hearth %s --help`\n", cmd, msg, cmd);
	return HR_EXIT_USAGE;
}
