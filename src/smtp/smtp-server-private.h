/*
 * smtp-server-private.h - the session struct and the calls between the
 * engine's files. Not for the glue: it uses smtp-server.h only.
 *
 *   smtp-server.c          lifecycle, input loop, hooks, close/shutdown/timeout
 *   smtp-server-cmd.c      command table: check (sequence, parameters) and run;
 *                          STARTTLS
 *   smtp-server-auth.c     AUTH: the SASL exchange, auth_lookup completion
 *   smtp-server-message.c  DATA and BDAT payloads, end of message
 *   smtp-server-reply.c    reply formatting, EHLO list, Received: header
 *
 * Invariants:
 *  - input is processed only while pending == SMTP_PENDING_NONE and the
 *    session is not closed, so replies come out in command order;
 *  - every call out of the engine (hook, io) goes through a wrapper that does
 *    nothing once the session is destroyed, and the engine holds a reference
 *    (smtp_server_ref) across anything that calls out;
 *  - in_transaction <=> MAIL was accepted and neither data_end completed nor
 *    the rset hook was called since;
 *  - sasl != NULL <=> an AUTH exchange is under way: state AUTH (waiting for a
 *    client response line), or pending == SMTP_PENDING_AUTH (waiting for the
 *    glue), or inside the command that started it; or the session closed
 *    while its lookup was pending (freed at completion or destroy);
 *  - auth_user != NULL => auth_mech != NULL; both only after a 235.
 */
#ifndef SMTP_SERVER_PRIVATE_H
#define SMTP_SERVER_PRIVATE_H

#include "smtp/smtp-command.h"
#include "smtp/smtp-data.h"
#include "smtp/smtp-server.h"

struct sasl_server;

enum smtp_server_state {
	SMTP_STATE_GREETING = 0,        /* connect hook not yet completed */
	SMTP_STATE_REFUSED,             /* 554 greeting: only QUIT (RFC 5321 3.1) */
	SMTP_STATE_READY,               /* greeted, waiting for HELO/EHLO */
	SMTP_STATE_IDLE,                /* HELO/EHLO accepted, no transaction */
	SMTP_STATE_MAIL,                /* MAIL accepted: RCPT, DATA, BDAT */
	SMTP_STATE_DATA,                /* reading the DATA stream */
	SMTP_STATE_BDAT,                /* reading a BDAT chunk */
	SMTP_STATE_AUTH,                /* AUTH: waiting for the client's response line */
	SMTP_STATE_CLOSED,              /* close requested, input ignored */
};

enum smtp_pending {
	SMTP_PENDING_NONE = 0,
	SMTP_PENDING_CONNECT,
	SMTP_PENDING_HELO,
	SMTP_PENDING_MAIL,
	SMTP_PENDING_RCPT,
	SMTP_PENDING_DATA_BEGIN,        /* for DATA (bdat_pending false) or BDAT */
	SMTP_PENDING_DATA_END,
	SMTP_PENDING_AUTH,              /* auth_lookup; completed by smtp_server_auth_* */
};

/* What a pending auth_lookup asks for, and how the glue answered. */
enum smtp_auth_answer {
	SMTP_AUTH_NEED_PASSWORD = 1,    /* -> smtp_server_auth_verified() */
	SMTP_AUTH_NEED_SECRET,          /* -> smtp_server_auth_secret() */
};

/* The glue's completion of a pending hook, whichever kind. */
struct smtp_server_completion {
	/* smtp_server_hook_done() */
	unsigned code;
	const char *enh, *text;
	/* smtp_server_auth_*() */
	bool auth_ok;                   /* verified: the password was right */
	bool auth_tempfail;
	const char *auth_secret;        /* secret: NULL for an unknown user */
};

struct smtp_server_session {
	struct smtp_server_settings set;        /* set.hostname points to hostname */
	char *hostname;
	struct smtp_server_hooks hooks;
	void *hook_ctx;
	struct smtp_server_io io;
	void *io_ctx;
	char *client_ip, *client_rdns;

	unsigned refcount;
	bool destroyed;         /* smtp_server_session_free() was called */
	bool freeing;
	bool processing;        /* inside session_process() */
	bool close_sent;        /* io.close was called */
	bool shutdown_requested;
	bool tls;
	char *tls_version, *tls_cipher;
	enum smtp_server_state state;
	enum smtp_pending pending;
	unsigned errors;

	struct buf input;
	struct smtp_command_reader reader;
	struct smtp_command_limits cmd_limits;

	char *helo;
	bool esmtp;

	/* what a pending hook is about */
	char *pending_helo;
	bool pending_ehlo;
	struct smtp_address pending_addr;
	struct smtp_server_mail_params pending_params;
	struct smtp_server_rcpt_params pending_rcpt_params;    /* orcpt owned */
	bool bdat_pending;              /* DATA_BEGIN is for a BDAT chunk */

	/* transaction */
	bool in_transaction;
	struct smtp_address mail_from;
	struct smtp_server_mail_params mail_params;
	struct smtp_address *rcpts;
	struct smtp_server_rcpt_params *rcpt_params;   /* parallel to rcpts */
	unsigned n_rcpts, rcpts_alloc;
	bool data_begun;                /* data_begin accepted for this transaction */
	bool bdat_used;                 /* a BDAT chunk was accepted */
	uint64_t msg_size;

