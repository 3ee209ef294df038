/*
 * imap-string.h - IMAP string output (RFC 9051 4.3, 4.5).
 *
 * What it does: appends a value as an IMAP quoted string when that can carry
 * it, else as a literal "{n}\r\n" followed by the octets; NIL for an absent
 * nstring. A quoted string cannot hold CR, LF or NUL, and holds 8-bit octets
 * only after the client enabled UTF8=ACCEPT (RFC 9051 6.3.1, RFC 6855 3) and
 * only when they are well-formed UTF-8; '"' and '\' are escaped.
 *
 * What it does not do: literal8 (RFC 3516): NUL octets cannot be sent in a
 * string, so they are dropped. Non-synchronising literals are for clients;
 * a server always sends plain literals.
 *
 * Invariants: the output is always a syntactically complete IMAP string.
 */
#ifndef MIME_IMAP_STRING_H
#define MIME_IMAP_STRING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

enum imap_string_flags {
	IMAP_STRING_UTF8 = 0x01,        /* UTF8=ACCEPT: UTF-8 may go into quoted strings */
};

/*
 * Append data[0..len) as a string. Returns 0, or -1 when out would exceed its
 * maximum (out is then unchanged).
 */
int imap_string_append(struct buf *out, const void *data, size_t len, unsigned flags);

/* As imap_string_append for a C string; NULL appends NIL (an nstring). */
int imap_string_append_nstring(struct buf *out, const char *s, unsigned flags);

/* Append a C string in upper case (ASCII letters) as a string; NULL is NIL. */
int imap_string_append_upper(struct buf *out, const char *s, unsigned flags);

#endif
