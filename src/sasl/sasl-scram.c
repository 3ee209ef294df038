/*
 * sasl-scram.c - the SCRAM-SHA-256 and SCRAM-SHA-256-PLUS exchange, server
 * side (RFC 5802 5 and 7, RFC 7677; channel binding RFC 5929 4, RFC 9266).
 *
 *   C: client-first  = gs2-header client-first-bare   -> NEED_SECRET
 *      (glue: provide_secret)                          -> server-first
 *   C: client-final  = c= r= [ext] p=                  -> SUCCESS "v=..." / FAILURE
 *
 * Does: parse both client messages strictly in the order of the RFC 5802 7
 * grammar (each attribute is checked before the next is looked at), apply the
 * channel-binding rules of RFC 5802 6, build the server-first message with
 * the client's nonce and SASL_SCRAM_NONCE_RANDOM fresh random bytes, and
 * verify the ClientProof against StoredKey in constant time.
 * Does not: SASLprep of the user name (sasl-server.h); the "e=" server-error
 * of RFC 5802 7 (a failure is just a failure, and the engine's reply says
 * so); extensions (accepted when well formed, then ignored, except the
 * reserved "m=", which fails as RFC 5802 5.1 requires).
 *
 * Invariants: keys, proofs and signatures are wiped before their memory is
 * released; an unknown user runs through exactly the same code as a known one
 * with a fake secret (sasl-scram.h) and fails only at the proof.
 */
#include <string.h>
#include <sys/types.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-scram.h"
#include "sasl/sasl-server-private.h"
#include "sasl/sasl-text.h"

#define SASL_SCRAM_TEST_NONCE_MAX 64
/* AuthMessage holds at most both client messages and the server-first. */
#define SASL_SCRAM_AUTH_MESSAGE_MAX (2 * SASL_SERVER_MAX_MESSAGE + 1024)

enum sasl_scram_phase {
	SASL_SCRAM_CLIENT_FIRST, /* want client-first (or give an empty challenge) */
	SASL_SCRAM_SERVER_FIRST, /* secret provided: send server-first */
	SASL_SCRAM_CLIENT_FINAL, /* want client-final */
};

enum sasl_scram_secret_kind { SASL_SCRAM_REAL, SASL_SCRAM_UNKNOWN, SASL_SCRAM_MALFORMED };

struct sasl_scram {
	bool plus;
	char gs2_flag;             /* 'n', 'y' or 'p' */
	const uint8_t *cbind;      /* the selected channel-binding data (in the server) */
	size_t cbind_len;
	char *gs2_header;          /* exactly as received, both commas included */
	char *nonce;               /* client nonce, then client + server nonce */
	char test_nonce[SASL_SCRAM_TEST_NONCE_MAX + 1];
	struct buf auth_message;   /* RFC 5802 3 AuthMessage, built as we go */
	struct sasl_scram_secret secret;
	enum sasl_scram_secret_kind kind;
};

/* One comma-separated field of a SCRAM message (RFC 5802 7): values never
 * hold a ',' (saslname escapes it), so fields are found by splitting. */
struct sasl_scram_field {
	const char *p;
	size_t len;
};

struct sasl_scram_cursor {
	const char *p;
	size_t left;
	bool done; /* the last field was taken */
};

static void
sasl_scram_cursor_init(struct sasl_scram_cursor *c, const uint8_t *msg, size_t len)
{
	c->p = (const char *)msg;
	c->left = len;
	c->done = false;
}

/* Take the next field. Returns false when there is none left. */
static bool
sasl_scram_next(struct sasl_scram_cursor *c, struct sasl_scram_field *f)
{
	const char *comma;

	if (c->done)
		return false;
	comma = memchr(c->p, ',', c->left);
	f->p = c->p;
	if (comma == NULL) {
		f->len = c->left;
		c->p += c->left;
		c->left = 0;
		c->done = true;
	} else {
		f->len = (size_t)(comma - c->p);
		c->p = comma + 1;
		c->left -= f->len + 1;
	}
	return true;
}

/* Is f the attribute "<name>=..."? On true, value is what follows '='. */
static bool
sasl_scram_attr(const struct sasl_scram_field *f, char name, struct sasl_scram_field *value)
{
	if (f->len < 2 || f->p[0] != name || f->p[1] != '=')
		return false;
	value->p = f->p + 2;
	value->len = f->len - 2;
	return true;
}

