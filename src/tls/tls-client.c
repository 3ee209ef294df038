/*
 * tls-client.c - the client context for the outbound SMTP client.
 *
 * Does: the policy of tls.h, trust anchors (a PEM file or the system's
 * store), and either enforced verification or opportunistic TLS where the
 * verification result is only recorded (RFC 7435).
 * DANE (RFC 7672 3): one context for every DANE connection
 * (tls_client_dane_ctx_new: SSL_CTX_dane_enable once, no trust store, the
 * TLSA records are the only anchors); the records themselves belong to each
 * connection (tls_client_conn_new_dane in tls-conn.c, which owns the SSL
 * object: SSL_dane_enable, SSL_dane_tlsa_add).
 *
 * Does not: MTA-STS or REQUIRETLS policy (the queue decides what to
 * require), client certificates, session resumption across connections,
 * the TLSA lookup itself (dns/).
 *
 * Invariant: a context with dane set carries no records and no trust
 * anchors; only tls_client_conn_new_dane() makes connections on it.
 */
#include "tls/tls-private.h"

#include <openssl/err.h>
#include <string.h>

#include "core/mem.h"

struct tls_client_ctx *
tls_client_ctx_new(const struct tls_client_settings *set, const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct tls_client_ctx *cctx;
	char ssl_err[512];
	int ok;

	if (ctx == NULL) {
		*error_r = tls_error_take("SSL_CTX_new");
		return NULL;
	}
	if (tls_ssl_ctx_setup(ctx, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (set->ca_file != NULL)
		ok = SSL_CTX_load_verify_file(ctx, set->ca_file);
	else
		ok = SSL_CTX_set_default_verify_paths(ctx);
	if (ok != 1) {
		tls_error_format(ssl_err, sizeof(ssl_err), NULL);
		*error_r = tls_error_printf("cannot load trust anchors from %s: %s",
					    set->ca_file != NULL ? set->ca_file : "the system store",
					    ssl_err);
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* With SSL_VERIFY_NONE OpenSSL still verifies and records the result
	 * (SSL_get_verify_result), which tls_conn_peer_verified() reports. */
	SSL_CTX_set_verify(ctx, set->verify ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
	cctx = mem_zalloc(sizeof(*cctx));
	atomic_init(&cctx->refcount, 1);
	cctx->ssl_ctx = ctx;
	return cctx;
}

void
tls_client_ctx_ref(struct tls_client_ctx *cctx)
{
	atomic_fetch_add(&cctx->refcount, 1);
}

void
tls_client_ctx_unref(struct tls_client_ctx **cctxp)
{
	struct tls_client_ctx *cctx = *cctxp;

	if (cctx == NULL)
		return;
	*cctxp = NULL;
	if (atomic_fetch_sub(&cctx->refcount, 1) != 1)
		return;
	SSL_CTX_free(cctx->ssl_ctx);
	mem_free(&cctx);
}

bool
tls_dane_tlsa_usable(const struct tls_dane_tlsa *t)
{
	/* RFC 7672 3.1.3: PKIX-TA(0) and PKIX-EE(1) are unusable for SMTP */
	if (t->usage != 2 && t->usage != 3)
		return false;
	if (t->selector > 1)
		return false;
	switch (t->mtype) {
	case 0:
		return t->data_len > 0;
	case 1:
		return t->data_len == 32;
	case 2:
		return t->data_len == 64;
	default:
		return false;
	}
}

struct tls_client_ctx *
tls_client_dane_ctx_new(const char **error_r)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	struct tls_client_ctx *cctx;

	if (ctx == NULL) {
		*error_r = tls_error_take("SSL_CTX_new");
		return NULL;
	}
	if (tls_ssl_ctx_setup(ctx, error_r) < 0) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* the digests of RFC 6698 2.1.3 (SHA2-256, SHA2-512) are OpenSSL's
	 * defaults here; no trust store is loaded: RFC 7672 3.1 makes the
	 * TLSA records the only anchors */
	if (SSL_CTX_dane_enable(ctx) <= 0) {
		*error_r = tls_error_take("DANE setup");
		SSL_CTX_free(ctx);
		return NULL;
	}
	/* the outcome is checked after the handshake (tls_conn_peer_verified) */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, tls_conn_dane_verify_cb);
	cctx = mem_zalloc(sizeof(*cctx));
	atomic_init(&cctx->refcount, 1);
	cctx->ssl_ctx = ctx;
	cctx->dane = true;
	return cctx;
}
