/*
 * test-smtp-data.c - DATA stream decoder: unstuffing, the one true end,
 * smuggling sequences, size limit, pipelined bytes after the end.
 *
 * Every case is decoded whole, one byte at a time and split in two at every
 * point (as the engine feeds it: unconsumed bytes are passed again); the
 * output, the end offset and the flags must be identical.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-data.h"

#include <stdio.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

struct result {
	struct buf out;
	long end;               /* offset after the end sequence, -1 when not found */
	bool too_big, bare;
	uint64_t size;
	unsigned sink_calls;
};

static void
sink(void *ctx, const uint8_t *data, size_t len)
{
	struct result *r = ctx;

	T_ASSERT(len > 0 && len <= SMTP_DATA_CHUNK);
	buf_append(&r->out, data, len);
	r->sink_calls++;
}

static void
decode(const char *in, size_t len, uint64_t max, size_t first, size_t step, struct result *r)
{
	struct smtp_data_decoder *d = mem_alloc(sizeof(*d));
	size_t pos = 0, fed = 0;

	buf_init(&r->out, 0);
	r->end = -1;
	r->sink_calls = 0;
	smtp_data_decoder_init(d, max, sink, r);
	while (fed < len && r->end < 0) {
		size_t n = fed == 0 && first > 0 ? first : step, used;

		if (n > len - fed)
			n = len - fed;
		fed += n;
		/* everything from pos to fed is unconsumed input */
		if (smtp_data_decoder_feed(d, (const uint8_t *)in + pos, fed - pos, &used) > 0)
			r->end = (long)(pos + used);
		else
			T_INTEQ(used, fed - pos);
		pos += used;
	}
	r->too_big = d->too_big;
	r->bare = d->bare_newline;
	r->size = d->size;
	mem_free(&d);
}

static bool
same(const struct result *a, const struct result *b)
{
	return T_MEMEQ(buf_data(&a->out), buf_len(&a->out), buf_data(&b->out), buf_len(&b->out)) &&
	       T_INTEQ(a->end, b->end) && T_INTEQ(a->too_big, b->too_big) &&
	       T_INTEQ(a->bare, b->bare) && T_INTEQ(a->size, b->size);
}

/* Check one input against the expected result, fed in every way. */
static void
check(const char *in, size_t len, uint64_t max, const char *out, size_t out_len, long end,
      bool too_big, bool bare)
{
	struct result whole, other;

	decode(in, len, max, 0, len == 0 ? 1 : len, &whole);
	T_MEMEQ(buf_data(&whole.out), buf_len(&whole.out), out, out_len);
	T_INTEQ(whole.end, end);
	T_INTEQ(whole.too_big, too_big);
	T_INTEQ(whole.bare, bare);
	decode(in, len, max, 0, 1, &other);
	same(&whole, &other);
	buf_deinit(&other.out);
	for (size_t split = 1; split < len; split++) {
		decode(in, len, max, split, len, &other);
		if (!same(&whole, &other))
			fprintf(stderr, "  at split %zu\n", split);
		buf_deinit(&other.out);
	}
	buf_deinit(&whole.out);
}

static void
test_data_plain(void)
{
	check(S("Subject: x\r\n\r\nbody\r\n.\r\n"), 0, S("Subject: x\r\n\r\nbody\r\n"), 23,
	      false, false);
	/* empty message: the CRLF of the DATA line is the first half of the end */
	check(S(".\r\n"), 0, S(""), 3, false, false);
	check(S("\r\n.\r\n"), 0, S("\r\n"), 5, false, false);
	/* no end yet */
	check(S("abc\r\n.\r"), 0, S("abc\r\n"), -1, false, false);
	check(S("abc\r\n."), 0, S("abc\r\n"), -1, false, false);
	check(S("abc\r"), 0, S("abc"), -1, false, false);
	/* binary-safe */
	check(S("a\0b\xff\r\n.\r\n"), 0, S("a\0b\xff\r\n"), 9, false, false);
}

static void
test_data_unstuffing(void)
{
	/* RFC 5321 4.5.2: the first dot of a line is removed, on the first line too */
	check(S("..hidden\r\n.\r\n"), 0, S(".hidden\r\n"), 13, false, false);
	check(S(".x\r\n.\r\n"), 0, S("x\r\n"), 7, false, false);
	check(S("a\r\n..\r\n.\r\n"), 0, S("a\r\n.\r\n"), 10, false, false);
	check(S("a\r\n...\r\nb.\r\n.\r\n"), 0, S("a\r\n..\r\nb.\r\n"), 15, false, false);
	check(S("a.b\r\n x.\r\n.\r\n"), 0, S("a.b\r\n x.\r\n"), 13, false, false);
}

static void
test_data_pipelined_rest(void)
{
	static const char in[] = "a\r\n.\r\nMAIL FROM:<x@y>\r\n";

	check(S(in), 0, S("a\r\n"), 6, false, false);
}

