/*
 * fuzz-smtp-dotstuff.c - libFuzzer target for the outbound content encoder
 * (smtp-dotstuff.h): what leaves us must be clean whatever is stored.
 *
 * Input: one settings byte (bit 0: dot-stuffing as for DATA; bits 1-7: the
 * line limit, 0 = the default 998, else 2 + the value), then the message.
 * It is encoded whole, one octet at a time, and in pieces of 1..64 octets
 * chosen by the message itself: the three outputs must be identical.
 * Checked on the output: within smtp_dotstuff_max_output(); every CR is
 * followed by LF and every LF preceded by CR (no lone CR or LF, RFC 5321
 * 2.3.8); no line over the limit, a stuffed dot aside; with dot-stuffing, no
 * line but the last is "." (no early end of data) and the output ends with
 * CRLF "." CRLF, and without it, with CRLF (an empty message is only the
 * end of data, or nothing). When the input is already clean
 * (CRLF lines within the limit), un-stuffing gives the input back exactly
 * (with a CRLF added when the last line had none).
 */
#include "core/buf.h"
#include "smtp/smtp-dotstuff.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Encode in pieces: piece 0 = whole, else sizes taken from the data. */
static void
encode(const uint8_t *data, size_t size, bool dot, size_t max_line, size_t piece,
       struct buf *out)
{
	struct smtp_dotstuff e;
	size_t pos = 0;

	smtp_dotstuff_init(&e, dot, max_line);
	while (pos < size) {
		size_t n = piece != 0 ? piece : size;

		if (piece == 64)
			n = 1 + data[pos] % 64; /* varied pieces */
		if (n > size - pos)
			n = size - pos;
		if (smtp_dotstuff_feed(&e, data + pos, n, out) < 0)
			abort();
		pos += n;
	}
	if (smtp_dotstuff_finish(&e, out) < 0)
		abort();
	if (e.bytes_in != size || e.bytes_out != buf_len(out))
		abort();
}

/* CRLF lines, each within max_line octets (the last may lack CRLF). */
static bool
input_clean(const uint8_t *p, size_t n, size_t max_line)
{
	size_t len = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= n || p[i + 1] != '\n')
				return false;
			i++;
			len = 0;
			continue;
		}
		if (p[i] == '\n' || ++len > max_line)
			return false;
	}
	return true;
}

static void
check_output(const uint8_t *in, size_t in_len, const struct buf *out, bool dot, size_t max_line)
{
	const uint8_t *p = buf_data(out);
	size_t n = buf_len(out), start = 0;
	struct buf plain;

	if (n > smtp_dotstuff_max_output(in_len))
		abort();
	if (in_len == 0) {
		/* no lines at all: only the end of data */
		if (dot ? n != 3 || memcmp(p, ".\r\n", 3) != 0 : n != 0)
			abort();
		return;
	}
	if (n < 2 || p[n - 2] != '\r' || p[n - 1] != '\n')
		abort();
	if (dot && (n < 5 || memcmp(p + n - 5, "\r\n.\r\n", 5) != 0))
		abort();
	buf_init(&plain, 0);
	for (size_t i = 0; i < n; i++) {
		size_t len, skip;

		if (p[i] == '\r' && (i + 1 >= n || p[i + 1] != '\n'))
			abort();
		if (p[i] == '\n' && (i == 0 || p[i - 1] != '\r'))
			abort();
		if (p[i] != '\n')
			continue;
		/* the line p[start..i-1) without its CRLF */
		len = i - 1 - start;
		skip = dot && len > 0 && p[start] == '.' && !(i + 1 == n && len == 1) ? 1 : 0;
		if (len - skip > max_line)
			abort();
		if (dot && len == 1 && p[start] == '.' && i + 1 != n)
			abort(); /* an end of data before the end */
		if (dot && len > 1 && p[start] == '.' && p[start + 1] != '.')
			abort(); /* a leading dot not stuffed */
		if (!(dot && i + 1 == n))
			buf_append(&plain, p + start + skip, i + 1 - start - skip);
		start = i + 1;
	}
	if (input_clean(in, in_len, max_line)) {
		/* nothing to fix: the output is the input, stuffed */
		size_t want = in_len;

		if (!(in_len >= 2 && in[in_len - 2] == '\r' && in[in_len - 1] == '\n'))
			want += 2;
		if (buf_len(&plain) != want || memcmp(buf_data(&plain), in, in_len) != 0)
			abort();
	}
	buf_deinit(&plain);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, bytes, pieces;
	bool dot;
	size_t max_line;

	if (size < 1 || size > 65536)
		return 0;
	dot = (data[0] & 1) != 0;
	max_line = (data[0] >> 1) == 0 ? SMTP_DOTSTUFF_DEFAULT_MAX_LINE : 2 + (data[0] >> 1);
	data++;
	size--;
	buf_init(&whole, 0);
	buf_init(&bytes, 0);
	buf_init(&pieces, 0);
	encode(data, size, dot, max_line, 0, &whole);
	encode(data, size, dot, max_line, 1, &bytes);
	encode(data, size, dot, max_line, 64, &pieces);
	if (buf_len(&whole) != buf_len(&bytes) || buf_len(&whole) != buf_len(&pieces) ||
	    memcmp(buf_data(&whole), buf_data(&bytes), buf_len(&whole)) != 0 ||
	    memcmp(buf_data(&whole), buf_data(&pieces), buf_len(&whole)) != 0)
		abort();
	check_output(data, size, &whole, dot, max_line);
	buf_deinit(&whole);
	buf_deinit(&bytes);
	buf_deinit(&pieces);
	return 0;
}
