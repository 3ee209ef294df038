/*
 * serve-queue-tls.h - what serve-queue-route.c gathers for the TLS policy of
 * a hop and its hosts (DNSSEC state of the MX RRset and of the host's
 * addresses, the host's TLSA records), which serve-queue-tls.c turns into
 * d->tls_need. Shared by those two files only.
 *
 * Lifetime: d->tls_route is made on demand (queue_tls_route_get), its host
 * part is reset for every host (queue_tls_route_host_reset), and the whole
 * is freed at the start of every hop and when the delivery is freed
 * (queue_tls_need_clear() with no addresses left, see serve-queue-tls.c).
 */
#ifndef BIN_SERVE_QUEUE_TLS_H
#define BIN_SERVE_QUEUE_TLS_H

#include "bin/serve-queue-private.h"
#include "queue/queue-sts.h"

struct queue_sts_job;

struct queue_tls_route {
	/* the hop */
	bool mx_secure; /* the MX RRset was DNSSEC-secure (RFC 7672 2.2.1) */
	/* the current host (RFC 7672 2.2.2) */
	bool tlsa_secure;      /* its TLSA answer was DNSSEC-secure */
	struct tls_dane_tlsa *tlsa; /* usable records of a secure answer; data owned */
	size_t ntlsa;
	bool tlsa_unusable;    /* a secure DNS_OK answer had records but none usable
				  (RFC 7672 2.2: TLS mandatory, unauthenticated) */
	/* MTA-STS (RFC 8461) of the hop's recipient domain */
	struct queue_sts_policy *sts;  /* the policy in force, or NULL */
	struct queue_sts_job *sts_job; /* its lookup in progress (serve-queue-sts.c), or NULL */
	size_t requiretls_refused;     /* hosts of the hop REQUIRETLS could not authenticate */
	size_t requiretls_unsupported; /* hosts whose EHLO lacked REQUIRETLS (RFC 8689 4.2.1) */
	size_t dns_notfound;           /* hosts of the hop with no address for good (NXDOMAIN or
					  NODATA for A and AAAA, or a bad name): serve-queue-route.c
					  bounces the hop when it reaches the host count */
};

/* d->tls_route, made zeroed when there is none. Never NULL. */
struct queue_tls_route *queue_tls_route_get(struct delivery *d);
/* Forget the host part (a new host of the same hop). */
void queue_tls_route_host_reset(struct delivery *d);
/* Free d->tls_route (NULL is fine). */
void queue_tls_route_free(struct delivery *d);
/* Take the TLSA answer res for the current host: the usable records of a
 * secure DNS_OK answer are kept (copied), and tlsa_unusable notes a secure
 * answer with records of which none is usable; res stays the caller's. */
void queue_tls_route_set_tlsa(struct delivery *d, const struct dns_result *res);

/* serve-queue-tls.c: a client context trusting smtp_outbound_ca_file
 * (relative to config_dir) or the system's CAs; verify as in
 * tls_client_settings. NULL with *error_r. Called once at start-up
 * (q->pkix, q->pkix_verify). */
struct tls_client_ctx *queue_tls_pkix_ctx_new(struct queue_runner *q, bool verify,
					      const char **error_r);

/* Free what the TLS policy code keeps in the runner (q->dane,
 * q->sts_cache). Called once by serve_queue_free(), after every delivery
 * is gone. */
void queue_tls_runner_free(struct queue_runner *q);

/* REQUIRETLS (RFC 8689 4.2.1): may the current host get this entry? True
 * when the entry does not require TLS, or when the host can be
 * authenticated: DANE, an MTA-STS policy in enforce mode that lists it, a
 * DNSSEC-secure MX RRset (PKIX with the MX name), or the configured relay
 * host (PKIX with its name). Else false with *reason_r (static). */
bool queue_tls_requiretls_ok(struct delivery *d, const char **reason_r);

/* serve-queue-route.c: look up the MX of the current hop's domain (after
 * the MTA-STS step). */
void delivery_lookup_mx(struct delivery *d);

/* serve-queue-sts.c: the MTA-STS step of an MX hop (RFC 8461 5): the TXT
 * record, the cached policy (store), a fetch over HTTPS when the id changed
 * or the cache expired, the cache updated; then d->tls_route->sts is the
 * policy in force (or NULL) and delivery_lookup_mx(d) is called. Never
 * calls back from inside this call. */
void queue_sts_hop_start(struct delivery *d);
/* Stop the step in progress (route freed): its callbacks do nothing more. */
void queue_sts_job_cancel(struct queue_sts_job **job);
/* Free the runner's memory cache of policies (q->sts_cache; NULL is fine).
 * Only when no step is in progress (queue_tls_runner_free). */
void queue_sts_cache_free(struct queue_runner *q);

#endif
