/*
 * serve-pop3.c - POP3 glue: a socket feeding the POP3 engine, whose hooks
 * (authentication through serve-auth.c, opening the maildrop, retrieve,
 * update) run on the worker pool against the store. STLS (RFC 2595) and
 * implicit TLS (pop3s, RFC 8314) through serve_tls_start().
 *
 * The maildrop is the account's INBOX. At login the list of messages is
 * fixed for the session (RFC 1939 8: later arrivals are not shown). UIDLs
 * are "<uidvalidity>.<uid>" in hex, stable across sessions and restarts.
 * One POP3 session per account at a time (the maildrop lock, RFC 1939 8).
 *
 * RETR streams: a worker reads the body in chunks; the next chunk is read
 * when the socket's output buffer has drained, so a big message never sits
 * in memory whole. The worker job that opens the body also reads its first
 * chunk, and reading stops at the size the store gave, so a message of up
 * to one chunk costs one worker round trip.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bin/serve-auth.h"
#include "bin/serve.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/worker.h"
#include "pop3/pop3-server.h"
#include "sasl/sasl-server.h"
#include "store/store.h"

#define POP3_READ_CHUNK (128 * 1024)

struct pop3_client;

struct pop3_job {
	struct pop3_client *client; /* NULL once orphaned */
	struct server *srv;
	/* login */
	char *user;
	enum pop3_login_result result;
	uint64_t account_id, mailbox_id;
	struct store_message *msgs;
	size_t msg_count;
	uint32_t uidvalidity;
	/* retrieve */
	int fd;
	uint64_t retr_left;  /* octets of the message not read yet */
	uint8_t *chunk;
	ssize_t chunk_len;
	/* update */
	uint32_t *uids;
	size_t uid_count;
	int ret;
};

struct pop3_client {
	struct server_client base;
	struct conn *conn;
	struct pop3_server_session *session;
	struct loop_timer *idle;
	char ip[64];
	char user[256];
	bool locked;
	uint64_t account_id, mailbox_id;
	uint32_t *uids; /* POP3 index -> UID */
	size_t uid_count;
	struct pop3_job *job;
	struct serve_auth *auth;
	bool auth_is_secret;
	bool implicit_tls;
	struct serve_tls_cb cb_storage;
	/* retrieve in progress */
	int retr_fd;
	uint64_t retr_left;
	bool retr_waiting_drain;
};

static void pop3_client_free(struct pop3_client *c);

static void
pop3_job_free(struct pop3_job *job)
{
	mem_free(&job->user);
	if (job->msgs != NULL)
		store_message_list_free(&job->msgs, job->msg_count);
	mem_free(&job->chunk);
	mem_free(&job->uids);
	mem_free(&job);
}

static struct pop3_job *
pop3_job_new(struct pop3_client *c)
{
	struct pop3_job *job = mem_zalloc(sizeof(*job));

	job->client = c;
	job->srv = c->base.server;
	job->fd = -1;
	c->job = job;
	return job;
}

static struct pop3_client *
pop3_job_finish(struct pop3_job *job)
{
	struct pop3_client *c = job->client;

	if (c != NULL)
		c->job = NULL;
	return c;
}

static bool
pop3_lock(struct server *srv, uint64_t account_id)
{
	for (size_t i = 0; i < srv->pop3_lock_count; i++) {
		if (srv->pop3_locks[i] == account_id)
			return false;
	}
	srv->pop3_locks = mem_realloc(srv->pop3_locks,
				      (srv->pop3_lock_count + 1) * sizeof(*srv->pop3_locks));
	srv->pop3_locks[srv->pop3_lock_count++] = account_id;
	return true;
}

static void
pop3_unlock(struct server *srv, uint64_t account_id)
{
	for (size_t i = 0; i < srv->pop3_lock_count; i++) {
		if (srv->pop3_locks[i] == account_id) {
			srv->pop3_locks[i] = srv->pop3_locks[--srv->pop3_lock_count];
			return;
		}
	}
}

/* ---- authentication and maildrop ---- */

