/*
 * test-imap-parser.c - the IMAP command parser and its argument helpers.
 *
 * Every input is fed whole, one byte at a time, and split in two at every
 * point; the events (commands with their argument trees, continuation
 * requests, errors, lines) must be identical and equal to the expected text.
 * The harness plays the engine: it answers nothing, but switches to line
 * mode after IDLE and after AUTHENTICATE without an initial response, as the
 * engine will.
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-parser.h"

#include <stdio.h>
#include <string.h>

static struct imap_parser_limits limits;
static unsigned parser_flags;

static void
describe_event(struct imap_parser *p, enum imap_parser_result res, struct buf *ev)
{
	const struct imap_command *cmd;
	const struct imap_parser_error *err;
	const char *line;
	size_t len;

	switch (res) {
	case IMAP_PARSER_COMMAND:
		cmd = imap_parser_get_command(p);
		buf_printf(ev, "C %s %s", cmd->tag, cmd->name);
		if (cmd->n_args > 0)
			buf_append_byte(ev, ' ');
		imap_args_describe(cmd->args, cmd->n_args, ev);
		buf_append_byte(ev, '\n');
		if (strcmp(cmd->name, "IDLE") == 0 ||
		    (strcmp(cmd->name, "AUTHENTICATE") == 0 && cmd->n_args == 1))
			imap_parser_expect_line(p);
		break;
	case IMAP_PARSER_CONTINUE:
		buf_printf(ev, "+ %llu\n", (unsigned long long)imap_parser_literal_size(p));
		break;
	case IMAP_PARSER_ERROR:
		err = imap_parser_get_error(p);
		buf_printf(ev, "E %s %d %s", err->tag == NULL ? "*" : err->tag, err->code,
			   err->message);
		if (err->skip_bytes > 0)
			buf_printf(ev, " skip=%llu", (unsigned long long)err->skip_bytes);
		buf_append_byte(ev, '\n');
		break;
	case IMAP_PARSER_LINE:
		line = imap_parser_get_line(p, &len);
		T_INTEQ(strlen(line), len);
		buf_printf(ev, "L %s\n", line);
		break;
	case IMAP_PARSER_NEED_MORE:
		break;
	}
}

/* Feed in pieces (first piece split_a bytes, then step bytes), keeping
 * unconsumed bytes for the next call, as the engine does. */
static void
run_parser(const char *in, size_t len, size_t split_a, size_t step, struct buf *ev)
{
	struct imap_parser *p = imap_parser_new(&limits, parser_flags);
	struct buf pending;
	size_t pos = 0;

	buf_init(&pending, 0);
	while (pos < len) {
		size_t n = pos == 0 && split_a > 0 ? split_a : step;

		if (n > len - pos)
			n = len - pos;
		buf_append(&pending, in + pos, n);
		pos += n;
		for (;;) {
			size_t used;
			enum imap_parser_result res =
				imap_parser_feed(p, buf_data(&pending), buf_len(&pending), &used);

			T_ASSERT(used <= buf_len(&pending));
			buf_consume(&pending, used);
			if (res == IMAP_PARSER_NEED_MORE) {
				T_INTEQ(buf_len(&pending), 0);
				break;
			}
			describe_event(p, res, ev);
		}
	}
	buf_deinit(&pending);
	imap_parser_free(&p);
}

/* Whole, byte by byte, and every two-piece split give `expected`. */
static void
check_len(const char *in, size_t len, const char *expected)
{
	struct buf ev;

	buf_init(&ev, 0);
	run_parser(in, len, 0, len == 0 ? 1 : len, &ev);
	T_STREQ(buf_cstr(&ev), expected);
	buf_reset(&ev);
	run_parser(in, len, 0, 1, &ev);
	T_STREQ(buf_cstr(&ev), expected);
	for (size_t split = 1; split < len; split++) {
		buf_reset(&ev);
		run_parser(in, len, split, len, &ev);
		if (!T_STREQ(buf_cstr(&ev), expected)) {
			fprintf(stderr, "  at split %zu\n", split);
			break;
		}
	}
	buf_deinit(&ev);
}

