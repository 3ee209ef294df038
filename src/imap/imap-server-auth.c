/*
 * imap-server-auth.c - leaving the not-authenticated state: STARTTLS (RFC
 * 9051 6.2.1), AUTHENTICATE (RFC 9051 6.2.2, SASL-IR RFC 4959) and LOGIN
 * (RFC 9051 6.2.3); the auth_lookup and authenticated hooks and their
 * completions; the TLS state, channel binding and plain-text policy.
 *
 * AUTHENTICATE: each challenge goes out as "+ " and base64 (an empty one as
 * "+ "), each client response is one base64 line read in the parser's line
 * mode; "*" cancels with a tagged BAD (RFC 9051 6.2.2 "MUST reject ... by
 * sending a tagged BAD"), as does a response that is not base64. An initial
 * response may follow the mechanism name (SASL-IR), "=" being an empty one.
 * Failure answers "NO [AUTHENTICATIONFAILED]", a failed check "NO
 * [UNAVAILABLE]" (RFC 5530 3), success "OK [CAPABILITY ...]" once the glue
 * has completed hooks->authenticated.
 *
 * Additional data with success (SCRAM's server-final message): RFC 9051's
 * AUTHENTICATE grammar has no place for SASL data in the tagged OK (there is
 * no response code carrying it, and RFC 3501 6.2.2 did not allow it
 * either), so as RFC 4422 3.6 prescribes for such profiles the data goes out
 * as one more "+ " challenge, and only the client's empty response to it
 * completes the authentication. Clients (and Dovecot) expect exactly this.
 *
 * Does not: run mechanisms (sasl/ does; it also refuses a foreign
 * authorization identity), check passwords (the glue does), or switch TLS.
 *
 * Invariants: every failed login answers the same "NO
 * [AUTHENTICATIONFAILED] Authentication failed", whatever the reason, so
 * responses reveal nothing about accounts. s->sasl is non-NULL exactly
 * while an AUTHENTICATE exchange runs. After STARTTLS nothing that arrived
 * with or after it in plain text is acted on.
 */
#include "imap/imap-server-private.h"

#include <string.h>

#include "core/base64.h"
#include "core/mem.h"

static const char imap_server_auth_failed_text[] = "Authentication failed";

/* ---- TLS state and policy ---- */

bool
imap_server_plaintext_ok(const struct imap_server_session *s)
{
	return s->plaintext_allowed || s->tls;
}

/* Plain-text mechanisms only where passwords may travel (RFC 9051 6.2.2,
 * 11.1), -PLUS only with channel-binding data (RFC 5802 6). */
bool
imap_server_mech_offered(const struct imap_server_session *s, const struct sasl_mech_info *mech)
{
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !imap_server_plaintext_ok(s))
		return false;
	if ((mech->flags & SASL_MECH_NEEDS_CB) != 0 && !s->have_cb)
		return false;
	return true;
}

void
imap_server_cmd_starttls(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 6.2.1: BAD after a successful TLS negotiation (implicit TLS,
	 * RFC 8314 3.1, counts); NO when TLS cannot be started at all */
	if (s->tls) {
		imap_server_bad_command(s, s->cmd_tag, "TLS already active");
		return;
	}
	if (!s->starttls_available) {
		imap_server_no(s, NULL, "TLS not available");
		return;
	}
	imap_server_ok(s, NULL, "Begin TLS negotiation now");
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	/* RFC 9051 6.2.1: the client MUST wait for the OK; anything it sent
	 * behind STARTTLS before the switch is an injection: drop it unread */
	imap_server_discard_input(s);
	s->tls = true;
	s->hooks.starttls(s->hook_ctx, s);
}

void
imap_server_session_set_tls(struct imap_server_session *s, bool tls)
{
	s->tls = tls;
}

bool
imap_server_session_is_tls(const struct imap_server_session *s)
{
	return s->tls;
}

