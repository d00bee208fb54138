/* addr.c - splitting, parsing and writing "host:port" strings (see addr.h). */
#include "lib/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/num.h"

int addr_split(const char *s, size_t len, struct addr_hostport *out)
{
	const char *e = s + len, *port = NULL;

	memset(out, 0, sizeof *out);
	if (len > 0 && *s == '[') {
		const char *close = memchr(s, ']', len);
		if (!close)
			return -EINVAL;
		out->host = s + 1;
		out->host_len = (size_t)(close - out->host);
		out->bracketed = true;
		if (close + 1 < e) {
			if (close[1] != ':')
				return -EINVAL;
			port = close + 2;
		}
	} else {
		const char *colon = memchr(s, ':', len);
		if (colon && memchr(colon + 1, ':', (size_t)(e - colon - 1)))
			return -EINVAL; /* a bare IPv6 address needs brackets */
		out->host = s;
		out->host_len = colon ? (size_t)(colon - s) : len;
		port = colon ? colon + 1 : NULL;
	}
	if (out->host_len == 0)
		return -EINVAL;
	if (port) {
		uint64_t v;
		if (num_parse_u64(port, (size_t)(e - port), 65535, &v) < 0)
			return -EINVAL;
		out->has_port = true;
		out->port = (uint16_t)v;
	}
	return 0;
}

int addr_parse_numeric(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	struct addr_hostport hp;
	char host[INET6_ADDRSTRLEN];

	memset(ss, 0, sizeof *ss);
	if (addr_split(s, strlen(s), &hp) < 0 || !hp.has_port || hp.host_len >= sizeof host)
		return -EINVAL;
	memcpy(host, hp.host, hp.host_len);
	host[hp.host_len] = '\0';
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
	if (!hp.bracketed && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(hp.port);
		*len = sizeof *a4;
		return 0;
	}
	if (hp.bracketed && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(hp.port);
		*len = sizeof *a6;
		return 0;
	}
	return -EINVAL;
}

int addr_format(const struct sockaddr_storage *ss, bool with_port, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];
	unsigned port;
	int n;

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		port = ntohs(a->sin6_port);
		n = with_port ? snprintf(buf, len, "[%s]:%u", host, port) : snprintf(buf, len, "%s", host);
	} else if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		port = ntohs(a->sin_port);
		n = with_port ? snprintf(buf, len, "%s:%u", host, port) : snprintf(buf, len, "%s", host);
	} else {
		return -EAFNOSUPPORT;
	}
	if (n < 0 || (size_t)n >= len) {
		if (len > 0)
			buf[0] = '\0';
		return -ENOSPC;
	}
	return n;
}
