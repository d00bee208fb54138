// SPDX-License-Identifier: GPL-2.0
/*
 * steer.bpf.c - the `steer` accept model's SO_REUSEPORT program: each new
 * connection goes to the worker slot with the least load.
 *
 * The kernel runs the program when a SYN arrives for the reuseport group (and,
 * attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE, when a closing listener's
 * queued or half-open connections need a new home). It walks the load map,
 * picks the live slot with the smallest effective load, and hands the
 * slot's listening socket from the REUSEPORT_SOCKARRAY to
 * bpf_sk_select_reuseport(). Equal loads go round robin: the walk starts one
 * slot further on each time (a counter shared by every SYN), so among the
 * tied slots the first one after that point wins, and idle workers take new
 * connections in turn. Starting at the packet's hash, as before, left it to
 * the hash: 48 sequential connections over 3 idle workers could split
 * 32/16/1.
 *
 * Keeping the load honest. A worker cannot count a connection the program has
 * just sent it until it accepts it, and a SYN sent to a slot may never become
 * a connection at all (dropped on a full queue, the client gave up, migrated
 * elsewhere). A single counter that the program increments and the worker
 * decrements would therefore drift upwards forever and starve that worker.
 * Instead each slot has three words (bpf/steer.h):
 *   steered  only the program writes it: +1 per connection it sends there;
 *   load     the worker's own truth: connections in flight plus those in its
 *            accept queue, published whenever it looks (after accepting, after
 *            finishing a connection);
 *   seen     the value of `steered` the worker read just *before* it looked.
 * effective load = load + (steered - seen): what the worker knew plus what
 * arrived since. Every publication replaces the estimate with the truth, so
 * an error (a SYN that never completed, a torn read of load/seen) lives only
 * until the worker's next publication and can never accumulate. A worker
 * that is stuck does not publish, so every connection sent to it raises its
 * load: exactly the worker we want new connections to avoid.
 *
 * Queue-aware (steer_qselect/steer_qmigrate, built where BTF is:
 * HERD_STEER_CORE). A stuck worker's load rises only with what is sent to
 * it, so one that blocks right after publishing a small load (a long
 * request, the only one it has) still looks like the best choice, and
 * takes new connections that wait behind the block. So this variant reads
 * what herd balance's program reads (bpf/reuseport_load.h, shared): each
 * member's accept queue from the kernel at each SYN, and whether its
 * worker waits for work (a sched_switch tracepoint). Each member's load is
 *     max(load + (steered - seen), inflight + queued + handshakes)
 * (what the worker published, and the kernel's count beside the worker's
 * in-flight connections: the larger is the truer), and a worker that has
 * been out of its wait with no publication for longer than steer_stall_ns
 * is stalled: avoided unless every worker is. Counting from the later of
 * the two is what the worker's publications add: a worker busy under load
 * publishes at every accept and every finished connection, one blocked in
 * a handler publishes nothing, while both look "busy" to context
 * switches. Loading it needs CAP_PERFMON (probe reads, a pointer kept as a
 * number, the tracepoint) besides CAP_BPF and CAP_NET_ADMIN; where it
 * cannot be loaded, the loader falls back to the program above.
 */
#ifdef HERD_STEER_CORE
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "reuseport_load.h"
#else
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#endif

#include "steer.h"

/* Number of slots (the maps' max_entries), set by the loader before load. */
const volatile __u32 steer_nslots = 1;

/* 1 + the highest slot user space has ever filled: the walk stops there, so
 * a server sized for many more workers than it runs pays only for those it
 * has used. Written by user space through the skeleton's .bss mapping. */
__u32 steer_span = 0;

/* Diagnostics read by tests: selections that fell back to the kernel's hash,
 * and connections placed during a listener's migration. */
__u64 steer_fallbacks = 0;
__u64 steer_migrations = 0;

/* Where the next walk starts (modulo the span): the round robin of ties. */
__u32 steer_next = 0;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u32);
	__type(value, struct steer_slot);
} steer_load SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u32);
	__type(value, __u64);
} steer_socks SEC(".maps");