static void
imap_server_cb_copy(uint8_t **dst, const uint8_t **view, size_t *view_len, const uint8_t *src,
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
imap_server_session_set_channel_binding(struct imap_server_session *s,
					const struct sasl_channel_binding *cb)
{
	static const struct sasl_channel_binding none;

	if (cb == NULL)
		cb = &none;
	imap_server_cb_copy(&s->cb_exporter, &s->cb.tls_exporter, &s->cb.tls_exporter_len,
			    cb->tls_exporter, cb->tls_exporter_len);
	imap_server_cb_copy(&s->cb_endpoint, &s->cb.tls_server_end_point,
			    &s->cb.tls_server_end_point_len, cb->tls_server_end_point,
			    cb->tls_server_end_point_len);
	s->have_cb = s->cb.tls_exporter != NULL || s->cb.tls_server_end_point != NULL;
}

void
imap_server_tls_free(struct imap_server_session *s)
{
	imap_server_session_set_channel_binding(s, NULL);
}

/* ---- hooks ---- */

static void
imap_server_auth_report(struct imap_server_session *s, const char *mech, const char *authcid,
			bool ok, const char *reason)
{
	if (s->hooks.auth_result != NULL && !imap_server_dead(s))
		s->hooks.auth_result(s->hook_ctx, s, mech, authcid, ok, reason);
}

static void
imap_server_login_failed(struct imap_server_session *s)
{
	imap_server_no(s, "AUTHENTICATIONFAILED", imap_server_auth_failed_text);
	if (++s->auth_failures >= s->limits.max_auth_failures) {
		imap_server_untagged(s, "BYE Too many authentication failures");
		imap_server_close(s);
	}
}

static void
imap_server_auth_lookup(struct imap_server_session *s, bool secret, const char *mech,
			const char *authcid, const char *password)
{
	char *mech_copy, *authcid_copy, *password_copy = NULL;

	ASSERT(secret == (password == NULL));
	s->pending = secret ? IMAP_PENDING_AUTH_SECRET : IMAP_PENDING_AUTH_PASSWORD;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	/* the originals may go away in a completion called inside the hook */
	mech_copy = mem_strdup(mech);
	authcid_copy = mem_strdup(authcid);
	if (password != NULL)
		password_copy = mem_strdup(password);
	s->hooks.auth_lookup(s->hook_ctx, s, mech_copy, authcid_copy, password_copy);
	if (password_copy != NULL) {
		explicit_bzero(password_copy, strlen(password_copy));
		mem_free(&password_copy);
	}
	mem_free(&authcid_copy);
	mem_free(&mech_copy);
}

/* Authenticated as user: let the glue load the user's data. */
static void
imap_server_login_start(struct imap_server_session *s, const char *user)
{
	char *user_copy;

	mem_free(&s->login_user);
	s->login_user = mem_strdup(user);
	s->pending = IMAP_PENDING_LOGIN;
	imap_server_flush(s);
	if (imap_server_dead(s))
		return;
	user_copy = mem_strdup(user);
	s->hooks.authenticated(s->hook_ctx, s, user_copy);
	mem_free(&user_copy);
}

void
imap_server_login_done(struct imap_server_session *s, bool ok)
{
	struct buf caps, cap_code;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_LOGIN)
		PANIC("imap_server_login_done without an authenticated hook in progress");
	imap_server_ref(s);
	s->pending = IMAP_PENDING_NONE;
	if (ok) {
		s->state = IMAP_STATE_AUTH;
		mem_free(&s->user);
		s->user = s->login_user;
		s->login_user = NULL;
		imap_server_set_parser_mode(s);
		/* RFC 9051 6.2.2/6.2.3: the capabilities changed; say so */
		buf_init(&caps, 0);
		buf_init(&cap_code, 0);
		imap_server_capabilities(s, &caps);
		if (buf_printf(&cap_code, "CAPABILITY %s", buf_cstr(&caps)) < 0)
			PANIC("unlimited buffer refused data");
		imap_server_ok(s, buf_cstr(&cap_code), "Logged in");
		buf_deinit(&cap_code);
		buf_deinit(&caps);
	} else {
		imap_server_no(s, "UNAVAILABLE", "Temporary failure, try again later");
	}
	mem_free(&s->login_user);
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}

/* ---- LOGIN ---- */

void
imap_server_cmd_login(struct imap_server_session *s, const struct imap_command *cmd)
{
	const char *user, *pass;
	size_t user_len, pass_len;

	if (!imap_arg_get_astring(&cmd->args[0], &user, &user_len) ||
	    !imap_arg_get_astring(&cmd->args[1], &pass, &pass_len)) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid arguments");
		return;
	}
	if (!imap_server_plaintext_ok(s)) {
		/* RFC 9051 6.2.3 (LOGINDISABLED), RFC 5530 3 PRIVACYREQUIRED */
		imap_server_no(s, "PRIVACYREQUIRED",
			       "Plaintext authentication is disallowed without TLS");
		return;
	}
	mem_free(&s->pass_user);
	s->pass_user = mem_strdup(user);
	imap_server_auth_lookup(s, false, IMAP_SERVER_LOGIN_MECH, user, pass);
}

