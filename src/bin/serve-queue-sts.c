/*
 * serve-queue-sts.c - the MTA-STS step of an MX hop (RFC 8461 3, 5): the
 * recipient domain's _mta-sts TXT record, then the policy cached in memory
 * (q->sts_cache: parsed policies, at most QUEUE_STS_MEM_MAX domains, the
 * least recently used one evicted), else the one cached in the store
 * (sts_policies; a fresh one found there enters the memory cache), and
 * when the record's id differs from the cached one or the cache expired,
 * the policy fetched from
 * https://mta-sts.DOMAIN:mta_sts_port/.well-known/mta-sts.txt (3.3): each
 * address of the policy host in turn (A first, then AAAA) until one takes
 * the connection, the certificate verified for that name against
 * smtp_outbound_ca_file or the system's CAs, no redirects, at most
 * QUEUE_STS_POLICY_MAX octets of body, QUEUE_STS_FETCH_TIMEOUT_MS in all.
 * A new policy goes to the store and the memory cache; a failed fetch
 * keeps an unexpired cached policy in force (5.1). The same rules hold for
 * both caches: a policy is used while unexpired (fetched + max_age) and
 * while the TXT id names it, or no valid TXT record is found. Then the MX
 * lookup goes on (delivery_lookup_mx) with d->tls_route->sts set or NULL.
 *
 * What the policy does to hosts (enforce: only matching MX hosts, PKIX
 * verification; testing: logged) is serve-queue-route.c's and
 * serve-queue-tls.c's business.
 *
 * Does not: proactive refresh (3.3 "SHOULD"), TLSRPT reporting (RFC 8460),
 * remember that a domain has no policy (each hop without one asks the
 * store: another node sharing it may have stored one),
 * HTTP keep-alive or chunked bodies (the request is HTTP/1.0, so the body
 * ends with the connection or Content-Length).
 *
 * Threads: everything runs on the loop, except the store calls, which run
 * on the worker pool (the job keeps its own copies).
 */
#include "bin/serve-queue-tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/buf.h"

#define QUEUE_STS_FETCH_TIMEOUT_MS 20000u
#define QUEUE_STS_MEM_MAX 64u /* domains in the memory cache */

/* ---- the memory cache (q->sts_cache) ---- */

struct queue_sts_mem_entry {
	char domain[STORE_STS_DOMAIN_MAX + 1]; /* "" = a free slot */
	char policy_id[STORE_STS_ID_MAX + 1];
	int64_t expires;
	uint64_t used;                          /* q->sts_cache->clock at the last use */
	struct queue_sts_policy *policy;
};

struct queue_sts_cache {
	struct queue_sts_mem_entry e[QUEUE_STS_MEM_MAX];
	uint64_t clock;
};

static void
sts_mem_entry_clear(struct queue_sts_mem_entry *e)
{
	mem_free(&e->policy);
	memset(e, 0, sizeof(*e));
}

void
queue_sts_cache_free(struct queue_runner *q)
{
	if (q->sts_cache == NULL)
		return;
	for (size_t i = 0; i < QUEUE_STS_MEM_MAX; i++)
		sts_mem_entry_clear(&q->sts_cache->e[i]);
	mem_free(&q->sts_cache);
}

/* The entry of domain, or NULL. An expired one is dropped on the way. */
static struct queue_sts_mem_entry *
sts_mem_find(struct queue_runner *q, const char *domain)
{
	struct queue_sts_cache *c = q->sts_cache;

	if (c == NULL)
		return NULL;
	for (size_t i = 0; i < QUEUE_STS_MEM_MAX; i++) {
		struct queue_sts_mem_entry *e = &c->e[i];

		if (e->domain[0] == '\0' || strcasecmp(e->domain, domain) != 0)
			continue;
		if (e->expires <= now_secs()) {
			sts_mem_entry_clear(e); /* RFC 8461 5.1: max_age passed */
			return NULL;
		}
		e->used = ++c->clock;
		return e;
	}
	return NULL;
}

