/*
 * imap-section.c - section specs (see imap-section.h).
 */
#include "mime/imap-section.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "mime/rfc5322-header.h"

struct cursor {
	const char *p, *end;
};

static bool
take_word(struct cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

/* nz-number (RFC 9051 9); 0 when there is none or it is out of range. */
static unsigned
take_number(struct cursor *c)
{
	unsigned n = 0;

	if (c->p >= c->end || *c->p < '1' || *c->p > '9')
		return 0;
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		if (n > 100000000)
			return 0;
		n = n * 10 + (unsigned)(*c->p++ - '0');
	}
	return n;
}

/* ASTRING-CHAR minus what ends a name in a list (RFC 9051 9: atom-specials). */
static bool
is_astring_char(char ch)
{
	unsigned char u = (unsigned char)ch;

	return u > 32 && u < 127 && strchr("(){%*\"\\", ch) == NULL;
}

/* header-fld-name = astring: an atom or a quoted string (a literal was
 * already resolved by the command parser into one of these). */
static char *
take_name(struct cursor *c)
{
	struct buf b;

	buf_init(&b, 0);
	if (c->p < c->end && *c->p == '"') {
		c->p++;
		while (c->p < c->end && *c->p != '"') {
			if (*c->p == '\\' && c->p + 1 < c->end)
				c->p++;
			buf_append_byte(&b, (uint8_t)*c->p++);
		}
		if (c->p >= c->end) {
			buf_deinit(&b);
			return NULL;
		}
		c->p++;
	} else {
		while (c->p < c->end && is_astring_char(*c->p))
			buf_append_byte(&b, (uint8_t)*c->p++);
	}
	if (buf_len(&b) == 0 || memchr(buf_data(&b), ':', buf_len(&b)) != NULL) {
		buf_deinit(&b);
		return NULL;
	}
	return buf_steal_str(&b);
}

/* SP header-list (RFC 9051 9). */
static int
take_list(struct cursor *c, struct imap_section *s, const char **error_r)
{
	if (!take_word(c, " (")) {
		*error_r = "Expected a list of header field names";
		return -1;
	}
	for (;;) {
		char *name = take_name(c);

		if (name == NULL) {
			*error_r = "Invalid header field name";
			return -1;
		}
		if (s->n_fields == IMAP_SECTION_MAX_FIELDS) {
			mem_free(&name);
			*error_r = "Too many header field names";
			return -1;
		}
		s->fields = mem_realloc(s->fields, (s->n_fields + 1) * sizeof(char *));
		s->fields[s->n_fields++] = name;
		if (take_word(c, ")"))
			return 0;
		if (!take_word(c, " ")) {
			*error_r = "Invalid header field list";
			return -1;
		}
	}
}

static int
take_text(struct cursor *c, struct imap_section *s, const char **error_r)
{
	if (take_word(c, "HEADER.FIELDS.NOT")) {
		s->text = IMAP_SECTION_TEXT_HEADER_FIELDS_NOT;
		return take_list(c, s, error_r);
	}
	if (take_word(c, "HEADER.FIELDS")) {
		s->text = IMAP_SECTION_TEXT_HEADER_FIELDS;
		return take_list(c, s, error_r);
	}
	if (take_word(c, "HEADER"))
		s->text = IMAP_SECTION_TEXT_HEADER;
	else if (take_word(c, "TEXT"))
		s->text = IMAP_SECTION_TEXT_TEXT;
	else if (s->n_parts > 0 && take_word(c, "MIME"))
		s->text = IMAP_SECTION_TEXT_MIME;
	else {
		*error_r = "Invalid section";
		return -1;
	}
	return 0;
}

static int
parse(struct cursor *c, struct imap_section *s, const char **error_r)
{
	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		unsigned n = take_number(c);

		if (n == 0 || s->n_parts == IMAP_SECTION_MAX_PARTS) {
			*error_r = "Invalid section part number";
			return -1;
		}
		s->parts[s->n_parts++] = n;
		if (c->p == c->end)
			return 0;
		if (*c->p++ != '.') {
			*error_r = "Invalid section";
			return -1;
		}
	}
	if (c->p == c->end && s->n_parts == 0)
		return 0;
	if (take_text(c, s, error_r) < 0)
		return -1;
	if (c->p != c->end) {
		*error_r = "Junk after section";
		return -1;
	}
	return 0;
}

int
imap_section_parse(const char *spec, size_t len, struct imap_section *section_r,
		   const char **error_r)
{
	struct cursor c = { spec, spec + len };

	memset(section_r, 0, sizeof(*section_r));
	if (parse(&c, section_r, error_r) < 0) {
		imap_section_deinit(section_r);
		return -1;
	}
	return 1;
}

