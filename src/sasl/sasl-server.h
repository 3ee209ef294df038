/*
 * sasl-server.h - server side of SASL (RFC 4422) for SMTP AUTH (RFC 4954),
 * IMAP AUTHENTICATE (RFC 9051 6.2.2) and POP3 AUTH (RFC 5034).
 *
 * What it does: runs one mechanism exchange as a pure state machine. The
 * protocol engine base64-decodes each client response, feeds it to
 * sasl_server_step() and base64-encodes each challenge it gets back. When the
 * mechanism needs the world (check a password, fetch a stored SCRAM secret),
 * step returns SASL_STEP_NEED_*; the engine then asks its glue through its own
 * asynchronous auth hook, hands the answer to sasl_server_provide_*() and
 * calls sasl_server_step() again with no input to continue.
 *
 * Mechanisms: PLAIN (RFC 4616), LOGIN (draft-murchison-sasl-login),
 * SCRAM-SHA-256 and SCRAM-SHA-256-PLUS (RFC 5802, RFC 7677; channel binding
 * tls-exporter per RFC 9266, tls-server-end-point per RFC 5929 for clients
 * that ask for it; tls-unique is refused, RFC 9266 3).
 *
 * What it does not do: I/O, base64 framing, logging, policy (which
 * mechanisms are offered where, and whether the authorization identity may
 * differ: it never may; a foreign authzid fails the exchange). No SASLprep
 * (RFC 4013): identities and passwords are compared octet by octet; the only
 * part of it applied is the refusal of control characters in identities
 * (sasl-text.h). A SCRAM client whose SASLprep changes a non-ASCII password
 * (mapping, NFKC) derives other keys than the stored ones and fails.
 *
 * Invariants: passwords and secrets are wiped when the object is freed or no
 * longer needs them; every failure is reported as SASL_STEP_FAILURE without
 * saying whether the user exists (only *error_r, for the log, does); every
 * client response is bounded by SASL_SERVER_MAX_MESSAGE and every field in
 * it by its own limit; after SUCCESS or FAILURE the exchange is over and
 * every further step fails.
 */
#ifndef SASL_SASL_SERVER_H
#define SASL_SASL_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct sasl_server;

/* Longest decoded client response accepted by sasl_server_step(). The
 * longest legitimate one (a SCRAM client-first with an escaped 255-octet
 * user name and authzid, and a long nonce) is far below. */
#define SASL_SERVER_MAX_MESSAGE 8192

/* Mechanism properties, for building capability lists. */
#define SASL_MECH_PLAINTEXT 0x01u /* reveals the password: offer only over TLS */
#define SASL_MECH_NEEDS_CB 0x02u  /* -PLUS: needs channel-binding data */

struct sasl_mech_info {
	const char *name; /* "PLAIN", "LOGIN", "SCRAM-SHA-256", "SCRAM-SHA-256-PLUS" */
	unsigned flags;
};

/* All mechanisms, strongest first, NULL-terminated. Static. */
const struct sasl_mech_info *const *sasl_mechanisms(void);
/* Case-insensitive lookup; NULL when unknown. */
const struct sasl_mech_info *sasl_mechanism_find(const char *name);

/* Channel binding of the current TLS connection (RFC 5056). Data is copied. */
struct sasl_channel_binding {
	const uint8_t *tls_exporter; /* RFC 9266: 32 bytes, NULL when not TLS 1.3 or no TLS */
	size_t tls_exporter_len;
	const uint8_t *tls_server_end_point; /* RFC 5929 hash of our certificate, NULL if none */
	size_t tls_server_end_point_len;
};

/* Start an exchange. cb may be NULL (no TLS), or have both members NULL:
 * then a -PLUS mechanism fails at its first step and SCRAM without -PLUS
 * accepts only the "n" GS2 flag, or "y" (client supports binding but thinks
 * the server does not). When any channel-binding data is present, "y" fails
 * (RFC 5802 6: a downgrade). Returns NULL for an unknown name; free the
 * object with sasl_server_free(). */
struct sasl_server *sasl_server_new(const char *mech_name, const struct sasl_channel_binding *cb);
/* Wipe every secret, free everything and set *s to NULL. NULL is a no-op. */
void sasl_server_free(struct sasl_server **s);

