/*
 * test-tls.c - src/tls in process: self-signed certificates, server contexts
 * (loading errors, SNI, reference counts), handshakes over socketpairs
 * driven non-blockingly through the transport ops against an OpenSSL client
 * made here, the protocol policy (TLS 1.1 and CBC-only clients refused),
 * channel bindings checked against the client's own computation, the
 * client side, and core/conn carrying TLS after STARTTLS with 1 MiB echoed
 * under flow control.
 */
#include "tls/tls.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/conn.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/test.h"

#define HOST1 "mail.example.test"
#define HOST2 "other.example.test"
#define HOST3 "wild.example.test"

static char cert1[512], key1[512], cert2[512], key2[512], cert3[512], key3[512];

static void
test_path(char *dst, size_t size, const char *name)
{
	snprintf(dst, size, "%s/%s", test_tmpdir(), name);
}

/* ---- helpers: an OpenSSL client and a socketpair ---- */

static SSL_CTX *
client_ctx_new(int min_version, int max_version, const char *ciphers)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	T_ASSERT(ctx != NULL);
	SSL_CTX_set_min_proto_version(ctx, min_version);
	SSL_CTX_set_max_proto_version(ctx, max_version);
	if (ciphers != NULL)
		T_INTEQ(SSL_CTX_set_cipher_list(ctx, ciphers), 1);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

struct pair {
	int sfd, cfd;
	struct tls_conn *server;
	SSL *client;              /* an OpenSSL client made here, or */
	struct tls_conn *tclient; /* our own client side */
};

static void
pair_open(struct pair *p)
{
	int fds[2];

	memset(p, 0, sizeof(*p));
	T_INTEQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	p->sfd = fds[0];
	p->cfd = fds[1];
}

static void
pair_new(struct pair *p, struct tls_server_ctx *sctx, SSL_CTX *cctx, const char *sni)
{
	pair_open(p);
	p->server = tls_server_conn_new(sctx, p->sfd);
	p->client = SSL_new(cctx);
	T_ASSERT(p->client != NULL);
	SSL_set_fd(p->client, p->cfd);
	SSL_set_connect_state(p->client);
	if (sni != NULL)
		SSL_set_tlsext_host_name(p->client, sni);
}

static void
pair_free(struct pair *p)
{
	tls_conn_free(&p->server);
	tls_conn_free(&p->tclient);
	SSL_free(p->client);
	close(p->sfd);
	close(p->cfd);
}

/* 1 done, 0 in progress, -1 failed */
static int
raw_step(SSL *ssl, int ret)
{
	int err;

	if (ret == 1)
		return 1;
	err = SSL_get_error(ssl, ret);
	ERR_clear_error();
	return err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE ? 0 : -1;
}

/* Drive both handshakes until both are done (1) or one failed (-1). */
static int
pair_handshake(struct pair *p)
{
	const struct conn_transport_ops *ops = tls_conn_transport_ops();
	int s = 0, c = 0;

	for (int i = 0; i < 100 && (s == 0 || c == 0); i++) {
		if (c == 0 && p->client != NULL)
			c = raw_step(p->client, SSL_do_handshake(p->client));
		if (c == 0 && p->tclient != NULL)
			c = ops->handshake(p->tclient);
		if (s == 0)
			s = ops->handshake(p->server);
		if (s < 0 || c < 0)
			break;
	}
	T_INTEQ(ERR_peek_error(), 0);
	return s == 1 && c == 1 ? 1 : -1;
}

/* Small messages both ways over an established raw-client pair. */
static bool
pair_exchange(struct pair *p)
{
	const struct conn_transport_ops *ops = tls_conn_transport_ops();
	char buf[64];
	size_t n = 0;
	ssize_t r = -1;

	if (ops->write(p->server, "from server", 11) != 11)
		return false;
	for (int i = 0; i < 10 && n == 0; i++)
		(void)raw_step(p->client, SSL_read_ex(p->client, buf, sizeof(buf), &n));
	if (n != 11 || memcmp(buf, "from server", 11) != 0)
		return false;
	if (raw_step(p->client, SSL_write_ex(p->client, "from client", 11, &n)) != 1)
		return false;
	for (int i = 0; i < 10 && r < 0; i++)
		r = ops->read(p->server, buf, sizeof(buf));
	return r == 11 && memcmp(buf, "from client", 11) == 0;
}

static void
peer_cn(SSL *client, char *cn, size_t size)
{
	X509 *peer = SSL_get1_peer_certificate(client);

	cn[0] = '\0';
	if (peer != NULL)
		X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn,
					  (int)size);
	X509_free(peer);
}

static struct tls_server_ctx *
server_ctx(const char *cert, const char *key)
{
	struct tls_server_settings set = { .cert_file = cert, .key_file = key };
	const char *error = NULL;
	struct tls_server_ctx *sctx = tls_server_ctx_new(&set, &error);

	if (!T_ASSERT(sctx != NULL))
		fprintf(stderr, "  %s\n", error);
	return sctx;
}

/* ---- tests ---- */

