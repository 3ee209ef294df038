/*
 * tls-server.c - server contexts: the protocol policy, the default
 * certificate, certificates chosen by SNI, reference counting.
 *
 * Does: load every certificate chain and key at creation and check that
 * each key matches its certificate, so that a bad file is reported at
 * startup or reload with its name; pick the certificate for the name the
 * client sends (RFC 6066 3) in the servername callback.
 * Does not: verify our own chains against a trust store, watch files for
 * changes (a reload builds a new context), ask for client certificates.
 *
 * Invariant: each SNI SSL_CTX is configured like the default one; a
 * connection may switch to it during the handshake (SSL_set_SSL_CTX), and
 * it keeps the protocol options it got from the default one at SSL_new.
 */
#include "tls/tls-private.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

/* TLS 1.2: forward secrecy and AEAD only (ECDHE with AES-GCM or
 * CHACHA20-POLY1305); TLS 1.3 suites stay OpenSSL's defaults. */
#define TLS_CIPHERS_TLS12 \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

#define TLS_SESSION_ID_CONTEXT "posthorn"

struct tls_sni_ctx {
	char *hostname; /* lowercase; "*.example.com" for a wildcard */
	SSL_CTX *ssl_ctx;
};

int
tls_ssl_ctx_setup(SSL_CTX *ctx, const char **error_r)
{
	char ssl_err[512];

	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
	    SSL_CTX_set_cipher_list(ctx, TLS_CIPHERS_TLS12) != 1) {
		*error_r = tls_error_printf("%s", tls_error_format(ssl_err, sizeof(ssl_err),
								   "cannot set the TLS policy"));
		return -1;
	}
	/* No compression (CRIME), no renegotiation; a TCP close without
	 * close_notify is an end of stream like any other (tls.h). */
	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION |
					 SSL_OP_IGNORE_UNEXPECTED_EOF);
	/* Partial writes and a moving buffer: core/conn hands out the front of
	 * its output buffer, which may grow and move between retries. Idle
	 * connections give their record buffers back. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
				      SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_RELEASE_BUFFERS);
	/* Fewer read syscalls; core/conn keeps reading while SSL has input. */
	SSL_CTX_set_read_ahead(ctx, 1);
	return 1;
}

/* ---- loading ---- */

/* Never prompt for a passphrase: refuse, and remember that one was asked. */
static int
tls_no_passphrase(char *buf, int size, int rwflag, void *ctx)
{
	*(bool *)ctx = true;
	return -1;
}

static BIO *
tls_open_file(const char *path, const char *what, const char **error_r)
{
	FILE *f = fopen(path, "r");
	BIO *bio;

	if (f == NULL) {
		*error_r = tls_error_printf("cannot open %s %s: %s", what, path, strerror(errno));
		return NULL;
	}
	bio = BIO_new_fp(f, BIO_CLOSE);
	if (bio == NULL)
		PANIC("BIO_new_fp failed");
	return bio;
}

/* The certificate and the chain after it (PEM, leaf first) into ctx. */
static int
tls_load_chain(SSL_CTX *ctx, const char *path, const char **error_r)
{
	char ssl_err[512];
	BIO *bio = tls_open_file(path, "certificate file", error_r);
	X509 *x;
	int ret = 1;

	if (bio == NULL)
		return -1;
	x = PEM_read_bio_X509_AUX(bio, NULL, NULL, NULL);
	if (x == NULL && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE) {
		ERR_clear_error();
		*error_r = tls_error_printf("no PEM certificate in %s", path);
		BIO_free(bio);
		return -1;
	}
	if (x == NULL || SSL_CTX_use_certificate(ctx, x) != 1) {
		tls_error_format(ssl_err, sizeof(ssl_err), NULL);
		*error_r = tls_error_printf("no usable certificate in %s: %s", path, ssl_err);
		X509_free(x);
		BIO_free(bio);
		return -1;
	}
	X509_free(x);
	SSL_CTX_clear_chain_certs(ctx);
	while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, x) != 1) {
			X509_free(x);
			ret = -1;
			break;
		}
	}
	/* the loop ends with "no start line" at the end of the file */
	if (ret == 1 && ERR_GET_REASON(ERR_peek_last_error()) == PEM_R_NO_START_LINE)
		ERR_clear_error();
	if (ret < 0 || ERR_peek_error() != 0) {
		tls_error_format(ssl_err, sizeof(ssl_err), NULL);
		*error_r = tls_error_printf("bad chain certificate in %s: %s", path, ssl_err);
		ret = -1;
	}
	BIO_free(bio);
	return ret;
}

