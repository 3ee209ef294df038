/*
 * serve-queue.c - the outbound queue's scheduler: takes due entries from
 * the store, finds each recipient's next hop (relay host, address literal,
 * or MX then A/AAAA through dns/), talks SMTP to it with the client engine
 * (smtp/smtp-client.h, STARTTLS when offered), records every recipient's
 * outcome, retries with growing backoff (queue/queue-policy.h), and once
 * round sends one notice (queue/queue-dsn.h through serve-dsn.h) for the
 * failed, delayed and success-notified recipients, and removes the entry
 * once every recipient is final.
 *
 * The scheduler is split over five files (serve-queue-private.h says
 * which does what); this one is the runner.
 *
 * Flow per entry (struct delivery): a worker job loads the entry and maps
 * its body, and settles the recipients that need no network (our own
 * domains and local_address_literals, as RCPT decides: all of them stored
 * together, the body once and one copy per account, like one SMTP
 * transaction; mail loops; unknown local users); then the remote
 * recipients are grouped by next hop and each hop is tried in turn on the
 * loop: route, addresses, connect, SMTP.
 * A host that cannot be reached or fails before the transaction makes the
 * next address or MX host be tried (RFC 5321 5.1); replies to the
 * transaction are final for that hop. With opportunistic TLS (RFC 7435) a
 * STARTTLS or handshake failure makes the same address be tried again at
 * once without STARTTLS, so a broken TLS stack never holds mail up (a host
 * whose DANE, MTA-STS or REQUIRETLS policy requires TLS gets no such
 * retry: serve-queue-tls.c). A last worker job (serve-queue-finish.c)
 * records the outcomes, queues the notice and deletes the entry when it
 * is done. A deferred recipient whose message is older
 * than the queue lifetime is bounced instead (decided before the log line).
 *
 * Finished entries: store_queue_due only returns entries with a due
 * recipient, so an entry whose recipients are all final but which is still
 * there (a crash between recording and removal, or `posthorn queue bounce`)
 * is found by a sweep over the whole queue (store_queue_list) at start-up
 * and every QUEUE_SWEEP_SCANS scan intervals, and finished like any other.
 * `posthorn queue` touches a marker file in the data directory after each
 * change (serve_queue_touch_changed); a scan that sees its mtime move
 * sweeps at once, so a bounce from another process takes effect within one
 * scan interval while an unchanged queue is never read whole.
 *
 * Next hops: transport_map ("DOMAIN=RELAY,...", ".DOMAIN" for subdomains)
 * overrides relayhost for a recipient domain, and relayhost overrides MX.
 * At relay hosts (never at MX hosts) the scheduler logs in with the
 * relayhost_auth_file credentials (serve-queue-conn.c).
 *
 * Crash safety (DESIGN.md 3): an outcome is recorded only after the next hop
 * replied; a crash before that leaves the recipient due, so it is sent again
 * after the restart (a duplicate when the hop had already said 250, which
 * RFC 5321 6.1 accepts). A crash after the DSN was queued but before the
 * entry was removed sends the DSN twice.
 *
 * Connections are reused for several entries to the same host and limited
 * per host (serve-queue-conn.c).
 *
 * What it does not do yet: send REQUIRETLS in MAIL FROM (RFC 8689 4.2.2:
 * the client engine has no such option yet).
 * Reading the body: it is mapped by a worker and read on the loop, so a
 * page fault on a cold body can stall the loop briefly.
 *
 * Log lines follow Postfix (DESIGN.md 4): "ID: to=<a>, relay=host[ip]:port,
 * delay=s, dsn=x.y.z, status=sent|deferred|bounced (text)".
 */
#include "bin/serve-queue-private.h"
#include "bin/serve-queue-tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <time.h>
#include <unistd.h>

/* ---- delivery lifetime ---- */

void
delivery_hop_free(struct delivery *d)
{
	dns_query_cancel(&d->dnsq);
	for (size_t i = 0; i < d->nhosts; i++)
		mem_free(&d->hosts[i]);
	mem_free(&d->hosts);
	d->nhosts = d->host_i = 0;
	d->naddrs = d->addr_i = 0;
}

