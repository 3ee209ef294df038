/*
 * serve-smtp.c - SMTP glue: a socket (core/conn) feeding the SMTP engine for
 * the three SMTP roles (DESIGN.md; RFC 5321, RFC 6409, RFC 8314):
 *   smtp         port 25 role: STARTTLS offered, no AUTH, local recipients only;
 *   submission   STARTTLS, AUTH required before MAIL, relaying for the user;
 *   submissions  the same over implicit TLS.
 * This file holds the connection, TLS, AUTH, MAIL and RCPT; the message
 * itself is serve-smtp-data.c's. RCPT keeps each accepted recipient's DSN
 * parameters (RFC 3461 4.1, 4.2): NOTIFY and ORCPT of remote recipients go
 * into the queue entry; local recipients with NOTIFY=SUCCESS are listed for
 * the "delivered" DSN sent once the message is stored. An alias loop or
 * explosion is refused at RCPT with 550 5.4.6 (delivery/delivery.h).
 *
 * A completed delivery whose client vanished is still durable; the client,
 * having seen no 250, sends it again (a duplicate, never a loss: RFC 5321
 * 6.1). Logging follows Postfix: "QUEUEID: client=", "from=<>, size=,
 * nrcpt=", one "to=<>, relay=, delay=, dsn=, status=" per recipient.
 */
#include "bin/serve-smtp.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "bin/serve-auth.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "sasl/sasl-server.h"
#include "smtp/smtp-server.h"

static void smtp_client_free(struct smtp_client *c);

bool
smtp_client_is_submission(const struct smtp_client *c)
{
	return c->service == SERVER_SUBMISSION || c->service == SERVER_SUBMISSIONS;
}

static void
strv_free(char ***v, size_t *n)
{
	for (size_t i = 0; *v != NULL && i < *n; i++)
		mem_free(&(*v)[i]);
	mem_free(v);
	*n = 0;
}

/* As strv_free, for an array whose count lives elsewhere (entries may be NULL). */
static void
strv_free_n(char ***v, size_t n)
{
	size_t count = n;

	strv_free(v, &count);
}

/* Append s (copied; NULL stays NULL) to an array of n entries. */
void
smtp_strv_push(char ***v, size_t n, const char *s)
{
	*v = mem_realloc(*v, mem_size_mul(n + 1, sizeof(**v)));
	(*v)[n] = s != NULL ? mem_strdup(s) : NULL;
}

void
smtp_client_reset_tx(struct smtp_client *c)
{
	mem_free(&c->accounts);
	c->account_count = 0;
	strv_free_n(&c->remote_orcpt, c->remote_count);
	strv_free(&c->remote, &c->remote_count);
	mem_free(&c->remote_notify);
	strv_free_n(&c->success_orcpt, c->success_count);
	strv_free(&c->success, &c->success_count);
	c->queue_id[0] = '\0';
	c->blob_failed = false;
	if (c->blob != NULL)
		store_blob_abort(&c->blob);
	if (c->qblob != NULL)
		store_blob_abort(&c->qblob);
	if (c->in_header)
		rfc5322_header_parser_deinit(&c->hp);
	c->in_header = false;
	buf_deinit(&c->held);
	buf_deinit(&c->from_value);
	buf_deinit(&c->sender_value);
	c->has_date = c->has_msgid = c->header_bad = false;
	c->header_flags = 0;
	c->from_count = c->sender_count = 0;
}

void
smtp_job_free(struct smtp_job *job)
{
	if (job->blob != NULL)
		store_blob_abort(&job->blob);
	if (job->qblob != NULL)
		store_blob_abort(&job->qblob);
	buf_deinit(&job->header);
	mem_free(&job->localpart);
	mem_free(&job->domain);
	mem_free(&job->accounts);
	mem_free(&job->targets);
	mem_free(&job->queue_id);
	mem_free(&job->envelope_from);
	strv_free(&job->senders, &job->sender_count);
	strv_free_n(&job->remote_orcpt, job->remote_count);
	strv_free(&job->remote, &job->remote_count);
	mem_free(&job->remote_notify);
	strv_free_n(&job->success_orcpt, job->success_count);
	strv_free(&job->success, &job->success_count);
	mem_free(&job->orcpt);
	mem_free(&job->envid);
	mem_free(&job);
}

void
smtp_job_submit(struct smtp_client *c, struct smtp_job *job, worker_fn *work, worker_fn *done)
{
	job->client = c;
	job->srv = c->base.server;
	c->job = job;
	worker_pool_submit(c->base.server->pool, work, done, job);
}

