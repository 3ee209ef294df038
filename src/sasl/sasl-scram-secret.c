/*
 * sasl-scram-secret.c - SCRAM-SHA-256 stored secrets: make, parse, derive,
 * fake (see sasl-scram.h and sasl_scram_secret_make in sasl-server.h).
 *
 * Does: the key derivation of RFC 5802 3 with OpenSSL (Hi() is PBKDF2 with
 * HMAC-SHA-256 and dkLen = 32, RFC 5802 2.2 / RFC 8018 5.2), the strict
 * parser of the stored text, and the per-process key behind fake secrets.
 * Does not: SASLprep (passwords with control characters or invalid UTF-8 are
 * refused instead; others are used as they are), storage.
 *
 * Invariants: SaltedPassword, ClientKey and every decoded key are wiped
 * after use; the fake-secret key is made once per process (pthread_once)
 * and never leaves this file.
 */
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/password.h"
#include "sasl/sasl-scram.h"
#include "sasl/sasl-server.h"
#include "sasl/sasl-text.h"

#define SASL_SCRAM_PREFIX "SCRAM-SHA-256$"

static uint8_t sasl_scram_fake_key[SASL_SCRAM_HASH_LEN];
static pthread_once_t sasl_scram_fake_once = PTHREAD_ONCE_INIT;

int
sasl_scram_keys_derive(const uint8_t *password, size_t len, const uint8_t *salt,
		       size_t salt_len, unsigned iterations,
		       uint8_t stored_key_r[SASL_SCRAM_HASH_LEN],
		       uint8_t server_key_r[SASL_SCRAM_HASH_LEN])
{
	uint8_t salted[SASL_SCRAM_HASH_LEN], client_key[SASL_SCRAM_HASH_LEN];
	int ret = -1;

	if (len > PASSWORD_MAX_LENGTH || salt_len > SASL_SCRAM_SALT_MAX ||
	    iterations > SASL_SCRAM_ITER_MAX)
		return -1;
	if (PKCS5_PBKDF2_HMAC((const char *)password, (int)len, salt, (int)salt_len,
			      (int)iterations, EVP_sha256(), sizeof(salted), salted) == 1 &&
	    HMAC(EVP_sha256(), salted, sizeof(salted), (const uint8_t *)"Client Key", 10,
		 client_key, NULL) != NULL &&
	    SHA256(client_key, sizeof(client_key), stored_key_r) != NULL &&
	    HMAC(EVP_sha256(), salted, sizeof(salted), (const uint8_t *)"Server Key", 10,
		 server_key_r, NULL) != NULL)
		ret = 0;
	explicit_bzero(salted, sizeof(salted));
	explicit_bzero(client_key, sizeof(client_key));
	return ret;
}

/* What sasl_scram_secret_make refuses (see sasl-server.h). */
static bool
sasl_scram_password_ok(const char *password, size_t *len_r)
{
	size_t len = strnlen(password, PASSWORD_MAX_LENGTH + 1);

	*len_r = len;
	return len > 0 && len <= PASSWORD_MAX_LENGTH &&
	       sasl_utf8_valid((const uint8_t *)password, len) &&
	       !sasl_text_has_control((const uint8_t *)password, len);
}

char *
sasl_scram_secret_make(const char *password, unsigned iterations)
{
	uint8_t salt[SASL_SCRAM_SALT_LEN], stored[SASL_SCRAM_HASH_LEN], server[SASL_SCRAM_HASH_LEN];
	struct buf b;
	size_t len;
	int ret;

	if (iterations == 0)
		iterations = SASL_SCRAM_ITER_DEFAULT;
	if (iterations < SASL_SCRAM_ITER_MIN || iterations > SASL_SCRAM_ITER_MAX ||
	    !sasl_scram_password_ok(password, &len))
		return NULL;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    sasl_scram_keys_derive((const uint8_t *)password, len, salt, sizeof(salt), iterations,
				   stored, server) < 0)
		return NULL;
	buf_init(&b, SASL_SCRAM_SECRET_MAX);
	ret = buf_printf(&b, SASL_SCRAM_PREFIX "%u:", iterations) < 0 ||
	      base64_encode(&b, salt, sizeof(salt)) < 0 || buf_append_byte(&b, '$') < 0 ||
	      base64_encode(&b, stored, sizeof(stored)) < 0 || buf_append_byte(&b, ':') < 0 ||
	      base64_encode(&b, server, sizeof(server)) < 0;
	explicit_bzero(stored, sizeof(stored));
	explicit_bzero(server, sizeof(server));
	if (ret)
		PANIC("SCRAM secret longer than SASL_SCRAM_SECRET_MAX");
	return buf_steal_str(&b);
}

/* Decimal iteration count: 1*DIGIT without a leading zero, within range. */
static int
sasl_scram_parse_iterations(const char *p, size_t len, unsigned *iter_r)
{
	unsigned long v = 0;

	if (len == 0 || len > 7 || p[0] == '0')
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -1;
		v = v * 10 + (unsigned long)(p[i] - '0');
	}
	if (v < SASL_SCRAM_ITER_MIN || v > SASL_SCRAM_ITER_MAX)
		return -1;
	*iter_r = (unsigned)v;
	return 0;
}

