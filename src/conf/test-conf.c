/*
 * test-conf.c - settings: value types, schema, files and drop-ins, error
 * collection, printing and the default file of `posthorn init`.
 *
 * Most cases load a text with conf_load_buffer() (no I/O); the drop-in and
 * missing-file cases write real files under test_tmpdir().
 */
#include "conf/conf.h"
#include "conf/conf-sni.h"
#include "conf/conf-private.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

/* Loads text as "t.conf"; returns conf_load_buffer()'s result. The errors
 * text (or "") is left in *errors_r, to be freed by the caller. */
static int
load(const char *text, struct posthorn_conf *conf, char **errors_r)
{
	int ret = conf_load_buffer("t.conf", text, strlen(text), conf, errors_r);

	if (*errors_r == NULL)
		*errors_r = mem_strdup("");
	return ret;
}

/* Checks that text loads without errors. */
static bool
load_ok(const char *text, struct posthorn_conf *conf)
{
	char *errors;
	int ret = load(text, conf, &errors);

	T_STREQ(errors, "");
	mem_free(&errors);
	return T_INTEQ(ret, 1);
}

/* Checks that text fails to load with exactly the expected errors. */
static void
load_fails(const char *text, const char *expected)
{
	struct posthorn_conf conf;
	char *errors;

	T_INTEQ(load(text, &conf, &errors), -1);
	T_STREQ(errors, expected);
	T_ASSERT(conf.hostname == NULL); /* zeroed on failure */
	mem_free(&errors);
}

/* "key = value" loads and prints back as printed (the canonical form). */
static void
value_ok(const char *key, const char *value, const char *printed)
{
	struct posthorn_conf conf;
	struct buf text, out;

	buf_init(&text, 0);
	buf_init(&out, 0);
	buf_printf(&text, "%s = %s\n", key, value);
	if (load_ok(buf_cstr(&text), &conf)) {
		T_INTEQ(conf_print_value(&conf, conf_lookup_key(key), &out), 0);
		T_STREQ(buf_cstr(&out), printed);
	}
	conf_deinit(&conf);
	buf_deinit(&text);
	buf_deinit(&out);
}

/* "key = value" fails with "t.conf:1: key: message". */
static void
value_bad(const char *key, const char *value, const char *message)
{
	struct buf text, expected;

	buf_init(&text, 0);
	buf_init(&expected, 0);
	buf_printf(&text, "%s = %s\n", key, value);
	buf_printf(&expected, "t.conf:1: %s: %s\n", key, message);
	load_fails(buf_cstr(&text), buf_cstr(&expected));
	buf_deinit(&text);
	buf_deinit(&expected);
}

static bool
starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
write_file(const char *dir, const char *name, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!T_ASSERT(f != NULL))
		return;
	fputs(content, f);
	fclose(f);
}

static void
test_defaults(void)
{
	struct posthorn_conf conf;

	conf_init_defaults(&conf);
	T_STREQ(conf.hostname, "");
	T_STREQ(conf.data_dir, "");
	T_STREQ(conf.config_dir, ".");
	T_INTEQ(conf.smtp_listen.count, 1);
	T_INTEQ(conf.smtp_listen.items[0].addr.family, AF_INET);
	T_INTEQ(conf.smtp_listen.items[0].addr.u.v4.s_addr, htonl(INADDR_LOOPBACK));
	T_INTEQ(conf.smtp_listen.items[0].port, 2525);
	T_INTEQ(conf.submission_listen.items[0].port, 2587);
	T_INTEQ(conf.imap_listen.items[0].port, 2143);
	T_INTEQ(conf.pop3_listen.items[0].port, 2110);
	T_INTEQ(conf.submissions_listen.items[0].port, 2465);
	T_INTEQ(conf.imaps_listen.items[0].port, 2993);
	T_INTEQ(conf.pop3s_listen.items[0].port, 2995);
	T_STREQ(conf.tls_cert, "");
	T_INTEQ(conf.auth_failure_delay, 2000);
	T_INTEQ(conf.local_address_literals.count, 0);
	T_STREQ(conf.recipient_delimiter, "+");
	T_INTEQ(conf.message_size_limit, 50 * 1024 * 1024);
	T_INTEQ(conf.smtp_line_length_limit, 2048);
	T_INTEQ(conf.smtp_recipient_limit, 1000);
	T_INTEQ(conf.smtp_error_limit, 20);
	T_INTEQ(conf.smtp_command_timeout, 5 * 60 * 1000);
	T_INTEQ(conf.smtp_data_timeout, 10 * 60 * 1000);
	T_INTEQ(conf.smtp_max_connections, 1000);
	T_INTEQ(conf.pop3_line_length_limit, 255);
	T_INTEQ(conf.pop3_error_limit, 20);
	T_INTEQ(conf.pop3_timeout, 10 * 60 * 1000);
	T_INTEQ(conf.pop3_max_connections, 1000);
	T_ASSERT(conf.plaintext_auth_loopback);
	T_INTEQ(conf.worker_threads, 16);
	T_INTEQ(conf.log_level, CONF_LOG_INFO);
	T_STREQ(conf.run_user, "posthorn");
	conf_deinit(&conf);
	T_ASSERT(conf.hostname == NULL);
	conf_deinit(&conf); /* harmless twice */
}

/* Every key: unique name and field, sane description, a default that
 * prints back as itself (so `config show -n` of defaults is empty). */
