/*
 * store-mem-acl.c - mailbox ACLs (RFC 4314) in the memory backend, and the
 * mailbox modseq read used by change notification.
 *
 * Does not: check or canonicalise rights or identifiers (store-acl.c does).
 *
 * Entries live in their mailbox (struct mem_mailbox.acl), so they go with
 * it; mem_account_del drops the entries naming the account with
 * mem_acl_forget_account, as the SQLite schema's cascade does. Listings are
 * sorted to the order the SQLite backend returns.
 */
#include "store/store-mem.h"

#include "core/mem.h"

#include <stdlib.h>
#include <string.h>

void
mem_acl_forget_account(struct mem_store *s, uint64_t account_id)
{
	for (size_t i = 0; i < s->mailbox_count; i++) {
		struct mem_mailbox *m = s->mailboxes[i];
		size_t kept = 0;

		for (size_t j = 0; j < m->acl_count; j++) {
			if (m->acl[j].account_id != account_id)
				m->acl[kept++] = m->acl[j];
		}
		m->acl_count = kept;
	}
}

int
mem_mailbox_modseq(struct store *store, uint64_t mailbox_id, uint64_t *modseq_r,
		   const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	*modseq_r = m != NULL ? m->highest_modseq : 0;
	pthread_mutex_unlock(&s->lock);
	return m != NULL ? 1 : 0;
}

int
mem_acl_set(struct store *store, uint64_t mailbox_id, const struct store_acl_key *key,
	    const char *rights, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;
	size_t i;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	if (m == NULL || (key->account_id != 0 && mem_account_by_id(s, key->account_id) == NULL)) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	for (i = 0; i < m->acl_count; i++) {
		if (m->acl[i].account_id == key->account_id && m->acl[i].special == key->special)
			break;
	}
	if (rights[0] == '\0') {
		if (i < m->acl_count) {
			memmove(&m->acl[i], &m->acl[i + 1], (m->acl_count - i - 1) * sizeof(*m->acl));
			m->acl_count--;
		}
	} else {
		if (i == m->acl_count) {
			m->acl = store_array_grow(m->acl, &m->acl_alloc, m->acl_count,
						  sizeof(*m->acl));
			m->acl[m->acl_count].account_id = key->account_id;
			m->acl[m->acl_count++].special = key->special;
		}
		ASSERT(strlen(rights) < sizeof(m->acl[i].rights));
		memcpy(m->acl[i].rights, rights, strlen(rights) + 1);
	}
	pthread_mutex_unlock(&s->lock);
	return 1;
}

/* Specials first ("anyone", "authenticated"), then accounts by lookup key;
 * the keys are compared through a parallel array of pointers. */
struct acl_sort {
	struct store_acl_entry entry;
	enum store_acl_special special;
	const char *key;
};

static int
acl_sort_cmp(const void *a, const void *b)
{
	const struct acl_sort *x = a, *y = b;

	if ((x->key == NULL) != (y->key == NULL))
		return x->key == NULL ? -1 : 1;
	if (x->key == NULL)
		return (int)x->special - (int)y->special;
	return strcmp(x->key, y->key);
}

int
mem_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
	    size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct store_acl_entry *list;
	struct acl_sort *sort;
	struct mem_mailbox *m;
	size_t n;

	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	if (m == NULL) {
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	n = m->acl_count;
	sort = mem_array(n + 1, sizeof(*sort));
	for (size_t i = 0; i < n; i++) {
		const struct mem_acl *a = &m->acl[i];
		struct mem_account *acc =
			a->account_id != 0 ? mem_account_by_id(s, a->account_id) : NULL;

		sort[i].special = a->special;
		sort[i].entry.account_id = a->account_id;
		memcpy(sort[i].entry.rights, a->rights, sizeof(a->rights));
		if (acc != NULL) {
			sort[i].entry.identifier = mem_strdup(acc->address);
			sort[i].key = mem_strdup(acc->key);
		} else {
			sort[i].entry.identifier = mem_strdup(a->special == STORE_ACL_SPECIAL_ANYONE
								      ? STORE_ACL_ANYONE
								      : STORE_ACL_AUTHENTICATED);
		}
	}
	pthread_mutex_unlock(&s->lock);
	qsort(sort, n, sizeof(*sort), acl_sort_cmp);
	list = mem_array(n + 1, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		list[i] = sort[i].entry;
		mem_free(&sort[i].key);
	}
	mem_free(&sort);
	*entries_r = list;
	*count_r = n;
	return 1;
}

