/*
 * test-smtp-address.c - RFC 5321 path parsing and canonical formatting.
 *
 * The path parser works on a complete command line, so "any split" here means
 * every prefix: each prefix of every input is parsed from an exact-size heap
 * copy (so ASan sees any read past the end), and must never succeed with more
 * than it was given. Every accepted address must survive format -> parse.
 */
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-address.h"

#include <stdio.h>
#include <string.h>

#define ALL (SMTP_ADDRESS_ALLOW_NULL | SMTP_ADDRESS_ALLOW_POSTMASTER | SMTP_ADDRESS_ALLOW_UTF8)

static struct smtp_address_limits limits;

static int
parse(const char *in, unsigned flags, struct smtp_address *addr, size_t *used, const char **err)
{
	size_t len = strlen(in);
	uint8_t *copy = mem_memdup(in, len);
	int ret = smtp_address_parse_path(copy, len, flags, &limits, addr, used, err);

	mem_free(&copy);
	return ret;
}

/* Every prefix of in: no crash, no over-read, no success beyond its end. */
static void
check_prefixes(const char *in, unsigned flags)
{
	size_t len = strlen(in);

	for (size_t n = 0; n < len; n++) {
		uint8_t *copy = mem_memdup(in, n);
		struct smtp_address a;
		size_t used;
		const char *err;

		if (smtp_address_parse_path(copy, n, flags, &limits, &a, &used, &err) > 0) {
			T_ASSERT(used <= n);
			smtp_address_deinit(&a);
		}
		mem_free(&copy);
	}
}

/* Parse, compare, and check that formatting gives back an equal address. */
static void
check_ok(const char *in, unsigned flags, const char *localpart, const char *domain,
	 const char *canonical)
{
	struct smtp_address a, b;
	struct buf out;
	size_t used;
	const char *err = NULL;

	check_prefixes(in, flags);
	if (!T_INTEQ(parse(in, flags, &a, &used, &err), 1)) {
		T_STREQ(err, "(no error expected)");
		return;
	}
	T_INTEQ(used, strlen(in));
	T_STREQ(a.localpart, localpart);
	T_STREQ(a.domain, domain);
	buf_init(&out, 0);
	T_INTEQ(smtp_address_format_path(&a, &out), 0);
	T_STREQ(buf_cstr(&out), canonical);
	T_INTEQ(parse(buf_cstr(&out), flags, &b, &used, &err), 1);
	T_STREQ(b.localpart, a.localpart);
	T_STREQ(b.domain, a.domain);
	smtp_address_deinit(&a);
	smtp_address_deinit(&b);
	buf_deinit(&out);
}

static void
check_bad(const char *in, unsigned flags)
{
	struct smtp_address a;
	size_t used;
	const char *err = NULL;

	check_prefixes(in, flags);
	if (!T_INTEQ(parse(in, flags, &a, &used, &err), -1)) {
		fprintf(stderr, "  accepted: %s\n", in);
		smtp_address_deinit(&a);
		return;
	}
	T_ASSERT(err != NULL);
	T_ASSERT(a.localpart == NULL && a.domain == NULL);
}

static void
test_address_plain(void)
{
	check_ok("<user@example.com>", 0, "user", "example.com", "<user@example.com>");
	check_ok("<User.Name+tag@Mail.Example.COM>", 0, "User.Name+tag", "Mail.Example.COM",
		 "<User.Name+tag@Mail.Example.COM>");
	check_ok("<!#$%&'*+-/=?^_`{|}~@x.org>", 0, "!#$%&'*+-/=?^_`{|}~", "x.org",
		 "<!#$%&'*+-/=?^_`{|}~@x.org>");
	check_ok("<a@b>", 0, "a", "b", "<a@b>");
	check_ok("<a@1-2.x-y.z9>", 0, "a", "1-2.x-y.z9", "<a@1-2.x-y.z9>");
}

static void
test_address_quoted(void)
{
	check_ok("<\"john doe\"@example.com>", 0, "john doe", "example.com",
		 "<\"john doe\"@example.com>");
	check_ok("<\"a\\\"b\\\\c\"@x.org>", 0, "a\"b\\c", "x.org", "<\"a\\\"b\\\\c\"@x.org>");
	/* canonical form drops needless quotes and escapes */
	check_ok("<\"abc\"@x.org>", 0, "abc", "x.org", "<abc@x.org>");
	check_ok("<\"\\a\\b\"@x.org>", 0, "ab", "x.org", "<ab@x.org>");
	check_ok("<\"\"@x.org>", 0, "", "x.org", "<\"\"@x.org>");
	check_ok("<\"a..b\"@x.org>", 0, "a..b", "x.org", "<\"a..b\"@x.org>");
	check_ok("<\".a\"@x.org>", 0, ".a", "x.org", "<\".a\"@x.org>");
	check_bad("<\"abc@x.org>", 0);
	check_bad("<\"a\tb\"@x.org>", 0);
	check_bad("<\"a\\\x01\"@x.org>", 0);
	check_bad("<\"a\"b@x.org>", 0);
}

