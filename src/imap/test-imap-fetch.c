/*
 * test-imap-fetch.c - FETCH items: parsing (through the command parser,
 * fed whole and one byte at a time), rendering against the MIME samples,
 * BINARY decoding and PREVIEW.
 */
#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-fetch.h"
#include "imap/imap-server.h"
#include "mime/test-mime-samples.h"

#include <string.h>

/* ---- parsing ---- */

static struct imap_parser *
new_parser(void)
{
	struct imap_parser_limits limits;

	imap_parser_limits_init_default(&limits);
	return imap_parser_new(&limits, 0);
}

static const char *const type_names[] = {
	[IMAP_FETCH_UID] = "UID",
	[IMAP_FETCH_FLAGS] = "FLAGS",
	[IMAP_FETCH_INTERNALDATE] = "INTERNALDATE",
	[IMAP_FETCH_RFC822_SIZE] = "RFC822.SIZE",
	[IMAP_FETCH_ENVELOPE] = "ENVELOPE",
	[IMAP_FETCH_BODY] = "BODY",
	[IMAP_FETCH_BODYSTRUCTURE] = "BODYSTRUCTURE",
	[IMAP_FETCH_RFC822] = "RFC822",
	[IMAP_FETCH_RFC822_HEADER] = "RFC822.HEADER",
	[IMAP_FETCH_RFC822_TEXT] = "RFC822.TEXT",
	[IMAP_FETCH_MODSEQ] = "MODSEQ",
	[IMAP_FETCH_SAVEDATE] = "SAVEDATE",
	[IMAP_FETCH_EMAILID] = "EMAILID",
	[IMAP_FETCH_THREADID] = "THREADID",
	[IMAP_FETCH_PREVIEW] = "PREVIEW",
	[IMAP_FETCH_BODY_SECTION] = "BODY",
	[IMAP_FETCH_BINARY] = "BINARY",
	[IMAP_FETCH_BINARY_SIZE] = "BINARY.SIZE",
};

static void
describe_items(const struct imap_fetch_items *items, struct buf *out)
{
	for (unsigned i = 0; i < items->count; i++) {
		const struct imap_fetch_item *it = &items->items[i];

		if (i > 0)
			buf_append_byte(out, ' ');
		buf_append_str(out, type_names[it->type]);
		if (it->peek && it->type != IMAP_FETCH_BINARY_SIZE)
			buf_append_str(out, ".PEEK");
		if (it->spec != NULL)
			buf_printf(out, "[%s]", it->spec);
		if (it->partial)
			buf_printf(out, "<%llu.%llu>", (unsigned long long)it->partial_origin,
				   (unsigned long long)it->partial_count);
	}
}

/* Parse "t FETCH 1 <items>" in pieces of `step` octets (0 = whole); the
 * description of the items, or "BAD <error>". */
static void
parse_with(const char *items_text, size_t step, struct buf *out)
{
	struct imap_parser *p = new_parser();
	struct buf line;
	size_t off = 0, used;
	enum imap_parser_result res = IMAP_PARSER_NEED_MORE;

	buf_init(&line, 0);
	buf_printf(&line, "t FETCH 1 %s\r\n", items_text);
	while (off < buf_len(&line)) {
		size_t n = step == 0 ? buf_len(&line) - off : step;

		if (n > buf_len(&line) - off)
			n = buf_len(&line) - off;
		res = imap_parser_feed(p, buf_data(&line) + off, n, &used);
		off += used;
		if (res != IMAP_PARSER_NEED_MORE)
			break;
	}
	if (res == IMAP_PARSER_COMMAND) {
		const struct imap_command *cmd = imap_parser_get_command(p);
		struct imap_fetch_items *items = NULL;
		const char *error = NULL;

		if (cmd->n_args != 2) {
			buf_append_str(out, "ARGS");
		} else if (imap_fetch_parse(&cmd->args[1], &items, &error) > 0) {
			describe_items(items, out);
			imap_fetch_items_free(&items);
			T_ASSERT(items == NULL);
		} else {
			T_ASSERT(items == NULL);
			buf_printf(out, "BAD %s", error);
		}
	} else {
		buf_printf(out, "PARSER %d", res);
	}
	imap_parser_free(&p);
	buf_deinit(&line);
}

static void
check_parse(const char *items_text, const char *expected, int line)
{
	struct buf whole, bytes;

	buf_init(&whole, 0);
	buf_init(&bytes, 0);
	parse_with(items_text, 0, &whole);
	parse_with(items_text, 1, &bytes);
	if (!T_STREQ(buf_cstr(&whole), expected))
		T_INTEQ(line, 0);
	T_STREQ(buf_cstr(&bytes), buf_cstr(&whole));
	buf_deinit(&whole);
	buf_deinit(&bytes);
}
#define CHECK_PARSE(in, exp) check_parse((in), (exp), __LINE__)

