/*
 * watch.c - herd watch's collector: loads bpf/watch.bpf.c (open -> set the
 * ports -> load -> attach), and turns its maps plus sock_diag and /proc into
 * snapshots. Without BTF at build time herd has no program to load and
 * watch_open() says -ENOPKG.
 */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "watch/proc.h"
#include "watch/watch.h"

#ifdef HERD_WATCH_BPF
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
/* The skeleton names struct watch_tid (bpf/watch.h, included above).
 * The generated skeleton embeds the BPF object as one long string literal,
 * longer than ISO C promises to support (gcc and clang both cope). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Woverlength-strings"
#include "watch.skel.h"
#pragma GCC diagnostic pop
#endif

struct watch {
#ifdef HERD_WATCH_BPF
	struct watch_bpf *skel;
#endif
	struct watch_config cfg; /* ports resolved */
	bool sys_exit;
	/* Threads that exited: their final figures, kept here so the kernel
	 * map can forget them (it holds at most WATCH_MAX_TIDS). Bounded
	 * (watch.h): at most WATCH_MAX_GONE_THREADS threads of their own
	 * (cfg.threads only), one sum per process (fidx: sorted by tgid, for
	 * a lookup in log time), and the sum of evicted exited processes. */
	struct watch_thread *gone;
	size_t ngone, cap_gone;
	struct watch_thread *folded;
	size_t nfolded, cap_folded, evict_at;
	struct fold_idx {
		pid_t tgid;
		uint32_t i;
	} * fidx;
	size_t cap_fidx;
	struct watch_thread others; /* tgid 0; others.nexited == 0: none */
	/* Longest queue per listening socket since open (the kernel keeps
	 * only the current epoch's). */
	struct {
		uint64_t ino;
		uint32_t peak;
	} * peaks;
	size_t npeaks, cap_peaks;
};

static bool port_listened(uint16_t port)
{
	struct watch_snapshot s = {0};
	bool found = watch_proc_listeners(&s, &port, 1) == 0 && s.nsocks > 0;

	free(s.socks);
	return found;
}

/* --pid: the process must exist and hold listening sockets; --port: one
 * of the ports at least must have a listener. */
static int resolve_ports(struct watch_config *c)
{
	size_t n = 0;
	int err;

	if (c->pid > 0) {
		if (kill(c->pid, 0) != 0 && errno == ESRCH)
			return -ESRCH;
		if (c->nports == 0) {
			err = watch_proc_pid_ports(c->pid, c->ports, WATCH_MAX_PORTS, &n);
			if (err)
				return err;
			c->nports = (unsigned)n;
		}
		return c->nports ? 0 : -EADDRNOTAVAIL;
	}
	if (c->nports == 0 || c->nports > WATCH_MAX_PORTS)
		return -EINVAL;
	for (unsigned i = 0; i < c->nports; i++)
		if (port_listened(c->ports[i]))
			return 0;
	return -EADDRNOTAVAIL;
}

#ifdef HERD_WATCH_BPF
static bool watch_verbose;

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (!watch_verbose || level == LIBBPF_DEBUG)
		return 0;
	return vfprintf(stderr, fmt, ap);
}

