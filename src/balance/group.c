/*
 * group.c - the /proc side of finding a reuseport group: who holds each
 * listening socket, who accepts from it, and taking a copy of it.
 *
 * Holding is not accepting. nginx's master opens one socket per worker and
 * every worker inherits all of them (nginx 1.22 keeps them open), so
 * /proc/PID/fd shows each listener in every nginx process; herd serve's
 * master keeps every slot's socket and each worker its own. What tells a
 * worker is what it waits on: a worker registers only its own listener in
 * its epoll instance, and /proc/PID/fdinfo/EPFD lists the inode of every
 * file an epoll instance watches ("tfd: ... ino:HEX"). So a listener's
 * worker is the one process that holds only that listener of the group or,
 * among processes holding several, watches only that one. Anything else
 * (two candidates, a multi-threaded server that watches all listeners from
 * one process) leaves the worker unknown, and the program then goes by the
 * queue alone.
 *
 * A copy of a socket comes from pidfd_getfd(), which needs
 * PTRACE_MODE_ATTACH over the holder (CAP_SYS_PTRACE, or the same user and
 * Yama's ptrace_scope allowing it). The fd number read from /proc can be
 * reused between the readlink and the pidfd_getfd, so the copy's inode is
 * checked.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "balance/group.h"
#include "lib/diag.h"
#include "lib/util.h"
#include "watch/proc.h"

static bool all_digits(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

static struct balance_listener *by_ino(struct balance_scan *s, uint64_t ino)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->ls[i].ino == ino)
			return &s->ls[i];
	return NULL;
}

size_t balance_parse_epoll_fdinfo(const char *text, uint64_t *inos, size_t max)
{
	size_t n = 0;

	for (const char *p = strstr(text, "tfd:"); p; p = strstr(p + 4, "tfd:")) {
		const char *eol = strchr(p, '\n'), *ino = strstr(p, " ino:");
		unsigned long long v;

		/* Each watched file is one "tfd:" line whose "ino:" field is
		 * the file's inode in hex. */
		if (!ino || (eol && ino > eol) || sscanf(ino + 5, "%llx", &v) != 1)
			continue;
		if (n < max)
			inos[n] = v;
		n++;
	}
	return n;
}

/* Which of the group's listeners process pid's epoll instances watch: the
 * one listener (returned) when exactly one is watched, else NULL. */
static struct balance_listener *watched_one(struct balance_scan *s, pid_t pid, const int *epfds, size_t nep)
{
	struct balance_listener *one = NULL;
	char path[64], text[16384];
	uint64_t inos[256];

	for (size_t i = 0; i < nep; i++) {
		int fd;
		ssize_t len;
		size_t n;

		snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", (int)pid, epfds[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, text, sizeof(text) - 1);
		close(fd);
		if (len <= 0)
			continue;
		text[len] = '\0';
		n = balance_parse_epoll_fdinfo(text, inos, sizeof(inos) / sizeof(inos[0]));
		if (n > sizeof(inos) / sizeof(inos[0]))
			n = sizeof(inos) / sizeof(inos[0]);
		for (size_t j = 0; j < n; j++) {
			struct balance_listener *l = by_ino(s, inos[j]);
			if (!l || l == one)
				continue;
			if (one)
				return NULL; /* watches two of them */
			one = l;
		}
	}
	return one;
}

/* Per listener while scanning: worker candidates, and the last process
 * that was seen holding it (dup()ed descriptors of one socket count once). */
struct cand {
	pid_t pid;
	unsigned n;
	pid_t seen;
};

