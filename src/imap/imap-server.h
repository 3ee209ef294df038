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
 * through the mailbox hooks below; OBJECTID's MAILBOXID (RFC 8474 4) in
 * STATUS, LIST-STATUS and CREATE's reply, LIST-MYRIGHTS (RFC 8440) as the
 * LIST return option MYRIGHTS. Names go out in modified UTF-7 (RFC
 * 3501 5.1.3) unless UTF8=ACCEPT is enabled (RFC 6855 3).
 *
 * Selected state (imap-server-select.c and the files named in
 * imap-server-private.h): SELECT, EXAMINE, CLOSE, UNSELECT, EXPUNGE, IDLE,
 * FETCH, STORE, SEARCH, SORT, THREAD, COPY, MOVE, APPEND, the ACL and QUOTA
 * commands, through the selected-state hooks at the end of this file. The
 * engine keeps the selected mailbox's UID list (sequence number i is
 * uids[i-1]) and its HIGHESTMODSEQ; message content, flags and search are
 * the glue's, computed with the pure modules imap-fetch.h and imap-search.h
 * on its worker threads.
 *
 * Commands not in the table answer "TAG BAD Unknown command". No
 * sockets, timers, TLS, store or logging: every decision that needs the
 * world goes through struct imap_server_hooks, which src/bin/ fills in.
 *
 * Hooks are asynchronous except starttls, compress and auth_result. The engine calls
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
#define IMAP_STATUS_RECENT 0x80u  /* IMAP4rev1 only (RFC 3501 6.3.10) */
#define IMAP_STATUS_MAILBOXID 0x100u /* RFC 8474 4.2; imap_server_status_done_id */

/* The answer to hooks->mailbox_status: fill at least the requested items. */
struct imap_status_info {
	uint32_t messages, uidnext, uidvalidity, unseen, deleted;
	uint64_t size;
	/* the store's value: 0 (a mailbox that never changed) goes out as 1
	 * (RFC 7162 3.1) */
	uint64_t highest_modseq;
	/* RECENT (RFC 3501 6.3.10): messages no session has claimed as
	 * \Recent (store_mailbox_recent); read only with IMAP_STATUS_RECENT */
	uint32_t recent;
};

/* Outcome of a mailbox hook, and the reply it gives. */
enum imap_mailbox_result {
	IMAP_MAILBOX_OK = 0,
	IMAP_MAILBOX_EXISTS,            /* NO [ALREADYEXISTS] (RFC 5530 3) */
	IMAP_MAILBOX_NONEXISTENT,       /* NO [NONEXISTENT] */
	IMAP_MAILBOX_CANNOT,            /* NO [CANNOT] */
	IMAP_MAILBOX_NOPERM,            /* NO [NOPERM] */
	IMAP_MAILBOX_TEMPFAIL,          /* NO [UNAVAILABLE] */
	IMAP_MAILBOX_OVERQUOTA,         /* NO [OVERQUOTA] (RFC 9208 4.3) */
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

