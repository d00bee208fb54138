/*
 * balance.h - what `herd balance`'s eBPF programs (bpf/balance.bpf.c) and
 * user space (src/balance/) share: one slot per listening socket of the
 * target's SO_REUSEPORT group(s), and the records the group iterator writes.
 *
 * A slot is what the program knows of one listener besides what it reads
 * from the kernel at each SYN (its accept queue): the socket's cookie (how
 * the program recognises the socket when it walks the group), and, where
 * user space could tell which process accepts from it, that worker's pid
 * and whether it is waiting for work right now (kept by a tracepoint on
 * context switches).
 * Every field is a __u64 so that the layout is the same on both sides of
 * the mmap-ed array, and a slot fills a 64-byte cache line.
 */
#ifndef HERD_BPF_BALANCE_H
#define HERD_BPF_BALANCE_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

/* Slots (listeners) one herd balance can manage, over all its groups. */
#define BALANCE_MAX_SLOTS 1024
/* Ports the group iterator reports. */
#define BALANCE_MAX_PORTS 16

struct balance_slot {
	__u64 cookie;	     /* written by user space: SO_COOKIE of the listener; 0: empty slot */
	__u64 tgid;	     /* written by user space: the process accepting from it; 0: unknown */
	__u64 busy_since;    /* written by the sched_switch program: ktime (ns) the worker left its wait; 0: waiting */
	__u64 steered;	     /* written by the program: connections sent here (atomic add) */
	__u64 migrated;	     /* written by the program: of those, moved here from a closing listener */
	__u64 seen;	     /* written by the program: queued + handshakes when last read */
	__u64 seen_at;	     /* written by the program: ktime of that read (--stale experiments) */
	__u64 blocked_since; /* written by the sched_switch program: ktime the worker went to sleep outside its
				 wait (blocked in a handler); 0: running, runnable or waiting */
};

/* One listening TCP socket, as the iterator (SEC("iter/tcp")) reports it. */
struct balance_sockrec {
	__u64 ino;	    /* socket inode, as in /proc/PID/fd and sock_diag */
	__u64 cookie;	    /* socket cookie, 0 if none was ever asked for */
	__u64 group;	    /* its SO_REUSEPORT group (an opaque identity); 0: not in one */
	__u32 prog_id;	    /* id of the group's attached program; 0: none or classic BPF */
	__u32 prog_type;    /* its bpf_prog_type (classic BPF: BPF_PROG_TYPE_SOCKET_FILTER) */
	__u32 has_prog;	    /* the group has a program attached */
	__u32 backlog;	    /* connections in its accept queue */
	__u32 max_backlog;  /* listen() backlog as applied */
	__u16 port, family; /* local port (host order), AF_INET / AF_INET6 */
	__u32 pad[3];
	char prog_name[16]; /* the attached program's name */
};

#endif
