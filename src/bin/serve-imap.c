/*
 * serve-imap.c - IMAP glue: a socket feeding the IMAP engine, whose hooks
 * (authentication through serve-auth.c, the account's mailboxes in the
 * store) run on the worker pool. STARTTLS (RFC 9051 6.2.1) and implicit TLS
 * (imaps, RFC 8314) through serve_tls_start().
 *
 * This file: the connection, the session, authentication and the mailbox
 * commands of the authenticated state (STATUS, CREATE, DELETE, RENAME,
 * SUBSCRIBE). The selected state lives in serve-imap-select.c, -fetch.c,
 * -search.c and -message.c; names, LIST/LSUB (with the shared namespace and
 * subscriptions) and ACLs in serve-imap-mailbox.c (see serve-imap.h).
 *
 * Mailbox names reach this file as UTF-8 with '/' as separator; the engine
 * did the modified UTF-7 and the name checks.
 *
 * MAILBOXID (RFC 8474 4) is "F" + the store's mailbox id (16 hex digits) +
 * its UIDVALIDITY (8 hex digits): RENAME keeps both, so the id stays; a
 * mailbox deleted and created again gets a new UIDVALIDITY (never reused,
 * store.h), so a new id even when the store reuses the row id. LIST ...
 * RETURN (MYRIGHTS) (RFC 8440) gives all rights on the account's own
 * mailboxes and the effective ones on shared mailboxes.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bin/serve-auth.h"
#include "bin/serve-imap.h"
#include "bin/serve.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/worker.h"
#include "imap/imap-server.h"
#include "sasl/sasl-server.h"
#include "store/store.h"

/* "F", 16 + 8 hex digits, NUL */

enum imap_job_kind {
	IMAP_JOB_STATUS,
	IMAP_JOB_CREATE,
	IMAP_JOB_DELETE,
	IMAP_JOB_RENAME,
	IMAP_JOB_SUBSCRIBE,
};

struct imap_client;

struct imap_job {
	enum imap_job_kind kind;
	struct imap_client *client; /* NULL once orphaned */
	struct server *srv;
	uint64_t account_id;
	char *name, *name2;
	unsigned special_use; /* CREATE (USE ...) */
	unsigned items;       /* STATUS items, IMAP_STATUS_* */
	bool flag;
	/* results */
	int ret;
	enum imap_mailbox_result result;
	struct imap_status_info status;
	char mailboxid[SERVE_IMAP_MAILBOXID_SIZE]; /* STATUS, CREATE; "" none */
};


/* The MAILBOXID (RFC 8474 4) of a store mailbox, see the top comment. */
void
serve_imap_mailboxid(const struct store_mailbox *box, char out[SERVE_IMAP_MAILBOXID_SIZE])
{
	(void)snprintf(out, SERVE_IMAP_MAILBOXID_SIZE, "F%016" PRIx64 "%08" PRIx32, box->id,
		       box->uidvalidity);
}

int
serve_imap_body_map(struct store *store, uint64_t mailbox_id, uint32_t uid,
		    const uint8_t **data_r, size_t *len_r)
{
	int fd, ret;
	uint64_t size;
	void *map;

	*data_r = NULL;
	*len_r = 0;
	ret = store_message_open(store, mailbox_id, uid, &fd, &size, NULL);
	if (ret != 1)
		return ret;
	if (size > SIZE_MAX) {
		close(fd);
		return -1;
	}
	if (size > 0) {
		map = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			close(fd);
			return -1;
		}
		*data_r = map;
		*len_r = (size_t)size;
	}
	close(fd);
	return 1;
}

void
serve_imap_body_unmap(const uint8_t *data, size_t len)
{
	if (data != NULL)
		(void)munmap((void *)data, len);
}

/* RFC 9051 5.4: at least 30 minutes of inactivity before autologout */
#define IMAP_IDLE_TIMEOUT_MS (30u * 60u * 1000u)

static void imap_client_free(struct imap_client *c);

static void
imap_job_free(struct imap_job *job)
{
	mem_free(&job->name);
	mem_free(&job->name2);
	mem_free(&job);
}

static void imap_job_done(void *ctx);
static void imap_job_work(void *ctx);