static void
check(const char *in, const char *expected)
{
	check_len(in, strlen(in), expected);
}

/* For inputs holding NUL: the length of the string literal. */
#define CHECKB(in, expected) check_len((in), sizeof(in) - 1, (expected))

static void
setup(void)
{
	imap_parser_limits_init_default(&limits);
	parser_flags = IMAP_PARSER_FLAG_LITERAL_MINUS;
}

static void
test_simple(void)
{
	setup();
	check("a1 NOOP\r\n", "C a1 NOOP\n");
	check("a1 noop\r\nA2 Capability\r\n", "C a1 NOOP\nC A2 CAPABILITY\n");
	check("a1 NOOP\n", "C a1 NOOP\n");
	check("a1 LOGIN user \"pass word\"\r\n", "C a1 LOGIN user \"pass word\"\n");
	check("x LOGIN \"a\\\"b\\\\c\" nil\r\n", "C x LOGIN \"a\\\"b\\\\c\" nil\n");
	check("tag.1] SELECT INBOX\r\n", "C tag.1] SELECT INBOX\n");
	check("a SELECT \"\"\r\n", "C a SELECT \"\"\n");
	check("a NOOP ()\r\n", "C a NOOP ()\n");
	check("a NOOP (())\r\n", "C a NOOP (())\n");
	/* extra spaces between arguments and at the end are tolerated */
	check("a NOOP  x   y  \r\n", "C a NOOP x y\n");
	/* partial input: no event */
	check("a1 NOOP", "");
	check("a1 NOOP\r", "");
}

