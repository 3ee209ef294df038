/*
 * dns.h - the dns/ folder: DNS lookups for outbound delivery, and the
 * result types every lookup hands back.
 *
 * The folder (a lower layer beside tls/ conf/ mime/; it uses only core/):
 *   dns.h           this overview; result types shared by the files below
 *   dns-name.c/.h   pure: query-name syntax checks, wire name -> text
 *   dns-rdata.c/.h  pure: RDATA parsers for MX, A, AAAA, TLSA, TXT; MX sort
 *   dns-result.c/.h records -> struct dns_result; dns_result_free()
 *   dns-resolver.c/.h  the asynchronous resolver on the event loop
 *                   (libunbound; dns_lookup_mx(), dns_lookup_addresses(), ...)
 *
 * What it does: asks a recursive resolver (dns_resolver in posthorn.conf, or
 * the ones of /etc/resolv.conf), validates DNSSEC itself with libunbound when
 * a trust anchor is configured, parses every answer into the structs below
 * and completes on the loop thread through a callback.
 *
 * What it does not do: no policy. The implicit MX of RFC 5321 5.1 (no MX ->
 * the domain's own A/AAAA), which host to try next, DANE matching (RFC 7672)
 * and MTA-STS policy are the queue's job; SPF/DMARC record parsing belongs
 * to mailauth/. It never blocks the loop and never reads a file after
 * dns_resolver_new().
 *
 * Tests: test-dns-rdata (pure parts), fuzz-dns-rdata, and test-dns-resolver,
 * which runs the resolver against tests/dnsserver.py (a Python test DNS
 * server on loopback that later queue tests use too; see its header).
 *
 * Names in results are text in presentation form: lower-case ASCII, no
 * trailing dot (the root is "."), bytes other than letters, digits, '-' and
 * '_' written as "\DDD" and a '.' inside a label as "\." (RFC 1035 5.1), so
 * that a hostile name can never be mistaken for another one.
 */
#ifndef DNS_DNS_H
#define DNS_DNS_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longest name in presentation form with every byte escaped as \DDD
 * (255 wire bytes), plus the NUL. */
#define DNS_NAME_TEXT_MAX 1024

/* What a lookup found. The queue maps these to its decisions (RFC 5321
 * 4.5.4.1, RFC 7505, RFC 7672 2.1): NXDOMAIN and NODATA are final answers;
 * TEMPFAIL and TIMEOUT mean "try again later". */
enum dns_status {
	DNS_OK,       /* at least one record of the asked type */
	DNS_NXDOMAIN, /* RCODE 3: the name does not exist */
	DNS_NODATA,   /* the name exists but has no record of the type */
	DNS_TEMPFAIL, /* SERVFAIL, REFUSED, network trouble, DNSSEC bogus, bad RDATA */
	DNS_TIMEOUT,  /* no answer within the resolver's timeout */
};

/* DNSSEC state of an answer (RFC 4035 4.3). Without a trust anchor every
 * answer is DNS_SEC_INSECURE. A bogus answer always has status TEMPFAIL and no
 * records: its data must not be used (RFC 7672 2.1.1). (The A+AAAA pair of
 * dns_lookup_addresses() is bogus when either half is, and may then still
 * hold the other half's addresses: see security_a / security_aaaa.) */
enum dns_security {
	DNS_SEC_INSECURE,
	DNS_SEC_SECURE,
	DNS_SEC_BOGUS,
};

/* Record types the resolver asks for (IANA values); DNS_TYPE_ADDRESSES is
 * the A+AAAA pair of dns_lookup_addresses(). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_MX = 15,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_TLSA = 52,
	DNS_TYPE_ADDRESSES = 0x10000,
};

/* One MX (RFC 1035 3.3.9). host is in presentation form ("." for the null
 * MX target). */
struct dns_mx {
	uint16_t preference;
	char *host;
};

/* One A or AAAA record. */
struct dns_address {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

/* One TLSA record (RFC 6698 2.1), as published: checking that usage,
 * selector and mtype are known and that the data length fits the matching
 * type is the DANE code's job (RFC 7671 5). data is NULL when data_len is 0. */
struct dns_tlsa {
	uint8_t usage;
	uint8_t selector;
	uint8_t mtype;
	uint8_t *data;
	size_t data_len;
};

/* A byte string (may hold NUL bytes); data is also NUL-terminated. */
struct dns_bytes {
	uint8_t *data;
	size_t len;
};

/* One TXT record (RFC 1035 3.3.14): its character-strings, and all of them
 * concatenated without separators (as SPF, RFC 7208 3.3, and DMARC read it). */
struct dns_txt {
	size_t nstrings;
	struct dns_bytes *strings;
	struct dns_bytes joined;
};

/* The result of one lookup. Handed to the callback, which owns it and frees
 * it with dns_result_free(). Exactly one of the record arrays (the one of
 * type) is used; it is NULL and count is 0 unless status is DNS_OK. */
struct dns_result {
	enum dns_type type;
	enum dns_status status;
	enum dns_security security;
	int rcode;        /* RCODE received (0, 2 SERVFAIL, 3 NXDOMAIN, ...); -1 none */
	char *qname;      /* the name asked, presentation form */
	char *canonical;  /* the name the records belong to after CNAMEs; == qname text if none */
	uint32_t ttl;     /* of the answer (0 when not DNS_OK) */
	char *error;      /* NULL when status is DNS_OK/NXDOMAIN/NODATA; else why */

	size_t count;
	struct dns_mx *mx;          /* DNS_TYPE_MX: sorted, see dns_mx_sort() */
	bool null_mx;               /* DNS_TYPE_MX: RFC 7505 null MX (count 1, "." pref 0) */
	struct dns_address *addrs;  /* DNS_TYPE_A, _AAAA, _ADDRESSES */
	struct dns_tlsa *tlsa;      /* DNS_TYPE_TLSA */
	struct dns_txt *txt;        /* DNS_TYPE_TXT */

	/* DNS_TYPE_ADDRESSES: the two lookups it combined. */
	enum dns_status status_a, status_aaaa;
	enum dns_security security_a, security_aaaa;
};

/* Frees *result and everything it holds; sets *result to NULL. NULL is fine. */
void dns_result_free(struct dns_result **result);

/* Static names for logs: "ok", "nxdomain", "nodata", "tempfail", "timeout";
 * "insecure", "secure", "bogus". */
const char *dns_status_name(enum dns_status status);
const char *dns_security_name(enum dns_security security);

#endif
