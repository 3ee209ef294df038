/*
 * serve-smtp-data.c - the message of an SMTP transaction: written as it
 * arrives into up to two temporary bodies (the local copy with Return-Path
 * for our users' mailboxes, and the copy for the outbound queue), then made
 * durable with store_deliver() and store_queue_add() before the 250.
 *
 * Submission (RFC 6409): the header is held until it is complete, so that
 * Date: and Message-ID: can be added when missing (RFC 6409 8.2, 8.3) in
 * front of it, and the From: addresses can be checked against what the
 * authenticated account may send as (553 5.7.1 otherwise). The port-25 role
 * passes the message through untouched.
 *
 * DSN (RFC 3461): remote recipients go into the queue with their NOTIFY and
 * ORCPT, the entry with ENVID, RET and REQUIRETLS (RFC 8689 4.1), for the
 * queue to act on and relay. Local recipients are delivered at once: those
 * with NOTIFY=SUCCESS get one "delivered" DSN (RFC 3461 5.2.2, RFC 3464
 * action "delivered") to the sender, queued (serve-dsn.h) after the message
 * is stored and before the 250; never to the null sender. It returns the
 * header only, whatever RET says (RFC 3461 4.3: RET=FULL asks for the whole
 * message in "failed" DSNs). A failure to queue the DSN is logged and does
 * not undo the delivery.
 *
 * Does not: rewrite anything else in the message, sign it (DKIM comes with
 * its own issue), or hold more than the header in memory.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bin/serve-dsn.h"
#include "bin/serve-queue.h"
#include "bin/serve-smtp.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-date.h"
#include "mime/rfc5322-message-id.h"
#include "smtp/smtp-server.h"

/* The engine's NOTIFY bits are handed to the store unchanged. */
_Static_assert(SMTP_DSN_NOTIFY_NEVER == STORE_QUEUE_NOTIFY_NEVER &&
		       SMTP_DSN_NOTIFY_SUCCESS == STORE_QUEUE_NOTIFY_SUCCESS &&
		       SMTP_DSN_NOTIFY_FAILURE == STORE_QUEUE_NOTIFY_FAILURE &&
		       SMTP_DSN_NOTIFY_DELAY == STORE_QUEUE_NOTIFY_DELAY,
	       "NOTIFY bits differ between smtp/ and store/");

/* The held header may not grow past this (the parser's own limit is lower). */
#define SMTP_HELD_HEADER_MAX (2u * 1024 * 1024)

/* ---- data_begin ---- */

static void
data_begin_work(void *ctx)
{
	struct smtp_job *job = ctx;
	struct store *store = job->srv->store;
	const char *error = NULL;
	size_t rp_len = strlen("Return-Path: <>\r\n") + strlen(job->envelope_from);
	char *rp = mem_alloc(rp_len + 1);

	snprintf(rp, rp_len + 1, "Return-Path: <%s>\r\n", job->envelope_from);
	job->ret = 1;
	if (job->account_count > 0 &&
	    (store_blob_begin(store, &job->blob, &error) < 0 ||
	     store_blob_write(job->blob, rp, strlen(rp)) < 0 ||
	     store_blob_write(job->blob, buf_data(&job->header), buf_len(&job->header)) < 0))
		job->ret = -1;
	if (job->ret > 0 && job->remote_count > 0 &&
	    (store_blob_begin(store, &job->qblob, &error) < 0 ||
	     store_blob_write(job->qblob, buf_data(&job->header), buf_len(&job->header)) < 0))
		job->ret = -1;
	if (job->ret < 0)
		snprintf(job->error, sizeof(job->error), "%s", error != NULL ? error : "write failed");
	mem_free(&rp);
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
		c->qblob = job->qblob;
		job->blob = job->qblob = NULL;
		if (smtp_client_is_submission(c)) {
			c->in_header = true;
			rfc5322_header_parser_init(&c->hp, NULL);
			buf_init(&c->held, SMTP_HELD_HEADER_MAX);
			buf_init(&c->from_value, 64 * 1024);
			buf_init(&c->sender_value, 64 * 1024);
		}
		smtp_server_hook_done(c->session, 250, NULL, NULL);
	}
	smtp_job_free(job);
	smtp_update_reading(c);
}

