/*
 * conn.c - see conn.h.
 *
 * Invariants:
 * - The loop watches, when not closed: during a handshake, the direction the
 *   transport waits for; otherwise the read direction (read_wants) when
 *   reading is enabled, the connection is not closing and no transport
 *   switch is pending, and the write direction (write_wants) when output is
 *   pending or the connection is closing.
 * - While a switch is pending (next_ops set), the first plain_left bytes of
 *   the output buffer are the last plain-text bytes; the switch happens when
 *   they are written, and nothing is read meanwhile.
 * - Owner callbacks run only from the loop (io events and the conn's own
 *   timers), never from inside a conn_* call. After calling any owner
 *   callback, code checks the destroyed flag before touching c.
 * - Compression (conn_set_compress, RFC 4978) sits between the buffers and
 *   the transport: conn_write deflates into out (so out holds plain bytes
 *   queued before the switch, then deflate output), conn_flush ends every
 *   write burst with a Z_SYNC_FLUSH before writing, and reads go through
 *   zin (compressed bytes not yet inflated, at most CONN_READ_SIZE plus what
 *   the owner handed over) and inflate into one CONN_READ_SIZE chunk per
 *   input() call, so a small compressed input never becomes more than one
 *   chunk in memory and conn_set_reading(false) stops inflating at once.
 */
#include "core/conn.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zlib.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/mem.h"

#define CONN_READ_SIZE 16384
/* reads per event while the transport still holds buffered input; past this
 * the rest is read from a zero timer so that other connections get a turn */
#define CONN_READ_BURST 64

struct conn {
	struct loop *loop;
	int fd;
	struct loop_io *io;
	struct conn_callbacks cb;
	void *ctx;
	struct buf out;

	const struct conn_transport_ops *ops;
	void *t;
	const struct conn_transport_ops *next_ops; /* switch pending */
	void *next_t;
	size_t plain_left;
	unsigned read_wants, write_wants, hs_wants;
	unsigned hs_timeout;
	struct loop_timer *hs_timer;
	struct loop_timer *kick; /* zero timer: resume reading buffered input */

	/* conn_set_compress: both streams, or NULL */
	z_stream *zin_strm, *zout_strm;
	struct buf zin;      /* compressed input not yet inflated */
	bool zin_full;       /* the last inflate filled its output: more may come */
	bool zin_ended;      /* the peer ended its deflate stream (final block) */
	bool zout_unflushed; /* deflated since the last Z_SYNC_FLUSH */

	bool reading;
	bool paused;   /* conn_set_paused: neither read nor write for now */
	struct loop_timer *hold; /* conn_hold: resumes the connection */
	bool handshaking;
	bool closing;
	bool closed;
	bool *destroyed;
};

static void conn_event(void *ctx, unsigned events);

/* ---- the plain transport: the socket itself ---- */

static ssize_t
conn_plain_read(void *t, void *data, size_t len)
{
	struct conn *c = t;

	return recv(c->fd, data, len, 0);
}

static ssize_t
conn_plain_write(void *t, const void *data, size_t len)
{
	struct conn *c = t;

	return send(c->fd, data, len, MSG_NOSIGNAL);
}

static const struct conn_transport_ops conn_plain_ops = {
	.read = conn_plain_read,
	.write = conn_plain_write,
};

/* ---- compression helpers (zlib allocates through core/mem.h) ---- */

static voidpf
conn_zalloc(voidpf opaque, uInt items, uInt size)
{
	(void)opaque;
	return mem_alloc(mem_size_mul(items, size));
}

static void
conn_zfree(voidpf opaque, voidpf ptr)
{
	(void)opaque;
	mem_free(&ptr);
}

/* Run deflate over the pending input with flush, appending all it makes
 * to out. */
