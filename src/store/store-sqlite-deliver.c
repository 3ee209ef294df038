/*
 * store-sqlite-deliver.c - writing message bodies and delivering them with
 * group commit (DESIGN.md 3) in the SQLite backend: into mailboxes
 * (store_deliver) and into the outbound queue (store_queue_add), which share
 * the same path and the same batches.
 *
 * A delivery is durable when store_deliver returns 1, in this order:
 *   1. the caller's thread flushes and fdatasyncs its body file in tmp/,
 *   2. renames it to blobs/XX/<id> and fsyncs blobs/XX,
 *   3. joins the commit queue; one thread at a time (the leader) takes every
 *      waiting delivery and inserts all of them in ONE index transaction
 *      (synchronous=FULL: one WAL fsync for the batch), each inside its own
 *      savepoint so that one bad delivery (e.g. an unknown account, a queue
 *      id that exists) fails alone;
 *   4. the leader marks the batch done and wakes the waiting callers; a
 *      caller still queued becomes the next leader.
 * Steps 1-2 run in parallel in the callers' threads, where the kernel
 * coalesces concurrent fsyncs into shared journal commits; step 3 is shared
 * by the whole batch explicitly. The directory fsync is deliberately the
 * caller's, not the leader's: every fsync costs a device cache flush (about
 * 3 ms on the development VM, even for a clean directory), so a leader
 * syncing a batch's 10-16 directories one after another stalled throughput
 * at 16 threads, while parallel callers share those flushes.
 *
 * store_deliver_multi (IMAP MULTIAPPEND) does steps 1-2 for each of its
 * bodies in turn, then joins the queue as ONE delivery whose messages share
 * one savepoint: all of them are committed or none.
 *
 * Failure: a caller whose delivery failed unlinks its body file again, so
 * nothing of it stays visible. A crash after step 2 and before the commit
 * leaves an unreferenced body file that store_gc removes.
 *
 * Threads: the queue (head, leader_active, statistics, and each delivery's
 * done flag) is guarded by queue.lock. A delivery's ret, results and error
 * are written by the leader before it sets done under the lock, and read by
 * the owner after it saw done under the lock.
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Bytes collected before a write(2), so that small network reads do not
 * become small system calls. */
#define SQLITE_BLOB_BUF_SIZE (64 * 1024)

struct sqlite_blob {
	struct store_blob blob;
	int fd;
	char id[STORE_BLOB_ID_LEN + 1];
	char tmp_name[SQLITE_TMP_NAME_SIZE];
	size_t buf_len;
	uint8_t buf[SQLITE_BLOB_BUF_SIZE];
};

/*
 * Writing a body
 */
int
sqlite_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_blob *b = mem_zalloc(sizeof(*b));

	b->blob.store = store;
	if (store_blob_id_generate(b->id, error_r) < 0) {
		mem_free(&b);
		return -1;
	}
	snprintf(b->tmp_name, sizeof(b->tmp_name), "%ld.%s", (long)getpid(), b->id);
	b->fd = openat(s->tmp_fd, b->tmp_name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (b->fd < 0) {
		*error_r = store_error_printf("creating tmp/%s: %s", b->tmp_name, strerror(errno));
		mem_free(&b);
		return -1;
	}
	*blob_r = &b->blob;
	return 1;
}