/* ---- AUTHENTICATE ---- */

void
imap_server_sasl_abort(struct imap_server_session *s)
{
	if (s->sasl != NULL)
		sasl_server_free(&s->sasl);
	s->sasl_continue = false;
	s->sasl_final = false;
}

static void
imap_server_sasl_fail(struct imap_server_session *s, const char *reason)
{
	imap_server_auth_report(s, sasl_server_mech_name(s->sasl), sasl_server_authcid(s->sasl),
				false, reason);
	imap_server_sasl_abort(s);
}

/* "+ " base64 (RFC 9051 6.2.2); the response comes as one line. */
static void
imap_server_sasl_challenge(struct imap_server_session *s, const struct buf *data, bool final)
{
	struct buf b64;

	buf_init(&b64, 0);
	if (base64_encode(&b64, buf_data(data), buf_len(data)) < 0 ||
	    buf_append_str(&b64, "\r\n") < 0)
		PANIC("unlimited buffer refused base64 data");
	imap_server_write(s, "+ ", 2);
	imap_server_write(s, buf_data(&b64), buf_len(&b64));
	imap_server_wipe_buf(&b64);
	s->sasl_continue = true;
	s->sasl_final = final;
	imap_parser_expect_line(s->parser);
}

static void
imap_server_sasl_success(struct imap_server_session *s)
{
	const char *authcid = sasl_server_authcid(s->sasl);
	char *user;

	ASSERT(authcid != NULL);
	user = mem_strdup(authcid);
	imap_server_auth_report(s, sasl_server_mech_name(s->sasl), user, true, NULL);
	imap_server_sasl_abort(s);
	imap_server_login_start(s, user);
	mem_free(&user);
}

static void
imap_server_sasl_step(struct imap_server_session *s, const uint8_t *in, size_t len)
{
	struct buf out;
	const char *error = NULL, *authcid;

	buf_init(&out, 0);
	switch (sasl_server_step(s->sasl, in, len, &out, &error)) {
	case SASL_STEP_CHALLENGE:
		imap_server_sasl_challenge(s, &out, false);
		break;
	case SASL_STEP_NEED_PASSWORD:
		authcid = sasl_server_authcid(s->sasl);
		ASSERT(authcid != NULL && sasl_server_password(s->sasl) != NULL);
		imap_server_auth_lookup(s, false, sasl_server_mech_name(s->sasl), authcid,
					sasl_server_password(s->sasl));
		break;
	case SASL_STEP_NEED_SECRET:
		authcid = sasl_server_authcid(s->sasl);
		ASSERT(authcid != NULL);
		imap_server_auth_lookup(s, true, sasl_server_mech_name(s->sasl), authcid, NULL);
		break;
	case SASL_STEP_SUCCESS:
		/* no SASL data with the tagged OK (see the top): a last challenge */
		if (buf_len(&out) > 0)
			imap_server_sasl_challenge(s, &out, true);
		else
			imap_server_sasl_success(s);
		break;
	case SASL_STEP_FAILURE:
		imap_server_sasl_fail(s, error != NULL ? error : "authentication failed");
		imap_server_login_failed(s);
		break;
	default:
		PANIC("invalid SASL step result");
	}
	imap_server_wipe_buf(&out);
}

/* Decode one base64 response and feed it; bad base64 ends the exchange. */
static void
imap_server_sasl_response(struct imap_server_session *s, const char *b64, size_t len)
{
	struct buf msg;

	buf_init(&msg, base64_decoded_max_len(len));
	if (base64_decode(&msg, b64, len) < 0) {
		imap_server_sasl_fail(s, "invalid base64 data");
		imap_server_bad_command(s, s->cmd_tag, "Invalid base64 data");
	} else {
		imap_server_sasl_step(s, buf_data(&msg), buf_len(&msg));
	}
	imap_server_wipe_buf(&msg);
}

