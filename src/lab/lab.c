/*
 * lab.c - runs the seed article's experiment: every accept model under every
 * scenario, with per-worker counters read from the server around each run.
 *
 * Servers are child processes in their own process group (so a Ctrl-C on the
 * terminal reaches only the lab, which then stops them in order) with
 * PR_SET_PDEATHSIG, so they go away even when the lab is killed outright. The
 * lab makes itself a child subreaper so that workers which outlive their
 * master are reparented to it and can be reaped. Stopping is SIGTERM, a
 * bounded wait, then SIGKILL to the whole group.
 *
 * Nothing here prints: progress and notes go through cfg->progress.
 */
#include "lab/lab.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/hdr.h"
#include "lib/util.h"

/* ------------------------------------------------------------------ names */

static const char *const scenario_names[LAB_SCENARIO_COUNT] = {"seed", "idle", "stall", "sweep"};
static const char *const scenario_summaries[LAB_SCENARIO_COUNT] = {
	"connection per request, CPU-burning handler, many concurrent clients",
	"one connection at a time: light load, where one-worker-takes-all shows",
	"a few requests block their worker without CPU: what happens to the others",
	"open-loop rate steps up to the capacity measured in seed: p99 against load",
};

const double lab_curve_percentiles[LAB_CURVE_POINTS] = {
	0, 10, 20, 30, 40, 50, 60, 70, 75, 80, 85, 90, 95, 97, 98, 99, 99.5, 99.7, 99.9, 99.95, 99.99, 100,
};

const char *lab_scenario_name(enum lab_scenario s)
{
	return (unsigned)s < LAB_SCENARIO_COUNT ? scenario_names[s] : "?";
}

const char *lab_scenario_summary(enum lab_scenario s)
{
	return (unsigned)s < LAB_SCENARIO_COUNT ? scenario_summaries[s] : "?";
}

int lab_scenario_parse(const char *name)
{
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		if (strcmp(name, scenario_names[i]) == 0)
			return i;
	return -EINVAL;
}

bool lab_is_peer(const char *name)
{
	return strcmp(name, LAB_PEER_SHARED) == 0 || strcmp(name, LAB_PEER_REUSEPORT) == 0;
}

static const double default_fractions[] = {0.1, 0.25, 0.5, 0.75, 0.9, 1.0};

void lab_config_init(struct lab_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	for (int i = 0; i < LAB_SCENARIO_COUNT; i++)
		cfg->scenarios[i] = true;
	cfg->workers = 4;
	cfg->concurrency = 200;
	cfg->port = 8181;
	cfg->requests = 3000;
	cfg->idle_requests = 200;
	cfg->idle_rate = 100;
	cfg->cpu_us = 1000;
	cfg->stall_every = 100;
	cfg->stall_ms = 50;
	cfg->step_s = 1.0;
	cfg->fractions = default_fractions;
	cfg->nfractions = sizeof default_fractions / sizeof default_fractions[0];
	cfg->warmup = 100;
	cfg->timeout_s = 10;
	cfg->exe = "/proc/self/exe";
	cfg->nginx = "/usr/sbin/nginx";
	cfg->nginx_modules = "/usr/lib/nginx/modules";
}

/* ------------------------------------------------------------ statistics */

double lab_jain(const double *x, size_t n)
{
	if (n == 0)
		return 1;
	double sum = 0, sq = 0;
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		sq += x[i] * x[i];
	}
	if (sq <= 0)
		return 1; /* every worker got nothing: equal shares */
	return sum * sum / ((double)n * sq);
}

/* Fills jain/max/min of one kind of counter. */
static void balance_of(const double *x, size_t n, double *jain, double *maxs, double *mins, double *mom)
{
	double sum = 0, mx = 0, mn = INFINITY;
	for (size_t i = 0; i < n; i++) {
		sum += x[i];
		if (x[i] > mx)
			mx = x[i];
		if (x[i] < mn)
			mn = x[i];
	}
	if (n == 0)
		mn = 0;
	*jain = lab_jain(x, n);
	*maxs = sum > 0 ? mx / sum : 0;
	*mins = sum > 0 ? mn / sum : 0;
	*mom = mn > 0 ? mx / mn : (mx > 0 ? INFINITY : 1);
}

void lab_balance_compute(const struct lab_worker *w, size_t n, struct lab_balance *b)
{
	double cpu[n ? n : 1], conn[n ? n : 1];
	for (size_t i = 0; i < n; i++) {
		cpu[i] = (double)w[i].cpu_us;
		conn[i] = (double)w[i].accepted;
	}
	balance_of(cpu, n, &b->jain_cpu, &b->max_share_cpu, &b->min_share_cpu, &b->max_over_min_cpu);
	balance_of(conn, n, &b->jain_conn, &b->max_share_conn, &b->min_share_conn, &b->max_over_min_conn);
}

/* Reads one unsigned decimal token; returns the position after it or NULL. */
static const char *scan_u64(const char *p, uint64_t *v)
{
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p < '0' || *p > '9')
		return NULL;
	uint64_t x = 0;
	while (*p >= '0' && *p <= '9') {
		x = x * 10 + (uint64_t)(*p - '0');
		p++;
	}
	*v = x;
	return p;
}

