/*
 * store-sqlite-queue.c - the outbound queue in the SQLite backend: tables
 * queue (one row per entry) and queue_rcpts (one row per recipient, idx
 * 0..n-1 in the order added), schema version 3 (store-sqlite.c); version 6
 * added queue.requiretls and queue_rcpts.flags (notice flags), version 7
 * queue.smtputf8 (the entry came with SMTPUTF8, RFC 6531 3.4).
 *
 * Adding runs in the group commit of store-sqlite-deliver.c
 * (sqlite_queue_add there, sqlite_queue_insert here inside the batch), so
 * queued and locally delivered messages share fsyncs. An entry references
 * its body blob like a message does (blobs.refcount, kept by triggers);
 * deleting the entry unlinks the body after the commit when that was the
 * last reference.
 *
 * Reading: every listing is one SELECT joining entries with their
 * recipients, so it sees one consistent snapshot (WAL) and needs no
 * transaction; rows arrive grouped by entry and are folded into entries.
 *
 * Does not: lease entries to one delivery process (the engine of a later
 * issue must claim what it works on when several nodes share a queue), or
 * compute retry times and expiry (the engine's policy).
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
sqlite_queue_insert(struct sqlite_conn *c, const struct sqlite_delivery *d, int64_t now,
		    const char **error_r)
{
	const struct store_queue_envelope *env = d->env;
	sqlite3_stmt *st;
	int64_t entry;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM queue WHERE queue_id = ?1", "s",
			 d->queue_id);
	if (ret != 0) {
		if (ret > 0)
			sqlite_stmt_done(st);
		return ret > 0 ? 0 : -1;
	}
	if (sqlite_exec(c, error_r,
			"INSERT INTO queue (queue_id, blob_id, size, sender, envid, ret,"
			" submitter, arrival, requiretls, smtputf8)"
			" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
			"ssissiiiii", d->queue_id, d->blob_id, (int64_t)d->size, env->sender,
			env->envid, (int64_t)env->ret, (int64_t)env->submitter, now,
			(int64_t)env->requiretls, (int64_t)env->smtputf8) < 0)
		return -1;
	entry = sqlite3_last_insert_rowid(c->db);
	for (size_t i = 0; i < env->rcpt_count; i++) {
		const struct store_queue_envelope_rcpt *r = &env->rcpts[i];

		if (sqlite_exec(c, error_r,
				"INSERT INTO queue_rcpts (entry_id, idx, address, orcpt, notify,"
				" next_attempt) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
				"iissii", entry, (int64_t)i, r->address, r->orcpt,
				(int64_t)r->notify, now) < 0)
			return -1;
	}
	return 1;
}

/*
 * Reading entries
 */
#define QUEUE_COLUMNS \
	"q.id, q.queue_id, q.size, q.sender, q.envid, q.ret, q.submitter, q.arrival, q.hold," \
	" r.address, r.orcpt, r.notify, r.state, r.attempts, r.last_attempt, r.next_attempt," \
	" r.status, r.dsn, q.requiretls, r.flags, q.smtputf8"

static void
entry_from_row(sqlite3_stmt *st, struct store_queue_entry *e)
{
	const char *queue_id = (const char *)sqlite3_column_text(st, 1);

	snprintf(e->queue_id, sizeof(e->queue_id), "%s", queue_id != NULL ? queue_id : "");
	e->size = (uint64_t)sqlite3_column_int64(st, 2);
	e->sender = sqlite_column_strdup(st, 3);
	if (e->sender == NULL)
		e->sender = mem_strdup("");
	e->envid = sqlite_column_strdup(st, 4);
	e->ret = (enum store_queue_ret)sqlite3_column_int(st, 5);
	e->submitter = (uint64_t)sqlite3_column_int64(st, 6);
	e->arrival = sqlite3_column_int64(st, 7);
	e->hold = sqlite3_column_int(st, 8) != 0;
	e->requiretls = sqlite3_column_int(st, 18) != 0;
	e->smtputf8 = sqlite3_column_int(st, 20) != 0;
}

static void
rcpt_from_row(sqlite3_stmt *st, struct store_queue_rcpt *r)
{
	r->address = sqlite_column_strdup(st, 9);
	if (r->address == NULL)
		r->address = mem_strdup("");
	r->orcpt = sqlite_column_strdup(st, 10);
	r->notify = (unsigned)sqlite3_column_int(st, 11);
	r->state = (enum store_queue_rcpt_state)sqlite3_column_int(st, 12);
	r->attempts = (uint32_t)sqlite3_column_int64(st, 13);
	r->last_attempt = sqlite3_column_int64(st, 14);
	r->next_attempt = sqlite3_column_int64(st, 15);
	r->status = sqlite_column_strdup(st, 16);
	r->dsn = sqlite_column_strdup(st, 17);
	r->flags = (unsigned)sqlite3_column_int64(st, 19);
}

