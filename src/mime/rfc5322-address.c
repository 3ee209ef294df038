/*
 * rfc5322-address.c - RFC 5322 3.4 address-list parser (see rfc5322-address.h).
 *
 * Two levels. A lexer turns the value into tokens, skipping CFWS between
 * them and noting whether any came before each token:
 *
 *   ATOM     1*atext, UTF-8 included (RFC 5322 3.2.3, RFC 6532 3.2)
 *   QUOTED   a quoted-string, quotes included (3.2.4)
 *   LITERAL  a domain-literal, brackets included (3.4.1)
 *   SPECIAL  one of < > : ; @ , . ) ] \
 *
 * A recursive-descent parser with one token of lookahead reads them. The one
 * ambiguity, whether the words at the start of an address are a display
 * name, a group name or a local part, is settled by scanning to the first
 * token that is not a word or "." ("<", ":" or "@") and then reading the
 * words again as what they turned out to be (RFC 5322 4.4 lets an
 * obs-local-part hold the same words as an obs-phrase).
 *
 *   address-list = [address] *("," [address])    (empty elements: 4.4)
 *   address      = mailbox / group
 *   group        = phrase ":" [mailbox *("," [mailbox])] ";"
 *   mailbox      = phrase "<" [route ":"] addr-spec ">" / "<" ... ">" / addr-spec
 *   addr-spec    = word *("." word) "@" (atom *("." atom) / literal)
 *   phrase       = word *(word / ".")           (obs-phrase, 4.1)
 *
 * Errors set ap->error (the first one wins) and return -1 up the chain.
 */
#include "mime/rfc5322-address.h"

#include <string.h>

#include "core/mem.h"
#include "mime/rfc5322-chars.h"

enum tok_kind {
	TOK_END = 0,
	TOK_ATOM,
	TOK_QUOTED,
	TOK_LITERAL,
	TOK_SPECIAL,
};

struct tok {
	enum tok_kind kind;
	uint8_t c;                      /* TOK_SPECIAL: the character */
	const uint8_t *start, *end;     /* the token's octets as written */
	const uint8_t *cfws_start;      /* where the CFWS before it began */
	bool space_before;              /* CFWS came before it */
};

struct addr_parser {
	const uint8_t *p, *end;         /* input after the lookahead token */
	struct tok tok;                 /* the lookahead token */
	const struct rfc5322_address_limits *limits;
	enum rfc5322_address_mode mode;
	struct rfc5322_address_list *list;
	unsigned cap;                   /* allocated entries of list->addrs */
	const char *error;
	/* scratch for the address being read; each bounded by the value length */
	struct buf display, local, domain, group, route, comment;
};

void
rfc5322_address_limits_init_default(struct rfc5322_address_limits *limits)
{
	limits->max_addresses = RFC5322_ADDRESS_DEFAULT_MAX_ADDRESSES;
	limits->max_value = RFC5322_ADDRESS_DEFAULT_MAX_VALUE;
}

static int
fail(struct addr_parser *ap, const char *error)
{
	if (ap->error == NULL)
		ap->error = error;
	return -1;
}

static bool
is_special(struct addr_parser *ap, uint8_t c)
{
	return ap->tok.kind == TOK_SPECIAL && ap->tok.c == c;
}

static bool
is_word(const struct tok *t)
{
	return t->kind == TOK_ATOM || t->kind == TOK_QUOTED;
}

/* Length of a quoted-pair's character after the '\' at p (RFC 5322 3.2.1,
 * VCHAR widened to UTF-8 by RFC 6532 3.2), or 0. */
static size_t
quoted_pair_len(const uint8_t *p, const uint8_t *end)
{
	if (p + 1 == end)
		return 0;
	if (rfc5322_is_wsp(p[1]) || (p[1] >= 33 && p[1] <= 126))
		return 1;
	return p[1] >= 0x80 ? rfc5322_utf8_len(p + 1, end) : 0;
}

