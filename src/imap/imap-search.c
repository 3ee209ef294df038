/*
 * imap-search.c - search criteria: parsed from the argument tree into a
 * tree of keys, matched against one message at a time. See imap-search.h.
 *
 * Parsing follows RFC 9051 9 (search-key) and the extensions' ABNF. Keys
 * are ANDed; "(...)" groups, OR takes two keys, NOT one. Strings are
 * converted from the CHARSET to UTF-8 and case-folded once, at parse time;
 * message text is folded the same way when matched. Dates are day numbers
 * (days since 1970-01-01): INTERNALDATE and SAVEDATE in UTC, the Date:
 * field in its own zone, both "disregarding time and timezone" (RFC 9051
 * 6.4.4). A message without a usable Date: uses its INTERNALDATE.
 *
 * \Recent (RFC 3501 2.3.2) is the IMAP_FLAG_RECENT bit of the message's
 * flags, which the glue sets for the session's recent messages: RECENT,
 * NEW (RECENT UNSEEN) and OLD test it; for an IMAP4rev2 session the bit is
 * never set, so RECENT and NEW match nothing and OLD everything (RFC 9051
 * appendix E).
 *
 * Does not: reject sequence numbers beyond the view (they match nothing).
 *
 * Invariants: the tree is at most max_depth deep and holds at most
 * max_keys keys; the program is read-only after parsing.
 */
#include "imap/imap-search-private.h"

#include "core/mem.h"
#include "imap/imap-flags.h"
#include "imap/imap-seqset.h"
#include "imap/imap-server.h"
#include "mime/rfc5322-date.h"

#include <string.h>
#include <strings.h>

struct parse_ctx {
	const struct imap_search_params *params;
	struct imap_search_program *prog;
	const char *charset;
	unsigned keys, max_keys, max_depth;
	const char *error;
};

/* ---- freeing ---- */

static void
node_deinit(struct search_node *n)
{
	for (unsigned i = 0; i < n->n_children; i++)
		node_deinit(&n->children[i]);
	mem_free(&n->children);
	mem_free(&n->name);
	mem_free(&n->str);
	mem_free(&n->set);
}

struct imap_search_program *
imap_search_program_ref(const struct imap_search_program *prog)
{
	/* the count is bookkeeping, not part of the program's value */
	struct imap_search_program *p = (struct imap_search_program *)prog;

	p->refcount++;
	return p;
}

void
imap_search_program_free(struct imap_search_program **prog)
{
	if (*prog == NULL)
		return;
	if (--(*prog)->refcount > 0) {
		*prog = NULL;
		return;
	}
	node_deinit(&(*prog)->root);
	mem_free(prog);
}

enum imap_search_kind
imap_search_program_kind(const struct imap_search_program *prog)
{
	return prog->kind;
}

bool
imap_search_needs_content(const struct imap_search_program *prog)
{
	return prog->needs_content;
}

bool
imap_search_uses_modseq(const struct imap_search_program *prog)
{
	return prog->uses_modseq;
}

/* ---- parsing helpers ---- */

static int
fail(struct parse_ctx *ctx, const char *error)
{
	if (ctx->error == NULL)
		ctx->error = error;
	return -1;
}

/* Days from 1970-01-01 of a proleptic Gregorian date. */
static int64_t
days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return era * 146097 + (int64_t)doe - 719468;
}

static int64_t
day_of(int64_t t)
{
	return t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
}

/* date = date-text / DQUOTE date-text DQUOTE; date-text = date-day "-"
 * date-month "-" date-year (RFC 9051 9). */
static int
parse_date(struct parse_ctx *ctx, const struct imap_arg *arg, uint64_t *day_r)
{
	static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
	static const unsigned mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	const char *s;
	size_t len, i = 0;
	unsigned day = 0, mon = 0, year = 0;

	if (arg == NULL || !imap_arg_get_astring(arg, &s, &len))
		return fail(ctx, "Missing date");
	while (i < len && i < 2 && s[i] >= '0' && s[i] <= '9')
		day = day * 10 + (unsigned)(s[i++] - '0');
	if (i == 0 || i + 9 > len || s[i] != '-' || s[i + 4] != '-')
		return fail(ctx, "Invalid date");
	for (unsigned m = 0; m < 12; m++) {
		if (strncasecmp(s + i + 1, months + m * 3, 3) == 0)
			mon = m + 1;
	}
	i += 5;
	if (len - i != 4)
		return fail(ctx, "Invalid date");
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return fail(ctx, "Invalid date");
		year = year * 10 + (unsigned)(s[i] - '0');
	}
	if (mon == 0 || day == 0 || day > mdays[mon - 1] || year < 1 ||
	    (mon == 2 && day == 29 && !(year % 4 == 0 && (year % 100 != 0 || year % 400 == 0))))
		return fail(ctx, "Invalid date");
	*day_r = (uint64_t)(days_from_civil(year, mon, day) + 1000000); /* kept positive */
	return 1;
}

