/*
 * test-pop3-server-auth.c - the POP3 engine's STLS (RFC 2595 4) and SASL
 * (RFC 5034: PLAIN, LOGIN, SCRAM-SHA-256, SCRAM-SHA-256-PLUS) paths against
 * the fake io and hooks of test-pop3-util.h, whole, byte by byte and at every
 * split, with hooks completing synchronously and deferred.
 */
#include "pop3/test-pop3-util.h"

/* ---- STLS (RFC 2595 4) ---- */

static const char stls_in[] =
	"CAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
	"CAPA\r\nQUIT\r\n";

/*
 * Feed stls_in as [0,split) [split,len) (split 0: one byte at a time) the way
 * a glue reads it in plain text: once starttls has been called it drops the
 * octets it read and has not passed on. Within one input call the engine
 * must drop them itself: nothing after "+OK Begin TLS negotiation" may be
 * answered or acted on, however the bytes were split.
 */
static void
run_stls_injection(const struct fx_opts *opts, size_t split, const char *capa_before)
{
	struct fx *fx = fx_new_opts(opts, false);
	size_t len = sizeof(stls_in) - 1, pos = 0;
	struct buf expect;

	while (pos < len && fx->starttls_calls == 0 && fx->s != NULL) {
		size_t n = split == 0 ? 1 : pos < split ? split - pos : len - pos;

		fx_input(fx, stls_in + pos, n);
		pos += n;
	}
	buf_init(&expect, 0);
	buf_printf(&expect, "%s%s%s", GREETING, capa_before, STLS_OK);
	if (!T_STREQ(fx_out(fx), buf_cstr(&expect)))
		fprintf(stderr, "  split %zu deferred %d\n", split, opts->deferred);
	T_INTEQ(fx->starttls_calls, 1);
	T_INTEQ(fx->out_at_starttls, buf_len(&expect));
	T_INTEQ(fx->auth_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	T_ASSERT(pop3_server_session_is_tls(fx->s));
	T_ASSERT(pop3_server_session_wants_input(fx->s));
	T_ASSERT(pop3_server_session_user(fx->s) == NULL);
	/* now over TLS: AUTHORIZATION as after the greeting, no new greeting */
	fx_send(fx, "PASS secret word\r\nCAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "-ERR USER first\r\n" CAPA_PLAIN "-ERR TLS already active\r\n"
			    "+OK\r\n" LOGIN_OK);
	T_INTEQ(fx->starttls_calls, 1);
	buf_deinit(&expect);
	fx_free(fx);
}

static void
test_pop3_server_stls_injection(void)
{
	size_t len = sizeof(stls_in) - 1;

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts plain = { .stls = true, .deferred = deferred };
		/* with plain-text logins allowed (loopback) injected ones would work */
		struct fx_opts loopback = { .stls = true, .plaintext = true, .deferred = deferred };

		for (size_t split = 0; split <= len; split++) {
			run_stls_injection(&plain, split, CAPA_STLS);
			run_stls_injection(&loopback, split, CAPA_STLS_PLAIN);
		}
	}
}

