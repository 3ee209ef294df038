/*
 * imap-server-list.c - LIST (RFC 9051 6.3.9) with LIST-EXTENDED (RFC 5258:
 * selection options SUBSCRIBED, REMOTE, RECURSIVEMATCH, SPECIAL-USE of RFC
 * 6154; return options SUBSCRIBED, CHILDREN, SPECIAL-USE, STATUS of RFC
 * 5819, MYRIGHTS of RFC 8440 when the glue has the ACL hook), LSUB (RFC
 * 3501 6.3.9, IMAP4rev1 only), and the mailbox_list completion.
 *
 * The glue returns every mailbox name of the user; the engine does the
 * rest: reference + pattern (concatenated, RFC 9051 6.3.9), '*' and '%'
 * matching, implied parents of names whose parents do not exist, children
 * (\HasChildren / \HasNoChildren, always sent as IMAP4rev2 wants), the
 * selection, \NonExistent for subscribed names that are gone (the glue
 * passes subscriptions without a mailbox as exists = false; LSUB shows them
 * as \Noselect), with RECURSIVEMATCH the CHILDINFO item (RFC 5258 3.5) on a
 * name with a subscribed descendant that the command does not list itself
 * (a listed descendant speaks for itself), special-use
 * attributes (always sent for existing mailboxes, RFC 6154 2 allows it),
 * and for LIST-STATUS one mailbox_status hook per selectable mailbox, its
 * STATUS line right after its LIST line (RFC 5819 2). With MYRIGHTS each
 * existing mailbox whose rights the glue gave gets "* MYRIGHTS name rights"
 * right after its LIST line, before any STATUS line (RFC 8440 3), rights
 * shown as MYRIGHTS shows them (obsolete "c"/"d" added, RFC 4314 2.1.1).
 * \Noinferiors is never sent: every mailbox may have children.
 *
 * Does not: the "REMOTE" option (accepted, nothing is remote), the
 * OLDNAME extended item, other users' namespace.
 *
 * Invariants: matching cost is bounded: runs of wildcards collapse to one,
 * and a pattern with more literal characters than a name never runs the
 * matcher, so one match is O(name length squared) at most. While a
 * LIST-STATUS runs, s->list holds the lines still to send and at most one
 * status hook is outstanding; the chain runs iteratively (no recursion
 * when the glue completes inside the hook).
 */
#include "imap/imap-server-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-utf7.h"

enum imap_server_list_sel {
	IMAP_LIST_SEL_SUBSCRIBED = 0x01,
	IMAP_LIST_SEL_SPECIAL_USE = 0x02,
	IMAP_LIST_SEL_RECURSIVE = 0x04,
};
enum imap_server_list_ret {
	IMAP_LIST_RET_SUBSCRIBED = 0x01,
	IMAP_LIST_RET_CHILDREN = 0x02,
	IMAP_LIST_RET_SPECIAL_USE = 0x04,
	IMAP_LIST_RET_MYRIGHTS = 0x08,
};

struct imap_server_list_node {
	char *name;
	unsigned special_use;
	char *rights;           /* the glue's, for MYRIGHTS; NULL unknown */
	bool exists, subscribed;
	bool child_exists, child_subscribed; /* some descendant is / exists */
	bool child_sub_unlisted; /* some subscribed descendant matches no pattern */
};

struct imap_server_list_entry {
	struct buf line;        /* "* LIST ..." CRLF */
	char *status_name;      /* UTF-8 name for LIST-STATUS, NULL for none */
};

struct imap_server_list {
	bool lsub;
	unsigned sel, ret, status_items;
	char **patterns;
	unsigned n_patterns;
	struct imap_server_list_entry *entries;
	unsigned n_entries, next;
	bool in_hook, completed;
};

static const char *const imap_server_special_use_attrs[] = {
	"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
};

void
imap_server_list_free(struct imap_server_session *s)
{
	struct imap_server_list *l = s->list;

	if (l == NULL)
		return;
	for (unsigned i = 0; i < l->n_patterns; i++)
		mem_free(&l->patterns[i]);
	mem_free(&l->patterns);
	for (unsigned i = 0; i < l->n_entries; i++) {
		buf_deinit(&l->entries[i].line);
		mem_free(&l->entries[i].status_name);
	}
	mem_free(&l->entries);
	mem_free(&s->list);
}

