/*
 * test-smtp-server-auth.c - STARTTLS (RFC 3207), AUTH (RFC 4954) and the
 * submission rules (RFC 6409) of the SMTP engine, through its public API.
 *
 * The harness plays a glue that does TLS right: when the starttls hook runs it
 * stops feeding the plain-text script (whatever the client sent after
 * STARTTLS in plain text never reaches the engine again), and then feeds the
 * "TLS" script. Scripts are run whole, one byte at a time and split in two at
 * every point of the plain-text part, with hooks answering at once and
 * deferred; all runs must agree. SCRAM-SHA-256 is driven by a small client
 * built on OpenSSL's libcrypto, since its server nonce is random.
 */
#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "sasl/sasl-server.h"
#include "smtp/smtp-server.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S(lit) lit, sizeof(lit) - 1

#define USER "alice"
#define PASSWORD "pencil"

enum pending_kind { P_NONE, P_HOOK, P_VERIFIED, P_SECRET, P_TEMPFAIL };

struct harness {
	struct smtp_server_session *s;
	struct smtp_server_settings set;
	struct buf out, log, received;
	bool closed, deferred, tls_switched, tempfail, no_lookup_hook, free_on_close;
	bool set_cb_on_tls;             /* give channel binding after the handshake */
	enum pending_kind pending;
	unsigned p_code;
	bool p_ok;
	bool p_known;                   /* the SCRAM user exists */
};

static time_t
fixed_clock(void)
{
	return 1136214245; /* Mon, 2 Jan 2006 15:04:05 UTC */
}

static const uint8_t cb_exporter[32] = "0123456789abcdef0123456789abcdef";

static char *scram_secret;

static const char *
test_scram_secret(void)
{
	if (scram_secret == NULL)
		scram_secret = sasl_scram_secret_make(PASSWORD, 4096);
	T_ASSERT(scram_secret != NULL);
	return scram_secret;
}

/* ---- harness: io and hooks ---- */

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

	h->closed = true;
	buf_append_str(&h->log, "close\n");
	if (h->free_on_close)
		smtp_server_session_free(&h->s);
}

static void
answer(struct harness *h, unsigned code)
{
	if (h->deferred) {
		T_ASSERT(h->pending == P_NONE);
		h->pending = P_HOOK;
		h->p_code = code;
		return;
	}
	smtp_server_hook_done(h->s, code, NULL, NULL);
}

static void
hook_connect(struct smtp_server_session *s, void *ctx)
{
	buf_append_str(&((struct harness *)ctx)->log, "connect\n");
	answer(ctx, 220);
}

static void
hook_helo(struct smtp_server_session *s, void *ctx, const char *domain, bool ehlo)
{
	buf_printf(&((struct harness *)ctx)->log, "%s %s\n", ehlo ? "ehlo" : "helo", domain);
	answer(ctx, 250);
}

static void
hook_mail(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
	  const struct smtp_server_mail_params *params)
{
	struct harness *h = ctx;
	const char *user = smtp_server_session_get_auth_user(s);

	buf_append_str(&h->log, "mail ");
	smtp_address_format_path(from, &h->log);
	buf_printf(&h->log, " user=%s\n", user != NULL ? user : "-");
	answer(h, 250);
}

static void
hook_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to,
	  const struct smtp_server_rcpt_params *params)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "rcpt ");
	smtp_address_format_path(to, &h->log);
	buf_append_byte(&h->log, '\n');
	answer(h, 250);
}

static void
hook_data_begin(struct smtp_server_session *s, void *ctx)
{
	buf_append_str(&((struct harness *)ctx)->log, "data_begin\n");
	answer(ctx, 250);
}

