/*
 * watch.h - herd watch's collector: loads bpf/watch.bpf.c, attaches it to
 * the kernel's accept path, and reads what it counted, for any server's
 * listening ports. No printing: `herd watch` (src/cmd/cmd_watch.c) and the
 * lab turn snapshots into tables.
 *
 * A snapshot is cumulative since watch_open() (counts only grow); two
 * snapshots make an interval (src/watch/report.h). Usage:
 *   watch_open(&w, &cfg); loop { watch_read(w, &snap); ... } watch_close(w);
 * (src/watch/loop.h is that loop for herd watch.)
 *
 * What is counted (bpf/watch.bpf.c): accepts on the ports' listeners in
 * this network namespace, with --pid only those of the process and its
 * descendants. Nothing counted is ever dropped: a thread, a process or a
 * listener that is gone keeps its final figures in the snapshots (marked
 * gone or closed), so that every total equals the sum of its parts.
 *
 * Errors (negative errno) from watch_open, for the caller to explain:
 *   -ENOPKG  herd was built without BTF, so without the eBPF program
 *   -ENOENT  no BTF: /sys/kernel/btf/vmlinux (or cfg->btf) does not exist
 *   -ENOEXEC cfg->btf is not BTF (neither raw BTF nor an ELF file with .BTF)
 *   -EPERM   not allowed to load tracing programs (CAP_BPF + CAP_PERFMON)
 *   -ESRCH   --pid: no such process
 *   -EACCES  --pid: the process's file descriptors cannot be read
 *            (/proc/PID/fd: another user's process), so neither can its
 *            listening sockets; watch_proc_fds_readable() tells this apart
 *            from a kernel that refused the program with EACCES
 *   -EADDRNOTAVAIL  nothing listens on the port(s), or the process has no
 *            listening TCP socket
 *   other    libbpf/kernel errors (attach failure: -ENOTSUP ...; libbpf's
 *            own codes from 4000 up: watch_strerror() says them)
 */
#ifndef HERD_WATCH_H
#define HERD_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../bpf/watch.h"

#define WATCH_MAX_OWNERS 16
/* Threads that exit are folded into user space so the kernel map can free
 * them; what user space keeps of them is bounded too (thread churn used to
 * grow it by ~7.5 KiB per exited thread, forever):
 * - per process, one entry summing its exited threads (tid WATCH_TID_EXITED);
 * - with cfg.threads, the first WATCH_MAX_GONE_THREADS exited threads also
 *   keep an entry of their own (a row each), later ones go to their
 *   process's sum;
 * - past WATCH_MAX_GONE_PROCS such per-process sums, those of processes that
 *   no longer exist are summed into one entry of tgid 0 (live processes
 *   keep theirs: the per-process counts stay exact). */
#define WATCH_TID_EXITED (-1)
#define WATCH_MAX_GONE_THREADS 256
#define WATCH_MAX_GONE_PROCS 4096
/* Accept counts of processes that exited, per (process, listener): past
 * this many, those are summed per listener into entries of tgid 0. */
#define WATCH_MAX_GONE_PAIRS 4096
/* Listeners that closed keep their final figures, up to this many; the
 * accepts of later ones count in the totals and in the row of "other
 * listeners" (inode 0) of a report. */
#define WATCH_MAX_CLOSED 1024

struct watch;

/* How the accepts are seen (the ready moment is a tracepoint in both). */
enum watch_probe {
	WATCH_PROBE_AUTO,    /* fexit, else sys_exit */
	WATCH_PROBE_FEXIT,   /* fexit on inet_csk_accept */
	WATCH_PROBE_SYS_EXIT /* raw_syscalls:sys_exit of accept/accept4 */
};

struct watch_config {
	uint16_t ports[WATCH_MAX_PORTS]; /* listening ports to watch */
	unsigned nports;		 /* 0 with pid set: the process tree's ports */
	pid_t pid;			 /* >0: only this process and its descendants */
	bool verbose;			 /* libbpf's warnings to stderr */
	const char *btf;		 /* kernel BTF file; NULL: /sys/kernel/btf/vmlinux */
	enum watch_probe probe;
	bool threads; /* keep exited threads apart (up to WATCH_MAX_GONE_THREADS) */
};

