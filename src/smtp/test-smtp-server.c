/*
 * test-smtp-server.c - the SMTP engine through its public API only.
 *
 * A harness plays the glue: a fake io collects the output, hooks log what
 * they are told and answer either at once (from inside the hook) or later
 * (deferred, answered by the driver between input pieces). Each script is run
 * whole, one byte at a time and split in two at every point, with both kinds
 * of hooks; output, hook log and message bytes must be identical every time.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "smtp/smtp-server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

enum hook_kind { K_CONNECT, K_HELO, K_MAIL, K_RCPT, K_DATA_BEGIN, K_DATA_END, K_COUNT };

struct answer {
	unsigned code;          /* 0: accept with the engine's defaults */
	const char *enh, *text;
};

struct harness {
	struct smtp_server_session *s;
	struct smtp_server_settings set;
	struct buf out, log, msg, received;
	bool closed, deferred, free_on_close, free_in_rcpt, null_hooks, tls;
	bool has_pending;
	struct answer pending;
	struct answer answers[K_COUNT];
};

static time_t
fixed_clock(void)
{
	return 1136214245;      /* Mon, 2 Jan 2006 15:04:05 UTC */
}

static void
answer(struct harness *h, enum hook_kind kind)
{
	struct answer a = h->answers[kind];

	if (h->deferred) {
		T_ASSERT(!h->has_pending);
		h->has_pending = true;
		h->pending = a;
		return;
	}
	if (a.code == 0)
		smtp_server_hook_done(h->s, kind == K_CONNECT ? 220 : 250, NULL, NULL);
	else
		smtp_server_hook_done(h->s, a.code, a.enh, a.text);
}

static void
complete_pending(struct harness *h)
{
	struct answer a = h->pending;

	h->has_pending = false;
	if (a.code == 0)
		a.code = 250;
	smtp_server_hook_done(h->s, a.code, a.enh, a.text);
}

static void
io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct harness *h = ctx;

	T_ASSERT(!h->closed);
	buf_append(&h->out, data, len);
}

static void
io_close(void *ctx)
{
	struct harness *h = ctx;

	T_ASSERT(!h->closed);
	h->closed = true;
	buf_append_str(&h->log, "close\n");
	if (h->free_on_close)
		smtp_server_session_free(&h->s);
}

static void
hook_connect(struct smtp_server_session *s, void *ctx)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "connect\n");
	answer(h, K_CONNECT);
}

static void
hook_helo(struct smtp_server_session *s, void *ctx, const char *domain, bool ehlo)
{
	struct harness *h = ctx;

	buf_printf(&h->log, "%s %s\n", ehlo ? "ehlo" : "helo", domain);
	answer(h, K_HELO);
}

static void
hook_mail(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
	  const struct smtp_server_mail_params *params)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "mail ");
	smtp_address_format_path(from, &h->log);
	buf_printf(&h->log, " size=%llu body=%d utf8=%d", (unsigned long long)params->size,
		   params->body, params->smtputf8);
	if (params->ret != SMTP_DSN_RET_NONE || params->envid[0] != '\0' || params->requiretls)
		buf_printf(&h->log, " ret=%d envid=%s requiretls=%d", params->ret, params->envid,
			   params->requiretls);
	buf_append_byte(&h->log, '\n');
	answer(h, K_MAIL);
}

static void
hook_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to,
	  const struct smtp_server_rcpt_params *params)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "rcpt ");
	smtp_address_format_path(to, &h->log);
	if (params->notify != 0 || params->orcpt != NULL)
		buf_printf(&h->log, " notify=%u orcpt=%s", params->notify,
			   params->orcpt != NULL ? params->orcpt : "-");
	buf_append_byte(&h->log, '\n');
	if (h->free_in_rcpt) {
		smtp_server_session_free(&h->s);
		return;
	}
	if (strncmp(to->localpart, "bad", 3) == 0) {
		if (h->deferred) {
			h->has_pending = true;
			h->pending = (struct answer){ 550, "5.1.1", "No such user" };
		} else {
			smtp_server_hook_done(s, 550, "5.1.1", "No such user");
		}
		return;
	}
	answer(h, K_RCPT);
}

static void
hook_data_begin(struct smtp_server_session *s, void *ctx)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "data_begin\n");
	answer(h, K_DATA_BEGIN);
}

static void
hook_data_write(struct smtp_server_session *s, void *ctx, const uint8_t *data, size_t len)
{
	struct harness *h = ctx;

	buf_append(&h->msg, data, len);
}

static void
hook_data_end(struct smtp_server_session *s, void *ctx, uint64_t size)
{
	struct harness *h = ctx;
	const struct smtp_address *from = smtp_server_session_get_mail_from(s);

	buf_printf(&h->log, "data_end %llu from=", (unsigned long long)size);
	smtp_address_format_path(from, &h->log);
	buf_printf(&h->log, " rcpts=%u", smtp_server_session_get_rcpt_count(s));
	for (unsigned i = 0; i < smtp_server_session_get_rcpt_count(s); i++) {
		const struct smtp_server_rcpt_params *rp;

		rp = smtp_server_session_get_rcpt_params(s, i);

		buf_append_byte(&h->log, ' ');
		smtp_address_format_path(smtp_server_session_get_rcpt(s, i), &h->log);
		if (rp->notify != 0 || rp->orcpt != NULL)
			buf_printf(&h->log, "[%u,%s]", rp->notify,
				   rp->orcpt != NULL ? rp->orcpt : "-");
	}
	buf_printf(&h->log, " helo=%s esmtp=%d body=%d utf8=%d\n", smtp_server_session_get_helo(s),
		   smtp_server_session_is_esmtp(s), smtp_server_session_get_body(s),
		   smtp_server_session_get_smtputf8(s));
	buf_reset(&h->received);
	smtp_server_format_received(s, "Q1", NULL, &h->received);
	if (h->answers[K_DATA_END].code == 0)
		h->answers[K_DATA_END] = (struct answer){ 250, "2.0.0", "Ok: queued as Q1" };
	answer(h, K_DATA_END);
}

static void
hook_rset(struct smtp_server_session *s, void *ctx)
{
	buf_append_str(&((struct harness *)ctx)->log, "rset\n");
}

static void
hook_disconnect(struct smtp_server_session *s, void *ctx)
{
	buf_append_str(&((struct harness *)ctx)->log, "disconnect\n");
}

static const struct smtp_server_hooks hooks = {
	.connect = hook_connect,
	.helo = hook_helo,
	.mail = hook_mail,
	.rcpt = hook_rcpt,
	.data_begin = hook_data_begin,
	.data_write = hook_data_write,
	.data_end = hook_data_end,
	.rset = hook_rset,
	.disconnect = hook_disconnect,
};

static const struct smtp_server_io io = { io_write, io_close };

static void
harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	h->set.hostname = "mx.example";
	smtp_server_limits_init_default(&h->set.limits);
	h->set.now = fixed_clock;
	buf_init(&h->out, 0);
	buf_init(&h->log, 0);
	buf_init(&h->msg, 0);
	buf_init(&h->received, 0);
}

static void
harness_start(struct harness *h)
{
	h->s = smtp_server_session_new(&h->set, h->null_hooks ? NULL : &hooks, h, &io, h,
				       "192.0.2.1", "client.example");
	if (h->tls)
		smtp_server_session_set_tls(h->s, true);
	smtp_server_session_start(h->s);
	while (h->has_pending && h->s != NULL)
		complete_pending(h);
}

