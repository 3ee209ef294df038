/*
 * test-store-util.h - helpers shared by the store's test programs
 * (test-store.c, test-store-queue.c): data directories, running one test
 * function against both backends, small delivery and queue helpers, and the
 * SIGKILL crash harness.
 *
 * Only test-*.c include this. Everything is static inline, so that each
 * program uses what it needs without unused-function warnings, and nothing
 * of it reaches libstore.a (the Makefile puts every other .c there).
 */
#ifndef STORE_TEST_STORE_UTIL_H
#define STORE_TEST_STORE_UTIL_H

#include "store/store.h"

#include "core/mem.h"
#include "core/test.h"

#include <dirent.h>
#include <sqlite3.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

typedef void backend_test_fn(struct store *st, const char *dir);

static inline char *
new_data_dir(void)
{
	static unsigned n;
	char path[512];

	snprintf(path, sizeof(path), "%s/data%u", test_tmpdir(), ++n);
	return mem_strdup(path);
}

static inline struct store *
open_store(const char *backend, const char *dir)
{
	struct store_settings set = { backend, dir };
	struct store *st = NULL;
	const char *error = NULL;

	if (!T_INTEQ(store_open(&set, &st, &error), 1))
		fprintf(stderr, "  store_open(%s): %s\n", backend, error);
	return st;
}

static inline void
run_backend(const char *backend, backend_test_fn *fn)
{
	char *dir = strcmp(backend, "sqlite") == 0 ? new_data_dir() : NULL;
	struct store *st = open_store(backend, dir);

	if (st != NULL) {
		fn(st, dir);
		store_close(&st);
		T_ASSERT(st == NULL);
	}
	mem_free(&dir);
}

#define BOTH(fn) \
	static void fn##_mem(void) \
	{ \
		run_backend("mem", fn); \
	} \
	static void fn##_sqlite(void) \
	{ \
		run_backend("sqlite", fn); \
	}

/*
 * Helpers
 */
static inline uint64_t
add_account(struct store *st, const char *address)
{
	const char *at = strrchr(address, '@');
	uint64_t id = 0;
	const char *error = NULL;

	T_ASSERT(store_domain_add(st, at + 1, &error) >= 0);
	if (!T_INTEQ(store_account_add(st, address, "$y$hash", NULL, &id, &error), 1))
		fprintf(stderr, "  account_add %s: %s\n", address, error);
	return id;
}

static inline uint64_t
mailbox_id(struct store *st, uint64_t account, const char *name)
{
	struct store_mailbox m;
	uint64_t id = 0;

	if (T_INTEQ(store_mailbox_lookup(st, account, name, &m, NULL), 1))
		id = m.id;
	store_mailbox_deinit(&m);
	return id;
}

static inline int
deliver_text(struct store *st, const char *text, const struct store_delivery_target *targets,
	     size_t count, struct store_delivery_result *results, const char **error_r)
{
	struct store_blob *blob;

	if (store_blob_begin(st, &blob, error_r) != 1)
		return -1;
	/* in pieces, as the protocol glue writes them */
	for (size_t off = 0, len = strlen(text); off < len; off += 7) {
		if (store_blob_write(blob, text + off, len - off < 7 ? len - off : 7) < 0) {
			store_blob_abort(&blob);
			return -1;
		}
	}
	return store_deliver(st, &blob, targets, count, results, error_r);
}

static inline int
deliver1(struct store *st, uint64_t account, const char *text, struct store_delivery_result *r)
{
	struct store_delivery_target t = { account, 0, 0, 0, NULL };
	const char *error = NULL;
	int ret = deliver_text(st, text, &t, 1, r, &error);

	if (ret != 1)
		fprintf(stderr, "  deliver: %s\n", error);
	return ret;
}

/* The body of a message as a string (NULL if it cannot be opened). */
static inline char *
read_body(struct store *st, uint64_t mailbox, uint32_t uid)
{
	uint64_t size;
	char *data;
	ssize_t n;
	int fd;

	if (store_message_open(st, mailbox, uid, &fd, &size, NULL) != 1)
		return NULL;
	data = mem_zalloc(size + 1);
	n = read(fd, data, size + 1);
	close(fd);
	if (n < 0 || (uint64_t)n != size)
		mem_free(&data);
	return data;
}

