/*
 * test-smtp-dotstuff.c - outbound content encoder: CRLF normalisation (no
 * lone CR or LF ever output), dot-stuffing, long-line breaking in header and
 * body, end of data. Every case is encoded whole, one byte at a time and
 * split in two at every point, with identical output.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-dotstuff.h"

#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

static void
encode(const char *in, size_t len, bool dot, size_t max_line, size_t first, size_t step,
       struct buf *out, struct smtp_dotstuff *e)
{
	size_t pos = 0, n = first;

	smtp_dotstuff_init(e, dot, max_line);
	while (pos < len) {
		if (n > len - pos || n == 0)
			n = len - pos;
		T_INTEQ(smtp_dotstuff_feed(e, (const uint8_t *)in + pos, n, out), 0);
		pos += n;
		n = step;
	}
	T_INTEQ(smtp_dotstuff_finish(e, out), 0);
}

/* No CR without LF after it and no LF without CR before it. */
static bool
clean_crlf(const struct buf *b)
{
	const uint8_t *d = buf_data(b);
	size_t i, n = buf_len(b);

	for (i = 0; i < n; i++) {
		if (d[i] == '\r' && (i + 1 == n || d[i + 1] != '\n'))
			return false;
		if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r'))
			return false;
	}
	return true;
}

static void
check_full(const char *in, size_t len, bool dot, size_t max_line, const char *expect,
	   size_t expect_len, struct smtp_dotstuff *stats)
{
	struct buf whole, piece;
	struct smtp_dotstuff e;
	size_t i;

	buf_init(&whole, 0);
	encode(in, len, dot, max_line, len, len, &whole, &e);
	T_MEMEQ(buf_data(&whole), buf_len(&whole), expect, expect_len);
	T_ASSERT(clean_crlf(&whole));
	T_ASSERT(buf_len(&whole) <= smtp_dotstuff_max_output(len));
	if (stats != NULL)
		*stats = e;
	buf_init(&piece, 0);
	encode(in, len, dot, max_line, 1, 1, &piece, &e);
	T_MEMEQ(buf_data(&piece), buf_len(&piece), expect, expect_len);
	for (i = 1; i < len; i++) {
		buf_reset(&piece);
		encode(in, len, dot, max_line, i, len, &piece, &e);
		if (!T_MEMEQ(buf_data(&piece), buf_len(&piece), expect, expect_len))
			break;
	}
	buf_deinit(&whole);
	buf_deinit(&piece);
}

#define CHECK(in, dot, max, exp) check_full(S(in), dot, max, S(exp), NULL)

static void
test_plain(void)
{
	CHECK("Subject: x\r\n\r\nbody\r\n", true, 0, "Subject: x\r\n\r\nbody\r\n.\r\n");
	CHECK("Subject: x\r\n\r\nbody\r\n", false, 0, "Subject: x\r\n\r\nbody\r\n");
	CHECK("", true, 0, ".\r\n");
	CHECK("", false, 0, "");
	/* missing final CRLF is added */
	CHECK("a\r\n\r\nlast", true, 0, "a\r\n\r\nlast\r\n.\r\n");
}

static void
test_dots(void)
{
	CHECK("a\r\n\r\n.\r\n..x\r\n.", true, 0, "a\r\n\r\n..\r\n...x\r\n..\r\n.\r\n");
	CHECK(".first\r\n", true, 0, "..first\r\n.\r\n");
	CHECK("a.b\r\n", true, 0, "a.b\r\n.\r\n");
	/* BDAT: no stuffing */
	CHECK(".x\r\n", false, 0, ".x\r\n");
}

static void
test_bare_newlines(void)
{
	struct smtp_dotstuff st;

	/* the classic smuggling sequences all become plain lines */
	check_full(S("a\r\n\r\nx\n.\ny\r.\rz\r\n.\n"), true, 0,
		   S("a\r\n\r\nx\r\n..\r\ny\r\n..\r\nz\r\n..\r\n.\r\n"), &st);
	T_INTEQ(st.bare_newlines, 5);
	CHECK("a\r\r\nb", true, 0, "a\r\n\r\nb\r\n.\r\n");
	CHECK("a\r", true, 0, "a\r\n.\r\n");
	CHECK("\n\n", false, 0, "\r\n\r\n");
}

static void
test_long_lines(void)
{
	struct smtp_dotstuff st;

	/* header: CRLF SP keeps it one field; body: plain CRLF */
	check_full(S("Subject: 0123456789\r\n\r\nabcdefghijkl.nop\r\n"), true, 10,
		   S("Subject: 0\r\n 123456789\r\n\r\nabcdefghij\r\nkl.nop\r\n.\r\n"), &st);
	T_INTEQ(st.lines_broken, 2);
	/* a break that leaves a dot at the start of a body line gets it stuffed */
	CHECK("h\r\n\r\n0123.x\r\n", true, 4, "h\r\n\r\n0123\r\n..x\r\n.\r\n");
	/* exactly max_line is not broken */
	CHECK("h\r\n\r\n0123\r\n", true, 4, "h\r\n\r\n0123\r\n.\r\n");
	/* nor is a line of max_line starting with a dot: the stuffed dot does
	 * not count (RFC 5321 4.5.3.1.6) */
	CHECK("h\r\n\r\n.123\r\n", true, 4, "h\r\n\r\n..123\r\n.\r\n");
	CHECK("h\r\n\r\n.1234\r\n", true, 4, "h\r\n\r\n..123\r\n4\r\n.\r\n");
}

static void
test_default_limit(void)
{
	struct buf in, out;
	struct smtp_dotstuff e;
	size_t i, line = 0, maxl = 0;
	const uint8_t *d;

	buf_init(&in, 0);
	buf_append_str(&in, "X: y\r\n\r\n");
	for (i = 0; i < 2500; i++)
		buf_append_byte(&in, 'a');
	buf_init(&out, 0);
	encode(buf_cstr(&in), buf_len(&in), true, 0, buf_len(&in), buf_len(&in), &out, &e);
	T_INTEQ(e.lines_broken, 2);
	d = buf_data(&out);
	for (i = 0; i < buf_len(&out); i++) {
		if (d[i] == '\r' || d[i] == '\n') {
			line = 0;
			continue;
		}
		if (++line > maxl)
			maxl = line;
	}
	T_INTEQ(maxl, 998);
	buf_deinit(&in);
	buf_deinit(&out);
}

static void
test_8bit_flag(void)
{
	struct smtp_dotstuff st;

	check_full(S("a\xc3\xa9\r\n"), false, 0, S("a\xc3\xa9\r\n"), &st);
	T_ASSERT(st.has_8bit);
	check_full(S("a\r\n"), false, 0, S("a\r\n"), &st);
	T_ASSERT(!st.has_8bit);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_plain),
		TEST_ENTRY(test_dots),
		TEST_ENTRY(test_bare_newlines),
		TEST_ENTRY(test_long_lines),
		TEST_ENTRY(test_default_limit),
		TEST_ENTRY(test_8bit_flag),
		{ NULL, NULL },
	};

	return test_main("smtp-dotstuff", tests);
}
