/*
 * test_watch.c - herd watch's arithmetic without the kernel: the wait
 * histogram's buckets (the same function the eBPF program runs), nearest-rank
 * percentiles, Jain's index, /proc/net/netstat parsing, and the interval
 * report built from two hand-made snapshots (deltas, per-process rows, idle
 * workers counted, a master that never accepts left out, exited threads
 * folded into their process's sum without changing its counts, exited
 * processes and closed listeners kept, totals equal to the listener rows,
 * fairness per listening group and n/a without accepts).
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <sys/socket.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "watch/proc.h"
#include "watch/report.h"

static void check_bucket(uint64_t v)
{
	uint32_t b = watch_wait_bucket(v);

	assert_true(b < WATCH_NBUCKETS);
	if (v >= (1ULL << WATCH_MAX_LOG2)) {
		assert_int_equal(b, WATCH_NBUCKETS - 1);
		return;
	}
	assert_true(watch_bucket_low(b) <= v);
	assert_true(v < watch_bucket_low(b) + watch_bucket_width(b));
	/* At most 12.5% wide: 8 sub-buckets per power of two. */
	assert_true(watch_bucket_width(b) * 8 <= (watch_bucket_low(b) > 8 ? watch_bucket_low(b) : 8));
}

static void test_buckets(void **state)
{
	uint64_t x = 88172645463325252ULL;
	uint32_t prev = 0;

	(void)state;
	for (uint64_t v = 0; v < 100000; v++) {
		uint32_t b = watch_wait_bucket(v);
		check_bucket(v);
		assert_true(b >= prev); /* monotone */
		prev = b;
	}
	for (int m = 0; m < 64; m++) {
		check_bucket(1ULL << m);
		check_bucket((1ULL << m) - 1);
		check_bucket((1ULL << m) + 1);
	}
	for (int i = 0; i < 100000; i++) { /* xorshift: values of every size */
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		check_bucket(x >> (x % 40));
	}
	/* Every bucket below the last is reachable and starts where the previous ends. */
	for (uint32_t b = 1; b < WATCH_NBUCKETS - 1; b++)
		assert_int_equal(watch_bucket_low(b), watch_bucket_low(b - 1) + watch_bucket_width(b - 1));
}

static void test_percentiles(void **state)
{
	uint64_t h[WATCH_NBUCKETS] = {0};
	uint64_t p;

	(void)state;
	assert_int_equal(watch_hist_percentile(h, 0, 50, 0), 0);
	/* 1000 waits of 1..1000 us. */
	for (uint64_t v = 1; v <= 1000; v++)
		h[watch_wait_bucket(v * 1000)]++;
	p = watch_hist_percentile(h, 1000, 50, 1000000);
	assert_true(p >= 500000 - 500000 / 8 && p <= 500000 + 500000 / 8);
	p = watch_hist_percentile(h, 1000, 99, 1000000);
	assert_true(p >= 990000 - 990000 / 8 && p <= 1000000);
	/* Capped at the exact maximum. */
	assert_int_equal(watch_hist_percentile(h, 1000, 100, 1000000), 1000000);
	/* One value: every percentile is its bucket, never above max. */
	memset(h, 0, sizeof(h));
	h[watch_wait_bucket(12345)]++;
	assert_int_equal(watch_hist_percentile(h, 1, 50, 12345), watch_hist_percentile(h, 1, 99, 12345));
	assert_true(watch_hist_percentile(h, 1, 50, 12345) <= 12345);
}

static void test_jain(void **state)
{
	uint64_t even[] = {5, 5, 5, 5}, one[] = {8, 0, 0, 0}, half[] = {1, 1, 0, 0}, none[] = {0, 0};

	(void)state;
	assert_true(watch_jain(even, 4) > 0.999999);
	assert_true(watch_jain(one, 4) > 0.249999 && watch_jain(one, 4) < 0.250001);
	assert_true(watch_jain(half, 4) > 0.499999 && watch_jain(half, 4) < 0.500001);
	/* Nothing shared: n/a, not "perfectly even". */
	assert_true(isnan(watch_jain(none, 2)));
	assert_true(isnan(watch_jain(NULL, 0)));
}

