/*
 * dns-resolver.c - the asynchronous resolver: libunbound in threaded async
 * mode, its result pipe (ub_fd) watched by the event loop, one loop timer
 * per lookup for the overall timeout.
 *
 * What it does: configures an ub_ctx (forwarders or resolv.conf, trust
 * anchor), starts one or two libunbound queries per lookup (two for
 * A+AAAA), turns each ub_result into a struct dns_result (status from RCODE
 * and DNSSEC flags, records through dns-result.c) and calls the lookup's
 * callback once everything it asked has come back or the timer fired.
 *
 * What it does not do: no caching of its own (libunbound caches, honouring
 * TTLs), no retries beyond libunbound's, no policy (dns-resolver.h).
 *
 * Invariants: every live struct dns_query is on resolver->queries; a query
 * whose callback has been called or that was cancelled is unlinked and
 * freed at once, and every libunbound query it still had is ub_cancel()ed
 * first, so a libunbound callback never sees a freed query. A query's timer
 * always exists while it is live.
 */
#include "dns/dns-resolver.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unbound.h>
#include <unistd.h>

#include "core/loop.h"
#include "core/mem.h"
#include "core/net.h"
#include "dns/dns-name.h"
#include "dns/dns-result.h"

#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define CLASS_IN 1

struct dns_query;

/* One libunbound query of a lookup. */
struct dns_part {
	struct dns_query *query;
	enum dns_type type;  /* DNS_TYPE_A, _AAAA, _MX, _TXT or _TLSA */
	int async_id;
	bool pending;        /* started and not yet answered */
	struct dns_result *result;
};

struct dns_query {
	struct dns_resolver *resolver;
	struct dns_query *prev, *next;
	enum dns_type type;
	unsigned int flags;
	char *qname;
	dns_result_cb *cb;
	void *ctx;
	struct loop_timer *timer;
	bool starting; /* inside dns_lookup_*(): never call back from there */
	unsigned int nparts;
	struct dns_part parts[2];
};

struct dns_resolver {
	struct loop *loop;
	struct ub_ctx *ub;
	struct loop_io *io;
	uint64_t timeout_msecs;
	bool validates;
	bool in_callback;
	unsigned int pending;
	struct dns_query *queries;
};

static void resolver_readable(void *ctx, unsigned int events);

/* ---- settings ---- */

int
dns_resolver_check_address(const char *text, const char **error_r)
{
	return net_ip_port_list_foreach(text, DNS_RESOLVER_MAX_ADDRS, NULL, NULL, error_r) < 0
		       ? -1
		       : 1;
}

static int
forward_item(void *ctx, const char *item, size_t len, const char **error_r)
{
	struct ub_ctx *ub = ctx;
	char addr[INET6_ADDRSTRLEN + 8];

	if (len >= sizeof(addr)) {
		*error_r = "not an IP address (IP or IP@port, comma-separated)";
		return -1;
	}
	memcpy(addr, item, len);
	addr[len] = '\0';
	if (ub_ctx_set_fwd(ub, addr) != 0) {
		*error_r = "libunbound refused the resolver address";
		return -1;
	}
	return 1;
}

static int
setup_trust_anchor(struct dns_resolver *r, const char *ta, const char **error_r)
{
	if (ta == NULL || ta[0] == '\0') {
		if (access(DNS_DEFAULT_TRUST_ANCHOR, R_OK) != 0)
			return 1;
		ta = DNS_DEFAULT_TRUST_ANCHOR;
	} else if (strcmp(ta, "none") == 0) {
		return 1;
	}
	if (access(ta, R_OK) != 0) {
		*error_r = "cannot read the DNSSEC trust anchor file";
		return -1;
	}
	if (ub_ctx_add_ta_file(r->ub, ta) != 0) {
		*error_r = "libunbound refused the DNSSEC trust anchor file";
		return -1;
	}
	r->validates = true;
	return 1;
}

