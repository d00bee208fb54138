/*
 * noise.c - what else ran on the machine while the lab measured, and where
 * the lab's own two halves run.
 *
 * /proc/stat's first line is the time every CPU spent per state since boot
 * (USER_HZ ticks). Its non-idle time over the run, less what the lab itself
 * (getrusage SELF: the load generator's threads) and its reaped servers
 * (getrusage CHILDREN: a server's workers are reaped by its master, so their
 * time reaches the lab when the master is reaped) used, is what other
 * processes took from the CPUs. Steal is time a hypervisor ran someone
 * else on our vCPUs; it is not in the non-idle time but slows everything.
 *
 * On 4 or more CPUs the server and the load generator get disjoint halves
 * of the CPUs the lab may use, so they do not compete; on fewer they share.
 */
#include "lab/noise.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "lab/server.h"
#include "lib/units.h"
#include "lib/util.h"

/* Other processes' CPU time plus steal above this fraction of the run's
 * CPU capacity (elapsed x CPUs) is worth a warning: on the 2-CPU machine a
 * tenth of the capacity is about what the load generator's own share varies
 * by between runs, so beyond it the figures move for reasons outside herd. */
#define NOISE_WARN_SHARE 0.10
/* Disjoint CPU sets need at least this many CPUs (two per side). */
#define SPLIT_MIN_CPUS 4

static double tv_s(struct timeval tv)
{
	return (double)tv.tv_sec + (double)tv.tv_usec / US_PER_SEC_F;
}

int lab_noise_mark(struct lab_noise_mark *m)
{
	memset(m, 0, sizeof *m);
	m->t_ns = util_now_ns();
	struct rusage self, kids;
	if (getrusage(RUSAGE_SELF, &self) == 0)
		m->self_s = tv_s(self.ru_utime) + tv_s(self.ru_stime);
	if (getrusage(RUSAGE_CHILDREN, &kids) == 0)
		m->children_s = tv_s(kids.ru_utime) + tv_s(kids.ru_stime);
	FILE *f = fopen("/proc/stat", "re");
	if (!f)
		return -errno;
	unsigned long long v[10] = {0};
	int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
		       &v[5], &v[6], &v[7], &v[8], &v[9]);
	fclose(f);
	if (n < 8)
		return -EIO;
	long hz = sysconf(_SC_CLK_TCK);
	double tick = 1.0 / (double)(hz > 0 ? hz : 100);
	/* user nice system idle iowait irq softirq steal (guest is in user). */
	m->busy_s = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) * tick;
	m->steal_s = (double)v[7] * tick;
	m->ok = true;
	return 0;
}

static double nonneg(double x)
{
	return x > 0 ? x : 0;
}

void lab_noise_finish(const struct lab_noise_mark *a, const struct lab_noise_mark *b, uint64_t requests,
		      struct lab_noise *n)
{
	/* Readings taken in order; a clock that went the other way counts 0. */
	n->start_ns = a->t_ns;
	n->elapsed_s = b->t_ns > a->t_ns ? (double)(b->t_ns - a->t_ns) / NS_PER_SEC_F : 0;
	n->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	n->lab_s = nonneg(b->self_s - a->self_s);
	n->servers_s = nonneg(b->children_s - a->children_s);
	n->requests = requests;
	n->loadgen_us_per_request = requests ? n->lab_s * US_PER_SEC_F / (double)requests : 0;
	if (!a->ok || !b->ok) {
		snprintf(n->warning, sizeof n->warning, "/proc/stat unreadable: the noise is unknown");
		n->noisy = true;
		return;
	}
	n->busy_s = nonneg(b->busy_s - a->busy_s);
	n->steal_s = nonneg(b->steal_s - a->steal_s);
	/* Tick granularity can make this slightly negative on a quiet machine. */
	n->others_s = nonneg(n->busy_s - n->lab_s - n->servers_s);
	double capacity = n->elapsed_s * (double)(n->ncpu > 0 ? n->ncpu : 1);
	double share = capacity > 0 ? (n->others_s + n->steal_s) / capacity : 0;
	n->noisy = share > NOISE_WARN_SHARE;
	if (n->noisy)
		snprintf(n->warning, sizeof n->warning,
			 "other processes and steal took %.0f%% of the CPUs during the run (over %.0f%%): "
			 "figures may move between runs for reasons outside herd",
			 100 * share, 100 * NOISE_WARN_SHARE);
}

