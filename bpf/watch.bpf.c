// SPDX-License-Identifier: GPL-2.0
/*
 * watch.bpf.c - `herd watch`'s kernel half: for the listening ports it is
 * told about, count every connection each thread accepts and how long the
 * connection waited in the listener's accept queue before that accept().
 *
 * Two moments are timed, keyed by the child socket's address:
 *
 * 1. Ready: the sock:inet_sock_set_state tracepoint going LISTEN -> SYN_RECV,
 *    which is the child being cloned from its listener
 *    (inet_csk_clone_lock). On 6.x every connection that reaches an accept
 *    queue is born there: the ordinary handshake (tcp_check_req ->
 *    syn_recv_sock), SYN cookies (tcp_get_cookie_sock) and TCP Fast Open
 *    (tcp_try_fastopen); the same softirq then queues it
 *    (inet_csk_reqsk_queue_add), microseconds later. Rejected:
 *    - SYN_RECV -> ESTABLISHED: it fires from tcp_child_process *after* the
 *      child is queued, so accept() on another CPU can take the child before
 *      the event, and a Fast Open child is queued in SYN_RECV and may be
 *      accepted long before it is ESTABLISHED;
 *    - fentry on inet_csk_reqsk_queue_add: exact, but its main caller
 *      (inet_csk_complete_hashdance) is in the same file, so the compiler
 *      may inline it there and the probe would silently miss most
 *      connections; a tracepoint cannot be inlined away. It is still used,
 *      where fexit works, for the queue's length at each enqueue.
 *    - tcp_child_process: misses Fast Open and SYN cookies.
 *    A child that is never queued (it lost a race in the hash dance) or
 *    never accepted (its listener closed) ages out of the LRU map.
 * 2. Taken: the return of inet_csk_accept(listener, ...), which hands the
 *    first child of the queue to accept()/accept4() (and to io_uring's
 *    accept) in the caller's context, so the current tid is the acceptor.
 *    It is only ever called through sk_prot->accept, so it cannot be
 *    inlined. Its arguments changed in 6.10 (struct proto_accept_arg): the
 *    program reads only the first and takes the child with
 *    bpf_get_func_ret(). Kernels that refuse fexit (no BPF trampoline, or
 *    a sandbox: this project's Firecracker VM answers EPERM even to root)
 *    get the syscall-exit flavour at the end of this file, with io_uring's
 *    completion tracepoint for the accepts of rings, which are no syscall.
 *
 * Who counts: accepts on the watched ports of listeners in herd watch's own
 * network namespace (another namespace's listener on the same port is
 * another server, and one user space cannot list); with --pid, only those
 * of the target process and its descendants. A process's ancestry is
 * walked at its first accept and the verdict kept (watch_members): a
 * worker that outlives its master still counts, and one that was counted
 * is never dropped for having exited. Every count of an accept is made
 * after both filters, so listener, process and thread figures count the
 * same accepts.
 *
 * Thread exits are seen here too (sched_process_exit), so that user space
 * knows which entries are final without reading /proc per thread (that
 * read walked every thread of the process: quadratic for a thread pool).
 *
 * Memory is bounded whatever the connection rate: per-thread, per-process
 * and per-listener aggregates (a wait histogram, not a list), and the table
 * of children waiting to be accepted is an LRU map.
 */
#include "vmlinux.h"
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "watch.h"

/* Advanced by user space after each read: restarts the epoch maxima. */
__u32 watch_epoch = 0;

/* Diagnostics: pending map updates that failed, tid/pair/listener maps full. */
__u64 watch_lost = 0;

/* Set by user space before loading: --pid's process (0: any process), and
 * the inode of herd watch's network namespace (/proc/self/ns/net). */
const volatile __u32 watch_target = 0;
const volatile __u32 watch_netns = 0;

const struct watch_tid watch_tid_zero = {};
const struct watch_listener watch_listener_zero = {};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, WATCH_MAX_PORTS);
	__type(key, __u16);
	__type(value, __u8);
} watch_ports SEC(".maps");

