/*
 * stats.h - per-worker counters shared by the master and every worker of
 * herd serve, and their /stats (JSON) and /stats.txt renderings.
 *
 * The region is one anonymous MAP_SHARED mapping the master creates before
 * its first fork, sized for the run-time maximum of worker slots. Each
 * counter has one writer (its worker, or the master for cpu_done_us and the
 * slot's identity); readers in other processes see relaxed atomic loads.
 */
#ifndef HERD_STATS_H
#define HERD_STATS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "serve/accesslog.h"

/* Relaxed atomic access to the region's fields, as every process reads and
 * writes them (one writer per field, see above). */
#define STATS_LD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STATS_STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define STATS_ADD(x, n) atomic_fetch_add_explicit(&(x), (n), memory_order_relaxed)

enum stats_state {
	STATS_FREE = 0, /* no worker in this slot */
	STATS_STARTING, /* forked, not accepting yet */
	STATS_READY,	/* attached: accepting */
	STATS_LEAVING,	/* told to leave: finishing its connections */
};

/*
 * Responses by status class and the request-duration histogram of
 * /metrics. Kept per slot (one writer: the slot's worker of the moment)
 * and summed over every slot, free ones included, when /metrics is read:
 * freeing a slot clears everything before resp but not resp, so the totals
 * only grow across reloads, TTOU and respawns. resp must stay the last
 * member of struct stats_slot.
 */
enum { STATS_CLASSES = 5, STATS_BUCKETS = 14 };
/* Upper bounds of the histogram's buckets, in microseconds. */
#define STATS_BUCKET_US                                                                                          \
	{                                                                                                        \
		100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000, 2500000, 10000000 \
	}
struct stats_resp {
	_Atomic uint64_t status[STATS_CLASSES]; /* 1xx .. 5xx */
	_Atomic uint64_t bucket[STATS_BUCKETS]; /* not cumulative; above the last bound: count - their sum */
	_Atomic uint64_t count;
	_Atomic uint64_t sum_ns;
};

/* A response of status sent; ns: how long its request took, or
 * UINT64_MAX for a response kept out of the histogram. */
void stats_resp_add(struct stats_resp *r, int status, uint64_t ns);

struct stats_slot {
	_Atomic int pid;
	_Atomic unsigned state;	   /* enum stats_state */
	_Atomic unsigned inflight; /* requests being run: parsed, answer not yet written (conn.c) */
	_Atomic unsigned conns;	   /* open connections */
	_Atomic int start_err;	   /* negative errno when the worker could not start */
	_Atomic uint64_t accepted;
	_Atomic uint64_t requests;
	_Atomic uint64_t resets;      /* peer reset or broken pipe mid-connection */
	_Atomic uint64_t timeouts;    /* 408 answers and idle keep-alive closes */
	_Atomic uint64_t bad;	      /* 4xx/5xx answers to malformed requests */
	_Atomic uint64_t accept_errs; /* EMFILE/ENFILE/ENOBUFS/ENOMEM from accept */
	_Atomic uint64_t epoll_ctls;  /* epoll_ctl calls on the listener */
	_Atomic uint64_t cpu_done_us; /* CPU of earlier processes in this slot (master) */
	/* When the request the worker is running began (monotonic ns), 0
	 * when it runs none: the master's --worker-timeout watches it. */
	_Atomic uint64_t run_since_ns;
	/* The slot's own listener (ACCEPT_PER_SLOT models), for /stats.txt. */
	_Atomic uint64_t listen_ino; /* socket inode, 0 when none */
	_Atomic unsigned listen_max; /* backlog limit the kernel applies */
	/* Access log lines lost (a full disk), and the -errno of the write
	 * that lost the last ones (-EBUSY, -ESTALE: see accesslog_flush). */
	_Atomic uint64_t log_dropped;
	_Atomic int log_err;
	struct stats_resp resp; /* last: freeing a slot keeps it (see above) */
};

struct stats_region {
	unsigned nslots;
	_Atomic uint64_t shared_ino; /* the shared listener, 0 when per-slot */
	_Atomic unsigned shared_max;
	struct accesslog_shared log; /* the workers' access log state (accesslog.h) */
	/* Set by the master when a stop held back new handshakes (drain.c)
	 * before telling the workers to leave: a leaving worker then accepts
	 * what is left in its listener's queue before it lets go of it. */
	_Atomic unsigned stop_drain;
	/* Set by the master (models that evict: steer) before it sleeps for
	 * long, having seen no request for a while; the first worker to start
	 * a request then clears it and wakes the master (worker_cfg's
	 * master_wake_fd), which could not see a stall begin while asleep. */
	_Atomic unsigned master_napping;
	struct stats_slot slot[];
};

/* Maps a zeroed shared region for nslots slots. 0 or -errno. */
int stats_create(unsigned nslots, struct stats_region **out);
void stats_destroy(struct stats_region *r);

/* Zeroes the slot's gauges (conns, inflight, run_since_ns): the master
 * calls it when it reaps the slot's worker, whose connections and request
 * died with it. The counters stay: a slot's counters span its workers. */
void stats_slot_reset_gauges(struct stats_slot *s);

/* CPU time (utime + stime) of a live process in microseconds, from
 * /proc/PID/stat; 0 when the process is gone. */
uint64_t stats_proc_cpu_us(int pid);

/* Records a listener's inode and backlog limit (TCP_INFO tcpi_sacked). */
int stats_listener_info(int fd, uint64_t *ino, unsigned *max);

/* Current accept queue of the listener with this inode, from TCP_INFO when
 * fd >= 0, else from /proc/net/tcp and tcp6. 0 or -errno (-ENOENT). */
int stats_listener_queue(int fd, uint64_t ino, unsigned *queue);

/* Renders every used slot as text (one `worker ...` line each, then one
 * `listen queue Q max M` line per listener) or JSON into buf. own_fd is a
 * listener the caller holds (its own or the shared one; -1 none) and own_ino
 * its inode. Returns the length, or -ENOSPC when buf is too small. */
int stats_format_text(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap);
int stats_format_json(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap);
/* The same counters in the Prometheus text exposition format (/metrics). */
int stats_format_prom(const struct stats_region *r, int own_fd, uint64_t own_ino, char *buf, size_t cap);
/* Bytes the renderings of nslots slots may need at most. */
size_t stats_format_max(unsigned nslots);

#endif
