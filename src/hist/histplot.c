/*
 * histplot.c - the --intervals chart (see histplot.h).
 *
 * Latency percentiles run over orders of magnitude (p50 under a
 * millisecond, a stall's p99.9 at hundreds), so the latency axis is
 * logarithmic when the values span more than a factor of 20, linear from 0
 * otherwise. Each percentile is one line through the rows' midpoints,
 * broken where a row is empty, so a gap in the load shows as a gap and not
 * as a line drawn across it. The rate panel below shares the time axis, to
 * line a latency spike up with a drop in throughput.
 */
#include "hist/histplot.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>

enum {
	W = 1000,
	X0 = 80,  /* plot area, left */
	X1 = 850, /* plot area, right; the legend beyond */
	LY0 = 50, /* latency panel, top */
	LY1 = 370,
	RY0 = 410, /* rate panel */
	RY1 = 530,
	H = 580,
};

static const char *const palette[] = {"#1f77b4", "#2ca02c", "#ff7f0e", "#d62728", "#9467bd", "#8c564b", "#e377c2"};
#define NPALETTE (sizeof(palette) / sizeof(palette[0]))
#define MAX_COLOR "#555555"

double histplot_nice_step(double span, int want)
{
	if (!(span > 0) || want < 1)
		return 1;
	double raw = span / want, mag = pow(10, floor(log10(raw))), f = raw / mag;
	return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Text for an SVG/HTML element: &, <, > and " escaped, control bytes dropped. */
static void put_text(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20)
				fputc(*s, f);
		}
	}
}

/* The percentile's name: "p50", "p99.9". */
static void pct_name(char *buf, size_t n, double p)
{
	snprintf(buf, n, "p%g", p);
}

struct scale {
	double t1;	/* time axis: 0 .. t1 seconds */
	double lo, hi;	/* latency axis */
	bool log;	/* logarithmic latency axis */
	double rate_hi; /* rate axis: 0 .. rate_hi */
	bool any;	/* some row has values */
};

static void find_scale(const struct histplot *p, struct scale *sc)
{
	const struct histmerge_series *s = p->s;
	double vmin = INFINITY, vmax = 0, rmax = 0;
	*sc = (struct scale){.t1 = 1};
	for (size_t i = 0; i < s->nrows; i++) {
		const struct histmerge_row *r = &s->rows[i];
		double end = r->start_s + r->length_s;
		sc->t1 = end > sc->t1 ? end : sc->t1;
		rmax = r->rate > rmax ? r->rate : rmax;
		if (r->count == 0)
			continue;
		sc->any = true;
		for (size_t k = 0; k < s->npct; k++) {
			double v = s->pv[i * s->npct + k];
			if (v > 0 && v < vmin)
				vmin = v;
		}
		if (r->min > 0 && r->min < vmin)
			vmin = r->min;
		vmax = r->max > vmax ? r->max : vmax;
	}
	if (!(vmax > 0))
		vmax = 1;
	if (!isfinite(vmin))
		vmin = vmax;
	sc->log = vmax / vmin > 20;
	if (sc->log) {
		sc->lo = pow(10, floor(log10(vmin)));
		sc->hi = pow(10, ceil(log10(vmax)));
		if (sc->hi <= sc->lo)
			sc->hi = sc->lo * 10;
	} else {
		double st = histplot_nice_step(vmax, 5);
		sc->lo = 0;
		sc->hi = st * ceil(vmax / st);
	}
	double rs = histplot_nice_step(rmax > 0 ? rmax : 1, 3);
	sc->rate_hi = rs * ceil((rmax > 0 ? rmax : 1) / rs);
}

static double xpos(const struct scale *sc, double t)
{
	return X0 + (X1 - X0) * (t / sc->t1);
}

static double ypos(const struct scale *sc, double v)
{
	double f;
	if (sc->log)
		f = v > sc->lo ? (log10(v) - log10(sc->lo)) / (log10(sc->hi) - log10(sc->lo)) : 0;
	else
		f = (v - sc->lo) / (sc->hi - sc->lo);
	f = f < 0 ? 0 : f > 1 ? 1 : f;
	return LY1 - (LY1 - LY0) * f;
}

static double rpos(const struct scale *sc, double rate)
{
	return RY1 - (RY1 - RY0) * (rate / sc->rate_hi);
}

static void ytick(FILE *f, const struct scale *sc, double v)
{
	double y = ypos(sc, v);
	fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", X0, y, X1, y);
	fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", X0 - 6, y + 4, v);
}

