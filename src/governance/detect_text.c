/* detect_text.c - the detectors of words: email addresses, secrets (API keys by their known
 * prefixes, PEM private keys, long high-entropy tokens) and street addresses.
 *
 * Street addresses: a core, then what follows it on the same block. Cores:
 *  - a house number, then up to five words, one of them a street-type word (Street, St., Road,
 *    Avenue, Lane, Blvd, ... and the continental ones: Rue, Via, Rua, Calle, utca, ...) or a
 *    word ending in a street suffix (-strasse, -straße, -weg, -katu, -tie, -vej, -gade,
 *    -gatan, -vägen, ...), e.g. "1668 Glyn St", "221B Baker Street", "20 Puruntie";
 *  - a prefix street word or a suffixed word, then words, then a house number ("Rue de la
 *    Paix 5", "Via Franscini 71", "Puruntie 82");
 *  - a unit or military address: "Apt. 5", "Suite 200", "Unit 4719 Box 7394", "PSC 0413,
 *    Box 8144", "P.O. Box 12";
 *  - after an address cue ("address", "lives at", "located at", "office is at", "moved to"),
 *    a capitalised word and a number in either order.
 * Then, while the next comma- or line-separated piece looks like an address part (a unit, a
 * capitalised place name, a state code, a postcode; no ':' label, no phone-like number), it
 * is added, up to EXT_PIECES pieces. Every scan is bounded by ADDR_MAX bytes per core. */
#include <stdint.h>
#include <string.h>

#include "governance/detect_int.h"

#define ADDR_MAX   200 /* bytes of one address */
#define ADDR_WORDS 6   /* words between a house number and the street type */
#define EXT_PIECES 5
#define PIECE_MAX  48
#define SECRET_MIN 32  /* bytes of a generic high-entropy token */
#define TOKEN_MAX  512 /* longest token looked at as a secret */

/* ---- email ---- */

static bool local_b(unsigned ch)
{
	return d_alnum(ch) || ch == '.' || ch == '_' || ch == '%' || ch == '+' || ch == '-' ||
	       ch == '\'' || ch >= 0x80;
}
static bool dom_b(unsigned ch)
{
	return d_alnum(ch) || ch == '-' || ch == '.' || ch >= 0x80;
}

static void emails(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n, floor = 0;
	for (size_t i = 0; i < n && !c->err; i++) {
		if (t[i] != '@')
			continue;
		size_t s = i;
		while (s > floor && i - s < 64 && local_b(t[s - 1]))
			s--;
		while (s < i && t[s] == '.')
			s++;
		size_t e = i + 1, last_dot = 0;
		while (e < n && e - i < 255 && dom_b(t[e])) {
			if (t[e] == '.')
				last_dot = e;
			e++;
		}
		while (e > i + 1 && (t[e - 1] == '.' || t[e - 1] == '-'))
			e--;
		last_dot = 0;
		for (size_t k = i + 1; k < e; k++)
			if (t[k] == '.')
				last_dot = k;
		floor = i + 1;
		if (s == i || !last_dot || last_dot + 2 >= e + 0 || last_dot <= i + 1)
			continue;
		size_t tld = e - last_dot - 1;
		bool ok = tld >= 2;
		for (size_t k = last_dot + 1; k < e && ok; k++)
			ok = d_alpha(t[k]) || t[k] >= 0x80 || (d_alnum(t[k]) && k > last_dot + 2);
		if (!ok)
			continue;
		hr_dctx_add(c, s, e, HR_PII_EMAIL, 0);
		floor = e;
		i = e - 1;
	}
}

/* ---- secrets ---- */

struct prefix {
	const char *p;
	unsigned char min_body;     /* bytes after the prefix */
	unsigned char upper_digits; /* body only [A-Z0-9] (AWS) */
};

