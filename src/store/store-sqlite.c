/*
 * store-sqlite.c - the embedded store backend: SQLite index (posthorn.db)
 * plus one file per message body. This file opens and closes the store,
 * creates the directories and the schema, runs the connection pool and the
 * small SQL helpers the other store-sqlite-*.c files use.
 *
 * Layout under data_dir: posthorn.db (with -wal and -shm), blobs/00..ff/
 * holding bodies named by their blob id, tmp/ holding bodies being written.
 *
 * Database settings on every connection: WAL journal (readers never block
 * the writer), synchronous=FULL (a commit is on disk when COMMIT returns),
 * foreign keys enforced, a busy timeout for other processes.
 *
 * Invariants kept by the schema (see sqlite_schema_v1_sql, schema_migrations):
 * blobs.refcount equals the number of message and queue rows referencing the
 * blob and mailboxes.messages/size equal the count and sum of sizes of its
 * messages (triggers maintain both); a blob row exists only while
 * refcount > 0 outside a transaction. expunged holds one tombstone per UID
 * that left a mailbox (schema 5), written by sqlite_messages_remove and
 * removed only with its mailbox (ON DELETE CASCADE).
 *
 * Schema versions: sqlite_schema_v1_sql is the schema the first release
 * created and never changes; each later version is one step in
 * schema_migrations. A new database is made by running version 1 and then
 * every step, exactly as an old one is upgraded, so the two cannot drift
 * apart. Opening runs the missing steps and the version update in the one
 * write transaction that checks the version: a crash leaves the old version
 * intact, and concurrent openers wait for each other. A database newer than
 * this program is refused. A released step is never edited; changes are new
 * steps.
 *
 * Does not: downgrade, or share a connection between threads at the same
 * time.
 */
#include "store/store-sqlite.h"

#include "core/mem.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Temporary files of live processes older than this are removed on open. */
#define SQLITE_TMP_GRACE_SECS (24 * 3600)

/* Version 1, as the first release created it. Never change it. */
const char sqlite_schema_v1_sql[] =
	"CREATE TABLE schema_version (version INTEGER NOT NULL);"
	"CREATE TABLE domains ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"            /* lowercase */
	" catchall TEXT);"
	"CREATE TABLE accounts ("
	" id INTEGER PRIMARY KEY,"
	" domain_id INTEGER NOT NULL REFERENCES domains(id),"
	" address TEXT NOT NULL,"
	" address_key TEXT NOT NULL UNIQUE,"     /* ASCII-lowercased address */
	" password_hash TEXT NOT NULL,"
	" quota_bytes INTEGER NOT NULL DEFAULT 0,"
	" quota_messages INTEGER NOT NULL DEFAULT 0,"
	" uidvalidity_last INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX accounts_domain ON accounts(domain_id);"
	"CREATE TABLE aliases ("
	" id INTEGER PRIMARY KEY,"
	" domain_id INTEGER NOT NULL REFERENCES domains(id),"
	" source TEXT NOT NULL,"
	" source_key TEXT NOT NULL,"
	" target TEXT NOT NULL,"
	" UNIQUE (source_key, target));"
	"CREATE INDEX aliases_domain ON aliases(domain_id);"
	"CREATE TABLE mailboxes ("
	" id INTEGER PRIMARY KEY,"
	" account_id INTEGER NOT NULL REFERENCES accounts(id),"
	" name TEXT NOT NULL,"
	" uidvalidity INTEGER NOT NULL,"
	" uidnext INTEGER NOT NULL DEFAULT 1,"
	" highest_modseq INTEGER NOT NULL DEFAULT 0,"
	" special_use INTEGER NOT NULL DEFAULT 0,"
	" subscribed INTEGER NOT NULL DEFAULT 0,"  /* unused since 6: table subscriptions */
	" messages INTEGER NOT NULL DEFAULT 0,"
	" size INTEGER NOT NULL DEFAULT 0,"
	" UNIQUE (account_id, name));"
	"CREATE TABLE blobs ("
	" id TEXT PRIMARY KEY,"
	" size INTEGER NOT NULL,"
	" refcount INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	"CREATE INDEX blobs_unreferenced ON blobs(refcount) WHERE refcount = 0;"
	"CREATE TABLE messages ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id),"
	" uid INTEGER NOT NULL,"
	" blob_id TEXT NOT NULL REFERENCES blobs(id),"
	" size INTEGER NOT NULL,"
	" flags INTEGER NOT NULL DEFAULT 0,"
	" keywords TEXT,"
	" modseq INTEGER NOT NULL,"
	" internaldate INTEGER NOT NULL,"
	" savedate INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX messages_blob ON messages(blob_id);"
	"CREATE TRIGGER messages_insert AFTER INSERT ON messages BEGIN"
	" UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob_id;"
	" UPDATE mailboxes SET messages = messages + 1, size = size + NEW.size"
	"  WHERE id = NEW.mailbox_id;"
	" END;"
	"CREATE TRIGGER messages_delete AFTER DELETE ON messages BEGIN"
	" UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob_id;"
	" UPDATE mailboxes SET messages = messages - 1, size = size - OLD.size"
	"  WHERE id = OLD.mailbox_id;"
	" END;";

