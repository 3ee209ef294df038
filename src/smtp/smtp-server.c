/*
 * smtp-server.c - session lifecycle, the input loop, hooks and closing.
 *
 * What it does: owns struct smtp_server_session (smtp-server-private.h). Input
 * goes into a bounded buffer; session_process() then takes one step at a
 * time (a command line, a piece of DATA, a piece of a BDAT chunk) for as long
 * as no hook is pending and the session is open. A hook completion
 * (smtp_server_hook_done) writes the reply through smtp-server-cmd.c and
 * resumes the loop, unless it was called from inside the loop, which then
 * simply continues.
 *
 * Lifetime: the glue holds one reference, every entry point that calls out
 * holds another for its duration, and smtp_server_session_free() only marks
 * the session destroyed and drops the glue's reference. The memory goes when
 * the last reference does, so a free() from inside io->close or a hook never
 * pulls the session from under the code that called out. Once destroyed, the
 * wrappers make no further hook or io calls.
 *
 * Every hook completion (smtp_server_hook_done, smtp_server_auth_*) goes
 * through complete(): clear pending, let smtp-server-cmd.c or
 * smtp-server-auth.c act on the answer unless the session closed meanwhile,
 * honour a shutdown that waited for it, and resume reading input.
 *
 * Command-line bytes are wiped from the input buffer as they are consumed,
 * and the line reader after an AUTH line: they may hold a password.
 */
#include "smtp/smtp-server-private.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "sasl/sasl-server.h"

void
smtp_server_limits_init_default(struct smtp_server_limits *limits)
{
	struct smtp_command_limits cmd;

	smtp_command_limits_init_default(&cmd);
	memset(limits, 0, sizeof(*limits));
	limits->max_line = cmd.max_line;
	limits->max_params = cmd.max_params;
	limits->max_recipients = SMTP_SERVER_DEFAULT_MAX_RECIPIENTS;
	limits->max_message_size = SMTP_SERVER_DEFAULT_MAX_MESSAGE_SIZE;
	limits->max_errors = SMTP_SERVER_DEFAULT_MAX_ERRORS;
	limits->max_input_buffer = SMTP_SERVER_DEFAULT_MAX_INPUT_BUFFER;
	limits->max_auth_line = SMTP_SERVER_DEFAULT_MAX_AUTH_LINE;
	limits->address = cmd.address;
}

struct smtp_server_session *
smtp_server_session_new(const struct smtp_server_settings *settings,
			const struct smtp_server_hooks *hooks, void *hook_ctx,
			const struct smtp_server_io *io, void *io_ctx,
			const char *client_ip, const char *client_rdns)
{
	struct smtp_server_session *s = mem_zalloc(sizeof(*s));
	const struct smtp_server_limits *lim = &settings->limits;

	ASSERT(settings->hostname != NULL && client_ip != NULL);
	ASSERT(lim->max_line >= 512 && lim->max_input_buffer >= 2 * lim->max_line);
	ASSERT(lim->max_errors > 0 && lim->max_recipients > 0);
	ASSERT(lim->max_auth_line == 0 || lim->max_auth_line >= 8);
	s->set = *settings;
	if (s->set.limits.max_auth_line == 0)
		s->set.limits.max_auth_line = SMTP_SERVER_DEFAULT_MAX_AUTH_LINE;
	s->hostname = mem_strdup(settings->hostname);
	s->set.hostname = s->hostname;
	if (hooks != NULL)
		s->hooks = *hooks;
	s->hook_ctx = hook_ctx;
	s->io = *io;
	s->io_ctx = io_ctx;
	s->client_ip = mem_strdup(client_ip);
	s->client_rdns = client_rdns == NULL ? NULL : mem_strdup(client_rdns);
	s->refcount = 1;
	s->state = SMTP_STATE_GREETING;
	buf_init(&s->input, lim->max_input_buffer);
	s->cmd_limits.max_line = lim->max_line;
	s->cmd_limits.max_params = lim->max_params;
	s->cmd_limits.address = lim->address;
	smtp_command_reader_init(&s->reader, lim->max_line);
	return s;
}

