/*
 * store-recent.c - the public wrappers of \Recent (store.h, RFC 3501
 * 2.3.2): argument checks, then the backend.
 *
 * Does not: hold any state; the backends keep recent_uid per mailbox.
 */
#include "store/store-private.h"

int
store_mailbox_claim_recent(struct store *store, uint64_t mailbox_id, uint32_t upto_uid,
			   uint32_t *first_r, uint32_t *end_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*first_r = 0;
	*end_r = 0;
	if (mailbox_id == 0)
		return 0;
	/* UID 0 does not exist: nothing lies below it */
	if (upto_uid == 0)
		upto_uid = 1;
	return store->v->mailbox_claim_recent(store, mailbox_id, upto_uid, first_r, end_r,
					      error_r);
}

int
store_mailbox_recent(struct store *store, uint64_t mailbox_id, uint32_t *recent_uid_r,
		     uint32_t *count_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*recent_uid_r = 0;
	*count_r = 0;
	if (mailbox_id == 0)
		return 0;
	return store->v->mailbox_recent(store, mailbox_id, recent_uid_r, count_r, error_r);
}
