/*
 * worker.h - one herd serve worker process: the start-up both event loops
 * share (worker.c) and the loops it runs, each behind a small table (struct
 * worker_loop: loop_epoll.c, loop_uring.c) and each keeping its own state
 * to itself, as redis' ae_*.c backends keep theirs behind apidata. The
 * connection logic both loops drive is conn.c's (conn.h).
 */
#ifndef HERD_WORKER_H
#define HERD_WORKER_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "serve/accept.h"
#include "serve/creds.h"
#include "serve/stats.h"

struct conn_io;

struct worker_cfg {
	struct accept_group *g;
	struct stats_region *stats;
	unsigned slot;
	int master_pid;		       /* the worker exits when this process dies */
	uint64_t header_timeout_ns;    /* whole request head, and a stalled write */
	uint64_t keepalive_timeout_ns; /* idle between two requests; 0: header_timeout_ns */
	unsigned keepalive_requests;   /* answers on one connection, the last with Connection: close; 0: no limit */
	uint64_t work_us;	       /* CPU burnt by `/` */
	uint64_t max_work_us;	       /* cap of /cpu and /sleep (0: the routes' default) */
	bool test_routes;	       /* /cpu and /sleep are served (--test-routes on) */
	bool log_json;		       /* access log lines as JSON (--log-format json) */
	bool watch_runs;	       /* publish when each request starts (--worker-timeout) */
	int master_wake_fd;	       /* eventfd: a request starts while the master naps; -1: none */
	int log_fd;		       /* the access log, -1: none */
	const char *log_path;	       /* reopened on SIGUSR1 */
	bool io_uring;		       /* the io_uring loop (loop_uring.c) instead of epoll (loop_epoll.c) */
	bool no_stats;		       /* /stats, /stats.txt, /metrics answer 404 (they are on --admin) */
	const struct creds *user;      /* run as this user (--user); NULL: as the master */
};

/*
 * Runs in a freshly forked child until SIGTERM (or SIGINT/SIGQUIT) asks it
 * to stop and its in-flight connections are finished. Sets the slot's state
 * (READY once it accepts, LEAVING when stopping) and, when it cannot start,
 * start_err. Returns the process exit status (0, or 1 when it could not
 * start).
 */
int worker_run(const struct worker_cfg *cfg);

/* What the shared start-up hands the loop (the loop keeps the pointer). */
struct worker_env {
	const struct worker_cfg *cfg;
	/* The stop signals (TERM, INT, QUIT) and SIGUSR1 (reopen the access
	 * log), blocked all along: readable here. The loop reads them, and
	 * closes it when it ends. */
	int sigfd;
	/* Set by the signals' handlers, which run only while the loop opens
	 * the mask (around a blocking accept()). The loop sets *stop itself
	 * too, for a stop it finds otherwise (from the signalfd, or the
	 * listener shut down). */
	volatile sig_atomic_t *stop, *reopen;
	sigset_t blocked; /* the worker's signal mask */
	sigset_t open;	  /* the mask around a blocking accept(): nothing blocked */
};

/* An event loop, as worker_run starts and runs it. */
struct worker_loop {
	/* Its I/O for the connection logic, and the size of its connections. */
	const struct conn_io *io;
	/* After the shared start-up, before the model's attach: sets up the
	 * loop (its epoll or ring, the signalfd in it) and the accept_worker
	 * the model attaches to (*aw; the loop's own). worker_run then calls
	 * the model's attach and conn_init. 0 or a negative errno. */
	int (*start)(const struct worker_env *env, struct accept_worker **aw);
	/* Until stopped and no connection is left; ends with conn_fini and
	 * frees the loop's own. The exit status. */
	int (*run)(void);
};

extern const struct worker_loop worker_loop_epoll; /* loop_epoll.c */
extern const struct worker_loop worker_loop_uring; /* loop_uring.c (--io uring) */

#endif
