/*
 * tls-private.h - what the files of src/tls share and nothing else may use.
 *
 * Invariant: every OpenSSL call that can fail is followed, on the failure
 * path, by tls_error_format()/tls_error_take() or ERR_clear_error(), so the
 * per-thread error queue is empty whenever a tls_ function returns.
 */
#ifndef TLS_TLS_PRIVATE_H
#define TLS_TLS_PRIVATE_H

#include <openssl/ssl.h>
#include <stdatomic.h>

#include "tls/tls.h"

struct tls_server_ctx {
	atomic_uint refcount;
	SSL_CTX *ssl_ctx; /* default certificate; the SNI callback sits here */
	struct tls_sni_ctx *sni;
	size_t sni_count;
};

struct tls_client_ctx {
	atomic_uint refcount;
	SSL_CTX *ssl_ctx;
	bool dane; /* made by tls_client_dane_ctx_new(): for tls_client_conn_new_dane() only */
};

/* tls-conn.c: the verification callback of the DANE context. It fails a
 * chain that OpenSSL would otherwise pass while the connection has no TLSA
 * record (none taken, or DANE not enabled on it): without trust anchors a
 * connection is verified by its records or not at all. */
int tls_conn_dane_verify_cb(int ok, X509_STORE_CTX *store);

/* Apply the policy of tls.h (protocols, ciphers, options, modes) to ctx.
 * 1 ok, -1 with *error_r. */
int tls_ssl_ctx_setup(SSL_CTX *ctx, const char **error_r);

/* Write "what: reason; reason" from this thread's error queue into dst
 * (always NUL-terminated) and clear the queue. Returns dst. */
char *tls_error_format(char *dst, size_t dstsize, const char *what);

/* Format into the per-thread error buffer of tls.h; returns it. */
const char *tls_error_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