/* child sock address -> ktime (ns) it became ready in the accept queue. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WATCH_MAX_PENDING);
	__type(key, __u64);
	__type(value, __u64);
} watch_pending SEC(".maps");

/* Allocated on first accept of a thread, not up front: a few KiB per
 * accepting thread instead of WATCH_MAX_TIDS x 1.2 KiB locked at load. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WATCH_MAX_TIDS);
	__type(key, __u32);
	__type(value, struct watch_tid);
} watch_tids SEC(".maps");

/* Key: the listener's inode. User space folds a closed one and deletes it. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WATCH_MAX_LISTENERS);
	__type(key, __u64);
	__type(value, struct watch_listener);
} watch_listeners SEC(".maps");

/* (process, listener) -> accepts. Freed by user space when the process is gone. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, WATCH_MAX_PAIRS);
	__type(key, struct watch_pair_key);
	__type(value, __u64);
} watch_pairs SEC(".maps");

/* --pid: processes known to descend from watch_target (the target too,
 * put there by user space). LRU: one evicted is walked again. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WATCH_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, __u8);
} watch_members SEC(".maps");

/* A listener on a watched port, in our network namespace: its port, else 0. */
static __always_inline __u16 sk_wanted(struct sock *sk)
{
	__u16 port = BPF_CORE_READ(sk, __sk_common.skc_num);

	if (!bpf_map_lookup_elem(&watch_ports, &port))
		return 0;
	if (watch_netns && BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum) != watch_netns)
		return 0;
	return port;
}

/* --pid: is task (of process tgid) the target or one of its descendants? */
static __always_inline bool pid_wanted(struct task_struct *t, __u32 tgid)
{
	__u32 p;
	__u8 one = 1;

	if (!watch_target || bpf_map_lookup_elem(&watch_members, &tgid))
		return true;
	/* Up the tree from the parent; a deeper descendant than this is
	 * found through its ancestors' verdicts once they accepted. */
	for (int i = 0; i < 32; i++) {
		t = BPF_CORE_READ(t, real_parent);
		if (!t)
			return false;
		p = BPF_CORE_READ(t, tgid);
		if (p == watch_target || bpf_map_lookup_elem(&watch_members, &p)) {
			bpf_map_update_elem(&watch_members, &tgid, &one, BPF_ANY);
			return true;
		}
		if (p <= 1)
			return false;
	}
	return false;
}

static __always_inline __u64 sk_ino(struct sock *sk)
{
	return BPF_CORE_READ(sk, sk_socket, file, f_inode, i_ino);
}

static __always_inline struct watch_listener *listener_get(struct sock *sk, __u64 ino, __u16 port)
{
	struct watch_listener *l;

	if (!ino)
		return NULL; /* closing: no socket any more */
	l = bpf_map_lookup_elem(&watch_listeners, &ino);
	if (l)
		return l;
	bpf_map_update_elem(&watch_listeners, &ino, &watch_listener_zero, BPF_NOEXIST);
	l = bpf_map_lookup_elem(&watch_listeners, &ino);
	if (!l)
		return NULL;
	l->port = port;
	l->family = BPF_CORE_READ(sk, __sk_common.skc_family);
	l->ino = ino;
	if (l->family == 10 /* AF_INET6 */)
		bpf_core_read(l->addr, 16, &sk->__sk_common.skc_v6_rcv_saddr);
	else
		bpf_core_read(l->addr, 4, &sk->__sk_common.skc_rcv_saddr);
	return l;
}

static __always_inline void pair_add(__u32 tgid, __u64 ino)
{
	struct watch_pair_key k = {.tgid = tgid, .ino = ino};
	__u64 zero = 0, *n = bpf_map_lookup_elem(&watch_pairs, &k);

	if (!n) {
		bpf_map_update_elem(&watch_pairs, &k, &zero, BPF_NOEXIST);
		n = bpf_map_lookup_elem(&watch_pairs, &k);
	}
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		__sync_fetch_and_add(&watch_lost, 1);
}