static void
conn_deflate_run(struct conn *c, int flush)
{
	z_stream *z = c->zout_strm;

	do {
		uint8_t *p = buf_reserve(&c->out, CONN_READ_SIZE);
		int ret;

		if (p == NULL)
			PANIC("unbounded buffer refused data");
		z->next_out = p;
		z->avail_out = CONN_READ_SIZE;
		ret = deflate(z, flush);
		/* Z_BUF_ERROR: nothing left to do, not an error */
		if (ret != Z_OK && ret != Z_BUF_ERROR)
			PANIC("deflate failed: %d", ret);
		buf_commit(&c->out, CONN_READ_SIZE - z->avail_out);
	} while (z->avail_in > 0 || z->avail_out == 0);
}

/* true while compressed input waits in the conn, readable without the
 * socket becoming readable */
static bool
conn_in_pending(const struct conn *c)
{
	if (c->zin_strm != NULL && (buf_len(&c->zin) > 0 || c->zin_full))
		return true;
	return c->ops->pending != NULL && c->ops->pending(c->t);
}

/* bytes to write: queued, or still inside the deflate stream */
static bool
conn_out_waiting(const struct conn *c)
{
	return buf_len(&c->out) > 0 || c->zout_unflushed;
}

/* ---- guards ---- */

/* Owner callbacks may free the conn. Before a callback, enter a guard: the
 * flag it returns turns true if the conn was freed meanwhile. Guards nest
 * (an outer guard's flag is shared), so only the outermost clears it. */
static bool *
conn_guard_enter(struct conn *c, bool *local)
{
	*local = false;
	if (c->destroyed != NULL)
		return c->destroyed;
	c->destroyed = local;
	return local;
}

/* false when the conn is gone (touch nothing of it then) */
static bool
conn_guard_leave(struct conn *c, bool *flag, bool *local)
{
	if (*flag)
		return false;
	if (flag == local)
		c->destroyed = NULL;
	return true;
}

/* ---- state helpers ---- */

static bool
conn_may_read(const struct conn *c)
{
	return c->reading && !c->closing && !c->closed && !c->handshaking && c->next_ops == NULL;
}

/* the direction the transport waits for, def when it does not say */
static unsigned
conn_transport_wants(const struct conn *c, unsigned def)
{
	unsigned w = c->ops->wants != NULL ? c->ops->wants(c->t) : def;

	return w == LOOP_READ || w == LOOP_WRITE ? w : def;
}

static void
conn_update_events(struct conn *c)
{
	unsigned ev = 0;

	if (c->io == NULL || c->closed)
		return;
	if (c->paused) {
		loop_io_set_events(c->io, 0);
		return;
	}
	if (c->handshaking) {
		/* a close during the handshake is finished by the kick timer */
		if (!c->closing)
			ev = c->hs_wants;
	} else {
		if (conn_may_read(c))
			ev |= c->read_wants;
		if (conn_out_waiting(c) || c->closing)
			ev |= c->write_wants;
	}
	loop_io_set_events(c->io, ev);
}

static void
conn_kick_cb(void *ctx)
{
	struct conn *c = ctx;

	conn_event(c, LOOP_READ | LOOP_WRITE);
}

/* Run conn_event from the loop soon, even if the socket shows no event. */
static void
conn_kick(struct conn *c)
{
	if (c->kick == NULL)
		c->kick = loop_timer_add(c->loop, 0, conn_kick_cb, c);
	else
		loop_timer_reset(c->kick, 0);
}

struct conn *
conn_new(struct loop *loop, int fd, const struct conn_callbacks *cb, void *ctx)
{
	struct conn *c = mem_zalloc(sizeof(*c));

	c->loop = loop;
	c->fd = fd;
	c->cb = *cb;
	c->ctx = ctx;
	c->reading = true;
	c->ops = &conn_plain_ops;
	c->t = c;
	c->read_wants = LOOP_READ;
	c->write_wants = LOOP_WRITE;
	c->hs_timeout = CONN_HANDSHAKE_TIMEOUT_MSECS;
	buf_init(&c->out, 0);
	c->io = loop_io_add(loop, fd, LOOP_READ, conn_event, c);
	return c;
}

