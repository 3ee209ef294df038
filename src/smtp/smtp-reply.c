/*
 * smtp-reply.c - SMTP reply parser and reply-text sanitiser (see smtp-reply.h).
 *
 * The parser works line by line: bytes up to LF are gathered (at most
 * max_line of them kept), then the line is checked and added to the reply.
 * It holds no state between lines but the reply being built, so a split
 * anywhere gives the same result.
 */
#include "smtp/smtp-reply.h"

#include "core/mem.h"

#include <string.h>

void
smtp_reply_limits_init_default(struct smtp_reply_limits *limits)
{
	limits->max_line = SMTP_REPLY_DEFAULT_MAX_LINE;
	limits->max_lines = SMTP_REPLY_DEFAULT_MAX_LINES;
}

void
smtp_reply_parser_init(struct smtp_reply_parser *p, const struct smtp_reply_limits *limits)
{
	memset(p, 0, sizeof(*p));
	if (limits != NULL)
		p->limits = *limits;
	else
		smtp_reply_limits_init_default(&p->limits);
	if (p->limits.max_line < 8)
		p->limits.max_line = 8;
	if (p->limits.max_lines < 1)
		p->limits.max_lines = 1;
	buf_init(&p->line, p->limits.max_line);
	/* each kept line plus its '\n' */
	buf_init(&p->text, mem_size_mul(mem_size_add(p->limits.max_line, 1), p->limits.max_lines));
}

void
smtp_reply_parser_deinit(struct smtp_reply_parser *p)
{
	buf_deinit(&p->line);
	buf_deinit(&p->text);
}

static void
reply_clear(struct smtp_reply_parser *p)
{
	buf_reset(&p->text);
	memset(&p->reply, 0, sizeof(p->reply));
	p->done = false;
}

void
smtp_reply_parser_reset(struct smtp_reply_parser *p)
{
	reply_clear(p);
	buf_reset(&p->line);
	p->line_truncated = false;
	p->line_cr = false;
	p->failed = false;
	p->error = NULL;
}

static bool
is_digit(uint8_t c)
{
	return c >= '0' && c <= '9';
}

/* Length of an RFC 3463 status code of class cls at t ("X.Y.Z" followed by
 * SP or the end), or 0. subject and detail are 1-3 digits (RFC 3463 2). */
static size_t
enhanced_len(const uint8_t *t, size_t len, unsigned cls)
{
	size_t i = 0, n;

	if (len < 5 || t[0] != '0' + cls || t[1] != '.')
		return 0;
	i = 2;
	for (n = 0; i < len && is_digit(t[i]) && n < 4; i++, n++)
		;
	if (n == 0 || n > 3 || i >= len || t[i] != '.')
		return 0;
	i++;
	for (n = 0; i < len && is_digit(t[i]) && n < 4; i++, n++)
		;
	if (n == 0 || n > 3 || (i < len && t[i] != ' '))
		return 0;
	return i;
}

/* Check one complete line (without CR LF) and add it to the reply.
 * Returns 1 when it was the last line, 0 for a continuation, -1 on error. */
static int
reply_add_line(struct smtp_reply_parser *p, const uint8_t *l, size_t len)
{
	unsigned code;
	uint8_t sep;
	size_t elen;

	/* RFC 5321 4.2: three digits, then SP, "-" or the end of the line */
	if (len < 3 || !is_digit(l[0]) || !is_digit(l[1]) || !is_digit(l[2])) {
		p->error = "reply line does not start with a 3-digit code";
		return -1;
	}
	/* RFC 5321 4.2.1: first digit 2-5 (1yz is unused in SMTP), second 0-5 */
	if (l[0] < '2' || l[0] > '5' || l[1] > '5') {
		p->error = "reply code out of range";
		return -1;
	}
	code = (unsigned)(l[0] - '0') * 100 + (unsigned)(l[1] - '0') * 10 + (unsigned)(l[2] - '0');
	sep = len > 3 ? l[3] : ' ';
	if (sep != ' ' && sep != '-') {
		p->error = "reply code not followed by space or hyphen";
		return -1;
	}
	if (p->reply.n_lines > 0 && code != p->reply.code) {
		/* RFC 5321 4.2.1: every line of a multi-line reply has the same code */
		p->error = "multi-line reply with different codes";
		return -1;
	}
	if (p->reply.n_lines >= p->limits.max_lines) {
		p->error = "too many lines in reply";
		return -1;
	}
	p->reply.code = code;
	l += len > 3 ? 4 : 3;
	len -= len > 3 ? 4 : 3;
	elen = enhanced_len(l, len, code / 100);
	if (elen > 0) {
		if (p->reply.n_lines == 0) {
			memcpy(p->reply.enhanced, l, elen);
			p->reply.enhanced[elen] = '\0';
		}
		l += elen;
		len -= elen;
		if (len > 0)    /* the SP after the status code */
			l++, len--;
	}
	if (p->reply.n_lines > 0 && buf_append_byte(&p->text, '\n') < 0)
		PANIC("reply text buffer too small");
	if (buf_append(&p->text, l, len) < 0)
		PANIC("reply text buffer too small");
	p->reply.n_lines++;
	return sep == ' ' ? 1 : 0;
}

