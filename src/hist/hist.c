/*
 * hist.c - mmhistogram's statistics and text histogram, byte for byte.
 *
 * The original (a Python 2 script, cloudflare/cloudflare-blog, folder
 * 2017-06-29-ssdp; its output is described in docs/hist.md) sorts all
 * values in descending order, sums them in that order, takes the element
 * at N/2 of that order as the median, and buckets with exact integer bounds: b^i in log mode, b*i in
 * linear mode, each distinct value with -j. Labels are Python integers
 * (arbitrarily large) printed with %d.
 *
 * Here the values are sorted only when that is cheap (up to SORT_LIMIT
 * values) or needed (-j); then every sum runs in the original's order and
 * the output is bit-for-bit the original's. Above the limit the median and
 * percentiles come from in-place selection and the sums run in input order,
 * which can change avg or dev only in the last bits of a double, never in
 * their two printed decimals unless a value sits within ~1e-12 of a
 * rounding boundary.
 */
#include "hist/hist.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SORT_LIMIT (1u << 20)

/*
 * The plain sums overflow for values near DBL_MAX (three of 1e308 gave
 * avg:inf dev:inf, though the mean is 1e308 and the deviation 0): then the
 * mean and deviation are taken again from scaled terms, which cannot
 * overflow. Every other input keeps the original's sums, bit for bit.
 */
static void finite_stats(const double *v, size_t n, struct hist_summary *s)
{
	double avg = 0, scale = 0, sq = 0;
	for (size_t i = 0; i < n; i++)
		avg += v[i] / (double)n;
	for (size_t i = 0; i < n; i++)
		scale = fmax(scale, fabs(v[i] - avg));
	for (size_t i = 0; scale > 0 && i < n; i++) {
		double d = (v[i] - avg) / scale;
		sq += d * d;
	}
	s->avg = avg;
	s->dev = scale > 0 ? scale * sqrt(sq / (double)n) : 0;
}
#define MAX_COLUMNS 10000
/* Decimal digits of the largest label: b^k < DBL_MAX, so at most
 * DBL_MAX_10_EXP + 1 digits; a few more for the sign and the NUL. */
#define LABEL_CHARS (DBL_MAX_10_EXP + 8)

void hist_options_init(struct hist_options *o)
{
	memset(o, 0, sizeof(*o));
	o->title = "Values";
	o->columns = 50;
	o->base = 2;
}

static int check_options(const struct hist_options *o)
{
	if (!o->title || o->columns < 0 || o->columns > MAX_COLUMNS)
		return -EINVAL;
	if (o->linear ? o->base < 1 : o->base < 2)
		return -EINVAL;
	if (o->npercentiles && !o->percentiles)
		return -EINVAL;
	for (size_t i = 0; i < o->npercentiles; i++)
		if (!(o->percentiles[i] >= 0 && o->percentiles[i] <= 100))
			return -EINVAL;
	return 0;
}

/* ------------------------------------------------- exact big integers -- */

/* A non-negative integer as little-endian base-1e9 limbs; labels are b^k,
 * which Python prints exactly however large. */
#define LIMB_BASE 1000000000u
#define MAX_LIMBS ((LABEL_CHARS + 8) / 9 + 2)

struct bigint {
	size_t n;
	uint32_t limb[MAX_LIMBS];
};

static void big_set(struct bigint *b, uint32_t v)
{
	b->limb[0] = v % LIMB_BASE;
	b->limb[1] = v / LIMB_BASE;
	b->n = b->limb[1] ? 2 : 1;
}

/* Multiplies by m; returns false when the result would not fit (larger
 * than any finite double, so never printed). */
static bool big_mul(struct bigint *b, uint32_t m)
{
	uint64_t carry = 0;
	for (size_t i = 0; i < b->n; i++) {
		uint64_t t = (uint64_t)b->limb[i] * m + carry;
		b->limb[i] = (uint32_t)(t % LIMB_BASE);
		carry = t / LIMB_BASE;
	}
	while (carry) {
		if (b->n == MAX_LIMBS)
			return false;
		b->limb[b->n++] = (uint32_t)(carry % LIMB_BASE);
		carry /= LIMB_BASE;
	}
	return true;
}

