/*
 * pop3-server-sasl.c - the AUTH command (RFC 5034): choosing a mechanism
 * and running its SASL exchange (RFC 4422) through sasl/sasl-server.h.
 *
 * Does: "AUTH" alone lists the mechanisms offered now (the RFC 1734 form
 * that RFC 5034 keeps); "AUTH mech [initial-response]" starts an exchange,
 * "=" being an empty initial response (RFC 5034 4). Each challenge goes out
 * as "+ " and base64 (an empty one as "+ "); each response line is base64
 * (an empty line is an empty response), "*" cancels with -ERR. When the
 * mechanism needs the world the engine asks the glue through
 * hooks->auth_lookup (pop3-server-auth.c) and continues the exchange from
 * the completion; success goes on to open the maildrop.
 *
 * Additional data with success (SCRAM's server-final message): RFC 5034 4
 * says "POP3 does not allow for additional data to be sent with a message
 * indicating a successful outcome (see section 3.6 of [RFC4422])", so, as
 * RFC 4422 3.6 prescribes for such profiles, it is sent as one more
 * challenge, and only the client's empty response to it completes the
 * authentication (as RFC 5034 6's DIGEST-MD5 example shows for rspauth).
 *
 * Does not: run the mechanisms (sasl/ does: PLAIN, LOGIN, SCRAM-SHA-256
 * and -PLUS; it also refuses a foreign authorization identity), decide
 * which mechanisms may be offered (pop3-server-tls.c), or check passwords.
 *
 * Invariants: s->sasl is non-NULL exactly while an exchange runs, from AUTH
 * until its end; decoded responses and encoded challenges are wiped after
 * use. A response that is not canonical base64 ends the exchange with -ERR
 * (RFC 5034 4: "MUST reject").
 */
#include "pop3/pop3-server-private.h"

#include <string.h>

#include "core/base64.h"
#include "core/mem.h"

/* End the exchange, if any, and go back to command lines. */
void
pop3_server_sasl_abort(struct pop3_server_session *s)
{
	if (s->sasl != NULL)
		sasl_server_free(&s->sasl);
	s->sasl_continue = false;
	s->sasl_final = false;
	pop3_line_reader_set_max(&s->reader, s->limits.max_line);
}

/* The exchange failed for reason: tell the glue, end it. The caller replies. */
void
pop3_server_sasl_fail(struct pop3_server_session *s, const char *reason)
{
	pop3_server_auth_report(s, sasl_server_mech_name(s->sasl), sasl_server_authcid(s->sasl),
				false, reason);
	pop3_server_sasl_abort(s);
}

/* Send data as a challenge, "+ " and base64 (RFC 5034 4), and wait for the
 * response line, which may be longer than a command line. */
static void
pop3_server_sasl_challenge(struct pop3_server_session *s, const struct buf *data, bool final)
{
	struct buf b64;

	buf_init(&b64, 0);
	if (base64_encode(&b64, buf_data(data), buf_len(data)) < 0)
		PANIC("unlimited buffer refused base64 data");
	pop3_server_reply(s, "+ %s", buf_cstr(&b64));
	pop3_server_wipe_buf(&b64);
	s->sasl_continue = true;
	s->sasl_final = final;
	pop3_line_reader_set_max(&s->reader, s->limits.max_auth_line);
}

/* Authenticated as the exchange's authcid: open the maildrop. */
static void
pop3_server_sasl_success(struct pop3_server_session *s)
{
	const char *authcid = sasl_server_authcid(s->sasl);
	char *user;

	ASSERT(authcid != NULL);
	user = mem_strdup(authcid);
	pop3_server_auth_report(s, sasl_server_mech_name(s->sasl), user, true, NULL);
	pop3_server_sasl_abort(s);
	pop3_server_open_maildrop(s, user);
	mem_free(&user);
}

/* Feed one decoded response (in == NULL: continue after the glue's
 * answer, or start without an initial response) and act on the result. */
