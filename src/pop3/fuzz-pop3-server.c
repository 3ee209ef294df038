/*
 * fuzz-pop3-server.c - libFuzzer target for a whole POP3 server session,
 * STLS and SASL included.
 *
 * Input: byte 0 = flags, byte 1 = input chunk size, byte 2 = TLS flags, the
 * rest = what the client sends. The session runs twice against a fake io
 * and fake hooks: once with all input at once and synchronous hooks, once
 * in chunks with hooks that (per flags) complete later and message data
 * split into small pieces. Both transcripts, and the UPDATE each one asked
 * for, must be identical, except that SASL challenges ("+ " lines) are
 * compared only as such: SCRAM's server nonce is random. Checked all along:
 * at most one hook outstanding, no output after close, update at most once
 * and only after "QUIT", disconnect exactly once, starttls at most once,
 * open_maildrop only right after auth_result reported a success.
 *
 * STLS: like a glue, the harness drops the rest of the input chunk during
 * whose handling (the input call, or a completion that resumed pipelined
 * input) starttls was called, and goes on with the next chunks as TLS data.
 * Within that chunk the engine must neither answer nor call a hook after
 * the STLS reply (no command injection). So the all-at-once run must end with the
 * STLS reply (then only the timeout/shutdown reply of flags 3/4), and the
 * chunked run must agree with it up to there.
 *
 * Logins: user "u" with password "p" (AUTH PLAIN "AHUAcA==") succeeds;
 * password "l" gives a maildrop IN_USE, "m" TEMPFAIL, "f" FAILED, "t" a
 * temporary failure of the check; anything else fails. SCRAM: user "u" has
 * the secret of "p", "t" a temporary failure, others none.
 *
 * flags: bit 0 deferred hooks, bit 1 plaintext auth allowed, bit 2 the glue
 * frees the session inside io->close, bit 3 timeout at the end, bit 4
 * shutdown at the end, bits 5-7 message chunk size. Byte 1: bits 0-6 input
 * chunk size - 1; bit 7 "chaos": the second run calls the timeout/shutdown
 * of bits 3/4 while a hook is outstanding (in the middle of a RETR too) and,
 * with bit 2, frees the session from inside io->write once 300 octets have
 * been written. Chaos runs differ from the first run by design, so only the
 * invariants are checked for them. Byte 2: bit 0 STLS available, bit 1
 * implicit TLS, bit 2 channel binding (from the start with bit 1, else set
 * by the starttls hook), bit 3 open_maildrop completes inside the hook even
 * when hooks are deferred.
 */
#include "pop3/pop3-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_msgs[] = {
	"Subject: a\r\n\r\n.line\r\n..\r\n.\r\nend\r\n",
	"Subject: b\r\nX: y\r\n\r\nb1\r\n\r\nb3", /* no final CRLF */
	"",
	".\r\n\r\n.\r",
};

static const uint8_t fuzz_exporter[32] = { 0x42 };

enum fuzz_op { FUZZ_NONE, FUZZ_AUTH, FUZZ_MAILDROP, FUZZ_RETRIEVE, FUZZ_UPDATE };

struct fuzz {
	struct pop3_server_session *s;
	struct buf out;
	bool deferred, free_in_close, closed, chaos, sync_maildrop, cb_at_stls;
	uint8_t flags;
	size_t msg_chunk;
	enum fuzz_op op;
	char user[64], pass[64];
	bool want_secret;
	unsigned retr_index;
	int update_calls, disconnect_calls, starttls_calls;
	unsigned deleted_mask;
	bool saw_quit;
	bool stls_this_input;   /* starttls was called while this chunk was being handled */
	bool authenticated;     /* auth_result said ok; open_maildrop must follow */
	size_t stls_out;        /* output length when starttls was called */
};

/* SCRAM secret of "u" (password "p"): made once, the PBKDF2 is slow. */
static const char *
fuzz_scram_secret(void)
{
	static char *secret;

	if (secret == NULL)
		secret = sasl_scram_secret_make("p", 4096);
	ASSERT(secret != NULL);
	return secret;
}

static void
fuzz_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fuzz *f = ctx;

	ASSERT(!f->closed);
	ASSERT(buf_append(&f->out, data, len) == 0);
	if (f->chaos && f->free_in_close && buf_len(&f->out) > 300)
		pop3_server_session_free(&f->s);
}

/* Chaos: the event loop's timer or a shutdown fires while a hook waits. */
static void
fuzz_chaos(struct fuzz *f)
{
	if (!f->chaos || f->s == NULL)
		return;
	if ((f->flags & 8) != 0)
		pop3_server_session_timeout(f->s);
	if ((f->flags & 16) != 0 && f->s != NULL)
		pop3_server_session_shutdown(f->s);
}

