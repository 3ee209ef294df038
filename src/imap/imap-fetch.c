/*
 * imap-fetch.c - FETCH items from the argument tree (RFC 9051 6.4.5 and 9
 * fetch-att; RFC 3516 4.2 BINARY; RFC 7162, 8474, 8514, 8970 items).
 *
 * What it does: imap_fetch_parse() and the predicates the engine and the
 * glue ask (needs content? sets \Seen?). Rendering is imap-fetch-render.c,
 * decoding and the preview imap-fetch-decode.c.
 *
 * What it does not do: FETCH modifiers (CHANGEDSINCE, VANISHED: the
 * command's, imap-server-fetch.c), or know the session state.
 *
 * Invariants: items->count <= IMAP_FETCH_MAX_ITEMS, sections <=
 * IMAP_FETCH_MAX_SECTIONS; each simple item appears at most once; a failed
 * parse allocates nothing.
 */
#include "imap/imap-fetch.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"

/* room for the parsed items and those the engine adds */
#define IMAP_FETCH_ITEMS_ALLOC (IMAP_FETCH_MAX_ITEMS + 8)

struct simple_item {
	const char *name;
	enum imap_fetch_item_type type;
};

static const struct simple_item simple_items[] = {
	{ "UID", IMAP_FETCH_UID },
	{ "FLAGS", IMAP_FETCH_FLAGS },
	{ "INTERNALDATE", IMAP_FETCH_INTERNALDATE },
	{ "RFC822.SIZE", IMAP_FETCH_RFC822_SIZE },
	{ "ENVELOPE", IMAP_FETCH_ENVELOPE },
	{ "BODY", IMAP_FETCH_BODY },
	{ "BODYSTRUCTURE", IMAP_FETCH_BODYSTRUCTURE },
	{ "RFC822", IMAP_FETCH_RFC822 },
	{ "RFC822.HEADER", IMAP_FETCH_RFC822_HEADER },
	{ "RFC822.TEXT", IMAP_FETCH_RFC822_TEXT },
	{ "MODSEQ", IMAP_FETCH_MODSEQ },
	{ "SAVEDATE", IMAP_FETCH_SAVEDATE },
	{ "EMAILID", IMAP_FETCH_EMAILID },
	{ "THREADID", IMAP_FETCH_THREADID },
	{ "PREVIEW", IMAP_FETCH_PREVIEW },
};

static bool
is_section_type(enum imap_fetch_item_type type)
{
	return type == IMAP_FETCH_BODY_SECTION || type == IMAP_FETCH_BINARY ||
	       type == IMAP_FETCH_BINARY_SIZE;
}

bool
imap_fetch_items_has(const struct imap_fetch_items *items, enum imap_fetch_item_type type)
{
	for (unsigned i = 0; i < items->count; i++) {
		if (items->items[i].type == type)
			return true;
	}
	return false;
}

static struct imap_fetch_item *
items_push(struct imap_fetch_items *items)
{
	/* the array is sized for the maximum at creation */
	ASSERT(items->count < IMAP_FETCH_ITEMS_ALLOC);
	return &items->items[items->count++];
}

void
imap_fetch_items_add(struct imap_fetch_items *items, enum imap_fetch_item_type type)
{
	ASSERT(!is_section_type(type));
	if (imap_fetch_items_has(items, type))
		return;
	items_push(items)->type = type;
}

void
imap_fetch_items_free(struct imap_fetch_items **itemsp)
{
	struct imap_fetch_items *items = *itemsp;

	*itemsp = NULL;
	if (items == NULL)
		return;
	ASSERT(items->refcount > 0);
	if (--items->refcount > 0)
		return;
	for (unsigned i = 0; i < items->count; i++) {
		imap_section_deinit(&items->items[i].section);
		mem_free(&items->items[i].spec);
	}
	mem_free(&items->items);
	mem_free(&items->vanished_set);
	mem_free(&items);
}

struct imap_fetch_items *
imap_fetch_items_ref(const struct imap_fetch_items *items)
{
	struct imap_fetch_items *mut = (struct imap_fetch_items *)items;

	mut->refcount++;
	return mut;
}

/* A number64 (RFC 9051 9) at *p up to end; advances *p. */
static bool
take_number(const char **p, const char *end, uint64_t *n_r)
{
	uint64_t n = 0;
	const char *s = *p;

	if (s == end || *s < '0' || *s > '9')
		return false;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		if (n > (UINT64_MAX / 2 - 9) / 10)
			return false;
		n = n * 10 + (uint64_t)(*s - '0');
	}
	*p = s;
	*n_r = n;
	return true;
}

static bool
is_atom_char(char c)
{
	return (unsigned char)c > 0x20 && (unsigned char)c < 0x7f &&
	       strchr("(){%*\"\\]", c) == NULL;
}

/* The section as the response names it: part numbers, the text keyword in
 * upper case, field names as given (RFC 9051 7.5.2 BODY[<section>]). */
