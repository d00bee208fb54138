/*
 * proc.c - herd watch's user-space sources: sock_diag for the listening
 * sockets (the same figures `ss -ltn` shows: for a listener Recv-Q is the
 * accept queue's length, sk_ack_backlog, and Send-Q the backlog the kernel
 * applies, sk_max_ack_backlog), /proc/PID/fd for which process holds which
 * socket (in a reuseport group every worker has its own), /proc for CPU
 * time, names and parents, /proc/net/netstat for the overflow counters.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/diag.h"
#include "lib/proc.h"
#include "lib/units.h"
#include "lib/util.h"
#include "watch/proc.h"

static int sock_append(const struct inet_diag_msg *m, void *arg)
{
	struct watch_snapshot *s = arg;
	void *p = util_grow(s->socks, &s->cap_socks, s->nsocks + 1, sizeof(*s->socks));
	struct watch_sock *k;

	if (!p)
		return -ENOMEM;
	s->socks = p;
	k = &s->socks[s->nsocks++];
	memset(k, 0, sizeof(*k));
	k->ino = m->idiag_inode;
	k->port = ntohs(m->id.idiag_sport);
	k->family = m->idiag_family;
	memcpy(k->addr, m->id.idiag_src, m->idiag_family == AF_INET6 ? 16 : 4);
	k->qlen = m->idiag_rqueue;
	k->backlog = m->idiag_wqueue;
	return 0;
}

int watch_proc_listeners(struct watch_snapshot *s, const uint16_t *ports, size_t nports)
{
	s->nsocks = 0;
	return diag_listeners(ports, nports, sock_append, s);
}

static bool all_digits(const char *p)
{
	if (!*p)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return true;
}

/* Adds pid to the owners of every socket of s whose inode one of its fds is. */
static void scan_fds(struct watch_snapshot *s, pid_t pid)
{
	char path[64], link[64];
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return; /* gone, or a kernel thread we may not look into */
	while ((e = readdir(d))) {
		char fdpath[sizeof(path) + 256 + 2];
		unsigned long long ino;
		ssize_t n;

		if (!all_digits(e->d_name))
			continue;
		snprintf(fdpath, sizeof(fdpath), "%s/%s", path, e->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		if (sscanf(link, "socket:[%llu]", &ino) != 1)
			continue;
		for (size_t i = 0; i < s->nsocks; i++) {
			struct watch_sock *k = &s->socks[i];
			if (k->ino != ino || k->nowners == WATCH_MAX_OWNERS)
				continue;
			/* dup()ed fds: one entry per process. */
			if (k->nowners == 0 || k->owners[k->nowners - 1] != pid)
				k->owners[k->nowners++] = pid;
		}
	}
	closedir(d);
}

int watch_proc_owners(struct watch_snapshot *s)
{
	struct dirent *e;
	DIR *d;

	for (size_t i = 0; i < s->nsocks; i++)
		s->socks[i].nowners = 0;
	if (s->nsocks == 0)
		return 0;
	d = opendir("/proc");
	if (!d)
		return -errno;
	while ((e = readdir(d)))
		if (all_digits(e->d_name))
			scan_fds(s, (pid_t)atoi(e->d_name));
	closedir(d);
	return 0;
}

static int read_small(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	return 0;
}

int watch_proc_parse_stat(const char *buf, size_t len, struct watch_proc_stat *st)
{
	const char *open_p = memchr(buf, '(', len), *close_p = NULL;
	struct proc_stat ps;
	size_t n;

	/* The name may hold ')' itself: it ends at the last one. */
	for (const char *p = buf + len; p > buf; p--)
		if (p[-1] == ')') {
			close_p = p - 1;
			break;
		}
	if (!open_p || !close_p || close_p < open_p || proc_stat_parse(buf, len, &ps) != 0)
		return -EINVAL;
	st->state = ps.state;
	st->ppid = (pid_t)ps.ppid;
	st->cpu_ns = proc_ticks_to_us(ps.ticks) * NS_PER_US;
	n = (size_t)(close_p - open_p - 1);
	if (n > sizeof(st->comm) - 1)
		n = sizeof(st->comm) - 1;
	memcpy(st->comm, open_p + 1, n);
	st->comm[n] = '\0';
	return 0;
}

int watch_proc_stat(pid_t pid, pid_t tid, struct watch_proc_stat *st)
{
	/* The name is at most 16 bytes and 52 numeric fields follow: 1 KiB
	 * holds the first 15 with room to spare. */
	char path[64], buf[1024];
	ssize_t n;
	int fd;

	if (tid > 0)
		snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	else
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH ? -ENOENT : -errno;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	if (n <= 0)
		return n < 0 && errno == ESRCH ? -ENOENT : -EIO;
	return watch_proc_parse_stat(buf, (size_t)n, st) == 0 ? 0 : -EIO;
}

int watch_proc_fds_readable(pid_t pid)
{
	char path[64];
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return -errno;
	closedir(d);
	return 0;
}

int watch_proc_ppid(pid_t pid, pid_t *ppid)
{
	struct proc_stat st;
	int err = proc_stat_read((int)pid, &st);

	if (err)
		return err;
	*ppid = st.ppid;
	return 0;
}

int watch_proc_descends(pid_t pid, pid_t root)
{
	/* Bounded walk up the tree: a loop cannot happen, a deep tree can. */
	for (int i = 0; i < 256 && pid > 1; i++) {
		if (pid == root)
			return 1;
		if (watch_proc_ppid(pid, &pid) != 0)
			return 0;
	}
	return pid == root;
}

int watch_proc_parse_netstat(const char *text, uint64_t *overflows, uint64_t *drops)
{
	const char *hdr = strstr(text, "TcpExt:"), *val;
	bool got_o = false, got_d = false;

	if (!hdr)
		return -EINVAL;
	val = strstr(hdr + 7, "TcpExt:");
	if (!val)
		return -EINVAL;
	hdr += 7;
	val += 7;
	/* Walk the names and the values side by side. */
	while (*hdr && *hdr != '\n') {
		char name[64];
		unsigned long long v;
		int nn, nv;

		if (sscanf(hdr, " %63s%n", name, &nn) != 1 || sscanf(val, " %llu%n", &v, &nv) != 1)
			break;
		if (strcmp(name, "ListenOverflows") == 0) {
			*overflows = v;
			got_o = true;
		} else if (strcmp(name, "ListenDrops") == 0) {
			*drops = v;
			got_d = true;
		}
		hdr += nn;
		val += nv;
	}
	return got_o && got_d ? 0 : -EINVAL;
}

int watch_proc_netstat(uint64_t *overflows, uint64_t *drops)
{
	static char buf[16384];
	int err = read_small("/proc/net/netstat", buf, sizeof(buf));

	return err ? err : watch_proc_parse_netstat(buf, overflows, drops);
}

int watch_proc_pid_ports(pid_t pid, uint16_t *ports, size_t max, size_t *n)
{
	struct watch_snapshot s = {0};
	int err;

	*n = 0;
	err = watch_proc_listeners(&s, NULL, 0);
	if (!err)
		err = watch_proc_owners(&s);
	for (size_t i = 0; !err && i < s.nsocks; i++) {
		bool mine = false, dup = false;
		for (unsigned j = 0; j < s.socks[i].nowners && !mine; j++)
			mine = watch_proc_descends(s.socks[i].owners[j], pid) == 1;
		for (size_t j = 0; j < *n; j++)
			dup = dup || ports[j] == s.socks[i].port;
		if (!mine || dup || *n == max)
			continue;
		ports[(*n)++] = s.socks[i].port;
	}
	free(s.socks);
	/* The scan skips the processes it may not look into: none found may
	 * mean none seen. */
	if (!err && *n == 0 && watch_proc_fds_readable(pid) == -EACCES)
		return -EACCES;
	return err;
}
