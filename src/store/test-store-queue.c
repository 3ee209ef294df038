/*
 * test-store-queue.c - the outbound queue (store_queue_*) against both
 * backends through the same test functions: add, list, get, delete, bodies,
 * envelope checks, hold and release, due selection by time, recipient
 * updates, REQUIRETLS, SMTPUTF8 and notice flags, finishing an entry in
 * one step (store_queue_finish, its refusals leaving nothing half-done),
 * concurrency with local deliveries; and, SQLite only, every field
 * across a reopen, crash safety (a child queueing in a loop is SIGKILLed;
 * every entry it reported added must be intact) and the upgrade of a
 * version 6 database (queue.smtputf8, schema 7).
 */
#include "store/store.h"
#include "store/store-private.h"
#include "store/store-sqlite.h"
#include "store/test-store-util.h"

#include "core/mem.h"
#include "core/test.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The queue ids of a listing, space-separated, for comparisons. */
static char *
queue_ids(const struct store_queue_entry *list, size_t n)
{
	char *out = mem_zalloc(n * (STORE_QUEUE_ID_MAX + 1) + 1);

	for (size_t i = 0; i < n; i++)
		snprintf(out + strlen(out), STORE_QUEUE_ID_MAX + 2, "%s%s", i > 0 ? " " : "",
			 list[i].queue_id);
	return out;
}

static void
check_due(struct store *st, int64_t now, size_t max, const char *expect)
{
	struct store_queue_entry *list;
	const char *error = NULL;
	char *ids;
	size_t n;

	if (!T_INTEQ(store_queue_due(st, now, max, &list, &n, &error), 1)) {
		fprintf(stderr, "  queue_due: %s\n", error);
		return;
	}
	ids = queue_ids(list, n);
	if (!T_STREQ(ids, expect))
		fprintf(stderr, "  (due at %+lld)\n", (long long)(now - time(NULL)));
	mem_free(&ids);
	store_queue_list_free(&list, n);
}

static void
t_queue_basic(struct store *st, const char *dir)
{
	struct store_queue_envelope_rcpt rcpts[3] = {
		{ "bob@remote.example", "rfc822;bob@remote.example",
		  STORE_QUEUE_NOTIFY_FAILURE | STORE_QUEUE_NOTIFY_DELAY },
		{ "Carol@Other.example", NULL, 0 },
		{ "\"dave x\"@[192.0.2.1]", NULL, STORE_QUEUE_NOTIFY_NEVER },
	};
	struct store_queue_envelope env = { "Alice@example.com", "QQ314159", STORE_QUEUE_RET_HDRS,
					    42, rcpts, 3, false, false };
	struct store_queue_envelope bad;
	struct store_queue_envelope_rcpt bad_rcpt;
	const char *text = "Subject: out\r\n\r\nbody\r\n";
	struct store_queue_entry e, *list;
	const char *error = NULL;
	char long_text[STORE_QUEUE_ORCPT_MAX + 2], *body;
	int64_t before = (int64_t)time(NULL), after;
	size_t n;

	T_INTEQ(queue_text(st, "A1B2C3", text, &env, &error), 1);
	after = (int64_t)time(NULL);
	if (T_INTEQ(store_queue_get(st, "A1B2C3", &e, &error), 1)) {
		T_STREQ(e.queue_id, "A1B2C3");
		T_INTEQ(e.size, strlen(text));
		T_STREQ(e.sender, "Alice@example.com");
		T_STREQ(e.envid, "QQ314159");
		T_INTEQ(e.ret, STORE_QUEUE_RET_HDRS);
		T_INTEQ(e.submitter, 42);
		T_ASSERT(e.arrival >= before && e.arrival <= after);
		T_ASSERT(!e.hold);
		if (T_INTEQ(e.rcpt_count, 3)) {
			T_STREQ(e.rcpts[0].address, "bob@remote.example");
			T_STREQ(e.rcpts[0].orcpt, "rfc822;bob@remote.example");
			T_INTEQ(e.rcpts[0].notify,
				STORE_QUEUE_NOTIFY_FAILURE | STORE_QUEUE_NOTIFY_DELAY);
			T_STREQ(e.rcpts[1].address, "Carol@Other.example");
			T_ASSERT(e.rcpts[1].orcpt == NULL);
			T_INTEQ(e.rcpts[1].notify, 0);
			T_STREQ(e.rcpts[2].address, "\"dave x\"@[192.0.2.1]");
			T_INTEQ(e.rcpts[2].notify, STORE_QUEUE_NOTIFY_NEVER);
			for (size_t i = 0; i < 3; i++) {
				T_INTEQ(e.rcpts[i].state, STORE_QUEUE_RCPT_QUEUED);
				T_INTEQ(e.rcpts[i].attempts, 0);
				T_INTEQ(e.rcpts[i].last_attempt, 0);
				T_INTEQ(e.rcpts[i].next_attempt, e.arrival);
				T_ASSERT(e.rcpts[i].status == NULL && e.rcpts[i].dsn == NULL);
			}
		}
	}
	store_queue_entry_deinit(&e);
	T_ASSERT(e.rcpts == NULL && e.sender == NULL);
	body = read_queue_body(st, "A1B2C3");
	T_STREQ(body, text);
	mem_free(&body);

	/* the null sender, and an id that exists */
	env.sender = "";
	env.envid = NULL;
	env.ret = STORE_QUEUE_RET_NONE;
	env.submitter = 0;
	env.rcpt_count = 1;
	T_INTEQ(queue_text(st, "B2", "bounce", &env, &error), 1);
	T_INTEQ(queue_text(st, "A1B2C3", "again", &env, &error), 0);
	T_ASSERT(error != NULL && strstr(error, "exists") != NULL);
	T_INTEQ(queue_text(st, "a1b2c3", "other case", &env, &error), 1); /* ids are exact */
	if (T_INTEQ(store_queue_list(st, &list, &n, &error), 1) && T_INTEQ(n, 3)) {
		T_STREQ(list[0].queue_id, "A1B2C3");
		T_INTEQ(list[0].rcpt_count, 3);
		T_STREQ(list[1].queue_id, "B2");
		T_STREQ(list[1].sender, "");
		T_ASSERT(list[1].envid == NULL);
		T_INTEQ(list[1].rcpt_count, 1);
		T_STREQ(list[2].queue_id, "a1b2c3");
	}
	store_queue_list_free(&list, n);
	T_ASSERT(list == NULL);
	body = read_queue_body(st, "B2");
	T_STREQ(body, "bounce");
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 3);

	/* invalid ids and envelopes queue nothing */
	T_INTEQ(queue_text(st, "bad-id", "x", &env, &error), -1);
	T_INTEQ(queue_text(st, "", "x", &env, &error), -1);
	T_INTEQ(queue_text(st, "A23456789012345678901234567890123", "x", &env, &error), -1);
	bad = env;
	bad.rcpt_count = 0;
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad = env;
	bad.sender = "evil\r\nRCPT TO:<x@y>";
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad = env;
	bad.sender = NULL;
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad = env;
	bad.ret = (enum store_queue_ret)7;
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	memset(long_text, 'e', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	bad = env;
	bad.envid = long_text;
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad = env;
	bad.envid = "";
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad.envid = NULL;
	bad.rcpts = &bad_rcpt;
	bad_rcpt = (struct store_queue_envelope_rcpt){ "x@y.example", long_text, 0 };
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad_rcpt = (struct store_queue_envelope_rcpt){ "", NULL, 0 };
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad_rcpt = (struct store_queue_envelope_rcpt){ NULL, NULL, 0 };
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad_rcpt = (struct store_queue_envelope_rcpt){
		"x@y.example", NULL, STORE_QUEUE_NOTIFY_NEVER | STORE_QUEUE_NOTIFY_FAILURE
	};
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	bad_rcpt.notify = 0x10;
	T_INTEQ(queue_text(st, "C1", "x", &bad, &error), -1);
	T_INTEQ(store_queue_get(st, "C1", &e, &error), 0);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"), 3);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}

	/* lookups of ids that cannot exist find nothing */
	T_INTEQ(store_queue_get(st, "NOPE", &e, &error), 0);
	T_INTEQ(store_queue_get(st, "bad id!", &e, &error), 0);
	T_INTEQ(store_queue_hold(st, "bad id!", &error), 0);
	T_INTEQ(store_queue_delete(st, "", &error), 0);

	/* delete removes the entry and its body */
	T_INTEQ(store_queue_delete(st, "A1B2C3", &error), 1);
	T_INTEQ(store_queue_delete(st, "A1B2C3", &error), 0);
	T_INTEQ(store_queue_get(st, "A1B2C3", &e, &error), 0);
	T_ASSERT(read_queue_body(st, "A1B2C3") == NULL);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 2);
	T_INTEQ(store_queue_delete(st, "B2", &error), 1);
	T_INTEQ(store_queue_delete(st, "a1b2c3", &error), 1);
	T_INTEQ(store_queue_list(st, &list, &n, &error), 1);
	T_INTEQ(n, 0);
	store_queue_list_free(&list, n);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 0);
}
BOTH(t_queue_basic)