static const struct prefix secret_prefixes[] = {
    {"sk-ant-", 20, 0},  {"sk-proj-", 20, 0}, {"sk-", 20, 0},         {"AKIA", 16, 1},
    {"ASIA", 16, 1},     {"ghp_", 30, 0},     {"gho_", 30, 0},        {"ghu_", 30, 0},
    {"ghs_", 30, 0},     {"ghr_", 30, 0},     {"github_pat_", 30, 0}, {"glpat-", 20, 0},
    {"xoxb-", 10, 0},    {"xoxp-", 10, 0},    {"xoxa-", 10, 0},       {"xoxr-", 10, 0},
    {"xoxs-", 10, 0},    {"hk_", 20, 0},      {"AIza", 30, 0},        {"sk_live_", 16, 0},
    {"rk_live_", 16, 0}, {"pk_live_", 16, 0}, {"hf_", 30, 0},         {"npm_", 30, 0},
    {"SG.", 40, 0},
};

static bool tok_b(unsigned ch)
{
	return d_alnum(ch) || ch == '_' || ch == '-' || ch == '+' || ch == '/' || ch == '=' ||
	       ch == '.';
}

/* Bits of entropy per byte of t[s, e) times 100, from its byte histogram. Bounded input. */
static int entropy100(const unsigned char *t, size_t s, size_t e)
{
	/* -sum p log2 p with a small log2 table in fixed point: use the identity
	 * H = log2(N) - (1/N) sum c log2 c, with log2 from a loop of shifts. */
	unsigned cnt[128] = {0};
	size_t N = e - s;
	for (size_t i = s; i < e; i++)
		cnt[t[i] & 127]++;
		/* log2 in 1/1024 units by bit scan and linear interpolation (error < 0.09 bits) */
#define LOG2K(x)                                                                                   \
	({                                                                                         \
		unsigned x_ = (x), b_ = 31u - (unsigned)__builtin_clz(x_);                         \
		(long)(b_ * 1024u + (((x_ << 10) >> b_) - 1024u));                                 \
	})
	long acc = 0;
	for (int k = 0; k < 128; k++)
		if (cnt[k])
			acc += (long)cnt[k] * LOG2K(cnt[k]);
	long h = LOG2K((unsigned)N) - acc / (long)N;
#undef LOG2K
	return (int)(h * 100 / 1024);
}

static void secrets(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n;
	for (size_t i = 0; i < n && !c->err;) {
		/* PEM private key blocks */
		if (t[i] == '-' && hr_d_ieq(t, n, i, "-----begin ")) {
			size_t j = i + 11, lim = j + 40 < n ? j + 40 : n;
			const unsigned char *h = memmem(t + j, lim - j, "PRIVATE KEY-----", 16);
			if (h) {
				size_t body = (size_t)(h - t) + 16;
				const unsigned char *endm =
				    memmem(t + body, n - body, "-----END ", 9);
				size_t e = n;
				if (endm) {
					e = (size_t)(endm - t) + 9;
					const unsigned char *close =
					    memmem(t + e, n - e < 64 ? n - e : 64, "-----", 5);
					e = close ? (size_t)(close - t) + 5 : e;
				}
				hr_dctx_add(c, i, e, HR_PII_SECRET,
				            0); /* an unterminated key: the rest */
				i = e;
				continue;
			}
		}
		if (!tok_b(t[i]) || (i > 0 && tok_b(t[i - 1]))) {
			i++;
			continue;
		}
		size_t e = i;
		while (e < n && e - i < TOKEN_MAX && tok_b(t[e]))
			e++;
		if (e - i == TOKEN_MAX) { /* a huge token: check its start, skip the rest */
			while (e < n && tok_b(t[e]))
				e++;
		}
		while (e > i && (t[e - 1] == '.' || t[e - 1] == '-'))
			e--; /* sentence punctuation */
		size_t len = e - i;
		bool hit = false;
		for (size_t k = 0; k < sizeof secret_prefixes / sizeof *secret_prefixes && !hit;
		     k++) {
			const struct prefix *p = &secret_prefixes[k];
			size_t pl = strlen(p->p);
			if (len < pl + p->min_body || memcmp(t + i, p->p, pl) != 0)
				continue;
			hit = true;
			for (size_t q = i + pl; q < e && hit; q++)
				hit = p->upper_digits
				          ? (d_upper(t[q]) || d_digit(t[q]))
				          : (d_alnum(t[q]) || t[q] == '_' || t[q] == '-');
		}
		if (!hit && len >= SECRET_MIN && len <= TOKEN_MAX) {
			int up = 0, lo = 0, dg = 0, slash = 0;
			for (size_t q = i; q < e; q++) {
				up += d_upper(t[q]);
				lo += d_lower(t[q]);
				dg += d_digit(t[q]);
				slash += t[q] == '/' || t[q] == '.';
			}
			/* mixed case and digits, not a path or a dotted name, and near-random */
			hit = up >= 2 && lo >= 2 && dg >= 2 && slash * 8 < (int)len &&
			      entropy100(t, i, e) >= 450;
		}
		if (hit)
			hr_dctx_add(c, i, e, HR_PII_SECRET, 0);
		i = e > i ? e : i + 1;
	}
}

