/*
 * store.h - the storage interface: domains, accounts, aliases, mailboxes and
 * messages, behind one API with interchangeable backends.
 *
 * Backends: "sqlite" (embedded default: an SQLite index plus one file per
 * message body under data_dir) and "mem" (everything in memory, for unit
 * tests of higher layers). A PostgreSQL backend will implement the same
 * operations; nothing here is specific to one database, and no SQL exists
 * outside the backend files.
 *
 * Threading: every function is synchronous and thread-safe. Callers are
 * worker-pool threads (core/worker.h) and admin commands; the event loop
 * never calls the store directly, because these calls block on disk.
 *
 * Return contract, unless a prototype says otherwise: 1 ok, 0 not found
 * (for "add" and "create": already exists, nothing changed), -1 error with
 * *error_r set. error_r may be NULL. An error string is either a literal or
 * lives in a per-thread buffer that stays valid until the next store call
 * from the same thread; copy it to keep it. A name or address with invalid
 * syntax is refused (-1) by adds and creates, and simply not found (0) by
 * lookups and deletions: nothing by that name can exist, and callers such as
 * SMTP RCPT handling want "no such user" rather than an error.
 *
 * Names: domain names are stored in lowercase. An address keeps the case of
 * its local part as it was created, gets a lowercase domain, and is looked up
 * case-insensitively (ASCII case folding; users type both Alice@ and alice@).
 * Mailbox names are UTF-8 with '/' as the hierarchy separator; "INBOX" is
 * matched case-insensitively (RFC 9051 5.1).
 *
 * Durability (DESIGN.md 3): when store_deliver() or store_queue_add()
 * returns 1 the message is on stable storage (body fsync'd, renamed into
 * place, directory fsync'd, index committed). Concurrent deliveries and
 * queue additions share those syncs (group commit).
 *
 * Message bodies are immutable blobs addressed by a random 128-bit id and
 * stored once however many mailboxes hold them; each blob carries a reference
 * count (a queue entry holds one reference, like a message). A body file is
 * unlinked after the index commit that dropped its last reference. A crash
 * between the two leaks the file, never loses a referenced one; store_gc()
 * collects such leaks.
 *
 * The outbound queue (store_queue_*) keeps mail for other hosts: one entry
 * per accepted message (envelope, DSN parameters, body blob) with a state
 * and retry schedule per recipient. The store keeps and selects entries; the
 * delivery engine decides what to do with them.
 *
 * Mailbox ACLs (store_acl_*, RFC 4314) and change notification within
 * this process (store_notify_*, for IMAP IDLE) are below the messages.
 *
 * Expunges leave tombstones (mailbox, UID, modseq of the expunge) so that
 * QRESYNC (RFC 7162 3.2.5) can report VANISHED UIDs; they go with their
 * mailbox.
 *
 * Not here yet (later issues, they belong in this interface): change
 * notification across processes and nodes (PostgreSQL LISTEN/NOTIFY, see
 * store_notify_subscribe); quota enforcement inside the delivery
 * transaction (today the callers check store_account_over_quota before
 * delivering, see store_quota_check); pruning old tombstones.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;
struct store_blob;

/* Limits of names (octets). Addresses follow RFC 5321 4.5.3.1. */
#define STORE_LOCAL_PART_MAX 64
#define STORE_DOMAIN_MAX 253
#define STORE_ADDRESS_MAX 254
#define STORE_MAILBOX_NAME_MAX 512
#define STORE_KEYWORD_MAX 100     /* one keyword */
#define STORE_KEYWORDS_MAX 64     /* keywords on one message */
#define STORE_BLOB_ID_LEN 32      /* hex characters of a 128-bit id */

struct store_settings {
	const char *backend;  /* "sqlite" or "mem"; NULL means "sqlite" */
	const char *data_dir; /* sqlite: holds posthorn.db, blobs/, tmp/; unused by "mem" */
};

/* Open a store. The sqlite backend creates data_dir (its parent must exist),
 * its subdirectories and the schema when missing, and removes temporary files
 * left by processes that no longer run. On 1, *store_r is owned by the
 * caller until store_close(). */
int store_open(const struct store_settings *set, struct store **store_r, const char **error_r);
/* Close and set *store to NULL. No other call on the store may be running. */
void store_close(struct store **store);

/*
 * Domains
 */
struct store_domain {
	uint64_t id;
	char *name;     /* lowercase */
	char *catchall; /* address receiving mail for unknown local parts, or NULL */
};

/* 1 added, 0 it exists already, -1 error (e.g. invalid name). */
int store_domain_add(struct store *store, const char *name, const char **error_r);
/* Delete a domain and the aliases whose source is in it. Refused (-1) while
 * accounts exist in the domain. 1 deleted, 0 not found. */
int store_domain_del(struct store *store, const char *name, const char **error_r);
/* All domains ordered by name; free with store_domain_list_free. */
int store_domain_list(struct store *store, struct store_domain **domains_r, size_t *count_r,
		      const char **error_r);
void store_domain_list_free(struct store_domain **domains, size_t count);
/* Case-insensitive lookup. On 1, *domain_r holds strings owned by the caller:
 * release them with store_domain_deinit. */
int store_domain_lookup(struct store *store, const char *name, struct store_domain *domain_r,
			const char **error_r);
void store_domain_deinit(struct store_domain *domain);
/* Set the catch-all target address, or remove it with target == NULL.
 * 1 done, 0 no such domain. */
int store_domain_set_catchall(struct store *store, const char *name, const char *target,
			      const char **error_r);

/*
 * Accounts
 */
/* Longest SCRAM secret kept (octets). */
#define STORE_SCRAM_SECRET_MAX 1024

struct store_account {
	uint64_t id;
	uint64_t domain_id;
	char *address;       /* local part as created, lowercase domain */
	char *password_hash; /* crypt(3) string as given to add/set_password */
	char *scram_secret;  /* SCRAM verifier as given to add/set_password (its format is the
				SASL code's), NULL when the account has none */
	uint64_t quota_bytes;    /* storage limit, 0 = none (store_account_over_quota) */
	uint64_t quota_messages; /* message count limit, 0 = none */
};

