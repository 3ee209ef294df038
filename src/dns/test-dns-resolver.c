/*
 * test-dns-resolver.c - the resolver against a real DNS server on loopback.
 *
 * Starts tests/dnsserver.py (Debian's /usr/bin/python3 with python3-dnslib;
 * the DNSSEC tests also need ldnsutils and dns-root-data, which tools/deps.sh
 * installs with "test") as a subprocess on a free port, from the source
 * tree's root (the directory the test runner runs in; DNS_TEST_SERVER may
 * name the script instead). A missing interpreter, module or tool is a
 * failure, never a skip.
 *
 * Every loop run is bounded by a guard timer; the server is stopped by its
 * pid at exit.
 */
#include "dns/dns-resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/test.h"

static const char zone_text[] =
	"example.test. 300 IN SOA ns.example.test. hostmaster.example.test. 1 3600 600 86400 60\n"
	"example.test. 300 IN MX 10 mx1.example.test.\n"
	"example.test. 300 IN MX 10 mx2.example.test.\n"
	"example.test. 300 IN MX 10 MX3.Example.Test.\n"
	"example.test. 300 IN MX 5 mx0.example.test.\n"
	"example.test. 300 IN MX 20 mx9.example.test.\n"
	"mx1.example.test. 300 IN A 192.0.2.1\n"
	"_25._tcp.mx1.example.test. 300 IN TLSA 3 1 1 "
	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"
	"_25._tcp.mx1.example.test. 300 IN TLSA 2 0 0 deadbeef\n"
	"nullmx.example.test. 300 IN MX 0 .\n"
	"alias1.example.test. 300 IN CNAME alias2.example.test.\n"
	"alias2.example.test. 300 IN CNAME mx1.example.test.\n"
	"dangling.example.test. 300 IN CNAME nowhere.example.test.\n"
	"dual.example.test. 300 IN A 192.0.2.5\n"
	"dual.example.test. 300 IN AAAA 2001:db8::5\n"
	"dual.example.test. 300 IN AAAA 2001:db8::6\n"
	"v4only.example.test. 300 IN A 192.0.2.7\n"
	"txt.example.test. 300 IN TXT \"v=spf1 \" \"ip4:192.0.2.0/24\" \" -all\"\n"
	"txt.example.test. 300 IN TXT \"second record\"\n"
	"_mta-sts.example.test. 300 IN TXT \"v=STSv1; id=20261122;\"\n"
	"!servfail servfail.example.test.\n"
	"!refused refused.example.test.\n"
	"!timeout silent.example.test.\n"
	"!delay 1.0 slow.example.test.\n"
	"!sign signed.test.\n"
	"signed.test. 300 IN MX 10 a.signed.test.\n"
	"a.signed.test. 300 IN A 192.0.2.10\n"
	"bad.signed.test. 300 IN A 192.0.2.11\n"
	"!corrupt bad.signed.test. A 192.0.2.66\n";

static pid_t server_pid;
static unsigned int server_port;
static char server_error[256] = "server not started";
static char trust_anchor[512];

static struct loop *loop;
static unsigned int outstanding;

/* ---- the test server ---- */

static void
server_stop(void)
{
	int status;

	if (server_pid > 0) {
		kill(server_pid, SIGTERM);
		waitpid(server_pid, &status, 0);
		server_pid = 0;
	}
}

static void
write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	ASSERT(f != NULL);
	ASSERT(fwrite(text, 1, len, f) == len);
	ASSERT(fclose(f) == 0);
}

/* Extra zone lines: 200 names for the many-in-flight test and a TXT record
 * too big for one UDP answer. */
static void
zone_build(struct buf *zone)
{
	ASSERT(buf_append_str(zone, zone_text) == 0);
	for (int i = 0; i < 200; i++)
		ASSERT(buf_printf(zone, "n%d.many.test. 300 IN A 10.0.%d.%d\n", i, i / 100,
				  i % 100) == 0);
	ASSERT(buf_append_str(zone, "big.example.test. 300 IN TXT") == 0);
	for (int i = 0; i < 12; i++) {
		ASSERT(buf_printf(zone, " \"%03d", i) == 0);
		for (int j = 0; j < 200; j++)
			ASSERT(buf_append_byte(zone, (uint8_t)('a' + (i + j) % 26)) == 0);
		ASSERT(buf_append_byte(zone, '"') == 0);
	}
	ASSERT(buf_append_byte(zone, '\n') == 0);
}

