/*
 * peer.c - what the lab's peers with a Lua handler that counts into files
 * (haproxy.c, apache.c, lighttpd.c) share: their folder, the handler's
 * common Lua, its request counters, their workers (a server's children, its
 * threads, or the server process itself), the version a binary reports, and
 * where --server-logs puts a server's own access log.
 *
 * Why files: herd serve and nginx answer /stats.txt from memory every worker
 * shares (a shared mapping, a lua_shared_dict). HAProxy's Lua states are one
 * per thread and Apache's one per thread or process, with nothing Lua can
 * reach from all of them; so each Lua state writes the requests it answered
 * into a file of its own, counts/PID.TID (lseek + write, before it answers:
 * once the load generator has its answer the count is in the page cache),
 * and the lab reads the folder. That read is no request, so it is in no
 * counter and no connection of the watch collector's.
 */
#include "lab/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/proc.h"
#include "lib/units.h"
#include "lib/util.h"

const char *lab_peer_bin(const struct lab_config *cfg, const char *program, const char *def)
{
	size_t n = strlen(program);
	for (size_t i = 0; i < cfg->npeer_paths; i++)
		if (strncmp(cfg->peer_paths[i], program, n) == 0 && cfg->peer_paths[i][n] == '=')
			return cfg->peer_paths[i] + n + 1;
	return def;
}

bool lab_peer_files(const char *const paths[])
{
	for (size_t i = 0; paths[i]; i++) {
		glob_t g;
		int r = glob(paths[i], GLOB_NOSORT, NULL, &g);
		size_t n = r == 0 ? g.gl_pathc : 0;
		if (r == 0)
			globfree(&g);
		if (n == 0)
			return false;
	}
	return true;
}

int lab_peer_version_parse(const char *text, const char *prefix, char *buf, size_t len)
{
	const char *p = strstr(text, prefix);
	if (!p || len == 0)
		return -ENOENT;
	p += strlen(prefix);
	size_t n = strcspn(p, " \t\r\n),");
	if (n == 0)
		return -ENOENT;
	if (n >= len)
		n = len - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* Reads fd into buf (at most len - 1 bytes, NUL-terminated) until EOF or
 * the deadline. */
static void read_until(int fd, char *buf, size_t len, uint64_t deadline)
{
	size_t off = 0;
	while (off + 1 < len) {
		uint64_t now = util_now_ns();
		if (now >= deadline)
			break;
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int r = poll(&pfd, 1, (int)((deadline - now) / NS_PER_MS) + 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		ssize_t got = read(fd, buf + off, len - 1 - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		off += (size_t)got;
	}
	buf[off] = '\0';
}

int lab_peer_version(const char *bin, const char *arg, const char *prefix, const char *name, char *buf, size_t len)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		close(fds[0]);
		close(fds[1]);
		return e;
	}
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);
		if (nul < 0 || dup2(nul, 0) < 0 || dup2(fds[1], 1) < 0 || dup2(fds[1], 2) < 0)
			_exit(127);
		execl(bin, bin, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char out[4096];
	read_until(fds[0], out, sizeof out, util_now_ns() + 2 * NS_PER_SEC);
	close(fds[0]);
	kill(pid, SIGKILL);
	int st;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 127 && !strstr(out, prefix))
		return -ENOENT;
	char v[64];
	int e = lab_peer_version_parse(out, prefix, v, sizeof v);
	if (e == 0)
		snprintf(buf, len, "%s %s", name, v);
	return e;
}