static void
auth_lookup_done(void *ctx, enum serve_auth_result result, const char *secret,
		 uint64_t account_id, const char *address)
{
	struct pop3_client *c = ctx;

	c->auth = NULL;
	if (result == SERVE_AUTH_TEMPFAIL) {
		pop3_server_auth_tempfail(c->session);
	} else if (c->auth_is_secret) {
		pop3_server_auth_secret(c->session, secret);
	} else {
		if (result == SERVE_AUTH_FAILED)
			log_info("pop3d", "login failed: user=<%s>, rip=%s, reason=auth failed",
				 c->user, c->ip);
		pop3_server_auth_verified(c->session, result == SERVE_AUTH_OK);
	}
}

static void
hook_auth_lookup(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
		 const char *password)
{
	struct pop3_client *c = ctx;

	log_sanitize(c->user, sizeof(c->user), authcid, strlen(authcid));
	c->auth_is_secret = password == NULL;
	c->auth = serve_auth_start(c->base.server, c->ip, authcid, password, auth_lookup_done, c);
}

static void
maildrop_work(void *ctx)
{
	struct pop3_job *job = ctx;
	struct store_account acct;
	struct store_mailbox mbox;
	const char *error = NULL;
	int ret = serve_account_lookup(job->srv, job->user, &acct);

	if (ret <= 0) {
		job->result = ret == 0 ? POP3_LOGIN_FAILED : POP3_LOGIN_TEMPFAIL;
		return;
	}
	job->account_id = acct.id;
	store_account_deinit(&acct);
	if (store_mailbox_lookup(job->srv->store, job->account_id, "INBOX", &mbox, &error) != 1) {
		job->result = POP3_LOGIN_TEMPFAIL;
		return;
	}
	job->mailbox_id = mbox.id;
	job->uidvalidity = mbox.uidvalidity;
	store_mailbox_deinit(&mbox);
	if (store_message_list(job->srv->store, job->mailbox_id, NULL, &job->msgs, &job->msg_count,
			       &error) != 1) {
		job->result = POP3_LOGIN_TEMPFAIL;
		return;
	}
	job->result = POP3_LOGIN_OK;
}

static void
maildrop_done(void *ctx)
{
	struct pop3_job *job = ctx;
	struct pop3_client *c = pop3_job_finish(job);
	struct pop3_message_info *info = NULL;
	enum pop3_login_result result = job->result;

	if (c == NULL) {
		pop3_job_free(job);
		return;
	}
	if (result == POP3_LOGIN_OK && !pop3_lock(c->base.server, job->account_id))
		result = POP3_LOGIN_IN_USE;
	if (result == POP3_LOGIN_OK) {
		c->locked = true;
		c->account_id = job->account_id;
		c->mailbox_id = job->mailbox_id;
		c->uid_count = job->msg_count;
		c->uids = mem_array(job->msg_count + 1, sizeof(*c->uids));
		info = mem_array(job->msg_count + 1, sizeof(*info));
		for (size_t i = 0; i < job->msg_count; i++) {
			c->uids[i] = job->msgs[i].uid;
			info[i].size = job->msgs[i].size;
			snprintf(info[i].uidl, sizeof(info[i].uidl), "%08x.%08x", job->uidvalidity,
				 job->msgs[i].uid);
		}
		serve_auth_report(c->base.server, c->ip, true);
		log_info("pop3d", "login: user=<%s>, rip=%s, messages=%zu%s", c->user, c->ip,
			 job->msg_count, pop3_server_session_is_tls(c->session) ? ", TLS" : "");
	} else {
		log_info("pop3d", "login failed: user=<%s>, rip=%s, reason=%s", c->user, c->ip,
			 result == POP3_LOGIN_IN_USE ? "in use" : "temporary failure");
	}
	pop3_server_login_done(c->session, result, info, (unsigned)c->uid_count);
	mem_free(&info);
	pop3_job_free(job);
}