/* A string argument converted to UTF-8 and folded into node->str. */
static int
parse_string(struct parse_ctx *ctx, const struct imap_arg *arg, struct search_node *node)
{
	const char *s;
	size_t len;
	struct buf utf8, fold;

	if (arg == NULL || !imap_arg_get_astring(arg, &s, &len))
		return fail(ctx, "Missing string");
	if (len > IMAP_SEARCH_DEFAULT_MAX_STRING)
		return fail(ctx, "Search string too long");
	buf_init(&utf8, 0);
	buf_init(&fold, 0);
	search_charset_to_utf8(ctx->charset, (const uint8_t *)s, len, &utf8);
	search_fold_append(&fold, buf_data(&utf8), buf_len(&utf8));
	node->str_len = buf_len(&fold);
	node->str = buf_steal_str(&fold);
	buf_deinit(&utf8);
	buf_deinit(&fold);
	return 1;
}

static int
parse_set(struct parse_ctx *ctx, const char *s, size_t len, bool uid, struct search_node *node)
{
	const struct imap_search_params *p = ctx->params;
	struct imap_seqset set;
	const char *err;

	imap_seqset_init(&set);
	if (imap_seqset_parse(s, len, uid ? p->max_uid : p->count, IMAP_SEQSET_ALLOW_DOLLAR,
	                      IMAP_SEQSET_DEFAULT_MAX_RANGES, &set, &err) < 0) {
		imap_seqset_deinit(&set);
		return fail(ctx, err);
	}
	node->key = uid ? SK_UIDSET : SK_SEQSET;
	if (set.searchres) {
		/* RFC 5182 2.1: "$" is the saved UIDs, also where a sequence
		 * set stands */
		node->key = SK_UIDSET;
		node->set = mem_array(p->saved_count * 2 + 1, sizeof(uint32_t));
		for (size_t i = 0; i < p->saved_count; i++) {
			if (node->set_pairs > 0 &&
			    node->set[node->set_pairs * 2 - 1] + 1 == p->saved[i]) {
				node->set[node->set_pairs * 2 - 1] = p->saved[i];
				continue;
			}
			node->set[node->set_pairs * 2] = p->saved[i];
			node->set[node->set_pairs * 2 + 1] = p->saved[i];
			node->set_pairs++;
		}
	} else {
		node->set = mem_array((size_t)set.count * 2 + 1, sizeof(uint32_t));
		for (unsigned i = 0; i < set.count; i++) {
			node->set[i * 2] = set.ranges[i].first;
			node->set[i * 2 + 1] = set.ranges[i].last;
		}
		node->set_pairs = set.count;
	}
	imap_seqset_deinit(&set);
	return 1;
}

static int parse_key(struct parse_ctx *ctx, const struct imap_arg *args, unsigned count,
                     unsigned *i, struct search_node *node, unsigned depth);

/* Keys args[*i..] up to count, ANDed into node. */
static int
parse_keys(struct parse_ctx *ctx, const struct imap_arg *args, unsigned count, unsigned *i,
           struct search_node *node, unsigned depth)
{
	node->key = SK_AND;
	if (*i >= count)
		return fail(ctx, "Missing search key");
	while (*i < count) {
		node->children = mem_realloc(node->children, mem_size_mul(node->n_children + 1u,
		                                                          sizeof(*node->children)));
		memset(&node->children[node->n_children], 0, sizeof(*node->children));
		node->n_children++;
		if (parse_key(ctx, args, count, i, &node->children[node->n_children - 1], depth) <
		    0)
			return -1;
	}
	return 1;
}

/* One child of node (for NOT and OR). */
static int
parse_child(struct parse_ctx *ctx, const struct imap_arg *args, unsigned count, unsigned *i,
            struct search_node *node, unsigned depth)
{
	struct search_node *c;

