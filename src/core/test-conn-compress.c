/*
 * test-conn-compress.c - core/conn's deflate stage (conn_set_compress, RFC
 * 4978) over a socketpair, the peer using zlib directly: output queued
 * before the switch stays plain, bytes handed over at the switch are
 * inflated first, every write burst is decodable at once (sync flush), a
 * small input that inflates to megabytes arrives in bounded chunks and only
 * while reading is enabled, and corrupt input ends the connection.
 */
#include "core/buf.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/test.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

static struct loop *tloop;

struct owner {
	struct conn *conn;
	struct buf in;         /* plain input before the switch */
	bool switched;
	size_t total, max_chunk, chunks;
	bool echo;
	bool throttle;         /* disable reading after each input, resume by timer */
	bool disabled;
	unsigned input_while_disabled;
	struct loop_timer *resume;
	int closed_count;
	char reason[128];
};

struct peer {
	int fd;
	z_stream def, inf;
	struct buf plain; /* received before the switch */
	struct buf got;   /* inflated after it */
	bool compressed;
	bool eof;
};

/* ---- loop driving ---- */

struct waiter {
	bool (*cond)(void *arg);
	void *arg;
	unsigned left;
	bool met;
	struct loop_timer *timer;
};

static void
waiter_tick(void *ctx)
{
	struct waiter *w = ctx;

	/* cond NULL: just run the loop for w->left ms */
	if (w->cond != NULL && w->cond(w->arg)) {
		w->met = true;
		loop_stop(tloop);
		return;
	}
	if (w->left-- == 0) {
		loop_stop(tloop);
		return;
	}
	loop_timer_reset(w->timer, 1);
}

static bool
run_until(bool (*cond)(void *arg), void *arg, unsigned msecs)
{
	struct waiter w = { .cond = cond, .arg = arg, .left = msecs };

	w.timer = loop_timer_add(tloop, 0, waiter_tick, &w);
	loop_run(tloop);
	loop_timer_remove(&w.timer);
	return w.met;
}

/* ---- peer ---- */

static void
peer_send_raw(struct peer *p, const void *data, size_t len)
{
	const uint8_t *d = data;

	while (len > 0) {
		ssize_t n = send(p->fd, d, len, MSG_NOSIGNAL);

		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			/* let the conn read: the socket buffer is full */
			(void)run_until(NULL, NULL, 1);
			continue;
		}
		T_ASSERT(n > 0);
		if (n <= 0)
			return;
		d += n;
		len -= (size_t)n;
	}
}

/* deflate data with a sync flush into out (appended) */
static void
peer_deflate(struct peer *p, const void *data, size_t len, struct buf *out)
{
	p->def.next_in = (Bytef *)(uintptr_t)data;
	p->def.avail_in = (uInt)len;
	do {
		uint8_t *o = buf_reserve(out, 65536);

		p->def.next_out = o;
		p->def.avail_out = 65536;
		T_ASSERT(deflate(&p->def, Z_SYNC_FLUSH) != Z_STREAM_ERROR);
		buf_commit(out, 65536 - p->def.avail_out);
	} while (p->def.avail_out == 0);
}

static void
peer_send_z(struct peer *p, const void *data, size_t len)
{
	struct buf out;

	buf_init(&out, 0);
	peer_deflate(p, data, len, &out);
	peer_send_raw(p, buf_data(&out), buf_len(&out));
	buf_deinit(&out);
}

static void
peer_drain(struct peer *p)
{
	uint8_t data[4096], plain[16384];

	for (;;) {
		ssize_t n = recv(p->fd, data, sizeof(data), 0);
		size_t off = 0;

		if (n == 0)
			p->eof = true;
		if (n <= 0)
			return;
		if (!p->compressed) {
			/* the switch comes after "OK\r\n" */
			while (off < (size_t)n && !p->compressed) {
				(void)buf_append_byte(&p->plain, data[off++]);
				if (buf_len(&p->plain) >= 4 &&
				    memcmp(buf_data(&p->plain) + buf_len(&p->plain) - 4, "OK\r\n",
					   4) == 0)
					p->compressed = true;
			}
		}
		p->inf.next_in = data + off;
		p->inf.avail_in = (uInt)((size_t)n - off);
		while (p->inf.avail_in > 0) {
			p->inf.next_out = plain;
			p->inf.avail_out = sizeof(plain);
			if (inflate(&p->inf, Z_SYNC_FLUSH) != Z_OK) {
				T_ASSERT(!"peer inflate failed");
				return;
			}
			(void)buf_append(&p->got, plain, sizeof(plain) - p->inf.avail_out);
		}
	}
}

