/*
 * report.h - figures of an interval (or of the whole run) from two herd
 * watch snapshots: per accepting process (or thread) accepted, share, rate,
 * accept-queue wait percentiles, CPU time; per listening socket; fairness
 * per listening group. Pure computation over the snapshots; no printing,
 * no kernel access except /proc lookups for --pid filtering.
 *
 * Accepted counts: the total, process rows and listener rows are all sums
 * of the snapshots' (process, listener) pairs, so the total always equals
 * the sum of the listener rows and, without threads, of the process rows.
 * Per-thread rows come from the thread entries, read just before: they can
 * trail the total by the accepts made during a read (or miss the `lost`
 * ones), never exceed it.
 *
 * A listening group is what one set of workers shares: the sockets bound
 * to one address and port, which is a single shared listener or one
 * SO_REUSEPORT group of several. Fairness and the busiest share are
 * computed per group, over its workers, never across groups (two ports, or
 * two addresses on one port, are two servers as far as balance goes).
 */
#ifndef HERD_WATCH_REPORT_H
#define HERD_WATCH_REPORT_H

#include "watch/watch.h"

/* The accept-queue wait of a set of accepts (a row, or all rows): how many
 * were timed (their queueing seen), and percentiles; the percentiles 0 if
 * none was, and a row's max too (the interval's max is the largest the
 * rows saw before that). */
struct watch_wait {
	uint64_t timed;
	uint64_t p50_ns, p90_ns, p99_ns, max_ns;
};

struct watch_row {
	pid_t pid, tid;	 /* tid 0: the whole process; WATCH_TID_EXITED: its exited threads */
	uint64_t exited; /* tid WATCH_TID_EXITED: how many threads */
	bool gone;	 /* the process (thread) has exited: its figures are final */
	char comm[16];	 /* printable ASCII: other bytes '?', space '_' */
	uint64_t accepted;
	double share; /* of all accepts, 0..1 */
	double rate;  /* accepts per second */
	double cpu_s; /* CPU seconds used */
	struct watch_wait wait;
	uint64_t mean_ns; /* mean accept-queue wait; 0 if wait.timed is 0 */
};

/* A listening socket; ino 0: the accepts of closed listeners beyond
 * WATCH_MAX_CLOSED (only when there are any). */
#define WATCH_NO_GROUP (~0u)
struct watch_sock_row {
	uint64_t ino;
	uint16_t port, family;
	uint8_t addr[16];
	bool closed;
	unsigned group;			/* index in the interval's groups; WATCH_NO_GROUP for inode 0 */
	uint64_t accepted, queued;	/* in the interval */
	uint32_t qlen, qmax, backlog;	/* now, longest in the interval (run), listen() backlog */
	pid_t owners[WATCH_MAX_OWNERS]; /* processes holding it */
	unsigned nowners;
};

/* One listening group: sockets of one address and port. Its workers are
 * the processes (threads) that accepted from it in the interval, and the
 * live ones that hold one of its sockets without being the parent of
 * another holder (an idle worker counts as 0; a master is no worker);
 * sums of exited threads or processes are none. */
struct watch_group {
	uint16_t port, family;
	uint8_t addr[16];
	unsigned nsocks, nworkers;
	uint64_t accepted;
	double fairness;      /* Jain's index over the workers' accepts; NAN: n/a (no accept) */
	double busiest_share; /* of the group's accepts; NAN: n/a */
	pid_t busiest_pid, busiest_tid;
};

struct watch_interval {
	double seconds;
	uint64_t accepted;
	/* Over the groups that had accepts: the lowest fairness, the highest
	 * busiest share (and whose); NAN when no group had any. */
	double fairness;
	double busiest_share;
	pid_t busiest_pid, busiest_tid;
	struct watch_wait wait;	   /* all rows' waits together */
	uint64_t overflows, drops; /* ListenOverflows / ListenDrops deltas */
	/* Events the kernel program could not record: mostly accepts by a
	 * thread beyond its table of WATCH_MAX_TIDS (counted by the listener
	 * but by no worker row). Non-zero means the rows miss accepts. */
	uint64_t lost;
	struct watch_row *rows;
	size_t nrows;
	struct watch_sock_row *socks;
	size_t nsocks;
	struct watch_group *groups;
	size_t ngroups;
	bool target_gone; /* --pid: the process has exited (cur's) */
};

/* Figures of cur minus prev. total: maxima since watch_open rather than
 * since prev. threads: one row per thread instead of per process. w (may be
 * NULL) filters idle processes by --pid (the kernel counts only its
 * processes' accepts). Rows cover every process that accepted, exited ones
 * included, and every live process holding a watched socket that is not
 * the parent of another (a master that never accepts is no worker; an idle
 * worker counts as 0). out is overwritten; free with watch_interval_free.
 * 0 or -ENOMEM. */
int watch_report(const struct watch *w, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		 bool threads, bool total, struct watch_interval *out);
void watch_interval_free(struct watch_interval *iv);

/* Lowest value of bucket b, and its width. */
uint64_t watch_bucket_low(uint32_t b);
uint64_t watch_bucket_width(uint32_t b);
/* Nearest-rank percentile p (0..100] of a histogram of n values: the
 * middle of the bucket holding it, capped at max when max > 0. */
uint64_t watch_hist_percentile(const uint64_t *hist, uint64_t n, double p, uint64_t max);
/* Jain's fairness index (sum x)^2 / (n sum x^2); NAN (n/a) for n == 0 or all zero. */
double watch_jain(const uint64_t *x, size_t n);

#endif