/* ---- ending ---- */

/* Report the end once; returns false if the owner destroyed c. */
static bool
conn_report_closed(struct conn *c, const char *reason)
{
	bool local, *flag;

	if (c->closed)
		return true;
	c->closed = true;
	c->closing = true;
	loop_io_set_events(c->io, 0);
	loop_timer_remove(&c->hs_timer);
	flag = conn_guard_enter(c, &local);
	c->cb.closed(c->ctx, reason);
	return conn_guard_leave(c, flag, &local);
}

/* A transport failure ends the connection; errno is still that of the
 * failed call. Returns false if c was destroyed. */
static bool
conn_fail(struct conn *c, const char *prefix)
{
	char reason[512];
	const char *text = c->ops->error != NULL ? c->ops->error(c->t) : NULL;

	if (text == NULL)
		text = strerror(errno);
	if (prefix == NULL)
		return conn_report_closed(c, text);
	snprintf(reason, sizeof(reason), "%s: %s", prefix, text);
	return conn_report_closed(c, reason);
}

/* The end of conn_close_after_flush. */
static bool
conn_finish_close(struct conn *c)
{
	if (!c->handshaking && c->next_ops == NULL && c->ops->shutdown != NULL)
		c->ops->shutdown(c->t);
	shutdown(c->fd, SHUT_WR);
	return conn_report_closed(c, NULL);
}

/* ---- handshake ---- */

static void
conn_hs_timeout(void *ctx)
{
	struct conn *c = ctx;

	/* the fired timer stays allocated; conn_report_closed removes it */
	(void)conn_report_closed(c, "handshake timed out");
}

/* The plain-text output is out: install the pending transport. */
static void
conn_switch(struct conn *c)
{
	c->ops = c->next_ops;
	c->t = c->next_t;
	c->next_ops = NULL;
	c->next_t = NULL;
	c->plain_left = 0;
	c->handshaking = true;
	/* try at once when either direction is ready: a server waits for the
	 * ClientHello, a client has to send one */
	c->hs_wants = LOOP_READ | LOOP_WRITE;
	c->read_wants = LOOP_READ;
	c->write_wants = LOOP_WRITE;
}

/* One handshake step. Returns false if c was destroyed. */
static bool
conn_handshake_step(struct conn *c)
{
	int ret = c->ops->handshake != NULL ? c->ops->handshake(c->t) : 1;
	bool local, *flag;

	if (ret == 0) {
		c->hs_wants = conn_transport_wants(c, LOOP_READ);
		conn_update_events(c);
		return true;
	}
	if (ret < 0)
		return conn_fail(c, "handshake failed");
	c->handshaking = false;
	c->hs_wants = 0;
	loop_timer_remove(&c->hs_timer);
	conn_update_events(c);
	if (c->cb.handshake_done == NULL)
		return true;
	flag = conn_guard_enter(c, &local);
	c->cb.handshake_done(c->ctx);
	return conn_guard_leave(c, flag, &local);
}

/* ---- output ---- */

