/*
 * fuzz-smtp-client.c - libFuzzer target for the SMTP client engine, with the
 * fuzz input as the server.
 *
 * Input: one settings byte (PIPELINING/CHUNKING use, TLS policy, AUTH,
 * 8-bit/SMTPUTF8 message, deferred body), then segments separated by NUL.
 * A segment "!x" is an event (t: TLS done, f: TLS failed, T: timeout,
 * D: connection dropped, d: output drained, b: answer a deferred body
 * request, q: quit); any other segment is server bytes. The harness sends up
 * to three messages on ready (the second with REQUIRETLS) and QUITs after.
 * The run is made twice, server
 * bytes fed whole and one byte at a time: the transcripts (client bytes and
 * hook calls) must be identical. Checked always: nothing is written after
 * close, closed comes once and after io close, every message result is
 * decided, and the client never sends a lone CR or LF.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "smtp/smtp-client.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct smtp_client *c;
	struct buf tr, out;
	bool io_closed, closed, bytewise, defer, body_pending;
	unsigned sends, body_step;
	struct smtp_client_message msg;
	struct smtp_client_rcpt rcpts[3];
};

static const char body[] = "Subject: x\n\n.a\r\nb\rc\r\n..\n";

static void
io_write(void *ctx, const uint8_t *d, size_t len)
{
	struct fz *f = ctx;

	if (f->io_closed)
		abort();
	buf_append(&f->tr, d, len);
	buf_append(&f->out, d, len);
}

static void
io_close(void *ctx)
{
	struct fz *f = ctx;

	if (f->io_closed)
		abort();
	f->io_closed = true;
	buf_append_str(&f->tr, "[close]");
}

static void
io_timer(void *ctx, unsigned s)
{
	struct fz *f = ctx;

	buf_printf(&f->tr, "[t%u]", s);
}

static size_t
io_pending(void *ctx)
{
	struct fz *f = ctx;

	return buf_len(&f->out);
}

static void
hk_ready(struct smtp_client *c, void *ctx)
{
	struct fz *f = ctx;

	buf_append_str(&f->tr, "[ready]");
	if (f->sends > 0) {
		f->sends--;
		f->body_step = 0;
		f->msg.requiretls = f->sends == 1; /* the second message asks for REQUIRETLS */
		smtp_client_send_message(c, &f->msg);
	} else {
		smtp_client_quit(c);
	}
}

static void
hk_starttls(struct smtp_client *c, void *ctx)
{
	struct fz *f = ctx;

	buf_append_str(&f->tr, "[starttls]");
}

static void
give_body(struct fz *f)
{
	size_t n = sizeof(body) - 1, at = f->body_step * 7;
	size_t len = at >= n ? 0 : (n - at < 7 ? n - at : 7);

	f->body_step++;
	smtp_client_body_data(f->c, (const uint8_t *)body + at, len, at + len >= n);
}

static void
hk_body_read(struct smtp_client *c, void *ctx)
{
	struct fz *f = ctx;

	if (f->body_pending)
		abort();
	if (f->defer)
		f->body_pending = true;
	else
		give_body(f);
}

static void
hk_done(struct smtp_client *c, void *ctx, const struct smtp_client_result *r, unsigned n)
{
	struct fz *f = ctx;
	unsigned i;

	f->body_pending = false;
	for (i = 0; i < n; i++) {
		if (r[i].status == SMTP_CLIENT_STATUS_NONE || r[i].text == NULL)
			abort();
		buf_printf(&f->tr, "[r%u %d %u %s %s]", i, r[i].status, r[i].code, r[i].enhanced,
			   r[i].text);
	}
}

static void
hk_closed(struct smtp_client *c, void *ctx, const struct smtp_client_result *r)
{
	struct fz *f = ctx;

	if (f->closed || !f->io_closed)
		abort();
	f->closed = true;
	buf_printf(&f->tr, "[closed %d %u %s %s]", r->status, r->code, r->enhanced, r->text);
}

