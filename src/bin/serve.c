/*
 * serve.c - `posthorn serve`: bind the listeners, drop privileges, run the
 * event loop; SIGHUP reloads the configuration, SIGTERM/SIGINT drain and
 * stop.
 *
 * Stopping: listeners close first; every client gets its protocol's
 * "shutting down" reply once its pending operation (say a delivery that is
 * being made durable) has finished; the loop keeps running until the last
 * client is gone or a grace period ends; then the worker pool drains and the
 * store closes. A message is therefore either acknowledged and durable, or
 * refused with 421 and never half-stored.
 *
 * Reload: new settings apply to new connections (limits, timeouts, hostname,
 * log level). Changing listeners or data_dir needs a restart (logged).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "bin/serve-queue.h"
#include "bin/serve.h"
#include "conf/conf-sni.h"
#include "core/conn.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/mem.h"
#include "core/penalty.h"
#include "core/worker.h"
#include "sasl/sasl-server.h"
#include "store/store.h"
#include "tls/tls.h"

#define SERVE_DRAIN_GRACE_MS 30000

struct listener {
	struct server *srv;
	enum server_service service;
	int fd;
	struct loop_io *io;
	char name[128];
};

static struct listener *listeners;
static size_t listener_count;
static struct loop_io *signal_io;
static int signal_fd = -1;
static struct loop_timer *drain_timer;

void
server_client_link(struct server *srv, struct server_client *c, const struct server_client_ops *ops)
{
	c->server = srv;
	c->ops = ops;
	c->prev = NULL;
	c->next = srv->clients;
	if (srv->clients != NULL)
		srv->clients->prev = c;
	srv->clients = c;
}

void
server_client_unlink(struct server_client *c)
{
	struct server *srv = c->server;

	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		srv->clients = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	if (srv->stopping && srv->clients == NULL)
		loop_stop(srv->loop);
}

bool
serve_tls_start(struct server *srv, struct conn *c)
{
	struct tls_conn *t;

	if (srv->tls == NULL)
		return false;
	t = tls_server_conn_new(srv->tls, conn_fd(c));
	conn_set_transport(c, tls_conn_transport_ops(), t);
	return true;
}

void
serve_tls_info(struct conn *c, char *version, size_t vsize, char *cipher, size_t csize)
{
	struct tls_conn *t = conn_transport(c);
	const char *v = t != NULL ? tls_conn_version(t) : NULL;
	const char *ci = t != NULL ? tls_conn_cipher(t) : NULL;

	snprintf(version, vsize, "%s", v != NULL ? v : "unknown");
	snprintf(cipher, csize, "%s", ci != NULL ? ci : "unknown");
}

void
serve_tls_channel_binding(struct conn *c, struct serve_tls_cb *storage,
			  struct sasl_channel_binding *cb)
{
	struct tls_conn *t = conn_transport(c);
	size_t len = 0;

	memset(cb, 0, sizeof(*cb));
	if (t == NULL)
		return;
	if (tls_conn_exporter_cb(t, storage->exporter) == 1) {
		cb->tls_exporter = storage->exporter;
		cb->tls_exporter_len = sizeof(storage->exporter);
	}
	if (tls_conn_server_end_point(t, storage->end_point, &len) == 1) {
		cb->tls_server_end_point = storage->end_point;
		cb->tls_server_end_point_len = len;
	}
}

void
serve_queue_id(char out[16])
{
	static uint32_t counter;
	struct timeval tv;
	uint64_t v;

	gettimeofday(&tv, NULL);
	/* seconds (low 28 bits) and microseconds make ids sortable by time
	 * within a day-scale window; the counter keeps them unique */
	v = ((uint64_t)(tv.tv_sec & 0xfffffff) << 20) | (uint64_t)tv.tv_usec;
	v = (v << 8) ^ (uint64_t)(counter++ & 0xff);
	snprintf(out, 16, "%012llX", (unsigned long long)(v & 0xffffffffffffULL));
}

const char *
serve_default_domain(struct server *srv)
{
	struct store_domain dom;

	if (store_domain_lookup(srv->store, srv->hostname, &dom, NULL) == 1) {
		store_domain_deinit(&dom);
		return srv->hostname;
	}
	return "localhost";
}

