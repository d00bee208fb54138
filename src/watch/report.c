/*
 * report.c - interval figures from two herd watch snapshots (see report.h).
 *
 * The kernel keeps one entry per accepting thread; a row is a process (its
 * threads summed) or, with `threads`, a thread. Counts and histograms are
 * differences of cumulative values, so an interval costs nothing in the
 * kernel and nothing is lost between reads.
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
	uint64_t hist[WATCH_NBUCKETS];
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

static const struct watch_thread *find_thread(const struct watch_snapshot *s, const struct watch_thread *t)
{
	for (size_t i = 0; s && i < s->nthreads; i++)
		if (s->threads[i].tid == t->tid && s->threads[i].tgid == t->tgid)
			return &s->threads[i];
	return NULL;
}

static const struct watch_proc *find_proc(const struct watch_snapshot *s, pid_t pid)
{
	for (size_t i = 0; s && i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

static struct acc *row_get(struct acc *a, size_t *n, pid_t pid, pid_t tid)
{
	for (size_t i = 0; i < *n; i++)
		if (a[i].r.pid == pid && a[i].r.tid == tid)
			return &a[i];
	memset(&a[*n], 0, sizeof(a[*n]));
	a[*n].r.pid = pid;
	a[*n].r.tid = tid;
	return &a[(*n)++];
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

/* Adds thread t (minus its figures in prev) to its row. */
static void add_thread(struct acc *a, size_t *n, const struct watch_snapshot *prev, const struct watch_thread *t,
		       bool threads, bool total)
{
	const struct watch_thread *p = find_thread(prev, t);
	struct acc *r = row_get(a, n, t->tgid, threads ? t->tid : 0);
	uint64_t max = total ? t->wait_max_ns : t->epoch_max_ns;

	r->r.accepted += t->accepted - (p ? p->accepted : 0);
	r->r.timed += t->timed - (p ? p->timed : 0);
	r->sum_ns += t->wait_sum_ns - (p ? p->wait_sum_ns : 0);
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
		r->hist[b] += t->hist[b] - (p ? p->hist[b] : 0);
	if (max > r->r.max_ns)
		r->r.max_ns = max;
	if (threads) {
		if (p && !t->gone)
			r->r.cpu_s += cpu_delta(t->cpu_ns, p->cpu_ns);
		comm_copy(r->r.comm, t->comm);
	}
}

/* A process is a worker if it accepted, or if it holds a watched socket and
 * is not the parent of another such process (nginx's or herd serve's
 * master holds the listeners but never accepts). */
static bool is_master(const struct watch_snapshot *s, pid_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].ppid == pid)
			return true;
	return false;
}

static void finish_row(struct acc *r, uint64_t all, double secs)
{
	struct watch_row *w = &r->r;

	w->share = all ? (double)w->accepted / (double)all : 0.0;
	w->rate = secs > 0 ? (double)w->accepted / secs : 0.0;
	w->p50_ns = watch_hist_percentile(r->hist, w->timed, 50, w->max_ns);
	w->p90_ns = watch_hist_percentile(r->hist, w->timed, 90, w->max_ns);
	w->p99_ns = watch_hist_percentile(r->hist, w->timed, 99, w->max_ns);
	w->mean_ns = w->timed ? r->sum_ns / w->timed : 0;
	if (!w->timed)
		w->max_ns = 0;
}

static int cmp_row(const void *x, const void *y)
{
	const struct watch_row *a = x, *b = y;

	if (a->pid != b->pid)
		return a->pid < b->pid ? -1 : 1;
	return (a->tid > b->tid) - (a->tid < b->tid);
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

/* Rows of processes, their CPU and names; idle workers get a row of 0. */
static void add_procs(const struct watch *w, struct acc *a, size_t *n, const struct watch_snapshot *prev,
		      const struct watch_snapshot *cur, bool threads)
{
	for (size_t i = 0; i < cur->nprocs; i++) {
		const struct watch_proc *c = &cur->procs[i], *p = find_proc(prev, c->pid);
		struct acc *r = NULL;

		for (size_t j = 0; j < *n && !r; j++)
			if (a[j].r.pid == c->pid && (threads || a[j].r.tid == 0))
				r = &a[j];
		if (!r) {
			if (is_master(cur, c->pid) || (w && !watch_pid_wanted(w, c->pid)))
				continue;
			r = row_get(a, n, c->pid, threads ? c->pid : 0);
			comm_copy(r->r.comm, c->comm);
		}
		if (!threads) {
			comm_copy(r->r.comm, c->comm);
			r->r.cpu_s = p ? cpu_delta(c->cpu_ns, p->cpu_ns) : 0.0;
		}
	}
}

int watch_report(const struct watch *w, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		 bool threads, bool total, struct watch_interval *out)
{
	size_t cap = cur->nthreads + cur->nprocs + 1, n = 0;
	struct acc *a = calloc(cap, sizeof(*a));
	uint64_t *counts = NULL, all_hist[WATCH_NBUCKETS] = {0};

	memset(out, 0, sizeof(*out));
	if (!a)
		return -ENOMEM;
	out->seconds = prev ? (double)(cur->t_ns - prev->t_ns) / NS_PER_SEC_F : 0.0;
	for (size_t i = 0; i < cur->nthreads; i++)
		if (!w || watch_pid_wanted(w, cur->threads[i].tgid))
			add_thread(a, &n, prev, &cur->threads[i], threads, total);
	add_procs(w, a, &n, prev, cur, threads);
	for (size_t i = 0; i < n; i++) {
		out->accepted += a[i].r.accepted;
		out->timed += a[i].r.timed;
		if (a[i].r.max_ns > out->max_ns)
			out->max_ns = a[i].r.max_ns;
		for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
			all_hist[b] += a[i].hist[b];
	}
	out->p50_ns = watch_hist_percentile(all_hist, out->timed, 50, out->max_ns);
	out->p90_ns = watch_hist_percentile(all_hist, out->timed, 90, out->max_ns);
	out->p99_ns = watch_hist_percentile(all_hist, out->timed, 99, out->max_ns);
	out->rows = calloc(n ? n : 1, sizeof(*out->rows));
	counts = calloc(n ? n : 1, sizeof(*counts));
	if (!out->rows || !counts || socks_report(prev, cur, total, out) != 0) {
		free(a);
		free(counts);
		watch_interval_free(out);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		finish_row(&a[i], out->accepted, out->seconds);
		out->rows[i] = a[i].r;
		counts[i] = a[i].r.accepted;
		if (out->accepted && a[i].r.share > out->busiest_share)
			out->busiest_share = a[i].r.share;
	}
	out->nrows = n;
	out->fairness = watch_jain(counts, n);
	qsort(out->rows, n, sizeof(*out->rows), cmp_row);
	if (prev) {
		out->overflows = cur->listen_overflows - prev->listen_overflows;
		out->drops = cur->listen_drops - prev->listen_drops;
		out->lost = cur->lost - prev->lost;
	} else {
		out->lost = cur->lost;
	}
	free(a);
	free(counts);
	return 0;
}

void watch_interval_free(struct watch_interval *iv)
{
	free(iv->rows);
	free(iv->socks);
	memset(iv, 0, sizeof(*iv));
}
