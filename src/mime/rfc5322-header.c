/*
 * rfc5322-header.c - resumable header block parser (see rfc5322-header.h).
 *
 * A state machine over the input octets; the state and the field being read
 * live in struct rfc5322_header_parser, so input may be split anywhere.
 *
 *   LINE_START  first octet of a line     WSP: fold (or MALFORMED if no field
 *                                         is open); other: the open field is
 *                                         complete; CR/LF: empty line; ftext:
 *                                         a name starts; else MALFORMED
 *   NAME        field name (ftext)        ":" -> VALUE, WSP -> NAME_WSP
 *   NAME_WSP    obsolete WSP before ":"   ":" -> VALUE
 *   VALUE       value octets              CR -> VALUE_CR, LF -> LINE_START
 *   VALUE_CR    value, last octet CR      LF -> LINE_START, else bare CR
 *   EMPTY_CR    a line began with CR      LF -> END, else MALFORMED
 *   SKIP(_CR)   the mbox "From " line     line end -> LINE_START
 *   DONE, FAILED                          final
 *
 * Every octet before the body is counted against max_header as it is
 * consumed, and every octet of a field (or of a line that may become one)
 * against max_field, so a limit trips at the same octet for any split. The
 * octets of a line that turns out not to be a field were counted too: the
 * limits bound work, and a line can only be known to be body at its first
 * octet that is not ftext.
 */
#include "mime/rfc5322-header.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "mime/rfc5322-chars.h"

enum header_state {
	ST_LINE_START = 0,
	ST_NAME,
	ST_NAME_WSP,
	ST_VALUE,
	ST_VALUE_CR,
	ST_EMPTY_CR,
	ST_SKIP,
	ST_SKIP_CR,
	ST_DONE,
	ST_FAILED,
};

/* One call's input and its outcome. */
struct step {
	const uint8_t *data;
	size_t len;
	size_t i;                       /* next octet of data */
	uint64_t call_start;            /* stream offset of data[0] */
	enum rfc5322_header_result result;
	struct rfc5322_field *field_r;
};

static const char *const error_texts[] = {
	[RFC5322_HEADER_ERROR_NONE] = "No error",
	[RFC5322_HEADER_ERROR_FIELD_TOO_LONG] = "Header field too long",
	[RFC5322_HEADER_ERROR_HEADER_TOO_LONG] = "Header too long",
	[RFC5322_HEADER_ERROR_TOO_MANY_FIELDS] = "Too many header fields",
};

void
rfc5322_header_limits_init_default(struct rfc5322_header_limits *limits)
{
	limits->max_field = RFC5322_HEADER_DEFAULT_MAX_FIELD;
	limits->max_header = RFC5322_HEADER_DEFAULT_MAX_HEADER;
	limits->max_fields = RFC5322_HEADER_DEFAULT_MAX_FIELDS;
}

void
rfc5322_header_parser_init(struct rfc5322_header_parser *parser,
			   const struct rfc5322_header_limits *limits)
{
	memset(parser, 0, sizeof(*parser));
	if (limits != NULL)
		parser->limits = *limits;
	else
		rfc5322_header_limits_init_default(&parser->limits);
	ASSERT(parser->limits.max_field >= 1);
	buf_init(&parser->field, parser->limits.max_field);
	parser->state = ST_LINE_START;
	parser->first_line = true;
}

void
rfc5322_header_parser_deinit(struct rfc5322_header_parser *parser)
{
	buf_deinit(&parser->field);
}

static int
fail(struct rfc5322_header_parser *p, struct step *s, enum rfc5322_header_error error)
{
	p->error = error;
	p->state = ST_FAILED;
	s->result = RFC5322_HEADER_ERROR;
	return 1;
}

/* Count n header octets that are not kept (empty line, mbox line). */
static int
count(struct rfc5322_header_parser *p, struct step *s, size_t n)
{
	if (p->offset + n > p->limits.max_header)
		return fail(p, s, RFC5322_HEADER_ERROR_HEADER_TOO_LONG);
	p->offset += n;
	s->i += n;
	return 0;
}

/*
 * Consume n octets into the field buffer. 0, or 1 with an ERROR event. When
 * both limits would be passed, the one passed at the earlier octet is
 * reported (the field one on a tie), so the error does not depend on how
 * many octets came in one piece.
 */
