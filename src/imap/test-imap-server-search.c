/*
 * test-imap-server-search.c - SEARCH, UID SEARCH, ESEARCH, SEARCHRES,
 * CONDSTORE's MODSEQ, SORT and THREAD in the engine, against a fake io and
 * fake hooks that play the glue: a mailbox of five messages (UIDs 10..50)
 * matched with the real imap_search_match() and sorted/threaded with
 * imap-sort.c, as serve-imap-search.c does. Hooks complete inside the call
 * (synchronous) or later, when the test plays the event loop (deferred);
 * both must give the same transcript.
 */
#include "imap/imap-server-private.h"

#include "core/mem.h"
#include "core/test.h"
#include "imap/imap-search.h"

#include <stdio.h>
#include <string.h>

#define FX_MESSAGES 5

static const char *const fx_texts[FX_MESSAGES] = {
        "From: Ann <ann@example.org>\r\nSubject: lunch\r\nMessage-ID: <1@x>\r\n"
        "Date: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nshall we eat?\r\n",
        "From: Bob <bob@example.org>\r\nSubject: Re: lunch\r\nMessage-ID: <2@x>\r\n"
        "In-Reply-To: <1@x>\r\nDate: Mon, 1 Jan 2024 11:00:00 +0000\r\n\r\nyes\r\n",
        "From: Ann <ann@example.org>\r\nSubject: report\r\nMessage-ID: <3@x>\r\n"
        "Date: Tue, 2 Jan 2024 09:00:00 +0000\r\n\r\nnumbers attached\r\n",
        "From: Carol <carol@example.org>\r\nSubject: Re: lunch\r\nMessage-ID: <4@x>\r\n"
        "References: <1@x> <2@x>\r\nDate: Mon, 1 Jan 2024 12:00:00 +0000\r\n\r\nme too\r\n",
        "From: Dave <dave@example.org>\r\nSubject: party\r\nMessage-ID: <5@x>\r\n"
        "Date: Wed, 3 Jan 2024 09:00:00 +0000\r\n\r\ncake\r\n",
};
static const unsigned fx_flags[FX_MESSAGES] = {
        IMAP_FLAG_SEEN, IMAP_FLAG_SEEN | IMAP_FLAG_ANSWERED, 0, IMAP_FLAG_FLAGGED, 0,
};

struct fx {
	struct imap_server_session *s;
	struct buf out;
	bool deferred;
	bool fail; /* the glue answers NO [UNAVAILABLE] */
	bool recent; /* SELECT reports UIDs 30..50 as \Recent */
	bool search_pending;
	struct imap_search_request req;
	struct imap_search_program *held; /* the glue's reference */
	unsigned search_calls;
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
	        .uidvalidity = 7,
	        .uidnext = 60,
	        .highest_modseq = 50,
	        .uids = uids,
	        .count = FX_MESSAGES,
	        .rights = "lrswipkxte",
	};

	struct fx *fx = ctx;

	for (unsigned i = 0; i < FX_MESSAGES; i++)
		uids[i] = 10 * (i + 1);
	/* the glue claims nothing for an IMAP4rev2 session */
	if (fx->recent && !params->rev2) {
		view.recent_first = 30;
		view.recent_end = 60;
	}
	imap_server_select_done(s, &view, IMAP_MAILBOX_OK, NULL);
}

static void
fx_sync(void *ctx, struct imap_server_session *s, uint64_t since)
{
	struct imap_mailbox_view view = {
	        .uidvalidity = 7, .uidnext = 60, .highest_modseq = 50, .rights = "lrswipkxte"};

	imap_server_sync_done(s, &view, IMAP_MAILBOX_OK);
}

