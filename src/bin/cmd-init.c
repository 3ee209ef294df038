/*
 * cmd-init.c - `posthorn init [--dir DIR] [--domain DOMAIN] [--hostname HOST]
 * [--account ADDRESS]`: write DIR/posthorn.conf, create the store, add the
 * domain and, optionally, a first account (password generated and printed)
 * with postmaster@DOMAIN as its alias (RFC 5321 4.5.1 requires postmaster).
 *
 * Refuses (exit 3) when DIR/posthorn.conf exists: init never overwrites.
 * As root it creates run_user when missing and gives it the directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bin/cli-store.h"
#include "bin/cli.h"
#include "core/buf.h"
#include "core/mem.h"
#include "sasl/password.h"
#include "sasl/sasl-server.h"
#include "tls/tls.h"

static int
init_mkdirs(const char *dir)
{
	char *path = mem_strdup(dir);

	for (char *p = path + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			break;
		*p = '/';
	}
	mem_free(&path);
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "posthorn: mkdir %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* As root: make sure run_user exists and owns dir. */
static int
init_run_user(const char *user, const char *dir)
{
	struct passwd *pw;

	if (geteuid() != 0)
		return 0;
	pw = getpwnam(user);
	if (pw == NULL) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			execlp("useradd", "useradd", "--system", "--no-create-home", "--home-dir",
			       "/nonexistent", "--shell", "/usr/sbin/nologin", user, (char *)NULL);
			_exit(127);
		}
		if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0 || (pw = getpwnam(user)) == NULL) {
			fprintf(stderr, "posthorn: could not create the system user %s\n", user);
			return -1;
		}
		printf("created system user %s\n", user);
	}
	if (chown(dir, pw->pw_uid, pw->pw_gid) < 0) {
		fprintf(stderr, "posthorn: chown %s: %s\n", dir, strerror(errno));
		return -1;
	}
	return 0;
}

static int
init_write_conf(const char *path, const char *hostname)
{
	struct buf text;
	const char *error;
	int fd, ret = 0;

	buf_init(&text, 0);
	if (conf_write_default(&text, hostname, NULL, &error) < 0) {
		fprintf(stderr, "posthorn: %s\n", error);
		buf_deinit(&text);
		return CLI_USAGE;
	}
	/* readable by run_user: SIGHUP re-reads it after privileges are dropped */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0)
		(void)fchmod(fd, 0644);
	if (fd < 0) {
		fprintf(stderr, "posthorn: %s: %s\n", path, strerror(errno));
		buf_deinit(&text);
		return errno == EEXIST ? CLI_EXISTS : CLI_FAILURE;
	}
	if (write(fd, buf_data(&text), buf_len(&text)) != (ssize_t)buf_len(&text) ||
	    fsync(fd) < 0) {
		fprintf(stderr, "posthorn: writing %s: %s\n", path, strerror(errno));
		ret = CLI_FAILURE;
	}
	close(fd);
	buf_deinit(&text);
	return ret;
}

/* A self-signed certificate for development, and conf.d/10-tls.conf naming
 * it. Replace it by a real one: see the README (certbot deploy hook). */
