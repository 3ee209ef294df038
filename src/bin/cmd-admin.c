/*
 * cmd-admin.c - `posthorn domain`, `posthorn account`, `posthorn alias`:
 * the store's domains, accounts and aliases from the command line, with
 * --json listings and the stable exit codes of cli.h.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "core/mem.h"
#include "sasl/password.h"
#include "sasl/sasl-server.h"

struct admin_ctx {
	struct cli_args args;
	struct posthorn_conf conf;
	struct store *store;
};

/* Map a store return (1 ok, 0 not found/exists, -1 error) to an exit code.
 * error is read through a pointer: the store call that sets it is another
 * argument, and argument evaluation order is unspecified. */
static int
admin_result(int ret, int zero_code, const char *what, const char *const *errorp)
{
	const char *error = errorp != NULL ? *errorp : NULL;

	if (ret == 1)
		return CLI_OK;
	if (ret == 0) {
		fprintf(stderr, "posthorn: %s\n", what);
		return zero_code;
	}
	fprintf(stderr, "posthorn: %s\n", error != NULL ? error : "store error");
	return CLI_FAILURE;
}

static int
admin_open(int argc, char **argv, struct admin_ctx *ctx)
{
	memset(ctx, 0, sizeof(*ctx));
	if (cli_parse(argc, argv, &ctx->args) < 0)
		return CLI_USAGE;
	if (cli_load_conf(&ctx->args, &ctx->conf) < 0)
		return CLI_CONFIG;
	if (cli_open_store(&ctx->conf, &ctx->store) < 0)
		return CLI_FAILURE;
	return CLI_OK;
}

static void
admin_close(struct admin_ctx *ctx)
{
	store_close(&ctx->store);
	conf_deinit(&ctx->conf);
	mem_free(&ctx->args.pos);
}

static int
domain_list(struct admin_ctx *ctx)
{
	struct store_domain *list;
	size_t n;
	const char *error;

	if (store_domain_list(ctx->store, &list, &n, &error) < 0)
		return admin_result(-1, 0, NULL, &error);
	if (ctx->args.json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (ctx->args.json) {
			printf("%s{\"name\":", i > 0 ? "," : "");
			cli_json_string(list[i].name);
			printf(",\"catchall\":");
			if (list[i].catchall != NULL)
				cli_json_string(list[i].catchall);
			else
				printf("null");
			putchar('}');
		} else if (list[i].catchall != NULL) {
			printf("%s catchall=%s\n", list[i].name, list[i].catchall);
		} else {
			printf("%s\n", list[i].name);
		}
	}
	if (ctx->args.json)
		puts("]");
	store_domain_list_free(&list, n);
	return CLI_OK;
}

int
cmd_domain(int argc, char **argv)
{
	struct admin_ctx ctx;
	const char *error = NULL, *verb;
	char **pos;
	int ret = admin_open(argc, argv, &ctx);

	if (ret != CLI_OK)
		goto out;
	pos = ctx.args.pos;
	verb = ctx.args.npos > 0 ? pos[0] : "";
	if (strcmp(verb, "list") == 0 && ctx.args.npos == 1) {
		ret = domain_list(&ctx);
	} else if (strcmp(verb, "add") == 0 && ctx.args.npos == 2) {
		ret = admin_result(store_domain_add(ctx.store, pos[1], &error), CLI_EXISTS,
				   "domain exists already", &error);
	} else if (strcmp(verb, "del") == 0 && ctx.args.npos == 2) {
		ret = admin_result(store_domain_del(ctx.store, pos[1], &error), CLI_NOT_FOUND,
				   "no such domain", &error);
	} else if (strcmp(verb, "catchall") == 0 && (ctx.args.npos == 2 || ctx.args.npos == 3)) {
		ret = admin_result(store_domain_set_catchall(ctx.store, pos[1],
							     ctx.args.npos == 3 ? pos[2] : NULL,
							     &error),
				   CLI_NOT_FOUND, "no such domain", &error);
	} else {
		fprintf(stderr, "usage: posthorn domain add|del NAME | domain list [--json] | "
				"domain catchall DOMAIN [TARGET]\n");
		ret = CLI_USAGE;
	}
out:
	admin_close(&ctx);
	return ret;
}

/* Is the domain of address one of ours? (An unparsable address says yes and
 * lets the store give the precise error.) */
static bool
admin_domain_exists(struct admin_ctx *ctx, const char *address)
{
	const char *at = strrchr(address, '@');
	struct store_domain dom;
	int ret;

	if (at == NULL)
		return true;
	ret = store_domain_lookup(ctx->store, at + 1, &dom, NULL);
	if (ret == 1)
		store_domain_deinit(&dom);
	return ret != 0;
}