static void
hook_auth_result(void *ctx, struct pop3_server_session *s, const char *mech, const char *authcid,
		 bool ok, const char *reason)
{
	struct pop3_client *c = ctx;

	if (ok || strncmp(mech, "SCRAM-", 6) != 0)
		return; /* password checks are counted and delayed in serve-auth.c */
	log_info("pop3d", "login failed: user=<%s>, rip=%s, method=%s, reason=%s", c->user, c->ip,
		 mech, reason != NULL ? reason : "failed");
	/* SCRAM proofs are checked by the engine: hold the connection before
	 * its -ERR goes out */
	conn_hold(c->conn, serve_auth_report(c->base.server, c->ip, false));
}

static void
hook_open_maildrop(void *ctx, struct pop3_server_session *s, const char *user)
{
	struct pop3_client *c = ctx;
	struct pop3_job *job = pop3_job_new(c);

	job->user = mem_strdup(user);
	worker_pool_submit(c->base.server->pool, maildrop_work, maildrop_done, job);
}

/* ---- retrieve ---- */

static void retr_next(struct pop3_client *c);

/* Read the next chunk of job->fd into job->chunk (at most what is left of
 * the message: a read past the known size would only find the end). */
static void
retr_read_chunk(struct pop3_job *job)
{
	size_t want = job->retr_left < POP3_READ_CHUNK ? (size_t)job->retr_left : POP3_READ_CHUNK;

	job->chunk_len = 0;
	if (want == 0)
		return;
	job->chunk = mem_alloc(want);
	job->chunk_len = read(job->fd, job->chunk, want);
}

static void
retr_read_work(void *ctx)
{
	retr_read_chunk(ctx);
}

/* On the loop: pass a chunk read by a worker on, then read the next one or
 * end the response. A message that fits one chunk takes one worker job in
 * all (open and read together, retr_open_work). */
static void
retr_chunk_done(struct pop3_client *c, struct pop3_job *job)
{
	if (job->chunk_len <= 0 || (uint64_t)job->chunk_len >= c->retr_left) {
		bool ok = job->chunk_len >= 0;

		if (job->chunk_len > 0)
			pop3_server_retrieve_data(c->session, job->chunk, (size_t)job->chunk_len);
		close(c->retr_fd);
		c->retr_fd = -1;
		pop3_job_free(job);
		pop3_server_retrieve_done(c->session, ok);
		return;
	}
	c->retr_left -= (uint64_t)job->chunk_len;
	pop3_server_retrieve_data(c->session, job->chunk, (size_t)job->chunk_len);
	pop3_job_free(job);
	retr_next(c);
}

static void
retr_read_done(void *ctx)
{
	struct pop3_job *job = ctx;
	struct pop3_client *c = pop3_job_finish(job);

	if (c == NULL) {
		close(job->fd);
		pop3_job_free(job);
		return;
	}
	retr_chunk_done(c, job);
}

/* Read the next chunk now, or when the output has drained. */
static void
retr_next(struct pop3_client *c)
{
	struct pop3_job *job;

	if (conn_out_pending(c->conn) >= CONN_LOW_WATER) {
		c->retr_waiting_drain = true;
		return;
	}
	c->retr_waiting_drain = false;
	job = pop3_job_new(c);
	job->fd = c->retr_fd;
	job->retr_left = c->retr_left;
	worker_pool_submit(c->base.server->pool, retr_read_work, retr_read_done, job);
}

static void
retr_open_work(void *ctx)
{
	struct pop3_job *job = ctx;

	job->ret = store_message_open(job->srv->store, job->mailbox_id, job->uids[0], &job->fd,
				      &job->retr_left, NULL);
	if (job->ret == 1)
		retr_read_chunk(job);
}

static void
retr_open_done(void *ctx)
{
	struct pop3_job *job = ctx;
	struct pop3_client *c = pop3_job_finish(job);

	if (c == NULL) {
		if (job->fd >= 0)
			close(job->fd);
		pop3_job_free(job);
		return;
	}
	if (job->ret != 1) {
		pop3_job_free(job);
		pop3_server_retrieve_done(c->session, false);
		return;
	}
	c->retr_fd = job->fd;
	c->retr_left = job->retr_left;
	retr_chunk_done(c, job);
}

