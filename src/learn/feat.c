/* feat.c - the learned router's prompt features: signed hashed word 1-2-grams and character
 * n-grams of the lowercased prompt (log-scaled counts, L2-normalised) plus a block of dense
 * structure signals. Deterministic, no allocation per prompt (a scratch made once).
 *
 * Hashing: FNV-1a 64 of each word, a splitmix64 finaliser over (namespace, n-gram); the low
 * hash_bits bits give the slot and the top bit the sign. Only the first max_bytes of a
 * prompt feed the n-grams and the structure counts (a long prompt's head says what it is);
 * the length signals see all of it. */
#include <math.h>
#include <string.h>

#include "learn/learn.h"
#include "providers/chat.h"
#include "router/router.h"

const char *const hr_learn_dense_names[HR_LEARN_DENSE] = {
    "bias",       "log_chars",  "log_words",    "code_fence", "code_lines",
    "code_punct", "code_words", "digit_share",  "math_ops",   "latex",
    "list_lines", "questions",  "multi_choice", "lang_other", "lang_en",
    "log_lines",  "word_len",   "upper_share",  "nonascii",   "long_words",
};

enum {
	D_BIAS,
	D_CHARS,
	D_WORDS,
	D_FENCE,
	D_CODE,
	D_PUNCT,
	D_CODEW,
	D_DIGITS,
	D_MATH,
	D_LATEX,
	D_LIST,
	D_QUEST,
	D_MC,
	D_LOTHER,
	D_LEN,
	D_LINES,
	D_WLEN,
	D_UPPER,
	D_NONASCII,
	D_LONGW
};

struct hr_learn_fx {
	struct hr_learn_fconf c;
	uint32_t mask;
	float *acc;      /* [1 << hash_bits] counts; valid where stamp == epoch */
	uint32_t *stamp; /* [1 << hash_bits] */
	uint32_t epoch;
	uint32_t *touched; /* slots seen in this prompt, first-seen order */
	size_t n_touched, cap;
	unsigned char *norm; /* lowercased, whitespace-collapsed head of the prompt */
	uint32_t *oidx;
	float *oval;
	uint64_t kw[128];
	float log1p_tab[64]; /* log1pf(i): counts are small integers */
};

static void kw_build(uint64_t *t);

void hr_learn_fconf_default(struct hr_learn_fconf *c)
{
	c->hash_bits = 14;
	c->word_ngrams = 2;
	c->char_min = 3;
	c->char_max = 5;
	c->max_bytes = 1024;
	c->dense_weight = 1.0f;
}

struct hr_learn_fx *hr_learn_fx_new(struct hr_arena *a, const struct hr_learn_fconf *c)
{
	struct hr_learn_fx *fx = hr_arena_calloc(a, sizeof *fx);
	if (!fx)
		return NULL;
	fx->c = *c;
	size_t slots = (size_t)1 << c->hash_bits;
	fx->mask = (uint32_t)(slots - 1);
	/* at most: (char_max - char_min + 1) char n-grams per byte, 2 word n-grams per byte */
	size_t per = (c->char_max ? c->char_max - c->char_min + 1 : 0) + 2;
	fx->cap = (size_t)c->max_bytes * per + 16;
	if (fx->cap > slots)
		fx->cap = slots;
	fx->acc = hr_arena_alloc(a, slots * sizeof *fx->acc);
	fx->stamp = hr_arena_calloc(a, slots * sizeof *fx->stamp);
	fx->touched = hr_arena_alloc(a, fx->cap * sizeof *fx->touched);
	fx->norm = hr_arena_alloc(a, (size_t)c->max_bytes + 8);
	fx->oidx = hr_arena_alloc(a, (fx->cap + HR_LEARN_DENSE) * sizeof *fx->oidx);
	fx->oval = hr_arena_alloc(a, (fx->cap + HR_LEARN_DENSE) * sizeof *fx->oval);
	kw_build(fx->kw);
	for (int i = 0; i < 64; i++)
		fx->log1p_tab[i] = log1pf((float)i);
	if (!fx->acc || !fx->stamp || !fx->touched || !fx->norm || !fx->oidx || !fx->oval)
		return NULL;
	return fx;
}

