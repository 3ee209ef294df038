/*
 * test-smtp-client.c - the SMTP client engine against a scripted fake server.
 *
 * A script is a list of steps: server bytes to feed, or events ("!tls" the
 * handshake succeeded, "!tlsfail", "!timeout", "!drop", "!drained"). The
 * harness plays the glue and the queue: io->write appends the client's bytes
 * to a transcript, hooks append "[...]" lines, ready sends the prepared
 * message (as many times as asked) and then QUITs, body_read answers with the
 * next chunk of a prepared body. Each script runs with the server bytes fed
 * whole, one byte at a time, and split in two; the transcripts must be
 * identical, and equal to the expected one.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-client.h"

#include <stdio.h>
#include <string.h>

struct harness {
	struct smtp_client *c;
	struct smtp_client_settings set;
	struct buf tr;
	int mode;                       /* 0 whole, 1 byte by byte, 2 halves */
	struct smtp_client_message msg;
	struct smtp_client_rcpt rcpts[4];
	unsigned sends;                 /* messages still to send on ready */
	bool no_quit;                   /* on ready with nothing to send: stay */
	const char *body;
	size_t body_len, body_pos, chunk;
	bool body_defer;                /* answer body_read from "!body" steps */
	bool body_pending;
	size_t pending_out;             /* for io->out_pending */
	bool use_pending;
	bool closed, io_closed;
	bool free_on_closed;
	unsigned timer;
};

static const char *
status_name(enum smtp_client_status s)
{
	switch (s) {
	case SMTP_CLIENT_STATUS_OK: return "OK";
	case SMTP_CLIENT_STATUS_TEMPFAIL: return "TEMP";
	case SMTP_CLIENT_STATUS_PERMFAIL: return "PERM";
	default: return "NONE";
	}
}

static void
add_result(struct harness *h, const struct smtp_client_result *r)
{
	buf_printf(&h->tr, "%s %u %s %s%s (%s)", status_name(r->status), r->code, r->enhanced,
		   r->local ? "local " : "", smtp_client_stage_name(r->stage), r->text);
}

static void
io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct harness *h = ctx;

	T_ASSERT(!h->io_closed);
	buf_append(&h->tr, data, len);
	h->pending_out += len;
}

static void
io_close(void *ctx)
{
	struct harness *h = ctx;

	T_ASSERT(!h->io_closed);
	h->io_closed = true;
	buf_append_str(&h->tr, "[close]\n");
}

static void
io_timer(void *ctx, unsigned seconds)
{
	struct harness *h = ctx;

	h->timer = seconds;
}

static size_t
io_out_pending(void *ctx)
{
	struct harness *h = ctx;

	return h->pending_out;
}

static void
hook_ready(struct smtp_client *c, void *ctx)
{
	struct harness *h = ctx;

	buf_append_str(&h->tr, "[ready]\n");
	T_INTEQ(smtp_client_get_timeout(c), 0);
	if (h->sends > 0) {
		h->sends--;
		h->body_pos = 0;
		smtp_client_send_message(c, &h->msg);
	} else if (!h->no_quit) {
		smtp_client_quit(c);
	}
}

static void
hook_starttls(struct smtp_client *c, void *ctx)
{
	struct harness *h = ctx;

	buf_append_str(&h->tr, "[starttls]\n");
}

static void
give_body(struct harness *h)
{
	size_t n = h->body_len - h->body_pos;

	if (n > h->chunk)
		n = h->chunk;
	h->body_pos += n;
	smtp_client_body_data(h->c, (const uint8_t *)h->body + h->body_pos - n, n,
			      h->body_pos == h->body_len);
}

static void
hook_body_read(struct smtp_client *c, void *ctx)
{
	struct harness *h = ctx;

	T_ASSERT(!h->body_pending);
	if (h->body_defer) {
		h->body_pending = true;
		return;
	}
	give_body(h);
}

static void
hook_message_done(struct smtp_client *c, void *ctx, const struct smtp_client_result *res,
		  unsigned n)
{
	struct harness *h = ctx;
	unsigned i;

	h->body_pending = false;
	for (i = 0; i < n; i++) {
		buf_printf(&h->tr, "[rcpt %u: ", i);
		add_result(h, &res[i]);
		buf_append_str(&h->tr, "]\n");
	}
}

