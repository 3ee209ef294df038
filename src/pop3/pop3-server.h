/*
 * pop3-server.h - the POP3 server protocol engine (RFC 1939, RFC 2449 CAPA,
 * RFC 2595 STLS, RFC 3206 response codes, RFC 5034 SASL), free of I/O.
 *
 * Does: the session state machine (AUTHORIZATION, TRANSACTION, UPDATE; RFC
 * 1939 3), command checks and replies, STLS and the authentication policy
 * that depends on TLS, the SASL exchanges (PLAIN, LOGIN, SCRAM-SHA-256,
 * SCRAM-SHA-256-PLUS through sasl/sasl-server.h: base64 framing, "+ "
 * challenges, "*" cancel), the deleted marks of the session, and the
 * byte-stuffed multi-line RETR/TOP responses. Input arrives through
 * pop3_server_session_input(); output leaves through struct pop3_server_io.
 * Pipelined commands (RFC 2449 6.6) are answered in order, each after the
 * previous one has completed.
 *
 * Does not: touch sockets, timers, TLS itself, files or the store. Every
 * decision that needs the world (check a password, fetch a SCRAM secret,
 * lock and load a maildrop, read a message, expunge, switch to TLS) goes
 * through struct pop3_server_hooks, which src/bin/ fills in. No logging: the
 * glue logs around the hooks. Not offered: APOP, LAST, AUTH EXTERNAL.
 *
 * Hooks are asynchronous except starttls. The engine calls a hook and reads
 * no further input until the glue calls the matching completion function.
 * The completion may be called from inside the hook itself (synchronous) or
 * later from the event loop. A session has at most one hook outstanding.
 *
 * Lifetime and re-entrancy: the glue may call pop3_server_session_free()
 * from anywhere, including from inside io->write, io->close and any hook.
 * The engine defers releasing memory until its own frames have returned and
 * makes no further io or hook calls for a freed session (except the one
 * disconnect call made by free itself). After free the glue must not call
 * any function with that session.
 *
 * Invariants: no more than max_input_buffer octets of unprocessed input and
 * one partial command line are held; RETR/TOP data is streamed, not buffered;
 * passwords and SASL payloads are wiped from engine memory after use; after
 * STLS nothing the client sent before the TLS switch is acted on.
 */
#ifndef POP3_POP3_SERVER_H
#define POP3_POP3_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sasl_channel_binding;

struct pop3_server_limits {
	/* Command line including CRLF (RFC 2449 4: at least 255). */
	size_t max_line;
	/* SASL continuation line including CRLF (RFC 5034 4 lifts the 255 limit). */
	size_t max_auth_line;
	/* Octets per command argument (RFC 2449 4: 40). */
	size_t max_arg;
	/* Unknown, malformed or out-of-state commands before "-ERR too many bad
	 * commands" and close. */
	unsigned max_bad_commands;
	/* Failed logins (USER/PASS or AUTH) before the session is closed. */
	unsigned max_auth_failures;
	/* Unprocessed input held while a hook is outstanding; also the most the
	 * glue may pass to one pop3_server_session_input() call. */
	size_t max_input_buffer;
};

/* Defaults: 255, 8192, 40, 20, 3, 65536. */
void pop3_server_limits_init_default(struct pop3_server_limits *limits);

struct pop3_server_settings {
	const char *hostname;       /* for the greeting and sign-off; copied */
	/* The glue's verdict that passwords may travel on this connection as it
	 * is now (e.g. loopback). A TLS session (STLS done, or
	 * pop3_server_session_set_tls(true)) allows them whatever this says.
	 * Without either, USER/PASS and the SASL mechanisms flagged
	 * SASL_MECH_PLAINTEXT answer "-ERR [AUTH] Plain-text authentication
	 * requires TLS" and CAPA does not offer them (RFC 5034 4). */
	bool allow_plaintext_auth;
	/* Offer STLS (RFC 2595 4): a certificate is configured. Needs
	 * hooks->starttls. */
	bool stls_available;
	struct pop3_server_limits limits;
};

struct pop3_server_io {
	/* Queue data for the client; the glue takes it all (copying it). */
	void (*write)(void *io_ctx, const uint8_t *data, size_t len);
	/* Close the connection after flushing what was written. Called once. */
	void (*close)(void *io_ctx);
};

struct pop3_message_info {
	/* Octets as RETR sends them, before byte-stuffing (RFC 1939 5 LIST). */
	uint64_t size;
	/* Unique id: 1-70 characters 0x21-0x7E, NUL-terminated (RFC 1939 7 UIDL). */
	char uidl[71];
};

