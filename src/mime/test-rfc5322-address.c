/*
 * test-rfc5322-address.c - the address-list parser and canonical format.
 *
 * Each value is parsed and described as text; an error shows as "! text",
 * a source route as "<@r:a@b>", a comment kept for the name as "#text#".
 * Values without line breaks or a quoted-pair before a space are parsed
 * again with every space made a fold (CRLF SP, then LF SP): the result must
 * not change (RFC 5322 2.2.3: a fold is invisible, its WSP stays). The
 * RFC 5322 Appendix A address fields, split at every point, are in
 * test-rfc5322.c, which runs them through the header parser.
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/rfc5322-address.h"

#include <stdio.h>
#include <string.h>

static struct rfc5322_address_limits limits;

static void
describe(const uint8_t *value, size_t len, const struct rfc5322_address_limits *l,
	 enum rfc5322_address_mode mode, struct buf *out)
{
	struct rfc5322_address_list list;
	const char *err = NULL;

	buf_reset(out);
	if (rfc5322_address_list_parse(value, len, l, mode, &list, &err) < 0) {
		T_ASSERT(list.count == 0 && list.addrs == NULL);
		buf_printf(out, "! %s", err);
		return;
	}
	for (unsigned i = 0; i < list.count; i++) {
		const struct rfc5322_address *a = &list.addrs[i];

		if (i > 0)
			buf_append_str(out, ", ");
		if (a->group != 0)
			buf_printf(out, "[g%u:%s] ", a->group, a->group_name);
		if (a->local_part == NULL) {
			T_ASSERT(a->domain == NULL && a->display_name == NULL && a->group != 0);
			buf_append_str(out, "empty");
			continue;
		}
		if (a->display_name != NULL)
			buf_printf(out, "\"%s\" ", a->display_name);
		buf_append_byte(out, '<');
		if (a->route != NULL)
			buf_printf(out, "%s:", a->route);
		T_INTEQ(rfc5322_address_format(a, out), 0);
		buf_append_byte(out, '>');
		if (a->comment != NULL) {
			T_ASSERT(a->display_name == NULL);
			buf_printf(out, " #%s#", a->comment);
		}
		if (a->domain_literal)
			buf_append_str(out, " literal");
		if (a->utf8)
			buf_append_str(out, " utf8");
	}
	rfc5322_address_list_deinit(&list);
}

/* value with every space replaced by `fold` */
static void
refold(const char *value, const char *fold, struct buf *out)
{
	buf_reset(out);
	for (const char *p = value; *p != '\0'; p++) {
		if (*p == ' ')
			buf_append_str(out, fold);
		else
			buf_append_byte(out, (uint8_t)*p);
	}
}

static void
check_mode(const char *value, enum rfc5322_address_mode mode, const char *expected)
{
	struct buf out, folded;

	buf_init(&out, 0);
	buf_init(&folded, 0);
	describe((const uint8_t *)value, strlen(value), &limits, mode, &out);
	if (!T_STREQ(buf_cstr(&out), expected))
		fprintf(stderr, "  value: %s\n", value);
	if (strstr(value, "\\ ") == NULL && strchr(value, ' ') != NULL &&
	    strpbrk(value, "\r\n") == NULL) {
		static const char *const folds[] = { "\r\n ", "\n " };

		for (size_t i = 0; i < N_ELEMENTS(folds); i++) {
			refold(value, folds[i], &folded);
			describe(buf_data(&folded), buf_len(&folded), &limits, mode, &out);
			if (!T_STREQ(buf_cstr(&out), expected))
				fprintf(stderr, "  folded value: %s\n", buf_cstr(&folded));
		}
	}
	buf_deinit(&out);
	buf_deinit(&folded);
}

static void
check(const char *value, const char *expected)
{
	check_mode(value, RFC5322_ADDRESS_LIST, expected);
}