/* The glue's work, as serve-imap-search.c does it. */
static void
fx_complete_search(struct fx *fx)
{
	const struct imap_search_program *prog = fx->held;
	struct imap_sort_item items[FX_MESSAGES];
	uint32_t uids[FX_MESSAGES];
	size_t n = 0;
	struct imap_search_result res;
	struct buf thread;
	uint64_t modseqs[FX_MESSAGES];

	fx->search_pending = false;
	if (fx->fail) {
		imap_search_program_free(&fx->held);
		imap_server_search_done(fx->s, NULL, IMAP_MAILBOX_TEMPFAIL, "Try\r\nlater");
		return;
	}
	for (size_t i = 0; i < fx->req.count; i++) {
		uint32_t uid = fx->req.uids[i];
		unsigned idx = uid / 10 - 1;
		struct imap_message msg = {
		        .seq = (uint32_t)(i + 1),
		        .uid = uid,
		        .modseq = 100 + uid,
		        .flags = fx_flags[idx],
		        .internaldate = 1704067200 + idx * 3600,
		        .data = (const uint8_t *)fx_texts[idx],
		};

		/* as the glue does: \Recent for the session's recent ones */
		if (imap_server_recent_contains(fx->req.recent, fx->req.recent_count, uid))
			msg.flags |= IMAP_FLAG_RECENT;
		msg.size = strlen(fx_texts[idx]);
		if (!imap_search_needs_content(prog))
			msg.data = NULL;
		if (imap_search_match(prog, &msg, 1704067200 + 86400)) {
			if (imap_search_program_kind(prog) != IMAP_SEARCH_KIND_SEARCH) {
				msg.data = (const uint8_t *)fx_texts[idx];
				imap_sort_item_init(prog, &msg, &items[n]);
			}
			uids[n++] = uid;
		}
		imap_message_deinit(&msg);
	}
	memset(&res, 0, sizeof(res));
	buf_init(&thread, 0);
	if (imap_search_program_kind(prog) == IMAP_SEARCH_KIND_SORT) {
		imap_sort_items(prog, items, n);
		for (size_t i = 0; i < n; i++)
			uids[i] = items[i].uid;
	} else if (imap_search_program_kind(prog) == IMAP_SEARCH_KIND_THREAD) {
		imap_thread_render(prog, items, n, fx->req.uid, &thread);
		res.thread = buf_cstr(&thread);
	}
	if (imap_search_program_kind(prog) != IMAP_SEARCH_KIND_SEARCH) {
		for (size_t i = 0; i < n; i++)
			imap_sort_item_deinit(&items[i]);
	}
	res.uids = uids;
	res.count = n;
	for (size_t i = 0; i < n; i++)
		modseqs[i] = 100 + uids[i];
	/* as the glue does: only when the reply needs them */
	if (fx->req.want_modseqs)
		res.modseqs = modseqs;
	res.highest_modseq = n > 0 ? 100 + uids[n - 1] : 0;
	for (size_t i = 0; i < n; i++) {
		if (100 + uids[i] > res.highest_modseq)
			res.highest_modseq = 100 + uids[i];
	}
	imap_search_program_free(&fx->held);
	imap_server_search_done(fx->s, &res, IMAP_MAILBOX_OK, NULL);
	buf_deinit(&thread);
}

static void
fx_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	struct fx *fx = ctx;

	T_ASSERT(!fx->search_pending);
	fx->search_calls++;
	fx->req = *req;
	fx->held = imap_search_program_ref(req->program);
	fx->search_pending = true;
	if (!fx->deferred)
		fx_complete_search(fx);
}

static void
fx_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	imap_server_fetch_done(s, NULL, 0, IMAP_MAILBOX_CANNOT, NULL);
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
	struct imap_server_settings set = {.hostname = "test", .auth_plaintext_allowed = true};
	struct imap_server_hooks hooks = {
	        .auth_lookup = fx_auth_lookup,
	        .authenticated = fx_authenticated,
	        .mailbox_list = fx_mailbox_list,
	        .mailbox_status = fx_status,
	        .mailbox_create = fx_create,
	        .mailbox_delete = fx_mbox_op,
	        .mailbox_rename = fx_rename,
	        .mailbox_subscribe = fx_subscribe,
	};
	struct imap_server_selected_hooks shooks = {
	        .mailbox_select = fx_select,
	        .mailbox_sync = fx_sync,
	        .message_fetch = fx_fetch,
	        .message_search = fx_search,
	        .message_store = fx_store,
	        .message_copy = fx_copy,
	        .message_expunge = fx_expunge,
	        .message_append = fx_append,
	};
	struct imap_server_io io = {.write = fx_write, .close = fx_close};

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
	imap_search_program_free(&fx->held);
	buf_deinit(&fx->out);
}

/* Send a line, play the loop until nothing is outstanding; the output. */
static const char *
fx_cmd(struct fx *fx, const char *line)
{
	buf_reset(&fx->out);
	imap_server_session_input(fx->s, (const uint8_t *)line, strlen(line));
	for (int i = 0; i < 100 && fx->search_pending; i++)
		fx_complete_search(fx);
	T_ASSERT(!fx->search_pending);
	return buf_cstr(&fx->out);
}

#define CMD(fx, line, want)                                                                        \
	do {                                                                                       \
		const char *got_ = fx_cmd((fx), line);                                             \
		if (!T_STREQ(got_, want))                                                          \
			fprintf(stderr, "  command: %s", line);                                    \
	} while (0)

