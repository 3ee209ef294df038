/*
 * store-message.c - the public mailbox, blob, message and maintenance calls
 * (see store.h): argument checks, normalisation and vtable dispatch.
 *
 * Does not: assign UIDs or modseqs, or touch files; backends do, atomically.
 * Change notification (store-notify.c) happens here, after the backend has
 * returned, that is after its commit, so no backend lock is held.
 * The blob's size and sticky write error are kept here so that every
 * backend reports them the same way.
 */
#include "store/store-private.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

/*
 * Mailboxes
 */
int
store_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
		     struct store_mailbox *mailbox_r, const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	memset(mailbox_r, 0, sizeof(*mailbox_r));
	if (store_mailbox_name_normalize(name, &norm, error_r) < 0)
		return 0;
	ret = store->v->mailbox_lookup(store, account_id, norm, mailbox_r, error_r);
	mem_free(&norm);
	return ret;
}

void
store_mailbox_deinit(struct store_mailbox *mailbox)
{
	mem_free(&mailbox->name);
}

int
store_mailbox_list(struct store *store, uint64_t account_id, struct store_mailbox **mailboxes_r,
		   size_t *count_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*mailboxes_r = NULL;
	*count_r = 0;
	return store->v->mailbox_list(store, account_id, mailboxes_r, count_r, error_r);
}

void
store_mailbox_list_free(struct store_mailbox **mailboxes, size_t count)
{
	for (size_t i = 0; *mailboxes != NULL && i < count; i++)
		store_mailbox_deinit(&(*mailboxes)[i]);
	mem_free(mailboxes);
}

int
store_mailbox_create(struct store *store, uint64_t account_id, const char *name,
		     unsigned special_use, uint64_t *id_r, const char **error_r)
{
	char *norm;
	uint64_t id;
	int ret;
	ERROR_R_GUARD(error_r);

	if ((special_use & ~STORE_SPECIAL_USE_MASK) != 0) {
		*error_r = "unknown special-use attribute";
		return -1;
	}
	if (store_mailbox_name_normalize(name, &norm, error_r) < 0)
		return -1;
	ret = store->v->mailbox_create(store, account_id, norm, special_use, &id, error_r);
	if (ret > 0 && id_r != NULL)
		*id_r = id;
	mem_free(&norm);
	return ret;
}

int
store_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
		     const char **error_r)
{
	uint64_t id = 0;
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_mailbox_name_normalize(name, &norm, error_r) < 0)
		return 0;
	if (strcmp(norm, "INBOX") == 0) {
		mem_free(&norm);
		*error_r = "INBOX cannot be deleted";
		return -1;
	}
	/* The id for the notification, read before it goes (see store.h). */
	if (store_notify_active(store->notify)) {
		struct store_mailbox m = { 0 };

		if (store->v->mailbox_lookup(store, account_id, norm, &m, error_r) > 0)
			id = m.id;
		store_mailbox_deinit(&m);
	}
	ret = store->v->mailbox_delete(store, account_id, norm, error_r);
	if (ret > 0 && id != 0)
		store_notify_changed(store->notify, id, 0);
	mem_free(&norm);
	return ret;
}

/* Rename, then notify the subscribers of the renamed mailboxes (listed
 * before the change, see store.h). */
static int
mailbox_rename_notify(struct store *store, uint64_t account_id, const char *old_name,
		      const char *new_name, const char **error_r)
{
	struct store_mailbox *list = NULL;
	size_t count = 0;
	int ret;

	if (store_notify_active(store->notify) &&
	    store->v->mailbox_list(store, account_id, &list, &count, error_r) < 0)
		return -1;
	ret = store->v->mailbox_rename(store, account_id, old_name, new_name, error_r);
	for (size_t i = 0; ret > 0 && i < count; i++) {
		if (store_mailbox_name_under(list[i].name, old_name))
			store_notify_changed(store->notify, list[i].id, 0);
	}
	store_mailbox_list_free(&list, count);
	return ret;
}