static void
fuzz_close(void *ctx)
{
	struct fuzz *f = ctx;

	ASSERT(!f->closed);
	f->closed = true;
	if (f->free_in_close)
		pop3_server_session_free(&f->s);
}

static void
fuzz_auth_complete(struct fuzz *f)
{
	bool user_ok = strcmp(f->user, "u") == 0;

	if (f->want_secret) {
		if (strcmp(f->user, "t") == 0)
			pop3_server_auth_tempfail(f->s);
		else
			pop3_server_auth_secret(f->s, user_ok ? fuzz_scram_secret() : NULL);
		return;
	}
	if (strcmp(f->pass, "t") == 0) {
		pop3_server_auth_tempfail(f->s);
		return;
	}
	pop3_server_auth_verified(f->s, user_ok && strlen(f->pass) == 1 &&
						 strchr("plmf", f->pass[0]) != NULL);
}

static void
fuzz_maildrop_complete(struct fuzz *f)
{
	struct pop3_message_info info[N_ELEMENTS(fuzz_msgs)];
	enum pop3_login_result res = POP3_LOGIN_OK;

	memset(info, 0, sizeof(info));
	for (unsigned i = 0; i < N_ELEMENTS(fuzz_msgs); i++) {
		info[i].size = strlen(fuzz_msgs[i]);
		snprintf(info[i].uidl, sizeof(info[i].uidl), "uid%u", i);
	}
	if (strcmp(f->pass, "l") == 0)
		res = POP3_LOGIN_IN_USE;
	else if (strcmp(f->pass, "m") == 0)
		res = POP3_LOGIN_TEMPFAIL;
	else if (strcmp(f->pass, "f") == 0)
		res = POP3_LOGIN_FAILED;
	pop3_server_login_done(f->s, res, info, N_ELEMENTS(fuzz_msgs));
}

static void
fuzz_retrieve_complete(struct fuzz *f)
{
	const char *m = fuzz_msgs[f->retr_index];
	size_t len = strlen(m), chunk = f->msg_chunk == 0 ? len : f->msg_chunk;

	for (size_t pos = 0; pos < len && f->s != NULL; pos += chunk) {
		pop3_server_retrieve_data(f->s, (const uint8_t *)m + pos,
					  len - pos < chunk ? len - pos : chunk);
		if (pos == 0)
			fuzz_chaos(f);
	}
	if (f->s != NULL)
		pop3_server_retrieve_done(f->s, true);
}

static void
fuzz_complete(struct fuzz *f)
{
	enum fuzz_op op = f->op;

	f->op = FUZZ_NONE;
	if (f->s == NULL)
		return;
	if (op == FUZZ_AUTH)
		fuzz_auth_complete(f);
	else if (op == FUZZ_MAILDROP)
		fuzz_maildrop_complete(f);
	else if (op == FUZZ_RETRIEVE)
		fuzz_retrieve_complete(f);
	else if (op == FUZZ_UPDATE)
		pop3_server_update_done(f->s, true);
}

static void
fuzz_begin(struct fuzz *f, enum fuzz_op op)
{
	ASSERT(f->op == FUZZ_NONE);
	ASSERT(!f->closed);
	/* nothing sent after STLS in the same plain-text input is acted on */
	ASSERT(!f->stls_this_input);
	f->op = op;
	if (!f->deferred || (op == FUZZ_MAILDROP && f->sync_maildrop))
		fuzz_complete(f);
}

static void
fuzz_auth_lookup(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
		 const char *password)
{
	struct fuzz *f = ctx;

	ASSERT(s == f->s);
	ASSERT(sasl_mechanism_find(mech) != NULL || strcmp(mech, "USER") == 0);
	snprintf(f->user, sizeof(f->user), "%s", authcid);
	snprintf(f->pass, sizeof(f->pass), "%s", password != NULL ? password : "");
	f->want_secret = password == NULL;
	fuzz_begin(f, FUZZ_AUTH);
}

static void
fuzz_open_maildrop(void *ctx, struct pop3_server_session *s, const char *user)
{
	struct fuzz *f = ctx;

	ASSERT(s == f->s);
	ASSERT(strcmp(user, f->user) == 0);
	/* only after a successful authentication, reported first */
	ASSERT(f->authenticated);
	f->authenticated = false;
	fuzz_begin(f, FUZZ_MAILDROP);
}

static void
fuzz_retrieve(void *ctx, struct pop3_server_session *s, unsigned index, long top_lines)
{
	struct fuzz *f = ctx;

	ASSERT(index < N_ELEMENTS(fuzz_msgs));
	ASSERT(top_lines >= -1);
	f->retr_index = index;
	fuzz_begin(f, FUZZ_RETRIEVE);
}