static void
test_parse_macros(void)
{
	CHECK_PARSE("ALL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE");
	CHECK_PARSE("fast", "FLAGS INTERNALDATE RFC822.SIZE");
	CHECK_PARSE("FULL", "FLAGS INTERNALDATE RFC822.SIZE ENVELOPE BODY");
	/* macros are not fetch-atts: not in a list (RFC 9051 9) */
	CHECK_PARSE("(ALL)", "BAD Unknown fetch item");
	CHECK_PARSE("(FLAGS FAST)", "BAD Unknown fetch item");
}

static void
test_parse_simple(void)
{
	CHECK_PARSE("UID", "UID");
	CHECK_PARSE("(uid flags Flags UID rfc822.size)", "UID FLAGS RFC822.SIZE");
	CHECK_PARSE("(ENVELOPE BODY BODYSTRUCTURE RFC822 RFC822.HEADER RFC822.TEXT)",
		    "ENVELOPE BODY BODYSTRUCTURE RFC822 RFC822.HEADER RFC822.TEXT");
	CHECK_PARSE("(MODSEQ SAVEDATE EMAILID THREADID PREVIEW INTERNALDATE)",
		    "MODSEQ SAVEDATE EMAILID THREADID PREVIEW INTERNALDATE");
	CHECK_PARSE("(UID PREVIEW (LAZY))", "UID PREVIEW");
	CHECK_PARSE("(UID PREVIEW (FOO))", "BAD Invalid fetch item");
	CHECK_PARSE("(UID (LAZY))", "BAD Invalid fetch item");
	CHECK_PARSE("()", "BAD Empty fetch item list");
	CHECK_PARSE("FOO", "BAD Unknown fetch item");
	CHECK_PARSE("\"UID\"", "BAD Invalid fetch item");
	CHECK_PARSE("(UID NIL)", "BAD Invalid fetch item");
	CHECK_PARSE("((UID))", "BAD Invalid fetch item");
}

static void
test_parse_sections(void)
{
	CHECK_PARSE("BODY[]", "BODY[]");
	CHECK_PARSE("body.peek[header.fields (Subject From)]",
		    "BODY.PEEK[HEADER.FIELDS (Subject From)]");
	CHECK_PARSE("(BODY[1.2.MIME] BODY[3.TEXT]<0.10> BODY.PEEK[]<5.1>)",
		    "BODY[1.2.MIME] BODY[3.TEXT]<0.10> BODY.PEEK[]<5.1>");
	CHECK_PARSE("BODY[4.HEADER.FIELDS.NOT (Received)]",
		    "BODY[4.HEADER.FIELDS.NOT (Received)]");
	CHECK_PARSE("(BINARY[1] BINARY.PEEK[2.1]<0.4> BINARY.SIZE[3] BINARY[])",
		    "BINARY[1] BINARY.PEEK[2.1]<0.4> BINARY.SIZE[3] BINARY[]");
	CHECK_PARSE("BODY[]<18446744073709551615.1>", "BAD Invalid partial range");
	CHECK_PARSE("BODY[]<0.0>", "BAD Invalid partial range");
	CHECK_PARSE("BODY[]<0>", "BAD Invalid partial range");
	CHECK_PARSE("BODY[]<1.2>x", "BAD Invalid partial range");
	CHECK_PARSE("BODY[]x", "BAD Invalid partial range");
	CHECK_PARSE("BINARY.SIZE[1]<0.1>", "BAD Invalid partial range");
	CHECK_PARSE("BINARY[1.TEXT]", "BAD BINARY takes part numbers only");
	CHECK_PARSE("BINARY[HEADER]", "BAD BINARY takes part numbers only");
	CHECK_PARSE("BODY.PEK[]", "BAD Unknown fetch item");
	CHECK_PARSE("RFC822[]", "BAD Unknown fetch item");
	CHECK_PARSE("BODY[0]", "BAD Invalid section part number");
}

static void
test_parse_limits(void)
{
	struct buf many;

	buf_init(&many, 0);
	buf_append_byte(&many, '(');
	for (unsigned i = 0; i < IMAP_FETCH_MAX_SECTIONS; i++)
		buf_printf(&many, "%sBODY[%u]", i > 0 ? " " : "", i + 1);
	buf_append_byte(&many, ')');
	{
		struct buf got;

		buf_init(&got, 0);
		parse_with(buf_cstr(&many), 0, &got);
		T_ASSERT(strncmp(buf_cstr(&got), "BODY[1] BODY[2]", 15) == 0);
		buf_deinit(&got);
	}
	buf_truncate(&many, buf_len(&many) - 1);
	buf_append_str(&many, " BODY[99])");
	CHECK_PARSE(buf_cstr(&many), "BAD Too many body sections");
	buf_deinit(&many);
}