struct sasl_scram *
sasl_scram_new(bool plus)
{
	struct sasl_scram *scram = mem_zalloc(sizeof(*scram));

	scram->plus = plus;
	buf_init(&scram->auth_message, SASL_SCRAM_AUTH_MESSAGE_MAX);
	return scram;
}

void
sasl_scram_free(struct sasl_scram **scramp)
{
	struct sasl_scram *scram = *scramp;

	if (scram == NULL)
		return;
	mem_free(&scram->gs2_header);
	mem_free(&scram->nonce);
	buf_deinit(&scram->auth_message);
	explicit_bzero(scram, sizeof(*scram));
	mem_free(scramp);
}

void
sasl_server_test_set_nonce(struct sasl_server *s, const char *suffix)
{
	size_t len = strnlen(suffix, SASL_SCRAM_TEST_NONCE_MAX + 1);

	if (s->scram == NULL || len == 0 || len > SASL_SCRAM_TEST_NONCE_MAX)
		return;
	for (size_t i = 0; i < len; i++) {
		if (suffix[i] < 0x21 || suffix[i] > 0x7e || suffix[i] == ',')
			return;
	}
	memcpy(s->scram->test_nonce, suffix, len + 1);
}

/*
 * saslname (RFC 5802 5.1, 7): "=2C" stands for ',' and "=3D" for '='; any
 * other '=' is an error. Decodes into out (SASL_SERVER_MAX_IDENTITY + 1
 * bytes) and checks the result as an identity. Returns the decoded length,
 * or -1 and *error_r.
 */
static ssize_t
sasl_scram_saslname(const struct sasl_scram_field *v, char *out, const char **error_r)
{
	size_t n = 0;

	for (size_t i = 0; i < v->len; i++) {
		if (n == SASL_SERVER_MAX_IDENTITY) {
			*error_r = "identity too long";
			return -1;
		}
		if (v->p[i] != '=') {
			out[n++] = v->p[i];
		} else if (v->len - i >= 3 && v->p[i + 1] == '2' && v->p[i + 2] == 'C') {
			out[n++] = ',';
			i += 2;
		} else if (v->len - i >= 3 && v->p[i + 1] == '3' && v->p[i + 2] == 'D') {
			out[n++] = '=';
			i += 2;
		} else {
			*error_r = "bad '=' escape in saslname";
			return -1;
		}
	}
	if (sasl_server_check_identity((const uint8_t *)out, n, error_r) < 0)
		return -1;
	return (ssize_t)n;
}

/* Field 1 of client-first: gs2-cbind-flag (RFC 5802 7; names RFC 5929 4,
 * RFC 9266 2). Only the syntax and the name; the rules of RFC 5802 6 come
 * later, in sasl_scram_cb_policy. */
static int
sasl_scram_gs2_flag(struct sasl_scram *scram, const struct sasl_server *s,
		    const struct sasl_scram_field *f, const char **error_r)
{
	struct sasl_scram_field name;

	if (f->len == 1 && (f->p[0] == 'n' || f->p[0] == 'y')) {
		scram->gs2_flag = f->p[0];
		return 0;
	}
	if (!sasl_scram_attr(f, 'p', &name)) {
		*error_r = "bad GS2 channel-binding flag";
		return -1;
	}
	scram->gs2_flag = 'p';
	if (name.len == 12 && memcmp(name.p, "tls-exporter", 12) == 0) {
		scram->cbind = s->cb_exporter;
		scram->cbind_len = s->cb_exporter_len;
	} else if (name.len == 20 && memcmp(name.p, "tls-server-end-point", 20) == 0) {
		scram->cbind = s->cb_end_point;
		scram->cbind_len = s->cb_end_point_len;
	} else if (name.len == 10 && memcmp(name.p, "tls-unique", 10) == 0) {
		*error_r = "channel binding tls-unique is not supported";
		return -1;
	} else {
		*error_r = "unknown channel-binding type";
		return -1;
	}
	if (scram->cbind == NULL) {
		*error_r = "channel-binding type not available on this connection";
		return -1;
	}
	return 0;
}

