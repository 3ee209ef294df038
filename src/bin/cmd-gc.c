/*
 * cmd-gc.c - `posthorn gc`: remove message bodies that nothing references
 * any more and temporary files left behind, older than an hour (a crash
 * between an expunge's commit and its unlink leaks a body file; see
 * store.h). Safe while the server runs: bodies younger than the grace period
 * are never touched, so a delivery in flight keeps its file.
 */
#include <stdio.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "core/mem.h"
#include "store/store.h"

int
cmd_gc(int argc, char **argv)
{
	struct cli_args args;
	struct posthorn_conf conf;
	struct store *store = NULL;
	struct store_gc_result res;
	const char *error;
	int ret = CLI_OK;

	if (cli_parse(argc, argv, &args) < 0 || args.npos != 0) {
		fprintf(stderr, "usage: posthorn gc [--json] [-c FILE]\n");
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	if (cli_load_conf(&args, &conf) < 0) {
		mem_free(&args.pos);
		return CLI_CONFIG;
	}
	if (cli_open_store(&conf, &store) < 0) {
		ret = CLI_FAILURE;
	} else if (store_gc(store, STORE_GC_GRACE_DEFAULT, &res, &error) < 0) {
		fprintf(stderr, "posthorn: gc: %s\n", error);
		ret = CLI_FAILURE;
	} else if (args.json) {
		printf("{\"tmp_removed\":%u,\"blobs_removed\":%u,\"bytes_removed\":%llu}\n",
		       res.tmp_removed, res.blobs_removed, (unsigned long long)res.bytes_removed);
	} else {
		printf("removed %u unreferenced bodies (%llu bytes) and %u temporary files\n",
		       res.blobs_removed, (unsigned long long)res.bytes_removed, res.tmp_removed);
	}
	store_close(&store);
	conf_deinit(&conf);
	mem_free(&args.pos);
	return ret;
}
