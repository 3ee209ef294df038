/*
 * fuzz-imap-server.c - libFuzzer target for a whole IMAP server session
 * (not-authenticated and authenticated states, STARTTLS, LOGIN,
 * AUTHENTICATE, literals, and the mailbox commands LIST/LSUB/NAMESPACE/
 * CREATE/DELETE/RENAME/(UN)SUBSCRIBE/STATUS against a fake mailbox list:
 * "INBOX", "Sent" (\Sent), "a", "a/b", "x/y/z", "Entwürfe", gone "g",
 * "bad//n"; mailbox hooks fail for the name "f").
 *
 * Input: byte 0 = flags, byte 1 = input chunk size - 1, the rest = what the
 * client sends. The session runs twice against a fake io and fake hooks:
 * all input at once with synchronous hooks, then in chunks with hooks that
 * (per flags) complete later. Unless STARTTLS was accepted (after which the
 * harness, like a glue, drops the rest of the plain-text chunk, so the runs
 * legitimately differ), both transcripts must be identical, SASL challenge
 * lines compared only as such (SCRAM nonces are random). Checked all along:
 * at most one hook outstanding, no output after close, disconnect exactly
 * once, starttls at most once and with no output after its reply in the
 * same chunk.
 *
 * Logins: user "u", password "p" (AUTHENTICATE PLAIN "AHUAcA=="); password
 * "t" a temporary failure; user "n" a failing login hook. SCRAM: "u" has
 * the secret of "p".
 *
 * flags: bit 0 deferred hooks (second run), bit 1 plaintext allowed, bit 2
 * free inside io->close, bit 3 timeout at the end, bit 4 shutdown at the
 * end, bit 5 STARTTLS available, bit 6 implicit TLS, bit 7 channel binding.
 */
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_op { FUZZ_NONE, FUZZ_AUTH, FUZZ_LOGIN, FUZZ_LIST, FUZZ_STATUS, FUZZ_MBOX };

struct fuzz {
	struct imap_server_session *s;
	struct buf out;
	bool deferred, free_in_close, closed;
	enum fuzz_op op;
	char user[64], pass[64], mbox[64];
	bool want_secret;
	int disconnect_calls, starttls_calls;
	bool stls_this_input;
	size_t stls_out;
};

static const uint8_t fuzz_exporter[32] = { 0x42 };

static const char *
fuzz_secret(void)
{
	static char *secret;

	if (secret == NULL)
		secret = sasl_scram_secret_make("p", 4096);
	return secret;
}

static void
fuzz_check(bool ok)
{
	if (!ok)
		__builtin_trap();
}

static void
fuzz_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fuzz *f = ctx;

	fuzz_check(!f->closed);
	/* nothing after the STARTTLS reply within the same plain-text chunk */
	fuzz_check(!f->stls_this_input);
	if (buf_append(&f->out, data, len) < 0)
		__builtin_trap();
}

static void
fuzz_close(void *ctx)
{
	struct fuzz *f = ctx;

	fuzz_check(!f->closed);
	f->closed = true;
	if (f->free_in_close)
		imap_server_session_free(&f->s);
}

static const struct imap_mailbox_info fuzz_boxes[] = {
	{ "INBOX", 0, true, true },     { "Sent", IMAP_SPECIAL_USE_SENT, true, true },
	{ "a", 0, false, true },        { "a/b", 0, true, true },
	{ "x/y/z", 0, true, true },     { "Entw\xc3\xbcrfe", 0, false, true },
	{ "g", 0, true, false },        { "bad//n", 0, true, true },
};