void
imap_section_deinit(struct imap_section *section)
{
	for (unsigned i = 0; i < section->n_fields; i++)
		mem_free(&section->fields[i]);
	mem_free(&section->fields);
	memset(section, 0, sizeof(*section));
}

/* Walk the part numbers (RFC 9051 6.4.5). *at_message_r: no number was
 * given, *part_r is the root message. NULL when a part does not exist. */
static const struct mime_part *
walk(const struct imap_section *s, const struct mime_part *root, bool *at_message_r)
{
	const struct mime_part *cur = root;
	bool at_message = true;

	for (unsigned i = 0; i < s->n_parts && cur != NULL; i++) {
		unsigned n = s->parts[i];

		if (!at_message) {
			if ((cur->flags & MIME_PART_FLAG_MULTIPART) != 0 && cur->children != NULL) {
				cur = mime_part_child(cur, n);
				continue;
			}
			if ((cur->flags & MIME_PART_FLAG_MESSAGE) == 0 || cur->children == NULL)
				return NULL;
			cur = cur->children;
		}
		/* a message: its parts if multipart, else part 1 is its body */
		if ((cur->flags & MIME_PART_FLAG_MULTIPART) != 0 && cur->children != NULL)
			cur = mime_part_child(cur, n);
		else if (n != 1)
			return NULL;
		at_message = false;
	}
	*at_message_r = at_message;
	return cur;
}

static void
set_range(struct imap_section_range *r, const struct mime_part *part, bool header)
{
	r->part = part;
	r->offset = header ? part->header_offset : part->body_offset;
	r->size = header ? part->header_size : part->body_size;
}

int
imap_section_resolve(const struct imap_section *section, const struct mime_part *root,
		     struct imap_section_range *range_r)
{
	bool at_message = true;
	const struct mime_part *cur = walk(section, root, &at_message), *msg;

	memset(range_r, 0, sizeof(*range_r));
	if (cur == NULL)
		return 0;
	if (section->text == IMAP_SECTION_TEXT_NONE) {
		if (at_message) {
			range_r->part = root;
			range_r->offset = root->header_offset;
			range_r->size = mime_part_size(root);
		} else {
			set_range(range_r, cur, false);
		}
		return 1;
	}
	if (section->text == IMAP_SECTION_TEXT_MIME) {
		set_range(range_r, cur, true);
		return 1;
	}
	msg = cur;
	if (!at_message) {
		if ((cur->flags & MIME_PART_FLAG_MESSAGE) == 0 || cur->children == NULL)
			return 0;
		msg = cur->children;
	}
	set_range(range_r, msg, section->text != IMAP_SECTION_TEXT_TEXT);
	if (section->text == IMAP_SECTION_TEXT_HEADER_FIELDS)
		range_r->mode = IMAP_SECTION_MODE_FIELDS;
	else if (section->text == IMAP_SECTION_TEXT_HEADER_FIELDS_NOT)
		range_r->mode = IMAP_SECTION_MODE_FIELDS_NOT;
	return 1;
}

static bool
field_listed(const struct imap_section *s, const struct rfc5322_field *f)
{
	for (unsigned i = 0; i < s->n_fields; i++) {
		if (rfc5322_field_name_is(f, s->fields[i]))
			return true;
	}
	return false;
}

/* The field as received; one that ended with the input gets its CRLF. */
static int
append_field(struct buf *out, const struct rfc5322_field *f)
{
	int ret = buf_append(out, f->raw, f->raw_len);

	if (f->raw_len == 0 || f->raw[f->raw_len - 1] != '\n')
		ret |= buf_append_str(out, "\r\n");
	return ret;
}

int
imap_section_filter_header(const struct imap_section *section, const uint8_t *header,
			   size_t len, struct buf *out)
{
	struct rfc5322_header_limits limits = {
		.max_field = len + 1, .max_header = len + 1, .max_fields = ~0u,
	};
	struct rfc5322_header_parser hp;
	struct rfc5322_field f;
	const char *error;
	size_t old_len = buf_len(out), used;
	bool not = section->text == IMAP_SECTION_TEXT_HEADER_FIELDS_NOT;
	enum rfc5322_header_result r;
	int ret = 0;

	rfc5322_header_parser_init(&hp, &limits);
	while ((r = rfc5322_header_parse(&hp, header, len, &used, &f, &error)) ==
	       RFC5322_HEADER_FIELD) {
		header += used;
		len -= used;
		if (field_listed(section, &f) != not)
			ret |= append_field(out, &f);
	}
	if (r == RFC5322_HEADER_NEED_MORE) {
		while (rfc5322_header_finish(&hp, &f, &error) == RFC5322_HEADER_FIELD) {
			if (field_listed(section, &f) != not)
				ret |= append_field(out, &f);
		}
	}
	rfc5322_header_parser_deinit(&hp);
	ret |= buf_append_str(out, "\r\n");
	if (ret != 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}
