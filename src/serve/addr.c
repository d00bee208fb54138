/*
 * addr.c - naming the address a herd serve listener really has (the port
 * the kernel chose for port 0, the socket systemd passed). Parsing --listen
 * and writing an address are lib/addr.c's (addr_parse_numeric, addr_format).
 */
#include "serve/serve.h"

#include <errno.h>
#include <sys/socket.h>

#include "lib/addr.h"

int serve_local_name(int fd, char *buf, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;

	if (fd < 0)
		return -EBADF;
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -errno;
	int n = addr_format(&ss, true, buf, len);
	return n < 0 ? n : 0;
}
