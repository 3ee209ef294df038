/*
 * smtp-server.h - the SMTP server protocol engine (RFC 5321), without I/O.
 *
 * What it does: holds one SMTP session's state machine. The glue (src/bin/)
 * feeds it the bytes read from the client (smtp_server_session_input) and
 * gets back bytes to write and a request to close through struct
 * smtp_server_io. The engine reads command lines, parses them, checks their
 * sequence, asks the glue for every decision through struct smtp_server_hooks,
 * writes the replies, decodes DATA (dot-unstuffing) and BDAT chunks
 * (RFC 3030) and hands the message bytes to the glue. Every reply carries an
 * RFC 3463 enhanced status code except the 220 greeting, the HELO/EHLO 250
 * (RFC 2034 3 leaves those out; an EHLO keyword line cannot carry one) and
 * the 354 and the 334 AUTH challenges. It offers PIPELINING (RFC 2920), SIZE
 * (RFC 1870), 8BITMIME (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034), SMTPUTF8
 * (RFC 6531), CHUNKING (RFC 3030) and DSN (RFC 3461: RET, ENVID, NOTIFY,
 * ORCPT are checked and handed to the glue, which keeps them with the
 * message), REQUIRETLS (RFC 8689) on TLS sessions only, and when the
 * settings say so STARTTLS (RFC 3207) and AUTH (RFC 4954, through
 * sasl/sasl-server.h), with the submission rules of RFC 6409 (no MAIL before
 * AUTH).
 *
 * What it does not do: sockets, timers, TLS itself (the glue runs the
 * handshake when the starttls hook tells it to), DNS, storage, logging or
 * policy (who may authenticate, where mail may be relayed), and it does not
 * act on DSN or REQUIRETLS parameters itself: sending notices and relaying
 * with TLS are the glue's and the queue's.
 *
 * DSN (RFC 3461 4): a malformed or repeated RET, ENVID, NOTIFY or ORCPT gets
 * 501 5.5.4 with a text saying what is wrong; a parameter we do not know
 * gets 555 5.5.4 (RFC 5321 4.1.1.11). ENVID and ORCPT are kept as received
 * (xtext), to be relayed unchanged (RFC 3461 4.2, 4.4).
 *
 * REQUIRETLS (RFC 8689 4.1): offered in EHLO only over TLS; the MAIL
 * parameter on a session without TLS gets 530 5.7.10 (RFC 3463 "encryption
 * needed"). A message carrying it has its "TLS-Required: No" header field
 * ignored (RFC 8689 5): that is the queue's business, the engine only says
 * that REQUIRETLS was given.
 *
 * STARTTLS (RFC 3207 4.2): after "220 2.0.0 Ready to start TLS" the engine
 * calls the starttls hook, throws away every input byte it still holds (a
 * client, or an attacker in the path, may have pipelined plain-text commands
 * behind STARTTLS: none of them is acted on or answered) and forgets the
 * HELO/EHLO, any transaction and any authentication. No new greeting is sent;
 * the client starts again with EHLO.
 *
 * AUTH (RFC 4954): offered only when auth_available, and before TLS only when
 * auth_plaintext_allowed (otherwise AUTH answers 530 5.7.0 "Must issue a
 * STARTTLS command first"). Password-revealing mechanisms are offered over
 * TLS or with auth_plaintext_allowed, -PLUS mechanisms only with channel
 * binding data. Client responses may be max_auth_line octets long. Passwords
 * and SASL payloads are wiped once used (best effort: the engine overwrites
 * its own line and decode buffers) and never handed to anything but the
 * auth_lookup hook; the SASL state is freed when the exchange ends.
 *
 * Hooks are asynchronous. When the engine calls a hook it stops processing
 * input until the glue calls smtp_server_hook_done(), either from inside the
 * hook (synchronous completion) or later from its event loop. The engine then
 * writes the reply and moves on to the next pipelined command. Replies are
 * therefore always in command order.
 *
 * Smuggling (RFC 5321 2.3.8): a bare CR or LF in a command line gets 500 and
 * the connection is closed. In DATA only <CRLF>.<CRLF> ends the message; a
 * message that held a bare CR or LF is refused with 550 5.6.0 after that real
 * end, without calling data_end. No 2xx is ever sent for message content before
 * its real end.
 *
 * Re-entrancy: any hook or io callback may call smtp_server_hook_done(),
 * smtp_server_session_shutdown(), smtp_server_session_timeout() or
 * smtp_server_session_free() on the session; the engine holds a reference while
 * it runs, so nothing it touches is freed under it, and after free() it calls
 * no hook and no io callback any more.
 */
