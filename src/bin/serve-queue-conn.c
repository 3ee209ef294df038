/*
 * serve-queue-conn.c - connections to next hops: connect with a timeout,
 * run the SMTP client engine (smtp/smtp-client.h) over it with STARTTLS
 * when offered (and a plain retry after a failed handshake under
 * opportunistic TLS, RFC 7435), AUTH at relay hosts (RFC 4954) when
 * relayhost_auth_file is set, feed it the mapped body, and turn its
 * per-recipient results into outcomes. A failure before the transaction
 * makes the next address or host be tried (RFC 5321 5.1).
 *
 * Connection cache: a struct queue_conn outlives the delivery that opened
 * it. When a message is over and the engine is ready for another, the
 * connection waits idle (connection_cache_ms) in the runner's list for
 * the next delivery to the same host and port with the same TLS level and
 * AUTH; that one sends its message over it (the engine sends RSET first
 * when a transaction was left open, RFC 5321 4.1.1.5). A cached connection
 * that the server closed, or that fails before the transaction on reuse,
 * costs the delivery nothing: it goes on with a fresh connection to the
 * same address. Idle connections that the server closes are freed quietly.
 *
 * Destination concurrency: at most destination_concurrency connections
 * (connecting, busy or idle) to one host and port. A delivery that finds
 * no slot waits (d->waiting) without using up an address, and is resumed,
 * oldest first, when a connection to that host is freed or becomes idle.
 *
 * Invariants: qc->d and d->qc point at each other or are both NULL; a
 * queue_conn is in q->conns from creation to release; after release its
 * memory stays until a pending deferred call (over_pending) has run.
 *
 * Does not: cache connections across TLS levels or AUTH settings, keep one
 * longer than QUEUE_CONN_MAX_AGE_MS, limit the messages per connection, or
 * share connections between processes.
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
#include <time.h>
#include <unistd.h>

struct queue_conn {
	struct queue_runner *q;
	struct queue_conn *prev, *next; /* q->conns */
	struct delivery *d;             /* the delivery using it; NULL while idle */
	int fd;                         /* while connecting; then the conn owns it */
	struct loop_io *cio;
	struct loop_timer *ctimer;      /* connect timeout, then the engine's timer */
	struct loop_timer *idle_timer;
	struct conn *conn;
	struct smtp_client *client;
	struct tls_conn *tlsc;          /* the conn owns it */
	char host[DNS_NAME_TEXT_MAX];
	char ip[64];
	unsigned port;
	enum queue_tls_level tls_level;
	bool tls_plain;
	bool auth;
	bool idle;                      /* cached, ready for a message */
	bool closing;                   /* QUIT sent or closed: never reused */
	bool over_pending;              /* qconn_over is deferred */
	bool released;                  /* only the memory is left */
	unsigned messages;
	uint64_t born;                  /* loop_now() at creation */
};

/* A connection is not cached any more after this long (like Postfix's
 * smtp_connection_reuse_time_limit): a long-lived session would pin one
 * server of a pool and hide its changes (certificate, extensions). */
#define QUEUE_CONN_MAX_AGE_MS 300000u

static void client_ready(struct smtp_client *c, void *ctx);

/* ---- connection objects ---- */

static void
qconn_detach(struct queue_conn *qc)
{
	struct delivery *d = qc->d;

	if (d == NULL)
		return;
	d->qc = NULL;
	d->conn = NULL;
	d->client = NULL;
	d->tlsc = NULL;
	qc->d = NULL;
}

static void
qconn_attach(struct queue_conn *qc, struct delivery *d)
{
	qc->d = d;
	d->qc = qc;
	d->conn = qc->conn;
	d->client = qc->client;
	d->tlsc = qc->tlsc;
}

static void
delivery_resume(void *ctx)
{
	struct delivery *d = ctx;

	if (d->q == NULL || d->q->stopping || d->qc != NULL)
		return;
	delivery_try_next_addr(d);
}

/* A slot to host:port freed up (or an idle connection appeared): resume
 * the delivery that has waited longest for it. */