/* ---- matching ---- */

bool
imap_server_list_match(const char *pattern, const char *name)
{
	size_t plen = strlen(pattern), nlen = strlen(name), literal = 0, fold = 0;
	bool *cur, *next, result;

	for (size_t i = 0; i < plen; i++) {
		if (pattern[i] != '*' && pattern[i] != '%')
			literal++;
	}
	if (literal > nlen)
		return false;
	/* RFC 9051 5.1: the INBOX level matches in any case */
	if (strncmp(name, "INBOX", 5) == 0 && (name[5] == '\0' || name[5] == IMAP_SERVER_SEP))
		fold = 5;
	/* cur[j]: the pattern so far matches name[0..j) */
	cur = mem_zalloc(nlen + 1);
	next = mem_zalloc(nlen + 1);
	cur[0] = true;
	for (size_t i = 0; i < plen; i++) {
		char c = pattern[i];
		bool any = false;
		bool *tmp;

		for (size_t j = 0; j <= nlen; j++) {
			if (c == '*') {
				any = any || cur[j];
				next[j] = any;
			} else if (c == '%') {
				next[j] = cur[j] || (j > 0 && next[j - 1] && name[j - 1] != IMAP_SERVER_SEP);
			} else if (j == 0) {
				next[j] = false;
			} else if (j - 1 < fold) {
				next[j] = cur[j - 1] && (c == name[j - 1] ||
							 ((c | 0x20) == (name[j - 1] | 0x20) &&
							  (c | 0x20) >= 'a' && (c | 0x20) <= 'z'));
			} else {
				next[j] = cur[j - 1] && c == name[j - 1];
			}
		}
		tmp = cur;
		cur = next;
		next = tmp;
	}
	result = cur[nlen];
	mem_free(&cur);
	mem_free(&next);
	return result;
}

/* Any pattern matches; with percent_last only those ending in '%' count
 * (RFC 9051 6.3.9: such patterns also return the levels above). */
static bool
imap_server_list_matches(const struct imap_server_list *l, const char *name, bool percent_last)
{
	for (unsigned i = 0; i < l->n_patterns; i++) {
		size_t n = strlen(l->patterns[i]);

		if (percent_last && (n == 0 || l->patterns[i][n - 1] != '%'))
			continue;
		if (imap_server_list_match(l->patterns[i], name))
			return true;
	}
	return false;
}

/* ---- arguments ---- */

/* Client text (mUTF-7 unless UTF8=ACCEPT) to UTF-8 onto out; false when
 * invalid. */
static bool
imap_server_list_decode(const struct imap_server_session *s, const char *wire, size_t len,
			struct buf *out)
{
	const char *error;

	for (size_t i = 0; i < len; i++) {
		if ((unsigned char)wire[i] < 0x20 || wire[i] == 0x7f)
			return false;
	}
	if (s->utf8_enabled)
		return buf_append(out, wire, len) == 0;
	return imap_utf7_to_utf8(wire, len, out, &error) > 0;
}

/* reference + pattern as one UTF-8 pattern, wildcard runs collapsed. */
static char *
imap_server_list_pattern(const struct imap_server_session *s, const char *ref, size_t ref_len,
			 const char *pat, size_t pat_len)
{
	struct buf b, c;
	const char *p;

	buf_init(&b, 0);
	if (!imap_server_list_decode(s, ref, ref_len, &b) ||
	    !imap_server_list_decode(s, pat, pat_len, &b)) {
		buf_deinit(&b);
		return NULL;
	}
	buf_init(&c, 0);
	p = buf_cstr(&b);
	for (size_t i = 0; p[i] != '\0';) {
		if (p[i] == '*' || p[i] == '%') {
			bool star = false;

			for (; p[i] == '*' || p[i] == '%'; i++)
				star = star || p[i] == '*';
			(void)buf_append_byte(&c, star ? '*' : '%');
		} else {
			(void)buf_append_byte(&c, (uint8_t)p[i++]);
		}
	}
	buf_deinit(&b);
	return buf_steal_str(&c);
}

