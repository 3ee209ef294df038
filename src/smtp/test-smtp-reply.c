/*
 * test-smtp-reply.c - SMTP reply parser and reply-text sanitiser.
 *
 * Every input is parsed whole, one byte at a time and split in two at every
 * point; the sequence of replies (code, enhanced code, text, flags) and the
 * error must be the same every time.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-reply.h"

#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

/* Parse in pieces of step octets, the first being first octets long.
 * Describes each reply as "code|enh|text|lines|t|b;" and an error as "ERR". */
static void
parse(const char *in, size_t len, size_t first, size_t step,
      const struct smtp_reply_limits *limits, struct buf *out)
{
	struct smtp_reply_parser p;
	size_t pos = 0, end = first, used;

	smtp_reply_parser_init(&p, limits);
	while (pos < len) {
		const struct smtp_reply *r;
		const char *err;
		enum smtp_reply_result res;

		if (end > len || end <= pos)
			end = len;
		res = smtp_reply_parser_feed(&p, (const uint8_t *)in + pos, end - pos, &used, &r,
					     &err);
		pos += used;
		if (res == SMTP_REPLY_ERROR) {
			T_ASSERT(err != NULL);
			buf_append_str(out, "ERR");
			break;
		}
		if (res == SMTP_REPLY_DONE) {
			buf_printf(out, "%u|%s|", r->code, r->enhanced);
			buf_append(out, r->text, r->text_len);
			buf_printf(out, "|%u|%d|%d;", r->n_lines, r->truncated, r->bare_lf);
			continue;
		}
		T_INTEQ(used, end - pos + used);
		end = pos + step;
	}
	smtp_reply_parser_deinit(&p);
}

static void
check_lim(const char *in, size_t len, const char *expect, const struct smtp_reply_limits *lim)
{
	struct buf whole, piece;
	size_t i;

	buf_init(&whole, 0);
	parse(in, len, len, len, lim, &whole);
	T_STREQ(buf_cstr(&whole), expect);
	buf_init(&piece, 0);
	parse(in, len, 1, 1, lim, &piece);
	T_STREQ(buf_cstr(&piece), expect);
	for (i = 1; i < len; i++) {
		buf_reset(&piece);
		parse(in, len, i, len, lim, &piece);
		if (!T_STREQ(buf_cstr(&piece), expect))
			break;
	}
	buf_deinit(&whole);
	buf_deinit(&piece);
}

static void
check(const char *in, size_t len, const char *expect)
{
	check_lim(in, len, expect, NULL);
}

static void
test_single_line(void)
{
	check(S("220 mx.example.com ESMTP ready\r\n"), "220||mx.example.com ESMTP ready|1|0|0;");
	check(S("250\r\n"), "250|||1|0|0;");
	check(S("250 \r\n"), "250|||1|0|0;");
	check(S("354 go ahead\r\n221 bye\r\n"), "354||go ahead|1|0|0;221||bye|1|0|0;");
}

static void
test_multi_line(void)
{
	check(S("250-mx.example.com\r\n250-PIPELINING\r\n250-SIZE 1000\r\n250 8BITMIME\r\n"),
	      "250||mx.example.com\nPIPELINING\nSIZE 1000\n8BITMIME|4|0|0;");
	check(S("250-\r\n250 last\r\n"), "250||\nlast|2|0|0;");
}

static void
test_enhanced(void)
{
	check(S("550 5.1.1 <a@b>: user unknown\r\n"), "550|5.1.1|<a@b>: user unknown|1|0|0;");
	check(S("550-5.7.1 first\r\n550 5.7.1 second\r\n"), "550|5.7.1|first\nsecond|2|0|0;");
	check(S("250 2.0.0\r\n"), "250|2.0.0||1|0|0;");
	check(S("451 4.123.456 x\r\n"), "451|4.123.456|x|1|0|0;");
	/* class must match, digits bounded, followed by SP or end */
	check(S("550 4.1.1 wrong class\r\n"), "550||4.1.1 wrong class|1|0|0;");
	check(S("550 5.1234.1 x\r\n"), "550||5.1234.1 x|1|0|0;");
	check(S("550 5.1.1x\r\n"), "550||5.1.1x|1|0|0;");
	check(S("550 5..1 x\r\n"), "550||5..1 x|1|0|0;");
}

static void
test_malformed(void)
{
	check(S("250-first\r\n251 other code\r\n"), "ERR");
	check(S("25\r\n"), "ERR");
	check(S("abc def\r\n"), "ERR");
	check(S("250x text\r\n"), "ERR");
	check(S("150 preliminary\r\n"), "ERR");
	check(S("260 bad second digit\r\n"), "ERR");
	check(S("\r\n"), "ERR");
	/* a good reply first, then garbage: the reply is still delivered */
	check(S("250 ok\r\nXXX\r\n250 ok\r\n"), "250||ok|1|0|0;ERR");
}

