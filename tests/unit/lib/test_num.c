/* test_num.c - the one overflow-checked decimal parser, table-driven. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../guard.h"
#include "lib/num.h"

static void test_parse_table(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		uint64_t max;
		int rc;
		uint64_t v;
	} cases[] = {
		{"0", UINT64_MAX, 0, 0},
		{"42", 100, 0, 42},
		{"007", 100, 0, 7},
		{"100", 100, 0, 100},
		{"101", 100, -ERANGE, 0},
		{"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
		{"18446744073709551616", UINT64_MAX, -ERANGE, 0},
		{"99999999999999999999999999", UINT64_MAX, -ERANGE, 0},
		/* A non-digit after an overflow is still "not a number". */
		{"99999999999999999999999999x", UINT64_MAX, -EINVAL, 0},
		{"", UINT64_MAX, -EINVAL, 0},
		{"-1", UINT64_MAX, -EINVAL, 0},
		{"+1", UINT64_MAX, -EINVAL, 0},
		{" 1", UINT64_MAX, -EINVAL, 0},
		{"1 ", UINT64_MAX, -EINVAL, 0},
		{"5, 5", UINT64_MAX, -EINVAL, 0},
		{"0x10", UINT64_MAX, -EINVAL, 0},
		{"65535", 65535, 0, 65535},
		/* A digit above max itself: max - d must not wrap. */
		{"7", 6, -ERANGE, 0},
		{"0", 0, 0, 0},
		{"1", 0, -ERANGE, 0},
		{"65536", 65535, -ERANGE, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint64_t v = 12345;
		int rc = num_parse_u64(cases[i].in, strlen(cases[i].in), cases[i].max, &v);
		if (rc != cases[i].rc)
			fail_msg("'%s': rc %d, want %d", cases[i].in, rc, cases[i].rc);
		if (rc == 0 && v != cases[i].v)
			fail_msg("'%s': %llu", cases[i].in, (unsigned long long)v);
		if (rc != 0 && v != 12345)
			fail_msg("'%s': *out written on error", cases[i].in);
	}
}

/* The length bounds the read: digits after it are not looked at. */
static void test_parse_range_only(void **state)
{
	(void)state;
	uint64_t v;
	assert_int_equal(num_parse_u64("12345", 2, UINT64_MAX, &v), 0);
	assert_int_equal(v, 12);
	assert_int_equal(num_parse_u64("12x", 2, UINT64_MAX, &v), 0);
	assert_int_equal(v, 12);
}

/* Digits that end exactly at a PROT_NONE page: no read past p + len. */
static void test_parse_guard_page(void **state)
{
	(void)state;
	struct guard g;
	assert_int_equal(guard_open(&g), 0);
	const char *p = guard_place(&g, "1234", 4);
	uint64_t v;
	assert_int_equal(num_parse_u64(p, 4, UINT64_MAX, &v), 0);
	assert_int_equal(v, 1234);
	assert_int_equal(num_prefix_u64(p, 4, &v), 4);
	assert_int_equal(v, 1234);
	guard_close(&g);
}

static void test_prefix(void **state)
{
	(void)state;
	uint64_t v = 7;
	assert_int_equal(num_prefix_u64("123 456", 7, &v), 3);
	assert_int_equal(v, 123);
	assert_int_equal(num_prefix_u64("x1", 2, &v), 0);
	assert_int_equal(num_prefix_u64("", 0, &v), 0);
	assert_int_equal(v, 123);
	assert_int_equal(num_prefix_u64("18446744073709551615)", 21, &v), 20);
	assert_true(v == UINT64_MAX);
	v = 9;
	assert_int_equal(num_prefix_u64("18446744073709551616", 20, &v), 0);
	assert_int_equal(v, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_parse_table), cmocka_unit_test(test_parse_range_only),
					   cmocka_unit_test(test_parse_guard_page), cmocka_unit_test(test_prefix)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