/* Keep a copy of policy for domain (replacing its entry, else taking a
 * free slot, else the least recently used one). */
static void
sts_mem_put(struct queue_runner *q, const char *domain, const char *policy_id, int64_t expires,
	    const struct queue_sts_policy *policy)
{
	struct queue_sts_cache *c;
	struct queue_sts_mem_entry *slot = NULL;

	if (q->sts_cache == NULL)
		q->sts_cache = mem_zalloc(sizeof(*q->sts_cache));
	c = q->sts_cache;
	for (size_t i = 0; i < QUEUE_STS_MEM_MAX && slot == NULL; i++) {
		if (c->e[i].domain[0] != '\0' && strcasecmp(c->e[i].domain, domain) == 0)
			slot = &c->e[i];
	}
	for (size_t i = 0; i < QUEUE_STS_MEM_MAX && slot == NULL; i++) {
		if (c->e[i].domain[0] == '\0')
			slot = &c->e[i];
	}
	if (slot == NULL) {
		slot = &c->e[0];
		for (size_t i = 1; i < QUEUE_STS_MEM_MAX; i++) {
			if (c->e[i].used < slot->used)
				slot = &c->e[i];
		}
	}
	sts_mem_entry_clear(slot);
	snprintf(slot->domain, sizeof(slot->domain), "%s", domain);
	snprintf(slot->policy_id, sizeof(slot->policy_id), "%s", policy_id);
	slot->expires = expires;
	slot->used = ++c->clock;
	slot->policy = mem_memdup(policy, sizeof(*policy));
}

struct queue_sts_job {
	struct delivery *d;       /* NULL once cancelled */
	char domain[STORE_STS_DOMAIN_MAX + 1];
	char txt_id[QUEUE_STS_ID_MAX + 1]; /* "" = no (valid, single) TXT record */
	bool in_worker;           /* a store job holds this */
	/* the store job's data */
	struct store_sts_policy cached; /* policy NULL = none */
	int cache_ret;
	struct store_sts_policy put;
	/* the fetch */
	struct dns_query *dnsq;
	struct dns_address addrs[QUEUE_MAX_ADDRS]; /* of the policy host, A first */
	size_t naddrs, addr_i;
	char addr_error[200];     /* the last address's failure */
	int fd;
	struct loop_io *io;
	struct loop_timer *timer;
	struct conn *conn;
	struct buf resp;
	bool closed;
	bool too_large;
	char error[300];
};

static void sts_proceed(struct queue_sts_job *job, struct queue_sts_policy *policy);

static void
sts_fetch_stop(struct queue_sts_job *job)
{
	dns_query_cancel(&job->dnsq);
	conn_free(&job->conn);
	loop_io_remove(&job->io);
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	loop_timer_remove(&job->timer);
}

static void
sts_job_free(struct queue_sts_job *job)
{
	sts_fetch_stop(job);
	buf_deinit(&job->resp);
	store_sts_policy_deinit(&job->cached);
	mem_free(&job->put.policy);
	mem_free(&job);
}

void
queue_sts_job_cancel(struct queue_sts_job **jobp)
{
	struct queue_sts_job *job = *jobp;

	if (job == NULL)
		return;
	*jobp = NULL;
	job->d = NULL;
	sts_fetch_stop(job);
	if (!job->in_worker)
		sts_job_free(job);
	/* else the worker's completion frees it */
}

/* The delivery may go on (not cancelled, not stopping). */
static bool
sts_job_live(struct queue_sts_job *job)
{
	return job->d != NULL && job->d->q != NULL && !job->d->q->stopping;
}

/* Parse a cached or fetched policy text; NULL when invalid. */
static struct queue_sts_policy *
sts_policy_from_text(const char *text, size_t len, const char **error_r)
{
	struct queue_sts_policy *p = mem_zalloc(sizeof(*p));

	if (queue_sts_policy_parse((const uint8_t *)text, len, p, error_r) < 0) {
		mem_free(&p);
		return NULL;
	}
	return p;
}