/* Feed in pieces (first piece `first` bytes if > 0, then `step`), answering
 * deferred hooks between pieces, as an event loop would. */
static void
harness_feed_split(struct harness *h, const char *in, size_t len, size_t first, size_t step)
{
	size_t pos = 0;

	while (pos < len && h->s != NULL) {
		size_t n = pos == 0 && first > 0 ? first : step;

		if (n > len - pos)
			n = len - pos;
		T_ASSERT(smtp_server_session_wants_input(h->s) || h->closed);
		smtp_server_session_input(h->s, (const uint8_t *)in + pos, n);
		pos += n;
		while (h->has_pending && h->s != NULL)
			complete_pending(h);
	}
}

static void
harness_feed(struct harness *h, const char *in, size_t len, size_t step)
{
	harness_feed_split(h, in, len, 0, step);
}

static void
harness_deinit(struct harness *h)
{
	smtp_server_session_free(&h->s);
	buf_deinit(&h->out);
	buf_deinit(&h->log);
	buf_deinit(&h->msg);
	buf_deinit(&h->received);
}

typedef void harness_setup_fn(struct harness *h);

/* One run of a script: output | log | message, as one string. */
static char *
run_script(const char *in, size_t len, harness_setup_fn *setup, bool deferred, size_t first,
	   size_t step)
{
	struct harness h;
	struct buf all;

	harness_init(&h);
	h.deferred = deferred;
	if (setup != NULL)
		setup(&h);
	harness_start(&h);
	harness_feed_split(&h, in, len, first, step);
	smtp_server_session_free(&h.s);
	buf_init(&all, 0);
	buf_printf(&all, "%s|%s|", buf_cstr(&h.out), buf_cstr(&h.log));
	buf_append(&all, buf_data(&h.msg), buf_len(&h.msg));
	harness_deinit(&h);
	return buf_steal_str(&all);
}

/*
 * Run the script whole, byte by byte and at every split, with synchronous
 * and deferred hooks; all must agree. Returns the whole/synchronous result
 * (caller frees) for further checks.
 */
static char *
check_script(const char *in, size_t len, harness_setup_fn *setup)
{
	char *whole = run_script(in, len, setup, false, 0, len == 0 ? 1 : len);

	for (int deferred = 0; deferred < 2; deferred++) {
		char *other = run_script(in, len, setup, deferred, 0, 1);

		T_STREQ(other, whole);
		mem_free(&other);
		for (size_t split = 1; split < len; split++) {
			other = run_script(in, len, setup, deferred, split, len);
			if (!T_STREQ(other, whole)) {
				fprintf(stderr, "  split %zu deferred %d\n", split, deferred);
				mem_free(&other);
				break;
			}
			mem_free(&other);
		}
	}
	return whole;
}

static unsigned
count(const char *hay, const char *needle)
{
	unsigned n = 0;

	for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle))
		n++;
	return n;
}

/* Only the output part of a run_script result. */
static char *
output_of(const char *result)
{
	return mem_strndup(result, strcspn(result, "|"));
}

#define DATA_354 "354 End data with <CR><LF>.<CR><LF>\r\n"
#define TIMEOUT_421 "421 4.4.2 Timeout, closing connection\r\n"
#define SHUTDOWN_421 "421 4.3.2 Server shutting down, try again later\r\n"
#define EHLO_REPLY \
	"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n" \
	"250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"

static void
test_server_transaction(void)
{
	static const char in[] =
		"EHLO client.example\r\n"
		"MAIL FROM:<alice@client.example> BODY=8BITMIME\r\n"
		"RCPT TO:<bob@mx.example>\r\n"
		"RCPT TO:<bad@mx.example>\r\n"
		"RCPT TO:<Postmaster>\r\n"
		"DATA\r\n"
		"Subject: hi\r\n\r\n..dot\r\nbody\r\n.\r\n"
		"QUIT\r\n";
	char *r = check_script(S(in), NULL);

	T_STREQ(r,
		"220 mx.example ESMTP\r\n" EHLO_REPLY
		"250 2.1.0 Ok\r\n"
		"250 2.1.5 Ok\r\n"
		"550 5.1.1 No such user\r\n"
		"250 2.1.5 Ok\r\n"
		"354 End data with <CR><LF>.<CR><LF>\r\n"
		"250 2.0.0 Ok: queued as Q1\r\n"
		"221 2.0.0 Bye\r\n"
		"|connect\nehlo client.example\n"
		"mail <alice@client.example> size=0 body=2 utf8=0\n"
		"rcpt <bob@mx.example>\nrcpt <bad@mx.example>\nrcpt <Postmaster>\n"
		"data_begin\n"
		"data_end 27 from=<alice@client.example> rcpts=2 <bob@mx.example> <Postmaster> "
		"helo=client.example esmtp=1 body=2 utf8=0\n"
		"close\ndisconnect\n"
		"|Subject: hi\r\n\r\n.dot\r\nbody\r\n");
	mem_free(&r);
}

static void
test_server_received(void)
{
	struct harness h;
	static const char in[] = "EHLO c.example\r\nMAIL FROM:<a@c.example>\r\n"
				 "RCPT TO:<b@mx.example>\r\nDATA\r\nx\r\n.\r\n";

	setenv("TZ", "UTC", 1);
	tzset();
	harness_init(&h);
	harness_start(&h);
	harness_feed(&h, S(in), sizeof(in));
	T_STREQ(buf_cstr(&h.received),
		"Received: from c.example (client.example [192.0.2.1])\r\n"
		"\tby mx.example with ESMTP id Q1;\r\n"
		"\tMon, 2 Jan 2006 15:04:05 +0000\r\n");
	/* with "for", and after the transaction (no SMTPUTF8 any more) */
	buf_reset(&h.received);
	smtp_server_session_set_tls(h.s, true);
	T_INTEQ(smtp_server_format_received(h.s, "Q2", "b@mx.example", &h.received), 0);
	T_STREQ(buf_cstr(&h.received),
		"Received: from c.example (client.example [192.0.2.1])\r\n"
		"\tby mx.example with ESMTPS id Q2\r\n"
		"\tfor <b@mx.example>; Mon, 2 Jan 2006 15:04:05 +0000\r\n");
	harness_deinit(&h);
}

static void
test_server_received_variants(void)
{
	struct harness h;
	struct buf small;
	struct smtp_server_session *s;
	static const char in[] = "HELO c\r\nMAIL FROM:<a@c>\r\n";
	static const char in8[] = "EHLO c\r\nMAIL FROM:<\xc3\xa4@c> SMTPUTF8\r\n";

	harness_init(&h);
	s = smtp_server_session_new(&h.set, &hooks, &h, &io, &h, "2001:db8::1", NULL);
	h.s = s;
	smtp_server_session_start(s);
	harness_feed(&h, S(in), sizeof(in));
	T_INTEQ(smtp_server_format_received(s, NULL, NULL, &h.received), 0);
	T_STREQ(buf_cstr(&h.received), "Received: from c (unknown [IPv6:2001:db8::1])\r\n"
				       "\tby mx.example with SMTP;\r\n"
				       "\tMon, 2 Jan 2006 15:04:05 +0000\r\n");
	buf_init(&small, 10);
	T_INTEQ(smtp_server_format_received(s, "Q", NULL, &small), -1);
	T_INTEQ(buf_len(&small), 0);
	buf_deinit(&small);
	harness_deinit(&h);

	harness_init(&h);
	harness_start(&h);
	harness_feed(&h, S(in8), sizeof(in8));
	T_INTEQ(smtp_server_format_received(h.s, "Q", NULL, &h.received), 0);
	T_ASSERT(strstr(buf_cstr(&h.received), "with UTF8SMTP id Q;") != NULL);
	harness_deinit(&h);
}

