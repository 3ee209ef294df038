/*
 * imap-parser.c - the byte-driven state machine behind imap-parser.h.
 *
 * Every state lives in struct imap_parser, so input may be split anywhere.
 * Bytes outside literals go through step() one at a time; literal data is
 * copied in bulk. The content of every item (tag, name, atoms, unescaped
 * quoted strings, literal data), each followed by a NUL, is appended to one
 * buffer, p->data; items are recorded as flat tokens (offset, length, parent
 * list) and turned into the public tree only when the command is complete,
 * when the buffer no longer moves (build_tree()).
 *
 * After an error the parser skips to the end of the command line. The
 * skipper watches for a non-synchronizing literal announced at the end of a
 * skipped line ("{n+}" CRLF): the client sends its data without waiting, so
 * it is discarded as part of the command rather than read as commands
 * (RFC 7888 4). A synchronizing literal ends the command: the client waits
 * for "+" and gets the engine's BAD instead (RFC 9051 7.5).
 *
 * Invariants: p->data holds at most max_line + max_command + max_args + 2
 * bytes; at most max_args tokens; an error consumes the offending byte only
 * when it is the LF ending the line (otherwise the skipper sees it).
 */
#include "imap/imap-parser.h"

#include <string.h>

#include "core/mem.h"
#include "imap/imap-parser-private.h"
#include "mime/rfc5322-chars.h"

enum parser_state {
	ST_TAG = 0,
	ST_NAME,
	ST_ITEM,                /* an item may start (after SP or "(") */
	ST_AFTER,               /* after an item: SP, ")" or line end */
	ST_ATOM,
	ST_TILDE,               /* "~": literal8 or an atom */
	ST_BRACKET,             /* inside [...] of an atom */
	ST_BRACKET_QUOTED,
	ST_BRACKET_ESC,
	ST_QUOTED,
	ST_QUOTED_ESC,
	ST_LIT_NUM,             /* after "{" */
	ST_LIT_PLUS,            /* after "{n+" */
	ST_LIT_END,             /* after "}" */
	ST_LIT_LF,              /* after "}" CR */
	ST_LIT_DATA,
	ST_EOL_LF,              /* CR seen at a line end */
	ST_LINE,                /* line mode */
	ST_LINE_LF,
	ST_SKIP,                /* after an error, up to the line end */
	ST_SKIP_LITERAL,        /* discarding non-synchronizing literal data */
};

/* What the skipper has seen at the end of the skipped text ("{n+}"). */
enum skip_state {
	SK_NONE = 0,
	SK_BRACE,
	SK_DIGITS,
	SK_PLUS,
	SK_CLOSE,
	SK_CLOSE_CR,
};

struct token {
	enum imap_arg_type type;
	unsigned flags;
	int parent;             /* token index of the enclosing list, -1 at top */
	size_t off, len;        /* into p->data */
	unsigned n_children, filled;
};

struct imap_parser {
	struct imap_parser_limits limits;
	unsigned flags;
	enum parser_state state;
	bool reset_pending;     /* an event's views are out: drop them first */

	struct buf data;
	struct token *tokens;
	unsigned n_tokens, cap_tokens;
	int open_list;          /* innermost open list token, -1 */
	unsigned depth;
	unsigned bracket_depth;
	bool tag_done, name_done;
	size_t name_off;
	uint64_t line_bytes;    /* bytes outside literals */
	uint64_t literal_bytes; /* announced literal data of this command */

	uint64_t lit_size, lit_left;
	bool lit_digits, lit_nonsync;

	enum skip_state skip;
	bool skip_literals;     /* false in line mode */
	uint64_t skip_num, skip_left;

	struct imap_arg *out;
	unsigned out_cap;
	struct imap_command cmd;
	struct imap_parser_error error;
	size_t line_len;
};

/* An internal "look at this byte again in the new state". */
#define EV_AGAIN 100
#define EV_NONE 101

