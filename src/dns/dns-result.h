/*
 * dns-result.h - filling a struct dns_result (dns.h) from raw records.
 * Used by dns-resolver.c and the fuzz target; the queue only reads results
 * and frees them with dns_result_free() (dns.h).
 */
#ifndef DNS_DNS_RESULT_H
#define DNS_DNS_RESULT_H

#include <stdarg.h>

#include "dns/dns-rdata.h"
#include "dns/dns.h"

/* Parses n records (data[i], len[i] bytes of RDATA each) of res->type (not
 * DNS_TYPE_ADDRESSES) into res, replacing any records it held. n == 0 sets
 * DNS_NODATA. Sorts MX records (rnd as dns_mx_sort()) and sets null_mx.
 * Returns 1 with status DNS_OK (or NODATA); -1 when a record is malformed
 * or the type unknown: status DNS_TEMPFAIL, error set, no records. */
int dns_result_set_records(struct dns_result *res, size_t n, const uint8_t *const *data,
			   const size_t *len, dns_random_fn *rnd, void *rnd_ctx);

/* Drops any records and sets status and an error text (formatted, cut at
 * 511 bytes). */
void dns_result_set_error(struct dns_result *res, enum dns_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