static void
run_search(bool deferred)
{
	struct fx fx;

	fx_init(&fx, deferred);
	/* not selected: the command table refuses */
	T_ASSERT(strncmp(fx_cmd(&fx, "a SEARCH ALL\r\n"), "a BAD ", 6) == 0);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	T_ASSERT(strstr(fx_cmd(&fx, "s SELECT INBOX\r\n"), "s OK ") != NULL);
	CMD(&fx, "a SEARCH ALL\r\n", "* SEARCH 1 2 3 4 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH FROM ann\r\n", "* SEARCH 1 3\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH UNSEEN\r\n", "* SEARCH 3 4 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH OR FLAGGED ANSWERED\r\n", "* SEARCH 2 4\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH NOT SUBJECT lunch\r\n", "* SEARCH 3 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH BODY cake\r\n", "* SEARCH 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH SUBJECT nothing\r\n", "* SEARCH\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH 2:4 SEEN\r\n", "* SEARCH 2\r\na OK SEARCH completed\r\n");
	CMD(&fx, "b UID SEARCH FROM ann\r\n", "* SEARCH 10 30\r\nb OK UID SEARCH completed\r\n");
	CMD(&fx, "b UID SEARCH UID 25:*\r\n", "* SEARCH 30 40 50\r\nb OK UID SEARCH completed\r\n");
	CMD(&fx, "b uid search charset utf-8 from \"CAROL\"\r\n",
	    "* SEARCH 40\r\nb OK UID SEARCH completed\r\n");
	/* errors */
	CMD(&fx, "c SEARCH FOO\r\n", "c BAD Unknown search key\r\n");
	CMD(&fx, "c SEARCH NOT\r\n", "c BAD Missing search key\r\n");
	CMD(&fx, "c SEARCH CHARSET KOI9-Z ALL\r\n",
	    "c NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset\r\n");
	CMD(&fx, "c SEARCH RETURN (FOO) ALL\r\n", "c BAD Invalid RETURN options\r\n");
	T_INTEQ(fx.search_calls, 11);
	fx_deinit(&fx);
}

static void
run_esearch(bool deferred)
{
	struct fx fx;

	fx_init(&fx, deferred);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	fx_cmd(&fx, "s SELECT INBOX\r\n");
	CMD(&fx, "a SEARCH RETURN (MIN MAX COUNT) UNSEEN\r\n",
	    "* ESEARCH (TAG \"a\") MIN 3 MAX 5 COUNT 3\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH RETURN () ALL\r\n",
	    "* ESEARCH (TAG \"a\") ALL 1:5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH RETURN (ALL COUNT) NOT 2\r\n",
	    "* ESEARCH (TAG \"a\") COUNT 4 ALL 1,3:5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "b UID SEARCH RETURN (MIN MAX ALL) SEEN\r\n",
	    "* ESEARCH (TAG \"b\") UID MIN 10 MAX 20 ALL 10,20\r\nb OK UID SEARCH completed\r\n");
	CMD(&fx, "c SEARCH RETURN (MIN COUNT) SUBJECT none\r\n",
	    "* ESEARCH (TAG \"c\") COUNT 0\r\nc OK SEARCH completed\r\n");
	/* SEARCHRES: SAVE alone answers nothing but OK; "$" is then usable */
	CMD(&fx, "d SEARCH RETURN (SAVE) FROM ann\r\n", "d OK SEARCH completed\r\n");
	CMD(&fx, "e SEARCH $\r\n", "* SEARCH 1 3\r\ne OK SEARCH completed\r\n");
	CMD(&fx, "e UID SEARCH UID $ SEEN\r\n", "* SEARCH 10\r\ne OK UID SEARCH completed\r\n");
	CMD(&fx, "e SEARCH NOT $\r\n", "* SEARCH 2 4 5\r\ne OK SEARCH completed\r\n");
	/* SAVE with MIN/MAX saves those only (RFC 5182 2.4) */
	CMD(&fx, "f SEARCH RETURN (SAVE MAX) UNSEEN\r\n",
	    "* ESEARCH (TAG \"f\") MAX 5\r\nf OK SEARCH completed\r\n");
	CMD(&fx, "g SEARCH $\r\n", "* SEARCH 5\r\ng OK SEARCH completed\r\n");
	/* a failed SAVE empties "$" */
	CMD(&fx, "h SEARCH RETURN (SAVE) FOO\r\n", "h BAD Unknown search key\r\n");
	CMD(&fx, "i SEARCH $\r\n", "* SEARCH\r\ni OK SEARCH completed\r\n");
	/* CONDSTORE: MODSEQ enables it (RFC 7162 3.1) and adds the highest
	 * modseq of the matches */
	T_ASSERT(!fx.s->condstore_enabled);
	CMD(&fx, "j SEARCH MODSEQ 125\r\n",
	    "* OK [HIGHESTMODSEQ 50] Highest\r\n"
	    "* SEARCH 3 4 5 (MODSEQ 150)\r\nj OK SEARCH completed\r\n");
	T_ASSERT(fx.s->condstore_enabled);
	CMD(&fx, "j SEARCH RETURN (COUNT) MODSEQ 125\r\n",
	    "* ESEARCH (TAG \"j\") COUNT 3 MODSEQ 150\r\nj OK SEARCH completed\r\n");
	CMD(&fx, "j SEARCH MODSEQ 1000\r\n", "* SEARCH\r\nj OK SEARCH completed\r\n");
	/* RFC 7162 3.1.5: MIN/MAX alone give the modseq of those messages */
	CMD(&fx, "j SEARCH RETURN (MIN) MODSEQ 125\r\n",
	    "* ESEARCH (TAG \"j\") MIN 3 MODSEQ 130\r\nj OK SEARCH completed\r\n");
	CMD(&fx, "j SEARCH RETURN (MIN MAX) MODSEQ 125\r\n",
	    "* ESEARCH (TAG \"j\") MIN 3 MAX 5 MODSEQ 150\r\nj OK SEARCH completed\r\n");
	CMD(&fx, "j SEARCH RETURN (MIN ALL) MODSEQ 125\r\n",
	    "* ESEARCH (TAG \"j\") MIN 3 ALL 3:5 MODSEQ 150\r\nj OK SEARCH completed\r\n");
	/* IMAP4rev2: SEARCH answers ESEARCH */
	T_ASSERT(strstr(fx_cmd(&fx, "k ENABLE IMAP4rev2\r\n"), "k OK") != NULL);
	CMD(&fx, "l SEARCH SEEN\r\n", "* ESEARCH (TAG \"l\") ALL 1:2\r\nl OK SEARCH completed\r\n");
	fx_deinit(&fx);
}