static int
write_all(int fd, const uint8_t *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

static int
blob_flush(struct sqlite_blob *b)
{
	int ret = write_all(b->fd, b->buf, b->buf_len);

	b->buf_len = 0;
	return ret;
}

int
sqlite_blob_write(struct store_blob *blob, const void *data, size_t len)
{
	struct sqlite_blob *b = (struct sqlite_blob *)blob;

	if (len > sizeof(b->buf) - b->buf_len) {
		if (blob_flush(b) < 0)
			return -1;
		if (len >= sizeof(b->buf))
			return write_all(b->fd, data, len);
	}
	memcpy(b->buf + b->buf_len, data, len);
	b->buf_len += len;
	return 0;
}

void
sqlite_blob_abort(struct store_blob *blob)
{
	struct sqlite_blob *b = (struct sqlite_blob *)blob;
	struct sqlite_store *s = (struct sqlite_store *)blob->store;

	if (b->fd >= 0)
		close(b->fd);
	(void)unlinkat(s->tmp_fd, b->tmp_name, 0);
	mem_free(&b);
}

/* fsync the directory blobs/XX holding rel ("XX/<id>"). */
static int
sync_blob_dir(struct sqlite_store *s, const char *rel, const char **error_r)
{
	char sub[3] = { rel[0], rel[1], '\0' };
	int fd = openat(s->blobs_fd, sub, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0 || fsync(fd) < 0) {
		*error_r = store_error_printf("fsync blobs/%s: %s", sub, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* Never replace a body: ids are random, but a collision must fail the
 * delivery rather than overwrite another message. Falls back to link and
 * unlink where the file system lacks RENAME_NOREPLACE. */
static int
rename_noreplace(int from_dir, const char *from, int to_dir, const char *to)
{
	if (renameat2(from_dir, from, to_dir, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL || linkat(from_dir, from, to_dir, to, 0) < 0)
		return -1;
	(void)unlinkat(from_dir, from, 0);
	return 0;
}

/* Steps 1 and 2: the body durable under its final name. On -1 the body is
 * gone from blobs/ and any temporary file is left for sqlite_blob_abort. */
static int
blob_finish(struct sqlite_store *s, struct sqlite_blob *b, const char **error_r)
{
	char rel[SQLITE_BLOB_REL_SIZE];
	int flushed = blob_flush(b), fd = b->fd;

	b->fd = -1;
	if (flushed < 0 || fdatasync(fd) < 0) {
		*error_r = store_error_printf("writing tmp/%s: %s", b->tmp_name, strerror(errno));
		close(fd);
		return -1;
	}
	if (close(fd) < 0) {
		*error_r = store_error_printf("closing tmp/%s: %s", b->tmp_name, strerror(errno));
		return -1;
	}
	sqlite_blob_rel(b->id, rel);
	if (rename_noreplace(s->tmp_fd, b->tmp_name, s->blobs_fd, rel) < 0) {
		*error_r = store_error_printf("rename to blobs/%s: %s", rel, strerror(errno));
		return -1;
	}
	if (sync_blob_dir(s, rel, error_r) < 0) {
		(void)unlinkat(s->blobs_fd, rel, 0);
		return -1;
	}
	return 0;
}

/*
 * The leader's work
 */
static void
delivery_fail(struct sqlite_delivery *d, const char *error)
{
	d->ret = -1;
	snprintf(d->error, sizeof(d->error), "%s", error);
}

/* Take the next UID and modseq of a target's mailbox: 1, or -1. */
static int
target_next_uid(struct sqlite_conn *c, const struct store_delivery_target *t,
		struct store_delivery_result *r, const char **error_r)
{
	sqlite3_stmt *st;
	int ret;

	if (t->mailbox_id == 0)
		ret = sqlite_run(c, error_r, &st,
				 "UPDATE mailboxes SET uidnext = uidnext + 1,"
				 " highest_modseq = highest_modseq + 1"
				 " WHERE account_id = ?1 AND name = 'INBOX'"
				 " RETURNING id, uidnext - 1, highest_modseq",
				 "i", (int64_t)t->account_id);
	else
		ret = sqlite_run(c, error_r, &st,
				 "UPDATE mailboxes SET uidnext = uidnext + 1,"
				 " highest_modseq = highest_modseq + 1"
				 " WHERE account_id = ?1 AND id = ?2"
				 " RETURNING id, uidnext - 1, highest_modseq",
				 "ii", (int64_t)t->account_id, (int64_t)t->mailbox_id);
	if (ret <= 0) {
		if (ret == 0)
			*error_r = store_error_printf("account %llu has no mailbox %llu",
						      (unsigned long long)t->account_id,
						      (unsigned long long)t->mailbox_id);
		return -1;
	}
	r->mailbox_id = (uint64_t)sqlite3_column_int64(st, 0);
	ret = sqlite3_column_int64(st, 1) < UINT32_MAX ? 1 : -1;
	r->uid = (uint32_t)sqlite3_column_int64(st, 1);
	r->modseq = (uint64_t)sqlite3_column_int64(st, 2);
	sqlite_stmt_done(st);
	if (ret < 0)
		*error_r = "the mailbox has used up its UIDs";
	return ret;
}

/* One message of body blob_id in target t: 1 or -1. */
static int
target_insert(struct sqlite_conn *c, const char *blob_id, uint64_t size,
	      const struct store_delivery_target *t, struct store_delivery_result *r, int64_t now,
	      const char **error_r)
{
	int64_t date = t->internaldate != 0 ? t->internaldate : now;
	char *keywords = store_keywords_normalize(t->keywords);
	int ret;

	ret = target_next_uid(c, t, r, error_r);
	if (ret > 0)
		ret = sqlite_exec(c, error_r,
				  "INSERT INTO messages (mailbox_id, uid, blob_id, size,"
				  " flags, keywords, modseq, internaldate, savedate)"
				  " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
				  "iisiisiii", (int64_t)r->mailbox_id, (int64_t)r->uid, blob_id,
				  (int64_t)size, (int64_t)t->flags, keywords, (int64_t)r->modseq,
				  date, now);
	mem_free(&keywords);
	return ret < 0 ? -1 : 1;
}

static int
blob_row_insert(struct sqlite_conn *c, const char *blob_id, uint64_t size, const char **error_r)
{
	return sqlite_exec(c, error_r, "INSERT INTO blobs (id, size) VALUES (?1, ?2)", "si",
			   blob_id, (int64_t)size);
}

/* Step 3 for one delivery, inside the batch transaction: 1, 0 (a queue id
 * that exists), -1. A multi delivery is one unit: its caller's savepoint
 * rolls every message of it back when one fails. */
static int
delivery_insert(struct sqlite_conn *c, struct sqlite_delivery *d, int64_t now,
		const char **error_r)
{
	if (d->multi != NULL) {
		for (size_t i = 0; i < d->multi_count; i++) {
			const struct sqlite_delivery_body *body = &d->multi[i];

			if (blob_row_insert(c, body->blob_id, body->size, error_r) < 0 ||
			    target_insert(c, body->blob_id, body->size, &d->targets[i],
					  &d->results[i], now, error_r) < 0)
				return -1;
		}
		return 1;
	}
	if (blob_row_insert(c, d->blob_id, d->size, error_r) < 0)
		return -1;
	if (d->env != NULL)
		return sqlite_queue_insert(c, d, now, error_r);
	for (size_t i = 0; i < d->count; i++) {
		if (target_insert(c, d->blob_id, d->size, &d->targets[i], &d->results[i], now,
				  error_r) < 0)
			return -1;
	}
	return 1;
}

/* Run every delivery of the batch in its own savepoint. -1 when the
 * transaction itself is gone (SQLite rolls back on I/O errors). */
static int
batch_insert(struct sqlite_conn *c, struct sqlite_delivery *batch, const char **error_r)
{
	int64_t now = (int64_t)time(NULL);
	const char *error;

	for (struct sqlite_delivery *d = batch; d != NULL; d = d->next) {
		int ret;

		if (sqlite_exec(c, error_r, "SAVEPOINT delivery", "") < 0)
			return -1;
		if ((ret = delivery_insert(c, d, now, &error)) <= 0) {
			if (ret == 0)
				error = "a queue entry with this id exists";
			delivery_fail(d, error);
			d->ret = ret;
			if (sqlite3_get_autocommit(c->db)) {
				*error_r = d->error;
				return -1;
			}
			if (sqlite_exec(c, error_r, "ROLLBACK TO delivery", "") < 0)
				return -1;
		}
		if (sqlite_exec(c, error_r, "RELEASE delivery", "") < 0)
			return -1;
	}
	return 0;
}

static void
commit_batch(struct sqlite_store *s, struct sqlite_delivery *batch)
{
	const char *error;
	struct sqlite_conn *c = sqlite_conn_get(s, &error);
	int ret = -1;

	for (struct sqlite_delivery *d = batch; d != NULL; d = d->next)
		d->ret = 1;
	if (c != NULL) {
		if (sqlite_begin(s, c, &error) > 0) {
			ret = batch_insert(c, batch, &error);
			ret = sqlite_end(s, c, ret, &error);
		}
		sqlite_conn_put(s, c);
	}
	for (struct sqlite_delivery *d = batch; d != NULL; d = d->next) {
		if (d->ret <= 0)
			continue; /* failed alone, its error is set */
		if (ret < 0)
			delivery_fail(d, error);
	}
}

/*
 * The queue
 */
void
sqlite_commit_queue_init(struct sqlite_commit_queue *q)
{
	memset(q, 0, sizeof(*q));
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	q->tail = &q->head;
}

void
sqlite_commit_queue_deinit(struct sqlite_commit_queue *q)
{
	ASSERT(q->head == NULL && !q->leader_active);
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
}

/* Queue d and wait until a leader (perhaps this thread) has committed it. */
static void
commit_queue_run(struct sqlite_store *s, struct sqlite_delivery *d)
{
	struct sqlite_commit_queue *q = &s->queue;

	pthread_mutex_lock(&q->lock);
	d->next = NULL;
	*q->tail = d;
	q->tail = &d->next;
	while (!d->done) {
		struct sqlite_delivery *batch, *next;

		if (q->leader_active) {
			pthread_cond_wait(&q->cond, &q->lock);
			continue;
		}
		batch = q->head;
		q->head = NULL;
		q->tail = &q->head;
		q->leader_active = true;
		pthread_mutex_unlock(&q->lock);
		commit_batch(s, batch);
		pthread_mutex_lock(&q->lock);
		q->batches++;
		for (; batch != NULL; batch = next) {
			next = batch->next; /* batch may be gone once done is set */
			batch->done = true;
			q->deliveries++;
		}
		q->leader_active = false;
		pthread_cond_broadcast(&q->cond);
	}
	pthread_mutex_unlock(&q->lock);
}

/* Steps 1 to 4 for d (its blob_id and size are filled in here), consuming
 * blob. Returns d->ret; on <= 0 the body file is gone again. */
static int
commit_blob(struct sqlite_store *s, struct store_blob *blob, struct sqlite_delivery *d,
	    const char **error_r)
{
	struct sqlite_blob *b = (struct sqlite_blob *)blob;
	char rel[SQLITE_BLOB_REL_SIZE];

	if (blob_finish(s, b, error_r) < 0) {
		sqlite_blob_abort(blob);
		return -1;
	}
	d->blob_id = b->id;
	d->size = blob->size;
	commit_queue_run(s, d);
	if (d->ret <= 0) {
		sqlite_blob_rel(b->id, rel);
		(void)unlinkat(s->blobs_fd, rel, 0);
		*error_r = store_error_printf("%s", d->error);
	}
	mem_free(&b);
	return d->ret;
}

int
sqlite_deliver(struct store *store, struct store_blob *blob,
	       const struct store_delivery_target *targets, size_t count,
	       struct store_delivery_result *results_r, const char **error_r)
{
	struct sqlite_delivery d;
	int ret;

	memset(&d, 0, sizeof(d));
	d.targets = targets;
	d.count = count;
	d.results = results_r;
	ret = commit_blob((struct sqlite_store *)store, blob, &d, error_r);
	if (ret < 0)
		memset(results_r, 0, sizeof(*results_r) * count);
	return ret;
}

int
sqlite_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
		     const struct store_delivery_target *targets,
		     struct store_delivery_result *results_r, const char **error_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;
	struct sqlite_delivery_body *bodies = mem_array(n, sizeof(*bodies));
	struct sqlite_delivery d;
	char rel[SQLITE_BLOB_REL_SIZE];
	size_t finished = 0;
	int ret = -1;

	/* steps 1 and 2 for every body before the one commit; the first
	 * failure undoes the bodies already under their final names */
	for (; finished < n; finished++) {
		struct sqlite_blob *b = (struct sqlite_blob *)blobs[finished];

		if (blob_finish(s, b, error_r) < 0)
			break;
		bodies[finished].blob_id = b->id;
		bodies[finished].size = blobs[finished]->size;
	}
	if (finished == n) {
		memset(&d, 0, sizeof(d));
		d.targets = targets;
		d.count = n;
		d.results = results_r;
		d.multi = bodies;
		d.multi_count = n;
		commit_queue_run(s, &d);
		ret = d.ret;
		if (ret <= 0) {
			*error_r = store_error_printf("%s", d.error);
			ret = -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct sqlite_blob *b = (struct sqlite_blob *)blobs[i];

		blobs[i] = NULL;
		if (i >= finished) {
			/* not under its final name: drop the tmp file */
			sqlite_blob_abort(&b->blob);
			continue;
		}
		if (ret < 0) {
			sqlite_blob_rel(b->id, rel);
			(void)unlinkat(s->blobs_fd, rel, 0);
		}
		mem_free(&b);
	}
	mem_free(&bodies);
	if (ret < 0)
		memset(results_r, 0, sizeof(*results_r) * n);
	return ret;
}

int
sqlite_queue_add(struct store *store, struct store_blob *blob,
		 const struct store_queue_envelope *env, const char *queue_id,
		 const char **error_r)
{
	struct sqlite_delivery d;

	memset(&d, 0, sizeof(d));
	d.env = env;
	d.queue_id = queue_id;
	return commit_blob((struct sqlite_store *)store, blob, &d, error_r);
}

void
sqlite_commit_stats(struct store *store, uint64_t *batches_r, uint64_t *deliveries_r)
{
	struct sqlite_store *s = (struct sqlite_store *)store;

	pthread_mutex_lock(&s->queue.lock);
	*batches_r = s->queue.batches;
	*deliveries_r = s->queue.deliveries;
	pthread_mutex_unlock(&s->queue.lock);
}