void
imap_parser_limits_init_default(struct imap_parser_limits *limits)
{
	limits->max_line = IMAP_PARSER_DEFAULT_MAX_LINE;
	limits->max_literal = IMAP_PARSER_DEFAULT_MAX_LITERAL;
	limits->max_command = IMAP_PARSER_DEFAULT_MAX_COMMAND;
	limits->max_depth = IMAP_PARSER_DEFAULT_MAX_DEPTH;
	limits->max_args = IMAP_PARSER_DEFAULT_MAX_ARGS;
}

static size_t
clamp_size(uint64_t v)
{
	return v > SIZE_MAX / 4 ? SIZE_MAX / 4 : (size_t)v;
}

void
imap_parser_set_limits(struct imap_parser *p, const struct imap_parser_limits *limits)
{
	ASSERT(limits->max_line >= 16 && limits->max_args > 0);
	p->limits = *limits;
	p->data.max = mem_size_add(mem_size_add(clamp_size(limits->max_line),
						clamp_size(limits->max_command)),
				   mem_size_add(limits->max_args, 2));
}

void
imap_parser_set_flags(struct imap_parser *p, unsigned flags)
{
	p->flags = flags;
}

struct imap_parser *
imap_parser_new(const struct imap_parser_limits *limits, unsigned flags)
{
	struct imap_parser *p = mem_zalloc(sizeof(*p));

	buf_init(&p->data, 0);
	imap_parser_set_limits(p, limits);
	p->flags = flags;
	p->open_list = -1;
	return p;
}

void
imap_parser_free(struct imap_parser **pp)
{
	struct imap_parser *p = *pp;

	if (p == NULL)
		return;
	buf_deinit(&p->data);
	mem_free(&p->tokens);
	mem_free(&p->out);
	mem_free(pp);
}

/* Drop the partial or finished command; the state is left to the caller.
 * Its bytes are wiped, not just forgotten: a LOGIN line or an AUTHENTICATE
 * response holds a password. */
static void
command_clear(struct imap_parser *p)
{
	if (buf_len(&p->data) > 0)
		explicit_bzero(buf_data(&p->data), buf_len(&p->data));
	buf_reset(&p->data);
	p->n_tokens = 0;
	p->open_list = -1;
	p->depth = 0;
	p->bracket_depth = 0;
	p->tag_done = false;
	p->name_done = false;
	p->name_off = 0;
	p->line_bytes = 0;
	p->literal_bytes = 0;
	memset(&p->cmd, 0, sizeof(p->cmd));
	memset(&p->error, 0, sizeof(p->error));
	p->line_len = 0;
	p->reset_pending = false;
}

void
imap_parser_reset(struct imap_parser *p)
{
	command_clear(p);
	p->state = ST_TAG;
	p->skip = SK_NONE;
}

void
imap_parser_expect_line(struct imap_parser *p)
{
	if (p->reset_pending)
		command_clear(p);
	ASSERT(p->state == ST_TAG && buf_len(&p->data) == 0);
	p->state = ST_LINE;
}

const struct imap_command *
imap_parser_get_command(const struct imap_parser *p)
{
	return &p->cmd;
}

const struct imap_parser_error *
imap_parser_get_error(const struct imap_parser *p)
{
	return &p->error;
}

uint64_t
imap_parser_literal_size(const struct imap_parser *p)
{
	return p->lit_size;
}

const char *
imap_parser_get_line(const struct imap_parser *p, size_t *len_r)
{
	*len_r = p->line_len;
	return buf_cstr(&p->data);
}

/* ---- errors and skipping ---- */

/* Prime the skipper with a literal header cut short by the error. */
static void
skip_prime(struct imap_parser *p)
{
	p->skip = SK_NONE;
	p->skip_num = p->lit_size;
	switch (p->state) {
	case ST_LIT_NUM:
		p->skip = p->lit_digits ? SK_DIGITS : SK_BRACE;
		break;
	case ST_LIT_PLUS:
		p->skip = SK_PLUS;
		break;
	case ST_LIT_END:
		p->skip = p->lit_nonsync ? SK_CLOSE : SK_NONE;
		break;
	case ST_LIT_LF:
		p->skip = p->lit_nonsync ? SK_CLOSE_CR : SK_NONE;
		break;
	default:
		break;
	}
}

