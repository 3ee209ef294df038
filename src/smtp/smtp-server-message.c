/*
 * smtp-server-message.c - message payloads: the DATA stream and BDAT chunks,
 * and the end of a message.
 *
 * DATA: the bytes after 354 go through smtp-data.c (unstuffing, end at
 * <CRLF>.<CRLF> only). BDAT (RFC 3030): exactly chunk-size octets follow the
 * command and are passed on as they are; they are scanned for bare CR and
 * bare LF across chunk boundaries, since we do not offer BINARYMIME and the
 * message must be lines ending in CRLF.
 *
 * At the real end of a message: too big -> 552 5.3.4 (RFC 5321 4.5.3.1.10,
 * RFC 1870 6.2), bare CR/LF -> 550 5.6.0 (RFC 5321 2.3.8), both dropping the
 * transaction (rset hook); otherwise data_end decides. No 2xx for content is
 * ever written before that point: a non-LAST BDAT chunk gets "250 ... octets
 * received", which accepts nothing yet.
 *
 * A refused BDAT chunk is still consumed (bdat_discard) so that its bytes are
 * never read as commands; its reply is kept and written after it.
 */
#include "smtp/smtp-server-private.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "core/mem.h"

#define REPLY_TOO_BIG "Message size exceeds fixed maximum message size"
#define REPLY_BARE "Message contains bare CR or LF (RFC 5321 2.3.8)"

static void
data_sink(void *ctx, const uint8_t *data, size_t len)
{
	smtp_server_data_write(ctx, data, len);
}

void
smtp_server_data_start(struct smtp_server_session *s)
{
	if (s->decoder == NULL)
		s->decoder = mem_alloc(sizeof(*s->decoder));
	smtp_data_decoder_init(s->decoder, s->set.limits.max_message_size, data_sink, s);
	s->state = SMTP_STATE_DATA;
}

/* The real end of a message, DATA or BDAT LAST: refuse or ask data_end. */
static void
message_end(struct smtp_server_session *s, bool too_big, bool bare)
{
	s->state = SMTP_STATE_MAIL;
	if (too_big) {
		smtp_server_reset_transaction(s, true);
		smtp_server_reply(s, 552, "5.3.4", REPLY_TOO_BIG);
	} else if (bare) {
		smtp_server_reset_transaction(s, true);
		smtp_server_reply(s, 550, "5.6.0", REPLY_BARE);
	} else {
		smtp_server_call_hook(s, SMTP_PENDING_DATA_END);
	}
}

bool
smtp_server_data_step(struct smtp_server_session *s)
{
	size_t used;
	int ret;

	if (buf_len(&s->input) == 0)
		return false;
	ret = smtp_data_decoder_feed(s->decoder, buf_data(&s->input), buf_len(&s->input), &used);
	buf_consume(&s->input, used);
	if (s->destroyed || s->state != SMTP_STATE_DATA)
		return true;    /* closed from inside data_write */
	if (ret > 0) {
		s->msg_size = s->decoder->size;
		message_end(s, s->decoder->too_big, s->decoder->bare_newline);
	}
	return true;
}

void
smtp_server_message_end_complete(struct smtp_server_session *s, unsigned code, const char *enh,
				 const char *text)
{
	bool ok = code / 100 == 2;

	/* the transaction is over either way; the glue knows its outcome */
	smtp_server_reset_transaction(s, false);
	if (ok)
		s->errors = 0;
	if (enh == NULL)
		enh = ok ? "2.0.0" : code / 100 == 4 ? "4.0.0" : "5.0.0";
	if (text == NULL)
		text = ok ? "Ok: queued" : "Message not accepted";
	smtp_server_reply(s, code, enh, text);
}

void
smtp_server_bdat_start(struct smtp_server_session *s, bool discard)
{
	s->bdat_return_state = s->state;
	s->bdat_remaining = s->bdat_chunk;
	s->bdat_discard = discard;
	if (!discard)
		s->bdat_used = true;
	s->state = SMTP_STATE_BDAT;
}

void
smtp_server_bdat_refuse(struct smtp_server_session *s, unsigned code, const char *enh,
			const char *text, bool reset)
{
	mem_free(&s->bdat_err_enh);
	mem_free(&s->bdat_err_text);
	s->bdat_err_code = code;
	s->bdat_err_enh = mem_strdup(enh);
	s->bdat_err_text = mem_strdup(text);
	s->bdat_err_reset = reset;
	smtp_server_bdat_start(s, true);
}

/* Accepted chunk bytes: track CRLF pairs across calls and chunks, pass on. */
static void
bdat_accept(struct smtp_server_session *s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (s->bdat_cr ? p[i] != '\n' : p[i] == '\n')
			s->bdat_bare = true;
		s->bdat_cr = p[i] == '\r';
	}
	s->msg_size += n;
	smtp_server_data_write(s, p, n);
}

static void
bdat_chunk_done(struct smtp_server_session *s)
{
	s->state = s->bdat_return_state;
	if (s->bdat_discard) {
		char *enh = s->bdat_err_enh, *text = s->bdat_err_text;

		s->bdat_err_enh = s->bdat_err_text = NULL;
		if (s->bdat_err_reset)
			smtp_server_reset_transaction(s, true);
		smtp_server_reply(s, s->bdat_err_code, enh, text);
		mem_free(&enh);
		mem_free(&text);
		return;
	}
	if (!s->bdat_last) {
		char text[64];

		snprintf(text, sizeof(text), "%" PRIu64 " octets received", s->bdat_chunk);
		smtp_server_reply(s, 250, "2.0.0", text);
		return;
	}
	/* a CR as the very last octet has no LF after it */
	message_end(s, false, s->bdat_bare || s->bdat_cr);
}

bool
smtp_server_bdat_step(struct smtp_server_session *s)
{
	if (s->bdat_remaining > 0) {
		size_t n = buf_len(&s->input);

		if (n == 0)
			return false;
		if (n > s->bdat_remaining)
			n = (size_t)s->bdat_remaining;
		if (!s->bdat_discard)
			bdat_accept(s, buf_data(&s->input), n);
		buf_consume(&s->input, n);
		s->bdat_remaining -= n;
		if (s->destroyed || s->state != SMTP_STATE_BDAT)
			return true;    /* closed from inside data_write */
		if (s->bdat_remaining > 0)
			return true;
	}
	bdat_chunk_done(s);
	return true;
}

void
smtp_server_message_free(struct smtp_server_session *s)
{
	mem_free(&s->decoder);
	mem_free(&s->bdat_err_enh);
	mem_free(&s->bdat_err_text);
}
