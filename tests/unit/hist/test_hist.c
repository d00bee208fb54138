/*
 * test_hist.c - the mmhistogram renderer as a library: outputs worked out by
 * hand from mmhistogram's definition (docs/hist.md), option and input
 * errors, the streaming rows API, and agreement of the sorted and selection paths.
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

#include <cmocka.h>

#include "hist/hist.h"

/* Renders into a string (caller frees); *rc gets hist_render's result. */
static char *render(double *v, size_t n, const struct hist_options *o, int *rc)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_non_null(f);
	*rc = hist_render(f, v, n, o);
	fclose(f);
	return buf;
}

static void test_even_count(void **state)
{
	(void)state;
	struct hist_options o;
	hist_options_init(&o);
	o.columns = 10;
	double v[] = {4, 1, 3, 2};
	int rc;
	char *out = render(v, 4, &o, &rc);
	assert_int_equal(rc, 0);
	/* med: index 2 of 4 3 2 1 is 2; dev: sqrt(5/4) = 1.118. */
	assert_string_equal(out, "Values min:1.00 avg:2.50 med=2.00 max:4.00 dev:1.12 count:4\n"
				 "Values:\n"
				 " value |---------- count\n"
				 "     0 |     ***** 1\n"
				 "     1 |     ***** 1\n"
				 "     2 |********** 2\n");
	free(out);
}

static void test_percentile_line(void **state)
{
	(void)state;
	struct hist_options o;
	hist_options_init(&o);
	o.title = "T";
	o.columns = 4;
	o.linear = true;
	o.base = 10;
	double p[] = {0, 50, 90, 100};
	o.percentiles = p;
	o.npercentiles = 4;
	double v[10];
	for (int i = 0; i < 10; i++)
		v[i] = 10 - i; /* 10 9 ... 1 */
	int rc;
	char *out = render(v, 10, &o, &rc);
	assert_int_equal(rc, 0);
	/* Nearest rank: p50 -> 5th value, p90 -> 9th. Linear width 10: all in row 0. */
	assert_string_equal(out, "T min:1.00 avg:5.50 med=5.00 max:10.00 dev:2.87 count:10\n"
				 "T p0:1.00 p50:5.00 p90:9.00 p100:10.00\n"
				 "T:\n"
				 " value |---- count\n"
				 "     0 |**** 10\n");
	free(out);
}

static void test_errors(void **state)
{
	(void)state;
	struct hist_options o;
	hist_options_init(&o);
	double v[] = {1, 2};
	int rc;
	char *out = render(v, 0, &o, &rc);
	assert_int_equal(rc, -EINVAL);
	assert_string_equal(out, "");
	free(out);

	double bad[] = {1, NAN};
	free(render(bad, 2, &o, &rc));
	assert_int_equal(rc, -EINVAL);
	double inf[] = {INFINITY};
	free(render(inf, 1, &o, &rc));
	assert_int_equal(rc, -EINVAL);

	o.base = 1;
	free(render(v, 2, &o, &rc));
	assert_int_equal(rc, -EINVAL); /* log base 1 never ends */
	o.linear = true;
	free(render(v, 2, &o, &rc));
	assert_int_equal(rc, 0); /* but is a fine bucket width */
	double far[] = {1e300};
	free(render(far, 1, &o, &rc));
	assert_int_equal(rc, -E2BIG);

	hist_options_init(&o);
	o.columns = -1;
	free(render(v, 2, &o, &rc));
	assert_int_equal(rc, -EINVAL);
	hist_options_init(&o);
	double p[] = {101};
	o.percentiles = p;
	o.npercentiles = 1;
	free(render(v, 2, &o, &rc));
	assert_int_equal(rc, -EINVAL);

	struct hist_rows *r = NULL;
	hist_options_init(&o);
	o.justval = true;
	assert_int_equal(hist_rows_new(&o, &r), -EINVAL);
	assert_null(r);
}

/* The rows API gives the same rows as hist_render for the same values. */
static void test_rows_api(void **state)
{
	(void)state;
	struct hist_options o;
	hist_options_init(&o);
	o.base = 10;
	struct hist_rows *r = NULL;
	assert_int_equal(hist_rows_new(&o, &r), 0);
	assert_int_equal(hist_rows_add(r, 0.5, 1), 0);
	assert_int_equal(hist_rows_add(r, 10, 2), 0);	/* on the bound: row "1" */
	assert_int_equal(hist_rows_add(r, 10.5, 1), 0); /* row "10" */
	assert_int_equal(hist_rows_add(r, NAN, 1), -EINVAL);
	struct hist_summary s = {.count = 4, .min = 0.5, .avg = 7.75, .med = 10, .max = 10.5, .dev = 4.02};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	assert_int_equal(hist_print(f, &s, r, &o), 0);
	fclose(f);
	assert_string_equal(buf, "Values min:0.50 avg:7.75 med=10.00 max:10.50 dev:4.02 count:4\n"
				 "Values:\n"
				 " value |-------------------------------------------------- count\n"
				 "     0 |                         ************************* 1\n"
				 "     1 |************************************************** 2\n"
				 "    10 |                         ************************* 1\n");
	free(buf);
	hist_rows_free(r);

	double v[] = {10.5, 10, 0.5, 10};
	int rc;
	char *out = render(v, 4, &o, &rc);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "     1 |************************************************** 2\n"));
	free(out);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* Above 2^20 values the median and percentiles come from selection: they
 * must equal the sorted answers. */
static void test_selection_matches_sorting(void **state)
{
	(void)state;
	size_t n = (1u << 20) + 3;
	double *big = malloc(n * sizeof(*big)), *copy = malloc(n * sizeof(*copy));
	assert_non_null(big);
	assert_non_null(copy);
	uint64_t x = 88172645463325252u; /* xorshift: many duplicates, no order */
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		big[i] = (double)(x % 100000) / 8;
	}
	memcpy(copy, big, n * sizeof(*copy));
	qsort(copy, n, sizeof(*copy), cmp_double);

	struct hist_options o;
	hist_options_init(&o);
	double p[] = {50, 99.9, 100};
	o.percentiles = p;
	o.npercentiles = 3;
	int rc;
	char *out = render(big, n, &o, &rc);
	assert_int_equal(rc, 0);
	char want[160];
	snprintf(want, sizeof(want), "min:%.2f avg:", copy[0]);
	assert_non_null(strstr(out, want));
	snprintf(want, sizeof(want), "med=%.2f max:%.2f ", copy[n - 1 - n / 2], copy[n - 1]);
	assert_non_null(strstr(out, want));
	/* Nearest ranks: ceil(0.5 n) and ceil(0.999 n). */
	size_t r50 = (n + 1) / 2, r999 = (size_t)ceil(0.999 * (double)n);
	snprintf(want, sizeof(want), "\nValues p50:%.2f p99.9:%.2f p100:%.2f\n", copy[r50 - 1], copy[r999 - 1],
		 copy[n - 1]);
	assert_non_null(strstr(out, want));
	free(out);
	free(copy);
	free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_even_count), cmocka_unit_test(test_percentile_line),
					   cmocka_unit_test(test_errors), cmocka_unit_test(test_rows_api),
					   cmocka_unit_test(test_selection_matches_sorting)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