static void
test_schema(void)
{
	struct posthorn_conf conf;
	struct buf out;

	conf_init_defaults(&conf);
	buf_init(&out, 0);
	for (unsigned int i = 0; i < conf_key_count; i++) {
		const struct conf_key *key = &conf_keys[i];
		size_t dlen = strlen(key->description);

		T_ASSERT(conf_lookup_key(key->name) == key);
		T_STREQ(conf_key_name(key), key->name);
		T_ASSERT(dlen > 0 && dlen < 96 && key->description[dlen - 1] != '.');
		for (unsigned int j = 0; j < i; j++)
			T_ASSERT(conf_keys[j].offset != key->offset);
		buf_reset(&out);
		conf_print_value(&conf, key, &out);
		T_STREQ(buf_cstr(&out), conf_key_default(key));
	}
	T_INTEQ(conf_key_count, 50);
	T_ASSERT(conf_lookup_key("nope") == NULL);
	T_ASSERT(conf_lookup_key("") == NULL);
	T_STREQ(conf_key_description(conf_lookup_key("run_user")),
		"User to switch to after binding ports when started as root");
	buf_deinit(&out);
	conf_deinit(&conf);
}

static void
test_file_syntax(void)
{
	struct posthorn_conf conf;

	if (load_ok("# comment\n\n  \t\n  smtp_error_limit\t=   7  \n#x = y\r\n"
		    "hostname = mx.example.org\r\n",
		    &conf)) {
		T_INTEQ(conf.smtp_error_limit, 7);
		T_STREQ(conf.hostname, "mx.example.org");
	}
	conf_deinit(&conf);
	/* an empty value is a value: the empty string, or an empty list */
	if (load_ok("recipient_delimiter =\nsmtp_listen =\n", &conf)) {
		T_STREQ(conf.recipient_delimiter, "");
		T_INTEQ(conf.smtp_listen.count, 0);
	}
	conf_deinit(&conf);
	/* '#' inside a value is not a comment */
	if (load_ok("data_dir = /srv/mail#1\n", &conf))
		T_STREQ(conf.data_dir, "/srv/mail#1");
	conf_deinit(&conf);
	load_fails("worker_threads = 4 # four\n",
		   "t.conf:1: worker_threads: '4 # four' is not a number\n");
	load_fails("worker_threads\n", "t.conf:1: missing '=' after key\n");
	load_fails("worker_threads = 4\nworker_threads = 5\n",
		   "t.conf:2: duplicate key 'worker_threads' (first set on line 1)\n");
	load_fails("\nfoo = bar\n", "t.conf:2: unknown key 'foo'\n");
	load_fails("Hostname = x\n", "t.conf:1: unknown key 'Hostname'\n");
}

static void
test_sizes(void)
{
	const char *k = "message_size_limit";

	value_ok(k, "65536", "64k");
	value_ok(k, "64k", "64k");
	value_ok(k, "64K", "64k");
	value_ok(k, "100M", "100M");
	value_ok(k, "1024M", "1G");
	value_ok(k, "2G", "2G");
	value_ok(k, "65537", "65537");
	value_ok(k, "0000070000", "70000");
	value_ok(k, "17179869183G", "17179869183G"); /* largest that fits */
	value_bad(k, "63k", "must be at least 64k");
	value_bad(k, "65535", "must be at least 64k");
	value_bad(k, "0", "must be at least 64k");
	const char *notsize = "is not a size (bytes, or a number with suffix k, M or G)";
	struct buf msg;

	buf_init(&msg, 0);
	static const char *const bad[] = { "", "M", "10x", "10MB", "10m", "1.5M", "1 M", "-1",
					   "+1", "0x10000", "k64" };
	for (size_t i = 0; i < N_ELEMENTS(bad); i++) {
		buf_reset(&msg);
		buf_printf(&msg, "'%s' %s", bad[i], notsize);
		value_bad(k, bad[i], buf_cstr(&msg));
	}
	buf_deinit(&msg);
	value_ok(k, "10M ", "10M");
	value_bad(k, "18446744073709551616", "'18446744073709551616' is too large");
	value_bad(k, "99999999999999999999999", "'99999999999999999999999' is too large");
	value_bad(k, "17179869184G", "'17179869184G' is too large");
	value_bad(k, "18014398509481984k", "'18014398509481984k' is too large");
}

#define NOT_DURATION "is not a duration (seconds, or a number with suffix s, m, h or d)"

static void
test_durations(void)
{
	const char *k = "smtp_command_timeout";
	struct posthorn_conf conf;

	value_ok(k, "300", "5m");
	value_ok(k, "300s", "5m");
	value_ok(k, "5m", "5m");
	value_ok(k, "90", "90s");
	value_ok(k, "1", "1s");
	value_ok(k, "2h", "2h");
	value_ok(k, "1d", "1d");
	value_ok(k, "1440m", "1d");
	value_ok(k, "86400s", "1d");
	if (load_ok("pop3_timeout = 1h\nsmtp_data_timeout = 45\n", &conf)) {
		T_INTEQ(conf.pop3_timeout, 3600 * 1000);
		T_INTEQ(conf.smtp_data_timeout, 45 * 1000);
	}
	conf_deinit(&conf);
	value_bad(k, "0", "must be at least 1s");
	value_bad(k, "0s", "must be at least 1s");
	value_bad(k, "86401", "must be at most 1d");
	value_bad(k, "2d", "must be at most 1d");
	value_bad(k, "5x", "'5x' " NOT_DURATION);
	value_bad(k, "5ms", "'5ms' " NOT_DURATION);
	value_bad(k, "1h30m", "'1h30m' " NOT_DURATION);
	value_bad(k, "5M", "'5M' " NOT_DURATION);
	value_bad(k, "", "'' " NOT_DURATION);
	/* 2^64 ms overflows long before the range check */
	value_bad(k, "213503982335d", "'213503982335d' is too large");
	value_bad(k, "18446744073709552", "'18446744073709552' is too large");
}

