/*
 * imap-search-text.c - the text side of SEARCH/SORT/THREAD: case folding,
 * RFC 2047 encoded words, charset conversion to UTF-8, transfer decoding,
 * a message's header fields and the searchable text of its body.
 *
 * Does: simple Unicode case folding of the common alphabets (see
 * imap-search.h); encoded words (RFC 2047 2, 4: "B" and "Q", charset
 * "*language" suffixes of RFC 2231 5 ignored); UTF-8 and US-ASCII as they
 * are, ISO-8859-1 / Windows-1252 built in, any other charset glibc's
 * iconv(3) knows; quoted-printable (RFC 2045 6.7) and base64 (6.8) decoded
 * leniently, since a search must not fail on a sloppy sender. The folded
 * text of From, To, Cc and Bcc starts with the parsed addresses (comments
 * and folds gone, a trailing comment as the name: what ENVELOPE shows) so
 * that FROM/TO/CC/BCC match what RFC 3501 6.4.4 asks, then the raw value.
 *
 * Does not: normalise (NFC/NFKD), decode the Windows-1252 0x80-0x9F
 * punctuation (kept as C1 code points), search non-text attachments.
 *
 * Invariants: pure apart from iconv's own loading of conversion tables; no
 * globals; every buffer grows only with the message being read.
 */
#include "imap/imap-search-private.h"

#include "core/mem.h"
#include "mime/rfc5322-address.h"
#include "mime/rfc5322-header.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

/* ---- case folding ---- */

static uint32_t
fold_cp(uint32_t c)
{
	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	if (c >= 0xc0 && c <= 0xde && c != 0xd7)
		return c + 32;
	if ((c >= 0x100 && c <= 0x137) || (c >= 0x14a && c <= 0x177))
		return (c & 1) == 0 ? c + 1 : c;
	if (c >= 0x139 && c <= 0x148)
		return (c & 1) == 1 ? c + 1 : c;
	if (c >= 0x179 && c <= 0x17e)
		return (c & 1) == 1 ? c + 1 : c;
	if (c == 0x178)
		return 0xff;
	if (c >= 0x391 && c <= 0x3a9 && c != 0x3a2)
		return c + 32;
	if (c == 0x3c2) /* final sigma */
		return 0x3c3;
	if (c >= 0x410 && c <= 0x42f)
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	return c;
}

static void
put_utf8(struct buf *out, uint32_t c)
{
	uint8_t b[4];
	size_t n;

	if (c < 0x80) {
		b[0] = (uint8_t)c;
		n = 1;
	} else if (c < 0x800) {
		b[0] = (uint8_t)(0xc0 | (c >> 6));
		b[1] = (uint8_t)(0x80 | (c & 0x3f));
		n = 2;
	} else if (c < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (c >> 12));
		b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (c & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (c >> 18));
		b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (c & 0x3f));
		n = 4;
	}
	(void)buf_append(out, b, n);
}

/* Decode one UTF-8 character at s (len > 0); returns its length, or 0 when
 * it is not well-formed. */
