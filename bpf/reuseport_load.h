/*
 * reuseport_load.h - what an sk_reuseport program can learn about the load
 * of its group's listeners and their workers, shared by herd balance's
 * program (bpf/balance.bpf.c) and herd serve's steer program
 * (bpf/steer.bpf.c), so that both choose by the same readings.
 *
 * Three things, each explained at length in docs/balance.md:
 *
 * 1. The group's members and their queues. struct sk_reuseport_md's sk (a
 *    struct bpf_sock) has no queue length, and the helpers that would turn
 *    it into a tcp_sock are refused for this program type. What a loader
 *    with CAP_PERFMON may do is keep ctx->sk as a number (through a map
 *    word: arithmetic on a socket pointer is refused, and a pointer
 *    spilled to the stack comes back as one) and bpf_probe_read_kernel()
 *    from it: sk->sk_reuseport_cb is the group (struct sock_reuseport),
 *    whose socks[0..num_socks) are its live listeners, and each member's
 *    sk_ack_backlog (connections queued for accept()) and
 *    icsk_accept_queue.qlen (handshakes under way, queued within a round
 *    trip) are the kernel's own counters, read at the moment the SYN is
 *    placed. CO-RE relocates every offset. Reuseport selection holds the
 *    RCU read lock and listeners are freed after a grace period, so a
 *    member being removed meanwhile can give one wrong reading, never a
 *    fault.
 *
 * 2. Whether a listener's worker waits for work, from context switches
 *    (tp_btf/sched_switch): waiting while it sleeps (not preempted) in one
 *    of the wait syscalls (epoll_wait and friends, accept: the loader
 *    sets their numbers), busy from the moment it gets the CPU again. A
 *    worker blocked in a handler with an empty queue is seen at once,
 *    which no queue shows until a connection is queued behind it.
 *
 * 3. The choice: each member's key is
 *        (stalled << 32) + load + (busy ? 1 : 0)
 *    where a member is stalled (1 to 4, graded) when its worker has been
 *    busy for longer than the threshold; the least key wins, so a stalled
 *    worker is chosen only when every member is stalled, and then the
 *    least stalled. The walk starts one member further
 *    on at each SYN and the first strictly smallest key wins: equal keys go
 *    round robin.
 *
 * BPF side: include after vmlinux.h, bpf_helpers.h, bpf_core_read.h and
 * bpf_tracing.h. User space (the loaders) gets only the list of wait
 * syscalls.
 */
#ifndef HERD_BPF_REUSEPORT_LOAD_H
#define HERD_BPF_REUSEPORT_LOAD_H

/* Syscall numbers that mean "this worker waits for work" (rodata). */
#define RL_MAX_WAIT_NR 6

#ifdef __bpf__

/* The group (struct sock_reuseport *) of ctx->sk as a number, and its
 * member count in *n; 0 when it cannot be read. scratch is a per-CPU map
 * word: the program is not preempted, and another CPU's SYN cannot
 * overwrite it. */
static __always_inline __u64 rl_group(struct bpf_sock *bsk, __u64 *scratch, __u32 *n)
{
	__u64 reuse = 0;
	__u16 num = 0;

	if (!bsk || !scratch)
		return 0;
	*(volatile __u64 *)scratch = (__u64)bsk;
	if (bpf_probe_read_kernel(
		    &reuse, sizeof(reuse),
		    (void *)(*(volatile __u64 *)scratch + bpf_core_field_offset(struct sock, sk_reuseport_cb))) != 0 ||
	    !reuse)
		return 0;
	if (bpf_probe_read_kernel(&num, sizeof(num),
				  (void *)(reuse + bpf_core_field_offset(struct sock_reuseport, num_socks))) != 0 ||
	    num == 0)
		return 0;
	*n = num;
	return reuse;
}

/* Member idx of the group (struct sock *) as a number; 0 if unreadable. */
static __always_inline __u64 rl_member(__u64 reuse, __u32 idx)
{
	__u64 skp = 0;

	if (bpf_probe_read_kernel(&skp, sizeof(skp),
				  (void *)(reuse + bpf_core_field_offset(struct sock_reuseport, socks) +
					   (__u64)idx * sizeof(void *))) != 0)
		return 0;
	return skp;
}

/* The member's socket cookie (SO_COOKIE), how user space names it; 0 when
 * none was ever asked for. */