static void
test_real_clients(void)
{
	setup();
	/* Thunderbird */
	check("1 capability\r\n"
	      "2 authenticate PLAIN\r\n"
	      "dXNlcgB1c2VyAHBhc3M=\r\n"
	      "3 ID (\"name\" \"Thunderbird\" \"version\" \"128.3.0\")\r\n"
	      "4 select \"INBOX\" (CONDSTORE)\r\n"
	      "5 UID fetch 1:* (FLAGS)\r\n"
	      "6 IDLE\r\n"
	      "DONE\r\n",
	      "C 1 CAPABILITY\n"
	      "C 2 AUTHENTICATE PLAIN\n"
	      "L dXNlcgB1c2VyAHBhc3M=\n"
	      "C 3 ID (\"name\" \"Thunderbird\" \"version\" \"128.3.0\")\n"
	      "C 4 SELECT \"INBOX\" (CONDSTORE)\n"
	      "C 5 UID fetch 1:* (FLAGS)\n"
	      "C 6 IDLE\n"
	      "L DONE\n");
	check("a1 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
	      "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
	      "Content-Type Reply-To)])\r\n",
	      "C a1 UID FETCH 1:* (UID RFC822.SIZE FLAGS BODY.PEEK[HEADER.FIELDS (From To Cc Bcc "
	      "Subject Date Message-ID Priority X-Priority References Newsgroups In-Reply-To "
	      "Content-Type Reply-To)])\n");
	/* Apple Mail */
	check("3 APPEND INBOX (\\Seen) \"22-Nov-2026 12:00:00 +0000\" {11}\r\nHello world\r\n",
	      "+ 11\n"
	      "C 3 APPEND INBOX (\\Seen) \"22-Nov-2026 12:00:00 +0000\" {11}\"Hello world\"\n");
	check("4 UID FETCH 4:6 (BODY.PEEK[1.2.MIME] BODY.PEEK[]<0.2048> BINARY.PEEK[1]<0.100>)\r\n",
	      "C 4 UID FETCH 4:6 (BODY.PEEK[1.2.MIME] BODY.PEEK[]<0.2048> "
	      "BINARY.PEEK[1]<0.100>)\n");
	/* mbsync */
	check("6 UID FETCH 1:1000000000 (UID FLAGS)\r\n"
	      "7 UID STORE 5 +FLAGS.SILENT (\\Deleted \\Seen)\r\n"
	      "8 APPEND \"Sent\" (\\Seen) {5+}\r\nabcde\r\n",
	      "C 6 UID FETCH 1:1000000000 (UID FLAGS)\n"
	      "C 7 UID STORE 5 +FLAGS.SILENT (\\Deleted \\Seen)\n"
	      "C 8 APPEND \"Sent\" (\\Seen) {5+}\"abcde\"\n");
	/* mutt */
	check("a0004 STATUS \"INBOX\" (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\r\n"
	      "a0005 SEARCH CHARSET UTF-8 SUBJECT {4+}\r\n\xc3\xa4\x62\x63\r\n"
	      "A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)\r\n",
	      "C a0004 STATUS \"INBOX\" (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN)\n"
	      "C a0005 SEARCH CHARSET UTF-8 SUBJECT {4+}\"\\xc3\\xa4bc\"\n"
	      "C A003 STORE 2:4 +FLAGS.SILENT (\\Deleted)\n");
	/* Outlook */
	check("A1 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))\r\n"
	      "A2 LSUB \"\" *\r\nA3 LIST \"\" %/%\r\n",
	      "C A1 LIST \"\" \"*\" RETURN (SPECIAL-USE STATUS (MESSAGES UNSEEN))\n"
	      "C A2 LSUB \"\" *\nC A3 LIST \"\" %/%\n");
	/* QRESYNC (RFC 7162 3.2.5), SEARCHRES (RFC 5182) */
	check("a ENABLE QRESYNC\r\n"
	      "b SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\r\n"
	      "c UID SEARCH RETURN (SAVE) SINCE 1-Feb-1994\r\nd UID FETCH $ (FLAGS)\r\n",
	      "C a ENABLE QRESYNC\n"
	      "C b SELECT INBOX (QRESYNC (67890007 20050715194045000 41,43:211,214:541))\n"
	      "C c UID SEARCH RETURN (SAVE) SINCE 1-Feb-1994\nC d UID FETCH $ (FLAGS)\n");
	/* AUTHENTICATE with SASL-IR stays in command mode (RFC 4959) */
	check("a AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\r\nb NOOP\r\n",
	      "C a AUTHENTICATE PLAIN AHVzZXIAcGFzcw==\nC b NOOP\n");
	/* literal8 (RFC 3516) with NUL, and an empty literal */
	CHECKB("a APPEND x ~{3}\r\na\0b\r\nb LOGIN {0}\r\n {0+}\r\n\r\n",
		  "+ 3\nC a APPEND x ~{3}\"a\\x00b\"\n+ 0\nC b LOGIN {0}\"\" {0+}\"\"\n");
	/* "~" not before "{" starts an atom */
	check("a NOOP ~x ~\r\n", "C a NOOP ~x ~\n");
}