static void
test_server_pipelined_one_input(void)
{
	static const char in[] =
		"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nRCPT TO:<c@d>\r\nDATA\r\n"
		"line\r\n.\r\nMAIL FROM:<>\r\nRCPT TO:<e@d>\r\nDATA\r\n.\r\nNOOP\r\n";
	char *r = check_script(S(in), NULL);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n" EHLO_REPLY
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.1.5 Ok\r\n" DATA_354
		     "250 2.0.0 Ok: queued as Q1\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		     "250 2.0.0 Ok: queued as Q1\r\n250 2.0.0 Ok\r\n");
	T_INTEQ(count(r, "data_end"), 2);
	T_ASSERT(strstr(r, "data_end 0 from=<> rcpts=1 <e@d>") != NULL);
	mem_free(&out);
	mem_free(&r);
}

/*
 * SMTP smuggling: a fake end followed by a whole second transaction, then the
 * real end, all in one input. The second transaction must stay message content,
 * data_end must never run, nothing 2xx may answer the content, and the message
 * is refused once, at the real end.
 */
static void
test_server_smuggling(void)
{
	static const char *const fake[] = { "\n.\n", "\r.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n" };

	for (size_t i = 0; i < N_ELEMENTS(fake); i++) {
		struct buf in;
		char *r, *out;

		buf_init(&in, 0);
		buf_printf(&in, "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nDATA\r\n"
				"Subject: x\r\n\r\nhello%s"
				"MAIL FROM:<evil@c>\r\nRCPT TO:<victim@d>\r\nDATA\r\nsmuggled\r\n"
				"\r\n.\r\nNOOP\r\n",
			   fake[i]);
		r = check_script(buf_cstr(&in), buf_len(&in), NULL);
		out = output_of(r);
		T_STREQ(out, "220 mx.example ESMTP\r\n" EHLO_REPLY
			     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" DATA_354
			     "550 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)\r\n"
			     "250 2.0.0 Ok\r\n");
		T_INTEQ(count(r, "data_end"), 0);
		T_INTEQ(count(r, "evil"), 1);           /* in the message bytes only */
		T_INTEQ(count(r, "mail <"), 1);
		T_INTEQ(count(r, "rcpt <"), 1);
		T_INTEQ(count(r, "rset\n"), 1);
		T_ASSERT(strstr(r, "|connect\nehlo c\nmail <a@c> size=0 body=0 utf8=0\n"
				   "rcpt <b@d>\ndata_begin\nrset\ndisconnect\n|") != NULL);
		mem_free(&out);
		mem_free(&r);
		buf_deinit(&in);
	}
}

static void
test_server_bare_newline_command(void)
{
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\nRCPT TO:<b@d>\r\nDATA\r\n";
	char *r = check_script(S(in), NULL);

	T_STREQ(r, "220 mx.example ESMTP\r\n" EHLO_REPLY
		   "500 5.5.2 Bare CR or LF not allowed (RFC 5321 2.3.8)\r\n"
		   "|connect\nehlo c\nclose\ndisconnect\n|");
	mem_free(&r);
	r = check_script(S("NOOP\rRSET\r\nNOOP\r\n"), NULL);
	T_STREQ(r, "220 mx.example ESMTP\r\n"
		   "500 5.5.2 Bare CR or LF not allowed (RFC 5321 2.3.8)\r\n"
		   "|connect\nclose\ndisconnect\n|");
	mem_free(&r);
}

static void
test_server_bdat(void)
{
	static const char in[] =
		"EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\n"
		"BDAT 8\r\nhi\0\xff\r\n.\r"
		"BDAT 0\r\n"
		"BDAT 4 LAST\r\n\nend"
		"NOOP\r\n";
	char *r = check_script(S(in), NULL);

	/* binary octets pass untouched; a dot line is not an end in BDAT, and the
	 * CR ending chunk one pairs with the LF starting chunk three */
	T_STREQ(r, "220 mx.example ESMTP\r\n" EHLO_REPLY
		   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		   "250 2.0.0 8 octets received\r\n"
		   "250 2.0.0 0 octets received\r\n"
		   "250 2.0.0 Ok: queued as Q1\r\n"
		   "250 2.0.0 Ok\r\n"
		   "|connect\nehlo c\nmail <a@c> size=0 body=0 utf8=0\nrcpt <b@d>\ndata_begin\n"
		   "data_end 12 from=<a@c> rcpts=1 <b@d> helo=c esmtp=1 body=0 utf8=0\n"
		   "disconnect\n|hi\0\xff\r\n.\r\nend");
	/* T_STREQ stops at the NUL: compare the message bytes exactly too */
	T_MEMEQ(strrchr(r, '|') + 1, 3, "hi\0", 3);
	mem_free(&r);
}

static void
test_server_bdat_refused(void)
{
	static const char in[] =
		"EHLO c\r\n"
		"BDAT 12\r\nMAIL FROM:<>"               /* no MAIL: consumed, 503 */
		"MAIL FROM:<a@c>\r\n"
		"BDAT 5 LAST\r\nRSET\r"                 /* no RCPT: consumed, 503 */
		"RCPT TO:<b@d>\r\n"
		"BDAT 6\r\nab\ncd\r"                    /* bare LF: refused at LAST */
		"DATA\r\n"                              /* not after BDAT */
		"BDAT 2 LAST\r\n\r\n"
		"MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\n"
		"BDAT 3 LAST\r\nab\r"                   /* trailing bare CR */
		"MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nBDAT 0 LAST\r\n"
		"BDAT 3\r\n";                           /* syntax ok, no MAIL: waits for 3 */
	char *r = check_script(S(in), NULL);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n" EHLO_REPLY
		     "503 5.5.1 Need MAIL command\r\n"
		     "250 2.1.0 Ok\r\n"
		     "503 5.5.1 No valid recipients\r\n"
		     "250 2.1.5 Ok\r\n"
		     "250 2.0.0 6 octets received\r\n"
		     "503 5.5.1 DATA not allowed after BDAT\r\n"
		     "550 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		     "550 5.6.0 Message contains bare CR or LF (RFC 5321 2.3.8)\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		     "250 2.0.0 Ok: queued as Q1\r\n");
	T_INTEQ(count(r, "data_end"), 1);
	T_INTEQ(count(r, "rset"), 2);
	mem_free(&out);
	mem_free(&r);
}

static void
test_server_bdat_syntax_closes(void)
{
	char *r = check_script(S("EHLO c\r\nBDAT x\r\nQUIT\r\n"), NULL);

	T_STREQ(r, "220 mx.example ESMTP\r\n" EHLO_REPLY "501 5.5.4 Syntax: BDAT size [LAST]\r\n"
		   "|connect\nehlo c\nclose\ndisconnect\n|");
	mem_free(&r);
}

static void
setup_small_size(struct harness *h)
{
	h->set.limits.max_message_size = 20;
}