/* RFC 5802 6 and RFC 5801 5: which flag goes with which mechanism. */
static int
sasl_scram_cb_policy(const struct sasl_scram *scram, const struct sasl_server *s,
		     const char **error_r)
{
	bool cb_available = s->cb_exporter != NULL || s->cb_end_point != NULL;

	if (scram->plus && scram->gs2_flag != 'p') {
		if (cb_available)
			*error_r = "-PLUS mechanism without channel binding";
		else
			*error_r = "-PLUS mechanism but no channel binding on this connection";
		return -1;
	}
	if (!scram->plus && scram->gs2_flag == 'p') {
		*error_r = "channel binding requested with a non-PLUS mechanism";
		return -1;
	}
	if (scram->gs2_flag == 'y' && cb_available) {
		*error_r = "client thinks the server has no channel binding (downgrade?)";
		return -1;
	}
	return 0;
}

/* extensions = attr-val *("," attr-val), attr-val = ALPHA "=" value
 * (RFC 5802 7). value-char excludes NUL (checked on the whole message). */
static int
sasl_scram_extension(const struct sasl_scram_field *f, const char **error_r)
{
	char c = f->len > 0 ? f->p[0] : '\0';

	if (f->len < 3 || f->p[1] != '=' || !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
		*error_r = "malformed attribute";
		return -1;
	}
	return 0;
}

/* Whole-message checks: value-char is UTF-8 without NUL (RFC 5802 7). */
static int
sasl_scram_check_message(const uint8_t *in, size_t in_len, const char **error_r)
{
	if (memchr(in, '\0', in_len) != NULL) {
		*error_r = "NUL in SCRAM message";
		return -1;
	}
	if (!sasl_utf8_valid(in, in_len)) {
		*error_r = "SCRAM message is not valid UTF-8";
		return -1;
	}
	return 0;
}

/* c-nonce = printable, 1*: %x21-2B / %x2D-7E (RFC 5802 7). */
static int
sasl_scram_check_nonce(const struct sasl_scram_field *v, const char **error_r)
{
	if (v->len == 0 || v->len > SASL_SCRAM_CNONCE_MAX) {
		*error_r = v->len == 0 ? "empty nonce" : "nonce too long";
		return -1;
	}
	for (size_t i = 0; i < v->len; i++) {
		if (v->p[i] < 0x21 || v->p[i] > 0x7e) {
			*error_r = "non-printable character in nonce";
			return -1;
		}
	}
	return 0;
}

/* The GS2 header: flag, then "" or "a=" saslname (RFC 5802 7). Sets
 * gs2_header and authzid (decoded, NUL-terminated; "" when absent). */
static int
sasl_scram_gs2_header(struct sasl_scram *scram, const struct sasl_server *s,
		      struct sasl_scram_cursor *c, char *authzid, const char **error_r)
{
	struct sasl_scram_field f, v;
	const char *start = c->p;
	ssize_t n = 0;

	(void)sasl_scram_next(c, &f); /* there is always a first field */
	if (sasl_scram_gs2_flag(scram, s, &f, error_r) < 0)
		return -1;
	if (!sasl_scram_next(c, &f) || c->done) {
		*error_r = "truncated GS2 header";
		return -1;
	}
	if (f.len > 0) {
		if (!sasl_scram_attr(&f, 'a', &v)) {
			*error_r = "bad authzid in GS2 header";
			return -1;
		}
		n = sasl_scram_saslname(&v, authzid, error_r);
		if (n < 0)
			return -1;
	}
	authzid[n] = '\0';
	scram->gs2_header = mem_strndup(start, (size_t)(c->p - start));
	return 0;
}

/* client-first-message (RFC 5802 7): checks in grammar order, then the
 * channel-binding rules (RFC 5802 6) and our authzid policy. */