void
smtp_hook_data_begin(struct smtp_server_session *s, void *ctx)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job = mem_zalloc(sizeof(*job));
	struct buf addr;

	buf_init(&job->header, 0);
	buf_init(&addr, 0);
	smtp_address_format(smtp_server_session_get_mail_from(s), &addr);
	job->envelope_from = buf_steal_str(&addr);
	if (smtp_server_session_get_rcpt_count(s) == 1)
		smtp_address_format(smtp_server_session_get_rcpt(s, 0), &addr);
	smtp_server_format_received(s, c->queue_id, buf_len(&addr) > 0 ? buf_cstr(&addr) : NULL,
				    &job->header);
	buf_deinit(&addr);
	job->account_count = c->account_count;
	job->remote_count = c->remote_count;
	smtp_job_submit(c, job, data_begin_work, data_begin_done);
}

/* ---- data_write ---- */

static void
blobs_write(struct smtp_client *c, const uint8_t *data, size_t len)
{
	if (c->blob_failed || len == 0)
		return;
	if ((c->blob != NULL && store_blob_write(c->blob, data, len) < 0) ||
	    (c->qblob != NULL && store_blob_write(c->qblob, data, len) < 0))
		c->blob_failed = true;
}

/* The header is complete (or cannot be parsed): write what submission adds,
 * then the held bytes, and pass everything else straight through. */
static void
header_flush(struct smtp_client *c)
{
	struct buf add;

	buf_init(&add, 0);
	if (!c->has_date) {
		buf_append_str(&add, "Date: ");
		rfc5322_date_format_local(time(NULL), &add);
		buf_append_str(&add, "\r\n");
	}
	if (!c->has_msgid) {
		const char *error;

		buf_append_str(&add, "Message-ID: ");
		/* a host name the generator refuses (e.g. an IP) falls back */
		if (rfc5322_message_id_generate(c->base.server->hostname, &add, &error) < 0 &&
		    rfc5322_message_id_generate("localhost", &add, &error) < 0)
			c->blob_failed = true;
		buf_append_str(&add, "\r\n");
	}
	blobs_write(c, buf_data(&add), buf_len(&add));
	blobs_write(c, buf_data(&c->held), buf_len(&c->held));
	buf_deinit(&add);
	buf_deinit(&c->held);
	c->header_flags = c->hp.flags;
	rfc5322_header_parser_deinit(&c->hp);
	c->in_header = false;
}

static void
header_field(struct smtp_client *c, const struct rfc5322_field *field)
{
	if (rfc5322_field_name_is(field, "Date")) {
		c->has_date = true;
	} else if (rfc5322_field_name_is(field, "Message-ID")) {
		c->has_msgid = true;
	} else if (rfc5322_field_name_is(field, "From")) {
		c->from_count++;
		buf_reset(&c->from_value);
		if (rfc5322_field_unfold(field, &c->from_value) < 0)
			c->header_bad = true;
	} else if (rfc5322_field_name_is(field, "Sender")) {
		c->sender_count++;
		buf_reset(&c->sender_value);
		if (rfc5322_field_unfold(field, &c->sender_value) < 0)
			c->header_bad = true;
	}
}

/* Feed the parser; true while the header goes on. */
static bool
header_feed(struct smtp_client *c, const uint8_t *data, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct rfc5322_field field;
		const char *error;
		size_t used = 0;
		enum rfc5322_header_result r =
			rfc5322_header_parse(&c->hp, data + off, len - off, &used, &field, &error);

		off += used;
		if (r == RFC5322_HEADER_FIELD) {
			header_field(c, &field);
		} else if (r == RFC5322_HEADER_END) {
			return false;
		} else if (r == RFC5322_HEADER_ERROR) {
			c->header_bad = true;
			return false;
		} else if (used == 0) {
			break;
		}
	}
	return true;
}

