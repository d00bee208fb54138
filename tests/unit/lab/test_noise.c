/* test_noise.c - the lab's noise header from two synthetic readings (other
 * processes' time is what the CPUs did beyond the lab and its servers; the
 * warning past a tenth of the capacity), one repetition's noise and the
 * rules that make a repetition noisy (its CPU share, an outlier among its
 * siblings), and CPU lists for pinning. */
#include <errno.h>
#include <math.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lab/noise.h"

static void test_finish(void **state)
{
	(void)state;
	/* 10 s on every CPU the machine has; the lab used 1 s, its servers 4 s,
	 * the CPUs were busy 5.5 s in all: others 0.5 s, quiet. */
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	struct lab_noise_mark a = {
		.ok = true, .t_ns = 1000000000ull, .busy_s = 100, .steal_s = 3, .self_s = 2, .children_s = 7};
	struct lab_noise_mark b = a;
	b.t_ns += 10000000000ull;
	b.busy_s += 5.5;
	b.self_s += 1;
	b.children_s += 4;
	struct lab_noise n = {0};
	lab_noise_finish(&a, &b, 20000, &n);
	assert_true(fabs(n.elapsed_s - 10) < 1e-9);
	assert_true(fabs(n.others_s - 0.5) < 1e-9);
	assert_true(fabs(n.lab_s - 1) < 1e-9 && fabs(n.servers_s - 4) < 1e-9);
	assert_true(fabs(n.loadgen_us_per_request - 50) < 1e-9); /* 1 s / 20000 */
	assert_true(n.steal_s == 0);
	assert_false(n.noisy);
	/* Another process took a whole CPU for the run, and steal on top. */
	b.busy_s += 10;
	b.steal_s += 1;
	memset(&n, 0, sizeof n);
	lab_noise_finish(&a, &b, 20000, &n);
	assert_true(fabs(n.others_s - 10.5) < 1e-9);
	assert_true(fabs(n.steal_s - 1) < 1e-9);
	assert_true(n.noisy == (11.5 / (10.0 * (double)ncpu) > 0.10));
	if (ncpu <= 16)
		assert_true(n.noisy && strstr(n.warning, "other processes") != NULL);
	/* Unreadable /proc/stat: the noise is unknown, and said so. */
	a.ok = false;
	memset(&n, 0, sizeof n);
	lab_noise_finish(&a, &b, 0, &n);
	assert_true(n.noisy);
	assert_true(n.loadgen_us_per_request == 0);
}

static void test_rep_noise(void **state)
{
	(void)state;
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* 5 s on every CPU; the lab 1 s, its server 4 s, busy 5 s + 2 s more:
	 * others 2 s. */
	struct lab_noise_mark a = {.ok = true, .t_ns = 1000000000ull, .busy_s = 100, .self_s = 2, .children_s = 7};
	struct lab_noise_mark b = a;
	b.t_ns += 5000000000ull;
	b.busy_s += 7;
	b.self_s += 1;
	b.children_s += 4;
	b.steal_s += 0.5;
	struct lab_rep_noise n;
	lab_noise_rep(&a, &b, 10000, 4.2, &n);
	assert_true(n.measured);
	assert_true(fabs(n.elapsed_s - 5) < 1e-9);
	assert_true(fabs(n.others_s - 2) < 1e-9 && fabs(n.steal_s - 0.5) < 1e-9);
	assert_true(fabs(n.share - 2.5 / (5.0 * (double)ncpu)) < 1e-9);
	assert_true(fabs(n.loadgen_us_per_request - 100) < 1e-9);
	assert_true(n.bench_s == 4.2);
	/* Unreadable /proc/stat: unknown, not noisy. */
	a.ok = false;
	lab_noise_rep(&a, &b, 10000, 4.2, &n);
	assert_false(n.measured);
	assert_true(n.share == 0);
}

/* A repetition with the given seed and calm-twin throughput, load
 * generator CPU per request and CPU share of other processes. */
static void rep_with(struct lab_rep *r, double seed, double calm, double gen, double share)
{
	memset(r, 0, sizeof *r);
	r->runs[LAB_SEED] = (struct lab_result){.ran = true, .valid = true, .throughput = seed};
	r->stall_calm = (struct lab_result){.ran = seed > 0, .valid = true, .throughput = calm};
	r->noise = (struct lab_rep_noise){
		.measured = true, .share = share, .loadgen_us_per_request = gen, .requests = 5000};
	r->late_noise.share = share;
}

