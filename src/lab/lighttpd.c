/*
 * lighttpd.c - the lab's operation for the lighttpd peer (server.h): one
 * process, one thread, one event loop (lighttpd's default; its
 * server.max-worker forks are discouraged by its own documentation), so
 * the kind is LAB_SERVER_ONE_WORKER like herd serve's `single`. The routes
 * are a mod_magnet script (Lua 5.4), the counters those of peer.c with the
 * server process as the one worker.
 *
 * Debian 12 builds lua-posix for Lua 5.1-5.3 only: the script times its
 * /cpu burn with os.clock (the process's CPU time, which is the thread's
 * here) and blocks in lua-socket's sleep (a nanosleep) for /sleep.
 */
#include "lab/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define LIGHTTPD "/usr/sbin/lighttpd"

static const char *lighttpd_bin(const struct lab_config *cfg)
{
	return lab_peer_bin(cfg, "lighttpd", LIGHTTPD);
}

static bool lighttpd_installed(const struct lab_config *cfg)
{
	const char *files[] = {"/usr/lib/lighttpd/mod_magnet.so", "/usr/lib/*/lua/5.4/socket/core.so", NULL};
	return access(lighttpd_bin(cfg), X_OK) == 0 && lab_peer_files(files);
}

static int lighttpd_version(const struct lab_config *cfg, char *buf, size_t len)
{
	return lab_peer_version(lighttpd_bin(cfg), "-v", "lighttpd/", "lighttpd", buf, len);
}

/* mod_magnet runs the whole script for every request; its return value is
 * the status. */
static const char glue[] = "-- lighttpd mod_magnet: the script is the handler.\n"
			   "herd.count()\n"
			   "local r = lighty.r\n"
			   "herd.work(r.req_attr['uri.query'])\n"
			   "r.resp_header['Content-Type'] = 'text/html'\n"
			   "r.resp_body.set({herd.body})\n"
			   "return 200\n";

static void write_conf(FILE *f, const struct lab_server *s, const char *alog)
{
	const char *d = s->dir;
	fprintf(f,
		"# written by herd lab: %s\n"
		"server.document-root = \"%s\"\n"
		"server.bind = \"127.0.0.1\"\n"
		"server.port = %u\n"
		"server.pid-file = \"%s/lighttpd.pid\"\n"
		"server.listen-backlog = 511\n"
		"server.modules = (\"mod_magnet\"%s)\n"
		"magnet.attract-raw-url-to = (\"%s/handler.lua\")\n",
		s->kind->name, d, s->cfg->port, d, alog ? ", \"mod_accesslog\"" : "", d);
	/* One process: the pid would be the same on every line. */
	if (alog)
		fprintf(f, "accesslog.filename = \"%s\"\naccesslog.format = \"lighttpd %%U %%q\"\n", alog);
}

static int lighttpd_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	const struct lab_config *cfg = s->cfg;
	if (!lighttpd_installed(cfg)) {
		snprintf(
			why, len,
			"lighttpd, lighttpd-modules-lua or lua-socket is not installed (%s): run scripts/setup.sh peer",
			lighttpd_bin(cfg));
		return -ENOENT;
	}
	int e = lab_peer_prepare(s, tmpdir, false, why, len);
	if (e < 0)
		return e;
	char alog[PATH_MAX];
	bool keep = lab_peer_log_path(s, "access.log", alog, sizeof alog) == 0;
	char conf[PATH_MAX + 32];
	e = lab_peer_write_handler(s, LAB_LUA_PLAIN, glue);
	snprintf(conf, sizeof conf, "%s/lighttpd.conf", s->dir);
	FILE *f = e ? NULL : fopen(conf, "we");
	if (!e && !f)
		e = -errno;
	if (f) {
		write_conf(f, s, keep ? alog : NULL);
		if (fclose(f) != 0)
			e = -EIO;
	}
	if (e < 0) {
		snprintf(why, len, "cannot write the lighttpd configuration under %s: %s", s->dir, strerror(-e));
		return e;
	}
	/* -D: in the foreground; without server.errorlog it logs to stderr. */
	const char *argv[] = {lighttpd_bin(cfg), "-D", "-f", conf, NULL};
	e = lab_spawn(argv, s->log, s->cpus, &s->pid);
	if (e < 0)
		snprintf(why, len, "cannot start %s: %s", argv[0], strerror(-e));
	return e;
}

static int lighttpd_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	return lab_peer_counts(s, LAB_PEER_SELF, w, max);
}

const struct lab_server_ops lab_server_lighttpd = {
	.program = "lighttpd",
	.start = lighttpd_start,
	.counts = lighttpd_counts,
	.ready = lab_peer_ready,
	.installed = lighttpd_installed,
	.packages = "lighttpd, lighttpd-modules-lua and lua-socket",
	.version = lighttpd_version,
	/* "(network.c.537) can't bind to socket: ...: Address already in use" */
	.error_mark = "",
};