static bool
imap_server_list_options(struct imap_server_session *s, struct imap_server_list *l,
			 const struct imap_arg *arg, bool selection)
{
	const struct imap_arg *opts;
	unsigned count;

	if (!imap_arg_get_list(arg, &opts, &count))
		return false;
	for (unsigned i = 0; i < count; i++) {
		if (selection && imap_arg_atom_equals(&opts[i], "SUBSCRIBED"))
			l->sel |= IMAP_LIST_SEL_SUBSCRIBED;
		else if (selection && imap_arg_atom_equals(&opts[i], "SPECIAL-USE"))
			l->sel |= IMAP_LIST_SEL_SPECIAL_USE;
		else if (selection && imap_arg_atom_equals(&opts[i], "RECURSIVEMATCH"))
			l->sel |= IMAP_LIST_SEL_RECURSIVE;
		else if (selection && imap_arg_atom_equals(&opts[i], "REMOTE"))
			; /* RFC 5258 3.1: nothing here is remote */
		else if (!selection && imap_arg_atom_equals(&opts[i], "SUBSCRIBED"))
			l->ret |= IMAP_LIST_RET_SUBSCRIBED;
		else if (!selection && imap_arg_atom_equals(&opts[i], "CHILDREN"))
			l->ret |= IMAP_LIST_RET_CHILDREN;
		else if (!selection && imap_arg_atom_equals(&opts[i], "SPECIAL-USE"))
			l->ret |= IMAP_LIST_RET_SPECIAL_USE;
		else if (!selection && imap_arg_atom_equals(&opts[i], "MYRIGHTS") &&
			 s->have_shooks && s->shooks.acl != NULL)
			l->ret |= IMAP_LIST_RET_MYRIGHTS; /* RFC 8440 3 */
		else if (!selection && imap_arg_atom_equals(&opts[i], "STATUS") && i + 1 < count &&
			 l->status_items == 0) {
			l->status_items = imap_server_status_items(s, &opts[++i]);
			if (l->status_items == 0)
				return false;
		} else
			return false;
	}
	/* RFC 5258 3: RECURSIVEMATCH only modifies another option */
	if ((l->sel & IMAP_LIST_SEL_RECURSIVE) != 0 && (l->sel & IMAP_LIST_SEL_SUBSCRIBED) == 0)
		return false;
	return true;
}

/* Parse LIST/LSUB arguments into s->list; false after a BAD reply, or
 * after the whole answer when nothing needs the glue. */
static bool
imap_server_list_parse(struct imap_server_session *s, const struct imap_command *cmd, bool lsub)
{
	struct imap_server_list *l;
	const struct imap_arg *pats;
	const char *ref, *pat;
	size_t ref_len, pat_len;
	unsigned i = 0, n_pats = 1;

	imap_server_list_free(s);
	l = s->list = mem_zalloc(sizeof(*l));
	l->lsub = lsub;
	if (!lsub && cmd->args[0].type == IMAP_ARG_LIST) {
		if (!imap_server_list_options(s, l, &cmd->args[0], true))
			goto bad;
		i = 1;
	}
	if (i + 2 > cmd->n_args || !imap_arg_get_astring(&cmd->args[i], &ref, &ref_len))
		goto bad;
	pats = &cmd->args[i + 1];
	if (!lsub && pats->type == IMAP_ARG_LIST) {
		/* RFC 5258 3: several patterns */
		if (!imap_arg_get_list(pats, &pats, &n_pats) || n_pats == 0)
			goto bad;
	}
	if (i + 2 < cmd->n_args) {
		if (i + 4 != cmd->n_args || !imap_arg_atom_equals(&cmd->args[i + 2], "RETURN") ||
		    !imap_server_list_options(s, l, &cmd->args[i + 3], false))
			goto bad;
	}
	l->patterns = mem_zalloc(sizeof(char *) * n_pats);
	for (unsigned j = 0; j < n_pats; j++) {
		if (!imap_arg_get_list_mailbox(&pats[j], &pat, &pat_len))
			goto bad;
		if (pat_len == 0 && n_pats == 1 && !lsub) {
			/* RFC 9051 6.3.9: "" asks for the separator and the
			 * root of the reference */
			const char *sep = memchr(ref, IMAP_SERVER_SEP, ref_len);
			struct buf b;

			buf_init(&b, 0);
			(void)buf_append_str(&b, "LIST (\\Noselect) \"/\" ");
			imap_server_append_string(&b, ref,
						  sep != NULL ? (size_t)(sep - ref) + 1 : 0,
						  s->utf8_enabled);
			imap_server_untagged(s, "%s", buf_cstr(&b));
			buf_deinit(&b);
			imap_server_ok(s, NULL, "LIST completed");
			imap_server_list_free(s);
			return false;
		}
		/* a pattern that is not valid modified UTF-7 names no mailbox:
		 * it matches nothing (as in Dovecot), the command is not BAD */
		l->patterns[l->n_patterns] = imap_server_list_pattern(s, ref, ref_len, pat, pat_len);
		if (l->patterns[l->n_patterns] != NULL)
			l->n_patterns++;
	}
	return true;
bad:
	imap_server_list_free(s);
	imap_server_bad_command(s, s->cmd_tag, lsub ? "Invalid LSUB arguments"
						    : "Invalid LIST arguments");
	return false;
}

