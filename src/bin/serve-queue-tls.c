/*
 * serve-queue-tls.c - the TLS a next hop must offer (serve-queue-private.h,
 * struct queue_tls_need), and the TLS client connection set up for it.
 *
 * Levels, strongest first:
 *   DANE (RFC 7672): the MX RRset (or, for an implicit MX, the host's
 *     addresses) and the host's addresses are DNSSEC-secure, dane is on and
 *     a secure TLSA RRset at _PORT._tcp.HOST holds usable records
 *     (DANE-TA(2), DANE-EE(3); RFC 7672 3.1.3). STARTTLS is required and the
 *     certificate must match a record (tls_client_conn_new_dane, on the
 *     runner's one DANE context, q->dane, made at the first use; the
 *     records go on each connection); the TLSA base domain is the MX host
 *     name (RFC 7672 3.2.2). A secure, non-empty TLSA RRset with no usable
 *     record (PKIX-TA/PKIX-EE usages, unknown selector or matching type)
 *     makes TLS mandatory but unauthenticated: ENCRYPT at least (RFC 7672
 *     2.2: "mandatory unauthenticated TLS"; Postfix "encrypt"), so a host
 *     without STARTTLS or whose handshake fails gets no mail in plain
 *     text.
 *   VERIFY (RFC 8461 4.2): the recipient domain has an MTA-STS policy in
 *     enforce mode and the host matches it: STARTTLS required, the chain
 *     verified against smtp_outbound_ca_file (or the system's CAs) and
 *     valid for the MX host name. DANE beats it (RFC 8461 2).
 *   else the configured smtp_outbound_tls level (MAY or ENCRYPT), the
 *     certificate unchecked (RFC 7435, RFC 7672 1.3).
 *
 * The TLSA lookup itself, and the deferral of a host whose TLSA answer is
 * bogus or failed (RFC 7672 2.1.1), are serve-queue-route.c's.
 *
 * REQUIRETLS (RFC 8689 4.2.1): an entry that requires TLS gets DANE, or
 * VERIFY (PKIX with the MX name) for a host named by an MTA-STS policy or a
 * DNSSEC-secure MX RRset, or by the relay configuration; other hosts are
 * not used (queue_tls_requiretls_ok, asked by serve-queue-route.c before
 * connecting). "TLS-Required: No" (RFC 8689 5) in an entry without
 * REQUIRETLS turns every level into MAY: TLS is tried, nothing fails for it.
 *
 * Does not: check that the next hop offers REQUIRETLS or pass it on in MAIL
 * FROM (the SMTP client's job, serve-queue-conn.c and smtp/).
 */
#include "bin/serve-queue-tls.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

/* ---- route data (serve-queue-tls.h) ---- */

struct queue_tls_route *
queue_tls_route_get(struct delivery *d)
{
	if (d->tls_route == NULL)
		d->tls_route = mem_zalloc(sizeof(*d->tls_route));
	return d->tls_route;
}

void
queue_tls_route_host_reset(struct delivery *d)
{
	struct queue_tls_route *r = d->tls_route;

	if (r == NULL)
		return;
	for (size_t i = 0; i < r->ntlsa; i++)
		mem_free(&r->tlsa[i].data);
	mem_free(&r->tlsa);
	r->ntlsa = 0;
	r->tlsa_secure = false;
	r->tlsa_unusable = false;
}

void
queue_tls_route_free(struct delivery *d)
{
	if (d->tls_route == NULL)
		return;
	queue_tls_route_host_reset(d);
	queue_sts_job_cancel(&d->tls_route->sts_job);
	mem_free(&d->tls_route->sts);
	mem_free(&d->tls_route);
}

void
queue_tls_route_set_tlsa(struct delivery *d, const struct dns_result *res)
{
	struct queue_tls_route *r = queue_tls_route_get(d);
	size_t n = 0;

	queue_tls_route_host_reset(d);
	r->tlsa_secure = res->security == DNS_SEC_SECURE;
	if (res->status != DNS_OK || !r->tlsa_secure)
		return;
	r->tlsa = mem_array(res->count > 0 ? res->count : 1, sizeof(*r->tlsa));
	for (size_t i = 0; i < res->count; i++) {
		struct tls_dane_tlsa t = {
			.usage = res->tlsa[i].usage,
			.selector = res->tlsa[i].selector,
			.mtype = res->tlsa[i].mtype,
			.data = res->tlsa[i].data,
			.data_len = res->tlsa[i].data_len,
		};

		if (!tls_dane_tlsa_usable(&t))
			continue; /* RFC 7672 3.1.3: unusable records are ignored */
		t.data = mem_memdup(t.data, t.data_len);
		r->tlsa[n++] = t;
	}
	r->ntlsa = n;
	/* RFC 7672 2.2: records, none usable: TLS stays mandatory */
	r->tlsa_unusable = n == 0 && res->count > 0;
}

