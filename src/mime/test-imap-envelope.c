/*
 * test-imap-envelope.c - IMAP ENVELOPE strings (RFC 9051 7.5.2) from
 * header blocks: NIL for absent fields, sender and reply-to defaulting to
 * from, groups as start and end markers, quoting and literals.
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/imap-envelope.h"
#include "mime/imap-string.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Balanced parentheses outside quoted strings and literals. */
static bool
balanced(const char *s)
{
	int depth = 0;

	for (; *s != '\0'; s++) {
		if (*s == '"') {
			for (s++; *s != '"'; s++) {
				if (*s == '\\')
					s++;
			}
		} else if (*s == '{') {
			unsigned long n = strtoul(s + 1, (char **)&s, 10);

			s += 2 + n;     /* "}\r\n" then n octets; the loop adds one */
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')' && --depth < 0) {
			return false;
		}
	}
	return depth == 0;
}

static void
check_env(const char *header, unsigned flags, const char *expected)
{
	struct buf o;

	buf_init(&o, 0);
	T_INTEQ(imap_envelope_write_header((const uint8_t *)header, strlen(header), flags, &o), 0);
	if (!T_STREQ(buf_cstr(&o), expected))
		fprintf(stderr, "  header: %s\n", header);
	T_ASSERT(balanced(buf_cstr(&o)));
	buf_deinit(&o);
}

static void
test_envelope(void)
{
	check_env("", 0, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_env("Date: Fri, 21 Nov 1997 09:55:06 -0600\r\n"
		  "Subject: Saying\r\n Hello\r\n"
		  "From: John Doe <jdoe@machine.example>\r\n"
		  "Sender: <s@x.example>\r\n"
		  "Reply-To:\r\n"
		  "To: Mary Smith <mary@example.net>, \"a b\"@c.example\r\n"
		  "Cc: undisclosed-recipients:;\r\n"
		  "Bcc: (nobody)\r\n"
		  "In-Reply-To: <1@a>\r\n"
		  "Message-ID: <1234@local.machine.example>\r\n"
		  "\r\nbody\r\n", 0,
		  "(\"Fri, 21 Nov 1997 09:55:06 -0600\" \"Saying Hello\" "
		  "((\"John Doe\" NIL \"jdoe\" \"machine.example\")) "
		  "((NIL NIL \"s\" \"x.example\")) "
		  "((\"John Doe\" NIL \"jdoe\" \"machine.example\")) "
		  "((\"Mary Smith\" NIL \"mary\" \"example.net\")"
		  "(NIL NIL \"\\\"a b\\\"\" \"c.example\")) "
		  "((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL "
		  "\"<1@a>\" \"<1234@local.machine.example>\")");
	/* 8-bit: a literal, or quoted with UTF8=ACCEPT; unparsable address: NIL */
	check_env("Subject: Gr\xc3\xbc\xc3\x9f""e\r\nFrom: a@@b\r\n\r\n", 0,
		  "(NIL {7}\r\nGr\xc3\xbc\xc3\x9f""e NIL NIL NIL NIL NIL NIL NIL NIL)");
	check_env("Subject: Gr\xc3\xbc\xc3\x9f""e\r\n\r\n", IMAP_STRING_UTF8,
		  "(NIL \"Gr\xc3\xbc\xc3\x9f""e\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	/* a bare CR needs a literal; a group with members */
	check_env("Subject: a\rb\r\nTo: g: x@y;, z@w\r\n", 0,
		  "(NIL {3}\r\na\rb NIL NIL NIL ((NIL NIL \"g\" NIL)(NIL NIL \"x\" \"y\")"
		  "(NIL NIL NIL NIL)(NIL NIL \"z\" \"w\")) NIL NIL NIL NIL)");
	/* a trailing comment is the name when there is no phrase; a source
	 * route is the adl (imaptest's fetch-envelope) */
	check_env("From: user@domain (Real Name)\r\nSender: <@route:user@domain>\r\n"
		  "To: Phrase <a@b> (not the name), c@d ( ) (x\\)y (z)) \r\n"
		  "Cc: <@r1,@[1.2.3.4]:e@f>\r\n\r\n", 0,
		  "(NIL NIL ((\"Real Name\" NIL \"user\" \"domain\")) "
		  "((NIL \"@route\" \"user\" \"domain\")) "
		  "((\"Real Name\" NIL \"user\" \"domain\")) "
		  "((\"Phrase\" NIL \"a\" \"b\")(\"x)y (z)\" NIL \"c\" \"d\")) "
		  "((NIL \"@r1,@[1.2.3.4]\" \"e\" \"f\")) NIL NIL NIL)");
}

static void
test_string(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_INTEQ(imap_string_append(&o, "a\"b\\c", 5, 0), 0);
	T_STREQ(buf_cstr(&o), "\"a\\\"b\\\\c\"");
	buf_reset(&o);
	T_INTEQ(imap_string_append(&o, "a\0\nb", 4, 0), 0);
	T_STREQ(buf_cstr(&o), "{3}\r\na\nb");
	buf_reset(&o);
	/* not UTF-8: a literal even with UTF8=ACCEPT */
	T_INTEQ(imap_string_append(&o, "\xff", 1, IMAP_STRING_UTF8), 0);
	T_STREQ(buf_cstr(&o), "{1}\r\n\xff");
	buf_reset(&o);
	T_INTEQ(imap_string_append_nstring(&o, NULL, 0), 0);
	T_STREQ(buf_cstr(&o), "NIL");
	buf_deinit(&o);
	buf_init(&o, 4);
	T_INTEQ(imap_string_append(&o, "abcd", 4, 0), -1);
	T_INTEQ(buf_len(&o), 0);
	buf_deinit(&o);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_envelope),
		TEST_ENTRY(test_string),
		{ NULL, NULL },
	};

	return test_main("imap-envelope", tests);
}
