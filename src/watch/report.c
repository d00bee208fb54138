/*
 * report.c - interval figures from two herd watch snapshots (see report.h).
 *
 * The kernel keeps one entry per accepting thread (waits) and one per
 * (process, listener) pair (accepts); a row is a process (its threads'
 * waits summed, its pairs' accepts) or, with `threads`, a thread. Counts
 * and histograms are differences of cumulative values, so an interval
 * costs nothing in the kernel and nothing is lost between reads. A row is
 * the sum of its entries in cur minus the sum of them in prev, not thread
 * matched to thread: an exited thread's counts move into its process's sum
 * of exited threads, an exited process's pairs stay (or, past a bound, move
 * into the sums of tgid 0), and either way the totals are conserved.
 * Rows, pairs and group workers are found through hashes, so a report is
 * linear in the number of entries.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lib/units.h"
#include "lib/util.h"
#include "watch/report.h"

struct acc {
	struct watch_row r;
	uint64_t sum_ns;
	int64_t cpu_ns; /* --threads: live entries now minus before */
	bool cpu_prev;	/* ... and one was live before */
	bool live;	/* --threads: an entry of it is a live thread */
	uint64_t ino;	/* --threads: the listener of its last accept */
	uint64_t hist[WATCH_NBUCKETS];
};

/* Pseudo thread ids of hash keys that are no row: the first row of a pid
 * (for --threads), and whether a pid passes --pid. */
#define TID_ANY (-2)
#define TID_WANTED (-3)

/* Rows, and an open-addressing hash of (pid, tid) -> value + 1. */
struct rows {
	struct acc *a; /* grown as rows appear: per process, 10,000 threads may be one row */
	size_t n, cap;
	bool nomem;
	struct slot {
		pid_t pid, tid;
		uint32_t v; /* 0: empty */
	} * h;
	size_t mask;
	const struct watch *w;
	bool threads, total;
};

/* A hash of two 64-bit keys -> value + 1, for pairs, listeners and group
 * workers. Sized at twice its keys at most, never full. */
struct kv {
	struct kv_slot {
		uint64_t a, b;
		uint32_t v; /* 0: empty */
	} * t;
	size_t mask;
};

static int kv_init(struct kv *h, size_t keys)
{
	size_t n = 16;

	while (n < 2 * keys)
		n *= 2;
	h->t = calloc(n, sizeof(*h->t));
	h->mask = n - 1;
	return h->t ? 0 : -ENOMEM;
}

static struct kv_slot *kv_at(const struct kv *h, uint64_t a, uint64_t b)
{
	size_t i = (size_t)((a * 0x9e3779b97f4a7c15ull) ^ (b * 0xc2b2ae3d27d4eb4full) ^ (b >> 29)) & h->mask;

	while (h->t[i].v && (h->t[i].a != a || h->t[i].b != b))
		i = (i + 1) & h->mask;
	return &h->t[i];
}

/* The value of (a, b), or 0 if absent. */
static uint32_t kv_get(const struct kv *h, uint64_t a, uint64_t b)
{
	return kv_at(h, a, b)->v;
}

static void kv_put(struct kv *h, uint64_t a, uint64_t b, uint32_t v)
{
	struct kv_slot *s = kv_at(h, a, b);

	s->a = a;
	s->b = b;
	s->v = v;
}

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
	/* No accept: nothing was shared, evenly or not. */
	return s2 > 0 ? s * s / ((double)n * s2) : NAN;
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

static struct slot *slot_of(const struct rows *rs, pid_t pid, pid_t tid)
{
	size_t i = ((uint32_t)pid * 2654435761u ^ (uint32_t)tid * 2246822519u) & rs->mask;

	while (rs->h[i].v && (rs->h[i].pid != pid || rs->h[i].tid != tid))
		i = (i + 1) & rs->mask;
	return &rs->h[i];
}

static struct acc *row_find(const struct rows *rs, pid_t pid, pid_t tid)
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
	if (rs->n == rs->cap) {
		void *p = util_grow(rs->a, &rs->cap, rs->n + 1, sizeof(*rs->a));
		if (!p) {
			rs->nomem = true;
			return NULL;
		}
		rs->a = p;
	}
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

/* --pid filtering of idle processes, looked up once per pid (it walks /proc). */
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

/* Adds entry t of the current snapshot to its row: waits always, accepts
 * only to a thread row (a process row counts its pairs). */
