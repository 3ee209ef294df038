/*
 * test-imap-select.c - the IMAP engine's selected state (SELECT, EXAMINE,
 * CLOSE, UNSELECT, EXPUNGE, UID EXPUNGE, NOOP, CHECK, IDLE, ENABLE
 * CONDSTORE/QRESYNC, sequence sets and the sync) against a fake io and fake
 * hooks over a small in-memory mailbox.
 *
 * The fake mailbox keeps UIDs, flags and modseqs and tombstones of
 * expunged UIDs, like the store; its sync answers in the vanished form.
 * Hooks complete either inside the hook (synchronous) or when the test,
 * playing the event loop, completes them (deferred); scripts run whole,
 * byte by byte and split at every point, both ways, with one transcript.
 */
#include "imap/imap-server-private.h"
#include "imap/imap-server.h"
#include "imap/imap-seqset.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <stdio.h>
#include <string.h>

#define FAKE_MAX 64

struct fake_msg {
	uint32_t uid;
	unsigned flags;
	uint64_t modseq;
};

struct fake_box {
	uint32_t uidvalidity, uidnext;
	uint64_t highest_modseq;
	struct fake_msg msgs[FAKE_MAX];
	size_t count;
	uint32_t tomb_uid[FAKE_MAX];
	uint64_t tomb_modseq[FAKE_MAX];
	size_t tomb_count;
	char rights[16];
};

enum sx_op { SX_NONE, SX_AUTH, SX_LOGIN, SX_SELECT, SX_SYNC, SX_EXPUNGE };

struct sx {
	struct imap_server_session *s;
	struct buf out;
	bool deferred;
	enum sx_op op;
	struct fake_box box;
	char name[200];
	struct imap_select_params params;
	uint64_t since;
	uint32_t exp_uids[FAKE_MAX];
	size_t exp_count;
	int unselects, syncs, selects, disconnects;
	bool overlap;
	bool changed_in_sync; /* a glue that signals a change inside each sync */
	uint32_t also_changed;  /* a UID the sync reports changed (and vanished) */
	/* \Recent the next select/sync reports ([first, end); 0 none) */
	uint32_t recent_first, recent_end;
	const char *sync_keywords; /* keywords of the sync's changes, and FLAGS */
};

/* ---- the fake mailbox ---- */

static void
box_init(struct fake_box *b)
{
	static const struct fake_msg init[] = {
		{ 1, 0, 1 }, { 2, IMAP_FLAG_DELETED, 2 }, { 5, IMAP_FLAG_SEEN, 3 },
		{ 7, IMAP_FLAG_SEEN | IMAP_FLAG_DELETED, 4 },
	};

	memset(b, 0, sizeof(*b));
	b->uidvalidity = 42;
	b->uidnext = 8;
	b->highest_modseq = 4;
	memcpy(b->msgs, init, sizeof(init));
	b->count = N_ELEMENTS(init);
	snprintf(b->rights, sizeof(b->rights), "%s", "aeiklprstwx");
}

static void
box_deliver(struct fake_box *b, unsigned flags)
{
	T_ASSERT(b->count < FAKE_MAX);
	b->msgs[b->count].uid = b->uidnext++;
	b->msgs[b->count].flags = flags;
	b->msgs[b->count].modseq = ++b->highest_modseq;
	b->count++;
}

static void
box_set_flags(struct fake_box *b, uint32_t uid, unsigned flags)
{
	for (size_t i = 0; i < b->count; i++) {
		if (b->msgs[i].uid == uid) {
			b->msgs[i].flags = flags;
			b->msgs[i].modseq = ++b->highest_modseq;
		}
	}
}

/* Expunge uid when it exists (and, when need_deleted, has \Deleted). */
static bool
box_expunge(struct fake_box *b, uint32_t uid, bool need_deleted)
{
	for (size_t i = 0; i < b->count; i++) {
		if (b->msgs[i].uid != uid)
			continue;
		if (need_deleted && (b->msgs[i].flags & IMAP_FLAG_DELETED) == 0)
			return false;
		memmove(&b->msgs[i], &b->msgs[i + 1], (b->count - i - 1) * sizeof(b->msgs[0]));
		b->count--;
		b->highest_modseq++;
		b->tomb_uid[b->tomb_count] = uid;
		b->tomb_modseq[b->tomb_count++] = b->highest_modseq;
		return true;
	}
	return false;
}

/* ---- hooks ---- */

static void
sx_write(void *ctx, const uint8_t *data, size_t len)
{
	struct sx *sx = ctx;

	T_INTEQ(buf_append(&sx->out, data, len), 0);
}

static void
sx_close(void *ctx)
{
}

static void sx_complete(struct sx *sx);

static void
sx_begin(struct sx *sx, enum sx_op op)
{
	if (sx->op != SX_NONE)
		sx->overlap = true;
	sx->op = op;
	if (!sx->deferred)
		sx_complete(sx);
}

static void
sx_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
	       const char *password)
{
	sx_begin(ctx, SX_AUTH);
}

static void
sx_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	sx_begin(ctx, SX_LOGIN);
}

static void
sx_disconnect(void *ctx, struct imap_server_session *s)
{
	struct sx *sx = ctx;

	sx->disconnects++;
	sx->op = SX_NONE;
}

static void
sx_mailbox_list(void *ctx, struct imap_server_session *s)
{
	imap_server_list_done(s, NULL, 0, IMAP_MAILBOX_OK);
}

static void
sx_mailbox_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	imap_server_status_done(s, NULL, IMAP_MAILBOX_NONEXISTENT);
}

static void
sx_mailbox_create(void *ctx, struct imap_server_session *s, const char *name, unsigned su)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
sx_mailbox_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
sx_mailbox_rename(void *ctx, struct imap_server_session *s, const char *a, const char *b)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
sx_mailbox_subscribe(void *ctx, struct imap_server_session *s, const char *name, bool sub)
{
	imap_server_mailbox_op_done(s, IMAP_MAILBOX_CANNOT, NULL);
}

static void
sx_select(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_select_params *params)
{
	struct sx *sx = ctx;

	T_ASSERT(!imap_server_session_wants_input(s));
	T_ASSERT(imap_server_session_selected(s) == NULL);
	sx->selects++;
	snprintf(sx->name, sizeof(sx->name), "%s", name);
	sx->params = *params;
	sx->params.qr_known_uids = NULL;
	sx_begin(sx, SX_SELECT);
}