/* Opens, loads and attaches one flavour of the programs. */
static int load(struct watch *w, bool sys_exit)
{
	/* LIBBPF_OPTS() is a GNU statement expression: spelled out for -Wpedantic. */
	struct bpf_object_open_opts oo = {.sz = sizeof(oo), .btf_custom_path = w->cfg.btf};
	struct watch_bpf *sk;
	int err;

	watch_verbose = w->cfg.verbose;
	libbpf_set_print(libbpf_print);
	sk = watch_bpf__open_opts(&oo);
	if (!sk)
		return -errno;
	bpf_program__set_autoload(sk->progs.watch_queued, !sys_exit);
	bpf_program__set_autoload(sk->progs.watch_accept, !sys_exit);
#if defined(__x86_64__) || defined(__aarch64__)
	bpf_program__set_autoload(sk->progs.watch_sys_exit_tp, sys_exit);
#else
	/* bpf/watch.bpf.c knows the accept syscall numbers of these two only. */
	if (sys_exit) {
		watch_bpf__destroy(sk);
		return -ENOTSUP;
	}
#endif
	err = watch_bpf__load(sk);
	for (unsigned i = 0; !err && i < w->cfg.nports; i++) {
		__u16 port = w->cfg.ports[i];
		__u8 one = 1;
		if (bpf_map_update_elem(bpf_map__fd(sk->maps.watch_ports), &port, &one, BPF_ANY) != 0)
			err = -errno;
	}
	if (!err)
		err = watch_bpf__attach(sk);
	if (err) {
		watch_bpf__destroy(sk);
		return err;
	}
	w->skel = sk;
	w->sys_exit = sys_exit;
	return 0;
}
#define WATCH_HAVE_BPF 1
#else
#define WATCH_HAVE_BPF 0
static int load(struct watch *w, bool sys_exit)
{
	(void)w;
	(void)sys_exit;
	return -ENOPKG;
}
#endif

int watch_open(struct watch **wp, const struct watch_config *cfg)
{
	struct watch *w;
	int err;

	if (!wp || !cfg)
		return -EINVAL;
	*wp = NULL;
	if (!WATCH_HAVE_BPF)
		return -ENOPKG;
	/* libbpf would look in a few more places, but a kernel without
	 * /sys/kernel/btf/vmlinux is the case to name; --btf covers the rest
	 * (a BTF file made for this kernel, e.g. from BTFHub). */
	if (access(cfg->btf ? cfg->btf : "/sys/kernel/btf/vmlinux", R_OK) != 0)
		return -ENOENT;
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cfg = *cfg;
	w->others.tid = WATCH_TID_EXITED;
	w->others.gone = true;
	err = resolve_ports(&w->cfg);
	if (err)
		goto fail;
	/* fexit first: exactly the accept path. Where the kernel refuses it
	 * (no trampolines, or a sandbox: EPERM even for root) the sys_exit
	 * flavour, which costs a test on every syscall. Without privileges
	 * both fail, and the second says so. */
	err = load(w, cfg->probe == WATCH_PROBE_SYS_EXIT);
	if (err && cfg->probe == WATCH_PROBE_AUTO)
		err = load(w, true);
	if (err)
		goto fail;
	/* libbpf parsed the kernel's BTF (~6 MiB here) once per attempt and
	 * freed it, but glibc keeps the freed heap: give it back, or a tool
	 * that runs for days holds 14 MiB instead of 3. */
	malloc_trim(0);
	*wp = w;
	return 0;
fail:
	free(w);
	return err;
}

size_t watch_ports(const struct watch *w, uint16_t *ports, size_t max)
{
	size_t n = w->cfg.nports < max ? w->cfg.nports : max;

	memcpy(ports, w->cfg.ports, n * sizeof(*ports));
	return n;
}

bool watch_pid_wanted(const struct watch *w, pid_t pid)
{
	return w->cfg.pid <= 0 || watch_proc_descends(pid, w->cfg.pid) == 1;
}

#ifdef HERD_WATCH_BPF
static struct watch_thread *thread_add(struct watch_thread **a, size_t *n, size_t *cap)
{
	struct watch_thread *p = util_grow(*a, cap, *n + 1, sizeof(**a));

	if (!p)
		return NULL;
	*a = p;
	return &p[(*n)++];
}

/* Copies one kernel entry into t and looks up its /proc figures; false
 * when the thread has exited. */
