/*
 * dns-name.h - domain names: syntax checks of names we are asked to look up,
 * and uncompressed wire-format names (RFC 1035 3.1) to presentation text.
 *
 * Pure functions: no I/O, no allocation, no globals.
 */
#ifndef DNS_DNS_NAME_H
#define DNS_DNS_NAME_H

#include <stddef.h>
#include <stdint.h>

/* Checks a name given to a lookup (RFC 1035 2.3.4, RFC 1123 2.1): labels of
 * 1-63 letters, digits, '-' and '_' ('_' for _mta-sts, _25._tcp and the
 * like, RFC 8552), separated by '.', at most 253 characters without the one
 * optional trailing dot (255 bytes in wire form). IDNs must already be in
 * A-label (xn--) form. Escapes are not accepted. Returns 1 when name is fine,
 * -1 with *error_r (static text) when not. */
int dns_name_check(const char *name, const char **error_r);

/* Reads the uncompressed wire-format name at data[*pos] (len bytes in all),
 * writes it to out (size outsize, DNS_NAME_TEXT_MAX is always enough) in the
 * presentation form of dns.h (lower case, escapes, no trailing dot, root
 * ".") and advances *pos past it. Compression pointers are refused: RDATA
 * from libunbound is always uncompressed (and RFC 3597 4 forbids compression
 * in the RDATA of types other than the old ones, where it is undone on
 * receipt). Returns 1, or -1 with *error_r (static) on truncation, a
 * pointer, a reserved label type, more than 255 bytes, or outsize too small;
 * *pos is then unchanged. */
int dns_name_from_wire(const uint8_t *data, size_t len, size_t *pos, char *out, size_t outsize,
		       const char **error_r);

#endif
