/* detect_num.c - the detectors of numbers and codes: payment cards (Luhn and issuer ranges),
 * US SSNs (the SSA's never-issued ranges excluded), IPv4/IPv6, dates (DATE, or DATE_OF_BIRTH
 * with a birth cue), phone numbers, IBANs (mod-97 and the country's length), Spanish DNI/NIE
 * (check letter) and UK National Insurance numbers.
 *
 * Each scan visits every byte a bounded number of times: candidates start only at a token
 * start (no letter or digit before), each matcher reads at most a fixed number of bytes
 * (CAND_MAX), and the scan then jumps past the match or past the token. */
#include <string.h>

#include "governance/detect_int.h"

#define CAND_MAX  48 /* bytes one number candidate may span */
#define CUE_BACK  40 /* bytes of context looked at before a candidate */
#define CUE_AHEAD 16 /* ... and after */

/* A token start: not preceded by a letter or digit (nor "d." as in 1.2.3 versions). */
static bool tok_start(const unsigned char *t, size_t i)
{
	if (i == 0)
		return true;
	if (d_wordb(t[i - 1]))
		return false;
	if ((t[i - 1] == '.' || t[i - 1] == '-' || t[i - 1] == '/' || t[i - 1] == ':') && i >= 2 &&
	    d_digit(t[i - 2]))
		return false;
	return true;
}

/* A token end at e: no letter or digit next, nor ".d" / "-d" continuing the number. */
static bool tok_end(const unsigned char *t, size_t n, size_t e)
{
	if (e >= n)
		return true;
	if (d_wordb(t[e]))
		return false;
	if ((t[e] == '.' || t[e] == '-' || t[e] == '/' || t[e] == ':') && e + 1 < n &&
	    d_digit(t[e + 1]))
		return false;
	return true;
}

/* Reads up to max digits at *i; returns how many (value in *v). */
static int digits(const unsigned char *t, size_t n, size_t *i, int max, long *v)
{
	int k = 0;
	long x = 0;
	while (*i < n && k < max && d_digit(t[*i])) {
		x = x * 10 + (t[(*i)++] - '0');
		k++;
	}
	if (v)
		*v = x;
	return k;
}

/* ---- payment cards ---- */

/* Issuer (IIN) ranges and the lengths each issues. */
static bool card_iin_ok(const char *d, int len)
{
	int p1 = d[0] - '0', p2 = p1 * 10 + (d[1] - '0'), p3 = p2 * 10 + (d[2] - '0'),
	    p4 = p3 * 10 + (d[3] - '0');
	if (p1 == 4)
		return len == 13 || len == 16 || len == 19; /* Visa */
	if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720))
		return len == 16; /* Mastercard */
	if (p2 == 34 || p2 == 37)
		return len == 15; /* American Express */
	if ((p3 >= 300 && p3 <= 305) || p2 == 36 || p2 == 38 || p2 == 39)
		return len >= 14 && len <= 19; /* Diners Club */
	if (p2 == 35)
		return len >= 16 && len <= 19; /* JCB */
	if (p4 == 1800 || p4 == 2131)
		return len == 15; /* JCB (old ranges) */
	if (p4 >= 2200 && p4 <= 2204)
		return len == 16; /* Mir */
	if (p4 == 6011 || (p3 >= 644 && p3 <= 649) || p2 == 65)
		return len >= 16 && len <= 19; /* Discover */
	if (p2 == 62)
		return len >= 16 && len <= 19; /* UnionPay */
	if (p2 == 50 || (p2 >= 56 && p2 <= 69))
		return len >= 12 && len <= 19; /* Maestro */
	return false;
}