struct smtp_client *
smtp_job_finish(struct smtp_job *job)
{
	struct smtp_client *c = job->client;

	if (c != NULL)
		c->job = NULL;
	return c;
}

bool
smtp_senders_allowed(struct server *srv, uint64_t account_id, char **addresses, size_t count)
{
	const char *delim = srv->conf.recipient_delimiter;

	for (size_t i = 0; i < count; i++) {
		char *addr = addresses[i];
		char *at = strrchr(addr, '@');
		char *plus = delim[0] != '\0' ? strchr(addr, delim[0]) : NULL;
		int ret = store_account_may_send_as(srv->store, account_id, addr, NULL);

		if (ret == 0 && at != NULL && plus != NULL && plus < at && plus != addr) {
			/* user+tag@domain sends as user@domain */
			size_t len = strlen(addr);
			char *base = mem_alloc(len + 1);

			snprintf(base, len + 1, "%.*s%s", (int)(plus - addr), addr, at);
			ret = store_account_may_send_as(srv->store, account_id, base, NULL);
			mem_free(&base);
		}
		if (ret != 1)
			return false;
	}
	return true;
}

/* ---- io ---- */

static void
smtp_io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct smtp_client *c = ctx;

	conn_write(c->conn, data, len);
}

static void
smtp_io_close(void *ctx)
{
	struct smtp_client *c = ctx;

	conn_close_after_flush(c->conn);
}

void
smtp_update_reading(struct smtp_client *c)
{
	if (c->session != NULL)
		conn_set_reading(c->conn, smtp_server_session_wants_input(c->session));
}

static void
smtp_conn_input(void *ctx, const uint8_t *data, size_t len)
{
	struct smtp_client *c = ctx;
	const struct posthorn_conf *conf = &c->base.server->conf;

	loop_timer_reset(c->idle, c->queue_id[0] != '\0' ? conf->smtp_data_timeout :
							   conf->smtp_command_timeout);
	smtp_server_session_input(c->session, data, len);
	smtp_update_reading(c);
}

static void
smtp_conn_closed(void *ctx, const char *reason)
{
	struct smtp_client *c = ctx;

	if (reason != NULL)
		log_info("smtpd", "lost connection from [%s]: %s", c->ip, reason);
	smtp_client_free(c);
}

static void
smtp_conn_handshake_done(void *ctx)
{
	struct smtp_client *c = ctx;
	struct sasl_channel_binding cb;
	char version[32], cipher[64];

	serve_tls_info(c->conn, version, sizeof(version), cipher, sizeof(cipher));
	log_info("smtpd", "TLS established with [%s]: %s with cipher %s", c->ip, version, cipher);
	serve_tls_channel_binding(c->conn, &c->cb_storage, &cb);
	smtp_server_session_set_tls(c->session, true);
	smtp_server_session_set_tls_info(c->session, version, cipher);
	smtp_server_session_set_channel_binding(c->session, &cb);
	if (c->implicit_tls)
		smtp_server_session_start(c->session);
}

static void
smtp_idle_timeout(void *ctx)
{
	struct smtp_client *c = ctx;

	log_info("smtpd", "timeout after inactivity from [%s]", c->ip);
	smtp_server_session_timeout(c->session);
}

/* ---- connect, TLS, AUTH ---- */

static void
hook_connect(struct smtp_server_session *s, void *ctx)
{
	struct smtp_client *c = ctx;
	struct server *srv = c->base.server;

	if (srv->smtp_clients > srv->conf.smtp_max_connections) {
		log_warning("smtpd", "too many connections; refusing [%s]", c->ip);
		smtp_server_hook_done(s, 421, "4.7.0", "Too many connections, try again later");
		return;
	}
	smtp_server_hook_done(s, 220, NULL, NULL);
}

static void
hook_starttls(struct smtp_server_session *s, void *ctx)
{
	struct smtp_client *c = ctx;

	/* STARTTLS is offered only with a certificate, so this starts TLS */
	if (!serve_tls_start(c->base.server, c->conn))
		conn_close_after_flush(c->conn);
}

