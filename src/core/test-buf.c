/* test-buf.c - bounded buffer behaviour. */
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

static void
test_buf_limit(void)
{
	struct buf b;

	buf_init(&b, 8);
	T_INTEQ(buf_append_str(&b, "12345"), 0);
	T_INTEQ(buf_append_str(&b, "6789"), -1);
	T_INTEQ(buf_len(&b), 5);
	T_STREQ(buf_cstr(&b), "12345");
	T_INTEQ(buf_append_str(&b, "678"), 0);
	T_INTEQ(buf_len(&b), 8);
	buf_consume(&b, 3);
	T_STREQ(buf_cstr(&b), "45678");
	T_INTEQ(buf_append_str(&b, "abc"), 0);
	T_STREQ(buf_cstr(&b), "45678abc");
	buf_deinit(&b);
}

static void
test_buf_printf_grow(void)
{
	struct buf b;

	buf_init(&b, 0);
	for (int i = 0; i < 1000; i++)
		T_INTEQ(buf_printf(&b, "%04d", i), 0);
	T_INTEQ(buf_len(&b), 4000);
	T_ASSERT(memcmp(buf_data(&b) + 3996, "0999", 4) == 0);
	buf_truncate(&b, 4);
	T_STREQ(buf_cstr(&b), "0000");
	char *s = buf_steal_str(&b);
	T_STREQ(s, "0000");
	T_INTEQ(buf_len(&b), 0);
	mem_free(&s);
	buf_deinit(&b);
}

static const struct test tests[] = {
	TEST_ENTRY(test_buf_limit),
	TEST_ENTRY(test_buf_printf_grow),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("buf", tests);
}