static struct imap_fetch_items *
items_of(const char *text)
{
	struct imap_parser *p = new_parser();
	struct buf line;
	struct imap_fetch_items *items = NULL;
	const char *error;
	size_t used;

	buf_init(&line, 0);
	buf_printf(&line, "t FETCH 1 %s\r\n", text);
	if (T_INTEQ(imap_parser_feed(p, buf_data(&line), buf_len(&line), &used),
		    IMAP_PARSER_COMMAND))
		T_INTEQ(imap_fetch_parse(&imap_parser_get_command(p)->args[1], &items, &error), 1);
	imap_parser_free(&p);
	buf_deinit(&line);
	return items;
}

static void
test_predicates(void)
{
	static const struct {
		const char *items;
		bool content, seen;
	} cases[] = {
		{ "(UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ SAVEDATE EMAILID THREADID)", false,
		  false },
		{ "FAST", false, false },
		{ "ALL", true, false },
		{ "BODYSTRUCTURE", true, false },
		{ "PREVIEW", true, false },
		{ "BODY.PEEK[]", true, false },
		{ "BINARY.PEEK[1]", true, false },
		{ "BINARY.SIZE[1]", true, false },
		{ "RFC822.HEADER", true, false },
		{ "RFC822", true, true },
		{ "RFC822.TEXT", true, true },
		{ "(UID BODY[HEADER])", true, true },
		{ "BINARY[1]", true, true },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct imap_fetch_items *items = items_of(cases[i].items);

		if (items == NULL)
			continue;
		if (!T_INTEQ(imap_fetch_needs_content(items), cases[i].content) ||
		    !T_INTEQ(imap_fetch_sets_seen(items), cases[i].seen))
			T_STREQ(cases[i].items, "");
		imap_fetch_items_free(&items);
	}
}

static void
test_items_add(void)
{
	struct imap_fetch_items *items = items_of("(FLAGS BODY[])");

	imap_fetch_items_add(items, IMAP_FETCH_UID);
	imap_fetch_items_add(items, IMAP_FETCH_UID);
	imap_fetch_items_add(items, IMAP_FETCH_FLAGS);
	T_INTEQ(items->count, 3);
	T_ASSERT(imap_fetch_items_has(items, IMAP_FETCH_UID));
	T_ASSERT(!imap_fetch_items_has(items, IMAP_FETCH_MODSEQ));
	imap_fetch_items_free(&items);
}

/* ---- rendering ---- */

static void
msg_init(struct imap_message *msg, const char *data)
{
	memset(msg, 0, sizeof(*msg));
	msg->seq = 3;
	msg->uid = 7;
	msg->modseq = 12;
	msg->internaldate = 1700000000; /* 14-Nov-2023 22:13:20 UTC */
	if (data != NULL) {
		msg->data = (const uint8_t *)data;
		msg->size = strlen(data);
	}
}

/* Render items for msg (data) with flags; returns the result, out filled. */
static int
render(const char *items_text, const char *data, unsigned flags, struct buf *out)
{
	struct imap_fetch_items *items = items_of(items_text);
	struct imap_message msg;
	int ret;

	buf_reset(out);
	if (items == NULL)
		return 99;
	msg_init(&msg, data);
	ret = imap_fetch_render(items, &msg, flags, out);
	imap_message_deinit(&msg);
	imap_fetch_items_free(&items);
	return ret;
}

static void
check_render(const char *items, const char *data, unsigned flags, const char *expected,
	     int line)
{
	struct buf out;

	buf_init(&out, 0);
	T_INTEQ(render(items, data, flags, &out), IMAP_FETCH_RENDER_OK);
	if (!T_MEMEQ(buf_data(&out), buf_len(&out), expected, strlen(expected)))
		T_INTEQ(line, 0);
	buf_deinit(&out);
}
#define CHECK_RENDER(items, data, flags, exp) check_render((items), (data), (flags), (exp), \
							   __LINE__)