static void
test_brackets(void)
{
	setup();
	check("a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" \"]\" Y)]<10.20>\r\n",
	      "C a FETCH 1 BODY[HEADER.FIELDS.NOT (\"X-A\" \"]\" Y)]<10.20>\n");
	check("a FETCH 1 (BODY[] BODY[TEXT])\r\n", "C a FETCH 1 (BODY[] BODY[TEXT])\n");
	check("a FETCH 1 BODY[a[b]c]\r\n", "C a FETCH 1 BODY[a[b]c]\n");
	check("a FETCH 1 BODY[TEXT\r\nb NOOP\r\n", "E a 1 Missing ]\nC b NOOP\n");
	check("a FETCH 1 BODY[\"x\\q\"]\r\nb NOOP\r\n", "E a 1 Invalid escape\nC b NOOP\n");
	/* every fetch-att that takes a section, in any case */
	check("a FETCH 1 (body.peek[1 2] Binary[1] BINARY.PEEK[2]<0.1> binary.size[3])\r\n",
	      "C a FETCH 1 (body.peek[1 2] Binary[1] BINARY.PEEK[2]<0.1> binary.size[3])\n");
	/* RFC 9051 9: "[" and "}" are ATOM-CHARs; a section opens only after
	 * those names, so an astring may hold them (imaptest "atoms") */
	check("a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\r\n",
	      "C a SELECT !#$&'+,-.0123456789:;<=>?@^_`|[}\n");
	check("a SELECT x[y z]\r\n", "C a SELECT x[y z]\n");
	check("a LIST \"\" a[%*\r\n", "C a LIST \"\" a[%*\n");
	check("a FETCH 1 RFC822[x y]\r\n", "C a FETCH 1 RFC822[x y]\n");
	check("a FETCH 1 BODYX[x y]\r\n", "C a FETCH 1 BODYX[x y]\n");
	/* after a section, a second "[" is an atom character again */
	check("a FETCH 1 BODY[1][2 x]\r\n", "C a FETCH 1 BODY[1][2 x]\n");
}

/* The atoms around "[": a section only after the FETCH names (RFC 9051 9). */
static void
test_bracket_atoms(void)
{
	static const char in[] = "a X BODY[1 2] x[y] NIL [ BINARY.SIZE[]\r\n";
	struct imap_parser *p;
	const struct imap_command *cmd;
	const char *s;
	size_t used, len;

	setup();
	p = imap_parser_new(&limits, parser_flags);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)in, sizeof(in) - 1, &used),
		IMAP_PARSER_COMMAND);
	cmd = imap_parser_get_command(p);
	T_INTEQ(cmd->n_args, 5);
	T_ASSERT((cmd->args[0].flags & IMAP_ARG_FLAG_BRACKET) != 0);
	T_ASSERT(!imap_arg_get_astring(&cmd->args[0], &s, &len));
	T_ASSERT((cmd->args[1].flags & IMAP_ARG_FLAG_BRACKET) == 0);
	T_ASSERT(imap_arg_get_astring(&cmd->args[1], &s, &len) && strcmp(s, "x[y]") == 0);
	T_INTEQ(cmd->args[2].type, IMAP_ARG_NIL);
	T_ASSERT(imap_arg_get_astring(&cmd->args[3], &s, &len) && strcmp(s, "[") == 0);
	T_ASSERT((cmd->args[4].flags & IMAP_ARG_FLAG_BRACKET) != 0);
	imap_parser_free(&p);
}

static void
test_literals(void)
{
	setup();
	/* a literal in a list and a literal followed by more arguments */
	check("a LOGIN {4}\r\nuser {4}\r\npass\r\n",
	      "+ 4\n+ 4\nC a LOGIN {4}\"user\" {4}\"pass\"\n");
	check("a X ({2}\r\nab {1+}\r\nc)\r\n", "+ 2\nC a X ({2}\"ab\" {1+}\"c\")\n");
	/* literal data may hold CR LF and anything but NUL */
	check("a APPEND x {6}\r\n\r\n)(\"\\\r\n",
	      "+ 6\nC a APPEND x {6}\"\\x0d\\x0a)(\\\"\\\\\"\n");
	check("a X {5}\r\nab\r\n", "+ 5\n");
	check("a X {3}x\r\nb NOOP\r\n", "E a 1 Literal must end the line\nC b NOOP\n");
	check("a X {}\r\nb NOOP\r\n", "E a 1 Invalid literal size\nC b NOOP\n");
	check("a X {+}\r\nb NOOP\r\n", "E a 1 Invalid literal size\nC b NOOP\n");
	check("a X {1x}\r\nb NOOP\r\n", "E a 1 Invalid literal size\nC b NOOP\n");
	check("a X {1}\rb\r\nb NOOP\r\n", "E a 1 CR not followed by LF\nC b NOOP\n");
	check("a X {1}ab\r\n", "E a 1 Literal must end the line\n");
	/* a literal must be followed by a separator */
	check("a X {1}\r\nab\r\nb NOOP\r\n",
	      "+ 1\nE a 1 Missing space between arguments\nC b NOOP\n");
	/* NUL in a literal: the rest of the literal and the line are skipped */
	CHECKB("a X {4}\r\na\0bc d\r\nb NOOP\r\n",
		  "+ 4\nE a 1 NUL byte in literal skip=3\nC b NOOP\n");
	/* the skip after an error is not confused by a literal's data */
	CHECKB("a X {4}\r\na\0\r\nb NOOP\r\nc NOOP\r\n",
		  "+ 4\nE a 1 NUL byte in literal skip=3\nC c NOOP\n");
}