int
serve_account_lookup(struct server *srv, const char *login, struct store_account *account_r)
{
	const char *domain;
	size_t len;
	char *address;
	int ret;

	if (strchr(login, '@') != NULL)
		return store_account_lookup(srv->store, login, account_r, NULL);
	domain = serve_default_domain(srv);
	len = strlen(login) + strlen(domain) + 2;
	address = mem_alloc(len);
	snprintf(address, len, "%s@%s", login, domain);
	ret = store_account_lookup(srv->store, address, account_r, NULL);
	mem_free(&address);
	return ret;
}

static void
listener_accept(void *ctx, unsigned events)
{
	struct listener *l = ctx;
	struct server *srv = l->srv;

	for (int i = 0; i < 64; i++) {
		struct net_addr peer;
		int fd = net_accept(l->fd, &peer);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warning("master", "accept on %s: %s", l->name, strerror(errno));
			return;
		}
		if (l->service == SERVER_POP3 || l->service == SERVER_POP3S)
			serve_pop3_accept(srv, fd, &peer, l->service);
		else if (l->service == SERVER_IMAP || l->service == SERVER_IMAPS)
			serve_imap_accept(srv, fd, &peer, l->service);
		else
			serve_smtp_accept(srv, fd, &peer, l->service);
	}
}

static int
listen_list(struct server *srv, const struct conf_listen_list *list, enum server_service service,
	    const char *what)
{
	for (unsigned i = 0; i < list->count; i++) {
		const struct conf_listen *cl = &list->items[i];
		struct net_addr addr;
		struct listener *l;
		char ip[INET6_ADDRSTRLEN], text[80];
		const char *error;
		int fd;

		inet_ntop(cl->addr.family, &cl->addr.u, ip, sizeof(ip));
		snprintf(text, sizeof(text), cl->addr.family == AF_INET6 ? "[%s]:%u" : "%s:%u", ip,
			 cl->port);
		if (net_addr_parse(text, &addr, &error) < 0 ||
		    (fd = net_listen(&addr, 511, &error)) < 0) {
			log_error("master", "cannot listen on %s for %s: %s", text, what, error);
			return -1;
		}
		listeners = mem_realloc(listeners, (listener_count + 1) * sizeof(*listeners));
		l = &listeners[listener_count++];
		memset(l, 0, sizeof(*l));
		l->srv = srv;
		l->service = service;
		l->fd = fd;
		snprintf(l->name, sizeof(l->name), "%s %s", what, text);
	}
	return 0;
}

static int
open_listeners(struct server *srv)
{
	const struct posthorn_conf *c = &srv->conf;

	if (srv->tls == NULL) {
		if (c->submissions_listen.count > 0 || c->pop3s_listen.count > 0 ||
		    c->imaps_listen.count > 0) {
			log_error("master", "submissions_listen, pop3s_listen and imaps_listen need a "
					    "certificate: set tls_cert and tls_key (or leave them empty)");
			return -1;
		}
		if (c->submission_listen.count > 0)
			log_warning("master", "no tls_cert: submission works only where plain-text "
					      "passwords are allowed (plaintext_auth_loopback)");
	}
	if (listen_list(srv, &c->smtp_listen, SERVER_SMTP, "smtp") < 0 ||
	    listen_list(srv, &c->submission_listen, SERVER_SUBMISSION, "submission") < 0 ||
	    listen_list(srv, &c->submissions_listen, SERVER_SUBMISSIONS, "submissions") < 0 ||
	    listen_list(srv, &c->pop3_listen, SERVER_POP3, "pop3") < 0 ||
	    listen_list(srv, &c->pop3s_listen, SERVER_POP3S, "pop3s") < 0 ||
	    listen_list(srv, &c->imap_listen, SERVER_IMAP, "imap") < 0 ||
	    listen_list(srv, &c->imaps_listen, SERVER_IMAPS, "imaps") < 0)
		return -1;
	if (c->imap_listen.count > 0 || c->imaps_listen.count > 0)
		log_warning("master", "IMAP serves login and folder commands only so far: "
				      "SELECT and the message commands are not implemented yet");
	return 0;
}

