/*
 * cmd_hist.c - `herd hist` (and the `mmhistogram` link): numbers on stdin
 * to mmhistogram's summary and histogram, byte for byte for valid input.
 *
 * Input is read in large blocks and parsed by a small decimal parser that
 * handles the common forms exactly (Clinger's fast path) and hands anything
 * else to strtod, so results equal Python's float(). Values are kept in one
 * growing array of doubles (8 bytes per value); --approx keeps only
 * constant-size counts (the HDR histogram and the rows), and --merge reads
 * HdrHistogram logs instead of stdin.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "lib/hdr.h"
#include "hist/hist.h"
#include "hist/histnum.h"
#include "lib/hlog.h"
#include "lib/util.h"

#define READ_BLOCK (1u << 20)
/* Longer than any number is written: a longer line is reported and skipped. */
#define MAX_LINE 4096
#define MAX_REPORTED_BAD 10
#define MAX_PERCENTILES 64
/* --approx records value * APPROX_SCALE as an integer. */
#define APPROX_SCALE 1000.0
#define APPROX_HIGHEST (INT64_C(1) << 62)

static const char *prog = "herd hist";

static void usage(FILE *out)
{
	fprintf(out,
		"usage: %s [OPTIONS] < NUMBERS\n"
		"       %s --merge [OPTIONS] A.hlog [B.hlog ...]\n"
		"\n"
		"Reads one number per line on stdin and prints mmhistogram's summary\n"
		"(min avg med max dev count) and a log2 histogram, byte for byte.\n"
		"\n"
		"mmhistogram options:\n"
		"  -t, --title TEXT       title (default \"Values\")\n"
		"  -c, --columns N        width of the star bar, 0..10000 (default 50)\n"
		"  -b, --base B           log base >= 2, or with -l the bucket width >= 1 (default 2)\n"
		"  -l, --linear           linear buckets instead of log (at most %d rows)\n"
		"  -j, --justval          one row per distinct value (label = value truncated)\n"
		"  -p, --percentage       counts as percentages of the total\n"
		"herd's additions:\n"
		"  -P, --percentiles LIST one more line after the summary, e.g. -P 50,90,99,99.9:\n"
		"                         \"TITLE p50:X p90:X ...\". Nearest rank: the smallest input\n"
		"                         value with at least p%% of the values at or below it\n"
		"                         (HdrHistogram's definition, computed exactly).\n"
		"  --strict               a line that is not a number is fatal (exit 1); without\n"
		"                         it such lines are reported on stderr and skipped\n"
		"  --approx               constant memory for inputs too large to keep: values are\n"
		"                         recorded in an HDR histogram as round(value * 1000), so\n"
		"                         they must be >= 0 (e.g. milliseconds with microsecond\n"
		"                         resolution). count, min, max, avg and the rows stay\n"
		"                         exact; dev is computed online; med and -P are bucket\n"
		"                         midpoints, within 0.1%% (3 significant digits).\n"
		"                         Not with -j.\n"
		"  --merge                read HdrHistogram interval logs (herd bench --hlog, or\n"
		"                         any Java/C HdrHistogram log, format 1.x, V2 encoding)\n"
		"                         named on the command line and print one summary of all\n"
		"                         of them, with -P defaulting to 50,90,99,99.9,99.99.\n"
		"                         Percentiles and med as HdrHistogram reports them (the\n"
		"                         top of the value's bucket, capped at max); avg and dev\n"
		"                         from bucket midpoints. Not with -j.\n"
		"  --divisor D            with --merge: shown value = recorded value / D\n"
		"                         (default 1000: herd bench's microseconds as ms)\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 ok, 1 no input or a failure, 2 bad option.\n",
		prog, prog, HIST_MAX_ROWS);
}

/* ------------------------------------------------------------ reading -- */

struct reader {
	bool strict;
	bool approx;
	long lineno;
	long bad;
	/* exact mode */
	double *v;
	size_t n, cap;
	/* approx mode */
	struct hdr *h;
	struct hist_rows *rows;
	size_t count;
	double sum, min, max, mean, m2;
};