/*
 * Report an error found at byte c. At the LF ending the line the command is
 * over, except after the header of a non-synchronizing literal, whose data
 * follows regardless; otherwise the rest of the line is skipped.
 */
static int
parse_error(struct imap_parser *p, enum imap_parser_error_code code, const char *message,
	    uint8_t c)
{
	bool lit_header = p->state == ST_LIT_END || p->state == ST_LIT_LF;

	p->error.code = code;
	p->error.message = message;
	p->error.tag = p->tag_done ? buf_cstr(&p->data) : NULL;
	p->error.skip_bytes = 0;
	p->skip_literals = p->state != ST_LINE && p->state != ST_LINE_LF;
	if (c == '\n' && lit_header && p->lit_nonsync) {
		p->error.skip_bytes = p->lit_size;
		p->skip_left = p->lit_size;
		p->skip = SK_NONE;
		p->state = p->lit_size > 0 ? ST_SKIP_LITERAL : ST_SKIP;
	} else if (c == '\n') {
		p->state = ST_TAG;
	} else {
		skip_prime(p);
		p->state = ST_SKIP;
	}
	p->reset_pending = true;
	return IMAP_PARSER_ERROR;
}

/* Feed one byte to the skipper's "{n+}" tracker (skipper states above). */
static void
skip_track(struct imap_parser *p, uint8_t c)
{
	enum skip_state s = p->skip;

	p->skip = SK_NONE;
	if (c == '{') {
		p->skip = SK_BRACE;
		p->skip_num = 0;
	} else if (c >= '0' && c <= '9' && (s == SK_BRACE || s == SK_DIGITS)) {
		uint64_t d = (uint64_t)(c - '0');

		p->skip_num = p->skip_num > (UINT64_MAX - d) / 10 ? UINT64_MAX
								 : p->skip_num * 10 + d;
		p->skip = SK_DIGITS;
	} else if (c == '+' && s == SK_DIGITS) {
		p->skip = SK_PLUS;
	} else if (c == '}' && s == SK_PLUS) {
		p->skip = SK_CLOSE;
	} else if (c == '\r' && s == SK_CLOSE) {
		p->skip = SK_CLOSE_CR;
	}
}

/* Skip up to the end of the line; returns the bytes used. */
static size_t
skip_line(struct imap_parser *p, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] != '\n') {
			if (p->skip_literals)
				skip_track(p, data[i]);
			continue;
		}
		if (p->skip == SK_CLOSE || p->skip == SK_CLOSE_CR) {
			p->skip_left = p->skip_num;
			p->state = p->skip_num > 0 ? ST_SKIP_LITERAL : ST_SKIP;
		} else {
			p->state = ST_TAG;
		}
		p->skip = SK_NONE;
		return i + 1;
	}
	return len;
}

/* ---- items ---- */

static void
data_append(struct imap_parser *p, const void *bytes, size_t len)
{
	if (buf_append(&p->data, bytes, len) < 0)
		PANIC("imap parser buffer limit broken");
}

static void
data_byte(struct imap_parser *p, uint8_t c)
{
	data_append(p, &c, 1);
}

/* Start an item of the given type at the end of p->data. */
static int
item_start(struct imap_parser *p, enum imap_arg_type type, uint8_t c)
{
	struct token *t;

	if (p->n_tokens >= p->limits.max_args)
		return parse_error(p, IMAP_PARSER_ERROR_TOO_COMPLEX, "Too many arguments", c);
	if (p->n_tokens == p->cap_tokens) {
		unsigned cap = p->cap_tokens == 0 ? 16 : p->cap_tokens * 2;

		if (cap > p->limits.max_args)
			cap = p->limits.max_args;
		p->tokens = mem_realloc(p->tokens, mem_size_mul(cap, sizeof(*p->tokens)));
		p->cap_tokens = cap;
	}
	t = &p->tokens[p->n_tokens++];
	memset(t, 0, sizeof(*t));
	t->type = type;
	t->parent = p->open_list;
	t->off = buf_len(&p->data);
	if (t->parent >= 0)
		p->tokens[t->parent].n_children++;
	return EV_NONE;
}

