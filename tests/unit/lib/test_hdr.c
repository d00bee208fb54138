/*
 * test_hdr.c - the HDR histogram against answers worked out from
 * HdrHistogram's definition (3 significant digits: 2048 sub-buckets, values
 * below 2048 exact, then buckets of width 2, 4, 8, ... per power of two).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "lib/hdr.h"

#define HOUR_US HDR_LATENCY_HIGHEST_US

/* a and b fall in the same bucket. */
static bool same_bucket(const struct hdr *h, int64_t a, int64_t b)
{
	return hdr_lowest_equivalent(h, a) == hdr_lowest_equivalent(h, b);
}

static struct hdr *new_hist(void)
{
	struct hdr *h = NULL;
	assert_int_equal(hdr_init(1, HOUR_US, 3, &h), 0);
	assert_non_null(h);
	return h;
}

/* Width of the bucket holding v, from the layout's definition. */
static int64_t width_of(int64_t v)
{
	int64_t w = 1;
	for (int64_t top = 2048; v >= top; top <<= 1)
		w <<= 1;
	return w;
}

/* The midpoint of v's bucket: the value mean and stddev count v as. */
static double midpoint_of(int64_t v)
{
	int64_t w = width_of(v);
	return (double)((v / w) * w + w / 2);
}

static void test_layout(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_int_equal(h->sub_bucket_count, 2048);
	assert_int_equal(h->sub_bucket_half_count, 1024);
	assert_int_equal(h->sub_bucket_half_count_magnitude, 10);
	assert_int_equal(h->unit_magnitude, 0);
	/* 2048 << 20 <= 3.6e9 < 2048 << 21: 22 buckets, (22 + 1) * 1024 counts. */
	assert_int_equal(h->bucket_count, 22);
	assert_int_equal(h->counts_len, 23552);
	assert_int_equal(hdr_counts_index_for(h, 2047), 2047);
	assert_int_equal(hdr_counts_index_for(h, 2048), 2048);
	assert_int_equal(hdr_counts_index_for(h, 2049), 2048);
	assert_int_equal(hdr_counts_index_for(h, 4096), 3072);
	assert_int_equal(hdr_value_at_index(h, 3072), 4096);
	assert_int_equal(hdr_value_at_index(h, 2049), 2050);
	hdr_free(h);
}

static void test_exact_below_2048(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	for (int64_t v = 0; v < 2048; v++) {
		assert_int_equal(hdr_lowest_equivalent(h, v), v);
		assert_int_equal(hdr_highest_equivalent(h, v), v);
		assert_int_equal(hdr_value_at_index(h, hdr_counts_index_for(h, v)), v);
	}
	assert_true(hdr_record(h, 1234));
	assert_int_equal(hdr_value_at_percentile(h, 50), 1234);
	assert_int_equal(hdr_value_at_percentile(h, 100), 1234);
	hdr_free(h);
}

static void test_equivalence_near_powers_of_two(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_false(same_bucket(h, 2047, 2048));
	assert_true(same_bucket(h, 2048, 2049));
	assert_false(same_bucket(h, 2049, 2050));
	assert_true(same_bucket(h, 4096, 4099));
	assert_false(same_bucket(h, 4095, 4096));
	assert_false(same_bucket(h, 4099, 4100));
	assert_int_equal(hdr_lowest_equivalent(h, 4099), 4096);
	assert_int_equal(hdr_highest_equivalent(h, 4096), 4099);
	assert_int_equal(hdr_median_equivalent(h, 4096), 4098);
	assert_int_equal(hdr_lowest_equivalent(h, 8191), 8188);
	assert_int_equal(hdr_highest_equivalent(h, 8192), 8199);
	/* 2^20 = 1048576 lies in the bucket of width 2^10. */
	assert_int_equal(hdr_lowest_equivalent(h, 1048576 + 1023), 1048576);
	assert_int_equal(hdr_highest_equivalent(h, 1048576), 1048576 + 1023);
	/* Relative error stays below 1/1024 everywhere (3 significant digits). */
	for (int64_t v = 2048; v < HOUR_US; v = v * 3 + 7) {
		int64_t lo = hdr_lowest_equivalent(h, v), hi = hdr_highest_equivalent(h, v);
		assert_true(lo <= v && v <= hi);
		assert_int_equal(hi - lo + 1, width_of(v));
		assert_true((double)(hi - lo) / (double)lo < 1.0 / 1024);
	}
	hdr_free(h);
}

