/*
 * imap-seqset.c - sequence sets, see imap-seqset.h.
 *
 * Parsing collects the client's ranges as written (each one ordered, "*"
 * resolved or kept), then sorts and merges them once. RFC 9051 9:
 *   sequence-set = (seq-number / seq-range) ["," sequence-set]
 *   seq-range    = seq-number ":" seq-number
 *   seq-number   = nz-number / "*"
 *   nz-number    = digit-nz *DIGIT   ; 1 .. 2^32-1, no leading zero
 * and "$" alone for SEARCHRES (RFC 5182 2.1).
 */
#include "imap/imap-seqset.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

void
imap_seqset_init(struct imap_seqset *set)
{
	memset(set, 0, sizeof(*set));
}

void
imap_seqset_deinit(struct imap_seqset *set)
{
	mem_free(&set->ranges);
	memset(set, 0, sizeof(*set));
}

void
imap_seqset_clear(struct imap_seqset *set)
{
	set->count = 0;
	set->searchres = false;
	set->star_kept = false;
}

static void
append_raw(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	if (set->count == set->cap) {
		set->cap = set->cap == 0 ? 8 : set->cap * 2;
		set->ranges = mem_realloc(set->ranges,
					  mem_size_mul(set->cap, sizeof(*set->ranges)));
	}
	set->ranges[set->count].first = first < last ? first : last;
	set->ranges[set->count].last = first < last ? last : first;
	set->count++;
}

static int
range_cmp(const void *a, const void *b)
{
	const struct imap_seq_range *x = a, *y = b;

	return x->first < y->first ? -1 : x->first > y->first ? 1 : 0;
}

/* Sort, then merge overlapping and adjacent ranges. */
static void
normalize(struct imap_seqset *set)
{
	unsigned out = 0;

	if (set->count < 2)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), range_cmp);
	for (unsigned i = 1; i < set->count; i++) {
		struct imap_seq_range *cur = &set->ranges[out];
		const struct imap_seq_range *r = &set->ranges[i];

		if ((uint64_t)r->first <= (uint64_t)cur->last + 1) {
			if (r->last > cur->last)
				cur->last = r->last;
		} else {
			set->ranges[++out] = *r;
		}
	}
	set->count = out + 1;
}

void
imap_seqset_add(struct imap_seqset *set, uint32_t first, uint32_t last)
{
	ASSERT(first != 0 && last != 0);
	append_raw(set, first, last);
	normalize(set);
}

/* One seq-number at text[*pos]; *n_r is 0 for "*". Returns false on bad syntax. */
static bool
parse_number(const char *text, size_t len, size_t *pos, uint32_t *n_r)
{
	uint64_t n = 0;
	size_t i = *pos;

	if (i < len && text[i] == '*') {
		*pos = i + 1;
		*n_r = 0;
		return true;
	}
	if (i >= len || text[i] < '1' || text[i] > '9')
		return false;
	for (; i < len && text[i] >= '0' && text[i] <= '9'; i++) {
		n = n * 10 + (uint64_t)(text[i] - '0');
		if (n > UINT32_MAX)
			return false;
	}
	*pos = i;
	*n_r = (uint32_t)n;
	return true;
}

/* Add one element; a and b are 0 for "*". */
static void
add_element(struct imap_seqset *set, uint32_t a, uint32_t b, uint32_t star, unsigned flags)
{
	if ((flags & IMAP_SEQSET_KEEP_STAR) != 0)
		star = IMAP_SEQ_STAR;
	a = a == 0 ? star : a;
	b = b == 0 ? star : b;
	if (a == 0 && b == 0)
		return;         /* "*" of an empty mailbox */
	/* "n:*" with star 0: the range reaches down to 1 */
	append_raw(set, a == 0 ? 1 : a, b == 0 ? 1 : b);
}

static int
seqset_fail(struct imap_seqset *set, const char *message, const char **error_r)
{
	imap_seqset_clear(set);
	*error_r = message;
	return -1;
}

int
imap_seqset_parse(const char *text, size_t len, uint32_t star, unsigned flags,
		  unsigned max_ranges, struct imap_seqset *set, const char **error_r)
{
	size_t pos = 0;
	unsigned elements = 0;

	imap_seqset_clear(set);
	set->star_kept = (flags & IMAP_SEQSET_KEEP_STAR) != 0;
	if (len == 1 && text[0] == '$') {
		if ((flags & IMAP_SEQSET_ALLOW_DOLLAR) == 0)
			return seqset_fail(set, "$ not allowed here", error_r);
		set->searchres = true;
		return 1;
	}
	for (;;) {
		uint32_t a, b;

		if (++elements > max_ranges)
			return seqset_fail(set, "Too many ranges in sequence set", error_r);
		if (!parse_number(text, len, &pos, &a))
			return seqset_fail(set, "Invalid sequence set", error_r);
		b = a;
		if (pos < len && text[pos] == ':') {
			pos++;
			if (!parse_number(text, len, &pos, &b))
				return seqset_fail(set, "Invalid sequence set", error_r);
		}
		add_element(set, a, b, star, flags);
		if (pos == len)
			break;
		if (text[pos++] != ',')
			return seqset_fail(set, "Invalid sequence set", error_r);
	}
	normalize(set);
	return 1;
}

bool
imap_seqset_contains(const struct imap_seqset *set, uint32_t n)
{
	unsigned lo = 0, hi = set->count;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (n < set->ranges[mid].first)
			hi = mid;
		else if (n > set->ranges[mid].last)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

uint64_t
imap_seqset_count(const struct imap_seqset *set)
{
	uint64_t total = 0;

	for (unsigned i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].last - set->ranges[i].first + 1;
	return total;
}

static void
format_number(const struct imap_seqset *set, uint32_t n, struct buf *out)
{
	if (n == IMAP_SEQ_STAR && set->star_kept)
		buf_append_byte(out, '*');
	else
		buf_printf(out, "%u", n);
}

void
imap_seqset_format(const struct imap_seqset *set, struct buf *out)
{
	for (unsigned i = 0; i < set->count; i++) {
		const struct imap_seq_range *r = &set->ranges[i];

		if (i > 0)
			buf_append_byte(out, ',');
		format_number(set, r->first, out);
		if (r->last != r->first) {
			buf_append_byte(out, ':');
			format_number(set, r->last, out);
		}
	}
}

void
imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set)
{
	it->set = set;
	it->idx = 0;
	it->next = set->count > 0 ? set->ranges[0].first : 0;
}

bool
imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r)
{
	const struct imap_seqset *set = it->set;

	if (it->idx >= set->count)
		return false;
	*n_r = (uint32_t)it->next;
	if (it->next == set->ranges[it->idx].last) {
		if (++it->idx < set->count)
			it->next = set->ranges[it->idx].first;
	} else {
		it->next++;
	}
	return true;
}