int lab_peer_prepare(struct lab_server *s, const char *tmpdir, bool others, char *why, size_t len)
{
	char counts[PATH_MAX + 16];
	int e = 0;
	if (snprintf(s->dir, sizeof s->dir, "%s/%s", tmpdir, s->kind->name) >= (int)sizeof s->dir ||
	    snprintf(s->log, sizeof s->log, "%s/%s.log", tmpdir, s->kind->name) >= (int)sizeof s->log)
		e = -ENAMETOOLONG;
	snprintf(counts, sizeof counts, "%s/counts", s->dir);
	if (!e && mkdir(s->dir, 0755) < 0 && errno != EEXIST)
		e = -errno;
	if (!e && mkdir(counts, 0755) < 0 && errno != EEXIST)
		e = -errno;
	/* The lab's folder is 0700 (mkdtemp): workers of another user may pass
	 * through it (not list it) and write their counters. chmod, not the
	 * mode of mkdir: the umask would take the bits away. */
	if (!e && others && (chmod(tmpdir, 0711) < 0 || chmod(counts, 0777) < 0))
		e = -errno;
	if (e < 0)
		snprintf(why, len, "cannot make the %s folder under %s: %s", s->kind->name, tmpdir, strerror(-e));
	return e;
}

int lab_peer_log_path(const struct lab_server *s, const char *what, char *out, size_t len)
{
	if (!s->cfg->server_logs)
		return -ENOENT;
	for (unsigned k = 1; k < 100000; k++) {
		if (snprintf(out, len, "%s/%s-%u.%s", s->cfg->server_logs, s->kind->name, k, what) >= (int)len)
			return -ENAMETOOLONG;
		if (access(out, F_OK) < 0 && errno == ENOENT)
			return 0;
	}
	return -EEXIST;
}

int lab_peer_write(const char *path, const char *text)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -errno;
	int e = fputs(text, f) < 0 ? -EIO : 0;
	if (fclose(f) != 0 && e == 0)
		e = -EIO;
	return e;
}

int lab_peer_write_handler(const struct lab_server *s, enum lab_peer_lua how, const char *glue)
{
	char lua[8192], counts[PATH_MAX + 16], path[PATH_MAX + 16];
	snprintf(counts, sizeof counts, "%s/counts", s->dir);
	int n = lab_peer_lua(lua, sizeof lua, counts, how);
	if (n < 0 || (size_t)n + strlen(glue) >= sizeof lua)
		return -ENAMETOOLONG;
	strcat(lua, glue);
	snprintf(path, sizeof path, "%s/handler.lua", s->dir);
	return lab_peer_write(path, lua);
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* The numeric entries of folder path (pids or tids), sorted; those with
 * keep(id, arg) false left out. */
static size_t numeric_entries(const char *path, bool (*keep)(int, int), int arg, int *out, size_t max)
{
	DIR *d = opendir(path);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long id = strtol(e->d_name, &end, 10);
		if (*end || id <= 0)
			continue;
		if (!keep || keep((int)id, arg))
			out[n++] = (int)id;
	}
	closedir(d);
	qsort(out, n, sizeof *out, cmp_int);
	return n;
}

static bool child_of(int pid, int parent)
{
	struct proc_stat st;
	return proc_stat_read(pid, &st) == 0 && st.ppid == parent;
}

size_t lab_proc_children(int parent, int *out, size_t max)
{
	return numeric_entries("/proc", child_of, parent, out, max);
}

int lab_peer_parse_count(const char *name, const char *text, int *pid, int *tid, uint64_t *requests)
{
	char *end;
	errno = 0;
	long p = strtol(name, &end, 10);
	if (end == name || *end != '.' || p <= 0 || p > INT_MAX)
		return -EINVAL;
	const char *t = end + 1;
	long id = strtol(t, &end, 10);
	if (end == t || *end || id <= 0 || id > INT_MAX)
		return -EINVAL;
	unsigned long long n = strtoull(text, &end, 10);
	if (end == text || (*end && *end != '\n') || errno)
		return -EINVAL;
	*pid = (int)p;
	*tid = (int)id;
	*requests = n;
	return 0;
}

/* Adds the counter files of folder dir to w[0..n): by pid, or by tid when
 * threads. Files of processes that are not workers (gone) are left out. */
