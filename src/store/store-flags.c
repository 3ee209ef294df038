/*
 * store-flags.c - message flags and keywords as every backend applies them.
 *
 * Keywords are kept per message as one string of space-separated atoms, in
 * the order they were first set, without duplicates. Keywords compare
 * case-insensitively (RFC 9051 2.3.2); the first spelling set is kept.
 *
 * Does not: know which keywords a mailbox has ever seen (IMAP PERMANENTFLAGS
 * and the FLAGS response are the IMAP layer's business for now).
 */
#include "store/store-private.h"

#include "core/buf.h"
#include "core/mem.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Counted views of the keywords of one string. */
struct keyword_list {
	const char *p[STORE_KEYWORDS_MAX];
	size_t len[STORE_KEYWORDS_MAX];
	size_t n;
};

/* RFC 9051 9: atom-char is any CHAR except atom-specials
 * ( "(" / ")" / "{" / SP / CTL / "%" / "*" / DQUOTE / "\" / "]" ). */
static bool
atom_char(char c)
{
	return c > 0x20 && c < 0x7f && strchr("(){%*\"\\]", c) == NULL;
}

static bool
keyword_list_has(const struct keyword_list *l, const char *p, size_t len)
{
	for (size_t i = 0; i < l->n; i++) {
		if (l->len[i] == len && strncasecmp(l->p[i], p, len) == 0)
			return true;
	}
	return false;
}

/* Split s into l; with dedup, repeated keywords are kept once. -1 when more
 * than STORE_KEYWORDS_MAX distinct keywords. */
static int
keyword_list_split(const char *s, bool dedup, struct keyword_list *l)
{
	l->n = 0;
	while (s != NULL && *s != '\0') {
		size_t len;

		while (*s == ' ')
			s++;
		len = strcspn(s, " ");
		if (len == 0)
			break;
		if (!dedup || !keyword_list_has(l, s, len)) {
			if (l->n == STORE_KEYWORDS_MAX)
				return -1;
			l->p[l->n] = s;
			l->len[l->n++] = len;
		}
		s += len;
	}
	return 0;
}

int
store_keywords_check(const char *keywords, const char **error_r)
{
	struct keyword_list l;

	if (keyword_list_split(keywords, true, &l) < 0) {
		*error_r = "too many keywords";
		return -1;
	}
	for (size_t i = 0; i < l.n; i++) {
		if (l.len[i] > STORE_KEYWORD_MAX) {
			*error_r = "keyword is longer than 100 octets";
			return -1;
		}
		for (size_t k = 0; k < l.len[i]; k++) {
			if (!atom_char(l.p[i][k])) {
				*error_r = "keyword is not an atom (system flags are bits)";
				return -1;
			}
		}
	}
	return 0;
}

static char *
keyword_list_join(const struct keyword_list *l)
{
	struct buf b;

	if (l->n == 0)
		return NULL;
	buf_init(&b, 0);
	for (size_t i = 0; i < l->n; i++) {
		if (i > 0)
			(void)buf_append_byte(&b, ' ');
		(void)buf_append(&b, l->p[i], l->len[i]);
	}
	return buf_steal_str(&b);
}

int
store_keywords_apply(const char *old, const struct store_flag_change *change, char **new_r,
		     const char **error_r)
{
	struct keyword_list cur, chg, out;

	*new_r = NULL;
	/* Both were checked on the way in (or written by this function). */
	if (keyword_list_split(old, true, &cur) < 0 ||
	    keyword_list_split(change->keywords, true, &chg) < 0) {
		*error_r = "too many keywords";
		return -1;
	}
	out.n = 0;
	if (change->mode == STORE_FLAGS_REPLACE) {
		out = chg;
	} else {
		for (size_t i = 0; i < cur.n; i++) {
			if (change->mode == STORE_FLAGS_REMOVE &&
			    keyword_list_has(&chg, cur.p[i], cur.len[i]))
				continue;
			out.p[out.n] = cur.p[i];
			out.len[out.n++] = cur.len[i];
		}
		for (size_t i = 0; change->mode == STORE_FLAGS_ADD && i < chg.n; i++) {
			if (keyword_list_has(&out, chg.p[i], chg.len[i]))
				continue;
			if (out.n == STORE_KEYWORDS_MAX) {
				*error_r = "a message can have at most 64 keywords";
				return -1;
			}
			out.p[out.n] = chg.p[i];
			out.len[out.n++] = chg.len[i];
		}
	}
	*new_r = keyword_list_join(&out);
	return 0;
}

char *
store_keywords_normalize(const char *keywords)
{
	struct keyword_list l;

	/* Checked on the way in: at most STORE_KEYWORDS_MAX distinct ones. */
	if (keyword_list_split(keywords, true, &l) < 0)
		PANIC("unchecked keywords");
	return keyword_list_join(&l);
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

size_t
store_uids_sort_unique(uint32_t *uids, size_t count)
{
	size_t n = 0;

	if (count == 0)
		return 0;
	qsort(uids, count, sizeof(*uids), uid_cmp);
	for (size_t i = 1; i < count; i++) {
		if (uids[i] != uids[n])
			uids[++n] = uids[i];
	}
	return n + 1;
}

unsigned
store_flags_apply(unsigned old, const struct store_flag_change *change)
{
	switch (change->mode) {
	case STORE_FLAGS_ADD:
		return old | change->flags;
	case STORE_FLAGS_REMOVE:
		return old & ~change->flags;
	case STORE_FLAGS_REPLACE:
		return change->flags;
	}
	PANIC("bad flag mode %d", (int)change->mode);
}
