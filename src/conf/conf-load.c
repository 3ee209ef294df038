/*
 * conf-load.c - read posthorn.conf and conf.d/NAME.conf into a struct
 * posthorn_conf. See conf.h.
 *
 * What it does: the file I/O around the pure parser (conf-parser.c), and the
 * rules that span lines or files: unknown keys, a key twice in one file, a
 * later file overriding an earlier one, and listen addresses shared between
 * services. Every error of every file is collected as "file:line: message"
 * so that `posthorn config check` shows them all at once.
 *
 * What it does not do: value syntax (conf-value.c), defaults and printing
 * (conf.c). It never logs; the caller prints the error text.
 *
 * Invariants: files are read in a fixed order (main file, then conf.d names
 * sorted bytewise by strcmp, which is what `ls` shows under LC_ALL=C); the
 * result does not depend on readdir order. At most LOAD_MAX_ERRORS errors
 * are kept, so a binary file given by mistake cannot flood the output.
 */
#include "conf/conf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/conf-parser.h"
#include "conf/conf-private.h"
#include "core/buf.h"
#include "core/mem.h"

#define LOAD_MAX_ERRORS 100
#define LOAD_MAX_DROPINS 1000
#define LOAD_READ_SIZE 8192

struct load_origin {
	const char *file; /* NULL: still the default */
	unsigned int line;
};

struct conf_loader {
	struct posthorn_conf *conf;
	struct buf errors;
	unsigned int error_count;
	struct load_origin *origins; /* per key: where it was last set */
	unsigned int *seen;          /* per key: line in the current file, 0 = not yet */
	char **files;                /* every file name read, owned (origins point here) */
	unsigned int file_count;
};

static void __attribute__((format(printf, 4, 5)))
load_error(struct conf_loader *l, const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	if (++l->error_count > LOAD_MAX_ERRORS) {
		if (l->error_count == LOAD_MAX_ERRORS + 1)
			buf_append_str(&l->errors, "too many errors, not showing more\n");
		return;
	}
	if (line > 0)
		buf_printf(&l->errors, "%s:%u: ", file, line);
	else
		buf_printf(&l->errors, "%s: ", file);
	va_start(ap, fmt);
	buf_vprintf(&l->errors, fmt, ap);
	va_end(ap);
	buf_append_byte(&l->errors, '\n');
}

static void
loader_init(struct conf_loader *l, struct posthorn_conf *conf)
{
	memset(l, 0, sizeof(*l));
	l->conf = conf;
	conf_init_defaults(conf);
	buf_init(&l->errors, 0);
	l->origins = mem_array(conf_key_count, sizeof(*l->origins));
	l->seen = mem_array(conf_key_count, sizeof(*l->seen));
}

/* Ends loading: 1 ok, or -1 with the errors text and *conf zeroed. */
static int
loader_finish(struct conf_loader *l, char **errors_r)
{
	int ret = l->error_count == 0 ? 1 : -1;

	*errors_r = NULL;
	if (ret < 0) {
		*errors_r = buf_steal_str(&l->errors);
		conf_deinit(l->conf);
	}
	buf_deinit(&l->errors);
	for (unsigned int i = 0; i < l->file_count; i++)
		mem_free(&l->files[i]);
	mem_free(&l->files);
	mem_free(&l->origins);
	mem_free(&l->seen);
	return ret;
}

/* Keeps a copy of the file name for error messages and origins. */
static const char *
loader_add_file(struct conf_loader *l, const char *file)
{
	l->files = mem_realloc(l->files, mem_size_mul(l->file_count + 1, sizeof(*l->files)));
	l->files[l->file_count] = mem_strdup(file);
	return l->files[l->file_count++];
}

