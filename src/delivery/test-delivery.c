/* test-delivery.c - recipient resolution against the in-memory store. */
#include "core/mem.h"
#include "core/test.h"
#include "delivery/delivery.h"

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
	TEST_ENTRY(teardown),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("delivery", tests);
}
