/* test_util.c - strict number and duration parsing. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_u64),
		cmocka_unit_test(test_parse_double),
		cmocka_unit_test(test_parse_duration),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