static size_t match_card(const unsigned char *t, size_t n, size_t i)
{
	char d[20];
	int nd = 0;
	size_t j = i, end = 0;
	unsigned sep = 0;
	while (j < n && nd < 19) {
		if (!d_digit(t[j]))
			break;
		d[nd++] = (char)t[j++];
		end = j;
		if (j + 1 < n && (t[j] == ' ' || t[j] == '-') && d_digit(t[j + 1])) {
			if (sep && t[j] != sep)
				break;
			sep = t[j];
			j++;
		}
	}
	if (nd < 12 || !tok_end(t, n, end))
		return 0;
	if (j < n && d_digit(t[j]))
		return 0; /* longer than 19 digits */
	if (!card_iin_ok(d, nd) || !hr_detect_luhn_ok(d, (size_t)nd))
		return 0;
	return end;
}

/* ---- US SSN ---- */

static const char *const ssn_cues[] = {"ssn", "social security", "social sec", NULL};

static size_t match_ssn(const unsigned char *t, size_t n, size_t i, bool cue)
{
	size_t j = i;
	long a, g, s;
	if (digits(t, n, &j, 3, &a) != 3)
		return 0;
	unsigned sep = j < n ? t[j] : 0;
	if (sep == '-' || sep == ' ')
		j++;
	else if (!cue)
		return 0; /* nine bare digits are an SSN only where the text says so */
	else
		sep = 0;
	if (digits(t, n, &j, 2, &g) != 2)
		return 0;
	if (sep) {
		if (j >= n || t[j] != sep)
			return 0;
		j++;
	}
	if (digits(t, n, &j, 4, &s) != 4 || !tok_end(t, n, j))
		return 0;
	if (a == 0 || a == 666 || a >= 900 || g == 0 || s == 0)
		return 0; /* never issued */
	if ((a == 78 && g == 5 && s == 1120) || (a == 219 && g == 9 && s == 9999))
		return 0; /* the advertising samples */
	return j;
}

/* ---- IPv4 ---- */

static size_t match_ipv4(const unsigned char *t, size_t n, size_t i)
{
	size_t j = i;
	for (int k = 0; k < 4; k++) {
		long v;
		size_t s = j;
		int nd = digits(t, n, &j, 3, &v);
		if (nd == 0 || v > 255 || (nd > 1 && t[s] == '0'))
			return 0;
		if (k < 3) {
			if (j >= n || t[j] != '.')
				return 0;
			j++;
		}
	}
	if (j < n && (d_wordb(t[j]) || (t[j] == '.' && j + 1 < n && d_digit(t[j + 1]))))
		return 0;
	return j;
}

/* ---- dates ---- */

static const char *const dob_cues[] = {"born",      "birth",      "dob",    "d.o.b",
                                       "birthday",  "geboren",    "née",    "nee ",
                                       "naissance", "nacimiento", "age of", NULL};

static const char *const months[] = {"january",   "february", "march",    "april",
                                     "may",       "june",     "july",     "august",
                                     "september", "october",  "november", "december"};

/* A month name (full, or its first three letters with an optional '.') at t[i]; returns the
 * end, or 0. */
static size_t month_at(const unsigned char *t, size_t n, size_t i)
{
	if (!strchr("jfmasond", (int)d_lc(t[i])) || t[i] == 0)
		return 0;
	for (int m = 0; m < 12; m++) {
		size_t k = strlen(months[m]);
		if (hr_d_ieq(t, n, i, months[m]) && (i + k >= n || !d_alpha(t[i + k])))
			return i + k;
		if (hr_d_ieq(t, n, i, (char[]){months[m][0], months[m][1], months[m][2], 0}) &&
		    (i + 3 >= n || !d_alpha(t[i + 3])))
			return i + 3 < n && t[i + 3] == '.' ? i + 4 : i + 3;
	}
	return 0;
}

static bool year_ok(long y, int nd)
{
	return nd == 4 ? (y >= 1900 && y <= 2099) : nd == 2;
}


/* The end of a written-out date after its day or month: an optional comma, one space and a
 * four-digit year that ends the token ("…, 1980"). Returns the end, or 0. */