static void
imap_server_list_start(struct imap_server_session *s, const struct imap_command *cmd, bool lsub)
{
	if (!imap_server_list_parse(s, cmd, lsub))
		return;
	s->pending = IMAP_PENDING_LIST;
	imap_server_flush(s);
	if (!imap_server_dead(s))
		s->hooks.mailbox_list(s->hook_ctx, s);
}

void
imap_server_cmd_list(struct imap_server_session *s, const struct imap_command *cmd)
{
	imap_server_list_start(s, cmd, false);
}

void
imap_server_cmd_lsub(struct imap_server_session *s, const struct imap_command *cmd)
{
	/* RFC 9051 removed LSUB (appendix E); kept for IMAP4rev1 clients */
	if (s->rev2_enabled) {
		imap_server_bad_command(s, s->cmd_tag, "LSUB is not part of IMAP4rev2");
		return;
	}
	imap_server_list_start(s, cmd, true);
}

/* ---- the mailbox tree ---- */

struct imap_server_list_nodes {
	struct imap_server_list_node *v;
	size_t count, cap;
};

static void
imap_server_nodes_add(struct imap_server_list_nodes *n, const char *name, size_t len,
		      unsigned special_use, bool exists, bool subscribed, const char *rights)
{
	struct imap_server_list_node *node;

	if (n->count == n->cap) {
		n->cap = n->cap == 0 ? 16 : mem_size_mul(n->cap, 2);
		n->v = mem_realloc(n->v, mem_size_mul(n->cap, sizeof(*n->v)));
	}
	node = &n->v[n->count++];
	memset(node, 0, sizeof(*node));
	node->name = mem_strndup(name, len);
	node->special_use = special_use & IMAP_SPECIAL_USE_MASK;
	node->exists = exists;
	node->subscribed = subscribed;
	node->rights = rights != NULL ? mem_strdup(rights) : NULL;
}

static int
imap_server_node_cmp(const void *a, const void *b)
{
	return strcmp(((const struct imap_server_list_node *)a)->name,
		      ((const struct imap_server_list_node *)b)->name);
}

static struct imap_server_list_node *
imap_server_nodes_find(struct imap_server_list_nodes *n, char *name)
{
	struct imap_server_list_node key = { .name = name };

	return bsearch(&key, n->v, n->count, sizeof(*n->v), imap_server_node_cmp);
}

/* The glue's names, checked, plus INBOX and every implied parent, sorted,
 * merged, with the children flags set. */