void
smtp_hook_data_write(struct smtp_server_session *s, void *ctx, const uint8_t *data, size_t len)
{
	struct smtp_client *c = ctx;

	if (!c->in_header) {
		blobs_write(c, data, len);
		return;
	}
	if (buf_append(&c->held, data, len) < 0) {
		/* a header this large is not checked: refuse it at the end */
		c->header_bad = true;
		header_flush(c);
		blobs_write(c, data, len);
		return;
	}
	if (!header_feed(c, data, len))
		header_flush(c);
}

static void
header_finish(struct smtp_client *c)
{
	for (int i = 0; i < 100000; i++) {
		struct rfc5322_field field;
		const char *error;
		enum rfc5322_header_result r = rfc5322_header_finish(&c->hp, &field, &error);

		if (r == RFC5322_HEADER_FIELD) {
			header_field(c, &field);
			continue;
		}
		if (r == RFC5322_HEADER_ERROR)
			c->header_bad = true;
		break;
	}
	header_flush(c);
}

/* ---- data_end ---- */

#define SERVE_DSN_HEADER_READ (256u * 1024u) /* a header beyond this is cut */

/* The start of a delivered message, at most max octets, for the DSN's
 * returned header: queue_dsn_build (headers_only) cuts it at the end of the
 * header. NULL when it cannot be read. */
