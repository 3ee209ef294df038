/* test-dns-rdata.c - name checks, wire names, RDATA parsers, MX sort and null MX. */
#include "dns/dns-name.h"
#include "dns/dns-rdata.h"
#include "dns/dns-result.h"

#include <arpa/inet.h>
#include <string.h>

#include "core/mem.h"
#include "core/test.h"

static void
test_name_check(void)
{
	const char *err = NULL;
	char long_label[70], long_name[300];

	T_INTEQ(dns_name_check("example.org", &err), 1);
	T_INTEQ(dns_name_check("example.org.", &err), 1);
	T_INTEQ(dns_name_check("_25._tcp.mx.example.org", &err), 1);
	T_INTEQ(dns_name_check("_mta-sts.example.org", &err), 1);
	T_INTEQ(dns_name_check("xn--bcher-kva.example", &err), 1);
	T_INTEQ(dns_name_check("", &err), -1);
	T_INTEQ(dns_name_check(".", &err), -1);
	T_INTEQ(dns_name_check("a..b", &err), -1);
	T_INTEQ(dns_name_check(".a", &err), -1);
	T_INTEQ(dns_name_check("a.b..", &err), -1);
	T_INTEQ(dns_name_check("a b.org", &err), -1);
	T_INTEQ(dns_name_check("a\\.b.org", &err), -1);
	T_INTEQ(dns_name_check("b\xc3\xbc" "cher.example", &err), -1);
	T_ASSERT(err != NULL);

	memset(long_label, 'a', 63);
	long_label[63] = '\0';
	T_INTEQ(dns_name_check(long_label, &err), 1);
	long_label[63] = 'a';
	long_label[64] = '\0';
	T_INTEQ(dns_name_check(long_label, &err), -1);

	/* 253 characters is the most (255 bytes on the wire). */
	memset(long_name, 'a', sizeof(long_name));
	for (size_t i = 50; i < 253; i += 50)
		long_name[i] = '.';
	long_name[253] = '\0';
	T_INTEQ(dns_name_check(long_name, &err), 1);
	long_name[253] = '.';
	long_name[254] = '\0';
	T_INTEQ(dns_name_check(long_name, &err), 1); /* with the trailing dot */
	long_name[253] = 'a';
	T_INTEQ(dns_name_check(long_name, &err), -1);
}

static void
test_name_from_wire(void)
{
	static const uint8_t name[] = "\x03Mx1\x07" "Example\x03org";
	static const uint8_t odd[] = { 3, 'a', '.', 'b', 2, 0, 0xff, 1, '\\', 0 };
	char out[DNS_NAME_TEXT_MAX];
	const char *err = NULL;
	size_t pos = 0;

	T_INTEQ(dns_name_from_wire(name, sizeof(name), &pos, out, sizeof(out), &err), 1);
	T_STREQ(out, "mx1.example.org");
	T_INTEQ(pos, sizeof(name));

	pos = 0;
	T_INTEQ(dns_name_from_wire((const uint8_t *)"", 1, &pos, out, sizeof(out), &err), 1);
	T_STREQ(out, ".");
	T_INTEQ(pos, 1);

	pos = 0;
	T_INTEQ(dns_name_from_wire(odd, sizeof(odd), &pos, out, sizeof(out), &err), 1);
	T_STREQ(out, "a\\.b.\\000\\255.\\\\");

	/* every truncation fails and leaves pos alone */
	for (size_t cut = 0; cut < sizeof(name); cut++) {
		pos = 0;
		T_INTEQ(dns_name_from_wire(name, cut, &pos, out, sizeof(out), &err), -1);
		T_INTEQ(pos, 0);
	}
	/* pointers and reserved label types */
	pos = 0;
	T_INTEQ(dns_name_from_wire((const uint8_t *)"\xc0\x0c", 2, &pos, out, sizeof(out), &err),
		-1);
	T_STREQ(err, "compression pointer in RDATA");
	pos = 0;
	T_INTEQ(dns_name_from_wire((const uint8_t *)"\x41\x00", 2, &pos, out, sizeof(out), &err),
		-1);
	/* small output buffer */
	pos = 0;
	T_INTEQ(dns_name_from_wire(name, sizeof(name), &pos, out, 8, &err), -1);
}