static void
test_tls_self_signed(void)
{
	const char *error = NULL;
	struct stat st;
	X509 *x = NULL;
	EVP_PKEY *key = NULL;
	FILE *f;

	test_path(cert1, sizeof(cert1), "cert1.pem");
	test_path(key1, sizeof(key1), "key1.pem");
	test_path(cert2, sizeof(cert2), "cert2.pem");
	test_path(key2, sizeof(key2), "key2.pem");
	test_path(cert3, sizeof(cert3), "cert3.pem");
	test_path(key3, sizeof(key3), "key3.pem");
	T_INTEQ(tls_make_self_signed(HOST1, cert1, key1, &error), 1);
	T_INTEQ(tls_make_self_signed(HOST2, cert2, key2, &error), 1);
	T_INTEQ(tls_make_self_signed(HOST3, cert3, key3, &error), 1);
	T_INTEQ(stat(key1, &st), 0);
	T_INTEQ(st.st_mode & 0777, 0600);

	f = fopen(cert1, "r");
	if (T_ASSERT(f != NULL)) {
		x = PEM_read_X509(f, NULL, NULL, NULL);
		fclose(f);
	}
	f = fopen(key1, "r");
	if (T_ASSERT(f != NULL)) {
		key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
		fclose(f);
	}
	if (T_ASSERT(x != NULL && key != NULL)) {
		T_INTEQ(X509_get_version(x), X509_VERSION_3);
		T_INTEQ(X509_check_private_key(x, key), 1);
		T_INTEQ(X509_verify(x, key), 1);
		T_ASSERT(EVP_PKEY_is_a(key, "EC"));
		T_INTEQ(X509_check_host(x, HOST1, 0, 0, NULL), 1);
		T_INTEQ(X509_check_host(x, "localhost", 0, 0, NULL), 1);
		T_INTEQ(X509_check_host(x, "other.test", 0, 0, NULL), 0);
		T_INTEQ(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
		T_INTEQ(X509_check_ip_asc(x, "::1", 0), 1);
		/* 10 years: after 9.9 years, before 10.1 */
		T_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ time(NULL) +
									   3615 * 86400L }) > 0);
		T_ASSERT(X509_cmp_time(X509_get0_notAfter(x), &(time_t){ time(NULL) +
									   3690 * 86400L }) < 0);
		T_ASSERT(X509_check_ca(x) == 0);
	}
	X509_free(x);
	EVP_PKEY_free(key);

	T_INTEQ(tls_make_self_signed("bad host,DNS:evil", cert1 /* untouched */, key1, &error),
		-1);
	T_ASSERT(strstr(error, "bad host name") != NULL);
	T_INTEQ(tls_make_self_signed(HOST1, "/nonexistent/c.pem", "/nonexistent/k.pem", &error),
		-1);
	T_ASSERT(strstr(error, "/nonexistent/k.pem") != NULL);
	T_INTEQ(ERR_peek_error(), 0);
}

static void
test_tls_handshake_tls13(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	struct pair p;

	if (sctx == NULL)
		return;
	pair_new(&p, sctx, cctx, NULL);
	T_ASSERT(tls_conn_version(p.server) == NULL);
	T_INTEQ(pair_handshake(&p), 1);
	T_STREQ(tls_conn_version(p.server), "TLSv1.3");
	T_STREQ(tls_conn_cipher(p.server), SSL_get_cipher_name(p.client));
	T_INTEQ(tls_conn_cipher_bits(p.server), SSL_get_cipher_bits(p.client, NULL));
	T_ASSERT(tls_conn_cipher_bits(p.server) >= 128);
	T_ASSERT(tls_conn_sni(p.server) == NULL);
	T_ASSERT(pair_exchange(&p));
	T_ASSERT(!tls_conn_transport_ops()->pending(p.server));
	pair_free(&p);
	SSL_CTX_free(cctx);
	tls_server_ctx_unref(&sctx);
	T_ASSERT(sctx == NULL);
}

static void
test_tls_policy(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	SSL_CTX *cctx;
	struct pair p;
	uint8_t cb[TLS_EXPORTER_CB_LEN];

	if (sctx == NULL)
		return;
	/* TLS 1.2 works, with an AEAD suite and without tls-exporter */
	cctx = client_ctx_new(TLS1_2_VERSION, TLS1_2_VERSION, NULL);
	pair_new(&p, sctx, cctx, NULL);
	T_INTEQ(pair_handshake(&p), 1);
	T_STREQ(tls_conn_version(p.server), "TLSv1.2");
	T_ASSERT(strstr(tls_conn_cipher(p.server), "ECDHE-ECDSA-") == tls_conn_cipher(p.server));
	T_ASSERT(strstr(tls_conn_cipher(p.server), "GCM") != NULL ||
		 strstr(tls_conn_cipher(p.server), "CHACHA20") != NULL);
	T_INTEQ(tls_conn_exporter_cb(p.server, cb), -1);
	T_ASSERT(pair_exchange(&p));
	pair_free(&p);
	SSL_CTX_free(cctx);

	/* a TLS 1.1-only client is refused */
	cctx = client_ctx_new(TLS1_VERSION, TLS1_1_VERSION, "DEFAULT:@SECLEVEL=0");
	pair_new(&p, sctx, cctx, NULL);
	T_INTEQ(pair_handshake(&p), -1);
	T_ASSERT(strstr(tls_conn_error(p.server), "protocol") != NULL);
	T_ASSERT(tls_conn_version(p.server) == NULL);
	pair_free(&p);
	SSL_CTX_free(cctx);

	/* a TLS 1.2 client offering only CBC suites is refused */
	cctx = client_ctx_new(TLS1_2_VERSION, TLS1_2_VERSION, "ECDHE-ECDSA-AES128-SHA256");
	pair_new(&p, sctx, cctx, NULL);
	T_INTEQ(pair_handshake(&p), -1);
	T_ASSERT(strstr(tls_conn_error(p.server), "no shared cipher") != NULL);
	pair_free(&p);
	SSL_CTX_free(cctx);
	T_INTEQ(ERR_peek_error(), 0);
	tls_server_ctx_unref(&sctx);
}

/* tls-server-end-point of the server is the hash of the certificate the
 * client received (also after an SNI switch) */
