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
 *
 * Selected state: the selected-state hooks serve one fake mailbox (UIDs 1,
 * 2, 5, 7; 2 and 7 \Deleted) under any name but "f" (NONEXISTENT) and "r"
 * (no "e" right); after selecting "d" the next sync hook delivers and
 * signals a change before answering (the change then waits for the next
 * command or IDLE), and every expunge hook also delivers and changes flags
 * before signalling, so that syncs, EXISTS, EXPUNGE/VANISHED and FETCH
 * updates are reached. Changes are signalled only while a hook is
 * outstanding, where both runs see them at the same point. FETCH, SEARCH
 * and STORE complete empty; COPY, APPEND, ACL and QUOTA fail with CANNOT.
 */
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"

#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum fuzz_op { FUZZ_NONE, FUZZ_AUTH, FUZZ_LOGIN, FUZZ_LIST, FUZZ_STATUS, FUZZ_MBOX,
	       FUZZ_SELECT, FUZZ_SYNC, FUZZ_EXPUNGE, FUZZ_FETCH, FUZZ_SEARCH, FUZZ_STORE,
	       FUZZ_FAIL_COPY, FUZZ_FAIL_APPEND, FUZZ_FAIL_ACL, FUZZ_FAIL_QUOTA };

/* The fake mailbox (bounded: deliveries stop at FUZZ_BOX_MAX). */
#define FUZZ_BOX_MAX 32
struct fuzz_box {
	uint32_t uids[FUZZ_BOX_MAX];
	unsigned flags[FUZZ_BOX_MAX];
	uint64_t modseqs[FUZZ_BOX_MAX];
	size_t count;
	uint32_t uidnext;
	uint64_t modseq;
	uint32_t gone[FUZZ_BOX_MAX * 2];
	uint64_t gone_modseq[FUZZ_BOX_MAX * 2];
	size_t gone_count;
	uint64_t since;
	bool no_expunge_right, deliver_in_sync;
	uint32_t exp[FUZZ_BOX_MAX];
	size_t exp_count;
};

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
	struct fuzz_box box;
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
fuzz_box_deliver(struct fuzz_box *b)
{
	if (b->count >= FUZZ_BOX_MAX)
		return;
	b->uids[b->count] = b->uidnext++;
	b->flags[b->count] = 0;
	b->modseqs[b->count++] = ++b->modseq;
}

static void
fuzz_box_init(struct fuzz_box *b)
{
	static const uint32_t uids[] = { 1, 2, 5, 7 };
	static const unsigned flags[] = { 0, IMAP_FLAG_DELETED, IMAP_FLAG_SEEN,
					  IMAP_FLAG_SEEN | IMAP_FLAG_DELETED };

	memset(b, 0, sizeof(*b));
	for (size_t i = 0; i < 4; i++) {
		b->uids[i] = uids[i];
		b->flags[i] = flags[i];
		b->modseqs[i] = i + 1;
	}
	b->count = 4;
	b->uidnext = 8;
	b->modseq = 4;
}

static void
fuzz_box_view(struct fuzz_box *b, struct imap_mailbox_view *v,
	      struct imap_message_change *changes, bool full)
{
	memset(v, 0, sizeof(*v));
	v->uidvalidity = 7;
	v->uidnext = b->uidnext;
	v->highest_modseq = b->modseq;
	v->keywords = "$Fuzz";
	v->rights = b->no_expunge_right ? "lrswit" : "aeiklprstwx";
	if (full) {
		v->uids = b->uids;
		v->count = b->count;
		v->first_unseen_uid = b->uids[0];
	} else {
		v->vanished = b->gone;
		for (size_t i = 0; i < b->gone_count; i++) {
			if (b->gone_modseq[i] > b->since)
				v->vanished_count = i + 1;
		}
	}
	for (size_t i = 0; i < b->count; i++) {
		if (b->modseqs[i] > b->since) {
			changes[v->change_count].uid = b->uids[i];
			changes[v->change_count].flags = b->flags[i];
			changes[v->change_count].keywords = (i & 1) != 0 ? "$Fuzz" : NULL;
			changes[v->change_count++].modseq = b->modseqs[i];
		}
	}
	v->changes = changes;
}

