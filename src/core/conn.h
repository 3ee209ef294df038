/*
 * conn.h - one non-blocking stream connection on the event loop: reads into
 * a callback, writes through an output buffer, closes after flushing, and
 * carries its bytes through a pluggable transport (plain socket by default,
 * TLS once the owner installs one).
 *
 * The owner gets: input(ctx, bytes) for every read, drained(ctx) when the
 * output buffer falls under the low-water mark (used to stream large data
 * such as a POP3 RETR without buffering it whole), handshake_done(ctx) when a
 * transport installed with conn_set_transport() finished its handshake, and
 * closed(ctx, reason) exactly once when the connection is over (peer EOF,
 * error, failed or timed-out handshake, or the end of conn_close_after_flush).
 * The owner may call conn_free() from inside any of these callbacks; the conn
 * then touches nothing of itself afterwards.
 *
 * Transports. Protocol code never sees whether bytes were encrypted: the
 * transport sits under both buffers. A connection starts on the built-in
 * plain transport (recv/send). conn_set_transport() switches, once, to
 * another one: at once for implicit TLS (RFC 8314), or in the middle of the
 * stream for STARTTLS (RFC 3207, RFC 2595).
 *
 * Compression. conn_set_compress() adds a raw deflate stage (RFC 4978,
 * COMPRESS=DEFLATE) between the buffers and the transport, so it works over
 * plain text and over TLS alike: output queued from then on is deflated
 * (each write burst ends with a sync flush, so the peer can always decode
 * everything we sent), input is inflated in bounded chunks that respect
 * conn_set_reading().
 *
 * Does not: keep input that arrived in plain text before the switch (the
 * protocol engine discards it, RFC 3207 4.2 command injection), know anything
 * about TLS itself (src/tls implements struct conn_transport_ops), or limit
 * how much the owner queues (the owner looks at conn_out_pending()).
 */
#ifndef CORE_CONN_H
#define CORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct loop;
struct conn;

struct conn_callbacks {
	void (*input)(void *ctx, const uint8_t *data, size_t len);
	void (*drained)(void *ctx);                 /* may be NULL */
	void (*closed)(void *ctx, const char *reason); /* reason NULL = orderly */
	/* may be NULL; see conn_set_transport() */
	void (*handshake_done)(void *ctx);
};

/*
 * A transport moves bytes between the connection buffers and the socket. t is
 * the transport's own state, owned by the conn once installed. Every function
 * is called on the loop thread and must not block.
 *
 * read/write: > 0 bytes moved; read 0 = orderly end of stream; -1 with errno:
 *   EAGAIN (or EINTR) means "would block", retried when the direction named
 *   by wants() is ready; anything else is fatal, described by error().
 *   A write that returned EAGAIN is retried with the same bytes at the same
 *   position (possibly more after them, possibly at another address).
 * handshake: NULL when there is none; else 1 done, 0 in progress (retried
 *   when wants() is ready), -1 failed (error() says why).
 * wants: NULL = the natural direction (LOOP_READ for read, LOOP_WRITE for
 *   write); else LOOP_READ or LOOP_WRITE of core/loop.h, the direction the
 *   last EAGAIN or unfinished handshake waits for. TLS may need to write
 *   during a read and to read during a write.
 * pending: NULL = never; else true when input is buffered inside the
 *   transport, readable without the socket becoming readable (SSL_pending).
 *   The conn keeps reading while this is true, so no bytes get stuck.
 * shutdown: may be NULL; best-effort orderly close (TLS close_notify) after
 *   the output is flushed, before the socket is shut down for writing.
 * error: may be NULL (then strerror(errno) is used); text for the last
 *   failure, valid until the next call on t.
 * free: releases t. It must not close the socket: the conn owns the fd.
 */
struct conn_transport_ops {
	ssize_t (*read)(void *t, void *buf, size_t len);
	ssize_t (*write)(void *t, const void *buf, size_t len);
	int (*handshake)(void *t);
	unsigned (*wants)(void *t);
	bool (*pending)(void *t);
	void (*shutdown)(void *t);
	const char *(*error)(void *t);
	void (*free)(void *t);
};