void
delivery_free(struct delivery *d)
{
	delivery_conn_free(d);
	delivery_hop_free(d);
	queue_tls_need_clear(d);
	if (d->body != NULL)
		munmap(d->body, d->body_size);
	if (d->out != NULL) {
		for (size_t i = 0; i < d->entry.rcpt_count; i++)
			mem_free(&d->out[i].status);
		mem_free(&d->out);
	}
	for (size_t i = 0; i < d->nhops; i++)
		mem_free(&d->hops[i].idx);
	mem_free(&d->hops);
	if (d->have_entry)
		store_queue_entry_deinit(&d->entry);
	mem_free(&d->error);
	mem_free(&d);
}

void
delivery_unlink(struct delivery *d)
{
	struct queue_runner *q = d->q;

	if (q == NULL)
		return;
	if (d->prev != NULL)
		d->prev->next = d->next;
	else
		q->active = d->next;
	if (d->next != NULL)
		d->next->prev = d->prev;
	q->active_count--;
	d->q = NULL;
}

/* ---- outcomes ---- */

/* Octets of s that fit in max without cutting a UTF-8 sequence. */
size_t
queue_utf8_prefix_len(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

void
delivery_outcome_set(struct delivery *d, size_t i, enum store_queue_rcpt_state state, const char *dsn,
	    const char *status, const char *relay)
{
	struct queue_outcome_rec *o = &d->out[i];

	size_t len;

	if (status == NULL)
		status = "";
	/* the store takes at most STORE_QUEUE_STATUS_MAX octets (a longer text
	 * would leave the attempt unrecorded and the recipient due at once) */
	len = queue_utf8_prefix_len(status, STORE_QUEUE_STATUS_MAX);
	o->set = true;
	o->state = state;
	snprintf(o->dsn, sizeof(o->dsn), "%s", dsn);
	mem_free(&o->status);
	o->status = mem_alloc(len + 1);
	memcpy(o->status, status, len);
	o->status[len] = '\0';
	snprintf(o->relay, sizeof(o->relay), "%.290s", relay != NULL ? relay : "none");
}

/* Every recipient of the current hop gets the same temporary or permanent
 * outcome (DNS failure, no host reachable). */
void
delivery_outcome_all(struct delivery *d, enum store_queue_rcpt_state state, const char *dsn,
		const char *status)
{
	struct queue_hop *h = &d->hops[d->hop];

	for (size_t i = 0; i < h->n; i++)
		delivery_outcome_set(d, h->idx[i], state, dsn, status, "none");
}

/* ---- worker: load an entry ---- */

static bool
is_8bit(const uint8_t *p, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++) {
		if (p[i] & 0x80)
			return true;
	}
	return false;
}

/* RFC 5321 6.3: count Received: fields of the header. */
static unsigned
count_received(const uint8_t *p, uint64_t n)
{
	unsigned count = 0;
	bool bol = true;

	for (uint64_t i = 0; i < n; i++) {
		if (bol) {
			if (p[i] == '\r' || p[i] == '\n')
				break; /* end of the header */
			if (n - i > 9 && strncasecmp((const char *)p + i, "Received:", 9) == 0)
				count++;
		}
		bol = p[i] == '\n';
	}
	return count;
}

/* ---- local recipients ---- */

/* The recipients of one entry that are ours, delivered together like the
 * SMTP server does for one transaction (serve-smtp.c merges the accounts
 * of every accepted RCPT): the body is written once and stored once, and
 * every account gets one copy however many recipients (aliases,
 * subaddresses, literals) reach it (DESIGN.md 1). */
struct local_batch {
	size_t *idx;   /* entry rcpt indices resolved to accounts, in entry order */
	size_t n;
	uint64_t *ids; /* the union of their accounts (delivery_ids_merge) */
	size_t nids;
};

/* Recipient i of the entry, if it is one of ours: a domain of the store, or
 * an address literal (RFC 5321 4.1.3) of local_address_literals. Both are
 * decided by delivery_resolve, as for RCPT on the SMTP side (serve-smtp.c),
 * so that what the server accepts as local the scheduler delivers locally
 * and nothing is sent over SMTP to ourselves. A recipient that resolves to
 * accounts joins lb (delivered by local_batch_deliver); one that cannot be
 * delivered gets its outcome here: unknown user 5.1.1, alias loop 5.4.6 and
 * an alias to another domain 5.3.0 bounce (RCPT refuses them), a full
 * mailbox (RFC 9208; 4.2.2 like RCPT's 452) and a lookup failure (4.3.0)
 * are deferred. Returns false when the address is not ours (routed by the
 * network). Worker thread. */