static void
server_start(void)
{
	const char *script = getenv("DNS_TEST_SERVER");
	char zone_path[512], line[64];
	struct buf zone;
	int fds[2];
	size_t got = 0;

	if (script == NULL)
		script = "tests/dnsserver.py";
	if (access("/usr/bin/python3", X_OK) != 0) {
		snprintf(server_error, sizeof(server_error), "/usr/bin/python3 is missing");
		return;
	}
	if (access(script, R_OK) != 0) {
		snprintf(server_error, sizeof(server_error),
			 "%s not found: run from the source tree root or set DNS_TEST_SERVER",
			 script);
		return;
	}
	buf_init(&zone, 0);
	zone_build(&zone);
	snprintf(zone_path, sizeof(zone_path), "%s/zone.txt", test_tmpdir());
	snprintf(trust_anchor, sizeof(trust_anchor), "%s/signed.test.key", test_tmpdir());
	write_file(zone_path, buf_cstr(&zone), buf_len(&zone));
	buf_deinit(&zone);

	ASSERT(pipe(fds) == 0);
	server_pid = fork();
	ASSERT(server_pid >= 0);
	if (server_pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", script, "--zone", zone_path, "--trust-anchor",
		      trust_anchor, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	/* "port N\n", within 60 s (signing takes a moment) */
	for (int tries = 0; tries < 600 && got < sizeof(line) - 1; tries++) {
		struct pollfd pfd = { .fd = fds[0], .events = POLLIN };
		ssize_t n;

		if (poll(&pfd, 1, 100) <= 0)
			continue;
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		line[got] = '\0';
		if (strchr(line, '\n') != NULL)
			break;
	}
	close(fds[0]);
	line[got] = '\0';
	if (sscanf(line, "port %u", &server_port) != 1 || server_port == 0) {
		int status = 0;

		server_port = 0;
		kill(server_pid, SIGTERM);
		waitpid(server_pid, &status, 0);
		server_pid = 0;
		snprintf(server_error, sizeof(server_error),
			 "tests/dnsserver.py did not start (exit %d%s); it needs python3-dnslib "
			 "and ldnsutils: sh tools/deps.sh test",
			 WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			 WIFEXITED(status) && WEXITSTATUS(status) == 3 ? ": python3-dnslib missing"
								       : "");
	}
}

/* ---- helpers ---- */

static bool
server_ok(void)
{
	if (server_port == 0)
		fprintf(stderr, "FAIL: test DNS server: %s\n", server_error);
	return T_ASSERT(server_port != 0);
}

static struct dns_resolver *
resolver_new(uint64_t timeout_msecs, const char *ta)
{
	char addr[64];
	struct dns_settings set = { 0 };
	struct dns_resolver *r;
	const char *error = NULL;

	snprintf(addr, sizeof(addr), "127.0.0.1@%u", server_port);
	set.resolver = addr;
	set.trust_anchor = ta;
	set.timeout_msecs = timeout_msecs;
	r = dns_resolver_new(loop, &set, &error);
	if (r == NULL)
		fprintf(stderr, "dns_resolver_new: %s\n", error);
	T_ASSERT(r != NULL);
	return r;
}

struct waiter {
	struct dns_result *res;
	unsigned int calls;
};

static void
on_result(void *ctx, struct dns_result *res)
{
	struct waiter *w = ctx;

	dns_result_free(&w->res);
	w->res = res;
	w->calls++;
	if (outstanding > 0 && --outstanding == 0)
		loop_stop(loop);
}

static void
on_guard(void *ctx)
{
	loop_stop(loop);
}

/* Runs the loop until outstanding reaches 0 or max_msecs pass. */
static void
run(uint64_t max_msecs)
{
	struct loop_timer *guard = loop_timer_add(loop, max_msecs, on_guard, NULL);

	if (outstanding > 0)
		loop_run(loop);
	loop_timer_remove(&guard);
}

/* One lookup to completion (10 s at most); returns the result (free it). */
static struct dns_result *
lookup(struct dns_resolver *r, enum dns_type type, const char *name, unsigned int flags)
{
	struct waiter w = { 0 };
	struct dns_query *q = NULL;
	const char *error = NULL;

	switch (type) {
	case DNS_TYPE_MX:
		q = dns_lookup_mx(r, name, on_result, &w, &error);
		break;
	case DNS_TYPE_A:
		q = dns_lookup_a(r, name, on_result, &w, &error);
		break;
	case DNS_TYPE_AAAA:
		q = dns_lookup_aaaa(r, name, on_result, &w, &error);
		break;
	case DNS_TYPE_TXT:
		q = dns_lookup_txt(r, name, on_result, &w, &error);
		break;
	case DNS_TYPE_TLSA:
		q = dns_lookup_tlsa(r, name, 25, on_result, &w, &error);
		break;
	case DNS_TYPE_ADDRESSES:
		q = dns_lookup_addresses(r, name, flags, on_result, &w, &error);
		break;
	default:
		break;
	}
	T_ASSERT(q != NULL);
	if (q == NULL)
		return NULL;
	T_INTEQ(w.calls, 0); /* never from inside the lookup call */
	outstanding = 1;
	run(10000);
	T_INTEQ(w.calls, 1);
	if (w.res == NULL) {
		dns_query_cancel(&q);
		/* an empty TEMPFAIL result keeps the callers' checks simple */
		w.res = mem_zalloc(sizeof(*w.res));
		w.res->status = DNS_TEMPFAIL;
		w.res->qname = mem_strdup("");
		w.res->canonical = mem_strdup("");
	}
	return w.res;
}

static const char *
addr_text(const struct dns_address *a, char *buf, size_t size)
{
	return inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->u.v4
							: (const void *)&a->u.v6, buf, size);
}

