/* features.c - what the router knows of a chat request (hr_features_of): size, images,
 * tools, JSON mode, whether it contains code and a guess of its language. Pure and cheap.
 *
 * contains_code is a conservative heuristic over the text of system and user messages: true
 * when some text has a fenced block (```), or when at least CODE_MIN_LINES lines look like
 * code: the line, without trailing blanks, ends in ';', '{' or '}', or it starts (after
 * indentation) with "#include", "def ", "function ", "import ", "package " or "func ".
 * Prose rarely ends lines that way; a single such line (a smiley, a list ending in ';') is
 * not enough. It misses unfenced code without those marks (a bare Python expression) and may
 * flag a long list of items that all end in ';'.
 *
 * language is a stopword vote over the first LANG_SCAN_BYTES of the last user message that
 * has text: words (ASCII letters and Latin-1 letters, lowercased) are looked up in small
 * lists of frequent function words of en, de, fr, es, it, nl and pt, from which every word
 * common to two of those languages ("de", "la", "in", "que", "es", ...) has been removed, so
 * each hit counts for one language only. The best language wins when it has at least
 * LANG_MIN_HITS hits and at least twice the hits of the runner-up; otherwise NULL. Limits:
 * short texts ("thanks!") give NULL; languages outside the seven give NULL or, when they share
 * words with one of them, a wrong guess; mixed-language text gives the majority or NULL;
 * capitals outside ASCII and Latin-1 (and accent-less spellings not listed) do not match. */
#include <string.h>

#include "router/router.h"

#define CODE_MIN_LINES  3
#define LANG_SCAN_BYTES 4096
#define LANG_MIN_HITS   2
#define WORD_MAX        24

/* ---- contains_code ---- */

static bool starts_with(const char *p, size_t n, const char *lit)
{
	size_t k = strlen(lit);
	return n >= k && memcmp(p, lit, k) == 0;
}

static bool line_looks_like_code(const char *p, size_t n)
{
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t' || p[n - 1] == '\r'))
		n--;
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	if (n == 0)
		return false;
	char last = p[n - 1];
	if (last == ';' || last == '{' || last == '}')
		return true;
	static const char *const starts[] = {"#include", "def ",     "function ",
	                                     "import ",  "package ", "func "};
	for (size_t i = 0; i < sizeof starts / sizeof *starts; i++)
		if (starts_with(p, n, starts[i]))
			return true;
	return false;
}

/* Adds the code-like lines of s to *lines; returns true once the text is code. */
static bool text_has_code(struct hr_str s, int *lines)
{
	if (s.len >= 3 && memmem(s.ptr, s.len, "```", 3))
		return true;
	const char *p = s.ptr, *end = s.ptr + s.len;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end;
		if (line_looks_like_code(p, (size_t)(le - p)) && ++*lines >= CODE_MIN_LINES)
			return true;
		p = nl ? nl + 1 : end;
	}
	return false;
}

static bool has_code(const struct hr_chat_req *rq)
{
	int lines = 0;
	for (size_t i = 0; i < rq->n_msgs; i++) {
		const struct hr_msg *m = &rq->msgs[i];
		if (m->role != HR_ROLE_SYSTEM && m->role != HR_ROLE_USER)
			continue;
		for (size_t j = 0; j < m->n_parts; j++)
			if (m->parts[j].type == HR_PART_TEXT && m->parts[j].text.ptr &&
			    text_has_code(m->parts[j].text, &lines))
				return true;
	}
	return false;
}

/* ---- language ---- */

enum { L_EN, L_DE, L_FR, L_ES, L_IT, L_NL, L_PT, L_N };

static const char *const lang_code[L_N] = {"en", "de", "fr", "es", "it", "nl", "pt"};

/* Space-separated, lowercase, UTF-8; no word appears in two lists. */
static const char *const stopwords[L_N] = {
    [L_EN] = " the and are were of to with that this what how you your for not it be have has"
             " can please from which would should could does my they there about been who why"
             " where when these those their our ",
    [L_DE] = " der die das und ist nicht ein eine einen einem ich sie mit auf für fuer den dem"
             " zu von bitte auch sich wir kann können oder aber wenn dass sind im nach"
             " noch über mir mich haben hat wird werden warum welche diese dieser ",
    [L_FR] = " les et est une pour pas sur avec cette vous nous elle sont au aux"
             " pourquoi merci moi dans être avoir fait tout quel quelle peux pouvez suis c'est ",
    [L_ES] = " el los las y pero muy hay gracias puedes también más yo usted hola esto eso"
             " qué cómo dónde cuál estoy tengo ellos nosotros puede cuando ",
    [L_IT] = " di che è sono della delle degli nel nella gli questo questa anche perché"
             " grazie ciao io molto può puoi essere ho hai ci sei dei ",
    [L_NL] = " het een van dat niet op zijn voor ik jij wat hoe maar ook aan naar kan wordt"
             " bij nog dit deze mijn waarom bedankt graag heb hebt heeft welke kun jullie ",
    [L_PT] = " uma em na não nao muito você voce obrigado obrigada isso isto são ao pelo pela"
             " também eu ele ela seu sua tem pode é ",
};