static void
test_literal_limits(void)
{
	setup();
	limits.max_literal = 10;
	/* synchronizing: refused without "+", the command ends there */
	check("a APPEND x {11}\r\nb NOOP\r\n", "E a 3 Literal too big\nC b NOOP\n");
	check("a APPEND x {10}\r\n0123456789\r\n", "+ 10\nC a APPEND x {10}\"0123456789\"\n");
	check("a APPEND x {99999999999999999999999}\r\nb NOOP\r\n",
	      "E a 3 Literal too big\nC b NOOP\n");
	/* non-synchronizing: its data is discarded, then the rest of the line */
	check("a APPEND x {11+}\r\nb NOOP\r\nxyz\r\nc NOOP\r\n",
	      "E a 3 Literal too big skip=11\nC c NOOP\n");
	check("a APPEND x {11+}\r\nb NOOP\r\nxyz {2+}\r\nyy {0+}\r\n\r\nc NOOP\r\n",
	      "E a 3 Literal too big skip=11\nC c NOOP\n");
	/* LITERAL- (RFC 7888 4) caps non-synchronizing literals at 4096 */
	limits.max_literal = 100000;
	check("a APPEND x {4097+}\r\n",
	      "E a 3 Non-synchronizing literal too big (LITERAL-) skip=4097\n");
	parser_flags = 0;
	check("a APPEND x {5+}\r\nhello\r\n", "C a APPEND x {5+}\"hello\"\n");
	/* the whole command */
	limits.max_command = 40;
	check("a X {10}\r\n0123456789 {10}\r\n0123456789 {10}\r\nb NOOP\r\n",
	      "+ 10\n+ 10\nE a 3 Command too big\nC b NOOP\n");
}

static void
test_errors(void)
{
	setup();
	check("\r\na NOOP\r\n", "E * 1 Empty command line\nC a NOOP\n");
	check("a\r\n", "E a 1 Missing command name\n");
	check("a \r\n", "E a 1 Missing command name\n");
	check(" NOOP\r\nb NOOP\r\n", "E * 1 Missing tag\nC b NOOP\n");
	check("+ NOOP\r\n", "E * 1 Invalid character in tag\n");
	check("* NOOP\r\n", "E * 1 Invalid character in tag\n");
	check("a(b NOOP\r\n", "E * 1 Invalid character in tag\n");
	check("a NO(OP\r\n", "E a 1 Invalid character in command name\n");
	check("a LOGIN \"abc\r\nb NOOP\r\n", "E a 1 Unterminated quoted string\nC b NOOP\n");
	check("a LOGIN \"a\\b\"\r\n", "E a 1 Invalid escape in quoted string\n");
	check("a X (a b\r\n", "E a 1 Missing )\n");
	check("a X a)\r\n", "E a 1 Unexpected )\n");
	check("a X \"a\"b\r\n", "E a 1 Missing space between arguments\n");
	check("a X (a)b\r\n", "E a 1 Missing space between arguments\n");
	check("a X a\"b\r\n", "E a 1 Invalid character in atom\n");
	check("a X a{1}\r\n", "E a 1 Invalid character in atom\n");
	check("a X a\\b\r\n", "E a 1 Invalid character in atom\n");
	check("a X \x01\r\n", "E a 1 Invalid character\n");
	check("a X a\rb\r\nc NOOP\r\n", "E a 1 CR not followed by LF\nC c NOOP\n");
	CHECKB("a X a\0b\r\nc NOOP\r\n", "E a 1 NUL byte in command\nC c NOOP\n");
	CHECKB("a\0 X\r\nc NOOP\r\n", "E * 1 NUL byte in command\nC c NOOP\n");
	CHECKB("a X \"a\0\"\r\n", "E a 1 NUL byte in quoted string\n");
	check("a X \xc3\xa4\r\n", "E a 1 8-bit character outside a string\n");
	check("a X \"\xc3\xa4\"\r\n",
	      "E a 1 8-bit character in quoted string without UTF8=ACCEPT\n");
	parser_flags |= IMAP_PARSER_FLAG_UTF8;
	check("a SELECT \"\xc3\xa4\"\r\n", "C a SELECT \"\\xc3\\xa4\"\n");
	check("a SELECT \"\xc3\"\r\n", "E a 1 Invalid UTF-8 in quoted string\n");
	check("a SELECT \"\xed\xa0\x80\"\r\n", "E a 1 Invalid UTF-8 in quoted string\n");
	check("a SELECT \xc3\xa4\r\n", "E a 1 8-bit character outside a string\n");
}

