/* pii_eval.c - measures the data-policy detectors (src/governance/detect.h) on the Presidio
 * synthetic PII set: precision, recall and F1 per entity type and micro-averaged.
 *
 * Usage: pii_eval FILE [--json] [--split all|dev|test] [--errors TYPE]
 * Splits: text i (0-based) is in "test" when i % 5 == 4 (held out; never looked at while
 * tuning), else in "dev". Without --split both are printed, then all.
 * Matching: the dataset's types map to hearth's classes (EMAIL_ADDRESS->email,
 * PHONE_NUMBER->phone, CREDIT_CARD->card, IBAN_CODE->iban, US_SSN->ssn, IP_ADDRESS->ip,
 * STREET_ADDRESS->street_address, PERSON->person, DATE_TIME->date or date_of_birth); the
 * other types (GPE, ORGANIZATION, TITLE, AGE, NRP, ZIP_CODE, DOMAIN_NAME, US_DRIVER_LICENSE)
 * are not classes of hearth and are not scored. A gold span counts as found when a predicted
 * span of its class overlaps it by at least one character; a predicted span counts as
 * correct when it overlaps a gold span of its class. Positions are code points in the file
 * and bytes in hearth: the program converts. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/err.h"
#include "governance/detect.h"

enum { T_EMAIL, T_PHONE, T_CARD, T_IBAN, T_SSN, T_IP, T_ADDR, T_PERSON, T_DATE, T__N };
static const char *const tnames[T__N] = {"EMAIL_ADDRESS",  "PHONE_NUMBER", "CREDIT_CARD",
                                         "IBAN_CODE",      "US_SSN",       "IP_ADDRESS",
                                         "STREET_ADDRESS", "PERSON",       "DATE_TIME"};

static int type_of_gold(const char *s)
{
	for (int i = 0; i < T__N; i++)
		if (strcmp(s, tnames[i]) == 0)
			return i;
	return -1;
}

static int type_of_pred(int cls)
{
	switch (cls) {
	case HR_PII_EMAIL: return T_EMAIL;
	case HR_PII_PHONE: return T_PHONE;
	case HR_PII_CARD: return T_CARD;
	case HR_PII_IBAN: return T_IBAN;
	case HR_PII_SSN: return T_SSN;
	case HR_PII_IP: return T_IP;
	case HR_PII_STREET_ADDRESS: return T_ADDR;
	case HR_PII_PERSON: return T_PERSON;
	case HR_PII_DATE:
	case HR_PII_DATE_OF_BIRTH: return T_DATE;
	default: return -1;
	}
}

struct count {
	long gold, found, pred, correct;
};

struct gspan {
	size_t s, e;
	int type;
};

/* Byte offset of code point cp in the UTF-8 text t. */
static size_t cp_to_byte(const char *t, size_t n, size_t cp)
{
	size_t b = 0, k = 0;
	while (b < n && k < cp) {
		b++;
		while (b < n && ((unsigned char)t[b] & 0xc0) == 0x80)
			b++;
		k++;
	}
	return b;
}

static const char *err_type;
static int split_of(size_t i)
{
	return i % 5 == 4 ? 1 : 0;
}

static void print_table(const char *title, const struct count *c, int json, int last)
{
	struct count m = {0};
	if (json)
		printf("  \"%s\": {", title);
	else
		printf("\n%s\n%-15s %6s %6s %9s %7s %6s\n", title, "type", "gold", "pred",
		       "precision", "recall", "F1");
	for (int t = 0; t <= T__N; t++) {
		struct count x = t < T__N ? c[t] : m;
		if (t < T__N) {
			m.gold += x.gold;
			m.found += x.found;
			m.pred += x.pred;
			m.correct += x.correct;
		}
		double p = x.pred ? (double)x.correct / (double)x.pred : 0;
		double r = x.gold ? (double)x.found / (double)x.gold : 0;
		double f = p + r > 0 ? 2 * p * r / (p + r) : 0;
		const char *name = t < T__N ? tnames[t] : "micro";
		if (json)
			printf("%s\"%s\": {\"gold\": %ld, \"pred\": %ld, \"precision\": %.3f, "
			       "\"recall\": %.3f, \"f1\": %.3f}",
			       t ? ", " : "", name, x.gold, x.pred, p, r, f);
		else
			printf("%-15s %6ld %6ld %9.3f %7.3f %6.3f\n", name, x.gold, x.pred, p, r, f);
	}
	if (json)
		printf("}%s\n", last ? "" : ",");
	else
		printf("(Presidio's own notebook on this set: precision 0.685, recall 0.603)\n");
}

