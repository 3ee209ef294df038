/*
 * sasl-text.h - checks on the text fields of SASL messages, shared by the
 * mechanisms (sasl-plain.c, sasl-server.c, sasl-scram.c).
 *
 * Does: validate UTF-8 (RFC 3629 4) and find control characters.
 * Does not: SASLprep/stringprep (RFC 4013). No normalisation or mapping is
 * done anywhere in SASL: identities and passwords are compared octet by
 * octet. The only part of SASLprep we apply is its prohibition of control
 * characters (RFC 4013 2.3, tables C.2.1 and C.2.2) in identities.
 * Pure functions, no state.
 */
#ifndef SASL_SASL_TEXT_H
#define SASL_SASL_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* true when p[0..len) is UTF-8 without overlong forms, surrogates or code
 * points above U+10FFFF (RFC 3629 4). NUL bytes count as valid here. */
bool sasl_utf8_valid(const uint8_t *p, size_t len);

/* true when valid UTF-8 p[0..len) holds a control character: U+0000..U+001F,
 * U+007F (RFC 3454 table C.2.1) or U+0080..U+009F (the C1 block of table
 * C.2.2; the rest of C.2.2, such as U+200C ZERO WIDTH NON-JOINER, is allowed). */
bool sasl_text_has_control(const uint8_t *p, size_t len);

#endif
