/*
 * histrank.h - nearest rank, as herd hist's -P and med define it: the
 * smallest value with at least p% of the values at or below it
 * (HdrHistogram's definition), over an HDR histogram of integers, and the
 * parser of -P's comma-separated list. Nothing here prints or allocates.
 */
#ifndef HERD_HISTRANK_H
#define HERD_HISTRANK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/hdr.h"

/* "50,90,99.9" into out[0..*n): 0, or -EINVAL (an item empty, 64+ bytes, not a number in 0..100; over max items). */
int histrank_parse_list(const char *arg, double *out, size_t max, size_t *n);

/* The 1-based nearest rank of percentile p (0..100) among n >= 1 values: 1..n; cannot fail. */
int64_t histrank_for(double p, int64_t n);

/* Value at 1-based rank k of h: bucket midpoint (mid) or highest equivalent; hdr_max() past the total. Cannot fail. */
int64_t histrank_hdr_value(const struct hdr *h, int64_t k, bool mid);

#endif
