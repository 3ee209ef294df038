/*
 * test.h - the in-house unit-test runner.
 *
 * A test program is test-NAME.c beside the code it tests. It lists its test
 * functions in a NULL-terminated array of struct test and calls
 * test_main("NAME", tests). Each function is one test; it passes when none of
 * its T_*() checks failed. The last line printed is exactly
 * "NAME: N passed, N failed" and the exit status is 0 only when N failed is 0.
 * Failed checks print file:line and the expression; a test continues after a
 * failed check so that one run shows every failure.
 */
#ifndef CORE_TEST_H
#define CORE_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct test {
	const char *name;
	void (*fn)(void);
};
#define TEST_ENTRY(fn) { #fn, fn }

int test_main(const char *suite, const struct test *tests);

bool test_check(bool ok, const char *file, int line, const char *expr);
bool test_check_str(const char *a, const char *b, const char *file, int line, const char *expr);
bool test_check_mem(const void *a, size_t alen, const void *b, size_t blen,
		    const char *file, int line, const char *expr);
bool test_check_int(long long a, long long b, const char *file, int line, const char *expr);

#define T_ASSERT(expr) test_check(!!(expr), __FILE__, __LINE__, #expr)
#define T_STREQ(a, b) test_check_str((a), (b), __FILE__, __LINE__, #a " == " #b)
#define T_MEMEQ(a, alen, b, blen) \
	test_check_mem((a), (alen), (b), (blen), __FILE__, __LINE__, #a " == " #b)
#define T_INTEQ(a, b) test_check_int((long long)(a), (long long)(b), __FILE__, __LINE__, #a " == " #b)

/* A scratch directory for the current test program (removed at exit). */
const char *test_tmpdir(void);

#endif