static void
test_name_too_long(void)
{
	uint8_t wire[300];
	char out[DNS_NAME_TEXT_MAX];
	const char *err = NULL;
	size_t pos = 0, p = 0;

	/* 4 labels of 63 = 256 bytes with lengths, + root = 257 > 255 */
	for (int l = 0; l < 4; l++) {
		wire[p++] = 63;
		memset(wire + p, 'x', 63);
		p += 63;
	}
	wire[p++] = 0;
	T_INTEQ(dns_name_from_wire(wire, p, &pos, out, sizeof(out), &err), -1);
	T_STREQ(err, "name longer than 255 bytes");
	/* 3 labels of 63 + one of 61 = 255 exactly */
	wire[3 * 64] = 61;
	wire[3 * 64 + 62] = 0;
	pos = 0;
	T_INTEQ(dns_name_from_wire(wire, 3 * 64 + 63, &pos, out, sizeof(out), &err), 1);
	T_INTEQ(strlen(out), 3 * 64 + 61);
}

static void
test_mx(void)
{
	static const uint8_t rd[] = "\x00\x0a\x02mx\x07" "example\x00";
	struct dns_mx mx;
	const char *err = NULL;

	T_INTEQ(dns_rdata_parse_mx(rd, sizeof(rd) - 1, &mx, &err), 1);
	T_INTEQ(mx.preference, 10);
	T_STREQ(mx.host, "mx.example");
	dns_mx_deinit(&mx);
	T_ASSERT(mx.host == NULL);

	/* every shorter RDATA is malformed, and so are trailing bytes */
	for (size_t cut = 0; cut < sizeof(rd) - 1; cut++) {
		T_INTEQ(dns_rdata_parse_mx(rd, cut, &mx, &err), -1);
		T_ASSERT(mx.host == NULL);
	}
	T_INTEQ(dns_rdata_parse_mx(rd, sizeof(rd), &mx, &err), -1);

	/* the null MX target */
	T_INTEQ(dns_rdata_parse_mx((const uint8_t *)"\x00\x00\x00", 3, &mx, &err), 1);
	T_STREQ(mx.host, ".");
	T_ASSERT(dns_mx_is_null(&mx, 1));
	mx.preference = 10;
	T_ASSERT(!dns_mx_is_null(&mx, 1));
	dns_mx_deinit(&mx);
}

static void
test_address(void)
{
	struct dns_address a;
	const char *err = NULL;
	char text[INET6_ADDRSTRLEN];

	T_INTEQ(dns_rdata_parse_a((const uint8_t *)"\xc0\x00\x02\x01", 4, &a, &err), 1);
	T_INTEQ(a.family, AF_INET);
	T_STREQ(inet_ntop(AF_INET, &a.u.v4, text, sizeof(text)), "192.0.2.1");
	T_INTEQ(dns_rdata_parse_a((const uint8_t *)"\xc0\x00\x02\x01", 3, &a, &err), -1);
	T_INTEQ(dns_rdata_parse_a((const uint8_t *)"\xc0\x00\x02\x01\x00", 5, &a, &err), -1);
	T_INTEQ(dns_rdata_parse_aaaa((const uint8_t *)"\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01",
				     16, &a, &err), 1);
	T_INTEQ(a.family, AF_INET6);
	T_STREQ(inet_ntop(AF_INET6, &a.u.v6, text, sizeof(text)), "2001:db8::1");
	T_INTEQ(dns_rdata_parse_aaaa((const uint8_t *)"\xc0\x00\x02\x01", 4, &a, &err), -1);
}

static void
test_tlsa(void)
{
	static const uint8_t rd[] = { 3, 1, 1, 0xde, 0xad, 0xbe, 0xef };
	struct dns_tlsa t;
	const char *err = NULL;

	T_INTEQ(dns_rdata_parse_tlsa(rd, sizeof(rd), &t, &err), 1);
	T_INTEQ(t.usage, 3);
	T_INTEQ(t.selector, 1);
	T_INTEQ(t.mtype, 1);
	T_MEMEQ(t.data, t.data_len, "\xde\xad\xbe\xef", 4);
	dns_tlsa_deinit(&t);
	T_INTEQ(dns_rdata_parse_tlsa(rd, 3, &t, &err), 1);
	T_INTEQ(t.data_len, 0);
	T_ASSERT(t.data == NULL);
	for (size_t cut = 0; cut < 3; cut++)
		T_INTEQ(dns_rdata_parse_tlsa(rd, cut, &t, &err), -1);
}

