/*
 * serve-queue-finish.c - the end of an entry's delivery round: a worker
 * job records each recipient's outcome (store_queue_update_rcpt_flags),
 * bounces what outlived the queue lifetime, sends at most one DSN (RFC
 * 3464) for the entry and removes the entry once every recipient is final.
 *
 * The one notice of a round (RFC 3461 5.2, 6.2; queue/queue-dsn.h) lists:
 *  - the failed recipients ("failed"), once every recipient is final (a
 *    failure is reported with the entry's end, as before), when their
 *    NOTIFY asks for failures or is absent (RFC 3461 4.1);
 *  - recipients with NOTIFY=SUCCESS that became SENT: "delivered" when the
 *    scheduler put them into a local mailbox, "relayed" when the next hop
 *    did not offer DSN; nothing when it did, for it got NOTIFY and reports
 *    from now on (RFC 3461 5.2.2, 5.2.3);
 *  - still deferred recipients older than queue_delay_warning, whose NOTIFY
 *    includes DELAY or is absent, that had no delay notice yet ("delayed",
 *    Will-Retry-Until = arrival + queue lifetime).
 * Never to the null sender (RFC 5321 4.5.5); the notice itself has the null
 * sender and NOTIFY=NEVER (bin/serve-dsn.c), so it causes no notice.
 *
 * Crash safety: a success notice owed is recorded with the SENT state in
 * one write (STORE_QUEUE_RCPT_F_SUCCESS_OWED), and the flags that say a
 * notice went out (owed cleared, F_DELAY_SENT) are written only after the
 * notice is durable in the queue; the entry is removed only after its
 * final notice was queued, and stays (retried by the next round or the
 * sweep of serve-queue.c) when queueing it failed. A crash in between thus
 * repeats a notice at worst and never loses one.
 *
 * Log lines follow Postfix: "ID: sender non-delivery notification: NEWID",
 * "... sender delay notification: NEWID", "... sender delivery status
 * notification: NEWID".
 */
#include "bin/serve-queue-private.h"

#include "bin/serve-dsn.h"

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

/* RFC 3461 4.1: without NOTIFY, failures are reported. */
static bool
failure_wanted(const struct store_queue_rcpt *r)
{
	if (r->notify & STORE_QUEUE_NOTIFY_NEVER)
		return false;
	return r->notify == 0 || (r->notify & STORE_QUEUE_NOTIFY_FAILURE) != 0;
}

/* RFC 3461 4.1: without NOTIFY, an MTA may report delays (FAILURE,DELAY). */
static bool
delay_wanted(const struct store_queue_rcpt *r)
{
	if (r->notify & STORE_QUEUE_NOTIFY_NEVER)
		return false;
	return r->notify == 0 || (r->notify & STORE_QUEUE_NOTIFY_DELAY) != 0;
}

/* The flags to record with outcome o of recipient r of an entry from
 * sender: a success notice is owed for NOTIFY=SUCCESS when we delivered
 * it (LOCAL) or the next hop did not take NOTIFY over (RFC 3461 5.2.2). */
static unsigned
outcome_flags(const struct queue_outcome_rec *o, const struct store_queue_rcpt *r,
	      const char *sender)
{
	if (o->state != STORE_QUEUE_RCPT_SENT || sender[0] == '\0' ||
	    (r->notify & STORE_QUEUE_NOTIFY_NEVER) != 0 ||
	    (r->notify & STORE_QUEUE_NOTIFY_SUCCESS) == 0)
		return 0;
	if (o->local)
		return STORE_QUEUE_RCPT_F_SUCCESS_OWED | STORE_QUEUE_RCPT_F_LOCAL;
	return o->remote_dsn ? 0 : STORE_QUEUE_RCPT_F_SUCCESS_OWED;
}

/* The host name of a "host[ip]:port" relay text of this round, or NULL. */
static const char *
outcome_host(struct queue_outcome_rec *o, char *buf, size_t size)
{
	char *br;

	if (!o->set || strcmp(o->relay, "none") == 0 || strcmp(o->relay, "local") == 0)
		return NULL;
	snprintf(buf, size, "%s", o->relay);
	br = strchr(buf, '[');
	if (br != NULL)
		*br = '\0';
	return buf[0] != '\0' ? buf : NULL;
}