static void
sx_unselect(void *ctx, struct imap_server_session *s)
{
	struct sx *sx = ctx;

	sx->unselects++;
}

static void
sx_sync(void *ctx, struct imap_server_session *s, uint64_t since)
{
	struct sx *sx = ctx;

	T_ASSERT(!imap_server_session_wants_input(s));
	sx->syncs++;
	sx->since = since;
	if (sx->changed_in_sync)
		imap_server_mailbox_changed(s);
	sx_begin(sx, SX_SYNC);
}

static void
sx_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count)
{
	struct sx *sx = ctx;

	T_ASSERT(count <= FAKE_MAX);
	memcpy(sx->exp_uids, uids, count * sizeof(*uids));
	sx->exp_count = count;
	sx_begin(sx, SX_EXPUNGE);
}

static void
sx_fetch(void *ctx, struct imap_server_session *s, const struct imap_fetch_request *req)
{
	T_ASSERT(!"fetch hook called");
}

static void
sx_search(void *ctx, struct imap_server_session *s, const struct imap_search_request *req)
{
	T_ASSERT(!"search hook called");
}

static void
sx_store(void *ctx, struct imap_server_session *s, const struct imap_store_request *req)
{
	T_ASSERT(!"store hook called");
}

static void
sx_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids, size_t count,
	const char *dest, bool move)
{
	T_ASSERT(!"copy hook called");
}

static void
sx_append(void *ctx, struct imap_server_session *s, const char *name,
	  const struct imap_append_message *msgs, size_t count)
{
	T_ASSERT(!"append hook called");
}

/* The view of the fake box; the arrays live in statics until the next call. */
static void
sx_complete_select(struct sx *sx)
{
	static uint32_t uids[FAKE_MAX], vanished[FAKE_MAX];
	static struct imap_message_change changes[FAKE_MAX];
	struct fake_box *b = &sx->box;
	struct imap_mailbox_view v = { .uidvalidity = b->uidvalidity, .uidnext = b->uidnext,
				       .highest_modseq = b->highest_modseq, .uids = uids,
				       .count = b->count, .keywords = "$Junk",
				       .rights = b->rights };

	if (strcmp(sx->name, "INBOX") != 0 && strcmp(sx->name, "Other") != 0) {
		imap_server_select_done(sx->s, NULL,
					strcmp(sx->name, "noread") == 0 ? IMAP_MAILBOX_NOPERM
									: IMAP_MAILBOX_NONEXISTENT,
					strcmp(sx->name, "bad\ntext") == 0 ? "Bad\r\nthing" : NULL);
		return;
	}
	for (size_t i = 0; i < b->count; i++) {
		uids[i] = b->msgs[i].uid;
		if (v.first_unseen_uid == 0 && (b->msgs[i].flags & IMAP_FLAG_SEEN) == 0)
			v.first_unseen_uid = uids[i];
		if (sx->params.qresync && b->msgs[i].modseq > sx->params.qr_modseq) {
			changes[v.change_count].uid = uids[i];
			changes[v.change_count].flags = b->msgs[i].flags;
			changes[v.change_count++].modseq = b->msgs[i].modseq;
		}
	}
	for (size_t i = 0; sx->params.qresync && i < b->tomb_count; i++) {
		if (b->tomb_modseq[i] > sx->params.qr_modseq)
			vanished[v.vanished_count++] = b->tomb_uid[i];
	}
	v.vanished = vanished;
	v.changes = changes;
	/* like the glue: nothing for an IMAP4rev2 session */
	if (!sx->params.rev2) {
		v.recent_first = sx->recent_first;
		v.recent_end = sx->recent_end;
	}
	imap_server_select_done(sx->s, &v, IMAP_MAILBOX_OK, NULL);
}

static void
sx_complete_sync(struct sx *sx)
{
	static uint32_t vanished[FAKE_MAX];
	static struct imap_message_change changes[FAKE_MAX];
	struct fake_box *b = &sx->box;
	struct imap_mailbox_view v = { .uidvalidity = b->uidvalidity, .uidnext = b->uidnext,
				       .highest_modseq = b->highest_modseq, .keywords = "$Junk",
				       .rights = b->rights };

	for (size_t i = 0; i < b->count; i++) {
		if (b->msgs[i].modseq > sx->since) {
			changes[v.change_count].uid = b->msgs[i].uid;
			changes[v.change_count].flags = b->msgs[i].flags;
			changes[v.change_count].keywords = sx->sync_keywords;
			changes[v.change_count++].modseq = b->msgs[i].modseq;
		}
	}
	if (sx->sync_keywords != NULL)
		v.keywords = sx->sync_keywords;
	v.recent_first = sx->recent_first;
	v.recent_end = sx->recent_end;
	for (size_t i = 0; i < b->tomb_count; i++) {
		if (b->tomb_modseq[i] > sx->since)
			vanished[v.vanished_count++] = b->tomb_uid[i];
	}
	if (sx->also_changed != 0) {
		/* a glue that read its lists at different times */
		changes[v.change_count].uid = sx->also_changed;
		changes[v.change_count].flags = 0;
		changes[v.change_count].keywords = NULL;
		changes[v.change_count++].modseq = b->highest_modseq;
	}
	/* like the store: no array when there is nothing */
	v.vanished = v.vanished_count > 0 ? vanished : NULL;
	v.changes = v.change_count > 0 ? changes : NULL;
	imap_server_sync_done(sx->s, &v, IMAP_MAILBOX_OK);
}

static void
sx_complete_expunge(struct sx *sx)
{
	uint32_t gone[FAKE_MAX];
	size_t n = 0;

	for (size_t i = 0; i < sx->exp_count; i++) {
		if (box_expunge(&sx->box, sx->exp_uids[i], true))
			gone[n++] = sx->exp_uids[i];
	}
	imap_server_expunge_done(sx->s, gone, n, IMAP_MAILBOX_OK, NULL);
}

static void
sx_complete(struct sx *sx)
{
	enum sx_op op = sx->op;

	sx->op = SX_NONE;
	if (sx->s == NULL)
		return;
	switch (op) {
	case SX_AUTH:
		imap_server_auth_verified(sx->s, true);
		break;
	case SX_LOGIN:
		imap_server_login_done(sx->s, true);
		break;
	case SX_SELECT:
		sx_complete_select(sx);
		break;
	case SX_SYNC:
		sx_complete_sync(sx);
		break;
	case SX_EXPUNGE:
		sx_complete_expunge(sx);
		break;
	case SX_NONE:
		break;
	}
}