static void show_line(const char *p, const char *e, const char *why, long lineno)
{
	while (p < e && histnum_is_space(*p))
		p++;
	while (e > p && histnum_is_space(e[-1]))
		e--;
	char shown[84];
	size_t n = 0;
	for (; p < e && n < 80; p++)
		shown[n++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
	shown[n] = '\0';
	fprintf(stderr, "%s: line %ld: %s: '%s%s'\n", prog, lineno, why, shown, p < e ? "..." : "");
}

/* Returns 0, or 1 when the run must stop (strict mode, out of memory). */
static int bad_line(struct reader *r, const char *p, const char *e, const char *why)
{
	r->bad++;
	if (r->strict || r->bad <= MAX_REPORTED_BAD)
		show_line(p, e, why, r->lineno);
	if (!r->strict && r->bad == MAX_REPORTED_BAD)
		fprintf(stderr, "%s: further bad lines are counted, not shown\n", prog);
	return r->strict ? 1 : 0;
}

static int take_approx(struct reader *r, double x, const char *p, const char *e)
{
	double scaled = round(x * APPROX_SCALE);
	if (!(scaled >= 0 && scaled <= (double)APPROX_HIGHEST))
		return bad_line(r, p, e, "out of range for --approx (0 up to 4.6e15)");
	int rc = hist_rows_add(r->rows, x, 1);
	if (rc == -E2BIG) {
		fprintf(stderr, "%s: line %ld: %g needs more than %d linear rows; use a larger -b\n", prog, r->lineno,
			x, HIST_MAX_ROWS);
		return 1;
	}
	if (rc) {
		fprintf(stderr, "%s: %s\n", prog, strerror(-rc));
		return 1;
	}
	hdr_record(r->h, (int64_t)scaled);
	if (r->count == 0 || x < r->min)
		r->min = x;
	if (r->count == 0 || x > r->max)
		r->max = x;
	r->count++;
	r->sum += x;
	/* Welford: the deviation without keeping the values. */
	double d = x - r->mean;
	r->mean += d / (double)r->count;
	r->m2 += d * (x - r->mean);
	return 0;
}

/* Keeps one parsed value (p..e is its line, for messages). */
static int take_value(struct reader *r, double x, const char *p, const char *e)
{
	if (r->approx)
		return take_approx(r, x, p, e);
	if (r->n == r->cap) {
		/* Doubling; glibc's realloc moves big blocks with mremap, so the
		 * peak stays near 8 bytes per value. */
		size_t cap = r->cap ? r->cap * 2 : 65536;
		double *nv = realloc(r->v, cap * sizeof(*nv));
		if (!nv) {
			fprintf(stderr, "%s: out of memory after %zu values (try --approx)\n", prog, r->n);
			return 1;
		}
		r->v = nv;
		r->cap = cap;
	}
	r->v[r->n++] = x;
	return 0;
}

/* Reports the over-long line that starts at p (e: as much of it as is in
 * the buffer). Returns 0, or 1 when the run must stop. */
static int long_line(struct reader *r, const char *p, const char *e)
{
	char why[48];
	snprintf(why, sizeof why, "longer than %d bytes", MAX_LINE);
	return bad_line(r, p, e, why);
}

static int take_line(struct reader *r, const char *p, const char *e)
{
	double x;
	r->lineno++;
	/* The same rule whether the line came in one read or several. */
	if (e - p > MAX_LINE)
		return long_line(r, p, e);
	if (!histnum_parse(p, e, &x))
		return bad_line(r, p, e, "not a number");
	return take_value(r, x, p, e);
}

/*
 * Reads stdin to the end. Returns 0, or 1 after printing why it stopped.
 *
 * Linear in the input and bounded in memory whatever it holds: the buffer
 * never grows, every byte is searched for a newline once (a partial line
 * kept from the last read is not rescanned), and a line longer than
 * MAX_LINE is reported as soon as that much of it is here, then skipped
 * to its end without being kept.
 */
static int read_input(struct reader *r, int fd)
{
	char *buf = malloc(READ_BLOCK);
	if (!buf) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	size_t len = 0;	       /* a partial line kept at buf[0..len) */
	bool skipping = false; /* inside an over-long line, already reported */
	int rc = 0;
	for (;;) {
		ssize_t got = read(fd, buf + len, READ_BLOCK - len);
		if (got < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "%s: reading stdin: %s\n", prog, strerror(errno));
			rc = 1;
			break;
		}
		if (got == 0) {
			if (len > 0)
				rc = take_line(r, buf, buf + len);
			break;
		}
		/* [buf, scan_from) is a partial line: no newline in it. */
		const char *scan_from = buf + len;
		const char *line = buf, *end = scan_from + got;
		if (skipping) {
			const char *nl = memchr(scan_from, '\n', (size_t)(end - scan_from));
			if (!nl)
				continue; /* len is 0: the whole block is dropped */
			skipping = false;
			line = nl + 1;
		}
		while (line < end) {
			double x;
			/* The fast path only for lines that start in the new bytes:
			 * a kept partial line would be rescanned on every read. */
			const char *next = line >= scan_from ? histnum_fast_line(line, end, &x) : NULL;
			if (next) {
				r->lineno++;
				rc = take_value(r, x, line, next - 1);
			} else {
				const char *from = line > scan_from ? line : scan_from;
				const char *nl = memchr(from, '\n', (size_t)(end - from));
				if (!nl)
					break;
				rc = take_line(r, line, nl);
				next = nl + 1;
			}
			if (rc)
				goto out;
			line = next;
		}
		len = (size_t)(end - line);
		if (len > MAX_LINE) {
			r->lineno++;
			if ((rc = long_line(r, line, end)))
				goto out;
			skipping = true;
			len = 0;
			continue;
		}
		memmove(buf, line, len);
	}
out:
	free(buf);
	return rc;
}

