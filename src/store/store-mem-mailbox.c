/*
 * store-mem-mailbox.c - mailboxes, bodies and messages of the in-memory
 * backend (see store-mem.h for locking).
 *
 * A body being written is a bounded memory buffer; store_deliver turns it
 * into a mem_body shared by every message delivered from it, freed when the
 * last of them is expunged (a queue entry holds a reference the same way,
 * store-mem-queue.c). Every operation first checks everything that can
 * fail and only then changes state, so a failure leaves nothing behind, as a
 * rolled-back transaction would. Every expunge leaves a tombstone in its
 * mailbox (mem_messages_remove), kept until the mailbox goes.
 *
 * Subscriptions are a list of (account, name) pairs of their own in the
 * mem_store (store.h: they outlive mailboxes); a mailbox's "subscribed" is
 * looked up there.
 *
 * Does not: write files; store_message_open hands out a memfd holding a
 * copy of the body.
 */
#include "store/store-mem.h"

#include "core/buf.h"
#include "core/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

struct mem_blob {
	struct store_blob blob;
	char id[STORE_BLOB_ID_LEN + 1];
	struct buf data;
};

/*
 * Mailboxes
 */
struct mem_mailbox *
mem_mailbox_find(struct mem_store *s, uint64_t account_id, const char *name)
{
	for (size_t i = 0; i < s->mailbox_count; i++) {
		struct mem_mailbox *m = s->mailboxes[i];

		if (m->account_id == account_id && strcmp(m->name, name) == 0)
			return m;
	}
	return NULL;
}

struct mem_mailbox *
mem_mailbox_by_id(struct mem_store *s, uint64_t id)
{
	for (size_t i = 0; i < s->mailbox_count; i++) {
		if (s->mailboxes[i]->id == id)
			return s->mailboxes[i];
	}
	return NULL;
}

/* Index of the subscription (account_id, name), or subscription_count. */
static size_t
subscription_index(const struct mem_store *s, uint64_t account_id, const char *name)
{
	size_t i;

	for (i = 0; i < s->subscription_count; i++) {
		if (s->subscriptions[i].account_id == account_id &&
		    strcmp(s->subscriptions[i].name, name) == 0)
			break;
	}
	return i;
}

static void
subscription_add(struct mem_store *s, uint64_t account_id, const char *name)
{
	if (subscription_index(s, account_id, name) < s->subscription_count)
		return;
	s->subscriptions = store_array_grow(s->subscriptions, &s->subscription_alloc,
					    s->subscription_count, sizeof(*s->subscriptions));
	s->subscriptions[s->subscription_count].account_id = account_id;
	s->subscriptions[s->subscription_count++].name = mem_strdup(name);
}

static void
subscription_remove(struct mem_store *s, size_t i)
{
	mem_free(&s->subscriptions[i].name);
	memmove(&s->subscriptions[i], &s->subscriptions[i + 1],
		(s->subscription_count - i - 1) * sizeof(*s->subscriptions));
	s->subscription_count--;
}

void
mem_subscriptions_forget(struct mem_store *s, uint64_t account_id)
{
	for (size_t i = s->subscription_count; i-- > 0;) {
		if (account_id == 0 || s->subscriptions[i].account_id == account_id)
			subscription_remove(s, i);
	}
	if (account_id == 0)
		mem_free(&s->subscriptions);
}

struct mem_mailbox *
mem_mailbox_add(struct mem_store *s, struct mem_account *a, const char *name,
		unsigned special_use, bool subscribed)
{
	uint32_t uidvalidity = store_uidvalidity_next(a->uidvalidity_last);
	struct mem_mailbox *m;

	if (uidvalidity == 0)
		return NULL;
	a->uidvalidity_last = uidvalidity;
	m = mem_zalloc(sizeof(*m));
	m->id = ++s->last_id;
	m->account_id = a->id;
	m->name = mem_strdup(name);
	m->uidvalidity = uidvalidity;
	m->uidnext = 1;
	m->special_use = special_use;
	if (subscribed)
		subscription_add(s, a->id, name);
	s->mailboxes = store_array_grow(s->mailboxes, &s->mailbox_alloc, s->mailbox_count,
					sizeof(*s->mailboxes));
	s->mailboxes[s->mailbox_count++] = m;
	return m;
}

