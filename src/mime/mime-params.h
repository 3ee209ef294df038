/*
 * mime-params.h - Content-Type, Content-Disposition and
 * Content-Transfer-Encoding field values.
 *
 * What it does: parses a Content-Type value (RFC 2045 5.1) into a type, a
 * subtype and parameters, a Content-Disposition value (RFC 2183 2) into a
 * disposition type and parameters, and a Content-Transfer-Encoding value
 * (RFC 2045 6.1) into a known mechanism. Parameters:
 *  - names are case-insensitive and are stored lower-cased; a name given
 *    twice keeps its first value;
 *  - values are tokens or quoted strings (quoted-pairs resolved, folds
 *    removed); comments and white space may appear between the parts
 *    (RFC 2045 5.1 uses RFC 822 lexical rules);
 *  - RFC 2231: continuations (name*0=, name*1*=, ...) are joined in index
 *    order, and charset/language encoded values (name*=utf-8'en'%E2%82%AC)
 *    are percent-decoded into UTF-8 when the charset is UTF-8 or US-ASCII
 *    (or blank) and the result is well-formed UTF-8 without NUL. Any other
 *    charset keeps the value in its RFC 2231 form ("charset'lang'%XX..", the
 *    pieces joined, unencoded pieces percent-encoded) and sets `raw`. An
 *    RFC 2231 value takes the place of a plain one of the same name.
 * It is lenient where real mail is sloppy: an unquoted value runs to the
 * next ";", white space or comment (so boundary=----=_Part_1 works, though
 * "=" is a tspecial), a trailing ";" is fine, and a parameter that cannot be
 * parsed ends the list without losing those before it.
 *
 * What it does not do: decode RFC 2047 encoded words (some mailers put them
 * in quoted filenames; they are kept as is), convert charsets, or decide
 * what a missing header means beyond RFC 2045 5.2's default
 * (mime_content_type_init_default).
 *
 * Invariants: pure (no I/O, no globals); input is a counted byte string
 * (not NUL-terminated); every output string is NUL-terminated, holds no NUL,
 * CR or LF; at most MIME_PARAMS_MAX parameters and MIME_PARAM_MAX_SECTIONS
 * RFC 2231 sections per name are looked at, so work is linear in the input.
 */
#ifndef MIME_MIME_PARAMS_H
#define MIME_MIME_PARAMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Parameters (RFC 2231 sections counted one by one) read from one value;
 * the rest is ignored. Real headers have a handful. */
#define MIME_PARAMS_MAX 64
/* Highest RFC 2231 section number + 1 that is joined. */
#define MIME_PARAM_MAX_SECTIONS 32

struct mime_param {
	char *name;     /* lower-case, without the RFC 2231 "*n*" suffix */
	char *value;    /* decoded (UTF-8), or the RFC 2231 form when raw */
	char *charset;  /* RFC 2231 charset as written ("" when blank), else NULL */
	char *language; /* RFC 2231 language ("" when blank), else NULL */
	bool extended;  /* the value came from the RFC 2231 syntax */
	bool raw;       /* extended but not decoded: value is "charset'lang'%XX.." */
};

struct mime_params {
	struct mime_param *items;
	unsigned count;
};

struct mime_content_type {
	char *type;             /* lower-case, e.g. "text" */
	char *subtype;          /* lower-case, e.g. "plain" */
	struct mime_params params;
};

struct mime_disposition {
	char *type;             /* lower-case, e.g. "attachment"; NULL when none */
	struct mime_params params;
};

/* RFC 2045 6.1 mechanisms; MIME_ENCODING_7BIT is also the default (absent). */
enum mime_encoding {
	MIME_ENCODING_7BIT = 0,
	MIME_ENCODING_8BIT,
	MIME_ENCODING_BINARY,
	MIME_ENCODING_QUOTED_PRINTABLE,
	MIME_ENCODING_BASE64,
	MIME_ENCODING_OTHER,    /* x-token or anything else: treat as opaque (6.4) */
};

/*
 * Parse a Content-Type value. Returns 1 with *ct_r filled (the caller owns
 * it: mime_content_type_deinit), or -1 when there is no valid type "/"
 * subtype (RFC 2045 5.2: the caller then uses the default); *error_r is a
 * static English text and *ct_r is zeroed (nothing to free). Problems in
 * the parameters are not errors (see the file comment).
 */
int mime_content_type_parse(const uint8_t *value, size_t len, struct mime_content_type *ct_r,
			    const char **error_r);

/* Fill *ct with the RFC 2045 5.2 default "text/plain; charset=US-ASCII". */
void mime_content_type_init_default(struct mime_content_type *ct);

/* Free everything and zero *ct. Safe on a zeroed struct. */
void mime_content_type_deinit(struct mime_content_type *ct);

/* True when the type and subtype are these (lower-case arguments; subtype
 * NULL matches any). */
bool mime_content_type_is(const struct mime_content_type *ct, const char *type,
			  const char *subtype);

/*
 * Parse a Content-Disposition value (RFC 2183 2: disposition-type *(";"
 * parameter)). Returns 1 with *disp_r filled (caller owns it:
 * mime_disposition_deinit), or -1 when there is no disposition token
 * (*error_r a static text, *disp_r zeroed).
 */
int mime_disposition_parse(const uint8_t *value, size_t len, struct mime_disposition *disp_r,
			   const char **error_r);
void mime_disposition_deinit(struct mime_disposition *disp);

/*
 * Parse a parameter list ";" name "=" value ... (the part after a type or a
 * disposition) into *params_r, which the caller owns (mime_params_deinit).
 * Never fails: what cannot be parsed ends the list.
 */
void mime_params_parse(const uint8_t *value, size_t len, struct mime_params *params_r);
void mime_params_deinit(struct mime_params *params);

/* The parameter called `name` (lower-case), or NULL. Valid as long as params. */
const struct mime_param *mime_params_find(const struct mime_params *params, const char *name);

/* Its value, or NULL when absent. */
const char *mime_params_get(const struct mime_params *params, const char *name);

/*
 * The Content-Transfer-Encoding value's mechanism (case-insensitive, CFWS
 * around it allowed); MIME_ENCODING_OTHER for anything else, including an
 * empty value.
 */
enum mime_encoding mime_encoding_parse(const uint8_t *value, size_t len);

/* Upper-case RFC 2045 name ("7BIT", "QUOTED-PRINTABLE", ...); NULL for OTHER. */
const char *mime_encoding_name(enum mime_encoding encoding);

/* True for the encodings that leave the body as it is: 7bit, 8bit, binary
 * (RFC 2046 5.1, 5.2.1: multipart and message bodies must use one). */
bool mime_encoding_is_identity(enum mime_encoding encoding);

#endif
