/*
 * fuzz-smtp-reply.c - libFuzzer target for the SMTP reply parser and the
 * reply-text sanitiser.
 *
 * Input: one byte choosing the line limit, the lines limit and a piece size,
 * then server bytes. They are parsed whole and in pieces; the replies and the
 * error must be identical (any split gives the same result). Every reply's
 * code is in range and its sanitised text is printable US-ASCII within the
 * bound.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "smtp/smtp-reply.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_reply(const struct smtp_reply *r, struct buf *ev)
{
	struct buf s;
	size_t i;

	if (r->code < 200 || r->code > 559 || r->n_lines == 0 || r->text[r->text_len] != '\0')
		abort();
	if (r->enhanced[0] != '\0' && (unsigned)(r->enhanced[0] - '0') != r->code / 100)
		abort();
	buf_init(&s, 0);
	if (smtp_reply_sanitize(r->text, r->text_len, 40, &s) < 0 || buf_len(&s) > 40)
		abort();
	for (i = 0; i < buf_len(&s); i++) {
		if (buf_data(&s)[i] < 0x20 || buf_data(&s)[i] >= 0x7f)
			abort();
	}
	buf_printf(ev, "%u|%s|%u|%d|%d|", r->code, r->enhanced, r->n_lines, r->truncated,
		   r->bare_lf);
	buf_append(ev, r->text, r->text_len);
	buf_append_byte(ev, ';');
	buf_deinit(&s);
}

static void
run(const uint8_t *data, size_t size, const struct smtp_reply_limits *lim, size_t piece,
    struct buf *ev)
{
	struct smtp_reply_parser p;
	size_t pos = 0, end, used;

	smtp_reply_parser_init(&p, lim);
	while (pos < size) {
		const struct smtp_reply *r;
		const char *err;
		enum smtp_reply_result res;

		end = pos + piece < size ? pos + piece : size;
		res = smtp_reply_parser_feed(&p, data + pos, end - pos, &used, &r, &err);
		if (used > end - pos)
			abort();
		pos += used;
		if (res == SMTP_REPLY_ERROR) {
			buf_printf(ev, "ERR %s", err);
			break;
		}
		if (res == SMTP_REPLY_DONE)
			check_reply(r, ev);
		else if (pos != end)
			abort();
	}
	smtp_reply_parser_deinit(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_reply_limits lim;
	struct buf whole, pieces;
	size_t piece;

	if (size == 0)
		return 0;
	smtp_reply_limits_init_default(&lim);
	if ((data[0] & 0x80) != 0) {
		lim.max_line = 8 + (data[0] & 0x0f);
		lim.max_lines = 1 + ((data[0] >> 4) & 0x03);
	}
	piece = 1 + ((data[0] >> 4) & 0x07);
	data++;
	size--;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	run(data, size, &lim, size == 0 ? 1 : size, &whole);
	run(data, size, &lim, piece, &pieces);
	if (buf_len(&whole) != buf_len(&pieces) ||
	    memcmp(buf_data(&whole), buf_data(&pieces), buf_len(&whole)) != 0)
		abort();
	buf_deinit(&whole);
	buf_deinit(&pieces);
	return 0;
}
