/*
 * queue-dsn.c - RFC 3464 delivery status notifications (see queue-dsn.h).
 *
 * Layout of what is built (RFC 6522, RFC 3464 2):
 *   header: From, To, Subject, Date, Message-ID, Auto-Submitted (RFC 3834
 *           5: a DSN is auto-replied), MIME-Version, Content-Type
 *           multipart/report; report-type=delivery-status
 *   part 1: text/plain, what happened in words, one line per recipient
 *   part 2: message/delivery-status: the per-message fields, then one
 *           block per recipient
 *   part 3: message/rfc822 (the original) or text/rfc822-headers
 * For an internationalized original (RFC 6533 3, 6): report-type
 * global-delivery-status, message/global-delivery-status with "utf-8"
 * addresses (raw UTF-8, 8bit), and message/global or message/global-headers.
 *
 * Diagnostic-Code (RFC 3464 2.3.6): "smtp; REPLY" for a remote server's
 * reply (REPLY cut out of the scheduler's "host H said: REPLY (in reply to
 * X)" text), "X-Posthorn; TEXT" for our own (DNS, local) reasons.
 *
 * The boundary is derived from the queue id and time and lengthened until
 * it occurs nowhere in the returned original. Network text (diagnostics)
 * is cut at QUEUE_DSN_TEXT_MAX octets and any control character becomes a
 * space, so a field never exceeds RFC 5322's 998-octet line limit.
 */
#include "queue/queue-dsn.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "mime/rfc5322-date.h"

#define QUEUE_DSN_TEXT_MAX 800

static const char *
dsn_action_name(enum queue_dsn_action a)
{
	switch (a) {
	case QUEUE_DSN_FAILED:
		return "failed";
	case QUEUE_DSN_DELAYED:
		return "delayed";
	case QUEUE_DSN_DELIVERED:
		return "delivered";
	case QUEUE_DSN_RELAYED:
		return "relayed";
	}
	return "failed";
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1; /* RFC 3461 4: hexchar is upper-case */
}

bool
queue_xtext_decode(const char *xtext, char *out, size_t outsize)
{
	size_t o = 0;

	for (size_t i = 0; xtext[i] != '\0'; i++) {
		unsigned char c = (unsigned char)xtext[i];

		if (c == '+') {
			int hi = hexval(xtext[i + 1]), lo = hi < 0 ? -1 : hexval(xtext[i + 2]);

			if (hi < 0 || lo < 0)
				return false;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c < 33 || c > 126 || c == '=') {
			return false;
		}
		if (c < 32 || c == 127)
			return false;
		if (o + 1 >= outsize)
			return false;
		out[o++] = (char)c;
	}
	if (o >= outsize)
		return false;
	out[o] = '\0';
	return true;
}

/* Append text cut to QUEUE_DSN_TEXT_MAX octets, control characters as
 * spaces. */
static void
dsn_append_text(struct buf *out, const char *text)
{
	size_t n = strlen(text);

	if (n > QUEUE_DSN_TEXT_MAX)
		n = QUEUE_DSN_TEXT_MAX;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];

		(void)buf_append_byte(out, c < 32 || c == 127 ? ' ' : c);
	}
}

static void
dsn_date(struct buf *out, int64_t t)
{
	(void)rfc5322_date_format((time_t)t, 0, out);
}

/* Is needle (len n) anywhere in hay? */
static bool
dsn_contains(const uint8_t *hay, size_t hlen, const char *needle, size_t n)
{
	return hay != NULL && n <= hlen && memmem(hay, hlen, needle, n) != NULL;
}

/* Octets of the original's header, its blank line included. */
static size_t
dsn_header_len(const uint8_t *msg, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (msg[i] != '\n')
			continue;
		if (i + 1 < len && msg[i + 1] == '\n')
			return i + 2;
		if (i + 2 < len && msg[i + 1] == '\r' && msg[i + 2] == '\n')
			return i + 3;
	}
	return len;
}

/* Append data with every line end as CRLF (the original normally has CRLF
 * already; a bare LF or CR is turned into CRLF, so nothing lone passes). */
