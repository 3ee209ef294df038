/*
 * store-sqlite-copy.c - the SQLite backend's operations that take messages
 * from one mailbox into another (COPY, MOVE, the RENAME of INBOX), expunge
 * tombstones (VANISHED), and quota bookkeeping (limits, usage).
 *
 * A copy is a new messages row sharing the source's blob row: the
 * messages_insert trigger takes the blob's new reference and updates the
 * destination's count and size, so no body file is written and the index
 * commit (synchronous=FULL) is all the durability a copy needs. A move is a
 * copy and an expunge (sqlite_messages_remove: tombstones, one modseq bump)
 * in the same transaction, so a crash leaves either both or neither.
 *
 * Does not: check rights (the IMAP layer does, RFC 4314), or enforce quota
 * limits (they are stored and reported only).
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <time.h>

/* Copy row (src, uid) as (dst, new_uid) with modseq; savedate 0 keeps the
 * source's. Inside a transaction: 1 copied, 0 no such message, -1. */
static int
copy_row(struct sqlite_conn *c, uint64_t src, uint32_t uid, uint64_t dst, uint32_t new_uid,
	 uint64_t modseq, int64_t savedate, const char **error_r)
{
	if (sqlite_exec(c, error_r,
			"INSERT INTO messages (mailbox_id, uid, blob_id, size, flags, keywords,"
			" modseq, internaldate, savedate)"
			" SELECT ?1, ?2, blob_id, size, flags, keywords, ?3, internaldate,"
			" CASE ?4 WHEN 0 THEN savedate ELSE ?4 END"
			" FROM messages WHERE mailbox_id = ?5 AND uid = ?6",
			"iiiiii", (int64_t)dst, (int64_t)new_uid, (int64_t)modseq, savedate,
			(int64_t)src, (int64_t)uid) < 0)
		return -1;
	return sqlite3_changes(c->db) > 0 ? 1 : 0;
}

/* The UIDVALIDITY, uidnext and highest modseq of a mailbox: 1, 0, -1. */
static int
mailbox_counters(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t *uidvalidity_r,
		 uint32_t *uidnext_r, uint64_t *modseq_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st,
			     "SELECT uidvalidity, uidnext, highest_modseq FROM mailboxes"
			     " WHERE id = ?1",
			     "i", (int64_t)mailbox_id);

	if (ret > 0) {
		*uidvalidity_r = (uint32_t)sqlite3_column_int64(st, 0);
		*uidnext_r = (uint32_t)sqlite3_column_int64(st, 1);
		*modseq_r = (uint64_t)sqlite3_column_int64(st, 2);
		sqlite_stmt_done(st);
	}
	return ret;
}

static int
copy_tx(struct sqlite_conn *c, uint64_t src, const uint32_t *uids, size_t count, uint64_t dst,
	bool move, uint32_t *dst_uids_r, uint32_t *uidvalidity_r,
	struct sqlite_blob_ids *unref, const char **error_r)
{
	uint32_t uidnext, src_uidvalidity, src_uidnext, *moved;
	uint64_t modseq, src_modseq, first_modseq;
	int64_t now = (int64_t)time(NULL);
	size_t n = 0;
	int ret;

	if ((ret = mailbox_counters(c, dst, uidvalidity_r, &uidnext, &modseq, error_r)) <= 0 ||
	    (ret = mailbox_counters(c, src, &src_uidvalidity, &src_uidnext, &src_modseq,
				    error_r)) <= 0)
		return ret;
	first_modseq = modseq;
	moved = mem_array(count + 1, sizeof(*moved));
	for (size_t i = 0; i < count && ret > 0; i++) {
		/* Within one mailbox, copies of earlier UIDs must not be copied again. */
		if (uids[i] >= src_uidnext)
			break;
		if (uidnext == UINT32_MAX) {
			*error_r = "the mailbox has used up its UIDs";
			ret = -1;
			break;
		}
		ret = copy_row(c, src, uids[i], dst, uidnext, modseq + 1, now, error_r);
		if (ret == 0) {
			ret = 1;
			continue;
		}
		if (ret < 0)
			break;
		dst_uids_r[i] = uidnext++;
		modseq++;
		moved[n++] = uids[i];
	}
	if (ret > 0 && modseq != first_modseq)
		ret = sqlite_exec(c, error_r,
				  "UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?3"
				  " WHERE id = ?1",
				  "iii", (int64_t)dst, (int64_t)uidnext, (int64_t)modseq);
	if (ret > 0 && move && n > 0)
		ret = sqlite_messages_remove(c, src, moved, n, unref, error_r);
	mem_free(&moved);
	return ret < 0 ? -1 : 1;
}

int
sqlite_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
		    size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
		    uint32_t *dst_uidvalidity_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct sqlite_blob_ids unref = { NULL, 0 };
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = copy_tx(c, src_mailbox_id, uids, count, dst_mailbox_id, move, dst_uids_r,
			      dst_uidvalidity_r, &unref, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0) {
		unref.count = 0; /* rolled back: every body is still referenced */
		for (size_t i = 0; i < count; i++)
			dst_uids_r[i] = 0;
	}
	/* Normally empty: the copies keep every body referenced. */
	sqlite_blobs_unlink(s, &unref);
	return ret;
}