int main(int argc, char **argv)
{
	const char *file = NULL, *only = NULL;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else if (strcmp(argv[i], "--split") == 0 && i + 1 < argc)
			only = argv[++i];
		else if (strcmp(argv[i], "--errors") == 0 && i + 1 < argc)
			err_type = argv[++i];
		else
			file = argv[i];
	}
	if (!file) {
		fprintf(stderr, "usage: pii_eval FILE [--json] [--split all|dev|test] [--errors TYPE]\n");
		return 2;
	}
	json_error_t jerr;
	json_t *root = json_load_file(file, 0, &jerr);
	if (!root) {
		printf("pii_eval: skipped: cannot read %s (%s); the set lives in ../shared/data\n",
		       file, jerr.text);
		return 0;
	}
	struct count cnt[2][T__N] = {{{0}}};
	static struct hr_span spans[4096];
	size_t idx;
	json_t *item;
	json_array_foreach(root, idx, item)
	{
		const char *text = json_string_value(json_object_get(item, "full_text"));
		if (!text)
			continue;
		size_t n = strlen(text);
		int sp = split_of(idx);
		struct hr_spans out = {spans, 0, sizeof spans / sizeof *spans};
		int rc = hr_detect(text, n, NULL, &out);
		if (rc) {
			fprintf(stderr, "text %zu: %s\n", idx, hr_err_name(rc));
			return 1;
		}
		struct gspan g[64];
		size_t ng = 0;
		size_t k;
		json_t *s;
		json_array_foreach(json_object_get(item, "spans"), k, s)
		{
			int ty = type_of_gold(json_string_value(json_object_get(s, "entity_type")));
			if (ty < 0 || ng == 64)
				continue;
			size_t a = (size_t)json_integer_value(json_object_get(s, "start_position"));
			size_t b = (size_t)json_integer_value(json_object_get(s, "end_position"));
			g[ng++] = (struct gspan){cp_to_byte(text, n, a), cp_to_byte(text, n, b), ty};
		}
		for (size_t i = 0; i < ng; i++) {
			cnt[sp][g[i].type].gold++;
			int hit = 0;
			for (size_t j = 0; j < out.n && !hit; j++)
				hit = type_of_pred(spans[j].cls) == g[i].type && spans[j].start < g[i].e &&
				      g[i].s < spans[j].end;
			cnt[sp][g[i].type].found += hit;
			if (!hit && err_type && sp == 0 && strcmp(err_type, tnames[g[i].type]) == 0)
				fprintf(stderr, "FN %zu [%.*s] in: %s\n", idx, (int)(g[i].e - g[i].s),
				        text + g[i].s, text);
		}
		for (size_t j = 0; j < out.n; j++) {
			int ty = type_of_pred(spans[j].cls);
			if (ty < 0)
				continue;
			cnt[sp][ty].pred++;
			int hit = 0;
			for (size_t i = 0; i < ng && !hit; i++)
				hit = g[i].type == ty && spans[j].start < g[i].e && g[i].s < spans[j].end;
			cnt[sp][ty].correct += hit;
			if (!hit && err_type && sp == 0 && strcmp(err_type, tnames[ty]) == 0)
				fprintf(stderr, "FP %zu [%.*s] in: %s\n", idx,
				        (int)(spans[j].end - spans[j].start), text + spans[j].start, text);
		}
	}
	struct count all[T__N];
	for (int t = 0; t < T__N; t++)
		all[t] = (struct count){cnt[0][t].gold + cnt[1][t].gold, cnt[0][t].found + cnt[1][t].found,
		                        cnt[0][t].pred + cnt[1][t].pred,
		                        cnt[0][t].correct + cnt[1][t].correct};
	if (json)
		printf("{\n");
	if (!only || strcmp(only, "dev") == 0)
		print_table("dev (texts i % 5 != 4)", cnt[0], json, only != NULL);
	if (!only || strcmp(only, "test") == 0)
		print_table("test (texts i % 5 == 4, held out)", cnt[1], json, only != NULL);
	if (!only || strcmp(only, "all") == 0)
		print_table("all", all, json, 1);
	if (json)
		printf("}\n");
	json_decref(root);
	return 0;
}
