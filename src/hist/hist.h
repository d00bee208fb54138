/*
 * hist.h - mmhistogram's statistics and text histogram, byte for byte.
 *
 * The exact output is mmhistogram's (docs/hist.md describes it): a summary
 * line (min avg med max dev count), a title line, and one row per bucket,
 * log or linear, with right-aligned star bars. `herd hist` and `herd lab`
 * both print through hist_render, so the lab's histograms are the article's.
 */
#ifndef HERD_HIST_H
#define HERD_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct hist_options {
	const char *title; /* default "Values" */
	int columns;	   /* width of the star bar, default 50 */
	int base;	   /* log base, or bucket width with linear; default 2 */
	bool linear;	   /* -l */
	bool justval;	   /* -j: one row per distinct value */
	bool percentage;   /* -p: counts as percentages */
	/* herd's addition (-P): when npercentiles > 0, one line
	 * "TITLE p50:%.2f p99.9:%.2f ..." follows the summary line. Nearest-rank
	 * definition: the smallest input value with at least p% of the values at
	 * or below it. */
	const double *percentiles;
	size_t npercentiles;
};

/* Sets the defaults above. */
void hist_options_init(struct hist_options *o);

/* Writes mmhistogram's output for values[0..n) to out. Reorders values (it
 * sorts or selects in place). Returns 0, -EINVAL when n == 0 or an option is
 * out of range or a value is not finite, -E2BIG (see HIST_MAX_ROWS), -ENOMEM. */
int hist_render(FILE *out, double *values, size_t n, const struct hist_options *o);

/*
 * The same output from counts kept as the values stream by, for inputs too
 * large to keep (herd hist --approx) and for histograms rebuilt from
 * HdrHistogram logs (herd hist --merge). Rows are exact for the values
 * added; the caller supplies the summary statistics. Not for -j (its rows
 * are the distinct values): hist_rows_new returns -EINVAL then.
 */
struct hist_rows;
struct hist_summary {
	size_t count;
	double min, avg, med, max, dev;
	const double *pvalues; /* values at o->percentiles[], when npercentiles > 0 */
};
/* Returns 0, -EINVAL (bad option), -ENOMEM. */
int hist_rows_new(const struct hist_options *o, struct hist_rows **out);
/* Counts `count` copies of v (finite). Returns 0, -EINVAL for a non-finite
 * value, -E2BIG when linear buckets would exceed HIST_MAX_ROWS, -ENOMEM. */
int hist_rows_add(struct hist_rows *r, double v, uint64_t count);
void hist_rows_free(struct hist_rows *r);
/* Writes the summary line, the -P line, the title and the rows. */
int hist_print(FILE *out, const struct hist_summary *s, const struct hist_rows *r, const struct hist_options *o);

/* Linear mode (-l) refuses inputs that need more rows than this. */
#define HIST_MAX_ROWS 1000000

#endif
