/*
 * smtp-server-reply.c - reply formatting, the EHLO extension list and the
 * Received: trace header.
 *
 * Replies follow RFC 5321 4.2: "CODE SP text" or, for several lines,
 * "CODE-text" lines ending with one "CODE SP text". Every line of a reply to
 * anything but the greeting and HELO/EHLO carries the RFC 3463 enhanced code
 * (RFC 2034 3 excludes those two: an EHLO line must start with its keyword),
 * and the 354 and 334 intermediate replies.
 * Text from the glue may come from the client: control and non-ASCII
 * characters are replaced with '?' and lines are cut to keep each reply line
 * within 512 octets (RFC 5321 4.5.3.1.5). An AUTH challenge ("334 " base64,
 * RFC 4954 4) is written whole: it is ours, not the glue's.
 *
 * Not here: deciding which reply to send (smtp-server-cmd.c).
 */
#include "smtp/smtp-server-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/base64.h"
#include "core/mem.h"

/* 512 minus "NNN-", "X.YYY.ZZZ ", CRLF and some margin */
#define SMTP_REPLY_MAX_TEXT 480

bool
smtp_server_enhanced_code_valid(unsigned code, const char *enh)
{
	/* RFC 3463 2: class "." subject "." detail, 1-3 digits each */
	const char *p = enh;

	if (p[0] != (char)('0' + code / 100) || (p[0] != '2' && p[0] != '4' && p[0] != '5') ||
	    p[1] != '.')
		return false;
	p += 2;
	for (int part = 0; part < 2; part++) {
		int digits = 0;

		while (*p >= '0' && *p <= '9' && digits < 4) {
			p++;
			digits++;
		}
		if (digits == 0 || digits > 3)
			return false;
		if (part == 0 && *p++ != '.')
			return false;
	}
	return *p == '\0';
}

static void
append_reply_line(struct buf *out, unsigned code, bool more, const char *enh, const char *line,
		  size_t len)
{
	if (len > SMTP_REPLY_MAX_TEXT)
		len = SMTP_REPLY_MAX_TEXT;
	buf_printf(out, "%03u%c", code, more ? '-' : ' ');
	if (enh != NULL) {
		buf_append_str(out, enh);
		if (len > 0)
			buf_append_byte(out, ' ');
	}
	for (size_t i = 0; i < len; i++) {
		uint8_t c = (uint8_t)line[i];

		buf_append_byte(out, c < 32 || c >= 127 ? '?' : c);
	}
	buf_append_str(out, "\r\n");
}

void
smtp_server_reply_write(struct smtp_server_session *s, unsigned code, const char *enh,
			const char *text)
{
	struct buf out;
	const char *p = text != NULL ? text : "";
	size_t total = strlen(p);

	if (s->destroyed || s->close_sent || s->io.write == NULL)
		return;
	/* a trailing newline does not make an empty last line */
	if (total > 0 && p[total - 1] == '\n')
		total--;
	buf_init(&out, 0);
	for (;;) {
		const char *nl = memchr(p, '\n', total);
		size_t len = nl == NULL ? total : (size_t)(nl - p);

		append_reply_line(&out, code, nl != NULL, enh, p, len);
		if (nl == NULL)
			break;
		total -= len + 1;
		p = nl + 1;
	}
	s->io.write(s->io_ctx, buf_data(&out), buf_len(&out));
	buf_deinit(&out);
}

void
smtp_server_reply(struct smtp_server_session *s, unsigned code, const char *enh,
		  const char *text)
{
	smtp_server_reply_write(s, code, enh, text);
	if (code == 421) {
		/* RFC 5321 3.8: 421 means the channel is closing */
		smtp_server_close(s);
		return;
	}
	if (code < 400 || s->close_sent)
		return;
	if (++s->errors >= s->set.limits.max_errors)
		smtp_server_reply_final(s, 421, "4.7.0", "Too many errors, closing connection");
}

void
smtp_server_reply_final(struct smtp_server_session *s, unsigned code, const char *enh,
			const char *text)
{
	smtp_server_reply_write(s, code, enh, text);
	smtp_server_close(s);
}

void
smtp_server_reply_challenge(struct smtp_server_session *s, const uint8_t *data, size_t len)
{
	struct buf out;

	if (s->destroyed || s->close_sent || s->io.write == NULL)
		return;
	buf_init(&out, 0);
	buf_append_str(&out, "334 ");
	if (base64_encode(&out, data, len) < 0)
		PANIC("unbounded buffer refused data");
	buf_append_str(&out, "\r\n");
	s->io.write(s->io_ctx, buf_data(&out), buf_len(&out));
	buf_deinit(&out);
}

/* RFC 5321 4.2 Greeting: "220 " Domain [ SP textstring ]. */
void
smtp_server_reply_greeting(struct smtp_server_session *s, const char *text)
{
	struct buf line;

	buf_init(&line, 0);
	buf_printf(&line, "%s %s", s->hostname, text != NULL ? text : "ESMTP");
	smtp_server_reply_write(s, 220, NULL, buf_cstr(&line));
	buf_deinit(&line);
}

/* Only the first line of the glue's text becomes the ehlo-greet. */
static void
append_greet(struct buf *out, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	buf_append_byte(out, ' ');
	buf_append(out, text, strcspn(text, "\n"));
}

