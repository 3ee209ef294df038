/*
 * pop3-server-auth.c - the AUTHORIZATION state around the hooks: USER/PASS
 * (RFC 1939 7), the auth_lookup and open_maildrop hooks and their
 * completions, and the login result with its RFC 2449 8 / RFC 3206
 * response code.
 *
 * Does: gate USER/PASS on the plain-text policy (pop3-server-tls.c); call
 * hooks->auth_lookup (a password to verify, or a SCRAM secret to fetch for
 * pop3-server-sasl.c), then hooks->open_maildrop once authenticated; turn
 * their results into replies; count failed logins.
 *
 * Does not: verify passwords, read secrets or lock maildrops (the glue
 * does), or run SASL exchanges (pop3-server-sasl.c).
 *
 * Invariants: every failed login, whatever the reason (unknown user, wrong
 * password, malformed SASL message, foreign authzid, account gone before
 * its maildrop opened), answers the same "-ERR [AUTH] Authentication
 * failed", so replies reveal nothing about accounts. What a hook is given
 * is a copy that outlives the hook call even when the completion runs
 * inside it; the password copy is wiped once the call has returned.
 */
#include "pop3/pop3-server-private.h"

#include <string.h>

#include "core/mem.h"

static const char pop3_server_auth_failed[] = "-ERR [AUTH] Authentication failed";

/* Plain-text methods are refused (RFC 2449 8.1.2 [AUTH]) unless passwords
 * may travel now (RFC 5034 4). */
bool
pop3_server_plaintext_allowed(struct pop3_server_session *s)
{
	if (pop3_server_plaintext_ok(s))
		return true;
	pop3_server_reply(s, "-ERR [AUTH] Plain-text authentication requires TLS");
	return false;
}

void
pop3_server_login_failed(struct pop3_server_session *s)
{
	pop3_server_reply(s, "%s", pop3_server_auth_failed);
	if (++s->auth_failures >= s->limits.max_auth_failures)
		pop3_server_close(s);
}

void
pop3_server_auth_report(struct pop3_server_session *s, const char *mech, const char *authcid,
			bool ok, const char *reason)
{
	if (s->hooks.auth_result != NULL && !pop3_server_dead(s))
		s->hooks.auth_result(s->hook_ctx, s, mech, authcid, ok, reason);
}

