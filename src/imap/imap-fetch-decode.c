/*
 * imap-fetch-decode.c - content transfer decoding for FETCH BINARY (RFC
 * 3516) and the PREVIEW text (RFC 8970).
 *
 * What it does: undoes base64 (RFC 2045 6.8) and quoted-printable (RFC
 * 2045 6.7) the lenient way decoders are asked to be: base64 skips every
 * character outside its alphabet and stops at "="; quoted-printable keeps
 * a "=" that is not followed by two hex digits or a line break as it is,
 * and drops white space at the end of an encoded line (transport padding,
 * RFC 2045 6.7 rule 3) but keeps white space before a soft line break
 * ("foo<TAB>=" CRLF "bar" is "foo<TAB>bar"). Builds
 * the preview from the first text/plain leaf, or failing that the first
 * text/html one with its tags stripped.
 *
 * What it does not do: convert charsets other than ISO-8859-1 to UTF-8,
 * render HTML (only tags, comments, <style>/<script>/<head> and a few
 * entities are taken out), or decode RFC 2047 words.
 *
 * Invariants: pure; the output buffer is unchanged on failure.
 */
#include "imap/imap-fetch.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "mime/mime-parser.h"

/* Octets of an encoded body read for the preview: plenty for 256
 * characters after quoted-printable or base64. */
#define PREVIEW_MAX_INPUT (64 * 1024)

static int
b64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

static int
decode_base64(const uint8_t *src, size_t len, struct buf *out)
{
	/* 3 octets per 4 characters, at most */
	uint8_t *dst = buf_reserve(out, len / 4 * 3 + 3);
	size_t n = 0;
	uint32_t acc = 0;
	unsigned bits = 0;

	if (dst == NULL)
		return -1;
	for (size_t i = 0; i < len && src[i] != '='; i++) {
		int v = b64_value(src[i]);

		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			dst[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	buf_commit(out, n);
	return 0;
}

static int
hex_value(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static int
decode_qp(const uint8_t *src, size_t len, struct buf *out)
{
	uint8_t *dst = buf_reserve(out, len);
	size_t n = 0, line_end = 0; /* n after the last octet that is not padding */

	if (dst == NULL)
		return -1;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = src[i];

		if (c == '\r' || c == '\n') {
			/* RFC 2045 6.7 (3): drop trailing white space */
			n = line_end;
			dst[n++] = c;
			line_end = n;
			continue;
		}
		if (c == '=') {
			size_t j = i + 1;

			while (j < len && (src[j] == ' ' || src[j] == '\t'))
				j++;
			if (j < len && (src[j] == '\r' || src[j] == '\n')) {
				/* soft line break */
				if (src[j] == '\r' && j + 1 < len && src[j + 1] == '\n')
					j++;
				/* RFC 2045 6.7 (3), (5): white space before the
				 * "=" is text, only what follows it is padding */
				i = j;
				line_end = n;
				continue;
			}
			if (j == len) {
				/* "=" and padding at the end of the input: a soft
				 * line break that nothing follows */
				i = j;
				line_end = n;
				continue;
			}
			if (i + 2 < len && hex_value(src[i + 1]) >= 0 &&
			    hex_value(src[i + 2]) >= 0) {
				dst[n++] = (uint8_t)(hex_value(src[i + 1]) * 16 +
						     hex_value(src[i + 2]));
				line_end = n;
				i += 2;
				continue;
			}
		}
		dst[n++] = c;
		if (c != ' ' && c != '\t')
			line_end = n;
	}
	/* the last line's padding too */
	buf_commit(out, line_end);
	return 0;
}

int
imap_fetch_decode(int encoding, const uint8_t *src, size_t len, struct buf *out)
{
	switch ((enum mime_encoding)encoding) {
	case MIME_ENCODING_7BIT:
	case MIME_ENCODING_8BIT:
	case MIME_ENCODING_BINARY:
		return buf_append(out, src, len);
	case MIME_ENCODING_BASE64:
		return decode_base64(src, len, out);
	case MIME_ENCODING_QUOTED_PRINTABLE:
		return decode_qp(src, len, out);
	case MIME_ENCODING_OTHER:
		break;
	}
	return -2;
}

/* The first leaf of the message of type text/subtype that is not an
 * attachment; a message/rfc822 part is another message and is not
 * entered. */
static const struct mime_part *
preview_part(const struct mime_part *part, const char *subtype)
{
	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0 && part->children != NULL) {
		for (const struct mime_part *c = part->children; c != NULL; c = c->next) {
			const struct mime_part *p = preview_part(c, subtype);

			if (p != NULL)
				return p;
		}
		return NULL;
	}
	if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0)
		return NULL;
	if (!mime_content_type_is(&part->content_type, "text", subtype))
		return NULL;
	if (part->disposition.type != NULL && strcmp(part->disposition.type, "attachment") == 0)
		return NULL;
	return part;
}

/* Does html[i..len) start with word (ASCII, case-insensitive)? */
static bool
html_at(const uint8_t *html, size_t i, size_t len, const char *word)
{
	size_t n = strlen(word);

	return len - i >= n && strncasecmp((const char *)html + i, word, n) == 0;
}