/* ------------------------------------------------------------ helpers -- */

/* Parses "50,90,99.9". Returns 0, or prints what is wrong and returns EXIT_USAGE. */
static int parse_percentiles(const char *arg, double *out, size_t *n)
{
	*n = 0;
	const char *p = arg;
	for (;;) {
		size_t len = strcspn(p, ",");
		char tok[64];
		if (*n == MAX_PERCENTILES || len == 0 || len >= sizeof(tok))
			goto bad;
		memcpy(tok, p, len);
		tok[len] = '\0';
		if (util_parse_double(tok, 0, 100, &out[*n]))
			goto bad;
		(*n)++;
		if (p[len] == '\0')
			return 0;
		p += len + 1;
	}
bad:
	return cmd_usage_error(prog, "bad value '%s' for -P/--percentiles (up to %d numbers 0..100, comma-separated)",
			       arg, MAX_PERCENTILES);
}

/* The value at 1-based rank k of a histogram: a bucket midpoint (mid) or
 * HdrHistogram's highest equivalent value. */
static int64_t hdr_at_rank(const struct hdr *h, int64_t k, bool mid)
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

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static int64_t rank_for(double p, int64_t n)
{
	double q = nextafter(p, -INFINITY);
	double r = ceil((q < 0 ? 0 : q) * (double)n / 100.0);
	/* (double)n may round up past INT64_MAX: compare before converting. */
	return r < 1 ? 1 : r >= (double)n ? n : (int64_t)r;
}

static int print_result(int rc)
{
	if (rc == 0) {
		if (fflush(stdout) != 0) {
			fprintf(stderr, "%s: writing output: %s\n", prog, strerror(errno));
			return 1;
		}
		return 0;
	}
	if (rc == -E2BIG)
		fprintf(stderr, "%s: the values need more than %d linear rows; use a larger -b\n", prog, HIST_MAX_ROWS);
	else
		fprintf(stderr, "%s: %s\n", prog, strerror(-rc));
	return 1;
}

/* ---------------------------------------------------------- --merge -- */

/* Reads every log into *total. Returns 0, or 1 after printing why not. */
static int merge_logs(char **files, int nfiles, struct hdr **total, long *intervals)
{
	for (int i = 0; i < nfiles; i++) {
		FILE *f = strcmp(files[i], "-") == 0 ? stdin : fopen(files[i], "r");
		if (!f)
			return cmd_fail(prog, "%s: %s", files[i], strerror(errno));
		long n = 0, bad = 0;
		int rc = hlog_read_merge(f, total, &n, &bad);
		if (f != stdin)
			fclose(f);
		*intervals += n;
		switch (rc) {
		case 0:
			break;
		case -EINVAL:
			return cmd_fail(prog, "%s: line %ld: not an HdrHistogram interval line", files[i], bad);
		case -ERANGE:
			return cmd_fail(prog, "%s: line %ld: values outside the merged range", files[i], bad);
		case -EOVERFLOW:
			return cmd_fail(prog, "%s: line %ld: counts overflow", files[i], bad);
		case -E2BIG:
			return cmd_fail(prog, "%s: line %ld: longer than %u bytes", files[i], bad, HLOG_MAX_LINE);
		case -EILSEQ:
			return cmd_fail(prog, "%s: line %ld: a NUL byte (not a text .hlog file)", files[i], bad);
		default:
			return cmd_fail(prog, "%s: %s", files[i], strerror(-rc));
		}
	}
	return 0;
}

