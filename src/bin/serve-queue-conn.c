/*
 * serve-queue-conn.c - one connection to a next hop: connect with a
 * timeout, run the SMTP client engine (smtp/smtp-client.h) over it with
 * STARTTLS when offered (and a plain retry after a failed handshake under
 * opportunistic TLS, RFC 7435), feed it the mapped body, and turn its
 * per-recipient results into outcomes. A failure before the transaction
 * makes the next address or host be tried (RFC 5321 5.1).
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

	if (d->q == NULL || (t = queue_tls_conn_new(d, conn_fd(d->conn))) == NULL) {
		smtp_client_tls_done(c, false);
		return;
	}
	d->tlsc = t; /* the conn owns it from here on */
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

static void
client_closed(struct smtp_client *c, void *ctx, const struct smtp_client_result *result)
{
	struct delivery *d = ctx;

	/* opportunistic TLS (RFC 7435) that fails must not keep the mail from
	 * going out: the same address is tried again in plain text, as Postfix
	 * does at security level "may" */
	if (!d->got_results && result->stage == SMTP_CLIENT_STAGE_STARTTLS && !d->tls_plain &&
	    d->tls_need.level == QUEUE_TLS_MAY)
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
		delivery_hop_done(d);
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
	const char *reason = NULL;

	if (d->tlsc != NULL && !queue_tls_conn_ok(d, d->tlsc, &reason)) {
		char text[512];

		/* the handshake worked but the peer is not who the policy wants
		 * (RFC 7672 2.2, RFC 8461 4.2): no mail over this connection */
		snprintf(text, sizeof(text), "%.400s", reason != NULL ? reason : "TLS policy failed");
		smtp_client_tls_done(d->client, false);
		snprintf(d->last_error, sizeof(d->last_error), "%.255s[%.64s]:%u: %.170s", d->host, d->ip,
			 d->port, text);
		return;
	}
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
	switch (d->tls_need.level) {
	case QUEUE_TLS_NONE:
		set.tls = SMTP_CLIENT_TLS_NONE;
		break;
	case QUEUE_TLS_MAY:
		set.tls = q->tls != NULL && !d->tls_plain ? SMTP_CLIENT_TLS_OPPORTUNISTIC
							  : SMTP_CLIENT_TLS_NONE;
		break;
	default:
		set.tls = SMTP_CLIENT_TLS_REQUIRED;
		break;
	}
	d->tlsc = NULL;
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
void
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
	if (d->addr_i < d->naddrs) {
		queue_tls_need_clear(d);
		queue_tls_need_for_host(d);
	}
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