static void
auth_lookup_done(void *ctx, enum serve_auth_result result, const char *secret,
		 uint64_t account_id, const char *address)
{
	struct smtp_client *c = ctx;

	c->auth = NULL;
	c->auth_account_id = account_id;
	snprintf(c->auth_address, sizeof(c->auth_address), "%s", address != NULL ? address : "");
	if (result == SERVE_AUTH_TEMPFAIL)
		smtp_server_auth_tempfail(c->session);
	else if (c->auth_is_secret)
		smtp_server_auth_secret(c->session, secret);
	else
		smtp_server_auth_verified(c->session, result == SERVE_AUTH_OK);
	smtp_update_reading(c);
}

static void
hook_auth_lookup(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
		 const char *password)
{
	struct smtp_client *c = ctx;

	c->auth_is_secret = password == NULL;
	c->auth_account_id = 0;
	c->auth = serve_auth_start(c->base.server, c->ip, authcid, password, auth_lookup_done, c);
}

static void
hook_auth_result(struct smtp_server_session *s, void *ctx, const char *mech, const char *authcid,
		 bool ok, const char *reason)
{
	struct smtp_client *c = ctx;
	char user[256];

	log_sanitize(user, sizeof(user), authcid != NULL ? authcid : "",
		     authcid != NULL ? strlen(authcid) : 0);
	if (ok) {
		c->account_id = c->auth_account_id;
		serve_auth_report(c->base.server, c->ip, true);
		log_info("smtpd", "[%s]: sasl_method=%s, sasl_username=%s", c->ip, mech,
			 c->auth_address);
		return;
	}
	/* password failures were counted (and delayed) when the password was
	 * checked; SCRAM proofs are checked by the engine: count and delay
	 * them here by holding the connection before the 535 goes out */
	if (strncmp(mech, "SCRAM-", 6) == 0)
		conn_hold(c->conn, serve_auth_report(c->base.server, c->ip, false));
	log_warning("smtpd", "[%s]: SASL %s authentication failed: user=<%s>: %s", c->ip, mech,
		    user, reason != NULL ? reason : "failed");
}

/* ---- MAIL ---- */

static void
mail_work(void *ctx)
{
	struct smtp_job *job = ctx;

	job->sender_ok = smtp_senders_allowed(job->srv, job->account_id, job->senders,
					      job->sender_count);
}

static void
mail_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_client *c = smtp_job_finish(job);

	if (c == NULL) {
		smtp_job_free(job);
		return;
	}
	if (job->sender_ok) {
		log_info("smtpd", "%s: client=[%s], sasl_username=%s", c->queue_id, c->ip,
			 c->auth_address);
		smtp_server_hook_done(c->session, 250, "2.1.0", "Ok");
	} else {
		log_info("smtpd", "NOQUEUE: reject: MAIL from [%s]: 553 5.7.1 sender not owned by "
				  "user %s",
			 c->ip, c->auth_address);
		c->queue_id[0] = '\0';
		smtp_server_hook_done(c->session, 553, "5.7.1",
				      "Sender address rejected: not owned by the authenticated user");
	}
	smtp_job_free(job);
	smtp_update_reading(c);
}

static void
hook_mail(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
	  const struct smtp_server_mail_params *params)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job;
	struct buf addr;

	smtp_client_reset_tx(c);
	serve_queue_id(c->queue_id);
	c->tx_start_ms = loop_now(c->base.server->loop);
	if (!smtp_client_is_submission(c)) {
		log_info("smtpd", "%s: client=[%s]", c->queue_id, c->ip);
		smtp_server_hook_done(s, 250, "2.1.0", "Ok");
		return;
	}
	/* RFC 6409 6.1: the MSA may refuse senders the user does not own; the
	 * null sender is for bounces, which users do not submit */
	if (smtp_address_is_null(from)) {
		c->queue_id[0] = '\0';
		smtp_server_hook_done(s, 553, "5.7.1", "Sender address rejected: null sender");
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->account_id = c->account_id;
	buf_init(&addr, 0);
	smtp_address_format(from, &addr);
	job->senders = mem_array(1, sizeof(char *));
	job->senders[0] = buf_steal_str(&addr);
	job->sender_count = 1;
	buf_deinit(&addr);
	smtp_job_submit(c, job, mail_work, mail_done);
}

/* ---- RCPT ---- */