static void
test_address_special_paths(void)
{
	struct smtp_address a;
	size_t used;
	const char *err;

	check_ok("<>", SMTP_ADDRESS_ALLOW_NULL, "", NULL, "<>");
	check_bad("<>", SMTP_ADDRESS_ALLOW_POSTMASTER);
	T_INTEQ(parse("<>", ALL, &a, &used, &err), 1);
	T_ASSERT(smtp_address_is_null(&a));
	T_ASSERT(!smtp_address_is_postmaster(&a));
	smtp_address_deinit(&a);

	check_ok("<Postmaster>", SMTP_ADDRESS_ALLOW_POSTMASTER, "Postmaster", NULL,
		 "<Postmaster>");
	check_ok("<pOSTMASTER>", SMTP_ADDRESS_ALLOW_POSTMASTER, "pOSTMASTER", NULL,
		 "<pOSTMASTER>");
	check_bad("<Postmaster>", SMTP_ADDRESS_ALLOW_NULL);
	check_bad("<Postmasters>", SMTP_ADDRESS_ALLOW_POSTMASTER);
	T_INTEQ(parse("<postmaster>", ALL, &a, &used, &err), 1);
	T_ASSERT(smtp_address_is_postmaster(&a));
	smtp_address_deinit(&a);
	check_ok("<postmaster@example.com>", SMTP_ADDRESS_ALLOW_POSTMASTER, "postmaster",
		 "example.com", "<postmaster@example.com>");
}

static void
test_address_source_route(void)
{
	check_ok("<@a.example:user@c.example>", 0, "user", "c.example", "<user@c.example>");
	check_ok("<@a.example,@b.example:user@c.example>", 0, "user", "c.example",
		 "<user@c.example>");
	check_bad("<@a.example user@c.example>", 0);
	check_bad("<@a.example,b.example:user@c.example>", 0);
	check_bad("<@:user@c.example>", 0);
	check_bad("<@a.example,:user@c.example>", 0);
}

static void
test_address_literals(void)
{
	struct smtp_address a;
	size_t used;
	const char *err;

	check_ok("<user@[192.0.2.1]>", 0, "user", "[192.0.2.1]", "<user@[192.0.2.1]>");
	check_ok("<user@[001.0.2.255]>", 0, "user", "[001.0.2.255]", "<user@[001.0.2.255]>");
	check_ok("<user@[IPv6:2001:db8::1]>", 0, "user", "[IPv6:2001:db8::1]",
		 "<user@[IPv6:2001:db8::1]>");
	check_ok("<user@[ipv6:::ffff:192.0.2.1]>", 0, "user", "[ipv6:::ffff:192.0.2.1]",
		 "<user@[ipv6:::ffff:192.0.2.1]>");
	T_INTEQ(parse("<user@[192.0.2.1]>", 0, &a, &used, &err), 1);
	T_ASSERT(a.literal);
	smtp_address_deinit(&a);
	check_bad("<user@[192.0.2.256]>", 0);
	check_bad("<user@[192.0.2]>", 0);
	check_bad("<user@[192.0.2.1.5]>", 0);
	check_bad("<user@[1922.0.2.1]>", 0);
	check_bad("<user@[]>", 0);
	check_bad("<user@[IPv6:]>", 0);
	check_bad("<user@[IPv6:2001:db8::g]>", 0);
	check_bad("<user@[IPv6:1:2:3:4:5:6:7:8:9]>", 0);
	check_bad("<user@[x-tag:something]>", 0);
	check_bad("<user@[192.0.2.1>", 0);
	check_bad("<user@[192.0.2.1]x>", 0);
}

static void
test_address_syntax_errors(void)
{
	static const char *const bad[] = {
		"", "<", ">", "user@example.com", "<user@example.com", "<user>", "<@example.com>",
		"<user@>", "<.user@x>", "<user.@x>", "<us..er@x>", "<user@-x.com>",
		"<user@x-.com>", "<user@x..com>", "<user@x.com.>", "<user@.x.com>",
		"<us er@x>", "<user@exa mple.com>", "<user@x_y.com>", "<user@@x>",
		"<u\x01@x>", "<u@x\x7f>", "<u(c)@x>", "< user@x>", "<user@x >",
	};
	struct smtp_address a;
	size_t used;
	const char *err;

	for (size_t i = 0; i < N_ELEMENTS(bad); i++)
		check_bad(bad[i], ALL & ~SMTP_ADDRESS_ALLOW_POSTMASTER);
	/* what follows the '>' is the caller's business */
	T_INTEQ(parse("<a@b.c> SIZE=100", 0, &a, &used, &err), 1);
	T_INTEQ(used, 7);
	smtp_address_deinit(&a);
	/* an embedded NUL is not a terminator */
	{
		static const uint8_t nul[] = "<a\0b@x>";
		T_INTEQ(smtp_address_parse_path(nul, sizeof(nul) - 1, ALL, &limits, &a, &used,
						&err), -1);
	}
}