static size_t want_len;

static bool
peer_has_want_len(void *arg)
{
	struct peer *p = arg;

	peer_drain(p);
	return buf_len(&p->got) >= want_len;
}

/* ---- owner ---- */

static void
owner_resume(void *ctx)
{
	struct owner *o = ctx;

	o->disabled = false;
	conn_set_reading(o->conn, true);
}

static void
owner_input(void *ctx, const uint8_t *data, size_t len)
{
	struct owner *o = ctx;
	const uint8_t *eol;

	if (o->disabled)
		o->input_while_disabled++;
	if (o->switched) {
		o->total += len;
		o->chunks++;
		if (len > o->max_chunk)
			o->max_chunk = len;
		if (o->echo)
			conn_write(o->conn, data, len);
		if (o->throttle) {
			o->disabled = true;
			conn_set_reading(o->conn, false);
			loop_timer_reset(o->resume, 0);
		}
		return;
	}
	(void)buf_append(&o->in, data, len);
	eol = memmem(buf_data(&o->in), buf_len(&o->in), "COMPRESS\r\n", 10);
	if (eol == NULL)
		return;
	/* as an engine would: answer in plain text, then switch, handing
	 * over what followed the command line */
	conn_write(o->conn, "OK\r\n", 4);
	o->switched = true;
	conn_set_compress(o->conn, 6, eol + 10, (size_t)(buf_data(&o->in) + buf_len(&o->in) -
							 (eol + 10)));
	T_ASSERT(conn_compressing(o->conn));
	/* from the loop, never from inside conn_set_compress */
	T_INTEQ(o->total, 0);
}

static void
owner_closed(void *ctx, const char *reason)
{
	struct owner *o = ctx;

	o->closed_count++;
	snprintf(o->reason, sizeof(o->reason), "%s", reason != NULL ? reason : "(null)");
}

static const struct conn_callbacks owner_cb = {
	.input = owner_input,
	.closed = owner_closed,
};

static bool
owner_is_closed(void *arg)
{
	return ((struct owner *)arg)->closed_count > 0;
}

