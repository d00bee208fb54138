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