	/*
	 * COMPRESS DEFLATE accepted (RFC 4978 3). Optional: without it the
	 * engine neither advertises COMPRESS=DEFLATE nor knows the command.
	 * Synchronous, no completion, at most once per session: called right
	 * after "TAG OK DEFLATE active" was handed to io->write. The glue must
	 * deflate everything it writes from now on and inflate everything it
	 * reads, starting with pending[0..pending_len): the octets the client
	 * sent after the command's CRLF that the engine had received but not
	 * used (RFC 4978 3: the client compresses from right after that CRLF).
	 * They are compressed data, valid only during the call; the engine
	 * has dropped them and its parser position, so the glue passes their
	 * inflated form back through imap_server_session_input() like any
	 * other input (not from inside this call). May free the session.
	 */
	void (*compress)(void *ctx, struct imap_server_session *session, const uint8_t *pending,
			 size_t pending_len);
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
 * RFC 9051 5.1: "INBOX" is case-insensitive, also as the first level of a
 * hierarchy ("inbox/Sub"). Rewrite the first five octets of name (a UTF-8
 * mailbox name, '/' as separator) as "INBOX" when they spell it in any case
 * and end the name or the level; other names are left alone.
 */
void imap_server_mailbox_fold_inbox(char *name);

/*
 * Completion of hooks->mailbox_list: boxes[0..count) (copied as needed;
 * yours again on return). Names the engine would refuse are skipped; INBOX
 * is listed even when missing. result != IMAP_MAILBOX_OK answers the
 * command "NO" with that result's code and boxes is ignored.
 */
void imap_server_list_done(struct imap_server_session *s, const struct imap_mailbox_info *boxes,
			   unsigned count, enum imap_mailbox_result result);
/* The same with the user's effective rights (RFC 4314 2.1 letters) of each
 * mailbox for LIST ... RETURN (MYRIGHTS) (RFC 8440): rights[i] belongs to
 * boxes[i]; rights NULL or rights[i] NULL = unknown, no MYRIGHTS line.
 * Read during the call. */
void imap_server_list_done_rights(struct imap_server_session *s,
				  const struct imap_mailbox_info *boxes,
				  const char *const *rights, unsigned count,
				  enum imap_mailbox_result result);

/* Completion of hooks->mailbox_status: info (read during the call) when
 * result == IMAP_MAILBOX_OK, else ignored (may be NULL). Within LIST-STATUS
 * a failure only omits that mailbox's STATUS line (RFC 5819 2). */
void imap_server_status_done(struct imap_server_session *s, const struct imap_status_info *info,
			     enum imap_mailbox_result result);
/* The same with the mailbox's MAILBOXID for the STATUS item (RFC 8474
 * 4.2): an objectid (1-255 of ALPHA, DIGIT, "_", "-"), read during the
 * call; NULL or invalid = the item is left out. */
void imap_server_status_done_id(struct imap_server_session *s,
				const struct imap_status_info *info, const char *mailboxid,
				enum imap_mailbox_result result);

/* Completion of mailbox_create/_delete/_rename/_subscribe. text: the
 * response text for a failure (sanitised; NULL for the engine's own). */
void imap_server_mailbox_op_done(struct imap_server_session *s, enum imap_mailbox_result result,
				 const char *text);
/* The same, with the new mailbox's MAILBOXID for CREATE's tagged OK
 * "[MAILBOXID (id)]" (RFC 8474 4.1): an objectid read during the call,
 * NULL (or invalid, or another op) for none. */
void imap_server_mailbox_op_done_id(struct imap_server_session *s,
				    enum imap_mailbox_result result, const char *text,
				    const char *mailboxid);
/* id is a valid RFC 8474 objectid: 1 to 255 of ALPHA, DIGIT, "_", "-". */
bool imap_server_objectid_valid(const char *id);

/* ENABLE state (RFC 5161): IMAP4rev2 / UTF8=ACCEPT (RFC 6855 3) enabled. */
bool imap_server_session_rev2_enabled(const struct imap_server_session *s);
bool imap_server_session_utf8_enabled(const struct imap_server_session *s);

/*
 * ---- Selected state (RFC 9051 6.3.2, 6.4; RFC 7162 CONDSTORE/QRESYNC) ----
 *
 * The engine holds the view the client has of the selected mailbox: UIDVALIDITY,
 * the UIDs in sequence order, the HIGHESTMODSEQ the client was told of, and
 * the user's rights. The glue tells it of changes (imap_server_mailbox_changed)
 * and the engine asks for them (hooks->mailbox_sync) when it may send untagged
 * updates: EXISTS, EXPUNGE / VANISHED (RFC 7162 3.2.10), FETCH (FLAGS MODSEQ).
 * No EXPUNGE goes out during FETCH, STORE or SEARCH (non-UID forms; RFC 9051
 * 7.5.1); those are kept for the next command that allows them.
 */

/* System flags (RFC 9051 2.3.2), same values as the store's STORE_FLAG_*. */
#define IMAP_FLAG_SEEN 0x01u
#define IMAP_FLAG_ANSWERED 0x02u
#define IMAP_FLAG_FLAGGED 0x04u
#define IMAP_FLAG_DELETED 0x08u
#define IMAP_FLAG_DRAFT 0x10u
#define IMAP_FLAG_MASK 0x1fu
/* \Recent (RFC 3501 2.3.2), IMAP4rev1 only: never stored, outside
 * IMAP_FLAG_MASK; the glue sets it in struct imap_message.flags of the
 * messages the request's recent ranges name, so that SEARCH RECENT/NEW/OLD
 * match it (and a renderer that knows it shows it). */
#define IMAP_FLAG_RECENT 0x20u

/* UIDs [first, end) that are \Recent in this session. */
struct imap_recent_range {
	uint32_t first, end;
};
/* Is uid in one of ranges[0..count)? */
bool imap_server_recent_contains(const struct imap_recent_range *ranges, size_t count,
				 uint32_t uid);

/* A message's flags as the glue reports them: a change since the modseq the
 * engine asked about, or a new message (uid above the engine's last). */
struct imap_message_change {
	uint32_t uid;
	unsigned flags;       /* IMAP_FLAG_* */
	const char *keywords; /* space-separated keywords, NULL = none */
	uint64_t modseq;
};

/*
 * What the glue reports of the selected mailbox, for select_done and
 * sync_done. Arrays are read during the call only.
 *
 * For select_done: uids is the whole mailbox (ascending). changes holds,
 * for SELECT ... (QRESYNC (uidvalidity modseq ...)) or (CONDSTORE) nothing
 * is required; for QRESYNC, the messages with modseq > the client's modseq
 * (sent as FETCH (UID FLAGS MODSEQ)) and vanished the UIDs expunged since
 * (sent as VANISHED (EARLIER), RFC 7162 3.2.5.1).
 *
 * For sync_done either form: uids != NULL is the whole mailbox again (the
 * engine diffs it against its own list), or uids == NULL and vanished holds
 * every UID expunged since the modseq asked about (UIDs the engine does not
 * know are ignored). changes holds every message with modseq > that modseq,
 * new ones included (a UID above the engine's highest is new).
 */
struct imap_mailbox_view {
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint64_t highest_modseq;
	const uint32_t *uids;
	size_t count;
	const uint32_t *vanished;
	size_t vanished_count;
	const struct imap_message_change *changes;
	size_t change_count;
	/* Every keyword in use in the mailbox, space-separated, for FLAGS and
	 * PERMANENTFLAGS (RFC 9051 7.3.5); NULL = none. */
	const char *keywords;
	/* The user's effective rights (RFC 4314 2.1, canonical letters, e.g.
	 * "aeiklprstwx" for the owner). The engine enforces them per command;
	 * a sync with fewer rights than before applies at once. */
	const char *rights;
	/* select only: lowest UID without \Seen (for [UNSEEN], IMAP4rev1), 0 none */
	uint32_t first_unseen_uid;
	/* select only: the mailbox's MAILBOXID for the untagged "OK
	 * [MAILBOXID (id)]" RFC 8474 4.2 wants on SELECT/EXAMINE; NULL none.
	 * Not sent yet: imap-server-select.c does not read it so far. */
	const char *mailboxid;
	/* \Recent (RFC 3501 2.3.2; never for params.rev2 sessions): the UIDs
	 * [recent_first, recent_end) are recent in this session. select: what
	 * SELECT claimed (store_mailbox_claim_recent) or, for EXAMINE, what no
	 * session has claimed; sync: what it claimed (or, read-only, found
	 * unclaimed) of the messages that are new to the session. Equal = none. */
	uint32_t recent_first, recent_end;
};

/* SELECT/EXAMINE parameters (RFC 7162 3.1.8, 3.2.5). */
struct imap_select_params {
	bool readonly;          /* EXAMINE */
	bool condstore;         /* (CONDSTORE) or CONDSTORE enabled before */
	bool qresync;           /* (QRESYNC ...) given, QRESYNC enabled */
	uint32_t qr_uidvalidity;  /* the client's known UIDVALIDITY */
	uint64_t qr_modseq;       /* ... and modseq: report changes after it */
	/* optional known-uids set (RFC 7162 3.2.5): "1:100,200" as sent, NULL none */
	const char *qr_known_uids;
	/* IMAP4rev2 enabled: no \Recent (RFC 9051 appendix E); the glue then
	 * neither claims nor reports recent messages, also in the syncs */
	bool rev2;
};

/* FETCH request (RFC 9051 6.4.5; RFC 7162 3.1.4). The glue renders each
 * message with imap_fetch_render() (imap/imap-fetch.h) on a worker. */
struct imap_fetch_items; /* imap/imap-fetch.h */
struct imap_fetch_request {
	const struct imap_fetch_items *items;
	const uint32_t *uids;  /* ascending, all in the engine's view */
	const uint32_t *seqs;  /* seqs[i] is the sequence number of uids[i] */
	size_t count;
	/* set \Seen on the messages first (a non-PEEK body item, read-write
	 * mailbox, "s" right); the response then includes FLAGS where the
	 * flags changed (RFC 9051 6.4.5) */
	bool set_seen;
	uint64_t changedsince; /* only messages with modseq > this; 0 = all */
	bool utf8;             /* UTF8=ACCEPT enabled */
	bool rev2;             /* IMAP4rev2 enabled */
	/* the session's \Recent messages (RFC 3501 2.3.2), ascending,
	 * disjoint; FLAGS of these include \Recent */
	const struct imap_recent_range *recent;
	size_t recent_count;
};

/* SEARCH / SORT / THREAD request (RFC 9051 6.4.4, RFC 5256). */
struct imap_search_program; /* imap/imap-search.h */
struct imap_search_request {
	const struct imap_search_program *program;
	const uint32_t *uids;  /* the whole view: sequence number i is uids[i-1] */
	size_t count;
	bool uid;              /* UID SEARCH/SORT/THREAD: THREAD renders UIDs */
	/* the session's \Recent messages, as in imap_fetch_request: the glue
	 * sets IMAP_FLAG_RECENT for them (SEARCH RECENT, NEW, OLD) */
	const struct imap_recent_range *recent;
	size_t recent_count;
	/* the reply needs imap_search_result.modseqs (ESEARCH MIN and/or MAX
	 * alone with MODSEQ, RFC 7162 3.1.5); else leave it NULL */
	bool want_modseqs;
};
/* The answer: uids in result order (ascending for SEARCH, sorted for SORT);
 * thread: the rendered THREAD data after "THREAD " (numbers per req->uid),
 * NULL unless THREAD; highest_modseq: the highest modseq among the matches
 * (RFC 7162 3.1.5, when the program used MODSEQ), else 0. */
struct imap_search_result {
	const uint32_t *uids;
	size_t count;
	const char *thread;
	uint64_t highest_modseq;
	/* modseqs[i] is the modseq of uids[i] (RFC 7162 3.1.5: ESEARCH MIN/MAX
	 * alone report the modseq of those messages); NULL = not known */
	const uint64_t *modseqs;
};

/* STORE (RFC 9051 6.4.6, RFC 7162 3.1.3). */
enum imap_store_mode { IMAP_STORE_ADD, IMAP_STORE_REMOVE, IMAP_STORE_REPLACE };
struct imap_store_request {
	const uint32_t *uids;  /* ascending */
	size_t count;
	enum imap_store_mode mode;
	unsigned flags;        /* IMAP_FLAG_* (rights already applied by the engine) */
	const char *keywords;  /* space-separated, NULL = none */
	bool unchangedsince_set;
	uint64_t unchangedsince;
};

/* APPEND / MULTIAPPEND (RFC 9051 6.3.12, RFC 3502): one message. */
struct imap_append_message {
	const uint8_t *data;   /* the literal */
	size_t len;
	unsigned flags;        /* IMAP_FLAG_* */
	const char *keywords;  /* NULL = none */
	int64_t internaldate;  /* 0 = now */
};

/* Quota (RFC 9208): one resource of a root. */
struct imap_quota_resource {
	const char *name;      /* "STORAGE" (KiB), "MESSAGE" */
	uint64_t usage, limit;
};

/* ACL (RFC 4314): one entry. */
struct imap_acl_entry {
	const char *identifier;
	const char *rights;
};

/* ACL/quota commands' results go to imap_server_acl_done() etc. below. */
enum imap_acl_op { IMAP_ACL_GET, IMAP_ACL_SET, IMAP_ACL_DELETE, IMAP_ACL_MYRIGHTS,
		   IMAP_ACL_LISTRIGHTS };

struct imap_server_selected_hooks {
	/* SELECT/EXAMINE name: check "l" (else NONEXISTENT, as if it did not
	 * exist) and "r" (else NOPERM), start change notification, then
	 * imap_server_select_done(). */
	void (*mailbox_select)(void *ctx, struct imap_server_session *session, const char *name,
			       const struct imap_select_params *params);
	/* The selected mailbox is left (CLOSE, UNSELECT, SELECT of another,
	 * logout, free): stop change notification. Synchronous, no completion;
	 * also called with a select outstanding that the engine abandons. */
	void (*mailbox_unselect)(void *ctx, struct imap_server_session *session);
	/* Report what changed since since_modseq: imap_server_sync_done(). */
	void (*mailbox_sync)(void *ctx, struct imap_server_session *session, uint64_t since_modseq);
	/* FETCH: imap_server_fetch_done() once for the request (the engine
	 * splits big FETCHes into several requests). */
	void (*message_fetch)(void *ctx, struct imap_server_session *session,
			      const struct imap_fetch_request *req);
	/* SEARCH/SORT/THREAD: imap_server_search_done(). */
	void (*message_search)(void *ctx, struct imap_server_session *session,
			       const struct imap_search_request *req);
	/* STORE: imap_server_store_done(). */
	void (*message_store)(void *ctx, struct imap_server_session *session,
			      const struct imap_store_request *req);
	/* COPY / MOVE uids to dest (check "i" there; MOVE is atomic, RFC 6851):
	 * imap_server_copy_done(). */
	void (*message_copy)(void *ctx, struct imap_server_session *session, const uint32_t *uids,
			     size_t count, const char *dest, bool move);
	/* EXPUNGE, CLOSE, UID EXPUNGE: remove those of uids that have \Deleted;
	 * imap_server_expunge_done(). */
	void (*message_expunge)(void *ctx, struct imap_server_session *session,
				const uint32_t *uids, size_t count);
	/* APPEND / MULTIAPPEND to name, all or nothing (check "i"):
	 * imap_server_append_done(). Valid in the authenticated state too. */
	void (*message_append)(void *ctx, struct imap_server_session *session, const char *name,
			       const struct imap_append_message *msgs, size_t count);
	/* ACL commands on name (RFC 4314 3): identifier and rights as given
	 * (rights with its +/- prefix for SET) or NULL; imap_server_acl_done(). */
	void (*acl)(void *ctx, struct imap_server_session *session, enum imap_acl_op op,
		    const char *name, const char *identifier, const char *rights);
	/* GETQUOTA root (root != NULL) or GETQUOTAROOT mailbox (name != NULL):
	 * imap_server_quota_done(). */
	void (*quota)(void *ctx, struct imap_server_session *session, const char *root,
		      const char *name);
};

/* Set the selected-state hooks (copied); all but mailbox_unselect, acl and
 * quota required for SELECT to be offered; acl/quota NULL = no ACL/QUOTA
 * capability. Call after _new, before _start. */
void imap_server_session_set_selected_hooks(struct imap_server_session *s,
					    const struct imap_server_selected_hooks *hooks);

/* The glue learnt that the selected mailbox changed (store notification):
 * the engine syncs at the next point it may send updates (at once in
 * IDLE). Call from the event loop; harmless when nothing is selected. */
void imap_server_mailbox_changed(struct imap_server_session *s);

/* Completions. result != IMAP_MAILBOX_OK answers NO with its code (view
 * ignored, may be NULL); text overrides the NO text (sanitised). */
void imap_server_select_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
			     enum imap_mailbox_result result, const char *text);
