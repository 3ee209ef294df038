/*
 * fuzz-pop3-server.c - libFuzzer target for a whole POP3 server session.
 *
 * Input: byte 0 = flags, byte 1 = input chunk size, the rest = what the
 * client sends. The session runs twice against a fake io and fake hooks:
 * once with all input at once and synchronous hooks, once in chunks with
 * hooks that (per flags) complete later and message data split into small
 * pieces. Both transcripts, and the UPDATE each one asked for, must be
 * identical. Checked all along: at most one hook outstanding, no output
 * after close, update at most once and only after "QUIT", disconnect exactly
 * once. Logins: user "u" with password "p" (AUTH PLAIN "AHUAcA==") succeed;
 * password "l" is IN_USE, "t" TEMPFAIL, anything else fails.
 *
 * flags: bit 0 deferred hooks, bit 1 plaintext auth allowed, bit 2 the glue
 * frees the session inside io->close, bit 3 timeout at the end, bit 4
 * shutdown at the end, bits 5-7 message chunk size. Byte 1: bits 0-6 input
 * chunk size - 1; bit 7 "chaos": the second run calls the timeout/shutdown
 * of bits 3/4 while a hook is outstanding (in the middle of a RETR too) and,
 * with bit 2, frees the session from inside io->write once 300 octets have
 * been written. Chaos runs differ from the first run by design, so only the
 * invariants are checked for them.
 */
#include "pop3/pop3-server.h"
#include "core/buf.h"
#include "core/mem.h"

#include <stdio.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const fuzz_msgs[] = {
	"Subject: a\r\n\r\n.line\r\n..\r\n.\r\nend\r\n",
	"Subject: b\r\nX: y\r\n\r\nb1\r\n\r\nb3", /* no final CRLF */
	"",
	".\r\n\r\n.\r",
};

enum fuzz_op { FUZZ_NONE, FUZZ_LOGIN, FUZZ_RETRIEVE, FUZZ_UPDATE };

struct fuzz {
	struct pop3_server_session *s;
	struct buf out;
	bool deferred, free_in_close, closed, chaos;
	uint8_t flags;
	size_t msg_chunk;
	enum fuzz_op op;
	char user[64], pass[64];
	unsigned retr_index;
	int update_calls, disconnect_calls;
	unsigned deleted_mask;
	bool saw_quit;
};

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
fuzz_login_complete(struct fuzz *f)
{
	struct pop3_message_info info[N_ELEMENTS(fuzz_msgs)];
	enum pop3_login_result res = POP3_LOGIN_FAILED;

	memset(info, 0, sizeof(info));
	for (unsigned i = 0; i < N_ELEMENTS(fuzz_msgs); i++) {
		info[i].size = strlen(fuzz_msgs[i]);
		snprintf(info[i].uidl, sizeof(info[i].uidl), "uid%u", i);
	}
	if (strcmp(f->user, "u") == 0 && strcmp(f->pass, "p") == 0)
		res = POP3_LOGIN_OK;
	else if (strcmp(f->pass, "l") == 0)
		res = POP3_LOGIN_IN_USE;
	else if (strcmp(f->pass, "t") == 0)
		res = POP3_LOGIN_TEMPFAIL;
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
	if (op == FUZZ_LOGIN)
		fuzz_login_complete(f);
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
	f->op = op;
	if (!f->deferred)
		fuzz_complete(f);
}

static void
fuzz_login(void *ctx, struct pop3_server_session *s, const char *user, const char *password)
{
	struct fuzz *f = ctx;

	ASSERT(s == f->s);
	snprintf(f->user, sizeof(f->user), "%s", user);
	snprintf(f->pass, sizeof(f->pass), "%s", password);
	fuzz_begin(f, FUZZ_LOGIN);
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
fuzz_disconnect(void *ctx, struct pop3_server_session *s)
{
	struct fuzz *f = ctx;

	ASSERT(++f->disconnect_calls == 1);
	f->op = FUZZ_NONE;
}

static const struct pop3_server_io fuzz_io = { fuzz_write, fuzz_close };
static const struct pop3_server_hooks fuzz_hooks = { fuzz_login, fuzz_retrieve, fuzz_update,
						     fuzz_disconnect };

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
fuzz_run(struct fuzz *f, uint8_t flags, const uint8_t *data, size_t size, size_t chunk)
{
	struct pop3_server_settings set;

	memset(&set, 0, sizeof(set));
	set.hostname = "fuzz.example";
	set.allow_plaintext_auth = (flags & 2) != 0;
	pop3_server_limits_init_default(&set.limits);
	set.limits.max_input_buffer = 1 << 20;
	buf_init(&f->out, 0);
	f->saw_quit = fuzz_has_quit(data, size);
	f->s = pop3_server_session_new(&set, &fuzz_hooks, f, &fuzz_io, f, "192.0.2.9");
	pop3_server_session_start(f->s);
	for (size_t done = 0; done < size && f->s != NULL; done += chunk) {
		size_t n = size - done < chunk ? size - done : chunk;

		pop3_server_session_input(f->s, data + done, n);
		if (f->op != FUZZ_NONE)
			fuzz_chaos(f);
		while (f->op != FUZZ_NONE && f->s != NULL)
			fuzz_complete(f);
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

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz a, b;
	uint8_t flags;
	size_t chunk;

	if (size < 2 || size > (1 << 20))
		return 0;
	flags = data[0];
	chunk = (size_t)(data[1] & 0x7f) + 1;
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	fuzz_run(&a, flags & 0x1a, data + 2, size - 2, size);
	b.deferred = (flags & 1) != 0;
	b.free_in_close = (flags & 4) != 0;
	b.msg_chunk = flags >> 5;
	b.chaos = (data[1] & 0x80) != 0;
	b.flags = flags;
	fuzz_run(&b, flags, data + 2, size - 2, chunk);
	if (b.chaos) {
		buf_deinit(&a.out);
		buf_deinit(&b.out);
		return 0;
	}
	ASSERT(buf_len(&a.out) == buf_len(&b.out));
	ASSERT(memcmp(buf_data(&a.out), buf_data(&b.out), buf_len(&a.out)) == 0);
	ASSERT(a.update_calls == b.update_calls && a.deleted_mask == b.deleted_mask);
	buf_deinit(&a.out);
	buf_deinit(&b.out);
	return 0;
}