/* A body whose write failed queues nothing. */
static void
t_queue_failed_blob(struct store *st, const char *dir)
{
	struct store_queue_envelope_rcpt r = { "rcpt@remote.example", NULL, 0 };
	struct store_queue_envelope env = { "", NULL, STORE_QUEUE_RET_NONE, 0, &r, 1, false,
					    false };
	struct store_queue_entry e;
	struct store_blob *blob;
	const char *error = NULL;

	T_INTEQ(store_blob_begin(st, &blob, &error), 1);
	blob->failed = true; /* as after a failed write */
	T_INTEQ(store_queue_add(st, &blob, &env, "F1", &error), -1);
	T_ASSERT(blob == NULL);
	T_INTEQ(store_queue_get(st, "F1", &e, &error), 0);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "tmp"), 0);
		T_INTEQ(count_files(dir, "blobs"), 0);
	}
}
BOTH(t_queue_failed_blob)

/* Due selection, hold/release, recipient updates. */
static void
t_queue_schedule(struct store *st, const char *dir)
{
	struct store_queue_envelope_rcpt rcpts[2] = { { "one@remote.example", NULL, 0 },
						      { "two@remote.example", NULL, 0 } };
	struct store_queue_envelope env = { "alice@example.com", NULL, STORE_QUEUE_RET_NONE, 0,
					    rcpts, 2, false, false };
	struct store_queue_entry e, *list;
	const char *error = NULL;
	int64_t now = (int64_t)time(NULL), later;
	size_t n;

	T_INTEQ(queue_text(st, "Q1", "first", &env, &error), 1);
	T_INTEQ(queue1(st, "Q2", "second"), 1);
	T_INTEQ(queue1(st, "Q3", "third"), 1);
	later = (int64_t)time(NULL);
	check_due(st, now - 3600, 10, "");
	check_due(st, later, 10, "Q1 Q2 Q3");
	check_due(st, later, 2, "Q1 Q2");
	check_due(st, later, 0, "");

	T_INTEQ(store_queue_hold(st, "Q2", &error), 1);
	T_INTEQ(store_queue_hold(st, "Q2", &error), 1);
	T_INTEQ(store_queue_hold(st, "NOPE", &error), 0);
	T_INTEQ(store_queue_release(st, "NOPE", &error), 0);
	check_due(st, later, 10, "Q1 Q3");
	if (T_INTEQ(store_queue_list(st, &list, &n, &error), 1) && T_INTEQ(n, 3)) {
		T_ASSERT(!list[0].hold);
		T_ASSERT(list[1].hold);
	}
	store_queue_list_free(&list, n);

	/* the first attempt: one recipient deferred, one sent */
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_DEFERRED, now + 600,
					"host mx.remote.example said: 451 4.3.0 try later",
					"4.3.0", &error),
		1);
	if (T_INTEQ(store_queue_get(st, "Q1", &e, &error), 1) && T_INTEQ(e.rcpt_count, 2)) {
		T_INTEQ(e.rcpts[0].state, STORE_QUEUE_RCPT_DEFERRED);
		T_INTEQ(e.rcpts[0].attempts, 1);
		T_ASSERT(e.rcpts[0].last_attempt >= now &&
			 e.rcpts[0].last_attempt <= (int64_t)time(NULL));
		T_INTEQ(e.rcpts[0].next_attempt, now + 600);
		T_STREQ(e.rcpts[0].status, "host mx.remote.example said: 451 4.3.0 try later");
		T_STREQ(e.rcpts[0].dsn, "4.3.0");
		T_INTEQ(e.rcpts[1].state, STORE_QUEUE_RCPT_QUEUED);
		T_INTEQ(e.rcpts[1].attempts, 0);
	}
	store_queue_entry_deinit(&e);
	check_due(st, later, 10, "Q1 Q3"); /* recipient 1 is still due */
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 1, STORE_QUEUE_RCPT_SENT, 12345, "250 2.0.0 ok",
					"2.0.0", &error),
		1);
	if (T_INTEQ(store_queue_get(st, "Q1", &e, &error), 1) && T_INTEQ(e.rcpt_count, 2)) {
		T_INTEQ(e.rcpts[1].state, STORE_QUEUE_RCPT_SENT);
		T_INTEQ(e.rcpts[1].next_attempt, 0);
		T_INTEQ(e.rcpts[1].attempts, 1);
	}
	store_queue_entry_deinit(&e);
	check_due(st, later, 10, "Q3");
	/* Q3 has been due since its arrival, Q1 only from now + 600 */
	check_due(st, now + 601, 10, "Q3 Q1");
	check_due(st, now + 601, 1, "Q3");

	/* refused updates change nothing */
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 1, STORE_QUEUE_RCPT_DEFERRED, now + 60, NULL,
					NULL, &error),
		-1);
	T_ASSERT(error != NULL && strstr(error, "final") != NULL);
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 2, STORE_QUEUE_RCPT_SENT, 0, NULL, NULL, &error),
		0);
	T_INTEQ(store_queue_update_rcpt(st, "Q1", SIZE_MAX, STORE_QUEUE_RCPT_SENT, 0, NULL, NULL,
					&error),
		0);
	T_INTEQ(store_queue_update_rcpt(st, "NOPE", 0, STORE_QUEUE_RCPT_SENT, 0, NULL, NULL,
					&error),
		0);
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_QUEUED, now, NULL, NULL,
					&error),
		-1);
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, (enum store_queue_rcpt_state)9, now, NULL,
					NULL, &error),
		-1);
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_DEFERRED, 0, NULL, NULL,
					&error),
		-1);
	{
		static const char *const bad_dsn[] = { "6.0.0", "4.0",	 "4.1234.1", "4..1",
						       "4.1.1 ", "x.1.1", "4.1.1.1", "" };

		for (size_t i = 0; i < N_ELEMENTS(bad_dsn); i++) {
			if (!T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_BOUNCED,
							     0, NULL, bad_dsn[i], &error),
				     -1))
				fprintf(stderr, "  accepted DSN code '%s'\n", bad_dsn[i]);
		}
	}
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_BOUNCED, 0, "two\nlines",
					NULL, &error),
		-1);
	if (T_INTEQ(store_queue_get(st, "Q1", &e, &error), 1) && T_INTEQ(e.rcpt_count, 2)) {
		T_INTEQ(e.rcpts[0].state, STORE_QUEUE_RCPT_DEFERRED);
		T_INTEQ(e.rcpts[0].attempts, 1);
	}
	store_queue_entry_deinit(&e);

	/* the second attempt bounces; status and code are replaced, or cleared */
	T_INTEQ(store_queue_update_rcpt(st, "Q1", 0, STORE_QUEUE_RCPT_BOUNCED, 0,
					"550 5.1.1 no such user", "5.1.1", &error),
		1);
	if (T_INTEQ(store_queue_get(st, "Q1", &e, &error), 1) && T_INTEQ(e.rcpt_count, 2)) {
		T_INTEQ(e.rcpts[0].state, STORE_QUEUE_RCPT_BOUNCED);
		T_INTEQ(e.rcpts[0].attempts, 2);
		T_INTEQ(e.rcpts[0].next_attempt, 0);
		T_STREQ(e.rcpts[0].status, "550 5.1.1 no such user");
		T_STREQ(e.rcpts[0].dsn, "5.1.1");
	}
	store_queue_entry_deinit(&e);
	T_INTEQ(store_queue_update_rcpt(st, "Q3", 0, STORE_QUEUE_RCPT_DEFERRED, now + 30, NULL,
					NULL, &error),
		1);
	if (T_INTEQ(store_queue_get(st, "Q3", &e, &error), 1) && T_INTEQ(e.rcpt_count, 1))
		T_ASSERT(e.rcpts[0].status == NULL && e.rcpts[0].dsn == NULL);
	store_queue_entry_deinit(&e);
	check_due(st, now + 100000, 10, "Q3"); /* Q1 is all final, Q2 held */

	/* a held entry keeps its schedule, and updates still apply to it */
	T_INTEQ(store_queue_update_rcpt(st, "Q2", 0, STORE_QUEUE_RCPT_DEFERRED, now + 10, NULL,
					"4.4.1", &error),
		1);
	T_INTEQ(store_queue_release(st, "Q2", &error), 1);
	T_INTEQ(store_queue_release(st, "Q2", &error), 1);
	check_due(st, now + 100000, 10, "Q2 Q3");
	check_due(st, now + 20, 10, "Q2");

	/* flush: the waiting recipients are due at once, nothing else changes */
	check_due(st, now + 5, 10, "");
	T_INTEQ(store_queue_flush(st, "Q3", now, &error), 1);
	check_due(st, now + 5, 10, "Q3");
	if (T_INTEQ(store_queue_get(st, "Q3", &e, &error), 1)) {
		T_INTEQ(e.rcpts[0].attempts, 1);
		T_INTEQ(e.rcpts[0].next_attempt, now);
		T_INTEQ(e.rcpts[0].state, STORE_QUEUE_RCPT_DEFERRED);
	}
	store_queue_entry_deinit(&e);
	T_INTEQ(store_queue_hold(st, "Q2", &error), 1);
	T_INTEQ(store_queue_flush(st, NULL, now, &error), 1);
	check_due(st, now + 5, 10, "Q3"); /* Q2 is held: not flushed */
	T_INTEQ(store_queue_release(st, "Q2", &error), 1);
	T_INTEQ(store_queue_flush(st, NULL, now, &error), 1);
	check_due(st, now + 5, 10, "Q2 Q3");
	T_INTEQ(store_queue_flush(st, "NOPE", now, &error), 0);
	T_INTEQ(store_queue_flush(st, "bad id!", now, &error), 0);
	if (T_INTEQ(store_queue_get(st, "Q1", &e, &error), 1)) /* final ones untouched */
		T_INTEQ(e.rcpts[0].next_attempt, 0);
	store_queue_entry_deinit(&e);
}
BOTH(t_queue_schedule)

