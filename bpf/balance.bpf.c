// SPDX-License-Identifier: GPL-2.0
/*
 * balance.bpf.c - `herd balance`'s kernel half: an SO_REUSEPORT program for
 * any running server's group that sends each new connection to the listener
 * that can take it soonest, a context-switch tracepoint that tells it which
 * workers are waiting for work, and an iterator that reports the groups it
 * could join.
 *
 * What an sk_reuseport program may read (checked on 6.18 by loading small
 * programs, docs/balance.md): its context gives the packet, the 4-tuple hash
 * and ctx->sk, the listener the lookup found, as a struct bpf_sock, which
 * has addresses, ports and state but no queue length. The helpers that would
 * turn it into a struct tcp_sock (bpf_skc_to_tcp_sock) are refused for this
 * program type, and so is bpf_sk_release, so a SOCKMAP lookup (which takes a
 * reference) cannot be used either. What is allowed, to a loader with
 * CAP_PERFMON, is bpf_probe_read_kernel() and treating a pointer as a
 * number. So the program takes ctx->sk's address, follows its
 * sk_reuseport_cb to the group (struct sock_reuseport, the kernel's own
 * list of the group's live listeners, socks[0..num_socks)) and reads, for
 * each member, sk_ack_backlog (connections queued, waiting for accept())
 * and icsk_accept_queue.qlen (handshakes under way, which will be queued
 * within a round trip). CO-RE relocates the offsets for the running kernel.
 * These are the kernel's own counters read at the moment the SYN is placed:
 * nothing is sampled, nothing can be stale. The program runs under the RCU
 * read lock that reuseport selection holds, and listeners in a group are
 * freed only after a grace period, so every pointer read is valid; a
 * listener being removed concurrently can give a wrong count once, never a
 * fault (probe reads cannot fault).
 *
 * Choosing. Each member's load is
 *     queued + handshakes under way + (its worker is busy ? 1 : 0)
 * and a member whose worker has been busy (out of its wait for work) for
 * longer than balance_stall_ns is "stalled": stalled members are chosen only
 * when every member is stalled. The least load wins; equal loads go round
 * robin (the walk starts one member further on at each SYN, and the first
 * member with the strictly smallest load wins), as in bpf/steer.bpf.c. A
 * member is recognised by its socket cookie, which user space put into
 * balance_cookies with the member's slot, the key of its socket in the
 * REUSEPORT_SOCKARRAY that bpf_sk_select_reuseport() takes. A member that
 * user space has not registered yet (a listener that joined since its last
 * scan) makes the program return SK_PASS without a choice: the kernel then
 * hashes as if no program were attached, which loses nothing, until user
 * space adds the newcomer.
 *
 * The worker's own load, where it can be known: user space finds the
 * process that accepts from each listener (docs/balance.md says how) and
 * puts its pid in balance_tgids. A tracepoint on context switches marks
 * that worker waiting while it sleeps in epoll_wait()/accept() (the
 * syscall numbers are set by the loader) and busy from the moment it runs
 * again. A worker blocked in a handler with an empty queue is thus seen at
 * once, which the queue alone cannot show until a connection has been
 * queued behind it.
 *
 * The readings (group, members, queues, the worker's state) and the key
 * are in reuseport_load.h, shared with herd serve's steer program
 * (bpf/steer.bpf.c), which chooses the same way.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "balance.h"
#include "reuseport_load.h"

#define TCP_LISTEN_STATE 10

/* Set by the loader before load. */
const volatile __u64 balance_stall_ns = 5000000;
/* 0: read every member's queue at every SYN. For experiments only (what
 * a sampled queue length would cost): reuse a member's last reading until
 * it is this old. */
const volatile __u64 balance_stale_ns = 0;
const volatile __s64 balance_wait_nr[RL_MAX_WAIT_NR] = {-1, -1, -1, -1, -1, -1};
const volatile __u16 balance_ports[BALANCE_MAX_PORTS] = {0};
const volatile __u32 balance_nports = 0;

/* Where the next walk starts: the round robin of ties. A plain increment:
 * two SYNs on two CPUs may start at the same member, which costs evenness
 * only. */
__u32 balance_next = 0;