static void
hook_data_end(struct smtp_server_session *s, void *ctx, uint64_t size)
{
	struct harness *h = ctx;

	buf_append_str(&h->log, "data_end\n");
	buf_reset(&h->received);
	smtp_server_format_received(s, "Q1", "b@mx.example", &h->received);
	answer(h, 250);
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

static void
hook_starttls(struct smtp_server_session *s, void *ctx)
{
	struct harness *h = ctx;

	buf_printf(&h->log, "starttls tls=%d helo=%s user=%s\n", smtp_server_session_is_tls(s),
		   smtp_server_session_get_helo(s) != NULL ? "set" : "-",
		   smtp_server_session_get_auth_user(s) != NULL ? "set" : "-");
	h->tls_switched = true;
	/* what a glue does once its handshake is done */
	smtp_server_session_set_tls_info(s, "TLSv1.3", "TLS_AES_256_GCM_SHA384");
	if (h->set_cb_on_tls) {
		struct sasl_channel_binding cb = { .tls_exporter = cb_exporter,
						   .tls_exporter_len = sizeof(cb_exporter) };

		smtp_server_session_set_channel_binding(s, &cb);
	}
}

static void
hook_auth_lookup(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
		 const char *password)
{
	struct harness *h = ctx;
	bool known = strcmp(authcid, USER) == 0;
	enum pending_kind kind;

	buf_printf(&h->log, "lookup %s %s %s\n", mech, authcid,
		   password != NULL ? password : "(secret)");
	if (h->tempfail)
		kind = P_TEMPFAIL;
	else
		kind = password != NULL ? P_VERIFIED : P_SECRET;
	h->p_ok = known && password != NULL && strcmp(password, PASSWORD) == 0;
	h->p_known = known;
	if (h->deferred) {
		h->pending = kind;
		return;
	}
	if (kind == P_TEMPFAIL)
		smtp_server_auth_tempfail(s);
	else if (kind == P_VERIFIED)
		smtp_server_auth_verified(s, h->p_ok);
	else
		smtp_server_auth_secret(s, known ? test_scram_secret() : NULL);
}

static void
hook_auth_result(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
		 bool ok, const char *reason)
{
	struct harness *h = ctx;

	buf_printf(&h->log, "auth_result %s %s ok=%d%s\n", mech,
		   authcid != NULL ? authcid : "(none)", ok, reason != NULL ? " (reason)" : "");
	T_ASSERT(ok == (reason == NULL));
}

static const struct smtp_server_hooks hooks = {
	.connect = hook_connect,
	.helo = hook_helo,
	.mail = hook_mail,
	.rcpt = hook_rcpt,
	.data_begin = hook_data_begin,
	.data_end = hook_data_end,
	.rset = hook_rset,
	.disconnect = hook_disconnect,
	.starttls = hook_starttls,
	.auth_lookup = hook_auth_lookup,
	.auth_result = hook_auth_result,
};

static const struct smtp_server_io io = { io_write, io_close };

static void
complete_pending(struct harness *h)
{
	enum pending_kind kind = h->pending;

	h->pending = P_NONE;
	switch (kind) {
	case P_HOOK:
		smtp_server_hook_done(h->s, h->p_code, NULL, NULL);
		break;
	case P_VERIFIED:
		smtp_server_auth_verified(h->s, h->p_ok);
		break;
	case P_SECRET:
		smtp_server_auth_secret(h->s, h->p_known ? test_scram_secret() : NULL);
		break;
	case P_TEMPFAIL:
		smtp_server_auth_tempfail(h->s);
		break;
	case P_NONE:
		break;
	}
}

static void
complete_all(struct harness *h)
{
	while (h->pending != P_NONE && h->s != NULL)
		complete_pending(h);
}

static void
harness_init(struct harness *h)
{
	memset(h, 0, sizeof(*h));
	h->set.hostname = "mx.example";
	smtp_server_limits_init_default(&h->set.limits);
	h->set.now = fixed_clock;
	h->set.starttls_available = true;
	h->set.auth_available = true;
	buf_init(&h->out, 0);
	buf_init(&h->log, 0);
	buf_init(&h->received, 0);
}

static void
harness_start(struct harness *h)
{
	struct smtp_server_hooks hk = hooks;

	if (h->no_lookup_hook)
		hk.auth_lookup = NULL;
	h->s = smtp_server_session_new(&h->set, &hk, h, &io, h, "192.0.2.1", "client.example");
	smtp_server_session_start(h->s);
	complete_all(h);
}

static void
harness_deinit(struct harness *h)
{
	smtp_server_session_free(&h->s);
	buf_deinit(&h->out);
	buf_deinit(&h->log);
	buf_deinit(&h->received);
}

/* Feed in pieces (the first `first` bytes if > 0, then `step`), answering
 * deferred hooks between pieces. Plain-text input stops at the TLS switch. */
static void
feed_split(struct harness *h, const char *in, size_t len, size_t first, size_t step,
	   bool plain)
{
	size_t pos = 0;

	while (pos < len && h->s != NULL && !(plain && h->tls_switched)) {
		size_t n = pos == 0 && first > 0 ? first : step;

		if (n > len - pos)
			n = len - pos;
		smtp_server_session_input(h->s, (const uint8_t *)in + pos, n);
		pos += n;
		complete_all(h);
	}
}

static void
feed(struct harness *h, const char *in, size_t len)
{
	feed_split(h, in, len, 0, len == 0 ? 1 : len, false);
}

static void
feed_str(struct harness *h, const char *in)
{
	feed(h, in, strlen(in));
}

typedef void harness_setup_fn(struct harness *h);

/* One run: output | log. */
static char *
run_script(const char *plain, const char *tls, harness_setup_fn *setup, bool deferred,
	   size_t first, size_t step)
{
	struct harness h;
	struct buf all;

	harness_init(&h);
	h.deferred = deferred;
	if (setup != NULL)
		setup(&h);
	harness_start(&h);
	feed_split(&h, plain, strlen(plain), first, step, true);
	if (tls != NULL && h.tls_switched)
		feed_split(&h, tls, strlen(tls), 0, step, false);
	smtp_server_session_free(&h.s);
	buf_init(&all, 0);
	buf_printf(&all, "%s|%s", buf_cstr(&h.out), buf_cstr(&h.log));
	harness_deinit(&h);
	return buf_steal_str(&all);
}

/* Whole, byte by byte and every split of the plain part, sync and deferred:
 * all must agree. Returns the whole synchronous result (caller frees). */
static char *
check_script(const char *plain, const char *tls, harness_setup_fn *setup)
{
	size_t len = strlen(plain);
	size_t whole_step = len + (tls != NULL ? strlen(tls) : 0) + 1;
	char *whole = run_script(plain, tls, setup, false, 0, whole_step);

	for (int deferred = 0; deferred < 2; deferred++) {
		char *other = run_script(plain, tls, setup, deferred, 0, 1);

		if (!T_STREQ(other, whole))
			fprintf(stderr, "  byte by byte, deferred %d\n", deferred);
		mem_free(&other);
		for (size_t split = 1; split < len; split++) {
			other = run_script(plain, tls, setup, deferred, split, whole_step);
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

/* base64 of a byte string, as a C string the caller frees */
static char *
b64(const void *data, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(base64_encode(&b, data, len), 0);
	return buf_steal_str(&b);
}

#define B64_LIT(lit) b64(lit, sizeof(lit) - 1)

/* The "AUTH ..." EHLO line the engine should offer. */
static char *
expected_auth_line(bool plaintext, bool cb)
{
	struct buf b;
	bool any = false;

	buf_init(&b, 0);
	for (const struct sasl_mech_info *const *m = sasl_mechanisms(); *m != NULL; m++) {
		if (((*m)->flags & SASL_MECH_PLAINTEXT) != 0 && !plaintext)
			continue;
		if (((*m)->flags & SASL_MECH_NEEDS_CB) != 0 && !cb)
			continue;
		buf_append_str(&b, any ? " " : "AUTH ");
		buf_append_str(&b, (*m)->name);
		any = true;
	}
	return buf_steal_str(&b);
}

#define GREETING "220 mx.example ESMTP\r\n"
#define EHLO_HEAD "250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
#define EHLO_TAIL "250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 CHUNKING\r\n"
/* over TLS the list ends with REQUIRETLS (RFC 8689 4.1) */
#define EHLO_TAIL_TLS \
	"250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250-CHUNKING\r\n250 REQUIRETLS\r\n"
#define EHLO_STARTTLS EHLO_HEAD "250-STARTTLS\r\n" EHLO_TAIL
#define READY_TLS "220 2.0.0 Ready to start TLS\r\n"

/* ---- STARTTLS ---- */

/*
 * RFC 3207 4.2 command injection: whatever follows STARTTLS in the same plain
 * text is neither answered nor acted on, however the input is split and
 * whether hooks answer at once or later.
 */
static void
test_starttls_injection(void)
{
	static const char *const scripts[] = {
		"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\n",
		"EHLO c\r\nSTARTTLS\r\nQUIT\r\n",
		"EHLO c\r\nSTARTTLS\r\nEHLO evil\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n",
		"EHLO c\r\nSTARTTLS\r\nRSET\r\nBDAT 4\r\nabcd",
		"EHLO c\r\nSTARTTLS\r\nMAIL FROM:<a@b>\r\nRCPT TO:<c@d>\r\nDATA\r\nx\r\n.\r\n",
		"EHLO c\r\nSTARTTLS\r\n\n\r\nNOOP\r\n",
	};

	for (size_t i = 0; i < N_ELEMENTS(scripts); i++) {
		char *r = check_script(scripts[i], NULL, NULL);

		T_STREQ(r, GREETING EHLO_STARTTLS READY_TLS
			"|connect\nehlo c\nstarttls tls=1 helo=- user=-\ndisconnect\n");
		mem_free(&r);
	}
	/* before any EHLO too */
	char *r = check_script("STARTTLS\r\nMAIL FROM:<a@b>\r\n", NULL, NULL);

	T_STREQ(r, GREETING READY_TLS "|connect\nstarttls tls=1 helo=- user=-\ndisconnect\n");
	mem_free(&r);
}

/* In the middle of a transaction: it is dropped (rset), nothing after runs. */
static void
setup_starttls_only(struct harness *h)
{
	h->set.auth_available = false;
}

static void
test_starttls_in_transaction(void)
{
	char *r = check_script("EHLO c\r\nMAIL FROM:<a@b>\r\nSTARTTLS\r\nRCPT TO:<c@d>\r\nDATA\r\n",
			       "RCPT TO:<c@d>\r\nEHLO c2\r\nMAIL FROM:<a@b>\r\n",
			       setup_starttls_only);

	T_STREQ(r, GREETING EHLO_STARTTLS "250 2.1.0 Ok\r\n" READY_TLS
		"503 5.5.1 Need MAIL command\r\n"
		"250-mx.example\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n"
		EHLO_TAIL_TLS "250 2.1.0 Ok\r\n"
		"|connect\nehlo c\nmail <a@b> user=-\nrset\nstarttls tls=1 helo=- user=-\n"
		"ehlo c2\nmail <a@b> user=-\nrset\ndisconnect\n");
	mem_free(&r);
}

static void
setup_no_plaintext_before_tls(struct harness *h)
{
	h->set.auth_plaintext_allowed = false;
}

/* After the switch: EHLO again, now without STARTTLS and with AUTH; a second
 * STARTTLS is refused; the Received header says ESMTPS with the cipher. */
static void
test_starttls_then_tls_session(void)
{
	char *auth = expected_auth_line(true, false);
	struct buf expect;
	char *r;

	r = check_script("EHLO c\r\nSTARTTLS\r\n",
			 "MAIL FROM:<a@b>\r\nEHLO c\r\nSTARTTLS\r\nSTARTTLS now\r\n"
			 "MAIL FROM:<a@b>\r\nRCPT TO:<b@mx.example>\r\nDATA\r\nx\r\n.\r\n",
			 setup_no_plaintext_before_tls);
	buf_init(&expect, 0);
	buf_printf(&expect,
		   GREETING EHLO_STARTTLS READY_TLS "503 5.5.1 Send HELO/EHLO first\r\n" EHLO_HEAD
		   "250-%s\r\n" EHLO_TAIL_TLS "503 5.5.1 TLS already active\r\n"
		   "501 5.5.4 Syntax error: No arguments allowed\r\n"
		   "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n"
		   "250 2.0.0 Ok: queued\r\n"
		   "|connect\nehlo c\nstarttls tls=1 helo=- user=-\nehlo c\nmail <a@b> user=-\n"
		   "rcpt <b@mx.example>\ndata_begin\ndata_end\ndisconnect\n",
		   auth);
	T_STREQ(r, buf_cstr(&expect));
	mem_free(&r);
	buf_deinit(&expect);
	mem_free(&auth);
}

static void
test_starttls_received(void)
{
	struct harness h;

	harness_init(&h);
	harness_start(&h);
	feed_str(&h, "EHLO c\r\nSTARTTLS\r\n");
	T_ASSERT(h.tls_switched);
	T_ASSERT(smtp_server_session_is_tls(h.s));
	feed_str(&h, "EHLO c.example\r\nMAIL FROM:<a@c>\r\nRCPT TO:<b@mx.example>\r\n"
		     "DATA\r\nx\r\n.\r\n");
	T_STREQ(buf_cstr(&h.received),
		"Received: from c.example (client.example [192.0.2.1])\r\n"
		"\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384)\r\n"
		"\tby mx.example with ESMTPS id Q1\r\n"
		"\tfor <b@mx.example>; Mon, 2 Jan 2006 15:04:05 +0000\r\n");
	/* hostile names cannot leave the comment */
	smtp_server_session_set_tls_info(h.s, "TLS(1.3)\\\r\n", NULL);
	buf_reset(&h.received);
	T_INTEQ(smtp_server_format_received(h.s, NULL, NULL, &h.received), 0);
	T_ASSERT(strstr(buf_cstr(&h.received), "\t(using TLS?1.3?\?\?\?)\r\n\tby mx.example with "
					       "ESMTPS;\r\n") != NULL);
	harness_deinit(&h);
}

static void
setup_no_starttls(struct harness *h)
{
	h->set.starttls_available = false;
	h->set.auth_available = false;
}

static void
test_starttls_not_offered(void)
{
	struct harness h;
	char *r = check_script("EHLO c\r\nSTARTTLS\r\nNOOP\r\n", NULL, setup_no_starttls);

	T_STREQ(r, GREETING EHLO_HEAD EHLO_TAIL "502 5.5.1 Command not implemented\r\n"
		   "250 2.0.0 Ok\r\n|connect\nehlo c\ndisconnect\n");
	mem_free(&r);

	/* HELP names STARTTLS and AUTH only while they may be used */
	r = check_script("HELP\r\nSTARTTLS\r\n", "HELP\r\n", NULL);
	T_STREQ(r, GREETING "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
			    "VRFY HELP STARTTLS\r\n214 2.0.0 See RFC 5321 for their use\r\n"
		   READY_TLS "214-2.0.0 Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT "
			     "VRFY HELP AUTH\r\n214 2.0.0 See RFC 5321 for their use\r\n"
		   "|connect\nstarttls tls=1 helo=- user=-\ndisconnect\n");
	mem_free(&r);

	/* implicit TLS (port 465): no STARTTLS, and it is refused */
	harness_init(&h);
	h.set.auth_available = false;
	h.s = smtp_server_session_new(&h.set, &hooks, &h, &io, &h, "192.0.2.1", NULL);
	smtp_server_session_set_tls(h.s, true);
	smtp_server_session_start(h.s);
	feed_str(&h, "EHLO c\r\nSTARTTLS\r\n");
	T_STREQ(buf_cstr(&h.out),
		GREETING EHLO_HEAD EHLO_TAIL_TLS "503 5.5.1 TLS already active\r\n");
	T_ASSERT(!h.tls_switched);
	harness_deinit(&h);
}

/* The glue may close and free the session from inside the starttls hook
 * (its handshake could not start). */
static void
hook_starttls_free(struct smtp_server_session *s, void *ctx)
{
	struct harness *h = ctx;

	h->tls_switched = true;
	smtp_server_session_free(&h->s);
}

static void
test_starttls_free_in_hook(void)
{
	struct harness h;
	struct smtp_server_hooks hk = hooks;

	hk.starttls = hook_starttls_free;
	harness_init(&h);
	h.s = smtp_server_session_new(&h.set, &hk, &h, &io, &h, "192.0.2.1", NULL);
	smtp_server_session_start(h.s);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\nSTARTTLS\r\nNOOP\r\n"));
	T_ASSERT(h.s == NULL);
	T_STREQ(buf_cstr(&h.out), GREETING EHLO_STARTTLS READY_TLS);
	harness_deinit(&h);
}

/* The glue may free the session from auth_result, or time it out from
 * inside auth_lookup; nothing more is written and nothing leaks. */
static void
hook_auth_result_free(struct smtp_server_session *s, void *ctx, const char *mech,
		      const char *authcid, bool ok, const char *reason)
{
	struct harness *h = ctx;

	buf_printf(&h->log, "auth_result ok=%d\n", ok);
	smtp_server_session_free(&h->s);
}

static void
hook_auth_lookup_timeout(struct smtp_server_session *s, void *ctx, const char *mech,
			 const char *authcid, const char *password)
{
	smtp_server_session_timeout(s);
	smtp_server_auth_verified(s, true);
}

static void
test_auth_reentrant_hooks(void)
{
	struct harness h;
	struct smtp_server_hooks hk = hooks;

	for (int ok = 0; ok < 2; ok++) {
		hk.auth_result = hook_auth_result_free;
		harness_init(&h);
		h.set.auth_plaintext_allowed = true;
		h.s = smtp_server_session_new(&h.set, &hk, &h, &io, &h, "192.0.2.1", NULL);
		smtp_server_session_start(h.s);
		smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\n"));
		buf_reset(&h.out);
		if (ok)
			smtp_server_session_input(h.s, (const uint8_t *)S(
				"AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\nNOOP\r\n"));
		else
			smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN\r\n*\r\n"
									  "NOOP\r\n"));
		T_ASSERT(h.s == NULL);
		T_STREQ(buf_cstr(&h.out), ok ? "" : "334 \r\n");
		T_ASSERT(strstr(buf_cstr(&h.log),
				ok ? "auth_result ok=1\n" : "auth_result ok=0\n") != NULL);
		harness_deinit(&h);
	}

	hk = hooks;
	hk.auth_lookup = hook_auth_lookup_timeout;
	harness_init(&h);
	h.set.auth_plaintext_allowed = true;
	h.s = smtp_server_session_new(&h.set, &hk, &h, &io, &h, "192.0.2.1", NULL);
	smtp_server_session_start(h.s);
	smtp_server_session_input(h.s, (const uint8_t *)S("EHLO c\r\n"));
	buf_reset(&h.out);
	smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"
							   "NOOP\r\n"));
	T_ASSERT(h.closed);
	T_STREQ(buf_cstr(&h.out), "421 4.4.2 Timeout, closing connection\r\n");
	T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
	harness_deinit(&h);
}

