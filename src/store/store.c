/*
 * store.c - the public store API: picks a backend by name, checks and
 * normalises arguments, dispatches through the backend's vtable, and frees
 * what backends return.
 *
 * Does not: hold state of its own beyond the per-thread error buffer, or
 * lock anything (each backend is thread-safe on its own).
 *
 * Policy kept here so that every backend shares it: a name that could never
 * have been added (bad syntax) is simply "not found" (0) in lookups and
 * deletions, because callers such as SMTP RCPT handling want "no such user"
 * rather than a temporary error; adds and creates refuse it (-1).
 */
#include "store/store-private.h"

#include "core/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define STORE_ERROR_MAX 512

static _Thread_local char store_error_buf[STORE_ERROR_MAX];

const char *
store_error_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(store_error_buf, sizeof(store_error_buf), fmt, ap);
	va_end(ap);
	return store_error_buf;
}

void *
store_array_grow(void *array, size_t *alloc, size_t count, size_t size)
{
	if (count < *alloc)
		return array;
	*alloc = *alloc == 0 ? 16 : mem_size_mul(*alloc, 2);
	return mem_realloc(array, mem_size_mul(*alloc, size));
}

static const struct store_vfuncs *const store_backends[] = {
	&store_vfuncs_sqlite,
	&store_vfuncs_mem,
};

int
store_open(const struct store_settings *set, struct store **store_r, const char **error_r)
{
	const char *name = set->backend != NULL ? set->backend : "sqlite";
	ERROR_R_GUARD(error_r);

	*store_r = NULL;
	for (size_t i = 0; i < N_ELEMENTS(store_backends); i++) {
		if (strcmp(store_backends[i]->name, name) != 0)
			continue;
		if (store_backends[i]->open(set, store_r, error_r) < 0)
			return -1;
		(*store_r)->notify = store_notify_new();
		return 1;
	}
	*error_r = store_error_printf("unknown store backend '%s'", name);
	return -1;
}

void
store_close(struct store **store)
{
	if (*store == NULL)
		return;
	store_notify_free(&(*store)->notify);
	(*store)->v->close(*store);
	*store = NULL;
}

/*
 * Domains
 */
int
store_domain_add(struct store *store, const char *name, const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_domain_normalize(name, &norm, error_r) < 0)
		return -1;
	ret = store->v->domain_add(store, norm, error_r);
	mem_free(&norm);
	return ret;
}

int
store_domain_del(struct store *store, const char *name, const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_domain_normalize(name, &norm, error_r) < 0)
		return 0;
	ret = store->v->domain_del(store, norm, error_r);
	mem_free(&norm);
	return ret;
}

int
store_domain_list(struct store *store, struct store_domain **domains_r, size_t *count_r,
		  const char **error_r)
{
	ERROR_R_GUARD(error_r);

	*domains_r = NULL;
	*count_r = 0;
	return store->v->domain_list(store, domains_r, count_r, error_r);
}

void
store_domain_deinit(struct store_domain *domain)
{
	mem_free(&domain->name);
	mem_free(&domain->catchall);
}

void
store_domain_list_free(struct store_domain **domains, size_t count)
{
	for (size_t i = 0; *domains != NULL && i < count; i++)
		store_domain_deinit(&(*domains)[i]);
	mem_free(domains);
}

int
store_domain_lookup(struct store *store, const char *name, struct store_domain *domain_r,
		    const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	memset(domain_r, 0, sizeof(*domain_r));
	if (store_domain_normalize(name, &norm, error_r) < 0)
		return 0;
	ret = store->v->domain_lookup(store, norm, domain_r, error_r);
	mem_free(&norm);
	return ret;
}

int
store_domain_set_catchall(struct store *store, const char *name, const char *target,
			  const char **error_r)
{
	char *norm;
	int ret;
	ERROR_R_GUARD(error_r);

	if (target != NULL && store_address_check(target, error_r) < 0)
		return -1;
	if (store_domain_normalize(name, &norm, error_r) < 0)
		return 0;
	ret = store->v->domain_set_catchall(store, norm, target, error_r);
	mem_free(&norm);
	return ret;
}