static void
test_simple(void)
{
	check("a@b", "<a@b>");
	check("  a@b  ", "<a@b>");
	check("<a@b>", "<a@b>");
	check(" < a@b > ", "<a@b>");
	check("John Doe <jdoe@example.com>", "\"John Doe\" <jdoe@example.com>");
	check("John Doe<jdoe@example.com>", "\"John Doe\" <jdoe@example.com>");
	check("\"Doe, John\" <jdoe@example.com>", "\"Doe, John\" <jdoe@example.com>");
	check("a@b, c@d", "<a@b>, <c@d>");
	check("a@b,c@d,Someone <e@f>", "<a@b>, <c@d>, \"Someone\" <e@f>");
	check("first.last+tag@sub.example.org", "<first.last+tag@sub.example.org>");
	check("!#$%&'*+-/=?^_`{|}~@example.org", "<!#$%&'*+-/=?^_`{|}~@example.org>");
	/* the domain is lower-cased in the canonical form, the local part is not */
	check("Joe.Smith@Example.COM", "<Joe.Smith@example.com>");
	/* empty values (Bcc:, RFC 5322 3.6.3) */
	check("", "");
	check("   ", "");
	check("(nobody)", "");
	check("\r\n ", "");
}

static void
test_display_names(void)
{
	/* runs of white space and comments become one space */
	check("John   Doe <a@b>", "\"John Doe\" <a@b>");
	check("John (middle) Doe <a@b>", "\"John Doe\" <a@b>");
	check("(c1) Joe (c2) <a@b> (c3)", "\"Joe\" <a@b>");
	/* quoted strings decoded; adjacent words without space stay together */
	check("\"Giant; \\\"Big\\\" Box\" <s@e>", "\"Giant; \"Big\" Box\" <s@e>");
	check("\"a\\\\b\" <x@y>", "\"a\\b\" <x@y>");
	check("\"Joe\"Smith <a@b>", "\"JoeSmith\" <a@b>");
	check("\"Joe\" Smith <a@b>", "\"Joe Smith\" <a@b>");
	check("\"\" <a@b>", "\"\" <a@b>");
	check("\"  spaced  \" <a@b>", "\"  spaced  \" <a@b>");
	/* obs-phrase: "." in a display name (RFC 5322 4.1) */
	check("Joe Q. Public <a@b>", "\"Joe Q. Public\" <a@b>");
	check("Joe. <a@b>", "\"Joe.\" <a@b>");
	check(".Joe <a@b>", "! Invalid display name");
	/* encoded words are left as they are (RFC 2047 is not decoded here) */
	check("=?utf-8?Q?J=C3=B6rg?= <j@x>", "\"=?utf-8?Q?J=C3=B6rg?=\" <j@x>");
	check("=?ISO-8859-1?Q?Andr=E9?= Pirard <PIRARD@vm1.ulg.ac.be>",
	      "\"=?ISO-8859-1?Q?Andr=E9?= Pirard\" <PIRARD@vm1.ulg.ac.be>");
	/* a display name with an unquoted special is not allowed */
	check("a@b <a@b>", "! Expected , between addresses");
	check("Smith, John <a@b>", "! Missing @domain in address");
	check("Who? <one@y.test>", "\"Who?\" <one@y.test>");
}

static void
test_local_parts(void)
{
	/* quoted local parts: quotes dropped when not needed */
	check("\"john\"@example.com", "<john@example.com>");
	check("\"john doe\"@example.com", "<\"john doe\"@example.com>");
	check("\"a\\\"b\"@c", "<\"a\\\"b\"@c>");
	check("\"a\\\\b\"@c", "<\"a\\\\b\"@c>");
	check("\"\"@example.com", "<\"\"@example.com>");
	check("\"a..b\"@c", "<\"a..b\"@c>");
	check("\"@\"@c", "<\"@\"@c>");
	/* obs-local-part: words mixed, CFWS around the dots (RFC 5322 4.4) */
	check("\"a\".b@c", "<a.b@c>");
	check("\"a b\".c@d", "<\"a b.c\"@d>");
	check("a . b@c", "<a.b@c>");
	check("a(x).(y)b@c", "<a.b@c>");
	check("a..b@c", "! Invalid local part");
	check(".a@b", "! Invalid local part");
	check("a.@b", "! Invalid local part");
	check("a b@c", "! Missing @domain in address");
	check("@b", "! Invalid local part");
}