static bool
local_rcpt_resolve(struct delivery *d, struct server *srv, size_t i, struct local_batch *lb)
{
	const char *addr = d->entry.rcpts[i].address, *at = strrchr(addr, '@');
	uint64_t *ids = NULL;
	size_t n = 0;
	const char *error = NULL;
	char local[STORE_ADDRESS_MAX + 1];
	enum delivery_status st;
	bool literal;

	if (at == NULL || at == addr || at[1] == '\0' ||
	    (size_t)(at - addr) > STORE_LOCAL_PART_MAX)
		return false;
	literal = at[1] == '[';
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	st = delivery_resolve(srv->store, &srv->delivery, local, at + 1, literal, &ids, &n, &error);
	if (st == DELIVERY_NOT_LOCAL) {
		mem_free(&ids);
		return false;
	}
	if (st == DELIVERY_REMOTE_TARGET) {
		/* ours, but an alias leads outside: RCPT refuses it (550 5.3.0);
		 * routing it by MX would send it to ourselves */
		delivery_outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.3.0",
				     "recipient forwards outside this server, which is not supported "
				     "yet", "local");
	} else if (st == DELIVERY_UNKNOWN_USER) {
		delivery_outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.1.1", "no such user here",
				     "local");
	} else if (st == DELIVERY_LOOP) {
		delivery_outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.4.6", "alias loop", "local");
	} else if (st != DELIVERY_OK) {
		delivery_outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.3.0",
				     error != NULL ? error : "local lookup failed", "local");
	} else {
		int full = 0;

		/* RFC 9208 quotas, checked as serve-smtp-data.c does before it
		 * stores: the whole message must fit every account reached */
		for (size_t k = 0; k < n && full == 0; k++)
			full = store_account_over_quota(srv->store, ids[k], d->body_size, 1, &error);
		if (full > 0) {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.2.2",
					     "mailbox full: over quota", "local");
		} else if (full < 0) {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.3.0",
					     error != NULL ? error : "quota lookup failed", "local");
		} else {
			if (lb->idx == NULL)
				lb->idx = mem_array(d->entry.rcpt_count, sizeof(*lb->idx));
			lb->idx[lb->n++] = i;
			delivery_ids_merge(&lb->ids, &lb->nids, ids, n);
		}
	}
	mem_free(&ids);
	return true;
}

/* Store the body once for every account of lb with one store_deliver
 * (worker thread) and give each recipient of lb its outcome. store_deliver
 * is all or nothing (store.h): either every target has its copy and every
 * recipient is SENT, or nothing is visible anywhere and every recipient is
 * deferred (4.3.0) and tried again later, when it is resolved afresh. Frees
 * lb's arrays. */
static void
local_batch_deliver(struct delivery *d, struct server *srv, struct local_batch *lb)
{
	struct store_delivery_target *t;
	struct store_delivery_result *r;
	struct store_blob *blob = NULL;
	const char *error = NULL;
	int ret = -1;

	if (lb->n == 0 || lb->nids == 0) {
		mem_free(&lb->idx);
		mem_free(&lb->ids);
		return;
	}
	t = mem_array(lb->nids, sizeof(*t));
	r = mem_array(lb->nids, sizeof(*r));
	for (size_t k = 0; k < lb->nids; k++)
		t[k].account_id = lb->ids[k];
	if (store_blob_begin(srv->store, &blob, &error) == 1 &&
	    (d->body_size == 0 || store_blob_write(blob, d->body, d->body_size) == 0))
		ret = store_deliver(srv->store, &blob, t, lb->nids, r, &error);
	else if (blob != NULL)
		store_blob_abort(&blob);
	for (size_t k = 0; k < lb->n; k++) {
		size_t i = lb->idx[k];

		if (ret == 1) {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_SENT, "2.0.0",
					     "delivered to mailbox", "local");
			d->out[i].local = true;
		} else {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.3.0",
					     error != NULL ? error : "local delivery failed",
					     "local");
		}
	}
	mem_free(&t);
	mem_free(&r);
	mem_free(&lb->idx);
	mem_free(&lb->ids);
}

