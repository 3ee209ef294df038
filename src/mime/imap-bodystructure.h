/*
 * imap-bodystructure.h - IMAP BODYSTRUCTURE and BODY from a MIME tree
 * (RFC 9051 7.5.2, the "body" rule of section 9).
 *
 * What it does: walks a tree from mime-parser.h and writes the structure:
 *  - a leaf: (type subtype params id description encoding octets [lines])
 *    with lines for text parts; for message/rfc822 and message/global parts
 *    parsed as messages, the envelope, the body of the inner message and
 *    the lines follow the octets;
 *  - a multipart: its children's bodies, one after another without spaces,
 *    then the subtype;
 *  - extensible (BODYSTRUCTURE): after a leaf, md5 disposition language
 *    location; after a multipart, params disposition language location.
 * Type, subtype, encoding, parameter names and the disposition type are
 * written in upper case (they are case-insensitive; values are written as
 * given). A text part without a charset gets ("CHARSET" "US-ASCII")
 * (RFC 2046 4.1.2). A Content-Transfer-Encoding that is not a known
 * mechanism is written as given when it is a token, else as "7BIT". RFC 2231 parameters are written decoded
 * when the result is ASCII (or UTF8=ACCEPT allows UTF-8), otherwise as one
 * "NAME*" parameter in the RFC 2231 form (utf-8''%XX.., or the raw form for
 * other charsets), which clients decode.
 *
 * Parts the parser left opaque: a multipart that has no children (no
 * boundary, a limit) is written as the single part ("APPLICATION"
 * "OCTET-STREAM" ...) with its parameters, as is a message part that was
 * not parsed (encoded, or a limit): the grammar has no form for them, and
 * this lets a client fetch the octets.
 *
 * What it does not do: parse BODYSTRUCTURE strings back, or cache.
 *
 * Invariants: the output is one balanced parenthesised list; recursion is
 * bounded by the parser's max_depth.
 */
#ifndef MIME_IMAP_BODYSTRUCTURE_H
#define MIME_IMAP_BODYSTRUCTURE_H

#include <stdbool.h>

#include "core/buf.h"
#include "mime/mime-parser.h"

/*
 * Append the BODYSTRUCTURE (extensible true) or BODY (false) of `part`
 * (normally the root: the message's body structure). flags: enum
 * imap_string_flags. Returns 0, or -1 when out would exceed its maximum
 * (out is then unchanged).
 */
int imap_bodystructure_write(const struct mime_part *part, bool extensible, unsigned flags,
			     struct buf *out);

#endif