static size_t year_tail(const unsigned char *t, size_t n, size_t j)
{
	long y;
	if (j < n && t[j] == ',')
		j++;
	if (j >= n || t[j] != ' ')
		return 0;
	j++;
	if (digits(t, n, &j, 4, &y) != 4 || !year_ok(y, 4) || !tok_end(t, n, j))
		return 0;
	return j;
}
/* An optional time after a date: [T ]hh:mm[:ss]. */
static size_t time_after(const unsigned char *t, size_t n, size_t j)
{
	if (j + 1 >= n || (t[j] != ' ' && t[j] != 'T'))
		return j;
	size_t k = j + 1;
	long h, m;
	if (digits(t, n, &k, 2, &h) < 1 || k >= n || t[k] != ':' || h > 23)
		return j;
	k++;
	if (digits(t, n, &k, 2, &m) != 2 || m > 59)
		return j;
	if (k + 2 < n && t[k] == ':' && d_digit(t[k + 1]) && d_digit(t[k + 2]))
		k += 3;
	return k;
}

static size_t match_date(const unsigned char *t, size_t n, size_t i)
{
	size_t j = i;
	long a, b, y;
	int na = digits(t, n, &j, 4, &a);
	if (na == 4) { /* ISO: yyyy-mm-dd */
		if (j + 5 < n && (t[j] == '-' || t[j] == '/' || t[j] == '.')) {
			unsigned sep = t[j++];
			if (digits(t, n, &j, 2, &b) == 2 && j < n && t[j] == sep) {
				j++;
				long d;
				if (digits(t, n, &j, 2, &d) == 2 && year_ok(a, 4) && b >= 1 &&
				    b <= 12 && d >= 1 && d <= 31 && tok_end(t, n, j))
					return time_after(t, n, j);
			}
		}
		return 0;
	}
	if (na < 1 || na > 2 || j >= n)
		return 0;
	if (t[j] == '/' || t[j] == '.' || t[j] == '-') { /* d/m/y or m/d/y */
		unsigned sep = t[j++];
		if (digits(t, n, &j, 2, &b) < 1 || j >= n || t[j] != sep)
			return 0;
		j++;
		int ny = digits(t, n, &j, 4, &y);
		if (!(ny == 4 || (ny == 2 && sep == '/')) || !year_ok(y, ny) || !tok_end(t, n, j))
			return 0;
		if (a < 1 || b < 1 || a > 31 || b > 31 || (a > 12 && b > 12))
			return 0;
		return time_after(t, n, j);
	}
	/* "12 March 1980", "3rd of May, 1990" */
	if (a < 1 || a > 31)
		return 0;
	if (j + 1 < n && d_alpha(t[j]) && d_alpha(t[j + 1]) &&
	    (hr_d_ieq(t, n, j, "st") || hr_d_ieq(t, n, j, "nd") || hr_d_ieq(t, n, j, "rd") ||
	     hr_d_ieq(t, n, j, "th")))
		j += 2;
	if (j >= n || t[j] != ' ')
		return 0;
	j++;
	if (hr_d_ieq(t, n, j, "of "))
		j += 3;
	size_t me = month_at(t, n, j);
	if (!me)
		return 0;
	j = me;
	return year_tail(t, n, j);
}

/* "March 12, 1980" starting at a word. */
static size_t match_date_word(const unsigned char *t, size_t n, size_t i)
{
	size_t j = month_at(t, n, i);
	long d;
	if (!j || j >= n || t[j] != ' ')
		return 0;
	j++;
	if (digits(t, n, &j, 2, &d) < 1 || d < 1 || d > 31)
		return 0;
	if (j + 1 < n && (hr_d_ieq(t, n, j, "st") || hr_d_ieq(t, n, j, "nd") ||
	                  hr_d_ieq(t, n, j, "rd") || hr_d_ieq(t, n, j, "th")))
		j += 2;
	return year_tail(t, n, j);
}

/* ---- phone numbers ---- */