static void
test_address_utf8(void)
{
	struct smtp_address a;
	size_t used;
	const char *err;

	check_ok("<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>",
		 SMTP_ADDRESS_ALLOW_UTF8, "\xe7\x94\xa8\xe6\x88\xb7",
		 "\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a",
		 "<\xe7\x94\xa8\xe6\x88\xb7@\xe4\xbe\x8b\xe5\xad\x90.\xe5\xb9\xbf\xe5\x91\x8a>");
	check_ok("<\"j\xc3\xb6rg m\"@example.com>", SMTP_ADDRESS_ALLOW_UTF8, "j\xc3\xb6rg m",
		 "example.com", "<\"j\xc3\xb6rg m\"@example.com>");
	check_ok("<\xf0\x9f\x93\xa7@x.org>", SMTP_ADDRESS_ALLOW_UTF8, "\xf0\x9f\x93\xa7",
		 "x.org", "<\xf0\x9f\x93\xa7@x.org>");
	T_INTEQ(parse("<j\xc3\xb6rg@example.com>", SMTP_ADDRESS_ALLOW_UTF8, &a, &used, &err), 1);
	T_ASSERT(a.utf8);
	smtp_address_deinit(&a);
	T_INTEQ(parse("<jorg@example.com>", SMTP_ADDRESS_ALLOW_UTF8, &a, &used, &err), 1);
	T_ASSERT(!a.utf8);
	smtp_address_deinit(&a);
	/* not allowed without the flag */
	check_bad("<j\xc3\xb6rg@example.com>", 0);
	check_bad("<jorg@ex\xc3\xa4mple.com>", 0);
	/* malformed: invalid continuation, overlong, surrogate, > U+10FFFF,
	 * truncated, lone continuation, 0xff */
	check_bad("<\xc3\x28@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<\xc0\xaf@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<\xe0\x80\xaf@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<\xed\xa0\x80@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<\xf4\x90\x80\x80@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<\xe2\x82@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<a\x80@x>", SMTP_ADDRESS_ALLOW_UTF8);
	check_bad("<a@x\xff>", SMTP_ADDRESS_ALLOW_UTF8);
}

static void
test_address_utf8_sequences(void)
{
	static const struct {
		const char *s;
		size_t len;
	} cases[] = {
		{ "\xc2\x80", 2 }, { "\xdf\xbf", 2 }, { "\xe0\xa0\x80", 3 }, { "\xed\x9f\xbf", 3 },
		{ "\xee\x80\x80", 3 }, { "\xf0\x90\x80\x80", 4 }, { "\xf4\x8f\xbf\xbf", 4 },
		{ "\xc1\xbf", 0 }, { "\xe0\x9f\xbf", 0 }, { "\xed\xa0\x80", 0 },
		{ "\xf0\x8f\xbf\xbf", 0 }, { "\xf5\x80\x80\x80", 0 }, { "\x80", 0 },
		{ "\xc2", 0 }, { "\xf0\x90\x80", 0 }, { "\xe1\x80\xc0", 0 },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		const uint8_t *p = (const uint8_t *)cases[i].s;

		T_INTEQ(smtp_utf8_sequence_len(p, p + strlen(cases[i].s)), cases[i].len);
	}
}

static char *
repeat(char c, size_t n)
{
	char *s = mem_alloc(n + 1);

	memset(s, c, n);
	s[n] = '\0';
	return s;
}

static void
test_address_limits(void)
{
	struct buf in;
	char *lp64 = repeat('a', 64), *lp65 = repeat('a', 65), *label63 = repeat('b', 63);
	char *label64 = repeat('b', 64);

	buf_init(&in, 0);
	buf_printf(&in, "<%s@x.org>", lp64);
	check_ok(buf_cstr(&in), 0, lp64, "x.org", buf_cstr(&in));
	buf_reset(&in);
	buf_printf(&in, "<%s@x.org>", lp65);
	check_bad(buf_cstr(&in), 0);
	/* the limit counts the quotes as sent */
	buf_reset(&in);
	buf_printf(&in, "<\"%s\"@x.org>", lp64);
	check_bad(buf_cstr(&in), 0);
	buf_reset(&in);
	buf_printf(&in, "<a@%s.org>", label63);
	{
		char *domain = mem_strndup(buf_cstr(&in) + 3, buf_len(&in) - 4);

		check_ok(buf_cstr(&in), 0, "a", domain, buf_cstr(&in));
		mem_free(&domain);
	}
	buf_reset(&in);
	buf_printf(&in, "<a@%s.org>", label64);
	check_bad(buf_cstr(&in), 0);
	buf_deinit(&in);
	mem_free(&lp64);
	mem_free(&lp65);
	mem_free(&label63);
	mem_free(&label64);
}

