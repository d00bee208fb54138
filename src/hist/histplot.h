/*
 * histplot.h - herd hist --merge --html / --svg: a series of --intervals
 * rows (histmerge.h) as a chart of percentiles over time, with the rate
 * below. Self-contained SVG (and HTML with the SVG inline and the rows as
 * a table): no script, nothing fetched. Nothing here prints; each function
 * writes to the stream it is given.
 */
#ifndef HERD_HISTPLOT_H
#define HERD_HISTPLOT_H

#include <stdio.h>

#include "hist/histmerge.h"

struct histplot {
	const struct histmerge_series *s;
	const double *pct;	  /* s->npct percentiles, the rows' pv */
	const char *unit;	  /* the values' unit, e.g. "ms" */
	const char *const *files; /* the logs, named in the title */
	int nfiles;
};

/* The chart as one <svg> element. 0, or -EIO when the stream reports an error. */
int histplot_svg(FILE *f, const struct histplot *p);
/* A page with the chart and the rows. 0 or -EIO. */
int histplot_html(FILE *f, const struct histplot *p);

/* Tick spacing for a range of width span: 1, 2 or 5 times a power of ten, about `want` ticks. Exposed for tests. */
double histplot_nice_step(double span, int want);

#endif
