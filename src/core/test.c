/*
 * test.c - see test.h. Not linked into the server: only test programs call
 * test_main, and the linker drops this object from posthorn.
 */
#include "core/test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int test_failed_checks;
static char test_dir[256];

bool
test_check(bool ok, const char *file, int line, const char *expr)
{
	if (!ok) {
		fprintf(stderr, "  FAIL %s:%d: %s\n", file, line, expr);
		test_failed_checks++;
	}
	return ok;
}

bool
test_check_str(const char *a, const char *b, const char *file, int line, const char *expr)
{
	bool ok = (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);

	if (!ok)
		fprintf(stderr, "  FAIL %s:%d: %s: \"%s\" != \"%s\"\n", file, line, expr,
			a == NULL ? "(null)" : a, b == NULL ? "(null)" : b);
	if (!ok)
		test_failed_checks++;
	return ok;
}

bool
test_check_mem(const void *a, size_t alen, const void *b, size_t blen,
	       const char *file, int line, const char *expr)
{
	bool ok = alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);

	if (!ok) {
		fprintf(stderr, "  FAIL %s:%d: %s: \"%.*s\" (%zu) != \"%.*s\" (%zu)\n", file, line,
			expr, (int)(alen > 200 ? 200 : alen), a == NULL ? "" : (const char *)a, alen,
			(int)(blen > 200 ? 200 : blen), b == NULL ? "" : (const char *)b, blen);
		test_failed_checks++;
	}
	return ok;
}

bool
test_check_int(long long a, long long b, const char *file, int line, const char *expr)
{
	if (a != b) {
		fprintf(stderr, "  FAIL %s:%d: %s: %lld != %lld\n", file, line, expr, a, b);
		test_failed_checks++;
		return false;
	}
	return true;
}

const char *
test_tmpdir(void)
{
	if (test_dir[0] == '\0') {
		const char *base = getenv("TMPDIR");

		snprintf(test_dir, sizeof(test_dir), "%s/posthorn-test-XXXXXX",
			 base != NULL ? base : "/tmp");
		if (mkdtemp(test_dir) == NULL) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return test_dir;
}

static void
test_cleanup(void)
{
	char cmd[300];

	if (test_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", test_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", test_dir);
}

int
test_main(const char *suite, const struct test *tests)
{
	int passed = 0, failed = 0;

	atexit(test_cleanup);
	for (const struct test *t = tests; t->name != NULL; t++) {
		int before = test_failed_checks;

		t->fn();
		if (test_failed_checks == before) {
			passed++;
		} else {
			failed++;
			fprintf(stderr, "%s: %s FAILED\n", suite, t->name);
		}
	}
	printf("%s: %d passed, %d failed\n", suite, passed, failed);
	return failed == 0 ? 0 : 1;
}