static void
check_end_point(struct pair *p)
{
	uint8_t sep[TLS_SERVER_END_POINT_MAX], want[EVP_MAX_MD_SIZE];
	unsigned int want_len = 0;
	size_t sep_len = 0;
	X509 *peer = SSL_get1_peer_certificate(p->client);

	if (T_ASSERT(peer != NULL))
		T_INTEQ(X509_digest(peer, EVP_sha256(), want, &want_len), 1);
	X509_free(peer);
	T_INTEQ(tls_conn_server_end_point(p->server, sep, &sep_len), 1);
	T_MEMEQ(sep, sep_len, want, want_len);
}

struct sni_case {
	const char *sni;
	const char *cn; /* expected certificate */
};

static void
test_tls_sni(void)
{
	static const struct sni_case cases[] = {
		{ NULL, HOST1 },
		{ HOST2, HOST2 },
		{ "OTHER.Example.TEST", HOST2 },
		{ "a.wild.example.test", HOST3 },
		{ "a.b.wild.example.test", HOST1 },
		{ "wild.example.test", HOST1 },
		{ "unknown.test", HOST1 },
	};
	struct tls_sni_entry sni[] = {
		{ "*.wild.example.test", cert3, key3 },
		{ HOST2, cert2, key2 },
	};
	struct tls_server_settings set = {
		.cert_file = cert1, .key_file = key1, .sni = sni, .sni_count = N_ELEMENTS(sni),
	};
	const char *error = NULL;
	struct tls_server_ctx *sctx = tls_server_ctx_new(&set, &error);
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	char cn[256];
	struct pair p;

	if (!T_ASSERT(sctx != NULL)) {
		fprintf(stderr, "  %s\n", error);
		return;
	}
	for (size_t i = 0; i < N_ELEMENTS(cases); i++) {
		pair_new(&p, sctx, cctx, cases[i].sni);
		T_INTEQ(pair_handshake(&p), 1);
		peer_cn(p.client, cn, sizeof(cn));
		T_STREQ(cn, cases[i].cn);
		T_STREQ(tls_conn_sni(p.server), cases[i].sni);
		check_end_point(&p);
		T_ASSERT(pair_exchange(&p));
		pair_free(&p);
	}
	/* TLS 1.2 takes the same path */
	SSL_CTX_set_max_proto_version(cctx, TLS1_2_VERSION);
	pair_new(&p, sctx, cctx, HOST2);
	T_INTEQ(pair_handshake(&p), 1);
	peer_cn(p.client, cn, sizeof(cn));
	T_STREQ(cn, HOST2);
	pair_free(&p);
	SSL_CTX_free(cctx);
	tls_server_ctx_unref(&sctx);
}

static void
test_tls_channel_binding(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	uint8_t s_cb[TLS_EXPORTER_CB_LEN], c_cb[TLS_EXPORTER_CB_LEN], zero[TLS_EXPORTER_CB_LEN];
	uint8_t sep[TLS_SERVER_END_POINT_MAX], want[EVP_MAX_MD_SIZE];
	unsigned int want_len = 0;
	size_t sep_len = 0;
	X509 *peer;
	struct pair p;

	if (sctx == NULL)
		return;
	pair_new(&p, sctx, cctx, NULL);
	T_INTEQ(tls_conn_exporter_cb(p.server, s_cb), -1); /* no handshake yet */
	T_INTEQ(tls_conn_server_end_point(p.server, sep, &sep_len), -1);
	T_INTEQ(pair_handshake(&p), 1);

	/* RFC 9266: both ends compute the same 32 bytes */
	T_INTEQ(tls_conn_exporter_cb(p.server, s_cb), 1);
	T_INTEQ(SSL_export_keying_material(p.client, c_cb, sizeof(c_cb),
					   "EXPORTER-Channel-Binding", 24, NULL, 0, 0),
		1);
	T_MEMEQ(s_cb, sizeof(s_cb), c_cb, sizeof(c_cb));
	memset(zero, 0, sizeof(zero));
	T_ASSERT(memcmp(s_cb, zero, sizeof(zero)) != 0);

	/* RFC 5929: SHA-256 (the ECDSA-with-SHA256 signature's hash) of the
	 * DER certificate the client received */
	T_INTEQ(tls_conn_server_end_point(p.server, sep, &sep_len), 1);
	peer = SSL_get1_peer_certificate(p.client);
	if (T_ASSERT(peer != NULL))
		T_INTEQ(X509_digest(peer, EVP_sha256(), want, &want_len), 1);
	X509_free(peer);
	T_INTEQ(sep_len, 32);
	T_MEMEQ(sep, sep_len, want, want_len);
	pair_free(&p);
	SSL_CTX_free(cctx);
	tls_server_ctx_unref(&sctx);
}

/* A self-signed EC certificate signed with md, and its key. */
static void
make_cert(const char *cert_path, const char *key_path, const EVP_MD *md)
{
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *x = X509_new();
	X509_NAME *name = X509_get_subject_name(x);
	FILE *f;

	T_ASSERT(X509_set_version(x, X509_VERSION_3) == 1 &&
		 ASN1_INTEGER_set(X509_get_serialNumber(x), 1) == 1 &&
		 X509_gmtime_adj(X509_getm_notBefore(x), 0) != NULL &&
		 X509_gmtime_adj(X509_getm_notAfter(x), 86400) != NULL &&
		 X509_set_pubkey(x, key) == 1 &&
		 X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
					    (const unsigned char *)"hash.test", -1, -1, 0) == 1 &&
		 X509_set_issuer_name(x, name) == 1 && X509_sign(x, key, md) > 0);
	f = fopen(cert_path, "w");
	if (T_ASSERT(f != NULL)) {
		T_INTEQ(PEM_write_X509(f, x), 1);
		fclose(f);
	}
	f = fopen(key_path, "w");
	if (T_ASSERT(f != NULL)) {
		T_INTEQ(PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
	}
	X509_free(x);
	EVP_PKEY_free(key);
}