/* Whether the word w (lowercase, NUL-terminated, no spaces) is in the list. */
static bool in_list(const char *list, const char *w, size_t n)
{
	for (const char *p = list; (p = strstr(p, w)) != NULL; p++)
		if (p[-1] == ' ' && p[n] == ' ')
			return true;
	return false;
}

/* Bytes of the letter at p (0: not a letter); its lowercase form goes to out. ASCII letters
 * and apostrophes inside words; UTF-8 sequences led by 0xC3 (Latin-1 letters, uppercase
 * folded) or by 0xC4..0xF4 count as letters; 0xC2 sequences (¡ ¿ « » ...) do not. */
static size_t letter(const unsigned char *p, const unsigned char *end, unsigned char out[4])
{
	unsigned char c = *p;
	if ((c >= 'a' && c <= 'z') || c == '\'') {
		out[0] = c;
		return 1;
	}
	if (c >= 'A' && c <= 'Z') {
		out[0] = (unsigned char)(c + 32);
		return 1;
	}
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC4 ? 2 : c == 0xC3 ? 2 : 0;
	if (n == 0 || (size_t)(end - p) < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((p[i] & 0xC0) != 0x80)
			return 0;
	if (c == 0xC3 && (p[1] == 0x97 || p[1] == 0xB7)) /* × ÷ */
		return 0;
	memcpy(out, p, n);
	if (c == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E)
		out[1] = (unsigned char)(p[1] + 0x20);
	return n;
}

static void count_word(char *w, size_t n, int hits[L_N])
{
	/* strip apostrophes at either end: "l'", "'the" */
	while (n > 0 && w[n - 1] == '\'')
		n--;
	size_t s = 0;
	while (s < n && w[s] == '\'')
		s++;
	if (s >= n)
		return;
	w[n] = '\0';
	for (int l = 0; l < L_N; l++)
		if (in_list(stopwords[l], w + s, n - s))
			hits[l]++;
}

static void count_words(struct hr_str s, size_t *budget, int hits[L_N])
{
	const unsigned char *p = (const unsigned char *)s.ptr;
	const unsigned char *end = p + (s.len < *budget ? s.len : *budget);
	*budget -= (size_t)(end - p);
	char w[WORD_MAX + 5];
	size_t n = 0;
	bool too_long = false;
	while (p < end) {
		unsigned char lo[4];
		size_t k = letter(p, end, lo);
		if (k == 0) {
			if (n > 0 && !too_long)
				count_word(w, n, hits);
			n = 0;
			too_long = false;
			p++;
			continue;
		}
		if (n + k > WORD_MAX)
			too_long = true;
		else {
			memcpy(w + n, lo, k);
			n += k;
		}
		p += k;
	}
	if (n > 0 && !too_long)
		count_word(w, n, hits);
}

static const char *guess_language(const struct hr_chat_req *rq)
{
	const struct hr_msg *last = NULL;
	for (size_t i = rq->n_msgs; i-- > 0 && !last;) {
		const struct hr_msg *m = &rq->msgs[i];
		if (m->role != HR_ROLE_USER)
			continue;
		for (size_t j = 0; j < m->n_parts; j++)
			if (m->parts[j].type == HR_PART_TEXT && m->parts[j].text.len > 0)
				last = m;
	}
	if (!last)
		return NULL;
	int hits[L_N] = {0};
	size_t budget = LANG_SCAN_BYTES;
	for (size_t j = 0; j < last->n_parts && budget > 0; j++)
		if (last->parts[j].type == HR_PART_TEXT && last->parts[j].text.ptr)
			count_words(last->parts[j].text, &budget, hits);
	int best = 0, second = 0, bl = -1;
	for (int l = 0; l < L_N; l++) {
		if (hits[l] > best) {
			second = best;
			best = hits[l];
			bl = l;
		} else if (hits[l] > second)
			second = hits[l];
	}
	if (bl < 0 || best < LANG_MIN_HITS || best < 2 * second)
		return NULL;
	return lang_code[bl];
}

void hr_features_of(const struct hr_chat_req *rq, bool sensitive, struct hr_features *f)
{
	memset(f, 0, sizeof *f);
	f->sensitive = sensitive;
	f->max_tokens = rq->max_tokens >= 0 ? rq->max_tokens : -1;
	f->p_strong = -1; /* the learned router's, filled in by its caller when a task asks */
	f->est_tokens = hr_tokens_estimate(rq->prompt_bytes);
	for (size_t i = 0; i < rq->n_msgs && !f->has_images; i++)
		for (size_t j = 0; j < rq->msgs[i].n_parts; j++)
			if (rq->msgs[i].parts[j].type == HR_PART_IMAGE) {
				f->has_images = true;
				break;
			}
	f->needs_tools = rq->n_tools > 0 && rq->tool_choice != HR_TC_NONE;
	f->json_mode = rq->format == HR_FMT_JSON_OBJECT || rq->format == HR_FMT_JSON_SCHEMA;
	f->contains_code = has_code(rq);
	f->language = guess_language(rq);
}