static EVP_PKEY *
tls_load_key(const char *path, const char **error_r)
{
	char ssl_err[512];
	bool asked = false;
	BIO *bio = tls_open_file(path, "key file", error_r);
	EVP_PKEY *key;

	if (bio == NULL)
		return NULL;
	key = PEM_read_bio_PrivateKey(bio, NULL, tls_no_passphrase, &asked);
	BIO_free(bio);
	if (key != NULL)
		return key;
	tls_error_format(ssl_err, sizeof(ssl_err), NULL);
	if (asked)
		*error_r = tls_error_printf("private key %s is encrypted (not supported)", path);
	else
		*error_r = tls_error_printf("no usable private key in %s (want a PEM key): %s",
					    path, ssl_err);
	return NULL;
}

/* A configured SSL_CTX with the certificate chain and key of these files. */
static SSL_CTX *
tls_server_ssl_ctx_new(const char *cert_file, const char *key_file, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	EVP_PKEY *key = NULL;

	if (ctx == NULL) {
		*error_r = tls_error_take("SSL_CTX_new");
		return NULL;
	}
	if (tls_ssl_ctx_setup(ctx, error_r) < 0 || tls_load_chain(ctx, cert_file, error_r) < 0 ||
	    (key = tls_load_key(key_file, error_r)) == NULL)
		goto fail;
	if (X509_check_private_key(SSL_CTX_get0_certificate(ctx), key) != 1) {
		ERR_clear_error();
		*error_r = tls_error_printf("private key %s does not match the certificate in %s",
					    key_file, cert_file);
		goto fail;
	}
	if (SSL_CTX_use_PrivateKey(ctx, key) != 1) {
		*error_r = tls_error_take("SSL_CTX_use_PrivateKey");
		goto fail;
	}
	EVP_PKEY_free(key);
	SSL_CTX_set_session_id_context(ctx, (const unsigned char *)TLS_SESSION_ID_CONTEXT,
				       sizeof(TLS_SESSION_ID_CONTEXT) - 1);
	return ctx;
fail:
	EVP_PKEY_free(key);
	SSL_CTX_free(ctx);
	return NULL;
}

/* ---- SNI ---- */

/* "mail.example.com" or "*.example.com": letters, digits, '-', '.', '_'. */
static bool
tls_sni_name_valid(const char *name)
{
	size_t len = strlen(name);

	if (name[0] == '*') {
		if (name[1] != '.')
			return false;
		name += 2;
		len -= 2;
	}
	if (len == 0 || len > 253 || name[0] == '.' || name[len - 1] == '.' ||
	    strstr(name, "..") != NULL)
		return false;
	return strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._") ==
	       len;
}

/* Does name match the entry pattern (exact, or "*." and exactly one label)? */
static bool
tls_sni_match(const char *pattern, const char *name)
{
	size_t plen, nlen;

	if (pattern[0] != '*')
		return strcasecmp(pattern, name) == 0;
	plen = strlen(pattern + 1); /* ".example.com" */
	nlen = strlen(name);
	if (nlen <= plen || strcasecmp(name + nlen - plen, pattern + 1) != 0)
		return false;
	return memchr(name, '.', nlen - plen) == NULL;
}

static SSL_CTX *
tls_sni_find(const struct tls_server_ctx *sctx, const char *name)
{
	for (size_t i = 0; i < sctx->sni_count; i++) {
		if (sctx->sni[i].hostname[0] != '*' && tls_sni_match(sctx->sni[i].hostname, name))
			return sctx->sni[i].ssl_ctx;
	}
	for (size_t i = 0; i < sctx->sni_count; i++) {
		if (sctx->sni[i].hostname[0] == '*' && tls_sni_match(sctx->sni[i].hostname, name))
			return sctx->sni[i].ssl_ctx;
	}
	return NULL;
}

