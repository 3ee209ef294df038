/*
 * test-conf-parser.c - the key = value file syntax (conf-parser.c).
 *
 * Every case is parsed twice, all at once and one byte at a time, and must
 * give the same result both ways. Results are rendered as text, one line per
 * entry ("3 key=value") or error ("4 ! message"), in line order.
 */
#include "conf/conf-parser.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

static void
render(struct conf_parser *p, struct buf *out)
{
	unsigned int ne, nr, i = 0, j = 0;
	const struct conf_parser_entry *e = conf_parser_entries(p, &ne);
	const struct conf_parser_error *r = conf_parser_errors(p, &nr);

	while (i < ne || j < nr) {
		if (j == nr || (i < ne && e[i].line < r[j].line)) {
			buf_printf(out, "%u %s=%s\n", e[i].line, e[i].key, e[i].value);
			i++;
		} else {
			buf_printf(out, "%u ! %s\n", r[j].line, r[j].message);
			j++;
		}
	}
}

/* Parses data with the given limits (NULL: defaults) in steps of step bytes
 * and returns the rendering (allocated) and the finish() result. */
static char *
parse_with(const struct conf_parser_limits *limits, const char *data, size_t size, size_t step,
	   int *ret_r)
{
	struct conf_parser *p = conf_parser_new(limits);
	struct buf out;

	for (size_t off = 0; off < size; off += step)
		conf_parser_feed(p, data + off, size - off < step ? size - off : step);
	*ret_r = conf_parser_finish(p);
	buf_init(&out, 0);
	render(p, &out);
	conf_parser_free(&p);
	return buf_steal_str(&out);
}

/* Checks that data parses to expected both whole and byte by byte. */
static void
check_limits(const struct conf_parser_limits *limits, const char *data, size_t size,
	     const char *expected)
{
	int ret_whole, ret_bytes;
	char *whole = parse_with(limits, data, size, size == 0 ? 1 : size, &ret_whole);
	char *bytes = parse_with(limits, data, size, 1, &ret_bytes);

	T_STREQ(whole, expected);
	T_STREQ(bytes, expected);
	T_INTEQ(ret_whole, strstr(expected, " ! ") == NULL ? 1 : -1);
	T_INTEQ(ret_bytes, ret_whole);
	mem_free(&whole);
	mem_free(&bytes);
}

static void
check(const char *data, const char *expected)
{
	check_limits(NULL, data, strlen(data), expected);
}

static void
test_basic(void)
{
	check("", "");
	check("a = b", "1 a=b\n");
	check("a=b\n", "1 a=b\n");
	check("  key\t=\t value with  spaces \t\n", "1 key=value with  spaces\n");
	check("a = 1\nb = 2\r\nc = 3", "1 a=1\n2 b=2\n3 c=3\n");
	check("k =\n", "1 k=\n");
	check("k=   \n", "1 k=\n");
	check("k = a = b\n", "1 k=a = b\n");
	check("smtp.x-y_z9 = 1\n", "1 smtp.x-y_z9=1\n");
}

static void
test_comments_blank(void)
{
	check("# comment\n\n   \n\t# indented comment\nk = v\n#\n", "5 k=v\n");
	/* no trailing comments: '#' belongs to the value */
	check("k = a # not a comment\n", "1 k=a # not a comment\n");
	check("k = #\n", "1 k=#\n");
	/* anything goes in a comment, even control bytes */
	check("# \x01\x7f\xff\n", "");
	check("\n\n\nk = v", "4 k=v\n");
	check("\r\n", "");
}

static void
test_errors(void)
{
	check("novalue\n", "1 ! missing '=' after key\n");
	check("two words = 1\n", "1 ! expected '=' after key\n");
	check("= v\n", "1 ! missing key before '='\n");
	check("  =\n", "1 ! missing key before '='\n");
	check("_k = v\n", "1 ! key must start with a letter or digit\n");
	check("k!y = v\n", "1 ! invalid character in key (use letters, digits, '_', '-', '.')\n");
	check("k = a\x01 b\n", "1 ! control character in value\n");
	check("k = a\rb\n", "1 ! control character in value\n");
	check("k = \x7f\n", "1 ! control character in value\n");
	/* bytes >= 0x80 are left for the schema to judge */
	check("k = \xc3\xa9\n", "1 k=\xc3\xa9\n");
	/* parsing goes on after a bad line */
	check("a = 1\nbad\nb = 2\n= x\nc = 3\n",
	      "1 a=1\n2 ! missing '=' after key\n3 b=2\n4 ! missing key before '='\n5 c=3\n");
}