static void
test_pop3_server_stls_policy(void)
{
	struct fx_opts opts = { .stls = true };
	struct fx *fx = fx_new_opts(&opts, false);

	fx_out(fx);
	/* before TLS: STLS offered, passwords refused */
	fx_send(fx, "CAPA\r\nUSER tim\r\nPASS secret word\r\nAUTH PLAIN\r\nAUTH LOGIN\r\nAUTH\r\n"
		    "STLS x\r\n");
	T_STREQ(fx_out(fx), CAPA_STLS NEED_TLS NEED_TLS NEED_TLS NEED_TLS
			    "+OK\r\n" MECHS_NOPLAIN "\r\n.\r\n"
			    "-ERR wrong number of arguments\r\n");
	T_ASSERT(!pop3_server_session_is_tls(fx->s));
	fx_send(fx, "stls\r\n");
	T_STREQ(fx_out(fx), STLS_OK);
	T_ASSERT(pop3_server_session_is_tls(fx->s));
	/* after: no STLS, passwords allowed, second STLS refused */
	fx_send(fx, "CAPA\r\nAUTH\r\nSTLS\r\nAUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\n"
		    "CAPA\r\nSTLS\r\n");
	T_STREQ(fx_out(fx), CAPA_PLAIN AUTHLIST_PLAIN "-ERR TLS already active\r\n" LOGIN_OK
			    CAPA_PLAIN "-ERR command not valid in this state\r\n");
	T_INTEQ(fx->starttls_calls, 1);
	fx_free(fx);

	/* STLS held behind a hook and run when it completes: the starttls hook
	 * is called from inside the completion, and what followed is dropped */
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts pipe_opts = { .stls = true, .plaintext = true,
					     .deferred = deferred };

		fx = fx_new_opts(&pipe_opts, false);
		fx_out(fx);
		fx_send(fx, "USER tim\r\nPASS wrong\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\n");
		T_STREQ(fx_out(fx), "+OK\r\n" AUTH_FAILED STLS_OK);
		T_INTEQ(fx->starttls_calls, 1);
		T_INTEQ(fx->auth_calls, 1);
		fx_free(fx);
	}

	/* not offered without a certificate */
	fx = fx_new(true, false);
	fx_out(fx);
	fx_send(fx, "STLS\r\n");
	T_STREQ(fx_out(fx), "-ERR STLS not available\r\n");
	fx_free(fx);

	/* not between USER and PASS (the USER stays) */
	opts.plaintext = true;
	fx = fx_new_opts(&opts, false);
	fx_out(fx);
	fx_send(fx, "USER tim\r\nSTLS\r\nPASS secret word\r\n");
	T_STREQ(fx_out(fx), "+OK\r\n-ERR STLS not allowed after USER\r\n" LOGIN_OK);
	T_INTEQ(fx->starttls_calls, 0);
	fx_free(fx);

	/* implicit TLS (RFC 8314 3.1): no STLS, passwords allowed */
	for (int stls = 0; stls <= 1; stls++) {
		struct fx_opts tls_opts = { .stls = stls };

		fx = fx_new_opts(&tls_opts, true);
		T_ASSERT(pop3_server_session_is_tls(fx->s));
		fx_out(fx);
		fx_send(fx, "CAPA\r\nSTLS\r\nUSER tim\r\nPASS secret word\r\nCAPA\r\n");
		T_STREQ(fx_out(fx), CAPA_PLAIN "-ERR TLS already active\r\n+OK\r\n" LOGIN_OK
				    CAPA_PLAIN);
		T_INTEQ(fx->starttls_calls, 0);
		fx_free(fx);
	}

	/* set_tls(false): back to the glue's verdict */
	fx = fx_new_opts(&opts, true);
	pop3_server_session_set_tls(fx->s, false);
	T_ASSERT(!pop3_server_session_is_tls(fx->s));
	fx_out(fx);
	fx_send(fx, "CAPA\r\n");
	T_STREQ(fx_out(fx), CAPA_HEAD "STLS\r\nUSER\r\nSASL " MECHS_PLAIN "\r\n" CAPA_TAIL);
	fx_free(fx);
}

/* ---- SASL mechanisms ---- */

static void
b64_str(char *dst, size_t size, const void *data, size_t len)
{
	struct buf b;

	buf_init(&b, 0);
	T_INTEQ(base64_encode(&b, data, len), 0);
	snprintf(dst, size, "%s", buf_cstr(&b));
	buf_deinit(&b);
}

/* Decode base64 text into dst (NUL-terminated); the length, or -1. */
static long
unb64(uint8_t *dst, size_t size, const char *src, size_t len)
{
	struct buf b;
	long n = -1;

	buf_init(&b, 0);
	if (base64_decode(&b, src, len) == 0 && buf_len(&b) < size) {
		memcpy(dst, buf_data(&b), buf_len(&b));
		dst[buf_len(&b)] = '\0';
		n = (long)buf_len(&b);
	}
	buf_deinit(&b);
	return n;
}

/* The output must be exactly one challenge line; decode it into dst. */
static bool
fx_challenge(struct fx *fx, char *dst, size_t size)
{
	const char *out = fx_out(fx);
	size_t len = strlen(out);

	dst[0] = '\0';
	if (!T_ASSERT(len >= 4 && strncmp(out, "+ ", 2) == 0 &&
		      strstr(out, "\r\n") == out + len - 2)) {
		fprintf(stderr, "  output: %s\n", out);
		return false;
	}
	return T_ASSERT(unb64((uint8_t *)dst, size, out + 2, len - 4) >= 0);
}

