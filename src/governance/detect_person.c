/* detect_person.c - person names: a first-name gazetteer (the @stdlib English first-name
 * lists, compiled in by the build) plus cues.
 *
 * A name starts at a capitalised word that is (a) a first name from the gazetteer and not a
 * common English word ("May", "Will", "Grace" are skipped), or (b) follows a title (Mr, Mrs,
 * Ms, Dr, Prof, ...), or (c) follows a phrase that introduces a name ("my name is", "I'm",
 * "this is", "name:", "under", "Dear", ...; after "my name is" and "name:" a lower-case word
 * counts too). It then takes initials ("J.", "M"), particles before a capitalised word ("van",
 * "de", "ten", ...) and up to three more capitalised words (surnames), stopping at a
 * punctuation mark, a line break or a common word; "Jr", "II", "III" are kept. Every word of
 * three or more letters of a name found this way is then a name wherever else it appears
 * capitalised in the same text ("... by Bonifacy Kaczmarek ... Kaczmarek's song"). */
#include <stdint.h>
#include <string.h>

#include "governance/detect_int.h"

#define NAME_WORDS  4  /* words after the first */
#define KNOWN_MAX   32 /* name words remembered for the second pass */
#define WORD_LC_MAX 24

/* Common English words that are also first names, and capitalised words that are never a
 * name's part (sorted, lower-case: binary search). */
static const char *const common[] = {
    "a",       "about",  "ad",       "address", "after",    "agent",     "al",        "all",
    "also",    "amber",  "an",       "and",     "any",      "april",     "are",       "art",
    "as",      "asia",   "at",       "august",  "autumn",   "avenue",    "bank",      "bar",
    "base",    "bay",    "be",       "bear",    "bell",     "bill",      "bird",      "bob",
    "bot",     "boy",    "brand",    "bunny",   "but",      "by",        "cal",       "can",
    "car",     "care",   "carol",    "carry",   "case",     "chance",    "charity",   "chase",
    "cliff",   "could",  "court",    "cross",   "crystal",  "daisy",     "dale",      "dawn",
    "dean",    "dear",   "december", "del",     "der",      "des",       "desk",      "di",
    "did",     "do",     "don",      "dr",      "drew",     "duke",      "early",     "ed",
    "el",      "else",   "em",       "email",   "eve",      "even",      "faith",     "fan",
    "far",     "fax",    "february", "fern",    "field",    "fields",    "for",       "forest",
    "fort",    "frank",  "free",     "friday",  "from",     "gay",       "gene",      "glen",
    "grace",   "grant",  "gray",     "green",   "grove",    "gun",       "guy",       "had",
    "hall",    "happy",  "has",      "have",    "haven",    "he",        "heather",   "hello",
    "her",     "hi",     "hill",     "his",     "holly",    "honey",     "honor",     "hope",
    "how",     "hunter", "i",        "if",      "in",       "iris",      "is",        "it",
    "ivy",     "jan",    "january",  "job",     "joy",      "july",      "june",      "just",
    "king",    "land",   "lane",     "law",     "lee",      "les",       "lily",      "link",
    "lucky",   "major",  "man",      "mar",     "march",    "mark",      "mason",     "max",
    "may",     "mayor",  "merry",    "mile",    "miles",    "mill",      "minor",     "miss",
    "mobile",  "monday", "mr",       "mrs",     "ms",       "my",        "new",       "no",
    "north",   "not",    "november", "october", "of",       "office",    "ok",        "on",
    "or",      "our",    "page",     "park",    "pat",      "pearl",     "penny",     "phone",
    "please",  "port",   "price",    "prince",  "ray",      "read",      "red",       "rich",
    "ring",    "road",   "rob",      "rock",    "roman",    "rose",      "row",       "royal",
    "ruby",    "sandy",  "saturday", "saw",     "say",      "see",       "september", "she",
    "sir",     "sky",    "so",       "son",     "south",    "star",      "storm",     "street",
    "summer",  "sunday", "sydney",   "tel",     "temple",   "thank",     "thanks",    "that",
    "the",     "their",  "they",     "this",    "thursday", "to",        "town",      "trip",
    "tuesday", "urban",  "user",     "van",     "violet",   "von",       "wade",      "wait",
    "ward",    "was",    "way",      "we",      "web",      "wednesday", "west",      "what",
    "when",    "where",  "who",      "why",     "will",     "win",       "with",      "wood",
    "worth",   "yard",   "yes",      "york",    "you",      "your",
};