static struct imap_job *
imap_job_new(struct imap_client *c, enum imap_job_kind kind, const char *name,
	     const char *name2)
{
	struct imap_job *job = mem_zalloc(sizeof(*job));

	job->kind = kind;
	job->client = c;
	job->srv = c->base.server;
	job->account_id = c->account_id;
	job->name = name != NULL ? mem_strdup(name) : NULL;
	job->name2 = name2 != NULL ? mem_strdup(name2) : NULL;
	return job;
}

/* The job belongs to the worker from here until imap_job_done. */
static void
imap_job_start(struct imap_client *c, struct imap_job *job)
{
	c->job = job;
	worker_pool_submit(c->base.server->pool, imap_job_work, imap_job_done, job);
}

static void
serve_imap_job_work(void *ctx)
{
	struct serve_imap_job *job = ctx;

	job->work(job);
}

static void
serve_imap_job_done(void *ctx)
{
	struct serve_imap_job *job = ctx;

	if (job->client != NULL)
		job->client->gjob = NULL;
	job->done(job);
}

void
serve_imap_job_start(struct imap_client *c, struct serve_imap_job *job)
{
	job->client = c;
	job->srv = c->base.server;
	job->account_id = c->account_id;
	c->gjob = job;
	worker_pool_submit(c->base.server->pool, serve_imap_job_work, serve_imap_job_done, job);
}

/* ---- work on a worker thread ---- */

static enum imap_mailbox_result
store_result(int ret, enum imap_mailbox_result zero)
{
	return ret > 0 ? IMAP_MAILBOX_OK : ret == 0 ? zero : IMAP_MAILBOX_TEMPFAIL;
}

static void
status_work(struct imap_job *job)
{
	struct store *store = job->srv->store;
	struct serve_imap_mailbox mb;
	struct store_mailbox mbox;
	struct store_message *msgs;
	size_t n;
	/* the user's own mailboxes and the shared namespace */
	int ret = serve_imap_mailbox_resolve(store, job->account_id, job->name, &mb);

	job->result = store_result(ret, IMAP_MAILBOX_NONEXISTENT);
	if (ret != 1)
		return;
	if (strchr(mb.rights, 'r') == NULL) {
		/* RFC 4314 4: STATUS needs "r" */
		job->result = IMAP_MAILBOX_NOPERM;
		serve_imap_mailbox_deinit(&mb);
		return;
	}
	mbox = mb.box;
	job->status.messages = mbox.messages;
	job->status.uidnext = mbox.uidnext;
	job->status.uidvalidity = mbox.uidvalidity;
	job->status.size = mbox.size;
	job->status.highest_modseq = mbox.highest_modseq; /* the engine prints 0 as 1 */
	serve_imap_mailboxid(&mbox, job->mailboxid);
	if ((job->items & IMAP_STATUS_RECENT) != 0) {
		uint32_t recent_uid;

		/* RFC 3501 2.3.2: what no session has claimed yet */
		if (store_mailbox_recent(store, mbox.id, &recent_uid, &job->status.recent,
					 NULL) != 1)
			job->status.recent = 0;
	}
	if ((job->items & (IMAP_STATUS_UNSEEN | IMAP_STATUS_DELETED)) != 0 &&
	    store_message_list(store, mbox.id, NULL, &msgs, &n, NULL) == 1) {
		for (size_t i = 0; i < n; i++) {
			if ((msgs[i].flags & STORE_FLAG_SEEN) == 0)
				job->status.unseen++;
			if ((msgs[i].flags & STORE_FLAG_DELETED) != 0)
				job->status.deleted++;
		}
		store_message_list_free(&msgs, n);
	}
	serve_imap_mailbox_deinit(&mb);
}

static void
create_work(struct imap_job *job)
{
	struct store *store = job->srv->store;
	struct store_mailbox box;
	uint64_t id = 0;
	int ret = store_mailbox_create(store, job->account_id, job->name, job->special_use, &id,
				       NULL);

	job->result = store_result(ret, IMAP_MAILBOX_EXISTS);
	if (ret != 1)
		return;
	/* RFC 8474 4.1: the new id for the tagged OK; left out when the
	 * mailbox changed meanwhile (it is no error: the mailbox was made) */
	if (store_mailbox_lookup(store, job->account_id, job->name, &box, NULL) == 1) {
		if (box.id == id)
			serve_imap_mailboxid(&box, job->mailboxid);
		store_mailbox_deinit(&box);
	}
}

