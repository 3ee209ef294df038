/*
 * test-sasl-server.c - the SASL server state machine: PLAIN, LOGIN,
 * SCRAM-SHA-256(-PLUS) exchanges, the order of calls, SCRAM secrets, the RFC
 * 7677 3 test vector, channel binding and malformed input of every field.
 *
 * The SCRAM client side here is written again from RFC 5802 3 with OpenSSL
 * (t_scram_client) rather than with the server's helpers, so that a shared
 * mistake cannot make both sides agree.
 */
#include "sasl/sasl-server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"
#include "sasl/password.h"
#include "sasl/sasl-plain.h"
#include "sasl/sasl-scram.h"

/* RFC 7677 3: user "user", password "pencil", 4096 iterations. The secret
 * is what sasl_scram_secret_make would store for that salt. */
#define RFC_SALT "W22ZaJ0SNY7soEsUEjb6gQ=="
#define RFC_SECRET                                                         \
	"SCRAM-SHA-256$4096:" RFC_SALT "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:" \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define RFC_CNONCE "rOprNGfwEbeRWgbNEkqO"
#define RFC_SNONCE "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"

/* A fixed server nonce for the tests that replay exact messages. */
#define SNONCE "SrvNonce"

static const uint8_t cb_exporter_data[32] = {
	0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
	0x0c, 0x0d, 0x0e, 0x0f, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16,
	0x17, 0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f, 0x20,
};
static const uint8_t cb_end_point_data[32] = {
	0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9, 0xaa,
	0xab, 0xac, 0xad, 0xae, 0xaf, 0xb0, 0xb1, 0xb2, 0xb3, 0xb4, 0xb5,
	0xb6, 0xb7, 0xb8, 0xb9, 0xba, 0xbb, 0xbc, 0xbd, 0xbe, 0xbf,
};
static const struct sasl_channel_binding cb_both = {
	cb_exporter_data, sizeof(cb_exporter_data), cb_end_point_data, sizeof(cb_end_point_data),
};
static const struct sasl_channel_binding cb_exporter_only = {
	cb_exporter_data, sizeof(cb_exporter_data), NULL, 0,
};
static const struct sasl_channel_binding cb_end_point_only = {
	NULL, 0, cb_end_point_data, sizeof(cb_end_point_data),
};
static const struct sasl_channel_binding cb_none = { NULL, 0, NULL, 0 };

static struct buf out;
static const char *error;

/* One step with a C string as the response (NULL: continue). */
static enum sasl_step_result
step_str(struct sasl_server *s, const char *in)
{
	error = NULL;
	return sasl_server_step(s, (const uint8_t *)in, in == NULL ? 0 : strlen(in), &out, &error);
}

/* One step with explicit length (PLAIN messages hold NULs). */
static enum sasl_step_result
step_mem(struct sasl_server *s, const char *in, size_t len)
{
	error = NULL;
	return sasl_server_step(s, (const uint8_t *)in, len, &out, &error);
}
#define STEP_LIT(s, lit) step_mem((s), (lit), sizeof(lit) - 1)

#define T_OUT(str) T_MEMEQ(buf_data(&out), buf_len(&out), (str), strlen(str))

/* ---- the client side of SCRAM (RFC 5802 3), for the tests ---- */

struct t_scram_msgs {
	char final[1024];    /* client-final-message */
	char verifier[64];   /* the server-final the server must send */
};

/* Value of attribute "<name>=" in a server-first message, copied into v. */
static bool
t_attr(const char *msg, char name, char *v, size_t size)
{
	const char *p = msg;

	while (p != NULL) {
		if (p[0] == name && p[1] == '=') {
			size_t n = strcspn(p + 2, ",");

			if (n >= size)
				return false;
			memcpy(v, p + 2, n);
			v[n] = '\0';
			return true;
		}
		p = strchr(p, ',');
		if (p != NULL)
			p++;
	}
	return false;
}

static void
t_b64(const uint8_t *data, size_t len, char *dst, size_t size)
{
	struct buf b;

	buf_init(&b, 0);
	T_ASSERT(base64_encode(&b, data, len) == 0);
	T_ASSERT(buf_len(&b) < size);
	memcpy(dst, buf_data(&b), buf_len(&b) + 1);
	buf_deinit(&b);
}

/*
 * From the password, the client-first-message-bare, the server-first and
 * the "c=" value, make the client-final with its proof and the verifier
 * the server must answer with. proof_flip flips one bit of the proof.
 */
static bool
t_scram_client(const char *password, const char *bare, const char *server_first,
	       const char *cbind_b64, bool proof_flip, struct t_scram_msgs *m)
{
	char nonce[512], salt_b64[128], iter[16], without_proof[768], proof_b64[64];
	uint8_t salted[32], client_key[32], stored[32], server_key[32], sig[32], proof[32];
	struct buf salt, am;

	if (!t_attr(server_first, 'r', nonce, sizeof(nonce)) ||
	    !t_attr(server_first, 's', salt_b64, sizeof(salt_b64)) ||
	    !t_attr(server_first, 'i', iter, sizeof(iter)))
		return false;
	buf_init(&salt, 0);
	if (base64_decode(&salt, salt_b64, strlen(salt_b64)) < 0)
		return false;
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), buf_data(&salt), (int)buf_len(&salt),
			  (int)strtoul(iter, NULL, 10), EVP_sha256(), 32, salted);
	buf_deinit(&salt);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Client Key", 10, client_key, NULL);
	SHA256(client_key, 32, stored);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Server Key", 10, server_key, NULL);
	snprintf(without_proof, sizeof(without_proof), "c=%s,r=%s", cbind_b64, nonce);
	buf_init(&am, 0);
	buf_printf(&am, "%s,%s,%s", bare, server_first, without_proof);
	HMAC(EVP_sha256(), stored, 32, buf_data(&am), buf_len(&am), sig, NULL);
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ sig[i];
	if (proof_flip)
		proof[7] ^= 0x10;
	t_b64(proof, 32, proof_b64, sizeof(proof_b64));
	snprintf(m->final, sizeof(m->final), "%s,p=%s", without_proof, proof_b64);
	HMAC(EVP_sha256(), server_key, 32, buf_data(&am), buf_len(&am), sig, NULL);
	memcpy(m->verifier, "v=", 3);
	t_b64(sig, 32, m->verifier + 2, sizeof(m->verifier) - 2);
	buf_deinit(&am);
	return true;
}

