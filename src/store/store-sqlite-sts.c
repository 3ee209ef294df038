/*
 * store-sqlite-sts.c - the MTA-STS policy cache in SQLite: the table
 * sts_policies of schema 6 (domain PRIMARY KEY, policy_id, policy,
 * fetched, expires). Arguments are checked by store-sts.c.
 *
 * Does not: expire rows (the caller decides what an old row is worth).
 */
#include "store/store-sqlite.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"

int
sqlite_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
	       const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT policy_id, policy, fetched, expires FROM sts_policies "
			 "WHERE domain = ?1",
			 "s", domain);
	if (ret > 0) {
		const unsigned char *id = sqlite3_column_text(st, 0);

		snprintf(policy_r->domain, sizeof(policy_r->domain), "%s", domain);
		snprintf(policy_r->policy_id, sizeof(policy_r->policy_id), "%s",
			 id != NULL ? (const char *)id : "");
		policy_r->policy = sqlite_column_strdup(st, 1);
		if (policy_r->policy == NULL)
			policy_r->policy = mem_strdup("");
		policy_r->fetched = sqlite3_column_int64(st, 2);
		policy_r->expires = sqlite3_column_int64(st, 3);
		sqlite_stmt_done(st);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_sts_put(struct store *store, const struct store_sts_policy *p, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r,
				  "INSERT OR REPLACE INTO sts_policies "
				  "(domain, policy_id, policy, fetched, expires) "
				  "VALUES (?1, ?2, ?3, ?4, ?5)",
				  "sssii", p->domain, p->policy_id, p->policy, (int64_t)p->fetched,
				  (int64_t)p->expires);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_sts_delete(struct store *store, const char *domain, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r, "DELETE FROM sts_policies WHERE domain = ?1", "s",
				  domain);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}