/* schema_migrations[i] takes the database from version i + 1 to i + 2. */
static const char *const schema_migrations[] = {
	/* 2: SCRAM secrets beside the password hash; NULL for older accounts. */
	"ALTER TABLE accounts ADD COLUMN scram_secret TEXT;",

	/* 3: the outbound queue. An entry holds one reference to its body blob
	 * (the triggers), like a message. submitter is a plain number, not a
	 * foreign key: deleting an account does not touch mail it sent. States
	 * and times as in store.h; queue_rcpts_due serves store_queue_due. */
	"CREATE TABLE queue ("
	" id INTEGER PRIMARY KEY,"
	" queue_id TEXT NOT NULL UNIQUE,"
	" blob_id TEXT NOT NULL REFERENCES blobs(id),"
	" size INTEGER NOT NULL,"
	" sender TEXT NOT NULL,"                 /* '' = null sender */
	" envid TEXT,"
	" ret INTEGER NOT NULL DEFAULT 0,"
	" submitter INTEGER NOT NULL DEFAULT 0,"
	" arrival INTEGER NOT NULL,"
	" hold INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX queue_blob ON queue(blob_id);"
	"CREATE TABLE queue_rcpts ("
	" entry_id INTEGER NOT NULL REFERENCES queue(id),"
	" idx INTEGER NOT NULL,"
	" address TEXT NOT NULL,"
	" orcpt TEXT,"
	" notify INTEGER NOT NULL DEFAULT 0,"
	" state INTEGER NOT NULL DEFAULT 0,"
	" attempts INTEGER NOT NULL DEFAULT 0,"
	" last_attempt INTEGER NOT NULL DEFAULT 0,"
	" next_attempt INTEGER NOT NULL DEFAULT 0,"
	" status TEXT,"
	" dsn TEXT,"
	" PRIMARY KEY (entry_id, idx)) WITHOUT ROWID;"
	"CREATE INDEX queue_rcpts_due ON queue_rcpts(next_attempt) WHERE state IN (0, 1);"
	"CREATE TRIGGER queue_insert AFTER INSERT ON queue BEGIN"
	" UPDATE blobs SET refcount = refcount + 1 WHERE id = NEW.blob_id;"
	" END;"
	"CREATE TRIGGER queue_delete AFTER DELETE ON queue BEGIN"
	" UPDATE blobs SET refcount = refcount - 1 WHERE id = OLD.blob_id;"
	" END;",

	/* 4: mailbox ACLs (RFC 4314). An entry names an account (account_id,
	 * special 0) or a special identifier (account_id NULL, special 1
	 * "anyone" or 2 "authenticated"); rights are canonical. Entries go with
	 * their mailbox and their account (ON DELETE CASCADE); acl_account
	 * serves that cascade and the shared-mailbox listing. */
	"CREATE TABLE acl ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" account_id INTEGER REFERENCES accounts(id) ON DELETE CASCADE,"
	" special INTEGER NOT NULL DEFAULT 0,"
	" rights TEXT NOT NULL,"
	" CHECK ((account_id IS NULL) = (special != 0)));"
	"CREATE UNIQUE INDEX acl_entry ON acl(mailbox_id, ifnull(account_id, 0), special);"
	"CREATE INDEX acl_account ON acl(account_id);",

	/* 5: expunge tombstones for QRESYNC (RFC 7162 3.2.5): the UIDs that
	 * left a mailbox and the modseq of their expunge. They go with their
	 * mailbox (ON DELETE CASCADE). A UID is never reused in a mailbox, so
	 * (mailbox_id, uid) is unique; expunged_modseq serves VANISHED (UID
	 * FETCH ... CHANGEDSINCE, SELECT ... QRESYNC) with a recent modseq in a
	 * mailbox with a long history. */
	"CREATE TABLE expunged ("
	" mailbox_id INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	" uid INTEGER NOT NULL,"
	" modseq INTEGER NOT NULL,"
	" PRIMARY KEY (mailbox_id, uid)) WITHOUT ROWID;"
	"CREATE INDEX expunged_modseq ON expunged(mailbox_id, modseq);",

	/* 6: \Recent (RFC 3501 2.3.2): mailboxes.recent_uid is the first UID
	 * no session has claimed yet; nothing is recent after the upgrade.
	 * Subscriptions (RFC 9051 6.3.7) outlive their mailbox, so they move
	 * to their own table, keyed by account and name. The queue keeps
	 * REQUIRETLS (RFC 8689) per entry and notice flags per recipient
	 * (delay notice sent, success notice owed). MTA-STS (RFC 8461 5.1)
	 * policies are cached per domain. */
	"ALTER TABLE mailboxes ADD COLUMN recent_uid INTEGER NOT NULL DEFAULT 1;"
	"UPDATE mailboxes SET recent_uid = uidnext;"
	"CREATE TABLE subscriptions ("
	" account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
	" name TEXT NOT NULL,"
	" PRIMARY KEY (account_id, name)) WITHOUT ROWID;"
	"INSERT INTO subscriptions SELECT account_id, name FROM mailboxes WHERE subscribed != 0;"
	"ALTER TABLE queue ADD COLUMN requiretls INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE queue_rcpts ADD COLUMN flags INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE sts_policies ("
	" domain TEXT PRIMARY KEY,"              /* lowercase */
	" policy_id TEXT NOT NULL,"              /* id= of the _mta-sts TXT record */
	" policy TEXT NOT NULL,"                 /* the policy file as fetched */
	" fetched INTEGER NOT NULL,"
	" expires INTEGER NOT NULL) WITHOUT ROWID;",

	/* 7: the queue keeps per entry whether the message came with SMTPUTF8
	 * (RFC 6531 3.4: its next hop must offer SMTPUTF8 too); entries queued
	 * before the upgrade did not record it and count as without. */
	"ALTER TABLE queue ADD COLUMN smtputf8 INTEGER NOT NULL DEFAULT 0;",
};

