/*
 * test-store-copy.c - the store calls behind IMAP's selected state, on both
 * backends: COPY and MOVE (store_message_copy), expunge tombstones
 * (store_message_vanished, RFC 7162 3.2.5), STORE UNCHANGEDSINCE (RFC 7162
 * 3.1.3), keywords on arrival, the UID-only listing, quota usage and
 * limits, the RENAME of INBOX (RFC 9051 6.3.6), and the SQLite upgrade from
 * schema version 4.
 */
#include "store/store-sqlite.h"
#include "store/test-store-util.h"

#include <sys/stat.h>

static uint32_t
deliver_flags(struct store *st, uint64_t account, uint64_t mailbox, const char *text,
	      unsigned flags, const char *keywords, int64_t internaldate)
{
	struct store_delivery_target t = { account, mailbox, flags, internaldate, keywords };
	struct store_delivery_result r = { 0, 0, 0 };
	const char *error = NULL;

	if (!T_INTEQ(deliver_text(st, text, &t, 1, &r, &error), 1))
		fprintf(stderr, "  deliver: %s\n", error);
	return r.uid;
}

static struct store_mailbox
mailbox_get(struct store *st, uint64_t account, const char *name)
{
	struct store_mailbox m;

	if (!T_INTEQ(store_mailbox_lookup(st, account, name, &m, NULL), 1))
		memset(&m, 0, sizeof(m));
	return m;
}

/* The UIDs of a vanished list as "1,3,4" ("-" when the call did not return 1). */
static char *
vanished_text(struct store *st, uint64_t mailbox, uint64_t since)
{
	uint32_t *uids;
	size_t count;
	char out[512] = "";
	size_t len = 0;

	if (store_message_vanished(st, mailbox, since, &uids, &count, NULL) != 1)
		return mem_strdup("-");
	for (size_t i = 0; i < count && len < sizeof(out) - 16; i++)
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%u", i > 0 ? "," : "",
					uids[i]);
	mem_free(&uids);
	return mem_strdup(out);
}

static void
expect_vanished(struct store *st, uint64_t mailbox, uint64_t since, const char *expected)
{
	char *text = vanished_text(st, mailbox, since);

	T_STREQ(text, expected);
	mem_free(&text);
}