static void big_str(const struct bigint *b, char *buf, size_t cap)
{
	size_t len = (size_t)snprintf(buf, cap, "%u", b->limb[b->n - 1]);
	for (size_t i = b->n - 1; i-- > 0 && len < cap;)
		len += (size_t)snprintf(buf + len, cap - len, "%09u", b->limb[i]);
}

/* The largest double <= the integer written in decimal in dec. */
static double round_down(const char *dec)
{
	double d = strtod(dec, NULL);
	if (isinf(d))
		return DBL_MAX;
	char back[LABEL_CHARS + 4];
	snprintf(back, sizeof(back), "%.0f", d);
	size_t a = strlen(back), b = strlen(dec);
	if (a > b || (a == b && strcmp(back, dec) > 0))
		d = nextafter(d, 0);
	return d;
}

/* ------------------------------------------------------------- rows -- */

struct hist_rows {
	bool linear;
	uint32_t base;
	uint64_t *counts;
	size_t nrows; /* rows in use: 1 + the highest row holding a value */
	size_t cap;
	/* Log mode: bound[i] is the largest double <= base^i, so that
	 * v <= base^i exactly when v <= bound[i]; the last entry is +inf. */
	double *bound;
	size_t nbound;
};

int hist_rows_new(const struct hist_options *o, struct hist_rows **out)
{
	*out = NULL;
	int rc = check_options(o);
	if (rc)
		return rc;
	if (o->justval)
		return -EINVAL;
	struct hist_rows *r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->linear = o->linear;
	r->base = (uint32_t)o->base;
	if (!r->linear) {
		/* base >= 2 and base^k <= DBL_MAX: at most DBL_MAX_EXP + 1 bounds. */
		r->bound = malloc((DBL_MAX_EXP + 2) * sizeof(*r->bound));
		if (!r->bound)
			goto nomem;
		struct bigint p;
		char dec[LABEL_CHARS];
		big_set(&p, 1);
		for (;;) {
			big_str(&p, dec, sizeof(dec));
			if (isinf(strtod(dec, NULL))) {
				/* Beyond DBL_MAX every finite value is below the bound. */
				r->bound[r->nbound++] = INFINITY;
				break;
			}
			r->bound[r->nbound++] = round_down(dec);
			if (!big_mul(&p, r->base)) {
				r->bound[r->nbound++] = INFINITY;
				break;
			}
		}
		r->cap = r->nbound;
	} else {
		r->cap = 64;
	}
	r->counts = calloc(r->cap, sizeof(*r->counts));
	if (!r->counts)
		goto nomem;
	*out = r;
	return 0;
nomem:
	hist_rows_free(r);
	return -ENOMEM;
}

void hist_rows_free(struct hist_rows *r)
{
	if (!r)
		return;
	free(r->counts);
	free(r->bound);
	free(r);
}

/* Row of v in log mode: 0 for v <= 1, else the smallest i with v <= base^i. */
static size_t log_row(const struct hist_rows *r, double v)
{
	if (!(v > 1))
		return 0;
	if (r->base == 2) {
		/* v = m * 2^e with m in [0.5, 1): v <= 2^e, and v <= 2^(e-1)
		 * only when v is that power exactly. */
		int e;
		double m = frexp(v, &e);
		return m == 0.5 ? (size_t)e - 1 : (size_t)e;
	}
	size_t lo = 1, hi = r->nbound - 1; /* bound[hi] is +inf */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v <= r->bound[mid])
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Row of v in linear mode: 0 for v <= base, else i with b*i < v <= b*(i+1).
 * Sets *row; false when the row is past HIST_MAX_ROWS. */
static bool linear_row(const struct hist_rows *r, double v, size_t *row)
{
	double b = r->base;
	if (!(v > b)) {
		*row = 0;
		return true;
	}
	double q = ceil(v / b) - 1;
	if (q >= HIST_MAX_ROWS + 1.0)
		return false;
	size_t i = (size_t)q;
	/* b * i is exact (below 2^53), so these fix any rounding in v / b. */
	while (i > 0 && !(b * (double)i < v))
		i--;
	while (!(v <= b * (double)(i + 1)))
		i++;
	if (i >= HIST_MAX_ROWS)
		return false;
	*row = i;
	return true;
}

