/*
 * addr.c - naming the address a herd serve listener really has (the port
 * the kernel chose for port 0, the socket systemd passed). Parsing --listen
 * is lib/addr.c's addr_parse_numeric.
 */
#include "serve/serve.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

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
