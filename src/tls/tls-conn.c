/*
 * tls-conn.c - one TLS connection as a core/conn transport, its accessors
 * and its channel bindings.
 *
 * Does: map SSL_read/SSL_write/SSL_do_handshake results onto the
 * conn_transport_ops contract (bytes, 0 at the end of the stream, -1 with
 * EAGAIN and the direction OpenSSL waits for, or -1 with an error text);
 * report buffered input (SSL_has_pending); send close_notify on shutdown.
 * DANE connections (RFC 7672 3) on the shared DANE client context: the TLSA
 * records are attached to each SSL object, never to the context.
 * Does not: own the socket, retry by itself, or decide what a failure
 * means for the protocol.
 *
 * Invariants: the error queue is cleared before every SSL I/O call (so
 * SSL_get_error sees only this call's errors) and emptied after a failure;
 * a tls_conn holds one reference to its server or client context.
 */
#include "tls/tls-private.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>

#include "core/conn.h"
#include "core/loop.h"
#include "core/mem.h"

#define TLS_EXPORTER_CB_LABEL "EXPORTER-Channel-Binding"

struct tls_conn {
	SSL *ssl;
	struct tls_server_ctx *server_ctx; /* one of these two is set */
	struct tls_client_ctx *client_ctx;
	unsigned wants; /* LOOP_READ or LOOP_WRITE */
	bool bad_host;  /* tls_client_conn_new refused the host name */
	size_t dane_records; /* TLSA records OpenSSL took for this connection */
	char error[512];
};

static struct tls_conn *
tls_conn_new(SSL_CTX *ctx, int fd)
{
	struct tls_conn *tc = mem_zalloc(sizeof(*tc));

	tc->ssl = SSL_new(ctx);
	if (tc->ssl == NULL || SSL_set_fd(tc->ssl, fd) != 1)
		PANIC("cannot create a TLS connection: %s", tls_error_take(NULL));
	tc->wants = LOOP_READ;
	return tc;
}

struct tls_conn *
tls_server_conn_new(struct tls_server_ctx *ctx, int fd)
{
	struct tls_conn *tc = tls_conn_new(ctx->ssl_ctx, fd);

	tls_server_ctx_ref(ctx);
	tc->server_ctx = ctx;
	SSL_set_accept_state(tc->ssl);
	return tc;
}

static bool
tls_is_ip_literal(const char *host)
{
	uint8_t addr[16];

	return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

struct tls_conn *
tls_client_conn_new(struct tls_client_ctx *ctx, int fd, const char *host)
{
	struct tls_conn *tc = tls_conn_new(ctx->ssl_ctx, fd);
	X509_VERIFY_PARAM *param = SSL_get0_param(tc->ssl);
	int ok = 1;

	tls_client_ctx_ref(ctx);
	tc->client_ctx = ctx;
	SSL_set_connect_state(tc->ssl);
	if (host != NULL && tls_is_ip_literal(host)) {
		/* RFC 6066 3: no IP literals in SNI */
		ok = X509_VERIFY_PARAM_set1_ip_asc(param, host);
	} else if (host != NULL) {
		ok = SSL_set_tlsext_host_name(tc->ssl, host) == 1 && SSL_set1_host(tc->ssl, host) == 1;
		X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	}
	if (ok != 1) {
		/* a name OpenSSL refuses (too long): the handshake fails instead */
		tls_error_format(tc->error, sizeof(tc->error), "bad host name");
		tc->bad_host = true;
	}
	return tc;
}

int
tls_conn_dane_verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	const struct tls_conn *tc = ssl != NULL ? SSL_get_app_data(ssl) : NULL;

	if (ok && (tc == NULL || tc->dane_records == 0)) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_DANE_NO_MATCH);
		return 0;
	}
	return ok;
}

