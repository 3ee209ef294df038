/*
 * conf.h - Posthorn's settings: typed, defaulted, validated, printable.
 *
 * What it does: one schema table (conf-keys.c) lists every key with its type,
 * default (as text), range and description. Defaults, parsing, validation,
 * printing (`posthorn config show [-n]`) and the commented default file of
 * `posthorn init` are all driven by that table, so a key is added in one
 * place. conf_load() reads posthorn.conf and then conf.d/NAME.conf beside it in
 * lexical (byte) order; a later file overrides an earlier one. Within one
 * file a key may appear only once.
 *
 * Value types: string; bool (yes/no, true/false, on/off, 1/0); uint (decimal,
 * with a range); size (bytes, suffix k/K, M, G = 1024-based); duration
 * (seconds, suffix s, m, h, d; stored in milliseconds); listen list
 * ("addr:port, [v6addr]:port", empty = off); ip list (IPv4/IPv6 literals).
 *
 * What it does not do: it does not resolve the system host name for an empty
 * hostname, look up run_user, create data_dir or bind anything; the caller
 * (bin/) does. Domains, accounts and aliases are not configuration: they live
 * in the store.
 *
 * Invariants: after conf_init_defaults() or a successful conf_load() every
 * field holds a valid value (strings are never NULL). All functions are
 * reentrant; a struct posthorn_conf is not modified after loading and may
 * then be read from any thread.
 */
#ifndef CONF_CONF_H
#define CONF_CONF_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;

/* An IPv4 or IPv6 address literal. */
struct conf_addr {
	int family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr v4;
		struct in6_addr v6;
	} u;
};

struct conf_listen {
	struct conf_addr addr; /* 0.0.0.0 or :: is the wildcard */
	uint16_t port;         /* 1..65535, host byte order */
};

/* items is NULL when count is 0 (the service is off). */
struct conf_listen_list {
	unsigned int count;
	struct conf_listen *items;
};

struct conf_addr_list {
	unsigned int count;
	struct conf_addr *items;
};

enum conf_log_level {
	CONF_LOG_DEBUG,
	CONF_LOG_INFO,
	CONF_LOG_WARNING,
	CONF_LOG_ERROR,
};

/* One field per key, named as the key; see conf-keys.c for each meaning. */
struct posthorn_conf {
	char *hostname; /* "" = system host name */
	char *data_dir; /* "" = config_dir; see conf_resolve_data_dir() */
	struct conf_listen_list smtp_listen;
	struct conf_listen_list submission_listen;
	struct conf_listen_list submissions_listen;
	struct conf_listen_list imap_listen;
	struct conf_listen_list imaps_listen;
	struct conf_listen_list pop3_listen;
	struct conf_listen_list pop3s_listen;
	char *tls_cert;                             /* "" = no TLS */
	char *tls_key;
	char *tls_sni_certs;                        /* HOST=CERT:KEY, ... */
	struct conf_addr_list local_address_literals;
	char *recipient_delimiter;                  /* "" or one character */
	uint64_t message_size_limit;                /* bytes */
	unsigned int smtp_line_length_limit;
	unsigned int smtp_recipient_limit;
	unsigned int smtp_error_limit;
	uint64_t smtp_command_timeout;              /* milliseconds */
	uint64_t smtp_data_timeout;                 /* milliseconds */
	unsigned int smtp_max_connections;
	unsigned int pop3_line_length_limit;
	unsigned int pop3_error_limit;
	uint64_t pop3_timeout;                      /* milliseconds */
	unsigned int pop3_max_connections;
	bool plaintext_auth_loopback;
	uint64_t auth_failure_delay;                /* milliseconds */
	uint64_t auth_failure_delay_max;            /* milliseconds */
	unsigned int worker_threads;
	char *dns_resolver;     /* "" = /etc/resolv.conf; "IP[@port], ..." */
	char *dns_trust_anchor; /* "" = /usr/share/dns/root.key if present; "none"; abs. path */
	char *relayhost;                            /* "" = MX */
	char *relayhost_auth_file;                  /* "USER PASSWORD" file; "" = no AUTH */
	char *transport_map;                        /* "DOMAIN=RELAY,..."; "" = none */
	unsigned int smtp_outbound_port;
	unsigned int smtp_outbound_tls;             /* 0 none, 1 may, 2 encrypt */
	uint64_t queue_retry_min;                   /* milliseconds */
	uint64_t queue_retry_max;                   /* milliseconds */
	uint64_t queue_lifetime;                    /* milliseconds */
	uint64_t queue_scan_interval;               /* milliseconds */
	unsigned int queue_max_deliveries;
	unsigned int queue_destination_concurrency;
	uint64_t queue_connection_cache_time;       /* ms; 0 = no reuse */
	uint64_t queue_delay_warning;               /* ms; 0 = no delay notices */
	bool smtp_dane;
	bool smtp_mta_sts;
	unsigned int mta_sts_port;
	char *smtp_outbound_ca_file;                /* "" = system CA store */
	unsigned int log_level;                     /* enum conf_log_level */
	char *run_user;

