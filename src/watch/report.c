/*
 * report.c - interval figures from two herd watch snapshots (see report.h).
 *
 * The kernel keeps one entry per accepting thread; a row is a process (its
 * threads summed) or, with `threads`, a thread. Counts and histograms are
 * differences of cumulative values, so an interval costs nothing in the
 * kernel and nothing is lost between reads. A row is the sum of its entries
 * in cur minus the sum of them in prev, not thread matched to thread: an
 * exited thread's counts move into its process's sum of exited threads
 * (watch.h), which keeps the process's totals. Rows are found through a
 * hash, so a report is linear in the number of entries.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/units.h"
#include "watch/report.h"

struct acc {
	struct watch_row r;
	uint64_t sum_ns;
	int64_t cpu_ns; /* --threads: live entries now minus before */
	bool cpu_prev;	/* ... and one was live before */
	uint64_t hist[WATCH_NBUCKETS];
};

/* Pseudo thread ids of hash keys that are no row: the first row of a pid
 * (for --threads), and whether a pid passes --pid. */
#define TID_ANY (-2)
#define TID_WANTED (-3)

/* Rows, and an open-addressing hash of (pid, tid) -> value + 1. */
struct rows {
	struct acc *a;
	size_t n;
	struct slot {
		pid_t pid, tid;
		uint32_t v; /* 0: empty */
	} * h;
	size_t mask;
	const struct watch *w;
	bool threads, total;
};

uint64_t watch_bucket_low(uint32_t b)
{
	if (b < 8)
		return b;
	return (uint64_t)(8 + b % 8) << (b / 8 - 1);
}

uint64_t watch_bucket_width(uint32_t b)
{
	return b < 8 ? 1 : (uint64_t)1 << (b / 8 - 1);
}

uint64_t watch_hist_percentile(const uint64_t *hist, uint64_t n, double p, uint64_t max)
{
	uint64_t rank, seen = 0;

	if (n == 0)
		return 0;
	rank = (uint64_t)ceil(p / 100.0 * (double)n);
	if (rank < 1)
		rank = 1;
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++) {
		seen += hist[b];
		if (seen >= rank) {
			uint64_t v = watch_bucket_low(b) + watch_bucket_width(b) / 2;
			return max > 0 && v > max ? max : v;
		}
	}
	return max;
}

double watch_jain(const uint64_t *x, size_t n)
{
	double s = 0, s2 = 0;

	for (size_t i = 0; i < n; i++) {
		s += (double)x[i];
		s2 += (double)x[i] * (double)x[i];
	}
	return s2 > 0 ? s * s / ((double)n * s2) : 1.0;
}

static int cmp_proc(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = ((const struct watch_proc *)y)->pid;

	return (a > b) - (a < b);
}

/* Snapshots' procs are sorted by pid (watch_read). */
static const struct watch_proc *find_proc(const struct watch_snapshot *s, pid_t pid)
{
	return s && s->nprocs ? bsearch(&pid, s->procs, s->nprocs, sizeof(*s->procs), cmp_proc) : NULL;
}

static struct slot *slot_of(struct rows *rs, pid_t pid, pid_t tid)
{
	size_t i = ((uint32_t)pid * 2654435761u ^ (uint32_t)tid * 2246822519u) & rs->mask;

	while (rs->h[i].v && (rs->h[i].pid != pid || rs->h[i].tid != tid))
		i = (i + 1) & rs->mask;
	return &rs->h[i];
}

static struct acc *row_find(struct rows *rs, pid_t pid, pid_t tid)
{
	struct slot *sl = slot_of(rs, pid, tid);

	return sl->v ? &rs->a[sl->v - 1] : NULL;
}

static struct acc *row_get(struct rows *rs, pid_t pid, pid_t tid)
{
	struct slot *sl = slot_of(rs, pid, tid);
	struct acc *r;