/* Fold the rows of st (ret: the first sqlite_run/sqlite_step result), one
 * per recipient and grouped by entry, into a list of entries. */
static int
entries_read(struct sqlite_conn *c, sqlite3_stmt *st, int ret,
	     struct store_queue_entry **entries_r, size_t *count_r, const char **error_r)
{
	struct store_queue_entry *list = NULL, *e = NULL;
	size_t n = 0, alloc = 0, rcpt_alloc = 0;
	int64_t entry = 0;

	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		if (e == NULL || sqlite3_column_int64(st, 0) != entry) {
			list = store_array_grow(list, &alloc, n, sizeof(*list));
			e = &list[n++];
			memset(e, 0, sizeof(*e));
			entry_from_row(st, e);
			entry = sqlite3_column_int64(st, 0);
			rcpt_alloc = 0;
		}
		e->rcpts = store_array_grow(e->rcpts, &rcpt_alloc, e->rcpt_count,
					    sizeof(*e->rcpts));
		memset(&e->rcpts[e->rcpt_count], 0, sizeof(*e->rcpts));
		rcpt_from_row(st, &e->rcpts[e->rcpt_count++]);
	}
	if (ret < 0) {
		store_queue_list_free(&list, n);
		return -1;
	}
	*entries_r = list;
	*count_r = n;
	return 1;
}

int
sqlite_queue_list(struct store *store, struct store_queue_entry **entries_r, size_t *count_r,
		  const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " QUEUE_COLUMNS " FROM queue q"
			 " JOIN queue_rcpts r ON r.entry_id = q.id"
			 " ORDER BY q.arrival, q.id, r.idx",
			 "");
	ret = entries_read(c, st, ret, entries_r, count_r, error_r);
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_queue_due(struct store *store, int64_t now, size_t max,
		 struct store_queue_entry **entries_r, size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	/* d: the due entries with the time their first due recipient became due.
	 * INDEXED BY: without ANALYZE statistics SQLite would rather scan every
	 * recipient in primary-key order; the partial index holds only the
	 * waiting ones, so the cost follows what is due, not the queue size. */
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " QUEUE_COLUMNS " FROM"
			 " (SELECT r.entry_id AS id, min(r.next_attempt) AS due"
			 "  FROM queue_rcpts r INDEXED BY queue_rcpts_due"
			 "  JOIN queue q ON q.id = r.entry_id"
			 "  WHERE r.state IN (0, 1) AND r.next_attempt <= ?1 AND q.hold = 0"
			 "  GROUP BY r.entry_id ORDER BY due, r.entry_id LIMIT ?2) d"
			 " JOIN queue q ON q.id = d.id JOIN queue_rcpts r ON r.entry_id = q.id"
			 " ORDER BY d.due, q.id, r.idx",
			 "ii", now, (int64_t)(max < (size_t)INT32_MAX ? max : (size_t)INT32_MAX));
	ret = entries_read(c, st, ret, entries_r, count_r, error_r);
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
		 const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_queue_entry *list;
	sqlite3_stmt *st;
	size_t n;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st,
			 "SELECT " QUEUE_COLUMNS " FROM queue q"
			 " JOIN queue_rcpts r ON r.entry_id = q.id"
			 " WHERE q.queue_id = ?1 ORDER BY r.idx",
			 "s", queue_id);
	ret = entries_read(c, st, ret, &list, &n, error_r);
	sqlite_conn_put(s, c);
	if (ret < 0)
		return -1;
	if (n == 0) {
		store_queue_list_free(&list, n);
		return 0;
	}
	*entry_r = list[0];
	mem_free(&list);
	return 1;
}

/*
 * Changing entries
 */
static int
delete_tx(struct sqlite_conn *c, const char *queue_id, struct sqlite_blob_ids *unref,
	  const char **error_r)
{
	sqlite3_stmt *st;
	int64_t entry;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT id FROM queue WHERE queue_id = ?1", "s",
			 queue_id);
	if (ret <= 0)
		return ret;
	entry = sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	if (sqlite_exec(c, error_r, "DELETE FROM queue_rcpts WHERE entry_id = ?1", "i",
			entry) < 0 ||
	    sqlite_exec(c, error_r, "DELETE FROM queue WHERE id = ?1", "i", entry) < 0 ||
	    sqlite_blobs_unreferenced(c, unref, error_r) < 0)
		return -1;
	return 1;
}

int
sqlite_queue_delete(struct store *store, const char *queue_id, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct sqlite_blob_ids unref = { NULL, 0 };
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = delete_tx(c, queue_id, &unref, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0)
		unref.count = 0; /* rolled back: every body is still referenced */
	sqlite_blobs_unlink(s, &unref);
	return ret;
}