/* ---- tests ---- */

static void
test_mx_order_and_shuffle(void)
{
	struct dns_resolver *r;
	unsigned int first[3] = { 0 };

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	T_ASSERT(!dns_resolver_validates(r));
	/* libunbound caches the set; our shuffle runs on every answer */
	for (int run_no = 0; run_no < 60; run_no++) {
		struct dns_result *res = lookup(r, DNS_TYPE_MX, "Example.Test.", 0);

		T_INTEQ(res->status, DNS_OK);
		T_INTEQ(res->type, DNS_TYPE_MX);
		T_INTEQ(res->count, 5);
		if (res->count == 5) {
			T_STREQ(res->mx[0].host, "mx0.example.test");
			T_INTEQ(res->mx[0].preference, 5);
			T_STREQ(res->mx[4].host, "mx9.example.test");
			for (int i = 1; i < 4; i++)
				T_INTEQ(res->mx[i].preference, 10);
			if (res->mx[1].host[2] >= '1' && res->mx[1].host[2] <= '3')
				first[res->mx[1].host[2] - '1']++;
		}
		T_ASSERT(!res->null_mx);
		T_INTEQ(res->security, DNS_SEC_INSECURE);
		T_INTEQ(res->rcode, 0);
		T_STREQ(res->qname, "example.test");
		T_STREQ(res->canonical, "example.test");
		T_ASSERT(res->ttl > 0 && res->ttl <= 300);
		T_ASSERT(res->error == NULL);
		dns_result_free(&res);
	}
	T_ASSERT(first[0] > 3 && first[1] > 3 && first[2] > 3);
	T_INTEQ(first[0] + first[1] + first[2], 60);
	dns_resolver_free(&r);
	T_ASSERT(r == NULL);
}