static enum sasl_step_result
sasl_scram_client_first(struct sasl_server *s, const uint8_t *in, size_t in_len,
			const char **error_r)
{
	struct sasl_scram *scram = s->scram;
	char authzid[SASL_SERVER_MAX_IDENTITY + 1], user[SASL_SERVER_MAX_IDENTITY + 1];
	struct sasl_scram_cursor c;
	struct sasl_scram_field f, v;
	const char *bare;
	ssize_t ulen;

	if (sasl_scram_check_message(in, in_len, error_r) < 0)
		return SASL_STEP_FAILURE;
	sasl_scram_cursor_init(&c, in, in_len);
	if (sasl_scram_gs2_header(scram, s, &c, authzid, error_r) < 0)
		return SASL_STEP_FAILURE;
	bare = c.p;
	(void)sasl_scram_next(&c, &f); /* the GS2 header ended with a comma */
	if (sasl_scram_attr(&f, 'm', &v)) {
		*error_r = "mandatory extension (m=) not supported"; /* RFC 5802 5.1 */
		return SASL_STEP_FAILURE;
	}
	if (!sasl_scram_attr(&f, 'n', &v)) {
		*error_r = "missing user name";
		return SASL_STEP_FAILURE;
	}
	ulen = sasl_scram_saslname(&v, user, error_r);
	if (ulen < 0)
		return SASL_STEP_FAILURE;
	user[ulen] = '\0';
	sasl_server_set_authcid(s, (const uint8_t *)user, (size_t)ulen);
	if (!sasl_scram_next(&c, &f) || !sasl_scram_attr(&f, 'r', &v)) {
		*error_r = "missing nonce";
		return SASL_STEP_FAILURE;
	}
	if (sasl_scram_check_nonce(&v, error_r) < 0)
		return SASL_STEP_FAILURE;
	scram->nonce = mem_strndup(v.p, v.len);
	while (sasl_scram_next(&c, &f)) {
		if (sasl_scram_extension(&f, error_r) < 0)
			return SASL_STEP_FAILURE;
	}
	if (sasl_scram_cb_policy(scram, s, error_r) < 0)
		return SASL_STEP_FAILURE;
	if (authzid[0] != '\0' && strcmp(authzid, user) != 0) {
		*error_r = "authorization identity differs from authentication identity";
		return SASL_STEP_FAILURE;
	}
	if (buf_append(&scram->auth_message, bare, in_len - (size_t)(bare - (const char *)in)) < 0)
		PANIC("AuthMessage limit below the message limit");
	s->phase = SASL_SCRAM_SERVER_FIRST;
	return SASL_STEP_NEED_SECRET;
}

/* Our part of the nonce: fresh random bytes in base64 (printable, never ','),
 * or the test hook's string. Returns 0, or -1 when there is no randomness. */
static int
sasl_scram_nonce_suffix(const struct sasl_scram *scram, struct buf *out)
{
	uint8_t rnd[SASL_SCRAM_NONCE_RANDOM];
	int ret;

	if (scram->test_nonce[0] != '\0')
		return buf_append_str(out, scram->test_nonce);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return -1;
	ret = base64_encode(out, rnd, sizeof(rnd));
	explicit_bzero(rnd, sizeof(rnd));
	return ret;
}

/* server-first-message = nonce "," salt "," iteration-count (RFC 5802 7). */
static enum sasl_step_result
sasl_scram_server_first(struct sasl_server *s, struct buf *out, const char **error_r)
{
	struct sasl_scram *scram = s->scram;
	const char *nonce;

	if (buf_append_str(out, "r=") < 0 || buf_append_str(out, scram->nonce) < 0 ||
	    sasl_scram_nonce_suffix(scram, out) < 0) {
		*error_r = "cannot make the server nonce";
		return SASL_STEP_FAILURE;
	}
	nonce = buf_cstr(out) + 2;
	mem_free(&scram->nonce);
	scram->nonce = mem_strdup(nonce);
	if (buf_append_str(out, ",s=") < 0 ||
	    base64_encode(out, scram->secret.salt, scram->secret.salt_len) < 0 ||
	    buf_printf(out, ",i=%u", scram->secret.iterations) < 0) {
		*error_r = "output buffer too small";
		return SASL_STEP_FAILURE;
	}
	if (buf_append_byte(&scram->auth_message, ',') < 0 ||
	    buf_append(&scram->auth_message, buf_data(out), buf_len(out)) < 0)
		PANIC("AuthMessage limit below the message limit");
	s->phase = SASL_SCRAM_CLIENT_FINAL;
	return SASL_STEP_CHALLENGE;
}

/* channel-binding = "c=" base64 of gs2-header and cbind-data (RFC 5802 7,
 * RFC 5929 4, RFC 9266 2): compared with exactly what we expect, so that
 * anything else, including another valid encoding, fails. */
