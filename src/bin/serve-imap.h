/*
 * serve-imap.h - what the IMAP glue files share (bin/ only).
 *
 * serve-imap.c         connections, the session, authentication, the
 *                      mailbox commands of the authenticated state
 * serve-imap-mailbox.c mailbox names to store mailboxes: the user's own and
 *                      the shared namespace "Shared/<owner>/<name>" (RFC
 *                      4314 rights), ACL and QUOTA hooks
 * serve-imap-select.c  SELECT/EXAMINE, sync, change notification, EXPUNGE
 * serve-imap-fetch.c   FETCH (imap-fetch.h renders on workers)
 * serve-imap-search.c  SEARCH, SORT, THREAD (imap-search.h on workers)
 * serve-imap-message.c STORE, COPY, MOVE, APPEND
 *
 * Work for the store runs on the worker pool as a serve_imap_job: a file
 * embeds struct serve_imap_job first in its own job struct, fills work
 * (worker thread: store calls only, no engine, no loop) and done (the loop:
 * complete the engine unless job->client is NULL, then free the job), and
 * calls serve_imap_job_start(). A client has at most one job outstanding
 * (the engine has at most one hook outstanding); when it goes away the job
 * is orphaned (client = NULL) and done() only frees it.
 */
#ifndef BIN_SERVE_IMAP_H
#define BIN_SERVE_IMAP_H

#include <stdbool.h>
#include <stdint.h>

#include "bin/serve.h"
#include "imap/imap-server.h"
#include "store/store.h"

struct serve_imap_job;
struct serve_imap_selected;

struct imap_client {
	struct server_client base;
	struct conn *conn;
	struct imap_server_session *session;
	struct loop_timer *idle;
	char ip[64];
	char user[256];
	bool implicit_tls;
	struct serve_tls_cb cb_storage;
	struct serve_auth *auth;
	bool auth_is_secret;
	uint64_t account_id;
	struct imap_job *job;          /* serve-imap.c's own jobs */
	struct serve_imap_job *gjob;   /* a serve_imap_job outstanding */
	struct serve_imap_selected *sel; /* serve-imap-select.c: the selected mailbox */
};

struct serve_imap_job {
	struct imap_client *client;    /* NULL once orphaned */
	struct server *srv;
	uint64_t account_id;
	void (*work)(struct serve_imap_job *job);
	void (*done)(struct serve_imap_job *job);
};

/* Hand job (embedded first in the caller's struct, work/done set) to the
 * worker pool; client, srv and account_id are filled in here. */
void serve_imap_job_start(struct imap_client *c, struct serve_imap_job *job);

/*
 * serve-imap-mailbox.c: a mailbox name as the engine passes it (UTF-8,
 * '/'-separated) to a store mailbox the account may see. The account's own
 * mailboxes by name; "Shared/<owner address>/<name>" is owner's mailbox
 * <name> when the account has at least "l" on it (RFC 4314). A mailbox the
 * account may not see is not found, exactly like one that does not exist.
 * Worker threads only. 1 found (release with serve_imap_mailbox_deinit), 0
 * not found, -1 store error.
 */
struct serve_imap_mailbox {
	uint64_t owner_id;             /* the owning account */
	struct store_mailbox box;      /* store_mailbox_lookup's answer */
	char rights[STORE_ACL_RIGHTS_SIZE]; /* effective rights of the account */
};
int serve_imap_mailbox_resolve(struct store *store, uint64_t account_id, const char *name,
			       struct serve_imap_mailbox *mb_r);
void serve_imap_mailbox_deinit(struct serve_imap_mailbox *mb);

/* The selected-state hooks, one per file (serve-imap.c installs them). */
void serve_imap_hook_select(void *ctx, struct imap_server_session *s, const char *name,
			    const struct imap_select_params *params);
void serve_imap_hook_unselect(void *ctx, struct imap_server_session *s);
void serve_imap_hook_sync(void *ctx, struct imap_server_session *s, uint64_t since_modseq);
void serve_imap_hook_expunge(void *ctx, struct imap_server_session *s, const uint32_t *uids,
			     size_t count);
void serve_imap_hook_fetch(void *ctx, struct imap_server_session *s,
			   const struct imap_fetch_request *req);
void serve_imap_hook_search(void *ctx, struct imap_server_session *s,
			    const struct imap_search_request *req);
void serve_imap_hook_store(void *ctx, struct imap_server_session *s,
			   const struct imap_store_request *req);
void serve_imap_hook_copy(void *ctx, struct imap_server_session *s, const uint32_t *uids,
			  size_t count, const char *dest, bool move);
void serve_imap_hook_append(void *ctx, struct imap_server_session *s, const char *name,
			    const struct imap_append_message *msgs, size_t count);
void serve_imap_hook_acl(void *ctx, struct imap_server_session *s, enum imap_acl_op op,
			 const char *name, const char *identifier, const char *rights);
/* serve-imap-mailbox.c: LIST and LSUB (mailboxes, shared ones, subscriptions). */
void serve_imap_hook_list(void *ctx, struct imap_server_session *s);
void serve_imap_hook_quota(void *ctx, struct imap_server_session *s, const char *root,
			   const char *name);

/* RFC 8474 MAILBOXID of a mailbox: "F" + the store id and UIDVALIDITY in hex
 * (kept by RENAME, new after DELETE and CREATE). */
#define SERVE_IMAP_MAILBOXID_SIZE 26
void serve_imap_mailboxid(const struct store_mailbox *box, char out[SERVE_IMAP_MAILBOXID_SIZE]);

/* Worker threads: map the body of message uid of mailbox_id read-only.
 * 1 ok: *data_r and *len_r (NULL and 0 for an empty body; release with
 * serve_imap_body_unmap), 0 no such message, -1 store error or the body
 * cannot be mapped (*data_r NULL). */
int serve_imap_body_map(struct store *store, uint64_t mailbox_id, uint32_t uid,
			const uint8_t **data_r, size_t *len_r);
/* Undo serve_imap_body_map (data NULL: nothing). */
void serve_imap_body_unmap(const uint8_t *data, size_t len);

/* serve-imap-select.c: the client goes away (free the selection, stop
 * notification). */
void serve_imap_select_free(struct imap_client *c);
/* The selected mailbox's store id and owner, 0 when none. */
uint64_t serve_imap_selected_mailbox(const struct imap_client *c);

#endif
