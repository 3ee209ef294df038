/*
 * imap-search.h - SEARCH, SORT and THREAD programs: parsed from the IMAP
 * argument tree, matched against one message at a time, and (imap-sort.c)
 * the SORT order and THREAD tree of the matches.
 *
 * What it does:
 *  - parses search criteria (RFC 9051 6.4.4, RFC 3501 6.4.4) from the
 *    parser's argument tree: CHARSET, every search key of IMAP4rev1 and
 *    IMAP4rev2, parenthesised groups, sequence and UID sets with "*" and
 *    "$" (RFC 5182), MODSEQ (RFC 7162 3.1.5), OLDER/YOUNGER (RFC 5032),
 *    SAVEDBEFORE/SAVEDON/SAVEDSINCE/SAVEDATESUPPORTED (RFC 8514),
 *    EMAILID/THREADID (RFC 8474); SORT criteria (RFC 5256 3, RFC 5957
 *    DISPLAYFROM/DISPLAYTO) and THREAD algorithms (ORDEREDSUBJECT,
 *    REFERENCES);
 *  - matches a program against a struct imap_message: strings compare as a
 *    case-insensitive substring after simple Unicode case folding (ASCII,
 *    Latin-1, Latin Extended-A, Greek, Cyrillic; other text unchanged),
 *    header values after RFC 2047 decoding, BODY/TEXT in the text parts
 *    after their transfer encoding (RFC 2045 6.7, 6.8) and charset (UTF-8,
 *    US-ASCII, ISO-8859-1/Windows-1252 built in, others through iconv(3)).
 *
 * What it does not do: I/O, knowing which messages exist (the caller
 * passes the view size and the saved result at parse time), full
 * i;unicode-casemap (no normalisation of decomposed characters), fuzzy
 * search.
 *
 * Invariants: pure (no I/O, no globals); a program is immutable once
 * parsed and may be matched from several threads at once; nesting and size
 * are bounded by struct imap_search_limits; matching a message allocates
 * only in proportion to that message.
 */
#ifndef IMAP_IMAP_SEARCH_H
#define IMAP_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap-message.h"
#include "imap/imap-parser.h"

/* Bounds on a program: the parser's own limits already bound the argument
 * tree; these keep the evaluation small. */
#define IMAP_SEARCH_DEFAULT_MAX_DEPTH  32
#define IMAP_SEARCH_DEFAULT_MAX_KEYS   1000
#define IMAP_SEARCH_DEFAULT_MAX_STRING 4096

/* The CHARSETs accepted, as NO [BADCHARSET (...)] lists them. */
#define IMAP_SEARCH_CHARSETS "UTF-8 US-ASCII"

enum imap_search_kind {
	IMAP_SEARCH_KIND_SEARCH = 0,
	IMAP_SEARCH_KIND_SORT,
	IMAP_SEARCH_KIND_THREAD,
};

enum imap_thread_algorithm {
	IMAP_THREAD_ORDEREDSUBJECT = 1, /* RFC 5256 3 */
	IMAP_THREAD_REFERENCES,         /* RFC 5256 3 */
};

/* What the parser needs to know of the session and the view. */
struct imap_search_params {
	uint32_t count;        /* messages in the view: "*" of sequence sets */
	uint32_t max_uid;      /* highest UID in the view: "*" of UID sets (0 empty) */
	const uint32_t *saved; /* "$" (RFC 5182): UIDs, ascending; may be NULL */
	size_t saved_count;
	unsigned max_depth; /* 0 = IMAP_SEARCH_DEFAULT_MAX_DEPTH */
	unsigned max_keys;  /* 0 = IMAP_SEARCH_DEFAULT_MAX_KEYS */
};

struct imap_search_program;

/*
 * Parse "[CHARSET name] criteria" (args[0..count)): SEARCH's arguments
 * after any RETURN options. Returns 1 with *prog_r (free with
 * imap_search_program_free); -1 syntax or limit error (*error_r static
 * text: answer BAD); 0 unknown charset (answer NO [BADCHARSET (UTF-8
 * US-ASCII)], RFC 9051 6.4.4). *prog_r is NULL unless 1.
 */
int imap_search_parse(const struct imap_arg *args, unsigned count,
                      const struct imap_search_params *params, struct imap_search_program **prog_r,
                      const char **error_r);