/* REQUIRETLS, SMTPUTF8 and the per-recipient notice flags: kept, set with
 * an update or alone, cleared, also on final recipients; bad bits refused. */
static void
t_queue_flags(struct store *st, const char *dir)
{
	struct store_queue_envelope_rcpt rcpts[2] = {
		{ "one@remote.example", NULL, STORE_QUEUE_NOTIFY_SUCCESS },
		{ "two@remote.example", NULL, 0 },
	};
	struct store_queue_envelope env = { "alice@example.com", NULL, STORE_QUEUE_RET_NONE, 0,
					    rcpts, 2, true, true };
	struct store_queue_entry e, *list;
	const char *error = NULL;
	int64_t now = (int64_t)time(NULL);
	size_t n;

	(void)dir;
	T_INTEQ(queue_text(st, "F1", "body", &env, &error), 1);
	env.requiretls = false;
	env.smtputf8 = false;
	T_INTEQ(queue_text(st, "F2", "body", &env, &error), 1);
	env.smtputf8 = true; /* each flag on its own */
	T_INTEQ(queue_text(st, "F3", "body", &env, &error), 1);
	if (T_INTEQ(store_queue_get(st, "F1", &e, &error), 1)) {
		T_ASSERT(e.requiretls);
		T_ASSERT(e.smtputf8);
		T_INTEQ(e.rcpts[0].flags, 0);
		T_INTEQ(e.rcpts[1].flags, 0);
	}
	store_queue_entry_deinit(&e);
	if (T_INTEQ(store_queue_get(st, "F2", &e, &error), 1)) {
		T_ASSERT(!e.requiretls);
		T_ASSERT(!e.smtputf8);
	}
	store_queue_entry_deinit(&e);
	if (T_INTEQ(store_queue_get(st, "F3", &e, &error), 1)) {
		T_ASSERT(!e.requiretls);
		T_ASSERT(e.smtputf8);
	}
	store_queue_entry_deinit(&e);
	T_INTEQ(store_queue_delete(st, "F3", &error), 1);

	/* SENT with SUCCESS_OWED in one write; a delay notice flag alone */
	T_INTEQ(store_queue_update_rcpt_flags(st, "F1", 0, STORE_QUEUE_RCPT_SENT, 0, "250 ok",
					      "2.0.0", STORE_QUEUE_RCPT_F_SUCCESS_OWED, &error),
		1);
	T_INTEQ(store_queue_update_rcpt(st, "F1", 1, STORE_QUEUE_RCPT_DEFERRED, now + 60,
					"451 later", "4.0.0", &error),
		1);
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 1, STORE_QUEUE_RCPT_F_DELAY_SENT, 0, &error),
		1);
	/* a later attempt keeps the flags it does not name */
	T_INTEQ(store_queue_update_rcpt(st, "F1", 1, STORE_QUEUE_RCPT_DEFERRED, now + 120,
					"451 still later", "4.0.0", &error),
		1);
	if (T_INTEQ(store_queue_list(st, &list, &n, &error), 1) && T_INTEQ(n, 2)) {
		T_STREQ(list[0].queue_id, "F1");
		T_ASSERT(list[0].requiretls);
		T_ASSERT(!list[1].requiretls);
		T_ASSERT(list[0].smtputf8);
		T_ASSERT(!list[1].smtputf8);
		T_INTEQ(list[0].rcpts[0].flags, STORE_QUEUE_RCPT_F_SUCCESS_OWED);
		T_INTEQ(list[0].rcpts[0].state, STORE_QUEUE_RCPT_SENT);
		T_INTEQ(list[0].rcpts[1].flags, STORE_QUEUE_RCPT_F_DELAY_SENT);
		T_INTEQ(list[0].rcpts[1].attempts, 2);
		T_INTEQ(list[1].rcpts[0].flags, 0);
	}
	store_queue_list_free(&list, n);
	if (T_INTEQ(store_queue_due(st, now + 200, 10, &list, &n, &error), 1) &&
	    T_INTEQ(n, 2)) {
		T_STREQ(list[1].queue_id, "F1");
		T_ASSERT(list[1].requiretls);
		T_ASSERT(list[1].smtputf8);
		T_ASSERT(!list[0].smtputf8);
		T_INTEQ(list[1].rcpts[1].flags, STORE_QUEUE_RCPT_F_DELAY_SENT);
	}
	store_queue_list_free(&list, n);

	/* flags of a final recipient change; set then clear in one call */
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 0, STORE_QUEUE_RCPT_F_LOCAL,
					   STORE_QUEUE_RCPT_F_SUCCESS_OWED, &error),
		1);
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 1, 0, 0, &error), 1);
	if (T_INTEQ(store_queue_get(st, "F1", &e, &error), 1)) {
		T_INTEQ(e.rcpts[0].flags, STORE_QUEUE_RCPT_F_LOCAL);
		T_INTEQ(e.rcpts[0].state, STORE_QUEUE_RCPT_SENT);
		T_INTEQ(e.rcpts[0].attempts, 1);
		T_STREQ(e.rcpts[0].status, "250 ok");
		T_INTEQ(e.rcpts[1].flags, STORE_QUEUE_RCPT_F_DELAY_SENT);
	}
	store_queue_entry_deinit(&e);

	/* errors and misses */
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 0, 0x100, 0, &error), -1);
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 0, 0, 0x80, &error), -1);
	T_INTEQ(store_queue_update_rcpt_flags(st, "F1", 1, STORE_QUEUE_RCPT_SENT, 0, NULL, NULL,
					      0x40, &error),
		-1);
	T_INTEQ(store_queue_set_rcpt_flags(st, "F1", 2, STORE_QUEUE_RCPT_F_LOCAL, 0, &error), 0);
	T_INTEQ(store_queue_set_rcpt_flags(st, "NOPE", 0, STORE_QUEUE_RCPT_F_LOCAL, 0, &error), 0);
	T_INTEQ(store_queue_set_rcpt_flags(st, "bad id!", 0, 0, 0, &error), 0);
	/* a final recipient still refuses another attempt, flags or not */
	T_INTEQ(store_queue_update_rcpt_flags(st, "F1", 0, STORE_QUEUE_RCPT_BOUNCED, 0, NULL,
					      NULL, STORE_QUEUE_RCPT_F_DELAY_SENT, &error),
		-1);
	if (T_INTEQ(store_queue_get(st, "F1", &e, &error), 1))
		T_INTEQ(e.rcpts[0].flags, STORE_QUEUE_RCPT_F_LOCAL);
	store_queue_entry_deinit(&e);
	if (T_INTEQ(store_queue_get(st, "F2", &e, &error), 1)) {
		T_INTEQ(e.rcpts[0].flags, 0);
		T_INTEQ(e.rcpts[1].flags, 0);
	}
	store_queue_entry_deinit(&e);
}
BOTH(t_queue_flags)