void lab_noise_rep(const struct lab_noise_mark *a, const struct lab_noise_mark *b, uint64_t requests, double bench_s,
		   struct lab_rep_noise *n)
{
	memset(n, 0, sizeof *n);
	n->start_ns = a->t_ns;
	n->elapsed_s = b->t_ns > a->t_ns ? (double)(b->t_ns - a->t_ns) / NS_PER_SEC_F : 0;
	n->requests = requests;
	n->bench_s = bench_s;
	double lab = nonneg(b->self_s - a->self_s), servers = nonneg(b->children_s - a->children_s);
	n->loadgen_us_per_request = requests ? lab * US_PER_SEC_F / (double)requests : 0;
	if (!a->ok || !b->ok)
		return; /* unknown: not measured, not noisy */
	n->measured = true;
	n->steal_s = nonneg(b->steal_s - a->steal_s);
	n->others_s = nonneg(nonneg(b->busy_s - a->busy_s) - lab - servers);
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	double capacity = n->elapsed_s * (double)(ncpu > 0 ? ncpu : 1);
	n->share = capacity > 0 ? (n->others_s + n->steal_s) / capacity : 0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The median of v[0..n) (reordered); 0 when n is 0. */
static double median_of(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* What an outlier test looks at in one repetition; 0 when not measured. */
static double rep_seed_rps(const struct lab_rep *r)
{
	return r->runs[LAB_SEED].ran && r->runs[LAB_SEED].valid ? r->runs[LAB_SEED].throughput : 0;
}

static double rep_calm_rps(const struct lab_rep *r)
{
	return r->stall_calm.ran && r->stall_calm.valid ? r->stall_calm.throughput : 0;
}

static double rep_loadgen(const struct lab_rep *r)
{
	return r->noise.requests ? r->noise.loadgen_us_per_request : 0;
}

/* The median of one figure over the repetitions that are not noisy by
 * their CPU share (those are out whatever their figures say). */
static double siblings_median(const struct lab_model *m, double (*fig)(const struct lab_rep *))
{
	double v[m->nreps ? m->nreps : 1];
	size_t n = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		double x = fig(&m->reps[k]);
		if (x > 0 && !(m->reps[k].noise.share > NOISE_REP_SHARE))
			v[n++] = x;
	}
	return median_of(v, n);
}

void lab_noise_classify(struct lab_model *m)
{
	/* Slow drift (another job starting) lowers every model's figures at
	 * once, and interleaving spreads it; an outlier among one model's own
	 * repetitions is a burst that hit one of them. Slower throughput and
	 * a dearer load generator are what such a burst does (a faster run
	 * is no sign of noise). */
	double seed = siblings_median(m, rep_seed_rps), calm = siblings_median(m, rep_calm_rps);
	double gen = siblings_median(m, rep_loadgen);
	m->noisy = 0;
	for (size_t k = 0; k < m->nreps; k++) {
		struct lab_rep *r = &m->reps[k];
		struct lab_rep_noise *n = &r->noise;
		n->noisy = n->share > NOISE_REP_SHARE;
		if (n->noisy)
			snprintf(n->why, sizeof n->why,
				 "other processes and steal took %.0f%% of the CPUs (over %.0f%%)", 100 * n->share,
				 100 * NOISE_REP_SHARE);
		else if (rep_seed_rps(r) > 0 && rep_seed_rps(r) < NOISE_SLOW_FRACTION * seed)
			snprintf(n->why, sizeof n->why,
				 "seed %.0f req/s, %.0f%% of the median %.0f of its repetitions (under %.0f%%)",
				 rep_seed_rps(r), 100 * rep_seed_rps(r) / seed, seed, 100 * NOISE_SLOW_FRACTION);
		else if (rep_calm_rps(r) > 0 && rep_calm_rps(r) < NOISE_SLOW_FRACTION * calm)
			snprintf(
				n->why, sizeof n->why,
				"stall's calm twin %.0f req/s, %.0f%% of the median %.0f of its repetitions (under %.0f%%)",
				rep_calm_rps(r), 100 * rep_calm_rps(r) / calm, calm, 100 * NOISE_SLOW_FRACTION);
		else if (rep_loadgen(r) > NOISE_LOADGEN_FACTOR * gen && gen > 0)
			snprintf(
				n->why, sizeof n->why,
				"load generator %.0f us CPU per request, %.1fx the median %.0f of its repetitions (over "
				"%.1fx)",
				rep_loadgen(r), rep_loadgen(r) / gen, gen, NOISE_LOADGEN_FACTOR);
		else
			n->why[0] = '\0';
		n->noisy = n->why[0] != '\0';
		m->noisy += n->noisy;
		/* The sweep's server: its load is an offered rate, so only the
		 * CPU share can tell; it is left out, not re-run. */
		struct lab_rep_noise *l = &r->late_noise;
		l->noisy = l->share > NOISE_REP_SHARE;
		if (l->noisy)
			snprintf(l->why, sizeof l->why,
				 "other processes and steal took %.0f%% of the CPUs (over %.0f%%)", 100 * l->share,
				 100 * NOISE_REP_SHARE);
	}
}

/* Writes the CPUs of set as a list "0-1,4". */
static void format_cpus(const cpu_set_t *set, char *buf, size_t len)
{
	size_t off = 0;
	buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE && off < len; c++) {
		if (!CPU_ISSET(c, set))
			continue;
		int e = c;
		while (e + 1 < CPU_SETSIZE && CPU_ISSET(e + 1, set))
			e++;
		int w = e > c ? snprintf(buf + off, len - off, "%s%d-%d", off ? "," : "", c, e)
			      : snprintf(buf + off, len - off, "%s%d", off ? "," : "", c);
		off += w > 0 ? (size_t)w : 0;
		c = e;
	}
}

