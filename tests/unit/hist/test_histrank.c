/*
 * test_histrank.c - herd hist's figures below the command line: -P's list,
 * nearest rank at its edges (exact multiples of 100/n, 0 and 100, one
 * value, n near INT64_MAX), the value at a rank of an HDR histogram, the
 * --approx accumulator (range, exact count/min/max/avg, Welford's dev,
 * midpoint percentiles, nothing counted for a refused value) and --merge
 * (logs added up, the summary of the sum, which file and line a fault is at).
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hist/histapprox.h"
#include "hist/histmerge.h"
#include "hist/histrank.h"
#include "lib/hlog.h"

static void test_parse_list(void **state)
{
	(void)state;
	double v[64];
	size_t n = 99;
	assert_int_equal(histrank_parse_list("50,90,99.9", v, 64, &n), 0);
	assert_int_equal(n, 3);
	assert_true(v[0] == 50 && v[1] == 90 && v[2] == 99.9);
	assert_int_equal(histrank_parse_list("0,100", v, 64, &n), 0);
	assert_int_equal(n, 2);
	assert_true(v[0] == 0 && v[1] == 100);

	static const char *const bad[] = {"", ",", "50,", ",50", "50,,90", "101", "-1", "x", "50 ", "nan", "1e3"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(histrank_parse_list(bad[i], v, 64, &n), -EINVAL);

	/* At most max items: max is fine, one more is not. */
	char list[64 * 3 + 8] = "";
	for (int i = 1; i <= 64; i++)
		snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s%d", i > 1 ? "," : "", i);
	assert_int_equal(histrank_parse_list(list, v, 64, &n), 0);
	assert_int_equal(n, 64);
	assert_true(v[63] == 64);
	assert_int_equal(histrank_parse_list(list, v, 63, &n), -EINVAL);

	/* An item of 63 bytes is read, one of 64 is refused. */
	char item[80];
	memset(item, '0', sizeof(item));
	item[62] = '5';
	item[63] = '\0';
	assert_int_equal(histrank_parse_list(item, v, 64, &n), 0);
	assert_true(v[0] == 5 && n == 1);
	item[63] = '5';
	item[64] = '\0';
	assert_int_equal(histrank_parse_list(item, v, 64, &n), -EINVAL);
}

static void test_rank_for(void **state)
{
	(void)state;
	/* Ten values: p10 is the 1st, p50 the 5th, p90 the 9th: exact
	 * multiples of 100/n must not round up to the next rank. */
	assert_int_equal(histrank_for(10, 10), 1);
	assert_int_equal(histrank_for(50, 10), 5);
	assert_int_equal(histrank_for(90, 10), 9);
	assert_int_equal(histrank_for(10.0001, 10), 2);
	assert_int_equal(histrank_for(90.0001, 10), 10);
	assert_int_equal(histrank_for(99, 10), 10);
	assert_int_equal(histrank_for(100, 10), 10);
	assert_int_equal(histrank_for(0, 10), 1);
	/* 100/n not exact in binary: p = 100 * k / n for every k. */
	for (int64_t n = 1; n <= 1000; n++)
		for (int64_t k = 1; k <= n; k += (n / 50) + 1)
			assert_int_equal(histrank_for(100.0 * (double)k / (double)n, n), k);
	assert_int_equal(histrank_for(50, 3), 2);
	assert_int_equal(histrank_for(0, 1), 1);
	assert_int_equal(histrank_for(100, 1), 1);
	/* (double)INT64_MAX rounds up to 2^63: the rank stays below n, and
	 * converting it back is defined (UBSan would stop here otherwise). */
	int64_t top = histrank_for(100, INT64_MAX);
	assert_true(top <= INT64_MAX && top > INT64_MAX - 4096);
	assert_true(histrank_for(0, INT64_MAX) == 1);
}

static void test_hdr_value(void **state)
{
	(void)state;
	struct hdr *h;
	assert_int_equal(hdr_init(1, INT64_C(1) << 40, 3, &h), 0);
	/* Small values are exact at 3 digits: the value at rank k is k. */
	for (int64_t v = 1; v <= 10; v++)
		assert_true(hdr_record(h, v));
	for (int64_t k = 1; k <= 10; k++) {
		assert_int_equal(histrank_hdr_value(h, k, true), k);
		assert_int_equal(histrank_hdr_value(h, k, false), k);
	}
	/* Past the total: the max. */
	assert_int_equal(histrank_hdr_value(h, 11, false), 10);
	/* A large value's bucket: the midpoint is inside it, below the highest
	 * equivalent value, and both are equivalent to the value. */
	assert_true(hdr_record(h, 1000000));
	int64_t mid = histrank_hdr_value(h, 11, true), top = histrank_hdr_value(h, 11, false);
	assert_true(mid < top);
	assert_int_equal(top, hdr_highest_equivalent(h, 1000000));
	assert_int_equal(mid, hdr_median_equivalent(h, 1000000));
	assert_true(hdr_lowest_equivalent(h, mid) == hdr_lowest_equivalent(h, 1000000));
	hdr_free(h);
}

