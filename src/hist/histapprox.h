/*
 * histapprox.h - herd hist --approx: constant memory whatever the input's
 * size. Each value is recorded as round(value * HISTAPPROX_SCALE) in an HDR
 * histogram (3 significant digits) and counted in mmhistogram's rows; count,
 * min, max, avg and the rows stay exact, dev is computed online (Welford),
 * med and percentiles are the midpoints of the buckets holding their rank.
 * Nothing here prints.
 */
#ifndef HERD_HISTAPPROX_H
#define HERD_HISTAPPROX_H

#include <stddef.h>
#include <stdint.h>

#include "hist/hist.h"
#include "lib/hdr.h"

/* Values are recorded as value * HISTAPPROX_SCALE, 0 up to HISTAPPROX_HIGHEST (4.6e15 as values). */
#define HISTAPPROX_SCALE 1000.0
#define HISTAPPROX_HIGHEST (INT64_C(1) << 62)

struct histapprox {
	struct hdr *h;
	struct hist_rows *rows;
	size_t count;
	double sum, min, max, mean, m2;
};

/* Zeroes a and allocates its histogram and rows for o: 0, -EINVAL (a bad option, or -j), -ENOMEM. */
int histapprox_init(struct histapprox *a, const struct hist_options *o);

/* Counts x: 0, -ERANGE (x * SCALE not in 0..HIGHEST; nothing counted), or hist_rows_add's -EINVAL, -E2BIG, -ENOMEM. */
int histapprox_add(struct histapprox *a, double x);

/* Fills s (pvalues = pv, o->npercentiles entries) from a, which holds at least one value; cannot fail. */
void histapprox_summary(const struct histapprox *a, const struct hist_options *o, struct hist_summary *s, double *pv);

/* Frees what histapprox_init allocated (a zeroed a is fine). */
void histapprox_free(struct histapprox *a);

#endif