/* "c=" value: base64 of the GS2 header of first and cbind data. */
static void
t_cbind(const char *first, const uint8_t *cb, size_t cb_len, char *dst, size_t size)
{
	const char *comma = strchr(first, ',');
	size_t hlen = (size_t)(strchr(comma + 1, ',') + 1 - first);
	uint8_t raw[512];

	memcpy(raw, first, hlen);
	if (cb_len > 0)
		memcpy(raw + hlen, cb, cb_len);
	t_b64(raw, hlen + cb_len, dst, size);
}

/* client-first-message-bare: after the second comma. */
static const char *
t_bare(const char *first)
{
	return strchr(strchr(first, ',') + 1, ',') + 1;
}

/*
 * Start a SCRAM exchange and bring it to the point where the client-final
 * is due (the server-first is in out). Returns the server, or NULL (and
 * frees it) when the exchange failed before; then *ret_r says how.
 */
static struct sasl_server *
t_scram_start(const char *mech, const struct sasl_channel_binding *cb, const char *first,
	      const char *secret, enum sasl_step_result *ret_r)
{
	struct sasl_server *s = sasl_server_new(mech, cb);

	sasl_server_test_set_nonce(s, SNONCE);
	*ret_r = step_str(s, first);
	if (*ret_r != SASL_STEP_NEED_SECRET) {
		sasl_server_free(&s);
		return NULL;
	}
	sasl_server_provide_secret(s, secret);
	*ret_r = step_str(s, NULL);
	if (*ret_r != SASL_STEP_CHALLENGE) {
		sasl_server_free(&s);
		return NULL;
	}
	return s;
}

/*
 * A whole SCRAM exchange with a correct client for password; cb_data is
 * what the client binds to. Returns the final result; on success checks the
 * verifier.
 */
static enum sasl_step_result
t_scram_run(const char *mech, const struct sasl_channel_binding *cb, const char *first,
	    const char *secret, const char *password, const uint8_t *cb_data, size_t cb_len)
{
	enum sasl_step_result ret;
	struct sasl_server *s = t_scram_start(mech, cb, first, secret, &ret);
	struct t_scram_msgs m;
	char cbind[256], server_first[512];

	if (s == NULL)
		return ret;
	t_cbind(first, cb_data, cb_len, cbind, sizeof(cbind));
	memcpy(server_first, buf_cstr(&out), buf_len(&out) + 1);
	T_ASSERT(t_scram_client(password, t_bare(first), server_first, cbind, false, &m));
	ret = step_str(s, m.final);
	if (ret == SASL_STEP_SUCCESS)
		T_OUT(m.verifier);
	sasl_server_free(&s);
	return ret;
}

/* ---- mechanism table ---- */

static void
test_mechanisms(void)
{
	const struct sasl_mech_info *const *m = sasl_mechanisms();
	struct sasl_server *s;

	T_STREQ(m[0]->name, "SCRAM-SHA-256-PLUS");
	T_INTEQ(m[0]->flags, SASL_MECH_NEEDS_CB);
	T_STREQ(m[1]->name, "SCRAM-SHA-256");
	T_INTEQ(m[1]->flags, 0);
	T_STREQ(m[2]->name, "PLAIN");
	T_INTEQ(m[2]->flags, SASL_MECH_PLAINTEXT);
	T_STREQ(m[3]->name, "LOGIN");
	T_ASSERT(m[4] == NULL);
	T_ASSERT(sasl_mechanism_find("plain") == m[2]);
	T_ASSERT(sasl_mechanism_find("scram-sha-256-plus") == m[0]);
	T_ASSERT(sasl_mechanism_find("CRAM-MD5") == NULL);
	T_ASSERT(sasl_mechanism_find("SCRAM-SHA-1") == NULL);
	T_ASSERT(sasl_server_new("DIGEST-MD5", NULL) == NULL);
	s = sasl_server_new("login", NULL);
	T_STREQ(sasl_server_mech_name(s), "LOGIN");
	T_ASSERT(sasl_server_authcid(s) == NULL);
	T_ASSERT(sasl_server_password(s) == NULL);
	sasl_server_free(&s);
	T_ASSERT(s == NULL);
	sasl_server_free(&s);
}

/* ---- PLAIN ---- */

static void
test_plain_initial_response(void)
{
	struct sasl_server *s = sasl_server_new("PLAIN", NULL);

	T_INTEQ(STEP_LIT(s, "\0tim\0tanstaaftanstaaf"), SASL_STEP_NEED_PASSWORD);
	T_STREQ(sasl_server_authcid(s), "tim");
	T_STREQ(sasl_server_password(s), "tanstaaftanstaaf");
	sasl_server_provide_verified(s, true);
	T_ASSERT(sasl_server_password(s) == NULL);
	T_INTEQ(step_str(s, NULL), SASL_STEP_SUCCESS);
	T_INTEQ(buf_len(&out), 0);
	T_STREQ(sasl_server_authcid(s), "tim");
	sasl_server_free(&s);

	/* wrong password */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(STEP_LIT(s, "\0tim\0wrong"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, false);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "wrong password or unknown user");
	sasl_server_free(&s);

	/* authzid equal to authcid is the same as none (RFC 4616 2) */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(STEP_LIT(s, "tim\0tim\0pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_free(&s);
}

static void
test_plain_no_initial_response(void)
{
	struct sasl_server *s = sasl_server_new("PLAIN", NULL);

	buf_append_str(&out, "junk");
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(buf_len(&out), 0); /* empty challenge, and out was emptied */
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_SUCCESS);
	sasl_server_free(&s);
}

static void
test_plain_empty_initial_response(void)
{
	struct sasl_server *s = sasl_server_new("PLAIN", NULL);

	/* "AUTH PLAIN =" (RFC 4422 4): an empty message, which PLAIN cannot be */
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "missing NUL separator");
	T_INTEQ(buf_len(&out), 0);
	T_ASSERT(sasl_server_authcid(s) == NULL);
	/* and the exchange is over: the response that follows fails too */
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_FAILURE);
	T_STREQ(error, "exchange already finished");
	sasl_server_free(&s);

	/* an empty response to the empty challenge is just as malformed */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "missing NUL separator");
	sasl_server_free(&s);

	/* SCRAM likewise */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "bad GS2 channel-binding flag");
	sasl_server_free(&s);
}