static void
test_server_size_limits(void)
{
	static const char in[] =
		"EHLO c\r\n"
		"MAIL FROM:<a@c> SIZE=21\r\n"
		"MAIL FROM:<a@c> SIZE=99999999999999999999999\r\n"
		"MAIL FROM:<a@c> SIZE=20\r\nRCPT TO:<b@d>\r\nDATA\r\n"
		"0123456789\r\n0123456789\r\n.\r\n"
		"MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\n"
		"BDAT 15\r\n0123456789abcdeBDAT 6 LAST\r\nxxxxxx"
		"RCPT TO:<b@d>\r\n"
		"MAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nBDAT 20 LAST\r\n01234567890123456789";
	char *r = check_script(S(in), setup_small_size);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n"
		     "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 20\r\n250-8BITMIME\r\n"
		     "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
		     "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		     "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		     "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 15 octets received\r\n"
		     "552 5.3.4 Message size exceeds fixed maximum message size\r\n"
		     "503 5.5.1 Need MAIL command\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok: queued as Q1\r\n");
	T_INTEQ(count(r, "data_end"), 1);
	T_INTEQ(count(r, "rset"), 2);
	mem_free(&out);
	mem_free(&r);
}

static void
setup_three_rcpts(struct harness *h)
{
	h->set.limits.max_recipients = 3;
}

static void
test_server_max_recipients(void)
{
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\r\n"
				 "RCPT TO:<b1@d>\r\nRCPT TO:<bad@d>\r\nRCPT TO:<b2@d>\r\n"
				 "RCPT TO:<b3@d>\r\nRCPT TO:<b4@d>\r\nDATA\r\n.\r\n";
	char *r = check_script(S(in), setup_three_rcpts);

	T_ASSERT(strstr(r, "250 2.1.5 Ok\r\n550 5.1.1 No such user\r\n250 2.1.5 Ok\r\n"
			   "250 2.1.5 Ok\r\n452 4.5.3 Too many recipients\r\n354 ") != NULL);
	T_ASSERT(strstr(r, "rcpts=3 <b1@d> <b2@d> <b3@d>") != NULL);
	T_INTEQ(count(r, "rcpt <b4"), 0);
	mem_free(&r);
}

static void
setup_short_lines(struct harness *h)
{
	h->set.limits.max_line = 512;
}

static void
test_server_line_too_long(void)
{
	struct buf in;
	char *r;

	buf_init(&in, 0);
	buf_append_str(&in, "NOOP ");
	for (int i = 0; i < 600; i++)
		buf_append_byte(&in, 'x');
	buf_append_str(&in, "\r\nNOOP\r\n");
	r = check_script(buf_cstr(&in), buf_len(&in), setup_short_lines);
	T_STREQ(r, "220 mx.example ESMTP\r\n500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n"
		   "|connect\ndisconnect\n|");
	mem_free(&r);
	buf_deinit(&in);
}

static void
setup_three_errors(struct harness *h)
{
	h->set.limits.max_errors = 3;
}

static void
test_server_max_errors(void)
{
	char *r = check_script(S("FOO\r\nMAIL FROM:<a@b>\r\nNOOP\r\nBAR\r\nNOOP\r\n"),
			       setup_three_errors);

	T_STREQ(r, "220 mx.example ESMTP\r\n500 5.5.2 Command unrecognized\r\n"
		   "503 5.5.1 Send HELO/EHLO first\r\n250 2.0.0 Ok\r\n"
		   "500 5.5.2 Command unrecognized\r\n"
		   "421 4.7.0 Too many errors, closing connection\r\n"
		   "|connect\nclose\ndisconnect\n|");
	mem_free(&r);
}

static void
test_server_sequence_errors(void)
{
	static const char in[] =
		"MAIL FROM:<a@c>\r\n"
		"RCPT TO:<b@d>\r\n"
		"DATA\r\n"
		"HELO c\r\n"
		"RCPT TO:<b@d>\r\n"
		"DATA\r\n"
		"MAIL FROM:<a@c>\r\n"
		"MAIL FROM:<a@c>\r\n"
		"DATA\r\n"
		"RCPT TO:<bad@d>\r\n"
		"DATA\r\n"
		"RSET\r\n"
		"RSET\r\n"
		"QUIT\r\nNOOP\r\n";
	char *r = check_script(S(in), NULL);

	T_STREQ(r, "220 mx.example ESMTP\r\n"
		   "503 5.5.1 Send HELO/EHLO first\r\n"
		   "503 5.5.1 Need MAIL command\r\n"
		   "503 5.5.1 Need MAIL command\r\n"
		   "250 mx.example\r\n"
		   "503 5.5.1 Need MAIL command\r\n"
		   "503 5.5.1 Need MAIL command\r\n"
		   "250 2.1.0 Ok\r\n"
		   "503 5.5.1 Nested MAIL command\r\n"
		   "503 5.5.1 No valid recipients\r\n"
		   "550 5.1.1 No such user\r\n"
		   "503 5.5.1 No valid recipients\r\n"
		   "250 2.0.0 Ok\r\n"
		   "250 2.0.0 Ok\r\n"
		   "221 2.0.0 Bye\r\n"
		   "|connect\nhelo c\nmail <a@c> size=0 body=0 utf8=0\nrcpt <bad@d>\nrset\n"
		   "close\ndisconnect\n|");
	mem_free(&r);
}

static void
test_server_mail_params(void)
{
	static const char in[] =
		"HELO c\r\n"
		"MAIL FROM:<a@c> SIZE=10\r\n"
		"EHLO c\r\n"
		"MAIL FROM:<a@c> BODY=BINARYMIME\r\n"
		"MAIL FROM:<a@c> BODY=9BIT\r\n"
		"MAIL FROM:<a@c> BODY\r\n"
		"MAIL FROM:<a@c> XFOO=HDRS\r\n"
		"MAIL FROM:<a@c> SIZE=1 SIZE=2\r\n"
		"MAIL FROM:<a@c> SIZE=1x\r\n"
		"MAIL FROM:<a@c> SMTPUTF8=yes\r\n"
		"MAIL FROM:<\xc3\xa4@c>\r\n"
		"MAIL FROM:<a@c>  SIZE=1\r\n"
		"MAIL FROM:<a@c\r\n"
		"RCPT TO:<x@y>\r\n"
		"MAIL FROM:<a@c> size=100 body=7bit\r\n"
		"RCPT TO:<\xc3\xa4@d>\r\n"
		"RCPT TO:<b@d> XNOTIFY=NEVER\r\n"
		"RCPT TO:<b@d\r\n"
		"RSET\r\n"
		"MAIL FROM:<\xc3\xa4@c> SMTPUTF8 BODY=8BITMIME\r\n"
		"RCPT TO:<\xc3\xb6@\xc3\xa4.example>\r\n";
	char *r = check_script(S(in), NULL);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n"
		     "250 mx.example\r\n"
		     "555 5.5.4 MAIL parameters require EHLO\r\n"
		     EHLO_REPLY
		     "555 5.5.4 Unsupported BODY type\r\n"
		     "555 5.5.4 Unsupported BODY type\r\n"
		     "555 5.5.4 Unsupported BODY type\r\n"
		     "555 5.5.4 Unsupported MAIL parameter\r\n"
		     "501 5.5.4 Duplicate MAIL parameter\r\n"
		     "501 5.5.4 Syntax: SIZE=<number>\r\n"
		     "501 5.5.4 SMTPUTF8 takes no value\r\n"
		     "553 5.6.7 Non-ASCII sender address requires SMTPUTF8\r\n"
		     "501 5.5.4 Syntax error: Invalid parameter keyword\r\n"
		     "501 5.1.7 Bad sender address syntax: Missing > after address\r\n"
		     "503 5.5.1 Need MAIL command\r\n"
		     "250 2.1.0 Ok\r\n"
		     "553 5.6.7 Non-ASCII recipient address requires SMTPUTF8\r\n"
		     "555 5.5.4 Unsupported RCPT parameter\r\n"
		     "501 5.1.3 Bad recipient address syntax: Missing > after address\r\n"
		     "250 2.0.0 Ok\r\n"
		     "250 2.1.0 Ok\r\n"
		     "250 2.1.5 Ok\r\n");
	mem_free(&out);
	mem_free(&r);
}

