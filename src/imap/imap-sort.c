/*
 * imap-sort.c - SORT and THREAD (RFC 5256) over the messages a program
 * matched: the keys kept of each message, the base subject (2.1), the
 * sort (3), ORDEREDSUBJECT and REFERENCES threading (3) and the rendering
 * of the thread tree (4). DISPLAYFROM/DISPLAYTO are RFC 5957's.
 *
 * Does: compare strings after the same case folding as SEARCH, with ASCII
 * letters then in upper case so that the order is i;ascii-casemap's (RFC
 * 5256 3, RFC 4790 9.2: "[" and "_" after the letters), dates as UTC instants ("sent date": Date:, else
 * INTERNALDATE, 2.2); break every tie by sequence number.
 *
 * Does not: keep message bodies (each message's keys are copied out while
 * its body is mapped), recurse (deep reply chains are walked with explicit
 * stacks, so a hostile References chain cannot exhaust the stack).
 *
 * Invariants: memory is linear in the number of items and references kept
 * (at most THREAD_MAX_REFS per message).
 */
#include "imap/imap-search-private.h"

#include "core/mem.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-date.h"

#include <stdlib.h>
#include <string.h>

/* References kept per message: the last ones, nearest the message. */
#define THREAD_MAX_REFS 100

/* ---- base subject (RFC 5256 2.1) ---- */

static bool
starts_with(const char *s, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);

	return len >= n && memcmp(s, prefix, n) == 0;
}

/* subj-blob = "[" *BLOBCHAR "]" *WSP at s; its length or 0. */
static size_t
subj_blob(const char *s, size_t len)
{
	size_t i = 1;

	if (len == 0 || s[0] != '[')
		return 0;
	while (i < len && s[i] != '[' && s[i] != ']')
		i++;
	if (i >= len || s[i] != ']')
		return 0;
	i++;
	while (i < len && s[i] == ' ')
		i++;
	return i;
}

/* subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw"
 * ["d"])) *WSP [subj-blob] ":". Length or 0. */
static size_t
subj_leader(const char *s, size_t len)
{
	size_t i = 0, n;

	if (len > 0 && s[0] == ' ')
		return 1;
	while ((n = subj_blob(s + i, len - i)) > 0)
		i += n;
	if (starts_with(s + i, len - i, "re"))
		i += 2;
	else if (starts_with(s + i, len - i, "fwd"))
		i += 3;
	else if (starts_with(s + i, len - i, "fw"))
		i += 2;
	else
		return 0;
	while (i < len && s[i] == ' ')
		i++;
	i += subj_blob(s + i, len - i);
	if (i >= len || s[i] != ':')
		return 0;
	return i + 1;
}

bool
imap_sort_base_subject(const char *subject, size_t len, struct buf *out)
{
	struct buf dec, fold;
	const char *s;
	size_t start = 0, end;
	bool reply = false, changed;

	buf_init(&dec, 0);
	buf_init(&fold, 0);
	search_decode_2047((const uint8_t *)subject, len, &dec);
	/* (1) white space runs to one space, then case folding */
	size_t kept = 0;
	uint8_t *d = buf_data(&dec);

	for (size_t i = 0; i < buf_len(&dec); i++) {
		uint8_t c = d[i];

		if (c == '\t' || c == '\r' || c == '\n')
			c = ' ';
		if (c == ' ' && kept > 0 && d[kept - 1] == ' ')
			continue;
		d[kept++] = c;
	}
	search_fold_append(&fold, d, kept);
	s = buf_cstr(&fold);
	end = buf_len(&fold);
	for (;;) {
		/* (2) trailers: white space and "(fwd)" */
		for (;;) {
			if (end > start && s[end - 1] == ' ') {
				end--;
			} else if (end - start >= 5 && memcmp(s + end - 5, "(fwd)", 5) == 0) {
				end -= 5;
				reply = true;
			} else {
				break;
			}
		}
		/* (3)-(5) leaders and blobs */
		do {
			size_t n;

			changed = false;
			while ((n = subj_leader(s + start, end - start)) > 0) {
				if (s[start] != ' ')
					reply = true;
				start += n;
				changed = true;
			}
			n = subj_blob(s + start, end - start);
			if (n > 0 && start + n < end) {
				start += n;
				changed = true;
			}
		} while (changed);
		/* (6) "[fwd:" ... "]" */
		if (starts_with(s + start, end - start, "[fwd:") && end - start >= 6 &&
		    s[end - 1] == ']') {
			start += 5;
			end--;
			reply = true;
			continue;
		}
		break;
	}
	(void)buf_append(out, s + start, end - start);
	buf_deinit(&dec);
	buf_deinit(&fold);
	return reply;
}