/* The client side of SCRAM-SHA-256 (RFC 5802 3, RFC 7677), with OpenSSL. */
struct scram {
	const char *gs2;        /* GS2 header: "n,,", "y,,", "p=tls-exporter,," */
	const char *cnonce;
	char first_bare[256];
	char server_final[128]; /* what the server must send: "v=..." */
};

/* client-first-message, base64-encoded. */
static void
scram_first(struct scram *sc, const char *user, char *dst, size_t size)
{
	char msg[300];

	if (sc->cnonce == NULL)
		sc->cnonce = "rOprNGfwEbeRWgbNEkqO";
	snprintf(sc->first_bare, sizeof(sc->first_bare), "n=%s,r=%s", user, sc->cnonce);
	snprintf(msg, sizeof(msg), "%s%s", sc->gs2, sc->first_bare);
	b64_str(dst, size, msg, strlen(msg));
}

static void
hmac256(const uint8_t *key, size_t key_len, const void *data, size_t len, uint8_t out[32])
{
	unsigned out_len = 32;

	T_ASSERT(HMAC(EVP_sha256(), key, (int)key_len, data, len, out, &out_len) != NULL);
	T_INTEQ(out_len, 32);
}

/* client-final-message for server_first, base64-encoded; sets server_final. */
static void
scram_final(struct scram *sc, const char *password, const char *server_first,
	    const uint8_t *cb, size_t cb_len, char *dst, size_t size)
{
	const char *r = strstr(server_first, "r="), *salt = strstr(server_first, ",s=");
	const char *iter = strstr(server_first, ",i=");
	uint8_t salted[32], client_key[32], stored_key[32], sig[32], proof[32], server_key[32];
	uint8_t salt_bin[128], cbind[128];
	char nonce[128], cbind64[200], without_proof[400], auth_msg[1200], proof64[64];
	char msg[500], sig64[64];
	long salt_len;
	size_t gs2_len = strlen(sc->gs2);

	T_ASSERT(r == server_first && salt != NULL && iter != NULL);
	if (r != server_first || salt == NULL || iter == NULL)
		return;
	snprintf(nonce, sizeof(nonce), "%.*s", (int)(salt - r - 2), r + 2);
	T_ASSERT(strncmp(nonce, sc->cnonce, strlen(sc->cnonce)) == 0);
	salt_len = unb64(salt_bin, sizeof(salt_bin), salt + 3, (size_t)(iter - salt - 3));
	T_ASSERT(salt_len > 0);
	T_ASSERT(PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt_bin, (int)salt_len,
				   (int)strtol(iter + 3, NULL, 10), EVP_sha256(), 32, salted) == 1);
	hmac256(salted, 32, "Client Key", 10, client_key);
	SHA256(client_key, 32, stored_key);
	memcpy(cbind, sc->gs2, gs2_len);
	if (cb_len > 0)
		memcpy(cbind + gs2_len, cb, cb_len);
	b64_str(cbind64, sizeof(cbind64), cbind, gs2_len + cb_len);
	snprintf(without_proof, sizeof(without_proof), "c=%s,r=%s", cbind64, nonce);
	snprintf(auth_msg, sizeof(auth_msg), "%s,%s,%s", sc->first_bare, server_first,
		 without_proof);
	hmac256(stored_key, 32, auth_msg, strlen(auth_msg), sig);
	for (int i = 0; i < 32; i++)
		proof[i] = client_key[i] ^ sig[i];
	b64_str(proof64, sizeof(proof64), proof, 32);
	snprintf(msg, sizeof(msg), "%s,p=%s", without_proof, proof64);
	b64_str(dst, size, msg, strlen(msg));
	hmac256(salted, 32, "Server Key", 10, server_key);
	hmac256(server_key, 32, auth_msg, strlen(auth_msg), sig);
	b64_str(sig64, sizeof(sig64), sig, 32);
	snprintf(sc->server_final, sizeof(sc->server_final), "v=%s", sig64);
}

static const uint8_t fx_exporter[32] = {
	1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
	17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32,
};