static void
test_uints(void)
{
	value_ok("smtp_recipient_limit", "100", "100");
	value_ok("worker_threads", "64", "64");
	value_ok("worker_threads", "007", "7");
	value_bad("smtp_recipient_limit", "99", "must be at least 100");
	value_bad("smtp_line_length_limit", "511", "must be at least 512");
	value_bad("pop3_line_length_limit", "254", "must be at least 255");
	value_bad("worker_threads", "0", "must be at least 1");
	value_bad("worker_threads", "65", "must be at most 64");
	value_bad("worker_threads", "4294967300", "must be at most 64");
	value_bad("worker_threads", "4k", "'4k' is not a number");
	value_bad("worker_threads", "-1", "'-1' is not a number");
	value_bad("worker_threads", "", "'' is not a number");
	value_bad("smtp_max_connections", "99999999999999999999",
		  "'99999999999999999999' is too large");
}

static void
test_bools_enums(void)
{
	static const char *const yes[] = { "yes", "true", "on", "1", "YES", "True" };
	static const char *const no[] = { "no", "false", "off", "0", "No", "OFF" };
	const char *k = "plaintext_auth_loopback";

	for (size_t i = 0; i < N_ELEMENTS(yes); i++) {
		value_ok(k, yes[i], "yes");
		value_ok(k, no[i], "no");
	}
	value_bad(k, "y", "'y' is not yes or no (or true/false, on/off, 1/0)");
	value_bad(k, "", "'' is not yes or no (or true/false, on/off, 1/0)");
	value_bad(k, "2", "'2' is not yes or no (or true/false, on/off, 1/0)");
	value_ok("log_level", "debug", "debug");
	value_ok("log_level", "WARNING", "warning");
	value_ok("log_level", "error", "error");
	value_bad("log_level", "verbose", "'verbose' is not one of: debug, info, warning, error");
	value_bad("log_level", "", "'' is not one of: debug, info, warning, error");
}

#define NOT_HOST "not a host name (letters, digits, '-' and '.'; IDN in xn-- form)"

static void
test_strings(void)
{
	value_ok("hostname", "mail.example.org", "mail.example.org");
	value_ok("hostname", "localhost", "localhost");
	value_ok("hostname", "xn--bcher-kva.example", "xn--bcher-kva.example");
	value_ok("hostname", "", "");
	value_bad("hostname", "-mx.example.org", "'-mx.example.org': " NOT_HOST);
	value_bad("hostname", "mx-.example.org",
		  "'mx-.example.org': host name label ends with '-'");
	value_bad("hostname", "a..b", "'a..b': empty label in host name");
	value_bad("hostname", "example.org.", "'example.org.': empty label in host name");
	value_bad("hostname", "b\xc3\xbc" "cher.example", "'b\xc3\xbc" "cher.example': " NOT_HOST);
	value_bad("hostname", "mail example", "'mail example': " NOT_HOST);
	value_ok("recipient_delimiter", "-", "-");
	value_ok("recipient_delimiter", "", "");
	value_bad("recipient_delimiter", "+-", "must be at most 1 character long");
	value_bad("recipient_delimiter", "@",
		  "'@': must be one of ! # $ % & ' * + - / = ? ^ _ ` { | } ~");
	value_bad("recipient_delimiter", "a",
		  "'a': must be one of ! # $ % & ' * + - / = ? ^ _ ` { | } ~");
	value_ok("run_user", "mail_user-1.x", "mail_user-1.x");
	value_bad("run_user", "", "must not be empty");
	value_bad("run_user", "abcdefghijklmnopqrstuvwxyz0123456",
		  "must be at most 32 characters long");
	value_bad("run_user", "-x", "'-x': user name starts with '-'");
	value_bad("run_user", "a:b", "'a:b': not a user name (letters, digits, '.', '_', '-')");
	value_ok("data_dir", "relative/dir with space", "relative/dir with space");
}

