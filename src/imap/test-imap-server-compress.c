/*
 * test-imap-server-compress.c - the engine's COMPRESS command (RFC 4978)
 * against a fake io and fake hooks: the capability only after login and
 * only with hooks->compress, "TAG OK DEFLATE active" before the hook, the
 * octets after the command line handed to the hook and never parsed (also
 * when the command waited behind an asynchronous LOGIN), once per session
 * ("NO [COMPRESSIONACTIVE]"), BAD for an unknown mechanism, before login
 * and without the hook, and freeing the session inside the hook.
 */
#include "imap/imap-server.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

struct cx {
	struct imap_server_session *s;
	struct buf out;
	struct buf pending;      /* what the compress hook received */
	int compress_calls;
	size_t out_at_compress;  /* output length when the hook ran */
	bool deferred_login;     /* auth_lookup completes from the test */
	bool login_waiting;
	bool free_in_compress;
};

static void
cx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct cx *cx = ctx;

	T_INTEQ(buf_append(&cx->out, data, len), 0);
}

static void
cx_close(void *ctx)
{
}

static void
cx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	struct cx *cx = ctx;

	if (cx->deferred_login) {
		cx->login_waiting = true;
		return;
	}
	imap_server_auth_verified(s, password != NULL && strcmp(password, "pw") == 0);
}

static void
cx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	imap_server_login_done(s, true);
}

static void
cx_compress(void *ctx, struct imap_server_session *s, const uint8_t *pending, size_t len)
{
	struct cx *cx = ctx;

	cx->compress_calls++;
	cx->out_at_compress = buf_len(&cx->out);
	(void)buf_append(&cx->pending, pending, len);
	if (cx->free_in_compress)
		imap_server_session_free(&cx->s);
}

static void
cx_mailbox_list(void *ctx, struct imap_server_session *s)
{
	T_ASSERT(!"not used");
}

static void
cx_mailbox_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	T_ASSERT(!"not used");
}

static void
cx_mailbox_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	T_ASSERT(!"not used");
}

static void
cx_mailbox_name(void *ctx, struct imap_server_session *s, const char *name)
{
	T_ASSERT(!"not used");
}

static void
cx_mailbox_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	T_ASSERT(!"not used");
}

static void
cx_mailbox_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool on)
{
	T_ASSERT(!"not used");
}

static const struct imap_server_io cx_io = { .write = cx_write, .close = cx_close };

static void
cx_setup(struct cx *cx, bool with_hook)
{
	struct imap_server_settings set;
	struct imap_server_hooks hooks = {
		.auth_lookup = cx_auth_lookup,
		.authenticated = cx_authenticated,
		.mailbox_list = cx_mailbox_list,
		.mailbox_status = cx_mailbox_status,
		.mailbox_create = cx_mailbox_create,
		.mailbox_delete = cx_mailbox_name,
		.mailbox_rename = cx_mailbox_rename,
		.mailbox_subscribe = cx_mailbox_subscribe,
		.compress = with_hook ? cx_compress : NULL,
	};

	memset(cx, 0, sizeof(*cx));
	memset(&set, 0, sizeof(set));
	set.hostname = "imap.example.org";
	set.auth_plaintext_allowed = true;
	imap_server_limits_init_default(&set.limits);
	buf_init(&cx->out, 0);
	buf_init(&cx->pending, 0);
	cx->s = imap_server_session_new(&set, &hooks, cx, &cx_io, cx, "192.0.2.1");
	imap_server_session_start(cx->s);
	buf_reset(&cx->out);
}

static void
cx_teardown(struct cx *cx)
{
	imap_server_session_free(&cx->s);
	buf_deinit(&cx->out);
	buf_deinit(&cx->pending);
}

static void
cx_feed(struct cx *cx, const char *text)
{
	imap_server_session_input(cx->s, (const uint8_t *)text, strlen(text));
}

static bool
cx_has(const struct cx *cx, const char *text)
{
	return strstr(buf_cstr(&cx->out), text) != NULL;
}

static void
test_compress_capability(void)
{
	struct cx cx;

	cx_setup(&cx, true);
	cx_feed(&cx, "a CAPABILITY\r\n");
	T_ASSERT(cx_has(&cx, "a OK"));
	T_ASSERT(!cx_has(&cx, "COMPRESS=DEFLATE"));
	/* RFC 4978 3: valid only once authenticated */
	cx_feed(&cx, "b COMPRESS DEFLATE\r\n");
	T_ASSERT(cx_has(&cx, "b BAD"));
	cx_feed(&cx, "c LOGIN tim pw\r\nd CAPABILITY\r\n");
	T_ASSERT(cx_has(&cx, " COMPRESS=DEFLATE"));
	T_ASSERT(cx_has(&cx, "d OK"));
	T_INTEQ(cx.compress_calls, 0);
	cx_teardown(&cx);

	/* without the hook: neither advertised nor known */
	cx_setup(&cx, false);
	cx_feed(&cx, "c LOGIN tim pw\r\nd CAPABILITY\r\ne COMPRESS DEFLATE\r\n");
	T_ASSERT(!cx_has(&cx, "COMPRESS=DEFLATE"));
	T_ASSERT(cx_has(&cx, "e BAD Unknown command"));
	cx_teardown(&cx);
}