/* One accepting thread, cumulative; or (tid 0, without cfg.threads) the
 * sum of process tgid's live threads (the rows are per process then, and
 * a pool of 10,000 threads made 13 MB snapshots as one entry each); or
 * (tid WATCH_TID_EXITED) the sum of nexited threads of process tgid that
 * exited (tgid 0: of processes that exited, beyond WATCH_MAX_GONE_PROCS). A thread's counts move into the sum
 * when it exits: totals per process are conserved, so an interval is
 * (sum of a process's entries now) - (sum of them before). */
struct watch_thread {
	pid_t tid, tgid;
	uint32_t nexited;
	uint64_t accepted, timed, wait_sum_ns, wait_max_ns;
	uint64_t epoch_max_ns; /* largest wait since the previous read */
	uint64_t listener_ino;
	uint64_t cpu_ns; /* the thread's CPU time as of its last accept (or its exit) */
	char comm[16];	 /* its name then */
	bool gone;	 /* the thread has exited (or a sum of exited ones): figures are final */
	uint32_t hist[WATCH_NBUCKETS];
};

/* Accepts of process tgid from the listener of inode ino, cumulative
 * (tgid 0: of processes that exited, beyond WATCH_MAX_GONE_PAIRS). The
 * accepted counts of process rows, listener rows and totals are sums of
 * these, and only these, so they always agree. */
struct watch_pair {
	pid_t tgid;
	bool gone; /* the process has exited: final */
	uint64_t ino;
	uint64_t accepted;
	char comm[16]; /* gone: the name it had when last seen alive ("" if never) */
};

/* One listening socket on a watched port, or one that closed (closed: its
 * figures are final, qlen and owners empty). */
struct watch_sock {
	uint64_t ino;
	uint16_t port, family;
	uint8_t addr[16];		/* local address (4 bytes for AF_INET) */
	bool closed;			/* closed since: kept so that its accepts stay counted */
	uint64_t queued, accepted;	/* cumulative; accepted: the sum of its pairs */
	uint32_t qmax;			/* longest accept queue seen since the previous read */
	uint32_t qmax_all;		/* ... and since watch_open */
	uint32_t qlen, backlog;		/* queue length now and listen() backlog (sock_diag) */
	pid_t owners[WATCH_MAX_OWNERS]; /* processes holding the socket (/proc/PID/fd) */
	unsigned nowners;
	pid_t last_tgid; /* last process that accepted from it */
};

/* A process that accepts or holds a watched listening socket. */
struct watch_proc {
	pid_t pid, ppid;
	uint64_t cpu_ns;
	char comm[16];
};

struct watch_snapshot {
	uint64_t t_ns; /* CLOCK_MONOTONIC */
	struct watch_thread *threads;
	size_t nthreads, cap_threads;
	struct watch_sock *socks;
	size_t nsocks, cap_socks;
	struct watch_pair *pairs;
	size_t npairs, cap_pairs;
	struct watch_proc *procs; /* live ones only, sorted by pid */
	size_t nprocs, cap_procs;
	uint64_t listen_overflows, listen_drops; /* TcpExt counters, whole netns */
	uint64_t lost;				 /* events the program could not record (maps full) */
	bool sys_exit;				 /* accepts seen at syscall exit (no fexit here, or asked) */
	bool uring;				 /* with sys_exit: and at io_uring accept completions */
	bool target_gone;			 /* --pid: the process has exited (or is a zombie) */
};

/* Loads and attaches the program for cfg's ports (or pid's). */
int watch_open(struct watch **wp, const struct watch_config *cfg);
/* Ports being watched (after --pid resolution). */
size_t watch_ports(const struct watch *w, uint16_t *ports, size_t max);
/* Fills s (arrays reused between calls; zero-initialise s before the first)
 * and starts a new epoch for the per-read maxima. 0 or -errno. */
int watch_read(struct watch *w, struct watch_snapshot *s);
/* True when pid is the watched process or one of its descendants (always
 * true without --pid). */
bool watch_pid_wanted(const struct watch *w, pid_t pid);
/* err as words: libbpf's own codes (4000 and up) too. */
const char *watch_strerror(int err);
void watch_snapshot_free(struct watch_snapshot *s);
void watch_close(struct watch *w);

#endif
