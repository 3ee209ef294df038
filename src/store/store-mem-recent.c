/*
 * store-mem-recent.c - \Recent (RFC 3501 2.3.2) in the memory backend: the
 * same contract as store-sqlite-recent.c, with mem_mailbox.recent_uid under
 * the store's lock (0, a new mailbox, counts as 1).
 *
 * Does not: remember which session holds which messages.
 */
#include "store/store-mem.h"

int
mem_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
			 uint32_t *first_r, uint32_t *end_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	uint32_t recent, end;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	if (m == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	recent = m->recent_uid < 1 ? 1 : m->recent_uid;
	end = upto_uid < m->uidnext ? upto_uid : m->uidnext;
	if (end < recent)
		end = recent;
	m->recent_uid = end;
	*first_r = recent;
	*end_r = end;
	pthread_mutex_unlock(&s->lock);
	return 1;
}

int
mem_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
		   uint32_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	uint32_t recent, n = 0;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	if (m == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	recent = m->recent_uid < 1 ? 1 : m->recent_uid;
	/* messages are in UID order: count from the end */
	for (size_t i = m->count; i-- > 0 && m->messages[i].uid >= recent;)
		n++;
	*recent_uid_r = recent;
	*count_r = n;
	pthread_mutex_unlock(&s->lock);
	return 1;
}