/* \Recent (RFC 3501 2.3.2, 6.4.4): RECENT, NEW, OLD for IMAP4rev1; none
 * for IMAP4rev2 (RFC 9051 appendix E). */
static void
run_recent(bool deferred)
{
	struct fx fx;

	fx_init(&fx, deferred);
	fx.recent = true;
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	T_ASSERT(strstr(fx_cmd(&fx, "s SELECT INBOX\r\n"), "* 5 EXISTS\r\n* 3 RECENT\r\n") != NULL);
	CMD(&fx, "a SEARCH RECENT\r\n", "* SEARCH 3 4 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH OLD\r\n", "* SEARCH 1 2\r\na OK SEARCH completed\r\n");
	/* NEW = RECENT UNSEEN; 4 is \Flagged but not \Seen */
	CMD(&fx, "a SEARCH NEW\r\n", "* SEARCH 3 4 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH NEW FLAGGED\r\n", "* SEARCH 4\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH NOT NEW\r\n", "* SEARCH 1 2\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH KEYWORD \\Recent\r\n", "* SEARCH 3 4 5\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a UID SEARCH OR RECENT SEEN\r\n",
	    "* SEARCH 10 20 30 40 50\r\na OK UID SEARCH completed\r\n");
	fx_deinit(&fx);

	/* IMAP4rev2: nothing is recent, RECENT and NEW match nothing */
	fx_init(&fx, deferred);
	fx.recent = true;
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	fx_cmd(&fx, "e ENABLE IMAP4rev2\r\n");
	T_ASSERT(strstr(fx_cmd(&fx, "s SELECT INBOX\r\n"), "RECENT") == NULL);
	CMD(&fx, "a SEARCH RECENT\r\n", "* ESEARCH (TAG \"a\")\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH NEW\r\n", "* ESEARCH (TAG \"a\")\r\na OK SEARCH completed\r\n");
	CMD(&fx, "a SEARCH OLD\r\n", "* ESEARCH (TAG \"a\") ALL 1:5\r\na OK SEARCH completed\r\n");
	fx_deinit(&fx);
}

static void
test_search_recent(void)
{
	run_recent(false);
	run_recent(true);
}