/* transport_map: DOMAIN=RELAY items, RELAY in relayhost syntax. */
static void
test_transport_map(void)
{
	value_ok("transport_map", "", "");
	value_ok("transport_map", "example.org=relay.example.net",
		 "example.org=relay.example.net");
	value_ok("transport_map", "a.example=[192.0.2.1]:2525, .b.example = mx.b.example:25",
		 "a.example=[192.0.2.1]:2525, .b.example = mx.b.example:25");
	value_ok("transport_map", "c.example=[2001:db8::1]", "c.example=[2001:db8::1]");
	value_bad("transport_map", "example.org",
		  "'example.org': item without '=' (expected DOMAIN=RELAY)");
	value_bad("transport_map", "a.example=r.example,,b.example=r.example",
		  "'a.example=r.example,,b.example=r.example': empty item "
		  "(expected DOMAIN=RELAY)");
	value_bad("transport_map", "=relay.example",
		  "'=relay.example': bad domain");
	value_bad("transport_map", "a b.example=relay.example",
		  "'a b.example=relay.example': domain is not a host name");
	value_bad("transport_map", "a.example=", "'a.example=': empty relay");
	value_bad("transport_map", "a.example=relay.example:0",
		  "'a.example=relay.example:0': port out of range (1-65535)");
	value_bad("transport_map", "a.example=relay.example:99999",
		  "'a.example=relay.example:99999': port out of range (1-65535)");
	value_bad("transport_map", "a.example=relay.example:2x",
		  "'a.example=relay.example:2x': bad port");
	value_bad("transport_map", "a.example=[192.0.2.300]",
		  "'a.example=[192.0.2.300]': not an IP address between [ ]");
	value_bad("transport_map", "a.example=[192.0.2.1",
		  "'a.example=[192.0.2.1': relay \"[\" without \"]\"");
	value_bad("transport_map", "a.example=[192.0.2.1]x",
		  "'a.example=[192.0.2.1]x': text after \"]\" (expected :PORT)");
	value_bad("transport_map", "a.example=bad_host",
		  "'a.example=bad_host': relay is not a host name");
}

/* relayhost: one relay (the RELAY syntax of transport_map), empty = MX. */
static void
test_relayhost(void)
{
	value_ok("relayhost", "", "");
	value_ok("relayhost", "mail.example.com", "mail.example.com");
	value_ok("relayhost", "mail.example.com:587", "mail.example.com:587");
	value_ok("relayhost", "[192.0.2.1]:2525", "[192.0.2.1]:2525");
	value_ok("relayhost", "[2001:db8::1]", "[2001:db8::1]");
	value_bad("relayhost", "[mail.example.com]",
		  "'[mail.example.com]': not an IP address between [ ]");
	value_bad("relayhost", "host:99999", "'host:99999': port out of range (1-65535)");
	value_bad("relayhost", "host:", "'host:': bad port");
	value_bad("relayhost", "bad_host", "'bad_host': relay is not a host name");
}

static void
test_listen(void)
{
	const char *k = "smtp_listen";
	struct posthorn_conf conf;

	value_ok(k, "[::1]:25", "[::1]:25");
	value_ok(k, "[0:0::1]:25", "[::1]:25");
	value_ok(k, "0.0.0.0:25,[::]:25", "0.0.0.0:25, [::]:25");
	value_ok(k, " 192.0.2.1:25 ,\t[2001:db8::1]:2525 ", "192.0.2.1:25, [2001:db8::1]:2525");
	value_ok(k, "127.0.0.1:1, 127.0.0.1:65535", "127.0.0.1:1, 127.0.0.1:65535");
	value_ok(k, "", "");
	if (load_ok("smtp_listen = 127.0.0.1:25, [::1]:2525\n", &conf)) {
		T_INTEQ(conf.smtp_listen.count, 2);
		T_INTEQ(conf.smtp_listen.items[1].addr.family, AF_INET6);
		T_ASSERT(memcmp(&conf.smtp_listen.items[1].addr.u.v6, &in6addr_loopback, 16) == 0);
		T_INTEQ(conf.smtp_listen.items[1].port, 2525);
	}
	conf_deinit(&conf);
	value_bad(k, "::1:25", "'::1:25': write an IPv6 address in brackets, as [::1]:25");
	value_bad(k, "[::1]", "'[::1]' lacks the :port");
	value_bad(k, "[::1]25", "'[::1]25' lacks the :port");
	value_bad(k, "[::1:25", "'[::1:25' lacks the closing ']'");
	value_bad(k, "127.0.0.1", "'127.0.0.1' lacks the :port");
	value_bad(k, "127.0.0.1:", "'' is not a port number (1-65535)");
	value_bad(k, "127.0.0.1:0", "'0' is not a port number (1-65535)");
	value_bad(k, "127.0.0.1:65536", "'65536' is not a port number (1-65535)");
	value_bad(k, "127.0.0.1:99999999999999999999999",
		  "'99999999999999999999' is not a port number (1-65535)");
	value_bad(k, "127.0.0.1:25x", "'25x' is not a port number (1-65535)");
	value_bad(k, "127.0.0.1:-1", "'-1' is not a port number (1-65535)");
	value_bad(k, "localhost:25", "'localhost' is not an IPv4 address");
	value_bad(k, "*:25", "'*' is not an IPv4 address");
	value_bad(k, ":25", "'' is not an IPv4 address");
	value_bad(k, "256.0.0.1:25", "'256.0.0.1' is not an IPv4 address");
	value_bad(k, "[127.0.0.1]:25", "'127.0.0.1' is not an IPv6 address");
	value_bad(k, "[fe80::1%eth0]:25", "'fe80::1%eth0' is not an IPv6 address");
	value_bad(k, "127.0.0.1:25,", "empty item in comma-separated list");
	value_bad(k, ",127.0.0.1:25", "empty item in comma-separated list");
	value_bad(k, "127.0.0.1:25 , , 127.0.0.1:26", "empty item in comma-separated list");
	value_bad(k, "127.0.0.1:25 127.0.0.1:26",
		  "'127.0.0.1:25 127.0.0.1:26': separate items with commas");
	value_bad(k, "127.0.0.1:25, 127.0.0.1:25", "'127.0.0.1:25' overlaps an earlier item");
	value_bad(k, "0.0.0.0:25, 127.0.0.1:25", "'127.0.0.1:25' overlaps an earlier item");
	value_bad(k, "[::1]:25, [::]:25", "'[::]:25' overlaps an earlier item");
	value_ok(k, "127.0.0.1:25, [::]:25", "127.0.0.1:25, [::]:25"); /* v6only sockets */
}