struct tls_conn *
tls_client_conn_new_dane(struct tls_client_ctx *ctx, int fd, const char *base_domain,
			 const struct tls_dane_tlsa *tlsa, size_t n, const char **error_r)
{
	struct tls_conn *tc;
	size_t usable = 0;

	for (size_t i = 0; i < n; i++) {
		if (tls_dane_tlsa_usable(&tlsa[i]))
			usable++;
	}
	if (ctx == NULL || !ctx->dane) {
		*error_r = "not a DANE context";
		return NULL;
	}
	if (usable == 0 || base_domain == NULL || base_domain[0] == '\0') {
		*error_r = "no usable TLSA records";
		return NULL;
	}
	tc = tls_conn_new(ctx->ssl_ctx, fd);
	SSL_set_app_data(tc->ssl, tc); /* for tls_conn_dane_verify_cb */
	SSL_set_connect_state(tc->ssl);
	/* RFC 7672 3.2.2: the TLSA base domain is the reference identifier
	 * for DANE-TA; SSL_dane_enable also sends it as SNI (8.1) */
	X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(tc->ssl),
					X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (SSL_dane_enable(tc->ssl, base_domain) <= 0) {
		*error_r = tls_error_take("DANE setup");
		tls_conn_free(&tc); /* holds no context reference yet */
		return NULL;
	}
	/* RFC 7672 3.1.1: DANE-EE(3) binds the key, names do not matter */
	SSL_dane_set_flags(tc->ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < n; i++) {
		const struct tls_dane_tlsa *t = &tlsa[i];

		if (!tls_dane_tlsa_usable(t))
			continue; /* RFC 7672 3.1.3 */
		if (SSL_dane_tlsa_add(tc->ssl, t->usage, t->selector, t->mtype, t->data,
				      t->data_len) > 0)
			tc->dane_records++;
		else
			ERR_clear_error(); /* unusable: skipped (RFC 7671 5) */
	}
	tls_client_ctx_ref(ctx);
	tc->client_ctx = ctx;
	return tc;
}

void
tls_conn_free(struct tls_conn **tcp)
{
	struct tls_conn *tc = *tcp;

	if (tc == NULL)
		return;
	SSL_free(tc->ssl);
	tls_server_ctx_unref(&tc->server_ctx);
	tls_client_ctx_unref(&tc->client_ctx);
	mem_free(tcp);
}

const char *
tls_conn_error(const struct tls_conn *tc)
{
	return tc->error;
}

/* ---- the transport ---- */

/* Turn a failed SSL call (ret <= 0) into the transport contract: -1 with
 * errno EAGAIN and tc->wants, 0 at a close_notify (reads only), or -1 with
 * errno set and tc->error describing it. */
static int
tls_conn_failed(struct tls_conn *tc, int ret, bool reading)
{
	int saved_errno = errno;

	switch (SSL_get_error(tc->ssl, ret)) {
	case SSL_ERROR_WANT_READ:
		tc->wants = LOOP_READ;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_WANT_WRITE:
		tc->wants = LOOP_WRITE;
		errno = EAGAIN;
		return -1;
	case SSL_ERROR_ZERO_RETURN:
		if (reading)
			return 0;
		snprintf(tc->error, sizeof(tc->error), "connection closed by peer");
		errno = EPIPE;
		return -1;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved_errno == 0)
			saved_errno = ECONNRESET;
		snprintf(tc->error, sizeof(tc->error), "%s", strerror(saved_errno));
		errno = saved_errno;
		return -1;
	default:
		tls_error_format(tc->error, sizeof(tc->error), NULL);
		errno = EPROTO;
		return -1;
	}
}

static ssize_t
tls_op_read(void *t, void *buf, size_t len)
{
	struct tls_conn *tc = t;
	size_t n;
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_read_ex(tc->ssl, buf, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	return tls_conn_failed(tc, ret, true);
}

static ssize_t
tls_op_write(void *t, const void *buf, size_t len)
{
	struct tls_conn *tc = t;
	size_t n;
	int ret;

	ERR_clear_error();
	errno = 0;
	ret = SSL_write_ex(tc->ssl, buf, len, &n);
	if (ret == 1)
		return (ssize_t)n;
	return tls_conn_failed(tc, ret, false);
}

/* Client side: say why the server's certificate was refused. */
static void
tls_conn_add_verify_reason(struct tls_conn *tc)
{
	long result = SSL_get_verify_result(tc->ssl);
	size_t len = strlen(tc->error);

	if (result != X509_V_OK)
		snprintf(tc->error + len, sizeof(tc->error) - len, ": %s",
			 X509_verify_cert_error_string(result));
}

static int
tls_op_handshake(void *t)
{
	struct tls_conn *tc = t;
	int ret;

	if (tc->bad_host)
		return -1;
	ERR_clear_error();
	errno = 0;
	ret = SSL_do_handshake(tc->ssl);
	if (ret == 1)
		return 1;
	if (tls_conn_failed(tc, ret, false) < 0 && errno == EAGAIN)
		return 0;
	if (tc->client_ctx != NULL)
		tls_conn_add_verify_reason(tc);
	return -1;
}

static unsigned
tls_op_wants(void *t)
{
	return ((struct tls_conn *)t)->wants;
}

static bool
tls_op_pending(void *t)
{
	return SSL_has_pending(((struct tls_conn *)t)->ssl) == 1;
}

/* Best effort: one close_notify if the socket takes it now. The peer's
 * answer is not awaited (RFC 8446 6.1 allows closing at once). */
static void
tls_op_shutdown(void *t)
{
	struct tls_conn *tc = t;

	if (SSL_is_init_finished(tc->ssl))
		(void)SSL_shutdown(tc->ssl);
	ERR_clear_error();
}

static const char *
tls_op_error(void *t)
{
	struct tls_conn *tc = t;

	return tc->error[0] != '\0' ? tc->error : NULL;
}

static void
tls_op_free(void *t)
{
	struct tls_conn *tc = t;

	tls_conn_free(&tc);
}

static const struct conn_transport_ops tls_transport_ops = {
	.read = tls_op_read,
	.write = tls_op_write,
	.handshake = tls_op_handshake,
	.wants = tls_op_wants,
	.pending = tls_op_pending,
	.shutdown = tls_op_shutdown,
	.error = tls_op_error,
	.free = tls_op_free,
};

const struct conn_transport_ops *
tls_conn_transport_ops(void)
{
	return &tls_transport_ops;
}

/* ---- accessors ---- */

const char *
tls_conn_version(const struct tls_conn *tc)
{
	return SSL_is_init_finished(tc->ssl) ? SSL_get_version(tc->ssl) : NULL;
}

const char *
tls_conn_cipher(const struct tls_conn *tc)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(tc->ssl);

	return SSL_is_init_finished(tc->ssl) && cipher != NULL ? SSL_CIPHER_get_name(cipher) : NULL;
}