struct dns_resolver *
dns_resolver_new(struct loop *loop, const struct dns_settings *set, const char **error_r)
{
	struct dns_resolver *r = mem_zalloc(sizeof(*r));
	const char *resolv_conf = set->resolv_conf != NULL ? set->resolv_conf : "/etc/resolv.conf";
	int n, fd;

	r->loop = loop;
	r->timeout_msecs = set->timeout_msecs != 0 ? set->timeout_msecs : DNS_DEFAULT_TIMEOUT_MSECS;
	r->ub = ub_ctx_create();
	if (r->ub == NULL) {
		*error_r = "cannot create the libunbound context";
		mem_free(&r);
		return NULL;
	}
	/* The admin chose these servers: loopback ones too (a local unbound
	 * or systemd-resolved), which libunbound skips by default. */
	if (ub_ctx_set_option(r->ub, "do-not-query-localhost:", "no") != 0) {
		*error_r = "cannot set libunbound options";
		goto fail;
	}
	n = set->resolver != NULL ? net_ip_port_list_foreach(set->resolver, DNS_RESOLVER_MAX_ADDRS,
							     forward_item, r->ub, error_r)
				  : 0;
	if (n < 0)
		goto fail;
	if (n == 0 && ub_ctx_resolvconf(r->ub, resolv_conf) != 0) {
		*error_r = "cannot read resolv.conf";
		goto fail;
	}
	if (setup_trust_anchor(r, set->trust_anchor, error_r) < 0)
		goto fail;
	/* Threaded, not forked: the background worker shares our memory and
	 * needs no privileges of its own. */
	if (ub_ctx_async(r->ub, 1) != 0) {
		*error_r = "cannot set libunbound to threaded mode";
		goto fail;
	}
	/* Load the configuration (and the trust anchor file) now, not at the
	 * first query: errors show at startup, and no file is read later, when
	 * privileges are gone. ub_ctx_zone_remove() does that first; what it
	 * removes is libunbound's built-in NXDOMAIN zone for "test." (RFC 6761
	 * 6.2), so that such names go to the resolver like any other: test and
	 * lab setups use them, and a public resolver answers NXDOMAIN anyway. */
	if (ub_ctx_zone_remove(r->ub, "test.") != 0) {
		*error_r = "libunbound could not load its configuration (trust anchor file?)";
		goto fail;
	}
	fd = ub_fd(r->ub);
	if (fd < 0) {
		*error_r = "libunbound has no result descriptor";
		goto fail;
	}
	r->io = loop_io_add(loop, fd, LOOP_READ, resolver_readable, r);
	return r;
fail:
	ub_ctx_delete(r->ub);
	mem_free(&r);
	return NULL;
}

bool
dns_resolver_validates(const struct dns_resolver *resolver)
{
	return resolver->validates;
}

unsigned int
dns_resolver_pending(const struct dns_resolver *resolver)
{
	return resolver->pending;
}

/* ---- results ---- */

/* name in the form of dns.h: lower case, no trailing dot (libunbound gives
 * canonname with one). */