static int
sasl_scram_check_cbind(const struct sasl_scram *scram, const struct sasl_scram_field *v,
		       const char **error_r)
{
	size_t hlen = strlen(scram->gs2_header), cblen = 0;
	struct buf raw, expected;
	int ret = 0;

	if (scram->gs2_flag == 'p')
		cblen = scram->cbind_len;
	buf_init(&raw, 0); /* bounded: a header from one message and our own data */
	buf_init(&expected, 0);
	if (buf_append(&raw, scram->gs2_header, hlen) < 0 ||
	    buf_append(&raw, scram->cbind, cblen) < 0 ||
	    base64_encode(&expected, buf_data(&raw), buf_len(&raw)) < 0)
		PANIC("unbounded buffer refused data");
	if (v->len != buf_len(&expected) || memcmp(v->p, buf_data(&expected), v->len) != 0) {
		*error_r = "channel-binding data mismatch";
		ret = -1;
	}
	buf_deinit(&raw);
	buf_deinit(&expected);
	return ret;
}

/*
 * The proof check (RFC 5802 3): ClientSignature = HMAC(StoredKey,
 * AuthMessage); ClientKey = ClientProof XOR ClientSignature; the client knew
 * the password when H(ClientKey) == StoredKey. Then ServerSignature =
 * HMAC(ServerKey, AuthMessage) goes back as "v=" (RFC 5802 7 verifier). The
 * fake secret of an unknown user goes through the same computation.
 */
static enum sasl_step_result
sasl_scram_verify(struct sasl_scram *scram, const uint8_t *proof, struct buf *out,
		  const char **error_r)
{
	uint8_t sig[SASL_SCRAM_HASH_LEN], key[SASL_SCRAM_HASH_LEN], hash[SASL_SCRAM_HASH_LEN];
	const struct buf *am = &scram->auth_message;
	bool ok;

	if (HMAC(EVP_sha256(), scram->secret.stored_key, SASL_SCRAM_HASH_LEN, buf_data(am),
		 buf_len(am), sig, NULL) == NULL)
		PANIC("HMAC-SHA-256 failed");
	for (size_t i = 0; i < SASL_SCRAM_HASH_LEN; i++)
		key[i] = proof[i] ^ sig[i];
	if (SHA256(key, sizeof(key), hash) == NULL)
		PANIC("SHA-256 failed");
	ok = CRYPTO_memcmp(hash, scram->secret.stored_key, SASL_SCRAM_HASH_LEN) == 0;
	explicit_bzero(key, sizeof(key));
	explicit_bzero(hash, sizeof(hash));
	if (scram->kind != SASL_SCRAM_REAL || !ok) {
		explicit_bzero(sig, sizeof(sig));
		if (scram->kind == SASL_SCRAM_UNKNOWN)
			*error_r = "unknown user";
		else if (scram->kind == SASL_SCRAM_MALFORMED)
			*error_r = "stored SCRAM secret is malformed";
		else
			*error_r = "wrong password";
		return SASL_STEP_FAILURE;
	}
	if (HMAC(EVP_sha256(), scram->secret.server_key, SASL_SCRAM_HASH_LEN, buf_data(am),
		 buf_len(am), sig, NULL) == NULL)
		PANIC("HMAC-SHA-256 failed");
	if (buf_append_str(out, "v=") < 0 || base64_encode(out, sig, sizeof(sig)) < 0) {
		explicit_bzero(sig, sizeof(sig));
		*error_r = "output buffer too small";
		return SASL_STEP_FAILURE;
	}
	explicit_bzero(sig, sizeof(sig));
	return SASL_STEP_SUCCESS;
}

/* proof = "p=" base64 of exactly one SHA-256 output. */
static int
sasl_scram_decode_proof(const struct sasl_scram_field *v, uint8_t *proof, const char **error_r)
{
	struct buf b;
	int ret = -1;

	buf_init(&b, SASL_SCRAM_HASH_LEN);
	if (v->len == base64_encoded_len(SASL_SCRAM_HASH_LEN) &&
	    base64_decode(&b, v->p, v->len) == 0 && buf_len(&b) == SASL_SCRAM_HASH_LEN) {
		memcpy(proof, buf_data(&b), SASL_SCRAM_HASH_LEN);
		ret = 0;
	} else {
		*error_r = "malformed proof";
	}
	buf_deinit(&b);
	return ret;
}