static int grow(struct hist_rows *r, size_t need)
{
	size_t cap = r->cap;
	while (cap < need)
		cap *= 2;
	uint64_t *c = realloc(r->counts, cap * sizeof(*c));
	if (!c)
		return -ENOMEM;
	memset(c + r->cap, 0, (cap - r->cap) * sizeof(*c));
	r->counts = c;
	r->cap = cap;
	return 0;
}

int hist_rows_add(struct hist_rows *r, double v, uint64_t count)
{
	if (!isfinite(v))
		return -EINVAL;
	size_t row;
	if (!r->linear) {
		row = log_row(r, v);
	} else if (!linear_row(r, v, &row)) {
		return -E2BIG;
	}
	if (row >= r->cap) {
		int rc = grow(r, row + 1);
		if (rc)
			return rc;
	}
	r->counts[row] += count;
	if (row >= r->nrows)
		r->nrows = row + 1;
	return 0;
}

/* ---------------------------------------------------------- printing -- */

/* Python 2's str(float): %.12g, with ".0" added when that looks like an int. */
static void py2_float_str(double v, char *buf, size_t cap)
{
	snprintf(buf, cap, "%.12g", v);
	if (!strpbrk(buf, ".eEni"))
		strncat(buf, ".0", cap - strlen(buf) - 1);
}

/* Python's "%d" % float: the exact integer part (truncated toward zero). */
static void py_int_of_double(double v, char *buf, size_t cap)
{
	double t = trunc(v);
	snprintf(buf, cap, "%.0f", t == 0 ? 0.0 : t);
}

static int print_head(FILE *out, const struct hist_summary *s, const struct hist_options *o, int w)
{
	fprintf(out, "%s min:%.2f avg:%.2f med=%.2f max:%.2f dev:%.2f count:%zu\n", o->title, s->min, s->avg, s->med,
		s->max, s->dev, s->count);
	if (o->npercentiles) {
		fputs(o->title, out);
		for (size_t i = 0; i < o->npercentiles; i++)
			fprintf(out, " p%g:%.2f", o->percentiles[i], s->pvalues[i]);
		fputc('\n', out);
	}
	fprintf(out, "%s:\n", o->title);
	fprintf(out, "%*s |", w, "value");
	for (int i = 0; i < o->columns; i++)
		fputc('-', out);
	fputs(" count\n", out);
	return 0;
}

/* One row: label right-aligned in w, stars right-aligned in columns. */
static void print_row(FILE *out, const char *label, int w, uint64_t c, double maxcount, size_t total,
		      const struct hist_options *o, char *bar)
{
	/* Same operations as the original: int(columns * (c / maxcount)). */
	int stars = (int)((double)o->columns * ((double)c / maxcount));
	int pad = o->columns - stars;
	memset(bar, ' ', (size_t)pad);
	memset(bar + pad, '*', (size_t)stars);
	bar[o->columns] = '\0';
	if (o->percentage)
		fprintf(out, "%*s |%s %5.2f%%\n", w, label, bar, (double)c / (double)total * 100.0);
	else
		fprintf(out, "%*s |%s %llu\n", w, label, bar, (unsigned long long)c);
}

static int label_width(size_t len)
{
	return (int)(len > 5 ? len : 5) + 1;
}

