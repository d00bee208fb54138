/*
 * test_hlog.c - the HdrHistogram V2 codec and interval log format: round
 * trips, histograms encoded by HdrHistogram itself, log merging, and
 * malformed or hostile input (run under ASan, so over-reads show up).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "lib/hdr.h"
#include "lib/hlog.h"

#define HOUR_US HDR_LATENCY_HIGHEST_US

static struct hdr *new_hist(void)
{
	struct hdr *h = NULL;
	assert_int_equal(hdr_init(1, HOUR_US, 3, &h), 0);
	return h;
}

static void assert_same_counts(const struct hdr *a, const struct hdr *b)
{
	assert_int_equal(a->counts_len, b->counts_len);
	assert_int_equal(a->total, b->total);
	for (int32_t i = 0; i < a->counts_len; i++)
		if (a->counts[i] != b->counts[i])
			fail_msg("count %d differs: %lld vs %lld", i, (long long)a->counts[i], (long long)b->counts[i]);
}

/* A histogram with single values, zero runs of every length, big counts. */
static struct hdr *sample_hist(void)
{
	struct hdr *h = new_hist();
	for (int64_t v = 1; v < 5000; v += (v % 7) + 1)
		assert_true(hdr_record(h, v));
	assert_true(hdr_record_n(h, 3, 1000000));
	assert_true(hdr_record_n(h, 123456789, INT64_C(1) << 40));
	assert_true(hdr_record(h, 2999999999));
	return h;
}

static void test_round_trip(void **state)
{
	(void)state;
	struct hdr *h = sample_hist();
	char *text = hlog_encode(h);
	assert_non_null(text);
	assert_memory_equal(text, "HISTFAAA", 8); /* cookie 0x1c849314 */
	struct hdr *d = NULL;
	assert_int_equal(hlog_decode(text, &d), 0);
	assert_int_equal(d->lowest, 1);
	assert_int_equal(d->highest, HOUR_US);
	assert_int_equal(d->sigfigs, 3);
	assert_same_counts(h, d);
	assert_int_equal(hdr_min(d), 1);
	/* The codec carries counts only: max comes back as its bucket's top. */
	assert_int_equal(hdr_max(d), hdr_highest_equivalent(h, 2999999999));
	assert_int_equal(hdr_value_at_percentile(d, 99), hdr_value_at_percentile(h, 99));
	free(text);
	hdr_free(d);

	/* Empty histogram. */
	hdr_reset(h);
	text = hlog_encode(h);
	assert_non_null(text);
	assert_int_equal(hlog_decode(text, &d), 0);
	assert_int_equal(d->total, 0);
	assert_int_equal(hdr_max(d), 0);
	free(text);
	hdr_free(d);
	hdr_free(h);
}

/*
 * HdrHistogram_c's standard test histogram (hdr_init(1, 3600e6, 3); 10000
 * times 1000 and once 100000000) as encoded by HdrHistogram_c; the string is
 * quoted in the interoperability test of the hdrhistogram Python package
 * (ENCODE_SAMPLES_HDRHISTOGRAM_C). Its payload-length field includes the
 * 40-byte header, as early HdrHistogram_c wrote it.
 */
static void test_decode_hdrhistogram_c(void **state)
{
	(void)state;
	struct hdr *d = NULL;
	assert_int_equal(hlog_decode("HISTFAAAACl4nJNpmSzMwMBgyAABzFCaEURcm7yEwf4DROA8/4I5jNM7mJgAlWkH9g==", &d), 0);
	assert_int_equal(d->lowest, 1);
	assert_int_equal(d->highest, HOUR_US);
	assert_int_equal(d->sigfigs, 3);
	assert_int_equal(d->total, 10001);
	assert_int_equal(d->counts[hdr_counts_index_for(d, 1000)], 10000);
	assert_int_equal(d->counts[hdr_counts_index_for(d, 100000000)], 1);
	assert_int_equal(hdr_value_at_percentile(d, 50), 1000);
	assert_int_equal(hdr_value_at_percentile(d, 99.99), 1000);
	/* 100000000 >> 16 = 1525: its bucket is 1525 << 16 .. + 65535. */
	assert_int_equal(hdr_value_at_percentile(d, 100), 100007935);
	assert_int_equal(hdr_min(d), 1000);
	hdr_free(d);
}

/*
 * hdr_init(1, 2048, 3) with 2048 recorded: HdrHistogram Java and C produce
 * this exact string (both deflate at zlib's default level); we must too.
 */
static void test_encode_matches_hdrhistogram(void **state)
{
	(void)state;
	struct hdr *h = NULL;
	assert_int_equal(hdr_init(1, 2048, 3, &h), 0);
	assert_true(hdr_record(h, 2048));
	char *text = hlog_encode(h);
	assert_string_equal(text, "HISTFAAAACB4nJNpmSzMwMDAzAABMJoRQnEw2H+AsP7LMwEARZgDpQ==");
	struct hdr *d = NULL;
	assert_int_equal(hlog_decode(text, &d), 0);
	assert_same_counts(h, d);
	free(text);
	hdr_free(d);
	hdr_free(h);
}

