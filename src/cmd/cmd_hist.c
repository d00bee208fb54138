/*
 * cmd_hist.c - `herd hist` (and the `mmhistogram` link): numbers on stdin
 * to mmhistogram's summary and histogram, byte for byte for valid input.
 *
 * Options, then the library does the work: hist/histread.h reads the lines
 * (numbers as Python's float() reads them, hist/histnum.h; with -f one
 * field of each line; blank lines skipped, except as mmhistogram), exact mode keeps
 * the values in one growing array of doubles (8 bytes per value) for
 * hist/hist.h to render, --approx keeps only constant-size counts
 * (hist/histapprox.h), and --merge adds up HdrHistogram logs instead of
 * reading stdin (hist/histmerge.h). This file turns their results and
 * errors into output and messages.
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "hist/hist.h"
#include "hist/histapprox.h"
#include "hist/histmerge.h"
#include "hist/histnum.h"
#include "hist/histplot.h"
#include "hist/histrank.h"
#include "hist/histread.h"
#include "lib/hdr.h"
#include "lib/hlog.h"
#include "lib/util.h"

#define MAX_REPORTED_BAD 10
#define MAX_PERCENTILES 64

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
		"  -f, --field N          read field N (1-based) of each line, fields split at runs\n"
		"                         of whitespace (benchhttp's \"ms status\": -f 1); a first\n"
		"                         line without a number there is a header, skipped\n"
		"  -d, --delimiter C      with -f: fields end at each C instead (CSV: -d ,;\n"
		"                         herd bench --records: -f 4 -d , is latency_ms)\n"
		"  --strict               a line that is not a number is fatal (exit 1); without\n"
		"                         it such lines are reported on stderr and skipped.\n"
		"                         Blank lines are skipped silently (the mmhistogram\n"
		"                         link reports them)\n"
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
		"  --intervals[=D]        with --merge: latency over time instead of one summary:\n"
		"                         per row of D (default: the logs' own interval, 1 s for\n"
		"                         herd bench) its start, length, count, rate, the -P\n"
		"                         percentiles (default 50,90,99,99.9) and max. The logs\n"
		"                         are lined up by their start times; an interval counts\n"
		"                         in the row its start falls in.\n"
		"  --html FILE            with --merge: also write those rows as a chart of the\n"
		"                         percentiles over time with the rate below, and a table\n"
		"                         (one HTML page, no script); --svg FILE: the chart alone\n"
		"  -h, --help             this text\n"
		"\n"
		"Exit status: 0 ok, 1 no input or a failure, 2 bad option.\n",
		prog, prog, HIST_MAX_ROWS);
}

/* ------------------------------------------------------------ reading -- */