static void
qconn_wake(struct queue_runner *q, const char *host, unsigned port)
{
	struct delivery *best = NULL;

	for (struct delivery *d = q->active; d != NULL; d = d->next) {
		if (d->waiting && d->port == port && strcasecmp(d->host, host) == 0 &&
		    (best == NULL || d->wait_seq < best->wait_seq))
			best = d;
	}
	if (best != NULL) {
		best->waiting = false;
		loop_defer(q->srv->loop, delivery_resume, best);
	}
}

/* Close everything at once (no QUIT), leave q->conns, wake a waiter. */
static void
qconn_release(struct queue_conn *qc)
{
	struct queue_runner *q = qc->q;

	if (q == NULL)
		return;
	qconn_detach(qc);
	smtp_client_free(&qc->client);
	conn_free(&qc->conn);
	loop_io_remove(&qc->cio);
	if (qc->fd >= 0) {
		close(qc->fd);
		qc->fd = -1;
	}
	loop_timer_remove(&qc->ctimer);
	loop_timer_remove(&qc->idle_timer);
	if (qc->prev != NULL)
		qc->prev->next = qc->next;
	else
		q->conns = qc->next;
	if (qc->next != NULL)
		qc->next->prev = qc->prev;
	qc->q = NULL;
	if (!q->stopping)
		qconn_wake(q, qc->host, qc->port);
	if (qc->over_pending)
		qc->released = true;
	else
		mem_free(&qc);
}

static struct queue_conn *
qconn_new(struct delivery *d, bool auth)
{
	struct queue_runner *q = d->q;
	struct queue_conn *qc = mem_zalloc(sizeof(*qc));

	qc->q = q;
	qc->fd = -1;
	snprintf(qc->host, sizeof(qc->host), "%s", d->host);
	snprintf(qc->ip, sizeof(qc->ip), "%s", d->ip);
	qc->port = d->port;
	qc->tls_level = d->tls_need.level;
	qc->tls_plain = d->tls_plain;
	qc->auth = auth;
	qc->born = loop_now(q->srv->loop);
	qc->next = q->conns;
	if (q->conns != NULL)
		q->conns->prev = qc;
	q->conns = qc;
	qconn_attach(qc, d);
	return qc;
}

/* Connections to host:port (connecting, busy, idle or closing). */
static unsigned
qconn_count(const struct queue_runner *q, const char *host, unsigned port)
{
	unsigned n = 0;

	for (const struct queue_conn *qc = q->conns; qc != NULL; qc = qc->next) {
		if (qc->port == port && strcasecmp(qc->host, host) == 0)
			n++;
	}
	return n;
}

static struct queue_conn *
qconn_find_idle(struct queue_runner *q, const char *host, unsigned port,
		enum queue_tls_level level, bool auth, bool any_level)
{
	for (struct queue_conn *qc = q->conns; qc != NULL; qc = qc->next) {
		if (qc->idle && !qc->closing && qc->port == port &&
		    strcasecmp(qc->host, host) == 0 &&
		    (any_level || (qc->tls_level == level && qc->auth == auth)))
			return qc;
	}
	return NULL;
}

/* An idle connection is closed politely (QUIT). */
static void
qconn_quit(struct queue_conn *qc)
{
	qc->idle = false;
	qc->closing = true;
	loop_timer_remove(&qc->idle_timer);
	if (qc->client != NULL)
		smtp_client_quit(qc->client);
	else
		qconn_release(qc);
}

static void
qconn_idle_expired(void *ctx)
{
	qconn_quit(ctx);
}

/* The delivery's message is over and the engine is ready for another:
 * keep the connection for the next delivery to the same destination.
 * false when it is not to be kept. */
