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
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/util.h"
#include "watch/proc.h"
#include "watch/watch.h"

#ifdef HERD_WATCH_BPF
#include <bpf/bpf.h>
#include <bpf/btf.h>
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
	bool uring; /* with sys_exit: io_uring's accepts seen too */
	bool swept; /* the first read checked every thread against /proc */
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
	/* Accept counts of processes that exited (their kernel entries freed),
	 * and listeners that closed: final, kept so that nothing counted is
	 * dropped from the totals. */
	struct watch_pair *gpairs;
	size_t ngpairs, cap_gpairs;
	struct watch_sock *closed;
	size_t nclosed, cap_closed;
	/* The live processes of the last read (sorted by pid): the name of
	 * one found exited at the next read. */
	struct watch_proc *names;
	size_t nnames, cap_names;
	/* Without cfg.threads, a read's entry of each process's live threads
	 * (their sum), found through this hash: tgid -> index + 1 in the
	 * snapshot's threads; open addressing, emptied at each read. */
	struct agg_slot {
		pid_t tgid;
		uint32_t v;
	} * agg;
	size_t agg_mask, nagg;
	/* map_walk's buffers: a batch of keys and values, keys to delete. */
	char *walk, *dead;
	size_t cap_walk, ndead, cap_dead;
	bool no_batch; /* the kernel has no batch lookups */
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

/* The inode of our network namespace: the program counts only listeners
 * there (sock_diag sees no others). 0, no filter, if it cannot be read. */
static __u32 netns_ino(void)
{
	struct stat st;

	return stat("/proc/self/ns/net", &st) == 0 ? (__u32)st.st_ino : 0;
}

/* Whether the kernel's io_uring_complete tracepoint has the prototype
 * bpf/watch.bpf.c reads, (ring, req, cqe), as since 6.3: before, the
 * CQE's fields came by value, which a tp_btf program for the new one
 * would read as pointers, without the verifier objecting (it reads
 * through bpf_probe_read). clang 14 cannot ask this in the program
 * (bpf_core_type_matches). */
static bool uring_tp_ok(const char *btf_path)
{
	struct btf *b = btf_path ? btf__parse(btf_path, NULL) : btf__load_vmlinux_btf();
	const struct btf_type *t;
	bool ok = false;
	int id;

	if (!b)
		return false;
	id = btf__find_by_name_kind(b, "btf_trace_io_uring_complete", BTF_KIND_TYPEDEF);
	t = id > 0 ? btf__type_by_id(b, btf__resolve_type(b, (__u32)id)) : NULL;
	/* A pointer to a function of 4: the tracepoint's void *data first. */
	if (t && btf_is_ptr(t)) {
		t = btf__type_by_id(b, t->type);
		ok = t && btf_is_func_proto(t) && btf_vlen(t) == 4;
	}
	btf__free(b);
	return ok;
}

/* Opens, loads and attaches one flavour of the programs: fexit, or
 * sys_exit with (uring) or without the io_uring completion probes. */
static int load(struct watch *w, bool sys_exit, bool uring)
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
	sk->rodata->watch_target = w->cfg.pid > 0 ? (__u32)w->cfg.pid : 0;
	sk->rodata->watch_netns = netns_ino();
	/* An LRU map is allocated whole at load: without --pid it is unused. */
	if (w->cfg.pid <= 0)
		bpf_map__set_max_entries(sk->maps.watch_members, 1);
	bpf_program__set_autoload(sk->progs.watch_queued, !sys_exit);
	bpf_program__set_autoload(sk->progs.watch_accept, !sys_exit);
	/* fexit on inet_csk_accept sees io_uring's accepts already. */
	uring = uring && sys_exit && uring_tp_ok(w->cfg.btf);
	bpf_program__set_autoload(sk->progs.watch_uring_submit, uring);
	bpf_program__set_autoload(sk->progs.watch_uring_wake, uring);
	bpf_program__set_autoload(sk->progs.watch_uring_complete, uring);
	if (!uring)
		bpf_map__set_max_entries(sk->maps.watch_uring_reqs, 1);
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
	if (!err && w->cfg.pid > 0) {
		__u32 pid = (__u32)w->cfg.pid;
		__u8 one = 1;
		if (bpf_map_update_elem(bpf_map__fd(sk->maps.watch_members), &pid, &one, BPF_ANY) != 0)
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
	w->uring = uring;
	return 0;
}