/* ---- AUTH PLAIN and LOGIN ---- */

static void
setup_plaintext(struct harness *h)
{
	h->set.auth_plaintext_allowed = true;
	h->set.starttls_available = false;
}

/* Loopback development: AUTH before TLS, plain-text mechanisms offered. */
static void
test_auth_plain_initial_response(void)
{
	char *auth = expected_auth_line(true, false);
	struct buf expect;
	char *r;

	/* "\0alice\0pencil" */
	r = check_script("EHLO c\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\nAUTH PLAIN\r\n"
			 "MAIL FROM:<a@b>\r\nRSET\r\nEHLO again\r\nMAIL FROM:<a@b>\r\n",
			 NULL, setup_plaintext);
	buf_init(&expect, 0);
	buf_printf(&expect,
		   GREETING EHLO_HEAD "250-%s\r\n" EHLO_TAIL
		   "235 2.7.0 Authentication successful\r\n"
		   "503 5.5.1 Already authenticated\r\n250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n"
		   EHLO_HEAD "250-%s\r\n" EHLO_TAIL "250 2.1.0 Ok\r\n"
		   "|connect\nehlo c\nlookup PLAIN alice pencil\nauth_result PLAIN alice ok=1\n"
		   "mail <a@b> user=alice\nrset\nehlo again\nmail <a@b> user=alice\nrset\n"
		   "disconnect\n",
		   auth, auth);
	T_STREQ(r, buf_cstr(&expect));
	buf_deinit(&expect);
	mem_free(&r);
	mem_free(&auth);
}