/*
 * One SCRAM exchange up to the server-final challenge (initial response or
 * not): returns true when the server sent the expected server-final data,
 * which the client still has to acknowledge with an empty line.
 */
static bool
scram_run(struct fx *fx, const char *mech, struct scram *sc, const char *user,
	  const char *password, const uint8_t *cb, size_t cb_len, bool initial)
{
	char first[400], line[700], challenge[400];

	scram_first(sc, user, first, sizeof(first));
	if (initial) {
		snprintf(line, sizeof(line), "AUTH %s %s\r\n", mech, first);
		fx_send(fx, line);
	} else {
		snprintf(line, sizeof(line), "AUTH %s\r\n", mech);
		fx_send(fx, line);
		T_STREQ(fx_out(fx), "+ \r\n");
		snprintf(line, sizeof(line), "%s\r\n", first);
		fx_send(fx, line);
	}
	if (buf_len(&fx->out) > 0 && buf_data(&fx->out)[0] == '-')
		return false; /* refused at once; the reply is still in fx->out */
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	T_ASSERT(fx->want_secret);
	T_ASSERT(strcasecmp(fx->mech, mech) == 0);
	scram_final(sc, password, challenge, cb, cb_len, line, sizeof(line) - 2);
	memcpy(line + strlen(line), "\r\n", 3);
	fx_send(fx, line);
	if (buf_len(&fx->out) > 0 && buf_data(&fx->out)[0] == '-')
		return false; /* refused at the end */
	if (!fx_challenge(fx, challenge, sizeof(challenge)))
		return false;
	/* RFC 5034 4: the server-final data came as a challenge, not with +OK */
	return T_STREQ(challenge, sc->server_final);
}

static void
test_pop3_server_auth_scram(void)
{
	for (int mode = 0; mode < 3; mode++) {
		for (int initial = 0; initial <= 1; initial++) {
			/* sync; deferred; deferred auth with a sync open_maildrop */
			struct fx_opts opts = { .deferred = mode > 0, .sync_maildrop = mode == 2 };
			struct fx *fx = fx_new_opts(&opts, false);
			struct scram sc = { .gs2 = "n,," };

			/* not a plain-text mechanism: offered without TLS */
			fx_out(fx);
			T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0,
					   initial));
			T_INTEQ(fx->auth_calls, 1);
			T_STREQ(fx->user, "tim");
			T_INTEQ(fx->maildrop_calls, 0);
			T_INTEQ(fx->results_ok + fx->results_failed, 0);
			T_ASSERT(pop3_server_session_user(fx->s) == NULL);
			fx_send(fx, "\r\nSTAT\r\n");
			T_STREQ(fx_out(fx), LOGIN_OK "+OK 3 89\r\n");
			T_INTEQ(fx->maildrop_calls, 1);
			T_STREQ(pop3_server_session_user(fx->s), "tim");
			T_INTEQ(fx->results_ok, 1);
			T_INTEQ(fx->results_failed, 0);
			T_STREQ(fx->result_mech, "SCRAM-SHA-256");
			T_STREQ(fx->result_user, "tim");
			fx_free(fx);
		}
	}
}