static const struct imap_server_io sx_io = { .write = sx_write, .close = sx_close };
static const struct imap_server_hooks sx_hooks = {
	.auth_lookup = sx_auth_lookup,
	.authenticated = sx_authenticated,
	.disconnect = sx_disconnect,
	.mailbox_list = sx_mailbox_list,
	.mailbox_status = sx_mailbox_status,
	.mailbox_create = sx_mailbox_create,
	.mailbox_delete = sx_mailbox_delete,
	.mailbox_rename = sx_mailbox_rename,
	.mailbox_subscribe = sx_mailbox_subscribe,
};
static const struct imap_server_selected_hooks sx_shooks = {
	.mailbox_select = sx_select,
	.mailbox_unselect = sx_unselect,
	.mailbox_sync = sx_sync,
	.message_fetch = sx_fetch,
	.message_search = sx_search,
	.message_store = sx_store,
	.message_copy = sx_copy,
	.message_expunge = sx_expunge,
	.message_append = sx_append,
};

static struct sx *
sx_new(bool deferred)
{
	struct sx *sx = mem_zalloc(sizeof(*sx));
	struct imap_server_settings set;

	memset(&set, 0, sizeof(set));
	set.hostname = "imap.example.org";
	set.auth_plaintext_allowed = true;
	imap_server_limits_init_default(&set.limits);
	buf_init(&sx->out, 0);
	sx->deferred = deferred;
	box_init(&sx->box);
	sx->s = imap_server_session_new(&set, &sx_hooks, sx, &sx_io, sx, "192.0.2.9");
	imap_server_session_set_selected_hooks(sx->s, &sx_shooks);
	imap_server_session_start(sx->s);
	buf_reset(&sx->out);
	return sx;
}

static void
sx_free(struct sx *sx)
{
	imap_server_session_free(&sx->s);
	T_INTEQ(sx->disconnects, 1);
	T_ASSERT(!sx->overlap);
	buf_deinit(&sx->out);
	mem_free(&sx);
}

static void
sx_input(struct sx *sx, const char *data, size_t len)
{
	if (sx->s == NULL)
		return;
	imap_server_session_input(sx->s, (const uint8_t *)data, len);
	while (sx->op != SX_NONE && sx->s != NULL)
		sx_complete(sx);
}

static void
sx_send(struct sx *sx, const char *text)
{
	sx_input(sx, text, strlen(text));
}

static const char *
sx_out(struct sx *sx)
{
	static char copy[16384];

	snprintf(copy, sizeof(copy), "%s", buf_cstr(&sx->out));
	buf_reset(&sx->out);
	return copy;
}

static struct sx *
sx_selected(bool deferred, const char *select)
{
	struct sx *sx = sx_new(deferred);

	sx_send(sx, "L LOGIN tim pw\r\n");
	sx_send(sx, select);
	(void)sx_out(sx);
	return sx;
}

/* ---- the session script ---- */

#define SELECT_OUT(tag, exists, unseen, code, text) \
	"* " exists " EXISTS\r\n* 0 RECENT\r\n" \
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n" \
	"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)] " \
	"Flags permitted\r\n* OK [UIDVALIDITY 42] UIDs valid\r\n" \
	"* OK [UIDNEXT 8] Predicted next UID\r\n" unseen tag " OK [" code "] " text "\r\n"

static const char script_in[] =
	"a LOGIN tim pw\r\n"
	"b SELECT INBOX\r\n"
	"c NOOP\r\n"
	"d EXPUNGE\r\n"
	"e UID EXPUNGE 1:*\r\n"
	"f SELECT nope\r\n"
	"g CLOSE\r\n"
	"h SELECT INBOX (CONDSTORE)\r\n"
	"i CLOSE\r\n"
	"j EXAMINE \"INBOX\"\r\n"
	"k EXPUNGE\r\n"
	"l UNSELECT\r\n"
	"m IDLE\r\n"
	"done\r\n"
	"n SELECT INBOX\r\n"
	"o IDLE\r\n"
	"DONE\r\n"
	"p CHECK\r\n"
	"q LOGOUT\r\n";

static const char script_out[] =
	"a OK [CAPABILITY IMAP4rev2 IMAP4rev1 LITERAL+ ID ENABLE UTF8=ACCEPT NAMESPACE "
	"LIST-EXTENDED LIST-STATUS SPECIAL-USE CREATE-SPECIAL-USE STATUS=SIZE IDLE UNSELECT "
	"UIDPLUS MOVE CONDSTORE QRESYNC ESEARCH SEARCHRES SORT SORT=DISPLAY "
	"THREAD=ORDEREDSUBJECT THREAD=REFERENCES WITHIN MULTIAPPEND BINARY PREVIEW SAVEDATE "
	"CATENATE OBJECTID] "
	"Logged in\r\n"
	SELECT_OUT("b", "4", "* OK [UNSEEN 1] First unseen\r\n", "READ-WRITE", "SELECT completed")
	"c OK NOOP completed\r\n"
	/* 2 and 7 have \Deleted */
	"* 4 EXPUNGE\r\n* 2 EXPUNGE\r\nd OK EXPUNGE completed\r\n"
	"e OK EXPUNGE completed\r\n"
	"* OK [CLOSED] Previous mailbox closed\r\n"
	"f NO [NONEXISTENT] Mailbox does not exist\r\n"
	"g BAD Command not valid in this state\r\n"
	"* 2 EXISTS\r\n* 0 RECENT\r\n"
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
	"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)] "
	"Flags permitted\r\n* OK [UIDVALIDITY 42] UIDs valid\r\n"
	"* OK [UIDNEXT 8] Predicted next UID\r\n* OK [UNSEEN 1] First unseen\r\n"
	"* OK [HIGHESTMODSEQ 6] Highest\r\n"
	"h OK [READ-WRITE] SELECT completed\r\n"
	"i OK CLOSE completed\r\n"
	"* 2 EXISTS\r\n* 0 RECENT\r\n"
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
	"* OK [PERMANENTFLAGS ()] No permanent flags permitted\r\n"
	"* OK [UIDVALIDITY 42] UIDs valid\r\n"
	"* OK [UIDNEXT 8] Predicted next UID\r\n* OK [UNSEEN 1] First unseen\r\n"
	"* OK [HIGHESTMODSEQ 6] Highest\r\n"
	"j OK [READ-ONLY] EXAMINE completed\r\n"
	"k NO [READ-ONLY] Mailbox is read-only\r\n"
	"l OK UNSELECT completed\r\n"
	"+ idling\r\nm OK IDLE terminated\r\n"
	"* 2 EXISTS\r\n* 0 RECENT\r\n"
	"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
	"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)] "
	"Flags permitted\r\n* OK [UIDVALIDITY 42] UIDs valid\r\n"
	"* OK [UIDNEXT 8] Predicted next UID\r\n* OK [UNSEEN 1] First unseen\r\n"
	"* OK [HIGHESTMODSEQ 6] Highest\r\n"
	"n OK [READ-WRITE] SELECT completed\r\n"
	"+ idling\r\no OK IDLE terminated\r\n"
	"p OK CHECK completed\r\n"
	"* BYE Logging out\r\nq OK LOGOUT completed\r\n";

