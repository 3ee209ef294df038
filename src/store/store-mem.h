/*
 * store-mem.h - internals shared by store-mem.c and store-mem-mailbox.c,
 * the in-memory backend; nothing outside src/store/ includes this.
 *
 * One mutex (s->lock) guards everything in a mem_store; every vfunc takes it
 * for its whole run, so each operation is atomic like a transaction. Blobs
 * being written belong to their writer's thread and need no lock.
 *
 * Objects live behind pointer arrays in creation order; ids come from one
 * counter and are never reused. Listings sort copies to the order the SQLite
 * backend returns, so both backends answer identically.
 */
#ifndef STORE_STORE_MEM_H
#define STORE_STORE_MEM_H

#include "store/store-private.h"

#include <pthread.h>
#include <sys/types.h>

/* Largest body the memory backend accepts. */
#define STORE_MEM_BLOB_MAX (64u * 1024 * 1024)

struct mem_domain {
	uint64_t id;
	char *name;
	char *catchall;
};

struct mem_account {
	uint64_t id, domain_id;
	char *address, *key, *password_hash, *scram_secret;
	uint32_t uidvalidity_last;
	uint64_t quota_bytes, quota_messages;
};

struct mem_alias {
	uint64_t domain_id;
	char *source, *source_key, *target;
};

/* A stored body, shared by refcount messages and queue entries. */
struct mem_body {
	char id[STORE_BLOB_ID_LEN + 1];
	uint8_t *data;
	size_t size;
	unsigned refcount;
};

struct mem_message {
	uint32_t uid;
	struct mem_body *body;
	unsigned flags;
	char *keywords;
	uint64_t modseq;
	int64_t internaldate, savedate;
};

/* An expunge tombstone (RFC 7162 3.2.5). */
struct mem_tombstone {
	uint32_t uid;
	uint64_t modseq;
};

/* An ACL entry of a mailbox (account_id 0 for the special identifiers). */
struct mem_acl {
	uint64_t account_id;
	enum store_acl_special special;
	char rights[STORE_ACL_RIGHTS_SIZE]; /* canonical, never "" */
};

struct mem_mailbox {
	uint64_t id, account_id;
	char *name;
	uint32_t uidvalidity, uidnext;
	uint64_t highest_modseq;
	unsigned special_use;
	uint64_t size;
	struct mem_message *messages; /* in UID order */
	size_t count, alloc;
	struct mem_acl *acl; /* in the order entries were first set */
	size_t acl_count, acl_alloc;
	struct mem_tombstone *expunged; /* in the order of the expunges */
	size_t expunged_count, expunged_alloc;
	/* first UID no session claimed as \Recent (store-mem-recent.c); 0
	 * (a new mailbox) counts as 1 */
	uint32_t recent_uid;
};

/* A subscribed name (store.h: independent of the mailboxes). */
struct mem_subscription {
	uint64_t account_id;
	char *name;
};

struct mem_queue_entry {
	uint64_t id; /* creation order */
	struct mem_body *body;
	struct store_queue_entry e; /* everything else, as handed out */
};

struct mem_store {
	struct store store;
	pthread_mutex_t lock;
	uint64_t last_id;
	struct mem_domain **domains;
	size_t domain_count, domain_alloc;
	struct mem_account **accounts;
	size_t account_count, account_alloc;
	struct mem_alias **aliases;
	size_t alias_count, alias_alloc;
	struct mem_mailbox **mailboxes;
	size_t mailbox_count, mailbox_alloc;
	struct mem_queue_entry **queue;
	size_t queue_count, queue_alloc;
	struct mem_subscription *subscriptions; /* in the order added */
	size_t subscription_count, subscription_alloc;
	struct store_sts_policy *sts; /* MTA-STS cache (store-mem-sts.c); freed when emptied */
	size_t sts_count;
};

/* Remove element i of an array of pointers, keeping the order. */
void mem_ptr_array_remove(void **array, size_t *count, size_t i);
struct mem_account *mem_account_by_id(struct mem_store *s, uint64_t id);

/* store-mem-mailbox.c; the mem_mailbox_* helpers expect s->lock held. */
struct mem_mailbox *mem_mailbox_find(struct mem_store *s, uint64_t account_id, const char *name);
struct mem_mailbox *mem_mailbox_by_id(struct mem_store *s, uint64_t id);
/* A new mailbox with the account's next UIDVALIDITY; NULL when exhausted. */
struct mem_mailbox *mem_mailbox_add(struct mem_store *s, struct mem_account *a, const char *name,
				    unsigned special_use, bool subscribed);
/* Drop a mailbox with its messages (bodies lose a reference each). */
void mem_mailbox_remove(struct mem_store *s, size_t index);

int mem_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
		       struct store_mailbox *mailbox_r, const char **error_r);
int mem_mailbox_list(struct store *store, uint64_t account_id, struct store_mailbox **mailboxes_r,
		     size_t *count_r, const char **error_r);
int mem_mailbox_create(struct store *store, uint64_t account_id, const char *name,
		       unsigned special_use, uint64_t *id_r, const char **error_r);