static void test_netstat(void **state)
{
	const char *text = "TcpExt: SyncookiesSent ListenOverflows ListenDrops TCPHPHits\n"
			   "TcpExt: 1 17 23 99\n"
			   "IpExt: InNoRoutes\n"
			   "IpExt: 0\n";
	uint64_t o = 0, d = 0;

	(void)state;
	assert_int_equal(watch_proc_parse_netstat(text, &o, &d), 0);
	assert_int_equal(o, 17);
	assert_int_equal(d, 23);
	assert_int_equal(watch_proc_parse_netstat("IpExt: A\nIpExt: 1\n", &o, &d), -EINVAL);
	assert_int_equal(watch_proc_parse_netstat("TcpExt: ListenOverflows\nTcpExt: 3\n", &o, &d), -EINVAL);
}

static void thread(struct watch_snapshot *s, pid_t tid, pid_t tgid, uint64_t acc, uint64_t wait_ns, uint64_t cpu)
{
	struct watch_thread *t = &s->threads[s->nthreads++];

	memset(t, 0, sizeof(*t));
	t->tid = tid;
	t->tgid = tgid;
	t->accepted = t->timed = acc;
	t->wait_sum_ns = acc * wait_ns;
	t->wait_max_ns = t->epoch_max_ns = acc ? wait_ns : 0;
	t->hist[watch_wait_bucket(wait_ns)] = (uint32_t)acc;
	t->cpu_ns = cpu;
	strcpy(t->comm, "w");
}

/* Process tgid accepted acc from the listener of inode ino (cumulative). */
static void pair(struct watch_snapshot *s, pid_t tgid, uint64_t ino, uint64_t acc, bool gone)
{
	s->pairs[s->npairs++] = (struct watch_pair){.tgid = tgid, .ino = ino, .accepted = acc, .gone = gone};
}

/* A listener on 127.0.0.1:port (addr_last: the address's last byte) held
 * by the given pids (0-terminated). */
static void sock(struct watch_snapshot *s, uint64_t ino, uint16_t port, uint8_t addr_last, int closed, ...)
{
	struct watch_sock *k = &s->socks[s->nsocks++];
	va_list ap;
	int pid;

	memset(k, 0, sizeof(*k));
	k->ino = ino;
	k->port = port;
	k->family = AF_INET;
	k->addr[0] = 127;
	k->addr[3] = addr_last;
	k->closed = closed != 0;
	va_start(ap, closed);
	while ((pid = va_arg(ap, int)) != 0)
		k->owners[k->nowners++] = (pid_t)pid;
	va_end(ap);
	/* Its accepts: the sum of its pairs, as watch_read makes it. */
	for (size_t i = 0; i < s->npairs; i++)
		if (s->pairs[i].ino == ino)
			k->accepted += s->pairs[i].accepted;
}

static void proc(struct watch_snapshot *s, pid_t pid, pid_t ppid, uint64_t cpu)
{
	struct watch_proc *p = &s->procs[s->nprocs++];

	memset(p, 0, sizeof(*p));
	p->pid = pid;
	p->ppid = ppid;
	p->cpu_ns = cpu;
	strcpy(p->comm, pid == 100 ? "master" : "worker");
}

/* Master 100 with workers 101 (busy), 102 (two threads), 103 (idle), read
 * at t_s with every count times scale, into th and pr. */
static void snapshot(struct watch_snapshot *s, uint64_t t_s, uint64_t scale, struct watch_thread *th,
		     struct watch_proc *pr, struct watch_pair *pa, struct watch_sock *so)
{
	memset(s, 0, sizeof(*s));
	s->threads = th;
	s->procs = pr;
	s->pairs = pa;
	s->socks = so;
	s->t_ns = t_s * 1000000000ull;
	thread(s, 101, 101, 10 * scale, 2000000, scale * 1000000000ull);
	thread(s, 102, 102, 3 * scale, 1000, 0);
	thread(s, 104, 102, 1 * scale, 1000, 0);
	pair(s, 101, 7, 10 * scale, false);
	pair(s, 102, 7, 4 * scale, false);
	sock(s, 7, 80, 1, false, 100, 101, 102, 103, 0);
	proc(s, 100, 1, 0);
	proc(s, 101, 100, scale * 1000000000ull);
	proc(s, 102, 100, 0);
	proc(s, 103, 100, 0);
	s->listen_overflows = 5 * scale;
	s->listen_drops = 6 * scale;
	s->lost = 7 * scale;
}

