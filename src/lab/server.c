/*
 * server.c - starting, watching and stopping the servers the lab measures,
 * the one HTTP GET the lab makes itself (counters, readiness), and the
 * operations for `herd serve` (the nginx ones are in nginx.c).
 *
 * Servers are child processes in their own process group (so a Ctrl-C on the
 * terminal reaches only the lab, which then stops them in order) with
 * PR_SET_PDEATHSIG, so they go away even when the lab is killed outright. The
 * lab makes itself a child subreaper (lab.c) so that workers which outlive
 * their master are reparented to it and can be reaped. Stopping is SIGTERM,
 * a bounded wait, then SIGKILL to the whole group.
 *
 * A LAB_SERVER_BALANCE kind gets herd balance on its SO_REUSEPORT group once
 * it is ready, through the library (src/balance/session.h) rather than a
 * `herd balance` child: the lab then knows at once whether it attached and
 * why not, and detaches it itself before the stop. Nothing ticks the
 * session while the server runs: the lab's servers keep their workers and
 * listeners for the whole run, and the program and its worker tracepoint
 * work without user space (a tick only follows listeners and workers that
 * come and go). The session's eviction thread runs, as in `herd balance`
 * (a stalled worker's queued connections moved to the others), from the
 * attach to the detach, which stops it first.
 */
#include "lab/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "balance/session.h"
#include "http/httpresp.h"
#include "lab/noise.h"
#include "lib/proc.h"
#include "lib/units.h"
#include "lib/util.h"
#include "serve/accept.h"

/* How long a server may take to accept connections with every worker up. */
#define START_TIMEOUT_NS (15 * NS_PER_SEC)

/* The child's half of lab_spawn: never returns. */
static void exec_child(const char *const argv[], int fd, int nul, const char *cpus, pid_t parent)
{
	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(127);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_DFL);
	if (cpus && lab_apply_cpus(cpus) < 0)
		dprintf(fd, "herd lab: cannot pin the server to CPUs %s\n", cpus);
	if (dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
		_exit(127);
	execv(argv[0], (char *const *)argv);
	dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

int lab_spawn(const char *const argv[], const char *log, const char *cpus, pid_t *out)
{
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		exec_child(argv, fd, nul, cpus, parent);
	int e = pid < 0 ? -errno : 0;
	/* Both sides set the group, so it is set whichever runs first; here it
	 * fails harmlessly (EACCES) once the child has exec'd. */
	if (pid > 0)
		(void)setpgid(pid, pid);
	close(fd);
	close(nul);
	if (e == 0)
		*out = pid;
	return e;
}

/* Kills and reaps what is left of a process group whose leader is gone:
 * workers that outlived their master. The group id cannot be reused while
 * any member exists. */
static void kill_leftovers(pid_t pgid)
{
	int st;
	for (int i = 0; i < 100 && kill(-pgid, 0) == 0; i++) {
		kill(-pgid, SIGKILL);
		while (waitpid(-pgid, &st, WNOHANG) > 0)
			;
		util_sleep_ms(10);
	}
}

/* The collector is optional: where it cannot run the lab counts as before
 * (herd serve's own counters, nginx's Lua counter) and has no waits. */
static void watch_attach(struct lab_server *s)
{
	/* threads: an entry per thread, which the peers counted per thread
	 * (HAProxy's) are matched by; without it a process's live threads are
	 * one entry of tid 0, and each thread's accepts read as 0. */
	struct watch_config c = {.nports = 1, .threads = true};

	c.ports[0] = (uint16_t)s->cfg->port;
	if (watch_open(&s->watch, &c) != 0)
		s->watch = NULL;
}

static void watch_detach(struct lab_server *s)
{
	watch_close(s->watch);
	s->watch = NULL;
	watch_snapshot_free(&s->wsnap[0]);
	watch_snapshot_free(&s->wsnap[1]);
	s->wfresh = false;
}

int lab_server_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	s->wfresh = false;
	if (s->watch && watch_read(s->watch, &s->wsnap[s->wcur ^ 1]) == 0) {
		s->wcur ^= 1;
		s->wfresh = true;
	}
	return s->ops->counts(s, w, max);
}

