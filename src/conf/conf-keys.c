/*
 * conf-keys.c - the schema: every configuration key, in the order in which
 * `posthorn config show` prints them and `posthorn init` writes them.
 *
 * What it does: names each key, its type, its default (as the text a user
 * would write), its range and a one-line description; plus the few checks a
 * type alone cannot express (host name syntax, user name syntax, the
 * recipient delimiter character).
 *
 * What it does not do: no parsing or printing (conf-value.c) and no file
 * handling (conf-load.c). Adding a key = a field in struct posthorn_conf and
 * one row here; test-conf checks that every default parses.
 *
 * Invariants: names are unique, lower_snake_case, and equal to their field
 * names; descriptions are one line without a trailing period.
 */
#include "conf/conf-private.h"
#include "conf/conf-sni.h"

#include <limits.h>
#include <string.h>

#include "core/mem.h"

/* RFC 1035 2.3.1 host name in ASCII (A-labels for IDN): labels of letters,
 * digits and inner hyphens, 1-63 bytes each, 253 bytes in all, no trailing
 * dot. Empty means "ask the system", which the caller does. */
static const char *
check_hostname(const char *value)
{
	size_t label = 0, len = strlen(value);

	if (len > 253)
		return "host name longer than 253 characters";
	for (size_t i = 0; i <= len; i++) {
		char c = value[i];

		if (c == '.' || c == '\0') {
			if (label == 0 && len > 0)
				return "empty label in host name";
			if (label > 63)
				return "host name label longer than 63 characters";
			if (label > 0 && value[i - 1] == '-')
				return "host name label ends with '-'";
			label = 0;
		} else if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			   (c >= '0' && c <= '9') || (c == '-' && label > 0)) {
			label++;
		} else {
			return "not a host name (letters, digits, '-' and '.'; IDN in xn-- form)";
		}
	}
	return NULL;
}

/* A portable user name (POSIX 3.437 portable filename characters, no
 * leading '-'), as useradd accepts it. */
static const char *
check_user(const char *value)
{
	if (value[0] == '-')
		return "user name starts with '-'";
	for (const char *p = value; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return "not a user name (letters, digits, '.', '_', '-')";
	}
	return NULL;
}

/* The delimiter is part of a local part: an atext character (RFC 5322
 * 3.2.3) that is not a letter or digit, so that "user+tag" stays a valid
 * dot-atom. */