/* ---- street addresses ---- */

/* Street-type words that follow the name ("Baker Street"); compared lower-case, a trailing
 * '.' allowed. */
static const char *const street_after[] = {
    "street",   "st",     "str",       "road",    "rd",     "avenue",   "ave",     "av",
    "lane",     "ln",     "boulevard", "blvd",    "drive",  "dr",       "court",   "ct",
    "way",      "place",  "pl",        "square",  "sq",     "terrace",  "parkway", "pkwy",
    "highway",  "hwy",    "circle",    "cir",     "trail",  "crescent", "close",   "grove",
    "gardens",  "row",    "mews",      "walk",    "hill",   "park",     "plaza",   "alley",
    "route",    "path",   "pike",      "loop",    "run",    "crossing", "gateway", "parks",
    "pass",     "union",  "squares",   "streets", "forges", "fort",     "mall",    "point",
    "ridge",    "view",   "heights",   "estate",  "green",  "common",   "landing", "meadows",
    "junction", "center", "centre",    "quay",    "wharf",  "utca",     "u",       "tér",
    "út",       "körút",  "ulica",     "ul",      "gasse",  "platz",    "allee",   "ring",
    "laan",     "straat", "plein",     "kade",    "gracht", "vej",      "strasse", "straße",
    "gade",     "gatan",  "vägen",     "väg",     "veien",  "vegen",    "gata",    "katu",
    "tie",      "kuja",   "polku",     "tänav",   "iela",   NULL};

/* Street-type words that come first ("Rue de la Paix"). */
static const char *const street_before[] = {
    "rue",       "via",   "viale",   "rua",    "calle",  "avenida", "avenue",   "av",
    "boulevard", "bd",    "piazza",  "plaza",  "praça",  "largo",   "travessa", "estrada",
    "carrer",    "paseo", "passeig", "camino", "chemin", "allée",   "impasse",  "place",
    "strada",    "corso", "ulica",   "ul",     "avda",   "rúa",     "estrada",  "alameda",
    "rambla",    "ronda", "vía",     NULL};

/* Street types strong enough to make an address without a number ("Baker Street"). */
static const char *const street_strong[] = {"street", "road",  "avenue",  "lane",     "boulevard",
                                            "blvd",   "drive", "terrace", "crescent", "st",
                                            "rd",     "ave",   "strasse", "straße",   NULL};

/* Endings of compound street names ("Bundesstrasse", "Koskikatu", "Hersnapvej"). */
static const char *const street_suffix[] = {
    "strasse", "straße", "str.",  "weg",   "gasse",  "platz",   "allee",  "damm",  "ufer",
    "katu",    "tie",    "kuja",  "polku", "vej",    "gade",    "gatan",  "vägen", "väg",
    "gränd",   "veien",  "vegen", "gata",  "stræti", "straeti", "straat", "laan",  "gracht",
    "plein",   "steeg",  "kade",  "utca",  "street", "road",    "avenue", "lane",  NULL};

static const char *const unit_words[] = {"apt",  "apartment", "suite", "ste",  "unit",
                                         "flat", "floor",     "fl",    "room", "rm",
                                         "box",  "#",         NULL};

static const char *const addr_cues[] = {
    "address",    "lives at",   "live at",    "located at", "office is at", "moved to", "ship to",
    "deliver to", "send it to", "new one to", "is at ",     "located in ",  NULL};