/* Longest queue of this epoch. Not atomic: two CPUs at once may lose the
 * larger of two lengths for this epoch, never more than that. */
static __always_inline void queue_peak(struct watch_listener *l, struct sock *sk, __u32 qlen)
{
	__u32 epoch = *(volatile __u32 *)&watch_epoch;

	l->max_backlog = BPF_CORE_READ(sk, sk_max_ack_backlog);
	if (l->epoch != epoch) {
		l->epoch = epoch;
		l->qmax = qlen;
	} else if (qlen > l->qmax) {
		l->qmax = qlen;
	}
}

static __always_inline struct watch_tid *tid_get(__u32 tid, __u32 tgid)
{
	struct watch_tid *t = bpf_map_lookup_elem(&watch_tids, &tid);

	if (t)
		return t;
	if (bpf_map_update_elem(&watch_tids, &tid, &watch_tid_zero, BPF_NOEXIST) != 0)
		__sync_fetch_and_add(&watch_lost, 1);
	t = bpf_map_lookup_elem(&watch_tids, &tid);
	if (t)
		t->tgid = tgid;
	return t;
}

/* An accept of child from listener sk by task (the acceptor: the current
 * task, or the task that owns an io_uring request). A NULL child (an
 * io_uring direct descriptor that could not be read) counts, untimed. */
static __always_inline void on_accepted(struct sock *sk, struct sock *child, struct task_struct *task)
{
	__u16 port;
	__u32 tid = BPF_CORE_READ(task, pid), tgid = BPF_CORE_READ(task, tgid);
	__u64 key = (__u64)child, wait = 0, *ready, ino;
	__u32 epoch = *(volatile __u32 *)&watch_epoch, b;
	struct watch_listener *l;
	struct watch_tid *t;
	bool timed = false;

	if (!sk)
		return;
	port = sk_wanted(sk);
	if (!port || !pid_wanted(task, tgid))
		return;
	ready = child ? bpf_map_lookup_elem(&watch_pending, &key) : NULL;
	if (ready) {
		__u64 now = bpf_ktime_get_ns();

		wait = now > *ready ? now - *ready : 0;
		timed = true;
		bpf_map_delete_elem(&watch_pending, &key);
	}
	ino = sk_ino(sk);
	l = listener_get(sk, ino, port);
	if (l)
		l->last_tgid = tgid;
	pair_add(tgid, ino);
	t = tid_get(tid, tgid);
	if (!t)
		return;
	/* This thread is in accept() right now (or its io_uring request is
	 * being completed, in its own context or an io-wq worker's), so no
	 * other CPU writes t. A slot still marked exited is a reused tid that
	 * user space has not folded yet: the new thread adds to it (as a live
	 * one). */
	t->exited = 0;
	t->accepted++;
	t->listener_ino = ino;
	t->cpu_ns = BPF_CORE_READ(task, se.sum_exec_runtime);
	BPF_CORE_READ_STR_INTO(&t->comm, task, comm);
	if (!timed)
		return;
	t->timed++;
	t->wait_sum_ns += wait;
	if (wait > t->wait_max_ns)
		t->wait_max_ns = wait;
	if (t->epoch != epoch) {
		t->epoch = epoch;
		t->epoch_max_ns = wait;
	} else if (wait > t->epoch_max_ns) {
		t->epoch_max_ns = wait;
	}
	b = watch_wait_bucket(wait);
	if (b >= WATCH_NBUCKETS)
		b = WATCH_NBUCKETS - 1;
	t->hist[b]++;
}