static void
load_work(void *ctx)
{
	struct delivery *d = ctx;
	struct server *srv = d->q != NULL ? d->q->srv : NULL;
	const char *error = NULL;
	int fd = -1, ret;
	int64_t now = now_secs();

	if (srv == NULL)
		return;
	ret = store_queue_get(srv->store, d->queue_id, &d->entry, &error);
	if (ret == 0) {
		/* finished meanwhile by another delivery, or deleted: nothing to do */
		d->gone = true;
		return;
	}
	if (ret != 1) {
		d->error = mem_strdup(error != NULL ? error : "cannot read the entry");
		return;
	}
	d->have_entry = true;
	d->out = mem_array(d->entry.rcpt_count, sizeof(*d->out));
	if (store_queue_open_body(srv->store, d->queue_id, &fd, &d->body_size, &error) != 1) {
		d->error = mem_strdup(error != NULL ? error : "body gone");
		return;
	}
	if (d->body_size > 0) {
		void *m = mmap(NULL, d->body_size, PROT_READ, MAP_PRIVATE, fd, 0);

		if (m == MAP_FAILED) {
			d->error = mem_strdup("cannot map the message body");
			close(fd);
			return;
		}
		d->body = m;
	}
	close(fd);
	d->eightbit = is_8bit(d->body, d->body_size);
	bool loop = count_received(d->body, d->body_size) > QUEUE_MAX_RECEIVED;
	struct local_batch lb = { 0 };

	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		const struct store_queue_rcpt *r = &d->entry.rcpts[i];
		struct queue_nexthop nh;
		size_t h;

		if (r->state == STORE_QUEUE_RCPT_SENT || r->state == STORE_QUEUE_RCPT_BOUNCED)
			continue;
		if (r->next_attempt > now)
			continue;
		if (loop) {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.4.6",
				    "mail forwarding loop (too many Received: fields)", "none");
			continue;
		}
		if (local_rcpt_resolve(d, srv, i, &lb))
			continue;
		if (queue_nexthop_parse(r->address, &nh, &error) < 0) {
			delivery_outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.1.2", error, "none");
			continue;
		}
		for (h = 0; h < d->nhops; h++) {
			if (d->hops[h].nh.literal == nh.literal &&
			    strcmp(d->hops[h].nh.domain, nh.domain) == 0)
				break;
		}
		if (h == d->nhops) {
			d->hops = mem_realloc(d->hops, (d->nhops + 1) * sizeof(*d->hops));
			memset(&d->hops[h], 0, sizeof(d->hops[h]));
			d->hops[h].nh = nh;
			d->hops[h].idx = mem_array(d->entry.rcpt_count, sizeof(size_t));
			d->nhops++;
		}
		d->hops[h].idx[d->hops[h].n++] = i;
	}
	local_batch_deliver(d, srv, &lb);
}

static void
load_done(void *ctx)
{
	struct delivery *d = ctx;

	if (d->q == NULL || d->q->stopping) {
		delivery_unlink(d);
		delivery_free(d);
		return;
	}
	if (d->error != NULL || d->gone) {
		if (d->error != NULL)
			log_error("queue", "%s: cannot load queue entry: %s", d->queue_id,
				  d->error);
		delivery_unlink(d);
		delivery_free(d);
		return;
	}
	d->hop = 0;
	if (d->nhops == 0) {
		delivery_finish(d);
		return;
	}
	delivery_next_hop(d);
}

/* ---- scanning ---- */

/* Deliveries waiting for a connection slot (destination_concurrency,
 * serve-queue-conn.c) do not count against max_deliveries: one busy
 * destination would otherwise hold every other back. They still hold their
 * entry and body mapping, so at most QUEUE_WAITING_FACTOR * max_deliveries
 * of them are in flight besides the max_deliveries that run. Resumed
 * waiters may briefly make more than max_deliveries run (their slots came
 * from deliveries still recording their outcomes); no new one starts then,
 * and the in-flight bound holds. A free place is taken at the next scan
 * (queue_scan_interval, or a kick). */
#define QUEUE_WAITING_FACTOR 4u
#define QUEUE_SCAN_BATCH_MAX 4096u /* entries read by one scan at most */

/* At most this many deliveries in flight, running or waiting. Never more
 * than a scan's batch can show besides QUEUE_SCAN_BATCH new entries (those
 * in flight stay due and come first), whatever max_deliveries says. */
static unsigned
queue_in_flight_max(const struct queue_runner *q)
{
	unsigned n = q->set.max_deliveries * (1 + QUEUE_WAITING_FACTOR);

	return n < QUEUE_SCAN_BATCH_MAX - QUEUE_SCAN_BATCH ? n
							   : QUEUE_SCAN_BATCH_MAX - QUEUE_SCAN_BATCH;
}