static void
test_compress_hands_over_pipelined_input(void)
{
	static const char tail[] = "\x01\x02 c NOOP\r\nd LOGOUT\r\n";
	struct cx cx;

	cx_setup(&cx, true);
	cx_feed(&cx, "a LOGIN tim pw\r\n");
	buf_reset(&cx.out);
	cx_feed(&cx, "b COMPRESS deflate\r\n\x01\x02 c NOOP\r\nd LOGOUT\r\n");
	T_INTEQ(cx.compress_calls, 1);
	T_STREQ(buf_cstr(&cx.out), "b OK DEFLATE active\r\n");
	/* the OK was written before the hook switched */
	T_INTEQ(cx.out_at_compress, buf_len(&cx.out));
	/* the rest went to the glue, none of it was parsed */
	T_MEMEQ(buf_data(&cx.pending), buf_len(&cx.pending), tail, sizeof(tail) - 1);
	T_ASSERT(imap_server_session_compress_active(cx.s));
	/* what the glue inflates comes back as ordinary input */
	cx_feed(&cx, "e NOOP\r\nf COMPRESS DEFLATE\r\n");
	T_ASSERT(cx_has(&cx, "e OK"));
	T_ASSERT(cx_has(&cx, "f NO [COMPRESSIONACTIVE]"));
	T_INTEQ(cx.compress_calls, 1);
	cx_teardown(&cx);
}

static void
test_compress_byte_at_a_time(void)
{
	static const char script[] = "a LOGIN tim pw\r\nb COMPRESS DEFLATE\r\n";
	struct cx cx;

	cx_setup(&cx, true);
	for (size_t i = 0; i < sizeof(script) - 1; i++)
		imap_server_session_input(cx.s, (const uint8_t *)script + i, 1);
	T_INTEQ(cx.compress_calls, 1);
	T_INTEQ(buf_len(&cx.pending), 0);
	T_ASSERT(cx_has(&cx, "b OK DEFLATE active\r\n"));
	cx_teardown(&cx);
}

static void
test_compress_behind_deferred_login(void)
{
	struct cx cx;

	cx_setup(&cx, true);
	cx.deferred_login = true;
	cx_feed(&cx, "a LOGIN tim pw\r\nb COMPRESS DEFLATE\r\nZZ");
	T_ASSERT(cx.login_waiting);
	T_INTEQ(cx.compress_calls, 0);
	/* the completion from the loop runs the waiting COMPRESS */
	imap_server_auth_verified(cx.s, true);
	T_ASSERT(cx_has(&cx, "a OK"));
	T_ASSERT(cx_has(&cx, "b OK DEFLATE active"));
	T_INTEQ(cx.compress_calls, 1);
	T_MEMEQ(buf_data(&cx.pending), buf_len(&cx.pending), "ZZ", 2);
	cx_teardown(&cx);
}

static void
test_compress_refusals(void)
{
	struct cx cx;

	cx_setup(&cx, true);
	cx_feed(&cx, "a LOGIN tim pw\r\nb COMPRESS GZIP\r\nc COMPRESS\r\n"
		     "d COMPRESS (DEFLATE)\r\ne COMPRESS DEFLATE X\r\n");
	T_ASSERT(cx_has(&cx, "b BAD"));
	T_ASSERT(cx_has(&cx, "c BAD"));
	T_ASSERT(cx_has(&cx, "d BAD"));
	T_ASSERT(cx_has(&cx, "e BAD"));
	T_INTEQ(cx.compress_calls, 0);
	T_ASSERT(!imap_server_session_compress_active(cx.s));
	cx_teardown(&cx);
}

static void
test_compress_free_in_hook(void)
{
	struct cx cx;

	cx_setup(&cx, true);
	cx.free_in_compress = true;
	cx_feed(&cx, "a LOGIN tim pw\r\nb COMPRESS DEFLATE\r\nmore");
	T_INTEQ(cx.compress_calls, 1);
	T_ASSERT(cx.s == NULL);
	cx_teardown(&cx);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_compress_capability),
		TEST_ENTRY(test_compress_hands_over_pipelined_input),
		TEST_ENTRY(test_compress_byte_at_a_time),
		TEST_ENTRY(test_compress_behind_deferred_login),
		TEST_ENTRY(test_compress_refusals),
		TEST_ENTRY(test_compress_free_in_hook),
		{ NULL, NULL },
	};

	return test_main("imap-server-compress", tests);
}