static void
start_listeners(struct server *srv)
{
	for (size_t i = 0; i < listener_count; i++) {
		listeners[i].io = loop_io_add(srv->loop, listeners[i].fd, LOOP_READ,
					      listener_accept, &listeners[i]);
		log_info("master", "listening on %s", listeners[i].name);
	}
}

static void
close_listeners(void)
{
	for (size_t i = 0; i < listener_count; i++) {
		loop_io_remove(&listeners[i].io);
		close(listeners[i].fd);
	}
	mem_free(&listeners);
	listener_count = 0;
}

static void
delivery_settings_fill(struct server *srv)
{
	const struct conf_addr_list *lits = &srv->conf.local_address_literals;

	for (size_t i = 0; srv->literal_ips != NULL && srv->literal_ips[i] != NULL; i++)
		mem_free(&srv->literal_ips[i]);
	mem_free(&srv->literal_ips);
	srv->literal_ips = mem_array(lits->count + 1, sizeof(char *));
	for (unsigned i = 0; i < lits->count; i++) {
		char ip[INET6_ADDRSTRLEN];

		inet_ntop(lits->items[i].family, &lits->items[i].u, ip, sizeof(ip));
		srv->literal_ips[i] = mem_strdup(ip);
	}
	srv->delivery.hostname = srv->hostname;
	srv->delivery.recipient_delimiter = srv->conf.recipient_delimiter;
	srv->delivery.literal_ips = (const char *const *)srv->literal_ips;
	srv->delivery.literal_ip_count = lits->count;
}

/* A config path relative to the config directory. Allocated. */
static char *
conf_path_resolve(const struct posthorn_conf *conf, const char *path)
{
	size_t len;
	char *p;

	if (path[0] == '/')
		return mem_strdup(path);
	len = strlen(conf->config_dir) + strlen(path) + 2;
	p = mem_alloc(len);
	snprintf(p, len, "%s/%s", conf->config_dir, path);
	return p;
}

/* Build the TLS context of conf: 1 made, 0 no certificate configured, -1
 * error (logged). tls_sni_certs was validated when the config was loaded. */
static int
tls_load(const struct posthorn_conf *conf, struct tls_server_ctx **ctx_r)
{
	struct tls_server_settings set = { 0 };
	struct conf_sni_entry *entries = NULL;
	struct tls_sni_entry *sni;
	char *cert, *key;
	const char *error;
	size_t n = 0;
	int ret = 1;

	*ctx_r = NULL;
	if (conf->tls_cert[0] == '\0')
		return 0;
	if (conf_sni_parse(conf->tls_sni_certs, &entries, &n, &error) < 0) {
		log_error("master", "tls_sni_certs: %s", error);
		return -1;
	}
	sni = mem_array(n + 1, sizeof(*sni));
	for (size_t i = 0; i < n; i++) {
		sni[i].hostname = entries[i].hostname;
		sni[i].cert_file = conf_path_resolve(conf, entries[i].cert_file);
		sni[i].key_file = conf_path_resolve(conf, entries[i].key_file);
	}
	cert = conf_path_resolve(conf, conf->tls_cert);
	key = conf_path_resolve(conf, conf->tls_key[0] != '\0' ? conf->tls_key : conf->tls_cert);
	set.cert_file = cert;
	set.key_file = key;
	set.sni = sni;
	set.sni_count = n;
	*ctx_r = tls_server_ctx_new(&set, &error);
	if (*ctx_r == NULL) {
		log_error("master", "TLS: %s", error);
		ret = -1;
	}
	for (size_t i = 0; i < n; i++) {
		mem_free(&sni[i].cert_file);
		mem_free(&sni[i].key_file);
	}
	mem_free(&sni);
	conf_sni_free(&entries, n);
	mem_free(&cert);
	mem_free(&key);
	return ret;
}