#ifndef SMTP_SERVER_H
#define SMTP_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "core/buf.h"
#include "smtp/smtp-address.h"
#include "smtp/smtp-command.h"

#define SMTP_SERVER_DEFAULT_MAX_RECIPIENTS 1000
#define SMTP_SERVER_DEFAULT_MAX_MESSAGE_SIZE 52428800
#define SMTP_SERVER_DEFAULT_MAX_ERRORS 20
#define SMTP_SERVER_DEFAULT_MAX_INPUT_BUFFER (128 * 1024)
/* RFC 4954 4: servers should accept AUTH response lines of 12288 octets
 * (and mechanisms' data may be longer than command lines); plus CRLF. */
#define SMTP_SERVER_DEFAULT_MAX_AUTH_LINE (12288 + 2)

struct sasl_channel_binding;

struct smtp_server_limits {
	size_t max_line;                /* command line incl. CRLF; 2048 (smtp-command.h) */
	unsigned max_params;            /* ESMTP parameters on one MAIL/RCPT line */
	unsigned max_recipients;        /* 1000; then 452 4.5.3 (RFC 5321 4.5.3.1.8, .10) */
	uint64_t max_message_size;      /* 52428800, advertised in SIZE; 0 = none; 552 5.3.4 */
	unsigned max_errors;            /* 20 error replies; then 421 4.7.0 and close */
	size_t max_input_buffer;        /* unprocessed input held while a hook is pending */
	size_t max_auth_line;           /* AUTH response line incl. CRLF; 12290; 0 = default;
					   longer: 500 5.5.6 and the exchange ends */
	struct smtp_address_limits address;     /* RFC 5321 4.5.3.1.1-3 */
};

void smtp_server_limits_init_default(struct smtp_server_limits *limits);

struct smtp_server_settings {
	const char *hostname;           /* our name in the greeting, EHLO and Received */
	struct smtp_server_limits limits;
	/* RFC 6409 (ports 587, 465): MAIL before a successful AUTH gets
	 * 530 5.7.0 "Authentication required". */
	bool submission;
	/* STARTTLS is offered (EHLO) and accepted while the session is not in
	 * TLS yet. The glue sets it when a certificate is configured. */
	bool starttls_available;
	/* AUTH is offered at all (submission ports). */
	bool auth_available;
	/* Password-revealing mechanisms (PLAIN, LOGIN) may be used on this
	 * connection while it is not in TLS (loopback, when the config allows):
	 * then AUTH is offered before STARTTLS too. Over TLS they are always
	 * allowed, so the glue need not change this after STARTTLS. */
	bool auth_plaintext_allowed;
	/* Clock for Received: dates; NULL means time(NULL). Tests set a fixed one. */
	time_t (*now)(void);
};

struct smtp_server_session;

struct smtp_server_io {
	/* Queue bytes for the client. The glue buffers them; it must not call
	 * back into the engine's input from here. */
	void (*write)(void *io_ctx, const uint8_t *data, size_t len);
	/* The engine wants the connection closed once written output is flushed.
	 * Called at most once. The glue may free the session from here. */
	void (*close)(void *io_ctx);
};

enum smtp_server_body {
	SMTP_SERVER_BODY_UNSPECIFIED = 0,
	SMTP_SERVER_BODY_7BIT,
	SMTP_SERVER_BODY_8BITMIME,      /* RFC 6152 */
};

/* MAIL FROM parameters as the engine understood them. AUTH= (RFC 4954 5) is
 * checked for xtext syntax and otherwise ignored: we do not relay for other
 * trusted servers, so the claimed original submitter means nothing to us. */
struct smtp_server_mail_params {
	uint64_t size;                  /* SIZE= (RFC 1870), 0 when absent */
	enum smtp_server_body body;     /* BODY= */
	bool smtputf8;                  /* SMTPUTF8 (RFC 6531 3.4) */
	enum smtp_dsn_ret ret;          /* RET= (RFC 3461 4.3) */
	char envid[SMTP_DSN_ENVID_MAX + 1]; /* ENVID= as received (xtext); "" = none */
	bool requiretls;                /* REQUIRETLS (RFC 8689 4.1), only over TLS */
};