struct pick {
	__u32 n;
	__u32 start;
	__u32 best;
	__u64 best_load;
};

/* bpf_loop() callback: looks at slot (start + i) % nslots. A callback keeps
 * the verifier's work constant whatever the number of slots. */
static long pick_slot(__u32 i, void *data)
{
	struct pick *p = data;
	__u32 slot = p->start + i;
	struct steer_slot *s;
	__u64 load, seen, steered;

	if (slot >= p->n)
		slot -= p->n;
	s = bpf_map_lookup_elem(&steer_load, &slot);
	if (!s)
		return 0;
	/* The worker stores load before seen; reading seen before steered
	 * guarantees steered >= seen (steered only grows). */
	load = *(volatile __u64 *)&s->load;
	if (load == STEER_DEAD)
		return 0;
	seen = *(volatile __u64 *)&s->seen;
	steered = *(volatile __u64 *)&s->steered;
	if ((__s64)(steered - seen) > 0)
		load += steered - seen;
	if (load < p->best_load) {
		p->best_load = load;
		p->best = slot;
	}
	return 0;
}

/* No slot chosen: steer_place() lets the kernel hash. */
#define STEER_NO_SLOT 0xffffffffu

/* Hands the connection to slot key's listener and counts it there. SK_PASS
 * without a selection lets the kernel pick by hash among the group's
 * listening sockets (SK_DROP would reset the connection): when no slot was
 * chosen, or when the slot's listener is closing (the kernel has already
 * removed it from the sockarray) before its worker marked it dead. */
static __always_inline int steer_place(struct sk_reuseport_md *ctx, __u32 key)
{
	struct steer_slot *s;

	if (key == STEER_NO_SLOT || bpf_sk_select_reuseport(ctx, &steer_socks, &key, 0) != 0) {
		__sync_fetch_and_add(&steer_fallbacks, 1);
		return SK_PASS;
	}
	s = bpf_map_lookup_elem(&steer_load, &key);
	if (s)
		__sync_fetch_and_add(&s->steered, 1);
	if (ctx->migrating_sk)
		__sync_fetch_and_add(&steer_migrations, 1);
	return SK_PASS;
}

static __always_inline int steer(struct sk_reuseport_md *ctx)
{
	__u32 n = *(volatile __u32 *)&steer_span;
	struct pick p = {.best_load = STEER_DEAD};

	if (n > steer_nslots)
		n = steer_nslots;
	if (n == 0)
		return steer_place(ctx, STEER_NO_SLOT);
	p.n = n;
	p.best = n;
	/* A plain increment, not an atomic one (whose result the BPF
	 * instruction set before v3 cannot return): two SYNs on two CPUs at
	 * once may start at the same slot, which costs evenness only. */
	p.start = steer_next++ % n;
	bpf_loop(n, pick_slot, &p, 0);
	/* p.best >= n: no live slot. */
	return steer_place(ctx, p.best < n ? p.best : STEER_NO_SLOT);
}

/* Attached with SO_ATTACH_REUSEPORT_EBPF: runs for every SYN. */
SEC("sk_reuseport")
int steer_select(struct sk_reuseport_md *ctx)
{
	return steer(ctx);
}

/* The same choice, loaded with expected_attach_type
 * BPF_SK_REUSEPORT_SELECT_OR_MIGRATE: it also runs when a listener closes,
 * once per connection in its accept queue and per half-open request
 * (ctx->migrating_sk set), so they move to the least-loaded live listener
 * instead of being reset. This works whatever net.ipv4.tcp_migrate_req says. */
SEC("sk_reuseport/migrate")
int steer_migrate(struct sk_reuseport_md *ctx)
{
	return steer(ctx);
}

#ifdef HERD_STEER_CORE
/* ------------------------------------------------------- queue-aware */

/* Set by the loader before load. */
const volatile __u64 steer_stall_ns = 5000000;
const volatile __s64 steer_wait_nr[RL_MAX_WAIT_NR] = {-1, -1, -1, -1, -1, -1};