	if (sl->v)
		return &rs->a[sl->v - 1];
	r = &rs->a[rs->n++];
	memset(r, 0, sizeof(*r));
	r->r.pid = pid;
	r->r.tid = tid;
	sl->pid = pid;
	sl->tid = tid;
	sl->v = (uint32_t)rs->n;
	sl = slot_of(rs, pid, TID_ANY);
	if (!sl->v) {
		sl->pid = pid;
		sl->tid = TID_ANY;
		sl->v = (uint32_t)rs->n;
	}
	return r;
}

/* --pid filtering, looked up once per pid (it walks /proc). */
static bool wanted(struct rows *rs, pid_t pid)
{
	struct slot *sl;

	if (!rs->w)
		return true;
	sl = slot_of(rs, pid, TID_WANTED);
	if (!sl->v) {
		sl->pid = pid;
		sl->tid = TID_WANTED;
		sl->v = watch_pid_wanted(rs->w, pid) ? 2 : 1;
	}
	return sl->v == 2;
}

static double cpu_delta(uint64_t cur, uint64_t prev)
{
	return cur > prev ? (double)(cur - prev) / NS_PER_SEC_F : 0.0;
}

/* A process name as the outputs may show it. Any process picks its own
 * (prctl PR_SET_NAME: any bytes but NUL), so bytes that are not printable
 * ASCII become '?' (raw, invalid UTF-8 made the JSON unreadable and an
 * escape sequence reached the terminal) and a space becomes '_' (the plain
 * lines are space-separated key=value pairs). */
static void comm_copy(char *dst, const char *src)
{
	size_t i = 0;

	for (; i < sizeof(((struct watch_row *)0)->comm) - 1 && src[i]; i++)
		dst[i] = src[i] == ' ' ? '_' : (src[i] > ' ' && src[i] < 0x7f) ? src[i] : '?';
	dst[i] = '\0';
}

/* Adds entry t of the current snapshot to its row. */
static void add_entry(struct rows *rs, const struct watch_thread *t)
{
	struct acc *r = row_get(rs, t->tgid, rs->threads ? t->tid : 0);
	uint64_t max = rs->total ? t->wait_max_ns : t->epoch_max_ns;

	r->r.accepted += t->accepted;
	r->r.wait.timed += t->timed;
	r->sum_ns += t->wait_sum_ns;
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
		r->hist[b] += t->hist[b];
	if (max > r->r.wait.max_ns)
		r->r.wait.max_ns = max;
	if (rs->threads) {
		r->r.exited += t->nexited;
		if (!t->gone)
			r->cpu_ns += (int64_t)t->cpu_ns;
		if (t->comm[0])
			comm_copy(r->r.comm, t->comm);
	}
}

/* Takes entry p of the previous snapshot off its row. A thread that has
 * exited since is in its process's sum of exited threads now (--threads:
 * another row), or, its process gone too, in the sum of tgid 0. */
static void sub_entry(struct rows *rs, const struct watch_thread *p)
{
	struct acc *r = row_find(rs, p->tgid, rs->threads ? p->tid : 0);

	if (!r && rs->threads)
		r = row_find(rs, p->tgid, WATCH_TID_EXITED);
	if (!r)
		r = row_find(rs, 0, rs->threads ? WATCH_TID_EXITED : 0);
	if (!r)
		return; /* not wanted (--pid) now */
	/* Modular: the row's entries now hold at least these. */
	r->r.accepted -= p->accepted;
	r->r.wait.timed -= p->timed;
	r->sum_ns -= p->wait_sum_ns;
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
		r->hist[b] -= p->hist[b];
	r->r.exited -= p->nexited;
	if (rs->threads && !p->gone && r->r.tid == p->tid) {
		r->cpu_ns -= (int64_t)p->cpu_ns;
		r->cpu_prev = true;
	}
}

static int cmp_pid(const void *x, const void *y)
{
	pid_t a = *(const pid_t *)x, b = *(const pid_t *)y;

	return (a > b) - (a < b);
}

/* Rows are differences of sums: one that went below zero (entries
 * missing from cur: a bug) shows nothing rather than a wrapped-around count. */
