/*
 * store-mem-copy.c - the in-memory backend's operations that take messages
 * from one mailbox into another (COPY, MOVE, the RENAME of INBOX), expunge
 * tombstones (VANISHED) and quota bookkeeping, with the same results as
 * store-sqlite-copy.c.
 *
 * A copy shares the source's mem_body (one more reference). As everywhere
 * in this backend, each operation checks what can fail before it changes
 * anything, under s->lock, so it is atomic like a transaction.
 *
 * Does not: check rights, or enforce quota limits.
 */
#include "store/store-mem.h"

#include "core/mem.h"

#include <string.h>
#include <time.h>

/* Append a copy of src (which may live in dst->messages) to dst as uid. */
static void
message_copy_into(struct mem_mailbox *dst, const struct mem_mailbox *src, size_t index,
		  uint32_t uid, int64_t savedate)
{
	struct mem_message copy = src->messages[index], *msg;

	dst->messages = store_array_grow(dst->messages, &dst->alloc, dst->count,
					 sizeof(*dst->messages));
	msg = &dst->messages[dst->count++];
	*msg = copy;
	msg->uid = uid;
	msg->keywords = copy.keywords == NULL ? NULL : mem_strdup(copy.keywords);
	msg->modseq = ++dst->highest_modseq;
	if (savedate != 0)
		msg->savedate = savedate;
	msg->body->refcount++;
	dst->size += msg->body->size;
}

static int
copy_locked(struct mem_store *s, uint64_t src_id, const uint32_t *uids, size_t count,
	    uint64_t dst_id, bool move, uint32_t *dst_uids_r, uint32_t *uidvalidity_r,
	    const char **error_r)
{
	struct mem_mailbox *src = mem_mailbox_by_id(s, src_id);
	struct mem_mailbox *dst = mem_mailbox_by_id(s, dst_id);
	int64_t now = (int64_t)time(NULL);
	uint32_t *moved, src_uidnext;
	size_t n = 0;

	if (src == NULL || dst == NULL)
		return 0;
	*uidvalidity_r = dst->uidvalidity;
	/* Within one mailbox, copies of earlier UIDs must not be copied again. */
	src_uidnext = src->uidnext;
	for (size_t i = 0; i < count; i++) {
		if (uids[i] < src_uidnext && mem_message_index(src, uids[i]) >= 0)
			n++;
	}
	if (UINT32_MAX - dst->uidnext < n) {
		*error_r = "the mailbox has used up its UIDs";
		return -1;
	}
	moved = mem_array(n + 1, sizeof(*moved));
	n = 0;
	for (size_t i = 0; i < count; i++) {
		ssize_t k = uids[i] < src_uidnext ? mem_message_index(src, uids[i]) : -1;

		if (k < 0)
			continue;
		dst_uids_r[i] = dst->uidnext;
		message_copy_into(dst, src, (size_t)k, dst->uidnext++, now);
		moved[n++] = uids[i];
	}
	if (move)
		mem_messages_remove(src, moved, n);
	mem_free(&moved);
	return 1;
}

int
mem_message_copy(struct store *store, uint64_t src_mailbox_id, const uint32_t *uids,
		 size_t count, uint64_t dst_mailbox_id, bool move, uint32_t *dst_uids_r,
		 uint32_t *dst_uidvalidity_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = copy_locked(s, src_mailbox_id, uids, count, dst_mailbox_id, move, dst_uids_r,
			  dst_uidvalidity_r, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_message_vanished(struct store *store, uint64_t mailbox_id, uint64_t since_modseq,
		     uint32_t **uids_r, size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if ((m = mem_mailbox_by_id(s, mailbox_id)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	*uids_r = mem_array(m->expunged_count + 1, sizeof(**uids_r));
	for (size_t i = 0; i < m->expunged_count; i++) {
		if (m->expunged[i].modseq > since_modseq)
			(*uids_r)[n++] = m->expunged[i].uid;
	}
	pthread_mutex_unlock(&s->lock);
	*count_r = store_uids_sort_unique(*uids_r, n);
	return 1;
}

int
mem_account_set_quota(struct store *store, const char *key, uint64_t bytes, uint64_t messages,
		      const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->account_count && ret == 0; i++) {
		struct mem_account *a = s->accounts[i];

		if (strcmp(a->key, key) == 0) {
			a->quota_bytes = bytes;
			a->quota_messages = messages;
			ret = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_account_usage(struct store *store, uint64_t account_id, uint64_t *limits_r,
		  uint64_t *bytes_r, uint64_t *messages_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account *a;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if ((a = mem_account_by_id(s, account_id)) != NULL) {
		ret = 1;
		limits_r[0] = a->quota_bytes;
		limits_r[1] = a->quota_messages;
		for (size_t i = 0; i < s->mailbox_count; i++) {
			if (s->mailboxes[i]->account_id != account_id)
				continue;
			*bytes_r += s->mailboxes[i]->size;
			*messages_r += s->mailboxes[i]->count;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_mailbox_rename_inbox_locked(struct mem_store *s, uint64_t account_id, const char *new_name,
				const char **error_r)
{
	struct mem_mailbox *inbox = mem_mailbox_find(s, account_id, "INBOX"), *dst;
	struct mem_account *a = mem_account_by_id(s, account_id);
	uint32_t *uids;
	size_t count;

	if (inbox == NULL || a == NULL)
		return 0;
	if (mem_mailbox_find(s, account_id, new_name) != NULL) {
		*error_r = store_error_printf("mailbox %s exists", new_name);
		return -1;
	}
	if ((dst = mem_mailbox_add(s, a, new_name, 0, false)) == NULL) {
		*error_r = "UIDVALIDITY values of this account are exhausted";
		return -1;
	}
	/* RFC 9051 6.3.6: the messages move, renumbered from 1 in UID order. */
	count = inbox->count;
	uids = mem_array(count + 1, sizeof(*uids));
	for (size_t i = 0; i < count; i++) {
		uids[i] = inbox->messages[i].uid;
		message_copy_into(dst, inbox, i, dst->uidnext++, 0);
	}
	mem_messages_remove(inbox, uids, count);
	mem_free(&uids);
	return 1;
}
