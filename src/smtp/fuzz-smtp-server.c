/*
 * fuzz-smtp-server.c - libFuzzer target driving a whole SMTP session.
 *
 * Input: three control bytes, then what the client sends.
 *   byte 0: bit 0 deferred hooks, bit 1 small limits, bit 2 free from
 *           io->close, bits 3-4 end of session (free / shutdown / timeout /
 *           shutdown with a hook pending), bits 5-7 refusal pattern
 *   byte 1: piece size (1-256) for the second run
 *   byte 2: bit 0 starttls_available, bit 1 auth_available, bit 2
 *           auth_plaintext_allowed, bit 3 submission, bit 4 channel binding
 *           after STARTTLS, bit 5 implicit TLS, bit 6 auth lookups fail
 *           temporarily now and then, bit 7 no auth_lookup hook
 * The client bytes are the plain-text part, then optionally FUZZ_TLS_MARK and
 * what the client sends once TLS is up. The harness is a glue that does
 * STARTTLS right: once the starttls hook ran it feeds no more plain text
 * (RFC 3207 4.2) and goes on with the TLS part; without a switch the TLS part
 * is never fed.
 *
 * The session runs twice: all input at once with hooks that answer from
 * inside the call, and in pieces with the chosen hook mode. Hooks alternate
 * accept and refuse by a counter, so both runs decide alike and must produce
 * the same output (the text of 334 challenges excepted: SCRAM's server nonce
 * is random). That equality is also the STARTTLS injection check: in the
 * whole run the engine itself must drop what followed STARTTLS. Every reply
 * line must be well formed, nothing may be written after close, data_end may
 * only follow a clean message, and the STARTTLS, AUTH and submission rules
 * must hold whenever a hook is called. AUTH's user is "user" with password
 * "pass" (PLAIN, LOGIN) and a SCRAM secret made from it.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"
#include "smtp/smtp-server.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_TLS_MARK "\0TLS"

enum fz_pending { FZ_HOOK, FZ_VERIFIED, FZ_SECRET, FZ_TEMPFAIL };

struct fz {
	struct smtp_server_session *s;
	struct smtp_server_settings set;
	struct buf out, scratch;
	unsigned calls, pattern, features;
	bool deferred, free_on_close, closed, has_pending, tls_switched;
	enum fz_pending p_kind;
	unsigned p_code;
	const char *p_enh, *p_text;
	bool p_ok;
	const char *p_secret;
};

#define FZ_F_STARTTLS 0x01u
#define FZ_F_AUTH 0x02u
#define FZ_F_PLAINTEXT 0x04u
#define FZ_F_SUBMISSION 0x08u
#define FZ_F_CB 0x10u
#define FZ_F_IMPLICIT_TLS 0x20u
#define FZ_F_TEMPFAIL 0x40u
#define FZ_F_NO_LOOKUP 0x80u

static char *fz_secret;

static const uint8_t fz_cb_data[32] = "fuzz-channel-binding-data-32byte";

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
		f->p_kind = FZ_HOOK;
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
			f->p_kind = FZ_HOOK;
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
	struct fz *f = ctx;
	const char *error;

	/* RFC 6409: no MAIL before AUTH on submission */
	if (f->set.submission && smtp_server_session_get_auth_user(s) == NULL)
		abort();
	/* RFC 8689 4.1: REQUIRETLS only over TLS; RFC 3461 4.4: ENVID checked */
	if (params->requiretls && !smtp_server_session_is_tls(s))
		abort();
	if (params->envid[0] != '\0' && smtp_dsn_check_envid(params->envid, &error) < 0)
		abort();
	decide(f, 250, NULL);
}