static void
hook_closed(struct smtp_client *c, void *ctx, const struct smtp_client_result *res)
{
	struct harness *h = ctx;

	T_ASSERT(h->io_closed);
	T_ASSERT(!h->closed);
	h->closed = true;
	buf_append_str(&h->tr, "[closed ");
	add_result(h, res);
	buf_append_str(&h->tr, "]\n");
	if (h->free_on_closed)
		smtp_client_free(&h->c);
}

static void
harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	smtp_client_settings_init_default(&h->set);
	h->set.helo_name = "me.example";
	h->set.tls = SMTP_CLIENT_TLS_NONE;
	h->rcpts[0].address = "a@x.example";
	h->rcpts[1].address = "b@x.example";
	h->rcpts[2].address = "c@x.example";
	h->msg.sender = "s@me.example";
	h->msg.rcpts = h->rcpts;
	h->msg.n_rcpts = 1;
	h->sends = 1;
	h->body = "Subject: t\r\n\r\nhello\r\n.dot\r\n";
	h->body_len = strlen(h->body);
	h->chunk = 1000;
}

static void
feed(struct harness *h, const char *s)
{
	size_t len = strlen(s), i;

	switch (h->mode) {
	case 0:
		smtp_client_input(h->c, (const uint8_t *)s, len);
		break;
	case 1:
		for (i = 0; i < len && h->c != NULL; i++)
			smtp_client_input(h->c, (const uint8_t *)s + i, 1);
		break;
	default:
		smtp_client_input(h->c, (const uint8_t *)s, len / 2);
		if (h->c != NULL)
			smtp_client_input(h->c, (const uint8_t *)s + len / 2, len - len / 2);
		break;
	}
}

/* Run a script once; the transcript is in h->tr (caller frees). */
static void
run_once(struct harness *h, const char *const *script)
{
	static const struct smtp_client_hooks hooks = {
		.ready = hook_ready,
		.starttls = hook_starttls,
		.body_read = hook_body_read,
		.message_done = hook_message_done,
		.closed = hook_closed,
	};
	struct smtp_client_io io = { io_write, io_close, io_timer, NULL };
	size_t i;

	if (h->use_pending)
		io.out_pending = io_out_pending;
	buf_init(&h->tr, 0);
	h->c = smtp_client_new(&h->set, &hooks, h, &io, h);
	smtp_client_start(h->c);
	for (i = 0; script[i] != NULL && h->c != NULL; i++) {
		const char *s = script[i];

		if (strcmp(s, "!tls") == 0)
			smtp_client_tls_done(h->c, true);
		else if (strcmp(s, "!tlsfail") == 0)
			smtp_client_tls_done(h->c, false);
		else if (strcmp(s, "!timeout") == 0) {
			buf_printf(&h->tr, "[timeout %u]\n", h->timer);
			smtp_client_timeout(h->c);
		} else if (strcmp(s, "!drop") == 0)
			smtp_client_disconnected(h->c, NULL);
		else if (strcmp(s, "!drained") == 0) {
			buf_append_str(&h->tr, "[drained]\n");
			h->pending_out = 0;
			smtp_client_output_drained(h->c);
		} else if (strcmp(s, "!body") == 0) {
			T_ASSERT(h->body_pending);
			h->body_pending = false;
			give_body(h);
		} else if (strcmp(s, "!quit") == 0)
			smtp_client_quit(h->c);
		else
			feed(h, s);
	}
	smtp_client_free(&h->c);
}

/* Run in all three modes and compare with expect. */
static void
run(const struct harness *proto, const char *const *script, const char *expect)
{
	struct harness h;
	int mode;

	for (mode = 0; mode < 3; mode++) {
		bool ok;

		h = *proto;
		h.msg.rcpts = h.rcpts;
		h.mode = mode;
		run_once(&h, script);
		ok = T_STREQ(buf_cstr(&h.tr), expect);
		if (!ok)
			fprintf(stderr, "  (mode %d)\n", mode);
		buf_deinit(&h.tr);
		if (!ok)
			break;
	}
}