static bool
qconn_park(struct queue_conn *qc)
{
	struct queue_runner *q = qc->q;

	if (q == NULL || q->stopping || q->set.connection_cache_ms == 0 || qc->closing ||
	    loop_now(q->srv->loop) - qc->born > QUEUE_CONN_MAX_AGE_MS)
		return false;
	qconn_detach(qc);
	qc->idle = true;
	qc->messages++;
	qc->idle_timer = loop_timer_add(q->srv->loop, q->set.connection_cache_ms,
					qconn_idle_expired, qc);
	qconn_wake(q, qc->host, qc->port);
	return true;
}

void
delivery_conn_free(struct delivery *d)
{
	if (d->qc != NULL)
		qconn_release(d->qc);
}

void
queue_conns_close_all(struct queue_runner *q)
{
	while (q->conns != NULL)
		qconn_release(q->conns);
}

/* ---- the engine's io ---- */

static void
relay_text(struct delivery *d, char *out, size_t size)
{
	snprintf(out, size, "%.200s[%s]:%u", d->host, d->ip, d->port);
}

static void
client_io_write(void *ctx, const uint8_t *data, size_t len)
{
	struct queue_conn *qc = ctx;

	conn_write(qc->conn, data, len);
}

static void
client_io_close(void *ctx)
{
	struct queue_conn *qc = ctx;

	qc->closing = true;
	qc->idle = false;
	conn_close_after_flush(qc->conn);
}

static void
client_io_timer(void *ctx, unsigned seconds)
{
	struct queue_conn *qc = ctx;

	/* 0 = nothing awaited: park the timer far away */
	loop_timer_reset(qc->ctimer, seconds > 0 ? (uint64_t)seconds * 1000u : 86400000u);
}

static size_t
client_io_out_pending(void *ctx)
{
	struct queue_conn *qc = ctx;

	return conn_out_pending(qc->conn);
}

/* From the loop: the delivery's message went over a connection that is now
 * cached, or the connection ended. */
static void delivery_conn_over(void *ctx);

/* Does the address have an octet outside US-ASCII (RFC 6531 3.3)? */
static bool
addr_has_8bit(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return true;
	}
	return false;
}

/* RFC 8689 4.2.1 steps 3-4: a REQUIRETLS message goes only over TLS to a
 * host whose EHLO offers REQUIRETLS. When this one does not, say goodbye
 * and go on with the next host (its other addresses are the same server);
 * serve-queue-route.c bounces with 5.7.30 when no host is left. */
static bool
requiretls_offered(struct delivery *d, struct smtp_client *c)
{
	if (smtp_client_is_tls(c) &&
	    (smtp_client_get_extensions(c) & SMTP_CLIENT_EXT_REQUIRETLS) != 0)
		return true;
	snprintf(d->last_error, sizeof(d->last_error),
		 "%.255s[%s]:%u: REQUIRETLS is required, but was not offered by host", d->host,
		 d->ip, d->port);
	log_info("queue", "%s: %s", d->queue_id, d->last_error);
	queue_tls_route_get(d)->requiretls_unsupported++;
	d->addr_i = d->naddrs;
	d->reused = false; /* a fresh connection would not offer it either */
	smtp_client_quit(c);
	return false;
}

static void
client_ready(struct smtp_client *c, void *ctx)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	struct queue_hop *h;
	struct smtp_client_rcpt *rcpts;
	struct smtp_client_message msg;
	char envid[STORE_QUEUE_ENVID_MAX + 1];
	char (*orcpts)[STORE_QUEUE_ORCPT_MAX + 1];
	bool utf8;

	if (d == NULL) {
		smtp_client_quit(c);
		return;
	}
	if (d->sent) {
		/* this delivery's message is over: keep the connection for the
		 * next one to the same destination, or say goodbye */
		if (d->got_results && qconn_park(qc)) {
			loop_defer(d->q->srv->loop, delivery_conn_over, d);
			return;
		}
		smtp_client_quit(c);
		return;
	}
	if (d->entry.requiretls && !requiretls_offered(d, c))
		return;
	d->sent = true;
	h = &d->hops[d->hop];
	rcpts = mem_array(h->n, sizeof(*rcpts));
	orcpts = mem_array(h->n, sizeof(*orcpts));
	utf8 = addr_has_8bit(d->entry.sender);
	for (size_t i = 0; i < h->n; i++) {
		const struct store_queue_rcpt *r = &d->entry.rcpts[h->idx[i]];

		rcpts[i].address = r->address;
		utf8 = utf8 || addr_has_8bit(r->address);
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
	/* RFC 6531 3.4: an internationalized envelope needs SMTPUTF8; the engine
	 * fails the message (5.6.7) when the host does not offer it */
	msg.smtputf8 = utf8 || d->entry.smtputf8; /* or it came with SMTPUTF8 */
	msg.requiretls = d->entry.requiretls;
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
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	struct tls_conn *t;

	if (d == NULL || d->q == NULL || (t = queue_tls_conn_new(d, conn_fd(qc->conn))) == NULL) {
		smtp_client_tls_done(c, false);
		return;
	}
	qc->tlsc = t; /* the conn owns it from here on */
	d->tlsc = t;
	conn_set_transport(qc->conn, tls_conn_transport_ops(), t);
}