void
mem_body_unref(struct mem_body *b)
{
	ASSERT(b->refcount > 0);
	if (--b->refcount > 0)
		return;
	mem_free(&b->data);
	mem_free(&b);
}

void
mem_mailbox_remove(struct mem_store *s, size_t index)
{
	struct mem_mailbox *m = s->mailboxes[index];

	for (size_t i = 0; i < m->count; i++) {
		mem_body_unref(m->messages[i].body);
		mem_free(&m->messages[i].keywords);
	}
	mem_free(&m->messages);
	mem_free(&m->expunged);
	mem_free(&m->acl);
	mem_free(&m->name);
	mem_free(&m);
	mem_ptr_array_remove((void **)s->mailboxes, &s->mailbox_count, index);
}

static void
mailbox_copy(const struct mem_store *s, const struct mem_mailbox *m, struct store_mailbox *out)
{
	out->id = m->id;
	out->account_id = m->account_id;
	out->name = mem_strdup(m->name);
	out->uidvalidity = m->uidvalidity;
	out->uidnext = m->uidnext;
	out->highest_modseq = m->highest_modseq;
	out->special_use = m->special_use;
	out->subscribed = subscription_index(s, m->account_id, m->name) < s->subscription_count;
	out->messages = (uint32_t)m->count;
	out->size = m->size;
}

int
mem_mailbox_lookup(struct store *store, uint64_t account_id, const char *name,
		   struct store_mailbox *mailbox_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_find(s, account_id, name);
	if (m != NULL)
		mailbox_copy(s, m, mailbox_r);
	pthread_mutex_unlock(&s->lock);
	return m != NULL ? 1 : 0;
}

static int
mailbox_cmp(const void *a, const void *b)
{
	return strcmp(((const struct store_mailbox *)a)->name,
		      ((const struct store_mailbox *)b)->name);
}