/* ---- keys of one message ---- */

/*
 * Make a folded key (search_fold_append's lower case) compare the way
 * i;ascii-casemap does: ASCII letters in upper case (RFC 4790 9.2), so that
 * "[" and "_" sort after the letters (RFC 5256 3). Octets above 0x7f keep
 * the search folding, so that keys equal for SEARCH stay equal here.
 */
static void
casemap_upper(char *s)
{
	for (; *s != '\0'; s++) {
		if (*s >= 'a' && *s <= 'z')
			*s = (char)(*s - 'a' + 'A');
	}
}

/* The key of an address field that does not parse (rfc5322-address.h is
 * strict; "From: d" is real mail): the first element of the raw value as
 * it stands, for a mailbox key the part inside "<" and before "@". */
static void
address_key_raw(const char *value, bool display, struct buf *raw)
{
	const char *s = value, *e = value + strcspn(value, ",");
	const char *lt = memchr(s, '<', (size_t)(e - s));

	if (!display) {
		if (lt != NULL)
			s = lt + 1;
		e = s + strcspn(s, "@>,");
	}
	while (s < e && (*s == ' ' || *s == '\t'))
		s++;
	while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
		e--;
	if (display)
		search_decode_2047((const uint8_t *)s, (size_t)(e - s), raw);
	else
		(void)buf_append(raw, s, (size_t)(e - s));
}

/*
 * The SORT key of address field `name` from its first entry, as ENVELOPE
 * shows it (RFC 5256 3: the addr-mailbox of the first address; a group
 * start has the group name there), or for DISPLAYFROM/DISPLAYTO (RFC 5957
 * 3) the addr-name (display name, else the comment ENVELOPE uses),
 * RFC 2047-decoded, else "mailbox@host", else a group's name. Folded, in
 * i;ascii-casemap order; "" when the field is absent or empty.
 */
static char *
address_key(struct search_header *h, const char *name, bool display)
{
	struct search_field *f = search_header_find(h, name, NULL);
	struct rfc5322_address_list list;
	struct rfc5322_address_limits limits;
	const char *err;
	struct buf raw, fold;
	char *key;

	rfc5322_address_limits_init_default(&limits);
	buf_init(&raw, 0);
	buf_init(&fold, 0);
	if (f != NULL &&
	    rfc5322_address_list_parse((const uint8_t *)f->value, strlen(f->value), &limits,
	                               RFC5322_ADDRESS_LIST, &list, &err) > 0) {
		const struct rfc5322_address *a = list.count > 0 ? &list.addrs[0] : NULL;
		const char *dn = a == NULL ? NULL :
		                 a->display_name != NULL ? a->display_name : a->comment;

		if (a != NULL && a->group != 0)
			(void)buf_append_str(&raw, a->group_name);
		else if (a != NULL && display && dn != NULL && *dn != '\0')
			search_decode_2047((const uint8_t *)dn, strlen(dn), &raw);
		else if (a != NULL && display)
			(void)rfc5322_address_format(a, &raw);
		else if (a != NULL)
			(void)buf_append_str(&raw, a->local_part);
		rfc5322_address_list_deinit(&list);
	} else if (f != NULL) {
		address_key_raw(f->value, display, &raw);
	}
	search_fold_append(&fold, buf_data(&raw), buf_len(&raw));
	buf_deinit(&raw);
	key = buf_steal_str(&fold);
	casemap_upper(key);
	return key;
}