static void
test_auth_plain_continuation(void)
{
	char *r = check_script("EHLO c\r\nAUTH PLAIN\r\nAGFsaWNlAHBlbmNpbA==\r\nNOOP\r\n", NULL,
			       setup_plaintext);

	T_ASSERT(strstr(r, EHLO_TAIL "334 \r\n235 2.7.0 Authentication successful\r\n"
				     "250 2.0.0 Ok\r\n|") != NULL);
	T_ASSERT(strstr(r, "lookup PLAIN alice pencil\nauth_result PLAIN alice ok=1\n") != NULL);
	mem_free(&r);

	/* "=" is an empty initial response: PLAIN cannot use it */
	r = check_script("EHLO c\r\nAUTH PLAIN =\r\nNOOP\r\n", NULL, setup_plaintext);
	T_ASSERT(strstr(r, EHLO_TAIL "535 5.7.8 Authentication credentials invalid\r\n"
				     "250 2.0.0 Ok\r\n|") != NULL);
	T_ASSERT(strstr(r, "lookup") == NULL);
	T_ASSERT(strstr(r, "auth_result PLAIN (none) ok=0 (reason)\n") != NULL);
	mem_free(&r);
}

static void
test_auth_login(void)
{
	/* "alice", "pencil"; also with the user name as initial response */
	char *r = check_script("EHLO c\r\nAUTH LOGIN\r\nYWxpY2U=\r\ncGVuY2ls\r\nNOOP\r\n", NULL,
			       setup_plaintext);
	char *tail = strstr(r, EHLO_TAIL);

	T_ASSERT(tail != NULL);
	if (tail != NULL) {
		tail += strlen(EHLO_TAIL);
		T_ASSERT(strncmp(tail, "334 ", 4) == 0);
		T_INTEQ(count(tail, "334 "), 2);
		T_ASSERT(strstr(tail, "\r\n235 2.7.0 Authentication successful\r\n"
				      "250 2.0.0 Ok\r\n|") != NULL);
	}
	T_ASSERT(strstr(r, "lookup LOGIN alice pencil\nauth_result LOGIN alice ok=1\n") != NULL);
	mem_free(&r);

	r = check_script("EHLO c\r\nAUTH LOGIN YWxpY2U=\r\ncGVuY2ls\r\n", NULL, setup_plaintext);
	T_INTEQ(count(r, "334 "), 1);
	T_ASSERT(strstr(r, "235 2.7.0 Authentication successful\r\n|") != NULL);
	mem_free(&r);
}

static void
setup_tempfail(struct harness *h)
{
	setup_plaintext(h);
	h->tempfail = true;
}

