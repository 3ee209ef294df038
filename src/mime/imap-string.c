/*
 * imap-string.c - IMAP quoted strings and literals (see imap-string.h).
 */
#include "mime/imap-string.h"

#include <string.h>

#include "core/mem.h"
#include "mime/rfc5322-chars.h"

/* Can data go into a quoted string (RFC 9051 9: quoted = DQUOTE
 * *QUOTED-CHAR DQUOTE; QUOTED-CHAR excludes CR, LF, NUL; UTF8-2..4 only
 * with UTF8=ACCEPT)? */
static bool
quotable(const uint8_t *d, size_t len, unsigned flags)
{
	bool eight = false;

	for (size_t i = 0; i < len; i++) {
		if (d[i] == '\r' || d[i] == '\n' || d[i] == '\0')
			return false;
		if (d[i] >= 0x80)
			eight = true;
	}
	if (!eight)
		return true;
	return (flags & IMAP_STRING_UTF8) != 0 && rfc5322_utf8_valid(d, len);
}

static int
append_quoted(struct buf *out, const uint8_t *d, size_t len)
{
	int ret = buf_append_byte(out, '"');

	for (size_t i = 0; i < len; i++) {
		if (d[i] == '"' || d[i] == '\\')
			ret |= buf_append_byte(out, '\\');
		ret |= buf_append_byte(out, d[i]);
	}
	return ret | buf_append_byte(out, '"');
}

static int
append_literal(struct buf *out, const uint8_t *d, size_t len)
{
	size_t n = 0, i = 0;
	int ret;

	for (size_t j = 0; j < len; j++)
		n += d[j] != '\0';
	ret = buf_printf(out, "{%zu}\r\n", n);
	while (i < len) {
		const uint8_t *nul = memchr(d + i, '\0', len - i);
		size_t run = nul == NULL ? len - i : (size_t)(nul - (d + i));

		ret |= buf_append(out, d + i, run);
		i += run + (nul != NULL);
	}
	return ret;
}

int
imap_string_append(struct buf *out, const void *data, size_t len, unsigned flags)
{
	size_t old_len = buf_len(out);
	int ret;

	if (quotable(data, len, flags))
		ret = append_quoted(out, data, len);
	else
		ret = append_literal(out, data, len);
	if (ret != 0) {
		buf_truncate(out, old_len);
		return -1;
	}
	return 0;
}

int
imap_string_append_nstring(struct buf *out, const char *s, unsigned flags)
{
	if (s == NULL)
		return buf_append_str(out, "NIL");
	return imap_string_append(out, s, strlen(s), flags);
}

int
imap_string_append_upper(struct buf *out, const char *s, unsigned flags)
{
	char *u;
	int ret;

	if (s == NULL)
		return buf_append_str(out, "NIL");
	u = mem_strdup(s);
	for (char *c = u; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	ret = imap_string_append(out, u, strlen(u), flags);
	mem_free(&u);
	return ret;
}