static void
copy_messages(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), b = add_account(st, "b@example.com");
	uint64_t inbox = mailbox_id(st, a, "INBOX"), archive = mailbox_id(st, a, "Archive");
	uint64_t b_inbox = mailbox_id(st, b, "INBOX");
	uint32_t src[5] = { 3, 1, 2, 99, 1 }, dst[5], uidvalidity = 0, one = 1;
	struct store_message *msgs;
	struct store_mailbox m;
	size_t n;
	char *text;

	T_INTEQ(deliver_flags(st, a, 0, "first", STORE_FLAG_SEEN, "$Label1 work", 1000000000), 1);
	T_INTEQ(deliver_flags(st, a, 0, "second", 0, NULL, 0), 2);
	T_INTEQ(deliver_flags(st, a, 0, "third", STORE_FLAG_FLAGGED, NULL, 1100000000), 3);
	T_INTEQ(store_message_expunge(st, inbox, &src[2], 1, NULL), 1); /* uid 2 */

	/* UID order in dst whatever the order given; missing and repeated get 0 */
	T_INTEQ(store_message_copy(st, inbox, src, 5, archive, false, dst, &uidvalidity, NULL), 1);
	T_INTEQ(dst[0], 2);
	T_INTEQ(dst[1], 1);
	T_INTEQ(dst[2], 0);
	T_INTEQ(dst[3], 0);
	T_INTEQ(dst[4], 0);
	m = mailbox_get(st, a, "Archive");
	T_INTEQ(uidvalidity, m.uidvalidity);
	T_INTEQ(m.uidnext, 3);
	T_INTEQ(m.highest_modseq, 2);
	T_INTEQ(m.messages, 2);
	T_INTEQ(m.size, strlen("first") + strlen("third"));
	store_mailbox_deinit(&m);
	if (T_INTEQ(store_message_list(st, archive, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 1);
		T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN);
		T_STREQ(msgs[0].keywords, "$Label1 work");
		T_INTEQ(msgs[0].internaldate, 1000000000);
		T_INTEQ(msgs[0].modseq, 1);
		T_ASSERT(msgs[0].savedate > 1100000000);
		T_INTEQ(msgs[1].uid, 2);
		T_INTEQ(msgs[1].flags, STORE_FLAG_FLAGGED);
		T_ASSERT(msgs[1].keywords == NULL);
		T_INTEQ(msgs[1].internaldate, 1100000000);
		T_INTEQ(msgs[1].modseq, 2);
	}
	store_message_list_free(&msgs, n);
	/* the source is untouched */
	m = mailbox_get(st, a, "INBOX");
	T_INTEQ(m.messages, 2);
	T_INTEQ(m.highest_modseq, 4);
	store_mailbox_deinit(&m);

	/* into another account's mailbox (shared mailboxes), without out-params */
	T_INTEQ(store_message_copy(st, inbox, &one, 1, b_inbox, false, NULL, NULL, NULL), 1);
	text = read_body(st, b_inbox, 1);
	T_STREQ(text, "first");
	mem_free(&text);
	T_INTEQ(store_message_copy(st, inbox, &one, 1, 999999, false, dst, NULL, NULL), 0);
	T_INTEQ(store_message_copy(st, 999999, &one, 1, archive, false, dst, NULL, NULL), 0);
	T_INTEQ(dst[0], 0);

	/* the body is shared: it outlives the source, and goes with the last copy */
	T_INTEQ(store_message_expunge(st, inbox, &one, 1, NULL), 1);
	text = read_body(st, archive, 1);
	T_STREQ(text, "first");
	mem_free(&text);
	T_INTEQ(store_message_expunge(st, archive, &one, 1, NULL), 1);
	text = read_body(st, b_inbox, 1);
	T_STREQ(text, "first");
	mem_free(&text);
	if (dir != NULL) {
		struct store_gc_result gc;

		T_INTEQ(count_files(dir, "blobs"), 2); /* "first" and "third" */
		T_INTEQ(store_message_expunge(st, b_inbox, &one, 1, NULL), 1);
		T_INTEQ(count_files(dir, "blobs"), 1);
		T_INTEQ(store_gc(st, 0, &gc, NULL), 1);
		T_INTEQ(gc.blobs_removed, 0);
	}
}
BOTH(copy_messages)

static void
move_messages(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com");
	uint64_t inbox = mailbox_id(st, a, "INBOX"), trash = mailbox_id(st, a, "Trash");
	uint32_t uids[3] = { 1, 3, 7 }, dst[3], self[2] = { 2, 5 }, uidvalidity;
	struct store_message *msgs;
	struct store_mailbox m;
	uint64_t before;
	size_t n;
	char *text;

	for (int i = 0; i < 4; i++)
		T_INTEQ(deliver_flags(st, a, 0, "body", 0, "moved", 0), (uint32_t)i + 1);
	m = mailbox_get(st, a, "INBOX");
	before = m.highest_modseq;
	store_mailbox_deinit(&m);

	T_INTEQ(store_message_copy(st, inbox, uids, 3, trash, true, dst, &uidvalidity, NULL), 1);
	T_INTEQ(dst[0], 1);
	T_INTEQ(dst[1], 2);
	T_INTEQ(dst[2], 0);
	m = mailbox_get(st, a, "INBOX");
	T_INTEQ(m.messages, 2);
	T_INTEQ(m.highest_modseq, before + 1); /* one bump for the expunge */
	store_mailbox_deinit(&m);
	expect_vanished(st, inbox, 0, "1,3");
	expect_vanished(st, inbox, before, "1,3");
	expect_vanished(st, inbox, before + 1, "");
	if (T_INTEQ(store_message_list(st, trash, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2))
		T_STREQ(msgs[1].keywords, "moved");
	store_message_list_free(&msgs, n);
	text = read_body(st, trash, 2);
	T_STREQ(text, "body");
	mem_free(&text);

	/* within one mailbox: new UIDs, and a UID beyond uidnext is not a copy */
	self[1] = 5; /* uidnext: the first copy will take it */
	T_INTEQ(store_message_copy(st, inbox, self, 2, inbox, true, dst, NULL, NULL), 1);
	T_INTEQ(dst[0], 5);
	T_INTEQ(dst[1], 0);
	if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 4);
		T_INTEQ(msgs[1].uid, 5);
	}
	store_message_list_free(&msgs, n);
	expect_vanished(st, inbox, 0, "1,2,3");
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 4);
}
BOTH(move_messages)

