/*
 * test-smtp-command.c - command line reader, command parser, xtext.
 *
 * The reader is fed every input whole, one byte at a time, and split in two
 * at every point; the events (lines and errors) must be identical and equal
 * to the expected list. The parser is then run on each line of a session
 * script read the same ways.
 */
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-command.h"

#include <stdio.h>
#include <string.h>

static struct smtp_command_limits limits;

/* Describe one parsed command as text, for comparisons. */
static void
describe_command(const uint8_t *line, size_t len, struct buf *out)
{
	struct smtp_command cmd;
	const char *err;
	int ret = smtp_command_parse(line, len, &limits, SMTP_COMMAND_PARSE_UTF8, &cmd, &err);

	buf_printf(out, "%s", smtp_verb_name(cmd.verb));
	if (cmd.args != NULL)
		buf_printf(out, " args=[%s]", cmd.args);
	if (cmd.path.localpart != NULL) {
		buf_append_str(out, " path=");
		smtp_address_format_path(&cmd.path, out);
	}
	for (unsigned i = 0; ret > 0 && i < cmd.n_params; i++)
		buf_printf(out, " %s=%s", cmd.params[i].keyword,
			   cmd.params[i].value == NULL ? "(none)" : cmd.params[i].value);
	if (cmd.verb == SMTP_VERB_BDAT && ret > 0)
		buf_printf(out, " size=%llu%s", (unsigned long long)cmd.chunk_size,
			   cmd.last ? " LAST" : "");
	if (ret < 0)
		buf_printf(out, " error=%d(%s)", cmd.error, err);
	buf_append_byte(out, '\n');
	smtp_command_deinit(&cmd);
}

/*
 * Feed pieces of in (sizes from the split function) the way the engine does:
 * unconsumed bytes stay and are passed again with the next piece.
 */
static void
run_reader(const char *in, size_t len, size_t max_line, size_t split_a, size_t step,
	   bool parse, struct buf *events)
{
	struct smtp_command_reader r;
	struct buf pending;
	size_t pos = 0;

	smtp_command_reader_init(&r, max_line);
	buf_init(&pending, 0);
	while (pos < len) {
		size_t n = pos == 0 && split_a > 0 ? split_a : step;

		if (n > len - pos)
			n = len - pos;
		buf_append(&pending, in + pos, n);
		pos += n;
		for (;;) {
			const uint8_t *line;
			size_t used, line_len;
			enum smtp_command_read_result res =
				smtp_command_reader_read(&r, buf_data(&pending), buf_len(&pending),
							 &used, &line, &line_len);

			T_ASSERT(used <= buf_len(&pending));
			buf_consume(&pending, used);
			if (res == SMTP_COMMAND_READ_NEED_MORE) {
				T_INTEQ(buf_len(&pending), 0);
				break;
			}
			if (res == SMTP_COMMAND_READ_LINE) {
				T_ASSERT(memchr(line, '\r', line_len) == NULL);
				T_ASSERT(memchr(line, '\n', line_len) == NULL);
				if (parse) {
					describe_command(line, line_len, events);
				} else {
					buf_append_str(events, "L:");
					buf_append(events, line, line_len);
					buf_append_byte(events, '\n');
				}
			} else {
				bool long_line = res == SMTP_COMMAND_READ_TOO_LONG;

				buf_append_str(events, long_line ? "E:long\n" : "E:bare\n");
			}
		}
	}
	buf_deinit(&pending);
	smtp_command_reader_deinit(&r);
}

/* Whole, byte by byte, and every two-piece split give `expected`. */
static void
check_reader(const char *in, size_t max_line, bool parse, const char *expected)
{
	size_t len = strlen(in);
	struct buf ev;

	buf_init(&ev, 0);
	run_reader(in, len, max_line, 0, len == 0 ? 1 : len, parse, &ev);
	T_STREQ(buf_cstr(&ev), expected);
	buf_reset(&ev);
	run_reader(in, len, max_line, 0, 1, parse, &ev);
	T_STREQ(buf_cstr(&ev), expected);
	for (size_t split = 1; split < len; split++) {
		buf_reset(&ev);
		run_reader(in, len, max_line, split, len, parse, &ev);
		if (!T_STREQ(buf_cstr(&ev), expected)) {
			fprintf(stderr, "  at split %zu\n", split);
			break;
		}
	}
	buf_deinit(&ev);
}

