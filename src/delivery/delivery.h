/*
 * delivery.h - local delivery: which accounts an address reaches, and
 * storing a received message for them.
 *
 * Resolution (delivery_resolve), in this order, for localpart@domain:
 *   1. an address literal (RFC 5321 4.1.3) of one of the configured IPs is
 *      read as localpart@<hostname> when that is a local domain, else as
 *      localpart@localhost; any other literal is not local;
 *   2. a domain that is not in the store is not local (no relay);
 *   3. an account with that address (case-insensitive);
 *   4. an alias: each target resolved again (a cycle is DELIVERY_LOOP at
 *      once; an address already resolved is not looked up again; path depth
 *      DELIVERY_MAX_DEPTH and distinct addresses DELIVERY_MAX_TARGETS are
 *      capped, beyond them DELIVERY_LOOP; accounts merged);
 *   5. subaddressing: with the recipient delimiter in the local part
 *      ("user+tag"), steps 3 and 4 for "user";
 *   6. the domain's catch-all target, resolved again;
 *   7. otherwise the recipient is unknown (RCPT is refused: 550 5.1.1).
 * An alias or catch-all target outside our domains cannot be served until
 * outbound delivery exists: it is reported as DELIVERY_REMOTE_TARGET.
 *
 * Runs on worker threads (it calls the store); no event-loop state here.
 */
#ifndef DELIVERY_DELIVERY_H
#define DELIVERY_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define DELIVERY_MAX_DEPTH 10     /* alias/catch-all hops from the recipient */
#define DELIVERY_MAX_TARGETS 1000 /* distinct addresses looked up for one recipient */

struct delivery_settings {
	const char *hostname;
	const char *recipient_delimiter;   /* "" = no subaddressing */
	const char *const *literal_ips;    /* textual IPs, as inet_ntop prints them */
	size_t literal_ip_count;
};

enum delivery_status {
	DELIVERY_OK = 1,             /* *accounts_r holds >= 1 account ids */
	DELIVERY_UNKNOWN_USER = 0,   /* local domain, no such recipient */
	DELIVERY_NOT_LOCAL = -2,     /* not one of our domains */
	DELIVERY_REMOTE_TARGET = -3, /* resolves to an address outside our domains */
	DELIVERY_LOOP = -4,          /* alias loop or too deep / too many targets */
	DELIVERY_TEMPFAIL = -1,      /* store error; *error_r set */
};

/* Resolve one recipient. On DELIVERY_OK, *accounts_r (mem_free) lists the
 * distinct account ids reached. */
enum delivery_status delivery_resolve(struct store *store, const struct delivery_settings *set,
				      const char *localpart, const char *domain, bool literal,
				      uint64_t **accounts_r, size_t *count_r,
				      const char **error_r);

/* Add ids to a set (deduplicated), for merging the accounts of several
 * recipients of one message. */
void delivery_ids_merge(uint64_t **ids, size_t *count, const uint64_t *add, size_t add_count);

#endif