static void
test_plain_bad(void)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *error;
	} cases[] = {
#define C(lit, err) { lit, sizeof(lit) - 1, err }
		C("other\0tim\0pw", "authorization identity differs from authentication identity"),
		C("Tim\0tim\0pw", "authorization identity differs from authentication identity"),
		C("\0tim\0", "empty password"),
		C("\0\0pw", "empty authentication identity"),
		C("\0tim pw", "missing NUL separator"),
		C("\0t\x01m\0pw", "control character in identity"),
		C("\0t\x7fm\0pw", "control character in identity"),
		C("\0t\xc2\x85m\0pw", "control character in identity"),
		C("\0t\xffm\0pw", "authentication identity is not valid UTF-8"),
#undef C
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sasl_server *s = sasl_server_new("PLAIN", NULL);

		T_INTEQ(step_mem(s, cases[i].msg, cases[i].len), SASL_STEP_FAILURE);
		T_STREQ(error, cases[i].error);
		T_INTEQ(buf_len(&out), 0);
		T_ASSERT(sasl_server_password(s) == NULL);
		sasl_server_free(&s);
	}
}

/* ---- LOGIN ---- */

static void
test_login(void)
{
	struct sasl_server *s = sasl_server_new("LOGIN", NULL);

	/* without initial response */
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_OUT("Username:");
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_OUT("Password:");
	T_STREQ(sasl_server_authcid(s), "tim");
	T_INTEQ(step_str(s, "secret pw"), SASL_STEP_NEED_PASSWORD);
	T_INTEQ(buf_len(&out), 0);
	T_STREQ(sasl_server_password(s), "secret pw");
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_SUCCESS);
	sasl_server_free(&s);

	/* the user name as initial response */
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_OUT("Password:");
	T_INTEQ(step_str(s, "pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, false);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "wrong password or unknown user");
	sasl_server_free(&s);

	/* an empty initial response is an empty user name */
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "empty identity");
	sasl_server_free(&s);
}

static void
test_login_bad(void)
{
	char long_field[SASL_PLAIN_MAX_FIELD + 2];
	struct sasl_server *s = sasl_server_new("LOGIN", NULL);

	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "empty identity");
	sasl_server_free(&s);

	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "t\tm"), SASL_STEP_FAILURE);
	T_STREQ(error, "control character in identity");
	sasl_server_free(&s);

	memset(long_field, 'a', sizeof(long_field));
	long_field[sizeof(long_field) - 1] = '\0';
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, long_field), SASL_STEP_FAILURE);
	T_STREQ(error, "identity too long");
	sasl_server_free(&s);

	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, long_field), SASL_STEP_FAILURE);
	T_STREQ(error, "password too long");
	sasl_server_free(&s);

	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(STEP_LIT(s, "p\0w"), SASL_STEP_FAILURE);
	T_STREQ(error, "NUL in password");
	sasl_server_free(&s);

	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(step_mem(s, "", 0), SASL_STEP_FAILURE);
	T_STREQ(error, "empty password");
	sasl_server_free(&s);

	/* 255 octets of user name and of password are fine */
	long_field[SASL_PLAIN_MAX_FIELD] = '\0';
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, long_field), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, long_field), SASL_STEP_NEED_PASSWORD);
	sasl_server_free(&s);
}

/* ---- order of calls ---- */

static void
test_order_password(void)
{
	struct sasl_server *s = sasl_server_new("PLAIN", NULL);

	/* continue twice: the challenge wants a response */
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "continue while a response was expected");
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_FAILURE);
	T_STREQ(error, "exchange already finished");
	sasl_server_free(&s);

	/* a step before the verdict */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_NEED_PASSWORD);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "step before the password verdict was provided");
	T_ASSERT(sasl_server_password(s) == NULL);
	sasl_server_free(&s);

	/* a response after the verdict, where a continue is due */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, true);
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_FAILURE);
	T_STREQ(error, "response while none was expected");
	sasl_server_free(&s);

	/* a verdict nobody asked for */
	s = sasl_server_new("PLAIN", NULL);
	sasl_server_provide_verified(s, true);
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_FAILURE);
	T_STREQ(error, "password verdict provided out of order");
	sasl_server_free(&s);

	/* a secret for a password mechanism */
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, "pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_ASSERT(sasl_server_password(s) == NULL);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "secret provided out of order");
	sasl_server_free(&s);

	/* the verdict twice */
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, "pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, true);
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "password verdict provided out of order");
	sasl_server_free(&s);

	/* LOGIN: a continue where the password is due */
	s = sasl_server_new("LOGIN", NULL);
	T_INTEQ(step_str(s, "tim"), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	sasl_server_free(&s);

	/* anything after success */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(STEP_LIT(s, "\0tim\0pw"), SASL_STEP_NEED_PASSWORD);
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_SUCCESS);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "exchange already finished");
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "exchange already finished");
	sasl_server_free(&s);
}

static void
test_order_scram(void)
{
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);

	/* a continue before the secret */
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	T_STREQ(sasl_server_authcid(s), "user");
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "step before the secret was provided");
	sasl_server_free(&s);

	/* a response before the secret */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	T_INTEQ(step_str(s, "c=biws,r=abc,p=AAAA"), SASL_STEP_FAILURE);
	sasl_server_free(&s);

	/* a verdict instead of a secret */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	sasl_server_provide_verified(s, true);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "password verdict provided out of order");
	sasl_server_free(&s);

	/* the secret twice */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "secret provided out of order");
	sasl_server_free(&s);

	/* a secret before the client-first */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_FAILURE);
	T_STREQ(error, "secret provided out of order");
	sasl_server_free(&s);

	/* a continue where the client-final is due */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "continue while a response was expected");
	T_INTEQ(buf_len(&out), 0);
	sasl_server_free(&s);

	/* the client-first twice: the second is taken as a client-final */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(buf_len(&out), 0);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, NULL);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_FAILURE);
	T_STREQ(error, "missing channel binding");
	sasl_server_free(&s);
}

static void
test_max_message(void)
{
	uint8_t *big = mem_alloc(SASL_SERVER_MAX_MESSAGE + 1);
	struct sasl_server *s;

	memset(big, 'a', SASL_SERVER_MAX_MESSAGE + 1);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	error = NULL;
	T_INTEQ(sasl_server_step(s, big, SASL_SERVER_MAX_MESSAGE + 1, &out, &error),
		SASL_STEP_FAILURE);
	T_STREQ(error, "response too long");
	sasl_server_free(&s);

	/* exactly the limit reaches the mechanism (which refuses the field) */
	s = sasl_server_new("PLAIN", NULL);
	T_INTEQ(sasl_server_step(s, big, SASL_SERVER_MAX_MESSAGE, &out, &error),
		SASL_STEP_FAILURE);
	T_STREQ(error, "missing NUL separator");
	sasl_server_free(&s);
	mem_free(&big);
}