static void
test_domains(void)
{
	check("a@b.c.d", "<a@b.c.d>");
	check("a@ b . c ", "<a@b.c>");
	check("jdoe@test  . example", "<jdoe@test.example>");
	check("a@(x)b(y).(z)c(w)", "<a@b.c> #w#");
	check("a@[192.0.2.1]", "<a@[192.0.2.1]> literal");
	check("a@[ IPv6:2001:DB8::1 ]", "<a@[IPv6:2001:DB8::1]> literal");
	check("a@[\\[x]", "<a@[\\[x]> literal");
	check("a@[a\\ b]", "<a@[a\\ b]> literal");
	check("Name <a@[192.0.2.1]>", "\"Name\" <a@[192.0.2.1]> literal");
	check("a@", "! Invalid domain");
	check("a@b..c", "! Invalid domain");
	check("a@b.", "! Invalid domain");
	check("a@.b", "! Invalid domain");
	check("a@\"b\"", "! Invalid domain");
	check("a@b@c", "! Expected , between addresses");
	check("a@[1.2.3.4", "! Unterminated domain literal");
	check("a@[1[2]", "! Invalid character in domain literal");
	check("a@[1.2]3", "! Expected , between addresses");
}

static void
test_groups(void)
{
	check("undisclosed-recipients:;", "[g1:undisclosed-recipients] empty");
	check("team: a@b, c@d;", "[g1:team] <a@b>, [g1:team] <c@d>");
	check("team: a@b, Joe <c@d>;, e@f", "[g1:team] <a@b>, [g1:team] \"Joe\" <c@d>, <e@f>");
	check("x: a@b;, x: c@d;", "[g1:x] <a@b>, [g2:x] <c@d>");
	check("a@b, g:;, c@d", "<a@b>, [g1:g] empty, <c@d>");
	check("\"My Team\" (the best): ;", "[g1:My Team] empty");
	/* obs-group-list: only commas */
	check("g: , ,;", "[g1:g] empty");
	check("g: a@b,,c@d,;", "[g1:g] <a@b>, [g1:g] <c@d>");
	/* RFC 822 A.3.3, without its stray ">" */
	check("Important folk:\r\n   Tom Softwood <Balsa@Tree.Root>,\r\n"
	      "   \"Sam Irving\"@Other-Host;,\r\n Standard Distribution:\r\n"
	      "   /main/davis/people/standard@Other-Host,\r\n"
	      "   \"<Jones>standard.dist.3\"@Tops-20-Host;",
	      "[g1:Important folk] \"Tom Softwood\" <Balsa@tree.root>, "
	      "[g1:Important folk] <\"Sam Irving\"@other-host>, "
	      "[g2:Standard Distribution] </main/davis/people/standard@other-host>, "
	      "[g2:Standard Distribution] <\"<Jones>standard.dist.3\"@tops-20-host>");
	check("g: a@b", "! Missing ; at end of group");
	check("g: a@b c@d;", "! Expected , or ; after address in group");
	check("g: h: a@b;;", "! Nested group");
	check(": a@b;", "! Invalid address");
	check("a@b;", "! Expected , between addresses");
	check("g:;x", "! Expected , between addresses");
	/* mailbox-list fields (From:) take no groups */
	check_mode("a@b, Joe <c@d>", RFC5322_MAILBOX_LIST, "<a@b>, \"Joe\" <c@d>");
	check_mode("g: a@b;", RFC5322_MAILBOX_LIST, "! Group not allowed here");
	check_mode("undisclosed-recipients:;", RFC5322_MAILBOX_LIST, "! Group not allowed here");
}

static void
test_obsolete_lists(void)
{
	/* empty elements (RFC 5322 4.4 obs-addr-list) */
	check("a@b,,c@d", "<a@b>, <c@d>");
	check(", a@b", "<a@b>");
	check("a@b ,", "<a@b>");
	check(" , , a@b , , ", "<a@b>");
	check(",", "! Empty address list");
	check(" , (x) , ", "! Empty address list");
	/* source routes are kept apart, without white space (RFC 9051 addr-adl) */
	check("<@r1.example,@r2.example:a@b>", "<@r1.example,@r2.example:a@b>");
	check("Mary <@node.test:mary@example.net>", "\"Mary\" <@node.test:mary@example.net>");
	check("<,@r1 , ,@[1.2.3.4]:a@b>", "<@r1,@[1.2.3.4]:a@b>");
	check("<@ r (c) . Example :a@b>, c@d", "<@r.Example:a@b>, <c@d>");
	check("<@:a@b>", "! Invalid domain");
	check("<,:a@b>", "! Invalid source route");
	check("<@r a@b>", "! Invalid source route");
	check("<@r@s:a@b>", "! Invalid source route");
	check("<@r>", "! Invalid source route");
}

