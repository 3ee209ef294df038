/*
 * test-imap-utf7.c - modified UTF-7: RFC 3501 5.1.3 examples, round trips,
 * refusal of every non-canonical form, UTF-8 mailbox name checks.
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-utf7.h"

#include <string.h>

/* Decode; "ERR:message" on error. */
static const char *
dec(const char *in, struct buf *out)
{
	const char *err;

	buf_reset(out);
	buf_append_str(out, "pre:");
	if (imap_utf7_to_utf8(in, strlen(in), out, &err) < 0) {
		/* a failure leaves the buffer as it was */
		T_STREQ(buf_cstr(out), "pre:");
		buf_reset(out);
		buf_printf(out, "ERR:%s", err);
		return buf_cstr(out);
	}
	T_ASSERT(imap_utf7_is_valid(in, strlen(in)));
	return buf_cstr(out) + 4;
}

static const char *
enc_len(const char *in, size_t len, struct buf *out)
{
	const char *err;

	buf_reset(out);
	if (imap_utf8_to_utf7(in, len, out, &err) < 0) {
		T_INTEQ(buf_len(out), 0);
		buf_printf(out, "ERR:%s", err);
	}
	return buf_cstr(out);
}

static const char *
enc(const char *in, struct buf *out)
{
	return enc_len(in, strlen(in), out);
}

