/*
 * serve-smtp.c - SMTP glue: a socket (core/conn) feeding the SMTP engine,
 * whose decisions are made here with delivery_resolve() and store_deliver()
 * on the worker pool.
 *
 * One job at most is outstanding per client (the engine waits for each
 * hook). If the client goes away while a job runs, the job is orphaned: it
 * finishes on its worker, and its completion only cleans up. A delivery that
 * completes after its client vanished is still durable; the client, having
 * seen no 250, will send it again (a duplicate, never a loss: RFC 5321 6.1).
 *
 * Logging follows Postfix: "QUEUEID: client=", "QUEUEID: from=<>, size=,
 * nrcpt=", one "to=<>, relay=local, delay=, dsn=, status=" per recipient.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bin/serve.h"
#include "core/buf.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/worker.h"
#include "smtp/smtp-server.h"
#include "store/store.h"

enum smtp_job_kind { SMTP_JOB_RCPT, SMTP_JOB_DATA_BEGIN, SMTP_JOB_DELIVER };

struct smtp_client;

struct smtp_job {
	enum smtp_job_kind kind;
	struct smtp_client *client; /* NULL once orphaned */
	struct server *srv;
	/* rcpt */
	char *localpart, *domain;
	bool literal;
	enum delivery_status status;
	uint64_t *accounts;
	size_t account_count;
	/* data_begin / deliver */
	struct store_blob *blob;
	struct buf header;
	struct store_delivery_target *targets;
	int ret;
	char error[256];
};

struct smtp_client {
	struct server_client base;
	struct conn *conn;
	struct smtp_server_session *session;
	struct loop_timer *idle;
	char ip[64];
	char queue_id[16];
	uint64_t tx_start_ms;
	uint64_t msg_size;
	uint64_t *accounts; /* merged accounts of accepted recipients */
	size_t account_count;
	struct store_blob *blob;
	bool blob_failed;
	struct smtp_job *job;
};

static void smtp_client_free(struct smtp_client *c);

static void
smtp_client_reset_tx(struct smtp_client *c)
{
	mem_free(&c->accounts);
	c->account_count = 0;
	c->queue_id[0] = '\0';
	c->blob_failed = false;
	if (c->blob != NULL)
		store_blob_abort(&c->blob);
}

static void
smtp_job_free(struct smtp_job *job)
{
	if (job->blob != NULL)
		store_blob_abort(&job->blob);
	buf_deinit(&job->header);
	mem_free(&job->localpart);
	mem_free(&job->domain);
	mem_free(&job->accounts);
	mem_free(&job->targets);
	mem_free(&job);
}

static void
smtp_job_submit(struct smtp_client *c, struct smtp_job *job, worker_fn *work, worker_fn *done)
{
	job->client = c;
	job->srv = c->base.server;
	c->job = job;
	worker_pool_submit(c->base.server->pool, work, done, job);
}

/* Common completion prologue: detach from the client; NULL when orphaned. */
static struct smtp_client *
smtp_job_finish(struct smtp_job *job)
{
	struct smtp_client *c = job->client;

	if (c != NULL)
		c->job = NULL;
	return c;
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

static void
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
smtp_idle_timeout(void *ctx)
{
	struct smtp_client *c = ctx;

	log_info("smtpd", "timeout after inactivity from [%s]", c->ip);
	smtp_server_session_timeout(c->session);
}

/* ---- hooks ---- */

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
hook_mail(struct smtp_server_session *s, void *ctx, const struct smtp_address *from,
	  const struct smtp_server_mail_params *params)
{
	struct smtp_client *c = ctx;

	smtp_client_reset_tx(c);
	serve_queue_id(c->queue_id);
	c->tx_start_ms = loop_now(c->base.server->loop);
	log_info("smtpd", "%s: client=[%s]", c->queue_id, c->ip);
	smtp_server_hook_done(s, 250, "2.1.0", "Ok");
}

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
}