struct scan_job {
	struct queue_runner *q;
	char (*ids)[STORE_QUEUE_ID_MAX + 1];
	size_t count;
	bool sweep; /* also look for finished entries (scan_sweep) */
	bool due_full; /* store_queue_due filled the batch: more may be due */
	/* the entries in flight when the scan began: one of them that ended
	 * while the scan read may be listed as it was before it ended */
	char (*busy)[STORE_QUEUE_ID_MAX + 1];
	size_t busy_count;
};

bool
entry_all_final(const struct store_queue_entry *e)
{
	for (size_t i = 0; i < e->rcpt_count; i++) {
		if (e->rcpts[i].state != STORE_QUEUE_RCPT_SENT &&
		    e->rcpts[i].state != STORE_QUEUE_RCPT_BOUNCED)
			return false;
	}
	return true;
}

/* Entries whose recipients are all final but which are still there: a
 * crash between recording the outcomes and the removal, or `posthorn queue
 * bounce`. store_queue_due never returns them, so the whole queue is read
 * (store_queue_list) at start-up and then every QUEUE_SWEEP_SCANS scan
 * intervals. */
static void
scan_sweep(struct scan_job *job)
{
	struct store_queue_entry *entries = NULL;
	size_t n = 0;
	const char *error = NULL;

	if (store_queue_list(job->q->srv->store, &entries, &n, &error) != 1) {
		log_error("queue", "cannot read the queue: %s", error);
		return;
	}
	for (size_t i = 0; i < n && job->count < QUEUE_SCAN_BATCH * 2; i++) {
		if (entries[i].hold || !entry_all_final(&entries[i]))
			continue;
		job->ids = mem_realloc(job->ids, (job->count + 1) * sizeof(*job->ids));
		memcpy(job->ids[job->count++], entries[i].queue_id, sizeof(job->ids[0]));
	}
	store_queue_list_free(&entries, n);
}

/* Did `posthorn queue` change the queue since the last look (worker
 * thread; scan jobs never overlap)? */
static bool
queue_changed_since_sweep(struct queue_runner *q)
{
	struct stat st;

	if (q->changed_path == NULL || stat(q->changed_path, &st) < 0)
		return false;
	if (st.st_mtim.tv_sec == q->changed_mtime.tv_sec &&
	    st.st_mtim.tv_nsec == q->changed_mtime.tv_nsec)
		return false;
	q->changed_mtime = st.st_mtim;
	return true;
}

static void
scan_work(void *ctx)
{
	struct scan_job *job = ctx;
	struct store_queue_entry *entries = NULL;
	size_t n = 0, batch;
	const char *error = NULL;

	/* entries in flight stay due until they are finished and come first:
	 * ask for more than can be in flight, so that new ones are seen (set
	 * does not change after start: safe to read on a worker); at most
	 * QUEUE_SCAN_BATCH_MAX, as every entry comes with all its recipients */
	batch = QUEUE_SCAN_BATCH + (size_t)queue_in_flight_max(job->q);
	if (store_queue_due(job->q->srv->store, now_secs(), batch, &entries, &n,
			    &error) != 1) {
		log_error("queue", "cannot read the queue: %s", error);
		return;
	}
	job->ids = mem_array(n + 1, sizeof(*job->ids));
	for (size_t i = 0; i < n; i++)
		memcpy(job->ids[i], entries[i].queue_id, sizeof(job->ids[i]));
	job->count = n;
	job->due_full = n >= batch;
	store_queue_list_free(&entries, n);
	if (!job->sweep && queue_changed_since_sweep(job->q))
		job->sweep = true;
	if (job->sweep)
		scan_sweep(job);
}

/* Can scan_done start another delivery? */
static bool
queue_has_room(const struct queue_runner *q)
{
	unsigned waiting = 0;

	for (const struct delivery *d = q->active; d != NULL; d = d->next) {
		if (d->waiting)
			waiting++;
	}
	return q->active_count - waiting < q->set.max_deliveries &&
	       q->active_count < queue_in_flight_max(q);
}

static bool
queue_in_flight(const struct queue_runner *q, const char *id)
{
	for (const struct delivery *d = q->active; d != NULL; d = d->next) {
		if (strcmp(d->queue_id, id) == 0)
			return true;
	}
	return false;
}

