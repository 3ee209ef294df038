/*
 * store-sqlite-recent.c - \Recent (RFC 3501 2.3.2) in the SQLite backend:
 * mailboxes.recent_uid (schema version 6) is the first UID no session has
 * claimed. A claim reads and moves it in one write transaction, so two
 * sessions never get the same message.
 *
 * Does not: remember which session holds which messages (the session keeps
 * the range it got), or touch recent_uid anywhere else (a new mailbox starts
 * at the column's default, 1).
 *
 * Invariants: recent_uid never goes down and never passes uidnext through
 * a claim.
 */
#include "store/store-sqlite.h"

/* The mailbox's recent_uid (at least 1) and uidnext; 1 found, 0 no such
 * mailbox, -1 error. */
static int
recent_read(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t *recent_r, uint32_t *uidnext_r,
	    const char **error_r)
{
	sqlite3_stmt *st;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT recent_uid, uidnext FROM mailboxes WHERE id = ?1",
			 "i", (int64_t)mailbox_id);
	if (ret <= 0)
		return ret;
	*recent_r = (uint32_t)sqlite3_column_int64(st, 0);
	*uidnext_r = (uint32_t)sqlite3_column_int64(st, 1);
	sqlite_stmt_done(st);
	if (*recent_r < 1)
		*recent_r = 1;
	return 1;
}

static int
recent_claim_tx(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t upto_uid,
		uint32_t *first_r, uint32_t *end_r, const char **error_r)
{
	uint32_t recent, uidnext, end;
	int ret;

	ret = recent_read(c, mailbox_id, &recent, &uidnext, error_r);
	if (ret <= 0)
		return ret;
	end = upto_uid < uidnext ? upto_uid : uidnext;
	if (end < recent)
		end = recent;
	*first_r = recent;
	*end_r = end;
	if (end == recent)
		return 1;
	if (sqlite_exec(c, error_r, "UPDATE mailboxes SET recent_uid = ?1 WHERE id = ?2", "ii",
			(int64_t)end, (int64_t)mailbox_id) < 0)
		return -1;
	return 1;
}

/* Without a write transaction: is there nothing to claim? 1 nothing (the
 * empty range is set), 0 maybe something, -1 error (also no mailbox). */
static int
recent_nothing(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t upto_uid, uint32_t *first_r,
	       uint32_t *end_r, const char **error_r)
{
	uint32_t recent, uidnext;
	int ret;

	ret = recent_read(c, mailbox_id, &recent, &uidnext, error_r);
	if (ret <= 0)
		return ret < 0 ? -1 : 0;
	/* recent_uid only grows: nothing below it comes back */
	if (recent < upto_uid && recent < uidnext)
		return 0;
	*first_r = recent;
	*end_r = recent;
	return 1;
}

int
sqlite_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
			    uint32_t *first_r, uint32_t *end_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	/* most syncs find nothing new: no write transaction for those */
	if (recent_nothing(c, mailbox_id, upto_uid, first_r, end_r, error_r) == 1) {
		sqlite_conn_put(s, c);
		return 1;
	}
	/* a claim commits like any other write (synchronous = FULL): turning
	 * that down for the claim and back after it would leave a pooled
	 * connection without durability if the restoring PRAGMA failed */
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = recent_claim_tx(c, mailbox_id, upto_uid, first_r, end_r, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0) {
		*first_r = 0;
		*end_r = 0;
	}
	return ret;
}

int
sqlite_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
		      uint32_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	/* one statement: one snapshot for both numbers */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT m.recent_uid, (SELECT count(*) FROM messages"
			 " WHERE mailbox_id = m.id AND uid >= m.recent_uid)"
			 " FROM mailboxes m WHERE m.id = ?1",
			 "i", (int64_t)mailbox_id);
	if (ret > 0) {
		int64_t recent = sqlite3_column_int64(st, 0);

		*recent_uid_r = recent < 1 ? 1 : (uint32_t)recent;
		*count_r = (uint32_t)sqlite3_column_int64(st, 1);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}
