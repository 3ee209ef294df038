/*
 * store-sqlite-account.c - domains, accounts and aliases in the SQLite
 * backend.
 *
 * Every check that depends on existing rows (domain exists, no accounts left
 * in a domain, duplicate address) runs in the same write transaction as the
 * change it guards. Names arrive normalised from store.c: lowercase domains,
 * address keys in ASCII lowercase.
 *
 * Does not: resolve aliases recursively or apply catch-alls; that policy is
 * the delivery layer's, these are plain lookups.
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <string.h>

/*
 * Domains
 */
int
sqlite_domain_add(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r, "INSERT OR IGNORE INTO domains (name) VALUES (?1)",
				  "s", name);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/* Inside a transaction: the id of domain name; 0 when there is none. */
static int
domain_id(struct sqlite_conn *c, const char *name, int64_t *id_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st, "SELECT id FROM domains WHERE name = ?1", "s", name);

	if (ret > 0) {
		*id_r = sqlite3_column_int64(st, 0);
		sqlite_stmt_done(st);
	}
	return ret;
}

static int
domain_del_tx(struct sqlite_conn *c, const char *name, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t id, accounts;
	int ret;

	if ((ret = domain_id(c, name, &id, error_r)) <= 0)
		return ret;
	if (sqlite_run(c, error_r, &st, "SELECT count(*) FROM accounts WHERE domain_id = ?1", "i",
		       id) <= 0)
		return -1;
	accounts = sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	if (accounts > 0) {
		*error_r = store_error_printf("domain %s still has %lld account(s); delete them "
					      "first", name, (long long)accounts);
		return -1;
	}
	if (sqlite_exec(c, error_r, "DELETE FROM aliases WHERE domain_id = ?1", "i", id) < 0 ||
	    sqlite_exec(c, error_r, "DELETE FROM domains WHERE id = ?1", "i", id) < 0)
		return -1;
	return 1;
}

int
sqlite_domain_del(struct store *store, const char *name, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0)
		ret = sqlite_end(s, c, domain_del_tx(c, name, error_r), error_r);
	sqlite_conn_put(s, c);
	return ret;
}

static void
domain_from_row(sqlite3_stmt *st, struct store_domain *d)
{
	d->id = (uint64_t)sqlite3_column_int64(st, 0);
	d->name = sqlite_column_strdup(st, 1);
	d->catchall = sqlite_column_strdup(st, 2);
}

int
sqlite_domain_list(struct store *store, struct store_domain **domains_r, size_t *count_r,
		   const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_domain *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st, "SELECT id, name, catchall FROM domains ORDER BY name",
			 "");
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		domain_from_row(st, &list[n++]);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_domain_list_free(&list, n);
		return -1;
	}
	*domains_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_domain_lookup(struct store *store, const char *name, struct store_domain *domain_r,
		     const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st, "SELECT id, name, catchall FROM domains WHERE name = ?1",
			 "s", name);
	if (ret > 0) {
		domain_from_row(st, domain_r);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_domain_set_catchall(struct store *store, const char *name, const char *target,
			   const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r, "UPDATE domains SET catchall = ?2 WHERE name = ?1",
				  "ss", name, target);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/*
 * Accounts
 */
static int
account_add_tx(struct sqlite_conn *c, const struct store_address *addr,
	       const char *password_hash, const char *scram_secret, uint64_t *id_r,
	       const char **error_r)
{
	sqlite3_stmt *st;
	int64_t dom, id;
	int ret;

	if ((ret = domain_id(c, addr->domain, &dom, error_r)) <= 0) {
		if (ret == 0)
			*error_r = store_error_printf("domain %s does not exist", addr->domain);
		return -1;
	}
	ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM accounts WHERE address_key = ?1", "s",
			 addr->key);
	if (ret != 0) {
		if (ret > 0)
			sqlite_stmt_done(st);
		return ret > 0 ? 0 : -1;
	}
	if (sqlite_exec(c, error_r,
			"INSERT INTO accounts (domain_id, address, address_key, password_hash,"
			" scram_secret) VALUES (?1, ?2, ?3, ?4, ?5)",
			"issss", dom, addr->address, addr->key, password_hash, scram_secret) < 0)
		return -1;
	id = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < store_default_mailbox_count; i++) {
		const struct store_default_mailbox *m = &store_default_mailboxes[i];

		if (sqlite_mailbox_insert(c, (uint64_t)id, m->name, m->special_use, true, NULL,
					  error_r) <= 0)
			return -1;
	}
	*id_r = (uint64_t)id;
	return 1;
}

