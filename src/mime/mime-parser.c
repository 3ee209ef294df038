/*
 * mime-parser.c - streaming MIME structure parser (see mime-parser.h).
 *
 * The input is read line by line without keeping lines. While any
 * multipart is open, the first octets of each line (up to "--", the longest
 * boundary and "--") are held in `peek` until the line is known to be a
 * delimiter or not; octets that are not part of a delimiter line are
 * delivered to the current part: to its header parser (rfc5322-header.h)
 * while its header is open, else they are body and only counted. With no
 * multipart open, lines go straight through.
 *
 * `offset` and `lfs` count the octets and LFs handled so far (delivered or
 * skipped as delimiter lines; not the ones still in peek), so a delimiter
 * line starts at `offset` when it is recognised, and every part's body
 * offsets and line counts come from these two counters.
 *
 * A header that ends at a malformed line may have consumed the start of that
 * line in an earlier call (its "body prefix"). The line was already checked
 * for a delimiter at its start, and it holds no LF, so only its length
 * matters - except for message/rfc822, whose child header must see those
 * octets: they are fed to the child's header parser first.
 */
#include "mime/mime-parser.h"

#include <string.h>
#include <strings.h>

#include "core/buf.h"
#include "core/mem.h"
#include "mime/rfc5322-chars.h"

#define PEEK_MAX (2 + MIME_BOUNDARY_MAX_LEN + 2)

enum line_state {
	LINE_START = 0,         /* at the first octet of a line */
	LINE_REST,              /* delivering the rest of a line */
	LINE_SKIP,              /* skipping the rest of a delimiter line */
};

struct boundary {
	char *text;
	size_t len;
	struct mime_part *part; /* the multipart */
};

struct mime_parser {
	struct mime_parser_limits limits;
	struct mime_part *root, *cur;   /* cur: part whose header or body is being read */
	uint64_t offset;                /* octets handled */
	uint64_t lfs;                   /* LFs handled */
	unsigned prev_eol;              /* length of the line break before this line */
	uint8_t last;                   /* last octet handled */
	enum line_state line;
	bool in_header;                 /* hp is open for cur */
	bool opaque;                    /* max_parts reached: no more structure */
	struct rfc5322_header_parser hp;
	struct buf scratch;             /* unfolded field values */
	uint64_t fields_end;            /* header offset after the last field given */
	uint64_t fields_lfs;            /* LFs in the stream up to fields_end */
	struct boundary *bounds;        /* open multiparts, outermost first */
	unsigned n_bounds, bounds_cap;
	unsigned n_parts;
	struct mime_part *start_child;  /* after a delimiter line: its multipart */
	size_t peek_len;
	uint8_t peek[PEEK_MAX];
};

static const char *const envelope_names[MIME_ENVELOPE_COUNT] = {
	[MIME_ENVELOPE_DATE] = "Date",
	[MIME_ENVELOPE_SUBJECT] = "Subject",
	[MIME_ENVELOPE_FROM] = "From",
	[MIME_ENVELOPE_SENDER] = "Sender",
	[MIME_ENVELOPE_REPLY_TO] = "Reply-To",
	[MIME_ENVELOPE_TO] = "To",
	[MIME_ENVELOPE_CC] = "Cc",
	[MIME_ENVELOPE_BCC] = "Bcc",
	[MIME_ENVELOPE_IN_REPLY_TO] = "In-Reply-To",
	[MIME_ENVELOPE_MESSAGE_ID] = "Message-ID",
};

const char *
mime_envelope_field_name(enum mime_envelope_field field)
{
	ASSERT((unsigned)field < MIME_ENVELOPE_COUNT);
	return envelope_names[field];
}

void
mime_parser_limits_init_default(struct mime_parser_limits *limits)
{
	limits->max_depth = MIME_PARSER_DEFAULT_MAX_DEPTH;
	limits->max_parts = MIME_PARSER_DEFAULT_MAX_PARTS;
	rfc5322_header_limits_init_default(&limits->header);
}

bool
mime_part_is_message(const struct mime_part *part)
{
	return part->parent == NULL || (part->parent->flags & MIME_PART_FLAG_MESSAGE) != 0;
}

uint64_t
mime_part_size(const struct mime_part *part)
{
	return part->header_size + part->body_size;
}