int
tls_conn_cipher_bits(const struct tls_conn *tc)
{
	const SSL_CIPHER *cipher = SSL_get_current_cipher(tc->ssl);

	if (!SSL_is_init_finished(tc->ssl) || cipher == NULL)
		return 0;
	return SSL_CIPHER_get_bits(cipher, NULL);
}

const char *
tls_conn_sni(const struct tls_conn *tc)
{
	return SSL_get_servername(tc->ssl, TLSEXT_NAMETYPE_host_name);
}

bool
tls_conn_peer_verified(const struct tls_conn *tc, const char **reason_r)
{
	const char *reason = NULL;
	long result;

	if (!SSL_is_init_finished(tc->ssl)) {
		reason = "handshake not done";
	} else if (SSL_get0_peer_certificate(tc->ssl) == NULL) {
		reason = "no peer certificate";
	} else {
		result = SSL_get_verify_result(tc->ssl);
		if (result != X509_V_OK)
			reason = X509_verify_cert_error_string(result);
	}
	if (reason_r != NULL)
		*reason_r = reason;
	return reason == NULL;
}

/* ---- channel bindings ---- */

int
tls_conn_exporter_cb(struct tls_conn *tc, uint8_t out[TLS_EXPORTER_CB_LEN])
{
	/* RFC 9266 2: label "EXPORTER-Channel-Binding", empty context (which
	 * for TLS 1.3 is the same as no context), 32 bytes */
	if (!SSL_is_init_finished(tc->ssl) || SSL_version(tc->ssl) != TLS1_3_VERSION)
		return -1;
	if (SSL_export_keying_material(tc->ssl, out, TLS_EXPORTER_CB_LEN, TLS_EXPORTER_CB_LABEL,
				       sizeof(TLS_EXPORTER_CB_LABEL) - 1, NULL, 0, 0) != 1) {
		ERR_clear_error();
		return -1;
	}
	return 1;
}

/* RFC 5929 4.1: the certificate's signature hash; MD5 and SHA-1 become
 * SHA-256; none or several (Ed25519, RSA-PSS without one) is undefined. */
static const EVP_MD *
tls_end_point_md(X509 *cert)
{
	int md_nid = NID_undef, pk_nid;

	if (X509_get_signature_info(cert, &md_nid, &pk_nid, NULL, NULL) != 1)
		return NULL;
	if (md_nid == NID_md5 || md_nid == NID_sha1)
		md_nid = NID_sha256;
	if (md_nid == NID_undef)
		return NULL;
	return EVP_get_digestbynid(md_nid);
}

int
tls_conn_server_end_point(struct tls_conn *tc, uint8_t out[TLS_SERVER_END_POINT_MAX],
			  size_t *len_r)
{
	X509 *cert = tc->server_ctx != NULL ? SSL_get_certificate(tc->ssl) :
					      SSL_get0_peer_certificate(tc->ssl);
	const EVP_MD *md;
	unsigned int len;
	int ret = -1;

	if (!SSL_is_init_finished(tc->ssl) || cert == NULL)
		return -1;
	md = tls_end_point_md(cert);
	if (md != NULL && EVP_MD_get_size(md) <= TLS_SERVER_END_POINT_MAX &&
	    X509_digest(cert, md, out, &len) == 1) {
		*len_r = len;
		ret = 1;
	}
	ERR_clear_error();
	return ret;
}
