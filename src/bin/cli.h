/*
 * cli.h - shared pieces of the posthorn command line: exit codes, option
 * scanning, loading the config and opening the store for admin commands.
 *
 * Exit codes are stable (documented in the README):
 *   0 ok, 1 usage error, 2 not found, 3 already exists, 4 config error,
 *   5 store or other runtime error.
 */
#ifndef BIN_CLI_H
#define BIN_CLI_H

#include <stdbool.h>

#include "conf/conf.h"

enum cli_exit {
	CLI_OK = 0,
	CLI_USAGE = 1,
	CLI_NOT_FOUND = 2,
	CLI_EXISTS = 3,
	CLI_CONFIG = 4,
	CLI_FAILURE = 5,
};

#define CLI_DEFAULT_CONF "/etc/posthorn/posthorn.conf"

/* Options common to commands; positional arguments collected in order. */
struct cli_args {
	const char *conf_path;
	bool json;
	bool password_stdin;
	bool non_default;
	const char *dir, *domain, *hostname, *account;
	int npos;
	char **pos;
};

/* Parse argv (after the command words). Unknown options: usage error printed,
 * returns -1. */
int cli_parse(int argc, char **argv, struct cli_args *args_r);
/* Config path: -c, else $POSTHORN_CONF, else CLI_DEFAULT_CONF. */
const char *cli_conf_path(const struct cli_args *args);
/* Load the config; prints every error and returns -1 on failure. */
int cli_load_conf(const struct cli_args *args, struct posthorn_conf *conf_r);
/* Print a JSON string literal (with quotes) to stdout. */
void cli_json_string(const char *s);
/* Read one line (a password) from stdin without the newline. Returns an
 * allocated string or NULL on EOF/error. */
char *cli_read_password_stdin(void);
/* The host name to use: conf hostname, else the system's name. Allocated. */
char *cli_hostname(const struct posthorn_conf *conf);

int cmd_init(int argc, char **argv);
int cmd_serve(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_domain(int argc, char **argv);
int cmd_account(int argc, char **argv);
int cmd_alias(int argc, char **argv);
int cmd_queue(int argc, char **argv);
int cmd_gc(int argc, char **argv);
int cmd_acl(int argc, char **argv);

#endif
