/*
 * fuzz-imap-parser.c - libFuzzer target for the IMAP command parser (and
 * the sequence sets found in its atoms).
 *
 * Input: one byte choosing flags (UTF-8, LITERAL-), small or default limits
 * and a piece size, then a byte stream. The stream is parsed twice, whole
 * and in pieces; the event logs must be identical (any split gives the same
 * result). The harness switches to line mode after IDLE and AUTHENTICATE
 * without initial response, as the engine does. Every argument goes through
 * the getters; every atom that parses as a sequence set must come back
 * sorted, merged and unchanged by a format/parse round.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_seqset(const char *text, size_t len)
{
	struct imap_seqset set, again;
	struct buf out;
	const char *err;

	imap_seqset_init(&set);
	imap_seqset_init(&again);
	buf_init(&out, 0);
	if (imap_seqset_parse(text, len, 100, IMAP_SEQSET_ALLOW_DOLLAR, 50, &set, &err) > 0) {
		for (unsigned i = 0; i < set.count; i++) {
			if (set.ranges[i].first == 0 || set.ranges[i].first > set.ranges[i].last ||
			    (i > 0 && (uint64_t)set.ranges[i - 1].last + 1 >= set.ranges[i].first))
				abort();
		}
		imap_seqset_format(&set, &out);
		if (!set.searchres && set.count > 0) {
			if (imap_seqset_parse(buf_cstr(&out), buf_len(&out), 100, 0, 100000,
					      &again, &err) <= 0 || again.count != set.count ||
			    memcmp(again.ranges, set.ranges, set.count * sizeof(*set.ranges)) != 0)
				abort();
		}
	}
	imap_seqset_deinit(&set);
	imap_seqset_deinit(&again);
	buf_deinit(&out);
}

static void
walk_args(const struct imap_arg *args, unsigned count)
{
	for (unsigned i = 0; i < count; i++) {
		const struct imap_arg *a = &args[i], *list;
		const char *s;
		size_t len;
		unsigned n;
		uint64_t n64;

		if (imap_arg_get_list(a, &list, &n)) {
			walk_args(list, n);
			continue;
		}
		if (a->str[a->str_len] != '\0')
			abort();
		if (a->type != IMAP_ARG_LITERAL8 && strlen(a->str) != a->str_len)
			abort();
		(void)imap_arg_get_astring(a, &s, &len);
		(void)imap_arg_get_list_mailbox(a, &s, &len);
		(void)imap_arg_get_number64(a, &n64);
		if (a->type == IMAP_ARG_ATOM)
			check_seqset(a->str, a->str_len);
	}
}

static void
log_event(struct imap_parser *p, enum imap_parser_result res, struct buf *ev)
{
	const struct imap_command *cmd;
	const struct imap_parser_error *err;
	const char *line;
	size_t len;

	buf_printf(ev, "%d ", res);
	if (res == IMAP_PARSER_COMMAND) {
		cmd = imap_parser_get_command(p);
		buf_printf(ev, "%s %s ", cmd->tag, cmd->name);
		imap_args_describe(cmd->args, cmd->n_args, ev);
		walk_args(cmd->args, cmd->n_args);
		if (strcmp(cmd->name, "IDLE") == 0 ||
		    (strcmp(cmd->name, "AUTHENTICATE") == 0 && cmd->n_args == 1))
			imap_parser_expect_line(p);
	} else if (res == IMAP_PARSER_ERROR) {
		err = imap_parser_get_error(p);
		if (err->message == NULL || err->code == IMAP_PARSER_ERROR_NONE)
			abort();
		buf_printf(ev, "%s %d %s %llu", err->tag == NULL ? "*" : err->tag, err->code,
			   err->message, (unsigned long long)err->skip_bytes);
	} else if (res == IMAP_PARSER_CONTINUE) {
		buf_printf(ev, "%llu", (unsigned long long)imap_parser_literal_size(p));
	} else if (res == IMAP_PARSER_LINE) {
		line = imap_parser_get_line(p, &len);
		buf_append(ev, line, len);
	}
	buf_append_byte(ev, '\n');
}

static void
run(const uint8_t *data, size_t size, const struct imap_parser_limits *limits, unsigned flags,
    size_t piece, struct buf *ev)
{
	struct imap_parser *p = imap_parser_new(limits, flags);
	struct buf pending;
	size_t pos = 0;

	buf_init(&pending, 0);
	while (pos < size) {
		size_t n = size - pos < piece ? size - pos : piece;

		buf_append(&pending, data + pos, n);
		pos += n;
		for (;;) {
			size_t used;
			enum imap_parser_result res =
				imap_parser_feed(p, buf_data(&pending), buf_len(&pending), &used);

			if (used > buf_len(&pending))
				abort();
			buf_consume(&pending, used);
			if (res == IMAP_PARSER_NEED_MORE) {
				if (buf_len(&pending) != 0)
					abort();
				break;
			}
			log_event(p, res, ev);
		}
	}
	buf_deinit(&pending);
	imap_parser_free(&p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct buf whole, pieces;
	unsigned flags;
	size_t piece;

	if (size == 0)
		return 0;
	imap_parser_limits_init_default(&limits);
	flags = data[0] & 0x03;
	if ((data[0] & 0x04) != 0) {
		limits.max_line = 32;
		limits.max_literal = 16;
		limits.max_command = 64;
		limits.max_depth = 3;
		limits.max_args = 8;
	}
	piece = 1 + ((data[0] >> 3) & 0x0f);
	data++;
	size--;
	buf_init(&whole, 0);
	buf_init(&pieces, 0);
	run(data, size, &limits, flags, size == 0 ? 1 : size, &whole);
	run(data, size, &limits, flags, piece, &pieces);
	if (buf_len(&whole) != buf_len(&pieces) ||
	    memcmp(buf_data(&whole), buf_data(&pieces), buf_len(&whole)) != 0)
		abort();
	buf_deinit(&whole);
	buf_deinit(&pieces);
	return 0;
}
