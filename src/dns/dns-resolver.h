/*
 * dns-resolver.h - asynchronous DNS lookups on the event loop (libunbound).
 *
 * Usage (the queue's view):
 *
 *	struct dns_settings set = { .resolver = conf->dns_resolver,
 *				    .trust_anchor = conf->dns_trust_anchor };
 *	struct dns_resolver *dns = dns_resolver_new(loop, &set, &error);
 *	struct dns_query *q = dns_lookup_mx(dns, "example.org", mx_done, job, &error);
 *	...
 *	static void mx_done(void *ctx, struct dns_result *res)
 *	{   job->q = NULL;  // the handle is gone once the callback runs
 *	    switch (res->status) { case DNS_OK: res->mx[0].host ... }
 *	    dns_result_free(&res);
 *	}
 *
 * Every lookup completes exactly once, on the loop thread, through its
 * callback - unless it is cancelled first (dns_query_cancel) or the resolver
 * is freed, after which its callback is never called. A callback is never
 * run from inside the dns_lookup_*() call that started it. A lookup lasts at
 * most the settings' timeout (status DNS_TIMEOUT), whatever the upstream
 * servers do.
 *
 * DNSSEC: with a trust anchor libunbound validates every answer itself
 * (RFC 4035 5) and the result says secure, insecure or bogus; the upstream
 * resolver must then pass DNSSEC records through (any modern recursive
 * resolver does; some home routers and container DNS proxies do not, and
 * with them every answer comes back bogus = DNS_TEMPFAIL: set
 * dns_trust_anchor = none there, or point dns_resolver at a real resolver).
 *
 * What the tests show (test-dns-resolver.c, test_dnssec): with a trust
 * anchor for a zone the test server signs, its answers are secure, a record
 * whose signature does not match is bogus, and names under no anchor are
 * insecure; with the root's anchor and an upstream that cannot supply the
 * chain from the root, every answer is bogus. Not tested: NSEC/NSEC3-proven
 * negative answers (the test server does not send the proofs) and a chain
 * of DS records across a delegation.
 *
 * What it does not do: no /etc/hosts, no search domains (names are always
 * absolute), no implicit MX (RFC 5321 5.1: the queue asks for addresses when
 * the MX lookup says NODATA), no PTR/SRV yet.
 *
 * Threads: libunbound runs one background thread per resolver; every
 * function here must be called on the loop thread. Create the resolver after
 * the process has forked and dropped privileges: everything it reads
 * (resolv.conf, the trust anchor) is read by dns_resolver_new().
 */
#ifndef DNS_DNS_RESOLVER_H
#define DNS_DNS_RESOLVER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/net.h"
#include "dns/dns.h"

struct loop;
struct dns_resolver;
struct dns_query;

/* Debian's copy of the root zone's trust anchor (package dns-root-data),
 * used when dns_settings.trust_anchor is empty and this file exists. */
#define DNS_DEFAULT_TRUST_ANCHOR "/usr/share/dns/root.key"
#define DNS_DEFAULT_TIMEOUT_MSECS 20000
/* Most resolver addresses in dns_settings.resolver. */
#define DNS_RESOLVER_MAX_ADDRS NET_IP_PORT_LIST_MAX

struct dns_settings {
	/* Recursive resolvers to forward every query to: comma-separated
	 * "IP" or "IP@port" (IPv4 or IPv6 literal, port default 53).
	 * NULL or "" = the nameservers of resolv_conf. */
	const char *resolver;
	/* DNSSEC trust anchor file (zone-file DS or DNSKEY records, e.g. the
	 * root's). NULL or "" = DNS_DEFAULT_TRUST_ANCHOR when that file exists,
	 * else no validation; "none" = no validation. */
	const char *trust_anchor;
	/* Longest time one lookup may take; 0 = DNS_DEFAULT_TIMEOUT_MSECS. */
	uint64_t timeout_msecs;
	/* NULL = "/etc/resolv.conf" (for tests). A file without nameserver
	 * lines makes libunbound resolve from the root servers itself. */
	const char *resolv_conf;
};

/* Checks the syntax of dns_settings.resolver (the same rules as `posthorn
 * config check`). Returns 1 ok, -1 with *error_r (static). */
