/*
 * queue-policy.h - the outbound queue's decisions that need no I/O: when to
 * try a recipient again, when to give up, where a recipient's mail goes
 * (RFC 5321 5.1 over the DNS answers), and what an SMTP reply means for a
 * recipient.
 *
 * Does not: look anything up, connect, or touch the store: the scheduler
 * (bin/ glue) does those and asks this file what follows. Pure functions.
 */
#ifndef QUEUE_QUEUE_POLICY_H
#define QUEUE_QUEUE_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/dns.h"

/* Times in seconds. */
struct queue_policy {
	uint64_t retry_min;     /* first retry after this (default 300) */
	uint64_t retry_max;     /* the retry interval grows up to this (default 14400) */
	uint64_t lifetime;      /* bounce what is still undelivered after this (432000) */
	uint64_t delay_warning; /* send a delay notice after this (14400); 0 = never */
};
void queue_policy_init_default(struct queue_policy *policy);

/* When to try again after the attempts-th failed attempt (attempts >= 1):
 * retry_min doubled per earlier attempt, at most retry_max, but never later
 * than the end of the lifetime (a last try happens right at expiry). */
int64_t queue_next_attempt(const struct queue_policy *policy, int64_t arrival, int64_t now,
			   uint32_t attempts);
/* Has a message that arrived at arrival outlived the queue lifetime? */
bool queue_expired(const struct queue_policy *policy, int64_t arrival, int64_t now);
/* Is a delay notice due (not sent yet is the caller's business)? */
bool queue_delay_warning_due(const struct queue_policy *policy, int64_t arrival, int64_t now);

/*
 * The next hop of a recipient address (RFC 5321 4.1.3, 5.1): the domain
 * after the last '@' (lower-cased), or an address literal "[192.0.2.7]" /
 * "[IPv6:2001:db8::1]", which goes to that address with no DNS.
 */
#define QUEUE_DOMAIN_MAX 255
struct queue_nexthop {
	bool literal;
	char domain[QUEUE_DOMAIN_MAX + 1]; /* domain, or the literal's IP text */
};
/* 0 ok, -1 not a routable address (*error_r static). */
int queue_nexthop_parse(const char *address, struct queue_nexthop *hop_r, const char **error_r);

/* What an MX answer means for delivery (RFC 5321 5.1, RFC 7505). */
enum queue_route_verdict {
	QUEUE_ROUTE_HOSTS,    /* try hosts[] in order */
	QUEUE_ROUTE_IMPLICIT, /* no MX: the domain itself is the host (look up its addresses) */
	QUEUE_ROUTE_TEMPFAIL, /* DNS failed for now: defer (status 4.4.3) */
	QUEUE_ROUTE_PERMFAIL, /* no such domain (5.1.2) or null MX (5.1.10): bounce */
};
struct queue_route {
	enum queue_route_verdict verdict;
	const char *dsn;    /* RFC 3463 code for TEMPFAIL/PERMFAIL */
	const char *reason; /* static text for the log and the DSN */
	size_t count;       /* HOSTS: the MX hosts in the order to try */
	const char *const *hosts; /* points into the dns_result: valid while it is */
	bool secure;        /* the answer was DNSSEC-validated (DANE may apply) */
};
/* Read an MX lookup's result for domain. hosts points into mx (an array of
 * pointers allocated here; free with queue_route_deinit). */
void queue_route_from_mx(const struct dns_result *mx, struct queue_route *route_r);
void queue_route_deinit(struct queue_route *route);

/* What an SMTP reply (or the lack of one) means for one recipient. */
enum queue_outcome {
	QUEUE_OUTCOME_SENT,     /* 2xx */
	QUEUE_OUTCOME_DEFERRED, /* 4xx, connection trouble: try again */
	QUEUE_OUTCOME_BOUNCED,  /* 5xx: final failure */
};
/* code: the SMTP reply code (0 = none: connection trouble). enhanced: the
 * RFC 3463 code of the reply or NULL; *dsn_r is then the code to record
 * (the reply's, or one derived from the class: "2.0.0", "4.0.0", "5.0.0";
 * "4.4.2" with no reply). A reply whose enhanced class contradicts its
 * code class is judged by the code (RFC 3463 3.1). */
enum queue_outcome queue_outcome_of(unsigned code, const char *enhanced, const char **dsn_r);

#endif
