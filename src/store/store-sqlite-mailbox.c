/*
 * store-sqlite-mailbox.c - mailboxes in the SQLite backend: lookup, list,
 * create, delete, rename, subscription.
 *
 * UIDVALIDITY comes from accounts.uidvalidity_last, advanced in the same
 * transaction that inserts the mailbox, so values are unique and strictly
 * increasing per account even when a deleted name is created again
 * (RFC 9051 2.3.1.1). uidnext and highest_modseq only ever grow; message
 * count and size are kept by the messages triggers (store-sqlite.c).
 *
 * Renaming INBOX moves its messages (store-sqlite-copy.c).
 *
 * Subscriptions (store.h) live in the table subscriptions (account, name),
 * apart from the mailboxes since schema 6, so that DELETE leaves them; the
 * column mailboxes.subscribed is no longer read or written (schema 6 copied
 * it into the table; migrations never drop columns). A mailbox's
 * "subscribed" is whether its name is in the table; RENAME moves the
 * subtree's subscriptions in the rename's transaction.
 *
 * Does not: enforce that parents exist.
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <string.h>

#define MAILBOX_COLUMNS \
	"id, account_id, name, uidvalidity, uidnext, highest_modseq, special_use," \
	" EXISTS (SELECT 1 FROM subscriptions s" \
	"  WHERE s.account_id = mailboxes.account_id AND s.name = mailboxes.name)," \
	" messages, size"

static void
mailbox_from_row(sqlite3_stmt *st, struct store_mailbox *m)
{
	m->id = (uint64_t)sqlite3_column_int64(st, 0);
	m->account_id = (uint64_t)sqlite3_column_int64(st, 1);
	m->name = sqlite_column_strdup(st, 2);
	m->uidvalidity = (uint32_t)sqlite3_column_int64(st, 3);
	m->uidnext = (uint32_t)sqlite3_column_int64(st, 4);
	m->highest_modseq = (uint64_t)sqlite3_column_int64(st, 5);
	m->special_use = (unsigned)sqlite3_column_int64(st, 6);
	m->subscribed = sqlite3_column_int64(st, 7) != 0;
	m->messages = (uint32_t)sqlite3_column_int64(st, 8);
	m->size = (uint64_t)sqlite3_column_int64(st, 9);
}

int
sqlite_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
		      struct store_mailbox *mailbox_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " MAILBOX_COLUMNS " FROM mailboxes"
			 " WHERE account_id = ?1 AND name = ?2",
			 "is", (int64_t)account_id, name);
	if (ret > 0) {
		mailbox_from_row(st, mailbox_r);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
account_exists(struct sqlite_conn *c, uint64_t account_id, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM accounts WHERE id = ?1", "i",
			     (int64_t)account_id);

	if (ret > 0)
		sqlite_stmt_done(st);
	return ret;
}

int
sqlite_mailbox_list(struct store *store, uint64_t account_id,
		    struct store_mailbox **mailboxes_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_mailbox *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	if ((ret = account_exists(c, account_id, error_r)) <= 0) {
		sqlite_conn_put(s, c);
		return ret;
	}
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " MAILBOX_COLUMNS " FROM mailboxes WHERE account_id = ?1"
			 " ORDER BY name",
			 "i", (int64_t)account_id);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		mailbox_from_row(st, &list[n++]);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_mailbox_list_free(&list, n);
		return -1;
	}
	*mailboxes_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_mailbox_insert(struct sqlite_conn *c, uint64_t account_id, const char *name,
		      unsigned special_use, bool subscribed, uint64_t *id_r, const char **error_r)
{
	sqlite3_stmt *st;
	uint32_t uidvalidity;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT uidvalidity_last FROM accounts WHERE id = ?1",
			 "i", (int64_t)account_id);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = "no such account";
		return -1;
	}
	uidvalidity = store_uidvalidity_next((uint32_t)sqlite3_column_int64(st, 0));
	sqlite_stmt_done(st);
	if (uidvalidity == 0) {
		*error_r = "UIDVALIDITY values of this account are exhausted";
		return -1;
	}
	ret = sqlite_run(c, error_r, &st,
			 "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND name = ?2", "is",
			 (int64_t)account_id, name);
	if (ret != 0) {
		if (ret > 0)
			sqlite_stmt_done(st);
		return ret > 0 ? 0 : -1;
	}
	if (sqlite_exec(c, error_r, "UPDATE accounts SET uidvalidity_last = ?2 WHERE id = ?1", "ii",
			(int64_t)account_id, (int64_t)uidvalidity) < 0 ||
	    sqlite_exec(c, error_r,
			"INSERT INTO mailboxes (account_id, name, uidvalidity, special_use)"
			" VALUES (?1, ?2, ?3, ?4)",
			"isii", (int64_t)account_id, name, (int64_t)uidvalidity,
			(int64_t)special_use) < 0)
		return -1;
	if (id_r != NULL)
		*id_r = (uint64_t)sqlite3_last_insert_rowid(c->db);
	if (subscribed &&
	    sqlite_exec(c, error_r,
			"INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?1, ?2)",
			"is", (int64_t)account_id, name) < 0)
		return -1;
	return 1;
}

int
sqlite_mailbox_create(struct store *store, uint64_t account_id, const char *name,
		      unsigned special_use, uint64_t *id_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_mailbox_insert(c, account_id, name, special_use, false, id_r, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
mailbox_delete_tx(struct sqlite_conn *c, uint64_t account_id, const char *name,
		  struct sqlite_blob_ids *unref, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	ret = sqlite_run(c, error_r, &st,
			 "SELECT id FROM mailboxes WHERE account_id = ?1 AND name = ?2", "is",
			 (int64_t)account_id, name);
	if (ret <= 0)
		return ret;
	id = sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	if (sqlite_exec(c, error_r, "DELETE FROM messages WHERE mailbox_id = ?1", "i", id) < 0 ||
	    sqlite_exec(c, error_r, "DELETE FROM mailboxes WHERE id = ?1", "i", id) < 0 ||
	    sqlite_blobs_unreferenced(c, unref, error_r) < 0)
		return -1;
	return 1;
}

int
sqlite_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
		      const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct sqlite_blob_ids unref = { NULL, 0 };
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = mailbox_delete_tx(c, account_id, name, &unref, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0)
		unref.count = 0; /* rolled back: every body is still referenced */
	sqlite_blobs_unlink(s, &unref);
	return ret;
}

