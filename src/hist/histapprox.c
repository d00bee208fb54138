/*
 * histapprox.c - herd hist --approx's accumulator (see histapprox.h).
 */
#include "hist/histapprox.h"

#include <errno.h>
#include <math.h>
#include <string.h>

#include "hist/histrank.h"

static double clamp(double v, double lo, double hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

int histapprox_init(struct histapprox *a, const struct hist_options *o)
{
	memset(a, 0, sizeof(*a));
	int rc = hdr_init(1, HISTAPPROX_HIGHEST, HDR_LATENCY_SIGFIGS, &a->h);
	if (!rc)
		rc = hist_rows_new(o, &a->rows);
	return rc;
}

int histapprox_add(struct histapprox *a, double x)
{
	double scaled = round(x * HISTAPPROX_SCALE);
	if (!(scaled >= 0 && scaled <= (double)HISTAPPROX_HIGHEST))
		return -ERANGE;
	int rc = hist_rows_add(a->rows, x, 1);
	if (rc)
		return rc;
	hdr_record(a->h, (int64_t)scaled);
	if (a->count == 0 || x < a->min)
		a->min = x;
	if (a->count == 0 || x > a->max)
		a->max = x;
	a->count++;
	a->sum += x;
	/* Welford: the deviation without keeping the values. */
	double d = x - a->mean;
	a->mean += d / (double)a->count;
	a->m2 += d * (x - a->mean);
	return 0;
}

void histapprox_summary(const struct histapprox *a, const struct hist_options *o, struct hist_summary *s, double *pv)
{
	int64_t n = (int64_t)a->count;
	*s = (struct hist_summary){
		.count = a->count,
		.min = a->min,
		.max = a->max,
		.avg = a->sum / (double)a->count,
		.dev = sqrt(a->m2 / (double)a->count),
		.med = clamp((double)histrank_hdr_value(a->h, n - n / 2, true) / HISTAPPROX_SCALE, a->min, a->max),
		.pvalues = pv,
	};
	for (size_t i = 0; i < o->npercentiles; i++)
		pv[i] = clamp((double)histrank_hdr_value(a->h, histrank_for(o->percentiles[i], n), true) /
				      HISTAPPROX_SCALE,
			      a->min, a->max);
}

void histapprox_free(struct histapprox *a)
{
	hdr_free(a->h);
	hist_rows_free(a->rows);
	a->h = NULL;
	a->rows = NULL;
}
