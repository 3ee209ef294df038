/*
 * test-imap-url.c - IMAP URLs (RFC 5092) as CATENATE names message parts,
 * and the cutting of the octets they name.
 *
 * The URL parser takes a complete string (an astring of a command), so the
 * byte-at-a-time rule becomes: every prefix of a valid URL is parsed on its
 * own and either fails cleanly or gives a URL that describes that prefix;
 * nothing a prefix leaves behind affects the next parse.
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-url.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* A canonical text of a parsed URL, or "E why". */
static void
describe(const char *in, size_t len, struct buf *out)
{
	struct imap_url url;
	const char *error = NULL;

	buf_reset(out);
	if (imap_url_parse(in, len, &url, &error) < 0) {
		T_ASSERT(error != NULL);
		T_ASSERT(url.mailbox == NULL && url.user == NULL && url.host == NULL);
		buf_printf(out, "E %s", error);
		return;
	}
	buf_printf(out, "%s user=%s host=%s mbox=%s uv=%" PRIu32 " uid=%" PRIu32 " sec=%s",
		   url.full ? "full" : "path", url.user != NULL ? url.user : "-",
		   url.host != NULL ? url.host : "-", url.mailbox, url.uidvalidity, url.uid,
		   url.section != NULL ? url.section : "-");
	if (url.partial)
		buf_printf(out, " partial=%" PRIu64 ".%" PRIu64, url.partial_offset,
			   url.partial_length);
	imap_url_deinit(&url);
}

static void
check(const char *in, const char *expected)
{
	struct buf out;
	size_t len = strlen(in);

	buf_init(&out, 0);
	describe(in, len, &out);
	if (!T_STREQ(buf_cstr(&out), expected))
		fprintf(stderr, "  for %s\n", in);
	/* every prefix parses on its own: no crash, no leak, a clean error
	 * or a URL; then the whole again gives the same answer */
	for (size_t n = 0; n < len; n++)
		describe(in, n, &out);
	describe(in, len, &out);
	T_STREQ(buf_cstr(&out), expected);
	buf_deinit(&out);
}

static void
test_path_form(void)
{
	check("/INBOX/;UID=5", "path user=- host=- mbox=INBOX uv=0 uid=5 sec=-");
	check("/INBOX;UIDVALIDITY=1234/;UID=5",
	      "path user=- host=- mbox=INBOX uv=1234 uid=5 sec=-");
	/* keywords ignore case (imaptest writes them in lower case) */
	check("/imaptest;uidvalidity=9/;uid=2/;section=header",
	      "path user=- host=- mbox=imaptest uv=9 uid=2 sec=header");
	check("/a/b/c/;UID=1/;SECTION=1.2.MIME",
	      "path user=- host=- mbox=a/b/c uv=0 uid=1 sec=1.2.MIME");
	check("/a/;UID=1/;SECTION=HEADER.FIELDS%20(From%20To)",
	      "path user=- host=- mbox=a uv=0 uid=1 sec=HEADER.FIELDS (From To)");
	check("/a/;UID=1/;PARTIAL=100000.1",
	      "path user=- host=- mbox=a uv=0 uid=1 sec=- partial=100000.1");
	check("/a/;UID=1/;SECTION=TEXT/;PARTIAL=0",
	      "path user=- host=- mbox=a uv=0 uid=1 sec=TEXT partial=0.0");
	/* %-escapes decode to UTF-8 (RFC 5092 3) */
	check("/Entw%C3%BCrfe/;UID=7", "path user=- host=- mbox=Entw\xc3\xbcrfe uv=0 uid=7 sec=-");
	check("/a%3Bb/;UID=7", "path user=- host=- mbox=a;b uv=0 uid=7 sec=-");
}