static void
test_pop3_server_auth_scram_failures(void)
{
	struct fx *fx = fx_new(false, true);
	struct scram sc = { .gs2 = "n,," };
	char first[400];

	fx_out(fx);
	/* wrong password, unknown user: the same failure at the end */
	T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "wrong", NULL, 0, true));
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->results_failed, 1);
	T_STREQ(fx->result_mech, "SCRAM-SHA-256");
	T_STREQ(fx->result_user, "tim");
	T_ASSERT(fx->result_reason[0] != '\0');
	T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "nobody", "secret word", NULL, 0, false));
	T_STREQ(fx_out(fx), AUTH_FAILED);
	T_INTEQ(fx->maildrop_calls, 0);
	T_INTEQ(fx->close_calls, 0);
	/* the secret cannot be read now: not a failed login */
	scram_first(&sc, "tempfail", first, sizeof(first));
	for (int i = 0; i < 4; i++) {
		fx_send(fx, "AUTH SCRAM-SHA-256 ");
		fx_send(fx, first);
		fx_send(fx, "\r\n");
		T_STREQ(fx_out(fx), "-ERR [SYS/TEMP] temporary failure, try again later\r\n");
	}
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);

	/* cancel at each step, bad base64, a non-empty answer to server-final */
	fx = fx_new(false, false);
	fx_out(fx);
	scram_first(&sc, "tim", first, sizeof(first));
	fx_send(fx, "AUTH SCRAM-SHA-256\r\n*\r\n");
	T_STREQ(fx_out(fx), "+ \r\n-ERR authentication canceled\r\n");
	T_STREQ(fx->result_user, "-");
	T_STREQ(fx->result_reason, "canceled");
	fx_send(fx, "AUTH SCRAM-SHA-256 ");
	fx_send(fx, first);
	fx_send(fx, "\r\n");
	T_ASSERT(strncmp(fx_out(fx), "+ ", 2) == 0);
	fx_send(fx, "*\r\nAUTH SCRAM-SHA-256 ");
	fx_send(fx, first);
	fx_send(fx, "\r\n");
	T_ASSERT(strncmp(fx_out(fx), "-ERR authentication canceled\r\n+ ", 32) == 0);
	fx_send(fx, "c=biws,r=x\r\n");
	T_STREQ(fx_out(fx), "-ERR invalid base64 data\r\n");
	T_ASSERT(scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0, true));
	fx_send(fx, "*\r\n");
	T_STREQ(fx_out(fx), "-ERR authentication canceled\r\n");
	T_ASSERT(scram_run(fx, "scram-sha-256", &sc, "tim", "secret word", NULL, 0, true));
	fx_send(fx, "Zm9v\r\nSTAT\r\n");
	T_STREQ(fx_out(fx), AUTH_FAILED "-ERR command not valid in this state\r\n");
	T_INTEQ(fx->maildrop_calls, 0);
	T_INTEQ(fx->results_ok, 0);
	T_INTEQ(fx->results_failed, 5);
	T_STREQ(fx->result_reason, "response to the final server data not empty");
	T_INTEQ(fx->close_calls, 0);
	fx_free(fx);
}

/* SCRAM-SHA-256-PLUS with tls-exporter channel binding (RFC 5802 6, RFC 9266). */
static void
test_pop3_server_auth_scram_plus(void)
{
	struct sasl_channel_binding cb = { .tls_exporter = fx_exporter,
					   .tls_exporter_len = sizeof(fx_exporter) };
	uint8_t other[32];

	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx_opts opts = { .stls = true, .deferred = deferred };
		struct fx *fx = fx_new_opts(&opts, false);
		struct scram sc = { .gs2 = "p=tls-exporter,," };

		/* STLS, then the glue sets the binding once the handshake is done */
		fx_send(fx, "STLS\r\n");
		fx_out(fx);
		pop3_server_session_set_channel_binding(fx->s, &cb);
		memset(&cb, 0, sizeof(cb)); /* the engine copied it */
		cb.tls_exporter = fx_exporter;
		cb.tls_exporter_len = sizeof(fx_exporter);
		fx_send(fx, "CAPA\r\nAUTH\r\n");
		T_STREQ(fx_out(fx), CAPA_PLUS "+OK\r\nSCRAM-SHA-256-PLUS\r\nSCRAM-SHA-256\r\n"
					      "PLAIN\r\nLOGIN\r\n.\r\n");
		/* data for another channel: refused */
		memset(other, 7, sizeof(other));
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256-PLUS", &sc, "tim", "secret word", other,
				    sizeof(other), true));
		T_STREQ(fx_out(fx), AUTH_FAILED);
		/* a client that could bind but thinks we cannot: a downgrade (RFC 5802 6) */
		sc.gs2 = "y,,";
		T_ASSERT(!scram_run(fx, "SCRAM-SHA-256", &sc, "tim", "secret word", NULL, 0,
				    false));
		T_STREQ(fx_out(fx), AUTH_FAILED);
		sc.gs2 = "p=tls-exporter,,";
		T_ASSERT(scram_run(fx, "SCRAM-SHA-256-PLUS", &sc, "tim", "secret word",
				   fx_exporter, sizeof(fx_exporter), deferred));
		T_STREQ(fx->mech, "SCRAM-SHA-256-PLUS");
		fx_send(fx, "\r\nCAPA\r\n");
		T_STREQ(fx_out(fx), LOGIN_OK CAPA_PLUS);
		fx_free(fx);
	}
	{
		/* cleared again: -PLUS neither offered nor accepted */
		struct fx *fx = fx_new(false, false);

		pop3_server_session_set_tls(fx->s, true);
		pop3_server_session_set_channel_binding(fx->s, &cb);
		pop3_server_session_set_channel_binding(fx->s, NULL);
		fx_out(fx);
		fx_send(fx, "CAPA\r\nAUTH SCRAM-SHA-256-PLUS\r\n");
		T_STREQ(fx_out(fx), CAPA_PLAIN "-ERR unsupported authentication mechanism\r\n");
		fx_free(fx);
	}
}