/* Append to out (STORE_ACL_LOOKUP_SIZE) the rights of m's entries that apply
 * to account_id (0: none but "anyone"). */
static void
acl_applying(const struct mem_mailbox *m, uint64_t account_id, char *out)
{
	size_t len = strlen(out);

	for (size_t i = 0; i < m->acl_count; i++) {
		const struct mem_acl *a = &m->acl[i];
		size_t add = strlen(a->rights);

		if (a->special != STORE_ACL_SPECIAL_ANYONE &&
		    (account_id == 0 || (a->special != STORE_ACL_SPECIAL_AUTHENTICATED &&
					 a->account_id != account_id)))
			continue;
		ASSERT(len + add < STORE_ACL_LOOKUP_SIZE);
		memcpy(out + len, a->rights, add + 1);
		len += add;
	}
}

int
mem_acl_lookup(struct store *store, uint64_t mailbox_id, uint64_t account_id, uint64_t *owner_r,
	       char rights_r[STORE_ACL_LOOKUP_SIZE], const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct mem_mailbox *m;

	rights_r[0] = '\0';
	pthread_mutex_lock(&s->lock);
	m = mem_mailbox_by_id(s, mailbox_id);
	if (m != NULL) {
		*owner_r = m->account_id;
		acl_applying(m, account_id, rights_r);
	}
	pthread_mutex_unlock(&s->lock);
	return m != NULL ? 1 : 0;
}

struct shared_sort {
	struct store_acl_shared shared;
	char *key;
};

static int
shared_sort_cmp(const void *a, const void *b)
{
	const struct shared_sort *x = a, *y = b;
	int cmp = strcmp(x->key, y->key);

	return cmp != 0 ? cmp : strcmp(x->shared.name, y->shared.name);
}

int
mem_acl_shared(struct store *store, uint64_t account_id, struct store_acl_shared **shared_r,
	       size_t *count_r, const char **error_r)
{
	struct mem_store *s = (struct mem_store *)store;
	struct shared_sort *sort = NULL;
	struct store_acl_shared *list;
	size_t n = 0, alloc = 0;

	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->mailbox_count; i++) {
		struct mem_mailbox *m = s->mailboxes[i];
		char concat[STORE_ACL_LOOKUP_SIZE] = "";
		struct mem_account *owner;
		struct shared_sort *e;

		if (m->account_id == account_id || m->acl_count == 0)
			continue;
		acl_applying(m, account_id, concat);
		owner = mem_account_by_id(s, m->account_id);
		if (concat[0] == '\0' || owner == NULL)
			continue;
		sort = store_array_grow(sort, &alloc, n, sizeof(*sort));
		e = &sort[n++];
		memset(e, 0, sizeof(*e));
		e->shared.mailbox_id = m->id;
		e->shared.owner_id = m->account_id;
		e->shared.owner = mem_strdup(owner->address);
		e->shared.name = mem_strdup(m->name);
		e->key = mem_strdup(owner->key);
		if (store_acl_rights_normalize(concat, e->shared.rights, error_r) < 0)
			PANIC("invalid stored ACL rights");
	}
	pthread_mutex_unlock(&s->lock);
	if (n > 0)
		qsort(sort, n, sizeof(*sort), shared_sort_cmp);
	list = mem_array(n + 1, sizeof(*list));
	for (size_t i = 0; i < n; i++) {
		list[i] = sort[i].shared;
		mem_free(&sort[i].key);
	}
	mem_free(&sort);
	*shared_r = list;
	*count_r = n;
	return 1;
}
