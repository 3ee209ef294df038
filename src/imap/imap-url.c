/*
 * imap-url.c - the IMAP URL parser and section cutter of imap-url.h.
 *
 * The URL is complete when it arrives (an astring of a command), so the
 * parser is a cursor over the string, not a resumable state machine. It
 * follows RFC 5092 2 and 9:
 *
 *   imapurl      = "imap://" iserver ipath-query
 *   iserver      = [iuserinfo "@"] host [":" port]
 *   iuserinfo    = enc-user [iauth] / [enc-user] iauth
 *   imessagepart = imailbox-ref iuid [isection] [ipartial] [iurlauth]
 *   imailbox-ref = enc-mailbox [";UIDVALIDITY=" nz-number]
 *   iuid         = "/;UID=" nz-number
 *   isection     = "/;SECTION=" enc-section
 *   ipartial     = "/;PARTIAL=" number ["." nz-number]
 *
 * enc-mailbox is made of bchar, which holds "/" but not ";": the mailbox
 * ends at the first ";", and without ";UIDVALIDITY=" its last "/" belongs
 * to "/;UID=".
 *
 * Does not: URLAUTH, search and message-list URLs (refused with a reason).
 */
#include "imap/imap-url.h"

#include <string.h>
#include <strings.h>

#include "core/mem.h"
#include "imap/imap-fetch.h"
#include "mime/imap-section.h"
#include "mime/mime-parser.h"

struct url_cursor {
	const char *p, *end;
};

static bool
url_take(struct url_cursor *c, const char *word)
{
	size_t n = strlen(word);

	if ((size_t)(c->end - c->p) < n || strncasecmp(c->p, word, n) != 0)
		return false;
	c->p += n;
	return true;
}

static int
url_hex(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* RFC 5092 9 achar/bchar (with "/" when slash), "%HH" handled by the caller. */
static bool
url_is_bchar(char c, bool slash)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
		return true;
	if (c == '/')
		return slash;
	return strchr("-._~!$'()*+,&=:@", c) != NULL;
}

/*
 * Decode s[0..len) (bchar, "/" only when slash, and %HH) into a new string.
 * NULL when a character is not allowed, an escape is broken, or a decoded
 * octet is a control character (NUL included).
 */
static char *
url_decode(const char *s, size_t len, bool slash)
{
	char *out = mem_alloc(len + 1);
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi = len - i >= 3 ? url_hex(s[i + 1]) : -1;
			int lo = len - i >= 3 ? url_hex(s[i + 2]) : -1;

			if (hi < 0 || lo < 0)
				goto fail;
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
			if (c < 0x20 || c == 0x7f)
				goto fail;
		} else if (!url_is_bchar((char)c, slash)) {
			goto fail;
		}
		out[n++] = (char)c;
	}
	out[n] = '\0';
	return out;
fail:
	mem_free(&out);
	return NULL;
}

/* nz-number (RFC 9051 9): 1-4294967295 without leading zeros. */
static bool
url_nz_number(struct url_cursor *c, uint32_t *num_r)
{
	uint64_t n = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		n = n * 10 + (uint64_t)(*c->p - '0');
		if (n > UINT32_MAX)
			return false;
		c->p++;
	}
	if (c->p == start || *start == '0')
		return false;
	*num_r = (uint32_t)n;
	return true;
}

/* Digits up to 2^63-1; nz: not zero and no leading zero. */
static bool
url_number64(struct url_cursor *c, bool nz, uint64_t *num_r)
{
	uint64_t n = 0;
	const char *start = c->p;

	while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
		uint64_t d = (uint64_t)(*c->p - '0');

		if (n > ((uint64_t)INT64_MAX - d) / 10)
			return false;
		n = n * 10 + d;
		c->p++;
	}
	if (c->p == start || (nz && (n == 0 || *start == '0')))
		return false;
	*num_r = n;
	return true;
}