const char *const *const sqlite_schema_migrations = schema_migrations;

#define SQLITE_SCHEMA_VERSION ((int)N_ELEMENTS(schema_migrations) + 1)

const char *
sqlite_error(struct sqlite_conn *c, const char *what)
{
	return store_error_printf("%s: %s", what, sqlite3_errmsg(c->db));
}

/*
 * Connections and statements
 */
static void
sqlite_conn_free(struct sqlite_conn *c)
{
	for (size_t i = 0; i < c->stmt_count; i++)
		sqlite3_finalize(c->stmts[i].stmt);
	sqlite3_close(c->db);
	mem_free(&c);
}

static struct sqlite_conn *
sqlite_conn_open(struct sqlite_store *s, const char **error_r)
{
	static const char setup[] = "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
				    "PRAGMA foreign_keys = ON;";
	struct sqlite_conn *c = mem_zalloc(sizeof(*c));
	int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;

	if (sqlite3_open_v2(s->db_path, &c->db, flags, NULL) != SQLITE_OK) {
		*error_r = c->db == NULL ? "sqlite3_open: out of memory"
					 : sqlite_error(c, "opening the database");
		sqlite_conn_free(c);
		return NULL;
	}
	sqlite3_extended_result_codes(c->db, 1);
	sqlite3_busy_timeout(c->db, SQLITE_BUSY_TIMEOUT_MSECS);
	if (sqlite3_exec(c->db, setup, NULL, NULL, NULL) != SQLITE_OK) {
		*error_r = sqlite_error(c, "setting up the database connection");
		sqlite_conn_free(c);
		return NULL;
	}
	return c;
}