static void
imap_server_nodes_build(struct imap_server_session *s, const struct imap_mailbox_info *boxes,
			const char *const *rights, unsigned count, struct imap_server_list_nodes *n)
{
	size_t real, out = 0;

	memset(n, 0, sizeof(*n));
	imap_server_nodes_add(n, "INBOX", 5, 0, true, false, NULL);
	for (unsigned i = 0; i < count; i++) {
		const char *name = boxes[i].name;
		size_t len = name != NULL ? strlen(name) : 0;

		if (name == NULL || imap_server_mailbox_name_check(s, name, len) != NULL)
			continue;
		imap_server_nodes_add(n, name, len, boxes[i].special_use, boxes[i].exists,
				      boxes[i].subscribed, rights != NULL ? rights[i] : NULL);
		imap_server_mailbox_fold_inbox(n->v[n->count - 1].name);
	}
	real = n->count;
	for (size_t i = 0; i < real; i++) {
		for (size_t j = strlen(n->v[i].name); j > 0; j--) {
			if (n->v[i].name[j - 1] == IMAP_SERVER_SEP)
				imap_server_nodes_add(n, n->v[i].name, j - 1, 0, false, false,
						      NULL);
		}
	}
	qsort(n->v, n->count, sizeof(*n->v), imap_server_node_cmp);
	for (size_t i = 0; i < n->count; i++) {
		if (out > 0 && strcmp(n->v[out - 1].name, n->v[i].name) == 0) {
			n->v[out - 1].exists |= n->v[i].exists;
			n->v[out - 1].subscribed |= n->v[i].subscribed;
			n->v[out - 1].special_use |= n->v[i].special_use;
			if (n->v[out - 1].rights == NULL) {
				n->v[out - 1].rights = n->v[i].rights;
				n->v[i].rights = NULL;
			}
			mem_free(&n->v[i].name);
			mem_free(&n->v[i].rights);
		} else {
			n->v[out++] = n->v[i];
		}
	}
	n->count = out;
	for (size_t i = 0; i < n->count; i++) {
		char *name;

		if (!n->v[i].exists && !n->v[i].subscribed)
			continue;
		name = mem_strdup(n->v[i].name);
		for (size_t j = strlen(name); j > 0; j--) {
			struct imap_server_list_node *parent;

			if (name[j - 1] != IMAP_SERVER_SEP)
				continue;
			name[j - 1] = '\0';
			parent = imap_server_nodes_find(n, name);
			ASSERT(parent != NULL);
			parent->child_exists |= n->v[i].exists;
			parent->child_subscribed |= n->v[i].subscribed;
		}
		mem_free(&name);
	}
}

static void
imap_server_nodes_free(struct imap_server_list_nodes *n)
{
	for (size_t i = 0; i < n->count; i++) {
		mem_free(&n->v[i].name);
		mem_free(&n->v[i].rights);
	}
	mem_free(&n->v);
}

/* ---- output ---- */

static void
imap_server_attr(struct buf *b, const char *attr)
{
	if (buf_data(b)[buf_len(b) - 1] != '(')
		(void)buf_append_byte(b, ' ');
	(void)buf_append_str(b, attr);
}

/* Rights as MYRIGHTS shows them (RFC 4314 2.1.1, as imap-server-acl.c):
 * the real rights in canonical order, then "c" for any of "kx" and "d"
 * for any of "xte". */
#define IMAP_LIST_RIGHTS_REAL "aeiklprstwx"

static void
imap_server_list_myrights(const struct imap_server_session *s, struct buf *b, const char *name,
			  const char *rights)
{
	char show[sizeof(IMAP_LIST_RIGHTS_REAL) + 2];
	size_t n = 0;

	for (const char *p = IMAP_LIST_RIGHTS_REAL; *p != '\0'; p++) {
		if (strchr(rights, *p) != NULL)
			show[n++] = *p;
	}
	show[n] = '\0';
	if (strpbrk(show, "kx") != NULL)
		show[n++] = 'c';
	if (strpbrk(show, "xte") != NULL)
		show[n++] = 'd';
	show[n] = '\0';
	(void)buf_append_str(b, "* MYRIGHTS ");
	(void)imap_server_append_mailbox(s, b, name);
	(void)buf_append_byte(b, ' ');
	imap_server_append_string(b, show, n, s->utf8_enabled);
	(void)buf_append_str(b, "\r\n");
}