static inline uint64_t mix64(uint64_t z)
{
	z += 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static inline void add(struct hr_learn_fx *fx, uint64_t h)
{
	uint32_t slot = (uint32_t)h & fx->mask;
	float s = (h >> 63) ? -1.0f : 1.0f;
	if (fx->stamp[slot] != fx->epoch) {
		if (fx->n_touched >= fx->cap)
			return; /* cannot happen with cap from max_bytes; belt and braces */
		fx->stamp[slot] = fx->epoch;
		fx->acc[slot] = 0;
		fx->touched[fx->n_touched++] = slot;
	}
	fx->acc[slot] += s;
}

#define LANG_BYTES 512

enum { NS_UNI = 1, NS_BI = 2, NS_CHAR = 3 };

static bool is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static const char *const code_words[] = {
    "def",    "return", "function", "int",     "void",   "class",  "import",  "include",
    "printf", "const",  "var",      "let",     "elif",   "lambda", "struct",  "public",
    "static", "self",   "null",     "none",    "true",   "false",  "println", "async",
    "await",  "fn",     "func",     "println", "string", "bool",   "char",    "std"};

static uint64_t fnv(const unsigned char *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* The keyword table: open addressing over the words' FNV hashes (zero: empty). */
#define KW_SLOTS 128
static void kw_build(uint64_t *t)
{
	memset(t, 0, KW_SLOTS * sizeof *t);
	for (size_t i = 0; i < sizeof code_words / sizeof *code_words; i++) {
		uint64_t h = fnv((const unsigned char *)code_words[i], strlen(code_words[i]));
		size_t j = h & (KW_SLOTS - 1);
		while (t[j] && t[j] != h)
			j = (j + 1) & (KW_SLOTS - 1);
		t[j] = h;
	}
}

static bool kw_has(const uint64_t *t, uint64_t h)
{
	for (size_t j = h & (KW_SLOTS - 1); t[j]; j = (j + 1) & (KW_SLOTS - 1))
		if (t[j] == h)
			return true;
	return false;
}

static float lg(double x, double scale)
{
	double v = log1p(x) / scale;
	return (float)(v > 1.5 ? 1.5 : v);
}

/* Counts over the head (norm: lowercased, collapsed) and the raw head. */
struct counts {
	size_t words, long_words, word_bytes, code_words, digits, math, latex, punct, quest, lists,
	    lines, mc, upper, nonascii, letters;
	bool fence;
};

static void raw_counts(const unsigned char *p, size_t n, struct counts *k)
{
	bool line_start = true;
	int mc_seen = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = p[i];
		if (c >= '0' && c <= '9')
			k->digits++;
		else if (c >= 'A' && c <= 'Z')
			k->upper++, k->letters++;
		else if (c >= 'a' && c <= 'z')
			k->letters++;
		else if (c >= 0x80)
			k->nonascii++;
		switch (c) {
		case '+':
		case '*':
		case '/':
		case '=':
		case '^':
		case '<':
		case '>':
		case '%': k->math++; break;
		case '-':
			if (i + 1 < n && p[i + 1] >= '0' && p[i + 1] <= '9')
				k->math++;
			break;
		case '\\':
			if (i + 1 < n && ((p[i + 1] | 0x20) >= 'a' && (p[i + 1] | 0x20) <= 'z'))
				k->latex++;
			break;
		case '$': k->latex++; break;
		case '{':
		case '}':
		case ';': k->punct++; break;
		case '?': k->quest++; break;
		case '`':
			if (i + 2 < n && p[i + 1] == '`' && p[i + 2] == '`')
				k->fence = true;
			break;
		case '\n': k->lines++; break;
		default: break;
		}
		if (line_start && c != ' ' && c != '\t') {
			if ((c == '-' || c == '*') && i + 1 < n && p[i + 1] == ' ')
				k->lists++;
			else if (c >= '0' && c <= '9' && i + 1 < n &&
			         (p[i + 1] == '.' || p[i + 1] == ')'))
				k->lists++;
		}
		/* option markers: "A)", "(B)", "C." at a line start or after a space, A-D */
		if (c >= 'A' && c <= 'D' && i + 1 < n &&
		    (p[i + 1] == ')' || p[i + 1] == '.' || p[i + 1] == ':') &&
		    (i == 0 || p[i - 1] == '\n' || p[i - 1] == ' ' || p[i - 1] == '(')) {
			int bit = 1 << (c - 'A');
			if (!(mc_seen & bit))
				mc_seen |= bit, k->mc++;
		}
		if (c == '\n')
			line_start = true;
		else if (c != ' ' && c != '\t')
			line_start = false;
	}
}

void hr_learn_features(struct hr_learn_fx *fx, const char *text, size_t n,
                       struct hr_learn_fvec *out)
{
	const struct hr_learn_fconf *c = &fx->c;
	if (++fx->epoch == 0) { /* wrapped: forget every stamp */
		memset(fx->stamp, 0, ((size_t)fx->mask + 1) * sizeof *fx->stamp);
		fx->epoch = 1;
	}
	fx->n_touched = 0;
	const unsigned char *p = (const unsigned char *)text;
	size_t head = n < c->max_bytes ? n : c->max_bytes;

	/* lowercase and collapse whitespace */
	size_t m = 0;
	bool sp = true;
	for (size_t i = 0; i < head; i++) {
		unsigned char ch = p[i];
		if (ch == ' ' || ch == '\n' || ch == '\t' || ch == '\r' || ch == '\f' ||
		    ch == '\v') {
			if (!sp)
				fx->norm[m++] = ' ';
			sp = true;
			continue;
		}
		sp = false;
		fx->norm[m++] = (ch >= 'A' && ch <= 'Z') ? (unsigned char)(ch + 32) : ch;
	}
	const unsigned char *s = fx->norm;

	/* words: unigrams, bigrams, keyword counts */
	struct counts k = {0};
	uint64_t prev = 0;
	bool have_prev = false;
	for (size_t i = 0; i < m;) {
		if (!is_word_byte(s[i])) {
			i++;
			continue;
		}
		size_t b = i;
		uint64_t h = 0xcbf29ce484222325ull;
		while (i < m && is_word_byte(s[i])) {
			h = (h ^ s[i]) * 0x100000001b3ull;
			i++;
		}
		size_t wl = i - b;
		k.words++;
		k.word_bytes += wl;
		if (wl >= 9)
			k.long_words++;
		if (wl <= 8 && kw_has(fx->kw, h))
			k.code_words++;
		add(fx, mix64(h ^ ((uint64_t)NS_UNI << 56)));
		if (c->word_ngrams >= 2 && have_prev)
			add(fx, mix64((prev * 0x100000001b3ull) ^ h ^ ((uint64_t)NS_BI << 56)));
		prev = h;
		have_prev = true;
	}
	/* character n-grams of the collapsed text, packed into 64 bits (n <= 5) */
	if (c->char_max >= c->char_min && c->char_min >= 1)
		for (unsigned g = c->char_min; g <= c->char_max; g++) {
			if (m < g)
				break;
			uint64_t packed = 0;
			uint64_t keep = g >= 8 ? ~0ull : ((1ull << (8 * g)) - 1);
			for (size_t i = 0; i < m; i++) {
				packed = ((packed << 8) | s[i]) & keep;
				if (i + 1 >= g)
					add(fx, mix64(packed ^ ((uint64_t)(NS_CHAR + g) << 56)));
			}
		}

	/* hashed part: sign * log1p(|count|), L2-normalised */
	size_t o = 0;
	double ss = 0;
	for (size_t i = 0; i < fx->n_touched; i++) {
		float a = fx->acc[fx->touched[i]];
		if (a == 0)
			continue;
		float abs_a = a > 0 ? a : -a;
		float l = abs_a < 64 ? fx->log1p_tab[(int)abs_a] : log1pf(abs_a);
		float v = a > 0 ? l : -l;
		fx->oidx[o] = fx->touched[i];
		fx->oval[o] = v;
		ss += (double)v * v;
		o++;
	}
	if (ss > 0) {
		float inv = (float)(1.0 / sqrt(ss));
		for (size_t i = 0; i < o; i++)
			fx->oval[i] *= inv;
	}

	/* dense signals */
	raw_counts(p, head, &k);
	/* hr_features_of's code and language guesses, on the first LANG_BYTES (its stopword
	 * vote costs about a microsecond per 100 bytes) */
	struct hr_part part = {.type = HR_PART_TEXT,
	                       .text = {text, head < LANG_BYTES ? head : LANG_BYTES}};
	struct hr_msg msg = {.role = HR_ROLE_USER, .parts = &part, .n_parts = 1};
	struct hr_chat_req rq = {.msgs = &msg, .n_msgs = 1, .max_tokens = -1, .prompt_bytes = n};
	struct hr_features rf;
	hr_features_of(&rq, false, &rf);
	size_t words_all = k.words;
	if (n > head && head > 0) /* extrapolate the word count past the head */
		words_all = (size_t)((double)k.words * (double)n / (double)head);
	double hb = head ? (double)head : 1.0;
	double w = k.words ? (double)k.words : 1.0;
	float d[HR_LEARN_DENSE] = {
	    [D_BIAS] = 1.0f,
	    [D_CHARS] = lg((double)n, 10),
	    [D_WORDS] = lg((double)words_all, 8),
	    [D_FENCE] = k.fence ? 1.0f : 0.0f,
	    [D_CODE] = rf.contains_code ? 1.0f : 0.0f,
	    [D_PUNCT] = lg((double)k.punct, 5),
	    [D_CODEW] = lg((double)k.code_words, 3),
	    [D_DIGITS] = (float)fmin(1.0, 5.0 * (double)k.digits / hb),
	    [D_MATH] = lg((double)k.math, 4),
	    [D_LATEX] = lg((double)k.latex, 3),
	    [D_LIST] = lg((double)k.lists, 3),
	    [D_QUEST] = lg((double)k.quest, 2),
	    [D_MC] = k.mc >= 3 ? 1.0f : 0.0f,
	    [D_LOTHER] = rf.language && strcmp(rf.language, "en") != 0 ? 1.0f : 0.0f,
	    [D_LEN] = rf.language && strcmp(rf.language, "en") == 0 ? 1.0f : 0.0f,
	    [D_LINES] = lg((double)k.lines, 5),
	    [D_WLEN] = (float)fmin(1.5, (double)k.word_bytes / w / 10.0),
	    [D_UPPER] = k.letters ? (float)((double)k.upper / (double)k.letters) : 0.0f,
	    [D_NONASCII] = (float)fmin(1.0, (double)k.nonascii / hb),
	    [D_LONGW] = (float)fmin(1.0, 4.0 * (double)k.long_words / w),
	};
	uint32_t base = fx->mask + 1;
	for (unsigned i = 0; i < HR_LEARN_DENSE; i++) {
		fx->oidx[o] = base + i;
		fx->oval[o] = i == D_BIAS ? 1.0f : d[i] * c->dense_weight;
		o++;
	}
	out->idx = fx->oidx;
	out->val = fx->oval;
	out->n = o;
}