static void
rcpt_work(void *ctx)
{
	struct smtp_job *job = ctx;
	const char *error = NULL;

	if (job->domain == NULL)
		job->domain = mem_strdup(serve_default_domain(job->srv));
	job->status = delivery_resolve(job->srv->store, &job->srv->delivery, job->localpart,
				       job->domain, job->literal, &job->accounts,
				       &job->account_count, &error);
	if (job->status == DELIVERY_TEMPFAIL)
		snprintf(job->error, sizeof(job->error), "%s", error != NULL ? error : "?");
	/* a full mailbox (RFC 9208 quota) refuses at RCPT, temporarily: the
	 * user may make room (RFC 3463 4.2.2) */
	for (size_t i = 0; job->status == DELIVERY_OK && i < job->account_count; i++) {
		if (store_account_over_quota(job->srv->store, job->accounts[i], 1, 1, NULL) == 1)
			job->over_quota = true;
	}
}

/* A recipient outside our domains, for an authenticated submission. */
static void
rcpt_accept_remote(struct smtp_client *c, struct smtp_job *job)
{
	size_t len = strlen(job->localpart) + strlen(job->domain) + 2;
	char *addr = mem_alloc(len);

	snprintf(addr, len, "%s@%s", job->localpart, job->domain);
	/* RFC 3461 4.1, 4.2: NOTIFY and ORCPT go with the recipient into the
	 * queue, which relays them or acts on them */
	c->remote_notify = mem_realloc(c->remote_notify, mem_size_mul(c->remote_count + 1,
									sizeof(*c->remote_notify)));
	c->remote_notify[c->remote_count] = job->notify;
	smtp_strv_push(&c->remote_orcpt, c->remote_count, job->orcpt);
	c->remote = mem_realloc(c->remote, (c->remote_count + 1) * sizeof(*c->remote));
	c->remote[c->remote_count++] = addr;
	smtp_server_hook_done(c->session, 250, "2.1.5", "Ok");
}

static void
rcpt_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_client *c = smtp_job_finish(job);
	struct smtp_server_session *s;
	char safe[300];

	if (c == NULL) {
		smtp_job_free(job);
		return;
	}
	s = c->session;
	log_sanitize(safe, sizeof(safe), job->localpart, strlen(job->localpart));
	switch (job->status) {
	case DELIVERY_OK:
		if (job->over_quota) {
			log_info("smtpd", "%s: reject: RCPT from [%s]: 452 4.2.2 <%s@%s>: "
					  "mailbox full", c->queue_id, c->ip, safe, job->domain);
			smtp_server_hook_done(s, 452, "4.2.2", "Mailbox full: over quota");
			break;
		}
		delivery_ids_merge(&c->accounts, &c->account_count, job->accounts,
				   job->account_count);
		if ((job->notify & SMTP_DSN_NOTIFY_SUCCESS) != 0) {
			/* RFC 3461 5.2.2: a "delivered" DSN once it is stored */
			size_t len = strlen(job->localpart) + strlen(job->domain) + 2;
			char *addr = mem_alloc(len);

			snprintf(addr, len, "%s@%s", job->localpart, job->domain);
			smtp_strv_push(&c->success_orcpt, c->success_count, job->orcpt);
			c->success = mem_realloc(c->success, mem_size_mul(c->success_count + 1,
									  sizeof(char *)));
			c->success[c->success_count++] = addr;
		}
		smtp_server_hook_done(s, 250, "2.1.5", "Ok");
		break;
	case DELIVERY_UNKNOWN_USER:
		log_info("smtpd", "%s: reject: RCPT from [%s]: 550 5.1.1 <%s@%s>: user unknown",
			 c->queue_id, c->ip, safe, job->domain);
		smtp_server_hook_done(s, 550, "5.1.1", "Recipient address rejected: User unknown");
		break;
	case DELIVERY_NOT_LOCAL:
		if (smtp_client_is_submission(c) && c->account_id != 0 && !job->literal) {
			rcpt_accept_remote(c, job);
			break;
		}
		log_info("smtpd", "%s: reject: RCPT from [%s]: 554 5.7.1 relay access denied",
			 c->queue_id, c->ip);
		smtp_server_hook_done(s, 554, "5.7.1", "Relay access denied");
		break;
	case DELIVERY_REMOTE_TARGET:
		smtp_server_hook_done(s, 550, "5.3.0",
				      "Recipient forwards outside this server, which is not "
				      "supported yet");
		break;
	case DELIVERY_LOOP:
		smtp_server_hook_done(s, 550, "5.4.6", "Alias expansion loop or too many targets");
		break;
	case DELIVERY_TEMPFAIL:
		log_error("smtpd", "%s: recipient lookup failed: %s", c->queue_id, job->error);
		smtp_server_hook_done(s, 451, "4.3.0", "Temporary lookup failure, try again later");
		break;
	}
	smtp_job_free(job);
	smtp_update_reading(c);
}