/* The cached policy if still in force (RFC 8461 5.1), else NULL. */
static struct queue_sts_policy *
sts_cached_policy(struct queue_sts_job *job)
{
	const char *error = NULL;

	if (job->cached.policy == NULL || job->cached.expires <= now_secs())
		return NULL;
	return sts_policy_from_text(job->cached.policy, strlen(job->cached.policy), &error);
}

/* ---- storing a fetched policy ---- */

static void
sts_put_work(void *ctx)
{
	struct queue_sts_job *job = ctx;
	const char *error = NULL;

	if (job->d != NULL && job->d->q != NULL &&
	    store_sts_put(job->d->q->srv->store, &job->put, &error) < 0)
		snprintf(job->error, sizeof(job->error), "%.250s", error);
}

static void
sts_put_done(void *ctx)
{
	struct queue_sts_job *job = ctx;
	const char *error = NULL;
	struct queue_sts_policy *p;

	job->in_worker = false;
	if (!sts_job_live(job)) {
		sts_job_free(job);
		return;
	}
	if (job->error[0] != '\0')
		log_warning("queue", "MTA-STS policy of %s not cached: %s", job->domain,
			    job->error);
	p = sts_policy_from_text(job->put.policy, strlen(job->put.policy), &error);
	if (p != NULL)
		sts_mem_put(job->d->q, job->domain, job->put.policy_id, job->put.expires, p);
	sts_proceed(job, p);
}

/* ---- the HTTPS fetch (RFC 8461 3.3) ---- */

static void
sts_fetch_failed(struct queue_sts_job *job, const char *why)
{
	struct queue_sts_policy *p;
	char safe[300];

	sts_fetch_stop(job);
	log_sanitize(safe, sizeof(safe), why, strlen(why));
	p = sts_cached_policy(job);
	log_warning("queue", "%s: MTA-STS policy fetch for %s failed: %s%s", job->d->queue_id,
		    job->domain, safe, p != NULL ? " (the cached policy stays in force)" : "");
	sts_proceed(job, p);
}

/* Check the response (queue_sts_http_response) and take its body. */
static void
sts_fetch_response(struct queue_sts_job *job)
{
	const uint8_t *body;
	size_t len;
	unsigned status;
	const char *error = NULL;
	struct queue_sts_policy *policy;
	char *text;

	if (queue_sts_http_response(buf_data(&job->resp), buf_len(&job->resp), &status, &body,
				    &len, &error) < 0) {
		char why[120];

		if (status != 0 && status != 200) {
			snprintf(why, sizeof(why), "HTTP status %u (only 200 is taken, redirects "
				 "are not followed)", status);
			error = why;
		}
		sts_fetch_failed(job, error);
		return;
	}
	policy = sts_policy_from_text((const char *)body, len, &error);
	if (policy == NULL) {
		char why[200];

		snprintf(why, sizeof(why), "invalid policy: %s", error);
		sts_fetch_failed(job, why);
		return;
	}
	text = mem_alloc(len + 1);
	memcpy(text, body, len);
	text[len] = '\0';
	sts_fetch_stop(job);
	log_info("queue",
		 "%s: MTA-STS policy of %s (id %s): mode %s, %zu mx pattern(s), max_age %u",
		 job->d->queue_id, job->domain, job->txt_id, queue_sts_mode_name(policy->mode),
		 policy->nmx, (unsigned)policy->max_age);
	/* cache it (RFC 8461 5.1), then go on */
	memset(&job->put, 0, sizeof(job->put));
	snprintf(job->put.domain, sizeof(job->put.domain), "%s", job->domain);
	snprintf(job->put.policy_id, sizeof(job->put.policy_id), "%s", job->txt_id);
	job->put.policy = text;
	job->put.fetched = now_secs();
	job->put.expires = job->put.fetched + (int64_t)policy->max_age;
	mem_free(&policy);
	job->in_worker = true;
	worker_pool_submit(job->d->q->srv->pool, sts_put_work, sts_put_done, job);
}