/* Servername callback: switch to the SNI entry's certificate. An unknown
 * name gets the default certificate, not an alert: clients often send a
 * name we did not configure (an MX name, an IP). */
static int
tls_sni_cb(SSL *ssl, int *alert, void *arg)
{
	const struct tls_server_ctx *sctx = arg;
	const char *name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
	SSL_CTX *ctx;

	if (name == NULL || sctx->sni_count == 0)
		return SSL_TLSEXT_ERR_OK;
	ctx = tls_sni_find(sctx, name);
	if (ctx != NULL && SSL_set_SSL_CTX(ssl, ctx) == NULL) {
		ERR_clear_error();
		*alert = SSL_AD_INTERNAL_ERROR;
		return SSL_TLSEXT_ERR_ALERT_FATAL;
	}
	return SSL_TLSEXT_ERR_OK;
}

static int
tls_server_ctx_add_sni(struct tls_server_ctx *sctx, const struct tls_sni_entry *e,
		       const char **error_r)
{
	struct tls_sni_ctx *s = &sctx->sni[sctx->sni_count];

	if (e->hostname == NULL || !tls_sni_name_valid(e->hostname)) {
		*error_r = tls_error_printf("bad SNI host name '%s'",
					    e->hostname == NULL ? "" : e->hostname);
		return -1;
	}
	s->ssl_ctx = tls_server_ssl_ctx_new(e->cert_file, e->key_file, error_r);
	if (s->ssl_ctx == NULL)
		return -1;
	s->hostname = mem_strdup(e->hostname);
	for (char *p = s->hostname; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	sctx->sni_count++;
	return 1;
}

/* ---- contexts ---- */

static void
tls_server_ctx_destroy(struct tls_server_ctx *sctx)
{
	for (size_t i = 0; i < sctx->sni_count; i++) {
		SSL_CTX_free(sctx->sni[i].ssl_ctx);
		mem_free(&sctx->sni[i].hostname);
	}
	mem_free(&sctx->sni);
	SSL_CTX_free(sctx->ssl_ctx);
	mem_free(&sctx);
}

struct tls_server_ctx *
tls_server_ctx_new(const struct tls_server_settings *set, const char **error_r)
{
	struct tls_server_ctx *sctx;

	if (set->cert_file == NULL || set->key_file == NULL) {
		*error_r = "no certificate or key file given";
		return NULL;
	}
	sctx = mem_zalloc(sizeof(*sctx));
	atomic_init(&sctx->refcount, 1);
	sctx->ssl_ctx = tls_server_ssl_ctx_new(set->cert_file, set->key_file, error_r);
	if (sctx->ssl_ctx == NULL) {
		tls_server_ctx_destroy(sctx);
		return NULL;
	}
	if (set->sni_count > 0)
		sctx->sni = mem_array(set->sni_count, sizeof(*sctx->sni));
	for (size_t i = 0; i < set->sni_count; i++) {
		if (tls_server_ctx_add_sni(sctx, &set->sni[i], error_r) < 0) {
			tls_server_ctx_destroy(sctx);
			return NULL;
		}
	}
	SSL_CTX_set_tlsext_servername_callback(sctx->ssl_ctx, tls_sni_cb);
	SSL_CTX_set_tlsext_servername_arg(sctx->ssl_ctx, sctx);
	return sctx;
}

void
tls_server_ctx_ref(struct tls_server_ctx *sctx)
{
	atomic_fetch_add(&sctx->refcount, 1);
}

void
tls_server_ctx_unref(struct tls_server_ctx **sctxp)
{
	struct tls_server_ctx *sctx = *sctxp;

	if (sctx == NULL)
		return;
	*sctxp = NULL;
	if (atomic_fetch_sub(&sctx->refcount, 1) == 1)
		tls_server_ctx_destroy(sctx);
}