static bool thread_fill(struct watch_thread *t, __u32 tid, const struct watch_tid *v, __u32 epoch)
{
	memset(t, 0, sizeof(*t));
	t->tid = (pid_t)tid;
	t->tgid = (pid_t)v->tgid;
	t->accepted = v->accepted;
	t->timed = v->timed;
	t->wait_sum_ns = v->wait_sum_ns;
	t->wait_max_ns = v->wait_max_ns;
	t->epoch_max_ns = v->epoch == epoch ? v->epoch_max_ns : 0;
	t->listener_ino = v->listener_ino;
	memcpy(t->hist, v->hist, sizeof(t->hist));
	/* Only a thread that no longer exists is final. */
	if (watch_proc_cpu_ns(t->tgid, t->tid, &t->cpu_ns) == -ENOENT)
		return false;
	watch_proc_cpu_ns(t->tgid, 0, &t->proc_cpu_ns);
	watch_proc_comm(t->tgid, t->tid, t->comm, sizeof(t->comm));
	return true;
}

/* Adds src (a thread, or a sum of exited ones) to the sum dst. */
static void thread_sum(struct watch_thread *dst, const struct watch_thread *src)
{
	dst->accepted += src->accepted;
	dst->timed += src->timed;
	dst->wait_sum_ns += src->wait_sum_ns;
	if (src->wait_max_ns > dst->wait_max_ns)
		dst->wait_max_ns = src->wait_max_ns;
	if (src->epoch_max_ns > dst->epoch_max_ns)
		dst->epoch_max_ns = src->epoch_max_ns;
	dst->listener_ino = src->listener_ino;
	dst->nexited += src->nexited ? src->nexited : 1;
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
		dst->hist[b] += src->hist[b];
}

static int cmp_fidx(const void *x, const void *y)
{
	const struct fold_idx *a = x, *b = y;

	return (a->tgid > b->tgid) - (a->tgid < b->tgid);
}

/* Past evict_at per-process sums, those of processes that no longer exist
 * go into `others`; the next sweep waits until the table doubles, so that
 * many live processes do not make every new one a sweep. */
static void fold_evict(struct watch *w)
{
	size_t k = 0;

	for (size_t i = 0; i < w->nfolded; i++) {
		if (kill(w->folded[i].tgid, 0) != 0 && errno == ESRCH) {
			thread_sum(&w->others, &w->folded[i]);
			continue;
		}
		w->folded[k] = w->folded[i];
		w->fidx[k].tgid = w->folded[k].tgid;
		w->fidx[k].i = (uint32_t)k;
		k++;
	}
	w->nfolded = k;
	if (k)
		qsort(w->fidx, k, sizeof(*w->fidx), cmp_fidx);
	w->evict_at = 2 * k > WATCH_MAX_GONE_PROCS ? 2 * k : WATCH_MAX_GONE_PROCS;
}

/* The sum of process tgid's exited threads, created empty if needed. */
static struct watch_thread *fold_get(struct watch *w, pid_t tgid)
{
	struct fold_idx key = {.tgid = tgid}, *f;
	size_t lo = 0, hi;
	struct watch_thread *t;
	void *p, *q;

	f = w->nfolded ? bsearch(&key, w->fidx, w->nfolded, sizeof(*w->fidx), cmp_fidx) : NULL;
	if (f)
		return &w->folded[f->i];
	if (w->nfolded >= (w->evict_at ? w->evict_at : WATCH_MAX_GONE_PROCS))
		fold_evict(w);
	p = util_grow(w->folded, &w->cap_folded, w->nfolded + 1, sizeof(*w->folded));
	if (!p)
		return NULL;
	w->folded = p;
	q = util_grow(w->fidx, &w->cap_fidx, w->nfolded + 1, sizeof(*w->fidx));
	if (!q)
		return NULL;
	w->fidx = q;
	/* Insert into the index at its sorted place. */
	for (hi = w->nfolded; lo < hi;) {
		size_t mid = lo + (hi - lo) / 2;
		if (w->fidx[mid].tgid < tgid)
			lo = mid + 1;
		else
			hi = mid;
	}
	memmove(&w->fidx[lo + 1], &w->fidx[lo], (w->nfolded - lo) * sizeof(*w->fidx));
	w->fidx[lo].tgid = tgid;
	w->fidx[lo].i = (uint32_t)w->nfolded;
	t = &w->folded[w->nfolded++];
	memset(t, 0, sizeof(*t));
	t->tgid = tgid;
	t->tid = WATCH_TID_EXITED;
	t->gone = true;
	return t;
}