/*
 * client-final-message = channel-binding "," nonce ["," extensions] ","
 * proof (RFC 5802 7). The part before ",p=" is
 * client-final-message-without-proof, the last piece of AuthMessage.
 */
static enum sasl_step_result
sasl_scram_client_final(struct sasl_server *s, const uint8_t *in, size_t in_len,
			struct buf *out, const char **error_r)
{
	struct sasl_scram *scram = s->scram;
	uint8_t proof[SASL_SCRAM_HASH_LEN];
	struct sasl_scram_cursor c;
	struct sasl_scram_field f, v;
	enum sasl_step_result ret;

	if (sasl_scram_check_message(in, in_len, error_r) < 0)
		return SASL_STEP_FAILURE;
	sasl_scram_cursor_init(&c, in, in_len);
	(void)sasl_scram_next(&c, &f);
	if (!sasl_scram_attr(&f, 'c', &v)) {
		*error_r = "missing channel binding";
		return SASL_STEP_FAILURE;
	}
	if (sasl_scram_check_cbind(scram, &v, error_r) < 0)
		return SASL_STEP_FAILURE;
	if (!sasl_scram_next(&c, &f) || !sasl_scram_attr(&f, 'r', &v)) {
		*error_r = "missing nonce";
		return SASL_STEP_FAILURE;
	}
	if (v.len != strlen(scram->nonce) || memcmp(v.p, scram->nonce, v.len) != 0) {
		*error_r = "nonce mismatch";
		return SASL_STEP_FAILURE;
	}
	for (;;) {
		if (!sasl_scram_next(&c, &f)) {
			*error_r = "missing proof";
			return SASL_STEP_FAILURE;
		}
		if (sasl_scram_attr(&f, 'p', &v))
			break;
		if (sasl_scram_extension(&f, error_r) < 0)
			return SASL_STEP_FAILURE;
	}
	if (!c.done) {
		*error_r = "proof is not the last attribute";
		return SASL_STEP_FAILURE;
	}
	if (sasl_scram_decode_proof(&v, proof, error_r) < 0)
		return SASL_STEP_FAILURE;
	/* f.p is the 'p' of the proof, after the comma that ends the rest */
	if (buf_append_byte(&scram->auth_message, ',') < 0 ||
	    buf_append(&scram->auth_message, in, (size_t)(f.p - 1 - (const char *)in)) < 0)
		PANIC("AuthMessage limit below the message limit");
	ret = sasl_scram_verify(scram, proof, out, error_r);
	explicit_bzero(proof, sizeof(proof));
	return ret;
}

void
sasl_scram_provide_secret(struct sasl_server *s, const char *secret)
{
	struct sasl_scram *scram = s->scram;
	const char *error;

	ASSERT(scram != NULL && s->authcid != NULL);
	scram->kind = SASL_SCRAM_REAL;
	if (secret == NULL)
		scram->kind = SASL_SCRAM_UNKNOWN;
	else if (sasl_scram_secret_parse(secret, &scram->secret, &error) < 0)
		scram->kind = SASL_SCRAM_MALFORMED;
	if (scram->kind != SASL_SCRAM_REAL)
		sasl_scram_secret_fake(s->authcid, &scram->secret);
}

enum sasl_step_result
sasl_scram_step(struct sasl_server *s, const uint8_t *in, size_t in_len, struct buf *out,
		const char **error_r)
{
	switch (s->phase) {
	case SASL_SCRAM_CLIENT_FIRST:
		if (s->scram->plus && s->cb_exporter == NULL && s->cb_end_point == NULL) {
			*error_r = "-PLUS mechanism but no channel binding on this connection";
			return SASL_STEP_FAILURE;
		}
		/* RFC 5802 5: client-first; without an initial response, an
		 * empty challenge asks for it (RFC 4422 5) */
		if (in == NULL)
			return SASL_STEP_CHALLENGE;
		return sasl_scram_client_first(s, in, in_len, error_r);
	case SASL_SCRAM_SERVER_FIRST:
		return sasl_scram_server_first(s, out, error_r);
	default:
		return sasl_scram_client_final(s, in, in_len, out, error_r);
	}
}