/* Write what we can. Returns false if c was destroyed. */
static bool
conn_flush(struct conn *c)
{
	bool local, *flag;

	if (c->zout_unflushed && !c->handshaking) {
		/* end of a write burst: everything deflated so far goes out
		 * whole, so the peer never waits for bytes we hold */
		c->zout_strm->next_in = NULL;
		c->zout_strm->avail_in = 0;
		conn_deflate_run(c, Z_SYNC_FLUSH);
		c->zout_unflushed = false;
	}
	while (buf_len(&c->out) > 0 && !c->handshaking) {
		size_t len = buf_len(&c->out);
		ssize_t n;

		if (c->next_ops != NULL && len > c->plain_left)
			len = c->plain_left;
		n = c->ops->write(c->t, buf_data(&c->out), len);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				c->write_wants = conn_transport_wants(c, LOOP_WRITE);
				break;
			}
			buf_reset(&c->out);
			return conn_fail(c, NULL);
		}
		c->write_wants = LOOP_WRITE;
		buf_consume(&c->out, (size_t)n);
		if (c->next_ops != NULL) {
			c->plain_left -= (size_t)n;
			if (c->plain_left == 0)
				conn_switch(c);
		}
	}
	if (c->closing && (buf_len(&c->out) == 0 || c->handshaking))
		return conn_finish_close(c);
	if (buf_len(&c->out) < CONN_LOW_WATER && c->cb.drained != NULL && !c->closing &&
	    !c->handshaking && c->next_ops == NULL) {
		flag = conn_guard_enter(c, &local);
		c->cb.drained(c->ctx);
		if (!conn_guard_leave(c, flag, &local))
			return false;
	}
	conn_update_events(c);
	return true;
}

/* ---- input ---- */

/* Inflate what zin holds into data (at most len). Returns the bytes made,
 * 0 when more input is needed, -1 on corrupt data or the end of the
 * compressed stream (*error_r says which). */
static ssize_t
conn_inflate(struct conn *c, uint8_t *data, size_t len, const char **error_r)
{
	z_stream *z = c->zin_strm;
	size_t in_len = buf_len(&c->zin);
	int ret;

	if (c->zin_ended) {
		/* RFC 4978 has no end of the stream but the connection's */
		*error_r = "compressed stream ended";
		return -1;
	}
	z->next_in = buf_data(&c->zin);
	z->avail_in = (uInt)in_len;
	z->next_out = data;
	z->avail_out = (uInt)len;
	ret = inflate(z, Z_SYNC_FLUSH);
	buf_consume(&c->zin, in_len - z->avail_in);
	if (buf_len(&c->zin) == 0)
		buf_reset(&c->zin);
	c->zin_full = z->avail_out == 0;
	if (ret == Z_STREAM_END) {
		/* deliver what came with the final block, end at the next call */
		c->zin_ended = true;
		c->zin_full = true;
		if (len - z->avail_out == 0) {
			*error_r = "compressed stream ended";
			return -1;
		}
	} else if (ret != Z_OK && ret != Z_BUF_ERROR) {
		*error_r = z->msg != NULL ? z->msg : "invalid compressed data";
		return -1;
	}
	return (ssize_t)(len - z->avail_out);
}

/* Decompressing read: like a transport read (> 0, 0 end, -1 errno), plus
 * -2 when compressed input was consumed without output yet (try again) and
 * -3 for corrupt data (*error_r). Reads the transport only when zin holds
 * nothing inflatable, at most CONN_READ_SIZE at a time. */
static ssize_t
conn_read_inflate(struct conn *c, uint8_t *data, size_t len, const char **error_r)
{
	ssize_t n;
	uint8_t *p;

	if (buf_len(&c->zin) > 0 || c->zin_full) {
		n = conn_inflate(c, data, len, error_r);
		if (n != 0)
			return n < 0 ? -3 : n;
	}
	p = buf_reserve(&c->zin, CONN_READ_SIZE);
	if (p == NULL)
		PANIC("unbounded buffer refused data");
	n = c->ops->read(c->t, p, CONN_READ_SIZE);
	if (n <= 0)
		return n;
	buf_commit(&c->zin, (size_t)n);
	n = conn_inflate(c, data, len, error_r);
	if (n < 0)
		return -3;
	return n > 0 ? n : -2;
}

/* Read and deliver; keeps reading while the transport or the inflater
 * holds buffered input. Returns false if c was destroyed. */
