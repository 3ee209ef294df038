/*
 * rfc5322-chars.h - character classes and lexical helpers shared by the
 * RFC 5322 parsers (header, address, date).
 *
 * What it does: classifies octets by the RFC 5322 3.2 rules (WSP, atext,
 * ftext), measures RFC 3629 UTF-8 sequences (RFC 6532 3.1 lets UTF-8 appear
 * wherever RFC 5322 allows printable text), and skips CFWS (RFC 5322 3.2.2:
 * white space, folding, comments nested to any depth).
 *
 * What it does not do: decode anything, or know which rule a caller is in.
 *
 * Invariants: pure functions over counted byte ranges; never read at or past
 * `end`; comment nesting is counted, not recursed, so depth costs no stack.
 */
#ifndef MIME_RFC5322_CHARS_H
#define MIME_RFC5322_CHARS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* RFC 5322 2.1.1: a line SHOULD be at most 78 and MUST be at most 998
 * characters, excluding the CRLF. */
#define RFC5322_MAX_LINE 998

/* RFC 5234 B.1 WSP: space or horizontal tab. */
static inline bool
rfc5322_is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static inline bool
rfc5322_is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

static inline bool
rfc5322_is_alpha(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* RFC 5322 3.6.8 ftext: printable US-ASCII except ":" (%d33-57 / %d59-126). */
static inline bool
rfc5322_is_ftext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != ':';
}

/* RFC 5322 3.2.3 atext, ASCII part (UTF-8 is the caller's, RFC 6532 3.2). */
bool rfc5322_is_atext(uint8_t c);

/*
 * Length of the well-formed UTF-8 sequence at p (p[0] >= 0x80): 2, 3 or 4;
 * 0 when it is malformed (overlong, surrogate, above U+10FFFF, bad
 * continuation) or cut short by end (RFC 3629 4).
 */
size_t rfc5322_utf8_len(const uint8_t *p, const uint8_t *end);

/* True when data[0..len) holds only ASCII and well-formed UTF-8. */
bool rfc5322_utf8_valid(const uint8_t *data, size_t len);

/*
 * Length of a line break at p: 2 for CRLF, 1 for a bare LF (accepted as a
 * line end, as the header parser does), 0 otherwise.
 */
size_t rfc5322_line_break_len(const uint8_t *p, const uint8_t *end);

/*
 * Skip CFWS (RFC 5322 3.2.2) at *pp: WSP, folds (a line break followed by
 * WSP), comments with quoted-pairs, nested to any depth. A line break at the
 * very end of the input is taken as white space (a value given with its final
 * CRLF). On success *pp is moved past what was skipped and the return value is
 * 1 if anything was skipped, else 0. Returns -1 when a comment is unterminated
 * or holds a forbidden octet, or a line break is not followed by WSP; *error_r
 * is then a static English text and *pp points at the offending octet.
 */
int rfc5322_skip_cfws(const uint8_t **pp, const uint8_t *end, const char **error_r);

#endif
