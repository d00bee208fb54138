/*
 * worker.h - one herd serve worker process: the epoll event loop that
 * accepts through the chosen accept model and serves HTTP/1.x connections
 * (keep-alive, pipelining, header timeout: the logic is conn.c's),
 * counting into the shared stats.
 */
#ifndef HERD_WORKER_H
#define HERD_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "serve/accept.h"
#include "serve/stats.h"

struct conn_io;

struct worker_cfg {
	struct accept_group *g;
	struct stats_region *stats;
	unsigned slot;
	int master_pid;		    /* the worker exits when this process dies */
	uint64_t header_timeout_ns; /* whole request head, and idle keep-alive */
	uint64_t work_us;	    /* CPU burnt by `/` */
	uint64_t max_work_us;	    /* cap of /cpu and /sleep (0: the routes' default) */
	bool watch_runs;	    /* publish when each request starts (--worker-timeout) */
	int log_fd;		    /* the access log, -1: none */
	const char *log_path;	    /* reopened on SIGUSR1 */
	bool io_uring;		    /* the io_uring loop (loop_uring.c) instead of epoll */
};

/*
 * Runs in a freshly forked child until SIGTERM (or SIGINT/SIGQUIT) asks it
 * to stop and its in-flight connections are finished. Sets the slot's state
 * (READY once it accepts, LEAVING when stopping) and, when it cannot start,
 * start_err. Returns the process exit status (0, or 1 when it could not
 * start).
 */
int worker_run(const struct worker_cfg *cfg);

/* What both loops do first in the child: die with the master, and block
 * the stop signals, which then arrive through the returned signalfd (see
 * worker.c). *stop is set by a stop signal delivered while unblocked.
 * The signalfd, or a negative errno. */
int worker_prepare(const struct worker_cfg *cfg, volatile sig_atomic_t **stop);

/* The last step of both loops' start: the accept model's attach on aw
 * (filled by the loop), its epoll_ctls published in the slot, then conn.c
 * set up with the loop's I/O. 0 or a negative errno. */
int worker_attach(const struct worker_cfg *cfg, struct accept_worker *aw, const struct conn_io *io);

/* Both loops, stopping, before the model's detach: when the master held
 * back new handshakes for this stop (stats_region.stop_drain), takes every
 * connection still queued on aw's listener through take, which serves it. */
void worker_drain_listener(const struct worker_cfg *cfg, struct accept_worker *aw, void (*take)(int fd));

/* The io_uring loop (loop_uring.c), in the two steps worker_run takes:
 * start (0 or a negative errno), then the loop until stopped (the exit
 * status). */
int worker_uring_start(const struct worker_cfg *cfg);
int worker_uring_loop(void);

#endif
