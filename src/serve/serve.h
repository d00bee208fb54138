/*
 * serve.h - the herd serve master: opens the listeners through the accept
 * model, forks and supervises the workers (respawn, add/remove, reload,
 * graceful stop) and keeps the per-slot counters in shared memory.
 *
 * Signals to the master: SIGTERM/SIGINT stop (in-flight requests finish,
 * for at most --shutdown-timeout),
 * SIGTTIN adds a worker, SIGTTOU removes one (never the last), SIGHUP
 * starts a fresh set of workers and retires the old ones once the new ones
 * accept, SIGUSR1 has the workers reopen the access log (logrotate),
 * SIGUSR2 starts the file at the path herd was started from as a new
 * master on the same listener and retires this one once it is ready
 * (nginx's binary upgrade).
 *
 * Under systemd it takes its listener from socket activation and reports
 * READY, RELOADING and STOPPING through NOTIFY_SOCKET (sysd.h).
 */
#ifndef HERD_SERVE_H
#define HERD_SERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/accept.h"
#include "serve/creds.h"

struct serve_cfg {
	const struct accept_model *model;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *listen_name; /* ADDR:PORT as given, for messages */
	unsigned workers;	 /* at start */
	unsigned max_workers;	 /* SIGTTIN stops here; slots = 2 * this (reload) */
	int backlog;
	uint64_t header_timeout_ns;
	uint64_t keepalive_timeout_ns; /* idle between requests; 0: header_timeout_ns */
	unsigned keepalive_requests;   /* per connection; 0: no limit */
	bool test_routes;	       /* serve /cpu and /sleep (--test-routes on) */
	bool log_json;		       /* --log-format json */
	uint64_t work_us;
	uint64_t max_work_us;	    /* cap of /cpu and /sleep; 0: the routes' default */
	uint64_t worker_timeout_ns; /* a worker in one request longer is killed; 0: never */
	bool socket_activated;	    /* listen on the descriptor systemd passed, not on addr */
	const char *pid_file;	    /* written once listening, removed at exit; NULL: none */
	const char *access_log;	    /* NULL: none */
	char *const *argv;	    /* `serve` and its options, for SIGUSR2's new master; NULL: no upgrade */
	const char *exe;	    /* the file SIGUSR2 execs: the path herd was started from; NULL: unknown */
	const char *version;	    /* herd's version, for the upgrade's log line */
	bool io_uring;		    /* workers run the io_uring loop (--io uring) */
	/* --max-requests N:JITTER: a worker retires, replaced as on a reload,
	 * after N plus a draw in 0..JITTER (per worker) requests; 0: never. */
	unsigned max_requests, max_requests_jitter;
	/* A stop kills the workers still running this long after it began,
	 * closing their connections (--shutdown-timeout). */
	uint64_t shutdown_timeout_ns;
	const struct creds *user; /* workers run as this user (--user); NULL: as the master */
	/* --admin: /stats, /stats.txt and /metrics on this listener, served
	 * by the master, and 404 on the public one. admin_name NULL: none. */
	const char *admin_name;
	struct sockaddr_storage admin_addr;
	socklen_t admin_addrlen;
	/* Every message (listening line, respawns, refusals, the exit table)
	 * goes through this, one line without newline at a time. */
	void (*log)(void *arg, const char *line);
	void *log_arg;
};

/*
 * Runs the server until SIGTERM/SIGINT and every worker has left, then logs
 * the exit table. Returns 0, or a negative errno when it could not start;
 * then `why` names the failed step (e.g. "listen on 127.0.0.1:80") and no
 * process is left behind.
 */
int serve_run(const struct serve_cfg *cfg, char *why, size_t whylen);

/* Room for any name serve_local_name writes. */
#define SERVE_ADDR_MAX 64

/* Names the local address of socket fd as "ADDR:PORT" or "[ADDR]:PORT".
 * 0 or -errno. */
int serve_local_name(int fd, char *buf, size_t len);

#endif
