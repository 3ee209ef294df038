/*
 * smtp-server-cmd.c - the command table: one check and one run function per
 * verb, and the completion of the hooks they call.
 *
 * A check function decides whether the command may run now: sequence first
 * (503 5.5.1, RFC 5321 4.1.4 and 3.3), then parameters, in a fixed order. It
 * writes the refusal itself and returns false. A run function acts: it either
 * replies at once or stores what the hook needs (pending_*) and calls the hook;
 * smtp_server_cmd_complete() finishes the command when the glue answers.
 *
 * MAIL and RCPT parameters: SIZE, BODY, AUTH, SMTPUTF8, the DSN parameters
 * (RFC 3461 4: RET and ENVID on MAIL, NOTIFY and ORCPT on RCPT; their value
 * syntax is smtp-command.c's) and REQUIRETLS (RFC 8689 4.1, over TLS only).
 * A repeated parameter or a malformed value is 501 5.5.4 with a text that
 * names it; an unknown parameter is 555 5.5.4 (RFC 5321 4.1.1.11).
 *
 * STARTTLS (RFC 3207) is here too: its reply, the reset of the session and
 * the discarding of pipelined plain-text input, then the starttls hook.
 *
 * Not here: parsing (smtp-command.c), message payloads (smtp-server-message.c),
 * reply formatting (smtp-server-reply.c), AUTH (smtp-server-auth.c).
 */
#include "smtp/smtp-server-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

struct cmd_def {
	enum smtp_verb verb;
	bool (*check)(struct smtp_server_session *s, struct smtp_command *cmd);
	void (*run)(struct smtp_server_session *s, struct smtp_command *cmd);
};