static void
rcpt_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_client *c = smtp_job_finish(job);
	struct smtp_server_session *s;

	if (c == NULL) {
		smtp_job_free(job);
		return;
	}
	s = c->session;
	switch (job->status) {
	case DELIVERY_OK:
		delivery_ids_merge(&c->accounts, &c->account_count, job->accounts,
				   job->account_count);
		smtp_server_hook_done(s, 250, "2.1.5", "Ok");
		break;
	case DELIVERY_UNKNOWN_USER:
		log_info("smtpd", "%s: reject: RCPT from [%s]: 550 5.1.1 <%s@%s>: user unknown",
			 c->queue_id, c->ip, job->localpart, job->domain);
		smtp_server_hook_done(s, 550, "5.1.1", "Recipient address rejected: User unknown");
		break;
	case DELIVERY_NOT_LOCAL:
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
hook_rcpt(struct smtp_server_session *s, void *ctx, const struct smtp_address *to)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job = mem_zalloc(sizeof(*job));

	job->kind = SMTP_JOB_RCPT;
	job->localpart = mem_strdup(to->localpart);
	/* <Postmaster> without a domain (RFC 5321 4.5.1) stays NULL here and
	 * is given the default domain on the worker */
	if (to->domain != NULL)
		job->domain = mem_strdup(to->domain);
	job->literal = to->literal;
	smtp_job_submit(c, job, rcpt_work, rcpt_done);
}

static void
data_begin_work(void *ctx)
{
	struct smtp_job *job = ctx;
	const char *error = NULL;

	job->ret = store_blob_begin(job->srv->store, &job->blob, &error);
	if (job->ret > 0 &&
	    store_blob_write(job->blob, buf_data(&job->header), buf_len(&job->header)) < 0) {
		job->ret = -1;
		error = "write failed";
	}
	if (job->ret < 0)
		snprintf(job->error, sizeof(job->error), "%s", error != NULL ? error : "?");
}

static void
data_begin_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_client *c = smtp_job_finish(job);

	if (c == NULL) {
		smtp_job_free(job);
		return;
	}
	if (job->ret < 0) {
		log_error("smtpd", "%s: cannot store message: %s", c->queue_id, job->error);
		smtp_server_hook_done(c->session, 451, "4.3.0", "Local storage error, try again later");
	} else {
		c->blob = job->blob;
		job->blob = NULL;
		smtp_server_hook_done(c->session, 250, NULL, NULL);
	}
	smtp_job_free(job);
	smtp_update_reading(c);
}

static void
hook_data_begin(struct smtp_server_session *s, void *ctx)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job = mem_zalloc(sizeof(*job));
	const struct smtp_address *from = smtp_server_session_get_mail_from(s);
	struct buf rcpt;

	job->kind = SMTP_JOB_DATA_BEGIN;
	buf_init(&job->header, 0);
	/* Return-Path (RFC 5322 3.6.7, added at delivery: RFC 5321 4.4) */
	buf_append_str(&job->header, "Return-Path: ");
	smtp_address_format_path(from, &job->header);
	buf_append_str(&job->header, "\r\n");
	buf_init(&rcpt, 0);
	if (smtp_server_session_get_rcpt_count(s) == 1)
		smtp_address_format(smtp_server_session_get_rcpt(s, 0), &rcpt);
	smtp_server_format_received(s, c->queue_id, buf_len(&rcpt) > 0 ? buf_cstr(&rcpt) : NULL,
				    &job->header);
	buf_deinit(&rcpt);
	smtp_job_submit(c, job, data_begin_work, data_begin_done);
}

static void
hook_data_write(struct smtp_server_session *s, void *ctx, const uint8_t *data, size_t len)
{
	struct smtp_client *c = ctx;

	if (c->blob == NULL || c->blob_failed)
		return;
	if (store_blob_write(c->blob, data, len) < 0)
		c->blob_failed = true;
}

static void
deliver_work(void *ctx)
{
	struct smtp_job *job = ctx;
	struct store_delivery_result *results;
	const char *error = NULL;

	results = mem_array(job->account_count, sizeof(*results));
	job->ret = store_deliver(job->srv->store, &job->blob, job->targets, job->account_count,
				 results, &error);
	if (job->ret < 0)
		snprintf(job->error, sizeof(job->error), "%s", error != NULL ? error : "?");
	mem_free(&results);
}

