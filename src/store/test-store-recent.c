/*
 * test-store-recent.c - \Recent claims (store_mailbox_claim_recent,
 * store_mailbox_recent; RFC 3501 2.3.2) on both backends: a new mailbox
 * claims nothing, deliveries become claimable, a claim moves recent_uid so
 * that a second claim gets nothing, a claim below uidnext leaves the rest,
 * unknown mailboxes answer 0, and concurrent claimers never share a UID.
 */
#include "store/test-store-util.h"

static void
recent_basic(struct store *st, const char *dir)
{
	uint64_t acc = add_account(st, "user@example.com"), inbox, other;
	struct store_delivery_result r;
	uint32_t first = 99, end = 99, recent = 99, count = 99;

	inbox = mailbox_id(st, acc, "INBOX");
	T_INTEQ(store_mailbox_create(st, acc, "Other", 0, &other, NULL), 1);
	/* nothing yet */
	T_INTEQ(store_mailbox_recent(st, inbox, &recent, &count, NULL), 1);
	T_INTEQ(recent, 1);
	T_INTEQ(count, 0);
	T_INTEQ(store_mailbox_claim_recent(st, inbox, UINT32_MAX, &first, &end, NULL), 1);
	T_INTEQ(first, 1);
	T_INTEQ(end, 1);
	/* three deliveries: all claimable */
	for (int i = 0; i < 3; i++)
		T_INTEQ(deliver1(st, acc, "Subject: x\r\n\r\nbody\r\n", &r), 1);
	T_INTEQ(store_mailbox_recent(st, inbox, &recent, &count, NULL), 1);
	T_INTEQ(recent, 1);
	T_INTEQ(count, 3);
	/* a partial claim (a session that has seen UIDs below 3) */
	T_INTEQ(store_mailbox_claim_recent(st, inbox, 3, &first, &end, NULL), 1);
	T_INTEQ(first, 1);
	T_INTEQ(end, 3);
	T_INTEQ(store_mailbox_recent(st, inbox, &recent, &count, NULL), 1);
	T_INTEQ(recent, 3);
	T_INTEQ(count, 1);
	/* the rest, bounded by uidnext however high upto is */
	T_INTEQ(store_mailbox_claim_recent(st, inbox, UINT32_MAX, &first, &end, NULL), 1);
	T_INTEQ(first, 3);
	T_INTEQ(end, 4);
	/* claimed already: an empty range; a lower upto does not move it back */
	T_INTEQ(store_mailbox_claim_recent(st, inbox, UINT32_MAX, &first, &end, NULL), 1);
	T_INTEQ(first, 4);
	T_INTEQ(end, 4);
	T_INTEQ(store_mailbox_claim_recent(st, inbox, 2, &first, &end, NULL), 1);
	T_INTEQ(first, 4);
	T_INTEQ(end, 4);
	T_INTEQ(store_mailbox_recent(st, inbox, &recent, &count, NULL), 1);
	T_INTEQ(recent, 4);
	T_INTEQ(count, 0);
	/* another mailbox is separate */
	T_INTEQ(store_mailbox_recent(st, other, &recent, &count, NULL), 1);
	T_INTEQ(recent, 1);
	T_INTEQ(count, 0);
	/* unknown mailbox */
	T_INTEQ(store_mailbox_claim_recent(st, 999999, UINT32_MAX, &first, &end, NULL), 0);
	T_INTEQ(first, 0);
	T_INTEQ(end, 0);
	T_INTEQ(store_mailbox_recent(st, 999999, &recent, &count, NULL), 0);
	T_INTEQ(store_mailbox_recent(st, 0, &recent, &count, NULL), 0);
	/* an expunged recent message is not counted */
	T_INTEQ(deliver1(st, acc, "Subject: y\r\n\r\nbody\r\n", &r), 1);
	T_INTEQ(deliver1(st, acc, "Subject: z\r\n\r\nbody\r\n", &r), 1);
	T_INTEQ(store_message_expunge(st, inbox, &r.uid, 1, NULL), 1);
	T_INTEQ(store_mailbox_recent(st, inbox, &recent, &count, NULL), 1);
	T_INTEQ(recent, 4);
	T_INTEQ(count, 1);
	(void)dir;
}
BOTH(recent_basic)

#define CLAIM_THREADS 4
#define CLAIM_ROUNDS 50

struct claim_ctx {
	struct store *st;
	uint64_t account, mailbox;
	pthread_mutex_t lock;
	unsigned claimed[CLAIM_THREADS * CLAIM_ROUNDS + 2]; /* times each UID was claimed */
	unsigned failures;
};

static void *
claim_thread(void *arg)
{
	struct claim_ctx *c = arg;

	for (int i = 0; i < CLAIM_ROUNDS; i++) {
		struct store_delivery_result r;
		uint32_t first, end;

		if (deliver1(c->st, c->account, "Subject: t\r\n\r\nx\r\n", &r) != 1 ||
		    store_mailbox_claim_recent(c->st, c->mailbox, UINT32_MAX, &first, &end,
					       NULL) != 1) {
			pthread_mutex_lock(&c->lock);
			c->failures++;
			pthread_mutex_unlock(&c->lock);
			continue;
		}
		pthread_mutex_lock(&c->lock);
		for (uint32_t u = first; u < end && u < N_ELEMENTS(c->claimed); u++)
			c->claimed[u]++;
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

static void
recent_concurrent(struct store *st, const char *dir)
{
	struct claim_ctx c = { .st = st, .lock = PTHREAD_MUTEX_INITIALIZER };
	pthread_t threads[CLAIM_THREADS];
	uint32_t first, end;

	c.account = add_account(st, "user@example.com");
	c.mailbox = mailbox_id(st, c.account, "INBOX");
	for (int i = 0; i < CLAIM_THREADS; i++)
		T_INTEQ(pthread_create(&threads[i], NULL, claim_thread, &c), 0);
	for (int i = 0; i < CLAIM_THREADS; i++)
		pthread_join(threads[i], NULL);
	T_INTEQ(c.failures, 0);
	/* whatever the last claims left over */
	T_INTEQ(store_mailbox_claim_recent(st, c.mailbox, UINT32_MAX, &first, &end, NULL), 1);
	for (uint32_t u = first; u < end && u < N_ELEMENTS(c.claimed); u++)
		c.claimed[u]++;
	/* every UID claimed exactly once */
	for (uint32_t u = 1; u <= CLAIM_THREADS * CLAIM_ROUNDS; u++) {
		if (!T_INTEQ(c.claimed[u], 1))
			break;
	}
	pthread_mutex_destroy(&c.lock);
	(void)dir;
}
BOTH(recent_concurrent)

static const struct test tests[] = {
	TEST_ENTRY(recent_basic_mem),
	TEST_ENTRY(recent_basic_sqlite),
	TEST_ENTRY(recent_concurrent_mem),
	TEST_ENTRY(recent_concurrent_sqlite),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-recent", tests);
}