/* Recipient i of entry queue_id: its state and attempts, or -1 / 0 when missing. */
static int
rcpt_state(struct store *st, const char *queue_id, size_t i, uint32_t *attempts_r)
{
	struct store_queue_entry e;
	int state = -1;

	*attempts_r = 0;
	if (store_queue_get(st, queue_id, &e, NULL) == 1 && i < e.rcpt_count) {
		state = (int)e.rcpts[i].state;
		*attempts_r = e.rcpts[i].attempts;
	}
	store_queue_entry_deinit(&e);
	return state;
}

/* store_queue_finish: every refusal leaves the entry, its recipients and its
 * body exactly as they were; a finish removes entry and body in one step. */
static void
t_queue_finish(struct store *st, const char *dir)
{
	struct store_queue_envelope_rcpt rcpts[3] = {
		{ "one@remote.example", NULL, STORE_QUEUE_NOTIFY_SUCCESS },
		{ "two@remote.example", NULL, 0 },
		{ "three@remote.example", NULL, 0 },
	};
	struct store_queue_envelope env = { "alice@example.com", NULL, STORE_QUEUE_RET_NONE, 0,
					    rcpts, 3, false, false };
	struct store_queue_final ok[2] = {
		{ 0, STORE_QUEUE_RCPT_SENT, "250 2.0.0 ok", "2.0.0",
		  STORE_QUEUE_RCPT_F_SUCCESS_OWED },
		{ 1, STORE_QUEUE_RCPT_BOUNCED, "550 5.1.1 no such user", "5.1.1", 0 },
	};
	struct store_queue_final bad[3];
	struct store_queue_entry *list;
	const char *error = NULL;
	int64_t now = (int64_t)time(NULL);
	uint32_t attempts;
	char *body;
	size_t n;

	T_INTEQ(queue_text(st, "FIN1", "finish me", &env, &error), 1);
	T_INTEQ(queue_text(st, "FIN2", "keep me", &env, &error), 1);
	env.rcpt_count = 1;
	T_INTEQ(queue_text(st, "FIN3", "all final", &env, &error), 1);
	/* recipient 2 bounced in an earlier round; 1 deferred */
	T_INTEQ(store_queue_update_rcpt(st, "FIN1", 2, STORE_QUEUE_RCPT_BOUNCED, 0, "550 gone",
					"5.0.0", &error),
		1);
	T_INTEQ(store_queue_update_rcpt(st, "FIN1", 1, STORE_QUEUE_RCPT_DEFERRED, now + 60,
					"451 later", "4.0.0", &error),
		1);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 3);

	/* refusals: a waiting recipient left out, a final one listed, one twice,
	 * an index out of range, a bad outcome; no entry, a bad id */
	error = NULL;
	T_INTEQ(store_queue_finish(st, "FIN1", ok, 1, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "still waiting") != NULL);
	memcpy(bad, ok, sizeof(ok));
	bad[2] = ok[1];
	bad[2].rcpt_index = 2;
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 3, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "final already") != NULL);
	bad[2].rcpt_index = 0;
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 3, &error), -1);
	T_ASSERT(error != NULL && strstr(error, "twice") != NULL);
	bad[2].rcpt_index = 3;
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 3, &error), -1);
	memcpy(bad, ok, sizeof(ok));
	bad[1].state = STORE_QUEUE_RCPT_DEFERRED;
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 2, &error), -1);
	bad[1] = ok[1];
	bad[1].dsn = "5.1";
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 2, &error), -1);
	bad[1] = ok[1];
	bad[1].status = "bad\r\ntext";
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 2, &error), -1);
	bad[1] = ok[1];
	bad[1].flags_set = 0x80;
	T_INTEQ(store_queue_finish(st, "FIN1", bad, 2, &error), -1);
	T_INTEQ(store_queue_finish(st, "FIN1", NULL, 2, &error), -1);
	T_INTEQ(store_queue_finish(st, "FIN2", NULL, 0, &error), -1); /* all waiting */
	T_INTEQ(store_queue_finish(st, "NOPE", ok, 2, &error), 0);
	T_INTEQ(store_queue_finish(st, "bad id!", ok, 2, &error), 0);

	/* nothing half-done: states, attempts and body as before */
	T_INTEQ(rcpt_state(st, "FIN1", 0, &attempts), STORE_QUEUE_RCPT_QUEUED);
	T_INTEQ(attempts, 0);
	T_INTEQ(rcpt_state(st, "FIN1", 1, &attempts), STORE_QUEUE_RCPT_DEFERRED);
	T_INTEQ(attempts, 1);
	T_INTEQ(rcpt_state(st, "FIN1", 2, &attempts), STORE_QUEUE_RCPT_BOUNCED);
	T_INTEQ(attempts, 1);
	body = read_queue_body(st, "FIN1");
	T_STREQ(body, "finish me");
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 3);

	/* the finish: entry, recipients and body gone in one call */
	T_INTEQ(store_queue_finish(st, "FIN1", ok, 2, &error), 1);
	T_INTEQ(rcpt_state(st, "FIN1", 0, &attempts), -1);
	T_INTEQ(store_queue_delete(st, "FIN1", &error), 0);
	T_INTEQ(store_queue_finish(st, "FIN1", ok, 2, &error), 0);
	body = read_queue_body(st, "FIN1");
	T_ASSERT(body == NULL);
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 2);

	/* an entry final already (a crash after recording, or a bounce by hand)
	 * finishes with no outcomes */
	T_INTEQ(store_queue_update_rcpt(st, "FIN3", 0, STORE_QUEUE_RCPT_BOUNCED, 0, NULL, NULL,
					&error),
		1);
	T_INTEQ(store_queue_finish(st, "FIN3", NULL, 0, &error), 1);

	/* the other entry is untouched */
	if (T_INTEQ(store_queue_list(st, &list, &n, &error), 1) && T_INTEQ(n, 1)) {
		T_STREQ(list[0].queue_id, "FIN2");
		for (size_t i = 0; i < list[0].rcpt_count; i++)
			T_INTEQ(list[0].rcpts[i].state, STORE_QUEUE_RCPT_QUEUED);
	}
	store_queue_list_free(&list, n);
	check_due(st, now, 10, "FIN2");
	body = read_queue_body(st, "FIN2");
	T_STREQ(body, "keep me");
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 1);
}
BOTH(t_queue_finish)