static void
fuzz_complete_selected(struct fuzz *f, enum fuzz_op op)
{
	struct fuzz_box *b = &f->box;
	struct imap_message_change changes[FUZZ_BOX_MAX];
	struct imap_mailbox_view v;
	struct imap_search_result res = { 0 };
	uint32_t gone[FUZZ_BOX_MAX];
	size_t n = 0;

	switch (op) {
	case FUZZ_SELECT:
		if (strcmp(f->mbox, "f") == 0) {
			imap_server_select_done(f->s, NULL, IMAP_MAILBOX_NONEXISTENT, "gone\r\n");
			return;
		}
		b->no_expunge_right = strcmp(f->mbox, "r") == 0;
		fuzz_box_view(b, &v, changes, true);
		imap_server_select_done(f->s, &v, IMAP_MAILBOX_OK, NULL);
		break;
	case FUZZ_SYNC:
		fuzz_box_view(b, &v, changes, (b->since & 1) != 0);
		imap_server_sync_done(f->s, &v, IMAP_MAILBOX_OK);
		break;
	case FUZZ_EXPUNGE:
		for (size_t i = 0; i < b->count; i++) {
			bool asked = false;

			for (size_t k = 0; k < b->exp_count; k++)
				asked = asked || b->exp[k] == b->uids[i];
			if (asked && (b->flags[i] & IMAP_FLAG_DELETED) != 0 &&
			    b->gone_count < FUZZ_BOX_MAX * 2) {
				gone[n++] = b->uids[i];
				b->gone[b->gone_count] = b->uids[i];
				b->gone_modseq[b->gone_count++] = ++b->modseq;
				b->uids[i] = 0;
			}
		}
		for (size_t i = 0, k = 0; i < b->count; i++) {
			if (b->uids[i] != 0) {
				b->uids[k] = b->uids[i];
				b->flags[k] = b->flags[i];
				b->modseqs[k++] = b->modseqs[i];
			}
		}
		b->count -= n;
		imap_server_expunge_done(f->s, gone, n, IMAP_MAILBOX_OK, NULL);
		break;
	case FUZZ_FETCH:
		imap_server_fetch_done(f->s, NULL, 0, IMAP_MAILBOX_OK, NULL);
		break;
	case FUZZ_SEARCH:
		imap_server_search_done(f->s, &res, IMAP_MAILBOX_OK, NULL);
		break;
	case FUZZ_STORE:
		imap_server_store_done(f->s, NULL, 0, NULL, 0, IMAP_MAILBOX_OK, NULL);
		break;
	case FUZZ_FAIL_COPY:
		imap_server_copy_done(f->s, 0, NULL, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
		break;
	case FUZZ_FAIL_APPEND:
		imap_server_append_done(f->s, 0, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
		break;
	case FUZZ_FAIL_ACL:
		imap_server_acl_done(f->s, NULL, 0, NULL, IMAP_MAILBOX_CANNOT, NULL);
		break;
	case FUZZ_FAIL_QUOTA:
		imap_server_quota_done(f->s, NULL, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
		break;
	default:
		break;
	}
}

static void
fuzz_complete(struct fuzz *f)
{
	enum fuzz_op op = f->op;
	struct imap_status_info st = { .messages = 1, .uidnext = 2, .uidvalidity = 3,
					.unseen = 4, .deleted = 5, .size = 6,
					.highest_modseq = 7 };
	bool fail = strcmp(f->mbox, "f") == 0;

	f->op = FUZZ_NONE;
	if (f->s == NULL)
		return;
	if (op >= FUZZ_SELECT) {
		fuzz_complete_selected(f, op);
		return;
	}
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

static void
fuzz_select(void *ctx, struct imap_server_session *s, const char *name,
	    const struct imap_select_params *params)
{
	struct fuzz *f = ctx;

	fuzz_check(imap_server_session_selected(s) == NULL);
	fuzz_copy(f->mbox, sizeof(f->mbox), name);
	f->box.deliver_in_sync = strcmp(name, "d") == 0;
	fuzz_begin(f, FUZZ_SELECT);
}

static void
fuzz_unselect(void *ctx, struct imap_server_session *s)
{
}

static void
fuzz_sync(void *ctx, struct imap_server_session *s, uint64_t since)
{
	struct fuzz *f = ctx;

	fuzz_check(imap_server_session_selected(s) != NULL);
	f->box.since = since;
	if (f->box.deliver_in_sync) {
		f->box.deliver_in_sync = false;
		fuzz_box_deliver(&f->box);
		imap_server_mailbox_changed(s);
	}
	fuzz_begin(f, FUZZ_SYNC);
}

static void
fuzz_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	struct fuzz *f = ctx;
	struct fuzz_box *b = &f->box;

	b->exp_count = count < FUZZ_BOX_MAX ? count : FUZZ_BOX_MAX;
	memcpy(b->exp, uids, b->exp_count * sizeof(*uids));
	/* another session works on the mailbox meanwhile */
	fuzz_box_deliver(b);
	if (b->count > 1) {
		b->flags[0] ^= IMAP_FLAG_SEEN | IMAP_FLAG_FLAGGED;
		b->modseqs[0] = ++b->modseq;
	}
	imap_server_mailbox_changed(s);
	fuzz_begin(f, FUZZ_EXPUNGE);
}

static void
fuzz_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	fuzz_begin(ctx, FUZZ_FETCH);
}

static void
fuzz_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	fuzz_begin(ctx, FUZZ_SEARCH);
}

static void
fuzz_store(void *ctx, struct imap_server_session *s, const struct imap_store_request *req)
{
	fuzz_begin(ctx, FUZZ_STORE);
}

static void
fuzz_copy_hook(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count,
	       const char *dest, bool move)
{
	fuzz_begin(ctx, FUZZ_FAIL_COPY);
}

static void
fuzz_append(void *ctx, struct imap_server_session *s, const char *name,
	    const struct imap_append_message *msgs, size_t count)
{
	fuzz_begin(ctx, FUZZ_FAIL_APPEND);
}

static void
fuzz_acl(void *ctx, struct imap_server_session *s, enum imap_acl_op op, const char *name,
	 const char *identifier, const char *rights)
{
	fuzz_begin(ctx, FUZZ_FAIL_ACL);
}

static void
fuzz_quota(void *ctx, struct imap_server_session *s, const char *root, const char *name)
{
	fuzz_begin(ctx, FUZZ_FAIL_QUOTA);
}

static const struct imap_server_selected_hooks fuzz_shooks = {
	.mailbox_select = fuzz_select,
	.mailbox_unselect = fuzz_unselect,
	.mailbox_sync = fuzz_sync,
	.message_fetch = fuzz_fetch,
	.message_search = fuzz_search,
	.message_store = fuzz_store,
	.message_copy = fuzz_copy_hook,
	.message_expunge = fuzz_expunge,
	.message_append = fuzz_append,
	.acl = fuzz_acl,
	.quota = fuzz_quota,
};

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
	fuzz_box_init(&f->box);
	f->s = imap_server_session_new(&set, &fuzz_hooks, f, &fuzz_io, f, "192.0.2.9");
	imap_server_session_set_selected_hooks(f->s, &fuzz_shooks);
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