static void
sts_conn_input(void *ctx, const uint8_t *data, size_t len)
{
	struct queue_sts_job *job = ctx;

	if (!job->too_large && buf_append(&job->resp, data, len) < 0) {
		job->too_large = true; /* judged at the close */
		conn_close_after_flush(job->conn);
	}
}

static void
sts_conn_closed_later(void *ctx)
{
	struct queue_sts_job *job = ctx;

	if (!sts_job_live(job))
		return;
	if (job->error[0] != '\0') {
		sts_fetch_failed(job, job->error);
		return;
	}
	if (job->too_large) {
		sts_fetch_failed(job, "response too large");
		return;
	}
	sts_fetch_response(job);
}

static void
sts_conn_closed(void *ctx, const char *reason)
{
	struct queue_sts_job *job = ctx;

	if (job->closed)
		return;
	job->closed = true;
	if (reason != NULL && buf_len(&job->resp) == 0)
		snprintf(job->error, sizeof(job->error), "%.250s", reason);
	/* not from inside the conn's callback: conn_free follows */
	loop_timer_reset(job->timer, 0);
}

static const struct conn_callbacks sts_conn_cb = {
	.input = sts_conn_input,
	.closed = sts_conn_closed,
};

static void
sts_timer(void *ctx)
{
	struct queue_sts_job *job = ctx;

	if (!sts_job_live(job))
		return;
	if (job->closed) {
		sts_conn_closed_later(job);
		return;
	}
	sts_fetch_failed(job, "timed out");
}

/* The policy host name for the HTTPS request and the certificate. */
static void
sts_host(const struct queue_sts_job *job, char *out, size_t size)
{
	snprintf(out, size, "mta-sts.%s", job->domain);
}

static void
sts_connected(struct queue_sts_job *job)
{
	struct queue_runner *q = job->d->q;
	char host[DNS_NAME_TEXT_MAX + 8];

	loop_io_remove(&job->io);
	if (q->pkix_verify == NULL) { /* RFC 8461 3.3: verified HTTPS only */
		sts_fetch_failed(job, "no trust anchors (smtp_outbound_ca_file did not load "
				      "at start-up)");
		return;
	}
	sts_host(job, host, sizeof(host));
	job->conn = conn_new(q->srv->loop, job->fd, &sts_conn_cb, job);
	conn_set_transport(job->conn, tls_conn_transport_ops(),
			   tls_client_conn_new(q->pkix_verify, job->fd, host));
	job->fd = -1; /* the conn owns it */
	buf_init(&job->resp, QUEUE_STS_POLICY_MAX + QUEUE_STS_HEADER_MAX);
	{
		char req[DNS_NAME_TEXT_MAX + 200];
		int n = snprintf(req, sizeof(req),
				 "GET /.well-known/mta-sts.txt HTTP/1.0\r\nHost: %s\r\n"
				 "User-Agent: posthorn\r\nConnection: close\r\n\r\n",
				 host);

		conn_write(job->conn, req, n > 0 ? (size_t)n : 0);
	}
}

static void sts_connect_next(struct queue_sts_job *job);

/* The current address did not take the connection: note why, try the next. */
static void
sts_connect_failed(struct queue_sts_job *job, int err)
{
	const struct dns_address *a = &job->addrs[job->addr_i];
	char ip[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, &a->u, ip, sizeof(ip)) == NULL)
		snprintf(ip, sizeof(ip), "?");
	snprintf(job->addr_error, sizeof(job->addr_error), "%s: %s", ip, strerror(err));
	loop_io_remove(&job->io);
	if (job->fd >= 0) {
		close(job->fd);
		job->fd = -1;
	}
	job->addr_i++;
	if (job->addr_i < job->naddrs)
		log_info("queue", "%s: MTA-STS policy host of %s, %s; trying the next address",
			 job->d->queue_id, job->domain, job->addr_error);
	sts_connect_next(job);
}