static void
test_auth_failures(void)
{
	/* "\0alice\0wrong", foreign authzid "bob\0alice\0pencil" */
	char *r = check_script("EHLO c\r\n"
			       "AUTH PLAIN AGFsaWNlAHdyb25n\r\n"
			       "AUTH PLAIN Ym9iAGFsaWNlAHBlbmNpbA==\r\n"
			       "AUTH PLAIN\r\n*\r\n"
			       "AUTH PLAIN not-base64!\r\n"
			       "AUTH PLAIN\r\nAGFsaWNl=AHB\r\n"
			       "AUTH CRAM-MD5\r\n"
			       "AUTH SCRAM-SHA-256-PLUS\r\n"
			       "AUTH\r\n"
			       "AUTH PLAIN a b\r\n"
			       "AUTH PLAIN  a\r\n"
			       "AUTH THIS-NAME-IS-FAR-TOO-LONG-FOR-SASL\r\n"
			       "NOOP\r\n",
			       NULL, setup_plaintext);

	T_ASSERT(strstr(r, EHLO_TAIL
			   "535 5.7.8 Authentication credentials invalid\r\n"
			   "535 5.7.8 Authentication credentials invalid\r\n"
			   "334 \r\n501 5.0.0 Authentication cancelled\r\n"
			   "501 5.5.2 Invalid base64 data\r\n"
			   "334 \r\n501 5.5.2 Invalid base64 data\r\n"
			   "504 5.5.4 Unrecognized authentication type\r\n"
			   "504 5.5.4 Unrecognized authentication type\r\n"
			   "501 5.5.4 Syntax error: Argument required\r\n"
			   "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
			   "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
			   "501 5.5.4 Syntax: AUTH mechanism [initial-response]\r\n"
			   "250 2.0.0 Ok\r\n|") != NULL);
	/* the foreign authzid fails inside SASL: the glue is never asked */
	T_INTEQ(count(r, "lookup PLAIN"), 1);
	T_INTEQ(count(r, "auth_result PLAIN"), 5);
	T_INTEQ(count(r, "ok=1"), 0);
	mem_free(&r);

	r = check_script("EHLO c\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\nNOOP\r\n", NULL,
			 setup_tempfail);
	T_ASSERT(strstr(r, EHLO_TAIL "454 4.7.0 Temporary authentication failure\r\n"
				     "250 2.0.0 Ok\r\n|") != NULL);
	T_ASSERT(strstr(r, "auth_result PLAIN alice ok=0 (reason)\n") != NULL);
	mem_free(&r);
}

static void
setup_three_errors(struct harness *h)
{
	setup_plaintext(h);
	h->set.limits.max_errors = 3;
}

/* Failed AUTHs count towards max_errors: password guessing is bounded. */
static void
test_auth_failures_close(void)
{
	char *r = check_script("EHLO c\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n"
			       "AUTH PLAIN AGFsaWNlAHdyb25n\r\nAUTH PLAIN\r\n*\r\n"
			       "AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n",
			       NULL, setup_three_errors);

	T_ASSERT(strstr(r, EHLO_TAIL "535 5.7.8 Authentication credentials invalid\r\n"
				     "535 5.7.8 Authentication credentials invalid\r\n"
				     "334 \r\n501 5.0.0 Authentication cancelled\r\n"
				     "421 4.7.0 Too many errors, closing connection\r\n|") != NULL);
	T_INTEQ(count(r, "ok=1"), 0);
	mem_free(&r);
}

static void
test_auth_sequence(void)
{
	/* AUTH needs EHLO, not in a transaction; plain text needs TLS here */
	char *r = check_script("AUTH PLAIN\r\nHELO c\r\nAUTH PLAIN\r\nEHLO c\r\n"
			       "AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\nSTARTTLS\r\n",
			       "EHLO c\r\nMAIL FROM:<a@b>\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"
			       "RSET\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n",
			       setup_no_plaintext_before_tls);

	T_ASSERT(strstr(r, GREETING "503 5.5.1 Send EHLO first\r\n250 mx.example\r\n"
			   "503 5.5.1 Send EHLO first\r\n" EHLO_STARTTLS
			   "530 5.7.0 Must issue a STARTTLS command first\r\n" READY_TLS) == r);
	T_ASSERT(strstr(r, "250 2.1.0 Ok\r\n"
			   "503 5.5.1 AUTH not allowed during a mail transaction\r\n"
			   "250 2.0.0 Ok\r\n235 2.7.0 Authentication successful\r\n|") != NULL);
	T_INTEQ(count(r, "lookup"), 1);
	mem_free(&r);
}

/* STARTTLS forgets an AUTH made in plain text (RFC 3207 4.2). */
static void
test_auth_forgotten_by_starttls(void)
{
	struct harness h;

	harness_init(&h);
	h.set.auth_plaintext_allowed = true;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n");
	T_STREQ(smtp_server_session_get_auth_user(h.s), USER);
	T_STREQ(smtp_server_session_get_auth_mech(h.s), "PLAIN");
	feed_str(&h, "STARTTLS\r\n");
	T_ASSERT(h.tls_switched);
	T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
	T_ASSERT(smtp_server_session_get_auth_mech(h.s) == NULL);
	T_ASSERT(strstr(buf_cstr(&h.log), "starttls tls=1 helo=- user=-\n") != NULL);
	harness_deinit(&h);
}

/* ---- submission (RFC 6409) and MAIL AUTH= (RFC 4954 5) ---- */

static void
setup_submission(struct harness *h)
{
	setup_plaintext(h);
	h->set.submission = true;
}

static void
test_submission(void)
{
	char *r = check_script("EHLO c\r\nMAIL FROM:<a@b>\r\nAUTH PLAIN AGFsaWNlAHdyb25n\r\n"
			       "MAIL FROM:<a@b>\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"
			       "MAIL FROM:<a@b> AUTH=alice+40example.com\r\nRCPT TO:<x@y>\r\n",
			       NULL, setup_submission);

	T_ASSERT(strstr(r, EHLO_TAIL "530 5.7.0 Authentication required\r\n"
				     "535 5.7.8 Authentication credentials invalid\r\n"
				     "530 5.7.0 Authentication required\r\n"
				     "235 2.7.0 Authentication successful\r\n"
				     "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n|") != NULL);
	T_INTEQ(count(r, "mail <"), 1);
	T_ASSERT(strstr(r, "mail <a@b> user=alice\n") != NULL);
	mem_free(&r);
}

static void
test_mail_auth_param(void)
{
	char *r = check_script("EHLO c\r\nMAIL FROM:<a@b> AUTH=<>\r\nRSET\r\n"
			       "MAIL FROM:<a@b> AUTH=a+2Bb@c BODY=8BITMIME\r\nRSET\r\n"
			       "MAIL FROM:<a@b> AUTH=a+zz\r\nMAIL FROM:<a@b> AUTH\r\n"
			       "MAIL FROM:<a@b> AUTH=<a@b>\r\n",
			       NULL, setup_no_starttls);

	T_ASSERT(strstr(r, EHLO_TAIL "250 2.1.0 Ok\r\n250 2.0.0 Ok\r\n250 2.1.0 Ok\r\n"
				     "250 2.0.0 Ok\r\n"
				     "501 5.5.4 Syntax: AUTH=<> or AUTH=xtext\r\n"
				     "501 5.5.4 Syntax: AUTH=<> or AUTH=xtext\r\n"
				     "250 2.1.0 Ok\r\n|") != NULL);
	mem_free(&r);
}

