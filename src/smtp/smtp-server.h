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
 * the 354. It offers PIPELINING (RFC 2920), SIZE (RFC 1870), 8BITMIME
 * (RFC 6152), ENHANCEDSTATUSCODES (RFC 2034), SMTPUTF8 (RFC 6531) and
 * CHUNKING (RFC 3030).
 *
 * What it does not do: sockets, timers, TLS, DNS, storage, logging or policy.
 * STARTTLS and AUTH answer 502 until those layers exist. DSN (RFC 3461) is not
 * offered, so RET/ENVID/NOTIFY/ORCPT parameters get 555.
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

#define SMTP_SERVER_DEFAULT_MAX_RECIPIENTS 1000
#define SMTP_SERVER_DEFAULT_MAX_MESSAGE_SIZE 52428800
#define SMTP_SERVER_DEFAULT_MAX_ERRORS 20
#define SMTP_SERVER_DEFAULT_MAX_INPUT_BUFFER (128 * 1024)

struct smtp_server_limits {
	size_t max_line;                /* command line incl. CRLF; 2048 (smtp-command.h) */
	unsigned max_params;            /* ESMTP parameters on one MAIL/RCPT line */
	unsigned max_recipients;        /* 1000; then 452 4.5.3 (RFC 5321 4.5.3.1.8, .10) */
	uint64_t max_message_size;      /* 52428800, advertised in SIZE; 0 = none; 552 5.3.4 */
	unsigned max_errors;            /* 20 error replies; then 421 4.7.0 and close */
	size_t max_input_buffer;        /* unprocessed input held while a hook is pending */
	struct smtp_address_limits address;     /* RFC 5321 4.5.3.1.1-3 */
};

void smtp_server_limits_init_default(struct smtp_server_limits *limits);

struct smtp_server_settings {
	const char *hostname;           /* our name in the greeting, EHLO and Received */
	struct smtp_server_limits limits;
	bool submission;                /* later: RFC 6409 port 587 rules; unused for now */
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

/* MAIL FROM parameters as the engine understood them. */
struct smtp_server_mail_params {
	uint64_t size;                  /* SIZE= (RFC 1870), 0 when absent */
	enum smtp_server_body body;     /* BODY= */
	bool smtputf8;                  /* SMTPUTF8 (RFC 6531 3.4) */
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
	/* ASYNC. 2xx adds the recipient; anything else leaves the list as it was.
	 * (No RCPT parameter is offered yet, so there are none to pass.) */
	void (*rcpt)(struct smtp_server_session *s, void *ctx, const struct smtp_address *to);
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
/* Current transaction's MAIL parameters (BODY=, SMTPUTF8, SIZE=). */
const struct smtp_server_mail_params *
smtp_server_session_get_mail_params(const struct smtp_server_session *s);
enum smtp_server_body smtp_server_session_get_body(const struct smtp_server_session *s);
bool smtp_server_session_get_smtputf8(const struct smtp_server_session *s);

/* The connection runs over TLS (implicit TLS now, STARTTLS later): only
 * changes the Received: protocol keyword (ESMTPS, RFC 3848). */
void smtp_server_session_set_tls(struct smtp_server_session *s, bool tls);

/*
 * Append an RFC 5321 4.4 trace header for the current transaction, folded
 * with CRLF TAB and ending in CRLF:
 *
 *   Received: from HELO (RDNS [IP])
 *   	by HOSTNAME with ESMTP id QUEUEID
 *   	for <RCPT>; Mon, 2 Jan 2006 15:04:05 +0000
 *
 * Without for_rcpt the date goes on its own line after "id QUEUEID;". RDNS
 * is "unknown" when the session has none; an IPv6 address is written
 * [IPv6:...]. The protocol keyword is SMTP / ESMTP / ESMTPS (RFC 3848) or
 * UTF8SMTP / UTF8SMTPS when the transaction uses SMTPUTF8 (RFC 6531 3.7.3).
 * queue_id and for_rcpt (a mailbox without brackets) may be NULL: the clause
 * is left out. Control characters in them are replaced. Returns 0, or -1 when
 * out would exceed its maximum (out is then unchanged).
 */
int smtp_server_format_received(const struct smtp_server_session *s, const char *queue_id,
				const char *for_rcpt_or_NULL, struct buf *out);

#endif
