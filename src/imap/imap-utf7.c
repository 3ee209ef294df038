/*
 * imap-utf7.c - modified UTF-7 (RFC 3501 5.1.3), see imap-utf7.h.
 *
 * Modified UTF-7 writes printable US-ASCII (0x20-0x7e) as itself, "&" as
 * "&-", and every run of other characters as "&", the modified BASE64
 * ("," for "/", no "=" padding) of their UTF-16BE, and "-". The encoder
 * makes each run maximal, so the decoder can require exactly that form.
 */
#include "imap/imap-utf7.h"

#include <string.h>

#include "mime/rfc5322-chars.h"

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int
b64value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

static bool
is_direct(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e;
}

static int
utf7_fail(struct buf *out, size_t old_len, const char *message, const char **error_r)
{
	buf_truncate(out, old_len);
	*error_r = message;
	return -1;
}

/* Append code point cp as UTF-8. */
static int
put_utf8(struct buf *out, uint32_t cp)
{
	uint8_t b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (uint8_t)(0xc0 | (cp >> 6));
		b[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (uint8_t)(0xe0 | (cp >> 12));
		b[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (uint8_t)(0xf0 | (cp >> 18));
		b[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(out, b, n);
}

/* Decoder state for one base64 run. */
struct run {
	uint32_t bits;
	unsigned nbits;
	uint32_t high;          /* pending high surrogate, or 0 */
	unsigned units;
};

/* One UTF-16 unit of a run; returns NULL or an error text. */
static const char *
run_unit(struct run *r, uint32_t unit, struct buf *out)
{
	r->units++;
	if (r->high != 0) {
		if (unit < 0xdc00 || unit > 0xdfff)
			return "Unpaired UTF-16 surrogate";
		unit = 0x10000 + ((r->high - 0xd800) << 10) + (unit - 0xdc00);
		r->high = 0;
	} else if (unit >= 0xd800 && unit <= 0xdbff) {
		r->high = unit;
		return NULL;
	} else if (unit >= 0xdc00 && unit <= 0xdfff) {
		return "Unpaired UTF-16 surrogate";
	} else if (unit >= 0x20 && unit <= 0x7e) {
		return "Printable ASCII encoded in base64";
	} else if (unit == 0) {
		return "NUL in mailbox name";
	}
	return put_utf8(out, unit) < 0 ? "Mailbox name too long" : NULL;
}

/* Decode the run starting after "&" at in[*pos]; *pos ends after its "-". */
static const char *
decode_run(const char *in, size_t len, size_t *pos, struct buf *out)
{
	struct run r = { 0, 0, 0, 0 };
	size_t i = *pos;
	const char *err;

	for (; i < len && in[i] != '-'; i++) {
		int v = b64value(in[i]);

		if (v < 0)
			return "Invalid character in base64 run";
		r.bits = (r.bits << 6) | (uint32_t)v;
		r.nbits += 6;
		if (r.nbits >= 16) {
			r.nbits -= 16;
			err = run_unit(&r, (r.bits >> r.nbits) & 0xffff, out);
			if (err != NULL)
				return err;
			r.bits &= (1u << r.nbits) - 1;
		}
	}
	if (i == len)
		return "Unterminated base64 run";
	*pos = i + 1;
	if (r.units == 0)
		return "Empty base64 run";
	if (r.high != 0)
		return "Unpaired UTF-16 surrogate";
	/* the encoder pads with 0 to 6 bits, never a whole extra character */
	if (r.nbits >= 6 || r.bits != 0)
		return "Non-canonical base64 padding";
	return NULL;
}

int
imap_utf7_to_utf8(const char *in, size_t len, struct buf *out, const char **error_r)
{
	size_t old_len = buf_len(out), i = 0;
	bool after_run = false;

	while (i < len) {
		unsigned char c = (unsigned char)in[i++];
		const char *err;

		if (!is_direct(c))
			return utf7_fail(out, old_len, "Invalid character in mailbox name",
					 error_r);
		if (c != '&' || (i < len && in[i] == '-')) {
			i += c == '&' ? 1 : 0;
			if (buf_append_byte(out, c) < 0)
				return utf7_fail(out, old_len, "Mailbox name too long", error_r);
			after_run = false;
			continue;
		}
		/* a run right after a run would have been one run */
		if (after_run)
			return utf7_fail(out, old_len, "Adjacent base64 runs", error_r);
		err = decode_run(in, len, &i, out);
		if (err != NULL)
			return utf7_fail(out, old_len, err, error_r);
		after_run = true;
	}
	return 1;
}

bool
imap_utf7_is_valid(const char *in, size_t len)
{
	struct buf scratch;
	const char *err;
	int ret;

	buf_init(&scratch, 0);
	ret = imap_utf7_to_utf8(in, len, &scratch, &err);
	buf_deinit(&scratch);
	return ret > 0;
}

/* The code point of the well-formed UTF-8 sequence of length n at p. */
static uint32_t
utf8_decode(const unsigned char *p, size_t n)
{
	uint32_t cp = n == 2 ? p[0] & 0x1f : n == 3 ? p[0] & 0x0f : p[0] & 0x07;

	for (size_t k = 1; k < n; k++)
		cp = (cp << 6) | (p[k] & 0x3f);
	return cp;
}

/* Append one 16-bit unit to the base64 run being written. */
static int
run_put(struct buf *out, uint32_t *bits, unsigned *nbits, uint32_t unit)
{
	*bits = (*bits << 16) | unit;
	*nbits += 16;
	while (*nbits >= 6) {
		*nbits -= 6;
		if (buf_append_byte(out, (uint8_t)b64chars[(*bits >> *nbits) & 0x3f]) < 0)
			return -1;
	}
	*bits &= (1u << *nbits) - 1;
	return 0;
}

/* Encode the maximal run of non-direct characters at in[*pos]. */
static int
encode_run(const unsigned char *in, size_t len, size_t *pos, struct buf *out)
{
	uint32_t bits = 0;
	unsigned nbits = 0;
	size_t i = *pos;
	int ret = buf_append_byte(out, '&');

	while (ret == 0 && i < len && !is_direct(in[i])) {
		size_t n = in[i] < 0x80 ? 1 : rfc5322_utf8_len(in + i, in + len);
		uint32_t cp = n == 1 ? in[i] : utf8_decode(in + i, n);

		i += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			ret = run_put(out, &bits, &nbits, 0xd800 + (cp >> 10));
			if (ret == 0)
				ret = run_put(out, &bits, &nbits, 0xdc00 + (cp & 0x3ff));
		} else {
			ret = run_put(out, &bits, &nbits, cp);
		}
	}
	if (ret == 0 && nbits > 0)
		ret = buf_append_byte(out, (uint8_t)b64chars[(bits << (6 - nbits)) & 0x3f]);
	if (ret == 0)
		ret = buf_append_byte(out, '-');
	*pos = i;
	return ret;
}

int
imap_utf8_to_utf7(const char *in, size_t len, struct buf *out, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)in;
	size_t old_len = buf_len(out), i = 0;
	int ret = 0;

	if (!rfc5322_utf8_valid(p, len))
		return utf7_fail(out, old_len, "Invalid UTF-8", error_r);
	if (memchr(in, '\0', len) != NULL)
		return utf7_fail(out, old_len, "NUL in mailbox name", error_r);
	while (ret == 0 && i < len) {
		if (!is_direct(p[i])) {
			ret = encode_run(p, len, &i, out);
		} else if (p[i] == '&') {
			ret = buf_append(out, "&-", 2);
			i++;
		} else {
			ret = buf_append_byte(out, p[i++]);
		}
	}
	if (ret < 0)
		return utf7_fail(out, old_len, "Mailbox name too long", error_r);
	return 1;
}

int
imap_mailbox_name_utf8_check(const char *name, size_t len, const char **error_r)
{
	const unsigned char *p = (const unsigned char *)name;

	if (len == 0) {
		*error_r = "Empty mailbox name";
		return -1;
	}
	if (!rfc5322_utf8_valid(p, len)) {
		*error_r = "Mailbox name is not valid UTF-8";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		/* C0 and DEL; C1 (U+0080-U+009F) is 0xc2 0x80-0x9f in UTF-8 */
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] < 0xa0)) {
			*error_r = "Control character in mailbox name";
			return -1;
		}
	}
	return 1;
}