/* socket cookie -> slot, for the group's members */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u64);
	__type(value, __u32);
} steer_cookies SEC(".maps");

/* worker pid -> slot */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized by the loader */
	__type(key, __u32);
	__type(value, __u32);
} steer_tgids SEC(".maps");

/* One word per CPU through which ctx->sk becomes a number (rl_group). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} steer_scratch SEC(".maps");

struct qpick {
	__u64 reuse, now, best_key;
	__u32 n, start, best;
};

/* bpf_loop() callback: member (start + i) % n of the group. A member that
 * is not a slot's (a listener between its listen() and steer_set_slot(),
 * so not in the sockarray yet) or whose slot is dead is passed over. */
static long qpick_member(__u32 i, void *data)
{
	struct qpick *p = data;
	__u32 idx = p->start + i, slot, *slotp;
	__u64 skp, cookie, load, seen, steered, live, since = 0, pub;
	struct steer_slot *s;

	if (idx >= p->n)
		idx -= p->n;
	skp = rl_member(p->reuse, idx);
	if (!skp)
		return 0;
	cookie = rl_cookie(skp);
	slotp = cookie ? bpf_map_lookup_elem(&steer_cookies, &cookie) : NULL;
	if (!slotp)
		return 0;
	slot = *slotp;
	s = bpf_map_lookup_elem(&steer_load, &slot);
	if (!s)
		return 0;
	load = *(volatile __u64 *)&s->load;
	if (load == STEER_DEAD)
		return 0;
	seen = *(volatile __u64 *)&s->seen;
	steered = *(volatile __u64 *)&s->steered;
	if ((__s64)(steered - seen) > 0)
		load += steered - seen;
	live = *(volatile __u64 *)&s->inflight + rl_pending(skp);
	if (live > load)
		load = live;
	if (*(volatile __u64 *)&s->tgid) {
		since = *(volatile __u64 *)&s->busy_since;
		pub = *(volatile __u64 *)&s->published_at;
		if (since && pub > since)
			since = pub | 1;
	}
	load = rl_key(load, since, p->now, steer_stall_ns);
	if (load < p->best_key) {
		p->best_key = load;
		p->best = slot;
	}
	return 0;
}

static __always_inline int qsteer(struct sk_reuseport_md *ctx)
{
	struct qpick p = {.best_key = ~0ULL, .best = ~0U};
	__u32 key = 0, n = 0;
	__u64 *scratch;

	scratch = bpf_map_lookup_elem(&steer_scratch, &key);
	p.reuse = rl_group(ctx->sk, scratch, &n);
	if (!p.reuse)
		return steer_place(ctx, STEER_NO_SLOT);
	p.n = n;
	p.start = steer_next++ % n;
	p.now = bpf_ktime_get_ns();
	bpf_loop(n, qpick_member, &p, 0);
	/* p.best >= steer_nslots: no live slot. */
	return steer_place(ctx, p.best < steer_nslots ? p.best : STEER_NO_SLOT);
}

SEC("sk_reuseport")
int steer_qselect(struct sk_reuseport_md *ctx)
{
	return qsteer(ctx);
}

SEC("sk_reuseport/migrate")
int steer_qmigrate(struct sk_reuseport_md *ctx)
{
	return qsteer(ctx);
}

static __always_inline struct steer_slot *worker_slot(__u32 pid)
{
	__u32 *slot = bpf_map_lookup_elem(&steer_tgids, &pid);

	return slot ? bpf_map_lookup_elem(&steer_load, slot) : NULL;
}

/* The workers' state at context switches (rl_switch). herd serve's workers
 * are single-threaded processes waiting in epoll_wait(). */
SEC("tp_btf/sched_switch")
int BPF_PROG(steer_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	struct steer_slot *p = worker_slot(prev->pid), *n = worker_slot(next->pid);

	rl_switch(p ? (__u64 *)&p->busy_since : NULL, preempt, prev, n ? (__u64 *)&n->busy_since : NULL, steer_wait_nr);
	return 0;
}
#endif /* HERD_STEER_CORE */

char LICENSE[] SEC("license") = "GPL";