const struct mime_part *
mime_part_child(const struct mime_part *part, unsigned n)
{
	const struct mime_part *c = part->children;

	if (n == 0)
		return NULL;
	while (c != NULL && --n > 0)
		c = c->next;
	return c;
}

static void
part_free(struct mime_part *part)
{
	struct mime_part *c = part->children, *next;

	for (; c != NULL; c = next) {
		next = c->next;
		part_free(c);
	}
	mime_content_type_deinit(&part->content_type);
	mime_disposition_deinit(&part->disposition);
	mem_free(&part->encoding_token);
	mem_free(&part->content_id);
	mem_free(&part->description);
	mem_free(&part->md5);
	mem_free(&part->location);
	for (unsigned i = 0; i < part->n_languages; i++)
		mem_free(&part->languages[i]);
	mem_free(&part->languages);
	for (unsigned i = 0; i < MIME_ENVELOPE_COUNT; i++)
		mem_free(&part->envelope[i]);
	mem_free(&part);
}

void
mime_part_free(struct mime_part **root)
{
	if (*root == NULL)
		return;
	part_free(*root);
	*root = NULL;
}

/* Count octets as handled: offset, LFs and the last line break's length. */
static void
account(struct mime_parser *p, const uint8_t *d, size_t n)
{
	const uint8_t *end = d + n, *lf;

	if (n == 0)
		return;
	for (const uint8_t *s = d; (lf = memchr(s, '\n', (size_t)(end - s))) != NULL; s = lf + 1) {
		uint8_t before = lf == d ? p->last : lf[-1];

		p->lfs++;
		p->prev_eol = before == '\r' ? 2 : 1;
	}
	p->offset += n;
	p->last = end[-1];
}

/* ---- parts and their header fields ---- */

static void
start_header(struct mime_parser *p, struct mime_part *part)
{
	rfc5322_header_parser_init(&p->hp, &p->limits.header);
	p->fields_end = 0;
	p->fields_lfs = p->lfs;
	p->cur = part;
	p->in_header = true;
}

static struct mime_part *
new_part(struct mime_parser *p, struct mime_part *parent, uint64_t offset)
{
	struct mime_part *part = mem_zalloc(sizeof(*part));

	part->parent = parent;
	part->header_offset = offset;
	part->body_offset = offset;
	if (parent != NULL) {
		part->depth = parent->depth + 1;
		if (parent->last_child == NULL)
			parent->children = part;
		else
			parent->last_child->next = part;
		parent->last_child = part;
		parent->n_children++;
	}
	p->n_parts++;
	return part;
}

/* The field's value unfolded, trimmed, NULs removed, as a new string. */
static char *
unfold_dup(struct mime_parser *p, const struct rfc5322_field *field)
{
	size_t j = 0;
	uint8_t *d;

	buf_reset(&p->scratch);
	if (rfc5322_field_unfold(field, &p->scratch) < 0)
		PANIC("unlimited buffer refused data");
	d = buf_data(&p->scratch);
	for (size_t i = 0; i < buf_len(&p->scratch); i++) {
		if (d[i] != '\0')
			d[j++] = d[i];
	}
	return mem_strndup((const char *)d, j);
}

/* Content-Language (RFC 3282 2): a comma-separated list of tags. */
static void
parse_languages(struct mime_part *part, const char *value)
{
	const uint8_t *p = (const uint8_t *)value, *end = p + strlen(value);
	const char *error;

	while (p < end) {
		if (rfc5322_skip_cfws(&p, end, &error) < 0)
			return;
		const uint8_t *start = p;

		while (p < end && *p != ',' && *p != '(' && !rfc5322_is_wsp(*p))
			p++;
		if (p > start && part->n_languages < 64) {
			part->languages = mem_realloc(part->languages,
						      (part->n_languages + 1) * sizeof(char *));
			part->languages[part->n_languages++] =
				mem_strndup((const char *)start, (size_t)(p - start));
		}
		if (rfc5322_skip_cfws(&p, end, &error) < 0)
			return;
		if (p < end && *p != ',')
			return;
		if (p < end)
			p++;
	}
}

/* Store a string field once (the first occurrence wins). */
static void
store_once(struct mime_parser *p, char **dest, const struct rfc5322_field *field)
{
	if (*dest == NULL)
		*dest = unfold_dup(p, field);
}