static void
test_comments(void)
{
	check("Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>",
	      "\"Pete\" <pete@silly.test>");
	check("((nested (deeply)) comment)a@b", "<a@b>");
	check("a@b (comment \\( with quoted paren)", "<a@b> #comment ( with quoted paren#");
	check("a@b (unterminated", "! Unterminated comment");
	check("a@b (x))", "! Expected , between addresses");
	check("a@b (bad \x01 char)", "! Invalid character in comment");
	check("(\xc3\xa4 utf-8 comment) a@b", "<a@b>");
	check("(\xc3 bad utf-8) a@b", "! Invalid character in comment");
	/* with no display name, the last comment after the address is kept
	 * for the name (imaptest's fetch-envelope, as Dovecot and Cyrus) */
	check("user@domain (Real Name)", "<user@domain> #Real Name#");
	check("<user@domain> (Real Name)", "<user@domain> #Real Name#");
	check("Phrase <a@b> (not kept)", "\"Phrase\" <a@b>");
	check("a@b (one) (two) ( ) , c@d (\t) ()", "<a@b> #two#, <c@d>");
	check("a@b ( (nested) \\) x\\\\ )", "<a@b> #(nested) ) x\\#");
	check("(before) a@b", "<a@b>");
	check("g: a@b (in group);", "[g1:g] <a@b> #in group#");
	check("a (x) @ (y) b", "<a@b>");
	check("a@b (\xc3\xa4)", "<a@b> #\xc3\xa4#");
}

static void
test_utf8(void)
{
	/* RFC 6532 3.2 */
	check("J\xc3\xb6rg <j\xc3\xb6rg@b\xc3\xbc" "cher.example>",
	      "\"J\xc3\xb6rg\" <j\xc3\xb6rg@b\xc3\xbc" "cher.example> utf8");
	check("\"J\xc3\xb6rg M\" <a@b>", "\"J\xc3\xb6rg M\" <a@b>");
	check("\xe2\x9c\x89@example.org", "<\xe2\x9c\x89@example.org> utf8");
	check("\xf0\x9f\x93\xa7 <a@b>", "\"\xf0\x9f\x93\xa7\" <a@b>");
	check("a@B\xc3\x9c.example", "<a@b\xc3\x9c.example> utf8");
	check("J\xf6rg <a@b>", "! Malformed UTF-8 in address");
	check("\"J\xf6rg\" <a@b>", "! Malformed UTF-8 in address");
	check("a@b\xc0\xaf", "! Malformed UTF-8 in address");
	check("a@\xed\xa0\x80", "! Malformed UTF-8 in address");
	check("a@b\xe2\x9c", "! Malformed UTF-8 in address");
}

static void
test_bad_input(void)
{
	struct buf out;
	static const uint8_t nul[] = "a\0@b";

	check("a", "! Missing @domain in address");
	check("John Doe", "! Missing @domain in address");
	check("<>", "! Empty address <>");
	check("<a@b", "! Missing > after address");
	check("John <a@b", "! Missing > after address");
	check("a@b>", "! Expected , between addresses");
	check("<a@b>>", "! Expected , between addresses");
	check("<<a@b>>", "! Invalid local part");
	check("\"unterminated@b", "! Unterminated quoted string");
	check("\"a\x01\"@b", "! Invalid character in quoted string");
	check("\"a\\\x01\"@b", "! Invalid quoted-pair");
	check("a\x01@b", "! Invalid character in address");
	check("a\x7f@b", "! Invalid character in address");
	check("a@b\r\nc@d", "! Line break not followed by white space");
	check("a@b,\nc@d", "! Line break not followed by white space");
	check("a@b\rc", "! Line break not followed by white space");
	check("\"a\r\n\"@b", "! Line break not followed by white space");
	check("\"a\r\n", "! Line break not followed by white space");
	check("a@b)", "! Expected , between addresses");
	check(")", "! Invalid address");
	check("]", "! Invalid address");
	check("\\", "! Invalid address");
	check(";", "! Invalid address");
	/* a line break at the very end is the field's own */
	check("a@b\r\n", "<a@b>");
	check("a@b\n", "<a@b>");
	buf_init(&out, 0);
	describe(nul, sizeof(nul) - 1, &limits, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "! Invalid character in address");
	buf_deinit(&out);
}