static void
check_script(struct sx *sx, const char *what, size_t split)
{
	if (!T_STREQ(sx_out(sx), script_out))
		fprintf(stderr, "  %s deferred %d split %zu\n", what, sx->deferred, split);
	T_INTEQ(sx->selects, 5);
	T_INTEQ(sx->box.count, 2);
	/* SELECT nope (leaving INBOX), CLOSE, UNSELECT */
	T_INTEQ(sx->unselects, 3);
}

static void
test_imap_select_script_splits(void)
{
	size_t len = sizeof(script_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct sx *sx = sx_new(deferred);

		sx_send(sx, script_in);
		check_script(sx, "whole", 0);
		sx_free(sx);

		sx = sx_new(deferred);
		for (size_t i = 0; i < len; i++)
			sx_input(sx, script_in + i, 1);
		check_script(sx, "bytes", 0);
		sx_free(sx);

		for (size_t split = 1; split < len; split++) {
			sx = sx_new(deferred);
			sx_input(sx, script_in, split);
			sx_input(sx, script_in + split, len - split);
			check_script(sx, "split", split);
			sx_free(sx);
		}
	}
}

/* ---- sequence sets ---- */

static int
resolve(struct sx *sx, const char *text, bool uid, char *out, size_t out_size)
{
	struct imap_arg arg = { .type = IMAP_ARG_ATOM, .str = text, .str_len = strlen(text) };
	uint32_t *uids;
	size_t count, n = 0;
	const char *error = NULL;
	int ret = imap_server_resolve_set(sx->s, &arg, uid, &uids, &count, &error);

	out[0] = '\0';
	if (ret == 0) {
		T_ASSERT(error != NULL);
		snprintf(out, out_size, "BAD");
		mem_free(&uids);
		return ret;
	}
	for (size_t i = 0; i < count && n + 12 < out_size; i++)
		n += (size_t)snprintf(out + n, out_size - n, "%s%u", i > 0 ? "," : "", uids[i]);
	mem_free(&uids);
	return ret;
}

#define T_RESOLVE(sx, text, uid, expect) \
	do { \
		char got_[256]; \
		(void)resolve((sx), (text), (uid), got_, sizeof(got_)); \
		T_STREQ(got_, (expect)); \
	} while (0)

static void
test_imap_select_resolve_set(void)
{
	struct sx *sx = sx_selected(false, "s SELECT INBOX\r\n");

	/* uids 1 2 5 7 */
	T_RESOLVE(sx, "1:*", false, "1,2,5,7");
	T_RESOLVE(sx, "4:2", false, "2,5,7");
	T_RESOLVE(sx, "*", false, "7");
	T_RESOLVE(sx, "1,3,1", false, "1,5");
	T_RESOLVE(sx, "5", false, "BAD");
	T_RESOLVE(sx, "2:5", false, "BAD");
	T_RESOLVE(sx, "0", false, "BAD");
	T_RESOLVE(sx, "1:", false, "BAD");
	T_RESOLVE(sx, "x", false, "BAD");
	T_RESOLVE(sx, "1:*", true, "1,2,5,7");
	T_RESOLVE(sx, "3:6", true, "5");
	T_RESOLVE(sx, "6:3", true, "5");
	T_RESOLVE(sx, "8:*", true, "7");
	T_RESOLVE(sx, "100:200", true, "");
	T_RESOLVE(sx, "1:4294967295", true, "1,2,5,7");
	T_RESOLVE(sx, "4294967296", true, "BAD");
	/* "$" before any SEARCH ... SAVE is empty (RFC 5182 2.1) */
	T_RESOLVE(sx, "$", false, "");
	sx->s->sel->saved = mem_array(3, sizeof(uint32_t));
	sx->s->sel->saved[0] = 2;
	sx->s->sel->saved[1] = 3;
	sx->s->sel->saved[2] = 7;
	sx->s->sel->saved_count = 3;
	sx->s->sel->saved_valid = true;
	T_RESOLVE(sx, "$", true, "2,7");
	T_RESOLVE(sx, "$", false, "2,7");
	T_INTEQ(imap_server_seq_of(sx->s, 5), 3);
	T_INTEQ(imap_server_seq_of(sx->s, 6), 0);
	T_ASSERT(imap_server_has_right(sx->s, 'e'));
	T_ASSERT(!imap_server_has_right(sx->s, 'z'));
	T_ASSERT(!imap_server_has_right(sx->s, '\0'));
	sx_free(sx);

	/* an empty mailbox: "*" names nothing; for sequence sets that is BAD */
	sx = sx_new(false);
	sx->box.count = 0;
	sx_send(sx, "L LOGIN tim pw\r\ns SELECT INBOX\r\n");
	T_RESOLVE(sx, "*", false, "BAD");
	T_RESOLVE(sx, "1:*", false, "BAD");
	T_RESOLVE(sx, "1", false, "BAD");
	T_RESOLVE(sx, "*", true, "");
	T_RESOLVE(sx, "1:*", true, "");
	sx_send(sx, "x UID EXPUNGE *\r\ny UID EXPUNGE 0\r\n");
	T_ASSERT(strstr(sx_out(sx), "x OK EXPUNGE completed\r\ny BAD ") != NULL);
	sx_free(sx);
}

/* ---- the sync ---- */

