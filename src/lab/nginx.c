/*
 * nginx.c - the lab's operations for the nginx peers (server.h):
 * nginx-shared (one listen socket, accept_mutex off: nginx's EPOLLEXCLUSIVE
 * path) and nginx-reuseport (a listen socket per worker: the kind's
 * LAB_SERVER_REUSEPORT; both entries are in kind.c), each from a
 * temporary prefix, with a Lua handler that burns CPU and blocks like herd
 * serve's /cpu and /sleep.
 *
 * Per-worker counts come from two sources: connections and requests from
 * the Lua handler's shared dict (served on /stats.txt in the same format as
 * herd serve, keys from serve/statskeys.h), CPU time from /proc/PID/stat of
 * the master's children. Where herd watch's eBPF collector runs
 * (server.c), connections per worker come from it instead of the Lua
 * counter.
 */
#include "lab/server.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/proc.h"
#include "serve/statskeys.h"

static const char nginx_conf[] =
	"# written by herd lab: %s\n"
	"daemon off;\n"
	"master_process on;\n"
	"worker_processes %u;\n"
	"worker_rlimit_nofile 8192;\n"
	"%s"
	"pid %s/nginx.pid;\n"
	"error_log %s/error.log warn;\n"
	"load_module %s/ndk_http_module.so;\n"
	"load_module %s/ngx_http_lua_module.so;\n"
	"events { worker_connections 2048; accept_mutex off; }\n"
	"http {\n"
	"  log_format herd '$pid $request_uri';\n"
	"  access_log %s;\n"
	"  client_body_temp_path %s/body;\n"
	"  proxy_temp_path %s/proxy;\n"
	"  fastcgi_temp_path %s/fastcgi;\n"
	"  uwsgi_temp_path %s/uwsgi;\n"
	"  scgi_temp_path %s/scgi;\n"
	"  lua_shared_dict herd 1m;\n"
	"  init_by_lua_block { require('ffi').cdef('int usleep(unsigned int usec);') }\n"
	"  server {\n"
	"    listen 127.0.0.1:%u backlog=511%s;\n"
	"    location = /stats.txt {\n"
	"      content_by_lua_block {\n"
	"        local d, seen, out = ngx.shared.herd, {}, {}\n"
	"        for _, k in ipairs(d:get_keys(0)) do\n"
	"          local pid = string.sub(k, 2)\n"
	"          if not seen[pid] then\n"
	"            seen[pid] = true\n"
	"            out[#out + 1] = string.format('" STATS_KEY_WORKER " %%d " STATS_KEY_PID " %%s " STATS_KEY_ACCEPTED
	" %%d " STATS_KEY_REQUESTS " %%d " STATS_KEY_CPU_US " 0\\n',\n"
	"              #out, pid, d:get('a' .. pid) or 0, d:get('r' .. pid) or 0)\n"
	"          end\n"
	"        end\n"
	"        ngx.print(table.concat(out))\n"
	"      }\n"
	"    }\n"
	"    location / {\n"
	"      content_by_lua_block {\n"
	"        local d, pid = ngx.shared.herd, ngx.worker.pid()\n"
	"        if ngx.var.connection_requests == '1' then d:incr('a' .. pid, 1, 0) end\n"
	"        d:incr('r' .. pid, 1, 0)\n"
	"        -- /cpu?us=N: burn N us of this worker's CPU time (os.clock is\n"
	"        -- process CPU time, so the loop calibrates itself).\n"
	"        local us = tonumber(ngx.var.arg_us)\n"
	"        if us and us > 0 then\n"
	"          local stop, x = os.clock() + us / 1e6, 0\n"
	"          repeat for i = 1, 100 do x = x + i end until os.clock() >= stop\n"
	"        end\n"
	"        -- /sleep?ms=N: block the whole worker without CPU (ngx.sleep would yield).\n"
	"        local ms = tonumber(ngx.var.arg_ms)\n"
	"        if ms and ms > 0 then require('ffi').C.usleep(ms * 1000) end\n"
	"        ngx.header.content_length = 20\n"
	"        ngx.print('<p>hello, world</p>\\n')\n"
	"      }\n"
	"    }\n"
	"  }\n"
	"}\n";

/* The nginx binary and both modules the configuration loads. */
static bool nginx_installed(const struct lab_config *cfg)
{
	char p[PATH_MAX];
	if (access(cfg->nginx, X_OK) != 0)
		return false;
	snprintf(p, sizeof p, "%s/ngx_http_lua_module.so", cfg->nginx_modules);
	if (access(p, R_OK) != 0)
		return false;
	snprintf(p, sizeof p, "%s/ndk_http_module.so", cfg->nginx_modules);
	return access(p, R_OK) == 0;
}

static int nginx_version(const struct lab_config *cfg, char *buf, size_t len)
{
	return lab_peer_version(cfg->nginx, "-v", "nginx/", "nginx", buf, len);
}

