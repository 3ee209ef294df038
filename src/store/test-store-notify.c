/*
 * test-store-notify.c - change notification (store_notify_*) on both
 * backends: an event with the right modseq after deliver, flag changes,
 * expunge, rename and delete, copy and move, the rename of INBOX; none
 * for other mailboxes or after unsubscribe; and deliveries from several
 * threads while others subscribe and unsubscribe (run it under TSan too).
 */
#include "store/test-store-util.h"

#include <stdatomic.h>

#define EVENTS_MAX 64

struct recorder {
	pthread_mutex_t lock;
	size_t count;
	uint64_t mailbox[EVENTS_MAX], modseq[EVENTS_MAX];
};

static void
record(void *ctx, uint64_t mailbox_id, uint64_t modseq)
{
	struct recorder *r = ctx;

	pthread_mutex_lock(&r->lock);
	if (r->count < EVENTS_MAX) {
		r->mailbox[r->count] = mailbox_id;
		r->modseq[r->count] = modseq;
	}
	r->count++;
	pthread_mutex_unlock(&r->lock);
}

/* Exactly one new event since *seen, for mailbox with modseq. */
static void
expect_event(struct recorder *r, size_t *seen, uint64_t mailbox, uint64_t modseq)
{
	if (T_INTEQ(r->count, *seen + 1) && *seen < EVENTS_MAX) {
		T_INTEQ(r->mailbox[*seen], mailbox);
		T_INTEQ(r->modseq[*seen], modseq);
	}
	*seen = r->count;
}

static void
notify_changes(struct store *st, const char *dir)
{
	struct recorder rec = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { 0 } };
	struct recorder other = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { 0 } };
	struct store_flag_change seen_flag = { STORE_FLAGS_ADD, STORE_FLAG_SEEN, NULL, 0 };
	struct store_notify_sub *sub, *sub_other, *sub_child;
	struct store_delivery_result r1, r2;
	uint64_t acc = add_account(st, "user@example.com"), inbox, box, child;
	struct store_mailbox m;
	uint32_t uid;
	size_t seen = 0;

	inbox = mailbox_id(st, acc, "INBOX");
	T_INTEQ(store_mailbox_create(st, acc, "Box", 0, &box, NULL), 1);
	T_INTEQ(store_mailbox_create(st, acc, "Box/Child", 0, &child, NULL), 1);
	sub = store_notify_subscribe(st, inbox, record, &rec);
	sub_other = store_notify_subscribe(st, box, record, &other);

	T_INTEQ(deliver1(st, acc, "one", &r1), 1);
	expect_event(&rec, &seen, inbox, r1.modseq);
	T_INTEQ(deliver1(st, acc, "two", &r2), 1);
	expect_event(&rec, &seen, inbox, r2.modseq);
	T_ASSERT(r2.modseq > r1.modseq);

	uid = r1.uid;
	T_INTEQ(store_message_set_flags(st, inbox, &uid, 1, &seen_flag, NULL, NULL, NULL), 1);
	T_INTEQ(store_mailbox_lookup(st, acc, "INBOX", &m, NULL), 1);
	expect_event(&rec, &seen, inbox, m.highest_modseq);
	T_ASSERT(m.highest_modseq > r2.modseq);
	store_mailbox_deinit(&m);

	T_INTEQ(store_message_expunge(st, inbox, &uid, 1, NULL), 1);
	T_INTEQ(store_mailbox_lookup(st, acc, "INBOX", &m, NULL), 1);
	expect_event(&rec, &seen, inbox, m.highest_modseq);
	store_mailbox_deinit(&m);
	/* failures notify nobody */
	T_INTEQ(store_message_expunge(st, 999999, &uid, 1, NULL), 0);
	T_INTEQ(rec.count, seen);
	/* nothing for the other mailbox so far */
	T_INTEQ(other.count, 0);

	/* rename: the mailbox and its child, modseq unchanged */
	sub_child = store_notify_subscribe(st, child, record, &rec);
	T_INTEQ(store_mailbox_rename(st, acc, "Box", "Renamed", NULL), 1);
	T_INTEQ(other.count, 1);
	T_INTEQ(other.mailbox[0], box);
	T_INTEQ(other.modseq[0], 0);
	expect_event(&rec, &seen, child, 0);
	/* delete: modseq 0 */
	T_INTEQ(store_mailbox_delete(st, acc, "Renamed", NULL), 1);
	T_INTEQ(other.count, 2);
	T_INTEQ(other.mailbox[1], box);
	T_INTEQ(other.modseq[1], 0);
	T_INTEQ(rec.count, seen);
	store_notify_unsubscribe(&sub_child);
	store_notify_unsubscribe(&sub_other);
	T_ASSERT(sub_other == NULL);

	/* none after unsubscribe */
	store_notify_unsubscribe(&sub);
	T_ASSERT(sub == NULL);
	store_notify_unsubscribe(&sub); /* NULL: nothing */
	T_INTEQ(deliver1(st, acc, "three", &r1), 1);
	T_INTEQ(rec.count, seen);
	(void)dir;
}
BOTH(notify_changes)

/* COPY notifies the destination, MOVE the destination and the source, the
 * RENAME of INBOX notifies INBOX (its messages left) with a real modseq. */