static void
test_reader_lines(void)
{
	check_reader("EHLO x\r\nMAIL FROM:<a@b>\r\n", 2048, false,
		     "L:EHLO x\nL:MAIL FROM:<a@b>\n");
	check_reader("\r\n\r\n", 2048, false, "L:\nL:\n");
	check_reader("NOOP\r", 2048, false, "");
	check_reader("partial", 2048, false, "");
}

static void
test_reader_bare_newlines(void)
{
	/* a bare LF or CR is reported once; the rest up to CRLF is skipped */
	check_reader("abc\ndef\r\nGHI\r\n", 2048, false, "E:bare\nL:GHI\n");
	check_reader("abc\rdef\r\nNOOP\r\n", 2048, false, "E:bare\nL:NOOP\n");
	check_reader("abc\r\r\nNOOP\r\n", 2048, false, "E:bare\nL:NOOP\n");
	check_reader("\nNOOP\r\nQUIT\r\n", 2048, false, "E:bare\nL:QUIT\n");
	check_reader("NOOP\n\n\nRSET\r\n", 2048, false, "E:bare\n");
	check_reader("a\n.\nMAIL FROM:<x@y>\r\nRCPT TO:<z@y>\r\n", 2048, false,
		     "E:bare\nL:RCPT TO:<z@y>\n");
	check_reader("a\r.\r\nQUIT\r\n", 2048, false, "E:bare\nL:QUIT\n");
}

static void
test_reader_too_long(void)
{
	/* max_line 16 counts the CRLF: 14 octets of text fit */
	check_reader("0123456789abcd\r\nNOOP\r\n", 16, false, "L:0123456789abcd\nL:NOOP\n");
	check_reader("0123456789abcde\r\nNOOP\r\n", 16, false, "E:long\nL:NOOP\n");
	check_reader("0123456789abcd\rx\r\nNOOP\r\n", 16, false, "E:bare\nL:NOOP\n");
	/* one report per line, whatever the skipped part holds */
	check_reader("0123456789abcdefghijklmnopq\nrst\r\rxyz\r\nNOOP\r\n", 16, false,
		     "E:long\nL:NOOP\n");
	check_reader("0123456789abcdefghijklmnopqrstuvwxyz0123456789abcdefghij", 16, false,
		     "E:long\n");
	check_reader("0123456789abcdefg\r\n0123456789abcdefg\r\nQUIT\r\n", 16, false,
		     "E:long\nE:long\nL:QUIT\n");
}

static void
test_reader_parse_script(void)
{
	check_reader("EHLO client.example\r\n"
		     "MAIL FROM:<a@b.example> SIZE=100 BODY=8BITMIME\r\n"
		     "RCPT TO:<Postmaster>\r\n"
		     "RCPT TO: <\"x y\"@c.example>\r\n"
		     "DATA\r\n"
		     "BDAT 10 LAST\r\n"
		     "noop   \r\n"
		     "xyzzy\r\n"
		     "QUIT\r\n",
		     2048, true,
		     "EHLO args=[client.example]\n"
		     "MAIL path=<a@b.example> SIZE=100 BODY=8BITMIME\n"
		     "RCPT path=<Postmaster>\n"
		     "RCPT path=<\"x y\"@c.example>\n"
		     "DATA\n"
		     "BDAT size=10 LAST\n"
		     "NOOP\n"
		     "UNKNOWN\n"
		     "QUIT\n");
}

/* Parse one line; returns the description. */
static const char *
parse_line(const char *line, struct buf *out)
{
	buf_reset(out);
	describe_command((const uint8_t *)line, strlen(line), out);
	buf_truncate(out, buf_len(out) - 1);
	return buf_cstr(out);
}

