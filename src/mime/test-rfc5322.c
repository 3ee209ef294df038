/*
 * test-rfc5322.c - the header block parser, and the RFC 5322 Appendix A
 * messages through header, address and date parsers together.
 *
 * Every input is fed whole, one byte at a time, and split in two at every
 * point; the events (fields, end, error) and the body that follows must be
 * identical and equal to the expected text. The harness passes unconsumed
 * bytes again with the next piece, as a caller does, checks that each
 * field's raw bytes are the input at its offset, and that the body (prefix
 * plus the bytes not consumed) is the input from body_offset on.
 */
#include "core/mem.h"
#include "core/test.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-date.h"
#include "mime/rfc5322-header.h"

#include <stdio.h>
#include <string.h>

static struct rfc5322_header_limits default_limits;

/* Append data with CR, LF, NUL, TAB and 8-bit octets shown as escapes. */
static void
append_escaped(struct buf *out, const void *data, size_t len)
{
	const uint8_t *p = data;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r')
			buf_append_str(out, "\\r");
		else if (p[i] == '\n')
			buf_append_str(out, "\\n");
		else if (p[i] == '\t')
			buf_append_str(out, "\\t");
		else if (p[i] < 0x20 || p[i] >= 0x7f)
			buf_printf(out, "\\x%02x", p[i]);
		else
			buf_append_byte(out, p[i]);
	}
}

static void
append_flags(struct buf *out, unsigned flags)
{
	static const struct {
		unsigned flag;
		const char *name;
	} names[] = {
		{ RFC5322_HEADER_FLAG_BARE_LF, "lf" },
		{ RFC5322_HEADER_FLAG_BARE_CR, "cr" },
		{ RFC5322_HEADER_FLAG_NUL, "nul" },
		{ RFC5322_HEADER_FLAG_8BIT, "8bit" },
		{ RFC5322_HEADER_FLAG_BAD_UTF8, "badutf8" },
		{ RFC5322_HEADER_FLAG_LONG_LINE, "long" },
		{ RFC5322_HEADER_FLAG_OBS_NAME, "obs" },
		{ RFC5322_HEADER_FLAG_MALFORMED, "malformed" },
		{ RFC5322_HEADER_FLAG_MBOX_FROM, "mbox" },
		{ RFC5322_HEADER_FLAG_NO_END, "noend" },
	};
	const char *sep = " f=";

	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if ((flags & names[i].flag) != 0) {
			buf_printf(out, "%s%s", sep, names[i].name);
			sep = ",";
		}
	}
}

/* Describes a field's value; the default shows it raw, and unfolded when that differs. */
typedef void describe_value_fn(const struct rfc5322_field *f, struct buf *ev);

static void
describe_raw_value(const struct rfc5322_field *f, struct buf *ev)
{
	struct buf u;

	buf_init(&u, 0);
	T_INTEQ(rfc5322_field_unfold(f, &u), 0);
	buf_append_str(ev, " [");
	append_escaped(ev, f->value, f->value_len);
	buf_append_byte(ev, ']');
	if (buf_len(&u) != f->value_len || memcmp(buf_data(&u), f->value, f->value_len) != 0) {
		buf_append_str(ev, " u[");
		append_escaped(ev, buf_data(&u), buf_len(&u));
		buf_append_byte(ev, ']');
	}
	buf_deinit(&u);
}

static void
describe_name_only(const struct rfc5322_field *f, struct buf *ev)
{
}

struct harness {
	const uint8_t *in;
	size_t len;
	const struct rfc5322_header_limits *limits;
	describe_value_fn *describe;
	bool offsets;           /* show field offsets */
	struct buf *ev;
};

static void
on_field(struct harness *h, const struct rfc5322_field *f)
{
	T_ASSERT(f->offset + f->raw_len <= h->len);
	if (f->offset + f->raw_len <= h->len)
		T_MEMEQ(f->raw, f->raw_len, h->in + f->offset, f->raw_len);
	T_ASSERT(f->name == (const char *)f->raw);
	T_ASSERT(f->value >= f->raw && f->value + f->value_len <= f->raw + f->raw_len);
	buf_append_str(h->ev, "F ");
	append_escaped(h->ev, f->name, f->name_len);
	h->describe(f, h->ev);
	if (h->offsets)
		buf_printf(h->ev, " @%llu", (unsigned long long)f->offset);
	append_flags(h->ev, f->flags);
	buf_append_byte(h->ev, '\n');
}

/* END: the body is the prefix, then `rest` (bytes the caller still holds). */
static void
on_end(struct harness *h, const struct rfc5322_header_parser *p, const uint8_t *rest,
       size_t rest_len)
{
	const uint8_t *prefix;
	size_t prefix_len;
	struct buf body;

	buf_printf(h->ev, "E body=%llu n=%u", (unsigned long long)p->body_offset, p->n_fields);
	append_flags(h->ev, p->flags);
	buf_append_byte(h->ev, '\n');
	rfc5322_header_body_prefix(p, &prefix, &prefix_len);
	buf_init(&body, 0);
	buf_append(&body, prefix, prefix_len);
	buf_append(&body, rest, rest_len);
	T_ASSERT(p->body_offset <= h->len);
	if (p->body_offset <= h->len)
		T_MEMEQ(buf_data(&body), buf_len(&body), h->in + p->body_offset,
			h->len - p->body_offset);
	buf_deinit(&body);
}

