/*
 * imap-envelope.h - the IMAP ENVELOPE of a message (RFC 9051 7.5.2).
 *
 * What it does: writes "(date subject from sender reply-to to cc bcc
 * in-reply-to message-id)" from a message's header fields:
 *  - date, subject, in-reply-to, message-id: the unfolded field value as a
 *    string (RFC 2047 words are not decoded), NIL when the field is absent;
 *  - address fields: a list of (name adl mailbox host): the name is the
 *    display name, else the comment after the address ("a@b (Real Name)",
 *    as Dovecot and Cyrus do); adl the obsolete source route ("@relay"),
 *    else NIL; a group is (NIL NIL "group" NIL) before its members
 *    and (NIL NIL NIL NIL) after them; NIL when the field is absent, empty,
 *    or cannot be parsed (rfc5322-address.h is strict; a wrong guess at an
 *    address would be worse for a client than none);
 *  - sender and reply-to are the from list when absent or empty.
 * The mailbox is the local part, quoted as RFC 5322 would when it is not a
 * dot-atom; the host is the domain as written.
 *
 * What it does not do: fetch the header (the caller has it, or a parsed
 * mime_part), or cache results.
 *
 * Invariants: the output is one balanced parenthesised list of IMAP
 * strings (imap-string.h) and NILs, or nothing on error.
 */
#ifndef MIME_IMAP_ENVELOPE_H
#define MIME_IMAP_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mime/mime-parser.h"

/*
 * Append the ENVELOPE of `message`, which must be a message part (the root
 * of a tree, or the child of a message/rfc822 part: mime_part_is_message).
 * flags: enum imap_string_flags. Returns 0, or -1 when out would exceed its
 * maximum (out is then unchanged).
 */
int imap_envelope_write(const struct mime_part *message, unsigned flags, struct buf *out);

/*
 * As imap_envelope_write() from the raw values of the envelope fields
 * (NULL: absent), indexed by enum mime_envelope_field.
 */
int imap_envelope_write_fields(char *const fields[MIME_ENVELOPE_COUNT], unsigned flags,
			       struct buf *out);

/*
 * As imap_envelope_write() for a header block (or a whole message: only the
 * header is read), parsed with the default header limits.
 */
int imap_envelope_write_header(const uint8_t *header, size_t len, unsigned flags,
			       struct buf *out);

#endif