static const char *const phone_cues[] = {
    "phone",    "tel",     "call",     "fax",  "mobile",    "cell",      "sms",      "text me",
    "whatsapp", "contact", "reach",    "dial", "my number", "answering", "messages", "ring",
    "office",   "desk",    "landline", "home", "work",      "hotline",   NULL};

/* Phone numbers: an optional "+cc" or "00cc", then groups of digits separated by one space,
 * '-', '.', or an area code in parentheses (also the "(0)" trunk prefix), and an optional
 * extension ("x123", "ext. 123"). Accepted with 7-15 digits when the form shows it is a phone
 * number (a '+', parentheses, three or more groups) or, for one or two groups, when a phone
 * cue is near (the text says phone, call, fax, mobile, ...). */
static size_t match_phone(const unsigned char *t, size_t n, size_t i, bool cue)
{
	size_t j = i, last = 0;
	int nd = 0, groups = 0, dots = 0, short_groups = 0;
	bool plus = false, paren = false, all4 = true;
	if (t[j] == '+') {
		plus = true;
		j++;
		if (j >= n || !d_digit(t[j]))
			return 0;
	}
	while (j < n && j - i < CAND_MAX) {
		long v;
		size_t s = j;
		int k;
		if (t[j] == '(') {
			size_t q = j + 1;
			k = digits(t, n, &q, 4, &v);
			if (k < 1 || q >= n || t[q] != ')')
				break;
			paren = true;
			nd += k;
			groups++;
			j = q + 1;
			last = j;
			if (j < n && t[j] == ' ')
				j++;
			continue;
		}
		k = digits(t, n, &j, groups ? 8 : 15, &v);
		if (k == 0) {
			j = s;
			break;
		}
		if (j < n && d_digit(t[j]))
			return 0; /* a run longer than any phone group: some other number */
		nd += k;
		groups++;
		if (k < 2 && groups > 1 && !plus)
			short_groups++;
		if (k != 4 || v < 1900 || v > 2099)
			all4 = false;
		last = j;
		if (j + 1 < n && (t[j] == ' ' || t[j] == '-' || t[j] == '.') &&
		    (d_digit(t[j + 1]) || t[j + 1] == '(')) {
			dots += t[j] == '.';
			j++;
			continue;
		}
		break;
	}
	if (!last || nd < 7 || nd > 15 || short_groups)
		return 0;
	size_t end = last;
	/* extension */
	if (end + 1 < n && (t[end] == 'x' || t[end] == 'X') && d_digit(t[end + 1])) {
		size_t q = end + 1;
		digits(t, n, &q, 5, NULL);
		end = q;
	} else if (end + 5 < n && (hr_d_ieq(t, n, end, " ext. ") || hr_d_ieq(t, n, end, " ext "))) {
		size_t q = end + (t[end + 4] == '.' ? 6 : 5);
		if (digits(t, n, &q, 5, NULL) > 0)
			end = q;
	}
	if (end < n && (d_alpha(t[end]) || t[end] >= 0x80)) {
		/* "-Office" style labels are fine; a letter glued to the digits is not */
		return 0;
	}
	if (end + 1 < n && (t[end] == '.' || t[end] == '-' || t[end] == '/') && d_digit(t[end + 1]))
		return 0;
	if (all4 && groups > 1)
		return 0; /* "1977 2001": years */
	if (dots && groups < 3)
		return 0; /* "12.345678": a decimal */
	bool form = plus || paren || groups >= 3;
	if (!form && !cue)
		return 0;
	if (!plus && !paren && groups == 1 && nd > 12)
		return 0;
	return end;
}

/* Numbers that a nearby word says are something else than a phone number. */
static const char *const not_phone_cues[] = {
    "license", "licence",  "passport", "account", "order", "invoice", "policy",
    "serial",  "tracking", "routing",  "member",  "id ",   "isbn",    NULL};

