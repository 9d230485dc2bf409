/* text.h - the pure text work of the embedded engine (llama.c): checking a model file's
 * GGUF header before llama.cpp reads it, the prompt of a model without a chat template, and
 * where a streamed answer may be cut (stop strings, UTF-8). No I/O, no llama.cpp: unit
 * tests and a fuzzer drive these directly. */
#ifndef HR_ENGINE_TEXT_H
#define HR_ENGINE_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/str.h"

/* Bytes of a GGUF file's fixed header: magic, version, tensor count, metadata count. */
#define HR_GGUF_HEADER 24

/* Checks the first n bytes of a model file (outside input) and its total size. Returns 0
 * when they start a GGUF file of a version llama.cpp reads (2 or 3) with plausible counts;
 * else HR_EINVAL with *why, a static phrase such as "not a GGUF file (it does not start
 * with the bytes GGUF)". */
int hr_gguf_check(const uint8_t *p, size_t n, uint64_t file_size, const char **why);

/* One message of a conversation; role and content are borrowed. */
struct hr_prompt_msg {
	struct hr_str role, content;
};

/* The prompt of a model without a chat template: plain completion of the conversation,
 * each message's text in order, separated by one newline (empty ones skipped); no role
 * labels, so a single message "Once upon a time" is continued as written. Appends to out
 * (capped). Returns 0, HR_ETOOBIG or HR_ENOMEM. */
int hr_prompt_plain(const struct hr_prompt_msg *msgs, size_t n, struct hr_buf *out);

/* Where the answer text t[0..n) ends because of a stop string: the offset of the first
 * occurrence of any of stops[0..n_stops) at or after from, or -1 when none occurs. from
 * lets a caller rescan only the new text (pass the previously safe length minus the
 * longest stop string). Empty stop strings are ignored. */
long hr_stop_find(const char *t, size_t n, size_t from, const struct hr_str *stops,
                  size_t n_stops);

/* How much of t[0..n) may be sent now: n minus the longest suffix that is the beginning of
 * a stop string (it may yet become one), and never ending inside a UTF-8 sequence that
 * later bytes could complete. */
size_t hr_stop_safe_len(const char *t, size_t n, const struct hr_str *stops, size_t n_stops);

/* n minus the bytes of an incomplete UTF-8 sequence at the end of t[0..n), if any. */
size_t hr_utf8_complete(const char *t, size_t n);

/* Replaces each byte of t[0..n) that is not part of a valid UTF-8 sequence with '?', in
 * place (model output may be any bytes; JSON strings must be UTF-8). */
void hr_utf8_sanitize(char *t, size_t n);

#endif
