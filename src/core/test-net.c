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

static const struct test tests[] = {
	TEST_ENTRY(test_net_accept_nodelay),
	{ NULL, NULL },
};

int
main(void)
{
	return test_main("net", tests);
}
