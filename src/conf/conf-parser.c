/*
 * conf-parser.c - see conf-parser.h.
 *
 * Input is collected one line at a time in a buffer whose maximum is the line
 * limit (plus one byte for the CR of a CRLF ending); a line that does not fit
 * is skipped up to its LF and reported once. Every decision about a line is
 * taken only when the line is complete (at LF or at finish), which is what
 * makes the result independent of how the input was split.
 */
#include "conf/conf-parser.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "core/buf.h"
#include "core/mem.h"

struct conf_parser {
	struct conf_parser_limits limits;
	struct buf line;       /* bytes of the current line so far */
	bool line_too_long;    /* current line overflowed: discarding to LF */
	bool stopped;          /* fatal error: input is ignored */
	bool finished;
	unsigned int line_no;  /* number of the current line when it ends */

	struct conf_parser_entry *entries;
	unsigned int entry_count, entry_cap;
	struct conf_parser_error *errors;
	unsigned int error_count, error_cap;
};

void
conf_parser_limits_default(struct conf_parser_limits *limits_r)
{
	limits_r->max_line_length = CONF_PARSER_DEFAULT_MAX_LINE_LENGTH;
	limits_r->max_lines = CONF_PARSER_DEFAULT_MAX_LINES;
}

struct conf_parser *
conf_parser_new(const struct conf_parser_limits *limits)
{
	struct conf_parser *p = mem_zalloc(sizeof(*p));

	if (limits != NULL)
		p->limits = *limits;
	else
		conf_parser_limits_default(&p->limits);
	/* +1: room for the CR of a CRLF line of exactly max_line_length bytes */
	buf_init(&p->line, mem_size_add(p->limits.max_line_length, 1));
	return p;
}

void
conf_parser_free(struct conf_parser **parser)
{
	struct conf_parser *p = *parser;

	if (p == NULL)
		return;
	for (unsigned int i = 0; i < p->entry_count; i++) {
		mem_free(&p->entries[i].key);
		mem_free(&p->entries[i].value);
	}
	mem_free(&p->entries);
	mem_free(&p->errors);
	buf_deinit(&p->line);
	mem_free(parser);
}

static void
parser_error(struct conf_parser *p, const char *message)
{
	if (p->error_count == p->error_cap) {
		p->error_cap = p->error_cap == 0 ? 8 : p->error_cap * 2;
		p->errors = mem_realloc(p->errors, mem_size_mul(p->error_cap, sizeof(*p->errors)));
	}
	p->errors[p->error_count].line = p->line_no;
	p->errors[p->error_count].message = message;
	p->error_count++;
}

static void
parser_add_entry(struct conf_parser *p, const uint8_t *key, size_t key_len,
		 const uint8_t *value, size_t value_len)
{
	struct conf_parser_entry *e;

	if (p->entry_count == p->entry_cap) {
		p->entry_cap = p->entry_cap == 0 ? 16 : p->entry_cap * 2;
		p->entries = mem_realloc(p->entries,
					 mem_size_mul(p->entry_cap, sizeof(*p->entries)));
	}
	e = &p->entries[p->entry_count++];
	e->key = mem_strndup((const char *)key, key_len);
	e->value = mem_strndup((const char *)value, value_len);
	e->line = p->line_no;
}

static bool
is_wsp(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static bool
is_key_char(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == '.';
}

/* Checks a key token; returns NULL when valid, else the error message. */
static const char *
check_key(const uint8_t *key, size_t len)
{
	if (len == 0)
		return "missing key before '='";
	if (!is_key_char(key[0]) || key[0] == '_' || key[0] == '-' || key[0] == '.')
		return "key must start with a letter or digit";
	for (size_t i = 1; i < len; i++) {
		if (!is_key_char(key[i]))
			return "invalid character in key (use letters, digits, '_', '-', '.')";
	}
	return NULL;
}

/* Checks a value; returns NULL when valid, else the error message. */
static const char *
check_value(const uint8_t *value, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (value[i] == '\0')
			return "NUL byte in value";
		if ((value[i] < 0x20 && value[i] != '\t') || value[i] == 0x7f)
			return "control character in value";
	}
	return NULL;
}

/* One complete line without its ending. */
static void
parse_line(struct conf_parser *p, const uint8_t *s, size_t len)
{
	size_t i = 0, key_start, key_end, value_start, value_end;
	const char *error;

	while (i < len && is_wsp(s[i]))
		i++;
	if (i == len || s[i] == '#')
		return; /* blank line or whole-line comment */
	key_start = i;
	while (i < len && !is_wsp(s[i]) && s[i] != '=')
		i++;
	key_end = i;
	while (i < len && is_wsp(s[i]))
		i++;
	error = key_end > key_start ? check_key(s + key_start, key_end - key_start) : NULL;
	if (error != NULL) {
		parser_error(p, error);
		return;
	}
	if (i == len || s[i] != '=') {
		parser_error(p, i == len ? "missing '=' after key" : "expected '=' after key");
		return;
	}
	if (key_end == key_start) {
		parser_error(p, "missing key before '='");
		return;
	}
	i++;
	while (i < len && is_wsp(s[i]))
		i++;
	value_start = i;
	value_end = len;
	while (value_end > value_start && is_wsp(s[value_end - 1]))
		value_end--;
	if ((error = check_value(s + value_start, value_end - value_start)) != NULL) {
		parser_error(p, error);
		return;
	}
	parser_add_entry(p, s + key_start, key_end - key_start, s + value_start,
			 value_end - value_start);
}

static void
parser_end_line(struct conf_parser *p)
{
	const uint8_t *s = buf_data(&p->line);
	size_t len = buf_len(&p->line);

	p->line_no++;
	if (p->line_no > p->limits.max_lines) {
		parser_error(p, "too many lines");
		p->stopped = true;
	} else if (p->line_too_long) {
		parser_error(p, "line too long");
	} else {
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len > p->limits.max_line_length) {
			parser_error(p, "line too long");
		} else {
			if (p->line_no == 1 && len >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
				s += 3; /* UTF-8 byte order mark */
				len -= 3;
			}
			parse_line(p, s, len);
		}
	}
	p->line_too_long = false;
	buf_reset(&p->line);
}

int
conf_parser_feed(struct conf_parser *p, const void *data, size_t size)
{
	const uint8_t *d = data;

	ASSERT(!p->finished);
	while (size > 0 && !p->stopped) {
		const uint8_t *lf = memchr(d, '\n', size);
		size_t n = lf != NULL ? (size_t)(lf - d) : size;

		if (!p->line_too_long && buf_append(&p->line, d, n) < 0) {
			p->line_too_long = true;
			buf_reset(&p->line);
		}
		if (lf == NULL)
			break;
		parser_end_line(p);
		d += n + 1;
		size -= n + 1;
	}
	return p->stopped ? -1 : 0;
}

int
conf_parser_finish(struct conf_parser *p)
{
	ASSERT(!p->finished);
	if (!p->stopped && (buf_len(&p->line) > 0 || p->line_too_long))
		parser_end_line(p);
	p->finished = true;
	buf_deinit(&p->line);
	return p->error_count == 0 ? 1 : -1;
}

const struct conf_parser_entry *
conf_parser_entries(const struct conf_parser *p, unsigned int *count_r)
{
	*count_r = p->entry_count;
	return p->entries;
}

const struct conf_parser_error *
conf_parser_errors(const struct conf_parser *p, unsigned int *count_r)
{
	*count_r = p->error_count;
	return p->errors;
}
