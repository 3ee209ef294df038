/*
 * cli-store.h - privileges and store access for commands (see cli-store.c).
 */
#ifndef BIN_CLI_STORE_H
#define BIN_CLI_STORE_H

#include "conf/conf.h"
#include "store/store.h"

/* When running as root, switch to conf->run_user (checking that data_dir,
 * when given, belongs to it). 0 ok (or not root), -1 printed error. */
int cli_become_run_user(const struct posthorn_conf *conf, const char *data_dir);
/* Become run_user if root, then open the store of conf's data directory.
 * 0 ok, -1 printed error. */
int cli_open_store(const struct posthorn_conf *conf, struct store **store_r);

#endif
