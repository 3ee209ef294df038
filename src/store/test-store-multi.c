/*
 * test-store-multi.c - store_deliver_multi (IMAP MULTIAPPEND, RFC 3502):
 * all messages or none, in both backends, and after a SIGKILL in the middle
 * of many multi-deliveries (SQLite): every batch is whole or absent, every
 * batch the child was told of is there, and no body file is left that gc
 * would keep.
 */
#include "store/test-store-util.h"

#include <stdlib.h>

#define MULTI_N 3

/* n blobs holding "<prefix> <i>" (NULL on failure; then none is open). */
static bool
multi_blobs(struct store *st, const char *prefix, struct store_blob **blobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char text[128];
		int len = snprintf(text, sizeof(text), "%s %zu\r\n", prefix, i);

		if (!T_INTEQ(store_blob_begin(st, &blobs[i], NULL), 1) ||
		    !T_INTEQ(store_blob_write(blobs[i], text, (size_t)len), 0)) {
			for (size_t k = 0; k <= i; k++) {
				if (blobs[k] != NULL)
					store_blob_abort(&blobs[k]);
			}
			return false;
		}
	}
	return true;
}

static struct store_mailbox
mailbox_get(struct store *st, uint64_t account, const char *name)
{
	struct store_mailbox m;

	memset(&m, 0, sizeof(m));
	T_INTEQ(store_mailbox_lookup(st, account, name, &m, NULL), 1);
	return m;
}

static void
multi_ok(struct store *st, const char *dir)
{
	uint64_t account = add_account(st, "alice@example.com");
	uint64_t inbox = mailbox_id(st, account, "INBOX"), trash = mailbox_id(st, account, "Trash");
	struct store_delivery_target t[MULTI_N] = {
		{ account, 0, STORE_FLAG_SEEN, 1000000000, "$Junk" },
		{ account, trash, 0, 0, NULL },
		{ account, inbox, STORE_FLAG_FLAGGED, 0, NULL },
	};
	struct store_delivery_result r[MULTI_N];
	struct store_blob *blobs[MULTI_N];
	struct store_message *msgs;
	struct store_mailbox m;
	const char *error = NULL;
	size_t n;
	char *body;

	if (!multi_blobs(st, "part", blobs, MULTI_N))
		return;
	if (!T_INTEQ(store_deliver_multi(st, blobs, MULTI_N, t, r, &error), 1)) {
		fprintf(stderr, "  deliver_multi: %s\n", error);
		return;
	}
	for (size_t i = 0; i < MULTI_N; i++)
		T_ASSERT(blobs[i] == NULL);
	/* INBOX gets UIDs 1, 2 in order; Trash 1 */
	T_INTEQ(r[0].mailbox_id, inbox);
	T_INTEQ(r[0].uid, 1);
	T_INTEQ(r[1].mailbox_id, trash);
	T_INTEQ(r[1].uid, 1);
	T_INTEQ(r[2].mailbox_id, inbox);
	T_INTEQ(r[2].uid, 2);
	T_ASSERT(r[2].modseq > r[0].modseq);
	body = read_body(st, inbox, 2);
	T_STREQ(body != NULL ? body : "(null)", "part 2\r\n");
	mem_free(&body);
	body = read_body(st, trash, 1);
	T_STREQ(body != NULL ? body : "(null)", "part 1\r\n");
	mem_free(&body);
	if (T_INTEQ(store_message_list(st, inbox, NULL, &msgs, &n, NULL), 1)) {
		if (T_INTEQ(n, 2)) {
			T_INTEQ(msgs[0].flags, STORE_FLAG_SEEN);
			T_STREQ(msgs[0].keywords != NULL ? msgs[0].keywords : "", "$Junk");
			T_INTEQ(msgs[0].internaldate, 1000000000);
			T_INTEQ(msgs[1].flags, STORE_FLAG_FLAGGED);
		}
		store_message_list_free(&msgs, n);
	}
	m = mailbox_get(st, account, "INBOX");
	T_INTEQ(m.messages, 2);
	T_INTEQ(m.uidnext, 3);
	store_mailbox_deinit(&m);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), MULTI_N);
}
BOTH(multi_ok)