struct sqlite_conn *
sqlite_conn_get(struct sqlite_store *s, const char **error_r)
{
	struct sqlite_conn *c;

	pthread_mutex_lock(&s->pool_lock);
	c = s->idle;
	if (c != NULL)
		s->idle = c->next;
	pthread_mutex_unlock(&s->pool_lock);
	if (c == NULL)
		c = sqlite_conn_open(s, error_r);
	return c;
}

void
sqlite_conn_put(struct sqlite_store *s, struct sqlite_conn *c)
{
	ASSERT(sqlite3_get_autocommit(c->db));
	pthread_mutex_lock(&s->pool_lock);
	c->next = s->idle;
	s->idle = c;
	pthread_mutex_unlock(&s->pool_lock);
}

sqlite3_stmt *
sqlite_stmt(struct sqlite_conn *c, const char *sql, const char **error_r)
{
	sqlite3_stmt *st;

	for (size_t i = 0; i < c->stmt_count; i++) {
		if (c->stmts[i].sql == sql)
			return c->stmts[i].stmt;
	}
	if (c->stmt_count == SQLITE_STMT_CACHE_MAX)
		PANIC("more than %d distinct SQL statements", SQLITE_STMT_CACHE_MAX);
	if (sqlite3_prepare_v3(c->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
	    SQLITE_OK) {
		*error_r = sqlite_error(c, "preparing a statement");
		return NULL;
	}
	c->stmts[c->stmt_count].sql = sql;
	c->stmts[c->stmt_count++].stmt = st;
	return st;
}

void
sqlite_stmt_done(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

int
sqlite_step(struct sqlite_conn *c, sqlite3_stmt *st, const char **error_r)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 1;
	case SQLITE_DONE:
		sqlite_stmt_done(st);
		return 0;
	default:
		*error_r = sqlite_error(c, "database");
		sqlite_stmt_done(st);
		return -1;
	}
}

static int
sqlite_run_v(struct sqlite_conn *c, const char **error_r, sqlite3_stmt **st_r, const char *sql,
	     const char *types, va_list ap)
{
	sqlite3_stmt *st = sqlite_stmt(c, sql, error_r);
	int ret;

	*st_r = NULL;
	if (st == NULL)
		return -1;
	for (int i = 0; types[i] != '\0'; i++) {
		if (types[i] == 'i')
			sqlite3_bind_int64(st, i + 1, va_arg(ap, int64_t));
		else if (types[i] == 's')
			sqlite3_bind_text(st, i + 1, va_arg(ap, const char *), -1, SQLITE_STATIC);
		else
			PANIC("bad bind type '%c'", types[i]);
	}
	ret = sqlite_step(c, st, error_r);
	if (ret > 0)
		*st_r = st;
	return ret;
}

int
sqlite_run(struct sqlite_conn *c, const char **error_r, sqlite3_stmt **st_r, const char *sql,
	   const char *types, ...)
{
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = sqlite_run_v(c, error_r, st_r, sql, types, ap);
	va_end(ap);
	return ret;
}

int
sqlite_exec(struct sqlite_conn *c, const char **error_r, const char *sql, const char *types, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int ret;

	va_start(ap, types);
	ret = sqlite_run_v(c, error_r, &st, sql, types, ap);
	va_end(ap);
	if (ret > 0)
		sqlite_stmt_done(st);
	return ret < 0 ? -1 : 1;
}