/* What the input's lines go to (histread.h's callbacks). */
struct input {
	bool strict;
	bool approx;
	bool header; /* -f: a first line without a number is a header */
	long bad;
	/* exact mode */
	double *v;
	size_t n, cap;
	/* approx mode */
	struct histapprox a;
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

/* Returns 0, or 1 when the run must stop (strict mode). */
static int bad_line(struct input *in, long lineno, const char *p, const char *e, const char *why)
{
	in->bad++;
	if (in->strict || in->bad <= MAX_REPORTED_BAD)
		show_line(p, e, why, lineno);
	if (!in->strict && in->bad == MAX_REPORTED_BAD)
		fprintf(stderr, "%s: further bad lines are counted, not shown\n", prog);
	return in->strict ? 1 : 0;
}

static int on_bad(void *arg, enum histread_bad why, long lineno, const char *p, const char *e)
{
	struct input *in = arg;
	if (in->header && lineno == 1 && why != HISTREAD_TOO_LONG)
		return 0;
	if (why == HISTREAD_NO_FIELD)
		return bad_line(arg, lineno, p, e, "no such field");
	if (why == HISTREAD_TOO_LONG) {
		char text[48];
		snprintf(text, sizeof text, "longer than %d bytes", HISTREAD_MAX_LINE);
		return bad_line(arg, lineno, p, e, text);
	}
	return bad_line(arg, lineno, p, e, "not a number");
}

/* Keeps one parsed value (p..e is its line, for messages). Returns 0, or 1
 * when the run must stop (strict mode, out of memory). */
static int on_value(void *arg, double x, long lineno, const char *p, const char *e)
{
	struct input *in = arg;
	if (in->approx) {
		int rc = histapprox_add(&in->a, x);
		if (rc == -ERANGE)
			return bad_line(in, lineno, p, e, "out of range for --approx (0 up to 4.6e15)");
		if (rc == -E2BIG) {
			fprintf(stderr, "%s: line %ld: %g needs more than %d linear rows; use a larger -b\n", prog,
				lineno, x, HIST_MAX_ROWS);
			return 1;
		}
		if (rc) {
			fprintf(stderr, "%s: %s\n", prog, strerror(-rc));
			return 1;
		}
		return 0;
	}
	if (in->n == in->cap) {
		/* Doubling; glibc's realloc moves big blocks with mremap, so the
		 * peak stays near 8 bytes per value. */
		size_t cap = in->cap ? in->cap * 2 : 65536;
		double *nv = realloc(in->v, cap * sizeof(*nv));
		if (!nv) {
			fprintf(stderr, "%s: out of memory after %zu values (try --approx)\n", prog, in->n);
			return 1;
		}
		in->v = nv;
		in->cap = cap;
	}
	in->v[in->n++] = x;
	return 0;
}

/* Reads stdin to the end. Returns 0, or 1 after printing why it stopped. */
static int read_input(struct input *in, int fd, const struct histread_format *fmt)
{
	static const struct histread_ops ops = {.value = on_value, .bad = on_bad};
	int rc = histread_fd_format(fd, fmt, &ops, in);
	if (rc == -ENOMEM)
		fprintf(stderr, "%s: out of memory\n", prog);
	else if (rc < 0)
		fprintf(stderr, "%s: reading stdin: %s\n", prog, strerror(-rc));
	return rc ? 1 : 0;
}

/* ------------------------------------------------------------ helpers -- */

/* Parses "50,90,99.9". Returns 0, or prints what is wrong and returns EXIT_USAGE. */
static int parse_percentiles(const char *arg, double *out, size_t *n)
{
	if (histrank_parse_list(arg, out, MAX_PERCENTILES, n) == 0)
		return 0;
	return cmd_usage_error(prog, "bad value '%s' for -P/--percentiles (up to %d numbers 0..100, comma-separated)",
			       arg, MAX_PERCENTILES);
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

/* Says why reading the logs failed (histmerge_logs' or histmerge_intervals' rc); returns 1. */
static int log_error(char **files, int rc, const struct histmerge_fault *f)
{
	const char *name = files[f->file];
	if (f->opening)
		return cmd_fail(prog, "%s: %s", name, strerror(-rc));
	switch (rc) {
	case -ENODATA:
		/* Every log was opened: f->file is the last. */
		return cmd_fail(prog, "no intervals in %d log%s", f->file + 1, f->file ? "s" : "");
	case -EDOM:
		return cmd_fail(prog,
				"%s: line %ld: an interval that starts before the one above it (not in time order)",
				name, f->line);
	case -EINVAL:
		return cmd_fail(prog, "%s: line %ld: not an HdrHistogram interval line", name, f->line);
	case -ERANGE:
		return cmd_fail(prog, "%s: line %ld: values outside the merged range", name, f->line);
	case -EOVERFLOW:
		return cmd_fail(prog, "%s: line %ld: counts overflow", name, f->line);
	case -E2BIG:
		/* histmerge_intervals' -E2BIG is about rows: a line's time, not its length. */
		if (f->rows)
			return cmd_fail(prog, "%s: line %ld: more than %d rows (the log's times jump too far ahead)",
					name, f->line, HISTMERGE_MAX_ROWS);
		return cmd_fail(prog, "%s: line %ld: longer than %u bytes", name, f->line, HLOG_MAX_LINE);
	case -EILSEQ:
		return cmd_fail(prog, "%s: line %ld: a NUL byte (not a text .hlog file)", name, f->line);
	default:
		return cmd_fail(prog, "%s: %s", name, strerror(-rc));
	}
}

/* Reads every log into *total. Returns 0, or 1 after printing why not. */
static int merge_logs(char **files, int nfiles, struct hdr **total, long *intervals)
{
	struct histmerge_fault f;
	int rc = histmerge_logs(files, nfiles, total, intervals, &f);
	return rc ? log_error(files, rc, &f) : 0;
}

/* The summary of the merged logs (total: every interval added up). */
static int print_merged(const struct hdr *total, long intervals, int nfiles, const struct hist_options *given,
			double divisor)
{
	static const double defaults[] = {50, 90, 99, 99.9, 99.99};
	struct hist_options po = *given, *o = &po;
	if (po.npercentiles == 0) {
		po.percentiles = defaults;
		po.npercentiles = sizeof(defaults) / sizeof(defaults[0]);
	}
	struct hist_rows *rows = NULL;
	struct hist_summary s;
	int status = 0;
	double *pv = calloc(o->npercentiles, sizeof(*pv));
	if (!total || total->total == 0) {
		status = cmd_fail(prog, "no values in %d log%s (%ld intervals)", nfiles, nfiles == 1 ? "" : "s",
				  intervals);
		goto out;
	}
	int rc = pv ? histmerge_summary(total, o, divisor, &rows, &s, pv) : -ENOMEM;
	if (rc) {
		status = print_result(rc);
		goto out;
	}
	cmd_note(prog, "merged %ld interval%s from %d log%s", intervals, intervals == 1 ? "" : "s", nfiles,
		 nfiles == 1 ? "" : "s");
	status = print_result(hist_print(stdout, &s, rows, o));
out:
	hist_rows_free(rows);
	free(pv);
	return status;
}

static int run_merge(char **files, int nfiles, const struct hist_options *o, double divisor)
{
	struct hdr *total = NULL;
	long intervals = 0;
	int status = merge_logs(files, nfiles, &total, &intervals);
	if (status == 0)
		status = print_merged(total, intervals, nfiles, o, divisor);
	hdr_free(total);
	return status;
}

/* ------------------------------------------------ --merge --intervals -- */

/* What --intervals, --html and --svg ask for. */
struct intervals_opts {
	bool table;    /* --intervals: print the rows */
	double step_s; /* --intervals=D; 0: the logs' own */
	const char *html, *svg;
};

static void print_rows(const struct histmerge_series *s, const double *pct)
{
	printf("%10s %9s %10s %11s", "start_s", "length_s", "count", "rate/s");
	for (size_t k = 0; k < s->npct; k++) {
		char name[32];
		snprintf(name, sizeof(name), "p%g", pct[k]);
		printf(" %9s", name);
	}
	printf(" %9s\n", "max");
	for (size_t i = 0; i < s->nrows; i++) {
		const struct histmerge_row *r = &s->rows[i];
		printf("%10.3f %9.3f %10lld %11.1f", r->start_s, r->length_s, (long long)r->count, r->rate);
		for (size_t k = 0; k <= s->npct; k++) {
			double v = k < s->npct ? s->pv[i * s->npct + k] : r->max;
			if (r->count)
				printf(" %9.3f", v);
			else
				printf(" %9s", "-");
		}
		printf("\n");
	}
}

/* Writes the chart to path; 0, or 1 after saying why not. */
static int write_chart(const char *flag, const char *path, const struct histplot *p, bool html)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return cmd_fail(prog, "cannot write %s '%s': %s", flag, path, strerror(errno));
	int rc = html ? histplot_html(f, p) : histplot_svg(f, p);
	if (fclose(f) != 0 && rc == 0)
		rc = -errno;
	if (rc)
		return cmd_fail(prog, "cannot write %s '%s': %s", flag, path, strerror(-rc));
	return 0;
}

/* --merge with --intervals, --html or --svg. */
static int run_intervals(char **files, int nfiles, const struct hist_options *o, double divisor,
			 const struct intervals_opts *io)
{
	static const double defaults[] = {50, 90, 99, 99.9};
	const double *pct = o->npercentiles ? o->percentiles : defaults;
	size_t npct = o->npercentiles ? o->npercentiles : sizeof(defaults) / sizeof(defaults[0]);
	struct histmerge_series s;
	struct histmerge_fault f;
	int rc = histmerge_intervals(files, nfiles, io->step_s, pct, npct, divisor, &s, &f);
	int status = 0;
	if (rc) {
		histmerge_series_free(&s);
		return log_error(files, rc, &f);
	}
	if (io->table)
		cmd_note(prog, "merged %ld interval%s from %d log%s into %zu row%s of %g s", s.intervals,
			 s.intervals == 1 ? "" : "s", nfiles, nfiles == 1 ? "" : "s", s.nrows, s.nrows == 1 ? "" : "s",
			 s.step_s);
	char unit[64];
	if (divisor == 1000)
		snprintf(unit, sizeof(unit), "ms");
	else
		snprintf(unit, sizeof(unit), "value / %g", divisor);
	struct histplot plot = {
		.s = &s, .pct = pct, .unit = unit, .files = (const char *const *)files, .nfiles = nfiles};
	if (io->html && write_chart("--html", io->html, &plot, true))
		status = 1;
	if (io->svg && write_chart("--svg", io->svg, &plot, false))
		status = 1;
	if (io->table) {
		print_rows(&s, pct);
		if (fflush(stdout) != 0)
			status = cmd_fail(prog, "writing output: %s", strerror(errno));
	} else if (print_merged(s.total, s.intervals, nfiles, o, divisor)) {
		status = 1; /* --html / --svg alone: the summary, as --merge prints it */
	}
	histmerge_series_free(&s);
	return status;
}

/* --------------------------------------------------------- from stdin -- */

/* Prints the --approx result (histapprox.h says which figures are exact). */
static int print_approx(const struct histapprox *a, const struct hist_options *o)
{
	double *pv = calloc(o->npercentiles + 1, sizeof(*pv));
	if (!pv)
		return print_result(-ENOMEM);
	struct hist_summary s;
	histapprox_summary(a, o, &s, pv);
	int status = print_result(hist_print(stdout, &s, a->rows, o));
	free(pv);
	return status;
}

static int run_stdin(const struct hist_options *o, bool strict, bool approx, const struct histread_format *fmt)
{
	struct input in = {.strict = strict, .approx = approx, .header = fmt->field > 0};
	int status = 1;
	if (approx) {
		int rc = histapprox_init(&in.a, o);
		if (rc) {
			status = print_result(rc);
			goto out;
		}
	}
	if (read_input(&in, STDIN_FILENO, fmt))
		goto out;
	if (in.bad)
		cmd_note(prog, "skipped %ld bad line%s", in.bad, in.bad == 1 ? "" : "s");
	if ((approx ? in.a.count : in.n) == 0) {
		status = cmd_fail(prog, "no input: expected one number per line on stdin");
		goto out;
	}
	status = approx ? print_approx(&in.a, o) : print_result(hist_render(stdout, in.v, in.n, o));
out:
	free(in.v);
	histapprox_free(&in.a);
	return status;
}

/* --------------------------------------------------------------- main -- */

/* What the command line asks for. */
struct hist_cli {
	struct hist_options o;
	double pct[MAX_PERCENTILES];
	bool strict, approx, merge;
	double divisor;
	struct histread_format fmt; /* -f, -d, and blank lines */
	struct intervals_opts iv;   /* --intervals, --html, --svg */
	char **files;		    /* --merge's logs */
	int nfiles;
};

static int bad_value(const char *flag, const char *value, const char *want)
{
	return cmd_usage_error(prog, "bad value '%s' for %s (%s)", value, flag, want);
}

/* Reads the flags into cli. Returns -1 to go on, or the exit status. */
static int parse_args(int argc, char **argv, struct hist_cli *cli)
{
	enum { OPT_STRICT = 256, OPT_APPROX, OPT_MERGE, OPT_DIVISOR, OPT_INTERVALS, OPT_HTML, OPT_SVG };
	enum { MAX_FIELD = 1000000 };
	static const struct option longopts[] = {
		{"title", required_argument, NULL, 't'},
		{"columns", required_argument, NULL, 'c'},
		{"base", required_argument, NULL, 'b'},
		{"linear", no_argument, NULL, 'l'},
		{"justval", no_argument, NULL, 'j'},
		{"percentage", no_argument, NULL, 'p'},
		{"percentiles", required_argument, NULL, 'P'},
		{"field", required_argument, NULL, 'f'},
		{"delimiter", required_argument, NULL, 'd'},
		{"strict", no_argument, NULL, OPT_STRICT},
		{"approx", no_argument, NULL, OPT_APPROX},
		{"merge", no_argument, NULL, OPT_MERGE},
		{"divisor", required_argument, NULL, OPT_DIVISOR},
		{"intervals", optional_argument, NULL, OPT_INTERVALS},
		{"html", required_argument, NULL, OPT_HTML},
		{"svg", required_argument, NULL, OPT_SVG},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct hist_options *o = &cli->o;
	uint64_t u;
	int c;

	cmd_getopt_reset();
	while ((c = getopt_long(argc, argv, ":t:c:b:ljpP:f:d:h", longopts, NULL)) != -1) {
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
		case 'f':
			if (util_parse_u64(optarg, 1, MAX_FIELD, &u))
				return bad_value("-f/--field", optarg, "a field number 1..1000000");
			cli->fmt.field = (unsigned)u;
			break;
		case 'd':
			if (strlen(optarg) != 1 || optarg[0] == '\n')
				return bad_value("-d/--delimiter", optarg, "one character, e.g. ,");
			cli->fmt.delim = optarg[0];
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
		case OPT_INTERVALS:
			cli->iv.table = true;
			if (optarg && (util_parse_duration(optarg, &cli->iv.step_s) || !(cli->iv.step_s >= 0.001) ||
				       cli->iv.step_s > 1e6))
				return bad_value("--intervals", optarg, "a duration such as 10s, 1ms..1000000s");
			break;
		case OPT_HTML:
			cli->iv.html = optarg;
			break;
		case OPT_SVG:
			cli->iv.svg = optarg;
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
	if (cli->fmt.delim && !cli->fmt.field)
		return cmd_usage_error(prog, "-d picks how -f splits a line: give -f N too");
	if (cli->fmt.field && cli->merge)
		return cmd_usage_error(prog, "-f reads numbers on stdin: not with --merge");
	if ((cli->iv.table || cli->iv.html || cli->iv.svg) && !cli->merge)
		return cmd_usage_error(prog, "%s reads .hlog files: give --merge too",
				       cli->iv.table  ? "--intervals"
				       : cli->iv.html ? "--html"
						      : "--svg");
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
	/* The original stops at a blank line (float('') raises); herd hist
	 * skips one silently, the mmhistogram link reports it as before. */
	cli.fmt.skip_blank = strcmp(prog, "herd hist") == 0;

	int rc = parse_args(argc, argv, &cli);
	if (rc < 0)
		rc = validate(&cli);
	if (rc >= 0)
		return rc;
	if (cli.merge && (cli.iv.table || cli.iv.html || cli.iv.svg))
		return run_intervals(cli.files, cli.nfiles, &cli.o, cli.divisor, &cli.iv);
	if (cli.merge)
		return run_merge(cli.files, cli.nfiles, &cli.o, cli.divisor);
	return run_stdin(&cli.o, cli.strict, cli.approx, &cli.fmt);
}