/* Two reads of that server: a at 10 s, b at 12 s with every count tripled. */
struct reads {
	struct watch_thread th[2][8];
	struct watch_proc pr[2][8];
	struct watch_pair pa[2][8];
	struct watch_sock so[2][8];
	struct watch_snapshot a, b;
};

/* Two empty reads, at 1 s and 2 s, for a test to fill. */
static void empty_reads(struct reads *r)
{
	r->a = (struct watch_snapshot){
		.threads = r->th[0], .procs = r->pr[0], .pairs = r->pa[0], .socks = r->so[0], .t_ns = 1000000000ull};
	r->b = (struct watch_snapshot){
		.threads = r->th[1], .procs = r->pr[1], .pairs = r->pa[1], .socks = r->so[1], .t_ns = 2000000000ull};
}

static void reads(struct reads *r)
{
	snapshot(&r->a, 10, 1, r->th[0], r->pr[0], r->pa[0], r->so[0]);
	snapshot(&r->b, 12, 3, r->th[1], r->pr[1], r->pa[1], r->so[1]);
}

static void test_report(void **state)
{
	struct reads r;
	struct watch_interval iv;

	(void)state;
	reads(&r);
	assert_int_equal(watch_report(NULL, &r.a, &r.b, false, false, &iv), 0);
	assert_true(iv.seconds > 1.999 && iv.seconds < 2.001);
	assert_int_equal(iv.accepted, 28); /* (10 + 3 + 1) x (3 - 1) */
	assert_int_equal(iv.overflows, 10);
	assert_int_equal(iv.drops, 12);
	assert_int_equal(iv.lost, 14); /* accepts no row has: the rows miss them */
	/* 101, 102 (its two threads summed), 103 (idle); the master is no row. */
	assert_int_equal(iv.nrows, 3);
	assert_int_equal(iv.rows[0].pid, 101);
	assert_int_equal(iv.rows[0].accepted, 20);
	assert_true(iv.rows[0].rate > 9.999 && iv.rows[0].rate < 10.001);
	assert_true(iv.rows[0].cpu_s > 1.999 && iv.rows[0].cpu_s < 2.001);
	assert_true(iv.rows[0].wait.p50_ns <= 2000000 && iv.rows[0].wait.p50_ns >= 2000000 - 2000000 / 8);
	assert_int_equal(iv.rows[0].wait.max_ns, 2000000);
	assert_string_equal(iv.rows[0].comm, "worker");
	assert_int_equal(iv.rows[1].pid, 102);
	assert_int_equal(iv.rows[1].accepted, 8);
	assert_int_equal(iv.rows[2].pid, 103);
	assert_int_equal(iv.rows[2].accepted, 0);
	assert_int_equal(iv.rows[2].wait.max_ns, 0);
	assert_true(iv.busiest_share > 20.0 / 28 - 1e-9 && iv.busiest_share < 20.0 / 28 + 1e-9);
	/* Jain over 20, 8, 0. */
	assert_true(iv.fairness > 784.0 / (3 * 464) - 1e-9 && iv.fairness < 784.0 / (3 * 464) + 1e-9);
	assert_int_equal(iv.busiest_pid, 101);
	/* One listening group, the same figures; its listener row has every accept. */
	assert_int_equal(iv.ngroups, 1);
	assert_int_equal(iv.groups[0].nworkers, 3);
	assert_int_equal(iv.groups[0].accepted, 28);
	assert_true(fabs(iv.groups[0].fairness - iv.fairness) < 1e-12);
	assert_int_equal(iv.nsocks, 1);
	assert_int_equal(iv.socks[0].accepted, 28);
	assert_false(iv.rows[0].gone);
	watch_interval_free(&iv);

	/* Per thread: 102 splits into its threads 102 and 104. */
	assert_int_equal(watch_report(NULL, &r.a, &r.b, true, false, &iv), 0);
	assert_int_equal(iv.nrows, 4);
	assert_int_equal(iv.rows[1].tid, 102);
	assert_int_equal(iv.rows[1].accepted, 6);
	assert_int_equal(iv.rows[2].tid, 104);
	assert_int_equal(iv.rows[2].accepted, 2);
	watch_interval_free(&iv);
}