	node->children = mem_realloc(node->children,
	                             mem_size_mul(node->n_children + 1u, sizeof(*node->children)));
	c = &node->children[node->n_children++];
	memset(c, 0, sizeof(*c));
	if (*i >= count)
		return fail(ctx, "Missing search key");
	return parse_key(ctx, args, count, i, c, depth);
}

enum arg_kind { A_NONE, A_STRING, A_DATE, A_NUMBER, A_NUMBER64, A_ATOM };

static const struct key_def {
	const char *name;
	enum search_key key;
	enum arg_kind arg;
	unsigned flag;
	const char *header;
} key_defs[] = {
        {"ALL", SK_ALL, A_NONE, 0, NULL},
        {"ANSWERED", SK_FLAG_SET, A_NONE, IMAP_FLAG_ANSWERED, NULL},
        {"BCC", SK_HEADER, A_STRING, 0, "bcc"},
        {"BEFORE", SK_BEFORE, A_DATE, 0, NULL},
        {"BODY", SK_BODY, A_STRING, 0, NULL},
        {"CC", SK_HEADER, A_STRING, 0, "cc"},
        {"DELETED", SK_FLAG_SET, A_NONE, IMAP_FLAG_DELETED, NULL},
        {"DRAFT", SK_FLAG_SET, A_NONE, IMAP_FLAG_DRAFT, NULL},
        {"FLAGGED", SK_FLAG_SET, A_NONE, IMAP_FLAG_FLAGGED, NULL},
        {"FROM", SK_HEADER, A_STRING, 0, "from"},
        {"KEYWORD", SK_KEYWORD, A_ATOM, 0, NULL},
        {"LARGER", SK_LARGER, A_NUMBER64, 0, NULL},
        /* RFC 3501 6.4.4: NEW is RECENT UNSEEN (below) */
        {"NEW", SK_FLAG_SET, A_NONE, IMAP_FLAG_RECENT, NULL},
        {"OLD", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_RECENT, NULL},
        {"ON", SK_ON, A_DATE, 0, NULL},
        {"RECENT", SK_FLAG_SET, A_NONE, IMAP_FLAG_RECENT, NULL},
        {"SEEN", SK_FLAG_SET, A_NONE, IMAP_FLAG_SEEN, NULL},
        {"SENTBEFORE", SK_SENTBEFORE, A_DATE, 0, NULL},
        {"SENTON", SK_SENTON, A_DATE, 0, NULL},
        {"SENTSINCE", SK_SENTSINCE, A_DATE, 0, NULL},
        {"SINCE", SK_SINCE, A_DATE, 0, NULL},
        {"SMALLER", SK_SMALLER, A_NUMBER64, 0, NULL},
        {"SUBJECT", SK_HEADER, A_STRING, 0, "subject"},
        {"TEXT", SK_TEXT, A_STRING, 0, NULL},
        {"TO", SK_HEADER, A_STRING, 0, "to"},
        {"UNANSWERED", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_ANSWERED, NULL},
        {"UNDELETED", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_DELETED, NULL},
        {"UNDRAFT", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_DRAFT, NULL},
        {"UNFLAGGED", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_FLAGGED, NULL},
        {"UNKEYWORD", SK_UNKEYWORD, A_ATOM, 0, NULL},
        {"UNSEEN", SK_FLAG_UNSET, A_NONE, IMAP_FLAG_SEEN, NULL},
        /* RFC 5032 */
        {"OLDER", SK_OLDER, A_NUMBER, 0, NULL},
        {"YOUNGER", SK_YOUNGER, A_NUMBER, 0, NULL},
        /* RFC 8514 */
        {"SAVEDBEFORE", SK_SAVEDBEFORE, A_DATE, 0, NULL},
        {"SAVEDON", SK_SAVEDON, A_DATE, 0, NULL},
        {"SAVEDSINCE", SK_SAVEDSINCE, A_DATE, 0, NULL},
        {"SAVEDATESUPPORTED", SK_ALL, A_NONE, 0, NULL},
        /* RFC 8474 */
        {"EMAILID", SK_EMAILID, A_ATOM, 0, NULL},
        {"THREADID", SK_THREADID, A_ATOM, 0, NULL},
};

static int
parse_arg(struct parse_ctx *ctx, const struct key_def *def, const struct imap_arg *arg,
          struct search_node *node)
{
	const char *s;
	uint32_t n32;