/* RFC 5929 4.1: the hash follows the certificate's signature; SHA-1
 * becomes SHA-256. */
static void
test_tls_end_point_hash(void)
{
	const EVP_MD *sig_md[] = { EVP_sha1(), EVP_sha384(), EVP_sha512() };
	const EVP_MD *want_md[] = { EVP_sha256(), EVP_sha384(), EVP_sha512() };
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	uint8_t sep[TLS_SERVER_END_POINT_MAX], want[EVP_MAX_MD_SIZE];
	char cert[512], key[512];
	unsigned int want_len;
	size_t sep_len;

	test_path(cert, sizeof(cert), "hash-cert.pem");
	test_path(key, sizeof(key), "hash-key.pem");
	for (size_t i = 0; i < N_ELEMENTS(sig_md); i++) {
		struct tls_server_ctx *sctx;
		struct pair p;
		X509 *peer;

		make_cert(cert, key, sig_md[i]);
		sctx = server_ctx(cert, key);
		if (sctx == NULL)
			continue;
		pair_new(&p, sctx, cctx, NULL);
		T_INTEQ(pair_handshake(&p), 1);
		peer = SSL_get1_peer_certificate(p.client);
		want_len = 0;
		if (T_ASSERT(peer != NULL))
			T_INTEQ(X509_digest(peer, want_md[i], want, &want_len), 1);
		X509_free(peer);
		sep_len = 0;
		T_INTEQ(tls_conn_server_end_point(p.server, sep, &sep_len), 1);
		T_INTEQ(sep_len, EVP_MD_get_size(want_md[i]));
		T_MEMEQ(sep, sep_len, want, want_len);
		pair_free(&p);
		tls_server_ctx_unref(&sctx);
	}
	SSL_CTX_free(cctx);
	T_INTEQ(ERR_peek_error(), 0);
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (T_ASSERT(f != NULL)) {
		fputs(text, f);
		fclose(f);
	}
}

static void
expect_ctx_error(const struct tls_server_settings *set, const char *part1, const char *part2)
{
	const char *error = NULL;
	struct tls_server_ctx *sctx = tls_server_ctx_new(set, &error);

	T_ASSERT(sctx == NULL);
	tls_server_ctx_unref(&sctx);
	if (!T_ASSERT(error != NULL))
		return;
	if (!T_ASSERT(strstr(error, part1) != NULL && strstr(error, part2) != NULL))
		fprintf(stderr, "  error: %s\n", error);
	T_INTEQ(ERR_peek_error(), 0);
}

static void
test_tls_ctx_errors(void)
{
	struct tls_server_settings set = { .cert_file = cert1, .key_file = key2 };
	struct tls_sni_entry sni = { "*bad.test", cert2, key2 };
	char junk[512], enc[512];
	EVP_PKEY *key = EVP_EC_gen("P-256");
	FILE *f;

	expect_ctx_error(&set, key2, "does not match");
	set.key_file = "/nonexistent/key.pem";
	expect_ctx_error(&set, "/nonexistent/key.pem", "No such file");
	set.cert_file = "/nonexistent/cert.pem";
	expect_ctx_error(&set, "/nonexistent/cert.pem", "No such file");

	test_path(junk, sizeof(junk), "junk.pem");
	write_file(junk, "not a certificate\n");
	set.cert_file = junk;
	set.key_file = key1;
	expect_ctx_error(&set, junk, "no PEM certificate");
	set.cert_file = cert1;
	set.key_file = junk;
	expect_ctx_error(&set, junk, "no usable private key");

	test_path(enc, sizeof(enc), "enc.pem");
	f = fopen(enc, "w");
	if (T_ASSERT(f != NULL && key != NULL)) {
		T_INTEQ(PEM_write_PrivateKey(f, key, EVP_aes_128_cbc(),
					     (const unsigned char *)"secret", 6, NULL, NULL),
			1);
		fclose(f);
	}
	EVP_PKEY_free(key);
	set.key_file = enc;
	expect_ctx_error(&set, enc, "encrypted");

	set.key_file = key1;
	set.sni = &sni;
	set.sni_count = 1;
	expect_ctx_error(&set, "*bad.test", "bad SNI");
	sni.hostname = HOST2;
	sni.key_file = key3;
	expect_ctx_error(&set, key3, cert2);
}

/* Connections keep their context: unref right after creating one. */
static void
test_tls_ctx_refcount(void)
{
	struct tls_sni_entry sni = { HOST2, cert2, key2 };
	struct tls_server_settings set = {
		.cert_file = cert1, .key_file = key1, .sni = &sni, .sni_count = 1,
	};
	const char *error = NULL;
	struct tls_server_ctx *sctx = tls_server_ctx_new(&set, &error);
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	struct pair p;
	char cn[256];

	if (!T_ASSERT(sctx != NULL))
		return;
	pair_new(&p, sctx, cctx, HOST2);
	tls_server_ctx_unref(&sctx);
	T_ASSERT(sctx == NULL);
	T_INTEQ(pair_handshake(&p), 1); /* the SNI callback uses the context */
	peer_cn(p.client, cn, sizeof(cn));
	T_STREQ(cn, HOST2);
	T_ASSERT(pair_exchange(&p));
	pair_free(&p); /* frees the context: ASan would see a leak or a reuse */
	SSL_CTX_free(cctx);
}