/* RCPT parameters as the engine understood them (RFC 3461 4.1, 4.2). */
struct smtp_server_rcpt_params {
	unsigned notify;                /* SMTP_DSN_NOTIFY_*; 0 = not given */
	char *orcpt;                    /* ORCPT= as received ("rfc822;a+2Bb@x"), NULL = none;
					   owned by the session */
};

/*
 * Decisions, all the glue's. Every hook is optional: NULL means "accept with
 * the default reply". The hooks marked ASYNC must be completed by exactly one
 * call to smtp_server_hook_done(); until then the engine reads no input. The
 * others are plain synchronous notifications. The pointers given to a hook
 * are valid until it completes.
 */
struct smtp_server_hooks {
	/* ASYNC. Greeting: 2xx -> "220 hostname text"; 554 -> the client may only
	 * QUIT (RFC 5321 3.1); 421/4xx -> reply and close. */
	void (*connect)(struct smtp_server_session *s, void *ctx);
	/* ASYNC. HELO/EHLO domain (visible US-ASCII, unchecked otherwise). On 2xx
	 * the session greets (EHLO: with the extension list). */
	void (*helo)(struct smtp_server_session *s, void *ctx, const char *domain, bool ehlo);
	/* ASYNC. 2xx starts the transaction with this reverse path. */
	void (*mail)(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
		     const struct smtp_server_mail_params *params);
	/* ASYNC. 2xx adds the recipient (with its params); anything else leaves
	 * the list as it was. */
	void (*rcpt)(struct smtp_server_session *s, void *ctx, const struct smtp_address *to,
		     const struct smtp_server_rcpt_params *params);
	/* ASYNC. Before 354 for DATA, before the first BDAT chunk is accepted.
	 * 2xx: go on; anything else is the reply and the data is not accepted. */
	void (*data_begin)(struct smtp_server_session *s, void *ctx);
	/* Decoded message bytes (DATA unstuffed, BDAT as sent), in order, in chunks.
	 * The message is not yet known to be complete or clean. */
	void (*data_write)(struct smtp_server_session *s, void *ctx, const uint8_t *data,
			   size_t len);
	/* ASYNC. The message is complete, within size, without bare CR/LF. The glue
	 * stores it durably and completes with 250 + queue id text, or 4xx/5xx.
	 * Either way the transaction is then over (rset is not called for it). */
	void (*data_end)(struct smtp_server_session *s, void *ctx, uint64_t size);
	/* The transaction (after an accepted MAIL) was dropped without data_end:
	 * RSET, HELO/EHLO, a refused message, an error, close or free. */
	void (*rset)(struct smtp_server_session *s, void *ctx);
	/* Called once, from smtp_server_session_free(), after any rset. */
	void (*disconnect)(struct smtp_server_session *s, void *ctx);

	/* STARTTLS accepted. Synchronous: called right after "220 2.0.0 Ready to
	 * start TLS" was given to io->write. The glue flushes that reply, then
	 * runs the TLS handshake on the connection. Plain-text bytes it has read
	 * but not yet passed to smtp_server_session_input() are thrown away,
	 * never passed (RFC 3207 4.2); the engine has already thrown away what
	 * it held. When called, the session is marked TLS and reset to
	 * "greeted, no HELO"; the glue then sets tls_info and channel binding
	 * once the handshake is done. If the handshake fails the glue closes the
	 * connection and frees the session (also allowed from inside this
	 * hook). May be NULL (tests). */
	void (*starttls)(struct smtp_server_session *s, void *ctx);
	/*
	 * ASYNC, but completed with smtp_server_auth_verified() when password
	 * is not NULL (PLAIN, LOGIN: check authcid's password), or with
	 * smtp_server_auth_secret() when password is NULL (SCRAM: fetch
	 * authcid's stored secret); either may be replaced by
	 * smtp_server_auth_tempfail(). Never smtp_server_hook_done(). mech is
	 * the mechanism name. authcid and password are valid until the
	 * completion; a glue that completes later copies them and wipes its copy
	 * of the password. NULL hook: every lookup fails (535).
	 */
	void (*auth_lookup)(struct smtp_server_session *s, void *ctx, const char *mech,
			    const char *authcid, const char *password);
	/* An AUTH exchange ended (for logging and failure accounting; optional,
	 * synchronous). Called once per exchange that got past the mechanism
	 * check, just before its final reply: ok on 235; otherwise after 535,
	 * 454, 501 (cancelled, bad base64) or 500 (line too long). authcid is
	 * NULL when the client never sent one; reason (never secret) is for the
	 * log only, NULL on success. Not called when the session closes in the
	 * middle of an exchange. */
	void (*auth_result)(struct smtp_server_session *s, void *ctx, const char *mech,
			    const char *authcid, bool ok, const char *reason);
};