static void
dsn_append_crlf(struct buf *out, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r') {
			(void)buf_append(out, "\r\n", 2);
			if (i + 1 < len && data[i + 1] == '\n')
				i++;
		} else if (data[i] == '\n') {
			(void)buf_append(out, "\r\n", 2);
		} else {
			(void)buf_append_byte(out, data[i]);
		}
	}
	if (len > 0 && data[len - 1] != '\n' && data[len - 1] != '\r')
		(void)buf_append(out, "\r\n", 2);
}

static bool
dsn_has_8bit(const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] & 0x80)
			return true;
	}
	return false;
}

static bool
dsn_valid_arg(const char *s)
{
	if (s == NULL || s[0] == '\0')
		return false;
	for (const char *p = s; *p != '\0'; p++) {
		if ((unsigned char)*p < 32 || *p == 127)
			return false;
	}
	return true;
}

static void
dsn_human_part(const struct queue_dsn *dsn, struct buf *out, bool any_failed, bool any_delayed)
{
	(void)buf_printf(out, "Content-Description: Notification\r\n"
			      "Content-Type: text/plain; charset=utf-8\r\n\r\n");
	(void)buf_printf(out, "Report from the mail server %s.\r\n\r\n", dsn->reporting_mta);
	if (any_failed)
		(void)buf_append_str(out, "Your message could not be delivered to the recipients "
					  "marked \"failed\"\r\nbelow; this is final. The "
					  "message follows this report.\r\n\r\n");
	else if (any_delayed)
		(void)buf_append_str(out, "Your message has not reached the recipients marked "
					  "\"delayed\" below yet.\r\nDelivery is being retried; "
					  "there is no need to send it again.\r\n\r\n");
	else
		(void)buf_append_str(out, "Your message reached the recipients below, as you "
					  "asked to be told.\r\n\r\n");
	for (size_t i = 0; i < dsn->rcpt_count; i++) {
		const struct queue_dsn_rcpt *r = &dsn->rcpts[i];

		(void)buf_printf(out, "<%s>: %s", r->address, dsn_action_name(r->action));
		if (r->diagnostic != NULL) {
			(void)buf_append_str(out, ": ");
			if (r->remote_mta != NULL)
				(void)buf_printf(out, "host %s said: ", r->remote_mta);
			dsn_append_text(out, r->diagnostic);
		}
		(void)buf_append(out, "\r\n", 2);
		if (r->action == QUEUE_DSN_DELAYED && r->retry_until != 0) {
			(void)buf_append_str(out, "    The mail system gives up at ");
			dsn_date(out, r->retry_until);
			(void)buf_append(out, "\r\n", 2);
		}
	}
}

static bool
dsn_is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

bool
queue_dsn_is_global(const struct queue_dsn *dsn)
{
	if (dsn->smtputf8 || (dsn->to != NULL && !dsn_is_ascii(dsn->to)))
		return true;
	for (size_t i = 0; i < dsn->rcpt_count; i++) {
		if (dsn->rcpts[i].address != NULL && !dsn_is_ascii(dsn->rcpts[i].address))
			return true;
	}
	return false;
}

/* RFC 6533 3: "utf-8" for an address that is not ASCII (only in a global
 * report), else "rfc822". */
static const char *
dsn_addr_type(const char *addr)
{
	return dsn_is_ascii(addr) ? "rfc822" : "utf-8";
}

/* The remote reply inside "host H said: REPLY (in reply to X)" (the
 * scheduler's form), or the whole text when it is not in that form. */
static void
dsn_reply_of(const char *text, const char **start_r, size_t *len_r)
{
	const char *said = strncmp(text, "host ", 5) == 0 ? strstr(text, " said: ") : NULL;
	const char *in_reply;
	size_t len;

	if (said != NULL)
		text = said + 7;
	len = strlen(text);
	in_reply = strstr(text, " (in reply to ");
	if (said != NULL && in_reply != NULL && text[len - 1] == ')')
		len = (size_t)(in_reply - text);
	*start_r = text;
	*len_r = len;
}

