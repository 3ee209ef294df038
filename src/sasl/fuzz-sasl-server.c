/*
 * fuzz-sasl-server.c - libFuzzer target for the SASL server state machine.
 *
 * Input: one option byte, then client messages separated by 0xff (a byte
 * that never occurs in UTF-8, so real messages need no escaping).
 *   option bits 0-1  mechanism: index into sasl_mechanisms()
 *               2-3  channel binding: none, both, tls-exporter only,
 *                    tls-server-end-point only
 *               4    the password verdict given for PLAIN and LOGIN
 *               5-6  the secret given for SCRAM: the RFC 7677 one (0, 3),
 *                    none (1, unknown user), a malformed one (2)
 *               7    auto-proof: a SCRAM message ending in ",p=" gets the
 *                    correct proof for password "pencil" appended
 * A message of the single byte 0xfe is a step with no input; 0xfd is an
 * unrequested provide_verified(), 0xfc an unrequested provide_secret(),
 * to exercise the order checks. After NEED_* the target provides and
 * continues by itself. The server nonce is fixed ("FuzzNonce") so that a
 * corpus entry replays the same way every time.
 *
 * Checks: the contract of sasl-server.h after every call (failure leaves
 * out empty and sets an error; an authcid is a valid identity; a password
 * is visible only during NEED_PASSWORD; nothing succeeds after the end;
 * PLAIN and LOGIN succeed only with a true verdict; SCRAM succeeds only
 * with the real secret and the correct proof, and then with the right
 * server signature).
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include "core/base64.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/sasl-scram.h"
#include "sasl/sasl-server.h"
#include "sasl/sasl-text.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* RFC 7677 3: password "pencil" */
#define FUZZ_SECRET                                              \
	"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$"           \
	"WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"          \
	"wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU="
#define FUZZ_NONCE "FuzzNonce"

static const uint8_t fuzz_exporter[32] = { 'e', 'x', 'p', 'o', 'r', 't', 'e', 'r' };
static const uint8_t fuzz_end_point[32] = { 'e', 'n', 'd', '-', 'p', 'o', 'i', 'n', 't' };

struct fuzz_state {
	struct sasl_server *s;
	const struct sasl_mech_info *mech;
	bool scram, verdict, real_secret, auto_proof;
	const char *secret;
	struct buf out;
	struct buf client_first; /* last client message before NEED_SECRET */
	struct buf server_first;
	struct buf auth_message; /* the client's, when it sent a proof */
	bool proof_sent, done;
};

/* The client's keys for "pencil" and the RFC 7677 salt (computed once). */
static uint8_t fuzz_client_key[32], fuzz_stored_key[32], fuzz_server_key[32];

static void
fuzz_keys_init(void)
{
	static bool done;
	uint8_t salt[16], salted[32];
	struct buf b;

	if (done)
		return;
	buf_init(&b, 0);
	ASSERT(base64_decode(&b, "W22ZaJ0SNY7soEsUEjb6gQ==", 24) == 0);
	memcpy(salt, buf_data(&b), sizeof(salt));
	buf_deinit(&b);
	ASSERT(PKCS5_PBKDF2_HMAC("pencil", 6, salt, 16, 4096, EVP_sha256(), 32, salted) == 1);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Client Key", 10, fuzz_client_key, NULL);
	SHA256(fuzz_client_key, 32, fuzz_stored_key);
	HMAC(EVP_sha256(), salted, 32, (const uint8_t *)"Server Key", 10, fuzz_server_key, NULL);
	done = true;
}

/* AuthMessage = client-first-bare "," server-first "," final-without-proof,
 * into st->auth_message. */
static void
fuzz_auth_message(struct fuzz_state *st, const uint8_t *without_proof, size_t len)
{
	const uint8_t *cf = buf_data(&st->client_first), *c1, *c2;
	size_t cflen = buf_len(&st->client_first);
	struct buf *am = &st->auth_message;

	buf_reset(am);
	c1 = memchr(cf, ',', cflen);
	c2 = c1 == NULL ? NULL : memchr(c1 + 1, ',', cflen - (size_t)(c1 + 1 - cf));
	if (c2 != NULL)
		buf_append(am, c2 + 1, cflen - (size_t)(c2 + 1 - cf));
	buf_append_byte(am, ',');
	buf_append(am, buf_data(&st->server_first), buf_len(&st->server_first));
	buf_append_byte(am, ',');
	buf_append(am, without_proof, len);
}