static void
reply_printf(struct smtp_server_session *s, unsigned code, const char *enh, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void
reply_printf(struct smtp_server_session *s, unsigned code, const char *enh, const char *fmt, ...)
{
	struct buf text;
	va_list ap;

	buf_init(&text, 0);
	va_start(ap, fmt);
	buf_vprintf(&text, fmt, ap);
	va_end(ap);
	smtp_server_reply(s, code, enh, buf_cstr(&text));
	buf_deinit(&text);
}

/* ---- HELO / EHLO ---- */

static void
run_helo(struct smtp_server_session *s, struct smtp_command *cmd)
{
	/* RFC 5321 4.1.4: HELO/EHLO in a transaction resets it as RSET would */
	smtp_server_reset_transaction(s, true);
	mem_free(&s->pending_helo);
	s->pending_helo = mem_strdup(cmd->args);
	s->pending_ehlo = cmd->verb == SMTP_VERB_EHLO;
	smtp_server_call_hook(s, SMTP_PENDING_HELO);
}

/* ---- MAIL ---- */

static bool
parse_size(const char *value, uint64_t *size_r)
{
	uint64_t size = 0;

	if (value == NULL || *value == '\0')
		return false;
	for (const char *p = value; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return false;
		/* saturate: any size that does not fit is over every limit */
		if (__builtin_mul_overflow(size, 10, &size) ||
		    __builtin_add_overflow(size, (uint64_t)(*p - '0'), &size))
			size = UINT64_MAX;
	}
	*size_r = size;
	return true;
}

static bool
auth_param_valid(const char *value)
{
	struct buf decoded;
	const char *error;
	bool ok;

	if (value == NULL)
		return false;
	if (strcmp(value, "<>") == 0)
		return true;
	buf_init(&decoded, 0);
	ok = smtp_xtext_decode(value, strlen(value), &decoded, &error) > 0 &&
	     buf_len(&decoded) > 0;
	buf_deinit(&decoded);
	return ok;
}

/* One MAIL parameter; replies and returns false when it is refused. */
static bool
check_mail_param(struct smtp_server_session *s, const struct smtp_param *p,
		 struct smtp_server_mail_params *params)
{
	uint64_t max = s->set.limits.max_message_size;
	const char *error;

	if (strcasecmp(p->keyword, "SIZE") == 0) {
		/* RFC 1870 6 */
		if (!parse_size(p->value, &params->size)) {
			smtp_server_reply(s, 501, "5.5.4", "Syntax: SIZE=<number>");
			return false;
		}
		if (max != 0 && params->size > max) {
			smtp_server_reply(s, 552, "5.3.4",
					  "Message size exceeds fixed maximum message size");
			return false;
		}
	} else if (strcasecmp(p->keyword, "BODY") == 0) {
		/* RFC 6152 2; BINARYMIME (RFC 3030 3) is not offered */
		if (p->value != NULL && strcasecmp(p->value, "7BIT") == 0) {
			params->body = SMTP_SERVER_BODY_7BIT;
		} else if (p->value != NULL && strcasecmp(p->value, "8BITMIME") == 0) {
			params->body = SMTP_SERVER_BODY_8BITMIME;
		} else {
			smtp_server_reply(s, 555, "5.5.4", "Unsupported BODY type");
			return false;
		}
	} else if (strcasecmp(p->keyword, "AUTH") == 0) {
		/* RFC 4954 5: AUTH=xtext or AUTH=<>, accepted on every port and
		 * then ignored (see smtp-server.h) */
		if (!auth_param_valid(p->value)) {
			smtp_server_reply(s, 501, "5.5.4", "Syntax: AUTH=<> or AUTH=xtext");
			return false;
		}
	} else if (strcasecmp(p->keyword, "SMTPUTF8") == 0) {
		/* RFC 6531 3.4: no value */
		if (p->value != NULL) {
			smtp_server_reply(s, 501, "5.5.4", "SMTPUTF8 takes no value");
			return false;
		}
		params->smtputf8 = true;
	} else if (strcasecmp(p->keyword, "RET") == 0) {
		/* RFC 3461 4.3 */
		if (smtp_dsn_parse_ret(p->value, &params->ret, &error) < 0) {
			smtp_server_reply(s, 501, "5.5.4", error);
			return false;
		}
	} else if (strcasecmp(p->keyword, "ENVID") == 0) {
		/* RFC 3461 4.4: kept as received, xtext */
		if (smtp_dsn_check_envid(p->value, &error) < 0) {
			smtp_server_reply(s, 501, "5.5.4", error);
			return false;
		}
		snprintf(params->envid, sizeof(params->envid), "%s", p->value);
	} else if (strcasecmp(p->keyword, "REQUIRETLS") == 0) {
		/* RFC 8689 4.1: no value, and only on a TLS session (the
		 * extension is not offered without TLS) */
		if (p->value != NULL) {
			smtp_server_reply(s, 501, "5.5.4", "REQUIRETLS takes no value");
			return false;
		}
		if (!s->tls) {
			smtp_server_reply(s, 530, "5.7.10", "REQUIRETLS needs a TLS session");
			return false;
		}
		params->requiretls = true;
	} else {
		/* RFC 5321 4.1.1.11: 555 for a parameter not recognised */
		smtp_server_reply(s, 555, "5.5.4", "Unsupported MAIL parameter");
		return false;
	}
	return true;
}

static bool
has_duplicate_param(const struct smtp_command *cmd)
{
	for (unsigned i = 0; i < cmd->n_params; i++) {
		for (unsigned j = 0; j < i; j++) {
			if (strcasecmp(cmd->params[i].keyword, cmd->params[j].keyword) == 0)
				return true;
		}
	}
	return false;
}

static bool
check_mail(struct smtp_server_session *s, struct smtp_command *cmd)
{
	if (s->state == SMTP_STATE_READY) {
		smtp_server_reply(s, 503, "5.5.1", "Send HELO/EHLO first");
		return false;
	}
	if (s->state == SMTP_STATE_MAIL) {
		smtp_server_reply(s, 503, "5.5.1", "Nested MAIL command");
		return false;
	}
	if (s->set.submission && s->auth_user == NULL) {
		/* RFC 6409 4.3, RFC 4954 6 */
		smtp_server_reply(s, 530, "5.7.0", "Authentication required");
		return false;
	}
	memset(&s->pending_params, 0, sizeof(s->pending_params));
	if (!s->esmtp && cmd->n_params > 0) {
		/* parameters are an ESMTP feature (RFC 5321 4.1.1.2) */
		smtp_server_reply(s, 555, "5.5.4", "MAIL parameters require EHLO");
		return false;
	}
	if (has_duplicate_param(cmd)) {
		smtp_server_reply(s, 501, "5.5.4", "Duplicate MAIL parameter");
		return false;
	}
	for (unsigned i = 0; i < cmd->n_params; i++) {
		if (!check_mail_param(s, &cmd->params[i], &s->pending_params))
			return false;
	}
	if (cmd->path.utf8 && !s->pending_params.smtputf8) {
		/* RFC 6531 3.4 and 3.7.4: non-ASCII address without SMTPUTF8 */
		smtp_server_reply(s, 553, "5.6.7", "Non-ASCII sender address requires SMTPUTF8");
		return false;
	}
	return true;
}

static void
run_mail(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_address_deinit(&s->pending_addr);
	s->pending_addr = cmd->path;
	memset(&cmd->path, 0, sizeof(cmd->path));
	smtp_server_call_hook(s, SMTP_PENDING_MAIL);
}

/* ---- RCPT ---- */

/* One RCPT parameter (RFC 3461 4.1, 4.2); replies and returns false when it
 * is refused. */
static bool
check_rcpt_param(struct smtp_server_session *s, const struct smtp_param *p,
		 struct smtp_server_rcpt_params *params)
{
	const char *error;

	if (strcasecmp(p->keyword, "NOTIFY") == 0) {
		if (smtp_dsn_parse_notify(p->value, &params->notify, &error) < 0) {
			smtp_server_reply(s, 501, "5.5.4", error);
			return false;
		}
	} else if (strcasecmp(p->keyword, "ORCPT") == 0) {
		if (smtp_dsn_check_orcpt(p->value, &error) < 0) {
			smtp_server_reply(s, 501, "5.5.4", error);
			return false;
		}
		params->orcpt = mem_strdup(p->value);
	} else {
		/* RFC 5321 4.1.1.11 */
		smtp_server_reply(s, 555, "5.5.4", "Unsupported RCPT parameter");
		return false;
	}
	return true;
}

static bool
check_rcpt(struct smtp_server_session *s, struct smtp_command *cmd)
{
	if (s->state != SMTP_STATE_MAIL) {
		smtp_server_reply(s, 503, "5.5.1", "Need MAIL command");
		return false;
	}
	if (s->data_begun) {
		smtp_server_reply(s, 503, "5.5.1", "RCPT not allowed after BDAT");
		return false;
	}
	mem_free(&s->pending_rcpt_params.orcpt);
	memset(&s->pending_rcpt_params, 0, sizeof(s->pending_rcpt_params));
	if (!s->esmtp && cmd->n_params > 0) {
		smtp_server_reply(s, 555, "5.5.4", "RCPT parameters require EHLO");
		return false;
	}
	if (has_duplicate_param(cmd)) {
		smtp_server_reply(s, 501, "5.5.4", "Duplicate RCPT parameter");
		return false;
	}
	for (unsigned i = 0; i < cmd->n_params; i++) {
		if (!check_rcpt_param(s, &cmd->params[i], &s->pending_rcpt_params)) {
			mem_free(&s->pending_rcpt_params.orcpt);
			return false;
		}
	}
	if (cmd->path.utf8 && !s->mail_params.smtputf8) {
		smtp_server_reply(s, 553, "5.6.7", "Non-ASCII recipient address requires SMTPUTF8");
		return false;
	}
	if (s->n_rcpts >= s->set.limits.max_recipients) {
		/* RFC 5321 4.5.3.1.10: 452, not 552 */
		smtp_server_reply(s, 452, "4.5.3", "Too many recipients");
		return false;
	}
	return true;
}

static void
run_rcpt(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_address_deinit(&s->pending_addr);
	s->pending_addr = cmd->path;
	memset(&cmd->path, 0, sizeof(cmd->path));
	smtp_server_call_hook(s, SMTP_PENDING_RCPT);
}

static void
add_rcpt(struct smtp_server_session *s)
{
	if (s->n_rcpts == s->rcpts_alloc) {
		s->rcpts_alloc = s->rcpts_alloc == 0 ? 8 : s->rcpts_alloc * 2;
		s->rcpts = mem_realloc(s->rcpts, mem_size_mul(s->rcpts_alloc, sizeof(*s->rcpts)));
		s->rcpt_params = mem_realloc(s->rcpt_params,
					     mem_size_mul(s->rcpts_alloc, sizeof(*s->rcpt_params)));
	}
	s->rcpt_params[s->n_rcpts] = s->pending_rcpt_params;
	memset(&s->pending_rcpt_params, 0, sizeof(s->pending_rcpt_params));
	s->rcpts[s->n_rcpts++] = s->pending_addr;
	memset(&s->pending_addr, 0, sizeof(s->pending_addr));
}

/* ---- DATA / BDAT ---- */

static bool
check_data(struct smtp_server_session *s, struct smtp_command *cmd)
{
	if (s->state != SMTP_STATE_MAIL) {
		smtp_server_reply(s, 503, "5.5.1", "Need MAIL command");
		return false;
	}
	if (s->data_begun) {
		/* RFC 3030 3: DATA and BDAT do not mix in one transaction */
		smtp_server_reply(s, 503, "5.5.1", "DATA not allowed after BDAT");
		return false;
	}
	if (s->n_rcpts == 0) {
		smtp_server_reply(s, 503, "5.5.1", "No valid recipients");
		return false;
	}
	return true;
}

static void
run_data(struct smtp_server_session *s, struct smtp_command *cmd)
{
	s->bdat_pending = false;
	smtp_server_call_hook(s, SMTP_PENDING_DATA_BEGIN);
}

/*
 * RFC 3030 2: the chunk follows the command whatever we answer, so every
 * refusal consumes it first (smtp_server_bdat_refuse) and replies after.
 */
static void
run_bdat(struct smtp_server_session *s, struct smtp_command *cmd)
{
	uint64_t max = s->set.limits.max_message_size;

	s->bdat_chunk = cmd->chunk_size;
	s->bdat_last = cmd->last;
	if (s->state != SMTP_STATE_MAIL) {
		smtp_server_bdat_refuse(s, 503, "5.5.1", "Need MAIL command", false);
	} else if (s->n_rcpts == 0) {
		smtp_server_bdat_refuse(s, 503, "5.5.1", "No valid recipients", false);
	} else if (max != 0 && (cmd->chunk_size > max || s->msg_size > max - cmd->chunk_size)) {
		smtp_server_bdat_refuse(s, 552, "5.3.4",
					"Message size exceeds fixed maximum message size", true);
	} else if (!s->data_begun) {
		s->bdat_pending = true;
		smtp_server_call_hook(s, SMTP_PENDING_DATA_BEGIN);
	} else {
		smtp_server_bdat_start(s, false);
	}
}

/* ---- the rest ---- */

static void
run_rset(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_server_reset_transaction(s, true);
	smtp_server_reply(s, 250, "2.0.0", "Ok");
}

static void
run_noop(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_server_reply(s, 250, "2.0.0", "Ok");
}

static void
run_quit(struct smtp_server_session *s, struct smtp_command *cmd)
{
	/* RFC 5321 4.1.1.10: 221, then close */
	smtp_server_reply_final(s, 221, "2.0.0", "Bye");
}

static void
run_vrfy(struct smtp_server_session *s, struct smtp_command *cmd)
{
	/* RFC 5321 3.5.3: 252 when the server will not verify */
	smtp_server_reply(s, 252, "2.5.0",
			  "Cannot VRFY user, but will accept message and attempt delivery");
}

static void
run_expn(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_server_reply(s, 502, "5.5.1", "EXPN not supported");
}

static void
run_help(struct smtp_server_session *s, struct smtp_command *cmd)
{
	/* the optional commands only when they may be used now */
	reply_printf(s, 214, "2.0.0",
		     "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP%s%s\n"
		     "See RFC 5321 for their use",
		     s->set.starttls_available && !s->tls ? " STARTTLS" : "",
		     smtp_server_auth_offered(s) ? " AUTH" : "");
}

/* ---- STARTTLS ---- */

static bool
check_starttls(struct smtp_server_session *s, struct smtp_command *cmd)
{
	/* RFC 3207 4: not after TLS is in place (a second STARTTLS too) */
	if (s->tls) {
		smtp_server_reply(s, 503, "5.5.1", "TLS already active");
		return false;
	}
	if (!s->set.starttls_available) {
		smtp_server_reply(s, 502, "5.5.1", "Command not implemented");
		return false;
	}
	return true;
}

/*
 * RFC 3207 4.2: after the 220 the client and server forget everything they
 * learnt in plain text (HELO/EHLO, and here also a transaction and AUTH),
 * nothing the client sent after the command in plain text may be acted on
 * (STARTTLS command injection, CVE-2011-0411 and kin), and no new greeting
 * is sent. The errors count stays: a reset is no way to more tries.
 */
static void
run_starttls(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_server_reset_transaction(s, true);
	smtp_server_reply(s, 220, "2.0.0", "Ready to start TLS");
	if (s->destroyed || s->state == SMTP_STATE_CLOSED)
		return;
	/* the reader is between lines (it just gave us this one), so throwing
	 * the buffered bytes away leaves nothing half read */
	explicit_bzero(buf_data(&s->input), buf_len(&s->input));
	buf_reset(&s->input);
	mem_free(&s->helo);
	s->esmtp = false;
	s->state = SMTP_STATE_READY;
	smtp_server_auth_reset(s);
	smtp_server_session_set_channel_binding(s, NULL);
	smtp_server_session_set_tls_info(s, NULL, NULL);
	s->tls = true;
	if (s->hooks.starttls != NULL)
		s->hooks.starttls(s, s->hook_ctx);
}

static void
run_unknown(struct smtp_server_session *s, struct smtp_command *cmd)
{
	smtp_server_reply(s, 500, "5.5.2", "Command unrecognized");
}

static const struct cmd_def cmd_table[] = {
	{ SMTP_VERB_UNKNOWN, NULL, run_unknown },
	{ SMTP_VERB_EHLO, NULL, run_helo },
	{ SMTP_VERB_HELO, NULL, run_helo },
	{ SMTP_VERB_MAIL, check_mail, run_mail },
	{ SMTP_VERB_RCPT, check_rcpt, run_rcpt },
	{ SMTP_VERB_DATA, check_data, run_data },
	{ SMTP_VERB_BDAT, NULL, run_bdat },
	{ SMTP_VERB_RSET, NULL, run_rset },
	{ SMTP_VERB_NOOP, NULL, run_noop },
	{ SMTP_VERB_QUIT, NULL, run_quit },
	{ SMTP_VERB_VRFY, NULL, run_vrfy },
	{ SMTP_VERB_EXPN, NULL, run_expn },
	{ SMTP_VERB_HELP, NULL, run_help },
	{ SMTP_VERB_STARTTLS, check_starttls, run_starttls },
	{ SMTP_VERB_AUTH, smtp_server_auth_check, smtp_server_auth_run },
};

static const struct cmd_def *
lookup_cmd(enum smtp_verb verb)
{
	for (size_t i = 0; i < N_ELEMENTS(cmd_table); i++) {
		if (cmd_table[i].verb == verb)
			return &cmd_table[i];
	}
	return &cmd_table[0];
}

static void
reply_syntax_error(struct smtp_server_session *s, const struct smtp_command *cmd,
		   const char *error)
{
	if (cmd->error == SMTP_COMMAND_ERROR_PATH && cmd->verb == SMTP_VERB_MAIL) {
		reply_printf(s, 501, "5.1.7", "Bad sender address syntax: %s", error);
	} else if (cmd->error == SMTP_COMMAND_ERROR_PATH) {
		reply_printf(s, 501, "5.1.3", "Bad recipient address syntax: %s", error);
	} else if (cmd->verb == SMTP_VERB_BDAT) {
		/* without a size the chunk's end cannot be found: the rest of
		 * the stream can only be misread, so stop here */
		smtp_server_reply_final(s, 501, "5.5.4", "Syntax: BDAT size [LAST]");
	} else if (cmd->verb == SMTP_VERB_EHLO || cmd->verb == SMTP_VERB_HELO) {
		reply_printf(s, 501, "5.5.4", "Syntax: %s hostname", smtp_verb_name(cmd->verb));
	} else {
		reply_printf(s, 501, "5.5.4", "Syntax error: %s", error);
	}
}

void
smtp_server_cmd_line(struct smtp_server_session *s, const uint8_t *line, size_t len)
{
	struct smtp_command cmd;
	const char *error;
	int ret;

	ret = smtp_command_parse(line, len, &s->cmd_limits, SMTP_COMMAND_PARSE_UTF8, &cmd, &error);
	if (s->state == SMTP_STATE_REFUSED && cmd.verb != SMTP_VERB_QUIT) {
		/* RFC 5321 3.1: after a 554 greeting, 503 to all but QUIT */
		if (cmd.verb == SMTP_VERB_BDAT && ret > 0) {
			s->bdat_chunk = cmd.chunk_size;
			s->bdat_last = cmd.last;
			smtp_server_bdat_refuse(s, 503, "5.5.1", "Only QUIT is allowed now", false);
		} else {
			smtp_server_reply(s, 503, "5.5.1", "Only QUIT is allowed now");
		}
	} else if (ret < 0) {
		reply_syntax_error(s, &cmd, error);
	} else {
		const struct cmd_def *def = lookup_cmd(cmd.verb);

		if (def->check == NULL || def->check(s, &cmd))
			def->run(s, &cmd);
	}
	/* an initial response may hold a password (PLAIN) */
	if (cmd.verb == SMTP_VERB_AUTH && cmd.args != NULL)
		explicit_bzero(cmd.args, strlen(cmd.args));
	smtp_command_deinit(&cmd);
}

static const char *
default_enh(enum smtp_pending kind, unsigned code)
{
	if (code / 100 == 2) {
		if (kind == SMTP_PENDING_MAIL)
			return "2.1.0";
		if (kind == SMTP_PENDING_RCPT)
			return "2.1.5";
		return "2.0.0";
	}
	if (kind == SMTP_PENDING_CONNECT)
		return code / 100 == 4 ? "4.3.2" : "5.3.2";
	return code / 100 == 4 ? "4.0.0" : "5.0.0";
}

static const char *
default_text(unsigned code)
{
	if (code / 100 == 2)
		return "Ok";
	return code / 100 == 4 ? "Temporary failure, try again later" : "Rejected";
}

static void
complete_connect(struct smtp_server_session *s, unsigned code, const char *enh,
		 const char *text)
{
	if (code / 100 == 2) {
		s->state = SMTP_STATE_READY;
		smtp_server_reply_greeting(s, text);
		return;
	}
	enh = enh != NULL ? enh : default_enh(SMTP_PENDING_CONNECT, code);
	text = text != NULL ? text : "Service not available";
	if (code / 100 == 4) {
		smtp_server_reply_final(s, code, enh, text);
	} else {
		smtp_server_reply_write(s, code, enh, text);
		s->state = SMTP_STATE_REFUSED;
	}
}

static void
complete_helo(struct smtp_server_session *s, unsigned code, const char *enh, const char *text)
{
	if (code / 100 == 2) {
		mem_free(&s->helo);
		s->helo = s->pending_helo;
		s->pending_helo = NULL;
		s->esmtp = s->pending_ehlo;
		s->state = SMTP_STATE_IDLE;
		smtp_server_reply_helo(s, s->esmtp, text);
	} else {
		mem_free(&s->pending_helo);
		smtp_server_reply(s, code, enh != NULL ? enh : default_enh(SMTP_PENDING_HELO, code),
				  text != NULL ? text : default_text(code));
	}
}

static void
complete_mail(struct smtp_server_session *s, bool ok)
{
	if (!ok) {
		smtp_address_deinit(&s->pending_addr);
		return;
	}
	s->in_transaction = true;
	s->mail_from = s->pending_addr;
	memset(&s->pending_addr, 0, sizeof(s->pending_addr));
	s->mail_params = s->pending_params;
	s->state = SMTP_STATE_MAIL;
}

static void
complete_data_begin(struct smtp_server_session *s, unsigned code, const char *enh,
		    const char *text)
{
	bool ok = code / 100 == 2;

	enh = enh != NULL ? enh : default_enh(SMTP_PENDING_DATA_BEGIN, code);
	text = text != NULL ? text : default_text(code);
	if (s->bdat_pending) {
		s->bdat_pending = false;
		if (ok) {
			s->data_begun = true;
			smtp_server_bdat_start(s, false);
		} else {
			/* the refused chunk is consumed first (RFC 3030 2) */
			smtp_server_bdat_refuse(s, code, enh, text, true);
		}
		return;
	}
	if (!ok) {
		smtp_server_reply(s, code, enh, text);
		return;
	}
	s->data_begun = true;
	smtp_server_reply_write(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	smtp_server_data_start(s);
}

void
smtp_server_cmd_complete(struct smtp_server_session *s, enum smtp_pending kind, unsigned code,
			 const char *enh, const char *text)
{
	bool ok = code / 100 == 2;

	switch (kind) {
	case SMTP_PENDING_CONNECT:
		complete_connect(s, code, enh, text);
		return;
	case SMTP_PENDING_HELO:
		complete_helo(s, code, enh, text);
		return;
	case SMTP_PENDING_MAIL:
		complete_mail(s, ok);
		break;
	case SMTP_PENDING_RCPT:
		if (ok) {
			add_rcpt(s);
		} else {
			smtp_address_deinit(&s->pending_addr);
			mem_free(&s->pending_rcpt_params.orcpt);
		}
		break;
	case SMTP_PENDING_DATA_BEGIN:
		complete_data_begin(s, code, enh, text);
		return;
	case SMTP_PENDING_DATA_END:
		smtp_server_message_end_complete(s, code, enh, text);
		return;
	case SMTP_PENDING_AUTH:
	case SMTP_PENDING_NONE:
		PANIC("completion without a pending command hook");
	}
	smtp_server_reply(s, code, enh != NULL ? enh : default_enh(kind, code),
			  text != NULL ? text : default_text(code));
}