int64_t lab_server_accepts(const struct lab_server *s, int pid)
{
	const struct watch_snapshot *n = &s->wsnap[s->wcur];
	int64_t a = 0;

	if (!s->wfresh)
		return -1;
	for (size_t i = 0; i < n->nthreads; i++)
		if (n->threads[i].tgid == pid)
			a += (int64_t)n->threads[i].accepted;
	return a;
}

/* Attaches herd balance to the server's port, as `herd balance --port P`
 * with its defaults (5 ms stall, worker state on). 0, or -errno with why
 * saying what failed (not root, no BTF, a kernel without the program type,
 * no reuseport group...). */
static int lab_balance_attach(struct lab_server *s, char *why, size_t len)
{
	struct balance_session_config c = {.stall_ns = 5 * NS_PER_MS, .busy = true};
	struct balance_error e;
	int err;

	c.target.ports[0] = (uint16_t)s->cfg->port;
	c.target.nports = 1;
	err = balance_session_open(&s->balance, &c, &e);
	if (err) {
		s->balance = NULL;
		if (e.why == BALANCE_WHY_NONE)
			snprintf(why, len, "herd balance: %s", strerror(-err));
		else
			balance_error_text(&e, why, len);
		return err;
	}
	err = balance_session_evict_start(s->balance, BALANCE_EVICT_NS);
	if (err) {
		snprintf(why, len, "herd balance: cannot start its eviction thread: %s", strerror(-err));
		(void)balance_session_detach(s->balance, &e);
		balance_session_close(s->balance);
		s->balance = NULL;
		return err;
	}
	return 0;
}

int lab_server_balance_detach(struct lab_server *s, char *why, size_t len)
{
	struct balance_error e;
	int err;

	if (!s->balance)
		return 0;
	err = balance_session_detach(s->balance, &e);
	if (err)
		balance_error_text(&e, why, len);
	balance_session_close(s->balance);
	s->balance = NULL;
	return err;
}

void lab_server_balance_evictions(const struct lab_server *s, uint64_t *evictions, uint64_t *moved, uint64_t *failures)
{
	struct balance_evict_stats st = {0};

	if (s->balance)
		balance_session_evict_stats(s->balance, &st);
	*evictions = st.evictions;
	*moved = st.moved;
	*failures = st.failures;
}

uint32_t lab_server_balance_prog(const struct lab_server *s)
{
	return s->balance ? balance_session_prog_id(s->balance) : 0;
}

void lab_server_stop(struct lab_server *s, unsigned wait_ms)
{
	pid_t pid = s->pid;

	/* Before the stop, if the runner has not: a failure here leaves
	 * nothing behind either, since the stop takes the group, and the
	 * program with it, away. */
	char why[256];
	(void)lab_server_balance_detach(s, why, sizeof why);
	watch_detach(s);
	if (pid <= 0)
		return;
	int st;
	bool reaped = false;
	if (kill(pid, SIGTERM) == 0) {
		for (unsigned t = 0; t < wait_ms; t += 10) {
			pid_t r = waitpid(pid, &st, WNOHANG);
			if (r == pid || (r < 0 && errno == ECHILD)) {
				reaped = true;
				break;
			}
			util_sleep_ms(10);
		}
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	kill_leftovers(pid);
	s->pid = 0;
}

/* The server's own line of a file, for "why did it exit": the first
 * non-empty line holding mark ("" any), else the last non-empty line. */
static void server_line(const char *path, const char *mark, char *out, size_t len)
{
	out[0] = '\0';
	FILE *f = fopen(path, "re");
	if (!f)
		return;
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		size_t l = strlen(line);
		while (l && (line[l - 1] == '\n' || line[l - 1] == '\r'))
			line[--l] = '\0';
		if (l)
			snprintf(out, len, "%s", line);
		if (l && mark && strstr(line, mark))
			break;
	}
	fclose(f);
}

bool lab_server_exited(struct lab_server *s, char *why, size_t len)
{
	int st;
	if (s->pid <= 0 || waitpid(s->pid, &st, WNOHANG) != s->pid)
		return false;
	kill_leftovers(s->pid);
	s->pid = 0;
	char line[512];
	server_line(s->log, s->ops->error_mark, line, sizeof line);
	if (!line[0] && s->dir[0]) {
		char errlog[PATH_MAX + 32];
		snprintf(errlog, sizeof errlog, "%s/error.log", s->dir);
		server_line(errlog, s->ops->error_mark, line, sizeof line);
	}
	if (WIFEXITED(st))
		snprintf(why, len, "server exited with status %d: %s", WEXITSTATUS(st),
			 line[0] ? line : "(no message)");
	else
		snprintf(why, len, "server killed by signal %d: %s", WTERMSIG(st), line[0] ? line : "(no message)");
	return true;
}