/* A thread exits: its entry, if it has one, is final from here on. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(watch_exit, struct task_struct *p)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct watch_tid *t = bpf_map_lookup_elem(&watch_tids, &tid);

	if (t) {
		t->cpu_ns = BPF_CORE_READ(p, se.sum_exec_runtime);
		t->exited = 1;
	}
	return 0;
}

/* A child entered sk's accept queue: its length, the child included. */
SEC("fexit/inet_csk_reqsk_queue_add")
int BPF_PROG(watch_queued, struct sock *sk, struct request_sock *req, struct sock *child, struct sock *ret)
{
	__u16 port;
	struct watch_listener *l;

	if (!ret || !(port = sk_wanted(sk)))
		return 0;
	l = listener_get(sk, sk_ino(sk), port);
	if (l) {
		__sync_fetch_and_add(&l->queued, 1);
		queue_peak(l, sk, BPF_CORE_READ(sk, sk_ack_backlog));
	}
	return 0;
}

SEC("fexit/inet_csk_accept")
int BPF_PROG(watch_accept, struct sock *sk)
{
	__u64 child = 0;

	bpf_get_func_ret(ctx, &child);
	if (child) /* NULL: the accept failed */
		on_accepted(sk, (struct sock *)child, (struct task_struct *)bpf_get_current_task());
	return 0;
}

/*
 * The syscall-exit flavour of "taken", for kernels that refuse fexit: the
 * raw_syscalls:sys_exit tracepoint for accept/accept4 (io_uring accepts are
 * not syscalls: the io_uring tracepoints after it see them). Raw tracepoints attach by name, without
 * tracefs. The child and the listener come from the returned fd and the
 * first argument through current->files. Every syscall of every task runs
 * this program; all but accepts leave at the first test.
 */
#if defined(__TARGET_ARCH_x86)
#define NR_ACCEPT 43
#define NR_ACCEPT4 288
#define SYSCALL_NR(regs) BPF_CORE_READ(regs, orig_ax)
#define SYSCALL_ARG1(regs) BPF_CORE_READ(regs, di)
#elif defined(__TARGET_ARCH_arm64)
#define NR_ACCEPT 202
#define NR_ACCEPT4 242
#define SYSCALL_NR(regs) BPF_CORE_READ((struct user_pt_regs *)(regs), regs[8])
#define SYSCALL_ARG1(regs) PT_REGS_PARM1_CORE_SYSCALL(regs)
#endif

/* Ready (both flavours): the child is cloned from its listener. */
SEC("tp_btf/inet_sock_set_state")
int BPF_PROG(watch_clone, struct sock *sk, int oldstate, int newstate)
{
	__u16 port;
	__u64 key = (__u64)sk, now;

	if (oldstate != TCP_LISTEN || newstate != TCP_SYN_RECV)
		return 0;
	/* The child's port and namespace are its listener's. */
	port = sk_wanted(sk);
	if (!port)
		return 0;
	now = bpf_ktime_get_ns();
	/* BPF_ANY: an address reused by a new child overwrites whatever an
	 * unaccepted predecessor left. */
	if (bpf_map_update_elem(&watch_pending, &key, &now, BPF_ANY) != 0)
		__sync_fetch_and_add(&watch_lost, 1);
	return 0;
}

/* A socket file's struct sock (a socket file's private_data is its struct
 * socket). */
static __always_inline struct sock *file_sock(struct file *f)
{
	struct socket *so = f ? (struct socket *)BPF_CORE_READ(f, private_data) : NULL;

	return so ? BPF_CORE_READ(so, sk) : NULL;
}

/* The struct sock behind file descriptor fd of task. */
static __always_inline struct sock *fd_sock(struct task_struct *task, long fd)
{
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *f = NULL;

	if (!fdt || fd < 0 || fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) != 0 || !f)
		return NULL;
	/* accept() succeeded on both fds, so both are sockets. */
	return file_sock(f);
}

/* The listener's queue as an accept found it (the child included): without
 * the fexit on the enqueue, the peak is sampled at accepts. */
static __always_inline void sampled_peak(struct sock *sk)
{
	__u64 ino = sk_ino(sk);
	struct watch_listener *l = bpf_map_lookup_elem(&watch_listeners, &ino);

	if (l)
		queue_peak(l, sk, BPF_CORE_READ(sk, sk_ack_backlog) + 1);
}