int
mem_mailbox_list(struct store *store, uint64_t account_id, struct store_mailbox **mailboxes_r,
		 size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_mailbox *list;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (mem_account_by_id(s, account_id) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	list = mem_array(s->mailbox_count + 1, sizeof(*list));
	for (size_t i = 0; i < s->mailbox_count; i++) {
		if (s->mailboxes[i]->account_id == account_id)
			mailbox_copy(s, s->mailboxes[i], &list[n++]);
	}
	pthread_mutex_unlock(&s->lock);
	qsort(list, n, sizeof(*list), mailbox_cmp);
	*mailboxes_r = list;
	*count_r = n;
	return 1;
}

static int
mailbox_create_locked(struct mem_store *s, uint64_t account_id, const char *name,
		      unsigned special_use, uint64_t *id_r, const char **error_r)
{
	struct mem_account *a = mem_account_by_id(s, account_id);
	struct mem_mailbox *m;

	if (a == NULL) {
		*error_r = "no such account";
		return -1;
	}
	if (mem_mailbox_find(s, account_id, name) != NULL)
		return 0;
	if ((m = mem_mailbox_add(s, a, name, special_use, false)) == NULL) {
		*error_r = "UIDVALIDITY values of this account are exhausted";
		return -1;
	}
	*id_r = m->id;
	return 1;
}

int
mem_mailbox_create(struct store *store, uint64_t account_id, const char *name,
		   unsigned special_use, uint64_t *id_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = mailbox_create_locked(s, account_id, name, special_use, id_r, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_mailbox_delete(struct store *store, uint64_t account_id, const char *name,
		   const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->mailbox_count; i++) {
		if (s->mailboxes[i]->account_id == account_id &&
		    strcmp(s->mailboxes[i]->name, name) == 0) {
			mem_mailbox_remove(s, i);
			ret = 1;
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/* The name that name (old_name or below it) gets when old_name becomes
 * new_name. */
static char *
renamed_name(const char *name, const char *old_name, const char *new_name)
{
	const char *rest = name + strlen(old_name);
	size_t len = mem_size_add(mem_size_add(strlen(new_name), strlen(rest)), 1);
	char *out = mem_alloc(len);

	memcpy(out, new_name, strlen(new_name));
	memcpy(out + strlen(new_name), rest, strlen(rest) + 1);
	return out;
}

static char *
renamed(const struct mem_mailbox *m, const char *old_name, const char *new_name)
{
	return renamed_name(m->name, old_name, new_name);
}

/* Would renaming collide with a mailbox outside the renamed subtree? */
static bool
rename_conflicts(struct mem_store *s, uint64_t account_id, const char *old_name,
		 const char *new_name)
{
	for (size_t i = 0; i < s->mailbox_count; i++) {
		struct mem_mailbox *m = s->mailboxes[i];
		bool taken = false;
		char *name;

		if (m->account_id != account_id || !store_mailbox_name_under(m->name, old_name))
			continue;
		name = renamed(m, old_name, new_name);
		for (size_t k = 0; k < s->mailbox_count && !taken; k++) {
			struct mem_mailbox *o = s->mailboxes[k];

			taken = o->account_id == account_id && strcmp(o->name, name) == 0 &&
				!store_mailbox_name_under(o->name, old_name);
		}
		mem_free(&name);
		if (taken)
			return true;
	}
	return false;
}

static int
mailbox_rename_locked(struct mem_store *s, uint64_t account_id, const char *old_name,
		      const char *new_name, const char **error_r)
{
	if (mem_mailbox_find(s, account_id, old_name) == NULL)
		return 0;
	if (mem_mailbox_find(s, account_id, new_name) != NULL) {
		*error_r = store_error_printf("mailbox %s exists", new_name);
		return -1;
	}
	if (rename_conflicts(s, account_id, old_name, new_name)) {
		*error_r = "a mailbox below the new name already exists";
		return -1;
	}
	for (size_t i = 0; i < s->mailbox_count; i++) {
		struct mem_mailbox *m = s->mailboxes[i];
		char *name;

		if (m->account_id != account_id || !store_mailbox_name_under(m->name, old_name))
			continue;
		name = renamed(m, old_name, new_name);
		mem_free(&m->name);
		m->name = name;
	}
	/* the subtree's subscriptions follow (store.h); one whose new name
	 * is subscribed already merges into it */
	for (size_t i = s->subscription_count; i-- > 0;) {
		struct mem_subscription *sub = &s->subscriptions[i];
		char *name;

		if (sub->account_id != account_id || !store_mailbox_name_under(sub->name, old_name))
			continue;
		name = renamed_name(sub->name, old_name, new_name);
		if (subscription_index(s, account_id, name) < s->subscription_count) {
			subscription_remove(s, i);
			mem_free(&name);
		} else {
			mem_free(&sub->name);
			sub->name = name;
		}
	}
	return 1;
}

int
mem_mailbox_rename(struct store *store, uint64_t account_id, const char *old_name,
		   const char *new_name, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	if (strcmp(old_name, "INBOX") == 0)
		ret = mem_mailbox_rename_inbox_locked(s, account_id, new_name, error_r);
	else
		ret = mailbox_rename_locked(s, account_id, old_name, new_name, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

int
mem_mailbox_set_subscribed(struct store *store, uint64_t account_id, const char *name,
			   bool subscribed, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	size_t i;
	int ret = 1;

	pthread_mutex_lock(&s->lock);
	i = subscription_index(s, account_id, name);
	if (!subscribed) {
		if (i < s->subscription_count)
			subscription_remove(s, i);
		else
			ret = 0;
	} else if (mem_mailbox_find(s, account_id, name) != NULL) {
		subscription_add(s, account_id, name);
	} else {
		/* RFC 9051 6.3.7: the server may refuse names that are no mailbox */
		ret = 0;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int
mem_subscription_list(struct store *store, uint64_t account_id, char ***names_r,
		      size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	char **list;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (mem_account_by_id(s, account_id) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	list = mem_array(s->subscription_count + 1, sizeof(*list));
	for (size_t i = 0; i < s->subscription_count; i++) {
		if (s->subscriptions[i].account_id == account_id)
			list[n++] = mem_strdup(s->subscriptions[i].name);
	}
	pthread_mutex_unlock(&s->lock);
	/* the SQLite backend's order: bytewise */
	qsort(list, n, sizeof(*list), name_cmp);
	*names_r = list;
	*count_r = n;
	return 1;
}

/*
 * Bodies and delivery
 */
int
mem_blob_begin(struct store *store, struct store_blob **blob_r, const char **error_r)
{
	struct mem_blob *b = mem_zalloc(sizeof(*b));

	b->blob.store = store;
	if (store_blob_id_generate(b->id, error_r) < 0) {
		mem_free(&b);
		return -1;
	}
	buf_init(&b->data, STORE_MEM_BLOB_MAX);
	*blob_r = &b->blob;
	return 1;
}

int
mem_blob_write(struct store_blob *blob, const void *data, size_t len)
{
	struct mem_blob *b = (struct mem_blob *)blob;

	return buf_append(&b->data, data, len);
}

void
mem_blob_abort(struct store_blob *blob)
{
	struct mem_blob *b = (struct mem_blob *)blob;

	buf_deinit(&b->data);
	mem_free(&b);
}

struct mem_body *
mem_body_take(struct store_blob *blob)
{
	struct mem_blob *b = (struct mem_blob *)blob;
	struct mem_body *body = mem_zalloc(sizeof(*body));

	memcpy(body->id, b->id, sizeof(body->id));
	body->size = buf_len(&b->data);
	body->data = (uint8_t *)buf_steal_str(&b->data);
	return body;
}

/* The mailbox a target names, or NULL with *error_r set. */
static struct mem_mailbox *
target_mailbox(struct mem_store *s, const struct store_delivery_target *t, const char **error_r)
{
	struct mem_mailbox *m = NULL;

	if (mem_account_by_id(s, t->account_id) != NULL) {
		m = t->mailbox_id == 0 ? mem_mailbox_find(s, t->account_id, "INBOX")
				       : mem_mailbox_by_id(s, t->mailbox_id);
	}
	if (m == NULL || m->account_id != t->account_id) {
		*error_r = store_error_printf("account %llu has no mailbox %llu",
					      (unsigned long long)t->account_id,
					      (unsigned long long)t->mailbox_id);
		return NULL;
	}
	if (m->uidnext == UINT32_MAX) {
		*error_r = "the mailbox has used up its UIDs";
		return NULL;
	}
	return m;
}

static void
message_append(struct mem_mailbox *m, struct mem_body *body,
	       const struct store_delivery_target *t, int64_t now,
	       struct store_delivery_result *r)
{
	struct mem_message *msg;

	m->messages = store_array_grow(m->messages, &m->alloc, m->count, sizeof(*m->messages));
	msg = &m->messages[m->count++];
	memset(msg, 0, sizeof(*msg));
	msg->uid = m->uidnext++;
	msg->body = body;
	msg->flags = t->flags;
	msg->keywords = store_keywords_normalize(t->keywords);
	msg->modseq = ++m->highest_modseq;
	msg->internaldate = t->internaldate != 0 ? t->internaldate : now;
	msg->savedate = now;
	body->refcount++;
	m->size += body->size;
	r->mailbox_id = m->id;
	r->uid = msg->uid;
	r->modseq = msg->modseq;
}

static int
deliver_locked(struct mem_store *s, struct mem_blob *b,
	       const struct store_delivery_target *targets, size_t count,
	       struct store_delivery_result *results_r, const char **error_r)
{
	int64_t now = (int64_t)time(NULL);
	struct mem_body *body;

	/* Check every target before changing anything (a repeated mailbox
	 * takes several UIDs, so check the room for all of them). */
	for (size_t i = 0; i < count; i++) {
		struct mem_mailbox *m = target_mailbox(s, &targets[i], error_r);

		if (m == NULL)
			return -1;
		if (UINT32_MAX - m->uidnext < count) {
			*error_r = "the mailbox has used up its UIDs";
			return -1;
		}
	}
	body = mem_body_take(&b->blob);
	for (size_t i = 0; i < count; i++) {
		message_append(target_mailbox(s, &targets[i], error_r), body, &targets[i], now,
			       &results_r[i]);
	}
	return 1;
}

int
mem_deliver(struct store *store, struct store_blob *blob,
	    const struct store_delivery_target *targets, size_t count,
	    struct store_delivery_result *results_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = deliver_locked(s, (struct mem_blob *)blob, targets, count, results_r, error_r);
	pthread_mutex_unlock(&s->lock);
	mem_blob_abort(blob);
	return ret;
}

/* All the targets first, counting repeats of a mailbox, then every message:
 * nothing changes unless everything can. */
static int
deliver_multi_locked(struct mem_store *s, struct store_blob **blobs, size_t n,
		     const struct store_delivery_target *targets,
		     struct store_delivery_result *results_r, const char **error_r)
{
	int64_t now = (int64_t)time(NULL);

	for (size_t i = 0; i < n; i++) {
		struct mem_mailbox *m = target_mailbox(s, &targets[i], error_r);

		if (m == NULL)
			return -1;
		if (UINT32_MAX - m->uidnext < n) {
			*error_r = "the mailbox has used up its UIDs";
			return -1;
		}
	}
	for (size_t i = 0; i < n; i++) {
		struct mem_body *body = mem_body_take(blobs[i]);

		message_append(target_mailbox(s, &targets[i], error_r), body, &targets[i], now,
			       &results_r[i]);
	}
	return 1;
}

int
mem_deliver_multi(struct store *store, struct store_blob **blobs, size_t n,
		  const struct store_delivery_target *targets,
		  struct store_delivery_result *results_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = deliver_multi_locked(s, blobs, n, targets, results_r, error_r);
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++)
		mem_blob_abort(blobs[i]);
	if (ret < 0)
		memset(results_r, 0, sizeof(*results_r) * n);
	return ret;
}

/*
 * Messages
 */
ssize_t
mem_message_index(const struct mem_mailbox *m, uint32_t uid)
{
	size_t lo = 0, hi = m->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (m->messages[mid].uid == uid)
			return (ssize_t)mid;
		if (m->messages[mid].uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

int
mem_message_list(struct store *store, uint64_t mailbox_id, const struct store_message_query *query,
		 struct store_message **messages_r, size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	struct store_message *list;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if ((m = mem_mailbox_by_id(s, mailbox_id)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	list = mem_array(m->count + 1, sizeof(*list));
	for (size_t i = 0; i < m->count; i++) {
		const struct mem_message *msg = &m->messages[i];
		struct store_message *out = &list[n];

		if (msg->uid < query->uid_first || msg->uid > query->uid_last ||
		    msg->modseq <= query->changed_since)
			continue;
		n++;
		out->uid = msg->uid;
		out->flags = msg->flags;
		out->modseq = msg->modseq;
		if (query->uids_only)
			continue;
		out->size = msg->body->size;
		memcpy(out->blob_id, msg->body->id, sizeof(out->blob_id));
		out->keywords = msg->keywords == NULL ? NULL : mem_strdup(msg->keywords);
		out->internaldate = msg->internaldate;
		out->savedate = msg->savedate;
	}
	pthread_mutex_unlock(&s->lock);
	*messages_r = list;
	*count_r = n;
	return 1;
}

static int
memfd_with(const uint8_t *data, size_t size, int *fd_r, const char **error_r)
{
	int fd = memfd_create("posthorn-body", MFD_CLOEXEC);
	size_t done = 0;

	while (fd >= 0 && done < size) {
		ssize_t n = write(fd, data + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	if (fd < 0 || done < size || lseek(fd, 0, SEEK_SET) < 0) {
		*error_r = store_error_printf("memfd: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*fd_r = fd;
	return 1;
}

int
mem_body_open(const struct mem_body *body, int *fd_r, const char **error_r)
{
	return memfd_with(body->data, body->size, fd_r, error_r);
}

int
mem_message_open(struct store *store, uint64_t mailbox_id, uint32_t uid, int *fd_r,
		 uint64_t *size_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	ssize_t i = -1;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if ((m = mem_mailbox_by_id(s, mailbox_id)) != NULL)
		i = mem_message_index(m, uid);
	if (i >= 0) {
		ret = memfd_with(m->messages[i].body->data, m->messages[i].body->size, fd_r,
				 error_r);
		*size_r = m->messages[i].body->size;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void
mem_messages_remove(struct mem_mailbox *m, const uint32_t *uids, size_t count)
{
	bool removed = false;

	for (size_t k = 0; k < count; k++) {
		ssize_t i = mem_message_index(m, uids[k]);
		struct mem_tombstone *t;

		if (i < 0)
			continue;
		m->size -= m->messages[i].body->size;
		mem_body_unref(m->messages[i].body);
		mem_free(&m->messages[i].keywords);
		memmove(&m->messages[i], &m->messages[i + 1],
			(m->count - (size_t)i - 1) * sizeof(*m->messages));
		m->count--;
		removed = true;
		/* RFC 7162 3.2.5: the tombstone carries the expunge's modseq. */
		m->expunged = store_array_grow(m->expunged, &m->expunged_alloc,
					       m->expunged_count, sizeof(*m->expunged));
		t = &m->expunged[m->expunged_count++];
		t->uid = uids[k];
		t->modseq = m->highest_modseq + 1;
	}
	if (removed)
		m->highest_modseq++;
}

int
mem_message_expunge(struct store *store, uint64_t mailbox_id, const uint32_t *uids, size_t count,
		    const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;

	pthread_mutex_lock(&s->lock);
	if ((m = mem_mailbox_by_id(s, mailbox_id)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	mem_messages_remove(m, uids, count);
	pthread_mutex_unlock(&s->lock);
	return 1;
}

/* The new flags and keywords of one message, computed before any change. */
struct flag_update {
	ssize_t index;
	unsigned flags;
	char *keywords;
};

static int
set_flags_locked(struct mem_mailbox *m, const uint32_t *uids, size_t count,
		 const struct store_flag_change *change, uint32_t **modified_r,
		 size_t *modified_count_r, const char **error_r)
{
	struct flag_update *u = mem_array(count + 1, sizeof(*u));
	size_t alloc = 0;
	int ret = 1;

	for (size_t k = 0; k < count; k++)
		u[k].index = -1;
	for (size_t k = 0; k < count && ret > 0; k++) {
		struct mem_message *msg;

		if ((u[k].index = mem_message_index(m, uids[k])) < 0)
			continue;
		msg = &m->messages[u[k].index];
		if (change->unchangedsince != 0 && msg->modseq > change->unchangedsince) {
			/* RFC 7162 3.1.3: left alone, reported as MODIFIED. */
			*modified_r = store_array_grow(*modified_r, &alloc, *modified_count_r,
						       sizeof(**modified_r));
			(*modified_r)[(*modified_count_r)++] = uids[k];
			u[k].index = -1;
			continue;
		}
		u[k].flags = store_flags_apply(msg->flags, change);
		if (store_keywords_apply(msg->keywords, change, &u[k].keywords, error_r) < 0)
			ret = -1;
	}
	/* Compare with the current state, so that a UID listed twice changes once. */
	for (size_t k = 0; k < count; k++) {
		struct mem_message *msg = u[k].index < 0 ? NULL : &m->messages[u[k].index];

		if (ret > 0 && msg != NULL &&
		    (u[k].flags != msg->flags || !store_str_equal(u[k].keywords, msg->keywords))) {
			msg->flags = u[k].flags;
			mem_free(&msg->keywords);
			msg->keywords = u[k].keywords;
			u[k].keywords = NULL;
			msg->modseq = ++m->highest_modseq;
		}
		mem_free(&u[k].keywords);
	}
	mem_free(&u);
	return ret;
}

int
mem_message_set_flags(struct store *store, uint64_t mailbox_id, const uint32_t *uids,
		      size_t count, const struct store_flag_change *change,
		      uint32_t **modified_r, size_t *modified_count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if ((m = mem_mailbox_by_id(s, mailbox_id)) != NULL)
		ret = set_flags_locked(m, uids, count, change, modified_r, modified_count_r,
				       error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}
