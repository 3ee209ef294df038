/*
 * smtp-client-private.h - the client struct and the calls between the
 * engine's files. Not for the glue: it uses smtp-client.h only.
 *
 *   smtp-client.c          lifecycle, input, reply dispatch, greeting, EHLO,
 *                          STARTTLS, AUTH, RSET, QUIT, connection failures
 *   smtp-client-message.c  one transaction: checks, MAIL/RCPT/DATA/BDAT,
 *                          body streaming, per-recipient results
 *
 * Invariants:
 *  - every command written has exactly one entry in the expect queue, in
 *    order; each reply pops the head (RFC 2920 3.1: replies come in order);
 *  - msg.active <=> state == CLIENT_ST_MESSAGE, or the connection failed
 *    inside a message and message_done is about to be called;
 *  - a recipient's result status stays NONE until it is final (refused by
 *    RCPT, or the reply to the end of data, or a failure);
 *  - after state CLOSED nothing is written and no hook but closed (once) and
 *    a pending message_done is called.
 */
#ifndef SMTP_CLIENT_PRIVATE_H
#define SMTP_CLIENT_PRIVATE_H

#include "core/buf.h"
#include "smtp/smtp-client.h"
#include "smtp/smtp-dotstuff.h"
#include "smtp/smtp-reply.h"

enum client_state {
	CLIENT_ST_INIT = 0,
	CLIENT_ST_GREETING,
	CLIENT_ST_EHLO,         /* EHLO or HELO sent */
	CLIENT_ST_STARTTLS,     /* STARTTLS sent */
	CLIENT_ST_TLS,          /* handshake under way in the glue */
	CLIENT_ST_AUTH,
	CLIENT_ST_READY,        /* waiting for the caller */
	CLIENT_ST_MESSAGE,
	CLIENT_ST_RSET,
	CLIENT_ST_QUIT,
	CLIENT_ST_CLOSED,
};

enum client_expect {
	CLIENT_EX_GREETING = 0,
	CLIENT_EX_EHLO,
	CLIENT_EX_HELO,
	CLIENT_EX_STARTTLS,
	CLIENT_EX_AUTH,
	CLIENT_EX_MAIL,
	CLIENT_EX_RCPT,
	CLIENT_EX_DATA,
	CLIENT_EX_DATA_END,
	CLIENT_EX_DOT_DISCARD,  /* "." sent after a 354 with no recipient accepted */
	CLIENT_EX_BDAT,
	CLIENT_EX_BDAT_LAST,
	CLIENT_EX_RSET,
	CLIENT_EX_QUIT,
};

struct client_expect_entry {
	enum client_expect kind;
	unsigned idx;           /* recipient for RCPT */
};

enum client_msg_phase {
	CLIENT_PH_ENVELOPE = 0, /* MAIL/RCPT (and pipelined DATA) under way */
	CLIENT_PH_DATA,         /* DATA sent alone, 354 awaited */
	CLIENT_PH_BODY,         /* content being pulled and sent */
	CLIENT_PH_END,          /* nothing more to send: finish when replies are in */
};

struct client_msg {
	bool active;
	enum client_msg_phase phase;
	unsigned n_rcpts;
	struct smtp_client_result *results;
	char **texts;           /* owned texts of results */
	char **addrs;           /* canonical recipient addresses; NULL = invalid */
	char **params;          /* RCPT parameters (" NOTIFY=..."), or NULL */
	bool *accepted;         /* RCPT got 2xx */
	unsigned n_accepted;
	unsigned next_rcpt;     /* without pipelining: next RCPT to send */
	bool pipelining, bdat;
	bool failed;            /* the transaction failed as a whole */
	bool server_txn;        /* MAIL accepted and no end of data reply yet */
	bool data_sent;
	/* body */
	struct smtp_dotstuff enc;
	bool body_requested;    /* body_read called, no answer yet */
	bool in_body_read;
	bool body_done;         /* last chunk given */
	bool wait_drain;
	bool wait_bdat;         /* without pipelining: BDAT reply awaited */
	struct buf chunk;
};

struct smtp_client {
	struct smtp_client_settings set;
	char *helo_name, *auth_user, *auth_password;
	struct smtp_client_hooks hooks;
	void *hook_ctx;
	struct smtp_client_io io;
	void *io_ctx;

	unsigned refcount;
	bool destroyed;
	enum client_state state;
	struct smtp_reply_parser parser;
	struct client_expect_entry *expect;
	size_t expect_head, expect_len, expect_alloc;
	unsigned timeout;

	/* session */
	bool tls, starttls_refused, authenticated, esmtp;
	unsigned ext;
	uint64_t size_limit;
	unsigned auth_step;
	bool auth_login;

	struct client_msg msg;
	uint64_t body_bytes, lines_broken;

	struct smtp_client_result conn_result;
	char *conn_text;
	struct buf out;         /* scratch for building commands and content */
};

/* smtp-client.c */
void smtp_client_ref(struct smtp_client *c);
void smtp_client_unref(struct smtp_client *c);
void smtp_client_write(struct smtp_client *c, const void *data, size_t len);
void smtp_client_set_timer(struct smtp_client *c, unsigned seconds);
/* Write a command line (CRLF added) and expect its reply. */
void smtp_client_command(struct smtp_client *c, const char *line, enum client_expect kind,
			 unsigned idx);
/* Queue an expected reply (after writing its command). */
void smtp_client_expect_push(struct smtp_client *c, enum client_expect kind, unsigned idx);
bool smtp_client_expecting(const struct smtp_client *c);
unsigned smtp_client_timeout_for(const struct smtp_client *c, enum client_expect kind);
enum smtp_client_stage smtp_client_stage_for(enum client_expect kind);
/* Fill a result from a reply (status by class, default enhanced code). */
void smtp_client_result_from_reply(struct smtp_client_result *res, char **text_r,
				   const struct smtp_reply *reply, enum smtp_client_stage stage);
void smtp_client_result_local(struct smtp_client_result *res, char **text_r,
			      enum smtp_client_status status, const char *enhanced,
			      const char *text, enum smtp_client_stage stage);
/* The connection failed: undecided recipients get res (as TEMPFAIL), the
 * message (if any) ends, QUIT is written when quit, then close and closed. */
void smtp_client_fail(struct smtp_client *c, const struct smtp_client_result *res, bool quit);
void smtp_client_fail_local(struct smtp_client *c, enum smtp_client_status status,
			    const char *enhanced, const char *text, enum smtp_client_stage stage,
			    bool quit);
/* Idle and usable: call ready. */
void smtp_client_become_ready(struct smtp_client *c);

/* smtp-client-message.c */
/* A reply to a transaction command (MAIL..BDAT_LAST). */
void smtp_client_msg_reply(struct smtp_client *c, enum client_expect kind, unsigned idx,
			   const struct smtp_reply *reply);
/* Undecided recipients get res with status TEMPFAIL; the message ends
 * (message_done) without any further command. */
void smtp_client_msg_abort(struct smtp_client *c, const struct smtp_client_result *res);
/* Free the message's memory. */
void smtp_client_msg_clear(struct smtp_client *c);
/* Where the message is, for a failure's stage. */
enum smtp_client_stage smtp_client_msg_stage(const struct smtp_client *c);

#endif