static void
setup(struct owner *o, struct peer *p)
{
	int sv[2];

	memset(o, 0, sizeof(*o));
	memset(p, 0, sizeof(*p));
	T_ASSERT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	T_ASSERT(fcntl(sv[0], F_SETFL, O_NONBLOCK) == 0);
	T_ASSERT(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
	tloop = loop_new();
	buf_init(&o->in, 0);
	o->conn = conn_new(tloop, sv[0], &owner_cb, o);
	o->resume = loop_timer_add(tloop, 1000000, owner_resume, o);
	p->fd = sv[1];
	T_ASSERT(deflateInit2(&p->def, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) == Z_OK);
	T_ASSERT(inflateInit2(&p->inf, -15) == Z_OK);
	buf_init(&p->plain, 0);
	buf_init(&p->got, 0);
}

static void
teardown(struct owner *o, struct peer *p)
{
	loop_timer_remove(&o->resume);
	conn_free(&o->conn);
	buf_deinit(&o->in);
	close(p->fd);
	(void)deflateEnd(&p->def);
	(void)inflateEnd(&p->inf);
	buf_deinit(&p->plain);
	buf_deinit(&p->got);
	loop_free(&tloop);
}

/* ---- tests ---- */

static void
test_compress_echo_with_pipelined_input(void)
{
	struct owner o;
	struct peer p;
	struct buf first;

	setup(&o, &p);
	o.echo = true;
	/* the command and compressed data right behind it, in one segment */
	buf_init(&first, 0);
	(void)buf_append(&first, "COMPRESS\r\n", 10);
	peer_deflate(&p, "hello\r\n", 7, &first);
	peer_send_raw(&p, buf_data(&first), buf_len(&first));
	buf_deinit(&first);
	want_len = 7;
	T_ASSERT(run_until(peer_has_want_len, &p, 2000));
	T_MEMEQ(buf_data(&p.plain), buf_len(&p.plain), "OK\r\n", 4);
	T_MEMEQ(buf_data(&p.got), buf_len(&p.got), "hello\r\n", 7);
	/* later bursts too are decodable as soon as they arrive */
	peer_send_z(&p, "world\r\n", 7);
	want_len = 14;
	T_ASSERT(run_until(peer_has_want_len, &p, 2000));
	T_MEMEQ(buf_data(&p.got), buf_len(&p.got), "hello\r\nworld\r\n", 14);
	T_INTEQ(o.closed_count, 0);
	teardown(&o, &p);
}

static bool
owner_has_total(void *arg)
{
	return ((struct owner *)arg)->total >= want_len || ((struct owner *)arg)->closed_count > 0;
}

static void
test_compress_bomb_bounded(void)
{
	struct owner o;
	struct peer p;
	uint8_t *zeros;
	struct buf z;
	const size_t big = 8u << 20;

	setup(&o, &p);
	o.throttle = true;
	peer_send_raw(&p, "COMPRESS\r\n", 10);
	zeros = mem_zalloc(big);
	buf_init(&z, 0);
	peer_deflate(&p, zeros, big, &z);
	mem_free(&zeros);
	T_ASSERT(buf_len(&z) < 64 * 1024);
	peer_send_raw(&p, buf_data(&z), buf_len(&z));
	buf_deinit(&z);
	want_len = big;
	T_ASSERT(run_until(owner_has_total, &o, 20000));
	T_INTEQ(o.total, big);
	T_INTEQ(o.closed_count, 0);
	/* one bounded chunk per input, none while reading was disabled */
	T_ASSERT(o.max_chunk <= 16384);
	T_ASSERT(o.chunks >= big / 16384);
	T_INTEQ(o.input_while_disabled, 0);
	teardown(&o, &p);
}

static void
test_compress_corrupt_input(void)
{
	struct owner o;
	struct peer p;
	static const uint8_t junk[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	setup(&o, &p);
	peer_send_raw(&p, "COMPRESS\r\n", 10);
	peer_send_raw(&p, junk, sizeof(junk));
	T_ASSERT(run_until(owner_is_closed, &o, 2000));
	T_INTEQ(o.closed_count, 1);
	T_ASSERT(strncmp(o.reason, "decompression failed: ", 22) == 0);
	teardown(&o, &p);
}

static void
test_compress_stream_end(void)
{
	struct owner o;
	struct peer p;
	uint8_t out[256];

	setup(&o, &p);
	o.echo = true;
	peer_send_raw(&p, "COMPRESS\r\n", 10);
	/* a final block: its data still arrives, then the connection ends */
	p.def.next_in = (Bytef *)(uintptr_t)"bye\r\n";
	p.def.avail_in = 5;
	p.def.next_out = out;
	p.def.avail_out = sizeof(out);
	T_INTEQ(deflate(&p.def, Z_FINISH), Z_STREAM_END);
	peer_send_raw(&p, out, sizeof(out) - p.def.avail_out);
	T_ASSERT(run_until(owner_is_closed, &o, 2000));
	T_INTEQ(o.total, 5);
	T_STREQ(o.reason, "decompression failed: compressed stream ended");
	teardown(&o, &p);
}

static void
test_compress_peer_eof(void)
{
	struct owner o;
	struct peer p;

	setup(&o, &p);
	o.echo = true;
	peer_send_raw(&p, "COMPRESS\r\n", 10);
	peer_send_z(&p, "x\r\n", 3);
	want_len = 3;
	T_ASSERT(run_until(peer_has_want_len, &p, 2000));
	shutdown(p.fd, SHUT_WR);
	T_ASSERT(run_until(owner_is_closed, &o, 2000));
	T_STREQ(o.reason, "disconnected");
	teardown(&o, &p);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_compress_echo_with_pipelined_input),
		TEST_ENTRY(test_compress_bomb_bounded),
		TEST_ENTRY(test_compress_corrupt_input),
		TEST_ENTRY(test_compress_stream_end),
		TEST_ENTRY(test_compress_peer_eof),
		{ NULL, NULL },
	};

	return test_main("conn-compress", tests);
}