/* RFC 9051 6.3.6: INBOX's messages move to new_name, INBOX stays. */
static int
mailbox_rename_inbox(struct store *store, uint64_t account_id, const char *new_name,
		     const char **error_r)
{
	struct store_mailbox inbox = { 0 };
	uint64_t modseq;
	const char *error;
	int ret;

	if (strcmp(new_name, "INBOX") == 0) {
		*error_r = "cannot rename INBOX to itself";
		return -1;
	}
	ret = store->v->mailbox_rename(store, account_id, "INBOX", new_name, error_r);
	if (ret <= 0 || !store_notify_active(store->notify))
		return ret;
	if (store->v->mailbox_lookup(store, account_id, "INBOX", &inbox, &error) > 0 &&
	    store->v->mailbox_modseq(store, inbox.id, &modseq, &error) > 0)
		store_notify_changed(store->notify, inbox.id, modseq);
	store_mailbox_deinit(&inbox);
	return ret;
}

int
store_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
		     const char *new_name, const char **error_r)
{
	char *old_norm, *new_norm;
	int ret = -1;
	ERROR_R_GUARD(error_r);

	if (store_mailbox_name_normalize(old_name, &old_norm, error_r) < 0)
		return 0;
	if (store_mailbox_name_normalize(new_name, &new_norm, error_r) < 0) {
		mem_free(&old_norm);
		return -1;
	}
	if (strcmp(old_norm, "INBOX") == 0)
		ret = mailbox_rename_inbox(store, account_id, new_norm, error_r);
	else if (store_mailbox_name_under(new_norm, old_norm))
		*error_r = "cannot rename a mailbox to itself or below itself";
	else
		ret = mailbox_rename_notify(store, account_id, old_norm, new_norm, error_r);
	mem_free(&old_norm);
	mem_free(&new_norm);
	return ret;
}

int
store_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
			     bool subscribed, const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_mailbox_name_normalize(name, &norm, error_r) < 0)
		return 0;
	ret = store->v->mailbox_set_subscribed(store, account_id, norm, subscribed, error_r);
	mem_free(&norm);
	return ret;
}

int
store_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
			size_t *count_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*names_r = NULL;
	*count_r = 0;
	return store->v->subscription_list(store, account_id, names_r, count_r, error_r);
}

void
store_subscription_list_free(char ***names, size_t count)
{
	if (*names == NULL)
		return;
	for (size_t i = 0; i < count; i++)
		mem_free(&(*names)[i]);
	mem_free(names);
}

/*
 * Blobs and delivery
 */
int
store_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*blob_r = NULL;
	return store->v->blob_begin(store, blob_r, error_r) < 0 ? -1 : 1;
}

int
store_blob_write(struct store_blob *blob, const void *data, size_t len)
{
	if (blob->failed)
		return -1;
	if (len == 0)
		return 0;
	if (blob->store->v->blob_write(blob, data, len) < 0) {
		blob->failed = true;
		return -1;
	}
	blob->size += len;
	return 0;
}

uint64_t
store_blob_size(const struct store_blob *blob)
{
	return blob->size;
}

void
store_blob_abort(struct store_blob **blob)
{
	if (*blob == NULL)
		return;
	(*blob)->store->v->blob_abort(*blob);
	*blob = NULL;
}

static int
delivery_targets_check(const struct store_delivery_target *targets, size_t count,
		       const char **error_r)
{
	if (count == 0) {
		*error_r = "delivery without targets";
		return -1;
	}
	for (size_t i = 0; i < count; i++) {
		if (targets[i].account_id == 0 || (targets[i].flags & ~STORE_FLAG_MASK) != 0) {
			*error_r = "invalid delivery target";
			return -1;
		}
		if (store_keywords_check(targets[i].keywords, error_r) < 0)
			return -1;
	}
	return 0;
}

int
store_deliver(struct store *store, struct store_blob **blob,
	      const struct store_delivery_target *targets, size_t count,
	      struct store_delivery_result *results_r, const char **error_r)
{
	struct store_blob *b = *blob;
	ERROR_R_GUARD(error_r);