static void
client_case(struct tls_client_ctx *cctx, struct tls_server_ctx *sctx, const char *host,
	    int want_handshake, bool want_verified)
{
	struct pair p;
	const char *reason = NULL;
	uint8_t a[TLS_SERVER_END_POINT_MAX], b[TLS_SERVER_END_POINT_MAX];
	size_t alen = 0, blen = 0;

	pair_open(&p);
	p.server = tls_server_conn_new(sctx, p.sfd);
	p.tclient = tls_client_conn_new(cctx, p.cfd, host);
	T_INTEQ(pair_handshake(&p), want_handshake);
	if (want_handshake == 1) {
		T_INTEQ(tls_conn_peer_verified(p.tclient, &reason), want_verified);
		T_ASSERT(want_verified ? reason == NULL : reason != NULL);
		T_INTEQ(tls_conn_server_end_point(p.tclient, a, &alen), 1);
		T_INTEQ(tls_conn_server_end_point(p.server, b, &blen), 1);
		T_MEMEQ(a, alen, b, blen);
	} else {
		T_ASSERT(strstr(tls_conn_error(p.tclient), "certificate verify failed") != NULL);
		T_ASSERT(strstr(tls_conn_error(p.tclient), "hostname mismatch") != NULL);
	}
	pair_free(&p);
}

static void
test_tls_client(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	struct tls_client_settings set = { .verify = true, .ca_file = cert1 };
	const char *error = NULL;
	struct tls_client_ctx *strict = tls_client_ctx_new(&set, &error);
	struct tls_client_ctx *opportunistic;
	struct pair p;

	set.verify = false;
	opportunistic = tls_client_ctx_new(&set, &error);
	if (!T_ASSERT(sctx != NULL && strict != NULL && opportunistic != NULL))
		return;
	client_case(strict, sctx, HOST1, 1, true);
	client_case(strict, sctx, "127.0.0.1", 1, true);
	client_case(strict, sctx, "wrong.example.test", -1, false);
	client_case(opportunistic, sctx, "wrong.example.test", 1, false);
	client_case(opportunistic, sctx, HOST1, 1, true);

	/* the client sends SNI; the server sees it */
	pair_open(&p);
	p.server = tls_server_conn_new(sctx, p.sfd);
	p.tclient = tls_client_conn_new(opportunistic, p.cfd, HOST1);
	T_INTEQ(pair_handshake(&p), 1);
	T_STREQ(tls_conn_sni(p.server), HOST1);
	T_STREQ(tls_conn_sni(p.tclient), HOST1);
	pair_free(&p);

	set.ca_file = "/nonexistent/ca.pem";
	T_ASSERT(tls_client_ctx_new(&set, &error) == NULL);
	T_ASSERT(strstr(error, "/nonexistent/ca.pem") != NULL);
	T_INTEQ(ERR_peek_error(), 0);
	tls_client_ctx_unref(&strict);
	tls_client_ctx_unref(&opportunistic);
	tls_server_ctx_unref(&sctx);
}

/* ---- DANE (RFC 7672 3) ---- */

/* SHA2-256 of the certificate in path (selector 0) or of its
 * SubjectPublicKeyInfo (selector 1) into out[32]. */
static void
cert_digest(const char *path, int selector, uint8_t out[32])
{
	FILE *f = fopen(path, "r");
	X509 *x = f != NULL ? PEM_read_X509(f, NULL, NULL, NULL) : NULL;
	uint8_t *der = NULL;
	int len;
	unsigned int olen = 0;

	if (f != NULL)
		fclose(f);
	memset(out, 0, 32);
	if (!T_ASSERT(x != NULL))
		return;
	len = selector == 0 ? i2d_X509(x, &der) : i2d_X509_PUBKEY(X509_get_X509_PUBKEY(x), &der);
	T_ASSERT(len > 0);
	T_INTEQ(EVP_Digest(der, (size_t)len, out, &olen, EVP_sha256(), NULL), 1);
	OPENSSL_free(der);
	X509_free(x);
}

/* A handshake of tls_client_conn_new_dane() against the server context:
 * the handshake's result, and whether the peer counts as verified. */
static struct tls_client_ctx *dane_ctx; /* test_tls_dane's, shared by its cases */

static void
dane_case(struct tls_server_ctx *sctx, const char *base, const struct tls_dane_tlsa *t, size_t n,
	  bool want_verified, const char *want_reason)
{
	struct pair p;
	const char *reason = NULL, *error = NULL;

	pair_open(&p);
	p.server = tls_server_conn_new(sctx, p.sfd);
	p.tclient = tls_client_conn_new_dane(dane_ctx, p.cfd, base, t, n, &error);
	if (!T_ASSERT(p.tclient != NULL)) {
		pair_free(&p);
		return;
	}
	T_INTEQ(pair_handshake(&p), 1);
	T_INTEQ(tls_conn_peer_verified(p.tclient, &reason), want_verified);
	if (want_reason != NULL && T_ASSERT(reason != NULL))
		T_ASSERT(strstr(reason, want_reason) != NULL);
	T_STREQ(tls_conn_sni(p.server), base);
	pair_free(&p);
}

/* One DANE context, two connections alive at the same time with different
 * records and base domains: each is judged by its own records only (the
 * records live on the SSL object, not on the shared context). And a
 * context that is not a DANE one is refused. */