void imap_server_sync_done(struct imap_server_session *s, const struct imap_mailbox_view *view,
			   enum imap_mailbox_result result);
/* Before imap_server_fetch_done: the glue set \Seen on these messages and
 * reported their FLAGS in the responses (uid, flags, modseq after the
 * change); the syncs that follow do not report them again. */
void imap_server_fetch_known(struct imap_server_session *s,
			     const struct imap_message_change *changes, size_t count);
/* Before imap_server_fetch_done: the keywords (space-separated) of the
 * messages the responses show. Those the session has not announced yet go
 * out in "* FLAGS" first (RFC 9051 7.3.5): a keyword another session just
 * created may reach a FETCH before the sync that would announce it. */
void imap_server_fetch_keywords(struct imap_server_session *s, const char *keywords);
/* responses: the rendered "* n FETCH (...)" lines of the request's
 * messages, written as they are. */
void imap_server_fetch_done(struct imap_server_session *s, const uint8_t *responses, size_t len,
			    enum imap_mailbox_result result, const char *text);
void imap_server_search_done(struct imap_server_session *s,
			     const struct imap_search_result *res,
			     enum imap_mailbox_result result, const char *text);
/* changes: the flags after the STORE of every message it touched or asked
 * about (for the untagged FETCH); modified: UIDs that failed
 * UNCHANGEDSINCE (RFC 7162 3.1.3 [MODIFIED]). */
