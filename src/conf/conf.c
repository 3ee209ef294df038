/*
 * conf.c - defaults, printing and key lookup, all driven by the schema
 * (conf-keys.c). See conf.h.
 *
 * What it does: fills a struct posthorn_conf from the schema's default
 * texts, frees it, prints it (all keys, only changed keys, JSON, one key),
 * and writes the commented default file for `posthorn init`.
 *
 * What it does not do: read files (conf-load.c) or parse values
 * (conf-value.c).
 *
 * Invariants: "changed" means "prints differently from the default", so
 * `config show -n` never lists a key that was set to its default value, and
 * whatever conf_print() writes loads back to the same settings.
 */
#include "conf/conf.h"

#include <string.h>

#include "conf/conf-private.h"
#include "core/buf.h"
#include "core/mem.h"

void
conf_init_defaults(struct posthorn_conf *conf)
{
	struct buf error;

	memset(conf, 0, sizeof(*conf));
	buf_init(&error, 0);
	for (unsigned int i = 0; i < conf_key_count; i++) {
		const struct conf_key *key = &conf_keys[i];

		if (conf_value_parse(key, key->default_text, conf_field(conf, key), &error) < 0)
			PANIC("default of %s is invalid: %s", key->name, buf_cstr(&error));
	}
	buf_deinit(&error);
	conf->config_dir = mem_strdup(".");
}

void
conf_deinit(struct posthorn_conf *conf)
{
	for (unsigned int i = 0; i < conf_key_count; i++)
		conf_value_clear(&conf_keys[i], conf_field(conf, &conf_keys[i]));
	mem_free(&conf->config_dir);
	memset(conf, 0, sizeof(*conf));
}

char *
conf_resolve_data_dir(const struct posthorn_conf *conf)
{
	struct buf path;

	if (conf->data_dir[0] == '/')
		return mem_strdup(conf->data_dir);
	if (conf->data_dir[0] == '\0')
		return mem_strdup(conf->config_dir);
	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", conf->config_dir, conf->data_dir);
	return buf_steal_str(&path);
}

const struct conf_key *
conf_lookup_key(const char *name)
{
	for (unsigned int i = 0; i < conf_key_count; i++) {
		if (strcmp(conf_keys[i].name, name) == 0)
			return &conf_keys[i];
	}
	return NULL;
}

const char *
conf_key_name(const struct conf_key *key)
{
	return key->name;
}

const char *
conf_key_default(const struct conf_key *key)
{
	return key->default_text;
}

const char *
conf_key_description(const struct conf_key *key)
{
	return key->description;
}

int
conf_print_value(const struct posthorn_conf *conf, const struct conf_key *key, struct buf *out)
{
	return conf_value_format(key, conf_field_const(conf, key), out);
}

/* "key = value\n", or "key =\n" for an empty value. */
static int
print_setting(struct buf *out, const char *prefix, const char *name, const char *value)
{
	return buf_printf(out, "%s%s =%s%s\n", prefix, name, value[0] == '\0' ? "" : " ", value);
}

int
conf_print(const struct posthorn_conf *conf, bool non_default_only, struct buf *out)
{
	struct posthorn_conf defaults;
	struct buf value, def;
	int ret = 0;

	conf_init_defaults(&defaults);
	buf_init(&value, 0);
	buf_init(&def, 0);
	for (unsigned int i = 0; i < conf_key_count && ret == 0; i++) {
		const struct conf_key *key = &conf_keys[i];

		buf_reset(&value);
		buf_reset(&def);
		conf_value_format(key, conf_field_const(conf, key), &value);
		conf_value_format(key, conf_field_const(&defaults, key), &def);
		if (non_default_only && strcmp(buf_cstr(&value), buf_cstr(&def)) == 0)
			continue;
		ret = print_setting(out, "", key->name, buf_cstr(&value));
	}
	buf_deinit(&value);
	buf_deinit(&def);
	conf_deinit(&defaults);
	return ret;
}

int
conf_print_json(const struct posthorn_conf *conf, struct buf *out)
{
	int ret = buf_append_byte(out, '{');

	for (unsigned int i = 0; i < conf_key_count && ret == 0; i++) {
		const struct conf_key *key = &conf_keys[i];

		ret = buf_printf(out, "%s\n  \"%s\": ", i == 0 ? "" : ",", key->name);
		if (ret == 0)
			ret = conf_value_format_json(key, conf_field_const(conf, key), out);
	}
	return ret < 0 ? -1 : buf_append_str(out, "\n}\n");
}

/* A value that a file line can carry unchanged: the parser trims blanks at
 * both ends and refuses control characters. */
static bool
value_writable(const char *value)
{
	size_t len = strlen(value);

	if (len > 0 && (value[0] == ' ' || value[0] == '\t' || value[len - 1] == ' ' ||
			value[len - 1] == '\t'))
		return false;
	for (const char *p = value; *p != '\0'; p++) {
		if (((unsigned char)*p < 0x20 && *p != '\t') || *p == 0x7f)
			return false;
	}
	return true;
}

/* Sets key in conf to value when value is valid and writable. */
static int
init_set(struct posthorn_conf *conf, const char *name, const char *value, const char *message,
	 const char **error_r)
{
	const struct conf_key *key = conf_lookup_key(name);
	struct buf error;
	int ret;

	ASSERT(key != NULL);
	if (value == NULL)
		return 0;
	buf_init(&error, 0);
	ret = value_writable(value) ? conf_value_parse(key, value, conf_field(conf, key), &error)
				    : -1;
	buf_deinit(&error);
	if (ret < 0)
		*error_r = message;
	return ret;
}

static const char default_header[] =
	"# posthorn.conf - Posthorn configuration, written by `posthorn init`.\n"
	"#\n"
	"# One setting per line: key = value. A line whose first non-blank character\n"
	"# is # is a comment; anywhere else # is part of the value. Files\n"
	"# conf.d/*.conf beside this file are read after it, in name order, and\n"
	"# override its settings.\n"
	"# Settings commented out below show their default values.\n"
	"#\n"
	"# `posthorn config check` validates this file, `posthorn config show -n`\n"
	"# lists the settings that differ from the defaults.\n";

int
conf_write_default(struct buf *out, const char *hostname, const char *data_dir,
		   const char **error_r)
{
	struct posthorn_conf conf;
	struct buf value;
	int ret;

	conf_init_defaults(&conf);
	if (init_set(&conf, "hostname", hostname, "invalid host name", error_r) < 0 ||
	    init_set(&conf, "data_dir", data_dir, "invalid data directory", error_r) < 0) {
		conf_deinit(&conf);
		return -1;
	}
	buf_init(&value, 0);
	ret = buf_append_str(out, default_header);
	for (unsigned int i = 0; i < conf_key_count && ret == 0; i++) {
		const struct conf_key *key = &conf_keys[i];
		bool set = (key->flags & CONF_KEY_INIT_SET) != 0;

		buf_reset(&value);
		conf_value_format(key, conf_field_const(&conf, key), &value);
		ret = buf_printf(out, "\n# %s\n", key->description);
		if (ret == 0)
			ret = print_setting(out, set ? "" : "#", key->name, buf_cstr(&value));
	}
	buf_deinit(&value);
	conf_deinit(&conf);
	if (ret < 0)
		*error_r = "output buffer full";
	return ret;
}