static void
vanished(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), box;
	uint32_t first[3] = { 4, 2, 9 }, second = 1;
	struct store_mailbox m;
	uint64_t after_first;

	T_INTEQ(store_mailbox_create(st, a, "Box", 0, &box, NULL), 1);
	expect_vanished(st, box, 0, "");
	for (int i = 0; i < 5; i++)
		T_INTEQ(deliver_flags(st, a, box, "x", 0, NULL, 0), (uint32_t)i + 1);
	T_INTEQ(store_message_expunge(st, box, first, 3, NULL), 1);
	m = mailbox_get(st, a, "Box");
	after_first = m.highest_modseq;
	T_INTEQ(after_first, 6);
	store_mailbox_deinit(&m);
	T_INTEQ(store_message_expunge(st, box, &second, 1, NULL), 1);
	T_INTEQ(store_message_expunge(st, box, &second, 1, NULL), 1); /* nothing left: no bump */
	m = mailbox_get(st, a, "Box");
	T_INTEQ(m.highest_modseq, 7);
	store_mailbox_deinit(&m);
	expect_vanished(st, box, 0, "1,2,4");
	expect_vanished(st, box, 5, "1,2,4");
	expect_vanished(st, box, after_first, "1");
	expect_vanished(st, box, 7, "");
	expect_vanished(st, box, UINT64_MAX, "");
	expect_vanished(st, 999999, 0, "-");
	/* tombstones go with their mailbox; a new one of that name has none */
	T_INTEQ(store_mailbox_delete(st, a, "Box", NULL), 1);
	expect_vanished(st, box, 0, "-");
	T_INTEQ(store_mailbox_create(st, a, "Box", 0, &box, NULL), 1);
	expect_vanished(st, box, 0, "");
	(void)dir;
}
BOTH(vanished)

static void
unchangedsince(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), inbox = mailbox_id(st, a, "INBOX");
	struct store_flag_change seen = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 2 };
	uint32_t uids[5] = { 3, 1, 2, 3, 42 }, *modified = NULL;
	struct store_message *msgs;
	size_t n, modified_count = 0;

	for (int i = 0; i < 3; i++)
		T_INTEQ(deliver_flags(st, a, 0, "x", i == 1 ? STORE_FLAG_SEEN : 0, NULL, 0),
			(uint32_t)i + 1);
	/* modseqs 1, 2, 3: uid 3 fails, uid 2 passes but does not change */
	T_INTEQ(store_message_set_flags(st, inbox, uids, 5, &seen, &modified, &modified_count,
					NULL),
		1);
	if (T_INTEQ(modified_count, 1))
		T_INTEQ(modified[0], 3);
	mem_free(&modified);
	if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 3)) {
		T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN);
		T_INTEQ(msgs[0].modseq, 4);
		T_INTEQ(msgs[1].modseq, 2);
		T_INTEQ(msgs[2].flags, 0);
		T_INTEQ(msgs[2].modseq, 3);
	}
	store_message_list_free(&msgs, n);
	/* without out-params the call works the same */
	seen.mode = STORE_FLAGS_REPLACE;
	seen.flags = STORE_FLAG_DELETED;
	T_INTEQ(store_message_set_flags(st, inbox, uids, 3, &seen, NULL, NULL, NULL), 1);
	T_INTEQ(store_message_set_flags(st, inbox, uids, 3, &seen, &modified, &modified_count,
					NULL),
		1);
	/* the call before changed uid 2 (modseq 2) and left 1 and 3 alone */
	T_INTEQ(modified_count, 3);
	if (T_ASSERT(modified != NULL) && modified_count == 3) {
		T_INTEQ(modified[0], 1);
		T_INTEQ(modified[1], 2);
		T_INTEQ(modified[2], 3);
	}
	mem_free(&modified);
	/* no condition: everything changes, nothing is reported */
	seen.unchangedsince = 0;
	T_INTEQ(store_message_set_flags(st, inbox, uids, 3, &seen, &modified, &modified_count,
					NULL),
		1);
	T_INTEQ(modified_count, 0);
	T_ASSERT(modified == NULL);
	if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 3)) {
		for (size_t i = 0; i < n; i++)
			T_INTEQ(msgs[i].flags, STORE_FLAG_DELETED);
	}
	store_message_list_free(&msgs, n);
	T_INTEQ(store_message_set_flags(st, 999999, uids, 3, &seen, &modified, &modified_count,
					NULL),
		0);
	T_ASSERT(modified == NULL);
	(void)dir;
}
BOTH(unchangedsince)