/*
 * One character inside a quoted string or a literal at ap->p, not the closing
 * one: quoted-pair, WSP, fold, or a printable octet that `allowed` accepts.
 * Returns its length, or 0 after setting the error.
 */
static size_t
inner_char_len(struct addr_parser *ap, bool (*allowed)(uint8_t), const char *what)
{
	const uint8_t *p = ap->p;
	size_t n;

	if (*p == '\\') {
		if ((n = quoted_pair_len(p, ap->end)) == 0) {
			fail(ap, "Invalid quoted-pair");
			return 0;
		}
		return n + 1;
	}
	if (rfc5322_is_wsp(*p))
		return 1;
	if ((n = rfc5322_line_break_len(p, ap->end)) > 0) {
		if (p + n < ap->end && rfc5322_is_wsp(p[n]))
			return n;
		fail(ap, "Line break not followed by white space");
		return 0;
	}
	if (*p >= 0x80) {
		if ((n = rfc5322_utf8_len(p, ap->end)) == 0)
			fail(ap, "Malformed UTF-8 in address");
		return n;
	}
	if (allowed(*p))
		return 1;
	fail(ap, what);
	return 0;
}

/* RFC 5322 3.2.4 qtext (ASCII part): %d33 / %d35-91 / %d93-126. */
static bool
is_qtext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != '"' && c != '\\';
}

/* RFC 5322 3.4.1 dtext (ASCII part): %d33-90 / %d94-126. */
static bool
is_dtext(uint8_t c)
{
	return c >= 33 && c <= 126 && c != '[' && c != ']' && c != '\\';
}

/* A quoted string or a literal from ap->p (on its opening character). */
static int
lex_enclosed(struct addr_parser *ap, uint8_t close, bool (*allowed)(uint8_t),
	     const char *invalid, const char *unterminated)
{
	ap->p++;
	while (ap->p < ap->end && *ap->p != close) {
		size_t n = inner_char_len(ap, allowed, invalid);

		if (n == 0)
			return -1;
		ap->p += n;
	}
	if (ap->p == ap->end)
		return fail(ap, unterminated);
	ap->p++;
	return 0;
}

static int
lex_atom(struct addr_parser *ap)
{
	while (ap->p < ap->end) {
		if (*ap->p >= 0x80) {
			size_t n = rfc5322_utf8_len(ap->p, ap->end);

			if (n == 0)
				return fail(ap, "Malformed UTF-8 in address");
			ap->p += n;
		} else if (rfc5322_is_atext(*ap->p)) {
			ap->p++;
		} else {
			break;
		}
	}
	return 0;
}

/* Read the next token into ap->tok. */
static int
advance(struct addr_parser *ap)
{
	struct tok *t = &ap->tok;
	const uint8_t *cfws_start = ap->p;
	const char *err;
	int skipped = rfc5322_skip_cfws(&ap->p, ap->end, &err);
	uint8_t c;
	int ret = 0;

	if (skipped < 0)
		return fail(ap, err);
	memset(t, 0, sizeof(*t));
	t->cfws_start = cfws_start;
	t->space_before = skipped > 0;
	t->start = ap->p;
	if (ap->p == ap->end) {
		t->kind = TOK_END;
	} else if ((c = *ap->p) == '"') {
		t->kind = TOK_QUOTED;
		ret = lex_enclosed(ap, '"', is_qtext, "Invalid character in quoted string",
				   "Unterminated quoted string");
	} else if (c == '[') {
		t->kind = TOK_LITERAL;
		ret = lex_enclosed(ap, ']', is_dtext, "Invalid character in domain literal",
				   "Unterminated domain literal");
	} else if (c >= 0x80 || rfc5322_is_atext(c)) {
		t->kind = TOK_ATOM;
		ret = lex_atom(ap);
	} else if (c != '\0' && strchr("<>:;@,.)]\\", c) != NULL) {
		t->kind = TOK_SPECIAL;
		t->c = c;
		ap->p++;
	} else {
		return fail(ap, "Invalid character in address");
	}
	t->end = ap->p;
	return ret;
}