static void
test_small_out(void)
{
	struct sasl_server *s = sasl_server_new("LOGIN", NULL);
	struct buf small;

	buf_init(&small, 4);
	T_INTEQ(sasl_server_step(s, NULL, 0, &small, &error), SASL_STEP_FAILURE);
	T_STREQ(error, "output buffer too small");
	T_INTEQ(buf_len(&small), 0);
	sasl_server_free(&s);
	buf_deinit(&small);
}

/* ---- SCRAM secrets ---- */

static void
test_scram_rfc7677_keys(void)
{
	static const char password[] = "pencil";
	uint8_t salt[16], stored[32], server[32];
	struct sasl_scram_secret secret;
	struct buf b;

	buf_init(&b, 0);
	T_ASSERT(base64_decode(&b, RFC_SALT, strlen(RFC_SALT)) == 0);
	T_INTEQ(buf_len(&b), 16);
	memcpy(salt, buf_data(&b), 16);
	buf_deinit(&b);
	T_INTEQ(sasl_scram_keys_derive((const uint8_t *)password, 6, salt, 16, 4096, stored,
				       server), 0);
	T_INTEQ(sasl_scram_secret_parse(RFC_SECRET, &secret, &error), 1);
	T_INTEQ(secret.iterations, 4096);
	T_MEMEQ(secret.salt, secret.salt_len, salt, 16);
	T_MEMEQ(secret.stored_key, 32, stored, 32);
	T_MEMEQ(secret.server_key, 32, server, 32);
}

static void
test_scram_secret_make(void)
{
	char *password = password_generate(20);
	char *secret = sasl_scram_secret_make(password, 0);
	char *again = sasl_scram_secret_make(password, 0);
	struct sasl_scram_secret parsed;
	uint8_t stored[32], server[32];

	T_ASSERT(secret != NULL);
	T_ASSERT(strncmp(secret, "SCRAM-SHA-256$10000:", 20) == 0);
	T_INTEQ(strlen(secret), 20 + 24 + 1 + 44 + 1 + 44);
	T_INTEQ(sasl_scram_secret_parse(secret, &parsed, &error), 1);
	T_INTEQ(parsed.iterations, SASL_SCRAM_ITER_DEFAULT);
	T_INTEQ(parsed.salt_len, SASL_SCRAM_SALT_LEN);
	T_INTEQ(sasl_scram_keys_derive((const uint8_t *)password, strlen(password), parsed.salt,
				       parsed.salt_len, parsed.iterations, stored, server), 0);
	T_MEMEQ(parsed.stored_key, 32, stored, 32);
	T_MEMEQ(parsed.server_key, 32, server, 32);
	/* a fresh salt every time */
	T_ASSERT(again != NULL && strcmp(secret, again) != 0);
	mem_free(&secret);
	mem_free(&again);

	secret = sasl_scram_secret_make(password, SASL_SCRAM_ITER_MIN);
	T_ASSERT(secret != NULL && strncmp(secret, "SCRAM-SHA-256$4096:", 19) == 0);
	mem_free(&secret);
	T_ASSERT(sasl_scram_secret_make(password, SASL_SCRAM_ITER_MIN - 1) == NULL);
	T_ASSERT(sasl_scram_secret_make(password, SASL_SCRAM_ITER_MAX + 1) == NULL);
	T_ASSERT(sasl_scram_secret_make("", 0) == NULL);
	T_ASSERT(sasl_scram_secret_make("tab\there", 0) == NULL);
	T_ASSERT(sasl_scram_secret_make("bad\xff", 0) == NULL);
	secret = sasl_scram_secret_make("p\xc3\xa4ssw\xc3\xb6rd", SASL_SCRAM_ITER_MIN);
	T_ASSERT(secret != NULL);
	mem_free(&secret);
	password_free(&password);
}

static void
test_scram_secret_parse(void)
{
#define KEY "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY="
	static const char *const bad[] = {
		"",
		"SCRAM-SHA-256",
		"SCRAM-SHA-256$",
		"scram-sha-256$4096:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-1$4096:" RFC_SALT "$" KEY ":" KEY,
		"{SCRAM-SHA-256}4096," RFC_SALT "," KEY "," KEY,
		" SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY "\n",
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY ":",
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY "$",
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY,
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":",
		"SCRAM-SHA-256$4096:" RFC_SALT "$:" KEY,
		"SCRAM-SHA-256$4096:" RFC_SALT ":" KEY ":" KEY,
		"SCRAM-SHA-256$4096$" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$04096:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$+4096:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$ 4096:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$4095:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$1000001:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$99999999999:" RFC_SALT "$" KEY ":" KEY,
		"SCRAM-SHA-256$4096:$" KEY ":" KEY,
		"SCRAM-SHA-256$4096:AAAAAA==$" KEY ":" KEY,          /* 4-byte salt */
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=$" KEY ":" KEY,  /* bad padding */
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gR==$" KEY ":" KEY, /* non-canonical */
		"SCRAM-SHA-256$4096:W22ZaJ0SNY7so EsUEjb6gQ==$" KEY ":" KEY,
		"SCRAM-SHA-256$4096:" RFC_SALT "$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4g==:" KEY,
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY "AAAA",
		"SCRAM-SHA-256$4096:" RFC_SALT "$" KEY ":" KEY "=",
	};
	struct sasl_scram_secret secret;
	char long_salt[200];

	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		error = NULL;
		if (!T_INTEQ(sasl_scram_secret_parse(bad[i], &secret, &error), -1))
			fprintf(stderr, "  accepted: %s\n", bad[i]);
		T_ASSERT(error != NULL);
		T_INTEQ(secret.iterations, 0);
	}
	/* limits that are fine */
	T_INTEQ(sasl_scram_secret_parse("SCRAM-SHA-256$1000000:AAAAAAAAAAA=$" KEY ":" KEY, &secret,
					&error), 1);
	T_INTEQ(secret.iterations, 1000000);
	T_INTEQ(secret.salt_len, 8);
	/* a salt of 64 bytes is fine, 65 too long */
	memset(long_salt, 0, sizeof(long_salt));
	memcpy(long_salt, "SCRAM-SHA-256$4096:", 19);
	memset(long_salt + 19, 'A', 86);
	memcpy(long_salt + 19 + 86, "==$" KEY ":" KEY, 3 + 44 + 1 + 44);
	T_INTEQ(sasl_scram_secret_parse(long_salt, &secret, &error), 1);
	T_INTEQ(secret.salt_len, 64);
	memcpy(long_salt + 19 + 86, "A=$" KEY ":" KEY, 3 + 44 + 1 + 44);
	T_INTEQ(sasl_scram_secret_parse(long_salt, &secret, &error), -1);
