/*
 * hlog.c - HdrHistogram interval logs: the V2 compressed histogram encoding,
 * base64, and the "#[Histogram log format version 1.3]" text format that
 * HdrHistogram's Java HistogramLogReader and HdrHistogram_c read.
 *
 * One encoded histogram is, all integers big-endian:
 *   compression header: cookie 0x1c849314 (base 0x1c849304 | word size 1 << 4),
 *                       int32 length of the zlib stream that follows;
 *   zlib stream of:     cookie 0x1c849313 (base 0x1c849303 | 0x10),
 *                       int32 payload length (bytes of counts below),
 *                       int32 normalizing index offset (0; ignored on reading),
 *                       int32 significant figures,
 *                       int64 lowest discernible value, int64 highest trackable,
 *                       float64 integer-to-double conversion ratio (1.0;
 *                       ignored on reading),
 *                       counts[0..index_of(max)] as ZigZag LEB128 varints,
 *                       a run of k > 1 zero counts written as -k.
 * Decoding checks every length and index before use: logs come from other
 * machines and are untrusted input.
 */
#include "lib/hlog.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#define ENCODING_COOKIE_BASE UINT32_C(0x1c849303)
#define COMPRESSION_COOKIE_BASE UINT32_C(0x1c849304)
#define COOKIE_WORD_SIZE_BITS UINT32_C(0xf0)
/* V2 is always written with "word size" 1 in the cookie's second nibble. */
#define V2_WORD_SIZE_FLAG UINT32_C(0x10)
#define ENCODING_HEADER_LEN 40
#define COMPRESSION_HEADER_LEN 8
#define LEB128_MAX 9

/* ---------------------------------------------------------------- bytes -- */

static void put_be32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)get_be32(p) << 32 | get_be32(p + 4);
}

/* ZigZag then LEB128, as HdrHistogram's ZigZagEncoding: at most 9 bytes, the
 * ninth carrying a full 8 bits with no continuation flag. */
static size_t zz_put(uint8_t *p, int64_t value)
{
	uint64_t v = ((uint64_t)value << 1) ^ (uint64_t)(value >> 63);
	size_t n = 0;
	while (n < 8) {
		if (v >> 7 == 0) {
			p[n++] = (uint8_t)v;
			return n;
		}
		p[n++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	p[n++] = (uint8_t)v;
	return n;
}

/* Returns bytes consumed, 0 when the buffer ends inside the value. */
static size_t zz_get(const uint8_t *p, size_t len, int64_t *out)
{
	uint64_t v = 0;
	size_t n = 0;
	for (int shift = 0; shift < 56; shift += 7) {
		if (n >= len)
			return 0;
		uint8_t b = p[n++];
		v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			goto done;
	}
	if (n >= len)
		return 0;
	v |= (uint64_t)p[n++] << 56;
done:
	*out = (int64_t)(v >> 1) ^ -(int64_t)(v & 1);
	return n;
}

/* --------------------------------------------------------------- base64 -- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const uint8_t *in, size_t len)
{
	char *out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return NULL;
	char *o = out;
	size_t i = 0;
	for (; i + 3 <= len; i += 3) {
		uint32_t w = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
		*o++ = b64_alphabet[w >> 18];
		*o++ = b64_alphabet[(w >> 12) & 63];
		*o++ = b64_alphabet[(w >> 6) & 63];
		*o++ = b64_alphabet[w & 63];
	}
	if (i < len) {
		uint32_t w = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
		*o++ = b64_alphabet[w >> 18];
		*o++ = b64_alphabet[(w >> 12) & 63];
		*o++ = i + 1 < len ? b64_alphabet[(w >> 6) & 63] : '=';
		*o++ = '=';
	}
	*o = '\0';
	return out;
}

/* The value of one base64 digit, or -1 ('=' and NUL are not digits). */
static int b64_value(char c)
{
	const char *q = c ? memchr(b64_alphabet, c, 64) : NULL;
	return q ? (int)(q - b64_alphabet) : -1;
}

/* Decodes standard base64 (padding optional). Returns 0 or -EINVAL/-ENOMEM. */
static int b64_decode(const char *in, uint8_t **out, size_t *out_len)
{
	size_t len = strlen(in);
	while (len > 0 && in[len - 1] == '=')
		len--;
	if (len % 4 == 1 || strlen(in) - len > 2)
		return -EINVAL;
	uint8_t *buf = malloc(len / 4 * 3 + 3);
	if (!buf)
		return -ENOMEM;
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		int v = b64_value(in[i]);
		if (v < 0) {
			free(buf);
			return -EINVAL;
		}
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			buf[n++] = (uint8_t)(acc >> bits);
			acc &= (UINT32_C(1) << bits) - 1;
		}
	}
	*out = buf;
	*out_len = n;
	return 0;
}

