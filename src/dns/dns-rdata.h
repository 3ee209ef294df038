/*
 * dns-rdata.h - parsers of the RDATA of the record types delivery needs, and
 * the MX ordering of RFC 5321 5.1.
 *
 * Each parser takes one record's RDATA (the bytes after RDLENGTH, as
 * libunbound's ub_result->data[i] gives them: uncompressed) and fills one
 * struct of dns.h. The whole RDATA must be consumed: trailing bytes are an
 * error. Pure: no I/O, no logging, no globals; they allocate (core/mem.h)
 * what the struct points to, freed by the matching _deinit function.
 *
 * Return contract of every parser: 1 parsed (free with the _deinit function),
 * -1 malformed with *error_r (static text) and nothing allocated.
 */
#ifndef DNS_DNS_RDATA_H
#define DNS_DNS_RDATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

/* MX (RFC 1035 3.3.9): 16-bit preference and an exchange name. */
int dns_rdata_parse_mx(const uint8_t *rdata, size_t len, struct dns_mx *mx_r,
		       const char **error_r);
void dns_mx_deinit(struct dns_mx *mx);

/* A (RFC 1035 3.4.1, 4 bytes) and AAAA (RFC 3596 2.2, 16 bytes). Nothing
 * to free. */
int dns_rdata_parse_a(const uint8_t *rdata, size_t len, struct dns_address *addr_r,
		      const char **error_r);
int dns_rdata_parse_aaaa(const uint8_t *rdata, size_t len, struct dns_address *addr_r,
			 const char **error_r);

/* TLSA (RFC 6698 2.1): usage, selector, matching type, then the association
 * data (any length, also 0). */
int dns_rdata_parse_tlsa(const uint8_t *rdata, size_t len, struct dns_tlsa *tlsa_r,
			 const char **error_r);
void dns_tlsa_deinit(struct dns_tlsa *tlsa);

/* TXT (RFC 1035 3.3.14): one or more <character-string>s (a length byte and
 * that many bytes) filling the RDATA exactly. */
int dns_rdata_parse_txt(const uint8_t *rdata, size_t len, struct dns_txt *txt_r,
			const char **error_r);
void dns_txt_deinit(struct dns_txt *txt);

/* Random numbers for dns_mx_sort(); NULL = getrandom(2). */
typedef uint32_t dns_random_fn(void *ctx);

/* Sorts mx[0..n) by preference, lowest first, and puts the hosts of equal
 * preference in random order (RFC 5321 5.1: "the domain name ... SHOULD be
 * tried in random order" for equal preferences), so that load spreads. */
void dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn *rnd, void *rnd_ctx);

/* True for the null MX of RFC 7505 3: exactly one record, preference 0,
 * exchange the root ".". */
bool dns_mx_is_null(const struct dns_mx *mx, size_t n);

#endif