static void
arrival_keywords(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), inbox = mailbox_id(st, a, "INBOX");
	struct store_delivery_target bad = { a, 0, 0, 0, "ok \\Seen" };
	struct store_delivery_result r;
	struct store_message *msgs;
	struct store_mailbox m;
	size_t n;

	T_INTEQ(deliver_flags(st, a, 0, "x", 0, "$Junk work $junk  ", 0), 1);
	T_INTEQ(deliver_flags(st, a, 0, "y", 0, "", 0), 2);
	T_INTEQ(deliver_text(st, "z", &bad, 1, &r, NULL), -1);
	if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_STREQ(msgs[0].keywords, "$Junk work");
		T_ASSERT(msgs[1].keywords == NULL);
	}
	store_message_list_free(&msgs, n);
	m = mailbox_get(st, a, "INBOX");
	T_INTEQ(m.uidnext, 3);
	store_mailbox_deinit(&m);
	(void)dir;
}
BOTH(arrival_keywords)

static void
uids_only(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), inbox = mailbox_id(st, a, "INBOX");
	struct store_message_query q = { 2, 0, 0, true };
	struct store_message *msgs;
	size_t n;

	T_INTEQ(deliver_flags(st, a, 0, "one", STORE_FLAG_SEEN, "k1", 5), 1);
	T_INTEQ(deliver_flags(st, a, 0, "two", STORE_FLAG_DRAFT, "k2", 5), 2);
	T_INTEQ(deliver_flags(st, a, 0, "three", 0, NULL, 5), 3);
	if (T_INTEQ(store_message_list(st, inbox, &q, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 2);
		T_INTEQ(msgs[0].flags, STORE_FLAG_DRAFT);
		T_INTEQ(msgs[0].modseq, 2);
		T_ASSERT(msgs[0].keywords == NULL);
		T_STREQ(msgs[0].blob_id, "");
		T_INTEQ(msgs[0].size, 0);
		T_INTEQ(msgs[0].internaldate, 0);
		T_INTEQ(msgs[1].uid, 3);
		T_INTEQ(msgs[1].modseq, 3);
	}
	store_message_list_free(&msgs, n);
	q.uid_first = 0;
	q.changed_since = 2;
	if (T_INTEQ(store_message_list(st, inbox, &q, &msgs, &n, NULL), 1) && T_INTEQ(n, 1))
		T_INTEQ(msgs[0].uid, 3);
	store_message_list_free(&msgs, n);
	(void)dir;
}
BOTH(uids_only)