static void
session_destroy(struct smtp_server_session *s)
{
	smtp_server_reset_transaction(s, false);
	smtp_server_message_free(s);
	smtp_server_auth_reset(s);
	smtp_server_session_set_channel_binding(s, NULL);
	mem_free(&s->tls_version);
	mem_free(&s->tls_cipher);
	smtp_address_deinit(&s->pending_addr);
	mem_free(&s->pending_rcpt_params.orcpt);
	mem_free(&s->pending_helo);
	mem_free(&s->helo);
	mem_free(&s->rcpts);
	mem_free(&s->rcpt_params);
	smtp_command_reader_deinit(&s->reader);
	buf_deinit(&s->input);
	mem_free(&s->client_ip);
	mem_free(&s->client_rdns);
	mem_free(&s->hostname);
	mem_free(&s);
}

void
smtp_server_ref(struct smtp_server_session *s)
{
	s->refcount++;
}

void
smtp_server_unref(struct smtp_server_session *s)
{
	ASSERT(s->refcount > 0);
	if (--s->refcount == 0)
		session_destroy(s);
}

enum smtp_server_state
smtp_server_idle_state(const struct smtp_server_session *s)
{
	return s->helo != NULL ? SMTP_STATE_IDLE : SMTP_STATE_READY;
}

void
smtp_server_reset_transaction(struct smtp_server_session *s, bool notify)
{
	bool was_open = s->in_transaction;

	smtp_address_deinit(&s->mail_from);
	for (unsigned i = 0; i < s->n_rcpts; i++) {
		smtp_address_deinit(&s->rcpts[i]);
		mem_free(&s->rcpt_params[i].orcpt);
	}
	s->n_rcpts = 0;
	memset(&s->mail_params, 0, sizeof(s->mail_params));
	s->in_transaction = false;
	s->data_begun = false;
	s->bdat_used = false;
	s->bdat_cr = false;
	s->bdat_bare = false;
	s->msg_size = 0;
	if (s->state == SMTP_STATE_MAIL)
		s->state = smtp_server_idle_state(s);
	/* last, so that a re-entrant call from the hook sees a clean state */
	if (was_open && notify && !s->destroyed && s->hooks.rset != NULL)
		s->hooks.rset(s, s->hook_ctx);
}

void
smtp_server_data_write(struct smtp_server_session *s, const uint8_t *data, size_t len)
{
	if (s->destroyed || s->state == SMTP_STATE_CLOSED || s->hooks.data_write == NULL)
		return;
	s->hooks.data_write(s, s->hook_ctx, data, len);
}

void
smtp_server_close(struct smtp_server_session *s)
{
	if (s->close_sent)
		return;
	s->close_sent = true;
	s->state = SMTP_STATE_CLOSED;
	smtp_server_ref(s);
	/* an exchange waiting for the client is over; one waiting for the
	 * glue keeps its strings until the glue answers (or free) */
	if (s->pending != SMTP_PENDING_AUTH)
		smtp_server_auth_abort(s);
	smtp_server_reset_transaction(s, true);
	if (!s->destroyed && s->io.close != NULL)
		s->io.close(s->io_ctx);
	smtp_server_unref(s);
}

/* Default completion of a hook the glue left NULL. */
static unsigned
default_hook_code(enum smtp_pending kind)
{
	return kind == SMTP_PENDING_CONNECT ? 220 : 250;
}

void
smtp_server_call_hook(struct smtp_server_session *s, enum smtp_pending kind)
{
	const struct smtp_server_hooks *h = &s->hooks;
	void *ctx = s->hook_ctx;
	bool called = false;

	ASSERT(s->pending == SMTP_PENDING_NONE);
	s->pending = kind;
	if (s->destroyed)
		return;
	smtp_server_ref(s);
	switch (kind) {
	case SMTP_PENDING_CONNECT:
		if ((called = h->connect != NULL))
			h->connect(s, ctx);
		break;
	case SMTP_PENDING_HELO:
		if ((called = h->helo != NULL))
			h->helo(s, ctx, s->pending_helo, s->pending_ehlo);
		break;
	case SMTP_PENDING_MAIL:
		if ((called = h->mail != NULL))
			h->mail(s, ctx, &s->pending_addr, &s->pending_params);
		break;
	case SMTP_PENDING_RCPT:
		if ((called = h->rcpt != NULL))
			h->rcpt(s, ctx, &s->pending_addr, &s->pending_rcpt_params);
		break;
	case SMTP_PENDING_DATA_BEGIN:
		if ((called = h->data_begin != NULL))
			h->data_begin(s, ctx);
		break;
	case SMTP_PENDING_DATA_END:
		if ((called = h->data_end != NULL))
			h->data_end(s, ctx, s->msg_size);
		break;
	case SMTP_PENDING_AUTH:
		if ((called = h->auth_lookup != NULL)) {
			const char *authcid = sasl_server_authcid(s->sasl);
			const char *password = NULL;

			/* the password's presence says which completion is due */
			if (s->auth_need == SMTP_AUTH_NEED_PASSWORD) {
				password = sasl_server_password(s->sasl);
				if (password == NULL)
					password = "";
			}
			h->auth_lookup(s, ctx, sasl_server_mech_name(s->sasl),
				       authcid != NULL ? authcid : "", password);
		}
		break;
	case SMTP_PENDING_NONE:
		PANIC("no hook to call");
	}
	if (!called && kind == SMTP_PENDING_AUTH) {
		/* nobody to ask: nobody can log in */
		if (s->auth_need == SMTP_AUTH_NEED_PASSWORD)
			smtp_server_auth_verified(s, false);
		else
			smtp_server_auth_secret(s, NULL);
	} else if (!called) {
		smtp_server_hook_done(s, default_hook_code(kind), NULL, NULL);
	}
	smtp_server_unref(s);
}