static void
test_tls_dane_shared(struct tls_server_ctx *sctx, const uint8_t spki1[32],
		     const uint8_t spki2[32])
{
	struct tls_dane_tlsa good = { 3, 1, 1, spki1, 32 }, bad = { 3, 1, 1, spki2, 32 };
	struct tls_client_settings set = { .verify = false, .ca_file = cert1 };
	struct tls_client_ctx *plain;
	struct pair a, b;
	const char *reason = NULL, *error = NULL;

	pair_open(&a);
	pair_open(&b);
	a.server = tls_server_conn_new(sctx, a.sfd);
	b.server = tls_server_conn_new(sctx, b.sfd);
	a.tclient = tls_client_conn_new_dane(dane_ctx, a.cfd, HOST1, &good, 1, &error);
	b.tclient = tls_client_conn_new_dane(dane_ctx, b.cfd, "other.example.test", &bad, 1,
					     &error);
	if (T_ASSERT(a.tclient != NULL && b.tclient != NULL)) {
		/* b's handshake first: a's records were attached before it */
		T_INTEQ(pair_handshake(&b), 1);
		T_INTEQ(pair_handshake(&a), 1);
		T_ASSERT(tls_conn_peer_verified(a.tclient, &reason));
		T_ASSERT(!tls_conn_peer_verified(b.tclient, &reason));
		T_ASSERT(reason != NULL && strstr(reason, "DANE") != NULL);
		T_STREQ(tls_conn_sni(a.server), HOST1);
		T_STREQ(tls_conn_sni(b.server), "other.example.test");
	}
	pair_free(&a);
	pair_free(&b);
	/* the same context once more, after both are gone */
	dane_case(sctx, HOST1, &good, 1, true, NULL);
	plain = tls_client_ctx_new(&set, &error);
	if (T_ASSERT(plain != NULL)) {
		T_ASSERT(tls_client_conn_new_dane(plain, 0, HOST1, &good, 1, &error) == NULL);
		T_STREQ(error, "not a DANE context");
		tls_client_ctx_unref(&plain);
	}
	T_INTEQ(ERR_peek_error(), 0);
}

static void
test_tls_dane(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	uint8_t spki1[32], spki2[32], full1[32], full2[32];
	struct tls_dane_tlsa t[3];
	const char *error = NULL;

	dane_ctx = tls_client_dane_ctx_new(&error);
	if (!T_ASSERT(dane_ctx != NULL) || sctx == NULL)
		return;
	cert_digest(cert1, 1, spki1);
	cert_digest(cert2, 1, spki2);
	cert_digest(cert1, 0, full1);
	cert_digest(cert2, 0, full2);
	memset(t, 0, sizeof(t));

	/* DANE-EE 3 1 1 matching: verified, whatever the name (RFC 7672 3.1.1) */
	t[0] = (struct tls_dane_tlsa){ 3, 1, 1, spki1, 32 };
	dane_case(sctx, HOST1, t, 1, true, NULL);
	dane_case(sctx, "unrelated.example.test", t, 1, true, NULL);
	/* DANE-EE 3 0 1 on the full certificate */
	t[0] = (struct tls_dane_tlsa){ 3, 0, 1, full1, 32 };
	dane_case(sctx, HOST1, t, 1, true, NULL);
	/* another key: not verified, and the reason says DANE */
	t[0] = (struct tls_dane_tlsa){ 3, 1, 1, spki2, 32 };
	dane_case(sctx, HOST1, t, 1, false, "DANE");
	/* one of several records matching is enough */
	t[1] = (struct tls_dane_tlsa){ 3, 1, 1, spki1, 32 };
	dane_case(sctx, HOST1, t, 2, true, NULL);
	/* DANE-TA 2 0 1 naming a certificate that is not in the chain; (a
	 * DANE-TA match needs an issuer in the chain: OpenSSL does not take
	 * the self-signed leaf itself as its trust anchor, so the positive
	 * DANE-TA case is not covered here) */
	t[0] = (struct tls_dane_tlsa){ 2, 0, 1, full2, 32 };
	dane_case(sctx, HOST1, t, 1, false, "DANE");
	/* PKIX-EE(1) and PKIX-TA(0) are unusable for SMTP (RFC 7672 3.1.3),
	 * so are wrong lengths and unknown matching types */
	t[0] = (struct tls_dane_tlsa){ 1, 1, 1, spki1, 32 };
	t[1] = (struct tls_dane_tlsa){ 0, 0, 1, full1, 32 };
	t[2] = (struct tls_dane_tlsa){ 3, 1, 1, spki1, 31 };
	for (size_t i = 0; i < 3; i++)
		T_ASSERT(!tls_dane_tlsa_usable(&t[i]));
	T_ASSERT(tls_client_conn_new_dane(dane_ctx, 0, HOST1, t, 3, &error) == NULL);
	T_STREQ(error, "no usable TLSA records");
	t[0] = (struct tls_dane_tlsa){ 3, 1, 7, spki1, 32 };
	T_ASSERT(!tls_dane_tlsa_usable(&t[0]));
	t[0] = (struct tls_dane_tlsa){ 3, 1, 2, spki1, 32 };
	T_ASSERT(!tls_dane_tlsa_usable(&t[0]));
	t[0] = (struct tls_dane_tlsa){ 2, 1, 0, spki1, 32 };
	T_ASSERT(tls_dane_tlsa_usable(&t[0]));
	/* a usable record mixed with unusable ones */
	t[0] = (struct tls_dane_tlsa){ 1, 1, 1, spki2, 32 };
	t[1] = (struct tls_dane_tlsa){ 3, 1, 1, spki1, 32 };
	dane_case(sctx, HOST1, t, 2, true, NULL);
	/* data OpenSSL refuses (3 1 0 with no SubjectPublicKeyInfo in it): the
	 * record is skipped, and with none taken the peer is not verified */
	t[0] = (struct tls_dane_tlsa){ 3, 1, 0, spki1, 32 };
	T_ASSERT(tls_dane_tlsa_usable(&t[0]));
	dane_case(sctx, HOST1, t, 1, false, NULL);
	T_INTEQ(ERR_peek_error(), 0);
	test_tls_dane_shared(sctx, spki1, spki2);
	tls_client_ctx_unref(&dane_ctx);
	tls_server_ctx_unref(&sctx);
}

/* ---- core/conn over TLS: STARTTLS, then 1 MiB echoed ---- */

#define BIG_LEN (1u << 20)