/* --btf FILE must be BTF: libbpf would say "Unknown error 4001" of a file
 * that is not (its own error codes, which strerror() does not know). */
static int btf_check(const char *path, bool verbose)
{
	struct btf *b;

	watch_verbose = verbose;
	libbpf_set_print(libbpf_print);
	b = btf__parse(path, NULL);
	if (!b)
		return -ENOEXEC;
	btf__free(b);
	return 0;
}
#define WATCH_HAVE_BPF 1
#else
#define WATCH_HAVE_BPF 0
static int load(struct watch *w, bool sys_exit, bool uring)
{
	(void)w;
	(void)sys_exit;
	(void)uring;
	return -ENOPKG;
}

static int btf_check(const char *path, bool verbose)
{
	(void)path;
	(void)verbose;
	return -ENOPKG;
}
#endif

const char *watch_strerror(int err)
{
#ifdef HERD_WATCH_BPF
	static char buf[128];
#endif

	if (err < 0)
		err = -err;
#ifdef HERD_WATCH_BPF
	if (err >= 4000 && libbpf_strerror(err, buf, sizeof(buf)) == 0)
		return buf;
#endif
	return strerror(err);
}

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
	if (cfg->btf && (err = btf_check(cfg->btf, cfg->verbose)) != 0)
		return err;
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
	 * flavour, which costs a test on every syscall, with the io_uring
	 * tracepoints for the accepts of rings; without them on a kernel
	 * that lacks them (no io_uring, or a layout bpf/watch.bpf.c does not
	 * know). Without privileges all fail, and the last says so. */
	err = load(w, cfg->probe == WATCH_PROBE_SYS_EXIT, true);
	if (err && cfg->probe == WATCH_PROBE_AUTO)
		err = load(w, true, true);
	if (err && cfg->probe != WATCH_PROBE_FEXIT)
		err = load(w, true, false);
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

/* Copies one kernel entry into t; true when the thread has exited. The
 * program marks the exits (sched_process_exit) and keeps each thread's CPU
 * time and name, so no /proc file is read per thread (that was the cost:
 * /proc/TID/stat even summed every thread of the process, quadratic for a
 * thread pool) except on the first read, for a thread that exited while
 * the programs were being attached, before the exit probe was. */