	switch (def->arg) {
	case A_NONE:
		return 1;
	case A_STRING:
		return parse_string(ctx, arg, node);
	case A_DATE:
		return parse_date(ctx, arg, &node->num);
	case A_NUMBER:
		if (arg == NULL || !imap_arg_get_number(arg, &n32))
			return fail(ctx, "Invalid number");
		node->num = n32;
		if ((def->key == SK_OLDER || def->key == SK_YOUNGER) && n32 == 0)
			return fail(ctx, "Invalid interval"); /* RFC 5032 5: nz-number */
		return 1;
	case A_NUMBER64:
		if (arg == NULL || !imap_arg_get_number64(arg, &node->num))
			return fail(ctx, "Invalid number");
		return 1;
	case A_ATOM:
		if (arg == NULL || !imap_arg_get_atom(arg, &s) || arg->str_len > 1024)
			return fail(ctx, "Invalid keyword");
		node->str = mem_strndup(s, arg->str_len);
		node->str_len = arg->str_len;
		return 1;
	}
	return fail(ctx, "Invalid argument");
}

/* MODSEQ [entry-name entry-type-req] mod-sequence-valzer (RFC 7162 3.1.5). */
static int
parse_modseq(struct parse_ctx *ctx, const struct imap_arg *args, unsigned count, unsigned *i,
             struct search_node *node)
{
	node->key = SK_MODSEQ;
	ctx->prog->uses_modseq = true;
	if (*i < count && args[*i].type == IMAP_ARG_QUOTED) {
		const char *t;

		if (*i + 1 >= count || !imap_arg_get_atom(&args[*i + 1], &t) ||
		    (strcasecmp(t, "priv") != 0 && strcasecmp(t, "shared") != 0 &&
		     strcasecmp(t, "all") != 0))
			return fail(ctx, "Invalid MODSEQ entry");
		*i += 2;
	}
	if (*i >= count || !imap_arg_get_number64(&args[*i], &node->num))
		return fail(ctx, "Invalid MODSEQ value");
	(*i)++;
	return 1;
}

static int
parse_key(struct parse_ctx *ctx, const struct imap_arg *args, unsigned count, unsigned *i,
          struct search_node *node, unsigned depth)
{
	const struct imap_arg *arg = &args[(*i)++];
	const char *name;

	if (depth >= ctx->max_depth)
		return fail(ctx, "Search nested too deeply");
	if (++ctx->keys > ctx->max_keys)
		return fail(ctx, "Too many search keys");
	if (arg->type == IMAP_ARG_LIST) {
		unsigned j = 0;

		if (arg->list_count == 0)
			return fail(ctx, "Empty search group");
		return parse_keys(ctx, arg->list, arg->list_count, &j, node, depth + 1);
	}
	if (!imap_arg_get_atom(arg, &name))
		return fail(ctx, "Invalid search key");
	if ((name[0] >= '0' && name[0] <= '9') || name[0] == '*' || name[0] == '$')
		return parse_set(ctx, name, arg->str_len, false, node);
	if (strcasecmp(name, "NOT") == 0) {
		node->key = SK_NOT;
		return parse_child(ctx, args, count, i, node, depth + 1);
	}
	if (strcasecmp(name, "OR") == 0) {
		node->key = SK_OR;
		if (parse_child(ctx, args, count, i, node, depth + 1) < 0)
			return -1;
		return parse_child(ctx, args, count, i, node, depth + 1);
	}
	if (strcasecmp(name, "UID") == 0) {
		const char *set;

		if (*i >= count || !imap_arg_get_atom(&args[*i], &set))
			return fail(ctx, "Missing UID set");
		(*i)++;
		return parse_set(ctx, set, args[*i - 1].str_len, true, node);
	}
	if (strcasecmp(name, "HEADER") == 0) {
		const char *field;
		size_t flen;

		node->key = SK_HEADER;
		ctx->prog->needs_content = true;
		if (*i >= count || !imap_arg_get_astring(&args[*i], &field, &flen) || flen == 0 ||
		    flen > 200 || memchr(field, ':', flen) != NULL || memchr(field, ' ', flen))
			return fail(ctx, "Invalid header field name");
		node->name = mem_strndup(field, flen);
		for (char *p = node->name; *p != '\0'; p++) {
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p + 32);
		}
		(*i)++;
		return parse_string(ctx, *i < count ? &args[(*i)++] : NULL, node);
	}
	if (strcasecmp(name, "MODSEQ") == 0)
		return parse_modseq(ctx, args, count, i, node);
	for (size_t k = 0; k < N_ELEMENTS(key_defs); k++) {
		const struct key_def *def = &key_defs[k];

		if (strcasecmp(name, def->name) != 0)
			continue;
		node->key = def->key;
		node->num = def->flag;
		if (strcasecmp(name, "NEW") == 0) {
			/* RFC 3501 6.4.4: RECENT and UNSEEN; a flag set and a flag
			 * unset: a node of two */
			node->key = SK_AND;
			node->children = mem_zalloc(2 * sizeof(*node->children));
			node->n_children = 2;
			node->children[0].key = SK_FLAG_SET;
			node->children[0].num = IMAP_FLAG_RECENT;
			node->children[1].key = SK_FLAG_UNSET;
			node->children[1].num = IMAP_FLAG_SEEN;
			node->num = 0;
			return 1;
		}
		if (def->header != NULL)
			node->name = mem_strdup(def->header);
		if (def->key == SK_HEADER || def->key == SK_BODY || def->key == SK_TEXT ||
		    def->key == SK_SENTBEFORE || def->key == SK_SENTON || def->key == SK_SENTSINCE)
			ctx->prog->needs_content = true;
		if (def->arg == A_NONE)
			return 1;
		if (parse_arg(ctx, def, *i < count ? &args[*i] : NULL, node) < 0)
			return -1;
		(*i)++;
		if (def->key == SK_KEYWORD || def->key == SK_UNKEYWORD) {
			/* a system flag given as a keyword: its flag */
			unsigned f = node->str[0] == '\\' ? imap_flag_from_name(node->str) : 0;

			if (node->str[0] == '\\') {
				node->key = f == 0 ? (def->key == SK_KEYWORD ? SK_NONE : SK_ALL)
				            : def->key == SK_KEYWORD ? SK_FLAG_SET
				                                     : SK_FLAG_UNSET;
				node->num = f;
			}
		}
		return 1;
	}
	return fail(ctx, "Unknown search key");
}