static void
test_imap_select_updates(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct sx *sx = sx_selected(deferred, "s SELECT INBOX\r\n");

		/* new mail, a flag change, another session's expunge */
		box_deliver(&sx->box, 0);
		box_set_flags(&sx->box, 5, IMAP_FLAG_FLAGGED);
		box_expunge(&sx->box, 1, false);
		imap_server_mailbox_changed(sx->s);
		T_STREQ(sx_out(sx), "");
		sx_send(sx, "a NOOP\r\n");
		T_STREQ(sx_out(sx), "* 1 EXPUNGE\r\n* 4 EXISTS\r\n* 2 FETCH (FLAGS (\\Flagged))\r\n"
				    "a OK NOOP completed\r\n");
		T_INTEQ(sx->since, 4);
		/* CONDSTORE on: MODSEQ in updates; UID commands: UID too */
		sx_send(sx, "b ENABLE CONDSTORE\r\n");
		T_STREQ(sx_out(sx), "* ENABLED CONDSTORE\r\n* OK [HIGHESTMODSEQ 7] Highest\r\n"
				    "b OK ENABLE completed\r\n");
		box_set_flags(&sx->box, 7, IMAP_FLAG_SEEN);
		sx_send(sx, "c NOOP\r\n");
		T_STREQ(sx_out(sx), "* 3 FETCH (FLAGS (\\Seen) MODSEQ (8))\r\n"
				    "c OK NOOP completed\r\n");
		T_INTEQ(sx->since, 7);
		box_set_flags(&sx->box, 2, IMAP_FLAG_DELETED | IMAP_FLAG_ANSWERED);
		imap_server_mailbox_changed(sx->s);
		sx_send(sx, "d UID EXPUNGE 5\r\n");
		T_STREQ(sx_out(sx), "* 1 FETCH (UID 2 FLAGS (\\Answered \\Deleted) MODSEQ (9))\r\n"
				    "d OK EXPUNGE completed\r\n");
		sx_send(sx, "e UID EXPUNGE 2\r\n");
		T_STREQ(sx_out(sx), "* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n");
		T_INTEQ(sx->box.count, 3);
		/* delivered and expunged between two syncs: never shown */
		box_deliver(&sx->box, 0);
		box_deliver(&sx->box, 0);
		box_expunge(&sx->box, 9, false);
		sx->also_changed = 9;
		sx_send(sx, "f NOOP\r\n");
		sx->also_changed = 0;
		T_STREQ(sx_out(sx), "* 4 EXISTS\r\nf OK NOOP completed\r\n");
		T_INTEQ(imap_server_seq_of(sx->s, 10), 4);
		T_INTEQ(imap_server_seq_of(sx->s, 9), 0);
		sx_free(sx);
	}
}

/* \Recent (RFC 3501 2.3.2, 7.3.2) in the view: SELECT's count, syncs that
 * add recent messages, \Recent in flag updates; none for IMAP4rev2; the
 * HIGHESTMODSEQ of a mailbox that never changed is 1 (RFC 7162 3.1); a
 * keyword is announced in FLAGS before a FETCH shows it (RFC 9051 7.3.5);
 * a change a sync reported makes an older state of the message stale. */
static void
test_imap_select_recent(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct sx *sx = sx_new(deferred);
		const char *out;

		sx_send(sx, "L LOGIN tim pw\r\n");
		sx->recent_first = 5;
		sx->recent_end = 8;
		sx_send(sx, "a SELECT INBOX\r\n");
		T_ASSERT(!sx->params.rev2);
		out = sx_out(sx);
		T_ASSERT(strstr(out, "* 4 EXISTS\r\n* 2 RECENT\r\n") != NULL);
		T_ASSERT(imap_server_recent_contains(sx->s->sel->recent, sx->s->sel->recent_count,
						     7));
		T_ASSERT(!imap_server_recent_contains(sx->s->sel->recent,
						      sx->s->sel->recent_count, 2));
		/* a delivery this session claims: EXISTS with the new count */
		sx->recent_first = 8;
		sx->recent_end = 9;
		box_deliver(&sx->box, 0);
		sx_send(sx, "b NOOP\r\n");
		T_STREQ(sx_out(sx), "* 5 EXISTS\r\n* 3 RECENT\r\nb OK NOOP completed\r\n");
		/* one another session claimed: EXISTS, the count unchanged */
		sx->recent_first = sx->recent_end = 0;
		box_deliver(&sx->box, 0);
		sx_send(sx, "c NOOP\r\n");
		T_STREQ(sx_out(sx), "* 6 EXISTS\r\n* 3 RECENT\r\nc OK NOOP completed\r\n");
		/* flag updates show \Recent of the session's recent ones */
		box_set_flags(&sx->box, 5, IMAP_FLAG_FLAGGED);
		box_set_flags(&sx->box, 1, IMAP_FLAG_FLAGGED);
		sx_send(sx, "d NOOP\r\n");
		T_STREQ(sx_out(sx), "* 1 FETCH (FLAGS (\\Flagged))\r\n"
				    "* 3 FETCH (FLAGS (\\Recent \\Flagged))\r\n"
				    "d OK NOOP completed\r\n");
		/* the sync told the client of uid 5 at modseq 7: a reply of
		 * this session's own with an older state is stale now */
		T_ASSERT(imap_server_view_known_newer(sx->s, 5, 6));
		T_ASSERT(!imap_server_view_known_newer(sx->s, 5, 7));
		/* a new keyword: FLAGS before the FETCH that shows it */
		box_set_flags(&sx->box, 1, IMAP_FLAG_SEEN);
		sx->sync_keywords = "$New";
		sx_send(sx, "e NOOP\r\n");
		out = sx_out(sx);
		T_ASSERT(strncmp(out, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft "
				      "$Junk $New)\r\n* OK [PERMANENTFLAGS (", 70) == 0);
		T_ASSERT(strstr(out, "* 1 FETCH (FLAGS (\\Seen $New))\r\ne OK") != NULL);
		/* once known, not again; a keyword only a reply shows is
		 * announced first as well */
		sx_send(sx, "f NOOP\r\n");
		T_STREQ(sx_out(sx), "f OK NOOP completed\r\n");
		{
			struct imap_message_change c = { 7, IMAP_FLAG_SEEN, "$Other", 20 };

			imap_server_write_flags(sx->s, &c, false);
			imap_server_flush(sx->s);
			out = sx_out(sx);
			T_ASSERT(strncmp(out, "* FLAGS (", 9) == 0);
			T_ASSERT(strstr(out, "$New $Other)\r\n") != NULL);
			T_ASSERT(strstr(out, "\r\n* 4 FETCH (FLAGS (\\Recent \\Seen $Other))\r\n")
				 != NULL);
		}
		sx->sync_keywords = NULL;
		sx_free(sx);

		/* IMAP4rev2: no RECENT, no claim asked for, no \Recent */
		sx = sx_new(deferred);
		sx_send(sx, "L LOGIN tim pw\r\n");
		sx_send(sx, "E ENABLE IMAP4rev2\r\n");
		sx->recent_first = 1;
		sx->recent_end = 8;
		(void)sx_out(sx);
		sx_send(sx, "a SELECT INBOX\r\n");
		T_ASSERT(sx->params.rev2);
		T_ASSERT(strstr(sx_out(sx), "RECENT") == NULL);
		box_set_flags(&sx->box, 1, IMAP_FLAG_FLAGGED);
		box_deliver(&sx->box, 0);
		sx_send(sx, "b NOOP\r\n");
		T_STREQ(sx_out(sx), "* 5 EXISTS\r\n* 1 FETCH (FLAGS (\\Flagged))\r\n"
				    "b OK NOOP completed\r\n");
		sx_free(sx);

		/* a mailbox that never changed: HIGHESTMODSEQ 1 */
		sx = sx_new(deferred);
		sx_send(sx, "L LOGIN tim pw\r\n");
		sx->box.highest_modseq = 0;
		sx->box.count = 0;
		sx_send(sx, "a SELECT INBOX (CONDSTORE)\r\n");
		T_ASSERT(strstr(sx_out(sx), "* OK [HIGHESTMODSEQ 1] Highest\r\n") != NULL);
		sx_free(sx);
	}
}

