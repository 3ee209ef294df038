/*
 * sasl-plain.h - the SASL PLAIN message (RFC 4616 2), server side.
 *
 * Does: split an already base64-decoded PLAIN message
 *     message = [authzid] UTF8NUL authcid UTF8NUL passwd
 * into its three fields and check them: exactly two NUL separators (so no
 * field holds a NUL), authcid and passwd non-empty, each field valid UTF-8
 * (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) and
 * at most SASL_PLAIN_MAX_FIELD octets.
 *
 * Does not: base64 (core/base64.h does that; the protocol engine owns the
 * exchange), SASLprep/stringprep normalisation (RFC 4616 2 SHOULD; not done,
 * so identities and passwords are compared octet by octet), password
 * verification or the authzid policy (whether authcid may act as authzid is
 * the caller's decision). Pure: no I/O, no logging, no globals.
 *
 * Invariants: a parsed struct holds three NUL-terminated strings without
 * embedded NULs; the password is wiped with explicit_bzero when freed.
 */
#ifndef SASL_SASL_PLAIN_H
#define SASL_SASL_PLAIN_H

#include <stddef.h>
#include <stdint.h>

/* RFC 4616 2: servers must accept fields of up to 255 octets; we accept no more. */
#define SASL_PLAIN_MAX_FIELD 255

struct sasl_plain {
	char *authzid;  /* "" when the client sent no authorization identity */
	char *authcid;  /* authentication identity, non-empty */
	char *password; /* non-empty; wiped by sasl_plain_free */
};

/*
 * Parse msg[0..len). Returns 1 and sets *plain_r to a new struct owned by the
 * caller (release with sasl_plain_free), or -1 with *plain_r NULL and
 * *error_r a static English message. msg itself is not modified: the caller
 * still owns it and should wipe it, since it holds the password too.
 */
int sasl_plain_parse(const uint8_t *msg, size_t len, struct sasl_plain **plain_r,
		     const char **error_r);

/* Wipe the password, free everything and set *plain to NULL. NULL is a no-op. */
void sasl_plain_free(struct sasl_plain **plain);

#endif
