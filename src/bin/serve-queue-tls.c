/*
 * serve-queue-tls.c - the TLS a next hop must offer (serve-queue-private.h,
 * struct queue_tls_need), and the TLS client connection set up for it.
 *
 * Today: the configured level (smtp_outbound_tls) for every host, the
 * certificate is not checked (opportunistic TLS, RFC 7435 and RFC 7672 1.3:
 * unauthenticated encryption beats plain text).
 *
 * Does not (yet): DANE (RFC 7672), MTA-STS (RFC 8461) or REQUIRETLS
 * (RFC 8689); those decide a stronger level here from data the route
 * lookup (serve-queue-route.c) gathered.
 */
#include "bin/serve-queue-private.h"

void
queue_tls_need_for_host(struct delivery *d)
{
	enum smtp_client_tls_policy p = d->q != NULL ? d->q->set.tls : SMTP_CLIENT_TLS_NONE;

	d->tls_need.level = p == SMTP_CLIENT_TLS_REQUIRED	   ? QUEUE_TLS_ENCRYPT
			    : p == SMTP_CLIENT_TLS_OPPORTUNISTIC ? QUEUE_TLS_MAY
								 : QUEUE_TLS_NONE;
}

void
queue_tls_need_clear(struct delivery *d)
{
	d->tls_need.level = QUEUE_TLS_NONE;
	d->tls_need.policy = NULL;
}

struct tls_conn *
queue_tls_conn_new(struct delivery *d, int fd)
{
	if (d->q == NULL || d->q->tls == NULL)
		return NULL;
	return tls_client_conn_new(d->q->tls, fd, d->host);
}

bool
queue_tls_conn_ok(struct delivery *d, struct tls_conn *t, const char **reason_r)
{
	(void)d;
	(void)t;
	*reason_r = NULL;
	return true;
}