/* Consume command-line bytes, wiping them first: an AUTH line may hold a
 * password, and wiping every line costs no more than telling them apart. */
static void
input_consume_line(struct smtp_server_session *s, size_t used)
{
	explicit_bzero(buf_data(&s->input), used);
	buf_consume(&s->input, used);
}

/* "AUTH" or "AUTH ..." (any case): the line may carry an initial response. */
static bool
is_auth_line(const uint8_t *line, size_t len)
{
	return len >= 4 && strncasecmp((const char *)line, "AUTH", 4) == 0 &&
	       (len == 4 || line[4] == ' ');
}

/* One command line, or in SMTP_STATE_AUTH one SASL response line. */
static void
session_line(struct smtp_server_session *s, const uint8_t *line, size_t len)
{
	if (s->state == SMTP_STATE_AUTH) {
		smtp_server_auth_line(s, line, len, false);
		smtp_command_reader_wipe(&s->reader);
	} else if (is_auth_line(line, len)) {
		smtp_server_cmd_line(s, line, len);
		smtp_command_reader_wipe(&s->reader);
	} else {
		smtp_server_cmd_line(s, line, len);
	}
}

/* One step of input processing; false when nothing could be done. */
static bool
session_step(struct smtp_server_session *s)
{
	const uint8_t *line;
	size_t used, line_len;

	switch (s->state) {
	case SMTP_STATE_GREETING:
	case SMTP_STATE_CLOSED:
		return false;
	case SMTP_STATE_DATA:
		return smtp_server_data_step(s);
	case SMTP_STATE_BDAT:
		return smtp_server_bdat_step(s);
	default:
		break;
	}
	if (buf_len(&s->input) == 0)
		return false;
	switch (smtp_command_reader_read(&s->reader, buf_data(&s->input), buf_len(&s->input),
					 &used, &line, &line_len)) {
	case SMTP_COMMAND_READ_NEED_MORE:
		input_consume_line(s, used);
		return false;
	case SMTP_COMMAND_READ_LINE:
		input_consume_line(s, used);
		session_line(s, line, line_len);
		return true;
	case SMTP_COMMAND_READ_TOO_LONG:
		input_consume_line(s, used);
		if (s->state == SMTP_STATE_AUTH)
			smtp_server_auth_line(s, NULL, 0, true);
		else
			smtp_server_reply(s, 500, "5.5.2", "Line too long");
		return true;
	case SMTP_COMMAND_READ_BARE_NEWLINE:
		/* RFC 5321 2.3.8; like Postfix's smtpd_forbid_bare_newline */
		input_consume_line(s, used);
		smtp_server_reply_final(s, 500, "5.5.2",
					"Bare CR or LF not allowed (RFC 5321 2.3.8)");
		return true;
	}
	return false;
}

static void
session_process(struct smtp_server_session *s)
{
	if (s->processing)
		return;
	s->processing = true;
	smtp_server_ref(s);
	while (!s->destroyed && s->state != SMTP_STATE_CLOSED &&
	       s->pending == SMTP_PENDING_NONE) {
		if (!session_step(s))
			break;
	}
	s->processing = false;
	smtp_server_unref(s);
}

void
smtp_server_session_start(struct smtp_server_session *s)
{
	if (s->destroyed || s->state == SMTP_STATE_CLOSED)
		return;         /* shut down or timed out before it started */
	ASSERT(s->state == SMTP_STATE_GREETING && s->pending == SMTP_PENDING_NONE);
	smtp_server_ref(s);
	smtp_server_call_hook(s, SMTP_PENDING_CONNECT);
	smtp_server_unref(s);
}

