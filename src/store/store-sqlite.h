/*
 * store-sqlite.h - internals shared by the store-sqlite*.c files; nothing
 * outside src/store/ includes this.
 *
 * Connections: one sqlite3 handle is used by one thread at a time. Threads
 * borrow a handle from a pool (sqlite_conn_get/put), which opens another
 * one when all are busy; so there are at most as many handles as threads
 * that ever called the store at once. Each handle caches its prepared
 * statements, keyed by the SQL text's address (every SQL string is a literal).
 * A statement is reset before its handle goes back to the pool, so no read
 * transaction stays open behind a caller's back.
 *
 * Writers: write transactions take s->write_lock for their whole duration
 * (BEGIN IMMEDIATE .. COMMIT), so writers in this process queue on a mutex
 * instead of sleeping in SQLite's busy handler; the busy timeout remains for
 * other processes (admin commands) sharing the database.
 *
 * Files: all paths are relative to directory descriptors opened once
 * (data_dir, blobs/, tmp/); a body lives in blobs/XX/<id> where XX are the
 * first two hex digits of its id; a temporary body is tmp/<pid>.<id>.
 */
#ifndef STORE_STORE_SQLITE_H
#define STORE_STORE_SQLITE_H

#include "store/store-private.h"

#include <pthread.h>
#include <sqlite3.h>
#include <sys/types.h>

#define SQLITE_STMT_CACHE_MAX 128
#define SQLITE_BUSY_TIMEOUT_MSECS 10000
/* Relative path of a body below blobs/: "XX/" + id. */
#define SQLITE_BLOB_REL_SIZE (3 + STORE_BLOB_ID_LEN + 1)
/* Name of a temporary body in tmp/: "<pid>." + id. */
#define SQLITE_TMP_NAME_SIZE (24 + STORE_BLOB_ID_LEN)

struct sqlite_conn {
	sqlite3 *db;
	struct sqlite_conn *next; /* in the idle list */
	size_t stmt_count;
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} stmts[SQLITE_STMT_CACHE_MAX];
};

/* One body of a store_deliver_multi call. */
struct sqlite_delivery_body {
	const char *blob_id;
	uint64_t size;
};

/* One store_deliver or store_queue_add call waiting for, or being handled
 * by, a group commit. A delivery has targets, a queue entry has env. */
struct sqlite_delivery {
	const char *blob_id;
	uint64_t size;
	const struct store_delivery_target *targets;
	size_t count;
	struct store_delivery_result *results;
	const struct store_queue_envelope *env;
	const char *queue_id;
	/* store_deliver_multi: multi[i] goes to targets[i] alone (count ==
	 * multi_count), all in one savepoint; blob_id and size unused */
	const struct sqlite_delivery_body *multi;
	size_t multi_count;
	int ret;         /* written by the leader: 1 ok, 0 queue id taken, -1 failed */
	bool done;       /* set under the queue lock once ret and results are final */
	char error[256]; /* when ret == -1 */
	struct sqlite_delivery *next;
};

struct sqlite_commit_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;             /* a batch finished */
	struct sqlite_delivery *head, **tail;
	bool leader_active;              /* some thread is committing a batch */
	uint64_t batches, deliveries;    /* statistics */
};

struct sqlite_store {
	struct store store;
	char *db_path;
	int dir_fd, blobs_fd, tmp_fd;
	pthread_mutex_t pool_lock;
	struct sqlite_conn *idle;
	pthread_mutex_t write_lock;
	struct sqlite_commit_queue queue;
};

/* A list of blob ids whose last reference went in a transaction. */
struct sqlite_blob_ids {
	char (*ids)[STORE_BLOB_ID_LEN + 1];
	size_t count;
};

/* store-sqlite.c */
/* The SQL of schema version 1 (frozen; the tests build old databases with it). */
extern const char sqlite_schema_v1_sql[];
/* sqlite_schema_migrations[i] takes a database from version i + 1 to i + 2
 * (for the tests that build databases of older versions). */
extern const char *const *const sqlite_schema_migrations;
struct sqlite_conn *sqlite_conn_get(struct sqlite_store *s, const char **error_r);
void sqlite_conn_put(struct sqlite_store *s, struct sqlite_conn *c);
/* The cached statement for sql (a string literal), reset and unbound; NULL on error. */
sqlite3_stmt *sqlite_stmt(struct sqlite_conn *c, const char *sql, const char **error_r);
/* Reset and unbind: call before the text bound with SQLITE_STATIC goes away. */
void sqlite_stmt_done(sqlite3_stmt *st);
/* sqlite3_step: 1 row (the statement stays positioned on it: finish with
 * sqlite_stmt_done), 0 done, -1 error (*error_r set). On 0 and -1 the
 * statement has been reset already. */