/* Feed h->in in pieces: first `first` octets (0: step), then `step` at a time. */
static void
run_header(struct harness *h, size_t first, size_t step)
{
	struct rfc5322_header_parser p;
	struct rfc5322_field f;
	struct buf pending;
	const char *err;
	size_t pos = 0, used;
	int res = RFC5322_HEADER_NEED_MORE;

	rfc5322_header_parser_init(&p, h->limits);
	buf_init(&pending, 0);
	while (pos < h->len && res <= RFC5322_HEADER_FIELD) {
		size_t n = pos == 0 && first > 0 ? first : step;

		n = n > h->len - pos ? h->len - pos : n;
		buf_append(&pending, h->in + pos, n);
		pos += n;
		for (;;) {
			res = rfc5322_header_parse(&p, buf_data(&pending), buf_len(&pending), &used,
						   &f, &err);
			T_ASSERT(used <= buf_len(&pending));
			buf_consume(&pending, used);
			if (res == RFC5322_HEADER_FIELD) {
				on_field(h, &f);
				continue;
			}
			if (res == RFC5322_HEADER_NEED_MORE)
				T_INTEQ(buf_len(&pending), 0);
			break;
		}
	}
	if (res == RFC5322_HEADER_END) {
		/* the body: what the caller holds, then the input not yet read */
		buf_append(&pending, h->in + pos, h->len - pos);
		on_end(h, &p, buf_data(&pending), buf_len(&pending));
	}
	while (res == RFC5322_HEADER_NEED_MORE || res == RFC5322_HEADER_FIELD) {
		res = rfc5322_header_finish(&p, &f, &err);
		if (res == RFC5322_HEADER_FIELD)
			on_field(h, &f);
		else if (res == RFC5322_HEADER_END)
			on_end(h, &p, (const uint8_t *)"", 0);
	}
	if (res == RFC5322_HEADER_ERROR) {
		buf_printf(h->ev, "X %d %s\n", p.error, err);
		T_INTEQ(rfc5322_header_finish(&p, &f, &err), RFC5322_HEADER_ERROR);
	} else {
		T_INTEQ(rfc5322_header_finish(&p, &f, &err), RFC5322_HEADER_END);
	}
	buf_deinit(&pending);
	rfc5322_header_parser_deinit(&p);
}

/* Whole, byte by byte, and every two-piece split give `expected`. */
static void
check_header_with(const char *in, size_t len, const struct rfc5322_header_limits *limits,
		  describe_value_fn *describe, bool offsets, const char *expected)
{
	struct buf ev;
	struct harness h = {
		.in = (const uint8_t *)in, .len = len, .limits = limits, .describe = describe,
		.offsets = offsets, .ev = &ev,
	};

	buf_init(&ev, 0);
	run_header(&h, 0, len == 0 ? 1 : len);
	T_STREQ(buf_cstr(&ev), expected);
	buf_reset(&ev);
	run_header(&h, 0, 1);
	if (!T_STREQ(buf_cstr(&ev), expected))
		fprintf(stderr, "  byte by byte\n");
	for (size_t split = 1; split < len; split++) {
		buf_reset(&ev);
		run_header(&h, split, len);
		if (!T_STREQ(buf_cstr(&ev), expected)) {
			fprintf(stderr, "  at split %zu\n", split);
			break;
		}
	}
	buf_deinit(&ev);
}

static void
check_header(const char *in, const char *expected)
{
	check_header_with(in, strlen(in), &default_limits, describe_raw_value, true, expected);
}

static void
test_header_basic(void)
{
	check_header("From: a@b\r\nTo: c@d\r\n\r\nbody\r\n",
		     "F From [ a@b] u[a@b] @0\n"
		     "F To [ c@d] u[c@d] @11\n"
		     "E body=22 n=2\n");
	check_header("X:y\r\n\r\n", "F X [y] @0\nE body=7 n=1\n");
	check_header("X:\r\n\r\n", "F X [] @0\nE body=6 n=1\n");
	/* the empty line at once: no fields, an empty header */
	check_header("\r\nbody", "E body=2 n=0\n");
	check_header("\r\n", "E body=2 n=0\n");
	/* the body may hold anything, including what looks like fields */
	check_header("A: 1\r\n\r\nB: 2\r\n\r\n", "F A [ 1] u[1] @0\nE body=8 n=1\n");
	/* names: any ftext, any case kept */
	check_header("x-Weird_Name!#{}~: v\r\n\r\n",
		     "F x-Weird_Name!#{}~ [ v] u[v] @0\nE body=24 n=1\n");
}