static void
on_content_field(struct mime_parser *p, struct mime_part *part, const struct rfc5322_field *f)
{
	const char *error;
	char *v;

	if (rfc5322_field_name_is(f, "Content-Type") && part->content_type.type == NULL) {
		v = unfold_dup(p, f);
		if (mime_content_type_parse((const uint8_t *)v, strlen(v), &part->content_type,
					    &error) < 0)
			part->flags |= MIME_PART_FLAG_DEFAULT_TYPE;
		mem_free(&v);
	} else if (rfc5322_field_name_is(f, "Content-Transfer-Encoding") &&
		   part->encoding_token == NULL) {
		v = unfold_dup(p, f);
		part->encoding = mime_encoding_parse((const uint8_t *)v, strlen(v));
		for (char *c = v; *c != '\0'; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
		}
		part->encoding_token = v;
	} else if (rfc5322_field_name_is(f, "Content-Disposition") &&
		   part->disposition.type == NULL) {
		v = unfold_dup(p, f);
		(void)mime_disposition_parse((const uint8_t *)v, strlen(v), &part->disposition,
					     &error);
		mem_free(&v);
	} else if (rfc5322_field_name_is(f, "Content-Language") && part->languages == NULL) {
		v = unfold_dup(p, f);
		parse_languages(part, v);
		mem_free(&v);
	} else if (rfc5322_field_name_is(f, "Content-ID")) {
		store_once(p, &part->content_id, f);
	} else if (rfc5322_field_name_is(f, "Content-Description")) {
		store_once(p, &part->description, f);
	} else if (rfc5322_field_name_is(f, "Content-MD5")) {
		store_once(p, &part->md5, f);
	} else if (rfc5322_field_name_is(f, "Content-Location")) {
		store_once(p, &part->location, f);
	}
}

static void
on_field(struct mime_parser *p, const struct rfc5322_field *f)
{
	struct mime_part *part = p->cur;

	/* where the header ends if a limit is hit later (header_error) */
	if (p->hp.n_fields == 1 && f->offset > 0)
		p->fields_lfs++;        /* the skipped mbox "From " line */
	for (const uint8_t *c = f->raw; (c = memchr(c, '\n', f->raw_len - (size_t)(c - f->raw)));
	     c++)
		p->fields_lfs++;
	p->fields_end = f->offset + f->raw_len;

	if (f->name_len > 8 && strncasecmp(f->name, "Content-", 8) == 0) {
		on_content_field(p, part, f);
		return;
	}
	if (!mime_part_is_message(part))
		return;
	for (unsigned i = 0; i < MIME_ENVELOPE_COUNT; i++) {
		if (rfc5322_field_name_is(f, envelope_names[i])) {
			store_once(p, &part->envelope[i], f);
			return;
		}
	}
}

/* ---- end of a header: what the body is ---- */

static void
set_default_type(struct mime_part *part)
{
	const struct mime_part *parent = part->parent;

	part->flags |= MIME_PART_FLAG_DEFAULT_TYPE;
	if (parent != NULL && (parent->flags & MIME_PART_FLAG_MULTIPART) != 0 &&
	    mime_content_type_is(&parent->content_type, "multipart", "digest")) {
		/* RFC 2046 5.1.5 */
		part->content_type.type = mem_strdup("message");
		part->content_type.subtype = mem_strdup("rfc822");
		return;
	}
	mime_content_type_init_default(&part->content_type);
}

/* No more structure: max_parts was reached. Open parts run to the end. */
static void
set_opaque(struct mime_parser *p, struct mime_part *part)
{
	part->flags |= MIME_PART_FLAG_LIMIT;
	for (unsigned i = 0; i < p->n_bounds; i++)
		mem_free(&p->bounds[i].text);
	p->n_bounds = 0;
	p->opaque = true;
}

static void
push_boundary(struct mime_parser *p, struct mime_part *part, const char *text)
{
	if (p->n_bounds == p->bounds_cap) {
		p->bounds_cap = p->bounds_cap == 0 ? 4 : p->bounds_cap * 2;
		p->bounds = mem_realloc(p->bounds, mem_size_mul(p->bounds_cap, sizeof(*p->bounds)));
	}
	p->bounds[p->n_bounds].text = mem_strdup(text);
	p->bounds[p->n_bounds].len = strlen(text);
	p->bounds[p->n_bounds].part = part;
	p->n_bounds++;
	part->flags |= MIME_PART_FLAG_MULTIPART;
}

