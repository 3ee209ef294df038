/*
 * queue-dsn.h - delivery status notifications (RFC 3464) for the outbound
 * queue: bounces, delay notices and success reports, one message per
 * queue entry covering all the recipients it reports on.
 *
 * Does: build the complete DSN message (RFC 5322 header, MIME
 * multipart/report (RFC 6522) with a human-readable part, a
 * message/delivery-status part (RFC 3464 2.2, 2.3) with one per-recipient
 * block each, and the returned original as message/rfc822, or only its
 * header as text/rfc822-headers (RET=HDRS, RFC 3461 4.3, or when it is
 * larger than the return limit). ORCPT values arrive xtext-encoded (RFC
 * 3461 4.2) and are decoded. An internationalized original (RFC 6533)
 * gets report-type global-delivery-status, a message/global-delivery-status
 * part with "utf-8" address types, and message/global (or
 * message/global-headers) for the original. Lines end in CRLF; text that came from the
 * network (remote replies) must have been sanitised by the caller and is
 * cut to a safe length here.
 *
 * Does not: decide whether a DSN is due (never to the null sender, NOTIFY,
 * once per entry: the scheduler's rules), send it, or read the original
 * (the caller maps it). Pure: no I/O, no clock (times come in).
 */
#ifndef QUEUE_QUEUE_DSN_H
#define QUEUE_QUEUE_DSN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* RFC 3464 2.3.3 Action. */
enum queue_dsn_action {
	QUEUE_DSN_FAILED,
	QUEUE_DSN_DELAYED,
	QUEUE_DSN_DELIVERED,
	QUEUE_DSN_RELAYED,
};

struct queue_dsn_rcpt {
	const char *address;      /* the recipient as queued (Final-Recipient) */
	const char *orcpt;        /* ORCPT as received ("rfc822;a+40b" xtext), NULL = none */
	enum queue_dsn_action action;
	const char *status;       /* RFC 3463 "5.1.1" */
	const char *remote_mta;   /* host name of the server that answered, NULL = none */
	const char *diagnostic;   /* that server's reply ("550 5.1.1 No such user"), also
				     in the scheduler's "host H[ip] said: REPLY (in reply
				     to X)" form (only REPLY goes into Diagnostic-Code),
				     or without remote_mta a local or DNS error text; NULL
				     = none; sanitised by the caller */
	int64_t last_attempt;     /* seconds since the epoch, 0 = none */
	int64_t retry_until;      /* DELAYED: when the queue gives up, 0 = not said */
};

struct queue_dsn {
	const char *reporting_mta; /* this server's host name */
	const char *from;          /* From: address, e.g. "MAILER-DAEMON@host" */
	const char *to;            /* the envelope sender the DSN goes to (not "") */
	const char *queue_id;
	const char *envid;         /* ENVID as received (xtext), NULL = none */
	int64_t arrival;           /* when the original was accepted */
	int64_t now;
	bool headers_only;         /* RET=HDRS */
	uint64_t max_return;       /* return only the header above this size; 0 = no limit */
	const struct queue_dsn_rcpt *rcpts;
	size_t rcpt_count;         /* >= 1 */
	const uint8_t *original;   /* the original message, NULL = not available */
	size_t original_len;
	bool smtputf8;             /* the original came with SMTPUTF8 (RFC 6531): report
				      it as internationalized (RFC 6533); implied when
				      the sender or a recipient address is not ASCII */
};

/*
 * Append the DSN message to out (its own limit applies). *eightbit_r (may
 * be NULL) tells whether it contains 8-bit octets (the returned original
 * did): send it with BODY=8BITMIME. 0 ok, -1 error (*error_r: invalid
 * arguments, or out's limit reached; out may then hold part of it).
 */
int queue_dsn_build(const struct queue_dsn *dsn, struct buf *out, bool *eightbit_r,
		    const char **error_r);

/* Is dsn's report internationalized (RFC 6533: dsn->smtputf8, or the
 * sender or a recipient address is not ASCII)? It then holds raw UTF-8 and
 * must be queued with SMTPUTF8 (RFC 6531 3.4). */
bool queue_dsn_is_global(const struct queue_dsn *dsn);

/* Decode RFC 3461 4 xtext ("+XX" escapes) into out (NUL-terminated, size
 * outsize). false when invalid, when the result holds a control character
 * or does not fit. */
bool queue_xtext_decode(const char *xtext, char *out, size_t outsize);

#endif