static const char *const titles[] = {"mr",   "mrs",   "ms",     "miss",   "mx",  "dr",
                                     "prof", "sir",   "madam",  "mister", "mme", "herr",
                                     "frau", "señor", "señora", NULL};

/* Cues ending right before a name, lower-case. strong: the next word is a name even in
 * lower case. */
static const char *const strong_cues[] = {"my name is ",  "name is ",  "name: ",   "name:\n",
                                          "named ",       "call me ",  "signed, ", "last name? ",
                                          "first name? ", "surname? ", "name? ",   "last name is ",
                                          "surname is ",  "called ",   "user: ",   NULL};
static const char *const weak_cues[] = {
    "i'm ",     "i am ",         "this is ",  "dear ",        "hi ",       "hello ",   "under ",
    "thanks, ", "assistant to ", "producer ", "directed by ", "regards, ", "ask for ", "speak to ",
    "talk to ", "with ",         "by ",       "from ",        "contact ",  "meet ",    "married ",
    "wife ",    "husband ",      "son ",      "daughter ",    "mother ",   "father ",  "brother ",
    "sister ",  "friend ",       "patient ",  "client ",      "customer ", "and ",     NULL};

static const char *const particles[] = {"van", "von", "de",  "der",   "den", "ten", "ter", "da",
                                        "di",  "du",  "del", "della", "la",  "le",  "dos", "das",
                                        "bin", "ibn", "al",  "y",     "st",  NULL};
/* Words that make the capitalised words before them an organisation's name. */
static const char *const org_words[] = {
    "inc",         "ltd",        "llc",       "plc",          "gmbh",       "corp",
    "corporation", "group",      "orchestra", "technologies", "associates", "partners",
    "company",     "co",         "bank",      "university",   "institute",  "foundation",
    "union",       "extensions", "solutions", "systems",      "labs",       "street",
    "st",          "road",       "avenue",    "lane",         NULL};
static const char *const suffixes[] = {"jr", "sr", "ii", "iii", "iv", NULL};

struct pword {
	size_t s, e;
	bool cap, ascii;
	char lc[WORD_LC_MAX + 1];
	size_t lcn; /* 0 when longer than WORD_LC_MAX or not ASCII */
};

static bool next_word(const unsigned char *t, size_t n, size_t *i, struct pword *w)
{
	size_t j = *i;
	while (j < n && !(d_alpha(t[j]) || t[j] >= 0xc0))
		j++;
	if (j >= n)
		return false;
	w->s = j;
	w->ascii = true;
	while (j < n &&
	       (d_alpha(t[j]) || t[j] >= 0x80 ||
	        ((t[j] == '-' || t[j] == '\'') && j + 1 < n && d_alpha(t[j + 1]) && j > w->s)))
		w->ascii &= t[j++] < 0x80;
	w->e = j;
	w->cap = hr_d_upper_at(t, n, w->s);
	w->lcn = 0;
	if (w->ascii && j - w->s <= WORD_LC_MAX) {
		for (size_t k = w->s; k < j; k++)
			w->lc[w->lcn++] = (char)d_lc(t[k]);
	}
	w->lc[w->lcn] = 0;
	*i = j;
	return true;
}