/* Append the correct proof to a SCRAM client-final ending in ",p=". */
static void
fuzz_add_proof(struct fuzz_state *st, struct buf *msg)
{
	uint8_t sig[32], proof[32];

	fuzz_auth_message(st, buf_data(msg), buf_len(msg) - 3);
	HMAC(EVP_sha256(), fuzz_stored_key, 32, buf_data(&st->auth_message),
	     buf_len(&st->auth_message), sig, NULL);
	for (int i = 0; i < 32; i++)
		proof[i] = fuzz_client_key[i] ^ sig[i];
	base64_encode(msg, proof, sizeof(proof));
	st->proof_sent = true;
}

/* Is out the "v=" that belongs to the AuthMessage of fuzz_add_proof? */
static bool
fuzz_verifier_ok(const struct fuzz_state *st)
{
	uint8_t sig[32];
	struct buf v;
	bool ok;

	buf_init(&v, 0);
	HMAC(EVP_sha256(), fuzz_server_key, 32, buf_data(&st->auth_message),
	     buf_len(&st->auth_message), sig, NULL);
	buf_append_str(&v, "v=");
	base64_encode(&v, sig, sizeof(sig));
	ok = buf_len(&v) == buf_len(&st->out) &&
	     memcmp(buf_data(&v), buf_data(&st->out), buf_len(&v)) == 0;
	buf_deinit(&v);
	return ok;
}

static void
fuzz_check_identity(const char *id)
{
	size_t len;

	if (id == NULL)
		return;
	len = strlen(id);
	ASSERT(len > 0 && len <= 255);
	ASSERT(sasl_utf8_valid((const uint8_t *)id, len));
	ASSERT(!sasl_text_has_control((const uint8_t *)id, len));
}

/* The contract of sasl-server.h after one step. */
static void
fuzz_check(struct fuzz_state *st, enum sasl_step_result ret, const char *error)
{
	const char *authcid = sasl_server_authcid(st->s);

	ASSERT(ret >= SASL_STEP_CHALLENGE && ret <= SASL_STEP_FAILURE);
	if (st->done)
		ASSERT(ret == SASL_STEP_FAILURE);
	if (ret == SASL_STEP_FAILURE)
		ASSERT(error != NULL && buf_len(&st->out) == 0);
	fuzz_check_identity(authcid);
	ASSERT((sasl_server_password(st->s) != NULL) == (ret == SASL_STEP_NEED_PASSWORD));
	if (ret == SASL_STEP_NEED_PASSWORD)
		ASSERT(!st->scram && authcid != NULL && buf_len(&st->out) == 0);
	if (ret == SASL_STEP_NEED_SECRET)
		ASSERT(st->scram && authcid != NULL && buf_len(&st->out) == 0);
	if (ret == SASL_STEP_SUCCESS) {
		ASSERT(authcid != NULL);
		if (st->scram)
			ASSERT(st->real_secret && st->proof_sent && fuzz_verifier_ok(st));
		else
			ASSERT(st->verdict && buf_len(&st->out) == 0);
	}
	if (ret == SASL_STEP_CHALLENGE && st->scram && buf_len(&st->out) > 0) {
		ASSERT(memcmp(buf_data(&st->out), "r=", 2) == 0);
		for (size_t i = 0; i < buf_len(&st->out); i++)
			ASSERT(buf_data(&st->out)[i] >= 0x21 && buf_data(&st->out)[i] <= 0x7e);
	}
	if (ret == SASL_STEP_SUCCESS || ret == SASL_STEP_FAILURE)
		st->done = true;
}

static enum sasl_step_result
fuzz_step(struct fuzz_state *st, const uint8_t *in, size_t len)
{
	const char *error = NULL;
	enum sasl_step_result ret = sasl_server_step(st->s, in, len, &st->out, &error);

	fuzz_check(st, ret, error);
	return ret;
}