static void
notify_copy(struct store *st, const char *dir)
{
	struct recorder src = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { 0 } };
	struct recorder dst = { PTHREAD_MUTEX_INITIALIZER, 0, { 0 }, { 0 } };
	uint64_t acc = add_account(st, "user@example.com"), inbox, trash;
	struct store_notify_sub *sub_src, *sub_dst;
	struct store_delivery_result r;
	size_t seen_src = 0, seen_dst = 0;
	struct store_mailbox m;
	uint32_t uid;

	inbox = mailbox_id(st, acc, "INBOX");
	trash = mailbox_id(st, acc, "Trash");
	T_INTEQ(deliver1(st, acc, "one", &r), 1);
	T_INTEQ(deliver1(st, acc, "two", &r), 1);
	sub_src = store_notify_subscribe(st, inbox, record, &src);
	sub_dst = store_notify_subscribe(st, trash, record, &dst);

	uid = 1;
	T_INTEQ(store_message_copy(st, inbox, &uid, 1, trash, false, NULL, NULL, NULL), 1);
	expect_event(&dst, &seen_dst, trash, 1);
	T_INTEQ(src.count, 0);
	T_INTEQ(store_message_copy(st, inbox, &uid, 1, trash, true, NULL, NULL, NULL), 1);
	expect_event(&dst, &seen_dst, trash, 2);
	T_INTEQ(store_mailbox_lookup(st, acc, "INBOX", &m, NULL), 1);
	expect_event(&src, &seen_src, inbox, m.highest_modseq);
	store_mailbox_deinit(&m);
	/* no such mailbox: nobody hears of it */
	T_INTEQ(store_message_copy(st, inbox, &uid, 1, 999999, true, NULL, NULL, NULL), 0);
	T_INTEQ(src.count, seen_src);

	T_INTEQ(store_mailbox_rename(st, acc, "INBOX", "Old", NULL), 1);
	T_INTEQ(store_mailbox_lookup(st, acc, "INBOX", &m, NULL), 1);
	T_ASSERT(m.highest_modseq > 0);
	expect_event(&src, &seen_src, inbox, m.highest_modseq);
	store_mailbox_deinit(&m);
	T_INTEQ(dst.count, seen_dst);
	store_notify_unsubscribe(&sub_src);
	store_notify_unsubscribe(&sub_dst);
	(void)dir;
}
BOTH(notify_copy)

#define DELIVER_THREADS 4
#define DELIVERIES 40
#define SUBSCRIBER_THREADS 3

struct concurrent {
	struct store *st;
	uint64_t account, inbox;
	atomic_bool stop;
	atomic_uint failures;
	struct recorder total;
};

/* A subscriber whose ctx becomes garbage after unsubscribe: any late
 * callback would be caught by the alive check (and by ASan/TSan). */
struct sub_ctx {
	atomic_bool alive;
	atomic_uint calls;
	struct concurrent *c;
};

static void
sub_callback(void *ctx, uint64_t mailbox_id, uint64_t modseq)
{
	struct sub_ctx *sc = ctx;

	if (!atomic_load(&sc->alive) || mailbox_id != sc->c->inbox || modseq == 0)
		atomic_fetch_add(&sc->c->failures, 1);
	atomic_fetch_add(&sc->calls, 1);
}

static void *
deliver_thread(void *arg)
{
	struct concurrent *c = arg;
	struct store_delivery_result r;

	for (int i = 0; i < DELIVERIES; i++) {
		if (deliver1(c->st, c->account, "concurrent", &r) != 1)
			atomic_fetch_add(&c->failures, 1);
	}
	return NULL;
}

static void *
subscriber_thread(void *arg)
{
	struct concurrent *c = arg;

	while (!atomic_load(&c->stop)) {
		struct sub_ctx *sc = mem_zalloc(sizeof(*sc));
		struct store_notify_sub *sub;

		atomic_store(&sc->alive, true);
		sc->c = c;
		sub = store_notify_subscribe(c->st, c->inbox, sub_callback, sc);
		sched_yield();
		store_notify_unsubscribe(&sub);
		atomic_store(&sc->alive, false);
		mem_free(&sc);
	}
	return NULL;
}

static void
notify_concurrent(struct store *st, const char *dir)
{
	pthread_t deliverers[DELIVER_THREADS], subscribers[SUBSCRIBER_THREADS];
	struct concurrent c = { .st = st };
	struct store_notify_sub *sub;

	pthread_mutex_init(&c.total.lock, NULL);
	c.account = add_account(st, "busy@example.com");
	c.inbox = mailbox_id(st, c.account, "INBOX");
	atomic_init(&c.stop, false);
	atomic_init(&c.failures, 0);
	sub = store_notify_subscribe(st, c.inbox, record, &c.total);
	for (int i = 0; i < SUBSCRIBER_THREADS; i++)
		T_INTEQ(pthread_create(&subscribers[i], NULL, subscriber_thread, &c), 0);
	for (int i = 0; i < DELIVER_THREADS; i++)
		T_INTEQ(pthread_create(&deliverers[i], NULL, deliver_thread, &c), 0);
	for (int i = 0; i < DELIVER_THREADS; i++)
		pthread_join(deliverers[i], NULL);
	atomic_store(&c.stop, true);
	for (int i = 0; i < SUBSCRIBER_THREADS; i++)
		pthread_join(subscribers[i], NULL);
	store_notify_unsubscribe(&sub);
	T_INTEQ(atomic_load(&c.failures), 0);
	/* the steady subscriber saw every delivery */
	T_INTEQ(c.total.count, DELIVER_THREADS * DELIVERIES);
	pthread_mutex_destroy(&c.total.lock);
	(void)dir;
}
BOTH(notify_concurrent)

static const struct test tests[] = {
	TEST_ENTRY(notify_changes_mem),
	TEST_ENTRY(notify_changes_sqlite),
	TEST_ENTRY(notify_copy_mem),
	TEST_ENTRY(notify_copy_sqlite),
	TEST_ENTRY(notify_concurrent_mem),
	TEST_ENTRY(notify_concurrent_sqlite),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-notify", tests);
}