static struct imap_search_program *
program_new(enum imap_search_kind kind)
{
	struct imap_search_program *prog = mem_zalloc(sizeof(*prog));

	prog->refcount = 1;
	prog->kind = kind;
	return prog;
}

/* "[CHARSET x]" (optional) or "x" (required) then the criteria. */
static int
parse_program(struct imap_search_program *prog, const struct imap_arg *args, unsigned count,
              bool charset_required, const struct imap_search_params *params,
              struct imap_search_program **prog_r, const char **error_r)
{
	struct parse_ctx ctx;
	unsigned i = 0;
	size_t len;

	memset(&ctx, 0, sizeof(ctx));
	ctx.params = params;
	ctx.prog = prog;
	ctx.max_depth = params->max_depth != 0 ? params->max_depth : IMAP_SEARCH_DEFAULT_MAX_DEPTH;
	ctx.max_keys = params->max_keys != 0 ? params->max_keys : IMAP_SEARCH_DEFAULT_MAX_KEYS;
	*prog_r = NULL;
	if (!charset_required && count >= 1 && imap_arg_atom_equals(&args[0], "CHARSET"))
		i = 1;
	if (charset_required || i == 1) {
		if (i >= count || !imap_arg_get_astring(&args[i], &ctx.charset, &len) || len == 0 ||
		    len > 64) {
			imap_search_program_free(&prog);
			*error_r = "Missing charset";
			return -1;
		}
		i++;
		if (!search_charset_known(ctx.charset)) {
			imap_search_program_free(&prog);
			*error_r = "Unknown charset";
			return 0;
		}
	}
	if (parse_keys(&ctx, args, count, &i, &prog->root, 0) < 0) {
		imap_search_program_free(&prog);
		*error_r = ctx.error;
		return -1;
	}
	*prog_r = prog;
	return 1;
}

int
imap_search_parse(const struct imap_arg *args, unsigned count,
                  const struct imap_search_params *params, struct imap_search_program **prog_r,
                  const char **error_r)
{
	return parse_program(program_new(IMAP_SEARCH_KIND_SEARCH), args, count, false, params,
	                     prog_r, error_r);
}

