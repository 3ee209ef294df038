/*
 * dns-name.c - name syntax checks and wire names to presentation text.
 *
 * What it does: dns_name_check() decides whether a name may be sent as a
 * query; dns_name_from_wire() turns names found in RDATA into text that is
 * unambiguous (escapes) and canonical (lower case, no trailing dot).
 *
 * What it does not do: no IDN conversion (the caller converts U-labels to
 * A-labels first), no compression (see dns-name.h), no allocation.
 *
 * Invariants: out is always NUL-terminated after success; on failure *pos is
 * unchanged and out may hold a partial name.
 */
#include "dns/dns-name.h"

#include <string.h>

#define NAME_WIRE_MAX 255  /* RFC 1035 2.3.4 */
#define LABEL_MAX 63

static int
is_ldh_under(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

int
dns_name_check(const char *name, const char **error_r)
{
	size_t len = strlen(name), label = 0;

	if (len == 0) {
		*error_r = "empty name";
		return -1;
	}
	if (len > 1 && name[len - 1] == '.')
		len--;
	if (len == 1 && name[0] == '.') {
		*error_r = "the root is not a name to look up";
		return -1;
	}
	/* 253 text characters = 255 wire bytes (first length byte, final 0). */
	if (len > NAME_WIRE_MAX - 2) {
		*error_r = "name longer than 253 characters";
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		unsigned char c = i < len ? (unsigned char)name[i] : '.';

		if (c == '.') {
			if (label == 0) {
				*error_r = "empty label in name";
				return -1;
			}
			label = 0;
		} else if (is_ldh_under(c)) {
			if (++label > LABEL_MAX) {
				*error_r = "label longer than 63 characters";
				return -1;
			}
		} else {
			*error_r = "name has a character other than letters, digits, '-', '_', '.'";
			return -1;
		}
	}
	return 1;
}

/* Appends one byte of a label in presentation form; 0 ok, -1 no room. */
static int
put_label_byte(char *out, size_t outsize, size_t *o, unsigned char c)
{
	char tmp[5];
	size_t n;

	if (c >= 'A' && c <= 'Z')
		c = (unsigned char)(c - 'A' + 'a');
	if (is_ldh_under(c)) {
		tmp[0] = (char)c;
		n = 1;
	} else if (c == '.' || c == '\\') {
		tmp[0] = '\\';
		tmp[1] = (char)c;
		n = 2;
	} else {
		tmp[0] = '\\';
		tmp[1] = (char)('0' + c / 100);
		tmp[2] = (char)('0' + c / 10 % 10);
		tmp[3] = (char)('0' + c % 10);
		n = 4;
	}
	if (outsize - *o <= n)
		return -1;
	memcpy(out + *o, tmp, n);
	*o += n;
	return 0;
}

int
dns_name_from_wire(const uint8_t *data, size_t len, size_t *pos, char *out, size_t outsize,
		   const char **error_r)
{
	size_t p = *pos, o = 0, wire = 0;

	if (outsize < 2) {
		*error_r = "no room for the name";
		return -1;
	}
	for (;;) {
		if (p >= len) {
			*error_r = "name truncated";
			return -1;
		}
		uint8_t l = data[p++];

		if ((l & 0xc0) == 0xc0) {
			*error_r = "compression pointer in RDATA";
			return -1;
		}
		if ((l & 0xc0) != 0) {
			*error_r = "reserved label type";
			return -1;
		}
		wire += (size_t)l + 1;
		if (wire > NAME_WIRE_MAX) {
			*error_r = "name longer than 255 bytes";
			return -1;
		}
		if (l == 0)
			break;
		if (len - p < l) {
			*error_r = "name truncated";
			return -1;
		}
		if (o > 0) {
			if (outsize - o <= 1) {
				*error_r = "no room for the name";
				return -1;
			}
			out[o++] = '.';
		}
		for (size_t i = 0; i < l; i++) {
			if (put_label_byte(out, outsize, &o, data[p + i]) < 0) {
				*error_r = "no room for the name";
				return -1;
			}
		}
		p += l;
	}
	if (o == 0)
		out[o++] = '.';
	out[o] = '\0';
	*pos = p;
	return 1;
}
