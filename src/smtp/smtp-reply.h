/*
 * smtp-reply.h - resumable parser of SMTP server replies (RFC 5321 4.2), and a
 * sanitiser for reply text that goes into logs and DSNs.
 *
 * What it does: takes the bytes a server sends, in any split, and yields one
 * complete reply at a time:
 *
 *     Reply-line = *( Reply-code "-" [ textstring ] CRLF )
 *                  Reply-code [ SP textstring ] CRLF          (RFC 5321 4.2)
 *
 * Every line of a multi-line reply must carry the same code (4.2.1: the
 * client may rely on it, so a mismatch is a broken or hostile server and is
 * an error). The code's first digit must be 2-5 (1yz is never used by SMTP)
 * and its second 0-5 (4.2.1). An RFC 3463 enhanced status code at the start
 * of a line's text ("5.1.1 "; RFC 2034 3) whose class matches the reply code
 * is taken out of the text; the first line's is the reply's.
 *
 * Decisions (documented limits, all in struct smtp_reply_limits):
 *  - Line length: RFC 5321 4.5.3.1.5 says 512 octets, but real servers send
 *    longer lines (long EHLO AUTH lists, verbose policy texts). Up to
 *    max_line octets (CRLF included, default 2048) are kept; the rest of a
 *    longer line is dropped and the reply is flagged truncated. That is not an
 *    error: the code is what matters, and the text is only shown to humans.
 *  - Lines per reply: more than max_lines (default 128) is an error; no
 *    server needs that many and it bounds the memory a reply can take.
 *  - A bare LF ends a line (the CR before it, if any, is dropped) and sets
 *    bare_lf: some servers send LF only, and a client cannot be smuggled by
 *    what it reads, only by what it sends. A bare CR inside a line is text
 *    (the sanitiser replaces it).
 *  - Anything else that is not a reply line (too short, not digits, a
 *    separator other than SP or "-") is an error.
 *
 * After an error the parser stays in error: the connection's byte stream can
 * no longer be trusted to be in step with our commands, so the client drops
 * it (RFC 5321 4.2 leaves no way to resynchronise).
 *
 * What it does not do: decide what a reply means (the client engine does),
 * or decode the text's charset. The text may hold any byte except LF.
 *
 * Invariants: pure (no I/O, no globals, no logging); memory bounded by
 * max_line * max_lines; the same input gives the same replies, errors and
 * consumed counts whatever way it is split.
 */
#ifndef SMTP_REPLY_H
#define SMTP_REPLY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

#define SMTP_REPLY_DEFAULT_MAX_LINE 2048
#define SMTP_REPLY_DEFAULT_MAX_LINES 128
/* "5.999.999" and its NUL */
#define SMTP_REPLY_ENHANCED_MAX 10

struct smtp_reply_limits {
	size_t max_line;        /* octets kept of one line, CRLF included; >= 8 */
	unsigned max_lines;     /* lines in one reply; >= 1 */
};

void smtp_reply_limits_init_default(struct smtp_reply_limits *limits);

/* A complete reply. Owned by the parser, valid until the next feed. */
struct smtp_reply {
	unsigned code;                          /* 200-599 */
	char enhanced[SMTP_REPLY_ENHANCED_MAX]; /* "X.Y.Z" from the first line, or "" */
	/* The lines' texts without code, separator and enhanced code, joined by
	 * '\n' (no trailing one); text[text_len] is NUL, but text may hold NULs
	 * of its own, so use text_len. */
	const char *text;
	size_t text_len;
	unsigned n_lines;
	bool truncated;                         /* a line was longer than max_line */
	bool bare_lf;                           /* a line ended in LF without CR */
};

enum smtp_reply_result {
	SMTP_REPLY_ERROR = -1,
	SMTP_REPLY_NEED_MORE = 0,
	SMTP_REPLY_DONE = 1,
};

struct smtp_reply_parser {
	struct smtp_reply_limits limits;
	bool failed;            /* sticky error */
	const char *error;      /* static text once failed */
	bool done;              /* a reply was handed out; reset at the next feed */
	struct buf line;        /* kept octets of the current line (at most max_line) */
	bool line_truncated;
	bool line_cr;           /* the last octet seen of the line was CR */
	struct buf text;
	struct smtp_reply reply;
};

void smtp_reply_parser_init(struct smtp_reply_parser *p, const struct smtp_reply_limits *limits);
void smtp_reply_parser_deinit(struct smtp_reply_parser *p);
/* Forget any partial line or reply (after STARTTLS, RFC 3207 4.2) and a
 * sticky error. */
void smtp_reply_parser_reset(struct smtp_reply_parser *p);

/*
 * Consume bytes from data..data+len up to the end of the next complete reply.
 *  - DONE: *reply_r is the reply (valid until the next call); *consumed_r is
 *    just after its last LF, and the caller passes the rest again.
 *  - NEED_MORE: all len bytes were consumed (*consumed_r == len).
 *  - ERROR: *error_r is a static English text; this and every later call
 *    return ERROR (until smtp_reply_parser_reset()).
 */
enum smtp_reply_result smtp_reply_parser_feed(struct smtp_reply_parser *p, const uint8_t *data,
					      size_t len, size_t *consumed_r,
					      const struct smtp_reply **reply_r,
					      const char **error_r);

/* Class of a code: 2, 4 or 5 (what matters to a client); 3 for 3yz. */
static inline unsigned
smtp_reply_class(unsigned code)
{
	return code / 100;
}

/*
 * Append reply text made safe for a log line or a DSN field: each '\n' (a
 * line break of a multi-line reply) becomes a single space, every other control
 * character, DEL and every non-ASCII octet becomes '?', and text longer than
 * max_len (>= 8) is cut to max_len - 3 octets plus "...". The result is
 * printable US-ASCII only. Returns 0, or -1 when out would exceed its
 * maximum (out is then unchanged).
 */
int smtp_reply_sanitize(const char *text, size_t len, size_t max_len, struct buf *out);

/* As smtp_reply_sanitize() into a new NUL-terminated string the caller owns
 * (mem_free). */
char *smtp_reply_sanitize_dup(const char *text, size_t len, size_t max_len);

#endif