static void
test_parse_verbs(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(parse_line("ehlo x.example", &o), "EHLO args=[x.example]");
	T_STREQ(parse_line("HeLo x", &o), "HELO args=[x]");
	T_STREQ(parse_line("EHLO [192.0.2.1]", &o), "EHLO args=[[192.0.2.1]]");
	T_STREQ(parse_line("EHLO", &o), "EHLO error=1(Domain or address literal required)");
	T_STREQ(parse_line("EHLO a b", &o), "EHLO error=1(Invalid domain)");
	T_STREQ(parse_line("EHLO  x", &o), "EHLO error=1(Invalid domain)");
	T_STREQ(parse_line("DATA", &o), "DATA");
	T_STREQ(parse_line("data \t ", &o), "DATA");
	T_STREQ(parse_line("DATA x", &o), "DATA error=1(No arguments allowed)");
	T_STREQ(parse_line("RSET", &o), "RSET");
	T_STREQ(parse_line("QUIT", &o), "QUIT");
	T_STREQ(parse_line("STARTTLS", &o), "STARTTLS");
	T_STREQ(parse_line("NOOP", &o), "NOOP");
	T_STREQ(parse_line("NOOP hello there", &o), "NOOP args=[hello there]");
	T_STREQ(parse_line("HELP", &o), "HELP");
	T_STREQ(parse_line("HELP \x01", &o), "HELP error=1(Invalid character in argument)");
	T_STREQ(parse_line("VRFY", &o), "VRFY error=1(Argument required)");
	T_STREQ(parse_line("VRFY user", &o), "VRFY args=[user]");
	T_STREQ(parse_line("EXPN list", &o), "EXPN args=[list]");
	T_STREQ(parse_line("AUTH PLAIN", &o), "AUTH args=[PLAIN]");
	T_STREQ(parse_line("XYZZY", &o), "UNKNOWN");
	T_STREQ(parse_line("", &o), "UNKNOWN");
	T_STREQ(parse_line("MAILFROM:<a@b>", &o), "UNKNOWN");
	T_STREQ(parse_line("GET / HTTP/1.1", &o), "UNKNOWN");
	T_STREQ(parse_line("HELP\x01", &o), "UNKNOWN");
	T_STREQ(smtp_verb_name(SMTP_VERB_STARTTLS), "STARTTLS");
	T_STREQ(smtp_verb_name((enum smtp_verb)999), "UNKNOWN");
	buf_deinit(&o);
}

