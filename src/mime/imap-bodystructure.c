/*
 * imap-bodystructure.c - BODYSTRUCTURE / BODY (see imap-bodystructure.h).
 *
 * One function per grammar rule of RFC 9051 section 9 (body-fld-param,
 * body-fields, body-type-1part, body-type-mpart, ...). Every append's
 * result is OR-ed into the return value; the public function undoes
 * everything when any failed.
 */
#include "mime/imap-bodystructure.h"

#include <string.h>

#include "core/mem.h"
#include "mime/imap-envelope.h"
#include "mime/imap-string.h"
#include "mime/rfc5322-chars.h"

static bool
is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((uint8_t)*s >= 0x80)
			return false;
	}
	return true;
}

/* A token (RFC 2045 5.1): an unknown encoding that is one is written as
 * given; anything else is not an encoding at all and counts as 7BIT. */
static bool
is_token(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if ((uint8_t)*s <= 32 || (uint8_t)*s >= 127 || strchr("()<>@,;:\\\"/[]?=", *s) != NULL)
			return false;
	}
	return true;
}

/* An RFC 2231 value that cannot be sent decoded: "NAME*" "utf-8''%XX.." */
static int
append_2231(struct buf *out, const struct mime_param *p, unsigned flags)
{
	struct buf v;
	int ret;

	buf_init(&v, 0);
	if (p->raw) {
		buf_append_str(&v, p->value);
	} else {
		buf_append_str(&v, "utf-8''");
		for (const uint8_t *c = (const uint8_t *)p->value; *c != '\0'; c++) {
			if (*c < 0x80 && *c > 32 && *c != '%' && *c != '*' && *c != '\'' &&
			    *c != '"' && *c != '\\')
				buf_append_byte(&v, *c);
			else
				buf_printf(&v, "%%%02X", *c);
		}
	}
	char *name = mem_alloc(mem_size_add(strlen(p->name), 2));

	memcpy(name, p->name, strlen(p->name));
	memcpy(name + strlen(p->name), "*", 2);
	ret = imap_string_append_upper(out, name, flags);
	ret |= buf_append_byte(out, ' ');
	mem_free(&name);
	ret |= imap_string_append(out, buf_data(&v), buf_len(&v), flags);
	buf_deinit(&v);
	return ret;
}

