/*
 * apache.c - the lab's operations for the Apache httpd peers (server.h),
 * the routes served by mod_lua (LuaMapHandler, one Lua state per thread:
 * LuaScope thread), the counters and workers of peer.c (a worker is a child
 * process of the parent httpd, which only supervises them):
 *
 * - apache-prefork: mpm_prefork, cfg->workers single-threaded children,
 *   fixed (StartServers = ServerLimit = MaxRequestWorkers). With one Listen
 *   Linux builds need no accept mutex (SINGLE_LISTEN_UNSERIALIZED_ACCEPT):
 *   every idle child blocks in accept() on the shared socket, the
 *   kernel's queue of waiters, like herd serve's `blocking`.
 * - apache-event: mpm_event, cfg->workers children of 25 worker threads each
 *   (ThreadsPerChild's default), fixed the same way; in each child one
 *   listener thread polls the shared socket and hands connections to its
 *   idle threads.
 *
 * Started as root, Apache runs its children as www-data (it refuses to serve
 * as root), so the lab's folder is opened for them (lab_peer_prepare).
 */
#include "lab/server.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define APACHE "/usr/sbin/apache2"
#define MODULES "/usr/lib/apache2/modules"
/* mpm_event's default, and the idle-thread bounds that keep every child. */
#define THREADS_PER_CHILD 25

static const char *apache_bin(const struct lab_config *cfg)
{
	return lab_peer_bin(cfg, "apache", APACHE);
}

static bool apache_installed(const struct lab_config *cfg)
{
	const char *files[] = {MODULES "/mod_lua.so",	     MODULES "/mod_mpm_prefork.so", MODULES "/mod_mpm_event.so",
			       MODULES "/mod_authz_core.so", "/usr/lib/*/lua/5.3/posix.so", NULL};
	return access(apache_bin(cfg), X_OK) == 0 && lab_peer_files(files);
}

static int apache_version(const struct lab_config *cfg, char *buf, size_t len)
{
	return lab_peer_version(apache_bin(cfg), "-v", "Apache/", "apache", buf, len);
}

static const char glue[] = "-- Apache mod_lua: the handler LuaMapHandler names.\n"
			   "function handle(r)\n"
			   "  herd.count()\n"
			   "  herd.work(r.args)\n"
			   "  r.content_type = 'text/html'\n"
			   "  r.headers_out['Content-Length'] = tostring(#herd.body)\n"
			   "  r:puts(herd.body)\n"
			   "  return apache2.OK\n"
			   "end\n";

/* The configuration into f; access: the access log's path, or NULL. */
static void write_conf(FILE *f, const struct lab_server *s, bool event, const char *alog)
{
	const struct lab_config *cfg = s->cfg;
	const char *d = s->dir;
	unsigned n = cfg->workers;
	fprintf(f,
		"# written by herd lab: %s\n"
		"ServerRoot %s\n"
		"ServerName 127.0.0.1\n"
		"Listen 127.0.0.1:%u\n"
		"ListenBacklog 511\n"
		"PidFile %s/apache.pid\n"
		"DefaultRuntimeDir %s\n"
		"ErrorLog %s/error.log\n"
		"LogLevel warn\n"
		"%s"
		"LoadModule mpm_%s_module " MODULES "/mod_mpm_%s.so\n"
		"LoadModule authz_core_module " MODULES "/mod_authz_core.so\n"
		"LoadModule lua_module " MODULES "/mod_lua.so\n"
		"StartServers %u\n"
		"ServerLimit %u\n"
		"MaxConnectionsPerChild 0\n",
		s->kind->name, d, cfg->port, d, d, d, geteuid() == 0 ? "User www-data\nGroup www-data\n" : "",
		event ? "event" : "prefork", event ? "event" : "prefork", n, n);
	if (event)
		fprintf(f,
			"ThreadsPerChild %u\n"
			"ThreadLimit %u\n"
			"MaxRequestWorkers %u\n"
			"MinSpareThreads 1\n"
			"MaxSpareThreads %u\n",
			THREADS_PER_CHILD, THREADS_PER_CHILD, n * THREADS_PER_CHILD, n * THREADS_PER_CHILD);
	else
		fprintf(f,
			"MaxRequestWorkers %u\n"
			"MinSpareServers 1\n"
			"MaxSpareServers %u\n",
			n, n);
	fprintf(f,
		"<Location />\n"
		"  Require all granted\n"
		"</Location>\n"
		"LuaScope thread\n"
		"LuaMapHandler \"^/\" %s/handler.lua handle\n",
		d);
	if (alog)
		fprintf(f, "LogFormat \"%%P %%U%%q\" herd\nCustomLog %s herd\n", alog);
}

static int apache_start(struct lab_server *s, const char *tmpdir, char *why, size_t len, bool event)
{
	const struct lab_config *cfg = s->cfg;
	if (!apache_installed(cfg)) {
		snprintf(why, len,
			 "apache2-bin (with mod_lua) or lua-posix is not installed (%s): run scripts/setup.sh peer",
			 apache_bin(cfg));
		return -ENOENT;
	}
	int e = lab_peer_prepare(s, tmpdir, geteuid() == 0, why, len);
	if (e < 0)
		return e;
	char alog[PATH_MAX];
	bool keep = lab_peer_log_path(s, "access.log", alog, sizeof alog) == 0;
	char conf[PATH_MAX + 32];
	e = lab_peer_write_handler(s, LAB_LUA_POSIX, glue);
	snprintf(conf, sizeof conf, "%s/apache.conf", s->dir);
	FILE *f = e ? NULL : fopen(conf, "we");
	if (!e && !f)
		e = -errno;
	if (f) {
		write_conf(f, s, event, keep ? alog : NULL);
		if (fclose(f) != 0)
			e = -EIO;
	}
	if (e < 0) {
		snprintf(why, len, "cannot write the apache configuration under %s: %s", s->dir, strerror(-e));
		return e;
	}
	const char *argv[] = {apache_bin(cfg), "-f", conf, "-DFOREGROUND", NULL};
	e = lab_spawn(argv, s->log, s->cpus, &s->pid);
	if (e < 0)
		snprintf(why, len, "cannot start %s: %s", argv[0], strerror(-e));
	return e;
}

static int prefork_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	return apache_start(s, tmpdir, why, len, false);
}

static int event_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	return apache_start(s, tmpdir, why, len, true);
}

static int apache_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	return lab_peer_counts(s, LAB_PEER_CHILDREN, w, max);
}

/* Before its error log is open Apache writes to stderr (a bind that fails,
 * a module that does not load): the first line is the cause, the later
 * ones say it gives up. */
const struct lab_server_ops lab_server_apache_prefork = {
	.program = "apache (prefork)",
	.start = prefork_start,
	.counts = apache_counts,
	.ready = lab_peer_ready,
	.installed = apache_installed,
	.packages = "apache2-bin and lua-posix",
	.version = apache_version,
	.error_mark = "",
};

const struct lab_server_ops lab_server_apache_event = {
	.program = "apache (event)",
	.start = event_start,
	.counts = apache_counts,
	.ready = lab_peer_ready,
	.installed = apache_installed,
	.packages = "apache2-bin and lua-posix",
	.version = apache_version,
	.error_mark = "",
};