static uint8_t *
read_delivered_start(struct store *store, const struct store_delivery_result *r, size_t max,
		     size_t *len_r)
{
	uint64_t size = 0;
	const char *error;
	uint8_t *data;
	size_t want, got = 0;
	int fd;

	if (store_message_open(store, r->mailbox_id, r->uid, &fd, &size, &error) != 1)
		return NULL;
	want = size < max ? (size_t)size : max;
	data = mem_alloc(want > 0 ? want : 1);
	while (got < want) {
		ssize_t n = read(fd, data + got, want - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len_r = got;
	return data;
}

/*
 * RFC 3461 5.2.2: the message reached the mailboxes of recipients that asked
 * for NOTIFY=SUCCESS: one DSN (RFC 3464, action "delivered") lists them all.
 * The returned content is the header (RFC 3461 4.3: RET is about failures).
 * Worker thread, right after store_deliver.
 */
static void
send_delivered_dsn(struct smtp_job *job, const struct store_delivery_result *first)
{
	struct queue_dsn_rcpt *dr;
	struct queue_dsn dsn;
	const char *error = NULL;
	uint8_t *original;
	size_t original_len = 0;
	int64_t now = (int64_t)time(NULL);

	/* RFC 3461 6.2, RFC 5321 4.5.5: never to the null sender */
	if (job->envelope_from[0] == '\0')
		return;
	dr = mem_array(job->success_count, sizeof(*dr));
	for (size_t i = 0; i < job->success_count; i++) {
		dr[i].address = job->success[i];
		dr[i].orcpt = job->success_orcpt[i];
		dr[i].action = QUEUE_DSN_DELIVERED;
		dr[i].status = "2.0.0";
		dr[i].diagnostic = NULL;
		dr[i].remote_mta = NULL;
		dr[i].last_attempt = now;
	}
	/* the header is at the start; a header longer than this is cut */
	original = read_delivered_start(job->srv->store, first, SERVE_DSN_HEADER_READ,
					&original_len);
	memset(&dsn, 0, sizeof(dsn));
	dsn.to = job->envelope_from;
	dsn.smtputf8 = job->smtputf8; /* RFC 6533 */
	dsn.queue_id = job->queue_id;
	dsn.envid = job->envid;
	dsn.arrival = job->arrival;
	dsn.now = now;
	dsn.headers_only = true;
	dsn.max_return = SERVE_DSN_MAX_RETURN;
	dsn.rcpts = dr;
	dsn.rcpt_count = job->success_count;
	dsn.original = original;
	dsn.original_len = original_len;
	if (serve_dsn_queue(job->srv, &dsn, job->requiretls, job->dsn_id, &error) < 0)
		snprintf(job->dsn_error, sizeof(job->dsn_error), "%s",
			 error != NULL ? error : "?");
	mem_free(&original);
	mem_free(&dr);
}

static void
deliver_work(void *ctx)
{
	struct smtp_job *job = ctx;
	struct store *store = job->srv->store;
	const char *error = NULL;

	if (job->sender_count > 0 &&
	    !smtp_senders_allowed(job->srv, job->account_id, job->senders, job->sender_count)) {
		job->ret = 0;
		return;
	}
	job->sender_ok = true;
	job->ret = 1;
	/* RFC 9208 quotas: a message that does not fit a recipient's quota is
	 * refused whole (552 5.2.2), before anything is stored: one SMTP reply
	 * covers every recipient */
	for (size_t i = 0; job->ret > 0 && job->blob != NULL && i < job->account_count; i++) {
		if (store_account_over_quota(store, job->targets[i].account_id,
					     store_blob_size(job->blob), 1, NULL) == 1) {
			job->over_quota = true;
			job->ret = -1;
			store_blob_abort(&job->blob);
			if (job->qblob != NULL)
				store_blob_abort(&job->qblob);
			snprintf(job->error, sizeof(job->error), "over quota");
			return;
		}
	}
	if (job->ret > 0 && job->qblob != NULL) {
		struct store_queue_envelope env = { 0 };
		struct store_queue_envelope_rcpt *rcpts =
			mem_array(job->remote_count, sizeof(*rcpts));

		for (size_t i = 0; i < job->remote_count; i++) {
			rcpts[i].address = job->remote[i];
			rcpts[i].orcpt = job->remote_orcpt[i];
			rcpts[i].notify = job->remote_notify[i];
		}
		env.sender = job->envelope_from;
		env.envid = job->envid;
		env.ret = job->dsn_ret;
		env.requiretls = job->requiretls;
		env.smtputf8 = job->smtputf8; /* RFC 6531 3.4: the next hop too */
		env.submitter = job->account_id;
		env.rcpts = rcpts;
		env.rcpt_count = job->remote_count;
		if (store_queue_add(store, &job->qblob, &env, job->queue_id, &error) != 1)
			job->ret = -1;
		mem_free(&rcpts);
	}
	if (job->ret > 0 && job->blob != NULL) {
		struct store_delivery_result *results =
			mem_array(job->account_count, sizeof(*results));

		job->ret = store_deliver(store, &job->blob, job->targets, job->account_count,
					 results, &error);
		if (job->ret > 0 && job->success_count > 0)
			send_delivered_dsn(job, &results[0]);
		mem_free(&results);
	}
	if (job->ret < 0)
		snprintf(job->error, sizeof(job->error), "%s", error != NULL ? error : "?");
}

static void
log_delivery(struct smtp_client *c, struct smtp_job *job)
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
		 (unsigned long long)c->msg_size, n);
	for (unsigned i = 0; i < n; i++) {
		bool remote = false;

		buf_reset(&addr);
		smtp_address_format(smtp_server_session_get_rcpt(s, i), &addr);
		for (size_t j = 0; j < c->remote_count; j++)
			remote = remote || strcmp(c->remote[j], buf_cstr(&addr)) == 0;
		log_sanitize(safe, sizeof(safe), buf_data(&addr), buf_len(&addr));
		if (job->ret > 0 && remote)
			log_info("queue", "%s: to=<%s>, relay=none, delay=%.2f, status=queued "
					  "(waiting for outbound delivery)",
				 c->queue_id, safe, delay);
		else if (job->ret > 0)
			log_info("local", "%s: to=<%s>, relay=local, delay=%.2f, dsn=2.0.0, "
					  "status=sent (delivered to mailbox)",
				 c->queue_id, safe, delay);
		else
			log_info("local", "%s: to=<%s>, relay=local, delay=%.2f, dsn=4.3.0, "
					  "status=deferred (%s)",
				 c->queue_id, safe, delay, job->error);
	}
	buf_deinit(&addr);
	if (job->ret > 0 && c->remote_count > 0)
		serve_queue_kick(c->base.server);
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
	if (job->ret == 0) {
		log_info("smtpd", "%s: reject: From: header not owned by user %s", c->queue_id,
			 c->auth_address);
		smtp_server_hook_done(c->session, 553, "5.7.1",
				      "From: or Sender: address not owned by the authenticated user");
	} else if (job->ret > 0) {
		log_delivery(c, job);
		if (job->dsn_id[0] != '\0') {
			log_info("smtpd", "%s: sender delivery status notification: %s",
				 c->queue_id, job->dsn_id);
			serve_queue_kick(c->base.server);
		} else if (job->dsn_error[0] != '\0') {
			log_error("smtpd", "%s: cannot queue the delivery status notification: %s",
				  c->queue_id, job->dsn_error);
		}
		snprintf(text, sizeof(text), "Ok: queued as %s", c->queue_id);
		smtp_server_hook_done(c->session, 250, "2.0.0", text);
	} else if (job->over_quota) {
		log_info("smtpd", "%s: reject: message of %llu octets exceeds a recipient's quota",
			 c->queue_id, (unsigned long long)c->msg_size);
		smtp_server_hook_done(c->session, 552, "5.2.2",
				      "Message exceeds a recipient's mailbox quota");
	} else {
		log_delivery(c, job);
		log_error("smtpd", "%s: delivery failed: %s", c->queue_id, job->error);
		smtp_server_hook_done(c->session, 451, "4.3.0", "Local storage error, try again later");
	}
	smtp_job_free(job);
	smtp_client_reset_tx(c);
	smtp_update_reading(c);
}