#undef KEY
}

/* ---- SCRAM exchanges ---- */

/* RFC 7677 3, byte for byte. */
static void
test_scram_rfc7677(void)
{
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);

	sasl_server_test_set_nonce(s, RFC_SNONCE);
	T_INTEQ(step_str(s, "n,,n=user,r=" RFC_CNONCE), SASL_STEP_NEED_SECRET);
	T_INTEQ(buf_len(&out), 0);
	T_STREQ(sasl_server_authcid(s), "user");
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_OUT("r=" RFC_CNONCE RFC_SNONCE ",s=" RFC_SALT ",i=4096");
	T_INTEQ(step_str(s, "c=biws,r=" RFC_CNONCE RFC_SNONCE
			    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
		SASL_STEP_SUCCESS);
	T_OUT("v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
	T_STREQ(sasl_server_authcid(s), "user");
	sasl_server_free(&s);

	/* the same with the client-first after an empty challenge */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	sasl_server_test_set_nonce(s, RFC_SNONCE);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(buf_len(&out), 0);
	T_INTEQ(step_str(s, "n,,n=user,r=" RFC_CNONCE), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, "c=biws,r=" RFC_CNONCE RFC_SNONCE
			    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="),
		SASL_STEP_SUCCESS);
	sasl_server_free(&s);

	/* and one flipped bit in the proof */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	sasl_server_test_set_nonce(s, RFC_SNONCE);
	T_INTEQ(step_str(s, "n,,n=user,r=" RFC_CNONCE), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_INTEQ(step_str(s, "c=biws,r=" RFC_CNONCE RFC_SNONCE
			    ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVU="),
		SASL_STEP_FAILURE);
	T_STREQ(error, "wrong password");
	T_INTEQ(buf_len(&out), 0);
	sasl_server_free(&s);
}

/* A random password through sasl_scram_secret_make and a real nonce. */
static void
test_scram_random_password(void)
{
	char *password = password_generate(24);
	char *secret = sasl_scram_secret_make(password, SASL_SCRAM_ITER_MIN);
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);
	char first[128], server_first[512], nonce[300];
	uint8_t cnonce[18];
	struct t_scram_msgs m;

	T_ASSERT(RAND_bytes(cnonce, sizeof(cnonce)) == 1);
	memcpy(first, "n,,n=tim,r=", 12);
	t_b64(cnonce, sizeof(cnonce), first + 11, sizeof(first) - 11);
	T_INTEQ(step_str(s, first), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, secret);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	memcpy(server_first, buf_cstr(&out), buf_len(&out) + 1);
	/* our nonce: the client's, then 24 random bytes in base64 */
	T_ASSERT(t_attr(server_first, 'r', nonce, sizeof(nonce)));
	T_INTEQ(strlen(nonce), 24 + 32);
	T_ASSERT(strncmp(nonce, first + 11, 24) == 0);
	T_ASSERT(strchr(nonce, ',') == NULL);
	T_ASSERT(t_scram_client(password, t_bare(first), server_first, "biws", false, &m));
	T_INTEQ(step_str(s, m.final), SASL_STEP_SUCCESS);
	T_OUT(m.verifier);
	sasl_server_free(&s);

	/* the same password against another exchange: a new server nonce */
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, first), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, secret);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_ASSERT(strcmp(buf_cstr(&out), server_first) != 0);
	sasl_server_free(&s);

	/* a wrong password */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "n,,n=tim,r=abcdef", secret, "wrong", NULL, 0),
		SASL_STEP_FAILURE);
	T_STREQ(error, "wrong password");
	/* the right one with t_scram_run, as a check of the helper itself */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "n,,n=tim,r=abcdef", secret, password, NULL, 0),
		SASL_STEP_SUCCESS);
	mem_free(&secret);
	password_free(&password);
}

static void
test_scram_plus(void)
{
	static const uint8_t wrong[32] = { 1 };

	/* tls-exporter (RFC 9266) */
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-exporter,,n=user,r=abc",
			    RFC_SECRET, "pencil", cb_exporter_data, 32),
		SASL_STEP_SUCCESS);
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_exporter_only,
			    "p=tls-exporter,,n=user,r=abc", RFC_SECRET, "pencil", cb_exporter_data,
			    32),
		SASL_STEP_SUCCESS);
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-exporter,,n=user,r=abc",
			    RFC_SECRET, "pencil", wrong, 32),
		SASL_STEP_FAILURE);
	T_STREQ(error, "channel-binding data mismatch");
	/* the end-point data where the exporter was announced */
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-exporter,,n=user,r=abc",
			    RFC_SECRET, "pencil", cb_end_point_data, 32),
		SASL_STEP_FAILURE);
	T_STREQ(error, "channel-binding data mismatch");
	/* without the data (as for "n") */
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-exporter,,n=user,r=abc",
			    RFC_SECRET, "pencil", NULL, 0),
		SASL_STEP_FAILURE);
	T_STREQ(error, "channel-binding data mismatch");

	/* tls-server-end-point (RFC 5929 4) */
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-server-end-point,,n=user,r=abc",
			    RFC_SECRET, "pencil", cb_end_point_data, 32),
		SASL_STEP_SUCCESS);
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_end_point_only,
			    "p=tls-server-end-point,a=user,n=user,r=abc", RFC_SECRET, "pencil",
			    cb_end_point_data, 32),
		SASL_STEP_SUCCESS);
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-server-end-point,,n=user,r=abc",
			    RFC_SECRET, "pencil", wrong, 32),
		SASL_STEP_FAILURE);
	T_STREQ(error, "channel-binding data mismatch");
	/* a wrong password with the right binding */
	T_INTEQ(t_scram_run("SCRAM-SHA-256-PLUS", &cb_both, "p=tls-server-end-point,,n=user,r=abc",
			    RFC_SECRET, "pencil2", cb_end_point_data, 32),
		SASL_STEP_FAILURE);
	T_STREQ(error, "wrong password");
}