static void scan_pid(struct balance_scan *s, struct cand *cands, pid_t pid, pid_t root)
{
	char path[64], link[64];
	struct balance_listener *last = NULL, *only = NULL;
	unsigned held = 0;
	int epfds[16];
	size_t nep = 0;
	bool in_tree = false, tree_known = false;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d) {
		/* Gone (ENOENT), or not ours to look into: reading another
		 * process's descriptors needs ptrace rights over it. */
		if (errno == EACCES || errno == EPERM) {
			if (!s->denied++)
				s->denied_pid = pid;
		}
		return;
	}
	while ((e = readdir(d))) {
		char fdpath[sizeof(path) + 256 + 2];
		unsigned long long ino;
		struct balance_listener *l;
		struct cand *c;
		ssize_t n;

		if (!all_digits(e->d_name))
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n < 0 && (errno == EACCES || errno == EPERM)) {
			/* The directory may be listed, its links not read. */
			if (!s->denied++)
				s->denied_pid = pid;
			break;
		}
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (strcmp(link, "anon_inode:[eventpoll]") == 0) {
			if (nep < sizeof(epfds) / sizeof(epfds[0]))
				epfds[nep++] = atoi(e->d_name);
			continue;
		}
		if (sscanf(link, "socket:[%llu]", &ino) != 1 || !(l = by_ino(s, ino)))
			continue;
		c = &cands[l - s->ls];
		if (c->seen == pid)
			continue;
		c->seen = pid;
		l->nholders++;
		if (!l->holder) {
			l->holder = pid;
			l->holder_fd = atoi(e->d_name);
		}
		if (root > 0 && !tree_known) {
			in_tree = watch_proc_descends(pid, root) == 1;
			tree_known = true;
		}
		if (in_tree)
			l->in_tree = true;
		held++;
		last = l;
	}
	closedir(d);
	if (held == 1)
		only = last;
	else if (held > 1)
		only = watched_one(s, pid, epfds, nep);
	if (only) {
		struct cand *c = &cands[only - s->ls];
		c->n++;
		c->pid = pid;
	}
}

int balance_holders(struct balance_scan *s, pid_t root)
{
	pid_t self = getpid();
	struct cand *cands;
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < s->n; i++) {
		s->ls[i].holder = 0;
		s->ls[i].holder_fd = -1;
		s->ls[i].nholders = 0;
		s->ls[i].worker = 0;
		s->ls[i].in_tree = false;
	}
	s->denied = 0;
	s->denied_pid = 0;
	if (s->n == 0)
		return 0;
	cands = calloc(s->n, sizeof(*cands));
	if (!cands)
		return -ENOMEM;
	d = opendir("/proc");
	if (!d) {
		free(cands);
		return -errno;
	}
	while ((e = readdir(d))) {
		pid_t pid;

		if (!all_digits(e->d_name))
			continue;
		pid = (pid_t)atoi(e->d_name);
		if (pid != self)
			scan_pid(s, cands, pid, root);
	}
	closedir(d);
	for (size_t i = 0; i < s->n; i++)
		if (cands[i].n == 1)
			s->ls[i].worker = cands[i].pid;
	free(cands);
	return 0;
}

int balance_obtain(pid_t pid, int fd, uint64_t ino)
{
	struct stat st;
	int pidfd, copy, err;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	copy = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	err = copy < 0 ? -errno : 0;
	close(pidfd);
	if (err)
		return err;
	if (fstat(copy, &st) != 0 || !S_ISSOCK(st.st_mode) || (uint64_t)st.st_ino != ino) {
		close(copy);
		return -ESTALE;
	}
	return copy;
}

/* Where balance_diag_read()'s listeners go. */
struct diag_out {
	struct balance_diag **d;
	size_t *n, *cap;
};

static int diag_append(const struct inet_diag_msg *m, void *arg)
{
	struct diag_out *o = arg;
	struct balance_diag *e;
	void *p = util_grow(*o->d, o->cap, *o->n + 1, sizeof(**o->d));

	if (!p)
		return -ENOMEM;
	*o->d = p;
	e = &(*o->d)[(*o->n)++];
	memset(e, 0, sizeof(*e));
	e->ino = m->idiag_inode;
	/* For a listener: Recv-Q is the accept queue, Send-Q the backlog. */
	e->qlen = m->idiag_rqueue;
	e->backlog = m->idiag_wqueue;
	e->port = ntohs(m->id.idiag_sport);
	e->family = m->idiag_family;
	e->uid = m->idiag_uid;
	e->ifindex = m->id.idiag_if;
	memcpy(e->addr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	return 0;
}

int balance_diag_read(const uint16_t *ports, unsigned nports, struct balance_diag **d, size_t *n, size_t *cap)
{
	struct diag_out o = {d, n, cap};

	*n = 0;
	return diag_listeners(ports, nports, diag_append, &o);
}

bool balance_diag_same_group(const struct balance_diag *a, const struct balance_diag *b)
{
	return a->family == b->family && a->port == b->port && a->uid == b->uid && a->ifindex == b->ifindex &&
	       memcmp(a->addr, b->addr, sizeof(a->addr)) == 0;
}

int balance_pid_ports(pid_t pid, uint16_t *ports, size_t max, size_t *n)
{
	if (kill(pid, 0) != 0 && errno == ESRCH)
		return -ESRCH;
	return watch_proc_pid_ports(pid, ports, max, n);
}

void balance_scan_free(struct balance_scan *s)
{
	free(s->ls);
	s->ls = NULL;
	s->n = s->cap = 0;
}