static struct token *
cur_token(struct imap_parser *p)
{
	ASSERT(p->n_tokens > 0);
	return &p->tokens[p->n_tokens - 1];
}

/* The current string item ends at the end of p->data. */
static void
item_finish(struct imap_parser *p)
{
	struct token *t = cur_token(p);

	t->len = buf_len(&p->data) - t->off;
	if (t->type == IMAP_ARG_ATOM && t->len == 3 && (t->flags & IMAP_ARG_FLAG_BRACKET) == 0 &&
	    strncasecmp((const char *)buf_data(&p->data) + t->off, "NIL", 3) == 0)
		t->type = IMAP_ARG_NIL;
	data_byte(p, '\0');
}

static int
list_open(struct imap_parser *p, uint8_t c)
{
	int ev;

	if (p->depth >= p->limits.max_depth)
		return parse_error(p, IMAP_PARSER_ERROR_TOO_COMPLEX, "Lists nested too deeply", c);
	ev = item_start(p, IMAP_ARG_LIST, c);
	if (ev != EV_NONE)
		return ev;
	p->open_list = (int)(p->n_tokens - 1);
	p->depth++;
	p->state = ST_ITEM;
	return EV_NONE;
}

static int
list_close(struct imap_parser *p, uint8_t c)
{
	if (p->open_list < 0)
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Unexpected )", c);
	p->open_list = p->tokens[p->open_list].parent;
	p->depth--;
	p->state = ST_AFTER;
	return EV_NONE;
}

/* ---- the tree ---- */

/*
 * Lay the tokens out as the public tree: the top-level items first, then
 * each list's items in one block, in token order. O(tokens).
 */
static void
build_tree(struct imap_parser *p)
{
	const char *base = (const char *)buf_data(&p->data);
	unsigned n = p->n_tokens, next = 0, top_filled = 0;

	if (n > p->out_cap) {
		p->out = mem_realloc(p->out, mem_size_mul(n, sizeof(*p->out)));
		p->out_cap = n;
	}
	for (unsigned i = 0; i < n; i++) {
		if (p->tokens[i].parent < 0)
			next++;
	}
	p->cmd.n_args = next;
	for (unsigned i = 0; i < n; i++) {
		struct token *t = &p->tokens[i];

		if (t->type == IMAP_ARG_LIST) {
			t->off = next;  /* now the block index of its items */
			next += t->n_children;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		struct token *t = &p->tokens[i];
		unsigned slot = t->parent < 0 ? top_filled++
					      : (unsigned)p->tokens[t->parent].off +
						p->tokens[t->parent].filled++;
		struct imap_arg *a = &p->out[slot];

		memset(a, 0, sizeof(*a));
		a->type = t->type;
		a->flags = t->flags;
		if (t->type == IMAP_ARG_LIST) {
			a->list = t->n_children > 0 ? p->out + t->off : NULL;
			a->list_count = t->n_children;
		} else {
			a->str = base + t->off;
			a->str_len = t->len;
		}
	}
	p->cmd.args = n > 0 ? p->out : NULL;
}

/* The line end of a command line: the command is complete, or an error. */
static int
line_end(struct imap_parser *p, uint8_t c)
{
	if (!p->tag_done) {
		if (buf_len(&p->data) == 0)
			return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Empty command line", c);
		p->tag_done = true;
		data_byte(p, '\0');
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing command name", c);
	}
	if (!p->name_done) {
		if (p->name_off == buf_len(&p->data))
			return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing command name", c);
		p->name_done = true;
		data_byte(p, '\0');
	}
	if (p->open_list >= 0)
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing )", c);
	p->cmd.tag = buf_cstr(&p->data);
	p->cmd.name = buf_cstr(&p->data) + p->name_off;
	build_tree(p);
	p->state = ST_TAG;
	p->reset_pending = true;
	return IMAP_PARSER_COMMAND;
}

/* CR or LF where a line may end; other bytes are not for this function. */
static int
maybe_line_end(struct imap_parser *p, uint8_t c)
{
	if (c == '\n')
		return line_end(p, c);
	p->state = ST_EOL_LF;
	return EV_NONE;
}