static int
mailbox_rename_tx(struct sqlite_conn *c, uint64_t account_id, const char *old_name,
		  const char *new_name, const char **error_r)
{
	static const char exists_sql[] =
		"SELECT 1 FROM mailboxes WHERE account_id = ?1 AND name = ?2";
	sqlite3_stmt *st;
	int ret;

	if ((ret = sqlite_run(c, error_r, &st, exists_sql, "is", (int64_t)account_id,
			      old_name)) <= 0)
		return ret;
	sqlite_stmt_done(st);
	if ((ret = sqlite_run(c, error_r, &st, exists_sql, "is", (int64_t)account_id,
			      new_name)) != 0) {
		if (ret > 0) {
			sqlite_stmt_done(st);
			*error_r = store_error_printf("mailbox %s exists", new_name);
		}
		return -1;
	}
	/* The mailbox and its children: "old" and "old/...". length() and
	 * substr() both count characters, so the prefix arithmetic agrees. */
	if (sqlite_exec(c, error_r,
			"UPDATE mailboxes SET name = ?3 || substr(name, length(?2) + 1)"
			" WHERE account_id = ?1"
			" AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')",
			"iss", (int64_t)account_id, old_name, new_name) < 0) {
		if (sqlite3_extended_errcode(c->db) == SQLITE_CONSTRAINT_UNIQUE)
			*error_r = "a mailbox below the new name already exists";
		return -1;
	}
	/* The subtree's subscriptions follow (store.h). A target name that
	 * is subscribed already keeps its row; the old one then goes. */
	if (sqlite_exec(c, error_r,
			"UPDATE OR IGNORE subscriptions"
			" SET name = ?3 || substr(name, length(?2) + 1)"
			" WHERE account_id = ?1"
			" AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')",
			"iss", (int64_t)account_id, old_name, new_name) < 0 ||
	    sqlite_exec(c, error_r,
			"DELETE FROM subscriptions WHERE account_id = ?1"
			" AND (name = ?2 OR substr(name, 1, length(?2) + 1) = ?2 || '/')",
			"is", (int64_t)account_id, old_name) < 0)
		return -1;
	return 1;
}

int
sqlite_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
		      const char *new_name, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		if (strcmp(old_name, "INBOX") == 0)
			ret = sqlite_mailbox_rename_inbox_tx(c, account_id, new_name, error_r);
		else
			ret = mailbox_rename_tx(c, account_id, old_name, new_name, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
mailbox_subscribe_tx(struct sqlite_conn *c, uint64_t account_id, const char *name,
		     bool subscribed, const char **error_r)
{
	sqlite3_stmt *st;
	int ret;

	if (!subscribed) {
		ret = sqlite_exec(c, error_r,
				  "DELETE FROM subscriptions WHERE account_id = ?1 AND name = ?2",
				  "is", (int64_t)account_id, name);
		return ret < 0 ? -1 : sqlite3_changes(c->db) > 0 ? 1 : 0;
	}
	/* RFC 9051 6.3.7: the server may refuse names that are no mailbox */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT 1 FROM mailboxes WHERE account_id = ?1 AND name = ?2", "is",
			 (int64_t)account_id, name);
	if (ret <= 0)
		return ret;
	sqlite_stmt_done(st);
	if (sqlite_exec(c, error_r,
			"INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?1, ?2)",
			"is", (int64_t)account_id, name) < 0)
		return -1;
	return 1;
}

int
sqlite_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
			      bool subscribed, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = mailbox_subscribe_tx(c, account_id, name, subscribed, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
			 size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	char **list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	if ((ret = account_exists(c, account_id, error_r)) <= 0) {
		sqlite_conn_put(s, c);
		return ret;
	}
	/* the primary key's order is the byte order of the names */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT name FROM subscriptions WHERE account_id = ?1 ORDER BY name", "i",
			 (int64_t)account_id);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		list[n++] = sqlite_column_strdup(st, 0);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_subscription_list_free(&list, n);
		return -1;
	}
	*names_r = list;
	*count_r = n;
	return 1;
}