struct echo_server {
	struct conn *conn;
	struct tls_server_ctx *sctx;
	bool tls;
	int hs_done;
	bool closed;
	char version[32], cipher[64];
	int bits;
	/* collect mode: keep the input instead of echoing it */
	struct loop *loop;
	bool collect, pause;
	struct buf in;
	size_t want;
	struct loop_timer *resume;
};

struct bulk_client {
	struct loop *loop;
	struct loop_io *io;
	SSL *ssl;
	int fd;
	int state; /* 0 plain: sent STARTTLS, 1 handshaking, 2 data */
	struct buf plain;
	uint8_t *out;
	size_t sent, piece;
	struct buf got;
	bool failed;
};

static void
echo_resume(void *ctx)
{
	struct echo_server *s = ctx;

	conn_set_reading(s->conn, true);
}

static void
echo_collect(struct echo_server *s, const uint8_t *data, size_t len)
{
	T_ASSERT(buf_append(&s->in, data, len) == 0);
	if (buf_len(&s->in) >= s->want)
		loop_stop(s->loop);
	else if (s->pause) {
		/* nothing more arrives on the socket: the rest is inside SSL */
		conn_set_reading(s->conn, false);
		if (s->resume == NULL)
			s->resume = loop_timer_add(s->loop, 2, echo_resume, s);
		else
			loop_timer_reset(s->resume, 2);
	}
}

static void
echo_input(void *ctx, const uint8_t *data, size_t len)
{
	struct echo_server *s = ctx;

	if (!s->tls) {
		/* STARTTLS: answer in plain text, then switch */
		conn_write(s->conn, "220 Ready to start TLS\r\n", 24);
		conn_set_transport(s->conn, tls_conn_transport_ops(),
				   tls_server_conn_new(s->sctx, conn_fd(s->conn)));
		s->tls = true;
		return;
	}
	if (s->collect) {
		echo_collect(s, data, len);
		return;
	}
	conn_write(s->conn, data, len);
	if (conn_out_pending(s->conn) >= CONN_LOW_WATER)
		conn_set_reading(s->conn, false);
}

static void
echo_drained(void *ctx)
{
	struct echo_server *s = ctx;

	if (s->tls && !conn_handshaking(s->conn))
		conn_set_reading(s->conn, true);
}

static void
echo_closed(void *ctx, const char *reason)
{
	struct echo_server *s = ctx;

	if (reason != NULL)
		fprintf(stderr, "  server closed: %s\n", reason);
	s->closed = true;
}

static void
echo_handshake_done(void *ctx)
{
	struct echo_server *s = ctx;
	struct tls_conn *tc = conn_transport(s->conn);

	s->hs_done++;
	snprintf(s->version, sizeof(s->version), "%s", tls_conn_version(tc));
	snprintf(s->cipher, sizeof(s->cipher), "%s", tls_conn_cipher(tc));
	s->bits = tls_conn_cipher_bits(tc);
}

static const struct conn_callbacks echo_cb = {
	.input = echo_input,
	.drained = echo_drained,
	.closed = echo_closed,
	.handshake_done = echo_handshake_done,
};

/* Plain phase: wait for the 220 line, then start TLS. */
static void
bulk_plain(struct bulk_client *c)
{
	uint8_t data[256];
	ssize_t n = recv(c->fd, data, sizeof(data), 0);

	if (n > 0)
		T_ASSERT(buf_append(&c->plain, data, (size_t)n) == 0);
	if (buf_len(&c->plain) == 24) {
		T_MEMEQ(buf_data(&c->plain), 24, "220 Ready to start TLS\r\n", 24);
		c->state = 1;
	}
}

/* Send pieces while SSL takes them, read everything available. */
static void
bulk_data(struct bulk_client *c)
{
	uint8_t data[20000];
	size_t n;
	int ret;

	while (c->sent < BIG_LEN) {
		size_t len = BIG_LEN - c->sent < c->piece ? BIG_LEN - c->sent : c->piece;

		ret = raw_step(c->ssl, SSL_write_ex(c->ssl, c->out + c->sent, len, &n));
		if (ret != 1) {
			c->failed = ret < 0;
			break;
		}
		c->sent += n;
	}
	while ((ret = SSL_read_ex(c->ssl, data, sizeof(data), &n)) == 1)
		T_ASSERT(buf_append(&c->got, data, n) == 0);
	if (raw_step(c->ssl, ret) < 0)
		c->failed = true;
}

static void
bulk_event(void *ctx, unsigned events)
{
	struct bulk_client *c = ctx;
	int r;

	if (c->state == 0)
		bulk_plain(c);
	if (c->state == 1) {
		r = raw_step(c->ssl, SSL_do_handshake(c->ssl));
		if (r < 0)
			c->failed = true;
		else if (r == 1)
			c->state = 2;
	}
	if (c->state == 2)
		bulk_data(c);
	if (c->failed || buf_len(&c->got) == BIG_LEN)
		loop_stop(c->loop);
	else
		loop_io_set_events(c->io, LOOP_READ | (c->state == 2 && c->sent < BIG_LEN ?
							       LOOP_WRITE : 0));
}

static void
bulk_timeout(void *ctx)
{
	struct bulk_client *c = ctx;

	c->failed = true;
	loop_stop(c->loop);
}