/* The text of HTML, roughly: tags and comments dropped, the content of
 * <style>, <script> and <head> skipped, the five basic entities and
 * &nbsp; replaced; a tag counts as white space. Enough for a preview. */
static void
html_to_text(const uint8_t *html, size_t len, struct buf *out)
{
	static const struct {
		const char *name, *text;
	} entities[] = {
		{ "&amp;", "&" }, { "&lt;", "<" }, { "&gt;", ">" }, { "&quot;", "\"" },
		{ "&#39;", "'" }, { "&nbsp;", " " },
	};
	static const char *const skipped[] = { "style", "script", "head" };
	size_t i = 0;

	while (i < len) {
		if (html[i] == '<') {
			const char *skip_to = NULL;
			const uint8_t *end;

			if (html_at(html, i, len, "<!--")) {
				skip_to = "-->";
			} else {
				for (size_t k = 0; k < N_ELEMENTS(skipped); k++) {
					size_t n = strlen(skipped[k]);

					if (html_at(html, i + 1, len, skipped[k]) &&
					    i + 1 + n < len &&
					    strchr("> \t\r\n", html[i + 1 + n]) != NULL)
						skip_to = skipped[k];
				}
			}
			if (skip_to != NULL && skip_to[0] != '-') {
				/* to the closing tag "</name" */
				size_t j = i + 1;

				while (j < len && !(html[j] == '<' && j + 1 < len &&
						    html[j + 1] == '/' &&
						    html_at(html, j + 2, len, skip_to)))
					j++;
				i = j;
			} else if (skip_to != NULL) {
				end = memmem(html + i, len - i, "-->", 3);
				i = end == NULL ? len : (size_t)(end - html) + 3;
				continue;
			}
			end = memchr(html + i, '>', len - i);
			i = end == NULL ? len : (size_t)(end - html) + 1;
			buf_append_byte(out, ' ');
			continue;
		}
		if (html[i] == '&') {
			size_t k;

			for (k = 0; k < N_ELEMENTS(entities); k++) {
				if (html_at(html, i, len, entities[k].name)) {
					buf_append_str(out, entities[k].text);
					i += strlen(entities[k].name);
					break;
				}
			}
			if (k < N_ELEMENTS(entities))
				continue;
		}
		buf_append_byte(out, html[i++]);
	}
}

/* Length of the well-formed UTF-8 sequence at s[0..len), 0 when none. */
static size_t
utf8_seq_len(const uint8_t *s, size_t len)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
	    (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
		return 0;
	return n;
}

void
imap_fetch_preview(const struct mime_part *root, const uint8_t *data, struct buf *out)
{
	const struct mime_part *part = NULL;
	bool html = false;
	const char *charset;
	bool latin1 = false, pending_space = false;
	unsigned chars = 0;
	struct buf text;
	size_t in_len;

	if (root == NULL || data == NULL)
		return;
	part = preview_part(root, "plain");
	if (part == NULL) {
		part = preview_part(root, "html");
		html = part != NULL;
	}
	if (part == NULL)
		return;
	charset = mime_params_get(&part->content_type.params, "charset");
	if (charset != NULL && strcasecmp(charset, "iso-8859-1") == 0)
		latin1 = true;
	else if (charset != NULL && charset[0] != '\0' && strcasecmp(charset, "utf-8") != 0 &&
		 strcasecmp(charset, "us-ascii") != 0)
		return;
	in_len = part->body_size < PREVIEW_MAX_INPUT ? (size_t)part->body_size : PREVIEW_MAX_INPUT;
	buf_init(&text, 0);
	if (imap_fetch_decode((int)part->encoding, data + part->body_offset, in_len, &text) < 0) {
		buf_deinit(&text);
		return;
	}
	if (html) {
		struct buf stripped;

		buf_init(&stripped, 0);
		html_to_text(buf_data(&text), buf_len(&text), &stripped);
		buf_deinit(&text);
		text = stripped;
	}
	const uint8_t *s = buf_data(&text);
	size_t len = buf_len(&text);

	for (size_t i = 0; i < len && chars < IMAP_FETCH_PREVIEW_MAX_CHARS;) {
		uint8_t c = s[i];
		size_t n = latin1 ? 1 : utf8_seq_len(s + i, len - i);

		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			pending_space = chars > 0;
			i++;
			continue;
		}
		if (n == 0 || c < 0x20 || c == 0x7f) {
			/* not UTF-8, or a control character: left out */
			i += n == 0 ? 1 : n;
			continue;
		}
		if (pending_space) {
			buf_append_byte(out, ' ');
			pending_space = false;
			if (++chars == IMAP_FETCH_PREVIEW_MAX_CHARS)
				break;
		}
		if (latin1 && c >= 0x80) {
			buf_append_byte(out, (uint8_t)(0xc0 | (c >> 6)));
			buf_append_byte(out, (uint8_t)(0x80 | (c & 0x3f)));
		} else {
			buf_append(out, s + i, n);
		}
		chars++;
		i += n;
	}
	buf_deinit(&text);
}