static void
quota(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "Quota@example.com"), b = add_account(st, "b@example.com");
	uint64_t archive = mailbox_id(st, a, "Archive"), bytes = 99, messages = 99;
	uint32_t uids[2] = { 1, 2 };
	struct store_account acc;

	T_INTEQ(store_account_usage(st, a, &bytes, &messages, NULL), 1);
	T_INTEQ(bytes, 0);
	T_INTEQ(messages, 0);
	T_INTEQ(deliver_flags(st, a, 0, "12345", 0, NULL, 0), 1);
	T_INTEQ(deliver_flags(st, a, 0, "1234567890", 0, NULL, 0), 2);
	T_INTEQ(deliver_flags(st, b, 0, "not a's", 0, NULL, 0), 1);
	T_INTEQ(store_message_copy(st, mailbox_id(st, a, "INBOX"), uids, 2, archive, false, NULL,
				   NULL, NULL),
		1);
	T_INTEQ(store_account_usage(st, a, &bytes, &messages, NULL), 1);
	T_INTEQ(bytes, 30);
	T_INTEQ(messages, 4);
	T_INTEQ(store_message_expunge(st, archive, uids, 1, NULL), 1);
	T_INTEQ(store_account_usage(st, a, &bytes, &messages, NULL), 1);
	T_INTEQ(bytes, 25);
	T_INTEQ(messages, 3);
	T_INTEQ(store_account_usage(st, 999999, &bytes, &messages, NULL), 0);
	T_INTEQ(bytes, 0);
	T_INTEQ(messages, 0);

	T_INTEQ(store_account_set_quota(st, "quota@EXAMPLE.com", 1000000, 500, NULL), 1);
	if (T_INTEQ(store_account_lookup(st, "Quota@example.com", &acc, NULL), 1)) {
		T_INTEQ(acc.quota_bytes, 1000000);
		T_INTEQ(acc.quota_messages, 500);
	}
	store_account_deinit(&acc);
	T_INTEQ(store_account_set_quota(st, "quota@example.com", 0, 0, NULL), 1);
	if (T_INTEQ(store_account_lookup(st, "Quota@example.com", &acc, NULL), 1)) {
		T_INTEQ(acc.quota_bytes, 0);
		T_INTEQ(acc.quota_messages, 0);
	}
	store_account_deinit(&acc);
	T_INTEQ(store_account_set_quota(st, "nobody@example.com", 1, 1, NULL), 0);
	T_INTEQ(store_account_set_quota(st, "not an address", 1, 1, NULL), 0);
	T_INTEQ(store_account_set_quota(st, "quota@example.com", UINT64_MAX, 1, NULL), -1);

	/* usage and limits together, and the check the SMTP and IMAP layers use */
	struct store_quota q;

	T_INTEQ(store_account_set_quota(st, "quota@example.com", 30, 4, NULL), 1);
	T_INTEQ(store_account_quota(st, a, &q, NULL), 1);
	T_INTEQ(q.bytes, 25);
	T_INTEQ(q.messages, 3);
	T_INTEQ(q.limit_bytes, 30);
	T_INTEQ(q.limit_messages, 4);
	T_INTEQ(store_quota_check(&q, 5, 1), 0);
	T_INTEQ(store_quota_check(&q, 6, 1), -1);  /* 31 > 30 octets */
	T_INTEQ(store_quota_check(&q, 1, 2), -1);  /* 5 > 4 messages */
	T_INTEQ(store_account_quota(st, 999999, &q, NULL), 0);
	T_INTEQ(q.limit_bytes, 0);
	T_INTEQ(store_quota_check(&q, UINT64_MAX / 2, 1000), 0); /* no limits */
	T_INTEQ(store_account_over_quota(st, a, 5, 1, NULL), 0);
	T_INTEQ(store_account_over_quota(st, a, 6, 1, NULL), 1);
	T_INTEQ(store_account_over_quota(st, a, 1, 2, NULL), 1);
	T_INTEQ(store_account_over_quota(st, 999999, UINT64_MAX / 2, 1000, NULL), 0);
	(void)dir;
}
BOTH(quota)

