/*
 * cmd-acl.c - `posthorn acl set|get|delete`: a mailbox's access control
 * list (RFC 4314) from the command line, the same entries IMAP's SETACL,
 * GETACL and DELETEACL change, with --json on get and the exit codes of
 * cli.h.
 *
 *   acl set OWNER MAILBOX IDENTIFIER RIGHTS   RIGHTS as in SETACL: letters
 *                                             of "lrswipkxtecda", with an
 *                                             optional "+" (add) or "-"
 *                                             (remove) in front
 *   acl get OWNER MAILBOX [--json]
 *   acl delete OWNER MAILBOX IDENTIFIER
 *
 * OWNER is the address of the account that owns MAILBOX; IDENTIFIER is an
 * account's address, "anyone" or "authenticated".
 *
 * Does not: show the owner's implicit rights (always all), negative rights.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "core/mem.h"
#include "store/store.h"

struct acl_cli {
	struct cli_args args;
	struct posthorn_conf conf;
	struct store *store;
	struct store_mailbox box;
	bool have_box;
};

static int
acl_store_error(const char *error)
{
	fprintf(stderr, "posthorn: %s\n", error != NULL ? error : "store error");
	return CLI_FAILURE;
}

/* Open the store and find OWNER's MAILBOX (pos[1], pos[2]). */
static int
acl_cli_open(struct acl_cli *ctx)
{
	struct store_account acct;
	const char *error = NULL;
	int ret;

	if (cli_load_conf(&ctx->args, &ctx->conf) < 0)
		return CLI_CONFIG;
	if (cli_open_store(&ctx->conf, &ctx->store) < 0)
		return CLI_FAILURE;
	ret = store_account_lookup(ctx->store, ctx->args.pos[1], &acct, &error);
	if (ret < 0)
		return acl_store_error(error);
	if (ret == 0) {
		fprintf(stderr, "posthorn: no such account: %s\n", ctx->args.pos[1]);
		return CLI_NOT_FOUND;
	}
	ret = store_mailbox_lookup(ctx->store, acct.id, ctx->args.pos[2], &ctx->box, &error);
	store_account_deinit(&acct);
	if (ret < 0)
		return acl_store_error(error);
	if (ret == 0) {
		fprintf(stderr, "posthorn: no such mailbox: %s\n", ctx->args.pos[2]);
		return CLI_NOT_FOUND;
	}
	ctx->have_box = true;
	return CLI_OK;
}

/* The entry of identifier (case-insensitive), "" when none. 1 or -1. */
static int
acl_cli_current(struct acl_cli *ctx, const char *identifier, char rights_r[STORE_ACL_RIGHTS_SIZE],
		bool *found_r, const char **error_r)
{
	struct store_acl_entry *entries;
	size_t count;
	int ret = store_acl_get(ctx->store, ctx->box.id, &entries, &count, error_r);

	rights_r[0] = '\0';
	*found_r = false;
	if (ret != 1)
		return ret < 0 ? -1 : 1;
	for (size_t i = 0; i < count; i++) {
		if (strcasecmp(entries[i].identifier, identifier) == 0) {
			memcpy(rights_r, entries[i].rights, sizeof(entries[i].rights));
			*found_r = true;
		}
	}
	store_acl_list_free(&entries, count);
	return 1;
}

