/*
 * smtp-dotstuff.h - outbound message content: clean line ends, line length
 * and dot-stuffing, as a resumable stream encoder for the SMTP client.
 *
 * What it does, byte by byte over the message as stored (any split):
 *  - Line ends become CRLF. A bare LF, a bare CR, and a CR followed by
 *    anything but LF each become one CRLF: no lone CR or LF ever leaves us
 *    (RFC 5321 2.3.8). A receiver that reads a lone LF or CR as a line end
 *    differently from the next hop could otherwise be made to see an end of
 *    data we never meant ("SMTP smuggling"), and no CR or LF can be passed
 *    through unpaired.
 *  - Lines longer than max_line octets (CRLF not counted; RFC 5322 2.1.1
 *    allows 998) are broken, as Postfix does with smtp_line_length_limit: in
 *    the header section by inserting CRLF SP (the rest becomes a folded
 *    continuation line, so the header stays a header; unfolding restores the
 *    text with one extra space), in the body by inserting CRLF. Every break is
 *    counted in lines_broken for the log. This is the honest choice for a
 *    relay: refusing the message would bounce mail that every receiver in
 *    practice accepts in broken form, and sending it unbroken violates
 *    RFC 5321 4.5.3.1.6.
 *  - With dot_stuff (DATA, not BDAT): a line starting with "." gets another
 *    "." in front (RFC 5321 4.5.2), including lines made by a break; and
 *    smtp_dotstuff_finish() writes the end of data "." CRLF.
 *  - The message always ends with CRLF (one is added when the last line had
 *    none), so the end of data is unambiguous.
 *
 * What it does not do: MIME or 8-bit downgrade, header parsing beyond "the
 * header section ends at the first empty line", or any decision.
 *
 * Invariants: pure; holds at most one CR between calls; output for n input
 * octets is at most smtp_dotstuff_max_output(n); the output is the same for
 * every split of the input.
 */
#ifndef SMTP_DOTSTUFF_H
#define SMTP_DOTSTUFF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 5322 2.1.1: 998 octets plus CRLF */
#define SMTP_DOTSTUFF_DEFAULT_MAX_LINE 998

struct smtp_dotstuff {
	size_t max_line;        /* octets before CRLF, >= 2 */
	bool dot_stuff;
	bool in_header;         /* no empty line seen yet */
	bool cr_pending;        /* a CR whose next octet is not known yet */
	size_t line_len;        /* octets of the current line (a stuffed dot not counted) */
	bool finished;
	/* statistics for the log */
	uint64_t bytes_in, bytes_out;
	uint64_t lines_broken;  /* breaks inserted into long lines */
	uint64_t bare_newlines; /* lone CR or LF turned into CRLF */
	bool has_8bit;          /* an octet >= 0x80 was seen */
};

/* max_line 0 means SMTP_DOTSTUFF_DEFAULT_MAX_LINE. */
void smtp_dotstuff_init(struct smtp_dotstuff *e, bool dot_stuff, size_t max_line);

/* Upper bound of the output for len input octets, plus a finish. */
size_t smtp_dotstuff_max_output(size_t len);

/*
 * Encode data..data+len onto out. Returns 0, or -1 when out would exceed its
 * maximum: out then holds part of the output and the encoder is unusable
 * (use a buffer with room for smtp_dotstuff_max_output(len) and this cannot
 * happen).
 */
int smtp_dotstuff_feed(struct smtp_dotstuff *e, const uint8_t *data, size_t len, struct buf *out);

/* End of message: a held CR becomes CRLF, an unterminated last line gets
 * CRLF, and with dot_stuff "." CRLF follows. Same return contract. */
int smtp_dotstuff_finish(struct smtp_dotstuff *e, struct buf *out);

#endif