/* ---- one byte in each state ---- */

/* An error for a byte that has no place here, with a precise message for
 * the bytes that are never allowed outside a (literal) string. */
static int
bad_char(struct imap_parser *p, uint8_t c, const char *message)
{
	if (c == '\0')
		message = "NUL byte in command";
	else if (c >= 0x80)
		message = "8-bit character outside a string";
	return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, message, c);
}

static int
step_tag(struct imap_parser *p, uint8_t c)
{
	/* RFC 9051 9: tag = 1*<any ASTRING-CHAR except "+"> */
	if (imap_is_astring_char(c) && c != '+') {
		data_byte(p, c);
		return EV_NONE;
	}
	if (c == '\r' || c == '\n')
		return maybe_line_end(p, c);
	if (c != ' ')
		return bad_char(p, c, "Invalid character in tag");
	if (buf_len(&p->data) == 0)
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing tag", c);
	data_byte(p, '\0');
	p->tag_done = true;
	p->name_off = buf_len(&p->data);
	p->state = ST_NAME;
	return EV_NONE;
}

static int
step_name(struct imap_parser *p, uint8_t c)
{
	/* command names are atoms, matched case-insensitively (RFC 9051 9) */
	if (imap_is_atom_char(c)) {
		data_byte(p, (uint8_t)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c));
		return EV_NONE;
	}
	if (c == '\r' || c == '\n')
		return maybe_line_end(p, c);
	if (c != ' ')
		return bad_char(p, c, "Invalid character in command name");
	if (p->name_off == buf_len(&p->data))
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing command name", c);
	data_byte(p, '\0');
	p->name_done = true;
	p->state = ST_ITEM;
	return EV_NONE;
}

static void
literal_begin(struct imap_parser *p)
{
	p->lit_size = 0;
	p->lit_digits = false;
	p->lit_nonsync = false;
	p->state = ST_LIT_NUM;
}

/* Start of an item; SP is tolerated where one item ends and the next starts. */
static int
step_item(struct imap_parser *p, uint8_t c)
{
	int ev = EV_NONE;

	switch (c) {
	case ' ':
		return EV_NONE;
	case '(':
		return list_open(p, c);
	case ')':
		return list_close(p, c);
	case '\r':
	case '\n':
		return maybe_line_end(p, c);
	case '"':
		ev = item_start(p, IMAP_ARG_QUOTED, c);
		p->state = ev == EV_NONE ? ST_QUOTED : p->state;
		return ev;
	case '{':
		ev = item_start(p, IMAP_ARG_LITERAL, c);
		if (ev == EV_NONE)
			literal_begin(p);
		return ev;
	case '~':
	case '\\':
		/* "~{": literal8 (RFC 3516 4.2); "\": a flag (RFC 9051 9 flag) */
		ev = item_start(p, IMAP_ARG_ATOM, c);
		if (ev != EV_NONE)
			return ev;
		data_byte(p, c);
		p->state = c == '~' ? ST_TILDE : ST_ATOM;
		return EV_NONE;
	default:
		if (!imap_is_list_char(c))
			return bad_char(p, c, "Invalid character");
		ev = item_start(p, IMAP_ARG_ATOM, c);
		if (ev != EV_NONE)
			return ev;
		p->state = ST_ATOM;
		return EV_AGAIN;
	}
}

/*
 * Does the atom so far name a FETCH item that takes a section? "[" is an
 * ATOM-CHAR (RFC 9051 9 atom-specials do not hold it), so a section opens
 * only after fetch-att names with one: BODY, BODY.PEEK, BINARY, BINARY.PEEK
 * and BINARY.SIZE (RFC 9051 9 fetch-att, RFC 3516 4.1). Anywhere else
 * ("SELECT a[b") it is an ordinary character of the atom.
 */