static void
hook_retrieve(void *ctx, struct pop3_server_session *s, unsigned index, long top_lines)
{
	struct pop3_client *c = ctx;
	struct pop3_job *job = pop3_job_new(c);

	job->mailbox_id = c->mailbox_id;
	job->uids = mem_alloc(sizeof(*job->uids));
	job->uids[0] = c->uids[index];
	worker_pool_submit(c->base.server->pool, retr_open_work, retr_open_done, job);
}

/* ---- update ---- */

static void
update_work(void *ctx)
{
	struct pop3_job *job = ctx;

	job->ret = store_message_expunge(job->srv->store, job->mailbox_id, job->uids,
					 job->uid_count, NULL);
}

static void
update_done(void *ctx)
{
	struct pop3_job *job = ctx;
	struct pop3_client *c = pop3_job_finish(job);

	if (c != NULL) {
		log_info("pop3d", "logout: user=<%s>, deleted=%zu%s", c->user, job->uid_count,
			 job->ret == 1 ? "" : " (expunge failed)");
		pop3_server_update_done(c->session, job->ret == 1);
	}
	pop3_job_free(job);
}

static void
hook_update(void *ctx, struct pop3_server_session *s, const unsigned *deleted, unsigned count)
{
	struct pop3_client *c = ctx;
	struct pop3_job *job = pop3_job_new(c);

	job->mailbox_id = c->mailbox_id;
	job->uid_count = count;
	job->uids = mem_array(count + 1, sizeof(*job->uids));
	for (unsigned i = 0; i < count; i++)
		job->uids[i] = c->uids[deleted[i]];
	worker_pool_submit(c->base.server->pool, update_work, update_done, job);
}

static void
hook_disconnect(void *ctx, struct pop3_server_session *s)
{
	struct pop3_client *c = ctx;

	if (c->locked) {
		pop3_unlock(c->base.server, c->account_id);
		c->locked = false;
	}
}

static void
hook_starttls(void *ctx, struct pop3_server_session *s)
{
	struct pop3_client *c = ctx;

	if (!serve_tls_start(c->base.server, c->conn))
		conn_close_after_flush(c->conn); /* cannot happen: STLS is offered only with TLS */
}

static const struct pop3_server_hooks pop3_hooks = {
	.auth_lookup = hook_auth_lookup,
	.open_maildrop = hook_open_maildrop,
	.auth_result = hook_auth_result,
	.retrieve = hook_retrieve,
	.update = hook_update,
	.disconnect = hook_disconnect,
	.starttls = hook_starttls,
};

/* ---- io ---- */

static void
pop3_io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct pop3_client *c = ctx;

	conn_write(c->conn, data, len);
}

static void
pop3_io_close(void *ctx)
{
	struct pop3_client *c = ctx;

	conn_close_after_flush(c->conn);
}

static void
pop3_update_reading(struct pop3_client *c)
{
	if (c->session != NULL)
		conn_set_reading(c->conn, pop3_server_session_wants_input(c->session));
}

static void
pop3_conn_input(void *ctx, const uint8_t *data, size_t len)
{
	struct pop3_client *c = ctx;

	loop_timer_reset(c->idle, c->base.server->conf.pop3_timeout);
	pop3_server_session_input(c->session, data, len);
	if (c->session != NULL)
		pop3_update_reading(c);
}

static void
pop3_conn_drained(void *ctx)
{
	struct pop3_client *c = ctx;

	if (c->retr_waiting_drain)
		retr_next(c);
	pop3_update_reading(c);
}

static void
pop3_conn_closed(void *ctx, const char *reason)
{
	struct pop3_client *c = ctx;

	if (reason != NULL)
		log_info("pop3d", "lost connection from [%s]: %s", c->ip, reason);
	pop3_client_free(c);
}

static void
pop3_idle_timeout(void *ctx)
{
	struct pop3_client *c = ctx;

	log_info("pop3d", "autologout timer expired for [%s]", c->ip);
	pop3_server_session_timeout(c->session);
}

static const struct pop3_server_io pop3_io = {
	.write = pop3_io_write,
	.close = pop3_io_close,
};