/*
 * The same histogram as encoded by hdr-histogram-js 3.0.1 (npm), which puts
 * 1 in the normalizing-offset field and the int64 1 where the conversion
 * ratio's double belongs; integer readers ignore both, and so must we.
 */
static void test_decode_hdr_histogram_js(void **state)
{
	(void)state;
	struct hdr *d = NULL;
	assert_int_equal(hlog_decode("HISTFAAAACJ4nJNpmSzMwMDAzMDAwAilGaBsBgYGDgYY/788EwA5pwJ4", &d), 0);
	assert_int_equal(d->highest, 2048);
	assert_int_equal(d->total, 1);
	assert_int_equal(d->counts[2048], 1);
	assert_int_equal(hdr_max(d), 2048);
	hdr_free(d);
}

static FILE *log_of(const struct hdr *const *intervals, int n, double divisor)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	assert_int_equal(hlog_write_header(f, 1700000000.5), 0);
	for (int i = 0; i < n; i++)
		assert_int_equal(hlog_write_interval(f, i, 1.0, intervals[i], divisor), 0);
	rewind(f);
	return f;
}

static void test_log_merge(void **state)
{
	(void)state;
	struct hdr *a1 = new_hist(), *a2 = new_hist(), *b1 = new_hist(), *want = new_hist();
	for (int64_t v = 1; v <= 3000; v++) {
		struct hdr *t = v % 3 == 0 ? a1 : v % 3 == 1 ? a2 : b1;
		assert_true(hdr_record_n(t, v * 997, v));
		assert_true(hdr_record_n(want, v * 997, v));
	}
	assert_true(hdr_record(b1, 3333333)); /* the overall max, not a bucket edge */
	assert_true(hdr_record(want, 3333333));

	const struct hdr *la[] = {a1, a2}, *lb[] = {b1};
	FILE *fa = log_of(la, 2, 1e3), *fb = log_of(lb, 1, 1e3);

	/* The text format: header lines, then start,length,max,histogram. */
	char line[256];
	assert_non_null(fgets(line, sizeof(line), fa));
	assert_string_equal(line, "#[Histogram log format version 1.3]\n");
	assert_non_null(fgets(line, sizeof(line), fa));
	assert_string_equal(line, "#[StartTime: 1700000000.500 (seconds since epoch), "
				  "Tue Nov 14 22:13:20 UTC 2023]\n");
	assert_non_null(fgets(line, sizeof(line), fa));
	assert_string_equal(line, "#[BaseTime: 1700000000.500 (seconds since epoch)]\n");
	assert_non_null(fgets(line, sizeof(line), fa));
	assert_string_equal(line, "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
				  "\"Interval_Compressed_Histogram\"\n");
	assert_non_null(fgets(line, sizeof(line), fa));
	assert_memory_equal(line, "0.000,1.000,", 12);
	rewind(fa);

	struct hdr *total = NULL;
	long n = 0, bad = -1;
	assert_int_equal(hlog_read_merge(fa, &total, &n, &bad), 0);
	assert_int_equal(n, 2);
	assert_int_equal(bad, 0);
	assert_int_equal(hlog_read_merge(fb, &total, &n, &bad), 0);
	assert_int_equal(n, 1);
	assert_non_null(total);
	assert_same_counts(want, total);
	assert_int_equal(hdr_max(total), 3333333); /* recovered from Interval_Max */
	assert_int_equal(hdr_value_at_percentile(total, 99.9), hdr_value_at_percentile(want, 99.9));
	fclose(fa);
	fclose(fb);
	hdr_free(total);

	/* A log written with a wider range grows the total instead of dropping. */
	struct hdr *wide = NULL;
	assert_int_equal(hdr_init(1, HOUR_US * 10, 3, &wide), 0);
	assert_true(hdr_record(wide, HOUR_US * 9));
	const struct hdr *lw[] = {wide};
	fa = log_of(la, 2, 1.0);
	fb = log_of(lw, 1, 1.0);
	total = NULL;
	assert_int_equal(hlog_read_merge(fa, &total, &n, &bad), 0);
	assert_int_equal(hlog_read_merge(fb, &total, &n, &bad), 0);
	assert_int_equal(total->total, a1->total + a2->total + 1);
	assert_int_equal(hdr_max(total), HOUR_US * 9);
	fclose(fa);
	fclose(fb);
	hdr_free(total);
	hdr_free(wide);

	hdr_free(a1);
	hdr_free(a2);
	hdr_free(b1);
	hdr_free(want);
}

static int merge_text(const char *text, long *bad, long *n)
{
	FILE *f = tmpfile();
	assert_non_null(f);
	fputs(text, f);
	rewind(f);
	struct hdr *total = NULL;
	int rc = hlog_read_merge(f, &total, n, bad);
	hdr_free(total);
	fclose(f);
	return rc;
}

#define GOOD "HISTFAAAACB4nJNpmSzMwMDAzAABMJoRQnEw2H+AsP7LMwEARZgDpQ=="