static void
test_full_form(void)
{
	check("imap://fred@example.com/INBOX/;UID=20",
	      "full user=fred host=example.com mbox=INBOX uv=0 uid=20 sec=-");
	check("IMAP://imaptest%40localhost;AUTH=*@127.0.0.1:143/Sent;UIDVALIDITY=3/;UID=1",
	      "full user=imaptest@localhost host=127.0.0.1:143 mbox=Sent uv=3 uid=1 sec=-");
	check("imap://;AUTH=PLAIN@host/x/;UID=1", "full user=- host=host mbox=x uv=0 uid=1 sec=-");
	check("imap://host/x/;UID=1", "full user=- host=host mbox=x uv=0 uid=1 sec=-");
	check("imap://[::1]/x/;UID=1", "full user=- host=[::1] mbox=x uv=0 uid=1 sec=-");
}

static void
test_errors(void)
{
	check("", "E Empty URL");
	check("http://example.com/x", "E URL of another scheme");
	check("//host/INBOX/;UID=1", "E URL of another scheme or server");
	check(";UID=1", "E Relative URL not supported");
	check("/INBOX", "E URL names no message (no ;UID=)");
	check("/INBOX/;UID=0", "E URL names no message (no ;UID=)");
	check("/INBOX/;UID=01", "E URL names no message (no ;UID=)");
	check("/INBOX/;UID=4294967296", "E URL names no message (no ;UID=)");
	check("/INBOX;UID=1", "E Invalid URL: ;UIDVALIDITY= or /;UID= expected");
	check("/;UID=1", "E URL names no mailbox");
	check("//;UID=1", "E URL of another scheme or server");
	check("/INBOX;UIDVALIDITY=0/;UID=1", "E Invalid UIDVALIDITY in URL");
	check("/INBOX;UIDVALIDITY=5;UID=1", "E URL names no message (no ;UID=)");
	check("/IN BOX/;UID=1", "E Invalid mailbox name in URL");
	check("/IN%0ABOX/;UID=1", "E Invalid mailbox name in URL");
	check("/IN%00BOX/;UID=1", "E Invalid mailbox name in URL");
	check("/INBOX%4/;UID=1", "E Invalid mailbox name in URL");
	check("/INBOX/;UID=1/;SECTION=", "E Empty section in URL");
	check("/INBOX/;UID=1/;SECTION=BOGUS", "E Invalid section");
	check("/INBOX/;UID=1/;PARTIAL=", "E Invalid PARTIAL in URL");
	check("/INBOX/;UID=1/;PARTIAL=1.0", "E Invalid PARTIAL in URL");
	check("/INBOX/;UID=1/;PARTIAL=1.", "E Invalid PARTIAL in URL");
	check("/INBOX/;UID=1;URLAUTH=anonymous:internal:0123", "E URLAUTH is not supported");
	check("/INBOX/;UID=1;EXPIRE=2030-01-01T00:00:00Z", "E URLAUTH is not supported");
	/* the section ends at a ";" as well as at "/;" */
	check("/INBOX/;UID=1/;SECTION=1.2;URLAUTH=anonymous:internal:0123",
	      "E URLAUTH is not supported");
	check("/INBOX/;UID=1/;SECTION=TEXT;EXPIRE=2030-01-01T00:00:00Z;URLAUTH=anonymous",
	      "E URLAUTH is not supported");
	check("/INBOX/;UID=1/;SECTION=TEXT/;PARTIAL=0.5;URLAUTH=anonymous:internal:0123",
	      "E URLAUTH is not supported");
	check("/INBOX/;UID=1/;SECTION=;URLAUTH=anonymous", "E Empty section in URL");
	check("/INBOX/;UID=1/;SECTION=TEXT;x", "E Invalid URL: trailing characters");
	check("/INBOX/;UID=1x", "E Invalid URL: trailing characters");
	check("/INBOX?SUBJECT%20x", "E URL names no message (no ;UID=)");
	check("imap://host", "E URL names no message");
	check("imap://@/x/;UID=1", "E URL has no host");
	check("imap://a;B=c@host/x/;UID=1", "E Invalid user in URL");
	check("imap://a%ZZ@host/x/;UID=1", "E Invalid user in URL");
	check("imap://ho\"st/x/;UID=1", "E Invalid host in URL");
}