/* ------------------------------------------------------------- encoding -- */

char *hlog_encode(const struct hdr *h)
{
	int32_t limit = hdr_counts_index_for(h, hdr_max(h)) + 1;
	if (limit > h->counts_len)
		limit = h->counts_len;
	size_t raw_cap = ENCODING_HEADER_LEN + (size_t)limit * LEB128_MAX;
	uint8_t *raw = malloc(raw_cap);
	uint8_t *packed = NULL;
	char *text = NULL;
	if (!raw)
		goto out;

	size_t n = ENCODING_HEADER_LEN;
	for (int32_t i = 0; i < limit;) {
		int64_t c = h->counts[i++];
		if (c == 0) {
			int64_t zeros = 1;
			while (i < limit && h->counts[i] == 0) {
				zeros++;
				i++;
			}
			/* Like Java: a lone zero is written as the count 0. */
			n += zz_put(raw + n, zeros > 1 ? -zeros : 0);
		} else {
			n += zz_put(raw + n, c);
		}
	}
	put_be32(raw, ENCODING_COOKIE_BASE | V2_WORD_SIZE_FLAG);
	put_be32(raw + 4, (uint32_t)(n - ENCODING_HEADER_LEN));
	put_be32(raw + 8, 0);
	put_be32(raw + 12, (uint32_t)h->sigfigs);
	put_be64(raw + 16, (uint64_t)h->lowest);
	put_be64(raw + 24, (uint64_t)h->highest);
	double ratio = 1.0;
	uint64_t ratio_bits;
	memcpy(&ratio_bits, &ratio, sizeof(ratio_bits));
	put_be64(raw + 32, ratio_bits);

	uLongf zlen = compressBound((uLong)n);
	packed = malloc(COMPRESSION_HEADER_LEN + zlen);
	if (!packed)
		goto out;
	if (compress(packed + COMPRESSION_HEADER_LEN, &zlen, raw, (uLong)n) != Z_OK)
		goto out;
	put_be32(packed, COMPRESSION_COOKIE_BASE | V2_WORD_SIZE_FLAG);
	put_be32(packed + 4, (uint32_t)zlen);
	text = b64_encode(packed, COMPRESSION_HEADER_LEN + zlen);
out:
	free(raw);
	free(packed);
	return text;
}

/* ------------------------------------------------------------- decoding -- */

/* Fills h->counts from the varint payload; every index is bounds-checked.
 * Returns 0, -EINVAL (malformed) or -EOVERFLOW (counts sum past INT64_MAX). */
static int apply_counts(struct hdr *h, const uint8_t *p, size_t len)
{
	size_t pos = 0;
	int64_t idx = 0;
	int64_t total = 0;
	int64_t first = -1, last = -1;
	while (pos < len) {
		int64_t v;
		size_t used = zz_get(p + pos, len - pos, &v);
		if (used == 0)
			return -EINVAL;
		pos += used;
		if (v < 0) {
			if (v == INT64_MIN || -v > h->counts_len - idx)
				return -EINVAL;
			idx += -v;
			continue;
		}
		if (idx >= h->counts_len)
			return -EINVAL;
		/* Counts of one interval that sum past INT64_MAX: refused as the
		 * merge refuses them, rather than wrapped. */
		if (v > INT64_MAX - total)
			return -EOVERFLOW;
		if (v > 0) {
			if (first < 0)
				first = idx;
			last = idx;
		}
		h->counts[idx++] = v;
		total += v;
	}
	h->total = total;
	if (total > 0) {
		h->min = hdr_value_at_index(h, (int32_t)first);
		int64_t top = hdr_highest_equivalent(h, hdr_value_at_index(h, (int32_t)last));
		h->max = top < h->highest ? top : h->highest;
	}
	return 0;
}

