/*
 * imap-server-reply.c - response output for the IMAP engine: untagged and
 * tagged status responses with response codes (RFC 9051 7.1), IMAP strings
 * (RFC 9051 4.3: quoted or literal), and the capability list (RFC 9051
 * 7.2.2) as it stands in the session's current state.
 *
 * Does not: decide what to answer (the command handlers do) or write to the
 * connection itself (imap-server.c flushes s->out through io->write).
 *
 * Invariants: every response line ends in CRLF; text the engine puts into
 * responses is its own or sanitised (hostname, capability extras), never
 * raw client bytes outside strings; strings with CR, LF or 8-bit octets
 * (outside UTF-8 mode) go out as literals, never quoted.
 */
#include "imap/imap-server-private.h"

#include <stdarg.h>
#include <string.h>

#include "core/mem.h"

/* A quoted string longer than this goes out as a literal: clients cope
 * better with long literals than with long lines. */
#define IMAP_SERVER_MAX_QUOTED 1024

void
imap_server_write(struct imap_server_session *s, const void *data, size_t len)
{
	if (imap_server_dead(s) || len == 0)
		return;
	if (buf_append(&s->out, data, len) < 0)
		PANIC("unlimited output buffer refused data");
	if (buf_len(&s->out) >= IMAP_SERVER_OUT_FLUSH)
		imap_server_flush(s);
}

void
imap_server_untagged(struct imap_server_session *s, const char *fmt, ...)
{
	va_list ap;

	if (imap_server_dead(s))
		return;
	if (buf_append_str(&s->out, "* ") < 0)
		PANIC("unlimited output buffer refused data");
	va_start(ap, fmt);
	if (buf_vprintf(&s->out, fmt, ap) < 0)
		PANIC("unlimited output buffer refused data");
	va_end(ap);
	imap_server_write(s, "\r\n", 2);
}

void
imap_server_tagged(struct imap_server_session *s, const char *tag, const char *status,
		   const char *code, const char *text)
{
	if (imap_server_dead(s))
		return;
	if (buf_printf(&s->out, "%s %s ", tag != NULL ? tag : "*", status) < 0 ||
	    (code != NULL && buf_printf(&s->out, "[%s] ", code) < 0) ||
	    buf_append_str(&s->out, text) < 0)
		PANIC("unlimited output buffer refused data");
	imap_server_write(s, "\r\n", 2);
}

void
imap_server_ok(struct imap_server_session *s, const char *code, const char *text)
{
	imap_server_tagged(s, s->cmd_tag, "OK", code, text);
}

void
imap_server_no(struct imap_server_session *s, const char *code, const char *text)
{
	imap_server_tagged(s, s->cmd_tag, "NO", code, text);
}

void
imap_server_bad(struct imap_server_session *s, const char *code, const char *text)
{
	imap_server_tagged(s, s->cmd_tag, "BAD", code, text);
}

/* RFC 9051 9: quoted = DQUOTE *QUOTED-CHAR DQUOTE; QUOTED-CHAR is any
 * TEXT-CHAR (no CR, LF, NUL), '"' and '\' escaped, 8-bit only as UTF-8
 * (RFC 6855 3; the caller vouches that the text is UTF-8). */
static bool
imap_server_quotable(const char *str, size_t len, bool utf8)
{
	if (len > IMAP_SERVER_MAX_QUOTED)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)str[i];

		if (c == '\r' || c == '\n' || (c >= 0x80 && !utf8))
			return false;
	}
	return true;
}

void
imap_server_append_string(struct buf *out, const char *str, size_t len, bool utf8)
{
	int ret = 0;

	if (memchr(str, '\0', len) != NULL)
		PANIC("NUL in an IMAP string");
	if (!imap_server_quotable(str, len, utf8)) {
		ret = buf_printf(out, "{%zu}\r\n", len);
		if (ret == 0)
			ret = buf_append(out, str, len);
	} else {
		ret = buf_append_byte(out, '"');
		for (size_t i = 0; i < len && ret == 0; i++) {
			if (str[i] == '"' || str[i] == '\\')
				ret = buf_append_byte(out, '\\');
			if (ret == 0)
				ret = buf_append_byte(out, (uint8_t)str[i]);
		}
		if (ret == 0)
			ret = buf_append_byte(out, '"');
	}
	if (ret < 0)
		PANIC("unlimited buffer refused data");
}