static void add_counts(const char *dir, bool threads, struct lab_worker *w, size_t n)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char path[PATH_MAX + 300], text[32];
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t got = read(fd, text, sizeof text - 1);
		close(fd);
		if (got <= 0)
			continue;
		text[got] = '\0';
		int pid, tid;
		uint64_t req;
		if (lab_peer_parse_count(e->d_name, text, &pid, &tid, &req) < 0)
			continue;
		for (size_t i = 0; i < n; i++)
			if (w[i].pid == (threads ? tid : pid))
				w[i].requests += req;
	}
	closedir(d);
}

/* Accepts of thread tid in the collector's latest read, or -1 (none for
 * this counts() call). */
static int64_t thread_accepts(const struct lab_server *s, int tid)
{
	const struct watch_snapshot *n = &s->wsnap[s->wcur];
	if (!s->wfresh)
		return -1;
	int64_t a = 0;
	for (size_t i = 0; i < n->nthreads; i++)
		if (n->threads[i].tid == tid)
			a += (int64_t)n->threads[i].accepted;
	return a;
}

/* utime + stime of process pid or, with thread, of its thread id (the
 * main thread's id is the pid, whose /proc/PID/stat sums every thread). */
static int cpu_us_of(int pid, bool thread, int id, uint64_t *us)
{
	char path[64], buf[1024];
	if (thread)
		snprintf(path, sizeof path, "/proc/%d/task/%d/stat", pid, id);
	else
		snprintf(path, sizeof path, "/proc/%d/stat", id);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t got = read(fd, buf, sizeof buf - 1);
	close(fd);
	struct proc_stat st;
	if (got <= 0 || proc_stat_parse(buf, (size_t)got, &st) < 0)
		return -EIO;
	*us = proc_ticks_to_us(st.ticks);
	return 0;
}

int lab_peer_counts(struct lab_server *s, enum lab_peer_workers how, struct lab_worker *w, size_t max)
{
	int *ids = calloc(max ? max : 1, sizeof *ids);
	if (!ids)
		return -ENOMEM;
	size_t n = 0;
	if (how == LAB_PEER_CHILDREN) {
		n = lab_proc_children(s->pid, ids, max);
	} else if (how == LAB_PEER_THREADS) {
		char task[64];
		snprintf(task, sizeof task, "/proc/%d/task", s->pid);
		n = numeric_entries(task, NULL, 0, ids, max);
	} else if (max > 0 && kill(s->pid, 0) == 0) {
		ids[n++] = s->pid;
	}
	for (size_t i = 0; i < n; i++)
		w[i] = (struct lab_worker){.index = (unsigned)i, .pid = ids[i]};
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/counts", s->dir);
	add_counts(dir, how == LAB_PEER_THREADS, w, n);
	for (size_t i = 0; i < n; i++) {
		int64_t acc = how == LAB_PEER_THREADS ? thread_accepts(s, ids[i]) : lab_server_accepts(s, ids[i]);
		/* Without the collector: one connection per request, the way
		 * the lab sends them. */
		w[i].accepted = acc >= 0 ? (uint64_t)acc : w[i].requests;
		(void)cpu_us_of(s->pid, how == LAB_PEER_THREADS, ids[i], &w[i].cpu_us);
	}
	free(ids);
	return (int)n;
}

bool lab_peer_ready(const struct lab_server *s, const struct lab_worker *w, int n)
{
	(void)w;
	unsigned want = s->kind->flags & LAB_SERVER_ONE_WORKER ? 1 : s->cfg->workers;
	char *body = NULL;
	if (n <= 0 || (unsigned)n < want || lab_http_get(s->cfg->port, "/", 1000, &body) < 0)
		return false;
	free(body);
	return true;
}

/* The common part of the handlers. One table per Lua state, made on its
 * first run and kept in package.loaded: a state lives as long as its
 * thread or process in all three servers, while lighttpd runs the whole
 * script again for every request. The counter file is opened on the first
 * request, in the thread that serves it (HAProxy loads every thread's
 * state from its main thread). */