int dns_resolver_check_address(const char *text, const char **error_r);

/* Creates a resolver on loop. Returns NULL with *error_r (static text) when a
 * setting is invalid or a file cannot be read (trust anchor, resolv.conf).
 * Free with dns_resolver_free(). */
struct dns_resolver *dns_resolver_new(struct loop *loop, const struct dns_settings *settings,
				      const char **error_r);

/* Cancels every lookup still running (their callbacks are not called) and
 * frees the resolver; sets *resolver to NULL. Must not be called from inside
 * a dns callback. */
void dns_resolver_free(struct dns_resolver **resolver);

/* True when answers are DNSSEC-validated (a trust anchor is loaded). */
bool dns_resolver_validates(const struct dns_resolver *resolver);

/* Lookups still running. */
unsigned int dns_resolver_pending(const struct dns_resolver *resolver);

/* The callback of a lookup: runs on the loop thread; owns result (free it
 * with dns_result_free()). The query handle is invalid from the moment the
 * callback starts. The callback may start new lookups and cancel others. */
typedef void dns_result_cb(void *ctx, struct dns_result *result);

/* Every dns_lookup_*() returns a handle valid until its callback starts or
 * dns_query_cancel() is called, or NULL with *error_r (static text) when
 * name is not a valid name to look up (dns_name_check(); a permanent error,
 * RFC 5321 5.1 "no such domain"). A trailing dot on name is allowed. */

/* MX of name: result->mx sorted by preference, equal preferences shuffled
 * (RFC 5321 5.1); result->null_mx for RFC 7505. */
struct dns_query *dns_lookup_mx(struct dns_resolver *resolver, const char *name,
				dns_result_cb *cb, void *ctx, const char **error_r);

/* Flags of dns_lookup_addresses(). */
#define DNS_ADDR_IPV4_FIRST 0x1u /* list A before AAAA (default: AAAA first) */
#define DNS_ADDR_IPV4_ONLY 0x2u  /* ask only for A */
#define DNS_ADDR_IPV6_ONLY 0x4u  /* ask only for AAAA */

/* A and AAAA of name, asked in parallel, in one result of type
 * DNS_TYPE_ADDRESSES: addrs holds the AAAA then the A records (or A first
 * with DNS_ADDR_IPV4_FIRST), each family in the order received. status_a /
 * status_aaaa and security_a / security_aaaa tell each half (a half not
 * asked for is DNS_NODATA / insecure). The combined status is DNS_OK when
 * either half found addresses, else NXDOMAIN when either said so, else
 * TIMEOUT or TEMPFAIL when either failed, else NODATA. The combined
 * security is bogus when either half is bogus, secure when every half asked
 * is secure, else insecure. */
struct dns_query *dns_lookup_addresses(struct dns_resolver *resolver, const char *name,
				       unsigned int flags, dns_result_cb *cb, void *ctx,
				       const char **error_r);

/* One record type alone: A or AAAA (result->addrs), TXT (result->txt; e.g.
 * "_mta-sts.example.org", RFC 8461 3.1), TLSA (result->tlsa). */
struct dns_query *dns_lookup_a(struct dns_resolver *resolver, const char *name,
			       dns_result_cb *cb, void *ctx, const char **error_r);
struct dns_query *dns_lookup_aaaa(struct dns_resolver *resolver, const char *name,
				  dns_result_cb *cb, void *ctx, const char **error_r);
struct dns_query *dns_lookup_txt(struct dns_resolver *resolver, const char *name,
				 dns_result_cb *cb, void *ctx, const char **error_r);

/* TLSA records of host's TCP port: the name "_PORT._tcp.HOST" (RFC 6698 3,
 * RFC 7672 2.2). */
struct dns_query *dns_lookup_tlsa(struct dns_resolver *resolver, const char *host,
				  uint16_t port, dns_result_cb *cb, void *ctx,
				  const char **error_r);

/* Stops a lookup: its callback will not be called. Sets *query to NULL; NULL
 * is fine. Must not be called for a query whose callback has started. */
void dns_query_cancel(struct dns_query **query);

#endif
