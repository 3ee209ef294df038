/*
 * pop3-server-tls.c - STLS (RFC 2595 4), the session's TLS state and
 * channel binding, and the policy that hangs on them: which authentication
 * methods may be used and offered now.
 *
 * Does: answer STLS; on acceptance write "+OK Begin TLS negotiation", hand
 * it to io->write, drop every input octet held after the STLS line, forget
 * USER, count the session as TLS and call hooks->starttls. Keep a copy of
 * the channel-binding data for SCRAM-SHA-256-PLUS.
 *
 * Does not: any TLS itself (the glue switches the connection in its
 * starttls hook), or wait for the handshake: the glue passes no input until
 * it is done, and closes the connection if it fails.
 *
 * Invariants: after STLS was accepted, nothing that arrived with or after
 * it in plain text is acted on or answered (no command injection across the
 * switch, the problem of CVE-2011-0411 in SMTP servers); the session stays
 * in AUTHORIZATION with no USER given, as after the greeting (RFC 2595 4:
 * no new greeting). Counters of bad commands and failed logins carry over.
 */
#include "pop3/pop3-server-private.h"

#include <string.h>

#include "core/mem.h"

/* Passwords may travel now: the glue says so, or the session is TLS. */
bool
pop3_server_plaintext_ok(const struct pop3_server_session *s)
{
	return s->allow_plaintext_auth || s->tls;
}

/* Offered (CAPA "SASL", "AUTH" listing) and accepted by AUTH: plain-text
 * mechanisms only where passwords may travel (RFC 5034 4), -PLUS only with
 * channel-binding data (RFC 5802 6). */
bool
pop3_server_mech_offered(const struct pop3_server_session *s, const struct sasl_mech_info *mech)
{
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !pop3_server_plaintext_ok(s))
		return false;
	if ((mech->flags & SASL_MECH_NEEDS_CB) != 0 && !s->have_cb)
		return false;
	return true;
}

void
pop3_server_cmd_stls(struct pop3_server_session *s, struct pop3_command *cmd)
{
	/* RFC 2595 4: "A -ERR response MAY result if a security layer is
	 * already active." Implicit TLS counts (RFC 8314 3.1). */
	if (s->tls) {
		pop3_server_bad_command(s, "TLS already active");
		return;
	}
	if (!s->stls_available) {
		pop3_server_bad_command(s, "STLS not available");
		return;
	}
	/* Only as the first step of AUTHORIZATION (the table allows no other
	 * state): not between USER and PASS. */
	if (s->user != NULL) {
		pop3_server_bad_command(s, "STLS not allowed after USER");
		return;
	}
	pop3_server_reply(s, "+OK Begin TLS negotiation");
	pop3_server_flush(s);
	if (pop3_server_dead(s))
		return;
	/* RFC 2595 4: the server MUST discard what it learnt from the client
	 * before TLS; bytes pipelined behind STLS are the injection to drop. */
	pop3_server_discard_input(s);
	s->tls = true;
	s->hooks.starttls(s->hook_ctx, s);
}

void
pop3_server_session_set_tls(struct pop3_server_session *s, bool tls)
{
	s->tls = tls;
}

bool
pop3_server_session_is_tls(const struct pop3_server_session *s)
{
	return s->tls;
}

/* Replace *dst with a copy of src[0..len) (NULL when src is NULL or empty). */
static void
pop3_server_cb_copy(uint8_t **dst, const uint8_t **view, size_t *view_len, const uint8_t *src,
		    size_t len)
{
	mem_free(dst);
	*view = NULL;
	*view_len = 0;
	if (src == NULL || len == 0)
		return;
	*dst = mem_memdup(src, len);
	*view = *dst;
	*view_len = len;
}

void
pop3_server_session_set_channel_binding(struct pop3_server_session *s,
					const struct sasl_channel_binding *cb)
{
	static const struct sasl_channel_binding none;

	if (cb == NULL)
		cb = &none;
	pop3_server_cb_copy(&s->cb_exporter, &s->cb.tls_exporter, &s->cb.tls_exporter_len,
			    cb->tls_exporter, cb->tls_exporter_len);
	pop3_server_cb_copy(&s->cb_endpoint, &s->cb.tls_server_end_point,
			    &s->cb.tls_server_end_point_len, cb->tls_server_end_point,
			    cb->tls_server_end_point_len);
	s->have_cb = s->cb.tls_exporter != NULL || s->cb.tls_server_end_point != NULL;
}

void
pop3_server_tls_free(struct pop3_server_session *s)
{
	pop3_server_session_set_channel_binding(s, NULL);
}
