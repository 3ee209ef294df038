/*
 * tls.h - TLS with OpenSSL 3 for Posthorn: server contexts (certificate
 * chain, SNI), per-connection transports for core/conn (STARTTLS, RFC 3207
 * and RFC 2595; implicit TLS, RFC 8314), a small client side for the
 * outbound SMTP client, channel bindings for SCRAM-PLUS, and the
 * self-signed certificate that `posthorn init` creates.
 *
 * Does not: open sockets, run an event loop (core/conn drives the
 * transport), log, read configuration, or check client certificates.
 *
 * Policy (both sides): TLS 1.2 and 1.3 only; for TLS 1.2 only ECDHE key
 * exchange with AES-GCM or CHACHA20-POLY1305; TLS 1.3 cipher suites are
 * OpenSSL's defaults; no compression, no renegotiation; session tickets on.
 * A peer closing the TCP connection without close_notify is an ordinary end
 * of stream: SMTP, IMAP and POP3 frame their own data, so truncation is seen
 * by the protocol.
 *
 * Errors: functions that fail return NULL or -1 with *error_r set to text
 * that names the file or the operation and carries OpenSSL's reasons. Such a
 * string lives in a per-thread buffer valid until the next tls_ call from
 * the same thread; copy it to keep it. No function leaves anything in
 * OpenSSL's (per-thread) error queue.
 *
 * Threads: a server or client context may be shared by threads (its
 * reference count is atomic); a tls_conn belongs to one thread at a time.
 * Writes go through the socket without MSG_NOSIGNAL: the process must
 * ignore SIGPIPE (posthorn serve does).
 */
#ifndef TLS_TLS_H
#define TLS_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct conn_transport_ops;
struct tls_server_ctx;
struct tls_client_ctx;
struct tls_conn;

/* ---- server contexts ---- */

/* One certificate selected by the name the client sends (SNI, RFC 6066 3). */
struct tls_sni_entry {
	/* "mail.example.com" (exact, case-insensitive) or "*.example.com"
	 * (exactly one more label: a.example.com, not example.com and not
	 * a.b.example.com). Exact entries win over wildcards. */
	const char *hostname;
	const char *cert_file; /* PEM: the certificate, then its chain */
	const char *key_file;  /* PEM private key, not encrypted */
};

struct tls_server_settings {
	const char *cert_file; /* default certificate (no or unknown SNI) */
	const char *key_file;
	const struct tls_sni_entry *sni; /* may be NULL when sni_count is 0 */
	size_t sni_count;
};

/* Load every certificate and key (at once: errors show at startup or
 * reload, not at the first client). Returns a context with one reference,
 * or NULL with *error_r: an unreadable file, no certificate in the file, an
 * encrypted key, a key that does not match its certificate (naming both
 * files), a bad SNI hostname. The settings are not kept. */
struct tls_server_ctx *tls_server_ctx_new(const struct tls_server_settings *set,
					  const char **error_r);
/* Another reference. Every connection holds one, so a reload can drop the
 * old context while its connections go on. */
void tls_server_ctx_ref(struct tls_server_ctx *ctx);
/* Drop a reference and set *ctx to NULL; the last one frees the context. */
void tls_server_ctx_unref(struct tls_server_ctx **ctx);

/* ---- client context (outbound SMTP) ---- */

struct tls_client_settings {
	/* Fail the handshake unless the server's chain verifies and matches
	 * the host name given to tls_client_conn_new(). When false the
	 * handshake goes on (opportunistic TLS, RFC 7435) and the outcome is
	 * available from tls_conn_peer_verified(). */
	bool verify;
	const char *ca_file; /* PEM trust anchors; NULL = the system's store */
};

/* A client context with one reference, or NULL with *error_r (unreadable
 * ca_file, no system store). */
struct tls_client_ctx *tls_client_ctx_new(const struct tls_client_settings *set,
					  const char **error_r);
void tls_client_ctx_ref(struct tls_client_ctx *ctx);
void tls_client_ctx_unref(struct tls_client_ctx **ctx);

/* ---- connections ---- */

/* A server-side TLS connection on the connected, non-blocking socket fd
 * (not owned: it is never closed here). Holds a reference to ctx until
 * freed. Never NULL (allocation failure ends the process). Hand it to
 * conn_set_transport(c, tls_conn_transport_ops(), tc), which then owns it;
 * or free it with tls_conn_free() if it was never handed over. */
struct tls_conn *tls_server_conn_new(struct tls_server_ctx *ctx, int fd);
/* The client side, for the outbound SMTP client. host (may be NULL) is sent
 * as SNI unless it is an IP address literal, and is the name (or address)
 * the server's certificate is checked against. */
struct tls_conn *tls_client_conn_new(struct tls_client_ctx *ctx, int fd, const char *host);
/* One TLSA record (RFC 6698 2.1) for tls_client_conn_new_dane(). data is
 * the association data (not copied beyond the call). */
struct tls_dane_tlsa {
	uint8_t usage;    /* 2 DANE-TA, 3 DANE-EE; 0 and 1 (PKIX) are unusable for SMTP */
	uint8_t selector; /* 0 full certificate, 1 SubjectPublicKeyInfo */
	uint8_t mtype;    /* 0 exact, 1 SHA2-256, 2 SHA2-512 */
	const uint8_t *data;
	size_t data_len;
};

/* The client context for DANE (RFC 7672 3), built once and shared by every
 * DANE connection (its reference count as above): OpenSSL's DANE enabled on
 * it (SSL_CTX_dane_enable), no trust anchors at all (the TLSA records of
 * each connection are its only ones), and a handshake that completes
 * whether or not a record matched (the outcome is asked afterwards). Only
 * tls_client_conn_new_dane() may use it. NULL with *error_r. */