static void
test_copy(void)
{
	static const char in[] = "imap://u@h/m;UIDVALIDITY=2/;UID=3/;SECTION=TEXT";
	struct imap_url url, copy;
	const char *error;

	T_INTEQ(imap_url_parse(in, sizeof(in) - 1, &url, &error), 1);
	imap_url_copy(&url, &copy);
	imap_url_deinit(&url);
	T_STREQ(copy.user, "u");
	T_STREQ(copy.host, "h");
	T_STREQ(copy.mailbox, "m");
	T_STREQ(copy.section, "TEXT");
	T_INTEQ(copy.uid, 3);
	imap_url_deinit(&copy);
	T_ASSERT(copy.mailbox == NULL);
}

/* The octets a URL names in msg, as text ("E" when none). */
static void
check_section_max(const char *url_text, const char *msg, size_t scratch_max,
		  const char *expected)
{
	struct imap_url url;
	struct buf scratch, out;
	const char *error;
	const uint8_t *data;
	size_t len;

	buf_init(&scratch, scratch_max);
	buf_init(&out, 0);
	T_INTEQ(imap_url_parse(url_text, strlen(url_text), &url, &error), 1);
	if (imap_url_section(&url, (const uint8_t *)msg, strlen(msg), &scratch, &data, &len,
			     &error) < 0)
		buf_printf(&out, "E %s", error);
	else
		buf_append(&out, data, len);
	if (!T_STREQ(buf_cstr(&out), expected))
		fprintf(stderr, "  for %s\n", url_text);
	imap_url_deinit(&url);
	buf_deinit(&scratch);
	buf_deinit(&out);
}

static void
check_section(const char *url_text, const char *msg, const char *expected)
{
	check_section_max(url_text, msg, 0, expected);
}

static void
test_section(void)
{
	static const char plain[] = "From: a@b\r\nSubject: s\r\n\r\nHello world\r\n";
	static const char multi[] =
		"From: a@b\r\nMIME-Version: 1.0\r\n"
		"Content-Type: multipart/mixed; boundary=\"xx\"\r\n\r\n"
		"--xx\r\nContent-Type: text/plain\r\n\r\none\r\n"
		"--xx\r\nContent-Type: text/html\r\n\r\n<b>two</b>\r\n"
		"--xx--\r\n";

	check_section("/m/;UID=1", plain, plain);
	check_section("/m/;UID=1/;SECTION=HEADER", plain, "From: a@b\r\nSubject: s\r\n\r\n");
	check_section("/m/;UID=1/;section=text", plain, "Hello world\r\n");
	check_section("/m/;UID=1/;SECTION=1", plain, "Hello world\r\n");
	check_section("/m/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)", plain,
		      "Subject: s\r\n\r\n");
	check_section("/m/;UID=1/;SECTION=HEADER.FIELDS.NOT%20(Subject)", plain,
		      "From: a@b\r\n\r\n");
	check_section("/m/;UID=1/;SECTION=2", plain, "E No such part in the message");
	check_section("/m/;UID=1/;SECTION=TEXT/;PARTIAL=6", plain, "world\r\n");
	check_section("/m/;UID=1/;SECTION=TEXT/;PARTIAL=6.3", plain, "wor");
	check_section("/m/;UID=1/;PARTIAL=100000.1", plain, "");
	check_section("/m/;UID=1/;PARTIAL=0.4", plain, "From");
	check_section("/m/;UID=1/;SECTION=1", multi, "one");
	check_section("/m/;UID=1/;SECTION=2", multi, "<b>two</b>");
	check_section("/m/;UID=1/;SECTION=2.MIME", multi, "Content-Type: text/html\r\n\r\n");
	check_section("/m/;UID=1/;SECTION=3", multi, "E No such part in the message");
	/* a filtered header goes through the caller's bounded scratch buffer;
	 * a raw range does not */
	check_section_max("/m/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)/;PARTIAL=0.7", plain, 14,
			  "Subject");
	check_section_max("/m/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)", plain, 13,
			  "E Section too big");
	check_section_max("/m/;UID=1/;SECTION=TEXT", plain, 1, "Hello world\r\n");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_path_form),
		TEST_ENTRY(test_full_form),
		TEST_ENTRY(test_errors),
		TEST_ENTRY(test_copy),
		TEST_ENTRY(test_section),
		{ NULL, NULL },
	};

	return test_main("imap-url", tests);
}
