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
 */
#ifndef HERD_BPF_STEER_H
#define HERD_BPF_STEER_H

#include <linux/types.h>

/* `load` of a slot without a live listener: the program never picks it. */
#define STEER_DEAD (~(__u64)0)

struct steer_slot {
	__u64 steered; /* written by the program only: connections sent here (atomic add) */
	__u64 load;    /* written by the worker: in flight + queued when it looked, or STEER_DEAD */
	__u64 seen;    /* written by the worker: `steered` read just before it looked */
	__u64 pad[5];  /* one slot per 64-byte cache line */
};

#endif
