/*
 * serve-queue.h - the outbound queue scheduler (serve-queue.c): delivers
 * the store's queue entries to the next hops over SMTP.
 */
#ifndef BIN_SERVE_QUEUE_H
#define BIN_SERVE_QUEUE_H

#include "bin/serve.h"
#include "queue/queue-policy.h"
#include "smtp/smtp-client.h"

struct queue_settings {
	struct queue_policy policy;
	char *relayhost;              /* "host", "host:port", "[ip]", "[ip]:port"; NULL/"" = MX */
	unsigned port;                /* port of MX hosts and literals (25) */
	enum smtp_client_tls_policy tls;
	unsigned max_deliveries;      /* entries in delivery at once */
	unsigned scan_interval_ms;    /* how often the queue is looked at */
	const char *dns_resolver;     /* dns/dns-resolver.h settings */
	const char *dns_trust_anchor;
	char *config_dir;       /* relative file names are relative to it */
	char *relayhost_auth_file; /* "USER PASSWORD"; NULL/"" = no AUTH at relays */
	char *transport_map;    /* "DOMAIN=RELAY,..."; NULL/"" = none */
	unsigned destination_concurrency; /* connections per destination at once */
	unsigned connection_cache_ms; /* keep an idle connection this long; 0 = no reuse */
	int64_t delay_warning;        /* seconds; 0 = no delay notices */
	bool dane;                    /* RFC 7672 */
	bool mta_sts;                 /* RFC 8461 */
	unsigned mta_sts_port;        /* 443 */
	char *ca_file;          /* PEM CAs for verified TLS; NULL/"" = system */
};

/* The marker file `posthorn queue` touches after changing the queue, so
 * that the running scheduler looks for finished entries at its next scan:
 * DATA_DIR/queue-changed. Allocated (mem_free). */
char *serve_queue_changed_path(const char *data_dir);
/* Create the marker or set its mtime to now. 0 ok, -1 (errno). */
int serve_queue_touch_changed(const char *data_dir);

/* Start the scheduler on srv's loop (after the worker pool exists); set is
 * copied (strings too). 0 ok, -1 (logged; also when relayhost_auth_file is
 * set but unreadable, malformed, or readable by group or others). */
int serve_queue_start(struct server *srv, const struct queue_settings *set);
/* Something was queued: look at the queue now. */
void serve_queue_kick(struct server *srv);
/* The server is stopping: end the deliveries on the network, start none. */
void serve_queue_stop(struct server *srv);
/* After the worker pool is freed: release everything. */
void serve_queue_free(struct server *srv);

#endif