/* Queue entries and messages share bodies' bookkeeping but not bodies:
 * deleting the account or the message leaves the queue alone. */
static void
t_queue_and_mailboxes(struct store *st, const char *dir)
{
	uint64_t a = add_account(st, "alice@example.com");
	struct store_delivery_result r;
	struct store_gc_result gc;
	char *body;

	T_INTEQ(deliver1(st, a, "local copy", &r), 1);
	T_INTEQ(queue1(st, "K1", "remote copy"), 1);
	T_INTEQ(store_message_expunge(st, r.mailbox_id, &r.uid, 1, NULL), 1);
	T_INTEQ(store_account_del(st, "alice@example.com", NULL), 1);
	T_INTEQ(store_gc(st, 0, &gc, NULL), 1);
	T_INTEQ(gc.blobs_removed, 0);
	body = read_queue_body(st, "K1");
	T_STREQ(body, "remote copy");
	mem_free(&body);
	if (dir != NULL)
		T_INTEQ(count_files(dir, "blobs"), 1);
}
BOTH(t_queue_and_mailboxes)

/* Threads queueing while others deliver locally: they share commit batches
 * (sqlite), every entry arrives once with its own body. */
#define QCONC_THREADS 4
#define QCONC_ENTRIES 40
#define QCONC_MESSAGES 50

