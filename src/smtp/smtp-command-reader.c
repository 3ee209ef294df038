/*
 * smtp-command-reader.c - resumable CRLF line reader for SMTP commands.
 *
 * A four-state machine over the input bytes; its state and the partial line
 * live in struct smtp_command_reader, so input may be split anywhere.
 *
 *   TEXT     collecting line bytes          CR -> CR_SEEN, LF -> bare LF error
 *   CR_SEEN  a CR was the last byte         LF -> line done, else bare CR error
 *   SKIP     discarding a bad line          CR -> SKIP_CR
 *   SKIP_CR  discarding, last byte was CR   LF -> back to TEXT (next line)
 *
 * Only CRLF ends a line (RFC 5321 2.3.8). A bare CR or LF is reported at once
 * and the line is discarded up to the next CRLF, so nothing that follows a bare
 * newline on the same line is ever taken for a command. A line that exceeds
 * max_line is reported once, when its first excess byte arrives, and skipped
 * the same way; its partial content is never handed out. The reader never
 * holds more than max_line bytes.
 */
#include "smtp/smtp-command.h"

#include <string.h>

#include "core/mem.h"

enum reader_state {
	READER_TEXT = 0,
	READER_CR_SEEN,
	READER_SKIP,
	READER_SKIP_CR,
};

void
smtp_command_reader_init(struct smtp_command_reader *r, size_t max_line)
{
	ASSERT(max_line >= 8);
	memset(r, 0, sizeof(*r));
	/* the line is kept without its CRLF */
	buf_init(&r->line, max_line - 2);
	r->max_line = max_line;
	r->state = READER_TEXT;
}

void
smtp_command_reader_deinit(struct smtp_command_reader *r)
{
	buf_deinit(&r->line);
}

void
smtp_command_reader_set_max_line(struct smtp_command_reader *r, size_t max_line)
{
	ASSERT(max_line >= 8);
	/* between lines the partial line is empty, or it is the line already
	 * handed out, which the next read drops before it appends anything */
	ASSERT(r->line_ready || buf_len(&r->line) == 0);
	r->line.max = max_line - 2;
	r->max_line = max_line;
}

void
smtp_command_reader_wipe(struct smtp_command_reader *r)
{
	ASSERT(r->line_ready || buf_len(&r->line) == 0);
	if (r->line.data != NULL)
		explicit_bzero(r->line.data, r->line.cap);
	buf_reset(&r->line);
	r->line_ready = false;
}

/* Offset of the first CR or LF in p[0..len), or len. */
static size_t
find_newline(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r' || p[i] == '\n')
			return i;
	}
	return len;
}

/* Skip a discarded line; returns how many bytes were used (through its LF). */
static size_t
skip_line(struct smtp_command_reader *r, const uint8_t *data, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\r') {
			r->state = READER_SKIP_CR;
		} else if (data[i] == '\n' && r->state == READER_SKIP_CR) {
			r->state = READER_TEXT;
			return i + 1;
		} else {
			r->state = READER_SKIP;
		}
	}
	return len;
}

static enum smtp_command_read_result
reader_error(struct smtp_command_reader *r, enum smtp_command_read_result error,
	     size_t consumed, size_t *consumed_r)
{
	buf_reset(&r->line);
	r->state = READER_SKIP;
	*consumed_r = consumed;
	return error;
}

enum smtp_command_read_result
smtp_command_reader_read(struct smtp_command_reader *r, const uint8_t *data, size_t len,
			 size_t *consumed_r, const uint8_t **line_r, size_t *line_len_r)
{
	size_t i = 0;

	*line_r = NULL;
	*line_len_r = 0;
	if (r->line_ready) {
		buf_reset(&r->line);
		r->line_ready = false;
	}
	while (i < len) {
		if (r->state == READER_SKIP || r->state == READER_SKIP_CR) {
			i += skip_line(r, data + i, len - i);
			continue;
		}
		if (r->state == READER_CR_SEEN) {
			if (data[i] != '\n') {
				/* bare CR: data[i] is not consumed, the skip sees it */
				return reader_error(r, SMTP_COMMAND_READ_BARE_NEWLINE, i,
						    consumed_r);
			}
			r->state = READER_TEXT;
			r->line_ready = true;
			*consumed_r = i + 1;
			*line_r = buf_data(&r->line);
			*line_len_r = buf_len(&r->line);
			return SMTP_COMMAND_READ_LINE;
		}
		/* READER_TEXT */
		size_t span = find_newline(data + i, len - i);
		size_t room = r->line.max - buf_len(&r->line);

		if (span > room) {
			/* the first byte beyond the limit is consumed with the error */
			return reader_error(r, SMTP_COMMAND_READ_TOO_LONG, i + room + 1,
					    consumed_r);
		}
		if (buf_append(&r->line, data + i, span) < 0)
			PANIC("line buffer limit broken");
		i += span;
		if (i == len)
			break;
		if (data[i] == '\n')
			return reader_error(r, SMTP_COMMAND_READ_BARE_NEWLINE, i + 1, consumed_r);
		r->state = READER_CR_SEEN;
		i++;
	}
	*consumed_r = len;
	return SMTP_COMMAND_READ_NEED_MORE;
}
