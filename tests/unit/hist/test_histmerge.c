/*
 * test_histmerge.c - herd hist --merge --intervals as a library: logs
 * written here with hlog.h, each interval a histogram of known values, cut
 * into rows. Checked: rows lined up across logs by their start times (also
 * logs without BaseTime), empty rows for gaps, the short last row, --intervals=D,
 * each row's count, rate, min, max and percentiles, the total, and the
 * errors (intervals out of time order, times that jump too far, no
 * intervals, a missing file). Plus the chart (histplot.h): one line per
 * series broken at gaps, a dot for a lone row, file names escaped.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hist/histmerge.h"
#include "hist/histplot.h"
#include "lib/hdr.h"
#include "lib/hlog.h"

/* An interval of a log to write: when, how long, and n values lo, lo+1, ... */
struct iv {
	double start, length;
	int64_t lo, n;
};

static char paths[4][64];

/* Writes log i (base: its start, seconds since the epoch; base_time: write a BaseTime header). */
static char *write_log(int i, double base, bool base_time, const struct iv *ivs, size_t n)
{
	snprintf(paths[i], sizeof(paths[i]), "/tmp/herd-test-histmerge.%d.%d.hlog", (int)getpid(), i);
	FILE *f = fopen(paths[i], "w");
	assert_non_null(f);
	if (base_time) {
		assert_int_equal(hlog_write_header(f, base), 0);
	} else {
		/* A log as some writers make it: StartTime only, offsets from it. */
		fprintf(f, "#[Histogram log format version 1.3]\n#[StartTime: %.3f (seconds since epoch)]\n", base);
	}
	for (size_t k = 0; k < n; k++) {
		struct hdr *h;
		assert_int_equal(hdr_init(HDR_LATENCY_LOWEST_US, HDR_LATENCY_HIGHEST_US, HDR_LATENCY_SIGFIGS, &h), 0);
		for (int64_t v = 0; v < ivs[k].n; v++)
			assert_true(hdr_record(h, ivs[k].lo + v));
		assert_int_equal(hlog_write_interval(f, ivs[k].start, ivs[k].length, h, 1e3), 0);
		hdr_free(h);
	}
	assert_int_equal(fclose(f), 0);
	return paths[i];
}

static void remove_logs(void)
{
	for (int i = 0; i < 4; i++)
		if (paths[i][0])
			unlink(paths[i]);
}

static const double pct[] = {50, 100};