static void axes(FILE *f, const struct histplot *p, const struct scale *sc)
{
	/* Latency axis. */
	if (sc->log) {
		for (double d = sc->lo; d <= sc->hi * 1.0001; d *= 10) {
			ytick(f, sc, d);
			/* Few decades: 2 and 5 between them too. */
			if (sc->hi / sc->lo <= 1000 && d < sc->hi * 0.9999) {
				ytick(f, sc, 2 * d);
				ytick(f, sc, 5 * d);
			}
		}
	} else {
		double st = histplot_nice_step(sc->hi, 5);
		for (double v = 0; v <= sc->hi * 1.0001; v += st)
			ytick(f, sc, v);
	}
	fprintf(f, "<text class=\"t\" x=\"%d\" y=\"%d\">latency, ", X0, LY0 - 10);
	put_text(f, p->unit);
	fprintf(f, "%s</text>\n", sc->log ? " (log scale)" : "");
	/* Rate axis. */
	double rs = histplot_nice_step(sc->rate_hi, 3);
	for (double v = 0; v <= sc->rate_hi * 1.0001; v += rs) {
		double y = rpos(sc, v);
		fprintf(f, "<line class=\"grid\" x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>", X0, y, X1, y);
		fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", X0 - 6, y + 4, v);
	}
	fprintf(f, "<text class=\"t\" x=\"%d\" y=\"%d\">requests/s</text>\n", X0, RY0 - 8);
	/* Time axis, under both panels. */
	double ts = histplot_nice_step(sc->t1, 10);
	for (double t = 0; t <= sc->t1 * 1.0001; t += ts) {
		double x = xpos(sc, t);
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, LY0, x, LY1);
		fprintf(f, "<line class=\"grid\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\"/>", x, RY0, x, RY1);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", x, RY1 + 16, t);
	}
	char when[64] = "";
	time_t t0 = (time_t)floor(p->s->start_epoch_s);
	struct tm tm;
	if (p->s->start_epoch_s > 0 && gmtime_r(&t0, &tm))
		strftime(when, sizeof(when), " after %Y-%m-%d %H:%M:%S UTC", &tm);
	fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">seconds%s</text>\n", (X0 + X1) / 2, RY1 + 36, when);
	fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>", X0, LY0, X1 - X0, LY1 - LY0);
	fprintf(f, "<rect class=\"frame\" x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\"/>\n", X0, RY0, X1 - X0,
		RY1 - RY0);
}

/* Value k of row i: a percentile, or (k == npct) the max. */
static double row_value(const struct histmerge_series *s, size_t i, size_t k)
{
	return k < s->npct ? s->pv[i * s->npct + k] : s->rows[i].max;
}

/* One series as polylines through the rows' midpoints, broken at empty
 * rows; a row alone between empty ones is a dot (a one-point line shows
 * nothing). */
static void series(FILE *f, const struct histplot *p, const struct scale *sc, size_t k, const char *color)
{
	const struct histmerge_series *s = p->s;
	size_t npts = 0;
	double x0 = 0, y0 = 0; /* the segment's first point: a line only once a second one comes */
	for (size_t i = 0; i <= s->nrows; i++) {
		if (i == s->nrows || s->rows[i].count == 0) {
			if (npts == 1)
				fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"2.5\" fill=\"%s\"/>\n", x0, y0, color);
			else if (npts > 1)
				fputs("\"/>\n", f);
			npts = 0;
			continue;
		}
		const struct histmerge_row *r = &s->rows[i];
		double x = xpos(sc, r->start_s + r->length_s / 2), y = ypos(sc, row_value(s, i, k));
		if (npts == 0) {
			x0 = x;
			y0 = y;
		} else {
			if (npts == 1)
				fprintf(f, "<polyline class=\"line%s\" stroke=\"%s\" points=\"%.1f,%.1f ",
					k == s->npct ? " max" : "", color, x0, y0);
			fprintf(f, "%.1f,%.1f ", x, y);
		}
		npts++;
	}
}