/* ranges: merged, ordered, the oldest dropped when full */
static void
test_imap_select_recent_ranges(void)
{
	struct imap_server_selected sel;

	memset(&sel, 0, sizeof(sel));
	imap_server_view_recent_add(&sel, 10, 20);
	imap_server_view_recent_add(&sel, 30, 40);
	imap_server_view_recent_add(&sel, 5, 5);
	T_INTEQ(sel.recent_count, 2);
	imap_server_view_recent_add(&sel, 20, 25);
	T_INTEQ(sel.recent_count, 2);
	T_INTEQ(sel.recent[0].first, 10);
	T_INTEQ(sel.recent[0].end, 25);
	imap_server_view_recent_add(&sel, 24, 31);
	T_INTEQ(sel.recent_count, 1);
	T_INTEQ(sel.recent[0].end, 40);
	imap_server_view_recent_add(&sel, 1, 3);
	T_INTEQ(sel.recent_count, 2);
	T_INTEQ(sel.recent[0].first, 1);
	T_ASSERT(imap_server_recent_contains(sel.recent, sel.recent_count, 2));
	T_ASSERT(!imap_server_recent_contains(sel.recent, sel.recent_count, 3));
	T_ASSERT(imap_server_recent_contains(sel.recent, sel.recent_count, 39));
	T_ASSERT(!imap_server_recent_contains(sel.recent, sel.recent_count, 40));
	for (uint32_t u = 100; u < 100 + 2 * IMAP_SERVER_RECENT_MAX; u += 2)
		imap_server_view_recent_add(&sel, u, u + 1);
	T_INTEQ(sel.recent_count, IMAP_SERVER_RECENT_MAX);
	T_ASSERT(!imap_server_recent_contains(sel.recent, sel.recent_count, 2));
	T_ASSERT(imap_server_recent_contains(sel.recent, sel.recent_count,
					     100 + 2 * IMAP_SERVER_RECENT_MAX - 2));
	for (size_t i = 1; i < sel.recent_count; i++)
		T_ASSERT(sel.recent[i - 1].end < sel.recent[i].first);
}

static void
no_expunge_done(struct imap_server_session *s)
{
	imap_server_ok(s, NULL, "FETCH completed");
}

/* RFC 9051 7.5.1: no EXPUNGE during FETCH, STORE, SEARCH. */
static void
test_imap_select_no_expunge(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct sx *sx = sx_selected(deferred, "s SELECT INBOX\r\n");
		char got[256];

		box_expunge(&sx->box, 2, false);
		box_deliver(&sx->box, 0);
		imap_server_mailbox_changed(sx->s);
		/* as a FETCH handler would end */
		mem_free(&sx->s->cmd_tag);
		sx->s->cmd_tag = mem_strdup("f");
		imap_server_finish(sx->s, IMAP_SYNC_NO_EXPUNGE, false, no_expunge_done);
		while (sx->op != SX_NONE)
			sx_complete(sx);
		T_STREQ(sx_out(sx), "* 5 EXISTS\r\nf OK FETCH completed\r\n");
		/* the expunged message keeps its number but is skipped */
		(void)resolve(sx, "1:*", false, got, sizeof(got));
		T_STREQ(got, "1,5,7,8");
		T_INTEQ(imap_server_seq_of(sx->s, 8), 5);
		/* the next command that may, reports it */
		sx_send(sx, "a CHECK\r\n");
		T_STREQ(sx_out(sx), "* 2 EXPUNGE\r\na OK CHECK completed\r\n");
		T_INTEQ(imap_server_seq_of(sx->s, 8), 4);
		sx_free(sx);
	}
}