static void test_rows(void **state)
{
	(void)state;
	/* Log a starts at 1000.0: rows 0 and 1, nothing in 2, a short interval in 3. */
	const struct iv a[] = {{0, 1, 1000, 100}, {1, 1, 2000, 100}, {3, 0.5, 500, 10}};
	/* Log b starts half a second later, without BaseTime: its first
	 * interval starts in row 0, its second in row 1. */
	const struct iv b[] = {{0, 1, 1000, 100}, {1, 1, 1100, 300}};
	char *files[] = {write_log(0, 1000, true, a, 3), write_log(1, 1000.5, false, b, 2)};
	struct histmerge_series s;
	struct histmerge_fault f;
	assert_int_equal(histmerge_intervals(files, 2, 0, pct, 2, 1000, &s, &f), 0);
	assert_true(fabs(s.start_epoch_s - 1000) < 1e-9);
	assert_true(s.step_s == 1);
	assert_int_equal(s.intervals, 5);
	assert_int_equal(s.nrows, 4);
	/* Row 0: 200 values 1000..1099 us, twice each. */
	assert_int_equal(s.rows[0].count, 200);
	assert_true(s.rows[0].start_s == 0 && s.rows[0].length_s == 1 && s.rows[0].rate == 200);
	assert_true(fabs(s.rows[0].min - 1.000) < 1e-9 && fabs(s.rows[0].max - 1.099) < 1e-9);
	assert_true(fabs(s.pv[0] - 1.049) < 1e-9); /* p50: the 100th of 200 is 1049 us */
	assert_true(fabs(s.pv[1] - 1.099) < 1e-9); /* p100 is the max */
	/* Row 1: 2000..2099 (a) and 1100..1399 (b). */
	assert_int_equal(s.rows[1].count, 400);
	assert_true(fabs(s.rows[1].min - 1.100) < 1e-9 && fabs(s.rows[1].max - 2.099) < 1e-9);
	assert_true(fabs(s.pv[2] - 1.299) < 1e-9);
	/* Row 2: empty. */
	assert_int_equal(s.rows[2].count, 0);
	assert_true(s.rows[2].start_s == 2 && s.rows[2].length_s == 1 && s.rows[2].rate == 0);
	assert_true(s.pv[4] == 0 && s.pv[5] == 0);
	/* Row 3: the last, as long as its interval. */
	assert_int_equal(s.rows[3].count, 10);
	assert_true(s.rows[3].start_s == 3 && fabs(s.rows[3].length_s - 0.5) < 1e-9 &&
		    fabs(s.rows[3].rate - 20) < 1e-9);
	/* The total is everything, as --merge adds it up. */
	assert_non_null(s.total);
	assert_int_equal(s.total->total, 610);
	assert_int_equal(hdr_max(s.total), 2099);
	histmerge_series_free(&s);

	/* Rows of 2 s: 0..2 holds rows 0 and 1, 2..4 the interval at 3. */
	assert_int_equal(histmerge_intervals(files, 2, 2, pct, 2, 1000, &s, &f), 0);
	assert_int_equal(s.nrows, 2);
	assert_int_equal(s.rows[0].count, 600);
	assert_true(s.rows[0].length_s == 2 && s.rows[0].rate == 300);
	assert_int_equal(s.rows[1].count, 10);
	assert_true(s.rows[1].start_s == 2 && fabs(s.rows[1].length_s - 1.5) < 1e-9);
	histmerge_series_free(&s);

	/* The chart: per series one line for rows 0-1 and a dot for row 3. */
	assert_int_equal(histmerge_intervals(files, 2, 0, pct, 2, 1000, &s, &f), 0);
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	const char *names[] = {"a<&>.hlog"};
	struct histplot p = {.s = &s, .pct = pct, .unit = "ms", .files = names, .nfiles = 1};
	assert_int_equal(histplot_html(out, &p), 0);
	fclose(out);
	int lines = 0, dots = 0, rows = 0;
	for (const char *q = buf; (q = strstr(q, "<polyline")); q++)
		lines++;
	for (const char *q = buf; (q = strstr(q, "<circle")); q++)
		dots++;
	for (const char *q = buf; (q = strstr(q, "<tr><td>")); q++)
		rows++;
	assert_int_equal(lines, 3); /* p50, p100, max */
	assert_int_equal(dots, 3);
	assert_int_equal(rows, 4);
	assert_non_null(strstr(buf, "a&lt;&amp;&gt;.hlog"));
	assert_null(strstr(buf, "a<&>"));
	assert_non_null(strstr(buf, "<td>-</td>")); /* the empty row */
	free(buf);
	histmerge_series_free(&s);
	remove_logs();
}

static void test_errors(void **state)
{
	(void)state;
	struct histmerge_series s;
	struct histmerge_fault f;
	/* An interval that starts before the one above it. */
	const struct iv back[] = {{0, 1, 10, 1}, {2, 1, 10, 1}, {1, 1, 10, 1}};
	char *files[] = {write_log(0, 1000, true, back, 3)};
	assert_int_equal(histmerge_intervals(files, 1, 0, pct, 2, 1000, &s, &f), -EDOM);
	assert_int_equal(f.file, 0);
	assert_int_equal(f.line, 7); /* 4 header lines, then the third interval */
	histmerge_series_free(&s);
	/* Times that jump past HISTMERGE_MAX_ROWS rows are refused, not allocated. */
	const struct iv far[] = {{0, 1, 10, 1}, {1e9, 1, 10, 1}};
	files[0] = write_log(0, 1000, true, far, 2);
	assert_int_equal(histmerge_intervals(files, 1, 0, pct, 2, 1000, &s, &f), -E2BIG);
	assert_true(f.rows);
	assert_int_equal(f.line, 6);
	histmerge_series_free(&s);
	/* No intervals at all. */
	files[0] = write_log(0, 1000, true, far, 0);
	assert_int_equal(histmerge_intervals(files, 1, 0, pct, 2, 1000, &s, &f), -ENODATA);
	histmerge_series_free(&s);
	/* A file that is not there. */
	char *missing[] = {files[0], "/nonexistent/x.hlog"};
	assert_int_equal(histmerge_intervals(missing, 2, 0, pct, 2, 1000, &s, &f), -ENOENT);
	assert_true(f.opening);
	assert_int_equal(f.file, 1);
	histmerge_series_free(&s);
	remove_logs();
}

static void test_nice_step(void **state)
{
	(void)state;
	assert_true(histplot_nice_step(10, 10) == 1);
	assert_true(histplot_nice_step(60, 10) == 5);
	assert_true(fabs(histplot_nice_step(0.9, 5) - 0.2) < 1e-12);
	assert_true(histplot_nice_step(3600, 10) == 500);
	assert_true(histplot_nice_step(0, 10) == 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rows),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_nice_step),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