struct word {
	size_t s, e; /* bytes; e excludes a trailing '.' */
	bool dot;    /* followed by '.' */
	bool num;    /* starts with a digit, at most 6 digits and a letter: "221B" */
	bool cap;    /* starts upper-case */
};

/* Reads the word at or after *i on the same line-piece (spaces and tabs skipped, not
 * newlines or commas). Returns false at anything else. */
static bool word_at(const unsigned char *t, size_t n, size_t *i, struct word *w)
{
	size_t j = *i;
	while (j < n && (t[j] == ' ' || t[j] == '\t'))
		j++;
	if (j >= n || !(d_wordb(t[j]) || t[j] == '#'))
		return false;
	w->s = j;
	if (t[j] == '#')
		j++;
	while (j < n &&
	       (d_wordb(t[j]) || ((t[j] == '-' || t[j] == '\'') && j + 1 < n && d_wordb(t[j + 1]))))
		j++;
	w->e = j;
	w->dot = j < n && t[j] == '.';
	size_t nd = 0;
	while (w->s + nd < j && d_digit(t[w->s + nd]))
		nd++;
	w->num = nd >= 1 && nd <= 6 && j - w->s <= nd + 1;
	w->cap = hr_d_upper_at(t, n, w->s) || (t[w->s] == '#');
	*i = w->dot ? j + 1 : j;
	return j > w->s;
}

static bool in_list(const unsigned char *t, const struct word *w, const char *const *list)
{
	size_t len = w->e - w->s;
	unsigned c0 = d_lc(t[w->s]);
	for (const char *const *l = list; *l; l++)
		if ((unsigned char)(*l)[0] == c0 && strlen(*l) == len &&
		    hr_d_ieq(t, w->e, w->s, *l))
			return true;
	return false;
}

static bool has_suffix(const unsigned char *t, const struct word *w)
{
	size_t len = w->e - w->s;
	unsigned last = d_lc(t[w->e - 1]);
	for (const char *const *l = street_suffix; *l; l++) {
		size_t k = strlen(*l);
		if ((unsigned char)(*l)[k - 1] != last)
			continue;
		if (len > k + 2 && hr_d_ieq(t, w->e, w->e - k, *l))
			return true;
	}
	return false;
}

/* A unit ("Apt. 5", "Suite 200", "Box 12") at *i: returns its end or 0. */
static size_t unit_at(const unsigned char *t, size_t n, size_t i)
{
	struct word a, b;
	size_t j = i;
	if (!word_at(t, n, &j, &a) || !in_list(t, &a, unit_words))
		return 0;
	if (j < n && t[j] == '#')
		j++;
	size_t k = j;
	if (!word_at(t, n, &k, &b) || !b.num)
		return 0;
	return b.e;
}

/* Whether the piece t[s, e) (one line or comma piece) looks like part of an address. */
static bool piece_ok(const unsigned char *t, size_t n, size_t s, size_t e)
{
	size_t j = s, words = 0, digs = 0;
	struct word w;
	while (j < e && j < n) {
		size_t k = j;
		if (!word_at(t, e, &k, &w)) {
			if (t[k < e ? k : e - 1] == '(' || t[k < e ? k : e - 1] == ')') {
				j = k + 1;
				continue;
			}
			break;
		}
		if (t[w.s] == '#' ||
		    (!w.cap && !w.num && !d_digit(t[w.s]) && !(words > 0 && w.e - w.s <= 3)))
			return false; /* a lower-case word: prose, not an address line */
		for (size_t q = w.s; q < w.e; q++)
			digs += d_digit(t[q]);
		words++;
		j = k;
	}
	while (j < e && (t[j] == ' ' || t[j] == '\t' || t[j] == '.' || t[j] == '\r'))
		j++;
	return j == e && words >= 1 && words <= 6 && digs <= 10;
}