/* Append the mailboxes of a From:/Sender: value to job->senders; false
 * (with the reply given) when it does not parse or holds none. */
static bool
senders_add(struct smtp_client *c, struct smtp_job *job, const struct buf *value,
	    const char *what)
{
	struct rfc5322_address_list list;
	struct rfc5322_address_limits limits;
	const char *error;
	struct buf addr;
	char text[80];

	rfc5322_address_limits_init_default(&limits);
	if (rfc5322_address_list_parse(buf_data(value), buf_len(value), &limits,
				       RFC5322_MAILBOX_LIST, &list, &error) < 0 ||
	    list.count == 0) {
		if (list.count == 0)
			rfc5322_address_list_deinit(&list);
		snprintf(text, sizeof(text), "%s: header malformed or empty", what);
		smtp_server_hook_done(c->session, 550, "5.6.0", text);
		return false;
	}
	job->senders = mem_realloc(job->senders,
				   (job->sender_count + list.count) * sizeof(char *));
	buf_init(&addr, 0);
	for (unsigned i = 0; i < list.count; i++) {
		buf_reset(&addr);
		rfc5322_address_format(&list.addrs[i], &addr);
		job->senders[job->sender_count++] = mem_strdup(buf_cstr(&addr));
	}
	buf_deinit(&addr);
	rfc5322_address_list_deinit(&list);
	return true;
}

/* The From: (and Sender:) mailboxes of a submission, which the account must
 * own (RFC 6409 8.1 lets the MSA check them), or an error reply (false). */