static void
test_render_metadata(void)
{
	struct imap_fetch_items *items = items_of("(FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ "
						  "SAVEDATE EMAILID THREADID)");
	struct imap_message msg;
	struct buf out;

	buf_init(&out, 0);
	msg_init(&msg, NULL);
	msg.flags = IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED | IMAP_FLAG_DRAFT;
	msg.keywords = "$Forwarded work";
	msg.size = 1234;
	msg.emailid = "M1a2b";
	T_INTEQ(imap_fetch_render(items, &msg, 0, &out), IMAP_FETCH_RENDER_OK);
	T_STREQ(buf_cstr(&out), "* 3 FETCH (UID 7 FLAGS (\\Answered \\Seen \\Draft $Forwarded "
				"work) INTERNALDATE \"14-Nov-2023 22:13:20 +0000\" RFC822.SIZE "
				"1234 MODSEQ (12) SAVEDATE NIL EMAILID (M1a2b) THREADID NIL)\r\n");
	imap_fetch_items_free(&items);
	buf_deinit(&out);

	CHECK_RENDER("FLAGS", NULL, 0, "* 3 FETCH (FLAGS ())\r\n");
	/* a keyword that is not an atom is left out */
	{
		struct imap_fetch_items *fl = items_of("FLAGS");

		buf_init(&out, 0);
		msg_init(&msg, NULL);
		msg.keywords = " a\r\nb  (x) ok\\ $ok  ";
		msg.flags = IMAP_FLAG_FLAGGED;
		T_INTEQ(imap_fetch_render(fl, &msg, 0, &out), IMAP_FETCH_RENDER_OK);
		T_STREQ(buf_cstr(&out), "* 3 FETCH (FLAGS (\\Flagged $ok))\r\n");
		imap_fetch_items_free(&fl);
		buf_deinit(&out);
	}
	/* UID FETCH adds UID; \Seen set by the fetch adds FLAGS; CHANGEDSINCE
	 * adds MODSEQ */
	CHECK_RENDER("RFC822.SIZE", "x", IMAP_FETCH_RENDER_ADD_UID | IMAP_FETCH_RENDER_ADD_FLAGS |
		     IMAP_FETCH_RENDER_ADD_MODSEQ,
		     "* 3 FETCH (UID 7 RFC822.SIZE 1 FLAGS () MODSEQ (12))\r\n");
	{
		struct imap_fetch_items *cs = items_of("RFC822.SIZE");

		buf_init(&out, 0);
		msg_init(&msg, NULL);
		cs->condstore = true;
		T_INTEQ(imap_fetch_render(cs, &msg, 0, &out), IMAP_FETCH_RENDER_OK);
		T_STREQ(buf_cstr(&out), "* 3 FETCH (RFC822.SIZE 0)\r\n");
		buf_reset(&out);
		T_INTEQ(imap_fetch_render(cs, &msg, IMAP_FETCH_RENDER_ADD_FLAGS, &out), 0);
		T_STREQ(buf_cstr(&out), "* 3 FETCH (UID 7 RFC822.SIZE 0 FLAGS () MODSEQ (12))\r\n");
		imap_fetch_items_free(&cs);
		buf_deinit(&out);
	}
	CHECK_RENDER("(FLAGS UID)", NULL, IMAP_FETCH_RENDER_ADD_UID | IMAP_FETCH_RENDER_ADD_FLAGS,
		     "* 3 FETCH (UID 7 FLAGS ())\r\n");
}

