/*
 * conf-private.h - the schema table and value codecs shared by conf.c,
 * conf-keys.c, conf-value.c and conf-load.c. Not for use outside src/conf/.
 *
 * Invariants: conf_keys[] lists every field of struct posthorn_conf except
 * config_dir exactly once; every default_text parses with conf_value_parse()
 * (conf_init_defaults panics otherwise, and test-conf checks it); the C type
 * of each field matches its key type (CONF_FIELD checks it at compile time).
 */
#ifndef CONF_CONF_PRIVATE_H
#define CONF_CONF_PRIVATE_H

#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"

struct buf;

enum conf_type {
	CONF_TYPE_STRING,   /* char *; min/max bound the length in bytes */
	CONF_TYPE_ENUM,     /* unsigned int index into choices */
	CONF_TYPE_BOOL,     /* bool */
	CONF_TYPE_UINT,     /* unsigned int in min..max */
	CONF_TYPE_SIZE,     /* uint64_t bytes in min..max */
	CONF_TYPE_DURATION, /* uint64_t milliseconds in min..max (whole seconds) */
	CONF_TYPE_LISTEN,   /* struct conf_listen_list */
	CONF_TYPE_IPLIST,   /* struct conf_addr_list */
};

/* conf_write_default() writes the key as a setting, not as a comment. */
#define CONF_KEY_INIT_SET 0x2u

/* Most items one listen list or ip list may hold. */
#define CONF_LIST_MAX_ITEMS 32

struct conf_key {
	const char *name;
	enum conf_type type;
	const char *default_text;
	size_t offset; /* of the field in struct posthorn_conf */
	uint64_t min, max;
	const char *const *choices; /* CONF_TYPE_ENUM: NULL-terminated */
	unsigned int flags;         /* CONF_KEY_* */
	/* CONF_TYPE_STRING: extra check, NULL or returns NULL when the value is
	 * fine, else a static message. */
	const char *(*check)(const char *value);
	const char *description; /* one line, no trailing period */
};

/* offsetof(struct posthorn_conf, field), and a compile-time warning (an
 * error under -Werror) when the field is not of type ctype. */
#define CONF_FIELD(field, ctype) \
	(offsetof(struct posthorn_conf, field) + \
	 0 * sizeof(&((struct posthorn_conf *)NULL)->field == (ctype *)NULL))

extern const struct conf_key conf_keys[];
extern const unsigned int conf_key_count;

/* Parses text (a trimmed value from the parser) as key's type and, only on
 * success, replaces the value at field (freeing the old one). Returns 0, or
 * -1 with the reason appended to error (without the key name). */
int conf_value_parse(const struct conf_key *key, const char *text, void *field,
		     struct buf *error);

/* Appends the value at field in the form conf_value_parse() reads back.
 * Returns 0, -1 when out reached its maximum. */
int conf_value_format(const struct conf_key *key, const void *field, struct buf *out);

/* Appends the value at field as JSON. Returns 0 or -1 as conf_value_format. */
int conf_value_format_json(const struct conf_key *key, const void *field, struct buf *out);

/* Frees what the value at field owns and zeroes it. */
void conf_value_clear(const struct conf_key *key, void *field);

/* Appends s as a JSON string literal. Returns 0 or -1. */
int conf_json_string(struct buf *out, const char *s);

/* The field of key inside conf. */
static inline void *
conf_field(struct posthorn_conf *conf, const struct conf_key *key)
{
	return (char *)conf + key->offset;
}

static inline const void *
conf_field_const(const struct posthorn_conf *conf, const struct conf_key *key)
{
	return (const char *)conf + key->offset;
}

/* true when two listen items cannot both be bound: same family and port,
 * and the same address or one of them the wildcard (IPV6_V6ONLY assumed). */
bool conf_listen_overlap(const struct conf_listen *a, const struct conf_listen *b);

/* Appends "addr:port" ("[addr]:port" for IPv6). Returns 0 or -1. */
int conf_listen_format(const struct conf_listen *l, struct buf *out);

#endif