/* Create an account in an existing domain, with the mailboxes INBOX, Sent,
 * Drafts, Trash, Junk and Archive (special-use attributes per RFC 6154), all
 * subscribed. scram_secret is kept as opaque text beside the hash (NULL =
 * none; else 1..STORE_SCRAM_SECRET_MAX octets without control characters).
 * 1 created (*id_r set when id_r != NULL), 0 an account with this address
 * (in any case) exists, -1 error (no such domain, invalid address or secret). */
int store_account_add(struct store *store, const char *address, const char *password_hash,
		      const char *scram_secret, uint64_t *id_r, const char **error_r);
/* Delete an account with its mailboxes and messages; body files no longer
 * referenced by anyone are unlinked. 1 deleted, 0 not found. */
int store_account_del(struct store *store, const char *address, const char **error_r);
/* Accounts of one domain (domain != NULL) or of all, ordered by address
 * (case-insensitively); free with store_account_list_free. A list of an
 * unknown domain is empty. */
int store_account_list(struct store *store, const char *domain, struct store_account **accounts_r,
		       size_t *count_r, const char **error_r);
void store_account_list_free(struct store_account **accounts, size_t count);
/* Case-insensitive lookup. On 1, release *account_r with store_account_deinit
 * (which also wipes the password hash and the SCRAM secret). */
int store_account_lookup(struct store *store, const char *address,
			 struct store_account *account_r, const char **error_r);
void store_account_deinit(struct store_account *account);
/* Replace the password hash and the SCRAM secret together: scram_secret ==
 * NULL removes the old secret, which belonged to the old password.
 * 1 changed, 0 no such account, -1 error (e.g. invalid secret). */
int store_account_set_password(struct store *store, const char *address,
			       const char *password_hash, const char *scram_secret,
			       const char **error_r);
/* May the account use address (case-insensitive) as its sender (submission,
 * RFC 6409 6.1)? Yes for the account's own address and for the source of
 * every alias that lists the account's address among its targets. Only
 * direct alias targets count: not a catch-all, not an alias of an alias, not
 * a target written as a subaddress (user+tag@); mapping a subaddress sender
 * to its base address first is the caller's business.
 * 1 yes, 0 no (also: no such account, invalid address), -1 error. */
int store_account_may_send_as(struct store *store, uint64_t account_id, const char *address,
			      const char **error_r);
/* Set the account's quota limits (RFC 9208 STORAGE in octets, MESSAGE in
 * messages; 0 = no limit), replacing the old ones. Stored only: nothing
 * enforces them yet. 1 done, 0 no such account (or invalid address), -1
 * error (also: a limit above INT64_MAX). */
int store_account_set_quota(struct store *store, const char *address, uint64_t bytes,
			    uint64_t messages, const char **error_r);
/* What an account uses (RFC 9208 5.1, 5.2): the sum of the sizes (octets)
 * and of the message counts of all its mailboxes. A message stored in two
 * mailboxes counts twice, as it would for the user. 1, 0 no such account
 * (both 0). */
int store_account_usage(struct store *store, uint64_t account_id, uint64_t *bytes_r,
			uint64_t *messages_r, const char **error_r);
/* Usage and limits of an account together (one read). */
struct store_quota {
	uint64_t bytes, messages;              /* as store_account_usage */
	uint64_t limit_bytes, limit_messages;  /* 0 = no limit */
};
/* 1, 0 no such account (all 0), -1 error. */
int store_account_quota(struct store *store, uint64_t account_id, struct store_quota *quota_r,
			const char **error_r);
/* Would adding add_bytes in add_messages messages exceed a limit? 0 no, -1
 * yes. Quotas are checked before a delivery, not inside its transaction:
 * concurrent deliveries may overshoot a limit by their own size (as with
 * Dovecot's and Cyrus's quotas), never by more. */
int store_quota_check(const struct store_quota *quota, uint64_t add_bytes, uint64_t add_messages);
/* Would account_id go over its quota with add_bytes more octets in
 * add_messages more messages (store_account_quota + store_quota_check)?
 * 1 yes, 0 no (also: no such account), -1 store error. */
int store_account_over_quota(struct store *store, uint64_t account_id, uint64_t add_bytes,
			     uint64_t add_messages, const char **error_r);

/*
 * Aliases: mail to source (a full address in a local domain) goes to each of
 * its targets (any address). A domain's catch-all is a domain setting, not an
 * alias.
 */
struct store_alias {
	char *source; /* as added, lowercase domain */
	char *target;
};

/* 1 added, 0 this source already has this target, -1 error (e.g. the
 * source's domain does not exist). */
int store_alias_add(struct store *store, const char *source, const char *target,
		    const char **error_r);
/* Remove one target of source, or all of them (target == NULL). 1 removed at
 * least one, 0 none matched. Targets compare exactly, sources case-insensitively. */
int store_alias_del(struct store *store, const char *source, const char *target,
		    const char **error_r);
/* Aliases whose source is in domain (or all, domain == NULL), ordered by
 * source then target; free with store_alias_list_free. */
int store_alias_list(struct store *store, const char *domain, struct store_alias **aliases_r,
		     size_t *count_r, const char **error_r);
void store_alias_list_free(struct store_alias **aliases, size_t count);
/* Targets of source (case-insensitive), in target order. 1 found (count >= 1),
 * 0 no alias. Free *targets_r with store_alias_targets_free. */
int store_alias_lookup(struct store *store, const char *source, char ***targets_r,
		       size_t *count_r, const char **error_r);
void store_alias_targets_free(char ***targets, size_t count);

/*
 * Mailboxes
 */