static bool
scan_was_busy(const struct scan_job *job, const char *id)
{
	for (size_t i = 0; i < job->busy_count; i++) {
		if (strcmp(job->busy[i], id) == 0)
			return true;
	}
	return false;
}

/* Start deliveries for what the scan found while there is room. A finished
 * delivery kicks a new scan only when the runner was at its limit
 * (serve-queue-finish.c, finish_done), so two things are settled here:
 * an id of an entry in flight when the scan began is skipped even when its
 * delivery has ended since (the read may predate its end; loading it again
 * would find it gone and free the slot without a kick), and a full batch
 * that started something but left room is followed by another scan at
 * once (more may be due behind it; this ends when a scan starts nothing
 * or the room is used up). */
static void
scan_done(void *ctx)
{
	struct scan_job *job = ctx;
	struct queue_runner *q = job->q;
	size_t started = 0;

	q->scanning = false;
	for (size_t i = 0; i < job->count && !q->stopping; i++) {
		struct delivery *d;

		if (!queue_has_room(q))
			break;
		if (queue_in_flight(q, job->ids[i]) || scan_was_busy(job, job->ids[i]))
			continue;
		started++;
		d = mem_zalloc(sizeof(*d));
		d->q = q;
		memcpy(d->queue_id, job->ids[i], sizeof(d->queue_id));
		d->started = now_secs();
		d->next = q->active;
		if (q->active != NULL)
			q->active->prev = d;
		q->active = d;
		q->active_count++;
		worker_pool_submit(q->srv->pool, load_work, load_done, d);
	}
	if (job->due_full && started > 0 && queue_has_room(q))
		q->rescan = true;
	mem_free(&job->ids);
	mem_free(&job->busy);
	mem_free(&job);
	if (q->rescan && !q->stopping) {
		q->rescan = false;
		queue_scan(q);
	}
}

void
queue_scan(struct queue_runner *q)
{
	struct scan_job *job;

	if (q->stopping)
		return;
	if (q->scanning) {
		q->rescan = true;
		return;
	}
	q->scanning = true;
	job = mem_zalloc(sizeof(*job));
	job->q = q;
	job->busy = mem_array(q->active_count + 1, sizeof(*job->busy));
	for (const struct delivery *d = q->active; d != NULL; d = d->next) {
		if (job->busy_count < q->active_count)
			memcpy(job->busy[job->busy_count++], d->queue_id, sizeof(job->busy[0]));
	}
	if (now_secs() >= q->next_sweep) {
		unsigned interval_s = (q->set.scan_interval_ms + 999) / 1000;

		job->sweep = true;
		q->next_sweep = now_secs() + (int64_t)QUEUE_SWEEP_SCANS * interval_s;
	}
	worker_pool_submit(q->srv->pool, scan_work, scan_done, job);
}

static void
queue_timer(void *ctx)
{
	struct queue_runner *q = ctx;

	queue_scan(q);
	loop_timer_reset(q->timer, q->set.scan_interval_ms);
}

/* ---- next hops, credentials ---- */

const char *
queue_relay_for_hop(struct delivery *d)
{
	struct queue_runner *q = d->q;
	const struct queue_nexthop *nh = &d->hops[d->hop].nh;

	d->via_relay = false;
	if (q == NULL)
		return NULL;
	if (!nh->literal) {
		size_t dl = strlen(nh->domain);

		for (size_t i = 0; i < q->ntransports; i++) {
			const char *key = q->transports[i].domain;
			size_t kl = strlen(key);

			/* "dom" matches the domain, ".dom" its subdomains */
			if ((key[0] != '.' && strcasecmp(key, nh->domain) == 0) ||
			    (key[0] == '.' && dl > kl &&
			     strcasecmp(nh->domain + dl - kl, key) == 0)) {
				d->via_relay = true;
				return q->transports[i].relay;
			}
		}
	}
	if (q->set.relayhost != NULL && q->set.relayhost[0] != '\0') {
		d->via_relay = true;
		return q->set.relayhost;
	}
	return NULL;
}

static void
transports_free(struct queue_runner *q)
{
	for (size_t i = 0; i < q->ntransports; i++) {
		mem_free(&q->transports[i].domain);
		mem_free(&q->transports[i].relay);
	}
	mem_free(&q->transports);
	q->ntransports = 0;
}