/* Extends an address ending at e over following pieces. */
static size_t extend(const unsigned char *t, size_t n, size_t start, size_t e)
{
	for (int p = 0; p < EXT_PIECES; p++) {
		size_t j = e;
		size_t u = unit_at(t, n, j);
		if (u && u - start < ADDR_MAX) {
			e = u;
			continue;
		}
		int nl = 0;
		bool comma = false;
		while (j < n && (t[j] == ' ' || t[j] == '\t' || t[j] == '\r' || t[j] == '\n' ||
		                 t[j] == ',' || (t[j] == '>' && nl))) {
			nl += t[j] == '\n';
			comma |= t[j] == ',';
			j++;
		}
		if (j == e || nl > 2 || j >= n)
			break;
		u = unit_at(t, n, j);
		if (u && u - start < ADDR_MAX) {
			e = u;
			continue;
		}
		size_t pe = j;
		while (pe < n && pe - j < PIECE_MAX && t[pe] != '\n' && t[pe] != ',' &&
		       t[pe] != ':' && t[pe] != '?' && t[pe] != '!' && t[pe] != ';' && t[pe] != '"')
			pe++;
		while (pe > j && (t[pe - 1] == ' ' || t[pe - 1] == '.'))
			pe--;
		if (pe == j || pe - start > ADDR_MAX || (pe < n && t[pe] == ':'))
			break;
		if (!comma && !nl)
			break;
		if (!piece_ok(t, n, j, pe))
			break;
		e = pe;
	}
	return e;
}

/* Whether only spaces or tabs lie between a and b. */
static bool adjacent_ws(const unsigned char *t, size_t a, size_t b)
{
	if (b < a || b - a > 3)
		return false;
	for (size_t k = a; k < b; k++)
		if (t[k] != ' ' && t[k] != '\t')
			return false;
	return true;
}

/* Tries the cores at word w (already read; next points after it). Returns the core's end,
 * or 0. */