/* The password for add/passwd: from stdin, or generated and printed. */
static char *
account_password(const struct admin_ctx *ctx, bool *generated_r)
{
	char *pw;

	*generated_r = false;
	if (ctx->args.password_stdin) {
		pw = cli_read_password_stdin();
		if (pw == NULL || pw[0] == '\0') {
			fprintf(stderr, "posthorn: no password on standard input\n");
			mem_free(&pw);
		}
		return pw;
	}
	*generated_r = true;
	return password_generate(16);
}

static int
account_set(struct admin_ctx *ctx, bool add)
{
	const char *address = ctx->args.pos[1], *error = NULL;
	bool generated;
	char *pw = account_password(ctx, &generated), *hash = NULL, *scram = NULL;
	int ret;

	if (pw == NULL)
		return CLI_USAGE;
	/* the SCRAM secret is stored beside the hash, so that SCRAM-SHA-256
	 * works without the plain password (RFC 5802 5.1) */
	scram = sasl_scram_secret_make(pw, 0);
	if (scram == NULL) {
		fprintf(stderr, "posthorn: cannot compute the SCRAM secret\n");
		ret = CLI_FAILURE;
	} else if (add && !admin_domain_exists(ctx, address)) {
		fprintf(stderr, "posthorn: no such domain for %s (add it with: posthorn domain add)\n",
			address);
		ret = CLI_NOT_FOUND;
	} else if (password_hash(pw, &hash, &error) < 0) {
		fprintf(stderr, "posthorn: %s\n", error);
		ret = CLI_FAILURE;
	} else if (add) {
		ret = admin_result(store_account_add(ctx->store, address, hash, scram, NULL, &error),
				   CLI_EXISTS, "account exists already", &error);
	} else {
		ret = admin_result(store_account_set_password(ctx->store, address, hash, scram,
							      &error),
				   CLI_NOT_FOUND, "no such account", &error);
	}
	if (ret == CLI_OK && generated)
		printf("password: %s\n", pw);
	explicit_bzero(pw, strlen(pw));
	mem_free(&pw);
	if (hash != NULL)
		explicit_bzero(hash, strlen(hash));
	mem_free(&hash);
	if (scram != NULL)
		explicit_bzero(scram, strlen(scram));
	mem_free(&scram);
	return ret;
}

static int
account_list(struct admin_ctx *ctx)
{
	struct store_account *list;
	size_t n;
	const char *error;

	if (store_account_list(ctx->store, ctx->args.npos > 1 ? ctx->args.pos[1] : NULL, &list, &n,
			       &error) < 0)
		return admin_result(-1, 0, NULL, &error);
	if (ctx->args.json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (ctx->args.json) {
			printf("%s{\"address\":", i > 0 ? "," : "");
			cli_json_string(list[i].address);
			putchar('}');
		} else {
			printf("%s\n", list[i].address);
		}
	}
	if (ctx->args.json)
		puts("]");
	store_account_list_free(&list, n);
	return CLI_OK;
}

/* A decimal count for the quota commands; false unless all digits. */
static bool
admin_parse_u64(const char *s, uint64_t *value_r)
{
	uint64_t v = 0;

	if (s[0] == '\0')
		return false;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9' || v > (UINT64_MAX - (uint64_t)(*s - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*value_r = v;
	return true;
}

/* account quota ADDRESS BYTES MESSAGES (0 = no limit; RFC 9208 STORAGE and
 * MESSAGE), or account quota ADDRESS: the limits and what is used. */
static int
account_quota(struct admin_ctx *ctx)
{
	struct store_account acct;
	uint64_t bytes, messages, used_bytes = 0, used_messages = 0;
	const char *error = NULL;
	int ret;

	if (ctx->args.npos == 4) {
		if (!admin_parse_u64(ctx->args.pos[2], &bytes) ||
		    !admin_parse_u64(ctx->args.pos[3], &messages)) {
			fprintf(stderr, "posthorn: BYTES and MESSAGES are numbers (0 = no limit)\n");
			return CLI_USAGE;
		}
		return admin_result(store_account_set_quota(ctx->store, ctx->args.pos[1], bytes,
							    messages, &error),
				    CLI_NOT_FOUND, "no such account", &error);
	}
	ret = store_account_lookup(ctx->store, ctx->args.pos[1], &acct, &error);
	if (ret != 1)
		return admin_result(ret, CLI_NOT_FOUND, "no such account", &error);
	ret = store_account_usage(ctx->store, acct.id, &used_bytes, &used_messages, &error);
	if (ret < 0) {
		store_account_deinit(&acct);
		return admin_result(ret, CLI_NOT_FOUND, "no such account", &error);
	}
	if (ctx->args.json)
		printf("{\"bytes\":%llu,\"messages\":%llu,\"used_bytes\":%llu,"
		       "\"used_messages\":%llu}\n",
		       (unsigned long long)acct.quota_bytes, (unsigned long long)acct.quota_messages,
		       (unsigned long long)used_bytes, (unsigned long long)used_messages);
	else
		printf("bytes %llu/%llu messages %llu/%llu\n", (unsigned long long)used_bytes,
		       (unsigned long long)acct.quota_bytes, (unsigned long long)used_messages,
		       (unsigned long long)acct.quota_messages);
	store_account_deinit(&acct);
	return CLI_OK;
}

