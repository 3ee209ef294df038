/*
 * pop3-server-auth.c - the AUTHORIZATION state: USER/PASS (RFC 1939 7),
 * AUTH with SASL PLAIN (RFC 5034, RFC 4616), and the login completion.
 *
 * Does: gate plain-text mechanisms on allow_plaintext_auth; run the SASL
 * exchange (initial response or "+ " continuation, "*" cancel, base64
 * errors); refuse an authorization identity other than the authentication
 * identity; call hooks->login and turn its result into the reply with its
 * RFC 2449 8 / RFC 3206 response code; count failures.
 *
 * Does not: verify passwords or lock maildrops (the login hook does), or
 * offer other mechanisms or APOP.
 *
 * Invariants: every failed login, whatever the reason (unknown user, wrong
 * password, malformed PLAIN message, foreign authzid), answers the same
 * "-ERR [AUTH] Authentication failed", so replies reveal nothing about
 * accounts. Passwords and decoded SASL messages are wiped once the hook
 * call has returned.
 */
#include "pop3/pop3-server-private.h"

#include <string.h>
#include <strings.h>

#include "core/base64.h"
#include "core/mem.h"
#include "sasl/sasl-plain.h"

static const char pop3_server_auth_failed[] = "-ERR [AUTH] Authentication failed";

/* Plain-text mechanisms are refused (RFC 2449 8.1.2 [AUTH]) off TLS/loopback. */
static bool
pop3_server_plaintext_allowed(struct pop3_server_session *s)
{
	if (s->allow_plaintext_auth)
		return true;
	pop3_server_reply(s, "-ERR [AUTH] Plain-text authentication requires TLS");
	return false;
}

static void
pop3_server_login_failed(struct pop3_server_session *s)
{
	pop3_server_reply(s, "%s", pop3_server_auth_failed);
	if (++s->auth_failures >= s->limits.max_auth_failures)
		pop3_server_close(s);
}

static void
pop3_server_login_start(struct pop3_server_session *s, const char *user, const char *password)
{
	mem_free(&s->login_user);
	s->login_user = mem_strdup(user);
	s->pending = POP3_PENDING_LOGIN;
	pop3_server_flush(s);
	if (!pop3_server_dead(s))
		s->hooks.login(s->hook_ctx, s, user, password);
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
	char *user;

	if (!pop3_server_plaintext_allowed(s))
		return;
	if (s->user == NULL) {
		/* RFC 1939 7: PASS only right after a successful USER */
		pop3_server_bad_command(s, "USER first");
		return;
	}
	user = s->user;
	s->user = NULL;
	pop3_server_login_start(s, user, cmd->args[0]);
	explicit_bzero(cmd->args[0], cmd->arg_lens[0]);
	mem_free(&user);
}

/* Decode and check one PLAIN response (RFC 4616 2), then log in with it. */
static void
pop3_server_sasl_plain(struct pop3_server_session *s, const char *b64, size_t len)
{
	struct sasl_plain *plain;
	struct buf msg;
	const char *error;

	buf_init(&msg, base64_decoded_max_len(len));
	if (base64_decode(&msg, b64, len) < 0) {
		/* RFC 5034 4: a response that is not base64 is rejected with -ERR */
		pop3_server_bad_command(s, "invalid base64 data");
	} else if (sasl_plain_parse(buf_data(&msg), buf_len(&msg), &plain, &error) < 0) {
		pop3_server_login_failed(s);
	} else {
		/* Only the authentication identity itself may be the authzid. */
		if (plain->authzid[0] != '\0' && strcmp(plain->authzid, plain->authcid) != 0)
			pop3_server_login_failed(s);
		else
			pop3_server_login_start(s, plain->authcid, plain->password);
		sasl_plain_free(&plain);
	}
	pop3_server_wipe_buf(&msg);
}

/* RFC 5034 4: "AUTH" alone lists the mechanisms (the older RFC 1734 form). */
static void
pop3_server_auth_list(struct pop3_server_session *s)
{
	pop3_server_reply(s, "+OK");
	if (s->allow_plaintext_auth)
		pop3_server_reply(s, "PLAIN");
	pop3_server_reply(s, ".");
}

void
pop3_server_cmd_auth(struct pop3_server_session *s, struct pop3_command *cmd)
{
	if (cmd->argc == 0) {
		pop3_server_auth_list(s);
		return;
	}
	if (strcasecmp(cmd->args[0], "PLAIN") != 0) {
		pop3_server_reply(s, "-ERR unsupported authentication mechanism");
		return;
	}
	if (!pop3_server_plaintext_allowed(s))
		return;
	mem_free(&s->user); /* AUTH abandons a pending USER */
	if (cmd->argc == 2) {
		/* RFC 5034 4: "=" is an empty initial response */
		if (strcmp(cmd->args[1], "=") == 0)
			pop3_server_sasl_plain(s, "", 0);
		else
			pop3_server_sasl_plain(s, cmd->args[1], cmd->arg_lens[1]);
		return;
	}
	/* PLAIN's server challenge is empty (RFC 4616 2, RFC 5034 4). */
	pop3_server_reply(s, "+ ");
	s->sasl_continue = true;
	pop3_line_reader_set_max(&s->reader, s->limits.max_auth_line);
}

void
pop3_server_sasl_abort(struct pop3_server_session *s)
{
	s->sasl_continue = false;
	pop3_line_reader_set_max(&s->reader, s->limits.max_line);
}

/* The client's response line to "+ ". */
void
pop3_server_sasl_line(struct pop3_server_session *s, char *line, size_t len)
{
	pop3_server_sasl_abort(s);
	if (len == 1 && line[0] == '*') {
		/* RFC 5034 4: the client cancels; the server MUST answer -ERR */
		pop3_server_reply(s, "-ERR authentication canceled");
		return;
	}
	pop3_server_sasl_plain(s, line, len);
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
	if (s->pending != POP3_PENDING_LOGIN)
		PANIC("pop3_server_login_done without a login in progress");
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
