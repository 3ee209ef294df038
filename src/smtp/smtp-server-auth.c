/*
 * smtp-server-auth.c - SMTP AUTH (RFC 4954) on top of sasl/sasl-server.h.
 *
 * Does: decide which mechanisms are offered now (EHLO) and whether AUTH may
 * run; parse "AUTH mechanism [initial-response]"; run the exchange: each
 * challenge goes out as "334 base64", each client line comes back through
 * smtp_server_auth_line() (SMTP_STATE_AUTH, lines up to max_auth_line), "*"
 * cancels; when the mechanism needs a password checked or a SCRAM secret
 * fetched, ask the glue (auth_lookup, SMTP_PENDING_AUTH) and continue with its
 * answer; end with 235, 535, 454, 501 or 500 and tell the glue (auth_result).
 *
 * Does not: check passwords or know users (the glue does), decide the policy
 * of who may relay (the glue's rcpt hook), or log.
 *
 * Replies (RFC 4954 4 and 6, in the order the checks run):
 *   AUTH not offered by configuration        502 5.5.1
 *   before EHLO                              503 5.5.1
 *   already authenticated                    503 5.5.1
 *   in a mail transaction                    503 5.5.1
 *   plain text, not allowed without TLS      530 5.7.0 Must issue a STARTTLS command first
 *   malformed arguments                      501 5.5.4
 *   mechanism unknown or not offered now     504 5.5.4
 *   response not base64                      501 5.5.2
 *   cancelled with "*"                       501 5.0.0
 *   response line too long                   500 5.5.6
 *   wrong credentials, foreign authzid       535 5.7.8
 *   lookup failed for now                    454 4.7.0
 *   success                                  235 2.7.0
 * Every failure is a 4xx/5xx and counts towards max_errors, which bounds
 * password guessing on one connection.
 *
 * SCRAM's server-final message (RFC 5802 3) cannot ride on the 235 (RFC 4954
 * has no "additional data with success"), so it goes out as one more 334
 * challenge whose response must be empty; only then is 235 sent.
 *
 * Invariants: s->sasl exists exactly while an exchange runs (see
 * smtp-server-private.h); decoded responses are wiped after use; the SASL
 * object, which holds the password or secret, is freed (and wiped by the SASL
 * layer) as soon as the exchange ends.
 */
#include "smtp/smtp-server-private.h"

#include <string.h>

#include "core/base64.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"

/* RFC 4954 4: sasl-mech = 1*20mech-char */
#define SMTP_AUTH_MAX_MECH 20

#define AUTH_INVALID "Authentication credentials invalid"

static void
wipe_buf(struct buf *b)
{
	if (b->data != NULL)
		explicit_bzero(b->data, b->cap);
	buf_deinit(b);
}

bool
smtp_server_auth_offered(const struct smtp_server_session *s)
{
	/* policy: no AUTH at all before TLS unless plain text is allowed here */
	return s->set.auth_available && (s->tls || s->set.auth_plaintext_allowed);
}

static bool
mech_usable(const struct smtp_server_session *s, const struct sasl_mech_info *mech)
{
	if ((mech->flags & SASL_MECH_PLAINTEXT) != 0 && !s->tls && !s->set.auth_plaintext_allowed)
		return false;
	if ((mech->flags & SASL_MECH_NEEDS_CB) != 0 && s->cb == NULL)
		return false;
	return true;
}

void
smtp_server_auth_ehlo(const struct smtp_server_session *s, struct buf *lines)
{
	bool any = false;

	if (!smtp_server_auth_offered(s))
		return;
	for (const struct sasl_mech_info *const *m = sasl_mechanisms(); *m != NULL; m++) {
		if (!mech_usable(s, *m))
			continue;
		buf_append_str(lines, any ? " " : "\nAUTH ");
		buf_append_str(lines, (*m)->name);
		any = true;
	}
}

void
smtp_server_auth_abort(struct smtp_server_session *s)
{
	if (s->sasl != NULL)
		sasl_server_free(&s->sasl);
	s->auth_final = false;
}

void
smtp_server_auth_reset(struct smtp_server_session *s)
{
	smtp_server_auth_abort(s);
	mem_free(&s->auth_user);
	mem_free(&s->auth_mech);
}