void
smtp_server_session_input(struct smtp_server_session *s, const uint8_t *data, size_t len)
{
	ASSERT(!s->processing);
	if (s->destroyed || s->state == SMTP_STATE_CLOSED)
		return;
	smtp_server_ref(s);
	if (buf_append(&s->input, data, len) < 0) {
		/* the glue read past wants_input(): the client pipelines without bound */
		smtp_server_reply_final(s, 421, "4.7.0", "Too much pipelined input");
	} else {
		session_process(s);
	}
	smtp_server_unref(s);
}

bool
smtp_server_session_wants_input(const struct smtp_server_session *s)
{
	return !s->destroyed && s->state != SMTP_STATE_CLOSED &&
	       buf_len(&s->input) < s->set.limits.max_input_buffer / 2;
}

static void
shutdown_now(struct smtp_server_session *s)
{
	smtp_server_reply_final(s, 421, "4.3.2", "Server shutting down, try again later");
}

/* The pending hook's answer: act on it, then go on reading input. */
static void
complete(struct smtp_server_session *s, const struct smtp_server_completion *c)
{
	enum smtp_pending kind = s->pending;

	smtp_server_ref(s);
	s->pending = SMTP_PENDING_NONE;
	if (s->destroyed || s->state == SMTP_STATE_CLOSED) {
		/* timed out or closed meanwhile: the reply has nobody to go to */
		smtp_address_deinit(&s->pending_addr);
		mem_free(&s->pending_rcpt_params.orcpt);
		mem_free(&s->pending_helo);
		smtp_server_auth_abort(s);
	} else if (kind == SMTP_PENDING_AUTH) {
		smtp_server_auth_complete(s, c);
	} else {
		smtp_server_cmd_complete(s, kind, c->code, c->enh, c->text);
	}
	if (s->shutdown_requested && s->pending == SMTP_PENDING_NONE && !s->destroyed &&
	    s->state != SMTP_STATE_CLOSED)
		shutdown_now(s);
	session_process(s);
	smtp_server_unref(s);
}

void
smtp_server_hook_done(struct smtp_server_session *s, unsigned code, const char *enhanced_code,
		      const char *text)
{
	struct smtp_server_completion c = { .code = code, .enh = enhanced_code, .text = text };

	ASSERT(s->pending != SMTP_PENDING_NONE);
	if (s->pending == SMTP_PENDING_AUTH)
		PANIC("smtp_server_hook_done() for auth_lookup: use smtp_server_auth_*()");
	ASSERT(code >= 200 && code <= 599 && code / 100 != 3);
	ASSERT(enhanced_code == NULL || smtp_server_enhanced_code_valid(code, enhanced_code));
	complete(s, &c);
}

void
smtp_server_auth_verified(struct smtp_server_session *s, bool ok)
{
	struct smtp_server_completion c = { .auth_ok = ok };

	if (s->pending != SMTP_PENDING_AUTH || s->auth_need != SMTP_AUTH_NEED_PASSWORD)
		PANIC("smtp_server_auth_verified() without a password lookup pending");
	complete(s, &c);
}

void
smtp_server_auth_secret(struct smtp_server_session *s, const char *secret)
{
	struct smtp_server_completion c = { .auth_secret = secret };

	if (s->pending != SMTP_PENDING_AUTH || s->auth_need != SMTP_AUTH_NEED_SECRET)
		PANIC("smtp_server_auth_secret() without a secret lookup pending");
	complete(s, &c);
}

void
smtp_server_auth_tempfail(struct smtp_server_session *s)
{
	struct smtp_server_completion c = { .auth_tempfail = true };

	if (s->pending != SMTP_PENDING_AUTH)
		PANIC("smtp_server_auth_tempfail() without a lookup pending");
	complete(s, &c);
}

void
smtp_server_session_shutdown(struct smtp_server_session *s)
{
	if (s->destroyed || s->state == SMTP_STATE_CLOSED)
		return;
	if (s->pending != SMTP_PENDING_NONE) {
		s->shutdown_requested = true;
		return;
	}
	smtp_server_ref(s);
	shutdown_now(s);
	smtp_server_unref(s);
}

void
smtp_server_session_timeout(struct smtp_server_session *s)
{
	if (s->destroyed || s->state == SMTP_STATE_CLOSED)
		return;
	smtp_server_ref(s);
	smtp_server_reply_final(s, 421, "4.4.2", "Timeout, closing connection");
	smtp_server_unref(s);
}