static int
init_tls(const char *dir, const char *hostname)
{
	char tlsdir[4096], confd[4096], cert[4200], key[4200], dropin[4200];
	const char *error;
	const char *text = "# written by posthorn init: a self-signed certificate for development.\n"
			   "# Point these at your real certificate chain and key (absolute paths or\n"
			   "# relative to the config directory) and send SIGHUP.\n"
			   "tls_cert = tls/cert.pem\n"
			   "tls_key = tls/key.pem\n";
	int fd;

	snprintf(tlsdir, sizeof(tlsdir), "%s/tls", dir);
	snprintf(cert, sizeof(cert), "%s/cert.pem", tlsdir);
	snprintf(key, sizeof(key), "%s/key.pem", tlsdir);
	snprintf(confd, sizeof(confd), "%s/conf.d", dir);
	snprintf(dropin, sizeof(dropin), "%s/10-tls.conf", confd);
	if ((mkdir(tlsdir, 0750) < 0 && errno != EEXIST) ||
	    (mkdir(confd, 0755) < 0 && errno != EEXIST) || chmod(confd, 0755) < 0) {
		fprintf(stderr, "posthorn: mkdir: %s\n", strerror(errno));
		return -1;
	}
	if (tls_make_self_signed(hostname, cert, key, &error) < 0) {
		fprintf(stderr, "posthorn: self-signed certificate: %s\n", error);
		return -1;
	}
	fd = open(dropin, O_WRONLY | O_CREAT | O_EXCL, 0644);
	if (fd >= 0)
		(void)fchmod(fd, 0644);
	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text) || fsync(fd) < 0) {
		fprintf(stderr, "posthorn: %s: %s\n", dropin, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	printf("created a self-signed certificate for %s in %s\n", hostname, tlsdir);
	return 0;
}

/* As root: the key must be readable by run_user. */
static int
init_tls_owner(const char *dir, const char *user)
{
	struct passwd *pw;
	char path[4096];

	if (geteuid() != 0 || (pw = getpwnam(user)) == NULL)
		return 0;
	snprintf(path, sizeof(path), "%s/tls", dir);
	if (chown(path, 0, pw->pw_gid) < 0)
		return -1;
	snprintf(path, sizeof(path), "%s/tls/key.pem", dir);
	if (chown(path, 0, pw->pw_gid) < 0 || chmod(path, 0640) < 0)
		return -1;
	return 0;
}

static int
init_account(struct store *store, const char *address, const char *domain)
{
	char *pw = password_generate(16), *hash = NULL, *postmaster;
	char *scram = sasl_scram_secret_make(pw, 0);
	const char *error = NULL;
	int ret = CLI_OK;

	if (scram == NULL || password_hash(pw, &hash, &error) < 0 ||
	    store_account_add(store, address, hash, scram, NULL, &error) != 1) {
		fprintf(stderr, "posthorn: cannot add account %s: %s\n", address,
			error != NULL ? error : "it exists already");
		ret = CLI_FAILURE;
	} else {
		printf("account %s password: %s\n", address, pw);
	}
	postmaster = mem_alloc(strlen(domain) + 12);
	snprintf(postmaster, strlen(domain) + 12, "postmaster@%s", domain);
	if (ret == CLI_OK && strcasecmp(address, postmaster) != 0 &&
	    store_alias_add(store, postmaster, address, &error) < 0)
		fprintf(stderr, "posthorn: warning: postmaster alias: %s\n", error);
	mem_free(&postmaster);
	explicit_bzero(pw, strlen(pw));
	mem_free(&pw);
	mem_free(&hash);
	if (scram != NULL)
		explicit_bzero(scram, strlen(scram));
	mem_free(&scram);
	return ret;
}

int
cmd_init(int argc, char **argv)
{
	struct cli_args args;
	struct posthorn_conf conf;
	struct store *store = NULL;
	const char *dir, *domain, *error = NULL;
	char *conf_path;
	int ret;

	if (cli_parse(argc, argv, &args) < 0 || args.npos != 0) {
		fprintf(stderr, "usage: posthorn init [--dir DIR] [--domain DOMAIN] "
				"[--hostname HOST] [--account ADDRESS]\n");
		mem_free(&args.pos);
		return CLI_USAGE;
	}
	dir = args.dir != NULL ? args.dir : ".";
	domain = args.domain != NULL ? args.domain : "localhost";
	conf_path = mem_alloc(strlen(dir) + 16);
	snprintf(conf_path, strlen(dir) + 16, "%s/posthorn.conf", dir);
	args.conf_path = conf_path;
	if (init_mkdirs(dir) < 0) {
		ret = CLI_FAILURE;
		goto out;
	}
	if ((ret = init_write_conf(conf_path, args.hostname)) != 0)
		goto out;
	if (cli_load_conf(&args, &conf) < 0) {
		ret = CLI_CONFIG;
		goto out;
	}
	{
		char *host = cli_hostname(&conf);
		int r = init_tls(dir, host);

		mem_free(&host);
		conf_deinit(&conf);
		/* reload: the drop-in now names the certificate */
		if (r < 0 || cli_load_conf(&args, &conf) < 0) {
			ret = r < 0 ? CLI_FAILURE : CLI_CONFIG;
			goto out;
		}
	}
	if (init_run_user(conf.run_user, dir) < 0 || init_tls_owner(dir, conf.run_user) < 0 ||
	    cli_open_store(&conf, &store) < 0) {
		ret = CLI_FAILURE;
	} else if (store_domain_add(store, domain, &error) < 0) {
		fprintf(stderr, "posthorn: cannot add domain %s: %s\n", domain, error);
		ret = CLI_FAILURE;
	} else {
		printf("created %s (domain %s)\n", conf_path, domain);
		if (args.account != NULL)
			ret = init_account(store, args.account, domain);
	}
	store_close(&store);
	conf_deinit(&conf);
out:
	mem_free(&conf_path);
	mem_free(&args.pos);
	return ret;
}