static bool cue_near(const struct hr_dctx *c, size_t i, size_t e, const char *const *cues)
{
	size_t from = i > CUE_BACK ? i - CUE_BACK : 0;
	size_t to = e + CUE_AHEAD < c->n ? e + CUE_AHEAD : c->n;
	return hr_d_cue(c->t, from, i, cues) || hr_d_cue(c->t, e, to, cues);
}

void hr_detect_numbers(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n;
	for (size_t i = 0; i < n && !c->err;) {
		unsigned ch = t[i];
		bool start =
		    (d_digit(ch) || ((ch == '+' || ch == '(') && i + 1 < n && d_digit(t[i + 1]))) &&
		    tok_start(t, i);
		if (!start) {
			if (d_alpha(ch) && (i == 0 || !d_wordb(t[i - 1]))) {
				size_t e = match_date_word(t, n, i);
				if (e) {
					bool dob = cue_near(c, i, i, dob_cues);
					hr_dctx_add(c, i, e,
					            dob ? HR_PII_DATE_OF_BIRTH : HR_PII_DATE, 0);
					i = e;
					continue;
				}
			}
			i++;
			continue;
		}
		size_t e;
		if (d_digit(ch) && (e = match_ipv4(t, n, i))) {
			hr_dctx_add(c, i, e, HR_PII_IP, 0);
		} else if (d_digit(ch) && (e = match_date(t, n, i))) {
			bool dob = cue_near(c, i, i, dob_cues);
			hr_dctx_add(c, i, e, dob ? HR_PII_DATE_OF_BIRTH : HR_PII_DATE, 0);
		} else if (d_digit(ch) && (e = match_ssn(t, n, i, cue_near(c, i, i, ssn_cues)))) {
			hr_dctx_add(c, i, e, HR_PII_SSN, 0);
		} else if (d_digit(ch) && (e = match_card(t, n, i))) {
			hr_dctx_add(c, i, e, HR_PII_CARD, 0);
		} else {
			/* the cue windows are bounded, so this stays linear */
			e = match_phone(t, n, i, false);
			if (e && t[i] != '+' && t[i] != '(' &&
			    hr_d_cue(t, i > CUE_BACK ? i - CUE_BACK : 0, i, not_phone_cues) &&
			    !hr_d_cue(t, i > CUE_BACK ? i - CUE_BACK : 0, i, phone_cues))
				e = 0;
			else if (!e) {
				size_t e2 = match_phone(t, n, i, true);
				if (e2 && cue_near(c, i, e2, phone_cues))
					e = e2;
			}
			if (e)
				hr_dctx_add(c, i, e, HR_PII_PHONE, 0);
		}
		if (e) {
			i = e;
			continue;
		}
		/* skip the rest of this token */
		i++;
		while (i < n && (d_wordb(t[i])))
			i++;
	}
}

/* ---- IBAN ---- */

struct iban_cc {
	char cc[3];
	unsigned char len;
};

/* SWIFT IBAN registry: country and total length. */
static const struct iban_cc iban_ccs[] = {
    {"AD", 24}, {"AE", 23}, {"AL", 28}, {"AT", 20}, {"AZ", 28}, {"BA", 20}, {"BE", 16}, {"BG", 22},
    {"BH", 22}, {"BR", 29}, {"BY", 28}, {"CH", 21}, {"CR", 22}, {"CY", 28}, {"CZ", 24}, {"DE", 22},
    {"DK", 18}, {"DO", 28}, {"EE", 20}, {"EG", 29}, {"ES", 24}, {"FI", 18}, {"FO", 18}, {"FR", 27},
    {"GB", 22}, {"GE", 22}, {"GI", 23}, {"GL", 18}, {"GR", 27}, {"GT", 28}, {"HR", 21}, {"HU", 28},
    {"IE", 22}, {"IL", 23}, {"IQ", 23}, {"IS", 26}, {"IT", 27}, {"JO", 30}, {"KW", 30}, {"KZ", 20},
    {"LB", 28}, {"LC", 32}, {"LI", 21}, {"LT", 20}, {"LU", 20}, {"LV", 21}, {"MC", 27}, {"MD", 24},
    {"ME", 22}, {"MK", 19}, {"MR", 27}, {"MT", 31}, {"MU", 30}, {"NL", 18}, {"NO", 15}, {"PK", 24},
    {"PL", 28}, {"PS", 29}, {"PT", 25}, {"QA", 29}, {"RO", 24}, {"RS", 22}, {"SA", 24}, {"SC", 31},
    {"SE", 24}, {"SI", 19}, {"SK", 24}, {"SM", 27}, {"ST", 25}, {"SV", 28}, {"TL", 23}, {"TN", 24},
    {"TR", 26}, {"UA", 29}, {"VA", 22}, {"VG", 24}, {"XK", 20},
};