static void
imap_job_work(void *ctx)
{
	struct imap_job *job = ctx;
	struct store *store = job->srv->store;
	int ret;

	switch (job->kind) {
	case IMAP_JOB_STATUS:
		status_work(job);
		break;
	case IMAP_JOB_CREATE:
		create_work(job);
		break;
	case IMAP_JOB_DELETE:
		ret = store_mailbox_delete(store, job->account_id, job->name, NULL);
		job->result = store_result(ret, IMAP_MAILBOX_NONEXISTENT);
		break;
	case IMAP_JOB_RENAME:
		/* renaming INBOX (moving its messages) is not supported by the store yet */
		if (strcasecmp(job->name, "INBOX") == 0) {
			job->result = IMAP_MAILBOX_CANNOT;
			break;
		}
		ret = store_mailbox_rename(store, job->account_id, job->name, job->name2, NULL);
		job->result = ret < 0 ? IMAP_MAILBOX_CANNOT :
					store_result(ret, IMAP_MAILBOX_NONEXISTENT);
		break;
	case IMAP_JOB_SUBSCRIBE:
		ret = store_mailbox_set_subscribed(store, job->account_id, job->name, job->flag,
						   NULL);
		job->result = store_result(ret, IMAP_MAILBOX_NONEXISTENT);
		break;
	}
}

/* ---- completions on the loop ---- */

static void
imap_job_done(void *ctx)
{
	struct imap_job *job = ctx;
	struct imap_client *c = job->client;

	if (c == NULL) {
		imap_job_free(job);
		return;
	}
	c->job = NULL;
	switch (job->kind) {
	case IMAP_JOB_STATUS:
		imap_server_status_done_id(c->session, &job->status,
					   job->mailboxid[0] != '\0' ? job->mailboxid : NULL,
					   job->result);
		break;
	case IMAP_JOB_CREATE:
		imap_server_mailbox_op_done_id(c->session, job->result, NULL,
					       job->mailboxid[0] != '\0' ? job->mailboxid : NULL);
		break;
	default:
		imap_server_mailbox_op_done(c->session, job->result, NULL);
		break;
	}
	imap_job_free(job);
}

/* ---- hooks ---- */

static void
auth_lookup_done(void *ctx, enum serve_auth_result result, const char *secret,
		 uint64_t account_id, const char *address)
{
	struct imap_client *c = ctx;

	c->auth = NULL;
	if (result != SERVE_AUTH_FAILED && account_id != 0)
		c->account_id = account_id;
	if (result == SERVE_AUTH_TEMPFAIL)
		imap_server_auth_tempfail(c->session);
	else if (c->auth_is_secret)
		imap_server_auth_secret(c->session, secret);
	else
		imap_server_auth_verified(c->session, result == SERVE_AUTH_OK);
}

static void
hook_auth_lookup(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
		 const char *password)
{
	struct imap_client *c = ctx;

	log_sanitize(c->user, sizeof(c->user), authcid, strlen(authcid));
	c->auth_is_secret = password == NULL;
	c->account_id = 0;
	c->auth = serve_auth_start(c->base.server, c->ip, authcid, password, auth_lookup_done, c);
}

static void
hook_auth_result(void *ctx, struct imap_server_session *s, const char *mech, const char *authcid,
		 bool ok, const char *reason)
{
	struct imap_client *c = ctx;

	if (ok) {
		serve_auth_report(c->base.server, c->ip, true);
		log_info("imapd", "login: user=<%s>, rip=%s, method=%s%s", c->user, c->ip, mech,
			 imap_server_session_is_tls(s) ? ", TLS" : "");
		return;
	}
	log_info("imapd", "login failed: user=<%s>, rip=%s, method=%s, reason=%s", c->user, c->ip,
		 mech, reason != NULL ? reason : "failed");
	if (strncmp(mech, "SCRAM-", 6) != 0)
		return; /* password checks are counted and delayed in serve-auth.c */
	conn_hold(c->conn, serve_auth_report(c->base.server, c->ip, false));
}

