/*
 * test-imap-seqset.c - sequence set parsing, merging, "*" and "$",
 * membership, counting, iteration and formatting.
 */
#include "core/test.h"
#include "imap/imap-seqset.h"

#include <string.h>

/* Parse and format back; "ERR:message" on error. */
static const char *
fmt(const char *text, uint32_t star, unsigned flags, unsigned max, struct buf *out)
{
	struct imap_seqset set;
	const char *err;

	buf_reset(out);
	imap_seqset_init(&set);
	if (imap_seqset_parse(text, strlen(text), star, flags, max, &set, &err) < 0) {
		T_INTEQ(set.count, 0);
		buf_printf(out, "ERR:%s", err);
	} else if (set.searchres) {
		buf_append_str(out, "$");
	} else {
		imap_seqset_format(&set, out);
	}
	imap_seqset_deinit(&set);
	return buf_cstr(out);
}

#define P(text, star) fmt((text), (star), 0, IMAP_SEQSET_DEFAULT_MAX_RANGES, &o)
#define PK(text) fmt((text), 0, IMAP_SEQSET_KEEP_STAR, IMAP_SEQSET_DEFAULT_MAX_RANGES, &o)

static void
test_parse(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(P("1", 10), "1");
	T_STREQ(P("1:5,7,9:*", 20), "1:5,7,9:20");
	T_STREQ(P("4:2", 10), "2:4");
	T_STREQ(P("5,3,4,1", 10), "1,3:5");
	T_STREQ(P("1:3,2:6,8,7", 10), "1:8");
	T_STREQ(P("10:12,1:3,4", 10), "1:4,10:12");
	T_STREQ(P("*", 7), "7");
	T_STREQ(P("*:4", 7), "4:7");
	/* UID "n:*" past the highest UID holds the highest (RFC 9051 6.4.8) */
	T_STREQ(P("100:*", 7), "7:100");
	T_STREQ(P("4294967295", 1), "4294967295");
	T_STREQ(P("1:4294967295,5", 1), "1:4294967295");
	/* empty mailbox: "*" stands for nothing */
	T_STREQ(P("*", 0), "");
	T_STREQ(P("1:*", 0), "1");
	T_STREQ(P("5:*,*", 0), "1:5");
	/* errors */
	T_STREQ(P("0", 10), "ERR:Invalid sequence set");
	T_STREQ(P("0:5", 10), "ERR:Invalid sequence set");
	T_STREQ(P("01", 10), "ERR:Invalid sequence set");
	T_STREQ(P("4294967296", 10), "ERR:Invalid sequence set");
	T_STREQ(P("", 10), "ERR:Invalid sequence set");
	T_STREQ(P("1,", 10), "ERR:Invalid sequence set");
	T_STREQ(P(",1", 10), "ERR:Invalid sequence set");
	T_STREQ(P("1::2", 10), "ERR:Invalid sequence set");
	T_STREQ(P("1:2:3", 10), "ERR:Invalid sequence set");
	T_STREQ(P("1 ,2", 10), "ERR:Invalid sequence set");
	T_STREQ(P("-1", 10), "ERR:Invalid sequence set");
	T_STREQ(P("**", 10), "ERR:Invalid sequence set");
	T_STREQ(P("$", 10), "ERR:$ not allowed here");
	T_STREQ(fmt("$", 10, IMAP_SEQSET_ALLOW_DOLLAR, 10, &o), "$");
	T_STREQ(fmt("$,1", 10, IMAP_SEQSET_ALLOW_DOLLAR, 10, &o), "ERR:Invalid sequence set");
	T_STREQ(fmt("1,2,3", 10, 0, 3, &o), "1:3");
	T_STREQ(fmt("1,2,3,4", 10, 0, 3, &o), "ERR:Too many ranges in sequence set");
	buf_deinit(&o);
}

static void
test_keep_star(void)
{
	struct buf o;

	buf_init(&o, 0);
	T_STREQ(PK("1:*"), "1:*");
	T_STREQ(PK("*:3,*"), "3:*");
	T_STREQ(PK("*,1"), "1,*");
	T_STREQ(PK("5,4294967294:*"), "5,4294967294:*");
	buf_deinit(&o);
}

static void
test_query(void)
{
	struct imap_seqset set;
	struct imap_seqset_iter it;
	struct buf o;
	const char *err;
	uint32_t n;

	buf_init(&o, 0);
	imap_seqset_init(&set);
	T_INTEQ(imap_seqset_parse("2:4,9,20:21", 11, 0, 0, 10, &set, &err), 1);
	T_INTEQ(imap_seqset_count(&set), 6);
	T_ASSERT(!imap_seqset_contains(&set, 1));
	T_ASSERT(imap_seqset_contains(&set, 2));
	T_ASSERT(imap_seqset_contains(&set, 4));
	T_ASSERT(!imap_seqset_contains(&set, 5));
	T_ASSERT(imap_seqset_contains(&set, 9));
	T_ASSERT(imap_seqset_contains(&set, 21));
	T_ASSERT(!imap_seqset_contains(&set, 22));
	imap_seqset_iter_init(&it, &set);
	while (imap_seqset_iter_next(&it, &n))
		buf_printf(&o, "%u ", n);
	T_STREQ(buf_cstr(&o), "2 3 4 9 20 21 ");
	/* building */
	imap_seqset_add(&set, 8, 5);
	imap_seqset_add(&set, 4294967295U, 4294967294U);
	imap_seqset_add(&set, 1, 1);
	buf_reset(&o);
	imap_seqset_format(&set, &o);
	T_STREQ(buf_cstr(&o), "1:9,20:21,4294967294:4294967295");
	/* iteration ends cleanly at the top of the number space */
	imap_seqset_clear(&set);
	imap_seqset_add(&set, 4294967294U, 4294967295U);
	imap_seqset_iter_init(&it, &set);
	buf_reset(&o);
	while (imap_seqset_iter_next(&it, &n))
		buf_printf(&o, "%u ", n);
	T_STREQ(buf_cstr(&o), "4294967294 4294967295 ");
	T_INTEQ(imap_seqset_count(&set), 2);
	imap_seqset_clear(&set);
	imap_seqset_iter_init(&it, &set);
	T_ASSERT(!imap_seqset_iter_next(&it, &n));
	T_INTEQ(imap_seqset_count(&set), 0);
	imap_seqset_deinit(&set);
	buf_deinit(&o);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_parse),
		TEST_ENTRY(test_keep_star),
		TEST_ENTRY(test_query),
		{ NULL, NULL },
	};

	return test_main("imap-seqset", tests);
}
