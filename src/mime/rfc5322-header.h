/*
 * rfc5322-header.h - resumable parser of a message's header block.
 *
 * What it does: takes the bytes of a message (RFC 5322 2.1) from its first
 * octet, in any split, and hands out each complete header field (RFC 5322
 * 2.2, 3.6): its name, its raw value with the folding line breaks exactly as
 * received, and its bytes as received (for DKIM, RFC 6376 3.4). It reports
 * the end of the header and the stream offset where the body starts, and
 * stops there: the body stays with the caller. rfc5322_field_unfold() gives a
 * field's unfolded value (RFC 5322 2.2.3).
 *
 * How it treats what RFC 5322 does not allow (the choices most MTAs make):
 *  - A line that cannot start a field (no colon, an empty name, an octet that
 *    is not ftext in the name, RFC 5322 3.6.8) ends the header: it is the
 *    first line of the body, and the header gets RFC5322_HEADER_FLAG_MALFORMED.
 *    So does a first line that begins with white space (there is no field to
 *    continue). WSP between name and colon is the obsolete form (RFC 5322
 *    4.5) and is accepted ("Subject : x").
 *  - A first line "From " (an mbox separator, not a field) is skipped and
 *    flagged RFC5322_HEADER_FLAG_MBOX_FROM; anywhere else it ends the header
 *    as any other non-field line.
 *  - A bare LF is taken as a line end (Posthorn stores CRLF messages, but
 *    reads anything); a CR not followed by LF is an ordinary octet. Both are
 *    flagged, on the field and on the header.
 *  - 8-bit octets in values are kept (RFC 6532 allows UTF-8) and flagged,
 *    with a separate flag when they are not well-formed UTF-8; NUL octets
 *    and lines over 998 octets (RFC 5322 2.1.1) are kept and flagged.
 *  - Input that ends without the empty line is a complete header
 *    (rfc5322_header_finish(), RFC5322_HEADER_FLAG_NO_END): the body is empty.
 *
 * What it does not do: decode encoded words (RFC 2047), parse field values
 * (rfc5322-address.h, rfc5322-date.h), check which fields must be present,
 * or look at the body. Flags are facts; whether to refuse a message for one
 * is the caller's policy.
 *
 * Invariants: pure (no I/O, no globals); holds at most max_field octets (one
 * field); the same input gives the same events, field for field and octet for
 * octet, however it is split; after END or ERROR it does nothing more.
 */