static void test_classify(void **state)
{
	(void)state;
	struct lab_rep reps[5];
	struct lab_model m = {.name = "epoll", .available = true, .nreps = 4, .reps = reps};
	/* The run: two repetitions at half throughput. */
	rep_with(&reps[0], 1842, 3000, 100, 0.02);
	rep_with(&reps[1], 920, 3000, 100, 0.02);
	rep_with(&reps[2], 1862, 3000, 100, 0.02);
	rep_with(&reps[3], 1850, 3000, 100, 0.02);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 1);
	assert_true(reps[1].noise.noisy);
	assert_non_null(strstr(reps[1].noise.why, "seed 920 req/s, 50% of the median 1846"));
	assert_false(reps[0].noise.noisy || reps[2].noise.noisy || reps[3].noise.noisy);
	/* A faster repetition is no sign of noise. */
	rep_with(&reps[1], 2600, 3000, 100, 0.02);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 0);
	/* Other processes over the share: noisy whatever its figures, and out
	 * of the siblings' median. */
	rep_with(&reps[1], 1850, 3000, 100, NOISE_REP_SHARE + 0.05);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 1);
	assert_non_null(strstr(reps[1].noise.why, "other processes and steal took 30% of the CPUs (over 25%)"));
	assert_true(reps[1].late_noise.noisy);
	/* The calm twin slow; the load generator dear. */
	rep_with(&reps[1], 1850, 1500, 100, 0.02);
	rep_with(&reps[2], 1850, 3000, 200, 0.02);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 2);
	assert_non_null(strstr(reps[1].noise.why, "calm twin 1500 req/s"));
	assert_non_null(strstr(reps[2].noise.why, "load generator 200 us CPU per request, 2.0x the median 100"));
	/* Re-classified from every repetition: a re-run moves the median. */
	rep_with(&reps[1], 1850, 3000, 100, 0.02);
	rep_with(&reps[2], 1850, 3000, 100, 0.02);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 0);
	/* One repetition has no siblings: only its share can tell. */
	m.nreps = 1;
	rep_with(&reps[0], 100, 100, 900, 0.02);
	lab_noise_classify(&m);
	assert_int_equal(m.noisy, 0);
}

static void test_cpu_lists(void **state)
{
	(void)state;
	assert_int_equal(lab_apply_cpus("x"), -EINVAL);
	assert_int_equal(lab_apply_cpus("0-"), -EINVAL);
	assert_int_equal(lab_apply_cpus("1-0"), -EINVAL);
	assert_int_equal(lab_apply_cpus("0;1"), -EINVAL);
	cpu_set_t old;
	assert_int_equal(sched_getaffinity(0, sizeof old, &old), 0);
	int first = -1;
	for (int c = 0; c < CPU_SETSIZE && first < 0; c++)
		if (CPU_ISSET(c, &old))
			first = c;
	char list[16];
	snprintf(list, sizeof list, "%d", first);
	assert_int_equal(lab_apply_cpus(list), 0);
	cpu_set_t now;
	assert_int_equal(sched_getaffinity(0, sizeof now, &now), 0);
	assert_int_equal(CPU_COUNT(&now), 1);
	assert_true(CPU_ISSET(first, &now));
	assert_int_equal(sched_setaffinity(0, sizeof old, &old), 0);
}

static void test_cpu_halves(void **state)
{
	(void)state;
	struct lab_noise n = {0};
	cpu_set_t all, gen;
	/* 2 CPUs: shared, both sides on "0-1". */
	CPU_ZERO(&all);
	CPU_SET(0, &all);
	CPU_SET(1, &all);
	lab_cpu_halves(&all, &n, &gen);
	assert_false(n.split);
	assert_string_equal(n.server_cpus, "0-1");
	assert_string_equal(n.loadgen_cpus, "0-1");
	assert_true(CPU_EQUAL(&gen, &all));
	/* 8 CPUs with holes (a taskset): disjoint halves of the allowed ones. */
	CPU_ZERO(&all);
	for (int c = 0; c < 10; c++)
		if (c != 3 && c != 7)
			CPU_SET(c, &all);
	lab_cpu_halves(&all, &n, &gen);
	assert_true(n.split);
	assert_string_equal(n.server_cpus, "0-2,4");
	assert_string_equal(n.loadgen_cpus, "5-6,8-9");
	assert_int_equal(CPU_COUNT(&gen), 4);
	assert_false(CPU_ISSET(4, &gen));
	assert_true(CPU_ISSET(9, &gen));
	/* The real machine: whatever it has, the call succeeds. */
	assert_int_equal(lab_cpu_split(&n), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_finish),	  cmocka_unit_test(test_rep_noise),  cmocka_unit_test(test_classify),
		cmocka_unit_test(test_cpu_lists), cmocka_unit_test(test_cpu_halves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