static void feed_header(struct mime_parser *p, const uint8_t **dp, size_t *np, bool counted);

/* The body is a message (RFC 2046 5.2.1): start its header. The octets of
 * the body already consumed by the old header parser (prefix) go first. */
static void
start_message(struct mime_parser *p, struct mime_part *part, const uint8_t *prefix, size_t len)
{
	struct mime_part *child;

	if (part->depth >= p->limits.max_depth) {
		part->flags |= MIME_PART_FLAG_LIMIT;
		return;
	}
	if (p->n_parts >= p->limits.max_parts) {
		set_opaque(p, part);
		return;
	}
	part->flags |= MIME_PART_FLAG_MESSAGE;
	child = new_part(p, part, part->body_offset);
	start_header(p, child);
	feed_header(p, &prefix, &len, false);
}

static void
open_body(struct mime_parser *p, struct mime_part *part, const uint8_t *prefix, size_t len)
{
	const struct mime_content_type *ct = &part->content_type;

	if (p->opaque)
		return;
	if (strcmp(ct->type, "multipart") == 0) {
		const char *b = mime_params_get(&ct->params, "boundary");
		size_t blen = b == NULL ? 0 : strlen(b);

		if (blen == 0 || blen > MIME_BOUNDARY_MAX_LEN)
			return;
		if (part->depth >= p->limits.max_depth)
			part->flags |= MIME_PART_FLAG_LIMIT;
		else
			push_boundary(p, part, b);
	} else if (strcmp(ct->type, "message") == 0 && ct->subtype != NULL &&
		   (strcmp(ct->subtype, "rfc822") == 0 || strcmp(ct->subtype, "global") == 0) &&
		   mime_encoding_is_identity(part->encoding)) {
		start_message(p, part, prefix, len);
	}
}

/*
 * The header of cur has ended (hp reported END). `ending`: the part ends
 * here too (a delimiter or the end of input came first), so its body is
 * empty and holds no structure.
 */
static void
header_done(struct mime_parser *p, bool ending)
{
	struct mime_part *part = p->cur;
	const uint8_t *prefix;
	size_t prefix_len;
	uint8_t *copy = NULL;

	part->header_size = p->hp.body_offset;
	part->body_offset = part->header_offset + part->header_size;
	part->header_flags = p->hp.flags;
	part->lf_start = p->lfs;        /* a body prefix holds no LF */
	rfc5322_header_body_prefix(&p->hp, &prefix, &prefix_len);
	if (prefix_len > 0)
		copy = mem_memdup(prefix, prefix_len);
	rfc5322_header_parser_deinit(&p->hp);
	p->in_header = false;
	if (part->content_type.type == NULL) {
		mime_content_type_deinit(&part->content_type);
		set_default_type(part);
	}
	if (!ending)
		open_body(p, part, copy, prefix_len);
	mem_free(&copy);
}

/* A header limit was exceeded: the header ends after its last complete
 * field (where the limit trips inside the next one depends on the split),
 * and the rest of the part is an opaque body. */
static void
header_error(struct mime_parser *p)
{
	struct mime_part *part = p->cur;

	part->header_size = p->fields_end;
	part->body_offset = part->header_offset + p->fields_end;
	part->header_flags = p->hp.flags;
	part->lf_start = p->fields_lfs;
	part->flags |= MIME_PART_FLAG_LIMIT;
	rfc5322_header_parser_deinit(&p->hp);
	p->in_header = false;
	if (part->content_type.type == NULL) {
		mime_content_type_deinit(&part->content_type);
		set_default_type(part);
	}
}

/*
 * Feed *dp..*dp+*np to the open header; on return either all of it was
 * consumed or the header has ended and the rest (*dp, *np) is body.
 * `counted`: the octets were handled before (a body prefix) - do not count
 * them again.
 */