/* Counters for the live line and the tests. */
__u64 balance_fallbacks = 0; /* SYNs left to the kernel's hash (no usable choice) */
__u64 balance_unknown = 0;   /* ... of which because a member was not registered */
__u64 balance_migrations = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, BALANCE_MAX_SLOTS);
	__type(key, __u32);
	__type(value, struct balance_slot);
} balance_slots SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, BALANCE_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u64);
} balance_socks SEC(".maps");

/* socket cookie -> slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BALANCE_MAX_SLOTS);
	__type(key, __u64);
	__type(value, __u32);
} balance_cookies SEC(".maps");

/* worker tgid -> slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, BALANCE_MAX_SLOTS);
	__type(key, __u32);
	__type(value, __u32);
} balance_tgids SEC(".maps");

/* One word per CPU through which ctx->sk becomes a number (see choose()). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} balance_scratch SEC(".maps");

struct walk {
	__u64 reuse; /* struct sock_reuseport * as a number */
	__u64 now;
	__u64 best_key;
	__u32 n, start, best;
	__u32 unknown;
};

/* bpf_loop() callback: member (start + i) % n of the group. */
static long visit(__u32 i, void *data)
{
	struct walk *w = data;
	__u32 idx = w->start + i, pending, slot;
	__u64 skp, cookie, key, since = 0, blocked = 0;
	struct balance_slot *s;
	__u32 *slotp;

	if (idx >= w->n)
		idx -= w->n;
	skp = rl_member(w->reuse, idx);
	if (!skp)
		return 0;
	cookie = rl_cookie(skp);
	slotp = bpf_map_lookup_elem(&balance_cookies, &cookie);
	if (!cookie || !slotp) {
		w->unknown = 1;
		return 1; /* stop: the kernel's hash decides */
	}
	slot = *slotp;
	s = bpf_map_lookup_elem(&balance_slots, &slot);
	if (!s)
		return 0;
	if (balance_stale_ns && w->now - *(volatile __u64 *)&s->seen_at < balance_stale_ns) {
		pending = (__u32) * (volatile __u64 *)&s->seen;
	} else {
		pending = rl_pending(skp);
		*(volatile __u64 *)&s->seen = pending;
		*(volatile __u64 *)&s->seen_at = w->now;
	}
	if (*(volatile __u64 *)&s->tgid) {
		since = *(volatile __u64 *)&s->busy_since;
		blocked = *(volatile __u64 *)&s->blocked_since;
	}
	/* Stalled by the time blocked; +1 while busy either way. */
	key = rl_key(pending, blocked, w->now, balance_stall_ns) + (!blocked && since ? 1 : 0);
	if (key < w->best_key) {
		w->best_key = key;
		w->best = slot;
	}
	return 0;
}

static __always_inline int choose(struct sk_reuseport_md *ctx)
{
	struct walk w = {.best_key = ~0ULL, .best = BALANCE_MAX_SLOTS};
	struct bpf_sock *bsk = ctx->sk;
	struct balance_slot *s;
	__u32 key = 0;
	__u64 *scratch;
	__u32 n = 0;

	scratch = bpf_map_lookup_elem(&balance_scratch, &key);
	w.reuse = rl_group(bsk, scratch, &n);
	if (!w.reuse)
		goto fallback;
	w.n = n;
	w.start = balance_next++ % n;
	w.now = bpf_ktime_get_ns();
	bpf_loop(n, visit, &w, 0);
	if (w.unknown) {
		__sync_fetch_and_add(&balance_unknown, 1);
		goto fallback;
	}
	if (w.best >= BALANCE_MAX_SLOTS)
		goto fallback;
	key = w.best;
	/* Fails when the chosen listener is closing: the kernel has taken it
	 * out of the sockarray. */
	if (bpf_sk_select_reuseport(ctx, &balance_socks, &key, 0) != 0)
		goto fallback;
	s = bpf_map_lookup_elem(&balance_slots, &key);
	if (s) {
		__sync_fetch_and_add(&s->steered, 1);
		if (ctx->migrating_sk)
			__sync_fetch_and_add(&s->migrated, 1);
	}
	if (ctx->migrating_sk)
		__sync_fetch_and_add(&balance_migrations, 1);
	return SK_PASS;
fallback:
	/* SK_PASS without a selection: the kernel hashes (for a migrating
	 * connection too). SK_DROP would reset the connection. */
	__sync_fetch_and_add(&balance_fallbacks, 1);
	return SK_PASS;
}