static void
log_delivery(struct smtp_client *c, struct smtp_job *job, uint64_t size)
{
	struct smtp_server_session *s = c->session;
	struct buf addr;
	char safe[600];
	double delay = (double)(loop_now(c->base.server->loop) - c->tx_start_ms) / 1000.0;
	unsigned n = smtp_server_session_get_rcpt_count(s);

	buf_init(&addr, 0);
	smtp_address_format(smtp_server_session_get_mail_from(s), &addr);
	log_info("smtpd", "%s: from=<%s>, size=%llu, nrcpt=%u", c->queue_id,
		 log_sanitize(safe, sizeof(safe), buf_data(&addr), buf_len(&addr)),
		 (unsigned long long)size, n);
	for (unsigned i = 0; i < n; i++) {
		buf_reset(&addr);
		smtp_address_format(smtp_server_session_get_rcpt(s, i), &addr);
		log_sanitize(safe, sizeof(safe), buf_data(&addr), buf_len(&addr));
		if (job->ret > 0)
			log_info("local", "%s: to=<%s>, relay=local, delay=%.2f, dsn=2.0.0, "
					  "status=sent (delivered to mailbox)",
				 c->queue_id, safe, delay);
		else
			log_info("local", "%s: to=<%s>, relay=local, delay=%.2f, dsn=4.3.0, "
					  "status=deferred (%s)",
				 c->queue_id, safe, delay, job->error);
	}
	buf_deinit(&addr);
}

static void
deliver_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_client *c = smtp_job_finish(job);
	char text[64];

	if (c == NULL) {
		smtp_job_free(job);
		return;
	}
	log_delivery(c, job, c->msg_size);
	if (job->ret > 0) {
		snprintf(text, sizeof(text), "Ok: queued as %s", c->queue_id);
		smtp_server_hook_done(c->session, 250, "2.0.0", text);
	} else {
		log_error("smtpd", "%s: delivery failed: %s", c->queue_id, job->error);
		smtp_server_hook_done(c->session, 451, "4.3.0", "Local storage error, try again later");
	}
	smtp_job_free(job);
	c->queue_id[0] = '\0';
	mem_free(&c->accounts);
	c->account_count = 0;
	smtp_update_reading(c);
}

static void
hook_data_end(struct smtp_server_session *s, void *ctx, uint64_t size)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job;

	if (c->blob == NULL || c->blob_failed || c->account_count == 0) {
		log_error("smtpd", "%s: message not stored: write error", c->queue_id);
		smtp_client_reset_tx(c);
		smtp_server_hook_done(s, 451, "4.3.0", "Local storage error, try again later");
		return;
	}
	c->msg_size = size;
	job = mem_zalloc(sizeof(*job));
	job->kind = SMTP_JOB_DELIVER;
	job->blob = c->blob;
	c->blob = NULL;
	job->account_count = c->account_count;
	job->targets = mem_array(c->account_count, sizeof(*job->targets));
	for (size_t i = 0; i < c->account_count; i++)
		job->targets[i].account_id = c->accounts[i];
	smtp_job_submit(c, job, deliver_work, deliver_done);
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
	.data_begin = hook_data_begin,
	.data_write = hook_data_write,
	.data_end = hook_data_end,
	.rset = hook_rset,
};

static const struct smtp_server_io smtp_io = {
	.write = smtp_io_write,
	.close = smtp_io_close,
};

static const struct conn_callbacks smtp_conn_cb = {
	.input = smtp_conn_input,
	.closed = smtp_conn_closed,
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
serve_smtp_accept(struct server *srv, int fd, const struct net_addr *peer)
{
	struct smtp_client *c = mem_zalloc(sizeof(*c));
	struct smtp_server_settings set;
	const struct posthorn_conf *conf = &srv->conf;

	net_addr_ip(peer, c->ip, sizeof(c->ip));
	server_client_link(srv, &c->base, &smtp_client_ops);
	srv->smtp_clients++;
	log_info("smtpd", "connect from [%s]", c->ip);
	memset(&set, 0, sizeof(set));
	set.hostname = srv->hostname;
	smtp_server_limits_init_default(&set.limits);
	set.limits.max_line = conf->smtp_line_length_limit;
	set.limits.max_recipients = conf->smtp_recipient_limit;
	set.limits.max_message_size = conf->message_size_limit;
	set.limits.max_errors = conf->smtp_error_limit;
	c->conn = conn_new(srv->loop, fd, &smtp_conn_cb, c);
	c->idle = loop_timer_add(srv->loop, conf->smtp_command_timeout, smtp_idle_timeout, c);
	c->session = smtp_server_session_new(&set, &smtp_hooks, c, &smtp_io, c, c->ip, NULL);
	smtp_server_session_start(c->session);
}
