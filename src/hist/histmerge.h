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
#include <stddef.h>
#include <stdint.h>

#include "hist/hist.h"
#include "lib/hdr.h"

/* Where histmerge_logs stopped: files[file], at line (1-based; 0 when the fault is no line's), or at fopen. */
struct histmerge_fault {
	int file;
	long line;
	bool opening;
	bool rows; /* histmerge_intervals' -E2BIG: too many rows, not a long line */
};

/* Adds logs files[0..n) ("-": stdin) into *total (NULL: allocated) and counts their intervals into *intervals.
 * 0, fopen's -errno (opening), or hlog_read_merge's -EINVAL, -E2BIG, -EILSEQ, -ERANGE, -EOVERFLOW (line), -ENOMEM, -errno. */
int histmerge_logs(char *const *files, int n, struct hdr **total, long *intervals, struct histmerge_fault *fault);

/* Rows (*rows, to free) and summary of total (>= 1 value), shown as value / divisor; pv: o->npercentiles entries.
 * 0, -EINVAL (-j, or a value / divisor not finite), -E2BIG (over HIST_MAX_ROWS linear rows), -ENOMEM. */
int histmerge_summary(const struct hdr *total, const struct hist_options *o, double divisor, struct hist_rows **rows,
		      struct hist_summary *s, double *pv);

/*
 * --intervals: the logs side by side in time, cut into rows of step_s
 * seconds from the earliest interval's start. An interval counts wholly in
 * the row its start falls in (logs of several load machines started a
 * fraction of a second apart share rows); a row no interval starts in is
 * an empty row, so the time axis has no holes. The logs are read at once,
 * one interval of each at a time, so memory does not grow with the run.
 */
struct histmerge_row {
	double start_s;	 /* seconds after the series' start */
	double length_s; /* step_s; the last row: up to the end of its last interval */
	int64_t count;
	double rate;	 /* count / length_s */
	double min, max; /* shown values (recorded / divisor); 0 when count is 0 */
};
struct histmerge_series {
	double start_epoch_s; /* the earliest interval's start, as hlog_interval.start_s */
	double step_s;
	long intervals; /* read from all the logs */
	size_t nrows, npct;
	struct histmerge_row *rows;
	double *pv;	   /* row i's npct shown percentiles (as histmerge_summary's) at pv[i * npct]; 0 when empty */
	struct hdr *total; /* every interval added up, as histmerge_logs gives it */
};

/* The most rows a series may have (a log whose times jump far ahead is refused, not allocated). */
#define HISTMERGE_MAX_ROWS 10000000

/* Reads logs files[0..n) into *out, rows of step_s (0: the earliest interval's length) with the percentiles
 * pct[0..npct) of each, values shown / divisor. 0, fopen's -errno (fault->opening), hlog_read_merge's errors
 * (fault->line), -EDOM (a log's intervals out of time order at fault->line), -E2BIG (over HISTMERGE_MAX_ROWS rows),
 * -ENODATA (no interval at all), -ENOMEM. Free *out with histmerge_series_free (also after an error). */
int histmerge_intervals(char *const *files, int n, double step_s, const double *pct, size_t npct, double divisor,
			struct histmerge_series *out, struct histmerge_fault *fault);
void histmerge_series_free(struct histmerge_series *s);

#endif
