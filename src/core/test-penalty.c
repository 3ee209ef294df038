/* test-penalty.c - failed-login delays per address. */
#include "core/mem.h"
#include "core/penalty.h"
#include "core/test.h"

static void
test_penalty_growth(void)
{
	struct penalty *p = penalty_new(8);

	T_INTEQ(penalty_fail(p, "192.0.2.1", 1000, 500, 4000), 500);
	T_INTEQ(penalty_fail(p, "192.0.2.1", 1001, 500, 4000), 1000);
	T_INTEQ(penalty_fail(p, "192.0.2.1", 1002, 500, 4000), 2000);
	T_INTEQ(penalty_fail(p, "192.0.2.1", 1003, 500, 4000), 4000);
	T_INTEQ(penalty_fail(p, "192.0.2.1", 1004, 500, 4000), 4000);
	for (int i = 0; i < 100; i++)
		penalty_fail(p, "192.0.2.1", 1005, 500, 4000);
	T_INTEQ(penalty_fail(p, "192.0.2.1", 1006, 500, 4000), 4000);
	/* another address is not affected */
	T_INTEQ(penalty_fail(p, "192.0.2.2", 1007, 500, 4000), 500);
	/* zero base: no delay, still counted */
	T_INTEQ(penalty_fail(p, "192.0.2.3", 1008, 0, 4000), 0);
	T_INTEQ(penalty_count(p, "192.0.2.3", 1008), 1);
	penalty_free(&p);
	T_ASSERT(p == NULL);
}

static void
test_penalty_clear_and_forget(void)
{
	struct penalty *p = penalty_new(8);

	penalty_fail(p, "a", 0, 100, 1000);
	penalty_fail(p, "a", 1, 100, 1000);
	T_INTEQ(penalty_count(p, "a", 2), 2);
	penalty_clear(p, "a");
	T_INTEQ(penalty_count(p, "a", 2), 0);
	T_INTEQ(penalty_fail(p, "a", 3, 100, 1000), 100);
	T_INTEQ(penalty_count(p, "a", 3 + PENALTY_FORGET_MS + 1), 0);
	T_INTEQ(penalty_fail(p, "a", 4 + PENALTY_FORGET_MS + 1, 100, 1000), 100);
	penalty_free(&p);
}

static void
test_penalty_bounded(void)
{
	struct penalty *p = penalty_new(2);

	penalty_fail(p, "a", 10, 100, 1000);
	penalty_fail(p, "b", 20, 100, 1000);
	penalty_fail(p, "c", 30, 100, 1000); /* evicts a, the oldest */
	T_INTEQ(penalty_count(p, "a", 31), 0);
	T_INTEQ(penalty_count(p, "b", 31), 1);
	T_INTEQ(penalty_count(p, "c", 31), 1);
	penalty_free(&p);
}

static const struct test tests[] = {
	TEST_ENTRY(test_penalty_growth),
	TEST_ENTRY(test_penalty_clear_and_forget),
	TEST_ENTRY(test_penalty_bounded),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("penalty", tests);
}