static void test_percentiles_1_to_10000(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	for (int64_t v = 1; v <= 10000; v++)
		assert_true(hdr_record(h, v));
	assert_int_equal(h->total, 10000);
	/* p50: the 5000th value is 5000, in 5000..5003 (width 4 above 4096). */
	assert_int_equal(hdr_value_at_percentile(h, 50), 5003);
	assert_true(same_bucket(h, hdr_value_at_percentile(h, 50), 5000));
	/* p25: 2500 in 2500..2501 (width 2). */
	assert_int_equal(hdr_value_at_percentile(h, 25), 2501);
	/* p90: 9000 in 9000..9007; p99: 9900 in 9896..9903 (width 8). */
	assert_int_equal(hdr_value_at_percentile(h, 90), 9007);
	assert_int_equal(hdr_value_at_percentile(h, 99), 9903);
	/* 99.9% of 10000 is 9990 exactly, even though 99.9/100 is not exact. */
	assert_int_equal(hdr_value_at_percentile(h, 99.9), 9991);
	assert_int_equal(hdr_value_at_percentile(h, 100), 10007);
	assert_int_equal(hdr_value_at_percentile(h, 150), 10007);
	/* p0 reports the lowest equivalent value, as HdrHistogram does. */
	assert_int_equal(hdr_value_at_percentile(h, 0), 1);
	assert_int_equal(hdr_min(h), 1);
	assert_int_equal(hdr_max(h), 10000);

	/* Mean and stddev from bucket midpoints, computed from the layout. */
	double sum = 0;
	for (int64_t v = 1; v <= 10000; v++)
		sum += midpoint_of(v);
	double mean = sum / 10000;
	double acc = 0;
	for (int64_t v = 1; v <= 10000; v++) {
		double d = midpoint_of(v) - mean;
		acc += d * d;
	}
	assert_true(fabs(hdr_mean(h) - mean) < 1e-9);
	assert_true(fabs(hdr_stddev(h) - sqrt(acc / 10000)) < 1e-9);
	/* And close to the true mean 5000.5 and stddev 2886.75. */
	assert_true(fabs(hdr_mean(h) - 5000.5) < 5);
	assert_true(fabs(hdr_stddev(h) - 2886.75) < 5);
	hdr_free(h);
}

static void test_mean_stddev_exact(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_true(hdr_record_n(h, 1000, 100));
	assert_true(hdr_record_n(h, 2000, 100));
	assert_true(hdr_mean(h) == 1500.0);
	assert_true(hdr_stddev(h) == 500.0);
	assert_int_equal(hdr_value_at_percentile(h, 50), 1000);
	assert_int_equal(hdr_value_at_percentile(h, 50.5), 2000);
	hdr_free(h);
}

