/*
 * imap-seqset.h - IMAP sequence sets (RFC 9051 9 sequence-set).
 *
 * What it does: parses "1:5,7,9:*", "*" and "$" (RFC 5182 SEARCHRES) into a
 * sorted list of disjoint, non-adjacent ranges ("4:2" is "2:4"; overlapping
 * and adjacent ranges merge). "*" is either resolved against a maximum the
 * caller gives (the message count, or the highest UID) or kept symbolic as
 * IMAP_SEQ_STAR, which sorts above every number. Also builds sets from
 * ranges, tests membership, counts, iterates and formats them back.
 *
 * What it does not do: know whether the numbers are sequence numbers or
 * UIDs, or which messages exist; "$" is only reported (searchres), the
 * engine substitutes its saved result.
 *
 * Invariants: ranges[i].first <= ranges[i].last, and ranges[i].last + 1 <
 * ranges[i+1].first; no range holds 0; memory is bounded by max_ranges.
 */
#ifndef IMAP_SEQSET_H
#define IMAP_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* "*" kept symbolic (IMAP_SEQSET_KEEP_STAR). */
#define IMAP_SEQ_STAR UINT32_MAX
/* Default bound on the ranges of one set as written by the client. */
#define IMAP_SEQSET_DEFAULT_MAX_RANGES 10000

struct imap_seq_range {
	uint32_t first, last;
};

struct imap_seqset {
	struct imap_seq_range *ranges;
	unsigned count, cap;
	bool searchres;         /* the text was "$" (RFC 5182 2.1); no ranges */
	bool star_kept;         /* parsed with IMAP_SEQSET_KEEP_STAR: IMAP_SEQ_STAR is "*" */
};

enum imap_seqset_flags {
	/* Keep "*" as IMAP_SEQ_STAR instead of resolving it. */
	IMAP_SEQSET_KEEP_STAR = 0x01,
	/* Accept "$" (only once SEARCHRES applies to the session). */
	IMAP_SEQSET_ALLOW_DOLLAR = 0x02,
};

void imap_seqset_init(struct imap_seqset *set);
void imap_seqset_deinit(struct imap_seqset *set);
/* Empty the set (keeps its memory). */
void imap_seqset_clear(struct imap_seqset *set);

/*
 * Parse text[0..len) into set (emptied first). star is what "*" stands for
 * unless IMAP_SEQSET_KEEP_STAR; star == 0 (an empty mailbox) makes "*"
 * stand for nothing: "*" alone adds no range and "n:*" becomes "1:n" (a UID
 * range "n:*" always holds the highest UID, RFC 9051 6.4.8). Numbers are
 * nz-number (1 .. 2^32-1); more than max_ranges comma-separated elements
 * are refused. Returns 1 ok, -1 syntax or limit error (*error_r static text;
 * the set is then empty).
 */
int imap_seqset_parse(const char *text, size_t len, uint32_t star, unsigned flags,
		      unsigned max_ranges, struct imap_seqset *set, const char **error_r);

/* Add first:last (either order, neither 0) and keep the invariants. */
void imap_seqset_add(struct imap_seqset *set, uint32_t first, uint32_t last);

bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n);
/* Number of values in the set (IMAP_SEQ_STAR counts as one value). */
uint64_t imap_seqset_count(const struct imap_seqset *set);

/* Append the set in canonical form ("1:5,7,9:*"; "" when empty). IMAP_SEQ_STAR
 * is written "*" when star_kept, else as a number. In KEEP_STAR mode the
 * number 4294967295 and "*" are the same value. */
void imap_seqset_format(const struct imap_seqset *set, struct buf *out);

/* Iteration over every value in ascending order:
 *   struct imap_seqset_iter it; uint32_t n;
 *   imap_seqset_iter_init(&it, set); while (imap_seqset_iter_next(&it, &n)) ...
 * The set must not change during the iteration. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	unsigned idx;
	uint64_t next;
};

void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set);
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *n_r);

#endif
