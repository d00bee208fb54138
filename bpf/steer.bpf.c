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
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

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

static __always_inline int steer(struct sk_reuseport_md *ctx)
{
	__u32 n = *(volatile __u32 *)&steer_span;
	struct pick p = {.best_load = STEER_DEAD};
	struct steer_slot *s;
	__u32 key;

	if (n > steer_nslots)
		n = steer_nslots;
	if (n == 0)
		goto fallback;
	p.n = n;
	p.best = n;
	/* A plain increment, not an atomic one (whose result the BPF
	 * instruction set before v3 cannot return): two SYNs on two CPUs at
	 * once may start at the same slot, which costs evenness only. */
	p.start = steer_next++ % n;
	bpf_loop(n, pick_slot, &p, 0);
	if (p.best >= n)
		goto fallback; /* no live slot: let the kernel hash */
	key = p.best;
	/* Fails when the slot's listener is closing (the kernel has already
	 * removed it from the sockarray) before its worker marked it dead. */
	if (bpf_sk_select_reuseport(ctx, &steer_socks, &key, 0) != 0)
		goto fallback;
	s = bpf_map_lookup_elem(&steer_load, &key);
	if (s)
		__sync_fetch_and_add(&s->steered, 1);
	if (ctx->migrating_sk)
		__sync_fetch_and_add(&steer_migrations, 1);
	return SK_PASS;
fallback:
	/* SK_PASS without a selection: the kernel picks by hash among the
	 * group's listening sockets. SK_DROP would reset the connection. */
	__sync_fetch_and_add(&steer_fallbacks, 1);
	return SK_PASS;
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

char LICENSE[] SEC("license") = "GPL";
