/*
 * main.c - the posthorn command: dispatches to init, serve and the admin
 * commands. Glue only; every command lives in its own cmd-*.c file.
 */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bin/cli.h"

static void
usage(FILE *f)
{
	fputs("usage: posthorn COMMAND [ARGS] [-c FILE]\n"
	      "  init [--dir DIR] [--domain DOMAIN] [--hostname HOST] [--account ADDRESS]\n"
	      "  serve [-c FILE]\n"
	      "  config show [-n] [--json] [KEY] | config check\n"
	      "  domain add|del|list [NAME] [--json] | domain catchall DOMAIN [TARGET]\n"
	      "  account add|del|list|passwd [ADDRESS] [--password-stdin] [--json]\n"
	      "  account quota ADDRESS [BYTES MESSAGES] [--json]   (0 = no limit)\n"
	      "  acl set OWNER MAILBOX IDENTIFIER [+|-]RIGHTS | acl get OWNER MAILBOX [--json]\n"
	      "  acl delete OWNER MAILBOX IDENTIFIER\n"
	      "  alias add ADDRESS TARGET... | alias del ADDRESS [TARGET...] | alias list [--json]\n"
	      "  queue list [--json] | queue show ID | queue delete|hold|release|bounce ID\n"
	      "  queue flush [ID]             make deferred recipients due now\n"
	      "  gc [--json]                  remove unreferenced bodies and stale temporary files\n"
	      "  version\n"
	      "The config file is -c FILE, else $POSTHORN_CONF, else " CLI_DEFAULT_CONF ".\n"
	      "Exit codes: 0 ok, 1 usage, 2 not found, 3 already exists, 4 config error,\n"
	      "5 store or runtime error.\n",
	      f);
}

int
main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} cmds[] = {
		{ "init", cmd_init },	  { "serve", cmd_serve },     { "config", cmd_config },
		{ "domain", cmd_domain }, { "account", cmd_account }, { "alias", cmd_alias },
		{ "queue", cmd_queue },
		{ "gc", cmd_gc },
		{ "acl", cmd_acl },
	};

	/* the store holds password hashes and mail: nothing for other users */
	umask(027);
	if (argc < 2) {
		usage(stderr);
		return CLI_USAGE;
	}
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CLI_OK;
	}
	if (strcmp(argv[1], "version") == 0 || strcmp(argv[1], "--version") == 0) {
		puts("posthorn 0.1.0");
		return CLI_OK;
	}
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) == 0)
			return cmds[i].fn(argc - 2, argv + 2);
	}
	fprintf(stderr, "posthorn: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return CLI_USAGE;
}