static void
fuzz_update(void *ctx, struct pop3_server_session *s, const unsigned *idx, unsigned count)
{
	struct fuzz *f = ctx;

	ASSERT(f->saw_quit);
	ASSERT(++f->update_calls == 1);
	for (unsigned i = 0; i < count; i++) {
		ASSERT(idx[i] < N_ELEMENTS(fuzz_msgs));
		ASSERT(i == 0 || idx[i] > idx[i - 1]);
		f->deleted_mask |= 1u << idx[i];
	}
	fuzz_begin(f, FUZZ_UPDATE);
}

static void
fuzz_starttls(void *ctx, struct pop3_server_session *s)
{
	static const char reply[] = "+OK Begin TLS negotiation\r\n";
	struct fuzz *f = ctx;
	size_t n = sizeof(reply) - 1;

	ASSERT(s == f->s);
	ASSERT(++f->starttls_calls == 1);
	ASSERT(f->op == FUZZ_NONE && !f->closed);
	ASSERT(pop3_server_session_is_tls(s));
	/* the reply has been handed over before the switch */
	ASSERT(buf_len(&f->out) >= n &&
	       memcmp(buf_data(&f->out) + buf_len(&f->out) - n, reply, n) == 0);
	f->stls_out = buf_len(&f->out);
	f->stls_this_input = true;
	if (f->cb_at_stls) {
		struct sasl_channel_binding cb = { .tls_exporter = fuzz_exporter,
						   .tls_exporter_len = sizeof(fuzz_exporter) };

		pop3_server_session_set_channel_binding(s, &cb);
	}
}

static void
fuzz_auth_result(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
		 bool ok, const char *reason)
{
	struct fuzz *f = ctx;

	ASSERT(s == f->s);
	ASSERT(ok == (reason == NULL));
	ASSERT(sasl_mechanism_find(mech) != NULL || strcmp(mech, "USER") == 0);
	ASSERT(!ok || (authcid != NULL && strcmp(authcid, f->user) == 0));
	ASSERT(!f->authenticated);
	f->authenticated = ok;
}

static void
fuzz_disconnect(void *ctx, struct pop3_server_session *s)
{
	struct fuzz *f = ctx;

	ASSERT(++f->disconnect_calls == 1);
	f->op = FUZZ_NONE;
}

static const struct pop3_server_io fuzz_io = { .write = fuzz_write, .close = fuzz_close };
static const struct pop3_server_hooks fuzz_hooks = {
	.auth_lookup = fuzz_auth_lookup,
	.open_maildrop = fuzz_open_maildrop,
	.retrieve = fuzz_retrieve,
	.update = fuzz_update,
	.starttls = fuzz_starttls,
	.auth_result = fuzz_auth_result,
	.disconnect = fuzz_disconnect,
};

/* Does the client data contain a QUIT command (so that update may run)? */
static bool
fuzz_has_quit(const uint8_t *data, size_t size)
{
	for (size_t i = 0; i + 4 <= size; i++) {
		if ((data[i] | 0x20) == 'q' && (data[i + 1] | 0x20) == 'u' &&
		    (data[i + 2] | 0x20) == 'i' && (data[i + 3] | 0x20) == 't')
			return true;
	}
	return false;
}

static void
fuzz_run(struct fuzz *f, uint8_t flags, uint8_t tls_flags, const uint8_t *data, size_t size,
	 size_t chunk)
{
	struct pop3_server_settings set;

	memset(&set, 0, sizeof(set));
	set.hostname = "fuzz.example";
	set.allow_plaintext_auth = (flags & 2) != 0;
	set.stls_available = (tls_flags & 1) != 0;
	pop3_server_limits_init_default(&set.limits);
	set.limits.max_input_buffer = 1 << 20;
	set.limits.max_auth_line = 1024; /* within reach of the fuzzer's input sizes */
	buf_init(&f->out, 0);
	f->saw_quit = fuzz_has_quit(data, size);
	f->cb_at_stls = (tls_flags & 4) != 0;
	f->s = pop3_server_session_new(&set, &fuzz_hooks, f, &fuzz_io, f, "192.0.2.9");
	if ((tls_flags & 2) != 0) {
		pop3_server_session_set_tls(f->s, true);
		if (f->cb_at_stls) {
			struct sasl_channel_binding cb = {
				.tls_exporter = fuzz_exporter,
				.tls_exporter_len = sizeof(fuzz_exporter),
			};

			pop3_server_session_set_channel_binding(f->s, &cb);
		}
	}
	pop3_server_session_start(f->s);
	for (size_t done = 0; done < size && f->s != NULL; done += chunk) {
		size_t n = size - done < chunk ? size - done : chunk;

		pop3_server_session_input(f->s, data + done, n);
		if (f->op != FUZZ_NONE)
			fuzz_chaos(f);
		while (f->op != FUZZ_NONE && f->s != NULL)
			fuzz_complete(f);
		if (f->stls_this_input) {
			/* STLS ran in the input call or in a completion that resumed
			 * held input: what was left of this chunk was plain text
			 * from before the switch and got no answer; the next chunk
			 * is TLS data */
			ASSERT(f->op == FUZZ_NONE);
			ASSERT(buf_len(&f->out) == f->stls_out);
			f->stls_this_input = false;
		}
		if (f->s != NULL && !f->closed)
			ASSERT(pop3_server_session_wants_input(f->s));
	}
	if (f->s != NULL && (flags & 8) != 0)
		pop3_server_session_timeout(f->s);
	if (f->s != NULL && (flags & 16) != 0)
		pop3_server_session_shutdown(f->s);
	pop3_server_session_free(&f->s);
	ASSERT(f->disconnect_calls == 1);
}