static void
feed_header(struct mime_parser *p, const uint8_t **dp, size_t *np, bool counted)
{
	struct rfc5322_field field;
	const char *error;
	size_t used;

	while (*np > 0 && p->in_header) {
		enum rfc5322_header_result r =
			rfc5322_header_parse(&p->hp, *dp, *np, &used, &field, &error);

		if (counted)
			account(p, *dp, used);
		*dp += used;
		*np -= used;
		if (r == RFC5322_HEADER_FIELD)
			on_field(p, &field);
		else if (r == RFC5322_HEADER_END)
			header_done(p, false);
		else if (r == RFC5322_HEADER_ERROR)
			header_error(p);
	}
}

/* The input or the part ends while its header is open. */
static void
finish_header(struct mime_parser *p)
{
	struct rfc5322_field field;
	const char *error;

	while (p->in_header) {
		enum rfc5322_header_result r = rfc5322_header_finish(&p->hp, &field, &error);

		if (r == RFC5322_HEADER_FIELD)
			on_field(p, &field);
		else if (r == RFC5322_HEADER_END)
			header_done(p, true);
		else
			header_error(p);
	}
}

static void
deliver(struct mime_parser *p, const uint8_t *d, size_t n)
{
	if (p->in_header)
		feed_header(p, &d, &n, true);
	account(p, d, n);
}

/* ---- delimiter lines (RFC 2046 5.1.1) ---- */

/*
 * The part ends at `end` (LF count `end_lfs`). A part that started after
 * that point (inside the line break that a delimiter takes) is moved back
 * to it, empty, so that parts stay inside their parents.
 */
static void
end_part(struct mime_part *part, uint64_t end, uint64_t end_lfs)
{
	if (part->body_offset > end) {
		part->body_offset = end;
		part->lf_start = end_lfs;
	}
	if (part->header_offset > end)
		part->header_offset = end;
	part->header_size = part->body_offset - part->header_offset;
	part->body_size = end - part->body_offset;
	part->body_lines = end_lfs - part->lf_start;
}

/* Index of the open boundary that the line in peek starts, or -1; the
 * innermost of the longest matches (an outer "b" and an inner "b2"). */
static int
match_boundary(const struct mime_parser *p, bool *close_r)
{
	int best = -1;

	if (p->peek_len < 3 || p->peek[0] != '-' || p->peek[1] != '-')
		return -1;
	for (unsigned i = p->n_bounds; i-- > 0;) {
		const struct boundary *b = &p->bounds[i];

		if (b->len + 2 <= p->peek_len && memcmp(p->peek + 2, b->text, b->len) == 0 &&
		    (best < 0 || b->len > p->bounds[best].len))
			best = (int)i;
	}
	if (best >= 0) {
		size_t after = 2 + p->bounds[best].len;

		*close_r = p->peek_len >= after + 2 && p->peek[after] == '-' &&
			   p->peek[after + 1] == '-';
	}
	return best;
}

static void
pop_boundaries(struct mime_parser *p, unsigned keep)
{
	while (p->n_bounds > keep)
		mem_free(&p->bounds[--p->n_bounds].text);
}

/* A delimiter of bounds[k] starts at p->offset: end everything inside its
 * multipart; the next part starts after the line unless it closes. */
static void
on_delimiter(struct mime_parser *p, unsigned k, bool close)
{
	struct mime_part *multi = p->bounds[k].part;

	const struct mime_part *region = NULL;
	uint64_t end = p->offset, end_lfs = p->lfs;

	if (p->in_header)
		finish_header(p);
	for (const struct mime_part *c = p->cur; c != multi; c = c->parent)
		region = c;
	/* RFC 2046 5.1.1: the line break before the delimiter is part of it,
	 * unless it ended the previous delimiter line (an empty part) */
	if (region != NULL && p->prev_eol > 0 && end - p->prev_eol >= region->header_offset) {
		end -= p->prev_eol;
		end_lfs--;
	}
	while (p->cur != multi) {
		end_part(p->cur, end, end_lfs);
		p->cur = p->cur->parent;
	}
	if (close) {
		multi->flags |= MIME_PART_FLAG_CLOSED;
		pop_boundaries(p, k);
	} else {
		pop_boundaries(p, k + 1);
		p->start_child = multi;
	}
}

/* At a line start: begin the part a delimiter line announced. */
static void
begin_line(struct mime_parser *p)
{
	struct mime_part *multi = p->start_child;

	p->line = LINE_START;
	if (multi == NULL)
		return;
	p->start_child = NULL;
	if (p->n_parts >= p->limits.max_parts) {
		set_opaque(p, multi);
		return;
	}
	start_header(p, new_part(p, multi, p->offset));
}