static void
test_parse_mail_rcpt(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(parse_line("MAIL FROM:<>", &o), "MAIL path=<>");
	T_STREQ(parse_line("mail from:<a@b>", &o), "MAIL path=<a@b>");
	T_STREQ(parse_line("MAIL FROM: <a@b>", &o), "MAIL path=<a@b>");
	T_STREQ(parse_line("MAIL FROM:  <a@b>", &o),
		"MAIL error=2(Path must start with <)");
	T_STREQ(parse_line("MAIL FROM:a@b", &o), "MAIL error=2(Path must start with <)");
	T_STREQ(parse_line("MAIL FROM <a@b>", &o),
		"MAIL error=1(Syntax: MAIL FROM:<address>)");
	T_STREQ(parse_line("MAIL TO:<a@b>", &o), "MAIL error=1(Syntax: MAIL FROM:<address>)");
	T_STREQ(parse_line("MAIL", &o), "MAIL error=1(Syntax: MAIL FROM:<address>)");
	T_STREQ(parse_line("MAIL FROM:<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8", &o),
		"MAIL path=<a@b> SIZE=100 BODY=8BITMIME SMTPUTF8=(none)");
	T_STREQ(parse_line("MAIL FROM:<a@b> x-Y2=v!~<>", &o), "MAIL path=<a@b> x-Y2=v!~<>");
	T_STREQ(parse_line("MAIL FROM:<a@b>  SIZE=100", &o),
		"MAIL path=<a@b> error=3(Invalid parameter keyword)");
	T_STREQ(parse_line("MAIL FROM:<a@b> SIZE=", &o),
		"MAIL path=<a@b> error=3(Empty parameter value)");
	T_STREQ(parse_line("MAIL FROM:<a@b> SIZE=1=2", &o),
		"MAIL path=<a@b> error=3(Invalid character in parameter value)");
	T_STREQ(parse_line("MAIL FROM:<a@b> -X", &o),
		"MAIL path=<a@b> error=3(Invalid parameter keyword)");
	T_STREQ(parse_line("MAIL FROM:<a@b> X_Y", &o),
		"MAIL path=<a@b> error=3(Invalid parameter keyword)");
	T_STREQ(parse_line("MAIL FROM:<a@b> K=v\xc3\xa4", &o),
		"MAIL path=<a@b> error=3(Invalid character in parameter value)");
	T_STREQ(parse_line("MAIL FROM:<a@b>X", &o),
		"MAIL path=<a@b> error=1(Unexpected character after path)");
	T_STREQ(parse_line("MAIL FROM:<a@b>>", &o),
		"MAIL path=<a@b> error=1(Unexpected character after path)");
	T_STREQ(parse_line("MAIL FROM:<Postmaster>", &o),
		"MAIL error=2(Missing @domain in address)");
	T_STREQ(parse_line("RCPT TO:<Postmaster>", &o), "RCPT path=<Postmaster>");
	T_STREQ(parse_line("RCPT TO:<>", &o), "RCPT error=2(Null path not allowed here)");
	T_STREQ(parse_line("RCPT TO:<@r.example:u@d.example> NOTIFY=NEVER", &o),
		"RCPT path=<u@d.example> NOTIFY=NEVER");
	T_STREQ(parse_line("RCPT FROM:<u@d>", &o), "RCPT error=1(Syntax: RCPT TO:<address>)");
	buf_deinit(&o);
}

static void
test_parse_utf8_flag(void)
{
	struct smtp_command cmd;
	const char *err;
	static const char line[] = "MAIL FROM:<j\xc3\xb6rg@example.com> SMTPUTF8";

	T_INTEQ(smtp_command_parse((const uint8_t *)line, strlen(line), &limits,
				   SMTP_COMMAND_PARSE_UTF8, &cmd, &err), 1);
	T_ASSERT(cmd.path.utf8);
	T_ASSERT(smtp_command_find_param(&cmd, "smtputf8") != NULL);
	T_ASSERT(smtp_command_find_param(&cmd, "SIZE") == NULL);
	smtp_command_deinit(&cmd);
	T_INTEQ(smtp_command_parse((const uint8_t *)line, strlen(line), &limits, 0, &cmd, &err),
		-1);
	T_INTEQ(cmd.verb, SMTP_VERB_MAIL);
	T_INTEQ(cmd.error, SMTP_COMMAND_ERROR_PATH);
	smtp_command_deinit(&cmd);
}

static void
test_parse_params_limit(void)
{
	struct buf line, o;
	struct smtp_command cmd;
	const char *err;

	buf_init(&line, 0);
	buf_init(&o, 0);
	buf_append_str(&line, "MAIL FROM:<a@b>");
	for (unsigned i = 0; i < limits.max_params; i++)
		buf_printf(&line, " P%u=%u", i, i);
	T_INTEQ(smtp_command_parse(buf_data(&line), buf_len(&line), &limits, 0, &cmd, &err), 1);
	T_INTEQ(cmd.n_params, limits.max_params);
	smtp_command_deinit(&cmd);
	buf_append_str(&line, " ONE=MORE");
	T_INTEQ(smtp_command_parse(buf_data(&line), buf_len(&line), &limits, 0, &cmd, &err), -1);
	T_INTEQ(cmd.error, SMTP_COMMAND_ERROR_PARAM);
	T_STREQ(err, "Too many parameters");
	smtp_command_deinit(&cmd);
	buf_deinit(&line);
	buf_deinit(&o);
}