static void
test_listen_limits(void)
{
	struct buf v, printed;

	buf_init(&v, 0);
	buf_init(&printed, 0);
	for (int i = 1; i <= CONF_LIST_MAX_ITEMS; i++) {
		buf_printf(&v, "%s127.0.0.1:%d", i == 1 ? "" : ",", 3000 + i);
		buf_printf(&printed, "%s127.0.0.1:%d", i == 1 ? "" : ", ", 3000 + i);
	}
	value_ok("pop3_listen", buf_cstr(&v), buf_cstr(&printed));
	buf_append_str(&v, ",127.0.0.1:4000");
	value_bad("pop3_listen", buf_cstr(&v), "more than 32 items");
	buf_deinit(&v);
	buf_deinit(&printed);
}

static void
test_tls_listen(void)
{
	value_ok("submissions_listen", "", "");
	value_ok("imaps_listen", "  ", "");
	value_ok("submissions_listen", "127.0.0.1:465", "127.0.0.1:465");
	value_ok("imaps_listen", "[::1]:993", "[::1]:993");
	value_bad("pop3s_listen", "x:995", "'x' is not an IPv4 address");
}

static void
test_listen_conflicts(void)
{
	load_fails("\nimap_listen = 127.0.0.1:2525\n",
		   "t.conf:2: imap_listen: 127.0.0.1:2525 is also used by smtp_listen\n");
	load_fails("imap_listen = 127.0.0.1:2143\npop3_listen = 0.0.0.0:2143\n",
		   "t.conf:2: pop3_listen: 0.0.0.0:2143 is also used by imap_listen\n");
	/* reported at the setting of the later key in schema order */
	load_fails("imap_listen = 127.0.0.1:2000\nsmtp_listen = 127.0.0.1:2000\n",
		   "t.conf:1: imap_listen: 127.0.0.1:2000 is also used by smtp_listen\n");
	/* moving a service frees its old address */
	struct posthorn_conf conf;

	if (load_ok("smtp_listen = 127.0.0.1:25\nimap_listen = 127.0.0.1:2525\n", &conf))
		T_INTEQ(conf.imap_listen.items[0].port, 2525);
	conf_deinit(&conf);
}

static void
test_iplist(void)
{
	const char *k = "local_address_literals";
	struct posthorn_conf conf;

	value_ok(k, "192.0.2.1, 2001:DB8::1", "192.0.2.1, 2001:db8::1");
	value_ok(k, "", "");
	if (load_ok("local_address_literals = ::1,127.0.0.1\n", &conf)) {
		T_INTEQ(conf.local_address_literals.count, 2);
		T_INTEQ(conf.local_address_literals.items[0].family, AF_INET6);
		T_INTEQ(conf.local_address_literals.items[1].family, AF_INET);
	}
	conf_deinit(&conf);
	value_bad(k, "[::1]", "'[::1]' is not an IPv4 or IPv6 address");
	value_bad(k, "example.org", "'example.org' is not an IPv4 or IPv6 address");
	value_bad(k, "192.0.2.1:25", "'192.0.2.1:25' is not an IPv4 or IPv6 address");
	value_bad(k, "192.0.2.1, 192.0.2.1", "'192.0.2.1' is listed twice");
	value_bad(k, "::1, 0::1", "'0::1' is listed twice");
	value_bad(k, "192.0.2.1,,::1", "empty item in comma-separated list");
	value_bad(k, "192.0.2.1 ::1", "'192.0.2.1 ::1': separate items with commas");
}

/* Every error of a file, in line order, syntax and value errors mixed. */
static void
test_all_errors(void)
{
	load_fails("# start\n"
		   "smtp_error_limit = 10\n"
		   "bogus = 1\n"
		   "smtp_error_limit = 11\n"
		   "just text\n"
		   "message_size_limit = 1k\n"
		   "worker_threads = 2\n"
		   "= 5\n"
		   "imaps_listen = 127.0.0.1:99999\n"
		   "log_level = loud\n",
		   "t.conf:3: unknown key 'bogus'\n"
		   "t.conf:4: duplicate key 'smtp_error_limit' (first set on line 2)\n"
		   "t.conf:5: expected '=' after key\n"
		   "t.conf:6: message_size_limit: must be at least 64k\n"
		   "t.conf:8: missing key before '='\n"
		   "t.conf:9: imaps_listen: '99999' is not a port number (1-65535)\n"
		   "t.conf:10: log_level: 'loud' is not one of: debug, info, warning, error\n");
}

static void
test_error_cap(void)
{
	struct posthorn_conf conf;
	struct buf text;
	char *errors;
	unsigned int lines = 0;

	buf_init(&text, 0);
	for (int i = 0; i < 500; i++)
		buf_append_str(&text, "bad\n");
	T_INTEQ(load(buf_cstr(&text), &conf, &errors), -1);
	for (const char *p = errors; *p != '\0'; p++)
		lines += *p == '\n';
	T_INTEQ(lines, 101);
	T_ASSERT(strstr(errors, "t.conf:100: missing '='") != NULL);
	T_ASSERT(strstr(errors, "t.conf:101:") == NULL);
	T_ASSERT(strstr(errors, "too many errors, not showing more\n") != NULL);
	mem_free(&errors);
	buf_deinit(&text);
}