static void test_merge(void **state)
{
	(void)state;
	struct hdr *a = new_hist(), *b = new_hist();
	for (int64_t v = 1; v <= 100; v++)
		assert_true(hdr_record(a, v));
	assert_true(hdr_record_n(b, 50, 3));
	assert_true(hdr_record(b, 7777777));
	assert_int_equal(hdr_merge(a, b), 0);
	assert_int_equal(a->total, 104);
	assert_int_equal(a->counts[hdr_counts_index_for(a, 50)], 4);
	assert_int_equal(a->counts[hdr_counts_index_for(a, 51)], 1);
	assert_int_equal(a->counts[hdr_counts_index_for(a, 7777777)], 1);
	assert_int_equal(hdr_min(a), 1);
	assert_int_equal(hdr_max(a), 7777777); /* exact, not the bucket's top */
	int64_t sum = 0;
	for (int32_t i = 0; i < a->counts_len; i++)
		sum += a->counts[i];
	assert_int_equal(sum, 104);
	/* b unchanged. */
	assert_int_equal(b->total, 4);

	/* Into a smaller histogram: what does not fit is counted as dropped. */
	struct hdr *small = NULL;
	assert_int_equal(hdr_init(1, 100000, 3, &small), 0);
	assert_int_equal(hdr_merge(small, b), 1);
	assert_int_equal(small->total, 3);
	assert_int_equal(hdr_max(small), 50);
	assert_int_equal(hdr_min(small), 50);

	/* Merging an empty one changes nothing. */
	hdr_reset(b);
	assert_int_equal(hdr_merge(a, b), 0);
	assert_int_equal(a->total, 104);
	assert_int_equal(hdr_min(a), 1);
	hdr_free(a);
	hdr_free(b);
	hdr_free(small);
}

static void test_edges(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_true(hdr_record(h, 0));
	assert_true(hdr_record(h, 1));
	assert_true(hdr_record(h, HOUR_US));
	assert_false(hdr_record(h, HOUR_US + 1));
	assert_false(hdr_record(h, -1));
	assert_false(hdr_record(h, INT64_MAX));
	assert_false(hdr_record_n(h, 5, -1));
	assert_int_equal(h->total, 3);
	assert_int_equal(hdr_min(h), 0);
	assert_int_equal(hdr_max(h), HOUR_US);
	/* 3.6e9 lies in [2^31, 2^32): width 2^21, so 1716 * 2^21 .. + 2^21 - 1. */
	assert_int_equal(hdr_lowest_equivalent(h, HOUR_US), INT64_C(3598712832));
	assert_int_equal(hdr_value_at_percentile(h, 100), INT64_C(3600809983));
	assert_true(hdr_counts_index_for(h, HOUR_US) < h->counts_len);

	struct hdr *bad = NULL;
	assert_int_equal(hdr_init(0, 1000, 3, &bad), -EINVAL);
	assert_int_equal(hdr_init(1, 1000, 0, &bad), -EINVAL);
	assert_int_equal(hdr_init(1, 1000, 6, &bad), -EINVAL);
	assert_int_equal(hdr_init(10, 19, 3, &bad), -EINVAL);
	assert_null(bad);
	/* The largest range HdrHistogram allows still initialises. */
	assert_int_equal(hdr_init(1, INT64_MAX, 3, &bad), 0);
	assert_true(hdr_record(bad, INT64_MAX));
	assert_int_equal(hdr_max(bad), INT64_MAX);
	assert_int_equal(hdr_value_at_percentile(bad, 100), INT64_MAX);
	hdr_free(bad);
	hdr_free(NULL);
	hdr_free(h);
}

static void test_empty(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_int_equal(h->total, 0);
	assert_int_equal(hdr_value_at_percentile(h, 50), 0);
	assert_int_equal(hdr_value_at_percentile(h, 100), 0);
	assert_int_equal(hdr_min(h), 0);
	assert_int_equal(hdr_max(h), 0);
	assert_true(hdr_mean(h) == 0.0);
	assert_true(hdr_stddev(h) == 0.0);
	/* After a reset it is empty again. */
	assert_true(hdr_record(h, 42));
	hdr_reset(h);
	assert_int_equal(h->total, 0);
	assert_int_equal(hdr_max(h), 0);
	assert_int_equal(h->counts[42], 0);
	hdr_free(h);
}