int lab_parse_stats(const char *text, struct lab_worker *out, size_t max)
{
	size_t n = 0;
	const char *line = text;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		if (len > 7 && strncmp(line, "worker ", 7) == 0) {
			struct lab_worker w = {0};
			uint64_t v;
			bool have_pid = false;
			const char *p = scan_u64(line + 7, &v);
			if (!p)
				return -EINVAL;
			w.index = (unsigned)v;
			/* Then " key value" pairs, in any order; unknown keys are skipped. */
			while (p < line + len) {
				while (p < line + len && (*p == ' ' || *p == '\t'))
					p++;
				if (p >= line + len || *p == '\r')
					break;
				const char *k = p;
				while (p < line + len && *p != ' ' && *p != '\t')
					p++;
				size_t klen = (size_t)(p - k);
				const char *q = scan_u64(p, &v);
				if (!q || q > line + len || (*q != ' ' && *q != '\t' && *q != '\n' && *q != '\r' && *q)) {
					/* A value that is not a number ("state ready") is
					 * fine for keys we do not use: skip the word. */
					while (p < line + len && (*p == ' ' || *p == '\t'))
						p++;
					while (p < line + len && *p != ' ' && *p != '\t')
						p++;
					v = UINT64_MAX;
				} else {
					p = q;
				}
				bool num = v != UINT64_MAX;
				if ((klen == 3 && strncmp(k, "pid", 3) == 0) || (klen == 8 && strncmp(k, "accepted", 8) == 0) ||
				    (klen == 8 && strncmp(k, "requests", 8) == 0) || (klen == 6 && strncmp(k, "cpu_us", 6) == 0)) {
					if (!num)
						return -EINVAL;
				}
				if (klen == 3 && strncmp(k, "pid", 3) == 0) {
					w.pid = (int)v;
					have_pid = true;
				} else if (klen == 8 && strncmp(k, "accepted", 8) == 0)
					w.accepted = v;
				else if (klen == 8 && strncmp(k, "requests", 8) == 0)
					w.requests = v;
				else if (klen == 6 && strncmp(k, "cpu_us", 6) == 0)
					w.cpu_us = v;
			}
			if (!have_pid)
				return -EINVAL;
			if (n < max)
				out[n] = w;
			n++;
		}
		line = eol ? eol + 1 : NULL;
	}
	return (int)(n < max ? n : max);
}

static uint64_t sub_or_new(uint64_t after, uint64_t before, bool respawned)
{
	/* A respawned worker's counters restart at 0; if this server keeps them
	 * per slot instead, they only grow, and the difference is right. */
	(void)respawned;
	return after < before ? after : after - before;
}

size_t lab_stats_delta(const struct lab_worker *before, size_t nb, const struct lab_worker *after,
		       size_t na, struct lab_worker *out)
{
	for (size_t i = 0; i < na; i++) {
		const struct lab_worker *b = NULL;
		for (size_t j = 0; j < nb; j++)
			if (before[j].index == after[i].index) {
				b = &before[j];
				break;
			}
		out[i] = after[i];
		if (!b)
			continue; /* a slot that appeared: everything it did is new */
		out[i].respawned = b->pid != after[i].pid;
		out[i].accepted = sub_or_new(after[i].accepted, b->accepted, out[i].respawned);
		out[i].requests = sub_or_new(after[i].requests, b->requests, out[i].respawned);
		out[i].cpu_us = sub_or_new(after[i].cpu_us, b->cpu_us, out[i].respawned);
	}
	return na;
}

/* ------------------------------------------------------------- processes */

void lab_free_strings(char **v, size_t n)
{
	if (!v)
		return;
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Starts argv with stdout/stderr into log (or a pipe when log is NULL and
 * pipefd is given), in its own process group, killed when we die. */
static int spawn(const char *const argv[], const char *log, int pipefd, pid_t *out)
{
	int fd = pipefd;
	if (log) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return -errno;
	}
	int nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (nul < 0) {
		int e = -errno;
		if (log)
			close(fd);
		return e;
	}
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = -errno;
		if (log)
			close(fd);
		close(nul);
		return e;
	}
	if (pid == 0) {
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
		/* A log takes both streams; a pipe only stdout (a warning on
		 * stderr must not be read as data). */
		if (dup2(nul, 0) < 0 || dup2(fd, 1) < 0 || (log && dup2(fd, 2) < 0))
			_exit(127);
		execv(argv[0], (char *const *)argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	/* Both sides set the group, so it is set whichever runs first; here it
	 * fails harmlessly (EACCES) once the child has exec'd. */
	(void)setpgid(pid, pid);
	if (log)
		close(fd);
	close(nul);
	*out = pid;
	return 0;
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
		sleep_ms(10);
	}
}

/* Stops a process group led by pid: SIGTERM, up to wait_ms, then SIGKILL;
 * reaps the leader and any member reparented to us. */
