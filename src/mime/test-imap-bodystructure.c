/*
 * test-imap-bodystructure.c - BODYSTRUCTURE and BODY strings (with the
 * ENVELOPE of message/rfc822 parts) and section resolution for the messages of test-mime-parser.c.
 *
 * The expected strings follow RFC 9051 7.5.2 and section 9 (body,
 * body-type-1part, body-type-mpart, envelope); sizes and line counts were
 * checked against the offsets in test-mime-parser.c. For a structure of the
 * same shape Dovecot writes the same values (it keeps the case of type
 * names where Posthorn upper-cases them).
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/imap-bodystructure.h"
#include "mime/imap-section.h"
#include "mime/imap-string.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mime/test-mime-samples.h"

static struct mime_part *
parse(const char *msg)
{
	return mime_parse_message((const uint8_t *)msg, strlen(msg), NULL);
}

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
check_bs(const char *msg, const char *bodystructure, const char *body, const char *utf8)
{
	struct mime_part *root = parse(msg);
	struct buf o;

	buf_init(&o, 0);
	T_INTEQ(imap_bodystructure_write(root, true, 0, &o), 0);
	T_STREQ(buf_cstr(&o), bodystructure);
	T_ASSERT(balanced(buf_cstr(&o)));
	buf_reset(&o);
	T_INTEQ(imap_bodystructure_write(root, false, 0, &o), 0);
	T_STREQ(buf_cstr(&o), body);
	buf_reset(&o);
	T_INTEQ(imap_bodystructure_write(root, true, IMAP_STRING_UTF8, &o), 0);
	T_STREQ(buf_cstr(&o), utf8);
	buf_deinit(&o);
	/* a full buffer leaves it unchanged */
	buf_init(&o, 20);
	buf_append_str(&o, "x");
	T_INTEQ(imap_bodystructure_write(root, true, 0, &o), -1);
	T_STREQ(buf_cstr(&o), "x");
	buf_deinit(&o);
	mime_part_free(&root);
}

static void
test_bodystructure(void)
{
	check_bs(MSG_PLAIN,
		 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)",
		 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2)",
		 "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 14 2 NIL NIL NIL NIL)");
	check_bs(MSG_MIXED,
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 12 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 6 1)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 12) \"MIXED\")",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"utf-8\") NIL NIL \"7BIT\" 6 1 NIL NIL NIL NIL)(\"APPLICATION\" \"PDF\" (\"NAME\" \"a.pdf\") NIL NIL \"BASE64\" 12 NIL (\"ATTACHMENT\" (\"FILENAME\" \"a.pdf\")) NIL NIL) \"MIXED\" (\"BOUNDARY\" \"b1\") NIL NIL NIL)");
	check_bs(MSG_NESTED,
		 "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 0 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 11 0 NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)(\"IMAGE\" \"PNG\" NIL NIL NIL \"7BIT\" 3 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)",
		 "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 0)(\"TEXT\" \"HTML\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 11 0) \"ALTERNATIVE\")(\"IMAGE\" \"PNG\" NIL NIL NIL \"7BIT\" 3) \"MIXED\")",
		 "(((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 5 0 NIL NIL NIL NIL)(\"TEXT\" \"HTML\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 11 0 NIL NIL NIL NIL) \"ALTERNATIVE\" (\"BOUNDARY\" \"inner\") NIL NIL NIL)(\"IMAGE\" \"PNG\" NIL NIL NIL \"7BIT\" 3 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"outer\") NIL NIL NIL)");
	check_bs(MSG_RFC822,
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"QUOTED-PRINTABLE\" 15 1 NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL \"fwd\" \"7BIT\" 105 (NIL \"inner\" ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL \"b\" \"y.org\")(NIL NIL NIL NIL)) NIL NIL NIL \"<1@x>\") (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 0 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"=_x\") NIL NIL NIL)",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"QUOTED-PRINTABLE\" 15 1)(\"MESSAGE\" \"RFC822\" NIL NIL \"fwd\" \"7BIT\" 105 (NIL \"inner\" ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL \"b\" \"y.org\")(NIL NIL NIL NIL)) NIL NIL NIL \"<1@x>\") (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 0) 5) \"MIXED\")",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"QUOTED-PRINTABLE\" 15 1 NIL NIL NIL NIL)(\"MESSAGE\" \"RFC822\" NIL NIL \"fwd\" \"7BIT\" 105 (NIL \"inner\" ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((\"Bob\" NIL \"bob\" \"example.net\")) ((NIL NIL \"team\" NIL)(NIL NIL \"a\" \"x.org\")(NIL NIL \"b\" \"y.org\")(NIL NIL NIL NIL)) NIL NIL NIL \"<1@x>\") (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 10 0 NIL NIL NIL NIL) 5 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"=_x\") NIL NIL NIL)");
	check_bs(MSG_8BIT,
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET*\" \"utf-8''%E2%82%AC%20rate\") NIL NIL \"7BIT\" 2 0 NIL (\"ATTACHMENT\" (\"FILENAME*\" \"iso-8859-1'de'%E4pfel.txt\")) (\"de\" \"en\") NIL)(\"TEXT\" \"PLAIN\" (\"NAME\" \"long name\" \"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"q\") NIL NIL NIL)",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET*\" \"utf-8''%E2%82%AC%20rate\") NIL NIL \"7BIT\" 2 0)(\"TEXT\" \"PLAIN\" (\"NAME\" \"long name\" \"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 0) \"MIXED\")",
		 "((\"TEXT\" \"PLAIN\" (\"CHARSET\" \"\xe2""\x82""\xac"" rate\") NIL NIL \"7BIT\" 2 0 NIL (\"ATTACHMENT\" (\"FILENAME*\" \"iso-8859-1'de'%E4pfel.txt\")) (\"de\" \"en\") NIL)(\"TEXT\" \"PLAIN\" (\"NAME\" \"long name\" \"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 1 0 NIL NIL NIL NIL) \"MIXED\" (\"BOUNDARY\" \"q\") NIL NIL NIL)");
}