/*
 * Accounts
 */
/* The password arguments of account add and set_password: 0 or -1. */
static int
password_check(const char *password_hash, const char *scram_secret, const char **error_r)
{
	if (password_hash == NULL) {
		*error_r = "no password hash";
		return -1;
	}
	if (scram_secret != NULL && scram_secret[0] == '\0') {
		*error_r = "empty SCRAM secret";
		return -1;
	}
	if (scram_secret != NULL &&
	    store_text_check("SCRAM secret", scram_secret, STORE_SCRAM_SECRET_MAX, error_r) < 0)
		return -1;
	return 0;
}

int
store_account_add(struct store *store, const char *address, const char *password_hash,
		  const char *scram_secret, uint64_t *id_r, const char **error_r)
{
	struct store_address addr;
	uint64_t id;
	int ret;
	ERROR_R_GUARD(error_r);

	if (password_check(password_hash, scram_secret, error_r) < 0)
		return -1;
	if (store_address_parse(address, &addr, error_r) < 0) {
		store_address_deinit(&addr);
		return -1;
	}
	ret = store->v->account_add(store, &addr, password_hash, scram_secret, &id, error_r);
	if (ret > 0 && id_r != NULL)
		*id_r = id;
	store_address_deinit(&addr);
	return ret;
}

/* Parse address for a lookup or deletion: -1 (and nothing to free) when it
 * is not valid, so that the caller answers "not found". */
static int
address_for_lookup(const char *address, struct store_address *addr_r)
{
	const char *error;

	if (store_address_parse(address, addr_r, &error) < 0) {
		store_address_deinit(addr_r);
		return -1;
	}
	return 0;
}