/* ---- lookups: none, deferred, timeout, free ---- */

static void
setup_no_lookup(struct harness *h)
{
	setup_plaintext(h);
	h->no_lookup_hook = true;
}

static void
test_auth_without_lookup_hook(void)
{
	char *r = check_script("EHLO c\r\nAUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n", NULL,
			       setup_no_lookup);

	T_ASSERT(strstr(r, "535 5.7.8 Authentication credentials invalid\r\n|") != NULL);
	mem_free(&r);
}

static void
test_auth_deferred_timeout_and_free(void)
{
	struct harness h;

	/* nothing is answered while the lookup runs; pipelined input waits */
	harness_init(&h);
	setup_plaintext(&h);
	h.deferred = true;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\n");
	buf_reset(&h.out);
	smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"
							   "NOOP\r\n"));
	T_INTEQ(h.pending, P_VERIFIED);
	T_INTEQ(buf_len(&h.out), 0);
	complete_pending(&h);
	T_STREQ(buf_cstr(&h.out), "235 2.7.0 Authentication successful\r\n250 2.0.0 Ok\r\n");
	harness_deinit(&h);

	/* timeout while the lookup runs: its answer is dropped */
	harness_init(&h);
	setup_plaintext(&h);
	h.deferred = true;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\n");
	buf_reset(&h.out);
	smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"));
	T_INTEQ(h.pending, P_VERIFIED);
	smtp_server_session_timeout(h.s);
	T_ASSERT(h.closed);
	complete_pending(&h);
	T_STREQ(buf_cstr(&h.out), "421 4.4.2 Timeout, closing connection\r\n");
	T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
	T_ASSERT(strstr(buf_cstr(&h.log), "auth_result") == NULL);
	harness_deinit(&h);

	/* freed while the lookup runs (the glue cancels its work) */
	harness_init(&h);
	setup_plaintext(&h);
	h.deferred = true;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\n");
	smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"));
	T_INTEQ(h.pending, P_VERIFIED);
	h.pending = P_NONE;
	harness_deinit(&h);

	/* shutdown while the lookup runs: its reply first, then 421 */
	harness_init(&h);
	setup_plaintext(&h);
	h.deferred = true;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\n");
	buf_reset(&h.out);
	smtp_server_session_input(h.s, (const uint8_t *)S("AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n"
							   "NOOP\r\n"));
	smtp_server_session_shutdown(h.s);
	T_ASSERT(!h.closed);
	complete_pending(&h);
	T_STREQ(buf_cstr(&h.out), "235 2.7.0 Authentication successful\r\n"
				  "421 4.3.2 Server shutting down, try again later\r\n");
	harness_deinit(&h);

	/* shutdown while waiting for a response line: at once */
	harness_init(&h);
	setup_plaintext(&h);
	harness_start(&h);
	feed_str(&h, "EHLO c\r\nAUTH PLAIN\r\n");
	smtp_server_session_shutdown(h.s);
	T_ASSERT(h.closed);
	T_ASSERT(strstr(buf_cstr(&h.out), "334 \r\n421 4.3.2 ") != NULL);
	harness_deinit(&h);
}

/* Responses may be longer than command lines, up to max_auth_line. */
static void
test_auth_long_lines(void)
{
	struct harness h;
	struct buf line;

	harness_init(&h);
	setup_plaintext(&h);
	h.set.limits.max_errors = 100;
	harness_start(&h);
	feed_str(&h, "EHLO c\r\nAUTH PLAIN\r\n");
	buf_reset(&h.out);
	/* 6000 octets of base64: past the 2048 command limit, within 12288 */
	buf_init(&line, 0);
	for (int i = 0; i < 1500; i++)
		buf_append_str(&line, "QUFB");
	buf_append_str(&line, "\r\nNOOP\r\n");
	feed(&h, buf_cstr(&line), buf_len(&line));
	T_STREQ(buf_cstr(&h.out), "535 5.7.8 Authentication credentials invalid\r\n"
				  "250 2.0.0 Ok\r\n");
	/* too long: 500 5.5.6, and nothing of the line is read as a command */
	buf_reset(&h.out);
	buf_reset(&line);
	buf_append_str(&line, "AUTH PLAIN\r\n");
	for (int i = 0; i < 4000; i++)
		buf_append_str(&line, "QUFB");
	buf_append_str(&line, " QUIT\r\nNOOP\r\n");
	feed(&h, buf_cstr(&line), buf_len(&line));
	T_STREQ(buf_cstr(&h.out), "334 \r\n500 5.5.6 Authentication exchange line is too long\r\n"
				  "250 2.0.0 Ok\r\n");
	/* the boundary: 12288 octets and CRLF pass, one more does not */
	for (int extra = 0; extra < 2; extra++) {
		buf_reset(&h.out);
		buf_reset(&line);
		buf_append_str(&line, "AUTH PLAIN\r\n");
		for (int i = 0; i < 12288 / 4; i++)
			buf_append_str(&line, "QUFB");
		if (extra)
			buf_append_byte(&line, 'x');
		buf_append_str(&line, "\r\n");
		feed(&h, buf_cstr(&line), buf_len(&line));
		T_STREQ(buf_cstr(&h.out),
			extra ? "334 \r\n500 5.5.6 Authentication exchange line is too long\r\n"
			      : "334 \r\n535 5.7.8 Authentication credentials invalid\r\n");
	}
	/* and command lines are limited as before */
	buf_reset(&h.out);
	buf_reset(&line);
	buf_append_str(&line, "NOOP ");
	for (int i = 0; i < 1000; i++)
		buf_append_str(&line, "QUFB");
	buf_append_str(&line, "\r\nNOOP\r\n");
	feed(&h, buf_cstr(&line), buf_len(&line));
	T_STREQ(buf_cstr(&h.out), "500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n");
	buf_deinit(&line);
	harness_deinit(&h);
}

/* ---- Received protocol keywords (RFC 3848, RFC 6531 3.7.3) ---- */

static void
test_received_keywords(void)
{
	static const struct {
		bool tls, auth, utf8;
		const char *keyword;
	} cases[] = {
		{ false, false, false, "with ESMTP id" },
		{ false, true, false, "with ESMTPA id" },
		{ true, false, false, "with ESMTPS id" },
		{ true, true, false, "with ESMTPSA id" },
		{ false, true, true, "with UTF8SMTPA id" },
		{ true, false, true, "with UTF8SMTPS id" },
		{ true, true, true, "with UTF8SMTPSA id" },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct harness h;

		harness_init(&h);
		h.set.auth_plaintext_allowed = true;
		harness_start(&h);
		if (cases[i].tls)
			feed_str(&h, "STARTTLS\r\n");
		feed_str(&h, "EHLO c\r\n");
		if (cases[i].auth)
			feed_str(&h, "AUTH PLAIN AGFsaWNlAHBlbmNpbA==\r\n");
		feed_str(&h, cases[i].utf8 ? "MAIL FROM:<a@b> SMTPUTF8\r\n"
					   : "MAIL FROM:<a@b>\r\n");
		feed_str(&h, "RCPT TO:<b@mx.example>\r\nDATA\r\nx\r\n.\r\n");
		if (!T_ASSERT(strstr(buf_cstr(&h.received), cases[i].keyword) != NULL))
			fprintf(stderr, "  case %zu: %s\n", i, buf_cstr(&h.received));
		/* the user name is not written */
		T_ASSERT(strstr(buf_cstr(&h.received), USER) == NULL);
		harness_deinit(&h);
	}
}