static void test_lowest_above_one(void **state)
{
	(void)state;
	/* lowest 1000: unit_magnitude 9, so values are kept in units of 512. */
	struct hdr *h = NULL;
	assert_int_equal(hdr_init(1000, HOUR_US, 3, &h), 0);
	assert_int_equal(h->unit_magnitude, 9);
	assert_true(same_bucket(h, 0, 511));
	assert_false(same_bucket(h, 511, 512));
	assert_true(hdr_record(h, 100));
	assert_int_equal(hdr_value_at_percentile(h, 50), 511);
	assert_int_equal(hdr_max(h), 100);
	hdr_free(h);

	/* Bounds from an untrusted log: the range check itself must not
	 * overflow (2 * lowest did, found by fuzz_hlog). */
	assert_int_equal(hdr_init(INT64_C(8815893247549191663), INT64_MAX, 3, &h), -EINVAL);
	assert_null(h);
	assert_int_equal(hdr_init(INT64_MAX, INT64_MAX, 3, &h), -EINVAL);
	assert_int_equal(hdr_init(1000, 1999, 3, &h), -EINVAL);
	assert_int_equal(hdr_init(1000, 2000, 3, &h), 0);
	hdr_free(h);
}

/* Counts and totals never overflow: record_n refuses, merge refuses and
 * leaves dst as it was (issue 15: 5e18 + 5e18 used to wrap). */
static void test_count_overflow(void **state)
{
	(void)state;
	const int64_t half = INT64_C(5000000000000000000);
	struct hdr *a = new_hist(), *b = new_hist();
	assert_true(hdr_record_n(a, 100, half));
	assert_true(hdr_record_n(b, 200, half));
	assert_int_equal(hdr_merge(a, b), -EOVERFLOW);
	assert_int_equal(a->total, half);
	assert_int_equal(a->counts[hdr_counts_index_for(a, 200)], 0);
	assert_int_equal(hdr_max(a), 100);

	/* Recording: the same limit, in one slot or across slots. */
	assert_false(hdr_record_n(a, 100, half));
	assert_false(hdr_record_n(a, 300, INT64_MAX));
	assert_int_equal(a->total, half);
	assert_true(hdr_record_n(a, 300, INT64_MAX - half));
	assert_int_equal(a->total, INT64_MAX);
	assert_false(hdr_record(a, 1));
	assert_int_equal(a->total, INT64_MAX);

	/* A merge that just fits is taken whole. */
	hdr_reset(b);
	assert_true(hdr_record_n(b, 200, INT64_MAX - half));
	hdr_reset(a);
	assert_true(hdr_record_n(a, 100, half));
	assert_int_equal(hdr_merge(a, b), 0);
	assert_int_equal(a->total, INT64_MAX);
	hdr_free(a);
	hdr_free(b);
}

/* -P 100 of a total of 2^63-1: the maximum, not a wrapped rank (the rank
 * was converted from a double of 2^63, which int64_t cannot hold). */
static void test_percentile_huge_total(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_true(hdr_record_n(h, 10, INT64_MAX - 1));
	assert_true(hdr_record(h, 3000000));
	assert_int_equal(h->total, INT64_MAX);
	assert_int_equal(hdr_value_at_percentile(h, 100), hdr_highest_equivalent(h, 3000000));
	assert_int_equal(hdr_value_at_percentile(h, 99.9999), 10);
	assert_int_equal(hdr_value_at_percentile(h, 0), 10);
	hdr_free(h);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_layout),
					   cmocka_unit_test(test_exact_below_2048),
					   cmocka_unit_test(test_equivalence_near_powers_of_two),
					   cmocka_unit_test(test_percentiles_1_to_10000),
					   cmocka_unit_test(test_mean_stddev_exact),
					   cmocka_unit_test(test_merge),
					   cmocka_unit_test(test_edges),
					   cmocka_unit_test(test_empty),
					   cmocka_unit_test(test_lowest_above_one),
					   cmocka_unit_test(test_count_overflow),
					   cmocka_unit_test(test_percentile_huge_total)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