static char *
name_normalize(const char *name)
{
	size_t len = strlen(name);
	char *out;

	if (len > 1 && name[len - 1] == '.')
		len--;
	out = mem_strndup(name, len);
	for (char *p = out; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return out;
}

static struct dns_result *
result_new(enum dns_type type, const char *qname)
{
	struct dns_result *res = mem_zalloc(sizeof(*res));

	res->type = type;
	res->rcode = -1;
	res->qname = mem_strdup(qname);
	res->canonical = mem_strdup(qname);
	res->status_a = res->status_aaaa = DNS_NODATA;
	return res;
}

static const char *
rcode_name(int rcode)
{
	switch (rcode) {
	case 1:
		return "FORMERR";
	case 2:
		return "SERVFAIL";
	case 4:
		return "NOTIMP";
	case 5:
		return "REFUSED";
	default:
		return "error";
	}
}

/* Fills part->result from what libunbound says (RFC 2308 for negative
 * answers; RFC 4035 4.3 for the DNSSEC state). */
static void
result_from_ub(struct dns_result *res, int err, struct ub_result *ub)
{
	size_t n = 0;

	if (err != 0 || ub == NULL) {
		dns_result_set_error(res, DNS_TEMPFAIL, "resolver error: %s", ub_strerror(err));
		return;
	}
	res->rcode = ub->rcode;
	if (ub->canonname != NULL) {
		mem_free(&res->canonical);
		res->canonical = name_normalize(ub->canonname);
	}
	if (ub->bogus) {
		/* RFC 4033 5, RFC 7672 2.1.1: bogus data is never used. */
		res->security = DNS_SEC_BOGUS;
		dns_result_set_error(res, DNS_TEMPFAIL, "DNSSEC validation failed: %s",
				     ub->why_bogus != NULL ? ub->why_bogus : "bogus");
		return;
	}
	res->security = ub->secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	if (ub->rcode == RCODE_NXDOMAIN || ub->nxdomain) {
		res->status = DNS_NXDOMAIN;
		return;
	}
	if (ub->rcode != 0) {
		dns_result_set_error(res, DNS_TEMPFAIL, "server answered %s (rcode %d)",
				     rcode_name(ub->rcode), ub->rcode);
		return;
	}
	if (ub->havedata) {
		while (ub->data[n] != NULL)
			n++;
	}
	if (n > 0) {
		const uint8_t **data = mem_array(n, sizeof(*data));
		size_t *len = mem_array(n, sizeof(*len));

		for (size_t i = 0; i < n; i++) {
			data[i] = (const uint8_t *)ub->data[i];
			len[i] = ub->len[i] < 0 ? 0 : (size_t)ub->len[i];
		}
		if (dns_result_set_records(res, n, data, len, NULL, NULL) > 0)
			res->ttl = ub->ttl < 0 ? 0 : (uint32_t)ub->ttl;
		mem_free(&data);
		mem_free(&len);
	} else {
		res->status = DNS_NODATA;
	}
}

/* Rank of a half's status for combining A and AAAA. */
static int
status_rank(enum dns_status s)
{
	switch (s) {
	case DNS_OK:
		return 4;
	case DNS_NXDOMAIN:
		return 3;
	case DNS_TIMEOUT:
		return 2;
	case DNS_TEMPFAIL:
		return 1;
	case DNS_NODATA:
		return 0;
	}
	return 0;
}

/* The A+AAAA result of dns_lookup_addresses() (see its contract). */
static struct dns_result *
result_combine(struct dns_query *q)
{
	struct dns_result *res = result_new(DNS_TYPE_ADDRESSES, q->qname);
	struct dns_result *best = NULL;
	bool any_bogus = false, all_secure = true;
	size_t total = 0;

	res->status = DNS_NODATA;
	for (unsigned int i = 0; i < q->nparts; i++) {
		struct dns_result *p = q->parts[i].result;

		if (p->type == DNS_TYPE_A) {
			res->status_a = p->status;
			res->security_a = p->security;
		} else {
			res->status_aaaa = p->status;
			res->security_aaaa = p->security;
		}
		any_bogus = any_bogus || p->security == DNS_SEC_BOGUS;
		all_secure = all_secure && p->security == DNS_SEC_SECURE;
		total += p->count;
		if (best == NULL || status_rank(p->status) > status_rank(best->status))
			best = p;
	}
	res->security = any_bogus ? DNS_SEC_BOGUS : all_secure ? DNS_SEC_SECURE : DNS_SEC_INSECURE;
	res->status = best->status;
	res->rcode = best->rcode;
	res->ttl = best->ttl;
	mem_free(&res->canonical);
	res->canonical = mem_strdup(best->canonical);
	if (best->error != NULL)
		res->error = mem_strdup(best->error);
	if (total > 0) {
		res->addrs = mem_array(total, sizeof(*res->addrs));
		for (unsigned int i = 0; i < q->nparts; i++) {
			struct dns_result *p = q->parts[i].result;

			if (p->count > 0)
				memcpy(res->addrs + res->count, p->addrs,
				       mem_size_mul(p->count, sizeof(*p->addrs)));
			res->count += p->count;
			if (p->ttl < res->ttl && p->count > 0)
				res->ttl = p->ttl;
		}
	}
	return res;
}

/* ---- queries ---- */

static void
query_unlink(struct dns_query *q)
{
	struct dns_resolver *r = q->resolver;

	if (q->prev != NULL)
		q->prev->next = q->next;
	else
		r->queries = q->next;
	if (q->next != NULL)
		q->next->prev = q->prev;
	r->pending--;
}

/* Cancels what is still running in libunbound and frees q (unlinked). */
static void
query_free(struct dns_query *q)
{
	for (unsigned int i = 0; i < q->nparts; i++) {
		struct dns_part *p = &q->parts[i];

		if (p->pending)
			(void)ub_cancel(q->resolver->ub, p->async_id);
		dns_result_free(&p->result);
	}
	loop_timer_remove(&q->timer);
	mem_free(&q->qname);
	mem_free(&q);
}

static void
query_finish(struct dns_query *q)
{
	struct dns_resolver *r = q->resolver;
	struct dns_result *res;
	dns_result_cb *cb = q->cb;
	void *ctx = q->ctx;
	bool was_in;

	if (q->type == DNS_TYPE_ADDRESSES) {
		res = result_combine(q);
	} else {
		res = q->parts[0].result;
		q->parts[0].result = NULL;
	}
	query_unlink(q);
	query_free(q);
	was_in = r->in_callback;
	r->in_callback = true;
	cb(ctx, res);
	r->in_callback = was_in;
}

static bool
query_done(const struct dns_query *q)
{
	for (unsigned int i = 0; i < q->nparts; i++) {
		if (q->parts[i].pending)
			return false;
	}
	return true;
}

/* libunbound's callback, from ub_process() on the loop thread. */
static void
part_answer(void *mydata, int err, struct ub_result *ub)
{
	struct dns_part *p = mydata;
	struct dns_query *q = p->query;

	p->pending = false;
	result_from_ub(p->result, err, ub);
	if (ub != NULL)
		ub_resolve_free(ub);
	if (!query_done(q))
		return;
	if (q->starting)
		loop_timer_reset(q->timer, 0); /* answer at once, but not from inside */
	else
		query_finish(q);
}

static void
query_timeout(void *ctx)
{
	struct dns_query *q = ctx;

	for (unsigned int i = 0; i < q->nparts; i++) {
		struct dns_part *p = &q->parts[i];

		if (!p->pending)
			continue;
		(void)ub_cancel(q->resolver->ub, p->async_id);
		p->pending = false;
		dns_result_set_error(p->result, DNS_TIMEOUT, "no answer within %llu ms",
				     (unsigned long long)q->resolver->timeout_msecs);
	}
	query_finish(q);
}

static void
resolver_readable(void *ctx, unsigned int events)
{
	struct dns_resolver *r = ctx;
	bool was_in = r->in_callback;

	r->in_callback = true;
	(void)ub_process(r->ub);
	r->in_callback = was_in;
}

static struct dns_query *
query_start(struct dns_resolver *r, enum dns_type type, unsigned int flags, const char *name,
	    dns_result_cb *cb, void *ctx, const char **error_r)
{
	struct dns_query *q;
	enum dns_type types[2];
	unsigned int n = 0;

	if (dns_name_check(name, error_r) < 0)
		return NULL;
	if (type == DNS_TYPE_ADDRESSES) {
		bool v4first = (flags & DNS_ADDR_IPV4_FIRST) != 0;

		if ((flags & DNS_ADDR_IPV4_ONLY) && (flags & DNS_ADDR_IPV6_ONLY)) {
			*error_r = "both IPv4 only and IPv6 only";
			return NULL;
		}
		if (!(flags & DNS_ADDR_IPV6_ONLY) && v4first)
			types[n++] = DNS_TYPE_A;
		if (!(flags & DNS_ADDR_IPV4_ONLY))
			types[n++] = DNS_TYPE_AAAA;
		if (!(flags & DNS_ADDR_IPV6_ONLY) && !v4first)
			types[n++] = DNS_TYPE_A;
	} else {
		types[n++] = type;
	}
	q = mem_zalloc(sizeof(*q));
	q->resolver = r;
	q->type = type;
	q->flags = flags;
	q->qname = name_normalize(name);
	q->cb = cb;
	q->ctx = ctx;
	q->nparts = n;
	q->starting = true;
	q->timer = loop_timer_add(r->loop, r->timeout_msecs, query_timeout, q);
	q->next = r->queries;
	if (q->next != NULL)
		q->next->prev = q;
	r->queries = q;
	r->pending++;
	for (unsigned int i = 0; i < n; i++) {
		struct dns_part *p = &q->parts[i];

		p->query = q;
		p->type = types[i];
		p->result = result_new(types[i], q->qname);
	}
	for (unsigned int i = 0; i < n; i++) {
		struct dns_part *p = &q->parts[i];
		int err;

		p->pending = true;
		err = ub_resolve_async(r->ub, q->qname, (int)p->type, CLASS_IN, p, part_answer,
				       &p->async_id);
		if (err != 0) {
			p->pending = false;
			dns_result_set_error(p->result, DNS_TEMPFAIL, "resolver error: %s",
					     ub_strerror(err));
		}
	}
	q->starting = false;
	if (query_done(q))
		loop_timer_reset(q->timer, 0);
	return q;
}

struct dns_query *
dns_lookup_mx(struct dns_resolver *resolver, const char *name, dns_result_cb *cb, void *ctx,
	      const char **error_r)
{
	return query_start(resolver, DNS_TYPE_MX, 0, name, cb, ctx, error_r);
}

struct dns_query *
dns_lookup_addresses(struct dns_resolver *resolver, const char *name, unsigned int flags,
		     dns_result_cb *cb, void *ctx, const char **error_r)
{
	return query_start(resolver, DNS_TYPE_ADDRESSES, flags, name, cb, ctx, error_r);
}

struct dns_query *
dns_lookup_a(struct dns_resolver *resolver, const char *name, dns_result_cb *cb, void *ctx,
	     const char **error_r)
{
	return query_start(resolver, DNS_TYPE_A, 0, name, cb, ctx, error_r);
}

struct dns_query *
dns_lookup_aaaa(struct dns_resolver *resolver, const char *name, dns_result_cb *cb, void *ctx,
		const char **error_r)
{
	return query_start(resolver, DNS_TYPE_AAAA, 0, name, cb, ctx, error_r);
}

struct dns_query *
dns_lookup_txt(struct dns_resolver *resolver, const char *name, dns_result_cb *cb, void *ctx,
	       const char **error_r)
{
	return query_start(resolver, DNS_TYPE_TXT, 0, name, cb, ctx, error_r);
}

struct dns_query *
dns_lookup_tlsa(struct dns_resolver *resolver, const char *host, uint16_t port,
		dns_result_cb *cb, void *ctx, const char **error_r)
{
	char name[300];
	int n;

	if (dns_name_check(host, error_r) < 0)
		return NULL;
	n = snprintf(name, sizeof(name), "_%u._tcp.%s", (unsigned int)port, host);
	if (n < 0 || (size_t)n >= sizeof(name)) {
		*error_r = "TLSA name too long";
		return NULL;
	}
	return query_start(resolver, DNS_TYPE_TLSA, 0, name, cb, ctx, error_r);
}

void
dns_query_cancel(struct dns_query **query)
{
	struct dns_query *q = *query;

	if (q == NULL)
		return;
	*query = NULL;
	query_unlink(q);
	query_free(q);
}

void
dns_resolver_free(struct dns_resolver **resolver)
{
	struct dns_resolver *r = *resolver;

	if (r == NULL)
		return;
	if (r->in_callback)
		PANIC("dns_resolver_free() called from a dns callback");
	while (r->queries != NULL) {
		struct dns_query *q = r->queries;

		query_unlink(q);
		query_free(q);
	}
	loop_io_remove(&r->io);
	ub_ctx_delete(r->ub);
	mem_free(resolver);
}
