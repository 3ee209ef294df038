/*
 * imap-search-private.h - what imap-search.c, imap-search-text.c and
 * imap-sort.c share; not for other files.
 *
 * imap-search-text.c  text helpers: case folding, RFC 2047 words, charsets,
 *                     transfer decoding, a message's header fields and the
 *                     text of its body parts
 * imap-search.c       criteria: parse and match
 * imap-sort.c         SORT keys, base subject, THREAD
 */
#ifndef IMAP_IMAP_SEARCH_PRIVATE_H
#define IMAP_IMAP_SEARCH_PRIVATE_H

#include "imap/imap-search.h"

#include "core/buf.h"
#include "mime/mime-parser.h"

/* Search keys (RFC 9051 6.4.4 and the extensions of imap-search.h). */
enum search_key {
	SK_ALL = 1,
	SK_NONE,       /* matches nothing */
	SK_AND,        /* children: all */
	SK_OR,         /* two children */
	SK_NOT,        /* one child */
	SK_FLAG_SET,   /* num: IMAP_FLAG_* bits that must be set */
	SK_FLAG_UNSET, /* num: bits that must be clear */
	SK_KEYWORD,    /* str: keyword (ASCII case-insensitive) */
	SK_UNKEYWORD,
	SK_LARGER, /* num */
	SK_SMALLER,
	SK_SEQSET, /* set: sequence numbers */
	SK_UIDSET, /* set: UIDs */
	SK_BEFORE, /* num: day number (days since 1970-01-01) */
	SK_ON,
	SK_SINCE,
	SK_SENTBEFORE,
	SK_SENTON,
	SK_SENTSINCE,
	SK_SAVEDBEFORE,
	SK_SAVEDON,
	SK_SAVEDSINCE,
	SK_OLDER, /* num: seconds */
	SK_YOUNGER,
	SK_MODSEQ,  /* num: modseq >= */
	SK_EMAILID, /* str: exact */
	SK_THREADID,
	SK_HEADER, /* name: field (lower-case), str: folded needle */
	SK_BODY,   /* str: folded needle */
	SK_TEXT,
};

struct search_node {
	enum search_key key;
	uint64_t num;
	char *name;
	char *str;
	size_t str_len;
	uint32_t *set; /* sorted disjoint ranges as first,last pairs */
	size_t set_pairs;
	struct search_node *children;
	unsigned n_children;
};

enum sort_key {
	SORT_ARRIVAL = 1,
	SORT_CC,
	SORT_DATE,
	SORT_FROM,
	SORT_SIZE,
	SORT_SUBJECT,
	SORT_TO,
	SORT_DISPLAYFROM,
	SORT_DISPLAYTO,
};

#define SORT_MAX_KEYS 16

struct sort_criterion {
	enum sort_key key;
	bool reverse;
};

struct imap_search_program {
	unsigned refcount;
	enum imap_search_kind kind;
	struct search_node root; /* SK_AND of the top-level keys */
	struct sort_criterion sort[SORT_MAX_KEYS];
	unsigned n_sort;
	enum imap_thread_algorithm thread;
	bool needs_content;
	bool uses_modseq;
};

/* ---- imap-search-text.c ---- */

/* Append s[0..len) case-folded (see imap-search.h); bytes that are not
 * UTF-8 are taken as ISO-8859-1. */
void search_fold_append(struct buf *out, const uint8_t *s, size_t len);
/* Append s converted from charset to UTF-8. Returns false (and appends s
 * unchanged) for a charset that cannot be converted. NULL/"" = US-ASCII. */
bool search_charset_to_utf8(const char *charset, const uint8_t *s, size_t len, struct buf *out);
/* Can charset (a CHARSET argument) be converted? */
bool search_charset_known(const char *charset);
/* Append a header value with RFC 2047 encoded words decoded to UTF-8;
 * white space between adjacent words dropped (RFC 2047 6.2). */
void search_decode_2047(const uint8_t *s, size_t len, struct buf *out);
/* Transfer decoding (lenient: junk skipped, never an error). */
void search_decode_qp(const uint8_t *s, size_t len, struct buf *out);
void search_decode_base64(const uint8_t *s, size_t len, struct buf *out);

/* A message's header fields, unfolded. */
struct search_field {
	char *name;   /* lower-case */
	char *value;  /* unfolded, trimmed, raw (not 2047-decoded) */
	char *folded; /* decoded and folded; NULL until asked for */
	size_t folded_len;
};
struct search_header {
	struct search_field *fields;
	unsigned count;
};

/* Parse the header at data[0..len) (a message or an embedded one). */
void search_header_parse(const uint8_t *data, size_t len, struct search_header *h);
void search_header_free(struct search_header *h);
/* First field named name (lower-case), NULL when none. */
struct search_field *search_header_find(struct search_header *h, const char *name,
                                        struct search_field *after);
/* The field's decoded, folded value (cached in the field). */
const char *search_field_folded(struct search_field *f, size_t *len_r);
/* Append the folded text of msg's body parts (text parts decoded, embedded
 * messages' headers decoded) to out. */
void search_body_text(struct imap_message *msg, struct buf *out);
/* Case-insensitive find: needle (already folded) in hay (folded). */
bool search_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len);

#endif