/* ---- the policy ---- */

/* RFC 8689 5: a "TLS-Required: No" header field in the message's header
 * section (unfolded value compared case-insensitively, blanks ignored). */
static bool
queue_tls_required_no(const struct delivery *d)
{
	const uint8_t *p = d->body;
	size_t len = d->body_size > 262144u ? 262144u : (size_t)d->body_size;
	size_t i = 0;

	while (p != NULL && i < len) {
		size_t eol = i;

		while (eol < len && p[eol] != '\n')
			eol++;
		if (eol == i || (eol == i + 1 && p[i] == '\r'))
			break; /* the end of the header section */
		if (eol - i >= 13 && strncasecmp((const char *)p + i, "TLS-Required:", 13) == 0) {
			size_t v = i + 13, e = eol;

			while (v < e && (p[v] == ' ' || p[v] == '\t'))
				v++;
			while (e > v && (p[e - 1] == '\r' || p[e - 1] == ' ' || p[e - 1] == '\t'))
				e--;
			/* a folded continuation would follow on the next line: "No"
			 * alone is all RFC 8689 5 defines */
			if (e - v == 2 && strncasecmp((const char *)p + v, "No", 2) == 0)
				return true;
		}
		i = eol + 1;
	}
	return false;
}

bool
queue_tls_requiretls_ok(struct delivery *d, const char **reason_r)
{
	const struct queue_tls_route *r = d->tls_route;

	*reason_r = NULL;
	if (!d->entry.requiretls)
		return true;
	if (r != NULL && r->tlsa_secure && r->ntlsa > 0)
		return true; /* DANE */
	if (r != NULL && r->sts != NULL && r->sts->mode == QUEUE_STS_MODE_ENFORCE &&
	    queue_sts_mx_match(r->sts, d->host))
		return true;
	if (r != NULL && r->mx_secure)
		return true; /* a name from a DNSSEC-secure MX RRset */
	if (d->via_relay && !d->hosts_are_literal)
		return true; /* a configured name */
	*reason_r = "REQUIRETLS: the host cannot be authenticated (no DANE, no DNSSEC-secure MX, "
		    "no MTA-STS policy naming it; RFC 8689 4.2.1)";
	return false;
}

void
queue_tls_need_for_host(struct delivery *d)
{
	enum smtp_client_tls_policy p = d->q != NULL ? d->q->set.tls : SMTP_CLIENT_TLS_NONE;
	const struct queue_tls_route *r = d->tls_route;

	d->tls_need.level = p == SMTP_CLIENT_TLS_REQUIRED	   ? QUEUE_TLS_ENCRYPT
			    : p == SMTP_CLIENT_TLS_OPPORTUNISTIC ? QUEUE_TLS_MAY
								 : QUEUE_TLS_NONE;
	/* RFC 7672 2.2: usable TLSA records make TLS mandatory and
	 * authenticated, whatever smtp_outbound_tls says */
	if (r != NULL && r->tlsa_secure && r->ntlsa > 0)
		d->tls_need.level = QUEUE_TLS_DANE;
	else if (r != NULL && r->sts != NULL && r->sts->mode == QUEUE_STS_MODE_ENFORCE &&
		 queue_sts_mx_match(r->sts, d->host))
		d->tls_need.level = QUEUE_TLS_VERIFY;
	else if (d->entry.requiretls)
		/* RFC 8689 4.2.1: PKIX with the (secure MX or relay) name;
		 * queue_tls_requiretls_ok said whether the name is usable */
		d->tls_need.level = QUEUE_TLS_VERIFY;
	/* RFC 7672 2.2: a secure TLSA RRset whose records are all unusable
	 * still says the host does TLS: mandatory, unauthenticated (Postfix
	 * "encrypt"); no plain-text fallback */
	if (r != NULL && r->tlsa_secure && r->tlsa_unusable &&
	    d->tls_need.level < QUEUE_TLS_ENCRYPT)
		d->tls_need.level = QUEUE_TLS_ENCRYPT;
	if (!d->entry.requiretls && d->tls_need.level != QUEUE_TLS_NONE &&
	    queue_tls_required_no(d))
		d->tls_need.level = QUEUE_TLS_MAY; /* RFC 8689 5 */
}

