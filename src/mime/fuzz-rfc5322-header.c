/*
 * fuzz-rfc5322-header.c - libFuzzer target for the header block parser.
 *
 * Input: one byte choosing the limits and a piece size, then a message. The
 * message is parsed three times: whole, one byte at a time, and in pieces of
 * the chosen size; the three event logs (every field's offset, flags and
 * octets, the end or the error) must be identical. Each run also checks:
 * a field's raw octets are the input at its offset, fields follow one another
 * without gaps, names are ftext, values lie inside the raw field, limits
 * hold, and the body (prefix plus unconsumed input) is the input from
 * body_offset. Address and date fields go through their parsers too, so that
 * real folded values reach them.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-chars.h"
#include "mime/rfc5322-date.h"
#include "mime/rfc5322-header.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct run {
	const uint8_t *in;
	size_t len;
	const struct rfc5322_header_limits *limits;
	uint64_t next_offset;   /* where the next field must start (after the first) */
	unsigned fields;
	struct buf *ev;
};

static void
check(bool ok)
{
	if (!ok)
		abort();
}

static void
parse_value(const struct rfc5322_field *f, struct buf *ev)
{
	struct rfc5322_address_limits al;
	struct rfc5322_address_list list;
	struct rfc5322_date date;
	const char *err;

	rfc5322_address_limits_init_default(&al);
	if (rfc5322_field_name_is(f, "From") || rfc5322_field_name_is(f, "To") ||
	    rfc5322_field_name_is(f, "Cc")) {
		int ret = rfc5322_address_list_parse(f->value, f->value_len, &al,
						     RFC5322_ADDRESS_LIST, &list, &err);

		buf_printf(ev, " a%d/%u", ret, list.count);
		rfc5322_address_list_deinit(&list);
	} else if (rfc5322_field_name_is(f, "Date")) {
		int ret = rfc5322_date_parse(f->value, f->value_len, &date, &err);

		buf_printf(ev, " d%d/%lld", ret, (long long)date.time);
	}
}

static void
on_field(struct run *r, const struct rfc5322_field *f)
{
	struct buf unfolded;

	check(f->offset <= r->len && f->raw_len <= r->len - f->offset);
	check(memcmp(f->raw, r->in + f->offset, f->raw_len) == 0);
	check(r->fields == 0 ? f->offset >= r->next_offset : f->offset == r->next_offset);
	check(f->raw_len <= r->limits->max_field);
	check(f->name_len >= 1 && f->name == (const char *)f->raw);
	for (size_t i = 0; i < f->name_len; i++)
		check(rfc5322_is_ftext((uint8_t)f->name[i]));
	check(f->value >= f->raw + f->name_len + 1 &&
	      f->value + f->value_len <= f->raw + f->raw_len);
	r->next_offset = f->offset + f->raw_len;
	r->fields++;
	buf_printf(r->ev, "F %llu %zu %zu %zu %x ", (unsigned long long)f->offset, f->raw_len,
		   f->name_len, f->value_len, f->flags);
	buf_append(r->ev, f->raw, f->raw_len);
	buf_init(&unfolded, f->value_len);
	check(rfc5322_field_unfold(f, &unfolded) == 0);
	buf_deinit(&unfolded);
	parse_value(f, r->ev);
	buf_append_byte(r->ev, '\n');
}

static void
on_end(struct run *r, const struct rfc5322_header_parser *p, const uint8_t *rest,
       size_t rest_len)
{
	const uint8_t *prefix;
	size_t prefix_len;

	rfc5322_header_body_prefix(p, &prefix, &prefix_len);
	check(p->body_offset <= r->len && p->body_offset >= r->next_offset);
	check(p->body_offset <= r->limits->max_header);
	check(p->n_fields == r->fields && p->n_fields <= r->limits->max_fields);
	check(prefix_len + rest_len == r->len - p->body_offset);
	check(memcmp(prefix, r->in + p->body_offset, prefix_len) == 0);
	check(memcmp(rest, r->in + p->body_offset + prefix_len, rest_len) == 0);
	buf_printf(r->ev, "E %llu %u %x\n", (unsigned long long)p->body_offset, p->n_fields,
		   p->flags);
}

static void
run_pieces(struct run *r, size_t piece)
{
	struct rfc5322_header_parser p;
	struct rfc5322_field f;
	struct buf pending;
	const char *err;
	size_t pos = 0, used;
	int res = RFC5322_HEADER_NEED_MORE;

	rfc5322_header_parser_init(&p, r->limits);
	buf_init(&pending, 0);
	r->next_offset = 0;
	r->fields = 0;
	while (pos < r->len && res <= RFC5322_HEADER_FIELD) {
		size_t n = r->len - pos < piece ? r->len - pos : piece;

		buf_append(&pending, r->in + pos, n);
		pos += n;
		do {
			res = rfc5322_header_parse(&p, buf_data(&pending), buf_len(&pending), &used,
						   &f, &err);
			check(used <= buf_len(&pending));
			buf_consume(&pending, used);
			if (res == RFC5322_HEADER_FIELD)
				on_field(r, &f);
		} while (res == RFC5322_HEADER_FIELD);
		check(res != RFC5322_HEADER_NEED_MORE || buf_len(&pending) == 0);
	}
	if (res == RFC5322_HEADER_END) {
		buf_append(&pending, r->in + pos, r->len - pos);
		on_end(r, &p, buf_data(&pending), buf_len(&pending));
	}
	while (res == RFC5322_HEADER_NEED_MORE || res == RFC5322_HEADER_FIELD) {
		res = rfc5322_header_finish(&p, &f, &err);
		if (res == RFC5322_HEADER_FIELD)
			on_field(r, &f);
		else if (res == RFC5322_HEADER_END)
			on_end(r, &p, (const uint8_t *)"", 0);
	}
	if (res == RFC5322_HEADER_ERROR)
		buf_printf(r->ev, "X %d %s\n", p.error, err);
	buf_deinit(&pending);
	rfc5322_header_parser_deinit(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rfc5322_header_limits limits;
	struct buf whole, bytes, pieces;
	struct run r = { .limits = &limits };
	size_t piece;

	if (size == 0)
		return 0;
	rfc5322_header_limits_init_default(&limits);
	if ((data[0] & 0x08) != 0) {
		limits.max_field = 16 + (data[0] >> 4) * 8;
		limits.max_header = 64 + (data[0] >> 4) * 64;
		limits.max_fields = 1 + (data[0] >> 5);
	}
	piece = 1 + (data[0] & 0x07);
	r.in = data + 1;
	r.len = size - 1;
	buf_init(&whole, 0);
	buf_init(&bytes, 0);
	buf_init(&pieces, 0);
	r.ev = &whole;
	run_pieces(&r, r.len == 0 ? 1 : r.len);
	r.ev = &bytes;
	run_pieces(&r, 1);
	r.ev = &pieces;
	run_pieces(&r, piece);
	check(buf_len(&whole) == buf_len(&bytes) && buf_len(&whole) == buf_len(&pieces));
	check(memcmp(buf_data(&whole), buf_data(&bytes), buf_len(&whole)) == 0);
	check(memcmp(buf_data(&whole), buf_data(&pieces), buf_len(&whole)) == 0);
	buf_deinit(&whole);
	buf_deinit(&bytes);
	buf_deinit(&pieces);
	return 0;
}
