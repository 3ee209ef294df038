/*
 * test-pop3-command.c - POP3 line reader and command parser.
 *
 * Every input is run whole, one byte at a time and split in two at every
 * point; each run produces a transcript of the reader's events and the
 * parser's results, and all transcripts must be identical to the expected one.
 */
#include "pop3/pop3-command.h"
#include "core/mem.h"
#include "core/test.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* Parse one line and describe the result: "KEYWORD(id)[arg][arg]" or "!error". */
static void
describe_line(struct buf *out, char *line, size_t len)
{
	struct pop3_command_limits limits;
	struct pop3_command cmd;
	const char *error;

	pop3_command_limits_init_default(&limits);
	if (pop3_command_parse(line, len, &limits, &cmd, &error) < 0) {
		buf_printf(out, "!%s\n", error);
		return;
	}
	buf_printf(out, "%s(%d)", cmd.keyword, (int)cmd.id);
	for (unsigned i = 0; i < cmd.argc; i++) {
		T_INTEQ(strlen(cmd.args[i]), cmd.arg_lens[i]);
		buf_printf(out, "[%s]", cmd.args[i]);
	}
	buf_append_str(out, "\n");
}

/*
 * Feed data[0..len) in pieces of at most `chunk` bytes, except that with
 * split != 0 it is fed as [0, split) and [split, len). "AUTH X" without a
 * second argument switches the next line to a 1000-octet maximum, as the
 * engine does for SASL continuation lines.
 */
static void
run_reader(const char *data, size_t len, size_t chunk, size_t split, size_t max_line,
	   struct buf *out)
{
	struct pop3_line_reader r;
	size_t done = 0;
	bool auth_next = false, switch_auth = false;

	pop3_line_reader_init(&r, max_line);
	while (done < len) {
		size_t n = split != 0 ? (done < split ? split - done : len - done) : chunk;
		size_t pos = 0;

		if (n > len - done)
			n = len - done;
		while (pos < n) {
			size_t used;
			char *line;
			size_t line_len;
			int ret = pop3_line_reader_feed(&r, (const uint8_t *)data + done + pos,
							n - pos, &used, &line, &line_len);

			T_ASSERT(used <= n - pos);
			pos += used;
			if (ret == 0) {
				T_INTEQ(pos, n);
				break;
			}
			if (ret < 0) {
				buf_append_str(out, "TOO-LONG\n");
			} else if (auth_next) {
				buf_printf(out, "AUTH-LINE %zu\n", line_len);
			} else {
				T_INTEQ(line[line_len], '\0');
				switch_auth = line_len == 6 && memcmp(line, "AUTH X", 6) == 0;
				describe_line(out, line, line_len);
			}
			if (auth_next) {
				auth_next = false;
				pop3_line_reader_set_max(&r, max_line);
			} else if (switch_auth) {
				switch_auth = false;
				auth_next = true;
				pop3_line_reader_set_max(&r, 1000);
			}
		}
		done += n;
	}
	if (pop3_line_reader_in_line(&r))
		buf_append_str(out, "PARTIAL\n");
	pop3_line_reader_deinit(&r);
}

/* Run every split and compare each transcript with the expected one. */
static void
check_splits(const char *data, size_t len, size_t max_line, const char *expect)
{
	struct buf out;

	buf_init(&out, 0);
	run_reader(data, len, len == 0 ? 1 : len, 0, max_line, &out);
	if (!T_STREQ(buf_cstr(&out), expect))
		fprintf(stderr, "  input: %.*s\n", (int)len, data);
	buf_reset(&out);
	run_reader(data, len, 1, 0, max_line, &out);
	T_STREQ(buf_cstr(&out), expect);
	for (size_t split = 1; split < len; split++) {
		buf_reset(&out);
		run_reader(data, len, len, split, max_line, &out);
		if (!T_STREQ(buf_cstr(&out), expect))
			fprintf(stderr, "  split at %zu\n", split);
	}
	buf_deinit(&out);
}
#define CHECK(lit, expect) check_splits((lit), sizeof(lit) - 1, 255, (expect))