/* ------------------------------------------------------------------ HTTP */

static void loopback(unsigned port, struct sockaddr_in *sa)
{
	memset(sa, 0, sizeof *sa);
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	sa->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
}

int lab_port_free(unsigned port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	/* SO_REUSEADDR: connections in TIME_WAIT from an earlier run do not
	 * count, only a listener does. */
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	struct sockaddr_in sa;
	loopback(port, &sa);
	int err = bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ? -errno : 0;
	close(fd);
	return err;
}

/* Waits until fd is ready for events or the deadline passes. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = util_now_ns();
		if (now >= deadline)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, (int)((deadline - now) / NS_PER_MS) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

/* Connects to 127.0.0.1:port before the deadline. The fd or -errno. */
static int connect_by(unsigned port, uint64_t deadline)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa;
	loopback(port, &sa);
	int err = 0;
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		err = errno == EINPROGRESS ? wait_fd(fd, POLLOUT, deadline) : -errno;
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (!err && (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr))
			err = soerr ? -soerr : -EIO;
	}
	if (err) {
		close(fd);
		return err;
	}
	return fd;
}

/* Reads the response into *buf (cap *cap) with the shared response parser
 * deciding where it ends. Returns the bytes read or -errno. */
static ssize_t read_response(int fd, uint64_t deadline, char **buf, size_t *cap, struct httpresp *p)
{
	size_t len = 0;
	int rc = HTTPRESP_MORE;
	while (rc == HTTPRESP_MORE) {
		if (len + 1 >= *cap) {
			if (*cap >= (1u << 22))
				return -EFBIG;
			char *nb = realloc(*buf, *cap * 2);
			if (!nb)
				return -ENOMEM;
			*buf = nb;
			*cap *= 2;
		}
		ssize_t r = recv(fd, *buf + len, *cap - 1 - len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR)) {
			int e = wait_fd(fd, POLLIN, deadline);
			if (e < 0)
				return e;
			continue;
		}
		if (r < 0)
			return -errno;
		if (r == 0) {
			rc = httpresp_eof(p);
			break;
		}
		size_t used;
		rc = httpresp_feed(p, *buf + len, (size_t)r, &used);
		len += used;
	}
	return rc == HTTPRESP_DONE ? (ssize_t)len : -EPROTO;
}

int lab_http_get(unsigned port, const char *path, int timeout_ms, char **body)
{
	*body = NULL;
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * NS_PER_MS;
	int fd = connect_by(port, deadline);
	if (fd < 0)
		return fd;
	/* HTTP/1.0: the answer is never chunked, so the body is its last
	 * body_bytes bytes. */
	char req[512];
	int rl = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\n\r\n", path, port);
	size_t cap = 8192;
	char *buf = malloc(cap);
	int err = buf ? 0 : -ENOMEM;
	for (size_t off = 0; !err && off < (size_t)rl;) {
		ssize_t w = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR))
			err = wait_fd(fd, POLLOUT, deadline);
		else if (w < 0)
			err = -errno;
		else
			off += (size_t)w;
	}
	struct httpresp p;
	httpresp_init(&p, false);
	ssize_t len = err ? err : read_response(fd, deadline, &buf, &cap, &p);
	close(fd);
	if (len >= 0 && (p.chunked || p.body_bytes > (uint64_t)len))
		len = -EPROTO;
	if (len >= 0 && p.status != 200)
		len = -EPROTO;
	if (len < 0) {
		free(buf);
		return (int)len;
	}
	size_t start = (size_t)len - (size_t)p.body_bytes;
	memmove(buf, buf + start, (size_t)p.body_bytes);
	buf[p.body_bytes] = '\0';
	*body = buf;
	return 0;
}

/* ------------------------------------------------------------ herd serve */