/* Inflates up to `want` bytes into out. Returns the number produced, or -EINVAL. */
static long inflate_some(z_stream *zs, uint8_t *out, size_t want)
{
	zs->next_out = out;
	zs->avail_out = (uInt)want;
	int rc = inflate(zs, Z_SYNC_FLUSH);
	if (rc != Z_OK && rc != Z_STREAM_END && !(rc == Z_BUF_ERROR && zs->avail_out == 0))
		return -EINVAL;
	return (long)(want - zs->avail_out);
}

int hlog_decode(const char *base64, struct hdr **out)
{
	*out = NULL;
	uint8_t *bin = NULL, *payload = NULL;
	size_t bin_len = 0;
	struct hdr *h = NULL;
	z_stream zs;
	bool zs_live = false;
	int rc = b64_decode(base64, &bin, &bin_len);
	if (rc)
		return rc;

	rc = -EINVAL;
	if (bin_len < COMPRESSION_HEADER_LEN)
		goto out;
	if ((get_be32(bin) & ~COOKIE_WORD_SIZE_BITS) != COMPRESSION_COOKIE_BASE)
		goto out; /* V0/V1 logs (older word-sized encodings) are not supported */
	uint32_t zlen = get_be32(bin + 4);
	if (zlen > bin_len - COMPRESSION_HEADER_LEN)
		goto out;

	memset(&zs, 0, sizeof(zs));
	if (inflateInit(&zs) != Z_OK) {
		rc = -ENOMEM;
		goto out;
	}
	zs_live = true;
	zs.next_in = bin + COMPRESSION_HEADER_LEN;
	zs.avail_in = zlen;

	uint8_t hdrbuf[ENCODING_HEADER_LEN];
	if (inflate_some(&zs, hdrbuf, sizeof(hdrbuf)) != ENCODING_HEADER_LEN)
		goto out;
	if ((get_be32(hdrbuf) & ~COOKIE_WORD_SIZE_BITS) != ENCODING_COOKIE_BASE)
		goto out;
	int32_t payload_len = (int32_t)get_be32(hdrbuf + 4);
	int32_t sigfigs = (int32_t)get_be32(hdrbuf + 12);
	int64_t lowest = (int64_t)get_be64(hdrbuf + 16);
	int64_t highest = (int64_t)get_be64(hdrbuf + 24);
	/* The normalizing offset and the integer-to-double ratio (bytes 8..11
	 * and 32..39) matter only inside Java's DoubleHistogram, whose logs
	 * carry another cookie ("DHIST...") and are rejected above. Integer
	 * readers ignore both, and so do we: hdr-histogram-js writes 1 and the
	 * int64 1 there while its counts are in the usual order. */
	if (payload_len < 0)
		goto out;
	rc = hdr_init(lowest, highest, sigfigs, &h);
	if (rc)
		goto out;
	rc = -EINVAL;

	/* No valid payload is longer than one maximal varint per count. */
	size_t cap = (size_t)h->counts_len * LEB128_MAX;
	payload = malloc(cap + 1);
	if (!payload) {
		rc = -ENOMEM;
		goto out;
	}
	/* The stream must end (checksum included) within the cap. */
	zs.next_out = payload;
	zs.avail_out = (uInt)(cap + 1);
	if (inflate(&zs, Z_FINISH) != Z_STREAM_END)
		goto out;
	size_t got = cap + 1 - zs.avail_out;
	if (got > cap)
		goto out;
	/* Java reads exactly payload_len bytes; early HdrHistogram_c wrote a
	 * payload length that included the 40-byte header, so take whichever
	 * is shorter rather than reject those logs. */
	size_t use = got < (size_t)payload_len ? got : (size_t)payload_len;
	rc = apply_counts(h, payload, use);
out:
	if (zs_live)
		inflateEnd(&zs);
	free(bin);
	free(payload);
	if (rc) {
		hdr_free(h);
		return rc;
	}
	*out = h;
	return 0;
}

/* ------------------------------------------------------------------ log -- */