static void test_approx(void **state)
{
	(void)state;
	struct hist_options o;
	hist_options_init(&o);
	struct histapprox a;
	assert_int_equal(histapprox_init(&a, &o), 0);
	/* Out of range: refused, nothing counted. */
	assert_int_equal(histapprox_add(&a, -0.001), -ERANGE);
	assert_int_equal(histapprox_add(&a, 5e15), -ERANGE);
	assert_int_equal(a.count, 0);
	/* Rounding to a thousandth: -0.0004 is 0, so it counts. */
	assert_int_equal(histapprox_add(&a, -0.0004), 0);
	for (int v = 1; v <= 9; v++)
		assert_int_equal(histapprox_add(&a, v), 0);
	assert_int_equal(a.count, 10);
	double pct[] = {0, 50, 90, 100};
	o.percentiles = pct;
	o.npercentiles = 4;
	double pv[4];
	struct hist_summary s;
	histapprox_summary(&a, &o, &s, pv);
	assert_int_equal(s.count, 10);
	assert_true(s.min == -0.0004 && s.max == 9);
	assert_true(fabs(s.avg - (45 - 0.0004) / 10) < 1e-12);
	/* Welford's dev equals the two-pass population deviation. */
	double mean = s.avg, ss = (-0.0004 - mean) * (-0.0004 - mean);
	for (int v = 1; v <= 9; v++)
		ss += (v - mean) * (v - mean);
	assert_true(fabs(s.dev - sqrt(ss / 10)) < 1e-9);
	/* Bucket midpoints, within 0.1%: med is rank 10 - 5 = 5 (the value 4),
	 * p50 the 5th too, p90 the 9th (8); p0 the bucket of 0 (where -0.0004
	 * went), p100 the 9's midpoint (9.004) capped at the exact max. */
	assert_true(fabs(s.med - 4) <= 4e-3);
	assert_true(pv[0] == 0);
	assert_true(fabs(pv[1] - 4) <= 4e-3);
	assert_true(fabs(pv[2] - 8) <= 8e-3);
	assert_true(pv[3] == 9);
	histapprox_free(&a);

	/* Midpoints, clamped to the exact min and max. */
	o.npercentiles = 0;
	assert_int_equal(histapprox_init(&a, &o), 0);
	assert_int_equal(histapprox_add(&a, 123456.789), 0);
	histapprox_summary(&a, &o, &s, pv);
	assert_true(s.med == 123456.789);
	assert_int_equal(histapprox_add(&a, 123456.7), 0);
	assert_int_equal(histapprox_add(&a, 123456.8), 0);
	histapprox_summary(&a, &o, &s, pv);
	assert_true(s.med >= 123456.7 && s.med <= 123456.8);
	assert_true(fabs(s.med - 123456.75) / 123456.75 < 1e-3);
	histapprox_free(&a);

	/* Too many linear rows: -E2BIG, nothing counted. */
	o.linear = true;
	o.base = 1;
	assert_int_equal(histapprox_init(&a, &o), 0);
	assert_int_equal(histapprox_add(&a, 5), 0);
	assert_int_equal(histapprox_add(&a, 2e6), -E2BIG);
	assert_int_equal(a.count, 1);
	assert_true(a.max == 5);
	histapprox_free(&a);

	/* -j has no rows to keep. */
	hist_options_init(&o);
	o.justval = true;
	assert_int_equal(histapprox_init(&a, &o), -EINVAL);
	histapprox_free(&a);
}

/* Writes a log of one interval holding count copies of each values[i]
 * (then the line `extra`, when not NULL) to a temporary file; returns its path. */
