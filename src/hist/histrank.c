/*
 * histrank.c - nearest rank over counts (see histrank.h).
 *
 * The rank is computed from just below p (nextafter towards -inf): when
 * p * n / 100 is a whole number k (p50 of 10 values: 5), rounding may lift
 * the product a hair above k, and ceil() would then give rank k + 1.
 */
#include "hist/histrank.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "lib/util.h"

int histrank_parse_list(const char *arg, double *out, size_t max, size_t *n)
{
	*n = 0;
	const char *p = arg;
	for (;;) {
		size_t len = strcspn(p, ",");
		char tok[64];
		if (*n == max || len == 0 || len >= sizeof(tok))
			return -EINVAL;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (util_parse_double(tok, 0, 100, &out[*n]))
			return -EINVAL;
		(*n)++;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
}

int64_t histrank_for(double p, int64_t n)
{
	double q = nextafter(p, -INFINITY);
	double r = ceil((q < 0 ? 0 : q) * (double)n / 100.0);
	/* (double)n may round up past INT64_MAX: compare before converting. */
	return r < 1 ? 1 : r >= (double)n ? n : (int64_t)r;
}

int64_t histrank_hdr_value(const struct hdr *h, int64_t k, bool mid)
{
	int64_t seen = 0;
	for (int32_t i = 0; i < h->counts_len; i++) {
		seen += h->counts[i];
		if (seen >= k) {
			int64_t v = hdr_value_at_index(h, i);
			return mid ? hdr_median_equivalent(h, v) : hdr_highest_equivalent(h, v);
		}
	}
	return hdr_max(h);
}