static int herd_start(struct lab_server *s, const char *tmpdir, char *why, size_t len)
{
	const struct lab_config *cfg = s->cfg;
	const char *model = s->kind->model->name;
	char listen[64], workers[16];
	snprintf(listen, sizeof listen, "127.0.0.1:%u", cfg->port);
	snprintf(workers, sizeof workers, "%u", cfg->workers);
	snprintf(s->log, sizeof s->log, "%s/serve-%s.log", tmpdir, s->kind->name);
	const char *argv[] = {cfg->exe,	  "serve", "--listen",	    listen, "--workers", workers,
			      "--accept", model,   "--test-routes", "on",   NULL};
	int e = lab_spawn(argv, s->log, s->cpus, &s->pid);
	if (e < 0)
		snprintf(why, len, "cannot start %s: %s", cfg->exe, strerror(-e));
	return e;
}

/* True when a worker the counters name is alive and not a child of our
 * master: another server answers on the port. That happens when something
 * took the port between two of the lab's servers: ours then fails to bind
 * and exits, but until it has, the other one answers /stats.txt with every
 * worker up, and the lab would measure it as this model. */
static bool foreign_worker(pid_t master, int pid)
{
	struct proc_stat st;
	return pid > 0 && proc_stat_read(pid, &st) == 0 && st.ppid != master;
}

/* -ESRCH when the answer comes from a server the lab did not start. */
static int herd_counts(struct lab_server *s, struct lab_worker *w, size_t max)
{
	char *body;
	int err = lab_http_get(s->cfg->port, "/stats.txt", 3000, &body);
	if (err < 0)
		return err;
	err = lab_parse_stats(body, w, max);
	free(body);
	for (int i = 0; i < err; i++)
		if (foreign_worker(s->pid, w[i].pid))
			return -ESRCH;
	return err;
}

/* herd serve lists every worker slot, with pid 0 until it is up. */
static bool herd_ready(const struct lab_server *s, const struct lab_worker *w, int n)
{
	(void)s;
	int up = 0;
	for (int i = 0; i < n; i++)
		up += w[i].pid > 0;
	return n > 0 && up == n;
}

const struct lab_server_ops lab_server_herd = {
	.program = "herd serve",
	.start = herd_start,
	.counts = herd_counts,
	/* /stats.txt is a request too, counted before it is answered. */
	.counts_requests = 1,
	.ready = herd_ready,
};

/* ------------------------------------------------------------- lifecycle */

/* Polls until the server is ready, exits, or START_TIMEOUT_NS passes. */
static int wait_ready(struct lab_server *s, char *why, size_t len)
{
	uint64_t deadline = util_now_ns() + START_TIMEOUT_NS;
	struct lab_worker *w = calloc(s->cap, sizeof *w);
	if (!w)
		return -ENOMEM;
	int err = -ETIMEDOUT, last = 0;
	while (util_now_ns() < deadline) {
		if (s->cfg->stop && *s->cfg->stop) {
			err = -EINTR;
			break;
		}
		if (lab_server_exited(s, why, len)) {
			err = -ECHILD;
			break;
		}
		int n = lab_server_counts(s, w, s->cap);
		last = n;
		if (n > 0 && s->ops->ready(s, w, n)) {
			err = 0;
			break;
		}
		util_sleep_ms(20);
	}
	free(w);
	if (err == -ETIMEDOUT && last == -ESRCH)
		snprintf(why, len, "127.0.0.1:%u is answered by a server the lab did not start", s->cfg->port);
	else if (err == -ETIMEDOUT)
		snprintf(why, len, "server did not accept connections on 127.0.0.1:%u within 15 s", s->cfg->port);
	return err;
}

int lab_server_start(struct lab_server *s, const struct lab_config *cfg, const char *tmpdir,
		     const struct lab_server_kind *kind, char *why, size_t len)
{
	const char *cpus = s->cpus;
	memset(s, 0, sizeof *s);
	s->cpus = cpus;
	s->cfg = cfg;
	s->kind = kind;
	s->ops = kind->ops;
	/* Room for more worker slots than asked for: a server may list
	 * respawned or extra workers. */
	s->cap = (size_t)cfg->workers * 2 + 16;
	int e = s->ops->start(s, tmpdir, why, len);
	if (e < 0)
		return e;
	e = wait_ready(s, why, len);
	if (e == 0 && (kind->flags & LAB_SERVER_BALANCE))
		e = lab_balance_attach(s, why, len);
	if (e < 0)
		lab_server_stop(s, 1000);
	else
		watch_attach(s);
	return e;
}