static void
h_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to,
       const struct smtp_server_rcpt_params *params)
{
	const char *error;

	/* RFC 3461 4.1: NEVER alone; 4.2: ORCPT checked */
	if ((params->notify & SMTP_DSN_NOTIFY_NEVER) != 0 &&
	    params->notify != SMTP_DSN_NOTIFY_NEVER)
		abort();
	if (params->orcpt != NULL && smtp_dsn_check_orcpt(params->orcpt, &error) < 0)
		abort();
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
	for (unsigned i = 0; i < smtp_server_session_get_rcpt_count(s); i++) {
		const struct smtp_server_rcpt_params *rp;

		rp = smtp_server_session_get_rcpt_params(s, i);

		if (rp == NULL || (rp->orcpt != NULL && rp->orcpt[0] == '\0'))
			abort();
	}
	buf_reset(&f->scratch);
	if (smtp_server_format_received(s, "QID", "x@y", &f->scratch) < 0)
		abort();
	decide(f, 250, "Ok: queued as QID");
}

static void
h_starttls(struct smtp_server_session *s, void *ctx)
{
	struct fz *f = ctx;

	if (!f->set.starttls_available || f->tls_switched || !smtp_server_session_is_tls(s) ||
	    smtp_server_session_get_helo(s) != NULL ||
	    smtp_server_session_get_auth_user(s) != NULL ||
	    smtp_server_session_get_mail_from(s) != NULL)
		abort();
	f->tls_switched = true;
	smtp_server_session_set_tls_info(s, "TLSv1.3", "TLS_AES_128_GCM_SHA256");
	if ((f->features & FZ_F_CB) != 0) {
		struct sasl_channel_binding cb = { .tls_exporter = fz_cb_data,
						   .tls_exporter_len = sizeof(fz_cb_data) };

		smtp_server_session_set_channel_binding(s, &cb);
	}
}

static void
h_auth_lookup(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
	      const char *password)
{
	struct fz *f = ctx;
	unsigned n = ++f->calls;
	bool user = strcmp(authcid, "user") == 0;

	/* AUTH only where offered; passwords only over TLS or where allowed */
	if (!f->set.auth_available || smtp_server_session_get_auth_user(s) != NULL ||
	    smtp_server_session_get_mail_from(s) != NULL)
		abort();
	if (!smtp_server_session_is_tls(s) && !f->set.auth_plaintext_allowed)
		abort();
	f->p_ok = user && password != NULL && strcmp(password, "pass") == 0;
	f->p_secret = user ? fz_secret : NULL;
	if ((f->features & FZ_F_TEMPFAIL) != 0 && n % 3 == 0)
		f->p_kind = FZ_TEMPFAIL;
	else
		f->p_kind = password != NULL ? FZ_VERIFIED : FZ_SECRET;
	if (f->deferred) {
		f->has_pending = true;
		return;
	}
	if (f->p_kind == FZ_TEMPFAIL)
		smtp_server_auth_tempfail(s);
	else if (f->p_kind == FZ_VERIFIED)
		smtp_server_auth_verified(s, f->p_ok);
	else
		smtp_server_auth_secret(s, f->p_secret);
}

static void
h_auth_result(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
	      bool ok, const char *reason)
{
	if (mech == NULL || ok != (reason == NULL) || (ok && authcid == NULL))
		abort();
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
	.starttls = h_starttls, .auth_lookup = h_auth_lookup, .auth_result = h_auth_result,
};
static const struct smtp_server_io io = { io_write, io_close };