static void
rename_inbox(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "a@example.com"), inbox = mailbox_id(st, a, "INBOX"), child;
	struct store_mailbox before, after, old;
	struct store_message *msgs;
	uint32_t first = 1;
	const char *error = NULL;
	size_t n;
	char *text;

	T_INTEQ(store_mailbox_create(st, a, "INBOX/Child", 0, &child, NULL), 1);
	T_INTEQ(deliver_flags(st, a, 0, "one", 0, NULL, 0), 1);
	T_INTEQ(deliver_flags(st, a, 0, "two", STORE_FLAG_ANSWERED, "kw", 1200000000), 2);
	T_INTEQ(deliver_flags(st, a, 0, "three", 0, NULL, 0), 3);
	T_INTEQ(store_message_expunge(st, inbox, &first, 1, NULL), 1);
	T_INTEQ(deliver_flags(st, a, child, "child", 0, NULL, 0), 1);
	before = mailbox_get(st, a, "INBOX");

	T_INTEQ(store_mailbox_rename(st, a, "inbox", "Sent", &error), -1);
	T_INTEQ(store_mailbox_rename(st, a, "INBOX", "INBOX", &error), -1);
	if (!T_INTEQ(store_mailbox_rename(st, a, "INBOX", "Old Mail", &error), 1))
		fprintf(stderr, "  rename: %s\n", error);
	after = mailbox_get(st, a, "INBOX");
	old = mailbox_get(st, a, "Old Mail");
	T_INTEQ(after.id, before.id);
	T_INTEQ(after.uidvalidity, before.uidvalidity);
	T_INTEQ(after.uidnext, before.uidnext);
	T_INTEQ(after.highest_modseq, before.highest_modseq + 1);
	T_INTEQ(after.messages, 0);
	T_INTEQ(after.size, 0);
	T_ASSERT(old.uidvalidity > before.uidvalidity);
	T_INTEQ(old.uidnext, 3);
	T_INTEQ(old.highest_modseq, 2);
	T_INTEQ(old.messages, 2);
	T_INTEQ(old.size, 8);
	T_ASSERT(!old.subscribed);
	T_INTEQ(old.special_use, 0);
	if (T_INTEQ(store_message_list(st, old.id, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2)) {
		T_INTEQ(msgs[0].uid, 1);
		T_INTEQ(msgs[0].flags, STORE_FLAG_ANSWERED);
		T_STREQ(msgs[0].keywords, "kw");
		T_INTEQ(msgs[0].internaldate, 1200000000);
		T_INTEQ(msgs[1].uid, 2);
	}
	store_message_list_free(&msgs, n);
	text = read_body(st, old.id, 2);
	T_STREQ(text, "three");
	mem_free(&text);
	expect_vanished(st, inbox, before.highest_modseq, "2,3");
	/* INBOX's children keep their names and messages */
	T_INTEQ(mailbox_id(st, a, "INBOX/Child"), child);
	text = read_body(st, child, 1);
	T_STREQ(text, "child");
	mem_free(&text);
	/* new mail goes to INBOX as before, with the next UID */
	T_INTEQ(deliver_flags(st, a, 0, "four", 0, NULL, 0), 4);
	/* renaming an empty INBOX makes an empty mailbox */
	T_INTEQ(store_mailbox_rename(st, a, "INBOX", "Empty", &error), 1);
	store_mailbox_deinit(&old);
	old = mailbox_get(st, a, "Empty");
	T_INTEQ(old.messages, 1);
	store_mailbox_deinit(&old);
	T_INTEQ(store_mailbox_rename(st, a, "INBOX", "Empty2", &error), 1);
	old = mailbox_get(st, a, "Empty2");
	T_INTEQ(old.messages, 0);
	T_INTEQ(old.uidnext, 1);
	store_mailbox_deinit(&old);
	T_INTEQ(store_mailbox_rename(st, 999999, "INBOX", "X", &error), 0);
	store_mailbox_deinit(&before);
	store_mailbox_deinit(&after);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 4);
}
BOTH(rename_inbox)

/*
 * SQLite schema upgrade
 */
#define BLOB_ID "'0123456789abcdef0123456789abcdef'"

/* A version 4 database gets the tombstone table on open, keeps its
 * messages, ends up with the schema of a new database, and its expunges
 * leave tombstones that go with their mailbox. */
