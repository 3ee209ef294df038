/*
 * store-private.h - what backends implement and share; not for users of the
 * store (they include store.h only).
 *
 * The public wrappers (store.c, store-message.c, store-queue.c) check and
 * normalise every argument before it reaches a backend: a backend gets
 * lowercase domain names, parsed addresses with their lookup key, canonical
 * mailbox names ("INBOX" in capitals), valid keywords, flag masks within
 * STORE_FLAG_MASK, count >= 1 where a count is needed, valid queue ids and
 * envelopes, UID lists of set_flags and copy sorted ascending without
 * repeats, and a non-NULL error_r. Backends own the semantics that must be atomic (checks
 * against existing rows, UID and MODSEQ assignment, reference counts).
 *
 * Lists returned through the vtable are allocated with core/mem.h, so that
 * the store_*_list_free functions in store.c free them for every backend.
 */
#ifndef STORE_STORE_PRIVATE_H
#define STORE_STORE_PRIVATE_H

#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address split and normalised by store_address_parse. */
struct store_address {
	char *address; /* local part as given, '@', lowercase domain */
	char *key;     /* the whole address in ASCII lowercase: the unique lookup key */
	char *domain;  /* lowercase domain */
};

/* The checked arguments of store_queue_update_rcpt and store_queue_set_rcpt_flags
 * (both go through the backends' queue_update_rcpt). */
struct store_queue_rcpt_update {
	enum store_queue_rcpt_state state;
	int64_t now;          /* becomes last_attempt */
	int64_t next_attempt;
	const char *status;   /* NULL = none */
	const char *dsn;      /* NULL = none */
	unsigned flags_set;   /* STORE_QUEUE_RCPT_F_* to add */
	unsigned flags_clear; /* STORE_QUEUE_RCPT_F_* to remove (flags_only) */
	bool flags_only;      /* store_queue_set_rcpt_flags: change the flags only (also of a
				 final recipient); state and the rest are ignored */
};

/* Whom an ACL entry names: an account (account_id != 0, special NONE) or a
 * special identifier (account_id == 0). The values are stored by backends. */
enum store_acl_special {
	STORE_ACL_SPECIAL_NONE = 0,
	STORE_ACL_SPECIAL_ANYONE = 1,
	STORE_ACL_SPECIAL_AUTHENTICATED = 2,
};
struct store_acl_key {
	uint64_t account_id;
	enum store_acl_special special;
};
/* Room for the rights of the three entries that can apply to an account. */
#define STORE_ACL_LOOKUP_SIZE (3 * STORE_ACL_RIGHTS_SIZE)

struct store_vfuncs {
	const char *name;
	int (*open)(const struct store_settings *set, struct store **store_r, const char **error_r);
	void (*close)(struct store *store);

	int (*domain_add)(struct store *store, const char *name, const char **error_r);
	int (*domain_del)(struct store *store, const char *name, const char **error_r);
	int (*domain_list)(struct store *store, struct store_domain **domains_r, size_t *count_r,
			   const char **error_r);
	int (*domain_lookup)(struct store *store, const char *name, struct store_domain *domain_r,
			     const char **error_r);
	int (*domain_set_catchall)(struct store *store, const char *name, const char *target,
				   const char **error_r);

	int (*account_add)(struct store *store, const struct store_address *addr,
			   const char *password_hash, const char *scram_secret, uint64_t *id_r,
			   const char **error_r);
	int (*account_del)(struct store *store, const char *key, const char **error_r);
	int (*account_list)(struct store *store, const char *domain,
			    struct store_account **accounts_r, size_t *count_r,
			    const char **error_r);
	int (*account_lookup)(struct store *store, const char *key, struct store_account *account_r,
			      const char **error_r);
	int (*account_set_password)(struct store *store, const char *key, const char *password_hash,
				    const char *scram_secret, const char **error_r);
	/* key is the address's lookup key; the contract of store_account_may_send_as. */
	int (*account_may_send_as)(struct store *store, uint64_t account_id, const char *key,
				   const char **error_r);

	int (*alias_add)(struct store *store, const struct store_address *source,
			 const char *target, const char **error_r);
	int (*alias_del)(struct store *store, const char *source_key, const char *target,
			 const char **error_r);
	int (*alias_list)(struct store *store, const char *domain, struct store_alias **aliases_r,
			  size_t *count_r, const char **error_r);
	int (*alias_lookup)(struct store *store, const char *source_key, char ***targets_r,
			    size_t *count_r, const char **error_r);

