/*
 * rfc5322-message-id.h - new Message-ID values.
 *
 * What it does: makes a msg-id (RFC 5322 3.6.4) "<left@right>" for a server
 * that adds a missing Message-ID: (RFC 6409 8.3). The left part is 128 bits
 * from getrandom(2) in lower-case base32 (RFC 4648 6 alphabet, no padding):
 * 26 characters of dot-atom-text, unique without any state, clock or
 * process id, and revealing nothing about the host's traffic. The right part
 * is the caller's host name, as RFC 5322 3.6.4 recommends.
 *
 * What it does not do: parse msg-ids (In-Reply-To, References), or remember
 * what it handed out.
 *
 * Invariants: not a parser and not pure (it reads the kernel's random pool);
 * the output always matches "<" 26*(a-z / 2-7) "@" dot-atom-text ">".
 */
#ifndef MIME_RFC5322_MESSAGE_ID_H
#define MIME_RFC5322_MESSAGE_ID_H

#include "core/buf.h"

/* Length of the random left part. */
#define RFC5322_MESSAGE_ID_RANDOM_LEN 26

/*
 * Append "<random@host>" to out. host must be a dot-atom-text (RFC 5322
 * 3.2.3: a host name qualifies; a literal does not). Returns 0, or -1 with
 * *error_r a static English text when host is not usable, getrandom fails, or
 * out would exceed its maximum (out is then unchanged).
 */
int rfc5322_message_id_generate(const char *host, struct buf *out, const char **error_r);

#endif