static const char *
check_delimiter(const char *value)
{
	if (value[0] != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", value[0]) == NULL)
		return "must be one of ! # $ % & ' * + - / = ? ^ _ ` { | } ~";
	return NULL;
}

static const char *
check_sni(const char *value)
{
	struct conf_sni_entry *list;
	size_t n;
	const char *error;

	if (conf_sni_parse(value, &list, &n, &error) < 0)
		return error;
	conf_sni_free(&list, n);
	return NULL;
}

static const char *const log_levels[] = { "debug", "info", "warning", "error", NULL };

#define SECONDS(n) ((uint64_t)(n) * 1000)
#define KEY_STRING(f, def, minlen, maxlen, chk, flg, desc) \
	{ #f, CONF_TYPE_STRING, def, CONF_FIELD(f, char *), minlen, maxlen, NULL, flg, chk, desc }
#define KEY_UINT(f, def, lo, hi, desc) \
	{ #f, CONF_TYPE_UINT, def, CONF_FIELD(f, unsigned int), lo, hi, NULL, 0, NULL, desc }
#define KEY_SIZE(f, def, lo, hi, desc) \
	{ #f, CONF_TYPE_SIZE, def, CONF_FIELD(f, uint64_t), lo, hi, NULL, 0, NULL, desc }
#define KEY_DURATION(f, def, lo, hi, desc) \
	{ #f, CONF_TYPE_DURATION, def, CONF_FIELD(f, uint64_t), SECONDS(lo), SECONDS(hi), \
	  NULL, 0, NULL, desc }
#define KEY_BOOL(f, def, desc) \
	{ #f, CONF_TYPE_BOOL, def, CONF_FIELD(f, bool), 0, 0, NULL, 0, NULL, desc }
#define KEY_ENUM(f, def, choices, desc) \
	{ #f, CONF_TYPE_ENUM, def, CONF_FIELD(f, unsigned int), 0, 0, choices, 0, NULL, desc }
#define KEY_LISTEN(f, def, flg, desc) \
	{ #f, CONF_TYPE_LISTEN, def, CONF_FIELD(f, struct conf_listen_list), 0, 0, NULL, \
	  CONF_KEY_INIT_SET | (flg), NULL, desc }
#define KEY_IPLIST(f, def, desc) \
	{ #f, CONF_TYPE_IPLIST, def, CONF_FIELD(f, struct conf_addr_list), 0, 0, NULL, 0, NULL, \
	  desc }

const struct conf_key conf_keys[] = {
	KEY_STRING(hostname, "", 0, 253, check_hostname, CONF_KEY_INIT_SET,
		   "Server name in greetings and Received: lines (empty = system host name)"),
	KEY_STRING(data_dir, "", 0, 4096, NULL, CONF_KEY_INIT_SET,
		   "Directory of the store and message files (empty = this file's directory)"),
	KEY_LISTEN(smtp_listen, "127.0.0.1:2525", 0,
		   "SMTP for incoming mail (port 25 in production); addr:port, comma-separated"),
	KEY_LISTEN(submission_listen, "127.0.0.1:2587", 0,
		   "Message submission with STARTTLS and AUTH, RFC 6409 (port 587 in production)"),
	KEY_LISTEN(submissions_listen, "127.0.0.1:2465", 0,
		   "Submission over implicit TLS, RFC 8314 (port 465 in production)"),
	KEY_LISTEN(imap_listen, "", 0,
		   "IMAP, e.g. 127.0.0.1:2143; off by default: no SELECT or message commands yet"),
	KEY_LISTEN(imaps_listen, "", 0,
		   "IMAP over implicit TLS, RFC 8314 (port 993 in production)"),
	KEY_LISTEN(pop3_listen, "127.0.0.1:2110", 0, "POP3 (port 110 in production)"),
	KEY_LISTEN(pop3s_listen, "127.0.0.1:2995", 0,
		   "POP3 over implicit TLS, RFC 8314 (port 995 in production)"),
	KEY_STRING(tls_cert, "", 0, 4096, NULL, 0,
		   "PEM certificate chain for TLS; relative to the config directory; empty = no TLS"),
	KEY_STRING(tls_key, "", 0, 4096, NULL, 0,
		   "PEM private key of tls_cert; relative to the config directory"),
	KEY_STRING(tls_sni_certs, "", 0, 65536, check_sni, 0,
		   "More certificates by SNI name: comma-separated HOST=CERTFILE:KEYFILE"),
	KEY_IPLIST(local_address_literals, "",
		   "IP addresses for which user@[addr] is a local address (RFC 5321 4.1.3)"),
	KEY_STRING(recipient_delimiter, "+", 0, 1, check_delimiter, 0,
		   "Character separating user and extension in user+ext@domain (empty = none)"),
	KEY_SIZE(message_size_limit, "50M", 64 * 1024, UINT64_MAX,
		 "Largest message accepted, in bytes (suffix k, M, G); announced in EHLO SIZE"),
	KEY_UINT(smtp_line_length_limit, "2048", 512, 1024 * 1024,
		 "Longest SMTP command line with its CRLF (RFC 5321 4.5.3.1.4: at least 512)"),
	KEY_UINT(smtp_recipient_limit, "1000", 100, 1000000,
		 "Most RCPT TO per message (RFC 5321 4.5.3.1.8: at least 100)"),
	KEY_UINT(smtp_error_limit, "20", 1, 10000,
		 "SMTP errors in one session before the server disconnects"),
	KEY_DURATION(smtp_command_timeout, "5m", 1, 86400,
		     "Idle time allowed while waiting for an SMTP command (RFC 5321 4.5.3.2.7)"),
	KEY_DURATION(smtp_data_timeout, "10m", 1, 86400,
		     "Idle time allowed while receiving message data (RFC 5321 4.5.3.2.5-6)"),
	KEY_UINT(smtp_max_connections, "1000", 1, 1000000,
		 "Most simultaneous SMTP and submission connections"),
	KEY_UINT(pop3_line_length_limit, "255", 255, 1024 * 1024,
		 "Longest POP3 command line with its CRLF (RFC 2449 4: at least 255)"),
	KEY_UINT(pop3_error_limit, "20", 1, 10000,
		 "POP3 errors in one session before the server disconnects"),
	KEY_DURATION(pop3_timeout, "10m", 1, 86400,
		     "Idle time before a POP3 session is closed (RFC 1939 3: at least 10 minutes)"),
	KEY_UINT(pop3_max_connections, "1000", 1, 1000000, "Most simultaneous POP3 connections"),
	KEY_BOOL(plaintext_auth_loopback, "yes",
		 "Allow plain-text passwords without TLS on loopback connections"),
	KEY_DURATION(auth_failure_delay, "2s", 0, 3600,
		     "Delay of a failed login, doubled per further failure from the same IP"),
	KEY_DURATION(auth_failure_delay_max, "15s", 0, 3600,
		     "Longest delay of a failed login"),
	KEY_UINT(worker_threads, "16", 1, 64,
		 "Threads for storage, password hashing and fsync work"),
	KEY_ENUM(log_level, "info", log_levels,
		 "Least severe messages logged: debug, info, warning or error"),
	KEY_STRING(run_user, "posthorn", 1, 32, check_user, 0,
		   "User to switch to after binding ports when started as root"),
};

const unsigned int conf_key_count = N_ELEMENTS(conf_keys);
