/*
 * hlog.h - HdrHistogram interval logs ("#[Histogram log format version 1.3]").
 *
 * Java-compatible: each interval line is
 *   [Tag=T,]start,length,max/divisor,BASE64(DEFLATE-compressed V2 histogram)
 * with the V2 encoding (compression cookie 0x1c849314 = base 0x1c849304 | 0x10,
 * encoding cookie 0x1c849313 = base 0x1c849303 | 0x10, ZigZag LEB128 counts
 * with negative run-lengths for zeros) that HdrHistogram's Java and C tools read.
 * herd bench writes one interval per second; `herd hist --merge` reads logs
 * from several load machines and adds them up exactly.
 */
#ifndef HERD_HLOG_H
#define HERD_HLOG_H

#include <stdint.h>
#include <stdio.h>

#include "lib/hdr.h"

/* Writes the header: version, start time (seconds since the epoch), and the
 * column legend. Returns 0 or -errno. */
int hlog_write_header(FILE *f, double start_epoch_s);

/* Writes one interval: start offset and length in seconds from the log's
 * start, the histogram's counts encoded and compressed. max_divisor scales
 * the max column (1e3: microseconds shown as milliseconds). Returns 0 or -errno. */
int hlog_write_interval(FILE *f, double start_s, double length_s, const struct hdr *h, double max_divisor);

/* The longest line hlog_read_merge reads: far above any interval herd
 * writes (1 us..1 h at 3 digits encodes in under 300 KiB), and a bound on
 * what a hostile log can make the reader allocate for one line. */
#define HLOG_MAX_LINE (16u << 20)

/* Reads every interval of a log and adds it into *total. When *total is
 * NULL it is allocated with the first interval's parameters. Sets *intervals
 * to the number of interval lines read. Returns 0 on success, -errno for
 * I/O, or, with *bad_line set to the 1-based number of the line at fault:
 * -EINVAL for a malformed line, -E2BIG for a line over HLOG_MAX_LINE bytes,
 * -EILSEQ for a line with a NUL byte (not text),
 * -ERANGE for an interval whose values *total cannot hold, -EOVERFLOW when
 * the merged counts would exceed INT64_MAX (*total is left as it was
 * before that line). *total grows when a later interval has a higher
 * `highest`. The
 * merged max is exact when the Interval_Max column (max / 1, 1e3, 1e6 or
 * 1e9) falls in the top bucket; the merged min is its bucket's lowest value. */
int hlog_read_merge(FILE *f, struct hdr **total, long *intervals, long *bad_line);

/* The same log one interval at a time (herd hist --merge --intervals reads
 * several logs side by side, in time order, without keeping them). */
struct hlog_reader;
struct hlog_interval {
	double start_s;	 /* seconds since the epoch when the log says when it started (herd's do), else as written */
	double length_s; /* as written */
	struct hdr *h;	 /* decoded, max refined as hlog_read_merge does; the caller frees it */
};
/* A reader of f (the caller closes f): 0 or -ENOMEM. */
int hlog_reader_new(FILE *f, struct hlog_reader **out);
/* The next interval: 1, 0 at the end of the log, or hlog_read_merge's errors. */
int hlog_reader_next(struct hlog_reader *r, struct hlog_interval *iv);
/* The 1-based line an error rc of hlog_reader_next is about; 0 for a read error that is no line's. */
long hlog_reader_bad_line(const struct hlog_reader *r, int rc);
void hlog_reader_free(struct hlog_reader *r);

/* Adds h into *total (NULL: *total becomes h), growing *total when h has a
 * wider range; h is consumed. 0, -ERANGE (values dropped), -EOVERFLOW,
 * -ENOMEM: hlog_read_merge's rule for each interval. */
int hlog_add_interval(struct hdr **total, struct hdr *h);

/* Encode/decode one histogram in the V2 compressed form (base64 text, NUL
 * terminated). hlog_encode returns a malloc'ed string or NULL (-ENOMEM);
 * hlog_decode allocates *out and returns 0, -EINVAL (malformed), -EOVERFLOW
 * (counts that sum past INT64_MAX) or -ENOMEM. Both exposed for tests and
 * fuzzing. */
char *hlog_encode(const struct hdr *h);
int hlog_decode(const char *base64, struct hdr **out);

#endif