/* body-fld-param; `charset` adds the text default when missing. */
static int
append_params(struct buf *out, const struct mime_params *params, bool charset, unsigned flags)
{
	int ret = 0;
	const char *sep = "(";

	if (params->count == 0 && !charset)
		return buf_append_str(out, "NIL");
	for (unsigned i = 0; i < params->count; i++) {
		const struct mime_param *p = &params->items[i];

		ret |= buf_append_str(out, sep);
		sep = " ";
		if (p->raw || (!is_ascii(p->value) && (flags & IMAP_STRING_UTF8) == 0)) {
			ret |= append_2231(out, p, flags);
			continue;
		}
		ret |= imap_string_append_upper(out, p->name, flags);
		ret |= buf_append_byte(out, ' ');
		ret |= imap_string_append_nstring(out, p->value, flags);
	}
	if (charset)
		ret |= buf_printf(out, "%s\"CHARSET\" \"US-ASCII\"", sep);
	return ret | buf_append_byte(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc */
static int
append_ext_common(struct buf *out, const struct mime_part *part, unsigned flags)
{
	int ret = 0;

	if (part->disposition.type == NULL) {
		ret |= buf_append_str(out, " NIL");
	} else {
		ret |= buf_append_str(out, " (");
		ret |= imap_string_append_upper(out, part->disposition.type, flags);
		ret |= buf_append_byte(out, ' ');
		ret |= append_params(out, &part->disposition.params, false, flags);
		ret |= buf_append_byte(out, ')');
	}
	ret |= buf_append_byte(out, ' ');
	if (part->n_languages == 0) {
		ret |= buf_append_str(out, "NIL");
	} else if (part->n_languages == 1) {
		ret |= imap_string_append_nstring(out, part->languages[0], flags);
	} else {
		for (unsigned i = 0; i < part->n_languages; i++) {
			ret |= buf_append_str(out, i == 0 ? "(" : " ");
			ret |= imap_string_append_nstring(out, part->languages[i], flags);
		}
		ret |= buf_append_byte(out, ')');
	}
	ret |= buf_append_byte(out, ' ');
	return ret | imap_string_append_nstring(out, part->location, flags);
}

static int append_body(struct buf *out, const struct mime_part *part, bool ext, unsigned flags);

/* body-fields: params id description encoding octets */
static int
append_fields(struct buf *out, const struct mime_part *part, bool charset, unsigned flags)
{
	const char *enc = mime_encoding_name(part->encoding);
	int ret = append_params(out, &part->content_type.params, charset, flags);

	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, part->content_id, flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_nstring(out, part->description, flags);
	ret |= buf_append_byte(out, ' ');
	if (enc == NULL && part->encoding_token != NULL && is_token(part->encoding_token))
		ret |= imap_string_append_upper(out, part->encoding_token, flags);
	else
		ret |= buf_printf(out, "\"%s\"", enc == NULL ? "7BIT" : enc);
	return ret | buf_printf(out, " %llu", (unsigned long long)part->body_size);
}

/* body-type-1part: basic, text or msg, then body-ext-1part. */
static int
append_single(struct buf *out, const struct mime_part *part, bool ext, unsigned flags)
{
	const struct mime_content_type *ct = &part->content_type;
	bool message = (part->flags & MIME_PART_FLAG_MESSAGE) != 0 && part->children != NULL;
	bool opaque = !message && (strcmp(ct->type, "multipart") == 0 ||
				   mime_content_type_is(ct, "message", "rfc822") ||
				   mime_content_type_is(ct, "message", "global"));
	bool text = strcmp(ct->type, "text") == 0;
	int ret = buf_append_byte(out, '(');

	if (opaque) {
		ret |= buf_append_str(out, "\"APPLICATION\" \"OCTET-STREAM\"");
	} else {
		ret |= imap_string_append_upper(out, ct->type, flags);
		ret |= buf_append_byte(out, ' ');
		ret |= imap_string_append_upper(out, ct->subtype, flags);
	}
	ret |= buf_append_byte(out, ' ');
	ret |= append_fields(out, part, text && mime_params_find(&ct->params, "charset") == NULL,
			     flags);
	if (message) {
		ret |= buf_append_byte(out, ' ');
		ret |= imap_envelope_write(part->children, flags, out);
		ret |= buf_append_byte(out, ' ');
		ret |= append_body(out, part->children, ext, flags);
	}
	if (message || text)
		ret |= buf_printf(out, " %llu", (unsigned long long)part->body_lines);
	if (ext) {
		ret |= buf_append_byte(out, ' ');
		ret |= imap_string_append_nstring(out, part->md5, flags);
		ret |= append_ext_common(out, part, flags);
	}
	return ret | buf_append_byte(out, ')');
}

/* body-type-mpart: 1*body SP media-subtype [SP body-ext-mpart] */
static int
append_multi(struct buf *out, const struct mime_part *part, bool ext, unsigned flags)
{
	int ret = buf_append_byte(out, '(');

	for (const struct mime_part *c = part->children; c != NULL; c = c->next)
		ret |= append_body(out, c, ext, flags);
	ret |= buf_append_byte(out, ' ');
	ret |= imap_string_append_upper(out, part->content_type.subtype, flags);
	if (ext) {
		ret |= buf_append_byte(out, ' ');
		ret |= append_params(out, &part->content_type.params, false, flags);
		ret |= append_ext_common(out, part, flags);
	}
	return ret | buf_append_byte(out, ')');
}

static int
append_body(struct buf *out, const struct mime_part *part, bool ext, unsigned flags)
{
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0 && part->children != NULL)
		return append_multi(out, part, ext, flags);
	return append_single(out, part, ext, flags);
}

int
imap_bodystructure_write(const struct mime_part *part, bool extensible, unsigned flags,
			 struct buf *out)
{
	size_t old_len = buf_len(out);

	if (append_body(out, part, extensible, flags) != 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}