static char *
make_dir(const char *name)
{
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/%s", test_tmpdir(), name);
	T_INTEQ(mkdir(buf_cstr(&path), 0700), 0);
	return buf_steal_str(&path);
}

static void
test_dropins(void)
{
	char *dir = make_dir("dropins"), *confd, *errors;
	struct posthorn_conf conf;
	struct buf path;

	buf_init(&path, 0);
	buf_printf(&path, "%s/conf.d", dir);
	confd = buf_steal_str(&path);
	T_INTEQ(mkdir(confd, 0700), 0);
	write_file(dir, "posthorn.conf",
		   "smtp_error_limit = 30\npop3_error_limit = 30\nworker_threads = 8\n");
	write_file(confd, "20-b.conf", "smtp_error_limit = 32\npop3_error_limit = 32\n");
	write_file(confd, "10-a.conf", "smtp_error_limit = 31\nworker_threads = 9\n");
	write_file(confd, "B-upper.conf", "pop3_error_limit = 33\n");
	write_file(confd, "a-lower.conf", "pop3_error_limit = 34\n");
	write_file(confd, ".hidden.conf", "smtp_error_limit = 99\n");
	write_file(confd, "30-c.conf.bak", "smtp_error_limit = 98\n");
	write_file(confd, "README", "not a config file\n");
	write_file(confd, ".conf", "smtp_error_limit = 97\n");
	buf_printf(&path, "%s/posthorn.conf", dir);
	T_INTEQ(conf_load(buf_cstr(&path), &conf, &errors), 1);
	T_ASSERT(errors == NULL);
	T_INTEQ(conf.smtp_error_limit, 32); /* 20-b.conf, the last to set it */
	T_INTEQ(conf.worker_threads, 9);
	T_INTEQ(conf.pop3_error_limit, 34); /* bytewise: "B-upper" < "a-lower" */
	T_STREQ(conf.config_dir, dir);
	conf_deinit(&conf);
	mem_free(&confd);
	mem_free(&dir);
	buf_deinit(&path);
}

/* Errors from several files, each with its own name and line. */
static void
test_dropin_errors(void)
{
	char *dir = make_dir("errs"), *confd, *errors;
	struct posthorn_conf conf;
	struct buf path, expected;

	buf_init(&path, 0);
	buf_init(&expected, 0);
	buf_printf(&path, "%s/conf.d", dir);
	confd = buf_steal_str(&path);
	T_INTEQ(mkdir(confd, 0700), 0);
	write_file(dir, "main.conf", "\nworker_threads = 100\n");
	write_file(confd, "1.conf", "worker_threads = 2\nworker_threads = 3\n");
	write_file(confd, "2.conf", "# ok\nsmtp_listen = 127.0.0.1:2110\n");
	buf_printf(&path, "%s/main.conf", dir);
	T_INTEQ(conf_load(buf_cstr(&path), &conf, &errors), -1);
	buf_printf(&expected,
		   "%1$s/main.conf:2: worker_threads: must be at most 64\n"
		   "%1$s/conf.d/1.conf:2: duplicate key 'worker_threads' (first set on line 1)\n"
		   "%1$s/conf.d/2.conf:2: smtp_listen: 127.0.0.1:2110 is also used by "
		   "pop3_listen\n",
		   dir);
	T_STREQ(errors, buf_cstr(&expected));
	mem_free(&errors);
	mem_free(&confd);
	mem_free(&dir);
	buf_deinit(&path);
	buf_deinit(&expected);
}

static void
test_missing_files(void)
{
	char *dir = make_dir("missing"), *errors, *confd;
	struct posthorn_conf conf;
	struct buf path, expected;

	buf_init(&path, 0);
	buf_init(&expected, 0);
	buf_printf(&path, "%s/none.conf", dir);
	T_INTEQ(conf_load(buf_cstr(&path), &conf, &errors), -1);
	buf_printf(&expected, "%s: cannot open: No such file or directory\n", buf_cstr(&path));
	T_STREQ(errors, buf_cstr(&expected));
	mem_free(&errors);
	/* a directory given as the file, and a conf.d entry that is one */
	buf_reset(&path);
	buf_printf(&path, "%s/conf.d", dir);
	confd = buf_steal_str(&path);
	T_INTEQ(mkdir(confd, 0700), 0);
	buf_printf(&path, "%s/sub.conf", confd);
	T_INTEQ(mkdir(buf_cstr(&path), 0700), 0);
	write_file(dir, "posthorn.conf", "");
	T_INTEQ(conf_load(confd, &conf, &errors), -1);
	buf_reset(&expected);
	buf_printf(&expected, "%1$s: not a regular file\n%1$s/sub.conf: not a regular file\n",
		   confd);
	T_STREQ(errors, buf_cstr(&expected));
	mem_free(&errors);
	mem_free(&confd);
	mem_free(&dir);
	buf_deinit(&path);
	buf_deinit(&expected);
}

