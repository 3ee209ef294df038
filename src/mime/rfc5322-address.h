/*
 * rfc5322-address.h - address-list and mailbox-list field values.
 *
 * What it does: parses the value of an address field (RFC 5322 3.4: From,
 * Sender, Reply-To, To, Cc, Bcc, the Resent- ones) into a list of mailboxes,
 * each with its display name, local part, domain and group. It takes the
 * value as the header parser gives it (folds and all) or unfolded. Accepted:
 *  - name-addr ("Name <a@b>"), angle-addr alone ("<a@b>"), bare addr-spec;
 *  - groups ("team: a@b, c@d;", "undisclosed-recipients:;"), not nested;
 *  - quoted strings with quoted-pairs, comments nested to any depth anywhere
 *    CFWS is allowed, domain literals ("[192.0.2.1]");
 *  - UTF-8 in atoms, quoted strings, comments and literals (RFC 6532 3.2);
 *  - the obsolete forms of RFC 5322 4.4 that real mail still carries: CFWS
 *    around the dots of a local part or domain ("jdoe@test . example"),
 *    local parts mixing atoms and quoted strings ("a".b@c), "." in display
 *    names (Joe Q. Public <...>), empty list elements ("a@b, , c@d"), and
 *    source routes in angle brackets ("<@relay:a@b>", kept apart as "@relay"
 *    for IMAP's addr-adl, RFC 9051 7.5.2);
 *  - the old "a@b (Real Name)" form: with no display name, the comment after
 *    the address is kept (as Dovecot and Cyrus take it for the name).
 *
 * What it does not do: decode encoded words (RFC 2047: a display name keeps
 * them as they are), convert IDNs, check that a domain exists, or decide
 * whether an empty list is allowed for a field (Bcc may be empty, From may
 * not: RFC 5322 3.6.3, 3.6.2). It refuses what RFC 5322 does not allow even in
 * its obsolete syntax: unquoted specials in display names ("a@b <a@b>"),
 * empty or dot-leading words in local parts ("a..b@c"), "<>", missing "@",
 * nested groups, and control characters (the obs-NO-WS-CTL of 4.1: not seen
 * from real clients, and unsafe in logs and IMAP responses).
 *
 * Invariants: pure (no I/O, no globals); the input is a counted byte string
 * that need not be NUL-terminated; no output string holds a NUL, CR, LF or
 * any control character but HTAB (from a quoted string); UTF-8 in the output
 * is well-formed; the result does not depend on where the value was folded.
 */
#ifndef MIME_RFC5322_ADDRESS_H
#define MIME_RFC5322_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* A To: of 1000 recipients is a mass mailing; more is abuse. A value up to a
 * header field's default maximum (rfc5322-header.h). */
#define RFC5322_ADDRESS_DEFAULT_MAX_ADDRESSES 1000
#define RFC5322_ADDRESS_DEFAULT_MAX_VALUE (64 * 1024)

struct rfc5322_address_limits {
	unsigned max_addresses; /* entries in the list, empty groups included */
	size_t max_value;       /* octets of the value */
};

void rfc5322_address_limits_init_default(struct rfc5322_address_limits *limits);

/*
 * One mailbox, or one empty group. Strings are owned by the list.
 *  - display_name: the phrase before "<", quoted strings decoded, comments
 *    dropped, each run of white space or comments between words made one
 *    space; encoded words left as is. NULL when there was none.
 *  - local_part: quotes removed, quoted-pairs resolved, white space and
 *    comments around dots removed. NULL for an empty group.
 *  - domain: dot-separated atoms, or a literal as written (brackets and
 *    quoted-pairs kept) without white space. NULL for an empty group.
 *  - group_name: the display name of the group holding it, else NULL;
 *    group is the group's number in the value from 1 (0: not in a group), so
 *    that two groups with the same name stay apart.
 *  - comment: for a mailbox without a display name, the text of the last
 *    comment after it ("a@b (Real Name)" gives "Real Name"): outer
 *    parentheses removed, quoted-pairs resolved, folds' line breaks removed,
 *    trimmed; NULL when there is none, or it holds only white space.
 *  - route: the obsolete source route of an angle-addr as "@a,@b" (RFC 5322
 *    4.4 obs-route, RFC 9051 7.5.2 addr-adl), without white space or
 *    comments; NULL when there was none.
 *  - utf8: the local part or the domain holds non-ASCII (needs SMTPUTF8).
 */
struct rfc5322_address {
	char *display_name;
	char *local_part;
	char *domain;
	char *group_name;
	char *comment;
	char *route;
	unsigned group;
	bool domain_literal;
	bool utf8;
};

struct rfc5322_address_list {
	struct rfc5322_address *addrs;
	unsigned count;
	unsigned n_groups;
};

enum rfc5322_address_mode {
	RFC5322_ADDRESS_LIST = 0,       /* address-list: groups allowed (To, Cc, ...) */
	RFC5322_MAILBOX_LIST,           /* mailbox-list: no groups (From, Resent-From) */
};

/*
 * Parse value[0..len). Returns 1 with *list_r filled (the caller owns it:
 * rfc5322_address_list_deinit), count 0 when the value holds only white
 * space and comments; or -1 with *error_r a static English text and *list_r
 * empty (nothing to free).
 */
int rfc5322_address_list_parse(const uint8_t *value, size_t len,
			       const struct rfc5322_address_limits *limits,
			       enum rfc5322_address_mode mode, struct rfc5322_address_list *list_r,
			       const char **error_r);

/* Free everything and zero the list. Safe on a zeroed list. */
void rfc5322_address_list_deinit(struct rfc5322_address_list *list);

/*
 * Append the address as local@domain in canonical form: the local part as a
 * dot-atom when it is one, else as a quoted string (with '"' and '\'
 * escaped); ASCII letters of the domain lower-cased (RFC 5321 2.4: domains
 * are case-insensitive, local parts are not touched); a literal as parsed.
 * addr must not be an empty group. Returns 0, or -1 when out would exceed its
 * maximum (out is then unchanged).
 */
int rfc5322_address_format(const struct rfc5322_address *addr, struct buf *out);

#endif