static void
setup_many_errors(struct harness *h)
{
	h->set.limits.max_errors = 100;
}

/* ---- DSN (RFC 3461) and REQUIRETLS (RFC 8689) ---- */

/* Accepted DSN parameters reach the hooks and the accessors as received. */
static void
test_server_dsn_accepted(void)
{
	static const char in[] =
		"EHLO c\r\n"
		"MAIL FROM:<a@c> RET=FULL ENVID=QQ+2B1\r\n"
		"RCPT TO:<b@d> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+2Bx@d\r\n"
		"RCPT TO:<e@d> notify=never\r\n"
		"RCPT TO:<f@d> NOTIFY=delay,Success,DELAY\r\n"
		"RCPT TO:<g@d>\r\n"
		"DATA\r\nx\r\n.\r\n"
		"MAIL FROM:<> ret=hdrs\r\n"
		"RCPT TO:<h@d> ORCPT=utf-8;h+C3+A4@d\r\n"
		"RSET\r\n"
		"MAIL FROM:<a@c>\r\n"
		"RCPT TO:<b@d>\r\n"
		"DATA\r\ny\r\n.\r\n";
	char *r = check_script(S(in), NULL);

	T_ASSERT(strstr(r, "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n") != NULL);
	/* no REQUIRETLS without TLS (RFC 8689 4.1) */
	T_ASSERT(strstr(r, "REQUIRETLS") == NULL);
	T_ASSERT(strstr(r, "|connect\nehlo c\n"
			   "mail <a@c> size=0 body=0 utf8=0 ret=1 envid=QQ+2B1 requiretls=0\n"
			   "rcpt <b@d> notify=6 orcpt=rfc822;b+2Bx@d\n"
			   "rcpt <e@d> notify=1 orcpt=-\n"
			   "rcpt <f@d> notify=10 orcpt=-\n"
			   "rcpt <g@d>\n"
			   "data_begin\n"
			   "data_end 3 from=<a@c> rcpts=4 <b@d>[6,rfc822;b+2Bx@d] <e@d>[1,-] "
			   "<f@d>[10,-] <g@d> helo=c esmtp=1 body=0 utf8=0\n"
			   "mail <> size=0 body=0 utf8=0 ret=2 envid= requiretls=0\n"
			   "rcpt <h@d> notify=0 orcpt=utf-8;h+C3+A4@d\n"
			   "rset\n"
			   "mail <a@c> size=0 body=0 utf8=0\n"
			   "rcpt <b@d>\n"
			   "data_begin\n"
			   "data_end 3 from=<a@c> rcpts=1 <b@d> helo=c esmtp=1 body=0 "
			   "utf8=0\n") != NULL);
	T_ASSERT(strstr(r, "250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n") != NULL);
	mem_free(&r);
}

#define NOTIFY_501 \
	"501 5.5.4 Syntax: NOTIFY=NEVER or NOTIFY=SUCCESS,FAILURE,DELAY (any of them)\r\n"

/* Malformed, repeated and out-of-place DSN parameters: 501 5.5.4 with a
 * text saying what is wrong; unknown ones keep 555 (RFC 5321 4.1.1.11). */
static void
test_server_dsn_refused(void)
{
	char envid101[101 + 1], orcpt501[501 + 1];
	struct buf in;
	char *r, *out;

	memset(envid101, 'e', sizeof(envid101) - 1);
	envid101[sizeof(envid101) - 1] = '\0';
	memcpy(orcpt501, "rfc822;", 7);
	memset(orcpt501 + 7, 'o', sizeof(orcpt501) - 8);
	orcpt501[sizeof(orcpt501) - 1] = '\0';
	buf_init(&in, 0);
	buf_printf(&in,
		   "HELO c\r\n"
		   "MAIL FROM:<a@c>\r\n"
		   "RCPT TO:<b@d> NOTIFY=NEVER\r\n"
		   "EHLO c\r\n"
		   "MAIL FROM:<a@c> RET=ALL\r\n"
		   "MAIL FROM:<a@c> RET\r\n"
		   "MAIL FROM:<a@c> RET=FULL RET=HDRS\r\n"
		   "MAIL FROM:<a@c> ENVID=%s\r\n"
		   "MAIL FROM:<a@c> ENVID=a+1\r\n"
		   "MAIL FROM:<a@c> ENVID=a+0D\r\n"
		   "MAIL FROM:<a@c> ENVID=a+c3\r\n"
		   "MAIL FROM:<a@c> ENVID=a+C3+A4\r\n"
		   "MAIL FROM:<a@c> ENVID\r\n"
		   "MAIL FROM:<a@c> REQUIRETLS\r\n"
		   "MAIL FROM:<a@c> REQUIRETLS=YES\r\n"
		   "MAIL FROM:<a@c> ENVID=%.100s RET=HDRS\r\n"
		   "RCPT TO:<b@d> NOTIFY=NEVER,SUCCESS\r\n"
		   "RCPT TO:<b@d> NOTIFY=SOMETIMES\r\n"
		   "RCPT TO:<b@d> NOTIFY=SUCCESS,,DELAY\r\n"
		   "RCPT TO:<b@d> NOTIFY=SUCCESS,\r\n"
		   "RCPT TO:<b@d> NOTIFY\r\n"
		   "RCPT TO:<b@d> NOTIFY=DELAY notify=DELAY\r\n"
		   "RCPT TO:<b@d> ORCPT=rfc822\r\n"
		   "RCPT TO:<b@d> ORCPT=;b@d\r\n"
		   "RCPT TO:<b@d> ORCPT=rfc822;\r\n"
		   "RCPT TO:<b@d> ORCPT=rfc822;b+ZZ\r\n"
		   "RCPT TO:<b@d> ORCPT=rfc822;b+0A\r\n"
		   "RCPT TO:<b@d> ORCPT=rf(c;b\r\n"
		   "RCPT TO:<b@d> ORCPT=%s\r\n"
		   "RCPT TO:<b@d> ORCPT=rfc822;b ORCPT=rfc822;c\r\n"
		   "RCPT TO:<b@d> XDSN=1\r\n"
		   "RCPT TO:<b@d> ORCPT=%.500s NOTIFY=FAILURE\r\n",
		   envid101, envid101, orcpt501, orcpt501);
	r = check_script((const char *)buf_data(&in), buf_len(&in), setup_many_errors);
	out = output_of(r);
	T_STREQ(out, "220 mx.example ESMTP\r\n"
		     "250 mx.example\r\n"
		     "250 2.1.0 Ok\r\n"
		     "555 5.5.4 RCPT parameters require EHLO\r\n"
		     EHLO_REPLY
		     "501 5.5.4 Syntax: RET=FULL or RET=HDRS\r\n"
		     "501 5.5.4 Syntax: RET=FULL or RET=HDRS\r\n"
		     "501 5.5.4 Duplicate MAIL parameter\r\n"
		     "501 5.5.4 Syntax: ENVID=xtext of 1 to 100 characters\r\n"
		     "501 5.5.4 ENVID is not valid xtext of printable US-ASCII\r\n"
		     "501 5.5.4 ENVID is not valid xtext of printable US-ASCII\r\n"
		     "501 5.5.4 ENVID is not valid xtext of printable US-ASCII\r\n"
		     "501 5.5.4 ENVID is not valid xtext of printable US-ASCII\r\n"
		     "501 5.5.4 Syntax: ENVID=xtext of 1 to 100 characters\r\n"
		     "530 5.7.10 REQUIRETLS needs a TLS session\r\n"
		     "501 5.5.4 REQUIRETLS takes no value\r\n"
		     "250 2.1.0 Ok\r\n"
		     "501 5.5.4 NOTIFY=NEVER cannot be combined with other values\r\n"
		     NOTIFY_501
		     NOTIFY_501
		     NOTIFY_501
		     NOTIFY_501
		     "501 5.5.4 Duplicate RCPT parameter\r\n"
		     "501 5.5.4 Syntax: ORCPT=addr-type;xtext of at most 500 characters\r\n"
		     "501 5.5.4 Syntax: ORCPT=addr-type;xtext of at most 500 characters\r\n"
		     "501 5.5.4 Syntax: ORCPT=addr-type;xtext of at most 500 characters\r\n"
		     "501 5.5.4 ORCPT address is not valid xtext\r\n"
		     "501 5.5.4 ORCPT address is not valid xtext\r\n"
		     "501 5.5.4 ORCPT address type is not an atom\r\n"
		     "501 5.5.4 Syntax: ORCPT=addr-type;xtext of at most 500 characters\r\n"
		     "501 5.5.4 Duplicate RCPT parameter\r\n"
		     "555 5.5.4 Unsupported RCPT parameter\r\n"
		     "250 2.1.5 Ok\r\n");
	/* nothing refused reached a hook; the accepted ones did, whole */
	T_ASSERT(count(r, "\nmail ") == 2);
	T_ASSERT(count(r, "\nrcpt ") == 1);
	T_ASSERT(strstr(r, "ret=2 envid=eeeeeeeeee") != NULL);
	T_ASSERT(strstr(r, "notify=4 orcpt=rfc822;oooo") != NULL);
	mem_free(&out);
	mem_free(&r);
	buf_deinit(&in);
}

