/*
 * diag.c - one sock_diag dump of the listening TCP sockets per address
 * family, filtered by local port (diag.h).
 */
#include <errno.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/diag.h"

#define TCP_STATE_LISTEN 10 /* include/net/tcp_states.h */

static bool port_in(uint16_t port, const uint16_t *ports, size_t n)
{
	if (n == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (ports[i] == port)
			return true;
	return false;
}

static int dump(int fd, int family, const uint16_t *ports, size_t nports, diag_listener_fn fn, void *arg)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 r;
	} req = {
		.nlh = {.nlmsg_len = sizeof(req),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = (uint8_t)family,
		      .sdiag_protocol = IPPROTO_TCP,
		      .idiag_states = 1u << TCP_STATE_LISTEN},
	};
	static char buf[32768] __attribute__((aligned(8)));

	if (send(fd, &req, sizeof(req), 0) < 0)
		return -errno;
	for (;;) {
		ssize_t len = recv(fd, buf, sizeof(buf), 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (len < 0)
			return -errno;
		if (len == 0)
			return -EIO;
		for (; NLMSG_OK(h, (size_t)len); h = NLMSG_NEXT(h, len)) {
			const struct inet_diag_msg *m = NLMSG_DATA(h);
			int err;

			if (h->nlmsg_type == NLMSG_DONE)
				return 0;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return e->error ? e->error : -EIO;
			}
			if (!port_in(ntohs(m->id.idiag_sport), ports, nports))
				continue;
			err = fn(m, arg);
			if (err)
				return err;
		}
	}
}

int diag_listeners(const uint16_t *ports, size_t nports, diag_listener_fn fn, void *arg)
{
	int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	int err;

	if (fd < 0)
		return -errno;
	err = dump(fd, AF_INET, ports, nports, fn, arg);
	if (!err)
		err = dump(fd, AF_INET6, ports, nports, fn, arg);
	close(fd);
	return err;
}