/* A thread that exited: an entry of its own while --threads has room,
 * else into its process's sum. */
static int thread_gone(struct watch *w, const struct watch_thread *t)
{
	struct watch_thread *d;

	if (w->cfg.threads && w->ngone < WATCH_MAX_GONE_THREADS) {
		d = thread_add(&w->gone, &w->ngone, &w->cap_gone);
		if (d)
			*d = *t;
		return d ? 0 : -ENOMEM;
	}
	d = fold_get(w, t->tgid);
	if (!d)
		return -ENOMEM;
	thread_sum(d, t);
	return 0;
}

/* Appends the n entries of a to the snapshot. */
static int snap_append(struct watch_snapshot *s, struct watch_thread *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct watch_thread *t = thread_add(&s->threads, &s->nthreads, &s->cap_threads);
		if (!t)
			return -ENOMEM;
		*t = a[i];
		a[i].epoch_max_ns = 0; /* reported once */
	}
	return 0;
}

static int read_threads(struct watch *w, struct watch_snapshot *s, __u32 epoch)
{
	int fd = bpf_map__fd(w->skel->maps.watch_tids), err = 0;
	struct watch_tid v;
	struct watch_thread t;
	__u32 key, next, *prev = NULL, *dead = NULL;
	size_t ndead = 0, capdead = 0;

	s->nthreads = 0;
	while (!err && bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) != 0)
			continue;
		if (thread_fill(&t, key, &v, epoch)) {
			struct watch_thread *d = thread_add(&s->threads, &s->nthreads, &s->cap_threads);
			if (!d)
				err = -ENOMEM;
			else
				*d = t;
			continue;
		}
		/* Exited: keep the final figures, free the kernel's slot (after
		 * the walk: deleting the current key would restart it). */
		t.gone = true;
		void *p = util_grow(dead, &capdead, ndead + 1, sizeof(*dead));
		if (!p) {
			err = -ENOMEM;
			break;
		}
		dead = p;
		err = thread_gone(w, &t);
		if (!err)
			dead[ndead++] = key;
	}
	for (size_t i = 0; i < ndead; i++)
		bpf_map_delete_elem(fd, &dead[i]);
	free(dead);
	if (!err)
		err = snap_append(s, w->gone, w->ngone);
	if (!err)
		err = snap_append(s, w->folded, w->nfolded);
	if (!err && w->others.nexited)
		err = snap_append(s, &w->others, 1);
	return err;
}

/* Raises the since-open peak of k's socket to k->qmax; sets k->qmax_all. */
static int peak_update(struct watch *w, struct watch_sock *k)
{
	size_t i;

	for (i = 0; i < w->npeaks && w->peaks[i].ino != k->ino; i++)
		;
	if (i == w->npeaks) {
		void *p = util_grow(w->peaks, &w->cap_peaks, w->npeaks + 1, sizeof(*w->peaks));
		if (!p)
			return -ENOMEM;
		w->peaks = p;
		w->peaks[w->npeaks].ino = k->ino;
		w->peaks[w->npeaks++].peak = 0;
	}
	if (k->qmax > w->peaks[i].peak)
		w->peaks[i].peak = k->qmax;
	k->qmax_all = w->peaks[i].peak;
	return 0;
}