static const char lua_common[] = "-- written by herd lab: the routes of herd serve's handler. A request\n"
				 "-- with ?us=N burns N us of CPU, with ?ms=N blocks its thread N ms without\n"
				 "-- CPU, then gets 200 \"<p>hello, world</p>\\n\".\n"
				 "local herd = package.loaded.herd_lab\n"
				 "if not herd then\n"
				 "  herd = {n = 0, body = '<p>hello, world</p>\\n'}\n"
				 "  local counts = [==[%s]==]\n"
				 "%s"
				 "%s"
				 "  local function first_number(path)\n"
				 "    local f = assert(io.open(path))\n"
				 "    local v = f:read('n')\n"
				 "    f:close()\n"
				 "    return v\n"
				 "  end\n"
				 "  -- Counted before the answer: the lab reads the file once it has it.\n"
				 "  function herd.count()\n"
				 "    if not herd.f then\n"
				 "      herd.tid = first_number('/proc/thread-self/stat')\n"
				 "      herd.pid = first_number('/proc/self/stat')\n"
				 "      herd.f = assert(io.open(counts .. '/' .. herd.pid .. '.' .. herd.tid, 'w'))\n"
				 "    end\n"
				 "    herd.n = herd.n + 1\n"
				 "    herd.f:seek('set', 0)\n"
				 "    herd.f:write(herd.n, '\\n')\n"
				 "    herd.f:flush()\n"
				 "  end\n"
				 "  function herd.work(q)\n"
				 "    q = '&' .. (q or '')\n"
				 "    local us = tonumber(q:match('&us=(%%d+)'))\n"
				 "    if us and us > 0 then burn(us) end\n"
				 "    local ms = tonumber(q:match('&ms=(%%d+)'))\n"
				 "    if ms and ms > 0 then block(ms) end\n"
				 "  end\n"
				 "  package.loaded.herd_lab = herd\n"
				 "end\n";

/* Lua 5.3 with lua-posix: the thread's own CPU clock (os.clock is the
 * process's, which every thread advances) and a nanosleep that blocks the
 * thread (HAProxy's core.msleep and the like yield to other requests). */
static const char lua_posix[] = "  local pt = require 'posix.time'\n"
				"  local CPU = pt.CLOCK_THREAD_CPUTIME_ID\n"
				"  local function cpu_us()\n"
				"    local t = pt.clock_gettime(CPU)\n"
				"    return t.tv_sec * 1e6 + t.tv_nsec / 1e3\n"
				"  end\n"
				"  local function block(ms)\n"
				"    local ts = {tv_sec = ms // 1000, tv_nsec = ms % 1000 * 1000000}\n"
				"    repeat\n"
				"      local ok, _, _, left = pt.nanosleep(ts)\n"
				"      ts = left\n"
				"    until ok or not ts\n"
				"  end\n";

/* A request's burn: until the CPU clock has advanced us. It runs to its end
 * in all three servers (HAProxy's forced yields are raised past it,
 * haproxy.c), so the clock advances for this request only. */
static const char lua_burn[] = "  local function burn(us)\n"
			       "    local stop, x = cpu_us() + us, 0\n"
			       "    repeat for i = 1, 100 do x = x + i end until cpu_us() >= stop\n"
			       "  end\n";

/* A single-threaded process on Lua 5.4, which lua-posix does not build
 * for in Debian 12: os.clock is the process's CPU time, and lua-socket's
 * sleep is a nanosleep. */
static const char lua_plain[] = "  local sleep = require('socket.core').sleep\n"
				"  local function cpu_us() return os.clock() * 1e6 end\n"
				"  local function block(ms) sleep(ms / 1000) end\n";

int lab_peer_lua(char *buf, size_t len, const char *counts, enum lab_peer_lua how)
{
	int n = snprintf(buf, len, lua_common, counts, how == LAB_LUA_PLAIN ? lua_plain : lua_posix, lua_burn);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : n;
}
