/*
 * store-mem-sts.c - the MTA-STS policy cache of the in-memory store: an
 * array of copies under the store's lock, searched linearly. Arguments are
 * checked by store-sts.c.
 *
 * Invariant: s->sts is NULL whenever s->sts_count is 0 (the array is freed
 * when it empties, so a store whose entries were deleted holds nothing).
 */
#include "store/store-mem.h"

#include <string.h>

#include "core/mem.h"

static struct store_sts_policy *
sts_find(struct mem_store *s, const char *domain)
{
	for (size_t i = 0; i < s->sts_count; i++) {
		if (strcmp(s->sts[i].domain, domain) == 0)
			return &s->sts[i];
	}
	return NULL;
}

int
mem_sts_get(struct store *store, const char *domain, struct store_sts_policy *policy_r,
	    const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_sts_policy *p;
	int ret = 0;

	(void)error_r;
	pthread_mutex_lock(&s->lock);
	if ((p = sts_find(s, domain)) != NULL) {
		*policy_r = *p;
		policy_r->policy = mem_strdup(p->policy);
		ret = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_sts_put(struct store *store, const struct store_sts_policy *policy, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_sts_policy *p;

	(void)error_r;
	pthread_mutex_lock(&s->lock);
	if ((p = sts_find(s, policy->domain)) != NULL) {
		mem_free(&p->policy);
	} else {
		s->sts = mem_realloc(s->sts, mem_size_mul(s->sts_count + 1, sizeof(*s->sts)));
		p = &s->sts[s->sts_count++];
	}
	*p = *policy;
	p->policy = mem_strdup(policy->policy);
	pthread_mutex_unlock(&s->lock);
	return 1;
}

int
mem_sts_delete(struct store *store, const char *domain, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_sts_policy *p;
	int ret = 0;

	(void)error_r;
	pthread_mutex_lock(&s->lock);
	if ((p = sts_find(s, domain)) != NULL) {
		size_t i = (size_t)(p - s->sts);

		mem_free(&p->policy);
		memmove(&s->sts[i], &s->sts[i + 1], (s->sts_count - i - 1) * sizeof(*s->sts));
		if (--s->sts_count == 0)
			mem_free(&s->sts);
		ret = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void
mem_sts_free(struct mem_store *s)
{
	for (size_t i = 0; i < s->sts_count; i++)
		mem_free(&s->sts[i].policy);
	mem_free(&s->sts);
	s->sts_count = 0;
}
