/*
 * smtp-client.h - the SMTP client protocol engine (RFC 5321) for one
 * outbound connection, without I/O.
 *
 * What it does: speaks SMTP to one server on behalf of the queue. The glue
 * (src/bin/) connects the socket, feeds the server's bytes to
 * smtp_client_input() and writes what the engine gives io->write. The engine
 * reads the greeting, sends EHLO (HELO when EHLO gets 5xx), reads the
 * extensions, runs STARTTLS (RFC 3207) by asking the glue to do the handshake
 * (starttls hook, then smtp_client_tls_done()), sends EHLO again, logs in
 * with AUTH PLAIN or LOGIN (RFC 4954) when credentials are set, and then
 * reports the connection ready. The caller then hands it messages one at a
 * time (smtp_client_send_message()): MAIL FROM with SIZE (RFC 1870),
 * BODY=8BITMIME (RFC 6152), SMTPUTF8 (RFC 6531), RET/ENVID (RFC 3461) when
 * offered; RCPT TO for each recipient with NOTIFY/ORCPT when DSN is offered;
 * DATA with dot-stuffing, or BDAT (RFC 3030 CHUNKING) when offered; as one
 * PIPELINING group (RFC 2920) when offered. The body is pulled from the
 * caller in chunks (body_read hook, smtp_client_body_data()) and passes
 * through smtp-dotstuff.h: CRLF line ends only, long lines broken, no lone
 * CR or LF ever sent. Every recipient gets a result: accepted (2xx),
 * temporary (4xx) or permanent (5xx) failure, with code, enhanced code and
 * sanitised text. After a message the connection may take another one (RSET
 * first when a transaction was left open), or be closed with QUIT.
 *
 * What it does not do: sockets, timers, TLS itself, DNS or MX choice, the
 * queue, retry policy, DSN composition or logging. It never decides whether
 * to try another host: it reports, the scheduler decides.
 *
 * Timers (RFC 5321 4.5.3.2): the engine says through io->timer() how many
 * seconds the glue's timer must run from now whenever it starts waiting for
 * something new (a reply, or the output to drain during the body), and 0
 * when nothing is awaited from the network (ready and idle, waiting for the
 * glue). When the timer fires the glue calls smtp_client_timeout().
 *
 * Failures. Every reply belongs to a command; a connection-level failure
 * (timeout, drop, malformed reply, 421, a TLS or AUTH requirement not met)
 * ends the connection: recipients of a message under way that have no final
 * result yet get a temporary local failure, message_done reports them, and
 * closed reports why the connection ended. Nothing is retried here.
 *
 * Re-entrancy: any hook or io callback may call any entry point, including
 * smtp_client_free(); the engine holds a reference while it runs and, once
 * freed, calls no hook or io callback any more. Body chunks given from inside
 * body_read are taken in a loop, not by recursion.
 */
#ifndef SMTP_CLIENT_H
#define SMTP_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "smtp/smtp-reply.h"

struct smtp_client;

enum smtp_client_tls_policy {
	SMTP_CLIENT_TLS_NONE = 0,       /* never STARTTLS */
	SMTP_CLIENT_TLS_OPPORTUNISTIC,  /* STARTTLS when offered, else plain text */
	SMTP_CLIENT_TLS_REQUIRED,       /* no STARTTLS offered or refused: 4.7.4, close */
};

/* RFC 5321 4.5.3.2 timeouts, seconds. */
struct smtp_client_timeouts {
	unsigned greeting;      /* 300: initial 220 */
	unsigned command;       /* 300: EHLO, HELO, STARTTLS, AUTH, RSET */
	unsigned mail;          /* 300 */
	unsigned rcpt;          /* 300 */
	unsigned data_init;     /* 120: the 354 to DATA */
	unsigned data_block;    /* 180: each body chunk (output to drain, BDAT replies) */
	unsigned data_final;    /* 600: the reply to the end of data / BDAT LAST */
	unsigned quit;          /* 300 */
};

#define SMTP_CLIENT_DEFAULT_MAX_OUTPUT (256 * 1024)
/* Reply text kept per result after sanitising */
#define SMTP_CLIENT_DEFAULT_MAX_TEXT 1024