/* RFC 5321 4.1.1.1 ehlo-ok-rsp; the keywords of what we offer. */
void
smtp_server_reply_helo(struct smtp_server_session *s, bool ehlo, const char *text)
{
	struct buf lines;

	buf_init(&lines, 0);
	buf_append_str(&lines, s->hostname);
	append_greet(&lines, text);
	if (ehlo) {
		buf_append_str(&lines, "\nPIPELINING");                 /* RFC 2920 */
		buf_printf(&lines, "\nSIZE %" PRIu64, s->set.limits.max_message_size); /* 1870 */
		buf_append_str(&lines, "\n8BITMIME");                   /* RFC 6152 */
		if (s->set.starttls_available && !s->tls)
			buf_append_str(&lines, "\nSTARTTLS");           /* RFC 3207 */
		smtp_server_auth_ehlo(s, &lines);                      /* RFC 4954 */
		buf_append_str(&lines, "\nENHANCEDSTATUSCODES");        /* RFC 2034 */
		buf_append_str(&lines, "\nDSN");                        /* RFC 3461 */
		buf_append_str(&lines, "\nSMTPUTF8");                   /* RFC 6531 */
		buf_append_str(&lines, "\nCHUNKING");                   /* RFC 3030 */
		if (s->tls)
			buf_append_str(&lines, "\nREQUIRETLS");         /* RFC 8689 4.1 */
	}
	smtp_server_reply_write(s, 250, NULL, buf_cstr(&lines));
	buf_deinit(&lines);
}

/* RFC 3848 and RFC 6531 3.7.3 "with" keywords: ESMTP or UTF8SMTP, then "S"
 * for TLS and "A" for an authenticated session. Plain SMTP (HELO) has no
 * such variants, and AUTH needs EHLO anyway. */
static void
append_protocol(const struct smtp_server_session *s, struct buf *out)
{
	if (!s->esmtp) {
		buf_append_str(out, "SMTP");
		return;
	}
	buf_append_str(out, s->in_transaction && s->mail_params.smtputf8 ? "UTF8SMTP" : "ESMTP");
	if (s->tls)
		buf_append_byte(out, 'S');
	if (s->auth_user != NULL)
		buf_append_byte(out, 'A');
}

/* Append text from the glue into a header, control characters replaced. */
static void
append_clean(struct buf *out, const char *s)
{
	for (const uint8_t *p = (const uint8_t *)s; *p != '\0'; p++)
		buf_append_byte(out, *p < 32 || *p == 127 ? '?' : *p);
}

/* Text inside a comment (RFC 5322 3.2.2): no controls, no nesting, no quoting. */
static void
append_comment_clean(struct buf *out, const char *s)
{
	for (const uint8_t *p = (const uint8_t *)s; *p != '\0'; p++) {
		bool bad = *p < 32 || *p >= 127 || *p == '(' || *p == ')' || *p == '\\';

		buf_append_byte(out, bad ? '?' : *p);
	}
}

/* Postfix's "(using TLSv1.3 with cipher ...)" line between from and by. */
static void
append_tls_comment(const struct smtp_server_session *s, struct buf *out)
{
	if (!s->tls || s->tls_version == NULL)
		return;
	buf_append_str(out, "\t(using ");
	append_comment_clean(out, s->tls_version);
	if (s->tls_cipher != NULL) {
		buf_append_str(out, " with cipher ");
		append_comment_clean(out, s->tls_cipher);
	}
	buf_append_str(out, ")\r\n");
}

/* RFC 5322 3.3 date-time, in the server's local zone, locale-independent. */
static void
append_date(struct buf *out, time_t t)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					      "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;
	long off;

	if (localtime_r(&t, &tm) == NULL)
		gmtime_r(&t, &tm);
	off = tm.tm_gmtoff / 60;
	buf_printf(out, "%s, %d %s %04d %02d:%02d:%02d %c%02ld%02ld", days[tm.tm_wday % 7],
		   tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		   tm.tm_sec, off < 0 ? '-' : '+', (off < 0 ? -off : off) / 60,
		   (off < 0 ? -off : off) % 60);
}

int
smtp_server_format_received(const struct smtp_server_session *s, const char *queue_id,
			    const char *for_rcpt, struct buf *out)
{
	struct buf hdr;
	time_t now = s->set.now != NULL ? s->set.now() : time(NULL);
	bool v6 = strchr(s->client_ip, ':') != NULL;
	int ret;

	/* RFC 5321 4.4: From-domain, TCP-info, By-domain, Via/With, ID, For */
	buf_init(&hdr, 0);
	buf_append_str(&hdr, "Received: from ");
	append_clean(&hdr, s->helo != NULL ? s->helo : "unknown");
	buf_append_str(&hdr, " (");
	append_clean(&hdr, s->client_rdns != NULL ? s->client_rdns : "unknown");
	buf_printf(&hdr, " [%s", v6 ? "IPv6:" : "");
	append_clean(&hdr, s->client_ip);
	buf_append_str(&hdr, "])\r\n");
	append_tls_comment(s, &hdr);
	buf_printf(&hdr, "\tby %s with ", s->hostname);
	append_protocol(s, &hdr);
	if (queue_id != NULL) {
		buf_append_str(&hdr, " id ");
		append_clean(&hdr, queue_id);
	}
	/* the date goes after "for" on its line, else on a line of its own */
	if (for_rcpt != NULL) {
		buf_append_str(&hdr, "\r\n\tfor <");
		append_clean(&hdr, for_rcpt);
		buf_append_str(&hdr, ">; ");
	} else {
		buf_append_str(&hdr, ";\r\n\t");
	}
	append_date(&hdr, now);
	buf_append_str(&hdr, "\r\n");
	ret = buf_append(out, buf_data(&hdr), buf_len(&hdr));
	buf_deinit(&hdr);
	return ret;
}