static void legend(FILE *f, const struct histplot *p)
{
	const struct histmerge_series *s = p->s;
	for (size_t k = 0; k <= s->npct; k++) {
		char name[32];
		const char *color = k < s->npct ? palette[k % NPALETTE] : MAX_COLOR;
		if (k < s->npct)
			pct_name(name, sizeof(name), p->pct[k]);
		else
			snprintf(name, sizeof(name), "max");
		int y = LY0 + 12 + (int)k * 18;
		fprintf(f,
			"<line class=\"line%s\" stroke=\"%s\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
			"<text x=\"%d\" y=\"%d\">%s</text>\n",
			k < s->npct ? "" : " max", color, X1 + 16, y, X1 + 40, y, X1 + 46, y + 4, name);
	}
}

int histplot_svg(FILE *f, const struct histplot *p)
{
	const struct histmerge_series *s = p->s;
	struct scale sc;
	find_scale(p, &sc);
	fprintf(f,
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
		"role=\"img\">\n<style>text{font:12px sans-serif;fill:#333}.t{font-weight:600}"
		".grid{stroke:#e6e6e6}.frame{fill:none;stroke:#999}.line{fill:none;stroke-width:1.6}"
		".max{stroke-dasharray:4 3}.bar{fill:#9ecae1}</style>\n"
		"<rect width=\"%d\" height=\"%d\" fill=\"#fff\"/>\n",
		W, H, W, H, W, H);
	fprintf(f, "<text class=\"t\" x=\"%d\" y=\"22\">latency over time: ", X0);
	for (int i = 0; i < p->nfiles && i < 4; i++) {
		fputs(i ? ", " : "", f);
		put_text(f, p->files[i]);
	}
	if (p->nfiles > 4)
		fprintf(f, " and %d more", p->nfiles - 4);
	fprintf(f, " (%zu rows of %g s)</text>\n", s->nrows, s->step_s);
	axes(f, p, &sc);
	/* Rate bars, one per row. */
	for (size_t i = 0; i < s->nrows; i++) {
		const struct histmerge_row *r = &s->rows[i];
		double x0 = xpos(&sc, r->start_s), x1 = xpos(&sc, r->start_s + r->length_s), y = rpos(&sc, r->rate);
		if (r->count > 0)
			fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>", x0, y,
				x1 - x0 > 1.5 ? x1 - x0 - 0.5 : 1, RY1 - y);
	}
	fputc('\n', f);
	if (sc.any) {
		for (size_t k = 0; k <= s->npct; k++)
			series(f, p, &sc, k, k < s->npct ? palette[k % NPALETTE] : MAX_COLOR);
		legend(f, p);
	} else {
		fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">no values</text>\n", (X0 + X1) / 2,
			(LY0 + LY1) / 2);
	}
	fputs("</svg>\n", f);
	return ferror(f) ? -EIO : 0;
}

int histplot_html(FILE *f, const struct histplot *p)
{
	const struct histmerge_series *s = p->s;
	fputs("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>herd hist: latency over "
	      "time</title>\n<style>body{font:14px sans-serif;margin:2em;color:#222}table{border-collapse:collapse;"
	      "margin-top:1.5em}th,td{padding:2px 10px;text-align:right;border-bottom:1px solid #eee}"
	      "th{background:#f4f4f4}</style>\n</head><body>\n<h1>Latency over time</h1>\n<p>",
	      f);
	fprintf(f, "%ld intervals from %d log%s: ", s->intervals, p->nfiles, p->nfiles == 1 ? "" : "s");
	for (int i = 0; i < p->nfiles; i++) {
		fputs(i ? ", " : "", f);
		put_text(f, p->files[i]);
	}
	fprintf(f, "; rows of %g s; values in ", s->step_s);
	put_text(f, p->unit);
	fputs(".</p>\n", f);
	int rc = histplot_svg(f, p);
	if (rc)
		return rc;
	fputs("<table>\n<tr><th>start s</th><th>length s</th><th>count</th><th>rate/s</th>", f);
	for (size_t k = 0; k < s->npct; k++) {
		char name[32];
		pct_name(name, sizeof(name), p->pct[k]);
		fprintf(f, "<th>%s</th>", name);
	}
	fputs("<th>max</th></tr>\n", f);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct histmerge_row *r = &s->rows[i];
		fprintf(f, "<tr><td>%.3f</td><td>%.3f</td><td>%lld</td><td>%.1f</td>", r->start_s, r->length_s,
			(long long)r->count, r->rate);
		for (size_t k = 0; k <= s->npct; k++) {
			if (r->count)
				fprintf(f, "<td>%.3f</td>", row_value(s, i, k));
			else
				fputs("<td>-</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n</body></html>\n", f);
	return ferror(f) ? -EIO : 0;
}