static void
fuzz_complete(struct fuzz *f)
{
	enum fuzz_op op = f->op;
	struct imap_status_info st = { 1, 2, 3, 4, 5, 6, 7 };
	bool fail = strcmp(f->mbox, "f") == 0;

	f->op = FUZZ_NONE;
	if (f->s == NULL)
		return;
	if (op == FUZZ_LIST)
		imap_server_list_done(f->s, fuzz_boxes, sizeof(fuzz_boxes) / sizeof(fuzz_boxes[0]),
				      IMAP_MAILBOX_OK);
	else if (op == FUZZ_STATUS)
		imap_server_status_done(f->s, fail ? NULL : &st,
					fail ? IMAP_MAILBOX_NONEXISTENT : IMAP_MAILBOX_OK);
	else if (op == FUZZ_MBOX)
		imap_server_mailbox_op_done(f->s, fail ? IMAP_MAILBOX_CANNOT : IMAP_MAILBOX_OK,
					    fail ? "no\r\n" : NULL);
	else if (op == FUZZ_LOGIN)
		imap_server_login_done(f->s, strcmp(f->user, "n") != 0);
	else if (op == FUZZ_AUTH && f->want_secret)
		imap_server_auth_secret(f->s, strcmp(f->user, "u") == 0 ? fuzz_secret() : NULL);
	else if (op == FUZZ_AUTH && strcmp(f->pass, "t") == 0)
		imap_server_auth_tempfail(f->s);
	else if (op == FUZZ_AUTH)
		imap_server_auth_verified(f->s, (strcmp(f->user, "u") == 0 ||
						 strcmp(f->user, "n") == 0) &&
						strcmp(f->pass, "p") == 0);
}

static void
fuzz_begin(struct fuzz *f, enum fuzz_op op)
{
	fuzz_check(f->op == FUZZ_NONE);
	fuzz_check(!f->stls_this_input);
	f->op = op;
	if (!f->deferred)
		fuzz_complete(f);
}

static void
fuzz_copy(char *dst, size_t size, const char *src)
{
	size_t n = src != NULL ? strlen(src) : 0;

	if (n >= size)
		n = size - 1;
	if (n > 0)
		memcpy(dst, src, n);
	dst[n] = '\0';
}

static void
fuzz_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
		 const char *password)
{
	struct fuzz *f = ctx;

	fuzz_copy(f->user, sizeof(f->user), authcid);
	fuzz_copy(f->pass, sizeof(f->pass), password);
	f->want_secret = password == NULL;
	fuzz_begin(f, FUZZ_AUTH);
}

static void
fuzz_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	struct fuzz *f = ctx;

	fuzz_copy(f->user, sizeof(f->user), user);
	fuzz_begin(f, FUZZ_LOGIN);
}

static void
fuzz_starttls(void *ctx, struct imap_server_session *s)
{
	struct fuzz *f = ctx;
	struct sasl_channel_binding cb = { .tls_exporter = fuzz_exporter,
					   .tls_exporter_len = sizeof(fuzz_exporter) };

	fuzz_check(f->op == FUZZ_NONE);
	f->starttls_calls++;
	fuzz_check(f->starttls_calls == 1);
	f->stls_this_input = true;
	f->stls_out = buf_len(&f->out);
	imap_server_session_set_channel_binding(s, &cb);
}

static void
fuzz_disconnect(void *ctx, struct imap_server_session *s)
{
	struct fuzz *f = ctx;

	f->disconnect_calls++;
	f->op = FUZZ_NONE;
}

static void
fuzz_mailbox_list(void *ctx, struct imap_server_session *s)
{
	fuzz_begin(ctx, FUZZ_LIST);
}

static void
fuzz_mailbox_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	struct fuzz *f = ctx;

	fuzz_check(items != 0);
	fuzz_copy(f->mbox, sizeof(f->mbox), name);
	fuzz_begin(f, FUZZ_STATUS);
}

static void
fuzz_mailbox_create(void *ctx, struct imap_server_session *s, const char *name,
		    unsigned special_use)
{
	struct fuzz *f = ctx;

	fuzz_check(name[0] != '\0' && strcmp(name, "INBOX") != 0);
	fuzz_copy(f->mbox, sizeof(f->mbox), name);
	fuzz_begin(f, FUZZ_MBOX);
}

static void
fuzz_mailbox_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	fuzz_mailbox_create(ctx, s, name, 0);
}

static void
fuzz_mailbox_rename(void *ctx, struct imap_server_session *s, const char *old_name,
		    const char *new_name)
{
	fuzz_mailbox_create(ctx, s, new_name, 0);
}

static void
fuzz_mailbox_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool subscribe)
{
	struct fuzz *f = ctx;

	fuzz_copy(f->mbox, sizeof(f->mbox), name);
	fuzz_begin(f, FUZZ_MBOX);
}