static bool
atom_opens_section(const struct imap_parser *p)
{
	static const char *const names[] = { "BODY", "BODY.PEEK", "BINARY", "BINARY.PEEK",
					     "BINARY.SIZE" };
	const struct token *t = &p->tokens[p->n_tokens - 1];
	const char *atom = (const char *)buf_data(&p->data) + t->off;
	size_t len = buf_len(&p->data) - t->off;

	if ((t->flags & IMAP_ARG_FLAG_BRACKET) != 0)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(names); i++) {
		if (strlen(names[i]) == len && strncasecmp(atom, names[i], len) == 0)
			return true;
	}
	return false;
}

static int
step_atom(struct imap_parser *p, uint8_t c)
{
	if (c == '[' && atom_opens_section(p)) {
		/* a section (RFC 9051 9 section): the atom goes on to "]" */
		data_byte(p, c);
		cur_token(p)->flags |= IMAP_ARG_FLAG_BRACKET;
		p->bracket_depth = 1;
		p->state = ST_BRACKET;
		return EV_NONE;
	}
	if (imap_is_list_char(c)) {
		data_byte(p, c);
		return EV_NONE;
	}
	if (c != ' ' && c != ')' && c != '\r' && c != '\n')
		return bad_char(p, c, "Invalid character in atom");
	item_finish(p);
	if (c == ' ') {
		p->state = ST_ITEM;
		return EV_NONE;
	}
	return c == ')' ? list_close(p, c) : maybe_line_end(p, c);
}

static int
step_tilde(struct imap_parser *p, uint8_t c)
{
	if (c != '{') {
		p->state = ST_ATOM;
		return EV_AGAIN;
	}
	buf_truncate(&p->data, buf_len(&p->data) - 1);
	cur_token(p)->type = IMAP_ARG_LITERAL8;
	literal_begin(p);
	return EV_NONE;
}

/* Inside "[...]": spaces, lists and quoted strings, up to the matching "]". */
static int
step_bracket(struct imap_parser *p, uint8_t c)
{
	if (c == '\r' || c == '\n')
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Missing ]", c);
	if (c < 0x20 || c >= 0x7f)
		return bad_char(p, c, "Invalid character in section");
	data_byte(p, c);
	if (c == '[') {
		p->bracket_depth++;
	} else if (c == ']') {
		if (--p->bracket_depth == 0)
			p->state = ST_ATOM;
	} else if (c == '"') {
		p->state = ST_BRACKET_QUOTED;
	}
	return EV_NONE;
}

/* Is c allowed in a quoted string (RFC 9051 9 QUOTED-CHAR, RFC 6855 3)? */
static int
quoted_char_check(struct imap_parser *p, uint8_t c)
{
	if (c == '\r' || c == '\n')
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Unterminated quoted string", c);
	if (c == '\0')
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "NUL byte in quoted string", c);
	if (c >= 0x80 && (p->flags & IMAP_PARSER_FLAG_UTF8) == 0)
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX,
				   "8-bit character in quoted string without UTF8=ACCEPT", c);
	return EV_NONE;
}

static int
step_bracket_quoted(struct imap_parser *p, uint8_t c)
{
	int ev = quoted_char_check(p, c);

	if (ev != EV_NONE)
		return ev;
	if (p->state == ST_BRACKET_ESC) {
		if (c != '"' && c != '\\')
			return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Invalid escape", c);
		p->state = ST_BRACKET_QUOTED;
	} else if (c == '\\') {
		p->state = ST_BRACKET_ESC;
	} else if (c == '"') {
		p->state = ST_BRACKET;
	}
	data_byte(p, c);
	return EV_NONE;
}

static int
step_quoted(struct imap_parser *p, uint8_t c)
{
	int ev = quoted_char_check(p, c);
	struct token *t = cur_token(p);

	if (ev != EV_NONE)
		return ev;
	if (p->state == ST_QUOTED_ESC) {
		/* RFC 9051 9: only DQUOTE and "\" may be escaped */
		if (c != '"' && c != '\\')
			return parse_error(p, IMAP_PARSER_ERROR_SYNTAX,
					   "Invalid escape in quoted string", c);
		data_byte(p, c);
		p->state = ST_QUOTED;
		return EV_NONE;
	}
	if (c == '\\') {
		p->state = ST_QUOTED_ESC;
		return EV_NONE;
	}
	if (c != '"') {
		data_byte(p, c);
		return EV_NONE;
	}
	if ((p->flags & IMAP_PARSER_FLAG_UTF8) != 0 &&
	    !rfc5322_utf8_valid(buf_data(&p->data) + t->off, buf_len(&p->data) - t->off))
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "Invalid UTF-8 in quoted string",
				   c);
	item_finish(p);
	p->state = ST_AFTER;
	return EV_NONE;
}