static char *
dup_trimmed(const char *p, size_t n)
{
	while (n > 0 && (*p == ' ' || *p == '\t')) {
		p++;
		n--;
	}
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return mem_strndup(p, n);
}

/* "DOMAIN=RELAY,DOMAIN2=RELAY2" (the config check, conf-keys.c, has
 * refused bad syntax already; items without '=' are skipped here). */
static void
transports_parse(struct queue_runner *q, const char *map)
{
	const char *p = map;

	while (p != NULL && *p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		if (eq != NULL && eq > p && (size_t)(eq - p) + 1 < n) {
			char *dom = dup_trimmed(p, (size_t)(eq - p));
			char *relay = dup_trimmed(eq + 1, n - (size_t)(eq - p) - 1);

			if (dom[0] != '\0' && relay[0] != '\0') {
				size_t sz = mem_size_mul(q->ntransports + 1,
							 sizeof(*q->transports));

				q->transports = mem_realloc(q->transports, sz);
				q->transports[q->ntransports].domain = dom;
				q->transports[q->ntransports].relay = relay;
				q->ntransports++;
			} else {
				mem_free(&dom);
				mem_free(&relay);
			}
		}
		p = end != NULL ? end + 1 : NULL;
	}
}

static void
auth_free(struct queue_runner *q)
{
	if (q->auth_password != NULL) {
		explicit_bzero(q->auth_password, strlen(q->auth_password));
		mem_free(&q->auth_password);
	}
	mem_free(&q->auth_user);
}

/* relayhost_auth_file: one line "USER PASSWORD". A file others may read is
 * refused (the password would not be secret). 0 ok (or none), -1 logged. */
static int
auth_load(struct queue_runner *q)
{
	const char *name = q->set.relayhost_auth_file;
	char path[4096], line[1024];
	struct stat st;
	ssize_t n;
	int fd, ret = -1;
	char *sp, *end;

	if (name == NULL || name[0] == '\0')
		return 0;
	if (name[0] == '/' || q->set.config_dir == NULL || q->set.config_dir[0] == '\0')
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%s/%s", q->set.config_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		log_error("queue", "relayhost_auth_file %s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_error("queue", "relayhost_auth_file %s: not a regular file", path);
		close(fd);
		return -1;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		log_error("queue", "relayhost_auth_file %s: refused: readable by group or others "
				   "(mode %03o; chmod 600)", path, (unsigned)(st.st_mode & 0777));
		close(fd);
		return -1;
	}
	n = read(fd, line, sizeof(line) - 1);
	close(fd);
	if (n < 0) {
		log_error("queue", "relayhost_auth_file %s: %s", path, strerror(errno));
		return -1;
	}
	line[n] = '\0';
	end = line + strcspn(line, "\r\n");
	*end = '\0';
	sp = strchr(line, ' ');
	if (sp == NULL || sp == line || sp[1] == '\0') {
		log_error("queue", "relayhost_auth_file %s: expected one line \"USER PASSWORD\"",
			  path);
	} else {
		*sp = '\0';
		q->auth_user = mem_strdup(line);
		q->auth_password = mem_strdup(sp + 1);
		ret = 0;
	}
	explicit_bzero(line, sizeof(line));
	return ret;
}

char *
serve_queue_changed_path(const char *data_dir)
{
	size_t n = strlen(data_dir) + sizeof("/queue-changed");
	char *p = mem_alloc(n);

	snprintf(p, n, "%s/queue-changed", data_dir);
	return p;
}