static void
test_scram_plus_refused(void)
{
	static const struct {
		const char *mech;
		const struct sasl_channel_binding *cb;
		const char *first;
		const char *error;
	} cases[] = {
		{ "SCRAM-SHA-256-PLUS", &cb_exporter_only, "p=tls-server-end-point,,n=user,r=abc",
		  "channel-binding type not available on this connection" },
		{ "SCRAM-SHA-256-PLUS", &cb_end_point_only, "p=tls-exporter,,n=user,r=abc",
		  "channel-binding type not available on this connection" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "p=tls-unique,,n=user,r=abc",
		  "channel binding tls-unique is not supported" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "p=tls-foo,,n=user,r=abc",
		  "unknown channel-binding type" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "p=TLS-EXPORTER,,n=user,r=abc",
		  "unknown channel-binding type" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "p=,,n=user,r=abc",
		  "unknown channel-binding type" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "n,,n=user,r=abc",
		  "-PLUS mechanism without channel binding" },
		{ "SCRAM-SHA-256-PLUS", &cb_both, "y,,n=user,r=abc",
		  "-PLUS mechanism without channel binding" },
		/* "p" with the non-PLUS name (RFC 5801 5) */
		{ "SCRAM-SHA-256", &cb_both, "p=tls-exporter,,n=user,r=abc",
		  "channel binding requested with a non-PLUS mechanism" },
		/* "p" without any channel binding */
		{ "SCRAM-SHA-256", NULL, "p=tls-exporter,,n=user,r=abc",
		  "channel-binding type not available on this connection" },
		{ "SCRAM-SHA-256", &cb_none, "p=tls-server-end-point,,n=user,r=abc",
		  "channel-binding type not available on this connection" },
		/* "y" while we do have channel binding: a downgrade (RFC 5802 6) */
		{ "SCRAM-SHA-256", &cb_both, "y,,n=user,r=abc",
		  "client thinks the server has no channel binding (downgrade?)" },
		{ "SCRAM-SHA-256", &cb_end_point_only, "y,,n=user,r=abc",
		  "client thinks the server has no channel binding (downgrade?)" },
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sasl_server *s = sasl_server_new(cases[i].mech, cases[i].cb);

		if (!T_INTEQ(step_str(s, cases[i].first), SASL_STEP_FAILURE))
			fprintf(stderr, "  case %zu\n", i);
		T_STREQ(error, cases[i].error);
		sasl_server_free(&s);
	}
}

static void
test_scram_plus_without_cb(void)
{
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256-PLUS", NULL);

	T_INTEQ(step_str(s, NULL), SASL_STEP_FAILURE);
	T_STREQ(error, "-PLUS mechanism but no channel binding on this connection");
	sasl_server_free(&s);
	s = sasl_server_new("SCRAM-SHA-256-PLUS", &cb_none);
	T_INTEQ(step_str(s, "p=tls-exporter,,n=user,r=abc"), SASL_STEP_FAILURE);
	T_STREQ(error, "-PLUS mechanism but no channel binding on this connection");
	sasl_server_free(&s);
}

static void
test_scram_gs2_flags(void)
{
	/* "y" without channel binding on our side is fine: c= is "y,," */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "y,,n=user,r=abc", RFC_SECRET, "pencil",
			    NULL, 0),
		SASL_STEP_SUCCESS);
	T_INTEQ(t_scram_run("SCRAM-SHA-256", &cb_none, "y,,n=user,r=abc", RFC_SECRET, "pencil",
			    NULL, 0),
		SASL_STEP_SUCCESS);
	/* "n" while we have channel binding: the client chose not to */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", &cb_both, "n,,n=user,r=abc", RFC_SECRET, "pencil",
			    NULL, 0),
		SASL_STEP_SUCCESS);
	/* authzid equal to the user */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "n,a=user,n=user,r=abc", RFC_SECRET, "pencil",
			    NULL, 0),
		SASL_STEP_SUCCESS);
}

/* A foreign authzid fails; escapes are compared decoded. */
static void
test_scram_authzid(void)
{
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);

	T_INTEQ(step_str(s, "n,a=admin,n=user,r=abc"), SASL_STEP_FAILURE);
	T_STREQ(error, "authorization identity differs from authentication identity");
	sasl_server_free(&s);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,a=User,n=user,r=abc"), SASL_STEP_FAILURE);
	sasl_server_free(&s);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,a=a=2Cb,n=a=2Cb,r=abc"), SASL_STEP_NEED_SECRET);
	T_STREQ(sasl_server_authcid(s), "a,b");
	sasl_server_free(&s);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, "n,a=a=3Db,n=a=2Cb,r=abc"), SASL_STEP_FAILURE);
	T_STREQ(error, "authorization identity differs from authentication identity");
	sasl_server_free(&s);
}

/*
 * Unknown user: the same messages as for a user whose secret was made with
 * the defaults, the same salt each time for one name, and a failure only at
 * the proof.
 */
static void
test_scram_unknown_user(void)
{
	char *secret = sasl_scram_secret_make("pencil", 0);
	char known_first[256], unknown_first[256], unknown_again[256], other[256];
	char salt1[64], salt2[64];
	struct sasl_server *s;
	enum sasl_step_result ret;
	struct t_scram_msgs m;

	s = t_scram_start("SCRAM-SHA-256", NULL, "n,,n=user,r=abc", secret, &ret);
	memcpy(known_first, buf_cstr(&out), buf_len(&out) + 1);
	sasl_server_free(&s);
	s = t_scram_start("SCRAM-SHA-256", NULL, "n,,n=nobody,r=abc", NULL, &ret);
	T_INTEQ(ret, SASL_STEP_CHALLENGE);
	memcpy(unknown_first, buf_cstr(&out), buf_len(&out) + 1);
	/* the client-final with whatever proof fails at the proof */
	T_ASSERT(t_scram_client("pencil", "n=nobody,r=abc", unknown_first, "biws", false, &m));
	T_INTEQ(step_str(s, m.final), SASL_STEP_FAILURE);
	T_STREQ(error, "unknown user");
	T_STREQ(sasl_server_authcid(s), "nobody");
	sasl_server_free(&s);

	/* the shape: r=abc<nonce>,s=<24 characters>,i=10000, as for a known user */
	T_INTEQ(strlen(known_first), strlen(unknown_first));
	T_ASSERT(t_attr(known_first, 's', salt1, sizeof(salt1)));
	T_ASSERT(t_attr(unknown_first, 's', salt2, sizeof(salt2)));
	T_INTEQ(strlen(salt1), strlen(salt2));
	T_ASSERT(strcmp(known_first + strlen(known_first) - 8, ",i=10000") == 0);
	T_ASSERT(strcmp(unknown_first + strlen(unknown_first) - 8, ",i=10000") == 0);

	/* deterministic per name, different between names */
	s = t_scram_start("SCRAM-SHA-256", NULL, "n,,n=nobody,r=xyz", NULL, &ret);
	memcpy(unknown_again, buf_cstr(&out), buf_len(&out) + 1);
	sasl_server_free(&s);
	T_STREQ(strstr(unknown_again, ",s="), strstr(unknown_first, ",s="));
	s = t_scram_start("SCRAM-SHA-256", NULL, "n,,n=nobody2,r=xyz", NULL, &ret);
	memcpy(other, buf_cstr(&out), buf_len(&out) + 1);
	sasl_server_free(&s);
	T_ASSERT(strcmp(strstr(other, ",s="), strstr(unknown_first, ",s=")) != 0);

	/* a malformed stored secret behaves the same, with its own log text */
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "n,,n=user,r=abc", "SCRAM-SHA-256$1:x$y:z",
			    "pencil", NULL, 0),
		SASL_STEP_FAILURE);
	T_STREQ(error, "stored SCRAM secret is malformed");
	T_INTEQ(t_scram_run("SCRAM-SHA-256", NULL, "n,,n=user,r=abc", NULL, "pencil", NULL, 0),
		SASL_STEP_FAILURE);
	T_STREQ(error, "unknown user");
	mem_free(&secret);
}

