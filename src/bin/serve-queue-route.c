/*
 * serve-queue-route.c - the next hop of a group of recipients: the relay
 * host, an address literal, or the MX hosts of the domain (implicit MX
 * when there is none, null MX bounced, RFC 5321 5.1, RFC 7505) and their
 * addresses, through dns/. Hosts are tried in order by
 * serve-queue-conn.c. Does not connect or talk SMTP.
 *
 * DANE (RFC 7672 2.2): the DNSSEC state of the MX RRset and of each host's
 * addresses is noted (serve-queue-tls.h); when both are secure and
 * smtp_dane is on, the host's TLSA RRset (_PORT._tcp.HOST) is looked up
 * after its addresses, before the first connection. A TLSA lookup that
 * fails or comes back bogus makes the host unusable (RFC 7672 2.1.1: the
 * next host is tried, the hop deferred when none is left); an insecure or
 * negative answer means no DANE. serve-queue-tls.c decides the level.
 *
 * Hosts that do not exist: a host whose A and AAAA lookups both answer
 * NXDOMAIN or NODATA is counted (queue_tls_route.dns_notfound); when every
 * host of an MX hop (or its implicit MX) ended that way the hop's
 * recipients bounce with 5.4.4 (RFC 3463; Postfix "Host or domain name not
 * found") instead of being deferred for the queue's lifetime. Any other
 * failure (SERVFAIL, timeout, connection) among the hosts keeps the
 * deferral; a relay host never bounces for it (configuration error).
 * Every failed host lookup is logged at info level.
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

/* ---- routing ---- */

/* The host's addresses (and TLSA records) are known: connect, unless
 * REQUIRETLS rules the host out (RFC 8689 4.2.1: then the next host). */
static void
host_go(struct delivery *d)
{
	const char *why = NULL;

	if (!queue_tls_requiretls_ok(d, &why)) {
		snprintf(d->last_error, sizeof(d->last_error), "%.255s: %s", d->host, why);
		log_info("queue", "%s: %s", d->queue_id, d->last_error);
		queue_tls_route_get(d)->requiretls_refused++;
		d->naddrs = d->addr_i = 0;
		delivery_try_next_host(d);
		return;
	}
	delivery_try_next_addr(d);
}


static void
tlsa_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;

	d->dnsq = NULL;
	if (res->status == DNS_TEMPFAIL || res->status == DNS_TIMEOUT ||
	    res->security == DNS_SEC_BOGUS) {
		/* RFC 7672 2.1.1: a host whose TLSA records cannot be known
		 * gets no mail (neither in plain text nor with unauthenticated
		 * TLS): try the next host, defer when none is left */
		snprintf(d->last_error, sizeof(d->last_error),
			 "TLSA lookup for _%u._tcp.%.255s failed (%s, %s): host skipped (RFC 7672 "
			 "2.1.1)",
			 d->port, d->host, dns_status_name(res->status),
			 dns_security_name(res->security));
		log_info("queue", "%s: %s", d->queue_id, d->last_error);
		d->naddrs = d->addr_i = 0;
		dns_result_free(&res);
		delivery_try_next_host(d);
		return;
	}
	queue_tls_route_set_tlsa(d, res);
	if (d->tls_route->ntlsa > 0)
		log_debug("queue", "%s: %s: %zu usable TLSA record(s): DANE", d->queue_id, d->host,
			  d->tls_route->ntlsa);
	else if (d->tls_route->tlsa_unusable)
		log_info("queue", "%s: %s: TLSA records, none usable: TLS required, "
			 "unauthenticated (RFC 7672 2.2)", d->queue_id, d->host);
	dns_result_free(&res);
	host_go(d);
}

/* The addresses' DNSSEC state (RFC 7672 2.2.2): every half that found
 * records must be secure (a negative half of a signed zone may come back
 * bogus from a server without NSEC proofs; it holds no data we use). */
static bool
addrs_secure(const struct dns_result *res)
{
	bool any = false;

	if (res->type != DNS_TYPE_ADDRESSES)
		return res->status == DNS_OK && res->security == DNS_SEC_SECURE;
	if (res->status_a == DNS_OK) {
		if (res->security_a != DNS_SEC_SECURE)
			return false;
		any = true;
	}
	if (res->status_aaaa == DNS_OK) {
		if (res->security_aaaa != DNS_SEC_SECURE)
			return false;
		any = true;
	}
	return any;
}

/* Start the TLSA lookup of the current host when DANE applies to it (1),
 * else 0. */
static int
host_tlsa_start(struct delivery *d, bool secure)
{
	struct queue_tls_route *r = d->tls_route;
	const char *error = NULL;

	if (!d->q->set.dane || r == NULL || !r->mx_secure || !secure || d->hosts_are_literal ||
	    !dns_resolver_validates(d->q->dns))
		return 0;
	d->dnsq = dns_lookup_tlsa(d->q->dns, d->host, (uint16_t)d->port, tlsa_done, d, &error);
	return d->dnsq != NULL ? 1 : 0;
}

