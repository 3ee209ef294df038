/*
 * fuzz-dns-rdata.c - libFuzzer target for the RDATA parsers and the answer
 * path of dns-result.c.
 *
 * Input: one selector byte (type: 0 MX, 1 A, 2 AAAA, 3 TLSA, 4 TXT; the
 * value modulo 5), then records, each a 1-byte length and that many bytes
 * (a short last record takes what is left). Checks, beyond "no crash": a
 * DNS_OK result holds exactly the records given, MX hosts are in
 * presentation form (no byte outside printable ASCII) and sorted, TXT joined
 * is the concatenation of its strings; a failed parse leaves no records.
 */
#include "dns/dns-result.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static uint32_t
fixed_random(void *ctx)
{
	uint32_t *state = ctx;

	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum dns_type types[] = { DNS_TYPE_MX, DNS_TYPE_A, DNS_TYPE_AAAA,
					       DNS_TYPE_TLSA, DNS_TYPE_TXT };
	const uint8_t *rd[64];
	size_t len[64], n = 0, pos = 1;
	struct dns_result res;
	uint32_t state = 1;

	if (size == 0)
		return 0;
	memset(&res, 0, sizeof(res));
	res.type = types[data[0] % 5];
	while (pos < size && n < 64) {
		size_t l = data[pos++];

		if (l > size - pos)
			l = size - pos;
		rd[n] = data + pos;
		len[n++] = l;
		pos += l;
	}
	if (dns_result_set_records(&res, n, rd, len, fixed_random, &state) > 0) {
		check(res.count == n);
		check(n > 0 ? res.status == DNS_OK : res.status == DNS_NODATA);
		for (size_t i = 0; i < res.count && res.type == DNS_TYPE_MX; i++) {
			for (const char *p = res.mx[i].host; *p != '\0'; p++)
				check(*p > ' ' && *p < 127);
			check(i == 0 || res.mx[i - 1].preference <= res.mx[i].preference);
		}
		for (size_t i = 0; i < res.count && res.type == DNS_TYPE_TXT; i++) {
			size_t total = 0;

			for (size_t j = 0; j < res.txt[i].nstrings; j++) {
				check(total + res.txt[i].strings[j].len <= res.txt[i].joined.len);
				check(memcmp(res.txt[i].joined.data + total,
					     res.txt[i].strings[j].data,
					     res.txt[i].strings[j].len) == 0);
				total += res.txt[i].strings[j].len;
			}
			check(total == res.txt[i].joined.len);
		}
	} else {
		check(res.count == 0 && res.status == DNS_TEMPFAIL && res.error != NULL);
		check(res.mx == NULL && res.addrs == NULL && res.tlsa == NULL && res.txt == NULL);
	}
	/* dns_result_free() frees the struct itself: free the parts here. */
	{
		struct dns_result *copy = mem_memdup(&res, sizeof(res));

		dns_result_free(&copy);
	}
	return 0;
}