static void
complete(struct fz *f)
{
	while (f->has_pending && f->s != NULL) {
		f->has_pending = false;
		switch (f->p_kind) {
		case FZ_HOOK:
			smtp_server_hook_done(f->s, f->p_code, f->p_enh, f->p_text);
			break;
		case FZ_VERIFIED:
			smtp_server_auth_verified(f->s, f->p_ok);
			break;
		case FZ_SECRET:
			smtp_server_auth_secret(f->s, f->p_secret);
			break;
		case FZ_TEMPFAIL:
			smtp_server_auth_tempfail(f->s);
			break;
		}
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

/* Feed data in pieces; plain text stops at the TLS switch. Returns false
 * when the session stopped taking input. */
static bool
feed(struct fz *f, const uint8_t *data, size_t size, size_t piece, bool plain, bool last,
     unsigned ending)
{
	size_t pos = 0;

	while (pos < size && f->s != NULL && !(plain && f->tls_switched)) {
		size_t n = size - pos < piece ? size - pos : piece;

		if (!smtp_server_session_wants_input(f->s))
			return false;
		smtp_server_session_input(f->s, data + pos, n);
		pos += n;
		if (ending != 3 || pos < size || !last)
			complete(f);
	}
	return true;
}

static void
run(const uint8_t *data, size_t size, unsigned ctl, unsigned features, size_t piece,
    bool deferred, struct buf *result)
{
	struct fz f;
	unsigned ending = (ctl >> 3) & 3;
	const uint8_t *tls = memmem(data, size, FUZZ_TLS_MARK, sizeof(FUZZ_TLS_MARK) - 1);
	size_t plain_len = tls == NULL ? size : (size_t)(tls - data);
	struct smtp_server_hooks hk = hooks;

	memset(&f, 0, sizeof(f));
	f.set.hostname = "mx.fuzz.example";
	f.pattern = (ctl >> 5) & 7;
	f.features = features;
	f.deferred = deferred;
	f.free_on_close = (ctl & 4) != 0;
	buf_init(&f.out, 0);
	buf_init(&f.scratch, 0);
	smtp_server_limits_init_default(&f.set.limits);
	if ((ctl & 2) != 0) {
		f.set.limits.max_line = 512;
		f.set.limits.max_recipients = 3;
		f.set.limits.max_message_size = 64;
		f.set.limits.max_errors = 5;
		f.set.limits.max_params = 2;
		f.set.limits.max_auth_line = 600;
	}
	f.set.starttls_available = (features & FZ_F_STARTTLS) != 0;
	f.set.auth_available = (features & FZ_F_AUTH) != 0;
	f.set.auth_plaintext_allowed = (features & FZ_F_PLAINTEXT) != 0;
	f.set.submission = (features & FZ_F_SUBMISSION) != 0;
	if ((features & FZ_F_NO_LOOKUP) != 0)
		hk.auth_lookup = NULL;
	f.s = smtp_server_session_new(&f.set, &hk, &f, &io, &f, "192.0.2.7", NULL);
	if ((features & FZ_F_IMPLICIT_TLS) != 0)
		smtp_server_session_set_tls(f.s, true);
	smtp_server_session_start(f.s);
	complete(&f);
	if (feed(&f, data, plain_len, piece, true, tls == NULL, ending) &&
	    tls != NULL && f.tls_switched) {
		size_t skip = plain_len + sizeof(FUZZ_TLS_MARK) - 1;

		feed(&f, data + skip, size - skip, piece, false, true, ending);
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

/* The output with the text of every "334 " line left out. */
static void
mask_challenges(struct buf *out)
{
	struct buf masked;
	const uint8_t *p = buf_data(out), *end = p + buf_len(out);

	buf_init(&masked, 0);
	while (p < end) {
		const uint8_t *crlf = memmem(p, (size_t)(end - p), "\r\n", 2);
		size_t len = crlf == NULL ? (size_t)(end - p) : (size_t)(crlf - p) + 2;

		if (len >= 4 && memcmp(p, "334 ", 4) == 0)
			buf_append_str(&masked, "334 *\r\n");
		else
			buf_append(&masked, p, len);
		p += len;
	}
	buf_deinit(out);
	*out = masked;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf a, b;
	unsigned ctl, features;
	size_t piece;

	/* the whole-input run passes everything in one call, which the glue
	 * contract allows only up to half the input buffer */
	if (size < 3 || size > 32768)
		return 0;
	if (fz_secret == NULL && (fz_secret = sasl_scram_secret_make("pass", 4096)) == NULL)
		abort();
	ctl = data[0];
	piece = 1 + data[1];
	features = data[2];
	data += 3;
	size -= 3;
	buf_init(&a, 0);
	buf_init(&b, 0);
	run(data, size, ctl, features, size == 0 ? 1 : size, false, &a);
	run(data, size, ctl, features, piece, (ctl & 1) != 0, &b);
	mask_challenges(&a);
	mask_challenges(&b);
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