static void
test_resync(void)
{
	setup();
	/* the rest of the bad line is skipped, its literal data too */
	check("a X \"a\"b {3+}\r\nabc\r\nd NOOP\r\n",
	      "E a 1 Missing space between arguments\nC d NOOP\n");
	/* after the literal data the skipped command line goes on */
	check("a X \"a\"b {3+}\r\nc\r\nd NOOP\r\ne NOOP\r\n",
	      "E a 1 Missing space between arguments\nC e NOOP\n");
	check("a X \"a\"b {3}\r\nc NOOP\r\n", "E a 1 Missing space between arguments\nC c NOOP\n");
	/* an error at the very start of a literal header keeps its size */
	check("a X ) {3+}\r\nabc\r\nd NOOP\r\n", "E a 1 Unexpected )\nC d NOOP\n");
	check("a1 SELECT INBOX (\r\na2 NOOP\r\n", "E a1 1 Missing )\nC a2 NOOP\n");
	check("a1 NOOP ((((\r\n))))\r\na2 NOOP\r\n",
	      "E a1 1 Missing )\nE * 1 Invalid character in tag\nC a2 NOOP\n");
}

static void
test_limits(void)
{
	char line[300];

	setup();
	limits.max_depth = 3;
	check("a X (((a)))\r\n", "C a X (((a)))\n");
	check("a X ((((a))))\r\nb NOOP\r\n", "E a 4 Lists nested too deeply\nC b NOOP\n");
	limits.max_args = 4;
	check("a X 1 2 (3) 4\r\nb X 1 2 3 4\r\n", "E a 4 Too many arguments\nC b X 1 2 3 4\n");
	setup();
	limits.max_line = 20;
	/* max_line counts the CRLF */
	check("a X 0123456789abcd\r\nb NOOP\r\n", "C a X 0123456789abcd\nC b NOOP\n");
	check("a X 0123456789abcde\r\nb NOOP\r\n", "E a 2 Command line too long\nC b NOOP\n");
	check("a X 0123456789abcdefghijklmnopq\r\nb NOOP\r\n",
	      "E a 2 Command line too long\nC b NOOP\n");
	/* the limit counts the line bytes of all fragments, not literal data */
	check("a X {3}\r\nabc 01234567\r\n", "+ 3\nC a X {3}\"abc\" 01234567\n");
	check("a X {3}\r\nabc 012345678\r\n", "+ 3\nE a 2 Command line too long\n");
	/* the limit cuts through a non-synchronizing literal header at each of
	 * its bytes: the literal's data is still skipped */
	for (size_t k = 10; k <= 15; k++) {
		snprintf(line, sizeof(line), "a X %.*s {3+}\r\nabc\r\nb NOOP\r\n", (int)k,
			 "0123456789abcdef");
		/* k == 10: the limit is hit by the header's own LF */
		check(line, k == 10 ? "E a 2 Command line too long skip=3\nC b NOOP\n"
				    : "E a 2 Command line too long\nC b NOOP\n");
	}
	setup();
	memset(line, 'x', sizeof(line));
	limits.max_line = 64;
	check_len(line, sizeof(line), "E * 2 Command line too long\n");
}