static void
dsn_status_part(const struct queue_dsn *dsn, struct buf *out, bool global)
{
	char dec[1024];

	(void)buf_printf(out, "Content-Description: Delivery report\r\n"
			      "Content-Type: message/%sdelivery-status\r\n%s\r\n",
			 global ? "global-" : "",
			 global ? "Content-Transfer-Encoding: 8bit\r\n" : "");
	/* RFC 3464 2.2: per-message fields */
	if (dsn->envid != NULL && queue_xtext_decode(dsn->envid, dec, sizeof(dec)))
		(void)buf_printf(out, "Original-Envelope-Id: %s\r\n", dec);
	(void)buf_printf(out, "Reporting-MTA: dns; %s\r\n", dsn->reporting_mta);
	(void)buf_printf(out, "X-Posthorn-Queue-ID: %s\r\n", dsn->queue_id);
	if (dsn->arrival != 0) {
		(void)buf_append_str(out, "Arrival-Date: ");
		dsn_date(out, dsn->arrival);
		(void)buf_append(out, "\r\n", 2);
	}
	/* RFC 3464 2.3: one block per recipient, each after a blank line */
	for (size_t i = 0; i < dsn->rcpt_count; i++) {
		const struct queue_dsn_rcpt *r = &dsn->rcpts[i];

		(void)buf_append(out, "\r\n", 2);
		if (r->orcpt != NULL && queue_xtext_decode(r->orcpt, dec, sizeof(dec)) &&
		    strchr(dec, ';') != NULL)
			(void)buf_printf(out, "Original-Recipient: %s\r\n", dec);
		(void)buf_printf(out, "Final-Recipient: %s; %s\r\n", dsn_addr_type(r->address),
				 r->address);
		(void)buf_printf(out, "Action: %s\r\n", dsn_action_name(r->action));
		(void)buf_printf(out, "Status: %s\r\n", r->status);
		if (r->remote_mta != NULL)
			(void)buf_printf(out, "Remote-MTA: dns; %s\r\n", r->remote_mta);
		if (r->diagnostic != NULL && r->remote_mta != NULL) {
			const char *reply;
			size_t len;
			char cut[QUEUE_DSN_TEXT_MAX + 1];

			dsn_reply_of(r->diagnostic, &reply, &len);
			if (len > QUEUE_DSN_TEXT_MAX)
				len = QUEUE_DSN_TEXT_MAX;
			memcpy(cut, reply, len);
			cut[len] = '\0';
			(void)buf_append_str(out, "Diagnostic-Code: smtp; ");
			dsn_append_text(out, cut);
			(void)buf_append(out, "\r\n", 2);
		} else if (r->diagnostic != NULL) {
			(void)buf_append_str(out, "Diagnostic-Code: X-Posthorn; ");
			dsn_append_text(out, r->diagnostic);
			(void)buf_append(out, "\r\n", 2);
		}
		if (r->last_attempt != 0) {
			(void)buf_append_str(out, "Last-Attempt-Date: ");
			dsn_date(out, r->last_attempt);
			(void)buf_append(out, "\r\n", 2);
		}
		if (r->action == QUEUE_DSN_DELAYED && r->retry_until != 0) {
			(void)buf_append_str(out, "Will-Retry-Until: ");
			dsn_date(out, r->retry_until);
			(void)buf_append(out, "\r\n", 2);
		}
	}
}

struct dsn_shape {
	bool any_failed, any_delayed;
	bool headers_only;  /* only the original's header is returned */
	bool eightbit;      /* the DSN holds 8-bit octets */
	bool global;        /* internationalized (RFC 6533) */
	size_t ret_len;     /* octets of the original returned */
};

static void dsn_write(const struct queue_dsn *dsn, struct buf *out, const char *boundary,
		      const struct dsn_shape *sh);