	/* Not a key: the directory of the loaded file ("." for defaults). */
	char *config_dir;
};

/* One key of the schema. Static: never freed, valid for the whole program. */
struct conf_key;

/* Fills *conf with the defaults. Free with conf_deinit(). */
void conf_init_defaults(struct posthorn_conf *conf);

/* Frees everything *conf holds and zeroes it; calling it again is harmless. */
void conf_deinit(struct posthorn_conf *conf);

/* Reads the file at path and then every conf.d/NAME.conf in the directory of
 * path (names starting with '.' are skipped; a missing conf.d is fine).
 * Returns 1 and a loaded *conf_r (free with conf_deinit()), *errors_r NULL.
 * Returns -1 when anything was wrong: *errors_r is an allocated text (free
 * with mem_free()) of one "file:line: message" line per error ("file: message"
 * for whole-file errors), every error of every file, in file order; *conf_r
 * is then zeroed and holds nothing. */
int conf_load(const char *path, struct posthorn_conf *conf_r, char **errors_r);

/* As conf_load(), for one file's bytes already in memory (no conf.d, no
 * I/O); name is used in error messages. config_dir is ".". */
int conf_load_buffer(const char *name, const void *data, size_t size,
		     struct posthorn_conf *conf_r, char **errors_r);

/* The data directory: data_dir when absolute, config_dir/data_dir when
 * relative, config_dir when empty. Returns an allocated string (mem_free). */
char *conf_resolve_data_dir(const struct posthorn_conf *conf);

/* Appends "key = value\n" for every key in schema order, or, when
 * non_default_only, for the keys whose value differs from the default
 * (like postconf / postconf -n). Returns 0, or -1 when out reached its
 * maximum (the text is then incomplete). */
int conf_print(const struct posthorn_conf *conf, bool non_default_only, struct buf *out);

/* Appends one JSON object {"key": value, ...} of every key: strings and enums
 * as strings, bools as true/false, uints and sizes (bytes) as numbers,
 * durations as numbers of seconds, lists as arrays of strings. Returns 0 or
 * -1 as conf_print(). */
int conf_print_json(const struct posthorn_conf *conf, struct buf *out);

/* The key called name, or NULL if there is none. */
const struct conf_key *conf_lookup_key(const char *name);

/* The key's name, default value text and one-line description (static). */
const char *conf_key_name(const struct conf_key *key);
const char *conf_key_default(const struct conf_key *key);
const char *conf_key_description(const struct conf_key *key);

/* Appends the key's current value as it would be written in the file (no
 * key, no newline). Returns 0 or -1 as conf_print(). */
int conf_print_value(const struct posthorn_conf *conf, const struct conf_key *key,
		     struct buf *out);

/* Appends the text of a new posthorn.conf for `posthorn init`: a header on
 * the format, then every key with its description. hostname, data_dir and the
 * listen keys are written as settings (hostname/data_dir NULL = default);
 * every other key is written commented out with its default. Returns 0; -1
 * with *error_r (static text) when hostname or data_dir is not a valid value
 * for its key, or when out reached its maximum. */
int conf_write_default(struct buf *out, const char *hostname, const char *data_dir,
		       const char **error_r);

#endif
