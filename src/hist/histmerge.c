/*
 * histmerge.c - herd hist --merge's reading and summary (see histmerge.h).
 */
#include "hist/histmerge.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "hist/histrank.h"
#include "lib/hlog.h"

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int histmerge_logs(char *const *files, int n, struct hdr **total, long *intervals, struct histmerge_fault *fault)
{
	for (int i = 0; i < n; i++) {
		*fault = (struct histmerge_fault){.file = i};
		FILE *f = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "r");
		if (!f) {
			fault->opening = true;
			return -errno;
		}
		long got = 0;
		int rc = hlog_read_merge(f, total, &got, &fault->line);
		if (f != stdin)
			fclose(f);
		*intervals += got;
		if (rc)
			return rc;
	}
	return 0;
}

int histmerge_summary(const struct hdr *total, const struct hist_options *o, double divisor, struct hist_rows **rows,
		      struct hist_summary *s, double *pv)
{
	int rc = hist_rows_new(o, rows);
	for (int32_t i = 0; i < total->counts_len && rc == 0; i++) {
		if (!total->counts[i])
			continue;
		double v = (double)hdr_median_equivalent(total, hdr_value_at_index(total, i)) / divisor;
		rc = hist_rows_add(*rows, v, (uint64_t)total->counts[i]);
	}
	if (rc)
		return rc;
	int64_t n = total->total;
	double lo = (double)hdr_min(total), hi = (double)hdr_max(total);
	*s = (struct hist_summary){
		.count = (size_t)n,
		.min = lo / divisor,
		.max = hi / divisor,
		.avg = hdr_mean(total) / divisor,
		.dev = hdr_stddev(total) / divisor,
		.med = clamp((double)histrank_hdr_value(total, n - n / 2, false), lo, hi) / divisor,
		.pvalues = pv,
	};
	for (size_t i = 0; i < o->npercentiles; i++)
		pv[i] = clamp((double)hdr_value_at_percentile(total, o->percentiles[i]), lo, hi) / divisor;
	return 0;
}