static size_t
get_utf8(const uint8_t *s, size_t len, uint32_t *c_r)
{
	uint32_t c;
	size_t n;

	if (s[0] < 0x80) {
		*c_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		c = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((n == 3 && c < 0x800) || (n == 4 && (c < 0x10000 || c > 0x10ffff)) ||
	    (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*c_r = c;
	return n;
}

void
search_fold_append(struct buf *out, const uint8_t *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint32_t c;
		size_t n;

		if (s[i] < 0x80) {
			/* runs of ASCII, the common case */
			size_t j = i;
			uint8_t *dst;

			while (j < len && s[j] < 0x80)
				j++;
			dst = buf_reserve(out, j - i);
			if (dst == NULL)
				return;
			for (size_t k = i; k < j; k++)
				dst[k - i] = (uint8_t)fold_cp(s[k]);
			buf_commit(out, j - i);
			i = j;
			continue;
		}
		n = get_utf8(s + i, len - i, &c);
		if (n == 0) {
			c = s[i]; /* ISO-8859-1 */
			n = 1;
		}
		put_utf8(out, fold_cp(c));
		i += n;
	}
}

bool
search_contains(const char *hay, size_t hay_len, const char *needle, size_t needle_len)
{
	if (needle_len == 0)
		return true;
	return memmem(hay, hay_len, needle, needle_len) != NULL;
}

/* ---- charsets ---- */

static bool
charset_is_utf8(const char *cs)
{
	return cs == NULL || *cs == '\0' || strcasecmp(cs, "utf-8") == 0 ||
	       strcasecmp(cs, "utf8") == 0 || strcasecmp(cs, "us-ascii") == 0 ||
	       strcasecmp(cs, "ascii") == 0;
}

static bool
charset_is_latin1(const char *cs)
{
	return strcasecmp(cs, "iso-8859-1") == 0 || strcasecmp(cs, "iso8859-1") == 0 ||
	       strcasecmp(cs, "latin1") == 0 || strcasecmp(cs, "windows-1252") == 0 ||
	       strcasecmp(cs, "cp1252") == 0 || strcasecmp(cs, "iso-8859-15") == 0;
}

static bool
charset_iconv(const char *cs, const uint8_t *s, size_t len, struct buf *out)
{
	iconv_t cd = iconv_open("UTF-8", cs);
	char *in = (char *)s;
	size_t in_left = len;

	if (cd == (iconv_t)-1)
		return false;
	while (in_left > 0) {
		char chunk[1024], *o = chunk;
		size_t o_left = sizeof(chunk);
		size_t r = iconv(cd, &in, &in_left, &o, &o_left);

		(void)buf_append(out, chunk, sizeof(chunk) - o_left);
		if (r == (size_t)-1 && errno != E2BIG) {
			if (errno == EINVAL)
				break; /* incomplete at the end */
			in++;          /* EILSEQ: skip the octet */
			in_left--;
		}
	}
	iconv_close(cd);
	return true;
}

bool
search_charset_known(const char *charset)
{
	iconv_t cd;

	if (charset_is_utf8(charset) || charset_is_latin1(charset))
		return true;
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return false;
	iconv_close(cd);
	return true;
}

bool
search_charset_to_utf8(const char *charset, const uint8_t *s, size_t len, struct buf *out)
{
	if (charset_is_utf8(charset)) {
		(void)buf_append(out, s, len);
		return true;
	}
	if (charset_is_latin1(charset)) {
		for (size_t i = 0; i < len; i++)
			put_utf8(out, s[i]);
		return true;
	}
	if (charset_iconv(charset, s, len, out))
		return true;
	(void)buf_append(out, s, len);
	return false;
}

/* ---- transfer encodings ---- */

static int
hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* RFC 2045 6.7; with q (RFC 2047 4.2) "_" is a space. */
static void
decode_qp(const uint8_t *s, size_t len, struct buf *out, bool q)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = s[i];

		if (c == '=' && i + 2 < len && hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0) {
			(void)buf_append_byte(out,
			                      (uint8_t)(hexval(s[i + 1]) * 16 + hexval(s[i + 2])));
			i += 3;
		} else if (c == '=' && !q) {
			/* soft line break: "=" then optional white space then a line end */
			size_t j = i + 1;

			while (j < len && (s[j] == ' ' || s[j] == '\t'))
				j++;
			if (j < len && s[j] == '\r')
				j++;
			if (j < len && s[j] == '\n') {
				i = j + 1;
			} else {
				(void)buf_append_byte(out, c);
				i++;
			}
		} else if (c == '_' && q) {
			(void)buf_append_byte(out, ' ');
			i++;
		} else {
			(void)buf_append_byte(out, c);
			i++;
		}
	}
}