/* Loaded with expected_attach_type BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: runs
 * for every SYN and, when a listener of the group closes, once for each
 * connection in its accept queue and each handshake under way
 * (ctx->migrating_sk set; the closing listener has already left socks[]),
 * so that they move to a live listener instead of being reset, whatever
 * net.ipv4.tcp_migrate_req says. */
SEC("sk_reuseport/migrate")
int balance_select(struct sk_reuseport_md *ctx)
{
	return choose(ctx);
}

/* ---------------------------------------------------- the worker's load */

static __always_inline struct balance_slot *worker_slot(__u32 pid)
{
	__u32 *slot = bpf_map_lookup_elem(&balance_tgids, &pid);

	return slot ? bpf_map_lookup_elem(&balance_slots, slot) : NULL;
}

/* A worker's state at context switches (rl_switch, reuseport_load.h);
 * context switches are far rarer than syscalls, where a probe cost every
 * process of the machine (docs/balance.md). The main thread (pid == tgid)
 * is the worker: the event loop of nginx and most prefork servers; a
 * thread pool's helpers are not looked at. */
SEC("tp_btf/sched_switch")
int BPF_PROG(balance_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct balance_slot *p = worker_slot(prev->pid), *n = worker_slot(next->pid);

	rl_switch(p ? (__u64 *)&p->busy_since : NULL, preempt, prev, n ? (__u64 *)&n->busy_since : NULL,
		  balance_wait_nr);
	/* Blocked: prev leaves the CPU to sleep (not preempted, not runnable)
	 * outside its wait syscalls, e.g. in a handler's sleep or a lock. Only
	 * that time makes a worker "stalled": a worker out of its wait because
	 * it always has work (a saturated server never sleeps in epoll_wait)
	 * is making progress, and grading it by time out of its wait would
	 * send every SYN to whichever worker last found its queue empty. */
	if (p && !preempt && BPF_CORE_READ(prev, __state) != 0 && !rl_is_wait(rl_task_syscall(prev), balance_wait_nr))
		*(volatile __u64 *)&p->blocked_since = bpf_ktime_get_ns() | 1;
	if (n)
		*(volatile __u64 *)&n->blocked_since = 0;
	return 0;
}

/* ------------------------------------------------------ the group finder */

static __always_inline bool port_wanted(__u16 port)
{
	for (int i = 0; i < BALANCE_MAX_PORTS; i++)
		if (i < balance_nports && balance_ports[i] == port)
			return true;
	return false;
}

/* One record per listening TCP socket on a wanted port of this network
 * namespace, with its reuseport group's id and attached program: sock_diag
 * shows neither, and a group's membership is the kernel's to say (same
 * port, address, user and namespace, and SO_REUSEPORT at bind). */
SEC("iter/tcp")
int balance_groups(struct bpf_iter__tcp *ctx)
{
	struct sock_common *skc = ctx->sk_common;
	struct balance_sockrec r = {};
	struct sock_reuseport *reuse;
	struct bpf_prog *prog;
	struct sock *sk;

	if (!skc || BPF_CORE_READ(skc, skc_state) != TCP_LISTEN_STATE)
		return 0;
	r.port = BPF_CORE_READ(skc, skc_num);
	if (!port_wanted(r.port))
		return 0;
	sk = (struct sock *)skc;
	r.family = BPF_CORE_READ(skc, skc_family);
	r.ino = BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
	r.cookie = BPF_CORE_READ(skc, skc_cookie.counter);
	r.backlog = BPF_CORE_READ(sk, sk_ack_backlog);
	r.max_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	reuse = BPF_CORE_READ(sk, sk_reuseport_cb);
	if (reuse) {
		/* The group's address, not its reuseport_id: the kernel gives
		 * a group an id only when it first enters a sockarray. */
		r.group = (__u64)reuse;
		prog = BPF_CORE_READ(reuse, prog);
		if (prog) {
			r.has_prog = 1;
			r.prog_id = BPF_CORE_READ(prog, aux, id);
			r.prog_type = BPF_CORE_READ(prog, type);
			BPF_CORE_READ_STR_INTO(&r.prog_name, prog, aux, name);
		}
	}
	bpf_seq_write(ctx->meta->seq, &r, sizeof(r));
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
