/*
 * serve.h - the running server's shared state (bin/ glue only): the loop,
 * the worker pool, the store, the loaded config, the listeners and the list
 * of open client connections. serve.c owns the lifecycle (start, SIGHUP
 * reload, SIGTERM drain); serve-smtp.c and serve-pop3.c wire the protocol
 * engines to delivery and the store.
 */
#ifndef BIN_SERVE_H
#define BIN_SERVE_H

#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "core/net.h"
#include "delivery/delivery.h"

struct loop;
struct worker_pool;
struct store;

struct server_client;

/* Per-kind operations on a client, used by serve.c for shutdown. */
struct server_client_ops {
	void (*shutdown)(struct server_client *c); /* server is stopping */
};

/* Embedded at the start of each protocol's client struct. */
struct server_client {
	const struct server_client_ops *ops;
	struct server *server;
	struct server_client *prev, *next;
};

enum server_service { SERVER_SMTP, SERVER_POP3 };

struct server {
	struct loop *loop;
	struct worker_pool *pool;
	struct store *store;
	struct posthorn_conf conf; /* current; replaced on SIGHUP */
	char *conf_path;
	char *hostname;
	struct delivery_settings delivery;
	char **literal_ips;
	struct server_client *clients;
	unsigned smtp_clients, pop3_clients;
	bool stopping;
	/* POP3 maildrop locks: account ids of logged-in sessions (RFC 1939 8) */
	uint64_t *pop3_locks;
	size_t pop3_lock_count;
};

void server_client_link(struct server *srv, struct server_client *c,
			const struct server_client_ops *ops);
void server_client_unlink(struct server_client *c);

/* Accept handlers: take ownership of fd. */
void serve_smtp_accept(struct server *srv, int fd, const struct net_addr *peer);
void serve_pop3_accept(struct server *srv, int fd, const struct net_addr *peer);

/* A new queue id: 12 upper-case hex digits, unique within this host. */
void serve_queue_id(char out[16]);

/* The domain for bare user names (POP3 USER without '@'): hostname when it
 * is a local domain, else "localhost". Runs on a worker thread. */
const char *serve_default_domain(struct server *srv);

#endif
