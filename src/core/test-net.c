/*
 * test-net.c - listening, accepting (with TCP_NODELAY set) and address
 * parsing and formatting on loopback.
 */
#include "core/net.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/test.h"

static int
count_item(void *ctx, const char *item, size_t len, const char **error_r)
{
	unsigned *n = ctx;

	(void)error_r;
	(*n)++;
	return len == 9 && memcmp(item, "127.0.0.1", 9) == 0 && *n == 2 ? -1 : 1;
}

static void
test_net_ip_port_list(void)
{
	const char *error = NULL;
	unsigned n = 0;

	T_INTEQ(net_ip_port_list_foreach("", 8, NULL, NULL, &error), 0);
	T_INTEQ(net_ip_port_list_foreach(" \t", 8, NULL, NULL, &error), 0);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1", 8, NULL, NULL, &error), 1);
	T_INTEQ(net_ip_port_list_foreach(" ::1@53 , 192.0.2.1@65535 ", 8, NULL, NULL, &error), 2);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1,,192.0.2.2", 8, NULL, NULL, &error), -1);
	T_STREQ(error, "empty item in the resolver list");
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1, 192.0.2.2", 1, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("resolver.example", 8, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1:53", 8, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1@", 8, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1@0", 8, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1@65536", 8, NULL, NULL, &error), -1);
	T_INTEQ(net_ip_port_list_foreach("192.0.2.1@5x", 8, NULL, NULL, &error), -1);
	T_STREQ(error, "bad port after '@' (1-65535)");
	/* fn sees each valid item; its failure ends the walk */
	T_INTEQ(net_ip_port_list_foreach("::1, 127.0.0.1, 192.0.2.1", 8, count_item, &n, &error),
		-1);
	T_INTEQ(n, 2);
}

static void
test_net_accept_nodelay(void)
{
	struct net_addr addr, bound, peer;
	const char *error = NULL;
	int lfd, cfd, afd = -1, flag = 0;
	socklen_t len = sizeof(flag);
	struct pollfd pfd;

	/* the parser wants a real port: try a few until one is free */
	lfd = -1;
	for (int i = 0; i < 100 && lfd < 0; i++) {
		char text[32];

		snprintf(text, sizeof(text), "127.0.0.1:%d", 20000 + (getpid() * 7 + i * 131) % 30000);
		T_INTEQ(net_addr_parse(text, &addr, &error), 1);
		lfd = net_listen(&addr, 16, &error);
	}
	if (!T_ASSERT(lfd >= 0))
		return;
	T_INTEQ(net_local_addr(lfd, &bound), 0);
	T_ASSERT(net_addr_port(&bound) > 0);
	cfd = socket(AF_INET, SOCK_STREAM, 0);
	T_INTEQ(connect(cfd, (struct sockaddr *)&bound.ss, bound.len), 0);
	pfd.fd = lfd;
	pfd.events = POLLIN;
	T_INTEQ(poll(&pfd, 1, 5000), 1);
	afd = net_accept(lfd, &peer);
	if (T_ASSERT(afd >= 0)) {
		/* every accepted socket answers without waiting for delayed ACKs */
		T_INTEQ(getsockopt(afd, IPPROTO_TCP, TCP_NODELAY, &flag, &len), 0);
		T_ASSERT(flag != 0);
		T_ASSERT(net_addr_is_loopback(&peer));
		close(afd);
	}
	/* and nothing more is waiting */
	T_INTEQ(net_accept(lfd, &peer), -1);
	close(cfd);
	close(lfd);
}

/* Loopback from IP text: 127.0.0.0/8, ::1, ::ffff:127.x; nothing else. */
static void
test_net_ip_is_loopback(void)
{
	T_ASSERT(net_ip_is_loopback("127.0.0.1"));
	T_ASSERT(net_ip_is_loopback("127.255.0.9"));
	T_ASSERT(net_ip_is_loopback("::1"));
	T_ASSERT(net_ip_is_loopback("::ffff:127.0.0.2"));
	T_ASSERT(!net_ip_is_loopback("128.0.0.1"));
	T_ASSERT(!net_ip_is_loopback("192.0.2.127"));
	T_ASSERT(!net_ip_is_loopback("::2"));
	T_ASSERT(!net_ip_is_loopback("2001:db8::1"));
	T_ASSERT(!net_ip_is_loopback("::ffff:192.0.2.1"));
	T_ASSERT(!net_ip_is_loopback("127.example"));
	T_ASSERT(!net_ip_is_loopback("[::1]"));
	T_ASSERT(!net_ip_is_loopback(""));
}

static const struct test tests[] = {
	TEST_ENTRY(test_net_ip_is_loopback),
	TEST_ENTRY(test_net_ip_port_list),
	TEST_ENTRY(test_net_accept_nodelay),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("net", tests);
}