static size_t addr_core(const unsigned char *t, size_t n, const struct word *w0, size_t next,
                        bool cue)
{
	struct word w[ADDR_WORDS + 2];
	size_t j = next;
	int nw = 0;
	w[0] = *w0;
	while (nw < ADDR_WORDS && j < n) {
		size_t k = j;
		if (!word_at(t, n, &k, &w[nw + 1]))
			break;
		nw++;
		j = k;
	}
	/* house number, name words, street type (or a suffixed word) */
	if (w0->num) {
		for (int k = 1; k <= nw; k++) {
			bool lc = !w[k].cap && !w[k].num;
			if (in_list(t, &w[k], street_after) && k >= 2) {
				/* "St" alone after a number ("5 st") is too weak: want a name */
				size_t e = w[k].dot ? w[k].e + 1 : w[k].e;
				/* a number after the type: "Koskikatu 25" */
				if (k + 1 <= nw && w[k + 1].num)
					e = w[k + 1].e;
				return e;
			}
			if (has_suffix(t, &w[k]) && (w[k].cap || k == 1)) {
				size_t e = w[k].e;
				if (k + 1 <= nw && w[k + 1].num)
					e = w[k + 1].e;
				return e;
			}
			if (lc && !(k > 1 &&
			            (hr_d_ieq(t, n, w[k].s, "de") || hr_d_ieq(t, n, w[k].s, "do") ||
			             hr_d_ieq(t, n, w[k].s, "da") || hr_d_ieq(t, n, w[k].s, "la"))))
				break;
			if (w[k].num && k > 1)
				break;
		}
		/* a second number, then a prefix street word: "846 31 Rue Al Imam" */
		int k0 = (nw >= 1 && w[1].num) ? 2 : 1;
		if (nw >= k0 + 1 && w[k0].cap && in_list(t, &w[k0], street_before) &&
		    (w[k0 + 1].cap || w[k0 + 1].num)) {
			size_t e = w[k0 + 1].e;
			for (int k = k0 + 2; k <= nw && k <= k0 + 4; k++) {
				if (!w[k].cap && !w[k].num && w[k].e - w[k].s > 3)
					break;
				if (!adjacent_ws(t, w[k - 1].e, w[k].s))
					break;
				e = w[k].e;
				if (w[k].num)
					break;
			}
			return e;
		}
		/* house number, a street name, a building number: "28030 Edeby 55",
		 * "10252 Μεγάλη Άμμος 184", "74678 midtvollen 130 st." */
		if (nw >= k0 + 1 && !w[k0].num && (w0->e - w0->s >= 2)) {
			bool lower = false;
			for (int k = k0; k <= nw && k <= k0 + 3; k++) {
				if (!adjacent_ws(t, w[k - 1].dot ? w[k - 1].e + 1 : w[k - 1].e,
				                 w[k].s))
					break;
				if (w[k].num) {
					if (k == k0)
						break;
					size_t e = w[k].e;
					bool typed = k + 1 <= nw &&
					             in_list(t, &w[k + 1], street_after) &&
					             adjacent_ws(t, w[k].e, w[k + 1].s);
					if (typed)
						e = w[k + 1].dot ? w[k + 1].e + 1 : w[k + 1].e;
					size_t u = unit_at(t, n, e);
					if (!lower || typed || u || cue)
						return e;
					break;
				}
				if (!w[k].cap)
					lower = true;
				if (w[k].dot && k > k0)
					break;
			}
		}
		/* after an address cue: "20789 Allika 46", "450 Præstevænget 15" */
		if (cue && nw >= 1 && w[1].cap && !w[1].num) {
			if (nw >= 2 && w[2].num)
				return w[2].e;
			if (nw >= 3 && w[2].cap && w[3].num)
				return w[3].e;
		}
		return 0;
	}
	/* prefix street word: "Via Franscini 71", "Rue de la Paix 5", "Rua do Arenque 1634" */
	if (w0->cap && in_list(t, w0, street_before)) {
		for (int k = 1; k <= nw && k <= 5; k++)
			if (w[k].num)
				return k >= 2 ? w[k].e : 0;
		/* "Avenue Teboulbi" after a number is handled above; alone it needs a number */
		return 0;
	}
	/* suffixed word + number: "Puruntie 82", "Magasinsgatan 7" */
	if (w0->cap && has_suffix(t, w0) && nw >= 1 && w[1].num)
		return w[1].e;
	/* capitalised words and a street type: "Villacher Strasse 89", "Marina Fort Street" */
	if (w0->cap && !w0->num && !in_list(t, w0, street_after)) {
		for (int k = 1; k <= nw && k <= 3; k++) {
			if (!adjacent_ws(t, w[k - 1].dot ? w[k - 1].e + 1 : w[k - 1].e, w[k].s) ||
			    !w[k].cap || w[k].num)
				break;
			if (in_list(t, &w[k], street_after)) {
				if (k + 1 <= nw && w[k + 1].num &&
				    adjacent_ws(t, w[k].e, w[k + 1].s))
					return w[k + 1].e;
				if (in_list(t, &w[k], street_strong))
					return w[k].dot ? w[k].e + 1 : w[k].e;
				break;
			}
			if (w[k].dot)
				break;
		}
	}
	/* after an address cue: "Allika 46" */
	if (cue && w0->cap && !w0->num && nw >= 1 && w[1].num)
		return w[1].e;
	if (cue && w0->cap && !w0->num && nw >= 2 && w[1].cap && w[2].num)
		return w[2].e;
	return 0;
}

static bool digits5(const unsigned char *t, size_t n, size_t k)
{
	if (k + 5 > n)
		return false;
	for (size_t q = k; q < k + 5; q++)
		if (!d_digit(t[q]))
			return false;
	return k + 5 == n || !d_wordb(t[k + 5]);
}

