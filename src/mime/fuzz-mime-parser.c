/*
 * fuzz-mime-parser.c - libFuzzer target for the MIME structure parser and
 * the IMAP writers built on it.
 *
 * Input: one byte choosing a piece size and small limits, then a message.
 * The message is parsed whole and in pieces of the chosen size; the two
 * trees, written out (offsets, sizes, lines, flags, types), must be
 * identical. Each tree must hold its invariants (parts inside their parent's
 * body, children in order, sizes inside the input), and BODYSTRUCTURE,
 * BODY and every ENVELOPE must come out with balanced parentheses. A few
 * section specs are resolved and must give ranges inside the input.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "mime/imap-bodystructure.h"
#include "mime/imap-envelope.h"
#include "mime/imap-section.h"
#include "mime/mime-parser.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
dump(const struct mime_part *p, uint64_t len, struct buf *o)
{
	uint64_t prev_end = p->body_offset;

	check(p->header_offset + p->header_size == p->body_offset);
	check(p->body_offset + p->body_size <= len);
	buf_printf(o, "%u %s/%s %x %llu %llu %llu %llu %llu|", p->depth, p->content_type.type,
		   p->content_type.subtype, p->flags, (unsigned long long)p->header_offset,
		   (unsigned long long)p->header_size, (unsigned long long)p->body_offset,
		   (unsigned long long)p->body_size, (unsigned long long)p->body_lines);
	for (const struct mime_part *c = p->children; c != NULL; c = c->next) {
		check(c->parent == p && c->depth == p->depth + 1);
		check(c->header_offset >= prev_end);
		check(c->body_offset + c->body_size <= p->body_offset + p->body_size);
		prev_end = c->body_offset + c->body_size;
		dump(c, len, o);
	}
}

static bool
balanced(const struct buf *b)
{
	const char *s = buf_cstr(b), *end = s + buf_len(b);
	int depth = 0;

	for (; s < end; s++) {
		if (*s == '"') {
			for (s++; s < end && *s != '"'; s++) {
				if (*s == '\\')
					s++;
			}
		} else if (*s == '{') {
			char *e;
			unsigned long n = strtoul(s + 1, &e, 10);

			s = e + 2 + n;
		} else if (*s == '(') {
			depth++;
		} else if (*s == ')' && --depth < 0) {
			return false;
		}
	}
	return depth == 0 && s == end;
}

static void
check_writers(const struct mime_part *root, uint64_t len)
{
	static const char *const specs[] = { "", "1", "2", "1.1", "2.HEADER", "1.MIME", "TEXT",
					     "1.2.TEXT", "2.1.1" };
	struct buf o;

	buf_init(&o, 0);
	for (unsigned i = 0; i < 4; i++) {
		buf_reset(&o);
		check(imap_bodystructure_write(root, (i & 1) != 0, i >> 1, &o) == 0);
		check(balanced(&o));
	}
	buf_reset(&o);
	check(imap_envelope_write(root, 0, &o) == 0);
	check(balanced(&o));
	buf_deinit(&o);
	for (size_t i = 0; i < N_ELEMENTS(specs); i++) {
		struct imap_section s;
		struct imap_section_range r;
		const char *error;

		check(imap_section_parse(specs[i], strlen(specs[i]), &s, &error) == 1);
		if (imap_section_resolve(&s, root, &r) == 1)
			check(r.offset + r.size <= len);
		imap_section_deinit(&s);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_parser_limits limits;
	struct mime_parser *p;
	struct mime_part *whole, *split;
	struct buf a, b;
	size_t step;

	if (size < 1)
		return 0;
	step = (data[0] & 0x0f) + 1;
	mime_parser_limits_init_default(&limits);
	if ((data[0] & 0x10) != 0) {
		limits.max_depth = 3;
		limits.max_parts = 8;
		limits.header.max_field = 64;
		limits.header.max_header = 256;
	}
	data++;
	size--;
	whole = mime_parse_message(data, size, &limits);
	p = mime_parser_new(&limits);
	for (size_t i = 0; i < size; i += step)
		mime_parser_parse(p, data + i, size - i < step ? size - i : step);
	split = mime_parser_finish(&p);
	buf_init(&a, 0);
	buf_init(&b, 0);
	dump(whole, size, &a);
	dump(split, size, &b);
	check(buf_len(&a) == buf_len(&b) && memcmp(buf_data(&a), buf_data(&b), buf_len(&a)) == 0);
	check_writers(whole, size);
	buf_deinit(&a);
	buf_deinit(&b);
	mime_part_free(&whole);
	mime_part_free(&split);
	return 0;
}