	int (*mailbox_lookup)(struct store *store, uint64_t account_id, const char *name,
			      struct store_mailbox *mailbox_r, const char **error_r);
	int (*mailbox_list)(struct store *store, uint64_t account_id,
			    struct store_mailbox **mailboxes_r, size_t *count_r,
			    const char **error_r);
	int (*mailbox_create)(struct store *store, uint64_t account_id, const char *name,
			      unsigned special_use, uint64_t *id_r, const char **error_r);
	int (*mailbox_delete)(struct store *store, uint64_t account_id, const char *name,
			      const char **error_r);
	/* old_name "INBOX" is the special rename of store.h (the backend
	 * moves the messages); new_name is never below old_name otherwise. */
	int (*mailbox_rename)(struct store *store, uint64_t account_id, const char *old_name,
			      const char *new_name, const char **error_r);
	int (*mailbox_set_subscribed)(struct store *store, uint64_t account_id, const char *name,
				      bool subscribed, const char **error_r);
	/* *names_r and *count_r come in as NULL and 0 (store.h contract). */
	int (*subscription_list)(struct store *store, uint64_t account_id, char ***names_r,
				 size_t *count_r, const char **error_r);

	int (*blob_begin)(struct store *store, struct store_blob **blob_r, const char **error_r);
	/* 0 ok, -1 error; store.c keeps the size and the sticky error. */
	int (*blob_write)(struct store_blob *blob, const void *data, size_t len);
	/* Discard and free the blob. */
	void (*blob_abort)(struct store_blob *blob);
	/* Consumes blob on every path (store.c has already set the caller's pointer to NULL). */
	int (*deliver)(struct store *store, struct store_blob *blob,
		       const struct store_delivery_target *targets, size_t count,
		       struct store_delivery_result *results_r, const char **error_r);
	/* blobs[i] to targets[i], n >= 1, all or nothing; consumes every blob
	 * on every path (store.c has already set the caller's pointers to
	 * NULL and checked the targets). */
	int (*deliver_multi)(struct store *store, struct store_blob **blobs, size_t n,
			     const struct store_delivery_target *targets,
			     struct store_delivery_result *results_r, const char **error_r);

	int (*message_list)(struct store *store, uint64_t mailbox_id,
			    const struct store_message_query *query,
			    struct store_message **messages_r, size_t *count_r,
			    const char **error_r);
	int (*message_open)(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
			    uint64_t *size_r, const char **error_r);
	int (*message_expunge)(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			       size_t count, const char **error_r);
	/* uids ascending, each once. modified_r and modified_count_r are never
	 * NULL; *modified_r is NULL and *modified_count_r 0 on entry; the UIDs
	 * failing unchangedsince go there ascending (also on 0 and -1 the
	 * caller frees what is there). */
	int (*message_set_flags)(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
				 size_t count, const struct store_flag_change *change,
				 uint32_t **modified_r, size_t *modified_count_r,
				 const char **error_r);
	/* uids ascending, each once; dst_uids_r[i] (never NULL, zeroed on
	 * entry) gets the new UID of uids[i]; dst_uidvalidity_r is never NULL. */
	int (*message_copy)(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
			    size_t count, uint64_t dst_mailbox_id, bool move,
			    uint32_t *dst_uids_r, uint32_t *dst_uidvalidity_r,
			    const char **error_r);
	/* *uids_r NULL and *count_r 0 on entry; ascending, each once. */
	int (*message_vanished)(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
				uint32_t **uids_r, size_t *count_r, const char **error_r);
	/* key: the address's lookup key. */
	int (*account_set_quota)(struct store *store, const char *key, uint64_t bytes,
				 uint64_t messages, const char **error_r);
	int (*account_usage)(struct store *store, uint64_t account_id, uint64_t *limits_r /* [2] */, uint64_t *bytes_r,
			     uint64_t *messages_r, const char **error_r);