void
pop3_server_auth_lookup(struct pop3_server_session *s, bool secret, const char *mech,
			const char *authcid, const char *password)
{
	char *mech_copy, *authcid_copy, *password_copy = NULL;

	ASSERT(secret == (password == NULL));
	s->pending = secret ? POP3_PENDING_AUTH_SECRET : POP3_PENDING_AUTH_PASSWORD;
	pop3_server_flush(s);
	if (pop3_server_dead(s))
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

void
pop3_server_open_maildrop(struct pop3_server_session *s, const char *user)
{
	char *user_copy;

	mem_free(&s->login_user);
	s->login_user = mem_strdup(user);
	s->pending = POP3_PENDING_MAILDROP;
	pop3_server_flush(s);
	if (pop3_server_dead(s))
		return;
	user_copy = mem_strdup(user);
	s->hooks.open_maildrop(s->hook_ctx, s, user_copy);
	mem_free(&user_copy);
}

void
pop3_server_cmd_user(struct pop3_server_session *s, struct pop3_command *cmd)
{
	if (!pop3_server_plaintext_allowed(s))
		return;
	/* RFC 1939 7: "+OK" whether or not the mailbox exists; PASS decides. */
	mem_free(&s->user);
	s->user = mem_strdup(cmd->args[0]);
	pop3_server_reply(s, "+OK");
}

void
pop3_server_cmd_pass(struct pop3_server_session *s, struct pop3_command *cmd)
{
	if (!pop3_server_plaintext_allowed(s))
		return;
	if (s->user == NULL) {
		/* RFC 1939 7: PASS only right after a successful USER */
		pop3_server_bad_command(s, "USER first");
		return;
	}
	mem_free(&s->pass_user);
	s->pass_user = s->user;
	s->user = NULL;
	/* "USER" names the method for the glue (the RFC 2449 6.2 capability) */
	pop3_server_auth_lookup(s, false, "USER", s->pass_user, cmd->args[0]);
	explicit_bzero(cmd->args[0], cmd->arg_lens[0]);
}

/* Check that the glue completes what the engine waits for. */
static void
pop3_server_auth_expect(const struct pop3_server_session *s, enum pop3_server_pending pending,
			const char *func)
{
	if (s->pending != pending)
		PANIC("%s without the matching auth_lookup in progress", func);
}

void
pop3_server_auth_verified(struct pop3_server_session *s, bool ok)
{
	bool held;

	if (pop3_server_dead(s))
		return;
	pop3_server_auth_expect(s, POP3_PENDING_AUTH_PASSWORD, "pop3_server_auth_verified");
	pop3_server_ref(s);
	held = pop3_server_hold(s);
	s->pending = POP3_PENDING_NONE;
	if (s->sasl != NULL) {
		sasl_server_provide_verified(s->sasl, ok);
		pop3_server_sasl_continue(s);
	} else {
		char *user = s->pass_user;

		ASSERT(user != NULL);
		s->pass_user = NULL;
		pop3_server_auth_report(s, "USER", user, ok, ok ? NULL : "authentication failed");
		if (ok)
			pop3_server_open_maildrop(s, user);
		else
			pop3_server_login_failed(s);
		mem_free(&user);
	}
	pop3_server_release(s, held);
	pop3_server_unref(s);
}

void
pop3_server_auth_secret(struct pop3_server_session *s, const char *secret)
{
	bool held;

	if (pop3_server_dead(s))
		return;
	pop3_server_auth_expect(s, POP3_PENDING_AUTH_SECRET, "pop3_server_auth_secret");
	ASSERT(s->sasl != NULL);
	pop3_server_ref(s);
	held = pop3_server_hold(s);
	s->pending = POP3_PENDING_NONE;
	sasl_server_provide_secret(s->sasl, secret);
	pop3_server_sasl_continue(s);
	pop3_server_release(s, held);
	pop3_server_unref(s);
}

void
pop3_server_auth_tempfail(struct pop3_server_session *s)
{
	bool held;

	if (pop3_server_dead(s))
		return;
	if (s->pending != POP3_PENDING_AUTH_PASSWORD && s->pending != POP3_PENDING_AUTH_SECRET)
		PANIC("pop3_server_auth_tempfail without an auth_lookup in progress");
	pop3_server_ref(s);
	held = pop3_server_hold(s);
	s->pending = POP3_PENDING_NONE;
	if (s->sasl != NULL) {
		pop3_server_sasl_fail(s, "temporary failure");
	} else {
		pop3_server_auth_report(s, "USER", s->pass_user, false, "temporary failure");
		mem_free(&s->pass_user);
	}
	/* [SYS/TEMP] (RFC 3206): try again later; not counted as a failed login */
	pop3_server_reply(s, "-ERR [SYS/TEMP] temporary failure, try again later");
	pop3_server_release(s, held);
	pop3_server_unref(s);
}

/* Copy the maildrop list; a bad uidl is the glue's bug (RFC 1939 7 syntax). */
static void
pop3_server_set_maildrop(struct pop3_server_session *s, const struct pop3_message_info *msgs,
			 unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const char *u = msgs[i].uidl;
		size_t n = strnlen(u, sizeof(msgs[i].uidl));

		if (n == 0 || n == sizeof(msgs[i].uidl))
			PANIC("message %u: uidl length out of range", i);
		for (size_t k = 0; k < n; k++) {
			if (u[k] < 0x21 || u[k] > 0x7e)
				PANIC("message %u: invalid character in uidl", i);
		}
	}
	s->msgs = count == 0 ? NULL : mem_memdup(msgs, mem_size_mul(count, sizeof(*msgs)));
	s->deleted = mem_array(count == 0 ? 1 : count, sizeof(*s->deleted));
	s->msg_count = count;
}

static void
pop3_server_login_ok(struct pop3_server_session *s, const struct pop3_message_info *msgs,
		     unsigned count)
{
	uint64_t octets = 0;

	pop3_server_set_maildrop(s, msgs, count);
	for (unsigned i = 0; i < count; i++)
		octets += msgs[i].size;
	s->state = POP3_STATE_TRANSACTION;
	mem_free(&s->user);
	s->user = s->login_user;
	s->login_user = NULL;
	pop3_server_reply(s, "+OK maildrop has %u messages (%llu octets)", count,
			  (unsigned long long)octets);
}

void
pop3_server_login_done(struct pop3_server_session *s, enum pop3_login_result result,
		       const struct pop3_message_info *msgs, unsigned count)
{
	if (pop3_server_dead(s))
		return;
	if (s->pending != POP3_PENDING_MAILDROP)
		PANIC("pop3_server_login_done without an open_maildrop in progress");
	pop3_server_ref(s);
	s->pending = POP3_PENDING_NONE;
	switch (result) {
	case POP3_LOGIN_OK:
		pop3_server_login_ok(s, msgs, count);
		break;
	case POP3_LOGIN_FAILED:
		pop3_server_login_failed(s);
		break;
	case POP3_LOGIN_IN_USE:
		pop3_server_reply(s, "-ERR [IN-USE] maildrop is locked by another session");
		break;
	case POP3_LOGIN_TEMPFAIL:
		pop3_server_reply(s, "-ERR [SYS/TEMP] temporary failure, try again later");
		break;
	default:
		PANIC("invalid login result %d", (int)result);
	}
	mem_free(&s->login_user);
	pop3_server_resume(s);
	pop3_server_flush(s);
	pop3_server_unref(s);
}
