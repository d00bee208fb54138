/*
 * accept_reuseport.c - model (c) of the seed article: one SO_REUSEPORT
 * listen socket per worker slot, and `cpu`, the same group steered by a
 * classic BPF program to the socket of the CPU that took the SYN.
 *
 * reuseport: the kernel hashes each new connection's 4-tuple to one socket
 * of the group, so load spreads evenly in count, but every worker has its
 * own queue: a clogged worker stalls the connections hashed to it (the
 * seed's "Tesco cashiers").
 *
 * cpu: SO_ATTACH_REUSEPORT_CBPF with "return SKF_AD_CPU % group size" (as
 * linux tools/testing/selftests/net/reuseport_bpf_cpu.c) and worker slot i
 * pinned to CPU i % nCPU, so a connection is served on the CPU whose softirq
 * received it. The program's result indexes the group's sockets in the order
 * they joined it (listen()), which is slot order at start-up; the kernel
 * fills a removed socket's place with the last one, so after workers leave
 * the mapping is only approximate. With more workers than CPUs the extra
 * workers' sockets are never chosen (an index >= group size would fall back
 * to the hash, and CPU % size never is). No privilege is needed.
 *
 * Both keep each slot's listener open in the master while its worker runs,
 * so a crashed worker's queue waits for its respawn instead of being reset;
 * a worker that leaves closes its copy and the master closes the other.
 */
#include <errno.h>
#include <linux/filter.h>
#include <sched.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "serve/accept.h"

static int slot_add(struct accept_group *g, unsigned slot)
{
	return accept_slot_open(g, slot);
}

static int per_slot_attach(struct accept_worker *w)
{
	accept_worker_keep_own(w);
	if (w->fd < 0)
		return -EBADF;
	/* Nobody shares this socket's wait queue, so no EPOLLEXCLUSIVE. */
	return accept_worker_listen(w, EPOLLIN);
}

/* Number of listeners the master holds: the group's size as the kernel sees it. */
static unsigned group_size(const struct accept_group *g)
{
	unsigned n = 0;
	for (unsigned i = 0; i < g->max_slots; i++)
		n += g->fds[i] >= 0;
	return n;
}

/* Attaches "A = cpu; A %= n; return A" to the group through any member.
 * The program belongs to the group, so one socket is enough, and it must be
 * attached again whenever the group's size changes. */
static int cpu_attach_prog(struct accept_group *g)
{
	unsigned n = group_size(g);
	int fd = -1;
	for (unsigned i = 0; i < g->max_slots && fd < 0; i++)
		fd = g->fds[i];
	if (n == 0 || fd < 0)
		return 0;
	struct sock_filter code[] = {
		{BPF_LD | BPF_W | BPF_ABS, 0, 0, (__u32)(SKF_AD_OFF + SKF_AD_CPU)},
		{BPF_ALU | BPF_MOD | BPF_K, 0, 0, n},
		{BPF_RET | BPF_A, 0, 0, 0},
	};
	struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof prog) < 0)
		return -errno;
	return 0;
}

static int cpu_add_slot(struct accept_group *g, unsigned slot)
{
	int err = accept_slot_open(g, slot);
	return err ? err : cpu_attach_prog(g);
}

static void cpu_remove_slot(struct accept_group *g, unsigned slot)
{
	accept_slot_close(g, slot);
	cpu_attach_prog(g); /* best effort: the old modulus still picks a member or falls back to the hash */
}

static int cpu_attach(struct accept_worker *w)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	cpu_set_t set;
	CPU_ZERO(&set);
	CPU_SET(w->slot % (unsigned)ncpu, &set);
	if (sched_setaffinity(0, sizeof set, &set) < 0)
		return -errno;
	return per_slot_attach(w);
}

const struct accept_model accept_model_reuseport = {
	.name = "reuseport",
	.ring_mode = ACCEPT_RING_MULTISHOT,
	.summary = "model (c): one SO_REUSEPORT socket per worker, kernel hash picks the socket",
	.flags = ACCEPT_PER_SLOT,
	.add_slot = slot_add,
	.remove_slot = accept_slot_close,
	.attach = per_slot_attach,
};

const struct accept_model accept_model_cpu = {
	.name = "cpu",
	.ring_mode = ACCEPT_RING_MULTISHOT,
	.summary = "SO_REUSEPORT + classic BPF returning the SYN's CPU; worker i pinned to CPU i % nCPU",
	.flags = ACCEPT_PER_SLOT,
	.add_slot = cpu_add_slot,
	.remove_slot = cpu_remove_slot,
	.attach = cpu_attach,
};