int
serve_queue_touch_changed(const char *data_dir)
{
	char *path = serve_queue_changed_path(data_dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	int ret = -1;

	if (fd >= 0) {
		ret = futimens(fd, NULL);
		close(fd);
	}
	mem_free(&path);
	return ret < 0 ? -1 : 0;
}

/* ---- public ---- */

/* Free the strings serve_queue_start copied. */
static void
queue_settings_free_copies(struct queue_settings *set)
{
	mem_free(&set->relayhost);
	mem_free(&set->config_dir);
	mem_free(&set->relayhost_auth_file);
	mem_free(&set->transport_map);
	mem_free(&set->ca_file);
}

int
serve_queue_start(struct server *srv, const struct queue_settings *set)
{
	struct queue_runner *q = mem_zalloc(sizeof(*q));
	struct dns_settings ds;
	struct tls_client_settings ts;
	const char *error = NULL;

	q->srv = srv;
	q->set = *set;
	/* the config may be reloaded (SIGHUP): keep copies */
	q->set.relayhost = mem_strdup(set->relayhost != NULL ? set->relayhost : "");
	q->set.dns_resolver = NULL;
	q->set.dns_trust_anchor = NULL;
	q->set.config_dir = mem_strdup(set->config_dir != NULL ? set->config_dir : "");
	q->set.relayhost_auth_file =
		mem_strdup(set->relayhost_auth_file != NULL ? set->relayhost_auth_file : "");
	q->set.transport_map = mem_strdup(set->transport_map != NULL ? set->transport_map : "");
	q->set.ca_file = mem_strdup(set->ca_file != NULL ? set->ca_file : "");
	transports_parse(q, q->set.transport_map);
	if (auth_load(q) < 0) {
		transports_free(q);
		queue_settings_free_copies(&q->set);
		mem_free(&q);
		return -1;
	}
	{
		char *dir = conf_resolve_data_dir(&srv->conf);

		q->changed_path = serve_queue_changed_path(dir);
		mem_free(&dir);
	}
	memset(&ds, 0, sizeof(ds));
	ds.resolver = set->dns_resolver;
	ds.trust_anchor = set->dns_trust_anchor;
	q->dns = dns_resolver_new(srv->loop, &ds, &error);
	if (q->dns == NULL) {
		log_error("queue", "cannot start the DNS resolver: %s", error);
		transports_free(q);
		auth_free(q);
		mem_free(&q->changed_path);
		queue_settings_free_copies(&q->set);
		mem_free(&q);
		return -1;
	}
	memset(&ts, 0, sizeof(ts));
	/* opportunistic TLS (RFC 7435) and ENCRYPT; DANE connections share
	 * q->dane, made at first use, with the TLSA records attached per
	 * connection (serve-queue-tls.c) */
	ts.verify = false;
	q->tls = tls_client_ctx_new(&ts, &error);
	if (q->tls == NULL)
		log_error("queue", "no TLS for outbound mail: %s", error);
	/* PKIX with the configured trust anchors: MTA-STS and REQUIRETLS
	 * hosts (VERIFY), the MTA-STS policy fetch (RFC 8461 3.3) */
	q->pkix = queue_tls_pkix_ctx_new(q, false, &error);
	if (q->pkix == NULL)
		log_error("queue", "no verified TLS for outbound mail: %s", error);
	else
		q->pkix_verify = queue_tls_pkix_ctx_new(q, true, &error);
	if (q->pkix != NULL && q->pkix_verify == NULL)
		log_error("queue", "no verified TLS for MTA-STS policy fetches: %s", error);
	q->timer = loop_timer_add(srv->loop, 100, queue_timer, q);
	srv->queue = q;
	return 0;
}

void
serve_queue_kick(struct server *srv)
{
	if (srv->queue != NULL)
		queue_scan(srv->queue);
}

void
serve_queue_stop(struct server *srv)
{
	struct queue_runner *q = srv->queue;

	if (q == NULL || q->stopping)
		return;
	q->stopping = true;
	loop_timer_remove(&q->timer);
	/* deliveries on the network end now (their recipients stay due); those
	 * inside a worker job are orphaned and freed by its completion */
	for (struct delivery *d = q->active, *next; d != NULL; d = next) {
		next = d->next;
		delivery_conn_free(d);
		delivery_hop_free(d);
	}
	queue_conns_close_all(q);
}

void
serve_queue_free(struct server *srv)
{
	struct queue_runner *q = srv->queue;

	if (q == NULL)
		return;
	serve_queue_stop(srv);
	/* the worker pool is gone: no completion can come any more */
	while (q->active != NULL) {
		struct delivery *d = q->active;

		delivery_unlink(d);
		delivery_free(d);
	}
	queue_conns_close_all(q);
	dns_resolver_free(&q->dns);
	transports_free(q);
	auth_free(q);
	mem_free(&q->changed_path);
	queue_settings_free_copies(&q->set);
	if (q->tls != NULL)
		tls_client_ctx_unref(&q->tls);
	if (q->pkix != NULL)
		tls_client_ctx_unref(&q->pkix);
	if (q->pkix_verify != NULL)
		tls_client_ctx_unref(&q->pkix_verify);
	queue_tls_runner_free(q);
	mem_free(&q);
	srv->queue = NULL;
}