/* The line in peek is known (complete: it holds its LF). */
static void
decide_line(struct mime_parser *p, bool complete)
{
	bool close = false;
	int k = match_boundary(p, &close);
	size_t n = p->peek_len;

	p->peek_len = 0;
	if (k < 0) {
		deliver(p, p->peek, n);
		if (complete)
			begin_line(p);
		else
			p->line = LINE_REST;
		return;
	}
	on_delimiter(p, (unsigned)k, close);
	account(p, p->peek, n);
	if (complete)
		begin_line(p);
	else
		p->line = LINE_SKIP;
}

/* Could the octets in peek still become a delimiter line? */
static bool
may_be_delimiter(const struct mime_parser *p)
{
	return (p->peek_len < 1 || p->peek[0] == '-') && (p->peek_len < 2 || p->peek[1] == '-');
}

static size_t
line_start(struct mime_parser *p, const uint8_t *d, size_t n)
{
	size_t take = n < PEEK_MAX - p->peek_len ? n : PEEK_MAX - p->peek_len;
	const uint8_t *lf;

	if (p->n_bounds == 0) {
		p->line = LINE_REST;
		return 0;
	}
	lf = memchr(d, '\n', take);
	if (lf != NULL)
		take = (size_t)(lf - d) + 1;
	memcpy(p->peek + p->peek_len, d, take);
	p->peek_len += take;
	if (lf != NULL || p->peek_len == PEEK_MAX || !may_be_delimiter(p))
		decide_line(p, lf != NULL);
	return take;
}

/* Up to and including the next LF (or all of it); *lf_r says if found. */
static size_t
to_eol(const uint8_t *d, size_t n, bool *lf_r)
{
	const uint8_t *lf = memchr(d, '\n', n);

	*lf_r = lf != NULL;
	return lf == NULL ? n : (size_t)(lf - d) + 1;
}

/* ---- public ---- */

struct mime_parser *
mime_parser_new(const struct mime_parser_limits *limits)
{
	struct mime_parser *p = mem_zalloc(sizeof(*p));

	if (limits != NULL)
		p->limits = *limits;
	else
		mime_parser_limits_init_default(&p->limits);
	ASSERT(p->limits.max_parts >= 1);
	buf_init(&p->scratch, 0);
	p->root = new_part(p, NULL, 0);
	start_header(p, p->root);
	return p;
}

void
mime_parser_free(struct mime_parser **parser)
{
	struct mime_parser *p = *parser;

	if (p == NULL)
		return;
	if (p->in_header)
		rfc5322_header_parser_deinit(&p->hp);
	pop_boundaries(p, 0);
	mem_free(&p->bounds);
	buf_deinit(&p->scratch);
	mime_part_free(&p->root);
	mem_free(parser);
}

void
mime_parser_parse(struct mime_parser *p, const uint8_t *data, size_t len)
{
	while (len > 0) {
		size_t n;
		bool lf;

		switch (p->line) {
		case LINE_START:
			n = line_start(p, data, len);
			break;
		case LINE_REST:
			n = to_eol(data, len, &lf);
			deliver(p, data, n);
			if (lf)
				begin_line(p);
			break;
		default:
			n = to_eol(data, len, &lf);
			account(p, data, n);
			if (lf)
				begin_line(p);
			break;
		}
		data += n;
		len -= n;
	}
}

struct mime_part *
mime_parser_finish(struct mime_parser **parser)
{
	struct mime_parser *p = *parser;
	struct mime_part *root;

	if (p->peek_len > 0)
		decide_line(p, false);
	if (p->start_child != NULL)
		begin_line(p);
	if (p->in_header)
		finish_header(p);
	for (struct mime_part *part = p->cur; part != NULL; part = part->parent)
		end_part(part, p->offset, p->lfs);
	root = p->root;
	p->root = NULL;
	mime_parser_free(parser);
	return root;
}

struct mime_part *
mime_parse_message(const uint8_t *data, size_t len, const struct mime_parser_limits *limits)
{
	struct mime_parser *p = mime_parser_new(limits);

	mime_parser_parse(p, data, len);
	return mime_parser_finish(&p);
}