/* Result of hooks->open_maildrop. */
enum pop3_login_result {
	POP3_LOGIN_OK,       /* maildrop locked and loaded */
	POP3_LOGIN_FAILED,   /* account gone since it authenticated: "-ERR [AUTH]", counted
				as a failed login like a wrong password */
	POP3_LOGIN_IN_USE,   /* maildrop locked by another session: "-ERR [IN-USE]" */
	POP3_LOGIN_TEMPFAIL, /* cannot load it now: "-ERR [SYS/TEMP]" */
};

struct pop3_server_session;

struct pop3_server_hooks {
	/*
	 * Authentication needs the world. mech is "USER" for USER/PASS, else
	 * the SASL mechanism's name ("PLAIN", "LOGIN", "SCRAM-SHA-256",
	 * "SCRAM-SHA-256-PLUS"); authcid is the authentication identity.
	 *  - password != NULL (USER/PASS, PLAIN, LOGIN): verify it, then call
	 *    pop3_server_auth_verified(session, ok).
	 *  - password == NULL (SCRAM): fetch the account's stored SCRAM-SHA-256
	 *    secret (sasl_scram_secret_make's format), then call
	 *    pop3_server_auth_secret(session, secret), with NULL for an unknown
	 *    user or one without a secret (the exchange then fails at its end,
	 *    like a wrong password: no user enumeration, RFC 5802 5.1).
	 * Either kind may end with pop3_server_auth_tempfail(session) instead.
	 * mech, authcid and password are valid only during the call: copy them
	 * if the work is deferred, and wipe the password copy. The engine has
	 * already refused any authorization identity other than authcid.
	 */
	void (*auth_lookup)(void *ctx, struct pop3_server_session *session, const char *mech,
			    const char *authcid, const char *password);
	/*
	 * Authentication succeeded: lock and load the maildrop of user (the
	 * authcid, valid only during the call), then call
	 * pop3_server_login_done().
	 */
	void (*open_maildrop)(void *ctx, struct pop3_server_session *session, const char *user);
	/*
	 * Send message `index` (0-based, as in the login list) through
	 * pop3_server_retrieve_data() calls and then pop3_server_retrieve_done().
	 * top_lines is -1 for RETR, else TOP's body line count; the glue may send
	 * the whole message either way (the engine cuts TOP's output).
	 */
	void (*retrieve)(void *ctx, struct pop3_server_session *session, unsigned index,
			 long top_lines);
	/*
	 * QUIT in TRANSACTION (RFC 1939 6): remove the messages deleted_indices
	 * [0..count) (0-based, ascending; count may be 0), then call
	 * pop3_server_update_done(). The array is valid only during the call.
	 * Never called for a dropped, timed-out or shut-down session.
	 */
	void (*update)(void *ctx, struct pop3_server_session *session,
		       const unsigned *deleted_indices, unsigned count);
	/*
	 * STLS accepted (RFC 2595 4). Synchronous, no completion: called right
	 * after "+OK Begin TLS negotiation" has been handed to io->write. The
	 * glue starts TLS on the connection after flushing that reply. The
	 * engine has already dropped every input octet it held after the STLS
	 * line and forgotten USER; everything the glue passes to
	 * pop3_server_session_input() from now on must have come through TLS,
	 * so the glue must drop any plain-text octets it read and has not yet
	 * passed. The engine now counts the session as TLS (set_tls(true)); set
	 * the channel binding once the handshake is done. Required when
	 * settings->stls_available; may free the session.
	 */
	void (*starttls)(void *ctx, struct pop3_server_session *session);
	/*
	 * An authentication attempt ended (for the log and failure accounting:
	 * a SCRAM failure is seen only here). Optional, synchronous. Called once
	 * per USER/PASS or AUTH attempt that got past the mechanism and
	 * plain-text checks, just before its final reply: ok when authenticated
	 * (open_maildrop follows, whose result is still open); otherwise before
	 * "-ERR [AUTH] Authentication failed", "-ERR [SYS/TEMP]", a cancel, bad
	 * base64 or a too long line. authcid is NULL when the client never sent
	 * one; reason (never secret) is for the log only, NULL on success. Not
	 * called when the session ends in the middle of an attempt. All strings
	 * valid only during the call.
	 */
	void (*auth_result)(void *ctx, struct pop3_server_session *session, const char *mech,
			    const char *authcid, bool ok, const char *reason);
	/*
	 * The session has ended (closed by the engine or freed by the glue):
	 * unlock the maildrop, cancel any outstanding hook work (its completion
	 * must then not be called). Called exactly once. May be NULL.
	 */
	void (*disconnect)(void *ctx, struct pop3_server_session *session);
};

/*
 * Create a session. settings (hostname copied), hooks and io are copied;
 * hook_ctx and io_ctx are passed back unchanged. client_ip is copied (for
 * pop3_server_session_client_ip()). auth_lookup, open_maildrop, retrieve and
 * update are required, starttls too when settings->stls_available.
 * Never returns NULL. Nothing is written until pop3_server_session_start().
 */