static void
test_address_path_limit(void)
{
	struct smtp_address a;
	size_t used;
	const char *err;
	struct buf in;

	/* "<" + 64 + "@" + 63 "." 63 "." 59 + ">" = 1 + 64 + 1 + 187 + 1 = 254 */
	buf_init(&in, 0);
	buf_append_byte(&in, '<');
	for (int i = 0; i < 64; i++)
		buf_append_byte(&in, 'l');
	buf_append_byte(&in, '@');
	for (int part = 0; part < 3; part++) {
		int n = part < 2 ? 63 : 59;

		if (part > 0)
			buf_append_byte(&in, '.');
		for (int i = 0; i < n; i++)
			buf_append_byte(&in, 'd');
	}
	buf_append_str(&in, "dd>");
	T_INTEQ(buf_len(&in), 256);
	T_INTEQ(parse(buf_cstr(&in), 0, &a, &used, &err), 1);
	smtp_address_deinit(&a);
	buf_truncate(&in, buf_len(&in) - 1);
	buf_append_str(&in, "d>");
	T_INTEQ(buf_len(&in), 257);
	T_INTEQ(parse(buf_cstr(&in), 0, &a, &used, &err), -1);
	/* a domain over max_domain, even in a larger path limit */
	limits.max_path = 1000;
	buf_reset(&in);
	buf_append_str(&in, "<a@");
	for (int part = 0; part < 5; part++) {
		/* 5 labels of 52 and 4 dots: 264 octets */
		if (part > 0)
			buf_append_byte(&in, '.');
		buf_append_str(&in, "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz");
	}
	buf_append_byte(&in, '>');
	T_INTEQ(parse(buf_cstr(&in), 0, &a, &used, &err), -1);
	smtp_address_limits_init_default(&limits);
	buf_deinit(&in);
}

static void
test_address_mailbox(void)
{
	struct smtp_address a;
	const char *err;
	struct buf out;

	T_INTEQ(smtp_address_parse_mailbox((const uint8_t *)"x.y@z.org", 9, 0, &limits, &a, &err),
		1);
	T_STREQ(a.localpart, "x.y");
	T_STREQ(a.domain, "z.org");
	buf_init(&out, 0);
	T_INTEQ(smtp_address_format(&a, &out), 0);
	T_STREQ(buf_cstr(&out), "x.y@z.org");
	smtp_address_deinit(&a);
	T_INTEQ(smtp_address_parse_mailbox((const uint8_t *)"x.y@z.org>", 10, 0, &limits, &a,
					   &err), -1);
	T_INTEQ(smtp_address_parse_mailbox((const uint8_t *)"<x@z>", 5, 0, &limits, &a, &err), -1);
	/* a full buffer leaves out unchanged */
	buf_deinit(&out);
	buf_init(&out, 4);
	T_INTEQ(smtp_address_parse_mailbox((const uint8_t *)"x.y@z.org", 9, 0, &limits, &a, &err),
		1);
	T_INTEQ(smtp_address_format(&a, &out), -1);
	T_INTEQ(buf_len(&out), 0);
	smtp_address_deinit(&a);
	buf_deinit(&out);
}

static void
test_address_copy(void)
{
	struct smtp_address a, b;
	size_t used;
	const char *err;

	T_INTEQ(parse("<a@[192.0.2.1]>", 0, &a, &used, &err), 1);
	smtp_address_copy(&b, &a);
	smtp_address_deinit(&a);
	T_STREQ(b.localpart, "a");
	T_STREQ(b.domain, "[192.0.2.1]");
	T_ASSERT(b.literal);
	smtp_address_deinit(&b);
	smtp_address_deinit(&b);        /* safe twice */
}

static const struct test tests[] = {
	TEST_ENTRY(test_address_plain),
	TEST_ENTRY(test_address_quoted),
	TEST_ENTRY(test_address_special_paths),
	TEST_ENTRY(test_address_source_route),
	TEST_ENTRY(test_address_literals),
	TEST_ENTRY(test_address_syntax_errors),
	TEST_ENTRY(test_address_utf8),
	TEST_ENTRY(test_address_utf8_sequences),
	TEST_ENTRY(test_address_limits),
	TEST_ENTRY(test_address_path_limit),
	TEST_ENTRY(test_address_mailbox),
	TEST_ENTRY(test_address_copy),
	{ NULL, NULL },
};

int
main(void)
{
	smtp_address_limits_init_default(&limits);
	return test_main("smtp-address", tests);
}
