/*
 * balance.h - `herd balance`'s library: loads bpf/balance.bpf.c, registers
 * the listening sockets of a running server's SO_REUSEPORT group(s) with it,
 * attaches it to the groups and takes it off again, pins it, and reads what
 * it counted. group.h finds the groups and obtains their sockets.
 *
 * Usage:
 *   balance_open(&b, &cfg);
 *   for each listener: fd = balance_obtain(...); balance_add(b, fd, &slot);
 *       balance_set_worker(b, slot, pid); close(fd);
 *   for each group: balance_attach(b, fd of one member);
 *   ... balance_slots(b), balance_counters(b) ...
 *   balance_detach(fd of one member per group); balance_close(b);
 * The program belongs to the group once attached: it keeps running when our
 * descriptors close, until it is detached or the group's last listener
 * closes. Our copies of the sockets must not stay open: a copy would keep a
 * listener alive (and chosen) after the server closed it.
 *
 * Functions return 0 or a negative errno and never print.
 */
#ifndef HERD_BALANCE_H
#define HERD_BALANCE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "balance/group.h"

struct balance;

struct balance_config {
	uint64_t stall_ns; /* a worker busy for longer than this is stalled */
	uint64_t stale_ns; /* experiments: reuse a queue reading until it is this old (0: live) */
	bool busy;	   /* track whether workers wait for work (a sched_switch tracepoint) */
	bool verbose;	   /* libbpf's warnings on stderr */
};

/* Capabilities herd balance needs that this process lacks (CAP_SYS_ADMIN
 * stands in for CAP_BPF and CAP_PERFMON, as in the kernel). */
enum {
	BALANCE_CAP_BPF = 1 << 0,
	BALANCE_CAP_NET_ADMIN = 1 << 1,
	BALANCE_CAP_PERFMON = 1 << 2,
	BALANCE_CAP_SYS_PTRACE = 1 << 3,
};
unsigned balance_caps_missing(void);

/* 0 when this kernel and build can run the program; -ENOPKG: built
 * without BTF (no program); -ENOENT: no /sys/kernel/btf/vmlinux;
 * -EOPNOTSUPP: the kernel has no sk_reuseport program type. */
int balance_kernel_check(void);

/* Every listening TCP socket of this network namespace on one of ports
 * (1..BALANCE_MAX_PORTS of them), with its group and attached program, from
 * the kernel (the iterator in bpf/balance.bpf.c): replaces s's listeners
 * (the /proc fields are left for balance_holders()). */
int balance_groups_read(const uint16_t *ports, unsigned nports, struct balance_scan *s, bool verbose);

/* The same, loaded once for many reads (loading parses the kernel's BTF). */
struct balance_finder;
int balance_finder_open(struct balance_finder **fp, const uint16_t *ports, unsigned nports, bool verbose);
int balance_finder_read(struct balance_finder *f, struct balance_scan *s);
void balance_finder_close(struct balance_finder *f);

/* Loads the program (and, with cfg->busy, attaches the sched_switch tracepoint).
 * -EPERM: the kernel refused for lack of privilege. */
int balance_open(struct balance **bp, const struct balance_config *cfg);

/* Registers listening socket fd in a free slot: into the socket array, then
 * its cookie, after which the program may choose it. -EBUSY: the socket is
 * already in another program's socket array (another herd balance, or
 * herd serve's steer); -EINVAL: not a listening SO_REUSEPORT socket;
 * -ENOSPC: no free slot. */
int balance_add(struct balance *b, int fd, unsigned *slot);

/* The process accepting from slot's listener (0: unknown, the program then
 * goes by the queue alone). */
int balance_set_worker(struct balance *b, unsigned slot, pid_t tgid);

/* Forgets slot (its listener closed, or left the group). */
int balance_remove(struct balance *b, unsigned slot);

/* Puts slot's listener (fd, the same socket as registered) back into the
 * socket array after a shutdown() and listen() of it (an eviction,
 * session.c): the kernel took it out when it stopped listening. */
int balance_readd(struct balance *b, unsigned slot, int fd);

/* SO_ATTACH_REUSEPORT_EBPF through fd: the program now chooses for fd's
 * whole group. */
int balance_attach(struct balance *b, int fd);

/* SO_DETACH_REUSEPORT_BPF through fd: no program chooses for its group any
 * more. -ENOENT: none was attached. */
int balance_detach(int fd);

/* 0 when dir is a directory on a bpf filesystem; -ENOENT, -ENOTDIR, or
 * -EMEDIUMTYPE (some other filesystem). */
int balance_check_bpffs(const char *dir);

/* Pins the program and its maps in dir (names balance_*), so that they
 * outlive this process and `herd balance --detach --pin DIR` can find
 * them; forgets every worker first (without herd balance running nobody
 * keeps their state, and a stale "busy" would shun a worker for good). */
int balance_pin(struct balance *b, const char *dir);

/* Removes what balance_pin() left in dir; returns how many were there. */
int balance_unpin(const char *dir);

/* The slots (BALANCE_MAX_SLOTS), shared with the program. */
const struct balance_slot *balance_slots(const struct balance *b);

struct balance_counters {
	uint64_t fallbacks; /* connections left to the kernel's hash */
	uint64_t unknown;   /* ... of which because a member was not registered */
	uint64_t migrations;
};
void balance_counters(const struct balance *b, struct balance_counters *c);

/* The id `bpftool prog show` gives the program. */
uint32_t balance_prog_id(const struct balance *b);

/* Closes our handles. An attached program stays attached (see above). */
void balance_close(struct balance *b);

/* The name of the program as the kernel knows it (struct bpf_prog_info's
 * name, at most 15 characters): how a group's program is recognised as
 * herd balance's. */
#define BALANCE_PROG_NAME "balance_select"

#endif