/* Back to reading commands. */
static void
auth_leave(struct smtp_server_session *s)
{
	smtp_server_auth_abort(s);
	if (s->state == SMTP_STATE_AUTH) {
		s->state = smtp_server_idle_state(s);
		smtp_command_reader_set_max_line(&s->reader, s->set.limits.max_line);
	}
}

/* The exchange is over: tell the glue, remember a success, reply. */
static void
auth_end(struct smtp_server_session *s, bool ok, const char *reason, unsigned code,
	 const char *enh, const char *text)
{
	const char *authcid = sasl_server_authcid(s->sasl);
	char *mech = mem_strdup(sasl_server_mech_name(s->sasl));
	char *user = authcid != NULL ? mem_strdup(authcid) : NULL;

	ASSERT(!ok || user != NULL);
	/* the hook may close or free the session: it keeps only our copies */
	if (!s->destroyed && s->hooks.auth_result != NULL)
		s->hooks.auth_result(s, s->hook_ctx, mech, user, ok, ok ? NULL : reason);
	auth_leave(s);
	if (ok && !s->destroyed && s->state != SMTP_STATE_CLOSED) {
		s->auth_user = user;
		s->auth_mech = mech;
		user = mech = NULL;
	}
	mem_free(&user);
	mem_free(&mech);
	smtp_server_reply(s, code, enh, text);
}

static void
auth_fail(struct smtp_server_session *s, const char *reason)
{
	auth_end(s, false, reason, 535, "5.7.8", AUTH_INVALID);
}

/* Send a challenge and wait for the client's response line. */
static void
auth_challenge(struct smtp_server_session *s, const struct buf *data)
{
	smtp_server_reply_challenge(s, buf_data(data), buf_len(data));
	if (s->state != SMTP_STATE_AUTH) {
		s->state = SMTP_STATE_AUTH;
		/* RFC 4954 4: responses may be longer than command lines */
		smtp_command_reader_set_max_line(&s->reader, s->set.limits.max_auth_line);
	}
}

/* Feed one response (in == NULL: continue after a lookup, or no initial
 * response) and act on the mechanism's verdict. */
static void
auth_step(struct smtp_server_session *s, const uint8_t *in, size_t in_len)
{
	struct buf out;
	const char *error = NULL;

	buf_init(&out, 0);
	switch (sasl_server_step(s->sasl, in, in_len, &out, &error)) {
	case SASL_STEP_CHALLENGE:
		auth_challenge(s, &out);
		break;
	case SASL_STEP_NEED_PASSWORD:
		s->auth_need = SMTP_AUTH_NEED_PASSWORD;
		smtp_server_call_hook(s, SMTP_PENDING_AUTH);
		break;
	case SASL_STEP_NEED_SECRET:
		s->auth_need = SMTP_AUTH_NEED_SECRET;
		smtp_server_call_hook(s, SMTP_PENDING_AUTH);
		break;
	case SASL_STEP_SUCCESS:
		if (buf_len(&out) > 0) {
			/* RFC 4954 4: no data on 235; one more round instead */
			s->auth_final = true;
			auth_challenge(s, &out);
		} else {
			auth_end(s, true, NULL, 235, "2.7.0", "Authentication successful");
		}
		break;
	case SASL_STEP_FAILURE:
	default:
		auth_fail(s, error != NULL ? error : "authentication failed");
		break;
	}
	wipe_buf(&out);
}

bool
smtp_server_auth_check(struct smtp_server_session *s, struct smtp_command *cmd)
{
	if (!s->set.auth_available) {
		smtp_server_reply(s, 502, "5.5.1", "Command not implemented");
		return false;
	}
	if (s->state == SMTP_STATE_READY || !s->esmtp) {
		/* AUTH is an EHLO extension */
		smtp_server_reply(s, 503, "5.5.1", "Send EHLO first");
		return false;
	}
	if (s->auth_user != NULL) {
		/* RFC 4954 4: one successful AUTH per session */
		smtp_server_reply(s, 503, "5.5.1", "Already authenticated");
		return false;
	}
	if (s->state == SMTP_STATE_MAIL) {
		/* RFC 4954 4: not during a mail transaction */
		smtp_server_reply(s, 503, "5.5.1", "AUTH not allowed during a mail transaction");
		return false;
	}
	if (!smtp_server_auth_offered(s)) {
		/* RFC 3207 4, RFC 4954 6 */
		smtp_server_reply(s, 530, "5.7.0", "Must issue a STARTTLS command first");
		return false;
	}
	return true;
}