static void
test_sticky_error(void)
{
	struct smtp_reply_parser p;
	const struct smtp_reply *r;
	const char *err;
	size_t used;

	smtp_reply_parser_init(&p, NULL);
	T_INTEQ(smtp_reply_parser_feed(&p, (const uint8_t *)"xx\r\n", 4, &used, &r, &err),
		SMTP_REPLY_ERROR);
	T_INTEQ(smtp_reply_parser_feed(&p, (const uint8_t *)"250 ok\r\n", 8, &used, &r, &err),
		SMTP_REPLY_ERROR);
	smtp_reply_parser_reset(&p);
	T_INTEQ(smtp_reply_parser_feed(&p, (const uint8_t *)"250 ok\r\n", 8, &used, &r, &err),
		SMTP_REPLY_DONE);
	T_INTEQ(r->code, 250);
	smtp_reply_parser_deinit(&p);
}

static void
test_bare_lf_and_cr(void)
{
	check(S("250-a\n250 b\r\n"), "250||a\nb|2|0|1;");
	check(S("250 a\rb\r\n"), "250||a\rb|1|0|0;");
	check(S("250 a\r\r\n"), "250||a\r|1|0|0;");
}

static void
test_long_lines(void)
{
	struct smtp_reply_limits lim = { .max_line = 12, .max_lines = 3 };

	/* 12 octets kept including CRLF: exactly fits */
	check_lim(S("250 abcdef\r\n"), "250||abcdef|1|0|0;", &lim);
	/* "250 abcdefg\r" is 12 kept, CR among them but line longer: the CR
	 * is not stripped as it was not the end */
	check_lim(S("250 abcdefgh\r\n250 x\r\n"), "250||abcdefgh|1|1|0;250||x|1|0|0;", &lim);
	check_lim(S("250 abcdefghijklmnop\r\n"), "250||abcdefgh|1|1|0;", &lim);
	check_lim(S("250-a\r\n250-b\r\n250 c\r\n"), "250||a\nb\nc|3|0|0;", &lim);
	check_lim(S("250-a\r\n250-b\r\n250-c\r\n250 d\r\n"), "ERR", &lim);
}

static void
test_default_limits(void)
{
	struct buf in, out;
	size_t i;

	/* a 3000-octet line is truncated to 2048 kept octets, not an error */
	buf_init(&in, 0);
	buf_append_str(&in, "550 ");
	for (i = 0; i < 3000; i++)
		buf_append_byte(&in, 'x');
	buf_append_str(&in, "\r\n");
	buf_init(&out, 0);
	parse(buf_cstr(&in), buf_len(&in), buf_len(&in), buf_len(&in), NULL, &out);
	T_INTEQ(buf_len(&out), 4 + 1 + 2044 + 7);
	T_ASSERT(strstr(buf_cstr(&out), "|1|1|0;") != NULL);
	buf_deinit(&in);
	buf_deinit(&out);
}

static void
test_sanitize(void)
{
	struct buf b;
	char *s;

	buf_init(&b, 0);
	T_INTEQ(smtp_reply_sanitize(S("line one\nline\ttwo\x01\x7f\xc3\xa9"), 100, &b), 0);
	T_STREQ(buf_cstr(&b), "line one line?two????");
	buf_reset(&b);
	T_INTEQ(smtp_reply_sanitize(S("abcdefghijklmnop"), 10, &b), 0);
	T_STREQ(buf_cstr(&b), "abcdefg...");
	buf_reset(&b);
	T_INTEQ(smtp_reply_sanitize(S("abcdefghij"), 10, &b), 0);
	T_STREQ(buf_cstr(&b), "abcdefghij");
	buf_deinit(&b);
	buf_init(&b, 4);
	T_INTEQ(smtp_reply_sanitize(S("abcdefghij"), 100, &b), -1);
	T_INTEQ(buf_len(&b), 0);
	buf_deinit(&b);
	s = smtp_reply_sanitize_dup("a\0b\r\n", 5, 100);
	T_STREQ(s, "a?b? ");
	mem_free(&s);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_single_line),
		TEST_ENTRY(test_multi_line),
		TEST_ENTRY(test_enhanced),
		TEST_ENTRY(test_malformed),
		TEST_ENTRY(test_sticky_error),
		TEST_ENTRY(test_bare_lf_and_cr),
		TEST_ENTRY(test_long_lines),
		TEST_ENTRY(test_default_limits),
		TEST_ENTRY(test_sanitize),
		{ NULL, NULL },
	};

	return test_main("smtp-reply", tests);
}