static int
take(struct rfc5322_header_parser *p, struct step *s, size_t n)
{
	uint64_t header_room = p->limits.max_header - p->offset;
	size_t field_room = p->limits.max_field - buf_len(&p->field);

	if (n > field_room && (n <= header_room || field_room <= header_room))
		return fail(p, s, RFC5322_HEADER_ERROR_FIELD_TOO_LONG);
	if (n > header_room)
		return fail(p, s, RFC5322_HEADER_ERROR_HEADER_TOO_LONG);
	if (buf_append(&p->field, s->data + s->i, n) < 0)
		PANIC("field buffer limit broken");
	p->offset += n;
	s->i += n;
	return 0;
}

static int
end_header(struct rfc5322_header_parser *p, struct step *s, uint64_t body_offset)
{
	p->body_offset = body_offset;
	p->state = ST_DONE;
	s->result = RFC5322_HEADER_END;
	return 1;
}

/*
 * The line in the field buffer (from field_offset) is the body's first line.
 * Hand back what this call holds of it; the rest is the body prefix.
 */
static int
end_malformed(struct rfc5322_header_parser *p, struct step *s)
{
	p->flags |= RFC5322_HEADER_FLAG_MALFORMED;
	if (p->field_offset >= s->call_start) {
		s->i = (size_t)(p->field_offset - s->call_start);
		p->prefix_len = 0;
	} else {
		s->i = 0;
		p->prefix_len = (size_t)(s->call_start - p->field_offset);
	}
	return end_header(p, s, p->field_offset);
}

/* The line being read cannot be a field: an mbox separator on the first
 * line is skipped, anything else is the start of the body. */
static int
not_a_field(struct rfc5322_header_parser *p, struct step *s)
{
	if (p->first_line && p->name_len == 4 && buf_len(&p->field) >= 5 &&
	    memcmp(buf_data(&p->field), "From ", 5) == 0) {
		p->flags |= RFC5322_HEADER_FLAG_MBOX_FROM;
		buf_reset(&p->field);
		p->state = ST_SKIP;
		return 0;
	}
	return end_malformed(p, s);
}

/* The open field is complete: hand it out. */
static int
emit(struct rfc5322_header_parser *p, struct step *s)
{
	struct rfc5322_field *f = s->field_r;
	const uint8_t *raw = buf_data(&p->field);
	size_t raw_len = buf_len(&p->field);

	if ((p->field_flags & RFC5322_HEADER_FLAG_8BIT) != 0 && !rfc5322_utf8_valid(raw, raw_len))
		p->field_flags |= RFC5322_HEADER_FLAG_BAD_UTF8;
	ASSERT(raw_len >= p->value_start + p->eol_len);
	f->raw = raw;
	f->raw_len = raw_len;
	f->name = (const char *)raw;
	f->name_len = p->name_len;
	f->value = raw + p->value_start;
	f->value_len = raw_len - p->eol_len - p->value_start;
	f->offset = p->field_offset;
	f->flags = p->field_flags;
	p->flags |= p->field_flags;
	p->n_fields++;
	p->field_ready = true;
	s->result = RFC5322_HEADER_FIELD;
	return 1;
}

static void
line_ended(struct rfc5322_header_parser *p, size_t eol_len)
{
	if (p->line_len > RFC5322_MAX_LINE)
		p->field_flags |= RFC5322_HEADER_FLAG_LONG_LINE;
	p->eol_len = eol_len;
	p->line_len = 0;
	p->first_line = false;
	p->state = ST_LINE_START;
}

static int
st_line_start(struct rfc5322_header_parser *p, struct step *s)
{
	uint8_t c = s->data[s->i];

	if (buf_len(&p->field) > 0) {
		/* a field is open: a line starting with WSP continues it (2.2.3) */
		if (!rfc5322_is_wsp(c))
			return emit(p, s);
		p->eol_len = 0;
		p->line_len = 1;
		p->state = ST_VALUE;
		return take(p, s, 1);
	}
	p->field_offset = p->offset;
	p->field_flags = 0;
	p->name_len = 0;
	p->eol_len = 0;
	p->line_len = 0;
	if (c == '\n') {
		p->flags |= RFC5322_HEADER_FLAG_BARE_LF;
		if (count(p, s, 1) != 0)
			return 1;
		return end_header(p, s, p->offset);
	}
	if (c == '\r') {
		p->state = ST_EMPTY_CR;
		return take(p, s, 1);
	}
	if (!rfc5322_is_ftext(c))
		return end_malformed(p, s);     /* WSP with no field open, CTL, 8-bit, ":" */
	p->state = ST_NAME;
	return 0;
}