	*blob = NULL;
	ASSERT(b->store == store);
	if (b->failed || delivery_targets_check(targets, count, error_r) < 0) {
		if (b->failed)
			*error_r = "writing the message body failed";
		b->store->v->blob_abort(b);
		return -1;
	}
	memset(results_r, 0, sizeof(*results_r) * count);
	if (store->v->deliver(store, b, targets, count, results_r, error_r) <= 0)
		return -1;
	for (size_t i = 0; i < count; i++)
		store_notify_changed(store->notify, results_r[i].mailbox_id, results_r[i].modseq);
	return 1;
}

int
store_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
		    const struct store_delivery_target *targets,
		    struct store_delivery_result *results_r, const char **error_r)
{
	struct store_blob **own = mem_array(n + 1, sizeof(*own));
	bool failed = false;
	int ret = -1;
	ERROR_R_GUARD(error_r);

	/* take every blob first: consumed on every path */
	for (size_t i = 0; i < n; i++) {
		own[i] = blobs[i];
		blobs[i] = NULL;
		ASSERT(own[i] != NULL && own[i]->store == store);
		if (own[i]->failed) {
			*error_r = "writing the message body failed";
			failed = true;
		}
	}
	if (n == 0) {
		*error_r = "delivery without messages";
		failed = true;
	}
	if (!failed) {
		for (size_t i = 0; i < n; i++) {
			if (delivery_targets_check(&targets[i], 1, error_r) < 0) {
				failed = true;
				break;
			}
		}
	}
	if (failed) {
		for (size_t i = 0; i < n; i++)
			store->v->blob_abort(own[i]);
		mem_free(&own);
		return -1;
	}
	memset(results_r, 0, sizeof(*results_r) * n);
	if (store->v->deliver_multi(store, own, n, targets, results_r, error_r) > 0) {
		for (size_t i = 0; i < n; i++)
			store_notify_changed(store->notify, results_r[i].mailbox_id,
					     results_r[i].modseq);
		ret = 1;
	}
	mem_free(&own);
	return ret;
}

/*
 * Messages
 */
int
store_message_list(struct store *store, uint64_t mailbox_id,
		   const struct store_message_query *query, struct store_message **messages_r,
		   size_t *count_r, const char **error_r)
{
	struct store_message_query q = { 0, UINT32_MAX, 0, false };
	ERROR_R_GUARD(error_r);

	if (query != NULL) {
		q = *query;
		if (q.uid_last == 0)
			q.uid_last = UINT32_MAX;
	}
	*messages_r = NULL;
	*count_r = 0;
	return store->v->message_list(store, mailbox_id, &q, messages_r, count_r, error_r);
}

void
store_message_list_free(struct store_message **messages, size_t count)
{
	for (size_t i = 0; *messages != NULL && i < count; i++)
		mem_free(&(*messages)[i].keywords);
	mem_free(messages);
}

int
store_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
		   uint64_t *size_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*fd_r = -1;
	*size_r = 0;
	return store->v->message_open(store, mailbox_id, uid, fd_r, size_r, error_r);
}

/* After a committed expunge or flag change: notify the mailbox's
 * subscribers with its highest modseq (nothing when nobody listens). */
static void
notify_modseq(struct store *store, uint64_t mailbox_id)
{
	uint64_t modseq;
	const char *error;

	if (!store_notify_active(store->notify))
		return;
	if (store->v->mailbox_modseq(store, mailbox_id, &modseq, &error) > 0)
		store_notify_changed(store->notify, mailbox_id, modseq);
}

int
store_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
		      size_t count, const char **error_r)
{
	int ret;
	ERROR_R_GUARD(error_r);

	ret = store->v->message_expunge(store, mailbox_id, uids, count, error_r);
	if (ret > 0)
		notify_modseq(store, mailbox_id);
	return ret;
}