static void
test_render_plain(void)
{
	CHECK_RENDER("BODY[]", MSG_PLAIN, 0, "* 3 FETCH (BODY[] {58}\r\n" MSG_PLAIN ")\r\n");
	CHECK_RENDER("RFC822", MSG_PLAIN, 0, "* 3 FETCH (RFC822 {58}\r\n" MSG_PLAIN ")\r\n");
	CHECK_RENDER("RFC822.HEADER", MSG_PLAIN, 0,
		     "* 3 FETCH (RFC822.HEADER {44}\r\nFrom: Ann <ann@example.org>\r\n"
		     "Subject: hi\r\n\r\n)\r\n");
	CHECK_RENDER("(RFC822.TEXT BODY[TEXT] BODY[1])", MSG_PLAIN, 0,
		     "* 3 FETCH (RFC822.TEXT {14}\r\nHello\r\nworld\r\n BODY[TEXT] {14}\r\n"
		     "Hello\r\nworld\r\n BODY[1] {14}\r\nHello\r\nworld\r\n)\r\n");
	CHECK_RENDER("BODY.PEEK[HEADER.FIELDS (subject)]", MSG_PLAIN, 0,
		     "* 3 FETCH (BODY[HEADER.FIELDS (subject)] {15}\r\nSubject: hi\r\n\r\n)\r\n");
	CHECK_RENDER("BODY.PEEK[HEADER.FIELDS.NOT (subject)]", MSG_PLAIN, 0,
		     "* 3 FETCH (BODY[HEADER.FIELDS.NOT (subject)] {31}\r\n"
		     "From: Ann <ann@example.org>\r\n\r\n)\r\n");
	CHECK_RENDER("BODY.PEEK[HEADER.FIELDS (X-None)]", MSG_PLAIN, 0,
		     "* 3 FETCH (BODY[HEADER.FIELDS (X-None)] {2}\r\n\r\n)\r\n");
	/* partial: the origin is echoed, the count cut at the end */
	CHECK_RENDER("BODY[]<0.4>", MSG_PLAIN, 0, "* 3 FETCH (BODY[]<0> {4}\r\nFrom)\r\n");
	CHECK_RENDER("BODY[1]<7.100>", MSG_PLAIN, 0,
		     "* 3 FETCH (BODY[1]<7> {7}\r\nworld\r\n)\r\n");
	CHECK_RENDER("BODY[1]<14.1>", MSG_PLAIN, 0, "* 3 FETCH (BODY[1]<14> {0}\r\n)\r\n");
	CHECK_RENDER("BODY[]<1000.5>", MSG_PLAIN, 0, "* 3 FETCH (BODY[]<1000> {0}\r\n)\r\n");
	/* no such part: empty */
	CHECK_RENDER("BODY[2]", MSG_PLAIN, 0, "* 3 FETCH (BODY[2] {0}\r\n)\r\n");
	CHECK_RENDER("BODY[1.HEADER]", MSG_PLAIN, 0, "* 3 FETCH (BODY[1.HEADER] {0}\r\n)\r\n");
	CHECK_RENDER("BINARY[1]", MSG_PLAIN, 0,
		     "* 3 FETCH (BINARY[1] {14}\r\nHello\r\nworld\r\n)\r\n");
	CHECK_RENDER("BINARY.SIZE[1]", MSG_PLAIN, 0, "* 3 FETCH (BINARY.SIZE[1] 14)\r\n");
	CHECK_RENDER("ENVELOPE", MSG_PLAIN, 0,
		     "* 3 FETCH (ENVELOPE (NIL \"hi\" ((\"Ann\" NIL \"ann\" \"example.org\")) "
		     "((\"Ann\" NIL \"ann\" \"example.org\")) ((\"Ann\" NIL \"ann\" "
		     "\"example.org\")) NIL NIL NIL NIL NIL))\r\n");
	CHECK_RENDER("(BODY PREVIEW)", MSG_PLAIN, 0,
		     "* 3 FETCH (BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL "
		     "\"7BIT\" 14 2) PREVIEW \"Hello world\")\r\n");
}

static void
test_render_mixed(void)
{
	CHECK_RENDER("BODY[2]", MSG_MIXED, 0, "* 3 FETCH (BODY[2] {12}\r\nJVBERi0xLjQK)\r\n");
	CHECK_RENDER("BINARY[2]", MSG_MIXED, 0, "* 3 FETCH (BINARY[2] {9}\r\n%PDF-1.4\n)\r\n");
	CHECK_RENDER("BINARY[2]<1.3>", MSG_MIXED, 0, "* 3 FETCH (BINARY[2]<1> {3}\r\nPDF)\r\n");
	CHECK_RENDER("BINARY.SIZE[2]", MSG_MIXED, 0, "* 3 FETCH (BINARY.SIZE[2] 9)\r\n");
	CHECK_RENDER("BINARY[3]", MSG_MIXED, 0, "* 3 FETCH (BINARY[3] NIL)\r\n");
	CHECK_RENDER("BINARY.SIZE[3]", MSG_MIXED, 0, "* 3 FETCH (BINARY.SIZE[3] 0)\r\n");
	CHECK_RENDER("BODY[1]", MSG_MIXED, 0, "* 3 FETCH (BODY[1] {6}\r\ntext\r\n)\r\n");
	CHECK_RENDER("BODY[1.MIME]", MSG_MIXED, 0,
		     "* 3 FETCH (BODY[1.MIME] {43}\r\nContent-Type: text/plain; "
		     "charset=utf-8\r\n\r\n)\r\n");
	CHECK_RENDER("PREVIEW", MSG_MIXED, 0, "* 3 FETCH (PREVIEW \"text\")\r\n");
	CHECK_RENDER("BODY[TEXT]<0.8>", MSG_MIXED, 0,
		     "* 3 FETCH (BODY[TEXT]<0> {8}\r\npreamble)\r\n");
}

