/*
 * conn.c - see conn.h.
 *
 * Invariant: the loop watches READ when reading is enabled and the
 * connection is not closing; WRITE when output is pending. After calling
 * any owner callback, code checks the destroyed flag before touching c.
 */
#include "core/conn.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/mem.h"

#define CONN_READ_SIZE 16384

struct conn {
	struct loop *loop;
	int fd;
	struct loop_io *io;
	struct conn_callbacks cb;
	void *ctx;
	struct buf out;
	bool reading;
	bool closing;
	bool closed;
	bool *destroyed;
};

static void conn_event(void *ctx, unsigned events);

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

static void
conn_update_events(struct conn *c)
{
	unsigned ev = 0;

	if (c->io == NULL)
		return;
	if (c->reading && !c->closing)
		ev |= LOOP_READ;
	if (buf_len(&c->out) > 0 || c->closing)
		ev |= LOOP_WRITE;
	loop_io_set_events(c->io, ev);
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
	buf_init(&c->out, 0);
	c->io = loop_io_add(loop, fd, LOOP_READ, conn_event, c);
	return c;
}

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
	flag = conn_guard_enter(c, &local);
	c->cb.closed(c->ctx, reason);
	return conn_guard_leave(c, flag, &local);
}

/* Write what we can. Returns false if c was destroyed. */
static bool
conn_flush(struct conn *c)
{
	bool local, *flag;

	while (buf_len(&c->out) > 0) {
		ssize_t n = send(c->fd, buf_data(&c->out), buf_len(&c->out), MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			buf_reset(&c->out);
			return conn_report_closed(c, strerror(errno));
		}
		buf_consume(&c->out, (size_t)n);
	}
	if (buf_len(&c->out) == 0 && c->closing) {
		shutdown(c->fd, SHUT_WR);
		return conn_report_closed(c, NULL);
	}
	if (buf_len(&c->out) < CONN_LOW_WATER && c->cb.drained != NULL && !c->closing) {
		flag = conn_guard_enter(c, &local);
		c->cb.drained(c->ctx);
		if (!conn_guard_leave(c, flag, &local))
			return false;
	}
	conn_update_events(c);
	return true;
}

static void
conn_read(struct conn *c)
{
	uint8_t data[CONN_READ_SIZE];
	ssize_t n = recv(c->fd, data, sizeof(data), 0);
	bool local, *flag;

	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			(void)conn_report_closed(c, strerror(errno));
		return;
	}
	if (n == 0) {
		(void)conn_report_closed(c, "disconnected");
		return;
	}
	flag = conn_guard_enter(c, &local);
	c->cb.input(c->ctx, data, (size_t)n);
	(void)conn_guard_leave(c, flag, &local);
}

static void
conn_event(void *ctx, unsigned events)
{
	struct conn *c = ctx;
	bool local, *flag;

	if (c->closed)
		return;
	flag = conn_guard_enter(c, &local);
	if ((events & LOOP_WRITE) && (buf_len(&c->out) > 0 || c->closing)) {
		if (!conn_flush(c))
			return;
	}
	if (*flag || c->closed) {
		(void)conn_guard_leave(c, flag, &local);
		return;
	}
	if ((events & LOOP_READ) && c->reading && !c->closing)
		conn_read(c);
	(void)conn_guard_leave(c, flag, &local);
}

void
conn_write(struct conn *c, const void *data, size_t len)
{
	if (c->closed)
		return;
	if (buf_append(&c->out, data, len) < 0)
		PANIC("unbounded buffer refused data");
	conn_update_events(c);
}

size_t
conn_out_pending(const struct conn *c)
{
	return buf_len(&c->out);
}

void
conn_set_reading(struct conn *c, bool enabled)
{
	c->reading = enabled;
	if (!c->closed)
		conn_update_events(c);
}

void
conn_close_after_flush(struct conn *c)
{
	if (c->closing)
		return;
	c->closing = true;
	/* closed() is reported from the loop (write event), never from inside
	 * the caller's stack */
	conn_update_events(c);
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
	close(c->fd);
	buf_deinit(&c->out);
	mem_free(cp);
}