static void
test_header_folding(void)
{
	check_header("Subject: a\r\n b\r\n\tc\r\n\r\nx",
		     "F Subject [ a\\r\\n b\\r\\n\\tc] u[a b\\tc] @0\nE body=22 n=1\n");
	/* a fold right after the colon, and trailing white space */
	check_header("Subject:\r\n  Hello  \r\n\r\n",
		     "F Subject [\\r\\n  Hello  ] u[Hello] @0\nE body=23 n=1\n");
	/* a line of white space only is a fold (obs-FWS, RFC 5322 4.2) */
	check_header("To: Mary\r\n  \r\n   <m@x>\r\nB: 1\r\n\r\n",
		     "F To [ Mary\\r\\n  \\r\\n   <m@x>] u[Mary     <m@x>] @0\n"
		     "F B [ 1] u[1] @24\nE body=32 n=2\n");
	/* only white space, folded */
	check_header("A: \r\n \r\n\r\n", "F A [ \\r\\n ] u[] @0\nE body=10 n=1\n");
}

static void
test_header_line_ends(void)
{
	/* bare LF is a line end, reported */
	check_header("A: 1\nB: 2\n\nbody",
		     "F A [ 1] u[1] @0 f=lf\nF B [ 2] u[2] @5 f=lf\nE body=11 n=2 f=lf\n");
	check_header("A: 1\r\n 2\n 3\r\n\n",
		     "F A [ 1\\r\\n 2\\n 3] u[1 2 3] @0 f=lf\nE body=14 n=1 f=lf\n");
	/* the empty line alone is bare */
	check_header("A: 1\r\n\nx", "F A [ 1] u[1] @0\nE body=7 n=1 f=lf\n");
	/* a CR not before LF is an octet of the value */
	check_header("A: 1\r2\r\n\r\n", "F A [ 1\\r2] u[1\\r2] @0 f=cr\nE body=10 n=1 f=cr\n");
	check_header("A: 1\r\r\n\r\n", "F A [ 1\\r] u[1\\r] @0 f=cr\nE body=9 n=1 f=cr\n");
	/* CR CR LF at the start of a line: not an empty line, not a field */
	check_header("A: 1\r\n\r\r\nx",
		     "F A [ 1] u[1] @0\nE body=6 n=1 f=cr,malformed\n");
}

static void
test_header_no_end(void)
{
	/* input ends without the empty line: finish() completes the header */
	check_header("A: 1\r\nB: 2\r\n",
		     "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nE body=12 n=2 f=noend\n");
	check_header("A: 1\r\nB: 2", "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nE body=10 n=2 f=noend\n");
	check_header("A: 1\r\n  2", "F A [ 1\\r\\n  2] u[1  2] @0\nE body=9 n=1 f=noend\n");
	/* a CR at the very end is taken as the line end */
	check_header("A: 1\r", "F A [ 1] u[1] @0 f=cr\nE body=5 n=1 f=cr,noend\n");
	check_header("A:", "F A [] @0\nE body=2 n=1 f=noend\n");
	check_header("", "E body=0 n=0 f=noend\n");
	/* a name without its colon at the end: it is the body */
	check_header("A: 1\r\nBcc", "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\nBcc  ", "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\n\r", "F A [ 1] u[1] @0\nE body=6 n=1 f=cr,malformed\n");
}