/* Canonical base64 p[0..len) into out, which must receive min..max bytes. */
static int
sasl_scram_parse_b64(const char *p, size_t len, uint8_t *out, size_t min, size_t max,
		     size_t *len_r)
{
	struct buf b;
	int ret = -1;

	buf_init(&b, max);
	if (len <= base64_encoded_len(max) && base64_decode(&b, p, len) == 0 &&
	    buf_len(&b) >= min && b.data != NULL) {
		memcpy(out, b.data + b.start, buf_len(&b));
		*len_r = buf_len(&b);
		ret = 0;
	}
	if (b.data != NULL)
		explicit_bzero(b.data, b.cap);
	buf_deinit(&b);
	return ret;
}

/* The four fields, split at their separators: "<iter>:<salt>$<stored>:<server>". */
static int
sasl_scram_parse_fields(const char *p, size_t len, struct sasl_scram_secret *secret)
{
	const char *colon1 = memchr(p, ':', len), *dollar, *colon2, *end = p + len;
	size_t klen;

	if (colon1 == NULL || (dollar = memchr(colon1, '$', (size_t)(end - colon1))) == NULL ||
	    (colon2 = memchr(dollar, ':', (size_t)(end - dollar))) == NULL)
		return -1;
	if (sasl_scram_parse_iterations(p, (size_t)(colon1 - p), &secret->iterations) < 0 ||
	    sasl_scram_parse_b64(colon1 + 1, (size_t)(dollar - colon1 - 1), secret->salt,
				 SASL_SCRAM_SALT_MIN, SASL_SCRAM_SALT_MAX, &secret->salt_len) < 0 ||
	    sasl_scram_parse_b64(dollar + 1, (size_t)(colon2 - dollar - 1), secret->stored_key,
				 SASL_SCRAM_HASH_LEN, SASL_SCRAM_HASH_LEN, &klen) < 0 ||
	    sasl_scram_parse_b64(colon2 + 1, (size_t)(end - colon2 - 1), secret->server_key,
				 SASL_SCRAM_HASH_LEN, SASL_SCRAM_HASH_LEN, &klen) < 0)
		return -1;
	return 0;
}

int
sasl_scram_secret_parse(const char *text, struct sasl_scram_secret *secret_r,
			const char **error_r)
{
	size_t len = strnlen(text, SASL_SCRAM_SECRET_MAX + 1);
	size_t plen = sizeof(SASL_SCRAM_PREFIX) - 1;

	memset(secret_r, 0, sizeof(*secret_r));
	if (len > SASL_SCRAM_SECRET_MAX) {
		*error_r = "SCRAM secret too long";
		return -1;
	}
	if (len < plen || memcmp(text, SASL_SCRAM_PREFIX, plen) != 0) {
		*error_r = "not a SCRAM-SHA-256 secret";
		return -1;
	}
	if (sasl_scram_parse_fields(text + plen, len - plen, secret_r) < 0) {
		explicit_bzero(secret_r, sizeof(*secret_r));
		*error_r = "malformed SCRAM-SHA-256 secret";
		return -1;
	}
	return 1;
}

static void
sasl_scram_fake_key_init(void)
{
	if (RAND_bytes(sasl_scram_fake_key, sizeof(sasl_scram_fake_key)) != 1)
		PANIC("no random bytes for the SCRAM fake-secret key");
}

/* HMAC(fake key, label NUL username), the first len bytes into out. */
static void
sasl_scram_fake_value(const char *label, const char *username, uint8_t *out, size_t len)
{
	uint8_t mac[SASL_SCRAM_HASH_LEN];
	struct buf msg;

	buf_init(&msg, 0); /* a label and a checked identity */
	if (buf_append(&msg, label, strlen(label) + 1) < 0 || buf_append_str(&msg, username) < 0)
		PANIC("unbounded buffer refused data");
	if (HMAC(EVP_sha256(), sasl_scram_fake_key, sizeof(sasl_scram_fake_key), buf_data(&msg),
		 buf_len(&msg), mac, NULL) == NULL)
		PANIC("HMAC-SHA-256 failed");
	memcpy(out, mac, len);
	explicit_bzero(mac, sizeof(mac));
	buf_deinit(&msg);
}

void
sasl_scram_secret_fake(const char *username, struct sasl_scram_secret *secret_r)
{
	pthread_once(&sasl_scram_fake_once, sasl_scram_fake_key_init);
	memset(secret_r, 0, sizeof(*secret_r));
	secret_r->iterations = SASL_SCRAM_ITER_DEFAULT;
	secret_r->salt_len = SASL_SCRAM_SALT_LEN;
	sasl_scram_fake_value("salt", username, secret_r->salt, SASL_SCRAM_SALT_LEN);
	sasl_scram_fake_value("stored", username, secret_r->stored_key, SASL_SCRAM_HASH_LEN);
	sasl_scram_fake_value("server", username, secret_r->server_key, SASL_SCRAM_HASH_LEN);
}
