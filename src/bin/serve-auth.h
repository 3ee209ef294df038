/*
 * serve-auth.h - the glue's side of authentication, shared by SMTP AUTH and
 * POP3: look up the account on a worker thread, verify a password (or fetch
 * the stored SCRAM secret), and slow down failures per client IP.
 *
 * Timing: an unknown user costs the same password hash as a wrong password
 * (password_verify_dummy), and both get the same reply after the same
 * failure delay. A bare user name (no '@') means the default domain.
 *
 * The delay (auth_failure_delay, doubling per failure from the same IP up to
 * auth_failure_delay_max) is applied before the failure is reported, on a
 * loop timer: no thread sleeps. A success from an IP clears its count.
 */
#ifndef BIN_SERVE_AUTH_H
#define BIN_SERVE_AUTH_H

#include <stdbool.h>
#include <stdint.h>

struct server;
struct serve_auth;

enum serve_auth_result {
	SERVE_AUTH_OK,       /* password verified, or secret fetched (maybe NULL) */
	SERVE_AUTH_FAILED,   /* wrong password or unknown user */
	SERVE_AUTH_TEMPFAIL, /* store error */
};

/* secret: the SCRAM secret for a secret lookup (NULL when the user is unknown
 * or has none; then the SASL exchange fails at its end). account_id/address:
 * the account found (0 / NULL when none). All valid only during the call. */
typedef void serve_auth_cb(void *ctx, enum serve_auth_result result, const char *secret,
			   uint64_t account_id, const char *address);

/* Start a lookup: password != NULL verifies it, NULL fetches the secret.
 * cb runs later on the loop, exactly once unless cancelled. */
struct serve_auth *serve_auth_start(struct server *srv, const char *client_ip,
				    const char *authcid, const char *password,
				    serve_auth_cb *cb, void *ctx);
/* The requester went away: cb will not be called. Sets *auth to NULL. */
void serve_auth_cancel(struct serve_auth **auth);
/* A SASL exchange whose verdict the engine made (SCRAM) ended: clear the
 * IP, or count the failure and return how long to hold the connection
 * (conn_hold) before the failure reply goes out. */
uint64_t serve_auth_report(struct server *srv, const char *client_ip, bool success);

#endif