static void
run_sort_thread(bool deferred)
{
	struct fx fx;

	fx_init(&fx, deferred);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	fx_cmd(&fx, "s SELECT INBOX\r\n");
	CMD(&fx, "a SORT (REVERSE DATE) UTF-8 ALL\r\n",
	    "* SORT 5 3 4 2 1\r\na OK SORT completed\r\n");
	CMD(&fx, "a SORT (SUBJECT DATE) UTF-8 ALL\r\n",
	    "* SORT 1 2 4 5 3\r\na OK SORT completed\r\n");
	CMD(&fx, "b UID SORT (FROM REVERSE ARRIVAL) US-ASCII NOT 5\r\n",
	    "* SORT 30 10 20 40\r\nb OK UID SORT completed\r\n");
	/* RFC 7162 3.1: CONDSTORE-enabling: HIGHESTMODSEQ once */
	CMD(&fx, "c SORT (DATE) UTF-8 MODSEQ 130\r\n",
	    "* OK [HIGHESTMODSEQ 50] Highest\r\n"
	    "* SORT 4 3 5 (MODSEQ 150)\r\nc OK SORT completed\r\n");
	CMD(&fx, "c SORT (DATE) UTF-8 MODSEQ 130\r\n",
	    "* SORT 4 3 5 (MODSEQ 150)\r\nc OK SORT completed\r\n");
	CMD(&fx, "d THREAD REFERENCES UTF-8 ALL\r\n",
	    "* THREAD (1 2 4)(3)(5)\r\nd OK THREAD completed\r\n");
	CMD(&fx, "d UID THREAD REFERENCES UTF-8 ALL\r\n",
	    "* THREAD (10 20 40)(30)(50)\r\nd OK UID THREAD completed\r\n");
	CMD(&fx, "d THREAD ORDEREDSUBJECT UTF-8 ALL\r\n",
	    "* THREAD (1 (2)(4))(3)(5)\r\nd OK THREAD completed\r\n");
	CMD(&fx, "d THREAD REFERENCES UTF-8 SUBJECT none\r\n",
	    "* THREAD\r\nd OK THREAD completed\r\n");
	CMD(&fx, "e SORT DATE UTF-8 ALL\r\n", "e BAD Missing sort criteria\r\n");
	CMD(&fx, "e THREAD FOO UTF-8 ALL\r\n", "e BAD Unknown thread algorithm\r\n");
	CMD(&fx, "e SORT (DATE) KOI9-Z ALL\r\n",
	    "e NO [BADCHARSET (UTF-8 US-ASCII)] Unknown charset\r\n");
	fx_deinit(&fx);
}

static void
test_search(void)
{
	run_search(false);
	run_search(true);
}

static void
test_esearch(void)
{
	run_esearch(false);
	run_esearch(true);
}

static void
test_sort_thread(void)
{
	run_sort_thread(false);
	run_sort_thread(true);
}

static void
test_failure(void)
{
	struct fx fx;

	fx_init(&fx, true);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	fx_cmd(&fx, "s SELECT INBOX\r\n");
	fx.fail = true;
	/* the glue's text is cleaned of control characters */
	CMD(&fx, "a SEARCH ALL\r\n", "a NO [UNAVAILABLE] Trylater\r\n");
	fx.fail = false;
	CMD(&fx, "b SEARCH SEEN\r\n", "* SEARCH 1 2\r\nb OK SEARCH completed\r\n");
	fx_deinit(&fx);
}

/* The session goes away with a search outstanding: the glue's reference
 * keeps the program readable. */
static void
test_free_pending(void)
{
	struct fx fx;
	struct imap_message msg = {.seq = 1, .uid = 10, .flags = IMAP_FLAG_SEEN};

	fx_init(&fx, true);
	fx_cmd(&fx, "l LOGIN tim pw\r\n");
	fx_cmd(&fx, "s SELECT INBOX\r\n");
	buf_reset(&fx.out);
	imap_server_session_input(fx.s, (const uint8_t *)"a SEARCH SEEN\r\n", 15);
	T_ASSERT(fx.search_pending);
	imap_server_session_free(&fx.s);
	T_ASSERT(imap_search_match(fx.held, &msg, 0));
	fx.search_pending = false;
	fx_deinit(&fx);
}

int
main(void)
{
	static const struct test tests[] = {
	        TEST_ENTRY(test_search),       TEST_ENTRY(test_esearch),
	        TEST_ENTRY(test_sort_thread),  TEST_ENTRY(test_failure),
	        TEST_ENTRY(test_free_pending), TEST_ENTRY(test_search_recent),
	        {NULL, NULL},
	};

	return test_main("imap-server-search", tests);
}