struct pop3_server_session *
pop3_server_session_new(const struct pop3_server_settings *settings,
			const struct pop3_server_hooks *hooks, void *hook_ctx,
			const struct pop3_server_io *io, void *io_ctx, const char *client_ip);

/* Write the greeting "+OK <hostname> POP3 server ready" (RFC 1939 4). Once. */
void pop3_server_session_start(struct pop3_server_session *s);

/*
 * Client bytes, any split. Processes every complete command that can run
 * now, in order. Pass at most limits.max_input_buffer octets per call; input
 * beyond what the engine can hold ends the session ("-ERR input buffer
 * full"). Ignored after the session has closed.
 */
void pop3_server_session_input(struct pop3_server_session *s, const uint8_t *data, size_t len);

/* True when the glue should read from the client: not closed and no hook
 * outstanding. While false, leave the bytes in the socket (backpressure). */
bool pop3_server_session_wants_input(const struct pop3_server_session *s);

/* True once the engine has called io->close (or decided to). */
bool pop3_server_session_is_closed(const struct pop3_server_session *s);

/*
 * The client was idle too long (RFC 1939 3 autologout): "-ERR autologout
 * timer expired" and close, without UPDATE. If a hook is outstanding this
 * happens after it completes.
 */
void pop3_server_session_timeout(struct pop3_server_session *s);

/*
 * The server is stopping: "-ERR [SYS/TEMP] server shutting down" and close,
 * without UPDATE; after an outstanding hook completes (an UPDATE in progress
 * finishes and answers normally).
 */
void pop3_server_session_shutdown(struct pop3_server_session *s);

/*
 * End the session and free it (see "Lifetime" above); *s is set to NULL.
 * Calls hooks->disconnect if it was not called yet. Never calls update: a
 * session freed without QUIT deletes nothing (RFC 1939 6). NULL is a no-op.
 */
void pop3_server_session_free(struct pop3_server_session **s);

/* Completion of hooks->auth_lookup for a password: ok = it is right. */
void pop3_server_auth_verified(struct pop3_server_session *s, bool ok);

/* Completion of hooks->auth_lookup for a SCRAM secret: the stored secret
 * (copied; wipe yours), or NULL when the user is unknown or has none. */
void pop3_server_auth_secret(struct pop3_server_session *s, const char *secret);

/* Completion of hooks->auth_lookup, either kind: cannot check now. The
 * client gets "-ERR [SYS/TEMP]" and may try again (not a failed login). */
void pop3_server_auth_tempfail(struct pop3_server_session *s);

/* Completion of hooks->open_maildrop. msgs[0..count) is copied; each uidl
 * must be valid (see struct pop3_message_info) or the engine panics. msgs is
 * only read for POP3_LOGIN_OK and may be NULL when count is 0. */
void pop3_server_login_done(struct pop3_server_session *s, enum pop3_login_result result,
			    const struct pop3_message_info *msgs, unsigned count);

/* Part of the message for hooks->retrieve, in order, any split. The message
 * uses CRLF line ends; the engine byte-stuffs and copies what it needs. */
void pop3_server_retrieve_data(struct pop3_server_session *s, const uint8_t *data, size_t len);

/*
 * End of hooks->retrieve. ok: the engine completes the response (adding
 * CRLF if the message did not end with one, then ".", RFC 1939 3). Not ok
 * before any data: "-ERR [SYS/TEMP]"; not ok after data: the response cannot
 * be finished, so the session is closed without the terminating line.
 */
void pop3_server_retrieve_done(struct pop3_server_session *s, bool ok);

/* End of hooks->update: "+OK" (or "-ERR [SYS/TEMP] some deleted messages not
 * removed") and close. */
void pop3_server_update_done(struct pop3_server_session *s, bool ok);

/*
 * The connection is (true) or is not TLS. For implicit TLS (port 995, RFC
 * 8314 3.1) call it with true after _new and before _start; STLS sets it by
 * itself. While true, STLS is refused and plain-text mechanisms are allowed
 * whatever settings->allow_plaintext_auth said.
 */
void pop3_server_session_set_tls(struct pop3_server_session *s, bool tls);
bool pop3_server_session_is_tls(const struct pop3_server_session *s);

/*
 * Channel binding data of the TLS connection (RFC 5056; see
 * sasl/sasl-server.h), copied; NULL (or no data in it) clears it. Set it
 * once the handshake is done. SCRAM-SHA-256-PLUS is offered only while some
 * is set; exchanges started from then on use it.
 */
void pop3_server_session_set_channel_binding(struct pop3_server_session *s,
					     const struct sasl_channel_binding *cb);

/* The client's address as given to _new; valid for the session's lifetime. */
const char *pop3_server_session_client_ip(const struct pop3_server_session *s);

/* The logged-in user, or NULL before a successful login. */
const char *pop3_server_session_user(const struct pop3_server_session *s);

#endif