static int
acl_cli_set(struct acl_cli *ctx)
{
	const char *identifier = ctx->args.pos[3], *rights = ctx->args.pos[4], *error = NULL;
	char given[STORE_ACL_RIGHTS_SIZE], cur[STORE_ACL_RIGHTS_SIZE], next[STORE_ACL_RIGHTS_SIZE];
	char mode = rights[0] == '+' || rights[0] == '-' ? rights[0] : '=';
	bool found;
	size_t n = 0;
	int ret;

	if (store_acl_rights_normalize(mode == '=' ? rights : rights + 1, given, &error) < 0) {
		fprintf(stderr, "posthorn: %s\n", error);
		return CLI_USAGE;
	}
	memcpy(next, given, sizeof(given));
	if (mode != '=') {
		/* RFC 4314 3.1: "+" adds to, "-" removes from the current rights */
		if (acl_cli_current(ctx, identifier, cur, &found, &error) < 0)
			return acl_store_error(error);
		for (const char *p = STORE_ACL_RIGHTS_ALL; *p != '\0'; p++) {
			bool in_cur = strchr(cur, *p) != NULL, in_given = strchr(given, *p) != NULL;

			if (mode == '+' ? in_cur || in_given : in_cur && !in_given)
				next[n++] = *p;
		}
		next[n] = '\0';
	}
	ret = store_acl_set(ctx->store, ctx->box.id, identifier, next, &error);
	if (ret < 0) {
		fprintf(stderr, "posthorn: %s\n", error != NULL ? error : "store error");
		return CLI_FAILURE;
	}
	if (ret == 0) {
		fprintf(stderr, "posthorn: no such identifier: %s\n", identifier);
		return CLI_NOT_FOUND;
	}
	return CLI_OK;
}

static int
acl_cli_delete(struct acl_cli *ctx)
{
	const char *identifier = ctx->args.pos[3], *error = NULL;
	char cur[STORE_ACL_RIGHTS_SIZE];
	bool found;

	if (acl_cli_current(ctx, identifier, cur, &found, &error) < 0)
		return acl_store_error(error);
	if (!found) {
		fprintf(stderr, "posthorn: no entry for %s\n", identifier);
		return CLI_NOT_FOUND;
	}
	if (store_acl_set(ctx->store, ctx->box.id, identifier, "", &error) < 0)
		return acl_store_error(error);
	return CLI_OK;
}

static int
acl_cli_get(struct acl_cli *ctx)
{
	struct store_acl_entry *entries;
	size_t count;
	const char *error = NULL;

	if (store_acl_get(ctx->store, ctx->box.id, &entries, &count, &error) < 0)
		return acl_store_error(error);
	if (ctx->args.json)
		putchar('[');
	for (size_t i = 0; i < count; i++) {
		if (ctx->args.json) {
			printf("%s{\"identifier\":", i > 0 ? "," : "");
			cli_json_string(entries[i].identifier);
			printf(",\"rights\":");
			cli_json_string(entries[i].rights);
			putchar('}');
		} else {
			printf("%s %s\n", entries[i].identifier, entries[i].rights);
		}
	}
	if (ctx->args.json)
		puts("]");
	store_acl_list_free(&entries, count);
	return CLI_OK;
}

int
cmd_acl(int argc, char **argv)
{
	struct acl_cli ctx;
	const char *verb;
	int ret = CLI_USAGE;

	memset(&ctx, 0, sizeof(ctx));
	if (cli_parse(argc, argv, &ctx.args) < 0)
		goto out;
	verb = ctx.args.npos > 0 ? ctx.args.pos[0] : "";
	if (!((strcmp(verb, "set") == 0 && ctx.args.npos == 5) ||
	      (strcmp(verb, "get") == 0 && ctx.args.npos == 3) ||
	      (strcmp(verb, "delete") == 0 && ctx.args.npos == 4))) {
		fprintf(stderr, "usage: posthorn acl set OWNER MAILBOX IDENTIFIER RIGHTS | "
				"acl get OWNER MAILBOX [--json] | "
				"acl delete OWNER MAILBOX IDENTIFIER\n");
		goto out;
	}
	ret = acl_cli_open(&ctx);
	if (ret != CLI_OK)
		goto out;
	if (strcmp(verb, "set") == 0)
		ret = acl_cli_set(&ctx);
	else if (strcmp(verb, "get") == 0)
		ret = acl_cli_get(&ctx);
	else
		ret = acl_cli_delete(&ctx);
out:
	if (ctx.have_box)
		store_mailbox_deinit(&ctx.box);
	if (ctx.store != NULL)
		store_close(&ctx.store);
	conf_deinit(&ctx.conf);
	mem_free(&ctx.args.pos);
	return ret;
}
