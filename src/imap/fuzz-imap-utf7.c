/*
 * fuzz-imap-utf7.c - libFuzzer target for modified UTF-7.
 *
 * The input is read both ways. As modified UTF-7: when it decodes, encoding
 * the result must give back the input byte for byte (there is one valid
 * form per name). As UTF-8: when it encodes, the result must be valid and
 * decode to the input. The UTF-8 mailbox name check runs too.
 */
#include "core/buf.h"
#include "imap/imap-utf7.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
same_or_abort(const struct buf *b, const uint8_t *data, size_t size)
{
	if (buf_len(b) != size || memcmp(buf_data(b), data, size) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data, *err;
	struct buf a, b;

	buf_init(&a, 0);
	buf_init(&b, 0);
	if (imap_utf7_to_utf8(in, size, &a, &err) > 0) {
		if (imap_utf8_to_utf7(buf_cstr(&a), buf_len(&a), &b, &err) <= 0)
			abort();
		same_or_abort(&b, data, size);
	}
	buf_reset(&a);
	buf_reset(&b);
	if (imap_utf8_to_utf7(in, size, &a, &err) > 0) {
		if (!imap_utf7_is_valid(buf_cstr(&a), buf_len(&a)) ||
		    imap_utf7_to_utf8(buf_cstr(&a), buf_len(&a), &b, &err) <= 0)
			abort();
		same_or_abort(&b, data, size);
	}
	(void)imap_mailbox_name_utf8_check(in, size, &err);
	buf_deinit(&a);
	buf_deinit(&b);
	return 0;
}
