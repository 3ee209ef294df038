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
 * Two ways to end a round. When it makes every recipient final (the
 * common case: one message, all SENT), the notice is queued first and then
 * one store write (store_queue_finish) records the outcomes and removes the
 * entry: one commit, one fsync, instead of one per recipient plus one for
 * the removal (finish_in_one_step says why a crash can repeat a notice but
 * never lose one). Otherwise each outcome is recorded, then the notice
 * queued, then its flags marked, and the entry stays.
 *
 * Crash safety of the second way: a success notice owed is recorded with
 * the SENT state in one write (STORE_QUEUE_RCPT_F_SUCCESS_OWED), and the
 * flags that say a notice went out (owed cleared, F_DELAY_SENT) are written
 * only after the notice is durable in the queue; an entry is removed only
 * after its final notice was queued, and stays (retried by the next round
 * or the sweep of serve-queue.c) when queueing it failed. A crash in
 * between thus repeats a notice at worst and never loses one.
 *
 * The scheduler is kicked after a round only when that can start
 * something (finish_done says when).
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
	dsn.smtputf8 = e->smtputf8; /* RFC 6533: report an SMTPUTF8 original as global */
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

/* A finish job: the delivery, and what the worker did for finish_done. */
struct finish_job {
	struct delivery *d;
	bool notice_queued; /* a notice became a new queue entry, due now */
};

/* Record each outcome of this round with its own write (entry stays). */
static void
outcomes_record(struct delivery *d, struct server *srv, int64_t now)
{
	const char *error = NULL;

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
}

static bool
state_final(enum store_queue_rcpt_state state)
{
	return state == STORE_QUEUE_RCPT_SENT || state == STORE_QUEUE_RCPT_BOUNCED;
}

/* Is every recipient final once this round's outcomes count? */
static bool
round_ends_entry(const struct delivery *d)
{
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		if (!state_final(d->out[i].set ? d->out[i].state : d->entry.rcpts[i].state))
			return false;
	}
	return true;
}

/* Make d->entry (read by load_work of this delivery; nothing else writes
 * the entry while it is in delivery) say what store_queue_update_rcpt_flags
 * would have recorded for this round, for the notice. */
static void
entry_apply_outcomes(struct delivery *d, int64_t now)
{
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		const struct queue_outcome_rec *o = &d->out[i];
		struct store_queue_rcpt *r = &d->entry.rcpts[i];

		if (!o->set)
			continue;
		r->flags |= outcome_flags(o, r, d->entry.sender);
		r->state = o->state;
		r->attempts++;
		r->last_attempt = now;
		r->next_attempt = 0;
		mem_free(&r->status);
		r->status = mem_strdup(o->status);
		mem_free(&r->dsn);
		r->dsn = o->dsn[0] != '\0' ? mem_strdup(o->dsn) : NULL;
	}
}

/* The round made every recipient final: notice first, then outcomes and
 * removal in one store write (store_queue_finish).
 *
 * Why this order never loses a notice: until store_queue_finish commits,
 * the store still holds the entry as it was before this round (nothing of
 * the round is written before), so a crash at any point before that commit
 * makes the next start deliver the round's recipients again and build
 * their notice again: a duplicate delivery (RFC 5321 6.1 accepts it) and
 * at worst a repeated notice. The one commit that records the outcomes
 * also removes the entry, and it comes only after serve_dsn_queue returned
 * with the notice durable in the queue. So no state exists in which the
 * outcomes are recorded, the entry is gone or marked done, and the notice
 * is not queued. When queueing the notice fails, the outcomes are recorded
 * one by one instead (with SUCCESS_OWED where due) and the entry stays:
 * the sweep of serve-queue.c finds it all final and tries the notice
 * again, as before. */
static void
finish_in_one_step(struct finish_job *job, struct server *srv, int64_t now)
{
	struct delivery *d = job->d;
	struct store_queue_final *finals;
	struct notice nt;
	const char *error = NULL;
	size_t n = 0;
	int ret;

	entry_apply_outcomes(d, now);
	notice_collect(d, &d->entry, now, true, &nt);
	if (!notice_send(d, srv, &d->entry, &nt)) {
		notice_free(&nt);
		outcomes_record(d, srv, now);
		return;
	}
	job->notice_queued = nt.n > 0;
	notice_free(&nt);
	finals = mem_array(d->entry.rcpt_count + 1, sizeof(*finals));
	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		const struct store_queue_rcpt *r = &d->entry.rcpts[i];

		if (!d->out[i].set)
			continue;
		finals[n].rcpt_index = i;
		finals[n].state = r->state;
		finals[n].status = r->status;
		finals[n].dsn = r->dsn;
		finals[n].flags_set = r->flags;
		n++;
	}
	ret = store_queue_finish(srv->store, d->queue_id, finals, n, &error);
	if (ret < 0) {
		log_error("queue", "%s: cannot finish: %s", d->queue_id, error);
		/* as outcomes_record does: a text the store refuses must not keep
		 * the entry (and a hot retry) alive */
		for (size_t k = 0; k < n; k++) {
			finals[k].status = "status text not recordable";
			finals[k].dsn = finals[k].state == STORE_QUEUE_RCPT_SENT ? "2.0.0" : "5.0.0";
		}
		ret = store_queue_finish(srv->store, d->queue_id, finals, n, &error);
	}
	mem_free(&finals);
	if (ret < 0) {
		/* the notice is queued: record what can be recorded so the
		 * recipients are not tried again; the sweep then removes the
		 * entry (repeating the notice, never losing it) */
		log_error("queue", "%s: cannot finish: %s", d->queue_id, error);
		outcomes_record(d, srv, now);
		return;
	}
	d->done_all = ret > 0;
}