static void
pop3_conn_handshake_done(void *ctx)
{
	struct pop3_client *c = ctx;
	struct sasl_channel_binding cb;
	char version[32], cipher[64];

	serve_tls_info(c->conn, version, sizeof(version), cipher, sizeof(cipher));
	log_info("pop3d", "TLS established with [%s]: %s with cipher %s", c->ip, version, cipher);
	serve_tls_channel_binding(c->conn, &c->cb_storage, &cb);
	pop3_server_session_set_tls(c->session, true);
	pop3_server_session_set_channel_binding(c->session, &cb);
	if (c->implicit_tls)
		pop3_server_session_start(c->session);
}

static const struct conn_callbacks pop3_conn_cb = {
	.input = pop3_conn_input,
	.drained = pop3_conn_drained,
	.closed = pop3_conn_closed,
	.handshake_done = pop3_conn_handshake_done,
};

static void
pop3_client_shutdown(struct server_client *base)
{
	struct pop3_client *c = (struct pop3_client *)base;

	pop3_server_session_shutdown(c->session);
}

static const struct server_client_ops pop3_client_ops = {
	.shutdown = pop3_client_shutdown,
};

static void
pop3_client_free(struct pop3_client *c)
{
	struct server *srv = c->base.server;

	if (c->job != NULL) {
		/* the job closes the body file it holds, if any */
		c->job->client = NULL;
		if (c->job->fd == c->retr_fd)
			c->retr_fd = -1;
		c->job = NULL;
	}
	serve_auth_cancel(&c->auth);
	if (c->retr_fd >= 0)
		close(c->retr_fd);
	pop3_server_session_free(&c->session);
	loop_timer_remove(&c->idle);
	conn_free(&c->conn);
	mem_free(&c->uids);
	srv->pop3_clients--;
	log_info("pop3d", "disconnect from [%s]", c->ip);
	server_client_unlink(&c->base);
	mem_free(&c);
}

void
serve_pop3_accept(struct server *srv, int fd, const struct net_addr *peer,
		  enum server_service service)
{
	struct pop3_client *c = mem_zalloc(sizeof(*c));
	struct pop3_server_settings set;
	const struct posthorn_conf *conf = &srv->conf;

	c->retr_fd = -1;
	net_addr_ip(peer, c->ip, sizeof(c->ip));
	server_client_link(srv, &c->base, &pop3_client_ops);
	srv->pop3_clients++;
	log_info("pop3d", "connect from [%s]", c->ip);
	memset(&set, 0, sizeof(set));
	set.hostname = srv->hostname;
	/* before TLS, plain-text passwords only on loopback (and only when the
	 * config allows it); inside TLS the engine allows them anyway */
	set.allow_plaintext_auth = conf->plaintext_auth_loopback && net_addr_is_loopback(peer);
	set.stls_available = srv->tls != NULL && service == SERVER_POP3;
	pop3_server_limits_init_default(&set.limits);
	set.limits.max_line = conf->pop3_line_length_limit;
	set.limits.max_bad_commands = conf->pop3_error_limit;
	/* RFC 2449 4 allows 40-octet arguments, but a login name is often a
	 * full address longer than that: be lenient, the line limit still holds */
	set.limits.max_arg = 254;
	c->conn = conn_new(srv->loop, fd, &pop3_conn_cb, c);
	c->idle = loop_timer_add(srv->loop, conf->pop3_timeout, pop3_idle_timeout, c);
	c->session = pop3_server_session_new(&set, &pop3_hooks, c, &pop3_io, c, c->ip);
	if (srv->pop3_clients > conf->pop3_max_connections) {
		conn_write(c->conn, "-ERR [SYS/TEMP] too many connections\r\n", 38);
		conn_close_after_flush(c->conn);
		return;
	}
	if (service == SERVER_POP3S) {
		/* RFC 8314: TLS first; the greeting follows the handshake */
		c->implicit_tls = true;
		serve_tls_start(srv, c->conn);
		return;
	}
	if (service == SERVER_POP3S) {
		/* RFC 8314: TLS first; the greeting follows the handshake */
		c->implicit_tls = true;
		serve_tls_start(srv, c->conn);
		return;
	}
	pop3_server_session_start(c->session);
}