int lab_apply_cpus(const char *list)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	for (const char *p = list; *p;) {
		char *end;
		long a = strtol(p, &end, 10), b = a;
		if (end == p || a < 0 || a >= CPU_SETSIZE)
			return -EINVAL;
		if (*end == '-') {
			p = end + 1;
			b = strtol(p, &end, 10);
			if (end == p || b < a || b >= CPU_SETSIZE)
				return -EINVAL;
		}
		for (long c = a; c <= b; c++)
			CPU_SET((int)c, &set);
		p = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			return -EINVAL;
	}
	return sched_setaffinity(0, sizeof set, &set) < 0 ? -errno : 0;
}

void lab_cpu_halves(const cpu_set_t *all, struct lab_noise *n, cpu_set_t *gen)
{
	int count = CPU_COUNT(all);
	n->split = count >= SPLIT_MIN_CPUS;
	*gen = *all;
	if (!n->split) {
		format_cpus(all, n->server_cpus, sizeof n->server_cpus);
		snprintf(n->loadgen_cpus, sizeof n->loadgen_cpus, "%s", n->server_cpus);
		return;
	}
	cpu_set_t srv;
	CPU_ZERO(&srv);
	CPU_ZERO(gen);
	for (int c = 0, k = 0; c < CPU_SETSIZE; c++) {
		if (!CPU_ISSET(c, all))
			continue;
		if (k++ < count / 2)
			CPU_SET(c, &srv);
		else
			CPU_SET(c, gen);
	}
	format_cpus(&srv, n->server_cpus, sizeof n->server_cpus);
	format_cpus(gen, n->loadgen_cpus, sizeof n->loadgen_cpus);
}

int lab_cpu_split(struct lab_noise *n)
{
	cpu_set_t all, gen;
	if (sched_getaffinity(0, sizeof all, &all) < 0)
		return -errno;
	lab_cpu_halves(&all, n, &gen);
	if (!n->split)
		return 0;
	/* The bench engine's threads inherit this thread's affinity, and
	 * size themselves by it (one thread per CPU they may use). */
	return sched_setaffinity(0, sizeof gen, &gen) < 0 ? -errno : 0;
}
