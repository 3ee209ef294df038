/*
 * imap-url.h - IMAP URLs (RFC 5092) naming one message or one part of a
 * message, as CATENATE (RFC 4469 5) uses them.
 *
 * What it does:
 *  - parses the forms that name message data on this server: the absolute
 *    path "/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]"
 *    (RFC 5092 7: relative to the server of the session) and the full
 *    "imap://[user[;AUTH=mech]@]host[:port]/..." form with the same path;
 *    keywords and the scheme are matched ignoring ASCII case, %-escapes are
 *    decoded (RFC 5092 3: the mailbox name is UTF-8 once decoded);
 *  - checks the section with mime/imap-section.h, so a URL that parses
 *    names something a message may have;
 *  - cuts the named octets out of a message (imap_url_section()), with
 *    the section and partial cutting of FETCH (imap-fetch.h).
 *
 * What it does not do: URLAUTH (";EXPIRE=", ";URLAUTH=", RFC 4467), search
 * or message-list URLs ("?", no ";UID="), relative URLs other than the
 * absolute path, or decide whether the user and host are this server's and
 * whether the mailbox exists (the engine and the glue do).
 *
 * Invariants: pure (no I/O, no globals); parsing a string gives the same
 * result whatever came before; every decoded field is NUL-terminated text
 * without NUL or control characters.
 */
#ifndef IMAP_IMAP_URL_H
#define IMAP_IMAP_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Longest URL taken; longer ones are refused (a command line bounds it too). */
#define IMAP_URL_MAX_LEN 8192

struct imap_url {
	bool full;              /* "imap://..." (else the absolute path form) */
	char *user;             /* decoded enc-user; NULL when not given */
	char *host;             /* as given (full form only), NULL otherwise */
	char *mailbox;          /* decoded, UTF-8 */
	uint32_t uidvalidity;   /* 0 = not given */
	uint32_t uid;           /* nz-number */
	char *section;          /* decoded section spec, NULL = the whole message */
	bool partial;
	uint64_t partial_offset;
	uint64_t partial_length; /* 0 = to the end (RFC 5092 partial-range has nz length) */
};

/*
 * Parse url[0..len). Returns 1 with *url_r filled (the caller owns it:
 * imap_url_deinit), or -1 with *error_r a static English text and *url_r
 * zeroed (nothing to free).
 */
int imap_url_parse(const char *url, size_t len, struct imap_url *url_r, const char **error_r);
void imap_url_deinit(struct imap_url *url);
/* A deep copy of src into *dst (release with imap_url_deinit). */
void imap_url_copy(const struct imap_url *src, struct imap_url *dst);

/*
 * The octets url names in the message msg[0..len): the whole message, or
 * its section (RFC 9051 6.4.5 semantics, as BODY[section]: HEADER.FIELDS
 * filtered, the blank line included), then cut by PARTIAL (an origin past
 * the end gives no octets). Returns 1 with *data_r, *len_r pointing into msg
 * or into scratch (which the caller resets and frees), or -1 with *error_r
 * when the part does not exist in this message.
 */
int imap_url_section(const struct imap_url *url, const uint8_t *msg, size_t len,
		     struct buf *scratch, const uint8_t **data_r, size_t *len_r,
		     const char **error_r);

#endif
