/*
 * store-acl.c - the public ACL calls (store_acl_*, RFC 4314; see store.h):
 * rights validation and canonical form, identifier parsing, the owner's
 * implicit rights, and vtable dispatch.
 *
 * Does not: store anything (backends keep the entries and remove them with
 * their mailbox or account), decide what a right permits (the IMAP layer
 * checks rights before acting), or support negative rights (RFC 4314 2,
 * "-identifier"): such identifiers are refused.
 *
 * Invariant: every rights string a backend stores or returns from acl_get
 * is canonical (STORE_ACL_RIGHTS_ALL letters, sorted, each once); the
 * strings of acl_lookup and acl_shared are concatenations of such strings
 * and are canonicalised here.
 */
#include "store/store-private.h"

#include "core/mem.h"

#include <string.h>
#include <strings.h>

int
store_acl_rights_normalize(const char *rights, char out_r[STORE_ACL_RIGHTS_SIZE],
			   const char **error_r)
{
	static const char all[] = STORE_ACL_RIGHTS_ALL;
	bool have[sizeof(all)] = { false };
	size_t n = 0;
	ERROR_R_GUARD(error_r);

	out_r[0] = '\0';
	for (const char *p = rights; *p != '\0'; p++) {
		const char *expand, *hit;
		char one[2] = { *p, '\0' };

		/* RFC 4314 2.1.1: the obsolete rights stand for right sets. */
		if (*p == 'c')
			expand = "kx";
		else if (*p == 'd')
			expand = "etx";
		else
			expand = one;
		for (const char *q = expand; *q != '\0'; q++) {
			hit = strchr(all, *q);
			if (hit == NULL) {
				*error_r = (unsigned char)*q >= 0x21 && (unsigned char)*q < 0x7f
						   ? store_error_printf("unknown ACL right '%c'", *q)
						   : "unknown ACL right";
				return -1;
			}
			have[hit - all] = true;
		}
	}
	for (size_t i = 0; i + 1 < sizeof(all); i++) {
		if (have[i])
			out_r[n++] = all[i];
	}
	out_r[n] = '\0';
	return 0;
}

/* Canonicalise a concatenation of canonical strings (cannot fail). */
static void
rights_union(const char *concat, char out_r[STORE_ACL_RIGHTS_SIZE])
{
	const char *error;

	if (store_acl_rights_normalize(concat, out_r, &error) < 0)
		PANIC("backend returned invalid ACL rights: %s", error);
}

/* identifier -> key: 1, 0 no such account, -1 invalid. */
static int
acl_key_parse(struct store *store, const char *identifier, struct store_acl_key *key_r,
	      const char **error_r)
{
	struct store_account account;
	struct store_address addr;
	int ret;

	memset(key_r, 0, sizeof(*key_r));
	if (strcasecmp(identifier, STORE_ACL_ANYONE) == 0) {
		key_r->special = STORE_ACL_SPECIAL_ANYONE;
		return 1;
	}
	if (strcasecmp(identifier, STORE_ACL_AUTHENTICATED) == 0) {
		key_r->special = STORE_ACL_SPECIAL_AUTHENTICATED;
		return 1;
	}
	if (identifier[0] == '-') {
		*error_r = "negative ACL rights are not supported";
		return -1;
	}
	if (store_address_parse(identifier, &addr, error_r) < 0) {
		store_address_deinit(&addr);
		return -1;
	}
	memset(&account, 0, sizeof(account));
	ret = store->v->account_lookup(store, addr.key, &account, error_r);
	if (ret > 0)
		key_r->account_id = account.id;
	store_account_deinit(&account);
	store_address_deinit(&addr);
	return ret;
}

int
store_acl_set(struct store *store, uint64_t mailbox_id, const char *identifier,
	      const char *rights, const char **error_r)
{
	char canon[STORE_ACL_RIGHTS_SIZE];
	struct store_acl_key key;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_acl_rights_normalize(rights, canon, error_r) < 0)
		return -1;
	if ((ret = acl_key_parse(store, identifier, &key, error_r)) <= 0)
		return ret;
	return store->v->acl_set(store, mailbox_id, &key, canon, error_r);
}

int
store_acl_get(struct store *store, uint64_t mailbox_id, struct store_acl_entry **entries_r,
	      size_t *count_r, const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*entries_r = NULL;
	*count_r = 0;
	return store->v->acl_get(store, mailbox_id, entries_r, count_r, error_r);
}

void
store_acl_list_free(struct store_acl_entry **entries, size_t count)
{
	for (size_t i = 0; *entries != NULL && i < count; i++)
		mem_free(&(*entries)[i].identifier);
	mem_free(entries);
}

int
store_acl_rights(struct store *store, uint64_t mailbox_id, uint64_t account_id,
		 char rights_r[STORE_ACL_RIGHTS_SIZE], const char **error_r)
{
	char concat[STORE_ACL_LOOKUP_SIZE];
	uint64_t owner = 0;
	int ret;
	ERROR_R_GUARD(error_r);

	rights_r[0] = '\0';
	concat[0] = '\0';
	ret = store->v->acl_lookup(store, mailbox_id, account_id, &owner, concat, error_r);
	if (ret <= 0)
		return ret;
	if (account_id != 0 && owner == account_id)
		memcpy(rights_r, STORE_ACL_RIGHTS_ALL, sizeof(STORE_ACL_RIGHTS_ALL));
	else
		rights_union(concat, rights_r);
	return 1;
}

int
store_acl_shared_mailboxes(struct store *store, uint64_t account_id,
			   struct store_acl_shared **shared_r, size_t *count_r,
			   const char **error_r)
{
	struct store_acl_shared *list = NULL;
	size_t count = 0, kept = 0;
	ERROR_R_GUARD(error_r);

	*shared_r = NULL;
	*count_r = 0;
	if (account_id == 0)
		return 1;
	if (store->v->acl_shared(store, account_id, &list, &count, error_r) < 0)
		return -1;
	/* Keep those with "l" (RFC 4314 2.1: without it the mailbox is not
	 * even listed), in the backend's order. */
	for (size_t i = 0; i < count; i++) {
		char canon[STORE_ACL_RIGHTS_SIZE];

		rights_union(list[i].rights, canon);
		if (strchr(canon, 'l') == NULL) {
			mem_free(&list[i].owner);
			mem_free(&list[i].name);
			continue;
		}
		list[kept] = list[i];
		memcpy(list[kept].rights, canon, sizeof(canon));
		kept++;
	}
	if (kept == 0)
		mem_free(&list);
	*shared_r = list;
	*count_r = kept;
	return 1;
}

void
store_acl_shared_free(struct store_acl_shared **shared, size_t count)
{
	for (size_t i = 0; *shared != NULL && i < count; i++) {
		mem_free(&(*shared)[i].owner);
		mem_free(&(*shared)[i].name);
	}
	mem_free(shared);
}