int
store_account_del(struct store *store, const char *address, const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (address_for_lookup(address, &addr) < 0)
		return 0;
	ret = store->v->account_del(store, addr.key, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_account_list(struct store *store, const char *domain, struct store_account **accounts_r,
		   size_t *count_r, const char **error_r)
{
	char *norm = NULL;
	int ret;
	ERROR_R_GUARD(error_r);

	*accounts_r = NULL;
	*count_r = 0;
	if (domain != NULL && store_domain_normalize(domain, &norm, error_r) < 0)
		return 1;
	ret = store->v->account_list(store, norm, accounts_r, count_r, error_r);
	mem_free(&norm);
	return ret;
}

void
store_account_deinit(struct store_account *account)
{
	if (account->password_hash != NULL)
		explicit_bzero(account->password_hash, strlen(account->password_hash));
	if (account->scram_secret != NULL)
		explicit_bzero(account->scram_secret, strlen(account->scram_secret));
	mem_free(&account->password_hash);
	mem_free(&account->scram_secret);
	mem_free(&account->address);
}

void
store_account_list_free(struct store_account **accounts, size_t count)
{
	for (size_t i = 0; *accounts != NULL && i < count; i++)
		store_account_deinit(&(*accounts)[i]);
	mem_free(accounts);
}

int
store_account_lookup(struct store *store, const char *address, struct store_account *account_r,
		     const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	memset(account_r, 0, sizeof(*account_r));
	if (address_for_lookup(address, &addr) < 0)
		return 0;
	ret = store->v->account_lookup(store, addr.key, account_r, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_account_set_password(struct store *store, const char *address, const char *password_hash,
			   const char *scram_secret, const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (password_check(password_hash, scram_secret, error_r) < 0)
		return -1;
	if (address_for_lookup(address, &addr) < 0)
		return 0;
	ret = store->v->account_set_password(store, addr.key, password_hash, scram_secret,
					     error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_account_may_send_as(struct store *store, uint64_t account_id, const char *address,
			  const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (account_id == 0 || address_for_lookup(address, &addr) < 0)
		return 0;
	ret = store->v->account_may_send_as(store, account_id, addr.key, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_account_set_quota(struct store *store, const char *address, uint64_t bytes,
			uint64_t messages, const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (bytes > INT64_MAX || messages > INT64_MAX) {
		*error_r = "quota limit too large";
		return -1;
	}
	if (address_for_lookup(address, &addr) < 0)
		return 0;
	ret = store->v->account_set_quota(store, addr.key, bytes, messages, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_account_usage(struct store *store, uint64_t account_id, uint64_t *bytes_r,
		    uint64_t *messages_r, const char **error_r)
{
	struct store_quota q;
	int ret = store_account_quota(store, account_id, &q, error_r);

	*bytes_r = q.bytes;
	*messages_r = q.messages;
	return ret;
}

int
store_account_quota(struct store *store, uint64_t account_id, struct store_quota *quota_r,
		    const char **error_r)
{
	uint64_t limits[2] = { 0, 0 };
	int ret;
	ERROR_R_GUARD(error_r);

	memset(quota_r, 0, sizeof(*quota_r));
	ret = store->v->account_usage(store, account_id, limits, &quota_r->bytes,
				      &quota_r->messages, error_r);
	if (ret <= 0) {
		memset(quota_r, 0, sizeof(*quota_r));
		return ret;
	}
	quota_r->limit_bytes = limits[0];
	quota_r->limit_messages = limits[1];
	return ret;
}

int
store_quota_check(const struct store_quota *quota, uint64_t add_bytes, uint64_t add_messages)
{
	if (quota->limit_messages != 0 &&
	    quota->messages + add_messages > quota->limit_messages)
		return -1;
	if (quota->limit_bytes != 0 && quota->bytes + add_bytes > quota->limit_bytes)
		return -1;
	return 0;
}

int
store_account_over_quota(struct store *store, uint64_t account_id, uint64_t add_bytes,
			 uint64_t add_messages, const char **error_r)
{
	struct store_quota q;
	int ret = store_account_quota(store, account_id, &q, error_r);

	if (ret <= 0)
		return ret;
	return store_quota_check(&q, add_bytes, add_messages) < 0 ? 1 : 0;
}

/*
 * Aliases
 */
int
store_alias_add(struct store *store, const char *source, const char *target,
		const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (store_address_parse(source, &addr, error_r) < 0 ||
	    store_address_check(target, error_r) < 0) {
		store_address_deinit(&addr);
		return -1;
	}
	ret = store->v->alias_add(store, &addr, target, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_alias_del(struct store *store, const char *source, const char *target,
		const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	if (address_for_lookup(source, &addr) < 0)
		return 0;
	ret = store->v->alias_del(store, addr.key, target, error_r);
	store_address_deinit(&addr);
	return ret;
}

int
store_alias_list(struct store *store, const char *domain, struct store_alias **aliases_r,
		 size_t *count_r, const char **error_r)
{
	char *norm = NULL;
	int ret;
	ERROR_R_GUARD(error_r);

	*aliases_r = NULL;
	*count_r = 0;
	if (domain != NULL && store_domain_normalize(domain, &norm, error_r) < 0)
		return 1;
	ret = store->v->alias_list(store, norm, aliases_r, count_r, error_r);
	mem_free(&norm);
	return ret;
}

void
store_alias_list_free(struct store_alias **aliases, size_t count)
{
	for (size_t i = 0; *aliases != NULL && i < count; i++) {
		mem_free(&(*aliases)[i].source);
		mem_free(&(*aliases)[i].target);
	}
	mem_free(aliases);
}

int
store_alias_lookup(struct store *store, const char *source, char ***targets_r, size_t *count_r,
		   const char **error_r)
{
	struct store_address addr;
	int ret;
	ERROR_R_GUARD(error_r);

	*targets_r = NULL;
	*count_r = 0;
	if (address_for_lookup(source, &addr) < 0)
		return 0;
	ret = store->v->alias_lookup(store, addr.key, targets_r, count_r, error_r);
	store_address_deinit(&addr);
	return ret;
}

void
store_alias_targets_free(char ***targets, size_t count)
{
	for (size_t i = 0; *targets != NULL && i < count; i++)
		mem_free(&(*targets)[i]);
	mem_free(targets);
}
