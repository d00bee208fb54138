/* test_util.c - strict number and duration parsing, sleeping, growing arrays. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>

#include <cmocka.h>

#include "lib/units.h"
#include "lib/util.h"

static void test_parse_u64(void **state)
{
	(void)state;
	uint64_t v = 0;
	assert_int_equal(util_parse_u64("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(util_parse_u64("0", 0, 100, &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(util_parse_u64("101", 0, 100, &v), -ERANGE);
	assert_int_equal(util_parse_u64("4x", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_u64("", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_u64("-1", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_u64(" 1", 0, 100, &v), -EINVAL);
	assert_int_equal(util_parse_u64("99999999999999999999999", 0, UINT64_MAX, &v), -ERANGE);
}

static void test_parse_double(void **state)
{
	(void)state;
	double d = 0;
	assert_int_equal(util_parse_double("99.9", 0, 100, &d), 0);
	assert_true(d == 99.9);
	assert_int_equal(util_parse_double("nan", 0, 100, &d), -EINVAL);
	assert_int_equal(util_parse_double("1e9", 0, 100, &d), -ERANGE);
	assert_int_equal(util_parse_double("1.5s", 0, 100, &d), -EINVAL);
}

static void test_parse_duration(void **state)
{
	(void)state;
	double s = 0;
	assert_int_equal(util_parse_duration("10", &s), 0);
	assert_true(s == 10);
	assert_int_equal(util_parse_duration("250ms", &s), 0);
	assert_true(s == 0.25);
	assert_int_equal(util_parse_duration("2m", &s), 0);
	assert_true(s == 120);
	assert_int_equal(util_parse_duration("500us", &s), 0);
	assert_true(s > 0.000499 && s < 0.000501);
	assert_int_equal(util_parse_duration("3 s", &s), -EINVAL);
	assert_int_equal(util_parse_duration("s", &s), -EINVAL);
	assert_int_equal(util_parse_duration("5d", &s), -EINVAL);
}

/* A signal in the middle does not cut the sleep short. */
static void on_alarm(int sig)
{
	(void)sig;
}

static void test_sleep_ms(void **state)
{
	(void)state;
	struct sigaction sa = {.sa_handler = on_alarm};
	sigemptyset(&sa.sa_mask);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	struct itimerval it = {.it_value = {.tv_usec = 20000}};
	assert_int_equal(setitimer(ITIMER_REAL, &it, NULL), 0);
	uint64_t t0 = util_now_ns();
	util_sleep_ms(120);
	uint64_t slept = util_now_ns() - t0;
	assert_true(slept >= 120 * NS_PER_MS);
	util_sleep_ms(0);
}

static void test_grow(void **state)
{
	(void)state;
	/* Each step asks for room for n; the capacity doubles from 16 and the
	 * elements written so far are kept. */
	static const struct {
		size_t n, cap;
	} steps[] = {{1, 16}, {16, 16}, {17, 32}, {100, 128}, {128, 128}};
	size_t cap = 0, filled = 0;
	int *a = NULL;
	for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
		size_t before = cap;
		int *b = util_grow(a, &cap, steps[k].n, sizeof *b);
		assert_non_null(b);
		assert_int_equal(cap, steps[k].cap);
		if (steps[k].n <= before)
			assert_ptr_equal(b, a); /* room already: the same array */
		for (size_t i = 0; i < filled; i++)
			assert_int_equal(b[i], (int)i);
		for (; filled < steps[k].n; filled++)
			b[filled] = (int)filled;
		a = b;
	}
	/* A size that overflows: NULL, the array and its capacity untouched. */
	assert_null(util_grow(a, &cap, SIZE_MAX / 4 + 1, sizeof *a));
	assert_int_equal(cap, 128);
	assert_int_equal(a[127], 127);
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse_u64), cmocka_unit_test(test_parse_double),
					   cmocka_unit_test(test_sleep_ms), cmocka_unit_test(test_parse_duration),
					   cmocka_unit_test(test_grow)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
