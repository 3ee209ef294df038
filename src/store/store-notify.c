/*
 * store-notify.c - change notification within this process
 * (store_notify_*, see store.h): a table of subscriptions keyed by mailbox
 * id, shared by every backend. The public wrappers (store-message.c) call
 * store_notify_changed after a backend has committed a change.
 *
 * Does not: cross process or node boundaries (the PostgreSQL backend will
 * feed LISTEN/NOTIFY events into store_notify_changed), queue events, or
 * coalesce them: each change is one call per subscription.
 *
 * Invariants: n->lock guards the buckets and every subscription's links
 * and busy count. A callback runs without n->lock held; while it runs its
 * subscription's busy count is above zero, and store_notify_unsubscribe
 * waits (on n->idle) until it drops to zero after unlinking, so no callback
 * runs after unsubscribe returns and the subscription is freed only then.
 */
#include "store/store-private.h"

#include "core/mem.h"

#include <pthread.h>

#define NOTIFY_BUCKETS 256u
/* Callbacks gathered on the stack per change; more take a heap array. */
#define NOTIFY_STACK_MAX 16

struct store_notify_sub {
	struct store_notify *notify;
	uint64_t mailbox_id;
	store_notify_cb *callback;
	void *ctx;
	struct store_notify_sub *prev, *next; /* in the bucket */
	unsigned busy;                        /* callbacks of it running now */
};

struct store_notify {
	pthread_mutex_t lock;
	pthread_cond_t idle; /* some subscription's busy count went to zero */
	size_t count;        /* subscriptions */
	struct store_notify_sub *buckets[NOTIFY_BUCKETS];
};

static size_t
bucket_of(uint64_t mailbox_id)
{
	return (size_t)((mailbox_id * UINT64_C(0x9e3779b97f4a7c15)) >> 56) % NOTIFY_BUCKETS;
}

struct store_notify *
store_notify_new(void)
{
	struct store_notify *n = mem_zalloc(sizeof(*n));

	pthread_mutex_init(&n->lock, NULL);
	pthread_cond_init(&n->idle, NULL);
	return n;
}

void
store_notify_free(struct store_notify **notify)
{
	struct store_notify *n = *notify;

	if (n == NULL)
		return;
	if (n->count != 0)
		PANIC("store closed with %zu change subscriptions left", n->count);
	pthread_cond_destroy(&n->idle);
	pthread_mutex_destroy(&n->lock);
	mem_free(notify);
}

bool
store_notify_active(struct store_notify *n)
{
	bool active;

	pthread_mutex_lock(&n->lock);
	active = n->count > 0;
	pthread_mutex_unlock(&n->lock);
	return active;
}

struct store_notify_sub *
store_notify_subscribe(struct store *store, uint64_t mailbox_id, store_notify_cb *callback,
		       void *ctx)
{
	struct store_notify *n = store->notify;
	struct store_notify_sub *sub = mem_zalloc(sizeof(*sub));
	size_t b = bucket_of(mailbox_id);

	sub->notify = n;
	sub->mailbox_id = mailbox_id;
	sub->callback = callback;
	sub->ctx = ctx;
	pthread_mutex_lock(&n->lock);
	sub->next = n->buckets[b];
	if (sub->next != NULL)
		sub->next->prev = sub;
	n->buckets[b] = sub;
	n->count++;
	pthread_mutex_unlock(&n->lock);
	return sub;
}

void
store_notify_unsubscribe(struct store_notify_sub **subp)
{
	struct store_notify_sub *sub = *subp;
	struct store_notify *n;

	if (sub == NULL)
		return;
	n = sub->notify;
	pthread_mutex_lock(&n->lock);
	if (sub->prev != NULL)
		sub->prev->next = sub->next;
	else
		n->buckets[bucket_of(sub->mailbox_id)] = sub->next;
	if (sub->next != NULL)
		sub->next->prev = sub->prev;
	n->count--;
	/* Unlinked: no new callback starts. Wait for those already running. */
	while (sub->busy > 0)
		pthread_cond_wait(&n->idle, &n->lock);
	pthread_mutex_unlock(&n->lock);
	mem_free(subp);
}

void
store_notify_changed(struct store_notify *n, uint64_t mailbox_id, uint64_t modseq)
{
	struct store_notify_sub *stack[NOTIFY_STACK_MAX], **subs = stack, *sub;
	size_t b = bucket_of(mailbox_id), count = 0, alloc = NOTIFY_STACK_MAX;
	bool wake = false;

	pthread_mutex_lock(&n->lock);
	for (sub = n->buckets[b]; sub != NULL; sub = sub->next) {
		if (sub->mailbox_id != mailbox_id)
			continue;
		if (count == alloc) {
			alloc = mem_size_mul(alloc, 2);
			if (subs == stack) {
				subs = mem_array(alloc, sizeof(*subs));
				for (size_t i = 0; i < count; i++)
					subs[i] = stack[i];
			} else {
				subs = mem_realloc(subs, mem_size_mul(alloc, sizeof(*subs)));
			}
		}
		sub->busy++;
		subs[count++] = sub;
	}
	pthread_mutex_unlock(&n->lock);
	if (count == 0)
		return;

	for (size_t i = 0; i < count; i++)
		subs[i]->callback(subs[i]->ctx, mailbox_id, modseq);

	pthread_mutex_lock(&n->lock);
	for (size_t i = 0; i < count; i++) {
		if (--subs[i]->busy == 0)
			wake = true;
	}
	if (wake)
		pthread_cond_broadcast(&n->idle);
	pthread_mutex_unlock(&n->lock);
	if (subs != stack)
		mem_free(&subs);
}