static void
client_body_read(struct smtp_client *c, void *ctx)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	uint64_t left;
	size_t n;

	if (d == NULL) {
		smtp_client_quit(c);
		return;
	}
	left = d->body_size - d->body_off;
	n = left > QUEUE_BODY_CHUNK ? QUEUE_BODY_CHUNK : (size_t)left;
	d->body_off += n;
	smtp_client_body_data(c, n > 0 ? d->body + d->body_off - n : (const uint8_t *)"", n,
			      d->body_off >= d->body_size);
}

/* The remote reply r as a status text: "host H[IP] said: CODE X.Y.Z TEXT
 * (in reply to STAGE)", cut to size. */
static void
reply_text(const struct delivery *d, const struct smtp_client_result *r, char *text,
	   size_t size)
{
	snprintf(text, size, "host %.200s[%s] said: %u %s %s (in reply to %s)", d->host, d->ip,
		 r->code, r->enhanced, r->text != NULL ? r->text : "",
		 smtp_client_stage_name(r->stage));
}

static void
client_message_done(struct smtp_client *c, void *ctx, const struct smtp_client_result *results,
		    unsigned n)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	struct queue_hop *h;
	char relay[300], text[1200];
	bool all_local_temp = true, reuse_refused = true;

	if (d == NULL)
		return;
	h = &d->hops[d->hop];
	/* a message that failed locally and temporarily for every recipient
	 * before the server said anything about them (e.g. the connection
	 * broke): try the next host instead (or, on a cached connection, a
	 * fresh one) */
	for (unsigned i = 0; i < n; i++) {
		if (!(results[i].local && results[i].status == SMTP_CLIENT_STATUS_TEMPFAIL))
			all_local_temp = false;
		if (!(results[i].status == SMTP_CLIENT_STATUS_TEMPFAIL &&
		      (results[i].stage == SMTP_CLIENT_STAGE_RSET ||
		       results[i].stage == SMTP_CLIENT_STAGE_MAIL)))
			reuse_refused = false;
	}
	if (d->reused && reuse_refused && n > 0) {
		/* a cached connection the server will not take another message
		 * on (421, 452 to MAIL): a fresh connection is tried at once */
		snprintf(d->last_error, sizeof(d->last_error), "%.400s", results[0].text);
		return;
	}
	if (all_local_temp && n > 0) {
		snprintf(d->last_error, sizeof(d->last_error), "%.400s", results[0].text);
		/* a cached connection is only blamed for trouble before the
		 * transaction got anywhere (the server had closed it, RSET or
		 * MAIL failed); later it is the host's, as on a fresh one */
		if (results[0].stage != SMTP_CLIENT_STAGE_RSET &&
		    results[0].stage != SMTP_CLIENT_STAGE_MAIL &&
		    results[0].stage != SMTP_CLIENT_STAGE_IDLE)
			d->reused = false;
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
			reply_text(d, r, text, sizeof(text));
		delivery_outcome_set(d, h->idx[i],
			    o == QUEUE_OUTCOME_SENT	 ? STORE_QUEUE_RCPT_SENT
			    : o == QUEUE_OUTCOME_BOUNCED ? STORE_QUEUE_RCPT_BOUNCED
							 : STORE_QUEUE_RCPT_DEFERRED,
			    dsn, text, relay);
		if (o == QUEUE_OUTCOME_SENT && !r->local &&
		    (smtp_client_get_extensions(c) & SMTP_CLIENT_EXT_DSN) != 0)
			d->out[h->idx[i]].remote_dsn = true;
	}
}

