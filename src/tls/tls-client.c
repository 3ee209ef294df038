/*
 * tls-client.c - the client context for the outbound SMTP client.
 *
 * Does: the policy of tls.h, trust anchors (a PEM file or the system's
 * store), and either enforced verification or opportunistic TLS where the
 * verification result is only recorded (RFC 7435).
 * Does not: DANE or MTA-STS (the queue decides what to require), client
 * certificates, session resumption across connections.
 */
#include "tls/tls-private.h"

#include <openssl/err.h>

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