/* ---- SCRAM-SHA-256 (RFC 5802, RFC 7677) with a libcrypto client ---- */

struct scram_client {
	char *client_first_bare, *client_final_bare, *gs2;
	uint8_t salted[32];
	char *auth_message;
};

static bool
hmac256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
	unsigned out_len = 32;

	return HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL &&
	       out_len == 32;
}

/* The last reply line in out (without CRLF), copied. */
static char *
last_line(const struct buf *out)
{
	const char *text = buf_cstr(out);
	size_t len = buf_len(out);
	const char *start;

	if (len < 2)
		return mem_strdup("");
	len -= 2;
	start = text + len;
	while (start > text && start[-1] != '\n')
		start--;
	return mem_strndup(start, (size_t)(text + len - start));
}

/* Decode the base64 of a "334 " line as a C string; NULL if not one. */
static char *
challenge_of(const struct buf *out)
{
	char *line = last_line(out);
	struct buf dec;
	char *res = NULL;

	buf_init(&dec, 0);
	if (strncmp(line, "334 ", 4) == 0 && base64_decode(&dec, line + 4, strlen(line + 4)) == 0)
		res = buf_steal_str(&dec);
	buf_deinit(&dec);
	mem_free(&line);
	return res;
}

/* Send "AUTH mech b64(client-first)"; cb_name NULL for "n,,". */
static void
scram_start(struct harness *h, struct scram_client *c, const char *mech, const char *user,
	    const char *cb_name)
{
	struct buf b;
	char *enc;

	memset(c, 0, sizeof(*c));
	buf_init(&b, 0);
	if (cb_name != NULL)
		buf_printf(&b, "p=%s,,", cb_name);
	else
		buf_append_str(&b, "n,,");
	c->gs2 = buf_steal_str(&b);
	buf_printf(&b, "n=%s,r=rOprNGfwEbeRWgbNEkqO", user);
	c->client_first_bare = buf_steal_str(&b);
	buf_printf(&b, "%s%s", c->gs2, c->client_first_bare);
	enc = b64(buf_data(&b), buf_len(&b));
	buf_reset(&b);
	buf_printf(&b, "AUTH %s %s\r\n", mech, enc);
	buf_reset(&h->out);
	feed(h, buf_cstr(&b), buf_len(&b));
	mem_free(&enc);
	buf_deinit(&b);
}

/* Answer the server-first challenge with the proof for password. */
static bool
scram_final(struct harness *h, struct scram_client *c, const char *password,
	    const uint8_t *cb_data, size_t cb_len)
{
	char *server_first = challenge_of(&h->out);
	const char *nonce, *salt_b64, *iter;
	struct buf b, salt;
	uint8_t client_key[32], stored_key[32], sig[32], proof[32];
	char *enc;
	bool ok = false;

	if (!T_ASSERT(server_first != NULL))
		return false;
	nonce = strstr(server_first, "r=");
	salt_b64 = strstr(server_first, ",s=");
	iter = strstr(server_first, ",i=");
	if (!T_ASSERT(nonce == server_first && salt_b64 != NULL && iter != NULL)) {
		mem_free(&server_first);
		return false;
	}
	buf_init(&b, 0);
	buf_init(&salt, 0);
	T_INTEQ(base64_decode(&salt, salt_b64 + 3, (size_t)(iter - salt_b64 - 3)), 0);
	T_INTEQ(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), buf_data(&salt),
				  (int)buf_len(&salt), (int)strtol(iter + 3, NULL, 10),
				  EVP_sha256(), 32, c->salted),
		1);
	/* c = base64(gs2 header [+ channel-binding data]) */
	buf_append_str(&b, c->gs2);
	if (cb_data != NULL)
		buf_append(&b, cb_data, cb_len);
	enc = b64(buf_data(&b), buf_len(&b));
	buf_reset(&b);
	buf_printf(&b, "c=%s,r=%.*s", enc, (int)(salt_b64 - nonce - 2), nonce + 2);
	mem_free(&enc);
	c->client_final_bare = buf_steal_str(&b);
	buf_printf(&b, "%s,%s,%s", c->client_first_bare, server_first, c->client_final_bare);
	c->auth_message = buf_steal_str(&b);
	hmac256(c->salted, 32, "Client Key", 10, client_key);
	SHA256(client_key, 32, stored_key);
	hmac256(stored_key, 32, c->auth_message, strlen(c->auth_message), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ sig[i];
	enc = b64(proof, 32);
	buf_printf(&b, "%s,p=%s", c->client_final_bare, enc);
	mem_free(&enc);
	enc = b64(buf_data(&b), buf_len(&b));
	buf_reset(&b);
	buf_printf(&b, "%s\r\n", enc);
	buf_reset(&h->out);
	feed(h, buf_cstr(&b), buf_len(&b));
	ok = true;
	mem_free(&enc);
	mem_free(&server_first);
	buf_deinit(&b);
	buf_deinit(&salt);
	return ok;
}

/* The server-final "v=" must be our ServerSignature. */
static bool
scram_verify_server(struct harness *h, struct scram_client *c)
{
	char *server_final = challenge_of(&h->out);
	uint8_t server_key[32], sig[32];
	char *expect, *enc;
	struct buf b;
	bool ok;

	if (!T_ASSERT(server_final != NULL))
		return false;
	hmac256(c->salted, 32, "Server Key", 10, server_key);
	hmac256(server_key, 32, c->auth_message, strlen(c->auth_message), sig);
	enc = b64(sig, 32);
	buf_init(&b, 0);
	buf_printf(&b, "v=%s", enc);
	expect = buf_steal_str(&b);
	ok = T_STREQ(server_final, expect);
	mem_free(&enc);
	mem_free(&expect);
	mem_free(&server_final);
	return ok;
}

static void
scram_free(struct scram_client *c)
{
	mem_free(&c->client_first_bare);
	mem_free(&c->client_final_bare);
	mem_free(&c->gs2);
	mem_free(&c->auth_message);
}