static void
sts_connect_ready(void *ctx, unsigned events)
{
	struct queue_sts_job *job = ctx;
	int err = 0;
	socklen_t len = sizeof(err);

	(void)events;
	if (!sts_job_live(job))
		return;
	if (getsockopt(job->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err != 0) {
		sts_connect_failed(job, err);
		return;
	}
	sts_connected(job);
}

/* Connect to the policy host's next address (RFC 8461 3.3 names the host,
 * not an address: every address of it may serve the policy), within the
 * fetch's one timer. */
static void
sts_connect_next(struct queue_sts_job *job)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	unsigned port = job->d->q->set.mta_sts_port > 0 ? job->d->q->set.mta_sts_port : 443;
	const struct dns_address *a;

	if (job->addr_i >= job->naddrs) {
		char why[300];

		snprintf(why, sizeof(why), "%s%s",
			 job->naddrs > 1 ? "no address of the policy host answered, the last: "
					 : "",
			 job->addr_error);
		sts_fetch_failed(job, why);
		return;
	}
	a = &job->addrs[job->addr_i];
	memset(&ss, 0, sizeof(ss));
	if (a->family == AF_INET) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		sin->sin_addr = a->u.v4;
		sl = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		sin6->sin6_addr = a->u.v6;
		sl = sizeof(*sin6);
	}
	job->fd = socket(a->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (job->fd < 0) {
		sts_connect_failed(job, errno);
		return;
	}
	if (connect(job->fd, (struct sockaddr *)&ss, sl) == 0) {
		sts_connected(job);
		return;
	}
	if (errno != EINPROGRESS) {
		sts_connect_failed(job, errno);
		return;
	}
	job->io = loop_io_add(job->d->q->srv->loop, job->fd, LOOP_WRITE, sts_connect_ready, job);
}

static void
sts_addrs_done(void *ctx, struct dns_result *res)
{
	struct queue_sts_job *job = ctx;

	job->dnsq = NULL;
	if (res->status != DNS_OK || res->count == 0) {
		dns_result_free(&res);
		sts_fetch_failed(job, "no address for the policy host");
		return;
	}
	job->naddrs = res->count < QUEUE_MAX_ADDRS ? res->count : QUEUE_MAX_ADDRS;
	memcpy(job->addrs, res->addrs, job->naddrs * sizeof(job->addrs[0]));
	job->addr_i = 0;
	dns_result_free(&res);
	sts_connect_next(job);
}

static void
sts_fetch_start(struct queue_sts_job *job)
{
	char host[DNS_NAME_TEXT_MAX + 8];
	const char *error = NULL;

	sts_host(job, host, sizeof(host));
	job->timer = loop_timer_add(job->d->q->srv->loop, QUEUE_STS_FETCH_TIMEOUT_MS, sts_timer,
				    job);
	job->dnsq = dns_lookup_addresses(job->d->q->dns, host, DNS_ADDR_IPV4_FIRST, sts_addrs_done,
					 job, &error);
	if (job->dnsq == NULL)
		sts_fetch_failed(job, error);
}

/* ---- the cache lookup ---- */

static void
sts_get_work(void *ctx)
{
	struct queue_sts_job *job = ctx;
	const char *error = NULL;

	job->cache_ret = job->d != NULL && job->d->q != NULL
				 ? store_sts_get(job->d->q->srv->store, job->domain, &job->cached,
						 &error)
				 : -1;
	if (job->cache_ret < 0 && error != NULL)
		snprintf(job->error, sizeof(job->error), "%.250s", error);
}