void
imap_server_append_nstring(struct buf *out, const char *str, size_t len, bool utf8)
{
	if (str == NULL) {
		if (buf_append_str(out, "NIL") < 0)
			PANIC("unlimited buffer refused data");
		return;
	}
	imap_server_append_string(out, str, len, utf8);
}

static void
imap_server_cap(struct buf *out, const char *cap)
{
	if ((buf_len(out) > 0 && buf_append_byte(out, ' ') < 0) || buf_append_str(out, cap) < 0)
		PANIC("unlimited buffer refused data");
}

void
imap_server_capabilities(const struct imap_server_session *s, struct buf *out)
{
	const struct sasl_mech_info *const *mechs = sasl_mechanisms();

	/* RFC 9051 7.2.2: IMAP4rev2 and, for old clients, IMAP4rev1 (RFC 9051
	 * appendix E: one server may offer both) */
	imap_server_cap(out, "IMAP4rev2 IMAP4rev1");
	if (s->state != IMAP_STATE_NOT_AUTH) {
		/* LITERAL+ (RFC 7888 4) only for authenticated users; ENABLE (RFC
		 * 5161) and UTF8=ACCEPT (RFC 6855 3) are valid only now */
		imap_server_cap(out, "LITERAL+ ID ENABLE UTF8=ACCEPT");
		/* RFC 4978, when the glue can switch the connection */
		if (s->hooks.compress != NULL)
			imap_server_cap(out, "COMPRESS=DEFLATE");
		/* the mailbox commands of imap-server-mailbox.c / -list.c */
		imap_server_cap(out, "NAMESPACE LIST-EXTENDED LIST-STATUS SPECIAL-USE "
				     "CREATE-SPECIAL-USE STATUS=SIZE");
		/* the selected state (imap-server-select.c and the files of
		 * imap-server-private.h), offered once the glue has its hooks */
		if (s->have_shooks) {
			imap_server_cap(out, "IDLE UNSELECT UIDPLUS MOVE CONDSTORE QRESYNC "
					     "ESEARCH SEARCHRES SORT SORT=DISPLAY THREAD=ORDEREDSUBJECT "
					     "THREAD=REFERENCES WITHIN MULTIAPPEND BINARY PREVIEW "
					     "SAVEDATE CATENATE");
			/* RFC 8474: EMAILID/THREADID come from the glue (NIL when
			 * it has none), MAILBOXID through STATUS and CREATE */
			imap_server_cap(out, "OBJECTID");
			/* RFC 8440: LIST ... RETURN (MYRIGHTS) needs RFC 4314 */
			if (s->shooks.acl != NULL)
				imap_server_cap(out, "LIST-MYRIGHTS");
			/* ACL (RFC 4314) and QUOTA (RFC 9208) when the glue has them */
			imap_server_acl_capabilities(s, out);
		}
		if (s->capability_extra[0] != '\0')
			imap_server_cap(out, s->capability_extra);
		return;
	}
	/* LITERAL- (RFC 7888 4), which IMAP4rev2 implies, before login */
	imap_server_cap(out, "SASL-IR LITERAL- ID ENABLE");
	if (s->starttls_available && !s->tls)
		imap_server_cap(out, "STARTTLS");
	/* RFC 9051 6.2.3, 7.2.1: LOGIN would be refused now */
	if (!imap_server_plaintext_ok(s))
		imap_server_cap(out, "LOGINDISABLED");
	for (size_t i = 0; mechs[i] != NULL; i++) {
		if (imap_server_mech_offered(s, mechs[i])) {
			imap_server_cap(out, "AUTH=");
			if (buf_append_str(out, mechs[i]->name) < 0)
				PANIC("unlimited buffer refused data");
		}
	}
}