static void
test_auth_scram(void)
{
	for (int deferred = 0; deferred < 2; deferred++) {
		struct harness h;
		struct scram_client c;

		/* over TLS, right password */
		harness_init(&h);
		h.deferred = deferred;
		harness_start(&h);
		feed_str(&h, "STARTTLS\r\n");
		feed_str(&h, "EHLO c\r\n");
		scram_start(&h, &c, "SCRAM-SHA-256", USER, NULL);
		T_ASSERT(strstr(buf_cstr(&h.log), "lookup SCRAM-SHA-256 alice (secret)\n") != NULL);
		if (scram_final(&h, &c, PASSWORD, NULL, 0) && scram_verify_server(&h, &c)) {
			T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
			buf_reset(&h.out);
			feed_str(&h, "\r\n");
			T_STREQ(buf_cstr(&h.out), "235 2.7.0 Authentication successful\r\n");
			T_STREQ(smtp_server_session_get_auth_user(h.s), USER);
			T_STREQ(smtp_server_session_get_auth_mech(h.s), "SCRAM-SHA-256");
		}
		scram_free(&c);
		harness_deinit(&h);

		/* wrong password: 535 after the proof, no server-final */
		harness_init(&h);
		h.deferred = deferred;
		harness_start(&h);
		feed_str(&h, "STARTTLS\r\n");
		feed_str(&h, "EHLO c\r\n");
		scram_start(&h, &c, "SCRAM-SHA-256", USER, NULL);
		scram_final(&h, &c, "wrong", NULL, 0);
		T_STREQ(buf_cstr(&h.out), "535 5.7.8 Authentication credentials invalid\r\n");
		T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
		scram_free(&c);
		harness_deinit(&h);

		/* unknown user: the same, after a full exchange */
		harness_init(&h);
		h.deferred = deferred;
		harness_start(&h);
		feed_str(&h, "STARTTLS\r\n");
		feed_str(&h, "EHLO c\r\n");
		scram_start(&h, &c, "SCRAM-SHA-256", "mallory", NULL);
		T_ASSERT(strncmp(buf_cstr(&h.out), "334 ", 4) == 0);
		scram_final(&h, &c, PASSWORD, NULL, 0);
		T_STREQ(buf_cstr(&h.out), "535 5.7.8 Authentication credentials invalid\r\n");
		scram_free(&c);
		harness_deinit(&h);
	}
}

/* Server-final must be answered with an empty line; "*" cancels. */
static void
test_auth_scram_final_response(void)
{
	static const char *const answers[] = { "x\r\n", "*\r\n" };
	static const char *const replies[] = { "535 5.7.8 Authentication credentials invalid\r\n",
					       "501 5.0.0 Authentication cancelled\r\n" };

	for (size_t i = 0; i < N_ELEMENTS(answers); i++) {
		struct harness h;
		struct scram_client c;

		harness_init(&h);
		harness_start(&h);
		feed_str(&h, "STARTTLS\r\n");
		feed_str(&h, "EHLO c\r\n");
		scram_start(&h, &c, "SCRAM-SHA-256", USER, NULL);
		scram_final(&h, &c, PASSWORD, NULL, 0);
		buf_reset(&h.out);
		feed_str(&h, answers[i]);
		T_STREQ(buf_cstr(&h.out), replies[i]);
		T_ASSERT(smtp_server_session_get_auth_user(h.s) == NULL);
		scram_free(&c);
		harness_deinit(&h);
	}
}

static void
setup_cb(struct harness *h)
{
	h->set_cb_on_tls = true;
}

/* SCRAM-SHA-256-PLUS with tls-exporter (RFC 9266) once binding data is set. */
static void
test_auth_scram_plus(void)
{
	struct harness h;
	struct scram_client c;
	char *auth = expected_auth_line(true, true);
	struct buf expect;

	harness_init(&h);
	setup_cb(&h);
	harness_start(&h);
	feed_str(&h, "STARTTLS\r\n");
	buf_reset(&h.out);
	feed_str(&h, "EHLO c\r\n");
	buf_init(&expect, 0);
	buf_printf(&expect, EHLO_HEAD "250-%s\r\n" EHLO_TAIL_TLS, auth);
	T_STREQ(buf_cstr(&h.out), buf_cstr(&expect));
	T_ASSERT(strstr(auth, "SCRAM-SHA-256-PLUS") != NULL);
	scram_start(&h, &c, "SCRAM-SHA-256-PLUS", USER, "tls-exporter");
	if (scram_final(&h, &c, PASSWORD, cb_exporter, sizeof(cb_exporter)) &&
	    scram_verify_server(&h, &c)) {
		buf_reset(&h.out);
		feed_str(&h, "\r\n");
		T_STREQ(buf_cstr(&h.out), "235 2.7.0 Authentication successful\r\n");
		T_STREQ(smtp_server_session_get_auth_mech(h.s), "SCRAM-SHA-256-PLUS");
	}
	scram_free(&c);
	harness_deinit(&h);

	/* wrong binding data: refused */
	harness_init(&h);
	setup_cb(&h);
	harness_start(&h);
	feed_str(&h, "STARTTLS\r\n");
	feed_str(&h, "EHLO c\r\n");
	scram_start(&h, &c, "SCRAM-SHA-256-PLUS", USER, "tls-exporter");
	if (strncmp(buf_cstr(&h.out), "334 ", 4) == 0) {
		scram_final(&h, &c, PASSWORD, (const uint8_t *)"0000", 4);
		T_STREQ(buf_cstr(&h.out), "535 5.7.8 Authentication credentials invalid\r\n");
	}
	scram_free(&c);
	harness_deinit(&h);
	buf_deinit(&expect);
	mem_free(&auth);
}

static const struct test tests[] = {
	TEST_ENTRY(test_starttls_injection),
	TEST_ENTRY(test_starttls_in_transaction),
	TEST_ENTRY(test_starttls_then_tls_session),
	TEST_ENTRY(test_starttls_received),
	TEST_ENTRY(test_starttls_not_offered),
	TEST_ENTRY(test_starttls_free_in_hook),
	TEST_ENTRY(test_auth_reentrant_hooks),
	TEST_ENTRY(test_auth_plain_initial_response),
	TEST_ENTRY(test_auth_plain_continuation),
	TEST_ENTRY(test_auth_login),
	TEST_ENTRY(test_auth_failures),
	TEST_ENTRY(test_auth_failures_close),
	TEST_ENTRY(test_auth_sequence),
	TEST_ENTRY(test_auth_forgotten_by_starttls),
	TEST_ENTRY(test_submission),
	TEST_ENTRY(test_mail_auth_param),
	TEST_ENTRY(test_auth_without_lookup_hook),
	TEST_ENTRY(test_auth_deferred_timeout_and_free),
	TEST_ENTRY(test_auth_long_lines),
	TEST_ENTRY(test_received_keywords),
	TEST_ENTRY(test_auth_scram),
	TEST_ENTRY(test_auth_scram_final_response),
	TEST_ENTRY(test_auth_scram_plus),
	{ NULL, NULL },
};

int
main(void)
{
	int ret;

	setenv("TZ", "UTC", 1);
	tzset();
	ret = test_main("smtp-server-auth", tests);
	mem_free(&scram_secret);
	return ret;
}