#define GREET "220 mx.x.example ESMTP\r\n"
#define EHLO_PLAIN "250-mx.x.example\r\n250 8BITMIME\r\n"
#define EHLO_PIPE "250-mx.x.example\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 SIZE 1000\r\n"
#define BODY_OUT "Subject: t\r\n\r\nhello\r\n..dot\r\n.\r\n"

static void
test_simple(void)
{
	struct harness h;
	static const char *const script[] = {
		GREET, EHLO_PLAIN, "250 2.1.0 ok\r\n", "250 2.1.5 ok\r\n", "354 go\r\n",
		"250 2.0.0 queued as X\r\n", "221 2.0.0 bye\r\n", NULL,
	};

	harness_init(&h);
	run(&h, script,
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: OK 250 2.0.0 end of DATA (queued as X)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_greeting_refused(void)
{
	struct harness h;
	static const char *const script[] = { "554-5.7.1 go away\r\n554 5.7.1 really\r\n", NULL };
	static const char *const script4[] = { "421 4.3.2 busy\r\n", NULL };

	harness_init(&h);
	run(&h, script, "QUIT\r\n[close]\n"
	    "[closed PERM 554 5.7.1 initial greeting (go away really)]\n");
	run(&h, script4, "[close]\n[closed TEMP 421 4.3.2 initial greeting (busy)]\n");
}

static void
test_helo_fallback(void)
{
	struct harness h;
	static const char *const script[] = {
		GREET, "502 5.5.1 no EHLO\r\n", "250 hi\r\n", "250 ok\r\n", "250 ok\r\n",
		"354 go\r\n", "250 ok\r\n", "221 bye\r\n", NULL,
	};

	harness_init(&h);
	run(&h, script,
	    "EHLO me.example\r\nHELO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: OK 250 2.0.0 end of DATA (ok)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* after HELO there is no 8BITMIME: an 8-bit message fails 5.6.3 */
	h.msg.eightbit = true;
	run(&h, (const char *const[]){ GREET, "500 what\r\n", "250 hi\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\nHELO me.example\r\n[ready]\n"
	    "[rcpt 0: PERM 0 5.6.3 local MAIL FROM (message has 8-bit content, but host does "
	    "not offer 8BITMIME)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_starttls(void)
{
	struct harness h;
	static const char *const script[] = {
		GREET, "250-mx\r\n250-STARTTLS\r\n250 8BITMIME\r\n",
		"220 2.0.0 go\r\n250 injected\r\n", "!tls", "250-mx\r\n250 8BITMIME\r\n",
		"221 bye\r\n", NULL,
	};

	harness_init(&h);
	h.sends = 0;
	h.set.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	/* the "250 injected" after 220 is plain text: thrown away, not taken as
	 * the reply to the EHLO after TLS */
	run(&h, script,
	    "EHLO me.example\r\nSTARTTLS\r\n[starttls]\nEHLO me.example\r\n[ready]\nQUIT\r\n"
	    "[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	h.set.tls = SMTP_CLIENT_TLS_REQUIRED;
	run(&h, script,
	    "EHLO me.example\r\nSTARTTLS\r\n[starttls]\nEHLO me.example\r\n[ready]\nQUIT\r\n"
	    "[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* required but not offered */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, NULL },
	    "EHLO me.example\r\nQUIT\r\n[close]\n[closed TEMP 0 4.7.4 local STARTTLS (TLS is "
	    "required, but was not offered by host)]\n");
	/* opportunistic, not offered: plain text */
	h.set.tls = SMTP_CLIENT_TLS_OPPORTUNISTIC;
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* refused STARTTLS: opportunistic goes on, required fails */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 no\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\nSTARTTLS\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	h.set.tls = SMTP_CLIENT_TLS_REQUIRED;
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 STARTTLS\r\n", "454 4.7.0 no\r\n",
				       NULL },
	    "EHLO me.example\r\nSTARTTLS\r\nQUIT\r\n[close]\n[closed TEMP 0 4.7.4 local STARTTLS "
	    "(STARTTLS was refused by host)]\n");
	/* handshake failure */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 STARTTLS\r\n", "220 go\r\n",
				       "!tlsfail", NULL },
	    "EHLO me.example\r\nSTARTTLS\r\n[starttls]\n[close]\n[closed TEMP 0 4.7.5 local "
	    "STARTTLS (TLS handshake with server failed)]\n");
}

static void
test_auth(void)
{
	struct harness h;

	harness_init(&h);
	h.sends = 0;
	h.set.auth_user = "user";
	h.set.auth_password = "pass";
	h.set.tls_active = true;
	/* PLAIN with initial response: base64("\0user\0pass") */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 AUTH LOGIN PLAIN\r\n",
				       "235 2.7.0 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* LOGIN only (pre-standard "AUTH=" form) */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 AUTH=LOGIN\r\n",
				       "334 VXNlcm5hbWU6\r\n", "334 UGFzc3dvcmQ6\r\n",
				       "235 2.7.0 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\nAUTH LOGIN\r\ndXNlcg==\r\ncGFzcw==\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* failure is soft */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 AUTH PLAIN\r\n",
				       "535 5.7.8 bad credentials\r\n", NULL },
	    "EHLO me.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\nQUIT\r\n[close]\n"
	    "[closed TEMP 535 5.7.8 AUTH (bad credentials)]\n");
	/* not offered */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, NULL },
	    "EHLO me.example\r\nQUIT\r\n[close]\n[closed TEMP 0 4.7.0 local AUTH (AUTH is "
	    "configured, but not offered by host)]\n");
	/* no credentials over plain text */
	h.set.tls_active = false;
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 AUTH PLAIN\r\n", NULL },
	    "EHLO me.example\r\nQUIT\r\n[close]\n[closed TEMP 0 4.7.0 local AUTH (refusing to "
	    "send credentials without TLS)]\n");
	/* ... unless the glue allows it (a relay on the loopback interface) */
	h.set.auth_plaintext_allowed = true;
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 AUTH PLAIN\r\n", "235 2.7.0 ok\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\nAUTH PLAIN AHVzZXIAcGFzcw==\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