/* One target that does not exist: nothing of the others stays. */
static void
multi_all_or_nothing(struct store *st, const char *dir)
{
	uint64_t account = add_account(st, "bob@example.com");
	uint64_t trash = mailbox_id(st, account, "Trash");
	struct store_delivery_target t[MULTI_N] = {
		{ account, 0, 0, 0, NULL },
		{ account, trash, 0, 0, NULL },
		{ account, 999999, 0, 0, NULL },
	};
	struct store_delivery_result r[MULTI_N];
	struct store_blob *blobs[MULTI_N];
	struct store_mailbox m;
	const char *error = NULL;

	if (!multi_blobs(st, "part", blobs, MULTI_N))
		return;
	T_INTEQ(store_deliver_multi(st, blobs, MULTI_N, t, r, &error), -1);
	T_ASSERT(error != NULL);
	for (size_t i = 0; i < MULTI_N; i++) {
		T_ASSERT(blobs[i] == NULL);
		T_INTEQ(r[i].uid, 0);
	}
	m = mailbox_get(st, account, "INBOX");
	T_INTEQ(m.messages, 0);
	T_INTEQ(m.uidnext, 1);
	T_INTEQ(m.highest_modseq, 0);
	store_mailbox_deinit(&m);
	m = mailbox_get(st, account, "Trash");
	T_INTEQ(m.messages, 0);
	T_INTEQ(m.uidnext, 1);
	store_mailbox_deinit(&m);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"), 0);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}
	/* an invalid target is refused before any body is stored */
	t[2].mailbox_id = 0;
	t[1].flags = 0x8000;
	if (!multi_blobs(st, "part", blobs, MULTI_N))
		return;
	T_INTEQ(store_deliver_multi(st, blobs, MULTI_N, t, r, &error), -1);
	m = mailbox_get(st, account, "INBOX");
	T_INTEQ(m.messages, 0);
	store_mailbox_deinit(&m);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"), 0);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}
	/* and the store still works */
	t[1].flags = 0;
	if (!multi_blobs(st, "again", blobs, MULTI_N))
		return;
	T_INTEQ(store_deliver_multi(st, blobs, MULTI_N, t, r, &error), 1);
	T_INTEQ(r[0].uid, 1);
	T_INTEQ(r[2].uid, 2);
}
BOTH(multi_all_or_nothing)

/* Change notification: once per message, with its modseq. */
struct notified {
	unsigned calls;
	uint64_t last_modseq;
};

static void
multi_notify_cb(void *ctx, uint64_t mailbox_id, uint64_t modseq)
{
	struct notified *n = ctx;

	n->calls++;
	if (modseq > n->last_modseq)
		n->last_modseq = modseq;
}

static void
multi_notify(struct store *st, const char *dir)
{
	uint64_t account = add_account(st, "carol@example.com");
	uint64_t inbox = mailbox_id(st, account, "INBOX");
	struct store_delivery_target t[MULTI_N] = {
		{ account, 0, 0, 0, NULL },
		{ account, 0, 0, 0, NULL },
		{ account, 0, 0, 0, NULL },
	};
	struct store_delivery_result r[MULTI_N];
	struct store_blob *blobs[MULTI_N];
	struct notified seen = { 0, 0 };
	struct store_notify_sub *sub = store_notify_subscribe(st, inbox, multi_notify_cb, &seen);

	if (multi_blobs(st, "n", blobs, MULTI_N)) {
		T_INTEQ(store_deliver_multi(st, blobs, MULTI_N, t, r, NULL), 1);
		T_INTEQ(seen.calls, MULTI_N);
		T_INTEQ(seen.last_modseq, r[MULTI_N - 1].modseq);
	}
	store_notify_unsubscribe(&sub);
	(void)dir;
}
BOTH(multi_notify)

/*
 * Crash: a child delivers batches "batch B part P" of MULTI_N messages to
 * INBOX, reports "B" once store_deliver_multi returned 1, and is killed.
 */