static void row_clamp(struct acc *r)
{
	struct watch_row *w = &r->r;

	if ((int64_t)w->accepted < 0 || (int64_t)w->wait.timed < 0) {
		w->accepted = w->wait.timed = 0;
		r->sum_ns = 0;
		memset(r->hist, 0, sizeof(r->hist));
	}
	if (r->cpu_prev && r->cpu_ns > 0)
		w->cpu_s = (double)r->cpu_ns / NS_PER_SEC_F;
}

/* The percentiles of w's timed accepts from their histogram (w->timed and
 * w->max_ns already summed). */
static void wait_finish(struct watch_wait *w, const uint64_t *hist)
{
	w->p50_ns = watch_hist_percentile(hist, w->timed, 50, w->max_ns);
	w->p90_ns = watch_hist_percentile(hist, w->timed, 90, w->max_ns);
	w->p99_ns = watch_hist_percentile(hist, w->timed, 99, w->max_ns);
}

static void finish_row(struct acc *r, uint64_t all, double secs)
{
	struct watch_row *w = &r->r;

	w->share = all ? (double)w->accepted / (double)all : 0.0;
	w->rate = secs > 0 ? (double)w->accepted / secs : 0.0;
	wait_finish(&w->wait, r->hist);
	if (!w->wait.timed)
		w->wait.max_ns = 0;
	w->mean_ns = w->wait.timed ? r->sum_ns / w->wait.timed : 0;
}

static int cmp_row(const void *x, const void *y)
{
	const struct watch_row *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	/* Unsigned: a process's exited threads (WATCH_TID_EXITED) come last. */
	return ((uint32_t)a->tid > (uint32_t)b->tid) - ((uint32_t)a->tid < (uint32_t)b->tid);
}

static int socks_report(const struct watch_snapshot *prev, const struct watch_snapshot *cur, bool total,
			struct watch_interval *out)
{
	out->socks = calloc(cur->nsocks ? cur->nsocks : 1, sizeof(*out->socks));
	if (!out->socks)
		return -ENOMEM;
	for (size_t i = 0; i < cur->nsocks; i++) {
		const struct watch_sock *k = &cur->socks[i], *p = NULL;
		struct watch_sock_row *o = &out->socks[out->nsocks++];

		for (size_t j = 0; prev && j < prev->nsocks && !p; j++)
			if (prev->socks[j].ino == k->ino)
				p = &prev->socks[j];
		o->ino = k->ino;
		o->port = k->port;
		o->family = k->family;
		o->accepted = k->accepted - (p && p->accepted <= k->accepted ? p->accepted : 0);
		o->queued = k->queued - (p && p->queued <= k->queued ? p->queued : 0);
		o->qlen = k->qlen;
		o->qmax = total ? k->qmax_all : k->qmax;
		o->backlog = k->backlog;
		o->nowners = k->nowners;
		memcpy(o->owners, k->owners, sizeof(o->owners));
	}
	return 0;
}

/* Rows of processes, their CPU and names; idle workers get a row of 0. A
 * process is a worker if it accepted, or if it holds a watched socket and
 * is not the parent of another such process (nginx's or herd serve's
 * master holds the listeners but never accepts). */
static int add_procs(struct rows *rs, const struct watch_snapshot *prev, const struct watch_snapshot *cur)
{
	pid_t *ppids = malloc((cur->nprocs ? cur->nprocs : 1) * sizeof(*ppids));

	if (!ppids)
		return -ENOMEM;
	for (size_t i = 0; i < cur->nprocs; i++)
		ppids[i] = cur->procs[i].ppid;
	qsort(ppids, cur->nprocs, sizeof(*ppids), cmp_pid);
	for (size_t i = 0; i < cur->nprocs; i++) {
		const struct watch_proc *c = &cur->procs[i], *p = find_proc(prev, c->pid);
		struct acc *r = row_find(rs, c->pid, rs->threads ? TID_ANY : 0);

		if (!r) {
			if (bsearch(&c->pid, ppids, cur->nprocs, sizeof(*ppids), cmp_pid) || !wanted(rs, c->pid))
				continue;
			r = row_get(rs, c->pid, rs->threads ? c->pid : 0);
			comm_copy(r->r.comm, c->comm);
		}
		if (!rs->threads) {
			comm_copy(r->r.comm, c->comm);
			r->r.cpu_s = p ? cpu_delta(c->cpu_ns, p->cpu_ns) : 0.0;
		} else if ((r = row_find(rs, c->pid, WATCH_TID_EXITED)) != NULL) {
			comm_copy(r->r.comm, c->comm); /* an exited thread's is gone */
		}
	}
	free(ppids);
	return 0;
}

