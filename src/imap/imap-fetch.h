/*
 * imap-fetch.h - FETCH data items (RFC 9051 6.4.5, 7.5.2): parsed from the
 * command's argument tree, and rendered for one message.
 *
 * What it does:
 *  - imap_fetch_parse(): the fetch-att list (or one item, or a macro) of a
 *    FETCH command into struct imap_fetch_items: the macros ALL, FAST, FULL;
 *    ENVELOPE, FLAGS, INTERNALDATE, RFC822.SIZE, RFC822, RFC822.HEADER,
 *    RFC822.TEXT, BODY, BODYSTRUCTURE, UID; BODY[section]<partial> and
 *    BODY.PEEK[...]; BINARY[part]<partial>, BINARY.PEEK[...] and
 *    BINARY.SIZE[part] (RFC 3516); MODSEQ (RFC 7162 3.1.4); SAVEDATE (RFC
 *    8514); EMAILID and THREADID (RFC 8474); PREVIEW (RFC 8970, with an
 *    optional (LAZY) modifier that changes nothing here). Bracketed items
 *    reach us as one atom flagged IMAP_ARG_FLAG_BRACKET (imap-parser.h).
 *  - imap_fetch_render(): the whole "* n FETCH (...)" CRLF response of one
 *    message (struct imap_message), items in the order asked, with sections
 *    as literals ({n}, or ~{n} literal8 for BINARY data holding NUL).
 *    BINARY undoes base64 and quoted-printable (leniently: stray characters
 *    are skipped, as RFC 2045 6.7/6.8 ask of decoders); a part whose
 *    Content-Transfer-Encoding is not known makes the render fail with
 *    IMAP_FETCH_RENDER_UNKNOWN_CTE (RFC 3516 4.3: NO [UNKNOWN-CTE]).
 *  - imap_fetch_section_data(), imap_fetch_partial(): the octets of
 *    BODY[section]<partial>, which CATENATE's URLs (imap-url.h) cut the
 *    same way.
 *  - PREVIEW: up to 256 characters of the first text/plain leaf that is
 *    not an attachment (else the first text/html one, tags stripped),
 *    transfer-decoded, only for the charsets UTF-8, US-ASCII (and none)
 *    and ISO-8859-1 (converted); white space runs become one space. Any
 *    other case (no text part, another charset) gives the empty string,
 *    which RFC 8970 3 allows for "no preview".
 *
 * What it does not do: read messages (the glue fills struct imap_message),
 * decide on \Seen (imap_fetch_sets_seen() tells the engine it should), or
 * keep any cache. BODY sections with NUL octets go out with each NUL
 * replaced by 0x80 (a string cannot hold NUL, RFC 9051 4.3; the length
 * stays right); only BINARY uses literal8.
 *
 * Invariants: pure (no I/O, no globals); a failed render leaves the output
 * buffer as it was; the items are read-only once parsed except for the
 * documented fields the engine sets between chunks.
 */
#ifndef IMAP_IMAP_FETCH_H
#define IMAP_IMAP_FETCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap-message.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "mime/imap-section.h"

/* Items in one FETCH (after macro expansion); more is BAD. Clients ask for a
 * dozen at most (Thunderbird, mutt, mbsync). */
#define IMAP_FETCH_MAX_ITEMS 100
/* Items with a [section] among them: each one costs a MIME walk. */
#define IMAP_FETCH_MAX_SECTIONS 32
/* RFC 8970 3: the preview is at most 256 characters. */
#define IMAP_FETCH_PREVIEW_MAX_CHARS 256

