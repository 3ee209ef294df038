/*
 * serve-queue.c - the outbound queue's scheduler: takes due entries from
 * the store, finds each recipient's next hop (relay host, address literal,
 * or MX then A/AAAA through dns/), talks SMTP to it with the client engine
 * (smtp/smtp-client.h, STARTTLS when offered), records every recipient's
 * outcome, retries with growing backoff (queue/queue-policy.h), and once
 * every recipient of an entry is final sends one DSN for the failed ones
 * (queue/queue-dsn.h) and removes the entry.
 *
 * Flow per entry (struct delivery): a worker job loads the entry and maps
 * its body, and settles the recipients that need no network (our own
 * domains: delivered into the mailbox like SMTP does; mail loops; unknown
 * local users); then the remote recipients are grouped by next hop and
 * each hop is tried in turn on the loop: route, addresses, connect, SMTP.
 * A host that cannot be reached or fails before the transaction makes the
 * next address or MX host be tried (RFC 5321 5.1); replies to the
 * transaction are final for that hop. With opportunistic TLS (RFC 7435) a
 * STARTTLS or handshake failure makes the same address be tried again at
 * once without STARTTLS, so a broken TLS stack never holds mail up. A last worker job records the
 * outcomes (store_queue_update_rcpt), builds and queues the DSN and deletes
 * the entry when it is done. A deferred recipient whose message is older
 * than the queue lifetime is bounced instead (decided before the log line).
 *
 * Finished entries: store_queue_due only returns entries with a due
 * recipient, so an entry whose recipients are all final but which is still
 * there (a crash between recording and removal, or `posthorn queue bounce`)
 * is found by a sweep over the whole queue (store_queue_list) at start-up
 * and every QUEUE_SWEEP_SCANS scan intervals, and finished like any other.
 *
 * Crash safety (DESIGN.md 3): an outcome is recorded only after the next hop
 * replied; a crash before that leaves the recipient due, so it is sent again
 * after the restart (a duplicate when the hop had already said 250, which
 * RFC 5321 6.1 accepts). A crash after the DSN was queued but before the
 * entry was removed sends the DSN twice.
 *
 * What it does not do yet: reuse a connection for several entries, limit
 * concurrency per destination, DANE, MTA-STS, REQUIRETLS, delay notices
 * and success DSNs (NOTIFY=SUCCESS,DELAY), SMTP AUTH to a relay host.
 * Reading the body: it is mapped by a worker and read on the loop, so a
 * page fault on a cold body can stall the loop briefly.
 *
 * Log lines follow Postfix (DESIGN.md 4): "ID: to=<a>, relay=host[ip]:port,
 * delay=s, dsn=x.y.z, status=sent|deferred|bounced (text)".
 */
#include "bin/serve-queue.h"

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

#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "core/worker.h"
#include "dns/dns-resolver.h"
#include "queue/queue-dsn.h"
#include "queue/queue-policy.h"
#include "smtp/smtp-client.h"
#include "store/store.h"
#include "tls/tls.h"

#define QUEUE_SCAN_BATCH 64
#define QUEUE_SWEEP_SCANS 10    /* scan_sweep at start-up, then every this many intervals */
#define QUEUE_MAX_HOSTS 10
#define QUEUE_MAX_ADDRS 10
#define QUEUE_CONNECT_TIMEOUT_MS 30000u
#define QUEUE_BODY_CHUNK 65536u
#define QUEUE_MAX_RECEIVED 50   /* RFC 5321 6.3: more hops than this is a loop */
#define QUEUE_DSN_MAX_RETURN (1024u * 1024u)

struct queue_outcome_rec {
	bool set;
	enum store_queue_rcpt_state state;
	char dsn[16];
	char *status;
	char relay[300];
};

struct queue_hop {
	struct queue_nexthop nh;
	size_t *idx;  /* entry rcpt indices */
	size_t n;
};

struct delivery;

struct queue_runner {
	struct server *srv;
	struct loop_timer *timer;
	struct dns_resolver *dns;
	struct tls_client_ctx *tls;
	struct queue_settings set;
	struct delivery *active;
	unsigned active_count;
	bool scanning;
	bool stopping;
	bool rescan;            /* a kick arrived during a scan */
	int64_t next_sweep;     /* when scan_sweep runs again (0: at the first scan) */
};