static bool
conn_read(struct conn *c)
{
	uint8_t data[CONN_READ_SIZE];
	bool local, *flag;

	for (unsigned i = 0; conn_may_read(c); i++) {
		const char *error = NULL;
		ssize_t n;

		if (i == CONN_READ_BURST) {
			conn_kick(c);
			break;
		}
		if (c->zin_strm != NULL)
			n = conn_read_inflate(c, data, sizeof(data), &error);
		else
			n = c->ops->read(c->t, data, sizeof(data));
		if (n == -2)
			continue;
		if (n == -3) {
			char reason[256];

			snprintf(reason, sizeof(reason), "decompression failed: %s", error);
			return conn_report_closed(c, reason);
		}
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
				c->read_wants = conn_transport_wants(c, LOOP_READ);
				break;
			}
			return conn_fail(c, NULL);
		}
		c->read_wants = LOOP_READ;
		if (n == 0)
			return conn_report_closed(c, "disconnected");
		flag = conn_guard_enter(c, &local);
		c->cb.input(c->ctx, data, (size_t)n);
		if (!conn_guard_leave(c, flag, &local))
			return false;
		if (!conn_in_pending(c))
			break;
	}
	conn_update_events(c);
	return true;
}

/* ---- dispatch ---- */

/* Returns false if c was destroyed. */
static bool
conn_dispatch(struct conn *c, unsigned events)
{
	if (c->handshaking) {
		if (c->closing)
			return conn_finish_close(c);
		if (!conn_handshake_step(c))
			return false;
		if (c->closed || c->handshaking)
			return true;
		/* just done: send what was queued, read what came along */
		events |= LOOP_READ | LOOP_WRITE;
	}
	if ((events & c->write_wants) && (conn_out_waiting(c) || c->closing)) {
		if (!conn_flush(c))
			return false;
		if (c->closed)
			return true;
	}
	if ((events & c->read_wants) && conn_may_read(c))
		return conn_read(c);
	return true;
}

static void
conn_event(void *ctx, unsigned events)
{
	struct conn *c = ctx;
	bool local, *flag;

	if (c->closed || c->paused)
		return;
	flag = conn_guard_enter(c, &local);
	if (conn_dispatch(c, events))
		(void)conn_guard_leave(c, flag, &local);
}

/* ---- public ---- */

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closed)
		return;
	if (c->zout_strm != NULL) {
		if (len > UINT_MAX)
			PANIC("write too large for deflate");
		c->zout_strm->next_in = (Bytef *)(uintptr_t)data;
		c->zout_strm->avail_in = (uInt)len;
		conn_deflate_run(c, Z_NO_FLUSH);
		c->zout_unflushed = true;
	} else if (buf_append(&c->out, data, len) < 0) {
		PANIC("unbounded buffer refused data");
	}
	conn_update_events(c);
}

void
conn_set_paused(struct conn *c, bool paused)
{
	c->paused = paused;
	if (!c->closed)
		conn_update_events(c);
	/* output queued meanwhile, or input buffered inside the transport,
	 * is picked up from the loop */
	if (!paused && !c->closed)
		conn_kick(c);
}

static void
conn_hold_done(void *ctx)
{
	struct conn *c = ctx;

	loop_timer_remove(&c->hold);
	conn_set_paused(c, false);
}

void
conn_hold(struct conn *c, uint64_t msecs)
{
	if (msecs == 0 || c->closed)
		return;
	conn_set_paused(c, true);
	if (c->hold == NULL)
		c->hold = loop_timer_add(c->loop, msecs, conn_hold_done, c);
	else
		loop_timer_reset(c->hold, msecs);
}

size_t
conn_out_pending(const struct conn *c)
{
	return buf_len(&c->out);
}

void
conn_set_reading(struct conn *c, bool enabled)
{
	bool was = c->reading;

	c->reading = enabled;
	if (c->closed)
		return;
	conn_update_events(c);
	/* input buffered inside the transport or the inflater does not make
	 * the socket readable */
	if (enabled && !was && conn_may_read(c) && conn_in_pending(c))
		conn_kick(c);
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	/* closed() is reported from the loop (write event, or the kick timer
	 * during a handshake), never from inside the caller's stack */
	if (c->handshaking)
		conn_kick(c);
	conn_update_events(c);
}