#ifndef MIME_RFC5322_HEADER_H
#define MIME_RFC5322_HEADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/*
 * Default limits. RFC 5322 sets none beyond 998 octets a line.
 *  - A field may be folded over many lines; 64 KiB holds the largest real
 *    ones (long References:, To: lists of hundreds of addresses, DKIM and
 *    ARC signatures with their keys' worth of base64) many times over. The
 *    parser holds one field, so this is also its memory bound.
 *  - The header block: 1 MiB. Trace fields (Received:, ARC sets,
 *    Authentication-Results:) grow by a few KiB each hop, and a message that
 *    went through a dozen relays and list servers carries tens of KiB; 1 MiB
 *    leaves a wide margin for that while bounding the work the IMAP server
 *    does per message (ENVELOPE, header cache) and what a submitter can make
 *    us parse and store as header. The parser's memory does not grow with it.
 *  - 1000 fields: a real header has tens; a few hundred is a loop of relays.
 */
#define RFC5322_HEADER_DEFAULT_MAX_FIELD (64 * 1024)
#define RFC5322_HEADER_DEFAULT_MAX_HEADER (1024 * 1024)
#define RFC5322_HEADER_DEFAULT_MAX_FIELDS 1000

struct rfc5322_header_limits {
	size_t max_field;       /* octets of one field as received, line breaks included; >= 1 */
	size_t max_header;      /* octets before the body: fields, mbox line, empty line */
	unsigned max_fields;    /* fields in the header */
};

void rfc5322_header_limits_init_default(struct rfc5322_header_limits *limits);

/* Flags on a field; the header's flags are the OR of its fields' and the
 * header-only ones below. */
enum rfc5322_header_flags {
	RFC5322_HEADER_FLAG_BARE_LF = 0x0001,   /* a line ended in LF without CR */
	RFC5322_HEADER_FLAG_BARE_CR = 0x0002,   /* a CR not followed by LF (kept as an octet) */
	RFC5322_HEADER_FLAG_NUL = 0x0004,       /* a NUL octet */
	RFC5322_HEADER_FLAG_8BIT = 0x0008,      /* an octet >= 0x80 */
	RFC5322_HEADER_FLAG_BAD_UTF8 = 0x0010,  /* 8-bit octets that are not UTF-8 (RFC 6532 3.1) */
	RFC5322_HEADER_FLAG_LONG_LINE = 0x0020, /* a line over 998 octets (RFC 5322 2.1.1) */
	RFC5322_HEADER_FLAG_OBS_NAME = 0x0040,  /* WSP between name and colon (RFC 5322 4.5) */
	/* header only */
	RFC5322_HEADER_FLAG_MALFORMED = 0x0100, /* ended at a line that is not a field */
	RFC5322_HEADER_FLAG_MBOX_FROM = 0x0200, /* a first line "From ..." was skipped */
	RFC5322_HEADER_FLAG_NO_END = 0x0400,    /* the input ended before the empty line */
};

enum rfc5322_header_result {
	RFC5322_HEADER_ERROR = -1,      /* a limit was exceeded; see parser.error */
	RFC5322_HEADER_NEED_MORE = 0,   /* all input consumed, no event yet */
	RFC5322_HEADER_FIELD = 1,       /* a complete field is in *field_r */
	RFC5322_HEADER_END = 2,         /* the header ended; see body_offset */
};

enum rfc5322_header_error {
	RFC5322_HEADER_ERROR_NONE = 0,
	RFC5322_HEADER_ERROR_FIELD_TOO_LONG,
	RFC5322_HEADER_ERROR_HEADER_TOO_LONG,
	RFC5322_HEADER_ERROR_TOO_MANY_FIELDS,
};

/*
 * One field. All pointers are views into the parser's buffer, valid until the
 * next call on the parser (parse, finish, deinit).
 *  - raw:   the field as received: name, colon, value, every line break,
 *           including the last one (none when the input ended first);
 *  - name:  the field name (no trailing WSP, any case); name[name_len] is
 *           not NUL;
 *  - value: everything after the colon up to the last line break (excluded);
 *           folds inside are kept as received;
 *  - offset: stream offset of raw[0] from the message's first octet.
 */
struct rfc5322_field {
	const uint8_t *raw;
	size_t raw_len;
	const char *name;
	size_t name_len;
	const uint8_t *value;
	size_t value_len;
	uint64_t offset;
	unsigned flags;         /* enum rfc5322_header_flags, field ones */
};

/*
 * The parser. Embed it, rfc5322_header_parser_init(), feed it, then
 * rfc5322_header_parser_deinit(). After END, these are final and may be read:
 */
struct rfc5322_header_parser {
	/* results */
	uint64_t body_offset;   /* after END: offset of the body's first octet */
	unsigned flags;         /* enum rfc5322_header_flags seen so far */
	unsigned n_fields;      /* fields handed out so far */
	enum rfc5322_header_error error;

	/* private */
	struct rfc5322_header_limits limits;
	struct buf field;       /* the field or line being read, as received */
	uint64_t offset;        /* stream offset of the next octet to consume */
	uint64_t field_offset;  /* stream offset of field[0] */
	size_t name_len;
	size_t value_start;     /* offset in field of the octet after the colon */
	size_t eol_len;         /* length of the last line break in field */
	size_t line_len;        /* octets in the current line so far */
	size_t prefix_len;      /* after a MALFORMED end: body octets held in field */
	unsigned field_flags;
	int state;
	bool field_ready;       /* a FIELD was handed out: drop it on the next call */
	bool first_line;
};

/* limits is copied; NULL means the defaults. */
void rfc5322_header_parser_init(struct rfc5322_header_parser *parser,
				const struct rfc5322_header_limits *limits);
void rfc5322_header_parser_deinit(struct rfc5322_header_parser *parser);

/*
 * Consume bytes from data..data+len up to the next event and return it;
 * *consumed_r says how many were used, and the caller passes the rest again
 * (with more appended, or alone) on the next call. Events:
 *  - FIELD: *field_r holds the field (views valid until the next call). A
 *    field is known complete only when the first octet of the next line shows
 *    it is not a fold, so that octet is not consumed.
 *  - END: the header is over. parser->body_offset is the body's stream
 *    offset. *consumed_r ends where the body starts, so data + *consumed_r
 *    is the body's continuation; when the body began in bytes consumed by
 *    earlier calls (a MALFORMED end on a line that was split), those octets
 *    are given by rfc5322_header_body_prefix() and *consumed_r is 0. Every
 *    later call returns END again and consumes nothing.
 *  - ERROR: a limit was exceeded; parser->error says which, *error_r is a
 *    static English text. Every later call returns ERROR.
 *  - NEED_MORE: everything was consumed (*consumed_r == len).
 * *error_r is set only for ERROR; field_r only for FIELD.
 */
enum rfc5322_header_result
rfc5322_header_parse(struct rfc5322_header_parser *parser, const uint8_t *data, size_t len,
		     size_t *consumed_r, struct rfc5322_field *field_r, const char **error_r);

/*
 * The input has ended. Returns FIELD for a field that was still open (call
 * again), then END (with RFC5322_HEADER_FLAG_NO_END unless END was already
 * reported, or a non-field line makes it MALFORMED), or ERROR. Any number of
 * calls may follow; they repeat the final result. rfc5322_header_parse() must
 * not be called after this.
 */
enum rfc5322_header_result
rfc5322_header_finish(struct rfc5322_header_parser *parser, struct rfc5322_field *field_r,
		      const char **error_r);

/*
 * After END: the body octets that the parser consumed before the call that
 * reported END (see rfc5322_header_parse); length 0 in the usual case. The
 * view is valid until rfc5322_header_parser_deinit().
 */
void rfc5322_header_body_prefix(const struct rfc5322_header_parser *parser,
				const uint8_t **data_r, size_t *len_r);

/* True when the field's name is `name`, compared case-insensitively
 * (RFC 5322 1.2.2). */
bool rfc5322_field_name_is(const struct rfc5322_field *field, const char *name);

/*
 * Append the field's value unfolded (RFC 5322 2.2.3: each line break that is
 * followed by WSP removed, the WSP kept), without the white space at its
 * start and end. Returns 0, or -1 when out would exceed its maximum (out is
 * then unchanged).
 */
int rfc5322_field_unfold(const struct rfc5322_field *field, struct buf *out);

#endif
