/*
 * test-imap-flags.c - the system flag table (order, lookup in any case),
 * keyword sets: membership ignoring ASCII case, the union that keeps the
 * first spelling and order, bounded sets, and the atom check of
 * flag-keywords.
 */
#include "core/test.h"
#include "imap/imap-flags.h"

#include <stdio.h>
#include <string.h>

#include "core/mem.h"
#include "imap/imap-server.h"

static void
test_system_flags(void)
{
	static const char *const order[] = {
		"\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft", "\\Recent",
	};
	unsigned bit, all = 0;
	const char *name;
	size_t i;

	for (i = 0; (name = imap_flag_at(i, &bit)) != NULL; i++) {
		T_ASSERT(i < 6);
		if (i < 6)
			T_STREQ(name, order[i]);
		T_ASSERT((all & bit) == 0);
		all |= bit;
		T_INTEQ(imap_flag_from_name(name), bit);
	}
	T_INTEQ(i, 6);
	T_INTEQ(all, IMAP_FLAG_MASK | IMAP_FLAG_RECENT);
	T_INTEQ(imap_flag_from_name("\\sEEN"), IMAP_FLAG_SEEN);
	T_INTEQ(imap_flag_from_name("\\RECENT"), IMAP_FLAG_RECENT);
	T_INTEQ(imap_flag_from_name("\\Seenx"), 0);
	T_INTEQ(imap_flag_from_name("Seen"), 0);
	T_INTEQ(imap_flag_from_name("\\*"), 0);
	T_INTEQ(imap_flag_from_name(""), 0);
}

static void
test_has(void)
{
	T_ASSERT(imap_keywords_has("$Junk Work", "work", 4));
	T_ASSERT(imap_keywords_has("  $Junk   Work ", "$JUNK", 5));
	T_ASSERT(!imap_keywords_has("$Junk Work", "Wor", 3));
	T_ASSERT(!imap_keywords_has("$Junk Work", "Works", 5));
	/* a prefix of a longer word is not the word */
	T_ASSERT(!imap_keywords_has("Workshop", "Work", 4));
	T_ASSERT(!imap_keywords_has("", "a", 1));
	T_ASSERT(!imap_keywords_has(NULL, "a", 1));
	/* the empty word is never a member */
	T_ASSERT(!imap_keywords_has("a  b ", "", 0));
}

static void
test_add(void)
{
	struct buf set;

	buf_init(&set, 0);
	T_ASSERT(!imap_keywords_add(&set, NULL));
	T_ASSERT(!imap_keywords_add(&set, ""));
	T_ASSERT(!imap_keywords_add(&set, "   "));
	T_ASSERT(imap_keywords_add(&set, "Work  $Junk"));
	T_STREQ(buf_cstr(&set), "Work $Junk");
	/* the case first seen stays; only new words are added, in order */
	T_ASSERT(imap_keywords_add(&set, " $junk Home WORK home Todo "));
	T_STREQ(buf_cstr(&set), "Work $Junk Home Todo");
	T_ASSERT(!imap_keywords_add(&set, "todo HOME"));
	T_STREQ(buf_cstr(&set), "Work $Junk Home Todo");
	buf_deinit(&set);

	/* a bounded set keeps whole words only */
	buf_init(&set, 8);
	T_ASSERT(imap_keywords_add(&set, "abc defgh ij"));
	T_STREQ(buf_cstr(&set), "abc ij");
	T_ASSERT(!imap_keywords_add(&set, "klm"));
	T_STREQ(buf_cstr(&set), "abc ij");
	buf_deinit(&set);
}

static void
test_merge(void)
{
	char *set = mem_strdup("");
	char *before;

	T_ASSERT(!imap_keywords_merge(&set, NULL));
	T_ASSERT(!imap_keywords_merge(&set, ""));
	T_ASSERT(imap_keywords_merge(&set, "a B"));
	T_STREQ(set, "a B");
	/* nothing new: the string is not replaced */
	before = set;
	T_ASSERT(!imap_keywords_merge(&set, "b A"));
	T_ASSERT(set == before);
	T_ASSERT(imap_keywords_merge(&set, "b c"));
	T_STREQ(set, "a B c");
	mem_free(&set);
}

static void
test_valid(void)
{
	static const struct {
		const char *kw;
		size_t len;
		bool ok;
	} cases[] = {
		{ "$Forwarded", 10, true }, { "NIL", 3, true },   { "a[b", 3, true },
		{ "", 0, false },           { "a b", 3, false },  { "a]", 2, false },
		{ "\\Seen", 5, false },     { "a\"", 2, false },  { "(a", 2, false },
		{ "a*", 2, false },         { "a%", 2, false },   { "{1}", 3, false },
		{ "a\x7f", 2, false },      { "\xc3\xa9t\xc3\xa9", 6, false },
		/* only len octets count: a NUL inside is refused, what follows
		 * is not looked at */
		{ "a\0b", 3, false },       { "ab)", 2, true },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		if (!T_INTEQ(imap_keyword_valid(cases[i].kw, cases[i].len), cases[i].ok))
			fprintf(stderr, "  case %zu\n", i);
	}
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_system_flags),
		TEST_ENTRY(test_has),
		TEST_ENTRY(test_add),
		TEST_ENTRY(test_merge),
		TEST_ENTRY(test_valid),
		{ NULL, NULL },
	};

	return test_main("imap-flags", tests);
}
