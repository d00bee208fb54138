/*
 * watch.h - what the `herd watch` eBPF program (bpf/watch.bpf.c) and its
 * collector (src/watch/) share: the map keys and values, and the buckets of
 * the accept-queue wait histogram.
 *
 * Everything the program keeps is cumulative (counts only grow), so user
 * space computes an interval's figures as the difference of two reads and
 * never has to reset a counter the kernel may be writing. The one exception
 * is each value's `epoch_max`: the largest wait (or queue length) seen since
 * user space last advanced `watch_epoch`; the program restarts it when it
 * sees a newer epoch.
 *
 * Wait histogram: nanoseconds, 8 linear sub-buckets per power of two (so a
 * bucket is at most 12.5% wide): values below 8 have a bucket each; a value
 * v >= 8 with highest set bit m goes to (m - 2) * 8 + the 3 bits below m.
 * Values from 2^40 ns (18 minutes) up share the last bucket.
 */
#ifndef HERD_BPF_WATCH_H
#define HERD_BPF_WATCH_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define WATCH_SUB_BITS 3
#define WATCH_MAX_LOG2 40
#define WATCH_NBUCKETS ((WATCH_MAX_LOG2 - 2) * 8)
#define WATCH_MAX_PORTS 64
#define WATCH_MAX_TIDS 16384
#define WATCH_MAX_PAIRS 16384
#define WATCH_MAX_MEMBERS 16384
#define WATCH_MAX_LISTENERS 1024
#define WATCH_MAX_PENDING 65536

/* One accepting thread (key: its tid). Written only by that thread's accept
 * calls, which never run on two CPUs at once, so plain adds suffice; and
 * once by its exit (`exited`), after which its figures are final. */
struct watch_tid {
	__u32 tgid;
	__u32 epoch;  /* epoch of epoch_max */
	__u32 exited; /* the thread has exited: user space folds it and frees the slot */
	__u32 pad;
	__u64 accepted;	    /* every connection accept() returned */
	__u64 timed;	    /* of those, the ones whose queueing the program saw */
	__u64 wait_sum_ns;  /* sum of the timed waits */
	__u64 wait_max_ns;  /* largest timed wait ever */
	__u64 epoch_max_ns; /* largest timed wait in epoch `epoch` */
	__u64 listener_ino; /* inode of the listening socket of the last accept */
	/* The thread's CPU time (ns, se.sum_exec_runtime) and name as of its
	 * last accept, and at its exit: read here so that user space need not
	 * open a /proc file per thread at every read. */
	__u64 cpu_ns;
	char comm[16];
	__u32 hist[WATCH_NBUCKETS];
};

/* Accepts of one process from one listening socket (key), the count
 * (value): what the accepted counts of process rows, listener rows and
 * totals are all summed from, so that they agree in every read (two maps
 * read one after the other could not: an accept may fall between). Any
 * thread of the process adds to it: atomic adds. */
struct watch_pair_key {
	__u32 tgid;
	__u32 pad;
	__u64 ino; /* the listener's inode */
};

/* One listening socket (key: its inode, which no later socket reuses, unlike
 * the struct sock's address). Its queue is written from softirq on any CPU
 * (its accepts are counted in the pairs above). */
struct watch_listener {
	__u64 ino;	   /* socket inode, to match sock_diag and /proc/PID/fd */
	__u64 queued;	   /* connections put in its accept queue */
	__u32 epoch;	   /* epoch of qmax */
	__u32 qmax;	   /* longest queue seen at an enqueue in epoch `epoch` */
	__u32 max_backlog; /* listen() backlog as the kernel applies it */
	__u32 last_tgid;   /* the process that accepted from it last */
	__u16 port;
	__u16 family;
	__u32 pad;
	__u8 addr[16]; /* local address: 4 bytes for AF_INET, 16 for AF_INET6 */
};

/* Histogram bucket of a wait of v ns. Shared by the program and the tests.
 * BPF has no count-leading-zeros instruction, hence the binary search for
 * the highest set bit m. */
static inline __u32 watch_wait_bucket(__u64 v)
{
	__u64 x = v;
	__u32 m = 0;

	if (v < 8)
		return (__u32)v;
	if (v >= (1ULL << WATCH_MAX_LOG2))
		return WATCH_NBUCKETS - 1;
	/* Steps of 32, 16, ..., 1: a bounded loop, which clang unrolls and
	 * the verifier accepts either way. */
	for (__u32 step = 32; step > 0; step >>= 1) {
		if (x >> step) {
			x >>= step;
			m += step;
		}
	}
	return (m - 2) * 8 + (__u32)((v >> (m - 3)) & 7);
}

#endif
