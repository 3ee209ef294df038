/*
 * imap-server.h - the IMAP server protocol engine (RFC 9051 IMAP4rev2, RFC
 * 3501 IMAP4rev1), free of I/O: the session layer and the not-authenticated
 * state.
 *
 * Does: the session states (RFC 9051 3: not authenticated, authenticated,
 * logout), reading commands through imap/imap-parser.h (literals with their
 * "+" continuation, LITERAL+ / LITERAL- (RFC 7888), [TOOBIG] refusals),
 * tagged and untagged responses, the command table, and the commands valid
 * before login or in any state: CAPABILITY, NOOP, LOGOUT, ID (RFC 2971),
 * STARTTLS (RFC 9051 6.2.1), AUTHENTICATE with SASL-IR (RFC 9051 6.2.2, RFC
 * 4959; PLAIN, LOGIN, SCRAM-SHA-256(-PLUS) through sasl/sasl-server.h),
 * LOGIN (RFC 9051 6.2.3), and ENABLE (RFC 5161) once authenticated.
 * Pipelined commands are answered in order, each after the previous one has
 * completed.
 *
 * Authenticated state (imap-server-mailbox.c, imap-server-list.c):
 * NAMESPACE (RFC 2342), LIST with LIST-EXTENDED (RFC 5258), SPECIAL-USE
 * (RFC 6154) and LIST-STATUS (RFC 5819), LSUB (IMAP4rev1 only), CREATE
 * (with USE, RFC 6154 3), DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS,
 * through the mailbox hooks below. Names go out in modified UTF-7 (RFC
 * 3501 5.1.3) unless UTF8=ACCEPT is enabled (RFC 6855 3).
 *
 * Does not (yet): SELECT/EXAMINE and the selected state, APPEND. Commands
 * not in the table answer "TAG BAD Unknown command". No
 * sockets, timers, TLS, store or logging: every decision that needs the
 * world goes through struct imap_server_hooks, which src/bin/ fills in.
 *
 * Hooks are asynchronous except starttls and auth_result. The engine calls
 * a hook and reads no further command until the glue calls the matching
 * completion, from inside the hook (synchronous) or later from the event
 * loop. A session has at most one hook outstanding.
 *
 * Lifetime and re-entrancy: the glue may call imap_server_session_free()
 * from anywhere, including from inside io->write, io->close and any hook.
 * Memory is released once the engine's own frames have returned; no io or
 * hook call is made for a freed session except the one disconnect call made
 * by free itself. After free the glue must not use the session.
 *
 * Invariants: input held is bounded by max_input_buffer plus the parser's
 * limits; passwords and SASL payloads are wiped from engine memory after
 * use; after STARTTLS nothing the client sent before the TLS switch is acted
 * on (RFC 9051 6.2.1, the command injection of CVE-2011-0411).
 */
#ifndef IMAP_IMAP_SERVER_H
#define IMAP_IMAP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sasl_channel_binding;

struct imap_server_limits {
	/* Command line without literal data, CRLFs included (RFC 7162 4: at
	 * least 8192); also the longest AUTHENTICATE response line. */
	size_t max_line;
	/* One literal before login: small, an unauthenticated client has no
	 * business sending big ones. */
	uint64_t max_literal_prelogin;
	/* One literal once authenticated (APPEND data is held in memory). */
	uint64_t max_literal;
	/* Line plus literal data of one command. */
	uint64_t max_command;
	/* Syntax errors, unknown and out-of-state commands before
	 * "* BYE Too many invalid commands" and close. */
	unsigned max_bad_commands;
	/* Failed logins (LOGIN or AUTHENTICATE) before the session is closed. */
	unsigned max_auth_failures;
	/* Unprocessed input held; also the most the glue may pass to one
	 * imap_server_session_input() call. */
	size_t max_input_buffer;
	/* Longest mailbox name in UTF-8 octets; longer ones are refused with
	 * "NO [CANNOT]" and skipped in the glue's lists. */
	size_t max_mailbox_name;
};

/* Defaults: 65536, 8192, 64 MiB, 80 MiB, 20, 3, 65536, 1000. */
void imap_server_limits_init_default(struct imap_server_limits *limits);