static void
test_render_rfc822(void)
{
	/* quoted-printable decoded */
	CHECK_RENDER("BINARY[1]", MSG_RFC822, 0,
		     "* 3 FETCH (BINARY[1] {11}\r\na=_x\r\n--=_x)\r\n");
	CHECK_RENDER("BODY[2.HEADER.FIELDS (Subject)]", MSG_RFC822, 0,
		     "* 3 FETCH (BODY[2.HEADER.FIELDS (Subject)] {18}\r\n"
		     "Subject: inner\r\n\r\n)\r\n");
	CHECK_RENDER("BODY[2.TEXT]", MSG_RFC822, 0,
		     "* 3 FETCH (BODY[2.TEXT] {10}\r\ninner body)\r\n");
	CHECK_RENDER("BODY[2.1]", MSG_RFC822, 0, "* 3 FETCH (BODY[2.1] {10}\r\ninner body)\r\n");
	CHECK_RENDER("BODY[2.MIME]", MSG_RFC822, 0,
		     "* 3 FETCH (BODY[2.MIME] {58}\r\nContent-Type: message/rfc822\r\n"
		     "Content-Description: fwd\r\n\r\n)\r\n");
	/* a message part goes out as it is */
	CHECK_RENDER("BINARY.SIZE[2]", MSG_RFC822, 0, "* 3 FETCH (BINARY.SIZE[2] 105)\r\n");
}

static void
test_render_binary(void)
{
	static const char nul_msg[] =
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: base64\r\n"
		"\r\n"
		"AAEC\r\n/w==\r\n";
	static const char uue_msg[] =
		"Content-Type: application/octet-stream\r\n"
		"Content-Transfer-Encoding: x-uuencode\r\n"
		"\r\n"
		"begin 644 x\r\n";
	struct buf out;

	buf_init(&out, 0);
	/* NUL in the data: literal8 (RFC 3516 4.2) */
	T_INTEQ(render("BINARY[1]", nul_msg, 0, &out), IMAP_FETCH_RENDER_OK);
	T_MEMEQ(buf_data(&out), buf_len(&out), "* 3 FETCH (BINARY[1] ~{4}\r\n\0\1\2\377)\r\n", 34);
	/* BODY keeps the encoded octets */
	CHECK_RENDER("BODY[1]", nul_msg, 0, "* 3 FETCH (BODY[1] {12}\r\nAAEC\r\n/w==\r\n)\r\n");
	/* unknown encoding: NO [UNKNOWN-CTE], nothing written */
	buf_reset(&out);
	buf_append_str(&out, "before");
	{
		struct imap_fetch_items *items = items_of("(UID BINARY[1])");
		struct imap_message msg;

		msg_init(&msg, uue_msg);
		T_INTEQ(imap_fetch_render(items, &msg, 0, &out), IMAP_FETCH_RENDER_UNKNOWN_CTE);
		T_STREQ(buf_cstr(&out), "before");
		imap_message_deinit(&msg);
		imap_fetch_items_free(&items);
	}
	T_INTEQ(render("BINARY.SIZE[1]", uue_msg, 0, &out), IMAP_FETCH_RENDER_UNKNOWN_CTE);
	CHECK_RENDER("BODY[1]", uue_msg, 0, "* 3 FETCH (BODY[1] {13}\r\nbegin 644 x\r\n)\r\n");
	/* BINARY[] is the whole message */
	CHECK_RENDER("BINARY.SIZE[]", uue_msg, 0, "* 3 FETCH (BINARY.SIZE[] 94)\r\n");
	/* NUL in a BODY section goes out as 0x80, the length kept */
	buf_reset(&out);
	{
		struct imap_fetch_items *items = items_of("BODY[TEXT]");
		struct imap_message msg;

		msg_init(&msg, NULL);
		msg.data = (const uint8_t *)"a: b\r\n\r\n\0c";
		msg.size = 10;
		T_INTEQ(imap_fetch_render(items, &msg, 0, &out), IMAP_FETCH_RENDER_OK);
		T_MEMEQ(buf_data(&out), buf_len(&out), "* 3 FETCH (BODY[TEXT] {2}\r\n\200c)\r\n",
			32);
		imap_message_deinit(&msg);
		imap_fetch_items_free(&items);
	}
	buf_deinit(&out);
}

static void
test_render_too_big(void)
{
	struct imap_fetch_items *items = items_of("(UID BODY[])");
	struct imap_message msg;
	struct buf out;

	buf_init(&out, 40);
	buf_append_str(&out, "keep");
	msg_init(&msg, MSG_PLAIN);
	T_INTEQ(imap_fetch_render(items, &msg, 0, &out), IMAP_FETCH_RENDER_TOO_BIG);
	T_STREQ(buf_cstr(&out), "keep");
	imap_message_deinit(&msg);
	imap_fetch_items_free(&items);
	buf_deinit(&out);
}