/* The LIST/LSUB line of node, or false when it is not selected. */
static bool
imap_server_list_line(struct imap_server_session *s, const struct imap_server_list *l,
		      const struct imap_server_list_node *node, struct buf *b)
{
	bool sub_sel = (l->sel & IMAP_LIST_SEL_SUBSCRIBED) != 0;
	bool recursive = (l->sel & IMAP_LIST_SEL_RECURSIVE) != 0;
	bool childinfo = false, noselect = false;

	if (l->lsub) {
		/* RFC 3501 6.3.9: a level above subscribed names for "%";
		 * subscribed names that are gone are \Noselect too */
		if (node->subscribed && imap_server_list_matches(l, node->name, false))
			noselect = !node->exists;
		else if (node->child_subscribed && imap_server_list_matches(l, node->name, true))
			noselect = true;
		else
			return false;
	} else if (sub_sel || (l->sel & IMAP_LIST_SEL_SPECIAL_USE) != 0) {
		bool take = true;

		if (sub_sel) {
			/* RFC 5258 3.1, 3.5: RECURSIVEMATCH returns a name for a
			 * subscribed descendant that is not returned itself
			 * (the pattern does not match it); one that is listed
			 * speaks for itself */
			childinfo = recursive && node->child_sub_unlisted;
			take = node->subscribed || childinfo;
		}
		if ((l->sel & IMAP_LIST_SEL_SPECIAL_USE) != 0 &&
		    (!node->exists || node->special_use == 0))
			take = false;
		if (!take || !imap_server_list_matches(l, node->name, false))
			return false;
	} else if (node->exists) {
		if (!imap_server_list_matches(l, node->name, false))
			return false;
	} else {
		/* RFC 9051 6.3.9: a missing level above existing mailboxes only
		 * for a pattern ending in "%", as \Noselect */
		if (!node->child_exists || !imap_server_list_matches(l, node->name, true))
			return false;
		noselect = true;
	}
	buf_reset(b);
	(void)buf_append_str(b, l->lsub ? "* LSUB (" : "* LIST (");
	if (noselect)
		imap_server_attr(b, "\\Noselect");
	else if (!node->exists)
		imap_server_attr(b, "\\NonExistent");
	if (!l->lsub && (node->exists || node->child_exists))
		imap_server_attr(b, node->child_exists ? "\\HasChildren" : "\\HasNoChildren");
	if (!l->lsub && node->subscribed &&
	    (sub_sel || (l->ret & IMAP_LIST_RET_SUBSCRIBED) != 0))
		imap_server_attr(b, "\\Subscribed");
	for (size_t i = 0; !l->lsub && node->exists && i < N_ELEMENTS(imap_server_special_use_attrs);
	     i++) {
		if ((node->special_use & (1u << i)) != 0)
			imap_server_attr(b, imap_server_special_use_attrs[i]);
	}
	(void)buf_append_str(b, ") \"/\" ");
	if (!imap_server_append_mailbox(s, b, node->name))
		return false;
	/* RFC 5258 3.5 */
	if (childinfo)
		(void)buf_append_str(b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	(void)buf_append_str(b, "\r\n");
	/* RFC 8440 3: only for mailboxes that exist (not \NonExistent,
	 * \Noselect) and whose rights are known */
	if ((l->ret & IMAP_LIST_RET_MYRIGHTS) != 0 && !l->lsub && node->exists &&
	    !noselect && node->rights != NULL)
		imap_server_list_myrights(s, b, node->name, node->rights);
	return true;
}

/* Mark the ancestors of every subscribed name that no pattern matches
 * (child_sub_unlisted), for CHILDINFO. */
static void
imap_server_list_mark_unlisted(const struct imap_server_list *l, struct imap_server_list_nodes *n)
{
	for (size_t i = 0; i < n->count; i++) {
		char *name;

		if (!n->v[i].subscribed || imap_server_list_matches(l, n->v[i].name, false))
			continue;
		name = mem_strdup(n->v[i].name);
		for (size_t j = strlen(name); j > 0; j--) {
			struct imap_server_list_node *parent;

			if (name[j - 1] != IMAP_SERVER_SEP)
				continue;
			name[j - 1] = '\0';
			parent = imap_server_nodes_find(n, name);
			ASSERT(parent != NULL);
			parent->child_sub_unlisted = true;
		}
		mem_free(&name);
	}
}

/* Send LIST lines and run status hooks until one is deferred or all is
 * out; then the tagged OK. The caller holds a reference. */
static void
imap_server_list_run(struct imap_server_session *s)
{
	struct imap_server_list *l = s->list;

	while (!imap_server_dead(s) && l->next < l->n_entries) {
		struct imap_server_list_entry *e = &l->entries[l->next];
		char *name;

		imap_server_write(s, buf_data(&e->line), buf_len(&e->line));
		buf_deinit(&e->line);
		if (e->status_name == NULL) {
			l->next++;
			continue;
		}
		s->pending = IMAP_PENDING_LIST_STATUS;
		imap_server_flush(s);
		if (imap_server_dead(s))
			return;
		l->in_hook = true;
		l->completed = false;
		name = mem_strdup(e->status_name);
		s->hooks.mailbox_status(s->hook_ctx, s, name, l->status_items);
		mem_free(&name);
		if (imap_server_dead(s))
			return;
		l->in_hook = false;
		if (!l->completed)
			return;
	}
	if (imap_server_dead(s))
		return;
	s->pending = IMAP_PENDING_NONE;
	imap_server_ok(s, NULL, l->lsub ? "LSUB completed" : "LIST completed");
	imap_server_list_free(s);
}

void
imap_server_list_status_done(struct imap_server_session *s, const struct imap_status_info *info,
			     enum imap_mailbox_result result)
{
	imap_server_list_status_done_id(s, info, NULL, result);
}

void
imap_server_list_status_done_id(struct imap_server_session *s,
				const struct imap_status_info *info, const char *mailboxid,
				enum imap_mailbox_result result)
{
	struct imap_server_list *l = s->list;
	bool held;

	ASSERT(l != NULL && l->next < l->n_entries);
	imap_server_ref(s);
	if (result == IMAP_MAILBOX_OK) {
		struct buf line;

		ASSERT(info != NULL);
		buf_init(&line, 0);
		imap_server_status_line_id(s, &line, l->entries[l->next].status_name,
					   l->status_items, info, mailboxid);
		imap_server_untagged(s, "%s", buf_cstr(&line));
		buf_deinit(&line);
	}
	l->next++;
	s->pending = IMAP_PENDING_NONE;
	if (l->in_hook) {
		/* inside the hook: imap_server_list_run goes on */
		l->completed = true;
		imap_server_unref(s);
		return;
	}
	s->pending = IMAP_PENDING_LIST_STATUS;
	held = imap_server_hold(s);
	imap_server_list_run(s);
	imap_server_release(s, held);
	imap_server_unref(s);
}

void
imap_server_list_done(struct imap_server_session *s, const struct imap_mailbox_info *boxes,
		      unsigned count, enum imap_mailbox_result result)
{
	imap_server_list_done_rights(s, boxes, NULL, count, result);
}

void
imap_server_list_done_rights(struct imap_server_session *s, const struct imap_mailbox_info *boxes,
			     const char *const *rights, unsigned count,
			     enum imap_mailbox_result result)
{
	struct imap_server_list *l = s->list;
	struct imap_server_list_nodes nodes;
	bool held;

	if (imap_server_dead(s))
		return;
	if (s->pending != IMAP_PENDING_LIST)
		PANIC("imap_server_list_done without a list hook in progress");
	imap_server_ref(s);
	if (result != IMAP_MAILBOX_OK) {
		s->pending = IMAP_PENDING_NONE;
		imap_server_no(s, imap_server_result_code(result), "Cannot list mailboxes now");
		imap_server_list_free(s);
	} else {
		imap_server_nodes_build(s, boxes, rights, count, &nodes);
		if ((l->sel & IMAP_LIST_SEL_RECURSIVE) != 0)
			imap_server_list_mark_unlisted(l, &nodes);
		l->entries = mem_zalloc(mem_size_mul(nodes.count, sizeof(*l->entries)));
		for (size_t i = 0; i < nodes.count; i++) {
			struct imap_server_list_entry *e = &l->entries[l->n_entries];

			buf_init(&e->line, 0);
			if (!imap_server_list_line(s, l, &nodes.v[i], &e->line)) {
				buf_deinit(&e->line);
				continue;
			}
			if (l->status_items != 0 && nodes.v[i].exists)
				e->status_name = mem_strdup(nodes.v[i].name);
			l->n_entries++;
		}
		imap_server_nodes_free(&nodes);
		held = imap_server_hold(s);
		imap_server_list_run(s);
		imap_server_release(s, held);
	}
	imap_server_resume(s);
	imap_server_flush(s);
	imap_server_unref(s);
}