struct qconc_ctx {
	struct store *st;
	uint64_t account; /* qconc_deliver_thread's */
	int thread;
	int failures;
};

static void *
qconc_deliver_thread(void *arg)
{
	struct qconc_ctx *ctx = arg;
	struct store_delivery_result r;
	char text[64];

	for (int i = 0; i < QCONC_MESSAGES; i++) {
		snprintf(text, sizeof(text), "delivered by thread %d, message %d\r\n", ctx->thread,
			 i);
		if (deliver1(ctx->st, ctx->account, text, &r) != 1)
			ctx->failures++;
	}
	return NULL;
}

static void *
qconc_thread(void *arg)
{
	struct qconc_ctx *ctx = arg;
	char id[32], text[64];

	for (int i = 0; i < QCONC_ENTRIES; i++) {
		snprintf(id, sizeof(id), "T%dN%d", ctx->thread, i);
		snprintf(text, sizeof(text), "queued by thread %d, entry %d\r\n", ctx->thread, i);
		if (queue1(ctx->st, id, text) != 1)
			ctx->failures++;
	}
	return NULL;
}

static void
t_queue_concurrent(struct store *st, const char *dir)
{
	struct qconc_ctx qctx[QCONC_THREADS], dctx[2];
	pthread_t qthreads[QCONC_THREADS], dthreads[2];
	uint64_t a = add_account(st, "alice@example.com");
	struct store_queue_entry *list;
	size_t n;

	for (int i = 0; i < 2; i++) {
		dctx[i] = (struct qconc_ctx){ st, a, i, 0 };
		T_INTEQ(pthread_create(&dthreads[i], NULL, qconc_deliver_thread, &dctx[i]), 0);
	}
	for (int i = 0; i < QCONC_THREADS; i++) {
		qctx[i] = (struct qconc_ctx){ st, 0, i, 0 };
		T_INTEQ(pthread_create(&qthreads[i], NULL, qconc_thread, &qctx[i]), 0);
	}
	for (int i = 0; i < QCONC_THREADS; i++) {
		pthread_join(qthreads[i], NULL);
		T_INTEQ(qctx[i].failures, 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(dthreads[i], NULL);
		T_INTEQ(dctx[i].failures, 0);
	}
	if (T_INTEQ(store_queue_list(st, &list, &n, NULL), 1) &&
	    T_INTEQ(n, QCONC_THREADS * QCONC_ENTRIES)) {
		for (size_t i = 0; i < n; i++) {
			char *body = read_queue_body(st, list[i].queue_id), expect[64];
			int th = -1, k = -1;

			T_INTEQ(sscanf(list[i].queue_id, "T%dN%d", &th, &k), 2);
			snprintf(expect, sizeof(expect), "queued by thread %d, entry %d\r\n", th,
				 k);
			T_STREQ(body, expect);
			mem_free(&body);
		}
	}
	store_queue_list_free(&list, n);
	if (dir != NULL) {
		T_INTEQ(count_files(dir, "blobs"),
			QCONC_THREADS * QCONC_ENTRIES + 2 * QCONC_MESSAGES);
		T_INTEQ(count_files(dir, "tmp"), 0);
	}
}
BOTH(t_queue_concurrent)

/*
 * SQLite only: persistence, crash safety
 */
/* Every field of the queue survives a reopen. */
static void
test_sqlite_queue_reopen(void)
{
	struct store_queue_envelope_rcpt rcpts[2] = {
		{ "one@remote.example", "rfc822;one+2Bx@remote.example",
		  STORE_QUEUE_NOTIFY_SUCCESS },
		{ "two@remote.example", NULL, 0 },
	};
	struct store_queue_envelope env = { "alice@example.com", "ENV1", STORE_QUEUE_RET_FULL, 5,
					    rcpts, 2, true, true };
	char *dir = new_data_dir(), *body;
	struct store *st = open_store("sqlite", dir);
	struct store_queue_entry before, after;
	struct store_gc_result gc;
	int64_t now = (int64_t)time(NULL);

	if (st == NULL)
		goto out;
	T_INTEQ(queue_text(st, "R1", "durable body", &env, NULL), 1);
	T_INTEQ(queue1(st, "R2", "held body"), 1);
	T_INTEQ(store_queue_hold(st, "R2", NULL), 1);
	T_INTEQ(store_queue_update_rcpt(st, "R1", 0, STORE_QUEUE_RCPT_DEFERRED, now + 300,
					"451 later", "4.2.0", NULL),
		1);
	T_INTEQ(store_queue_set_rcpt_flags(st, "R1", 0, STORE_QUEUE_RCPT_F_DELAY_SENT, 0, NULL),
		1);
	T_INTEQ(store_queue_get(st, "R1", &before, NULL), 1);
	store_close(&st);

	if ((st = open_store("sqlite", dir)) == NULL)
		goto out_before;
	if (T_INTEQ(store_queue_get(st, "R1", &after, NULL), 1) &&
	    T_INTEQ(after.rcpt_count, 2)) {
		T_INTEQ(after.size, before.size);
		T_STREQ(after.sender, "alice@example.com");
		T_STREQ(after.envid, "ENV1");
		T_INTEQ(after.ret, STORE_QUEUE_RET_FULL);
		T_INTEQ(after.submitter, 5);
		T_INTEQ(after.arrival, before.arrival);
		T_ASSERT(!after.hold);
		T_ASSERT(after.requiretls);
		T_ASSERT(after.smtputf8);
		T_INTEQ(after.rcpts[0].flags, STORE_QUEUE_RCPT_F_DELAY_SENT);
		T_INTEQ(after.rcpts[1].flags, 0);
		T_STREQ(after.rcpts[0].orcpt, "rfc822;one+2Bx@remote.example");
		T_INTEQ(after.rcpts[0].notify, STORE_QUEUE_NOTIFY_SUCCESS);
		T_INTEQ(after.rcpts[0].state, STORE_QUEUE_RCPT_DEFERRED);
		T_INTEQ(after.rcpts[0].attempts, 1);
		T_INTEQ(after.rcpts[0].last_attempt, before.rcpts[0].last_attempt);
		T_INTEQ(after.rcpts[0].next_attempt, now + 300);
		T_STREQ(after.rcpts[0].status, "451 later");
		T_STREQ(after.rcpts[0].dsn, "4.2.0");
		T_INTEQ(after.rcpts[1].state, STORE_QUEUE_RCPT_QUEUED);
		T_INTEQ(after.rcpts[1].next_attempt, before.arrival);
	}
	store_queue_entry_deinit(&after);
	if (T_INTEQ(store_queue_get(st, "R2", &after, NULL), 1))
		T_ASSERT(after.hold);
	store_queue_entry_deinit(&after);
	check_due(st, (int64_t)time(NULL), 10, "R1");
	/* gc leaves queued bodies alone */
	T_INTEQ(store_gc(st, 0, &gc, NULL), 1);
	T_INTEQ(gc.blobs_removed, 0);
	body = read_queue_body(st, "R1");
	T_STREQ(body, "durable body");
	mem_free(&body);
	T_INTEQ(store_queue_delete(st, "R1", NULL), 1);
	T_INTEQ(count_files(dir, "blobs"), 1);
	store_close(&st);
out_before:
	store_queue_entry_deinit(&before);
out:
	mem_free(&dir);
}

/* Every queue entry the child reported added is there, exact, and every
 * entry there has its body. */
static void
crash_verify_queue(struct store *st, const char *report)
{
	struct store_queue_entry e, *list;
	char expect[4096], id[32];
	unsigned checked = 0, uid;
	int thread, i, used;
	size_t n;

	for (const char *p = report; sscanf(p, "%d %d %u\n%n", &thread, &i, &uid, &used) == 3;
	     p += used) {
		char *body;

		snprintf(id, sizeof(id), "C%dN%d", thread, i);
		body = read_queue_body(st, id);
		crash_body(thread, i, expect, sizeof(expect));
		if (!T_STREQ(body, expect) ||
		    !T_INTEQ(store_queue_get(st, id, &e, NULL), 1) || !T_INTEQ(e.rcpt_count, 2))
			fprintf(stderr, "  queue entry %s lost or damaged\n", id);
		else
			T_STREQ(e.rcpts[1].address, "second@remote.example");
		store_queue_entry_deinit(&e);
		mem_free(&body);
		checked++;
	}
	T_ASSERT(checked >= CRASH_LINES);
	if (T_INTEQ(store_queue_list(st, &list, &n, NULL), 1)) {
		T_ASSERT(n >= checked);
		for (size_t k = 0; k < n; k++) {
			char *body = read_queue_body(st, list[k].queue_id);

			T_ASSERT(body != NULL && strlen(body) == list[k].size);
			T_INTEQ(list[k].rcpt_count, 2);
			mem_free(&body);
		}
	}
	store_queue_list_free(&list, n);
}

static void
test_sqlite_queue_crash(void)
{
	char *dir = new_data_dir(), *report = NULL;
	struct store *st = open_store("sqlite", dir);

	if (st == NULL)
		goto out;
	store_close(&st);
	report = crash_run_child(dir, 0);
	if (report != NULL && (st = open_store("sqlite", dir)) != NULL) {
		T_INTEQ(count_files(dir, "tmp"), 0); /* the dead writer's files went on open */
		crash_verify_queue(st, report);
		store_close(&st);
	}
	mem_free(&report);
out:
	mem_free(&dir);
}

/*
 * SQLite schema upgrade 6 -> 7
 */
/* A version 6 database upgrades in place: its queue entries stay and read
 * as received without SMTPUTF8 (not recorded then, RFC 6531 3.4), new
 * entries keep the flag, and the schema ends up that of a new database. */
static void
test_sqlite_migrate_v6(void)
{
	struct store_queue_envelope_rcpt rcpt = { "bob@remote.example", NULL, 0 };
	struct store_queue_envelope env = { "alice@example.com", NULL, STORE_QUEUE_RET_NONE, 0,
					    &rcpt, 1, false, true };
	char *dir = new_data_dir(), *fresh_dir = new_data_dir(), *text = NULL;
	struct store_queue_entry e;
	struct store *st;

	if (!T_INTEQ(mkdir(dir, 0700), 0) || !T_INTEQ(db_exec(dir, sqlite_schema_v1_sql), 0))
		goto out;
	for (int i = 0; i < 5; i++) {
		if (!T_INTEQ(db_exec(dir, sqlite_schema_migrations[i]), 0))
			goto out;
	}
	if (!T_INTEQ(db_exec(dir,
			     "INSERT INTO schema_version VALUES (6);"
			     "INSERT INTO blobs (id, size) VALUES"
			     " ('0123456789abcdef0123456789abcdef', 4);"
			     "INSERT INTO queue (id, queue_id, blob_id, size, sender, arrival,"
			     " requiretls) VALUES (1, 'OLD1', '0123456789abcdef0123456789abcdef',"
			     " 4, 'a@example.com', 10, 1);"
			     "INSERT INTO queue_rcpts (entry_id, idx, address) VALUES"
			     " (1, 0, 'b@remote.example');"),
		     0))
		goto out;
	text = db_text(dir, "SELECT count(*) FROM pragma_table_info('queue')"
			    " WHERE name = 'smtputf8'");
	T_STREQ(text, "0");
	mem_free(&text);
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	text = db_text(dir, "SELECT group_concat(version) FROM schema_version");
	T_STREQ(text, "7");
	mem_free(&text);
	if (T_INTEQ(store_queue_get(st, "OLD1", &e, NULL), 1)) {
		T_STREQ(e.sender, "a@example.com");
		T_ASSERT(e.requiretls);
		T_ASSERT(!e.smtputf8);
		T_INTEQ(e.rcpt_count, 1);
	}
	store_queue_entry_deinit(&e);
	T_INTEQ(queue_text(st, "NEW1", "after the upgrade", &env, NULL), 1);
	store_close(&st);

	/* reopened: both as they were */
	if ((st = open_store("sqlite", dir)) == NULL)
		goto out;
	if (T_INTEQ(store_queue_get(st, "NEW1", &e, NULL), 1)) {
		T_ASSERT(e.smtputf8);
		T_ASSERT(!e.requiretls);
	}
	store_queue_entry_deinit(&e);
	if (T_INTEQ(store_queue_get(st, "OLD1", &e, NULL), 1))
		T_ASSERT(!e.smtputf8);
	store_queue_entry_deinit(&e);
	store_close(&st);

	schema_check_as_new(dir, fresh_dir, "smtputf8", NULL);
out:
	mem_free(&text);
	mem_free(&dir);
	mem_free(&fresh_dir);
}

static const struct test tests[] = {
	TEST_ENTRY(t_queue_basic_mem),
	TEST_ENTRY(t_queue_basic_sqlite),
	TEST_ENTRY(t_queue_failed_blob_mem),
	TEST_ENTRY(t_queue_failed_blob_sqlite),
	TEST_ENTRY(t_queue_schedule_mem),
	TEST_ENTRY(t_queue_schedule_sqlite),
	TEST_ENTRY(t_queue_flags_mem),
	TEST_ENTRY(t_queue_flags_sqlite),
	TEST_ENTRY(t_queue_finish_mem),
	TEST_ENTRY(t_queue_finish_sqlite),
	TEST_ENTRY(t_queue_and_mailboxes_mem),
	TEST_ENTRY(t_queue_and_mailboxes_sqlite),
	TEST_ENTRY(t_queue_concurrent_mem),
	TEST_ENTRY(t_queue_concurrent_sqlite),
	TEST_ENTRY(test_sqlite_queue_reopen),
	TEST_ENTRY(test_sqlite_queue_crash),
	TEST_ENTRY(test_sqlite_migrate_v6),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-queue", tests);
}