int
sqlite_begin(struct sqlite_store *s, struct sqlite_conn *c, const char **error_r)
{
	pthread_mutex_lock(&s->write_lock);
	if (sqlite_exec(c, error_r, "BEGIN IMMEDIATE", "") < 0) {
		pthread_mutex_unlock(&s->write_lock);
		return -1;
	}
	return 1;
}

void
sqlite_rollback(struct sqlite_store *s, struct sqlite_conn *c)
{
	const char *error;

	/* SQLite may have rolled back already after an I/O or disk-full error. */
	if (!sqlite3_get_autocommit(c->db))
		(void)sqlite_exec(c, &error, "ROLLBACK", "");
	pthread_mutex_unlock(&s->write_lock);
}

int
sqlite_commit(struct sqlite_store *s, struct sqlite_conn *c, const char **error_r)
{
	if (sqlite_exec(c, error_r, "COMMIT", "") < 0) {
		sqlite_rollback(s, c);
		return -1;
	}
	pthread_mutex_unlock(&s->write_lock);
	return 1;
}

int
sqlite_end(struct sqlite_store *s, struct sqlite_conn *c, int ret, const char **error_r)
{
	if (ret < 0) {
		sqlite_rollback(s, c);
		return -1;
	}
	return sqlite_commit(s, c, error_r) < 0 ? -1 : ret;
}

char *
sqlite_column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *text = sqlite3_column_text(st, col);

	return text == NULL ? NULL : mem_strdup((const char *)text);
}

void
sqlite_blob_rel(const char *id, char rel_r[SQLITE_BLOB_REL_SIZE])
{
	snprintf(rel_r, SQLITE_BLOB_REL_SIZE, "%.2s/%s", id, id);
}

/*
 * Directories and schema
 */