static void
test_render_8bit(void)
{
	struct buf out;

	buf_init(&out, 0);
	/* the subject is 8-bit: a literal unless UTF8=ACCEPT */
	T_INTEQ(render("ENVELOPE", MSG_8BIT, 0, &out), 0);
	T_ASSERT(strstr(buf_cstr(&out), "ENVELOPE (NIL {7}\r\nGr\xc3\xbc\xc3\x9f" "e NIL") !=
		 NULL);
	T_INTEQ(render("ENVELOPE", MSG_8BIT, IMAP_FETCH_RENDER_UTF8, &out), 0);
	T_ASSERT(strstr(buf_cstr(&out), "ENVELOPE (NIL \"Gr\xc3\xbc\xc3\x9f" "e\" NIL") !=
		 NULL);
	/* part 1 is an attachment: no preview; part 2 is plain "x" */
	CHECK_RENDER("PREVIEW", MSG_8BIT, 0, "* 3 FETCH (PREVIEW \"x\")\r\n");
	buf_deinit(&out);
}

/* ---- decoding ---- */

static void
check_decode(int enc, const char *in, const char *expected, int line)
{
	struct buf out;

	buf_init(&out, 0);
	T_INTEQ(imap_fetch_decode(enc, (const uint8_t *)in, strlen(in), &out), 0);
	if (!T_MEMEQ(buf_data(&out), buf_len(&out), expected, strlen(expected)))
		T_INTEQ(line, 0);
	buf_deinit(&out);
}

static void
test_decode(void)
{
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "a=3Db=\r\nc  \r\nd=\ne=4", "a=bc\r\nde=4",
		     __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "=C3=A4 =zz= \t\r\nx=", "\xc3\xa4 =zzx",
		     __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "tab\t\nend ", "tab\nend", __LINE__);
	/* white space before a soft line break is text, after the "=" it is
	 * padding (RFC 2045 6.7 rule 3); imaptest's fetch-binary-mime-qp */
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "foo\t=\r\nbar", "foo\tbar", __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "foo\t \t= \r\n=62\r\n", "foo\t \tb\r\n",
		     __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "foo = \t\r\nbar", "foo bar", __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "foo =\r\n=62", "foo b", __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "foo  \r\nbar=\r\n\r\nx", "foo\r\nbar\r\nx",
		     __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "end \t= \t", "end \t", __LINE__);
	check_decode(MIME_ENCODING_QUOTED_PRINTABLE, "a \t=\nb \n", "a \tb\n", __LINE__);
	check_decode(MIME_ENCODING_BASE64, "aGVs\r\nbG8=\r\nignored", "hello", __LINE__);
	check_decode(MIME_ENCODING_BASE64, "a G*V!s bG8", "hello", __LINE__);
	check_decode(MIME_ENCODING_BASE64, "", "", __LINE__);
	check_decode(MIME_ENCODING_8BIT, "r\xffw", "r\xffw", __LINE__);
	{
		struct buf out;

		buf_init(&out, 0);
		T_INTEQ(imap_fetch_decode(MIME_ENCODING_OTHER, (const uint8_t *)"x", 1, &out), -2);
		buf_deinit(&out);
	}
}

static void
check_preview(const char *msg, const char *expected, int line)
{
	struct mime_part *root = mime_parse_message((const uint8_t *)msg, strlen(msg), NULL);
	struct buf out;

	buf_init(&out, 0);
	imap_fetch_preview(root, (const uint8_t *)msg, &out);
	if (!T_STREQ(buf_cstr(&out), expected))
		T_INTEQ(line, 0);
	buf_deinit(&out);
	mime_part_free(&root);
}