static void
test_txt(void)
{
	static const uint8_t rd[] = "\x05v=spf\x07" "1 -all \x00\x03\x00x\x01";
	size_t len = sizeof(rd) - 1;
	struct dns_txt t;
	const char *err = NULL;

	T_INTEQ(dns_rdata_parse_txt(rd, len, &t, &err), 1);
	T_INTEQ(t.nstrings, 4);
	T_MEMEQ(t.strings[0].data, t.strings[0].len, "v=spf", 5);
	T_MEMEQ(t.strings[1].data, t.strings[1].len, "1 -all ", 7);
	T_INTEQ(t.strings[2].len, 0);
	T_MEMEQ(t.strings[3].data, t.strings[3].len, "\0x\x01", 3);
	T_MEMEQ(t.joined.data, t.joined.len, "v=spf1 -all \0x\x01", 15);
	T_INTEQ(t.joined.data[t.joined.len], '\0');
	dns_txt_deinit(&t);

	/* every prefix that cuts a string is malformed; cuts at a boundary
	 * are fewer strings */
	for (size_t cut = 0; cut < len; cut++) {
		int ret = dns_rdata_parse_txt(rd, cut, &t, &err);
		bool boundary = cut == 6 || cut == 14 || cut == 15;

		T_INTEQ(ret, boundary ? 1 : -1);
		if (ret > 0)
			dns_txt_deinit(&t);
	}
	T_INTEQ(dns_rdata_parse_txt(rd, 0, &t, &err), -1);
}

static uint32_t
seq_random(void *ctx)
{
	uint32_t *state = ctx;

	*state = *state * 1103515245u + 12345u;
	return *state >> 8;
}

static void
test_mx_sort(void)
{
	static const char *const names[] = { "c", "a", "b", "d", "e" };
	static const uint16_t prefs[] = { 20, 10, 10, 5, 10 };
	unsigned int first_seen[3] = { 0 };
	uint32_t state = 7;

	for (int run = 0; run < 300; run++) {
		struct dns_mx mx[5];

		for (int i = 0; i < 5; i++) {
			mx[i].preference = prefs[i];
			mx[i].host = (char *)names[i];
		}
		dns_mx_sort(mx, 5, run % 2 ? seq_random : NULL, &state);
		T_STREQ(mx[0].host, "d");
		T_STREQ(mx[4].host, "c");
		for (int i = 1; i < 4; i++)
			T_INTEQ(mx[i].preference, 10);
		/* each of the three preference-10 hosts comes first sometimes */
		first_seen[mx[1].host[0] == 'e' ? 2 : mx[1].host[0] - 'a']++;
	}
	T_ASSERT(first_seen[0] > 30);
	T_ASSERT(first_seen[1] > 30);
	T_ASSERT(first_seen[2] > 30);
}

static void
test_result_records(void)
{
	const uint8_t *rd[2] = { (const uint8_t *)"\x00\x14\x01" "b\x00",
				 (const uint8_t *)"\x00\x0a\x01" "a\x00" };
	size_t len[2] = { 5, 5 };
	struct dns_result *res = mem_zalloc(sizeof(*res));

	res->type = DNS_TYPE_MX;
	T_INTEQ(dns_result_set_records(res, 2, rd, len, NULL, NULL), 1);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 2);
	T_STREQ(res->mx[0].host, "a");
	T_STREQ(res->mx[1].host, "b");
	T_ASSERT(!res->null_mx);

	/* one bad record spoils the answer: no records, TEMPFAIL */
	len[1] = 4;
	T_INTEQ(dns_result_set_records(res, 2, rd, len, NULL, NULL), -1);
	T_INTEQ(res->status, DNS_TEMPFAIL);
	T_INTEQ(res->count, 0);
	T_ASSERT(res->mx == NULL);
	T_ASSERT(res->error != NULL && strstr(res->error, "malformed") != NULL);

	T_INTEQ(dns_result_set_records(res, 0, rd, len, NULL, NULL), 1);
	T_INTEQ(res->status, DNS_NODATA);

	rd[0] = (const uint8_t *)"\x00\x00\x00";
	len[0] = 3;
	T_INTEQ(dns_result_set_records(res, 1, rd, len, NULL, NULL), 1);
	T_ASSERT(res->null_mx);
	dns_result_free(&res);
	T_ASSERT(res == NULL);
	T_STREQ(dns_status_name(DNS_NXDOMAIN), "nxdomain");
	T_STREQ(dns_security_name(DNS_SEC_BOGUS), "bogus");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_name_check),
		TEST_ENTRY(test_name_from_wire),
		TEST_ENTRY(test_name_too_long),
		TEST_ENTRY(test_mx),
		TEST_ENTRY(test_address),
		TEST_ENTRY(test_tlsa),
		TEST_ENTRY(test_txt),
		TEST_ENTRY(test_mx_sort),
		TEST_ENTRY(test_result_records),
		{ NULL, NULL },
	};

	return test_main("dns-rdata", tests);
}
