/*
 * serve-queue-private.h - what the files of the outbound scheduler share:
 * serve-queue.c (the runner: scanning, loading an entry, outcomes, the
 * public functions), serve-queue-route.c (next hops: relay host, literal,
 * MX, TLSA and MTA-STS lookups), serve-queue-conn.c (connecting, reuse,
 * the SMTP client session), serve-queue-finish.c (recording outcomes,
 * notices, removal) and serve-queue-tls.c (the TLS a host needs).
 * Not an interface for anything outside these files.
 */
#ifndef BIN_SERVE_QUEUE_PRIVATE_H
#define BIN_SERVE_QUEUE_PRIVATE_H

#include "bin/serve-queue.h"

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "core/worker.h"
#include "dns/dns-resolver.h"
#include "queue/queue-dsn.h"
#include "queue/queue-policy.h"
#include "smtp/smtp-client.h"
#include "store/store.h"
#include "tls/tls.h"


#define QUEUE_SCAN_BATCH 64
#define QUEUE_SWEEP_SCANS 10    /* scan_sweep at start-up, then every this many intervals */
#define QUEUE_MAX_HOSTS 10
#define QUEUE_MAX_ADDRS 10
#define QUEUE_CONNECT_TIMEOUT_MS 30000u
#define QUEUE_BODY_CHUNK 65536u
#define QUEUE_MAX_RECEIVED 50   /* RFC 5321 6.3: more hops than this is a loop */

struct queue_outcome_rec {
	bool set;
	bool remote_dsn;  /* SENT to a next hop that offered DSN (RFC 3461 5.2.2: it reports
			     success from now on, so no "relayed" notice is owed) */
	bool local;       /* SENT into a local mailbox by load_local_rcpt (a success
			     notice says "delivered", RFC 3464 2.3.3) */
	enum store_queue_rcpt_state state;
	char dsn[16];
	char *status;
	char relay[300];
};

struct queue_hop {
	struct queue_nexthop nh;
	size_t *idx;  /* entry rcpt indices */
	size_t n;
};

struct delivery;
struct queue_tls_route;
struct queue_sts_cache;

/* The TLS the current host must get (serve-queue-tls.c decides it before
 * connecting): MAY = opportunistic (RFC 7435, plain retry after a failed
 * handshake), ENCRYPT = STARTTLS required, unauthenticated; VERIFY = STARTTLS
 * with a certificate valid for one of names (MTA-STS, RFC 8461 4.2;
 * REQUIRETLS, RFC 8689); DANE = STARTTLS authenticated by TLSA records
 * (RFC 7672 2.2). NONE = no STARTTLS at all. */
enum queue_tls_level {
	QUEUE_TLS_NONE,
	QUEUE_TLS_MAY,
	QUEUE_TLS_ENCRYPT,
	QUEUE_TLS_VERIFY,
	QUEUE_TLS_DANE,
};

struct queue_tls_need {
	enum queue_tls_level level;
};

/* serve-queue-conn.c: one connection to a next hop. It belongs to a
 * delivery while a message goes over it, and waits idle in the runner's
 * cache (connection_cache_ms) for the next delivery to the same host, port,
 * TLS level and AUTH between messages. */
struct queue_conn;

/* One transport_map item: recipient domain (".dom" = its subdomains) -> relay. */
struct queue_transport {
	char *domain;
	char *relay;
};

struct queue_runner {
	struct server *srv;
	struct queue_conn *conns;       /* every connection, in use or idle (serve-queue-conn.c) */
	uint64_t wait_seq;              /* order of deliveries waiting for a connection slot */
	struct queue_transport *transports; /* transport_map, parsed */
	size_t ntransports;
	char *auth_user, *auth_password; /* relayhost_auth_file; NULL = no AUTH */
	char *changed_path;             /* serve_queue_changed_path(data_dir) */
	struct timespec changed_mtime;  /* its mtime at the last sweep */
	struct loop_timer *timer;
	struct dns_resolver *dns;
	struct tls_client_ctx *tls;     /* opportunistic and ENCRYPT: no trust anchors needed */
	/* Both trust smtp_outbound_ca_file (or the system's CAs), loaded once at
	 * start-up (queue_tls_pkix_ctx_new); NULL when that failed (logged). */
	struct tls_client_ctx *pkix;    /* VERIFY: judged after the handshake */
	struct tls_client_ctx *pkix_verify; /* MTA-STS fetch: fails unless verified */
	/* serve-queue-tls.c: made at the first DANE connection and shared by
	 * all (the TLSA records go on each connection); NULL until then */
	struct tls_client_ctx *dane;
	/* serve-queue-sts.c: parsed MTA-STS policies by domain, in memory in
	 * front of the store's cache; NULL until the first one */
	struct queue_sts_cache *sts_cache;
	struct queue_settings set;
	struct delivery *active;
	unsigned active_count;
	bool scanning;
	bool stopping;
	bool rescan;            /* a kick arrived during a scan */
	int64_t next_sweep;     /* when scan_sweep runs again (0: at the first scan) */
};