struct delivery {
	struct queue_runner *q;        /* NULL once orphaned (stopping) */
	struct delivery *prev, *next;
	char queue_id[STORE_QUEUE_ID_MAX + 1];
	struct store_queue_entry entry;
	bool have_entry;
	uint8_t *body;                 /* mapping of the body, NULL when empty or none */
	uint64_t body_size;
	bool eightbit;
	struct queue_outcome_rec *out; /* entry.rcpt_count */
	struct queue_hop *hops;
	size_t nhops, hop;
	int64_t started;
	char *error;                   /* load failure */
	bool gone;                     /* the entry is no longer there */
	/* the hop in progress */
	struct dns_query *dnsq;
	char **hosts;
	size_t nhosts, host_i;
	bool hosts_are_literal;
	struct dns_address addrs[QUEUE_MAX_ADDRS];
	size_t naddrs, addr_i;
	char host[DNS_NAME_TEXT_MAX];
	char ip[64];
	unsigned port;
	char last_error[512];
	/* the connection */
	int fd;
	struct loop_io *cio;
	struct loop_timer *ctimer;
	struct conn *conn;
	struct smtp_client *client;
	uint64_t body_off;
	bool sent, got_results;
	bool tls_failed;               /* this connection's STARTTLS or handshake failed */
	bool retry_plain;              /* connect to the same address again without TLS */
	bool tls_plain;                /* the connection in progress does not try STARTTLS */
	/* finish job */
	bool done_all;
};

static void delivery_next_hop(struct delivery *d);
static void delivery_try_next_addr(struct delivery *d);
static void delivery_finish(struct delivery *d);
static void queue_scan(struct queue_runner *q);

static int64_t
now_secs(void)
{
	return (int64_t)time(NULL);
}

/* ---- delivery lifetime ---- */

static void
delivery_conn_free(struct delivery *d)
{
	smtp_client_free(&d->client);
	conn_free(&d->conn);
	loop_io_remove(&d->cio);
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
	}
	loop_timer_remove(&d->ctimer);
}

static void
delivery_hop_free(struct delivery *d)
{
	dns_query_cancel(&d->dnsq);
	for (size_t i = 0; i < d->nhosts; i++)
		mem_free(&d->hosts[i]);
	mem_free(&d->hosts);
	d->nhosts = d->host_i = 0;
	d->naddrs = d->addr_i = 0;
}