static void
test_nul(void)
{
	static const char data[] = "a = x\0y\nb = 2\n# c\0\n";

	check_limits(NULL, data, sizeof(data) - 1, "1 ! NUL byte in value\n2 b=2\n");
}

static void
test_bom(void)
{
	check("\xef\xbb\xbfk = v\n", "1 k=v\n");
	/* only before the first line */
	check("a = 1\n\xef\xbb\xbfk = v\n",
	      "1 a=1\n2 ! key must start with a letter or digit\n");
}

static void
test_line_length(void)
{
	struct conf_parser_limits limits = { .max_line_length = 8, .max_lines = 100 };
	const char *ok = "k = 1234\nk = 1234\r\n";
	const char *longer = "k = 12345\nk = 123456789012345678\r\nb=1\nk = 12345\r\n";

	check_limits(&limits, ok, strlen(ok), "1 k=1234\n2 k=1234\n");
	check_limits(&limits, longer, strlen(longer),
		     "1 ! line too long\n2 ! line too long\n3 b=1\n4 ! line too long\n");
	/* a comment is a line too */
	check_limits(&limits, "# 1234567\n", 10, "1 ! line too long\n");
	/* the last line without LF */
	check_limits(&limits, "b=1\nk = 12345", 13, "1 b=1\n2 ! line too long\n");
}

/* Exactly the default maximum passes (also with CRLF); one more byte fails. */
static void
test_default_line_length(void)
{
	struct buf b, expected;

	buf_init(&b, 0);
	buf_init(&expected, 0);
	buf_append_str(&b, "k = ");
	while (buf_len(&b) < CONF_PARSER_DEFAULT_MAX_LINE_LENGTH)
		buf_append_byte(&b, 'x');
	buf_printf(&expected, "1 k=%s\n", buf_cstr(&b) + 4);
	buf_append_str(&b, "\r\n");
	check_limits(NULL, buf_cstr(&b), buf_len(&b), buf_cstr(&expected));
	buf_truncate(&b, buf_len(&b) - 2);
	buf_append_str(&b, "y\r\n");
	check_limits(NULL, buf_cstr(&b), buf_len(&b), "1 ! line too long\n");
	buf_deinit(&b);
	buf_deinit(&expected);
}

static void
test_max_lines(void)
{
	struct conf_parser_limits limits = { .max_line_length = 100, .max_lines = 3 };
	const char *three = "a=1\n\nc=3\n";
	const char *four = "a=1\n\nc=3\nd=4\ne=5\n";

	check_limits(&limits, three, strlen(three), "1 a=1\n3 c=3\n");
	check_limits(&limits, four, strlen(four), "1 a=1\n3 c=3\n4 ! too many lines\n");
}

static void
test_feed_after_stop(void)
{
	struct conf_parser_limits limits = { .max_line_length = 100, .max_lines = 1 };
	struct conf_parser *p = conf_parser_new(&limits);
	unsigned int n;

	T_INTEQ(conf_parser_feed(p, "a=1\n", 4), 0);
	T_INTEQ(conf_parser_feed(p, "b=2\nc", 5), -1);
	T_INTEQ(conf_parser_feed(p, "=3\n", 3), -1);
	T_INTEQ(conf_parser_finish(p), -1);
	conf_parser_entries(p, &n);
	T_INTEQ(n, 1);
	conf_parser_errors(p, &n);
	T_INTEQ(n, 1);
	conf_parser_free(&p);
	T_ASSERT(p == NULL);
}

static const struct test tests[] = {
	TEST_ENTRY(test_basic),
	TEST_ENTRY(test_comments_blank),
	TEST_ENTRY(test_errors),
	TEST_ENTRY(test_nul),
	TEST_ENTRY(test_bom),
	TEST_ENTRY(test_line_length),
	TEST_ENTRY(test_default_line_length),
	TEST_ENTRY(test_max_lines),
	TEST_ENTRY(test_feed_after_stop),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("conf-parser", tests);
}