/* Special-use attributes (RFC 6154 2), a bit set. */
#define STORE_SPECIAL_USE_ALL 0x01u
#define STORE_SPECIAL_USE_ARCHIVE 0x02u
#define STORE_SPECIAL_USE_DRAFTS 0x04u
#define STORE_SPECIAL_USE_FLAGGED 0x08u
#define STORE_SPECIAL_USE_JUNK 0x10u
#define STORE_SPECIAL_USE_SENT 0x20u
#define STORE_SPECIAL_USE_TRASH 0x40u
#define STORE_SPECIAL_USE_MASK 0x7fu

struct store_mailbox {
	uint64_t id;
	uint64_t account_id;
	char *name;
	uint32_t uidvalidity;    /* strictly increasing per account, never reused */
	uint32_t uidnext;        /* next UID to assign; UIDs are never reused */
	uint64_t highest_modseq; /* 0 until the first change */
	unsigned special_use;    /* STORE_SPECIAL_USE_* */
	bool subscribed;         /* the name is among the account's subscriptions */
	uint32_t messages;       /* message count */
	uint64_t size;           /* sum of message sizes in octets */
};

/* On 1, release *mailbox_r with store_mailbox_deinit. */
int store_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
			 struct store_mailbox *mailbox_r, const char **error_r);
void store_mailbox_deinit(struct store_mailbox *mailbox);
/* Mailboxes of an account ordered by name; free with store_mailbox_list_free.
 * 0 no such account. */
int store_mailbox_list(struct store *store, uint64_t account_id, struct store_mailbox **mailboxes_r,
		       size_t *count_r, const char **error_r);
void store_mailbox_list_free(struct store_mailbox **mailboxes, size_t count);
/* Create a mailbox with a new UIDVALIDITY. Parents need not exist. 1 created
 * (*id_r set when id_r != NULL), 0 exists, -1 error (no such account, invalid
 * name: empty, not UTF-8, control characters, '%' or '*', empty levels). */
int store_mailbox_create(struct store *store, uint64_t account_id, const char *name,
			 unsigned special_use, uint64_t *id_r, const char **error_r);
/* Delete a mailbox and its messages (not its children, which stay). INBOX
 * cannot be deleted (RFC 9051 6.3.4). 1 deleted, 0 not found. */
int store_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
			 const char **error_r);
/* Rename a mailbox and its children (RFC 9051 6.3.6), keeping UIDVALIDITY,
 * UIDs and messages. -1 when new_name exists or is below old_name.
 * Renaming INBOX (RFC 9051 6.3.6) is special, in one transaction: a new
 * mailbox new_name is created (new UIDVALIDITY, not subscribed, no special
 * use) and every INBOX message moves there in UID order, renumbered from
 * UID 1 (flags, keywords, internaldate and savedate kept; fresh modseqs);
 * INBOX stays, empty, with its UIDVALIDITY and tombstones for the UIDs that
 * left, and INBOX's children are not renamed. new_name must not exist
 * (nor be INBOX itself). 1 renamed, 0 old_name not found. */
int store_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
			 const char *new_name, const char **error_r);

/*
 * Subscriptions (RFC 9051 6.3.7, 6.3.8; LSUB of RFC 3501 6.3.9): a set of
 * names per account, kept apart from the mailboxes. Deleting a mailbox
 * leaves its name subscribed (RFC 3501 6.3.6, RFC 9051 6.3.5: the server
 * must not remove it by itself); LIST (SUBSCRIBED) then shows the name as
 * \NonExistent (RFC 5258 3.1). Renaming a mailbox moves the subscriptions
 * of its subtree ("old" and "old/..." become "new..."; RFC 9051 6.3.6
 * leaves this to the server, and clients expect the renamed folder to stay
 * visible); renaming INBOX moves none (INBOX stays). Deleting an account
 * drops its subscriptions. The mailboxes created with an account start
 * subscribed. Names are normalised like mailbox names (INBOX in any case).
 */
/* subscribed: add name, but only while the account has a mailbox of that
 * name (RFC 9051 6.3.7 lets the server check): 1 subscribed (also when it
 * was already), 0 no such mailbox. !subscribed: remove name whether or not
 * a mailbox has it: 1 removed, 0 it was not subscribed. -1 error. */
int store_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
				 bool subscribed, const char **error_r);
/* Every subscribed name of the account, mailbox or not, in byte order. 1
 * (*count_r may be 0), 0 no such account, -1 error. Free *names_r with
 * store_subscription_list_free. */
int store_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
			    size_t *count_r, const char **error_r);
void store_subscription_list_free(char ***names, size_t count);

/*
 * Messages
 */
/* System flags (RFC 9051 2.3.2), a bit set. */
#define STORE_FLAG_SEEN 0x01u
#define STORE_FLAG_ANSWERED 0x02u
#define STORE_FLAG_FLAGGED 0x04u
#define STORE_FLAG_DELETED 0x08u
#define STORE_FLAG_DRAFT 0x10u
#define STORE_FLAG_MASK 0x1fu

struct store_message {
	uint32_t uid;
	uint64_t size;
	char blob_id[STORE_BLOB_ID_LEN + 1];
	unsigned flags;       /* STORE_FLAG_* */
	char *keywords;       /* space-separated keywords, NULL when none */
	uint64_t modseq;
	int64_t internaldate; /* seconds since the epoch */
	int64_t savedate;     /* idem (RFC 8514) */
};

/* Writing a body. store_blob_begin opens a temporary body (a file in tmp/
 * for sqlite); the caller appends with store_blob_write as data arrives and
 * then hands the blob to store_deliver or drops it with store_blob_abort.
 * A blob is used by one thread at a time and may be handed between threads
 * through a synchronising queue (written on the event loop, where a write
 * is a buffered page-cache write, then delivered from a worker). */
int store_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r);
/* 0 ok, -1 I/O error. Errors are sticky: later writes and store_deliver fail too. */
int store_blob_write(struct store_blob *blob, const void *data, size_t len);
/* Octets written so far. */
uint64_t store_blob_size(const struct store_blob *blob);
/* Discard the temporary body and set *blob to NULL. */
void store_blob_abort(struct store_blob **blob);