/* A read can catch a thread's largest wait since the previous read before
 * its counts move (the program's update is not atomic to the reader):
 * the row, with no timed accept, shows no wait at all, while the
 * interval's max is still the largest wait any row saw. */
static void test_untimed_max(void **state)
{
	struct reads r;
	struct watch_snapshot *a = &r.a, *b = &r.b;
	struct watch_interval iv;

	(void)state;
	empty_reads(&r);
	thread(a, 201, 200, 5, 1000, 0);
	pair(a, 200, 1, 5, false);
	proc(a, 200, 1, 0);
	thread(b, 201, 200, 5, 1000, 0);
	pair(b, 200, 1, 5, false);
	b->threads[0].epoch_max_ns = 3000;
	proc(b, 200, 1, 0);
	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.nrows, 1);
	assert_int_equal(iv.rows[0].wait.timed, 0);
	assert_int_equal(iv.rows[0].wait.max_ns, 0);
	assert_int_equal(iv.wait.timed, 0);
	assert_int_equal(iv.wait.p99_ns, 0);
	assert_int_equal(iv.wait.max_ns, 3000);
	watch_interval_free(&iv);
}

/* A sum of exited threads (tid WATCH_TID_EXITED; tgid 0: of evicted exited
 * processes), as the collector keeps it. */
static void folded(struct watch_snapshot *s, pid_t tgid, uint64_t acc, uint32_t nexited)
{
	thread(s, WATCH_TID_EXITED, tgid, acc, 1000, 0);
	s->threads[s->nthreads - 1].gone = true;
	s->threads[s->nthreads - 1].nexited = nexited;
	s->threads[s->nthreads - 1].comm[0] = '\0';
}

/* Between two reads thread 201 of process 200 accepted twice more and
 * exited: its counts moved into 200's sum of exited threads. Process 300's
 * sum and process 301 (one thread, one more accept, then gone) were evicted
 * into the sum of tgid 0. Every count is conserved, so each interval is
 * exact: no accept counted twice, none lost. */
static void test_fold(void **state)
{
	struct reads r;
	struct watch_snapshot *a = &r.a, *b = &r.b;
	struct watch_interval iv;

	(void)state;
	empty_reads(&r);
	thread(a, 201, 200, 5, 1000, 0);
	thread(a, 202, 200, 3, 1000, 0);
	folded(a, 300, 4, 2);
	thread(a, 302, 301, 1, 1000, 0);
	pair(a, 200, 1, 8, false);
	pair(a, 300, 1, 4, true);
	pair(a, 301, 1, 1, false);
	sock(a, 1, 80, 1, false, 200, 0);
	proc(a, 200, 1, 0);
	thread(b, 202, 200, 4, 1000, 0);
	folded(b, 200, 7, 1);
	folded(b, 0, 6, 3);
	/* The pairs of exited 300 and 301 summed into those of tgid 0. */
	pair(b, 200, 1, 11, false);
	pair(b, 0, 1, 6, true);
	sock(b, 1, 80, 1, false, 200, 0);
	proc(b, 200, 1, 0);

	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 4);
	assert_int_equal(iv.nrows, 2);
	assert_int_equal(iv.rows[0].pid, 0); /* exited processes, summed */
	assert_int_equal(iv.rows[0].accepted, 1);
	assert_int_equal(iv.rows[1].pid, 200);
	assert_int_equal(iv.rows[1].accepted, 3);
	/* The sums are no workers: the balance is over 200 alone. */
	assert_true(iv.fairness > 1 - 1e-9);
	assert_true(iv.busiest_share > 0.75 - 1e-9 && iv.busiest_share < 0.75 + 1e-9);
	watch_interval_free(&iv);

	/* Per thread: 201's counts before the read are taken off 200's sum. */
	assert_int_equal(watch_report(NULL, a, b, true, false, &iv), 0);
	assert_int_equal(iv.accepted, 4);
	assert_int_equal(iv.nrows, 3);
	assert_int_equal(iv.rows[0].pid, 0);
	assert_int_equal(iv.rows[0].tid, WATCH_TID_EXITED);
	assert_int_equal(iv.rows[0].accepted, 1);
	assert_int_equal(iv.rows[0].exited, 1);
	assert_int_equal(iv.rows[1].tid, 202);
	assert_int_equal(iv.rows[1].accepted, 1);
	assert_int_equal(iv.rows[2].pid, 200);
	assert_int_equal(iv.rows[2].tid, WATCH_TID_EXITED);
	assert_int_equal(iv.rows[2].accepted, 2);
	assert_int_equal(iv.rows[2].exited, 1);
	assert_string_equal(iv.rows[2].comm, "worker"); /* the process's name */
	watch_interval_free(&iv);

	/* The total from an empty start counts everything once. */
	assert_int_equal(watch_report(NULL, NULL, b, false, true, &iv), 0);
	assert_int_equal(iv.accepted, 17);
	watch_interval_free(&iv);
}

