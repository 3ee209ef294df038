/*
 * store-mem-queue.c - the outbound queue of the in-memory backend (see
 * store-mem.h for locking): same semantics and orders as the SQLite backend
 * (store-sqlite-queue.c), nothing on disk.
 *
 * Each entry keeps its envelope and recipients in a struct store_queue_entry
 * that the listing calls deep-copy out, and holds one reference to a shared
 * mem_body. Every call checks before it changes anything, so a failure
 * leaves the queue as it was.
 *
 * Does not: scale (linear scans), or survive store_close.
 */
#include "store/store-mem.h"

#include "core/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static char *
strdup_null(const char *s)
{
	return s == NULL ? NULL : mem_strdup(s);
}

static struct mem_queue_entry *
entry_find(struct mem_store *s, const char *queue_id, size_t *index_r)
{
	for (size_t i = 0; i < s->queue_count; i++) {
		if (strcmp(s->queue[i]->e.queue_id, queue_id) == 0) {
			if (index_r != NULL)
				*index_r = i;
			return s->queue[i];
		}
	}
	return NULL;
}

static void
entry_free(struct mem_queue_entry *q)
{
	mem_body_unref(q->body);
	store_queue_entry_deinit(&q->e);
	mem_free(&q);
}

void
mem_queue_free(struct mem_store *s)
{
	for (size_t i = 0; i < s->queue_count; i++)
		entry_free(s->queue[i]);
	mem_free(&s->queue);
	s->queue_count = s->queue_alloc = 0;
}

static void
entry_copy(const struct store_queue_entry *in, struct store_queue_entry *out)
{
	*out = *in;
	out->sender = mem_strdup(in->sender);
	out->envid = strdup_null(in->envid);
	out->rcpts = mem_array(in->rcpt_count, sizeof(*out->rcpts));
	for (size_t i = 0; i < in->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &in->rcpts[i];
		struct store_queue_rcpt *o = &out->rcpts[i];

		*o = *r;
		o->address = mem_strdup(r->address);
		o->orcpt = strdup_null(r->orcpt);
		o->status = strdup_null(r->status);
		o->dsn = strdup_null(r->dsn);
	}
}

static int
queue_add_locked(struct mem_store *s, struct store_blob *blob,
		 const struct store_queue_envelope *env, const char *queue_id)
{
	int64_t now = (int64_t)time(NULL);
	struct mem_queue_entry *q;

	if (entry_find(s, queue_id, NULL) != NULL)
		return 0;
	q = mem_zalloc(sizeof(*q));
	q->id = ++s->last_id;
	q->body = mem_body_take(blob);
	q->body->refcount++;
	snprintf(q->e.queue_id, sizeof(q->e.queue_id), "%s", queue_id);
	q->e.size = q->body->size;
	q->e.sender = mem_strdup(env->sender);
	q->e.envid = strdup_null(env->envid);
	q->e.ret = env->ret;
	q->e.submitter = env->submitter;
	q->e.requiretls = env->requiretls;
	q->e.smtputf8 = env->smtputf8;
	q->e.arrival = now;
	q->e.rcpts = mem_array(env->rcpt_count, sizeof(*q->e.rcpts));
	q->e.rcpt_count = env->rcpt_count;
	for (size_t i = 0; i < env->rcpt_count; i++) {
		q->e.rcpts[i].address = mem_strdup(env->rcpts[i].address);
		q->e.rcpts[i].orcpt = strdup_null(env->rcpts[i].orcpt);
		q->e.rcpts[i].notify = env->rcpts[i].notify;
		q->e.rcpts[i].state = STORE_QUEUE_RCPT_QUEUED;
		q->e.rcpts[i].next_attempt = now;
	}
	s->queue = store_array_grow(s->queue, &s->queue_alloc, s->queue_count, sizeof(*s->queue));
	s->queue[s->queue_count++] = q;
	return 1;
}

int
mem_queue_add(struct store *store, struct store_blob *blob,
	      const struct store_queue_envelope *env, const char *queue_id,
	      const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = queue_add_locked(s, blob, env, queue_id);
	pthread_mutex_unlock(&s->lock);
	if (ret == 0)
		*error_r = "a queue entry with this id exists";
	mem_blob_abort(blob);
	return ret;
}

/* An entry chosen for a listing, with the key it is sorted by. */
struct queue_pick {
	const struct mem_queue_entry *q;
	int64_t key;
};

static int
pick_cmp(const void *a, const void *b)
{
	const struct queue_pick *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return x->q->id < y->q->id ? -1 : x->q->id > y->q->id;
}

/* Sort picks, then copy out the first max of them. */
static void
picks_copy(struct queue_pick *picks, size_t n, size_t max, struct store_queue_entry **entries_r,
	   size_t *count_r)
{
	qsort(picks, n, sizeof(*picks), pick_cmp);
	if (n > max)
		n = max;
	*entries_r = mem_array(n + 1, sizeof(**entries_r));
	for (size_t i = 0; i < n; i++)
		entry_copy(&picks[i].q->e, &(*entries_r)[i]);
	*count_r = n;
}

