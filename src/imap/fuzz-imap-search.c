/*
 * fuzz-imap-search.c - libFuzzer target for search programs: the input is
 * IMAP command lines ("t SEARCH ...", "t SORT (...) UTF-8 ...", "t THREAD
 * REFERENCES UTF-8 ...", and their UID forms) parsed by imap-parser, then
 * by imap_search_parse / imap_sort_parse / imap_thread_parse; every
 * program that parses is matched against the sample messages and, for
 * SORT and THREAD, sorted and rendered. Nothing may crash, leak or read
 * out of bounds; a THREAD rendering must name each matching message once.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "imap/imap-parser.h"
#include "imap/imap-search.h"
#include "mime/test-mime-samples.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const samples[] = {
        MSG_PLAIN,
        MSG_MIXED,
        MSG_NESTED,
        MSG_RFC822,
        MSG_8BIT,
        "Subject: =?utf-8?b?UmU6IFtsaXN0XSBoaQ==?= (fwd)\r\nMessage-ID: <a@b>\r\n"
        "References: <x@y> <a@b>\r\nFrom: =?iso-8859-1?q?=E4?= <q@r>\r\n"
        "Date: 1 Jan 2020 00:00 +0100\r\n\r\nbody",
};
static const uint32_t saved[] = {2, 3};

static void
run(const struct imap_command *cmd)
{
	const struct imap_arg *args = cmd->args;
	unsigned n = cmd->n_args;
	const char *name = cmd->name;
	struct imap_search_params params;
	struct imap_search_program *prog = NULL;
	struct imap_sort_item items[N_ELEMENTS(samples)];
	const char *err;
	size_t matched = 0;
	bool uid = false;
	int ret;

	if (strcmp(name, "UID") == 0 && n > 0 && imap_arg_get_atom(&args[0], &name)) {
		uid = true;
		args++;
		n--;
	}
	memset(&params, 0, sizeof(params));
	params.count = N_ELEMENTS(samples);
	params.max_uid = 10 * N_ELEMENTS(samples);
	params.saved = saved;
	params.saved_count = N_ELEMENTS(saved);
	if (strcasecmp(name, "SORT") == 0)
		ret = imap_sort_parse(args, n, &params, &prog, &err);
	else if (strcasecmp(name, "THREAD") == 0)
		ret = imap_thread_parse(args, n, &params, &prog, &err);
	else
		ret = imap_search_parse(args, n, &params, &prog, &err);
	if (ret != 1) {
		if (prog != NULL || err == NULL)
			abort();
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(samples); i++) {
		struct imap_message msg;

		memset(&msg, 0, sizeof(msg));
		msg.seq = (uint32_t)i + 1;
		msg.uid = 10 * ((uint32_t)i + 1);
		msg.flags = (unsigned)i;
		msg.keywords = i % 2 == 0 ? "$Junk work" : NULL;
		msg.modseq = i * 7;
		msg.internaldate = 1600000000 + (int64_t)i * 86400;
		msg.data = (const uint8_t *)samples[i];
		msg.size = strlen(samples[i]);
		if (imap_search_match(prog, &msg, 1600000000) &&
		    imap_search_program_kind(prog) != IMAP_SEARCH_KIND_SEARCH)
			imap_sort_item_init(prog, &msg, &items[matched++]);
		imap_message_deinit(&msg);
	}
	if (imap_search_program_kind(prog) == IMAP_SEARCH_KIND_SORT) {
		imap_sort_items(prog, items, matched);
	} else if (imap_search_program_kind(prog) == IMAP_SEARCH_KIND_THREAD) {
		struct buf out;
		size_t numbers = 0;

		buf_init(&out, 0);
		imap_thread_render(prog, items, matched, uid, &out);
		for (size_t i = 0; i < buf_len(&out); i++) {
			uint8_t c = buf_data(&out)[i];

			if (c >= '0' && c <= '9' &&
			    (i + 1 == buf_len(&out) || buf_data(&out)[i + 1] < '0' ||
			     buf_data(&out)[i + 1] > '9'))
				numbers++;
		}
		if (numbers != matched)
			abort();
		buf_deinit(&out);
	}
	for (size_t i = 0; i < matched; i++)
		imap_sort_item_deinit(&items[i]);
	imap_search_program_free(&prog);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	size_t used, off = 0;

	imap_parser_limits_init_default(&limits);
	limits.max_literal = 4096;
	p = imap_parser_new(&limits, IMAP_PARSER_FLAG_UTF8);
	for (int events = 0; off < size && events < 100; events++) {
		enum imap_parser_result r = imap_parser_feed(p, data + off, size - off, &used);

		off += used;
		if (r == IMAP_PARSER_COMMAND)
			run(imap_parser_get_command(p));
		else if (r == IMAP_PARSER_NEED_MORE)
			break;
	}
	imap_parser_free(&p);
	return 0;
}
