/*
 * mime-parser.h - streaming MIME structure parser (RFC 2045, RFC 2046).
 *
 * What it does: takes a whole message, in pieces split anywhere, and builds
 * the tree of its parts. Each part is a header and a body; for each it
 * records where they are (stream offsets and sizes), how many lines the body
 * has (LF count, as IMAP's body-fld-lines: RFC 9051 7.5.2), and the values
 * of its Content-* fields, parsed (mime-params.h). The root is the message.
 *  - a multipart type (RFC 2046 5.1) with a boundary: the children are the body
 *    parts between the delimiter lines. A delimiter line is "--" boundary at
 *    the start of a line; what follows on the line (transport padding, or
 *    junk) is ignored, "--" right after the boundary closes the multipart.
 *    Boundaries of all open multiparts are looked for, innermost first, the
 *    longest match winning, so an outer delimiter ends inner parts whose
 *    multipart was never closed (RFC 2046 5.1.2). The line break before a
 *    delimiter belongs to the delimiter (RFC 2046 5.1.1), so it is not in
 *    the body before it. Preamble and epilogue are in the multipart's body
 *    but in no child. A child of multipart/digest defaults to message/rfc822
 *    (RFC 2046 5.1.5).
 *  - message/rfc822 and message/global (RFC 2046 5.2.1, RFC 6532 3.5) with
 *    an identity encoding: the one child is the encapsulated message, with
 *    its own header; its envelope fields are kept for IMAP ENVELOPE.
 *  - anything else is a leaf: only its offsets and line count are kept.
 * Nothing is an error: a header that breaks the rfc5322-header limits ends
 * there and the rest of the part is body; a part deeper than max_depth is a
 * leaf; after max_parts parts no more structure is recognised and the rest
 * of the input is the body of the parts still open. Such parts are flagged
 * MIME_PART_FLAG_LIMIT, so the message is never lost.
 *
 * What it does not do: keep or decode bodies (the caller has the bytes;
 * offsets say where), decode RFC 2047 words, check Content-MD5, or verify
 * that text really is 7bit.
 *
 * Invariants: pure (no I/O, no globals); the same input gives the same tree
 * however it is split; memory is the tree plus one header field and one
 * line start (a boundary's length) at a time, never a body; a part's header
 * and body lie inside its parent's body, children in order without overlap.
 */
#ifndef MIME_MIME_PARSER_H
#define MIME_MIME_PARSER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mime/mime-params.h"
#include "mime/rfc5322-header.h"

/*
 * Defaults. Real mail nests a few levels (a forwarded message holding an
 * alternative inside a mixed is four); 50 is far past that and keeps the
 * recursion of the IMAP writers shallow. 10000 parts is far past any real
 * message (mailing-list digests reach hundreds) and bounds the tree to a
 * few MiB. RFC 2046 5.1.1 limits a boundary to 70 characters; up to 200 are
 * accepted, longer ones make the multipart a leaf.
 */
#define MIME_PARSER_DEFAULT_MAX_DEPTH 50
#define MIME_PARSER_DEFAULT_MAX_PARTS 10000
#define MIME_BOUNDARY_MAX_LEN 200

struct mime_parser_limits {
	unsigned max_depth;     /* levels of nesting below the root (root = 0) */
	unsigned max_parts;     /* parts in the tree, root included; >= 1 */
	struct rfc5322_header_limits header;    /* for each part's header */
};

void mime_parser_limits_init_default(struct mime_parser_limits *limits);

enum mime_part_flags {
	MIME_PART_FLAG_MULTIPART = 0x01,        /* parsed as multipart: children are its parts */
	MIME_PART_FLAG_MESSAGE = 0x02,          /* parsed as message: one child, the message */
	MIME_PART_FLAG_CLOSED = 0x04,           /* multipart: its close delimiter was seen */
	MIME_PART_FLAG_LIMIT = 0x08,            /* a limit stopped parsing in or below this part */
	MIME_PART_FLAG_DEFAULT_TYPE = 0x10,     /* no valid Content-Type: the default applies */
};

