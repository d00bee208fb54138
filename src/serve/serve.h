/*
 * serve.h - the herd serve master: opens the listeners through the accept
 * model, forks and supervises the workers (respawn, add/remove, reload,
 * graceful stop) and keeps the per-slot counters in shared memory.
 *
 * Signals to the master: SIGTERM/SIGINT stop (in-flight requests finish),
 * SIGTTIN adds a worker, SIGTTOU removes one (never the last), SIGHUP
 * starts a fresh set of workers and retires the old ones once the new ones
 * accept.
 */
#ifndef HERD_SERVE_H
#define HERD_SERVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "serve/accept.h"

struct serve_cfg {
	const struct accept_model *model;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	const char *listen_name; /* ADDR:PORT as given, for messages */
	unsigned workers;	 /* at start */
	unsigned max_workers;	 /* SIGTTIN stops here; slots = 2 * this (reload) */
	int backlog;
	uint64_t header_timeout_ns;
	uint64_t work_us;
	bool io_uring; /* workers run the io_uring loop (--io uring) */
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

/* Parses "ADDR:PORT" or "[IPV6]:PORT" (numeric addresses). 0 or -EINVAL. */
int serve_parse_listen(const char *s, struct sockaddr_storage *addr, socklen_t *len);

#endif