static void
finish_work(void *ctx)
{
	struct finish_job *job = ctx;
	struct delivery *d = job->d;
	struct server *srv = d->q != NULL ? d->q->srv : NULL;
	struct store_queue_entry e;
	struct notice nt;
	const char *error = NULL;
	int64_t now = now_secs();
	bool all_final;

	if (srv == NULL)
		return;
	if (round_ends_entry(d)) {
		finish_in_one_step(job, srv, now);
		return;
	}
	/* recipients remain waiting: record this round, then notices */
	outcomes_record(d, srv, now);
	if (store_queue_get(srv->store, d->queue_id, &e, &error) != 1)
		return;
	all_final = entry_all_final(&e);
	notice_collect(d, &e, now, all_final, &nt);
	if (!notice_send(d, srv, &e, &nt)) {
		/* the entry stays with its flags: the next round or the sweep
		 * tries the notice again */
	} else if (all_final) {
		/* the store changed under us (not expected): finish as before */
		if (store_queue_delete(srv->store, d->queue_id, &error) < 0)
			log_error("queue", "%s: cannot remove: %s", d->queue_id, error);
		d->done_all = true;
		job->notice_queued = nt.n > 0;
	} else {
		notice_mark(srv, &e, &nt);
		job->notice_queued = nt.n > 0;
	}
	notice_free(&nt);
	store_queue_entry_deinit(&e);
}

/*
 * When to look at the queue again (serve_queue_kick). Not after every
 * message: a scan reads the due part of the queue table, and doing it per
 * delivered message costs as much as the delivery's own bookkeeping.
 *  - A notice was queued: a new entry is due now; only a scan finds it.
 *  - The runner was at its limit before this one ended, i.e. it had at
 *    least min(max_deliveries, QUEUE_SCAN_BATCH) deliveries in flight: a
 *    scan may have left due entries waiting (scan_done stops when there is
 *    no room, which needs max_deliveries in flight, counting those waiting
 *    for a connection slot), or not seen them behind a full batch of
 *    entries in flight; the slot this delivery frees must go to them now,
 *    not at the next timer scan. The test is wider than scan_done's (a
 *    needless scan is cheap, a missed one stalls the queue until the timer).
 * Below that limit nothing was left waiting by the last scan: scan_done
 * starts every due entry it read while slots are free, and asks for the
 * next scan itself when it read a full batch (serve-queue.c). A scan in
 * progress takes the slots freed meanwhile when it ends, and entries
 * that became due otherwise come with their own kick (a new message from
 * SMTP) or the timer (a retry time passed; every scan_interval).
 * Entries that ended while a scan was reading are skipped by that scan
 * (it notes the ones in flight when it starts), so a stale read cannot
 * fill a slot with a load that finds the entry gone and frees the slot
 * without ever reaching this point.
 */
static void
finish_done(void *ctx)
{
	struct finish_job *job = ctx;
	struct delivery *d = job->d;
	struct queue_runner *q = d->q;
	bool kick = false;

	if (q != NULL) {
		unsigned limit = q->set.max_deliveries < QUEUE_SCAN_BATCH ? q->set.max_deliveries
									   : QUEUE_SCAN_BATCH;

		if (d->done_all)
			log_info("queue", "%s: removed", d->queue_id);
		kick = !q->stopping && (job->notice_queued || q->active_count >= limit);
	}
	delivery_unlink(d);
	delivery_free(d);
	mem_free(&job);
	if (kick)
		serve_queue_kick(q->srv);
}

void
delivery_finish(struct delivery *d)
{
	struct finish_job *job;
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
	job = mem_zalloc(sizeof(*job));
	job->d = d;
	worker_pool_submit(d->q->srv->pool, finish_work, finish_done, job);
}
