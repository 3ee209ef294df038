/*
 * net.h - sockets: parse "addr:port" / "[v6]:port", listen, accept, address
 * formatting. All sockets are non-blocking and close-on-exec.
 */
#ifndef CORE_NET_H
#define CORE_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

struct net_addr {
	struct sockaddr_storage ss;
	socklen_t len;
};

/* Parse "1.2.3.4:25" or "[::1]:25". 1 ok, -1 bad syntax (error_r set). */
int net_addr_parse(const char *text, struct net_addr *addr_r, const char **error_r);
/* "1.2.3.4" / "::1" (no port) into dst; returns dst. */
char *net_addr_ip(const struct net_addr *addr, char *dst, size_t dstsize);
unsigned net_addr_port(const struct net_addr *addr);
bool net_addr_is_loopback(const struct net_addr *addr);
/* Is ip ("1.2.3.4" or "::1", no port, no brackets) a loopback address
 * (net_addr_is_loopback)? False when it is not an IP address. */
bool net_ip_is_loopback(const char *ip);

/* Bound, listening, non-blocking socket; -1 with error_r (strerror text). */
int net_listen(const struct net_addr *addr, int backlog, const char **error_r);
/* Accept one connection, non-blocking. fd, or -1 (errno: EAGAIN when none). */
int net_accept(int listen_fd, struct net_addr *peer_r);
/* TCP_NODELAY (net_accept sets it on every accepted socket). The protocols
 * answer in several writes (a reply line, then data from a worker, then a
 * terminator); with Nagle's algorithm the last small write waits for the
 * peer's delayed ACK, about 40 ms per command. Best effort. */
void net_set_nodelay(int fd);
/* Local address of a connected socket. 0 ok, -1 error. */
int net_local_addr(int fd, struct net_addr *addr_r);
int net_set_nonblock(int fd);

/* A list of "IP" or "IP@port" items (port 1-65535), comma-separated, spaces
 * around items allowed, at most max items; the resolver addresses of
 * dns_resolver in the config and in dns/. For each valid item fn (may be
 * NULL) gets its text (not NUL-terminated). Returns the number of items
 * (0 for an empty list), or -1 with *error_r (static text) when an item is
 * invalid or empty, there are more than max, or fn returned -1. */
#define NET_IP_PORT_LIST_MAX 8 /* resolver addresses: the config check and dns/ */
int net_ip_port_list_foreach(const char *text, unsigned max,
			     int (*fn)(void *ctx, const char *item, size_t len, const char **error_r),
			     void *ctx, const char **error_r);

#endif
