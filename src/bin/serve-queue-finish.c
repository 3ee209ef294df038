/*
 * serve-queue-finish.c - the end of an entry's delivery round: a worker
 * job records each recipient's outcome (store_queue_update_rcpt), bounces
 * what outlived the queue lifetime, builds one DSN (RFC 3464) for the
 * failed recipients and queues it (or delivers it locally), and removes
 * the entry once every recipient is final.
 */
#include "bin/serve-queue-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* ---- finishing an entry ---- */

static bool
dsn_wanted(const struct store_queue_rcpt *r)
{
	/* RFC 3461 4.1: without NOTIFY, failures are reported */
	if (r->notify & STORE_QUEUE_NOTIFY_NEVER)
		return false;
	return r->notify == 0 || (r->notify & STORE_QUEUE_NOTIFY_FAILURE) != 0;
}

/* Queue the DSN for the bounced recipients (worker thread). */
static void
finish_send_dsn(struct delivery *d, struct server *srv, const struct store_queue_entry *e)
{
	struct queue_dsn_rcpt *dr = mem_array(e->rcpt_count, sizeof(*dr));
	struct queue_dsn dsn;
	struct buf out;
	char from[STORE_ADDRESS_MAX + 1], id[16];
	size_t n = 0;
	bool eightbit = false;
	const char *error = NULL;

	for (size_t i = 0; i < e->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];

		if (r->state != STORE_QUEUE_RCPT_BOUNCED || !dsn_wanted(r))
			continue;
		dr[n].address = r->address;
		dr[n].orcpt = r->orcpt;
		dr[n].action = QUEUE_DSN_FAILED;
		dr[n].status = r->dsn != NULL ? r->dsn : "5.0.0";
		dr[n].remote_mta = NULL;
		if (d->out[i].set && strcmp(d->out[i].relay, "none") != 0 &&
		    strcmp(d->out[i].relay, "local") != 0) {
			/* "host[ip]:port" -> host */
			char *br = strchr(d->out[i].relay, '[');

			if (br != NULL)
				*br = '\0';
			dr[n].remote_mta = d->out[i].relay;
		}
		dr[n].diagnostic = r->status;
		dr[n].last_attempt = r->last_attempt;
		n++;
	}
	if (n == 0) {
		mem_free(&dr);
		return;
	}
	snprintf(from, sizeof(from), "MAILER-DAEMON@%s", srv->hostname);
	memset(&dsn, 0, sizeof(dsn));
	dsn.reporting_mta = srv->hostname;
	dsn.from = from;
	dsn.to = e->sender;
	dsn.queue_id = e->queue_id;
	dsn.envid = e->envid;
	dsn.arrival = e->arrival;
	dsn.now = now_secs();
	dsn.headers_only = e->ret == STORE_QUEUE_RET_HDRS;
	dsn.max_return = QUEUE_DSN_MAX_RETURN;
	dsn.rcpts = dr;
	dsn.rcpt_count = n;
	dsn.original = d->body;
	dsn.original_len = (size_t)d->body_size;
	buf_init(&out, 0);
	if (queue_dsn_build(&dsn, &out, &eightbit, &error) == 0) {
		struct store_blob *blob = NULL;
		struct store_queue_envelope_rcpt rcpt = { e->sender, NULL, STORE_QUEUE_NOTIFY_NEVER };
		struct store_queue_envelope env = { 0 };

		env.sender = ""; /* RFC 3464 / 5321 4.5.5: a DSN has the null sender */
		env.rcpts = &rcpt;
		env.rcpt_count = 1;
		serve_queue_id(id);
		if (store_blob_begin(srv->store, &blob, &error) == 1 &&
		    store_blob_write(blob, buf_data(&out), buf_len(&out)) == 0 &&
		    store_queue_add(srv->store, &blob, &env, id, &error) == 1)
			log_info("queue", "%s: sender non-delivery notification: %s", e->queue_id,
				 id);
		else
			log_error("queue", "%s: cannot queue the DSN: %s", e->queue_id,
				  error != NULL ? error : "write failed");
		if (blob != NULL)
			store_blob_abort(&blob);
	} else {
		log_error("queue", "%s: cannot build the DSN: %s", e->queue_id, error);
	}
	buf_deinit(&out);
	mem_free(&dr);
}