int hlog_write_header(FILE *f, double start_epoch_s)
{
	time_t t = (time_t)floor(start_epoch_s);
	struct tm tm;
	char when[64] = "";
	if (gmtime_r(&t, &tm))
		strftime(when, sizeof(when), "%a %b %d %H:%M:%S UTC %Y", &tm);
	/* BaseTime says that interval start times are offsets from it, so
	 * Java's reader need not guess between absolute and relative times. */
	if (fprintf(f,
		    "#[Histogram log format version 1.3]\n"
		    "#[StartTime: %.3f (seconds since epoch), %s]\n"
		    "#[BaseTime: %.3f (seconds since epoch)]\n"
		    "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\","
		    "\"Interval_Compressed_Histogram\"\n",
		    start_epoch_s, when, start_epoch_s) < 0)
		return -EIO;
	return 0;
}

int hlog_write_interval(FILE *f, double start_s, double length_s, const struct hdr *h, double max_divisor)
{
	if (!(max_divisor > 0))
		return -EINVAL;
	char *text = hlog_encode(h);
	if (!text)
		return -ENOMEM;
	int rc = fprintf(f, "%.3f,%.3f,%.3f,%s\n", start_s, length_s, (double)hdr_max(h) / max_divisor, text);
	free(text);
	return rc < 0 ? -EIO : 0;
}

/* Parses one double field ending at `end_char`; advances *p past it. */
static bool field_double(char **p, char end_char, double *out)
{
	char *end;
	errno = 0;
	*out = strtod(*p, &end);
	if (end == *p || *end != end_char || errno == ERANGE || !isfinite(*out))
		return false;
	*p = end + 1;
	return true;
}

/* The Interval_Max column carries the exact max divided by a unit ratio the
 * reader is not told; try the usual ones and keep the first that lands in
 * the decoded max's bucket, so the merged max stays exact. */
static void refine_max(struct hdr *h, double column)
{
	static const double ratios[] = {1.0, 1e3, 1e6, 1e9};
	if (h->total == 0)
		return;
	int64_t lo = hdr_lowest_equivalent(h, h->max);
	for (size_t i = 0; i < sizeof(ratios) / sizeof(ratios[0]); i++) {
		double v = round(column * ratios[i]);
		if (v >= (double)lo && v <= (double)h->max) {
			h->max = (int64_t)v;
			return;
		}
	}
}

/* Adds one decoded interval into *total, growing *total when the interval
 * has a wider range. Returns 0, -ERANGE when values would be dropped,
 * -EOVERFLOW when the merged counts would exceed INT64_MAX, -ENOMEM. */
int hlog_add_interval(struct hdr **total, struct hdr *dec)
{
	if (!*total) {
		*total = dec;
		return 0;
	}
	struct hdr *t = *total;
	if (dec->highest > t->highest) {
		struct hdr *wider;
		int rc = hdr_init(t->lowest, dec->highest, t->sigfigs, &wider);
		if (rc) {
			hdr_free(dec);
			return rc;
		}
		/* Into an empty histogram with a wider range: nothing can be dropped or overflow. */
		hdr_merge(wider, t);
		hdr_free(t);
		*total = t = wider;
	}
	int64_t dropped = hdr_merge(t, dec);
	hdr_free(dec);
	return dropped < 0 ? (int)dropped : dropped ? -ERANGE : 0;
}

/*
 * Reads one line of f into *line (NUL-terminated, newline dropped), growing
 * it up to HLOG_MAX_LINE bytes. Returns the length, -1 at the end of the
 * input, -E2BIG for a longer line or -EILSEQ for a NUL byte (no text log
 * holds one), both at once: the caller stops at the first bad line, so
 * time and memory stay bounded whatever the input is (/dev/zero, an endless
 * line). The bytes are taken one by one because fgets cannot say how much
 * it read when the input holds NUL bytes (strlen stops at the first): that
 * made /dev/zero an endless loop that read and never advanced.
 */