struct imap_server_settings {
	const char *hostname; /* for the greeting; copied */
	/* The glue's verdict that passwords may travel on this connection as it
	 * is now (e.g. loopback). A TLS session allows them whatever this says.
	 * Without either, LOGIN answers "NO [PRIVACYREQUIRED]" and CAPABILITY
	 * says LOGINDISABLED (RFC 9051 6.2.3, 7.2.1), and the SASL mechanisms
	 * flagged SASL_MECH_PLAINTEXT are neither offered nor accepted. */
	bool auth_plaintext_allowed;
	/* Offer STARTTLS: a certificate is configured. Needs hooks->starttls. */
	bool starttls_available;
	/* Space-separated capabilities the glue adds to the authenticated
	 * capability list (e.g. features its hooks implement); copied; NULL or
	 * "" for none. Must be atoms; anything else is dropped. */
	const char *capability_extra;
	/* NAMESPACE announces the shared namespace "Shared/" (RFC 2342 5);
	 * the glue then lists shared mailboxes under that prefix. */
	bool namespace_shared;
	struct imap_server_limits limits;
};

/* Special-use attributes (RFC 6154 2), a bit set (same values as the
 * store's STORE_SPECIAL_USE_*). */
#define IMAP_SPECIAL_USE_ALL 0x01u
#define IMAP_SPECIAL_USE_ARCHIVE 0x02u
#define IMAP_SPECIAL_USE_DRAFTS 0x04u
#define IMAP_SPECIAL_USE_FLAGGED 0x08u
#define IMAP_SPECIAL_USE_JUNK 0x10u
#define IMAP_SPECIAL_USE_SENT 0x20u
#define IMAP_SPECIAL_USE_TRASH 0x40u
#define IMAP_SPECIAL_USE_MASK 0x7fu

/*
 * One mailbox name of the user as the glue knows it, for
 * imap_server_list_done(). name is UTF-8 with '/' as the hierarchy
 * separator, the inbox spelled "INBOX". The engine works out parents,
 * children, pattern matching and selection itself.
 */
struct imap_mailbox_info {
	const char *name;
	unsigned special_use;   /* IMAP_SPECIAL_USE_* */
	bool subscribed;
	bool exists;            /* false: subscribed only, the mailbox is gone */
};

/* STATUS items (RFC 9051 6.3.11), a bit set. */
#define IMAP_STATUS_MESSAGES 0x01u
#define IMAP_STATUS_UIDNEXT 0x02u
#define IMAP_STATUS_UIDVALIDITY 0x04u
#define IMAP_STATUS_UNSEEN 0x08u
#define IMAP_STATUS_DELETED 0x10u
#define IMAP_STATUS_SIZE 0x20u
#define IMAP_STATUS_HIGHESTMODSEQ 0x40u
#define IMAP_STATUS_RECENT 0x80u  /* IMAP4rev1 only; always answered 0 */

/* The answer to hooks->mailbox_status: fill at least the requested items. */
struct imap_status_info {
	uint32_t messages, uidnext, uidvalidity, unseen, deleted;
	uint64_t size, highest_modseq;
};

/* Outcome of a mailbox hook, and the reply it gives. */
enum imap_mailbox_result {
	IMAP_MAILBOX_OK = 0,
	IMAP_MAILBOX_EXISTS,            /* NO [ALREADYEXISTS] (RFC 5530 3) */
	IMAP_MAILBOX_NONEXISTENT,       /* NO [NONEXISTENT] */
	IMAP_MAILBOX_CANNOT,            /* NO [CANNOT] */
	IMAP_MAILBOX_NOPERM,            /* NO [NOPERM] */
	IMAP_MAILBOX_TEMPFAIL,          /* NO [UNAVAILABLE] */
};

struct imap_server_io {
	/* Queue data for the client; the glue takes it all (copying it). */
	void (*write)(void *io_ctx, const uint8_t *data, size_t len);
	/* Close the connection after flushing what was written. Called once. */
	void (*close)(void *io_ctx);
};

struct imap_server_session;

