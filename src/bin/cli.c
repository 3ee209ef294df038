/*
 * cli.c - see cli.h.
 */
#include "bin/cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/mem.h"

int
cli_parse(int argc, char **argv, struct cli_args *args_r)
{
	memset(args_r, 0, sizeof(*args_r));
	args_r->pos = mem_array((size_t)argc + 1, sizeof(char *));
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **target = NULL;

		if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0)
			target = &args_r->conf_path;
		else if (strcmp(a, "--dir") == 0)
			target = &args_r->dir;
		else if (strcmp(a, "--domain") == 0)
			target = &args_r->domain;
		else if (strcmp(a, "--hostname") == 0)
			target = &args_r->hostname;
		else if (strcmp(a, "--account") == 0)
			target = &args_r->account;
		else if (strcmp(a, "--json") == 0)
			args_r->json = true;
		else if (strcmp(a, "--password-stdin") == 0)
			args_r->password_stdin = true;
		else if (strcmp(a, "-n") == 0)
			args_r->non_default = true;
		else if (a[0] == '-' && a[1] != '\0') {
			fprintf(stderr, "posthorn: unknown option %s\n", a);
			return -1;
		} else
			args_r->pos[args_r->npos++] = argv[i];
		if (target != NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "posthorn: option %s needs a value\n", a);
				return -1;
			}
			*target = argv[++i];
		}
	}
	return 0;
}

const char *
cli_conf_path(const struct cli_args *args)
{
	const char *env = getenv("POSTHORN_CONF");

	if (args->conf_path != NULL)
		return args->conf_path;
	if (env != NULL && env[0] != '\0')
		return env;
	return CLI_DEFAULT_CONF;
}

int
cli_load_conf(const struct cli_args *args, struct posthorn_conf *conf_r)
{
	char *errors = NULL;

	if (conf_load(cli_conf_path(args), conf_r, &errors) < 0) {
		fputs(errors, stderr);
		if (errors[0] != '\0' && errors[strlen(errors) - 1] != '\n')
			fputc('\n', stderr);
		mem_free(&errors);
		return -1;
	}
	return 0;
}

void
cli_json_string(const char *s)
{
	putchar('"');
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c < 0x20)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

char *
cli_read_password_stdin(void)
{
	char line[1024];
	size_t n;

	if (fgets(line, sizeof(line), stdin) == NULL)
		return NULL;
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	{
		char *p = mem_strdup(line);

		explicit_bzero(line, sizeof(line));
		return p;
	}
}

char *
cli_hostname(const struct posthorn_conf *conf)
{
	char name[256];

	if (conf->hostname[0] != '\0')
		return mem_strdup(conf->hostname);
	if (gethostname(name, sizeof(name)) < 0)
		return mem_strdup("localhost");
	name[sizeof(name) - 1] = '\0';
	return mem_strdup(name);
}