static void
server_reload(struct server *srv)
{
	struct posthorn_conf conf;
	char *errors = NULL;

	if (conf_load(srv->conf_path, &conf, &errors) < 0) {
		log_error("master", "reload failed, keeping the old configuration: %s", errors);
		mem_free(&errors);
		return;
	}
	if (strcmp(conf.data_dir, srv->conf.data_dir) != 0)
		log_warning("master", "data_dir changed: takes effect after a restart");
	{
		struct tls_server_ctx *tls;

		/* new connections get the new certificates; open ones keep theirs */
		if (tls_load(&conf, &tls) < 0) {
			log_error("master", "reload failed, keeping the old configuration");
			conf_deinit(&conf);
			return;
		}
		if (tls == NULL && srv->tls != NULL)
			log_warning("master", "tls_cert removed: TLS stays off only for new "
					      "connections to STARTTLS ports; implicit-TLS ports need "
					      "a restart");
		tls_server_ctx_unref(&srv->tls);
		srv->tls = tls;
	}
	/* listeners stay as bound: changing them needs a restart */
	conf_deinit(&srv->conf);
	srv->conf = conf;
	mem_free(&srv->hostname);
	srv->hostname = cli_hostname(&srv->conf);
	log_init(srv->hostname, (enum log_level)srv->conf.log_level);
	delivery_settings_fill(srv);
	log_info("master", "configuration reloaded from %s", srv->conf_path);
}

/* The outbound queue's settings from the config. */
static void
serve_start_queue(struct server *srv)
{
	static struct queue_settings set;
	const struct posthorn_conf *c = &srv->conf;

	memset(&set, 0, sizeof(set));
	queue_policy_init_default(&set.policy);
	set.policy.retry_min = c->queue_retry_min / 1000;
	set.policy.retry_max = c->queue_retry_max / 1000;
	set.policy.lifetime = c->queue_lifetime / 1000;
	set.relayhost = c->relayhost; /* copied by serve_queue_start */
	set.port = c->smtp_outbound_port;
	set.tls = c->smtp_outbound_tls == 0   ? SMTP_CLIENT_TLS_NONE
		  : c->smtp_outbound_tls == 2 ? SMTP_CLIENT_TLS_REQUIRED
					      : SMTP_CLIENT_TLS_OPPORTUNISTIC;
	set.max_deliveries = c->queue_max_deliveries;
	set.scan_interval_ms = (unsigned)c->queue_scan_interval;
	set.dns_resolver = srv->conf.dns_resolver;
	set.dns_trust_anchor = srv->conf.dns_trust_anchor;
	set.config_dir = c->config_dir;
	set.relayhost_auth_file = c->relayhost_auth_file;
	set.transport_map = c->transport_map;
	set.destination_concurrency = c->queue_destination_concurrency;
	set.connection_cache_ms = (unsigned)c->queue_connection_cache_time;
	set.delay_warning = (int64_t)(c->queue_delay_warning / 1000);
	set.dane = c->smtp_dane;
	set.mta_sts = c->smtp_mta_sts;
	set.mta_sts_port = c->mta_sts_port;
	set.ca_file = c->smtp_outbound_ca_file;
	if (serve_queue_start(srv, &set) < 0)
		log_warning("master", "outbound delivery is off: mail for other domains stays "
				      "queued");
}

static void
drain_timeout(void *ctx)
{
	struct server *srv = ctx;

	log_warning("master", "clients still connected after %d s; stopping anyway",
		    SERVE_DRAIN_GRACE_MS / 1000);
	loop_stop(srv->loop);
}

static void
server_stop(struct server *srv)
{
	struct server_client *c, *next;

	if (srv->stopping)
		return;
	srv->stopping = true;
	log_info("master", "stopping: refusing new connections, draining clients");
	serve_queue_stop(srv);
	for (size_t i = 0; i < listener_count; i++)
		loop_io_remove(&listeners[i].io);
	if (srv->clients == NULL) {
		loop_stop(srv->loop);
		return;
	}
	drain_timer = loop_timer_add(srv->loop, SERVE_DRAIN_GRACE_MS, drain_timeout, srv);
	for (c = srv->clients; c != NULL; c = next) {
		next = c->next;
		c->ops->shutdown(c);
	}
}