int
store_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
			size_t count, const struct store_flag_change *change,
			uint32_t **modified_r, size_t *modified_count_r, const char **error_r)
{
	uint32_t *modified = NULL, *sorted;
	size_t modified_count = 0;
	int ret;
	ERROR_R_GUARD(error_r);

	ASSERT((modified_r == NULL) == (modified_count_r == NULL));
	if (modified_r != NULL) {
		*modified_r = NULL;
		*modified_count_r = 0;
	}
	if ((change->flags & ~STORE_FLAG_MASK) != 0 || change->mode < STORE_FLAGS_ADD ||
	    change->mode > STORE_FLAGS_REPLACE) {
		*error_r = "invalid flag change";
		return -1;
	}
	if (store_keywords_check(change->keywords, error_r) < 0)
		return -1;
	/* Ascending and once each: a UID listed twice is checked against
	 * unchangedsince once, before the change (RFC 7162 3.1.3). */
	sorted = mem_array(count > 0 ? count : 1, sizeof(*sorted));
	if (count > 0)
		memcpy(sorted, uids, count * sizeof(*sorted));
	count = store_uids_sort_unique(sorted, count);
	ret = store->v->message_set_flags(store, mailbox_id, sorted, count, change, &modified,
					  &modified_count, error_r);
	mem_free(&sorted);
	if (ret > 0)
		notify_modseq(store, mailbox_id);
	if (ret > 0 && modified_r != NULL && modified_count > 0) {
		*modified_r = modified;
		*modified_count_r = modified_count;
	} else {
		mem_free(&modified);
	}
	return ret;
}

static int
uid_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

int
store_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
		   size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
		   uint32_t *dst_uidvalidity_r, const char **error_r)
{
	size_t n = count > 0 ? count : 1, unique;
	uint32_t *sorted = mem_array(n, sizeof(*sorted));
	uint32_t *new_uids = mem_zalloc(mem_size_mul(n, sizeof(*new_uids)));
	uint32_t uidvalidity = 0;
	int ret;
	ERROR_R_GUARD(error_r);

	if (dst_uids_r != NULL && count > 0)
		memset(dst_uids_r, 0, count * sizeof(*dst_uids_r));
	if (dst_uidvalidity_r != NULL)
		*dst_uidvalidity_r = 0;
	if (count > 0)
		memcpy(sorted, uids, count * sizeof(*sorted));
	unique = store_uids_sort_unique(sorted, count);
	ret = store->v->message_copy(store, src_mailbox_id, sorted, unique, dst_mailbox_id, move,
				     new_uids, &uidvalidity, error_r);
	/* Back to the caller's order; a repeated UID gets its new UID once. */
	for (size_t i = 0; ret > 0 && dst_uids_r != NULL && i < count; i++) {
		uint32_t *hit = bsearch(&uids[i], sorted, unique, sizeof(*sorted), uid_cmp);
		size_t k = hit == NULL ? 0 : (size_t)(hit - sorted);

		if (hit != NULL && new_uids[k] != 0) {
			dst_uids_r[i] = new_uids[k];
			new_uids[k] = 0;
		}
	}
	mem_free(&sorted);
	mem_free(&new_uids);
	if (ret <= 0)
		return ret;
	if (dst_uidvalidity_r != NULL)
		*dst_uidvalidity_r = uidvalidity;
	notify_modseq(store, dst_mailbox_id);
	if (move && src_mailbox_id != dst_mailbox_id)
		notify_modseq(store, src_mailbox_id);
	return ret;
}

int
store_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
		       uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	int ret;
	ERROR_R_GUARD(error_r);

	*uids_r = NULL;
	*count_r = 0;
	ret = store->v->message_vanished(store, mailbox_id, since_modseq, uids_r, count_r,
					 error_r);
	if (ret <= 0) {
		mem_free(uids_r);
		*count_r = 0;
	}
	return ret;
}

/*
 * Maintenance
 */
int
store_gc(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
	 const char **error_r)
{
	ERROR_R_GUARD(error_r);

	memset(result_r, 0, sizeof(*result_r));
	return store->v->gc(store, grace_secs, result_r, error_r);
}