int
cmd_account(int argc, char **argv)
{
	struct admin_ctx ctx;
	const char *error = NULL, *verb;
	int ret = admin_open(argc, argv, &ctx);

	if (ret != CLI_OK)
		goto out;
	verb = ctx.args.npos > 0 ? ctx.args.pos[0] : "";
	if (strcmp(verb, "list") == 0 && ctx.args.npos <= 2) {
		ret = account_list(&ctx);
	} else if (strcmp(verb, "add") == 0 && ctx.args.npos == 2) {
		ret = account_set(&ctx, true);
	} else if (strcmp(verb, "passwd") == 0 && ctx.args.npos == 2) {
		ret = account_set(&ctx, false);
	} else if (strcmp(verb, "quota") == 0 && (ctx.args.npos == 2 || ctx.args.npos == 4)) {
		ret = account_quota(&ctx);
	} else if (strcmp(verb, "del") == 0 && ctx.args.npos == 2) {
		ret = admin_result(store_account_del(ctx.store, ctx.args.pos[1], &error),
				   CLI_NOT_FOUND, "no such account", &error);
	} else {
		fprintf(stderr, "usage: posthorn account add|passwd ADDRESS [--password-stdin] | "
				"account del ADDRESS | account list [DOMAIN] [--json] | "
				"account quota ADDRESS [BYTES MESSAGES] [--json]\n");
		ret = CLI_USAGE;
	}
out:
	admin_close(&ctx);
	return ret;
}

static int
alias_list(struct admin_ctx *ctx)
{
	struct store_alias *list;
	size_t n;
	const char *error;

	if (store_alias_list(ctx->store, NULL, &list, &n, &error) < 0)
		return admin_result(-1, 0, NULL, &error);
	if (ctx->args.json)
		putchar('[');
	for (size_t i = 0; i < n; i++) {
		if (ctx->args.json) {
			printf("%s{\"source\":", i > 0 ? "," : "");
			cli_json_string(list[i].source);
			printf(",\"target\":");
			cli_json_string(list[i].target);
			putchar('}');
		} else {
			printf("%s %s\n", list[i].source, list[i].target);
		}
	}
	if (ctx->args.json)
		puts("]");
	store_alias_list_free(&list, n);
	return CLI_OK;
}

static int
alias_change(struct admin_ctx *ctx, bool add)
{
	const char *source = ctx->args.pos[1], *error = NULL;
	int ret = CLI_OK;

	if (!add && ctx->args.npos == 2)
		return admin_result(store_alias_del(ctx->store, source, NULL, &error),
				    CLI_NOT_FOUND, "no such alias", &error);
	for (int i = 2; i < ctx->args.npos && ret == CLI_OK; i++) {
		if (add)
			ret = admin_result(store_alias_add(ctx->store, source, ctx->args.pos[i],
							   &error),
					   CLI_EXISTS, "alias exists already", &error);
		else
			ret = admin_result(store_alias_del(ctx->store, source, ctx->args.pos[i],
							   &error),
					   CLI_NOT_FOUND, "no such alias", &error);
	}
	return ret;
}

int
cmd_alias(int argc, char **argv)
{
	struct admin_ctx ctx;
	const char *verb;
	int ret = admin_open(argc, argv, &ctx);

	if (ret != CLI_OK)
		goto out;
	verb = ctx.args.npos > 0 ? ctx.args.pos[0] : "";
	if (strcmp(verb, "list") == 0 && ctx.args.npos == 1) {
		ret = alias_list(&ctx);
	} else if (strcmp(verb, "add") == 0 && ctx.args.npos >= 3) {
		ret = alias_change(&ctx, true);
	} else if (strcmp(verb, "del") == 0 && ctx.args.npos >= 2) {
		ret = alias_change(&ctx, false);
	} else {
		fprintf(stderr, "usage: posthorn alias add ADDRESS TARGET... | alias del ADDRESS "
				"[TARGET...] | alias list [--json]\n");
		ret = CLI_USAGE;
	}
out:
	admin_close(&ctx);
	return ret;
}