int hist_print(FILE *out, const struct hist_summary *s, const struct hist_rows *r, const struct hist_options *o)
{
	int rc = check_options(o);
	if (rc)
		return rc;
	if (s->count == 0 || r->nrows == 0 || (o->npercentiles && !s->pvalues))
		return -EINVAL;
	uint64_t maxc = 0;
	for (size_t i = 0; i < r->nrows; i++)
		if (r->counts[i] > maxc)
			maxc = r->counts[i];

	/* The width comes from the last row's label. */
	char label[LABEL_CHARS];
	struct bigint p;
	size_t last = r->nrows - 1;
	if (last == 0) {
		strcpy(label, "0");
	} else if (r->linear) {
		snprintf(label, sizeof(label), "%llu", (unsigned long long)r->base * last);
	} else {
		big_set(&p, 1);
		for (size_t i = 1; i < last; i++)
			big_mul(&p, r->base);
		big_str(&p, label, sizeof(label));
	}
	int w = label_width(strlen(label));

	char *bar = malloc((size_t)o->columns + 1);
	if (!bar)
		return -ENOMEM;
	print_head(out, s, o, w);
	big_set(&p, 1);
	for (size_t i = 0; i < r->nrows; i++) {
		if (i == 0) {
			strcpy(label, "0");
		} else if (r->linear) {
			snprintf(label, sizeof(label), "%llu", (unsigned long long)r->base * i);
		} else {
			if (i > 1)
				big_mul(&p, r->base);
			big_str(&p, label, sizeof(label));
		}
		print_row(out, label, w, r->counts[i], (double)maxc, s->count, o, bar);
	}
	free(bar);
	return ferror(out) ? -EIO : 0;
}

/* ------------------------------------------------- sort and selection -- */

static void swap(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

static void insertion_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;
		for (; j > 0 && v[j - 1] > x; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
}

static void sift_down(double *v, size_t root, size_t n)
{
	for (;;) {
		size_t c = 2 * root + 1;
		if (c >= n)
			return;
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (!(v[c] > v[root]))
			return;
		swap(&v[c], &v[root]);
		root = c;
	}
}

static void heap_sort(double *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t i = n; i-- > 1;) {
		swap(&v[0], &v[i]);
		sift_down(v, 0, i);
	}
}

/* Hoare partition around the median of three; returns the split point s:
 * v[0..s) <= pivot <= v[s..n). */
static size_t partition(double *v, size_t n)
{
	size_t mid = n / 2;
	if (v[mid] < v[0])
		swap(&v[mid], &v[0]);
	if (v[n - 1] < v[0])
		swap(&v[n - 1], &v[0]);
	if (v[n - 1] < v[mid])
		swap(&v[n - 1], &v[mid]);
	double pivot = v[mid];
	size_t i = 0, j = n - 1;
	for (;;) {
		while (v[i] < pivot)
			i++;
		while (v[j] > pivot)
			j--;
		if (i >= j)
			return j + 1;
		swap(&v[i], &v[j]);
		i++;
		j--;
	}
}

/* In-place introsort: quicksort that falls back to heapsort when the
 * recursion gets deep, so adversarial input stays O(n log n). */
static void sort_doubles(double *v, size_t n, int depth)
{
	while (n > 16) {
		if (depth-- == 0) {
			heap_sort(v, n);
			return;
		}
		size_t s = partition(v, n);
		/* Recurse into the smaller side, loop on the larger. */
		if (s < n - s) {
			sort_doubles(v, s, depth);
			v += s;
			n -= s;
		} else {
			sort_doubles(v + s, n - s, depth);
			n = s;
		}
	}
	insertion_sort(v, n);
}

static int depth_limit(size_t n)
{
	int d = 0;
	while (n >>= 1)
		d++;
	return 2 * d + 4;
}

/* Moves the k-th smallest of v[0..n) to v[k], smaller ones before it and
 * larger ones after (introselect: heapsort fallback when unlucky). */
static void select_kth(double *v, size_t n, size_t k)
{
	int depth = depth_limit(n);
	while (n > 16) {
		if (depth-- == 0) {
			sort_doubles(v, n, 0);
			return;
		}
		size_t s = partition(v, n);
		if (k < s) {
			n = s;
		} else {
			v += s;
			n -= s;
			k -= s;
		}
	}
	insertion_sort(v, n);
}

/* 1-based nearest rank of percentile p among n values, as HdrHistogram
 * counts it: one ulp below p so 99.9% of 1000 is 999, not 1000. */