/* The header "{n}" / "{n+}" is complete at its LF: check it against the limits. */
static int
literal_header_done(struct imap_parser *p, uint8_t c)
{
	uint64_t used = p->line_bytes + p->literal_bytes;
	uint64_t room = p->limits.max_command > used ? p->limits.max_command - used : 0;

	if (p->lit_nonsync && (p->flags & IMAP_PARSER_FLAG_LITERAL_MINUS) != 0 &&
	    p->lit_size > IMAP_PARSER_LITERAL_MINUS_MAX)
		return parse_error(p, IMAP_PARSER_ERROR_TOO_BIG,
				   "Non-synchronizing literal too big (LITERAL-)", c);
	if (p->lit_size > p->limits.max_literal)
		return parse_error(p, IMAP_PARSER_ERROR_TOO_BIG, "Literal too big", c);
	if (p->lit_size > room)
		return parse_error(p, IMAP_PARSER_ERROR_TOO_BIG, "Command too big", c);
	p->literal_bytes += p->lit_size;
	if (p->lit_nonsync)
		cur_token(p)->flags |= IMAP_ARG_FLAG_NONSYNC;
	p->lit_left = p->lit_size;
	if (p->lit_size == 0) {
		item_finish(p);
		p->state = ST_AFTER;
	} else {
		p->state = ST_LIT_DATA;
	}
	return p->lit_nonsync ? EV_NONE : IMAP_PARSER_CONTINUE;
}

/* "{" number64 ["+"] "}" CRLF (RFC 9051 9 literal, RFC 7888 8). */
static int
step_literal_header(struct imap_parser *p, uint8_t c)
{
	switch (p->state) {
	case ST_LIT_NUM:
		if (c >= '0' && c <= '9') {
			uint64_t d = (uint64_t)(c - '0');

			/* saturate: anything past 2^63-1 is refused as too big */
			p->lit_size = p->lit_size > (UINT64_MAX - d) / 10 ? UINT64_MAX
									  : p->lit_size * 10 + d;
			p->lit_digits = true;
			return EV_NONE;
		}
		if (p->lit_digits && (c == '+' || c == '}')) {
			p->lit_nonsync = c == '+';
			p->state = c == '+' ? ST_LIT_PLUS : ST_LIT_END;
			return EV_NONE;
		}
		return bad_char(p, c, "Invalid literal size");
	case ST_LIT_PLUS:
		if (c != '}')
			return bad_char(p, c, "Invalid literal size");
		p->state = ST_LIT_END;
		return EV_NONE;
	case ST_LIT_END:
		if (c == '\r') {
			p->state = ST_LIT_LF;
			return EV_NONE;
		}
		if (c == '\n')
			return literal_header_done(p, c);
		return bad_char(p, c, "Literal must end the line");
	default: /* ST_LIT_LF */
		if (c == '\n')
			return literal_header_done(p, c);
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "CR not followed by LF", c);
	}
}

static int
step_after(struct imap_parser *p, uint8_t c)
{
	if (c == ' ') {
		p->state = ST_ITEM;
		return EV_NONE;
	}
	if (c == ')')
		return list_close(p, c);
	if (c == '\r' || c == '\n')
		return maybe_line_end(p, c);
	return bad_char(p, c, "Missing space between arguments");
}

/* Line mode: any bytes but NUL and a bare CR, up to the line end. */
static int
step_line(struct imap_parser *p, uint8_t c)
{
	if (p->state == ST_LINE_LF && c != '\n')
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "CR not followed by LF", c);
	if (c == '\r') {
		p->state = ST_LINE_LF;
		return EV_NONE;
	}
	if (c == '\0')
		return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "NUL byte in line", c);
	if (c != '\n') {
		data_byte(p, c);
		return EV_NONE;
	}
	p->line_len = buf_len(&p->data);
	data_byte(p, '\0');
	p->state = ST_TAG;
	p->reset_pending = true;
	return IMAP_PARSER_LINE;
}