/* Did the address lookup say, for good, that the host has no address: each
 * half NXDOMAIN or NODATA (not SERVFAIL, a timeout or a bogus answer, which
 * may pass)? */
static bool
addrs_none(const struct dns_result *res)
{
	if (res->type != DNS_TYPE_ADDRESSES)
		return res->status == DNS_NXDOMAIN || res->status == DNS_NODATA;
	return (res->status_a == DNS_NXDOMAIN || res->status_a == DNS_NODATA) &&
	       (res->status_aaaa == DNS_NXDOMAIN || res->status_aaaa == DNS_NODATA);
}

static void
addrs_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;
	bool secure = addrs_secure(res);

	d->dnsq = NULL;
	d->naddrs = d->addr_i = 0;
	if (res->status == DNS_OK) {
		for (size_t i = 0; i < res->count && d->naddrs < QUEUE_MAX_ADDRS; i++)
			d->addrs[d->naddrs++] = res->addrs[i];
	} else if (addrs_none(res)) {
		/* an authoritative "no such host" (both halves): counted, the hop
		 * bounces when every host ends like this (delivery_try_next_host) */
		bool nx = res->status == DNS_NXDOMAIN;

		queue_tls_route_get(d)->dns_notfound++;
		snprintf(d->last_error, sizeof(d->last_error),
			 "Host or domain name not found. Name service error for name=%.255s "
			 "type=A: %s", d->host,
			 nx ? "Host not found" : "Host found but no data record of requested type");
		log_info("queue", "%s: %s", d->queue_id, d->last_error);
	} else {
		snprintf(d->last_error, sizeof(d->last_error), "Host %.255s not found: %.200s", d->host,
			 res->error != NULL ? res->error : "no address");
	}
	dns_result_free(&res);
	if (d->naddrs > 0 && host_tlsa_start(d, secure) == 1)
		return;
	host_go(d);
}

/* The next host of the hop: look up its addresses (or take the literal). */
void
delivery_try_next_host(struct delivery *d)
{
	const char *error = NULL;

	if (d->host_i >= d->nhosts && d->nhosts > 0 && d->tls_route != NULL &&
	    d->tls_route->requiretls_refused + d->tls_route->requiretls_unsupported >=
		    d->nhosts) {
		/* RFC 8689 4.2.1-4.2.2: no host can take it with the TLS it
		 * requires; waiting does not change that. 5.7.30 when some host
		 * lacked the extension (RFC 8689 7.3), else 5.7.10 */
		delivery_outcome_all(d, STORE_QUEUE_RCPT_BOUNCED,
				     d->tls_route->requiretls_unsupported > 0 ? "5.7.30" : "5.7.10",
				     d->last_error);
		delivery_hop_done(d);
		return;
	}
	if (d->host_i >= d->nhosts && d->nhosts > 0 && d->tls_route != NULL &&
	    d->tls_route->dns_notfound >= d->nhosts && !d->via_relay && !d->hosts_are_literal) {
		/* every MX host (or the implicit MX) authoritatively has no
		 * address: waiting does not help (RFC 5321 5.1: no usable host;
		 * Postfix bounces "Host or domain name not found", RFC 3463
		 * 5.4.4). A relay host that does not resolve is a configuration
		 * error: deferred below */
		delivery_outcome_all(d, STORE_QUEUE_RCPT_BOUNCED, "5.4.4", d->last_error);
		delivery_hop_done(d);
		return;
	}
	if (d->host_i >= d->nhosts) {
		/* nothing reachable: temporary (RFC 5321 4.5.4.1) */
		delivery_outcome_all(d, STORE_QUEUE_RCPT_DEFERRED, "4.4.1",
				d->last_error[0] != '\0' ? d->last_error : "no host reachable");
		delivery_hop_done(d);
		return;
	}
	snprintf(d->host, sizeof(d->host), "%s", d->hosts[d->host_i++]);
	d->naddrs = d->addr_i = 0;
	queue_tls_route_host_reset(d);
	if (d->hosts_are_literal) {
		struct dns_address *a = &d->addrs[0];

		memset(a, 0, sizeof(*a));
		if (inet_pton(AF_INET, d->host, &a->u.v4) == 1)
			a->family = AF_INET;
		else if (inet_pton(AF_INET6, d->host, &a->u.v6) == 1)
			a->family = AF_INET6;
		d->naddrs = a->family != 0 ? 1 : 0;
		host_go(d);
		return;
	}
	d->dnsq = dns_lookup_addresses(d->q->dns, d->host, 0, addrs_done, d, &error);
	if (d->dnsq == NULL) {
		snprintf(d->last_error, sizeof(d->last_error), "bad host name %.255s: %s", d->host,
			 error);
		log_info("queue", "%s: %s", d->queue_id, d->last_error);
		queue_tls_route_get(d)->dns_notfound++; /* no such host either */
		delivery_try_next_host(d);
	}
}