/*
 * Create a session. settings, hooks and io are copied (hostname too);
 * client_ip (e.g. "192.0.2.1" or "2001:db8::1") and client_rdns (NULL when the
 * name is unknown or unverified) are copied. Nothing is written until start.
 */
struct smtp_server_session *
smtp_server_session_new(const struct smtp_server_settings *settings,
			const struct smtp_server_hooks *hooks, void *hook_ctx,
			const struct smtp_server_io *io, void *io_ctx,
			const char *client_ip, const char *client_rdns);

/* Send the greeting through the connect hook. Call once. */
void smtp_server_session_start(struct smtp_server_session *s);

/*
 * Bytes read from the client. They are appended to the engine's input buffer
 * and processed as far as possible: pipelined commands one after another, each
 * reply after the previous command's hook completed. The glue passes at most
 * limits.max_input_buffer / 2 bytes per call, and only while
 * smtp_server_session_wants_input() is true; input beyond the buffer is a
 * protocol error (421 4.7.0, close). Input after close is ignored. Must not be
 * called from inside a hook or an io callback.
 */
void smtp_server_session_input(struct smtp_server_session *s, const uint8_t *data, size_t len);

/* False while the input buffer is at least half full (a hook is pending and
 * the client keeps sending) or the session is closing: stop reading the socket
 * and ask again after the next smtp_server_hook_done(). */
bool smtp_server_session_wants_input(const struct smtp_server_session *s);

/*
 * Complete the pending ASYNC hook. code is 200-599; enhanced_code ("X.Y.Z",
 * class matching code) and text (lines separated by '\n'; control and
 * non-ASCII characters are replaced) may be NULL for the engine's defaults.
 * May be called from inside the hook. Calling it with no hook pending is a
 * programming error (panic). After close (timeout) the reply is dropped.
 */
void smtp_server_hook_done(struct smtp_server_session *s, unsigned code,
			   const char *enhanced_code, const char *text);

/*
 * Complete a pending auth_lookup (see there). Calling the wrong one, or with
 * no lookup pending, is a programming error (panic); after close (timeout) the
 * answer is dropped. May be called from inside the hook. The glue may delay
 * a failure (slowing down password guessing); that is its business.
 *
 * verified: the password given to auth_lookup is right for authcid (and
 * authcid may log in). The exchange then ends with 235 2.7.0 or 535 5.7.8.
 */
void smtp_server_auth_verified(struct smtp_server_session *s, bool ok);
/* secret: authcid's stored SCRAM secret (sasl_scram_secret_make's format), or
 * NULL when the user is unknown or has none (the exchange then goes on with a
 * fake one and fails at the end, RFC 5802 5.1). Copied before returning. */
void smtp_server_auth_secret(struct smtp_server_session *s, const char *secret);
/* The lookup could not be made now: 454 4.7.0 "Temporary authentication
 * failure" and the exchange ends. */
void smtp_server_auth_tempfail(struct smtp_server_session *s);

/* The server is stopping: 421 4.3.2 and close now, or, when a hook is
 * pending, once it completes (its reply is sent first). */
void smtp_server_session_shutdown(struct smtp_server_session *s);

/* The glue's idle timer fired: 421 4.4.2 and close, even with a hook pending
 * (that hook's later completion is dropped). */
void smtp_server_session_timeout(struct smtp_server_session *s);

/*
 * Free the session and set *sp to NULL. Calls rset (if a transaction is open)
 * and then disconnect. Safe from inside io->close and from inside any hook;
 * the memory goes when the engine returns. After this the glue must not call
 * smtp_server_hook_done() for the session: an operation still running must be
 * cancelled or its result dropped.
 */
void smtp_server_session_free(struct smtp_server_session **sp);

/* ---- accessors for the glue; strings are owned by the session ---- */