static void
test_tls_conn_starttls_bulk(void)
{
	struct echo_server s = { 0 };
	struct bulk_client c = { 0 };
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);
	struct loop_timer *timer;
	int fds[2];

	s.sctx = server_ctx(cert1, key1);
	if (s.sctx == NULL)
		return;
	T_INTEQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	c.loop = loop_new();
	c.fd = fds[1];
	c.ssl = SSL_new(cctx);
	SSL_set_fd(c.ssl, c.fd);
	SSL_set_connect_state(c.ssl);
	c.piece = 7919; /* records and reads never line up */
	c.out = mem_alloc(BIG_LEN);
	for (size_t i = 0; i < BIG_LEN; i++)
		c.out[i] = (uint8_t)(i * 7 + i / 251);
	buf_init(&c.plain, 0);
	buf_init(&c.got, 0);
	s.conn = conn_new(c.loop, fds[0], &echo_cb, &s);
	c.io = loop_io_add(c.loop, c.fd, LOOP_READ, bulk_event, &c);
	T_INTEQ(send(c.fd, "STARTTLS\r\n", 10, 0), 10);
	timer = loop_timer_add(c.loop, 20000, bulk_timeout, &c);
	loop_run(c.loop);

	T_ASSERT(!c.failed);
	T_INTEQ(s.hs_done, 1);
	T_STREQ(s.version, "TLSv1.3");
	T_STREQ(s.cipher, SSL_get_cipher_name(c.ssl));
	T_ASSERT(s.bits >= 128);
	T_INTEQ(buf_len(&c.got), BIG_LEN);
	T_ASSERT(buf_len(&c.got) == BIG_LEN && memcmp(buf_data(&c.got), c.out, BIG_LEN) == 0);
	T_ASSERT(!s.closed);

	/* an orderly close: close_notify, then EOF for the client */
	conn_close_after_flush(s.conn);
	loop_io_remove(&c.io);
	loop_timer_reset(timer, 0);
	loop_run(c.loop);
	T_ASSERT(s.closed);
	{
		uint8_t data[64];
		size_t n;
		int ret = SSL_read_ex(c.ssl, data, sizeof(data), &n);

		T_INTEQ(SSL_get_error(c.ssl, ret), SSL_ERROR_ZERO_RETURN);
		ERR_clear_error();
	}
	conn_free(&s.conn);
	loop_timer_remove(&timer);
	loop_free(&c.loop);
	SSL_free(c.ssl);
	close(c.fd);
	SSL_CTX_free(cctx);
	mem_free(&c.out);
	buf_deinit(&c.plain);
	buf_deinit(&c.got);
	tls_server_ctx_unref(&s.sctx);
	T_INTEQ(ERR_peek_error(), 0);
}

static void
stop_loop(void *ctx)
{
	loop_stop(ctx);
}

/* Implicit TLS; the client sends many small records at once, which SSL
 * reads ahead in one go: the conn must deliver all of them although the
 * socket stays quiet, also when the owner pauses reading in between. */
static void
records_case(struct tls_server_ctx *sctx, SSL_CTX *cctx, bool pause)
{
	struct echo_server s = { .sctx = sctx, .tls = true, .collect = true, .pause = pause };
	struct loop_timer *timer;
	SSL *ssl = SSL_new(cctx);
	int fds[2], r = 0;
	char record[100];
	size_t n;

	T_INTEQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, fds), 0);
	s.loop = loop_new();
	buf_init(&s.in, 0);
	s.want = 10 * sizeof(record);
	s.conn = conn_new(s.loop, fds[0], &echo_cb, &s);
	conn_set_transport(s.conn, tls_conn_transport_ops(), tls_server_conn_new(sctx, fds[0]));
	SSL_set_fd(ssl, fds[1]);
	SSL_set_connect_state(ssl);
	timer = loop_timer_add(s.loop, 5000, stop_loop, s.loop);
	for (int i = 0; i < 200 && r == 0; i++) {
		r = raw_step(ssl, SSL_do_handshake(ssl));
		loop_timer_reset(timer, 1);
		loop_run(s.loop); /* one round */
	}
	T_INTEQ(r, 1);
	T_INTEQ(s.hs_done, 1);
	for (int i = 0; i < 10; i++) {
		memset(record, 'a' + i, sizeof(record));
		T_INTEQ(raw_step(ssl, SSL_write_ex(ssl, record, sizeof(record), &n)), 1);
	}
	loop_timer_reset(timer, 5000);
	loop_run(s.loop);
	T_INTEQ(buf_len(&s.in), s.want);
	for (int i = 0; i < 10 && buf_len(&s.in) == s.want; i++)
		T_INTEQ(buf_data(&s.in)[i * sizeof(record)], 'a' + i);
	conn_free(&s.conn);
	loop_timer_remove(&timer);
	loop_timer_remove(&s.resume);
	loop_free(&s.loop);
	buf_deinit(&s.in);
	SSL_free(ssl);
	close(fds[1]);
}

static void
test_tls_conn_buffered_records(void)
{
	struct tls_server_ctx *sctx = server_ctx(cert1, key1);
	SSL_CTX *cctx = client_ctx_new(TLS1_2_VERSION, 0, NULL);

	if (sctx == NULL)
		return;
	records_case(sctx, cctx, false);
	records_case(sctx, cctx, true);
	SSL_CTX_free(cctx);
	tls_server_ctx_unref(&sctx);
	T_INTEQ(ERR_peek_error(), 0);
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_tls_self_signed),
		TEST_ENTRY(test_tls_handshake_tls13),
		TEST_ENTRY(test_tls_policy),
		TEST_ENTRY(test_tls_sni),
		TEST_ENTRY(test_tls_channel_binding),
		TEST_ENTRY(test_tls_end_point_hash),
		TEST_ENTRY(test_tls_ctx_errors),
		TEST_ENTRY(test_tls_ctx_refcount),
		TEST_ENTRY(test_tls_client),
		TEST_ENTRY(test_tls_dane),
		TEST_ENTRY(test_tls_conn_starttls_bulk),
		TEST_ENTRY(test_tls_conn_buffered_records),
		{ NULL, NULL },
	};

	signal(SIGPIPE, SIG_IGN); /* tls.h: the process ignores SIGPIPE */
	return test_main("tls", tests);
}
