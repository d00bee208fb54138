/*
 * steer.h - what the `steer` eBPF program (bpf/steer.bpf.c) and user space
 * (src/serve/steer.c, the workers) share: the layout of one slot of the load map.
 *
 * The load map is a BPF_F_MMAPABLE array with one struct steer_slot per
 * worker slot. Every field is a __u64 so the layout is the same on both sides
 * (elements of an mmap-ed BPF array sit at 8-byte-rounded strides), and the
 * struct fills a 64-byte cache line so that the program's atomic adds on one
 * slot do not bounce the line that another worker is storing into.
 *
 * The effective load of a slot, as the program sees it, is
 *     load + (steered - seen)
 * where `load` is what the worker last published (connections in flight plus
 * connections waiting in its accept queue at that moment), and
 * `steered - seen` counts the connections the program sent to the slot since
 * then, which the worker could not have seen yet.
 *
 * The queue-aware program (built where BTF is, docs/steer.md) also reads the
 * listener's queue from the kernel at each SYN and knows whether the
 * worker waits for work (bpf/reuseport_load.h): for it the slot also has
 * the worker's in-flight count and the time of its last publication, the
 * listener's cookie (how the program recognises it among the group's
 * members), the worker's pid and its busy mark.
 */
#ifndef HERD_BPF_STEER_H
#define HERD_BPF_STEER_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* `load` of a slot without a live listener: the program never picks it. */
#define STEER_DEAD (~(__u64)0)

struct steer_slot {
	__u64 steered;	    /* written by the program only: connections sent here (atomic add) */
	__u64 load;	    /* written by the worker: in flight + queued when it looked, or STEER_DEAD */
	__u64 seen;	    /* written by the worker: `steered` read just before it looked */
	__u64 inflight;	    /* written by the worker: of load, the connections in flight */
	__u64 published_at; /* written by the worker: CLOCK_MONOTONIC ns of that publication; 0: never */
	__u64 cookie;	    /* written by user space: SO_COOKIE of the slot's listener */
	__u64 tgid;	    /* written by the worker: its pid; 0: not known (no busy state) */
	__u64 busy_since;   /* written by the sched_switch program: ktime it left its wait; 0: waiting */
};

#endif