static int iban_len(unsigned a, unsigned b)
{
	a = d_upper(a) ? a : a - 32;
	b = d_upper(b) ? b : b - 32;
	for (size_t k = 0; k < sizeof iban_ccs / sizeof *iban_ccs; k++)
		if ((unsigned char)iban_ccs[k].cc[0] == a && (unsigned char)iban_ccs[k].cc[1] == b)
			return iban_ccs[k].len;
	return 0;
}

int hr_detect_iban_ok(const char *s, size_t n)
{
	char c[34];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned ch = (unsigned char)s[i];
		if (ch == ' ')
			continue;
		if (!d_alnum(ch) || k == sizeof c)
			return 0;
		c[k++] = (char)(d_lower(ch) ? ch - 32 : ch);
	}
	if (k < 15 || !d_upper((unsigned char)c[0]) || !d_upper((unsigned char)c[1]) ||
	    !d_digit((unsigned char)c[2]) || !d_digit((unsigned char)c[3]))
		return 0;
	if ((size_t)iban_len((unsigned char)c[0], (unsigned char)c[1]) != k)
		return 0;
	unsigned r = 0;
	for (size_t i = 0; i < k; i++) {
		unsigned ch = (unsigned char)c[(i + 4) % k];
		if (d_digit(ch))
			r = (r * 10 + (ch - '0')) % 97;
		else
			r = (r * 100 + (ch - 'A' + 10)) % 97;
	}
	return r == 1;
}

/* An IBAN at t[i]: two letters, two check digits, then the country's length of letters and
 * digits, optionally in groups of four separated by single spaces. */
static size_t match_iban(const unsigned char *t, size_t n, size_t i)
{
	if (i + 15 > n || !d_alpha(t[i]) || !d_alpha(t[i + 1]) || !d_digit(t[i + 2]) ||
	    !d_digit(t[i + 3]))
		return 0;
	int want = iban_len(t[i], t[i + 1]);
	if (!want)
		return 0;
	size_t j = i;
	int k = 0;
	while (j < n && k < want) {
		if (d_alnum(t[j])) {
			j++;
			k++;
		} else if (t[j] == ' ' && k % 4 == 0 && j + 1 < n && d_alnum(t[j + 1])) {
			j++;
		} else {
			break;
		}
	}
	if (k != want || (j < n && d_wordb(t[j])))
		return 0;
	return hr_detect_iban_ok((const char *)t + i, j - i) ? j : 0;
}

/* ---- EU national identifiers ---- */

/* Spanish DNI (8 digits + check letter) and NIE (X/Y/Z + 7 digits + check letter). */
static size_t match_dni(const unsigned char *t, size_t n, size_t i)
{
	static const char letters[] = "TRWAGMYFPDXBNJZSQVHLCKE";
	size_t j = i;
	long v = 0;
	unsigned first = d_lc(t[i]);
	if (first == 'x' || first == 'y' || first == 'z') {
		j++;
		if (digits(t, n, &j, 7, &v) != 7)
			return 0;
		v += (first - 'x') * 10000000L;
	} else if (digits(t, n, &j, 8, &v) != 8) {
		return 0;
	}
	if (j < n && t[j] == '-')
		j++;
	if (j >= n || !d_upper(t[j]) || (unsigned char)letters[v % 23] != t[j])
		return 0;
	j++;
	return j >= n || !d_wordb(t[j]) ? j : 0;
}