/* out[0..len) with each SASL challenge line reduced to "+ *". */
static void
fuzz_normalize(const struct buf *out, size_t len, struct buf *norm_r)
{
	const uint8_t *p = buf_data(out);
	size_t pos = 0;

	buf_init(norm_r, 0);
	while (pos < len) {
		const uint8_t *lf = memchr(p + pos, '\n', len - pos);
		size_t end = lf == NULL ? len : (size_t)(lf - p) + 1;

		if (end - pos >= 2 && p[pos] == '+' && p[pos + 1] == ' ')
			ASSERT(buf_append_str(norm_r, "+ *\n") == 0);
		else
			ASSERT(buf_append(norm_r, p + pos, end - pos) == 0);
		pos = end;
	}
}

/* Both runs must agree on out[0..a_len) and out[0..b_len). */
static void
fuzz_same(const struct fuzz *a, size_t a_len, const struct fuzz *b, size_t b_len)
{
	struct buf na, nb;

	fuzz_normalize(&a->out, a_len, &na);
	fuzz_normalize(&b->out, b_len, &nb);
	ASSERT(buf_len(&na) == buf_len(&nb));
	ASSERT(memcmp(buf_data(&na), buf_data(&nb), buf_len(&na)) == 0);
	buf_deinit(&na);
	buf_deinit(&nb);
}

/* With STLS, the all-at-once run ends at the STLS reply: after it only the
 * reply to the final timeout or shutdown may follow. */
static void
fuzz_check_stls_end(const struct fuzz *a)
{
	static const char *const endings[] = {
		"",
		"-ERR autologout timer expired\r\n",
		"-ERR [SYS/TEMP] server shutting down\r\n",
	};
	const uint8_t *rest = buf_data(&a->out) + a->stls_out;
	size_t rest_len = buf_len(&a->out) - a->stls_out;

	for (size_t i = 0; i < N_ELEMENTS(endings); i++) {
		if (rest_len == strlen(endings[i]) && memcmp(rest, endings[i], rest_len) == 0)
			return;
	}
	PANIC("output after STLS in the same input");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz a, b;
	uint8_t flags, tls_flags;
	size_t chunk;

	if (size < 3 || size > (1 << 20))
		return 0;
	flags = data[0];
	chunk = (size_t)(data[1] & 0x7f) + 1;
	tls_flags = data[2];
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fuzz_run(&a, flags & 0x1a, tls_flags & 0x07, data + 3, size - 3, size);
	b.deferred = (flags & 1) != 0;
	b.free_in_close = (flags & 4) != 0;
	b.msg_chunk = flags >> 5;
	b.chaos = (data[1] & 0x80) != 0;
	b.flags = flags;
	b.sync_maildrop = (tls_flags & 8) != 0;
	fuzz_run(&b, flags, tls_flags, data + 3, size - 3, chunk);
	if (a.starttls_calls > 0)
		fuzz_check_stls_end(&a);
	if (!b.chaos) {
		ASSERT(a.starttls_calls == b.starttls_calls);
		if (a.starttls_calls > 0) {
			fuzz_same(&a, a.stls_out, &b, b.stls_out);
		} else {
			fuzz_same(&a, buf_len(&a.out), &b, buf_len(&b.out));
			ASSERT(a.update_calls == b.update_calls &&
			       a.deleted_mask == b.deleted_mask);
		}
	}
	buf_deinit(&a.out);
	buf_deinit(&b.out);
	return 0;
}
