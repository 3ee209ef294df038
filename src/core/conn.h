/*
 * conn.h - one non-blocking stream connection on the event loop: reads into
 * a callback, writes through an output buffer, closes after flushing.
 *
 * The owner gets: input(ctx, bytes) for every read, drained(ctx) when the
 * output buffer falls under the low-water mark (used to stream large data
 * such as a POP3 RETR without buffering it whole), and closed(ctx, reason)
 * exactly once when the connection is over (peer EOF, error, or the end of
 * conn_close_after_flush). The owner may call conn_free() from inside any of
 * these callbacks; the conn then touches nothing of itself afterwards.
 *
 * A later TLS layer plugs in under the buffers (read/write functions), so
 * protocol code never sees whether bytes were encrypted.
 */
#ifndef CORE_CONN_H
#define CORE_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct loop;
struct conn;

struct conn_callbacks {
	void (*input)(void *ctx, const uint8_t *data, size_t len);
	void (*drained)(void *ctx);                 /* may be NULL */
	void (*closed)(void *ctx, const char *reason); /* reason NULL = orderly */
};

#define CONN_LOW_WATER 65536

/* Takes ownership of fd (closed by conn_free). */
struct conn *conn_new(struct loop *loop, int fd, const struct conn_callbacks *cb, void *ctx);
/* Queue bytes for the peer. Never fails; the owner limits how much it queues
 * (see conn_out_pending). Ignored once the connection is closing. */
void conn_write(struct conn *c, const void *data, size_t len);
size_t conn_out_pending(const struct conn *c);
/* Stop or resume reading (flow control: the engine's input buffer is full). */
void conn_set_reading(struct conn *c, bool enabled);
/* Stop reading; when the output is flushed, shut down and call closed(). */
void conn_close_after_flush(struct conn *c);
int conn_fd(const struct conn *c);
void conn_free(struct conn **c);

#endif