static bool
submission_senders(struct smtp_client *c, struct smtp_job *job)
{
	/* a header that ends in a non-field line, holds NUL or starts with an
	 * mbox "From " line could hide fields from this check: refuse it */
	if ((c->header_flags & (RFC5322_HEADER_FLAG_MALFORMED | RFC5322_HEADER_FLAG_MBOX_FROM |
				RFC5322_HEADER_FLAG_NUL)) != 0)
		c->header_bad = true;
	if (c->header_bad || c->from_count != 1 || c->sender_count > 1) {
		smtp_server_hook_done(c->session, 550, "5.6.0",
				      c->from_count == 0 ? "Message has no From: header" :
				      "Message header malformed, or From: or Sender: repeated");
		return false;
	}
	return senders_add(c, job, &c->from_value, "From") &&
	       (c->sender_count == 0 || senders_add(c, job, &c->sender_value, "Sender"));
}

/* The transaction's MAIL parameters the queue keeps (RFC 3461 4.3, 4.4;
 * RFC 8689 4.1; RFC 6531 3.4). */
static void
dsn_params_copy(struct smtp_job *job, const struct smtp_server_mail_params *mp)
{
	job->envid = mp->envid[0] != '\0' ? mem_strdup(mp->envid) : NULL;
	job->dsn_ret = mp->ret == SMTP_DSN_RET_FULL   ? STORE_QUEUE_RET_FULL :
		       mp->ret == SMTP_DSN_RET_HDRS ? STORE_QUEUE_RET_HDRS :
						      STORE_QUEUE_RET_NONE;
	job->requiretls = mp->requiretls;
	job->smtputf8 = mp->smtputf8;
}

void
smtp_hook_data_end(struct smtp_server_session *s, void *ctx, uint64_t size)
{
	struct smtp_client *c = ctx;
	struct smtp_job *job;

	if (c->in_header)
		header_finish(c);
	if (c->blob_failed || (c->blob == NULL && c->qblob == NULL)) {
		log_error("smtpd", "%s: message not stored: write error", c->queue_id);
		smtp_client_reset_tx(c);
		smtp_server_hook_done(s, 451, "4.3.0", "Local storage error, try again later");
		return;
	}
	c->msg_size = size;
	job = mem_zalloc(sizeof(*job));
	if (smtp_client_is_submission(c) && !submission_senders(c, job)) {
		smtp_job_free(job);
		smtp_client_reset_tx(c);
		return;
	}
	job->account_id = c->account_id;
	job->blob = c->blob;
	job->qblob = c->qblob;
	c->blob = c->qblob = NULL;
	job->queue_id = mem_strdup(c->queue_id);
	{
		struct buf addr;

		buf_init(&addr, 0);
		smtp_address_format(smtp_server_session_get_mail_from(s), &addr);
		job->envelope_from = buf_steal_str(&addr);
		buf_deinit(&addr);
	}
	job->account_count = c->account_count;
	job->targets = mem_array(c->account_count + 1, sizeof(*job->targets));
	for (size_t i = 0; i < c->account_count; i++)
		job->targets[i].account_id = c->accounts[i];
	job->remote_count = c->remote_count;
	job->remote = mem_array(c->remote_count + 1, sizeof(char *));
	job->remote_orcpt = mem_array(c->remote_count + 1, sizeof(char *));
	job->remote_notify = mem_array(c->remote_count + 1, sizeof(unsigned));
	for (size_t i = 0; i < c->remote_count; i++) {
		job->remote[i] = mem_strdup(c->remote[i]);
		if (c->remote_orcpt[i] != NULL)
			job->remote_orcpt[i] = mem_strdup(c->remote_orcpt[i]);
		job->remote_notify[i] = c->remote_notify[i];
	}
	job->success_count = c->success_count;
	job->success = mem_array(c->success_count + 1, sizeof(char *));
	job->success_orcpt = mem_array(c->success_count + 1, sizeof(char *));
	for (size_t i = 0; i < c->success_count; i++) {
		job->success[i] = mem_strdup(c->success[i]);
		if (c->success_orcpt[i] != NULL)
			job->success_orcpt[i] = mem_strdup(c->success_orcpt[i]);
	}
	dsn_params_copy(job, smtp_server_session_get_mail_params(s));
	job->arrival = (int64_t)time(NULL);
	smtp_job_submit(c, job, deliver_work, deliver_done);
}