static void
delivery_free(struct delivery *d)
{
	delivery_conn_free(d);
	delivery_hop_free(d);
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

static void
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
static size_t
utf8_prefix_len(const char *s, size_t max)
{
	size_t len = strlen(s);

	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
		len--;
	return len;
}

static void
outcome_set(struct delivery *d, size_t i, enum store_queue_rcpt_state state, const char *dsn,
	    const char *status, const char *relay)
{
	struct queue_outcome_rec *o = &d->out[i];

	size_t len;

	if (status == NULL)
		status = "";
	/* the store takes at most STORE_QUEUE_STATUS_MAX octets (a longer text
	 * would leave the attempt unrecorded and the recipient due at once) */
	len = utf8_prefix_len(status, STORE_QUEUE_STATUS_MAX);
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
static void
hop_outcome_all(struct delivery *d, enum store_queue_rcpt_state state, const char *dsn,
		const char *status)
{
	struct queue_hop *h = &d->hops[d->hop];

	for (size_t i = 0; i < h->n; i++)
		outcome_set(d, h->idx[i], state, dsn, status, "none");
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

/* A recipient of one of our domains: deliver into the mailbox (a DSN to a
 * local sender takes this way). Returns false when the address is not ours. */
static bool
load_local_rcpt(struct delivery *d, struct server *srv, size_t i)
{
	const char *addr = d->entry.rcpts[i].address, *at = strrchr(addr, '@');
	uint64_t *ids = NULL;
	size_t n = 0;
	const char *error = NULL;
	char local[STORE_ADDRESS_MAX + 1];
	enum delivery_status st;

	if (at == NULL || (size_t)(at - addr) > STORE_LOCAL_PART_MAX || at[1] == '[')
		return false;
	memcpy(local, addr, (size_t)(at - addr));
	local[at - addr] = '\0';
	st = delivery_resolve(srv->store, &srv->delivery, local, at + 1, false, &ids, &n, &error);
	if (st == DELIVERY_NOT_LOCAL || st == DELIVERY_REMOTE_TARGET) {
		mem_free(&ids);
		return false;
	}
	if (st == DELIVERY_UNKNOWN_USER) {
		outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.1.1", "no such user here", "local");
	} else if (st == DELIVERY_LOOP) {
		outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.4.6", "alias loop", "local");
	} else if (st != DELIVERY_OK) {
		outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.3.0",
			    error != NULL ? error : "local lookup failed", "local");
	} else {
		struct store_delivery_target *t = mem_array(n, sizeof(*t));
		struct store_delivery_result *r = mem_array(n, sizeof(*r));
		struct store_blob *blob = NULL;
		int ret = -1;

		for (size_t k = 0; k < n; k++)
			t[k].account_id = ids[k];
		if (store_blob_begin(srv->store, &blob, &error) == 1 &&
		    (d->body_size == 0 || store_blob_write(blob, d->body, d->body_size) == 0))
			ret = store_deliver(srv->store, &blob, t, n, r, &error);
		else if (blob != NULL)
			store_blob_abort(&blob);
		if (ret == 1)
			outcome_set(d, i, STORE_QUEUE_RCPT_SENT, "2.0.0", "delivered to mailbox",
				    "local");
		else
			outcome_set(d, i, STORE_QUEUE_RCPT_DEFERRED, "4.3.0",
				    error != NULL ? error : "local delivery failed", "local");
		mem_free(&t);
		mem_free(&r);
	}
	mem_free(&ids);
	return true;
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

	for (size_t i = 0; i < d->entry.rcpt_count; i++) {
		const struct store_queue_rcpt *r = &d->entry.rcpts[i];
		struct queue_nexthop nh;
		size_t h;

		if (r->state == STORE_QUEUE_RCPT_SENT || r->state == STORE_QUEUE_RCPT_BOUNCED)
			continue;
		if (r->next_attempt > now)
			continue;
		if (loop) {
			outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.4.6",
				    "mail forwarding loop (too many Received: fields)", "none");
			continue;
		}
		if (load_local_rcpt(d, srv, i))
			continue;
		if (queue_nexthop_parse(r->address, &nh, &error) < 0) {
			outcome_set(d, i, STORE_QUEUE_RCPT_BOUNCED, "5.1.2", error, "none");
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

/* ---- routing ---- */

static void hop_done(struct delivery *d);

static void
addrs_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;

	d->dnsq = NULL;
	d->naddrs = d->addr_i = 0;
	if (res->status == DNS_OK) {
		for (size_t i = 0; i < res->count && d->naddrs < QUEUE_MAX_ADDRS; i++)
			d->addrs[d->naddrs++] = res->addrs[i];
	} else {
		snprintf(d->last_error, sizeof(d->last_error), "Host %.255s not found: %.200s", d->host,
			 res->error != NULL ? res->error : "no address");
	}
	dns_result_free(&res);
	delivery_try_next_addr(d);
}

/* The next host of the hop: look up its addresses (or take the literal). */
static void
delivery_try_next_host(struct delivery *d)
{
	const char *error = NULL;

	if (d->host_i >= d->nhosts) {
		/* nothing reachable: temporary (RFC 5321 4.5.4.1) */
		hop_outcome_all(d, STORE_QUEUE_RCPT_DEFERRED, "4.4.1",
				d->last_error[0] != '\0' ? d->last_error : "no host reachable");
		hop_done(d);
		return;
	}
	snprintf(d->host, sizeof(d->host), "%s", d->hosts[d->host_i++]);
	d->naddrs = d->addr_i = 0;
	if (d->hosts_are_literal) {
		struct dns_address *a = &d->addrs[0];

		memset(a, 0, sizeof(*a));
		if (inet_pton(AF_INET, d->host, &a->u.v4) == 1)
			a->family = AF_INET;
		else if (inet_pton(AF_INET6, d->host, &a->u.v6) == 1)
			a->family = AF_INET6;
		d->naddrs = a->family != 0 ? 1 : 0;
		delivery_try_next_addr(d);
		return;
	}
	d->dnsq = dns_lookup_addresses(d->q->dns, d->host, 0, addrs_done, d, &error);
	if (d->dnsq == NULL) {
		snprintf(d->last_error, sizeof(d->last_error), "bad host name %.255s: %s", d->host,
			 error);
		delivery_try_next_host(d);
	}
}

static void
mx_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;
	struct queue_hop *h = &d->hops[d->hop];
	struct queue_route route;

	d->dnsq = NULL;
	queue_route_from_mx(res, &route);
	switch (route.verdict) {
	case QUEUE_ROUTE_HOSTS:
		d->nhosts = route.count < QUEUE_MAX_HOSTS ? route.count : QUEUE_MAX_HOSTS;
		d->hosts = mem_array(d->nhosts, sizeof(*d->hosts));
		for (size_t i = 0; i < d->nhosts; i++)
			d->hosts[i] = mem_strdup(route.hosts[i]);
		break;
	case QUEUE_ROUTE_IMPLICIT:
		d->nhosts = 1;
		d->hosts = mem_array(1, sizeof(*d->hosts));
		d->hosts[0] = mem_strdup(h->nh.domain);
		break;
	case QUEUE_ROUTE_TEMPFAIL:
	case QUEUE_ROUTE_PERMFAIL: {
		char text[400];

		snprintf(text, sizeof(text), "Domain %s: %s", h->nh.domain, route.reason);
		hop_outcome_all(d, route.verdict == QUEUE_ROUTE_PERMFAIL ? STORE_QUEUE_RCPT_BOUNCED
									 : STORE_QUEUE_RCPT_DEFERRED,
				route.dsn, text);
		queue_route_deinit(&route);
		dns_result_free(&res);
		hop_done(d);
		return;
	}
	}
	queue_route_deinit(&route);
	dns_result_free(&res);
	d->host_i = 0;
	delivery_try_next_host(d);
}

/* Split "host", "host:port", "[ip]", "[ip]:port" (relayhost syntax). */
static void
relay_parse(const char *relay, char *host, size_t hsize, unsigned *port_r, bool *literal_r)
{
	const char *colon;

	*literal_r = false;
	if (relay[0] == '[') {
		const char *end = strchr(relay, ']');
		size_t n = end != NULL ? (size_t)(end - relay - 1) : strlen(relay + 1);

		snprintf(host, hsize, "%.*s", (int)n, relay + 1);
		*literal_r = true;
		colon = end != NULL && end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(relay, ':');
		snprintf(host, hsize, "%.*s", (int)(colon != NULL ? (size_t)(colon - relay)
								 : strlen(relay)), relay);
	}
	if (colon != NULL) {
		unsigned long p = strtoul(colon + 1, NULL, 10);

		if (p > 0 && p < 65536)
			*port_r = (unsigned)p;
	}
}

static void
delivery_next_hop(struct delivery *d)
{
	struct queue_runner *q = d->q;
	struct queue_hop *h;
	const char *error = NULL;

	if (d->hop >= d->nhops) {
		delivery_finish(d);
		return;
	}
	h = &d->hops[d->hop];
	delivery_hop_free(d);
	d->last_error[0] = '\0';
	d->port = q->set.port;
	d->hosts_are_literal = false;
	if (q->set.relayhost != NULL && q->set.relayhost[0] != '\0') {
		char host[DNS_NAME_TEXT_MAX];

		relay_parse(q->set.relayhost, host, sizeof(host), &d->port, &d->hosts_are_literal);
		d->nhosts = 1;
		d->hosts = mem_array(1, sizeof(*d->hosts));
		d->hosts[0] = mem_strdup(host);
		d->host_i = 0;
		delivery_try_next_host(d);
		return;
	}
	if (h->nh.literal) {
		/* RFC 5321 4.1.3: straight to the address, no DNS */
		d->hosts_are_literal = true;
		d->nhosts = 1;
		d->hosts = mem_array(1, sizeof(*d->hosts));
		d->hosts[0] = mem_strdup(h->nh.domain);
		d->host_i = 0;
		delivery_try_next_host(d);
		return;
	}
	d->dnsq = dns_lookup_mx(q->dns, h->nh.domain, mx_done, d, &error);
	if (d->dnsq == NULL) {
		char text[400];

		snprintf(text, sizeof(text), "Domain %s: %s", h->nh.domain, error);
		hop_outcome_all(d, STORE_QUEUE_RCPT_BOUNCED, "5.1.2", text);
		hop_done(d);
	}
}

static void
hop_done(struct delivery *d)
{
	delivery_conn_free(d);
	delivery_hop_free(d);
	d->hop++;
	/* from the loop, never from inside a dns or conn callback chain */
	delivery_next_hop(d);
}

/* ---- connection ---- */

static void
relay_text(struct delivery *d, char *out, size_t size)
{
	snprintf(out, size, "%.200s[%s]:%u", d->host, d->ip, d->port);
}

static void
client_io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct delivery *d = ctx;

	conn_write(d->conn, data, len);
}

static void
client_io_close(void *ctx)
{
	struct delivery *d = ctx;

	conn_close_after_flush(d->conn);
}

static void
client_io_timer(void *ctx, unsigned seconds)
{
	struct delivery *d = ctx;

	/* 0 = nothing awaited: park the timer far away */
	loop_timer_reset(d->ctimer, seconds > 0 ? (uint64_t)seconds * 1000u : 86400000u);
}

static size_t
client_io_out_pending(void *ctx)
{
	struct delivery *d = ctx;

	return conn_out_pending(d->conn);
}

static void
client_ready(struct smtp_client *c, void *ctx)
{
	struct delivery *d = ctx;
	struct queue_hop *h = &d->hops[d->hop];
	struct smtp_client_rcpt *rcpts;
	struct smtp_client_message msg;
	char envid[STORE_QUEUE_ENVID_MAX + 1];
	char (*orcpts)[STORE_QUEUE_ORCPT_MAX + 1];

	if (d->sent) {
		smtp_client_quit(c);
		return;
	}
	d->sent = true;
	rcpts = mem_array(h->n, sizeof(*rcpts));
	orcpts = mem_array(h->n, sizeof(*orcpts));
	for (size_t i = 0; i < h->n; i++) {
		const struct store_queue_rcpt *r = &d->entry.rcpts[h->idx[i]];

		rcpts[i].address = r->address;
		/* the store's NOTIFY bits are the RFC 3461 set; the engine's differ */
		if (r->notify & STORE_QUEUE_NOTIFY_NEVER)
			rcpts[i].notify = SMTP_CLIENT_NOTIFY_NEVER;
		else
			rcpts[i].notify =
				((r->notify & STORE_QUEUE_NOTIFY_SUCCESS) ? SMTP_CLIENT_NOTIFY_SUCCESS
									  : 0) |
				((r->notify & STORE_QUEUE_NOTIFY_FAILURE) ? SMTP_CLIENT_NOTIFY_FAILURE
									  : 0) |
				((r->notify & STORE_QUEUE_NOTIFY_DELAY) ? SMTP_CLIENT_NOTIFY_DELAY : 0);
		if (r->orcpt != NULL && queue_xtext_decode(r->orcpt, orcpts[i], sizeof(orcpts[i])))
			rcpts[i].orcpt = orcpts[i];
	}
	memset(&msg, 0, sizeof(msg));
	msg.sender = d->entry.sender;
	msg.rcpts = rcpts;
	msg.n_rcpts = (unsigned)h->n;
	msg.size = d->body_size;
	msg.eightbit = d->eightbit;
	msg.ret = d->entry.ret == STORE_QUEUE_RET_FULL	 ? SMTP_CLIENT_RET_FULL
		  : d->entry.ret == STORE_QUEUE_RET_HDRS ? SMTP_CLIENT_RET_HDRS
							 : SMTP_CLIENT_RET_NONE;
	if (d->entry.envid != NULL && queue_xtext_decode(d->entry.envid, envid, sizeof(envid)))
		msg.envid = envid;
	d->body_off = 0;
	smtp_client_send_message(c, &msg);
	mem_free(&rcpts);
	mem_free(&orcpts);
}

static void
client_starttls(struct smtp_client *c, void *ctx)
{
	struct delivery *d = ctx;
	struct tls_conn *t;

	if (d->q == NULL || d->q->tls == NULL) {
		smtp_client_tls_done(c, false);
		return;
	}
	t = tls_client_conn_new(d->q->tls, conn_fd(d->conn), d->host);
	conn_set_transport(d->conn, tls_conn_transport_ops(), t);
}

static void
client_body_read(struct smtp_client *c, void *ctx)
{
	struct delivery *d = ctx;
	uint64_t left = d->body_size - d->body_off;
	size_t n = left > QUEUE_BODY_CHUNK ? QUEUE_BODY_CHUNK : (size_t)left;

	d->body_off += n;
	smtp_client_body_data(c, n > 0 ? d->body + d->body_off - n : (const uint8_t *)"", n,
			      d->body_off >= d->body_size);
}

static void
client_message_done(struct smtp_client *c, void *ctx, const struct smtp_client_result *results,
		    unsigned n)
{
	struct delivery *d = ctx;
	struct queue_hop *h = &d->hops[d->hop];
	char relay[300], text[1200];
	bool all_local_temp = true;

	/* a message that failed locally and temporarily for every recipient
	 * before the server said anything about them (e.g. the connection
	 * broke): try the next host instead */
	for (unsigned i = 0; i < n; i++) {
		if (!(results[i].local && results[i].status == SMTP_CLIENT_STATUS_TEMPFAIL))
			all_local_temp = false;
	}
	if (all_local_temp && n > 0) {
		snprintf(d->last_error, sizeof(d->last_error), "%.400s", results[0].text);
		return;
	}
	d->got_results = true;
	relay_text(d, relay, sizeof(relay));
	for (unsigned i = 0; i < n && i < h->n; i++) {
		const struct smtp_client_result *r = &results[i];
		const char *dsn = NULL;
		enum queue_outcome o = queue_outcome_of(r->local ? 0 : r->code, r->enhanced, &dsn);

		if (r->local) {
			/* our own verdict (SIZE, 8BITMIME, ...): its class decides */
			o = r->status == SMTP_CLIENT_STATUS_OK		? QUEUE_OUTCOME_SENT
			    : r->status == SMTP_CLIENT_STATUS_PERMFAIL ? QUEUE_OUTCOME_BOUNCED
								       : QUEUE_OUTCOME_DEFERRED;
			dsn = r->enhanced;
		}
		if (r->local)
			snprintf(text, sizeof(text), "%s", r->text != NULL ? r->text : "");
		else
			snprintf(text, sizeof(text), "host %.200s[%s] said: %u %s %s (in reply to %s)",
				 d->host, d->ip, r->code, r->enhanced, r->text != NULL ? r->text : "",
				 smtp_client_stage_name(r->stage));
		outcome_set(d, h->idx[i],
			    o == QUEUE_OUTCOME_SENT	 ? STORE_QUEUE_RCPT_SENT
			    : o == QUEUE_OUTCOME_BOUNCED ? STORE_QUEUE_RCPT_BOUNCED
							 : STORE_QUEUE_RCPT_DEFERRED,
			    dsn, text, relay);
	}
}

static void
client_closed(struct smtp_client *c, void *ctx, const struct smtp_client_result *result)
{
	struct delivery *d = ctx;

	/* opportunistic TLS (RFC 7435) that fails must not keep the mail from
	 * going out: the same address is tried again in plain text, as Postfix
	 * does at security level "may" */
	if (!d->got_results && result->stage == SMTP_CLIENT_STAGE_STARTTLS && !d->tls_plain &&
	    d->q != NULL && d->q->set.tls == SMTP_CLIENT_TLS_OPPORTUNISTIC)
		d->tls_failed = true;
	if (!d->got_results && result->status != SMTP_CLIENT_STATUS_OK) {
		char relay[300];

		relay_text(d, relay, sizeof(relay));
		snprintf(d->last_error, sizeof(d->last_error), "%s: %.200s", relay,
			 result->text != NULL ? result->text : "connection failed");
	}
}

static const struct smtp_client_hooks client_hooks = {
	.ready = client_ready,
	.starttls = client_starttls,
	.body_read = client_body_read,
	.message_done = client_message_done,
	.closed = client_closed,
};

static const struct smtp_client_io client_io = {
	.write = client_io_write,
	.close = client_io_close,
	.timer = client_io_timer,
	.out_pending = client_io_out_pending,
};

/* The connection is over (from the loop): results, or the next address. */
static void
delivery_conn_over(void *ctx)
{
	struct delivery *d = ctx;

	delivery_conn_free(d);
	if (d->got_results) {
		hop_done(d);
		return;
	}
	if (d->tls_failed && d->addr_i > 0) {
		char safe[512];

		log_sanitize(safe, sizeof(safe), d->last_error, strlen(d->last_error));
		log_info("queue", "%s: TLS with %s[%s]:%u failed (%s): trying again without TLS",
			 d->queue_id, d->host, d->ip, d->port, safe);
		d->tls_failed = false;
		d->retry_plain = true;
		d->addr_i--;
	}
	delivery_try_next_addr(d);
}

static void
conn_cb_input(void *ctx, const uint8_t *data, size_t len)
{
	struct delivery *d = ctx;

	smtp_client_input(d->client, data, len);
}

static void
conn_cb_drained(void *ctx)
{
	struct delivery *d = ctx;

	if (d->client != NULL)
		smtp_client_output_drained(d->client);
}

static void
conn_cb_closed(void *ctx, const char *reason)
{
	struct delivery *d = ctx;

	if (d->client != NULL)
		smtp_client_disconnected(d->client, reason);
	if (d->q != NULL)
		loop_defer(d->q->srv->loop, delivery_conn_over, d);
}

static void
conn_cb_handshake_done(void *ctx)
{
	struct delivery *d = ctx;

	smtp_client_tls_done(d->client, true);
}

static const struct conn_callbacks conn_cb = {
	.input = conn_cb_input,
	.drained = conn_cb_drained,
	.closed = conn_cb_closed,
	.handshake_done = conn_cb_handshake_done,
};

static void
delivery_connected(struct delivery *d)
{
	struct smtp_client_settings set;
	struct queue_runner *q = d->q;

	loop_io_remove(&d->cio);
	d->conn = conn_new(q->srv->loop, d->fd, &conn_cb, d);
	d->fd = -1; /* the conn owns it */
	smtp_client_settings_init_default(&set);
	set.helo_name = q->srv->hostname;
	set.tls = q->tls != NULL && !d->tls_plain ? q->set.tls : SMTP_CLIENT_TLS_NONE;
	d->sent = false;
	d->got_results = false;
	d->client = smtp_client_new(&set, &client_hooks, d, &client_io, d);
	smtp_client_start(d->client);
}

static void
connect_timeout(void *ctx)
{
	struct delivery *d = ctx;

	if (d->client != NULL) {
		/* connected: the timer is the SMTP engine's (io->timer) */
		smtp_client_timeout(d->client);
		return;
	}
	snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: timed out", d->host,
		 d->ip, d->port);
	delivery_conn_free(d);
	delivery_try_next_addr(d);
}