const char *smtp_server_session_get_client_ip(const struct smtp_server_session *s);
/* NULL when unknown. */
const char *smtp_server_session_get_client_rdns(const struct smtp_server_session *s);
/* The accepted HELO/EHLO domain, or NULL before one was accepted. */
const char *smtp_server_session_get_helo(const struct smtp_server_session *s);
/* True when the accepted greeting was EHLO. */
bool smtp_server_session_is_esmtp(const struct smtp_server_session *s);
/* The current transaction's reverse path, or NULL when there is none. */
const struct smtp_address *smtp_server_session_get_mail_from(const struct smtp_server_session *s);
/* Accepted recipients of the current transaction, in order. A pointer is
 * valid until the next hook completes or the transaction ends. */
unsigned smtp_server_session_get_rcpt_count(const struct smtp_server_session *s);
const struct smtp_address *smtp_server_session_get_rcpt(const struct smtp_server_session *s,
							unsigned idx);
/* The DSN parameters of accepted recipient idx (same index as get_rcpt),
 * or NULL when there is no such recipient. Valid like get_rcpt's. */
const struct smtp_server_rcpt_params *
smtp_server_session_get_rcpt_params(const struct smtp_server_session *s, unsigned idx);
/* Current transaction's MAIL parameters (BODY=, SMTPUTF8, SIZE=, RET=,
 * ENVID=, REQUIRETLS). */
const struct smtp_server_mail_params *
smtp_server_session_get_mail_params(const struct smtp_server_session *s);
enum smtp_server_body smtp_server_session_get_body(const struct smtp_server_session *s);
bool smtp_server_session_get_smtputf8(const struct smtp_server_session *s);

/* The authenticated identity (the SASL authcid) after a successful AUTH,
 * else NULL. */
const char *smtp_server_session_get_auth_user(const struct smtp_server_session *s);
/* The mechanism of that AUTH ("PLAIN", "SCRAM-SHA-256", ...), else NULL. */
const char *smtp_server_session_get_auth_mech(const struct smtp_server_session *s);

/* The connection runs over TLS: implicit TLS (ports 465, set by the glue
 * before smtp_server_session_start) or after STARTTLS (set by the engine).
 * Over TLS STARTTLS is not offered, AUTH is, and the Received: protocol
 * keyword gets its "S" (ESMTPS, RFC 3848). */
void smtp_server_session_set_tls(struct smtp_server_session *s, bool tls);
bool smtp_server_session_is_tls(const struct smtp_server_session *s);
/* TLS protocol version and cipher suite names for the Received: header, e.g.
 * "TLSv1.3" and "TLS_AES_256_GCM_SHA384" (copied; either may be NULL). Set
 * after the handshake; cleared by STARTTLS's reset. */
void smtp_server_session_set_tls_info(struct smtp_server_session *s, const char *version,
				      const char *cipher);
/* Channel-binding data of the TLS connection (copied); NULL clears it. With
 * it the -PLUS SASL mechanisms are offered. Set after the handshake; cleared
 * by STARTTLS's reset. */
void smtp_server_session_set_channel_binding(struct smtp_server_session *s,
					     const struct sasl_channel_binding *cb);

/*
 * Append an RFC 5321 4.4 trace header for the current transaction, folded
 * with CRLF TAB and ending in CRLF:
 *
 *   Received: from HELO (RDNS [IP])
 *   	(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)
 *   	by HOSTNAME with ESMTPSA id QUEUEID
 *   	for <RCPT>; Mon, 2 Jan 2006 15:04:05 +0000
 *
 * Without for_rcpt the date goes on its own line after "id QUEUEID;". RDNS
 * is "unknown" when the session has none; an IPv6 address is written
 * [IPv6:...]. The "(using ...)" comment line is there only over TLS when
 * smtp_server_session_set_tls_info() gave a version; it sits where Postfix
 * puts it (a comment between the from and by clauses, which RFC 5321 4.4's
 * CFWS allows), so tools that read Postfix headers read ours. The protocol
 * keyword is SMTP, ESMTP with "S" for TLS and "A" for an authenticated
 * session (ESMTPS, ESMTPA, ESMTPSA: RFC 3848), or UTF8SMTP likewise
 * (UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA: RFC 6531 3.7.3) when the transaction
 * uses SMTPUTF8. The authenticated user name is not written (privacy).
 * queue_id and for_rcpt (a mailbox without brackets) may be NULL: the clause
 * is left out. Control characters in them are replaced. Returns 0, or -1 when
 * out would exceed its maximum (out is then unchanged).
 */
int smtp_server_format_received(const struct smtp_server_session *s, const char *queue_id,
				const char *for_rcpt_or_NULL, struct buf *out);

#endif