void imap_server_store_done(struct imap_server_session *s,
			    const struct imap_message_change *changes, size_t change_count,
			    const uint32_t *modified, size_t modified_count,
			    enum imap_mailbox_result result, const char *text);
/* src_uids[i] was copied to dst_uids[i] in a mailbox of dst_uidvalidity
 * (RFC 4315 COPYUID); for MOVE, src_uids are gone from the source. */
void imap_server_copy_done(struct imap_server_session *s, uint32_t dst_uidvalidity,
			   const uint32_t *src_uids, const uint32_t *dst_uids, size_t count,
			   enum imap_mailbox_result result, const char *text);
/* uids: the messages that were expunged. */
void imap_server_expunge_done(struct imap_server_session *s, const uint32_t *uids, size_t count,
			      enum imap_mailbox_result result, const char *text);
/* APPENDUID (RFC 4315): the UIDs given to the messages, in order. */
void imap_server_append_done(struct imap_server_session *s, uint32_t uidvalidity,
			     const uint32_t *uids, size_t count, enum imap_mailbox_result result,
			     const char *text);
/* GETACL: entries; MYRIGHTS: rights; LISTRIGHTS: rights = required rights,
 * entries[i].rights = the optional groups; SET/DELETE: neither. */
void imap_server_acl_done(struct imap_server_session *s, const struct imap_acl_entry *entries,
			  size_t count, const char *rights, enum imap_mailbox_result result,
			  const char *text);
/* root: the quota root's name ("" for the account's); GETQUOTAROOT lists it
 * for the mailbox; no root (root == NULL) = no quota. */
void imap_server_quota_done(struct imap_server_session *s, const char *root,
			    const struct imap_quota_resource *res, size_t count,
			    enum imap_mailbox_result result, const char *text);

/* The selected mailbox's name (UTF-8), NULL when none. */
const char *imap_server_session_selected(const struct imap_server_session *s);
/* CONDSTORE / QRESYNC enabled (RFC 7162 3.1, 3.2). */
bool imap_server_session_condstore_enabled(const struct imap_server_session *s);
bool imap_server_session_qresync_enabled(const struct imap_server_session *s);

/* COMPRESS=DEFLATE (RFC 4978) is active: hooks->compress was called. */
bool imap_server_session_compress_active(const struct imap_server_session *s);

#endif