static void
connect_ready(void *ctx, unsigned events)
{
	struct delivery *d = ctx;
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(d->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: %s", d->host,
			 d->ip, d->port, strerror(err));
		delivery_conn_free(d);
		delivery_try_next_addr(d);
		return;
	}
	delivery_connected(d);
}

/* Connect to the next address of the current host, or go on to the next
 * host when none is left. */
static void
delivery_try_next_addr(struct delivery *d)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	const struct dns_address *a;

	if (d->q == NULL || d->q->stopping)
		return;
	d->tls_plain = d->retry_plain;
	d->retry_plain = false;
	d->tls_failed = false;
	if (d->addr_i >= d->naddrs) {
		delivery_try_next_host(d);
		return;
	}
	a = &d->addrs[d->addr_i++];
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)d->port);
		sin->sin_addr = a->u.v4;
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)d->port);
		sin6->sin6_addr = a->u.v6;
		sl = sizeof(*sin6);
	}
	inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->u.v4 : (const void *)&a->u.v6,
		  d->ip, sizeof(d->ip));
	d->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0) {
		snprintf(d->last_error, sizeof(d->last_error), "socket: %s", strerror(errno));
		delivery_try_next_addr(d);
		return;
	}
	net_set_nodelay(d->fd); /* see core/net.h */
	d->ctimer = loop_timer_add(d->q->srv->loop, QUEUE_CONNECT_TIMEOUT_MS, connect_timeout, d);
	if (connect(d->fd, (struct sockaddr *)&ss, sl) == 0) {
		delivery_connected(d);
		return;
	}
	if (errno != EINPROGRESS) {
		snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: %s", d->host,
			 d->ip, d->port, strerror(errno));
		delivery_conn_free(d);
		delivery_try_next_addr(d);
		return;
	}
	d->cio = loop_io_add(d->q->srv->loop, d->fd, LOOP_WRITE, connect_ready, d);
}

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