static bool sorted_has(const char *const *v, size_t nv, const char *s)
{
	size_t lo = 0, hi = nv;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int r = strcmp(v[mid], s);
		if (r == 0)
			return true;
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

static bool listed(const char *const *l, const struct pword *w)
{
	if (!w->lcn)
		return false;
	for (; *l; l++)
		if (strcmp(*l, w->lc) == 0)
			return true;
	return false;
}

static bool is_common(const struct pword *w)
{
	return w->lcn && sorted_has(common, sizeof common / sizeof *common, w->lc);
}

static bool is_first_name(const struct pword *w)
{
	return w->lcn >= 2 && !is_common(w) && sorted_has(hr_names_first, hr_names_first_n, w->lc);
}

/* Whether only spaces (no line break, no punctuation) separate a and b. */
static bool adjacent(const unsigned char *t, size_t a_end, size_t b_start)
{
	for (size_t k = a_end; k < b_start; k++)
		if (t[k] != ' ' && !(k == a_end && t[k] == '.'))
			return false;
	return b_start - a_end <= 3;
}

/* A name starting at word w (already read, *i after it): extends it, returns its end. */
static size_t extend_name(const unsigned char *t, size_t n, const struct pword *w, size_t *i)
{
	size_t end = w->e, j = *i;
	struct pword x;
	int taken = 0;
	while (taken < NAME_WORDS) {
		size_t k = j;
		if (!next_word(t, n, &k, &x) || !adjacent(t, end, x.s))
			break;
		/* the '.' allowed by adjacent() belongs to an initial only */
		if (end < n && t[end] == '.' && end - w->s > 1 && end != w->e)
			break;
		if (end < n && t[end] == '.' && end == w->e && w->e - w->s > 1)
			break;
		bool initial = x.e - x.s == 1 && x.cap;
		if (initial) {
			end = x.e + (x.e < n && t[x.e] == '.' ? 1 : 0);
			j = k;
			taken++;
			continue;
		}
		if (listed(particles, &x) && !x.cap) {
			struct pword y;
			size_t q = k;
			if (next_word(t, n, &q, &y) && y.cap && adjacent(t, x.e, y.s) &&
			    !is_common(&y)) {
				end = y.e;
				j = q;
				taken += 2;
				continue;
			}
			break;
		}
		if (listed(suffixes, &x) && x.cap) {
			end = x.e;
			j = k;
			break;
		}
		if (!x.cap || is_common(&x) || listed(titles, &x) || listed(org_words, &x))
			break;
		/* all-caps words of 3+ letters are places or acronyms more often than names */
		bool allcaps = true;
		for (size_t q = x.s; q < x.e && allcaps; q++)
			allcaps = !(d_lower(t[q]));
		if (allcaps && x.e - x.s > 2 && x.ascii)
			break;
		end = x.e;
		j = k;
		taken++;
	}
	*i = j;
	return end;
}

/* Upper-case first letter, then at least one lower-case one. */
static bool title_case(const unsigned char *t, const struct pword *w)
{
	for (size_t q = w->s + 1; q < w->e; q++)
		if (d_lower(t[q]) || t[q] >= 0x80)
			return true;
	return false;
}

struct known {
	const unsigned char *p[KNOWN_MAX];
	size_t len[KNOWN_MAX];
	size_t n;
};

static void remember(struct known *k, const unsigned char *t, size_t n, size_t s, size_t e)
{
	size_t i = s;
	struct pword w;
	while (i < e && next_word(t, n, &i, &w) && w.e <= e) {
		if (w.e - w.s < 3 || !w.cap || is_common(&w) || k->n == KNOWN_MAX)
			continue;
		bool dup = false;
		for (size_t q = 0; q < k->n && !dup; q++)
			dup = k->len[q] == w.e - w.s && memcmp(k->p[q], t + w.s, k->len[q]) == 0;
		if (!dup) {
			k->p[k->n] = t + w.s;
			k->len[k->n++] = w.e - w.s;
		}
	}
}

void hr_detect_person(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n;
	struct known known = {.n = 0};
	struct hr_cue_track strong = HR_CUE_TRACK(strong_cues), weak = HR_CUE_TRACK(weak_cues);
	size_t prev_title_end = SIZE_MAX;
	size_t prev_cap_end = SIZE_MAX; /* end of the previous word when capitalised */
	struct pword w;
	for (size_t i = 0; i < n && !c->err;) {
		if (!next_word(t, n, &i, &w))
			break;
		size_t sc = hr_d_cue_upto(t, n, &strong, w.s);
		size_t wc = hr_d_cue_upto(t, n, &weak, w.s);
		bool prev_cap = prev_cap_end != SIZE_MAX && adjacent(t, prev_cap_end, w.s);
		prev_cap_end = w.cap ? w.e : SIZE_MAX;
		bool after_strong = sc == w.s;
		bool after_weak = wc == w.s;
		bool after_title = prev_title_end != SIZE_MAX && adjacent(t, prev_title_end, w.s);
		prev_title_end = SIZE_MAX;
		if (w.cap && listed(titles, &w)) {
			prev_title_end = w.e;
			continue;
		}
		bool start = false;
		if (w.cap && !is_common(&w) && (after_title || after_strong))
			start = true;
		else if (!w.cap && after_strong && is_first_name(&w))
			start = true;
		else if (w.cap && is_first_name(&w))
			start = true;
		else if (w.cap && after_weak && !is_common(&w) && w.e - w.s >= 2) {
			/* a weak cue needs a first and a last name: two capitalised words */
			struct pword x;
			size_t k = i;
			start = next_word(t, n, &k, &x) && x.cap && adjacent(t, w.e, x.s) &&
			        !is_common(&x) && !listed(titles, &x);
		}
		if (!start && w.cap && !is_common(&w) && w.e - w.s >= 2 && !prev_cap) {
			/* two title-case words in a row, not part of a longer capitalised run: a
			 * first and a last name more often than not ("Homero Portillo") */
			struct pword x, y;
			size_t k = i, q;
			if (next_word(t, n, &k, &x) && x.cap && adjacent(t, w.e, x.s) &&
			    !is_common(&x) && !listed(titles, &x) && !listed(org_words, &x) &&
			    title_case(t, &w) && title_case(t, &x) && (w.e >= n || t[w.e] != '.')) {
				q = k;
				start =
				    !(next_word(t, n, &q, &y) && y.cap && adjacent(t, x.e, y.s));
			}
		}
		if (!start)
			continue;
		size_t e = w.cap ? extend_name(t, n, &w, &i) : w.e;
		{
			struct pword x;
			size_t k = i;
			if (next_word(t, n, &k, &x) && adjacent(t, e, x.s) && listed(org_words, &x))
				continue; /* "Bertha Inc", "Williamson Orchestra" */
		}
		if (!w.cap) { /* "my name is rubija ..." : take one more lower-case word */
			struct pword x;
			size_t k = i;
			if (next_word(t, n, &k, &x) && adjacent(t, w.e, x.s) && !is_common(&x) &&
			    x.lcn >= 3 &&
			    (k >= n || t[k] == '.' || t[k] == ',' || t[k] == '\n' || t[k] == '?' ||
			     t[k] == '!')) {
				e = x.e;
				i = k;
			}
		}
		hr_dctx_add(c, w.s, e, HR_PII_PERSON, 0);
		remember(&known, t, n, w.s, e);
	}
	if (!known.n || c->err)
		return;
	/* second pass: other mentions of the names found */
	for (size_t i = 0; i < n && !c->err;) {
		if (!next_word(t, n, &i, &w))
			break;
		if (!w.cap)
			continue;
		for (size_t q = 0; q < known.n; q++)
			if (known.len[q] == w.e - w.s &&
			    memcmp(known.p[q], t + w.s, known.len[q]) == 0) {
				hr_dctx_add(c, w.s, w.e, HR_PII_PERSON, 0);
				break;
			}
	}
}