/* What the round's notice says about each recipient it lists. */
struct notice {
	struct queue_dsn_rcpt *dr;
	size_t *idx;         /* entry recipient index of dr[k] */
	char (*mta)[300];    /* remote_mta storage of dr[k] */
	size_t n;
	bool any_failed, any_delayed, any_success;
};

/* Collect the recipients of e the round's notice covers (see the top). */
static void
notice_collect(struct delivery *d, const struct store_queue_entry *e, int64_t now,
	       bool all_final, struct notice *nt)
{
	struct queue_policy pol = d->q->set.policy;

	pol.delay_warning = d->q->set.delay_warning > 0 ? (uint64_t)d->q->set.delay_warning : 0;
	memset(nt, 0, sizeof(*nt));
	nt->dr = mem_array(e->rcpt_count, sizeof(*nt->dr));
	nt->idx = mem_array(e->rcpt_count, sizeof(*nt->idx));
	nt->mta = mem_array(e->rcpt_count, sizeof(*nt->mta));
	if (e->sender[0] == '\0') /* never a DSN to the null sender (RFC 5321 4.5.5) */
		return;
	for (size_t i = 0; i < e->rcpt_count; i++) {
		const struct store_queue_rcpt *r = &e->rcpts[i];
		struct queue_dsn_rcpt *x = &nt->dr[nt->n];
		struct queue_outcome_rec *o = i < d->entry.rcpt_count ? &d->out[i] : NULL;

		if (r->state == STORE_QUEUE_RCPT_BOUNCED && all_final && failure_wanted(r)) {
			x->action = QUEUE_DSN_FAILED;
			x->status = r->dsn != NULL ? r->dsn : "5.0.0";
			nt->any_failed = true;
		} else if (r->state == STORE_QUEUE_RCPT_SENT &&
			   (r->flags & STORE_QUEUE_RCPT_F_SUCCESS_OWED) != 0) {
			x->action = (r->flags & STORE_QUEUE_RCPT_F_LOCAL) != 0 ? QUEUE_DSN_DELIVERED
									     : QUEUE_DSN_RELAYED;
			x->status = r->dsn != NULL && r->dsn[0] == '2' ? r->dsn : "2.0.0";
			nt->any_success = true;
		} else if (r->state == STORE_QUEUE_RCPT_DEFERRED &&
			   (r->flags & STORE_QUEUE_RCPT_F_DELAY_SENT) == 0 && delay_wanted(r) &&
			   queue_delay_warning_due(&pol, e->arrival, now)) {
			x->action = QUEUE_DSN_DELAYED;
			x->status = r->dsn != NULL && r->dsn[0] == '4' ? r->dsn : "4.0.0";
			x->retry_until = e->arrival + (int64_t)pol.lifetime;
			nt->any_delayed = true;
		} else {
			continue;
		}
		x->address = r->address;
		x->orcpt = r->orcpt;
		x->remote_mta = o != NULL ? outcome_host(o, nt->mta[nt->n], sizeof(nt->mta[0]))
					  : NULL;
		x->diagnostic = r->status;
		x->last_attempt = r->last_attempt;
		nt->idx[nt->n++] = i;
	}
}

static void
notice_free(struct notice *nt)
{
	mem_free(&nt->dr);
	mem_free(&nt->idx);
	mem_free(&nt->mta);
}

/* Queue the round's notice, if any (worker thread). Returns false when one
 * was due but could not be queued (logged): nothing may then be marked
 * sent, and the entry must stay. */