int sqlite_step(struct sqlite_conn *c, sqlite3_stmt *st, const char **error_r);
/* Prepare sql, bind the arguments described by types ('i': int64_t, 's':
 * const char *, NULL binds NULL) and step once. Returns like sqlite_step;
 * *st_r is the statement on 1 and NULL otherwise. Every integer argument
 * must be an int64_t (cast at the call). */
int sqlite_run(struct sqlite_conn *c, const char **error_r, sqlite3_stmt **st_r, const char *sql,
	       const char *types, ...);
/* sqlite_run for statements whose rows are not read: 1 ok, -1 error. */
int sqlite_exec(struct sqlite_conn *c, const char **error_r, const char *sql, const char *types,
		...);
/* "what: <sqlite message>" in the thread's error buffer. */
const char *sqlite_error(struct sqlite_conn *c, const char *what);
/* BEGIN IMMEDIATE under s->write_lock; COMMIT or ROLLBACK releases it. */
int sqlite_begin(struct sqlite_store *s, struct sqlite_conn *c, const char **error_r);
int sqlite_commit(struct sqlite_store *s, struct sqlite_conn *c, const char **error_r);
void sqlite_rollback(struct sqlite_store *s, struct sqlite_conn *c);
/* End a transaction begun with sqlite_begin: commit when ret >= 0, else roll
 * back. Returns ret, or -1 when the commit failed. */
int sqlite_end(struct sqlite_store *s, struct sqlite_conn *c, int ret, const char **error_r);
char *sqlite_column_strdup(sqlite3_stmt *st, int col);
void sqlite_blob_rel(const char *id, char rel_r[SQLITE_BLOB_REL_SIZE]);
/* Remove tmp/ files of processes that are gone, or older than grace_secs. */
unsigned sqlite_tmp_clean(struct sqlite_store *s, uint32_t grace_secs);

/* store-sqlite-account.c */
int sqlite_domain_add(struct store *store, const char *name, const char **error_r);
int sqlite_domain_del(struct store *store, const char *name, const char **error_r);
int sqlite_domain_list(struct store *store, struct store_domain **domains_r, size_t *count_r,
		       const char **error_r);
int sqlite_domain_lookup(struct store *store, const char *name, struct store_domain *domain_r,
			 const char **error_r);
int sqlite_domain_set_catchall(struct store *store, const char *name, const char *target,
			       const char **error_r);
int sqlite_account_add(struct store *store, const struct store_address *addr,
		       const char *password_hash, const char *scram_secret, uint64_t *id_r,
		       const char **error_r);
int sqlite_account_del(struct store *store, const char *key, const char **error_r);
int sqlite_account_list(struct store *store, const char *domain, struct store_account **accounts_r,
			size_t *count_r, const char **error_r);
int sqlite_account_lookup(struct store *store, const char *key, struct store_account *account_r,
			  const char **error_r);
int sqlite_account_set_password(struct store *store, const char *key, const char *password_hash,
				const char *scram_secret, const char **error_r);
int sqlite_account_may_send_as(struct store *store, uint64_t account_id, const char *key,
			       const char **error_r);
int sqlite_alias_add(struct store *store, const struct store_address *source, const char *target,
		     const char **error_r);
int sqlite_alias_del(struct store *store, const char *source_key, const char *target,
		     const char **error_r);
int sqlite_alias_list(struct store *store, const char *domain, struct store_alias **aliases_r,
		      size_t *count_r, const char **error_r);
int sqlite_alias_lookup(struct store *store, const char *source_key, char ***targets_r,
			size_t *count_r, const char **error_r);

/* store-sqlite-mailbox.c */
int sqlite_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
			  struct store_mailbox *mailbox_r, const char **error_r);
int sqlite_mailbox_list(struct store *store, uint64_t account_id,
			struct store_mailbox **mailboxes_r, size_t *count_r, const char **error_r);
int sqlite_mailbox_create(struct store *store, uint64_t account_id, const char *name,
			  unsigned special_use, uint64_t *id_r, const char **error_r);
int sqlite_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
			  const char **error_r);
int sqlite_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
			  const char *new_name, const char **error_r);
int sqlite_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
				  bool subscribed, const char **error_r);
int sqlite_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
			     size_t *count_r, const char **error_r);
/* Inside a transaction: add a mailbox with the account's next UIDVALIDITY,
 * and its name to the subscriptions when subscribed. 1 created, 0 exists,
 * -1 error (also when the account does not exist). */
int sqlite_mailbox_insert(struct sqlite_conn *c, uint64_t account_id, const char *name,
			  unsigned special_use, bool subscribed, uint64_t *id_r,
			  const char **error_r);

/* store-sqlite-message.c */
int sqlite_message_list(struct store *store, uint64_t mailbox_id,
			const struct store_message_query *query, struct store_message **messages_r,
			size_t *count_r, const char **error_r);
int sqlite_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
			uint64_t *size_r, const char **error_r);
int sqlite_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			   size_t count, const char **error_r);
int sqlite_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			     size_t count, const struct store_flag_change *change,
			     uint32_t **modified_r, size_t *modified_count_r, const char **error_r);
