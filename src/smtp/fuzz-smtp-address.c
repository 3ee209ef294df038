/*
 * fuzz-smtp-address.c - libFuzzer target for the path parser.
 *
 * Input: one flags byte, then the path bytes. Checks, beyond "no crash":
 * a path that parses formats back to something that parses to the same
 * address (canonical form is stable), and the bare mailbox parser agrees.
 */
#include "core/buf.h"
#include "core/mem.h"
#include "smtp/smtp-address.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
same_string(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
check_roundtrip(const struct smtp_address *a, unsigned flags,
		const struct smtp_address_limits *limits)
{
	struct smtp_address b;
	struct buf out;
	size_t used;
	const char *err;

	buf_init(&out, 0);
	if (smtp_address_format_path(a, &out) < 0)
		abort();
	/* canonical form may be longer (added quotes), so give it room */
	struct smtp_address_limits roomy = *limits;

	roomy.max_localpart *= 2;
	roomy.max_path *= 2;
	if (smtp_address_parse_path(buf_data(&out), buf_len(&out), flags | SMTP_ADDRESS_ALLOW_NULL |
				    SMTP_ADDRESS_ALLOW_POSTMASTER, &roomy, &b, &used, &err) != 1 ||
	    used != buf_len(&out))
		abort();
	if (!same_string(a->localpart, b.localpart) || !same_string(a->domain, b.domain) ||
	    a->literal != b.literal || a->utf8 != b.utf8)
		abort();
	smtp_address_deinit(&b);
	buf_deinit(&out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_address_limits limits;
	struct smtp_address a;
	size_t used;
	const char *err;
	unsigned flags;

	if (size == 0)
		return 0;
	flags = data[0] & (SMTP_ADDRESS_ALLOW_NULL | SMTP_ADDRESS_ALLOW_POSTMASTER |
			   SMTP_ADDRESS_ALLOW_UTF8);
	data++;
	size--;
	smtp_address_limits_init_default(&limits);
	if (smtp_address_parse_path(data, size, flags, &limits, &a, &used, &err) == 1) {
		if (used == 0 || used > size || a.localpart == NULL)
			abort();
		check_roundtrip(&a, flags, &limits);
		smtp_address_deinit(&a);
	} else if (err == NULL || a.localpart != NULL || a.domain != NULL) {
		abort();
	}
	if (smtp_address_parse_mailbox(data, size, flags, &limits, &a, &err) == 1) {
		if (a.domain == NULL)
			abort();
		check_roundtrip(&a, flags, &limits);
		smtp_address_deinit(&a);
	}
	return 0;
}