static char *
section_spec(const struct imap_section *sec)
{
	static const char *const texts[] = {
		[IMAP_SECTION_TEXT_NONE] = "",
		[IMAP_SECTION_TEXT_HEADER] = "HEADER",
		[IMAP_SECTION_TEXT_HEADER_FIELDS] = "HEADER.FIELDS",
		[IMAP_SECTION_TEXT_HEADER_FIELDS_NOT] = "HEADER.FIELDS.NOT",
		[IMAP_SECTION_TEXT_TEXT] = "TEXT",
		[IMAP_SECTION_TEXT_MIME] = "MIME",
	};
	struct buf b;

	buf_init(&b, 0);
	for (unsigned i = 0; i < sec->n_parts; i++)
		buf_printf(&b, "%s%u", i > 0 ? "." : "", sec->parts[i]);
	if (sec->text != IMAP_SECTION_TEXT_NONE) {
		if (sec->n_parts > 0)
			buf_append_byte(&b, '.');
		buf_append_str(&b, texts[sec->text]);
	}
	if (sec->text == IMAP_SECTION_TEXT_HEADER_FIELDS ||
	    sec->text == IMAP_SECTION_TEXT_HEADER_FIELDS_NOT) {
		buf_append_str(&b, " (");
		for (unsigned i = 0; i < sec->n_fields; i++) {
			const char *f = sec->fields[i];
			bool atom = f[0] != '\0';

			for (const char *c = f; *c != '\0' && atom; c++)
				atom = is_atom_char(*c);
			if (i > 0)
				buf_append_byte(&b, ' ');
			if (atom) {
				buf_append_str(&b, f);
			} else {
				/* field names are printable ASCII without
				 * ':'; only '"' and '\' need escaping */
				buf_append_byte(&b, '"');
				for (const char *c = f; *c != '\0'; c++) {
					if (*c == '"' || *c == '\\')
						buf_append_byte(&b, '\\');
					buf_append_byte(&b, (uint8_t)*c);
				}
				buf_append_byte(&b, '"');
			}
		}
		buf_append_byte(&b, ')');
	}
	return buf_steal_str(&b);
}

/* One bracketed item: "BODY[...]<o.n>", "BODY.PEEK[...]", "BINARY[...]",
 * "BINARY.PEEK[...]", "BINARY.SIZE[...]". */
static int
parse_section_item(const char *str, size_t len, struct imap_fetch_item *item,
		   const char **error_r)
{
	const char *open = memchr(str, '[', len), *close = NULL, *p, *end = str + len;
	size_t name_len;

	if (open == NULL) {
		*error_r = "Invalid fetch item";
		return -1;
	}
	for (p = end; p > open; p--) {
		if (p[-1] == ']') {
			close = p - 1;
			break;
		}
	}
	if (close == NULL) {
		*error_r = "Missing ] in fetch item";
		return -1;
	}
	name_len = (size_t)(open - str);
	if (name_len == 4 && strncasecmp(str, "BODY", 4) == 0) {
		item->type = IMAP_FETCH_BODY_SECTION;
	} else if (name_len == 9 && strncasecmp(str, "BODY.PEEK", 9) == 0) {
		item->type = IMAP_FETCH_BODY_SECTION;
		item->peek = true;
	} else if (name_len == 6 && strncasecmp(str, "BINARY", 6) == 0) {
		item->type = IMAP_FETCH_BINARY;
	} else if (name_len == 11 && strncasecmp(str, "BINARY.PEEK", 11) == 0) {
		item->type = IMAP_FETCH_BINARY;
		item->peek = true;
	} else if (name_len == 11 && strncasecmp(str, "BINARY.SIZE", 11) == 0) {
		item->type = IMAP_FETCH_BINARY_SIZE;
		item->peek = true;
	} else {
		*error_r = "Unknown fetch item";
		return -1;
	}
	if (imap_section_parse(open + 1, (size_t)(close - open - 1), &item->section,
			       error_r) < 0)
		return -1;
	/* RFC 3516 4.2: section-binary is part numbers only */
	if (item->type != IMAP_FETCH_BODY_SECTION &&
	    item->section.text != IMAP_SECTION_TEXT_NONE) {
		imap_section_deinit(&item->section);
		*error_r = "BINARY takes part numbers only";
		return -1;
	}
	p = close + 1;
	if (p < end) {
		/* partial = "<" number64 "." nz-number64 ">" (RFC 9051 9) */
		if (item->type == IMAP_FETCH_BINARY_SIZE || *p != '<' ||
		    (p++, !take_number(&p, end, &item->partial_origin)) || p == end ||
		    *p++ != '.' || !take_number(&p, end, &item->partial_count) ||
		    item->partial_count == 0 || p == end || *p++ != '>' || p != end) {
			imap_section_deinit(&item->section);
			*error_r = "Invalid partial range";
			return -1;
		}
		item->partial = true;
	}
	item->spec = section_spec(&item->section);
	return 1;
}

