/*
 * store-sts.c - the public MTA-STS cache functions of store.h (RFC 8461
 * 5.1): argument checks, the domain lower-cased, then the backend.
 *
 * Does not: parse or judge the policy (queue/queue-sts.h), or drop expired
 * entries (the caller compares expires with the time).
 *
 * The backends are reached through their vtables' sts_ entries.
 */
#include "store/store-private.h"

#include <string.h>

#include "core/mem.h"

/* domain lower-cased into out; false when empty, too long or not a name. */
static bool
sts_domain(const char *domain, char out[STORE_STS_DOMAIN_MAX + 1])
{
	size_t len = domain != NULL ? strlen(domain) : 0;

	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > STORE_STS_DOMAIN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)domain[i];

		if (c <= 0x20 || c >= 0x7f)
			return false;
		out[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
	}
	out[len] = '\0';
	return true;
}

static bool
sts_id_valid(const char *id)
{
	size_t len = strlen(id);

	if (len == 0 || len > STORE_STS_ID_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = id[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

int
store_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
	      const char **error_r)
{
	char d[STORE_STS_DOMAIN_MAX + 1];

	ERROR_R_GUARD(error_r);
	memset(policy_r, 0, sizeof(*policy_r));
	if (!sts_domain(domain, d))
		return 0;
	return store->v->sts_get(store, d, policy_r, error_r);
}

int
store_sts_put(struct store *store, const struct store_sts_policy *policy, const char **error_r)
{
	struct store_sts_policy p = *policy;

	ERROR_R_GUARD(error_r);
	if (!sts_domain(policy->domain, p.domain)) {
		*error_r = "invalid MTA-STS policy domain";
		return -1;
	}
	if (!sts_id_valid(policy->policy_id)) {
		*error_r = "invalid MTA-STS policy id";
		return -1;
	}
	if (policy->policy == NULL || strlen(policy->policy) > STORE_STS_POLICY_MAX) {
		*error_r = "invalid MTA-STS policy text";
		return -1;
	}
	return store->v->sts_put(store, &p, error_r);
}

int
store_sts_delete(struct store *store, const char *domain, const char **error_r)
{
	char d[STORE_STS_DOMAIN_MAX + 1];

	ERROR_R_GUARD(error_r);
	if (!sts_domain(domain, d))
		return 0;
	return store->v->sts_delete(store, d, error_r);
}

void
store_sts_policy_deinit(struct store_sts_policy *policy)
{
	mem_free(&policy->policy);
}