static void
test_print_non_default(void)
{
	struct posthorn_conf conf;
	struct buf out;

	buf_init(&out, 0);
	conf_init_defaults(&conf);
	T_INTEQ(conf_print(&conf, true, &out), 0);
	T_STREQ(buf_cstr(&out), "");
	conf_deinit(&conf);
	/* schema order, not file order; values equal to the default in another
	 * spelling are not "changed" */
	if (load_ok("worker_threads = 2\n"
		    "smtp_error_limit = 20\n"
		    "message_size_limit = 52428800\n"
		    "smtp_command_timeout = 300\n"
		    "smtp_listen = [::1]:25\n"
		    "recipient_delimiter =\n"
		    "plaintext_auth_loopback = off\n",
		    &conf)) {
		buf_reset(&out);
		T_INTEQ(conf_print(&conf, true, &out), 0);
		T_STREQ(buf_cstr(&out), "smtp_listen = [::1]:25\n"
					"recipient_delimiter =\n"
					"plaintext_auth_loopback = no\n"
					"worker_threads = 2\n");
	}
	conf_deinit(&conf);
	buf_deinit(&out);
}

static void
test_print_all(void)
{
	struct posthorn_conf conf;
	struct buf out;

	buf_init(&out, 0);
	conf_init_defaults(&conf);
	T_INTEQ(conf_print(&conf, false, &out), 0);
	T_ASSERT(starts_with(buf_cstr(&out),
			     "hostname =\ndata_dir =\nsmtp_listen = 127.0.0.1:2525\n"));
	T_ASSERT(strstr(buf_cstr(&out), "\nmessage_size_limit = 50M\n") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "\nsmtp_data_timeout = 10m\n") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "\nlog_level = info\nrun_user = posthorn\n") != NULL);
	/* a buffer with a too small maximum */
	struct buf small;

	buf_init(&small, 100);
	T_INTEQ(conf_print(&conf, false, &small), -1);
	buf_deinit(&small);
	conf_deinit(&conf);
	buf_deinit(&out);
}

/* What conf_print writes loads back to the same settings. */
static void
test_round_trip(void)
{
	struct posthorn_conf conf, again;
	struct buf first, second;

	buf_init(&first, 0);
	buf_init(&second, 0);
	if (load_ok("hostname = mx.example.org\ndata_dir = /var/lib/x#y\n"
		    "smtp_listen = 0.0.0.0:25, [::]:25\nimap_listen =\n"
		    "local_address_literals = 192.0.2.7,2001:db8::7\n"
		    "recipient_delimiter = -\nmessage_size_limit = 70001\n"
		    "smtp_data_timeout = 3601\npop3_timeout = 2h\nlog_level = DEBUG\n"
		    "plaintext_auth_loopback = false\nrun_user = _mail\n",
		    &conf)) {
		T_INTEQ(conf_print(&conf, false, &first), 0);
		if (load_ok(buf_cstr(&first), &again)) {
			T_INTEQ(conf_print(&again, false, &second), 0);
			T_STREQ(buf_cstr(&second), buf_cstr(&first));
			T_INTEQ(again.smtp_data_timeout, 3601 * 1000);
			T_INTEQ(again.message_size_limit, 70001);
			T_INTEQ(again.log_level, CONF_LOG_DEBUG);
			T_STREQ(again.data_dir, "/var/lib/x#y");
		}
		conf_deinit(&again);
		buf_reset(&second);
		T_INTEQ(conf_print(&conf, true, &second), 0);
		T_ASSERT(strstr(buf_cstr(&second), "smtp_data_timeout = 3601s\n") != NULL);
	}
	conf_deinit(&conf);
	buf_deinit(&first);
	buf_deinit(&second);
}

static void
test_json(void)
{
	struct posthorn_conf conf;
	struct buf out;
	const char *s;

	buf_init(&out, 0);
	if (load_ok("data_dir = a\"b\\c\tz\nsmtp_listen = 127.0.0.1:25, [::1]:25\n", &conf)) {
		T_INTEQ(conf_print_json(&conf, &out), 0);
		s = buf_cstr(&out);
		T_ASSERT(starts_with(s, "{\n  \"hostname\": \"\",\n"));
		T_ASSERT(strstr(s, "\n  \"data_dir\": \"a\\\"b\\\\c\\u0009z\",\n") != NULL);
		T_ASSERT(strstr(s, "\"smtp_listen\": [\"127.0.0.1:25\",\"[::1]:25\"],") != NULL);
		T_ASSERT(strstr(s, "\"submissions_listen\": [\"127.0.0.1:2465\"],") != NULL);
		T_ASSERT(strstr(s, "\"message_size_limit\": 52428800,") != NULL);
		T_ASSERT(strstr(s, "\"smtp_command_timeout\": 300,") != NULL);
		T_ASSERT(strstr(s, "\"plaintext_auth_loopback\": true,") != NULL);
		T_ASSERT(strstr(s, "\"log_level\": \"info\",") != NULL);
		T_ASSERT(strstr(s, "\n  \"run_user\": \"posthorn\"\n}\n") != NULL);
	}
	conf_deinit(&conf);
	buf_deinit(&out);
}

