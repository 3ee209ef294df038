/*
 * fuzz-imap-fetch.c - libFuzzer target for FETCH items: parsed from a
 * command line through imap-parser.h and imap_fetch_parse(), then
 * rendered against one of the MIME sample messages.
 *
 * Input: one byte choosing the sample and the render flags, then the text
 * after "t FETCH 1 " (a CRLF is added), optionally followed by a NUL and a
 * message to render instead of the sample (up to its first NUL). Checks: a render is either a whole
 * "* 1 FETCH (...)" CRLF line or leaves the buffer as it was; items that
 * need no content render the same without the message's octets.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "imap/imap-fetch.h"
#include "imap/imap-parser.h"
#include "mime/test-mime-samples.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const samples[] = {
	MSG_PLAIN, MSG_MIXED, MSG_NESTED, MSG_RFC822, MSG_8BIT,
	"Content-Type: text/plain; charset=iso-8859-1\r\n"
	"Content-Transfer-Encoding: quoted-printable\r\n\r\ncaf=E9 =\r\nbar\r\n",
	"Content-Type: application/x\r\nContent-Transfer-Encoding: x-uu\r\n\r\nbegin\r\n",
	"Content-Type: text/html; charset=utf-8\r\n\r\n<head><style>x</style></head><p>a&amp;b"
	"<!-- c --> &lt;<script>d</script",
};

static void
render_check(const struct imap_fetch_items *items, const char *sample, unsigned flags)
{
	struct imap_message msg = {
		.seq = 1, .uid = 9, .flags = flags & 0x1f,
		.keywords = (flags & 0x20) ? "k1 $k" : NULL,
		.modseq = 5, .internaldate = 1700000000, .savedate = (flags & 0x40) ? 1 : 0,
		.data = (const uint8_t *)sample, .size = strlen(sample),
	};
	struct buf out, again;
	enum imap_fetch_render_result ret;

	buf_init(&out, 0);
	buf_init(&again, 0);
	ret = imap_fetch_render(items, &msg, flags >> 3, &out);
	if (ret == IMAP_FETCH_RENDER_OK) {
		if (buf_len(&out) < 14 || memcmp(buf_data(&out), "* 1 FETCH (", 11) != 0 ||
		    memcmp(buf_data(&out) + buf_len(&out) - 3, ")\r\n", 3) != 0)
			abort();
	} else if (buf_len(&out) != 0 || ret != IMAP_FETCH_RENDER_UNKNOWN_CTE) {
		abort();
	}
	imap_message_deinit(&msg);
	if (!imap_fetch_needs_content(items)) {
		msg.data = NULL;
		if (imap_fetch_render(items, &msg, flags >> 3, &again) != ret ||
		    buf_len(&again) != buf_len(&out) ||
		    memcmp(buf_data(&again), buf_data(&out), buf_len(&out)) != 0)
			abort();
	}
	imap_message_deinit(&msg);
	buf_deinit(&out);
	buf_deinit(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct imap_parser_limits limits;
	struct imap_parser *p;
	struct buf line;
	size_t used;
	unsigned sel;
	const uint8_t *nul;
	char *message = NULL;

	if (size < 1)
		return 0;
	sel = data[0];
	imap_parser_limits_init_default(&limits);
	p = imap_parser_new(&limits, IMAP_PARSER_FLAG_UTF8);
	buf_init(&line, 0);
	buf_append_str(&line, "t FETCH 1 ");
	nul = memchr(data + 1, '\0', size - 1);
	if (nul != NULL) {
		/* the rest is the message */
		message = mem_strndup((const char *)nul + 1, size - (size_t)(nul + 1 - data));
		size = (size_t)(nul - data);
	}
	buf_append(&line, data + 1, size - 1);
	buf_append_str(&line, "\r\n");
	if (imap_parser_feed(p, buf_data(&line), buf_len(&line), &used) == IMAP_PARSER_COMMAND) {
		const struct imap_command *cmd = imap_parser_get_command(p);
		struct imap_fetch_items *items = NULL;
		const char *error;

		if (cmd->n_args >= 2 && imap_fetch_parse(&cmd->args[1], &items, &error) > 0) {
			const char *msg = message != NULL ? message
							  : samples[sel % N_ELEMENTS(samples)];

			(void)imap_fetch_sets_seen(items);
			render_check(items, msg, sel);
			imap_fetch_items_free(&items);
		} else if (items != NULL) {
			abort();
		}
	}
	imap_parser_free(&p);
	buf_deinit(&line);
	mem_free(&message);
	return 0;
}