static void
test_sqlite_migrate_v4(void)
{
	char *dir = new_data_dir(), *fresh_dir = new_data_dir(), *text = NULL;
	uint32_t uids[2] = { 3, 4 }, dst[2];
	struct store_message *msgs;
	struct store *st;
	size_t n;

	if (!T_INTEQ(mkdir(dir, 0700), 0) || !T_INTEQ(db_exec(dir, sqlite_schema_v1_sql), 0))
		goto out;
	for (int i = 0; i < 3; i++) {
		if (!T_INTEQ(db_exec(dir, sqlite_schema_migrations[i]), 0))
			goto out;
	}
	if (!T_INTEQ(db_exec(dir,
			     "INSERT INTO schema_version VALUES (4);"
			     "INSERT INTO domains (id, name) VALUES (1, 'example.com');"
			     "INSERT INTO accounts (id, domain_id, address, address_key,"
			     " password_hash, uidvalidity_last)"
			     " VALUES (7, 1, 'a@example.com', 'a@example.com', '$y$a', 5);"
			     "INSERT INTO mailboxes (id, account_id, name, uidvalidity, uidnext,"
			     " highest_modseq, subscribed)"
			     " VALUES (70, 7, 'INBOX', 5, 5, 4, 1), (71, 7, 'Trash', 6, 1, 0, 1);"
			     "INSERT INTO blobs (id, size) VALUES (" BLOB_ID ", 4);"
			     "INSERT INTO messages (mailbox_id, uid, blob_id, size, flags,"
			     " keywords, modseq, internaldate, savedate) VALUES"
			     " (70, 3, " BLOB_ID ", 4, 1, 'old', 3, 10, 10),"
			     " (70, 4, " BLOB_ID ", 4, 0, NULL, 4, 11, 11);"),
		     0))
		goto out;
	text = db_text(dir, "SELECT count(*) FROM sqlite_master WHERE name = 'expunged'");
	T_STREQ(text, "0");
	mem_free(&text);
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	text = db_text(dir, "SELECT group_concat(version) FROM schema_version");
	T_STREQ(text, "7");
	mem_free(&text);
	if (T_INTEQ(store_message_list(st, 70, NULL, &msgs, &n, NULL), 1) && T_INTEQ(n, 2))
		T_STREQ(msgs[0].keywords, "old");
	store_message_list_free(&msgs, n);
	T_INTEQ(store_message_copy(st, 70, uids, 2, 71, true, dst, NULL, NULL), 1);
	T_INTEQ(dst[0], 1);
	T_INTEQ(dst[1], 2);
	expect_vanished(st, 70, 4, "3,4");
	text = db_text(dir, "SELECT refcount FROM blobs");
	T_STREQ(text, "2");
	mem_free(&text);
	store_close(&st);

	/* reopened: the tombstones are there, and go with the mailbox */
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	expect_vanished(st, 70, 0, "3,4");
	T_INTEQ(store_mailbox_delete(st, 7, "Trash", NULL), 1);
	T_INTEQ(store_account_del(st, "a@example.com", NULL), 1);
	store_close(&st);
	text = db_text(dir, "SELECT count(*) FROM expunged");
	T_STREQ(text, "0");
	mem_free(&text);

	schema_check_as_new(dir, fresh_dir, "table expunged:", NULL);
out:
	mem_free(&text);
	mem_free(&dir);
	mem_free(&fresh_dir);
}

/*
 * Crash: a child moves messages one at a time from INBOX to Trash and
 * reports each move it was told is done; it is SIGKILLed midway. Each move
 * must be whole: every message is in exactly one of the two mailboxes,
 * every reported move is in Trash, every UID gone from INBOX has its
 * tombstone, and no body is lost or leaked.
 */
#define MOVE_MESSAGES (CRASH_LINES + 80)

static void
move_child(const char *dir, uint64_t inbox, uint64_t trash, int fd)
{
	struct store *st = open_store("sqlite", dir);
	char line[64];

	if (st == NULL)
		_exit(1);
	for (uint32_t uid = 1; uid <= MOVE_MESSAGES; uid++) {
		uint32_t new_uid = 0;

		if (store_message_copy(st, inbox, &uid, 1, trash, true, &new_uid, NULL, NULL) != 1)
			_exit(1);
		snprintf(line, sizeof(line), "%u %u\n", uid, new_uid);
		if (write(fd, line, strlen(line)) < 0)
			_exit(1);
	}
	pause();
	_exit(1);
}