/* The relay refused our login (RFC 4954 6: 535 5.7.8, 454 4.7.0): every
 * recipient of the hop is deferred, like Postfix's smtp_sasl_auth_soft_bounce
 * (a configuration problem, not the message's), with the reply's status code
 * taken to class 4 (queue_outcome_of reads the reply). */
static void
delivery_auth_failed(struct delivery *d, const struct smtp_client_result *result)
{
	struct queue_hop *h = &d->hops[d->hop];
	const char *dsn = NULL;
	char code[16], relay[300], text[1200];

	(void)queue_outcome_of(result->code, result->enhanced, &dsn);
	snprintf(code, sizeof(code), "%s", dsn != NULL ? dsn : "4.7.0");
	code[0] = '4';
	relay_text(d, relay, sizeof(relay));
	reply_text(d, result, text, sizeof(text));
	for (size_t i = 0; i < h->n; i++)
		delivery_outcome_set(d, h->idx[i], STORE_QUEUE_RCPT_DEFERRED, code, text, relay);
	d->got_results = true;
}

static void
client_closed(struct smtp_client *c, void *ctx, const struct smtp_client_result *result)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;

	(void)c;
	qc->closing = true;
	qc->idle = false;
	if (d == NULL)
		return; /* an idle connection ended */
	/* opportunistic TLS (RFC 7435) that fails must not keep the mail from
	 * going out: the same address is tried again in plain text, as Postfix
	 * does at security level "may" */
	if (!d->got_results && result->stage == SMTP_CLIENT_STAGE_STARTTLS && !d->tls_plain &&
	    d->tls_need.level == QUEUE_TLS_MAY)
		d->tls_failed = true;
	if (!d->got_results && result->stage == SMTP_CLIENT_STAGE_AUTH && !result->local &&
	    result->code >= 400) {
		delivery_auth_failed(d, result);
		return;
	}
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

/* The delivery's connection is over or cached (from the loop): results,
 * a fresh connection, or the next address. */