static void
test_pop3_server_auth_login(void)
{
	for (int deferred = 0; deferred <= 1; deferred++) {
		struct fx *fx = fx_new(true, deferred);
		char challenge[64];

		fx_out(fx);
		fx_send(fx, "AUTH LOGIN\r\n");
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Username:");
		fx_send(fx, "dGlt\r\n"); /* tim */
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Password:");
		fx_send(fx, "d3Jvbmc=\r\n"); /* wrong */
		T_STREQ(fx_out(fx), AUTH_FAILED);
		T_STREQ(fx->mech, "LOGIN");
		T_STREQ(fx->user, "tim");
		/* the user name as initial response */
		fx_send(fx, "AUTH LOGIN dGlt\r\n");
		T_ASSERT(fx_challenge(fx, challenge, sizeof(challenge)));
		T_STREQ(challenge, "Password:");
		fx_send(fx, "c2VjcmV0IHdvcmQ=\r\n"); /* secret word */
		T_STREQ(fx_out(fx), LOGIN_OK);
		T_INTEQ(fx->auth_calls, 2);
		T_STREQ(pop3_server_session_user(fx->s), "tim");
		fx_free(fx);
	}
}

/* A temporary failure of the check is not a failed login, and any hook
 * order (sync, deferred, mixed) gives the same replies. */
static void
test_pop3_server_auth_tempfail(void)
{
	for (int mode = 0; mode < 3; mode++) {
		struct fx_opts opts = { .plaintext = true, .deferred = mode > 0,
					.sync_maildrop = mode == 2 };
		struct fx *fx = fx_new_opts(&opts, false);

		fx_out(fx);
		for (int i = 0; i < 5; i++) {
			/* \0tim\0tempfail */
			fx_send(fx, "AUTH PLAIN AHRpbQB0ZW1wZmFpbA==\r\n"
				    "USER tim\r\nPASS tempfail\r\n");
			T_STREQ(fx_out(fx), TEMPFAIL "+OK\r\n" TEMPFAIL);
		}
		T_INTEQ(fx->close_calls, 0);
		T_INTEQ(fx->maildrop_calls, 0);
		/* \0locky\0secret word, \0tempy\0secret word */
		fx_send(fx, "AUTH PLAIN AGxvY2t5AHNlY3JldCB3b3Jk\r\n"
			    "AUTH PLAIN AHRlbXB5AHNlY3JldCB3b3Jk\r\n"
			    "AUTH PLAIN AHRpbQBzZWNyZXQgd29yZA==\r\nSTAT\r\n");
		T_STREQ(fx_out(fx), "-ERR [IN-USE] maildrop is locked by another session\r\n"
				    "-ERR [SYS/TEMP] temporary failure, try again later\r\n"
				    LOGIN_OK "+OK 3 89\r\n");
		T_INTEQ(fx->maildrop_calls, 3);
		fx_free(fx);
	}
}

static const struct test tests[] = {
	TEST_ENTRY(test_pop3_server_stls_injection),
	TEST_ENTRY(test_pop3_server_stls_policy),
	TEST_ENTRY(test_pop3_server_auth_scram),
	TEST_ENTRY(test_pop3_server_auth_scram_failures),
	TEST_ENTRY(test_pop3_server_auth_scram_plus),
	TEST_ENTRY(test_pop3_server_auth_login),
	TEST_ENTRY(test_pop3_server_auth_tempfail),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("pop3-server-auth", tests);
}
