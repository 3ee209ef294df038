/*
 * queue-policy.c - retry schedule, routing verdicts and reply outcomes for
 * the outbound queue (see queue-policy.h).
 */
#include "queue/queue-policy.h"

#include <arpa/inet.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

void
queue_policy_init_default(struct queue_policy *policy)
{
	policy->retry_min = 300;
	policy->retry_max = 4 * 3600;
	policy->lifetime = 5 * 24 * 3600;
	policy->delay_warning = 4 * 3600;
}

int64_t
queue_next_attempt(const struct queue_policy *policy, int64_t arrival, int64_t now,
		   uint32_t attempts)
{
	uint64_t delay = policy->retry_min > 0 ? policy->retry_min : 1;
	int64_t next, end = arrival + (int64_t)policy->lifetime;

	for (uint32_t i = 1; i < attempts && delay < policy->retry_max; i++)
		delay *= 2;
	if (delay > policy->retry_max && policy->retry_max > 0)
		delay = policy->retry_max;
	next = now + (int64_t)delay;
	/* one last try when the lifetime ends, then the bounce */
	if (now < end && next > end)
		next = end;
	return next;
}

bool
queue_expired(const struct queue_policy *policy, int64_t arrival, int64_t now)
{
	return now - arrival >= (int64_t)policy->lifetime;
}

bool
queue_delay_warning_due(const struct queue_policy *policy, int64_t arrival, int64_t now)
{
	return policy->delay_warning != 0 && now - arrival >= (int64_t)policy->delay_warning &&
	       !queue_expired(policy, arrival, now);
}

/* RFC 5321 4.1.2 / 4.1.3: the domain of a forward path, or a literal. */
int
queue_nexthop_parse(const char *address, struct queue_nexthop *hop_r, const char **error_r)
{
	const char *at = strrchr(address, '@'), *dom;
	size_t len;

	memset(hop_r, 0, sizeof(*hop_r));
	if (at == NULL || at == address || at[1] == '\0') {
		*error_r = "address has no domain";
		return -1;
	}
	dom = at + 1;
	len = strlen(dom);
	if (dom[0] == '[') {
		struct in6_addr a6;
		struct in_addr a4;
		const char *ip = dom + 1;

		if (len < 3 || dom[len - 1] != ']' || len - 2 > QUEUE_DOMAIN_MAX) {
			*error_r = "invalid address literal";
			return -1;
		}
		if (strncasecmp(ip, "IPv6:", 5) == 0)
			ip += 5;
		len = (size_t)(dom + len - 1 - ip);
		memcpy(hop_r->domain, ip, len);
		hop_r->domain[len] = '\0';
		if (ip == dom + 1 ? inet_pton(AF_INET, hop_r->domain, &a4) != 1
				  : inet_pton(AF_INET6, hop_r->domain, &a6) != 1) {
			*error_r = "invalid address literal";
			return -1;
		}
		hop_r->literal = true;
		return 0;
	}
	if (len > QUEUE_DOMAIN_MAX || len == 0) {
		*error_r = "domain too long";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)dom[i];

		/* letters, digits, '-', '.' and UTF-8 (SMTPUTF8 domains) */
		if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '.')) {
			*error_r = "invalid character in domain";
			return -1;
		}
		hop_r->domain[i] = c >= 'A' && c <= 'Z' ? (char)(c + 32) : (char)c;
	}
	hop_r->domain[len] = '\0';
	return 0;
}

void
queue_route_from_mx(const struct dns_result *mx, struct queue_route *route_r)
{
	memset(route_r, 0, sizeof(*route_r));
	route_r->secure = mx->security == DNS_SEC_SECURE;
	switch (mx->status) {
	case DNS_OK:
		if (mx->null_mx) {
			/* RFC 7505 3: the domain accepts no mail */
			route_r->verdict = QUEUE_ROUTE_PERMFAIL;
			route_r->dsn = "5.1.10";
			route_r->reason = "domain accepts no mail (null MX)";
			return;
		}
		route_r->verdict = QUEUE_ROUTE_HOSTS;
		route_r->count = mx->count;
		{
			const char **hosts = mem_array(mx->count, sizeof(*hosts));

			for (size_t i = 0; i < mx->count; i++)
				hosts[i] = mx->mx[i].host;
			route_r->hosts = hosts;
		}
		return;
	case DNS_NODATA:
		/* RFC 5321 5.1: no MX, the domain is its own host */
		route_r->verdict = QUEUE_ROUTE_IMPLICIT;
		return;
	case DNS_NXDOMAIN:
		route_r->verdict = QUEUE_ROUTE_PERMFAIL;
		route_r->dsn = "5.1.2";
		route_r->reason = "domain does not exist";
		return;
	case DNS_TEMPFAIL:
	case DNS_TIMEOUT:
		break;
	}
	route_r->verdict = QUEUE_ROUTE_TEMPFAIL;
	route_r->dsn = "4.4.3";
	route_r->reason = mx->status == DNS_TIMEOUT ? "DNS lookup timed out"
						    : "DNS lookup failed temporarily";
}

void
queue_route_deinit(struct queue_route *route)
{
	const char **hosts = (const char **)route->hosts;

	mem_free(&hosts);
	route->hosts = NULL;
	route->count = 0;
}

enum queue_outcome
queue_outcome_of(unsigned code, const char *enhanced, const char **dsn_r)
{
	unsigned cls = code / 100;
	bool enh_ok = enhanced != NULL && enhanced[0] != '\0' && enhanced[1] == '.' &&
		      (unsigned)(enhanced[0] - '0') == cls;

	if (code == 0) {
		*dsn_r = "4.4.2";
		return QUEUE_OUTCOME_DEFERRED;
	}
	if (cls == 2) {
		*dsn_r = enh_ok ? enhanced : "2.0.0";
		return QUEUE_OUTCOME_SENT;
	}
	if (cls == 5) {
		*dsn_r = enh_ok ? enhanced : "5.0.0";
		return QUEUE_OUTCOME_BOUNCED;
	}
	/* 4xx, and anything nonsensical (1xx, 3xx where a final reply was due):
	 * temporary, so nothing is lost on a confused server */
	*dsn_r = enh_ok && cls == 4 ? enhanced : "4.0.0";
	return QUEUE_OUTCOME_DEFERRED;
}