static void
test_imap_select_idle(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct sx *sx = sx_selected(deferred, "s SELECT INBOX\r\n");

		sx_send(sx, "i IDLE\r\n");
		T_STREQ(sx_out(sx), "+ idling\r\n");
		box_deliver(&sx->box, 0);
		imap_server_mailbox_changed(sx->s);
		while (sx->op != SX_NONE)
			sx_complete(sx);
		T_STREQ(sx_out(sx), "* 5 EXISTS\r\n");
		box_expunge(&sx->box, 1, false);
		imap_server_mailbox_changed(sx->s);
		while (sx->op != SX_NONE)
			sx_complete(sx);
		T_STREQ(sx_out(sx), "* 1 EXPUNGE\r\n");
		sx_send(sx, "DON");
		sx_send(sx, "E\r\n");
		T_STREQ(sx_out(sx), "i OK IDLE terminated\r\n");
		/* garbage instead of DONE */
		sx_send(sx, "j IDLE\r\nj2 NOOP\r\n");
		T_STREQ(sx_out(sx), "+ idling\r\nj BAD Expected DONE\r\n");
		sx_send(sx, "k NOOP\r\n");
		T_STREQ(sx_out(sx), "k OK NOOP completed\r\n");
		/* a changed mailbox before IDLE: the update follows "+ idling" */
		box_deliver(&sx->box, 0);
		imap_server_mailbox_changed(sx->s);
		sx_send(sx, "l IDLE\r\n");
		T_STREQ(sx_out(sx), "+ idling\r\n* 5 EXISTS\r\n");
		/* a glue that signals inside every sync does not loop forever */
		sx->changed_in_sync = true;
		box_deliver(&sx->box, 0);
		imap_server_mailbox_changed(sx->s);
		/* deferred, each completion starts the next sync: the glue's
		 * changes keep coming, so does the engine */
		for (int k = 0; k < 5 && sx->op != SX_NONE; k++)
			sx_complete(sx);
		T_ASSERT(strncmp(sx_out(sx), "* 6 EXISTS\r\n", 12) == 0);
		sx->changed_in_sync = false;
		while (sx->op != SX_NONE)
			sx_complete(sx);
		sx_send(sx, "DONE\r\n");
		while (sx->op != SX_NONE)
			sx_complete(sx);
		T_ASSERT(strstr(sx_out(sx), "l OK IDLE terminated\r\n") != NULL);
		/* a line over the limit ends IDLE too */
		sx_send(sx, "m IDLE\r\n");
		(void)sx_out(sx);
		{
			static char big[9000];

			memset(big, 'x', sizeof(big) - 3);
			memcpy(big + sizeof(big) - 3, "\r\n", 3);
			sx_send(sx, big);
		}
		T_ASSERT(strncmp(sx_out(sx), "m BAD ", 6) == 0);
		sx_send(sx, "n NOOP\r\n");
		T_STREQ(sx_out(sx), "n OK NOOP completed\r\n");
		sx_free(sx);
	}

	/* IDLE in the authenticated state: no updates, DONE ends it */
	struct sx *sx = sx_new(false);

	sx_send(sx, "a LOGIN tim pw\r\n");
	(void)sx_out(sx);
	imap_server_mailbox_changed(sx->s);
	sx_send(sx, "b IDLE\r\nDONE\r\n");
	T_STREQ(sx_out(sx), "+ idling\r\nb OK IDLE terminated\r\n");
	T_INTEQ(sx->syncs, 0);
	sx_free(sx);
}

static void
test_imap_select_rights(void)
{
	struct sx *sx = sx_new(false);

	snprintf(sx->box.rights, sizeof(sx->box.rights), "lrs");
	sx_send(sx, "a LOGIN tim pw\r\nb SELECT INBOX\r\n");
	/* only \Seen is permitted ("s" still makes it read-write) */
	T_ASSERT(strstr(sx_out(sx), "* OK [PERMANENTFLAGS (\\Seen)] Flags permitted\r\n"
				    "* OK [UIDVALIDITY 42]") != NULL);
	sx_send(sx, "c EXPUNGE\r\nd CLOSE\r\n");
	T_STREQ(sx_out(sx), "c NO [NOPERM] Permission denied\r\nd OK CLOSE completed\r\n");
	T_INTEQ(sx->box.count, 4);
	/* "l r t": \Deleted only, no expunge right: CLOSE leaves everything */
	snprintf(sx->box.rights, sizeof(sx->box.rights), "lrt");
	sx_send(sx, "e SELECT INBOX\r\nf EXPUNGE\r\ng CLOSE\r\n");
	T_ASSERT(strstr(sx_out(sx), "[PERMANENTFLAGS (\\Deleted)]") != NULL);
	T_INTEQ(sx->box.count, 4);
	/* rights lost in a sync apply at once */
	snprintf(sx->box.rights, sizeof(sx->box.rights), "aeiklprstwx");
	sx_send(sx, "h SELECT INBOX\r\n");
	(void)sx_out(sx);
	snprintf(sx->box.rights, sizeof(sx->box.rights), "lr");
	sx_send(sx, "i NOOP\r\nj EXPUNGE\r\n");
	T_STREQ(sx_out(sx), "i OK NOOP completed\r\nj NO [NOPERM] Permission denied\r\n");
	/* no "r": NOPERM; a failed SELECT leaves nothing selected */
	sx_send(sx, "k SELECT noread\r\nl NOOP\r\nm CLOSE\r\n");
	T_STREQ(sx_out(sx), "* OK [CLOSED] Previous mailbox closed\r\n"
			    "k NO [NOPERM] Permission denied\r\nl OK NOOP completed\r\n"
			    "m BAD Command not valid in this state\r\n");
	T_ASSERT(imap_server_session_selected(sx->s) == NULL);
	T_STREQ(imap_server_session_user(sx->s), "tim");
	sx_free(sx);
}