static void
setup_tls(struct harness *h)
{
	h->tls = true;
}

/* RFC 8689 4.1: offered and accepted over TLS; it lasts one transaction. */
static void
test_server_requiretls(void)
{
	static const char in[] =
		"EHLO c\r\n"
		"MAIL FROM:<a@c> REQUIRETLS ENVID=x\r\n"
		"RCPT TO:<b@d>\r\n"
		"RSET\r\n"
		"MAIL FROM:<a@c> requiretls REQUIRETLS\r\n"
		"MAIL FROM:<a@c>\r\n";
	char *r = check_script(S(in), setup_tls);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n"
		     "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
		     "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n"
		     "250 REQUIRETLS\r\n"
		     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n"
		     "501 5.5.4 Duplicate MAIL parameter\r\n"
		     "250 2.1.0 Ok\r\n");
	T_ASSERT(strstr(r, "mail <a@c> size=0 body=0 utf8=0 ret=0 envid=x requiretls=1\n"
			   "rcpt <b@d>\nrset\nmail <a@c> size=0 body=0 utf8=0\n") != NULL);
	mem_free(&out);
	mem_free(&r);
}

static void
test_server_smtputf8(void)
{
	static const char in[] =
		"EHLO c\r\n"
		"MAIL FROM:<\xc3\xa4@c> SMTPUTF8 BODY=8BITMIME\r\n"
		"RCPT TO:<\xc3\xb6@\xc3\xa4.example>\r\n"
		"RCPT TO:<\xc3\xb6\xff@d>\r\n"
		"DATA\r\nx\r\n.\r\n";
	char *r = check_script(S(in), setup_many_errors);

	T_ASSERT(strstr(r, "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
			   "501 5.1.3 Bad recipient address syntax: Malformed UTF-8 in address\r\n"
			   "354 ") != NULL);
	T_ASSERT(strstr(r, "mail <\xc3\xa4@c> size=0 body=2 utf8=1\n") != NULL);
	T_ASSERT(strstr(r, "body=2 utf8=1\n") != NULL);
	mem_free(&r);
}

static void
test_server_misc_commands(void)
{
	char *r = check_script(S("VRFY bob\r\nEXPN list\r\nHELP\r\nSTARTTLS\r\nAUTH PLAIN\r\n"
				 "NOOP x\r\nVRFY\r\nDATA now\r\nRSET\r\nHELP me\r\n"),
			       setup_many_errors);

	T_STREQ(r, "220 mx.example ESMTP\r\n"
		   "252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n"
		   "502 5.5.1 EXPN not supported\r\n"
		   "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n"
		   "214 2.0.0 See RFC 5321 for their use\r\n"
		   "502 5.5.1 Command not implemented\r\n"
		   "502 5.5.1 Command not implemented\r\n"
		   "250 2.0.0 Ok\r\n"
		   "501 5.5.4 Syntax error: Argument required\r\n"
		   "501 5.5.4 Syntax error: No arguments allowed\r\n"
		   "250 2.0.0 Ok\r\n"
		   "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY HELP\r\n"
		   "214 2.0.0 See RFC 5321 for their use\r\n"
		   "|connect\ndisconnect\n|");
	mem_free(&r);
}

static void
test_server_rset_and_helo_reset(void)
{
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nRSET\r\n"
				 "MAIL FROM:<a@c>\r\nEHLO c2\r\nRCPT TO:<b@d>\r\n"
				 "MAIL FROM:<a@c>\r\nHELO c3\r\nMAIL FROM:<a@c>\r\n";
	char *r = check_script(S(in), NULL);

	T_STREQ(strchr(r, '|'),
		"|connect\nehlo c\nmail <a@c> size=0 body=0 utf8=0\nrcpt <b@d>\nrset\n"
		"mail <a@c> size=0 body=0 utf8=0\nrset\nehlo c2\n"
		"mail <a@c> size=0 body=0 utf8=0\nrset\nhelo c3\n"
		"mail <a@c> size=0 body=0 utf8=0\nrset\ndisconnect\n|");
	T_ASSERT(strstr(r, "503 5.5.1 Need MAIL command\r\n") != NULL);
	mem_free(&r);
}

static void
setup_refuse_greeting(struct harness *h)
{
	h->answers[K_CONNECT] = (struct answer){ 554, NULL, "No service for you" };
}

static void
setup_busy_greeting(struct harness *h)
{
	h->answers[K_CONNECT] = (struct answer){ 421, "4.3.2", "Busy\ntry later" };
}

static void
test_server_greeting_refused(void)
{
	char *r = check_script(S("EHLO c\r\nBDAT 4\r\nQUITMAIL FROM:<a@b>\r\nQUIT\r\nNOOP\r\n"),
			       setup_refuse_greeting);

	/* RFC 5321 3.1: 503 to everything but QUIT; a BDAT chunk still consumed */
	T_STREQ(r, "554 5.3.2 No service for you\r\n"
		   "503 5.5.1 Only QUIT is allowed now\r\n"
		   "503 5.5.1 Only QUIT is allowed now\r\n"
		   "503 5.5.1 Only QUIT is allowed now\r\n"
		   "221 2.0.0 Bye\r\n"
		   "|connect\nclose\ndisconnect\n|");
	mem_free(&r);
	r = check_script(S("EHLO c\r\n"), setup_busy_greeting);
	T_STREQ(r, "421-4.3.2 Busy\r\n421 4.3.2 try later\r\n|connect\nclose\ndisconnect\n|");
	mem_free(&r);
}