int
sqlite_account_add(struct store *store, const struct store_address *addr,
		   const char *password_hash, const char *scram_secret, uint64_t *id_r,
		   const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = account_add_tx(c, addr, password_hash, scram_secret, id_r, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
account_del_tx(struct sqlite_conn *c, const char *key, struct sqlite_blob_ids *unref,
	       const char **error_r)
{
	sqlite3_stmt *st;
	int64_t id;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT id FROM accounts WHERE address_key = ?1", "s",
			 key);
	if (ret <= 0)
		return ret;
	id = sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	/* Messages first: their delete trigger keeps the blob reference counts. */
	if (sqlite_exec(c, error_r,
			"DELETE FROM messages WHERE mailbox_id IN"
			" (SELECT id FROM mailboxes WHERE account_id = ?1)",
			"i", id) < 0 ||
	    sqlite_exec(c, error_r, "DELETE FROM mailboxes WHERE account_id = ?1", "i", id) < 0 ||
	    sqlite_exec(c, error_r, "DELETE FROM accounts WHERE id = ?1", "i", id) < 0 ||
	    sqlite_blobs_unreferenced(c, unref, error_r) < 0)
		return -1;
	return 1;
}

int
sqlite_account_del(struct store *store, const char *key, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct sqlite_blob_ids unref = { NULL, 0 };
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = account_del_tx(c, key, &unref, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0)
		unref.count = 0; /* rolled back: every body is still referenced */
	sqlite_blobs_unlink(s, &unref);
	return ret;
}

#define ACCOUNT_COLUMNS \
	"id, domain_id, address, password_hash, quota_bytes, quota_messages, scram_secret"

static void
account_from_row(sqlite3_stmt *st, struct store_account *a)
{
	a->id = (uint64_t)sqlite3_column_int64(st, 0);
	a->domain_id = (uint64_t)sqlite3_column_int64(st, 1);
	a->address = sqlite_column_strdup(st, 2);
	a->password_hash = sqlite_column_strdup(st, 3);
	a->quota_bytes = (uint64_t)sqlite3_column_int64(st, 4);
	a->quota_messages = (uint64_t)sqlite3_column_int64(st, 5);
	a->scram_secret = sqlite_column_strdup(st, 6);
}

int
sqlite_account_list(struct store *store, const char *domain, struct store_account **accounts_r,
		    size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_account *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE ?1 IS NULL"
			 " OR domain_id = (SELECT id FROM domains WHERE name = ?1)"
			 " ORDER BY address_key",
			 "s", domain);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		account_from_row(st, &list[n++]);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_account_list_free(&list, n);
		return -1;
	}
	*accounts_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_account_lookup(struct store *store, const char *key, struct store_account *account_r,
		      const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " ACCOUNT_COLUMNS " FROM accounts WHERE address_key = ?1", "s",
			 key);
	if (ret > 0) {
		account_from_row(st, account_r);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_account_set_password(struct store *store, const char *key, const char *password_hash,
			    const char *scram_secret, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r,
				  "UPDATE accounts SET password_hash = ?2, scram_secret = ?3"
				  " WHERE address_key = ?1",
				  "sss", key, password_hash, scram_secret);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/* One statement, so one consistent snapshot: a row per alias target of
 * key (or one row with a NULL target), each with the account's own key. */
int
sqlite_account_may_send_as(struct store *store, uint64_t account_id, const char *key,
			   const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret, yes = 0;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT a.address_key, al.target FROM accounts a"
			 " LEFT JOIN aliases al ON al.source_key = ?2 WHERE a.id = ?1",
			 "is", (int64_t)account_id, key);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		const char *own = (const char *)sqlite3_column_text(st, 0);
		const char *target = (const char *)sqlite3_column_text(st, 1);

		if (strcmp(own, key) == 0 ||
		    (target != NULL && store_address_has_key(target, own))) {
			yes = 1;
			sqlite_stmt_done(st);
			ret = 0;
			break;
		}
	}
	sqlite_conn_put(s, c);
	return ret < 0 ? -1 : yes;
}

/*
 * Aliases
 */
static int
alias_add_tx(struct sqlite_conn *c, const struct store_address *source, const char *target,
	     const char **error_r)
{
	int64_t dom;
	int ret;

	if ((ret = domain_id(c, source->domain, &dom, error_r)) <= 0) {
		if (ret == 0)
			*error_r = store_error_printf("domain %s does not exist", source->domain);
		return -1;
	}
	if (sqlite_exec(c, error_r,
			"INSERT OR IGNORE INTO aliases (domain_id, source, source_key, target)"
			" VALUES (?1, ?2, ?3, ?4)",
			"isss", dom, source->address, source->key, target) < 0)
		return -1;
	return sqlite3_changes(c->db) > 0 ? 1 : 0;
}

int
sqlite_alias_add(struct store *store, const struct store_address *source, const char *target,
		 const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0)
		ret = sqlite_end(s, c, alias_add_tx(c, source, target, error_r), error_r);
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_alias_del(struct store *store, const char *source_key, const char *target,
		 const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r,
				  "DELETE FROM aliases WHERE source_key = ?1"
				  " AND (?2 IS NULL OR target = ?2)",
				  "ss", source_key, target);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_alias_list(struct store *store, const char *domain, struct store_alias **aliases_r,
		  size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_alias *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT source, target FROM aliases WHERE ?1 IS NULL"
			 " OR domain_id = (SELECT id FROM domains WHERE name = ?1)"
			 " ORDER BY source_key, target",
			 "s", domain);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		list[n].source = sqlite_column_strdup(st, 0);
		list[n++].target = sqlite_column_strdup(st, 1);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_alias_list_free(&list, n);
		return -1;
	}
	*aliases_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_alias_lookup(struct store *store, const char *source_key, char ***targets_r,
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
	ret = sqlite_run(c, error_r, &st,
			 "SELECT target FROM aliases WHERE source_key = ?1 ORDER BY target", "s",
			 source_key);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		list[n++] = sqlite_column_strdup(st, 0);
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_alias_targets_free(&list, n);
		return -1;
	}
	*targets_r = list;
	*count_r = n;
	return n > 0 ? 1 : 0;
}