/*
 * Append a token's meaning: a quoted string without its quotes, quoted-pairs
 * resolved, the line breaks of folds removed; a literal without white space,
 * brackets and quoted-pairs kept as written (so that it can be written back
 * as it is). out is bounded by the value's length.
 */
static void
put(struct buf *out, const uint8_t *data, size_t len)
{
	/* the scratch buffers hold as much as the value: this cannot fail */
	if (buf_append(out, data, len) < 0)
		PANIC("address scratch buffer overflow");
}

static void
append_tok(const struct tok *t, struct buf *out)
{
	const uint8_t *p = t->start, *e = t->end;
	bool literal = t->kind == TOK_LITERAL;

	if (t->kind != TOK_QUOTED && !literal) {
		put(out, p, (size_t)(e - p));
		return;
	}
	if (literal)
		put(out, p, 1);
	for (p++, e--; p < e; p++) {
		if (*p == '\\') {
			if (literal)
				put(out, p, 1);
			p++;
		} else if (*p == '\r' || *p == '\n' || (literal && rfc5322_is_wsp(*p))) {
			continue;
		}
		put(out, p, 1);
	}
	if (literal)
		put(out, e, 1);
}

static void
save(const struct addr_parser *ap, const uint8_t **p_r, struct tok *tok_r)
{
	*p_r = ap->p;
	*tok_r = ap->tok;
}

static void
restore(struct addr_parser *ap, const uint8_t *p, const struct tok *tok)
{
	ap->p = p;
	ap->tok = *tok;
}

/* Decode the phrase from the lookahead token up to `term` into out. */
static int
read_phrase(struct addr_parser *ap, uint8_t term, struct buf *out)
{
	bool first = true;

	if (!is_word(&ap->tok))
		return fail(ap, "Invalid display name");
	while (!is_special(ap, term)) {
		if (!first && ap->tok.space_before)
			put(out, (const uint8_t *)" ", 1);
		first = false;
		append_tok(&ap->tok, out);
		if (advance(ap) < 0)
			return -1;
	}
	return 0;
}

/* word *("." word), RFC 5322 3.4.1 local-part with obs-local-part (4.4). */
static int
read_local_part(struct addr_parser *ap, struct buf *out)
{
	for (;;) {
		if (!is_word(&ap->tok))
			return fail(ap, "Invalid local part");
		append_tok(&ap->tok, out);
		if (advance(ap) < 0)
			return -1;
		if (!is_special(ap, '.'))
			return 0;
		put(out, ap->tok.start, 1);
		if (advance(ap) < 0)
			return -1;
	}
}

/* atom *("." atom) or a domain-literal, RFC 5322 3.4.1 with obs-domain. */
static int
read_domain(struct addr_parser *ap, struct buf *out, bool *literal_r)
{
	*literal_r = ap->tok.kind == TOK_LITERAL;
	if (*literal_r) {
		append_tok(&ap->tok, out);
		return advance(ap);
	}
	for (;;) {
		if (ap->tok.kind != TOK_ATOM)
			return fail(ap, "Invalid domain");
		append_tok(&ap->tok, out);
		if (advance(ap) < 0)
			return -1;
		if (!is_special(ap, '.'))
			return 0;
		put(out, ap->tok.start, 1);
		if (advance(ap) < 0)
			return -1;
	}
}

static int
read_addr_spec(struct addr_parser *ap, bool *literal_r)
{
	if (read_local_part(ap, &ap->local) < 0)
		return -1;
	if (!is_special(ap, '@'))
		return fail(ap, "Missing @domain in address");
	if (advance(ap) < 0)
		return -1;
	return read_domain(ap, &ap->domain, literal_r);
}