struct smtp_client_settings {
	const char *helo_name;          /* our name for EHLO/HELO; required */
	enum smtp_client_tls_policy tls;
	/* Implicit TLS (RFC 8314) already runs under the connection: no
	 * STARTTLS, AUTH allowed. */
	bool tls_active;
	/* Relay credentials; NULL user: no AUTH. PLAIN is used when offered,
	 * else LOGIN. Without TLS they are sent only with auth_plaintext_allowed;
	 * otherwise, and when the server offers neither mechanism, the connection
	 * fails 4.7.0 (temporary: a relay host that needs AUTH would refuse the
	 * mail anyway). Copied; the password copy is wiped on free. */
	const char *auth_user, *auth_password;
	bool auth_plaintext_allowed;
	bool no_pipelining;             /* do not use PIPELINING even when offered */
	bool no_chunking;               /* do not use BDAT even when offered */
	size_t max_output;              /* with io->out_pending: stop pulling body above
					   this; 0 = SMTP_CLIENT_DEFAULT_MAX_OUTPUT */
	size_t max_line;                /* body lines are broken above this (998; 0 = default) */
	struct smtp_reply_limits reply_limits;
	struct smtp_client_timeouts timeouts;
};

/* Defaults: RFC timeouts, reply limits, opportunistic TLS. helo_name stays NULL. */
void smtp_client_settings_init_default(struct smtp_client_settings *set);

/* EHLO keywords we understand (smtp_client_get_extensions()). */
enum smtp_client_ext {
	SMTP_CLIENT_EXT_PIPELINING = 0x0001,    /* RFC 2920 */
	SMTP_CLIENT_EXT_SIZE = 0x0002,          /* RFC 1870 */
	SMTP_CLIENT_EXT_8BITMIME = 0x0004,      /* RFC 6152 */
	SMTP_CLIENT_EXT_SMTPUTF8 = 0x0008,      /* RFC 6531 */
	SMTP_CLIENT_EXT_CHUNKING = 0x0010,      /* RFC 3030 */
	SMTP_CLIENT_EXT_DSN = 0x0020,           /* RFC 3461 */
	SMTP_CLIENT_EXT_STARTTLS = 0x0040,      /* RFC 3207 */
	SMTP_CLIENT_EXT_AUTH = 0x0080,          /* RFC 4954 */
	SMTP_CLIENT_EXT_ENHANCEDSTATUSCODES = 0x0100, /* RFC 2034 */
	SMTP_CLIENT_EXT_REQUIRETLS = 0x0200,    /* RFC 8689 */
	SMTP_CLIENT_EXT_AUTH_PLAIN = 0x0400,    /* AUTH lists PLAIN */
	SMTP_CLIENT_EXT_AUTH_LOGIN = 0x0800,    /* AUTH lists LOGIN */
};

/* RFC 3461 4.1 NOTIFY; 0 = parameter not sent. NEVER excludes the others. */
enum smtp_client_notify {
	SMTP_CLIENT_NOTIFY_SUCCESS = 0x01,
	SMTP_CLIENT_NOTIFY_FAILURE = 0x02,
	SMTP_CLIENT_NOTIFY_DELAY = 0x04,
	SMTP_CLIENT_NOTIFY_NEVER = 0x08,
};

enum smtp_client_ret {
	SMTP_CLIENT_RET_NONE = 0,
	SMTP_CLIENT_RET_FULL,
	SMTP_CLIENT_RET_HDRS,
};

struct smtp_client_rcpt {
	const char *address;    /* mailbox without brackets: local@domain */
	unsigned notify;        /* enum smtp_client_notify flags; sent only with DSN */
	/* ORCPT (RFC 3461 4.2) as "addr-type;address", e.g. "rfc822;a@b", not
	 * xtext-encoded (the engine encodes it), or NULL. Sent only with DSN and
	 * only when all US-ASCII. */
	const char *orcpt;
};