static void
multi_crash_child(const char *dir, uint64_t account, int fd)
{
	struct store *st = open_store("sqlite", dir);
	struct store_delivery_target t[MULTI_N];

	if (st == NULL)
		_exit(1);
	for (size_t i = 0; i < MULTI_N; i++)
		t[i] = (struct store_delivery_target){ account, 0, 0, 0, NULL };
	for (unsigned b = 1; b < 100000; b++) {
		struct store_delivery_result r[MULTI_N];
		struct store_blob *blobs[MULTI_N];
		char prefix[64], line[64];

		snprintf(prefix, sizeof(prefix), "batch %u part", b);
		if (!multi_blobs(st, prefix, blobs, MULTI_N) ||
		    store_deliver_multi(st, blobs, MULTI_N, t, r, NULL) != 1)
			_exit(1);
		snprintf(line, sizeof(line), "%u\n", b);
		if (write(fd, line, strlen(line)) < 0)
			_exit(1);
	}
	pause();
	_exit(1);
}

static void
test_sqlite_multi_crash(void)
{
	char *dir = new_data_dir(), *report = NULL;
	struct store *st = open_store("sqlite", dir);
	struct store_message *msgs = NULL;
	struct store_gc_result gc;
	unsigned parts[4096] = { 0 }, max_batch = 0;
	uint64_t account;
	size_t n = 0;
	int p[2], status;
	pid_t pid;

	if (st == NULL)
		goto out;
	account = add_account(st, "dave@example.com");
	store_close(&st);
	if (!T_INTEQ(pipe(p), 0))
		goto out;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(p[0]);
		multi_crash_child(dir, account, p[1]);
	}
	close(p[1]);
	report = crash_collect(pid, p[0]);
	close(p[0]);
	waitpid(pid, &status, 0);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	if (!T_INTEQ(store_message_list(st, mailbox_id(st, account, "INBOX"), NULL, &msgs, &n,
					NULL),
		     1))
		goto close;
	for (size_t k = 0; k < n; k++) {
		char *body = read_body(st, mailbox_id(st, account, "INBOX"), msgs[k].uid);
		unsigned b = 0, part = 99;

		if (T_ASSERT(body != NULL) &&
		    T_INTEQ(sscanf(body, "batch %u part %u", &b, &part), 2) &&
		    T_ASSERT(b > 0 && b < N_ELEMENTS(parts) && part < MULTI_N)) {
			T_ASSERT((parts[b] & (1u << part)) == 0);
			parts[b] |= 1u << part;
			/* a batch's UIDs are consecutive, in order */
			T_INTEQ(msgs[k].uid, (b - 1) * MULTI_N + part + 1);
			if (b > max_batch)
				max_batch = b;
		}
		mem_free(&body);
	}
	/* every batch is whole; batches are in order, so none is missing */
	for (unsigned b = 1; b <= max_batch; b++) {
		if (!T_INTEQ(parts[b], (1u << MULTI_N) - 1))
			fprintf(stderr, "  batch %u\n", b);
	}
	/* every batch the child was told of is there */
	for (const char *line = report; line != NULL && *line != '\0';) {
		unsigned b = (unsigned)strtoul(line, NULL, 10);

		T_ASSERT(b >= 1 && b <= max_batch);
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	T_ASSERT(max_batch >= CRASH_LINES);
	/* what the killed batch wrote is garbage gc removes; the rest stays */
	T_INTEQ(store_gc(st, 0, &gc, NULL), 1);
	T_INTEQ(count_files(dir, "blobs"), max_batch * MULTI_N);
	store_message_list_free(&msgs, n);
close:
	store_close(&st);
out:
	mem_free(&report);
	mem_free(&dir);
}

static const struct test tests[] = {
	TEST_ENTRY(multi_ok_mem),
	TEST_ENTRY(multi_ok_sqlite),
	TEST_ENTRY(multi_all_or_nothing_mem),
	TEST_ENTRY(multi_all_or_nothing_sqlite),
	TEST_ENTRY(multi_notify_mem),
	TEST_ENTRY(multi_notify_sqlite),
	TEST_ENTRY(test_sqlite_multi_crash),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-multi", tests);
}