/* Mixed per-recipient results, with and without PIPELINING: same results. */
static void
test_mixed_rcpts(void)
{
	struct harness h;
	const char *results =
	    "[rcpt 0: OK 250 2.0.0 end of DATA (queued)]\n"
	    "[rcpt 1: TEMP 450 4.2.0 RCPT TO (mailbox busy)]\n"
	    "[rcpt 2: PERM 550 5.1.1 RCPT TO (no such user)]\n"
	    "[ready]\nQUIT\r\n[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n";
	struct buf exp;

	harness_init(&h);
	h.msg.n_rcpts = 3;
	buf_init(&exp, 0);
	buf_printf(&exp, "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n"
		   "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nRCPT TO:<c@x.example>\r\n"
		   "DATA\r\n" BODY_OUT "%s", results);
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "450 4.2.0 mailbox busy\r\n", "550 5.1.1 no such user\r\n",
				       "354 go\r\n", "250 queued\r\n", "221 bye\r\n", NULL },
	    buf_cstr(&exp));
	/* pipelined: one group, replies in one packet */
	buf_reset(&exp);
	buf_printf(&exp, "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n"
		   "RCPT TO:<a@x.example>\r\nRCPT TO:<b@x.example>\r\nRCPT TO:<c@x.example>\r\n"
		   "DATA\r\n" BODY_OUT "%s", results);
	run(&h, (const char *const[]){ GREET, EHLO_PIPE,
				       "250 ok\r\n250 ok\r\n450 4.2.0 mailbox busy\r\n"
				       "550 5.1.1 no such user\r\n354 go\r\n",
				       "250 queued\r\n", "221 bye\r\n", NULL },
	    buf_cstr(&exp));
	buf_deinit(&exp);
}