static void
apply_entry(struct conf_loader *l, const char *file, const struct conf_parser_entry *e)
{
	const struct conf_key *key = conf_lookup_key(e->key);
	struct buf error;
	unsigned int idx;

	if (key == NULL) {
		load_error(l, file, e->line, "unknown key '%s'", e->key);
		return;
	}
	idx = (unsigned int)(key - conf_keys);
	if (l->seen[idx] != 0) {
		load_error(l, file, e->line, "duplicate key '%s' (first set on line %u)", e->key,
			   l->seen[idx]);
		return;
	}
	l->seen[idx] = e->line;
	buf_init(&error, 0);
	if (conf_value_parse(key, e->value, conf_field(l->conf, key), &error) < 0) {
		load_error(l, file, e->line, "%s: %s", key->name, buf_cstr(&error));
	} else {
		l->origins[idx].file = file;
		l->origins[idx].line = e->line;
	}
	buf_deinit(&error);
}

/* Applies a finished parser's entries and reports its errors, merged in
 * line order. */
static void
apply_parser(struct conf_loader *l, const char *file, const struct conf_parser *parser)
{
	unsigned int n_entries, n_errors, i = 0, j = 0;
	const struct conf_parser_entry *entries = conf_parser_entries(parser, &n_entries);
	const struct conf_parser_error *errors = conf_parser_errors(parser, &n_errors);

	memset(l->seen, 0, mem_size_mul(conf_key_count, sizeof(*l->seen)));
	while (i < n_entries || j < n_errors) {
		if (j == n_errors || (i < n_entries && entries[i].line < errors[j].line)) {
			apply_entry(l, file, &entries[i++]);
		} else {
			load_error(l, file, errors[j].line, "%s", errors[j].message);
			j++;
		}
	}
}

static void
load_fd(struct conf_loader *l, const char *file, int fd)
{
	struct conf_parser *parser = conf_parser_new(NULL);
	uint8_t data[LOAD_READ_SIZE];
	char errbuf[128];
	ssize_t n;

	for (;;) {
		n = read(fd, data, sizeof(data));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || conf_parser_feed(parser, data, (size_t)n) < 0)
			break;
	}
	if (n < 0) {
		load_error(l, file, 0, "read failed: %s",
			   strerror_r(errno, errbuf, sizeof(errbuf)));
	} else {
		conf_parser_finish(parser);
		apply_parser(l, file, parser);
	}
	conf_parser_free(&parser);
}

/* Reads one file; a missing file is an error only when must_exist. */
static void
load_file(struct conf_loader *l, const char *path, bool must_exist)
{
	const char *file = loader_add_file(l, path);
	char errbuf[128];
	struct stat st;
	int fd;

	/* O_NONBLOCK: opening a FIFO by mistake must not hang; the S_ISREG
	 * check below then refuses it. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno != ENOENT || must_exist)
			load_error(l, file, 0, "cannot open: %s",
				   strerror_r(errno, errbuf, sizeof(errbuf)));
		return;
	}
	if (fstat(fd, &st) < 0)
		load_error(l, file, 0, "cannot stat: %s",
			   strerror_r(errno, errbuf, sizeof(errbuf)));
	else if (!S_ISREG(st.st_mode))
		load_error(l, file, 0, "not a regular file");
	else
		load_fd(l, file, fd);
	close(fd);
}

static int
cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool
is_dropin_name(const char *name)
{
	size_t len = strlen(name);

	return name[0] != '.' && len > 5 && strcmp(name + len - 5, ".conf") == 0;
}

/* Collects the drop-in names of dir, sorted. Returns the count or -1. */
static int
list_dropins(struct conf_loader *l, const char *dir, char ***names_r)
{
	char errbuf[128], **names = NULL;
	struct dirent *de;
	int count = 0;
	DIR *d = opendir(dir);

	*names_r = NULL;
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		load_error(l, loader_add_file(l, dir), 0, "cannot open directory: %s",
			   strerror_r(errno, errbuf, sizeof(errbuf)));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (!is_dropin_name(de->d_name))
			continue;
		if (count == LOAD_MAX_DROPINS) {
			load_error(l, loader_add_file(l, dir), 0, "more than %d .conf files",
				   LOAD_MAX_DROPINS);
			break;
		}
		names = mem_realloc(names, mem_size_mul((size_t)count + 1, sizeof(*names)));
		names[count++] = mem_strdup(de->d_name);
	}
	closedir(d);
	if (count > 0)
		qsort(names, (size_t)count, sizeof(*names), cmp_names);
	*names_r = names;
	return count;
}