static void
test_rfc_examples(void)
{
	struct buf o;

	buf_init(&o, 0);
	/* RFC 3501 5.1.3: ~peter/mail/<taipei>/<japanese> */
	T_STREQ(dec("~peter/mail/&U,BTFw-/&ZeVnLIqe-", &o),
		"~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
	T_STREQ(enc("~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", &o),
		"~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	T_STREQ(dec("INBOX", &o), "INBOX");
	T_STREQ(dec("", &o), "");
	T_STREQ(dec("&-", &o), "&");
	T_STREQ(dec("a&-b&-&-", &o), "a&b&&");
	T_STREQ(dec("Entw&APw-rfe", &o), "Entw\xc3\xbcrfe");
	T_STREQ(dec("&AOQ--", &o), "\xc3\xa4-");
	T_STREQ(dec("&AOQ-&-", &o), "\xc3\xa4&");
	T_STREQ(dec("&AOQA5A-", &o), "\xc3\xa4\xc3\xa4");
	T_STREQ(dec("&2D3eAA-", &o), "\xf0\x9f\x98\x80");
	T_STREQ(dec("&AAE-", &o), "\x01");
	T_STREQ(enc("a&b", &o), "a&-b");
	T_STREQ(enc("\xc3\xa4\xc3\xa4", &o), "&AOQA5A-");
	T_STREQ(enc("\xf0\x9f\x98\x80", &o), "&2D3eAA-");
	T_STREQ(enc("\x01\x7f", &o), "&AAEAfw-");
	buf_deinit(&o);
}

static void
test_round_trip(void)
{
	static const char *const names[] = {
		"INBOX", "Entw\xc3\xbcrfe", "Gel\xc3\xb6schte Elemente", "&", "&&", "a&-b",
		"\xc3\xa4&\xc3\xa4", "\xd0\x9e\xd1\x82\xd0\xbf\xd1\x80\xd0\xb0\xd0\xb2\xd0\xbb"
		"\xd0\xb5\xd0\xbd\xd0\xbd\xd1\x8b\xd0\xb5", "\xe9\x80\x81\xe4\xbf\xa1\xe6\xb8\x88"
		"\xe3\x81\xbf", "\xf0\x9f\x98\x80\xf0\x9f\x98\x81x\xf4\x8f\xbf\xbf", "x\x01y",
		"\xef\xbf\xbf", "\xc2\x80", "[Gmail]/Alle Nachrichten", "-&-", "~",
	};
	struct buf u7, u8;
	const char *err;

	buf_init(&u7, 0);
	buf_init(&u8, 0);
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		buf_reset(&u7);
		buf_reset(&u8);
		T_INTEQ(imap_utf8_to_utf7(names[i], strlen(names[i]), &u7, &err), 1);
		T_INTEQ(imap_utf7_to_utf8(buf_cstr(&u7), buf_len(&u7), &u8, &err), 1);
		T_STREQ(buf_cstr(&u8), names[i]);
		T_ASSERT(imap_utf7_is_valid(buf_cstr(&u7), buf_len(&u7)));
	}
	buf_deinit(&u7);
	buf_deinit(&u8);
}

static void
test_non_canonical(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(dec("&AGE-", &o), "ERR:Printable ASCII encoded in base64");
	T_STREQ(dec("&ACY-", &o), "ERR:Printable ASCII encoded in base64");
	T_STREQ(dec("&AOQAYQ-", &o), "ERR:Printable ASCII encoded in base64");
	T_STREQ(dec("&", &o), "ERR:Unterminated base64 run");
	T_STREQ(dec("&AOQ", &o), "ERR:Unterminated base64 run");
	T_STREQ(dec("a&AOQ b", &o), "ERR:Invalid character in base64 run");
	T_STREQ(dec("&AOQ=-", &o), "ERR:Invalid character in base64 run");
	T_STREQ(dec("&AOQ/-", &o), "ERR:Invalid character in base64 run");
	T_STREQ(dec("&A-", &o), "ERR:Empty base64 run");
	T_STREQ(dec("&AO-", &o), "ERR:Empty base64 run");
	T_STREQ(dec("&AOR-", &o), "ERR:Non-canonical base64 padding");
	T_STREQ(dec("&AOQA-", &o), "ERR:Non-canonical base64 padding");
	T_STREQ(dec("&AOQAAA-", &o), "ERR:NUL in mailbox name");
	T_STREQ(dec("&AOQ-&AOQ-", &o), "ERR:Adjacent base64 runs");
	T_STREQ(dec("&2D0-", &o), "ERR:Unpaired UTF-16 surrogate");
	T_STREQ(dec("&3gA-", &o), "ERR:Unpaired UTF-16 surrogate");
	T_STREQ(dec("&2D0-&3gA-", &o), "ERR:Unpaired UTF-16 surrogate");
	T_STREQ(dec("&2D0AOQ-", &o), "ERR:Unpaired UTF-16 surrogate");
	T_STREQ(dec("&2D3YPQ-", &o), "ERR:Unpaired UTF-16 surrogate");
	T_STREQ(dec("&AAA-", &o), "ERR:NUL in mailbox name");
	T_STREQ(dec("Entw\xc3\xbcrfe", &o), "ERR:Invalid character in mailbox name");
	T_STREQ(dec("a\tb", &o), "ERR:Invalid character in mailbox name");
	T_STREQ(dec("a\x7f", &o), "ERR:Invalid character in mailbox name");
	T_ASSERT(!imap_utf7_is_valid("&AGE-", 5));
	/* encoder input must be well-formed UTF-8 without NUL */
	T_STREQ(enc("\xc3", &o), "ERR:Invalid UTF-8");
	T_STREQ(enc("\xc0\xaf", &o), "ERR:Invalid UTF-8");
	T_STREQ(enc("\xed\xa0\x80", &o), "ERR:Invalid UTF-8");
	T_STREQ(enc("\xf4\x90\x80\x80", &o), "ERR:Invalid UTF-8");
	T_STREQ(enc_len("a\0b", 3, &o), "ERR:NUL in mailbox name");
	buf_deinit(&o);
}

static void
test_bounded_output(void)
{
	struct buf o;
	const char *err;

	buf_init(&o, 6);
	T_INTEQ(imap_utf8_to_utf7("\xc3\xa4\xc3\xa4", 4, &o, &err), -1);
	T_INTEQ(buf_len(&o), 0);
	T_INTEQ(imap_utf8_to_utf7("\xc3\xa4", 2, &o, &err), 1);
	T_STREQ(buf_cstr(&o), "&AOQ-");
	buf_reset(&o);
	T_INTEQ(imap_utf7_to_utf8("abcd&AOQA5A-", 12, &o, &err), -1);
	T_INTEQ(buf_len(&o), 0);
	buf_deinit(&o);
}

static void
test_utf8_names(void)
{
	const char *err;

	T_INTEQ(imap_mailbox_name_utf8_check("Entw\xc3\xbcrfe", 9, &err), 1);
	T_INTEQ(imap_mailbox_name_utf8_check("a\xc2\xa0z", 4, &err), 1);
	T_INTEQ(imap_mailbox_name_utf8_check("", 0, &err), -1);
	T_INTEQ(imap_mailbox_name_utf8_check("a\x01", 2, &err), -1);
	T_INTEQ(imap_mailbox_name_utf8_check("a\x7f", 2, &err), -1);
	T_INTEQ(imap_mailbox_name_utf8_check("a\xc2\x85", 3, &err), -1);
	T_STREQ(err, "Control character in mailbox name");
	T_INTEQ(imap_mailbox_name_utf8_check("a\xc3", 2, &err), -1);
	T_STREQ(err, "Mailbox name is not valid UTF-8");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_rfc_examples),
		TEST_ENTRY(test_round_trip),
		TEST_ENTRY(test_non_canonical),
		TEST_ENTRY(test_bounded_output),
		TEST_ENTRY(test_utf8_names),
		{ NULL, NULL },
	};

	return test_main("imap-utf7", tests);
}
