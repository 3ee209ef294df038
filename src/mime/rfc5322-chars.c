/*
 * rfc5322-chars.c - see rfc5322-chars.h.
 *
 * The obsolete control characters that RFC 5322 4.1 still lets appear in
 * comments, quoted strings and quoted-pairs (obs-NO-WS-CTL, obs-qp) are
 * refused here: they are not seen from real mail programs, and text that
 * later reaches logs, IMAP responses and DSNs is safer without them.
 */
#include "mime/rfc5322-chars.h"

#include <string.h>

bool
rfc5322_is_atext(uint8_t c)
{
	if (rfc5322_is_alpha(c) || rfc5322_is_digit(c))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

size_t
rfc5322_utf8_len(const uint8_t *p, const uint8_t *end)
{
	size_t n, avail = (size_t)(end - p);
	uint8_t min2 = 0x80, max2 = 0xbf;       /* range of the second octet */

	if (avail == 0)
		return 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			min2 = 0xa0;    /* shorter forms are overlong */
		if (p[0] == 0xed)
			max2 = 0x9f;    /* U+D800..U+DFFF are surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			min2 = 0x90;
		if (p[0] == 0xf4)
			max2 = 0x8f;    /* U+10FFFF is the last code point */
	} else {
		return 0;
	}
	if (avail < n || p[1] < min2 || p[1] > max2)
		return 0;
	for (size_t i = 2; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	}
	return n;
}

bool
rfc5322_utf8_valid(const uint8_t *data, size_t len)
{
	const uint8_t *p = data, *end = data + len;

	while (p < end) {
		if (*p < 0x80) {
			p++;
			continue;
		}
		size_t n = rfc5322_utf8_len(p, end);

		if (n == 0)
			return false;
		p += n;
	}
	return true;
}

size_t
rfc5322_line_break_len(const uint8_t *p, const uint8_t *end)
{
	if (p < end && *p == '\n')
		return 1;
	if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
		return 2;
	return 0;
}

/*
 * A fold at p: a line break followed by WSP, or (outside comments) at the very
 * end of the input. Returns its length without the WSP, or 0 when p holds no
 * line break; -1 for a CR or LF that is not a valid fold.
 */
static int
fold_len(const uint8_t *p, const uint8_t *end, bool end_ok)
{
	size_t n = rfc5322_line_break_len(p, end);

	if (n == 0)
		return *p == '\r' ? -1 : 0;
	if (p + n == end)
		return end_ok ? (int)n : -1;
	return rfc5322_is_wsp(p[n]) ? (int)n : -1;
}

/* Length of one printable character at p (ASCII VCHAR or UTF-8), else 0. */
static size_t
vchar_len(const uint8_t *p, const uint8_t *end)
{
	if (*p >= 33 && *p <= 126)
		return 1;
	if (*p >= 0x80)
		return rfc5322_utf8_len(p, end);
	return 0;
}

/* Skip a comment starting at *pp == '('. RFC 5322 3.2.2, RFC 6532 3.2. */
static int
skip_comment(const uint8_t **pp, const uint8_t *end, const char **error_r)
{
	const uint8_t *p = *pp + 1;
	size_t depth = 1;

	while (p < end) {
		uint8_t c = *p;
		size_t n;
		int f;

		if (c == '(') {
			depth++;
			p++;
		} else if (c == ')') {
			p++;
			if (--depth == 0) {
				*pp = p;
				return 0;
			}
		} else if (c == '\\') {
			if (p + 1 == end || (!rfc5322_is_wsp(p[1]) && vchar_len(p + 1, end) == 0))
				break;
			p += 1 + (rfc5322_is_wsp(p[1]) ? 1 : vchar_len(p + 1, end));
		} else if (rfc5322_is_wsp(c)) {
			p++;
		} else if ((f = fold_len(p, end, false)) != 0) {
			if (f < 0)
				break;
			p += f;
		} else if ((n = vchar_len(p, end)) > 0) {
			p += n;     /* ctext: the '(' ')' '\' cases are above */
		} else {
			break;
		}
	}
	*pp = p;
	*error_r = p == end ? "Unterminated comment" : "Invalid character in comment";
	return -1;
}

int
rfc5322_skip_cfws(const uint8_t **pp, const uint8_t *end, const char **error_r)
{
	const uint8_t *p = *pp;
	int f;

	while (p < end) {
		if (rfc5322_is_wsp(*p)) {
			p++;
		} else if (*p == '(') {
			if (skip_comment(&p, end, error_r) < 0) {
				*pp = p;
				return -1;
			}
		} else if ((f = fold_len(p, end, true)) != 0) {
			if (f < 0) {
				*pp = p;
				*error_r = "Line break not followed by white space";
				return -1;
			}
			p += f;
		} else {
			break;
		}
	}
	f = p != *pp;
	*pp = p;
	return f;
}