/* client-first-message (RFC 5802 7), field by field. */
static void
test_scram_bad_client_first(void)
{
	static const struct {
		const char *msg;
		size_t len;
		const char *error; /* NULL: accepted (NEED_SECRET) */
	} cases[] = {
#define C(lit, err) { lit, sizeof(lit) - 1, err }
		/* gs2-cbind-flag */
		C("x,,n=user,r=abc", "bad GS2 channel-binding flag"),
		C("N,,n=user,r=abc", "bad GS2 channel-binding flag"),
		C("nn,,n=user,r=abc", "bad GS2 channel-binding flag"),
		C(",,n=user,r=abc", "bad GS2 channel-binding flag"),
		C("p,,n=user,r=abc", "bad GS2 channel-binding flag"),
		C("n", "truncated GS2 header"),
		C("n,", "truncated GS2 header"),
		C("n,a=user", "truncated GS2 header"),
		/* authzid */
		C("n,user,n=user,r=abc", "bad authzid in GS2 header"),
		C("n,a,n=user,r=abc", "bad authzid in GS2 header"),
		C("n,a=,n=user,r=abc", "empty identity"),
		C("n,a=us=er,n=user,r=abc", "bad '=' escape in saslname"),
		/* reserved-mext */
		C("n,,m=ext,n=user,r=abc", "mandatory extension (m=) not supported"),
		/* username */
		C("n,,", "missing user name"),
		C("n,,user,r=abc", "missing user name"),
		C("n,,r=abc,n=user", "missing user name"),
		C("n,,N=user,r=abc", "missing user name"),
		C("n,,n=,r=abc", "empty identity"),
		C("n,,n=us=2cer,r=abc", "bad '=' escape in saslname"),
		C("n,,n=us=3er,r=abc", "bad '=' escape in saslname"),
		C("n,,n=us=,r=abc", "bad '=' escape in saslname"),
		C("n,,n=user=2,r=abc", "bad '=' escape in saslname"),
		C("n,,n=u\x01ser,r=abc", "control character in identity"),
		C("n,,n=u\x7fser,r=abc", "control character in identity"),
		C("n,,n=u\xc2\x9fser,r=abc", "control character in identity"),
		C("n,,n=u\xc2\xa0ser,r=abc", NULL), /* U+00A0 is not a control */
		C("n,,n=u\xe2\x80\x8cser,r=abc", NULL), /* nor U+200C (in SASLprep's C.2.2) */
		C("n,,n=u\xffser,r=abc", "SCRAM message is not valid UTF-8"),
		C("n,,n=u\xc3ser,r=abc", "SCRAM message is not valid UTF-8"),
		C("n,,n=u\0ser,r=abc", "NUL in SCRAM message"),
		C("n,,n=us er,r=abc", NULL),
		C("n,,n=j\xc3\xbcrgen,r=abc", NULL),
		C("n,,n=a=2Cb=3Dc,r=abc", NULL),
		/* nonce */
		C("n,,n=user", "missing nonce"),
		C("n,,n=user,", "missing nonce"),
		C("n,,n=user,x=abc", "missing nonce"),
		C("n,,n=user,R=abc", "missing nonce"),
		C("n,,n=user,r=", "empty nonce"),
		C("n,,n=user,r=a c", "non-printable character in nonce"),
		C("n,,n=user,r=a\x7f", "non-printable character in nonce"),
		C("n,,n=user,r=a\xc3\xa4", "non-printable character in nonce"),
		C("n,,n=user,r=a\tb", "non-printable character in nonce"),
		C("n,,n=user,r=!~+-=/", NULL),
		/* extensions */
		C("n,,n=user,r=abc,x=y", NULL),
		C("n,,n=user,r=abc,x=y,z=w=", NULL),
		C("n,,n=user,r=abc,", "malformed attribute"),
		C("n,,n=user,r=abc,x", "malformed attribute"),
		C("n,,n=user,r=abc,x=", "malformed attribute"),
		C("n,,n=user,r=abc,1=y", "malformed attribute"),
		C("n,,n=user,r=abc,xy=z", "malformed attribute"),
		C("n,,n=user,r=abc,,x=y", "malformed attribute"),
#undef C
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);
		enum sasl_step_result ret = step_mem(s, cases[i].msg, cases[i].len);

		if (!T_INTEQ(ret, cases[i].error == NULL ? SASL_STEP_NEED_SECRET
							 : SASL_STEP_FAILURE))
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].msg);
		T_STREQ(ret == SASL_STEP_FAILURE ? error : NULL, cases[i].error);
		sasl_server_free(&s);
	}
}