enum smtp_reply_result
smtp_reply_parser_feed(struct smtp_reply_parser *p, const uint8_t *data, size_t len,
		       size_t *consumed_r, const struct smtp_reply **reply_r, const char **error_r)
{
	size_t pos = 0;

	*consumed_r = 0;
	*reply_r = NULL;
	*error_r = NULL;
	if (p->failed) {
		*error_r = p->error;
		return SMTP_REPLY_ERROR;
	}
	if (p->done)
		reply_clear(p);
	while (pos < len) {
		const uint8_t *lf = memchr(data + pos, '\n', len - pos);
		size_t seg = (lf != NULL ? (size_t)(lf - data) : len) - pos;
		size_t room = p->limits.max_line - buf_len(&p->line);
		size_t llen;
		int ret;

		if (seg > 0) {
			if (seg > room) {
				p->line_truncated = true;
				buf_append(&p->line, data + pos, room);
			} else {
				buf_append(&p->line, data + pos, seg);
			}
			p->line_cr = data[pos + seg - 1] == '\r';
		}
		if (lf == NULL) {
			*consumed_r = len;
			return SMTP_REPLY_NEED_MORE;
		}
		pos += seg + 1;
		llen = buf_len(&p->line);
		if (p->line_cr) {
			/* drop the CR of CRLF if it was kept */
			if (!p->line_truncated && llen > 0)
				llen--;
		} else {
			p->reply.bare_lf = true;
		}
		if (p->line_truncated)
			p->reply.truncated = true;
		ret = reply_add_line(p, buf_data(&p->line), llen);
		buf_reset(&p->line);
		p->line_truncated = false;
		p->line_cr = false;
		if (ret < 0) {
			p->failed = true;
			*consumed_r = pos;
			*error_r = p->error;
			return SMTP_REPLY_ERROR;
		}
		if (ret > 0) {
			p->reply.text = buf_cstr(&p->text);
			p->reply.text_len = buf_len(&p->text);
			p->done = true;
			*consumed_r = pos;
			*reply_r = &p->reply;
			return SMTP_REPLY_DONE;
		}
	}
	*consumed_r = len;
	return SMTP_REPLY_NEED_MORE;
}

int
smtp_reply_sanitize(const char *text, size_t len, size_t max_len, struct buf *out)
{
	size_t keep = len, start = buf_len(out), i;
	bool cut = false;

	if (max_len < 8)
		max_len = 8;
	if (len > max_len) {
		keep = max_len - 3;
		cut = true;
	}
	for (i = 0; i < keep; i++) {
		uint8_t c = (uint8_t)text[i];

		if (c == '\n')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		if (buf_append_byte(out, c) < 0)
			goto full;
	}
	if (cut && buf_append_str(out, "...") < 0)
		goto full;
	return 0;
full:
	buf_truncate(out, start);
	return -1;
}

char *
smtp_reply_sanitize_dup(const char *text, size_t len, size_t max_len)
{
	struct buf b;

	buf_init(&b, 0);
	(void)smtp_reply_sanitize(text, len, max_len, &b);
	return buf_steal_str(&b);
}