static void
test_line_mode(void)
{
	setup();
	check("a IDLE\r\nDONE\r\nb NOOP\r\n", "C a IDLE\nL DONE\nC b NOOP\n");
	check("a IDLE\ndone\nb NOOP\n", "C a IDLE\nL done\nC b NOOP\n");
	check("a AUTHENTICATE PLAIN\r\n*\r\n", "C a AUTHENTICATE PLAIN\nL *\n");
	check("a AUTHENTICATE PLAIN\r\n\r\n", "C a AUTHENTICATE PLAIN\nL \n");
	/* line mode takes any bytes but NUL and bare CR; no literal skipping */
	check("a IDLE\r\n\xff{5+}\r\nb NOOP\r\n", "C a IDLE\nL \xff{5+}\nC b NOOP\n");
	CHECKB("a IDLE\r\nDO\0NE {2+}\r\nb NOOP\r\n",
		  "C a IDLE\nE * 1 NUL byte in line\nC b NOOP\n");
	check("a IDLE\r\nDO\rNE\r\nb NOOP\r\n",
	      "C a IDLE\nE * 1 CR not followed by LF\nC b NOOP\n");
	limits.max_line = 16;
	check("a IDLE\r\n0123456789abcdef\r\nb NOOP\r\n",
	      "C a IDLE\nE * 2 Line too long\nC b NOOP\n");
}