/* The msg-ids ("<...>") of value, contents only, space-separated; at most
 * max, the last ones. */
static char *
msg_ids(const char *value, unsigned max)
{
	struct buf out;
	const char *p = value;
	unsigned n = 0;

	buf_init(&out, 0);
	while ((p = strchr(p, '<')) != NULL) {
		const char *q = strchr(p + 1, '>');
		size_t len;

		if (q == NULL)
			break;
		len = (size_t)(q - p - 1);
		if (len > 0 && memchr(p + 1, ' ', len) == NULL && memchr(p + 1, '<', len) == NULL) {
			if (n == max) {
				/* drop the oldest */
				const char *sp = strchr(buf_cstr(&out), ' ');

				if (sp == NULL)
					buf_reset(&out);
				else
					buf_consume(&out, (size_t)(sp - buf_cstr(&out)) + 1);
				n--;
			}
			if (buf_len(&out) > 0)
				(void)buf_append_byte(&out, ' ');
			(void)buf_append(&out, p + 1, len);
			n++;
		}
		p = q + 1;
	}
	if (n == 0) {
		buf_deinit(&out);
		return NULL;
	}
	return buf_steal_str(&out);
}

void
imap_sort_item_init(const struct imap_search_program *prog, struct imap_message *msg,
                    struct imap_sort_item *item)
{
	struct search_header h;
	struct search_field *f;
	struct rfc5322_date d;
	const char *err;

	memset(item, 0, sizeof(*item));
	item->uid = msg->uid;
	item->seq = msg->seq;
	item->size = msg->size;
	item->arrival = msg->internaldate;
	item->date = msg->internaldate;
	if (msg->data == NULL)
		return;
	search_header_parse(msg->data, (size_t)msg->size, &h);
	f = search_header_find(&h, "date", NULL);
	if (f != NULL &&
	    rfc5322_date_parse((const uint8_t *)f->value, strlen(f->value), &d, &err) > 0)
		item->date = (int64_t)d.time;
	for (unsigned i = 0; i < prog->n_sort; i++) {
		switch (prog->sort[i].key) {
		case SORT_CC:
			item->str[IMAP_SORT_STR_CC] = address_key(&h, "cc", false);
			break;
		case SORT_FROM:
			item->str[IMAP_SORT_STR_FROM] = address_key(&h, "from", false);
			break;
		case SORT_TO:
			item->str[IMAP_SORT_STR_TO] = address_key(&h, "to", false);
			break;
		case SORT_DISPLAYFROM:
			item->str[IMAP_SORT_STR_DISPLAYFROM] = address_key(&h, "from", true);
			break;
		case SORT_DISPLAYTO:
			item->str[IMAP_SORT_STR_DISPLAYTO] = address_key(&h, "to", true);
			break;
		default:
			break;
		}
	}
	if (prog->kind == IMAP_SEARCH_KIND_THREAD || item->str[IMAP_SORT_STR_SUBJECT] == NULL) {
		struct buf b;

		f = search_header_find(&h, "subject", NULL);
		buf_init(&b, 0);
		if (f != NULL)
			item->subject_reply =
			        imap_sort_base_subject(f->value, strlen(f->value), &b);
		item->str[IMAP_SORT_STR_SUBJECT] = buf_steal_str(&b);
		casemap_upper(item->str[IMAP_SORT_STR_SUBJECT]);
		buf_deinit(&b);
	}
	if (prog->kind == IMAP_SEARCH_KIND_THREAD) {
		f = search_header_find(&h, "message-id", NULL);
		if (f != NULL) {
			item->message_id = msg_ids(f->value, 1);
		}
		f = search_header_find(&h, "references", NULL);
		if (f != NULL)
			item->references = msg_ids(f->value, THREAD_MAX_REFS);
		if (item->references == NULL) {
			f = search_header_find(&h, "in-reply-to", NULL);
			if (f != NULL) {
				char *ids = msg_ids(f->value, THREAD_MAX_REFS);

				/* the first one (RFC 5256 3 (1)) */
				if (ids != NULL && strchr(ids, ' ') != NULL)
					*strchr(ids, ' ') = '\0';
				item->references = ids;
			}
		}
	}
	search_header_free(&h);
}

