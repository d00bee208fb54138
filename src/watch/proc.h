/*
 * proc.h - what herd watch learns without eBPF: listening sockets through
 * sock_diag (queue length, backlog, inode), which processes hold them
 * (/proc/PID/fd), CPU time and names (/proc/PID/task/TID/stat, comm), the
 * TcpExt ListenOverflows/ListenDrops counters, and process trees.
 * Functions return 0 or a negative errno; they never print.
 */
#ifndef HERD_WATCH_PROC_H
#define HERD_WATCH_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "watch/watch.h"

/* Listening TCP sockets (IPv4 and IPv6) on any of ports (all when nports
 * is 0): appends to s->socks with ino, port, family, qlen and backlog. */
int watch_proc_listeners(struct watch_snapshot *s, const uint16_t *ports, size_t nports);
/* Fills owners of each of s->socks by scanning /proc/PID/fd. */
int watch_proc_owners(struct watch_snapshot *s);
/* What one stat file says of a process or thread. */
struct watch_proc_stat {
	char state; /* R, S, D, Z (zombie: exited, not yet reaped), ... */
	pid_t ppid;
	uint64_t cpu_ns; /* user + system */
	char comm[16];
};
/* One read of /proc/PID/stat (tid 0: the whole process) or of
 * /proc/PID/task/TID/stat (the thread alone: /proc/TID/stat would be its
 * whole process's, summed over every thread). -ENOENT when it has exited. */
int watch_proc_stat(pid_t pid, pid_t tid, struct watch_proc_stat *st);
/* Parses the text of a stat file (for the tests). */
int watch_proc_parse_stat(const char *buf, size_t len, struct watch_proc_stat *st);
/* 0 when pid's file descriptors can be listed (/proc/PID/fd), else -errno
 * (-EACCES: another user's process). */
int watch_proc_fds_readable(pid_t pid);
/* Parent of pid. */
int watch_proc_ppid(pid_t pid, pid_t *ppid);
/* Parses TcpExt ListenOverflows and ListenDrops out of a /proc/net/netstat text. */
int watch_proc_parse_netstat(const char *text, uint64_t *overflows, uint64_t *drops);
/* Reads /proc/net/netstat. */
int watch_proc_netstat(uint64_t *overflows, uint64_t *drops);
/* Ports of the TCP listening sockets that pid or its descendants hold;
 * -EACCES when there are none to be seen because pid's file descriptors
 * cannot be read. */
int watch_proc_pid_ports(pid_t pid, uint16_t *ports, size_t max, size_t *n);
/* True when pid is root or a descendant of root. */
int watch_proc_descends(pid_t pid, pid_t root);

#endif
