/*
 * cli-store.c - open the store for a command, as the unprivileged run_user
 * when started as root (DESIGN.md 2: files of the data directory belong to
 * run_user; nothing network-facing or store-writing runs as root).
 */
#include "bin/cli-store.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/mem.h"

int
cli_become_run_user(const struct posthorn_conf *conf, const char *data_dir)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	if (conf->run_user[0] == '\0') {
		fprintf(stderr, "posthorn: started as root with an empty run_user; refusing to "
				"run as root\n");
		return -1;
	}
	pw = getpwnam(conf->run_user);
	if (pw == NULL) {
		fprintf(stderr, "posthorn: run_user '%s' does not exist; create it (useradd "
				"--system %s) or set run_user\n",
			conf->run_user, conf->run_user);
		return -1;
	}
	if (data_dir != NULL) {
		struct stat st;

		if (stat(data_dir, &st) == 0 && st.st_uid != pw->pw_uid) {
			fprintf(stderr, "posthorn: %s is not owned by %s; fix with: chown -R %s %s\n",
				data_dir, conf->run_user, conf->run_user, data_dir);
			return -1;
		}
	}
	if (setgroups(0, NULL) < 0 || setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0) {
		fprintf(stderr, "posthorn: cannot switch to %s: %s\n", conf->run_user,
			strerror(errno));
		return -1;
	}
	return 0;
}

int
cli_open_store(const struct posthorn_conf *conf, struct store **store_r)
{
	char *dir = conf_resolve_data_dir(conf);
	struct store_settings set = { .backend = "sqlite", .data_dir = dir };
	const char *error;
	int ret = 0;

	if (cli_become_run_user(conf, dir) < 0)
		ret = -1;
	else if (store_open(&set, store_r, &error) < 0) {
		fprintf(stderr, "posthorn: cannot open the store in %s: %s\n", dir, error);
		ret = -1;
	}
	mem_free(&dir);
	return ret;
}