void
search_decode_qp(const uint8_t *s, size_t len, struct buf *out)
{
	decode_qp(s, len, out, false);
}

static int
b64val(uint8_t c)
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

void
search_decode_base64(const uint8_t *s, size_t len, struct buf *out)
{
	uint32_t acc = 0;
	unsigned bits = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64val(s[i]);

		if (s[i] == '=')
			break;
		if (v < 0)
			continue;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			(void)buf_append_byte(out, (uint8_t)(acc >> bits));
			acc &= (1u << bits) - 1;
		}
	}
}

/* ---- RFC 2047 ---- */

/* An encoded word at s: "=?" charset ["*" lang] "?" enc "?" text "?=" with
 * no white space (RFC 2047 2). Decodes into out; returns its length or 0. */
static size_t
encoded_word(const uint8_t *s, size_t len, struct buf *out)
{
	char charset[64];
	size_t i = 2, cs_len = 0, text_start, text_end;
	uint8_t enc;
	struct buf raw;

	while (i < len && s[i] != '?' && s[i] > ' ' && s[i] < 0x7f) {
		if (cs_len + 1 >= sizeof(charset))
			return 0;
		charset[cs_len++] = (char)s[i++];
	}
	charset[cs_len] = '\0';
	if (cs_len == 0 || i + 3 >= len || s[i] != '?' || s[i + 2] != '?')
		return 0;
	enc = s[i + 1];
	if (enc != 'Q' && enc != 'q' && enc != 'B' && enc != 'b')
		return 0;
	text_start = i + 3;
	text_end = text_start;
	while (text_end + 1 < len && !(s[text_end] == '?' && s[text_end + 1] == '=')) {
		if (s[text_end] == ' ' || s[text_end] == '\t')
			return 0;
		text_end++;
	}
	if (text_end + 1 >= len)
		return 0;
	char *star = strchr(charset, '*');
	if (star != NULL)
		*star = '\0'; /* RFC 2231 5 language */
	buf_init(&raw, 0);
	if (enc == 'Q' || enc == 'q')
		decode_qp(s + text_start, text_end - text_start, &raw, true);
	else
		search_decode_base64(s + text_start, text_end - text_start, &raw);
	search_charset_to_utf8(charset, buf_data(&raw), buf_len(&raw), out);
	buf_deinit(&raw);
	return text_end + 2;
}

void
search_decode_2047(const uint8_t *s, size_t len, struct buf *out)
{
	size_t i = 0, ws_start = 0, ws_len = 0;
	bool last_word = false;

	while (i < len) {
		size_t n = 0;

		if (s[i] == '=' && i + 1 < len && s[i + 1] == '?' &&
		    (last_word || ws_len > 0 || i == 0)) {
			/* an encoded word must stand alone (RFC 2047 5 (1)) */
			struct buf word;

			buf_init(&word, 0);
			n = encoded_word(s + i, len - i, &word);
			if (n > 0) {
				/* white space between two words goes (RFC 2047 6.2) */
				if (!last_word && ws_len > 0)
					(void)buf_append(out, s + ws_start, ws_len);
				(void)buf_append(out, buf_data(&word), buf_len(&word));
				ws_len = 0;
				last_word = true;
				i += n;
			}
			buf_deinit(&word);
			if (n > 0)
				continue;
		}
		if (s[i] == ' ' || s[i] == '\t') {
			if (ws_len == 0)
				ws_start = i;
			ws_len++;
			i++;
			continue;
		}
		if (ws_len > 0)
			(void)buf_append(out, s + ws_start, ws_len);
		ws_len = 0;
		last_word = false;
		(void)buf_append_byte(out, s[i]);
		i++;
	}
	if (ws_len > 0)
		(void)buf_append(out, s + ws_start, ws_len);
}

/* ---- header fields ---- */

