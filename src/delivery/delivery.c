/*
 * delivery.c - recipient resolution (see delivery.h for the order).
 *
 * Aliases and catch-alls make a graph that an administrator can get wrong:
 * a cycle (a -> b -> a, a catch-all naming an unknown address of its own
 * domain) or a fan-out that multiplies (each of ten aliases naming ten
 * more). Both end in DELIVERY_LOOP (550 5.4.6, RFC 3463 "routing loop
 * detected") within bounded work: an address met again on the path being
 * resolved is a loop at once; an address already resolved is not resolved
 * again (its accounts are merged already), so a diamond costs one lookup
 * per distinct address; and the path depth (DELIVERY_MAX_DEPTH) and the
 * distinct addresses looked up (DELIVERY_MAX_TARGETS) are capped.
 */
#include "delivery/delivery.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/mem.h"

struct resolve_ctx {
	struct store *store;
	const struct delivery_settings *set;
	uint64_t *ids;
	size_t count;
	unsigned visited;
	const char *error;
	/* the addresses on the path being resolved, outermost first */
	const char *path[DELIVERY_MAX_DEPTH + 2];
	unsigned path_len;
	/* addresses resolved to accounts already (their ids are in ids) */
	char **done;
	size_t done_count;
};

static bool
strv_has_ci(const char *const *v, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++) {
		if (strcasecmp(v[i], s) == 0)
			return true;
	}
	return false;
}

static enum delivery_status resolve_address(struct resolve_ctx *ctx, const char *address,
					    unsigned depth);

void
delivery_ids_merge(uint64_t **ids, size_t *count, const uint64_t *add, size_t add_count)
{
	for (size_t i = 0; i < add_count; i++) {
		bool seen = false;

		for (size_t j = 0; j < *count && !seen; j++)
			seen = (*ids)[j] == add[i];
		if (seen)
			continue;
		*ids = mem_realloc(*ids, mem_size_mul(*count + 1, sizeof(**ids)));
		(*ids)[(*count)++] = add[i];
	}
}

/* Account or alias for exactly this address. DELIVERY_UNKNOWN_USER when
 * neither exists. */
static enum delivery_status
resolve_exact(struct resolve_ctx *ctx, const char *address, unsigned depth)
{
	struct store_account acct;
	char **targets;
	size_t n;
	int ret;

	ret = store_account_lookup(ctx->store, address, &acct, &ctx->error);
	if (ret < 0)
		return DELIVERY_TEMPFAIL;
	if (ret == 1) {
		delivery_ids_merge(&ctx->ids, &ctx->count, &acct.id, 1);
		store_account_deinit(&acct);
		return DELIVERY_OK;
	}
	ret = store_alias_lookup(ctx->store, address, &targets, &n, &ctx->error);
	if (ret < 0)
		return DELIVERY_TEMPFAIL;
	if (ret == 0)
		return DELIVERY_UNKNOWN_USER;
	for (size_t i = 0; i < n; i++) {
		enum delivery_status st = resolve_address(ctx, targets[i], depth + 1);

		if (st != DELIVERY_OK) {
			store_alias_targets_free(&targets, n);
			/* an alias pointing at nobody is a configuration error, not
			 * an unknown user: say so instead of 550 5.1.1 */
			return st == DELIVERY_UNKNOWN_USER || st == DELIVERY_NOT_LOCAL ?
				       DELIVERY_REMOTE_TARGET : st;
		}
	}
	store_alias_targets_free(&targets, n);
	return DELIVERY_OK;
}