static void
test_header_malformed(void)
{
	/* a line without a colon ends the header; it is the body's first line */
	check_header("A: 1\r\nthis is not a field\r\nB: 2\r\n\r\n",
		     "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\nNoColon\r\n\r\n", "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	/* leading white space on the first line: nothing to continue */
	check_header(" A: 1\r\n\r\n", "E body=0 n=0 f=malformed\n");
	check_header("\tA: 1\r\n\r\n", "E body=0 n=0 f=malformed\n");
	/* an empty name, a name with a space, a control or 8-bit octet in it */
	check_header("A: 1\r\n: x\r\n\r\n", "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\nSub ject: x\r\n\r\n",
		     "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\nX\x01Y: x\r\n\r\n", "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("A: 1\r\nX\xc3\xa4: x\r\n\r\n",
		     "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	check_header("\x80: x\r\n\r\n", "E body=0 n=0 f=malformed\n");
	/* the flags seen before the bad line stay */
	check_header("A: 1\nbad line\n", "F A [ 1] u[1] @0 f=lf\nE body=5 n=1 f=lf,malformed\n");
}

static void
test_header_mbox_from(void)
{
	check_header("From sender@example.com Mon Jan  1 00:00:00 2024\r\n"
		     "From: a@b\r\n\r\nbody",
		     "F From [ a@b] u[a@b] @50\nE body=63 n=1 f=mbox\n");
	check_header("From x\nA: 1\n\n", "F A [ 1] u[1] @7 f=lf\nE body=13 n=1 f=lf,mbox\n");
	check_header("From x\nA: 1\r\n\r\n", "F A [ 1] u[1] @7\nE body=15 n=1 f=lf,mbox\n");
	check_header("From x\ry\r\nA: 1\r\n\r\n", "F A [ 1] u[1] @10\nE body=18 n=1 f=cr,mbox\n");
	/* only on the first line; elsewhere it is a non-field line */
	check_header("A: 1\r\nFrom x@y Mon Jan  1 00:00:00 2024\r\n\r\n",
		     "F A [ 1] u[1] @0\nE body=6 n=1 f=malformed\n");
	/* "From :" is the obsolete form of a From: field */
	check_header("From : a@b\r\n\r\n", "F From [ a@b] u[a@b] @0 f=obs\nE body=14 n=1 f=obs\n");
	/* an mbox line and nothing else */
	check_header("From x\r\n", "E body=8 n=0 f=mbox,noend\n");
	check_header("From x", "E body=6 n=0 f=mbox,noend\n");
	check_header("From ", "E body=5 n=0 f=mbox,noend\n");
	/* "From" then a tab is not the mbox separator */
	check_header("From\tx\r\n\r\n", "E body=0 n=0 f=malformed\n");
}

static void
test_header_obs_name(void)
{
	/* RFC 5322 4.5: WSP between the name and the colon */
	check_header("Subject \t: hi\r\n\r\n",
		     "F Subject [ hi] u[hi] @0 f=obs\nE body=17 n=1 f=obs\n");
	check_header("Subject x: hi\r\n\r\n", "E body=0 n=0 f=malformed\n");
}

static void
test_header_8bit(void)
{
	/* RFC 6532: UTF-8 in values */
	check_header("Subject: Gr\xc3\xbc\xc3\x9f" "e\r\n\r\n",
		     "F Subject [ Gr\\xc3\\xbc\\xc3\\x9fe] u[Gr\\xc3\\xbc\\xc3\\x9fe] @0 f=8bit\n"
		     "E body=20 n=1 f=8bit\n");
	/* Latin-1 is kept and flagged */
	check_header("Subject: Gr\xfc\xdf" "e\r\n\r\n",
		     "F Subject [ Gr\\xfc\\xdfe] u[Gr\\xfc\\xdfe] @0 f=8bit,badutf8\n"
		     "E body=18 n=1 f=8bit,badutf8\n");
	/* a UTF-8 sequence cut by a fold is not well-formed */
	check_header("A: \xc3\r\n \xbc\r\n\r\n",
		     "F A [ \\xc3\\r\\n \\xbc] u[\\xc3 \\xbc] @0 f=8bit,badutf8\n"
		     "E body=12 n=1 f=8bit,badutf8\n");
}

static void
test_header_nul(void)
{
	static const char in[] = "A: x\0y\r\n\r\n";

	check_header_with(in, sizeof(in) - 1, &default_limits, describe_raw_value, true,
			  "F A [ x\\x00y] u[x\\x00y] @0 f=nul\nE body=10 n=1 f=nul\n");
}

static void
test_header_long_line(void)
{
	struct buf in, exp;

	/* RFC 5322 2.1.1: 998 octets a line are fine, 999 are flagged */
	buf_init(&in, 0);
	buf_init(&exp, 0);
	buf_append_str(&in, "A: ");
	for (int i = 0; i < 995; i++)
		buf_append_byte(&in, 'x');
	buf_append_str(&in, "\r\n B: ");
	for (int i = 0; i < 994; i++)
		buf_append_byte(&in, 'y');
	buf_append_str(&in, "\r\n\r\n");
	check_header_with(buf_cstr(&in), buf_len(&in), &default_limits, describe_name_only, true,
			  "F A @0\nE body=2002 n=1\n");
	buf_truncate(&in, buf_len(&in) - 4);
	buf_append_str(&in, "y\r\n\r\n");
	check_header_with(buf_cstr(&in), buf_len(&in), &default_limits, describe_name_only, true,
			  "F A @0 f=long\nE body=2003 n=1 f=long\n");
	buf_deinit(&in);
	buf_deinit(&exp);
}

static void
test_header_limits(void)
{
	struct rfc5322_header_limits l = default_limits;

	/* max_field counts the field as received, line breaks included */
	l.max_field = 10;
	check_header_with("A: 12345\r\nB:\r\n 1\r\n\r\n", 20, &l, describe_raw_value, true,
			  "F A [ 12345] u[12345] @0\nF B [\\r\\n 1] u[1] @10\nE body=20 n=2\n");
	check_header_with("A: 123456\r\n\r\n", 13, &l, describe_raw_value, true,
			  "X 1 Header field too long\n");
	check_header_with("A:\r\n 1\r\n 2345\r\n\r\n", 17, &l, describe_raw_value, true,
			  "X 1 Header field too long\n");
	/* a line that is no field can still be too long to tell */
	check_header_with("A: 1\r\nNotAFieldAtAll\r\n", 22, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nX 1 Header field too long\n");
	/* max_fields */
	l = default_limits;
	l.max_fields = 2;
	check_header_with("A: 1\r\nB: 2\r\n\r\n", 14, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nE body=14 n=2\n");
	check_header_with("A: 1\r\nB: 2\r\nC: 3\r\n\r\n", 20, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nX 3 Too many header fields\n");
	/* a third line that is no field ends the header instead */
	check_header_with("A: 1\r\nB: 2\r\nbody\r\n", 19, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nE body=12 n=2 f=malformed\n");
	/* max_header counts everything before the body, the empty line too */
	l = default_limits;
	l.max_header = 20;
	check_header_with("A: 1\r\nB: 2\r\nC: 3\r\n\r\nbody", 24, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nF C [ 3] u[3] @12\n"
			  "E body=20 n=3\n");
	check_header_with("A: 1\r\nB: 2\r\nCC: 3\r\n\r\n", 21, &l, describe_raw_value, true,
			  "F A [ 1] u[1] @0\nF B [ 2] u[2] @6\nF CC [ 3] u[3] @12\n"
			  "X 2 Header too long\n");
	check_header_with("From xxxxxxxxxxxxxxxxxxxxxxxxx\r\n", 32, &l, describe_raw_value, true,
			  "X 2 Header too long\n");
	/* both limits passed in one piece: the one passed first is reported,
	 * whatever the split (found by fuzz-rfc5322-header) */
	l.max_field = 16;
	l.max_header = 64;
	check_header_with("X: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
			  "aaaaaaaaaaa\r\n", 77, &l, describe_raw_value, true,
			  "X 1 Header field too long\n");
	l.max_field = 100;
	l.max_header = 20;
	check_header_with("A: 1\r\nB: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n", 43, &l,
			  describe_raw_value, true, "F A [ 1] u[1] @0\nX 2 Header too long\n");
	l.max_field = 15;
	check_header_with("A: 1\r\nB: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n", 43, &l,
			  describe_raw_value, true, "F A [ 1] u[1] @0\nX 2 Header too long\n");
	l.max_field = 14;
	check_header_with("A: 1\r\nB: bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\r\n", 43, &l,
			  describe_raw_value, true,
			  "F A [ 1] u[1] @0\nX 1 Header field too long\n");
}

static void
test_header_after_end(void)
{
	struct rfc5322_header_parser p;
	struct rfc5322_field f;
	const char *err = NULL;
	size_t used;
	static const uint8_t msg[] = "A: 1\r\n\r\nbody";

	rfc5322_header_parser_init(&p, NULL);
	T_INTEQ(rfc5322_header_parse(&p, msg, 12, &used, &f, &err), RFC5322_HEADER_FIELD);
	T_INTEQ(used, 6);
	T_INTEQ(rfc5322_header_parse(&p, msg + 6, 6, &used, &f, &err), RFC5322_HEADER_END);
	T_INTEQ(used, 2);
	T_INTEQ(p.body_offset, 8);
	/* END again, nothing consumed */
	T_INTEQ(rfc5322_header_parse(&p, msg + 8, 4, &used, &f, &err), RFC5322_HEADER_END);
	T_INTEQ(used, 0);
	T_INTEQ(rfc5322_header_finish(&p, &f, &err), RFC5322_HEADER_END);
	T_INTEQ(p.flags, 0);
	T_ASSERT(err == NULL);
	rfc5322_header_parser_deinit(&p);
	/* after an error, ERROR again */
	struct rfc5322_header_limits l = default_limits;

	l.max_fields = 0;
	rfc5322_header_parser_init(&p, &l);
	T_INTEQ(rfc5322_header_parse(&p, msg, 12, &used, &f, &err), RFC5322_HEADER_ERROR);
	T_STREQ(err, "Too many header fields");
	T_INTEQ(p.error, RFC5322_HEADER_ERROR_TOO_MANY_FIELDS);
	err = NULL;
	T_INTEQ(rfc5322_header_parse(&p, msg, 12, &used, &f, &err), RFC5322_HEADER_ERROR);
	T_STREQ(err, "Too many header fields");
	rfc5322_header_parser_deinit(&p);
}

static void
test_field_helpers(void)
{
	struct rfc5322_header_parser p;
	struct rfc5322_field f;
	const char *err;
	size_t used;
	struct buf out;
	static const uint8_t msg[] = "cOnTeNt-TyPe:\r\n text/plain;\r\n\tcharset=utf-8 \r\n\r\n";

	rfc5322_header_parser_init(&p, NULL);
	T_INTEQ(rfc5322_header_parse(&p, msg, sizeof(msg) - 1, &used, &f, &err),
		RFC5322_HEADER_FIELD);
	T_ASSERT(rfc5322_field_name_is(&f, "Content-Type"));
	T_ASSERT(!rfc5322_field_name_is(&f, "Content-Typ"));
	T_ASSERT(!rfc5322_field_name_is(&f, "Content-Types"));
	buf_init(&out, 0);
	buf_append_str(&out, ">");
	T_INTEQ(rfc5322_field_unfold(&f, &out), 0);
	T_STREQ(buf_cstr(&out), ">text/plain;\tcharset=utf-8");
	buf_deinit(&out);
	/* a bounded buffer too small: -1 and unchanged */
	buf_init(&out, 10);
	buf_append_str(&out, "keep");
	T_INTEQ(rfc5322_field_unfold(&f, &out), -1);
	T_STREQ(buf_cstr(&out), "keep");
	buf_deinit(&out);
	rfc5322_header_parser_deinit(&p);
}

/* ---- RFC 5322 Appendix A: header, address and date parsers together ---- */

static void
describe_addresses(const struct rfc5322_field *f, enum rfc5322_address_mode mode,
		   struct buf *ev)
{
	struct rfc5322_address_limits limits;
	struct rfc5322_address_list list;
	const char *err;

	rfc5322_address_limits_init_default(&limits);
	if (rfc5322_address_list_parse(f->value, f->value_len, &limits, mode, &list, &err) < 0) {
		buf_printf(ev, " ! %s", err);
		return;
	}
	buf_append_str(ev, " =");
	for (unsigned i = 0; i < list.count; i++) {
		const struct rfc5322_address *a = &list.addrs[i];

		buf_append_str(ev, i == 0 ? " " : ", ");
		if (a->group != 0)
			buf_printf(ev, "[g%u:%s] ", a->group, a->group_name);
		if (a->local_part == NULL) {
			buf_append_str(ev, "empty");
			continue;
		}
		if (a->display_name != NULL)
			buf_printf(ev, "\"%s\" ", a->display_name);
		buf_append_byte(ev, '<');
		rfc5322_address_format(a, ev);
		buf_append_byte(ev, '>');
	}
	rfc5322_address_list_deinit(&list);
}

static void
describe_parsed(const struct rfc5322_field *f, struct buf *ev)
{
	static const char *const mailbox_lists[] = { "From", "Sender", "Resent-From",
						     "Resent-Sender" };
	static const char *const address_lists[] = { "To", "Cc", "Bcc", "Reply-To", "Resent-To",
						     "Resent-Cc", "Resent-Bcc" };
	struct rfc5322_date date;
	const char *err;

	for (size_t i = 0; i < N_ELEMENTS(mailbox_lists); i++) {
		if (rfc5322_field_name_is(f, mailbox_lists[i])) {
			describe_addresses(f, RFC5322_MAILBOX_LIST, ev);
			return;
		}
	}
	for (size_t i = 0; i < N_ELEMENTS(address_lists); i++) {
		if (rfc5322_field_name_is(f, address_lists[i])) {
			describe_addresses(f, RFC5322_ADDRESS_LIST, ev);
			return;
		}
	}
	if (rfc5322_field_name_is(f, "Date") || rfc5322_field_name_is(f, "Resent-Date")) {
		if (rfc5322_date_parse(f->value, f->value_len, &date, &err) < 0)
			buf_printf(ev, " ! %s", err);
		else
			buf_printf(ev, " = %lld %+d%s%s", (long long)date.time, date.zone,
				   date.zone_unknown ? " unknown" : "",
				   date.wrong_weekday ? " wrong-weekday" : "");
		return;
	}
	buf_append_str(ev, " = ");
	rfc5322_field_unfold(f, ev);
}

/* msg uses LF; it is sent with CRLF. The END line is added to expected. */
static void
check_appendix(const char *msg, const char *expected_fields, const char *end_flags)
{
	struct buf in, exp;
	const char *body;

	buf_init(&in, 0);
	buf_init(&exp, 0);
	for (const char *p = msg; *p != '\0'; p++) {
		if (*p == '\n')
			buf_append_byte(&in, '\r');
		buf_append_byte(&in, (uint8_t)*p);
	}
	body = strstr(buf_cstr(&in), "\r\n\r\n");
	T_ASSERT(body != NULL);
	buf_append_str(&exp, expected_fields);
	buf_printf(&exp, "E body=%zu n=", (size_t)(body + 4 - buf_cstr(&in)));
	{
		unsigned n = 0;

		for (const char *p = expected_fields; *p != '\0'; p++)
			n += *p == '\n';
		buf_printf(&exp, "%u%s\n", n, end_flags);
	}
	check_header_with(buf_cstr(&in), buf_len(&in), &default_limits, describe_parsed, false,
			  buf_cstr(&exp));
	buf_deinit(&in);
	buf_deinit(&exp);
}

static void
test_appendix_a1(void)
{
	/* A.1.1 */
	check_appendix("From: John Doe <jdoe@machine.example>\n"
		       "To: Mary Smith <mary@example.net>\n"
		       "Subject: Saying Hello\n"
		       "Date: Fri, 21 Nov 1997 09:55:06 -0600\n"
		       "Message-ID: <1234@local.machine.example>\n"
		       "\n"
		       "This is a message just to say hello.\n"
		       "So, \"Hello\".\n",
		       "F From = \"John Doe\" <jdoe@machine.example>\n"
		       "F To = \"Mary Smith\" <mary@example.net>\n"
		       "F Subject = Saying Hello\n"
		       "F Date = 880127706 -360\n"
		       "F Message-ID = <1234@local.machine.example>\n", "");
	/* A.1.2 */
	check_appendix("From: \"Joe Q. Public\" <john.q.public@example.com>\n"
		       "To: Mary Smith <mary@x.test>, jdoe@example.org, Who? <one@y.test>\n"
		       "Cc: <boss@nil.test>, \"Giant; \\\"Big\\\" Box\" <sysservices@example.net>\n"
		       "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
		       "Message-ID: <5678.21-Nov-1997@example.com>\n"
		       "\n"
		       "Hi everyone.\n",
		       "F From = \"Joe Q. Public\" <john.q.public@example.com>\n"
		       "F To = \"Mary Smith\" <mary@x.test>, <jdoe@example.org>, "
		       "\"Who?\" <one@y.test>\n"
		       "F Cc = <boss@nil.test>, \"Giant; \"Big\" Box\" <sysservices@example.net>\n"
		       "F Date = 1057049557 +120\n"
		       "F Message-ID = <5678.21-Nov-1997@example.com>\n", "");
	/* A.1.3 */
	check_appendix("From: Pete <pete@silly.example>\n"
		       "To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\n"
		       "Cc: Undisclosed recipients:;\n"
		       "Date: Thu, 13 Feb 1969 23:32:54 -0330\n"
		       "Message-ID: <testabcd.1234@silly.example>\n"
		       "\n"
		       "Testing.\n",
		       "F From = \"Pete\" <pete@silly.example>\n"
		       "F To = [g1:A Group] \"Ed Jones\" <c@a.test>, "
		       "[g1:A Group] <joe@where.test>, [g1:A Group] \"John\" <jdoe@one.test>\n"
		       "F Cc = [g1:Undisclosed recipients] empty\n"
		       "F Date = -27723426 -210\n"
		       "F Message-ID = <testabcd.1234@silly.example>\n", "");
}

static void
test_appendix_a2_a3_a4(void)
{
	/* A.2 */
	check_appendix("From: Mary Smith <mary@example.net>\n"
		       "To: John Doe <jdoe@machine.example>\n"
		       "Reply-To: \"Mary Smith: Personal Account\" <smith@home.example>\n"
		       "Subject: Re: Saying Hello\n"
		       "Date: Fri, 21 Nov 1997 10:01:10 -0600\n"
		       "Message-ID: <3456@example.net>\n"
		       "In-Reply-To: <1234@local.machine.example>\n"
		       "References: <1234@local.machine.example>\n"
		       "\n"
		       "This is a reply to your hello.\n",
		       "F From = \"Mary Smith\" <mary@example.net>\n"
		       "F To = \"John Doe\" <jdoe@machine.example>\n"
		       "F Reply-To = \"Mary Smith: Personal Account\" <smith@home.example>\n"
		       "F Subject = Re: Saying Hello\n"
		       "F Date = 880128070 -360\n"
		       "F Message-ID = <3456@example.net>\n"
		       "F In-Reply-To = <1234@local.machine.example>\n"
		       "F References = <1234@local.machine.example>\n", "");
	check_appendix("To: \"Mary Smith: Personal Account\" <smith@home.example>\n"
		       "From: John Doe <jdoe@machine.example>\n"
		       "Subject: Re: Saying Hello\n"
		       "Date: Fri, 21 Nov 1997 11:00:00 -0600\n"
		       "Message-ID: <abcd.1234@local.machine.test>\n"
		       "In-Reply-To: <3456@example.net>\n"
		       "References: <1234@local.machine.example> <3456@example.net>\n"
		       "\n"
		       "This is a reply to your reply.\n",
		       "F To = \"Mary Smith: Personal Account\" <smith@home.example>\n"
		       "F From = \"John Doe\" <jdoe@machine.example>\n"
		       "F Subject = Re: Saying Hello\n"
		       "F Date = 880131600 -360\n"
		       "F Message-ID = <abcd.1234@local.machine.test>\n"
		       "F In-Reply-To = <3456@example.net>\n"
		       "F References = <1234@local.machine.example> <3456@example.net>\n", "");
	/* A.3 */
	check_appendix("Resent-From: Mary Smith <mary@example.net>\n"
		       "Resent-To: Jane Brown <j-brown@other.example>\n"
		       "Resent-Date: Mon, 24 Nov 1997 14:22:01 -0800\n"
		       "Resent-Message-ID: <78910@example.net>\n"
		       "From: John Doe <jdoe@machine.example>\n"
		       "To: Mary Smith <mary@example.net>\n"
		       "Subject: Saying Hello\n"
		       "Date: Fri, 21 Nov 1997 09:55:06 -0600\n"
		       "Message-ID: <1234@local.machine.example>\n"
		       "\n"
		       "This is a message just to say hello.\n"
		       "So, \"Hello\".\n",
		       "F Resent-From = \"Mary Smith\" <mary@example.net>\n"
		       "F Resent-To = \"Jane Brown\" <j-brown@other.example>\n"
		       "F Resent-Date = 880410121 -480\n"
		       "F Resent-Message-ID = <78910@example.net>\n"
		       "F From = \"John Doe\" <jdoe@machine.example>\n"
		       "F To = \"Mary Smith\" <mary@example.net>\n"
		       "F Subject = Saying Hello\n"
		       "F Date = 880127706 -360\n"
		       "F Message-ID = <1234@local.machine.example>\n", "");
	/* A.4 */
	check_appendix("Received: from x.y.test\n"
		       "   by example.net\n"
		       "   via TCP\n"
		       "   with ESMTP\n"
		       "   id ABC12345\n"
		       "   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600\n"
		       "Received: from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600\n"
		       "From: John Doe <jdoe@node.example>\n"
		       "To: Mary Smith <mary@example.net>\n"
		       "Subject: Saying Hello\n"
		       "Date: Fri, 21 Nov 1997 09:55:06 -0600\n"
		       "Message-ID: <1234@local.node.example>\n"
		       "\n"
		       "This is a message just to say hello.\n"
		       "So, \"Hello\".\n",
		       "F Received = from x.y.test   by example.net   via TCP   with ESMTP   "
		       "id ABC12345   for <mary@example.net>;  21 Nov 1997 10:05:43 -0600\n"
		       "F Received = from node.example by x.y.test; 21 Nov 1997 10:01:22 -0600\n"
		       "F From = \"John Doe\" <jdoe@node.example>\n"
		       "F To = \"Mary Smith\" <mary@example.net>\n"
		       "F Subject = Saying Hello\n"
		       "F Date = 880127706 -360\n"
		       "F Message-ID = <1234@local.node.example>\n", "");
}

static void
test_appendix_a5_a6(void)
{
	/* A.5: white space, comments, and other oddities */
	check_appendix("From: Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>\n"
		       "To:A Group(Some people)\n"
		       "     :Chris Jones <c@(Chris's host.)public.example>,\n"
		       "         joe@example.org,\n"
		       "  John <jdoe@one.test> (my dear friend); (the end of the group)\n"
		       "Cc:(Empty list)(start)Hidden recipients  :(nobody(that I know))  ;\n"
		       "Date: Thu,\n"
		       "      13\n"
		       "        Feb\n"
		       "          1969\n"
		       "      23:32\n"
		       "               -0330 (Newfoundland Time)\n"
		       "Message-ID:              <testabcd.1234@silly.test>\n"
		       "\n"
		       "Testing.\n",
		       "F From = \"Pete\" <pete@silly.test>\n"
		       "F To = [g1:A Group] \"Chris Jones\" <c@public.example>, "
		       "[g1:A Group] <joe@example.org>, [g1:A Group] \"John\" <jdoe@one.test>\n"
		       "F Cc = [g1:Hidden recipients] empty\n"
		       "F Date = -27723480 -210\n"
		       "F Message-ID = <testabcd.1234@silly.test>\n", "");
	/* A.6.1: obsolete addressing */
	check_appendix("From: Joe Q. Public <john.q.public@example.com>\n"
		       "To: Mary Smith <@node.test:mary@example.net>, , jdoe@test  . example\n"
		       "Date: Tue, 1 Jul 2003 10:52:37 +0200\n"
		       "Message-ID: <5678.21-Nov-1997@example.com>\n"
		       "\n"
		       "Hi everyone.\n",
		       "F From = \"Joe Q. Public\" <john.q.public@example.com>\n"
		       "F To = \"Mary Smith\" <mary@example.net>, <jdoe@test.example>\n"
		       "F Date = 1057049557 +120\n"
		       "F Message-ID = <5678.21-Nov-1997@example.com>\n", "");
	/* A.6.2: obsolete dates */
	check_appendix("From: John Doe <jdoe@machine.example>\n"
		       "To: Mary Smith <mary@example.net>\n"
		       "Subject: Saying Hello\n"
		       "Date: 21 Nov 97 09:55:06 GMT\n"
		       "Message-ID: <1234@local.machine.example>\n"
		       "\n"
		       "This is a message just to say hello.\n"
		       "So, \"Hello\".\n",
		       "F From = \"John Doe\" <jdoe@machine.example>\n"
		       "F To = \"Mary Smith\" <mary@example.net>\n"
		       "F Subject = Saying Hello\n"
		       "F Date = 880106106 +0\n"
		       "F Message-ID = <1234@local.machine.example>\n", "");
	/* A.6.3: obsolete white space and comments (the To: has a line of
	 * white space only) */
	check_appendix("From  : John Doe <jdoe@machine(comment).  example>\n"
		       "To    : Mary Smith\n"
		       "  \n"
		       "          <mary@example.net>\n"
		       "Subject     : Saying Hello\n"
		       "Date  : Fri, 21 Nov 1997 09(comment):   55  :  06 -0600\n"
		       "Message-ID  : <1234   @   local(blah)  .machine .example>\n"
		       "\n"
		       "This is a message just to say hello.\n"
		       "So, \"Hello\".\n",
		       "F From = \"John Doe\" <jdoe@machine.example> f=obs\n"
		       "F To = \"Mary Smith\" <mary@example.net> f=obs\n"
		       "F Subject = Saying Hello f=obs\n"
		       "F Date = 880127706 -360 f=obs\n"
		       "F Message-ID = <1234   @   local(blah)  .machine .example> f=obs\n",
		       " f=obs");
}

static const struct test tests[] = {
	TEST_ENTRY(test_header_basic),
	TEST_ENTRY(test_header_folding),
	TEST_ENTRY(test_header_line_ends),
	TEST_ENTRY(test_header_no_end),
	TEST_ENTRY(test_header_malformed),
	TEST_ENTRY(test_header_mbox_from),
	TEST_ENTRY(test_header_obs_name),
	TEST_ENTRY(test_header_8bit),
	TEST_ENTRY(test_header_nul),
	TEST_ENTRY(test_header_long_line),
	TEST_ENTRY(test_header_limits),
	TEST_ENTRY(test_header_after_end),
	TEST_ENTRY(test_field_helpers),
	TEST_ENTRY(test_appendix_a1),
	TEST_ENTRY(test_appendix_a2_a3_a4),
	TEST_ENTRY(test_appendix_a5_a6),
	{ NULL, NULL },
};

int
main(void)
{
	rfc5322_header_limits_init_default(&default_limits);
	return test_main("rfc5322", tests);
}