static const struct imap_server_io fuzz_io = { .write = fuzz_write, .close = fuzz_close };
static const struct imap_server_hooks fuzz_hooks = {
	.auth_lookup = fuzz_auth_lookup,
	.authenticated = fuzz_authenticated,
	.starttls = fuzz_starttls,
	.disconnect = fuzz_disconnect,
	.mailbox_list = fuzz_mailbox_list,
	.mailbox_status = fuzz_mailbox_status,
	.mailbox_create = fuzz_mailbox_create,
	.mailbox_delete = fuzz_mailbox_delete,
	.mailbox_rename = fuzz_mailbox_rename,
	.mailbox_subscribe = fuzz_mailbox_subscribe,
};

/* One session; the transcript is left in f->out. */
static void
fuzz_run(struct fuzz *f, uint8_t flags, const uint8_t *in, size_t len, size_t chunk)
{
	struct imap_server_settings set;
	struct sasl_channel_binding cb = { .tls_exporter = fuzz_exporter,
					   .tls_exporter_len = sizeof(fuzz_exporter) };

	memset(&set, 0, sizeof(set));
	set.hostname = "fuzz.example";
	set.auth_plaintext_allowed = (flags & 0x02) != 0;
	set.starttls_available = (flags & 0x20) != 0;
	set.namespace_shared = (flags & 0x04) != 0;
	imap_server_limits_init_default(&set.limits);
	set.limits.max_literal_prelogin = 300;
	set.limits.max_literal = 3000;
	set.limits.max_input_buffer = 1 << 20;
	buf_init(&f->out, 0);
	f->s = imap_server_session_new(&set, &fuzz_hooks, f, &fuzz_io, f, "192.0.2.9");
	if ((flags & 0x40) != 0)
		imap_server_session_set_tls(f->s, true);
	if ((flags & 0x80) != 0)
		imap_server_session_set_channel_binding(f->s, &cb);
	imap_server_session_start(f->s);
	for (size_t pos = 0; pos < len && f->s != NULL; pos += chunk) {
		size_t n = len - pos < chunk ? len - pos : chunk;

		f->stls_this_input = false;
		imap_server_session_input(f->s, in + pos, n);
		while (f->op != FUZZ_NONE && f->s != NULL) {
			fuzz_check(!imap_server_session_wants_input(f->s));
			fuzz_complete(f);
		}
		f->stls_this_input = false;
		if (f->starttls_calls > 0 && chunk >= len)
			break;
	}
	if (f->s != NULL && (flags & 0x08) != 0)
		imap_server_session_timeout(f->s);
	if (f->s != NULL && (flags & 0x10) != 0)
		imap_server_session_shutdown(f->s);
	imap_server_session_free(&f->s);
	fuzz_check(f->disconnect_calls == 1);
}

/* The transcript with every SASL challenge's data blanked. */
static void
fuzz_normalize(const struct buf *in, struct buf *out)
{
	const char *p = (const char *)buf_data(in), *end = p + buf_len(in);
	bool line_start = true;

	while (p < end) {
		if (line_start && end - p >= 2 && p[0] == '+' && p[1] == ' ' &&
		    !(end - p >= 7 && memcmp(p, "+ Ready", 7) == 0)) {
			const char *nl = memchr(p, '\n', (size_t)(end - p));

			(void)buf_append_str(out, "+ *\n");
			if (nl == NULL)
				break;
			p = nl + 1;
			continue;
		}
		line_start = *p == '\n';
		(void)buf_append_byte(out, (uint8_t)*p);
		p++;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz a, b;
	struct buf na, nb;
	uint8_t flags;
	size_t chunk;

	if (size < 2)
		return 0;
	flags = data[0];
	chunk = (size_t)data[1] + 1;
	data += 2;
	size -= 2;

	memset(&a, 0, sizeof(a));
	a.free_in_close = (flags & 0x04) != 0;
	fuzz_run(&a, flags, data, size, size > 0 ? size : 1);

	memset(&b, 0, sizeof(b));
	b.deferred = (flags & 0x01) != 0;
	b.free_in_close = a.free_in_close;
	fuzz_run(&b, flags, data, size, chunk);

	if (a.starttls_calls == 0 && b.starttls_calls == 0) {
		buf_init(&na, 0);
		buf_init(&nb, 0);
		fuzz_normalize(&a.out, &na);
		fuzz_normalize(&b.out, &nb);
		fuzz_check(buf_len(&na) == buf_len(&nb) &&
			   memcmp(buf_data(&na), buf_data(&nb), buf_len(&na)) == 0);
		buf_deinit(&na);
		buf_deinit(&nb);
	}
	buf_deinit(&a.out);
	buf_deinit(&b.out);
	return 0;
}