int
queue_dsn_build(const struct queue_dsn *dsn, struct buf *out, bool *eightbit_r,
		const char **error_r)
{
	char boundary[128];
	struct dsn_shape sh;
	unsigned attempt = 0;
	struct buf tmp;

	if (eightbit_r != NULL)
		*eightbit_r = false;
	if (!dsn_valid_arg(dsn->reporting_mta) || !dsn_valid_arg(dsn->from) ||
	    !dsn_valid_arg(dsn->to) || !dsn_valid_arg(dsn->queue_id) || dsn->rcpt_count == 0) {
		*error_r = "invalid DSN arguments";
		return -1;
	}
	memset(&sh, 0, sizeof(sh));
	sh.global = queue_dsn_is_global(dsn);
	for (size_t i = 0; i < dsn->rcpt_count; i++) {
		const struct queue_dsn_rcpt *r = &dsn->rcpts[i];

		if (!dsn_valid_arg(r->address) || !dsn_valid_arg(r->status) ||
		    (r->remote_mta != NULL && !dsn_valid_arg(r->remote_mta))) {
			*error_r = "invalid DSN recipient";
			return -1;
		}
		sh.any_failed |= r->action == QUEUE_DSN_FAILED;
		sh.any_delayed |= r->action == QUEUE_DSN_DELAYED;
	}
	sh.headers_only = dsn->headers_only ||
			  (dsn->max_return != 0 && dsn->original_len > dsn->max_return) ||
			  /* a delay notice or success report never needs the whole message */
			  !sh.any_failed;
	if (dsn->original != NULL) {
		sh.ret_len = sh.headers_only ? dsn_header_len(dsn->original, dsn->original_len)
					     : dsn->original_len;
		sh.eightbit = dsn_has_8bit(dsn->original, sh.ret_len);
	}
	sh.eightbit |= sh.global; /* raw UTF-8 in the report */
	do {
		snprintf(boundary, sizeof(boundary), "%s.%lld.%u/%s", dsn->queue_id,
			 (long long)dsn->now, attempt++, dsn->reporting_mta);
	} while (dsn_contains(dsn->original, sh.ret_len, boundary, strlen(boundary)) &&
		 attempt < 1000);

	buf_init(&tmp, 0);
	dsn_write(dsn, &tmp, boundary, &sh);
	if (buf_append(out, buf_data(&tmp), buf_len(&tmp)) < 0) {
		buf_deinit(&tmp);
		*error_r = "DSN too large";
		return -1;
	}
	buf_deinit(&tmp);
	if (eightbit_r != NULL)
		*eightbit_r = sh.eightbit;
	return 0;
}

static void
dsn_write(const struct queue_dsn *dsn, struct buf *out, const char *boundary,
	  const struct dsn_shape *sh)
{
	bool any_failed = sh->any_failed, any_delayed = sh->any_delayed;
	bool headers_only = sh->headers_only, eightbit = sh->eightbit;

	(void)buf_printf(out, "From: Mail Delivery System <%s>\r\n", dsn->from);
	(void)buf_printf(out, "To: <%s>\r\n", dsn->to);
	(void)buf_printf(out, "Subject: %s\r\n",
			 any_failed    ? "Delivery failure notice"
			 : any_delayed ? "Delivery delay notice (still trying)"
				       : "Delivery success notice");
	(void)buf_append_str(out, "Date: ");
	dsn_date(out, dsn->now);
	(void)buf_append(out, "\r\n", 2);
	(void)buf_printf(out, "Message-ID: <%s.%lld.dsn@%s>\r\n", dsn->queue_id,
			 (long long)dsn->now, dsn->reporting_mta);
	(void)buf_append_str(out, "Auto-Submitted: auto-replied\r\nMIME-Version: 1.0\r\n");
	(void)buf_printf(out, "Content-Type: multipart/report; report-type=%sdelivery-status;\r\n"
			      "\tboundary=\"%s\"\r\n", sh->global ? "global-" : "", boundary);
	if (eightbit)
		(void)buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
	(void)buf_append_str(out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	(void)buf_printf(out, "--%s\r\n", boundary);
	dsn_human_part(dsn, out, any_failed, any_delayed);
	(void)buf_printf(out, "\r\n--%s\r\n", boundary);
	dsn_status_part(dsn, out, sh->global);
	if (dsn->original != NULL) {
		(void)buf_printf(out, "\r\n--%s\r\n", boundary);
		(void)buf_printf(out, "Content-Description: %s%s\r\n",
				 any_failed || any_delayed ? "Undelivered Message" : "Message",
				 headers_only ? " Headers" : "");
		(void)buf_printf(out, "Content-Type: %s\r\n",
				 sh->global ? (headers_only ? "message/global-headers" : "message/global")
				 : headers_only ? "text/rfc822-headers" : "message/rfc822");
		if (eightbit)
			(void)buf_append_str(out, "Content-Transfer-Encoding: 8bit\r\n");
		(void)buf_append(out, "\r\n", 2);
		dsn_append_crlf(out, dsn->original, sh->ret_len);
	}
	(void)buf_printf(out, "\r\n--%s--\r\n", boundary);
}