struct store_delivery_target {
	uint64_t account_id;
	uint64_t mailbox_id;  /* 0 = the account's INBOX; else one of the account's mailboxes */
	unsigned flags;       /* STORE_FLAG_* set on arrival */
	int64_t internaldate; /* 0 = now (IMAP APPEND passes the client's date) */
	const char *keywords; /* space-separated keywords set on arrival (as in struct
				 store_flag_change: checked, repeats kept once), NULL = none */
};
struct store_delivery_result {
	uint64_t mailbox_id;
	uint32_t uid;
	uint64_t modseq;
};

/* Store the body of *blob once and add it as a new message to every target
 * (count >= 1), each with UID = uidnext++ and MODSEQ = ++highest_modseq of its
 * mailbox. results_r[i] belongs to targets[i]. The blob is consumed either
 * way and *blob set to NULL.
 * 1: durable in every target before returning. -1: nothing of it is visible
 * in any mailbox and its file is gone (e.g. a target account or mailbox does
 * not exist, a write failed). Never returns 0. */
int store_deliver(struct store *store, struct store_blob **blob,
		  const struct store_delivery_target *targets, size_t count,
		  struct store_delivery_result *results_r, const char **error_r);

/* Store n bodies (n >= 1) and add blobs[i] as a new message to targets[i]
 * alone, all in one index transaction: all or nothing (IMAP MULTIAPPEND,
 * RFC 3502). UIDs and modseqs are taken as by store_deliver, in order, so
 * that messages to one mailbox get ascending UIDs; results_r[i] belongs to
 * blobs[i]. Every blob is consumed either way and blobs[i] set to NULL.
 * 1: every message durable (each body fsync'd, renamed and its directory
 * fsync'd before the one commit). -1: none of them is visible in any
 * mailbox and their files are gone (a target that does not exist, a body
 * whose write failed, ...; a crash before the commit leaves only
 * unreferenced body files for store_gc). Never returns 0. */
int store_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
			const struct store_delivery_target *targets,
			struct store_delivery_result *results_r, const char **error_r);

/* Which messages store_message_list returns; NULL means all. */
struct store_message_query {
	uint32_t uid_first;     /* inclusive */
	uint32_t uid_last;      /* inclusive; 0 = no upper bound */
	uint64_t changed_since; /* only modseq > changed_since (RFC 7162 3.1.4.1); 0 = any */
	bool uids_only;         /* fill only uid, flags and modseq (keywords NULL, blob_id "",
				   size, internaldate and savedate 0): cheap enough for the
				   UID list of a mailbox of 100,000 messages at SELECT */
};

/* Messages of a mailbox in UID order; free with store_message_list_free.
 * 0 no such mailbox. */
int store_message_list(struct store *store, uint64_t mailbox_id,
		       const struct store_message_query *query, struct store_message **messages_r,
		       size_t *count_r, const char **error_r);
void store_message_list_free(struct store_message **messages, size_t count);
/* Open a body read-only. On 1, *fd_r is a descriptor positioned at offset 0
 * that the caller closes; it stays readable after an expunge. 0 no such
 * message. */
int store_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
		       uint64_t *size_r, const char **error_r);
/* Remove messages in one transaction (UIDs that do not exist are skipped)
 * and bump the mailbox's highest modseq when any went; each removed UID
 * leaves a tombstone with that modseq (see store_message_vanished). Body
 * files whose last reference went are unlinked after the commit. 1 done, 0
 * no such mailbox. */
int store_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			  size_t count, const char **error_r);
/* UIDs expunged from a mailbox (store_message_expunge, a move away, a
 * rename of INBOX) with an expunge modseq > since_modseq, ascending, each
 * once: QRESYNC's VANISHED (RFC 7162 3.2.5.1, 3.2.10). Tombstones are never
 * pruned yet, so the list is exact. On 1, *uids_r (NULL when *count_r is 0)
 * is the caller's, freed with mem_free. 1, 0 no such mailbox. */
int store_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
			   uint32_t **uids_r, size_t *count_r, const char **error_r);
/* Copy (move == false: IMAP COPY, RFC 9051 6.4.7) or move (RFC 6851) the
 * messages uids[0..count) of src_mailbox_id into dst_mailbox_id, which may
 * belong to any account (shared mailboxes) and may be the source itself.
 * One transaction: each source message that exists, in ascending UID order
 * (whatever the order of uids), gets UID = uidnext++ and MODSEQ =
 * ++highest_modseq in dst, keeps flags, keywords and internaldate, gets
 * savedate = now (RFC 8514) and shares the source's body (no new file). With
 * move the sources are expunged in the same transaction, with tombstones and
 * one modseq bump of the source, as store_message_expunge.
 * dst_uids_r[i] (count elements, given by the caller) is the new UID of
 * uids[i], 0 when uids[i] does not exist in src (or is repeated: a message
 * is copied once). *dst_uidvalidity_r is dst's UIDVALIDITY (RFC 4315
 * COPYUID); either may be NULL. Durable when it returns 1 (index committed
 * with synchronous=FULL: the bodies are on disk already). Subscribers of dst
 * and, with move, of src are notified after the commit, as for expunges.
 * 1 done (perhaps nothing copied), 0 no such src or dst mailbox, -1 error. */
int store_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
		       size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
		       uint32_t *dst_uidvalidity_r, const char **error_r);