void
imap_sort_item_deinit(struct imap_sort_item *item)
{
	for (unsigned i = 0; i < IMAP_SORT_STR_COUNT; i++)
		mem_free(&item->str[i]);
	mem_free(&item->message_id);
	mem_free(&item->references);
}

/* ---- SORT ---- */

static int
cmp_num(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b ? 1 : 0;
}

static int
cmp_str(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "");
}

static int
sort_cmp_with(const struct imap_search_program *prog, const struct imap_sort_item *a,
              const struct imap_sort_item *b)
{
	for (unsigned i = 0; i < prog->n_sort; i++) {
		int r = 0;

		switch (prog->sort[i].key) {
		case SORT_ARRIVAL:
			r = cmp_num(a->arrival, b->arrival);
			break;
		case SORT_DATE:
			r = cmp_num(a->date, b->date);
			break;
		case SORT_SIZE:
			r = a->size < b->size ? -1 : a->size > b->size;
			break;
		case SORT_CC:
			r = cmp_str(a->str[IMAP_SORT_STR_CC], b->str[IMAP_SORT_STR_CC]);
			break;
		case SORT_FROM:
			r = cmp_str(a->str[IMAP_SORT_STR_FROM], b->str[IMAP_SORT_STR_FROM]);
			break;
		case SORT_TO:
			r = cmp_str(a->str[IMAP_SORT_STR_TO], b->str[IMAP_SORT_STR_TO]);
			break;
		case SORT_SUBJECT:
			r = cmp_str(a->str[IMAP_SORT_STR_SUBJECT], b->str[IMAP_SORT_STR_SUBJECT]);
			break;
		case SORT_DISPLAYFROM:
			r = cmp_str(a->str[IMAP_SORT_STR_DISPLAYFROM],
			            b->str[IMAP_SORT_STR_DISPLAYFROM]);
			break;
		case SORT_DISPLAYTO:
			r = cmp_str(a->str[IMAP_SORT_STR_DISPLAYTO],
			            b->str[IMAP_SORT_STR_DISPLAYTO]);
			break;
		}
		if (r != 0)
			return prog->sort[i].reverse ? -r : r;
	}
	/* RFC 5256 3: ties in mailbox order, REVERSE or not */
	return cmp_num(a->seq, b->seq);
}

/* Merge sort with the program as context (qsort_r is not C11). */
static void
merge_sort(struct imap_sort_item *items, struct imap_sort_item *tmp, size_t n,
           const struct imap_search_program *prog)
{
	size_t width;

	for (width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n;
			size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;

			while (i < mid && j < hi)
				tmp[k++] = sort_cmp_with(prog, &items[j], &items[i]) < 0
				                   ? items[j++]
				                   : items[i++];
			while (i < mid)
				tmp[k++] = items[i++];
			while (j < hi)
				tmp[k++] = items[j++];
		}
		memcpy(items, tmp, n * sizeof(*items));
	}
}

void
imap_sort_items(const struct imap_search_program *prog, struct imap_sort_item *items, size_t count)
{
	struct imap_sort_item *tmp;

	if (count < 2)
		return;
	tmp = mem_array(count, sizeof(*tmp));
	merge_sort(items, tmp, count, prog);
	mem_free(&tmp);
}

/* ---- THREAD ---- */

struct tnode {
	struct imap_sort_item *item; /* NULL: a dummy */
	struct tnode *parent, *child, *next;
	const char *id;
};

struct forest {
	struct tnode *nodes;
	size_t n_nodes, cap;
	struct tnode *roots;
};

static struct tnode *
tnode_new(struct forest *f)
{
	struct tnode *t;

	ASSERT(f->n_nodes < f->cap);
	t = &f->nodes[f->n_nodes++];
	memset(t, 0, sizeof(*t));
	return t;
}