static void
setup_hostile_texts(struct harness *h)
{
	h->answers[K_HELO] = (struct answer){ 250, NULL, "hello\r\n250 fake" };
	h->answers[K_MAIL] = (struct answer){ 451, "4.7.1", "Greylisted\r\nagain\x01\xc3\xa4\n" };
}

static void
test_server_reply_sanitising(void)
{
	char *r = check_script(S("EHLO c\r\nMAIL FROM:<a@b>\r\n"), setup_hostile_texts);
	char *out = output_of(r);

	T_STREQ(out, "220 mx.example ESMTP\r\n"
		     "250-mx.example hello?\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n"
		     "250-8BITMIME\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
		     "250-SMTPUTF8\r\n250 CHUNKING\r\n"
		     "451-4.7.1 Greylisted?\r\n451 4.7.1 again???\r\n");
	mem_free(&out);
	mem_free(&r);
}

static void
test_server_null_hooks(void)
{
	struct harness h;
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nDATA\r\nx\r\n.\r\n"
				 "BDAT 1 LAST\r\ny";

	harness_init(&h);
	h.null_hooks = true;
	harness_start(&h);
	harness_feed(&h, S(in), 5);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n" EHLO_REPLY
				  "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n" DATA_354
				  "250 2.0.0 Ok: queued\r\n503 5.5.1 Need MAIL command\r\n");
	harness_deinit(&h);
}

/* Deferred hooks: nothing is answered before the hook completes, and input
 * that arrives meanwhile waits. */
static void
test_server_deferred_waits(void)
{
	struct harness h;

	harness_init(&h);
	h.deferred = true;
	h.s = smtp_server_session_new(&h.set, &hooks, &h, &io, &h, "192.0.2.1", NULL);
	smtp_server_session_start(h.s);
	T_INTEQ(buf_len(&h.out), 0);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\nNOOP\r\n"));
	T_INTEQ(buf_len(&h.out), 0);            /* greeting still pending */
	complete_pending(&h);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n");
	T_ASSERT(h.has_pending);                /* the EHLO hook */
	complete_pending(&h);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n" EHLO_REPLY "250 2.0.0 Ok\r\n");
	T_ASSERT(!h.has_pending);
	harness_deinit(&h);
}

static void
test_server_timeout_while_pending(void)
{
	struct harness h;

	harness_init(&h);
	h.deferred = true;
	harness_start(&h);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\nMAIL FROM:<a@c>\r\n"));
	T_ASSERT(h.has_pending);
	smtp_server_session_timeout(h.s);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n" TIMEOUT_421);
	T_ASSERT(h.closed);
	T_ASSERT(!smtp_server_session_wants_input(h.s));
	complete_pending(&h);                   /* dropped */
	smtp_server_session_input(h.s, (const uint8_t *)S("NOOP\r\n"));
	smtp_server_session_timeout(h.s);
	smtp_server_session_shutdown(h.s);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n" TIMEOUT_421);
	T_STREQ(buf_cstr(&h.log), "connect\nehlo c\nclose\n");
	harness_deinit(&h);
}

static void
test_server_shutdown(void)
{
	struct harness h;
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nDATA\r\nx\r\n.\r\n"
				 "NOOP\r\n";

	/* idle: at once */
	harness_init(&h);
	harness_start(&h);
	smtp_server_session_shutdown(h.s);
	T_STREQ(buf_cstr(&h.out), "220 mx.example ESMTP\r\n"
				  "421 4.3.2 Server shutting down, try again later\r\n");
	T_ASSERT(h.closed);
	harness_deinit(&h);

	/* data_end pending: its reply first, then 421; pipelined NOOP never runs */
	harness_init(&h);
	h.deferred = true;
	harness_start(&h);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\n"));
	complete_pending(&h);
	smtp_server_session_input(h.s, (const uint8_t *)in + 8, sizeof(in) - 1 - 8);
	while (h.has_pending && strstr(buf_cstr(&h.log), "data_end") == NULL)
		complete_pending(&h);
	T_ASSERT(h.has_pending);
	smtp_server_session_shutdown(h.s);
	T_ASSERT(!h.closed);
	complete_pending(&h);
	T_ASSERT(h.closed);
	T_ASSERT(strstr(buf_cstr(&h.out), "354 End data with <CR><LF>.<CR><LF>\r\n"
					  "250 2.0.0 Ok: queued as Q1\r\n"
					  SHUTDOWN_421) != NULL);
	T_ASSERT(strstr(buf_cstr(&h.out), "250 2.0.0 Ok\r\n") == NULL);
	harness_deinit(&h);

	/* in the middle of DATA: the transaction is dropped */
	harness_init(&h);
	harness_start(&h);
	harness_feed(&h, in, sizeof(in) - 1 - 11, 100);
	smtp_server_session_shutdown(h.s);
	T_ASSERT(h.closed);
	T_STREQ(strstr(buf_cstr(&h.log), "data_begin"), "data_begin\nrset\nclose\n");
	harness_deinit(&h);
}

static void
test_server_free_from_close(void)
{
	struct harness h;

	harness_init(&h);
	h.free_on_close = true;
	harness_start(&h);
	harness_feed(&h, S("EHLO c\r\nMAIL FROM:<a@c>\r\nQUIT\r\nNOOP\r\n"), 100);
	T_ASSERT(h.s == NULL);
	T_STREQ(buf_cstr(&h.log), "connect\nehlo c\nmail <a@c> size=0 body=0 utf8=0\nrset\nclose\n"
				  "disconnect\n");
	T_ASSERT(strstr(buf_cstr(&h.out), "221 2.0.0 Bye\r\n") != NULL);
	harness_deinit(&h);

	/* deferred completion that closes (421 from a hook) and frees */
	harness_init(&h);
	h.free_on_close = true;
	h.deferred = true;
	h.answers[K_MAIL] = (struct answer){ 421, "4.3.0", "Going away" };
	harness_start(&h);
	harness_feed(&h, S("EHLO c\r\nMAIL FROM:<a@c>\r\nNOOP\r\n"), 100);
	T_ASSERT(h.s == NULL);
	T_ASSERT(strstr(buf_cstr(&h.out), "421 4.3.0 Going away\r\n") != NULL);
	T_ASSERT(strstr(buf_cstr(&h.out), "250 2.0.0 Ok") == NULL);
	harness_deinit(&h);

	/* free from inside a hook, while that hook is pending */
	harness_init(&h);
	h.free_in_rcpt = true;
	harness_start(&h);
	harness_feed(&h, S("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nNOOP\r\n"), 100);
	T_ASSERT(h.s == NULL);
	T_STREQ(strstr(buf_cstr(&h.log), "rcpt"), "rcpt <b@d>\nrset\ndisconnect\n");
	harness_deinit(&h);
}

static void
setup_small_input(struct harness *h)
{
	h->set.limits.max_input_buffer = 4096;
}

static void
test_server_input_flow_control(void)
{
	struct harness h;
	char junk[2048];

	memset(junk, 'x', sizeof(junk));
	harness_init(&h);
	h.deferred = true;
	setup_small_input(&h);
	harness_start(&h);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\n"));
	T_ASSERT(h.has_pending);
	T_ASSERT(smtp_server_session_wants_input(h.s));
	smtp_server_session_input(h.s, (const uint8_t *)junk, sizeof(junk));
	T_ASSERT(!smtp_server_session_wants_input(h.s));
	smtp_server_session_input(h.s, (const uint8_t *)junk, sizeof(junk));
	T_ASSERT(!h.closed);
	/* a glue that ignores wants_input() makes the buffer overflow */
	smtp_server_session_input(h.s, (const uint8_t *)junk, 1);
	T_ASSERT(h.closed);
	T_ASSERT(strstr(buf_cstr(&h.out), "421 4.7.0 Too much pipelined input\r\n") != NULL);
	complete_pending(&h);
	harness_deinit(&h);
}