static bool
add_macro(struct imap_fetch_items *items, const char *name)
{
	static const enum imap_fetch_item_type fast[] = {
		IMAP_FETCH_FLAGS, IMAP_FETCH_INTERNALDATE, IMAP_FETCH_RFC822_SIZE,
	};

	if (strcasecmp(name, "ALL") != 0 && strcasecmp(name, "FAST") != 0 &&
	    strcasecmp(name, "FULL") != 0)
		return false;
	for (size_t i = 0; i < N_ELEMENTS(fast); i++)
		imap_fetch_items_add(items, fast[i]);
	if (strcasecmp(name, "FAST") != 0)
		imap_fetch_items_add(items, IMAP_FETCH_ENVELOPE);
	if (strcasecmp(name, "FULL") == 0)
		imap_fetch_items_add(items, IMAP_FETCH_BODY);
	return true;
}

/* One fetch-att atom. */
static int
parse_item(struct imap_fetch_items *items, const struct imap_arg *arg, unsigned *sections,
	   const char **error_r)
{
	struct imap_fetch_item item;

	if (arg->type != IMAP_ARG_ATOM) {
		*error_r = "Invalid fetch item";
		return -1;
	}
	if (items->count >= IMAP_FETCH_MAX_ITEMS) {
		*error_r = "Too many fetch items";
		return -1;
	}
	if ((arg->flags & IMAP_ARG_FLAG_BRACKET) == 0) {
		for (size_t i = 0; i < N_ELEMENTS(simple_items); i++) {
			if (strcasecmp(arg->str, simple_items[i].name) == 0) {
				imap_fetch_items_add(items, simple_items[i].type);
				return 1;
			}
		}
		*error_r = "Unknown fetch item";
		return -1;
	}
	if (++*sections > IMAP_FETCH_MAX_SECTIONS) {
		*error_r = "Too many body sections";
		return -1;
	}
	memset(&item, 0, sizeof(item));
	if (parse_section_item(arg->str, arg->str_len, &item, error_r) < 0)
		return -1;
	*items_push(items) = item;
	return 1;
}

/* PREVIEW's modifier list (RFC 8970 3.1): only LAZY is defined. */
static bool
preview_modifiers_ok(const struct imap_arg *arg)
{
	if (arg->list_count == 0)
		return false;
	for (unsigned i = 0; i < arg->list_count; i++) {
		if (!imap_arg_atom_equals(&arg->list[i], "LAZY"))
			return false;
	}
	return true;
}

int
imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch_items **items_r,
		 const char **error_r)
{
	struct imap_fetch_items *items = mem_zalloc(sizeof(*items));
	unsigned sections = 0;
	int ret = 1;

	items->items = mem_array(IMAP_FETCH_ITEMS_ALLOC, sizeof(*items->items));
	items->refcount = 1;
	if (arg->type == IMAP_ARG_ATOM && (arg->flags & IMAP_ARG_FLAG_BRACKET) == 0 &&
	    add_macro(items, arg->str)) {
		*items_r = items;
		return 1;
	}
	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count == 0) {
			*error_r = "Empty fetch item list";
			ret = -1;
		}
		for (unsigned i = 0; i < arg->list_count && ret > 0; i++) {
			const struct imap_arg *a = &arg->list[i];

			if (a->type == IMAP_ARG_LIST && i > 0 &&
			    imap_arg_atom_equals(&arg->list[i - 1], "PREVIEW") &&
			    preview_modifiers_ok(a))
				continue;
			ret = parse_item(items, a, &sections, error_r);
		}
	} else {
		ret = parse_item(items, arg, &sections, error_r);
	}
	if (ret < 0) {
		imap_fetch_items_free(&items);
		*items_r = NULL;
		return -1;
	}
	*items_r = items;
	return 1;
}

bool
imap_fetch_needs_content(const struct imap_fetch_items *items)
{
	for (unsigned i = 0; i < items->count; i++) {
		switch (items->items[i].type) {
		case IMAP_FETCH_UID:
		case IMAP_FETCH_FLAGS:
		case IMAP_FETCH_INTERNALDATE:
		case IMAP_FETCH_RFC822_SIZE:
		case IMAP_FETCH_MODSEQ:
		case IMAP_FETCH_SAVEDATE:
		case IMAP_FETCH_EMAILID:
		case IMAP_FETCH_THREADID:
			break;
		default:
			return true;
		}
	}
	return false;
}

bool
imap_fetch_sets_seen(const struct imap_fetch_items *items)
{
	for (unsigned i = 0; i < items->count; i++) {
		const struct imap_fetch_item *it = &items->items[i];

		if (it->type == IMAP_FETCH_RFC822 || it->type == IMAP_FETCH_RFC822_TEXT)
			return true;
		if ((it->type == IMAP_FETCH_BODY_SECTION || it->type == IMAP_FETCH_BINARY) &&
		    !it->peek)
			return true;
	}
	return false;
}