static void
test_write_default(void)
{
	struct posthorn_conf conf;
	struct buf out, shown;
	const char *error = NULL;

	buf_init(&out, 0);
	buf_init(&shown, 0);
	T_INTEQ(conf_write_default(&out, "mx.example.org", "/var/lib/posthorn", &error), 0);
	for (unsigned int i = 0; i < conf_key_count; i++) {
		struct buf line;

		buf_init(&line, 0);
		buf_printf(&line, "\n%s%s =", (conf_keys[i].flags & CONF_KEY_INIT_SET) ? "" : "#",
			   conf_keys[i].name);
		T_ASSERT(strstr(buf_cstr(&out), buf_cstr(&line)) != NULL);
		buf_deinit(&line);
	}
	T_ASSERT(strstr(buf_cstr(&out), "\nsmtp_listen = 127.0.0.1:2525\n") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "\nimaps_listen = 127.0.0.1:2993\n") != NULL);
	T_ASSERT(strstr(buf_cstr(&out), "\n#message_size_limit = 50M\n") != NULL);
	/* it loads, and differs from the defaults only where asked */
	if (load_ok(buf_cstr(&out), &conf)) {
		T_INTEQ(conf_print(&conf, true, &shown), 0);
		T_STREQ(buf_cstr(&shown),
			"hostname = mx.example.org\ndata_dir = /var/lib/posthorn\n");
	}
	conf_deinit(&conf);
	buf_reset(&out);
	T_INTEQ(conf_write_default(&out, NULL, NULL, &error), 0);
	T_ASSERT(strstr(buf_cstr(&out), "\nhostname =\n") != NULL);
	T_INTEQ(conf_write_default(&out, "bad host", NULL, &error), -1);
	T_STREQ(error, "invalid host name");
	T_INTEQ(conf_write_default(&out, NULL, "/x\nsmtp_listen = 0.0.0.0:25", &error), -1);
	T_STREQ(error, "invalid data directory");
	T_INTEQ(conf_write_default(&out, NULL, " /x", &error), -1);
	buf_deinit(&out);
	buf_deinit(&shown);
}

static void
test_resolve_data_dir(void)
{
	struct posthorn_conf conf;
	char *dir;

	conf_init_defaults(&conf);
	mem_free(&conf.config_dir);
	conf.config_dir = mem_strdup("/etc/posthorn");
	dir = conf_resolve_data_dir(&conf);
	T_STREQ(dir, "/etc/posthorn");
	mem_free(&dir);
	mem_free(&conf.data_dir);
	conf.data_dir = mem_strdup("data");
	dir = conf_resolve_data_dir(&conf);
	T_STREQ(dir, "/etc/posthorn/data");
	mem_free(&dir);
	mem_free(&conf.data_dir);
	conf.data_dir = mem_strdup("/srv/mail");
	dir = conf_resolve_data_dir(&conf);
	T_STREQ(dir, "/srv/mail");
	mem_free(&dir);
	conf_deinit(&conf);
}

static void
test_tls_sni_certs(void)
{
	struct conf_sni_entry *list;
	size_t n;
	const char *error;

	value_ok("tls_sni_certs", "", "");
	value_ok("tls_sni_certs", "mail.example.org=/c/a.pem:/k/a.pem",
		 "mail.example.org=/c/a.pem:/k/a.pem");
	value_bad("tls_sni_certs", "mail.example.org=/c/a.pem",
		  "'mail.example.org=/c/a.pem': each item must be HOST=CERTFILE:KEYFILE");
	value_bad("tls_sni_certs", "bad host=/c:/k",
		  "'bad host=/c:/k': bad host name before '=' (a host name or *.domain)");
	value_bad("tls_sni_certs", "a.example=:/k",
		  "'a.example=:/k': empty certificate or key file name");
	value_bad("tls_sni_certs", "a.example=/c:/k,", "'a.example=/c:/k,': empty item after ','");
	T_INTEQ(conf_sni_parse(" a.example = c.pem:k.pem , *.b.example=/x/c:/x/k ", &list, &n,
			       &error), -1); /* spaces around '=' belong to the host: refused */
	T_INTEQ(conf_sni_parse(" a.example=c.pem:k.pem , *.b.example=/x/c:/x/k ", &list, &n,
			       &error), 1);
	T_INTEQ(n, 2);
	if (n == 2) {
		T_STREQ(list[0].hostname, "a.example");
		T_STREQ(list[0].cert_file, "c.pem");
		T_STREQ(list[0].key_file, "k.pem");
		T_STREQ(list[1].hostname, "*.b.example");
		T_STREQ(list[1].cert_file, "/x/c");
		T_STREQ(list[1].key_file, "/x/k");
	}
	conf_sni_free(&list, n);
	T_ASSERT(list == NULL);
	T_INTEQ(conf_sni_parse("", &list, &n, &error), 1);
	T_INTEQ(n, 0);
}

static const struct test tests[] = {
	TEST_ENTRY(test_tls_sni_certs),
	TEST_ENTRY(test_defaults),
	TEST_ENTRY(test_schema),
	TEST_ENTRY(test_file_syntax),
	TEST_ENTRY(test_sizes),
	TEST_ENTRY(test_durations),
	TEST_ENTRY(test_uints),
	TEST_ENTRY(test_bools_enums),
	TEST_ENTRY(test_strings),
	TEST_ENTRY(test_transport_map),
	TEST_ENTRY(test_relayhost),
	TEST_ENTRY(test_listen),
	TEST_ENTRY(test_listen_limits),
	TEST_ENTRY(test_tls_listen),
	TEST_ENTRY(test_listen_conflicts),
	TEST_ENTRY(test_iplist),
	TEST_ENTRY(test_all_errors),
	TEST_ENTRY(test_error_cap),
	TEST_ENTRY(test_dropins),
	TEST_ENTRY(test_dropin_errors),
	TEST_ENTRY(test_missing_files),
	TEST_ENTRY(test_print_non_default),
	TEST_ENTRY(test_print_all),
	TEST_ENTRY(test_round_trip),
	TEST_ENTRY(test_json),
	TEST_ENTRY(test_write_default),
	TEST_ENTRY(test_resolve_data_dir),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("conf", tests);
}
