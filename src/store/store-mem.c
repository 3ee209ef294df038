/*
 * store-mem.c - the in-memory store backend, for unit tests of the layers
 * above the store: same semantics as the SQLite backend (ids, UIDs,
 * UIDVALIDITY, modseq, aliases, catch-all, shared bodies with reference
 * counts), nothing on disk, nothing kept after store_close.
 *
 * This file: open/close, domains, accounts, aliases, gc. Mailboxes, bodies
 * and messages are in store-mem-mailbox.c, the outbound queue in
 * store-mem-queue.c.
 *
 * Does not: persist anything, or scale (lookups are linear scans; tests hold
 * a few thousand objects at most).
 */
#include "store/store-mem.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void
mem_ptr_array_remove(void **array, size_t *count, size_t i)
{
	memmove(&array[i], &array[i + 1], (*count - i - 1) * sizeof(*array));
	(*count)--;
}

/* Append p to an array of pointers. */
#define PTR_APPEND(array, count, alloc, p) \
	do { \
		(array) = store_array_grow((array), &(alloc), (count), sizeof(*(array))); \
		(array)[(count)++] = (p); \
	} while (0)

static struct mem_domain *
domain_find(struct mem_store *s, const char *name, size_t *index_r)
{
	for (size_t i = 0; i < s->domain_count; i++) {
		if (strcmp(s->domains[i]->name, name) == 0) {
			if (index_r != NULL)
				*index_r = i;
			return s->domains[i];
		}
	}
	return NULL;
}

static struct mem_account *
account_find(struct mem_store *s, const char *key, size_t *index_r)
{
	for (size_t i = 0; i < s->account_count; i++) {
		if (strcmp(s->accounts[i]->key, key) == 0) {
			if (index_r != NULL)
				*index_r = i;
			return s->accounts[i];
		}
	}
	return NULL;
}

struct mem_account *
mem_account_by_id(struct mem_store *s, uint64_t id)
{
	for (size_t i = 0; i < s->account_count; i++) {
		if (s->accounts[i]->id == id)
			return s->accounts[i];
	}
	return NULL;
}

static void
alias_free(struct mem_alias *a)
{
	mem_free(&a->source);
	mem_free(&a->source_key);
	mem_free(&a->target);
	mem_free(&a);
}

/* Wipe and free a secret string. */
static void
secret_free(char **secret)
{
	if (*secret != NULL)
		explicit_bzero(*secret, strlen(*secret));
	mem_free(secret);
}

static void
account_free(struct mem_account *a)
{
	secret_free(&a->password_hash);
	secret_free(&a->scram_secret);
	mem_free(&a->address);
	mem_free(&a->key);
	mem_free(&a);
}

/*
 * Domains
 */
