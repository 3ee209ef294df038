/*
 * store-sqlite-acl.c - mailbox ACLs (RFC 4314) in the SQLite backend (the
 * acl table of schema version 4), and the mailbox modseq read used by
 * change notification.
 *
 * Does not: check or canonicalise rights or identifiers (store-acl.c does),
 * or delete entries itself when a mailbox or account goes: the foreign keys
 * of the acl table cascade.
 *
 * An entry is keyed by (mailbox_id, ifnull(account_id, 0), special); setting
 * one is a delete and an insert in one transaction.
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <string.h>

int
sqlite_mailbox_modseq(struct store *store, uint64_t mailbox_id, uint64_t *modseq_r,
		      const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	*modseq_r = 0;
	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st, "SELECT highest_modseq FROM mailboxes WHERE id = ?1", "i",
			 (int64_t)mailbox_id);
	if (ret > 0) {
		*modseq_r = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
row_exists(struct sqlite_conn *c, const char *sql, uint64_t id, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st, sql, "i", (int64_t)id);

	if (ret > 0)
		sqlite_stmt_done(st);
	return ret;
}

static int
acl_set_tx(struct sqlite_conn *c, uint64_t mailbox_id, const struct store_acl_key *key,
	   const char *rights, const char **error_r)
{
	int ret;

	if ((ret = row_exists(c, "SELECT 1 FROM mailboxes WHERE id = ?1", mailbox_id,
			      error_r)) <= 0)
		return ret;
	if (key->account_id != 0 &&
	    (ret = row_exists(c, "SELECT 1 FROM accounts WHERE id = ?1", key->account_id,
			      error_r)) <= 0)
		return ret;
	if (sqlite_exec(c, error_r,
			"DELETE FROM acl WHERE mailbox_id = ?1 AND ifnull(account_id, 0) = ?2"
			" AND special = ?3",
			"iii", (int64_t)mailbox_id, (int64_t)key->account_id,
			(int64_t)key->special) < 0)
		return -1;
	if (rights[0] == '\0')
		return 1;
	return sqlite_exec(c, error_r,
			   "INSERT INTO acl (mailbox_id, account_id, special, rights)"
			   " VALUES (?1, nullif(?2, 0), ?3, ?4)",
			   "iiis", (int64_t)mailbox_id, (int64_t)key->account_id,
			   (int64_t)key->special, rights);
}

int
sqlite_acl_set(struct store *store, uint64_t mailbox_id, const struct store_acl_key *key,
	       const char *rights, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = acl_set_tx(c, mailbox_id, key, rights, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/* Copy a canonical rights column (the schema's writers keep it short). */
static void
rights_from_column(sqlite3_stmt *st, int col, char *out, size_t size)
{
	const unsigned char *text = sqlite3_column_text(st, col);
	size_t len = text == NULL ? 0 : strlen((const char *)text);

	if (len >= size)
		len = size - 1;
	if (len > 0)
		memcpy(out, text, len);
	out[len] = '\0';
}

int
sqlite_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
	       size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_acl_entry *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	/* One read transaction, so that the mailbox check and the rows agree. */
	if (sqlite_exec(c, error_r, "BEGIN", "") < 0) {
		sqlite_conn_put(s, c);
		return -1;
	}
	ret = row_exists(c, "SELECT 1 FROM mailboxes WHERE id = ?1", mailbox_id, error_r);
	if (ret > 0) {
		ret = sqlite_run(c, error_r, &st,
				 "SELECT acl.account_id, acl.special, acl.rights, a.address"
				 " FROM acl LEFT JOIN accounts a ON a.id = acl.account_id"
				 " WHERE acl.mailbox_id = ?1"
				 " ORDER BY acl.account_id IS NOT NULL, acl.special, a.address_key",
				 "i", (int64_t)mailbox_id);
		for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
			struct store_acl_entry *e;
			int special = sqlite3_column_int(st, 1);

			list = store_array_grow(list, &alloc, n, sizeof(*list));
			e = &list[n++];
			e->account_id = (uint64_t)sqlite3_column_int64(st, 0);
			e->identifier = special == STORE_ACL_SPECIAL_ANYONE
						? mem_strdup(STORE_ACL_ANYONE)
					: special == STORE_ACL_SPECIAL_AUTHENTICATED
						? mem_strdup(STORE_ACL_AUTHENTICATED)
						: sqlite_column_strdup(st, 3);
			rights_from_column(st, 2, e->rights, sizeof(e->rights));
		}
		if (ret == 0)
			ret = 1;
	}
	(void)sqlite_exec(c, error_r, "COMMIT", "");
	sqlite_conn_put(s, c);
	if (ret <= 0) {
		store_acl_list_free(&list, n);
		return ret;
	}
	*entries_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_acl_lookup(struct store *store, uint64_t mailbox_id, uint64_t account_id,
		  uint64_t *owner_r, char rights_r[STORE_ACL_LOOKUP_SIZE], const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	/* The owner and the union in one statement: one consistent snapshot.
	 * ?2 = 0 (no account) matches no account entry and, by the CASE, not
	 * "authenticated" either. */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT m.account_id, (SELECT group_concat(rights, '') FROM acl"
			 "  WHERE acl.mailbox_id = m.id AND (acl.special = 1"
			 "   OR (?2 != 0 AND (acl.special = 2 OR acl.account_id = ?2))))"
			 " FROM mailboxes m WHERE m.id = ?1",
			 "ii", (int64_t)mailbox_id, (int64_t)account_id);
	if (ret > 0) {
		*owner_r = (uint64_t)sqlite3_column_int64(st, 0);
		rights_from_column(st, 1, rights_r, STORE_ACL_LOOKUP_SIZE);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_acl_shared(struct store *store, uint64_t account_id, struct store_acl_shared **shared_r,
		  size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_acl_shared *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT m.id, m.account_id, a.address, m.name,"
			 "  group_concat(acl.rights, '')"
			 " FROM acl JOIN mailboxes m ON m.id = acl.mailbox_id"
			 " JOIN accounts a ON a.id = m.account_id"
			 " WHERE (acl.account_id = ?1 OR acl.special IN (1, 2))"
			 "  AND m.account_id != ?1"
			 " GROUP BY m.id ORDER BY a.address_key, m.name",
			 "i", (int64_t)account_id);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		char concat[STORE_ACL_LOOKUP_SIZE];
		struct store_acl_shared *e;

		list = store_array_grow(list, &alloc, n, sizeof(*list));
		e = &list[n++];
		e->mailbox_id = (uint64_t)sqlite3_column_int64(st, 0);
		e->owner_id = (uint64_t)sqlite3_column_int64(st, 1);
		e->owner = sqlite_column_strdup(st, 2);
		e->name = sqlite_column_strdup(st, 3);
		rights_from_column(st, 4, concat, sizeof(concat));
		if (store_acl_rights_normalize(concat, e->rights, error_r) < 0) {
			sqlite_stmt_done(st);
			ret = -1;
			break;
		}
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_acl_shared_free(&list, n);
		return -1;
	}
	*shared_r = list;
	*count_r = n;
	return 1;
}