/* After "<": [obs-route ":"] addr-spec ">" (RFC 5322 3.4, 4.4). */
static int
read_angle_addr(struct addr_parser *ap, bool *literal_r)
{
	if (advance(ap) < 0)
		return -1;
	if (is_special(ap, '@') || is_special(ap, ',')) {
		unsigned hops = 0;

		/* obs-domain-list (RFC 5322 4.4), kept as "@a,@b" for the IMAP
		 * addr-adl (RFC 9051 7.5.2) */
		while (is_special(ap, '@') || is_special(ap, ',')) {
			bool at = ap->tok.c == '@';

			if (advance(ap) < 0)
				return -1;
			if (!at)
				continue;
			buf_reset(&ap->domain);
			if (read_domain(ap, &ap->domain, literal_r) < 0)
				return -1;
			if (hops > 0)
				put(&ap->route, (const uint8_t *)",", 1);
			put(&ap->route, (const uint8_t *)"@", 1);
			put(&ap->route, buf_data(&ap->domain), buf_len(&ap->domain));
			if (!is_special(ap, ',') && !is_special(ap, ':'))
				return fail(ap, "Invalid source route");
			hops++;
		}
		if (hops == 0 || !is_special(ap, ':'))
			return fail(ap, "Invalid source route");
		buf_reset(&ap->domain);
		if (advance(ap) < 0)
			return -1;
	}
	if (is_special(ap, '>'))
		return fail(ap, "Empty address <>");
	if (read_addr_spec(ap, literal_r) < 0)
		return -1;
	if (!is_special(ap, '>'))
		return fail(ap, "Missing > after address");
	return advance(ap);
}

static char *
dup_buf(const struct buf *b)
{
	return mem_memdup(buf_cstr(b), buf_len(b) + 1);
}

static bool
has_8bit(const struct buf *b)
{
	for (size_t i = 0; i < buf_len(b); i++) {
		if (buf_data(b)[i] >= 0x80)
			return true;
	}
	return false;
}

/*
 * The text of the last comment that holds more than white space in the CFWS
 * before the lookahead token (that is, right after the address just read)
 * into ap->comment: without its outer parentheses, quoted-pairs resolved,
 * the line breaks of folds removed, white space at either end trimmed,
 * nested comments kept as written. The lexer has checked that CFWS, so its
 * parentheses balance. Returns false when there is no such comment.
 */
static bool
trailing_comment(struct addr_parser *ap)
{
	const uint8_t *p = ap->tok.cfws_start, *end = ap->tok.start;
	const uint8_t *best = NULL, *best_end = NULL;

	buf_reset(&ap->comment);
	if (p == NULL)
		return false;
	while (p < end) {
		const uint8_t *open;
		unsigned depth = 1;
		bool text = false;

		if (*p != '(') {
			p++;
			continue;
		}
		open = ++p;
		for (; p < end; p++) {
			if (*p == '\\' && p + 1 < end) {
				p++;
				text = true;
			} else if (*p == '(') {
				depth++;
			} else if (*p == ')') {
				if (--depth == 0)
					break;
			} else if (!rfc5322_is_wsp(*p) && *p != '\r' && *p != '\n') {
				text = true;
			}
		}
		if (text) {
			best = open;
			best_end = p;
		}
		if (p < end)
			p++; /* the closing ")" */
	}
	if (best == NULL)
		return false;
	while (rfc5322_is_wsp(*best) || *best == '\r' || *best == '\n')
		best++;
	for (p = best; p < best_end; p++) {
		if (*p == '\\' && p + 1 < best_end)
			put(&ap->comment, ++p, 1);
		else if (*p != '\r' && *p != '\n')
			put(&ap->comment, p, 1);
	}
	while (buf_len(&ap->comment) > 0 &&
	       rfc5322_is_wsp(buf_data(&ap->comment)[buf_len(&ap->comment) - 1]))
		buf_truncate(&ap->comment, buf_len(&ap->comment) - 1);
	return buf_len(&ap->comment) > 0;
}

