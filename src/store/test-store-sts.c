/*
 * test-store-sts.c - the MTA-STS policy cache (store_sts_get/_put/_delete,
 * RFC 8461 5.1) on both backends: absent, stored, replaced (a new id), the
 * domain case-folded, one domain apart from another, deleted, argument
 * checks; and on SQLite, kept across a reopen.
 */
#include "store/test-store-util.h"

static void
sts_policy(struct store_sts_policy *p, const char *domain, const char *id, const char *text,
	   int64_t fetched, int64_t expires)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->domain, sizeof(p->domain), "%s", domain);
	snprintf(p->policy_id, sizeof(p->policy_id), "%s", id);
	p->policy = (char *)text;
	p->fetched = fetched;
	p->expires = expires;
}

static void
sts_basic(struct store *st, const char *dir)
{
	struct store_sts_policy in, out;
	const char *error = NULL;
	static const char pol1[] = "version: STSv1\nmode: enforce\nmx: mx.example.com\n"
				   "max_age: 86400\n";
	static const char pol2[] = "version: STSv1\nmode: testing\nmx: *.example.com\n"
				   "max_age: 600\n";

	(void)dir;
	T_INTEQ(store_sts_get(st, "example.com", &out, &error), 0);
	T_ASSERT(out.policy == NULL);
	sts_policy(&in, "Example.COM", "id1", pol1, 1000, 87400);
	T_INTEQ(store_sts_put(st, &in, &error), 1);
	T_INTEQ(store_sts_get(st, "EXAMPLE.com.", &out, &error), 1);
	T_STREQ(out.domain, "example.com");
	T_STREQ(out.policy_id, "id1");
	T_STREQ(out.policy, pol1);
	T_INTEQ(out.fetched, 1000);
	T_INTEQ(out.expires, 87400);
	store_sts_policy_deinit(&out);
	T_ASSERT(out.policy == NULL);
	/* a new id replaces it */
	sts_policy(&in, "example.com", "id2", pol2, 2000, 2600);
	T_INTEQ(store_sts_put(st, &in, &error), 1);
	T_INTEQ(store_sts_get(st, "example.com", &out, &error), 1);
	T_STREQ(out.policy_id, "id2");
	T_STREQ(out.policy, pol2);
	T_INTEQ(out.expires, 2600);
	store_sts_policy_deinit(&out);
	/* another domain is apart */
	sts_policy(&in, "other.example", "x", pol1, 5, 6);
	T_INTEQ(store_sts_put(st, &in, &error), 1);
	T_INTEQ(store_sts_get(st, "other.example", &out, &error), 1);
	T_STREQ(out.policy_id, "x");
	store_sts_policy_deinit(&out);
	T_INTEQ(store_sts_get(st, "example.org", &out, &error), 0);
	/* invalid arguments */
	sts_policy(&in, "", "id", pol1, 1, 2);
	T_INTEQ(store_sts_put(st, &in, &error), -1);
	sts_policy(&in, "a.example", "bad-id", pol1, 1, 2);
	T_INTEQ(store_sts_put(st, &in, &error), -1);
	T_ASSERT(strstr(error, "id") != NULL);
	sts_policy(&in, "a.example", "", pol1, 1, 2);
	T_INTEQ(store_sts_put(st, &in, &error), -1);
	sts_policy(&in, "a.example", "id", NULL, 1, 2);
	T_INTEQ(store_sts_put(st, &in, &error), -1);
	sts_policy(&in, "bad domain", "id", pol1, 1, 2);
	T_INTEQ(store_sts_put(st, &in, &error), -1);
	T_INTEQ(store_sts_get(st, "", &out, &error), 0);
	/* delete */
	T_INTEQ(store_sts_delete(st, "EXAMPLE.COM", &error), 1);
	T_INTEQ(store_sts_delete(st, "example.com", &error), 0);
	T_INTEQ(store_sts_get(st, "example.com", &out, &error), 0);
	T_INTEQ(store_sts_delete(st, "other.example", &error), 1);
}
BOTH(sts_basic)

static void
sts_persist(void)
{
	char *dir = new_data_dir();
	struct store *st = open_store("sqlite", dir);
	struct store_sts_policy in, out;
	const char *error = NULL;

	if (st == NULL) {
		mem_free(&dir);
		return;
	}
	sts_policy(&in, "example.net", "abc", "version: STSv1\nmode: none\nmax_age: 1\n", 10, 11);
	T_INTEQ(store_sts_put(st, &in, &error), 1);
	store_close(&st);
	st = open_store("sqlite", dir);
	if (st != NULL) {
		T_INTEQ(store_sts_get(st, "example.net", &out, &error), 1);
		T_STREQ(out.policy_id, "abc");
		T_STREQ(out.policy, "version: STSv1\nmode: none\nmax_age: 1\n");
		store_sts_policy_deinit(&out);
		store_close(&st);
	}
	mem_free(&dir);
}

static const struct test tests[] = {
	TEST_ENTRY(sts_basic_mem),
	TEST_ENTRY(sts_basic_sqlite),
	TEST_ENTRY(sts_persist),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("store-sts", tests);
}
