/*
 * hdr.c - a log-linear histogram of integer values with HdrHistogram's layout.
 *
 * The counts array is split into buckets; bucket 0 holds sub_bucket_count
 * slots of width 2^unit_magnitude, and every later bucket holds only its
 * upper half (sub_bucket_half_count slots) at twice the previous width, so
 * every value is kept to `sigfigs` significant decimal digits. The index
 * arithmetic follows HdrHistogram (Java and C) exactly so that counts can be
 * exchanged with its log format. min and max are tracked exactly; mean and
 * stddev are computed from bucket midpoints as HdrHistogram does.
 */
#include "lib/hdr.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static int32_t bucket_index_of(const struct hdr *h, int64_t value)
{
	/* OR-ing the mask in makes every value below sub_bucket_count land in
	 * bucket 0 and keeps clzll's argument non-zero. */
	int32_t pow2ceiling = 64 - __builtin_clzll((uint64_t)(value | h->sub_bucket_mask));
	return pow2ceiling - h->unit_magnitude - (h->sub_bucket_half_count_magnitude + 1);
}

static int32_t sub_bucket_index_of(const struct hdr *h, int64_t value, int32_t bucket)
{
	return (int32_t)(value >> (bucket + h->unit_magnitude));
}

static int32_t counts_index(const struct hdr *h, int32_t bucket, int32_t sub_bucket)
{
	int32_t base = (bucket + 1) << h->sub_bucket_half_count_magnitude;
	return base + (sub_bucket - h->sub_bucket_half_count);
}

static int64_t value_from(const struct hdr *h, int32_t bucket, int32_t sub_bucket)
{
	return (int64_t)sub_bucket << (bucket + h->unit_magnitude);
}

static int64_t equivalent_range(const struct hdr *h, int64_t value)
{
	int32_t bucket = bucket_index_of(h, value);
	int32_t sub = sub_bucket_index_of(h, value, bucket);
	int32_t adjusted = sub >= h->sub_bucket_count ? bucket + 1 : bucket;
	return INT64_C(1) << (h->unit_magnitude + adjusted);
}

int32_t hdr_counts_index_for(const struct hdr *h, int64_t value)
{
	int32_t bucket = bucket_index_of(h, value);
	return counts_index(h, bucket, sub_bucket_index_of(h, value, bucket));
}

int64_t hdr_value_at_index(const struct hdr *h, int32_t index)
{
	int32_t bucket = (index >> h->sub_bucket_half_count_magnitude) - 1;
	int32_t sub = (index & (h->sub_bucket_half_count - 1)) + h->sub_bucket_half_count;
	if (bucket < 0) {
		sub -= h->sub_bucket_half_count;
		bucket = 0;
	}
	return value_from(h, bucket, sub);
}

int64_t hdr_lowest_equivalent(const struct hdr *h, int64_t value)
{
	int32_t bucket = bucket_index_of(h, value);
	return value_from(h, bucket, sub_bucket_index_of(h, value, bucket));
}

int64_t hdr_highest_equivalent(const struct hdr *h, int64_t value)
{
	/* Computed as next-non-equivalent minus one, but without overflowing
	 * for the very top bucket. */
	return hdr_lowest_equivalent(h, value) + (equivalent_range(h, value) - 1);
}

int64_t hdr_median_equivalent(const struct hdr *h, int64_t value)
{
	return hdr_lowest_equivalent(h, value) + (equivalent_range(h, value) >> 1);
}

/* How many buckets it takes to reach `value`, as HdrHistogram counts them. */
static int32_t buckets_needed(int64_t value, int32_t sub_bucket_count, int32_t unit_magnitude)
{
	int64_t smallest_untrackable = (int64_t)sub_bucket_count << unit_magnitude;
	int32_t n = 1;
	while (smallest_untrackable <= value) {
		if (smallest_untrackable > INT64_MAX / 2)
			return n + 1;
		smallest_untrackable <<= 1;
		n++;
	}
	return n;
}

int hdr_init(int64_t lowest, int64_t highest, int sigfigs, struct hdr **out)
{
	*out = NULL;
	/* highest / 2 < lowest is highest < 2 * lowest without the overflow
	 * a lowest near INT64_MAX (read from an untrusted log) would cause. */
	if (lowest < 1 || sigfigs < 1 || sigfigs > 5 || highest / 2 < lowest)
		return -EINVAL;

	/* 2 * 10^sigfigs values must be distinguishable at unit resolution. */
	int64_t single_unit = 2;
	for (int i = 0; i < sigfigs; i++)
		single_unit *= 10;
	int32_t sub_bucket_count_magnitude = (int32_t)ceil(log2((double)single_unit));
	int32_t half_magnitude = (sub_bucket_count_magnitude > 1 ? sub_bucket_count_magnitude : 1) - 1;
	int32_t unit_magnitude = 63 - __builtin_clzll((uint64_t)lowest);
	if (unit_magnitude + half_magnitude > 61)
		return -EINVAL;

	struct hdr *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->lowest = lowest;
	h->highest = highest;
	h->sigfigs = sigfigs;
	h->unit_magnitude = unit_magnitude;
	h->sub_bucket_half_count_magnitude = half_magnitude;
	h->sub_bucket_count = INT32_C(1) << (half_magnitude + 1);
	h->sub_bucket_half_count = h->sub_bucket_count / 2;
	h->sub_bucket_mask = ((int64_t)h->sub_bucket_count - 1) << unit_magnitude;
	h->bucket_count = buckets_needed(highest, h->sub_bucket_count, unit_magnitude);
	h->counts_len = (h->bucket_count + 1) * h->sub_bucket_half_count;
	h->counts = calloc((size_t)h->counts_len, sizeof(*h->counts));
	if (!h->counts) {
		free(h);
		return -ENOMEM;
	}
	h->min = INT64_MAX;
	h->max = 0;
	*out = h;
	return 0;
}