static void
test_pop3_command_basic(void)
{
	CHECK("USER tim\r\nPASS secret\r\nSTAT\r\nquit\r\n",
	      "USER(1)[tim]\nPASS(2)[secret]\nSTAT(5)\nQUIT(13)\n");
	CHECK("list 1\r\nUidL\r\nRetr 12\r\ntop 1 10\r\ndele 3\r\nnoop\r\nrset\r\ncapa\r\n",
	      "LIST(6)[1]\nUIDL(7)\nRETR(8)[12]\nTOP(9)[1][10]\nDELE(10)[3]\nNOOP(11)\n"
	      "RSET(12)\nCAPA(4)\n");
	/* bare LF line ends, and a CR only before the LF is a line end */
	CHECK("STAT\nNOOP\r\n", "STAT(5)\nNOOP(11)\n");
	/* unknown but well-formed keywords parse as UNKNOWN */
	CHECK("APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\nLAST\r\nXY\r\n",
	      "APOP(0)[mrose][c4c9334bac560ecc979e58001b3e22fb]\nLAST(0)\nXY(0)\n");
	/* STLS (RFC 2595 4), any case; arguments are the engine's business */
	CHECK("STLS\r\nstls\r\nStLs x\r\n", "STLS(14)\nSTLS(14)\nSTLS(14)[x]\n");
	/* incomplete last line */
	CHECK("STAT\r\nNOO", "STAT(5)\nPARTIAL\n");
	CHECK("", "");
}

static void
test_pop3_command_pass(void)
{
	/* RFC 1939 7: the password is the rest of the line, spaces included */
	CHECK("PASS  two  spaces \r\n", "PASS(2)[ two  spaces ]\n");
	CHECK("pass a\tb\r\n", "PASS(2)[a\tb]\n");
	CHECK("PASS \r\nPASS\r\n", "!syntax error: extra space\nPASS(2)\n");
	CHECK("PASS a\rb\r\n", "!invalid character in command line\n");
	/* long password: not limited to 40 octets, only by the line */
	CHECK("PASS 0123456789012345678901234567890123456789012345\r\n",
	      "PASS(2)[0123456789012345678901234567890123456789012345]\n");
}

static void
test_pop3_command_syntax_errors(void)
{
	CHECK("\r\n\n", "!empty command line\n!empty command line\n");
	CHECK(" STAT\r\n", "!syntax error: leading space\n");
	CHECK("STAT \r\n", "!syntax error: extra space\n");
	CHECK("TOP 1  2\r\n", "!syntax error: extra space\n");
	CHECK("TOP 1 2 3\r\n", "!too many arguments\n");
	CHECK("STATS\r\nR3TR 1\r\n\xc3\x9cSER\r\n",
	      "!unknown command\n!unknown command\n!unknown command\n");
	CHECK("USER a\x01\r\n", "!invalid character in command line\n");
	CHECK("USER a\x7f\r\n", "!invalid character in command line\n");
	CHECK("USER a\tb\r\n", "!invalid character in command line\n");
	CHECK("USER a\0b\r\n", "!invalid character in command line\n");
	CHECK("USER a\rb\r\n", "!invalid character in command line\n");
	/* 40 octets per argument (RFC 2449 4); 8-bit text is allowed */
	CHECK("USER 0123456789012345678901234567890123456789\r\n",
	      "USER(1)[0123456789012345678901234567890123456789]\n");
	CHECK("USER 01234567890123456789012345678901234567890\r\n", "!argument too long\n");
	CHECK("USER j\xc3\xbcrgen\r\n", "USER(1)[j\xc3\xbcrgen]\n");
}

static void
test_pop3_command_auth(void)
{
	/* RFC 5034 4: the initial response is limited only by the line */
	CHECK("AUTH PLAIN AHRpbQB0YW5zdGFhZnRhbnN0YWFmAHRpbQB0YW5zdGFhZnRhbnN0YWFm\r\n",
	      "AUTH(3)[PLAIN][AHRpbQB0YW5zdGFhZnRhbnN0YWFmAHRpbQB0YW5zdGFhZnRhbnN0YWFm]\n");
	CHECK("AUTH\r\nAUTH PLAIN =\r\n", "AUTH(3)\nAUTH(3)[PLAIN][=]\n");
	CHECK("AUTH 0123456789012345678901234567890123456789X\r\n", "!argument too long\n");
}

/* Build "PASS xxx..." of len octets including the line end. */
static size_t
make_line(char *dst, size_t len, const char *eol)
{
	size_t prefix = strlen("PASS "), el = strlen(eol);

	memcpy(dst, "PASS ", prefix);
	memset(dst + prefix, 'x', len - prefix - el);
	memcpy(dst + len - el, eol, el);
	return len;
}