static inline bool
blob_file_exists(const char *dir, const char *id)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/blobs/%.2s/%s", dir, id, id);
	return access(path, F_OK) == 0;
}

/* Regular files in dir/sub (sub "blobs" counts all blobs/XX/ files). */
static inline unsigned
count_files(const char *dir, const char *sub)
{
	char path[600];
	unsigned n = 0;
	struct dirent *d;
	DIR *dh;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, sub) >= sizeof(path) ||
	    (dh = opendir(path)) == NULL)
		return 0;
	while ((d = readdir(dh)) != NULL) {
		char child[600];
		int len;

		if (d->d_name[0] == '.')
			continue;
		len = snprintf(child, sizeof(child), "%s/%s", sub, d->d_name);
		if (len < 0 || (size_t)len >= sizeof(child))
			continue;
		n += d->d_type == DT_DIR ? count_files(dir, child) : 1;
	}
	closedir(dh);
	return n;
}

/*
 * Outbound queue helpers
 */
static inline int
queue_text(struct store *st, const char *queue_id, const char *text,
	   const struct store_queue_envelope *env, const char **error_r)
{
	struct store_blob *blob;

	if (store_blob_begin(st, &blob, error_r) != 1)
		return -1;
	for (size_t off = 0, len = strlen(text); off < len; off += 5) {
		if (store_blob_write(blob, text + off, len - off < 5 ? len - off : 5) < 0) {
			store_blob_abort(&blob);
			return -1;
		}
	}
	return store_queue_add(st, &blob, env, queue_id, error_r);
}

/* One recipient to a remote address. */
static inline int
queue1(struct store *st, const char *queue_id, const char *text)
{
	struct store_queue_envelope_rcpt r = { "rcpt@remote.example", NULL, 0 };
	struct store_queue_envelope env = { "alice@example.com", NULL, STORE_QUEUE_RET_NONE, 0,
					    &r, 1, false, false };
	const char *error = NULL;
	int ret = queue_text(st, queue_id, text, &env, &error);

	if (ret != 1)
		fprintf(stderr, "  queue_add %s: %s\n", queue_id, error);
	return ret;
}

static inline char *
read_queue_body(struct store *st, const char *queue_id)
{
	uint64_t size;
	char *data;
	ssize_t n;
	int fd;

	if (store_queue_open_body(st, queue_id, &fd, &size, NULL) != 1)
		return NULL;
	data = mem_zalloc(size + 1);
	n = read(fd, data, size + 1);
	close(fd);
	if (n < 0 || (uint64_t)n != size)
		mem_free(&data);
	return data;
}

/*
 * Crash harness: a child process delivers (or queues) in several threads
 * and reports each message it was told is durable; it is SIGKILLed midway,
 * and the parent checks that every reported message is there, exact.
 */
#define CRASH_THREADS 4
#define CRASH_LINES 120

static inline size_t
crash_body(int thread, int i, char *buf, size_t size)
{
	int len = snprintf(buf, size, "Subject: thread %d message %d\r\n\r\n", thread, i);
	size_t fill = (size_t)(i * 131 % 3000);

	for (size_t k = 0; k < fill && (size_t)len + k + 1 < size; k++)
		buf[len + k] = (char)('a' + (k + (size_t)i) % 26);
	len += (int)fill;
	buf[len] = '\0';
	return (size_t)len;
}

struct crash_ctx {
	struct store *st;
	uint64_t account; /* 0: queue instead of delivering */
	int thread, fd;
};

static const struct store_queue_envelope_rcpt crash_rcpts[2] = {
	{ "first@remote.example", NULL, 0 },
	{ "second@remote.example", NULL, STORE_QUEUE_NOTIFY_NEVER },
};

static inline void *
crash_thread(void *arg)
{
	struct crash_ctx *ctx = arg;
	struct store_queue_envelope env = { "", NULL, STORE_QUEUE_RET_NONE, 0,
					    crash_rcpts, 2, false, false };
	struct store_delivery_result r = { 0, 0, 0 };
	char body[4096], line[64], id[32];
	const char *error;

	for (int i = 0;; i++) {
		crash_body(ctx->thread, i, body, sizeof(body));
		snprintf(id, sizeof(id), "C%dN%d", ctx->thread, i);
		if (ctx->account == 0 ? queue_text(ctx->st, id, body, &env, &error) != 1
				      : deliver1(ctx->st, ctx->account, body, &r) != 1)
			_exit(1);
		/* one write of less than PIPE_BUF: lines never interleave */
		snprintf(line, sizeof(line), "%d %d %u\n", ctx->thread, i, r.uid);
		if (write(ctx->fd, line, strlen(line)) < 0)
			_exit(1);
	}
	return NULL;
}