struct delivery {
	struct queue_runner *q;        /* NULL once orphaned (stopping) */
	struct delivery *prev, *next;
	char queue_id[STORE_QUEUE_ID_MAX + 1];
	struct store_queue_entry entry;
	bool have_entry;
	uint8_t *body;                 /* mapping of the body, NULL when empty or none */
	uint64_t body_size;
	bool eightbit;
	struct queue_outcome_rec *out; /* entry.rcpt_count */
	struct queue_hop *hops;
	size_t nhops, hop;
	int64_t started;
	char *error;                   /* load failure */
	bool gone;                     /* the entry is no longer there */
	/* the hop in progress */
	struct dns_query *dnsq;
	char **hosts;
	size_t nhosts, host_i;
	bool hosts_are_literal;
	struct dns_address addrs[QUEUE_MAX_ADDRS];
	size_t naddrs, addr_i;
	char host[DNS_NAME_TEXT_MAX];
	char ip[64];
	unsigned port;
	char last_error[512];
	/* the connection */
	struct queue_conn *qc;         /* in use by this delivery, or NULL */
	struct conn *conn;             /* qc's, borrowed (NULL without qc) */
	struct smtp_client *client;    /* qc's, borrowed (NULL while connecting) */
	bool via_relay;                /* the hop goes to a relay host (AUTH when configured) */
	bool waiting;                  /* waits for a connection slot to host:port */
	uint64_t wait_seq;
	bool reused;                   /* qc came from the cache */
	uint64_t body_off;
	bool sent, got_results;
	bool tls_failed;               /* this connection's STARTTLS or handshake failed */
	bool retry_plain;              /* connect to the same address again without TLS */
	bool tls_plain;                /* the connection in progress does not try STARTTLS */
	struct queue_tls_need tls_need; /* the current host's (serve-queue-tls.c) */
	struct queue_tls_route *tls_route; /* hop/host DNSSEC and TLSA (serve-queue-tls.h) */
	struct tls_conn *tlsc;         /* the TLS of d->conn (the conn owns it), or NULL */
	/* finish job */
	bool done_all;
};

static inline int64_t
now_secs(void)
{
	return (int64_t)time(NULL);
}

/* Close the connection in progress (socket, conn, client, timers). */
void delivery_conn_free(struct delivery *d);
/* Every hop was tried: record the outcomes on a worker, send a DSN, remove. */
void delivery_finish(struct delivery *d);
/* Release a delivery (unlinked first) and its mapping. */
void delivery_free(struct delivery *d);
/* Forget the current hop's hosts and addresses. */
void delivery_hop_free(struct delivery *d);
/* Start the next hop (route, addresses, connect), or finish when none is left. */
void delivery_next_hop(struct delivery *d);
/* Connect to the next address of the current host, or go on to the next host. */
void delivery_try_next_addr(struct delivery *d);
/* Look up the next MX host's addresses, or end the hop when none is left. */
void delivery_try_next_host(struct delivery *d);
/* Take a delivery off the runner's active list. */
void delivery_unlink(struct delivery *d);
/* The current hop is over: go on with the next. */
void delivery_hop_done(struct delivery *d);
/* The same outcome for every recipient of the current hop that has none. */
void delivery_outcome_all(struct delivery *d, enum store_queue_rcpt_state state, const char *dsn, const char *status);
/* Record recipient i's outcome (kept until the finish job writes it). */
void delivery_outcome_set(struct delivery *d, size_t i, enum store_queue_rcpt_state state, const char *dsn, const char *status, const char *relay);
/* Length of the longest prefix of s within max octets that ends on a UTF-8 character boundary. */
size_t queue_utf8_prefix_len(const char *s, size_t max);
void queue_scan(struct queue_runner *q);
/* Is every recipient of e SENT or BOUNCED (nothing left to try)? */
bool entry_all_final(const struct store_queue_entry *e);
/* The relay the current hop goes to (transport_map for its domain, else
 * relayhost), or NULL for MX / literal routing; sets d->via_relay. The
 * string lives as long as the runner. */
const char *queue_relay_for_hop(struct delivery *d);
/* serve-queue-conn.c: close every connection (stopping). */
void queue_conns_close_all(struct queue_runner *q);

/* serve-queue-tls.c: the TLS policy of a next hop. */
/* The policy for host d->host of the current hop; sets d->tls_need (the
 * configured smtp_outbound_tls level unless a stronger policy applies). */
void queue_tls_need_for_host(struct delivery *d);
/* Reset d->tls_need to NONE; with no addresses left (the hop or the
 * delivery is over) also free d->tls_route. */
void queue_tls_need_clear(struct delivery *d);
/* A TLS client connection on fd for STARTTLS to d->host, set up for
 * d->tls_need (DANE, verification names). NULL when TLS is unavailable. */
struct tls_conn *queue_tls_conn_new(struct delivery *d, int fd);
/* After the handshake: does the connection satisfy d->tls_need? On false,
 * *reason_r says why (for the log and the DSN). */
bool queue_tls_conn_ok(struct delivery *d, struct tls_conn *t, const char **reason_r);

#endif