	/* DATA */
	struct smtp_data_decoder *decoder;

	/* BDAT chunk being read */
	uint64_t bdat_remaining, bdat_chunk;
	bool bdat_last, bdat_discard, bdat_cr, bdat_bare;
	enum smtp_server_state bdat_return_state;
	/* reply for a discarded chunk, sent once it is consumed */
	unsigned bdat_err_code;
	char *bdat_err_enh, *bdat_err_text;
	bool bdat_err_reset;            /* and drop the transaction */

	/* AUTH */
	struct sasl_server *sasl;       /* the exchange under way */
	enum smtp_auth_answer auth_need; /* while pending == SMTP_PENDING_AUTH */
	bool auth_final;                /* server-final data sent: wait for an empty line */
	char *auth_mech, *auth_user;    /* after 235: mechanism and authcid */
	struct sasl_channel_binding *cb;        /* with copies of the data, or NULL */
};

/* smtp-server.c */
void smtp_server_ref(struct smtp_server_session *s);
void smtp_server_unref(struct smtp_server_session *s);
void smtp_server_close(struct smtp_server_session *s);
void smtp_server_call_hook(struct smtp_server_session *s, enum smtp_pending kind);
void smtp_server_reset_transaction(struct smtp_server_session *s, bool notify);
enum smtp_server_state smtp_server_idle_state(const struct smtp_server_session *s);
void smtp_server_data_write(struct smtp_server_session *s, const uint8_t *data, size_t len);
/* The channel-binding data, NULL when none. */
const struct sasl_channel_binding *smtp_server_channel_binding(const struct smtp_server_session *s);

/* smtp-server-cmd.c */
void smtp_server_cmd_line(struct smtp_server_session *s, const uint8_t *line, size_t len);
void smtp_server_cmd_complete(struct smtp_server_session *s, enum smtp_pending kind, unsigned code,
			 const char *enh, const char *text);

/* smtp-server-auth.c */
bool smtp_server_auth_check(struct smtp_server_session *s, struct smtp_command *cmd);
void smtp_server_auth_run(struct smtp_server_session *s, struct smtp_command *cmd);
/* A response line in SMTP_STATE_AUTH; too_long: it exceeded max_auth_line. */
void smtp_server_auth_line(struct smtp_server_session *s, const uint8_t *line, size_t len,
			   bool too_long);
/* The glue answered the pending auth_lookup (session open). */
void smtp_server_auth_complete(struct smtp_server_session *s,
			       const struct smtp_server_completion *c);
/* Free the SASL state (wiping it); no reply, no hook. */
void smtp_server_auth_abort(struct smtp_server_session *s);
/* STARTTLS: forget any authentication. */
void smtp_server_auth_reset(struct smtp_server_session *s);
/* Append "AUTH mech..." to the EHLO lines ("\nAUTH ..."), if any is offered now. */
void smtp_server_auth_ehlo(const struct smtp_server_session *s, struct buf *lines);
/* AUTH may be used now (offered in EHLO): auth_available, and TLS or
 * plaintext allowed. */
bool smtp_server_auth_offered(const struct smtp_server_session *s);

/* smtp-server-message.c */
void smtp_server_data_start(struct smtp_server_session *s);
bool smtp_server_data_step(struct smtp_server_session *s);
/* Read the chunk announced in bdat_chunk / bdat_last; discard: consume only. */
void smtp_server_bdat_start(struct smtp_server_session *s, bool discard);
/* Consume the chunk, then reply code/enh/text (and drop the transaction if reset). */
void smtp_server_bdat_refuse(struct smtp_server_session *s, unsigned code, const char *enh,
			const char *text, bool reset);
bool smtp_server_bdat_step(struct smtp_server_session *s);
void smtp_server_message_end_complete(struct smtp_server_session *s, unsigned code, const char *enh,
				 const char *text);
void smtp_server_message_free(struct smtp_server_session *s);

/* smtp-server-reply.c */
/* Write a reply; enh NULL for none (220 greeting, HELO/EHLO 250, 354); text
 * lines separated by '\n'. Nothing is written once closed or destroyed. */
void smtp_server_reply_write(struct smtp_server_session *s, unsigned code, const char *enh,
			     const char *text);
/* As reply_write; then a 421 closes the connection (RFC 5321 3.8), and a 4xx or
 * 5xx counts towards max_errors, the last one adding 421 4.7.0 and close. */
void smtp_server_reply(struct smtp_server_session *s, unsigned code, const char *enh,
		       const char *text);
/* As reply_write, then close (QUIT, 421, bare newline). Not counted. */
void smtp_server_reply_final(struct smtp_server_session *s, unsigned code, const char *enh,
			     const char *text);
/* "334 " and data in base64 (RFC 4954 4), not cut to 512 octets. */
void smtp_server_reply_challenge(struct smtp_server_session *s, const uint8_t *data, size_t len);
void smtp_server_reply_greeting(struct smtp_server_session *s, const char *text);
void smtp_server_reply_helo(struct smtp_server_session *s, bool ehlo, const char *text);
bool smtp_server_enhanced_code_valid(unsigned code, const char *enh);

#endif
