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
/* CPU time (user + system) of a thread (tid > 0) or a process (tid 0);
 * -ENOENT when it has exited. */
int watch_proc_cpu_ns(pid_t pid, pid_t tid, uint64_t *ns);
/* Name of a thread (tid > 0) or process; buf of 16 bytes. */
int watch_proc_comm(pid_t pid, pid_t tid, char *buf, size_t len);
/* Parent of pid. */
int watch_proc_ppid(pid_t pid, pid_t *ppid);
/* Parses TcpExt ListenOverflows and ListenDrops out of a /proc/net/netstat text. */
int watch_proc_parse_netstat(const char *text, uint64_t *overflows, uint64_t *drops);
/* Reads /proc/net/netstat. */
int watch_proc_netstat(uint64_t *overflows, uint64_t *drops);
/* Ports of the TCP listening sockets that pid or its descendants hold. */
int watch_proc_pid_ports(pid_t pid, uint16_t *ports, size_t max, size_t *n);
/* True when pid is root or a descendant of root. */
int watch_proc_descends(pid_t pid, pid_t root);

#endif