static int
open_dir(int at_fd, const char *path, const char **error_r)
{
	int fd;

	if (mkdirat(at_fd, path, 0700) < 0 && errno != EEXIST) {
		*error_r = store_error_printf("mkdir %s: %s", path, strerror(errno));
		return -1;
	}
	fd = openat(at_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		*error_r = store_error_printf("open %s: %s", path, strerror(errno));
	return fd;
}

/* Create the 256 body directories once, and make their entries durable
 * before any body is renamed into them. */
static int
make_blob_dirs(struct sqlite_store *s, const char **error_r)
{
	char name[3];

	for (unsigned i = 0; i < 256; i++) {
		snprintf(name, sizeof(name), "%02x", i);
		if (mkdirat(s->blobs_fd, name, 0700) < 0 && errno != EEXIST) {
			*error_r = store_error_printf("mkdir blobs/%s: %s", name, strerror(errno));
			return -1;
		}
	}
	if (fsync(s->blobs_fd) < 0 || fsync(s->dir_fd) < 0) {
		*error_r = store_error_printf("fsync of the data directory: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Inside the write transaction: create version 1 when the database is
 * empty, then run every missing migration step. */
static int
schema_create(struct sqlite_conn *c, const char **error_r)
{
	sqlite3_stmt *st;
	int ret, version;

	ret = sqlite_run(c, error_r, &st,
			 "SELECT 1 FROM sqlite_master"
			 " WHERE type = 'table' AND name = 'schema_version'",
			 "");
	if (ret < 0)
		return -1;
	if (ret > 0) {
		sqlite_stmt_done(st);
	} else {
		if (sqlite3_exec(c->db, sqlite_schema_v1_sql, NULL, NULL, NULL) != SQLITE_OK) {
			*error_r = sqlite_error(c, "creating the schema");
			return -1;
		}
		if (sqlite_exec(c, error_r, "INSERT INTO schema_version VALUES (1)", "") < 0)
			return -1;
	}
	if (sqlite_run(c, error_r, &st, "SELECT max(version) FROM schema_version", "") <= 0)
		return -1;
	version = sqlite3_column_int(st, 0);
	sqlite_stmt_done(st);
	if (version < 1 || version > SQLITE_SCHEMA_VERSION) {
		*error_r = store_error_printf("database schema version %d, this program knows "
					      "1 to %d", version, SQLITE_SCHEMA_VERSION);
		return -1;
	}
	for (; version < SQLITE_SCHEMA_VERSION; version++) {
		if (sqlite3_exec(c->db, schema_migrations[version - 1], NULL, NULL, NULL) !=
		    SQLITE_OK) {
			*error_r = store_error_printf("upgrading the schema to version %d: %s",
						      version + 1, sqlite3_errmsg(c->db));
			return -1;
		}
		if (sqlite_exec(c, error_r, "UPDATE schema_version SET version = ?1", "i",
				(int64_t)version + 1) < 0)
			return -1;
	}
	return 1;
}

static int
schema_init(struct sqlite_store *s, const char **error_r)
{
	struct sqlite_conn *c = sqlite_conn_get(s, error_r);
	sqlite3_stmt *st;
	int ret;

	if (c == NULL)
		return -1;
	ret = sqlite_run(c, error_r, &st, "PRAGMA journal_mode", "");
	if (ret > 0) {
		if (strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
			*error_r = "the database cannot use WAL mode on this file system";
			ret = -1;
		}
		sqlite_stmt_done(st);
	}
	if (ret > 0 && sqlite_begin(s, c, error_r) > 0) {
		ret = schema_create(c, error_r);
		if (ret > 0)
			ret = sqlite_commit(s, c, error_r);
		else
			sqlite_rollback(s, c);
	}
	sqlite_conn_put(s, c);
	return ret > 0 ? 0 : -1;
}

/*
 * Temporary files
 */
/* A tmp/ entry "<pid>.<id>": is its writer gone? Unparsable names count as
 * gone (nothing of ours makes them). */
static bool
tmp_writer_gone(const char *name)
{
	char *end;
	unsigned long pid;

	errno = 0;
	pid = strtoul(name, &end, 10);
	if (errno != 0 || end == name || *end != '.' || pid == 0 || pid > INT32_MAX)
		return true;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

unsigned
sqlite_tmp_clean(struct sqlite_store *s, uint32_t grace_secs)
{
	int fd = openat(s->tmp_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *dir = fd < 0 ? NULL : fdopendir(fd);
	time_t now = time(NULL);
	unsigned removed = 0;
	struct dirent *d;
	struct stat st;

	if (dir == NULL) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	while ((d = readdir(dir)) != NULL) {
		if (d->d_name[0] == '.' || fstatat(s->tmp_fd, d->d_name, &st, 0) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!tmp_writer_gone(d->d_name) && now - st.st_mtime < (time_t)grace_secs)
			continue;
		if (unlinkat(s->tmp_fd, d->d_name, 0) == 0)
			removed++;
	}
	closedir(dir);
	return removed;
}

/*
 * Open and close
 */
static void
sqlite_close(struct store *store)
{
	struct sqlite_store *s = (struct sqlite_store *)store;

	while (s->idle != NULL) {
		struct sqlite_conn *c = s->idle;

		s->idle = c->next;
		sqlite_conn_free(c);
	}
	sqlite_commit_queue_deinit(&s->queue);
	pthread_mutex_destroy(&s->pool_lock);
	pthread_mutex_destroy(&s->write_lock);
	if (s->tmp_fd >= 0)
		close(s->tmp_fd);
	if (s->blobs_fd >= 0)
		close(s->blobs_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	mem_free(&s->db_path);
	mem_free(&s);
}

static int
sqlite_open(const struct store_settings *set, struct store **store_r, const char **error_r)
{
	struct sqlite_store *s;
	size_t len;

	if (set->data_dir == NULL || set->data_dir[0] == '\0') {
		*error_r = "the sqlite store needs a data directory";
		return -1;
	}
	s = mem_zalloc(sizeof(*s));
	s->store.v = &store_vfuncs_sqlite;
	s->dir_fd = s->blobs_fd = s->tmp_fd = -1;
	pthread_mutex_init(&s->pool_lock, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	sqlite_commit_queue_init(&s->queue);
	len = mem_size_add(strlen(set->data_dir), sizeof("/posthorn.db"));
	s->db_path = mem_alloc(len);
	snprintf(s->db_path, len, "%s/posthorn.db", set->data_dir);

	if ((s->dir_fd = open_dir(AT_FDCWD, set->data_dir, error_r)) < 0 ||
	    (s->blobs_fd = open_dir(s->dir_fd, "blobs", error_r)) < 0 ||
	    (s->tmp_fd = open_dir(s->dir_fd, "tmp", error_r)) < 0 ||
	    make_blob_dirs(s, error_r) < 0 || schema_init(s, error_r) < 0) {
		sqlite_close(&s->store);
		return -1;
	}
	(void)sqlite_tmp_clean(s, SQLITE_TMP_GRACE_SECS);
	*store_r = &s->store;
	return 1;
}

const struct store_vfuncs store_vfuncs_sqlite = {
	.name = "sqlite",
	.open = sqlite_open,
	.close = sqlite_close,
	.domain_add = sqlite_domain_add,
	.domain_del = sqlite_domain_del,
	.domain_list = sqlite_domain_list,
	.domain_lookup = sqlite_domain_lookup,
	.domain_set_catchall = sqlite_domain_set_catchall,
	.account_add = sqlite_account_add,
	.account_del = sqlite_account_del,
	.account_list = sqlite_account_list,
	.account_lookup = sqlite_account_lookup,
	.account_set_password = sqlite_account_set_password,
	.account_may_send_as = sqlite_account_may_send_as,
	.alias_add = sqlite_alias_add,
	.alias_del = sqlite_alias_del,
	.alias_list = sqlite_alias_list,
	.alias_lookup = sqlite_alias_lookup,
	.mailbox_lookup = sqlite_mailbox_lookup,
	.mailbox_list = sqlite_mailbox_list,
	.mailbox_create = sqlite_mailbox_create,
	.mailbox_delete = sqlite_mailbox_delete,
	.mailbox_rename = sqlite_mailbox_rename,
	.mailbox_set_subscribed = sqlite_mailbox_set_subscribed,
	.subscription_list = sqlite_subscription_list,
	.blob_begin = sqlite_blob_begin,
	.blob_write = sqlite_blob_write,
	.blob_abort = sqlite_blob_abort,
	.deliver = sqlite_deliver,
	.deliver_multi = sqlite_deliver_multi,
	.message_list = sqlite_message_list,
	.message_open = sqlite_message_open,
	.message_expunge = sqlite_message_expunge,
	.message_set_flags = sqlite_message_set_flags,
	.message_copy = sqlite_message_copy,
	.message_vanished = sqlite_message_vanished,
	.account_set_quota = sqlite_account_set_quota,
	.account_usage = sqlite_account_usage,
	.queue_add = sqlite_queue_add,
	.queue_list = sqlite_queue_list,
	.queue_due = sqlite_queue_due,
	.queue_get = sqlite_queue_get,
	.queue_delete = sqlite_queue_delete,
	.queue_set_hold = sqlite_queue_set_hold,
	.queue_flush = sqlite_queue_flush,
	.queue_open_body = sqlite_queue_open_body,
	.queue_update_rcpt = sqlite_queue_update_rcpt,
	.gc = sqlite_gc,
	.mailbox_modseq = sqlite_mailbox_modseq,
	.acl_set = sqlite_acl_set,
	.acl_get = sqlite_acl_get,
	.acl_lookup = sqlite_acl_lookup,
	.acl_shared = sqlite_acl_shared,
	.mailbox_claim_recent = sqlite_mailbox_claim_recent,
	.mailbox_recent = sqlite_mailbox_recent,
	.sts_get = sqlite_sts_get,
	.sts_put = sqlite_sts_put,
	.sts_delete = sqlite_sts_delete,
};