static void
hook_authenticated(void *ctx, struct imap_server_session *s, const char *user)
{
	struct imap_client *c = ctx;

	/* the account id came with the lookup; nothing else to load yet */
	imap_server_login_done(s, c->account_id != 0);
}

static void
hook_starttls(void *ctx, struct imap_server_session *s)
{
	struct imap_client *c = ctx;

	if (!serve_tls_start(c->base.server, c->conn))
		conn_close_after_flush(c->conn);
}

/* RFC 4978: deflate above the transport, plain or TLS; what the client
 * pipelined after COMPRESS is inflated first, from the loop */
static void
hook_compress(void *ctx, struct imap_server_session *s, const uint8_t *pending,
	      size_t pending_len)
{
	struct imap_client *c = ctx;

	conn_set_compress(c->conn, 6, pending, pending_len);
}

static void
hook_mailbox_status(void *ctx, struct imap_server_session *s, const char *name, unsigned items)
{
	struct imap_job *job = imap_job_new(ctx, IMAP_JOB_STATUS, name, NULL);

	job->items = items;
	imap_job_start(ctx, job);
}

static void
hook_mailbox_create(void *ctx, struct imap_server_session *s, const char *name,
		    unsigned special_use)
{
	struct imap_job *job = imap_job_new(ctx, IMAP_JOB_CREATE, name, NULL);

	/* the engine's special-use bits are the store's (imap-server.h) */
	job->special_use = special_use;
	imap_job_start(ctx, job);
}

static void
hook_mailbox_delete(void *ctx, struct imap_server_session *s, const char *name)
{
	imap_job_start(ctx, imap_job_new(ctx, IMAP_JOB_DELETE, name, NULL));
}

static void
hook_mailbox_rename(void *ctx, struct imap_server_session *s, const char *old_name,
		    const char *new_name)
{
	imap_job_start(ctx, imap_job_new(ctx, IMAP_JOB_RENAME, old_name, new_name));
}

static void
hook_mailbox_subscribe(void *ctx, struct imap_server_session *s, const char *name,
		       bool subscribe)
{
	struct imap_job *job = imap_job_new(ctx, IMAP_JOB_SUBSCRIBE, name, NULL);

	job->flag = subscribe;
	imap_job_start(ctx, job);
}

static const struct imap_server_hooks imap_hooks = {
	.auth_lookup = hook_auth_lookup,
	.authenticated = hook_authenticated,
	.starttls = hook_starttls,
	.auth_result = hook_auth_result,
	.mailbox_list = serve_imap_hook_list, /* serve-imap-mailbox.c */
	.mailbox_status = hook_mailbox_status,
	.mailbox_create = hook_mailbox_create,
	.mailbox_delete = hook_mailbox_delete,
	.mailbox_rename = hook_mailbox_rename,
	.mailbox_subscribe = hook_mailbox_subscribe,
	.compress = hook_compress,
};

static const struct imap_server_selected_hooks imap_selected_hooks = {
	.mailbox_select = serve_imap_hook_select,
	.mailbox_unselect = serve_imap_hook_unselect,
	.mailbox_sync = serve_imap_hook_sync,
	.message_fetch = serve_imap_hook_fetch,
	.message_search = serve_imap_hook_search,
	.message_store = serve_imap_hook_store,
	.message_copy = serve_imap_hook_copy,
	.message_expunge = serve_imap_hook_expunge,
	.message_append = serve_imap_hook_append,
	.acl = serve_imap_hook_acl,
	.quota = serve_imap_hook_quota,
};

/* ---- io ---- */

static void
imap_io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct imap_client *c = ctx;

	conn_write(c->conn, data, len);
}

static void
imap_io_close(void *ctx)
{
	struct imap_client *c = ctx;

	conn_close_after_flush(c->conn);
}

static void
imap_conn_input(void *ctx, const uint8_t *data, size_t len)
{
	struct imap_client *c = ctx;

	loop_timer_reset(c->idle, IMAP_IDLE_TIMEOUT_MS);
	imap_server_session_input(c->session, data, len);
	if (c->session != NULL)
		conn_set_reading(c->conn, imap_server_session_wants_input(c->session));
}