/* date of a container: its message's, or a dummy's first child's */
static int64_t
tnode_date(const struct tnode *t)
{
	while (t->item == NULL && t->child != NULL)
		t = t->child;
	return t->item != NULL ? t->item->date : 0;
}

static uint32_t
tnode_seq(const struct tnode *t)
{
	while (t->item == NULL && t->child != NULL)
		t = t->child;
	return t->item != NULL ? t->item->seq : 0;
}

static int
tnode_cmp(const void *pa, const void *pb)
{
	const struct tnode *a = *(struct tnode *const *)pa, *b = *(struct tnode *const *)pb;
	int r = cmp_num(tnode_date(a), tnode_date(b));

	return r != 0 ? r : cmp_num(tnode_seq(a), tnode_seq(b));
}

/* Sort a sibling list by sent date (RFC 5256 3 (5), (7)). */
static struct tnode *
sort_siblings(struct tnode *first)
{
	size_t n = 0, i = 0;
	struct tnode **arr, *t;

	for (t = first; t != NULL; t = t->next)
		n++;
	if (n < 2)
		return first;
	arr = mem_array(n, sizeof(*arr));
	for (t = first; t != NULL; t = t->next)
		arr[i++] = t;
	qsort(arr, n, sizeof(*arr), tnode_cmp);
	for (i = 0; i + 1 < n; i++)
		arr[i]->next = arr[i + 1];
	arr[n - 1]->next = NULL;
	first = arr[0];
	mem_free(&arr);
	return first;
}