#define CONN_LOW_WATER 65536
/* default time from conn_set_transport() to the end of the handshake */
#define CONN_HANDSHAKE_TIMEOUT_MSECS 60000u

/* Takes ownership of fd (closed by conn_free). */
struct conn *conn_new(struct loop *loop, int fd, const struct conn_callbacks *cb, void *ctx);
/* Queue bytes for the peer. Never fails; the owner limits how much it queues
 * (see conn_out_pending). Ignored once the connection is closed. Bytes queued
 * after conn_set_transport() go through the new transport, after its
 * handshake. */
void conn_write(struct conn *c, const void *data, size_t len);
size_t conn_out_pending(const struct conn *c);
/* Hold the connection: nothing is read or written (output queues up) until
 * it is resumed. Used to slow down a failed login without a sleeping thread. */
void conn_set_paused(struct conn *c, bool paused);
/* Pause for msecs, then resume by itself (0: nothing). Used to delay the
 * reply to a failed login on the loop, without a sleeping thread. */
void conn_hold(struct conn *c, uint64_t msecs);
/* Stop or resume reading (flow control: the engine's input buffer is full).
 * Resuming also delivers input already buffered inside the transport (from
 * the loop, not from inside this call). */
void conn_set_reading(struct conn *c, bool enabled);
/* Stop reading; when the output is flushed, shut down the transport and the
 * socket and call closed(ctx, NULL) from the loop. While a transport's
 * handshake has not finished, queued output cannot be delivered: it is
 * dropped and the connection ends at once (still reported from the loop). */
void conn_close_after_flush(struct conn *c);
int conn_fd(const struct conn *c);
void conn_free(struct conn **c);

/*
 * Switch to transport ops/t (the conn owns t from now on, also when the
 * connection ends first). Allowed once per connection, on the plain
 * transport, before any conn_set_compress(); never blocks and never calls
 * back from inside this call.
 *
 * Output already queued (say "220 Ready to start TLS") is flushed in plain
 * text first; the switch happens when it has gone out. From this call on the
 * conn reads nothing more in plain text: bytes arriving afterwards (the TLS
 * ClientHello) stay in the socket for the transport. Input that was read
 * before the call is the caller's business. Output queued after the call
 * goes through the new transport once the handshake is done.
 *
 * The handshake then runs on the loop. When it succeeds, handshake_done(ctx)
 * is called once, before any input read through the transport and before
 * queued output is sent. When it fails or does not finish within the
 * handshake timeout (counted from this call), closed(ctx, reason) is called
 * instead, with reason "handshake failed: TEXT" or "handshake timed out",
 * and handshake_done never is.
 */
void conn_set_transport(struct conn *c, const struct conn_transport_ops *ops, void *t);
/*
 * Start compression (RFC 4978 4: raw deflate, RFC 1951, in both directions;
 * level 0-9 for our output). Allowed once, after any transport handshake
 * (never while a switch is pending); conn_set_transport() is not allowed
 * afterwards. Output queued before the call ("TAG OK DEFLATE active") goes
 * out as it is; output queued after it is deflated. Every byte read from
 * now on is inflated; pending[0..pending_len) (copied) is compressed input
 * the owner read before the call but could not use (pipelined after the
 * COMPRESS command): it is inflated first, from the loop, never from inside
 * this call. Input reaches input() in chunks of at most 16 KiB, and
 * inflating stops while reading is disabled, so a small compressed input
 * never takes more memory than one chunk. Corrupt data or an end of the
 * compressed stream ends the connection: closed(ctx, "decompression
 * failed: TEXT").
 */
void conn_set_compress(struct conn *c, int level, const uint8_t *pending, size_t pending_len);
/* true once conn_set_compress() was called */
bool conn_compressing(const struct conn *c);
/* Handshake timeout in milliseconds (default CONN_HANDSHAKE_TIMEOUT_MSECS);
 * call before conn_set_transport(), or during the handshake to restart it. */
void conn_set_handshake_timeout(struct conn *c, unsigned msecs);
/* true from conn_set_transport() until handshake_done or the end */
bool conn_handshaking(const struct conn *c);
/* t as given to conn_set_transport(), or NULL while on the plain transport;
 * valid until conn_free(). */
void *conn_transport(const struct conn *c);

#endif