/* Add an entry from the scratch buffers; mailbox false for an empty group. */
static int
add_entry(struct addr_parser *ap, bool mailbox, bool display, bool literal, unsigned group)
{
	struct rfc5322_address_list *list = ap->list;
	struct rfc5322_address *a;

	if (list->count >= ap->limits->max_addresses)
		return fail(ap, "Too many addresses");
	if (list->count == ap->cap) {
		ap->cap = ap->cap == 0 ? 4 : ap->cap * 2;
		list->addrs = mem_realloc(list->addrs, mem_size_mul(ap->cap, sizeof(*a)));
	}
	a = &list->addrs[list->count++];
	memset(a, 0, sizeof(*a));
	if (display)
		a->display_name = dup_buf(&ap->display);
	if (mailbox) {
		if (!display && trailing_comment(ap))
			a->comment = dup_buf(&ap->comment);
		if (buf_len(&ap->route) > 0)
			a->route = dup_buf(&ap->route);
		a->local_part = dup_buf(&ap->local);
		a->domain = dup_buf(&ap->domain);
		a->domain_literal = literal;
		a->utf8 = has_8bit(&ap->local) || has_8bit(&ap->domain);
	}
	if (group != 0) {
		a->group_name = dup_buf(&ap->group);
		a->group = group;
	}
	return 0;
}

static void
reset_scratch(struct addr_parser *ap)
{
	buf_reset(&ap->display);
	buf_reset(&ap->local);
	buf_reset(&ap->domain);
	buf_reset(&ap->route);
}

static int read_group(struct addr_parser *ap, const uint8_t *p, const struct tok *tok);

/*
 * One address at the lookahead token: a mailbox, or (group == 0 and the mode
 * allows it) a group. group is the number of the group being read, if any.
 */
static int
read_address(struct addr_parser *ap, unsigned group)
{
	const uint8_t *start_p;
	struct tok start_tok;
	unsigned words = 0;
	bool literal = false;

	reset_scratch(ap);
	save(ap, &start_p, &start_tok);
	while (is_word(&ap->tok) || is_special(ap, '.')) {
		words++;
		if (advance(ap) < 0)
			return -1;
	}
	if (is_special(ap, '@')) {
		restore(ap, start_p, &start_tok);
		if (read_addr_spec(ap, &literal) < 0)
			return -1;
		return add_entry(ap, true, false, literal, group);
	}
	if (is_special(ap, '<')) {
		restore(ap, start_p, &start_tok);
		if (words > 0 && read_phrase(ap, '<', &ap->display) < 0)
			return -1;
		if (read_angle_addr(ap, &literal) < 0)
			return -1;
		return add_entry(ap, true, words > 0, literal, group);
	}
	if (is_special(ap, ':') && words > 0) {
		if (ap->mode == RFC5322_MAILBOX_LIST)
			return fail(ap, "Group not allowed here");
		if (group != 0)
			return fail(ap, "Nested group");
		return read_group(ap, start_p, &start_tok);
	}
	if (words > 0)
		return fail(ap, "Missing @domain in address");
	return fail(ap, "Invalid address");
}

/* phrase ":" [group-list] ";" (RFC 5322 3.4, obs-group-list 4.4). */
static int
read_group(struct addr_parser *ap, const uint8_t *p, const struct tok *tok)
{
	unsigned group, members = 0;

	restore(ap, p, tok);
	buf_reset(&ap->group);
	if (read_phrase(ap, ':', &ap->group) < 0 || advance(ap) < 0)
		return -1;
	group = ++ap->list->n_groups;
	for (;;) {
		if (is_special(ap, ';'))
			break;
		if (is_special(ap, ',')) {
			if (advance(ap) < 0)
				return -1;
			continue;
		}
		if (ap->tok.kind == TOK_END)
			return fail(ap, "Missing ; at end of group");
		if (read_address(ap, group) < 0)
			return -1;
		members++;
		if (ap->tok.kind == TOK_END)
			return fail(ap, "Missing ; at end of group");
		if (!is_special(ap, ',') && !is_special(ap, ';'))
			return fail(ap, "Expected , or ; after address in group");
	}
	if (members == 0) {
		reset_scratch(ap);
		if (add_entry(ap, false, false, false, group) < 0)
			return -1;
	}
	return advance(ap);
}