static void
imap_conn_drained(void *ctx)
{
	struct imap_client *c = ctx;

	if (c->session != NULL)
		conn_set_reading(c->conn, imap_server_session_wants_input(c->session));
}

static void
imap_conn_closed(void *ctx, const char *reason)
{
	struct imap_client *c = ctx;

	if (reason != NULL)
		log_info("imapd", "lost connection from [%s]: %s", c->ip, reason);
	imap_client_free(c);
}

static void
imap_conn_handshake_done(void *ctx)
{
	struct imap_client *c = ctx;
	struct sasl_channel_binding cb;
	char version[32], cipher[64];

	serve_tls_info(c->conn, version, sizeof(version), cipher, sizeof(cipher));
	log_info("imapd", "TLS established with [%s]: %s with cipher %s", c->ip, version, cipher);
	serve_tls_channel_binding(c->conn, &c->cb_storage, &cb);
	imap_server_session_set_tls(c->session, true);
	imap_server_session_set_channel_binding(c->session, &cb);
	if (c->implicit_tls)
		imap_server_session_start(c->session);
}

static void
imap_idle_timeout(void *ctx)
{
	struct imap_client *c = ctx;

	log_info("imapd", "autologout for [%s]", c->ip);
	imap_server_session_timeout(c->session);
}

static const struct imap_server_io imap_io = {
	.write = imap_io_write,
	.close = imap_io_close,
};

static const struct conn_callbacks imap_conn_cb = {
	.input = imap_conn_input,
	.drained = imap_conn_drained,
	.closed = imap_conn_closed,
	.handshake_done = imap_conn_handshake_done,
};

static void
imap_client_shutdown(struct server_client *base)
{
	struct imap_client *c = (struct imap_client *)base;

	imap_server_session_shutdown(c->session);
}

static const struct server_client_ops imap_client_ops = {
	.shutdown = imap_client_shutdown,
};

static void
imap_client_free(struct imap_client *c)
{
	struct server *srv = c->base.server;

	if (c->job != NULL) {
		c->job->client = NULL;
		c->job = NULL;
	}
	if (c->gjob != NULL) {
		c->gjob->client = NULL;
		c->gjob = NULL;
	}
	serve_auth_cancel(&c->auth);
	imap_server_session_free(&c->session);
	serve_imap_select_free(c);
	loop_timer_remove(&c->idle);
	conn_free(&c->conn);
	srv->imap_clients--;
	log_info("imapd", "disconnect from [%s]", c->ip);
	server_client_unlink(&c->base);
	mem_free(&c);
}

void
serve_imap_accept(struct server *srv, int fd, const struct net_addr *peer,
		  enum server_service service)
{
	struct imap_client *c = mem_zalloc(sizeof(*c));
	struct imap_server_settings set;
	const struct posthorn_conf *conf = &srv->conf;

	net_addr_ip(peer, c->ip, sizeof(c->ip));
	server_client_link(srv, &c->base, &imap_client_ops);
	srv->imap_clients++;
	log_info("imapd", "connect from [%s]", c->ip);
	memset(&set, 0, sizeof(set));
	set.hostname = srv->hostname;
	set.auth_plaintext_allowed = conf->plaintext_auth_loopback && net_addr_is_loopback(peer);
	set.starttls_available = srv->tls != NULL && service == SERVER_IMAP;
	/* serve-imap-mailbox.c: other accounts' mailboxes under "Shared/" */
	set.namespace_shared = true;
	imap_server_limits_init_default(&set.limits);
	c->conn = conn_new(srv->loop, fd, &imap_conn_cb, c);
	c->idle = loop_timer_add(srv->loop, IMAP_IDLE_TIMEOUT_MS, imap_idle_timeout, c);
	c->session = imap_server_session_new(&set, &imap_hooks, c, &imap_io, c, c->ip);
	imap_server_session_set_selected_hooks(c->session, &imap_selected_hooks);
	if (service == SERVER_IMAPS) {
		/* RFC 8314: TLS first; the greeting follows the handshake */
		c->implicit_tls = true;
		serve_tls_start(srv, c->conn);
		return;
	}
	imap_server_session_start(c->session);
}