static enum delivery_status
resolve_parts(struct resolve_ctx *ctx, const char *localpart, const char *domain,
	      unsigned depth)
{
	struct store_domain dom;
	enum delivery_status st;
	size_t len = strlen(localpart) + strlen(domain) + 2;
	char *address;
	int ret;

	if (depth > DELIVERY_MAX_DEPTH || ctx->path_len >= N_ELEMENTS(ctx->path))
		return DELIVERY_LOOP;
	address = mem_alloc(len);
	snprintf(address, len, "%s@%s", localpart, domain);
	/* met again on its own path: a cycle; resolved before: nothing new */
	if (strv_has_ci(ctx->path, ctx->path_len, address)) {
		mem_free(&address);
		return DELIVERY_LOOP;
	}
	if (strv_has_ci((const char *const *)ctx->done, ctx->done_count, address)) {
		mem_free(&address);
		return DELIVERY_OK;
	}
	if (++ctx->visited > DELIVERY_MAX_TARGETS) {
		mem_free(&address);
		return DELIVERY_LOOP;
	}
	ret = store_domain_lookup(ctx->store, domain, &dom, &ctx->error);
	if (ret <= 0) {
		mem_free(&address);
		return ret < 0 ? DELIVERY_TEMPFAIL : DELIVERY_NOT_LOCAL;
	}
	ctx->path[ctx->path_len++] = address;
	st = resolve_exact(ctx, address, depth);
	if (st == DELIVERY_UNKNOWN_USER && ctx->set->recipient_delimiter[0] != '\0') {
		const char *delim = strchr(localpart, ctx->set->recipient_delimiter[0]);

		if (delim != NULL && delim != localpart) {
			snprintf(address, len, "%.*s@%s", (int)(delim - localpart), localpart,
				 domain);
			st = resolve_exact(ctx, address, depth);
		}
	}
	if (st == DELIVERY_UNKNOWN_USER && dom.catchall != NULL) {
		st = resolve_address(ctx, dom.catchall, depth + 1);
		if (st == DELIVERY_UNKNOWN_USER || st == DELIVERY_NOT_LOCAL)
			st = DELIVERY_REMOTE_TARGET;
	}
	ctx->path_len--;
	if (st == DELIVERY_OK) {
		ctx->done = mem_realloc(ctx->done, mem_size_mul(ctx->done_count + 1,
								sizeof(*ctx->done)));
		ctx->done[ctx->done_count++] = address;
		address = NULL;
	}
	mem_free(&address);
	store_domain_deinit(&dom);
	return st;
}

static enum delivery_status
resolve_address(struct resolve_ctx *ctx, const char *address, unsigned depth)
{
	const char *at = strrchr(address, '@');
	char *localpart;
	enum delivery_status st;

	if (at == NULL || at == address || at[1] == '\0')
		return DELIVERY_NOT_LOCAL;
	localpart = mem_strndup(address, (size_t)(at - address));
	st = resolve_parts(ctx, localpart, at + 1, depth);
	mem_free(&localpart);
	return st;
}

/* The domain an address literal stands for, or NULL when it is not ours. */
static const char *
literal_domain(struct resolve_ctx *ctx, const char *literal)
{
	char ip[64];
	unsigned char bin[16], want[16];
	int af;
	size_t n = strlen(literal);
	struct store_domain dom;

	if (n < 3 || literal[0] != '[' || literal[n - 1] != ']' || n - 2 >= sizeof(ip))
		return NULL;
	memcpy(ip, literal + 1, n - 2);
	ip[n - 2] = '\0';
	af = AF_INET;
	if (strncasecmp(ip, "IPv6:", 5) == 0) {
		memmove(ip, ip + 5, strlen(ip + 5) + 1);
		af = AF_INET6;
	}
	if (inet_pton(af, ip, bin) != 1)
		return NULL;
	for (size_t i = 0; i < ctx->set->literal_ip_count; i++) {
		const char *cand = ctx->set->literal_ips[i];
		int caf = strchr(cand, ':') != NULL ? AF_INET6 : AF_INET;

		if (caf != af || inet_pton(caf, cand, want) != 1)
			continue;
		if (memcmp(bin, want, af == AF_INET ? 4 : 16) != 0)
			continue;
		if (ctx->set->hostname != NULL &&
		    store_domain_lookup(ctx->store, ctx->set->hostname, &dom, &ctx->error) == 1) {
			store_domain_deinit(&dom);
			return ctx->set->hostname;
		}
		return "localhost";
	}
	return NULL;
}

enum delivery_status
delivery_resolve(struct store *store, const struct delivery_settings *set, const char *localpart,
		 const char *domain, bool literal, uint64_t **accounts_r, size_t *count_r,
		 const char **error_r)
{
	struct resolve_ctx ctx = { .store = store, .set = set };
	enum delivery_status st;

	*accounts_r = NULL;
	*count_r = 0;
	if (literal) {
		domain = literal_domain(&ctx, domain);
		if (domain == NULL)
			return DELIVERY_NOT_LOCAL;
	}
	st = resolve_parts(&ctx, localpart, domain, 0);
	for (size_t i = 0; i < ctx.done_count; i++)
		mem_free(&ctx.done[i]);
	mem_free(&ctx.done);
	if (st == DELIVERY_OK) {
		*accounts_r = ctx.ids;
		*count_r = ctx.count;
	} else {
		mem_free(&ctx.ids);
		if (st == DELIVERY_TEMPFAIL && error_r != NULL)
			*error_r = ctx.error;
	}
	return st;
}