#ifdef NR_ACCEPT
SEC("tp_btf/sys_exit")
int BPF_PROG(watch_sys_exit_tp, struct pt_regs *regs, long ret)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct sock *child, *sk;
	long nr;

	if (ret < 0)
		return 0;
	nr = SYSCALL_NR(regs);
	if (nr != NR_ACCEPT && nr != NR_ACCEPT4)
		return 0;
	child = fd_sock(task, ret);
	sk = fd_sock(task, (long)SYSCALL_ARG1(regs));
	if (!child || !sk || !sk_wanted(sk))
		return 0;
	on_accepted(sk, child, task);
	sampled_peak(sk);
	return 0;
}
#endif

/*
 * io_uring's accepts, for the sys_exit flavour (fexit on inet_csk_accept
 * sees them already: the ring's accept calls it too). A ring's accept is
 * no syscall; the io_uring:io_uring_complete tracepoint sees its
 * completion, the CQE, whose res is the new fd (of the file table the
 * request's task shares with io-wq and SQPOLL threads) or, for a direct
 * descriptor, a slot of the ring's fixed-file table.
 *
 * The request is the tracepoint's second argument, except for a multishot
 * accept's CQEs, all but its last: those are posted by io_req_post_cqe()
 * -> io_fill_cqe_aux(), which passes NULL (checked on 6.18 through
 * tracefs: `req 0000000000000000, user_data 0x1, result 7, cflags 0x2`,
 * in the worker's own context). So the accept requests on watched
 * listeners are noted, keyed by (ring, user_data), when one is submitted
 * (io_uring_submit_req) and whenever its poll entry is woken by a new
 * connection (io_uring_task_add, in the waker's softirq): the second sees
 * the requests of a server that armed them before herd watch started.
 * A noted request is checked again at each use (same ring, opcode and
 * user_data: requests are recycled), and forgotten at its final CQE.
 *
 * The acceptor is the request's task (req->tctx->task, req->task before
 * 6.13), not the current one: an accept punted to io-wq completes in an
 * iou-wrk thread. Completions run in that task's context otherwise
 * (task_work, or io_uring_enter with DEFER_TASKRUN).
 */
#define WATCH_OP_ACCEPT 13	     /* IORING_OP_ACCEPT, uapi */
#define WATCH_FILE_INDEX_ALLOC (~0U) /* IORING_FILE_INDEX_ALLOC, uapi */
#define WATCH_FFS_MASK (~3UL)	     /* io_uring/filetable.h: flag bits of file_ptr */

struct watch_uring_key {
	__u64 ctx;
	__u64 user_data;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, WATCH_MAX_LISTENERS);
	__type(key, struct watch_uring_key);
	__type(value, __u64);
} watch_uring_reqs SEC(".maps");

/* Before 6.13 a request pointed to its task directly. */
struct io_kiocb___task {
	struct task_struct *task;
} __attribute__((preserve_access_index));

static __always_inline struct task_struct *req_task(struct io_kiocb *req)
{
	if (bpf_core_field_exists(req->tctx))
		return BPF_CORE_READ(req, tctx, task);
	return BPF_CORE_READ((struct io_kiocb___task *)req, task);
}

/* The listener of an accept request, if it is one on a watched port. */
static __always_inline struct sock *req_listener(struct io_kiocb *req)
{
	struct sock *sk;

	if (BPF_CORE_READ(req, opcode) != WATCH_OP_ACCEPT)
		return NULL;
	/* Fixed (registered) or not, the listener's file is req->file. */
	sk = file_sock(BPF_CORE_READ(req, file));
	return sk && sk_wanted(sk) ? sk : NULL;
}

/* A multishot accept (IORING_ACCEPT_MULTISHOT, uapi bit 0 of the accept's
 * flags, kept in iou_flags since 6.10; before, assumed): only its CQEs
 * come without the request, so only it is noted (a one-shot accept, as
 * uring-fifo arms one per connection, costs no map update). */
