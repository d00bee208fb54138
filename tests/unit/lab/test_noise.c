/* test_noise.c - the lab's noise header from two synthetic readings (other
 * processes' time is what the CPUs did beyond the lab and its servers; the
 * warning past a tenth of the capacity), and CPU lists for pinning. */
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
		cmocka_unit_test(test_finish),
		cmocka_unit_test(test_cpu_lists),
		cmocka_unit_test(test_cpu_halves),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
