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
struct tls_server_ctx;
struct queue_runner;
struct conn;

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

enum server_service {
	SERVER_SMTP,        /* port 25 role: STARTTLS, no AUTH, local recipients only */
	SERVER_SUBMISSION,  /* RFC 6409: STARTTLS, AUTH required */
	SERVER_SUBMISSIONS, /* RFC 8314: implicit TLS, AUTH required */
	SERVER_POP3,        /* STLS */
	SERVER_POP3S,       /* implicit TLS */
	SERVER_IMAP,        /* STARTTLS */
	SERVER_IMAPS,       /* implicit TLS */
};

struct server {
	struct loop *loop;
	struct worker_pool *pool;
	struct worker_pool *auth_pool; /* password hashing only (serve-auth.c): a burst of logins
					  must not queue ahead of store work */
	struct store *store;
	struct posthorn_conf conf; /* current; replaced on SIGHUP */
	char *conf_path;
	char *hostname;
	struct delivery_settings delivery;
	char **literal_ips;
	struct server_client *clients;
	unsigned smtp_clients, pop3_clients, imap_clients;
	bool stopping;
	struct penalty *auth_penalty; /* failed logins per client IP */
	struct tls_server_ctx *tls;   /* NULL: no certificate configured */
	struct queue_runner *queue;   /* serve-queue.c; NULL when not running */
	/* POP3 maildrop locks: account ids of logged-in sessions (RFC 1939 8) */
	uint64_t *pop3_locks;
	size_t pop3_lock_count;
};

void server_client_link(struct server *srv, struct server_client *c,
			const struct server_client_ops *ops);
void server_client_unlink(struct server_client *c);

/* Accept handlers: take ownership of fd. */
void serve_smtp_accept(struct server *srv, int fd, const struct net_addr *peer,
		       enum server_service service);
void serve_pop3_accept(struct server *srv, int fd, const struct net_addr *peer,
		       enum server_service service);
void serve_imap_accept(struct server *srv, int fd, const struct net_addr *peer,
		       enum server_service service);

/* Start TLS on c (server side, current certificate). false: no TLS configured. */
bool serve_tls_start(struct server *srv, struct conn *c);
/* After the handshake: "TLSv1.3" and the cipher name of c's TLS, into bufs. */
void serve_tls_info(struct conn *c, char *version, size_t vsize, char *cipher, size_t csize);
/* Channel-binding data of c's TLS for SCRAM-PLUS (fills *cb pointing into
 * storage, which must stay valid while cb is used). */
struct sasl_channel_binding;
struct serve_tls_cb {
	unsigned char exporter[32];
	unsigned char end_point[64];
};
void serve_tls_channel_binding(struct conn *c, struct serve_tls_cb *storage,
			       struct sasl_channel_binding *cb);

/* A new queue id: 12 upper-case hex digits, unique within this host. */
void serve_queue_id(char out[16]);

/* The domain for bare user names (POP3 USER without '@'): hostname when it
 * is a local domain, else "localhost". Runs on a worker thread. */
const char *serve_default_domain(struct server *srv);
/* The account of a login name: a full address, or a bare user name in the
 * default domain. store_account_lookup's contract. Runs on a worker thread. */
struct store_account;
int serve_account_lookup(struct server *srv, const char *login, struct store_account *account_r);

#endif