static bool thread_fill(struct watch *w, struct watch_thread *t, __u32 tid, const struct watch_tid *v, __u32 epoch)
{
	struct watch_proc_stat st;

	memset(t, 0, sizeof(*t));
	t->tid = (pid_t)tid;
	t->tgid = (pid_t)v->tgid;
	t->accepted = v->accepted;
	t->timed = v->timed;
	t->wait_sum_ns = v->wait_sum_ns;
	t->wait_max_ns = v->wait_max_ns;
	t->epoch_max_ns = v->epoch == epoch ? v->epoch_max_ns : 0;
	t->listener_ino = v->listener_ino;
	t->cpu_ns = v->cpu_ns;
	memcpy(t->comm, v->comm, sizeof(t->comm));
	t->comm[sizeof(t->comm) - 1] = '\0';
	memcpy(t->hist, v->hist, sizeof(t->hist));
	if (v->exited)
		return true;
	return !w->swept && watch_proc_stat(t->tgid, t->tid, &st) == -ENOENT;
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

/* Calls fn on every entry of hash map fd: WALK_BATCH entries per syscall
 * where the kernel has batch lookups (5.6+), else two syscalls per entry
 * (with 10,000 threads those were most of a read's cost). Entries that fn
 * wants deleted it puts in w->dead, deleted after the walk: deleting the
 * current key would restart a key-by-key walk. */
#define WALK_BATCH 256
typedef int (*walk_fn)(struct watch *w, const void *key, const void *val, void *arg);

static int dead_add(struct watch *w, const void *key, size_t ksz)
{
	void *p = util_grow(w->dead, &w->cap_dead, (w->ndead + 1) * ksz, 1);

	if (!p)
		return -ENOMEM;
	w->dead = p;
	memcpy(w->dead + w->ndead++ * ksz, key, ksz);
	return 0;
}

static int map_walk(struct watch *w, int fd, size_t ksz, size_t vsz, walk_fn fn, void *arg)
{
	__u8 batch[64], kbuf[64];
	void *p = util_grow(w->walk, &w->cap_walk, WALK_BATCH * (ksz + vsz), 1);
	char *keys, *vals;
	bool first = true;
	int err = 0;

	if (!p || ksz > sizeof(kbuf))
		return -ENOMEM;
	w->walk = p;
	keys = w->walk;
	vals = w->walk + WALK_BATCH * ksz;
	w->ndead = 0;
	while (!w->no_batch) {
		__u32 n = WALK_BATCH;
		int e = bpf_map_lookup_batch(fd, first ? NULL : batch, batch, keys, vals, &n, NULL) < 0 ? -errno : 0;

		if (e && e != -ENOENT && first) {
			/* No batch lookups here (or a bucket larger than a
			 * batch): key by key from now on. */
			w->no_batch = true;
			break;
		}
		for (__u32 i = 0; !err && i < n && (!e || e == -ENOENT); i++)
			err = fn(w, keys + i * ksz, vals + i * vsz, arg);
		if (!err && e != -ENOENT)
			err = e; /* cannot happen after a first batch that worked */
		if (err || e == -ENOENT)
			goto done;
		first = false;
	}
	for (void *prev = NULL; !err && bpf_map_get_next_key(fd, prev, kbuf) == 0; prev = keys) {
		memcpy(keys, kbuf, ksz);
		if (bpf_map_lookup_elem(fd, keys, vals) == 0)
			err = fn(w, keys, vals, arg);
	}
done:
	for (size_t i = 0; i < w->ndead; i++)
		bpf_map_delete_elem(fd, w->dead + i * ksz);
	return err;
}

struct threads_walk {
	struct watch_snapshot *s;
	__u32 epoch;
};

static struct agg_slot *agg_at(struct watch *w, pid_t tgid)
{
	size_t i = (uint32_t)tgid * 2654435761u & w->agg_mask;

	while (w->agg[i].v && w->agg[i].tgid != tgid)
		i = (i + 1) & w->agg_mask;
	return &w->agg[i];
}

/* Empties the hash, sized for n processes at least. */
static int agg_reset(struct watch *w, size_t n)
{
	size_t size = 64;

	while (size < 2 * n)
		size *= 2;
	if (!w->agg || size > w->agg_mask + 1) {
		void *p = realloc(w->agg, size * sizeof(*w->agg));
		if (!p)
			return -ENOMEM;
		w->agg = p;
		w->agg_mask = size - 1;
	}
	memset(w->agg, 0, (w->agg_mask + 1) * sizeof(*w->agg));
	w->nagg = 0;
	return 0;
}

/* Adds live thread t to its process's entry in s (made on its first). */
static int agg_add(struct watch *w, struct watch_snapshot *s, const struct watch_thread *t)
{
	struct agg_slot *sl;
	struct watch_thread *d;

	if (2 * (w->nagg + 1) > w->agg_mask + 1) {
		/* Grow: the entries so far are the processes' first ones. */
		if (agg_reset(w, 2 * (w->nagg + 1)) != 0)
			return -ENOMEM;
		for (size_t i = 0; i < s->nthreads; i++) {
			sl = agg_at(w, s->threads[i].tgid);
			sl->tgid = s->threads[i].tgid;
			sl->v = (uint32_t)i + 1;
			w->nagg++;
		}
	}
	sl = agg_at(w, t->tgid);
	if (sl->v) {
		d = &s->threads[sl->v - 1];
		thread_sum(d, t);
		d->nexited = 0; /* a sum of live threads, none exited */
		d->cpu_ns += t->cpu_ns;
		return 0;
	}
	if (!(d = thread_add(&s->threads, &s->nthreads, &s->cap_threads)))
		return -ENOMEM;
	*d = *t;
	d->tid = 0;
	sl->tgid = t->tgid;
	sl->v = (uint32_t)s->nthreads;
	w->nagg++;
	return 0;
}

static int thread_one(struct watch *w, const void *key, const void *val, void *arg)
{
	struct threads_walk *tw = arg;
	struct watch_thread t;
	__u32 tid;
	int err;

	memcpy(&tid, key, sizeof(tid));
	if (!thread_fill(w, &t, tid, val, tw->epoch)) {
		struct watch_thread *d;
		if (!w->cfg.threads)
			return agg_add(w, tw->s, &t);
		if (!(d = thread_add(&tw->s->threads, &tw->s->nthreads, &tw->s->cap_threads)))
			return -ENOMEM;
		*d = t;
		return 0;
	}
	/* Exited: keep the final figures, free the kernel's slot. */
	t.gone = true;
	err = thread_gone(w, &t);
	return err ? err : dead_add(w, key, sizeof(tid));
}

static int read_threads(struct watch *w, struct watch_snapshot *s, __u32 epoch)
{
	struct threads_walk tw = {.s = s, .epoch = epoch};
	int err;

	s->nthreads = 0;
	if (!w->cfg.threads && agg_reset(w, w->nagg) != 0)
		return -ENOMEM;
	err = map_walk(w, bpf_map__fd(w->skel->maps.watch_tids), sizeof(__u32), sizeof(struct watch_tid), thread_one,
		       &tw);
	w->swept = true;
	if (!err)
		err = snap_append(s, w->gone, w->ngone);
	if (!err)
		err = snap_append(s, w->folded, w->nfolded);
	if (!err && w->others.nexited)
		err = snap_append(s, &w->others, 1);
	return err;
}

static int cmp_pair(const void *x, const void *y)
{
	const struct watch_pair *a = x, *b = y;

	if (a->ino != b->ino)
		return a->ino < b->ino ? -1 : 1;
	return (a->tgid > b->tgid) - (a->tgid < b->tgid);
}

/* Past WATCH_MAX_GONE_PAIRS, the pairs of exited processes become one sum
 * per listener (tgid 0): their accepts stay in the totals and listener
 * rows, the processes' own rows are no more. */
static void gpairs_compact(struct watch *w)
{
	size_t k = 0;

	for (size_t i = 0; i < w->ngpairs; i++) {
		w->gpairs[i].tgid = 0;
		w->gpairs[i].comm[0] = '\0';
	}
	qsort(w->gpairs, w->ngpairs, sizeof(*w->gpairs), cmp_pair);
	for (size_t i = 0; i < w->ngpairs; i++) {
		if (k && w->gpairs[k - 1].ino == w->gpairs[i].ino)
			w->gpairs[k - 1].accepted += w->gpairs[i].accepted;
		else
			w->gpairs[k++] = w->gpairs[i];
	}
	w->ngpairs = k;
}

static struct watch_pair *pair_add(struct watch_pair **a, size_t *n, size_t *cap, pid_t tgid, __u64 ino, __u64 acc,
				   bool gone)
{
	struct watch_pair *p = util_grow(*a, cap, *n + 1, sizeof(**a));

	if (!p)
		return NULL;
	*a = p;
	p[*n] = (struct watch_pair){.tgid = tgid, .gone = gone, .ino = ino, .accepted = acc};
	return &p[(*n)++];
}

static int cmp_proc_pid(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = ((const struct watch_proc *)y)->pid;

	return (a > b) - (a < b);
}

/* The name process pid had at the previous read, if it was seen. */
static const struct watch_proc *pair_name(const struct watch *w, pid_t pid)
{
	return w->nnames ? bsearch(&pid, w->names, w->nnames, sizeof(*w->names), cmp_proc_pid) : NULL;
}

/* The (process, listener) counts: live processes' from the kernel; those
 * of processes that exited are moved here (their kernel slots freed), so
 * a process that was counted stays counted. A zombie still counts as live
 * until it is reaped: its counts are final either way. */
struct pairs_walk {
	struct watch_snapshot *s;
	pid_t last; /* the process whose liveness was looked up last */
	bool last_gone;
};

static int pair_one(struct watch *w, const void *key, const void *val, void *arg)
{
	struct pairs_walk *pw = arg;
	struct watch_pair_key k;
	const struct watch_proc *name;
	struct watch_pair *g;
	__u64 v;

	memcpy(&k, key, sizeof(k));
	memcpy(&v, val, sizeof(v));
	if ((pid_t)k.tgid != pw->last) {
		pw->last = (pid_t)k.tgid;
		pw->last_gone = kill(pw->last, 0) != 0 && errno == ESRCH;
	}
	/* The name it had at the read before (a zombie's is known from then
	 * only; an exited process's too). */
	name = pair_name(w, pw->last);
	if (!pw->last_gone)
		g = pair_add(&pw->s->pairs, &pw->s->npairs, &pw->s->cap_pairs, pw->last, k.ino, v, false);
	else
		g = pair_add(&w->gpairs, &w->ngpairs, &w->cap_gpairs, pw->last, k.ino, v, true);
	if (!g)
		return -ENOMEM;
	if (name)
		memcpy(g->comm, name->comm, sizeof(g->comm));
	return pw->last_gone ? dead_add(w, key, sizeof(k)) : 0;
}

static int read_pairs(struct watch *w, struct watch_snapshot *s)
{
	struct pairs_walk pw = {.s = s};
	int err;

	s->npairs = 0;
	err = map_walk(w, bpf_map__fd(w->skel->maps.watch_pairs), sizeof(struct watch_pair_key), sizeof(__u64),
		       pair_one, &pw);
	if (w->ngpairs > WATCH_MAX_GONE_PAIRS)
		gpairs_compact(w);
	for (size_t i = 0; !err && i < w->ngpairs; i++) {
		const struct watch_pair *g = &w->gpairs[i];
		struct watch_pair *d =
			pair_add(&s->pairs, &s->npairs, &s->cap_pairs, g->tgid, g->ino, g->accepted, true);
		if (!d)
			err = -ENOMEM;
		else
			memcpy(d->comm, g->comm, sizeof(d->comm));
	}
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

static struct watch_sock *sock_find(struct watch_sock *a, size_t n, uint64_t ino)
{
	for (size_t i = 0; i < n; i++)
		if (a[i].ino == ino)
			return &a[i];
	return NULL;
}

/* A listener the kernel counted that sock_diag no longer lists: closed.
 * Kept (up to WATCH_MAX_CLOSED) with its final figures; its kernel slot is
 * freed either way. */
static int sock_closed(struct watch *w, const struct watch_listener *v)
{
	struct watch_sock *k, *p;

	if (sock_find(w->closed, w->nclosed, v->ino) || w->nclosed >= WATCH_MAX_CLOSED)
		return 0;
	p = util_grow(w->closed, &w->cap_closed, w->nclosed + 1, sizeof(*w->closed));
	if (!p)
		return -ENOMEM;
	w->closed = p;
	k = &w->closed[w->nclosed++];
	memset(k, 0, sizeof(*k));
	k->ino = v->ino;
	k->port = v->port;
	k->family = v->family;
	memcpy(k->addr, v->addr, sizeof(k->addr));
	k->closed = true;
	k->queued = v->queued;
	k->backlog = v->max_backlog;
	k->last_tgid = (pid_t)v->last_tgid;
	return 0;
}

/* Each listener's accepted: the sum of its pairs (s->pairs is read). */
static int sock_accepts(struct watch_snapshot *s)
{
	struct watch_pair *p = malloc((s->npairs ? s->npairs : 1) * sizeof(*p));

	if (!p)
		return -ENOMEM;
	if (s->npairs) {
		memcpy(p, s->pairs, s->npairs * sizeof(*p));
		qsort(p, s->npairs, sizeof(*p), cmp_pair);
	}
	for (size_t i = 0; i < s->nsocks; i++) {
		struct watch_sock *k = &s->socks[i];
		struct watch_pair key = {.ino = k->ino, .tgid = INT32_MIN};
		size_t lo = 0, hi = s->npairs;

		/* The first pair of k's inode, then all of them. */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (cmp_pair(&p[mid], &key) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		k->accepted = 0;
		for (; lo < s->npairs && p[lo].ino == k->ino; lo++)
			k->accepted += p[lo].accepted;
	}
	free(p);
	return 0;
}

/* The kernel's listeners are walked before sock_diag lists the live ones,
 * so that one missing from the list has closed in between (one opened
 * after the walk is listed with no counts yet, and has them next time). */
static int read_listeners(struct watch *w, struct watch_snapshot *s, __u32 epoch)
{
	int fd = bpf_map__fd(w->skel->maps.watch_listeners), err = 0;
	struct watch_listener v, *kl = NULL;
	size_t nkl = 0, capkl = 0, nlive;
	__u64 key, next, *prev = NULL;

	while (bpf_map_get_next_key(fd, prev, &next) == 0) {
		key = next;
		prev = &key;
		if (bpf_map_lookup_elem(fd, &key, &v) != 0)
			continue;
		void *p = util_grow(kl, &capkl, nkl + 1, sizeof(*kl));
		if (!p) {
			free(kl);
			return -ENOMEM;
		}
		kl = p;
		kl[nkl++] = v;
	}
	err = watch_proc_listeners(s, w->cfg.ports, w->cfg.nports);
	if (!err)
		err = watch_proc_owners(s);
	nlive = s->nsocks;
	for (size_t i = 0; !err && i < nkl; i++) {
		struct watch_sock *k = sock_find(s->socks, nlive, kl[i].ino);
		if (!k) {
			err = sock_closed(w, &kl[i]);
			key = kl[i].ino;
			bpf_map_delete_elem(fd, &key);
			continue;
		}
		k->queued = kl[i].queued;
		k->qmax = kl[i].epoch == epoch ? kl[i].qmax : 0;
		k->last_tgid = (pid_t)kl[i].last_tgid;
	}
	free(kl);
	/* The length sock_diag saw just now counts as seen too. */
	for (size_t i = 0; !err && i < nlive; i++) {
		if (s->socks[i].qlen > s->socks[i].qmax)
			s->socks[i].qmax = s->socks[i].qlen;
		err = peak_update(w, &s->socks[i]);
	}
	for (size_t i = 0; !err && i < w->nclosed; i++) {
		void *p = util_grow(s->socks, &s->cap_socks, s->nsocks + 1, sizeof(*s->socks));
		if (!p)
			return -ENOMEM;
		s->socks = p;
		s->socks[s->nsocks] = w->closed[i];
		err = peak_update(w, &s->socks[s->nsocks++]);
	}
	return err ? err : sock_accepts(s);
}

static int cmp_pid(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;

	return (a > b) - (a < b);
}

/* Fills s->procs[s->nprocs] for pid, unless it exited: one read of its
 * stat (which walks all its threads: once per process, not per thread).
 * A zombie is no live process, but its name goes into names[*nnames]
 * with the live ones': once reaped, its counts keep the name. */
static void proc_fill(struct watch_snapshot *s, pid_t pid, struct watch_proc *names, size_t *nnames)
{
	struct watch_proc *p = &s->procs[s->nprocs];
	struct watch_proc_stat st;

	if (watch_proc_stat(pid, 0, &st) != 0)
		return; /* exited */
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = st.ppid;
	p->cpu_ns = st.cpu_ns;
	memcpy(p->comm, st.comm, sizeof(p->comm));
	names[(*nnames)++] = *p;
	if (st.state != 'Z' && st.state != 'X')
		s->nprocs++;
}

/* Every live process that accepted or holds a watched socket, once, sorted
 * by pid (sorted and deduplicated before /proc is read: with thousands of
 * threads a scan per thread was quadratic); their names (and zombies')
 * kept for the next read. */
static int read_procs(struct watch *w, struct watch_snapshot *s)
{
	size_t n = 0, cap = 1;
	pid_t *pids;

	for (size_t i = 0; i < s->nsocks; i++)
		cap += s->socks[i].nowners;
	cap += s->nthreads + s->npairs;
	pids = malloc(cap * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (size_t i = 0; i < s->nthreads; i++)
		if (!s->threads[i].gone)
			pids[n++] = s->threads[i].tgid;
	for (size_t i = 0; i < s->npairs; i++)
		if (!s->pairs[i].gone)
			pids[n++] = s->pairs[i].tgid;
	for (size_t i = 0; i < s->nsocks; i++)
		for (unsigned j = 0; j < s->socks[i].nowners; j++)
			pids[n++] = s->socks[i].owners[j];
	qsort(pids, n, sizeof(*pids), cmp_pid);
	s->nprocs = 0;
	w->nnames = 0;
	if (n) {
		void *np = util_grow(s->procs, &s->cap_procs, n, sizeof(*s->procs));
		void *nn = np ? util_grow(w->names, &w->cap_names, n, sizeof(*w->names)) : NULL;
		if (np)
			s->procs = np;
		if (nn)
			w->names = nn;
		if (!nn) {
			free(pids);
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (i == 0 || pids[i] != pids[i - 1])
			proc_fill(s, pids[i], w->names, &w->nnames);
	free(pids);
	return 0;
}

/* --pid: gone once it has exited, reaped or not. */
static bool target_gone(pid_t pid)
{
	struct watch_proc_stat st = {0};

	return watch_proc_stat(pid, 0, &st) == -ENOENT || st.state == 'Z' || st.state == 'X';
}
#endif

/* Threads first, then the pairs: a thread's counts are never newer than
 * its process's (the pairs are what rows and totals count), and the
 * listeners after both. */
int watch_read(struct watch *w, struct watch_snapshot *s)
{
#ifdef HERD_WATCH_BPF
	__u32 epoch = __atomic_load_n(&w->skel->bss->watch_epoch, __ATOMIC_ACQUIRE);
	int err;

	s->t_ns = util_now_ns();
	s->sys_exit = w->sys_exit;
	s->uring = w->uring;
	err = read_threads(w, s, epoch);
	if (!err)
		err = read_pairs(w, s);
	if (!err)
		err = read_listeners(w, s, epoch);
	if (err)
		return err;
	/* New maxima from here on belong to the next read. */
	__atomic_store_n(&w->skel->bss->watch_epoch, epoch + 1, __ATOMIC_RELEASE);
	s->lost = __atomic_load_n(&w->skel->bss->watch_lost, __ATOMIC_RELAXED);
	err = read_procs(w, s);
	if (!err)
		err = watch_proc_netstat(&s->listen_overflows, &s->listen_drops);
	s->target_gone = w->cfg.pid > 0 && target_gone(w->cfg.pid);
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
	free(s->pairs);
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
	free(w->gpairs);
	free(w->closed);
	free(w->names);
	free(w->walk);
	free(w->dead);
	free(w->agg);
	free(w->peaks);
	free(w);
}
