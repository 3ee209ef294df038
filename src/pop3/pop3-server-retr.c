/*
 * pop3-server-retr.c - RETR and TOP responses (RFC 1939 7), streamed.
 *
 * Does: start the retrieve hook; write "+OK" before the first octet of the
 * message (or at the end for an empty message); byte-stuff every line that
 * starts with "." (RFC 1939 3); for TOP n, pass the header, its blank line
 * and the first n body lines and drop the rest; make sure the content ends
 * with a line end before the terminating ".\r\n".
 *
 * Does not: buffer the message (data goes to io->write as it arrives, in
 * runs), convert line ends (the store keeps CRLF; the advertised size is the
 * glue's), or parse MIME.
 *
 * Invariants: the only state carried between data calls is struct
 * pop3_server_retr (a few flags, a counter and the last octet), so any split
 * of the message gives the same output. A line starts at the beginning of the
 * message and after every LF; an empty line is one holding nothing but CRs.
 */
#include "pop3/pop3-server-private.h"

#include <string.h>

#include "core/mem.h"

void
pop3_server_retr_start(struct pop3_server_session *s, unsigned index, long top_lines)
{
	struct pop3_server_retr *r = &s->retr;

	memset(r, 0, sizeof(*r));
	r->index = index;
	r->top_lines = top_lines;
	r->lines_left = top_lines;
	r->at_line_start = true;
	r->line_empty = true;
	s->pending = POP3_PENDING_RETRIEVE;
	pop3_server_flush(s);
	if (!pop3_server_dead(s))
		s->hooks.retrieve(s->hook_ctx, s, index, top_lines);
}

static void
pop3_server_retr_begin(struct pop3_server_session *s)
{
	struct pop3_server_retr *r = &s->retr;

	if (r->started)
		return;
	r->started = true;
	if (r->top_lines < 0)
		pop3_server_reply(s, "+OK %llu octets",
				  (unsigned long long)s->msgs[r->index].size);
	else
		pop3_server_reply(s, "+OK top of message follows");
}

/* A line has just ended: TOP counts the header's end and then body lines. */
static void
pop3_server_retr_line_end(struct pop3_server_retr *r)
{
	if (r->top_lines >= 0) {
		if (!r->in_body) {
			if (r->line_empty) {
				r->in_body = true;
				r->discard = r->top_lines == 0;
			}
		} else if (--r->lines_left <= 0) {
			r->discard = true;
		}
	}
	r->at_line_start = true;
	r->line_empty = true;
}

static bool
pop3_server_only_line_end(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true;
}

/* Write p[0..len) line piece by line piece, byte-stuffing line starts. */
static void
pop3_server_retr_stuff(struct pop3_server_session *s, const uint8_t *p, size_t len)
{
	struct pop3_server_retr *r = &s->retr;

	while (len > 0 && !r->discard && !pop3_server_dead(s)) {
		const uint8_t *lf;
		size_t n;

		if (r->at_line_start) {
			/* RFC 1939 3: a line starting with "." gets another "." */
			if (p[0] == '.')
				pop3_server_write(s, ".", 1);
			r->at_line_start = false;
		}
		lf = memchr(p, '\n', len);
		n = lf == NULL ? len : (size_t)(lf - p) + 1;
		if (r->line_empty && !pop3_server_only_line_end(p, n))
			r->line_empty = false;
		pop3_server_write(s, p, n);
		r->last = p[n - 1];
		p += n;
		len -= n;
		if (lf != NULL)
			pop3_server_retr_line_end(r);
	}
}

void
pop3_server_retrieve_data(struct pop3_server_session *s, const uint8_t *data, size_t len)
{
	if (pop3_server_dead(s))
		return;
	if (s->pending != POP3_PENDING_RETRIEVE)
		PANIC("pop3_server_retrieve_data without a retrieve in progress");
	if (len == 0)
		return;
	pop3_server_ref(s);
	pop3_server_retr_begin(s);
	pop3_server_retr_stuff(s, data, len);
	pop3_server_flush(s);
	pop3_server_unref(s);
}

/* The end of a successful response: line end if missing, then "." (RFC 1939 3). */
static void
pop3_server_retr_finish(struct pop3_server_session *s)
{
	struct pop3_server_retr *r = &s->retr;

	pop3_server_retr_begin(s);
	/* at_line_start: nothing sent yet, or the last octet sent was LF */
	if (!r->at_line_start)
		pop3_server_write(s, r->last == '\r' ? "\n" : "\r\n", r->last == '\r' ? 1 : 2);
	pop3_server_write(s, ".\r\n", 3);
}

void
pop3_server_retrieve_done(struct pop3_server_session *s, bool ok)
{
	if (pop3_server_dead(s))
		return;
	if (s->pending != POP3_PENDING_RETRIEVE)
		PANIC("pop3_server_retrieve_done without a retrieve in progress");
	pop3_server_ref(s);
	s->pending = POP3_PENDING_NONE;
	if (ok)
		pop3_server_retr_finish(s);
	else if (!s->retr.started)
		pop3_server_reply(s, "-ERR [SYS/TEMP] message could not be read");
	else
		pop3_server_close(s); /* the response cannot be completed honestly */
	pop3_server_resume(s);
	pop3_server_flush(s);
	pop3_server_unref(s);
}
