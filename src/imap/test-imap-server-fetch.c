/*
 * test-imap-server-fetch.c - FETCH and UID FETCH in the engine, against a
 * fake io and fake hooks that play the glue: a mailbox of 50 messages
 * (UIDs 2, 4, ..., 100; MODSEQ = UID), rendered with imap_fetch_render()
 * as serve-imap-fetch.c does. Hooks complete inside the call
 * (synchronous) or later, when the test plays the event loop (deferred),
 * and commands come whole or one octet at a time; every way must give the
 * same transcript.
 */
#include "imap/imap-server-private.h"

#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-fetch.h"
#include "mime/test-mime-samples.h"

#include <stdio.h>
#include <string.h>

#define FX_MESSAGES 50

static const char uue_msg[] =
	"Content-Type: application/octet-stream\r\n"
	"Content-Transfer-Encoding: x-uuencode\r\n"
	"\r\n"
	"begin 644 x\r\n";

struct fx {
	struct imap_server_session *s;
	struct buf out;
	bool deferred;
	bool bytewise;          /* input one octet at a time */
	/* the outstanding fetch (deferred) */
	bool fetch_pending;
	struct imap_fetch_request req;
	/* what the hooks saw */
	unsigned fetch_calls;
	size_t largest_chunk;
	bool saw_set_seen, saw_vanished;
	uint64_t saw_changedsince;
	char vanished_set[64];
	unsigned flags[FX_MESSAGES];
};

static void
fx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct fx *fx = ctx;

	buf_append(&fx->out, data, len);
}

static void
fx_close(void *ctx)
{
}

static void
fx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	imap_server_auth_verified(s, true);
}

static void
fx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	imap_server_login_done(s, true);
}

static void
fx_mailbox_list(void *ctx, struct imap_server_session *s)
{
	imap_server_list_done(s, NULL, 0, IMAP_MAILBOX_OK);
}

static void
fx_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	imap_server_status_done(s, NULL, IMAP_MAILBOX_NONEXISTENT);
}

static void
fx_mbox_op(void *ctx, struct imap_server_session *s, const char *name)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_create(void *ctx, struct imap_server_session *s, const char *name, unsigned special_use)
{
	fx_mbox_op(ctx, s, name);
}

static void
fx_rename(void *ctx, struct imap_server_session *s, const char *old_name, const char *new_name)
{
	fx_mbox_op(ctx, s, old_name);
}

static void
fx_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool subscribe)
{
	fx_mbox_op(ctx, s, name);
}

static void
fx_select(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_select_params *params)
{
	uint32_t uids[FX_MESSAGES];
	struct imap_mailbox_view view = {
		.uidvalidity = 7, .uidnext = 2 * FX_MESSAGES + 2, .highest_modseq = 2 * FX_MESSAGES,
		.uids = uids, .count = FX_MESSAGES, .rights = "lrswipkxte",
	};

	for (unsigned i = 0; i < FX_MESSAGES; i++)
		uids[i] = 2 * (i + 1);
	imap_server_select_done(s, &view, IMAP_MAILBOX_OK, NULL);
}

static void
fx_sync(void *ctx, struct imap_server_session *s, uint64_t since)
{
	struct imap_mailbox_view view = { .uidvalidity = 7, .uidnext = 2 * FX_MESSAGES + 2,
					  .highest_modseq = 2 * FX_MESSAGES,
					  .rights = "lrswipkxte" };

	imap_server_sync_done(s, &view, IMAP_MAILBOX_OK);
}

/* The glue's work for one request. */
static void
fx_complete_fetch(struct fx *fx)
{
	const struct imap_fetch_request *req = &fx->req;
	struct buf out;
	enum imap_mailbox_result result = IMAP_MAILBOX_OK;
	const char *text = NULL;

	fx->fetch_pending = false;
	buf_init(&out, 0);
	if (req->items->vanished) {
		fx->saw_vanished = true;
		snprintf(fx->vanished_set, sizeof(fx->vanished_set), "%u:%u",
			 req->items->vanished_set[0].first, req->items->vanished_set[0].last);
		buf_append_str(&out, "* VANISHED (EARLIER) 101\r\n");
	}
	for (size_t i = 0; i < req->count; i++) {
		uint32_t uid = req->uids[i];
		unsigned idx = uid / 2 - 1, rflags = 0;
		struct imap_message msg = {
			.seq = req->seqs[i], .uid = uid, .modseq = uid,
			.internaldate = 1700000000,
			.data = (const uint8_t *)(uid == 6 ? uue_msg : MSG_PLAIN),
		};

		T_INTEQ(req->seqs[i], idx + 1);
		if (req->changedsince != 0 && msg.modseq <= req->changedsince)
			continue;
		msg.size = strlen((const char *)msg.data);
		if (req->set_seen && (fx->flags[idx] & IMAP_FLAG_SEEN) == 0) {
			fx->flags[idx] |= IMAP_FLAG_SEEN;
			rflags |= IMAP_FETCH_RENDER_ADD_FLAGS;
		}
		msg.flags = fx->flags[idx];
		if (imap_fetch_render(req->items, &msg, rflags, &out) ==
		    IMAP_FETCH_RENDER_UNKNOWN_CTE) {
			result = IMAP_MAILBOX_CANNOT;
			text = IMAP_FETCH_UNKNOWN_CTE_TEXT;
		}
		imap_message_deinit(&msg);
		if (result != IMAP_MAILBOX_OK)
			break;
	}
	imap_server_fetch_done(fx->s, buf_data(&out), buf_len(&out), result, text);
	buf_deinit(&out);
}