enum store_flag_mode {
	STORE_FLAGS_ADD,     /* IMAP +FLAGS */
	STORE_FLAGS_REMOVE,  /* IMAP -FLAGS */
	STORE_FLAGS_REPLACE, /* IMAP FLAGS */
};
struct store_flag_change {
	enum store_flag_mode mode;
	unsigned flags;       /* STORE_FLAG_* */
	const char *keywords; /* space-separated keywords (atoms, RFC 9051 9 flag-keyword;
				 compared case-insensitively), NULL = none */
	uint64_t unchangedsince; /* RFC 7162 3.1.3 UNCHANGEDSINCE: a message whose modseq
				    is > unchangedsince is left alone; 0 = no condition
				    (a client's "UNCHANGEDSINCE 0", which fails for
				    every message, is the IMAP layer's to answer) */
};
/* Apply change to each listed message in one transaction. Each message whose
 * flags or keywords actually change gets a new modseq (RFC 7162 3.1.3);
 * unchanged ones keep theirs. UIDs that do not exist are skipped.
 * When modified_r != NULL, *modified_r gets the UIDs that failed the
 * unchangedsince condition, ascending, each once (RFC 7162 3.1.3 MODIFIED
 * response code), NULL when none; *modified_count_r their count. The array
 * is the caller's, freed with mem_free. modified_r and modified_count_r are
 * both NULL or both not.
 * 1 done, 0 no such mailbox, -1 error (e.g. invalid keyword, too many). */
int store_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			    size_t count, const struct store_flag_change *change,
			    uint32_t **modified_r, size_t *modified_count_r,
			    const char **error_r);

/*
 * \Recent (RFC 3501 2.3.2): a message is recent in exactly one IMAP4rev1
 * session, the first that selects its mailbox (read-write) after the
 * message arrived. Each mailbox keeps recent_uid, the first UID no session
 * has claimed (1 for a new mailbox); the messages with UID >= recent_uid
 * are the ones no session has seen yet.
 */
/* Claim the messages below upto_uid (UINT32_MAX: every message there is)
 * that no session has claimed: recent_uid moves atomically to
 * max(recent_uid, min(upto_uid, uidnext)), and [*first_r, *end_r) is the
 * UID range this caller got (empty when *first_r == *end_r). Two callers
 * never get overlapping ranges. 1 done, 0 no such mailbox (*first_r and
 * *end_r 0), -1 error. */
int store_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
			       uint32_t *first_r, uint32_t *end_r, const char **error_r);
/* Without claiming anything: the mailbox's recent_uid and how many of its
 * messages have a UID >= it (STATUS RECENT, EXAMINE). 1, 0 no such mailbox
 * (both 0), -1 error. */
int store_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
			 uint32_t *count_r, const char **error_r);

/*
 * Access control lists (RFC 4314): who besides a mailbox's owner may do what
 * with it. An entry maps an identifier to a rights string over the rights of
 * RFC 4314 2.1 ("l r s w i p k x t e a"). Identifiers are an account
 * (named by its address) or one of the special identifiers "anyone" (every
 * session, authenticated or not) and "authenticated" (every authenticated
 * account). Rights are stored in canonical form: each right once, sorted
 * ("aeiklprstwx" is all of them).
 *
 * Obsolete rights (RFC 4314 2.1.1): RFC 2086's "c" and "d" are accepted in
 * store_acl_set and replaced by the right sets this server ties them to:
 * "c" is the "create" set "k" and "x" (create and delete children, which
 * RFC 2086 "c" covered: RENAME needs both), "d" is the "delete" set "x", "t"
 * and "e" (delete the mailbox, flag messages \Deleted, expunge). Listings
 * never show "c" or "d"; the IMAP layer adds them to MYRIGHTS/LISTRIGHTS
 * replies as RFC 4314 2.1.1 asks.
 *
 * The owner of a mailbox has every right implicitly, whatever its entries
 * say. Negative rights ("-identifier", RFC 4314 2) are not supported: an
 * identifier starting with '-' is refused. Entries go with their mailbox
 * (store_mailbox_delete, store_account_del) and with their account.
 */
#define STORE_ACL_RIGHTS_ALL "aeiklprstwx"
#define STORE_ACL_RIGHTS_SIZE 16 /* a canonical rights string and its NUL fit */
#define STORE_ACL_ANYONE "anyone"
#define STORE_ACL_AUTHENTICATED "authenticated"

struct store_acl_entry {
	uint64_t account_id; /* 0 for "anyone" and "authenticated" */
	char *identifier;    /* "anyone", "authenticated" or the account's address */
	char rights[STORE_ACL_RIGHTS_SIZE];
};

/* Canonical form of a rights string: the RFC 4314 2.1 letters in rights
 * (any order, repeats allowed, "c" and "d" mapped as above) sorted, each
 * once. 0 ok, -1 an unknown right (*error_r set). "" gives "". */
int store_acl_rights_normalize(const char *rights, char out_r[STORE_ACL_RIGHTS_SIZE],
			       const char **error_r);
/* Set the rights of identifier on a mailbox (replacing the entry's old
 * rights); empty rights remove the entry. identifier is "anyone",
 * "authenticated" (both case-insensitive) or an account's address.
 * 1 done (also: removing an entry that did not exist), 0 no such mailbox or
 * no such account, -1 error (invalid rights or identifier). */
int store_acl_set(struct store *store, uint64_t mailbox_id, const char *identifier,
		  const char *rights, const char **error_r);
/* The entries of a mailbox: "anyone", then "authenticated", then accounts
 * by address (case-insensitively). Free with store_acl_list_free.
 * 1 (perhaps with none), 0 no such mailbox. */
int store_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
		  size_t *count_r, const char **error_r);
void store_acl_list_free(struct store_acl_entry **entries, size_t count);
/* Effective rights of account_id on a mailbox: all of them for the owner,
 * else the union of the account's entry, "authenticated" and "anyone".
 * account_id == 0 is an unauthenticated session: "anyone" only.
 * 1 (rights_r canonical, perhaps ""), 0 no such mailbox ("" in rights_r). */
int store_acl_rights(struct store *store, uint64_t mailbox_id, uint64_t account_id,
		     char rights_r[STORE_ACL_RIGHTS_SIZE], const char **error_r);

/* A mailbox of another account that an account may see (IMAP's shared
 * namespace "Shared/<owner>/<name>"). */