static int
read_list(struct addr_parser *ap)
{
	bool comma = false;

	if (advance(ap) < 0)
		return -1;
	while (ap->tok.kind != TOK_END) {
		if (is_special(ap, ',')) {
			comma = true;
			if (advance(ap) < 0)
				return -1;
			continue;
		}
		if (read_address(ap, 0) < 0)
			return -1;
		if (ap->tok.kind != TOK_END && !is_special(ap, ','))
			return fail(ap, "Expected , between addresses");
	}
	if (comma && ap->list->count == 0)
		return fail(ap, "Empty address list");
	return 0;
}

int
rfc5322_address_list_parse(const uint8_t *value, size_t len,
			   const struct rfc5322_address_limits *limits,
			   enum rfc5322_address_mode mode, struct rfc5322_address_list *list_r,
			   const char **error_r)
{
	struct addr_parser ap = {
		.p = value, .end = value + len, .limits = limits, .mode = mode, .list = list_r,
	};
	size_t max_text = mem_size_add(len, 2);
	int ret;

	memset(list_r, 0, sizeof(*list_r));
	if (len > limits->max_value) {
		*error_r = "Address list too long";
		return -1;
	}
	buf_init(&ap.display, max_text);
	buf_init(&ap.local, max_text);
	buf_init(&ap.domain, max_text);
	buf_init(&ap.group, max_text);
	buf_init(&ap.route, max_text);
	buf_init(&ap.comment, max_text);
	ret = read_list(&ap);
	buf_deinit(&ap.display);
	buf_deinit(&ap.local);
	buf_deinit(&ap.domain);
	buf_deinit(&ap.group);
	buf_deinit(&ap.route);
	buf_deinit(&ap.comment);
	if (ret < 0) {
		rfc5322_address_list_deinit(list_r);
		*error_r = ap.error;
		return -1;
	}
	return 1;
}

void
rfc5322_address_list_deinit(struct rfc5322_address_list *list)
{
	for (unsigned i = 0; i < list->count; i++) {
		struct rfc5322_address *a = &list->addrs[i];

		mem_free(&a->display_name);
		mem_free(&a->local_part);
		mem_free(&a->domain);
		mem_free(&a->group_name);
		mem_free(&a->comment);
		mem_free(&a->route);
	}
	mem_free(&list->addrs);
	memset(list, 0, sizeof(*list));
}

/* RFC 5322 3.2.3 dot-atom-text, UTF-8 allowed (RFC 6532 3.2). */
static bool
is_dot_atom(const char *s)
{
	bool after_dot = true;

	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		uint8_t c = (uint8_t)*s;

		if (c == '.') {
			if (after_dot)
				return false;
			after_dot = true;
		} else if (c >= 0x80 || rfc5322_is_atext(c)) {
			after_dot = false;
		} else {
			return false;
		}
	}
	return !after_dot;
}

int
rfc5322_address_format(const struct rfc5322_address *addr, struct buf *out)
{
	size_t old_len = buf_len(out);
	int ret = 0;

	ASSERT(addr->local_part != NULL && addr->domain != NULL);
	if (is_dot_atom(addr->local_part)) {
		ret |= buf_append_str(out, addr->local_part);
	} else {
		ret |= buf_append_byte(out, '"');
		for (const char *s = addr->local_part; *s != '\0'; s++) {
			if (*s == '"' || *s == '\\')
				ret |= buf_append_byte(out, '\\');
			ret |= buf_append_byte(out, (uint8_t)*s);
		}
		ret |= buf_append_byte(out, '"');
	}
	ret |= buf_append_byte(out, '@');
	for (const char *s = addr->domain; *s != '\0'; s++) {
		uint8_t c = (uint8_t)*s;

		if (!addr->domain_literal && c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		ret |= buf_append_byte(out, c);
	}
	if (ret != 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}
