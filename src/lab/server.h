/*
 * server.h - the lab's operations on a server under test, one table per
 * program, the way the accept models are a table of operations: herd serve
 * (server.c) and nginx (nginx.c). A server the lab knows by name (struct
 * lab_server_kind, lab.h; the table in kind.c) points at one of these; a
 * new peer is one entry there plus, for a new program, one more table
 * here. A new source of per-worker counts for a program (e.g. an eBPF
 * collector for nginx) is one more `counts` function; the lab's runner
 * (lab.c, load.c) only calls through the table.
 *
 * Internal to src/lab/.
 */
#ifndef HERD_LAB_SERVER_H
#define HERD_LAB_SERVER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "lab/lab.h"
#include "watch/watch.h"

struct lab_server;

struct lab_server_ops {
	const char *program; /* "herd serve", "nginx": for messages */
	/* Spawns the server s->kind with its files under tmpdir.
	 * 0 or -errno; why (len bytes) says what failed. */
	int (*start)(struct lab_server *s, const char *tmpdir, char *why, size_t len);
	/* The per-worker counters now, at most max. Number of workers or
	 * -errno; -ESRCH when another server answers on the port (workers
	 * that are not the master's children). */
	int (*counts)(struct lab_server *s, struct lab_worker *w, size_t max);
	/* Requests one counts() call adds to the workers' request counters
	 * (herd serve counts its own /stats.txt request; nginx's Lua handler
	 * does not), subtracted when reconciling. */
	unsigned counts_requests;
	/* True once n workers are ready to take load. */
	bool (*ready)(const struct lab_server *s, const struct lab_worker *w, int n);
	/* True when the program can run with cfg's paths; NULL: always.
	 * packages: what to install when it cannot. */
	bool (*installed)(const struct lab_config *cfg);
	const char *packages;
};

extern const struct lab_server_ops lab_server_herd;
extern const struct lab_server_ops lab_server_nginx;

struct lab_server {
	const struct lab_server_kind *kind;
	const struct lab_server_ops *ops; /* kind->ops */
	const struct lab_config *cfg;
	pid_t pid;  /* the process group leader (master) */
	size_t cap; /* room for this many workers in a snapshot */
	char log[PATH_MAX];
	char dir[PATH_MAX]; /* nginx prefix */
	const char *cpus;   /* CPU list for the server, or NULL (noise.c) */
	/* herd watch's collector on the server's port (NULL where it cannot
	 * run: no BTF, no CAP_BPF/CAP_PERFMON): accepts per worker process
	 * and accept-queue waits, whatever the server. lab_server_counts()
	 * reads it into wsnap[wcur] just before each counters read. */
	struct watch *watch;
	struct watch_snapshot wsnap[2];
	int wcur;
	bool wfresh; /* wsnap[wcur] was read for the current counts() call */
};

/* Starts the server of kind through its operations and waits (at most
 * 15 s) until it is ready. 0; -ECHILD/-ETIMEDOUT/-ENOENT with why filled
 * in; -EINTR when cfg->stop was set. */
int lab_server_start(struct lab_server *s, const struct lab_config *cfg, const char *tmpdir,
		     const struct lab_server_kind *kind, char *why, size_t len);
/* The per-worker counters now (s->ops->counts), after a collector read
 * when the collector runs. Number of workers or -errno. */
int lab_server_counts(struct lab_server *s, struct lab_worker *w, size_t max);
/* Accepts of process pid in the latest collector read, or -1 when there
 * is none for this counts() call. */
int64_t lab_server_accepts(const struct lab_server *s, int pid);

/* Stops the server's process group (SIGTERM, wait_ms, SIGKILL) and reaps it. */
void lab_server_stop(struct lab_server *s, unsigned wait_ms);
/* True when the server exited on its own; why says how. Reaps it. */
bool lab_server_exited(struct lab_server *s, char *why, size_t len);

/* Spawns argv in its own process group with both output streams into log,
 * killed when the lab dies, pinned to the CPU list cpus (NULL: as the lab). */
int lab_spawn(const char *const argv[], const char *log, const char *cpus, pid_t *out);

/* A blocking GET of 127.0.0.1:port/path: 0 and the body (malloc'ed,
 * NUL-terminated) for a 200, -EPROTO for another status, -errno otherwise. */
int lab_http_get(unsigned port, const char *path, int timeout_ms, char **body);

#endif