static void
header_add(struct search_header *h, const struct rfc5322_field *field)
{
	struct search_field *f;
	struct buf v;

	h->fields = mem_realloc(h->fields, mem_size_mul(h->count + 1u, sizeof(*h->fields)));
	f = &h->fields[h->count++];
	memset(f, 0, sizeof(*f));
	f->name = mem_strndup(field->name, field->name_len);
	for (char *p = f->name; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	buf_init(&v, 0);
	(void)rfc5322_field_unfold(field, &v);
	/* NUL octets would cut the C string short: drop them */
	f->value = mem_alloc(buf_len(&v) + 1);
	size_t n = 0;
	for (size_t i = 0; i < buf_len(&v); i++) {
		if (buf_data(&v)[i] != '\0')
			f->value[n++] = (char)buf_data(&v)[i];
	}
	f->value[n] = '\0';
	buf_deinit(&v);
}

void
search_header_parse(const uint8_t *data, size_t len, struct search_header *h)
{
	struct rfc5322_header_parser p;
	struct rfc5322_field field;
	const char *err;
	size_t off = 0, used;
	enum rfc5322_header_result r;

	memset(h, 0, sizeof(*h));
	rfc5322_header_parser_init(&p, NULL);
	for (;;) {
		r = rfc5322_header_parse(&p, data + off, len - off, &used, &field, &err);
		off += used;
		if (r == RFC5322_HEADER_FIELD) {
			header_add(h, &field);
			continue;
		}
		if (r != RFC5322_HEADER_NEED_MORE)
			break;
		while ((r = rfc5322_header_finish(&p, &field, &err)) == RFC5322_HEADER_FIELD)
			header_add(h, &field);
		break;
	}
	rfc5322_header_parser_deinit(&p);
}

void
search_header_free(struct search_header *h)
{
	for (unsigned i = 0; i < h->count; i++) {
		mem_free(&h->fields[i].name);
		mem_free(&h->fields[i].value);
		mem_free(&h->fields[i].folded);
	}
	mem_free(&h->fields);
	h->count = 0;
}

struct search_field *
search_header_find(struct search_header *h, const char *name, struct search_field *after)
{
	unsigned i = after == NULL ? 0 : (unsigned)(after - h->fields) + 1;

	for (; i < h->count; i++) {
		if (strcmp(h->fields[i].name, name) == 0)
			return &h->fields[i];
	}
	return NULL;
}

/* Fields whose SEARCH keys (FROM, TO, CC, BCC) match the parsed addresses,
 * RFC 3501 6.4.4 ("the envelope structure's FROM field"). */
static bool
is_address_field(const char *name)
{
	return strcmp(name, "from") == 0 || strcmp(name, "to") == 0 ||
	       strcmp(name, "cc") == 0 || strcmp(name, "bcc") == 0;
}

/*
 * The addresses of an address field as ENVELOPE gives them, written back
 * without comments or folds: "name <local@domain>" (name: the display
 * name, else the comment after the address, RFC 2047-decoded) or
 * "local@domain", groups as "group: ...;", ", " between. So that
 * "<user (c)@ (c) domain.org>" is found by "user@domain.org" and
 * "a@b (Real Name)" by "real name". Nothing when the value does not parse.
 */
static void
address_text(const char *value, struct buf *out)
{
	struct rfc5322_address_limits limits;
	struct rfc5322_address_list list;
	const char *err;

	rfc5322_address_limits_init_default(&limits);
	if (rfc5322_address_list_parse((const uint8_t *)value, strlen(value), &limits,
	                               RFC5322_ADDRESS_LIST, &list, &err) < 0)
		return;
	for (unsigned i = 0; i < list.count; i++) {
		const struct rfc5322_address *a = &list.addrs[i];
		const char *name = a->display_name != NULL ? a->display_name : a->comment;
		bool group_start = a->group != 0 && (i == 0 || list.addrs[i - 1].group != a->group);
		bool group_end = a->group != 0 &&
		                 (i + 1 == list.count || list.addrs[i + 1].group != a->group);

		if (i > 0)
			(void)buf_append_str(out, ", ");
		if (group_start) {
			search_decode_2047((const uint8_t *)a->group_name, strlen(a->group_name),
			                   out);
			(void)buf_append_str(out, ": ");
		}
		if (a->local_part != NULL && name != NULL && *name != '\0') {
			search_decode_2047((const uint8_t *)name, strlen(name), out);
			(void)buf_append_str(out, " <");
			(void)rfc5322_address_format(a, out);
			(void)buf_append_byte(out, '>');
		} else if (a->local_part != NULL) {
			(void)rfc5322_address_format(a, out);
		}
		if (group_end)
			(void)buf_append_byte(out, ';');
	}
	rfc5322_address_list_deinit(&list);
}

const char *
search_field_folded(struct search_field *f, size_t *len_r)
{
	if (f->folded == NULL) {
		struct buf dec, fold;

		buf_init(&dec, 0);
		buf_init(&fold, 0);
		if (is_address_field(f->name)) {
			/* the parsed addresses, then a NUL (never in a search
			 * string, so no match spans both) and the field as
			 * written, which HEADER FROM etc. search (6.4.4) */
			address_text(f->value, &dec);
			(void)buf_append_byte(&dec, '\0');
		}
		search_decode_2047((const uint8_t *)f->value, strlen(f->value), &dec);
		search_fold_append(&fold, buf_data(&dec), buf_len(&dec));
		f->folded_len = buf_len(&fold);
		f->folded = buf_steal_str(&fold);
		buf_deinit(&dec);
		buf_deinit(&fold);
	}
	*len_r = f->folded_len;
	return f->folded;
}

/* ---- body text ---- */

static void
header_text(const uint8_t *data, size_t len, struct buf *out)
{
	struct search_header h;

	search_header_parse(data, len, &h);
	for (unsigned i = 0; i < h.count; i++) {
		size_t n;
		const char *v = search_field_folded(&h.fields[i], &n);

		(void)buf_append(out, v, n);
		(void)buf_append_byte(out, '\n');
	}
	search_header_free(&h);
}

static void
part_text(const struct imap_message *msg, const struct mime_part *part, struct buf *out)
{
	const uint8_t *body = msg->data + part->body_offset;
	size_t len = (size_t)part->body_size;

	if ((part->flags & MIME_PART_FLAG_MULTIPART) != 0) {
		for (const struct mime_part *c = part->children; c != NULL; c = c->next)
			part_text(msg, c, out);
		return;
	}
	if ((part->flags & MIME_PART_FLAG_MESSAGE) != 0) {
		for (const struct mime_part *c = part->children; c != NULL; c = c->next) {
			header_text(msg->data + c->header_offset, (size_t)c->header_size, out);
			part_text(msg, c, out);
		}
		return;
	}
	if (part->content_type.type == NULL || strcmp(part->content_type.type, "text") != 0)
		return;
	struct buf dec, utf8;
	const char *charset = mime_params_get(&part->content_type.params, "charset");

	buf_init(&dec, 0);
	buf_init(&utf8, 0);
	if (part->encoding == MIME_ENCODING_QUOTED_PRINTABLE)
		search_decode_qp(body, len, &dec);
	else if (part->encoding == MIME_ENCODING_BASE64)
		search_decode_base64(body, len, &dec);
	else
		(void)buf_append(&dec, body, len);
	search_charset_to_utf8(charset, buf_data(&dec), buf_len(&dec), &utf8);
	search_fold_append(out, buf_data(&utf8), buf_len(&utf8));
	(void)buf_append_byte(out, '\n');
	buf_deinit(&dec);
	buf_deinit(&utf8);
}

void
search_body_text(struct imap_message *msg, struct buf *out)
{
	const struct mime_part *root = imap_message_mime(msg);

	if (root != NULL)
		part_text(msg, root, out);
}