static long read_line(FILE *f, char **line, size_t *cap)
{
	size_t len = 0;
	for (;;) {
		if (len + 1 >= *cap) {
			if (*cap >= HLOG_MAX_LINE + 1)
				return -E2BIG;
			size_t ncap = *cap ? *cap * 2 : 4096;
			if (ncap > HLOG_MAX_LINE + 1)
				ncap = HLOG_MAX_LINE + 1;
			char *nl = realloc(*line, ncap);
			if (!nl)
				return -ENOMEM;
			*line = nl;
			*cap = ncap;
		}
		int c = getc_unlocked(f);
		if (c == EOF) {
			if (len == 0)
				return -1;
			break;
		}
		if (c == '\n')
			break;
		if (c == '\0')
			return -EILSEQ;
		(*line)[len++] = (char)c;
	}
	(*line)[len] = '\0';
	return (long)len;
}

/* One interval line: its times and its histogram, decoded (and its max refined). */
static int parse_line(char *line, double *start, double *length, struct hdr **out)
{
	char *p = line;
	if (strncmp(p, "Tag=", 4) == 0) {
		p = strchr(p, ',');
		if (!p)
			return -EINVAL;
		p++;
	}
	double max_col;
	if (!field_double(&p, ',', start) || !field_double(&p, ',', length) || !field_double(&p, ',', &max_col))
		return -EINVAL;
	int rc = hlog_decode(p, out);
	if (rc)
		return rc;
	refine_max(*out, max_col);
	return 0;
}

struct hlog_reader {
	FILE *f;
	char *line;
	size_t cap;
	long lineno;
	double start_time, base_time; /* from the #[StartTime: ...] and #[BaseTime: ...] headers; NAN when absent */
	int io_error;		      /* the last read error that was no line's */
};

int hlog_reader_new(FILE *f, struct hlog_reader **out)
{
	struct hlog_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->f = f;
	r->start_time = r->base_time = NAN;
	*out = r;
	return 0;
}

void hlog_reader_free(struct hlog_reader *r)
{
	if (!r)
		return;
	free(r->line);
	free(r);
}

long hlog_reader_bad_line(const struct hlog_reader *r, int rc)
{
	return rc == r->io_error ? 0 : r->lineno;
}

/* "#[StartTime: 1700000000.123 (seconds since epoch), ...]": the number. */
static void header_time(const char *line, const char *name, double *out)
{
	size_t n = strlen(name);
	if (strncmp(line, name, n) != 0)
		return;
	char *end;
	double v = strtod(line + n, &end);
	if (end != line + n && isfinite(v) && v >= 0)
		*out = v;
}

/* Java's HistogramLogReader: start times are offsets from BaseTime when the
 * log gives one; without it, offsets from StartTime when they are too small
 * to be seconds since the epoch themselves (before 2001), else absolute. */
static double absolute(const struct hlog_reader *r, double start)
{
	if (!isnan(r->base_time))
		return r->base_time + start;
	if (!isnan(r->start_time) && start < 1e9)
		return r->start_time + start;
	return start;
}

int hlog_reader_next(struct hlog_reader *r, struct hlog_interval *iv)
{
	long len;
	errno = 0;
	while ((len = read_line(r->f, &r->line, &r->cap)) != -1) {
		r->lineno++;
		if (len < 0)
			return (int)len;
		char *line = r->line;
		while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t'))
			line[--len] = '\0';
		/* Comments (#[...] headers), the column legend and blank lines. */
		if (line[0] == '#') {
			header_time(line, "#[StartTime: ", &r->start_time);
			header_time(line, "#[BaseTime: ", &r->base_time);
			continue;
		}
		if (len == 0 || line[0] == '"')
			continue;
		double start, length;
		int rc = parse_line(line, &start, &length, &iv->h);
		if (rc)
			return rc;
		iv->start_s = absolute(r, start);
		iv->length_s = length;
		return 1;
	}
	if (ferror(r->f))
		return r->io_error = errno ? -errno : -EIO;
	return 0;
}

int hlog_read_merge(FILE *f, struct hdr **total, long *intervals, long *bad_line)
{
	struct hlog_reader *r;
	struct hlog_interval iv;
	*intervals = 0;
	*bad_line = 0;
	int rc = hlog_reader_new(f, &r);
	if (rc)
		return rc;
	while ((rc = hlog_reader_next(r, &iv)) == 1) {
		if ((rc = hlog_add_interval(total, iv.h)) != 0)
			break;
		(*intervals)++;
	}
	if (rc)
		*bad_line = hlog_reader_bad_line(r, rc);
	hlog_reader_free(r);
	return rc;
}
