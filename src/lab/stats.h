/*
 * stats.h - the statistics behind the lab's verdicts (stats.c): a seeded
 * pseudo-random generator, nearest-rank percentiles, and a two-stage
 * bootstrap (repetitions drawn with replacement, then the requests or
 * connections inside each drawn repetition) that gives a figure its
 * interval. Deterministic: the same samples and seed give the same
 * interval on every run. Internal to src/lab/ (and its unit tests).
 */
#ifndef HERD_LAB_STATS_H
#define HERD_LAB_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* splitmix64: small, fast, and the same sequence on every platform. */
struct lab_rng {
	uint64_t s;
};
void lab_rng_seed(struct lab_rng *r, uint64_t seed);
uint64_t lab_rng_next(struct lab_rng *r);
/* Uniform in [0, n), n > 0. */
size_t lab_rng_below(struct lab_rng *r, size_t n);

/* The nearest-rank percentile of v[0..n) (v is reordered): the
 * ceil(p/100 * n)-th smallest value, as HdrHistogram reports it (p 0: the
 * smallest). NAN when n is 0. Linear time (quickselect). */
double lab_percentile(double *v, size_t n, double p);

/*
 * A figure computed from repetitions. fn is called with the repetitions
 * to use, pick[0..n) (indices into the caller's repetitions; a repetition
 * may appear more than once), and rng: NULL for the figure itself (the
 * repetitions as measured), else the generator to resample inside each
 * picked repetition with (its requests or connections, with replacement).
 * It returns the figure, or NAN when it is not defined for that draw.
 */
typedef double lab_figure_fn(void *ctx, const size_t *pick, size_t n, struct lab_rng *rng);

/* Bootstrap draws per interval and the interval's coverage. */
#define LAB_BOOT_DRAWS 1000
#define LAB_CONFIDENCE 0.90

/*
 * The figure over all nrep repetitions (*est) and its bootstrap percentile
 * interval [*lo, *hi] at `confidence` from `draws` draws, each drawing nrep
 * repetitions with replacement and resampling inside each. Draws where the
 * figure is not defined are left out. Returns 0, -EINVAL when nrep is 0 or
 * the figure is undefined (*est NAN), -ENOMEM.
 */
int lab_bootstrap(lab_figure_fn *fn, void *ctx, size_t nrep, unsigned draws, double confidence, uint64_t seed,
		  double *est, double *lo, double *hi);

#endif
