/*
 * sasl-server-private.h - what sasl-server.c shares with the mechanism
 * files (sasl-scram.c). Not for use outside src/sasl/.
 *
 * sasl-server.c owns the generic order of calls (which call may come when,
 * see sasl_server_step() in sasl-server.h); a mechanism's step function sees
 * only calls that respect it, and keeps its own position in s->phase.
 */
#ifndef SASL_SASL_SERVER_PRIVATE_H
#define SASL_SASL_SERVER_PRIVATE_H

#include "sasl/sasl-server.h"

struct buf;
struct sasl_scram;

/* What the next call must be. */
enum sasl_server_wait {
	SASL_SERVER_WAIT_FIRST,    /* nothing yet: initial response or step(NULL) */
	SASL_SERVER_WAIT_RESPONSE, /* a challenge is out: step(response) */
	SASL_SERVER_WAIT_PASSWORD, /* NEED_PASSWORD returned: provide_verified() */
	SASL_SERVER_WAIT_SECRET,   /* NEED_SECRET returned: provide_secret() */
	SASL_SERVER_WAIT_CONTINUE, /* provided: step(NULL) */
	SASL_SERVER_DONE,          /* over; misuse says why when it ended by a bad call */
};

struct sasl_mech {
	struct sasl_mech_info info;
	/* one step; sees only calls in the order sasl_server_step() allows */
	enum sasl_step_result (*step)(struct sasl_server *s, const uint8_t *in, size_t in_len,
				      struct buf *out, const char **error_r);
	bool scram; /* has a struct sasl_scram */
};

struct sasl_server {
	const struct sasl_mech *mech;
	enum sasl_server_wait wait;
	int phase;           /* the mechanism's own state */
	const char *misuse;  /* error of an out-of-order provide_*() */
	char *authcid;       /* once known */
	char *password;      /* PLAIN, LOGIN: until the verdict; wiped */
	bool verified;       /* the verdict */

	/* copies of struct sasl_channel_binding; NULL when absent */
	uint8_t *cb_exporter, *cb_end_point;
	size_t cb_exporter_len, cb_end_point_len;

	struct sasl_scram *scram;
};

/* Longest identity (user name, authzid) in octets, as for PLAIN (RFC 4616 2). */
#define SASL_SERVER_MAX_IDENTITY 255

/* Check an identity: 1..SASL_SERVER_MAX_IDENTITY octets of UTF-8 without
 * control characters (and so without NUL). Returns 0, or -1 and *error_r. */
int sasl_server_check_identity(const uint8_t *p, size_t len, const char **error_r);

/* Set s->authcid to a copy of p[0..len) (checked already). */
void sasl_server_set_authcid(struct sasl_server *s, const uint8_t *p, size_t len);

/* SCRAM (sasl-scram.c). */
enum sasl_step_result sasl_scram_step(struct sasl_server *s, const uint8_t *in, size_t in_len,
				      struct buf *out, const char **error_r);
/* A new SCRAM state; plus for SCRAM-SHA-256-PLUS. */
struct sasl_scram *sasl_scram_new(bool plus);
/* Wipe and free; set *scram to NULL. NULL is a no-op. */
void sasl_scram_free(struct sasl_scram **scram);
/* Take the stored secret (NULL: unknown user) during SASL_SERVER_WAIT_SECRET. */
void sasl_scram_provide_secret(struct sasl_server *s, const char *secret);

#endif