	/* Consumes blob on every path, like deliver. */
	int (*queue_add)(struct store *store, struct store_blob *blob,
			 const struct store_queue_envelope *env, const char *queue_id,
			 const char **error_r);
	int (*queue_list)(struct store *store, struct store_queue_entry **entries_r,
			  size_t *count_r, const char **error_r);
	/* max >= 1 */
	int (*queue_due)(struct store *store, int64_t now, size_t max,
			 struct store_queue_entry **entries_r, size_t *count_r,
			 const char **error_r);
	int (*queue_get)(struct store *store, const char *queue_id,
			 struct store_queue_entry *entry_r, const char **error_r);
	int (*queue_delete)(struct store *store, const char *queue_id, const char **error_r);
	int (*queue_set_hold)(struct store *store, const char *queue_id, bool hold,
			      const char **error_r);
	/* queue_id NULL = every entry */
	int (*queue_flush)(struct store *store, const char *queue_id, int64_t now,
			   const char **error_r);
	int (*queue_open_body)(struct store *store, const char *queue_id, int *fd_r,
			       uint64_t *size_r, const char **error_r);
	/* u->state is DEFERRED, SENT or BOUNCED, u->next_attempt already 0 for
	 * the final states; the backend refuses (-1) a recipient that is final.
	 * With u->flags_only it changes only the recipient's flags (set, then
	 * clear), whatever its state. */
	int (*queue_update_rcpt)(struct store *store, const char *queue_id, size_t rcpt_index,
				 const struct store_queue_rcpt_update *u, const char **error_r);

	int (*gc)(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
		  const char **error_r);

	/* The mailbox's highest modseq: 1, 0 no such mailbox. */
	int (*mailbox_modseq)(struct store *store, uint64_t mailbox_id, uint64_t *modseq_r,
			      const char **error_r);
	/* ACLs (store-acl.c checks and canonicalises; see struct store_acl_key).
	 * rights is canonical; "" removes the entry. 1, 0 no such mailbox or
	 * account. */
	int (*acl_set)(struct store *store, uint64_t mailbox_id, const struct store_acl_key *key,
		       const char *rights, const char **error_r);
	/* Entries in the order of store_acl_get; 1, 0 no such mailbox. */
	int (*acl_get)(struct store *store, uint64_t mailbox_id,
		       struct store_acl_entry **entries_r, size_t *count_r, const char **error_r);
	/* The owner of the mailbox and the concatenated (not canonical) rights
	 * of the entries that apply to account_id (its own when account_id != 0,
	 * "authenticated" when account_id != 0, "anyone"). 1, 0 no such mailbox. */
	int (*acl_lookup)(struct store *store, uint64_t mailbox_id, uint64_t account_id,
			  uint64_t *owner_r, char rights_r[STORE_ACL_LOOKUP_SIZE],
			  const char **error_r);
	/* Mailboxes of accounts other than account_id having an entry that
	 * applies to account_id (its own, "authenticated", "anyone"), in the
	 * order of store_acl_shared_mailboxes, each with the canonical union of
	 * the rights of those entries (not yet filtered for "l"). 1 or -1. */
	int (*acl_shared)(struct store *store, uint64_t account_id,
			  struct store_acl_shared **shared_r, size_t *count_r,
			  const char **error_r);

	/* \Recent (store-recent.c checks the arguments): upto_uid >= 1;
	 * the contracts of store_mailbox_claim_recent / store_mailbox_recent,
	 * outputs zeroed on entry. */
	int (*mailbox_claim_recent)(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
				    uint32_t *first_r, uint32_t *end_r, const char **error_r);
	int (*mailbox_recent)(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
			      uint32_t *count_r, const char **error_r);

	/* MTA-STS cache (store-sts.c checks the arguments and lower-cases the
	 * domain): the contracts of store_sts_get / _put / _delete. */
	int (*sts_get)(struct store *store, const char *domain, struct store_sts_policy *policy_r,
		       const char **error_r);
	int (*sts_put)(struct store *store, const struct store_sts_policy *policy,
		       const char **error_r);
	int (*sts_delete)(struct store *store, const char *domain, const char **error_r);
};

/* The first member of every backend's store. */
struct store {
	const struct store_vfuncs *v;
	struct store_notify *notify; /* set by store_open for every backend */
};

/* The first member of every backend's blob. */
struct store_blob {
	struct store *store;
	uint64_t size; /* octets accepted by blob_write */
	bool failed;   /* a write failed: the blob can only be aborted */
};

extern const struct store_vfuncs store_vfuncs_sqlite;
extern const struct store_vfuncs store_vfuncs_mem;

/* The backends' MTA-STS cache functions (store-sqlite-sts.c,
 * store-mem-sts.c), for their vtables. */
int sqlite_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
		   const char **error_r);
