/*
 * dns-result.c - struct dns_result: filling it from the RDATA of an answer,
 * freeing it, and names of its enums.
 *
 * What it does: dns_result_set_records() parses every record of an answer
 * with the parsers of dns-rdata.c, so that the resolver (and the fuzz
 * target) share one path from bytes to result.
 *
 * What it does not do: no DNS status decisions (dns-resolver.c decides from
 * the RCODE and the DNSSEC flags); no I/O.
 *
 * Invariants: a result whose status is not DNS_OK holds no records.
 */
#include "dns/dns-result.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "dns/dns-rdata.h"

static void
records_clear(struct dns_result *res)
{
	for (size_t i = 0; i < res->count; i++) {
		if (res->mx != NULL)
			dns_mx_deinit(&res->mx[i]);
		if (res->tlsa != NULL)
			dns_tlsa_deinit(&res->tlsa[i]);
		if (res->txt != NULL)
			dns_txt_deinit(&res->txt[i]);
	}
	mem_free(&res->mx);
	mem_free(&res->addrs);
	mem_free(&res->tlsa);
	mem_free(&res->txt);
	res->count = 0;
	res->null_mx = false;
}

void
dns_result_set_error(struct dns_result *res, enum dns_status status, const char *fmt, ...)
{
	char text[512];
	va_list ap;

	records_clear(res);
	res->status = status;
	res->ttl = 0;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	mem_free(&res->error);
	res->error = mem_strdup(text);
}

static int
parse_one(struct dns_result *res, enum dns_type type, size_t i, const uint8_t *rd, size_t len,
	  const char **error_r)
{
	switch (type) {
	case DNS_TYPE_MX:
		return dns_rdata_parse_mx(rd, len, &res->mx[i], error_r);
	case DNS_TYPE_A:
		return dns_rdata_parse_a(rd, len, &res->addrs[i], error_r);
	case DNS_TYPE_AAAA:
		return dns_rdata_parse_aaaa(rd, len, &res->addrs[i], error_r);
	case DNS_TYPE_TLSA:
		return dns_rdata_parse_tlsa(rd, len, &res->tlsa[i], error_r);
	case DNS_TYPE_TXT:
		return dns_rdata_parse_txt(rd, len, &res->txt[i], error_r);
	default:
		*error_r = "record type not supported";
		return -1;
	}
}

int
dns_result_set_records(struct dns_result *res, size_t n, const uint8_t *const *data,
		       const size_t *len, dns_random_fn *rnd, void *rnd_ctx)
{
	enum dns_type type = res->type;
	const char *error;

	records_clear(res);
	ASSERT(type != DNS_TYPE_ADDRESSES);
	if (n == 0) {
		res->status = DNS_NODATA;
		return 1;
	}
	switch (type) {
	case DNS_TYPE_MX:
		res->mx = mem_array(n, sizeof(*res->mx));
		break;
	case DNS_TYPE_A:
	case DNS_TYPE_AAAA:
		res->addrs = mem_array(n, sizeof(*res->addrs));
		break;
	case DNS_TYPE_TLSA:
		res->tlsa = mem_array(n, sizeof(*res->tlsa));
		break;
	case DNS_TYPE_TXT:
		res->txt = mem_array(n, sizeof(*res->txt));
		break;
	default:
		dns_result_set_error(res, DNS_TEMPFAIL, "record type %d not supported", (int)type);
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (parse_one(res, type, i, data[i], len[i], &error) < 0) {
			/* count covers the records parsed so far, for freeing */
			res->count = i;
			dns_result_set_error(res, DNS_TEMPFAIL, "malformed record: %s", error);
			return -1;
		}
		res->count = i + 1;
	}
	if (type == DNS_TYPE_MX) {
		dns_mx_sort(res->mx, n, rnd, rnd_ctx);
		res->null_mx = dns_mx_is_null(res->mx, n);
	}
	res->status = DNS_OK;
	return 1;
}

void
dns_result_free(struct dns_result **result)
{
	struct dns_result *res = *result;

	if (res == NULL)
		return;
	records_clear(res);
	mem_free(&res->qname);
	mem_free(&res->canonical);
	mem_free(&res->error);
	mem_free(result);
}

const char *
dns_status_name(enum dns_status status)
{
	switch (status) {
	case DNS_OK:
		return "ok";
	case DNS_NXDOMAIN:
		return "nxdomain";
	case DNS_NODATA:
		return "nodata";
	case DNS_TEMPFAIL:
		return "tempfail";
	case DNS_TIMEOUT:
		return "timeout";
	}
	return "unknown";
}

const char *
dns_security_name(enum dns_security security)
{
	switch (security) {
	case DNS_SEC_INSECURE:
		return "insecure";
	case DNS_SEC_SECURE:
		return "secure";
	case DNS_SEC_BOGUS:
		return "bogus";
	}
	return "unknown";
}