void
conn_set_transport(struct conn *c, const struct conn_transport_ops *ops, void *t)
{
	ASSERT(c->ops == &conn_plain_ops && c->next_ops == NULL && c->zin_strm == NULL);
	ASSERT(ops->read != NULL && ops->write != NULL && ops->free != NULL);
	if (buf_len(&c->out) > 0) {
		c->next_ops = ops;
		c->next_t = t;
		c->plain_left = buf_len(&c->out);
	} else {
		c->next_ops = ops;
		c->next_t = t;
		conn_switch(c);
	}
	if (!c->closed)
		c->hs_timer = loop_timer_add(c->loop, c->hs_timeout, conn_hs_timeout, c);
	conn_update_events(c);
}

static void
conn_compress_free(struct conn *c)
{
	if (c->zin_strm != NULL) {
		(void)inflateEnd(c->zin_strm);
		mem_free(&c->zin_strm);
	}
	if (c->zout_strm != NULL) {
		(void)deflateEnd(c->zout_strm);
		mem_free(&c->zout_strm);
	}
	buf_deinit(&c->zin);
}

void
conn_set_compress(struct conn *c, int level, const uint8_t *pending, size_t pending_len)
{
	ASSERT(c->zin_strm == NULL && c->next_ops == NULL && !c->handshaking);
	ASSERT(level >= 0 && level <= 9);
	c->zin_strm = mem_zalloc(sizeof(*c->zin_strm));
	c->zout_strm = mem_zalloc(sizeof(*c->zout_strm));
	c->zin_strm->zalloc = c->zout_strm->zalloc = conn_zalloc;
	c->zin_strm->zfree = c->zout_strm->zfree = conn_zfree;
	/* RFC 4978 4: raw deflate (RFC 1951), no zlib header; the peer may use
	 * a 32 KiB window, so ours must be that large too */
	if (inflateInit2(c->zin_strm, -15) != Z_OK ||
	    deflateInit2(c->zout_strm, level, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		PANIC("zlib initialisation failed");
	buf_init(&c->zin, 0);
	if (pending_len > 0) {
		if (buf_append(&c->zin, pending, pending_len) < 0)
			PANIC("unbounded buffer refused data");
		/* inflated from the loop, never from inside this call */
		if (!c->closed)
			conn_kick(c);
	}
}

bool
conn_compressing(const struct conn *c)
{
	return c->zin_strm != NULL;
}

void
conn_set_handshake_timeout(struct conn *c, unsigned msecs)
{
	c->hs_timeout = msecs;
	if (c->hs_timer != NULL)
		loop_timer_reset(c->hs_timer, msecs);
}

bool
conn_handshaking(const struct conn *c)
{
	return c->handshaking || c->next_ops != NULL;
}

void *
conn_transport(const struct conn *c)
{
	if (c->next_ops != NULL)
		return c->next_t;
	return c->ops == &conn_plain_ops ? NULL : c->t;
}

int
conn_fd(const struct conn *c)
{
	return c->fd;
}

void
conn_free(struct conn **cp)
{
	struct conn *c = *cp;

	if (c == NULL)
		return;
	if (c->destroyed != NULL)
		*c->destroyed = true;
	loop_io_remove(&c->io);
	loop_timer_remove(&c->hs_timer);
	loop_timer_remove(&c->kick);
	loop_timer_remove(&c->hold);
	if (c->ops->free != NULL)
		c->ops->free(c->t);
	if (c->next_ops != NULL)
		c->next_ops->free(c->next_t);
	conn_compress_free(c);
	close(c->fd);
	buf_deinit(&c->out);
	mem_free(cp);
}