struct imap_server_hooks {
	/*
	 * Authentication needs the world. mech is the SASL mechanism's name
	 * ("PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS") or
	 * "IMAP-LOGIN" for the LOGIN command; authcid is the user.
	 *  - password != NULL: verify it, then imap_server_auth_verified().
	 *  - password == NULL (SCRAM): fetch the stored SCRAM-SHA-256 secret
	 *    (sasl_scram_secret_make's format), then imap_server_auth_secret(),
	 *    with NULL for an unknown user (the exchange then fails at its end
	 *    like a wrong password, RFC 5802 5.1).
	 * Either may end with imap_server_auth_tempfail() instead. All strings
	 * are valid only during the call: copy them (and wipe the password
	 * copy) when the work is deferred.
	 */
	void (*auth_lookup)(void *ctx, struct imap_server_session *session, const char *mech,
			    const char *authcid, const char *password);
	/*
	 * Authentication succeeded as user (valid only during the call): load
	 * what the authenticated state needs (namespace, mailbox list), then
	 * call imap_server_login_done(). Until then no reply is sent.
	 */
	void (*authenticated)(void *ctx, struct imap_server_session *session, const char *user);
	/*
	 * STARTTLS accepted (RFC 9051 6.2.1). Synchronous, no completion:
	 * called right after "TAG OK Begin TLS negotiation now" was handed to
	 * io->write. The engine has already dropped every input octet it held
	 * after the STARTTLS line; the glue must drop any plain-text octets it
	 * read and has not passed, start TLS, and pass only decrypted input
	 * from now on. The engine counts the session as TLS already; set the
	 * channel binding once the handshake is done. Required when
	 * settings->starttls_available; may free the session.
	 */
	void (*starttls)(void *ctx, struct imap_server_session *session);
	/*
	 * An authentication attempt ended (for the log and failure accounting).
	 * Optional, synchronous. Called once per LOGIN or AUTHENTICATE that got
	 * past the mechanism and plain-text checks, before its final reply: ok
	 * when authenticated (hooks->authenticated follows); otherwise for a
	 * failure, a tempfail, a cancel, bad base64 or an over-long line.
	 * authcid is NULL when the client never sent one; reason is for the log
	 * only (never secret), NULL on success. Strings valid during the call.
	 */
	void (*auth_result)(void *ctx, struct imap_server_session *session, const char *mech,
			    const char *authcid, bool ok, const char *reason);
	/*
	 * The session has ended (closed by the engine or freed by the glue):
	 * cancel any outstanding hook work (its completion must then not be
	 * called). Called exactly once. May be NULL.
	 */
	void (*disconnect)(void *ctx, struct imap_server_session *session);

	/*
	 * Mailbox hooks (authenticated state), all asynchronous and required.
	 * Names are UTF-8, '/'-separated, already checked by the engine (no
	 * empty, "." or ".." level, no control characters, within
	 * max_mailbox_name, the inbox as "INBOX"); strings are valid only
	 * during the call.
	 *
	 * mailbox_list (LIST, LSUB, and LIST's "*" too): every mailbox name of
	 * the user, existing or only subscribed; complete with
	 * imap_server_list_done().
	 */
	void (*mailbox_list)(void *ctx, struct imap_server_session *session);
	/* STATUS, and LIST ... RETURN (STATUS ...) once per mailbox: the
	 * IMAP_STATUS_* items of name; complete with imap_server_status_done(). */
	void (*mailbox_status)(void *ctx, struct imap_server_session *session, const char *name,
			       unsigned items);
	/* CREATE name (special_use from CREATE's USE, RFC 6154 3), parents
	 * need not exist. Complete with imap_server_mailbox_op_done(), as the
	 * three below. */
	void (*mailbox_create)(void *ctx, struct imap_server_session *session, const char *name,
			       unsigned special_use);
	/* DELETE name (never "INBOX": the engine refuses that itself). */
	void (*mailbox_delete)(void *ctx, struct imap_server_session *session, const char *name);
	/* RENAME old_name new_name (RFC 9051 6.3.6; old_name may be "INBOX",
	 * whose semantics are the glue's; new_name is never "INBOX"). */
	void (*mailbox_rename)(void *ctx, struct imap_server_session *session,
			       const char *old_name, const char *new_name);
	/* SUBSCRIBE (subscribe true) or UNSUBSCRIBE name; the mailbox need
	 * not exist (RFC 9051 6.3.7). */
	void (*mailbox_subscribe)(void *ctx, struct imap_server_session *session, const char *name,
				  bool subscribe);
};

/*
 * Create a session. settings (strings copied), hooks and io are copied;
 * hook_ctx and io_ctx are passed back unchanged; client_ip is copied.
 * auth_lookup and authenticated are required, starttls too when
 * settings->starttls_available. Never returns NULL. Nothing is written
 * until imap_server_session_start().
 */
struct imap_server_session *
imap_server_session_new(const struct imap_server_settings *settings,
			const struct imap_server_hooks *hooks, void *hook_ctx,
			const struct imap_server_io *io, void *io_ctx, const char *client_ip);

/* Write the greeting "* OK [CAPABILITY ...] <hostname> IMAP4rev2 server
 * ready" (RFC 9051 7.1.1, 7.2.2). Once. */
void imap_server_session_start(struct imap_server_session *s);