void
imap_server_cmd_authenticate(struct imap_server_session *s, const struct imap_command *cmd)
{
	const struct sasl_mech_info *mech;
	const char *name, *ir = NULL;

	ASSERT(s->sasl == NULL);
	if (!imap_arg_get_atom(&cmd->args[0], &name) ||
	    (cmd->n_args == 2 && !imap_arg_get_atom(&cmd->args[1], &ir))) {
		imap_server_bad_command(s, s->cmd_tag, "Invalid arguments");
		return;
	}
	mech = sasl_mechanism_find(name);
	/* -PLUS without channel-binding data is not offered: unknown here */
	if (mech == NULL || ((mech->flags & SASL_MECH_NEEDS_CB) != 0 && !s->have_cb)) {
		imap_server_no(s, NULL, "Unsupported authentication mechanism");
		return;
	}
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !imap_server_plaintext_ok(s)) {
		imap_server_no(s, "PRIVACYREQUIRED",
			       "Plaintext authentication is disallowed without TLS");
		return;
	}
	s->sasl = sasl_server_new(mech->name, s->have_cb ? &s->cb : NULL);
	if (s->sasl == NULL)
		PANIC("SASL mechanism %s listed but not startable", mech->name);
	if (ir == NULL)
		imap_server_sasl_step(s, NULL, 0);
	else if (strcmp(ir, "=") == 0)
		imap_server_sasl_step(s, (const uint8_t *)"", 0); /* RFC 4959 3 */
	else
		imap_server_sasl_response(s, ir, cmd->args[1].str_len);
}

void
imap_server_sasl_line(struct imap_server_session *s, const char *line, size_t len)
{
	bool final = s->sasl_final;

	ASSERT(s->sasl_continue && s->sasl != NULL);
	s->sasl_continue = false;
	s->sasl_final = false;
	if (len == 1 && line[0] == '*') {
		/* RFC 9051 6.2.2: cancel, answered with a tagged BAD */
		imap_server_sasl_fail(s, "canceled");
		imap_server_bad(s, NULL, "Authentication canceled");
		return;
	}
	if (final) {
		/* RFC 4422 3.6: the answer to the server-final data is empty */
		if (len == 0) {
			imap_server_sasl_success(s);
		} else {
			imap_server_sasl_fail(s, "response to the final server data not empty");
			imap_server_login_failed(s);
		}
		return;
	}
	imap_server_sasl_response(s, line, len);
}

/* The response line was unusable (too long, NUL, bare CR). */
void
imap_server_sasl_line_error(struct imap_server_session *s, const char *text)
{
	imap_server_sasl_fail(s, text);
	imap_server_bad_command(s, s->cmd_tag, text);
}

/* ---- completions of auth_lookup ---- */

void
imap_server_auth_verified(struct imap_server_session *s, bool ok)
{
	bool held;
	char *user;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_AUTH_PASSWORD)
		PANIC("imap_server_auth_verified without a password check in progress");
	imap_server_ref(s);
	held = imap_server_hold(s);
	s->pending = IMAP_PENDING_NONE;
	if (s->sasl != NULL) {
		sasl_server_provide_verified(s->sasl, ok);
		imap_server_sasl_step(s, NULL, 0);
	} else {
		user = s->pass_user;
		s->pass_user = NULL;
		imap_server_auth_report(s, IMAP_SERVER_LOGIN_MECH, user, ok,
					ok ? NULL : "authentication failed");
		if (ok)
			imap_server_login_start(s, user);
		else
			imap_server_login_failed(s);
		mem_free(&user);
	}
	imap_server_release(s, held);
	imap_server_unref(s);
}

void
imap_server_auth_secret(struct imap_server_session *s, const char *secret)
{
	bool held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_AUTH_SECRET)
		PANIC("imap_server_auth_secret without a secret lookup in progress");
	imap_server_ref(s);
	held = imap_server_hold(s);
	s->pending = IMAP_PENDING_NONE;
	sasl_server_provide_secret(s->sasl, secret);
	imap_server_sasl_step(s, NULL, 0);
	imap_server_release(s, held);
	imap_server_unref(s);
}

void
imap_server_auth_tempfail(struct imap_server_session *s)
{
	bool held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_AUTH_PASSWORD && s->pending != IMAP_PENDING_AUTH_SECRET)
		PANIC("imap_server_auth_tempfail without an auth_lookup in progress");
	imap_server_ref(s);
	held = imap_server_hold(s);
	s->pending = IMAP_PENDING_NONE;
	if (s->sasl != NULL) {
		imap_server_sasl_fail(s, "temporary failure");
	} else {
		imap_server_auth_report(s, IMAP_SERVER_LOGIN_MECH, s->pass_user, false,
					"temporary failure");
		mem_free(&s->pass_user);
	}
	/* RFC 5530 3 UNAVAILABLE: try again later; not a failed login */
	imap_server_no(s, "UNAVAILABLE", "Temporary failure, try again later");
	imap_server_release(s, held);
	imap_server_unref(s);
}
