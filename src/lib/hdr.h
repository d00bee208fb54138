/*
 * hdr.h - a log-linear histogram of integer values (HdrHistogram's layout).
 *
 * Values from `lowest` (>= 1) to `highest` are kept to `sigfigs` significant
 * decimal digits (1..5; herd uses 3). Recording is O(1) and never allocates;
 * two histograms with the same parameters merge exactly. The bucket layout
 * (unit magnitude, sub-bucket count, counts index) is HdrHistogram's, so the
 * counts array can be written to and read from HdrHistogram's log format
 * (hlog.h). herd records latencies in microseconds.
 */
#ifndef HERD_HDR_H
#define HERD_HDR_H

#include <stdbool.h>
#include <stdint.h>

/* The latency range shared by bench, lab and the report (and what hist's
 * --approx and hlog files from herd bench use): 1 us to one hour, 3 digits. */
#define HDR_LATENCY_LOWEST_US 1
#define HDR_LATENCY_HIGHEST_US (3600LL * 1000000)
#define HDR_LATENCY_SIGFIGS 3

struct hdr {
	int64_t lowest;		/* lowest discernible value, >= 1 */
	int64_t highest;	/* highest trackable value */
	int32_t sigfigs;	/* significant decimal digits kept */
	int32_t unit_magnitude; /* floor(log2(lowest)) */
	int32_t sub_bucket_half_count_magnitude;
	int32_t sub_bucket_count;
	int32_t sub_bucket_half_count;
	int64_t sub_bucket_mask;
	int32_t bucket_count;
	int32_t counts_len; /* number of elements in counts[] */
	int64_t total;	    /* values recorded (not counting out-of-range ones) */
	int64_t min;	    /* smallest value recorded; INT64_MAX when empty */
	int64_t max;	    /* largest value recorded; 0 when empty */
	int64_t *counts;
};

/* Allocates an empty histogram. Returns 0, -EINVAL for bad bounds or sigfigs, -ENOMEM. */
int hdr_init(int64_t lowest, int64_t highest, int sigfigs, struct hdr **out);
/* Frees a histogram from hdr_init (NULL is fine). */
void hdr_free(struct hdr *h);
/* Empties a histogram, keeping its parameters. */
void hdr_reset(struct hdr *h);

/* Records one value (count times). Returns false, recording nothing, when
 * the value is negative or above h->highest, count is negative, or the
 * total would exceed INT64_MAX (counts never overflow). */
bool hdr_record(struct hdr *h, int64_t value);
bool hdr_record_n(struct hdr *h, int64_t value, int64_t count);

/* Adds every count of src into dst. Returns the number of src values that
 * dst cannot hold (above its highest; 0 when the parameters match), or
 * -EOVERFLOW, leaving dst unchanged, when dst's total would exceed INT64_MAX. */
int64_t hdr_merge(struct hdr *dst, const struct hdr *src);

/* The value at percentile p (0..100): the highest value equivalent to the
 * smallest recorded value with at least p% of the values at or below it, as
 * HdrHistogram reports it. 0 when empty. hdr_max() is exact. */
int64_t hdr_value_at_percentile(const struct hdr *h, double p);
int64_t hdr_min(const struct hdr *h);	/* 0 when empty */
int64_t hdr_max(const struct hdr *h);	/* 0 when empty */
double hdr_mean(const struct hdr *h);	/* from bucket midpoints, as HdrHistogram */
double hdr_stddev(const struct hdr *h); /* population stddev, from bucket midpoints */

/* Bucket arithmetic, exposed for the log codec and for tests. */
int32_t hdr_counts_index_for(const struct hdr *h, int64_t value);
int64_t hdr_value_at_index(const struct hdr *h, int32_t index);
int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t value);
int64_t hdr_highest_equivalent(const struct hdr *h, int64_t value);
int64_t hdr_median_equivalent(const struct hdr *h, int64_t value);

#endif
