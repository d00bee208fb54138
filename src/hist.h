/*
 * hist.h - mmhistogram's statistics and text histogram, byte for byte.
 *
 * The exact output is specified in shared/reference/mmhistogram.md: a summary
 * line (min avg med max dev count), a title line, and one row per bucket,
 * log or linear, with right-aligned star bars. `herd hist` and `herd lab`
 * both print through hist_render, so the lab's histograms are the article's.
 */
#ifndef HERD_HIST_H
#define HERD_HIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct hist_options {
	const char *title; /* default "Values" */
	int columns;	   /* width of the star bar, default 50 */
	int base;	   /* log base, or bucket width with linear; default 2 */
	bool linear;	   /* -l */
	bool justval;	   /* -j: one row per distinct value */
	bool percentage;   /* -p: counts as percentages */
};

/* Sets the defaults above. */
void hist_options_init(struct hist_options *o);

/* Writes mmhistogram's output for values[0..n) to out. Reorders values (it
 * sorts or selects in place). Returns 0, -EINVAL when n == 0 or an option is
 * out of range, -ENOMEM. */
int hist_render(FILE *out, double *values, size_t n, const struct hist_options *o);

#endif
