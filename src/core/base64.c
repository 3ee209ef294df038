/*
 * base64.c - see base64.h. Works in whole 4-character quanta; the decoder
 * validates every character before writing any output so that a failed
 * decode leaves the destination exactly as it was.
 */
#include "core/base64.h"

#include "core/mem.h"

static const char base64_alphabet[64] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 6-bit value of an alphabet character, -1 for anything else (including '='). */
static int
base64_value(uint8_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

size_t
base64_encoded_len(size_t len)
{
	return mem_size_mul(len / 3 + (len % 3 != 0), 4);
}

size_t
base64_decoded_max_len(size_t len)
{
	return len / 4 * 3;
}

int
base64_encode(struct buf *dst, const void *src, size_t len)
{
	const uint8_t *in = src;
	size_t outlen = base64_encoded_len(len);
	uint8_t *out = buf_reserve(dst, outlen);
	size_t i, o = 0;

	if (out == NULL)
		return -1;
	for (i = 0; i + 3 <= len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		out[o++] = (uint8_t)base64_alphabet[v >> 18];
		out[o++] = (uint8_t)base64_alphabet[(v >> 12) & 0x3f];
		out[o++] = (uint8_t)base64_alphabet[(v >> 6) & 0x3f];
		out[o++] = (uint8_t)base64_alphabet[v & 0x3f];
	}
	if (i < len) {
		/* RFC 4648 4: a final 1 or 2 bytes give "xx==" or "xxx=". */
		uint32_t v = (uint32_t)in[i] << 16;

		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = (uint8_t)base64_alphabet[v >> 18];
		out[o++] = (uint8_t)base64_alphabet[(v >> 12) & 0x3f];
		out[o++] = i + 1 < len ? (uint8_t)base64_alphabet[(v >> 6) & 0x3f] : '=';
		out[o++] = '=';
	}
	ASSERT(o == outlen);
	buf_commit(dst, outlen);
	return 0;
}

/*
 * Check src and return the number of output bytes it decodes to, or -1.
 * Padding may appear only in the last quantum as "xx==" or "xxx=", and the
 * bits it leaves unused must be zero (RFC 4648 3.5, canonical encoding).
 */
static long long
base64_check(const uint8_t *src, size_t len)
{
	size_t pad = 0;

	if (len % 4 != 0)
		return -1;
	if (len >= 4 && src[len - 1] == '=')
		pad = src[len - 2] == '=' ? 2 : 1;
	for (size_t i = 0; i < len - pad; i++) {
		if (base64_value(src[i]) < 0)
			return -1;
	}
	if (pad == 2 && (base64_value(src[len - 3]) & 0x0f) != 0)
		return -1;
	if (pad == 1 && (base64_value(src[len - 2]) & 0x03) != 0)
		return -1;
	return (long long)(len / 4 * 3 - pad);
}

int
base64_decode(struct buf *dst, const char *src, size_t len)
{
	const uint8_t *in = (const uint8_t *)src;
	long long outlen = base64_check(in, len);
	uint8_t *out;
	size_t o = 0;

	if (outlen < 0)
		return -1;
	out = buf_reserve(dst, (size_t)outlen);
	if (out == NULL)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int n = 0;

		for (int k = 0; k < 4; k++) {
			int d = base64_value(in[i + k]);

			v <<= 6;
			if (d >= 0) {
				v |= (uint32_t)d;
				n++;
			}
		}
		/* n is 4, or 3/2 in the padded final quantum (checked above). */
		out[o++] = (uint8_t)(v >> 16);
		if (n >= 3)
			out[o++] = (uint8_t)(v >> 8);
		if (n == 4)
			out[o++] = (uint8_t)v;
	}
	ASSERT(o == (size_t)outlen);
	buf_commit(dst, o);
	return 0;
}