int
imap_sort_parse(const struct imap_arg *args, unsigned count,
                const struct imap_search_params *params, struct imap_search_program **prog_r,
                const char **error_r)
{
	static const struct {
		const char *name;
		enum sort_key key;
	} keys[] = {
	        {"ARRIVAL", SORT_ARRIVAL},
	        {"CC", SORT_CC},
	        {"DATE", SORT_DATE},
	        {"FROM", SORT_FROM},
	        {"SIZE", SORT_SIZE},
	        {"SUBJECT", SORT_SUBJECT},
	        {"TO", SORT_TO},
	        {"DISPLAYFROM", SORT_DISPLAYFROM},
	        {"DISPLAYTO", SORT_DISPLAYTO},
	};
	const struct imap_arg *list;
	unsigned n;
	struct imap_search_program *prog;
	bool reverse = false;

	*prog_r = NULL;
	if (count < 1 || !imap_arg_get_list(&args[0], &list, &n) || n == 0) {
		*error_r = "Missing sort criteria";
		return -1;
	}
	prog = program_new(IMAP_SEARCH_KIND_SORT);
	for (unsigned i = 0; i < n; i++) {
		const char *name;
		size_t k;

		if (!imap_arg_get_atom(&list[i], &name))
			break;
		if (strcasecmp(name, "REVERSE") == 0 && !reverse) {
			reverse = true;
			continue;
		}
		for (k = 0; k < N_ELEMENTS(keys); k++) {
			if (strcasecmp(name, keys[k].name) == 0)
				break;
		}
		if (k == N_ELEMENTS(keys) || prog->n_sort == SORT_MAX_KEYS)
			break;
		prog->sort[prog->n_sort].key = keys[k].key;
		prog->sort[prog->n_sort].reverse = reverse;
		prog->n_sort++;
		reverse = false;
		if (keys[k].key != SORT_ARRIVAL && keys[k].key != SORT_SIZE)
			prog->needs_content = true;
		if (i + 1 == n) {
			return parse_program(prog, args + 1, count - 1, true, params, prog_r,
			                     error_r);
		}
	}
	imap_search_program_free(&prog);
	*error_r = "Invalid sort criteria";
	return -1;
}

int
imap_thread_parse(const struct imap_arg *args, unsigned count,
                  const struct imap_search_params *params, struct imap_search_program **prog_r,
                  const char **error_r)
{
	struct imap_search_program *prog;

	*prog_r = NULL;
	prog = program_new(IMAP_SEARCH_KIND_THREAD);
	prog->needs_content = true;
	if (count >= 1 && imap_arg_atom_equals(&args[0], "ORDEREDSUBJECT")) {
		prog->thread = IMAP_THREAD_ORDEREDSUBJECT;
	} else if (count >= 1 && imap_arg_atom_equals(&args[0], "REFERENCES")) {
		prog->thread = IMAP_THREAD_REFERENCES;
	} else {
		imap_search_program_free(&prog);
		*error_r = "Unknown thread algorithm";
		return -1;
	}
	return parse_program(prog, args + 1, count - 1, true, params, prog_r, error_r);
}

/* ---- matching ---- */

struct match_ctx {
	struct imap_message *msg;
	int64_t now;
	bool have_header;
	struct search_header header;
	bool have_body;
	struct buf body;
	bool have_sent;
	int64_t sent_day;
};

static struct search_header *
ctx_header(struct match_ctx *m)
{
	if (!m->have_header) {
		/* the header parser stops at the header's end: no MIME tree
		 * needed for header keys */
		m->have_header = true;
		if (m->msg->data != NULL)
			search_header_parse(m->msg->data, (size_t)m->msg->size, &m->header);
	}
	return &m->header;
}

static int64_t
ctx_sent_day(struct match_ctx *m)
{
	if (!m->have_sent) {
		struct search_field *f = search_header_find(ctx_header(m), "date", NULL);
		struct rfc5322_date d;
		const char *err;

		m->have_sent = true;
		m->sent_day = day_of(m->msg->internaldate);
		if (f != NULL &&
		    rfc5322_date_parse((const uint8_t *)f->value, strlen(f->value), &d, &err) > 0)
			m->sent_day = day_of((int64_t)d.time + (int64_t)d.zone * 60);
	}
	return m->sent_day;
}

