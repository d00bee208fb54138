/*
 * histmerge.h - herd hist --merge: HdrHistogram interval logs (lib/hlog.h)
 * added into one histogram, and that histogram as mmhistogram's summary and
 * rows. Percentiles and med are HdrHistogram's (the highest value equivalent
 * to the value at the rank, capped at max); avg, dev and the rows come from
 * bucket midpoints. Nothing here prints.
 */
#ifndef HERD_HISTMERGE_H
#define HERD_HISTMERGE_H

#include <stdbool.h>

#include "hist/hist.h"
#include "lib/hdr.h"

/* Where histmerge_logs stopped: files[file], at line (1-based; 0 when the fault is no line's), or at fopen. */
struct histmerge_fault {
	int file;
	long line;
	bool opening;
};

/* Adds logs files[0..n) ("-": stdin) into *total (NULL: allocated) and counts their intervals into *intervals.
 * 0, fopen's -errno (opening), or hlog_read_merge's -EINVAL, -E2BIG, -EILSEQ, -ERANGE, -EOVERFLOW (line), -ENOMEM, -errno. */
int histmerge_logs(char *const *files, int n, struct hdr **total, long *intervals, struct histmerge_fault *fault);

/* Rows (*rows, to free) and summary of total (>= 1 value), shown as value / divisor; pv: o->npercentiles entries.
 * 0, -EINVAL (-j, or a value / divisor not finite), -E2BIG (over HIST_MAX_ROWS linear rows), -ENOMEM. */
int histmerge_summary(const struct hdr *total, const struct hist_options *o, double divisor, struct hist_rows **rows,
		      struct hist_summary *s, double *pv);

#endif
