/* learn.h - the CLI's side of learning online (learn.c): reading what storage gathered. */
#ifndef HR_CLI_LEARN_H
#define HR_CLI_LEARN_H

#include <stddef.h>

#include "core/buf.h"

struct hr_store;

#define HR_LEARN_EXPORT_MAX ((size_t)1 << 30) /* bytes of outcome rows one export holds */

/* The kept prompts of task (NULL: all) that have scores, as outcome rows (JSON Lines,
 * docs/router.md) appended to out; per model a user's feedback replaces the judge's score.
 * Returns 0 with *rows set, HR_EIO, HR_ENOMEM or HR_ETOOBIG (out's cap). */
int hr_cli_learn_export(struct hr_store *st, const char *task, struct hr_buf *out, size_t *rows);

int hr_cmd_router_export(int argc, char **argv); /* hearth router export */
int hr_cmd_router_status(int argc, char **argv); /* hearth router status */

#endif