static void
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
				 (int)utf8_prefix_len(o->status, 900), o->status);
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

/* ---- scanning ---- */

struct scan_job {
	struct queue_runner *q;
	char (*ids)[STORE_QUEUE_ID_MAX + 1];
	size_t count;
	bool sweep; /* also look for finished entries (scan_sweep) */
};

static bool
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

static void
scan_work(void *ctx)
{
	struct scan_job *job = ctx;
	struct store_queue_entry *entries = NULL;
	size_t n = 0;
	const char *error = NULL;

	if (store_queue_due(job->q->srv->store, now_secs(), QUEUE_SCAN_BATCH, &entries, &n,
			    &error) != 1) {
		log_error("queue", "cannot read the queue: %s", error);
		return;
	}
	job->ids = mem_array(n + 1, sizeof(*job->ids));
	for (size_t i = 0; i < n; i++)
		memcpy(job->ids[i], entries[i].queue_id, sizeof(job->ids[i]));
	job->count = n;
	store_queue_list_free(&entries, n);
	if (job->sweep)
		scan_sweep(job);
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

static void
scan_done(void *ctx)
{
	struct scan_job *job = ctx;
	struct queue_runner *q = job->q;

	q->scanning = false;
	for (size_t i = 0; i < job->count && !q->stopping; i++) {
		struct delivery *d;

		if (q->active_count >= q->set.max_deliveries)
			break;
		if (queue_in_flight(q, job->ids[i]))
			continue;
		d = mem_zalloc(sizeof(*d));
		d->q = q;
		d->fd = -1;
		memcpy(d->queue_id, job->ids[i], sizeof(d->queue_id));
		d->started = now_secs();
		d->next = q->active;
		if (q->active != NULL)
			q->active->prev = d;
		q->active = d;
		q->active_count++;
		worker_pool_submit(q->srv->pool, load_work, load_done, d);
	}
	mem_free(&job->ids);
	mem_free(&job);
	if (q->rescan && !q->stopping) {
		q->rescan = false;
		queue_scan(q);
	}
}

static void
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

/* ---- public ---- */

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
	memset(&ds, 0, sizeof(ds));
	ds.resolver = set->dns_resolver;
	ds.trust_anchor = set->dns_trust_anchor;
	q->dns = dns_resolver_new(srv->loop, &ds, &error);
	if (q->dns == NULL) {
		log_error("queue", "cannot start the DNS resolver: %s", error);
		mem_free(&q->set.relayhost);
		mem_free(&q);
		return -1;
	}
	memset(&ts, 0, sizeof(ts));
	ts.verify = false; /* opportunistic TLS (RFC 7435); DANE/MTA-STS come later */
	q->tls = tls_client_ctx_new(&ts, &error);
	if (q->tls == NULL)
		log_error("queue", "no TLS for outbound mail: %s", error);
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
	dns_resolver_free(&q->dns);
	mem_free(&q->set.relayhost);
	if (q->tls != NULL)
		tls_client_ctx_unref(&q->tls);
	mem_free(&q);
	srv->queue = NULL;
}