/* The header fields an IMAP ENVELOPE is made of (RFC 9051 7.5.2), in its order. */
enum mime_envelope_field {
	MIME_ENVELOPE_DATE = 0,
	MIME_ENVELOPE_SUBJECT,
	MIME_ENVELOPE_FROM,
	MIME_ENVELOPE_SENDER,
	MIME_ENVELOPE_REPLY_TO,
	MIME_ENVELOPE_TO,
	MIME_ENVELOPE_CC,
	MIME_ENVELOPE_BCC,
	MIME_ENVELOPE_IN_REPLY_TO,
	MIME_ENVELOPE_MESSAGE_ID,
	MIME_ENVELOPE_COUNT
};

/* The field name of an envelope member ("Reply-To", ...). */
const char *mime_envelope_field_name(enum mime_envelope_field field);

/*
 * One part. All strings are owned by the tree, NUL-terminated, unfolded
 * (RFC 5322 2.2.3) with white space trimmed and NUL octets removed; NULL
 * when the field is absent. For a field given more than once, the first.
 * Offsets are from the message's first octet; the header includes the empty
 * line that ends it; body_size excludes the line break before a delimiter
 * (and so does a header that a delimiter cut short). After a header limit,
 * the header ends after its last complete field.
 */
struct mime_part {
	struct mime_part *parent;
	struct mime_part *children;     /* first child */
	struct mime_part *next;         /* next sibling */
	unsigned n_children;
	unsigned depth;                 /* root 0 */
	unsigned flags;                 /* enum mime_part_flags */
	unsigned header_flags;          /* enum rfc5322_header_flags of its header */

	uint64_t header_offset, header_size;
	uint64_t body_offset, body_size;
	uint64_t body_lines;            /* LF octets in the body */

	struct mime_content_type content_type;  /* always set (default if absent) */
	enum mime_encoding encoding;            /* 7BIT when absent */
	char *encoding_token;           /* the Content-Transfer-Encoding token, lower-case */
	char *content_id;
	char *description;
	char *md5;
	char *location;
	char **languages;               /* Content-Language tags (RFC 3282), n_languages */
	unsigned n_languages;
	struct mime_disposition disposition;    /* type NULL when absent or invalid */

	/* Message parts only (the root and the child of a MESSAGE part): the
	 * raw values of the envelope fields, else all NULL. */
	char *envelope[MIME_ENVELOPE_COUNT];

	/* private to the parser */
	uint64_t lf_start;              /* LFs in the stream before the body */
	struct mime_part *last_child;
};

struct mime_parser;

/* A new parser; limits is copied, NULL means the defaults. */
struct mime_parser *mime_parser_new(const struct mime_parser_limits *limits);

/* Free the parser and any tree it was building; sets *parser to NULL. */
void mime_parser_free(struct mime_parser **parser);

/*
 * Feed the next len octets of the message. Every octet is consumed (what a
 * decision needs is kept inside); there is no error. Must not be called
 * after mime_parser_finish().
 */
void mime_parser_parse(struct mime_parser *parser, const uint8_t *data, size_t len);

/*
 * The message has ended: close every open part, free the parser (*parser
 * becomes NULL) and return the tree. The caller owns it (mime_part_free) and
 * it does not depend on the parser or the input buffers.
 */
struct mime_part *mime_parser_finish(struct mime_parser **parser);

/* Parse a whole message in one call (parse + finish). */
struct mime_part *mime_parse_message(const uint8_t *data, size_t len,
				     const struct mime_parser_limits *limits);

/* Free a tree from its root; sets *root to NULL. NULL-safe. */
void mime_part_free(struct mime_part **root);

/* The n-th child (1-based, as IMAP numbers them), or NULL. */
const struct mime_part *mime_part_child(const struct mime_part *part, unsigned n);

/* True for a part that is a message (has an envelope): the root, or the
 * child of a MESSAGE part. */
bool mime_part_is_message(const struct mime_part *part);

/* Total octets of the part, header and body. */
uint64_t mime_part_size(const struct mime_part *part);

#endif