/* Where each "message <i>" is after the crash, checked against the report. */
static void
move_verify(struct store *st, uint64_t account, uint64_t inbox, uint64_t trash,
	    const char *report)
{
	uint32_t where[MOVE_MESSAGES + 1][2] = { { 0 } }; /* [i] = { inbox uid, trash uid } */
	uint64_t boxes[2] = { inbox, trash };
	unsigned reported = 0, src, dst;
	char *vanished = vanished_text(st, inbox, 0), expect[2048] = "";
	size_t len = 0;

	for (int b = 0; b < 2; b++) {
		struct store_message *msgs;
		struct store_mailbox m;
		uint64_t size = 0;
		size_t n;

		if (!T_INTEQ(store_message_list(st, boxes[b], NULL, &msgs, &n, NULL), 1))
			continue;
		for (size_t k = 0; k < n; k++) {
			char *body = read_body(st, boxes[b], msgs[k].uid);
			unsigned i = 0;

			size += body != NULL ? strlen(body) : 0;
			if (T_ASSERT(body != NULL) && T_INTEQ(sscanf(body, "message %u", &i), 1) &&
			    T_ASSERT(i >= 1 && i <= MOVE_MESSAGES)) {
				T_INTEQ(where[i][b], 0); /* once */
				where[i][b] = msgs[k].uid;
			}
			mem_free(&body);
		}
		/* the counters the triggers keep agree with the rows */
		m = mailbox_get(st, account, b == 0 ? "INBOX" : "Trash");
		T_INTEQ(m.messages, n);
		T_INTEQ(m.size, size);
		store_mailbox_deinit(&m);
		store_message_list_free(&msgs, n);
	}
	for (unsigned i = 1; i <= MOVE_MESSAGES; i++) {
		T_ASSERT((where[i][0] != 0) != (where[i][1] != 0));
		if (where[i][0] != 0)
			T_INTEQ(where[i][0], i);
		else if (len < sizeof(expect) - 16)
			len += (size_t)snprintf(expect + len, sizeof(expect) - len, "%s%u",
						len > 0 ? "," : "", i);
	}
	T_STREQ(vanished, expect);
	mem_free(&vanished);
	for (const char *p = report; sscanf(p, "%u %u", &src, &dst) == 2; reported++) {
		if (T_ASSERT(src >= 1 && src <= MOVE_MESSAGES))
			T_INTEQ(where[src][1], dst);
		p = strchr(p, '\n');
		if (p == NULL)
			break;
		p++;
	}
	T_ASSERT(reported >= CRASH_LINES);
}

static void
test_sqlite_move_crash(void)
{
	char *dir = new_data_dir(), *report = NULL;
	struct store *st = open_store("sqlite", dir);
	uint64_t account, inbox, trash;
	struct store_gc_result gc;
	char body[64];
	int p[2], status;
	pid_t pid;

	if (st == NULL)
		goto out;
	account = add_account(st, "alice@example.com");
	inbox = mailbox_id(st, account, "INBOX");
	trash = mailbox_id(st, account, "Trash");
	for (int i = 1; i <= MOVE_MESSAGES; i++) {
		snprintf(body, sizeof(body), "message %d", i);
		T_INTEQ(deliver_flags(st, account, 0, body, 0, NULL, 0), (uint32_t)i);
	}
	store_close(&st);
	if (!T_INTEQ(pipe(p), 0))
		goto out;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(p[0]);
		move_child(dir, inbox, trash, p[1]);
	}
	close(p[1]);
	report = crash_collect(pid, p[0]);
	close(p[0]);
	waitpid(pid, &status, 0);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	move_verify(st, account, inbox, trash, report);
	T_INTEQ(count_files(dir, "blobs"), MOVE_MESSAGES);
	T_INTEQ(store_gc(st, 0, &gc, NULL), 1);
	T_INTEQ(gc.blobs_removed, 0);
	store_close(&st);
out:
	mem_free(&report);
	mem_free(&dir);
}

static const struct test tests[] = {
	TEST_ENTRY(copy_messages_mem),
	TEST_ENTRY(copy_messages_sqlite),
	TEST_ENTRY(move_messages_mem),
	TEST_ENTRY(move_messages_sqlite),
	TEST_ENTRY(vanished_mem),
	TEST_ENTRY(vanished_sqlite),
	TEST_ENTRY(unchangedsince_mem),
	TEST_ENTRY(unchangedsince_sqlite),
	TEST_ENTRY(arrival_keywords_mem),
	TEST_ENTRY(arrival_keywords_sqlite),
	TEST_ENTRY(uids_only_mem),
	TEST_ENTRY(uids_only_sqlite),
	TEST_ENTRY(quota_mem),
	TEST_ENTRY(quota_sqlite),
	TEST_ENTRY(rename_inbox_mem),
	TEST_ENTRY(rename_inbox_sqlite),
	TEST_ENTRY(test_sqlite_migrate_v4),
	TEST_ENTRY(test_sqlite_move_crash),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-copy", tests);
}