/* Inside a transaction: expunge uids (any order; missing ones skipped) from
 * a mailbox with tombstones and, when any went, one modseq bump; the blob
 * rows that lost their last reference go to unref. 1, 0 no such mailbox. */
int sqlite_messages_remove(struct sqlite_conn *c, uint64_t mailbox_id, const uint32_t *uids,
			   size_t count, struct sqlite_blob_ids *unref, const char **error_r);

/* store-sqlite-copy.c */
int sqlite_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
			size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
			uint32_t *dst_uidvalidity_r, const char **error_r);
int sqlite_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
			    uint32_t **uids_r, size_t *count_r, const char **error_r);
int sqlite_account_set_quota(struct store *store, const char *key, uint64_t bytes,
			     uint64_t messages, const char **error_r);
int sqlite_account_usage(struct store *store, uint64_t account_id, uint64_t *limits_r, uint64_t *bytes_r,
			 uint64_t *messages_r, const char **error_r);
/* Inside a transaction: RFC 9051 6.3.6 rename of INBOX to new_name (which
 * must not exist). 1, 0 no INBOX, -1. */
int sqlite_mailbox_rename_inbox_tx(struct sqlite_conn *c, uint64_t account_id,
				   const char *new_name, const char **error_r);
int sqlite_gc(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
	      const char **error_r);
/* Inside a transaction, after deleting messages: drop the blob rows that lost
 * their last reference and remember their ids. */
int sqlite_blobs_unreferenced(struct sqlite_conn *c, struct sqlite_blob_ids *ids_r,
			      const char **error_r);
/* After the commit: unlink those bodies and free the list. */
void sqlite_blobs_unlink(struct sqlite_store *s, struct sqlite_blob_ids *ids);

/* store-sqlite-queue.c */
/* Inside the leader's batch transaction: insert the entry of d (d->env).
 * 1, 0 queue id taken, -1 error. */
int sqlite_queue_insert(struct sqlite_conn *c, const struct sqlite_delivery *d, int64_t now,
			const char **error_r);
int sqlite_queue_list(struct store *store, struct store_queue_entry **entries_r,
		      size_t *count_r, const char **error_r);
int sqlite_queue_due(struct store *store, int64_t now, size_t max,
		     struct store_queue_entry **entries_r, size_t *count_r, const char **error_r);
int sqlite_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
		     const char **error_r);
int sqlite_queue_delete(struct store *store, const char *queue_id, const char **error_r);
int sqlite_queue_flush(struct store *store, const char *queue_id, int64_t now,
		       const char **error_r);
int sqlite_queue_set_hold(struct store *store, const char *queue_id, bool hold,
			  const char **error_r);
int sqlite_queue_open_body(struct store *store, const char *queue_id, int *fd_r,
			   uint64_t *size_r, const char **error_r);
int sqlite_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
			     const struct store_queue_rcpt_update *u, const char **error_r);

/* store-sqlite-acl.c */
int sqlite_mailbox_modseq(struct store *store, uint64_t mailbox_id, uint64_t *modseq_r,
			  const char **error_r);
int sqlite_acl_set(struct store *store, uint64_t mailbox_id, const struct store_acl_key *key,
		   const char *rights, const char **error_r);
int sqlite_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
		   size_t *count_r, const char **error_r);
int sqlite_acl_lookup(struct store *store, uint64_t mailbox_id, uint64_t account_id,
		      uint64_t *owner_r, char rights_r[STORE_ACL_LOOKUP_SIZE],
		      const char **error_r);
int sqlite_acl_shared(struct store *store, uint64_t account_id,
		      struct store_acl_shared **shared_r, size_t *count_r, const char **error_r);

/* store-sqlite-recent.c */
int sqlite_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
				uint32_t *first_r, uint32_t *end_r, const char **error_r);
int sqlite_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
			  uint32_t *count_r, const char **error_r);

/* store-sqlite-deliver.c */
void sqlite_commit_queue_init(struct sqlite_commit_queue *q);
void sqlite_commit_queue_deinit(struct sqlite_commit_queue *q);
int sqlite_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r);
int sqlite_blob_write(struct store_blob *blob, const void *data, size_t len);
void sqlite_blob_abort(struct store_blob *blob);
int sqlite_deliver(struct store *store, struct store_blob *blob,
		   const struct store_delivery_target *targets, size_t count,
		   struct store_delivery_result *results_r, const char **error_r);
int sqlite_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
			 const struct store_delivery_target *targets,
			 struct store_delivery_result *results_r, const char **error_r);
int sqlite_queue_add(struct store *store, struct store_blob *blob,
		     const struct store_queue_envelope *env, const char *queue_id,
		     const char **error_r);
/* Group-commit statistics since open: index transactions and the deliveries
 * they carried (for the benchmark in test-store.c and, later, metrics). */
void sqlite_commit_stats(struct store *store, uint64_t *batches_r, uint64_t *deliveries_r);

#endif
