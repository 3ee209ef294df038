/*
 * base64.h - RFC 4648 section 4 base64 ("+/" alphabet, "=" padding).
 *
 * Does: encode bytes to padded base64 text; decode base64 text strictly.
 * Does not: the URL-safe alphabet (RFC 4648 5), line wrapping (MIME's 76
 * columns is the MIME layer's job), or skipping whitespace. The SASL
 * profiles that use this (RFC 4422, POP3 RFC 5034 4, IMAP, SMTP AUTH) send
 * one unbroken, padded string, so anything else is an error.
 *
 * The decoder accepts exactly the canonical encoding (RFC 4648 3.5): length
 * a multiple of 4, only alphabet characters, "=" only as the last one or two
 * characters, and the unused bits before the padding zero. Any other input
 * is rejected, so every byte string has exactly one accepted encoding.
 *
 * Both functions append to a struct buf and leave it unchanged on failure.
 * They reserve the whole output at once, so the buffer is not reallocated in
 * the middle (callers decoding secrets can wipe the one allocation).
 */
#ifndef CORE_BASE64_H
#define CORE_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"

/* Length of the padded encoding of len bytes. Panics on size overflow. */
size_t base64_encoded_len(size_t len);

/* Largest number of bytes that len characters of base64 can decode to. */
size_t base64_decoded_max_len(size_t len);

/*
 * Append the padded base64 encoding of src[0..len) to dst.
 * Returns 0 ok, -1 when the result would exceed dst's maximum (dst unchanged).
 * No NUL is counted in the output; buf keeps its usual NUL after the data.
 */
int base64_encode(struct buf *dst, const void *src, size_t len);

/*
 * Decode src[0..len) strictly (see above) and append the bytes to dst.
 * Empty input decodes to nothing and succeeds.
 * Returns 0 ok, -1 when src is not canonical base64 or the result would
 * exceed dst's maximum; on -1 dst is unchanged.
 */
int base64_decode(struct buf *dst, const char *src, size_t len);

#endif