static void stop_group(pid_t pid, unsigned wait_ms)
{
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
			sleep_ms(10);
		}
	}
	if (!reaped) {
		kill(-pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	kill_leftovers(pid);
}

int lab_list_models(const char *exe, char ***names, char ***summaries, size_t *n)
{
	*names = NULL;
	*summaries = NULL;
	*n = 0;
	int p[2];
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	const char *argv[] = {exe, "serve", "--list-models", NULL};
	pid_t pid;
	int err = spawn(argv, NULL, p[1], &pid);
	close(p[1]);
	if (err < 0) {
		close(p[0]);
		return err;
	}
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	while (buf) {
		if (len + 1 >= cap) {
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(p[0], buf + len, cap - 1 - len);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += (size_t)r;
	}
	close(p[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (!buf)
		return -ENOMEM;
	buf[len] = '\0';
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		free(buf);
		return -ENOENT;
	}
	size_t lines = 0;
	for (char *c = buf; *c; c++)
		lines += *c == '\n';
	char **nm = calloc(lines + 1, sizeof *nm), **sm = calloc(lines + 1, sizeof *sm);
	err = (nm && sm) ? 0 : -ENOMEM;
	size_t k = 0;
	for (char *line = buf; !err && line && *line;) {
		char *eol = strchr(line, '\n');
		if (eol)
			*eol = '\0';
		char *tab = strchr(line, '\t');
		if (tab)
			*tab = '\0';
		if (*line) {
			nm[k] = strdup(line);
			sm[k] = strdup(tab ? tab + 1 : "");
			if (!nm[k] || !sm[k])
				err = -ENOMEM;
			k++;
		}
		line = eol ? eol + 1 : NULL;
	}
	free(buf);
	if (!err && k == 0)
		err = -ENOENT;
	if (err) {
		lab_free_strings(nm, k);
		lab_free_strings(sm, k);
		return err;
	}
	*names = nm;
	*summaries = sm;
	*n = k;
	return 0;
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

/* Connects to 127.0.0.1:port within timeout_ms. Returns the fd or -errno. */
static int connect_timeout(unsigned port, int timeout_ms)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	struct sockaddr_in sa;
	loopback(port, &sa);
	if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		if (errno != EINPROGRESS) {
			int e = -errno;
			close(fd);
			return e;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLOUT};
		int r = poll(&pfd, 1, timeout_ms);
		int soerr = 0;
		socklen_t sl = sizeof soerr;
		if (r <= 0) {
			close(fd);
			return r == 0 ? -ETIMEDOUT : -errno;
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
			close(fd);
			return soerr ? -soerr : -EIO;
		}
	}
	return fd;
}

/* A small blocking GET: returns 0 and the body (malloc'ed, NUL-terminated)
 * when the status is 200, -EPROTO for another status, -errno otherwise. */
static int http_get(unsigned port, const char *path, int timeout_ms, char **body)
{
	*body = NULL;
	uint64_t deadline = util_now_ns() + (uint64_t)timeout_ms * 1000000u;
	int fd = connect_timeout(port, timeout_ms);
	if (fd < 0)
		return fd;
	char req[512];
	int rl = snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: 127.0.0.1:%u\r\nConnection: close\r\n\r\n",
			  path, port);
	int err = 0;
	size_t cap = 8192, len = 0, off = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (off < (size_t)rl) {
		ssize_t w = send(fd, req + off, (size_t)rl - off, MSG_NOSIGNAL);
		if (w < 0 && (errno == EAGAIN || errno == EINTR)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};
			poll(&pfd, 1, 10);
			if (util_now_ns() > deadline) {
				err = -ETIMEDOUT;
				goto out;
			}
			continue;
		}
		if (w < 0) {
			err = -errno;
			goto out;
		}
		off += (size_t)w;
	}
	long clen = -1;
	char *hend = NULL;
	for (;;) {
		if (hend && clen >= 0 && len >= (size_t)(hend + 4 - buf) + (size_t)clen)
			break;
		uint64_t now = util_now_ns();
		if (now >= deadline) {
			err = -ETIMEDOUT;
			goto out;
		}
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		int pr = poll(&pfd, 1, (int)((deadline - now) / 1000000u) + 1);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0) {
			err = -errno;
			goto out;
		}
		if (pr == 0)
			continue;
		if (len + 1 >= cap) {
			if (cap >= (1u << 22)) {
				err = -EFBIG;
				goto out;
			}
			ptrdiff_t hoff = hend ? hend - buf : -1;
			char *nb = realloc(buf, cap * 2);
			if (!nb) {
				err = -ENOMEM;
				goto out;
			}
			hend = hoff >= 0 ? nb + hoff : NULL;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = recv(fd, buf + len, cap - 1 - len, 0);
		if (r < 0 && (errno == EAGAIN || errno == EINTR))
			continue;
		if (r < 0) {
			err = -errno;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
		buf[len] = '\0';
		if (!hend && (hend = strstr(buf, "\r\n\r\n")) != NULL) {
			/* Content-Length, case-insensitively, within the header. */
			for (char *h = buf; h && h < hend; h = strstr(h, "\r\n")) {
				h += 2;
				if (strncasecmp(h, "content-length:", 15) == 0) {
					clen = strtol(h + 15, NULL, 10);
					break;
				}
			}
		}
	}
	buf[len] = '\0';
	hend = strstr(buf, "\r\n\r\n");
	if (!hend || strncmp(buf, "HTTP/1.", 7) != 0) {
		err = -EPROTO;
		goto out;
	}
	if (strncmp(buf + 8, " 200", 4) != 0) {
		err = -EPROTO;
		goto out;
	}
	memmove(buf, hend + 4, len - (size_t)(hend + 4 - buf) + 1);
	*body = buf;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return err;
}

/* --------------------------------------------------------------- /proc */

/* The ppid and utime+stime (in clock ticks) of a process. */
static int proc_stat(int pid, int *ppid, uint64_t *ticks)
{
	char path[64], buf[1024];
	snprintf(path, sizeof path, "/proc/%d/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t r = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (r <= 0)
		return -EIO;
	buf[r] = '\0';
	/* The command name is in parentheses and may itself hold ") ". */
	char *p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	char state;
	int pp;
	unsigned long long ut, st;
	if (sscanf(p + 1, " %c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &pp, &ut, &st) != 4)
		return -EIO;
	if (ppid)
		*ppid = pp;
	if (ticks)
		*ticks = ut + st;
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;
	return (x > y) - (x < y);
}

/* Children of parent, sorted by pid. Returns how many (at most max stored). */
static size_t proc_children(int parent, int *out, size_t max)
{
	DIR *d = opendir("/proc");
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long pid = strtol(e->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		int pp;
		if (proc_stat((int)pid, &pp, NULL) == 0 && pp == parent)
			out[n++] = (int)pid;
	}
	closedir(d);
	qsort(out, n, sizeof *out, cmp_int);
	return n;
}

/* ---------------------------------------------------------------- servers */

struct server {
	pid_t pid;
	size_t cap; /* room for this many workers in a snapshot */
	bool nginx;
	unsigned port;
	unsigned workers;
	char log[PATH_MAX];
	char dir[PATH_MAX]; /* nginx prefix */
};

/* The last non-empty line of a file, for "why did it exit". */
static void last_line(const char *path, char *out, size_t len)
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
	}
	fclose(f);
}

/* Takes a snapshot of the per-worker counters. Returns the number of
 * workers or -errno. */
static int server_snapshot(const struct server *s, struct lab_worker *w, size_t max)
{
	char *body;
	int err = http_get(s->port, "/stats.txt", 3000, &body);
	if (err < 0)
		return err;
	if (!s->nginx) {
		err = lab_parse_stats(body, w, max);
		free(body);
		return err;
	}
	/* nginx: the workers are the master's children; the Lua handler keeps
	 * connections and requests per pid in a shared dict, and CPU time comes
	 * from /proc (clock ticks). */
	int *pids = calloc(max, sizeof *pids);
	struct lab_worker *tmp = calloc(max, sizeof *tmp);
	if (!pids || !tmp) {
		free(pids);
		free(tmp);
		free(body);
		return -ENOMEM;
	}
	size_t np = proc_children(s->pid, pids, max);
	int nt = lab_parse_stats(body, tmp, max);
	free(body);
	if (nt < 0) {
		free(pids);
		free(tmp);
		return nt;
	}
	long hz = sysconf(_SC_CLK_TCK);
	size_t n = 0;
	for (size_t i = 0; i < np && n < max; i++) {
		struct lab_worker x = {.index = (unsigned)i, .pid = pids[i]};
		for (int j = 0; j < nt; j++)
			if (tmp[j].pid == pids[i]) {
				x.accepted = tmp[j].accepted;
				x.requests = tmp[j].requests;
			}
		uint64_t ticks;
		if (proc_stat(pids[i], NULL, &ticks) == 0)
			x.cpu_us = ticks * 1000000u / (uint64_t)(hz > 0 ? hz : 100);
		w[n++] = x;
	}
	free(pids);
	free(tmp);
	return (int)n;
}

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
	"  access_log off;\n"
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
	"            out[#out + 1] = string.format('worker %%d pid %%s accepted %%d requests %%d cpu_us 0 inflight 0\\n',\n"
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

static int peer_start(const struct lab_config *cfg, const char *tmp, const char *name, struct server *s)
{
	bool reuseport = strcmp(name, LAB_PEER_REUSEPORT) == 0;
	s->nginx = true;
	if (snprintf(s->dir, sizeof s->dir, "%s/%s", tmp, name) >= (int)sizeof s->dir)
		return -ENAMETOOLONG;
	if (mkdir(s->dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	char conf[PATH_MAX + 32];
	snprintf(conf, sizeof conf, "%s/nginx.conf", s->dir);
	FILE *f = fopen(conf, "we");
	if (!f)
		return -errno;
	const char *d = s->dir, *m = cfg->nginx_modules;
	fprintf(f, nginx_conf, name, cfg->workers, geteuid() == 0 ? "user root root;\n" : "", d, d, m, m, d, d, d,
		d, d, cfg->port, reuseport ? " reuseport" : "");
	if (fclose(f) != 0)
		return -EIO;
	snprintf(s->log, sizeof s->log, "%s/%s.log", tmp, name);
	char errlog[PATH_MAX + 32];
	snprintf(errlog, sizeof errlog, "%s/error.log", s->dir);
	const char *argv[] = {cfg->nginx, "-p", s->dir, "-c", conf, "-e", errlog, NULL};
	return spawn(argv, s->log, -1, &s->pid);
}

static int herd_start(const struct lab_config *cfg, const char *tmp, const char *model, struct server *s)
{
	char listen[64], workers[16];
	snprintf(listen, sizeof listen, "127.0.0.1:%u", cfg->port);
	snprintf(workers, sizeof workers, "%u", cfg->workers);
	snprintf(s->log, sizeof s->log, "%s/serve-%s.log", tmp, model);
	const char *argv[] = {cfg->exe, "serve", "--listen", listen, "--workers", workers, "--accept", model, NULL};
	return spawn(argv, s->log, -1, &s->pid);
}

/* Waits until the server accepts connections and all its workers are up.
 * On failure stops it and writes the reason. */
static int server_wait(const struct lab_config *cfg, struct server *s, char *reason, size_t rlen)
{
	uint64_t deadline = util_now_ns() + 15000000000ull;
	while (util_now_ns() < deadline) {
		if (cfg->stop && *cfg->stop)
			return -EINTR;
		int st;
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid) {
			kill_leftovers(s->pid);
			s->pid = 0;
			char line[512];
			last_line(s->log, line, sizeof line);
			if (!line[0] && s->nginx) {
				char errlog[PATH_MAX + 32];
				snprintf(errlog, sizeof errlog, "%s/error.log", s->dir);
				last_line(errlog, line, sizeof line);
			}
			if (WIFEXITED(st))
				snprintf(reason, rlen, "server exited with status %d: %s", WEXITSTATUS(st),
					 line[0] ? line : "(no message)");
			else
				snprintf(reason, rlen, "server killed by signal %d: %s", WTERMSIG(st),
					 line[0] ? line : "(no message)");
			return -ECHILD;
		}
		int fd = connect_timeout(s->port, 200);
		if (fd >= 0) {
			close(fd);
			struct lab_worker *w = calloc(s->cap, sizeof *w);
			if (!w)
				return -ENOMEM;
			int n = server_snapshot(s, w, s->cap);
			int up = 0;
			for (int i = 0; i < n; i++)
				up += w[i].pid > 0;
			free(w);
			/* herd serve lists its worker slots; nginx's are its children. */
			if (n > 0 && up == n && (!s->nginx || (unsigned)n >= cfg->workers))
				return 0;
		}
		sleep_ms(20);
	}
	snprintf(reason, rlen, "server did not accept connections on 127.0.0.1:%u within 15 s", s->port);
	stop_group(s->pid, 1000);
	s->pid = 0;
	return -ETIMEDOUT;
}

/* --------------------------------------------------------------- running */

struct run_ctx {
	const struct lab_config *cfg;
	struct lab_progress prog;
	uint64_t base; /* done before this bench run (sweep steps add up) */
	uint64_t n;
	uint64_t last_ns;
	double *keep; /* raw latencies to keep, or NULL */
	size_t keep_cap, keep_n;
	/* stall: latencies of the ordinary requests only (url_index != 0), or
	 * NULL. The stalling requests take stall_ms by design; the question
	 * is what they do to everybody else's latency (the other customers
	 * in the clogged cashier's queue). */
	struct hdr *ordinary;
};

static void on_done(void *arg, const struct bench_sample *s)
{
	struct run_ctx *c = arg;
	c->n++;
	if (c->keep && s->error < 0 && c->keep_n < c->keep_cap)
		c->keep[c->keep_n++] = s->latency_ms;
	if (c->ordinary && s->error < 0 && s->url_index != 0)
		hdr_record(c->ordinary, (int64_t)(s->latency_ms * 1000.0 + 0.5));
	/* The last update is the caller's, once the run is over. */
	if (c->cfg->progress && c->base + c->n < c->prog.total) {
		uint64_t now = util_now_ns();
		if (now - c->last_ns >= 200000000u) {
			c->last_ns = now;
			c->prog.done = c->base + c->n;
			c->cfg->progress(c->cfg->arg, &c->prog);
		}
	}
}

static void progress_note(const struct lab_config *cfg, const struct lab_progress *base, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void progress_note(const struct lab_config *cfg, const struct lab_progress *base, const char *fmt, ...)
{
	if (!cfg->progress)
		return;
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct lab_progress p = *base;
	p.message = msg;
	cfg->progress(cfg->arg, &p);
}

static double ms_at(const struct hdr *h, double p)
{
	return (double)hdr_value_at_percentile(h, p) / 1000.0;
}

/* Fills r from a bench result; latencies from `lat` when not NULL. */
static void fill_run(struct lab_run *r, const struct bench_result *res, const struct hdr *lat)
{
	r->ran = true;
	r->done = res->done;
	r->failed = res->failed;
	memcpy(r->errors, res->errors, sizeof r->errors);
	r->sent_late = res->sent_late;
	r->connections_opened = res->connections_opened;
	r->duration_s = res->duration_s;
	r->throughput = res->duration_s > 0 ? (double)res->done / res->duration_s : 0;
	r->offered_rate = res->target_rate;
	r->achieved_rate = res->achieved_rate;
	r->non2xx = 0;
	for (int i = 0; i < 600; i++)
		if (i < 200 || i > 299)
			r->non2xx += res->status[i];
	const struct hdr *h = lat ? lat : res->latency;
	if (h && h->total > 0) {
		r->lat.min = (double)hdr_min(h) / 1000.0;
		r->lat.p50 = ms_at(h, 50);
		r->lat.p90 = ms_at(h, 90);
		r->lat.p99 = ms_at(h, 99);
		r->lat.p999 = ms_at(h, 99.9);
		r->lat.max = (double)hdr_max(h) / 1000.0;
		r->lat.mean = hdr_mean(h) / 1000.0;
		r->lat.stddev = hdr_stddev(h) / 1000.0;
		for (int i = 0; i < LAB_CURVE_POINTS; i++)
			r->curve[i] = lab_curve_percentiles[i] <= 0	   ? r->lat.min
				      : lab_curve_percentiles[i] >= 100 ? r->lat.max
									: ms_at(h, lab_curve_percentiles[i]);
	}
}

/* What one bench run asks for. */
struct load {
	const char *const *paths;
	size_t npaths;
	unsigned connections;
	uint64_t requests;
	double rate;
};

/* Runs one load against the server with counters around it. */
static int run_load(const struct lab_config *cfg, struct server *s, const struct load *ld, struct run_ctx *ctx,
		    struct lab_run *r)
{
	struct bench_config bc;
	bench_config_init(&bc);
	struct sockaddr_in sa;
	loopback(cfg->port, &sa);
	memcpy(&bc.addr, &sa, sizeof sa);
	bc.addrlen = sizeof sa;
	char host[64];
	snprintf(host, sizeof host, "127.0.0.1:%u", cfg->port);
	const char *hosts[ld->npaths];
	for (size_t i = 0; i < ld->npaths; i++)
		hosts[i] = host;
	bc.hosts = hosts;
	bc.paths = ld->paths;
	bc.nurls = ld->npaths;
	bc.requests = ld->requests;
	bc.connections = ld->connections;
	bc.keepalive = 0;
	bc.rate = ld->rate;
	bc.timeout_s = cfg->timeout_s;
	bc.on_done = ctx ? on_done : NULL;
	bc.arg = ctx;
	bc.stop = cfg->stop;

	struct lab_worker *before = calloc(s->cap, sizeof *before), *after = calloc(s->cap, sizeof *after);
	if (!before || !after) {
		free(before);
		free(after);
		return -ENOMEM;
	}
	int nb = r ? server_snapshot(s, before, s->cap) : 0;
	struct bench_result res;
	memset(&res, 0, sizeof res);
	int err = bench_run(&bc, &res);
	if (err < 0) {
		bench_result_free(&res);
		free(before);
		free(after);
		return err;
	}
	if (r) {
		r->requests = ld->requests;
		fill_run(r, &res, ctx ? ctx->ordinary : NULL);
		int na = nb >= 0 ? server_snapshot(s, after, s->cap) : -1;
		if (nb >= 0 && na > 0) {
			r->workers = calloc((size_t)na, sizeof *r->workers);
			if (r->workers) {
				r->nworkers = lab_stats_delta(before, (size_t)nb, after, (size_t)na, r->workers);
				r->stats_ok = true;
				uint64_t cpu = 0, req = 0;
				for (size_t i = 0; i < r->nworkers; i++) {
					r->respawns += r->workers[i].respawned;
					cpu += r->workers[i].cpu_us;
					req += r->workers[i].requests;
				}
				r->cpu_us_per_request = req ? (double)cpu / (double)req : 0;
				lab_balance_compute(r->workers, r->nworkers, &r->bal);
			}
		}
	}
	bench_result_free(&res);
	free(before);
	free(after);
	return 0;
}

static bool stopped(const struct lab_config *cfg)
{
	return cfg->stop && *cfg->stop;
}

/* Runs every scenario against a started server. */
static int run_model(const struct lab_config *cfg, struct server *s, struct lab_model *m, struct lab_progress *pb)
{
	char cpu_path[64], sleep_path[64];
	snprintf(cpu_path, sizeof cpu_path, "/cpu?us=%u", cfg->cpu_us);
	snprintf(sleep_path, sizeof sleep_path, "/sleep?ms=%u", cfg->stall_ms);
	const char *one[1] = {cpu_path};
	size_t nstall = cfg->stall_every ? cfg->stall_every : 1;
	const char **stall = calloc(nstall, sizeof *stall);
	if (!stall)
		return -ENOMEM;
	for (size_t i = 0; i < nstall; i++)
		stall[i] = cpu_path;
	/* The first of every stall_every round-robin URLs blocks its worker. */
	stall[0] = sleep_path;
	int err = 0;

	if (cfg->warmup) {
		struct load w = {one, 1, 8, cfg->warmup, 0};
		struct lab_progress p = *pb;
		p.scenario = "warm-up";
		progress_note(cfg, &p, "warm-up: %u requests", cfg->warmup);
		if ((err = run_load(cfg, s, &w, NULL, NULL)) < 0)
			goto out;
	}

	for (int sc = 0; sc < LAB_SCENARIO_COUNT && !stopped(cfg); sc++) {
		bool need = cfg->scenarios[sc];
		/* The sweep's steps are fractions of seed's capacity: measure it
		 * quietly when seed itself was not asked for. */
		bool hidden = sc == LAB_SEED && !need && cfg->scenarios[LAB_SWEEP];
		if (!need && !hidden)
			continue;
		struct run_ctx ctx = {.cfg = cfg, .prog = *pb};
		ctx.prog.scenario = lab_scenario_name(sc);
		if (sc == LAB_SWEEP) {
			if (m->capacity <= 0) {
				progress_note(cfg, &ctx.prog, "sweep skipped: no capacity measured");
				continue;
			}
			m->steps = calloc(cfg->nfractions, sizeof *m->steps);
			if (!m->steps) {
				err = -ENOMEM;
				goto out;
			}
			uint64_t total = 0;
			for (size_t i = 0; i < cfg->nfractions; i++) {
				double rate = cfg->fractions[i] * m->capacity;
				uint64_t n = (uint64_t)ceil(rate * cfg->step_s);
				total += n < 10 ? 10 : n;
			}
			ctx.prog.total = total;
			for (size_t i = 0; i < cfg->nfractions && !stopped(cfg); i++) {
				double rate = cfg->fractions[i] * m->capacity;
				uint64_t n = (uint64_t)ceil(rate * cfg->step_s);
				struct load ld = {one, 1, cfg->concurrency, n < 10 ? 10 : n, rate};
				ctx.base += ctx.n;
				ctx.n = 0;
				if ((err = run_load(cfg, s, &ld, &ctx, &m->steps[i])) < 0)
					goto out;
				m->nsteps = i + 1;
			}
			ctx.prog.done = ctx.base + ctx.n;
			if (cfg->progress)
				cfg->progress(cfg->arg, &ctx.prog);
			continue;
		}
		struct load ld = {one, 1, cfg->concurrency, hidden ? (cfg->requests + 1) / 2 : cfg->requests, 0};
		if (sc == LAB_IDLE) {
			/* One connection at a time, spaced out (open loop at a light
			 * rate) so that every worker is back in epoll_wait or
			 * accept() when the next one arrives: the article's `nc`
			 * loop. Back to back, the worker that just answered may
			 * still be busy closing, and the next idle one wins. */
			ld.connections = 1;
			ld.requests = cfg->idle_requests;
			ld.rate = cfg->idle_rate;
		} else if (sc == LAB_STALL) {
			ld.paths = stall;
			ld.npaths = nstall;
			ld.connections = lab_stall_concurrency(cfg);
			/* Same range and precision as the engine's histograms (µs). */
			if ((err = hdr_init(1, 3600000000LL, 3, &ctx.ordinary)) < 0)
				goto out;
		}
		ctx.prog.total = ld.requests;
		if (sc == LAB_SEED && !hidden) {
			m->seed_ms = malloc(ld.requests * sizeof *m->seed_ms);
			ctx.keep = m->seed_ms;
			ctx.keep_cap = m->seed_ms ? ld.requests : 0;
		}
		if (sc == LAB_STALL) {
			/* The calm twin first: same concurrency and count, no stalls. */
			struct load calm = ld;
			calm.paths = one;
			calm.npaths = 1;
			struct run_ctx cctx = {.cfg = cfg, .prog = ctx.prog};
			cctx.prog.scenario = "stall (calm twin)";
			cctx.prog.total = calm.requests;
			if ((err = run_load(cfg, s, &calm, &cctx, &m->stall_calm)) < 0)
				goto out;
		}
		struct lab_run tmp;
		memset(&tmp, 0, sizeof tmp);
		struct lab_run *r = hidden ? &tmp : &m->runs[sc];
		err = run_load(cfg, s, &ld, &ctx, r);
		hdr_free(ctx.ordinary);
		ctx.ordinary = NULL;
		if (sc == LAB_SEED) {
			m->seed_n = ctx.keep_n;
			m->capacity = r->throughput;
		}
		free(tmp.workers);
		if (err < 0)
			goto out;
		ctx.prog.done = ctx.n;
		if (cfg->progress)
			cfg->progress(cfg->arg, &ctx.prog);
		if (r->respawns)
			progress_note(cfg, &ctx.prog, "%u worker(s) respawned during %s", r->respawns,
				      lab_scenario_name(sc));
	}
out:
	free(stall);
	return err;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* Four connections per worker: every worker has a queue (the cashier's
 * line the article talks about), but queueing (about 4 requests, 4 ms)
 * stays well below a stall, so what a stall does to the others shows. */
unsigned lab_stall_concurrency(const struct lab_config *cfg)
{
	return cfg->stall_concurrency ? cfg->stall_concurrency : 4 * cfg->workers;
}

bool lab_peer_installed(const struct lab_config *cfg)
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

double lab_estimate_s(const struct lab_config *cfg, long nproc)
{
	if (nproc < 1)
		nproc = 1;
	/* The load generator shares the CPUs: count about 1.5x the handler's
	 * CPU per request plus fixed costs. */
	double per_req = (cfg->cpu_us * 1.5 + 300) * 1e-6;
	double cap = (double)nproc / per_req;
	double t = 1.5; /* start, warm-up, stop */
	if (cfg->scenarios[LAB_SEED] || cfg->scenarios[LAB_SWEEP])
		t += (double)cfg->requests / cap * (cfg->scenarios[LAB_SEED] ? 1 : 0.5);
	if (cfg->scenarios[LAB_IDLE])
		t += cfg->idle_rate > 0 ? (double)cfg->idle_requests / cfg->idle_rate
					: (double)cfg->idle_requests * (cfg->cpu_us + 500) * 1e-6;
	if (cfg->scenarios[LAB_STALL])
		t += (double)cfg->requests / cap * 1.2;
	if (cfg->scenarios[LAB_SWEEP])
		t += (double)cfg->nfractions * (cfg->step_s + 0.1);
	return t * (double)cfg->nmodels;
}

int lab_run(const struct lab_config *cfg, const char *const *summaries, struct lab_report *rep)
{
	memset(rep, 0, sizeof *rep);
	rep->cfg = cfg;
	rep->started = time(NULL);
	rep->nproc = sysconf(_SC_NPROCESSORS_ONLN);
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(rep->kernel, sizeof rep->kernel, "%s %s %s", u.sysname, u.release, u.version);
		snprintf(rep->machine, sizeof rep->machine, "%s (%s)", u.machine, u.nodename);
	}
	uint64_t t0 = util_now_ns();
	rep->models = calloc(cfg->nmodels ? cfg->nmodels : 1, sizeof *rep->models);
	if (!rep->models)
		return -ENOMEM;
	rep->nmodels = cfg->nmodels;
	for (size_t i = 0; i < cfg->nmodels; i++) {
		struct lab_model *m = &rep->models[i];
		m->name = strdup(cfg->models[i]);
		m->peer = lab_is_peer(cfg->models[i]);
		const char *sum = summaries && summaries[i] ? summaries[i]
				  : m->peer && strcmp(cfg->models[i], LAB_PEER_SHARED) == 0
				      ? "nginx, one shared listen socket (accept_mutex off), Lua handler"
				  : m->peer ? "nginx, listen ... reuseport (a socket per worker), Lua handler"
					    : "";
		m->summary = strdup(sum);
		if (!m->name || !m->summary)
			return -ENOMEM;
	}

	/* Workers that outlive their master are reparented to us, not to init,
	 * so that stop_group can reap them. */
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return -errno;
	char tmp[] = "/tmp/herd-lab.XXXXXX";
	if (!mkdtemp(tmp))
		return -errno;

	int err = 0;
	for (size_t i = 0; i < cfg->nmodels && !stopped(cfg); i++) {
		struct lab_model *m = &rep->models[i];
		struct lab_progress pb = {.model = m->name, .model_index = i, .nmodels = cfg->nmodels};
		/* Room for more worker slots than asked for: a server may list
		 * respawned or extra workers. */
		struct server s = {.port = cfg->port, .workers = cfg->workers, .cap = (size_t)cfg->workers * 2 + 16};
		char reason[768] = "";
		progress_note(cfg, &pb, "starting %s", m->peer ? "nginx" : "herd serve");
		int e;
		if (m->peer && !lab_peer_installed(cfg)) {
			snprintf(reason, sizeof reason,
				 "nginx or its Lua module is not installed (%s, %s/ngx_http_lua_module.so): "
				 "run scripts/setup.sh peer",
				 cfg->nginx, cfg->nginx_modules);
			e = -ENOENT;
		} else {
			e = m->peer ? peer_start(cfg, tmp, m->name, &s) : herd_start(cfg, tmp, m->name, &s);
			if (e < 0)
				snprintf(reason, sizeof reason, "cannot start the server: %s", strerror(-e));
			else
				e = server_wait(cfg, &s, reason, sizeof reason);
		}
		if (e == -EINTR) {
			stop_group(s.pid, 3000);
			break;
		}
		if (e < 0) {
			m->available = false;
			m->reason = strdup(reason);
			progress_note(cfg, &pb, "unavailable: %s", reason);
			stop_group(s.pid, 1000);
			continue;
		}
		m->available = true;
		e = run_model(cfg, &s, m, &pb);
		/* A server that died during the run explains missing counters. */
		int st;
		if (waitpid(s.pid, &st, WNOHANG) == s.pid) {
			char line[512];
			last_line(s.log, line, sizeof line);
			snprintf(reason, sizeof reason, "server exited during the run: %s", line);
			m->reason = strdup(reason);
			progress_note(cfg, &pb, "%s", reason);
			kill_leftovers(s.pid);
			s.pid = 0;
		}
		stop_group(s.pid, 3000);
		if (e < 0) {
			err = e;
			break;
		}
	}
	nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	rep->elapsed_s = (double)(util_now_ns() - t0) / 1e9;
	if (stopped(cfg)) {
		rep->interrupted = true;
		if (!err)
			err = -EINTR;
	}
	return err;
}

void lab_report_free(struct lab_report *rep)
{
	for (size_t i = 0; i < rep->nmodels; i++) {
		struct lab_model *m = &rep->models[i];
		free(m->name);
		free(m->summary);
		free(m->reason);
		for (int s = 0; s < LAB_SCENARIO_COUNT; s++)
			free(m->runs[s].workers);
		free(m->stall_calm.workers);
		for (size_t k = 0; k < m->nsteps; k++)
			free(m->steps[k].workers);
		free(m->steps);
		free(m->seed_ms);
	}
	free(rep->models);
	memset(rep, 0, sizeof *rep);
}
