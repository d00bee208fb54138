/*
 * addr.c - herd serve's listen addresses: parsing --listen ADDR:PORT and
 * naming the address a listener really has (the port the kernel chose for
 * port 0, the socket systemd passed).
 */
#include "serve/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "lib/util.h"

int serve_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len)
{
	char host[64];
	const char *colon, *h = s;
	size_t hl;
	memset(addr, 0, sizeof *addr);
	if (*s == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hl = (size_t)(colon - s);
	}
	if (hl == 0 || hl >= sizeof host)
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	uint64_t port;
	if (util_parse_u64(colon + 1, 0, 65535, &port))
		return -EINVAL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)addr;
	if (*s != '[' && inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons((uint16_t)port);
		*len = sizeof *a4;
		return 0;
	}
	if (*s == '[' && inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons((uint16_t)port);
		*len = sizeof *a6;
		return 0;
	}
	return -EINVAL;
}

int serve_local_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";

	if (fd < 0)
		return -EBADF;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof host);
		snprintf(buf, len, "[%s]:%u", host, ntohs(a->sin6_port));
	} else if (ss.ss_family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof host);
		snprintf(buf, len, "%s:%u", host, ntohs(a->sin_port));
	} else {
		return -EAFNOSUPPORT;
	}
	return 0;
}