/* ":" or WSP after the name; anything else means this is no field. */
static int
name_end(struct rfc5322_header_parser *p, struct step *s, uint8_t c)
{
	if (c == ':') {
		/* counted here, where the line is known to be a field */
		if (p->n_fields >= p->limits.max_fields)
			return fail(p, s, RFC5322_HEADER_ERROR_TOO_MANY_FIELDS);
		if (p->state == ST_NAME)
			p->name_len = buf_len(&p->field);
		p->value_start = buf_len(&p->field) + 1;
		p->line_len++;
		p->state = ST_VALUE;
		return take(p, s, 1);
	}
	if (rfc5322_is_wsp(c)) {
		if (p->state == ST_NAME) {
			p->name_len = buf_len(&p->field);
			p->field_flags |= RFC5322_HEADER_FLAG_OBS_NAME;
			p->state = ST_NAME_WSP;
		}
		p->line_len++;
		return take(p, s, 1);
	}
	if (p->state == ST_NAME)
		p->name_len = buf_len(&p->field);
	return not_a_field(p, s);
}

static int
st_name(struct rfc5322_header_parser *p, struct step *s)
{
	const uint8_t *d = s->data + s->i;
	size_t n = 0, avail = s->len - s->i;

	if (p->state == ST_NAME) {
		while (n < avail && rfc5322_is_ftext(d[n]))
			n++;
		if (n > 0) {
			p->line_len += n;
			return take(p, s, n);
		}
	}
	return name_end(p, s, d[0]);
}

static int
st_value(struct rfc5322_header_parser *p, struct step *s)
{
	const uint8_t *d = s->data + s->i;
	size_t n = 0, avail = s->len - s->i;

	while (n < avail && d[n] != '\r' && d[n] != '\n') {
		if (d[n] >= 0x80)
			p->field_flags |= RFC5322_HEADER_FLAG_8BIT;
		else if (d[n] == '\0')
			p->field_flags |= RFC5322_HEADER_FLAG_NUL;
		n++;
	}
	if (n > 0) {
		p->line_len += n;
		return take(p, s, n);
	}
	if (d[0] == '\n') {
		p->field_flags |= RFC5322_HEADER_FLAG_BARE_LF;
		line_ended(p, 1);
	} else {
		p->state = ST_VALUE_CR;
	}
	return take(p, s, 1);
}

static int
st_value_cr(struct rfc5322_header_parser *p, struct step *s)
{
	if (s->data[s->i] == '\n') {
		line_ended(p, 2);
		return take(p, s, 1);
	}
	/* the CR was an ordinary octet of the value */
	p->field_flags |= RFC5322_HEADER_FLAG_BARE_CR;
	p->line_len++;
	p->state = ST_VALUE;
	return 0;
}

static int
st_empty_cr(struct rfc5322_header_parser *p, struct step *s)
{
	if (s->data[s->i] == '\n') {
		if (count(p, s, 1) != 0)
			return 1;
		return end_header(p, s, p->offset);
	}
	p->flags |= RFC5322_HEADER_FLAG_BARE_CR;
	return end_malformed(p, s);
}

static int
st_skip(struct rfc5322_header_parser *p, struct step *s)
{
	const uint8_t *d = s->data + s->i;
	size_t n = 0, avail = s->len - s->i;

	if (p->state == ST_SKIP_CR) {
		p->state = ST_SKIP;
		if (d[0] == '\n') {
			line_ended(p, 2);
			return count(p, s, 1);
		}
		p->flags |= RFC5322_HEADER_FLAG_BARE_CR;
	}
	while (n < avail && d[n] != '\r' && d[n] != '\n')
		n++;
	if (n > 0)
		return count(p, s, n);
	if (d[0] == '\n') {
		p->flags |= RFC5322_HEADER_FLAG_BARE_LF;
		line_ended(p, 1);
	} else {
		p->state = ST_SKIP_CR;
	}
	return count(p, s, 1);
}

static int
run_state(struct rfc5322_header_parser *p, struct step *s)
{
	switch (p->state) {
	case ST_LINE_START:
		return st_line_start(p, s);
	case ST_NAME:
	case ST_NAME_WSP:
		return st_name(p, s);
	case ST_VALUE:
		return st_value(p, s);
	case ST_VALUE_CR:
		return st_value_cr(p, s);
	case ST_EMPTY_CR:
		return st_empty_cr(p, s);
	case ST_SKIP:
	case ST_SKIP_CR:
		return st_skip(p, s);
	default:
		PANIC("rfc5322 header parser in state %d", p->state);
	}
}