/* One message. Everything is read during smtp_client_send_message() only. */
struct smtp_client_message {
	const char *sender;     /* reverse path without brackets; "" = null path */
	const struct smtp_client_rcpt *rcpts;
	unsigned n_rcpts;       /* >= 1 */
	uint64_t size;          /* for SIZE= (RFC 1870 4: an estimate); 0 = unknown */
	bool eightbit;          /* body has 8-bit octets: BODY=8BITMIME needed */
	bool smtputf8;          /* envelope or headers need SMTPUTF8 (RFC 6531) */
	enum smtp_client_ret ret;       /* RET= with DSN */
	const char *envid;      /* ENVID= with DSN (not yet xtext), or NULL */
	bool requiretls;        /* REQUIRETLS (RFC 8689): only over TLS to a host
				 * offering it; else failed locally with 5.7.30 (the
				 * caller should have tried another host first) */
};

enum smtp_client_status {
	SMTP_CLIENT_STATUS_NONE = 0,    /* no result (yet) */
	SMTP_CLIENT_STATUS_OK,          /* 2xx: accepted, final */
	SMTP_CLIENT_STATUS_TEMPFAIL,    /* 4xx or local temporary failure: retry later */
	SMTP_CLIENT_STATUS_PERMFAIL,    /* 5xx or local permanent failure: bounce */
};

/* Where the result came from (for logs: "in reply to RCPT TO command"). */
enum smtp_client_stage {
	SMTP_CLIENT_STAGE_GREETING = 0,
	SMTP_CLIENT_STAGE_HELO,
	SMTP_CLIENT_STAGE_STARTTLS,
	SMTP_CLIENT_STAGE_AUTH,
	SMTP_CLIENT_STAGE_MAIL,
	SMTP_CLIENT_STAGE_RCPT,
	SMTP_CLIENT_STAGE_DATA,         /* the DATA command (354 expected) */
	SMTP_CLIENT_STAGE_BODY,         /* sending the message content */
	SMTP_CLIENT_STAGE_DATA_END,     /* the reply to end of data / BDAT */
	SMTP_CLIENT_STAGE_RSET,
	SMTP_CLIENT_STAGE_QUIT,
	SMTP_CLIENT_STAGE_IDLE,         /* between messages */
};

/* "RCPT TO", "end of DATA", ... as Postfix words it after "in reply to". */
const char *smtp_client_stage_name(enum smtp_client_stage stage);

struct smtp_client_result {
	enum smtp_client_status status;
	/* The server's reply code, or 0 for a local result (no reply: timeout,
	 * lost connection, a check made before sending). */
	unsigned code;
	/* RFC 3463 code: the server's, or "2.0.0"/"4.0.0"/"5.0.0" by class when it
	 * sent none, or ours for a local result. */
	char enhanced[SMTP_REPLY_ENHANCED_MAX];
	/* Sanitised text (smtp_reply_sanitize), owned by the engine; for a
	 * message result valid until the next smtp_client_send_message() or
	 * free, for the connection result until free. */
	const char *text;
	bool local;
	enum smtp_client_stage stage;
};

struct smtp_client_io {
	/* Queue bytes for the server. Must not call smtp_client_input(). */
	void (*write)(void *io_ctx, const uint8_t *data, size_t len);
	/* Close once output is flushed. Called once. The glue may free the
	 * client from here. */
	void (*close)(void *io_ctx);
	/* (Re)start the stage timer: seconds from now, 0 = stop it. */
	void (*timer)(void *io_ctx, unsigned seconds);
	/* Optional: bytes written but not yet sent. With it the body is pulled
	 * only while this is below max_output, and the glue calls
	 * smtp_client_output_drained() when it falls; NULL: pull at once. */
	size_t (*out_pending)(void *io_ctx);
};

struct smtp_client_hooks {
	/* The connection can take a message: call smtp_client_send_message() or
	 * smtp_client_quit(), from here or later. Called after the greeting
	 * dialogue and after each message that leaves the connection usable. */
	void (*ready)(struct smtp_client *c, void *ctx);
	/* STARTTLS got 220: flush the output, run the TLS handshake on the
	 * connection, then call smtp_client_tls_done(). Plain-text input the glue
	 * holds must be thrown away, never passed (RFC 3207 4.2). Required unless
	 * the tls policy is NONE. */
	void (*starttls)(struct smtp_client *c, void *ctx);
	/* More message content is wanted: answer with smtp_client_body_data(),
	 * from here or later. Required. */
	void (*body_read)(struct smtp_client *c, void *ctx);
	/* The message is over: results[i] is the result for message->rcpts[i]
	 * (status never NONE). Valid during the call (and until the next
	 * send_message). An unanswered body_read request is cancelled. */
	void (*message_done)(struct smtp_client *c, void *ctx,
			     const struct smtp_client_result *results, unsigned n_results);
	/* The connection is over, after io->close: result status OK after QUIT,
	 * else why it failed (stage says where). Called once. */
	void (*closed)(struct smtp_client *c, void *ctx, const struct smtp_client_result *result);
};

