/*
 * test-conf-dns.c - the DNS keys: dns_resolver (resolver address list) and
 * dns_trust_anchor (DNSSEC trust anchor file), their defaults, what they
 * accept and the errors `posthorn config check` prints for bad values.
 */
#include "conf/conf.h"
#include "core/buf.h"
#include "core/mem.h"
#include "core/test.h"

#include <string.h>

/* "key = value" loads and holds value. */
static void
good(const char *key, const char *value)
{
	struct posthorn_conf conf;
	struct buf text;
	char *errors = NULL;

	buf_init(&text, 0);
	buf_printf(&text, "%s = %s\n", key, value);
	T_INTEQ(conf_load_buffer("t.conf", buf_data(&text), buf_len(&text), &conf, &errors), 1);
	T_ASSERT(errors == NULL);
	if (errors == NULL) {
		T_STREQ(strcmp(key, "dns_resolver") == 0 ? conf.dns_resolver
							 : conf.dns_trust_anchor, value);
		conf_deinit(&conf);
	}
	mem_free(&errors);
	buf_deinit(&text);
}

/* "key = value" fails with one line "t.conf:1: key: 'VALUE': message" (the
 * quoted value may be cut short). */
static void
bad(const char *key, const char *value, const char *message)
{
	struct posthorn_conf conf;
	struct buf text, prefix, suffix;
	char *errors = NULL;
	size_t elen, slen;

	buf_init(&text, 0);
	buf_init(&prefix, 0);
	buf_init(&suffix, 0);
	buf_printf(&text, "%s = %s\n", key, value);
	buf_printf(&prefix, "t.conf:1: %s: '", key);
	buf_printf(&suffix, "': %s\n", message);
	T_INTEQ(conf_load_buffer("t.conf", buf_data(&text), buf_len(&text), &conf, &errors), -1);
	T_ASSERT(errors != NULL);
	if (errors != NULL) {
		elen = strlen(errors);
		slen = buf_len(&suffix);
		T_ASSERT(strncmp(errors, buf_cstr(&prefix), buf_len(&prefix)) == 0);
		T_ASSERT(elen >= slen && strcmp(errors + elen - slen, buf_cstr(&suffix)) == 0);
		T_ASSERT(strchr(errors, '\n') == errors + elen - 1);
	}
	mem_free(&errors);
	buf_deinit(&text);
	buf_deinit(&prefix);
	buf_deinit(&suffix);
}

static void
test_defaults(void)
{
	struct posthorn_conf conf;

	conf_init_defaults(&conf);
	T_STREQ(conf.dns_resolver, "");
	T_STREQ(conf.dns_trust_anchor, "");
	T_STREQ(conf_key_default(conf_lookup_key("dns_resolver")), "");
	T_ASSERT(strstr(conf_key_description(conf_lookup_key("dns_trust_anchor")), "root.key") !=
		 NULL);
	conf_deinit(&conf);
}

static void
test_resolver(void)
{
	static const char ip_msg[] = "not an IP address (IP or IP@port, comma-separated)";
	static const char port_msg[] = "bad port after '@' (1-65535)";

	good("dns_resolver", "192.0.2.53");
	good("dns_resolver", "127.0.0.1@5353");
	good("dns_resolver", "::1");
	good("dns_resolver", "2001:db8::53@53, 192.0.2.53");
	good("dns_resolver", "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8");
	bad("dns_resolver", "resolver.example", ip_msg);
	bad("dns_resolver", "192.0.2.300", ip_msg);
	bad("dns_resolver", "192.0.2.53:53", ip_msg);
	bad("dns_resolver", "[::1]@53", ip_msg);
	bad("dns_resolver", "@53", ip_msg);
	bad("dns_resolver", "192.0.2.53@", port_msg);
	bad("dns_resolver", "192.0.2.53@0", port_msg);
	bad("dns_resolver", "192.0.2.53@65536", port_msg);
	bad("dns_resolver", "192.0.2.53@5x", port_msg);
	bad("dns_resolver", "192.0.2.53@123456", port_msg);
	bad("dns_resolver", "192.0.2.53,", "empty item in the resolver list");
	bad("dns_resolver", "192.0.2.53, ,192.0.2.54", "empty item in the resolver list");
	bad("dns_resolver",
	    "1.1.1.1,2.2.2.2,3.3.3.3,4.4.4.4,5.5.5.5,6.6.6.6,7.7.7.7,8.8.8.8,9.9.9.9",
	    "more than the allowed number of addresses");
}

static void
test_trust_anchor(void)
{
	good("dns_trust_anchor", "none");
	good("dns_trust_anchor", "/var/lib/unbound/root.key");
	bad("dns_trust_anchor", "root.key", "must be empty, \"none\" or an absolute file name");
	bad("dns_trust_anchor", "None", "must be empty, \"none\" or an absolute file name");
}

int
main(void)
{
	static const struct test tests[] = {
		TEST_ENTRY(test_defaults),
		TEST_ENTRY(test_resolver),
		TEST_ENTRY(test_trust_anchor),
		{ NULL, NULL },
	};

	return test_main("conf-dns", tests);
}
