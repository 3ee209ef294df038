/*
 * sasl-text.c - see sasl-text.h.
 */
#include "sasl/sasl-text.h"

/*
 * RFC 3629 4 UTF8-char. Rejects overlong encodings, surrogates
 * (U+D800..U+DFFF) and code points above U+10FFFF, as the ABNF there does.
 */
bool
sasl_utf8_valid(const uint8_t *p, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t c = p[i];
		uint8_t lo = 0x80, hi = 0xbf;
		size_t n;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0;      /* overlong */
			else if (c == 0xed)
				hi = 0x9f;      /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90;      /* overlong */
			else if (c == 0xf4)
				hi = 0x8f;      /* above U+10FFFF */
		} else {
			return false;           /* 0x80..0xc1, 0xf5..0xff */
		}
		if (len - i - 1 < n)
			return false;
		if (p[i + 1] < lo || p[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= n; k++) {
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return false;
		}
		i += n + 1;
	}
	return true;
}

bool
sasl_text_has_control(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (p[i] < 0x20 || p[i] == 0x7f)
			return true;
		/* U+0080..U+009F are encoded as 0xc2 0x80..0x9f */
		if (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f)
			return true;
	}
	return false;
}
