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

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

#include "core/mem.h"
#include "core/net.h"

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

/* One next hop in relayhost syntax: host, host:port, [ip], [ip]:port. */
static const char *
check_relay(const char *value, size_t len)
{
	char host[256];
	const char *colon = NULL;
	size_t hl;

	if (len == 0)
		return "empty relay";
	if (value[0] == '[') {
		const char *end = memchr(value, ']', len);
		struct in6_addr a6;
		struct in_addr a4;

		if (end == NULL || (size_t)(end - value) - 1 >= sizeof(host))
			return "relay \"[\" without \"]\"";
		hl = (size_t)(end - value) - 1;
		memcpy(host, value + 1, hl);
		host[hl] = '\0';
		if (inet_pton(AF_INET, host, &a4) != 1 && inet_pton(AF_INET6, host, &a6) != 1)
			return "not an IP address between [ ]";
		if ((size_t)(end - value) + 1 < len) {
			if (end[1] != ':')
				return "text after \"]\" (expected :PORT)";
			colon = end + 1;
		}
	} else {
		colon = memchr(value, ':', len);
		hl = colon != NULL ? (size_t)(colon - value) : len;
		if (hl == 0 || hl >= sizeof(host))
			return "bad relay host";
		memcpy(host, value, hl);
		host[hl] = '\0';
		if (check_hostname(host) != NULL)
			return "relay is not a host name";
	}
	if (colon != NULL) {
		size_t pl = len - (size_t)(colon + 1 - value);
		unsigned long port = 0;

		if (pl == 0 || pl > 5)
			return "bad port";
		for (size_t k = 0; k < pl; k++) {
			if (colon[1 + k] < '0' || colon[1 + k] > '9')
				return "bad port";
			port = port * 10 + (unsigned long)(colon[1 + k] - '0');
		}
		if (port == 0 || port > 65535)
			return "port out of range (1-65535)";
	}
	return NULL;
}

/* relayhost: one relay (check_relay), or empty for MX routing. */
static const char *
check_relayhost(const char *value)
{
	return value[0] == '\0' ? NULL : check_relay(value, strlen(value));
}

/* transport_map: "DOMAIN=RELAY" items separated by commas (blanks around
 * them allowed); DOMAIN a host name, ".DOMAIN" for its subdomains; RELAY
 * as relayhost. */