/* The helpers on one parsed command. */
static void
test_helpers(void)
{
	static const char in[] =
		"t1 X atom NIL \"q s\" {3}\r\nlit ~{2+}\r\nl8 4294967295 4294967296 "
		"9223372036854775807 9223372036854775808 % a]b BODY[x y] (1 (2)) 007\r\n";
	struct imap_parser *p;
	const struct imap_command *cmd;
	const struct imap_arg *list;
	const uint8_t *bytes;
	const char *s;
	size_t len, used;
	unsigned count;
	uint32_t n32;
	uint64_t n64;

	setup();
	p = imap_parser_new(&limits, parser_flags);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)in, sizeof(in) - 1, &used),
		IMAP_PARSER_CONTINUE);
	T_INTEQ(imap_parser_literal_size(p), 3);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)in + used, sizeof(in) - 1 - used, &used),
		IMAP_PARSER_COMMAND);
	cmd = imap_parser_get_command(p);
	T_INTEQ(cmd->n_args, 14);
	T_ASSERT(imap_command_arg(cmd, 14) == NULL);
	T_ASSERT(imap_arg_atom_equals(imap_command_arg(cmd, 0), "ATOM"));
	T_ASSERT(imap_arg_get_atom(imap_command_arg(cmd, 0), &s) && strcmp(s, "atom") == 0);
	T_INTEQ(cmd->args[1].type, IMAP_ARG_NIL);
	T_ASSERT(!imap_arg_get_atom(&cmd->args[1], &s));
	T_ASSERT(imap_arg_get_astring(&cmd->args[1], &s, &len) && strcmp(s, "NIL") == 0);
	T_ASSERT(imap_arg_get_nstring(&cmd->args[1], &s, &len) && s == NULL);
	T_ASSERT(!imap_arg_get_string(&cmd->args[1], &s, &len));
	T_ASSERT(imap_arg_get_string(&cmd->args[2], &s, &len) && len == 3 && strcmp(s, "q s") == 0);
	T_ASSERT(imap_arg_get_astring(&cmd->args[3], &s, &len) && strcmp(s, "lit") == 0);
	T_ASSERT(!imap_arg_get_astring(&cmd->args[4], &s, &len));
	T_ASSERT(imap_arg_get_bytes(&cmd->args[4], &bytes, &len) && len == 2);
	T_ASSERT(imap_arg_get_number(&cmd->args[5], &n32) && n32 == UINT32_MAX);
	T_ASSERT(!imap_arg_get_number(&cmd->args[6], &n32));
	T_ASSERT(imap_arg_get_number64(&cmd->args[6], &n64) && n64 == 4294967296ULL);
	T_ASSERT(imap_arg_get_number64(&cmd->args[7], &n64) && n64 == 9223372036854775807ULL);
	T_ASSERT(!imap_arg_get_number64(&cmd->args[8], &n64));
	T_ASSERT(!imap_arg_get_astring(&cmd->args[9], &s, &len));
	T_ASSERT(imap_arg_get_list_mailbox(&cmd->args[9], &s, &len) && strcmp(s, "%") == 0);
	T_ASSERT(imap_arg_get_astring(&cmd->args[10], &s, &len) && strcmp(s, "a]b") == 0);
	T_ASSERT(!imap_arg_get_astring(&cmd->args[11], &s, &len));
	T_ASSERT((cmd->args[11].flags & IMAP_ARG_FLAG_BRACKET) != 0);
	T_ASSERT(imap_arg_get_list(&cmd->args[12], &list, &count) && count == 2);
	T_ASSERT(imap_arg_get_list(&list[1], &list, &count) && count == 1);
	T_ASSERT(imap_arg_get_number(&list[0], &n32) && n32 == 2);
	T_ASSERT(!imap_arg_get_list(&cmd->args[0], &list, &count));
	T_ASSERT(imap_arg_get_number(&cmd->args[13], &n32) && n32 == 7);
	T_ASSERT(!imap_arg_get_bytes(&cmd->args[12], &bytes, &len));
	T_STREQ(imap_arg_type_name(IMAP_ARG_LITERAL8), "literal8");
	T_ASSERT(!imap_arg_get_number(NULL, &n32));
	imap_parser_free(&p);
	T_ASSERT(p == NULL);
}

/* Limits and flags change between commands; reset drops a partial command. */
static void
test_set_limits_reset(void)
{
	struct imap_parser *p;
	size_t used;

	setup();
	p = imap_parser_new(&limits, 0);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)"a NOOP\r\n", 8, &used), IMAP_PARSER_COMMAND);
	limits.max_literal = 2;
	imap_parser_set_limits(p, &limits);
	imap_parser_set_flags(p, IMAP_PARSER_FLAG_UTF8);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)"b X {3}\r\n", 9, &used), IMAP_PARSER_ERROR);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)"c X \"\xc3\xa4\" (a", 11, &used),
		IMAP_PARSER_NEED_MORE);
	imap_parser_reset(p);
	T_INTEQ(imap_parser_feed(p, (const uint8_t *)"d NOOP\r\n", 8, &used), IMAP_PARSER_COMMAND);
	T_STREQ(imap_parser_get_command(p)->tag, "d");
	imap_parser_free(&p);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_simple),
		TEST_ENTRY(test_real_clients),
		TEST_ENTRY(test_brackets),
		TEST_ENTRY(test_bracket_atoms),
		TEST_ENTRY(test_literals),
		TEST_ENTRY(test_literal_limits),
		TEST_ENTRY(test_errors),
		TEST_ENTRY(test_resync),
		TEST_ENTRY(test_limits),
		TEST_ENTRY(test_line_mode),
		TEST_ENTRY(test_helpers),
		TEST_ENTRY(test_set_limits_reset),
		{ NULL, NULL },
	};

	return test_main("imap-parser", tests);
}