struct tls_client_ctx *
queue_tls_pkix_ctx_new(struct queue_runner *q, bool verify, const char **error_r)
{
	struct tls_client_settings ts;
	char path[4096];

	memset(&ts, 0, sizeof(ts));
	ts.verify = verify;
	if (q->set.ca_file != NULL && q->set.ca_file[0] != '\0') {
		if (q->set.ca_file[0] != '/' && q->set.config_dir != NULL &&
		    q->set.config_dir[0] != '\0')
			snprintf(path, sizeof(path), "%s/%s", q->set.config_dir, q->set.ca_file);
		else
			snprintf(path, sizeof(path), "%s", q->set.ca_file);
		ts.ca_file = path;
	}
	return tls_client_ctx_new(&ts, error_r);
}

void
queue_tls_need_clear(struct delivery *d)
{
	d->tls_need.level = QUEUE_TLS_NONE;
	/* no addresses left: the delivery or its hop is being freed (the
	 * connection code clears the need before every address of a host) */
	if (d->naddrs == 0)
		queue_tls_route_free(d);
}

struct tls_conn *
queue_tls_conn_new(struct delivery *d, int fd)
{
	const struct queue_tls_route *r = d->tls_route;

	if (d->q == NULL)
		return NULL;
	if (d->tls_need.level == QUEUE_TLS_DANE && r != NULL) {
		const char *error = NULL;
		struct tls_conn *t;

		if (d->q->dane == NULL) {
			d->q->dane = tls_client_dane_ctx_new(&error);
			if (d->q->dane == NULL) {
				log_error("queue", "%s: DANE TLS for %s: %s", d->queue_id, d->host,
					  error);
				return NULL;
			}
		}
		t = tls_client_conn_new_dane(d->q->dane, fd, d->host, r->tlsa, r->ntlsa, &error);
		if (t == NULL)
			log_error("queue", "%s: DANE TLS for %s: %s", d->queue_id, d->host, error);
		return t;
	}
	if (d->tls_need.level == QUEUE_TLS_VERIFY) {
		if (d->q->pkix == NULL) {
			log_error("queue", "%s: verified TLS for %s: no trust anchors "
				  "(smtp_outbound_ca_file did not load at start-up)",
				  d->queue_id, d->host);
			return NULL;
		}
		/* the outcome is judged in queue_tls_conn_ok (a reason to log) */
		return tls_client_conn_new(d->q->pkix, fd, d->host);
	}
	if (d->q->tls == NULL)
		return NULL;
	return tls_client_conn_new(d->q->tls, fd, d->host);
}

void
queue_tls_runner_free(struct queue_runner *q)
{
	tls_client_ctx_unref(&q->dane);
	queue_sts_cache_free(q);
}

bool
queue_tls_conn_ok(struct delivery *d, struct tls_conn *t, const char **reason_r)
{
	static char reason[400]; /* loop thread only; the caller copies it at once */
	const char *why = NULL;

	*reason_r = NULL;
	if (d->tls_need.level != QUEUE_TLS_DANE && d->tls_need.level != QUEUE_TLS_VERIFY)
		return true;
	if (tls_conn_peer_verified(t, &why))
		return true;
	if (d->tls_need.level == QUEUE_TLS_VERIFY) {
		/* RFC 8461 4.2: no valid certificate for the MX host, no mail */
		snprintf(reason, sizeof(reason),
			 "MTA-STS: certificate of %.200s not valid for it: %.80s", d->host,
			 why != NULL ? why : "not verified");
		*reason_r = reason;
		return false;
	}
	/* RFC 7672 2.2: no match, no mail over this connection */
	snprintf(reason, sizeof(reason), "DANE authentication failed (TLSA _%u._tcp.%.200s): %.60s",
		 d->port, d->host, why != NULL ? why : "not verified");
	*reason_r = reason;
	return false;
}