static void
test_all_refused(void)
{
	struct harness h;

	harness_init(&h);
	h.msg.n_rcpts = 2;
	/* no DATA; RSET before the connection is reused */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "550 5.1.1 no\r\n",
				       "551 5.1.6 moved\r\n", "250 reset\r\n", "221 bye\r\n",
				       NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\n[rcpt 0: PERM 550 5.1.1 RCPT TO (no)]\n"
	    "[rcpt 1: PERM 551 5.1.6 RCPT TO (moved)]\nRSET\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* pipelined: DATA went out; its 554 changes nothing; a 354 gets "." */
	run(&h, (const char *const[]){ GREET, EHLO_PIPE, "250 ok\r\n550 5.1.1 no\r\n"
				       "551 5.1.6 moved\r\n354 go\r\n",
				       "554 5.5.1 no valid rcpt\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n.\r\n[rcpt 0: PERM 550 5.1.1 RCPT TO (no)]\n"
	    "[rcpt 1: PERM 551 5.1.6 RCPT TO (moved)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* MAIL refused */
	run(&h, (const char *const[]){ GREET, EHLO_PIPE, "553 5.7.1 sender refused\r\n"
				       "503 5.5.1 no MAIL\r\n503 5.5.1 no MAIL\r\n503 no\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n[rcpt 0: PERM 553 5.7.1 MAIL FROM (sender "
	    "refused)]\n[rcpt 1: PERM 553 5.7.1 MAIL FROM (sender refused)]\n[ready]\nQUIT\r\n"
	    "[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_size(void)
{
	struct harness h;

	harness_init(&h);
	h.msg.size = 5000;
	run(&h, (const char *const[]){ GREET, EHLO_PIPE, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[rcpt 0: PERM 0 5.3.4 local MAIL FROM (message size "
	    "5000 exceeds size limit 1000 of server)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	h.msg.size = 500;
	run(&h, (const char *const[]){ GREET, EHLO_PIPE, "552 5.3.4 too big\r\n"
				       "503 no\r\n503 no\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example> SIZE=500\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n[rcpt 0: PERM 552 5.3.4 MAIL FROM (too big)]\n"
	    "[ready]\nQUIT\r\n[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_data_refused(void)
{
	struct harness h;

	harness_init(&h);
	h.msg.n_rcpts = 2;
	/* 354, then 451 after the data: every accepted recipient temporary */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "550 5.1.1 no\r\n", "354 go\r\n",
				       "451 4.3.0 local error\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: TEMP 451 4.3.0 end of DATA (local error)]\n"
	    "[rcpt 1: PERM 550 5.1.1 RCPT TO (no)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* DATA itself refused: RSET */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "250 ok\r\n", "554 5.7.1 no data\r\n", "250 ok\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n"
	    "[rcpt 0: PERM 554 5.7.1 DATA (no data)]\n"
	    "[rcpt 1: PERM 554 5.7.1 DATA (no data)]\nRSET\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_bdat(void)
{
	struct harness h;

	harness_init(&h);
	h.chunk = 10;
	h.body = "Subject: t\n\n.hello\n";
	h.body_len = strlen(h.body);
	/* without PIPELINING each chunk waits for its 250 */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250 CHUNKING\r\n", "250 ok\r\n",
				       "250 ok\r\n", "250 2.0.0 chunk\r\n", "250 2.0.0 done\r\n",
				       "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "BDAT 10\r\nSubject: tBDAT 12 LAST\r\n\r\n\r\n.hello\r\n"
	    "[rcpt 0: OK 250 2.0.0 end of DATA (done)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* with PIPELINING the chunks go out back to back; a failed chunk fails
	 * the message and RSET follows */
	run(&h, (const char *const[]){ GREET, "250-mx\r\n250-PIPELINING\r\n250 CHUNKING\r\n",
				       "250 ok\r\n250 ok\r\n", "552 5.3.4 too much\r\n",
				       "503 5.5.1 no\r\n", "250 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "BDAT 10\r\nSubject: tBDAT 12 LAST\r\n\r\n\r\n.hello\r\n"
	    "[rcpt 0: PERM 552 5.3.4 end of DATA (too much)]\nRSET\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_malformed_reply(void)
{
	struct harness h;

	harness_init(&h);
	h.msg.n_rcpts = 2;
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "250-ok\r\n550 mismatch\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\n[close]\n"
	    "[rcpt 0: TEMP 0 4.5.0 local RCPT TO (malformed reply from server: multi-line "
	    "reply with different codes)]\n"
	    "[rcpt 1: TEMP 0 4.5.0 local RCPT TO (malformed reply from server: multi-line "
	    "reply with different codes)]\n"
	    "[closed TEMP 0 4.5.0 local RCPT TO (malformed reply from server: multi-line "
	    "reply with different codes)]\n");
	/* an unsolicited reply while idle */
	h.sends = 0;
	h.no_quit = true;
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 surprise\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[close]\n[closed TEMP 0 4.5.0 local idle (unexpected "
	    "reply from server)]\n");
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "421 4.4.2 idle too long\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[close]\n[closed TEMP 421 4.4.2 idle (idle too long)]\n");
}

static void
test_overlong_reply_line(void)
{
	struct harness h;
	struct buf line, exp;
	size_t i;

	harness_init(&h);
	h.set.reply_limits.max_line = 64;
	buf_init(&line, 0);
	buf_append_str(&line, "550 5.1.1 ");
	for (i = 0; i < 200; i++)
		buf_append_byte(&line, 'x');
	buf_append_str(&line, "\r\n");
	buf_init(&exp, 0);
	buf_append_str(&exp, "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n"
		       "RCPT TO:<a@x.example>\r\n[rcpt 0: PERM 550 5.1.1 RCPT TO (");
	for (i = 0; i < 54; i++)
		buf_append_byte(&exp, 'x');
	buf_append_str(&exp, ")]\nRSET\r\n[ready]\nQUIT\r\n[close]\n"
		       "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", buf_cstr(&line),
				       "250 ok\r\n", "221 bye\r\n", NULL },
	    buf_cstr(&exp));
	buf_deinit(&line);
	buf_deinit(&exp);
}

static void
test_drop_and_timeout(void)
{
	struct harness h;

	harness_init(&h);
	h.msg.n_rcpts = 2;
	h.body_defer = true;
	/* dropped in the middle of the body: accepted and refused keep apart */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "550 5.1.1 no\r\n", "354 go\r\n", "!drop", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n[close]\n"
	    "[rcpt 0: TEMP 0 4.4.2 local message body (lost connection with server while "
	    "message body)]\n[rcpt 1: PERM 550 5.1.1 RCPT TO (no)]\n"
	    "[closed TEMP 0 4.4.2 local message body (lost connection with server while "
	    "message body)]\n");
	/* timeout waiting for the final reply: 600 s (RFC 5321 4.5.3.2.6) */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "250 ok\r\n", "354 go\r\n", "!body", "!timeout", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n" BODY_OUT "[timeout 600]\n[close]\n"
	    "[rcpt 0: TEMP 0 4.4.2 local end of DATA (conversation with server timed out while "
	    "end of DATA)]\n"
	    "[rcpt 1: TEMP 0 4.4.2 local end of DATA (conversation with server timed out while "
	    "end of DATA)]\n"
	    "[closed TEMP 0 4.4.2 local end of DATA (conversation with server timed out while "
	    "end of DATA)]\n");
	/* greeting timeout: 300 s; DATA init: 120 s */
	run(&h, (const char *const[]){ "!timeout", NULL },
	    "[timeout 300]\n[close]\n[closed TEMP 0 4.4.2 local initial greeting (conversation "
	    "with server timed out while initial greeting)]\n");
	h.msg.n_rcpts = 1;
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n", "250 ok\r\n",
				       "!timeout", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "DATA\r\n[timeout 120]\n[close]\n[rcpt 0: TEMP 0 4.4.2 local DATA (conversation "
	    "with server timed out while DATA)]\n[closed TEMP 0 4.4.2 local DATA (conversation "
	    "with server timed out while DATA)]\n");
	/* 421 in the middle: temporary for all open */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "250 ok\r\n",
				       "421 4.3.2 shutting down\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "[close]\n[rcpt 0: TEMP 421 4.3.2 RCPT TO (shutting down)]\n"
	    "[closed TEMP 421 4.3.2 RCPT TO (shutting down)]\n");
}

static void
test_reuse(void)
{
	struct harness h;

	harness_init(&h);
	h.sends = 2;
	h.msg.n_rcpts = 2;
	/* first message: one refused RCPT, one accepted, delivered; second:
	 * both refused, RSET, then QUIT */
	run(&h, (const char *const[]){ GREET, EHLO_PIPE,
				       "250 ok\r\n250 ok\r\n550 no\r\n354 go\r\n", "250 one\r\n",
				       "250 ok\r\n550 no\r\n550 no\r\n554 no rcpt\r\n",
				       "250 reset\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: OK 250 2.0.0 end of DATA (one)]\n[rcpt 1: PERM 550 5.0.0 RCPT TO (no)]\n"
	    "[ready]\nMAIL FROM:<s@me.example>\r\nRCPT TO:<a@x.example>\r\n"
	    "RCPT TO:<b@x.example>\r\nDATA\r\n[rcpt 0: PERM 550 5.0.0 RCPT TO (no)]\n"
	    "[rcpt 1: PERM 550 5.0.0 RCPT TO (no)]\nRSET\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

static void
test_8bit_utf8_dsn(void)
{
	struct harness h;
	const char *ehlo = "250-mx\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250-DSN\r\n250 SIZE\r\n";

	harness_init(&h);
	h.msg.eightbit = true;
	h.msg.smtputf8 = true;
	h.msg.sender = "j\xc3\xb6rg@me.example";
	h.msg.size = 77;
	h.msg.ret = SMTP_CLIENT_RET_HDRS;
	h.msg.envid = "q1+x";
	h.rcpts[0].notify = SMTP_CLIENT_NOTIFY_FAILURE | SMTP_CLIENT_NOTIFY_DELAY;
	h.rcpts[0].orcpt = "rfc822;a+b@x.example";
	h.msg.n_rcpts = 2;
	h.rcpts[1].address = "bad address";
	run(&h, (const char *const[]){ GREET, ehlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
				       "250 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<j\xc3\xb6rg@me.example> SIZE=77 "
	    "BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=q1+2Bx\r\nRCPT TO:<a@x.example> "
	    "NOTIFY=FAILURE,DELAY ORCPT=rfc822;a+2Bb@x.example\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: OK 250 2.0.0 end of DATA (ok)]\n[rcpt 1: PERM 0 5.1.3 local RCPT TO "
	    "(invalid recipient address syntax)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* SMTPUTF8 needed but not offered */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[rcpt 0: PERM 0 5.6.7 local MAIL FROM (SMTPUTF8 is "
	    "required, but was not offered by host)]\n[rcpt 1: PERM 0 5.6.7 local MAIL FROM "
	    "(SMTPUTF8 is required, but was not offered by host)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* a UTF-8 sender without the smtputf8 flag is invalid */
	h.msg.smtputf8 = false;
	run(&h, (const char *const[]){ GREET, ehlo, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[rcpt 0: PERM 0 5.1.7 local MAIL FROM (invalid sender "
	    "address syntax)]\n[rcpt 1: PERM 0 5.1.7 local MAIL FROM (invalid sender address "
	    "syntax)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

/* RFC 8689 4.2.1: REQUIRETLS in MAIL FROM, only over TLS to a host offering it. */
static void
test_requiretls(void)
{
	struct harness h;
	const char *ehlo = "250-mx\r\n250-REQUIRETLS\r\n250 8BITMIME\r\n";

	harness_init(&h);
	h.msg.requiretls = true;
	h.set.tls_active = true;
	run(&h, (const char *const[]){ GREET, ehlo, "250 ok\r\n", "250 ok\r\n", "354 go\r\n",
				       "250 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example> REQUIRETLS\r\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n" BODY_OUT
	    "[rcpt 0: OK 250 2.0.0 end of DATA (ok)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* TLS, but the host does not offer it: nothing is sent */
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[rcpt 0: PERM 0 5.7.30 local MAIL FROM (REQUIRETLS "
	    "is required, but was not offered by host)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
	/* offered (wrongly) without TLS: still nothing is sent */
	h.set.tls_active = false;
	run(&h, (const char *const[]){ GREET, ehlo, "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\n[rcpt 0: PERM 0 5.7.30 local MAIL FROM (REQUIRETLS "
	    "is required, but the connection is not encrypted)]\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

/* The body is pulled only while the output is below max_output. */
static void
test_flow_control(void)
{
	struct harness h;

	harness_init(&h);
	h.use_pending = true;
	h.set.max_output = 10;
	h.chunk = 8;
	h.body = "aaaaaaaaaaaaaaaaaaaa";       /* 20 octets: 3 chunks */
	h.body_len = strlen(h.body);
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "!drained", "250 ok\r\n", "250 ok\r\n",
				       "!drained", "354 go\r\n", "!drained", "!drained",
				       "250 ok\r\n", "221 bye\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nMAIL FROM:<s@me.example>\r\n[drained]\n"
	    "RCPT TO:<a@x.example>\r\nDATA\r\n[drained]\naaaaaaaaaaaaaaaa[drained]\n"
	    "aaaa\r\n.\r\n[drained]\n[rcpt 0: OK 250 2.0.0 end of DATA (ok)]\n[ready]\n"
	    "QUIT\r\n[close]\n[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

/* Body content is cleaned on the way out: long lines broken, lone LF fixed;
 * the statistics say so. */
static void
test_long_body_line(void)
{
	struct harness h;
	struct buf body;
	size_t i;

	harness_init(&h);
	h.sends = 0;
	buf_init(&body, 0);
	buf_append_str(&body, "X: y\n\n");
	for (i = 0; i < 1500; i++)
		buf_append_byte(&body, 'a');
	h.body = buf_cstr(&body);
	h.body_len = buf_len(&body);
	h.chunk = 100;
	h.sends = 1;
	h.set.tls = SMTP_CLIENT_TLS_NONE;
	buf_init(&h.tr, 0);
	{
		static const char *const script[] = { GREET, EHLO_PLAIN, "250 ok\r\n",
						       "250 ok\r\n", "354 go\r\n", NULL };
		struct smtp_client_hooks hooks = {
			.ready = hook_ready, .body_read = hook_body_read,
			.message_done = hook_message_done, .closed = hook_closed,
		};
		struct smtp_client_io io = { io_write, io_close, io_timer, NULL };
		const char *t;

		h.c = smtp_client_new(&h.set, &hooks, &h, &io, &h);
		smtp_client_start(h.c);
		for (i = 0; script[i] != NULL; i++)
			feed(&h, script[i]);
		t = strstr(buf_cstr(&h.tr), "DATA\r\n");
		T_ASSERT(t != NULL);
		if (t != NULL) {
			t += 6;
			T_ASSERT(strncmp(t, "X: y\r\n\r\n", 8) == 0);
			T_INTEQ(strcspn(t + 8, "\r"), 998);
			T_ASSERT(strncmp(t + 8 + 998, "\r\n", 2) == 0);
			T_INTEQ(strlen(t), 8 + 998 + 2 + 502 + 2 + 3);
		}
		T_INTEQ(smtp_client_get_body_bytes(h.c), 0);  /* set when the message ends */
		feed(&h, "250 ok\r\n");
		T_INTEQ(smtp_client_get_lines_broken(h.c), 1);
		T_INTEQ(smtp_client_get_body_bytes(h.c), 8 + 998 + 2 + 502 + 2 + 3);
		smtp_client_free(&h.c);
	}
	buf_deinit(&h.tr);
	buf_deinit(&body);
}

/* Free from inside a hook. */
static void
test_free_in_hook(void)
{
	struct harness h;

	harness_init(&h);
	h.sends = 0;
	h.free_on_closed = true;
	run(&h, (const char *const[]){ GREET, EHLO_PLAIN, "221 bye\r\n250 late\r\n", NULL },
	    "EHLO me.example\r\n[ready]\nQUIT\r\n[close]\n"
	    "[closed OK 0 2.0.0 local QUIT (connection closed)]\n");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_simple),
		TEST_ENTRY(test_greeting_refused),
		TEST_ENTRY(test_helo_fallback),
		TEST_ENTRY(test_starttls),
		TEST_ENTRY(test_auth),
		TEST_ENTRY(test_mixed_rcpts),
		TEST_ENTRY(test_all_refused),
		TEST_ENTRY(test_size),
		TEST_ENTRY(test_data_refused),
		TEST_ENTRY(test_bdat),
		TEST_ENTRY(test_malformed_reply),
		TEST_ENTRY(test_overlong_reply_line),
		TEST_ENTRY(test_drop_and_timeout),
		TEST_ENTRY(test_reuse),
		TEST_ENTRY(test_8bit_utf8_dsn),
		TEST_ENTRY(test_requiretls),
		TEST_ENTRY(test_flow_control),
		TEST_ENTRY(test_long_body_line),
		TEST_ENTRY(test_free_in_hook),
		{ NULL, NULL },
	};

	return test_main("smtp-client", tests);
}