static void
sts_get_done(void *ctx)
{
	struct queue_sts_job *job = ctx;
	struct queue_sts_policy *cached;

	job->in_worker = false;
	if (!sts_job_live(job)) {
		sts_job_free(job);
		return;
	}
	if (job->cache_ret < 0) {
		log_warning("queue", "MTA-STS cache of %s: %s", job->domain, job->error);
		job->error[0] = '\0';
	}
	cached = sts_cached_policy(job);
	/* RFC 8461 5.1: the cached policy stays in force while it is fresh,
	 * unless the TXT record announces another id */
	if (cached != NULL && (job->txt_id[0] == '\0' || strcmp(job->txt_id,
								 job->cached.policy_id) == 0)) {
		sts_mem_put(job->d->q, job->domain, job->cached.policy_id, job->cached.expires,
			    cached);
		sts_proceed(job, cached);
		return;
	}
	mem_free(&cached);
	if (job->txt_id[0] == '\0') {
		sts_proceed(job, NULL); /* no policy announced, none cached */
		return;
	}
	sts_fetch_start(job);
}

/* ---- the TXT record (RFC 8461 3.1) ---- */

static void
sts_txt_done(void *ctx, struct dns_result *res)
{
	struct delivery *d = ctx;
	struct queue_sts_job *job = d->tls_route->sts_job;
	struct queue_sts_mem_entry *mem;
	size_t found = 0;
	int valid = 0;

	d->dnsq = NULL;
	if (res->status == DNS_OK) {
		for (size_t i = 0; i < res->count; i++) {
			char id[QUEUE_STS_ID_MAX + 1];
			const char *error = NULL;
			int r = queue_sts_txt_parse(res->txt[i].joined.data, res->txt[i].joined.len,
						    id, &error);

			if (r == 0)
				continue; /* not an MTA-STS record: discarded */
			found++;
			if (r == 1) {
				valid = 1;
				memcpy(job->txt_id, id, sizeof(id));
			}
		}
	}
	/* 3.1: not exactly one record, or an invalid one: no policy announced */
	if (found != 1 || !valid)
		job->txt_id[0] = '\0';
	dns_result_free(&res);
	/* RFC 8461 5.1: the policy cached in memory, on the same terms as the
	 * store's (fresh, and named by the TXT id unless there is none) */
	mem = sts_mem_find(d->q, job->domain);
	if (mem != NULL && (job->txt_id[0] == '\0' || strcmp(job->txt_id, mem->policy_id) == 0)) {
		log_debug("queue", "%s: MTA-STS policy of %s (id %s) from memory", d->queue_id,
			  job->domain, mem->policy_id);
		sts_proceed(job, mem_memdup(mem->policy, sizeof(*mem->policy)));
		return;
	}
	job->in_worker = true;
	worker_pool_submit(d->q->srv->pool, sts_get_work, sts_get_done, job);
}

/* The policy (or NULL) is decided: note it and look up the MX. */
static void
sts_proceed(struct queue_sts_job *job, struct queue_sts_policy *policy)
{
	struct delivery *d = job->d;
	struct queue_tls_route *r = queue_tls_route_get(d);

	r->sts_job = NULL;
	sts_job_free(job);
	mem_free(&r->sts);
	r->sts = policy;
	delivery_lookup_mx(d);
}

void
queue_sts_hop_start(struct delivery *d)
{
	struct queue_hop *h = &d->hops[d->hop];
	struct queue_tls_route *r = queue_tls_route_get(d);
	struct queue_sts_job *job;
	char name[DNS_NAME_TEXT_MAX + 16];
	const char *error = NULL;

	if (!d->q->set.mta_sts || strlen(h->nh.domain) > STORE_STS_DOMAIN_MAX) {
		delivery_lookup_mx(d);
		return;
	}
	job = mem_zalloc(sizeof(*job));
	job->d = d;
	job->fd = -1;
	snprintf(job->domain, sizeof(job->domain), "%s", h->nh.domain);
	r->sts_job = job;
	snprintf(name, sizeof(name), "_mta-sts.%s", h->nh.domain);
	d->dnsq = dns_lookup_txt(d->q->dns, name, sts_txt_done, d, &error);
	if (d->dnsq == NULL) {
		/* an odd name: no MTA-STS for it; the MX lookup will judge it */
		r->sts_job = NULL;
		sts_job_free(job);
		delivery_lookup_mx(d);
	}
}
