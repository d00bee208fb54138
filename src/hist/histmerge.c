/*
 * histmerge.c - herd hist --merge's reading and summary, and --intervals'
 * rows (see histmerge.h).
 */
#include "hist/histmerge.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

/* ------------------------------------------------------- --intervals -- */

/* One log, read one interval ahead. */
struct source {
	FILE *f;
	struct hlog_reader *r;
	struct hlog_interval head; /* head.h == NULL: the log is done */
	double last;		   /* the previous interval's start */
};

/* Reads the source's next interval into its head. */
static int advance(struct source *src, int i, struct histmerge_fault *fault)
{
	src->head.h = NULL;
	int rc = hlog_reader_next(src->r, &src->head);
	if (rc == 1 && src->head.start_s < src->last - 1e-9) {
		hdr_free(src->head.h);
		src->head.h = NULL;
		rc = -EDOM;
	}
	if (rc < 0) {
		*fault = (struct histmerge_fault){.file = i, .line = hlog_reader_bad_line(src->r, rc)};
		return rc;
	}
	if (rc == 1)
		src->last = src->head.start_s;
	return 0;
}

static int add_row(struct histmerge_series *s, size_t *cap, double start, double length, const struct hdr *h,
		   const double *pct, double divisor)
{
	if (s->nrows == HISTMERGE_MAX_ROWS)
		return -E2BIG;
	if (s->nrows == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		struct histmerge_row *nr = realloc(s->rows, ncap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		s->rows = nr;
		double *np = realloc(s->pv, ncap * (s->npct ? s->npct : 1) * sizeof(*np));
		if (!np)
			return -ENOMEM;
		s->pv = np;
		*cap = ncap;
	}
	struct histmerge_row *r = &s->rows[s->nrows];
	double *pv = &s->pv[s->nrows * s->npct];
	*r = (struct histmerge_row){.start_s = start, .length_s = length};
	for (size_t k = 0; k < s->npct; k++)
		pv[k] = 0;
	if (h && h->total > 0) {
		double lo = (double)hdr_min(h), hi = (double)hdr_max(h);
		r->count = h->total;
		r->min = lo / divisor;
		r->max = hi / divisor;
		for (size_t k = 0; k < s->npct; k++)
			pv[k] = clamp((double)hdr_value_at_percentile(h, pct[k]), lo, hi) / divisor;
	}
	r->rate = length > 0 ? (double)r->count / length : 0;
	s->nrows++;
	return 0;
}

/* The source whose next interval starts first, or -1 when all are done. */
static int earliest(const struct source *src, int n)
{
	int best = -1;
	for (int i = 0; i < n; i++)
		if (src[i].head.h && (best < 0 || src[i].head.start_s < src[best].head.start_s))
			best = i;
	return best;
}

/* Merges the heads in time order into rows. */
static int cut_rows(struct source *src, int n, const double *pct, double divisor, struct histmerge_series *s,
		    struct histmerge_fault *fault)
{
	size_t cap = 0, row = 0;
	struct hdr *acc = NULL;
	double row_end = 0; /* the latest end of an interval in the current row, from the series' start */
	int rc = 0, i;
	while ((i = earliest(src, n)) >= 0) {
		double at = src[i].head.start_s - s->start_epoch_s;
		/* The small allowance keeps a start written as 2.000 out of row 1
		 * when 2.0 / 1.0 comes out a hair under 2. */
		double k = floor(at / s->step_s + 1e-9);
		if (k >= HISTMERGE_MAX_ROWS) {
			*fault = (struct histmerge_fault){
				.file = i, .line = hlog_reader_bad_line(src[i].r, -E2BIG), .rows = true};
			rc = -E2BIG;
			break;
		}
		/* Rows before this interval's are complete: every log is past them. */
		while ((double)row < k) {
			rc = add_row(s, &cap, (double)row * s->step_s, s->step_s, acc, pct, divisor);
			if (rc)
				goto out;
			if (acc)
				hdr_reset(acc);
			row++;
		}
		double end = at + src[i].head.length_s;
		row_end = end > row_end ? end : row_end;
		struct hdr *h = src[i].head.h, *copy;
		src[i].head.h = NULL;
		/* The total gets a copy: hlog_add_interval keeps or frees what it is given. */
		if ((rc = hdr_init(h->lowest, h->highest, h->sigfigs, &copy)) == 0) {
			hdr_merge(copy, h);
			rc = hlog_add_interval(&s->total, copy);
		}
		if (rc == 0)
			rc = hlog_add_interval(&acc, h);
		else
			hdr_free(h);
		if (rc != 0) {
			*fault = (struct histmerge_fault){.file = i, .line = hlog_reader_bad_line(src[i].r, rc)};
			break;
		}
		s->intervals++;
		if ((rc = advance(&src[i], i, fault)) != 0)
			break;
	}
	if (rc == 0) {
		/* The last row ends with its last interval (a -d run's last second is short). */
		double start = (double)row * s->step_s, length = row_end - start;
		rc = add_row(s, &cap, start, length > 0 && length < s->step_s ? length : s->step_s, acc, pct, divisor);
	}
out:
	hdr_free(acc);
	return rc;
}

int histmerge_intervals(char *const *files, int n, double step_s, const double *pct, size_t npct, double divisor,
			struct histmerge_series *out, struct histmerge_fault *fault)
{
	*out = (struct histmerge_series){.npct = npct};
	struct source *src = calloc((size_t)n, sizeof(*src));
	if (!src)
		return -ENOMEM;
	int rc = 0;
	for (int i = 0; i < n && rc == 0; i++) {
		*fault = (struct histmerge_fault){.file = i};
		src[i].f = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "r");
		if (!src[i].f) {
			fault->opening = true;
			rc = -errno;
		} else if ((rc = hlog_reader_new(src[i].f, &src[i].r)) == 0) {
			src[i].last = -INFINITY;
			rc = advance(&src[i], i, fault);
		}
	}
	int first = rc ? -1 : earliest(src, n);
	if (rc == 0 && first < 0)
		rc = -ENODATA;
	if (rc == 0) {
		out->start_epoch_s = src[first].head.start_s;
		/* The logs' own interval (herd bench writes one a second). */
		out->step_s = step_s > 0 ? step_s : src[first].head.length_s > 0 ? src[first].head.length_s : 1;
		rc = cut_rows(src, n, pct, divisor, out, fault);
	}
	for (int i = 0; i < n; i++) {
		hdr_free(src[i].head.h);
		hlog_reader_free(src[i].r);
		if (src[i].f && src[i].f != stdin)
			fclose(src[i].f);
	}
	free(src);
	return rc;
}

void histmerge_series_free(struct histmerge_series *s)
{
	hdr_free(s->total);
	s->total = NULL;
	free(s->rows);
	free(s->pv);
	s->rows = NULL;
	s->pv = NULL;
	s->nrows = 0;
}
