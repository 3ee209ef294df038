/*
 * smtp-dotstuff.c - outbound content encoder (see smtp-dotstuff.h).
 *
 * State between octets: whether a CR is held (its meaning depends on the next
 * octet), how long the current output line is, and whether we are still in
 * the header section. Every output line goes through line_octet() and
 * line_end(), which apply the length limit and dot-stuffing in one place.
 */
#include "smtp/smtp-dotstuff.h"

#include "core/mem.h"

#include <string.h>

void
smtp_dotstuff_init(struct smtp_dotstuff *e, bool dot_stuff, size_t max_line)
{
	memset(e, 0, sizeof(*e));
	e->dot_stuff = dot_stuff;
	e->max_line = max_line == 0 ? SMTP_DOTSTUFF_DEFAULT_MAX_LINE : max_line;
	if (e->max_line < 2)
		e->max_line = 2;
	e->in_header = true;
}

size_t
smtp_dotstuff_max_output(size_t len)
{
	/* worst case per octet: a bare LF or CR -> CRLF, or a "." at a line start
	 * -> "..", or a break (3) every max_line octets; plus CRLF "." CRLF */
	return mem_size_add(mem_size_mul(len, 3), 8);
}

static int
put(struct smtp_dotstuff *e, struct buf *out, const void *data, size_t len)
{
	e->bytes_out += len;
	return buf_append(out, data, len);
}

static int
line_end(struct smtp_dotstuff *e, struct buf *out)
{
	if (e->line_len == 0)
		e->in_header = false;   /* RFC 5322 2.1: the empty line ends the header */
	e->line_len = 0;
	return put(e, out, "\r\n", 2);
}

static int
line_octet(struct smtp_dotstuff *e, struct buf *out, uint8_t c)
{
	if (e->line_len >= e->max_line) {
		/* RFC 5322 2.1.1 / RFC 5321 4.5.3.1.6: break the line. In the
		 * header a folding SP keeps the rest part of the same field. */
		e->lines_broken++;
		if (e->in_header) {
			if (put(e, out, "\r\n ", 3) < 0)
				return -1;
			e->line_len = 1;
		} else {
			if (put(e, out, "\r\n", 2) < 0)
				return -1;
			e->line_len = 0;
		}
	}
	if (e->line_len == 0 && c == '.' && e->dot_stuff) {
		/* RFC 5321 4.5.2; the added dot is not part of the line's
		 * length (RFC 5321 4.5.3.1.6) */
		if (put(e, out, ".", 1) < 0)
			return -1;
	}
	e->line_len++;
	return put(e, out, &c, 1);
}

int
smtp_dotstuff_feed(struct smtp_dotstuff *e, const uint8_t *data, size_t len, struct buf *out)
{
	size_t i;

	ASSERT(!e->finished);
	e->bytes_in += len;
	for (i = 0; i < len; i++) {
		uint8_t c = data[i];

		if (e->cr_pending) {
			e->cr_pending = false;
			if (line_end(e, out) < 0)
				return -1;
			if (c == '\n')
				continue;
			e->bare_newlines++;     /* CR not followed by LF */
		}
		if (c == '\r') {
			e->cr_pending = true;
			continue;
		}
		if (c == '\n') {
			e->bare_newlines++;     /* LF without CR */
			if (line_end(e, out) < 0)
				return -1;
			continue;
		}
		if (c >= 0x80)
			e->has_8bit = true;
		if (line_octet(e, out, c) < 0)
			return -1;
	}
	return 0;
}

int
smtp_dotstuff_finish(struct smtp_dotstuff *e, struct buf *out)
{
	ASSERT(!e->finished);
	e->finished = true;
	if (e->cr_pending) {
		e->cr_pending = false;
		e->bare_newlines++;
		if (line_end(e, out) < 0)
			return -1;
	} else if (e->line_len > 0) {
		if (line_end(e, out) < 0)
			return -1;
	}
	if (e->dot_stuff)
		return put(e, out, ".\r\n", 3);
	return 0;
}