static bool
set_contains(const struct search_node *n, uint32_t v)
{
	size_t lo = 0, hi = n->set_pairs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (v < n->set[mid * 2])
			hi = mid;
		else if (v > n->set[mid * 2 + 1])
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

static bool
match_header(struct match_ctx *m, const struct search_node *n)
{
	struct search_header *h = ctx_header(m);

	for (struct search_field *f = search_header_find(h, n->name, NULL); f != NULL;
	     f = search_header_find(h, n->name, f)) {
		size_t len;
		const char *v = search_field_folded(f, &len);

		if (search_contains(v, len, n->str, n->str_len))
			return true;
	}
	return false;
}

static bool
match_body(struct match_ctx *m, const struct search_node *n)
{
	if (!m->have_body) {
		m->have_body = true;
		search_body_text(m->msg, &m->body);
	}
	return search_contains(buf_cstr(&m->body), buf_len(&m->body), n->str, n->str_len);
}

static bool
match_text(struct match_ctx *m, const struct search_node *n)
{
	struct search_header *h = ctx_header(m);

	for (unsigned i = 0; i < h->count; i++) {
		size_t len;
		const char *v = search_field_folded(&h->fields[i], &len);

		if (search_contains(v, len, n->str, n->str_len) ||
		    search_contains(h->fields[i].name, strlen(h->fields[i].name), n->str,
		                    n->str_len))
			return true;
	}
	return match_body(m, n);
}

static int64_t
date_day(const struct search_node *n)
{
	return (int64_t)n->num - 1000000;
}

static bool
match_node(struct match_ctx *m, const struct search_node *n)
{
	const struct imap_message *msg = m->msg;
	int64_t saved = msg->savedate != 0 ? msg->savedate : msg->internaldate;

	switch (n->key) {
	case SK_ALL:
		return true;
	case SK_NONE:
		return false;
	case SK_AND:
		for (unsigned i = 0; i < n->n_children; i++) {
			if (!match_node(m, &n->children[i]))
				return false;
		}
		return true;
	case SK_OR:
		return match_node(m, &n->children[0]) || match_node(m, &n->children[1]);
	case SK_NOT:
		return !match_node(m, &n->children[0]);
	case SK_FLAG_SET:
		return (msg->flags & n->num) == n->num;
	case SK_FLAG_UNSET:
		return (msg->flags & n->num) == 0;
	case SK_KEYWORD:
		return imap_keywords_has(msg->keywords, n->str, n->str_len);
	case SK_UNKEYWORD:
		return !imap_keywords_has(msg->keywords, n->str, n->str_len);
	case SK_LARGER:
		return msg->size > n->num;
	case SK_SMALLER:
		return msg->size < n->num;
	case SK_SEQSET:
		return set_contains(n, msg->seq);
	case SK_UIDSET:
		return set_contains(n, msg->uid);
	case SK_BEFORE:
		return day_of(msg->internaldate) < date_day(n);
	case SK_ON:
		return day_of(msg->internaldate) == date_day(n);
	case SK_SINCE:
		return day_of(msg->internaldate) >= date_day(n);
	case SK_SENTBEFORE:
		return ctx_sent_day(m) < date_day(n);
	case SK_SENTON:
		return ctx_sent_day(m) == date_day(n);
	case SK_SENTSINCE:
		return ctx_sent_day(m) >= date_day(n);
	case SK_SAVEDBEFORE:
		return day_of(saved) < date_day(n);
	case SK_SAVEDON:
		return day_of(saved) == date_day(n);
	case SK_SAVEDSINCE:
		return day_of(saved) >= date_day(n);
	case SK_OLDER:
		return msg->internaldate <= m->now - (int64_t)n->num;
	case SK_YOUNGER:
		return msg->internaldate > m->now - (int64_t)n->num;
	case SK_MODSEQ:
		return msg->modseq >= n->num;
	case SK_EMAILID:
		return msg->emailid != NULL && strcmp(msg->emailid, n->str) == 0;
	case SK_THREADID:
		return msg->threadid != NULL && strcmp(msg->threadid, n->str) == 0;
	case SK_HEADER:
		return msg->data != NULL && match_header(m, n);
	case SK_BODY:
		return msg->data != NULL && match_body(m, n);
	case SK_TEXT:
		return msg->data != NULL && match_text(m, n);
	}
	return false;
}

bool
imap_search_match(const struct imap_search_program *prog, struct imap_message *msg, int64_t now)
{
	struct match_ctx m;
	bool ok;

	memset(&m, 0, sizeof(m));
	m.msg = msg;
	m.now = now;
	buf_init(&m.body, 0);
	ok = match_node(&m, &prog->root);
	if (m.have_header)
		search_header_free(&m.header);
	buf_deinit(&m.body);
	return ok;
}