static void
test_imap_select_qresync(void)
{
	struct sx *sx = sx_new(false);

	sx_send(sx, "a LOGIN tim pw\r\nb SELECT INBOX (QRESYNC (42 1))\r\n");
	T_ASSERT(strstr(sx_out(sx), "b BAD QRESYNC not enabled\r\n") != NULL);
	box_expunge(&sx->box, 1, false);
	sx_send(sx, "c ENABLE QRESYNC CONDSTORE\r\n");
	T_STREQ(sx_out(sx), "* ENABLED QRESYNC\r\nc OK ENABLE completed\r\n");
	T_ASSERT(imap_server_session_condstore_enabled(sx->s));
	T_ASSERT(imap_server_session_qresync_enabled(sx->s));
	sx_send(sx, "d SELECT INBOX (QRESYNC (42 3 1:7))\r\n");
	T_STREQ(sx_out(sx),
		"* 3 EXISTS\r\n* 0 RECENT\r\n"
		"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk)\r\n"
		"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Junk \\*)] "
		"Flags permitted\r\n* OK [UIDVALIDITY 42] UIDs valid\r\n"
		"* OK [UIDNEXT 8] Predicted next UID\r\n* OK [UNSEEN 1] First unseen\r\n"
		"* OK [HIGHESTMODSEQ 5] Highest\r\n"
		"* VANISHED (EARLIER) 1\r\n"
		"* 3 FETCH (UID 7 FLAGS (\\Deleted \\Seen) MODSEQ (4))\r\n"
		"d OK [READ-WRITE] SELECT completed\r\n");
	T_ASSERT(sx->params.qresync && sx->params.condstore);
	T_INTEQ(sx->params.qr_uidvalidity, 42);
	T_INTEQ(sx->params.qr_modseq, 3);
	/* expunges go out as VANISHED once QRESYNC is on (RFC 7162 3.2.10) */
	sx_send(sx, "e EXPUNGE\r\n");
	T_STREQ(sx_out(sx), "* VANISHED 2,7\r\ne OK EXPUNGE completed\r\n");
	/* a wrong UIDVALIDITY: no VANISHED or FETCH; bad parameters: BAD */
	sx_send(sx, "f EXAMINE INBOX (QRESYNC (41 3))\r\n");
	T_ASSERT(strstr(sx_out(sx), "VANISHED") == NULL);
	sx_send(sx, "g SELECT INBOX (QRESYNC (0 3))\r\n"
		    "h SELECT INBOX (QRESYNC (42 3 1:x))\r\n"
		    "i SELECT INBOX (QRESYNC (42 3 1:5 (1:2 1:7)))\r\n"
		    "j SELECT INBOX (QRESYNC (42 3 1:5 (1:2)))\r\n"
		    "k SELECT INBOX (FOO)\r\n"
		    "l SELECT INBOX CONDSTORE\r\n");
	{
		const char *out = sx_out(sx);

		T_ASSERT(strstr(out, "g BAD Invalid QRESYNC parameter\r\n") != NULL);
		T_ASSERT(strstr(out, "h BAD Invalid QRESYNC parameter\r\n") != NULL);
		T_ASSERT(strstr(out, "i OK [READ-WRITE]") != NULL);
		T_ASSERT(strstr(out, "j BAD Invalid QRESYNC parameter\r\n") != NULL);
		T_ASSERT(strstr(out, "k BAD Unknown SELECT parameter\r\n") != NULL);
		T_ASSERT(strstr(out, "l BAD Invalid SELECT parameters\r\n") != NULL);
	}
	sx_free(sx);
}

static void
test_imap_select_free_inside(void)
{
	/* freed with a select, a sync and an expunge outstanding */
	struct sx *sx = sx_new(true);

	sx_send(sx, "a LOGIN tim pw\r\n");
	imap_server_session_input(sx->s, (const uint8_t *)"b SELECT INBOX\r\n", 16);
	T_INTEQ(sx->op, SX_SELECT);
	sx_free(sx);

	sx = sx_selected(true, "b SELECT INBOX\r\n");
	imap_server_session_input(sx->s, (const uint8_t *)"c NOOP\r\n", 8);
	T_INTEQ(sx->op, SX_SYNC);
	sx_free(sx);

	sx = sx_selected(true, "b SELECT INBOX\r\n");
	imap_server_session_input(sx->s, (const uint8_t *)"c EXPUNGE\r\n", 11);
	T_INTEQ(sx->op, SX_EXPUNGE);
	sx_free(sx);

	sx = sx_selected(true, "b SELECT INBOX\r\n");
	imap_server_session_input(sx->s, (const uint8_t *)"c IDLE\r\n", 8);
	box_deliver(&sx->box, 0);
	imap_server_mailbox_changed(sx->s);
	T_INTEQ(sx->op, SX_SYNC);
	sx_free(sx);
}

static void
sync_gone(void *ctx, struct imap_server_session *s, uint64_t since)
{
	imap_server_sync_done(s, NULL, IMAP_MAILBOX_NONEXISTENT);
}

static void
sync_tempfail(void *ctx, struct imap_server_session *s, uint64_t since)
{
	imap_server_sync_done(s, NULL, IMAP_MAILBOX_TEMPFAIL);
}

/* A failing sync sends nothing; a deleted mailbox ends the session. */
static void
test_imap_select_sync_failures(void)
{
	struct imap_server_selected_hooks h = sx_shooks;
	struct sx *sx = sx_selected(false, "s SELECT INBOX\r\n");

	h.mailbox_sync = sync_tempfail;
	imap_server_session_set_selected_hooks(sx->s, &h);
	box_deliver(&sx->box, 0);
	sx_send(sx, "a NOOP\r\n");
	T_STREQ(sx_out(sx), "a OK NOOP completed\r\n");
	h.mailbox_sync = sync_gone;
	imap_server_session_set_selected_hooks(sx->s, &h);
	sx_send(sx, "b NOOP\r\nc NOOP\r\n");
	T_STREQ(sx_out(sx), "* BYE Selected mailbox no longer exists\r\n");
	T_ASSERT(imap_server_session_is_closed(sx->s));
	sx_free(sx);
}

static void
test_imap_select_without_hooks(void)
{
	/* without selected-state hooks nothing of it is offered */
	struct sx *sx = mem_zalloc(sizeof(*sx));
	struct imap_server_settings set;

	memset(&set, 0, sizeof(set));
	set.auth_plaintext_allowed = true;
	imap_server_limits_init_default(&set.limits);
	buf_init(&sx->out, 0);
	box_init(&sx->box);
	sx->s = imap_server_session_new(&set, &sx_hooks, sx, &sx_io, sx, "192.0.2.9");
	imap_server_session_start(sx->s);
	sx_send(sx, "a LOGIN tim pw\r\n");
	(void)sx_out(sx);
	sx_send(sx, "b SELECT INBOX\r\nc IDLE\r\nd ENABLE CONDSTORE QRESYNC\r\n"
		    "e GETACL INBOX\r\n");
	T_STREQ(sx_out(sx), "b BAD Unknown command\r\nc BAD Unknown command\r\n"
			    "* ENABLED\r\nd OK ENABLE completed\r\ne BAD Unknown command\r\n");
	sx_free(sx);
}

static const struct test tests[] = {
	TEST_ENTRY(test_imap_select_script_splits),
	TEST_ENTRY(test_imap_select_resolve_set),
	TEST_ENTRY(test_imap_select_updates),
	TEST_ENTRY(test_imap_select_no_expunge),
	TEST_ENTRY(test_imap_select_idle),
	TEST_ENTRY(test_imap_select_rights),
	TEST_ENTRY(test_imap_select_qresync),
	TEST_ENTRY(test_imap_select_free_inside),
	TEST_ENTRY(test_imap_select_sync_failures),
	TEST_ENTRY(test_imap_select_without_hooks),
	TEST_ENTRY(test_imap_select_recent),
	TEST_ENTRY(test_imap_select_recent_ranges),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("imap-select", tests);
}