/* iserver after "imap://", up to the "/" that starts the path. */
static int
url_parse_server(struct url_cursor *c, struct imap_url *url, const char **error_r)
{
	const char *slash = memchr(c->p, '/', (size_t)(c->end - c->p));
	const char *at = NULL, *host = c->p, *user_end;

	if (slash == NULL) {
		*error_r = "URL names no message";
		return -1;
	}
	for (const char *q = c->p; q < slash; q++) {
		if (*q == '@')
			at = q;
	}
	if (at != NULL) {
		/* iuserinfo: enc-user, then ";AUTH=" mechanism (ignored: the
		 * session is authenticated already) */
		user_end = at;
		for (const char *q = c->p; q < at; q++) {
			struct url_cursor a = { q, at };

			if (*q != ';')
				continue;
			if (!url_take(&a, ";AUTH=") || a.p == at) {
				*error_r = "Invalid user in URL";
				return -1;
			}
			user_end = q;
			break;
		}
		if (user_end > c->p) {
			url->user = url_decode(c->p, (size_t)(user_end - c->p), false);
			if (url->user == NULL) {
				*error_r = "Invalid user in URL";
				return -1;
			}
		}
		host = at + 1;
	}
	if (host == slash) {
		*error_r = "URL has no host";
		return -1;
	}
	for (const char *q = host; q < slash; q++) {
		unsigned char ch = (unsigned char)*q;

		/* RFC 3986 3.2.2-3.2.3: reg-name or IP literal, ":" port */
		if (ch <= 0x20 || ch >= 0x7f || strchr("\"<>\\^`{|}", ch) != NULL) {
			*error_r = "Invalid host in URL";
			return -1;
		}
	}
	url->host = mem_strndup(host, (size_t)(slash - host));
	c->p = slash;
	return 1;
}

/* After the "/" of the path: imessagepart (the mailbox ends at the first ";"). */
static int
url_parse_path(struct url_cursor *c, struct imap_url *url, const char **error_r)
{
	const char *start = c->p;
	const char *semi = memchr(c->p, ';', (size_t)(c->end - c->p));
	const char *end;

	if (semi == NULL || semi == start) {
		*error_r = semi == NULL ? "URL names no message (no ;UID=)"
					: "URL names no mailbox";
		return -1;
	}
	end = semi;
	c->p = semi;
	if (url_take(c, ";UIDVALIDITY=")) {
		if (!url_nz_number(c, &url->uidvalidity)) {
			*error_r = "Invalid UIDVALIDITY in URL";
			return -1;
		}
		if (!url_take(c, "/")) {
			*error_r = "URL names no message (no ;UID=)";
			return -1;
		}
	} else if (end[-1] == '/') {
		/* "mailbox/;UID=": the "/" is iuid's */
		end--;
	} else {
		*error_r = "Invalid URL: ;UIDVALIDITY= or /;UID= expected";
		return -1;
	}
	if (end == start) {
		*error_r = "URL names no mailbox";
		return -1;
	}
	url->mailbox = url_decode(start, (size_t)(end - start), true);
	if (url->mailbox == NULL) {
		*error_r = "Invalid mailbox name in URL";
		return -1;
	}
	if (!url_take(c, ";UID=") || !url_nz_number(c, &url->uid)) {
		*error_r = "URL names no message (no ;UID=)";
		return -1;
	}
	if (url_take(c, "/;SECTION=")) {
		const char *sec = c->p;

		/* enc-section is bchar, which holds "/" but not ";": the
		 * section ends at a ";" (";URLAUTH=" after it, RFC 5092 4)
		 * or a "/;" (";PARTIAL="); any other "/" stays in it */
		while (c->p < c->end && *c->p != ';' &&
		       !(c->end - c->p >= 2 && c->p[0] == '/' && c->p[1] == ';'))
			c->p++;
		if (c->p == sec) {
			*error_r = "Empty section in URL";
			return -1;
		}
		url->section = url_decode(sec, (size_t)(c->p - sec), true);
		if (url->section == NULL) {
			*error_r = "Invalid section in URL";
			return -1;
		}
	}
	if (url_take(c, "/;PARTIAL=")) {
		url->partial = true;
		if (!url_number64(c, false, &url->partial_offset) ||
		    (url_take(c, ".") && !url_number64(c, true, &url->partial_length))) {
			*error_r = "Invalid PARTIAL in URL";
			return -1;
		}
	}
	if (c->p < c->end) {
		struct url_cursor rest = *c;

		*error_r = url_take(&rest, ";EXPIRE=") || url_take(&rest, ";URLAUTH=")
				   ? "URLAUTH is not supported"
				   : "Invalid URL: trailing characters";
		return -1;
	}
	return 1;
}