void hdr_free(struct hdr *h)
{
	if (!h)
		return;
	free(h->counts);
	free(h);
}

void hdr_reset(struct hdr *h)
{
	memset(h->counts, 0, (size_t)h->counts_len * sizeof(*h->counts));
	h->total = 0;
	h->min = INT64_MAX;
	h->max = 0;
}

bool hdr_record_n(struct hdr *h, int64_t value, int64_t count)
{
	if (value < 0 || value > h->highest || count < 0)
		return false;
	int32_t i = hdr_counts_index_for(h, value);
	if (i < 0 || i >= h->counts_len)
		return false;
	/* A slot never holds more than the total, so checking the total is enough. */
	int64_t total;
	if (__builtin_add_overflow(h->total, count, &total))
		return false;
	h->counts[i] += count;
	h->total = total;
	if (count > 0) {
		if (value < h->min)
			h->min = value;
		if (value > h->max)
			h->max = value;
	}
	return true;
}

bool hdr_record(struct hdr *h, int64_t value)
{
	return hdr_record_n(h, value, 1);
}

static bool same_layout(const struct hdr *a, const struct hdr *b)
{
	return a->unit_magnitude == b->unit_magnitude &&
	       a->sub_bucket_half_count_magnitude == b->sub_bucket_half_count_magnitude;
}

/* Where src's slot i goes in dst: -1 when dst cannot hold its values. */
static int32_t merge_target(const struct hdr *dst, const struct hdr *src, int32_t i, bool same)
{
	int64_t v = hdr_value_at_index(src, i);
	if (v > dst->highest)
		return -1;
	int32_t j = same ? i : hdr_counts_index_for(dst, v);
	return j >= 0 && j < dst->counts_len ? j : -1;
}

int64_t hdr_merge(struct hdr *dst, const struct hdr *src)
{
	int64_t dropped = 0, added = 0;
	int64_t kept_top = -1; /* largest kept bucket value, when src's max is dropped */
	bool same = same_layout(dst, src);

	/*
	 * First pass: what would be added, and whether the total would overflow.
	 * Every slot is at most the total (the sum of all slots), so a total
	 * that fits means every slot fits too, and dst is left untouched when
	 * it would not. src's own counts sum to src->total, which fits.
	 */
	for (int32_t i = 0; i < src->counts_len; i++) {
		int64_t c = src->counts[i];
		if (c == 0)
			continue;
		if (merge_target(dst, src, i, same) < 0)
			dropped += c;
		else
			added += c;
	}
	if (added > INT64_MAX - dst->total)
		return -EOVERFLOW;
	for (int32_t i = 0; i < src->counts_len; i++) {
		int64_t c = src->counts[i];
		int32_t j;
		if (c == 0 || (j = merge_target(dst, src, i, same)) < 0)
			continue;
		dst->counts[j] += c;
		kept_top = hdr_value_at_index(src, i);
	}
	dst->total += added;
	if (kept_top < 0)
		return dropped;
	/* src's min and max are exact; keep them exact where dst can hold them. */
	int64_t lo = src->min <= dst->highest ? src->min : hdr_value_at_index(src, 0);
	int64_t hi = src->max <= dst->highest ? src->max : kept_top;
	if (lo < dst->min)
		dst->min = lo;
	if (hi > dst->max)
		dst->max = hi;
	return dropped;
}

int64_t hdr_value_at_percentile(const struct hdr *h, double p)
{
	if (h->total == 0)
		return 0;
	/* As HdrHistogram's Java reference: step p down by one ulp so that
	 * p% of n landing a hair above an integer (99.9% of 1000) does not
	 * round up to the next count, then take the ceiling. */
	double req = nextafter(p, -INFINITY);
	if (req < 0)
		req = 0;
	if (req > 100)
		req = 100;
	/* In double, then clamped before the conversion: (double)INT64_MAX
	 * is 2^63, one above what int64_t holds, so -P 100 of a total of
	 * 2^63 - 1 must not be converted unclamped. */
	double rank = ceil(req * (double)h->total / 100.0);
	int64_t want = rank >= (double)h->total ? h->total : rank < 1 ? 1 : (int64_t)rank;
	/* Past 2^53 the ulp step above is lost in the product's rounding and
	 * the rank of 100% can land below the top value: 100% is the last one. */
	if (p >= 100)
		want = h->total;
	int64_t seen = 0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= want) {
			int64_t v = hdr_value_at_index(h, i);
			return p == 0.0 ? hdr_lowest_equivalent(h, v) : hdr_highest_equivalent(h, v);
		}
	}
	return 0;
}

int64_t hdr_min(const struct hdr *h)
{
	return h->total == 0 ? 0 : h->min;
}

int64_t hdr_max(const struct hdr *h)
{
	return h->total == 0 ? 0 : h->max;
}

double hdr_mean(const struct hdr *h)
{
	if (h->total == 0)
		return 0.0;
	double sum = 0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i])
			sum += (double)h->counts[i] * (double)hdr_median_equivalent(h, hdr_value_at_index(h, i));
	}
	return sum / (double)h->total;
}

double hdr_stddev(const struct hdr *h)
{
	if (h->total == 0)
		return 0.0;
	double mean = hdr_mean(h);
	double acc = 0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		if (h->counts[i]) {
			double d = (double)hdr_median_equivalent(h, hdr_value_at_index(h, i)) - mean;
			acc += d * d * (double)h->counts[i];
		}
	}
	return sqrt(acc / (double)h->total);
}
