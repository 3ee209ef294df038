/*
 * conf-parser.h - syntax of posthorn.conf: "key = value" lines.
 *
 * What it does: turns the bytes of one configuration file into a list of
 * (key, value, line number) entries and a list of (line number, message)
 * syntax errors. The grammar, one line at a time:
 *
 *   line    = blank / comment / setting
 *   blank   = *WSP
 *   comment = *WSP "#" *any             ; whole-line comments only
 *   setting = *WSP key *WSP "=" *WSP value *WSP
 *   key     = (ALPHA / DIGIT) *(ALPHA / DIGIT / "_" / "-" / ".")
 *   value   = any bytes except NUL and control characters other than TAB
 *
 * WSP is space or tab. Lines end in LF or CRLF; the last line may lack one.
 * A '#' inside a value is part of the value (there are no trailing comments),
 * so "key = a#b" sets "a#b". A UTF-8 byte order mark before the first line is
 * skipped. An empty value ("key =") is allowed; whether it is valid is for
 * the schema (conf.h) to decide.
 *
 * What it does not do: it knows no key names, value types, duplicates or
 * files; conf-load.c does. It is pure: no I/O, logging or globals.
 *
 * Invariants: input may be fed in any split (one byte at a time or all at
 * once) with identical results. A bad line gives one error and parsing goes
 * on with the next line, so that every syntax error of a file is reported.
 * Memory is bounded by the limits: a line longer than max_line_length is
 * never buffered, and more than max_lines lines stop the parser with a final
 * error.
 */
#ifndef CONF_CONF_PARSER_H
#define CONF_CONF_PARSER_H

#include <stddef.h>

#define CONF_PARSER_DEFAULT_MAX_LINE_LENGTH 4096
#define CONF_PARSER_DEFAULT_MAX_LINES 10000

struct conf_parser_limits {
	/* bytes in one line, not counting its LF or CRLF ending */
	size_t max_line_length;
	/* lines in one file, counting blank lines and comments */
	unsigned int max_lines;
};

struct conf_parser_entry {
	char *key;         /* NUL-terminated, never empty */
	char *value;       /* NUL-terminated, may be empty; holds no control characters but TAB */
	unsigned int line; /* 1-based */
};

struct conf_parser_error {
	unsigned int line;   /* 1-based */
	const char *message; /* static text, no line number or file name */
};

struct conf_parser;

/* Sets the default limits. */
void conf_parser_limits_default(struct conf_parser_limits *limits_r);

/* A parser for one file. limits NULL means the defaults; they are copied.
 * Free with conf_parser_free(). Never returns NULL. */
struct conf_parser *conf_parser_new(const struct conf_parser_limits *limits);
void conf_parser_free(struct conf_parser **parser);

/* Feed the next size bytes of the file. Returns 0 when more input may come,
 * -1 when a fatal error (too many lines) stopped the parser: later input is
 * ignored and the caller need not read further. */
int conf_parser_feed(struct conf_parser *parser, const void *data, size_t size);

/* End of input: parses a last line without a line ending. Returns 1 when the
 * whole file had no syntax error, -1 when conf_parser_errors() lists some.
 * Feeding after finish is a bug (panics). */
int conf_parser_finish(struct conf_parser *parser);

/* Entries in file order (valid lines only). The array and its strings belong
 * to the parser and live until conf_parser_free(). */
const struct conf_parser_entry *
conf_parser_entries(const struct conf_parser *parser, unsigned int *count_r);

/* Errors in line order, at most one per line; same lifetime as entries. */
const struct conf_parser_error *
conf_parser_errors(const struct conf_parser *parser, unsigned int *count_r);

#endif