/*
 * Smuggling: none of these ends the message; each is content, flagged bare,
 * and the message goes on to the real end, so the "second message" is never
 * taken for commands.
 */
static void
test_data_smuggling(void)
{
	static const char *const fake[] = { "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n" };
	static const char tail[] = "MAIL FROM:<evil@x>\r\nRCPT TO:<v@y>\r\nDATA\r\nbad\r\n";

	for (size_t i = 0; i < N_ELEMENTS(fake); i++) {
		struct buf in, out;
		size_t total;

		buf_init(&in, 0);
		buf_init(&out, 0);
		buf_printf(&in, "Subject: a\r\n\r\nhello%s%s", fake[i], tail);
		total = buf_len(&in) + 5;
		buf_append_str(&in, "\r\n.\r\nQUIT\r\n");
		/* expected: everything up to the real end, the stuffing dot of
		 * "\r\n.\n" being removed as for any dot that starts a line */
		buf_printf(&out, "Subject: a\r\n\r\nhello%s%s\r\n",
			   strcmp(fake[i], "\r\n.\n") == 0 ? "\r\n\n" : fake[i], tail);
		check(buf_cstr(&in), buf_len(&in), 0, buf_cstr(&out), buf_len(&out), (long)total,
		      false, true);
		buf_deinit(&in);
		buf_deinit(&out);
	}
	/* bare CR and LF anywhere */
	check(S("a\rb\r\n.\r\n"), 0, S("a\rb\r\n"), 8, false, true);
	check(S("a\nb\r\n.\r\n"), 0, S("a\nb\r\n"), 8, false, true);
	check(S("a\r\r\n.\r\n"), 0, S("a\r\r\n"), 7, false, true);
	check(S(".\r.\r\n.\r\n"), 0, S("\r.\r\n"), 8, false, true);
	check(S("\n.\r\n"), 0, S("\n.\r\n"), -1, false, true);
}

static void
test_data_size_limit(void)
{
	/* exactly at the limit is fine */
	check(S("12345678\r\n.\r\n"), 10, S("12345678\r\n"), 13, false, false);
	/* over: the sink gets the first 10 octets, consumption goes on to the end */
	check(S("123456789\r\nmore\r\n.\r\nNOOP\r\n"), 10, S("123456789\r"), 20, true, false);
	check(S("1234567890123\r\n.\r\n"), 10, S("1234567890"), 18, true, false);
	check(S("12345\r\n123456\r\n.\r\n"), 10, S("12345\r\n123"), 18, true, false);
}

static void
test_data_large(void)
{
	struct buf in, expect;
	struct result whole, other;
	size_t steps[] = { 1, 7, 4096, 8191, 8192, 8193, 100000 };

	buf_init(&in, 0);
	buf_init(&expect, 0);
	for (int i = 0; i < 2000; i++) {
		buf_printf(&in, "%sline %d of a long message\r\n", i % 10 == 0 ? ".." : "", i);
		buf_printf(&expect, "%sline %d of a long message\r\n", i % 10 == 0 ? "." : "", i);
	}
	buf_append_str(&in, ".\r\n");
	decode(buf_cstr(&in), buf_len(&in), 0, 0, buf_len(&in), &whole);
	T_MEMEQ(buf_data(&whole.out), buf_len(&whole.out), buf_data(&expect), buf_len(&expect));
	T_INTEQ(whole.end, buf_len(&in));
	T_INTEQ(whole.size, buf_len(&expect));
	T_ASSERT(whole.sink_calls >= buf_len(&expect) / SMTP_DATA_CHUNK);
	for (size_t i = 0; i < N_ELEMENTS(steps); i++) {
		decode(buf_cstr(&in), buf_len(&in), 0, 0, steps[i], &other);
		same(&whole, &other);
		buf_deinit(&other.out);
	}
	buf_deinit(&whole.out);
	buf_deinit(&in);
	buf_deinit(&expect);
}

static void
test_data_done_is_sticky(void)
{
	struct smtp_data_decoder *d = mem_alloc(sizeof(*d));
	size_t used;

	smtp_data_decoder_init(d, 0, NULL, NULL);
	T_INTEQ(smtp_data_decoder_feed(d, (const uint8_t *)"x\r\n.\r\nabc", 9, &used), 1);
	T_INTEQ(used, 6);
	T_INTEQ(smtp_data_decoder_feed(d, (const uint8_t *)"abc", 3, &used), 1);
	T_INTEQ(used, 0);
	T_INTEQ(d->size, 3);
	mem_free(&d);
}

static const struct test tests[] = {
	TEST_ENTRY(test_data_plain),
	TEST_ENTRY(test_data_unstuffing),
	TEST_ENTRY(test_data_pipelined_rest),
	TEST_ENTRY(test_data_smuggling),
	TEST_ENTRY(test_data_size_limit),
	TEST_ENTRY(test_data_large),
	TEST_ENTRY(test_data_done_is_sticky),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("smtp-data", tests);
}