int
sqlite_queue_set_hold(struct store *store, const char *queue_id, bool hold,
		      const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = sqlite_exec(c, error_r, "UPDATE queue SET hold = ?2 WHERE queue_id = ?1",
				  "si", queue_id, (int64_t)hold);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

int
sqlite_queue_flush(struct store *store, const char *queue_id, int64_t now, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		if (queue_id != NULL) {
			sqlite3_stmt *st;

			ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM queue WHERE queue_id = ?1",
					 "s", queue_id);
			if (ret > 0)
				sqlite_stmt_done(st);
		} else {
			ret = 1;
		}
		if (ret > 0)
			ret = sqlite_exec(c, error_r,
					  "UPDATE queue_rcpts SET next_attempt = ?2"
					  " WHERE state IN (0, 1) AND next_attempt > ?2 AND entry_id IN"
					  " (SELECT id FROM queue WHERE hold = 0 AND"
					  "  (?1 IS NULL OR queue_id = ?1))",
					  "si", queue_id, (int64_t)now);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/* The body of an entry: 1 (blob id and size set), 0 no such entry, -1. */
static int
entry_blob(struct sqlite_conn *c, const char *queue_id, char id_r[STORE_BLOB_ID_LEN + 1],
	   uint64_t *size_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st, "SELECT blob_id, size FROM queue WHERE queue_id = ?1",
			     "s", queue_id);

	if (ret > 0) {
		snprintf(id_r, STORE_BLOB_ID_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		*size_r = (uint64_t)sqlite3_column_int64(st, 1);
		sqlite_stmt_done(st);
	}
	return ret;
}

int
sqlite_queue_open_body(struct store *store, const char *queue_id, int *fd_r, uint64_t *size_r,
		       const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	char id[STORE_BLOB_ID_LEN + 1], rel[SQLITE_BLOB_REL_SIZE];
	int ret;

	if (c == NULL)
		return -1;
	ret = entry_blob(c, queue_id, id, size_r, error_r);
	if (ret > 0) {
		sqlite_blob_rel(id, rel);
		*fd_r = openat(s->blobs_fd, rel, O_RDONLY | O_CLOEXEC);
		if (*fd_r < 0 && errno == ENOENT) {
			/* Deleted meanwhile (fine), or a body lost (not fine). */
			ret = entry_blob(c, queue_id, id, size_r, error_r);
			if (ret > 0)
				*error_r = store_error_printf("body file blobs/%s is missing", rel);
			ret = ret > 0 ? -1 : ret;
		} else if (*fd_r < 0) {
			*error_r = store_error_printf("open blobs/%s: %s", rel, strerror(errno));
			ret = -1;
		}
	}
	sqlite_conn_put(s, c);
	return ret;
}

static int
update_rcpt_tx(struct sqlite_conn *c, const char *queue_id, size_t rcpt_index,
	       const struct store_queue_rcpt_update *u, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t entry, state;
	int ret;

	if ((uint64_t)rcpt_index > (uint64_t)INT64_MAX)
		return 0;
	if (u->flags_only) {
		ret = sqlite_exec(c, error_r,
				  "UPDATE queue_rcpts SET flags = (flags | ?3) & ~?4"
				  " WHERE idx = ?2 AND entry_id ="
				  " (SELECT id FROM queue WHERE queue_id = ?1)",
				  "siii", queue_id, (int64_t)rcpt_index, (int64_t)u->flags_set,
				  (int64_t)u->flags_clear);
		if (ret > 0 && sqlite3_changes(c->db) == 0)
			ret = 0;
		return ret;
	}
	ret = sqlite_run(c, error_r, &st,
			 "SELECT q.id, r.state FROM queue q JOIN queue_rcpts r"
			 " ON r.entry_id = q.id AND r.idx = ?2 WHERE q.queue_id = ?1",
			 "si", queue_id, (int64_t)rcpt_index);
	if (ret <= 0)
		return ret;
	entry = sqlite3_column_int64(st, 0);
	state = sqlite3_column_int64(st, 1);
	sqlite_stmt_done(st);
	if (state == STORE_QUEUE_RCPT_SENT || state == STORE_QUEUE_RCPT_BOUNCED) {
		*error_r = store_error_printf("%s: recipient %zu is final already", queue_id,
					      rcpt_index);
		return -1;
	}
	if (sqlite_exec(c, error_r,
			"UPDATE queue_rcpts SET state = ?3, attempts = attempts + 1,"
			" last_attempt = ?4, next_attempt = ?5, status = ?6, dsn = ?7,"
			" flags = flags | ?8 WHERE entry_id = ?1 AND idx = ?2",
			"iiiiissi", entry, (int64_t)rcpt_index, (int64_t)u->state, u->now,
			u->next_attempt, u->status, u->dsn, (int64_t)u->flags_set) < 0)
		return -1;
	return 1;
}

int
sqlite_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
			 const struct store_queue_rcpt_update *u, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = update_rcpt_tx(c, queue_id, rcpt_index, u, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}