static size_t rank_of(double p, size_t n)
{
	double q = nextafter(p, -INFINITY);
	if (q < 0)
		q = 0;
	double r = ceil(q * (double)n / 100.0);
	if (r < 1)
		r = 1;
	if (r > (double)n)
		r = (double)n;
	return (size_t)r;
}

/* ----------------------------------------------------------- render -- */

static int render_justval(FILE *out, const double *v, size_t n, const struct hist_summary *s,
			  const struct hist_options *o)
{
	/* One row per distinct value, ascending; maxcount first. */
	uint64_t maxc = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j] == v[i])
			j++;
		if (j - i > maxc)
			maxc = j - i;
		i = j;
	}
	char label[LABEL_CHARS];
	py2_float_str(v[n - 1], label, sizeof(label));
	int w = label_width(strlen(label));
	char *bar = malloc((size_t)o->columns + 1);
	if (!bar)
		return -ENOMEM;
	print_head(out, s, o, w);
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j] == v[i])
			j++;
		py_int_of_double(v[i], label, sizeof(label));
		print_row(out, label, w, j - i, (double)maxc, n, o, bar);
		i = j;
	}
	free(bar);
	return ferror(out) ? -EIO : 0;
}

int hist_render(FILE *out, double *values, size_t n, const struct hist_options *o)
{
	int rc = check_options(o);
	if (rc)
		return rc;
	if (n == 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!isfinite(values[i]))
			return -EINVAL;

	struct hist_summary s = {.count = n};
	double *pv = NULL;
	struct hist_rows *rows = NULL;
	if (o->npercentiles) {
		pv = calloc(o->npercentiles, sizeof(*pv));
		if (!pv)
			return -ENOMEM;
		s.pvalues = pv;
	}
	if (!o->justval) {
		rc = hist_rows_new(o, &rows);
		if (rc)
			goto out;
	}

	/* The median is the element at n/2 of the descending order, which is
	 * index n - 1 - n/2 of the ascending order. */
	size_t med_idx = n - 1 - n / 2;
	double sum = 0, dev = 0;
	if (o->justval || n <= SORT_LIMIT) {
		sort_doubles(values, n, depth_limit(n));
		/* Descending, as the original sums. */
		for (size_t i = n; i-- > 0;)
			sum += values[i];
		s.avg = sum / (double)n;
		for (size_t i = n; i-- > 0;) {
			double d = values[i] - s.avg;
			dev += d * d;
		}
		s.min = values[0];
		s.max = values[n - 1];
		s.med = values[med_idx];
		for (size_t i = 0; i < o->npercentiles; i++)
			pv[i] = values[rank_of(o->percentiles[i], n) - 1];
		if (rows) {
			for (size_t i = 0; i < n && rc == 0;) {
				size_t j = i;
				while (j < n && values[j] == values[i])
					j++;
				rc = hist_rows_add(rows, values[i], j - i);
				i = j;
			}
		}
	} else {
		s.min = s.max = values[0];
		for (size_t i = 0; i < n && rc == 0; i++) {
			double x = values[i];
			sum += x;
			if (x < s.min)
				s.min = x;
			if (x > s.max)
				s.max = x;
			rc = hist_rows_add(rows, x, 1);
		}
		s.avg = sum / (double)n;
		for (size_t i = 0; i < n; i++) {
			double d = values[i] - s.avg;
			dev += d * d;
		}
		/* Order statistics by selection: each select leaves larger
		 * values to the right, so later ranks search less. */
		select_kth(values, n, med_idx);
		s.med = values[med_idx];
		for (size_t i = 0; i < o->npercentiles; i++) {
			size_t k = rank_of(o->percentiles[i], n) - 1;
			select_kth(values, n, k);
			pv[i] = values[k];
		}
	}
	if (rc)
		goto out;
	s.dev = sqrt(dev / (double)n);
	if (!isfinite(s.avg) || !isfinite(s.dev))
		finite_stats(values, n, &s);
	rc = o->justval ? render_justval(out, values, n, &s, o) : hist_print(out, &s, rows, o);
out:
	hist_rows_free(rows);
	free(pv);
	return rc;
}