static void
run(const uint8_t *data, size_t size, uint8_t flags, bool bytewise, struct buf *tr)
{
	static const struct smtp_client_hooks hooks = {
		hk_ready, hk_starttls, hk_body_read, hk_done, hk_closed,
	};
	struct smtp_client_io io = { io_write, io_close, io_timer, NULL };
	struct smtp_client_settings set;
	struct fz f;
	size_t pos = 0;

	memset(&f, 0, sizeof(f));
	buf_init(&f.tr, 0);
	buf_init(&f.out, 0);
	f.sends = 3;
	f.defer = (flags & 0x40) != 0;
	f.rcpts[0].address = "a@x.example";
	f.rcpts[0].notify = SMTP_CLIENT_NOTIFY_FAILURE;
	f.rcpts[0].orcpt = "rfc822;a@x.example";
	f.rcpts[1].address = "b@x.example";
	f.rcpts[2].address = "\xc3\xa9@x.example";
	f.msg.sender = (flags & 0x20) != 0 ? "" : "s@y.example";
	f.msg.rcpts = f.rcpts;
	f.msg.n_rcpts = 3;
	f.msg.size = 100;
	f.msg.eightbit = (flags & 0x08) != 0;
	f.msg.smtputf8 = (flags & 0x10) != 0;
	f.msg.envid = "id";
	f.msg.ret = SMTP_CLIENT_RET_HDRS;
	smtp_client_settings_init_default(&set);
	set.helo_name = "me.example";
	set.no_pipelining = (flags & 0x01) != 0;
	set.no_chunking = (flags & 0x02) != 0;
	set.tls = (enum smtp_client_tls_policy)((flags >> 2) & 0x01 ? 2 : (flags >> 7));
	if ((flags & 0x80) != 0) {
		set.auth_user = "u";
		set.auth_password = "p";
		set.auth_plaintext_allowed = (flags & 0x04) != 0;
		io.out_pending = io_pending;
		set.max_output = 16;
	}
	f.c = smtp_client_new(&set, &hooks, &f, &io, &f);
	smtp_client_start(f.c);
	while (pos <= size && f.c != NULL) {
		const uint8_t *nul = memchr(data + pos, 0, size - pos);
		size_t end = nul != NULL ? (size_t)(nul - data) : size, i;

		if (end - pos == 2 && data[pos] == '!') {
			switch (data[pos + 1]) {
			case 't': smtp_client_tls_done(f.c, true); break;
			case 'f': smtp_client_tls_done(f.c, false); break;
			case 'T': smtp_client_timeout(f.c); break;
			case 'D': smtp_client_disconnected(f.c, "eof"); break;
			case 'd': buf_reset(&f.out); smtp_client_output_drained(f.c); break;
			case 'q': smtp_client_quit(f.c); break;
			case 'b':
				if (f.body_pending) {
					f.body_pending = false;
					give_body(&f);
				}
				break;
			default: break;
			}
		} else if (bytewise) {
			for (i = pos; i < end; i++)
				smtp_client_input(f.c, data + i, 1);
		} else {
			smtp_client_input(f.c, data + pos, end - pos);
		}
		pos = end + 1;
	}
	/* the client never sends a lone CR or LF */
	for (pos = 0; pos < buf_len(&f.tr); pos++) {
		const uint8_t *t = buf_data(&f.tr);

		if (t[pos] == '\r' && (pos + 1 >= buf_len(&f.tr) || t[pos + 1] != '\n'))
			abort();
		if (t[pos] == '\n' && (pos == 0 || t[pos - 1] != '\r'))
			abort();
	}
	smtp_client_free(&f.c);
	buf_append(tr, buf_data(&f.tr), buf_len(&f.tr));
	buf_deinit(&f.tr);
	buf_deinit(&f.out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;

	if (size == 0)
		return 0;
	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data + 1, size - 1, data[0], false, &a);
	run(data + 1, size - 1, data[0], true, &b);
	if (buf_len(&a) != buf_len(&b) || memcmp(buf_data(&a), buf_data(&b), buf_len(&a)) != 0)
		abort();
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