static void
test_limits(void)
{
	struct rfc5322_address_limits l = limits;
	struct buf out;

	buf_init(&out, 0);
	l.max_addresses = 2;
	describe((const uint8_t *)"a@b, c@d", 8, &l, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "<a@b>, <c@d>");
	describe((const uint8_t *)"a@b, c@d, e@f", 13, &l, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "! Too many addresses");
	describe((const uint8_t *)"a@b, g:;, h:;", 13, &l, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "! Too many addresses");
	l = limits;
	l.max_value = 8;
	describe((const uint8_t *)"a@b, c@d", 8, &l, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "<a@b>, <c@d>");
	describe((const uint8_t *)"a@b, c@de", 9, &l, RFC5322_ADDRESS_LIST, &out);
	T_STREQ(buf_cstr(&out), "! Address list too long");
	/* the default: 1000 addresses */
	buf_reset(&out);
	for (unsigned i = 0; i < RFC5322_ADDRESS_DEFAULT_MAX_ADDRESSES; i++)
		buf_printf(&out, "%su%u@example.org", i == 0 ? "" : ",", i);
	{
		struct rfc5322_address_list list;
		const char *err;

		T_INTEQ(rfc5322_address_list_parse(buf_data(&out), buf_len(&out), &limits,
						   RFC5322_ADDRESS_LIST, &list, &err), 1);
		T_INTEQ(list.count, RFC5322_ADDRESS_DEFAULT_MAX_ADDRESSES);
		T_STREQ(list.addrs[999].local_part, "u999");
		rfc5322_address_list_deinit(&list);
		buf_append_str(&out, ",one@more");
		T_INTEQ(rfc5322_address_list_parse(buf_data(&out), buf_len(&out), &limits,
						   RFC5322_ADDRESS_LIST, &list, &err), -1);
		T_STREQ(err, "Too many addresses");
	}
	buf_deinit(&out);
}

static void
test_format(void)
{
	struct rfc5322_address a = { .local_part = "x y", .domain = "EXAMPLE.org" };
	struct buf out;

	buf_init(&out, 0);
	T_INTEQ(rfc5322_address_format(&a, &out), 0);
	T_STREQ(buf_cstr(&out), "\"x y\"@example.org");
	a.domain = "[IPv6:ABCD::1]";
	a.domain_literal = true;
	buf_reset(&out);
	T_INTEQ(rfc5322_address_format(&a, &out), 0);
	T_STREQ(buf_cstr(&out), "\"x y\"@[IPv6:ABCD::1]");
	buf_deinit(&out);
	/* a bounded buffer too small: -1, unchanged */
	buf_init(&out, 8);
	buf_append_str(&out, "ab");
	T_INTEQ(rfc5322_address_format(&a, &out), -1);
	T_STREQ(buf_cstr(&out), "ab");
	buf_deinit(&out);
	/* deinit of a zeroed list is safe */
	{
		struct rfc5322_address_list list;

		memset(&list, 0, sizeof(list));
		rfc5322_address_list_deinit(&list);
		T_INTEQ(list.count, 0);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(test_simple),
	TEST_ENTRY(test_display_names),
	TEST_ENTRY(test_local_parts),
	TEST_ENTRY(test_domains),
	TEST_ENTRY(test_groups),
	TEST_ENTRY(test_obsolete_lists),
	TEST_ENTRY(test_comments),
	TEST_ENTRY(test_utf8),
	TEST_ENTRY(test_bad_input),
	TEST_ENTRY(test_limits),
	TEST_ENTRY(test_format),
	{ NULL, NULL },
};

int
main(void)
{
	rfc5322_address_limits_init_default(&limits);
	return test_main("rfc5322-address", tests);
}
