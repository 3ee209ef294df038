/*
 * pop3-server.h - the POP3 server protocol engine (RFC 1939, RFC 2449 CAPA,
 * RFC 3206 response codes, RFC 5034 SASL), free of I/O.
 *
 * Does: the session state machine (AUTHORIZATION, TRANSACTION, UPDATE; RFC
 * 1939 3), command checks and replies, the SASL PLAIN exchange, the deleted
 * marks of the session, and the byte-stuffed multi-line RETR/TOP responses.
 * Input arrives through pop3_server_session_input(); output leaves through
 * struct pop3_server_io. Pipelined commands (RFC 2449 6.6) are answered in
 * order, each after the previous one has completed.
 *
 * Does not: touch sockets, timers, TLS, files or the store. Every decision
 * that needs the world (check a password, lock and load a maildrop, read a
 * message, expunge) goes through struct pop3_server_hooks, which src/bin/
 * fills in. No logging: the glue logs around the hooks. Not offered: APOP,
 * LAST, STLS, SASL mechanisms other than PLAIN.
 *
 * Hooks are asynchronous. The engine calls a hook and reads no further input
 * until the glue calls the matching completion function. The completion may
 * be called from inside the hook itself (synchronous) or later from the
 * event loop. A session has at most one hook outstanding.
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
 * passwords and SASL payloads are wiped from engine memory after use.
 */
#ifndef POP3_POP3_SERVER_H
#define POP3_POP3_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
	/* USER/PASS and AUTH PLAIN allowed. The glue sets it only on TLS or
	 * loopback connections; when false they answer "-ERR [AUTH] Plain-text
	 * authentication requires TLS" and CAPA does not offer them. */
	bool allow_plaintext_auth;
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

enum pop3_login_result {
	POP3_LOGIN_OK,       /* maildrop locked and loaded */
	POP3_LOGIN_FAILED,   /* unknown user or wrong password: "-ERR [AUTH]" */
	POP3_LOGIN_IN_USE,   /* maildrop locked by another session: "-ERR [IN-USE]" */
	POP3_LOGIN_TEMPFAIL, /* cannot check or load now: "-ERR [SYS/TEMP]" */
};

struct pop3_server_session;

struct pop3_server_hooks {
	/*
	 * Verify user/password, then lock and load the maildrop, then call
	 * pop3_server_login_done(). user and password are valid only during the
	 * call: copy them if the check is deferred, and wipe the copy. For AUTH
	 * PLAIN, user is the authentication identity (the engine already refused
	 * any other authorization identity).
	 */
	void (*login)(void *ctx, struct pop3_server_session *session, const char *user,
		      const char *password);
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
	 * The session has ended (closed by the engine or freed by the glue):
	 * unlock the maildrop, cancel any outstanding hook work (its completion
	 * must then not be called). Called exactly once. May be NULL.
	 */
	void (*disconnect)(void *ctx, struct pop3_server_session *session);
};

/*
 * Create a session. settings (hostname copied), hooks and io are copied;
 * hook_ctx and io_ctx are passed back unchanged. client_ip is copied (for
 * pop3_server_session_client_ip()). login, retrieve and update are required.
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

/* Completion of hooks->login. msgs[0..count) is copied; each uidl must be
 * valid (see struct pop3_message_info) or the engine panics. msgs is only
 * read for POP3_LOGIN_OK and may be NULL when count is 0. */
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

/* The client's address as given to _new; valid for the session's lifetime. */
const char *pop3_server_session_client_ip(const struct pop3_server_session *s);

/* The logged-in user, or NULL before a successful login. */
const char *pop3_server_session_user(const struct pop3_server_session *s);

#endif
