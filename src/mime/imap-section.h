/*
 * imap-section.h - IMAP section specs (RFC 9051 6.4.5 BODY[section],
 * RFC 3516 BINARY[section]) resolved against a MIME tree.
 *
 * What it does: parses the text between the brackets ("", "1.2",
 * "1.2.HEADER", "3.TEXT", "2.MIME", "HEADER.FIELDS (From To)",
 * "4.HEADER.FIELDS.NOT (Received)") and finds the octets it names in the
 * message: an offset, a size and a mode (the range as is, or a header to
 * filter by field names). Part numbers follow RFC 9051 6.4.5: the parts of
 * a multipart are numbered from 1; a message that is not multipart has one
 * part, 1, its body; a message/rfc822 part's numbers are those of the
 * message inside it; HEADER, TEXT and HEADER.FIELDS apply to the message
 * (top level, or a message/rfc822 part); MIME to a numbered part.
 * imap_section_filter_header() does the field filtering.
 *
 * What it does not do: read the message (the caller has its octets),
 * decode for BINARY (range.part says which encoding to undo), or apply
 * <partial> ranges.
 *
 * Invariants: pure; a resolved range lies inside the message; field names
 * are kept as given and compared case-insensitively.
 */
#ifndef MIME_IMAP_SECTION_H
#define MIME_IMAP_SECTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "mime/mime-parser.h"

/* More part numbers than any parser depth allows; more field names than any
 * client sends (mutt asks for a dozen). */
#define IMAP_SECTION_MAX_PARTS 64
#define IMAP_SECTION_MAX_FIELDS 256

enum imap_section_text {
	IMAP_SECTION_TEXT_NONE = 0,     /* the part's body, or the whole message */
	IMAP_SECTION_TEXT_HEADER,
	IMAP_SECTION_TEXT_HEADER_FIELDS,
	IMAP_SECTION_TEXT_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT_TEXT,
	IMAP_SECTION_TEXT_MIME,
};

struct imap_section {
	unsigned parts[IMAP_SECTION_MAX_PARTS];
	unsigned n_parts;
	enum imap_section_text text;
	char **fields;                  /* HEADER.FIELDS[.NOT] names, n_fields */
	unsigned n_fields;
};

enum imap_section_mode {
	IMAP_SECTION_MODE_RAW = 0,      /* send the range as it is */
	IMAP_SECTION_MODE_FIELDS,       /* the range is a header: keep the listed fields */
	IMAP_SECTION_MODE_FIELDS_NOT,   /* the range is a header: drop the listed fields */
};

struct imap_section_range {
	uint64_t offset, size;
	enum imap_section_mode mode;
	/* the part whose body (or header) this is: its encoding for BINARY;
	 * the root for the whole message */
	const struct mime_part *part;
};

/*
 * Parse spec[0..len). Returns 1 with *section_r filled (the caller owns it:
 * imap_section_deinit), or -1 with *error_r a static English text (a BAD
 * reply) and *section_r zeroed.
 */
int imap_section_parse(const char *spec, size_t len, struct imap_section *section_r,
		       const char **error_r);
void imap_section_deinit(struct imap_section *section);

/*
 * Find the octets. Returns 1 with *range_r filled (range_r->part points into
 * the tree); 0 when the part does not exist or the text does not apply to
 * it (HEADER of a part that is not a message): RFC 9051 6.4.5 leaves that to
 * the server, which answers with an empty string.
 */
int imap_section_resolve(const struct imap_section *section, const struct mime_part *root,
			 struct imap_section_range *range_r);

/*
 * Append the fields of header[0..len) that the section's mode keeps, then
 * the empty line (RFC 9051 6.4.5: the delimiting blank line is included).
 * Fields are copied as received. Returns 0, or -1 when out would exceed its
 * maximum (out is then unchanged).
 */
int imap_section_filter_header(const struct imap_section *section, const uint8_t *header,
			       size_t len, struct buf *out);

#endif