/* Sum of the listener rows' accepted. */
static uint64_t sock_sum(const struct watch_interval *iv)
{
	uint64_t n = 0;

	for (size_t i = 0; i < iv->nsocks; i++)
		n += iv->socks[i].accepted;
	return n;
}

static uint64_t row_sum(const struct watch_interval *iv)
{
	uint64_t n = 0;

	for (size_t i = 0; i < iv->nrows; i++)
		n += iv->rows[i].accepted;
	return n;
}

/* Worker 101 (of master 100) accepted 30 and was killed; 103 replaced it
 * and accepted 5. Then the master went too, and the listener closed: a
 * process that was counted stays counted (marked exited), the closed
 * listener keeps its row, and every total equals its listener rows. */
static void test_exited(void **state)
{
	struct reads r;
	struct watch_snapshot *a = &r.a, *b = &r.b;
	struct watch_interval iv;

	(void)state;
	empty_reads(&r);
	thread(a, 101, 101, 20, 1000, 0);
	thread(a, 102, 102, 20, 1000, 0);
	pair(a, 101, 9, 20, false);
	pair(a, 102, 9, 20, false);
	sock(a, 9, 80, 1, false, 100, 101, 102, 0);
	proc(a, 100, 1, 0);
	proc(a, 101, 100, 0);
	proc(a, 102, 100, 0);
	folded(b, 101, 30, 1);
	thread(b, 102, 102, 25, 1000, 0);
	thread(b, 103, 103, 5, 1000, 0);
	pair(b, 101, 9, 30, true);
	pair(b, 102, 9, 25, false);
	pair(b, 103, 9, 5, false);
	sock(b, 9, 80, 1, false, 100, 102, 103, 0);
	proc(b, 100, 1, 0);
	proc(b, 102, 100, 0);
	proc(b, 103, 100, 0);
	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 20);
	assert_int_equal(sock_sum(&iv), 20);
	assert_int_equal(row_sum(&iv), 20);
	assert_int_equal(iv.nrows, 3);
	assert_int_equal(iv.rows[0].pid, 101);
	assert_int_equal(iv.rows[0].accepted, 10);
	assert_true(iv.rows[0].gone);
	assert_false(iv.rows[1].gone);
	/* Three workers in the interval: the killed one accepted in it. */
	assert_int_equal(iv.groups[0].nworkers, 3);
	watch_interval_free(&iv);

	/* Everything gone: the listener closed, every process exited. */
	r.a = r.b;
	memcpy(r.pa[0], r.pa[1], sizeof(r.pa[0]));
	memcpy(r.th[0], r.th[1], sizeof(r.th[0]));
	memcpy(r.so[0], r.so[1], sizeof(r.so[0]));
	memcpy(r.pr[0], r.pr[1], sizeof(r.pr[0]));
	r.a.threads = r.th[0];
	r.a.pairs = r.pa[0];
	r.a.socks = r.so[0];
	r.a.procs = r.pr[0];
	r.b = (struct watch_snapshot){
		.threads = r.th[1], .procs = r.pr[1], .pairs = r.pa[1], .socks = r.so[1], .t_ns = 3000000000ull};
	folded(b, 101, 30, 1);
	folded(b, 102, 26, 1);
	folded(b, 103, 5, 1);
	pair(b, 101, 9, 30, true);
	pair(b, 102, 9, 26, true);
	pair(b, 103, 9, 5, true);
	sock(b, 9, 80, 1, true, 0);
	b->target_gone = true;
	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 1);
	assert_int_equal(sock_sum(&iv), 1);
	assert_int_equal(iv.nsocks, 1);
	assert_true(iv.socks[0].closed);
	assert_true(iv.target_gone);
	assert_int_equal(iv.nrows, 3);
	for (size_t i = 0; i < iv.nrows; i++)
		assert_true(iv.rows[i].gone);
	watch_interval_free(&iv);
	/* The run's total, from an empty start. */
	assert_int_equal(watch_report(NULL, NULL, b, false, true, &iv), 0);
	assert_int_equal(iv.accepted, 61);
	assert_int_equal(sock_sum(&iv), 61);
	assert_int_equal(row_sum(&iv), 61);
	watch_interval_free(&iv);
}