struct store_acl_shared {
	uint64_t mailbox_id;
	uint64_t owner_id;
	char *owner; /* the owner's address */
	char *name;  /* the mailbox's name in the owner's hierarchy */
	char rights[STORE_ACL_RIGHTS_SIZE]; /* effective rights, as store_acl_rights */
};
/* Every mailbox of other accounts on which account_id has at least "l"
 * (lookup, RFC 4314 2.1), through its own entry, "authenticated" or
 * "anyone"; ordered by owner address (case-insensitively), then name.
 * Free with store_acl_shared_free. Returns 1 (perhaps with none) or -1. */
int store_acl_shared_mailboxes(struct store *store, uint64_t account_id,
			       struct store_acl_shared **shared_r, size_t *count_r,
			       const char **error_r);
void store_acl_shared_free(struct store_acl_shared **shared, size_t count);

/*
 * Change notification within this process (for IMAP IDLE, RFC 2177).
 *
 * After every committed change to a mailbox the store calls the callbacks
 * subscribed to it with the mailbox's modseq after the change:
 *   - store_deliver: the new message's modseq, once per target;
 *   - store_message_expunge, store_message_set_flags, store_message_copy
 *     (the destination and, for a move, the source): the mailbox's highest
 *     modseq read after the commit (at least the change's own; a call that
 *     changed nothing may still notify, with the unchanged modseq);
 *   - store_mailbox_rename of INBOX: INBOX with its highest modseq (its
 *     messages left); the new mailbox is new, nobody listens to it yet;
 *   - store_mailbox_rename: the renamed mailbox and each child, and
 *     store_mailbox_delete: the mailbox, with modseq 0, which means "the
 *     mailbox itself changed: renamed or gone" (a real modseq is never 0
 *     after a change); the subscriber lists the account's mailboxes to see
 *     which.
 * Deleting an account (its mailboxes) does not notify.
 *
 * Callbacks run in the thread that made the change (a worker thread),
 * after its commit, with no store lock held. A callback must be short and
 * must not call the store (not even store_notify_unsubscribe): it hands the
 * event over to its session's event loop (an eventfd, a pipe, or a worker
 * pool completion) and returns. The ids and modseqs of the mailboxes being
 * deleted or renamed are read just before the change; a rival change in
 * between (another process deleting and recreating the name) may go
 * unnotified, as may changes made by other processes (admin commands).
 *
 * Across processes and nodes this is not enough: the PostgreSQL backend
 * will LISTEN on a channel per store and NOTIFY (mailbox id, modseq) in the
 * committing transaction, and a listener thread will feed the same
 * subscription table; the interface below stays as it is.
 */
typedef void store_notify_cb(void *ctx, uint64_t mailbox_id, uint64_t modseq);
struct store_notify_sub;

/* Call callback(ctx, mailbox_id, modseq) after each change of mailbox_id
 * until store_notify_unsubscribe. The mailbox need not exist (yet). Never
 * fails; the handle is owned by the caller and must be given to
 * store_notify_unsubscribe before store_close. */
struct store_notify_sub *store_notify_subscribe(struct store *store, uint64_t mailbox_id,
						store_notify_cb *callback, void *ctx);
/* Stop a subscription and set *sub to NULL (nothing when it is NULL
 * already). When it returns, the callback is not running and will not run
 * again, so ctx may be freed. Waits for a callback in progress in another
 * thread; never call it from the subscription's own callback. */
void store_notify_unsubscribe(struct store_notify_sub **sub);

/*
 * Outbound queue (DESIGN.md 3): messages for other hosts, waiting for the
 * delivery engine. An entry holds the envelope, its DSN parameters
 * (RFC 3461) and a body blob; each recipient has its own state and retry
 * schedule. Entries are named by the queue id the SMTP layer chose (the id
 * in the log lines). A recipient in a final state (SENT, BOUNCED) never
 * changes again; an entry stays until store_queue_delete, which the engine
 * calls once every recipient is final and any DSN has been queued (or
 * store_queue_finish, which also takes the outcomes of the last attempt).
 *
 * Times are seconds since the epoch.
 */
#define STORE_QUEUE_ID_MAX 32      /* queue ids: 1..32 ASCII letters and digits */
#define STORE_QUEUE_ENVID_MAX 100  /* RFC 3461 4.4 */
#define STORE_QUEUE_ORCPT_MAX 500  /* RFC 3461 4.2 */
#define STORE_QUEUE_STATUS_MAX 1024 /* last status text of a recipient */

/* RET (RFC 3461 4.3). */
enum store_queue_ret {
	STORE_QUEUE_RET_NONE, /* not given: the DSN generator decides */
	STORE_QUEUE_RET_FULL,
	STORE_QUEUE_RET_HDRS,
};

/* NOTIFY (RFC 3461 4.1), a bit set: 0 = not given, NEVER only alone. */
#define STORE_QUEUE_NOTIFY_NEVER 0x01u
#define STORE_QUEUE_NOTIFY_SUCCESS 0x02u
#define STORE_QUEUE_NOTIFY_FAILURE 0x04u
#define STORE_QUEUE_NOTIFY_DELAY 0x08u

enum store_queue_rcpt_state {
	STORE_QUEUE_RCPT_QUEUED,   /* not tried yet */
	STORE_QUEUE_RCPT_DEFERRED, /* tried, failed temporarily; due again at next_attempt */
	STORE_QUEUE_RCPT_SENT,     /* final: accepted by the next hop */
	STORE_QUEUE_RCPT_BOUNCED,  /* final: failed permanently or expired */
};

/* One recipient as store_queue_add takes it. Every string of an envelope
 * must be UTF-8 without control characters. */
struct store_queue_envelope_rcpt {
	const char *address; /* forward path without <>, 1..STORE_ADDRESS_MAX octets */
	const char *orcpt;   /* ORCPT value as received ("rfc822;..." in xtext, RFC 3461
				4.2), kept unchanged for relaying; NULL = none */
	unsigned notify;     /* STORE_QUEUE_NOTIFY_* */
};