static int nginx_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	const struct lab_config *cfg = s->cfg;
	const char *name = s->kind->name;
	if (!nginx_installed(cfg)) {
		snprintf(why, len,
			 "nginx or its Lua module is not installed (%s, %s/ngx_http_lua_module.so): "
			 "run scripts/setup.sh peer",
			 cfg->nginx, cfg->nginx_modules);
		return -ENOENT;
	}
	bool reuseport = s->kind->flags & LAB_SERVER_REUSEPORT;
	int e = 0;
	if (snprintf(s->dir, sizeof s->dir, "%s/%s", tmpdir, name) >= (int)sizeof s->dir)
		e = -ENAMETOOLONG;
	else if (mkdir(s->dir, 0755) < 0 && errno != EEXIST)
		e = -errno;
	char conf[PATH_MAX + 32];
	snprintf(conf, sizeof conf, "%s/nginx.conf", s->dir);
	FILE *f = e ? NULL : fopen(conf, "we");
	if (!e && !f)
		e = -errno;
	if (f) {
		const char *d = s->dir, *m = cfg->nginx_modules;
		/* --server-logs: "PID URI" per request, the worker's own record. */
		char alog[PATH_MAX + 8] = "off";
		if (lab_peer_log_path(s, "access.log", alog, sizeof alog - 5) == 0)
			strcat(alog, " herd");
		fprintf(f, nginx_conf, name, cfg->workers, geteuid() == 0 ? "user root root;\n" : "", d, d, m, m, alog,
			d, d, d, d, d, cfg->port, reuseport ? " reuseport" : "");
		if (fclose(f) != 0)
			e = -EIO;
	}
	if (e < 0) {
		snprintf(why, len, "cannot write the nginx configuration under %s: %s", tmpdir, strerror(-e));
		return e;
	}
	snprintf(s->log, sizeof s->log, "%s/%s.log", tmpdir, name);
	char errlog[PATH_MAX + 32];
	snprintf(errlog, sizeof errlog, "%s/error.log", s->dir);
	const char *argv[] = {cfg->nginx, "-p", s->dir, "-c", conf, "-e", errlog, NULL};
	e = lab_spawn(argv, s->log, s->cpus, &s->pid);
	if (e < 0)
		snprintf(why, len, "cannot start %s: %s", cfg->nginx, strerror(-e));
	return e;
}

/* Fills w[0..np) for the worker pids: requests from the Lua dict's lines
 * (tmp[0..nt)), connections from herd watch's collector where it runs (the
 * kernel's accepts, whatever nginx does with them; the lab's own counter
 * read adds one connection to one worker per run) or else from the Lua
 * dict (connections whose first request reached location /), CPU time
 * from /proc. */
static void merge_counts(const struct lab_server *s, const int *pids, size_t np, const struct lab_worker *tmp, int nt,
			 struct lab_worker *w)
{
	for (size_t i = 0; i < np; i++) {
		struct lab_worker x = {.index = (unsigned)i, .pid = pids[i]};
		int64_t acc = lab_server_accepts(s, pids[i]);
		for (int j = 0; j < nt; j++)
			if (tmp[j].pid == pids[i]) {
				x.accepted = tmp[j].accepted;
				x.requests = tmp[j].requests;
			}
		if (acc >= 0)
			x.accepted = (uint64_t)acc;
		struct proc_stat st;
		if (proc_stat_read(pids[i], &st) == 0)
			x.cpu_us = proc_ticks_to_us(st.ticks);
		w[i] = x;
	}
}

static int nginx_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	char *body;
	int err = lab_http_get(s->cfg->port, "/stats.txt", 3000, &body);
	if (err < 0)
		return err;
	int *pids = calloc(max, sizeof *pids);
	struct lab_worker *tmp = calloc(max, sizeof *tmp);
	int nt = pids && tmp ? lab_parse_stats(body, tmp, max) : -ENOMEM;
	free(body);
	size_t np = 0;
	if (nt >= 0) {
		np = lab_proc_children(s->pid, pids, max);
		merge_counts(s, pids, np, tmp, nt, w);
	}
	free(pids);
	free(tmp);
	return nt < 0 ? nt : (int)np;
}

/* nginx's workers are the master's children, all of them there. */
static bool nginx_ready(const struct lab_server *s, const struct lab_worker *w, int n)
{
	(void)w;
	return n > 0 && (unsigned)n >= s->cfg->workers;
}

const struct lab_server_ops lab_server_nginx = {
	.program = "nginx",
	.start = nginx_start,
	.counts = nginx_counts,
	/* The Lua handler counts only requests to location /. */
	.counts_requests = 0,
	.ready = nginx_ready,
	.installed = nginx_installed,
	.packages = "nginx and libnginx-mod-http-lua",
	.version = nginx_version,
};
