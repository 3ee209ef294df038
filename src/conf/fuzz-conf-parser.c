/*
 * fuzz-conf-parser.c - libFuzzer target for conf-parser.c.
 *
 * Parses the input all at once and again one byte at a time, with the
 * default limits and with small ones, and aborts if the two runs disagree in
 * any entry or error: the parser promises identical results for any split.
 * Entries are checked against the grammar's promises (non-empty key, no
 * control characters in values, line numbers ascending).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf-parser.h"
#include "core/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct conf_parser *
parse(const struct conf_parser_limits *limits, const uint8_t *data, size_t size, size_t step)
{
	struct conf_parser *p = conf_parser_new(limits);

	for (size_t off = 0; off < size; off += step) {
		size_t n = size - off < step ? size - off : step;

		if (conf_parser_feed(p, data + off, n) < 0)
			break;
	}
	conf_parser_finish(p);
	return p;
}

static void
check_entries(const struct conf_parser_entry *e, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		ASSERT(e[i].key[0] != '\0');
		ASSERT(i == 0 || e[i].line > e[i - 1].line);
		for (const char *v = e[i].value; *v != '\0'; v++)
			ASSERT((uint8_t)*v >= 0x20 || *v == '\t');
	}
}

static void
compare(const struct conf_parser *a, const struct conf_parser *b)
{
	unsigned int na, nb;
	const struct conf_parser_entry *ea = conf_parser_entries(a, &na);
	const struct conf_parser_entry *eb = conf_parser_entries(b, &nb);
	const struct conf_parser_error *ra, *rb;

	ASSERT(na == nb);
	check_entries(ea, na);
	for (unsigned int i = 0; i < na; i++) {
		ASSERT(ea[i].line == eb[i].line);
		ASSERT(strcmp(ea[i].key, eb[i].key) == 0);
		ASSERT(strcmp(ea[i].value, eb[i].value) == 0);
	}
	ra = conf_parser_errors(a, &na);
	rb = conf_parser_errors(b, &nb);
	ASSERT(na == nb);
	for (unsigned int i = 0; i < na; i++) {
		ASSERT(ra[i].line == rb[i].line);
		ASSERT(strcmp(ra[i].message, rb[i].message) == 0);
	}
}

static void
run(const struct conf_parser_limits *limits, const uint8_t *data, size_t size)
{
	struct conf_parser *whole = parse(limits, data, size, size == 0 ? 1 : size);
	struct conf_parser *bytes = parse(limits, data, size, 1);

	compare(whole, bytes);
	conf_parser_free(&whole);
	conf_parser_free(&bytes);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_parser_limits small = { .max_line_length = 16, .max_lines = 8 };

	run(NULL, data, size);
	run(&small, data, size);
	return 0;
}