/* The rows and summary of a merged histogram, values divided by divisor. */
static int summarise_merge(const struct hdr *total, const struct hist_options *o, double divisor,
			   struct hist_rows **rows, struct hist_summary *s, double *pv)
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
		.med = clamp((double)hdr_at_rank(total, n - n / 2, false), lo, hi) / divisor,
		.pvalues = pv,
	};
	for (size_t i = 0; i < o->npercentiles; i++)
		pv[i] = clamp((double)hdr_value_at_percentile(total, o->percentiles[i]), lo, hi) / divisor;
	return 0;
}

static int run_merge(char **files, int nfiles, struct hist_options *o, double divisor)
{
	static const double defaults[] = {50, 90, 99, 99.9, 99.99};
	if (o->npercentiles == 0) {
		o->percentiles = defaults;
		o->npercentiles = sizeof(defaults) / sizeof(defaults[0]);
	}
	struct hdr *total = NULL;
	struct hist_rows *rows = NULL;
	struct hist_summary s;
	long intervals = 0;
	int status = merge_logs(files, nfiles, &total, &intervals);
	double *pv = calloc(o->npercentiles, sizeof(*pv));
	if (status)
		goto out;
	if (!total || total->total == 0) {
		status = cmd_fail(prog, "no values in %d log%s (%ld intervals)", nfiles, nfiles == 1 ? "" : "s",
				  intervals);
		goto out;
	}
	int rc = pv ? summarise_merge(total, o, divisor, &rows, &s, pv) : -ENOMEM;
	if (rc) {
		status = print_result(rc);
		goto out;
	}
	cmd_note(prog, "merged %ld interval%s from %d log%s", intervals, intervals == 1 ? "" : "s", nfiles,
		 nfiles == 1 ? "" : "s");
	status = print_result(hist_print(stdout, &s, rows, o));
out:
	hdr_free(total);
	hist_rows_free(rows);
	free(pv);
	return status;
}

/* --------------------------------------------------------- from stdin -- */

/* Prints the --approx result: exact count, min, max, avg, dev and rows;
 * med and percentiles from bucket midpoints. */
static int print_approx(struct reader *r, const struct hist_options *o)
{
	double *pv = calloc(o->npercentiles + 1, sizeof(*pv));
	if (!pv)
		return print_result(-ENOMEM);
	int64_t n = (int64_t)r->count;
	struct hist_summary s = {
		.count = r->count,
		.min = r->min,
		.max = r->max,
		.avg = r->sum / (double)r->count,
		.dev = sqrt(r->m2 / (double)r->count),
		.med = clamp((double)hdr_at_rank(r->h, n - n / 2, true) / APPROX_SCALE, r->min, r->max),
		.pvalues = pv,
	};
	for (size_t i = 0; i < o->npercentiles; i++)
		pv[i] = clamp((double)hdr_at_rank(r->h, rank_for(o->percentiles[i], n), true) / APPROX_SCALE, r->min,
			      r->max);
	int status = print_result(hist_print(stdout, &s, r->rows, o));
	free(pv);
	return status;
}

static int run_stdin(const struct hist_options *o, bool strict, bool approx)
{
	struct reader r = {.strict = strict, .approx = approx};
	int status = 1;
	if (approx) {
		int rc = hdr_init(1, APPROX_HIGHEST, HDR_LATENCY_SIGFIGS, &r.h);
		if (!rc)
			rc = hist_rows_new(o, &r.rows);
		if (rc) {
			status = print_result(rc);
			goto out;
		}
	}
	if (read_input(&r, STDIN_FILENO))
		goto out;
	if (r.bad)
		cmd_note(prog, "skipped %ld bad line%s", r.bad, r.bad == 1 ? "" : "s");
	if ((approx ? r.count : r.n) == 0) {
		status = cmd_fail(prog, "no input: expected one number per line on stdin");
		goto out;
	}
	status = approx ? print_approx(&r, o) : print_result(hist_render(stdout, r.v, r.n, o));
out:
	free(r.v);
	hdr_free(r.h);
	hist_rows_free(r.rows);
	return status;
}