static const char *
check_transport_map(const char *value)
{
	const char *p = value;

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t n = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *eq;
		char dom[256];
		size_t dl, rl;
		const char *relay, *err;

		while (n > 0 && (*p == ' ' || *p == '\t')) {
			p++;
			n--;
		}
		while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
			n--;
		if (n == 0)
			return "empty item (expected DOMAIN=RELAY)";
		eq = memchr(p, '=', n);
		if (eq == NULL)
			return "item without '=' (expected DOMAIN=RELAY)";
		relay = eq + 1;
		rl = n - (size_t)(relay - p);
		while (rl > 0 && (*relay == ' ' || *relay == '\t')) {
			relay++;
			rl--;
		}
		dl = (size_t)(eq - p);
		while (dl > 0 && (p[dl - 1] == ' ' || p[dl - 1] == '\t'))
			dl--;
		if (dl > 0 && p[0] == '.') {
			p++;
			dl--;
		}
		if (dl == 0 || dl >= sizeof(dom))
			return "bad domain";
		memcpy(dom, p, dl);
		dom[dl] = '\0';
		if (check_hostname(dom) != NULL)
			return "domain is not a host name";
		if ((err = check_relay(relay, rl)) != NULL)
			return err;
		if (end == NULL)
			break;
		p = end + 1;
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

/* dns_resolver: IP or IP@port, comma-separated, at most 8 (the parser is
 * core/net's, shared with dns/). */
static const char *
check_resolver(const char *value)
{
	const char *error = NULL;

	return net_ip_port_list_foreach(value, NET_IP_PORT_LIST_MAX, NULL, NULL, &error) < 0
		       ? error
		       : NULL;
}

/* dns_trust_anchor: "", "none" or an absolute path (read by the server at
 * startup, before it drops privileges). */
static const char *
check_trust_anchor(const char *value)
{
	if (value[0] != '\0' && strcmp(value, "none") != 0 && value[0] != '/')
		return "must be empty, \"none\" or an absolute file name";
	return NULL;
}

static const char *const log_levels[] = { "debug", "info", "warning", "error", NULL };
static const char *const tls_levels[] = { "none", "may", "encrypt", NULL };

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
	KEY_LISTEN(imap_listen, "127.0.0.1:2143", 0,
		   "IMAP with STARTTLS (port 143 in production)"),
	KEY_LISTEN(imaps_listen, "127.0.0.1:2993", 0,
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
	KEY_STRING(dns_resolver, "", 0, 512, check_resolver, 0,
		   "Recursive DNS resolvers for outbound mail: IP or IP@port, comma-separated; "
		   "empty = resolv.conf"),
	KEY_STRING(dns_trust_anchor, "", 0, 4096, check_trust_anchor, 0,
		   "DNSSEC trust anchor file (DANE); empty = /usr/share/dns/root.key if present; none"),
	KEY_STRING(relayhost, "", 0, 300, check_relayhost, 0,
		   "Send all outbound mail through this host: host, host:port, [ip] or [ip]:port; "
		   "empty = MX lookup"),
	KEY_STRING(relayhost_auth_file, "", 0, 4096, NULL, 0,
		   "File with USER PASSWORD for AUTH at relay hosts; empty = no AUTH"),
	KEY_STRING(transport_map, "", 0, 65536, check_transport_map, 0,
		   "Next hop per recipient domain: DOMAIN=RELAY, comma-separated; beats relayhost"),
	KEY_UINT(smtp_outbound_port, "25", 1, 65535,
		 "TCP port of MX hosts and address literals for outbound mail (tests change it)"),
	KEY_ENUM(smtp_outbound_tls, "may", tls_levels,
		 "STARTTLS for outbound mail: none, may (when offered) or encrypt (required)"),
	KEY_BOOL(smtp_dane, "yes",
		 "DANE, RFC 7672: authenticate next hops by DNSSEC-validated TLSA records"),
	KEY_BOOL(smtp_mta_sts, "yes",
		 "MTA-STS, RFC 8461: fetch, cache and enforce recipient domains' TLS policies"),
	KEY_UINT(mta_sts_port, "443", 1, 65535,
		 "TCP port of MTA-STS policy hosts (tests change it)"),
	KEY_STRING(smtp_outbound_ca_file, "", 0, 4096, NULL, 0,
		   "PEM CA file for verifying next hops (MTA-STS, REQUIRETLS); empty = system's"),
	KEY_DURATION(queue_retry_min, "5m", 1, 86400,
		     "First retry of a deferred recipient; the interval doubles per attempt"),
	KEY_DURATION(queue_retry_max, "4h", 1, 7 * 86400,
		     "Longest interval between retries of a deferred recipient"),
	KEY_DURATION(queue_lifetime, "5d", 1, 100 * 86400,
		     "Bounce what could not be delivered within this time (RFC 5321 4.5.4.1)"),
	KEY_DURATION(queue_scan_interval, "5s", 1, 3600,
		     "How often the queue is searched for due messages"),
	KEY_UINT(queue_max_deliveries, "20", 1, 10000,
		 "Messages in outbound delivery at once, not counting those waiting for a busy "
		 "destination"),
	KEY_UINT(queue_destination_concurrency, "20", 1, 10000,
		 "Connections to one destination (domain or relay host) at the same time"),
	KEY_DURATION(queue_connection_cache_time, "2s", 0, 300,
		     "Keep an idle outbound connection this long for the next message; 0 = no reuse"),
	KEY_DURATION(queue_delay_warning, "4h", 0, 100 * 86400,
		     "Send a delay notice (DSN) for mail still queued after this time; 0 = never"),
	KEY_ENUM(log_level, "info", log_levels,
		 "Least severe messages logged: debug, info, warning or error"),
	KEY_STRING(run_user, "posthorn", 1, 32, check_user, 0,
		   "User to switch to after binding ports when started as root"),
};

const unsigned int conf_key_count = N_ELEMENTS(conf_keys);