static void
tnode_unlink(struct tnode *c)
{
	struct tnode **pp;

	if (c->parent == NULL)
		return;
	for (pp = &c->parent->child; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	c->parent = NULL;
	c->next = NULL;
}

/* Append c (no parent) to p's children. */
static void
tnode_add_child(struct tnode *p, struct tnode *c)
{
	struct tnode **pp = &p->child;

	while (*pp != NULL)
		pp = &(*pp)->next;
	*pp = c;
	c->parent = p;
	c->next = NULL;
}

/* Is a an ancestor of b, or b itself? */
static bool
tnode_ancestor(const struct tnode *a, const struct tnode *b)
{
	for (; b != NULL; b = b->parent) {
		if (a == b)
			return true;
	}
	return false;
}

/* A string-keyed open-addressing table of containers. */
struct ttable {
	struct tnode **slots;
	const char **keys;
	size_t mask;
};

static void
ttable_init(struct ttable *t, size_t n)
{
	size_t size = 16;

	while (size < n * 2)
		size = mem_size_mul(size, 2);
	t->slots = mem_array(size, sizeof(*t->slots));
	t->keys = mem_array(size, sizeof(*t->keys));
	t->mask = size - 1;
}

static void
ttable_deinit(struct ttable *t)
{
	mem_free(&t->slots);
	mem_free(&t->keys);
}

/* The slot of key: holding it, or empty. */
static size_t
ttable_slot(const struct ttable *t, const char *key)
{
	uint64_t h = 1469598103934665603ull;

	for (const char *p = key; *p != '\0'; p++)
		h = (h ^ (uint8_t)*p) * 1099511628211ull;
	for (size_t i = (size_t)h & t->mask;; i = (i + 1) & t->mask) {
		if (t->keys[i] == NULL || strcmp(t->keys[i], key) == 0)
			return i;
	}
}

/* The container of id, created (a dummy) when new. */
static struct tnode *
id_container(struct forest *f, struct ttable *ids, const char *id)
{
	size_t slot = ttable_slot(ids, id);

	if (ids->keys[slot] == NULL) {
		struct tnode *c = tnode_new(f);

		c->id = id;
		ids->keys[slot] = id;
		ids->slots[slot] = c;
	}
	return ids->slots[slot];
}

/* RFC 5256 3 (1): containers linked by Message-ID and References. The
 * items' reference strings are cut into NUL-separated ids in place. */
static void
link_references(struct forest *f, struct imap_sort_item *items, size_t count)
{
	struct ttable ids;
	size_t n_refs = 0;

	for (size_t i = 0; i < count; i++) {
		char *p = items[i].references;

		if (p == NULL)
			continue;
		n_refs++;
		for (; *p != '\0'; p++)
			n_refs += *p == ' ';
	}
	/* messages, referenced ids, and the dummies subject merging adds */
	f->cap = mem_size_add(mem_size_add(mem_size_mul(count, 2), n_refs), 1);
	f->nodes = mem_array(f->cap, sizeof(*f->nodes));
	ttable_init(&ids, count + n_refs);
	for (size_t i = 0; i < count; i++) {
		struct imap_sort_item *it = &items[i];
		struct tnode *me = NULL, *prev = NULL;
		char *p = it->references, *end;

		if (it->message_id != NULL) {
			me = id_container(f, &ids, it->message_id);
			if (me->item != NULL)
				me = NULL; /* a duplicate Message-ID: a container of its own */
		}
		if (me == NULL)
			me = tnode_new(f);
		me->item = it;
		/* (A) link each reference to the one before it, unless linked
		 * already or that would make a loop */
		while (p != NULL && *p != '\0') {
			struct tnode *c;

			end = p + strcspn(p, " ");
			if (*end != '\0')
				*end++ = '\0';
			c = id_container(f, &ids, p);
			if (prev != NULL && c->parent == NULL && !tnode_ancestor(c, prev))
				tnode_add_child(prev, c);
			prev = c;
			p = end;
		}
		/* (B) the message's own References win: a parent linked from
		 * other messages' References goes, and the message becomes a
		 * child of its last reference, unless that would make a loop
		 * (then it stays a root: RFC 5256 3 (1)(B)) */
		tnode_unlink(me);
		if (prev != NULL && !tnode_ancestor(me, prev))
			tnode_add_child(prev, me);
	}
	ttable_deinit(&ids);
}

/* RFC 5256 3 (2), (4): the root set without empty containers; dummies are
 * replaced by their children except at the top with more than one child.
 * Bottom-up over a post-order walk, without recursion. */
static void
prune(struct forest *f)
{
	struct tnode **order = mem_array(f->n_nodes + 1, sizeof(*order));
	struct tnode **stack = mem_array(f->n_nodes + 1, sizeof(*stack));
	struct tnode *roots = NULL, **tail = &roots;
	size_t n_order = 0, sp = 0;

	for (size_t i = 0; i < f->n_nodes; i++) {
		if (f->nodes[i].parent == NULL)
			stack[sp++] = &f->nodes[i];
	}
	while (sp > 0) {
		struct tnode *t = stack[--sp];

		order[n_order++] = t;
		for (struct tnode *c = t->child; c != NULL; c = c->next)
			stack[sp++] = c;
	}
	/* children come after their parent in order: walk it backwards */
	for (size_t k = n_order; k-- > 0;) {
		struct tnode *t = order[k], *kids = t->child, *list = NULL, **lt = &list;

		while (kids != NULL) {
			struct tnode *c = kids;

			kids = kids->next;
			c->next = NULL;
			if (c->item == NULL && c->child == NULL)
				continue;
			if (c->item == NULL) {
				/* splice the dummy's children here */
				struct tnode *g = c->child;

				*lt = g;
				for (; g != NULL; g = g->next) {
					g->parent = t;
					lt = &g->next;
				}
				c->child = NULL;
				continue;
			}
			*lt = c;
			lt = &c->next;
		}
		t->child = list;
		if (t->parent != NULL)
			continue;
		/* top level */
		if (t->item == NULL && t->child == NULL)
			continue;
		if (t->item == NULL && t->child->next == NULL) {
			struct tnode *only = t->child;

			only->parent = NULL;
			t->child = NULL;
			*tail = only;
			tail = &only->next;
			continue;
		}
		*tail = t;
		tail = &t->next;
	}
	*tail = NULL;
	f->roots = roots;
	mem_free(&order);
	mem_free(&stack);
}

/* Sort every sibling list (children before parents), then the roots. */
static void
sort_all(struct forest *f)
{
	struct tnode **order = mem_array(f->n_nodes + 1, sizeof(*order));
	struct tnode **stack = mem_array(f->n_nodes + 1, sizeof(*stack));
	size_t n_order = 0, sp = 0;

	for (struct tnode *r = f->roots; r != NULL; r = r->next)
		stack[sp++] = r;
	while (sp > 0) {
		struct tnode *t = stack[--sp];

		order[n_order++] = t;
		for (struct tnode *c = t->child; c != NULL; c = c->next)
			stack[sp++] = c;
	}
	for (size_t k = n_order; k-- > 0;)
		order[k]->child = sort_siblings(order[k]->child);
	f->roots = sort_siblings(f->roots);
	mem_free(&order);
	mem_free(&stack);
}

static const char *
tnode_subject(const struct tnode *t)
{
	while (t->item == NULL && t->child != NULL)
		t = t->child;
	return t->item != NULL && t->item->str[IMAP_SORT_STR_SUBJECT] != NULL
	               ? t->item->str[IMAP_SORT_STR_SUBJECT]
	               : "";
}

/* RFC 5256 3 (6): merge top-level threads with the same base subject. */
static void
merge_subjects(struct forest *f)
{
	struct ttable subj;
	size_t n = 0;
	struct tnode **roots, *list = NULL, **lt = &list;

	for (struct tnode *r = f->roots; r != NULL; r = r->next)
		n++;
	if (n == 0)
		return;
	roots = mem_array(n, sizeof(*roots));
	n = 0;
	for (struct tnode *r = f->roots; r != NULL; r = r->next)
		roots[n++] = r;
	ttable_init(&subj, n);
	/* (B) the table: a dummy beats a message, a non-reply beats a reply */
	for (size_t i = 0; i < n; i++) {
		const char *s = tnode_subject(roots[i]);
		size_t slot;
		struct tnode *old;

		if (*s == '\0')
			continue;
		slot = ttable_slot(&subj, s);
		old = subj.keys[slot] != NULL ? subj.slots[slot] : NULL;
		if (old == NULL || (roots[i]->item == NULL && old->item != NULL) ||
		    (old->item != NULL && old->item->subject_reply && roots[i]->item != NULL &&
		     !roots[i]->item->subject_reply)) {
			subj.keys[slot] = s;
			subj.slots[slot] = roots[i];
		}
	}
	/* (C) merge each other thread into the table's */
	for (size_t i = 0; i < n; i++) {
		struct tnode *r = roots[i], *t;
		const char *s = tnode_subject(r);
		size_t slot;

		r->next = NULL;
		if (*s == '\0' || r->parent != NULL)
			continue;
		slot = ttable_slot(&subj, s);
		t = subj.slots[slot];
		if (t == r)
			continue;
		if (t->item == NULL && r->item == NULL) {
			struct tnode *c = r->child;

			while (c != NULL) {
				struct tnode *next = c->next;

				c->parent = NULL;
				tnode_add_child(t, c);
				c = next;
			}
			r->child = NULL;
		} else if (t->item == NULL) {
			tnode_add_child(t, r);
		} else if (r->item == NULL) {
			/* cannot happen after (B); keep r as the table's */
			subj.slots[slot] = r;
			tnode_add_child(r, t);
			continue;
		} else if (!t->item->subject_reply && r->item->subject_reply) {
			tnode_add_child(t, r);
		} else {
			struct tnode *d = tnode_new(f);

			/* the dummy takes t's place among the roots */
			for (size_t k = 0; k < n; k++) {
				if (roots[k] == t)
					roots[k] = d;
			}
			tnode_add_child(d, t);
			tnode_add_child(d, r);
			subj.slots[slot] = d;
		}
		roots[i] = NULL; /* merged */
	}
	for (size_t i = 0; i < n; i++) {
		if (roots[i] == NULL || roots[i]->parent != NULL)
			continue;
		*lt = roots[i];
		lt = &roots[i]->next;
	}
	*lt = NULL;
	f->roots = list;
	ttable_deinit(&subj);
	mem_free(&roots);
}

/* ORDEREDSUBJECT (RFC 5256 3): by base subject, then sent date; each
 * subject's first message is the parent of the others. */
static void
build_orderedsubject(struct forest *f, struct imap_sort_item *items, size_t count)
{
	struct imap_search_program prog;
	struct tnode *parent = NULL, **tail = &f->roots;

	memset(&prog, 0, sizeof(prog));
	prog.sort[0].key = SORT_SUBJECT;
	prog.sort[1].key = SORT_DATE;
	prog.n_sort = 2;
	imap_sort_items(&prog, items, count);
	f->cap = count + 1;
	f->nodes = mem_array(f->cap, sizeof(*f->nodes));
	for (size_t i = 0; i < count; i++) {
		struct tnode *t = tnode_new(f);

		t->item = &items[i];
		if (parent != NULL && cmp_str(parent->item->str[IMAP_SORT_STR_SUBJECT],
		                              items[i].str[IMAP_SORT_STR_SUBJECT]) == 0) {
			tnode_add_child(parent, t);
			continue;
		}
		parent = t;
		*tail = t;
		tail = &t->next;
	}
	f->roots = sort_siblings(f->roots);
}

/* RFC 5256 4: thread-list rendering, without recursion. */
static void
render(const struct tnode *roots, bool uid, struct buf *out)
{
	enum { OPEN, CLOSE, MEMBERS };
	struct entry {
		const struct tnode *t;
		int what;
	} * stack;
	size_t sp = 0, cap = 64;

	stack = mem_array(cap, sizeof(*stack));
	for (const struct tnode *r = roots; r != NULL; r = r->next) {
		stack[sp++] = (struct entry){r, MEMBERS};
		(void)buf_append_byte(out, '(');
		while (sp > 0) {
			struct entry e = stack[--sp];
			const struct tnode *t = e.t;
			bool wrote = false;

			if (e.what == OPEN) {
				(void)buf_append_byte(out, '(');
				continue;
			}
			if (e.what == CLOSE) {
				(void)buf_append_byte(out, ')');
				continue;
			}
			for (;;) {
				size_t kids = 0;

				if (t->item != NULL) {
					if (wrote)
						(void)buf_append_byte(out, ' ');
					(void)buf_printf(out, "%u",
					                 uid ? t->item->uid : t->item->seq);
					wrote = true;
				}
				for (const struct tnode *c = t->child; c != NULL; c = c->next)
					kids++;
				if (kids == 1) {
					t = t->child;
					continue;
				}
				if (kids == 0)
					break;
				if (wrote)
					(void)buf_append_byte(out, ' ');
				if (sp + kids * 3 > cap) {
					cap = mem_size_mul(sp + kids * 3, 2);
					stack = mem_realloc(stack,
					                    mem_size_mul(cap, sizeof(*stack)));
				}
				/* pushed in reverse: popped as (c1)(c2)... */
				const struct tnode **arr = mem_array(kids, sizeof(*arr));
				size_t k = 0;

				for (const struct tnode *c = t->child; c != NULL; c = c->next)
					arr[k++] = c;
				while (k-- > 0) {
					stack[sp++] = (struct entry){NULL, CLOSE};
					stack[sp++] = (struct entry){arr[k], MEMBERS};
					stack[sp++] = (struct entry){NULL, OPEN};
				}
				mem_free(&arr);
				break;
			}
		}
		(void)buf_append_byte(out, ')');
	}
	mem_free(&stack);
}

void
imap_thread_render(const struct imap_search_program *prog, struct imap_sort_item *items,
                   size_t count, bool uid, struct buf *out)
{
	struct forest f;

	memset(&f, 0, sizeof(f));
	if (count == 0)
		return;
	if (prog->thread == IMAP_THREAD_ORDEREDSUBJECT) {
		build_orderedsubject(&f, items, count);
	} else {
		/* (1)-(4) link and prune, (5) sort the top level (with each
		 * dummy's children first), (6) merge by subject, (7) sort all */
		link_references(&f, items, count);
		prune(&f);
		sort_all(&f);
		merge_subjects(&f);
		sort_all(&f);
	}
	render(f.roots, uid, out);
	mem_free(&f.nodes);
}
