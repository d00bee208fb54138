/* test_proc.c - /proc/PID/stat parsing: odd command names, short and hostile text. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "lib/proc.h"

static int parse(const char *s, struct proc_stat *st)
{
	return proc_stat_parse(s, strlen(s), st);
}

static void test_parse(void **state)
{
	(void)state;
	struct proc_stat st;
	assert_int_equal(parse("1234 (herd) S 1 1234 1234 0 -1 4194560 100 0 0 0 7 5 0 0 20 0 1 0 99\n", &st), 0);
	assert_int_equal(st.state, 'S');
	assert_int_equal(st.ppid, 1);
	assert_int_equal(st.ticks, 12);
	/* A name with spaces and ')' in it: fields count from the last ')'. */
	assert_int_equal(parse("77 (a) b) (c) R 76 77 77 0 -1 0 0 0 0 0 300 200 0 0\n", &st), 0);
	assert_int_equal(st.state, 'R');
	assert_int_equal(st.ppid, 76);
	assert_int_equal(st.ticks, 500);
	/* No trailing fields after stime, no newline. */
	assert_int_equal(parse("5 (x) Z 4 0 0 0 0 0 0 0 0 0 1 2", &st), 0);
	assert_int_equal(st.ticks, 3);
}

static void test_parse_bad(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"",
		"1 (x",
		"1 (x)",
		"1 (x) S",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10",	       /* stops before utime */
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 11",     /* stops before stime */
		"1 (x) S -1 2 3 4 5 6 7 8 9 10 11 12", /* negative ppid */
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 1x 12",  /* junk in utime */
		"1 (x) S 99999999999 2 3 4 5 6 7 8 9 10 11 12",
		"1 (x) S 1 2 3 4 5 6 7 8 9 10 99999999999999999999999 1",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		struct proc_stat st;
		if (parse(bad[i], &st) != -EINVAL)
			fail_msg("accepted '%s'", bad[i]);
	}
}

static void test_read_self(void **state)
{
	(void)state;
	struct proc_stat st;
	assert_int_equal(proc_stat_read(getpid(), &st), 0);
	assert_int_equal(st.ppid, getppid());
	assert_int_equal(proc_stat_read(-5, &st), -ENOENT);
}

static void test_ticks_to_us(void **state)
{
	(void)state;
	long hz = sysconf(_SC_CLK_TCK);
	assert_true(hz > 0);
	assert_int_equal(proc_ticks_to_us((uint64_t)hz), 1000000);
	assert_int_equal(proc_ticks_to_us(0), 0);
	/* 10^12 seconds of ticks: ticks * 10^6 would overflow 64 bits, the
	 * result (10^18 us) does not. */
	uint64_t secs = 1000000000000ULL;
	assert_true(proc_ticks_to_us(secs * (uint64_t)hz) == secs * 1000000ULL);
	assert_true(proc_ticks_to_us(secs * (uint64_t)hz + (uint64_t)hz / 2) == secs * 1000000ULL + 500000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse), cmocka_unit_test(test_parse_bad),
					   cmocka_unit_test(test_read_self), cmocka_unit_test(test_ticks_to_us)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
