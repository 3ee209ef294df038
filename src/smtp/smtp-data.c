/*
 * smtp-data.c - DATA stream decoder (see smtp-data.h).
 *
 * States, where "line start" means just after a CRLF:
 *
 *   LINE_START  "." -> DOT (the dot is held), else as TEXT
 *   TEXT        CR -> CR (held), LF -> bare LF (content), else content
 *   CR          LF -> CRLF is content, LINE_START; else the CR was bare
 *   DOT         CR -> DOT_CR; else the dot was stuffing: dropped, as TEXT
 *   DOT_CR      LF -> end of message; else the dot was stuffing, as CR
 *   DONE        end seen
 *
 * Only a CRLF moves to LINE_START, so only <CRLF>.<CRLF> ends the message
 * (RFC 5321 4.1.1.4), and only a dot after CRLF is unstuffed (4.5.2). Bytes
 * that a state does not consume are looked at again in the next state.
 */
#include "smtp/smtp-data.h"

#include <string.h>

#include "core/mem.h"

enum data_state {
	DATA_LINE_START = 0,
	DATA_TEXT,
	DATA_CR,
	DATA_DOT,
	DATA_DOT_CR,
	DATA_DONE,
};

void
smtp_data_decoder_init(struct smtp_data_decoder *d, uint64_t max_size,
		       void (*sink)(void *ctx, const uint8_t *data, size_t len), void *sink_ctx)
{
	d->state = DATA_LINE_START;
	d->max_size = max_size;
	d->size = 0;
	d->too_big = false;
	d->bare_newline = false;
	d->sink = sink;
	d->sink_ctx = sink_ctx;
	d->out_len = 0;
}

static void
flush(struct smtp_data_decoder *d)
{
	if (d->out_len > 0 && d->sink != NULL)
		d->sink(d->sink_ctx, d->out, d->out_len);
	d->out_len = 0;
}

/*
 * Account for n decoded bytes and pass on those within max_size: the sink
 * gets exactly the first max_size octets of a message that is too big,
 * however the input was split.
 */
static void
emit(struct smtp_data_decoder *d, const uint8_t *p, size_t n)
{
	uint64_t room = UINT64_MAX;

	if (d->max_size != 0)
		room = d->size >= d->max_size ? 0 : d->max_size - d->size;
	if (__builtin_add_overflow(d->size, (uint64_t)n, &d->size))
		d->size = UINT64_MAX;
	if ((uint64_t)n > room) {
		d->too_big = true;
		n = (size_t)room;
	}
	while (n > 0) {
		size_t space = sizeof(d->out) - d->out_len;
		size_t take = n < space ? n : space;

		memcpy(d->out + d->out_len, p, take);
		d->out_len += take;
		p += take;
		n -= take;
		if (d->out_len == sizeof(d->out))
			flush(d);
	}
}

static size_t
find_newline(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			return i;
	}
	return len;
}

/* TEXT: copy up to the next CR or LF, then take that one byte. Returns bytes used. */
static size_t
decode_text(struct smtp_data_decoder *d, const uint8_t *p, size_t len)
{
	size_t span = find_newline(p, len);

	emit(d, p, span);
	if (span == len)
		return span;
	if (p[span] == '\r') {
		d->state = DATA_CR;
	} else {
		d->bare_newline = true;         /* LF without CR: content */
		emit(d, p + span, 1);
	}
	return span + 1;
}

int
smtp_data_decoder_feed(struct smtp_data_decoder *d, const uint8_t *data, size_t len,
		       size_t *consumed_r)
{
	static const uint8_t crlf[] = { '\r', '\n' };
	size_t i = 0;

	while (i < len && d->state != DATA_DONE) {
		uint8_t c = data[i];

		switch ((enum data_state)d->state) {
		case DATA_LINE_START:
			if (c == '.') {
				d->state = DATA_DOT;
				i++;
			} else {
				d->state = DATA_TEXT;
			}
			break;
		case DATA_TEXT:
			i += decode_text(d, data + i, len - i);
			break;
		case DATA_CR:
			if (c == '\n') {
				emit(d, crlf, 2);
				d->state = DATA_LINE_START;
				i++;
			} else {
				d->bare_newline = true; /* CR without LF: content */
				emit(d, crlf, 1);
				d->state = DATA_TEXT;
			}
			break;
		case DATA_DOT:
			/* "." + anything but CR: the dot was stuffing (4.5.2) */
			if (c == '\r') {
				d->state = DATA_DOT_CR;
				i++;
			} else {
				d->state = DATA_TEXT;
			}
			break;
		case DATA_DOT_CR:
			if (c == '\n') {
				d->state = DATA_DONE;
				i++;
			} else {
				d->state = DATA_CR;
			}
			break;
		case DATA_DONE:
			break;
		}
	}
	flush(d);
	*consumed_r = i;
	return d->state == DATA_DONE ? 1 : 0;
}