static void
test_server_accessors_outside_transaction(void)
{
	struct harness h;

	harness_init(&h);
	harness_start(&h);
	T_ASSERT(smtp_server_session_get_mail_from(h.s) == NULL);
	T_INTEQ(smtp_server_session_get_rcpt_count(h.s), 0);
	T_ASSERT(smtp_server_session_get_rcpt(h.s, 0) == NULL);
	T_ASSERT(smtp_server_session_get_helo(h.s) == NULL);
	T_ASSERT(!smtp_server_session_is_esmtp(h.s));
	T_STREQ(smtp_server_session_get_client_ip(h.s), "192.0.2.1");
	T_STREQ(smtp_server_session_get_client_rdns(h.s), "client.example");
	T_INTEQ(smtp_server_session_get_mail_params(h.s)->size, 0);
	harness_feed(&h, S("EHLO c\r\nMAIL FROM:<a@c> SIZE=42\r\n"), 100);
	T_INTEQ(smtp_server_session_get_mail_params(h.s)->size, 42);
	T_STREQ(smtp_server_session_get_mail_from(h.s)->localpart, "a");
	harness_deinit(&h);
}

static void
setup_refuse_data(struct harness *h)
{
	h->answers[K_DATA_BEGIN] = (struct answer){ 554, "5.7.1", "No data for you" };
}

static void
test_server_data_begin_refused(void)
{
	static const char in[] = "EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\n"
				 "DATA\r\nNOOP\r\n"
				 "BDAT 5 LAST\r\nRSET\rRCPT TO:<b@d>\r\nNOOP\r\n";
	char *r = check_script(S(in), setup_refuse_data);

	/* DATA refused: the transaction stays; BDAT refused: chunk consumed,
	 * then the reply, and the transaction is dropped (RFC 3030 2) */
	T_STREQ(r, "220 mx.example ESMTP\r\n" EHLO_REPLY
		   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n"
		   "554 5.7.1 No data for you\r\n"
		   "250 2.0.0 Ok\r\n"
		   "554 5.7.1 No data for you\r\n"
		   "503 5.5.1 Need MAIL command\r\n"
		   "250 2.0.0 Ok\r\n"
		   "|connect\nehlo c\nmail <a@c> size=0 body=0 utf8=0\nrcpt <b@d>\n"
		   "data_begin\ndata_begin\nrset\ndisconnect\n|");
	mem_free(&r);
}

static void
setup_refuse_helo(struct harness *h)
{
	h->answers[K_HELO] = (struct answer){ 550, NULL, NULL };
}

static void
test_server_helo_refused(void)
{
	char *r = check_script(S("EHLO\r\nHELO a b\r\nEHLO c\r\nMAIL FROM:<a@c>\r\n"),
			       setup_refuse_helo);

	T_STREQ(r, "220 mx.example ESMTP\r\n"
		   "501 5.5.4 Syntax: EHLO hostname\r\n"
		   "501 5.5.4 Syntax: HELO hostname\r\n"
		   "550 5.0.0 Rejected\r\n"
		   "503 5.5.1 Send HELO/EHLO first\r\n"
		   "|connect\nehlo c\ndisconnect\n|");
	mem_free(&r);
}

static void
test_server_rcpt_after_bdat(void)
{
	char *r = check_script(S("EHLO c\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@d>\r\nBDAT 2\r\nab"
				 "RCPT TO:<c@d>\r\nBDAT 2 LAST\r\n\r\n"), NULL);

	T_ASSERT(strstr(r, "250 2.0.0 2 octets received\r\n"
			   "503 5.5.1 RCPT not allowed after BDAT\r\n"
			   "250 2.0.0 Ok: queued as Q1\r\n") != NULL);
	T_ASSERT(strstr(r, "rcpts=1 <b@d>") != NULL);
	mem_free(&r);
}

static void
test_server_shutdown_before_start(void)
{
	struct harness h;

	harness_init(&h);
	h.s = smtp_server_session_new(&h.set, &hooks, &h, &io, &h, "192.0.2.1", NULL);
	smtp_server_session_shutdown(h.s);
	smtp_server_session_start(h.s);
	T_STREQ(buf_cstr(&h.out), SHUTDOWN_421);
	T_STREQ(buf_cstr(&h.log), "close\n");
	harness_deinit(&h);
}

static void
test_server_received_sanitised(void)
{
	struct harness h;

	harness_init(&h);
	h.s = smtp_server_session_new(&h.set, &hooks, &h, &io, &h, "192.0.2.1", "evil\r\nX: y");
	T_INTEQ(smtp_server_format_received(h.s, "Q\r\nX-Injected: 1", "a@b\n", &h.received), 0);
	T_STREQ(buf_cstr(&h.received), "Received: from unknown (evil??X: y [192.0.2.1])\r\n"
				       "\tby mx.example with SMTP id Q??X-Injected: 1\r\n"
				       "\tfor <a@b?>; Mon, 2 Jan 2006 15:04:05 +0000\r\n");
	harness_deinit(&h);
}

static const struct test tests[] = {
	TEST_ENTRY(test_server_transaction),
	TEST_ENTRY(test_server_received),
	TEST_ENTRY(test_server_received_variants),
	TEST_ENTRY(test_server_pipelined_one_input),
	TEST_ENTRY(test_server_smuggling),
	TEST_ENTRY(test_server_bare_newline_command),
	TEST_ENTRY(test_server_bdat),
	TEST_ENTRY(test_server_bdat_refused),
	TEST_ENTRY(test_server_bdat_syntax_closes),
	TEST_ENTRY(test_server_size_limits),
	TEST_ENTRY(test_server_max_recipients),
	TEST_ENTRY(test_server_line_too_long),
	TEST_ENTRY(test_server_max_errors),
	TEST_ENTRY(test_server_sequence_errors),
	TEST_ENTRY(test_server_mail_params),
	TEST_ENTRY(test_server_dsn_accepted),
	TEST_ENTRY(test_server_dsn_refused),
	TEST_ENTRY(test_server_requiretls),
	TEST_ENTRY(test_server_smtputf8),
	TEST_ENTRY(test_server_misc_commands),
	TEST_ENTRY(test_server_rset_and_helo_reset),
	TEST_ENTRY(test_server_greeting_refused),
	TEST_ENTRY(test_server_reply_sanitising),
	TEST_ENTRY(test_server_null_hooks),
	TEST_ENTRY(test_server_deferred_waits),
	TEST_ENTRY(test_server_timeout_while_pending),
	TEST_ENTRY(test_server_shutdown),
	TEST_ENTRY(test_server_free_from_close),
	TEST_ENTRY(test_server_input_flow_control),
	TEST_ENTRY(test_server_accessors_outside_transaction),
	TEST_ENTRY(test_server_data_begin_refused),
	TEST_ENTRY(test_server_helo_refused),
	TEST_ENTRY(test_server_rcpt_after_bdat),
	TEST_ENTRY(test_server_shutdown_before_start),
	TEST_ENTRY(test_server_received_sanitised),
	{ NULL, NULL },
};

int
main(void)
{
	setenv("TZ", "UTC", 1);
	tzset();
	return test_main("smtp-server", tests);
}
