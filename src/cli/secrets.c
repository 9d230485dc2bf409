/* secrets.c - `hearth secrets set NAME | list [--json] | delete NAME | keygen`: the encrypted
 * store of provider credentials (core/secrets.h) that secret:NAME references read. A value
 * is read from stdin, never from the command line (argv is visible to every user). */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "core/conf.h"
#include "core/secrets.h"

static void usage_text(FILE *f)
{
	fprintf(f,
	        "usage: hearth secrets set NAME [--config FILE]     (the value on stdin)\n"
	        "       hearth secrets list [--json] [--config FILE]\n"
	        "       hearth secrets delete NAME [--config FILE]\n"
	        "       hearth secrets keygen                        (prints a new master key)\n\n"
	        "Provider credentials stored encrypted in <storage.data_dir>/secrets, under the\n"
	        "master key from HEARTH_MASTER_KEY or server.master_key_file (32 bytes, hex or\n"
	        "base64). Reference one in hearth.yaml as api_key: secret:NAME.\n");
}

static int fail(const char *msg, const char *hint)
{
	fprintf(stderr, "hearth secrets: %s\n", msg);
	if (hint)
		fprintf(stderr, "hint: %s\n", hint);
	return HR_EXIT_FAIL;
}

static void rfc3339(int64_t ms, char *out, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (!gmtime_r(&t, &tm) || !strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(out, cap, "?");
}

/* Reads the value from stdin: at most HR_SECRET_MAX_VALUE bytes, one final newline (or
 * CRLF) dropped. Returns the length, or -1 (said why). */
static long read_value(char *buf, size_t cap)
{
	if (isatty(STDIN_FILENO))
		fprintf(stderr, "value (then Enter and Ctrl-D): ");
	size_t n = 0;
	for (;;) {
		ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			fail("cannot read the value from stdin", NULL);
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == cap) {
			fail("the value is longer than 64 KiB", NULL);
			return -1;
		}
	}
	if (n && buf[n - 1] == '\n')
		n--;
	if (n && buf[n - 1] == '\r')
		n--;
	if (n == 0) {
		fail("the value on stdin is empty",
		     "pipe it in: printf %s \"$KEY\" | hearth secrets set NAME");
		return -1;
	}
	return (long)n;
}

static int cmd_set(const struct hr_conf *c, const char *name)
{
	if (!hr_secret_name_ok(name, strlen(name)))
		return fail("not a secret name: use 1 to 64 letters, digits, _ . or -", NULL);
	unsigned char key[HR_SECRET_KEY_BYTES];
	const char *src = NULL;
	char why[512];
	int krc = hr_secrets_master_key(c->server.master_key_file, key, &src, why, sizeof why);
	if (krc == 1)
		return fail("no master key to encrypt with",
		            "set HEARTH_MASTER_KEY (or server.master_key_file, mode 0600) to 32 "
		            "bytes in hex or base64; `hearth secrets keygen` makes one");
	if (krc < 0)
		return fail(why, NULL);
	struct hr_secrets st;
	int rc = HR_EXIT_FAIL;
	char *buf = NULL;
	if (hr_secrets_load(c->storage.data_dir, &st, why, sizeof why) < 0) {
		sodium_memzero(key, sizeof key);
		return fail(why, NULL);
	}
	/* one store, one key: a new secret under another key would not open beside the rest */
	for (size_t i = 0; i < st.n; i++) {
		char *v = NULL;
		size_t n = 0;
		int orc = hr_secrets_open(&st.v[i], key, &v, &n);
		hr_secret_wipe_free(v, n);
		if (orc == -1 && strcmp(st.v[i].name, name) != 0) {
			snprintf(why, sizeof why,
			         "the master key from %s does not open the secret '%s' already "
			         "stored: the store uses another key",
			         src, st.v[i].name);
			fail(why, "use the key the store was written with (or delete its secrets)");
			goto out;
		}
	}
	buf = malloc(HR_SECRET_MAX_VALUE + 1);
	long n = buf ? read_value(buf, HR_SECRET_MAX_VALUE + 1) : -1;
	if (n < 0)
		goto out;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	int64_t now = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	if (hr_secrets_put(&st, name, buf, (size_t)n, key, now, why, sizeof why) < 0 ||
	    hr_secrets_save(&st, why, sizeof why) < 0) {
		fail(why, NULL);
		goto out;
	}
	printf("stored secret '%s' in %s; reference it as secret:%s\n", name, st.path, name);
	rc = HR_EXIT_OK;
out:
	if (buf)
		hr_secret_wipe_free(buf, HR_SECRET_MAX_VALUE + 1);
	sodium_memzero(key, sizeof key);
	hr_secrets_free(&st);
	return rc;
}