enum imap_fetch_item_type {
	IMAP_FETCH_UID = 0,
	IMAP_FETCH_FLAGS,
	IMAP_FETCH_INTERNALDATE,
	IMAP_FETCH_RFC822_SIZE,
	IMAP_FETCH_ENVELOPE,
	IMAP_FETCH_BODY,            /* BODY without a section: the structure */
	IMAP_FETCH_BODYSTRUCTURE,
	IMAP_FETCH_RFC822,
	IMAP_FETCH_RFC822_HEADER,
	IMAP_FETCH_RFC822_TEXT,
	IMAP_FETCH_MODSEQ,
	IMAP_FETCH_SAVEDATE,
	IMAP_FETCH_EMAILID,
	IMAP_FETCH_THREADID,
	IMAP_FETCH_PREVIEW,
	IMAP_FETCH_BODY_SECTION,    /* BODY[...] / BODY.PEEK[...] */
	IMAP_FETCH_BINARY,          /* BINARY[...] / BINARY.PEEK[...] */
	IMAP_FETCH_BINARY_SIZE,     /* BINARY.SIZE[...] */
};

struct imap_fetch_item {
	enum imap_fetch_item_type type;
	bool peek;                  /* .PEEK: does not set \Seen */
	/* sections only */
	struct imap_section section;
	char *spec;                 /* the section as answered: "1.HEADER.FIELDS (Subject)" */
	bool partial;               /* <origin.count> given */
	uint64_t partial_origin;
	uint64_t partial_count;
};

struct imap_fetch_items {
	struct imap_fetch_item *items;
	unsigned count;
	/*
	 * Set by the engine, not the parser: VANISHED (RFC 7162 3.2.6) with
	 * UID FETCH ... (CHANGEDSINCE n VANISHED): the glue writes "* VANISHED
	 * (EARLIER) uids" for the UIDs of vanished_set expunged after
	 * vanished_since, before the FETCH responses of the request. The
	 * engine clears it after the first request of a split FETCH.
	 */
	bool vanished;
	uint64_t vanished_since;
	struct imap_seq_range *vanished_set; /* the UID set as given, ascending; owned */
	unsigned vanished_set_count;
	/* Set by the engine: CONDSTORE is enabled (RFC 7162 3.1), so a
	 * response that reports a \Seen this FETCH set (RENDER_ADD_FLAGS)
	 * carries UID and MODSEQ too. */
	bool condstore;
	unsigned refcount;          /* imap_fetch_items_ref(); 1 after parse */
};

/*
 * Parse the fetch items of a FETCH: arg is one atom (an item or a macro)
 * or a list of items (RFC 9051 9: fetch-att; macros are not allowed in a
 * list). Returns 1 with *items_r allocated (free with
 * imap_fetch_items_free), or -1 with *error_r a static English text for a
 * BAD reply and *items_r NULL. Repeated simple items are kept once.
 */
int imap_fetch_parse(const struct imap_arg *arg, struct imap_fetch_items **items_r,
		     const char **error_r);
/* Drop a reference (the parse's, or one of imap_fetch_items_ref) and free
 * the items with the last; *items is set to NULL. NULL is a no-op. Not
 * thread-safe: the engine and the glue ref and free on the event loop
 * only (a worker may read the items while it holds a reference). */
void imap_fetch_items_free(struct imap_fetch_items **items);
/* One more reference; returns items. */
struct imap_fetch_items *imap_fetch_items_ref(const struct imap_fetch_items *items);

/* Add a simple item (UID, FLAGS, MODSEQ, ...; not a section) unless it is
 * there: UID FETCH always answers UID (RFC 9051 6.4.9), CHANGEDSINCE
 * implies MODSEQ (RFC 7162 3.1.4.1). */
void imap_fetch_items_add(struct imap_fetch_items *items, enum imap_fetch_item_type type);
bool imap_fetch_items_has(const struct imap_fetch_items *items, enum imap_fetch_item_type type);

/* False when every item is metadata (UID, FLAGS, INTERNALDATE, RFC822.SIZE,
 * MODSEQ, SAVEDATE, EMAILID, THREADID): the glue may leave msg->data NULL. */
bool imap_fetch_needs_content(const struct imap_fetch_items *items);
/* True when an item sets \Seen (RFC 9051 6.4.5: BODY[...] and BINARY[...]
 * without .PEEK, RFC822, RFC822.TEXT). */
bool imap_fetch_sets_seen(const struct imap_fetch_items *items);

