/*
 * haproxy.c - the lab's operations for the HAProxy peers (server.h): one
 * process, cfg->workers threads (nbthread), the routes served by a Lua
 * service (HAProxy's built-in Lua 5.3, one state per thread:
 * lua-load-per-thread, so the threads do not queue on the global Lua lock),
 * the counters and workers of peer.c (a worker is a thread).
 *
 * - haproxy: one `bind` line, HAProxy's default. Every thread polls the one
 *   listening socket; the thread that accepts a connection hands it to the
 *   less loaded of two threads (tune.listener.multi-queue, on by default).
 * - haproxy-shards (LAB_SERVER_REUSEPORT): a `bind ... thread N` line per
 *   thread, so a listening socket per thread in one SO_REUSEPORT group: what
 *   `shards by-thread` writes from HAProxy 2.7 on (Debian 12 has 2.6).
 *
 * /sleep blocks the thread in nanosleep through lua-posix: core.msleep
 * would yield, and the thread would go on serving others.
 *
 * tune.lua.forced-yield is raised from 10000 instructions to 10^8, so that a
 * request's burn runs to its end as in the other servers' handlers (and herd
 * serve's). With the default every yield cost the thread about 40 us of
 * scheduling (a 1000-round chunk of the loop took 10 us, one with a yield in
 * it up to 90 us): a 1 ms burn cost 2 ms of CPU (the lab measured 2053 us
 * per request), and the interleaved requests counted each other's CPU on
 * the thread's clock. The row would have measured HAProxy's Lua scheduler,
 * not how it spreads connections.
 */
#include "lab/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HAPROXY "/usr/sbin/haproxy"

static const char *haproxy_bin(const struct lab_config *cfg)
{
	return lab_peer_bin(cfg, "haproxy", HAPROXY);
}

static bool haproxy_installed(const struct lab_config *cfg)
{
	const char *files[] = {"/usr/lib/*/lua/5.3/posix.so", NULL};
	return access(haproxy_bin(cfg), X_OK) == 0 && lab_peer_files(files);
}

static int haproxy_version(const struct lab_config *cfg, char *buf, size_t len)
{
	return lab_peer_version(haproxy_bin(cfg), "-v", "HAProxy version ", "haproxy", buf, len);
}

static const char glue[] = "-- HAProxy: an http service, and the thread for the access log.\n"
			   "core.register_fetches('herd_tid', function(txn) return herd.tid or 0 end)\n"
			   "core.register_service('herd', 'http', function(applet)\n"
			   "  herd.count()\n"
			   "  herd.work(applet.qs)\n"
			   "  applet:set_status(200)\n"
			   "  applet:add_header('content-type', 'text/html')\n"
			   "  applet:add_header('content-length', tostring(#herd.body))\n"
			   "  applet:start_response()\n"
			   "  applet:send(herd.body)\n"
			   "end)\n";

/* The configuration into f. logs: the access log goes to stdout (the
 * server's log file), one "PID TID URI" line per request. */
static void write_conf(FILE *f, const struct lab_server *s, bool logs)
{
	const struct lab_config *cfg = s->cfg;
	fprintf(f,
		"# written by herd lab: %s\n"
		"global\n"
		"  nbthread %u\n"
		"  maxconn 4096\n"
		"  lua-load-per-thread %s/handler.lua\n"
		"  tune.lua.forced-yield 100000000\n"
		"%s"
		"defaults\n"
		"  mode http\n"
		"  timeout connect 5s\n"
		"  timeout client 30s\n"
		"  timeout server 30s\n"
		"  timeout http-request 10s\n"
		"  option dontlognull\n"
		"%s"
		"frontend lab\n",
		s->kind->name, cfg->workers, s->dir, logs ? "  log stdout format raw local0\n" : "",
		logs ? "  log global\n  log-format \"%pid %[lua.herd_tid] %HU\"\n" : "");
	/* backlog 511 as the others: HAProxy's default is its maxconn. */
	if (s->kind->flags & LAB_SERVER_REUSEPORT)
		for (unsigned t = 1; t <= cfg->workers; t++)
			fprintf(f, "  bind 127.0.0.1:%u backlog 511 thread %u\n", cfg->port, t);
	else
		fprintf(f, "  bind 127.0.0.1:%u backlog 511\n", cfg->port);
	fprintf(f, "  http-request use-service lua.herd\n");
}

static int haproxy_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	const struct lab_config *cfg = s->cfg;
	if (!haproxy_installed(cfg)) {
		snprintf(why, len, "haproxy or lua-posix is not installed (%s): run scripts/setup.sh peer",
			 haproxy_bin(cfg));
		return -ENOENT;
	}
	int e = lab_peer_prepare(s, tmpdir, false, why, len);
	if (e < 0)
		return e;
	/* With --server-logs the server's whole output is kept: its access
	 * lines go to stdout. */
	char logs[PATH_MAX];
	bool keep = lab_peer_log_path(s, "log", logs, sizeof logs) == 0;
	if (keep)
		snprintf(s->log, sizeof s->log, "%s", logs);
	char conf[PATH_MAX + 32];
	e = lab_peer_write_handler(s, LAB_LUA_POSIX, glue);
	snprintf(conf, sizeof conf, "%s/haproxy.cfg", s->dir);
	FILE *f = e ? NULL : fopen(conf, "we");
	if (!e && !f)
		e = -errno;
	if (f) {
		write_conf(f, s, keep);
		if (fclose(f) != 0)
			e = -EIO;
	}
	if (e < 0) {
		snprintf(why, len, "cannot write the haproxy configuration under %s: %s", s->dir, strerror(-e));
		return e;
	}
	/* -db: in the foreground, one process (no master-worker). */
	const char *argv[] = {haproxy_bin(cfg), "-db", "-f", conf, NULL};
	e = lab_spawn(argv, s->log, s->cpus, &s->pid);
	if (e < 0)
		snprintf(why, len, "cannot start %s: %s", argv[0], strerror(-e));
	return e;
}

/* With one listening socket the thread that accepts a connection is not
 * always the one that serves it: multi-queue hands it to the less loaded of
 * two threads. The collector sees who called accept() (at idle, 60
 * connections one at a time: 25, 16, 8, 11 accepts per thread), the
 * handler who served (15, 15, 15, 15): the connections a thread had to
 * handle are the served ones, one per request as the lab sends them. With
 * a socket per thread (shards) the two are the same. */
static int haproxy_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	int n = lab_peer_counts(s, LAB_PEER_THREADS, w, max);
	for (int i = 0; i < n && !(s->kind->flags & LAB_SERVER_REUSEPORT); i++)
		w[i].accepted = w[i].requests;
	return n;
}

const struct lab_server_ops lab_server_haproxy = {
	.program = "haproxy",
	.start = haproxy_start,
	.counts = haproxy_counts,
	.counts_requests = 0,
	.ready = lab_peer_ready,
	.installed = haproxy_installed,
	.packages = "haproxy and lua-posix",
	.version = haproxy_version,
	/* "[ALERT] ... cannot bind socket (Address already in use) ...", then
	 * a last line that only says it exits. */
	.error_mark = "[ALERT]",
};