static void
pop3_server_sasl_step(struct pop3_server_session *s, const uint8_t *in, size_t len)
{
	struct buf out;
	const char *error = NULL, *authcid;

	buf_init(&out, 0);
	switch (sasl_server_step(s->sasl, in, len, &out, &error)) {
	case SASL_STEP_CHALLENGE:
		pop3_server_sasl_challenge(s, &out, false);
		break;
	case SASL_STEP_NEED_PASSWORD:
		authcid = sasl_server_authcid(s->sasl);
		ASSERT(authcid != NULL && sasl_server_password(s->sasl) != NULL);
		pop3_server_auth_lookup(s, false, sasl_server_mech_name(s->sasl), authcid,
					sasl_server_password(s->sasl));
		break;
	case SASL_STEP_NEED_SECRET:
		authcid = sasl_server_authcid(s->sasl);
		ASSERT(authcid != NULL);
		pop3_server_auth_lookup(s, true, sasl_server_mech_name(s->sasl), authcid, NULL);
		break;
	case SASL_STEP_SUCCESS:
		/* RFC 5034 4 / RFC 4422 3.6: no data with +OK; one more challenge */
		if (buf_len(&out) > 0)
			pop3_server_sasl_challenge(s, &out, true);
		else
			pop3_server_sasl_success(s);
		break;
	case SASL_STEP_FAILURE:
		/* error is for the glue's log; the client learns nothing more */
		pop3_server_sasl_fail(s, error != NULL ? error : "authentication failed");
		pop3_server_login_failed(s);
		break;
	default:
		PANIC("invalid SASL step result");
	}
	pop3_server_wipe_buf(&out);
}

void
pop3_server_sasl_continue(struct pop3_server_session *s)
{
	pop3_server_sasl_step(s, NULL, 0);
}

/* Decode one base64 response and feed it; bad base64 ends the exchange. */
static void
pop3_server_sasl_response(struct pop3_server_session *s, const char *b64, size_t len)
{
	struct buf msg;

	buf_init(&msg, base64_decoded_max_len(len));
	if (base64_decode(&msg, b64, len) < 0) {
		/* RFC 5034 4: a response that is not base64 is rejected with -ERR */
		pop3_server_sasl_fail(s, "invalid base64 data");
		pop3_server_bad_command(s, "invalid base64 data");
	} else {
		pop3_server_sasl_step(s, buf_data(&msg), buf_len(&msg));
	}
	pop3_server_wipe_buf(&msg);
}

/* RFC 5034 4: "AUTH" alone lists the mechanisms (the older RFC 1734 form). */
static void
pop3_server_auth_list(struct pop3_server_session *s)
{
	const struct sasl_mech_info *const *mechs = sasl_mechanisms();

	pop3_server_reply(s, "+OK");
	for (size_t i = 0; mechs[i] != NULL; i++) {
		if (pop3_server_mech_offered(s, mechs[i]))
			pop3_server_reply(s, "%s", mechs[i]->name);
	}
	pop3_server_reply(s, ".");
}

void
pop3_server_cmd_auth(struct pop3_server_session *s, struct pop3_command *cmd)
{
	const struct sasl_mech_info *mech;

	ASSERT(s->sasl == NULL);
	if (cmd->argc == 0) {
		pop3_server_auth_list(s);
		return;
	}
	mech = sasl_mechanism_find(cmd->args[0]);
	/* -PLUS without channel-binding data is not offered, so unknown here */
	if (mech == NULL || ((mech->flags & SASL_MECH_NEEDS_CB) != 0 && !s->have_cb)) {
		pop3_server_reply(s, "-ERR unsupported authentication mechanism");
		return;
	}
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !pop3_server_plaintext_allowed(s))
		return;
	mem_free(&s->user); /* AUTH abandons a pending USER */
	s->sasl = sasl_server_new(mech->name, s->have_cb ? &s->cb : NULL);
	if (s->sasl == NULL)
		PANIC("SASL mechanism %s listed but not startable", mech->name);
	if (cmd->argc == 1) {
		/* no initial response: the mechanism's first challenge, empty for
		 * a client-first one (RFC 4422 3, RFC 5034 4) */
		pop3_server_sasl_step(s, NULL, 0);
	} else if (strcmp(cmd->args[1], "=") == 0) {
		/* RFC 5034 4: "=" is an initial response of zero length */
		pop3_server_sasl_step(s, (const uint8_t *)"", 0);
	} else {
		pop3_server_sasl_response(s, cmd->args[1], cmd->arg_lens[1]);
	}
}

/* The client's response line to a "+ " challenge. */
void
pop3_server_sasl_line(struct pop3_server_session *s, char *line, size_t len)
{
	bool final = s->sasl_final;

	s->sasl_continue = false;
	s->sasl_final = false;
	pop3_line_reader_set_max(&s->reader, s->limits.max_line);
	if (len == 1 && line[0] == '*') {
		/* RFC 5034 4: the client cancels; the server MUST answer -ERR */
		pop3_server_sasl_fail(s, "canceled");
		pop3_server_reply(s, "-ERR authentication canceled");
		return;
	}
	if (final) {
		/* RFC 4422 3.6: the answer to the server-final data is empty */
		if (len == 0) {
			pop3_server_sasl_success(s);
		} else {
			pop3_server_sasl_fail(s, "response to the final server data not empty");
			pop3_server_login_failed(s);
		}
		return;
	}
	pop3_server_sasl_response(s, line, len);
}