int sqlite_sts_put(struct store *store, const struct store_sts_policy *policy,
		   const char **error_r);
int sqlite_sts_delete(struct store *store, const char *domain, const char **error_r);
int mem_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
		const char **error_r);
int mem_sts_put(struct store *store, const struct store_sts_policy *policy,
		const char **error_r);
int mem_sts_delete(struct store *store, const char *domain, const char **error_r);

/* The mailboxes created with every account (RFC 6154 special use), all subscribed. */
struct store_default_mailbox {
	const char *name;
	unsigned special_use;
};
extern const struct store_default_mailbox store_default_mailboxes[];
extern const size_t store_default_mailbox_count;

/* For the public wrappers: callers may pass error_r == NULL, backends always
 * get somewhere to write. */
#define ERROR_R_GUARD(error_r) \
	const char *error_unused_; \
	if ((error_r) == NULL) \
		(error_r) = &error_unused_

/* Format an error into this thread's error buffer and return it (see the
 * error_r lifetime in store.h). */
const char *store_error_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow array (of count elements of size bytes, *alloc allocated) so that
 * one more fits; returns the possibly moved array. */
void *store_array_grow(void *array, size_t *alloc, size_t count, size_t size);

/*
 * store-notify.c: the subscription table of store_notify_*.
 */
struct store_notify *store_notify_new(void);
/* No subscription may be left. */
void store_notify_free(struct store_notify **notify);
/* Is anyone subscribed to anything (worth reading ids before a change)? */
bool store_notify_active(struct store_notify *notify);
/* Call the callbacks of mailbox_id (no store lock may be held). */
void store_notify_changed(struct store_notify *notify, uint64_t mailbox_id, uint64_t modseq);

/*
 * store-name.c: checks and normalisation shared by all backends. Each returns
 * 0 ok or -1 with *error_r set; results are allocated with core/mem.h.
 */
int store_domain_normalize(const char *in, char **name_r, const char **error_r);
int store_address_parse(const char *in, struct store_address *addr_r, const char **error_r);
void store_address_deinit(struct store_address *addr);
/* A target address (alias target, catch-all): syntax only, kept as given. */
int store_address_check(const char *in, const char **error_r);
/* address (as stored, e.g. an alias target) has lookup key key. */
bool store_address_has_key(const char *address, const char *key);
/* Canonical mailbox name: "INBOX" in any case becomes "INBOX". */
int store_mailbox_name_normalize(const char *in, char **name_r, const char **error_r);
/* name is parent itself or below it ("parent/..."). */
bool store_mailbox_name_under(const char *name, const char *parent);
/* A space-separated keyword list as in struct store_flag_change. */
int store_keywords_check(const char *keywords, const char **error_r);
/* The keywords of a message after change: *new_r is NULL when none are left
 * (and on -1: the result would hold more than STORE_KEYWORDS_MAX keywords). */
int store_keywords_apply(const char *old, const struct store_flag_change *change, char **new_r,
			 const char **error_r);
/* The flag bits after change. */
unsigned store_flags_apply(unsigned old, const struct store_flag_change *change);
/* keywords (checked) with repeats kept once, for storing with a new
 * message; NULL when there are none. Allocated with core/mem.h. */
char *store_keywords_normalize(const char *keywords);
/* Sort uids ascending and drop repeats; returns the new count. */
size_t store_uids_sort_unique(uint32_t *uids, size_t count);
/* Equal strings, NULL equal only to NULL. */
bool store_str_equal(const char *a, const char *b);
/* A fresh random blob id (STORE_BLOB_ID_LEN hex digits and a NUL). */
int store_blob_id_generate(char id_r[STORE_BLOB_ID_LEN + 1], const char **error_r);
bool store_blob_id_valid(const char *s);
/* Text the store keeps opaque (SCRAM secrets, queue envelope strings,
 * status text): at most max octets of UTF-8 without control characters.
 * what names it in the error. 0 or -1. */
int store_text_check(const char *what, const char *s, size_t max, const char **error_r);
/* A queue id: 1..STORE_QUEUE_ID_MAX ASCII letters and digits. */
bool store_queue_id_valid(const char *s);
/* The UIDVALIDITY following last for a new mailbox: the current time, or
 * last + 1 when that is not greater. 0 when exhausted (after 2106). */
uint32_t store_uidvalidity_next(uint32_t last);

#endif
