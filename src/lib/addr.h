/*
 * addr.h - "host:port" strings: serve's --listen and bench's URLs and -r.
 *
 * Forms: "host", "host:port", "[v6]" and "[v6]:port". An IPv6 address
 * needs its brackets (a bare "::1:80" is ambiguous and refused). The same
 * forms are written back from socket addresses (addr_format).
 */
#ifndef HERD_ADDR_H
#define HERD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr_hostport {
	const char *host; /* points into the parsed string; not NUL-terminated */
	size_t host_len;  /* > 0 */
	bool bracketed;	  /* written as "[v6]" */
	bool has_port;
	uint16_t port; /* 0..65535 when has_port */
};

/* Splits s[0..len) into host and optional port. Returns 0, or -EINVAL for
 * an empty host, a missing ']', a bare IPv6 address, an empty port or a
 * port that is not a number from 0 to 65535. */
int addr_split(const char *s, size_t len, struct addr_hostport *out);

/* Parses a numeric "ipv4:port" or "[ipv6]:port" (port required, 0 allowed:
 * any free port) into a socket address. Returns 0 or -EINVAL. */
int addr_parse_numeric(const char *s, struct sockaddr_storage *ss, socklen_t *len);

/* Room for the longest text addr_format writes: the longest IPv6 address
 * and its NUL (INET6_ADDRSTRLEN), two brackets and ":65535". */
#define ADDR_FORMAT_MAX (INET6_ADDRSTRLEN + 8)

/* Writes an IPv4 or IPv6 socket address as text: "127.0.0.1:8080" and
 * "[::1]:8080", or, without the port, "127.0.0.1" and "::1". Returns the
 * length written, -EAFNOSUPPORT for another family, or -ENOSPC when it does
 * not fit buf's len bytes (buf then holds "" if len > 0). */
int addr_format(const struct sockaddr_storage *ss, bool with_port, char *buf, size_t len);

#endif