static void
hook_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to,
	  const struct smtp_server_rcpt_params *params)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job = mem_zalloc(sizeof(*job));

	job->localpart = mem_strdup(to->localpart);
	/* <Postmaster> without a domain (RFC 5321 4.5.1) stays NULL here and
	 * is given the default domain on the worker */
	if (to->domain != NULL)
		job->domain = mem_strdup(to->domain);
	job->literal = to->literal;
	job->notify = params->notify;
	if (params->orcpt != NULL)
		job->orcpt = mem_strdup(params->orcpt);
	smtp_job_submit(c, job, rcpt_work, rcpt_done);
}

static void
hook_rset(struct smtp_server_session *s, void *ctx)
{
	smtp_client_reset_tx(ctx);
}

static const struct smtp_server_hooks smtp_hooks = {
	.connect = hook_connect,
	.mail = hook_mail,
	.rcpt = hook_rcpt,
	.data_begin = smtp_hook_data_begin,
	.data_write = smtp_hook_data_write,
	.data_end = smtp_hook_data_end,
	.rset = hook_rset,
	.starttls = hook_starttls,
	.auth_lookup = hook_auth_lookup,
	.auth_result = hook_auth_result,
};

static const struct smtp_server_io smtp_io = {
	.write = smtp_io_write,
	.close = smtp_io_close,
};

static const struct conn_callbacks smtp_conn_cb = {
	.input = smtp_conn_input,
	.closed = smtp_conn_closed,
	.handshake_done = smtp_conn_handshake_done,
};

static void
smtp_client_shutdown(struct server_client *base)
{
	struct smtp_client *c = (struct smtp_client *)base;

	smtp_server_session_shutdown(c->session);
}

static const struct server_client_ops smtp_client_ops = {
	.shutdown = smtp_client_shutdown,
};

static void
smtp_client_free(struct smtp_client *c)
{
	struct server *srv = c->base.server;

	if (c->job != NULL) {
		c->job->client = NULL;
		c->job = NULL;
	}
	serve_auth_cancel(&c->auth);
	smtp_server_session_free(&c->session);
	smtp_client_reset_tx(c);
	loop_timer_remove(&c->idle);
	conn_free(&c->conn);
	srv->smtp_clients--;
	log_info("smtpd", "disconnect from [%s]", c->ip);
	server_client_unlink(&c->base);
	mem_free(&c);
}

void
serve_smtp_accept(struct server *srv, int fd, const struct net_addr *peer,
		  enum server_service service)
{
	struct smtp_client *c = mem_zalloc(sizeof(*c));
	struct smtp_server_settings set;
	const struct posthorn_conf *conf = &srv->conf;

	c->service = service;
	net_addr_ip(peer, c->ip, sizeof(c->ip));
	server_client_link(srv, &c->base, &smtp_client_ops);
	srv->smtp_clients++;
	log_info("smtpd", "connect from [%s]%s", c->ip,
		 service == SERVER_SMTP ? "" : service == SERVER_SUBMISSION ? " (submission)" :
									      " (submissions)");
	memset(&set, 0, sizeof(set));
	set.hostname = srv->hostname;
	smtp_server_limits_init_default(&set.limits);
	set.limits.max_line = conf->smtp_line_length_limit;
	set.limits.max_recipients = conf->smtp_recipient_limit;
	set.limits.max_message_size = conf->message_size_limit;
	set.limits.max_errors = conf->smtp_error_limit;
	set.submission = smtp_client_is_submission(c);
	set.starttls_available = srv->tls != NULL && service != SERVER_SUBMISSIONS;
	set.auth_available = set.submission;
	/* passwords before TLS only on loopback, and only when allowed */
	set.auth_plaintext_allowed = conf->plaintext_auth_loopback && net_addr_is_loopback(peer);
	c->conn = conn_new(srv->loop, fd, &smtp_conn_cb, c);
	c->idle = loop_timer_add(srv->loop, conf->smtp_command_timeout, smtp_idle_timeout, c);
	c->session = smtp_server_session_new(&set, &smtp_hooks, c, &smtp_io, c, c->ip, NULL);
	if (service == SERVER_SUBMISSIONS) {
		/* RFC 8314: TLS first; the greeting follows the handshake */
		c->implicit_tls = true;
		serve_tls_start(srv, c->conn);
		return;
	}
	smtp_server_session_start(c->session);
}