static void
test_bodystructure_opaque(void)
{
	check_bs("Content-Type: multipart/mixed\r\n\r\nhi\r\n",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 4 NIL NIL NIL NIL)",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 4)",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"7BIT\" 4 NIL NIL NIL NIL)");
	check_bs("Content-Type: message/rfc822\r\nContent-Transfer-Encoding: base64\r\n\r\nQQ==\r\n",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 6 NIL NIL NIL NIL)",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 6)",
		 "(\"APPLICATION\" \"OCTET-STREAM\" NIL NIL NIL \"BASE64\" 6 NIL NIL NIL NIL)");
	check_bs("Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: x-foo\r\n\r\n",
		 "(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"X-FOO\" 0 NIL NIL NIL NIL)",
		 "(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"X-FOO\" 0)",
		 "(\"MESSAGE\" \"DELIVERY-STATUS\" NIL NIL NIL \"X-FOO\" 0 NIL NIL NIL NIL)");
}

static char *
section(const char *msg, const char *spec)
{
	struct mime_part *root = parse(msg);
	struct imap_section s;
	struct imap_section_range r;
	const char *error;
	struct buf o;
	int ret;

	buf_init(&o, 0);
	if (imap_section_parse(spec, strlen(spec), &s, &error) < 0) {
		buf_printf(&o, "! %s", error);
	} else if ((ret = imap_section_resolve(&s, root, &r)) == 0) {
		buf_append_str(&o, "none");
	} else if (r.mode == IMAP_SECTION_MODE_RAW) {
		buf_append(&o, msg + r.offset, (size_t)r.size);
	} else {
		T_INTEQ(imap_section_filter_header(&s, (const uint8_t *)msg + r.offset,
						   (size_t)r.size, &o), 0);
	}
	imap_section_deinit(&s);
	mime_part_free(&root);
	return buf_steal_str(&o);
}

static void
check_section(const char *msg, const char *spec, const char *expected)
{
	char *got = section(msg, spec);

	if (!T_STREQ(got, expected))
		fprintf(stderr, "  section: %s\n", spec);
	mem_free(&got);
}

static void
test_section(void)
{
	check_section(MSG_PLAIN, "", MSG_PLAIN);
	check_section(MSG_PLAIN, "1", "Hello\r\nworld\r\n");
	check_section(MSG_PLAIN, "TEXT", "Hello\r\nworld\r\n");
	check_section(MSG_PLAIN, "HEADER", "From: Ann <ann@example.org>\r\nSubject: hi\r\n\r\n");
	check_section(MSG_PLAIN, "header.fields (SUBJECT \"x\")", "Subject: hi\r\n\r\n");
	check_section(MSG_PLAIN, "HEADER.FIELDS.NOT (subject)",
		      "From: Ann <ann@example.org>\r\n\r\n");
	check_section(MSG_PLAIN, "2", "none");
	check_section(MSG_PLAIN, "1.1", "none");
	check_section(MSG_PLAIN, "1.HEADER", "none");
	check_section(MSG_NESTED, "1.1", "plain");
	check_section(MSG_NESTED, "1.2", "<b>html</b>");
	check_section(MSG_NESTED, "1.2.MIME", "Content-Type: text/html\r\n\r\n");
	check_section(MSG_NESTED, "2", "PNG");
	check_section(MSG_NESTED, "3", "none");
	check_section(MSG_RFC822, "2.HEADER.FIELDS (Subject)", "Subject: inner\r\n\r\n");
	check_section(MSG_RFC822, "2.TEXT", "inner body");
	check_section(MSG_RFC822, "2.1", "inner body");
	check_section(MSG_RFC822, "2.1.MIME",
		      "From: Bob <bob@example.net>\r\nTo: team: a@x.org, b@y.org;\r\n"
		      "Subject: inner\r\nMessage-ID: <1@x>\r\n\r\n");
	check_section(MSG_RFC822, "2.MIME",
		      "Content-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n");
	check_section(MSG_RFC822, "1.TEXT", "none");
	check_section(MSG_PLAIN, "MIME", "! Invalid section");
	check_section(MSG_PLAIN, "0", "! Invalid section part number");
	check_section(MSG_PLAIN, "1.", "! Invalid section");
	check_section(MSG_PLAIN, "HEADER.FIELDS ()", "! Invalid header field name");
	check_section(MSG_PLAIN, "HEADER.FIELDS (a b", "! Invalid header field list");
	check_section(MSG_PLAIN, "TEXTX", "! Junk after section");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_bodystructure),
		TEST_ENTRY(test_bodystructure_opaque),
		TEST_ENTRY(test_section),
		{ NULL, NULL },
	};

	return test_main("imap-bodystructure", tests);
}