static void
signal_event(void *ctx, unsigned events)
{
	struct server *srv = ctx;
	struct signalfd_siginfo si;

	while (read(signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		if (si.ssi_signo == SIGHUP)
			server_reload(srv);
		else
			server_stop(srv);
	}
}

static int
setup_signals(struct server *srv)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (signal_fd < 0)
		return -1;
	signal_io = loop_io_add(srv->loop, signal_fd, LOOP_READ, signal_event, srv);
	return 0;
}

static int
server_open_store(struct server *srv)
{
	char *dir = conf_resolve_data_dir(&srv->conf);
	struct store_settings set = { .backend = "sqlite", .data_dir = dir };
	const char *error;
	int ret = 0;

	if (cli_become_run_user(&srv->conf, dir) < 0) {
		ret = -1;
	} else if (store_open(&set, &srv->store, &error) < 0) {
		log_error("master", "cannot open the store in %s: %s", dir, error);
		ret = -1;
	}
	mem_free(&dir);
	return ret;
}

static void
server_deinit(struct server *srv)
{
	loop_io_remove(&signal_io);
	if (signal_fd >= 0)
		close(signal_fd);
	loop_timer_remove(&drain_timer);
	close_listeners();
	worker_pool_free(&srv->auth_pool);
	worker_pool_free(&srv->pool);
	serve_queue_free(srv);
	store_close(&srv->store);
	for (size_t i = 0; srv->literal_ips != NULL && srv->literal_ips[i] != NULL; i++)
		mem_free(&srv->literal_ips[i]);
	mem_free(&srv->literal_ips);
	mem_free(&srv->pop3_locks);
	penalty_free(&srv->auth_penalty);
	tls_server_ctx_unref(&srv->tls);
	mem_free(&srv->hostname);
	conf_deinit(&srv->conf);
	loop_free(&srv->loop);
}

int
cmd_serve(int argc, char **argv)
{
	struct cli_args args;
	struct server srv;
	int ret = CLI_OK;

	memset(&srv, 0, sizeof(srv));
	if (cli_parse(argc, argv, &args) < 0 || args.npos != 0) {
		fprintf(stderr, "usage: posthorn serve [-c FILE]\n");
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	if (cli_load_conf(&args, &srv.conf) < 0) {
		mem_free(&args.pos);
		return CLI_CONFIG;
	}
	srv.conf_path = mem_strdup(cli_conf_path(&args));
	mem_free(&args.pos);
	srv.hostname = cli_hostname(&srv.conf);
	log_init(srv.hostname, (enum log_level)srv.conf.log_level);
	srv.loop = loop_new();
	delivery_settings_fill(&srv);
	if (tls_load(&srv.conf, &srv.tls) < 0) {
		ret = CLI_CONFIG;
		goto out;
	}
	/* bind while still privileged, then drop privileges before any network
	 * input is read (DESIGN.md 2) */
	/* signals first: a SIGTERM that comes as soon as a port accepts
	 * connections waits in the signalfd instead of killing the process */
	if (setup_signals(&srv) < 0 || open_listeners(&srv) < 0 || server_open_store(&srv) < 0) {
		ret = CLI_FAILURE;
		goto out;
	}
	srv.pool = worker_pool_new(srv.loop, srv.conf.worker_threads);
	/* a quarter of the threads for password hashing (yescrypt is slow on
	 * purpose): logins wait for each other, not for mail */
	srv.auth_pool = worker_pool_new(srv.loop, srv.conf.worker_threads / 4 > 0
							 ? srv.conf.worker_threads / 4
							 : 1);
	srv.auth_penalty = penalty_new(4096);
	start_listeners(&srv);
	serve_start_queue(&srv);
	log_info("master", "posthorn started (hostname %s)", srv.hostname);
	if (loop_run(srv.loop) < 0) {
		log_error("master", "event loop failed: %s", strerror(errno));
		ret = CLI_FAILURE;
	}
	/* clients that did not finish within the grace period */
	while (srv.clients != NULL) {
		struct server_client *c = srv.clients;

		c->ops->shutdown(c);
		if (srv.clients == c)
			server_client_unlink(c); /* leaked on purpose: exiting */
	}
	log_info("master", "stopped");
out:
	server_deinit(&srv);
	mem_free(&srv.conf_path);
	return ret;
}