static char *write_log(const int64_t *values, const int64_t *counts, size_t n, const char *extra)
{
	static int seq;
	char *path;
	assert_true(asprintf(&path, "/tmp/test_histrank.%d.%d.hlog", (int)getpid(), seq++) > 0);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	struct hdr *h;
	assert_int_equal(hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, &h), 0);
	for (size_t i = 0; i < n; i++)
		assert_true(hdr_record_n(h, values[i], counts[i]));
	assert_int_equal(hlog_write_header(f, 1700000000), 0);
	assert_int_equal(hlog_write_interval(f, 0, 1, h, 1e3), 0);
	if (extra)
		fprintf(f, "%s\n", extra);
	assert_int_equal(fclose(f), 0);
	hdr_free(h);
	return path;
}

static void test_merge(void **state)
{
	(void)state;
	/* 10 x 1 ms and 30 x 2 ms in two logs (microseconds). */
	int64_t v1[] = {1000}, c1[] = {10}, v2[] = {2000}, c2[] = {30};
	char *a = write_log(v1, c1, 1, NULL), *b = write_log(v2, c2, 1, NULL);
	char *files[] = {a, b};
	struct hdr *total = NULL;
	long intervals = 0;
	struct histmerge_fault fault;
	assert_int_equal(histmerge_logs(files, 2, &total, &intervals, &fault), 0);
	assert_int_equal(intervals, 2);
	assert_non_null(total);
	assert_int_equal(total->total, 40);

	struct hist_options o;
	hist_options_init(&o);
	double pct[] = {25, 50, 100}, pv[3];
	o.percentiles = pct;
	o.npercentiles = 3;
	struct hist_rows *rows = NULL;
	struct hist_summary s;
	assert_int_equal(histmerge_summary(total, &o, 1000, &rows, &s, pv), 0);
	assert_int_equal(s.count, 40);
	assert_true(s.min == 1 && s.max == 2);
	assert_true(fabs(s.avg - 1.75) < 1e-9);
	assert_true(fabs(s.dev - sqrt(0.1875)) < 1e-9); /* (10 * 0.75^2 + 30 * 0.25^2) / 40 */
	/* med: rank 40 - 20 = 20, a 2 ms value; p25: the 10th, 1 ms. */
	assert_true(s.med == 2);
	assert_true(pv[0] == 1 && pv[1] == 2 && pv[2] == 2);
	/* The rows hold the 40 values: 10 in row 1, 30 in row 2. */
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	o.npercentiles = 0;
	assert_int_equal(hist_print(f, &s, rows, &o), 0);
	fclose(f);
	assert_string_equal(buf, "Values min:1.00 avg:1.75 med=2.00 max:2.00 dev:0.43 count:40\n"
				 "Values:\n"
				 " value |-------------------------------------------------- count\n"
				 "     0 |                                  **************** 10\n"
				 "     1 |************************************************** 30\n");
	free(buf);
	hist_rows_free(rows);

	/* The same logs with another divisor: values shown / divisor. */
	rows = NULL;
	assert_int_equal(histmerge_summary(total, &o, 1, &rows, &s, pv), 0);
	assert_true(s.min == 1000 && s.max == 2000 && s.med == 2000);
	hist_rows_free(rows);

	/* Too many linear rows for the values. */
	o.linear = true;
	o.base = 1;
	rows = NULL;
	assert_int_equal(histmerge_summary(total, &o, 1e-3, &rows, &s, pv), -E2BIG);
	hist_rows_free(rows);
	hdr_free(total);

	/* Faults: which file, which line, and whether it could be opened. */
	char *bad = write_log(v1, c1, 1, "not,an,interval");
	char *missing = "/nonexistent/test_histrank.hlog";
	char *files2[] = {a, bad};
	total = NULL;
	intervals = 0;
	assert_int_equal(histmerge_logs(files2, 2, &total, &intervals, &fault), -EINVAL);
	assert_int_equal(fault.file, 1);
	assert_int_equal(fault.line, 6); /* 4 header lines, the interval, the bad line */
	assert_false(fault.opening);
	assert_int_equal(intervals, 2);
	hdr_free(total);

	char *files3[] = {a, missing, b};
	total = NULL;
	intervals = 0;
	assert_int_equal(histmerge_logs(files3, 3, &total, &intervals, &fault), -ENOENT);
	assert_int_equal(fault.file, 1);
	assert_true(fault.opening);
	assert_int_equal(intervals, 1);
	hdr_free(total);

	unlink(a);
	unlink(b);
	unlink(bad);
	free(a);
	free(b);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_list), cmocka_unit_test(test_rank_for), cmocka_unit_test(test_hdr_value),
		cmocka_unit_test(test_approx),	   cmocka_unit_test(test_merge),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
