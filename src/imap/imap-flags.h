/*
 * imap-flags.h - message flags as IMAP names them (RFC 9051 2.3.2): the
 * system flags' names, and keyword sets, the space-separated lists of
 * flag-keywords (RFC 9051 9) that struct imap_message carries and that make
 * up a mailbox's FLAGS and PERMANENTFLAGS (RFC 9051 7.1, 7.3.5).
 *
 * What it does: one table of the system flags (IMAP_FLAG_* of imap-server.h,
 * \Recent included) in the order responses list them, and the lookup of a
 * name; tells whether a set holds a keyword, keywords compared ignoring
 * ASCII case (RFC 9051 2.3.2); adds the keywords of one list to a set, each
 * once, in the order first seen and with the case first seen; tells whether
 * a word is an atom, which the flag parser requires and which the FLAGS
 * writers check again before sending.
 *
 * What it does not do: decide which flags a command may set (\Recent, the
 * rights of RFC 4314: the engine does), limit the length or number of
 * keywords (the engine's flag parser does), or write responses.
 *
 * Invariants: pure (no I/O, no globals but the constant table); a set never
 * holds two keywords that compare equal, nor empty words; words are
 * separated by one space.
 */
#ifndef IMAP_IMAP_FLAGS_H
#define IMAP_IMAP_FLAGS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/buf.h"

/*
 * The i-th system flag in response order: \Answered \Flagged \Deleted \Seen
 * \Draft, then \Recent. Returns its name (static) with its IMAP_FLAG_* bit
 * in *bit_r, or NULL when i is past the last.
 */
const char *imap_flag_at(size_t i, unsigned *bit_r);

/* The IMAP_FLAG_* bit of the system flag name ("\Seen", any case; "\Recent"
 * included), or 0 when name is no system flag. */
unsigned imap_flag_from_name(const char *name);

/* Is kw[0..len) a keyword of the space-separated list set (NULL = none)?
 * ASCII case-insensitive. */
bool imap_keywords_has(const char *set, const char *kw, size_t len);

/* Is kw[0..len) an atom (RFC 9051 9: one or more ATOM-CHAR: no control
 * character, space, DEL, 8-bit octet, nor any of ( ) { % * " \ ]), so that
 * it may stand as a flag? */
bool imap_keyword_valid(const char *kw, size_t len);

/*
 * Append to set each keyword of the space-separated list kw (NULL = none)
 * that set does not hold yet. Returns true when one or more were added. A
 * keyword that would take set over its maximum is not added (set keeps what
 * it had).
 */
bool imap_keywords_add(struct buf *set, const char *kw);

/*
 * The same for a set held as an allocated string: *set (never NULL; the
 * caller owns it, core/mem.h) is replaced by the union when kw added a
 * keyword, and left alone otherwise. Returns true when it changed.
 */
bool imap_keywords_merge(char **set, const char *kw);

#endif
