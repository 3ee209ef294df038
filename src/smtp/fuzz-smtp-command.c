/*
 * fuzz-smtp-command.c - libFuzzer target for the command line reader, the
 * command parser and the DATA decoder.
 *
 * Input: one byte choosing the line limit and a piece size, then a byte
 * stream. The stream is read as command lines twice, whole and in pieces;
 * the events must be identical (any split gives the same result). Each line
 * is parsed, and the values of DSN parameters (RFC 3461 4: NOTIFY, RET,
 * ENVID, ORCPT) go through their checks, whose accepted results must keep
 * the RFC's rules (NEVER alone, lengths within the maximum). When a line is
 * "DATA", the bytes after it go through the DATA decoder, again whole and
 * in pieces, with identical output, and reading resumes after the message
 * end, as the engine does.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "smtp/smtp-command.h"
#include "smtp/smtp-data.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
sink(void *ctx, const uint8_t *data, size_t len)
{
	buf_append(ctx, data, len);
}

/* Decode a DATA stream starting at data; returns bytes consumed, or len. */
static size_t
decode_data(const uint8_t *data, size_t len, size_t piece, struct buf *out)
{
	struct smtp_data_decoder *d = mem_alloc(sizeof(*d));
	size_t pos = 0, used;

	smtp_data_decoder_init(d, 1000, sink, out);
	while (pos < len) {
		size_t n = len - pos < piece ? len - pos : piece;

		if (smtp_data_decoder_feed(d, data + pos, n, &used) > 0) {
			pos += used;
			buf_printf(out, "|end big=%d bare=%d size=%llu", d->too_big,
				   d->bare_newline, (unsigned long long)d->size);
			mem_free(&d);
			return pos;
		}
		if (used != n)
			abort();
		pos += n;
	}
	mem_free(&d);
	return len;
}

/* The DSN value checks, with what an accepted value must satisfy. */
static void
describe_dsn_param(const struct smtp_param *p, struct buf *ev)
{
	const char *err = NULL;
	size_t len = p->value != NULL ? strlen(p->value) : 0;
	unsigned notify = 0;
	enum smtp_dsn_ret rv = SMTP_DSN_RET_NONE;
	int r;

	if (strcmp(p->keyword, "NOTIFY") == 0) {
		r = smtp_dsn_parse_notify(p->value, &notify, &err);
		if (r > 0 && (notify == 0 || notify > 0x0f ||
			      ((notify & SMTP_DSN_NOTIFY_NEVER) != 0 &&
			       notify != SMTP_DSN_NOTIFY_NEVER)))
			abort();
		buf_printf(ev, "notify %d %u\n", r, notify);
	} else if (strcmp(p->keyword, "RET") == 0) {
		r = smtp_dsn_parse_ret(p->value, &rv, &err);
		buf_printf(ev, "ret %d %d\n", r, (int)rv);
	} else if (strcmp(p->keyword, "ENVID") == 0) {
		r = smtp_dsn_check_envid(p->value, &err);
		if (r > 0 && (len == 0 || len > SMTP_DSN_ENVID_MAX))
			abort();
		buf_printf(ev, "envid %d\n", r);
	} else if (strcmp(p->keyword, "ORCPT") == 0) {
		r = smtp_dsn_check_orcpt(p->value, &err);
		if (r > 0 && (len > SMTP_DSN_ORCPT_MAX || strchr(p->value, ';') == NULL))
			abort();
		buf_printf(ev, "orcpt %d\n", r);
	} else {
		return;
	}
	if (r < 0 && err == NULL)
		abort();
}

static void
describe(const uint8_t *line, size_t len, const struct smtp_command_limits *limits,
	 struct buf *ev)
{
	struct smtp_command cmd;
	const char *err;
	int ret = smtp_command_parse(line, len, limits, SMTP_COMMAND_PARSE_UTF8, &cmd, &err);

	if (ret < 0 && (err == NULL || cmd.error == SMTP_COMMAND_ERROR_NONE))
		abort();
	buf_printf(ev, "%s %d %d\n", smtp_verb_name(cmd.verb), ret, cmd.error);
	if (cmd.path.localpart != NULL)
		smtp_address_format_path(&cmd.path, ev);
	for (unsigned i = 0; ret > 0 && i < cmd.n_params; i++)
		describe_dsn_param(&cmd.params[i], ev);
	smtp_command_deinit(&cmd);
}

/* Read the whole stream in pieces of `piece` bytes; log events into ev. */
static void
run(const uint8_t *data, size_t size, size_t max_line, size_t piece, struct buf *ev)
{
	struct smtp_command_limits limits;
	struct smtp_command_reader r;
	struct buf pending;
	size_t pos = 0;

	smtp_command_limits_init_default(&limits);
	limits.max_line = max_line;
	smtp_command_reader_init(&r, max_line);
	buf_init(&pending, 0);
	while (pos < size || buf_len(&pending) > 0) {
		size_t n = size - pos < piece ? size - pos : piece;
		const uint8_t *line;
		size_t used, line_len;
		int res;

		buf_append(&pending, data + pos, n);
		pos += n;
		res = smtp_command_reader_read(&r, buf_data(&pending), buf_len(&pending), &used,
					       &line, &line_len);
		if (used > buf_len(&pending))
			abort();
		buf_consume(&pending, used);
		if (res == SMTP_COMMAND_READ_NEED_MORE) {
			if (buf_len(&pending) != 0)
				abort();
			continue;
		}
		buf_printf(ev, "event %d\n", res);
		if (res != SMTP_COMMAND_READ_LINE)
			continue;
		if (line_len > max_line - 2 || memchr(line, '\r', line_len) != NULL ||
		    memchr(line, '\n', line_len) != NULL)
			abort();
		describe(line, line_len, &limits, ev);
		if (line_len == 4 && memcmp(line, "DATA", 4) == 0) {
			/* the rest of the input, as far as available, is message */
			buf_append(&pending, data + pos, size - pos);
			pos = size;
			used = decode_data(buf_data(&pending), buf_len(&pending), piece, ev);
			buf_consume(&pending, used);
		}
	}
	buf_deinit(&pending);
	smtp_command_reader_deinit(&r);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, pieces;
	size_t max_line, piece;

	if (size == 0)
		return 0;
	max_line = (data[0] & 0x80) != 0 ? 16 + (data[0] & 0x0f) : SMTP_COMMAND_DEFAULT_MAX_LINE;
	piece = 1 + ((data[0] >> 4) & 0x07);
	data++;
	size--;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	run(data, size, max_line, size == 0 ? 1 : size, &whole);
	run(data, size, max_line, piece, &pieces);
	if (buf_len(&whole) != buf_len(&pieces) ||
	    memcmp(buf_data(&whole), buf_data(&pieces), buf_len(&whole)) != 0)
		abort();
	buf_deinit(&whole);
	buf_deinit(&pieces);
	return 0;
}
