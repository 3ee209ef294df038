/* test-sasl-plain.c - RFC 4616 PLAIN message parsing: fields, separators, limits, UTF-8. */
#include "sasl/sasl-plain.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

/* Parse a message given with explicit length (it contains NULs). */
static int
parse(const char *msg, size_t len, struct sasl_plain **p_r, const char **error_r)
{
	*error_r = NULL;
	return sasl_plain_parse((const uint8_t *)msg, len, p_r, error_r);
}
#define PARSE(lit, p_r, error_r) parse((lit), sizeof(lit) - 1, (p_r), (error_r))

static void
test_sasl_plain_ok(void)
{
	struct sasl_plain *p;
	const char *error;

	T_INTEQ(PARSE("\0tim\0tanstaaftanstaaf", &p, &error), 1);
	T_STREQ(p->authzid, "");
	T_STREQ(p->authcid, "tim");
	T_STREQ(p->password, "tanstaaftanstaaf");
	sasl_plain_free(&p);
	T_ASSERT(p == NULL);

	/* RFC 4616 4 example with an authorization identity */
	T_INTEQ(PARSE("Ursel\0Kurt\0xipj3plmq", &p, &error), 1);
	T_STREQ(p->authzid, "Ursel");
	T_STREQ(p->authcid, "Kurt");
	T_STREQ(p->password, "xipj3plmq");
	sasl_plain_free(&p);

	/* passwords may hold spaces and any non-NUL UTF-8 */
	T_INTEQ(PARSE("\0j\xc3\xbcrgen\0 p\xe2\x82\xac ss \xf0\x9f\x93\xaf", &p, &error), 1);
	T_STREQ(p->authcid, "j\xc3\xbcrgen");
	T_STREQ(p->password, " p\xe2\x82\xac ss \xf0\x9f\x93\xaf");
	sasl_plain_free(&p);
	sasl_plain_free(&p); /* NULL is a no-op */
}

static void
test_sasl_plain_separators(void)
{
	struct sasl_plain *p = (struct sasl_plain *)&p;
	const char *error;

	T_INTEQ(parse("", 0, &p, &error), -1);
	T_ASSERT(p == NULL);
	T_STREQ(error, "missing NUL separator");
	T_INTEQ(PARSE("user password", &p, &error), -1);
	T_STREQ(error, "missing NUL separator");
	T_INTEQ(PARSE("\0userpassword", &p, &error), -1);
	T_STREQ(error, "missing NUL separator");
	T_INTEQ(PARSE("\0user\0pass\0word", &p, &error), -1);
	T_STREQ(error, "too many NUL separators");
	T_INTEQ(PARSE("\0user\0pass\0", &p, &error), -1);
	T_STREQ(error, "too many NUL separators");
	T_INTEQ(PARSE("\0\0password", &p, &error), -1);
	T_STREQ(error, "empty authentication identity");
	T_INTEQ(PARSE("\0user\0", &p, &error), -1);
	T_STREQ(error, "empty password");
	T_INTEQ(PARSE("\0\0", &p, &error), -1);
	T_STREQ(error, "empty authentication identity");
	T_ASSERT(p == NULL);
}

static void
test_sasl_plain_lengths(void)
{
	uint8_t msg[3 * 256 + 2];
	struct sasl_plain *p;
	const char *error;
	size_t o = 0;

	/* 255 octets in every field: accepted */
	memset(msg, 'a', sizeof(msg));
	o = 255;
	msg[o++] = '\0';
	o += 255;
	msg[o++] = '\0';
	o += 255;
	T_INTEQ(sasl_plain_parse(msg, o, &p, &error), 1);
	T_INTEQ(strlen(p->authzid), 255);
	T_INTEQ(strlen(p->authcid), 255);
	T_INTEQ(strlen(p->password), 255);
	sasl_plain_free(&p);
	/* 256 octet password */
	msg[o++] = 'a';
	T_INTEQ(sasl_plain_parse(msg, o, &p, &error), -1);
	T_STREQ(error, "password too long");
	/* 256 octet authzid */
	memset(msg, 'a', sizeof(msg));
	msg[256] = '\0';
	msg[258] = '\0';
	T_INTEQ(sasl_plain_parse(msg, 260, &p, &error), -1);
	T_STREQ(error, "authorization identity too long");
	/* 256 octet authcid */
	memset(msg, 'a', sizeof(msg));
	msg[0] = '\0';
	msg[257] = '\0';
	T_INTEQ(sasl_plain_parse(msg, 260, &p, &error), -1);
	T_STREQ(error, "authentication identity too long");
}

static void
test_sasl_plain_utf8(void)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *error;
	} cases[] = {
#define C(lit, err) { lit, sizeof(lit) - 1, err }
#define PW "password is not valid UTF-8"
		/* truncated sequence in the authentication identity */
		C("\0u\xc3\0p", "authentication identity is not valid UTF-8"),
		C("\0u\0p\xc0\xaf", PW),                /* overlong '/' */
		C("\0u\0p\xe0\x80\xaf", PW),            /* overlong */
		C("\0u\0p\xed\xa0\x80", PW),            /* surrogate */
		C("\0u\0p\xf4\x90\x80\x80", PW),        /* > U+10FFFF */
		C("\0u\0p\xf8\x88\x80\x80\x80", PW),    /* 5 bytes */
		C("\0u\0p\x80", PW),                    /* lone cont. */
		C("\0u\0p\xe2\x82", PW),                /* truncated */
		C("\0u\0p\xe2\x28\xa1", PW),            /* bad cont. */
		C("\xff\0u\0p", "authorization identity is not valid UTF-8"),
		C("\0u\0p\xef\xbf\xbf", NULL),          /* U+FFFF */
		C("\0u\0p\xf4\x8f\xbf\xbf", NULL),      /* U+10FFFF */
		C("\0u\0p\xed\x9f\xbf", NULL),          /* U+D7FF */
		C("\0u\0p\xee\x80\x80", NULL),          /* U+E000 */
		C("\0u\0p\xc2\x80", NULL),              /* U+0080 */
		C("\0u\0p\x7f\x01", NULL),              /* controls */
#undef PW
#undef C
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sasl_plain *p;
		const char *error = NULL;
		int ret = parse(cases[i].msg, cases[i].len, &p, &error);

		if (cases[i].error == NULL) {
			T_INTEQ(ret, 1);
			sasl_plain_free(&p);
		} else {
			T_INTEQ(ret, -1);
			T_STREQ(error, cases[i].error);
		}
	}
}

static const struct test tests[] = {
	TEST_ENTRY(test_sasl_plain_ok),
	TEST_ENTRY(test_sasl_plain_separators),
	TEST_ENTRY(test_sasl_plain_lengths),
	TEST_ENTRY(test_sasl_plain_utf8),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("sasl-plain", tests);
}