void
smtp_server_session_free(struct smtp_server_session **sp)
{
	struct smtp_server_session *s = *sp;

	*sp = NULL;
	if (s == NULL || s->freeing)
		return;
	s->freeing = true;
	smtp_server_ref(s);
	smtp_server_reset_transaction(s, true);
	if (s->hooks.disconnect != NULL)
		s->hooks.disconnect(s, s->hook_ctx);
	s->destroyed = true;
	s->state = SMTP_STATE_CLOSED;
	smtp_server_unref(s);   /* ours */
	smtp_server_unref(s);   /* the glue's */
}

void
smtp_server_session_set_tls(struct smtp_server_session *s, bool tls)
{
	s->tls = tls;
}

bool
smtp_server_session_is_tls(const struct smtp_server_session *s)
{
	return s->tls;
}

void
smtp_server_session_set_tls_info(struct smtp_server_session *s, const char *version,
				 const char *cipher)
{
	mem_free(&s->tls_version);
	mem_free(&s->tls_cipher);
	if (version != NULL)
		s->tls_version = mem_strdup(version);
	if (cipher != NULL)
		s->tls_cipher = mem_strdup(cipher);
}

static void
cb_field_set(const uint8_t **dst, size_t *dst_len, const uint8_t *src, size_t len)
{
	*dst = src == NULL ? NULL : mem_memdup(src, len == 0 ? 1 : len);
	*dst_len = src == NULL ? 0 : len;
}

static void
cb_field_free(const uint8_t **p)
{
	uint8_t *q = (uint8_t *)*p;

	mem_free(&q);
	*p = NULL;
}

void
smtp_server_session_set_channel_binding(struct smtp_server_session *s,
					const struct sasl_channel_binding *cb)
{
	if (s->cb != NULL) {
		cb_field_free(&s->cb->tls_exporter);
		cb_field_free(&s->cb->tls_server_end_point);
		mem_free(&s->cb);
	}
	if (cb == NULL || (cb->tls_exporter == NULL && cb->tls_server_end_point == NULL))
		return;
	s->cb = mem_zalloc(sizeof(*s->cb));
	cb_field_set(&s->cb->tls_exporter, &s->cb->tls_exporter_len, cb->tls_exporter,
		     cb->tls_exporter_len);
	cb_field_set(&s->cb->tls_server_end_point, &s->cb->tls_server_end_point_len,
		     cb->tls_server_end_point, cb->tls_server_end_point_len);
}

const struct sasl_channel_binding *
smtp_server_channel_binding(const struct smtp_server_session *s)
{
	return s->cb;
}

const char *
smtp_server_session_get_auth_user(const struct smtp_server_session *s)
{
	return s->auth_user;
}

const char *
smtp_server_session_get_auth_mech(const struct smtp_server_session *s)
{
	return s->auth_mech;
}

const char *
smtp_server_session_get_client_ip(const struct smtp_server_session *s)
{
	return s->client_ip;
}

const char *
smtp_server_session_get_client_rdns(const struct smtp_server_session *s)
{
	return s->client_rdns;
}

const char *
smtp_server_session_get_helo(const struct smtp_server_session *s)
{
	return s->helo;
}

bool
smtp_server_session_is_esmtp(const struct smtp_server_session *s)
{
	return s->esmtp;
}

const struct smtp_address *
smtp_server_session_get_mail_from(const struct smtp_server_session *s)
{
	return s->in_transaction ? &s->mail_from : NULL;
}

unsigned
smtp_server_session_get_rcpt_count(const struct smtp_server_session *s)
{
	return s->n_rcpts;
}

const struct smtp_address *
smtp_server_session_get_rcpt(const struct smtp_server_session *s, unsigned idx)
{
	return idx < s->n_rcpts ? &s->rcpts[idx] : NULL;
}

const struct smtp_server_rcpt_params *
smtp_server_session_get_rcpt_params(const struct smtp_server_session *s, unsigned idx)
{
	return idx < s->n_rcpts ? &s->rcpt_params[idx] : NULL;
}

const struct smtp_server_mail_params *
smtp_server_session_get_mail_params(const struct smtp_server_session *s)
{
	return &s->mail_params;
}

enum smtp_server_body
smtp_server_session_get_body(const struct smtp_server_session *s)
{
	return s->mail_params.body;
}

bool
smtp_server_session_get_smtputf8(const struct smtp_server_session *s)
{
	return s->mail_params.smtputf8;
}
