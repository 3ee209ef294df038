/*
 * tls-client.c - the client context for the outbound SMTP client.
 *
 * Does: the policy of tls.h, trust anchors (a PEM file or the system's
 * store), and either enforced verification or opportunistic TLS where the
 * verification result is only recorded (RFC 7435).
 * DANE (RFC 7672 3) for one connection: tls_client_conn_new_dane() makes
 * a context of its own for that connection (no trust store: the TLSA
 * records are the only anchors) that holds the records, and OpenSSL's DANE
 * (SSL_dane_enable, SSL_dane_tlsa_add) is set up on the connection when its
 * handshake starts (the info callback: tls-conn.c owns the SSL object).
 *
 * Does not: MTA-STS or REQUIRETLS policy (the queue decides what to
 * require), client certificates, session resumption across connections,
 * the TLSA lookup itself (dns/).
 *
 * Invariant: a context with dane set is used by exactly one connection.
 */
#include "tls/tls-private.h"

#include <openssl/err.h>
#include <string.h>

#include "core/mem.h"

/* A DANE context's records, copied (RFC 7672 2.2). */
struct tls_dane_setup {
	char *base_domain;
	struct tls_dane_tlsa *tlsa; /* each data copied */
	size_t n;
	bool applied;
	size_t added; /* records OpenSSL took */
};

static void
tls_dane_setup_free(struct tls_dane_setup **setup)
{
	struct tls_dane_setup *ds = *setup;

	if (ds == NULL)
		return;
	for (size_t i = 0; i < ds->n; i++)
		mem_free(&ds->tlsa[i].data);
	mem_free(&ds->tlsa);
	mem_free(&ds->base_domain);
	mem_free(setup);
}

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
	tls_dane_setup_free(&cctx->dane);
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

/* OpenSSL calls this with a const SSL, but the object is the connection's
 * own, not shared; DANE must be set on it before the ClientHello, which is
 * what SSL_CB_HANDSHAKE_START precedes. */
static void
tls_dane_info_cb(const SSL *cssl, int where, int ret)
{
	SSL *ssl = (SSL *)cssl;
	struct tls_client_ctx *cctx = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	struct tls_dane_setup *ds = cctx != NULL ? cctx->dane : NULL;

	(void)ret;
	if ((where & SSL_CB_HANDSHAKE_START) == 0 || ds == NULL || ds->applied)
		return;
	ds->applied = true;
	/* sets the reference identifier (RFC 7672 3.2.2: the TLSA base
	 * domain) for DANE-TA; SNI was set by tls_client_conn_new() */
	if (SSL_dane_enable(ssl, ds->base_domain) <= 0) {
		ERR_clear_error();
		return; /* no DANE on the connection: verification fails below */
	}
	/* RFC 7672 3.1.1: DANE-EE(3) binds the key, names do not matter */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	for (size_t i = 0; i < ds->n; i++) {
		const struct tls_dane_tlsa *t = &ds->tlsa[i];

		if (SSL_dane_tlsa_add(ssl, t->usage, t->selector, t->mtype, t->data, t->data_len) >
		    0)
			ds->added++;
		else
			ERR_clear_error(); /* unusable: skipped (RFC 7671 5) */
	}
}

/* With nothing matched or DANE not enabled, make the verification fail
 * even without any trust store to fail against. */
static int
tls_dane_verify_cb(int ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_client_ctx *cctx =
		ssl != NULL ? SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl)) : NULL;

	if (ok && (cctx == NULL || cctx->dane == NULL || cctx->dane->added == 0)) {
		X509_STORE_CTX_set_error(store, X509_V_ERR_DANE_NO_MATCH);
		return 0;
	}
	return ok;
}

struct tls_conn *
tls_client_conn_new_dane(int fd, const char *base_domain, const struct tls_dane_tlsa *tlsa,
			 size_t n, const char **error_r)
{
	struct tls_client_ctx *cctx;
	struct tls_dane_setup *ds;
	struct tls_conn *tc;
	SSL_CTX *ctx;
	size_t usable = 0;

	for (size_t i = 0; i < n; i++) {
		if (tls_dane_tlsa_usable(&tlsa[i]))
			usable++;
	}
	if (usable == 0 || base_domain == NULL || base_domain[0] == '\0') {
		*error_r = "no usable TLSA records";
		return NULL;
	}
	ctx = SSL_CTX_new(TLS_client_method());
	if (ctx == NULL || tls_ssl_ctx_setup(ctx, error_r) < 0 || SSL_CTX_dane_enable(ctx) <= 0) {
		if (ctx != NULL)
			SSL_CTX_free(ctx);
		*error_r = tls_error_take("DANE setup");
		return NULL;
	}
	/* the outcome is checked after the handshake (tls_conn_peer_verified) */
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, tls_dane_verify_cb);
	SSL_CTX_set_info_callback(ctx, tls_dane_info_cb);
	ds = mem_zalloc(sizeof(*ds));
	ds->base_domain = mem_strdup(base_domain);
	ds->tlsa = mem_array(usable, sizeof(*ds->tlsa));
	for (size_t i = 0; i < n; i++) {
		struct tls_dane_tlsa *t;

		if (!tls_dane_tlsa_usable(&tlsa[i]))
			continue;
		t = &ds->tlsa[ds->n++];
		*t = tlsa[i];
		t->data = mem_memdup(tlsa[i].data, tlsa[i].data_len);
	}
	cctx = mem_zalloc(sizeof(*cctx));
	atomic_init(&cctx->refcount, 1);
	cctx->ssl_ctx = ctx;
	cctx->dane = ds;
	SSL_CTX_set_app_data(ctx, cctx);
	tc = tls_client_conn_new(cctx, fd, base_domain);
	tls_client_ctx_unref(&cctx); /* the connection holds its own reference */
	return tc;
}
