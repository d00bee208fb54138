/*
 * addr.h - "host:port" strings: serve's --listen and bench's URLs and -r.
 *
 * Forms: "host", "host:port", "[v6]" and "[v6]:port". An IPv6 address
 * needs its brackets (a bare "::1:80" is ambiguous and refused).
 */
#ifndef HERD_ADDR_H
#define HERD_ADDR_H

#include <stdbool.h>
#include <stddef.h>
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

#endif