/* SORT's arguments (RFC 5256 3): "(sort-criteria) charset criteria". Same
 * contract. */
int imap_sort_parse(const struct imap_arg *args, unsigned count,
                    const struct imap_search_params *params, struct imap_search_program **prog_r,
                    const char **error_r);
/* THREAD's arguments (RFC 5256 3): "algorithm charset criteria". Same
 * contract; an unknown algorithm is a syntax error (BAD). */
int imap_thread_parse(const struct imap_arg *args, unsigned count,
                      const struct imap_search_params *params, struct imap_search_program **prog_r,
                      const char **error_r);

/* Programs are reference-counted so that a worker may go on reading one
 * after the session that parsed it went away: _ref adds a reference
 * (returns prog), _free drops one and sets *prog to NULL. Both on one
 * thread (the event loop); matching may run on any. */
struct imap_search_program *imap_search_program_ref(const struct imap_search_program *prog);
void imap_search_program_free(struct imap_search_program **prog);

enum imap_search_kind imap_search_program_kind(const struct imap_search_program *prog);
/* Does the program (criteria, sort keys, threading) read the message's
 * header or body? When false the caller may leave msg->data NULL. */
bool imap_search_needs_content(const struct imap_search_program *prog);
/* Did the criteria use MODSEQ (RFC 7162 3.1.5: the response then carries
 * "(MODSEQ n)")? */
bool imap_search_uses_modseq(const struct imap_search_program *prog);

/*
 * Does msg match the criteria? msg->seq must be its sequence number in the
 * view the program was parsed for; now (seconds since the epoch) is for
 * OLDER/YOUNGER. msg->data must be set when imap_search_needs_content().
 * The MIME tree may be cached in msg (imap_message_mime()).
 */
bool imap_search_match(const struct imap_search_program *prog, struct imap_message *msg,
                       int64_t now);

/* ---- imap-sort.c: SORT and THREAD over the matching messages ---- */

enum imap_sort_string {
	IMAP_SORT_STR_CC = 0,
	IMAP_SORT_STR_FROM,
	IMAP_SORT_STR_TO,
	IMAP_SORT_STR_SUBJECT, /* the base subject (RFC 5256 2.1), case-folded */
	IMAP_SORT_STR_DISPLAYFROM,
	IMAP_SORT_STR_DISPLAYTO,
	IMAP_SORT_STR_COUNT
};

/*
 * What SORT and THREAD keep of one matching message once its body is gone:
 * filled by imap_sort_item_init() (only what the program needs), released
 * by imap_sort_item_deinit(). Strings are allocated and NUL-terminated,
 * NULL when unused.
 */
struct imap_sort_item {
	uint32_t uid, seq;
	uint64_t size;
	int64_t arrival; /* INTERNALDATE */
	int64_t date;    /* sent date (Date:), else INTERNALDATE (RFC 5256 2.2) */
	char *str[IMAP_SORT_STR_COUNT];
	bool subject_reply; /* the subject had Re:/Fwd: (RFC 5256 2.1, 3) */
	char *message_id;   /* without "<>", NULL when none */
	char *references;   /* msg-ids of References (else In-Reply-To), space-separated */
};

void imap_sort_item_init(const struct imap_search_program *prog, struct imap_message *msg,
                         struct imap_sort_item *item);
void imap_sort_item_deinit(struct imap_sort_item *item);

/* SORT: order items[0..count) by the program's sort criteria, ties by
 * sequence number (RFC 5256 3). */
void imap_sort_items(const struct imap_search_program *prog, struct imap_sort_item *items,
                     size_t count);

/* THREAD: append the thread-list data (RFC 5256 4, what follows "THREAD ")
 * of items[0..count), numbered by UID (uid) or sequence number. items may
 * be reordered. */
void imap_thread_render(const struct imap_search_program *prog, struct imap_sort_item *items,
                        size_t count, bool uid, struct buf *out);

/*
 * The base subject of RFC 5256 2.1 of a raw Subject value (RFC 2047 words
 * decoded, white space collapsed, Re:/Fwd:/[blob] leaders, (fwd) trailers
 * and [fwd: ...] wrappers removed, case-folded). Appends it to out; returns
 * true when the subject indicated a reply or forward.
 */
bool imap_sort_base_subject(const char *subject, size_t len, struct buf *out);

#endif