/* One message of the input; then provide and continue while NEED_*. */
static void
fuzz_message(struct fuzz_state *st, const uint8_t *msg, size_t len)
{
	enum sasl_step_result ret;
	struct buf m;

	if (len == 1 && (msg[0] == 0xfd || msg[0] == 0xfc)) {
		/* never requested: NEED_* is always answered at once below */
		if (msg[0] == 0xfd)
			sasl_server_provide_verified(st->s, st->verdict);
		else
			sasl_server_provide_secret(st->s, st->secret);
		st->done = true;
		return;
	}
	if (len == 1 && msg[0] == 0xfe) {
		ret = fuzz_step(st, NULL, 0);
	} else {
		buf_init(&m, 0);
		buf_append(&m, msg, len);
		if (st->auto_proof && st->scram && buf_len(&st->server_first) > 0 && len >= 3 &&
		    memcmp(msg + len - 3, ",p=", 3) == 0)
			fuzz_add_proof(st, &m);
		ret = fuzz_step(st, buf_data(&m), buf_len(&m));
		if (ret == SASL_STEP_NEED_SECRET) {
			buf_reset(&st->client_first);
			buf_append(&st->client_first, msg, len);
		}
		buf_deinit(&m);
	}
	while (ret == SASL_STEP_NEED_PASSWORD || ret == SASL_STEP_NEED_SECRET) {
		if (ret == SASL_STEP_NEED_PASSWORD)
			sasl_server_provide_verified(st->s, st->verdict);
		else
			sasl_server_provide_secret(st->s, st->secret);
		ret = fuzz_step(st, NULL, 0);
		if (ret == SASL_STEP_CHALLENGE && st->scram) {
			buf_reset(&st->server_first);
			buf_append(&st->server_first, buf_data(&st->out), buf_len(&st->out));
		}
	}
}

static void
fuzz_state_init(struct fuzz_state *st, uint8_t opt)
{
	static const struct sasl_channel_binding cbs[4] = {
		{ NULL, 0, NULL, 0 },
		{ fuzz_exporter, 32, fuzz_end_point, 32 },
		{ fuzz_exporter, 32, NULL, 0 },
		{ NULL, 0, fuzz_end_point, 32 },
	};
	unsigned secret = (opt >> 5) & 3u, cb = (opt >> 2) & 3u;

	memset(st, 0, sizeof(*st));
	st->mech = sasl_mechanisms()[opt & 3u];
	st->scram = strncmp(st->mech->name, "SCRAM", 5) == 0;
	st->verdict = (opt & 0x10) != 0;
	st->real_secret = secret == 0 || secret == 3;
	st->secret = st->real_secret ? FUZZ_SECRET : secret == 1 ? NULL : "SCRAM-SHA-256$4096:";
	st->auto_proof = (opt & 0x80) != 0;
	st->s = sasl_server_new(st->mech->name, cb == 0 ? NULL : &cbs[cb]);
	ASSERT(st->s != NULL);
	sasl_server_test_set_nonce(st->s, FUZZ_NONCE);
	buf_init(&st->out, SASL_SERVER_MAX_MESSAGE);
	buf_init(&st->client_first, 0);
	buf_init(&st->server_first, 0);
	buf_init(&st->auth_message, 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_state st;
	const uint8_t *p, *end, *sep;

	if (size == 0)
		return 0;
	fuzz_keys_init();
	fuzz_state_init(&st, data[0]);
	p = data + 1;
	end = data + size;
	while (size > 1) {
		sep = memchr(p, 0xff, (size_t)(end - p));
		fuzz_message(&st, p, sep == NULL ? (size_t)(end - p) : (size_t)(sep - p));
		if (sep == NULL)
			break;
		p = sep + 1;
	}
	sasl_server_free(&st.s);
	ASSERT(st.s == NULL);
	buf_deinit(&st.out);
	buf_deinit(&st.client_first);
	buf_deinit(&st.server_first);
	buf_deinit(&st.auth_message);
	return 0;
}
