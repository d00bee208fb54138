/*
 * server.h - the lab's operations on a server under test, one table per
 * program, the way the accept models are a table of operations: herd serve
 * (server.c), nginx (nginx.c), and the peers whose Lua handler counts into
 * files (peer.c: haproxy.c, apache.c, lighttpd.c). A server the lab knows by name (struct
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
struct balance_session;

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
	/* The program's version as it reports it ("nginx/1.22.1"): 0 or
	 * -errno. NULL: herd serve, the lab's own binary. */
	int (*version)(const struct lab_config *cfg, char *buf, size_t len);
	/* Where the server's own error line is when it exits: the first line
	 * of its log containing this mark ("[ALERT]"); "" the first line;
	 * NULL the last line. */
	const char *error_mark;
};

extern const struct lab_server_ops lab_server_herd;
extern const struct lab_server_ops lab_server_nginx;
/* The peers with a Lua handler that counts into files (peer.c). */
extern const struct lab_server_ops lab_server_haproxy;
extern const struct lab_server_ops lab_server_apache_prefork;
extern const struct lab_server_ops lab_server_apache_event;
extern const struct lab_server_ops lab_server_lighttpd;

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
	/* herd balance on the server's group (a LAB_SERVER_BALANCE kind),
	 * from just after the server is ready to just before it stops. */
	struct balance_session *balance;
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

/* The id of herd balance's program attached to the server's group
 * (LAB_SERVER_BALANCE kinds), 0 when none is. */
uint32_t lab_server_balance_prog(const struct lab_server *s);
/* What its eviction thread did so far: queues moved, connections in
 * them, failed steps (all 0 without herd balance). */
void lab_server_balance_evictions(const struct lab_server *s, uint64_t *evictions, uint64_t *moved, uint64_t *failures);
/* Detaches it, checking that the group has no program of ours left
 * (lab_server_stop does it too, if this was not called). 0 (also when none
 * was attached), or -errno with why saying what is left. */
int lab_server_balance_detach(struct lab_server *s, char *why, size_t len);

/* Stops the server's process group (SIGTERM, wait_ms, SIGKILL) and reaps it. */
void lab_server_stop(struct lab_server *s, unsigned wait_ms);
/* True when the server exited on its own; why says how. Reaps it. */
bool lab_server_exited(struct lab_server *s, char *why, size_t len);

/* Spawns argv in its own process group with both output streams into log,
 * killed when the lab dies, pinned to the CPU list cpus (NULL: as the lab). */
int lab_spawn(const char *const argv[], const char *log, const char *cpus, pid_t *out);

/* ------------------------------------------------------------ peer.c */

/* The binary of a peer program: cfg's --peer-path PROGRAM=PATH, else def. */
const char *lab_peer_bin(const struct lab_config *cfg, const char *program, const char *def);
/* True when every path of the NULL-terminated list exists; a path may
 * be a glob(3) pattern ("/usr/lib/ * /lua/5.3/posix.so"), true when it
 * matches. */
bool lab_peer_files(const char *const paths[]);
/* Runs `bin arg` (output of both streams, at most 2 s) and copies the
 * version that follows prefix in it ("nginx/" -> "1.22.1") to buf as
 * "NAME VERSION" with name. 0, -ENOENT when prefix is not in the output,
 * -errno when bin cannot run. */
int lab_peer_version(const char *bin, const char *arg, const char *prefix, const char *name, char *buf, size_t len);
/* The version that follows prefix in text, up to the next blank, ')' or
 * ',' (at most len - 1 bytes). 0 or -ENOENT. */
int lab_peer_version_parse(const char *text, const char *prefix, char *buf, size_t len);

/* Makes s->dir (tmpdir/NAME) and its counts/ folder, and s->log
 * (tmpdir/NAME.log) for the server's output. others: the server's workers
 * run as another user (Apache started as root runs them as www-data), so
 * they may enter tmpdir and write in counts/. 0 or -errno, why filled in. */
int lab_peer_prepare(struct lab_server *s, const char *tmpdir, bool others, char *why, size_t len);
/* With --server-logs DIR: DIR/NAME-K.what, K the first number from 1
 * not used yet (one file per server started), into out; 0. -ENOENT
 * without --server-logs, -ENAMETOOLONG. */
int lab_peer_log_path(const struct lab_server *s, const char *what, char *out, size_t len);
/* How a handler's Lua burns and blocks: Lua 5.3 with lua-posix, timed by
 * the thread's CPU clock (POSIX), or a single-threaded Lua 5.4 process
 * with lua-socket, timed by os.clock (PLAIN). */
enum lab_peer_lua { LAB_LUA_POSIX, LAB_LUA_PLAIN };
/* The handler's common Lua into buf: defines the table `herd` with
 * count() (the request counter, counts/PID.TID) and work(query) (?us=N
 * burns N us of CPU, ?ms=N blocks the thread N ms). Length written, or
 * -ENAMETOOLONG. */
int lab_peer_lua(char *buf, size_t len, const char *counts, enum lab_peer_lua how);
/* Writes text to path (created 0644). 0 or -errno. */
int lab_peer_write(const char *path, const char *text);
/* Writes s->dir/handler.lua: lab_peer_lua's common part (counting into
 * s->dir/counts) followed by the server's own glue. 0, -ENAMETOOLONG, or
 * lab_peer_write's -errno. */
int lab_peer_write_handler(const struct lab_server *s, enum lab_peer_lua how, const char *glue);

/* Where a peer's workers are: the children of the server process (its
 * master), the threads of the server process, or the process itself. */
enum lab_peer_workers { LAB_PEER_CHILDREN, LAB_PEER_THREADS, LAB_PEER_SELF };
/* The name and content of one counter file of a peer's handler, counts/PID.TID
 * holding the requests that Lua state answered ("1234\n"). 0 or -EINVAL. */
int lab_peer_parse_count(const char *name, const char *text, int *pid, int *tid, uint64_t *requests);
/* The per-worker counters of a peer: workers where `how` says, requests
 * from the handler's counter files (summed per process for
 * LAB_PEER_CHILDREN and LAB_PEER_SELF, per thread for LAB_PEER_THREADS),
 * connections from herd watch's collector where it runs (else the
 * requests: one per connection, as the lab sends them), CPU time from
 * /proc. Number of workers or -errno. */
int lab_peer_counts(struct lab_server *s, enum lab_peer_workers how, struct lab_worker *w, size_t max);
/* Ready: every worker is up (cfg->workers of them, one for a
 * LAB_SERVER_ONE_WORKER kind) and GET / answers 200. */
bool lab_peer_ready(const struct lab_server *s, const struct lab_worker *w, int n);
/* The children of parent, sorted by pid, at most max. How many. */
size_t lab_proc_children(int parent, int *out, size_t max);

/* A blocking GET of 127.0.0.1:port/path: 0 and the body (malloc'ed,
 * NUL-terminated) for a 200, -EPROTO for another status, -errno otherwise. */
int lab_http_get(unsigned port, const char *path, int timeout_ms, char **body);

#endif