/* The MX hosts to try (RFC 8461 4.1): with an MTA-STS policy in enforce
 * mode only those matching one of its mx patterns (none: the hop is
 * deferred, 5: "MUST NOT deliver the message to hosts that fail MX
 * matching"); in testing mode every host, the mismatches logged. The
 * implicit MX (RFC 5321 5.1: the domain itself, as if named by an MX
 * record) is a candidate like any other: RFC 8461 has no exception for it,
 * so it must match the policy too. 1 hosts set, -1 outcomes set
 * (deferred). */
static int
mx_sts_filter(struct delivery *d, const char *const *hosts, size_t count, bool implicit)
{
	const struct queue_sts_policy *sts = d->tls_route != NULL ? d->tls_route->sts : NULL;
	struct queue_hop *h = &d->hops[d->hop];
	size_t max = count < QUEUE_MAX_HOSTS ? count : QUEUE_MAX_HOSTS;
	const char *what = implicit ? "Implicit MX" : "MX";

	d->hosts = mem_array(max > 0 ? max : 1, sizeof(*d->hosts));
	d->nhosts = 0;
	for (size_t i = 0; i < count && d->nhosts < max; i++) {
		bool match = sts == NULL || sts->mode == QUEUE_STS_MODE_NONE ||
			     queue_sts_mx_match(sts, hosts[i]);

		if (!match && sts->mode == QUEUE_STS_MODE_ENFORCE) {
			log_info("queue", "%s: %s %s of %s is not in its MTA-STS policy: not used",
				 d->queue_id, what, hosts[i], h->nh.domain);
			continue;
		}
		if (!match)
			log_info("queue", "%s: %s %s of %s is not in its MTA-STS policy (testing "
				 "mode: used)", d->queue_id, what, hosts[i], h->nh.domain);
		d->hosts[d->nhosts++] = mem_strdup(hosts[i]);
	}
	if (d->nhosts == 0) {
		char text[400];

		if (implicit)
			snprintf(text, sizeof(text), "Domain %s: no MX records, and the domain "
				 "itself (implicit MX) is not in its MTA-STS policy (RFC 8461 4.1, "
				 "5)", h->nh.domain);
		else
			snprintf(text, sizeof(text), "Domain %s: no MX host matches its MTA-STS "
				 "policy (RFC 8461 5.1)", h->nh.domain);
		delivery_outcome_all(d, STORE_QUEUE_RCPT_DEFERRED, "4.7.5", text);
		return -1;
	}
	return 1;
}

static void
mx_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;
	struct queue_hop *h = &d->hops[d->hop];
	struct queue_route route;

	d->dnsq = NULL;
	queue_route_from_mx(res, &route);
	/* RFC 7672 2.2.1: DANE only under a secure MX RRset (or a secure
	 * denial of one, for the implicit MX) */
	queue_tls_route_get(d)->mx_secure = res->security == DNS_SEC_SECURE;
	switch (route.verdict) {
	case QUEUE_ROUTE_HOSTS:
	case QUEUE_ROUTE_IMPLICIT: {
		const char *implicit[1] = { h->nh.domain };
		bool is_implicit = route.verdict == QUEUE_ROUTE_IMPLICIT;

		if (mx_sts_filter(d, is_implicit ? implicit : route.hosts,
				  is_implicit ? 1 : route.count, is_implicit) < 0) {
			queue_route_deinit(&route);
			dns_result_free(&res);
			delivery_hop_done(d);
			return;
		}
		break;
	}
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

	if (d->hop >= d->nhops) {
		delivery_finish(d);
		return;
	}
	h = &d->hops[d->hop];
	delivery_hop_free(d);
	queue_tls_route_free(d);
	d->last_error[0] = '\0';
	d->port = q->set.port;
	d->hosts_are_literal = false;
	/* transport_map, then relayhost (serve-queue.c); sets d->via_relay */
	const char *relay = queue_relay_for_hop(d);

	if (relay != NULL) {
		char host[DNS_NAME_TEXT_MAX];

		relay_parse(relay, host, sizeof(host), &d->port, &d->hosts_are_literal);
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
	/* MTA-STS first (serve-queue-sts.c), which then calls delivery_lookup_mx */
	queue_sts_hop_start(d);
}

void
delivery_lookup_mx(struct delivery *d)
{
	struct queue_hop *h = &d->hops[d->hop];
	const char *error = NULL;

	d->dnsq = dns_lookup_mx(d->q->dns, h->nh.domain, mx_done, d, &error);
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