struct store_queue_envelope {
	const char *sender; /* reverse path without <>; "" = the null sender */
	const char *envid;  /* ENVID as received (xtext, RFC 3461 4.4); NULL = none */
	enum store_queue_ret ret;
	uint64_t submitter; /* id of the authenticated account that sent it; 0 = none
			       (kept as a number: the account may be deleted meanwhile) */
	const struct store_queue_envelope_rcpt *rcpts;
	size_t rcpt_count;  /* >= 1 */
	bool requiretls;    /* MAIL FROM ... REQUIRETLS (RFC 8689 4.1) */
	bool smtputf8;      /* MAIL FROM ... SMTPUTF8 (RFC 6531 3.4): the next hop must
			       offer SMTPUTF8 too */
};

/* Notice flags of a recipient (store_queue_set_rcpt_flags,
 * store_queue_update_rcpt_flags). They let the delivery engine keep its
 * promises across restarts: a flag is set in the same write as the state it
 * belongs to, or after the notice it records was queued, so a crash at
 * worst repeats a notice and never loses one. */
#define STORE_QUEUE_RCPT_F_DELAY_SENT 0x01u   /* a delay notice went out for it */
#define STORE_QUEUE_RCPT_F_SUCCESS_OWED 0x02u /* final SENT, and a success DSN is due
						 (NOTIFY=SUCCESS, no DSN-capable next hop) */
#define STORE_QUEUE_RCPT_F_LOCAL 0x04u        /* SENT into a local mailbox (the success
						 DSN says "delivered", not "relayed") */
#define STORE_QUEUE_RCPT_F_ALL 0x07u

/* A recipient as the queue holds it. */
struct store_queue_rcpt {
	char *address;
	char *orcpt; /* NULL = none */
	unsigned notify;
	enum store_queue_rcpt_state state;
	uint32_t attempts;    /* store_queue_update_rcpt calls so far */
	int64_t last_attempt; /* 0 = never tried */
	int64_t next_attempt; /* QUEUED, DEFERRED: due from then on; final states: 0 */
	char *status;         /* last status text (e.g. the remote reply), NULL = none */
	char *dsn;            /* last RFC 3463 status code ("4.4.1"), NULL = none */
	unsigned flags;       /* STORE_QUEUE_RCPT_F_* */
};

struct store_queue_entry {
	char queue_id[STORE_QUEUE_ID_MAX + 1];
	uint64_t size; /* octets of the body */
	char *sender;  /* "" = null sender */
	char *envid;   /* NULL = none */
	enum store_queue_ret ret;
	uint64_t submitter;
	bool requiretls; /* RFC 8689 */
	bool smtputf8;   /* received with SMTPUTF8 (RFC 6531 3.4) */
	int64_t arrival; /* when store_queue_add committed it */
	bool hold;       /* held entries are never due */
	struct store_queue_rcpt *rcpts; /* rcpts[i] is recipient i as added */
	size_t rcpt_count;
};

/* Put a message into the queue: the body of *blob with env, named queue_id
 * (unique; the caller's). Every recipient starts QUEUED, due now. The blob is
 * consumed either way and *blob set to NULL.
 * 1: durable before returning, like store_deliver (body fsync'd, renamed,
 * directory fsync'd, index committed, sharing the group commit of
 * deliveries). 0: an entry named queue_id exists, nothing was queued. -1:
 * error (invalid envelope or id, a write failed); nothing was queued. */
int store_queue_add(struct store *store, struct store_blob **blob,
		    const struct store_queue_envelope *env, const char *queue_id,
		    const char **error_r);
/* Every entry with all its recipients, oldest arrival first (then in the
 * order added); free with store_queue_list_free. Returns 1 or -1. */
int store_queue_list(struct store *store, struct store_queue_entry **entries_r, size_t *count_r,
		     const char **error_r);
/* For the delivery engine: at most max entries that are not held and have a
 * recipient in state QUEUED or DEFERRED with next_attempt <= now, the entry
 * whose earliest such recipient is due first coming first. Each comes with
 * all its recipients; the engine tries the due ones. Free with
 * store_queue_list_free. Returns 1 (perhaps with none) or -1. */
int store_queue_due(struct store *store, int64_t now, size_t max,
		    struct store_queue_entry **entries_r, size_t *count_r, const char **error_r);
void store_queue_list_free(struct store_queue_entry **entries, size_t count);
/* One entry. On 1, release *entry_r with store_queue_entry_deinit. 0 none. */
int store_queue_get(struct store *store, const char *queue_id, struct store_queue_entry *entry_r,
		    const char **error_r);
void store_queue_entry_deinit(struct store_queue_entry *entry);
/* Remove an entry; its body file goes after the commit when nothing else
 * references it. 1 deleted, 0 not found. */
int store_queue_delete(struct store *store, const char *queue_id, const char **error_r);
/* Hold an entry (never due, like postsuper -h) or release it again; the
 * recipients keep their schedule. 1 done (also when it already was), 0 not
 * found. */
int store_queue_hold(struct store *store, const char *queue_id, const char **error_r);
int store_queue_release(struct store *store, const char *queue_id, const char **error_r);
/* Make the waiting recipients (QUEUED, DEFERRED) of an entry, or of every
 * entry (queue_id NULL), due at now, like postqueue -f; attempts, status and
 * the last attempt stay as they are; held entries are left alone.
 * 1 done (also when nothing was waiting), 0 no such entry, -1 error. */
int store_queue_flush(struct store *store, const char *queue_id, int64_t now,
		      const char **error_r);
/* Open an entry's body read-only: like store_message_open. 1, 0 not found. */
int store_queue_open_body(struct store *store, const char *queue_id, int *fd_r, uint64_t *size_r,
			  const char **error_r);
