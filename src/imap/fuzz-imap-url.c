/*
 * fuzz-imap-url.c - libFuzzer target for the IMAP URL parser (RFC 5092) and
 * the section cutter of imap-url.h.
 *
 * Input: a URL, then optionally a NUL byte and a message. The URL is parsed
 * whole and as every prefix of up to 64 octets (a parse must never read
 * past its length); a URL that parses is copied, its fields checked
 * (NUL-terminated text without controls, UID non-zero) and, when a message
 * follows, the octets it names are cut out, which must lie inside the
 * message or the scratch buffer.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "imap/imap-url.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_text(const char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
	}
}

static void
check_url(const char *text, size_t len, const uint8_t *msg, size_t msg_len, bool with_msg)
{
	struct imap_url url, copy;
	const char *error = NULL;
	struct buf scratch;
	const uint8_t *piece;
	size_t n;

	if (imap_url_parse(text, len, &url, &error) < 0) {
		if (error == NULL || url.mailbox != NULL)
			abort();
		return;
	}
	if (url.mailbox == NULL || url.uid == 0 || (url.full && url.host == NULL))
		abort();
	check_text(url.user);
	check_text(url.host);
	check_text(url.mailbox);
	check_text(url.section);
	imap_url_copy(&url, &copy);
	if (strcmp(copy.mailbox, url.mailbox) != 0)
		abort();
	imap_url_deinit(&copy);
	if (with_msg) {
		buf_init(&scratch, 1 << 20);
		if (imap_url_section(&url, msg, msg_len, &scratch, &piece, &n, &error) == 1) {
			bool in_msg = msg_len > 0 && piece >= msg && piece + n <= msg + msg_len;
			bool in_scratch = piece >= buf_data(&scratch) &&
					  piece + n <= buf_data(&scratch) + buf_len(&scratch);

			if (n > 0 && !in_msg && !in_scratch)
				abort();
		} else if (error == NULL) {
			abort();
		}
		buf_deinit(&scratch);
	}
	imap_url_deinit(&url);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, '\0', size);
	size_t url_len = nul != NULL ? (size_t)(nul - data) : size;
	/* a copy of exactly url_len octets, so that reading past it is caught */
	char *url = mem_memdup(data, url_len > 0 ? url_len : 1);

	check_url(url, url_len, nul != NULL ? nul + 1 : NULL,
		  nul != NULL ? size - url_len - 1 : 0, nul != NULL);
	for (size_t i = 0; i < url_len && i < 64; i++)
		check_url(url, i, NULL, 0, false);
	mem_free(&url);
	return 0;
}