int
mem_queue_list(struct store *store, struct store_queue_entry **entries_r, size_t *count_r,
	       const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct queue_pick *picks;

	pthread_mutex_lock(&s->lock);
	picks = mem_array(s->queue_count + 1, sizeof(*picks));
	for (size_t i = 0; i < s->queue_count; i++) {
		picks[i].q = s->queue[i];
		picks[i].key = s->queue[i]->e.arrival;
	}
	picks_copy(picks, s->queue_count, s->queue_count, entries_r, count_r);
	pthread_mutex_unlock(&s->lock);
	mem_free(&picks);
	return 1;
}

/* The earliest next_attempt <= now of a recipient waiting for an attempt;
 * false when the entry is held or has none. */
static bool
entry_due(const struct store_queue_entry *e, int64_t now, int64_t *due_r)
{
	bool due = false;

	if (e->hold)
		return false;
	for (size_t i = 0; i < e->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];
		bool waiting = r->state == STORE_QUEUE_RCPT_QUEUED ||
			       r->state == STORE_QUEUE_RCPT_DEFERRED;

		if (!waiting || r->next_attempt > now)
			continue;
		if (!due || r->next_attempt < *due_r)
			*due_r = r->next_attempt;
		due = true;
	}
	return due;
}

int
mem_queue_due(struct store *store, int64_t now, size_t max, struct store_queue_entry **entries_r,
	      size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct queue_pick *picks;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	picks = mem_array(s->queue_count + 1, sizeof(*picks));
	for (size_t i = 0; i < s->queue_count; i++) {
		if (entry_due(&s->queue[i]->e, now, &picks[n].key))
			picks[n++].q = s->queue[i];
	}
	picks_copy(picks, n, max, entries_r, count_r);
	pthread_mutex_unlock(&s->lock);
	mem_free(&picks);
	return 1;
}

int
mem_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
	      const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_queue_entry *q;

	pthread_mutex_lock(&s->lock);
	q = entry_find(s, queue_id, NULL);
	if (q != NULL)
		entry_copy(&q->e, entry_r);
	pthread_mutex_unlock(&s->lock);
	return q != NULL ? 1 : 0;
}

int
mem_queue_delete(struct store *store, const char *queue_id, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_queue_entry *q;
	size_t index;

	pthread_mutex_lock(&s->lock);
	q = entry_find(s, queue_id, &index);
	if (q != NULL) {
		mem_ptr_array_remove((void **)s->queue, &s->queue_count, index);
		entry_free(q);
	}
	pthread_mutex_unlock(&s->lock);
	return q != NULL ? 1 : 0;
}

int
mem_queue_set_hold(struct store *store, const char *queue_id, bool hold, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_queue_entry *q;

	pthread_mutex_lock(&s->lock);
	q = entry_find(s, queue_id, NULL);
	if (q != NULL)
		q->e.hold = hold;
	pthread_mutex_unlock(&s->lock);
	return q != NULL ? 1 : 0;
}

int
mem_queue_flush(struct store *store, const char *queue_id, int64_t now, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret = queue_id == NULL ? 1 : 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->queue_count; i++) {
		struct store_queue_entry *e = &s->queue[i]->e;

		if (queue_id != NULL && strcmp(e->queue_id, queue_id) != 0)
			continue;
		ret = 1;
		for (size_t r = 0; r < e->rcpt_count && !e->hold; r++) {
			if ((e->rcpts[r].state == STORE_QUEUE_RCPT_QUEUED ||
			     e->rcpts[r].state == STORE_QUEUE_RCPT_DEFERRED) &&
			    e->rcpts[r].next_attempt > now)
				e->rcpts[r].next_attempt = now;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_queue_open_body(struct store *store, const char *queue_id, int *fd_r, uint64_t *size_r,
		    const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_queue_entry *q;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	q = entry_find(s, queue_id, NULL);
	if (q != NULL) {
		ret = mem_body_open(q->body, fd_r, error_r);
		*size_r = q->body->size;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
update_rcpt_locked(struct mem_store *s, const char *queue_id, size_t rcpt_index,
		   const struct store_queue_rcpt_update *u, const char **error_r)
{
	struct mem_queue_entry *q = entry_find(s, queue_id, NULL);
	struct store_queue_rcpt *r;

	if (q == NULL || rcpt_index >= q->e.rcpt_count)
		return 0;
	r = &q->e.rcpts[rcpt_index];
	if (u->flags_only) {
		r->flags = (r->flags | u->flags_set) & ~u->flags_clear;
		return 1;
	}
	if (r->state == STORE_QUEUE_RCPT_SENT || r->state == STORE_QUEUE_RCPT_BOUNCED) {
		*error_r = store_error_printf("%s: recipient %zu is final already", queue_id,
					      rcpt_index);
		return -1;
	}
	r->state = u->state;
	r->attempts++;
	r->last_attempt = u->now;
	r->next_attempt = u->next_attempt;
	mem_free(&r->status);
	mem_free(&r->dsn);
	r->status = strdup_null(u->status);
	r->dsn = strdup_null(u->dsn);
	r->flags |= u->flags_set;
	return 1;
}

int
mem_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
		      const struct store_queue_rcpt_update *u, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = update_rcpt_locked(s, queue_id, rcpt_index, u, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