struct tls_client_ctx *tls_client_dane_ctx_new(const char **error_r);

/* A client connection on ctx (from tls_client_dane_ctx_new(); any other
 * context is refused) authenticated by DANE instead of trust anchors: the
 * records are attached to this connection alone (SSL_dane_enable,
 * SSL_dane_tlsa_add), so one context serves connections with different
 * records at the same time. The server's chain must match one of the usable
 * records (DANE-EE(3): the leaf, names ignored, RFC 7672 3.1.1; DANE-TA(2):
 * a certificate of the chain as trust anchor, and then the leaf must carry
 * base_domain, the TLSA base domain, as reference identifier, RFC 7672
 * 3.2.2). base_domain is also sent as SNI (RFC 7672 8.1). The handshake
 * completes whether or not a record matched: ask tls_conn_peer_verified()
 * afterwards (its reason then says e.g. "No matching DANE TLSA records").
 * Records with usage 0 or 1 (RFC 7672 3.1.3), unknown parameters or data of
 * the wrong length are skipped; so are records OpenSSL refuses (then, with
 * none taken, the peer never counts as verified). Returns the connection
 * (owned by the caller as for tls_client_conn_new), or NULL with *error_r
 * (static text, or the per-thread buffer) when no record is usable, ctx is
 * not a DANE context, or OpenSSL cannot set DANE up for base_domain. */
struct tls_conn *tls_client_conn_new_dane(struct tls_client_ctx *ctx, int fd,
					  const char *base_domain,
					  const struct tls_dane_tlsa *tlsa, size_t n,
					  const char **error_r);
/* Whether a TLSA record would be used by tls_client_conn_new_dane() for SMTP:
 * usage DANE-TA(2) or DANE-EE(3), selector 0 or 1, matching type 0, 1 or 2
 * with data of the length the type requires (RFC 7672 3.1.3, RFC 7671 5). */
bool tls_dane_tlsa_usable(const struct tls_dane_tlsa *tlsa);

/* The conn_transport_ops of a tls_conn (static, never freed). */
const struct conn_transport_ops *tls_conn_transport_ops(void);
/* Free a tls_conn not owned by a conn; sets *conn to NULL. Sends nothing. */
void tls_conn_free(struct tls_conn **conn);

/* The text of the last failure of this connection (handshake, read, write),
 * "" if none. Valid until the next call on conn. */
const char *tls_conn_error(const struct tls_conn *conn);

/* After the handshake (else NULL or 0): "TLSv1.3", "TLS_AES_256_GCM_SHA384",
 * the cipher's secret bits (256). Strings are static. */
const char *tls_conn_version(const struct tls_conn *conn);
const char *tls_conn_cipher(const struct tls_conn *conn);
int tls_conn_cipher_bits(const struct tls_conn *conn);
/* Server side: the host name the client asked for with SNI, or NULL (client
 * text: sanitise it before logging). Client side: the name we sent, or
 * NULL. Valid while conn lives. */
const char *tls_conn_sni(const struct tls_conn *conn);
/* Client side: true when the server's chain verified against the trust
 * anchors and matched the host name; otherwise false with *reason_r (may
 * be NULL) set to static text. */
bool tls_conn_peer_verified(const struct tls_conn *conn, const char **reason_r);

/* ---- channel bindings (SCRAM-PLUS, RFC 5802 6) ---- */

#define TLS_EXPORTER_CB_LEN 32
#define TLS_SERVER_END_POINT_MAX 64

/* RFC 9266 tls-exporter: the 32-byte exporter value with the label
 * "EXPORTER-Channel-Binding" and no context. 1 ok, -1 when the handshake
 * is not done or the protocol is not TLS 1.3 (RFC 9266 3 defines it for
 * TLS 1.3; for TLS 1.2 without extended master secret it is unsafe). */
int tls_conn_exporter_cb(struct tls_conn *conn, uint8_t out[TLS_EXPORTER_CB_LEN]);
/* RFC 5929 4 tls-server-end-point: the hash of the server's certificate
 * (ours on the server side, the peer's on the client side) with the hash
 * of the certificate's signature algorithm, SHA-256 when that is MD5 or
 * SHA-1. out has room for TLS_SERVER_END_POINT_MAX bytes; *len_r gets the
 * length. 1 ok, -1 no certificate yet, or an algorithm without one hash
 * (Ed25519: undefined by RFC 5929). */
int tls_conn_server_end_point(struct tls_conn *conn, uint8_t out[TLS_SERVER_END_POINT_MAX],
			      size_t *len_r);

/* ---- setup ---- */

/* For `posthorn init`: a new EC P-256 key (file mode 0600) and an X.509 v3
 * certificate signed by it, valid for 10 years, CN=hostname, with
 * subjectAltName DNS:hostname, DNS:localhost, IP:127.0.0.1, IP:::1. Each
 * file is written to a temporary name, synced and renamed into place (key
 * first). 1 ok, -1 with *error_r (bad hostname, cannot write). */
int tls_make_self_signed(const char *hostname, const char *cert_path, const char *key_path,
			 const char **error_r);

/* ---- errors ---- */

/* Take this thread's OpenSSL error queue as one line, "what: reason;
 * reason" (what may be NULL), and clear the queue. Returns the per-thread
 * buffer described above; "what: unknown error" when the queue was empty. */
const char *tls_error_take(const char *what);

#endif