static void
delivery_conn_over(void *ctx)
{
	struct delivery *d = ctx;

	if (d->q == NULL)
		return;
	delivery_conn_free(d);
	if (d->got_results) {
		delivery_hop_done(d);
		return;
	}
	if (d->reused) {
		char safe[512];

		/* the server closed the cached connection or it broke before the
		 * transaction: not the host's fault, take a new connection */
		log_sanitize(safe, sizeof(safe), d->last_error, strlen(d->last_error));
		log_info("queue",
			 "%s: cached connection to %s[%s]:%u failed (%s): connecting again",
			 d->queue_id, d->host, d->ip, d->port, safe);
		d->reused = false;
		d->tls_failed = false;
		d->retry_plain = d->tls_plain;
		if (d->addr_i > 0)
			d->addr_i--;
		delivery_try_next_addr(d);
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

/* The connection ended (from the loop). */
static void
qconn_over(void *ctx)
{
	struct queue_conn *qc = ctx;
	struct delivery *d;

	qc->over_pending = false;
	if (qc->released) {
		mem_free(&qc);
		return;
	}
	d = qc->d;
	qconn_release(qc);
	if (d != NULL)
		delivery_conn_over(d);
}

static void
conn_cb_input(void *ctx, const uint8_t *data, size_t len)
{
	struct queue_conn *qc = ctx;

	if (qc->client != NULL)
		smtp_client_input(qc->client, data, len);
}

static void
conn_cb_drained(void *ctx)
{
	struct queue_conn *qc = ctx;

	if (qc->client != NULL)
		smtp_client_output_drained(qc->client);
}

static void
conn_cb_closed(void *ctx, const char *reason)
{
	struct queue_conn *qc = ctx;

	qc->closing = true;
	qc->idle = false;
	if (qc->client != NULL)
		smtp_client_disconnected(qc->client, reason);
	if (qc->q != NULL && !qc->over_pending) {
		qc->over_pending = true;
		loop_defer(qc->q->srv->loop, qconn_over, qc);
	}
}

static void
conn_cb_handshake_done(void *ctx)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	const char *reason = NULL;

	if (d == NULL) {
		smtp_client_tls_done(qc->client, false);
		return;
	}
	if (qc->tlsc != NULL && !queue_tls_conn_ok(d, qc->tlsc, &reason)) {
		char text[512];

		/* the handshake worked but the peer is not who the policy wants
		 * (RFC 7672 2.2, RFC 8461 4.2): no mail over this connection */
		snprintf(text, sizeof(text), "%.400s", reason != NULL ? reason : "TLS policy failed");
		smtp_client_tls_done(qc->client, false);
		snprintf(d->last_error, sizeof(d->last_error), "%.255s[%.64s]:%u: %.170s", d->host, d->ip,
			 d->port, text);
		return;
	}
	smtp_client_tls_done(qc->client, true);
}

static const struct conn_callbacks conn_cb = {
	.input = conn_cb_input,
	.drained = conn_cb_drained,
	.closed = conn_cb_closed,
	.handshake_done = conn_cb_handshake_done,
};

static void
qconn_connected(struct queue_conn *qc)
{
	struct smtp_client_settings set;
	struct queue_runner *q = qc->q;
	struct delivery *d = qc->d;

	loop_io_remove(&qc->cio);
	qc->conn = conn_new(q->srv->loop, qc->fd, &conn_cb, qc);
	qc->fd = -1; /* the conn owns it */
	smtp_client_settings_init_default(&set);
	set.helo_name = q->srv->hostname;
	switch (qc->tls_level) {
	case QUEUE_TLS_NONE:
		set.tls = SMTP_CLIENT_TLS_NONE;
		break;
	case QUEUE_TLS_MAY:
		set.tls = q->tls != NULL && !qc->tls_plain ? SMTP_CLIENT_TLS_OPPORTUNISTIC
							   : SMTP_CLIENT_TLS_NONE;
		break;
	default:
		set.tls = SMTP_CLIENT_TLS_REQUIRED;
		break;
	}
	if (qc->auth) {
		/* RFC 4954 4: never in plain text over the network (the engine
		 * refuses without TLS); a relay on this machine is the exception */
		set.auth_user = q->auth_user;
		set.auth_password = q->auth_password;
		/* credentials may go in plain text over loopback only */
		set.auth_plaintext_allowed = net_ip_is_loopback(qc->ip);
	}
	qc->tlsc = NULL;
	qc->client = smtp_client_new(&set, &client_hooks, qc, &client_io, qc);
	if (d != NULL) {
		d->tlsc = NULL;
		d->sent = false;
		d->got_results = false;
		d->conn = qc->conn;
		d->client = qc->client;
	}
	smtp_client_start(qc->client);
}

/* A connection attempt failed (d->last_error says how): one info line per
 * attempt, as Postfix logs it ("ID: connect to HOST[IP]:PORT: REASON"), so
 * that the log shows every host tried before the one that took the mail. */
static void
connect_failed_log(const struct delivery *d)
{
	char safe[512];

	log_sanitize(safe, sizeof(safe), d->last_error, strlen(d->last_error));
	log_info("queue", "%s: %s", d->queue_id, safe);
}

static void
connect_timeout(void *ctx)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;

	if (qc->client != NULL) {
		/* connected: the timer is the SMTP engine's (io->timer) */
		smtp_client_timeout(qc->client);
		return;
	}
	qconn_release(qc);
	if (d == NULL)
		return;
	snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: timed out", d->host,
		 d->ip, d->port);
	connect_failed_log(d);
	delivery_try_next_addr(d);
}

