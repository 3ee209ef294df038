/*
 * pop3-server-private.h - what the pop3-server-*.c files share; not for
 * other folders.
 *
 * pop3-server.c       session lifecycle, input loop, output, close, re-entrancy
 * pop3-server-cmd.c   command table, TRANSACTION commands, CAPA, QUIT/UPDATE
 * pop3-server-tls.c   STLS, TLS state, channel binding, plain-text policy
 * pop3-server-auth.c  USER, PASS, the auth hooks' completions, login completion
 * pop3-server-sasl.c  AUTH: mechanism choice and the SASL exchange
 * pop3-server-retr.c  RETR/TOP streaming with byte-stuffing
 *
 * Invariants: at most one hook outstanding (pending != NONE); while one is,
 * no input line is processed. Every public entry point holds a reference
 * (refcount) for its duration, so a free from inside a callback only marks
 * the session and the last entry point to return releases the memory. After
 * any io or hook call, code re-checks pop3_server_dead() before going on.
 * A completion that starts the next hook itself (auth -> open_maildrop)
 * holds the input loop off (pop3_server_hold) until it is done, so the loop
 * never runs inside a glue's hook frame.
 */
#ifndef POP3_POP3_SERVER_PRIVATE_H
#define POP3_POP3_SERVER_PRIVATE_H

#include "pop3/pop3-command.h"
#include "pop3/pop3-server.h"

#include "core/buf.h"
#include "sasl/sasl-server.h"

/* RFC 1939 3. UPDATE is entered by QUIT in TRANSACTION only. */
enum pop3_server_state {
	POP3_STATE_AUTHORIZATION,
	POP3_STATE_TRANSACTION,
	POP3_STATE_UPDATE,
};

enum pop3_server_pending {
	POP3_PENDING_NONE,
	POP3_PENDING_AUTH_PASSWORD, /* auth_lookup with a password */
	POP3_PENDING_AUTH_SECRET,   /* auth_lookup for a SCRAM secret */
	POP3_PENDING_MAILDROP,      /* open_maildrop */
	POP3_PENDING_RETRIEVE,
	POP3_PENDING_UPDATE,
};

/* Output is handed to io->write once this much has collected. */
#define POP3_SERVER_OUT_FLUSH 4096

/* Streaming state of one RETR/TOP response; see pop3-server-retr.c. */
struct pop3_server_retr {
	unsigned index;
	long top_lines;     /* -1 = RETR */
	long lines_left;    /* TOP body lines still to send */
	bool started;       /* "+OK" written */
	bool at_line_start; /* next byte starts a line (byte-stuffing point) */
	bool line_empty;    /* current line so far holds only CRs */
	bool in_body;       /* TOP: the header's blank line has been sent */
	bool discard;       /* TOP: enough sent; drop the rest */
	uint8_t last;       /* last octet sent (meaningful when !at_line_start) */
};

struct pop3_server_session {
	char *hostname;
	char *client_ip;
	bool allow_plaintext_auth;
	bool stls_available;
	bool tls;               /* implicit TLS, or STLS accepted */
	bool have_cb;           /* cb holds channel-binding data */
	struct sasl_channel_binding cb; /* points at cb_exporter / cb_endpoint */
	uint8_t *cb_exporter, *cb_endpoint;
	struct pop3_server_limits limits;
	struct pop3_server_hooks hooks;
	void *hook_ctx;
	struct pop3_server_io io;
	void *io_ctx;

	enum pop3_server_state state;
	enum pop3_server_pending pending;
	struct pop3_command_limits cmd_limits;
	struct pop3_line_reader reader;
	struct buf in;          /* input not yet given to the reader (max_input_buffer) */
	struct buf out;         /* replies not yet written; flushed at POP3_SERVER_OUT_FLUSH */

	char *user;             /* USER argument; after login the logged-in user */
	char *login_user;       /* authenticated user whose maildrop is being opened */
	char *pass_user;        /* USER/PASS: user of the outstanding auth_lookup */
	struct sasl_server *sasl; /* AUTH exchange in progress, else NULL */
	bool sasl_continue;     /* next line is a SASL response (RFC 5034 4) */
	bool sasl_final;        /* that response answers the server-final data */
	unsigned bad_commands;
	unsigned auth_failures;

	struct pop3_message_info *msgs;
	bool *deleted;
	unsigned msg_count;
	struct pop3_server_retr retr;

	const char *close_reply; /* timeout/shutdown waiting for the pending hook */
	unsigned refcount;
	bool started;
	bool processing;        /* inside the input loop (completions must not re-enter it) */
	bool closed;            /* io->close called or being called: no more output */
	bool ended;             /* hooks->disconnect called */
	bool free_requested;
};

/* pop3-server.c */
bool pop3_server_dead(const struct pop3_server_session *s);
void pop3_server_write(struct pop3_server_session *s, const void *data, size_t len);
void pop3_server_reply(struct pop3_server_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void pop3_server_flush(struct pop3_server_session *s);
void pop3_server_close(struct pop3_server_session *s);
void pop3_server_bad_command(struct pop3_server_session *s, const char *error);
void pop3_server_ref(struct pop3_server_session *s);
void pop3_server_unref(struct pop3_server_session *s);
void pop3_server_resume(struct pop3_server_session *s);
bool pop3_server_hold(struct pop3_server_session *s);
void pop3_server_release(struct pop3_server_session *s, bool was_held);
void pop3_server_wipe_buf(struct buf *b);
void pop3_server_discard_input(struct pop3_server_session *s);

/* pop3-server-cmd.c */
void pop3_server_command_line(struct pop3_server_session *s, char *line, size_t len);

/* pop3-server-tls.c */
bool pop3_server_plaintext_ok(const struct pop3_server_session *s);
bool pop3_server_mech_offered(const struct pop3_server_session *s,
			      const struct sasl_mech_info *mech);
void pop3_server_cmd_stls(struct pop3_server_session *s, struct pop3_command *cmd);
void pop3_server_tls_free(struct pop3_server_session *s);

/* pop3-server-auth.c */
bool pop3_server_plaintext_allowed(struct pop3_server_session *s);
void pop3_server_cmd_user(struct pop3_server_session *s, struct pop3_command *cmd);
void pop3_server_cmd_pass(struct pop3_server_session *s, struct pop3_command *cmd);
void pop3_server_login_failed(struct pop3_server_session *s);
void pop3_server_auth_report(struct pop3_server_session *s, const char *mech,
			     const char *authcid, bool ok, const char *reason);
void pop3_server_auth_lookup(struct pop3_server_session *s, bool secret, const char *mech,
			     const char *authcid, const char *password);
void pop3_server_open_maildrop(struct pop3_server_session *s, const char *user);

/* pop3-server-sasl.c */
void pop3_server_cmd_auth(struct pop3_server_session *s, struct pop3_command *cmd);
void pop3_server_sasl_line(struct pop3_server_session *s, char *line, size_t len);
void pop3_server_sasl_abort(struct pop3_server_session *s);
void pop3_server_sasl_fail(struct pop3_server_session *s, const char *reason);
void pop3_server_sasl_continue(struct pop3_server_session *s);

/* pop3-server-retr.c */
void pop3_server_retr_start(struct pop3_server_session *s, unsigned index, long top_lines);

#endif