/* Every row: cur's entries, minus prev's, and the idle workers. */
static int rows_build(struct rows *rs, const struct watch_snapshot *prev, const struct watch_snapshot *cur)
{
	size_t cap = cur->nthreads + cur->nprocs + 1, hsize = 16;
	size_t keys = 3 * cap + (prev ? prev->nthreads : 0);

	while (hsize < 2 * keys)
		hsize *= 2;
	rs->a = calloc(cap, sizeof(*rs->a));
	rs->h = calloc(hsize, sizeof(*rs->h));
	rs->mask = hsize - 1;
	if (!rs->a || !rs->h)
		return -ENOMEM;
	for (size_t i = 0; i < cur->nthreads; i++)
		if (wanted(rs, cur->threads[i].tgid))
			add_entry(rs, &cur->threads[i]);
	for (size_t i = 0; prev && i < prev->nthreads; i++)
		sub_entry(rs, &prev->threads[i]);
	return add_procs(rs, prev, cur);
}

int watch_report(const struct watch *w, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		 bool threads, bool total, struct watch_interval *out)
{
	struct rows rs = {.w = w, .threads = threads, .total = total};
	uint64_t *counts = NULL, all_hist[WATCH_NBUCKETS] = {0};
	struct acc *a;
	size_t n, nw = 0;

	memset(out, 0, sizeof(*out));
	if (rows_build(&rs, prev, cur) != 0)
		goto nomem;
	a = rs.a;
	n = rs.n;
	out->seconds = prev ? (double)(cur->t_ns - prev->t_ns) / NS_PER_SEC_F : 0.0;
	for (size_t i = 0; i < n; i++) {
		row_clamp(&a[i]);
		out->accepted += a[i].r.accepted;
		out->wait.timed += a[i].r.wait.timed;
		if (a[i].r.wait.max_ns > out->wait.max_ns)
			out->wait.max_ns = a[i].r.wait.max_ns;
		for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
			all_hist[b] += a[i].hist[b];
	}
	wait_finish(&out->wait, all_hist);
	out->rows = calloc(n ? n : 1, sizeof(*out->rows));
	counts = calloc(n ? n : 1, sizeof(*counts));
	if (!out->rows || !counts || socks_report(prev, cur, total, out) != 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		finish_row(&a[i], out->accepted, out->seconds);
		out->rows[i] = a[i].r;
		/* A sum of exited threads or processes is no worker: it
		 * counts in the total, not in the balance. */
		if (a[i].r.tid == WATCH_TID_EXITED || a[i].r.pid == 0)
			continue;
		counts[nw++] = a[i].r.accepted;
		if (out->accepted && a[i].r.share > out->busiest_share)
			out->busiest_share = a[i].r.share;
	}
	out->nrows = n;
	out->fairness = watch_jain(counts, nw);
	qsort(out->rows, n, sizeof(*out->rows), cmp_row);
	if (prev) {
		out->overflows = cur->listen_overflows - prev->listen_overflows;
		out->drops = cur->listen_drops - prev->listen_drops;
		out->lost = cur->lost - prev->lost;
	} else {
		out->lost = cur->lost;
	}
	free(rs.a);
	free(rs.h);
	free(counts);
	return 0;
nomem:
	free(rs.a);
	free(rs.h);
	free(counts);
	watch_interval_free(out);
	return -ENOMEM;
}

void watch_interval_free(struct watch_interval *iv)
{
	free(iv->rows);
	free(iv->socks);
	memset(iv, 0, sizeof(*iv));
}