static int read_listeners(struct watch *w, struct watch_snapshot *s, __u32 epoch)
{
	int fd = bpf_map__fd(w->skel->maps.watch_listeners), err = 0;
	struct watch_listener v;
	__u64 key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) != 0)
			continue;
		for (size_t i = 0; i < s->nsocks; i++) {
			struct watch_sock *k = &s->socks[i];
			if (k->ino != v.ino)
				continue;
			k->queued = v.queued;
			k->accepted = v.accepted;
			k->qmax = v.epoch == epoch ? v.qmax : 0;
			k->last_tgid = (pid_t)v.last_tgid;
		}
	}
	/* The length sock_diag saw just now counts as seen too. */
	for (size_t i = 0; !err && i < s->nsocks; i++) {
		if (s->socks[i].qlen > s->socks[i].qmax)
			s->socks[i].qmax = s->socks[i].qlen;
		err = peak_update(w, &s->socks[i]);
	}
	return err;
}

static int cmp_pid(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;

	return (a > b) - (a < b);
}

/* Fills s->procs[s->nprocs] for pid, unless it exited. */
static void proc_fill(struct watch_snapshot *s, pid_t pid)
{
	struct watch_proc *p = &s->procs[s->nprocs];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (watch_proc_ppid(pid, &p->ppid) != 0)
		return; /* exited */
	watch_proc_cpu_ns(pid, 0, &p->cpu_ns);
	watch_proc_comm(pid, 0, p->comm, sizeof(p->comm));
	s->nprocs++;
}

/* Every live process that accepted or holds a watched socket, once, sorted
 * by pid (sorted and deduplicated before /proc is read: with thousands of
 * threads a scan per thread was quadratic). */
static int read_procs(struct watch_snapshot *s)
{
	size_t n = 0, cap = 1;
	pid_t *pids;

	for (size_t i = 0; i < s->nsocks; i++)
		cap += s->socks[i].nowners;
	cap += s->nthreads;
	pids = malloc(cap * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < s->nthreads; i++)
		if (!s->threads[i].gone)
			pids[n++] = s->threads[i].tgid;
	for (size_t i = 0; i < s->nsocks; i++)
		for (unsigned j = 0; j < s->socks[i].nowners; j++)
			pids[n++] = s->socks[i].owners[j];
	qsort(pids, n, sizeof(*pids), cmp_pid);
	s->nprocs = 0;
	if (n) {
		void *np = util_grow(s->procs, &s->cap_procs, n, sizeof(*s->procs));
		if (!np) {
			free(pids);
			return -ENOMEM;
		}
		s->procs = np;
	}
	for (size_t i = 0; i < n; i++)
		if (i == 0 || pids[i] != pids[i - 1])
			proc_fill(s, pids[i]);
	free(pids);
	return 0;
}
#endif

int watch_read(struct watch *w, struct watch_snapshot *s)
{
#ifdef HERD_WATCH_BPF
	__u32 epoch = __atomic_load_n(&w->skel->bss->watch_epoch, __ATOMIC_ACQUIRE);
	int err;

	s->t_ns = util_now_ns();
	s->sys_exit = w->sys_exit;
	err = read_threads(w, s, epoch);
	if (!err)
		err = watch_proc_listeners(s, w->cfg.ports, w->cfg.nports);
	if (err)
		return err;
	err = read_listeners(w, s, epoch);
	if (err)
		return err;
	/* New maxima from here on belong to the next read. */
	__atomic_store_n(&w->skel->bss->watch_epoch, epoch + 1, __ATOMIC_RELEASE);
	s->lost = __atomic_load_n(&w->skel->bss->watch_lost, __ATOMIC_RELAXED);
	err = watch_proc_owners(s);
	if (!err)
		err = read_procs(s);
	if (!err)
		err = watch_proc_netstat(&s->listen_overflows, &s->listen_drops);
	return err;
#else
	(void)w;
	(void)s;
	return -ENOPKG;
#endif
}

void watch_snapshot_free(struct watch_snapshot *s)
{
	free(s->threads);
	free(s->socks);
	free(s->procs);
	memset(s, 0, sizeof(*s));
}

void watch_close(struct watch *w)
{
	if (!w)
		return;
#ifdef HERD_WATCH_BPF
	watch_bpf__destroy(w->skel);
#endif
	free(w->gone);
	free(w->folded);
	free(w->fidx);
	free(w->peaks);
	free(w);
}