static __always_inline __u64 rl_cookie(__u64 skp)
{
	__u64 cookie = 0;

	bpf_probe_read_kernel(&cookie, sizeof(cookie),
			      (void *)(skp + bpf_core_field_offset(struct sock, __sk_common.skc_cookie)));
	return cookie;
}

/* Connections queued for accept() plus handshakes under way. */
static __always_inline __u32 rl_pending(__u64 skp)
{
	__u32 backlog = 0;
	int qlen = 0;

	bpf_probe_read_kernel(&backlog, sizeof(backlog),
			      (void *)(skp + bpf_core_field_offset(struct sock, sk_ack_backlog)));
	bpf_probe_read_kernel(
		&qlen, sizeof(qlen),
		(void *)(skp + bpf_core_field_offset(struct inet_connection_sock, icsk_accept_queue.qlen)));
	return backlog + (qlen > 0 ? (__u32)qlen : 0);
}

static __always_inline bool rl_is_wait(long nr, const volatile __s64 *wait_nr)
{
	for (int i = 0; i < RL_MAX_WAIT_NR; i++)
		if (wait_nr[i] >= 0 && nr == wait_nr[i])
			return true;
	return false;
}

/* The syscall a task that is not running is in (its saved registers). */
static __always_inline long rl_task_syscall(struct task_struct *task)
{
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);

#if defined(__TARGET_ARCH_x86)
	return BPF_CORE_READ(regs, orig_ax);
#elif defined(__TARGET_ARCH_arm64)
	return BPF_CORE_READ(regs, syscallno);
#else
	return -1;
#endif
}

/* At a context switch: prev's busy_since (NULL: not a worker) becomes 0
 * when it leaves the CPU to sleep in a wait syscall; next's (NULL: not a
 * worker) becomes now when it was waiting. A worker that finds events
 * ready never sleeps in epoll_wait() and stays busy, as it should; one
 * blocked in a handler, preempted, or computing stays busy too. */
static __always_inline void rl_switch(__u64 *prev_busy, bool preempt, struct task_struct *prev, __u64 *next_busy,
				      const volatile __s64 *wait_nr)
{
	if (prev_busy && !preempt && rl_is_wait(rl_task_syscall(prev), wait_nr))
		*(volatile __u64 *)prev_busy = 0;
	if (next_busy && *(volatile __u64 *)next_busy == 0)
		*(volatile __u64 *)next_busy = bpf_ktime_get_ns() | 1;
}

/* A member's key (the least wins): load, plus 1 while its worker is busy
 * (since `since`; 0: waiting, or not known), plus 2^32 times how stalled
 * it is: 0 up to stall_ns, then 1, 2, 3 and 4 past 1, 4, 16 and 64 times
 * stall_ns. A stalled member is thus chosen only when every member is,
 * and then the least stalled: on a machine short of CPU a preempted
 * worker can be out of its wait for a few thresholds while it makes
 * progress, and it must not lose to one blocked for a second. */
static __always_inline __u64 rl_key(__u64 load, __u64 since, __u64 now, __u64 stall_ns)
{
	__u64 busy = since != 0, d = since && now > since ? now - since : 0;
	__u64 level = (d > stall_ns) + (d > 4 * stall_ns) + (d > 16 * stall_ns) + (d > 64 * stall_ns);

	if (load > 0xfffffffeULL)
		load = 0xfffffffeULL;
	return (level << 32) + load + busy;
}

#else /* user space */

#include <sys/syscall.h>

/* The i-th syscall in which a worker waits for work (-1 past the end, at
 * most RL_MAX_WAIT_NR): epoll's, and accept()'s for servers that block in
 * accept(). Numbers from this build's headers, so they are right for the
 * architecture the program runs on. */
static inline long rl_wait_nr(unsigned i)
{
	static const long nrs[] = {
#ifdef SYS_epoll_wait
		SYS_epoll_wait,
#endif
#ifdef SYS_epoll_pwait
		SYS_epoll_pwait,
#endif
#ifdef SYS_epoll_pwait2
		SYS_epoll_pwait2,
#endif
#ifdef SYS_accept
		SYS_accept,
#endif
#ifdef SYS_accept4
		SYS_accept4,
#endif
	};

	return i < sizeof(nrs) / sizeof(nrs[0]) && i < RL_MAX_WAIT_NR ? nrs[i] : -1;
}

#endif /* __bpf__ */

#endif
