/*
 * serve-queue-route.c - the next hop of a group of recipients: the relay
 * host, an address literal, or the MX hosts of the domain (implicit MX
 * when there is none, null MX bounced, RFC 5321 5.1, RFC 7505) and their
 * addresses, through dns/. Hosts are tried in order by
 * serve-queue-conn.c. Does not connect or talk SMTP.
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

/* ---- routing ---- */


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
void
delivery_try_next_host(struct delivery *d)
{
	const char *error = NULL;

	if (d->host_i >= d->nhosts) {
		/* nothing reachable: temporary (RFC 5321 4.5.4.1) */
		delivery_outcome_all(d, STORE_QUEUE_RCPT_DEFERRED, "4.4.1",
				d->last_error[0] != '\0' ? d->last_error : "no host reachable");
		delivery_hop_done(d);
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
		delivery_outcome_all(d, route.verdict == QUEUE_ROUTE_PERMFAIL ? STORE_QUEUE_RCPT_BOUNCED
									 : STORE_QUEUE_RCPT_DEFERRED,
				route.dsn, text);
		queue_route_deinit(&route);
		dns_result_free(&res);
		delivery_hop_done(d);
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

void
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
		delivery_outcome_all(d, STORE_QUEUE_RCPT_BOUNCED, "5.1.2", text);
		delivery_hop_done(d);
	}
}

void
delivery_hop_done(struct delivery *d)
{
	delivery_conn_free(d);
	delivery_hop_free(d);
	d->hop++;
	/* from the loop, never from inside a dns or conn callback chain */
	delivery_next_hop(d);
}