static int cmd_list(const struct hr_conf *c, bool json)
{
	struct hr_secrets st;
	char why[512];
	if (hr_secrets_load(c->storage.data_dir, &st, why, sizeof why) < 0)
		return fail(why, NULL);
	json_t *arr = json ? json_array() : NULL;
	if (!json)
		printf("%-32s %-20s %s\n", "NAME", "CREATED", "UPDATED");
	for (size_t i = 0; i < st.n; i++) {
		char cr[32], up[32];
		rfc3339(st.v[i].created_ms, cr, sizeof cr);
		rfc3339(st.v[i].updated_ms, up, sizeof up);
		if (json)
			json_array_append_new(arr,
			                      json_pack("{s:s, s:s, s:s}", "name", st.v[i].name,
			                                "created_at", cr, "updated_at", up));
		else
			printf("%-32s %-20s %s\n", st.v[i].name, cr, up);
	}
	if (json) {
		json_t *o = json_pack("{s:o}", "data", arr);
		char *t = o ? json_dumps(o, JSON_COMPACT) : NULL;
		if (t)
			printf("%s\n", t);
		free(t);
		json_decref(o);
	} else if (!st.n) {
		printf("(none; `hearth secrets set NAME` stores one)\n");
	}
	hr_secrets_free(&st);
	return HR_EXIT_OK;
}

static int cmd_delete(const struct hr_conf *c, const char *name)
{
	struct hr_secrets st;
	char why[512];
	if (hr_secrets_load(c->storage.data_dir, &st, why, sizeof why) < 0)
		return fail(why, NULL);
	int rc = HR_EXIT_OK;
	if (hr_secrets_delete(&st, name) < 0) {
		snprintf(why, sizeof why, "no secret '%.80s'", name);
		rc = fail(why, "`hearth secrets list` shows the names");
	} else if (hr_secrets_save(&st, why, sizeof why) < 0) {
		rc = fail(why, NULL);
	} else {
		printf("deleted secret '%s'\n", name);
	}
	hr_secrets_free(&st);
	return rc;
}

int hr_cmd_secrets(int argc, char **argv)
{
	static const struct option opts[] = {{"config", required_argument, NULL, 'c'},
	                                     {"json", no_argument, NULL, 'j'},
	                                     {"help", no_argument, NULL, 'h'},
	                                     {NULL, 0, NULL, 0}};
	const char *cfg = NULL;
	bool json = false;
	int o;
	opterr = 0;
	optind = 1;
	while ((o = getopt_long(argc, argv, "c:jh", opts, NULL)) != -1) {
		switch (o) {
		case 'c': cfg = optarg; break;
		case 'j': json = true; break;
		case 'h': usage_text(stdout); return HR_EXIT_OK;
		default: return hr_cli_usage_error("secrets", "unknown option or missing value");
		}
	}
	const char *verb = optind < argc ? argv[optind] : NULL;
	int nargs = argc - optind - 1;
	if (!verb)
		return hr_cli_usage_error("secrets", "say set, list, delete or keygen");
	bool named = strcmp(verb, "set") == 0 || strcmp(verb, "delete") == 0;
	if (strcmp(verb, "keygen") == 0 && nargs == 0) {
		unsigned char k[HR_SECRET_KEY_BYTES];
		char hex[2 * HR_SECRET_KEY_BYTES + 1];
		randombytes_buf(k, sizeof k);
		printf("%s\n", sodium_bin2hex(hex, sizeof hex, k, sizeof k));
		sodium_memzero(k, sizeof k);
		sodium_memzero(hex, sizeof hex);
		return HR_EXIT_OK;
	}
	if (!(named && nargs == 1) && !(strcmp(verb, "list") == 0 && nargs == 0))
		return hr_cli_usage_error("secrets",
		                          named ? "give one NAME (the value goes on stdin)"
		                                : "say set NAME, list, delete NAME or keygen");
	struct hr_conf *c = NULL;
	if (hr_cli_load_conf_ex(cfg, HR_CONF_NO_SECRETS, &c) != HR_EXIT_OK)
		return HR_EXIT_FAIL;
	const char *name = named ? argv[optind + 1] : NULL;
	int rc = strcmp(verb, "set") == 0      ? cmd_set(c, name)
	         : strcmp(verb, "delete") == 0 ? cmd_delete(c, name)
	                                       : cmd_list(c, json);
	hr_conf_release(c);
	return rc;
}