static void
test_preview(void)
{
	struct buf long_msg, expected;

	check_preview("Content-Type: text/plain; charset=iso-8859-1\r\n"
		      "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		      "  caf=E9\r\n\r\n\tbar=\r\nbaz  \r\n", "caf\xc3\xa9 barbaz", __LINE__);
	check_preview("Content-Type: text/plain; charset=utf-8\r\n"
		      "Content-Transfer-Encoding: base64\r\n\r\n4oKsIDUK\r\n", "\xe2\x82\xac 5",
		      __LINE__);
	/* broken UTF-8 and control characters are left out */
	check_preview("Subject: x\r\n\r\na\xff\x01" "b\xe2\x82", "ab", __LINE__);
	check_preview("Content-Type: text/plain; charset=koi8-r\r\n\r\ntext", "", __LINE__);
	/* HTML only: the text of it */
	check_preview("Content-Type: text/html\r\n\r\n<html><head><title>t</title>\r\n"
		      "<style>p {}</style></head><body><!-- c --><p>a &amp; b</p>"
		      "<script type=x>1<2</script><br>c&nbsp;&lt;d&gt; &zz;</body>",
		      "a & b c <d> &zz;", __LINE__);
	check_preview("Content-Type: text/html\r\n\r\n<p unclosed", "", __LINE__);
	check_preview("Content-Type: text/html\r\n\r\n<!-- open", "", __LINE__);
	/* text/plain wins over an earlier text/html */
	check_preview("Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\n"
		      "Content-Type: text/html\r\n\r\n<b>html</b>\r\n--b\r\n\r\nplain\r\n"
		      "--b--\r\n", "plain", __LINE__);
	check_preview("Subject: x\r\n\r\n", "", __LINE__);

	/* 256 characters at most, a multi-octet character counts once */
	buf_init(&long_msg, 0);
	buf_init(&expected, 0);
	buf_append_str(&long_msg, "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	for (unsigned i = 0; i < 300; i++)
		buf_append_str(&long_msg, "\xc3\xa9");
	for (unsigned i = 0; i < 256; i++)
		buf_append_str(&expected, "\xc3\xa9");
	check_preview(buf_cstr(&long_msg), buf_cstr(&expected), __LINE__);
	buf_deinit(&long_msg);
	buf_deinit(&expected);
}

/* The section and partial cutting FETCH shares with CATENATE URLs. */
static void
test_section_data(void)
{
	static const char msg[] = "From: a@b\r\nSubject: s\r\n\r\nHello world\r\n";
	struct imap_message m = { .data = (const uint8_t *)msg, .size = sizeof(msg) - 1 };
	struct imap_section sec;
	struct buf scratch;
	const uint8_t *data;
	const char *error;
	size_t len;

	buf_init(&scratch, 0);
	T_INTEQ(imap_section_parse("TEXT", 4, &sec, &error), 1);
	T_INTEQ(imap_fetch_section_data(&sec, NULL, m.data, &scratch, &data, &len), 0);
	T_INTEQ(imap_fetch_section_data(&sec, imap_message_mime(&m), m.data, &scratch, &data, &len),
		1);
	T_MEMEQ(data, len, "Hello world\r\n", 13);
	imap_section_deinit(&sec);
	T_INTEQ(imap_section_parse("HEADER.FIELDS (FROM)", 20, &sec, &error), 1);
	T_INTEQ(imap_fetch_section_data(&sec, imap_message_mime(&m), m.data, &scratch, &data, &len),
		1);
	T_MEMEQ(data, len, "From: a@b\r\n\r\n", 13);
	imap_section_deinit(&sec);
	T_INTEQ(imap_section_parse("2", 1, &sec, &error), 1);
	T_INTEQ(imap_fetch_section_data(&sec, imap_message_mime(&m), m.data, &scratch, &data, &len),
		0);
	imap_section_deinit(&sec);
	imap_message_deinit(&m);
	buf_deinit(&scratch);

	/* <origin.count>; count 0 = to the end; an origin past the end = nothing */
	len = 10;
	T_ASSERT(imap_fetch_partial((const uint8_t *)"0123456789", &len, 2, 3)[0] == '2');
	T_INTEQ(len, 3);
	len = 10;
	T_ASSERT(imap_fetch_partial((const uint8_t *)"0123456789", &len, 7, 0)[0] == '7');
	T_INTEQ(len, 3);
	len = 10;
	T_ASSERT(imap_fetch_partial((const uint8_t *)"0123456789", &len, 8, 100)[0] == '8');
	T_INTEQ(len, 2);
	len = 10;
	(void)imap_fetch_partial((const uint8_t *)"0123456789", &len, 10, 1);
	T_INTEQ(len, 0);
	len = 10;
	(void)imap_fetch_partial((const uint8_t *)"0123456789", &len, UINT64_MAX, 0);
	T_INTEQ(len, 0);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_parse_macros),
		TEST_ENTRY(test_parse_simple),
		TEST_ENTRY(test_parse_sections),
		TEST_ENTRY(test_parse_limits),
		TEST_ENTRY(test_predicates),
		TEST_ENTRY(test_items_add),
		TEST_ENTRY(test_render_metadata),
		TEST_ENTRY(test_render_plain),
		TEST_ENTRY(test_render_mixed),
		TEST_ENTRY(test_render_rfc822),
		TEST_ENTRY(test_render_binary),
		TEST_ENTRY(test_render_too_big),
		TEST_ENTRY(test_render_8bit),
		TEST_ENTRY(test_decode),
		TEST_ENTRY(test_preview),
		TEST_ENTRY(test_section_data),
		{ NULL, NULL },
	};

	return test_main("imap-fetch", tests);
}