static __always_inline bool req_multishot(struct io_kiocb *req)
{
	struct io_accept *a = (struct io_accept *)req;

	if (bpf_core_field_exists(a->iou_flags))
		return BPF_CORE_READ(a, iou_flags) & 1;
	return true;
}

static __always_inline void uring_note(struct io_kiocb *req)
{
	struct watch_uring_key k;
	__u64 v = (__u64)req, *old;

	/* The opcode and the flags first: every request on the machine
	 * passes here, and most are no multishot accept. */
	if (!req || BPF_CORE_READ(req, opcode) != WATCH_OP_ACCEPT || !req_multishot(req) || !req_listener(req))
		return;
	k.ctx = (__u64)BPF_CORE_READ(req, ctx);
	k.user_data = BPF_CORE_READ(req, cqe.user_data);
	/* Noted already (each connection wakes it again): a lookup, not an
	 * LRU update, which takes the map's lock. */
	old = bpf_map_lookup_elem(&watch_uring_reqs, &k);
	if (!old || *old != v)
		bpf_map_update_elem(&watch_uring_reqs, &k, &v, BPF_ANY);
}

SEC("tp_btf/io_uring_submit_req")
int BPF_PROG(watch_uring_submit, struct io_kiocb *req)
{
	uring_note(req);
	return 0;
}

SEC("tp_btf/io_uring_task_add")
int BPF_PROG(watch_uring_wake, struct io_kiocb *req, int mask)
{
	uring_note(req);
	return 0;
}

/* The child a direct-descriptor accept put in slot `slot` of the ring's
 * fixed-file table. */
static __always_inline struct sock *fixed_sock(struct io_ring_ctx *ctx, __u32 slot)
{
	struct io_rsrc_node **nodes = BPF_CORE_READ(ctx, file_table.data.nodes), *node = NULL;
	unsigned long ptr;

	if (slot >= BPF_CORE_READ(ctx, file_table.data.nr))
		return NULL;
	if (bpf_probe_read_kernel(&node, sizeof(node), &nodes[slot]) != 0 || !node)
		return NULL;
	ptr = BPF_CORE_READ(node, file_ptr);
	return file_sock((struct file *)(ptr & WATCH_FFS_MASK));
}

/* Prototype (ring, req, cqe): user space loads this only where the kernel's
 * BTF says so (watch.c: uring_tp_ok). */
SEC("tp_btf/io_uring_complete")
int BPF_PROG(watch_uring_complete, struct io_ring_ctx *ring, void *req_arg, struct io_uring_cqe *cqe)
{
	struct io_kiocb *req = req_arg;
	struct watch_uring_key k = {.ctx = (__u64)ring, .user_data = BPF_CORE_READ(cqe, user_data)};
	__s32 res = BPF_CORE_READ(cqe, res);
	struct task_struct *task;
	struct sock *sk, *child;
	__u32 slot;

	if (req) {
		/* The request's last CQE: nothing more comes of it. */
		if (BPF_CORE_READ(req, opcode) == WATCH_OP_ACCEPT && req_multishot(req))
			bpf_map_delete_elem(&watch_uring_reqs, &k);
	} else if (res >= 0) {
		__u64 *v = bpf_map_lookup_elem(&watch_uring_reqs, &k);

		if (!v)
			return 0;
		req = (struct io_kiocb *)*v;
		if ((__u64)BPF_CORE_READ(req, ctx) != k.ctx || BPF_CORE_READ(req, cqe.user_data) != k.user_data)
			return 0;
	}
	if (!req || res < 0 || !(sk = req_listener(req)))
		return 0;
	task = req_task(req);
	if (!task)
		task = (struct task_struct *)bpf_get_current_task();
	slot = BPF_CORE_READ((struct io_accept *)req, file_slot);
	if (!slot)
		child = fd_sock(task, res);
	else /* a direct descriptor: res is the slot allocated, else 0 */
		child = fixed_sock(ring, slot == WATCH_FILE_INDEX_ALLOC ? (__u32)res : slot - 1);
	on_accepted(sk, child, task);
	sampled_peak(sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
