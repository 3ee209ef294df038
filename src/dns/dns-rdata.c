/*
 * dns-rdata.c - RDATA parsers (MX, A, AAAA, TLSA, TXT) and MX ordering.
 *
 * What it does: checks every length against the bytes left before reading,
 * requires that the record is consumed exactly, and copies what it returns
 * (results never point into the caller's RDATA).
 *
 * What it does not do: no policy on the values (unknown TLSA usages, odd MX
 * preferences and TXT contents are passed on as published); no compression
 * (dns-name.h).
 *
 * Invariants: on -1 nothing is allocated and the out struct is zeroed.
 */
#include "dns/dns-rdata.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>

#include "core/mem.h"
#include "dns/dns-name.h"

int
dns_rdata_parse_mx(const uint8_t *rdata, size_t len, struct dns_mx *mx_r, const char **error_r)
{
	char host[DNS_NAME_TEXT_MAX];
	size_t pos = 2;

	memset(mx_r, 0, sizeof(*mx_r));
	if (len < 3) {
		*error_r = "MX record too short";
		return -1;
	}
	if (dns_name_from_wire(rdata, len, &pos, host, sizeof(host), error_r) < 0)
		return -1;
	if (pos != len) {
		*error_r = "MX record has bytes after the exchange name";
		return -1;
	}
	mx_r->preference = (uint16_t)(rdata[0] << 8 | rdata[1]);
	mx_r->host = mem_strdup(host);
	return 1;
}

void
dns_mx_deinit(struct dns_mx *mx)
{
	mem_free(&mx->host);
}

int
dns_rdata_parse_a(const uint8_t *rdata, size_t len, struct dns_address *addr_r,
		  const char **error_r)
{
	memset(addr_r, 0, sizeof(*addr_r));
	if (len != 4) {
		*error_r = "A record is not 4 bytes";
		return -1;
	}
	addr_r->family = AF_INET;
	memcpy(&addr_r->u.v4, rdata, 4);
	return 1;
}

int
dns_rdata_parse_aaaa(const uint8_t *rdata, size_t len, struct dns_address *addr_r,
		     const char **error_r)
{
	memset(addr_r, 0, sizeof(*addr_r));
	if (len != 16) {
		*error_r = "AAAA record is not 16 bytes";
		return -1;
	}
	addr_r->family = AF_INET6;
	memcpy(&addr_r->u.v6, rdata, 16);
	return 1;
}

int
dns_rdata_parse_tlsa(const uint8_t *rdata, size_t len, struct dns_tlsa *tlsa_r,
		     const char **error_r)
{
	memset(tlsa_r, 0, sizeof(*tlsa_r));
	if (len < 3) {
		*error_r = "TLSA record too short";
		return -1;
	}
	tlsa_r->usage = rdata[0];
	tlsa_r->selector = rdata[1];
	tlsa_r->mtype = rdata[2];
	tlsa_r->data_len = len - 3;
	if (tlsa_r->data_len > 0)
		tlsa_r->data = mem_memdup(rdata + 3, tlsa_r->data_len);
	return 1;
}

void
dns_tlsa_deinit(struct dns_tlsa *tlsa)
{
	mem_free(&tlsa->data);
	tlsa->data_len = 0;
}

/* A copy of data[0..len) with a NUL after it. */
static void
bytes_set(struct dns_bytes *b, const uint8_t *data, size_t len)
{
	b->data = mem_alloc(mem_size_add(len, 1));
	if (len > 0)
		memcpy(b->data, data, len);
	b->data[len] = '\0';
	b->len = len;
}

int
dns_rdata_parse_txt(const uint8_t *rdata, size_t len, struct dns_txt *txt_r,
		    const char **error_r)
{
	size_t pos = 0, n = 0, total = 0;

	memset(txt_r, 0, sizeof(*txt_r));
	if (len == 0) {
		*error_r = "TXT record without a character-string";
		return -1;
	}
	/* First pass: check the framing and count. */
	while (pos < len) {
		size_t l = rdata[pos];

		if (len - pos - 1 < l) {
			*error_r = "TXT character-string truncated";
			return -1;
		}
		pos += 1 + l;
		total += l;
		n++;
	}
	txt_r->nstrings = n;
	txt_r->strings = mem_array(n, sizeof(*txt_r->strings));
	txt_r->joined.data = mem_alloc(total + 1);
	pos = 0;
	for (size_t i = 0; i < n; i++) {
		size_t l = rdata[pos];

		bytes_set(&txt_r->strings[i], rdata + pos + 1, l);
		if (l > 0)
			memcpy(txt_r->joined.data + txt_r->joined.len, rdata + pos + 1, l);
		txt_r->joined.len += l;
		pos += 1 + l;
	}
	txt_r->joined.data[total] = '\0';
	return 1;
}

void
dns_txt_deinit(struct dns_txt *txt)
{
	for (size_t i = 0; i < txt->nstrings; i++)
		mem_free(&txt->strings[i].data);
	mem_free(&txt->strings);
	mem_free(&txt->joined.data);
	memset(txt, 0, sizeof(*txt));
}

static uint32_t
random_getrandom(void *ctx)
{
	uint32_t v;
	ssize_t n;

	do {
		n = getrandom(&v, sizeof(v), 0);
	} while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(v))
		PANIC("getrandom failed");
	return v;
}

/* A uniform number in 0..bound-1 (bound > 0), without modulo bias. */
static size_t
random_below(size_t bound, dns_random_fn *rnd, void *ctx)
{
	uint32_t limit = UINT32_MAX - UINT32_MAX % (uint32_t)bound, v;

	do {
		v = rnd(ctx);
	} while (v >= limit);
	return v % (uint32_t)bound;
}

void
dns_mx_sort(struct dns_mx *mx, size_t n, dns_random_fn *rnd, void *rnd_ctx)
{
	if (rnd == NULL)
		rnd = random_getrandom;
	/* Insertion sort, stable: MX sets are small (a response holds at most
	 * a few hundred). */
	for (size_t i = 1; i < n; i++) {
		struct dns_mx cur = mx[i];
		size_t j = i;

		while (j > 0 && mx[j - 1].preference > cur.preference) {
			mx[j] = mx[j - 1];
			j--;
		}
		mx[j] = cur;
	}
	/* Fisher-Yates shuffle of every run of equal preference. */
	for (size_t start = 0; start < n;) {
		size_t end = start + 1;

		while (end < n && mx[end].preference == mx[start].preference)
			end++;
		for (size_t i = end - start; i > 1; i--) {
			size_t k = random_below(i, rnd, rnd_ctx);
			struct dns_mx tmp = mx[start + i - 1];

			mx[start + i - 1] = mx[start + k];
			mx[start + k] = tmp;
		}
		start = end;
	}
}

bool
dns_mx_is_null(const struct dns_mx *mx, size_t n)
{
	return n == 1 && mx[0].preference == 0 && strcmp(mx[0].host, ".") == 0;
}
