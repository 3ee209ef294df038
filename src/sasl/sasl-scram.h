/*
 * sasl-scram.h - SCRAM-SHA-256 stored secrets (RFC 5802 3, RFC 7677) and
 * the SCRAM limits; sasl_scram_secret_make() itself is in sasl-server.h.
 *
 * Does: parse a stored secret strictly, derive the keys of a password,
 * make the fake secret an unknown user gets (RFC 5802 5.1), and offer the
 * test hook that fixes the server nonce (RFC 7677 3 test vector).
 * Does not: SASLprep (see sasl-server.h); storage.
 *
 * Invariants: a parsed secret has an iteration count within
 * SASL_SCRAM_ITER_MIN..SASL_SCRAM_ITER_MAX, a salt of SASL_SCRAM_SALT_MIN..
 * SASL_SCRAM_SALT_MAX bytes and 32-byte keys. Callers wipe secrets
 * (explicit_bzero) when done.
 */
#ifndef SASL_SASL_SCRAM_H
#define SASL_SASL_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sasl_server;

#define SASL_SCRAM_HASH_LEN 32          /* SHA-256 output, RFC 7677 */
#define SASL_SCRAM_ITER_DEFAULT 10000   /* made secrets and fake ones */
#define SASL_SCRAM_ITER_MIN 4096        /* RFC 7677 4: at least 4096 */
#define SASL_SCRAM_ITER_MAX 1000000     /* bounds the work a secret may ask of a client */
#define SASL_SCRAM_SALT_LEN 16          /* salts we make, and fake ones */
#define SASL_SCRAM_SALT_MIN 8           /* shorter stored salts are refused as too weak */
#define SASL_SCRAM_SALT_MAX 64
#define SASL_SCRAM_NONCE_RANDOM 24      /* random bytes in our nonce part (32 characters) */
#define SASL_SCRAM_CNONCE_MAX 256       /* longest client nonce accepted */
#define SASL_SCRAM_SECRET_MAX 256       /* longest stored secret text accepted */

struct sasl_scram_secret {
	unsigned iterations;
	size_t salt_len;
	uint8_t salt[SASL_SCRAM_SALT_MAX];
	uint8_t stored_key[SASL_SCRAM_HASH_LEN];
	uint8_t server_key[SASL_SCRAM_HASH_LEN];
};

/*
 * Parse "SCRAM-SHA-256$<iter>:<salt>$<StoredKey>:<ServerKey>" exactly: the
 * prefix as written, a decimal count without sign or leading zero in range,
 * canonical padded base64 (core/base64.h) for the rest, keys of exactly 32
 * bytes, nothing before or after. Returns 1 and fills *secret_r, or -1 with
 * a static *error_r (then *secret_r is wiped).
 */
int sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *secret_r,
			    const char **error_r);

/* StoredKey and ServerKey of password[0..len) (RFC 5802 3):
 * SaltedPassword = Hi(password, salt, i); ClientKey = HMAC(SaltedPassword,
 * "Client Key"); StoredKey = H(ClientKey); ServerKey = HMAC(SaltedPassword,
 * "Server Key"). Returns 0, or -1 when OpenSSL fails. Scratch is wiped. */
int sasl_scram_keys_derive(const uint8_t *password, size_t len, const uint8_t *salt,
			   size_t salt_len, unsigned iterations,
			   uint8_t stored_key_r[SASL_SCRAM_HASH_LEN],
			   uint8_t server_key_r[SASL_SCRAM_HASH_LEN]);

/* The secret of an unknown user: salt and keys are HMAC-SHA-256 of the user
 * name under a random key made once per process, so the same name gets the
 * same salt every time (an attacker cannot tell it from a real one by asking
 * twice), with SASL_SCRAM_ITER_DEFAULT iterations and a SASL_SCRAM_SALT_LEN
 * salt like a made secret. Thread-safe. */
void sasl_scram_secret_fake(const char *username, struct sasl_scram_secret *secret_r);

/* Tests and the fuzzer only: use suffix (1..64 printable characters other
 * than ',') instead of random bytes as the server's part of the nonce, so
 * that a fixed exchange (RFC 7677 3) can be replayed. Must be called before
 * the server-first message is made; ignored for other mechanisms and for an
 * invalid suffix. */
void sasl_server_test_set_nonce(struct sasl_server *s, const char *suffix);

#endif
