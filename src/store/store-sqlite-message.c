/*
 * store-sqlite-message.c - reading and changing messages in the SQLite
 * backend: list, open a body, expunge, flags; blob reference bookkeeping and
 * garbage collection of body files.
 *
 * Body files and the index: a file is unlinked only after the commit that
 * removed its last reference (sqlite_blobs_unreferenced collects the ids
 * inside the transaction, sqlite_blobs_unlink acts after it). A crash in
 * between leaves a file that nothing references; sqlite_gc removes such
 * files once they are older than its grace period, which also keeps it away
 * from bodies renamed into blobs/ whose index commit is still under way.
 *
 * Expunges leave a tombstone per UID in the expunged table (schema 5) with
 * the modseq of the expunge, for QRESYNC's VANISHED (RFC 7162 3.2.5).
 *
 * Does not: prune tombstones, or check that every referenced body file
 * exists (a missing file is reported when it is opened).
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static int
mailbox_exists(struct sqlite_conn *c, uint64_t mailbox_id, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st, "SELECT 1 FROM mailboxes WHERE id = ?1", "i",
			     (int64_t)mailbox_id);

	if (ret > 0)
		sqlite_stmt_done(st);
	return ret;
}

static void
message_from_row(sqlite3_stmt *st, struct store_message *m)
{
	const char *blob_id = (const char *)sqlite3_column_text(st, 2);

	m->uid = (uint32_t)sqlite3_column_int64(st, 0);
	m->size = (uint64_t)sqlite3_column_int64(st, 1);
	snprintf(m->blob_id, sizeof(m->blob_id), "%s", blob_id != NULL ? blob_id : "");
	m->flags = (unsigned)sqlite3_column_int64(st, 3);
	m->keywords = sqlite_column_strdup(st, 4);
	m->modseq = (uint64_t)sqlite3_column_int64(st, 5);
	m->internaldate = sqlite3_column_int64(st, 6);
	m->savedate = sqlite3_column_int64(st, 7);
}

int
sqlite_message_list(struct store *store, uint64_t mailbox_id,
		    const struct store_message_query *query, struct store_message **messages_r,
		    size_t *count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct store_message *list = NULL;
	size_t n = 0, alloc = 0;
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	if ((ret = mailbox_exists(c, mailbox_id, error_r)) <= 0) {
		sqlite_conn_put(s, c);
		return ret;
	}
	if (query->uids_only)
		ret = sqlite_run(c, error_r, &st,
				 "SELECT uid, flags, modseq FROM messages WHERE mailbox_id = ?1"
				 " AND uid BETWEEN ?2 AND ?3 AND modseq > ?4 ORDER BY uid",
				 "iiii", (int64_t)mailbox_id, (int64_t)query->uid_first,
				 (int64_t)query->uid_last, (int64_t)query->changed_since);
	else
		ret = sqlite_run(c, error_r, &st,
				 "SELECT uid, size, blob_id, flags, keywords, modseq, internaldate,"
				 " savedate FROM messages WHERE mailbox_id = ?1"
				 " AND uid BETWEEN ?2 AND ?3 AND modseq > ?4 ORDER BY uid",
				 "iiii", (int64_t)mailbox_id, (int64_t)query->uid_first,
				 (int64_t)query->uid_last, (int64_t)query->changed_since);
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		list = store_array_grow(list, &alloc, n, sizeof(*list));
		if (query->uids_only) {
			memset(&list[n], 0, sizeof(list[n]));
			list[n].uid = (uint32_t)sqlite3_column_int64(st, 0);
			list[n].flags = (unsigned)sqlite3_column_int64(st, 1);
			list[n++].modseq = (uint64_t)sqlite3_column_int64(st, 2);
		} else {
			message_from_row(st, &list[n++]);
		}
	}
	sqlite_conn_put(s, c);
	if (ret < 0) {
		store_message_list_free(&list, n);
		return -1;
	}
	*messages_r = list;
	*count_r = n;
	return 1;
}

/* The blob id and size of a message: 1, 0 none, -1 error. */
static int
message_blob(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t uid,
	     char id_r[STORE_BLOB_ID_LEN + 1], uint64_t *size_r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret = sqlite_run(c, error_r, &st,
			     "SELECT blob_id, size FROM messages"
			     " WHERE mailbox_id = ?1 AND uid = ?2",
			     "ii", (int64_t)mailbox_id, (int64_t)uid);

	if (ret > 0) {
		snprintf(id_r, STORE_BLOB_ID_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
		*size_r = (uint64_t)sqlite3_column_int64(st, 1);
		sqlite_stmt_done(st);
	}
	return ret;
}

int
sqlite_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
		    uint64_t *size_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	char id[STORE_BLOB_ID_LEN + 1], rel[SQLITE_BLOB_REL_SIZE];
	int ret;

	if (c == NULL)
		return -1;
	ret = message_blob(c, mailbox_id, uid, id, size_r, error_r);
	if (ret > 0) {
		sqlite_blob_rel(id, rel);
		*fd_r = openat(s->blobs_fd, rel, O_RDONLY | O_CLOEXEC);
		if (*fd_r < 0 && errno == ENOENT) {
			/* Expunged meanwhile (fine), or a body lost (not fine). */
			ret = message_blob(c, mailbox_id, uid, id, size_r, error_r);
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

int
sqlite_blobs_unreferenced(struct sqlite_conn *c, struct sqlite_blob_ids *ids_r,
			  const char **error_r)
{
	size_t alloc = 0;
	sqlite3_stmt *st;
	int ret;

	ret = sqlite_run(c, error_r, &st, "DELETE FROM blobs WHERE refcount = 0 RETURNING id", "");
	for (; ret > 0; ret = sqlite_step(c, st, error_r)) {
		ids_r->ids = store_array_grow(ids_r->ids, &alloc, ids_r->count,
					      sizeof(*ids_r->ids));
		snprintf(ids_r->ids[ids_r->count++], STORE_BLOB_ID_LEN + 1, "%s",
			 (const char *)sqlite3_column_text(st, 0));
	}
	return ret;
}

void
sqlite_blobs_unlink(struct sqlite_store *s, struct sqlite_blob_ids *ids)
{
	char rel[SQLITE_BLOB_REL_SIZE];

	for (size_t i = 0; i < ids->count; i++) {
		sqlite_blob_rel(ids->ids[i], rel);
		(void)unlinkat(s->blobs_fd, rel, 0);
	}
	mem_free(&ids->ids);
	ids->count = 0;
}

int
sqlite_messages_remove(struct sqlite_conn *c, uint64_t mailbox_id, const uint32_t *uids,
		       size_t count, struct sqlite_blob_ids *unref, const char **error_r)
{
	sqlite3_stmt *st;
	int64_t modseq;
	int ret, removed = 0;

	ret = sqlite_run(c, error_r, &st, "SELECT highest_modseq FROM mailboxes WHERE id = ?1", "i",
			 (int64_t)mailbox_id);
	if (ret <= 0)
		return ret;
	modseq = sqlite3_column_int64(st, 0) + 1;
	sqlite_stmt_done(st);
	for (size_t i = 0; i < count; i++) {
		if (sqlite_exec(c, error_r,
				"DELETE FROM messages WHERE mailbox_id = ?1 AND uid = ?2", "ii",
				(int64_t)mailbox_id, (int64_t)uids[i]) < 0)
			return -1;
		if (sqlite3_changes(c->db) == 0)
			continue;
		removed++;
		/* RFC 7162 3.2.5: the tombstone carries the expunge's modseq. */
		if (sqlite_exec(c, error_r,
				"INSERT OR REPLACE INTO expunged (mailbox_id, uid, modseq)"
				" VALUES (?1, ?2, ?3)",
				"iii", (int64_t)mailbox_id, (int64_t)uids[i], modseq) < 0)
			return -1;
	}
	if (removed == 0)
		return 1;
	if (sqlite_exec(c, error_r, "UPDATE mailboxes SET highest_modseq = ?2 WHERE id = ?1",
			"ii", (int64_t)mailbox_id, modseq) < 0 ||
	    sqlite_blobs_unreferenced(c, unref, error_r) < 0)
		return -1;
	return 1;
}

static int
expunge_tx(struct sqlite_conn *c, uint64_t mailbox_id, const uint32_t *uids, size_t count,
	   struct sqlite_blob_ids *unref, const char **error_r)
{
	return sqlite_messages_remove(c, mailbox_id, uids, count, unref, error_r);
}

int
sqlite_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
		       size_t count, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	struct sqlite_blob_ids unref = { NULL, 0 };
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = expunge_tx(c, mailbox_id, uids, count, &unref, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	if (ret <= 0)
		unref.count = 0; /* rolled back: every body is still referenced */
	sqlite_blobs_unlink(s, &unref);
	return ret;
}

/* Apply change to one message; *modseq is the mailbox's highest modseq so
 * far and grows by one when the message changes. 2 when the message fails
 * the unchangedsince condition (RFC 7162 3.1.3) and is left alone. */
static int
flags_one(struct sqlite_conn *c, uint64_t mailbox_id, uint32_t uid,
	  const struct store_flag_change *change, uint64_t *modseq, const char **error_r)
{
	sqlite3_stmt *st;
	unsigned old_flags, new_flags;
	char *new_keywords = NULL;
	bool changed;
	int ret;

	ret = sqlite_run(c, error_r, &st,
			 "SELECT flags, keywords, modseq FROM messages"
			 " WHERE mailbox_id = ?1 AND uid = ?2",
			 "ii", (int64_t)mailbox_id, (int64_t)uid);
	if (ret <= 0)
		return ret;
	if (change->unchangedsince != 0 &&
	    (uint64_t)sqlite3_column_int64(st, 2) > change->unchangedsince) {
		sqlite_stmt_done(st);
		return 2;
	}
	old_flags = (unsigned)sqlite3_column_int64(st, 0);
	new_flags = store_flags_apply(old_flags, change);
	ret = store_keywords_apply((const char *)sqlite3_column_text(st, 1), change, &new_keywords,
				   error_r);
	changed = ret == 0 && (new_flags != old_flags ||
			       !store_str_equal(new_keywords,
						(const char *)sqlite3_column_text(st, 1)));
	sqlite_stmt_done(st);
	if (ret == 0 && changed) {
		++*modseq;
		ret = sqlite_exec(c, error_r,
				  "UPDATE messages SET flags = ?3, keywords = ?4, modseq = ?5"
				  " WHERE mailbox_id = ?1 AND uid = ?2",
				  "iiisi", (int64_t)mailbox_id, (int64_t)uid, (int64_t)new_flags,
				  new_keywords, (int64_t)*modseq);
	}
	mem_free(&new_keywords);
	return ret < 0 ? -1 : 1;
}

static int
set_flags_tx(struct sqlite_conn *c, uint64_t mailbox_id, const uint32_t *uids, size_t count,
	     const struct store_flag_change *change, uint32_t **modified_r,
	     size_t *modified_count_r, const char **error_r)
{
	uint64_t highest, modseq;
	size_t alloc = 0;
	sqlite3_stmt *st;
	int ret;

	ret = sqlite_run(c, error_r, &st, "SELECT highest_modseq FROM mailboxes WHERE id = ?1", "i",
			 (int64_t)mailbox_id);
	if (ret <= 0)
		return ret;
	highest = modseq = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite_stmt_done(st);
	for (size_t i = 0; i < count; i++) {
		ret = flags_one(c, mailbox_id, uids[i], change, &modseq, error_r);
		if (ret < 0)
			return -1;
		if (ret == 2) {
			*modified_r = store_array_grow(*modified_r, &alloc, *modified_count_r,
						       sizeof(**modified_r));
			(*modified_r)[(*modified_count_r)++] = uids[i];
		}
	}
	if (modseq != highest &&
	    sqlite_exec(c, error_r, "UPDATE mailboxes SET highest_modseq = ?2 WHERE id = ?1", "ii",
			(int64_t)mailbox_id, (int64_t)modseq) < 0)
		return -1;
	return 1;
}

int
sqlite_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			 size_t count, const struct store_flag_change *change,
			 uint32_t **modified_r, size_t *modified_count_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	int ret = -1;

	if (c == NULL)
		return -1;
	if (sqlite_begin(s, c, error_r) > 0) {
		ret = set_flags_tx(c, mailbox_id, uids, count, change, modified_r,
				   modified_count_r, error_r);
		ret = sqlite_end(s, c, ret, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}

/*
 * Garbage collection
 */
/* Remove unreferenced bodies older than grace_secs from one blobs/XX. */
static int
gc_dir(struct sqlite_store *s, struct sqlite_conn *c, const char *sub, uint32_t grace_secs,
       struct store_gc_result *result, const char **error_r)
{
	int fd = openat(s->blobs_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	time_t now = time(NULL);
	struct dirent *d;
	struct stat st;
	int ret = 1;

	if (dir == NULL) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		if (err == ENOENT)
			return 1;
		*error_r = store_error_printf("reading blobs/%s: %s", sub, strerror(err));
		return -1;
	}
	while (ret > 0 && (d = readdir(dir)) != NULL) {
		sqlite3_stmt *row;

		if (!store_blob_id_valid(d->d_name) || strncmp(d->d_name, sub, 2) != 0 ||
		    fstatat(fd, d->d_name, &st, 0) < 0 || now - st.st_mtime < (time_t)grace_secs)
			continue;
		ret = sqlite_run(c, error_r, &row, "SELECT 1 FROM blobs WHERE id = ?1", "s",
				 d->d_name);
		if (ret > 0) {
			sqlite_stmt_done(row);
		} else if (ret == 0 && unlinkat(fd, d->d_name, 0) == 0) {
			result->blobs_removed++;
			result->bytes_removed += (uint64_t)st.st_size;
			ret = 1;
		}
		ret = ret < 0 ? -1 : 1;
	}
	closedir(dir);
	return ret;
}

int
sqlite_gc(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
	  const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	char sub[3];
	int ret = 1;

	if (c == NULL)
		return -1;
	result_r->tmp_removed = sqlite_tmp_clean(s, grace_secs);
	for (unsigned i = 0; i < 256 && ret > 0; i++) {
		snprintf(sub, sizeof(sub), "%02x", i);
		ret = gc_dir(s, c, sub, grace_secs, result_r, error_r);
	}
	sqlite_conn_put(s, c);
	return ret;
}
