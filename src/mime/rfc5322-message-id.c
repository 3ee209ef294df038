/*
 * rfc5322-message-id.c - see rfc5322-message-id.h.
 */
#include "mime/rfc5322-message-id.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "core/mem.h"
#include "mime/rfc5322-chars.h"

#define RANDOM_BYTES 16

/* RFC 5322 3.2.3 dot-atom-text, ASCII only: a host name is ASCII (A-labels). */
static bool
is_dot_atom_text(const char *s)
{
	bool after_dot = true;

	for (; *s != '\0'; s++) {
		if (*s == '.') {
			if (after_dot)
				return false;
			after_dot = true;
		} else if (rfc5322_is_atext((uint8_t)*s)) {
			after_dot = false;
		} else {
			return false;
		}
	}
	return !after_dot;
}

static int
fill_random(uint8_t *data, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = getrandom(data + got, len - got, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	return 0;
}

int
rfc5322_message_id_generate(const char *host, struct buf *out, const char **error_r)
{
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
	uint8_t rnd[RANDOM_BYTES];
	char left[RFC5322_MESSAGE_ID_RANDOM_LEN + 1];
	unsigned acc = 0, bits = 0;
	size_t n = 0;

	if (!is_dot_atom_text(host)) {
		*error_r = "Host name is not a dot-atom";
		return -1;
	}
	if (fill_random(rnd, sizeof(rnd)) < 0) {
		*error_r = "getrandom failed";
		return -1;
	}
	/* base32: five bits a character, the last one padded with zero bits */
	for (size_t i = 0; i < sizeof(rnd); i++) {
		acc = (acc << 8) | rnd[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			left[n++] = alphabet[(acc >> bits) & 0x1f];
		}
	}
	if (bits > 0)
		left[n++] = alphabet[(acc << (5 - bits)) & 0x1f];
	ASSERT(n == RFC5322_MESSAGE_ID_RANDOM_LEN);
	left[n] = '\0';
	if (buf_printf(out, "<%s@%s>", left, host) < 0) {
		*error_r = "Message-ID does not fit";
		return -1;
	}
	return 0;
}