static void
connect_ready(void *ctx, unsigned events)
{
	struct queue_conn *qc = ctx;
	struct delivery *d = qc->d;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (getsockopt(qc->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		qconn_release(qc);
		if (d == NULL)
			return;
		snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: %s", d->host,
			 d->ip, d->port, strerror(err));
		connect_failed_log(d);
		delivery_try_next_addr(d);
		return;
	}
	qconn_connected(qc);
}

/* Send the delivery's message over a cached connection. */
static void
qconn_take(struct queue_conn *qc, struct delivery *d)
{
	loop_timer_remove(&qc->idle_timer);
	qc->idle = false;
	qconn_attach(qc, d);
	snprintf(d->ip, sizeof(d->ip), "%s", qc->ip);
	d->sent = false;
	d->got_results = false;
	d->reused = true;
	/* it stands for the host's next address: a failure that is the host's
	 * moves on like one on a fresh connection (delivery_conn_over) */
	d->addr_i++;
	client_ready(qc->client, qc);
}

/* Connect to the next address of the current host, or go on to the next
 * host when none is left; a cached connection to the host is taken first,
 * and without a free slot (destination_concurrency) the delivery waits. */
void
delivery_try_next_addr(struct delivery *d)
{
	struct queue_runner *q = d->q;
	struct sockaddr_storage ss;
	socklen_t sl;
	const struct dns_address *a;
	struct queue_conn *qc;
	bool auth;
	unsigned limit;

	if (q == NULL || q->stopping)
		return;
	d->tls_plain = d->retry_plain;
	d->retry_plain = false;
	d->tls_failed = false;
	d->reused = false;
	if (d->addr_i >= d->naddrs) {
		delivery_try_next_host(d);
		return;
	}
	queue_tls_need_clear(d);
	queue_tls_need_for_host(d);
	auth = d->via_relay && q->auth_user != NULL;
	qc = qconn_find_idle(q, d->host, d->port, d->tls_need.level, auth, false);
	if (qc != NULL) {
		qconn_take(qc, d);
		return;
	}
	limit = q->set.destination_concurrency > 0 ? q->set.destination_concurrency : 1;
	if (qconn_count(q, d->host, d->port) >= limit) {
		/* no slot: an idle connection of another kind makes room, else wait
		 * (the address is not used up) */
		qc = qconn_find_idle(q, d->host, d->port, d->tls_need.level, auth, true);
		if (qc != NULL)
			qconn_quit(qc);
		d->waiting = true;
		d->wait_seq = ++q->wait_seq;
		d->retry_plain = d->tls_plain;
		/* it holds no queue_max_deliveries place while it waits
		 * (serve-queue.c, queue_has_room) */
		log_debug("queue", "%s: waiting for a connection slot to %s:%u", d->queue_id,
			  d->host, d->port);
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
	qc = qconn_new(d, auth);
	qc->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (qc->fd < 0) {
		snprintf(d->last_error, sizeof(d->last_error), "socket: %s", strerror(errno));
		qconn_release(qc);
		delivery_try_next_addr(d);
		return;
	}
	net_set_nodelay(qc->fd); /* see core/net.h */
	qc->ctimer = loop_timer_add(q->srv->loop, QUEUE_CONNECT_TIMEOUT_MS, connect_timeout, qc);
	if (connect(qc->fd, (struct sockaddr *)&ss, sl) == 0) {
		qconn_connected(qc);
		return;
	}
	if (errno != EINPROGRESS) {
		snprintf(d->last_error, sizeof(d->last_error), "connect to %.255s[%s]:%u: %s", d->host,
			 d->ip, d->port, strerror(errno));
		connect_failed_log(d);
		qconn_release(qc);
		delivery_try_next_addr(d);
		return;
	}
	qc->cio = loop_io_add(q->srv->loop, qc->fd, LOOP_WRITE, connect_ready, qc);
}
