/* cli.h - the `hearth <command>` entry points and what they share: finding and loading the
 * config, and the exit statuses (0 ok, 1 failure, 2 usage error). */
#ifndef HR_CLI_H
#define HR_CLI_H

#include <stdbool.h>
#include <stddef.h>

struct hr_buf;
struct hr_conf;
struct curl_slist;
struct hr_store;

enum { HR_EXIT_OK = 0, HR_EXIT_FAIL = 1, HR_EXIT_USAGE = 2 };

/* The config file to load: flag (--config), else $HEARTH_CONFIG, else ./hearth.yaml when it
 * exists, else NULL (built-in defaults). Returns: borrowed. */
const char *hr_cli_config_path(const char *flag);
/* Loads it, printing every problem to stderr. Returns HR_EXIT_OK with *out, or
 * HR_EXIT_FAIL. */
int hr_cli_load_conf(const char *flag, struct hr_conf **out);
/* The same with hr_conf_load_ex() flags (HR_CONF_NO_SECRETS). */
int hr_cli_load_conf_ex(const char *flag, unsigned flags, struct hr_conf **out);
/* Prints "hearth <cmd>: <msg>" and a hint for a usage error; returns HR_EXIT_USAGE. */
int hr_cli_usage_error(const char *cmd, const char *msg);

/* Headers for a request to a running hearth: JSON, and HEARTH_API_KEY as the bearer key
 * when set. Returns: owned by the caller (curl_slist_free_all), NULL on OOM. */
struct curl_slist *hr_cli_client_headers(void);
/* The same with key as the bearer key (NULL: HEARTH_API_KEY). */
struct curl_slist *hr_cli_client_headers_key(const char *key);
/* One request to a running hearth: method, url, body (NULL: none), key as for
 * hr_cli_client_headers_key. The answer's bytes go to out, its status to *status. Returns 0,
 * or -1 when no answer came (*why: static, curl's reason). */
int hr_cli_http(const char *method, const char *url, const char *body, const char *key,
                struct hr_buf *out, long *status, const char **why);
/* The server's base URL into out: url when given, else http://<server.host>:<server.port>
 * of the config (flag --config, $HEARTH_CONFIG, ./hearth.yaml). Returns HR_EXIT_*. */
int hr_cli_server_url(const char *url, const char *config, char *out, size_t cap);

/* A curl write callback appending to the struct hr_buf at buf (its cap ends the transfer). */
size_t hr_cli_collect(char *p, size_t size, size_t n, void *buf);
/* The storage of the config (flag, $HEARTH_CONFIG, ./hearth.yaml), opened read-only into
 * *out (close with (*out)->ops->close). Prints "hearth <cmd>: why" on failure. Returns
 * HR_EXIT_*. */
int hr_cli_open_store(const char *cmd, const char *config, struct hr_store **out);

int hr_cmd_serve(int argc, char **argv);
int hr_cmd_chat(int argc, char **argv);
int hr_cmd_usage(int argc, char **argv);
int hr_cmd_doctor(int argc, char **argv);
int hr_cmd_reload(int argc, char **argv);
int hr_cmd_config(int argc, char **argv);
int hr_cmd_models(int argc, char **argv);
int hr_cmd_route(int argc, char **argv);
int hr_cmd_audit(int argc, char **argv);
int hr_cmd_router(int argc, char **argv);
int hr_cmd_secrets(int argc, char **argv);
int hr_cmd_keys(int argc, char **argv);
int hr_cmd_users(int argc, char **argv);
int hr_cmd_teams(int argc, char **argv);

/* serve.c: providers found on this machine when no config file is given (OPENAI_API_KEY,
 * an Ollama on 127.0.0.1:11434, a llama.cpp server on 127.0.0.1:8080), added to c. */
void hr_cli_detect(struct hr_conf *c);
/* The embedded default: HEARTH_LOCAL_MODEL (or, when scan_dir, the first GGUF file in ./models)
 * as the provider and model 'local' of kind llamacpp, unless a provider 'local' exists. */
void hr_cli_local_model(struct hr_conf *c, bool scan_dir);

#endif