/* Create. settings (strings too), hooks and io are copied. Nothing is
 * written until smtp_client_start(). */
struct smtp_client *smtp_client_new(const struct smtp_client_settings *settings,
				    const struct smtp_client_hooks *hooks, void *hook_ctx,
				    const struct smtp_client_io *io, void *io_ctx);

/* The TCP (or implicit TLS) connection is up: wait for the greeting. Once. */
void smtp_client_start(struct smtp_client *c);

/* Bytes from the server, processed at once (the engine holds at most one
 * partial reply). Ignored after close. Not from inside a hook or io call. */
void smtp_client_input(struct smtp_client *c, const uint8_t *data, size_t len);

/* The server closed the connection or it broke (reason for the log, may be
 * NULL). A drop after QUIT is the normal end. */
void smtp_client_disconnected(struct smtp_client *c, const char *reason);

/* The timer given to io->timer() fired. */
void smtp_client_timeout(struct smtp_client *c);

/* The TLS handshake the starttls hook asked for is done (ok) or failed. On
 * success EHLO is sent again (RFC 3207 4.2: what the server said before TLS
 * is forgotten). On failure the connection ends: closed reports TEMPFAIL,
 * local, stage STARTTLS, 4.7.5; with opportunistic TLS the scheduler may try
 * the host again without TLS, as Postfix does. */
void smtp_client_tls_done(struct smtp_client *c, bool ok);

/*
 * Send a message: only after ready, and once per ready. The message, its
 * strings and recipients are read during this call only. Local checks come
 * first and may end the message at once (message_done from inside this call):
 * an invalid sender (5.1.7) fails all recipients; an invalid address (5.1.3)
 * fails that recipient; a message larger than the server's SIZE (5.3.4);
 * 8-bit without 8BITMIME (5.6.3); SMTPUTF8 not offered (5.6.7). All
 * permanent.
 */
void smtp_client_send_message(struct smtp_client *c, const struct smtp_client_message *msg);

/*
 * Content for the body_read hook's request: len octets (copied before
 * return), last when this is the end of the message (len may be 0). Give
 * the message as stored; line ends are fixed and dots stuffed here. A call
 * with no request pending (the message or connection ended meanwhile) is
 * ignored.
 */
void smtp_client_body_data(struct smtp_client *c, const uint8_t *data, size_t len, bool last);

/* The output fell below max_output (see io->out_pending). */
void smtp_client_output_drained(struct smtp_client *c);

/* Send QUIT and close after its reply (or at once if the connection is not
 * usable). Allowed after ready instead of a message, and at any other time
 * (then any message under way ends with temporary failures). */
void smtp_client_quit(struct smtp_client *c);

/* Free without any hook call. Safe from inside any hook or io callback. */
void smtp_client_free(struct smtp_client **cp);

/* ---- accessors ---- */

/* enum smtp_client_ext flags of the last EHLO (0 after HELO). */
unsigned smtp_client_get_extensions(const struct smtp_client *c);
/* SIZE's value (0: none given or unlimited). */
uint64_t smtp_client_get_size_limit(const struct smtp_client *c);
bool smtp_client_is_tls(const struct smtp_client *c);
bool smtp_client_is_authenticated(const struct smtp_client *c);
/* Seconds the current wait may take (what io->timer was last told). */
unsigned smtp_client_get_timeout(const struct smtp_client *c);
/* Statistics of the last finished message (set just before message_done):
 * content octets sent (end of data included), long lines broken. */
uint64_t smtp_client_get_body_bytes(const struct smtp_client *c);
uint64_t smtp_client_get_lines_broken(const struct smtp_client *c);

#endif
