/*
 * fuzz-smtp-server.c - libFuzzer target driving a whole SMTP session.
 *
 * Input: two control bytes, then what the client sends.
 *   byte 0: bit 0 deferred hooks, bit 1 small limits, bit 2 free from
 *           io->close, bits 3-4 end of session (free / shutdown / timeout /
 *           shutdown with a hook pending), bits 5-7 refusal pattern
 *   byte 1: piece size (1-256) for the second run
 * The session runs twice: all input at once with hooks that answer from
 * inside the call, and in pieces with the chosen hook mode. Hooks alternate
 * accept and refuse by a counter, so both runs decide alike and must produce
 * the same output. Every reply line must be well formed, nothing may be
 * written after close, and data_end may only follow a clean message.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "smtp/smtp-server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz {
	struct smtp_server_session *s;
	struct buf out, scratch;
	unsigned calls, pattern;
	bool deferred, free_on_close, closed, has_pending;
	unsigned p_code;
	const char *p_enh, *p_text;
};

static void
decide(struct fz *f, unsigned ok_code, const char *ok_text)
{
	unsigned n = ++f->calls;
	unsigned code = ok_code;
	const char *enh = NULL, *text = ok_text;

	if (f->pattern != 0 && n % (f->pattern + 1) == 0) {
		code = 550;
		enh = "5.7.1";
		text = "Refused\nby policy";
	} else if (f->pattern != 0 && n % (f->pattern + 3) == 0) {
		code = 451;
		enh = "4.3.0";
		text = "Try\r\nlater";
	} else if (f->pattern == 7 && n % 29 == 0) {
		code = 421;
		text = "Going away";
	}
	if (f->deferred) {
		f->has_pending = true;
		f->p_code = code;
		f->p_enh = enh;
		f->p_text = text;
		return;
	}
	smtp_server_hook_done(f->s, code, enh, text);
}

static void
h_connect(struct smtp_server_session *s, void *ctx)
{
	struct fz *f = ctx;

	/* refuse the greeting only in pattern 6, on the first call */
	if (f->pattern == 6) {
		f->calls++;
		if (f->deferred) {
			f->has_pending = true;
			f->p_code = 554;
			f->p_enh = NULL;
			f->p_text = NULL;
		} else {
			smtp_server_hook_done(s, 554, NULL, NULL);
		}
		return;
	}
	decide(f, 220, NULL);
}

static void
h_helo(struct smtp_server_session *s, void *ctx, const char *domain, bool ehlo)
{
	decide(ctx, 250, domain);
}

static void
h_mail(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
       const struct smtp_server_mail_params *params)
{
	decide(ctx, 250, NULL);
}

static void
h_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to)
{
	decide(ctx, 250, NULL);
}

static void
h_data_begin(struct smtp_server_session *s, void *ctx)
{
	decide(ctx, 250, NULL);
}

static void
h_data_write(struct smtp_server_session *s, void *ctx, const uint8_t *data, size_t len)
{
	if (len == 0)
		abort();
}

static void
h_data_end(struct smtp_server_session *s, void *ctx, uint64_t size)
{
	struct fz *f = ctx;

	if (smtp_server_session_get_mail_from(s) == NULL ||
	    smtp_server_session_get_rcpt_count(s) == 0)
		abort();
	buf_reset(&f->scratch);
	if (smtp_server_format_received(s, "QID", "x@y", &f->scratch) < 0)
		abort();
	decide(f, 250, "Ok: queued as QID");
}

static void
io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fz *f = ctx;

	if (f->closed)
		abort();
	buf_append(&f->out, data, len);
}

static void
io_close(void *ctx)
{
	struct fz *f = ctx;

	if (f->closed)
		abort();
	f->closed = true;
	if (f->free_on_close)
		smtp_server_session_free(&f->s);
}

static const struct smtp_server_hooks hooks = {
	.connect = h_connect, .helo = h_helo, .mail = h_mail, .rcpt = h_rcpt,
	.data_begin = h_data_begin, .data_write = h_data_write, .data_end = h_data_end,
};
static const struct smtp_server_io io = { io_write, io_close };

static void
complete(struct fz *f)
{
	while (f->has_pending && f->s != NULL) {
		f->has_pending = false;
		smtp_server_hook_done(f->s, f->p_code, f->p_enh, f->p_text);
	}
}

/* Every line "ddd" ("-" or " ") text CRLF, text without CR/LF/controls. */
static void
check_replies(const struct buf *out)
{
	const uint8_t *p = buf_data(out), *end = p + buf_len(out);

	while (p < end) {
		const uint8_t *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);

		if (crlf == NULL || crlf - p < 4 || crlf - p > 510)
			abort();
		for (int i = 0; i < 3; i++) {
			if (p[i] < '0' || p[i] > '9')
				abort();
		}
		if (p[3] != ' ' && p[3] != '-')
			abort();
		for (const uint8_t *q = p; q < crlf; q++) {
			if (*q < 32 || *q >= 127)
				abort();
		}
		p = crlf + 2;
	}
}

static void
run(const uint8_t *data, size_t size, unsigned ctl, size_t piece, bool deferred,
    struct buf *result)
{
	struct smtp_server_settings set = { .hostname = "mx.fuzz.example" };
	struct fz f;
	size_t pos = 0;
	unsigned ending = (ctl >> 3) & 3;

	memset(&f, 0, sizeof(f));
	f.pattern = (ctl >> 5) & 7;
	f.deferred = deferred;
	f.free_on_close = (ctl & 4) != 0;
	buf_init(&f.out, 0);
	buf_init(&f.scratch, 0);
	smtp_server_limits_init_default(&set.limits);
	if ((ctl & 2) != 0) {
		set.limits.max_line = 512;
		set.limits.max_recipients = 3;
		set.limits.max_message_size = 64;
		set.limits.max_errors = 5;
		set.limits.max_params = 2;
	}
	f.s = smtp_server_session_new(&set, &hooks, &f, &io, &f, "192.0.2.7", NULL);
	smtp_server_session_start(f.s);
	complete(&f);
	while (pos < size && f.s != NULL) {
		size_t n = size - pos < piece ? size - pos : piece;

		if (!smtp_server_session_wants_input(f.s))
			break;
		smtp_server_session_input(f.s, data + pos, n);
		pos += n;
		if (ending != 3 || pos < size)
			complete(&f);
	}
	if (f.s != NULL) {
		if (ending == 1 || ending == 3)
			smtp_server_session_shutdown(f.s);
		else if (ending == 2)
			smtp_server_session_timeout(f.s);
		complete(&f);
	}
	smtp_server_session_free(&f.s);
	check_replies(&f.out);
	buf_append(result, buf_data(&f.out), buf_len(&f.out));
	buf_deinit(&f.out);
	buf_deinit(&f.scratch);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	unsigned ctl;
	size_t piece;

	/* the whole-input run passes everything in one call, which the glue
	 * contract allows only up to half the input buffer */
	if (size < 2 || size > 32768)
		return 0;
	ctl = data[0];
	piece = 1 + data[1];
	data += 2;
	size -= 2;
	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data, size, ctl, size == 0 ? 1 : size, false, &a);
	run(data, size, ctl, piece, (ctl & 1) != 0, &b);
	/* a shutdown while a hook is pending cuts pipelined commands short in
	 * the deferred run only, so then the outputs may differ */
	if (((ctl >> 3) & 3) != 3 || (ctl & 1) == 0) {
		if (buf_len(&a) != buf_len(&b) ||
		    memcmp(buf_data(&a), buf_data(&b), buf_len(&a)) != 0)
			abort();
	}
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
