/*
 * net.c - see net.h.
 */
#include "core/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int
net_addr_parse(const char *text, struct net_addr *addr_r, const char **error_r)
{
	char host[64];
	const char *port_str;
	size_t hlen;
	char *end;
	unsigned long port;

	memset(addr_r, 0, sizeof(*addr_r));
	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (close == NULL || close[1] != ':') {
			*error_r = "bad IPv6 address syntax (want [addr]:port)";
			return -1;
		}
		hlen = (size_t)(close - text - 1);
		if (hlen >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, text + 1, hlen);
		port_str = close + 2;
	} else {
		const char *colon = strrchr(text, ':');

		if (colon == NULL) {
			*error_r = "missing :port";
			return -1;
		}
		hlen = (size_t)(colon - text);
		if (hlen >= sizeof(host)) {
			*error_r = "address too long";
			return -1;
		}
		memcpy(host, text, hlen);
		port_str = colon + 1;
	}
	host[hlen] = '\0';
	errno = 0;
	port = strtoul(port_str, &end, 10);
	if (*port_str == '\0' || *end != '\0' || errno != 0 || port == 0 || port > 65535) {
		*error_r = "bad port";
		return -1;
	}
	if (text[0] != '[') {
		struct sockaddr_in *sin = (struct sockaddr_in *)&addr_r->ss;

		if (inet_pton(AF_INET, host, &sin->sin_addr) != 1) {
			*error_r = "bad IPv4 address";
			return -1;
		}
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)port);
		addr_r->len = sizeof(*sin);
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&addr_r->ss;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1) {
			*error_r = "bad IPv6 address";
			return -1;
		}
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)port);
		addr_r->len = sizeof(*sin6);
	}
	return 1;
}

char *
net_addr_ip(const struct net_addr *addr, char *dst, size_t dstsize)
{
	const void *src;

	if (addr->ss.ss_family == AF_INET)
		src = &((const struct sockaddr_in *)&addr->ss)->sin_addr;
	else if (addr->ss.ss_family == AF_INET6)
		src = &((const struct sockaddr_in6 *)&addr->ss)->sin6_addr;
	else {
		snprintf(dst, dstsize, "unknown");
		return dst;
	}
	if (inet_ntop(addr->ss.ss_family, src, dst, (socklen_t)dstsize) == NULL)
		snprintf(dst, dstsize, "unknown");
	/* an IPv4-mapped IPv6 peer is shown as plain IPv4 */
	if (strncmp(dst, "::ffff:", 7) == 0 && strchr(dst + 7, '.') != NULL)
		memmove(dst, dst + 7, strlen(dst + 7) + 1);
	return dst;
}

unsigned
net_addr_port(const struct net_addr *addr)
{
	if (addr->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&addr->ss)->sin_port);
	if (addr->ss.ss_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)&addr->ss)->sin6_port);
	return 0;
}

bool
net_addr_is_loopback(const struct net_addr *addr)
{
	if (addr->ss.ss_family == AF_INET) {
		const struct sockaddr_in *sin = (const struct sockaddr_in *)&addr->ss;

		return (ntohl(sin->sin_addr.s_addr) >> 24) == 127;
	}
	if (addr->ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&addr->ss;

		if (IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr))
			return true;
		if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr))
			return sin6->sin6_addr.s6_addr[12] == 127;
	}
	return false;
}

bool
net_ip_is_loopback(const char *ip)
{
	struct net_addr a;

	memset(&a, 0, sizeof(a));
	if (inet_pton(AF_INET, ip, &((struct sockaddr_in *)&a.ss)->sin_addr) == 1) {
		a.ss.ss_family = AF_INET;
		a.len = sizeof(struct sockaddr_in);
	} else if (inet_pton(AF_INET6, ip, &((struct sockaddr_in6 *)&a.ss)->sin6_addr) == 1) {
		a.ss.ss_family = AF_INET6;
		a.len = sizeof(struct sockaddr_in6);
	} else {
		return false;
	}
	return net_addr_is_loopback(&a);
}

int
net_set_nonblock(int fd)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

int
net_listen(const struct net_addr *addr, int backlog, const char **error_r)
{
	int fd = socket(addr->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;

	if (fd < 0) {
		*error_r = strerror(errno);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr->ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&addr->ss, addr->len) < 0 ||
	    listen(fd, backlog) < 0) {
		*error_r = strerror(errno);
		close(fd);
		return -1;
	}
	return fd;
}

int
net_accept(int listen_fd, struct net_addr *peer_r)
{
	int fd;

	peer_r->len = sizeof(peer_r->ss);
	fd = accept4(listen_fd, (struct sockaddr *)&peer_r->ss, &peer_r->len,
		     SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd >= 0)
		net_set_nodelay(fd);
	return fd;
}

void
net_set_nodelay(int fd)
{
	int one = 1;

	/* best effort: a failure only costs latency */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

int
net_local_addr(int fd, struct net_addr *addr_r)
{
	addr_r->len = sizeof(addr_r->ss);
	return getsockname(fd, (struct sockaddr *)&addr_r->ss, &addr_r->len);
}

/* One "IP" or "IP@port" of text[0..len). 1 ok, -1 bad. */
static int
ip_port_check(const char *text, size_t len, const char **error_r)
{
	char ip[INET6_ADDRSTRLEN + 1];
	unsigned char bin[sizeof(struct in6_addr)];
	const char *at = memchr(text, '@', len);
	size_t iplen = at != NULL ? (size_t)(at - text) : len;
	unsigned long port = 0;

	*error_r = "not an IP address (IP or IP@port, comma-separated)";
	if (iplen == 0 || iplen >= sizeof(ip))
		return -1;
	memcpy(ip, text, iplen);
	ip[iplen] = '\0';
	if (inet_pton(AF_INET, ip, bin) != 1 && inet_pton(AF_INET6, ip, bin) != 1)
		return -1;
	if (at == NULL)
		return 1;
	*error_r = "bad port after '@' (1-65535)";
	if (len - iplen - 1 == 0 || len - iplen - 1 > 5)
		return -1;
	for (size_t i = iplen + 1; i < len; i++) {
		if (text[i] < '0' || text[i] > '9')
			return -1;
		port = port * 10 + (unsigned long)(text[i] - '0');
	}
	return port == 0 || port > 65535 ? -1 : 1;
}

int
net_ip_port_list_foreach(const char *text, unsigned max,
			 int (*fn)(void *ctx, const char *item, size_t len, const char **error_r),
			 void *ctx, const char **error_r)
{
	unsigned count = 0;
	const char *p = text + strspn(text, " \t");

	if (*p == '\0')
		return 0;
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);

		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len == 0) {
			*error_r = "empty item in the resolver list";
			return -1;
		}
		if (++count > max) {
			*error_r = "more than the allowed number of addresses";
			return -1;
		}
		if (ip_port_check(p, len, error_r) < 0)
			return -1;
		if (fn != NULL && fn(ctx, p, len, error_r) < 0)
			return -1;
		if (end == NULL)
			return (int)count;
		p = end + 1 + strspn(end + 1, " \t");
	}
}