static void
test_scram_limits(void)
{
	char msg[2048];
	struct sasl_server *s;
	size_t o;

	/* a user name of 255 octets, all escaped: 765 characters */
	o = 0;
	memcpy(msg, "n,,n=", 5);
	o = 5;
	for (int i = 0; i < SASL_PLAIN_MAX_FIELD; i++) {
		memcpy(msg + o, "=2C", 3);
		o += 3;
	}
	memcpy(msg + o, ",r=abc", 7);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, msg), SASL_STEP_NEED_SECRET);
	T_INTEQ(strlen(sasl_server_authcid(s)), SASL_PLAIN_MAX_FIELD);
	sasl_server_free(&s);
	/* one more is too long */
	memcpy(msg + o, "x,r=abc", 8);
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, msg), SASL_STEP_FAILURE);
	T_STREQ(error, "identity too long");
	sasl_server_free(&s);

	/* a client nonce of SASL_SCRAM_CNONCE_MAX characters, then one more */
	memcpy(msg, "n,,n=user,r=", 12);
	memset(msg + 12, 'x', SASL_SCRAM_CNONCE_MAX);
	msg[12 + SASL_SCRAM_CNONCE_MAX] = '\0';
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, msg), SASL_STEP_NEED_SECRET);
	sasl_server_free(&s);
	msg[12 + SASL_SCRAM_CNONCE_MAX] = 'x';
	msg[13 + SASL_SCRAM_CNONCE_MAX] = '\0';
	s = sasl_server_new("SCRAM-SHA-256", NULL);
	T_INTEQ(step_str(s, msg), SASL_STEP_FAILURE);
	T_STREQ(error, "nonce too long");
	sasl_server_free(&s);
}

/* client-final-message (RFC 5802 7), field by field. With SNONCE and the
 * client nonce "abc", the full nonce is "abc" SNONCE. */
static void
test_scram_bad_client_final(void)
{
#define N "r=abc" SNONCE
#define P "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
	static const struct {
		const char *msg;
		size_t len;
		const char *error;
	} cases[] = {
#define C(lit, err) { lit, sizeof(lit) - 1, err }
		C("", "missing channel binding"),
		C(N ",c=biws," P, "missing channel binding"),
		C("c=biws", "missing nonce"),
		C("c=biws," P, "missing nonce"),
		C("c=biws,r=abc," P, "nonce mismatch"),
		C("c=biws," N "x," P, "nonce mismatch"),
		C("c=biws,r=," P, "nonce mismatch"),
		C("c=biws," N, "missing proof"),
		C("c=biws," N ",x=y", "missing proof"),
		C("c=biws," N "," P ",x=y", "proof is not the last attribute"),
		C("c=biws," N "," P ",", "proof is not the last attribute"),
		C("c=biws," N ",x," P, "malformed attribute"),
		C("c=biws," N ",," P, "malformed attribute"),
		C("c=biws," N ",p=", "malformed proof"),
		C("c=biws," N ",p=abc", "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndQ==", "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVR=", "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=A",
		  "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ", "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7And!Q=", "malformed proof"),
		C("c=biws," N ",p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQAAAAA",
		  "malformed proof"),
		/* channel binding of "n,,": "biws"; anything else fails */
		C("c=," N "," P, "channel-binding data mismatch"),
		C("c=eSws," N "," P, "channel-binding data mismatch"),
		C("c=biws=," N "," P, "channel-binding data mismatch"),
		C("c=BIWS," N "," P, "channel-binding data mismatch"),
		C("c=biwsAAAA," N "," P, "channel-binding data mismatch"),
		C("c=biws\0," N "," P, "NUL in SCRAM message"),
		C("c=biws," N "\xff," P, "SCRAM message is not valid UTF-8"),
		/* well-formed, with an extension, but the proof is another's */
		C("c=biws," N ",x=y," P, "wrong password"),
		C("c=biws," N "," P, "wrong password"),
#undef C
	};

	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		enum sasl_step_result ret;
		struct sasl_server *s = t_scram_start("SCRAM-SHA-256", NULL, "n,,n=user,r=abc",
						      RFC_SECRET, &ret);

		T_INTEQ(ret, SASL_STEP_CHALLENGE);
		if (!T_INTEQ(step_mem(s, cases[i].msg, cases[i].len), SASL_STEP_FAILURE))
			fprintf(stderr, "  case %zu: %s\n", i, cases[i].msg);
		T_STREQ(error, cases[i].error);
		T_INTEQ(buf_len(&out), 0);
		sasl_server_free(&s);
	}
#undef N
#undef P
}

static void
test_scram_test_hook(void)
{
	struct sasl_server *s = sasl_server_new("SCRAM-SHA-256", NULL);

	/* an invalid suffix is ignored: a random one is used */
	sasl_server_test_set_nonce(s, "a,b");
	T_INTEQ(step_str(s, "n,,n=user,r=abc"), SASL_STEP_NEED_SECRET);
	sasl_server_provide_secret(s, RFC_SECRET);
	T_INTEQ(step_str(s, NULL), SASL_STEP_CHALLENGE);
	T_ASSERT(strncmp(buf_cstr(&out), "r=abc", 5) == 0);
	T_INTEQ(strcspn(buf_cstr(&out), ","), 2 + 3 + 32);
	sasl_server_free(&s);
	/* and for other mechanisms */
	s = sasl_server_new("PLAIN", NULL);
	sasl_server_test_set_nonce(s, "abc");
	sasl_server_free(&s);
}

static const struct test tests[] = {
	TEST_ENTRY(test_mechanisms),
	TEST_ENTRY(test_plain_initial_response),
	TEST_ENTRY(test_plain_no_initial_response),
	TEST_ENTRY(test_plain_empty_initial_response),
	TEST_ENTRY(test_plain_bad),
	TEST_ENTRY(test_login),
	TEST_ENTRY(test_login_bad),
	TEST_ENTRY(test_order_password),
	TEST_ENTRY(test_order_scram),
	TEST_ENTRY(test_max_message),
	TEST_ENTRY(test_small_out),
	TEST_ENTRY(test_scram_rfc7677_keys),
	TEST_ENTRY(test_scram_secret_make),
	TEST_ENTRY(test_scram_secret_parse),
	TEST_ENTRY(test_scram_rfc7677),
	TEST_ENTRY(test_scram_random_password),
	TEST_ENTRY(test_scram_plus),
	TEST_ENTRY(test_scram_plus_refused),
	TEST_ENTRY(test_scram_plus_without_cb),
	TEST_ENTRY(test_scram_gs2_flags),
	TEST_ENTRY(test_scram_authzid),
	TEST_ENTRY(test_scram_unknown_user),
	TEST_ENTRY(test_scram_bad_client_first),
	TEST_ENTRY(test_scram_limits),
	TEST_ENTRY(test_scram_bad_client_final),
	TEST_ENTRY(test_scram_test_hook),
	{ NULL, NULL },
};

int
main(void)
{
	int ret;

	buf_init(&out, SASL_SERVER_MAX_MESSAGE);
	ret = test_main("sasl-server", tests);
	buf_deinit(&out);
	return ret;
}