static void test_malformed_lines(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		int rc;
		long bad, n;
	} cases[] = {
		{"#[Histogram log format version 1.3]\n\n0.0,1.0,2.048," GOOD "\n", 0, 0, 1},
		{"Tag=x,0.0,1.0,2.048," GOOD "\r\n\"StartTimestamp\"\n1,1,1," GOOD "\n", 0, 0, 2},
		{"#c\n0.0,1.0,2.048," GOOD "\ngarbage\n", -EINVAL, 3, 1},
		{"0.0,1.0," GOOD "\n", -EINVAL, 1, 0},
		{"0.0,x,1," GOOD "\n", -EINVAL, 1, 0},
		{"0.0,1.0,1,\n", -EINVAL, 1, 0},
		{"0.0,1.0,1,HISTFAAAACB4nJNpmSzMwMDAzAABMJoRQnEw2H+AsP7LMwEARZgD\n", -EINVAL, 1, 0},
		{"0.0,1.0,1,HISTFAAAACB4nJNpmSzMwMDAzAABMJoRQnEw2H+AsP7LMwEARZgDpQ=!\n", -EINVAL, 1, 0},
		{"0.0,1.0,1,AAAAAAAAAAAA\n", -EINVAL, 1, 0},
		{"Tag=nocomma\n", -EINVAL, 1, 0},
		{"\n\n#x\n1e999,1,1," GOOD "\n", -EINVAL, 4, 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		long bad = -1, n = -1;
		int rc = merge_text(cases[i].text, &bad, &n);
		if (rc != cases[i].rc || bad != cases[i].bad || n != cases[i].n)
			fail_msg("case %zu: rc %d bad %ld n %ld", i, rc, bad, n);
	}
}

/* Every truncation and every single-byte corruption of a valid encoding
 * decodes to an error or to a histogram, never past a buffer (ASan). */
static void test_hostile_encodings(void **state)
{
	(void)state;
	struct hdr *h = sample_hist();
	char *text = hlog_encode(h);
	size_t len = strlen(text);
	char *copy = malloc(len + 1);
	assert_non_null(copy);
	for (size_t cut = 0; cut < len; cut++) {
		memcpy(copy, text, cut);
		copy[cut] = '\0';
		struct hdr *d = NULL;
		if (hlog_decode(copy, &d) == 0) {
			assert_non_null(d);
			hdr_free(d);
		} else {
			assert_null(d);
		}
	}
	static const char swaps[] = "A/z+9";
	for (size_t i = 0; i < len; i++) {
		for (size_t s = 0; s < sizeof(swaps) - 1; s++) {
			memcpy(copy, text, len + 1);
			copy[i] = swaps[s];
			struct hdr *d = NULL;
			if (hlog_decode(copy, &d) == 0)
				hdr_free(d);
		}
	}
	free(copy);
	free(text);
	hdr_free(h);
}

/* Two intervals of 5e18 values each: the merge refuses the second with
 * its line number instead of wrapping the total (issue 15). */
static void test_merge_overflow(void **state)
{
	(void)state;
	struct hdr *h = new_hist();
	assert_true(hdr_record_n(h, 1000, INT64_C(5000000000000000000)));
	char *enc = hlog_encode(h);
	assert_non_null(enc);
	char *text;
	assert_true(asprintf(&text, "#[Histogram log format version 1.3]\n0.0,1.0,1.0,%s\n1.0,1.0,1.0,%s\n", enc, enc) >
		    0);
	long bad = -1, n = -1;
	assert_int_equal(merge_text(text, &bad, &n), -EOVERFLOW);
	assert_int_equal(bad, 3);
	assert_int_equal(n, 1);
	free(text);
	free(enc);
	hdr_free(h);
}

/* A line longer than HLOG_MAX_LINE is refused with its number, without
 * being kept whole; the lines before it were read. */
static void test_long_line(void **state)
{
	(void)state;
	size_t big = HLOG_MAX_LINE + 100;
	char *text = malloc(big + 200);
	assert_non_null(text);
	int k = sprintf(text, "0.0,1.0,2.048," GOOD "\n0.0,1.0,1,");
	memset(text + k, 'A', big);
	strcpy(text + k + big, "\n0.0,1.0,2.048," GOOD "\n");
	long bad = -1, n = -1;
	assert_int_equal(merge_text(text, &bad, &n), -E2BIG);
	assert_int_equal(bad, 2);
	assert_int_equal(n, 1);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {cmocka_unit_test(test_round_trip),
					   cmocka_unit_test(test_decode_hdrhistogram_c),
					   cmocka_unit_test(test_encode_matches_hdrhistogram),
					   cmocka_unit_test(test_decode_hdr_histogram_js),
					   cmocka_unit_test(test_log_merge),
					   cmocka_unit_test(test_malformed_lines),
					   cmocka_unit_test(test_hostile_encodings),
					   cmocka_unit_test(test_merge_overflow),
					   cmocka_unit_test(test_long_line)};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