/* --------------------------------------------------------------- main -- */

/* What the command line asks for. */
struct hist_cli {
	struct hist_options o;
	double pct[MAX_PERCENTILES];
	bool strict, approx, merge;
	double divisor;
	char **files; /* --merge's logs */
	int nfiles;
};

static int bad_value(const char *flag, const char *value, const char *want)
{
	return cmd_usage_error(prog, "bad value '%s' for %s (%s)", value, flag, want);
}

/* Reads the flags into cli. Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct hist_cli *cli)
{
	enum { OPT_STRICT = 256, OPT_APPROX, OPT_MERGE, OPT_DIVISOR };
	static const struct option longopts[] = {
		{"title", required_argument, NULL, 't'},
		{"columns", required_argument, NULL, 'c'},
		{"base", required_argument, NULL, 'b'},
		{"linear", no_argument, NULL, 'l'},
		{"justval", no_argument, NULL, 'j'},
		{"percentage", no_argument, NULL, 'p'},
		{"percentiles", required_argument, NULL, 'P'},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"approx", no_argument, NULL, OPT_APPROX},
		{"merge", no_argument, NULL, OPT_MERGE},
		{"divisor", required_argument, NULL, OPT_DIVISOR},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hist_options *o = &cli->o;
	uint64_t u;
	int c;

	cmd_getopt_reset();
	while ((c = getopt_long(argc, argv, ":t:c:b:ljpP:h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o->title = optarg;
			break;
		case 'c':
			if (util_parse_u64(optarg, 0, 10000, &u))
				return bad_value("-c/--columns", optarg, "an integer 0..10000");
			o->columns = (int)u;
			break;
		case 'b':
			if (util_parse_u64(optarg, 1, INT32_MAX, &u))
				return bad_value("-b/--base", optarg, "an integer >= 1 (>= 2 without -l)");
			o->base = (int)u;
			break;
		case 'l':
			o->linear = true;
			break;
		case 'j':
			o->justval = true;
			break;
		case 'p':
			o->percentage = true;
			break;
		case 'P':
			if (parse_percentiles(optarg, cli->pct, &o->npercentiles))
				return EXIT_USAGE;
			o->percentiles = cli->pct;
			break;
		case OPT_STRICT:
			cli->strict = true;
			break;
		case OPT_APPROX:
			cli->approx = true;
			break;
		case OPT_MERGE:
			cli->merge = true;
			break;
		case OPT_DIVISOR:
			if (util_parse_double(optarg, 1e-300, 1e300, &cli->divisor))
				return bad_value("--divisor", optarg, "a number > 0");
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			return cmd_getopt_error(prog, c, argv);
		}
	}
	cli->files = argv + optind;
	cli->nfiles = argc - optind;
	return -1;
}

/* Checks the flags against each other. Returns -1 to go on, or EXIT_USAGE. */
static int validate(const struct hist_cli *cli)
{
	if (!cli->o.linear && cli->o.base < 2) {
		char b[16];
		snprintf(b, sizeof(b), "%d", cli->o.base);
		return bad_value("-b/--base", b, "log base must be >= 2; -l allows 1");
	}
	if (cli->o.justval && (cli->approx || cli->merge))
		return cmd_usage_error(prog, "-j cannot be combined with %s", cli->approx ? "--approx" : "--merge");
	if (cli->approx && cli->merge)
		return cmd_usage_error(prog, "--approx and --merge exclude each other");
	if (cli->merge && cli->nfiles == 0)
		return cmd_usage_error(prog, "--merge needs at least one log file");
	if (!cli->merge && cli->nfiles > 0)
		return cmd_usage_error(prog, "unexpected argument '%s' (numbers come on stdin)", cli->files[0]);
	return -1;
}

int cmd_hist(int argc, char **argv)
{
	struct hist_cli cli = {.divisor = 1000};
	hist_options_init(&cli.o);
	prog = strcmp(argv[0], "mmhistogram") == 0 ? "mmhistogram" : "herd hist";

	int rc = parse_args(argc, argv, &cli);
	if (rc < 0)
		rc = validate(&cli);
	if (rc >= 0)
		return rc;
	if (cli.merge)
		return run_merge(cli.files, cli.nfiles, &cli.o, cli.divisor);
	return run_stdin(&cli.o, cli.strict, cli.approx);
}