enum imap_fetch_render_flags {
	IMAP_FETCH_RENDER_UTF8 = 0x01,      /* UTF8=ACCEPT: 8-bit in quoted strings */
	/* IMAP4rev2 enabled. The responses are the same today: RFC 9051
	 * appendix E deprecates the RFC822.* items but a server offering both
	 * revisions keeps them. \Recent is shown when the message's flags
	 * have IMAP_FLAG_RECENT, which the glue sets only for rev1 sessions. */
	IMAP_FETCH_RENDER_REV2 = 0x02,
	/* \Seen was just set: add FLAGS if not asked for (RFC 9051 6.4.5) */
	IMAP_FETCH_RENDER_ADD_FLAGS = 0x04,
	IMAP_FETCH_RENDER_ADD_UID = 0x08,   /* add UID if not asked for */
	IMAP_FETCH_RENDER_ADD_MODSEQ = 0x10, /* add MODSEQ if not asked for */
};

/* The text the glue passes to imap_server_fetch_done() with
 * IMAP_MAILBOX_CANNOT when a render gave IMAP_FETCH_RENDER_UNKNOWN_CTE: the
 * engine then answers NO [UNKNOWN-CTE]. */
#define IMAP_FETCH_UNKNOWN_CTE_TEXT "Unknown Content-Transfer-Encoding"

enum imap_fetch_render_result {
	IMAP_FETCH_RENDER_OK = 0,
	/* out would pass its maximum; out unchanged */
	IMAP_FETCH_RENDER_TOO_BIG = -1,
	/* BINARY of a part with an unknown Content-Transfer-Encoding; out
	 * unchanged; the command answers NO [UNKNOWN-CTE] (RFC 3516 4.3) */
	IMAP_FETCH_RENDER_UNKNOWN_CTE = -2,
};

/*
 * Append "* <msg->seq> FETCH (...)" CRLF for msg to out. msg->data must be
 * set when imap_fetch_needs_content(items); msg's cached MIME tree is
 * filled as a side effect (imap_message_mime). flags: enum
 * imap_fetch_render_flags.
 */
enum imap_fetch_render_result
imap_fetch_render(const struct imap_fetch_items *items, struct imap_message *msg,
		  unsigned flags, struct buf *out);

/*
 * The octets BODY[section] names (RFC 9051 6.4.5) in the message msg whose
 * MIME tree is root: the resolved range as it is, or for HEADER.FIELDS
 * [.NOT] the header filtered into scratch (reset first; the blank line
 * included). Returns 1 with *data_r, *len_r pointing into msg or into
 * scratch (valid while both are); 0 when the part does not exist in the
 * message or root is NULL (no content); -1 when the filtered header would
 * take scratch over its maximum. CATENATE's URLs (imap-url.h) cut with the
 * same function as FETCH.
 */
int imap_fetch_section_data(const struct imap_section *section, const struct mime_part *root,
			    const uint8_t *msg, struct buf *scratch, const uint8_t **data_r,
			    size_t *len_r);

/*
 * Cut a partial range out of data[0..*len): the octets from origin on (none
 * when origin is past the end), at most count of them (0 = to the end; RFC
 * 9051 6.4.5 <origin.count>, RFC 5092 5 ";PARTIAL=origin[.length]").
 * Returns the start and sets *len to what is left.
 */
const uint8_t *imap_fetch_partial(const uint8_t *data, size_t *len, uint64_t origin,
				  uint64_t count);

/* ---- helpers, public for tests (imap-fetch-decode.c) ---- */

/* Append the decoded body src[0..len) of encoding (mime_encoding); identity
 * encodings are copied. 0 ok, -1 out's maximum, -2 unknown encoding. */
int imap_fetch_decode(int encoding, const uint8_t *src, size_t len, struct buf *out);

/* The PREVIEW text (UTF-8, at most IMAP_FETCH_PREVIEW_MAX_CHARS characters)
 * of a message with MIME tree root and octets data, onto out (unlimited). */
void imap_fetch_preview(const struct mime_part *root, const uint8_t *data, struct buf *out);

#endif