static void
test_pop3_command_line_limit(void)
{
	char data[2000];
	size_t n;

	/* 255 octets including CRLF is accepted; 256 is not (RFC 2449 4) */
	n = make_line(data, 255, "\r\n");
	n += make_line(data + n, 256, "\r\n");
	n += make_line(data + n, 255, "\n");
	n += make_line(data + n, 256, "\n");
	memcpy(data + n, "NOOP\r\n", 6);
	n += 6;
	{
		struct buf e;

		buf_init(&e, 0);
		buf_append_str(&e, "PASS(2)[");
		for (int i = 0; i < 248; i++)
			buf_append_byte(&e, 'x');
		buf_append_str(&e, "]\nTOO-LONG\nPASS(2)[");
		for (int i = 0; i < 249; i++)
			buf_append_byte(&e, 'x');
		buf_append_str(&e, "]\nTOO-LONG\nNOOP(11)\n");
		check_splits(data, n, 255, buf_cstr(&e));
		buf_deinit(&e);
	}
	/* a huge line is reported once, and the next line still works */
	memset(data, 'A', 1500);
	memcpy(data + 1500, "\r\nSTAT\r\n", 8);
	check_splits(data, 1508, 255, "TOO-LONG\nSTAT(5)\n");
	/* an over-long line without its end yet: reported once, then skipping */
	check_splits(data, 1500, 255, "TOO-LONG\nPARTIAL\n");
	/* tiny maximum */
	check_splits("ab\r\na\r\nb\n", 9, 3, "TOO-LONG\nA(0)\nB(0)\n");
	check_splits("ab\nabc\r\nabc\n", 12, 3, "AB(0)\nTOO-LONG\nTOO-LONG\n");
}

static void
test_pop3_command_auth_line_limit(void)
{
	char data[3000];
	size_t n = 0;

	/* after "AUTH X" the next line may be up to 1000 octets (see run_reader) */
	memcpy(data, "AUTH X\r\n", 8);
	n = 8;
	memset(data + n, 'Q', 998);
	n += 998;
	memcpy(data + n, "\r\nAUTH X\r\n", 10);
	n += 10;
	memset(data + n, 'Q', 999);
	n += 999;
	memcpy(data + n, "\r\nNOOP\r\n", 8);
	n += 8;
	check_splits(data, n, 255,
		     "AUTH(3)[X]\nAUTH-LINE 998\nAUTH(3)[X]\nTOO-LONG\nNOOP(11)\n");
}

static void
test_pop3_command_numbers(void)
{
	uint64_t v;
	unsigned m;

	T_INTEQ(pop3_command_parse_uint("0", 10, &v), 1);
	T_INTEQ(v, 0);
	T_INTEQ(pop3_command_parse_uint("0010", 10, &v), 1);
	T_INTEQ(v, 10);
	T_INTEQ(pop3_command_parse_uint("11", 10, &v), -1);
	T_INTEQ(pop3_command_parse_uint("18446744073709551615", UINT64_MAX, &v), 1);
	T_ASSERT(v == UINT64_MAX);
	T_INTEQ(pop3_command_parse_uint("18446744073709551616", UINT64_MAX, &v), -1);
	T_INTEQ(pop3_command_parse_uint("99999999999999999999999", UINT64_MAX, &v), -1);
	T_INTEQ(pop3_command_parse_uint("", 10, &v), -1);
	T_INTEQ(pop3_command_parse_uint("-1", 10, &v), -1);
	T_INTEQ(pop3_command_parse_uint("+1", 10, &v), -1);
	T_INTEQ(pop3_command_parse_uint("1 ", 10, &v), -1);
	T_INTEQ(pop3_command_parse_uint("0x1", 100, &v), -1);
	T_INTEQ(pop3_command_parse_uint("5", 4, &v), -1);
	T_INTEQ(pop3_command_parse_msgnum("1", &m), 1);
	T_INTEQ(m, 1);
	T_INTEQ(pop3_command_parse_msgnum("4294967295", &m), 1);
	T_ASSERT(m == UINT_MAX);
	T_INTEQ(pop3_command_parse_msgnum("4294967296", &m), -1);
	T_INTEQ(pop3_command_parse_msgnum("0", &m), -1);
	T_INTEQ(pop3_command_parse_msgnum("000", &m), -1);
}

static const struct test tests[] = {
	TEST_ENTRY(test_pop3_command_basic),
	TEST_ENTRY(test_pop3_command_pass),
	TEST_ENTRY(test_pop3_command_syntax_errors),
	TEST_ENTRY(test_pop3_command_auth),
	TEST_ENTRY(test_pop3_command_line_limit),
	TEST_ENTRY(test_pop3_command_auth_line_limit),
	TEST_ENTRY(test_pop3_command_numbers),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("pop3-command", tests);
}