static void
test_null_mx(void)
{
	struct dns_resolver *r;
	struct dns_result *res;

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_MX, "nullmx.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_ASSERT(res->null_mx);
	T_INTEQ(res->count, 1);
	if (res->count == 1)
		T_STREQ(res->mx[0].host, ".");
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_nxdomain_nodata(void)
{
	struct dns_resolver *r;
	struct dns_result *res;

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_MX, "nosuch.example.test", 0);
	T_INTEQ(res->status, DNS_NXDOMAIN);
	T_INTEQ(res->rcode, 3);
	T_INTEQ(res->count, 0);
	T_ASSERT(res->mx == NULL);
	dns_result_free(&res);
	/* mx1 has an A record only */
	res = lookup(r, DNS_TYPE_MX, "mx1.example.test", 0);
	T_INTEQ(res->status, DNS_NODATA);
	T_INTEQ(res->rcode, 0);
	T_INTEQ(res->count, 0);
	dns_result_free(&res);
	/* an empty non-terminal exists (RFC 8020): no data, not NXDOMAIN */
	res = lookup(r, DNS_TYPE_TXT, "_tcp.mx1.example.test", 0);
	T_INTEQ(res->status, DNS_NODATA);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_servfail_refused(void)
{
	struct dns_resolver *r;
	struct dns_result *res;

	if (!server_ok())
		return;
	r = resolver_new(8000, "none");
	res = lookup(r, DNS_TYPE_MX, "servfail.example.test", 0);
	T_INTEQ(res->status, DNS_TEMPFAIL);
	T_INTEQ(res->rcode, 2);
	T_ASSERT(res->error != NULL);
	T_INTEQ(res->count, 0);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_A, "refused.example.test", 0);
	T_INTEQ(res->status, DNS_TEMPFAIL);
	T_ASSERT(res->error != NULL);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static uint64_t
now_msecs(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
test_timeout(void)
{
	struct dns_resolver *r;
	struct dns_result *res;
	uint64_t start;

	if (!server_ok())
		return;
	r = resolver_new(1500, "none");
	start = now_msecs();
	res = lookup(r, DNS_TYPE_MX, "silent.example.test", 0);
	T_INTEQ(res->status, DNS_TIMEOUT);
	T_ASSERT(res->error != NULL);
	T_ASSERT(now_msecs() - start >= 1400);
	T_ASSERT(now_msecs() - start < 5000);
	T_INTEQ(dns_resolver_pending(r), 0);
	dns_result_free(&res);
	/* the pair: both halves time out */
	res = lookup(r, DNS_TYPE_ADDRESSES, "silent.example.test", 0);
	T_INTEQ(res->status, DNS_TIMEOUT);
	T_INTEQ(res->status_a, DNS_TIMEOUT);
	T_INTEQ(res->status_aaaa, DNS_TIMEOUT);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_cname(void)
{
	struct dns_resolver *r;
	struct dns_result *res;
	char text[INET6_ADDRSTRLEN];

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_A, "alias1.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 1);
	if (res->count == 1)
		T_STREQ(addr_text(&res->addrs[0], text, sizeof(text)), "192.0.2.1");
	T_STREQ(res->qname, "alias1.example.test");
	T_STREQ(res->canonical, "mx1.example.test");
	dns_result_free(&res);
	/* the chain also counts for the pair */
	res = lookup(r, DNS_TYPE_ADDRESSES, "alias1.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->status_aaaa, DNS_NODATA);
	T_STREQ(res->canonical, "mx1.example.test");
	dns_result_free(&res);
	/* a CNAME to nowhere: the RCODE is the last name's (RFC 6604 3) */
	res = lookup(r, DNS_TYPE_MX, "dangling.example.test", 0);
	T_INTEQ(res->status, DNS_NXDOMAIN);
	T_STREQ(res->canonical, "nowhere.example.test");
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_addresses(void)
{
	struct dns_resolver *r;
	struct dns_result *res;
	char text[INET6_ADDRSTRLEN];

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_ADDRESSES, "dual.example.test", 0);
	T_INTEQ(res->type, DNS_TYPE_ADDRESSES);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->status_a, DNS_OK);
	T_INTEQ(res->status_aaaa, DNS_OK);
	T_INTEQ(res->count, 3);
	if (res->count == 3) {
		T_INTEQ(res->addrs[0].family, AF_INET6);
		T_INTEQ(res->addrs[1].family, AF_INET6);
		T_STREQ(addr_text(&res->addrs[2], text, sizeof(text)), "192.0.2.5");
	}
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_ADDRESSES, "dual.example.test", DNS_ADDR_IPV4_FIRST);
	T_INTEQ(res->count, 3);
	if (res->count == 3) {
		T_STREQ(addr_text(&res->addrs[0], text, sizeof(text)), "192.0.2.5");
		T_INTEQ(res->addrs[1].family, AF_INET6);
	}
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_ADDRESSES, "v4only.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->status_a, DNS_OK);
	T_INTEQ(res->status_aaaa, DNS_NODATA);
	T_INTEQ(res->count, 1);
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_ADDRESSES, "v4only.example.test", DNS_ADDR_IPV6_ONLY);
	T_INTEQ(res->status, DNS_NODATA);
	T_INTEQ(res->count, 0);
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_ADDRESSES, "nosuch.example.test", 0);
	T_INTEQ(res->status, DNS_NXDOMAIN);
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_AAAA, "dual.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 2);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_tlsa(void)
{
	static const uint8_t sha[] = { 0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
				       0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef };
	struct dns_resolver *r;
	struct dns_result *res;
	bool seen31 = false, seen20 = false;

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_TLSA, "mx1.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_STREQ(res->qname, "_25._tcp.mx1.example.test");
	T_INTEQ(res->count, 2);
	for (size_t i = 0; i < res->count; i++) {
		const struct dns_tlsa *t = &res->tlsa[i];

		if (t->usage == 3) {
			seen31 = t->selector == 1 && t->mtype == 1;
			T_MEMEQ(t->data, t->data_len, sha, sizeof(sha));
		} else {
			seen20 = t->usage == 2 && t->selector == 0 && t->mtype == 0;
			T_MEMEQ(t->data, t->data_len, "\xde\xad\xbe\xef", 4);
		}
	}
	T_ASSERT(seen31 && seen20);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_TLSA, "dual.example.test", 0);
	T_INTEQ(res->status, DNS_NXDOMAIN);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
test_txt(void)
{
	struct dns_resolver *r;
	struct dns_result *res;
	bool spf = false, second = false;

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	res = lookup(r, DNS_TYPE_TXT, "txt.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 2);
	for (size_t i = 0; i < res->count; i++) {
		const struct dns_txt *t = &res->txt[i];

		if (t->nstrings == 3) {
			spf = true;
			T_MEMEQ(t->strings[0].data, t->strings[0].len, "v=spf1 ", 7);
			T_STREQ((const char *)t->joined.data, "v=spf1 ip4:192.0.2.0/24 -all");
		} else {
			second = true;
			T_INTEQ(t->nstrings, 1);
			T_STREQ((const char *)t->joined.data, "second record");
		}
	}
	T_ASSERT(spf && second);
	dns_result_free(&res);

	res = lookup(r, DNS_TYPE_TXT, "_mta-sts.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 1);
	if (res->count == 1)
		T_STREQ((const char *)res->txt[0].joined.data, "v=STSv1; id=20261122;");
	dns_result_free(&res);

	/* 12 x 203 bytes: larger than any UDP answer, retried over TCP */
	res = lookup(r, DNS_TYPE_TXT, "big.example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->count, 1);
	if (res->count == 1) {
		T_INTEQ(res->txt[0].nstrings, 12);
		T_INTEQ(res->txt[0].joined.len, 12 * 203);
		T_MEMEQ(res->txt[0].strings[11].data, 4, "011l", 4);
	}
	dns_result_free(&res);
	dns_resolver_free(&r);
}

static void
on_never(void *ctx, struct dns_result *res)
{
	unsigned int *calls = ctx;

	(*calls)++;
	dns_result_free(&res);
}

static void
test_cancel(void)
{
	struct dns_resolver *r;
	struct dns_query *q1, *q2;
	unsigned int calls = 0;
	const char *error = NULL;
	struct waiter w = { 0 };

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	q1 = dns_lookup_mx(r, "slow.example.test", on_never, &calls, &error);
	q2 = dns_lookup_addresses(r, "slow.example.test", 0, on_never, &calls, &error);
	T_ASSERT(q1 != NULL && q2 != NULL);
	T_INTEQ(dns_resolver_pending(r), 2);
	dns_query_cancel(&q1);
	dns_query_cancel(&q2);
	T_ASSERT(q1 == NULL && q2 == NULL);
	dns_query_cancel(&q2); /* NULL is fine */
	T_INTEQ(dns_resolver_pending(r), 0);
	/* give the answers time to arrive (the server holds them 1 s) while a
	 * later lookup of the same name completes normally */
	T_ASSERT(dns_lookup_a(r, "slow.example.test", on_result, &w, &error) != NULL);
	outstanding = 1;
	run(5000);
	T_INTEQ(w.calls, 1);
	T_ASSERT(w.res != NULL && w.res->status == DNS_NXDOMAIN);
	dns_result_free(&w.res);
	T_INTEQ(calls, 0);

	/* a resolver freed with lookups running calls none of them */
	q1 = dns_lookup_mx(r, "slow2.example.test", on_never, &calls, &error);
	T_ASSERT(q1 != NULL);
	dns_resolver_free(&r);
	T_INTEQ(calls, 0);
}

struct many {
	struct dns_resolver *r;
	struct dns_query *queries[200];
	unsigned int ok, wrong, cancelled_ok;
	int index[200];
};

static struct many many;

static void
on_many(void *ctx, struct dns_result *res)
{
	int i = *(int *)ctx;
	char want[32], text[INET6_ADDRSTRLEN];

	many.queries[i] = NULL;
	snprintf(want, sizeof(want), "10.0.%d.%d", i / 100, i % 100);
	if (res->status == DNS_OK && res->count == 1 &&
	    strcmp(addr_text(&res->addrs[0], text, sizeof(text)), want) == 0)
		many.ok++;
	else
		many.wrong++;
	dns_result_free(&res);
	/* a callback may cancel other lookups: the first one to complete
	 * cancels number 199 */
	if (many.queries[199] != NULL) {
		dns_query_cancel(&many.queries[199]);
		many.cancelled_ok = 1;
		outstanding--;
	}
	if (outstanding > 0 && --outstanding == 0)
		loop_stop(loop);
}

static void
test_many_in_flight(void)
{
	const char *error = NULL;
	char name[64];

	if (!server_ok())
		return;
	memset(&many, 0, sizeof(many));
	many.r = resolver_new(8000, "none");
	for (int i = 0; i < 200; i++) {
		many.index[i] = i;
		snprintf(name, sizeof(name), "n%d.many.test", i);
		many.queries[i] = dns_lookup_a(many.r, name, on_many, &many.index[i], &error);
		T_ASSERT(many.queries[i] != NULL);
	}
	T_INTEQ(dns_resolver_pending(many.r), 200);
	outstanding = 200;
	run(20000);
	T_INTEQ(many.cancelled_ok, 1);
	T_INTEQ(many.ok, 199);
	T_INTEQ(many.wrong, 0);
	T_INTEQ(dns_resolver_pending(many.r), 0);
	dns_resolver_free(&many.r);
}

static void
test_bad_names(void)
{
	struct dns_resolver *r;
	const char *error = NULL;
	struct waiter w = { 0 };
	char long_name[300];

	if (!server_ok())
		return;
	r = resolver_new(5000, "none");
	T_ASSERT(dns_lookup_mx(r, "bad name.example", on_result, &w, &error) == NULL);
	T_ASSERT(error != NULL);
	T_ASSERT(dns_lookup_mx(r, "", on_result, &w, &error) == NULL);
	T_ASSERT(dns_lookup_a(r, "a..b", on_result, &w, &error) == NULL);
	memset(long_name, 'a', sizeof(long_name) - 1);
	long_name[sizeof(long_name) - 1] = '\0';
	T_ASSERT(dns_lookup_txt(r, long_name, on_result, &w, &error) == NULL);
	/* a host that fits alone but not with the _25._tcp. prefix */
	for (size_t i = 60; i < 250; i += 61)
		long_name[i] = '.';
	long_name[250] = '\0';
	T_ASSERT(dns_lookup_tlsa(r, long_name, 25, on_result, &w, &error) == NULL);
	T_ASSERT(dns_lookup_addresses(r, "x.test", DNS_ADDR_IPV4_ONLY | DNS_ADDR_IPV6_ONLY,
				      on_result, &w, &error) == NULL);
	T_INTEQ(dns_resolver_pending(r), 0);
	T_INTEQ(w.calls, 0);
	dns_resolver_free(&r);
}

static void
test_settings(void)
{
	struct dns_settings set = { 0 };
	const char *error = NULL;
	char path[512];
	struct dns_resolver *r;

	T_INTEQ(dns_resolver_check_address("192.0.2.1", &error), 1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1@5353", &error), 1);
	T_INTEQ(dns_resolver_check_address("::1@53, 127.0.0.1", &error), 1);
	T_INTEQ(dns_resolver_check_address("", &error), 1);
	T_INTEQ(dns_resolver_check_address("resolver.example", &error), -1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1@", &error), -1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1@0", &error), -1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1@65536", &error), -1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1:53", &error), -1);
	T_INTEQ(dns_resolver_check_address("192.0.2.1,,192.0.2.2", &error), -1);
	T_INTEQ(dns_resolver_check_address("1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,"
					   "7.7.7.7,8.8.8.8,9.9.9.9", &error), -1);

	set.resolver = "not-an-ip";
	T_ASSERT(dns_resolver_new(loop, &set, &error) == NULL);
	set.resolver = "127.0.0.1@53";
	set.trust_anchor = "/nonexistent/root.key";
	T_ASSERT(dns_resolver_new(loop, &set, &error) == NULL);
	T_STREQ(error, "cannot read the DNSSEC trust anchor file");
	/* a file that is not a trust anchor fails at once, not at the first query */
	snprintf(path, sizeof(path), "%s/garbage.key", test_tmpdir());
	write_file(path, "this is not a zone file\n", 24);
	set.trust_anchor = path;
	T_ASSERT(dns_resolver_new(loop, &set, &error) == NULL);
	/* resolv.conf is used when no resolver is set */
	snprintf(path, sizeof(path), "%s/resolv.conf", test_tmpdir());
	write_file(path, "nameserver 127.0.0.1\n", 21);
	set.resolver = "";
	set.trust_anchor = "none";
	set.resolv_conf = path;
	r = dns_resolver_new(loop, &set, &error);
	T_ASSERT(r != NULL);
	dns_resolver_free(&r);
	set.resolv_conf = "/nonexistent/resolv.conf";
	T_ASSERT(dns_resolver_new(loop, &set, &error) == NULL);
}

/*
 * DNSSEC. The test server signs signed.test. with a fresh key and writes its
 * DNSKEY as the trust anchor: under it answers are secure, a record whose
 * RRSIG no longer matches is bogus, and names outside every anchor
 * (example.test.) are insecure. With the root's real trust anchor and our
 * unsigned server as the forwarder, the chain from the root cannot be
 * built (the server has no root DNSKEY), so everything is bogus: that is
 * what a resolver that strips DNSSEC records looks like.
 */
static void
test_dnssec(void)
{
	struct dns_resolver *r;
	struct dns_result *res;

	if (!server_ok())
		return;
	r = resolver_new(8000, trust_anchor);
	T_ASSERT(dns_resolver_validates(r));
	res = lookup(r, DNS_TYPE_A, "a.signed.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->security, DNS_SEC_SECURE);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_MX, "signed.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->security, DNS_SEC_SECURE);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_ADDRESSES, "a.signed.test", DNS_ADDR_IPV4_ONLY);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->security, DNS_SEC_SECURE);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_A, "bad.signed.test", 0);
	T_INTEQ(res->status, DNS_TEMPFAIL);
	T_INTEQ(res->security, DNS_SEC_BOGUS);
	T_INTEQ(res->count, 0);
	T_ASSERT(res->error != NULL && strstr(res->error, "DNSSEC") != NULL);
	dns_result_free(&res);
	res = lookup(r, DNS_TYPE_MX, "example.test", 0);
	T_INTEQ(res->status, DNS_OK);
	T_INTEQ(res->security, DNS_SEC_INSECURE);
	dns_result_free(&res);
	dns_resolver_free(&r);

	T_ASSERT(access(DNS_DEFAULT_TRUST_ANCHOR, R_OK) == 0); /* dns-root-data */
	r = resolver_new(8000, "");
	T_ASSERT(dns_resolver_validates(r));
	res = lookup(r, DNS_TYPE_MX, "example.test", 0);
	T_INTEQ(res->status, DNS_TEMPFAIL);
	T_INTEQ(res->security, DNS_SEC_BOGUS);
	dns_result_free(&res);
	dns_resolver_free(&r);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_settings),
		TEST_ENTRY(test_mx_order_and_shuffle),
		TEST_ENTRY(test_null_mx),
		TEST_ENTRY(test_nxdomain_nodata),
		TEST_ENTRY(test_servfail_refused),
		TEST_ENTRY(test_cname),
		TEST_ENTRY(test_addresses),
		TEST_ENTRY(test_tlsa),
		TEST_ENTRY(test_txt),
		TEST_ENTRY(test_cancel),
		TEST_ENTRY(test_many_in_flight),
		TEST_ENTRY(test_bad_names),
		TEST_ENTRY(test_dnssec),
		TEST_ENTRY(test_timeout),
		{ NULL, NULL },
	};
	int ret;

	signal(SIGPIPE, SIG_IGN);
	loop = loop_new();
	server_start();
	ret = test_main("dns-resolver", tests);
	server_stop();
	loop_free(&loop);
	return ret;
}