int mem_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
		       const char **error_r);
int mem_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
		       const char *new_name, const char **error_r);
int mem_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
			       bool subscribed, const char **error_r);
int mem_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
			  size_t *count_r, const char **error_r);
/* Drop the account's subscriptions (s->lock held); account_id 0: all of
 * them and the array (store close). */
void mem_subscriptions_forget(struct mem_store *s, uint64_t account_id);
/* Turn a written blob into a body without references (the blob is left
 * empty, for mem_blob_abort). */
struct mem_body *mem_body_take(struct store_blob *blob);
void mem_body_unref(struct mem_body *body);
/* A memfd holding a copy of the body, at offset 0: 1 or -1. */
int mem_body_open(const struct mem_body *body, int *fd_r, const char **error_r);
int mem_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r);
int mem_blob_write(struct store_blob *blob, const void *data, size_t len);
void mem_blob_abort(struct store_blob *blob);
int mem_deliver(struct store *store, struct store_blob *blob,
		const struct store_delivery_target *targets, size_t count,
		struct store_delivery_result *results_r, const char **error_r);
int mem_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
		      const struct store_delivery_target *targets,
		      struct store_delivery_result *results_r, const char **error_r);
int mem_message_list(struct store *store, uint64_t mailbox_id,
		     const struct store_message_query *query, struct store_message **messages_r,
		     size_t *count_r, const char **error_r);
int mem_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
		     uint64_t *size_r, const char **error_r);
int mem_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			size_t count, const char **error_r);
int mem_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			  size_t count, const struct store_flag_change *change,
			  uint32_t **modified_r, size_t *modified_count_r, const char **error_r);
/* Index of uid in m->messages, or -1 (s->lock held). */
ssize_t mem_message_index(const struct mem_mailbox *m, uint32_t uid);
/* Expunge uids (any order, missing ones skipped) with tombstones and, when
 * any went, one modseq bump (s->lock held). */
void mem_messages_remove(struct mem_mailbox *m, const uint32_t *uids, size_t count);

/* store-mem-copy.c */
int mem_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
		     size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
		     uint32_t *dst_uidvalidity_r, const char **error_r);
int mem_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
			 uint32_t **uids_r, size_t *count_r, const char **error_r);
int mem_account_set_quota(struct store *store, const char *key, uint64_t bytes,
			  uint64_t messages, const char **error_r);
int mem_account_usage(struct store *store, uint64_t account_id, uint64_t *limits_r, uint64_t *bytes_r,
		      uint64_t *messages_r, const char **error_r);
/* RFC 9051 6.3.6 rename of INBOX (s->lock held): 1, 0 no INBOX, -1. */
int mem_mailbox_rename_inbox_locked(struct mem_store *s, uint64_t account_id,
				    const char *new_name, const char **error_r);

/* store-mem-acl.c */
/* Drop the entries naming account_id from every mailbox (s->lock held). */
void mem_acl_forget_account(struct mem_store *s, uint64_t account_id);
int mem_mailbox_modseq(struct store *store, uint64_t mailbox_id, uint64_t *modseq_r,
		       const char **error_r);
int mem_acl_set(struct store *store, uint64_t mailbox_id, const struct store_acl_key *key,
		const char *rights, const char **error_r);
int mem_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
		size_t *count_r, const char **error_r);
int mem_acl_lookup(struct store *store, uint64_t mailbox_id, uint64_t account_id,
		   uint64_t *owner_r, char rights_r[STORE_ACL_LOOKUP_SIZE], const char **error_r);
int mem_acl_shared(struct store *store, uint64_t account_id, struct store_acl_shared **shared_r,
		   size_t *count_r, const char **error_r);

/* store-mem-recent.c */
int mem_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
			     uint32_t *first_r, uint32_t *end_r, const char **error_r);
int mem_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
		       uint32_t *count_r, const char **error_r);

/* store-mem-sts.c: free the MTA-STS cache (at close). */
void mem_sts_free(struct mem_store *s);

/* store-mem-queue.c */
void mem_queue_free(struct mem_store *s);
int mem_queue_add(struct store *store, struct store_blob *blob,
		  const struct store_queue_envelope *env, const char *queue_id,
		  const char **error_r);
int mem_queue_list(struct store *store, struct store_queue_entry **entries_r, size_t *count_r,
		   const char **error_r);
int mem_queue_due(struct store *store, int64_t now, size_t max,
		  struct store_queue_entry **entries_r, size_t *count_r, const char **error_r);
int mem_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
		  const char **error_r);
int mem_queue_delete(struct store *store, const char *queue_id, const char **error_r);
int mem_queue_flush(struct store *store, const char *queue_id, int64_t now,
		    const char **error_r);
int mem_queue_set_hold(struct store *store, const char *queue_id, bool hold,
		       const char **error_r);
int mem_queue_open_body(struct store *store, const char *queue_id, int *fd_r, uint64_t *size_r,
			const char **error_r);
int mem_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
			  const struct store_queue_rcpt_update *u, const char **error_r);

#endif