/* UK National Insurance number: AB 12 34 56 C (spaces optional), with HMRC's prefix rules. */
static size_t match_nino(const unsigned char *t, size_t n, size_t i)
{
	if (i + 9 > n || !d_upper(t[i]) || !d_upper(t[i + 1]))
		return 0;
	unsigned a = t[i], b = t[i + 1];
	if (strchr("DFIQUV", (int)a) || strchr("DFIOQUV", (int)b))
		return 0;
	static const char *const bad[] = {"BG", "GB", "NK", "KN", "TN", "NT", "ZZ"};
	for (size_t k = 0; k < 7; k++)
		if (bad[k][0] == (char)a && bad[k][1] == (char)b)
			return 0;
	size_t j = i + 2;
	bool sp = j < n && t[j] == ' ';
	for (int g = 0; g < 3; g++) {
		if (sp) {
			if (j >= n || t[j] != ' ')
				return 0;
			j++;
		}
		if (j + 2 > n || !d_digit(t[j]) || !d_digit(t[j + 1]))
			return 0;
		j += 2;
	}
	if (sp) {
		if (j >= n || t[j] != ' ')
			return 0;
		j++;
	}
	if (j >= n || t[j] < 'A' || t[j] > 'D')
		return 0;
	j++;
	return j >= n || !d_wordb(t[j]) ? j : 0;
}

/* ---- IPv6 ---- */

static size_t match_ipv6(const unsigned char *t, size_t n, size_t i)
{
	size_t j = i, end = 0;
	int groups = 0, dbl = 0, decimal = 0;
	if (j + 1 < n && t[j] == ':' && t[j + 1] == ':') {
		dbl = 1;
		j += 2;
		end = j;
	}
	while (j < n && groups < 8 && j - i < 45) {
		size_t s = j;
		while (j < n && j - s < 4 && d_hex(t[j])) {
			decimal += d_digit(t[j]);
			j++;
		}
		if (j == s)
			break;
		if (j < n && d_hex(t[j]))
			return 0; /* a group of five hex digits: not an address */
		groups++;
		end = j;
		if (j + 1 < n && t[j] == ':' && t[j + 1] == ':') {
			if (dbl)
				return 0;
			dbl = 1;
			j += 2;
			end = j;
		} else if (j + 1 < n && t[j] == ':' && d_hex(t[j + 1])) {
			j++;
		} else {
			break;
		}
	}
	if (!(groups == 8 && !dbl) && !(dbl && groups <= 7 && groups >= 1))
		return 0;
	if (!decimal || (end < n && (d_wordb(t[end]) || t[end] == ':')))
		return 0;
	return end;
}

void hr_detect_ids(struct hr_dctx *c)
{
	const unsigned char *t = c->t;
	size_t n = c->n;
	for (size_t i = 0; i < n && !c->err;) {
		if (i > 0 && (d_wordb(t[i - 1]) || t[i - 1] == ':')) {
			i++;
			continue;
		}
		size_t e = 0;
		if (d_alpha(t[i]) && (e = match_iban(t, n, i)))
			hr_dctx_add(c, i, e, HR_PII_IBAN, 0);
		else if (d_upper(t[i]) && (e = match_nino(t, n, i)))
			hr_dctx_add(c, i, e, HR_PII_NATIONAL_ID, 0);
		else if (d_alnum(t[i]) && (e = match_dni(t, n, i)))
			hr_dctx_add(c, i, e, HR_PII_NATIONAL_ID, 0);
		else if ((d_hex(t[i]) || t[i] == ':') && (e = match_ipv6(t, n, i)))
			hr_dctx_add(c, i, e, HR_PII_IP, 0);
		if (e) {
			i = e;
			continue;
		}
		i++;
	}
}