/* Pairs of a listener no row shows (closed beyond WATCH_MAX_CLOSED) still
 * add up: the row of inode 0. */
static void test_unlisted(void **state)
{
	struct reads r;
	struct watch_snapshot *a = &r.a, *b = &r.b;
	struct watch_interval iv;

	(void)state;
	empty_reads(&r);
	pair(a, 200, 1, 3, false);
	pair(a, 200, 2, 4, false);
	sock(a, 1, 80, 1, false, 200, 0);
	proc(a, 200, 1, 0);
	pair(b, 200, 1, 5, false);
	pair(b, 200, 2, 10, false);
	sock(b, 1, 80, 1, false, 200, 0);
	proc(b, 200, 1, 0);
	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 8);
	assert_int_equal(iv.nsocks, 2);
	assert_int_equal(iv.socks[1].ino, 0);
	assert_int_equal(iv.socks[1].accepted, 6);
	assert_int_equal(sock_sum(&iv), 8);
	assert_int_equal(iv.ngroups, 1); /* the unlisted ones are no group */
	watch_interval_free(&iv);
}

/* No accept: fairness and the busiest share are n/a, not 1 and 0. */
static void test_no_accepts(void **state)
{
	struct reads r;
	struct watch_interval iv;

	(void)state;
	reads(&r);
	assert_int_equal(watch_report(NULL, &r.b, &r.b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 0);
	assert_true(isnan(iv.fairness));
	assert_true(isnan(iv.busiest_share));
	assert_int_equal(iv.ngroups, 1);
	assert_true(isnan(iv.groups[0].fairness));
	assert_true(isnan(iv.groups[0].busiest_share));
	assert_int_equal(iv.groups[0].nworkers, 3); /* idle, all of them */
	watch_interval_free(&iv);
}

/* Three servers: 127.0.0.1:80 shared by 101 and 102 (even), 127.0.0.1:81
 * a reuseport group of two sockets, 201 taking everything and 202 idle,
 * and 127.0.0.2:80 (same port, other address: another server) with one
 * worker, 301. Fairness is per group, never across them: across the five
 * workers it would be Jain(10, 10, 30, 0, 5) = 0.55. */
static void test_groups(void **state)
{
	struct reads r;
	struct watch_snapshot *a = &r.a, *b = &r.b;
	struct watch_interval iv;

	(void)state;
	empty_reads(&r);
	for (int i = 0; i < 2; i++) {
		struct watch_snapshot *s = i ? b : a;
		uint64_t k = (uint64_t)i;
		pair(s, 101, 1, 10 * k, false);
		pair(s, 102, 1, 10 * k, false);
		pair(s, 201, 2, 30 * k, false);
		pair(s, 301, 4, 5 * k, false);
		sock(s, 1, 80, 1, false, 100, 101, 102, 0);
		sock(s, 2, 81, 1, false, 200, 201, 0);
		sock(s, 3, 81, 1, false, 200, 202, 0);
		sock(s, 4, 80, 2, false, 301, 0);
		proc(s, 100, 1, 0);
		proc(s, 101, 100, 0);
		proc(s, 102, 100, 0);
		proc(s, 200, 1, 0);
		proc(s, 201, 200, 0);
		proc(s, 202, 200, 0);
		proc(s, 301, 1, 0);
	}
	assert_int_equal(watch_report(NULL, a, b, false, false, &iv), 0);
	assert_int_equal(iv.accepted, 55);
	assert_int_equal(iv.ngroups, 3);
	assert_int_equal(iv.groups[0].port, 80);
	assert_int_equal(iv.groups[0].nsocks, 1);
	assert_int_equal(iv.groups[0].nworkers, 2);
	assert_true(fabs(iv.groups[0].fairness - 1.0) < 1e-12);
	assert_true(fabs(iv.groups[0].busiest_share - 0.5) < 1e-12);
	assert_int_equal(iv.groups[1].port, 81);
	assert_int_equal(iv.groups[1].nsocks, 2);
	assert_int_equal(iv.groups[1].accepted, 30);
	assert_int_equal(iv.groups[1].nworkers, 2);
	assert_true(fabs(iv.groups[1].fairness - 0.5) < 1e-12);
	assert_true(fabs(iv.groups[1].busiest_share - 1.0) < 1e-12);
	assert_int_equal(iv.groups[1].busiest_pid, 201);
	assert_int_equal(iv.groups[2].port, 80);
	assert_int_equal(iv.groups[2].addr[3], 2);
	assert_int_equal(iv.groups[2].nworkers, 1);
	assert_true(fabs(iv.groups[2].fairness - 1.0) < 1e-12);
	/* The header: the least even group, the busiest share in any. */
	assert_true(fabs(iv.fairness - 0.5) < 1e-12);
	assert_true(fabs(iv.busiest_share - 1.0) < 1e-12);
	assert_int_equal(iv.busiest_pid, 201);
	watch_interval_free(&iv);

	/* Per thread: each process has one thread, the same groups. */
	for (int i = 0; i < 2; i++) {
		struct watch_snapshot *s = i ? b : a;
		uint64_t k = (uint64_t)i;
		s->nthreads = 0;
		thread(s, 101, 101, 10 * k, 1000, 0);
		thread(s, 102, 102, 10 * k, 1000, 0);
		thread(s, 201, 201, 30 * k, 1000, 0);
		thread(s, 301, 301, 5 * k, 1000, 0);
		s->threads[0].listener_ino = s->threads[1].listener_ino = 1;
		s->threads[2].listener_ino = 2;
		s->threads[3].listener_ino = 4;
	}
	assert_int_equal(watch_report(NULL, a, b, true, false, &iv), 0);
	assert_int_equal(iv.ngroups, 3);
	assert_int_equal(iv.groups[1].nworkers, 2); /* 201, and idle 202 */
	assert_true(fabs(iv.groups[1].fairness - 0.5) < 1e-12);
	assert_true(fabs(iv.groups[0].fairness - 1.0) < 1e-12);
	assert_true(fabs(iv.fairness - 0.5) < 1e-12);
	watch_interval_free(&iv);
}

/* A stat line: the name may hold spaces and ')'. */
static void test_parse_stat(void **state)
{
	const char *line = "4242 (a b) c)) S 17 4242 4242 0 -1 4194560 1 0 0 0 250 150 0 0 20 0 3 0 1 2 3\n";
	struct watch_proc_stat st;

	(void)state;
	assert_int_equal(watch_proc_parse_stat(line, strlen(line), &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 17);
	assert_string_equal(st.comm, "a b) c)");
	assert_true(st.cpu_ns > 0);
	assert_int_equal(watch_proc_parse_stat("4242 no name", 12, &st), -EINVAL);
}

/* Process names come from the processes themselves: any bytes. */
static void test_comm(void **state)
{
	struct reads r;
	struct watch_interval iv;

	(void)state;
	reads(&r);
	strcpy(r.b.procs[1].comm, "\xff\xfe\x1b[2J a");
	assert_int_equal(watch_report(NULL, &r.a, &r.b, false, false, &iv), 0);
	assert_int_equal(iv.rows[0].pid, 101);
	assert_string_equal(iv.rows[0].comm, "???[2J_a");
	watch_interval_free(&iv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),	   cmocka_unit_test(test_percentiles), cmocka_unit_test(test_jain),
		cmocka_unit_test(test_netstat),	   cmocka_unit_test(test_report),      cmocka_unit_test(test_comm),
		cmocka_unit_test(test_fold),	   cmocka_unit_test(test_untimed_max), cmocka_unit_test(test_exited),
		cmocka_unit_test(test_unlisted),   cmocka_unit_test(test_no_accepts),  cmocka_unit_test(test_groups),
		cmocka_unit_test(test_parse_stat),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