static int
step_byte(struct imap_parser *p, uint8_t c)
{
	if (p->line_bytes >= p->limits.max_line)
		return parse_error(p, IMAP_PARSER_ERROR_LINE_TOO_LONG,
				   p->state == ST_LINE || p->state == ST_LINE_LF
					   ? "Line too long" : "Command line too long", c);
	switch (p->state) {
	case ST_TAG:
		return step_tag(p, c);
	case ST_NAME:
		return step_name(p, c);
	case ST_ITEM:
		return step_item(p, c);
	case ST_AFTER:
		return step_after(p, c);
	case ST_ATOM:
		return step_atom(p, c);
	case ST_TILDE:
		return step_tilde(p, c);
	case ST_BRACKET:
		return step_bracket(p, c);
	case ST_BRACKET_QUOTED:
	case ST_BRACKET_ESC:
		return step_bracket_quoted(p, c);
	case ST_QUOTED:
	case ST_QUOTED_ESC:
		return step_quoted(p, c);
	case ST_LIT_NUM:
	case ST_LIT_PLUS:
	case ST_LIT_END:
	case ST_LIT_LF:
		return step_literal_header(p, c);
	case ST_EOL_LF:
		if (c != '\n')
			return parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "CR not followed by LF", c);
		return line_end(p, c);
	case ST_LINE:
	case ST_LINE_LF:
		return step_line(p, c);
	default:
		PANIC("imap parser: byte in state %d", (int)p->state);
	}
}

/* Literal data: copied in bulk; NUL only in literal8 (RFC 9051 9 CHAR8). */
static int
literal_data(struct imap_parser *p, const uint8_t *data, size_t len, size_t *used_r)
{
	size_t n = p->lit_left < len ? (size_t)p->lit_left : len;
	const uint8_t *nul = NULL;

	if (cur_token(p)->type != IMAP_ARG_LITERAL8)
		nul = memchr(data, '\0', n);
	if (nul != NULL)
		n = (size_t)(nul - data);
	data_append(p, data, n);
	p->lit_left -= n;
	*used_r = n;
	if (nul != NULL) {
		parse_error(p, IMAP_PARSER_ERROR_SYNTAX, "NUL byte in literal", *nul);
		/* the client sends the whole literal: discard the rest of it */
		p->error.skip_bytes = p->lit_left;
		p->skip_left = p->lit_left;
		p->state = ST_SKIP_LITERAL;
		return IMAP_PARSER_ERROR;
	}
	if (p->lit_left == 0) {
		item_finish(p);
		p->state = ST_AFTER;
	}
	return EV_NONE;
}

enum imap_parser_result
imap_parser_feed(struct imap_parser *p, const uint8_t *data, size_t len, size_t *consumed_r)
{
	size_t i = 0, used;
	int ev;

	if (p->reset_pending)
		command_clear(p);
	while (i < len) {
		switch (p->state) {
		case ST_LIT_DATA:
			ev = literal_data(p, data + i, len - i, &used);
			i += used;
			break;
		case ST_SKIP_LITERAL:
			used = p->skip_left < len - i ? (size_t)p->skip_left : len - i;
			p->skip_left -= used;
			i += used;
			if (p->skip_left == 0)
				p->state = ST_SKIP;
			continue;
		case ST_SKIP:
			i += skip_line(p, data + i, len - i);
			continue;
		default:
			ev = step_byte(p, data[i]);
			if (ev == EV_AGAIN)
				continue;
			/* an error leaves the offending byte to the skipper, but
			 * for the LF that ended the line */
			if (ev != IMAP_PARSER_ERROR || data[i] == '\n') {
				p->line_bytes++;
				i++;
			}
			break;
		}
		if (ev != EV_NONE) {
			*consumed_r = i;
			return (enum imap_parser_result)ev;
		}
	}
	*consumed_r = len;
	return IMAP_PARSER_NEED_MORE;
}