static bool
notice_send(struct delivery *d, struct server *srv, const struct store_queue_entry *e,
	    const struct notice *nt)
{
	struct queue_dsn dsn;
	char id[16];
	const char *error = NULL;

	if (nt->n == 0)
		return true;
	memset(&dsn, 0, sizeof(dsn));
	dsn.to = e->sender;
	dsn.queue_id = e->queue_id;
	dsn.envid = e->envid;
	dsn.arrival = e->arrival;
	dsn.now = now_secs();
	dsn.headers_only = e->ret == STORE_QUEUE_RET_HDRS;
	dsn.max_return = SERVE_DSN_MAX_RETURN;
	dsn.rcpts = nt->dr;
	dsn.rcpt_count = nt->n;
	dsn.original = d->body;
	dsn.original_len = (size_t)d->body_size;
	if (serve_dsn_queue(srv, &dsn, e->requiretls, id, &error) < 0) {
		log_error("queue", "%s: cannot queue the DSN: %s", e->queue_id,
			  error != NULL ? error : "write failed");
		return false;
	}
	log_info("queue", "%s: sender %s notification: %s", e->queue_id,
		 nt->any_failed ? "non-delivery"
		 : nt->any_delayed && !nt->any_success ? "delay"
						       : "delivery status",
		 id);
	return true;
}

/* After the notice was queued: record that it went out (the entry stays). */
static void
notice_mark(struct server *srv, const struct store_queue_entry *e, const struct notice *nt)
{
	const char *error = NULL;

	for (size_t k = 0; k < nt->n; k++) {
		unsigned set = 0, clear = 0;

		if (nt->dr[k].action == QUEUE_DSN_DELAYED)
			set = STORE_QUEUE_RCPT_F_DELAY_SENT;
		else if (nt->dr[k].action != QUEUE_DSN_FAILED)
			clear = STORE_QUEUE_RCPT_F_SUCCESS_OWED;
		else
			continue;
		/* a failure here repeats the notice next round, nothing worse */
		if (store_queue_set_rcpt_flags(srv->store, e->queue_id, nt->idx[k], set, clear,
					       &error) < 0)
			log_error("queue", "%s: cannot record the notice: %s", e->queue_id, error);
	}
}

static void
finish_work(void *ctx)
{
	struct delivery *d = ctx;
	struct server *srv = d->q != NULL ? d->q->srv : NULL;
	struct store_queue_entry e;
	struct notice nt;
	const char *error = NULL;
	int64_t now = now_secs();
	bool all_final;

	if (srv == NULL)
		return;
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		struct queue_outcome_rec *o = &d->out[i];
		const struct store_queue_rcpt *r = &d->entry.rcpts[i];
		unsigned flags;
		int64_t next = 0;

		if (!o->set)
			continue;
		if (o->state == STORE_QUEUE_RCPT_DEFERRED)
			next = queue_next_attempt(&d->q->set.policy, d->entry.arrival, now,
						  r->attempts + 1);
		/* a success notice owed is written with the SENT state itself */
		flags = outcome_flags(o, r, d->entry.sender);
		if (store_queue_update_rcpt_flags(srv->store, d->queue_id, i, o->state, next,
						  o->status, o->dsn, flags, &error) >= 0)
			continue;
		log_error("queue", "%s: cannot record the attempt: %s", d->queue_id, error);
		/* an unrecorded attempt leaves the recipient due at once: try again
		 * with a plain text, so that a text the store refuses cannot make a
		 * hot retry loop */
		if (store_queue_update_rcpt_flags(srv->store, d->queue_id, i, o->state, next,
						  "status text not recordable",
						  o->state == STORE_QUEUE_RCPT_SENT	 ? "2.0.0"
						  : o->state == STORE_QUEUE_RCPT_BOUNCED ? "5.0.0"
											 : "4.0.0",
						  flags, &error) < 0)
			log_error("queue", "%s: cannot record the attempt: %s", d->queue_id,
				  error);
	}
	if (store_queue_get(srv->store, d->queue_id, &e, &error) != 1)
		return;
	all_final = entry_all_final(&e);
	notice_collect(d, &e, now, all_final, &nt);
	if (!notice_send(d, srv, &e, &nt)) {
		/* the entry stays with its flags: the next round or the sweep
		 * tries the notice again */
	} else if (all_final) {
		if (store_queue_delete(srv->store, d->queue_id, &error) < 0)
			log_error("queue", "%s: cannot remove: %s", d->queue_id, error);
		d->done_all = true;
	} else {
		notice_mark(srv, &e, &nt);
	}
	notice_free(&nt);
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