enum sasl_step_result {
	SASL_STEP_CHALLENGE,      /* send *out as a challenge, wait for the response */
	SASL_STEP_NEED_PASSWORD,  /* verify sasl_server_authcid() + sasl_server_password()
				     (PLAIN, LOGIN), then sasl_server_provide_verified() */
	SASL_STEP_NEED_SECRET,    /* fetch the SCRAM secret of sasl_server_authcid(),
				     then sasl_server_provide_secret() */
	SASL_STEP_SUCCESS,        /* authenticated as sasl_server_authcid(); if *out is not
				     empty it is additional data for the success reply
				     (SCRAM server-final, RFC 4422 3.6) */
	SASL_STEP_FAILURE,        /* failed; *error_r says why, for the log only */
};

/*
 * Feed one client response (already base64-decoded; the initial response of
 * RFC 4422 4 counts as the first), or in == NULL to continue after a
 * provide_*() call or to get the first challenge when there was no initial
 * response. out is emptied first, then receives the next challenge or final
 * data (raw bytes; the engine base64-encodes them); it is empty after a
 * failure. An empty initial response ("=" on the wire, RFC 4422 4) is a
 * zero-length in with in != NULL, and is not the same as none: the mechanism
 * parses it as its first message, and since every mechanism here is
 * client-first and none has a valid empty first message, it fails (an
 * exchange without initial response starts with step(NULL) instead, which
 * gives an empty challenge, or LOGIN's "Username:").
 *
 * Order: after CHALLENGE the next call must carry a response (in != NULL);
 * after NEED_* the next call must be the matching provide_*() and then a step
 * with in == NULL. Any other order fails the exchange, as does a response
 * longer than SASL_SERVER_MAX_MESSAGE or an out too small for the reply.
 * *error_r is set to a static string on FAILURE, else left alone.
 */
enum sasl_step_result sasl_server_step(struct sasl_server *s, const uint8_t *in, size_t in_len,
				       struct buf *out, const char **error_r);

/* After SASL_STEP_NEED_PASSWORD: the glue's verdict. The password is wiped
 * here. Called at any other time, it ends the exchange (the next step
 * returns FAILURE). */
void sasl_server_provide_verified(struct sasl_server *s, bool ok);
/* After SASL_STEP_NEED_SECRET: the stored secret (sasl_scram_secret_make's
 * format; not kept), or NULL when the user is unknown or has none; the
 * exchange then continues with a fake secret and fails at the end, so an
 * unknown user is indistinguishable from a wrong password (RFC 5802 5.1).
 * The fake salt is an HMAC of the user name under a random per-process key:
 * the same for one name within one process, with the default iteration
 * count. A malformed secret is treated as NULL (the final error says so).
 * Out of order, as above. */
void sasl_server_provide_secret(struct sasl_server *s, const char *secret);

/* The authentication identity once known (after the first client response
 * that names it), else NULL. It stays available after SUCCESS or FAILURE,
 * for the log. Owned by s. */
const char *sasl_server_authcid(const struct sasl_server *s);
/* The password during SASL_STEP_NEED_PASSWORD, else NULL. Owned by s. */
const char *sasl_server_password(const struct sasl_server *s);
/* The mechanism's canonical (upper case) name. Static. */
const char *sasl_server_mech_name(const struct sasl_server *s);

/*
 * SCRAM-SHA-256 secret to store beside the yescrypt hash, so that SCRAM works
 * without the plain password: "SCRAM-SHA-256$<iterations>:<base64 salt>$
 * <base64 StoredKey>:<base64 ServerKey>" (PostgreSQL's format; Dovecot keeps
 * the same four values in another syntax). Random 16-byte salt, 10000
 * iterations by default (iterations 0 = default; otherwise 4096..1,000,000).
 * Returns an allocated string (mem_free; not secret, but as sensitive as a
 * password hash) or NULL when the iteration count is out of range or the
 * password is empty, longer than PASSWORD_MAX_LENGTH, not UTF-8 or holds a
 * control character (which SASLprep prohibits, so that no conforming client
 * could log in with it). Slow on purpose: run it on the worker pool.
 */
char *sasl_scram_secret_make(const char *password, unsigned iterations);

#endif