/*
 * Client bytes, any split. Processes every complete command that can run
 * now, in order. Pass at most limits.max_input_buffer octets per call; more
 * than the engine can hold ends the session ("* BYE Input buffer full").
 * Ignored after the session has closed.
 */
void imap_server_session_input(struct imap_server_session *s, const uint8_t *data, size_t len);

/* True when the glue should read from the client: started, not closed and
 * no hook outstanding. While false, leave the bytes in the socket. */
bool imap_server_session_wants_input(const struct imap_server_session *s);

/* True once the engine has closed the session (or it was freed). */
bool imap_server_session_is_closed(const struct imap_server_session *s);

/* The client was idle too long (RFC 9051 5.4): "* BYE Autologout; idle for
 * too long" and close; after an outstanding hook completes. */
void imap_server_session_timeout(struct imap_server_session *s);

/* The server is stopping: "* BYE Server shutting down" and close; after an
 * outstanding hook completes. */
void imap_server_session_shutdown(struct imap_server_session *s);

/* End the session and free it (see "Lifetime" above); *s is set to NULL.
 * Calls hooks->disconnect if it was not called yet. NULL is a no-op. */
void imap_server_session_free(struct imap_server_session **s);

/* Completion of hooks->auth_lookup for a password: ok = it is right. */
void imap_server_auth_verified(struct imap_server_session *s, bool ok);

/* Completion of hooks->auth_lookup for a SCRAM secret (copied; wipe yours),
 * NULL when the user is unknown or has none. */
void imap_server_auth_secret(struct imap_server_session *s, const char *secret);

/* Completion of hooks->auth_lookup, either kind: cannot check now. The
 * client gets "NO [UNAVAILABLE]" (RFC 5530 3); not a failed login. */
void imap_server_auth_tempfail(struct imap_server_session *s);

/*
 * Completion of hooks->authenticated. ok: the session enters the
 * authenticated state and the command answers "OK [CAPABILITY ...]" (RFC
 * 9051 6.2.2). Not ok (cannot load the user's data now): "NO [UNAVAILABLE]"
 * and the session stays not authenticated.
 */
void imap_server_login_done(struct imap_server_session *s, bool ok);

/*
 * The connection is (true) or is not TLS. For implicit TLS (port 993, RFC
 * 8314 3.1) call it with true after _new and before _start; STARTTLS sets
 * it by itself. While true, STARTTLS is refused and plain-text
 * authentication is allowed.
 */
void imap_server_session_set_tls(struct imap_server_session *s, bool tls);
bool imap_server_session_is_tls(const struct imap_server_session *s);

/* Channel binding of the TLS connection (RFC 5056; sasl/sasl-server.h),
 * copied; NULL clears it. SCRAM-SHA-256-PLUS is offered only while set. */
void imap_server_session_set_channel_binding(struct imap_server_session *s,
					     const struct sasl_channel_binding *cb);

/* The client's address as given to _new. */
const char *imap_server_session_client_ip(const struct imap_server_session *s);

/* The logged-in user, or NULL while not authenticated. */
const char *imap_server_session_user(const struct imap_server_session *s);

/*
 * Completion of hooks->mailbox_list: boxes[0..count) (copied as needed;
 * yours again on return). Names the engine would refuse are skipped; INBOX
 * is listed even when missing. result != IMAP_MAILBOX_OK answers the
 * command "NO" with that result's code and boxes is ignored.
 */
void imap_server_list_done(struct imap_server_session *s, const struct imap_mailbox_info *boxes,
			   unsigned count, enum imap_mailbox_result result);

/* Completion of hooks->mailbox_status: info (read during the call) when
 * result == IMAP_MAILBOX_OK, else ignored (may be NULL). Within LIST-STATUS
 * a failure only omits that mailbox's STATUS line (RFC 5819 2). */
void imap_server_status_done(struct imap_server_session *s, const struct imap_status_info *info,
			     enum imap_mailbox_result result);

/* Completion of mailbox_create/_delete/_rename/_subscribe. text: the
 * response text for a failure (sanitised; NULL for the engine's own). */
void imap_server_mailbox_op_done(struct imap_server_session *s, enum imap_mailbox_result result,
				 const char *text);

/* ENABLE state (RFC 5161): IMAP4rev2 / UTF8=ACCEPT (RFC 6855 3) enabled. */
bool imap_server_session_rev2_enabled(const struct imap_server_session *s);
bool imap_server_session_utf8_enabled(const struct imap_server_session *s);

#endif
