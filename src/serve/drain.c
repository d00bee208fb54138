/*
 * drain.c - emptying a listener for a graceful stop without resetting a
 * connection whose handshake completed.
 *
 * What Linux does (net/ipv4/inet_connection_sock.c, tcp_ipv4.c; checked on
 * 6.18 with small test programs, except the ACK after the close, which is
 * read from tcp_v4_rcv()):
 *
 * - The last close() of a listener runs inet_csk_listen_stop(), which
 *   disconnects every connection still in the accept queue: each gets a
 *   RST (its client reads "connection reset by peer"), unless a reuseport
 *   group takes it over (net.ipv4.tcp_migrate_req, or a
 *   SK_REUSEPORT_SELECT_OR_MIGRATE program as steer's). shutdown() on a
 *   listener is no gentler: SHUT_RD (or SHUT_RDWR) goes through
 *   tcp_disconnect() to the same inet_csk_listen_stop(), resets the queue
 *   and stops listening (accept() then fails with EINVAL). Neither can be
 *   the first step of a stop.
 * - A handshake under way (a request socket in SYN_RECV, answered with a
 *   SYN-ACK, waiting for the client's ACK) lives in the established hash,
 *   not in the accept queue. The client considers itself connected as soon
 *   as it has sent that ACK; if the listener is gone when the ACK arrives,
 *   the request is dropped and the ACK finds no socket: the client gets a
 *   RST too.
 * - While the listener is open, the kernel keeps completing handshakes into
 *   its queue, so "accept until empty, then close" races with the next SYN.
 *
 * So the order is: first stop new handshakes, then wait until the ones
 * under way have completed and every queued connection was accepted, then
 * close. New handshakes are stopped with a classic BPF socket filter
 * (SO_ATTACH_FILTER) on the listener: tcp_v4_rcv()/tcp_v6_rcv() run the
 * listener's filter (tcp_filter) on every segment addressed to it, with
 * skb->data at the TCP header: on a SYN before a request socket is made,
 * and on a handshake's final ACK (through the request socket's listener)
 * before the child is made. Dropping pure SYNs (SYN set, ACK clear; TCP
 * Fast Open SYNs included) starts no handshake; everything else passes, so
 * the handshakes under way complete. The client of a dropped SYN retries
 * after its retransmission timeout (1 s at first) and by then finds the
 * listener closed: refused, before any handshake, which a stopping server
 * may do. Accepted connections inherit the filter (sk_clone copies
 * sk_filter); a connection never receives a pure SYN, so it changes
 * nothing for them.
 *
 * Telling when the handshakes under way are done: nothing on the listener
 * says how many there are (TCP_INFO on a listener reports only its accept
 * queue, in tcpi_unacked). sock_diag does: a dump of the SYN_RECV state
 * lists request sockets (and children not yet queued, in SYN_RECV too) with
 * their local port. Given the port, the kernel returns only that port's
 * sockets, but it still walks the host's whole established hash: about
 * 10 ms for each dump on the machine this was written on (262144 buckets,
 * 15000 to 40000 sockets, most in TIME_WAIT), so callers ask only once the
 * accept queues look empty.
 *
 * What is left: a handshake answered with a SYN cookie (only when the
 * accept queue overflowed) leaves no request socket, so its ACK can still
 * arrive after the close and be reset.
 */
#include "serve/drain.h"

#include <errno.h>
#include <linux/filter.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum {
	TCP_FLAGS_OFF = 13, /* byte of the TCP header with SYN (0x02) and ACK (0x10) */
	FLAG_SYN = 0x02,
	FLAG_ACK = 0x10,
	/* The states a dump asks for: TCP_SYN_RECV (3) and the kernel's
	 * TCP_NEW_SYN_RECV (12), the state of a request socket, which
	 * inet_diag reports as SYN_RECV. */
	DIAG_STATES = (1u << 3) | (1u << 12),
};

int drain_block_syns(int fd)
{
	/* A = TCP flags & (SYN|ACK); A == SYN ? drop : keep all. */
	struct sock_filter code[] = {
		{BPF_LD | BPF_B | BPF_ABS, 0, 0, TCP_FLAGS_OFF},
		{BPF_ALU | BPF_AND | BPF_K, 0, 0, FLAG_SYN | FLAG_ACK},
		{BPF_JMP | BPF_JEQ | BPF_K, 0, 1, FLAG_SYN},
		{BPF_RET | BPF_K, 0, 0, 0},
		{BPF_RET | BPF_K, 0, 0, 0xffffffffu},
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) < 0)
		return -errno;
	return 0;
}

int drain_unblock_syns(int fd)
{
	int unused = 0; /* the kernel wants an int's worth of optval even here */
	if (setsockopt(fd, SOL_SOCKET, SO_DETACH_FILTER, &unused, sizeof unused) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

int drain_queued(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof ti;
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
		return -errno;
	return (int)ti.tcpi_unacked; /* a listener's accept queue */
}

/* Whether a dumped socket is on the listener's address (any, for a
 * listener on the wildcard address) and port. */
static bool same_local(const struct inet_diag_msg *m, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
		return m->id.idiag_sport == a->sin_port &&
		       (a->sin_addr.s_addr == htonl(INADDR_ANY) || m->id.idiag_src[0] == a->sin_addr.s_addr);
	}
	const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
	return m->id.idiag_sport == a->sin6_port &&
	       (IN6_IS_ADDR_UNSPECIFIED(&a->sin6_addr) || memcmp(m->id.idiag_src, &a->sin6_addr, 16) == 0);
}

/* Reads the dump's replies and counts the matching sockets. */
static int count_replies(int nl, const struct sockaddr_storage *ss)
{
	union {
		char b[32768];
		struct nlmsghdr align;
	} buf;
	int n = 0;
	for (;;) {
		ssize_t len = recv(nl, buf.b, sizeof buf.b, 0);
		if (len < 0 && errno == EINTR)
			continue;
		if (len <= 0)
			return len < 0 ? -errno : -EPROTO;
		size_t left = (size_t)len;
		for (struct nlmsghdr *h = (struct nlmsghdr *)buf.b; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
			if (h->nlmsg_type == NLMSG_DONE)
				return n;
			if (h->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(h);
				return h->nlmsg_len >= NLMSG_LENGTH(sizeof *e) && e->error < 0 ? e->error : -EPROTO;
			}
			if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)) && same_local(NLMSG_DATA(h), ss))
				n++;
		}
	}
}

int drain_handshakes(int fd)
{
	struct sockaddr_storage ss;
	socklen_t sslen = sizeof ss;
	if (getsockname(fd, (struct sockaddr *)&ss, &sslen) < 0)
		return -errno;
	if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6)
		return -EAFNOSUPPORT;
	struct {
		struct nlmsghdr h;
		struct inet_diag_req_v2 r;
	} req = {
		.h = {.nlmsg_len = sizeof req,
		      .nlmsg_type = SOCK_DIAG_BY_FAMILY,
		      .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
		.r = {.sdiag_family = (uint8_t)ss.ss_family,
		      .sdiag_protocol = IPPROTO_TCP,
		      .idiag_states = DIAG_STATES},
	};
	/* The kernel skips other local ports (the replies are checked again,
	 * for the address). */
	req.r.id.idiag_sport = ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
						       : ((struct sockaddr_in6 *)&ss)->sin6_port;
	int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	if (nl < 0)
		return -errno;
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	int n;
	if (sendto(nl, &req, sizeof req, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0)
		n = -errno;
	else
		n = count_replies(nl, &ss);
	close(nl);
	return n;
}
