/* test_stats.c - the statistics behind the lab's verdicts: the seeded
 * generator repeats itself, nearest-rank percentiles as HdrHistogram
 * reports them (runs of equal values included), and the two-stage
 * bootstrap: deterministic, an interval that holds the figure, narrower
 * with more repetitions, wider when the repetitions disagree. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "lab/stats.h"

static void test_rng(void **state)
{
	(void)state;
	struct lab_rng a, b;
	lab_rng_seed(&a, 42);
	lab_rng_seed(&b, 42);
	for (int i = 0; i < 100; i++)
		assert_true(lab_rng_next(&a) == lab_rng_next(&b));
	lab_rng_seed(&b, 43);
	assert_true(lab_rng_next(&a) != lab_rng_next(&b));
	/* Below n, and every value of a small range drawn. */
	int seen[5] = {0};
	for (int i = 0; i < 1000; i++) {
		size_t v = lab_rng_below(&a, 5);
		assert_true(v < 5);
		seen[v]++;
	}
	for (int i = 0; i < 5; i++)
		assert_true(seen[i] > 100);
}

static void test_percentile(void **state)
{
	(void)state;
	double v[10] = {10, 9, 8, 7, 6, 5, 4, 3, 2, 1};
	/* Nearest rank: the ceil(p/100 n)-th smallest. */
	assert_true(lab_percentile(v, 10, 50) == 5);
	assert_true(lab_percentile(v, 10, 99) == 10);
	assert_true(lab_percentile(v, 10, 90) == 9);
	assert_true(lab_percentile(v, 10, 91) == 10);
	assert_true(lab_percentile(v, 10, 0) == 1);
	assert_true(lab_percentile(v, 10, 100) == 10);
	assert_true(isnan(lab_percentile(v, 0, 50)));
	/* Many equal values (a three-way partition keeps this linear). */
	static double same[20000];
	for (size_t i = 0; i < 20000; i++)
		same[i] = i % 1000 == 0 ? 7 : 3;
	assert_true(lab_percentile(same, 20000, 99) == 3);
	assert_true(lab_percentile(same, 20000, 99.95) == 7);
}

/* The mean of each repetition's values, averaged over the picked ones; the
 * values drawn with replacement when rng is set. */
struct mean_ctx {
	const double *v[8];
	size_t n[8];
};

static double mean_fn(void *ctx, const size_t *pick, size_t n, struct lab_rng *rng)
{
	struct mean_ctx *c = ctx;
	double s = 0;
	size_t m = 0;
	for (size_t k = 0; k < n; k++) {
		size_t r = pick[k];
		for (size_t i = 0; i < c->n[r]; i++, m++)
			s += rng ? c->v[r][lab_rng_below(rng, c->n[r])] : c->v[r][i];
	}
	return m ? s / (double)m : NAN;
}

static double undefined_fn(void *ctx, const size_t *pick, size_t n, struct lab_rng *rng)
{
	(void)ctx;
	(void)pick;
	(void)n;
	(void)rng;
	return NAN;
}

static void test_bootstrap(void **state)
{
	(void)state;
	static double a[200], b[200], c[200];
	for (int i = 0; i < 200; i++) {
		a[i] = 10 + (i % 10);	    /* mean 14.5 */
		b[i] = 10.2 + (i % 10);	    /* 14.7 */
		c[i] = 10.1 + (i % 10) * 2; /* 19.1: a repetition that disagrees */
	}
	struct mean_ctx ctx = {.v = {a, b}, .n = {200, 200}};
	double est, lo, hi, lo2, hi2, e2;
	assert_int_equal(lab_bootstrap(mean_fn, &ctx, 2, 1000, 0.9, 7, &est, &lo, &hi), 0);
	assert_true(fabs(est - 14.6) < 1e-9);
	assert_true(lo <= est && est <= hi);
	assert_true(hi - lo < 1.5);
	/* The same samples and seed: the same interval, to the bit. */
	assert_int_equal(lab_bootstrap(mean_fn, &ctx, 2, 1000, 0.9, 7, &e2, &lo2, &hi2), 0);
	assert_true(e2 == est && lo2 == lo && hi2 == hi);
	/* A repetition that disagrees widens it: the spread between runs
	 * counts, not only the requests within them. */
	struct mean_ctx wide = {.v = {a, b, c}, .n = {200, 200, 200}};
	assert_int_equal(lab_bootstrap(mean_fn, &wide, 3, 1000, 0.9, 7, &est, &lo2, &hi2), 0);
	assert_true(hi2 - lo2 > 2 * (hi - lo));
	assert_true(lo2 <= est && est <= hi2);
	/* More agreeing repetitions narrow it. */
	struct mean_ctx more = {.v = {a, b, a, b, a, b, a, b}, .n = {200, 200, 200, 200, 200, 200, 200, 200}};
	assert_int_equal(lab_bootstrap(mean_fn, &more, 8, 1000, 0.9, 7, &est, &lo2, &hi2), 0);
	assert_true(hi2 - lo2 < hi - lo);
	/* No repetition, or no figure: an error, NAN. */
	assert_int_equal(lab_bootstrap(mean_fn, &ctx, 0, 1000, 0.9, 7, &est, &lo, &hi), -EINVAL);
	assert_int_equal(lab_bootstrap(undefined_fn, &ctx, 2, 1000, 0.9, 7, &est, &lo, &hi), -EINVAL);
	assert_true(isnan(est) && isnan(lo) && isnan(hi));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rng),
		cmocka_unit_test(test_percentile),
		cmocka_unit_test(test_bootstrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