static void
load_dropins(struct conf_loader *l, const char *dir)
{
	char **names;
	int count = list_dropins(l, dir, &names);
	struct buf path;

	buf_init(&path, 0);
	for (int i = 0; i < count; i++) {
		buf_reset(&path);
		buf_printf(&path, "%s/%s", dir, names[i]);
		load_file(l, buf_cstr(&path), true);
		mem_free(&names[i]);
	}
	mem_free(&names);
	buf_deinit(&path);
}

/* Reports that item of key is also in other. It is reported where key was
 * set; when key still has its default, where other was set. */
static void
report_conflict(struct conf_loader *l, unsigned int key, unsigned int other,
		const struct conf_listen *item, const char *main_file)
{
	const struct load_origin *o = &l->origins[key];
	struct buf text;

	if (o->file == NULL) {
		unsigned int swap = key;

		key = other;
		other = swap;
		o = &l->origins[key];
	}
	buf_init(&text, 0);
	conf_listen_format(item, &text);
	load_error(l, o->file != NULL ? o->file : main_file, o->line, "%s: %s is also used by %s",
		   conf_keys[key].name, buf_cstr(&text), conf_keys[other].name);
	buf_deinit(&text);
}

/* Two services cannot listen on the same address: bind() would fail late
 * and confusingly otherwise. */
static void
check_listen_conflicts(struct conf_loader *l, const char *main_file)
{
	for (unsigned int a = 0; a < conf_key_count; a++) {
		const struct conf_listen_list *la = conf_field_const(l->conf, &conf_keys[a]);

		if (conf_keys[a].type != CONF_TYPE_LISTEN)
			continue;
		for (unsigned int b = a + 1; b < conf_key_count; b++) {
			const struct conf_listen_list *lb;

			if (conf_keys[b].type != CONF_TYPE_LISTEN)
				continue;
			lb = conf_field_const(l->conf, &conf_keys[b]);
			for (unsigned int i = 0; i < la->count; i++) {
				for (unsigned int j = 0; j < lb->count; j++) {
					if (conf_listen_overlap(&la->items[i], &lb->items[j]))
						report_conflict(l, b, a, &lb->items[j], main_file);
				}
			}
		}
	}
}

/* The directory part of path: "." when it has no '/', "/" for "/name". */
static char *
dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return mem_strdup(".");
	if (slash == path)
		return mem_strdup("/");
	return mem_strndup(path, (size_t)(slash - path));
}

int
conf_load(const char *path, struct posthorn_conf *conf_r, char **errors_r)
{
	struct conf_loader l;
	struct buf dropin_dir;

	loader_init(&l, conf_r);
	mem_free(&conf_r->config_dir);
	conf_r->config_dir = dir_of(path);
	load_file(&l, path, true);
	buf_init(&dropin_dir, 0);
	buf_printf(&dropin_dir, "%s/conf.d",
		   strcmp(conf_r->config_dir, "/") == 0 ? "" : conf_r->config_dir);
	load_dropins(&l, buf_cstr(&dropin_dir));
	buf_deinit(&dropin_dir);
	check_listen_conflicts(&l, path);
	return loader_finish(&l, errors_r);
}

int
conf_load_buffer(const char *name, const void *data, size_t size, struct posthorn_conf *conf_r,
		 char **errors_r)
{
	struct conf_loader l;
	struct conf_parser *parser = conf_parser_new(NULL);
	const char *file;

	loader_init(&l, conf_r);
	file = loader_add_file(&l, name);
	conf_parser_feed(parser, data, size);
	conf_parser_finish(parser);
	apply_parser(&l, file, parser);
	conf_parser_free(&parser);
	check_listen_conflicts(&l, file);
	return loader_finish(&l, errors_r);
}