int
sqlite_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
			uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	size_t alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM mailboxes WHERE id = ?1", "i",
			 (int64_t)mailbox_id);
	if (ret <= 0) {
		sqlite_conn_put(s, c);
		return ret;
	}
	sqlite_stmt_done(st);
	/* The modseq index: a client resynchronising reads only the recent
	 * tombstones of a mailbox with a long history (the planner without
	 * statistics would scan them all to save the sort). */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT uid FROM expunged INDEXED BY expunged_modseq"
			 " WHERE mailbox_id = ?1 AND modseq > ?2 ORDER BY uid",
			 "ii", (int64_t)mailbox_id,
			 (int64_t)(since_modseq > INT64_MAX ? INT64_MAX : since_modseq));
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		*uids_r = store_array_grow(*uids_r, &alloc, *count_r, sizeof(**uids_r));
		(*uids_r)[(*count_r)++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	sqlite_conn_put(s, c);
	return ret < 0 ? -1 : 1;
}

int
sqlite_account_set_quota(struct store *store, const char *key, uint64_t bytes, uint64_t messages,
			 const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r,
				  "UPDATE accounts SET quota_bytes = ?2, quota_messages = ?3"
				  " WHERE address_key = ?1",
				  "sii", key, (int64_t)bytes, (int64_t)messages);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_account_usage(struct store *store, uint64_t account_id, uint64_t *limits_r,
		     uint64_t *bytes_r, uint64_t *messages_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	/* mailboxes.size and .messages are kept by the messages triggers. */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT (SELECT count(*) FROM accounts WHERE id = ?1),"
			 " ifnull(sum(size), 0), ifnull(sum(messages), 0),"
			 " (SELECT ifnull(max(quota_bytes), 0) FROM accounts WHERE id = ?1),"
			 " (SELECT ifnull(max(quota_messages), 0) FROM accounts WHERE id = ?1)"
			 " FROM mailboxes WHERE account_id = ?1",
			 "i", (int64_t)account_id);
	if (ret > 0) {
		ret = sqlite3_column_int64(st, 0) > 0 ? 1 : 0;
		*bytes_r = (uint64_t)sqlite3_column_int64(st, 1);
		*messages_r = (uint64_t)sqlite3_column_int64(st, 2);
		limits_r[0] = (uint64_t)sqlite3_column_int64(st, 3);
		limits_r[1] = (uint64_t)sqlite3_column_int64(st, 4);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/* The UIDs of a mailbox, ascending; 1 or -1. */
static int
mailbox_uids(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t **uids_r, size_t *count_r,
	     const char **error_r)
{
	size_t alloc = 0;
	sqlite3_stmt *st;
	int ret;

	ret = sqlite_run(c, error_r, &st,
			 "SELECT uid FROM messages WHERE mailbox_id = ?1 ORDER BY uid", "i",
			 (int64_t)mailbox_id);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		*uids_r = store_array_grow(*uids_r, &alloc, *count_r, sizeof(**uids_r));
		(*uids_r)[(*count_r)++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	return ret < 0 ? -1 : 1;
}

int
sqlite_mailbox_rename_inbox_tx(struct sqlite_conn *c, uint64_t account_id, const char *new_name,
			       const char **error_r)
{
	struct sqlite_blob_ids unref = { NULL, 0 };
	uint32_t *uids = NULL;
	size_t count = 0;
	uint64_t inbox, dst;
	sqlite3_stmt *st;
	int ret;

	ret = sqlite_run(c, error_r, &st,
			 "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = 'INBOX'", "i",
			 (int64_t)account_id);
	if (ret <= 0)
		return ret;
	inbox = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	ret = sqlite_mailbox_insert(c, account_id, new_name, 0, false, &dst, error_r);
	if (ret == 0)
		*error_r = store_error_printf("mailbox %s exists", new_name);
	if (ret <= 0)
		return -1;
	/* RFC 9051 6.3.6: the messages move, renumbered from 1 in UID order. */
	ret = mailbox_uids(c, inbox, &uids, &count, error_r);
	for (size_t i = 0; ret > 0 && i < count; i++) {
		if (copy_row(c, inbox, uids[i], dst, (uint32_t)(i + 1), i + 1, 0, error_r) <= 0)
			ret = -1;
	}
	if (ret > 0 && count > 0)
		ret = sqlite_exec(c, error_r,
				  "UPDATE mailboxes SET uidnext = ?2, highest_modseq = ?2 - 1"
				  " WHERE id = ?1",
				  "ii", (int64_t)dst, (int64_t)count + 1);
	if (ret > 0)
		ret = sqlite_messages_remove(c, inbox, uids, count, &unref, error_r);
	/* Every body is still referenced by its copy. */
	ASSERT(ret < 0 || unref.count == 0);
	mem_free(&unref.ids);
	mem_free(&uids);
	return ret < 0 ? -1 : 1;
}