/* Start of every call: drop the field handed out last time. */
static void
begin_call(struct rfc5322_header_parser *p)
{
	if (p->field_ready) {
		buf_reset(&p->field);
		p->field_ready = false;
	}
}

enum rfc5322_header_result
rfc5322_header_parse(struct rfc5322_header_parser *parser, const uint8_t *data, size_t len,
		     size_t *consumed_r, struct rfc5322_field *field_r, const char **error_r)
{
	struct step s = {
		.data = data, .len = len, .call_start = parser->offset, .field_r = field_r,
	};

	*consumed_r = 0;
	if (parser->state == ST_DONE)
		return RFC5322_HEADER_END;
	if (parser->state == ST_FAILED) {
		*error_r = error_texts[parser->error];
		return RFC5322_HEADER_ERROR;
	}
	begin_call(parser);
	while (s.i < len) {
		if (run_state(parser, &s) != 0) {
			*consumed_r = s.i;
			if (s.result == RFC5322_HEADER_ERROR)
				*error_r = error_texts[parser->error];
			return s.result;
		}
	}
	*consumed_r = len;
	return RFC5322_HEADER_NEED_MORE;
}

enum rfc5322_header_result
rfc5322_header_finish(struct rfc5322_header_parser *parser, struct rfc5322_field *field_r,
		      const char **error_r)
{
	struct step s = { .call_start = parser->offset, .field_r = field_r };
	struct rfc5322_header_parser *p = parser;

	begin_call(p);
	switch (p->state) {
	case ST_DONE:
		return RFC5322_HEADER_END;
	case ST_FAILED:
		*error_r = error_texts[p->error];
		return RFC5322_HEADER_ERROR;
	case ST_NAME:
	case ST_NAME_WSP:
		if (p->state == ST_NAME)
			p->name_len = buf_len(&p->field);
		if (not_a_field(p, &s) != 0)
			return s.result;
		break;                  /* an mbox line alone: no header at all */
	case ST_VALUE_CR:
		/* the input ended after a CR: take it as the line's end */
		p->field_flags |= RFC5322_HEADER_FLAG_BARE_CR;
		line_ended(p, 1);
		emit(p, &s);
		return s.result;
	case ST_VALUE:
		line_ended(p, 0);
		emit(p, &s);
		return s.result;
	case ST_EMPTY_CR:
		p->flags |= RFC5322_HEADER_FLAG_BARE_CR;
		end_malformed(p, &s);
		return s.result;
	case ST_LINE_START:
		if (buf_len(&p->field) > 0) {
			emit(p, &s);
			return s.result;
		}
		break;
	default:
		break;                  /* SKIP, SKIP_CR: the mbox line was the last */
	}
	p->flags |= RFC5322_HEADER_FLAG_NO_END;
	end_header(p, &s, p->offset);
	return s.result;
}

void
rfc5322_header_body_prefix(const struct rfc5322_header_parser *parser, const uint8_t **data_r,
			   size_t *len_r)
{
	bool malformed = parser->state == ST_DONE &&
			 (parser->flags & RFC5322_HEADER_FLAG_MALFORMED) != 0;

	*data_r = buf_data(&parser->field);
	*len_r = malformed ? parser->prefix_len : 0;
}

bool
rfc5322_field_name_is(const struct rfc5322_field *field, const char *name)
{
	size_t len = strlen(name);

	return len == field->name_len && strncasecmp(field->name, name, len) == 0;
}

int
rfc5322_field_unfold(const struct rfc5322_field *field, struct buf *out)
{
	const uint8_t *p = field->value, *end = p + field->value_len;
	size_t old_len = buf_len(out), n;

	/* leading white space, folds included */
	while (p < end) {
		if (rfc5322_is_wsp(*p))
			p++;
		else if ((n = rfc5322_line_break_len(p, end)) > 0)
			p += n;
		else
			break;
	}
	while (p < end) {
		const uint8_t *q = p;

		while (q < end && rfc5322_line_break_len(q, end) == 0)
			q++;
		if (buf_append(out, p, (size_t)(q - p)) < 0) {
			buf_truncate(out, old_len);
			return -1;
		}
		p = q + rfc5322_line_break_len(q, end);
	}
	n = buf_len(out);
	while (n > old_len && rfc5322_is_wsp(buf_data(out)[n - 1]))
		n--;
	buf_truncate(out, n);
	return 0;
}
