/* cli.h - the `hearth <command>` entry points and what they share: finding and loading the
 * config, and the exit statuses (0 ok, 1 failure, 2 usage error). */
#ifndef HR_CLI_H
#define HR_CLI_H

struct hr_conf;

enum { HR_EXIT_OK = 0, HR_EXIT_FAIL = 1, HR_EXIT_USAGE = 2 };

/* The config file to load: flag (--config), else $HEARTH_CONFIG, else ./hearth.yaml when it
 * exists, else NULL (built-in defaults). Returns: borrowed. */
const char *hr_cli_config_path(const char *flag);
/* Loads it, printing every problem to stderr. Returns HR_EXIT_OK with *out, or
 * HR_EXIT_FAIL. */
int hr_cli_load_conf(const char *flag, struct hr_conf **out);
/* Prints "hearth <cmd>: <msg>" and a hint for a usage error; returns HR_EXIT_USAGE. */
int hr_cli_usage_error(const char *cmd, const char *msg);

int hr_cmd_serve(int argc, char **argv);
int hr_cmd_chat(int argc, char **argv);
int hr_cmd_usage(int argc, char **argv);
int hr_cmd_doctor(int argc, char **argv);
int hr_cmd_reload(int argc, char **argv);
int hr_cmd_config(int argc, char **argv);
int hr_cmd_models(int argc, char **argv);

/* serve.c: providers found on this machine when no config file is given (OPENAI_API_KEY,
 * an Ollama on 127.0.0.1:11434, a llama.cpp server on 127.0.0.1:8080), added to c. */
void hr_cli_detect(struct hr_conf *c);

#endif