static void
finish_work(void *ctx)
{
	struct delivery *d = ctx;
	struct server *srv = d->q != NULL ? d->q->srv : NULL;
	struct store_queue_entry e;
	const char *error = NULL;
	int64_t now = now_secs();
	bool all_final = true;

	if (srv == NULL)
		return;
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		struct queue_outcome_rec *o = &d->out[i];
		const struct store_queue_rcpt *r = &d->entry.rcpts[i];
		int64_t next = 0;

		if (!o->set)
			continue;
		if (o->state == STORE_QUEUE_RCPT_DEFERRED)
			next = queue_next_attempt(&d->q->set.policy, d->entry.arrival, now,
						  r->attempts + 1);
		if (store_queue_update_rcpt(srv->store, d->queue_id, i, o->state, next, o->status,
					    o->dsn, &error) >= 0)
			continue;
		log_error("queue", "%s: cannot record the attempt: %s", d->queue_id, error);
		/* an unrecorded attempt leaves the recipient due at once: try again
		 * with a plain text, so that a text the store refuses cannot make a
		 * hot retry loop */
		if (store_queue_update_rcpt(srv->store, d->queue_id, i, o->state, next,
					    "status text not recordable",
					    o->state == STORE_QUEUE_RCPT_SENT	     ? "2.0.0"
					    : o->state == STORE_QUEUE_RCPT_BOUNCED ? "5.0.0"
										   : "4.0.0",
					    &error) < 0)
			log_error("queue", "%s: cannot record the attempt: %s", d->queue_id,
				  error);
	}
	if (store_queue_get(srv->store, d->queue_id, &e, &error) != 1)
		return;
	for (size_t i = 0; i < e.rcpt_count; i++) {
		if (e.rcpts[i].state != STORE_QUEUE_RCPT_SENT &&
		    e.rcpts[i].state != STORE_QUEUE_RCPT_BOUNCED)
			all_final = false;
	}
	if (all_final) {
		/* never a DSN to the null sender (RFC 5321 4.5.5) */
		if (e.sender[0] != '\0')
			finish_send_dsn(d, srv, &e);
		if (store_queue_delete(srv->store, d->queue_id, &error) < 0)
			log_error("queue", "%s: cannot remove: %s", d->queue_id, error);
		d->done_all = true;
	}
	store_queue_entry_deinit(&e);
}

static void
finish_done(void *ctx)
{
	struct delivery *d = ctx;
	struct queue_runner *q = d->q;

	if (q != NULL && d->done_all)
		log_info("queue", "%s: removed", d->queue_id);
	delivery_unlink(d);
	delivery_free(d);
	/* a DSN may have been queued, and a slot is free: look again */
	if (q != NULL && !q->stopping)
		serve_queue_kick(q->srv);
}

void
delivery_finish(struct delivery *d)
{
	int64_t now = now_secs();

	delivery_conn_free(d);
	delivery_hop_free(d);
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		struct queue_outcome_rec *o = &d->out[i];
		char safe[STORE_ADDRESS_MAX * 4 + 1];

		if (!o->set)
			continue;
		if (o->state == STORE_QUEUE_RCPT_DEFERRED &&
		    queue_expired(&d->q->set.policy, d->entry.arrival, now)) {
			/* decided before the log line, which must tell the truth */
			char text[STORE_QUEUE_STATUS_MAX + 1];

			o->state = STORE_QUEUE_RCPT_BOUNCED;
			snprintf(text, sizeof(text), "%.*s (gave up: message too old)",
				 (int)queue_utf8_prefix_len(o->status, 900), o->status);
			mem_free(&o->status);
			o->status = mem_strdup(text);
		}
		log_sanitize(safe, sizeof(safe), d->entry.rcpts[i].address,
			     strlen(d->entry.rcpts[i].address));
		log_info("queue", "%s: to=<%s>, relay=%s, delay=%lld, dsn=%s, status=%s (%s)",
			 d->queue_id, safe, o->relay, (long long)(now - d->entry.arrival), o->dsn,
			 o->state == STORE_QUEUE_RCPT_SENT	 ? "sent"
			 : o->state == STORE_QUEUE_RCPT_BOUNCED ? "bounced"
								: "deferred",
			 o->status);
	}
	worker_pool_submit(d->q->srv->pool, finish_work, finish_done, d);
}