int
imap_url_parse(const char *str, size_t len, struct imap_url *url_r, const char **error_r)
{
	struct url_cursor c = { str, str + len };
	struct imap_section section;
	int ret = 1;

	memset(url_r, 0, sizeof(*url_r));
	if (len == 0 || len > IMAP_URL_MAX_LEN || memchr(str, '\0', len) != NULL) {
		*error_r = len == 0 ? "Empty URL" : "Invalid URL";
		return -1;
	}
	if (url_take(&c, "imap://")) {
		url_r->full = true;
		ret = url_parse_server(&c, url_r, error_r);
	} else if (len >= 2 && str[0] == '/' && str[1] == '/') {
		/* a network-path reference names some other server */
		*error_r = "URL of another scheme or server";
		ret = -1;
	} else if (str[0] != '/') {
		*error_r = str[0] == ';' || str[0] == '?' ? "Relative URL not supported"
							  : "URL of another scheme";
		ret = -1;
	}
	if (ret == 1) {
		c.p++; /* the "/" */
		ret = url_parse_path(&c, url_r, error_r);
	}
	if (ret == 1 && url_r->section != NULL) {
		/* the section must be one FETCH BODY[...] would take */
		if (imap_section_parse(url_r->section, strlen(url_r->section), &section,
				       error_r) < 0)
			ret = -1;
		else
			imap_section_deinit(&section);
	}
	if (ret < 0)
		imap_url_deinit(url_r);
	return ret;
}

void
imap_url_deinit(struct imap_url *url)
{
	mem_free(&url->user);
	mem_free(&url->host);
	mem_free(&url->mailbox);
	mem_free(&url->section);
	memset(url, 0, sizeof(*url));
}

static char *
url_strdup_null(const char *s)
{
	return s != NULL ? mem_strdup(s) : NULL;
}

void
imap_url_copy(const struct imap_url *src, struct imap_url *dst)
{
	*dst = *src;
	dst->user = url_strdup_null(src->user);
	dst->host = url_strdup_null(src->host);
	dst->mailbox = url_strdup_null(src->mailbox);
	dst->section = url_strdup_null(src->section);
}

int
imap_url_section(const struct imap_url *url, const uint8_t *msg, size_t len,
		 struct buf *scratch, const uint8_t **data_r, size_t *len_r, const char **error_r)
{
	const uint8_t *data = msg;
	size_t n = len;

	if (url->section != NULL) {
		struct imap_section section;
		struct mime_part *root;
		int ret;

		if (imap_section_parse(url->section, strlen(url->section), &section, error_r) < 0)
			return -1;
		/* the section as FETCH BODY[section] cuts it */
		root = mime_parse_message(msg, len, NULL);
		ret = imap_fetch_section_data(&section, root, msg, scratch, &data, &n);
		if (ret == 0)
			*error_r = "No such part in the message";
		else if (ret < 0)
			*error_r = "Section too big";
		mime_part_free(&root);
		imap_section_deinit(&section);
		if (ret <= 0)
			return -1;
	}
	/* RFC 5092 5: an origin past the end gives no octets */
	if (url->partial)
		data = imap_fetch_partial(data, &n, url->partial_offset, url->partial_length);
	*data_r = data != NULL ? data : (const uint8_t *)"";
	*len_r = n;
	return 1;
}
