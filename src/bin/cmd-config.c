/*
 * cmd-config.c - `posthorn config show [-n] [--json] [KEY]` (like postconf /
 * postconf -n) and `posthorn config check` (every error as file:line:).
 */
#include <stdio.h>
#include <string.h>

#include "bin/cli.h"
#include "core/buf.h"
#include "core/mem.h"

static int
config_show(const struct cli_args *args, const struct posthorn_conf *conf)
{
	struct buf out;
	int ret = CLI_OK;

	buf_init(&out, 0);
	if (args->npos > 1) {
		for (int i = 1; i < args->npos; i++) {
			const struct conf_key *key = conf_lookup_key(args->pos[i]);

			if (key == NULL) {
				fprintf(stderr, "posthorn: unknown key %s\n", args->pos[i]);
				ret = CLI_NOT_FOUND;
				continue;
			}
			buf_printf(&out, "%s = ", conf_key_name(key));
			conf_print_value(conf, key, &out);
			buf_append_str(&out, "\n");
		}
	} else if (args->json) {
		conf_print_json(conf, &out);
		buf_append_str(&out, "\n");
	} else {
		conf_print(conf, args->non_default, &out);
	}
	fwrite(buf_data(&out), 1, buf_len(&out), stdout);
	buf_deinit(&out);
	return ret;
}

int
cmd_config(int argc, char **argv)
{
	struct cli_args args;
	struct posthorn_conf conf;
	int ret;

	if (cli_parse(argc, argv, &args) < 0 || args.npos < 1 ||
	    (strcmp(args.pos[0], "show") != 0 && strcmp(args.pos[0], "check") != 0)) {
		fprintf(stderr, "usage: posthorn config show [-n] [--json] [KEY...] | config check\n");
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	if (cli_load_conf(&args, &conf) < 0) {
		mem_free(&args.pos);
		return CLI_CONFIG;
	}
	if (strcmp(args.pos[0], "check") == 0) {
		printf("%s: ok\n", cli_conf_path(&args));
		ret = CLI_OK;
	} else {
		ret = config_show(&args, &conf);
	}
	conf_deinit(&conf);
	mem_free(&args.pos);
	return ret;
}
