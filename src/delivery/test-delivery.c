/* test-delivery.c - recipient resolution against the in-memory store. */
#include "core/mem.h"
#include "core/test.h"
#include "delivery/delivery.h"

#include <stdio.h>
#include <string.h>

static struct store *store;
static uint64_t alice, bob;

static const char *const literal_ips[] = { "127.0.0.1", "::1" };
static const struct delivery_settings settings = {
	.hostname = "mx.example.test",
	.recipient_delimiter = "+",
	.literal_ips = literal_ips,
	.literal_ip_count = 2,
};

static void
setup(void)
{
	struct store_settings set = { .backend = "mem" };

	T_INTEQ(store_open(&set, &store, NULL), 1);
	T_INTEQ(store_domain_add(store, "example.test", NULL), 1);
	T_INTEQ(store_domain_add(store, "localhost", NULL), 1);
	T_INTEQ(store_domain_add(store, "catch.test", NULL), 1);
	T_INTEQ(store_account_add(store, "alice@example.test", "x", NULL, &alice, NULL), 1);
	T_INTEQ(store_account_add(store, "bob@localhost", "x", NULL, &bob, NULL), 1);
	T_INTEQ(store_alias_add(store, "team@example.test", "alice@example.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "team@example.test", "bob@localhost", NULL), 1);
	T_INTEQ(store_alias_add(store, "loop1@example.test", "loop2@example.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "loop2@example.test", "loop1@example.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "away@example.test", "someone@remote.test", NULL), 1);
	T_INTEQ(store_domain_set_catchall(store, "catch.test", "Alice@example.test", NULL), 1);
	/* loops: to itself, a longer cycle, a cycle behind a good target, and
	 * a catch-all naming an unknown address of its own domain */
	T_INTEQ(store_domain_add(store, "loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "self@loop.test", "self@loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "c1@loop.test", "c2@loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "c2@loop.test", "C3@Loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "c3@loop.test", "c1@loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "mixed@loop.test", "alice@example.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "mixed@loop.test", "mixed@loop.test", NULL), 1);
	T_INTEQ(store_alias_add(store, "sub@loop.test", "sub+x@loop.test", NULL), 1);
	T_INTEQ(store_domain_add(store, "cloop.test", NULL), 1);
	T_INTEQ(store_domain_set_catchall(store, "cloop.test", "nobody@cloop.test", NULL), 1);
}

static enum delivery_status
resolve(const char *local, const char *domain, bool literal, size_t *count_r, uint64_t *first_r)
{
	uint64_t *ids;
	size_t n;
	enum delivery_status st;

	st = delivery_resolve(store, &settings, local, domain, literal, &ids, &n, NULL);
	*count_r = n;
	*first_r = n > 0 ? ids[0] : 0;
	mem_free(&ids);
	return st;
}

static void
test_delivery_accounts(void)
{
	size_t n;
	uint64_t id;

	T_INTEQ(resolve("alice", "example.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(n, 1);
	T_INTEQ(id, alice);
	T_INTEQ(resolve("ALICE", "Example.TEST", false, &n, &id), DELIVERY_OK);
	T_INTEQ(id, alice);
	T_INTEQ(resolve("carol", "example.test", false, &n, &id), DELIVERY_UNKNOWN_USER);
	T_INTEQ(resolve("alice", "elsewhere.test", false, &n, &id), DELIVERY_NOT_LOCAL);
}

static void
test_delivery_alias_and_subaddress(void)
{
	size_t n;
	uint64_t id;

	T_INTEQ(resolve("team", "example.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(n, 2);
	T_INTEQ(resolve("alice+news", "example.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(id, alice);
	T_INTEQ(resolve("team+x", "example.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(n, 2);
	T_INTEQ(resolve("+x", "example.test", false, &n, &id), DELIVERY_UNKNOWN_USER);
	T_INTEQ(resolve("loop1", "example.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("away", "example.test", false, &n, &id), DELIVERY_REMOTE_TARGET);
}

static void
test_delivery_catchall_and_literals(void)
{
	size_t n;
	uint64_t id;

	T_INTEQ(resolve("anything", "catch.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(id, alice);
	T_INTEQ(resolve("bob", "[127.0.0.1]", true, &n, &id), DELIVERY_OK);
	T_INTEQ(id, bob);
	T_INTEQ(resolve("bob", "[IPv6:::1]", true, &n, &id), DELIVERY_OK);
	T_INTEQ(id, bob);
	T_INTEQ(resolve("bob", "[192.0.2.1]", true, &n, &id), DELIVERY_NOT_LOCAL);
	T_INTEQ(resolve("bob", "[IPv6:zz]", true, &n, &id), DELIVERY_NOT_LOCAL);
}

/* Alias cycles of every shape are found (RFC 3463 5.4.6), and quickly. */
static void
test_delivery_alias_loops(void)
{
	size_t n;
	uint64_t id;

	T_INTEQ(resolve("self", "loop.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("c1", "loop.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("C2", "LOOP.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("mixed", "loop.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("sub", "loop.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(resolve("anyone", "cloop.test", false, &n, &id), DELIVERY_LOOP);
	T_INTEQ(n, 0);
}

/* A chain as deep as DELIVERY_MAX_DEPTH resolves; one more is refused. */
static void
test_delivery_alias_depth(void)
{
	char src[64], dst[64];
	size_t n;
	uint64_t id;

	T_INTEQ(store_domain_add(store, "deep.test", NULL), 1);
	/* d0 -> d1 -> ... -> d10 -> alice: d0 is DELIVERY_MAX_DEPTH + 1 hops away */
	for (int i = 0; i <= DELIVERY_MAX_DEPTH; i++) {
		snprintf(src, sizeof(src), "d%d@deep.test", i);
		if (i == DELIVERY_MAX_DEPTH)
			snprintf(dst, sizeof(dst), "alice@example.test");
		else
			snprintf(dst, sizeof(dst), "d%d@deep.test", i + 1);
		T_INTEQ(store_alias_add(store, src, dst, NULL), 1);
	}
	T_INTEQ(resolve("d1", "deep.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(id, alice);
	T_INTEQ(resolve("d0", "deep.test", false, &n, &id), DELIVERY_LOOP);
}

/*
 * Fan-out: nine levels of two aliases that each name both aliases of the
 * next level make 2^9 paths to one account; each address is resolved once,
 * so it resolves (and fast). Distinct addresses past DELIVERY_MAX_TARGETS
 * are refused.
 */
static void
test_delivery_alias_fanout(void)
{
	char src[64], dst[64];
	size_t n;
	uint64_t id;

	T_INTEQ(store_domain_add(store, "fan.test", NULL), 1);
	for (int level = 0; level < 9; level++) {
		for (int a = 0; a < 2; a++) {
			snprintf(src, sizeof(src), "f%d_%d@fan.test", level, a);
			for (int b = 0; b < 2; b++) {
				if (level == 8)
					snprintf(dst, sizeof(dst), "bob@localhost");
				else
					snprintf(dst, sizeof(dst), "f%d_%d@fan.test", level + 1, b);
				/* the last level names bob twice: the second is a repeat */
				T_INTEQ(store_alias_add(store, src, dst, NULL),
					b == 1 && level == 8 ? 0 : 1);
			}
		}
	}
	T_INTEQ(resolve("f0_0", "fan.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(n, 1);
	T_INTEQ(id, bob);

	T_INTEQ(store_domain_add(store, "wide.test", NULL), 1);
	for (int i = 0; i < 40; i++) {
		snprintf(dst, sizeof(dst), "w%d@wide.test", i);
		T_INTEQ(store_alias_add(store, "all@wide.test", dst, NULL), 1);
		for (int j = 0; j < 30; j++) {
			snprintf(src, sizeof(src), "w%d_%d@wide.test", i, j);
			T_INTEQ(store_alias_add(store, dst, src, NULL), 1);
			T_INTEQ(store_alias_add(store, src, "alice@example.test", NULL), 1);
		}
	}
	T_INTEQ(resolve("w0", "wide.test", false, &n, &id), DELIVERY_OK);
	T_INTEQ(resolve("all", "wide.test", false, &n, &id), DELIVERY_LOOP);
}

static void
teardown(void)
{
	store_close(&store);
	T_ASSERT(store == NULL);
}

static const struct test tests[] = {
	TEST_ENTRY(setup),
	TEST_ENTRY(test_delivery_accounts),
	TEST_ENTRY(test_delivery_alias_and_subaddress),
	TEST_ENTRY(test_delivery_catchall_and_literals),
	TEST_ENTRY(test_delivery_alias_loops),
	TEST_ENTRY(test_delivery_alias_depth),
	TEST_ENTRY(test_delivery_alias_fanout),
	TEST_ENTRY(teardown),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("delivery", tests);
}
