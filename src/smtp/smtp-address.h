/*
 * smtp-address.h - RFC 5321 envelope paths: parse and format.
 *
 * What it does: parses a Reverse-path / Forward-path (RFC 5321 4.1.2)
 *
 *     Path    = "<" [ A-d-l ":" ] Mailbox ">"
 *     Mailbox = Local-part "@" ( Domain / address-literal )
 *
 * plus the null path "<>" (MAIL only) and "<Postmaster>" (RCPT only) when the
 * caller allows them, UTF-8 local parts and domains (RFC 6531 3.3) when the
 * caller allows them, and address literals [1.2.3.4] and [IPv6:...]. It formats
 * a parsed address back in canonical form, quoting the local part only when it
 * is not a Dot-string.
 *
 * What it does not do: IDNA (U-label to A-label) conversion, DNS checks, or any
 * policy (is the domain ours, is the sender allowed): those are the glue's. A
 * source route (A-d-l) is checked for syntax and dropped (RFC 5321 4.1.1.3 and
 * appendix C: servers MAY ignore it). General-address-literals (a tag other than
 * IPv6) are refused: none is registered.
 *
 * Invariants: pure (no I/O, no globals); the input is a counted byte string that
 * need not be NUL-terminated; every byte of UTF-8 is checked for well-formedness
 * (RFC 3629); a parsed local part never contains a control character, so it is
 * always printable once quoted by smtp_address_format().
 */
#ifndef SMTP_ADDRESS_H
#define SMTP_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 5321 4.5.3.1: the minimum sizes an implementation must accept. */
#define SMTP_ADDRESS_DEFAULT_MAX_LOCALPART 64   /* 4.5.3.1.1 */
#define SMTP_ADDRESS_DEFAULT_MAX_DOMAIN 255     /* 4.5.3.1.2 */
#define SMTP_ADDRESS_DEFAULT_MAX_PATH 256       /* 4.5.3.1.3, including "<" and ">" */

struct smtp_address_limits {
	size_t max_localpart;   /* octets as transmitted, quotes included */
	size_t max_domain;      /* octets, brackets of a literal included */
	size_t max_path;        /* octets from "<" to ">" inclusive */
};

/* Fill with the RFC 5321 4.5.3.1 values above. */
void smtp_address_limits_init_default(struct smtp_address_limits *limits);
/* RFC 5322 3.2.3 atext, as RFC 5321 Atom uses it (also for the ORCPT
 * addr-type, RFC 3461 4.2). */
bool smtp_is_atext(uint8_t c);

enum smtp_address_flags {
	SMTP_ADDRESS_ALLOW_NULL = 0x01,        /* "<>" is accepted (MAIL FROM) */
	SMTP_ADDRESS_ALLOW_POSTMASTER = 0x02,  /* "<Postmaster>", any case (RCPT TO) */
	SMTP_ADDRESS_ALLOW_UTF8 = 0x04,        /* RFC 6531 UTF-8 in local part and domain */
};

/*
 * A parsed address. The strings are owned by the struct (smtp_address_deinit).
 *  - mailbox:    localpart (quoted-pairs resolved, quotes removed) and domain
 *                as given (an address literal keeps its brackets, literal=true);
 *  - null path:  localpart "" and domain NULL;
 *  - Postmaster: localpart as given ("Postmaster", any case) and domain NULL.
 * utf8 is true when the local part or the domain holds a non-ASCII byte.
 */
struct smtp_address {
	char *localpart;
	char *domain;
	bool literal;
	bool utf8;
};

/*
 * Parse a path that starts at data[0] == '<'. Parsing stops after the closing
 * '>': *consumed_r is set to its offset + 1 and the caller checks what follows.
 * Returns 1 on success (addr_r filled, caller owns it) or -1 on a syntax or
 * limit error (*error_r is a static English text, addr_r is zeroed).
 */
int smtp_address_parse_path(const uint8_t *data, size_t len, unsigned flags,
			    const struct smtp_address_limits *limits,
			    struct smtp_address *addr_r, size_t *consumed_r, const char **error_r);

/*
 * Parse a bare Mailbox (local@domain, no angle brackets, no source route) that
 * must fill all of data..data+len. Flags NULL and POSTMASTER are ignored.
 * Same return contract as smtp_address_parse_path().
 */
int smtp_address_parse_mailbox(const uint8_t *data, size_t len, unsigned flags,
			       const struct smtp_address_limits *limits,
			       struct smtp_address *addr_r, const char **error_r);

/* Free the strings and zero the struct. Safe on a zeroed struct. */
void smtp_address_deinit(struct smtp_address *addr);
/* Deep copy: dst is overwritten (not freed first) and owned by the caller. */
void smtp_address_copy(struct smtp_address *dst, const struct smtp_address *src);

static inline bool
smtp_address_is_null(const struct smtp_address *addr)
{
	return addr->domain == NULL && addr->localpart != NULL && addr->localpart[0] == '\0';
}

static inline bool
smtp_address_is_postmaster(const struct smtp_address *addr)
{
	return addr->domain == NULL && addr->localpart != NULL && addr->localpart[0] != '\0';
}

/*
 * Append the address in canonical form: local@domain, the local part quoted
 * (with '"' and '\' escaped) when it is not a Dot-string; "" for the null
 * path, the bare local part for Postmaster. Returns 0, or -1 when out would
 * exceed its maximum (out is then unchanged).
 */
int smtp_address_format(const struct smtp_address *addr, struct buf *out);
/* As smtp_address_format(), between "<" and ">". */
int smtp_address_format_path(const struct smtp_address *addr, struct buf *out);

/*
 * Length of the well-formed UTF-8 sequence (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF) that starts at p with a byte >= 0x80,
 * or 0 when it is malformed or truncated at end. Exported for the command
 * parser and the tests.
 */
size_t smtp_utf8_sequence_len(const uint8_t *p, const uint8_t *end);

#endif