/* Record a delivery attempt for recipient rcpt_index of an entry: attempts
 * grows by one, last_attempt becomes now, state becomes state (DEFERRED,
 * SENT or BOUNCED), next_attempt is kept for DEFERRED (it must be given) and
 * 0 for the final states, status (<= STORE_QUEUE_STATUS_MAX octets, no
 * control characters) and dsn (RFC 3463 3.1 class.subject.detail) replace
 * the old ones (NULL = none). 1 done, 0 no such entry or recipient, -1 error
 * (invalid arguments, or the recipient is final already). */
int store_queue_update_rcpt(struct store *store, const char *queue_id, size_t rcpt_index,
			    enum store_queue_rcpt_state state, int64_t next_attempt,
			    const char *status, const char *dsn, const char **error_r);
/* Like store_queue_update_rcpt, and also adds flags_set (STORE_QUEUE_RCPT_F_*)
 * to the recipient's flags in the same write: e.g. SENT together with
 * SUCCESS_OWED, so that no crash can separate the two. Same returns; -1 also
 * for bits outside STORE_QUEUE_RCPT_F_ALL. */
int store_queue_update_rcpt_flags(struct store *store, const char *queue_id, size_t rcpt_index,
				  enum store_queue_rcpt_state state, int64_t next_attempt,
				  const char *status, const char *dsn, unsigned flags_set,
				  const char **error_r);
/* Change only the notice flags of recipient rcpt_index, whatever its state
 * (final ones too): flags_set is added, then flags_clear removed (both
 * STORE_QUEUE_RCPT_F_*). Attempts, times and texts stay. 1 done (also when
 * nothing changed), 0 no such entry or recipient, -1 error (bits outside
 * STORE_QUEUE_RCPT_F_ALL, a write failed). */
int store_queue_set_rcpt_flags(struct store *store, const char *queue_id, size_t rcpt_index,
			       unsigned flags_set, unsigned flags_clear, const char **error_r);

/* The final outcome of one recipient's last attempt, for store_queue_finish:
 * the arguments store_queue_update_rcpt_flags would take for it. */
struct store_queue_final {
	size_t rcpt_index;
	enum store_queue_rcpt_state state; /* SENT or BOUNCED */
	const char *status;                /* as store_queue_update_rcpt; NULL = none */
	const char *dsn;                   /* RFC 3463 3.1 code; NULL = none */
	unsigned flags_set;                /* STORE_QUEUE_RCPT_F_* */
};
/* Finish an entry whose last attempt made every waiting recipient final:
 * finals[0..count-1] are the outcomes of that attempt (each recipient at
 * most once, count 0 when every recipient was final already), and the
 * entry is removed in the same single write (one commit, one fsync), its
 * body file going after the commit as with store_queue_delete. Recording
 * the outcomes and removing the entry is one step: no crash leaves the
 * outcomes recorded and the entry still there, or the reverse. The outcomes
 * are checked like store_queue_update_rcpt_flags checks them; as the entry
 * is gone when it returns, nothing of them is kept (the log keeps them).
 * Any notice owed for these outcomes must be durable (queued) BEFORE the
 * call: after it returns nothing says a notice is due. The checks read the
 * entry before the one write; like every queue update this assumes that one
 * delivery works on an entry at a time (entries are not leased yet).
 * 1 finished (entry removed). 0 no such entry. -1 error, nothing changed:
 * an invalid outcome or index (also one given twice), a listed recipient
 * that is final already, an unlisted one that is still waiting (QUEUED or
 * DEFERRED: an entry is never removed while a recipient waits), or a failed
 * write. */
int store_queue_finish(struct store *store, const char *queue_id,
		       const struct store_queue_final *finals, size_t count, const char **error_r);

/*
 * Maintenance
 */
/* A grace period for store_gc that no delivery comes near. */
#define STORE_GC_GRACE_DEFAULT 3600u

struct store_gc_result {
	unsigned tmp_removed;   /* temporary files removed */
	unsigned blobs_removed; /* unreferenced body files removed */
	uint64_t bytes_removed; /* their size */
};
/* Remove body files that no message references and leftover temporary
 * files, when older than grace_secs (or, for temporary files, when the
 * process that wrote them is gone). A body is on disk shortly before the
 * index commit that references it, so grace_secs == 0 is only safe when no
 * delivery is in progress in any process. Returns 1 or -1. */
int store_gc(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
	     const char **error_r);

/* ---- MTA-STS policy cache (RFC 8461 5.1; store-sts.c) ----
 *
 * One cached policy per recipient domain, as fetched: the queue parses it
 * (queue/queue-sts.h) when it uses it. The store does not interpret the
 * policy, and keeps an entry past its expiry until it is replaced or
 * deleted (the caller compares expires with the time). */

#define STORE_STS_DOMAIN_MAX 253
#define STORE_STS_ID_MAX 32
#define STORE_STS_POLICY_MAX 65536

struct store_sts_policy {
	char domain[STORE_STS_DOMAIN_MAX + 1];  /* lower case, no trailing dot */
	char policy_id[STORE_STS_ID_MAX + 1];   /* id= of the _mta-sts TXT record (RFC 8461 3.1) */
	char *policy;                           /* the policy file; owned, see _deinit */
	int64_t fetched;                        /* when it was fetched (seconds) */
	int64_t expires;                        /* fetched + max_age */
};

/* The cached policy of domain (any case): 1 with *policy_r filled (free
 * with store_sts_policy_deinit), 0 none (or an invalid domain), -1 error. */
int store_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
		  const char **error_r);
/* Insert or replace the policy of policy->domain. 1 ok; -1 with *error_r on
 * invalid fields (empty or overlong domain, an id that is not 1 to 32
 * letters and digits, a policy longer than STORE_STS_POLICY_MAX or holding
 * NUL) or a store error. */
int store_sts_put(struct store *store, const struct store_sts_policy *policy,
		  const char **error_r);
/* Forget domain's policy: 1 deleted, 0 there was none, -1 error. */
int store_sts_delete(struct store *store, const char *domain, const char **error_r);
/* Free policy->policy (the struct itself is the caller's). */
void store_sts_policy_deinit(struct store_sts_policy *policy);

#endif