static void
fx_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	struct fx *fx = ctx;

	T_ASSERT(!fx->fetch_pending);
	T_ASSERT(req->count > 0 || req->items->vanished);
	fx->fetch_calls++;
	if (req->count > fx->largest_chunk)
		fx->largest_chunk = req->count;
	fx->saw_set_seen |= req->set_seen;
	fx->saw_changedsince = req->changedsince;
	fx->req = *req;
	fx->fetch_pending = true;
	if (!fx->deferred)
		fx_complete_fetch(fx);
}

static void
fx_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	imap_server_search_done(s, NULL, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_store(void *ctx, struct imap_server_session *s, const struct imap_store_request *req)
{
	imap_server_store_done(s, NULL, 0, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count,
	const char *dest, bool move)
{
	imap_server_copy_done(s, 0, NULL, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	imap_server_expunge_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_append(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_append_message *msgs, size_t count)
{
	imap_server_append_done(s, 0, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
}

static void
fx_init(struct fx *fx, bool deferred)
{
	struct imap_server_settings set = { .hostname = "test", .auth_plaintext_allowed = true };
	struct imap_server_hooks hooks = {
		.auth_lookup = fx_auth_lookup, .authenticated = fx_authenticated,
		.mailbox_list = fx_mailbox_list, .mailbox_status = fx_status,
		.mailbox_create = fx_create, .mailbox_delete = fx_mbox_op,
		.mailbox_rename = fx_rename, .mailbox_subscribe = fx_subscribe,
	};
	struct imap_server_selected_hooks shooks = {
		.mailbox_select = fx_select, .mailbox_sync = fx_sync,
		.message_fetch = fx_fetch, .message_search = fx_search,
		.message_store = fx_store, .message_copy = fx_copy,
		.message_expunge = fx_expunge, .message_append = fx_append,
	};
	struct imap_server_io io = { .write = fx_write, .close = fx_close };

	memset(fx, 0, sizeof(*fx));
	fx->deferred = deferred;
	buf_init(&fx->out, 0);
	imap_server_limits_init_default(&set.limits);
	fx->s = imap_server_session_new(&set, &hooks, fx, &io, fx, "127.0.0.1");
	imap_server_session_set_selected_hooks(fx->s, &shooks);
	imap_server_session_start(fx->s);
	buf_reset(&fx->out);
}

static void
fx_deinit(struct fx *fx)
{
	imap_server_session_free(&fx->s);
	buf_deinit(&fx->out);
}

/* Send a line, play the loop until nothing is outstanding; the output. */
static const char *
fx_cmd(struct fx *fx, const char *line)
{
	buf_reset(&fx->out);
	if (fx->bytewise) {
		for (size_t i = 0; line[i] != '\0'; i++) {
			/* the glue passes input only while the engine wants it */
			for (int j = 0; j < 1000 && fx->fetch_pending; j++)
				fx_complete_fetch(fx);
			T_ASSERT(imap_server_session_wants_input(fx->s));
			imap_server_session_input(fx->s, (const uint8_t *)line + i, 1);
		}
	} else {
		imap_server_session_input(fx->s, (const uint8_t *)line, strlen(line));
	}
	for (int i = 0; i < 1000 && fx->fetch_pending; i++)
		fx_complete_fetch(fx);
	T_ASSERT(!fx->fetch_pending);
	return buf_cstr(&fx->out);
}

static void
fx_login_select(struct fx *fx, const char *select)
{
	fx_cmd(fx, "l LOGIN tim pw\r\n");
	T_ASSERT(strstr(fx_cmd(fx, select), " OK ") != NULL);
}

static bool
ends_with(const char *s, const char *end)
{
	size_t a = strlen(s), b = strlen(end);

	return a >= b && memcmp(s + a - b, end, b) == 0;
}

static void
run_basic(bool deferred, bool bytewise)
{
	struct fx fx;

	fx_init(&fx, deferred);
	fx.bytewise = bytewise;
	fx_login_select(&fx, "s SELECT INBOX\r\n");
	T_STREQ(fx_cmd(&fx, "a FETCH 1:2 (UID FLAGS)\r\n"),
		"* 1 FETCH (UID 2 FLAGS ())\r\n* 2 FETCH (UID 4 FLAGS ())\r\n"
		"a OK FETCH completed\r\n");
	/* UID FETCH adds UID; UIDs not in the mailbox are skipped */
	T_STREQ(fx_cmd(&fx, "b UID FETCH 3:5,200 RFC822.SIZE\r\n"),
		"* 2 FETCH (UID 4 RFC822.SIZE 58)\r\nb OK UID FETCH completed\r\n");
	T_STREQ(fx_cmd(&fx, "b UID FETCH 1000:2000 FLAGS\r\n"), "b OK UID FETCH completed\r\n");
	/* PEEK leaves \Seen alone; BODY[] sets it and adds FLAGS */
	T_STREQ(fx_cmd(&fx, "c FETCH 1 BODY.PEEK[HEADER.FIELDS (Subject)]\r\n"),
		"* 1 FETCH (BODY[HEADER.FIELDS (Subject)] {15}\r\nSubject: hi\r\n\r\n)\r\n"
		"c OK FETCH completed\r\n");
	T_ASSERT(!fx.saw_set_seen);
	T_STREQ(fx_cmd(&fx, "d FETCH 1 BODY[1]<0.5>\r\n"),
		"* 1 FETCH (BODY[1]<0> {5}\r\nHello FLAGS (\\Seen))\r\nd OK FETCH completed\r\n");
	T_ASSERT(fx.saw_set_seen);
	T_STREQ(fx_cmd(&fx, "d FETCH 1 BODY[1]<0.5>\r\n"),
		"* 1 FETCH (BODY[1]<0> {5}\r\nHello)\r\nd OK FETCH completed\r\n");
	/* syntax and range errors are BAD */
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 51 FLAGS\r\n"), "e BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 1 (FOO)\r\n"), "e BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH x FLAGS\r\n"), "e BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 1 FLAGS (FOO)\r\n"), "e BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 1 FLAGS (CHANGEDSINCE x)\r\n"), "e BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 1 BINARY[1.TEXT]\r\n"), "e BAD ", 6) == 0);
	T_STREQ(fx_cmd(&fx, "e FETCH 2 PREVIEW (LAZY)\r\n"),
		"* 2 FETCH (PREVIEW \"Hello world\")\r\ne OK FETCH completed\r\n");
	T_ASSERT(strncmp(fx_cmd(&fx, "e FETCH 2 UID (LAZY)\r\n"), "e BAD ", 6) == 0);
	/* RFC 3516 4.3 */
	T_STREQ(fx_cmd(&fx, "f FETCH 2:3 BINARY[1]\r\n"),
		"* 2 FETCH (BINARY[1] {14}\r\nHello\r\nworld\r\n FLAGS (\\Seen))\r\n"
		"f NO [UNKNOWN-CTE] Cannot decode the part's Content-Transfer-Encoding\r\n");
	T_STREQ(fx_cmd(&fx, "g FETCH 3 BODY.PEEK[1]\r\n"),
		"* 3 FETCH (BODY[1] {13}\r\nbegin 644 x\r\n)\r\ng OK FETCH completed\r\n");
	fx_deinit(&fx);
}

static void
test_basic_sync(void)
{
	run_basic(false, false);
	run_basic(false, true);
}

static void
test_basic_deferred(void)
{
	run_basic(true, false);
	run_basic(true, true);
}

static void
run_chunks(bool deferred)
{
	struct fx fx;
	const char *out;

	fx_init(&fx, deferred);
	fx_login_select(&fx, "s SELECT INBOX\r\n");
	out = fx_cmd(&fx, "a FETCH 1:* BODY.PEEK[HEADER]\r\n");
	T_ASSERT(strstr(out, "* 50 FETCH (BODY[HEADER] {44}") != NULL);
	T_ASSERT(ends_with(out, "\r\na OK FETCH completed\r\n"));
	T_INTEQ(fx.fetch_calls, 3);
	T_INTEQ(fx.largest_chunk, 20);
	fx.fetch_calls = 0;
	out = fx_cmd(&fx, "b FETCH 1:* (FLAGS)\r\n");
	T_INTEQ(fx.fetch_calls, 1);
	T_ASSERT(strstr(out, "* 50 FETCH (FLAGS ())\r\nb OK FETCH completed\r\n") != NULL);
	/* pipelined: answered in order */
	out = fx_cmd(&fx, "c FETCH 1:25 BODY.PEEK[]\r\nd FETCH 2 UID\r\n");
	T_ASSERT(ends_with(out, "c OK FETCH completed\r\n* 2 FETCH (UID 4)\r\n"
				"d OK FETCH completed\r\n"));
	fx_deinit(&fx);
}

static void
test_chunks_sync(void)
{
	run_chunks(false);
}

static void
test_chunks_deferred(void)
{
	run_chunks(true);
}

static void
test_examine(void)
{
	struct fx fx;

	fx_init(&fx, false);
	fx_login_select(&fx, "s EXAMINE INBOX\r\n");
	T_STREQ(fx_cmd(&fx, "a FETCH 1 RFC822.TEXT\r\n"),
		"* 1 FETCH (RFC822.TEXT {14}\r\nHello\r\nworld\r\n)\r\na OK FETCH completed\r\n");
	T_ASSERT(!fx.saw_set_seen);
	fx_deinit(&fx);
}

static void
test_condstore(void)
{
	struct fx fx;

	fx_init(&fx, false);
	fx_login_select(&fx, "s SELECT INBOX\r\n");
	T_STREQ(fx_cmd(&fx, "a UID FETCH 1:* FLAGS (CHANGEDSINCE 96)\r\n"),
		"* 49 FETCH (UID 98 FLAGS () MODSEQ (98))\r\n"
		"* 50 FETCH (UID 100 FLAGS () MODSEQ (100))\r\n"
		"* OK [HIGHESTMODSEQ 100] Highest\r\na OK UID FETCH completed\r\n");
	T_INTEQ(fx.saw_changedsince, 96);
	/* only the first enabling command says so */
	T_STREQ(fx_cmd(&fx, "a UID FETCH 1:* FLAGS (CHANGEDSINCE 99)\r\n"),
		"* 50 FETCH (UID 100 FLAGS () MODSEQ (100))\r\na OK UID FETCH completed\r\n");
	T_ASSERT(imap_server_session_condstore_enabled(fx.s));
	/* RFC 7162 3.1: an implicit \Seen is reported with UID and MODSEQ */
	T_STREQ(fx_cmd(&fx, "d FETCH 5 BODY[1]<0.1>\r\n"),
		"* 5 FETCH (UID 10 BODY[1]<0> {1}\r\nH FLAGS (\\Seen) MODSEQ (10))\r\n"
		"d OK FETCH completed\r\n");
	/* VANISHED: UID FETCH with CHANGEDSINCE once QRESYNC is on */
	T_ASSERT(strncmp(fx_cmd(&fx, "b UID FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n"),
			 "b BAD ", 6) == 0);
	fx_cmd(&fx, "e ENABLE QRESYNC\r\n");
	T_ASSERT(strncmp(fx_cmd(&fx, "b FETCH 1:* FLAGS (CHANGEDSINCE 1 VANISHED)\r\n"),
			 "b BAD ", 6) == 0);
	T_ASSERT(strncmp(fx_cmd(&fx, "b UID FETCH 1:* FLAGS (VANISHED)\r\n"), "b BAD ", 6) == 0);
	T_STREQ(fx_cmd(&fx, "c UID FETCH 99:* FLAGS (CHANGEDSINCE 99 VANISHED)\r\n"),
		"* VANISHED (EARLIER) 101\r\n* 50 FETCH (UID 100 FLAGS () MODSEQ (100))\r\n"
		"c OK UID FETCH completed\r\n");
	T_ASSERT(fx.saw_vanished);
	T_STREQ(fx.vanished_set, "99:4294967295");
	fx_deinit(&fx);
}

static void
test_not_selected(void)
{
	struct fx fx;

	fx_init(&fx, false);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	T_ASSERT(strncmp(fx_cmd(&fx, "a FETCH 1 FLAGS\r\n"), "a BAD ", 6) == 0);
	T_INTEQ(fx.fetch_calls, 0);
	fx_deinit(&fx);
}

static void
test_free_during_fetch(void)
{
	struct fx fx;

	fx_init(&fx, true);
	fx_login_select(&fx, "s SELECT INBOX\r\n");
	imap_server_session_input(fx.s, (const uint8_t *)"a FETCH 1:* BODY[]\r\n", 20);
	T_ASSERT(fx.fetch_pending);
	T_ASSERT(!imap_server_session_wants_input(fx.s));
	fx.fetch_pending = false;
	fx_deinit(&fx);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_basic_sync),
		TEST_ENTRY(test_basic_deferred),
		TEST_ENTRY(test_chunks_sync),
		TEST_ENTRY(test_chunks_deferred),
		TEST_ENTRY(test_examine),
		TEST_ENTRY(test_condstore),
		TEST_ENTRY(test_not_selected),
		TEST_ENTRY(test_free_during_fetch),
		{ NULL, NULL },
	};

	return test_main("imap-server-fetch", tests);
}