static void
test_parse_bdat(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(parse_line("BDAT 100", &o), "BDAT size=100");
	T_STREQ(parse_line("bdat 0 last", &o), "BDAT size=0 LAST");
	T_STREQ(parse_line("BDAT 007 LAST", &o), "BDAT size=7 LAST");
	T_STREQ(parse_line("BDAT 18446744073709551615", &o), "BDAT size=18446744073709551615");
	T_STREQ(parse_line("BDAT 18446744073709551616", &o), "BDAT error=1(Chunk size too large)");
	T_STREQ(parse_line("BDAT 99999999999999999999999", &o),
		"BDAT error=1(Chunk size too large)");
	T_STREQ(parse_line("BDAT", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT x", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT -1", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT 10 LASTX", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT 10  LAST", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT 10 LAST x", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	T_STREQ(parse_line("BDAT 10x", &o), "BDAT error=1(Syntax: BDAT size [LAST])");
	buf_deinit(&o);
}

static void
test_xtext(void)
{
	struct buf out;
	const char *err;
	uint8_t all[256];

	buf_init(&out, 0);
	T_INTEQ(smtp_xtext_decode("a+2Bb+3Dc", 9, &out, &err), 1);
	T_STREQ(buf_cstr(&out), "a+b=c");
	buf_reset(&out);
	T_INTEQ(smtp_xtext_decode("rfc822;user+40example.com", 25, &out, &err), 1);
	T_STREQ(buf_cstr(&out), "rfc822;user@example.com");
	T_INTEQ(smtp_xtext_decode("abc+2b", 6, &out, &err), -1);        /* lower-case hex */
	T_INTEQ(smtp_xtext_decode("abc+2", 5, &out, &err), -1);
	T_INTEQ(smtp_xtext_decode("abc+", 4, &out, &err), -1);
	T_INTEQ(smtp_xtext_decode("a b", 3, &out, &err), -1);
	T_INTEQ(smtp_xtext_decode("a=b", 3, &out, &err), -1);
	T_INTEQ(smtp_xtext_decode("a\xc3\xa4", 3, &out, &err), -1);
	T_STREQ(buf_cstr(&out), "rfc822;user@example.com");         /* unchanged by errors */
	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	buf_reset(&out);
	T_INTEQ(smtp_xtext_encode(all, sizeof(all), &out), 0);
	{
		struct buf back;

		buf_init(&back, 0);
		T_INTEQ(smtp_xtext_decode(buf_cstr(&out), buf_len(&out), &back, &err), 1);
		T_MEMEQ(buf_data(&back), buf_len(&back), all, sizeof(all));
		buf_deinit(&back);
	}
	buf_deinit(&out);
	buf_init(&out, 2);
	T_INTEQ(smtp_xtext_encode((const uint8_t *)"+", 1, &out), -1);
	T_INTEQ(buf_len(&out), 0);
	buf_deinit(&out);
}

/* RFC 3461 4.1-4.4 value checks, each accepted and refused form. */
static void
test_dsn_values(void)
{
	char long_value[SMTP_DSN_ORCPT_MAX + 2];
	enum smtp_dsn_ret ret = SMTP_DSN_RET_NONE;
	unsigned notify = 0;
	const char *err = NULL;

	T_INTEQ(smtp_dsn_parse_notify("NEVER", &notify, &err), 1);
	T_INTEQ(notify, SMTP_DSN_NOTIFY_NEVER);
	T_INTEQ(smtp_dsn_parse_notify("success,Failure,DELAY", &notify, &err), 1);
	T_INTEQ(notify, SMTP_DSN_NOTIFY_SUCCESS | SMTP_DSN_NOTIFY_FAILURE | SMTP_DSN_NOTIFY_DELAY);
	T_INTEQ(smtp_dsn_parse_notify("DELAY,DELAY", &notify, &err), 1);
	T_INTEQ(notify, SMTP_DSN_NOTIFY_DELAY);
	notify = 99;
	T_INTEQ(smtp_dsn_parse_notify("NEVER,DELAY", &notify, &err), -1);
	T_INTEQ(notify, 99);
	T_STREQ(err, "NOTIFY=NEVER cannot be combined with other values");
	T_INTEQ(smtp_dsn_parse_notify("SUCCESS,NEVER", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify(NULL, &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify("", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify(",", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify("SUCCESS,", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify(",SUCCESS", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify("SUCCES", &notify, &err), -1);
	T_INTEQ(smtp_dsn_parse_notify("SUCCESSX", &notify, &err), -1);

	T_INTEQ(smtp_dsn_parse_ret("full", &ret, &err), 1);
	T_INTEQ(ret, SMTP_DSN_RET_FULL);
	T_INTEQ(smtp_dsn_parse_ret("HDRS", &ret, &err), 1);
	T_INTEQ(ret, SMTP_DSN_RET_HDRS);
	T_INTEQ(smtp_dsn_parse_ret("HDR", &ret, &err), -1);
	T_INTEQ(smtp_dsn_parse_ret(NULL, &ret, &err), -1);

	T_INTEQ(smtp_dsn_check_envid("QQ314159+2B+20x", &err), 1);
	T_INTEQ(smtp_dsn_check_envid(NULL, &err), -1);
	T_INTEQ(smtp_dsn_check_envid("+7F", &err), -1);         /* DEL */
	T_INTEQ(smtp_dsn_check_envid("+09", &err), -1);         /* TAB is not printable here */
	T_INTEQ(smtp_dsn_check_envid("+80", &err), -1);
	memset(long_value, 'x', SMTP_DSN_ENVID_MAX);
	long_value[SMTP_DSN_ENVID_MAX] = '\0';
	T_INTEQ(smtp_dsn_check_envid(long_value, &err), 1);
	long_value[SMTP_DSN_ENVID_MAX] = 'x';
	long_value[SMTP_DSN_ENVID_MAX + 1] = '\0';
	T_INTEQ(smtp_dsn_check_envid(long_value, &err), -1);

	T_INTEQ(smtp_dsn_check_orcpt("rfc822;a+2Bb@x.example", &err), 1);
	T_INTEQ(smtp_dsn_check_orcpt("utf-8;+C3+A4@x.example", &err), 1);
	T_INTEQ(smtp_dsn_check_orcpt("x-odd!type;a", &err), 1);
	T_INTEQ(smtp_dsn_check_orcpt("rfc822;a;b", &err), 1);    /* ";" is xtext */
	T_INTEQ(smtp_dsn_check_orcpt("rfc822", &err), -1);
	T_INTEQ(smtp_dsn_check_orcpt(";a@b", &err), -1);
	T_INTEQ(smtp_dsn_check_orcpt("rfc822;", &err), -1);
	T_INTEQ(smtp_dsn_check_orcpt("rfc 822;a", &err), -1);
	T_INTEQ(smtp_dsn_check_orcpt("rfc822;a+00", &err), -1);
	T_INTEQ(smtp_dsn_check_orcpt("rfc822;a+0d", &err), -1);
	memcpy(long_value, "rfc822;", 7);
	memset(long_value + 7, 'y', SMTP_DSN_ORCPT_MAX - 7);
	long_value[SMTP_DSN_ORCPT_MAX] = '\0';
	T_INTEQ(smtp_dsn_check_orcpt(long_value, &err), 1);
	long_value[SMTP_DSN_ORCPT_MAX] = 'y';
	long_value[SMTP_DSN_ORCPT_MAX + 1] = '\0';
	T_INTEQ(smtp_dsn_check_orcpt(long_value, &err), -1);
}

static const struct test tests[] = {
	TEST_ENTRY(test_reader_lines),
	TEST_ENTRY(test_reader_bare_newlines),
	TEST_ENTRY(test_reader_too_long),
	TEST_ENTRY(test_reader_parse_script),
	TEST_ENTRY(test_parse_verbs),
	TEST_ENTRY(test_dsn_values),
	TEST_ENTRY(test_parse_mail_rcpt),
	TEST_ENTRY(test_parse_utf8_flag),
	TEST_ENTRY(test_parse_params_limit),
	TEST_ENTRY(test_parse_bdat),
	TEST_ENTRY(test_xtext),
	{ NULL, NULL },
};

int
main(void)
{
	smtp_command_limits_init_default(&limits);
	return test_main("smtp-command", tests);
}