static void add_entry(struct rows *rs, const struct watch_thread *t)
{
	struct acc *r = row_get(rs, t->tgid, rs->threads ? t->tid : 0);
	uint64_t max = rs->total ? t->wait_max_ns : t->epoch_max_ns;

	if (!r)
		return;
	r->r.wait.timed += t->timed;
	r->sum_ns += t->wait_sum_ns;
	for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
		r->hist[b] += t->hist[b];
	if (max > r->r.wait.max_ns)
		r->r.wait.max_ns = max;
	if (rs->threads) {
		r->r.accepted += t->accepted;
		r->r.exited += t->nexited;
		r->ino = t->listener_ino;
		if (!t->gone) {
			r->cpu_ns += (int64_t)t->cpu_ns;
			r->live = true;
		}
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
		return; /* cannot happen: every count is in some entry of cur */
	/* Modular: the row's entries now hold at least these. */
	if (rs->threads)
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

/* Where prev's pair (tgid, ino) is in cur: itself, or, its process's pairs
 * summed away (watch.h), the pair (0, ino). */
static pid_t pair_now(const struct kv *cur_pairs, const struct watch_pair *p)
{
	return kv_get(cur_pairs, (uint64_t)(uint32_t)p->tgid, p->ino) ? p->tgid : 0;
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

	if ((int64_t)w->accepted < 0)
		w->accepted = 0;
	if ((int64_t)w->wait.timed < 0) {
		w->wait.timed = 0;
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

/* Rows of processes, their CPU and names; idle workers get a row of 0. A
 * process is a worker if it accepted, or if it holds a watched socket and
 * is not the parent of another such process (nginx's or herd serve's
 * master holds the listeners but never accepts). ppids: cur's procs'
 * parents, sorted. */
static void add_procs(struct rows *rs, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		      const pid_t *ppids)
{
	for (size_t i = 0; i < cur->nprocs; i++) {
		const struct watch_proc *c = &cur->procs[i], *p = find_proc(prev, c->pid);
		struct acc *r = row_find(rs, c->pid, rs->threads ? TID_ANY : 0);

		if (!r) {
			if (bsearch(&c->pid, ppids, cur->nprocs, sizeof(*ppids), cmp_pid) || !wanted(rs, c->pid))
				continue;
			if (!(r = row_get(rs, c->pid, rs->threads ? c->pid : 0)))
				return;
			r->live = true;
			comm_copy(r->r.comm, c->comm);
		}
		if (!rs->threads) {
			comm_copy(r->r.comm, c->comm);
			r->r.cpu_s = p ? cpu_delta(c->cpu_ns, p->cpu_ns) : 0.0;
		} else if ((r = row_find(rs, c->pid, WATCH_TID_EXITED)) != NULL) {
			comm_copy(r->r.comm, c->comm); /* an exited thread's is gone */
		}
	}
}

/* Every row: cur's entries, minus prev's, the pairs (process rows) and
 * the idle workers. */
static int rows_build(struct rows *rs, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		      const struct kv *cur_pairs, const pid_t *ppids)
{
	size_t cap = cur->nthreads + cur->npairs + cur->nprocs + 2, hsize = 16;
	size_t keys = 3 * cap + (prev ? prev->nthreads + prev->npairs : 0);

	while (hsize < 2 * keys)
		hsize *= 2;
	rs->h = calloc(hsize, sizeof(*rs->h));
	rs->mask = hsize - 1;
	if (!rs->h)
		return -ENOMEM;
	/* A row per thread: as many as entries, known now (growing by
	 * doubling copied megabytes with 10,000 threads). */
	if (rs->threads && !(rs->a = util_grow(NULL, &rs->cap, cap, sizeof(*rs->a))))
		return -ENOMEM;
	for (size_t i = 0; i < cur->nthreads; i++)
		add_entry(rs, &cur->threads[i]);
	for (size_t i = 0; prev && i < prev->nthreads; i++)
		sub_entry(rs, &prev->threads[i]);
	if (!rs->threads) {
		for (size_t i = 0; i < cur->npairs; i++) {
			struct acc *r = row_get(rs, cur->pairs[i].tgid, 0);
			if (!r)
				break;
			r->r.accepted += cur->pairs[i].accepted;
			if (cur->pairs[i].comm[0] && !r->r.comm[0])
				comm_copy(r->r.comm, cur->pairs[i].comm);
		}
		for (size_t i = 0; prev && i < prev->npairs; i++) {
			struct acc *r = row_get(rs, pair_now(cur_pairs, &prev->pairs[i]), 0);
			if (!r)
				break;
			r->r.accepted -= prev->pairs[i].accepted;
		}
	}
	add_procs(rs, prev, cur, ppids);
	return rs->nomem ? -ENOMEM : 0;
}

/* Listener rows: cur's sockets (closed ones included), and the accepts of
 * listeners no row shows (closed beyond WATCH_MAX_CLOSED) in a row of
 * inode 0, so that the rows always add up to the total. */
static int socks_report(const struct watch_snapshot *prev, const struct watch_snapshot *cur, bool total,
			struct watch_interval *out)
{
	struct kv before = {0};
	uint64_t sum = 0;

	out->socks = calloc(cur->nsocks + 1, sizeof(*out->socks));
	if (!out->socks || kv_init(&before, prev ? prev->nsocks : 0) != 0) {
		free(before.t);
		return -ENOMEM;
	}
	for (size_t j = 0; prev && j < prev->nsocks; j++)
		kv_put(&before, prev->socks[j].ino, 0, (uint32_t)j + 1);
	for (size_t i = 0; i < cur->nsocks; i++) {
		const struct watch_sock *k = &cur->socks[i], *p = NULL;
		struct watch_sock_row *o = &out->socks[out->nsocks++];
		uint32_t j = prev ? kv_get(&before, k->ino, 0) : 0;

		if (j)
			p = &prev->socks[j - 1];
		o->ino = k->ino;
		o->port = k->port;
		o->family = k->family;
		memcpy(o->addr, k->addr, sizeof(o->addr));
		o->closed = k->closed;
		o->accepted = k->accepted - (p && p->accepted <= k->accepted ? p->accepted : 0);
		o->queued = k->queued - (p && p->queued <= k->queued ? p->queued : 0);
		o->qlen = k->qlen;
		o->qmax = total ? k->qmax_all : k->qmax;
		o->backlog = k->backlog;
		o->nowners = k->nowners;
		memcpy(o->owners, k->owners, sizeof(o->owners));
		sum += o->accepted;
	}
	free(before.t);
	if (out->accepted > sum) {
		struct watch_sock_row *o = &out->socks[out->nsocks++];
		o->closed = true;
		o->accepted = out->accepted - sum;
	}
	return 0;
}

/* A worker of a group: (group, pid, tid) -> its accepts in the interval. */
struct gw {
	uint32_t g;
	pid_t pid, tid;
	int64_t accepted;
	bool idle; /* a live holder of one of the group's sockets */
};

struct groups {
	struct kv ino_group; /* listener inode -> group + 1 */
	struct kv key;	     /* (group, pid, tid) -> gw + 1 */
	struct kv holder;    /* --threads: (group, pid) has a worker */
	struct gw *w;
	size_t n, cap;
};

static uint64_t gw_key(pid_t pid, pid_t tid)
{
	return (uint64_t)(uint32_t)pid << 32 | (uint32_t)tid;
}

static struct gw *gw_get(struct groups *gs, uint32_t g, pid_t pid, pid_t tid)
{
	uint32_t v = kv_get(&gs->key, g, gw_key(pid, tid));

	if (v)
		return &gs->w[v - 1];
	if (gs->n == gs->cap)
		return NULL; /* sized for every key: cannot happen */
	gs->w[gs->n] = (struct gw){.g = g, .pid = pid, .tid = tid};
	kv_put(&gs->key, g, gw_key(pid, tid), (uint32_t)++gs->n);
	kv_put(&gs->holder, g, (uint64_t)(uint32_t)pid, 1);
	return &gs->w[gs->n - 1];
}

/* The group of a listener inode: index + 1, 0 if no row shows it. */
static uint32_t group_of(const struct groups *gs, uint64_t ino)
{
	return ino ? kv_get(&gs->ino_group, ino, 0) : 0;
}

/* The groups of the listener rows: one per (family, address, port). */
static int groups_make(struct watch_interval *out, struct groups *gs)
{
	out->groups = calloc(out->nsocks + 1, sizeof(*out->groups));
	if (!out->groups || kv_init(&gs->ino_group, out->nsocks) != 0)
		return -ENOMEM;
	for (size_t i = 0; i < out->nsocks; i++) {
		struct watch_sock_row *k = &out->socks[i];
		size_t g;

		if (!k->ino) {
			k->group = WATCH_NO_GROUP; /* listeners no row shows: no group either */
			continue;
		}
		for (g = 0; g < out->ngroups; g++) {
			const struct watch_group *x = &out->groups[g];
			if (x->port == k->port && x->family == k->family && memcmp(x->addr, k->addr, 16) == 0)
				break;
		}
		if (g == out->ngroups) {
			struct watch_group *x = &out->groups[out->ngroups++];
			x->port = k->port;
			x->family = k->family;
			memcpy(x->addr, k->addr, 16);
		}
		k->group = (unsigned)g;
		out->groups[g].nsocks++;
		out->groups[g].accepted += k->accepted;
		kv_put(&gs->ino_group, k->ino, 0, (uint32_t)g + 1);
	}
	return 0;
}

/* Each group's workers and their accepts: per process from the pairs, per
 * thread (threads) from the rows, a thread counted in the group of the
 * listener it last accepted from. Then the idle ones. */
static int groups_workers(struct groups *gs, const struct watch_interval *out, const struct rows *rs,
			  const struct watch_snapshot *prev, const struct watch_snapshot *cur,
			  const struct kv *cur_pairs, const pid_t *ppids)
{
	size_t holders = 0;

	for (size_t i = 0; i < cur->nsocks; i++)
		holders += cur->socks[i].nowners;
	gs->cap = (rs->threads ? rs->n : cur->npairs) + holders + 1;
	gs->w = calloc(gs->cap, sizeof(*gs->w));
	if (!gs->w || kv_init(&gs->key, gs->cap) != 0 || kv_init(&gs->holder, gs->cap) != 0)
		return -ENOMEM;
	if (rs->threads) {
		for (size_t i = 0; i < rs->n; i++) {
			const struct acc *a = &rs->a[i];
			uint32_t g = group_of(gs, a->ino);
			struct gw *w;
			if (!g || a->r.pid == 0 || a->r.tid == WATCH_TID_EXITED)
				continue;
			if ((w = gw_get(gs, g - 1, a->r.pid, a->r.tid)) != NULL)
				w->accepted += (int64_t)a->r.accepted;
		}
	} else {
		for (size_t i = 0; i < cur->npairs; i++) {
			uint32_t g = group_of(gs, cur->pairs[i].ino);
			struct gw *w = g ? gw_get(gs, g - 1, cur->pairs[i].tgid, 0) : NULL;
			if (w)
				w->accepted += (int64_t)cur->pairs[i].accepted;
		}
		for (size_t i = 0; prev && i < prev->npairs; i++) {
			uint32_t g = group_of(gs, prev->pairs[i].ino);
			struct gw *w = g ? gw_get(gs, g - 1, pair_now(cur_pairs, &prev->pairs[i]), 0) : NULL;
			if (w)
				w->accepted -= (int64_t)prev->pairs[i].accepted;
		}
	}
	/* Idle: a live holder that is no master, and wanted (--pid). */
	for (size_t i = 0; i < out->nsocks && i < cur->nsocks; i++) {
		const struct watch_sock *k = &cur->socks[i];
		uint32_t g = out->socks[i].group;
		if (g == WATCH_NO_GROUP)
			continue;
		for (unsigned j = 0; j < k->nowners; j++) {
			pid_t pid = k->owners[j];
			const struct acc *r = row_find(rs, pid, rs->threads ? TID_ANY : 0);
			struct gw *w;
			if (!find_proc(cur, pid) || bsearch(&pid, ppids, cur->nprocs, sizeof(*ppids), cmp_pid) || !r)
				continue; /* exited, a master, or not wanted (add_procs made no row) */
			if (rs->threads && kv_get(&gs->holder, g, (uint64_t)(uint32_t)pid))
				continue; /* one of its threads is a worker here already */
			w = gw_get(gs, g, pid, rs->threads ? pid : 0);
			if (w)
				w->idle = true;
		}
	}
	return 0;
}

/* Fairness and the busiest share of each group, and the interval's. */
static int groups_finish(struct groups *gs, struct watch_interval *out)
{
	uint64_t *x = malloc((gs->n + 1) * sizeof(*x));

	if (!x)
		return -ENOMEM;
	out->fairness = out->busiest_share = NAN;
	for (size_t g = 0; g < out->ngroups; g++) {
		struct watch_group *grp = &out->groups[g];
		uint64_t best = 0;
		size_t n = 0;

		grp->fairness = grp->busiest_share = NAN;
		for (size_t i = 0; i < gs->n; i++) {
			const struct gw *w = &gs->w[i];
			uint64_t a = w->accepted > 0 ? (uint64_t)w->accepted : 0;
			if (w->g != g || w->pid == 0 || (a == 0 && !w->idle))
				continue;
			x[n++] = a;
			if (a > best) {
				best = a;
				grp->busiest_pid = w->pid;
				grp->busiest_tid = w->tid;
			}
		}
		grp->nworkers = (unsigned)n;
		if (grp->accepted == 0 || best == 0)
			continue; /* n/a: nothing to share, or only sums of exited ones accepted */
		grp->fairness = watch_jain(x, n);
		grp->busiest_share = (double)best / (double)grp->accepted;
		if (isnan(out->fairness) || grp->fairness < out->fairness)
			out->fairness = grp->fairness;
		if (isnan(out->busiest_share) || grp->busiest_share > out->busiest_share) {
			out->busiest_share = grp->busiest_share;
			out->busiest_pid = grp->busiest_pid;
			out->busiest_tid = grp->busiest_tid;
		}
	}
	free(x);
	return 0;
}

static int groups_report(struct watch_interval *out, const struct rows *rs, const struct watch_snapshot *prev,
			 const struct watch_snapshot *cur, const struct kv *cur_pairs, const pid_t *ppids)
{
	struct groups gs = {0};
	int err = groups_make(out, &gs);

	if (!err)
		err = groups_workers(&gs, out, rs, prev, cur, cur_pairs, ppids);
	if (!err)
		err = groups_finish(&gs, out);
	free(gs.ino_group.t);
	free(gs.key.t);
	free(gs.holder.t);
	free(gs.w);
	return err;
}

/* Whether a row's process (thread) has exited. */
static bool row_gone(const struct acc *a, const struct watch_snapshot *cur, bool threads)
{
	if (a->r.pid == 0 || a->r.tid == WATCH_TID_EXITED)
		return true;
	return threads ? !a->live : !find_proc(cur, a->r.pid);
}

int watch_report(const struct watch *w, const struct watch_snapshot *prev, const struct watch_snapshot *cur,
		 bool threads, bool total, struct watch_interval *out)
{
	struct rows rs = {.w = w, .threads = threads, .total = total};
	uint64_t all_hist[WATCH_NBUCKETS] = {0}, sum = 0;
	struct kv cur_pairs = {0};
	pid_t *ppids = NULL;
	struct acc *a;
	size_t n;

	memset(out, 0, sizeof(*out));
	ppids = malloc((cur->nprocs + 1) * sizeof(*ppids));
	if (!ppids || kv_init(&cur_pairs, cur->npairs) != 0)
		goto nomem;
	for (size_t i = 0; i < cur->nprocs; i++)
		ppids[i] = cur->procs[i].ppid;
	qsort(ppids, cur->nprocs, sizeof(*ppids), cmp_pid);
	for (size_t i = 0; i < cur->npairs; i++) {
		kv_put(&cur_pairs, (uint64_t)(uint32_t)cur->pairs[i].tgid, cur->pairs[i].ino, 1);
		sum += cur->pairs[i].accepted;
	}
	for (size_t i = 0; prev && i < prev->npairs; i++)
		sum -= prev->pairs[i].accepted;
	out->accepted = (int64_t)sum > 0 ? sum : 0;
	if (rows_build(&rs, prev, cur, &cur_pairs, ppids) != 0)
		goto nomem;
	a = rs.a;
	n = rs.n;
	out->seconds = prev ? (double)(cur->t_ns - prev->t_ns) / NS_PER_SEC_F : 0.0;
	out->target_gone = cur->target_gone;
	for (size_t i = 0; i < n; i++) {
		row_clamp(&a[i]);
		out->wait.timed += a[i].r.wait.timed;
		if (a[i].r.wait.max_ns > out->wait.max_ns)
			out->wait.max_ns = a[i].r.wait.max_ns;
		for (uint32_t b = 0; b < WATCH_NBUCKETS; b++)
			all_hist[b] += a[i].hist[b];
	}
	wait_finish(&out->wait, all_hist);
	out->rows = calloc(n ? n : 1, sizeof(*out->rows));
	if (!out->rows || socks_report(prev, cur, total, out) != 0 ||
	    groups_report(out, &rs, prev, cur, &cur_pairs, ppids) != 0)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		finish_row(&a[i], out->accepted, out->seconds);
		a[i].r.gone = row_gone(&a[i], cur, threads);
		out->rows[i] = a[i].r;
	}
	out->nrows = n;
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
	free(cur_pairs.t);
	free(ppids);
	return 0;
nomem:
	free(rs.a);
	free(rs.h);
	free(cur_pairs.t);
	free(ppids);
	watch_interval_free(out);
	return -ENOMEM;
}

void watch_interval_free(struct watch_interval *iv)
{
	free(iv->rows);
	free(iv->socks);
	free(iv->groups);
	memset(iv, 0, sizeof(*iv));
}