static bool
is_mech_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* "mechanism [SP initial-response]": *mech_len_r, *ir_r (NULL when absent). */
static bool
parse_auth_args(const char *args, size_t *mech_len_r, const char **ir_r)
{
	size_t n = 0;

	while (is_mech_char(args[n]))
		n++;
	if (n == 0 || n > SMTP_AUTH_MAX_MECH)
		return false;
	*mech_len_r = n;
	*ir_r = NULL;
	if (args[n] == '\0')
		return true;
	if (args[n] != ' ' || args[n + 1] == '\0' || strpbrk(args + n + 1, " \t") != NULL)
		return false;
	*ir_r = args + n + 1;
	return true;
}

void
smtp_server_auth_run(struct smtp_server_session *s, struct smtp_command *cmd)
{
	const struct sasl_mech_info *info = NULL;
	char mech[SMTP_AUTH_MAX_MECH + 1];
	const char *ir;
	size_t mech_len;
	struct buf decoded;

	if (!parse_auth_args(cmd->args, &mech_len, &ir)) {
		smtp_server_reply(s, 501, "5.5.4", "Syntax: AUTH mechanism [initial-response]");
		return;
	}
	memcpy(mech, cmd->args, mech_len);
	mech[mech_len] = '\0';
	info = sasl_mechanism_find(mech);
	if (info == NULL || !mech_usable(s, info) ||
	    (s->sasl = sasl_server_new(info->name, s->cb)) == NULL) {
		smtp_server_reply(s, 504, "5.5.4", "Unrecognized authentication type");
		return;
	}
	if (ir == NULL) {
		auth_step(s, NULL, 0);
		return;
	}
	/* RFC 4954 4: "=" is an empty initial response */
	buf_init(&decoded, 0);
	if (strcmp(ir, "=") != 0 && base64_decode(&decoded, ir, strlen(ir)) < 0)
		auth_end(s, false, "invalid base64 in initial response", 501, "5.5.2",
			 "Invalid base64 data");
	else
		auth_step(s, buf_data(&decoded), buf_len(&decoded));
	wipe_buf(&decoded);
}

void
smtp_server_auth_line(struct smtp_server_session *s, const uint8_t *line, size_t len,
		      bool too_long)
{
	struct buf decoded;

	ASSERT(s->sasl != NULL);
	if (too_long) {
		auth_end(s, false, "response line too long", 500, "5.5.6",
			 "Authentication exchange line is too long");
		return;
	}
	if (len == 1 && line[0] == '*') {
		/* RFC 4954 4: the client cancels; 501 */
		auth_end(s, false, "cancelled by the client", 501, "5.0.0",
			 "Authentication cancelled");
		return;
	}
	if (s->auth_final) {
		/* the answer to server-final data must be empty */
		if (len == 0)
			auth_end(s, true, NULL, 235, "2.7.0", "Authentication successful");
		else
			auth_fail(s, "non-empty response to the final challenge");
		return;
	}
	buf_init(&decoded, 0);
	if (base64_decode(&decoded, (const char *)line, len) < 0)
		auth_end(s, false, "invalid base64 in response", 501, "5.5.2",
			 "Invalid base64 data");
	else
		auth_step(s, buf_data(&decoded), buf_len(&decoded));
	wipe_buf(&decoded);
}

void
smtp_server_auth_complete(struct smtp_server_session *s, const struct smtp_server_completion *c)
{
	ASSERT(s->sasl != NULL);
	if (c->auth_tempfail) {
		auth_end(s, false, "temporary lookup failure", 454, "4.7.0",
			 "Temporary authentication failure");
		return;
	}
	if (s->auth_need == SMTP_AUTH_NEED_PASSWORD)
		sasl_server_provide_verified(s->sasl, c->auth_ok);
	else
		sasl_server_provide_secret(s->sasl, c->auth_secret);
	auth_step(s, NULL, 0);
}
