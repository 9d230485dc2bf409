/* pii.h - the classes of personal and confidential data the data policy knows: the
 * detectors (governance/detect.h) find them, the config (policy.<class>) says what to do with
 * each. One list, so the two cannot disagree. */
#ifndef HR_PII_H
#define HR_PII_H

/* XX(name, label): the classes. label is the stable lowercase name used in config, logs and
 * placeholders ("[EMAIL_1]" uses the upper-case enum name). */
#define HR_PII_CLASS_MAP(XX)                                                                       \
	XX(EMAIL, "email")                                                                         \
	XX(PHONE, "phone")                                                                         \
	XX(CARD, "card")                                                                           \
	XX(IBAN, "iban")                                                                           \
	XX(SSN, "ssn")                                                                             \
	XX(NATIONAL_ID, "national_id")                                                             \
	XX(IP, "ip")                                                                               \
	XX(STREET_ADDRESS, "street_address")                                                       \
	XX(DATE_OF_BIRTH, "date_of_birth")                                                         \
	XX(DATE, "date")                                                                           \
	XX(SECRET, "secret")                                                                       \
	XX(PERSON, "person")                                                                       \
	XX(KEYWORD, "keyword")                                                                     \
	XX(PATTERN, "pattern")

enum hr_pii_class {
#define HR_PII_ENUM_(name, label) HR_PII_##name,
	HR_PII_CLASS_MAP(HR_PII_ENUM_)
#undef HR_PII_ENUM_
	    HR_PII__COUNT
};

#endif