static void addresses(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n;
	struct hr_cue_track tr = HR_CUE_TRACK(addr_cues);
	for (size_t i = 0; i < n && !c->err;) {
		if (!(d_wordb(t[i]) || t[i] == '#') || (i > 0 && d_wordb(t[i - 1]))) {
			i++;
			continue;
		}
		size_t lc = hr_d_cue_upto(t, n, &tr, i);
		bool cue = lc != SIZE_MAX && i - lc <= 64;
		struct word w;
		size_t j = i;
		if (!word_at(t, n, &j, &w)) {
			i++;
			continue;
		}
		size_t e = 0;
		/* PSC 0413, Box 8144 / Unit 4719 Box 7394 / P.O. Box 12 / Apt. 5 */
		if ((hr_d_ieq(t, n, w.s, "psc") || hr_d_ieq(t, n, w.s, "unit") ||
		     hr_d_ieq(t, n, w.s, "cmr")) &&
		    w.e - w.s <= 4) {
			struct word x;
			size_t k = j;
			if (word_at(t, n, &k, &x) && x.num) {
				size_t q = k;
				while (q < n && (t[q] == ',' || t[q] == ' '))
					q++;
				size_t u = unit_at(t, n, q);
				e = u ? u : 0;
			}
		}
		/* APO/FPO/DPO AA 12345, and the ship or unit line before it */
		if (!e && w.e - w.s == 3 &&
		    (hr_d_ieq(t, n, w.s, "apo ") || hr_d_ieq(t, n, w.s, "fpo ") ||
		     hr_d_ieq(t, n, w.s, "dpo ")) &&
		    w.s + 12 <= n && (t[w.s + 4] | 32) == 'a' && d_alpha(t[w.s + 5]) &&
		    t[w.s + 6] == ' ') {
			size_t k = w.s + 7;
			if (digits5(t, n, k))
				e = k + 5;
		}
		if (!e && (hr_d_ieq(t, n, w.s, "usns ") || hr_d_ieq(t, n, w.s, "usnv ") ||
		           hr_d_ieq(t, n, w.s, "uss ") || hr_d_ieq(t, n, w.s, "usns\n"))) {
			size_t k = j;
			struct word x;
			if (word_at(t, n, &k, &x) && x.cap) {
				size_t q = k;
				while (q < n && (t[q] == ' ' || t[q] == '\n' || t[q] == ','))
					q++;
				if (q + 12 <= n &&
				    (hr_d_ieq(t, n, q, "fpo ") || hr_d_ieq(t, n, q, "apo ")) &&
				    digits5(t, n, q + 7))
					e = q + 12;
			}
		}
		/* "the corner of X and Y St." */
		if (!e && i >= 10 && hr_d_ieq(t, n, i - 10, "corner of ")) {
			size_t k = j, last = w.e;
			struct word x;
			bool and_seen = false;
			for (int q = 0; q < 10 && word_at(t, n, &k, &x); q++) {
				if (x.e - x.s == 3 && hr_d_ieq(t, n, x.s, "and")) {
					and_seen = true;
					continue;
				}
				if (and_seen && !x.cap && !x.num && x.e - x.s > 3)
					break;
				last = x.dot && in_list(t, &x, street_after) ? x.e + 1 : x.e;
				if (and_seen && (x.dot || (k < n && t[k] != ' ')))
					break;
			}
			if (and_seen)
				e = last;
		}
		if (!e && (hr_d_ieq(t, n, w.s, "p.o. box ") || hr_d_ieq(t, n, w.s, "po box "))) {
			size_t k = w.s + (t[w.s + 1] == '.' ? 9 : 7);
			struct word x;
			if (word_at(t, n, &k, &x) && x.num)
				e = x.e;
		}
		if (!e && w.cap && in_list(t, &w, unit_words) && !hr_d_ieq(t, n, w.s, "box") &&
		    !hr_d_ieq(t, n, w.s, "floor") && !hr_d_ieq(t, n, w.s, "room"))
			e = unit_at(t, n, w.s);
		if (!e)
			e = addr_core(t, n, &w, j, cue);
		if (e) {
			/* the street number may come after the house number: "1987 74 Diakou" is
			 * already covered; extend over the following pieces */
			e = extend(t, n, i, e);
			hr_dctx_add(c, i, e, HR_PII_STREET_ADDRESS, 0);
			i = e;
			continue;
		}
		i = j > i ? j : i + 1;
	}
}

void hr_detect_text(struct hr_dctx *c)
{
	if (hr_dc_on(c, HR_PII_EMAIL))
		emails(c);
	if (hr_dc_on(c, HR_PII_SECRET))
		secrets(c);
	if (hr_dc_on(c, HR_PII_STREET_ADDRESS))
		addresses(c);
}
