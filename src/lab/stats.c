/*
 * stats.c - the statistics behind the lab's verdicts.
 *
 * Why a two-stage bootstrap: the requests of one run are not independent
 * samples (a burst of another process's work, a stalled worker, the
 * ramp-up of 200 connections all move many neighbouring requests at once),
 * so resampling the pooled requests alone gives intervals that ignore the
 * run-to-run spread, and one unlucky repetition would decide the answer
 * with false confidence. Drawing the repetitions first keeps that spread;
 * drawing the requests inside each drawn repetition keeps the sampling
 * noise of a finite run, which is all there is with one repetition.
 *
 * Deterministic: the generator is seeded by the caller, so the same samples
 * give the same interval on every run.
 */
#include "lab/stats.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

void lab_rng_seed(struct lab_rng *r, uint64_t seed)
{
	r->s = seed;
}

uint64_t lab_rng_next(struct lab_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

size_t lab_rng_below(struct lab_rng *r, size_t n)
{
	/* Multiply-shift: the bias for n far below 2^32 is negligible here
	 * (the figures are percentiles of thousands of draws). */
	return (size_t)(((lab_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static void swap(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* The k-th smallest (0-based) of v[0..n): quickselect with a three-way
 * partition, so runs of equal values (latencies rounded to a microsecond,
 * shares of a handful of workers) do not make it quadratic. */
static double select_kth(double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n; /* [lo, hi) holds the k-th */
	while (hi - lo > 1) {
		/* Median of three as the pivot: deterministic, and no worst case
		 * on sorted input. */
		size_t mid = lo + (hi - lo) / 2;
		double a = v[lo], b = v[mid], c = v[hi - 1];
		double pivot = a < b ? (b < c ? b : a < c ? c : a) : (a < c ? a : b < c ? c : b);
		size_t lt = lo, i = lo, gt = hi;
		while (i < gt) {
			if (v[i] < pivot)
				swap(&v[lt++], &v[i++]);
			else if (v[i] > pivot)
				swap(&v[i], &v[--gt]);
			else
				i++;
		}
		if (k < lt)
			hi = lt;
		else if (k >= gt)
			lo = gt;
		else
			return pivot;
	}
	return v[lo];
}

double lab_percentile(double *v, size_t n, double p)
{
	if (n == 0)
		return NAN;
	double rank = ceil(p / 100 * (double)n);
	size_t k = rank < 1 ? 0 : rank >= (double)n ? n - 1 : (size_t)rank - 1;
	return select_kth(v, n, k);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int lab_bootstrap(lab_figure_fn *fn, void *ctx, size_t nrep, unsigned draws, double confidence, uint64_t seed,
		  double *est, double *lo, double *hi)
{
	*est = *lo = *hi = NAN;
	if (nrep == 0)
		return -EINVAL;
	size_t *pick = malloc(nrep * sizeof *pick);
	double *got = malloc((draws ? draws : 1) * sizeof *got);
	if (!pick || !got) {
		free(pick);
		free(got);
		return -ENOMEM;
	}
	for (size_t k = 0; k < nrep; k++)
		pick[k] = k;
	*est = fn(ctx, pick, nrep, NULL);
	if (isnan(*est)) {
		free(pick);
		free(got);
		return -EINVAL;
	}
	struct lab_rng rng;
	lab_rng_seed(&rng, seed);
	size_t n = 0;
	for (unsigned d = 0; d < draws; d++) {
		for (size_t k = 0; k < nrep; k++)
			pick[k] = lab_rng_below(&rng, nrep);
		double v = fn(ctx, pick, nrep, &rng);
		if (!isnan(v))
			got[n++] = v;
	}
	if (n > 0) {
		/* The percentile interval: the draws' (1-c)/2 and (1+c)/2
		 * quantiles, by nearest rank. */
		qsort(got, n, sizeof *got, cmp_double);
		double a = (1 - confidence) / 2 * (double)n;
		size_t ilo = (size_t)floor(a), ihi = (size_t)ceil((double)n - a) - 1;
		*lo = got[ilo < n ? ilo : n - 1];
		*hi = got[ihi < n ? ihi : n - 1];
		/* The interval holds the figure itself: a draw set that never
		 * reaches it (one repetition of identical values) is no reason to
		 * call the figure outside its own interval. */
		*lo = fmin(*lo, *est);
		*hi = fmax(*hi, *est);
	} else {
		*lo = *hi = *est;
	}
	free(pick);
	free(got);
	return 0;
}
