/*
 * group.h - finding a running server's SO_REUSEPORT group(s) and obtaining
 * their sockets: which listening sockets there are on the target's ports and
 * which group each belongs to (the kernel's answer, through the iterator in
 * bpf/balance.bpf.c), which processes hold each (/proc/PID/fd), which
 * process accepts from each (/proc/PID/fdinfo of their epoll instances), and
 * a copy of a socket taken from its holder with pidfd_getfd().
 *
 * Functions return 0 or a negative errno and never print.
 */
#ifndef HERD_BALANCE_GROUP_H
#define HERD_BALANCE_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../bpf/balance.h"

struct balance_listener {
	/* From the kernel (the iterator). */
	uint64_t ino, cookie;
	uint64_t group; /* opaque identity of its SO_REUSEPORT group; 0: not in one */
	uint16_t port, family;
	uint32_t backlog, max_backlog;
	bool has_prog;	    /* the group has a reuseport program attached */
	uint32_t prog_id;   /* 0 with has_prog: a classic BPF program */
	uint32_t prog_type; /* enum bpf_prog_type */
	char prog_name[16];
	/* From /proc (balance_holders). */
	pid_t holder;	   /* a process that holds it (0: none found) */
	int holder_fd;	   /* the holder's descriptor for it */
	unsigned nholders; /* processes holding it */
	pid_t worker;	   /* the one process that accepts from it; 0: unknown */
	bool in_tree;	   /* held by the target process or a descendant */
};

struct balance_scan {
	struct balance_listener *ls;
	size_t n, cap;
	/* balance_holders: processes whose descriptors we may not read (no
	 * ptrace rights over them), and the first of them. */
	unsigned denied;
	pid_t denied_pid;
};

/* (balance_groups_read() in balance/balance.h fills the kernel's part.) */

/* One listening TCP socket as sock_diag shows it: cheap enough to ask
 * every few tens of milliseconds (the iterator walks every TCP socket of
 * the namespace, established and TIME_WAIT included: 100 ms and more here). */
struct balance_diag {
	uint64_t ino;
	uint32_t qlen, backlog;
	uint16_t port, family;
	uint32_t uid, ifindex;
	uint8_t addr[16];
};

/* The listeners on ports (IPv4 and IPv6) into *d (grown as needed: *cap
 * entries), *n of them. */
int balance_diag_read(const uint16_t *ports, unsigned nports, struct balance_diag **d, size_t *n, size_t *cap);

/* True when a and b would be in one reuseport group if both set
 * SO_REUSEPORT: the kernel groups listeners of one namespace by family,
 * local address, port, bound interface and owning user. */
bool balance_diag_same_group(const struct balance_diag *a, const struct balance_diag *b);

/* Fills the /proc part of each listener of s. root > 0: in_tree says
 * whether root or one of its descendants holds it. Our own process is not
 * counted as a holder. */
int balance_holders(struct balance_scan *s, pid_t root);

/* A descriptor of our own for the socket of inode ino that process pid
 * holds as fd (pidfd_open + pidfd_getfd). -EPERM: no ptrace rights over
 * pid; -ESRCH: it exited; -ESTALE: that fd is no longer that socket. */
int balance_obtain(pid_t pid, int fd, uint64_t ino);

/* The epoll fdinfo parser behind the worker mapping: the target inodes
 * ("ino:" of each "tfd:" line) of one /proc/PID/fdinfo/FD text, into
 * inos[0..max); returns how many there were (more than max: only max are
 * stored). Not an epoll file: 0. */
size_t balance_parse_epoll_fdinfo(const char *text, uint64_t *inos, size_t max);

/* Ports (up to max) of the TCP listeners that pid or its descendants hold. */
int balance_pid_ports(pid_t pid, uint16_t *ports, size_t max, size_t *n);

void balance_scan_free(struct balance_scan *s);

#endif