static inline void
crash_child(const char *dir, uint64_t account, int fd)
{
	struct crash_ctx ctx[CRASH_THREADS];
	pthread_t threads[CRASH_THREADS];
	struct store *st = open_store("sqlite", dir);

	if (st == NULL)
		_exit(1);
	for (int i = 0; i < CRASH_THREADS; i++) {
		ctx[i] = (struct crash_ctx){ st, account, i, fd };
		pthread_create(&threads[i], NULL, crash_thread, &ctx[i]);
	}
	for (int i = 0; i < CRASH_THREADS; i++)
		pthread_join(threads[i], NULL);
	_exit(1);
}

/* Read the child's report until enough lines came, kill it, read the rest. */
static inline char *
crash_collect(pid_t pid, int fd)
{
	size_t len = 0, cap = 1 << 20, lines = 0;
	char *out = mem_zalloc(cap + 1);
	bool killed = false;

	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		ssize_t n;

		if (poll(&pfd, 1, 30000) <= 0) {
			T_ASSERT(!"child stalled");
			kill(pid, SIGKILL);
			break;
		}
		n = read(fd, out + len, cap - len);
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			lines += out[len + (size_t)i] == '\n';
		len += (size_t)n;
		if (!killed && (lines >= CRASH_LINES || len > cap / 2)) {
			kill(pid, SIGKILL);
			killed = true;
		}
	}
	T_ASSERT(killed);
	out[len] = '\0';
	return out;
}

/* Fork a child that delivers to account (or, with account 0, queues) in
 * CRASH_THREADS threads of its own store on dir, SIGKILL it once it has
 * reported CRASH_LINES messages, and return its report: a line
 * "THREAD I UID" per message that it was told was durable (NULL when the
 * child could not be started). */
static inline char *
crash_run_child(const char *dir, uint64_t account)
{
	char *report;
	int p[2], status;
	pid_t pid;

	if (!T_INTEQ(pipe(p), 0))
		return NULL;
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(p[0]);
		crash_child(dir, account, p[1]);
	}
	close(p[1]);
	report = crash_collect(pid, p[0]);
	close(p[0]);
	waitpid(pid, &status, 0);
	T_ASSERT(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
	return report;
}

/* Run sql on the SQLite file of a store directory (schema upgrade tests). */
static inline int
db_exec(const char *dir, const char *sql)
{
	char path[600];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/posthorn.db", dir);
	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		fprintf(stderr, "  %s: %s\n", path, db != NULL ? sqlite3_errmsg(db) : "no memory");
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The first column of sql's first row there as text, or NULL (free it). */
static inline char *
db_text(const char *dir, const char *sql)
{
	char path[600], *out = NULL;
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;

	snprintf(path, sizeof(path), "%s/posthorn.db", dir);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0) != NULL)
		out = mem_strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

/* The whole schema as one text, to compare an upgraded database with a new one. */
#define SCHEMA_QUERY \
	"SELECT group_concat(type || ' ' || name || ': ' || coalesce(sql, ''), char(10))" \
	" FROM (SELECT * FROM sqlite_master ORDER BY type, name)"


/* The upgraded database in dir has exactly the schema of a new one (made in
 * fresh_dir), which has must1 (and must2, if not NULL) in it. */
static inline void
schema_check_as_new(const char *dir, const char *fresh_dir, const char *must1, const char *must2)
{
	struct store *st = open_store("sqlite", fresh_dir);
	char *text, *fresh;

	if (!T_ASSERT(st != NULL))
		return;
	store_close(&st);
	text = db_text(dir, SCHEMA_QUERY);
	fresh = db_text(fresh_dir, SCHEMA_QUERY);
	T_ASSERT(text != NULL && strstr(text, must1) != NULL &&
		 (must2 == NULL || strstr(text, must2) != NULL));
	T_STREQ(text, fresh);
	mem_free(&text);
	mem_free(&fresh);
}

#endif