static int
mem_domain_add(struct store *store, const char *name, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_domain *d;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	if (domain_find(s, name, NULL) == NULL) {
		d = mem_zalloc(sizeof(*d));
		d->id = ++s->last_id;
		d->name = mem_strdup(name);
		PTR_APPEND(s->domains, s->domain_count, s->domain_alloc, d);
		ret = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
domain_del_locked(struct mem_store *s, const char *name, const char **error_r)
{
	struct mem_domain *d;
	size_t index, accounts = 0;

	if ((d = domain_find(s, name, &index)) == NULL)
		return 0;
	for (size_t i = 0; i < s->account_count; i++)
		accounts += s->accounts[i]->domain_id == d->id;
	if (accounts > 0) {
		*error_r = store_error_printf("domain %s still has %zu account(s); delete them "
					      "first", name, accounts);
		return -1;
	}
	for (size_t i = s->alias_count; i-- > 0;) {
		if (s->aliases[i]->domain_id == d->id) {
			alias_free(s->aliases[i]);
			mem_ptr_array_remove((void **)s->aliases, &s->alias_count, i);
		}
	}
	mem_ptr_array_remove((void **)s->domains, &s->domain_count, index);
	mem_free(&d->name);
	mem_free(&d->catchall);
	mem_free(&d);
	return 1;
}

static int
mem_domain_del(struct store *store, const char *name, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = domain_del_locked(s, name, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static void
domain_copy(const struct mem_domain *d, struct store_domain *out)
{
	out->id = d->id;
	out->name = mem_strdup(d->name);
	out->catchall = d->catchall == NULL ? NULL : mem_strdup(d->catchall);
}

static int
domain_cmp(const void *a, const void *b)
{
	const struct store_domain *x = a, *y = b;

	return strcmp(x->name, y->name);
}

static int
mem_domain_list(struct store *store, struct store_domain **domains_r, size_t *count_r,
		const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_domain *list;

	pthread_mutex_lock(&s->lock);
	list = mem_array(s->domain_count + 1, sizeof(*list));
	for (size_t i = 0; i < s->domain_count; i++)
		domain_copy(s->domains[i], &list[i]);
	*count_r = s->domain_count;
	pthread_mutex_unlock(&s->lock);
	qsort(list, *count_r, sizeof(*list), domain_cmp);
	*domains_r = list;
	return 1;
}

static int
mem_domain_lookup(struct store *store, const char *name, struct store_domain *domain_r,
		  const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_domain *d;

	pthread_mutex_lock(&s->lock);
	d = domain_find(s, name, NULL);
	if (d != NULL)
		domain_copy(d, domain_r);
	pthread_mutex_unlock(&s->lock);
	return d != NULL ? 1 : 0;
}

static int
mem_domain_set_catchall(struct store *store, const char *name, const char *target,
			const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_domain *d;

	pthread_mutex_lock(&s->lock);
	d = domain_find(s, name, NULL);
	if (d != NULL) {
		mem_free(&d->catchall);
		d->catchall = target == NULL ? NULL : mem_strdup(target);
	}
	pthread_mutex_unlock(&s->lock);
	return d != NULL ? 1 : 0;
}

/*
 * Accounts
 */
static int
account_add_locked(struct mem_store *s, const struct store_address *addr,
		   const char *password_hash, const char *scram_secret, uint64_t *id_r,
		   const char **error_r)
{
	struct mem_domain *d = domain_find(s, addr->domain, NULL);
	struct mem_account *a;

	if (d == NULL) {
		*error_r = store_error_printf("domain %s does not exist", addr->domain);
		return -1;
	}
	if (account_find(s, addr->key, NULL) != NULL)
		return 0;
	a = mem_zalloc(sizeof(*a));
	a->id = ++s->last_id;
	a->domain_id = d->id;
	a->address = mem_strdup(addr->address);
	a->key = mem_strdup(addr->key);
	a->password_hash = mem_strdup(password_hash);
	a->scram_secret = scram_secret == NULL ? NULL : mem_strdup(scram_secret);
	PTR_APPEND(s->accounts, s->account_count, s->account_alloc, a);
	for (size_t i = 0; i < store_default_mailbox_count; i++) {
		const struct store_default_mailbox *m = &store_default_mailboxes[i];

		if (mem_mailbox_add(s, a, m->name, m->special_use, true) == NULL)
			PANIC("UIDVALIDITY exhausted for a new account");
	}
	*id_r = a->id;
	return 1;
}

static int
mem_account_add(struct store *store, const struct store_address *addr, const char *password_hash,
		const char *scram_secret, uint64_t *id_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = account_add_locked(s, addr, password_hash, scram_secret, id_r, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
mem_account_del(struct store *store, const char *key, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account *a;
	size_t index;

	pthread_mutex_lock(&s->lock);
	a = account_find(s, key, &index);
	if (a != NULL) {
		for (size_t i = s->mailbox_count; i-- > 0;) {
			if (s->mailboxes[i]->account_id == a->id)
				mem_mailbox_remove(s, i);
		}
		mem_acl_forget_account(s, a->id);
		mem_subscriptions_forget(s, a->id);
		mem_ptr_array_remove((void **)s->accounts, &s->account_count, index);
		account_free(a);
	}
	pthread_mutex_unlock(&s->lock);
	return a != NULL ? 1 : 0;
}

static void
account_copy(const struct mem_account *a, struct store_account *out)
{
	memset(out, 0, sizeof(*out));
	out->id = a->id;
	out->domain_id = a->domain_id;
	out->address = mem_strdup(a->address);
	out->password_hash = mem_strdup(a->password_hash);
	out->scram_secret = a->scram_secret == NULL ? NULL : mem_strdup(a->scram_secret);
	out->quota_bytes = a->quota_bytes;
	out->quota_messages = a->quota_messages;
}

static int
account_ptr_cmp(const void *a, const void *b)
{
	const struct mem_account *x = *(struct mem_account *const *)a;
	const struct mem_account *y = *(struct mem_account *const *)b;

	return strcmp(x->key, y->key);
}

static int
mem_account_list(struct store *store, const char *domain, struct store_account **accounts_r,
		 size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account **sel;
	struct mem_domain *d = NULL;
	size_t n = 0;

	pthread_mutex_lock(&s->lock);
	if (domain != NULL && (d = domain_find(s, domain, NULL)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 1;
	}
	sel = mem_array(s->account_count + 1, sizeof(*sel));
	for (size_t i = 0; i < s->account_count; i++) {
		if (d == NULL || s->accounts[i]->domain_id == d->id)
			sel[n++] = s->accounts[i];
	}
	qsort(sel, n, sizeof(*sel), account_ptr_cmp);
	*accounts_r = mem_array(n + 1, sizeof(**accounts_r));
	for (size_t i = 0; i < n; i++)
		account_copy(sel[i], &(*accounts_r)[i]);
	*count_r = n;
	pthread_mutex_unlock(&s->lock);
	mem_free(&sel);
	return 1;
}

static int
mem_account_lookup(struct store *store, const char *key, struct store_account *account_r,
		   const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account *a;

	pthread_mutex_lock(&s->lock);
	a = account_find(s, key, NULL);
	if (a != NULL)
		account_copy(a, account_r);
	pthread_mutex_unlock(&s->lock);
	return a != NULL ? 1 : 0;
}

static int
mem_account_set_password(struct store *store, const char *key, const char *password_hash,
			 const char *scram_secret, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account *a;

	pthread_mutex_lock(&s->lock);
	a = account_find(s, key, NULL);
	if (a != NULL) {
		secret_free(&a->password_hash);
		secret_free(&a->scram_secret);
		a->password_hash = mem_strdup(password_hash);
		a->scram_secret = scram_secret == NULL ? NULL : mem_strdup(scram_secret);
	}
	pthread_mutex_unlock(&s->lock);
	return a != NULL ? 1 : 0;
}

static int
mem_account_may_send_as(struct store *store, uint64_t account_id, const char *key,
			const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_account *a;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	a = mem_account_by_id(s, account_id);
	if (a != NULL && strcmp(a->key, key) == 0)
		ret = 1;
	for (size_t i = 0; a != NULL && ret == 0 && i < s->alias_count; i++) {
		if (strcmp(s->aliases[i]->source_key, key) == 0 &&
		    store_address_has_key(s->aliases[i]->target, a->key))
			ret = 1;
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

/*
 * Aliases
 */
static int
alias_add_locked(struct mem_store *s, const struct store_address *source, const char *target,
		 const char **error_r)
{
	struct mem_domain *d = domain_find(s, source->domain, NULL);
	struct mem_alias *a;

	if (d == NULL) {
		*error_r = store_error_printf("domain %s does not exist", source->domain);
		return -1;
	}
	for (size_t i = 0; i < s->alias_count; i++) {
		if (strcmp(s->aliases[i]->source_key, source->key) == 0 &&
		    strcmp(s->aliases[i]->target, target) == 0)
			return 0;
	}
	a = mem_zalloc(sizeof(*a));
	a->domain_id = d->id;
	a->source = mem_strdup(source->address);
	a->source_key = mem_strdup(source->key);
	a->target = mem_strdup(target);
	PTR_APPEND(s->aliases, s->alias_count, s->alias_alloc, a);
	return 1;
}

static int
mem_alias_add(struct store *store, const struct store_address *source, const char *target,
	      const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret;

	pthread_mutex_lock(&s->lock);
	ret = alias_add_locked(s, source, target, error_r);
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
mem_alias_del(struct store *store, const char *source_key, const char *target,
	      const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = s->alias_count; i-- > 0;) {
		struct mem_alias *a = s->aliases[i];

		if (strcmp(a->source_key, source_key) == 0 &&
		    (target == NULL || strcmp(a->target, target) == 0)) {
			alias_free(a);
			mem_ptr_array_remove((void **)s->aliases, &s->alias_count, i);
			ret = 1;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

static int
alias_ptr_cmp(const void *a, const void *b)
{
	const struct mem_alias *x = *(struct mem_alias *const *)a;
	const struct mem_alias *y = *(struct mem_alias *const *)b;
	int ret = strcmp(x->source_key, y->source_key);

	return ret != 0 ? ret : strcmp(x->target, y->target);
}

/* Aliases matching domain_id (0 = all) or source_key (NULL = any), sorted. */
static struct mem_alias **
alias_select(struct mem_store *s, uint64_t domain_id, const char *source_key, size_t *count_r)
{
	struct mem_alias **sel = mem_array(s->alias_count + 1, sizeof(*sel));
	size_t n = 0;

	for (size_t i = 0; i < s->alias_count; i++) {
		struct mem_alias *a = s->aliases[i];

		if ((domain_id == 0 || a->domain_id == domain_id) &&
		    (source_key == NULL || strcmp(a->source_key, source_key) == 0))
			sel[n++] = a;
	}
	qsort(sel, n, sizeof(*sel), alias_ptr_cmp);
	*count_r = n;
	return sel;
}

static int
mem_alias_list(struct store *store, const char *domain, struct store_alias **aliases_r,
	       size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_domain *d = NULL;
	struct mem_alias **sel;
	size_t n;

	pthread_mutex_lock(&s->lock);
	if (domain != NULL && (d = domain_find(s, domain, NULL)) == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 1;
	}
	sel = alias_select(s, d == NULL ? 0 : d->id, NULL, &n);
	*aliases_r = mem_array(n + 1, sizeof(**aliases_r));
	for (size_t i = 0; i < n; i++) {
		(*aliases_r)[i].source = mem_strdup(sel[i]->source);
		(*aliases_r)[i].target = mem_strdup(sel[i]->target);
	}
	*count_r = n;
	pthread_mutex_unlock(&s->lock);
	mem_free(&sel);
	return 1;
}

static int
mem_alias_lookup(struct store *store, const char *source_key, char ***targets_r,
		 size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_alias **sel;
	size_t n;

	pthread_mutex_lock(&s->lock);
	sel = alias_select(s, 0, source_key, &n);
	*targets_r = n == 0 ? NULL : mem_array(n, sizeof(**targets_r));
	for (size_t i = 0; i < n; i++)
		(*targets_r)[i] = mem_strdup(sel[i]->target);
	*count_r = n;
	pthread_mutex_unlock(&s->lock);
	mem_free(&sel);
	return n > 0 ? 1 : 0;
}

/*
 * Open, close, gc
 */
static int
mem_open(const struct store_settings *set, struct store **store_r, const char **error_r)
{
	struct mem_store *s = mem_zalloc(sizeof(*s));

	s->store.v = &store_vfuncs_mem;
	pthread_mutex_init(&s->lock, NULL);
	*store_r = &s->store;
	return 1;
}

static void
mem_close(struct store *store)
{
	struct mem_store *s = (struct mem_store *)store;

	mem_queue_free(s);
	mem_sts_free(s);
	mem_subscriptions_forget(s, 0);
	while (s->mailbox_count > 0)
		mem_mailbox_remove(s, s->mailbox_count - 1);
	for (size_t i = 0; i < s->alias_count; i++)
		alias_free(s->aliases[i]);
	for (size_t i = 0; i < s->account_count; i++)
		account_free(s->accounts[i]);
	for (size_t i = 0; i < s->domain_count; i++) {
		mem_free(&s->domains[i]->name);
		mem_free(&s->domains[i]->catchall);
		mem_free(&s->domains[i]);
	}
	mem_free(&s->mailboxes);
	mem_free(&s->aliases);
	mem_free(&s->accounts);
	mem_free(&s->domains);
	pthread_mutex_destroy(&s->lock);
	mem_free(&s);
}

/* Bodies are freed with their last reference; there is nothing to collect. */
static int
mem_gc(struct store *store, uint32_t grace_secs, struct store_gc_result *result_r,
       const char **error_r)
{
	return 1;
}

const struct store_vfuncs store_vfuncs_mem = {
	.name = "mem",
	.open = mem_open,
	.close = mem_close,
	.domain_add = mem_domain_add,
	.domain_del = mem_domain_del,
	.domain_list = mem_domain_list,
	.domain_lookup = mem_domain_lookup,
	.domain_set_catchall = mem_domain_set_catchall,
	.account_add = mem_account_add,
	.account_del = mem_account_del,
	.account_list = mem_account_list,
	.account_lookup = mem_account_lookup,
	.account_set_password = mem_account_set_password,
	.account_may_send_as = mem_account_may_send_as,
	.alias_add = mem_alias_add,
	.alias_del = mem_alias_del,
	.alias_list = mem_alias_list,
	.alias_lookup = mem_alias_lookup,
	.mailbox_lookup = mem_mailbox_lookup,
	.mailbox_list = mem_mailbox_list,
	.mailbox_create = mem_mailbox_create,
	.mailbox_delete = mem_mailbox_delete,
	.mailbox_rename = mem_mailbox_rename,
	.mailbox_set_subscribed = mem_mailbox_set_subscribed,
	.subscription_list = mem_subscription_list,
	.blob_begin = mem_blob_begin,
	.blob_write = mem_blob_write,
	.blob_abort = mem_blob_abort,
	.deliver = mem_deliver,
	.deliver_multi = mem_deliver_multi,
	.message_list = mem_message_list,
	.message_open = mem_message_open,
	.message_expunge = mem_message_expunge,
	.message_set_flags = mem_message_set_flags,
	.message_copy = mem_message_copy,
	.message_vanished = mem_message_vanished,
	.account_set_quota = mem_account_set_quota,
	.account_usage = mem_account_usage,
	.queue_add = mem_queue_add,
	.queue_list = mem_queue_list,
	.queue_due = mem_queue_due,
	.queue_get = mem_queue_get,
	.queue_delete = mem_queue_delete,
	.queue_set_hold = mem_queue_set_hold,
	.queue_flush = mem_queue_flush,
	.queue_open_body = mem_queue_open_body,
	.queue_update_rcpt = mem_queue_update_rcpt,
	.gc = mem_gc,
	.mailbox_modseq = mem_mailbox_modseq,
	.acl_set = mem_acl_set,
	.acl_get = mem_acl_get,
	.acl_lookup = mem_acl_lookup,
	.acl_shared = mem_acl_shared,
	.mailbox_claim_recent = mem_mailbox_claim_recent,
	.mailbox_recent = mem_mailbox_recent,
	.sts_get = mem_sts_get,
	.sts_put = mem_sts_put,
	.sts_delete = mem_sts_delete,
};
