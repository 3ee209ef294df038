/*
 * imap-utf7.h - modified UTF-7 mailbox names (RFC 3501 5.1.3) and UTF-8
 * mailbox name checks (RFC 9051 5.1, RFC 6855 3).
 *
 * What it does: converts between UTF-8 and modified UTF-7 in both
 * directions, strictly: every name has exactly one valid modified UTF-7
 * form, the one imap_utf8_to_utf7() writes. The decoder refuses anything
 * else: printable ASCII (and "&") inside a base64 run, "&" written other
 * than "&-", two runs back to back, an empty or unterminated run, leftover
 * bits that are non-zero or make a whole base64 character, unpaired UTF-16
 * surrogates, U+0000, and bytes outside printable ASCII.
 *
 * What it does not do: hierarchy separators, normalisation (NFC) or any
 * policy on which names a store accepts beyond the checks below.
 *
 * Invariants: pure; output goes to a caller's bounded buffer, and a
 * conversion that fails (or would exceed the buffer's maximum) leaves the
 * buffer as it was.
 */
#ifndef IMAP_UTF7_H
#define IMAP_UTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/*
 * Decode modified UTF-7 in[0..len) and append the UTF-8 to out. Returns 1
 * ok, -1 when the input is not canonical modified UTF-7 or out is full
 * (*error_r static text; out unchanged).
 */
int imap_utf7_to_utf8(const char *in, size_t len, struct buf *out, const char **error_r);

/*
 * Encode well-formed UTF-8 in[0..len) (no NUL) as modified UTF-7 onto out.
 * Returns 1 ok, -1 malformed UTF-8, NUL, or out full (out unchanged).
 */
int imap_utf8_to_utf7(const char *in, size_t len, struct buf *out, const char **error_r);

/* True when in[0..len) is canonical modified UTF-7. */
bool imap_utf7_is_valid(const char *in, size_t len);

/*
 * A mailbox name in UTF-8 (IMAP4rev2 or UTF8=ACCEPT): non-empty,
 * well-formed UTF-8 without control characters (C0, DEL, C1; RFC 9051 5.1
 * asks servers to refuse them). Returns 1 ok, -1 (*error_r static text).
 */
int imap_mailbox_name_utf8_check(const char *name, size_t len, const char **error_r);

#endif
